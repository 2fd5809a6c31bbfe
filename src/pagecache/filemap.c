/* SPDX-License-Identifier: MIT */
/*
 * filemap: the page cache proper (seed 000 section 1.2.2, seed 002).
 *
 * A file's pages sit in its address_space's XArray at their page index;
 * an evicted page leaves a shadow (value) entry for the workingset code.
 * The cache holds one reference on each page; a lookup takes another,
 * which the caller drops. Pages are not on LRU lists yet (reclaim is a
 * later issue): PG_active and PG_referenced are kept as Linux keeps them
 * and the Active(file)/Inactive(file) counters follow them.
 */
#include "pagecache/filemap.h"

#include <string.h>

#include <vmm/errors.h>

#include "machine.h"
#include "mm/debug.h"
#include "mm/page_alloc.h"
#include "mm/sparse.h"
#include "mm/zone.h"

void *vmm_page_host(struct vmm_machine *m, const struct vmm_page *page)
{
	return vmm_physmem_host(&m->phys, page_to_pfn(&m->sparse, page) << VMM_PAGE_SHIFT);
}

struct vmm_address_space *vmm_page_mapping(struct vmm_machine *m, const struct vmm_page *page)
{
	if (!page->mapping)
		return NULL;
	return vmm_xa_load(&m->pagecache->mappings, page->mapping >> 3);
}

void vmm_mapping_init(struct vmm_machine *m, struct vmm_address_space *mapping,
		      struct vmm_inode *host)
{
	memset(mapping, 0, sizeof(*mapping));
	vmm_xa_init(&mapping->i_pages, m);
	mapping->i_pages.xa_update = vmm_workingset_update_node;
	mapping->i_pages.xa_pagecache = true;
	mapping->host = host;
	vmm_list_init(&mapping->i_mmap);
	mapping->gfp_mask = VMM_GFP_HIGHUSER_MOVABLE;
	mapping->self = host->obj + INODE_I_DATA_OFFSET;
}

/* ---- counters ---- */

static void mod_node_state(struct vmm_machine *m, const struct vmm_page *page, int item,
			   int64_t delta)
{
	NODE_DATA(m, vmm_page_to_nid(m, page))->vm_stat[item] += delta;
}

static void mod_zone_state(struct vmm_machine *m, const struct vmm_page *page, int item,
			   int64_t delta)
{
	vmm_pfn_zone(m, page_to_pfn(&m->sparse, page))->vm_stat[item] += delta;
}

/*
 * The page's share of Active(file) or Inactive(file), by PG_active; a
 * shmem page (PG_swapbacked) counts on the anonymous lists, as in Linux.
 */
static void lru_account(struct vmm_machine *m, const struct vmm_page *page, int64_t delta)
{
	bool active = PageActive(page);

	if (page_flag(page, VMM_PG_swapbacked)) {
		mod_node_state(m, page, active ? NR_ACTIVE_ANON : NR_INACTIVE_ANON, delta);
		mod_zone_state(m, page, active ? NR_ZONE_ACTIVE_ANON : NR_ZONE_INACTIVE_ANON, delta);
		return;
	}
	mod_node_state(m, page, active ? NR_ACTIVE_FILE : NR_INACTIVE_FILE, delta);
	mod_zone_state(m, page, active ? NR_ZONE_ACTIVE_FILE : NR_ZONE_INACTIVE_FILE, delta);
}

/* ---- page lock and waits ---- */

bool vmm_trylock_page(struct vmm_page *page)
{
	if (PageLocked(page))
		return false;
	set_page_flag(page, VMM_PG_locked);
	return true;
}

void vmm_unlock_page(struct vmm_page *page)
{
	clear_page_flag(page, VMM_PG_locked);
}

static struct vmm_bdev *page_bdev(struct vmm_machine *m, const struct vmm_page *page)
{
	struct vmm_address_space *mapping = vmm_page_mapping(m, page);

	return mapping ? mapping->host->bdev : NULL;
}

/* A lock held across calls is one an in-flight read holds: wait for the read. */
void vmm_wait_on_page_locked(struct vmm_machine *m, struct vmm_page *page)
{
	struct vmm_bdev *b;

	if (PageLocked(page) && (b = page_bdev(m, page)))
		vmm_bdev_wait_page(b, page);
}

