/* SPDX-License-Identifier: MIT */
/*
 * Files, inodes, address spaces and the simulated block device: the page
 * cache's objects (seed 002: struct file, struct inode, struct
 * address_space) and the internal calls between its parts:
 *
 *   filemap.c    lookup and insertion (pagecache_get_page and its FGP
 *                flags, add_to_page_cache_lru, delete_from_page_cache,
 *                read_cache_page), page locks, mark_page_accessed,
 *                buffered read and write, filemap_fault/filemap_map_pages
 *   readahead.c  on-demand readahead
 *   writeback.c  dirty accounting, write_cache_pages, fsync, background
 *                writeback, balance_dirty_pages, errseq
 *   workingset.c shadow entries, refault distance, the eviction primitive
 *   bdev.c       the block device: requests, their cycles, completion
 *   simfs.c      the filesystem on it: block maps, commit, crash, truncate
 *   file.c       the public API: namespace, handles, read/write/fsync...
 *
 * Ownership: everything belongs to one machine and one host thread. Pages
 * locked (PG_locked) or under writeback are so only while a simulated
 * request is in flight; waiting for one means completing the device's
 * requests up to it and charging the wait to the current CPU.
 *
 * Host and simulated memory: inodes, files and XArray nodes are host
 * structures, each shadowed by an object of Linux's size from a slab cache
 * ("inode_cache", "filp", "radix_tree_node"); page->mapping holds the
 * simulated address of the address_space inside the inode's object, as in
 * Linux. Page contents live in the simulated frames.
 */
#ifndef VMM_PAGECACHE_FILEMAP_H
#define VMM_PAGECACHE_FILEMAP_H

#include <stdbool.h>
#include <stdint.h>

#include <vmm/file.h>
#include <vmm/gfp.h>

#include "lib/list.h"
#include "mm/buddy.h"
#include "mm/mmzone.h"
#include "mm/page_alloc.h"
#include "pagecache/pagecache.h"
#include "pagecache/xarray.h"

struct vmm_machine;

/* Page-cache tags (XArray marks), as Linux names them. */
#define PAGECACHE_TAG_DIRTY XA_MARK_0
#define PAGECACHE_TAG_WRITEBACK XA_MARK_1
#define PAGECACHE_TAG_TOWRITE XA_MARK_2

/* PG_readahead shares its bit with PG_reclaim, as in Linux. */
#define VMM_PG_readahead VMM_PG_reclaim
/* A dirty page holding a block reservation (ext4's delayed allocation): PG_private_2. */
#define VMM_PG_delalloc VMM_PG_private_2

/* pagecache_get_page() flags (seed 000 section 1.2, Linux 5.x values). */
#define FGP_ACCESSED 0x01u
#define FGP_LOCK 0x02u
#define FGP_CREAT 0x04u
#define FGP_WRITE 0x08u
#define FGP_NOFS 0x10u
#define FGP_NOWAIT 0x20u
#define FGP_FOR_MMAP 0x40u
#define FGP_ALL (FGP_ACCESSED | FGP_LOCK | FGP_CREAT | FGP_WRITE | FGP_NOFS | FGP_NOWAIT | \
		 FGP_FOR_MMAP)

/* Sizes of Linux's structures the shadows stand for (x86-64, 6.x defconfig). */
#define INODE_OBJ_SIZE 600		/* struct inode */
#define INODE_I_DATA_OFFSET 200		/* offsetof(struct inode, i_data), near enough */
#define FILE_OBJ_SIZE 232		/* struct file */

/* VM_READAHEAD_PAGES: 128 KiB. */
#define VM_READAHEAD_PAGES (131072 / VMM_PAGE_SIZE)
/* MMAP_LOTSAMISS: faults that find nothing before mmap readahead stops. */
#define MMAP_LOTSAMISS 100

/* ---- errseq_t (lib/errseq.c's scheme) ---- */

typedef uint32_t vmm_errseq_t;

void vmm_errseq_set(vmm_errseq_t *eseq, int err);
vmm_errseq_t vmm_errseq_sample(const vmm_errseq_t *eseq);
int vmm_errseq_check_and_advance(vmm_errseq_t *eseq, vmm_errseq_t *since);

/* ---- the block device ---- */

/* One request in flight: a page being read or written. */
struct vmm_bio {
	struct vmm_page *page;
	uint64_t done;			/* device time it completes */
	uint64_t block;			/* write: the block it fills */
	uint64_t old_block;		/* write: the block the page had (0 none) */
	bool write;
	bool failed;
};

