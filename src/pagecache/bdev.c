/* SPDX-License-Identifier: MIT */
/*
 * The simulated block device. Its contents are an array of 4 KiB blocks in
 * host memory (reserved lazily) or in a host file. Requests are served one
 * after another: a request issued at time t (the issuing CPU's clock)
 * starts when the device is free and takes req_cycles + bytes * byte_cycles.
 * Data moves when the request is issued (the device has no volatile cache:
 * what it accepted survives a crash); the pages' flags change when it
 * completes, so PG_locked and PG_writeback last as long as the I/O would.
 * In-flight requests sit in a ring in completion order (the device is
 * serial, so completion order is issue order); whoever waits on a page
 * completes the ring up to that page and is charged the wait (VMM_CYC_IO).
 */
#include "pagecache/filemap.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <vmm/errors.h>

#include "machine.h"
#include "mm/vmstat_items.h"

void vmm_bdev_config_init(struct vmm_bdev_config *cfg)
{
	if (!cfg)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->capacity = 8ull << 30;
	cfg->block_size = 512;
	cfg->read_req_cycles = 30000;
	cfg->read_byte_cycles = 1;
	cfg->write_req_cycles = 45000;
	cfg->write_byte_cycles = 2;
}

/*
 * The time a request issued now starts from: the current CPU's clock, or
 * later when the embedder moved idle time past it (vmm_machine_advance).
 */
uint64_t vmm_bdev_now(const struct vmm_bdev *b)
{
	return VMM_MAX(vmm_cpu_clock_cycles(&b->m->clock.cpu[b->m->current_cpu]),
		       b->m->timers.floor);
}

static uint8_t *block_mem(struct vmm_bdev *b, uint64_t block)
{
	return b->mem + block * VMM_PAGE_SIZE;
}

/* Move bytes between the device and host memory. */
static void media_rw(struct vmm_bdev *b, uint64_t block, uint32_t off, void *buf, uint32_t len,
		     bool write)
{
	uint64_t pos = block * VMM_PAGE_SIZE + off;

	if (b->fd < 0) {
		if (write)
			memcpy(block_mem(b, block) + off, buf, len);
		else
			memcpy(buf, block_mem(b, block) + off, len);
		return;
	}
	{
		ssize_t n = write ? pwrite(b->fd, buf, len, (off_t)pos) : pread(b->fd, buf, len, (off_t)pos);

		if (n != (ssize_t)len) {
			vmm_internal_err(&b->m->log, "bdev %s: host file %s failed at %llu", b->name,
					 write ? "write" : "read", (unsigned long long)pos);
			if (!write)
				memset(buf, 0, len);
		}
	}
}

/* Account one request of @bytes; its completion time. */
static uint64_t request(struct vmm_bdev *b, uint64_t bytes, bool write)
{
	uint64_t now = vmm_bdev_now(b), start = VMM_MAX(now, b->busy_until);
	uint64_t cost = write ? b->cfg.write_req_cycles + bytes * b->cfg.write_byte_cycles
			      : b->cfg.read_req_cycles + bytes * b->cfg.read_byte_cycles;

	b->busy_until = start + cost;
	b->st.busy_cycles += cost;
	if (write) {
		b->st.write_requests++;
		b->st.write_bytes += bytes;
		b->m->vm_events[VE_PGPGOUT] += bytes >> 10;
	} else {
		b->st.read_requests++;
		b->st.read_bytes += bytes;
		b->m->vm_events[VE_PGPGIN] += bytes >> 10;
	}
	return b->busy_until;
}

static void complete_one(struct vmm_bdev *b, const struct vmm_bio *bio);

static int queue_push(struct vmm_bdev *b, const struct vmm_bio *bio)
{
	if (b->q_len == b->q_cap) {
		size_t cap = b->q_cap ? 2 * b->q_cap : 64;
		struct vmm_bio *q = vmm_hcalloc(&b->m->hm, cap, sizeof(*q));

		if (!q)
			return -VMM_ENOMEM;
		for (size_t i = 0; i < b->q_len; i++)
			q[i] = b->q[(b->q_head + i) % b->q_cap];
		vmm_hfree(&b->m->hm, b->q, b->q_cap * sizeof(*q));
		b->q = q;
		b->q_cap = cap;
		b->q_head = 0;
	}
	b->q[(b->q_head + b->q_len++) % b->q_cap] = *bio;
	return 0;
}

