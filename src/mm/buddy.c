/* SPDX-License-Identifier: MIT */
#include "mm/buddy.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/compiler.h"
#include "machine.h"
#include "mm/debug.h"
#include "mm/sparse.h"
#include "mm/zone.h"

int vmm_get_pfnblock_migratetype(struct vmm_machine *m, uint64_t pfn)
{
	return pfn_to_pageblock(&m->sparse, pfn)->migratetype;
}

void vmm_set_pageblock_migratetype(struct vmm_machine *m, uint64_t pfn, int mt)
{
	pfn_to_pageblock(&m->sparse, pfn)->migratetype = (uint8_t)mt;
}

/*
 * Free-page accounting follows the lists: NR_FREE_PAGES counts every free
 * page outside isolated pageblocks, NR_FREE_PAGES_BLOCKS those in free
 * blocks of at least a whole pageblock.
 */
static void account_freepages(struct vmm_zone *zone, int64_t nr_pages, unsigned order, int mt)
{
	if (mt == MIGRATE_ISOLATE)
		return;
	zone->vm_stat[NR_FREE_PAGES] += nr_pages;
	if (order >= PAGEBLOCK_ORDER)
		zone->vm_stat[NR_FREE_PAGES_BLOCKS] += nr_pages;
}

void vmm_add_to_free_list(struct vmm_zone *zone, struct vmm_page *page, unsigned order,
			  int mt, bool tail)
{
	struct vmm_free_area *area = &zone->free_area[order];

	page->page_type = VMM_PGTY_BUDDY;
	page->private = order;
	if (tail)
		vmm_list_add_tail(&page->lru, &area->free_list[mt]);
	else
		vmm_list_add(&page->lru, &area->free_list[mt]);
	area->nr_free++;
	area->nr_free_type[mt]++;
	account_freepages(zone, 1ll << order, order, mt);
}

void vmm_del_page_from_free_list(struct vmm_zone *zone, struct vmm_page *page, unsigned order,
				 int mt)
{
	struct vmm_free_area *area = &zone->free_area[order];

	vmm_list_del(&page->lru);
	page->lru.next = page->lru.prev = NULL;
	page->page_type = VMM_PGTY_NONE;
	page->private = 0;
	area->nr_free--;
	area->nr_free_type[mt]--;
	account_freepages(zone, -(1ll << order), order, mt);
}

/*
 * page_is_buddy(): the candidate must exist, be the head of a free block of
 * exactly this order, and lie in the same zone.
 */
static bool page_is_buddy(struct vmm_machine *m, struct vmm_zone *zone, uint64_t buddy_pfn,
			  unsigned order)
{
	struct vmm_page *buddy;

	if (!vmm_sparse_pfn_valid(&m->sparse, buddy_pfn))
		return false;
	if (buddy_pfn < zone->zone_start_pfn || buddy_pfn >= zone_end_pfn(zone))
		return false;
	buddy = pfn_to_page(&m->sparse, buddy_pfn);
	return PageBuddy(buddy) && buddy_order(buddy) == order &&
	       vmm_pfn_zone(m, buddy_pfn) == zone;
}

/*
 * Merging, as Linux's __free_one_page does it.
 *
 * A free block of order k at pfn p has one buddy: the block of the same
 * order at p ^ (1 << k), the other half of the order k+1 block that
 * contains both. While that buddy is itself free, with the same order and
 * in the same zone, take it off its list and continue with the combined
 * block (which starts at p & buddy_pfn) one order up. Blocks of a pageblock
 * or more only merge when both migrate types are ordinary (not isolated,
 * HighAtomic or CMA); the buddy's pageblocks then take the freed block's
 * type, so that a later split puts every part on the right list.
 *
 * Where the merged block goes on its list: boot memory goes to the tail
 * (FPI_TO_TAIL). Otherwise, when the block is not of the highest order and
 * its buddy one level up is free, the block is likely to merge soon, so it
 * goes to the tail too, leaving it undisturbed by allocations from the head.
 */
