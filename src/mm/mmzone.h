/* SPDX-License-Identifier: MIT */
/*
 * Nodes, zones, free areas and the page descriptor: the data the page
 * allocator works on, laid out as Linux lays it out (include/linux/mmzone.h
 * and mm_types.h describe the originals).
 *
 * Ownership: one machine, one host thread at a time, so no locks yet. The
 * per-CPU parts are kept per CPU so that concurrency can come later.
 */
#ifndef VMM_MM_MMZONE_H
#define VMM_MM_MMZONE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <vmm/config.h>
#include <vmm/machine.h>
#include <vmm/page.h>

#include "lib/list.h"
#include "mm/vmstat_items.h"

/* Largest buddy order on x86-64 (Linux 6.x's MAX_PAGE_ORDER). */
#define MAX_PAGE_ORDER 10
#define NR_PAGE_ORDERS (MAX_PAGE_ORDER + 1)
#define MAX_ORDER_NR_PAGES (1ull << MAX_PAGE_ORDER)
/* Pageblocks are 2 MiB on x86-64 (HUGETLB_PAGE_ORDER). */
#define PAGEBLOCK_ORDER 9
#define PAGEBLOCK_NR_PAGES (1ull << PAGEBLOCK_ORDER)

/* SPARSEMEM on x86-64: 128 MiB sections. */
#define SECTION_SIZE_BITS 27
#define PFN_SECTION_SHIFT (SECTION_SIZE_BITS - VMM_PAGE_SHIFT)
#define PAGES_PER_SECTION (1ull << PFN_SECTION_SHIFT)

/* Zone boundaries on x86-64. */
#define MAX_DMA_PFN ((16ull << 20) >> VMM_PAGE_SHIFT)
#define MAX_DMA32_PFN ((4ull << 30) >> VMM_PAGE_SHIFT)

/* Linux's sizeof(struct page): what the memory map costs per frame. */
#define VMM_STRUCT_PAGE_SIZE 64
/* Bytes of simulated memory one node's pg_data_t takes (Linux 6.x x86-64 defconfig). */
#define VMM_PGDAT_SIZE 0x2b000ull
/* struct mem_section_usage: subsection bitmap + pageblock flags, per section. */
#define VMM_SECTION_USAGE_SIZE 40ull
/* PMD_SIZE: the memory map is mapped (and allocated) in 2 MiB units. */
#define VMM_PMD_SIZE (2ull << 20)

enum vmm_migratetype {
	MIGRATE_UNMOVABLE,
	MIGRATE_MOVABLE,
	MIGRATE_RECLAIMABLE,
	MIGRATE_PCPTYPES, /* the number of types on the pcp lists */
	MIGRATE_HIGHATOMIC = MIGRATE_PCPTYPES,
	MIGRATE_CMA,
	MIGRATE_ISOLATE,
	MIGRATE_TYPES
};

enum vmm_zone_watermarks { WMARK_MIN, WMARK_LOW, WMARK_HIGH, WMARK_PROMO, NR_WMARK };

/*
 * The page descriptor, 64 bytes as in Linux. A descriptor that was never
 * written is all zero, and all-zero is a valid state: a page inside a free
 * buddy block that is not the block's head. That is what lets boot skip
 * touching every descriptor (Linux's deferred struct page init has the same
 * aim), so untouched memory map costs no host memory.
 *
 * Node and zone are derived from the pfn (through the pageblock table)
 * rather than stored in flags, for the same reason.
 *
 * The order of the fields serves the order-0 fast paths (page_alloc.c), which
 * store fewer, wider words this way: lru first, so that a list node is its page;
 * flags, index and private, which a free zeroes, side by side; compound before
 * _refcount, which an allocation and a free each set together, and a free
 * tests together.
 */
