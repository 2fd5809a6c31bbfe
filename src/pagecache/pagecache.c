/* SPDX-License-Identifier: MIT */
/* The page cache's machine-wide state: boot, teardown, node memory, the check. */
#include "pagecache/pagecache.h"

#include <string.h>
#include <unistd.h>

#include <vmm/errors.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "machine.h"
#include "mm/debug.h"
#include "mm/vmstat.h"
#include "pagecache/file_mmap.h"
#include "pagecache/filemap.h"
#include "pagecache/xarray.h"

/*
 * Boot takes no simulated memory here: the slab caches are made when first
 * needed, so a machine that never uses the page cache has exactly the
 * caches and pages it had before the page cache existed.
 */
int vmm_pagecache_init(struct vmm_machine *m)
{
	struct vmm_pagecache *pc = vmm_hzalloc(&m->hm, sizeof(*pc));

	if (!pc)
		return -VMM_ENOMEM;
	m->pagecache = pc;
	vmm_list_init(&pc->bdevs);
	vmm_list_init(&pc->files);
	vmm_list_init(&pc->shmem_inodes);
	vmm_list_init(&pc->shadow_nodes);
	vmm_xa_init(&pc->mappings, m);
	pc->mappings.xa_pagecache = true;
	vmm_timer_init(&pc->wb_timer, vmm_writeback_timer_fn, 0);
	vmm_file_mmap_init(m);
	return 0;
}

/*
 * radix_tree_node_init(): Linux makes the cache reclaimable (its nodes go
 * when the shadow-node shrinker or the inode cache frees them).
 */
static vmm_kmem_cache *radix_tree_node_cache(struct vmm_machine *m)
{
	struct vmm_pagecache *pc = m->pagecache;

	if (!pc->radix_tree_node &&
	    vmm_kmem_cache_create(m, "radix_tree_node", XA_NODE_OBJ_SIZE, 0,
				  VMM_SLAB_RECLAIM_ACCOUNT, NULL, &pc->radix_tree_node))
		return NULL;
	return pc->radix_tree_node;
}

void vmm_pagecache_destroy(struct vmm_machine *m)
{
	struct vmm_pagecache *pc = m->pagecache;

	if (!pc)
		return;
	pc->depth++;
	vmm_timer_del(m, &pc->wb_timer);
	vmm_files_free_all(m);
	vmm_bdev_free_all(m);
	vmm_xa_destroy(&pc->mappings);
	m->pagecache = NULL;
	vmm_hfree(&m->hm, pc, sizeof(*pc));
}

struct vmm_xa_node *vmm_xa_node_alloc(struct vmm_xarray *xa)
{
	struct vmm_machine *m = xa->xa_m;
	struct vmm_pagecache *pc = m->pagecache;
	struct vmm_xa_node *node;
	vmm_vaddr_t obj;

	if (!pc || !radix_tree_node_cache(m))
		return NULL;
	obj = vmm_kmem_cache_alloc(pc->radix_tree_node, VMM_GFP_KERNEL | VMM_GFP_NOWARN);
	if (!obj)
		return NULL;
	node = vmm_hzalloc(&m->hm, sizeof(*node));
	if (!node) {
		vmm_kmem_cache_free(pc->radix_tree_node, obj);
		return NULL;
	}
	node->obj = obj;
	vmm_list_init(&node->private_list);
	pc->xa_nodes_all++;
	pc->xa_nodes += xa->xa_pagecache;
	return node;
}

void vmm_xa_node_free(struct vmm_xarray *xa, struct vmm_xa_node *node)
{
	struct vmm_machine *m = xa->xa_m;
	struct vmm_pagecache *pc = m->pagecache;

	vmm_list_del(&node->private_list);
	vmm_kmem_cache_free(pc->radix_tree_node, node->obj);
	pc->xa_nodes_all--;
	pc->xa_nodes -= xa->xa_pagecache;
	vmm_hfree(&m->hm, node, sizeof(*node));
}

/* ---- the check ---- */

struct pc_totals {
	int64_t node[VMM_MAX_NUMNODES][4];	/* file pages, dirty, writeback, active */
	int64_t inactive[VMM_MAX_NUMNODES];
	int64_t shmem[VMM_MAX_NUMNODES];
	uint64_t xa_nodes;
	uint64_t shadow_nodes;
};

enum { T_FILE, T_DIRTY, T_WB, T_ACTIVE };