void vmm_wait_on_page_writeback(struct vmm_machine *m, struct vmm_page *page)
{
	struct vmm_bdev *b;

	if (PageWriteback(page) && (b = page_bdev(m, page)))
		vmm_bdev_wait_page(b, page);
}

void vmm_lock_page(struct vmm_machine *m, struct vmm_page *page)
{
	vmm_wait_on_page_locked(m, page);
	if (!vmm_trylock_page(page))
		vmm_bug(m, "lock_page: the page stays locked with no I/O in flight", __FILE__,
			__LINE__, page);
}

/*
 * mark_page_accessed() (Linux 5.x): a first access sets PG_referenced, a
 * second one on an inactive page activates it, and an activation ages the
 * node's workingset clock.
 */
void vmm_mark_page_accessed(struct vmm_machine *m, struct vmm_page *page)
{
	if (!PageReferenced(page)) {
		set_page_flag(page, VMM_PG_referenced);
		return;
	}
	if (PageActive(page))
		return;
	lru_account(m, page, -1);
	set_page_flag(page, VMM_PG_active);
	lru_account(m, page, 1);
	m->vm_events[VE_PGACTIVATE]++;
	clear_page_flag(page, VMM_PG_referenced);
	vmm_workingset_activation(m, page);
}

/* ---- insertion and removal ---- */

/*
 * add_to_page_cache_lru(): the page, locked, enters the cache at @index
 * with the cache's reference. A shadow entry in the slot means the page was
 * here before and got evicted: the workingset code decides from its
 * refault distance whether the page starts on the active list.
 */
int vmm_add_to_page_cache_lru(struct vmm_page *page, struct vmm_address_space *mapping,
			      uint64_t index, vmm_gfp_t gfp)
{
	struct vmm_machine *m = mapping->i_pages.xa_m;
	XA_STATE(xas, &mapping->i_pages, index);
	void *old;

	(void)gfp;
	old = vmm_xas_load(&xas);
	if (old && !xa_is_value(old))
		return -VMM_EEXIST;
	set_page_flag(page, VMM_PG_locked);
	page->mapping = mapping->self;
	page->index = index;
	get_page(page);
	vmm_xas_store(&xas, page);
	if (xas_error(&xas)) {
		page->mapping = 0;
		page->refcount--;
		clear_page_flag(page, VMM_PG_locked);
		return xas_error(&xas);
	}
	mapping->nrpages++;
	mod_node_state(m, page, NR_FILE_PAGES, 1);
	if (page_flag(page, VMM_PG_swapbacked))
		mod_node_state(m, page, NR_SHMEM, 1);
	vmm_charge(m, VMM_CYC_OTHER, m->clock.cost.pgcache_insert);
	if (old) {
		mapping->nr_shadows--;
		vmm_workingset_refault(m, page, old);
	}
	lru_account(m, page, 1);
	return 0;
}

/*
 * __delete_from_page_cache(): the slot gets @shadow (or is erased), the page
 * loses its mapping and its LRU state; the cache's reference is the
 * caller's to drop.
 */
void vmm_page_cache_delete(struct vmm_address_space *mapping, struct vmm_page *page,
			   void *shadow)
{
	struct vmm_machine *m = mapping->i_pages.xa_m;
	XA_STATE(xas, &mapping->i_pages, page->index);

	vmm_xas_load(&xas);
	vmm_xas_init_marks(&xas);
	vmm_xas_store(&xas, shadow);
	if (shadow)
		mapping->nr_shadows++;
	mapping->nrpages--;
	mod_node_state(m, page, NR_FILE_PAGES, -1);
	if (page_flag(page, VMM_PG_swapbacked))
		mod_node_state(m, page, NR_SHMEM, -1);
	if (PageDirty(page)) {
		/* dropped unwritten: truncation or a crash (shmem dirtiness is not accounted) */
		if (mapping->host->bdev)
			vmm_account_page_cleaned(m, page, mapping);
		clear_page_flag(page, VMM_PG_dirty);
	}
	if (mapping->host && mapping->host->bdev)
		vmm_simfs_unreserve_page(mapping->host, page);
	lru_account(m, page, -1);
	page->mapping = 0;
	page->flags &= ~((1ull << VMM_PG_active) | (1ull << VMM_PG_referenced) |
			 (1ull << VMM_PG_swapbacked) |
			 (1ull << VMM_PG_workingset) | (1ull << VMM_PG_readahead) |
			 (1ull << VMM_PG_uptodate) | (1ull << VMM_PG_error));
}

