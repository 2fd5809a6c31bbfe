/* SPDX-License-Identifier: MIT */
/*
 * On-demand readahead (src/pagecache/readahead.c): the windows a
 * sequential read of a large file submits, worked out from Linux's rules
 * (ra_pages 32 = 128 KiB):
 *
 *   read of page 0 misses:   initial window, get_init_ra_size(1, 32):
 *                            1 -> 1 <= 32/32, so x4 = 4 pages, async 4 - 1 = 3
 *                            -> (start 0, size 4, async 3); PG_readahead on page 1
 *   read of page 1 (marker): expected index 0 + 4 - 3 = 1: start 4,
 *                            get_next_ra_size(4): 4 < 32/16? no; 4 <= 16: x2 = 8
 *                            -> (4, 8, 8); marker on page 4
 *   page 4:  (12, 16, 16)    8 <= 16: x2
 *   page 12: (28, 32, 32)    16 <= 16: x2
 *   page 28: (60, 32, 32)    32 > 16: max
 *   then (92, 32, 32), (124, 32, 32), ...
 *
 * and that random reads read only what they ask for, FADV_RANDOM turns
 * readahead off, FADV_SEQUENTIAL doubles the window, a large read starts
 * with the maximum window, and WILLNEED fills the cache.
 */
#include "pc_util.h"

#include <string.h>

#include "machine.h"
#include "pagecache/filemap.h"

#define FILE_SIZE (8ull << 20)

struct window {
	uint64_t start;
	uint32_t size, async;
};

struct trace {
	struct window w[256];
	unsigned n;
};

static void trace_fn(void *data, uint64_t start, uint32_t size, uint32_t async)
{
	struct trace *t = data;

	if (t->n < 256)
		t->w[t->n++] = (struct window){ start, size, async };
}

struct fixture {
	vmm_machine *m;
	vmm_file *f;
	struct trace t;
};

/* A synced 8 MiB file with nothing of it in the cache. */
static void setup(struct fixture *fx)
{
	static uint8_t chunk[1 << 16];
	struct vmm_file_stat st;

	fx->m = pc_machine(1, 64, NULL);
	assert_int_equal(vmm_file_create(fx->m, "big", 0, &fx->f), 0);
	for (uint64_t off = 0; off < FILE_SIZE; off += sizeof(chunk)) {
		memset(chunk, (int)(off >> 16), sizeof(chunk));
		assert_int_equal(vmm_file_pwrite(fx->f, chunk, sizeof(chunk), off), sizeof(chunk));
	}
	assert_int_equal(vmm_file_fsync(fx->f), 0);
	assert_int_equal(vmm_file_fadvise(fx->f, 0, 0, VMM_FADV_DONTNEED), 0);
	assert_int_equal(vmm_file_stat(fx->f, &st), 0);
	assert_int_equal(st.nrpages, 0);
	/* a fresh handle: fresh readahead state */
	vmm_file_close(&fx->f);
	assert_int_equal(vmm_file_open(fx->m, "big", VMM_O_RDONLY, &fx->f), 0);
	memset(&fx->t, 0, sizeof(fx->t));
	fx->m->pagecache->ra_trace = trace_fn;
	fx->m->pagecache->ra_trace_data = &fx->t;
}

static void teardown(struct fixture *fx)
{
	assert_machine_healthy(fx->m);
	vmm_file_close(&fx->f);
	vmm_machine_destroy(&fx->m);
}

static void read_pages(struct fixture *fx, uint64_t first, uint64_t n, uint32_t chunk)
{
	static uint8_t buf[1 << 20];

	for (uint64_t p = first; p < first + n; p += chunk / 4096) {
		assert_int_equal(vmm_file_pread(fx->f, buf, chunk, p * 4096), chunk);
		assert_int_equal(buf[0], (uint8_t)((p * 4096) >> 16));
	}
}

static void check_windows(const struct fixture *fx, const struct window *want, unsigned n)
{
	assert_int_equal(fx->t.n, n);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(fx->t.w[i].start, want[i].start);
		assert_int_equal(fx->t.w[i].size, want[i].size);
		assert_int_equal(fx->t.w[i].async, want[i].async);
	}
}