void vmm_bdev_submit_reads(struct vmm_bdev *b, struct vmm_page **pages, const uint64_t *blocks,
			   unsigned n)
{
	unsigned i = 0;

	while (i < n) {
		unsigned run = 1;
		uint64_t done;

		if (!blocks[i]) {
			/* a hole: nothing to read, the page is zeroes at once */
			memset(vmm_page_host(b->m, pages[i]), 0, VMM_PAGE_SIZE);
			vmm_charge(b->m, VMM_CYC_ZERO_COPY, b->m->clock.cost.zero_page);
			set_page_flag(pages[i], VMM_PG_uptodate);
			vmm_unlock_page(pages[i]);
			i++;
			continue;
		}
		/* one request per run of consecutive blocks, as the block layer merges bios */
		while (i + run < n && blocks[i + run] == blocks[i] + run)
			run++;
		done = request(b, run * VMM_PAGE_SIZE, false);
		for (unsigned k = i; k < i + run; k++) {
			struct vmm_bio bio = { .page = pages[k], .done = done };

			media_rw(b, blocks[k], 0, vmm_page_host(b->m, pages[k]), VMM_PAGE_SIZE, false);
			if (queue_push(b, &bio)) {
				/* no host memory to track it: complete it now */
				set_page_flag(pages[k], VMM_PG_uptodate);
				vmm_unlock_page(pages[k]);
			}
		}
		i += run;
	}
}

void vmm_bdev_submit_write(struct vmm_bdev *b, struct vmm_page *page, uint64_t block,
			   uint64_t old_block)
{
	struct vmm_bio bio = { .page = page, .block = block, .old_block = old_block, .write = true };

	bio.done = request(b, VMM_PAGE_SIZE, true);
	if (b->fail_writes) {
		b->fail_writes--;
		b->st.write_errors++;
		bio.failed = true;
	} else {
		media_rw(b, block, 0, vmm_page_host(b->m, page), VMM_PAGE_SIZE, true);
	}
	if (queue_push(b, &bio))
		complete_one(b, &bio);
}

static void complete_one(struct vmm_bdev *b, const struct vmm_bio *bio)
{
	struct vmm_page *page = bio->page;

	if (!bio->write) {
		set_page_flag(page, VMM_PG_uptodate);
		vmm_unlock_page(page);
		return;
	}
	{
		struct vmm_address_space *mapping = vmm_page_mapping(b->m, page);

		vmm_simfs_write_done(mapping->host, page->index, bio->block, bio->old_block,
				     bio->failed);
		if (bio->failed) {
			/* end_page_writeback with an error: mapping_set_error() */
			set_page_flag(page, VMM_PG_error);
			vmm_errseq_set(&mapping->wb_err, -VMM_EIO);
		}
	}
	vmm_end_page_writeback(vmm_page_mapping(b->m, page), page);
}

void vmm_bdev_complete(struct vmm_bdev *b, uint64_t until)
{
	while (b->q_len && b->q[b->q_head].done <= until) {
		struct vmm_bio bio = b->q[b->q_head];

		b->q_head = (b->q_head + 1) % b->q_cap;
		b->q_len--;
		complete_one(b, &bio);
	}
}

void vmm_bdev_wait_page(struct vmm_bdev *b, struct vmm_page *page)
{
	for (size_t i = 0; i < b->q_len; i++) {
		const struct vmm_bio *bio = &b->q[(b->q_head + i) % b->q_cap];
		uint64_t now = vmm_bdev_now(b), done;

		if (bio->page != page)
			continue;
		done = bio->done;
		if (done > now)
			vmm_charge(b->m, VMM_CYC_IO, done - now);
		vmm_bdev_complete(b, done);
		return;
	}
}

void vmm_bdev_charge(struct vmm_bdev *b, uint64_t bytes, bool write)
{
	uint64_t done = request(b, bytes, write), now = vmm_bdev_now(b);

	if (done > now)
		vmm_charge(b->m, VMM_CYC_IO, done - now);
}

void vmm_bdev_rw(struct vmm_bdev *b, uint64_t block, uint32_t off, void *buf, uint32_t len,
		 bool write, bool charge)
{
	if (charge)
		vmm_bdev_charge(b, len, write);
	if (!block) {
		if (!write)
			memset(buf, 0, len);
		return;
	}
	media_rw(b, block, off, buf, len, write);
}

/*
 * Next fit from where the last allocation ended; block 0 stands for "none".
 * Blocks promised to dirty pages (delayed allocation) are not handed out:
 * a page's writeback gives its promise back just before it allocates.
 */
