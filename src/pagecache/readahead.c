/* SPDX-License-Identifier: MIT */
/*
 * On-demand readahead (Linux's mm/readahead.c, the 5.x algorithm for
 * order-0 pages).
 *
 * A file handle keeps a window: [start, start + size), whose last
 * async_size pages are read ahead of need; the first of those carries
 * PG_readahead. A read that misses the cache runs the synchronous path, a
 * read that reaches a PG_readahead page the asynchronous one; both go
 * through ondemand_readahead(), which tells the cases apart:
 *
 *  - a read at the start of the file, or right after the previous read
 *    (a sequential miss), or larger than the maximum: a new window sized
 *    from the request (get_init_ra_size: the request rounded up to a power
 *    of two, times 4 when small, times 2 when medium, else the maximum);
 *  - a read at the expected place (where the async part starts, or just
 *    past the window): the window moves on and grows (get_next_ra_size:
 *    x4 while below max/16, x2 up to max/2, then max), all of it async;
 *  - a marker hit that is not where this handle expected: another stream
 *    interleaved with this one; the window restarts past the cached run;
 *  - otherwise, when the pages before the read are cached (context
 *    readahead), a window as long as that history; else a random read,
 *    which reads only what was asked for.
 *
 * ra_pages is 32 (128 KiB, VM_READAHEAD_PAGES); FADV_SEQUENTIAL doubles
 * it, FADV_RANDOM sets FMODE_RANDOM, which makes a miss read just the
 * requested pages.
 */
#include "pagecache/filemap.h"

#include "machine.h"

void vmm_file_ra_state_init(struct vmm_ra_state *ra)
{
	ra->start = 0;
	ra->size = 0;
	ra->async_size = 0;
	ra->ra_pages = VM_READAHEAD_PAGES;
	ra->mmap_miss = 0;
	ra->prev_pos = UINT64_MAX;
}

static uint64_t roundup_pow_of_two(uint64_t v)
{
	return v <= 1 ? 1 : 1ull << (64 - __builtin_clzll(v - 1));
}

/* get_init_ra_size() */
static uint32_t init_ra_size(uint64_t size, uint32_t max)
{
	uint64_t newsize = roundup_pow_of_two(size);

	if (newsize <= max / 32)
		newsize *= 4;
	else if (newsize <= max / 4)
		newsize *= 2;
	else
		newsize = max;
	return (uint32_t)newsize;
}

/* get_next_ra_size() */
static uint32_t next_ra_size(const struct vmm_ra_state *ra, uint32_t max)
{
	uint32_t cur = ra->size;

	if (cur < max / 16)
		return 4 * cur;
	if (cur <= max / 2)
		return 2 * cur;
	return max;
}

/*
 * __do_page_cache_readahead(): allocate the missing pages of [index,
 * index + nr) inside the file, mark the one @lookahead from the end with
 * PG_readahead, add them locked and start their reads, one request per
 * run of consecutive blocks. Returns the pages read.
 */
unsigned vmm_do_page_cache_readahead(struct vmm_address_space *mapping, uint64_t index,
				     uint64_t nr, uint64_t lookahead)
{
	struct vmm_inode *inode = mapping->host;
	struct vmm_machine *m = inode->m;
	struct vmm_page *batch[64];
	uint64_t blocks[64], end_index;
	unsigned n = 0, total = 0;

	if (!inode->i_size)
		return 0;
	end_index = (inode->i_size - 1) >> VMM_PAGE_SHIFT;
	for (uint64_t i = 0; i < nr; i++) {
		uint64_t idx = index + i;
		void *entry;
		struct vmm_page *page;

		if (idx > end_index)
			break;
		entry = vmm_xa_load(&mapping->i_pages, idx);
		if (entry && !xa_is_value(entry)) {
			/* already cached: send what is gathered, as read_pages() does */
			vmm_bdev_submit_reads(inode->bdev, batch, blocks, n);
			n = 0;
			continue;
		}
		page = vmm_page_cache_alloc(m, mapping->gfp_mask | VMM_GFP_NORETRY | VMM_GFP_NOWARN,
					    0);
		if (!page)
			break;
		if (i == nr - lookahead)
			set_page_flag(page, VMM_PG_readahead);
		if (vmm_add_to_page_cache_lru(page, mapping, idx, mapping->gfp_mask)) {
			page->flags = 0;
			vmm_pc_put_page(m, page);
			break;
		}
		/* the cache's reference is the only one: the read path finds the page */
		vmm_pc_put_page(m, page);
		batch[n] = page;
		blocks[n] = vmm_simfs_block(inode, idx);
		n++;
		total++;
		if (n == sizeof(batch) / sizeof(batch[0])) {
			vmm_bdev_submit_reads(inode->bdev, batch, blocks, n);
			n = 0;
		}
	}
	vmm_bdev_submit_reads(inode->bdev, batch, blocks, n);
	return total;
}

void vmm_ra_submit(struct vmm_address_space *mapping, struct vmm_ra_state *ra)
{
	struct vmm_pagecache *pc = mapping->host->m->pagecache;

	pc->ra_windows++;
	if (pc->ra_trace)
		pc->ra_trace(pc->ra_trace_data, ra->start, ra->size, ra->async_size);
	vmm_do_page_cache_readahead(mapping, ra->start, ra->size, ra->async_size);
}