/* delete_from_page_cache(): for a locked page; drops the cache's reference. */
void vmm_delete_from_page_cache(struct vmm_machine *m, struct vmm_page *page)
{
	struct vmm_address_space *mapping = vmm_page_mapping(m, page);

	vmm_page_cache_delete(mapping, page, NULL);
	vmm_unlock_page(page);
	vmm_pc_put_page(m, page);
}

/* ---- lookup ---- */

static struct vmm_page *pagecache_get_page_slow(struct vmm_address_space *mapping, uint64_t index,
					       unsigned fgp_flags, vmm_gfp_t gfp);

/*
 * pagecache_get_page() (seed 000 section 1.2.2). Find the page at @index
 * (a shadow entry counts as none) and take a reference; then, by flag:
 * FGP_LOCK locks it (FGP_NOWAIT: only if free, else no page), FGP_ACCESSED
 * marks it accessed. With FGP_CREAT a missing page is allocated (FGP_WRITE
 * adds __GFP_WRITE so dirty pages spread by the dirty limits, FGP_NOFS
 * drops __GFP_FS), added locked (FGP_FOR_MMAP unlocks it again for the
 * fault path to lock), and referenced when FGP_ACCESSED.
 */
struct vmm_page *vmm_pagecache_get_page(struct vmm_address_space *mapping, uint64_t index,
					unsigned fgp_flags, vmm_gfp_t gfp)
{
	struct vmm_machine *m = mapping->i_pages.xa_m;
	struct vmm_page *page;

repeat:
	page = vmm_xa_load_inline(&mapping->i_pages, index);
	if (xa_is_value(page))
		page = NULL;
	if (likely(page)) {
		get_page(page);
		vmm_charge(m, VMM_CYC_OTHER, m->clock.cost.pgcache_lookup);
		if (fgp_flags & FGP_LOCK) {
			if (fgp_flags & FGP_NOWAIT) {
				if (!vmm_trylock_page(page)) {
					vmm_pc_put_page(m, page);
					return NULL;
				}
			} else {
				vmm_lock_page(m, page);
			}
			/* truncated while we waited */
			if (page->mapping != mapping->self) {
				vmm_unlock_page(page);
				vmm_pc_put_page(m, page);
				goto repeat;
			}
		}
		if (fgp_flags & FGP_ACCESSED)
			vmm_mark_page_accessed(m, page);
		return page;
	}
	return pagecache_get_page_slow(mapping, index, fgp_flags, gfp);
}

/* The miss: without FGP_CREAT nothing, else a new page added (the hit path's retry on a race). */
static struct vmm_page *pagecache_get_page_slow(struct vmm_address_space *mapping, uint64_t index,
					       unsigned fgp_flags, vmm_gfp_t gfp)
{
	struct vmm_machine *m = mapping->i_pages.xa_m;
	struct vmm_page *page;

	if (!(fgp_flags & FGP_CREAT))
		return NULL;
	if (fgp_flags & FGP_WRITE)
		gfp |= VMM_GFP_WRITE;
	if (fgp_flags & FGP_NOFS)
		gfp &= ~VMM_GFP_FS;
	page = vmm_page_cache_alloc(m, gfp, 0);
	if (!page)
		return NULL;
	if (fgp_flags & FGP_ACCESSED)
		set_page_flag(page, VMM_PG_referenced);
	{
		int err = vmm_add_to_page_cache_lru(page, mapping, index, gfp);

		if (err) {
			page->flags = 0;
			vmm_pc_put_page(m, page);
			if (err == -VMM_EEXIST)
				return vmm_pagecache_get_page(mapping, index, fgp_flags, gfp);
			return NULL;
		}
	}
	/*
	 * The new page has the cache's reference and the caller's, and is
	 * locked (Linux forces FGP_LOCK on a creation): FGP_FOR_MMAP unlocks it.
	 */
	if (fgp_flags & FGP_FOR_MMAP)
		vmm_unlock_page(page);
	return page;
}