void vmm_free_one_page(struct vmm_machine *m, struct vmm_zone *zone, uint64_t pfn,
		       unsigned order, int migratetype, unsigned fpi_flags)
{
	const struct vmm_cost_table *cost = &m->clock.cost;
	bool to_tail;

	while (order < MAX_PAGE_ORDER) {
		uint64_t buddy_pfn = pfn ^ (1ull << order);
		struct vmm_page *buddy;
		int buddy_mt;

		if (!page_is_buddy(m, zone, buddy_pfn, order))
			break;
		buddy = pfn_to_page(&m->sparse, buddy_pfn);
		buddy_mt = vmm_get_pfnblock_migratetype(m, buddy_pfn);
		if (order >= PAGEBLOCK_ORDER && buddy_mt != migratetype) {
			if (!migratetype_is_mergeable(migratetype) ||
			    !migratetype_is_mergeable(buddy_mt))
				break;
			for (uint64_t p = buddy_pfn; p < buddy_pfn + (1ull << order);
			     p += PAGEBLOCK_NR_PAGES)
				vmm_set_pageblock_migratetype(m, p, migratetype);
		}
		/* the buddy sits on the list of its pageblock's type as it was */
		vmm_del_page_from_free_list(zone, buddy, order, buddy_mt);
		vmm_charge(m, VMM_CYC_FREE, cost->free_buddy);
		pfn &= buddy_pfn;
		order++;
	}

	if (fpi_flags & FPI_TO_TAIL) {
		to_tail = true;
	} else if (order >= MAX_PAGE_ORDER - 1) {
		to_tail = false;
	} else {
		uint64_t higher_pfn = ALIGN_DOWN(pfn, 1ull << (order + 1));
		uint64_t higher_buddy = higher_pfn ^ (1ull << (order + 1));

		to_tail = page_is_buddy(m, zone, higher_buddy, order + 1);
	}
	vmm_add_to_free_list(zone, pfn_to_page(&m->sparse, pfn), order, migratetype, to_tail);
}

/*
 * expand(): a block of order @high was taken for a request of order @low;
 * give back the upper halves, largest first, each onto the list of @mt.
 */
void vmm_expand(struct vmm_machine *m, struct vmm_zone *zone, uint64_t pfn, unsigned low,
		   unsigned high, int mt)
{
	while (high > low) {
		high--;
		vmm_add_to_free_list(zone, pfn_to_page(&m->sparse, pfn + (1ull << high)), high, mt,
				 false);
	}
}

uint64_t vmm_rmqueue_smallest(struct vmm_machine *m, struct vmm_zone *zone, unsigned order,
			      int migratetype)
{
	for (unsigned cur = order; cur < NR_PAGE_ORDERS; cur++) {
		struct vmm_list *list = &zone->free_area[cur].free_list[migratetype];
		struct vmm_page *page;
		uint64_t pfn;

		if (vmm_list_empty(list))
			continue;
		page = vmm_list_first_entry(list, struct vmm_page, lru);
		pfn = page_to_pfn(&m->sparse, page);
		vmm_del_page_from_free_list(zone, page, cur, migratetype);
		vmm_expand(m, zone, pfn, order, cur, migratetype);
		return pfn;
	}
	return UINT64_MAX;
}

/*
 * Linux's fallback order: when a type's own lists are empty, which other
 * types' free blocks it may take, in order.
 */
static const int fallbacks[MIGRATE_PCPTYPES][MIGRATE_PCPTYPES - 1] = {
	[MIGRATE_UNMOVABLE] = { MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE },
	[MIGRATE_MOVABLE] = { MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE },
	[MIGRATE_RECLAIMABLE] = { MIGRATE_UNMOVABLE, MIGRATE_MOVABLE },
};

int vmm_fallback_type(int migratetype, int i)
{
	return fallbacks[migratetype][i];
}