static bool in_flight(struct vmm_bdev *b, const struct vmm_page *page, bool write)
{
	for (size_t i = 0; i < b->q_len; i++) {
		const struct vmm_bio *bio = &b->q[(b->q_head + i) % b->q_cap];

		if (bio->page == page && bio->write == write)
			return true;
	}
	return false;
}

#define PC_BAD(...)                              \
	do {                                     \
		fprintf(out, "pagecache: " __VA_ARGS__); \
		fputc('\n', out);                \
		problems++;                      \
	} while (0)

/* One page of the cache: its descriptor against its slot, marks and I/O. */
static long check_page(struct vmm_machine *m, struct vmm_inode *inode, uint64_t index,
		       struct vmm_page *page, struct pc_totals *t, FILE *out)
{
	struct vmm_address_space *mapping = &inode->i_data;
	struct vmm_xarray *xa = &mapping->i_pages;
	unsigned nid = vmm_page_to_nid(m, page);
	bool shmem = !inode->bdev;
	long problems = 0;
	char buf[384] = "";

	if ((page->mapping != mapping->self || page->index != index ||
	     page->refcount < 1 + page->mapcount ||
	     PageBuddy(page) || page->page_type || PageDirty(page) != vmm_xa_get_mark(xa, index,
			PAGECACHE_TAG_DIRTY) || PageWriteback(page) != vmm_xa_get_mark(xa, index,
			PAGECACHE_TAG_WRITEBACK) || page_flag(page, VMM_PG_lru) ||
	     (PageLocked(page) && PageUptodate(page)) ||
	     ((PageDirty(page) || PageWriteback(page)) && !PageUptodate(page))))
		vmm_format_page(m, page, buf, sizeof(buf));
	if (page->mapping != mapping->self || page->index != index || page->refcount < 1 ||
	    PageBuddy(page) || page->page_type)
		PC_BAD("inode %llu index %llu: page does not belong there: %s",
		       (unsigned long long)inode->i_ino, (unsigned long long)index, buf);
	if ((!shmem && PageDirty(page) != vmm_xa_get_mark(xa, index, PAGECACHE_TAG_DIRTY)) ||
	    PageWriteback(page) != vmm_xa_get_mark(xa, index, PAGECACHE_TAG_WRITEBACK))
		PC_BAD("inode %llu index %llu: DIRTY/WRITEBACK tags disagree with the flags: %s",
		       (unsigned long long)inode->i_ino, (unsigned long long)index, buf);
	if (vmm_xa_get_mark(xa, index, PAGECACHE_TAG_TOWRITE))
		PC_BAD("inode %llu index %llu: a TOWRITE tag outlived its sync",
		       (unsigned long long)inode->i_ino, (unsigned long long)index);
	/* not uptodate and unlocked is allowed: a failed read, or a page the fault path will read */
	if ((PageLocked(page) && (shmem || !in_flight(inode->bdev, page, false) ||
				  PageUptodate(page))) ||
	    ((PageDirty(page) || PageWriteback(page)) && !PageUptodate(page)))
		PC_BAD("inode %llu index %llu: locked without a read in flight, or dirty and not uptodate: %s",
		       (unsigned long long)inode->i_ino, (unsigned long long)index, buf);
	if (PageWriteback(page) && (shmem || !in_flight(inode->bdev, page, true)))
		PC_BAD("inode %llu index %llu: under writeback with no write in flight: %s",
		       (unsigned long long)inode->i_ino, (unsigned long long)index, buf);
	if (page_flag(page, VMM_PG_lru))
		PC_BAD("inode %llu index %llu: PG_lru with no LRU lists: %s",
		       (unsigned long long)inode->i_ino, (unsigned long long)index, buf);
	/* the cache's reference and one per mapping (the page tables' tally checks the mapcount) */
	if (page->mapcount < 0 || page->refcount < 1 + page->mapcount)
		PC_BAD("inode %llu index %llu: mapped %d times with %d references: %s",
		       (unsigned long long)inode->i_ino, (unsigned long long)index, page->mapcount,
		       page->refcount, buf);
	if (shmem != page_flag(page, VMM_PG_swapbacked))
		PC_BAD("inode %llu index %llu: PG_swapbacked %s a shmem inode",
		       (unsigned long long)inode->i_ino, (unsigned long long)index,
		       shmem ? "missing in" : "outside");
	t->node[nid][T_FILE]++;
	t->node[nid][T_WB] += PageWriteback(page);
	if (shmem) {
		t->shmem[nid]++;
		return problems;	/* on the anonymous lists, dirty unaccounted */
	}
	t->node[nid][T_DIRTY] += PageDirty(page);
	if (PageActive(page))
		t->node[nid][T_ACTIVE]++;
	else
		t->inactive[nid]++;
	return problems;
}