/* ---- reading ---- */

/* The filesystem's readpage: start the read of a locked page from its block. */
static void simfs_readpage(struct vmm_address_space *mapping, struct vmm_page *page)
{
	struct vmm_inode *inode = mapping->host;
	uint64_t block = vmm_simfs_block(inode, page->index);

	clear_page_flag(page, VMM_PG_error);
	vmm_bdev_submit_reads(inode->bdev, &page, &block, 1);
}

static int readpage_filler(void *data, struct vmm_page *page)
{
	simfs_readpage(data, page);
	return 0;
}

/*
 * do_read_cache_page(): the page at @index, uptodate. A missing page is
 * added and @filler starts its read; a present one that is not uptodate
 * (its read failed, or it is in flight) is waited for, and read again
 * under its lock when still not uptodate.
 */
struct vmm_page *vmm_read_cache_page(struct vmm_address_space *mapping, uint64_t index,
				     vmm_filler_t filler, void *data, int *err)
{
	struct vmm_machine *m = mapping->i_pages.xa_m;
	struct vmm_page *page;
	int e;

	if (!filler) {
		filler = readpage_filler;
		data = mapping;
	}
repeat:
	page = vmm_find_get_page(mapping, index);
	if (!page) {
		page = vmm_page_cache_alloc(m, mapping->gfp_mask, 0);
		if (!page) {
			*err = -VMM_ENOMEM;
			return NULL;
		}
		e = vmm_add_to_page_cache_lru(page, mapping, index, mapping->gfp_mask);
		if (e) {
			vmm_pc_put_page(m, page);
			if (e == -VMM_EEXIST)
				goto repeat;
			*err = e;
			return NULL;
		}
		goto filler;
	}
	if (PageUptodate(page))
		goto out;
	vmm_wait_on_page_locked(m, page);
	if (PageUptodate(page))
		goto out;
	vmm_lock_page(m, page);
	if (!page->mapping) {
		vmm_unlock_page(page);
		vmm_pc_put_page(m, page);
		goto repeat;
	}
	if (PageUptodate(page)) {
		vmm_unlock_page(page);
		goto out;
	}
filler:
	e = filler(data, page);
	if (e) {
		vmm_pc_put_page(m, page);
		*err = e;
		return NULL;
	}
	vmm_wait_on_page_locked(m, page);
	if (!PageUptodate(page)) {
		vmm_pc_put_page(m, page);
		*err = -VMM_EIO;
		return NULL;
	}
out:
	vmm_mark_page_accessed(m, page);
	*err = 0;
	return page;
}

/* Copy between a page and a host buffer, charged as the copy it is. */
static void copy_page_bytes(struct vmm_machine *m, struct vmm_page *page, uint32_t off,
			    void *buf, uint32_t n, bool to_page)
{
	uint8_t *host = (uint8_t *)vmm_page_host(m, page) + off;

	if (to_page)
		memcpy(host, buf, n);
	else
		memcpy(buf, host, n);
	vmm_charge(m, VMM_CYC_ZERO_COPY, (uint64_t)m->clock.cost.copy_page * n / VMM_PAGE_SIZE);
}

/*
 * An uptodate page at @index for a buffered read, readahead done (the
 * generic_file_buffered_read steps): a miss starts synchronous readahead,
 * a PG_readahead page the asynchronous one; a page in flight is waited
 * for; one whose read failed is read again. NULL with *err on failure.
 */