/* Move a free block from one type's list to another's, to the tail (move_to_free_list). */
static void move_to_free_list(struct vmm_zone *zone, struct vmm_page *page, unsigned order,
			      int old_mt, int new_mt)
{
	vmm_del_page_from_free_list(zone, page, order, old_mt);
	vmm_add_to_free_list(zone, page, order, new_mt, true);
}

void vmm_change_pageblock_range(struct vmm_machine *m, uint64_t pfn, unsigned order, int mt)
{
	uint64_t n = VMM_MAX(1ull << order, PAGEBLOCK_NR_PAGES);

	for (uint64_t p = ALIGN_DOWN(pfn, PAGEBLOCK_NR_PAGES); p < pfn + n; p += PAGEBLOCK_NR_PAGES)
		vmm_set_pageblock_migratetype(m, p, mt);
}

/*
 * prep_move_freepages_block(): whether @pfn's pageblock lies wholly in
 * @zone, and how many of its pages are free and how many in use but movable
 * (on an LRU list).
 */
bool vmm_prep_move_freepages_block(struct vmm_machine *m, struct vmm_zone *zone, uint64_t pfn,
				   uint64_t *start_pfn, uint64_t *free_pages,
				   uint64_t *movable_pages)
{
	uint64_t start = ALIGN_DOWN(pfn, PAGEBLOCK_NR_PAGES), end = start + PAGEBLOCK_NR_PAGES;

	*start_pfn = start;
	if (start < zone->zone_start_pfn || end > zone_end_pfn(zone))
		return false;
	if (!free_pages)
		return true;
	*free_pages = *movable_pages = 0;
	for (uint64_t p = start; p < end;) {
		struct vmm_page *page = pfn_to_page(&m->sparse, p);

		if (PageBuddy(page)) {
			uint64_t n = 1ull << buddy_order(page);

			*free_pages += n;
			p += n;
			continue;
		}
		if (page_flag(page, VMM_PG_lru))
			(*movable_pages)++;
		p++;
	}
	return true;
}

/* __move_freepages_block(): move every free block of the pageblock to @new_mt's lists. */
static uint64_t move_freepages(struct vmm_machine *m, struct vmm_zone *zone, uint64_t start,
			       int old_mt, int new_mt)
{
	uint64_t moved = 0;

	for (uint64_t p = start; p < start + PAGEBLOCK_NR_PAGES;) {
		struct vmm_page *page = pfn_to_page(&m->sparse, p);
		unsigned order;

		if (!PageBuddy(page)) {
			p++;
			continue;
		}
		order = buddy_order(page);
		move_to_free_list(zone, page, order, old_mt, new_mt);
		p += 1ull << order;
		moved += 1ull << order;
	}
	return moved;
}

int64_t vmm_move_freepages_block(struct vmm_machine *m, struct vmm_zone *zone, uint64_t pfn,
				 int old_mt, int new_mt)
{
	uint64_t start;
	int64_t moved;

	if (!vmm_prep_move_freepages_block(m, zone, pfn, &start, NULL, NULL))
		return -1;
	moved = (int64_t)move_freepages(m, zone, start, old_mt, new_mt);
	vmm_set_pageblock_migratetype(m, start, new_mt);
	return moved;
}

/*
 * can_steal_fallback(): a fallback may claim the whole pageblock when the
 * free block is big (half a pageblock or more), or when the request is for
 * an unmovable or reclaimable page (which would fragment the block anyway),
 * or when grouping by mobility is off.
 */
static bool can_steal_fallback(const struct vmm_machine *m, unsigned order, int start_mt)
{
	if (order >= PAGEBLOCK_ORDER)
		return true;
	return order >= PAGEBLOCK_ORDER / 2 || start_mt == MIGRATE_RECLAIMABLE ||
	       start_mt == MIGRATE_UNMOVABLE || m->page_group_by_mobility_disabled;
}

