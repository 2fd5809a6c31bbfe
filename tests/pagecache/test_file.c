/* SPDX-License-Identifier: MIT */
/*
 * The file API (src/pagecache/file.c): argument checks, the namespace,
 * handles, positions, O_APPEND, O_TRUNC, O_DIRECT, unlink with open
 * handles, and the durability model: seeded random write, pwrite, read,
 * pread, ftruncate, truncate, fsync, fdatasync, close/reopen, O_DIRECT I/O,
 * fadvise, idle time (background writeback) and crashes on several files,
 * checked against reference byte arrays:
 *
 *  - without a crash every read returns what was last written;
 *  - after every fsync the device holds exactly the synced bytes
 *    (vmm_file_read_durable);
 *  - after a crash every file reads back its last synced contents;
 *  - vmm_machine_check() finds nothing after any step.
 *
 * VMM_TEST_SEED repeats a run; VMM_TEST_OPS changes its length.
 */
#include "pc_util.h"

#include <string.h>

#include "lib/compiler.h"
#include "lib/prng.h"

static vmm_machine *small_machine(struct test_log *tl)
{
	return pc_machine(1, 32, tl);
}

static vmm_bdev *small_bdev(vmm_machine *m, const char *name)
{
	struct vmm_bdev_config bc;
	vmm_bdev *b;

	vmm_bdev_config_init(&bc);
	bc.capacity = 32ull << 20;
	assert_int_equal(vmm_bdev_create(m, name, &bc, &b), 0);
	return b;
}

