/* SPDX-License-Identifier: MIT */
/*
 * Dirty pages and their writeback (Linux's mm/page-writeback.c and
 * fs/fs-writeback.c, simplified to one flusher per machine).
 *
 * A page dirtied by a write gets PG_dirty and the DIRTY tag, and counts in
 * nr_dirty (NR_FILE_DIRTY) and the zone's write-pending count; its inode
 * goes on its device's dirty list, stamped with the time (dirtied_when).
 * Writeback (write_cache_pages) clears PG_dirty, sets PG_writeback and
 * the WRITEBACK tag, and starts a write; the write's completion ends
 * writeback. A data-integrity sync first tags every dirty page of the
 * range TOWRITE and then writes exactly those, so pages dirtied meanwhile
 * cannot make it run forever.
 *
 * Three things start writeback: fsync (the whole file, waited for);
 * the flusher timer every vm.dirty_writeback_centisecs, which writes the
 * inodes dirtied more than vm.dirty_expire_centisecs ago and, while the
 * dirty pages exceed the background threshold, everything; and a writer
 * that finds the dirty pages above the dirty threshold
 * (balance_dirty_pages), which has the flusher write and sleeps until the
 * writes it waits on complete, the sleep charged to its CPU.
 *
 * Errors: a failed write sets PG_error and records -EIO in the mapping's
 * errseq_t; each handle reports it from its next fsync once.
 */
#include "pagecache/filemap.h"

#include <vmm/errors.h>

#include "machine.h"
#include "mm/sparse.h"
#include "mm/vmstat.h"
#include "mm/zone.h"
#include "pagecache/file_mmap.h"

/* ---- errseq_t: an error number, a "seen" bit, and a counter above them ---- */

#define ERRSEQ_ERRNO_BITS 12
#define ERRSEQ_ERRNO_MASK ((1u << ERRSEQ_ERRNO_BITS) - 1)
#define ERRSEQ_SEEN (1u << ERRSEQ_ERRNO_BITS)
#define ERRSEQ_CTR_INC (1u << (ERRSEQ_ERRNO_BITS + 1))

/* Record @err; the counter moves only when the previous error was seen. */
void vmm_errseq_set(vmm_errseq_t *eseq, int err)
{
	vmm_errseq_t old = *eseq, new;

	new = (old & ~(ERRSEQ_ERRNO_MASK | ERRSEQ_SEEN)) | ((uint32_t)-err & ERRSEQ_ERRNO_MASK);
	if (old & ERRSEQ_SEEN)
		new += ERRSEQ_CTR_INC;
	*eseq = new;
}

/* A new handle's starting point: an error nobody has seen yet is still news to it. */
vmm_errseq_t vmm_errseq_sample(const vmm_errseq_t *eseq)
{
	return *eseq & ERRSEQ_SEEN ? *eseq : 0;
}

/* The error since *@since (once), marking it seen and moving *@since on. */
int vmm_errseq_check_and_advance(vmm_errseq_t *eseq, vmm_errseq_t *since)
{
	vmm_errseq_t old = *eseq;

	if (old == *since)
		return 0;
	if (!(old & ERRSEQ_SEEN))
		*eseq = old | ERRSEQ_SEEN;
	*since = old | ERRSEQ_SEEN;
	return -(int)(old & ERRSEQ_ERRNO_MASK);
}

/* ---- accounting ---- */

static void mod_page_state(struct vmm_machine *m, const struct vmm_page *page, int node_item,
			   int64_t delta)
{
	NODE_DATA(m, vmm_page_to_nid(m, page))->vm_stat[node_item] += delta;
	vmm_pfn_zone(m, page_to_pfn(&m->sparse, page))->vm_stat[NR_ZONE_WRITE_PENDING] += delta;
}

void vmm_account_page_cleaned(struct vmm_machine *m, struct vmm_page *page,
			      struct vmm_address_space *mapping)
{
	(void)mapping;
	mod_page_state(m, page, NR_FILE_DIRTY, -1);
}

static void mapping_tag(struct vmm_address_space *mapping, struct vmm_page *page, xa_mark_t tag,
			bool set)
{
	XA_STATE(xas, &mapping->i_pages, page->index);

	vmm_xas_load(&xas);
	if (set)
		vmm_xas_set_mark(&xas, tag);
	else
		vmm_xas_clear_mark(&xas, tag);
}

