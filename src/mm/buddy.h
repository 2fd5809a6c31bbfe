/* SPDX-License-Identifier: MIT */
/*
 * The buddy allocator's free lists: per zone, per order 0..MAX_PAGE_ORDER,
 * per migrate type. A free block of 2^order pages is represented by its
 * head page, marked with the buddy page type and its order; the rest of the
 * block's descriptors are untouched.
 */
#ifndef VMM_MM_BUDDY_H
#define VMM_MM_BUDDY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mm/mmzone.h"

struct vmm_machine;

/* Ways a block may go back onto a free list (Linux's FPI_* flags). */
#define FPI_NONE 0u
#define FPI_TO_TAIL (1u << 1) /* put at the tail: boot memory, whose use is not imminent */

static inline bool PageBuddy(const struct vmm_page *page)
{
	return page->page_type == VMM_PGTY_BUDDY;
}

static inline unsigned buddy_order(const struct vmm_page *page)
{
	return (unsigned)page->private;
}

static inline bool page_flag(const struct vmm_page *page, enum vmm_pageflags f)
{
	return (page->flags >> f) & 1;
}

static inline void set_page_flag(struct vmm_page *page, enum vmm_pageflags f)
{
	page->flags |= 1ull << f;
}

static inline void clear_page_flag(struct vmm_page *page, enum vmm_pageflags f)
{
	page->flags &= ~(1ull << f);
}

static inline bool migratetype_is_mergeable(int mt)
{
	return mt < MIGRATE_PCPTYPES;
}

int vmm_get_pfnblock_migratetype(struct vmm_machine *m, uint64_t pfn);
void vmm_set_pageblock_migratetype(struct vmm_machine *m, uint64_t pfn, int mt);

/*
 * Free a block of 2^order pages starting at @pfn into @zone, merging it with
 * its free buddies (Linux's __free_one_page).
 */
void vmm_free_one_page(struct vmm_machine *m, struct vmm_zone *zone, uint64_t pfn,
		       unsigned order, int migratetype, unsigned fpi_flags);

/*
 * Take a block of exactly 2^order pages of @migratetype from the smallest
 * order that has one, splitting the rest back (__rmqueue_smallest +
 * expand). Returns the head pfn, or UINT64_MAX when no list can serve.
 */
uint64_t vmm_rmqueue_smallest(struct vmm_machine *m, struct vmm_zone *zone, unsigned order,
			      int migratetype);

void vmm_add_to_free_list(struct vmm_zone *zone, struct vmm_page *page, unsigned order, int mt,
			  bool tail);
void vmm_del_page_from_free_list(struct vmm_zone *zone, struct vmm_page *page, unsigned order,
				 int mt);
/* expand(): give back the upper halves of an order-@high block taken for order @low. */
void vmm_expand(struct vmm_machine *m, struct vmm_zone *zone, uint64_t pfn, unsigned low,
		unsigned high, int mt);

/* The i-th type a @migratetype request falls back to (Linux's fallbacks table). */
int vmm_fallback_type(int migratetype, int i);
int vmm_find_suitable_fallback(const struct vmm_machine *m, const struct vmm_free_area *area,
			       unsigned order, int migratetype, bool only_stealable,
			       bool *can_steal);
/*
 * __rmqueue_fallback(): take a block of another type for @start_mt, maybe
 * claiming its pageblock. Returns the head pfn or UINT64_MAX.
 */
uint64_t vmm_rmqueue_fallback(struct vmm_machine *m, struct vmm_zone *zone, unsigned order,
			      int start_mt, unsigned alloc_flags);
/* Set the type of every pageblock a block of 2^order at @pfn touches. */
void vmm_change_pageblock_range(struct vmm_machine *m, uint64_t pfn, unsigned order, int mt);
bool vmm_prep_move_freepages_block(struct vmm_machine *m, struct vmm_zone *zone, uint64_t pfn,
				   uint64_t *start_pfn, uint64_t *free_pages,
				   uint64_t *movable_pages);
/*
 * move_freepages_block(): move the free blocks of @pfn's pageblock from
 * @old_mt's lists to @new_mt's and retype the block. Returns the pages
 * moved, or -1 when the pageblock is not wholly inside the zone.
 */
int64_t vmm_move_freepages_block(struct vmm_machine *m, struct vmm_zone *zone, uint64_t pfn,
				 int old_mt, int new_mt);

/* Count free pages on the lists of @zone (for checks and dumps). */
uint64_t vmm_zone_free_list_pages(const struct vmm_zone *zone);

/*
 * Walk every free list of every zone: types and orders of the heads agree
 * with their lists, blocks are aligned and inside their zone, nothing is
 * listed twice or overlaps, and nr_free and NR_FREE_PAGES match.
 */
long vmm_buddy_check(struct vmm_machine *m, FILE *out);

#endif /* VMM_MM_BUDDY_H */