static struct vmm_page *read_get_page(struct vmm_file *f, uint64_t index, uint64_t last_index,
				      int *err)
{
	struct vmm_address_space *mapping = &f->inode->i_data;
	struct vmm_machine *m = f->m;
	struct vmm_page *page;

find_page:
	page = vmm_find_get_page(mapping, index);
	if (!page) {
		vmm_page_cache_sync_readahead(mapping, &f->f_ra, f, index, last_index - index);
		page = vmm_find_get_page(mapping, index);
		if (!page) {
			/* no_cached_page: readahead could not add it (memory, or disabled) */
			page = vmm_read_cache_page(mapping, index, NULL, NULL, err);
			return page;
		}
	}
	if (PageReadahead(page))
		vmm_page_cache_async_readahead(mapping, &f->f_ra, f, page, index,
					       last_index - index);
	if (!PageUptodate(page)) {
		vmm_wait_on_page_locked(m, page);
		if (!PageUptodate(page)) {
			vmm_pc_put_page(m, page);
			page = vmm_read_cache_page(mapping, index, NULL, NULL, err);
			if (!page && *err == -VMM_EEXIST)
				goto find_page;
			return page;
		}
	}
	*err = 0;
	return page;
}

/* generic_file_buffered_read(): copy out of the cache, filling it as the reads go. */
int64_t vmm_filemap_read(struct vmm_file *f, void *buf, size_t len, uint64_t pos)
{
	struct vmm_inode *inode = f->inode;
	struct vmm_ra_state *ra = &f->f_ra;
	struct vmm_machine *m = f->m;
	uint64_t index = pos >> VMM_PAGE_SHIFT, last_index, prev_index;
	uint32_t offset = pos & (VMM_PAGE_SIZE - 1), prev_offset;
	uint8_t *out = buf;
	int64_t copied = 0;

	if (pos >= inode->i_size || !len)
		return 0;
	last_index = (pos + len + VMM_PAGE_SIZE - 1) >> VMM_PAGE_SHIFT;
	prev_index = ra->prev_pos == UINT64_MAX ? UINT64_MAX : ra->prev_pos >> VMM_PAGE_SHIFT;
	prev_offset = ra->prev_pos == UINT64_MAX ? 0 : ra->prev_pos & (VMM_PAGE_SIZE - 1);
	while (len) {
		struct vmm_page *page;
		uint64_t isize = inode->i_size;
		uint32_t nr;
		int err;

		if (((uint64_t)index << VMM_PAGE_SHIFT) + offset >= isize)
			break;
		page = read_get_page(f, index, last_index, &err);
		if (!page) {
			if (!copied)
				copied = err;
			break;
		}
		isize = inode->i_size;
		nr = (uint32_t)VMM_MIN((uint64_t)VMM_PAGE_SIZE - offset, len);
		nr = (uint32_t)VMM_MIN((uint64_t)nr, isize - (index << VMM_PAGE_SHIFT) - offset);
		/* a re-read of the same spot is not a new access (it would activate the page) */
		if (prev_index != index || offset != prev_offset)
			vmm_mark_page_accessed(m, page);
		prev_index = index;
		copy_page_bytes(m, page, offset, out, nr, false);
		vmm_pc_put_page(m, page);
		out += nr;
		copied += nr;
		len -= nr;
		offset += nr;
		index += offset >> VMM_PAGE_SHIFT;
		offset &= VMM_PAGE_SIZE - 1;
		prev_offset = offset;
	}
	ra->prev_pos = (prev_index << VMM_PAGE_SHIFT) | prev_offset;
	return copied;
}

/* ---- writing ---- */

/*
 * write_begin for a page a write covers only in part: make it uptodate
 * from its block (zeroes for a hole), synchronously, under the page lock.
 */
static void prepare_partial_page(struct vmm_file *f, struct vmm_page *page)
{
	struct vmm_inode *inode = f->inode;
	uint64_t block = vmm_simfs_block(inode, page->index);

	if (block)
		vmm_bdev_rw(inode->bdev, block, 0, vmm_page_host(f->m, page), VMM_PAGE_SIZE, false,
			    true);
	else
		memset(vmm_page_host(f->m, page), 0, VMM_PAGE_SIZE);
	set_page_flag(page, VMM_PG_uptodate);
}

/*
 * generic_perform_write(): page by page, grab the page locked
 * (grab_cache_page_write_begin), bring a partly covered one up to date,
 * copy, dirty it, extend i_size, and let balance_dirty_pages throttle.
 */
