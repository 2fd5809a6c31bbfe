/* SPDX-License-Identifier: MIT */
#include "mm/buddy.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/compiler.h"
#include "machine.h"
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

static void add_to_free_list(struct vmm_zone *zone, struct vmm_page *page, unsigned order,
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

static void del_page_from_free_list(struct vmm_zone *zone, struct vmm_page *page,
				    unsigned order, int mt)
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
		del_page_from_free_list(zone, buddy, order, buddy_mt);
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
	add_to_free_list(zone, pfn_to_page(&m->sparse, pfn), order, migratetype, to_tail);
}

/*
 * expand(): a block of order @high was taken for a request of order @low;
 * give back the upper halves, largest first, each onto the list of @mt.
 */
static void expand(struct vmm_machine *m, struct vmm_zone *zone, uint64_t pfn, unsigned low,
		   unsigned high, int mt)
{
	while (high > low) {
		high--;
		add_to_free_list(zone, pfn_to_page(&m->sparse, pfn + (1ull << high)), high, mt,
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
		del_page_from_free_list(zone, page, cur, migratetype);
		expand(m, zone, pfn, order, cur, migratetype);
		return pfn;
	}
	return UINT64_MAX;
}

uint64_t vmm_zone_free_list_pages(const struct vmm_zone *zone)
{
	uint64_t pages = 0;

	for (unsigned o = 0; o < NR_PAGE_ORDERS; o++)
		pages += zone->free_area[o].nr_free << o;
	return pages;
}

struct block {
	uint64_t pfn;
	unsigned order;
};

static int block_cmp(const void *a, const void *b)
{
	const struct block *x = a, *y = b;

	return x->pfn < y->pfn ? -1 : x->pfn > y->pfn;
}

/*
 * Check one zone's lists; collects the blocks so overlaps can be found. The
 * scratch memory comes from a context of its own, never failed on purpose:
 * injected failures are for the simulation, not for its checker.
 */
static long buddy_check_zone(struct vmm_machine *m, struct vmm_zone *zone, FILE *out)
{
	struct vmm_hostmem scratch;
	unsigned nid = zone->zone_pgdat->node_id;
	uint64_t nblocks = 0, cap = 0, free_pages = 0, block_pages = 0;
	struct block *blocks = NULL;
	long problems = 0;

	vmm_hostmem_init(&scratch, NULL);
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
				}
				if (nblocks == cap) {
					uint64_t ncap = cap ? cap * 2 : 1024;
					struct block *nb = vmm_hrealloc(&scratch, blocks,
									cap * sizeof(*blocks),
									ncap * sizeof(*blocks));

					if (!nb) {
						vmm_hfree(&scratch, blocks, cap * sizeof(*blocks));
						fprintf(out, "buddy check: out of host memory\n");
						return problems + 1;
					}
					blocks = nb;
					cap = ncap;
				}
				blocks[nblocks++] = (struct block){ pfn, o };
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
	if (nblocks)
		qsort(blocks, nblocks, sizeof(*blocks), block_cmp);
	for (uint64_t i = 1; i < nblocks; i++) {
		if (blocks[i - 1].pfn + (1ull << blocks[i - 1].order) > blocks[i].pfn) {
			fprintf(out, "node %u zone %s: free blocks at %#" PRIx64 " and %#" PRIx64 " overlap\n",
				nid, zone->name, blocks[i - 1].pfn, blocks[i].pfn);
			problems++;
		}
	}
	vmm_hfree(&scratch, blocks, cap * sizeof(*blocks));
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