struct vmm_bdev {
	struct vmm_machine *m;
	struct vmm_list link;		/* on vmm_pagecache.bdevs */
	char name[32];
	struct vmm_bdev_config cfg;
	char *host_path;		/* cfg.host_path's copy */
	int fd;				/* host file, or -1 */
	uint8_t *mem;			/* or host memory */
	uint64_t nr_blocks;		/* 4 KiB blocks; block 0 is never handed out */
	uint8_t *block_use;		/* per block: BLOCK_CURRENT | BLOCK_DURABLE */
	uint64_t alloc_cursor;
	uint64_t busy_until;		/* device time the queue drains */
	uint64_t fail_writes;
	struct vmm_bdev_stats st;
	struct vmm_list inodes;		/* files on the device */
	struct vmm_list b_dirty;	/* the bdi's dirty inodes, oldest dirtied first */
	struct vmm_bio *q;		/* in flight, in completion order (a ring) */
	size_t q_head, q_len, q_cap;
};

#define BLOCK_CURRENT 0x1u
#define BLOCK_DURABLE 0x2u

/* ---- inodes and address spaces ---- */

struct vmm_address_space {
	struct vmm_inode *host;
	struct vmm_xarray i_pages;	/* pages and shadow entries */
	uint64_t nrpages;
	uint64_t nr_shadows;		/* Linux 5.0's nrexceptional */
	struct vmm_list i_mmap;		/* VMAs mapping the file (rmap, later) */
	vmm_gfp_t gfp_mask;		/* mapping_gfp_mask(): GFP_HIGHUSER_MOVABLE */
	vmm_errseq_t wb_err;
	uint64_t writeback_index;	/* where cyclic writeback resumes */
	vmm_vaddr_t self;		/* what page->mapping holds */
};

struct vmm_inode {
	struct vmm_machine *m;
	struct vmm_bdev *bdev;		/* NULL: a shmem inode (no device, never written back) */
	uint64_t i_ino;
	uint64_t i_size;
	uint32_t i_count;		/* open handles */
	bool unlinked;
	char *name;			/* the namespace entry (kept, unreachable, once unlinked) */
	struct vmm_address_space i_data;
	vmm_vaddr_t obj;		/* the inode_cache object */
	struct vmm_list i_sb_list;	/* on the device */
	struct vmm_list i_io_list;	/* on the device's b_dirty while dirty */
	uint64_t dirtied_when;		/* jiffies it first became dirty */
	/* simfs: page index -> block (value entries), as now and as durable */
	struct vmm_xarray blocks;
	struct vmm_xarray dblocks;
	uint64_t d_size;
	bool meta_dirty;		/* size or map changed since the last commit */
};

/* struct file_ra_state */
struct vmm_ra_state {
	uint64_t start;
	uint32_t size;
	uint32_t async_size;
	uint32_t ra_pages;
	uint32_t mmap_miss;
	uint64_t prev_pos;		/* UINT64_MAX: none yet (Linux's -1) */
};

#define FMODE_RANDOM 0x1u

struct vmm_file {
	struct vmm_machine *m;
	struct vmm_inode *inode;
	uint64_t f_pos;
	int f_flags;
	unsigned f_mode;		/* FMODE_RANDOM */
	struct vmm_ra_state f_ra;
	vmm_errseq_t f_wb_err;
	vmm_vaddr_t obj;		/* the filp object */
	struct vmm_list f_list;		/* on vmm_pagecache.files */
	uint32_t f_count;		/* the handle's reference, plus one per VMA mapping it */
};

static inline struct vmm_inode *mapping_host(const struct vmm_address_space *mapping)
{
	return mapping->host;
}

/* ---- page helpers ---- */

static inline void get_page(struct vmm_page *page)
{
	page->refcount++;
}

/* put_page(): the last reference frees the page (through the page allocator's checks). */
static inline void vmm_pc_put_page(struct vmm_machine *m, struct vmm_page *page)
{
	if (__builtin_expect(page->refcount > 1, 1))
		page->refcount--;
	else
		vmm_put_page(m, page);
}

static inline bool PageLocked(const struct vmm_page *p) { return page_flag(p, VMM_PG_locked); }
static inline bool PageUptodate(const struct vmm_page *p) { return page_flag(p, VMM_PG_uptodate); }
static inline bool PageDirty(const struct vmm_page *p) { return page_flag(p, VMM_PG_dirty); }
static inline bool PageWriteback(const struct vmm_page *p) { return page_flag(p, VMM_PG_writeback); }
static inline bool PageActive(const struct vmm_page *p) { return page_flag(p, VMM_PG_active); }
static inline bool PageReferenced(const struct vmm_page *p) { return page_flag(p, VMM_PG_referenced); }
static inline bool PageReadahead(const struct vmm_page *p) { return page_flag(p, VMM_PG_readahead); }
static inline bool PageError(const struct vmm_page *p) { return page_flag(p, VMM_PG_error); }