int64_t vmm_filemap_write(struct vmm_file *f, const void *buf, size_t len, uint64_t pos)
{
	struct vmm_inode *inode = f->inode;
	struct vmm_address_space *mapping = &inode->i_data;
	struct vmm_machine *m = f->m;
	const uint8_t *in = buf;
	int64_t written = 0;

	while (len) {
		uint64_t index = pos >> VMM_PAGE_SHIFT;
		uint32_t offset = pos & (VMM_PAGE_SIZE - 1);
		uint32_t bytes = (uint32_t)VMM_MIN((uint64_t)VMM_PAGE_SIZE - offset, len);
		struct vmm_page *page;

		page = vmm_pagecache_get_page(mapping, index, FGP_LOCK | FGP_WRITE | FGP_CREAT,
					      mapping->gfp_mask);
		if (!page)
			return written ? written : -VMM_ENOMEM;
		if (vmm_simfs_reserve_page(inode, page)) {
			/* write_begin failed: a page made for this write leaves again */
			if (!PageUptodate(page)) {
				vmm_page_cache_delete(mapping, page, NULL);
				vmm_pc_put_page(m, page);
			}
			vmm_unlock_page(page);
			vmm_pc_put_page(m, page);
			return written ? written : -VMM_ENOSPC;
		}
		if (!PageUptodate(page) && bytes != VMM_PAGE_SIZE)
			prepare_partial_page(f, page);
		copy_page_bytes(m, page, offset, (void *)(uintptr_t)in, bytes, true);
		set_page_flag(page, VMM_PG_uptodate);
		vmm_set_page_dirty(mapping, page);
		vmm_unlock_page(page);
		vmm_pc_put_page(m, page);
		in += bytes;
		pos += bytes;
		len -= bytes;
		written += bytes;
		if (pos > inode->i_size) {
			inode->i_size = pos;
			inode->meta_dirty = true;
		}
		vmm_balance_dirty_pages_ratelimited(mapping);
	}
	return written;
}

/* ---- removal of ranges ---- */

/*
 * truncate_inode_pages_range(): every page of [start, end] leaves the
 * cache, written or not (the caller made the dirty ones durable if it had
 * to); pages in flight are waited for first. Shadow entries go too.
 */
void vmm_truncate_inode_pages_range(struct vmm_address_space *mapping, uint64_t start,
				    uint64_t end)
{
	struct vmm_machine *m = mapping->i_pages.xa_m;
	uint64_t index = start;
	void *entry;

	while (index <= end && (entry = vmm_xa_find(&mapping->i_pages, &index, end, XA_PRESENT))) {
		if (xa_is_value(entry)) {
			vmm_xa_erase(&mapping->i_pages, index);
			mapping->nr_shadows--;
		} else {
			struct vmm_page *page = entry;

			get_page(page);
			vmm_lock_page(m, page);
			vmm_wait_on_page_writeback(m, page);
			vmm_page_cache_delete(mapping, page, NULL);
			vmm_unlock_page(page);
			vmm_pc_put_page(m, page);	/* the cache's */
			vmm_pc_put_page(m, page);	/* ours */
		}
		if (index == UINT64_MAX)
			break;
		index++;
	}
}

/*
 * invalidate_mapping_pages(): drop the clean, idle pages of [start, end]
 * (fadvise DONTNEED, O_DIRECT writes after writing back). Returns how many went.
 */
uint64_t vmm_invalidate_mapping_pages(struct vmm_address_space *mapping, uint64_t start,
				      uint64_t end)
{
	struct vmm_machine *m = mapping->i_pages.xa_m;
	uint64_t index = start, count = 0;
	void *entry;

	while (index <= end &&
	       (entry = vmm_xa_find(&mapping->i_pages, &index, end, XA_PRESENT))) {
		struct vmm_page *page = entry;

		if (!xa_is_value(entry) && !PageDirty(page) && !PageWriteback(page) &&
		    !PageLocked(page) && page->refcount == 1 && !page->mapcount) {
			set_page_flag(page, VMM_PG_locked);
			vmm_page_cache_delete(mapping, page, NULL);
			vmm_unlock_page(page);
			vmm_pc_put_page(m, page);
			count++;
		}
		if (index == UINT64_MAX)
			break;
		index++;
	}
	return count;
}

