/* SPDX-License-Identifier: MIT */
/*
 * The zoned page allocator (Linux's mm/page_alloc.c): GFP decoding,
 * zonelists, watermark checks, per-CPU lists, the fast path
 * (get_page_from_freelist), the slow path, freeing with its checks, NUMA
 * policy and cpusets. The free lists themselves are in buddy.c.
 */
#ifndef VMM_MM_PAGE_ALLOC_H
#define VMM_MM_PAGE_ALLOC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <vmm/gfp.h>

#include "mm/mmzone.h"

struct vmm_machine;

/*
 * alloc_flags (mm/internal.h, Linux 6.4+ names). The low bits pick the
 * watermark. ALLOC_HARDER and ALLOC_HIGH are the pre-6.4 names of
 * ALLOC_NON_BLOCK and ALLOC_MIN_RESERVE.
 */
#define ALLOC_WMARK_MIN WMARK_MIN
#define ALLOC_WMARK_LOW WMARK_LOW
#define ALLOC_WMARK_HIGH WMARK_HIGH
#define ALLOC_NO_WATERMARKS 0x04u
#define ALLOC_WMARK_MASK (ALLOC_NO_WATERMARKS - 1)
#define ALLOC_OOM 0x08u
#define ALLOC_NON_BLOCK 0x10u	/* caller cannot block: dip deeper into reserves */
#define ALLOC_MIN_RESERVE 0x20u /* __GFP_HIGH: may use part of the min reserve */
#define ALLOC_CPUSET 0x40u
#define ALLOC_CMA 0x80u
#define ALLOC_NOFRAGMENT 0x100u
#define ALLOC_HIGHATOMIC 0x200u
#define ALLOC_KSWAPD 0x800u	/* equal to __GFP_KSWAPD_RECLAIM, as in Linux */
#define ALLOC_HARDER ALLOC_NON_BLOCK
#define ALLOC_HIGH ALLOC_MIN_RESERVE
#define ALLOC_RESERVES (ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_HIGHATOMIC | ALLOC_OOM)

/* Reclaim gives up after this many rounds without progress (MAX_RECLAIM_RETRIES). */
#define MAX_RECLAIM_RETRIES 16
/* Slow-path rounds after which a request that Linux would retry forever fails. */
#define VMM_MAX_SLOWPATH_ROUNDS 1000
/* RECLAIM_DISTANCE: node_reclaim only reclaims on nodes this close. */
#define RECLAIM_DISTANCE 30

/* struct alloc_context */
struct vmm_alloc_context {
	const struct vmm_zoneref *zonelist;
	const vmm_nodemask_t *nodemask;
	const struct vmm_zoneref *preferred_zoneref;
	int migratetype;
	enum vmm_zone_type highest_zoneidx;
	bool spread_dirty_pages;
};

/*
 * gfp_zone() as a table lookup, since every allocation asks it: the four zone
 * modifiers (DMA, HIGHMEM, DMA32, MOVABLE) index sixteen 4-bit entries.
 * HIGHMEM means OPT_ZONE_HIGHMEM: ZONE_HIGHMEM on a machine with high memory
 * (CONFIG_HIGHMEM), ZONE_NORMAL on one without, as on x86-64; only
 * HIGHMEM|MOVABLE reaches ZONE_MOVABLE; MOVABLE alone does not change the
 * zone. The machine keeps the table of its configuration (gfp_zone_table,
 * set at boot).
 */