/* The host bytes of a page. */
void *vmm_page_host(struct vmm_machine *m, const struct vmm_page *page);

/* ---- filemap.c ---- */

void vmm_mapping_init(struct vmm_machine *m, struct vmm_address_space *mapping,
		      struct vmm_inode *host);
struct vmm_page *vmm_pagecache_get_page(struct vmm_address_space *mapping, uint64_t index,
					unsigned fgp_flags, vmm_gfp_t gfp);
static inline struct vmm_page *vmm_find_get_page(struct vmm_address_space *mapping,
						 uint64_t index)
{
	return vmm_pagecache_get_page(mapping, index, 0, 0);
}
int vmm_add_to_page_cache_lru(struct vmm_page *page, struct vmm_address_space *mapping,
			      uint64_t index, vmm_gfp_t gfp);
void vmm_delete_from_page_cache(struct vmm_machine *m, struct vmm_page *page);
/* __delete_from_page_cache with a shadow entry left in the slot (or NULL). */
void vmm_page_cache_delete(struct vmm_address_space *mapping, struct vmm_page *page,
			   void *shadow);

typedef int (*vmm_filler_t)(void *data, struct vmm_page *page);
/* read_cache_page(): the uptodate page (a reference the caller drops) or NULL with *err. */
struct vmm_page *vmm_read_cache_page(struct vmm_address_space *mapping, uint64_t index,
				     vmm_filler_t filler, void *data, int *err);

void vmm_lock_page(struct vmm_machine *m, struct vmm_page *page);
bool vmm_trylock_page(struct vmm_page *page);
void vmm_unlock_page(struct vmm_page *page);
void vmm_wait_on_page_locked(struct vmm_machine *m, struct vmm_page *page);
void vmm_wait_on_page_writeback(struct vmm_machine *m, struct vmm_page *page);
void vmm_mark_page_accessed(struct vmm_machine *m, struct vmm_page *page);
/* The page's mapping (host side), or NULL when it is not in the page cache. */
struct vmm_address_space *vmm_page_mapping(struct vmm_machine *m, const struct vmm_page *page);

int64_t vmm_filemap_read(struct vmm_file *f, void *buf, size_t len, uint64_t pos);
int64_t vmm_filemap_write(struct vmm_file *f, const void *buf, size_t len, uint64_t pos);
/* Drop the clean, unlocked, unmapped pages of [start, end] (invalidate_mapping_pages). */
uint64_t vmm_invalidate_mapping_pages(struct vmm_address_space *mapping, uint64_t start,
				      uint64_t end);
/* Remove every page of [start, end], dirty or not, zeroing nothing (truncate_inode_pages_range). */
void vmm_truncate_inode_pages_range(struct vmm_address_space *mapping, uint64_t start,
				    uint64_t end);

/* filemap_fault(): VM_FAULT_* bits; *pagep the locked page on success. */
#define VM_FAULT_SIGBUS 0x2u
#define VM_FAULT_MAJOR 0x4u
#define VM_FAULT_OOM 0x1u
#define VM_FAULT_LOCKED 0x200u
#define VM_FAULT_NOPAGE 0x100u
#define VM_RAND_READ 0x1u	/* the VMA's madvise(MADV_RANDOM) */
#define VM_SEQ_READ 0x2u	/* madvise(MADV_SEQUENTIAL) */
unsigned vmm_filemap_fault(struct vmm_file *f, uint64_t pgoff, unsigned vm_flags,
			   struct vmm_page **pagep);

/*
 * filemap_map_pages(): fault-around. Every page of [start, end] that is
 * cached, uptodate, unlocked, not a readahead marker and inside the file
 * goes to @map, which takes its own reference when it maps the page (and
 * returns true); the count mapped. The window is at most a PTE table's
 * worth, so each index is looked up rather than searched for: the same
 * entries vmm_xa_find would give, shadow entries and reserved slots
 * skipped, a multi-index entry seen at each of its indices. The window's
 * indices share one or two bottom nodes, so a cursor reads them from there
 * after the first descent (the callback never changes the cache). Inline,
 * so that the fault path's @map is inlined into the loop.
 */