int vmm_find_suitable_fallback(const struct vmm_machine *m, const struct vmm_free_area *area,
			       unsigned order, int migratetype, bool only_stealable,
			       bool *can_steal)
{
	*can_steal = false;
	if (!area->nr_free)
		return -1;
	for (int i = 0; i < MIGRATE_PCPTYPES - 1; i++) {
		int fallback_mt = fallbacks[migratetype][i];

		if (vmm_list_empty(&area->free_list[fallback_mt]))
			continue;
		if (can_steal_fallback(m, order, migratetype))
			*can_steal = true;
		if (!only_stealable || *can_steal)
			return fallback_mt;
	}
	return -1;
}

/*
 * boost_watermark(): fragmentation-causing fallbacks raise the zone's
 * watermarks by a pageblock (up to watermark_boost_factor/10000 of the high
 * watermark), so kswapd reclaims a little extra and the fragmentation gets
 * undone. Tiny zones are left alone.
 */
static bool boost_watermark(struct vmm_machine *m, struct vmm_zone *zone)
{
	uint64_t max_boost;

	if (!m->sysctl.watermark_boost_factor)
		return false;
	if (PAGEBLOCK_NR_PAGES * 4 > zone->managed_pages)
		return false;
	max_boost = zone->watermark[WMARK_HIGH] * m->sysctl.watermark_boost_factor / 10000;
	max_boost = VMM_MAX(PAGEBLOCK_NR_PAGES, max_boost);
	zone->watermark_boost = VMM_MIN(zone->watermark_boost + PAGEBLOCK_NR_PAGES, max_boost);
	zone_update_fast_floor(zone);
	return true;
}

/*
 * steal_suitable_fallback() (Linux 6.10+): take @page (a free block of
 * @current_order on @block_type's list) for an allocation of @order and
 * @start_type. A block of a pageblock or more becomes @start_type outright.
 * A smaller one may claim its whole pageblock when @whole_block and at
 * least half of the block is free or already used compatibly; otherwise
 * only the block itself is taken, and its leftovers stay on the lists of
 * the pageblock's own type.
 */
static uint64_t steal_suitable_fallback(struct vmm_machine *m, struct vmm_zone *zone,
					uint64_t pfn, unsigned current_order, unsigned order,
					int start_type, unsigned alloc_flags, bool whole_block)
{
	struct vmm_page *page = pfn_to_page(&m->sparse, pfn);
	int block_type = vmm_get_pfnblock_migratetype(m, pfn);
	uint64_t start, free_pages, movable_pages, alike_pages;

	if (block_type == MIGRATE_HIGHATOMIC)
		goto single_page;

	if (current_order >= PAGEBLOCK_ORDER) {
		vmm_del_page_from_free_list(zone, page, current_order, block_type);
		vmm_change_pageblock_range(m, pfn, current_order, start_type);
		vmm_expand(m, zone, pfn, order, current_order, start_type);
		m->pa_stats.pageblock_steals++;
		vmm_charge(m, VMM_CYC_ALLOC, m->clock.cost.alloc_steal_block);
		return pfn;
	}

	/* ALLOC_KSWAPD equals __GFP_KSWAPD_RECLAIM: only then is kswapd asked to undo the boost */
	if (boost_watermark(m, zone) && (alloc_flags & 0x800u)) {
		zone->flags |= ZONE_BOOSTED_WATERMARK;
		zone_update_fast_floor(zone);
	}

	if (!whole_block)
		goto single_page;
	if (!vmm_prep_move_freepages_block(m, zone, pfn, &start, &free_pages, &movable_pages))
		goto single_page;

	if (start_type == MIGRATE_MOVABLE)
		alike_pages = movable_pages;
	else if (block_type == MIGRATE_MOVABLE)
		alike_pages = PAGEBLOCK_NR_PAGES - (free_pages + movable_pages);
	else
		alike_pages = 0;
	if (free_pages + alike_pages >= (1ull << (PAGEBLOCK_ORDER - 1)) ||
	    m->page_group_by_mobility_disabled) {
		move_freepages(m, zone, start, block_type, start_type);
		vmm_set_pageblock_migratetype(m, start, start_type);
		m->pa_stats.pageblock_steals++;
		vmm_charge(m, VMM_CYC_ALLOC, m->clock.cost.alloc_steal_block);
		return vmm_rmqueue_smallest(m, zone, order, start_type);
	}

single_page:
	vmm_del_page_from_free_list(zone, page, current_order, block_type);
	vmm_expand(m, zone, pfn, order, current_order, block_type);
	return pfn;
}