/* __mark_inode_dirty(I_DIRTY_PAGES): the first dirtying puts it on the device's list. */
void vmm_mark_inode_dirty(struct vmm_inode *inode)
{
	struct vmm_machine *m = inode->m;
	struct vmm_pagecache *pc = m->pagecache;

	if (vmm_list_is_linked(&inode->i_io_list))
		return;
	inode->dirtied_when = vmm_jiffies(m);
	vmm_list_add_tail(&inode->i_io_list, &inode->bdev->b_dirty);
	if (m->sysctl.dirty_writeback_centisecs && !vmm_timer_pending(&pc->wb_timer))
		vmm_timer_mod(m, &pc->wb_timer,
			      (uint64_t)m->sysctl.dirty_writeback_centisecs * m->cfg.hz / 100);
}

/* __set_page_dirty_nobuffers(): account, tag, and put the inode on the dirty list. */
void vmm_set_page_dirty(struct vmm_address_space *mapping, struct vmm_page *page)
{
	struct vmm_machine *m = mapping->host->m;

	if (PageDirty(page))
		return;
	set_page_flag(page, VMM_PG_dirty);
	if (!mapping->host->bdev)
		return;	/* shmem: noop_dirty_folio, nothing to write back */
	mod_page_state(m, page, NR_FILE_DIRTY, 1);
	NODE_DATA(m, vmm_page_to_nid(m, page))->vm_stat[NR_DIRTIED]++;
	mapping_tag(mapping, page, PAGECACHE_TAG_DIRTY, true);
	m->pagecache->nr_dirtied_since_balance++;
	vmm_mark_inode_dirty(mapping->host);
}

/*
 * clear_page_dirty_for_io(): the DIRTY tag stays until set_page_writeback.
 * A page dirty in the page tables is dirty already (the fault path marks
 * it), so cleaning the entries loses nothing.
 */
bool vmm_clear_page_dirty_for_io(struct vmm_address_space *mapping, struct vmm_page *page)
{
	if (!PageDirty(page))
		return false;
	/* page_mkclean(): mappings write-protected and clean, so the next write faults */
	if (page->mapcount)
		vmm_page_mkclean(mapping, page);
	clear_page_flag(page, VMM_PG_dirty);
	vmm_account_page_cleaned(mapping->host->m, page, mapping);
	return true;
}

/* set_page_writeback(): WRITEBACK tag on, TOWRITE off, DIRTY off unless redirtied. */
void vmm_set_page_writeback(struct vmm_address_space *mapping, struct vmm_page *page)
{
	struct vmm_machine *m = mapping->host->m;
	XA_STATE(xas, &mapping->i_pages, page->index);

	set_page_flag(page, VMM_PG_writeback);
	mod_page_state(m, page, NR_WRITEBACK, 1);
	vmm_xas_load(&xas);
	vmm_xas_set_mark(&xas, PAGECACHE_TAG_WRITEBACK);
	if (!PageDirty(page))
		vmm_xas_clear_mark(&xas, PAGECACHE_TAG_DIRTY);
	vmm_xas_clear_mark(&xas, PAGECACHE_TAG_TOWRITE);
}

void vmm_end_page_writeback(struct vmm_address_space *mapping, struct vmm_page *page)
{
	struct vmm_machine *m = mapping->host->m;

	clear_page_flag(page, VMM_PG_writeback);
	mapping_tag(mapping, page, PAGECACHE_TAG_WRITEBACK, false);
	mod_page_state(m, page, NR_WRITEBACK, -1);
	NODE_DATA(m, vmm_page_to_nid(m, page))->vm_stat[NR_WRITTEN]++;
	/* a page written for reclaim (PG_reclaim) would rotate here: no reclaim yet */
}

