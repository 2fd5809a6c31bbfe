/* SPDX-License-Identifier: MIT */
/**
 * @file page.h
 * @brief Page frames and their descriptors (Linux's struct page).
 *
 * Every RAM frame has a struct vmm_page. The struct is opaque to embedders;
 * these accessors read it. Descriptors of frames in holes exist only where a
 * memory section has some RAM (sparse memory map), and read as reserved.
 */
#ifndef VMM_PAGE_H
#define VMM_PAGE_H

#include <vmm/common.h>
#include <vmm/machine.h>

VMM_BEGIN_DECLS

/** Page flag bits, named as Linux names them (PG_locked is VMM_PG_locked). */
enum vmm_pageflags {
	VMM_PG_locked = 0,	/**< locked for I/O or a state change */
	VMM_PG_writeback = 1,	/**< under writeback */
	VMM_PG_referenced = 2,	/**< recently referenced */
	VMM_PG_uptodate = 3,	/**< contents valid */
	VMM_PG_dirty = 4,	/**< contents differ from backing store */
	VMM_PG_lru = 5,		/**< on an LRU list */
	VMM_PG_head = 6,	/**< head of a compound page */
	VMM_PG_waiters = 7,	/**< someone waits on the page lock */
	VMM_PG_active = 8,	/**< on the active LRU list */
	VMM_PG_workingset = 9,	/**< part of a workingset */
	VMM_PG_error = 10,	/**< I/O error */
	VMM_PG_owner_priv_1 = 11, /**< owner's use (PG_checked, PG_swapcache) */
	VMM_PG_arch_1 = 12,	/**< architecture's use */
	VMM_PG_reserved = 13,	/**< never handed to the page allocator */
	VMM_PG_private = 14,	/**< page->private holds filesystem data */
	VMM_PG_private_2 = 15,	/**< second private bit */
	VMM_PG_mappedtodisk = 16, /**< has blocks allocated on disk */
	VMM_PG_reclaim = 17,	/**< to be reclaimed asap */
	VMM_PG_swapbacked = 18,	/**< backed by RAM or swap (anon, shmem) */
	VMM_PG_unevictable = 19, /**< on the unevictable list */
	VMM_PG_mlocked = 20,	/**< mapped by an mlocked VMA */
	VMM_PG_hwpoison = 21,	/**< hardware poisoned */
	VMM_PG_young = 22,	/**< idle tracking: accessed */
	VMM_PG_idle = 23,	/**< idle tracking: not accessed */
	VMM_NR_PAGEFLAGS = 24,
};

/** What a page is used as, when it is none of the flag-described uses (page_type). */
enum vmm_page_type {
	VMM_PGTY_NONE = 0,	/**< ordinary page */
	VMM_PGTY_BUDDY = 1,	/**< head of a free block in the buddy allocator */
	VMM_PGTY_TABLE = 2,	/**< a page-table page */
	VMM_PGTY_SLAB = 3,	/**< a slab page */
	VMM_PGTY_GUARD = 4,	/**< a debug guard page */
	VMM_PGTY_OFFLINE = 5,	/**< logically offline */
};

/**
 * Whether @p pfn has a page descriptor (its memory section holds RAM).
 *
 * @return 1 or 0 (0 also when @p m is NULL)
 */
VMM_API int vmm_pfn_valid(const vmm_machine *m, vmm_pfn_t pfn);

/** @return the descriptor of @p pfn, or NULL when vmm_pfn_valid() is 0 */
VMM_API struct vmm_page *vmm_pfn_to_page(const vmm_machine *m, vmm_pfn_t pfn);

/** @return the frame number of @p page (undefined for a pointer not from this machine) */
VMM_API vmm_pfn_t vmm_page_to_pfn(const vmm_machine *m, const struct vmm_page *page);

/** @return the node holding @p page */
VMM_API unsigned vmm_page_to_nid(const vmm_machine *m, const struct vmm_page *page);

/** @return the zone holding @p page (a vmm_zone_type) */
VMM_API enum vmm_zone_type vmm_page_zonenum(const vmm_machine *m, const struct vmm_page *page);

/** @return the page's flag word: bit VMM_PG_x is set when the page has PG_x */
VMM_API uint64_t vmm_page_flags(const struct vmm_page *page);

/** @return the page's type (enum vmm_page_type) */
VMM_API enum vmm_page_type vmm_page_type(const struct vmm_page *page);

/** @return the reference count (0 for free pages) */
VMM_API int vmm_page_count(const struct vmm_page *page);

/** @return the number of page-table entries mapping the page */
VMM_API int vmm_page_mapcount(const struct vmm_page *page);

/** @return the order of a free buddy block's head page, or -1 for any other page */
VMM_API int vmm_page_buddy_order(const struct vmm_page *page);

VMM_END_DECLS

#endif /* VMM_PAGE_H */