typedef bool (*vmm_map_page_fn)(void *data, uint64_t pgoff, struct vmm_page *page);
static inline unsigned vmm_filemap_map_pages(struct vmm_file *f, uint64_t start, uint64_t end,
					     vmm_map_page_fn map, void *data)
{
	const struct vmm_xarray *pages = &f->inode->i_data.i_pages;
	uint64_t last = DIV_ROUND_UP(f->inode->i_size, VMM_PAGE_SIZE);
	const uint64_t want = 1ull << VMM_PG_uptodate;
	const uint64_t mask = want | 1ull << VMM_PG_locked | 1ull << VMM_PG_readahead;
	struct vmm_xa_cursor cursor = { 0 };
	unsigned mapped = 0;

	if (!last)
		return 0;
	end = VMM_MIN(end, last - 1);
	for (uint64_t index = start; index <= end; index++) {
		struct vmm_page *page = vmm_xa_cursor_load(pages, &cursor, index);

		if (!page || xa_is_value(page) || (page->flags & mask) != want ||
		    !map(data, index, page))
			continue;
		mapped++;
	}
	f->f_ra.mmap_miss -= VMM_MIN(f->f_ra.mmap_miss, mapped);
	return mapped;
}

/* ---- readahead.c ---- */

void vmm_file_ra_state_init(struct vmm_ra_state *ra);
void vmm_page_cache_sync_readahead(struct vmm_address_space *mapping, struct vmm_ra_state *ra,
				   struct vmm_file *f, uint64_t index, uint64_t req_count);
void vmm_page_cache_async_readahead(struct vmm_address_space *mapping, struct vmm_ra_state *ra,
				    struct vmm_file *f, struct vmm_page *page, uint64_t index,
				    uint64_t req_count);
/* __do_page_cache_readahead: read [index, index + nr) that is missing, marker at nr - lookahead. */
unsigned vmm_do_page_cache_readahead(struct vmm_address_space *mapping, uint64_t index,
				     uint64_t nr, uint64_t lookahead);
/* ra_submit(): read the window @ra describes. */
void vmm_ra_submit(struct vmm_address_space *mapping, struct vmm_ra_state *ra);
void vmm_force_page_cache_readahead(struct vmm_address_space *mapping, uint64_t index,
				    uint64_t nr);

/* ---- writeback.c ---- */

void vmm_set_page_dirty(struct vmm_address_space *mapping, struct vmm_page *page);
bool vmm_clear_page_dirty_for_io(struct vmm_address_space *mapping, struct vmm_page *page);
void vmm_set_page_writeback(struct vmm_address_space *mapping, struct vmm_page *page);
void vmm_end_page_writeback(struct vmm_address_space *mapping, struct vmm_page *page);
void vmm_account_page_cleaned(struct vmm_machine *m, struct vmm_page *page,
			      struct vmm_address_space *mapping);
enum wb_sync_mode { WB_SYNC_NONE, WB_SYNC_ALL };
/* write_cache_pages(): write the dirty pages of [start, end]; the pages started. */
uint64_t vmm_write_cache_pages(struct vmm_address_space *mapping, uint64_t start, uint64_t end,
			       enum wb_sync_mode mode, uint64_t nr_to_write);
/* filemap_write_and_wait_range() over pages [start, end]; the first error seen. */
int vmm_filemap_write_and_wait_range(struct vmm_address_space *mapping, uint64_t start,
				     uint64_t end);
/* file_write_and_wait + commit + file_check_and_advance_wb_err. */
int vmm_vfs_fsync(struct vmm_file *f);
/* vfs_fsync_range() over pages [start, end] (msync): write, wait, commit, errseq. */
int vmm_vfs_fsync_range(struct vmm_file *f, uint64_t start, uint64_t end);
void vmm_balance_dirty_pages_ratelimited(struct vmm_address_space *mapping);
void vmm_mark_inode_dirty(struct vmm_inode *inode);
void vmm_writeback_timer_fn(struct vmm_machine *m, struct vmm_timer *t);
/* Run work deferred while the page cache was busy (timers that fired inside it). */
void vmm_pagecache_enter(struct vmm_machine *m);
void vmm_pagecache_exit(struct vmm_machine *m);

/* ---- workingset.c ---- */