uint64_t vmm_bdev_alloc_block(struct vmm_bdev *b)
{
	if (b->st.blocks_used + b->st.blocks_reserved + 1 >= b->nr_blocks)
		return 0;
	for (uint64_t n = 0; n < b->nr_blocks; n++) {
		uint64_t blk = b->alloc_cursor;

		b->alloc_cursor = blk + 1 < b->nr_blocks ? blk + 1 : 1;
		if (blk && !b->block_use[blk]) {
			b->block_use[blk] = BLOCK_CURRENT;
			b->st.blocks_used++;
			return blk;
		}
	}
	return 0;
}

void vmm_bdev_release_block(struct vmm_bdev *b, uint64_t block, unsigned use)
{
	if (!block || !(b->block_use[block] & use))
		return;
	b->block_use[block] &= (uint8_t)~use;
	if (!b->block_use[block])
		b->st.blocks_used--;
}

/* The in-flight requests die with the power: their pages lose their I/O state. */
static void bdev_drop_queue(struct vmm_bdev *b)
{
	while (b->q_len) {
		struct vmm_bio *bio = &b->q[b->q_head];

		b->q_head = (b->q_head + 1) % b->q_cap;
		b->q_len--;
		if (bio->write) {
			struct vmm_address_space *mapping = vmm_page_mapping(b->m, bio->page);

			vmm_simfs_write_done(mapping->host, bio->page->index, bio->block,
					     bio->old_block, true);
			vmm_end_page_writeback(mapping, bio->page);
		} else {
			vmm_unlock_page(bio->page);
		}
	}
	b->busy_until = vmm_bdev_now(b);
}

static int bdev_validate(vmm_machine *m, const char *name, const struct vmm_bdev_config *cfg)
{
	size_t len = name ? strlen(name) : 0;

	if (!len || len > 31) {
		vmm_caller_err(&m->log, "vmm_bdev_create: the name must have 1..31 characters");
		return -VMM_EINVAL;
	}
	for (size_t i = 0; i < len; i++)
		if (name[i] <= ' ' || name[i] > '~') {
			vmm_caller_err(&m->log, "vmm_bdev_create: name %s is not printable", name);
			return -VMM_EINVAL;
		}
	if (!cfg->capacity || cfg->capacity % VMM_PAGE_SIZE || cfg->capacity > (1ull << 46)) {
		vmm_caller_err(&m->log, "vmm_bdev_create: capacity %llu is not a multiple of 4096 "
			       "up to 64 TiB", (unsigned long long)cfg->capacity);
		return -VMM_EINVAL;
	}
	if (cfg->block_size < 512 || cfg->block_size > 4096 ||
	    (cfg->block_size & (cfg->block_size - 1))) {
		vmm_caller_err(&m->log, "vmm_bdev_create: block size %u", cfg->block_size);
		return -VMM_EINVAL;
	}
	for (size_t i = 0; i < sizeof(cfg->reserved) / sizeof(cfg->reserved[0]); i++)
		if (cfg->reserved[i] || cfg->pad0) {
			vmm_caller_err(&m->log, "vmm_bdev_create: reserved fields must be zero");
			return -VMM_EINVAL;
		}
	for (struct vmm_list *pos = m->pagecache->bdevs.next; pos != &m->pagecache->bdevs;
	     pos = pos->next)
		if (!strcmp(vmm_list_entry(pos, struct vmm_bdev, link)->name, name))
			return -VMM_EEXIST;
	return 0;
}

static void bdev_free(struct vmm_bdev *b)
{
	struct vmm_hostmem *hm = &b->m->hm;

	vmm_list_del(&b->link);
	if (b->fd >= 0)
		close(b->fd);
	if (b->mem)
		vmm_hunmap(hm, b->mem, b->cfg.capacity);
	if (b->host_path)
		vmm_hfree(hm, b->host_path, strlen(b->host_path) + 1);
	vmm_hfree(hm, b->block_use, b->nr_blocks);
	vmm_hfree(hm, b->q, b->q_cap * sizeof(*b->q));
	vmm_hfree(hm, b, sizeof(*b));
}