static void test_sequential_windows(void **state)
{
	static const struct window want[] = {
		{ 0, 4, 3 },	 { 4, 8, 8 },	  { 12, 16, 16 },  { 28, 32, 32 },
		{ 60, 32, 32 },	 { 92, 32, 32 },  { 124, 32, 32 }, { 156, 32, 32 },
		{ 188, 32, 32 }, { 220, 32, 32 }, { 252, 32, 32 },
		/* reading page 252, the last window's marker, sends the next one */
		{ 284, 32, 32 },
	};
	struct fixture fx;
	struct vmm_page *page;

	(void)state;
	setup(&fx);
	read_pages(&fx, 0, 1, 4096);
	/* the marker sits on page 1, the first of the async part */
	page = vmm_find_get_page(&fx.f->inode->i_data, 1);
	assert_non_null(page);
	assert_true(PageReadahead(page));
	vmm_pc_put_page(fx.m, page);
	read_pages(&fx, 1, 255, 4096);
	check_windows(&fx, want, sizeof(want) / sizeof(want[0]));
	teardown(&fx);
}

/* FADV_SEQUENTIAL: ra_pages 64, so the ramp goes on to 64. */
static void test_fadvise_sequential(void **state)
{
	static const struct window want[] = {
		{ 0, 4, 3 },	{ 4, 8, 8 },	{ 12, 16, 16 }, { 28, 32, 32 },
		{ 60, 64, 64 }, { 124, 64, 64 }, { 188, 64, 64 },
	};
	struct fixture fx;

	(void)state;
	setup(&fx);
	assert_int_equal(vmm_file_fadvise(fx.f, 0, 0, VMM_FADV_SEQUENTIAL), 0);
	read_pages(&fx, 0, 125, 4096);
	check_windows(&fx, want, sizeof(want) / sizeof(want[0]));
	teardown(&fx);
}

/* A 64 KiB read at 0: 16 pages round up to 16 > 32/4, so the maximum, 16 of it async. */
static void test_large_read(void **state)
{
	struct fixture fx;

	(void)state;
	setup(&fx);
	read_pages(&fx, 0, 16, 65536);
	assert_true(fx.t.n >= 1);
	assert_int_equal(fx.t.w[0].start, 0);
	assert_int_equal(fx.t.w[0].size, 32);
	assert_int_equal(fx.t.w[0].async, 16);
	teardown(&fx);
}

/* Random reads: no window, one page read per miss. FADV_RANDOM: the same for a sequential scan. */
static void test_random_reads(void **state)
{
	static const uint64_t pages[] = { 1000, 37, 1800, 520, 1290, 9, 700, 1555, 260, 1999 };
	struct vmm_bdev_stats before, after;
	struct vmm_file_stat st;
	struct fixture fx;

	(void)state;
	setup(&fx);
	vmm_bdev_stats(vmm_machine_bdev(fx.m), &before);
	for (unsigned i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		read_pages(&fx, pages[i], 1, 4096);
	vmm_bdev_stats(vmm_machine_bdev(fx.m), &after);
	assert_int_equal(fx.t.n, 0);
	assert_int_equal(after.read_bytes - before.read_bytes, 10 * 4096);
	assert_int_equal(vmm_file_stat(fx.f, &st), 0);
	assert_int_equal(st.nrpages, 10);
	teardown(&fx);

	setup(&fx);
	assert_int_equal(vmm_file_fadvise(fx.f, 0, 0, VMM_FADV_RANDOM), 0);
	vmm_bdev_stats(vmm_machine_bdev(fx.m), &before);
	read_pages(&fx, 0, 64, 4096);
	vmm_bdev_stats(vmm_machine_bdev(fx.m), &after);
	assert_int_equal(fx.t.n, 0);
	assert_int_equal(after.read_bytes - before.read_bytes, 64 * 4096);
	assert_int_equal(after.read_requests - before.read_requests, 64);
	teardown(&fx);
}

/* WILLNEED reads the range now; the reads that follow hit the cache. */
static void test_willneed(void **state)
{
	struct vmm_bdev_stats before, after;
	struct vmm_file_stat st;
	struct fixture fx;

	(void)state;
	setup(&fx);
	assert_int_equal(vmm_file_fadvise(fx.f, 1 << 20, 1 << 20, VMM_FADV_WILLNEED), 0);
	assert_int_equal(vmm_file_stat(fx.f, &st), 0);
	assert_int_equal(st.nrpages, 256);
	vmm_bdev_stats(vmm_machine_bdev(fx.m), &before);
	read_pages(&fx, 256, 256, 4096);
	vmm_bdev_stats(vmm_machine_bdev(fx.m), &after);
	assert_int_equal(after.read_requests, before.read_requests);
	teardown(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequential_windows),
		cmocka_unit_test(test_fadvise_sequential),
		cmocka_unit_test(test_large_read),
		cmocka_unit_test(test_random_reads),
		cmocka_unit_test(test_willneed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