static long check_inode(struct vmm_machine *m, struct vmm_inode *inode, struct pc_totals *t,
			FILE *out)
{
	struct vmm_address_space *mapping = &inode->i_data;
	struct vmm_bdev *b = inode->bdev;
	uint64_t index, pages = 0, shadows = 0;
	long problems = 0;
	void *entry;

	problems += vmm_xa_check(&mapping->i_pages, "i_pages", out);
	problems += vmm_xa_check(&inode->blocks, "blocks", out);
	problems += vmm_xa_check(&inode->dblocks, "durable blocks", out);
	t->xa_nodes += mapping->i_pages.xa_nr_nodes + inode->blocks.xa_nr_nodes +
		       inode->dblocks.xa_nr_nodes;
	vmm_xa_for_each(&mapping->i_pages, index, entry) {
		if (xa_is_value(entry)) {
			shadows++;
			continue;
		}
		pages++;
		problems += check_page(m, inode, index, entry, t, out);
		if (index >= DIV_ROUND_UP(inode->i_size, VMM_PAGE_SIZE))
			PC_BAD("inode %llu: page %llu past the end (%llu bytes)",
			       (unsigned long long)inode->i_ino, (unsigned long long)index,
			       (unsigned long long)inode->i_size);
	}
	if (pages != mapping->nrpages || shadows != mapping->nr_shadows)
		PC_BAD("inode %llu: nrpages %llu (holds %llu), shadows %llu (holds %llu)",
		       (unsigned long long)inode->i_ino, (unsigned long long)mapping->nrpages,
		       (unsigned long long)pages, (unsigned long long)mapping->nr_shadows,
		       (unsigned long long)shadows);
	if (vmm_xa_marked(&mapping->i_pages, PAGECACHE_TAG_DIRTY) &&
	    !vmm_list_is_linked(&inode->i_io_list))
		PC_BAD("inode %llu: dirty pages but not on the dirty list",
		       (unsigned long long)inode->i_ino);
	vmm_xa_for_each(&inode->blocks, index, entry)
		if (!xa_is_value(entry) || xa_to_value(entry) >= b->nr_blocks ||
		    !(b->block_use[xa_to_value(entry)] & BLOCK_CURRENT))
			PC_BAD("inode %llu: page %llu's block is not in current use",
			       (unsigned long long)inode->i_ino, (unsigned long long)index);
	vmm_xa_for_each(&inode->dblocks, index, entry)
		if (!xa_is_value(entry) || xa_to_value(entry) >= b->nr_blocks ||
		    !(b->block_use[xa_to_value(entry)] & BLOCK_DURABLE))
			PC_BAD("inode %llu: page %llu's durable block is not durable",
			       (unsigned long long)inode->i_ino, (unsigned long long)index);
	return problems;
}

/* Pages of @inode holding a block reservation; each must be dirty. */
static uint64_t count_delalloc(struct vmm_inode *inode, long *problems, FILE *out)
{
	uint64_t index, n = 0;
	void *entry;

	vmm_xa_for_each(&inode->i_data.i_pages, index, entry) {
		const struct vmm_page *page = entry;

		if (xa_is_value(entry) || !page_flag(page, VMM_PG_delalloc))
			continue;
		n++;
		if (!PageDirty(page)) {
			fprintf(out, "page cache: inode %llu: page %llu holds a block reservation "
				     "but is clean\n",
				(unsigned long long)inode->i_ino, (unsigned long long)index);
			(*problems)++;
		}
	}
	return n;
}

/* The node counters the page cache alone moves, against what the caches hold. */
static long check_counters(struct vmm_machine *m, const struct pc_totals *t, FILE *out)
{
	static const int items[4] = { NR_FILE_PAGES, NR_FILE_DIRTY, NR_WRITEBACK, NR_ACTIVE_FILE };
	static const char *const names[4] = { "nr_file_pages", "nr_dirty", "nr_writeback",
					       "nr_active_file" };
	long problems = 0;

	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		const struct vmm_pgdat *pgdat = NODE_DATA(m, nid);

		for (int i = 0; i < 4; i++)
			if (pgdat->vm_stat[items[i]] != t->node[nid][i])
				PC_BAD("node %u: %s %lld, the cache holds %lld", nid, names[i],
				       (long long)pgdat->vm_stat[items[i]],
				       (long long)t->node[nid][i]);
		if (pgdat->vm_stat[NR_SHMEM] != t->shmem[nid])
			PC_BAD("node %u: nr_shmem %lld, shmem objects hold %lld", nid,
			       (long long)pgdat->vm_stat[NR_SHMEM], (long long)t->shmem[nid]);
		if (pgdat->vm_stat[NR_INACTIVE_FILE] != t->inactive[nid])
			PC_BAD("node %u: nr_inactive_file %lld, the cache holds %lld", nid,
			       (long long)pgdat->vm_stat[NR_INACTIVE_FILE],
			       (long long)t->inactive[nid]);
	}
	return problems;
}