static void test_bad_arguments(void **state)
{
	struct test_log tl = { 0 };
	vmm_machine *m = small_machine(&tl);
	vmm_file *f = (vmm_file *)1;
	struct vmm_bdev_config bc;
	vmm_bdev *b;
	char buf[16];

	(void)state;
	assert_int_equal(vmm_file_open(NULL, "x", 0, &f), -VMM_EINVAL);
	assert_null(f);
	assert_int_equal(vmm_file_open(m, NULL, 0, &f), -VMM_EINVAL);
	assert_int_equal(vmm_file_open(m, "", 0, &f), -VMM_EINVAL);
	assert_int_equal(vmm_file_open(m, "a/b", VMM_O_CREAT, &f), -VMM_EINVAL);
	assert_int_equal(vmm_file_open(m, "x", 0x80000, &f), -VMM_EINVAL);
	assert_int_equal(vmm_file_open(m, "x", VMM_O_ACCMODE, &f), -VMM_EINVAL);
	assert_int_equal(vmm_file_open(m, "x", VMM_O_TRUNC, &f), -VMM_EINVAL);
	assert_int_equal(vmm_file_open(m, "x", VMM_O_RDONLY, &f), -VMM_ENOENT);
	assert_int_equal(vmm_file_unlink(m, "x"), -VMM_ENOENT);
	assert_int_equal(vmm_file_truncate(m, "x", 0), -VMM_ENOENT);
	assert_int_equal(vmm_file_create(m, "x", 0, NULL), -VMM_EINVAL);
	assert_int_equal(vmm_file_read(NULL, buf, 1), -VMM_EINVAL);
	assert_int_equal(vmm_file_fsync(NULL), -VMM_EINVAL);
	assert_int_equal(vmm_file_close(NULL), 0);
	vmm_bdev_config_init(&bc);
	bc.capacity = 1000;
	assert_int_equal(vmm_bdev_create(m, "d", &bc, &b), -VMM_EINVAL);
	vmm_bdev_config_init(&bc);
	bc.block_size = 3000;
	assert_int_equal(vmm_bdev_create(m, "d", &bc, &b), -VMM_EINVAL);
	vmm_bdev_config_init(&bc);
	bc.reserved[2] = 1;
	assert_int_equal(vmm_bdev_create(m, "d", &bc, &b), -VMM_EINVAL);
	assert_int_equal(vmm_bdev_create(m, "bad name", NULL, &b), -VMM_EINVAL);
	b = small_bdev(m, "d");
	{
		vmm_bdev *b2 = b;

		assert_int_equal(vmm_bdev_create(m, "d", NULL, &b2), -VMM_EEXIST);
		assert_null(b2);
	}
	assert_int_equal(tl.messages, 10);
	assert_int_equal(vmm_file_create_on(b, "big", 64ull << 20, &f), -VMM_EFBIG);
	assert_int_equal(vmm_file_create_on(b, "ok", 4096, &f), 0);
	assert_int_equal(vmm_file_create_on(b, "ok", 4096, &f), -VMM_EEXIST);
	assert_int_equal(vmm_bdev_destroy(&b), -VMM_EBUSY);
	assert_int_equal(vmm_file_open(m, "ok", VMM_O_RDONLY, &f), 0);
	assert_int_equal(vmm_file_write(f, "x", 1), -VMM_EBADF);
	assert_int_equal(vmm_file_ftruncate(f, 0), -VMM_EBADF);
	assert_int_equal(vmm_file_read(f, NULL, 1), -VMM_EINVAL);
	assert_int_equal(vmm_file_seek(f, 0, 7), -VMM_EINVAL);
	assert_int_equal(vmm_file_seek(f, -1, VMM_SEEK_SET), -VMM_EINVAL);
	assert_int_equal(vmm_file_fadvise(f, 0, 0, 9), -VMM_EINVAL);
	assert_int_equal(vmm_file_pwrite(f, buf, 1, 40ull << 20), -VMM_EBADF);
	vmm_file_close(&f);
	assert_null(f);
	assert_int_equal(vmm_file_open(m, "ok", VMM_O_WRONLY, &f), 0);
	assert_int_equal(vmm_file_read(f, buf, 1), -VMM_EBADF);
	assert_int_equal(vmm_file_pwrite(f, buf, 1, 40ull << 20), -VMM_EFBIG);
	vmm_file_close(&f);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void test_positions_append_unlink(void **state)
{
	vmm_machine *m = small_machine(NULL);
	vmm_file *f, *g;
	struct vmm_file_stat st;
	char buf[64] = { 0 };

	(void)state;
	assert_int_equal(vmm_file_open(m, "log", VMM_O_RDWR | VMM_O_CREAT, &f), 0);
	assert_int_equal(vmm_file_write(f, "hello ", 6), 6);
	assert_int_equal(vmm_file_write(f, "world", 5), 5);
	assert_int_equal(vmm_file_seek(f, 0, VMM_SEEK_CUR), 11);
	assert_int_equal(vmm_file_seek(f, -5, VMM_SEEK_END), 6);
	assert_int_equal(vmm_file_read(f, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "world", 5);
	assert_int_equal(vmm_file_read(f, buf, sizeof(buf)), 0);
	assert_int_equal(vmm_file_open(m, "log", VMM_O_WRONLY | VMM_O_APPEND, &g), 0);
	assert_int_equal(vmm_file_write(g, "!", 1), 1);
	vmm_file_close(&g);
	assert_int_equal(vmm_file_pread(f, buf, sizeof(buf), 0), 12);
	assert_memory_equal(buf, "hello world!", 12);
	/* unlinked: the name goes now, the file with its last handle */
	assert_int_equal(vmm_file_unlink(m, "log"), 0);
	assert_int_equal(vmm_file_open(m, "log", VMM_O_RDONLY, &g), -VMM_ENOENT);
	assert_null(g);
	assert_int_equal(vmm_file_pread(f, buf, 5, 0), 5);
	assert_int_equal(vmm_file_stat(f, &st), 0);
	assert_int_equal(st.size, 12);
	assert_int_equal(st.nrpages, 1);
	assert_int_equal(st.nr_dirty, 1);
	assert_machine_healthy(m);
	vmm_file_close(&f);
	assert_machine_healthy(m);
	/* the file, its page and its blocks are gone */
	{
		char *mi = dump_to_string(m, VMM_DUMP_MEMINFO);

		assert_non_null(strstr(mi, "\nCached:                0 kB\n"));
		assert_non_null(strstr(mi, "\nDirty:                 0 kB\n"));
		free(mi);
	}
	assert_int_equal(vmm_file_open(m, "t", VMM_O_RDWR | VMM_O_CREAT, &f), 0);
	assert_int_equal(vmm_file_write(f, "abcdef", 6), 6);
	assert_int_equal(vmm_file_fsync(f), 0);
	vmm_file_close(&f);
	assert_int_equal(vmm_file_open(m, "t", VMM_O_RDWR | VMM_O_TRUNC, &f), 0);
	assert_int_equal(vmm_file_stat(f, &st), 0);
	assert_int_equal(st.size, 0);
	assert_int_equal(st.durable_size, 0);
	vmm_file_close(&f);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void test_direct_io(void **state)
{
	vmm_machine *m = small_machine(NULL);
	vmm_bdev *b = small_bdev(m, "d");
	struct vmm_bdev_stats before, after;
	struct vmm_file_stat st;
	vmm_file *f, *d;
	uint8_t buf[8192], out[8192];

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7);
	assert_int_equal(vmm_file_create_on(b, "dio", 0, &f), 0);
	assert_int_equal(vmm_file_pwrite(f, buf, 8192, 0), 8192);
	assert_int_equal(vmm_file_open(m, "dio", VMM_O_RDWR | VMM_O_DIRECT, &d), 0);
	/* misaligned direct I/O is refused */
	assert_int_equal(vmm_file_pread(d, out, 100, 0), -VMM_EINVAL);
	assert_int_equal(vmm_file_pread(d, out, 512, 7), -VMM_EINVAL);
	/* a direct read sees the buffered write (written back first) */
	assert_int_equal(vmm_file_pread(d, out, 8192, 0), 8192);
	assert_memory_equal(out, buf, 8192);
	assert_int_equal(vmm_file_stat(f, &st), 0);
	assert_int_equal(st.nr_dirty, 0);
	/* a direct write invalidates the cached page it covers, and bypasses the cache */
	memset(buf, 0xab, 512);
	vmm_bdev_stats(b, &before);
	assert_int_equal(vmm_file_pwrite(d, buf, 512, 4096 + 1024), 512);
	vmm_bdev_stats(b, &after);
	assert_int_equal(after.write_requests, before.write_requests + 1);
	assert_int_equal(vmm_file_stat(f, &st), 0);
	assert_int_equal(st.nrpages, 1);
	assert_int_equal(vmm_file_pread(f, out, 8192, 0), 8192);
	for (size_t i = 0; i < 8192; i++)
		assert_int_equal(out[i], i >= 5120 && i < 5632 ? 0xab : (uint8_t)(i * 7));
	/* and extends the file past its end */
	assert_int_equal(vmm_file_pwrite(d, buf, 512, 16384), 512);
	assert_int_equal(vmm_file_stat(f, &st), 0);
	assert_int_equal(st.size, 16896);
	assert_int_equal(vmm_file_pread(f, out, 4096, 12288), 4096);
	for (size_t i = 0; i < 4096; i++)
		assert_int_equal(out[i], 0);
	assert_machine_healthy(m);
	vmm_file_close(&d);
	vmm_file_close(&f);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* ---- the durability model ---- */

#define NF 4
#define MAXSZ (160 * 1024)

struct mfile {
	char name[8];
	vmm_file *f;		/* buffered handle */
	vmm_file *d;		/* O_DIRECT handle, or NULL */
	uint8_t cur[MAXSZ];	/* what reads must return */
	uint8_t syn[MAXSZ];	/* what the device must hold after a sync */
	uint32_t cur_size, syn_size;
};

struct model {
	vmm_machine *m;
	vmm_bdev *b;
	struct vmm_prng r;
	struct mfile files[NF];
	uint8_t buf[MAXSZ];
	uint64_t ops[16];
};

static uint64_t rnd(struct model *md, uint64_t n)
{
	return vmm_prng_next(&md->r) % n;
}

static uint32_t pick_len(struct model *md)
{
	switch (rnd(md, 4)) {
	case 0: return 1 + (uint32_t)rnd(md, 64);
	case 1: return 1 + (uint32_t)rnd(md, 4096);
	case 2: return 4096;
	default: return 1 + (uint32_t)rnd(md, 3 * 4096);
	}
}

static void ref_write(struct mfile *mf, const uint8_t *src, uint32_t off, uint32_t len)
{
	memcpy(mf->cur + off, src, len);
	if (off + len > mf->cur_size)
		mf->cur_size = off + len;
}

static void ref_truncate(struct mfile *mf, uint32_t size)
{
	if (size < mf->cur_size)
		memset(mf->cur + size, 0, mf->cur_size - size);
	mf->cur_size = size;
}

static void check_read(struct model *md, struct mfile *mf, uint32_t off, uint32_t len)
{
	int64_t want = off >= mf->cur_size ? 0 : VMM_MIN(len, mf->cur_size - off);

	assert_int_equal(vmm_file_pread(mf->f, md->buf, len, off), want);
	assert_memory_equal(md->buf, mf->cur + off, (size_t)want);
}

/* After a sync the device holds exactly the synced bytes. */
static void check_durable(struct model *md, struct mfile *mf)
{
	assert_int_equal(vmm_file_read_durable(md->m, mf->name, md->buf, MAXSZ, 0), mf->syn_size);
	assert_memory_equal(md->buf, mf->syn, mf->syn_size);
}

static void sync_ref(struct mfile *mf)
{
	memcpy(mf->syn, mf->cur, MAXSZ);
	mf->syn_size = mf->cur_size;
}

static void model_step(struct model *md)
{
	struct mfile *mf = &md->files[rnd(md, NF)];
	uint64_t x = rnd(md, 1000);

	if (x < 300) {
		uint32_t len = pick_len(md), off = (uint32_t)rnd(md, MAXSZ - len);

		for (uint32_t i = 0; i < len; i++)
			md->buf[i] = (uint8_t)vmm_prng_next(&md->r);
		if (rnd(md, 2)) {
			assert_int_equal(vmm_file_pwrite(mf->f, md->buf, len, off), len);
		} else {
			assert_int_equal(vmm_file_seek(mf->f, off, VMM_SEEK_SET), off);
			assert_int_equal(vmm_file_write(mf->f, md->buf, len), len);
		}
		ref_write(mf, md->buf, off, len);
		md->ops[0]++;
	} else if (x < 560) {
		uint32_t len = pick_len(md), off = (uint32_t)rnd(md, MAXSZ);

		check_read(md, mf, off, len);
		md->ops[1]++;
	} else if (x < 600) {
		uint32_t size = (uint32_t)rnd(md, MAXSZ);

		assert_int_equal(vmm_file_ftruncate(mf->f, size), 0);
		ref_truncate(mf, size);
		md->ops[2]++;
	} else if (x < 610) {
		uint32_t size = (uint32_t)rnd(md, MAXSZ);

		/* truncate by name is durable at once: the whole file as it stands */
		assert_int_equal(vmm_file_truncate(md->m, mf->name, size), 0);
		ref_truncate(mf, size);
		sync_ref(mf);
		check_durable(md, mf);
		md->ops[2]++;
	} else if (x < 700) {
		assert_int_equal(rnd(md, 2) ? vmm_file_fsync(mf->f) : vmm_file_fdatasync(mf->f), 0);
		sync_ref(mf);
		check_durable(md, mf);
		md->ops[3]++;
	} else if (x < 740) {
		/* close and reopen (dirty pages stay cached: close does not sync) */
		vmm_file_close(&mf->f);
		assert_int_equal(vmm_file_open(md->m, mf->name, VMM_O_RDWR, &mf->f), 0);
		md->ops[4]++;
	} else if (x < 760) {
		/* O_DIRECT, 512-byte aligned */
		uint32_t len = 512 * (1 + (uint32_t)rnd(md, 16));
		uint32_t off = 512 * (uint32_t)rnd(md, (MAXSZ - len) / 512);

		if (!mf->d)
			assert_int_equal(vmm_file_open(md->m, mf->name, VMM_O_RDWR | VMM_O_DIRECT,
						       &mf->d),
					 0);
		if (rnd(md, 2)) {
			for (uint32_t i = 0; i < len; i++)
				md->buf[i] = (uint8_t)vmm_prng_next(&md->r);
			assert_int_equal(vmm_file_pwrite(mf->d, md->buf, len, off), len);
			ref_write(mf, md->buf, off, len);
		} else {
			int64_t want = off >= mf->cur_size ? 0 : VMM_MIN(len, mf->cur_size - off);

			assert_int_equal(vmm_file_pread(mf->d, md->buf, len, off), want);
			assert_memory_equal(md->buf, mf->cur + off, (size_t)want);
		}
		md->ops[5]++;
	} else if (x < 800) {
		/* idle time: the flusher writes back what expired */
		assert_int_equal(vmm_machine_advance(md->m, rnd(md, 4) * 3000000000ull), 0);
		md->ops[6]++;
	} else if (x < 830) {
		/* drop what is clean, so that reads go to the device */
		assert_int_equal(vmm_file_fadvise(mf->f, 0, 0, VMM_FADV_DONTNEED), 0);
		md->ops[7]++;
	} else if (x < 834) {
		assert_int_equal(vmm_bdev_crash(md->b), 0);
		for (int i = 0; i < NF; i++) {
			memcpy(md->files[i].cur, md->files[i].syn, MAXSZ);
			md->files[i].cur_size = md->files[i].syn_size;
		}
		for (int i = 0; i < NF; i++)
			check_read(md, &md->files[i], 0, MAXSZ);
		md->ops[8]++;
	} else if (x < 840) {
		assert_int_equal(vmm_sync(md->m), 0);
		for (int i = 0; i < NF; i++) {
			sync_ref(&md->files[i]);
			check_durable(md, &md->files[i]);
		}
		md->ops[9]++;
	} else {
		check_read(md, mf, (uint32_t)rnd(md, MAXSZ), 4096);
		md->ops[10]++;
	}
}

static void test_durability_model(void **state)
{
	struct model *md = calloc(1, sizeof(*md));
	uint64_t seed = test_seed("file durability model", 0xd0c5);
	uint64_t n = test_ops(100000);

	(void)state;
	assert_non_null(md);
	md->m = small_machine(NULL);
	md->b = small_bdev(md->m, "disk");
	vmm_prng_seed(&md->r, seed);
	for (int i = 0; i < NF; i++) {
		struct mfile *mf = &md->files[i];

		snprintf(mf->name, sizeof(mf->name), "f%d", i);
		assert_int_equal(vmm_file_create_on(md->b, mf->name, 0, &mf->f), 0);
	}
	for (uint64_t i = 0; i < n; i++) {
		model_step(md);
		assert_machine_healthy(md->m);
	}
	for (int i = 0; i < NF; i++) {
		check_read(md, &md->files[i], 0, MAXSZ);
		assert_int_equal(vmm_file_fsync(md->files[i].f), 0);
		sync_ref(&md->files[i]);
		check_durable(md, &md->files[i]);
	}
	printf("# %" PRIu64 " ops: %" PRIu64 " writes, %" PRIu64 " reads, %" PRIu64 " truncates, "
	       "%" PRIu64 " fsyncs, %" PRIu64 " reopens, %" PRIu64 " direct, %" PRIu64 " idle, "
	       "%" PRIu64 " dontneed, %" PRIu64 " crashes, %" PRIu64 " syncs\n",
	       n, md->ops[0], md->ops[1], md->ops[2], md->ops[3], md->ops[4], md->ops[5],
	       md->ops[6], md->ops[7], md->ops[8], md->ops[9]);
	{
		struct vmm_bdev_stats st;

		vmm_bdev_stats(md->b, &st);
		printf("# device: %" PRIu64 " reads, %" PRIu64 " writes, %" PRIu64 " blocks used\n",
		       st.read_requests, st.write_requests, st.blocks_used);
		assert_true(st.write_requests > 0 && st.read_requests > 0);
	}
	for (int i = 0; i < NF; i++) {
		vmm_file_close(&md->files[i].f);
		vmm_file_close(&md->files[i].d);
		assert_int_equal(vmm_file_unlink(md->m, md->files[i].name), 0);
	}
	{
		struct vmm_bdev_stats st;

		vmm_bdev_stats(md->b, &st);
		assert_int_equal(st.blocks_used, 0);
	}
	assert_int_equal(vmm_bdev_destroy(&md->b), 0);
	assert_machine_healthy(md->m);
	vmm_machine_destroy(&md->m);
	free(md);
}

/* The device's blocks promised to dirty pages. */
static uint64_t reserved_blocks(vmm_bdev *b)
{
	struct vmm_bdev_stats st;

	assert_int_equal(vmm_bdev_stats(b, &st), 0);
	return st.blocks_reserved;
}

/*
 * Delayed allocation: a buffered write promises each new page the block its
 * writeback will take, so a full device fails the write itself with ENOSPC
 * (as ext4 does), not a later fsync. A device of 64 blocks has 63 to give
 * (block 0 is never handed out); a synced file of 48 pages leaves 15.
 */
static void test_enospc_at_write(void **state)
{
	struct test_log tl = { 0 };
	vmm_machine *m = small_machine(&tl);
	struct vmm_bdev_config bc;
	char page[4096], back[4096];
	vmm_bdev *b;
	vmm_file *f, *filler;

	(void)state;
	vmm_bdev_config_init(&bc);
	bc.capacity = 64 * 4096;
	assert_int_equal(vmm_bdev_create(m, "tiny", &bc, &b), 0);
	memset(page, 'p', sizeof(page));
	assert_int_equal(vmm_file_create_on(b, "filler", 0, &filler), 0);
	for (unsigned i = 0; i < 48; i++)
		assert_int_equal(vmm_file_write(filler, page, sizeof(page)), 4096);
	assert_int_equal(vmm_file_fsync(filler), 0);
	assert_int_equal(vmm_file_close(&filler), 0);
	assert_int_equal(vmm_file_create_on(b, "f", 0, &f), 0);
	for (unsigned i = 0; i < 14; i++)
		assert_int_equal(vmm_file_write(f, page, sizeof(page)), 4096);
	assert_int_equal(reserved_blocks(b), 14);
	/* two pages asked, one block left: the first goes in, the write stops there */
	{
		static char two[8192];

		memset(two, 'q', sizeof(two));
		assert_int_equal(vmm_file_write(f, two, sizeof(two)), 4096);
		assert_int_equal(vmm_file_write(f, two, sizeof(two)), -VMM_ENOSPC);
	}
	assert_int_equal(reserved_blocks(b), 15);
	assert_machine_healthy(m);
	/* rewriting a page that already holds a promise needs nothing more */
	assert_int_equal(vmm_file_pwrite(f, page, 100, 0), 100);
	/* every promise is kept: fsync writes all of it */
	assert_int_equal(vmm_file_fsync(f), 0);
	assert_int_equal(reserved_blocks(b), 0);
	assert_int_equal(vmm_file_read_durable(m, "f", back, sizeof(back), 14 * 4096),
			 (int64_t)sizeof(back));
	assert_int_equal(back[0], 'q');
	/* after the commit every block is durable: an overwrite needs a fresh one, none left */
	assert_int_equal(vmm_file_pwrite(f, page, 10, 0), -VMM_ENOSPC);
	assert_machine_healthy(m);
	/* dirty pages dropped by truncation give their promises back */
	assert_int_equal(vmm_file_ftruncate(f, 0), 0);
	assert_int_equal(vmm_file_fsync(f), 0);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(vmm_file_pwrite(f, page, sizeof(page), i * 4096ull), 4096);
	assert_int_equal(reserved_blocks(b), 3);
	assert_int_equal(vmm_file_ftruncate(f, 4096), 0);
	assert_int_equal(reserved_blocks(b), 1);
	assert_machine_healthy(m);
	/* and a crash drops the rest */
	assert_int_equal(vmm_bdev_crash(b), 0);
	assert_int_equal(reserved_blocks(b), 0);
	assert_machine_healthy(m);
	assert_int_equal(vmm_file_close(&f), 0);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_positions_append_unlink),
		cmocka_unit_test(test_direct_io),
		cmocka_unit_test(test_enospc_at_write),
		cmocka_unit_test(test_durability_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