struct vmm_page {
	struct vmm_list lru;		/* buddy free list, pcp list, LRU */
	uint64_t mapping;		/* simulated kernel address of the owner, or 0 */
	uint64_t flags;			/* 1 << VMM_PG_x */
	uint64_t index;			/* offset in the mapping, in pages */
	uint64_t private;		/* buddy: the order of a free block */
	uint32_t compound;		/* see VMM_PAGE_ALLOC_ORDER and VMM_PAGE_TAIL */
	int32_t refcount;		/* _refcount */
	int32_t mapcount;		/* _mapcount + 1: 0 when not mapped */
	uint32_t page_type;		/* enum vmm_page_type */
};

/*
 * page->compound: the head of an allocated block records the block's order
 * in its low bits (compound or not, as page_owner would), so that the
 * checker can tell the blank descriptors of an allocated block's other pages
 * from lost ones; the tails of a compound page carry VMM_PAGE_TAIL.
 */
#define VMM_PAGE_ALLOC_ORDER 0xffu
#define VMM_PAGE_TAIL 0x80000000u
#define VMM_PAGE_TAIL_OFFSET 0x0fffffffu	/* a tail's distance from its head */
/* On a per-CPU list: private holds the block's order (and, with hot/cold lists, compound's
 * low byte holds the migrate type it was allocated for). */
#define VMM_PAGE_PCP 0x40000000u
/* Taken out of the allocator by a bad_page report; the low byte keeps the block's order. */
#define VMM_PAGE_QUARANTINE 0x20000000u

/* Per-pageblock data: Linux's pageblock_flags bitmap plus the derived node and zone. */
struct vmm_pageblock {
	uint8_t migratetype;
	uint8_t nid;
	uint8_t zone;
	uint8_t skip;			/* compaction's skip hint */
};

_Static_assert(VMM_MAX_NUMNODES <= 256, "a pageblock's node is a byte");

/*
 * A pageblock's node and zone as one number, nid | zone << 8: the two adjacent bytes
 * read as one little-endian 16-bit word (one load on the free fast path).
 */
static inline unsigned pageblock_zone_key(const struct vmm_pageblock *pb)
{
	uint16_t key;

	_Static_assert(offsetof(struct vmm_pageblock, zone) ==
			       offsetof(struct vmm_pageblock, nid) + 1,
		       "nid and zone are adjacent");
	memcpy(&key, &pb->nid, sizeof(key));
	return key;
}

struct vmm_free_area {
	struct vmm_list free_list[MIGRATE_TYPES];
	uint64_t nr_free;		/* blocks of this order, all types */
	uint64_t nr_free_type[MIGRATE_TYPES];
};

/*
 * Per-CPU page lists (Linux 6.x): one list per migrate type for each order
 * up to PAGE_ALLOC_COSTLY_ORDER, and two for pageblock-order (THP) blocks,
 * movable and not.
 */
#define PAGE_ALLOC_COSTLY_ORDER 3
#define NR_LOWORDER_PCP_LISTS (MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1))
#define NR_PCP_THP 2
#define NR_PCP_LISTS (NR_LOWORDER_PCP_LISTS + NR_PCP_THP)
/* CONFIG_PCP_BATCH_SCALE_MAX */
#define PCP_BATCH_SCALE_MAX 5

#define PCPF_PREV_FREE_HIGH_ORDER 0x1u
#define PCPF_FREE_HIGH_BATCH 0x2u

/* Linux 2.6.11's two lists per zone per CPU (VMM_CFG_PCP_HOT_COLD). */
struct vmm_pcp_hot_cold {
	int count;
	int low;
	int high;
	int batch;
	struct vmm_list list;
};

struct vmm_per_cpu_pages {
	int count;			/* pages on the lists */
	int high;			/* free back to the zone above this */
	int high_min;
	int high_max;
	/* pcp_free_high(), kept by pcp_update_free_high(): the order-0 free fast path's one test */
	int free_high;
	/* one word, so that the head stays 32 bytes and the struct 320 (a shift per index) */
	uint8_t flags;			/* PCPF_* */
	int8_t alloc_factor;		/* batch scale for refills (0 .. PCP_BATCH_SCALE_MAX) */
	int16_t batch;			/* refill and drain unit (zone_batchsize(): at most 63) */
	int free_count;			/* pages freed in a row, decays on allocation */
	int free_count_max;		/* batch << PCP_BATCH_SCALE_MAX: where free_count stops */
	struct vmm_list lists[NR_PCP_LISTS];
	struct vmm_pcp_hot_cold hot_cold[2];	/* [0] hot, [1] cold */
};
_Static_assert(sizeof(struct vmm_per_cpu_pages) == 320, "a per-CPU pageset is 320 bytes");