#define GFP_ZONE_MODIFIERS (VMM_GFP_DMA | VMM_GFP_HIGHMEM | VMM_GFP_DMA32 | VMM_GFP_MOVABLE)
#define GFP_ZONE_ENTRY(mods, zone) ((uint64_t)(zone) << ((mods)*4))
#define GFP_ZONE_TABLE(opt_zone_highmem)                                                  \
	(GFP_ZONE_ENTRY(0, VMM_ZONE_NORMAL) | GFP_ZONE_ENTRY(VMM_GFP_DMA, VMM_ZONE_DMA) | \
	 GFP_ZONE_ENTRY(VMM_GFP_HIGHMEM, (opt_zone_highmem)) |                            \
	 GFP_ZONE_ENTRY(VMM_GFP_DMA32, VMM_ZONE_DMA32) |                                  \
	 GFP_ZONE_ENTRY(VMM_GFP_MOVABLE, VMM_ZONE_NORMAL) |                               \
	 GFP_ZONE_ENTRY(VMM_GFP_MOVABLE | VMM_GFP_DMA, VMM_ZONE_DMA) |                    \
	 GFP_ZONE_ENTRY(VMM_GFP_MOVABLE | VMM_GFP_HIGHMEM, VMM_ZONE_MOVABLE) |            \
	 GFP_ZONE_ENTRY(VMM_GFP_MOVABLE | VMM_GFP_DMA32, VMM_ZONE_DMA32))
#define GFP_ZONE_TABLE_HIGHMEM GFP_ZONE_TABLE(VMM_ZONE_HIGHMEM)
#define GFP_ZONE_TABLE_NO_HIGHMEM GFP_ZONE_TABLE(VMM_ZONE_NORMAL)

/* More than one of DMA, DMA32 and HIGHMEM: no zone satisfies all of them. */
static inline bool gfp_zone_bad(vmm_gfp_t gfp)
{
	unsigned z = gfp & (VMM_GFP_DMA | VMM_GFP_HIGHMEM | VMM_GFP_DMA32);

	return z & (z - 1);
}

/* @table's entry for @gfp, meaningful when !gfp_zone_bad(@gfp). */
static inline enum vmm_zone_type gfp_zone_entry(uint64_t table, vmm_gfp_t gfp)
{
	return (enum vmm_zone_type)((table >> ((gfp & GFP_ZONE_MODIFIERS) * 4)) & 0xf);
}

/*
 * gfp_zone() on a machine whose table is @table: the highest zone a request
 * may use, or -1 for an invalid combination.
 */
static inline int vmm_gfp_zone(uint64_t table, vmm_gfp_t gfp)
{
	return gfp_zone_bad(gfp) ? -1 : (int)gfp_zone_entry(table, gfp);
}

/*
 * The mobility bits shifted down are the migrate type (as Linux's GFP_MOVABLE_SHIFT
 * arranges): MOVABLE is 1, RECLAIMABLE 2, both together invalid.
 */
#define GFP_MOVABLE_SHIFT 3
#define GFP_MOBILITY_MASK (VMM_GFP_MOVABLE | VMM_GFP_RECLAIMABLE)
_Static_assert(VMM_GFP_MOVABLE >> GFP_MOVABLE_SHIFT == MIGRATE_MOVABLE &&
		       VMM_GFP_RECLAIMABLE >> GFP_MOVABLE_SHIFT == MIGRATE_RECLAIMABLE,
	       "the GFP mobility bits encode the migrate type");

/* The bits that index pgdat->fast_zone. */
#define GFP_ZONE_MOBILITY (GFP_ZONE_MODIFIERS | VMM_GFP_RECLAIMABLE)
_Static_assert(GFP_ZONE_MOBILITY == NR_GFP_ZONE_MOBILITY - 1,
	       "the zone and mobility bits are the low bits of a GFP mask");

/* gfp_migratetype(), or -1 when both MOVABLE and RECLAIMABLE are set. */
int vmm_gfp_migratetype(const struct vmm_machine *m, vmm_gfp_t gfp);
/* gfp_to_alloc_flags() of the slow path. */
unsigned vmm_gfp_to_alloc_flags(vmm_gfp_t gfp, unsigned order);

/* Zonelists: built at boot (build_all_zonelists). */
int vmm_build_all_zonelists(struct vmm_machine *m);
void vmm_free_zonelists(struct vmm_machine *m);
/* The first zone of @zl at or below @highest_zoneidx whose node is in @nodemask. */
const struct vmm_zoneref *vmm_first_zones_zonelist(const struct vmm_zoneref *zl,
						   enum vmm_zone_type highest_zoneidx,
						   const vmm_nodemask_t *nodemask);