uint64_t vmm_rmqueue_fallback(struct vmm_machine *m, struct vmm_zone *zone, unsigned order,
			      int start_mt, unsigned alloc_flags)
{
	unsigned min_order = order;
	int current_order, fallback_mt = -1;
	bool can_steal = false;
	struct vmm_page *page;

	vmm_charge(m, VMM_CYC_ALLOC, m->clock.cost.alloc_fallback);
	/* ALLOC_NOFRAGMENT (0x100): only whole pageblocks may change hands */
	if (order < PAGEBLOCK_ORDER && (alloc_flags & 0x100u))
		min_order = PAGEBLOCK_ORDER;

	for (current_order = MAX_PAGE_ORDER; current_order >= (int)min_order; current_order--) {
		fallback_mt = vmm_find_suitable_fallback(m, &zone->free_area[current_order],
							 (unsigned)current_order, start_mt, false,
							 &can_steal);
		if (fallback_mt == -1)
			continue;
		/*
		 * A movable request that may not claim the block would split a
		 * large block of another type for nothing: take the smallest
		 * block that serves instead.
		 */
		if (!can_steal && start_mt == MIGRATE_MOVABLE && current_order > (int)order)
			goto find_smallest;
		goto do_steal;
	}
	return UINT64_MAX;

find_smallest:
	for (current_order = (int)order; current_order < NR_PAGE_ORDERS; current_order++) {
		fallback_mt = vmm_find_suitable_fallback(m, &zone->free_area[current_order],
							 (unsigned)current_order, start_mt, false,
							 &can_steal);
		if (fallback_mt != -1)
			break;
	}
	VMM_BUG_ON(m, current_order > MAX_PAGE_ORDER);

do_steal:
	page = vmm_list_first_entry(&zone->free_area[current_order].free_list[fallback_mt],
				    struct vmm_page, lru);
	m->pa_stats.fallbacks++;
	return steal_suitable_fallback(m, zone, page_to_pfn(&m->sparse, page),
				       (unsigned)current_order, order, start_mt, alloc_flags,
				       can_steal);
}

uint64_t vmm_zone_free_list_pages(const struct vmm_zone *zone)
{
	uint64_t pages = 0;

	for (unsigned o = 0; o < NR_PAGE_ORDERS; o++)
		pages += zone->free_area[o].nr_free << o;
	return pages;
}

/*
 * Set bits [@i, @i + @n) of @bits; returns whether one of them was set
 * already. A word at a time: a block of order 6 or more fills whole words.
 */
static bool mark_pages(uint64_t *bits, uint64_t i, uint64_t n)
{
	uint64_t seen = 0;

	while (n) {
		unsigned off = (unsigned)(i % 64);
		uint64_t k = VMM_MIN(n, 64 - off);
		uint64_t mask = (k == 64 ? ~0ull : (1ull << k) - 1) << off;

		seen |= bits[i / 64] & mask;
		bits[i / 64] |= mask;
		i += k;
		n -= k;
	}
	return seen;
}

/*
 * Check one zone's lists; marks each block's pages in a bitmap of the zone,
 * so a block that overlaps another finds its pages marked. The scratch
 * memory comes from a context of its own, never failed on purpose: injected
 * failures are for the simulation, not for its checker.
 */