/* zone->flags */
#define ZONE_BOOSTED_WATERMARK 0x1u
#define ZONE_RECLAIM_ACTIVE 0x2u
#define ZONE_BELOW_HIGH 0x4u

struct vmm_pgdat;
struct vmm_cpu_clock;

/* Combinations of the GFP bits that choose a zone and a migrate type (DMA ... RECLAIMABLE). */
#define NR_GFP_ZONE_MOBILITY 32

struct vmm_zone {
	struct vmm_pgdat *zone_pgdat;
	enum vmm_zone_type idx;
	const char *name;
	uint64_t zone_start_pfn;
	uint64_t spanned_pages;
	uint64_t present_pages;
	uint64_t managed_pages;
	uint64_t watermark[NR_WMARK];
	uint64_t watermark_boost;
	uint64_t nr_reserved_highatomic;
	unsigned flags;			/* ZONE_* */
	/* zone_fast_floor() + lowmem_reserve[i], kept by zone_update_fast_floor() */
	int64_t fast_floor[VMM_MAX_NR_ZONES];
	uint64_t lowmem_reserve[VMM_MAX_NR_ZONES];
	int stat_threshold;
	struct vmm_free_area free_area[NR_PAGE_ORDERS];
	int64_t vm_stat[NR_VM_ZONE_STAT_ITEMS];
	/* read through vmm_zone_numa_event(), which adds fast_allocs to hit and local */
	uint64_t vm_numa_event[NR_VM_NUMA_EVENT_ITEMS];
	/*
	 * The order-0 allocations of alloc_order0_fast() (page_alloc.c) from this zone.
	 * Each is one pgalloc_<zone>, numa_hit and numa_local, counted here alone: one
	 * write where there were three. vmm_zone_numa_event() and vmm_vm_event() add it.
	 */
	uint64_t fast_allocs;
	struct vmm_per_cpu_pages *pcp;	/* one per CPU */
};

/*
 * What an order-0 allocation needs on one CPU for one combination of the GFP
 * zone and mobility bits when the per-CPU lists may serve it: where
 * alloc_order0_fast() (page_alloc.c) looks, so that it decodes nothing. Filled
 * with the nodes' fast_zone by update_fast_zones(); vmm_pcp_check() verifies it.
 */
struct vmm_pcp_fast {
	struct vmm_zone *zone;			/* the CPU's node's fast_zone, or no_fast_zone */
	struct vmm_per_cpu_pages *pcp;		/* the CPU's lists of that zone */
	struct vmm_list *list;			/* the order-0 list of the request's type */
	const int64_t *floor;			/* zone->fast_floor[request's highest zone] */
	struct vmm_cpu_clock *clk;		/* the CPU's clock */
	uint64_t pad[3];			/* a power of two: the index is a shift */
};

/*
 * The fast paths' tables for one CPU. m->this_cpu_fast points at the current CPU's
 * (vmm_switch_cpu()), so that alloc_order0_fast() and free_order0_fast() index
 * nothing by CPU. Filled by vmm_pcp_init() and update_fast_zones() (page_alloc.c);
 * vmm_pcp_check() verifies them.
 */
struct vmm_cpu_fast {
	struct vmm_pcp_fast alloc[NR_GFP_ZONE_MOBILITY]; /* by GFP zone and mobility bits */
	struct vmm_cpu_clock *clk;			 /* the CPU's clock */
	/* the CPU's lists of node n's zone z at pageblock_zone_key() n | z << 8 */
	struct vmm_per_cpu_pages *pcp_by_key[VMM_MAX_NR_ZONES << 8];
};

/* One entry of a zonelist; the list ends with a NULL zone. */
struct vmm_zoneref {
	struct vmm_zone *zone;
	int zone_idx;
	int nid;
};