long vmm_pagecache_check(struct vmm_machine *m, FILE *out)
{
	struct vmm_pagecache *pc = m->pagecache;
	struct pc_totals totals, *t = &totals;
	long problems = 0;
	uint64_t listed = 0;

	if (!pc)
		return 0;
	memset(t, 0, sizeof(*t));
	problems += vmm_xa_check(&pc->mappings, "mappings", out);
	t->xa_nodes = pc->mappings.xa_nr_nodes;
	for (struct vmm_list *bl = pc->bdevs.next; bl != &pc->bdevs; bl = bl->next) {
		struct vmm_bdev *b = vmm_list_entry(bl, struct vmm_bdev, link);
		uint64_t reserved = 0;

		for (struct vmm_list *pos = b->inodes.next; pos != &b->inodes; pos = pos->next) {
			struct vmm_inode *inode = vmm_list_entry(pos, struct vmm_inode, i_sb_list);

			problems += check_inode(m, inode, t, out);
			reserved += count_delalloc(inode, &problems, out);
		}
		if (reserved != b->st.blocks_reserved || b->st.blocks_used + reserved >= b->nr_blocks) {
			PC_BAD("%s: %llu blocks reserved by pages, %llu counted, %llu used of %llu",
			       b->name, (unsigned long long)reserved,
			       (unsigned long long)b->st.blocks_reserved,
			       (unsigned long long)b->st.blocks_used,
			       (unsigned long long)b->nr_blocks);
		}
	}
	for (struct vmm_list *pos = pc->shmem_inodes.next; pos != &pc->shmem_inodes; pos = pos->next) {
		struct vmm_inode *inode = vmm_list_entry(pos, struct vmm_inode, i_sb_list);

		/* a shmem object lives as long as a file (a VMA's) refers to it */
		if (!inode->i_count || !inode->unlinked || inode->bdev)
			PC_BAD("shmem inode %llu: no file refers to it, or it has a name or a device",
			       (unsigned long long)inode->i_ino);
		problems += check_inode(m, inode, t, out);
	}
	problems += check_counters(m, t, out);
	problems += vmm_file_mappings_check(m, out);
	if (t->xa_nodes != pc->xa_nodes)
		PC_BAD("%llu XArray nodes in the trees, %llu allocated",
		       (unsigned long long)t->xa_nodes, (unsigned long long)pc->xa_nodes);
	for (struct vmm_list *pos = pc->shadow_nodes.next; pos != &pc->shadow_nodes; pos = pos->next)
		listed++;
	if ((int64_t)listed != (int64_t)vmm_global_node_page_state(m, WORKINGSET_NODES))
		PC_BAD("%llu shadow nodes listed, workingset_nodes says %llu",
		       (unsigned long long)listed,
		       (unsigned long long)vmm_global_node_page_state(m, WORKINGSET_NODES));
	return problems;
}

/* ---- digest ---- */

static void digest_u64(XXH3_state_t *st, uint64_t v)
{
	XXH3_64bits_update(st, &v, sizeof(v));
}

/* Every entry of @xa: index, what it holds (a page's pfn or a value) and its marks. */
static void digest_xarray(const struct vmm_machine *m, XXH3_state_t *st,
			  const struct vmm_xarray *cxa)
{
	struct vmm_xarray *xa = (struct vmm_xarray *)cxa; /* the lookups change nothing */
	uint64_t index = 0;
	void *e;

	for (e = vmm_xa_find(xa, &index, UINT64_MAX, XA_PRESENT); e;
	     e = vmm_xa_find_after(xa, &index, UINT64_MAX, XA_PRESENT)) {
		uint64_t marks = 0;

		for (unsigned k = 0; k < 3; k++)
			marks |= (uint64_t)vmm_xa_get_mark(xa, index, (xa_mark_t)k) << k;
		digest_u64(st, index);
		digest_u64(st, xa_is_value(e) ? xa_to_value(e) << 1 | 1
					      : page_to_pfn(&m->sparse, e) << 1);
		digest_u64(st, marks);
	}
}