/* force_page_cache_readahead(): read exactly [index, index + nr), in 2 MiB pieces. */
void vmm_force_page_cache_readahead(struct vmm_address_space *mapping, uint64_t index,
				    uint64_t nr)
{
	const uint64_t chunk = (2ull << 20) / VMM_PAGE_SIZE;

	while (nr) {
		uint64_t this = VMM_MIN(nr, chunk);

		vmm_do_page_cache_readahead(mapping, index, this, 0);
		index += this;
		nr -= this;
	}
}

/* The first index in [index, index + max) not in the cache (page_cache_next_miss). */
static uint64_t next_miss(struct vmm_address_space *mapping, uint64_t index, uint64_t max)
{
	while (max--) {
		void *entry = vmm_xa_load(&mapping->i_pages, index);

		if (!entry || xa_is_value(entry))
			break;
		if (++index == 0)
			break;
	}
	return index;
}

/* The cached pages just before @index, up to @max (count_history_pages). */
static uint64_t history_pages(struct vmm_address_space *mapping, uint64_t index, uint64_t max)
{
	uint64_t n = 0;

	while (n < max && index >= n) {
		void *entry = vmm_xa_load(&mapping->i_pages, index - n);

		if (!entry || xa_is_value(entry))
			break;
		n++;
	}
	return n;
}

/* try_context_readahead(): a window from the cache's own record of past reads. */
static bool context_readahead(struct vmm_address_space *mapping, struct vmm_ra_state *ra,
			      uint64_t index, uint64_t req_size, uint32_t max)
{
	uint64_t size = index ? history_pages(mapping, index - 1, max) : 0;

	/* not enough history: a random read */
	if (size <= req_size)
		return false;
	/* the stream starts at the beginning of the file: trust it more */
	if (size >= index)
		size *= 2;
	ra->start = index;
	ra->size = (uint32_t)VMM_MIN(size + req_size, (uint64_t)max);
	ra->async_size = 1;
	return true;
}

/* ondemand_readahead(): pick the window for a read of @req_size pages at @index. */
static void ondemand_readahead(struct vmm_address_space *mapping, struct vmm_ra_state *ra,
			       bool hit_marker, uint64_t index, uint64_t req_size)
{
	uint32_t max = ra->ra_pages;
	uint64_t prev_index;

	if (!index)
		goto initial;
	/* the expected place: ramp up */
	if (index == ra->start + ra->size - ra->async_size || index == ra->start + ra->size) {
		ra->start += ra->size;
		ra->size = next_ra_size(ra, max);
		ra->async_size = ra->size;
		goto readit;
	}
	/* a marker this handle did not expect: interleaved streams */
	if (hit_marker) {
		uint64_t start = next_miss(mapping, index + 1, max);

		if (!start || start - index > max)
			return;
		ra->start = start;
		ra->size = (uint32_t)(start - index + req_size);
		ra->size = next_ra_size(ra, max);
		ra->async_size = ra->size;
		goto readit;
	}
	if (req_size > max)
		goto initial;
	prev_index = ra->prev_pos == UINT64_MAX ? UINT64_MAX : ra->prev_pos >> VMM_PAGE_SHIFT;
	/* a sequential cache miss: right after (or at) the previous read */
	if (prev_index != UINT64_MAX && index - prev_index <= 1)
		goto initial;
	if (context_readahead(mapping, ra, index, req_size, max))
		goto readit;
	/* a standalone random read: just the pages asked for */
	vmm_do_page_cache_readahead(mapping, index, req_size, 0);
	return;

initial:
	ra->start = index;
	ra->size = init_ra_size(req_size, max);
	ra->async_size = ra->size > req_size ? (uint32_t)(ra->size - req_size) : ra->size;
readit:
	/*
	 * Would this read hit the marker this very window sets? Then take the
	 * next step now and merge it into this window.
	 */
	if (!hit_marker && index == ra->start && ra->size == ra->async_size) {
		uint32_t add = next_ra_size(ra, max);

		if (ra->size + add <= max) {
			ra->async_size = add;
			ra->size += add;
		} else {
			ra->size = max;
			ra->async_size = max >> 1;
		}
	}
	vmm_ra_submit(mapping, ra);
}

void vmm_page_cache_sync_readahead(struct vmm_address_space *mapping, struct vmm_ra_state *ra,
				   struct vmm_file *f, uint64_t index, uint64_t req_count)
{
	if (!ra->ra_pages)
		return;
	if (!req_count)
		req_count = 1;
	if (f && (f->f_mode & FMODE_RANDOM)) {
		vmm_force_page_cache_readahead(mapping, index, req_count);
		return;
	}
	ondemand_readahead(mapping, ra, false, index, req_count);
}

void vmm_page_cache_async_readahead(struct vmm_address_space *mapping, struct vmm_ra_state *ra,
				    struct vmm_file *f, struct vmm_page *page, uint64_t index,
				    uint64_t req_count)
{
	(void)f;
	if (!ra->ra_pages || PageWriteback(page))
		return;
	clear_page_flag(page, VMM_PG_readahead);
	if (!req_count)
		req_count = 1;
	ondemand_readahead(mapping, ra, true, index, req_count);
}