const struct vmm_zoneref *vmm_next_zones_zonelist(const struct vmm_zoneref *z,
						  enum vmm_zone_type highest_zoneidx,
						  const vmm_nodemask_t *nodemask);

/* Watermarks including any boost. */
static inline uint64_t wmark_pages(const struct vmm_zone *z, unsigned i)
{
	return z->watermark[i] + z->watermark_boost;
}

bool vmm_zone_watermark_ok(const struct vmm_zone *z, unsigned order, uint64_t mark,
			   enum vmm_zone_type highest_zoneidx, unsigned alloc_flags,
			   int64_t free_pages);
bool vmm_zone_watermark_fast(const struct vmm_zone *z, unsigned order, uint64_t mark,
			     enum vmm_zone_type highest_zoneidx, unsigned alloc_flags);

/* Per-CPU lists. */
int vmm_pcp_init(struct vmm_machine *m);
void vmm_pcp_setup_zone(struct vmm_machine *m, struct vmm_zone *z);
void vmm_drain_zone_pages(struct vmm_machine *m, struct vmm_zone *z, unsigned cpu);
static inline int order_to_pindex(int migratetype, unsigned order)
{
	if (order > PAGE_ALLOC_COSTLY_ORDER)
		return NR_LOWORDER_PCP_LISTS + (migratetype == MIGRATE_MOVABLE);
	return MIGRATE_PCPTYPES * (int)order + migratetype;
}
static inline unsigned pindex_to_order(int pindex)
{
	return pindex >= NR_LOWORDER_PCP_LISTS ? PAGEBLOCK_ORDER
					       : (unsigned)(pindex / MIGRATE_PCPTYPES);
}
static inline bool pcp_allowed_order(unsigned order)
{
	return order <= PAGE_ALLOC_COSTLY_ORDER || order == PAGEBLOCK_ORDER;
}

/* The core entry (__alloc_pages) and the page cache's (__page_cache_alloc, with cpuset spread). */
struct vmm_page *vmm_alloc_pages_core(struct vmm_machine *m, vmm_gfp_t gfp, unsigned order,
				      int preferred_nid, const vmm_nodemask_t *nodemask);
struct vmm_page *vmm_page_cache_alloc(struct vmm_machine *m, vmm_gfp_t gfp, unsigned order);
/*
 * vmm_alloc_pages(@m, @gfp, 0) for a page the caller writes whole at once (a zeroed page,
 * a COW copy's destination): the order-0 fast path for __GFP_ZERO too, and the frame of
 * the page the next such request will take prefetched on the host.
 */
struct vmm_page *vmm_alloc_page_filled(struct vmm_machine *m, vmm_gfp_t gfp);
/* cpuset_mem_spread_node(): the next node of mems_allowed, round robin. */
int vmm_cpuset_mem_spread_node(struct vmm_machine *m);
/* __cpuset_zone_allowed() */
bool vmm_cpuset_zone_allowed(const struct vmm_machine *m, const struct vmm_zone *z,
			     vmm_gfp_t gfp);

/* HighAtomic reserve. */
void vmm_reserve_highatomic_pageblock(struct vmm_machine *m, uint64_t pfn, unsigned order,
				      struct vmm_zone *zone);
bool vmm_unreserve_highatomic_pageblock(struct vmm_machine *m,
					const struct vmm_alloc_context *ac, bool force);

/* Per-CPU lists, free lists and bad pages, for vmm_machine_check(). */
long vmm_pcp_check(struct vmm_machine *m, FILE *out);

/* Recompute what depends on the sysctls (watermarks, reserves, pcp sizes). */
void vmm_page_alloc_sysctl_changed(struct vmm_machine *m);

#endif /* VMM_MM_PAGE_ALLOC_H */