static void digest_bdev(XXH3_state_t *st, const struct vmm_bdev *b)
{
	uint8_t buf[VMM_PAGE_SIZE];

	XXH3_64bits_update(st, b->name, strlen(b->name) + 1);
	digest_u64(st, b->nr_blocks);
	digest_u64(st, b->alloc_cursor);
	digest_u64(st, b->busy_until);
	digest_u64(st, b->fail_writes);
	XXH3_64bits_update(st, &b->st, sizeof(b->st));
	for (uint64_t blk = 0; blk < b->nr_blocks; blk++) {
		const uint8_t *bytes = buf;

		if (!b->block_use[blk])
			continue;
		digest_u64(st, blk << 8 | b->block_use[blk]);
		if (b->mem)
			bytes = b->mem + blk * VMM_PAGE_SIZE;
		else if (pread(b->fd, buf, sizeof(buf), (off_t)(blk * VMM_PAGE_SIZE)) !=
			 (ssize_t)sizeof(buf))
			memset(buf, 0, sizeof(buf));
		XXH3_64bits_update(st, bytes, VMM_PAGE_SIZE);
	}
	for (size_t i = 0; i < b->q_len; i++) {
		const struct vmm_bio *bio = &b->q[(b->q_head + i) % b->q_cap];

		digest_u64(st, bio->done);
		digest_u64(st, bio->block);
		digest_u64(st, bio->old_block);
		digest_u64(st, (uint64_t)bio->write << 1 | bio->failed);
	}
}

static void digest_inode(const struct vmm_machine *m, XXH3_state_t *st,
			 const struct vmm_inode *inode)
{
	digest_u64(st, inode->i_ino);
	if (inode->name)
		XXH3_64bits_update(st, inode->name, strlen(inode->name) + 1);
	digest_u64(st, inode->i_size);
	digest_u64(st, inode->d_size);
	digest_u64(st, inode->i_count);
	digest_u64(st, (uint64_t)inode->unlinked << 1 | inode->meta_dirty);
	digest_u64(st, inode->dirtied_when);
	digest_u64(st, inode->i_data.nrpages);
	digest_u64(st, inode->i_data.nr_shadows);
	digest_u64(st, inode->i_data.wb_err);
	digest_u64(st, inode->i_data.writeback_index);
	digest_xarray(m, st, &inode->i_data.i_pages);
	digest_xarray(m, st, &inode->blocks);
	digest_xarray(m, st, &inode->dblocks);
}

void vmm_pagecache_digest(const struct vmm_machine *m, XXH3_state_t *st)
{
	const struct vmm_pagecache *pc = m->pagecache;

	if (!pc)
		return;
	digest_u64(st, pc->next_ino);
	for (const struct vmm_list *bl = pc->bdevs.next; bl != &pc->bdevs; bl = bl->next) {
		const struct vmm_bdev *b = vmm_list_entry(bl, struct vmm_bdev, link);

		digest_bdev(st, b);
		for (const struct vmm_list *pos = b->inodes.next; pos != &b->inodes; pos = pos->next)
			digest_inode(m, st, vmm_list_entry(pos, struct vmm_inode, i_sb_list));
	}
	for (const struct vmm_list *pos = pc->shmem_inodes.next; pos != &pc->shmem_inodes;
	     pos = pos->next)
		digest_inode(m, st, vmm_list_entry(pos, struct vmm_inode, i_sb_list));
	for (const struct vmm_list *pos = pc->files.next; pos != &pc->files; pos = pos->next) {
		const struct vmm_file *f = vmm_list_entry(pos, struct vmm_file, f_list);

		digest_u64(st, f->inode->i_ino);
		digest_u64(st, f->f_count);
		digest_u64(st, f->f_pos);
		digest_u64(st, (uint64_t)(uint32_t)f->f_flags << 32 | f->f_mode);
		digest_u64(st, f->f_ra.start);
		digest_u64(st, (uint64_t)f->f_ra.size << 32 | f->f_ra.async_size);
		digest_u64(st, (uint64_t)f->f_ra.ra_pages << 32 | f->f_ra.mmap_miss);
		digest_u64(st, f->f_ra.prev_pos);
		digest_u64(st, f->f_wb_err);
	}
}