/* The filesystem's writepage: the page, locked and cleaned for I/O, goes to its block. */
static void simfs_writepage(struct vmm_address_space *mapping, struct vmm_page *page)
{
	struct vmm_inode *inode = mapping->host;
	uint64_t old, block;

	vmm_set_page_writeback(mapping, page);
	/* the promised block becomes a real one */
	vmm_simfs_unreserve_page(inode, page);
	block = vmm_simfs_write_block(inode, page->index, &old);
	vmm_unlock_page(page);
	if (!block) {
		/* no space: the write fails as the device would fail it */
		set_page_flag(page, VMM_PG_error);
		vmm_errseq_set(&mapping->wb_err, -VMM_ENOSPC);
		vmm_end_page_writeback(mapping, page);
		return;
	}
	vmm_bdev_submit_write(inode->bdev, page, block, old);
}

/* tag_pages_for_writeback(): TOWRITE on every DIRTY page of [start, end]. */
static void tag_pages_for_writeback(struct vmm_address_space *mapping, uint64_t start,
				    uint64_t end)
{
	XA_STATE(xas, &mapping->i_pages, start);
	void *entry;

	vmm_xas_for_each_marked(&xas, entry, end, PAGECACHE_TAG_DIRTY)
		vmm_xas_set_mark(&xas, PAGECACHE_TAG_TOWRITE);
}

/*
 * write_cache_pages(): walk the DIRTY pages (TOWRITE for a data-integrity
 * sync) of [start, end] in index order, and write each that is still
 * dirty once locked. A data-integrity sync waits for a page already under
 * writeback (it may hold older data); background writeback skips it and
 * stops after @nr_to_write pages. Returns the pages written.
 */
uint64_t vmm_write_cache_pages(struct vmm_address_space *mapping, uint64_t start, uint64_t end,
			       enum wb_sync_mode mode, uint64_t nr_to_write)
{
	struct vmm_machine *m = mapping->host->m;
	xa_mark_t tag = mode == WB_SYNC_ALL ? PAGECACHE_TAG_TOWRITE : PAGECACHE_TAG_DIRTY;
	uint64_t index = start, written = 0;
	struct vmm_page *page;

	if (mode == WB_SYNC_ALL)
		tag_pages_for_writeback(mapping, start, end);
	while (written < nr_to_write && index <= end &&
	       (page = vmm_xa_find(&mapping->i_pages, &index, end, tag))) {
		get_page(page);
		vmm_lock_page(m, page);
		if (page->mapping != mapping->self)
			goto next;
		if (PageWriteback(page)) {
			if (mode == WB_SYNC_NONE)
				goto next;
			vmm_wait_on_page_writeback(m, page);
		}
		if (!vmm_clear_page_dirty_for_io(mapping, page)) {
			/* written meanwhile: no TOWRITE may outlive the sync */
			mapping_tag(mapping, page, PAGECACHE_TAG_TOWRITE, false);
			goto next;
		}
		simfs_writepage(mapping, page);
		written++;
		vmm_pc_put_page(m, page);
		goto advance;
next:
		vmm_unlock_page(page);
		vmm_pc_put_page(m, page);
advance:
		if (index == UINT64_MAX)
			break;
		index++;
	}
	mapping->writeback_index = index;
	return written;
}

/* Wait for every page under writeback in [start, end] (__filemap_fdatawait_range). */
static int fdatawait_range(struct vmm_address_space *mapping, uint64_t start, uint64_t end)
{
	struct vmm_machine *m = mapping->host->m;
	uint64_t index = start;
	struct vmm_page *page;
	int err = 0;

	while (index <= end &&
	       (page = vmm_xa_find(&mapping->i_pages, &index, end, PAGECACHE_TAG_WRITEBACK))) {
		vmm_wait_on_page_writeback(m, page);
		if (PageError(page)) {
			clear_page_flag(page, VMM_PG_error);
			err = -VMM_EIO;
		}
		if (index == UINT64_MAX)
			break;
		index++;
	}
	return err;
}

int vmm_filemap_write_and_wait_range(struct vmm_address_space *mapping, uint64_t start,
				     uint64_t end)
{
	vmm_write_cache_pages(mapping, start, end, WB_SYNC_ALL, UINT64_MAX);
	return fdatawait_range(mapping, start, end);
}

/* Take the inode off its device's dirty list once it has no dirty page left. */
static void inode_maybe_clean(struct vmm_inode *inode)
{
	if (!vmm_xa_marked(&inode->i_data.i_pages, PAGECACHE_TAG_DIRTY))
		vmm_list_del(&inode->i_io_list);
}