/* ---- the fault path's entry points ---- */

/* do_sync_mmap_readahead() */
static void sync_mmap_readahead(struct vmm_file *f, uint64_t pgoff, unsigned vm_flags)
{
	struct vmm_ra_state *ra = &f->f_ra;
	struct vmm_address_space *mapping = &f->inode->i_data;

	if ((vm_flags & VM_RAND_READ) || !ra->ra_pages)
		return;
	if (vm_flags & VM_SEQ_READ) {
		vmm_page_cache_sync_readahead(mapping, ra, f, pgoff, ra->ra_pages);
		return;
	}
	if (ra->mmap_miss < MMAP_LOTSAMISS * 10)
		ra->mmap_miss++;
	if (ra->mmap_miss > MMAP_LOTSAMISS)
		return;
	/* around the fault: half before, the last quarter asynchronous */
	ra->start = pgoff > ra->ra_pages / 2 ? pgoff - ra->ra_pages / 2 : 0;
	ra->size = ra->ra_pages;
	ra->async_size = ra->ra_pages / 4;
	vmm_ra_submit(mapping, ra);
}

/* do_async_mmap_readahead() */
static void async_mmap_readahead(struct vmm_file *f, struct vmm_page *page, uint64_t pgoff,
				 unsigned vm_flags)
{
	struct vmm_ra_state *ra = &f->f_ra;

	if ((vm_flags & VM_RAND_READ) || !ra->ra_pages)
		return;
	if (ra->mmap_miss > 0)
		ra->mmap_miss--;
	if (PageReadahead(page))
		vmm_page_cache_async_readahead(&f->inode->i_data, ra, f, page, pgoff, ra->ra_pages);
}

/*
 * filemap_fault(): the page at @pgoff, locked and uptodate, with a
 * reference for the caller (VM_FAULT_LOCKED); VM_FAULT_MAJOR when it had to
 * be read; VM_FAULT_SIGBUS past the end of the file or on a read error;
 * VM_FAULT_OOM without memory.
 */
unsigned vmm_filemap_fault(struct vmm_file *f, uint64_t pgoff, unsigned vm_flags,
			   struct vmm_page **pagep)
{
	struct vmm_address_space *mapping = &f->inode->i_data;
	struct vmm_machine *m = f->m;
	struct vmm_page *page;
	unsigned ret = 0;

	*pagep = NULL;
	vmm_pagecache_enter(m);
	if (pgoff >= DIV_ROUND_UP(f->inode->i_size, VMM_PAGE_SIZE)) {
		ret = VM_FAULT_SIGBUS;
		goto out;
	}
	page = vmm_find_get_page(mapping, pgoff);
	if (page) {
		async_mmap_readahead(f, page, pgoff, vm_flags);
	} else {
		m->vm_events[VE_PGMAJFAULT]++;
		ret = VM_FAULT_MAJOR;
		sync_mmap_readahead(f, pgoff, vm_flags);
		page = vmm_pagecache_get_page(mapping, pgoff, FGP_CREAT | FGP_FOR_MMAP,
					      mapping->gfp_mask);
		if (!page) {
			ret = VM_FAULT_OOM;
			goto out;
		}
	}
	vmm_lock_page(m, page);
	if (!PageUptodate(page)) {
		/* page_not_uptodate: a fresh page, or one whose read failed */
		simfs_readpage(mapping, page);
		vmm_wait_on_page_locked(m, page);
		if (!PageUptodate(page)) {
			vmm_pc_put_page(m, page);
			ret = VM_FAULT_SIGBUS;
			goto out;
		}
		vmm_lock_page(m, page);
	}
	if (pgoff >= DIV_ROUND_UP(f->inode->i_size, VMM_PAGE_SIZE)) {
		vmm_unlock_page(page);
		vmm_pc_put_page(m, page);
		ret = VM_FAULT_SIGBUS;
		goto out;
	}
	*pagep = page;
	ret |= VM_FAULT_LOCKED;
out:
	vmm_pagecache_exit(m);
	return ret;
}