enum { ZONELIST_FALLBACK, ZONELIST_NOFALLBACK, MAX_ZONELISTS };

struct vmm_pgdat {
	unsigned node_id;
	struct vmm_zoneref *zonelists[MAX_ZONELISTS];
	unsigned nr_zonerefs[MAX_ZONELISTS];
	uint8_t node_order[VMM_MAX_NUMNODES];	/* the fallback order build_zonelists chose */
	/*
	 * Where the allocation fast path looks, by the GFP zone and mobility bits: the
	 * first zone of the fallback zonelist a request with them may use, when that zone
	 * is this node's own, else NULL. Set with the zonelists (page_alloc.c).
	 */
	struct vmm_zone *fast_zone[NR_GFP_ZONE_MOBILITY];
	/* kswapd, as far as it exists before reclaim does */
	unsigned kswapd_order;
	int kswapd_highest_zoneidx;
	unsigned kswapd_failures;
	uint64_t kswapd_wakeups;
	struct vmm_zone node_zones[VMM_MAX_NR_ZONES];
	uint64_t node_start_pfn;
	uint64_t node_present_pages;
	uint64_t node_spanned_pages;
	vmm_paddr_t node_data_phys;	/* where boot put this pg_data_t in simulated memory */
	uint64_t zone_movable_pfn;	/* first pfn of ZONE_MOVABLE on the node, or 0 */
	int64_t vm_stat[NR_VM_NODE_STAT_ITEMS];
	unsigned nr_cpus;
};

/*
 * What an order-0 request's free-page count must exceed on the allocation fast
 * path, besides its lowmem reserve: the mark the fast path tests (high, or low
 * while the zone is marked below high; with any boost) plus the HighAtomic
 * reserve it may not use. A boosted zone, which the fast path leaves to the full
 * path (kswapd has a boost to undo), gets a floor no count reaches.
 */
static inline int64_t zone_fast_floor(const struct vmm_zone *z)
{
	if (z->flags & ZONE_BOOSTED_WATERMARK)
		return INT64_MAX / 2;
	return (int64_t)(z->watermark[(z->flags & ZONE_BELOW_HIGH) ? WMARK_LOW : WMARK_HIGH] +
			 z->watermark_boost + z->nr_reserved_highatomic);
}

/*
 * Every write of a field zone_fast_floor() reads, or of lowmem_reserve, is followed by
 * this (vmm_pcp_check() checks). The reserve is added here, where it rarely changes,
 * so that the allocation fast path's test is one load and a compare.
 */
static inline void zone_update_fast_floor(struct vmm_zone *z)
{
	int64_t floor = zone_fast_floor(z);

	for (int i = 0; i < VMM_MAX_NR_ZONES; i++)
		z->fast_floor[i] = floor + (int64_t)z->lowmem_reserve[i];
}

/*
 * What a list's count after an order-0 free must stay below for free_to_pcp() only to
 * add the page: its limit when that lies within its bounds and the zone is under no
 * pressure (nr_pcp_high() would then change nothing), else 0, which no count is below.
 */
static inline int pcp_free_high(const struct vmm_per_cpu_pages *pcp, const struct vmm_zone *z)
{
	int high = pcp->high;

	if (high < pcp->high_min || high > pcp->high_max ||
	    (z->flags & (ZONE_RECLAIM_ACTIVE | ZONE_BELOW_HIGH)))
		return 0;
	return high;
}

/* Every write of a field pcp_free_high() reads is followed by this (vmm_pcp_check() checks). */
static inline void pcp_update_free_high(struct vmm_per_cpu_pages *pcp, const struct vmm_zone *z)
{
	pcp->free_high = pcp_free_high(pcp, z);
}

static inline uint64_t zone_end_pfn(const struct vmm_zone *z)
{
	return z->zone_start_pfn + z->spanned_pages;
}

static inline int zone_is_populated(const struct vmm_zone *z)
{
	return z->present_pages != 0;
}

static inline int zone_managed(const struct vmm_zone *z)
{
	return z->managed_pages != 0;
}

#endif /* VMM_MM_MMZONE_H */