/*
 * fsync: write and wait for the whole file, make its size and block map
 * durable, and report what this handle has not seen of the file's errors.
 */
int vmm_vfs_fsync_range(struct vmm_file *f, uint64_t start, uint64_t end)
{
	struct vmm_inode *inode = f->inode;
	struct vmm_address_space *mapping = &inode->i_data;

	if (!inode->bdev)
		return 0;	/* shmem: noop_fsync */
	vmm_filemap_write_and_wait_range(mapping, start, end);
	inode_maybe_clean(inode);
	vmm_simfs_commit(inode);
	return vmm_errseq_check_and_advance(&mapping->wb_err, &f->f_wb_err);
}

int vmm_vfs_fsync(struct vmm_file *f)
{
	return vmm_vfs_fsync_range(f, 0, UINT64_MAX);
}

/* ---- the flusher ---- */

/* The dirty limits from the vm.dirty_* sysctls (domain_dirty_limits). */
static void dirty_limits(struct vmm_machine *m, uint64_t *bg, uint64_t *thresh)
{
	vmm_global_dirty_limits(m, bg, thresh);
}

static uint64_t nr_dirty_and_writeback(struct vmm_machine *m)
{
	return vmm_global_node_page_state(m, NR_FILE_DIRTY) +
	       vmm_global_node_page_state(m, NR_WRITEBACK);
}

/*
 * wb_writeback(): write up to @nr pages, oldest dirtied inodes first; with
 * @expire_only only inodes dirtied at least @expire jiffies ago. Returns the pages.
 */
static uint64_t flusher_write(struct vmm_machine *m, uint64_t nr, bool expire_only,
			      uint64_t expire)
{
	struct vmm_pagecache *pc = m->pagecache;
	uint64_t written = 0;

	for (struct vmm_list *bl = pc->bdevs.next; bl != &pc->bdevs && written < nr; bl = bl->next) {
		struct vmm_bdev *b = vmm_list_entry(bl, struct vmm_bdev, link);
		struct vmm_list *pos, *tmp;

		vmm_list_for_each_safe(pos, tmp, &b->b_dirty) {
			struct vmm_inode *inode = vmm_list_entry(pos, struct vmm_inode, i_io_list);
			struct vmm_address_space *mapping = &inode->i_data;

			if (written >= nr ||
			    (expire_only && inode->dirtied_when + expire > vmm_jiffies(m)))
				break;
			/* cyclic: from where the last pass stopped, then from the start */
			written += vmm_write_cache_pages(mapping, mapping->writeback_index,
							 UINT64_MAX, WB_SYNC_NONE, nr - written);
			if (written < nr)
				written += vmm_write_cache_pages(mapping, 0, UINT64_MAX,
								 WB_SYNC_NONE, nr - written);
			inode_maybe_clean(inode);
		}
	}
	return written;
}

/* MAX_WRITEBACK_PAGES: one flusher pass writes at most 4 MiB per inode round. */
#define MAX_WRITEBACK_PAGES 1024

/* wb_workfn(): old data first, then background writeback while above the threshold. */
static void flusher_run(struct vmm_machine *m)
{
	struct vmm_pagecache *pc = m->pagecache;
	uint64_t expire_jiffies = (uint64_t)m->sysctl.dirty_expire_centisecs * m->cfg.hz / 100;
	uint64_t bg, thresh, written;

	written = flusher_write(m, UINT64_MAX, true, expire_jiffies);
	dirty_limits(m, &bg, &thresh);
	while (vmm_global_node_page_state(m, NR_FILE_DIRTY) > bg) {
		uint64_t w = flusher_write(m, MAX_WRITEBACK_PAGES, false, 0);

		if (!w)
			break;
		written += w;
	}
	if (written)
		pc->background_runs++;
	for (struct vmm_list *bl = pc->bdevs.next; bl != &pc->bdevs; bl = bl->next) {
		struct vmm_bdev *b = vmm_list_entry(bl, struct vmm_bdev, link);

		vmm_bdev_complete(b, vmm_bdev_now(b));
		if (!vmm_list_empty(&b->b_dirty) && m->sysctl.dirty_writeback_centisecs &&
		    !vmm_timer_pending(&pc->wb_timer))
			vmm_timer_mod(m, &pc->wb_timer,
				      (uint64_t)m->sysctl.dirty_writeback_centisecs * m->cfg.hz / 100);
	}
}