void *vmm_workingset_eviction(struct vmm_machine *m, struct vmm_page *page);
void vmm_workingset_refault(struct vmm_machine *m, struct vmm_page *page, void *shadow);
void vmm_workingset_activation(struct vmm_machine *m, struct vmm_page *page);
void vmm_workingset_update_node(struct vmm_xa_node *node);
/*
 * __remove_mapping(): take a clean, unlocked-by-others page out of the
 * cache, leaving a shadow entry; the eviction primitive reclaim will use.
 * The caller holds the page lock and one reference. 0, or -VMM_EBUSY when
 * the page is dirty, under writeback, or referenced by someone else.
 */
int vmm_remove_mapping(struct vmm_address_space *mapping, struct vmm_page *page);

/* ---- bdev.c ---- */

struct vmm_bdev *vmm_bdev_default(struct vmm_machine *m);
/* Start reads of @n pages into blocks (0: a hole, zero-filled now), merging runs. */
void vmm_bdev_submit_reads(struct vmm_bdev *b, struct vmm_page **pages, const uint64_t *blocks,
			   unsigned n);
/* Start the write of a page to @block; @old_block the block it leaves (released at completion). */
void vmm_bdev_submit_write(struct vmm_bdev *b, struct vmm_page *page, uint64_t block,
			   uint64_t old_block);
/* Complete every request done by device time @until. */
void vmm_bdev_complete(struct vmm_bdev *b, uint64_t until);
/* Wait for the request of @page (charging the current CPU), completing it. */
void vmm_bdev_wait_page(struct vmm_bdev *b, struct vmm_page *page);
/* Synchronous block I/O that bypasses the cache (O_DIRECT, commit copies). */
void vmm_bdev_rw(struct vmm_bdev *b, uint64_t block, uint32_t off, void *buf, uint32_t len,
		 bool write, bool charge);
/* One synchronous request of @bytes, waited for (O_DIRECT, commits). */
void vmm_bdev_charge(struct vmm_bdev *b, uint64_t bytes, bool write);
uint64_t vmm_bdev_alloc_block(struct vmm_bdev *b);
void vmm_bdev_release_block(struct vmm_bdev *b, uint64_t block, unsigned use);
/* The device's time for a request issued now by the current CPU. */
uint64_t vmm_bdev_now(const struct vmm_bdev *b);
void vmm_bdev_free_all(struct vmm_machine *m);

/* ---- simfs.c ---- */

uint64_t vmm_simfs_block(struct vmm_inode *inode, uint64_t index);
/*
 * Delayed allocation (ext4_da_reserve_space): before a page is dirtied,
 * promise it the block its writeback will take when it has none of its own
 * to overwrite (a hole, or a block the last commit made durable). 0, or
 * -VMM_ENOSPC when the device has no block left to promise.
 */
int vmm_simfs_reserve_page(struct vmm_inode *inode, struct vmm_page *page);
/* Give back a page's promise (its writeback is taking the block, or it leaves the cache). */
void vmm_simfs_unreserve_page(struct vmm_inode *inode, struct vmm_page *page);
/* The block a page's writeback goes to: in place, or a fresh one when its block is durable. */
uint64_t vmm_simfs_write_block(struct vmm_inode *inode, uint64_t index, uint64_t *old);
/* A page write completed (or failed): update the block map. */
void vmm_simfs_write_done(struct vmm_inode *inode, uint64_t index, uint64_t block,
			  uint64_t old_block, bool failed);
void vmm_simfs_commit(struct vmm_inode *inode);
void vmm_simfs_truncate_blocks(struct vmm_inode *inode, uint64_t first_page);
void vmm_simfs_crash(struct vmm_inode *inode);
void vmm_simfs_free(struct vmm_inode *inode);
int64_t vmm_simfs_direct_io(struct vmm_file *f, void *buf, size_t len, uint64_t pos, bool write);

/* ---- file.c ---- */

void vmm_inode_put(struct vmm_inode *inode);
/* A new inode named @name on @b; @b NULL: a shmem inode (on the page cache's shmem list). */
int vmm_inode_create(struct vmm_machine *m, struct vmm_bdev *b, const char *name,
		     struct vmm_inode **out);
/* get_file() / fput(): the last reference closes the file (vmm_file_close is the handle's fput). */
static inline void vmm_get_file(struct vmm_file *f)
{
	f->f_count++;
}
void vmm_fput(struct vmm_file *f);
/* A file on @inode opened with @flags (the handle's reference). */
int vmm_file_alloc(struct vmm_inode *inode, int flags, struct vmm_file **out);
void vmm_files_free_all(struct vmm_machine *m);
int vmm_inode_setsize(struct vmm_inode *inode, uint64_t size);

#endif /* VMM_PAGECACHE_FILEMAP_H */