static int bdev_open_host_file(struct vmm_bdev *b)
{
	size_t n = strlen(b->cfg.host_path) + 1;
	off_t size;

	b->host_path = vmm_hmalloc(&b->m->hm, n);
	if (!b->host_path)
		return -VMM_ENOMEM;
	memcpy(b->host_path, b->cfg.host_path, n);
	b->cfg.host_path = b->host_path;
	b->fd = open(b->host_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (b->fd < 0)
		return -VMM_EIO;
	size = lseek(b->fd, 0, SEEK_END);
	if (size < 0 || ((uint64_t)size < b->cfg.capacity && ftruncate(b->fd, (off_t)b->cfg.capacity)))
		return -VMM_EIO;
	return 0;
}

int vmm_bdev_create(vmm_machine *m, const char *name, const struct vmm_bdev_config *cfg,
		    vmm_bdev **out)
{
	struct vmm_bdev_config def;
	struct vmm_bdev *b;
	int err;

	if (out)
		*out = NULL;
	if (!m || !out || !m->pagecache)
		return -VMM_EINVAL;
	if (!cfg) {
		vmm_bdev_config_init(&def);
		cfg = &def;
	}
	if ((err = bdev_validate(m, name, cfg)))
		return err;
	b = vmm_hzalloc(&m->hm, sizeof(*b));
	if (!b)
		return -VMM_ENOMEM;
	b->m = m;
	b->fd = -1;
	b->cfg = *cfg;
	b->cfg.host_path = NULL;
	snprintf(b->name, sizeof(b->name), "%s", name);
	vmm_list_init(&b->link);
	vmm_list_init(&b->inodes);
	vmm_list_init(&b->b_dirty);
	b->nr_blocks = cfg->capacity / VMM_PAGE_SIZE;
	b->alloc_cursor = 1;
	b->block_use = vmm_hzalloc(&m->hm, b->nr_blocks);
	if (!b->block_use) {
		err = -VMM_ENOMEM;
		goto fail;
	}
	if (cfg->host_path) {
		b->cfg.host_path = cfg->host_path;
		err = bdev_open_host_file(b);
		if (err) {
			vmm_caller_err(&m->log, "vmm_bdev_create: cannot use host file %s",
				       cfg->host_path);
			goto fail;
		}
	} else if (!(b->mem = vmm_hmap(&m->hm, cfg->capacity))) {
		err = -VMM_ENOMEM;
		goto fail;
	}
	vmm_list_add_tail(&b->link, &m->pagecache->bdevs);
	*out = b;
	return 0;
fail:
	bdev_free(b);
	return err;
}

int vmm_bdev_destroy(vmm_bdev **bp)
{
	struct vmm_bdev *b;

	if (!bp || !*bp)
		return 0;
	b = *bp;
	if (!vmm_list_empty(&b->inodes))
		return -VMM_EBUSY;
	vmm_bdev_complete(b, UINT64_MAX);
	if (b->m->pagecache->default_bdev == b)
		b->m->pagecache->default_bdev = NULL;
	bdev_free(b);
	*bp = NULL;
	return 0;
}

struct vmm_bdev *vmm_bdev_default(struct vmm_machine *m)
{
	struct vmm_pagecache *pc = m->pagecache;

	if (!pc->default_bdev && vmm_bdev_create(m, "vda", NULL, &pc->default_bdev))
		return NULL;
	return pc->default_bdev;
}

vmm_bdev *vmm_machine_bdev(vmm_machine *m)
{
	if (!m || !m->pagecache)
		return NULL;
	return vmm_bdev_default(m);
}

int vmm_bdev_stats(const vmm_bdev *b, struct vmm_bdev_stats *out)
{
	if (!b || !out)
		return -VMM_EINVAL;
	*out = b->st;
	return 0;
}

int vmm_bdev_fail_writes(vmm_bdev *b, uint64_t nr)
{
	if (!b)
		return -VMM_EINVAL;
	b->fail_writes = nr;
	return 0;
}

int vmm_bdev_crash(vmm_bdev *b)
{
	if (!b)
		return -VMM_EINVAL;
	vmm_pagecache_enter(b->m);
	bdev_drop_queue(b);
	for (struct vmm_list *pos = b->inodes.next; pos != &b->inodes; pos = pos->next)
		vmm_simfs_crash(vmm_list_entry(pos, struct vmm_inode, i_sb_list));
	b->st.crashes++;
	vmm_pagecache_exit(b->m);
	return 0;
}

void vmm_bdev_free_all(struct vmm_machine *m)
{
	struct vmm_pagecache *pc = m->pagecache;

	while (!vmm_list_empty(&pc->bdevs)) {
		struct vmm_bdev *b = vmm_list_first_entry(&pc->bdevs, struct vmm_bdev, link);

		b->q_len = 0;
		bdev_free(b);
	}
	pc->default_bdev = NULL;
}