/* The flusher's timer: run now, or when the page-cache call it interrupted returns. */
void vmm_writeback_timer_fn(struct vmm_machine *m, struct vmm_timer *t)
{
	(void)t;
	if (m->pagecache->depth) {
		m->pagecache->wb_pending = true;
		return;
	}
	m->pagecache->depth++;
	flusher_run(m);
	m->pagecache->depth--;
}

void vmm_pagecache_enter(struct vmm_machine *m)
{
	m->pagecache->depth++;
}

/*
 * The end of a page-cache call: complete the requests machine time has
 * passed, then run the flusher if its timer fired meanwhile, and the timers
 * now due.
 */
void vmm_pagecache_exit(struct vmm_machine *m)
{
	struct vmm_pagecache *pc = m->pagecache;

	if (--pc->depth)
		return;
	for (struct vmm_list *bl = pc->bdevs.next; bl != &pc->bdevs; bl = bl->next) {
		struct vmm_bdev *b = vmm_list_entry(bl, struct vmm_bdev, link);

		if (b->q_len)
			vmm_bdev_complete(b, vmm_bdev_now(b));
	}
	if (pc->wb_pending) {
		pc->wb_pending = false;
		pc->depth++;
		flusher_run(m);
		pc->depth--;
	}
	if (vmm_cpu_clock_due(m->clock.by_cpu[m->current_cpu]))
		vmm_timers_run(m);
}

/*
 * balance_dirty_pages(): above the midpoint of the background and dirty
 * thresholds the flusher is kicked; above the dirty threshold the writer
 * pauses until the flusher's writes bring it back under (each round
 * writes what exceeds the background threshold, at most 4 MiB, and waits
 * for those writes; the wait is the pause, charged in VMM_CYC_IO).
 */
static void balance_dirty_pages(struct vmm_address_space *mapping)
{
	struct vmm_machine *m = mapping->host->m;
	struct vmm_pagecache *pc = m->pagecache;
	uint64_t bg, thresh;

	for (unsigned round = 0; round < 64; round++) {
		uint64_t dirty = nr_dirty_and_writeback(m), freerun, before, w;

		dirty_limits(m, &bg, &thresh);
		freerun = (bg + thresh) / 2;
		if (dirty <= freerun)
			return;
		if (dirty <= thresh) {
			/* kick background writeback, without waiting */
			flusher_write(m, VMM_MIN(dirty - bg, (uint64_t)MAX_WRITEBACK_PAGES), false,
				      0);
			return;
		}
		before = m->clock.cpu[m->current_cpu].by_cat[VMM_CYC_IO];
		w = flusher_write(m, VMM_MIN(dirty - bg, (uint64_t)MAX_WRITEBACK_PAGES), false, 0);
		/* the pause: until the device has done what it was given */
		for (struct vmm_list *bl = pc->bdevs.next; bl != &pc->bdevs; bl = bl->next) {
			struct vmm_bdev *b = vmm_list_entry(bl, struct vmm_bdev, link);
			uint64_t now = vmm_bdev_now(b);

			if (b->busy_until > now)
				vmm_charge(m, VMM_CYC_IO, b->busy_until - now);
			vmm_bdev_complete(b, b->busy_until);
		}
		pc->balance_pauses++;
		pc->balance_pause_cycles += m->clock.cpu[m->current_cpu].by_cat[VMM_CYC_IO] - before;
		if (!w && nr_dirty_and_writeback(m) == dirty)
			return;	/* nothing the flusher can write: do not spin */
	}
}

/* balance_dirty_pages_ratelimited(): look only every 32 pages dirtied (ratelimit_pages). */
void vmm_balance_dirty_pages_ratelimited(struct vmm_address_space *mapping)
{
	struct vmm_pagecache *pc = mapping->host->m->pagecache;

	if (pc->nr_dirtied_since_balance < 32)
		return;
	pc->nr_dirtied_since_balance = 0;
	balance_dirty_pages(mapping);
}