static long buddy_check_zone(struct vmm_machine *m, struct vmm_zone *zone, FILE *out)
{
	struct vmm_hostmem scratch;
	unsigned nid = zone->zone_pgdat->node_id;
	/* bit 0 is the first pfn of the zone's first 64-page group */
	uint64_t base = zone->zone_start_pfn & ~63ull, free_pages = 0, block_pages = 0;
	size_t words = (size_t)((zone_end_pfn(zone) - base + 63) / 64);
	uint64_t *bits;
	long problems = 0;

	vmm_hostmem_init(&scratch, NULL);
	bits = vmm_hcalloc(&scratch, words ? words : 1, sizeof(*bits));
	if (!bits) {
		fprintf(out, "buddy check: out of host memory\n");
		return 1;
	}
	for (unsigned o = 0; o < NR_PAGE_ORDERS; o++) {
		uint64_t count = 0;

		for (int t = 0; t < MIGRATE_TYPES; t++) {
			struct vmm_list *head = &zone->free_area[o].free_list[t], *pos;
			uint64_t type_count = 0;

			vmm_list_for_each(pos, head) {
				struct vmm_page *page = vmm_list_entry(pos, struct vmm_page, lru);
				uint64_t pfn = page_to_pfn(&m->sparse, page);

				if (pos->next->prev != pos) {
					fprintf(out, "node %u zone %s order %u: broken list link at pfn %#" PRIx64 "\n",
						nid, zone->name, o, pfn);
					problems++;
					break;
				}
				if (!PageBuddy(page) || buddy_order(page) != o) {
					fprintf(out, "node %u zone %s order %u: pfn %#" PRIx64 " listed but not a buddy of that order\n",
						nid, zone->name, o, pfn);
					problems++;
				}
				if (!IS_ALIGNED(pfn, 1ull << o) || pfn < zone->zone_start_pfn ||
				    pfn + (1ull << o) > zone_end_pfn(zone)) {
					fprintf(out, "node %u zone %s order %u: block %#" PRIx64 " misaligned or outside the zone\n",
						nid, zone->name, o, pfn);
					problems++;
				} else if (mark_pages(bits, pfn - base, 1ull << o)) {
					fprintf(out, "node %u zone %s order %u: free block %#" PRIx64 " overlaps another free block\n",
						nid, zone->name, o, pfn);
					problems++;
				}
				type_count++;
				free_pages += 1ull << o;
				if (o >= PAGEBLOCK_ORDER)
					block_pages += 1ull << o;
			}
			if (type_count != zone->free_area[o].nr_free_type[t]) {
				fprintf(out, "node %u zone %s order %u type %d: %" PRIu64 " listed, count says %" PRIu64 "\n",
					nid, zone->name, o, t, type_count,
					zone->free_area[o].nr_free_type[t]);
				problems++;
			}
			count += type_count;
		}
		if (count != zone->free_area[o].nr_free) {
			fprintf(out, "node %u zone %s order %u: %" PRIu64 " listed, nr_free %" PRIu64 "\n",
				nid, zone->name, o, count, zone->free_area[o].nr_free);
			problems++;
		}
	}
	vmm_hfree(&scratch, bits, (words ? words : 1) * sizeof(*bits));
	if ((int64_t)free_pages != zone->vm_stat[NR_FREE_PAGES] ||
	    (int64_t)block_pages != zone->vm_stat[NR_FREE_PAGES_BLOCKS]) {
		fprintf(out, "node %u zone %s: lists hold %" PRIu64 " free pages, counters say %" PRId64 "\n",
			nid, zone->name, free_pages, zone->vm_stat[NR_FREE_PAGES]);
		problems++;
	}
	return problems;
}

long vmm_buddy_check(struct vmm_machine *m, FILE *out)
{
	struct vmm_zone *z;
	long problems = 0;

	for_each_zone(m, z)
		problems += buddy_check_zone(m, z, out);
	return problems;
}
