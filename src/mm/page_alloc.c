/* SPDX-License-Identifier: MIT */
/*
 * The zoned page allocator, modelled on Linux 6.x's mm/page_alloc.c (seed
 * 000 section 1.3, seed 001 section 2.5 and seed 003 sections 8.1.4-8.1.9 walk
 * through the mechanisms). What each function models is named in its
 * comment; the code is libvmm's own.
 *
 * A request flows: vmm_alloc_pages() applies the NUMA policy, then
 * alloc_pages_core() (__alloc_pages) decodes the GFP flags into an
 * allocation context and tries get_page_from_freelist() at the low
 * watermark; if that fails, the slow path wakes kswapd, lowers the
 * watermark to min, tries compaction and reclaim, retries by Linux's rules
 * and ends at the OOM killer. rmqueue() serves small orders from the
 * current CPU's lists and others from the zone's free lists, falling back
 * to other migrate types as buddy.c decides.
 */
#include "mm/page_alloc.h"

#include <inttypes.h>
#include <string.h>

#include <vmm/errors.h>

#include "lib/compiler.h"
#include "machine.h"
#include "mm/buddy.h"
#include "mm/debug.h"
#include "mm/mmap.h"
#include "mm/page_zero.h"
#include "mm/reclaim.h"
#include "mm/sparse.h"
#include "mm/zone.h"

/* PAGE_OFFSET without KASLR: the direct map's base for 4- and 5-level paging. */
#define PAGE_OFFSET_L4 0xffff888000000000ull
#define PAGE_OFFSET_L5 0xff11000000000000ull

/*
 * For the few helpers of the allocation and free fast paths that the compiler
 * would otherwise leave out of line: those paths are a handful of loads and stores,
 * and a call's register spills are a good part of their cost.
 */
#define FAST_INLINE inline __attribute__((always_inline))

/* PENALTY_FOR_NODE_WITH_CPUS in find_next_best_node(). */
#define PENALTY_FOR_NODE_WITH_CPUS 1

/* Flags a page may not carry when it is freed or allocated (PAGE_FLAGS_CHECK_AT_FREE). */
#define PAGE_FLAGS_CHECK_AT_FREE                                                            \
	((1ull << VMM_PG_lru) | (1ull << VMM_PG_locked) | (1ull << VMM_PG_private) |         \
	 (1ull << VMM_PG_private_2) | (1ull << VMM_PG_writeback) | (1ull << VMM_PG_reserved) | \
	 (1ull << VMM_PG_active) | (1ull << VMM_PG_unevictable) | (1ull << VMM_PG_mlocked))
#define PAGE_FLAGS_CHECK_AT_PREP (~0ull & ((1ull << VMM_NR_PAGEFLAGS) - 1))

static inline uint64_t pfn_of(const struct vmm_machine *m, const struct vmm_page *page)
{
	return page_to_pfn(&m->sparse, page);
}

static inline struct vmm_page *page_of(const struct vmm_machine *m, uint64_t pfn)
{
	return pfn_to_page(&m->sparse, pfn);
}

static inline int numa_node_id(const struct vmm_machine *m)
{
	return m->cfg.cpu_node[m->current_cpu];
}

static inline bool node_in(const vmm_nodemask_t *mask, unsigned nid)
{
	return !mask || ((*mask >> nid) & 1);
}

static inline struct vmm_per_cpu_pages *this_pcp(struct vmm_machine *m, struct vmm_zone *z)
{
	return &z->pcp[m->current_cpu];
}

/* What follows a change of zone->flags' ZONE_BELOW_HIGH: the fast paths' copies of it. */
static void zone_flags_changed(struct vmm_machine *m, struct vmm_zone *z)
{
	zone_update_fast_floor(z);
	for (unsigned c = 0; c < m->nr_cpus; c++)
		pcp_update_free_high(&z->pcp[c], z);
}

static inline bool hot_cold(const struct vmm_machine *m)
{
	return m->cfg.flags & VMM_CFG_PCP_HOT_COLD;
}

/* ------------------------------------------------------------------ */
/* GFP decoding                                                        */
/* ------------------------------------------------------------------ */

int vmm_gfp_migratetype(const struct vmm_machine *m, vmm_gfp_t gfp)
{
	unsigned mob = gfp & GFP_MOBILITY_MASK;

	if (mob == GFP_MOBILITY_MASK)
		return -1;
	if (m->page_group_by_mobility_disabled)
		return MIGRATE_UNMOVABLE;
	return (int)(mob >> GFP_MOVABLE_SHIFT);
}

/*
 * gfp_to_alloc_flags() (6.4+): the slow path's watermark is min; __GFP_HIGH
 * may use half of it; a caller that cannot block takes a further quarter
 * and, for order > 0, the HighAtomic reserve, and is not held to its cpuset.
 */
unsigned vmm_gfp_to_alloc_flags(vmm_gfp_t gfp, unsigned order)
{
	unsigned alloc_flags = ALLOC_WMARK_MIN | ALLOC_CPUSET;

	/* __GFP_HIGH is ALLOC_MIN_RESERVE and __GFP_KSWAPD_RECLAIM is ALLOC_KSWAPD, bit for bit */
	alloc_flags |= gfp & (VMM_GFP_HIGH | VMM_GFP_KSWAPD_RECLAIM);
	if (!(gfp & VMM_GFP_DIRECT_RECLAIM)) {
		if (!(gfp & VMM_GFP_NOMEMALLOC)) {
			alloc_flags |= ALLOC_NON_BLOCK;
			if (order > 0)
				alloc_flags |= ALLOC_HIGHATOMIC;
		}
		if (alloc_flags & ALLOC_MIN_RESERVE)
			alloc_flags &= ~ALLOC_CPUSET;
	}
	return alloc_flags;
}

/* __gfp_pfmemalloc_flags(): who may ignore the watermarks altogether. */
static unsigned gfp_pfmemalloc_flags(vmm_gfp_t gfp)
{
	if (gfp & VMM_GFP_NOMEMALLOC)
		return 0;
	if (gfp & VMM_GFP_MEMALLOC)
		return ALLOC_NO_WATERMARKS;
	return 0;
}

/* Reject what Linux would warn about and what the simulation cannot honour. */
static bool gfp_valid(struct vmm_machine *m, vmm_gfp_t gfp, unsigned order, const char *fn)
{
	if (gfp & ~VMM_GFP_KNOWN_MASK) {
		vmm_caller_err(&m->log, "%s: unknown GFP bits %#x", fn,
			       (unsigned)(gfp & ~VMM_GFP_KNOWN_MASK));
		return false;
	}
	if ((gfp & VMM_GFP_COLD) && !hot_cold(m)) {
		vmm_caller_err(&m->log, "%s: __GFP_COLD needs a VMM_CFG_PCP_HOT_COLD machine", fn);
		return false;
	}
	if (vmm_gfp_zone(m->gfp_zone_table, gfp) < 0) {
		vmm_caller_err(&m->log, "%s: GFP %#x asks for more than one of DMA, DMA32, HIGHMEM",
			       fn, (unsigned)gfp);
		return false;
	}
	if ((gfp & (VMM_GFP_MOVABLE | VMM_GFP_RECLAIMABLE)) ==
	    (VMM_GFP_MOVABLE | VMM_GFP_RECLAIMABLE)) {
		vmm_caller_err(&m->log, "%s: GFP %#x is both MOVABLE and RECLAIMABLE", fn,
			       (unsigned)gfp);
		return false;
	}
	if (order > MAX_PAGE_ORDER) {
		vmm_caller_err(&m->log, "%s: order %u above MAX_PAGE_ORDER %d", fn, order,
			       MAX_PAGE_ORDER);
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Zonelists                                                           */
/* ------------------------------------------------------------------ */

/*
 * find_next_best_node(): the local node first, then the nearest unused
 * node; among equals, nodes below the local one, nodes with CPUs and
 * loaded nodes come later.
 */
static int find_next_best_node(const struct vmm_machine *m, unsigned node, uint64_t *used,
			       const int *node_load)
{
	int best = -1, min_val = INT32_MAX;

	if (!((*used >> node) & 1)) {
		*used |= 1ull << node;
		return (int)node;
	}
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		int val;

		if ((*used >> n) & 1)
			continue;
		val = m->cfg.distance[node][n];
		val += n < node;
		if (NODE_DATA((struct vmm_machine *)m, n)->nr_cpus)
			val += PENALTY_FOR_NODE_WITH_CPUS;
		val *= VMM_MAX_NUMNODES;
		val += node_load[n];
		if (val < min_val) {
			min_val = val;
			best = (int)n;
		}
	}
	if (best >= 0)
		*used |= 1ull << best;
	return best;
}

static unsigned add_node_zones(struct vmm_pgdat *pgdat, struct vmm_zoneref *zl, unsigned nr)
{
	for (int zid = VMM_MAX_NR_ZONES - 1; zid >= 0; zid--) {
		struct vmm_zone *z = &pgdat->node_zones[zid];

		if (!z->managed_pages)
			continue;
		zl[nr++] = (struct vmm_zoneref){ z, zid, (int)pgdat->node_id };
	}
	return nr;
}

static inline bool mpol_is_local(const struct vmm_machine *m)
{
	return m->mpol_mode == VMM_MPOL_DEFAULT || m->mpol_mode == VMM_MPOL_LOCAL;
}

/*
 * What pgdat->fast_zone[@mods] holds (see mmzone.h): for a valid combination of the
 * zone and mobility bits, the first zone of the node's fallback zonelist that a
 * request with them may use, when it is the node's own. None while the policy is
 * other than default or local or a cpuset is in force, none without grouping by
 * mobility, and none on a machine with 2.6-style hot/cold lists: their allocations
 * all go the full way.
 */
static struct vmm_zone *fast_zone(const struct vmm_machine *m, const struct vmm_pgdat *pgdat,
				  vmm_gfp_t mods)
{
	const struct vmm_zoneref *z;

	if (hot_cold(m) || !mpol_is_local(m) || m->cpuset_mems || gfp_zone_bad(mods) ||
	    (mods & GFP_MOBILITY_MASK) == GFP_MOBILITY_MASK || m->page_group_by_mobility_disabled)
		return NULL;
	z = vmm_first_zones_zonelist(pgdat->zonelists[ZONELIST_FALLBACK],
				     (enum vmm_zone_type)vmm_gfp_zone(m->gfp_zone_table, mods), NULL);
	return z->zone && z->nid == (int)pgdat->node_id ? z->zone : NULL;
}

/* What cpu_fast[@cpu].alloc holds for the GFP zone and mobility bits @mods. */
static struct vmm_pcp_fast pcp_fast_entry(struct vmm_machine *m, unsigned cpu, vmm_gfp_t mods)
{
	struct vmm_zone *zone = NODE_DATA(m, m->cfg.cpu_node[cpu])->fast_zone[mods];
	struct vmm_per_cpu_pages *pcp;

	if (!zone)
		return (struct vmm_pcp_fast){
			.zone = &m->no_fast_zone,
			.floor = &m->no_fast_zone.fast_floor[0],
		};
	pcp = &zone->pcp[cpu];
	return (struct vmm_pcp_fast){
		.zone = zone,
		.pcp = pcp,
		.list = &pcp->lists[order_to_pindex((int)((mods & GFP_MOBILITY_MASK) >>
							   GFP_MOVABLE_SHIFT), 0)],
		.floor = &zone->fast_floor[gfp_zone_entry(m->gfp_zone_table, mods)],
		.clk = m->clock.by_cpu[cpu],
	};
}

/*
 * Set every node's fast_zone, and the CPUs' table of the order-0 fast path from
 * them: after the zonelists are built and whenever policy or cpuset change.
 */
static void update_fast_zones(struct vmm_machine *m)
{
	for (unsigned nid = 0; nid < m->nr_nodes; nid++)
		for (unsigned mods = 0; mods < NR_GFP_ZONE_MOBILITY; mods++)
			NODE_DATA(m, nid)->fast_zone[mods] = fast_zone(m, NODE_DATA(m, nid), mods);
	if (m->cpu_fast)
		for (unsigned cpu = 0; cpu < m->nr_cpus; cpu++)
			for (unsigned mods = 0; mods < NR_GFP_ZONE_MOBILITY; mods++)
				m->cpu_fast[cpu].alloc[mods] = pcp_fast_entry(m, cpu, mods);
}

/* The rest of CPU @cpu's fast-path table: its clock and its lists by zone. */
static void cpu_fast_init(struct vmm_machine *m, unsigned cpu)
{
	struct vmm_cpu_fast *f = &m->cpu_fast[cpu];

	f->clk = m->clock.by_cpu[cpu];
	for (unsigned nid = 0; nid < m->nr_nodes; nid++)
		for (unsigned zid = 0; zid < VMM_MAX_NR_ZONES; zid++)
			f->pcp_by_key[nid | zid << 8] =
				&NODE_DATA(m, nid)->node_zones[zid].pcp[cpu];
	m->cpu_fast_by_cpu[cpu] = f;
}

/* Where cpu_fast_init() and vmm_switch_cpu() disagree with the tables (for vmm_pcp_check()). */
static long check_cpu_fast(struct vmm_machine *m, FILE *out)
{
	long problems = 0;

	if (m->this_cpu_fast != m->cpu_fast_by_cpu[m->current_cpu]) {
		fprintf(out, "cpu %u is current, the fast paths' tables are another's\n",
			m->current_cpu);
		problems++;
	}
	for (unsigned cpu = 0; cpu < m->nr_cpus; cpu++) {
		const struct vmm_cpu_fast *f = &m->cpu_fast[cpu];
		bool bad = m->cpu_fast_by_cpu[cpu] != f || f->clk != m->clock.by_cpu[cpu];

		for (unsigned nid = 0; nid < m->nr_nodes; nid++)
			for (unsigned zid = 0; zid < VMM_MAX_NR_ZONES; zid++)
				bad |= f->pcp_by_key[nid | zid << 8] !=
				       &NODE_DATA(m, nid)->node_zones[zid].pcp[cpu];
		if (bad) {
			fprintf(out, "cpu %u: stale fast-path table (clock or lists by zone)\n",
				cpu);
			problems++;
		}
	}
	return problems;
}

/* fast_zone and pcp_fast entries that disagree with what they should hold (for vmm_pcp_check()). */
static long check_fast_zones(struct vmm_machine *m, FILE *out)
{
	long problems = 0;

	for (unsigned nid = 0; nid < m->nr_nodes; nid++)
		for (unsigned mods = 0; mods < NR_GFP_ZONE_MOBILITY; mods++)
			if (NODE_DATA(m, nid)->fast_zone[mods] !=
			    fast_zone(m, NODE_DATA(m, nid), mods)) {
				fprintf(out,
					"node %u: stale fast_zone for GFP zone/mobility bits %#x\n",
					nid, mods);
				problems++;
			}
	{
		struct vmm_zone *z;

		for_each_zone(m, z) {
			int64_t floor = zone_fast_floor(z);
			int stale = -1;

			for (int i = 0; i < VMM_MAX_NR_ZONES && stale < 0; i++)
				if (z->fast_floor[i] != floor + (int64_t)z->lowmem_reserve[i])
					stale = i;
			if (stale < 0)
				continue;
			fprintf(out, "node %u zone %s: stale fast_floor[%d] %" PRId64,
				z->zone_pgdat->node_id, z->name, stale, z->fast_floor[stale]);
			fprintf(out, ", want %" PRId64 "\n",
				floor + (int64_t)z->lowmem_reserve[stale]);
			problems++;
		}
	}
	if (m->cpu_fast)
		problems += check_cpu_fast(m, out);
	if (m->no_fast_zone.fast_floor[0] != INT64_MAX / 2 ||
	    m->no_fast_zone.vm_stat[NR_FREE_PAGES]) {
		fprintf(out, "no_fast_zone lets a request through\n");
		problems++;
	}
	for (unsigned cpu = 0; m->cpu_fast && cpu < m->nr_cpus; cpu++)
		for (unsigned mods = 0; mods < NR_GFP_ZONE_MOBILITY; mods++) {
			struct vmm_pcp_fast want = pcp_fast_entry(m, cpu, mods);

			if (memcmp(&m->cpu_fast[cpu].alloc[mods], &want, sizeof(want))) {
				fprintf(out, "cpu %u: stale pcp_fast for GFP zone/mobility bits %#x\n",
					cpu, mods);
				problems++;
			}
		}
	return problems;
}

/*
 * build_all_zonelists(): each node's fallback list holds every node's zones,
 * nodes in find_next_best_node() order, zones highest first within a node.
 * The first node of each new distance group gets a load penalty, so that
 * nodes at equal distance are spread round robin across the nodes' lists.
 * The no-fallback list (for __GFP_THISNODE) is the node's own zones.
 */
int vmm_build_all_zonelists(struct vmm_machine *m)
{
	int node_load[VMM_MAX_NUMNODES] = { 0 };
	unsigned per_list = m->nr_nodes * VMM_MAX_NR_ZONES + 1;

	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		struct vmm_pgdat *pgdat = NODE_DATA(m, nid);
		uint64_t used = 0;
		unsigned nr = 0, nr_nodes = 0, prev = nid;
		int node;

		for (int l = 0; l < MAX_ZONELISTS; l++) {
			pgdat->zonelists[l] = vmm_hcalloc(&m->hm, per_list, sizeof(struct vmm_zoneref));
			if (!pgdat->zonelists[l])
				return -VMM_ENOMEM;
		}
		while ((node = find_next_best_node(m, nid, &used, node_load)) >= 0) {
			if (m->cfg.distance[nid][node] != m->cfg.distance[nid][prev])
				node_load[node] += 1;
			pgdat->node_order[nr_nodes++] = (uint8_t)node;
			nr = add_node_zones(NODE_DATA(m, (unsigned)node), pgdat->zonelists[0], nr);
			prev = (unsigned)node;
		}
		pgdat->nr_zonerefs[ZONELIST_FALLBACK] = nr;
		pgdat->nr_zonerefs[ZONELIST_NOFALLBACK] =
			add_node_zones(pgdat, pgdat->zonelists[ZONELIST_NOFALLBACK], 0);
	}
	{
		/* too little memory to be worth grouping by mobility */
		struct vmm_zone *z;
		uint64_t total = 0;

		for_each_zone(m, z)
			total += z->managed_pages;
		m->page_group_by_mobility_disabled = total < PAGEBLOCK_NR_PAGES * MIGRATE_TYPES;
	}
	update_fast_zones(m);
	return 0;
}

void vmm_free_zonelists(struct vmm_machine *m)
{
	unsigned per_list = m->nr_nodes * VMM_MAX_NR_ZONES + 1;

	if (m->cpu_fast)
		vmm_hfree(&m->hm, m->cpu_fast, (size_t)m->nr_cpus * sizeof(*m->cpu_fast));
	m->cpu_fast = NULL;
	memset(m->cpu_fast_by_cpu, 0, sizeof(m->cpu_fast_by_cpu));
	m->this_cpu_fast = NULL;
	if (!m->node_data)
		return;
	for (unsigned nid = 0; nid < m->nr_nodes; nid++)
		for (int l = 0; l < MAX_ZONELISTS; l++) {
			vmm_hfree(&m->hm, m->node_data[nid].zonelists[l],
				  per_list * sizeof(struct vmm_zoneref));
			m->node_data[nid].zonelists[l] = NULL;
		}
}

const struct vmm_zoneref *vmm_next_zones_zonelist(const struct vmm_zoneref *z,
						  enum vmm_zone_type highest_zoneidx,
						  const vmm_nodemask_t *nodemask)
{
	while (z->zone && (z->zone_idx > (int)highest_zoneidx || !node_in(nodemask, (unsigned)z->nid)))
		z++;
	return z;
}

const struct vmm_zoneref *vmm_first_zones_zonelist(const struct vmm_zoneref *zl,
						   enum vmm_zone_type highest_zoneidx,
						   const vmm_nodemask_t *nodemask)
{
	return vmm_next_zones_zonelist(zl, highest_zoneidx, nodemask);
}

#define for_next_zone_zonelist_nodemask(zref, start, hi, mask)                   \
	for ((zref) = vmm_next_zones_zonelist((start), (hi), (mask)); (zref)->zone; \
	     (zref) = vmm_next_zones_zonelist((zref) + 1, (hi), (mask)))

/* ------------------------------------------------------------------ */
/* cpusets and NUMA policy                                             */
/* ------------------------------------------------------------------ */

/*
 * __cpuset_zone_allowed(): a node in mems_allowed always; otherwise, a
 * __GFP_HARDWALL request never, and others only inside the nearest
 * hardwalled ancestor, which for a cpuset that is not itself hardwall or
 * exclusive is the root, holding every node.
 */
bool vmm_cpuset_zone_allowed(const struct vmm_machine *m, const struct vmm_zone *z,
			     vmm_gfp_t gfp)
{
	unsigned nid = z->zone_pgdat->node_id;

	if (!m->cpuset_mems || ((m->cpuset_mems >> nid) & 1))
		return true;
	if (gfp & VMM_GFP_HARDWALL)
		return false;
	return !(m->cpuset_flags & (VMM_CPUSET_MEM_HARDWALL | VMM_CPUSET_MEM_EXCLUSIVE));
}

static int next_node_in(unsigned prev, vmm_nodemask_t mask, unsigned nr_nodes)
{
	for (unsigned i = 1; i <= nr_nodes; i++) {
		unsigned n = (prev + i) % nr_nodes;

		if ((mask >> n) & 1)
			return (int)n;
	}
	return -1;
}

int vmm_cpuset_mem_spread_node(struct vmm_machine *m)
{
	vmm_nodemask_t mems = m->cpuset_mems ? m->cpuset_mems : (~0ull >> (64 - m->nr_nodes));
	int n = next_node_in((unsigned)m->cpuset_spread_rotor, mems, m->nr_nodes);

	m->cpuset_spread_rotor = n;
	return n;
}

/* ------------------------------------------------------------------ */
/* Watermarks                                                          */
/* ------------------------------------------------------------------ */

/*
 * __zone_watermark_unusable_free(): pages the request cannot count on: the
 * part of a high-order request's own size it needs contiguous, and the
 * HighAtomic reserve unless the request may use reserves.
 */
static int64_t unusable_free(const struct vmm_zone *z, unsigned order, unsigned alloc_flags)
{
	int64_t unusable = (1ll << order) - 1;

	if (!(alloc_flags & ALLOC_RESERVES))
		unusable += (int64_t)z->nr_reserved_highatomic;
	return unusable;
}

/*
 * __zone_watermark_ok(): after the reserves this request may use are taken
 * off the mark, the zone must keep more than mark + lowmem_reserve free
 * pages; for order > 0 a free block of at least that order must exist on a
 * list the request may use.
 */
bool vmm_zone_watermark_ok(const struct vmm_zone *z, unsigned order, uint64_t mark,
			   enum vmm_zone_type highest_zoneidx, unsigned alloc_flags,
			   int64_t free_pages)
{
	int64_t min = (int64_t)mark;

	free_pages -= unusable_free(z, order, alloc_flags);
	if (alloc_flags & ALLOC_RESERVES) {
		if (alloc_flags & ALLOC_MIN_RESERVE) {
			min -= min / 2;
			if (alloc_flags & ALLOC_NON_BLOCK)
				min -= min / 4;
		}
		if (alloc_flags & ALLOC_OOM)
			min -= min / 2;
	}
	if (free_pages <= min + (int64_t)z->lowmem_reserve[highest_zoneidx])
		return false;
	if (!order)
		return true;
	for (unsigned o = order; o < NR_PAGE_ORDERS; o++) {
		const struct vmm_free_area *area = &z->free_area[o];

		if (!area->nr_free)
			continue;
		for (int mt = 0; mt < MIGRATE_PCPTYPES; mt++)
			if (area->nr_free_type[mt])
				return true;
		if ((alloc_flags & (ALLOC_HIGHATOMIC | ALLOC_OOM)) &&
		    area->nr_free_type[MIGRATE_HIGHATOMIC])
			return true;
	}
	return false;
}

/* The order-0 test of zone_watermark_fast(): the count alone. */
static inline bool watermark_order0_ok(const struct vmm_zone *z, uint64_t mark,
				       enum vmm_zone_type highest_zoneidx, unsigned alloc_flags)
{
	int64_t free_pages = z->vm_stat[NR_FREE_PAGES];
	int64_t reserved = unusable_free(z, 0, alloc_flags);
	int64_t usable = free_pages - VMM_MIN(free_pages, reserved);

	return usable > (int64_t)(mark + z->lowmem_reserve[highest_zoneidx]);
}

/*
 * zone_watermark_fast(): order 0 needs only the count; a __GFP_HIGH order-0
 * request at the min mark may ignore a watermark boost.
 */
bool vmm_zone_watermark_fast(const struct vmm_zone *z, unsigned order, uint64_t mark,
			     enum vmm_zone_type highest_zoneidx, unsigned alloc_flags)
{
	int64_t free_pages = z->vm_stat[NR_FREE_PAGES];

	if (!order && watermark_order0_ok(z, mark, highest_zoneidx, alloc_flags))
		return true;
	if (vmm_zone_watermark_ok(z, order, mark, highest_zoneidx, alloc_flags, free_pages))
		return true;
	if (!order && (alloc_flags & ALLOC_MIN_RESERVE) && z->watermark_boost &&
	    (alloc_flags & ALLOC_WMARK_MASK) == WMARK_MIN)
		return vmm_zone_watermark_ok(z, order, z->watermark[WMARK_MIN], highest_zoneidx,
					     alloc_flags, free_pages);
	return false;
}

/* ------------------------------------------------------------------ */
/* Page preparation and checks                                         */
/* ------------------------------------------------------------------ */

static void quarantine(struct vmm_machine *m, struct vmm_page *page, unsigned order)
{
	page->compound = VMM_PAGE_QUARANTINE | (order & VMM_PAGE_ALLOC_ORDER);
	page->page_type = VMM_PGTY_NONE;
	m->pa_stats.quarantined_pages += 1ull << order;
}

/*
 * bad_page(): report a page in a state it must not be in, count it, and
 * (when @order >= 0) take its block out of circulation for good.
 */
static void bad_page(struct vmm_machine *m, struct vmm_page *page, const char *reason,
		     int order)
{
	char buf[384];

	vmm_format_page(m, page, buf, sizeof(buf));
	vmm_guest_err(&m->log, "BUG: Bad page state: %s: %s", reason, buf);
	m->pa_stats.bad_pages++;
	if (order >= 0)
		quarantine(m, page, (unsigned)order);
}

/* check_new_page(): a page leaving the free lists must be blank. */
static const char *new_page_bad_reason(const struct vmm_page *page)
{
	if (page->mapcount)
		return "nonzero mapcount";
	if (page->mapping)
		return "non-NULL mapping";
	if (page->refcount)
		return "nonzero _refcount";
	if (page->flags & PAGE_FLAGS_CHECK_AT_PREP)
		return "PAGE_FLAGS_CHECK_AT_PREP flag(s) set";
	return NULL;
}

/*
 * clear_page() of each frame: the host clear only where the frame may hold
 * nonzero bytes (mm/page_zero.h), the simulated charge always.
 */
static FAST_INLINE void clear_pages(struct vmm_machine *m, uint64_t pfn, unsigned order)
{
	uint64_t n = 1ull << order;

	vmm_zero_frames(m, pfn, n);
	vmm_charge(m, VMM_CYC_ZERO_COPY, n * m->clock.cost.zero_page);
}

/* The rarer parts of prep_new_page(): the tails of a compound page, zeroing, marking a block. */
static __attribute__((returns_nonnull)) struct vmm_page *
prep_compound_or_zero(struct vmm_machine *m, struct vmm_page *page, unsigned order, vmm_gfp_t gfp)
{
	if (order && (gfp & VMM_GFP_COMP)) {
		set_page_flag(page, VMM_PG_head);
		for (uint64_t i = 1; i < (1ull << order); i++)
			page[i].compound = VMM_PAGE_TAIL | (uint32_t)i;
	}
	if (gfp & VMM_GFP_ZERO)
		clear_pages(m, pfn_of(m, page), order);
	/*
	 * A block of several frames may be written through one direct-map
	 * pointer (vmm_kaddr_to_host() is good across frames there), which
	 * marks only the frame it points into: mark them all now.
	 */
	if (order)
		vmm_physmem_mark_range(&m->phys, pfn_of(m, page) << VMM_PAGE_SHIFT,
				       VMM_PAGE_SIZE << order);
	return page;
}

/*
 * prep_new_page(): a reference for the caller, the block's order recorded
 * on its head (for the checker and for free-time checks), a compound page
 * for __GFP_COMP, zeroed memory for __GFP_ZERO.
 */
static FAST_INLINE struct vmm_page *prep_new_page(struct vmm_machine *m, struct vmm_page *page,
						  unsigned order, vmm_gfp_t gfp)
{
	page->private = 0;
	page->refcount = 1;
	page->compound = order;
	page->lru.next = page->lru.prev = NULL;
	if (unlikely((gfp & (VMM_GFP_COMP | VMM_GFP_ZERO)) || order))
		return prep_compound_or_zero(m, page, order, gfp);
	return page;
}

/* ------------------------------------------------------------------ */
/* Taking pages from the zone: __rmqueue, rmqueue_bulk                  */
/* ------------------------------------------------------------------ */

/* __rmqueue(): the type's own lists, else a fallback. */
static uint64_t rmqueue_one(struct vmm_machine *m, struct vmm_zone *zone, unsigned order,
			    int migratetype, unsigned alloc_flags)
{
	uint64_t pfn = vmm_rmqueue_smallest(m, zone, order, migratetype);

	if (pfn == UINT64_MAX)
		pfn = vmm_rmqueue_fallback(m, zone, order, migratetype, alloc_flags);
	return pfn;
}

/*
 * Check a block just taken off the free lists; a bad one is quarantined and
 * the caller tries again (Linux's check_new_pages loop).
 */
static bool new_block_bad(struct vmm_machine *m, uint64_t pfn, unsigned order)
{
	struct vmm_page *page = page_of(m, pfn);
	const char *why = new_page_bad_reason(page);

	if (!why)
		return false;
	bad_page(m, page, why, (int)order);
	return true;
}

static inline void pcp_list_add(struct vmm_page *page, struct vmm_list *list, unsigned order,
				bool tail)
{
	page->compound = VMM_PAGE_PCP;
	page->private = order;
	if (tail)
		vmm_list_add_tail(&page->lru, list);
	else
		vmm_list_add(&page->lru, list);
}

static void pcp_list_del(struct vmm_page *page)
{
	vmm_list_del(&page->lru);
	page->lru.next = page->lru.prev = NULL;
	page->compound = 0;
	page->private = 0;
}

/* rmqueue_bulk(): move up to @count blocks of @order to a per-CPU list. */
static int rmqueue_bulk(struct vmm_machine *m, struct vmm_zone *zone, unsigned order, int count,
			struct vmm_list *list, int migratetype, unsigned alloc_flags)
{
	int i;

	for (i = 0; i < count; i++) {
		uint64_t pfn = rmqueue_one(m, zone, order, migratetype, alloc_flags);

		if (pfn == UINT64_MAX)
			break;
		if (new_block_bad(m, pfn, order)) {
			i--;
			continue;
		}
		pcp_list_add(page_of(m, pfn), list, order, true);
	}
	vmm_charge(m, VMM_CYC_ALLOC, m->clock.cost.alloc_buddy +
					     (uint64_t)i * m->clock.cost.pcp_bulk_per_page);
	return i;
}

/*
 * nr_pcp_alloc(): how many blocks a refill takes. pcp->high is first brought
 * into [high_min, high_max], as nr_pcp_high() does: a list still at its boot
 * value of 0 (BOOT_PAGESET_HIGH) refills a batch, not one page. Order 0 refills
 * grow (alloc_factor) while the list has room, and pcp->high rises toward
 * high_max while the zone is above its high watermark.
 */
static int nr_pcp_alloc(struct vmm_per_cpu_pages *pcp, const struct vmm_zone *zone, unsigned order)
{
	int old_high = pcp->high, base_batch = pcp->batch, batch = 1, max_nr_alloc;
	int high = VMM_CLAMP(old_high, pcp->high_min, pcp->high_max);

	/* below batch (the lists disabled) a refill takes one block and the limit stays */
	if (high >= base_batch) {
		batch = order ? base_batch : base_batch << pcp->alloc_factor;
		if (pcp->high_min != pcp->high_max && !(zone->flags & ZONE_BELOW_HIGH))
			high = VMM_MIN(high + batch, pcp->high_max);
	}
	if (high != old_high) {
		pcp->high = high;
		pcp_update_free_high(pcp, zone);
	}
	if (high < base_batch)
		return 1;
	if (!order) {
		max_nr_alloc = VMM_MAX(high - pcp->count - base_batch, base_batch);
		if (batch <= max_nr_alloc && pcp->alloc_factor < PCP_BATCH_SCALE_MAX)
			pcp->alloc_factor++;
		batch = VMM_MIN(batch, max_nr_alloc);
	}
	if (batch > 1)
		batch = VMM_MAX(batch >> order, 2);
	return batch;
}

/* Take the first block of a per-CPU list that has one. */
static inline struct vmm_page *pcp_list_pop(struct vmm_per_cpu_pages *pcp, struct vmm_list *list,
					    unsigned order)
{
	struct vmm_page *page = vmm_list_first_entry(list, struct vmm_page, lru);

	pcp_list_del(page);
	pcp->count -= 1 << order;
	return page;
}

/* __rmqueue_pcplist() */
static uint64_t rmqueue_pcplist_one(struct vmm_machine *m, struct vmm_zone *zone, unsigned order,
				    int migratetype, unsigned alloc_flags,
				    struct vmm_per_cpu_pages *pcp, struct vmm_list *list)
{
	if (vmm_list_empty(list)) {
		int batch = nr_pcp_alloc(pcp, zone, order);
		int got = rmqueue_bulk(m, zone, order, batch, list, migratetype, alloc_flags);

		pcp->count += got << order;
		if (!got)
			return UINT64_MAX;
	}
	return pfn_of(m, pcp_list_pop(pcp, list, order));
}

/* Linux 2.6.11's buffered_rmqueue() for order 0 on the hot or cold list. */
static uint64_t rmqueue_hot_cold(struct vmm_machine *m, struct vmm_zone *zone, int migratetype,
				 unsigned alloc_flags, bool cold)
{
	struct vmm_pcp_hot_cold *pcp = &this_pcp(m, zone)->hot_cold[cold];
	struct vmm_list *pos;

	if (pcp->count <= pcp->low) {
		int got = rmqueue_bulk(m, zone, 0, pcp->batch, &pcp->list, migratetype, alloc_flags);

		vmm_list_for_each(pos, &pcp->list) {
			struct vmm_page *p = vmm_list_entry(pos, struct vmm_page, lru);

			if (!p->index)
				p->index = (uint64_t)migratetype + 1;
		}
		pcp->count += got;
	}
	/* the list mixes types: take the first page refilled for this one, as 2.6.2x did */
	vmm_list_for_each(pos, &pcp->list) {
		struct vmm_page *p = vmm_list_entry(pos, struct vmm_page, lru);

		if (p->index == (uint64_t)migratetype + 1) {
			p->index = 0;
			pcp_list_del(p);
			pcp->count--;
			return pfn_of(m, p);
		}
	}
	return UINT64_MAX;
}

/* rmqueue_buddy(): high orders and pcp misses served from the zone lists. */
static uint64_t rmqueue_buddy(struct vmm_machine *m, struct vmm_zone *zone, unsigned order,
			      int migratetype, unsigned alloc_flags)
{
	uint64_t pfn;

	do {
		pfn = UINT64_MAX;
		if (alloc_flags & ALLOC_HIGHATOMIC)
			pfn = vmm_rmqueue_smallest(m, zone, order, MIGRATE_HIGHATOMIC);
		if (pfn == UINT64_MAX) {
			pfn = rmqueue_one(m, zone, order, migratetype, alloc_flags);
			/* the reserve is there for OOM victims and callers that cannot wait */
			if (pfn == UINT64_MAX && (alloc_flags & (ALLOC_OOM | ALLOC_NON_BLOCK)))
				pfn = vmm_rmqueue_smallest(m, zone, order, MIGRATE_HIGHATOMIC);
			if (pfn == UINT64_MAX)
				return UINT64_MAX;
		}
	} while (new_block_bad(m, pfn, order));
	vmm_charge(m, VMM_CYC_ALLOC, m->clock.cost.alloc_buddy);
	return pfn;
}

/* __rmqueue_pcplist() for a caller that wants the page; the refill stays out of line. */
static FAST_INLINE struct vmm_page *
rmqueue_pcplist_page(struct vmm_machine *m, struct vmm_zone *zone, unsigned order, int migratetype,
		     unsigned alloc_flags, struct vmm_per_cpu_pages *pcp, struct vmm_list *list)
{
	uint64_t pfn;

	if (likely(!vmm_list_empty(list)))
		return pcp_list_pop(pcp, list, order);
	pfn = rmqueue_pcplist_one(m, zone, order, migratetype, alloc_flags, pcp, list);
	return pfn == UINT64_MAX ? NULL : page_of(m, pfn);
}

/*
 * A free or an allocation after a high-order free clears its flag. Only high-order
 * frees set it, so it is tested first: the common case then stores nothing, and a
 * pair of order-0 calls does not chain two read-modify-writes of the word.
 */
static FAST_INLINE void pcp_clear_prev_free_high_order(struct vmm_per_cpu_pages *pcp)
{
	if (unlikely(pcp->flags & PCPF_PREV_FREE_HIGH_ORDER))
		pcp->flags &= ~PCPF_PREV_FREE_HIGH_ORDER;
}

/* An allocation ends a run of frees (the free_count decay and flag of rmqueue_pcplist()). */
static inline void pcp_alloc_starts(struct vmm_per_cpu_pages *pcp)
{
	pcp->free_count >>= 1;
	pcp_clear_prev_free_high_order(pcp);
}

/*
 * pcp_list_del()'s and prep_new_page()'s stores for an order-0 page just unlinked
 * from a per-CPU list, for a request without __GFP_COMP or __GFP_ZERO. page->private,
 * the order on a per-CPU list, is already the 0 they would store: an order-0 list
 * (vmm_pcp_check() checks). compound and _refcount go last, side by side, as the one
 * word free_page_clean() reads back.
 */
static FAST_INLINE void prep_order0_pcp_page(struct vmm_page *page)
{
	page->lru.next = page->lru.prev = NULL;
	page->compound = 0;
	page->refcount = 1;
}

/* rmqueue_pcplist() */
static uint64_t rmqueue_pcplist(struct vmm_machine *m, struct vmm_zone *zone, unsigned order,
				int migratetype, unsigned alloc_flags)
{
	struct vmm_per_cpu_pages *pcp = this_pcp(m, zone);
	uint64_t pfn;

	pcp_alloc_starts(pcp);
	pfn = rmqueue_pcplist_one(m, zone, order, migratetype, alloc_flags, pcp,
				  &pcp->lists[order_to_pindex(migratetype, order)]);
	if (pfn != UINT64_MAX)
		vmm_charge(m, VMM_CYC_ALLOC, m->clock.cost.alloc_fast);
	return pfn;
}

/* zone_statistics(): NUMA hit/miss/foreign and local/other. */
static inline void zone_statistics(struct vmm_machine *m, struct vmm_zone *preferred,
				   struct vmm_zone *z, uint64_t nr)
{
	unsigned nid = z->zone_pgdat->node_id;

	if (nid == preferred->zone_pgdat->node_id) {
		z->vm_numa_event[NUMA_HIT] += nr;
	} else {
		z->vm_numa_event[NUMA_MISS] += nr;
		preferred->vm_numa_event[NUMA_FOREIGN] += nr;
	}
	z->vm_numa_event[(int)nid == numa_node_id(m) ? NUMA_LOCAL : NUMA_OTHER] += nr;
}

static inline void count_alloc(struct vmm_machine *m, struct vmm_zone *preferred,
			       struct vmm_zone *zone, unsigned order)
{
	m->vm_events[VE_PGALLOC_DMA + zone->idx] += 1ull << order;
	zone_statistics(m, preferred, zone, 1);
}

/* rmqueue() */
static uint64_t rmqueue(struct vmm_machine *m, struct vmm_zone *preferred, struct vmm_zone *zone,
			unsigned order, vmm_gfp_t gfp, unsigned alloc_flags, int migratetype)
{
	uint64_t pfn = UINT64_MAX;

	if (hot_cold(m)) {
		if (order == 0)
			pfn = rmqueue_hot_cold(m, zone, migratetype, alloc_flags,
					       gfp & VMM_GFP_COLD);
		if (pfn != UINT64_MAX)
			vmm_charge(m, VMM_CYC_ALLOC, m->clock.cost.alloc_fast);
	} else if (pcp_allowed_order(order)) {
		pfn = rmqueue_pcplist(m, zone, order, migratetype, alloc_flags);
	}
	if (pfn == UINT64_MAX)
		pfn = rmqueue_buddy(m, zone, order, migratetype, alloc_flags);
	if (pfn == UINT64_MAX)
		return UINT64_MAX;
	count_alloc(m, preferred, zone, order);

	/* a fallback that boosted the watermark asks kswapd to undo the damage */
	if ((alloc_flags & ALLOC_KSWAPD) && (zone->flags & ZONE_BOOSTED_WATERMARK)) {
		zone->flags &= ~ZONE_BOOSTED_WATERMARK;
		zone_update_fast_floor(zone);
		vmm_wakeup_kswapd(m, zone, 0, 0, zone->idx);
	}
	return pfn;
}

/* ------------------------------------------------------------------ */
/* HighAtomic reserve                                                  */
/* ------------------------------------------------------------------ */

/*
 * reserve_highatomic_pageblock(): after a high-order atomic allocation
 * succeeds, keep its pageblock for such allocations, up to about 1% of the
 * zone.
 */
void vmm_reserve_highatomic_pageblock(struct vmm_machine *m, uint64_t pfn, unsigned order,
				      struct vmm_zone *zone)
{
	uint64_t max_managed = ALIGN_UP(zone->managed_pages / 100, PAGEBLOCK_NR_PAGES);
	int mt;

	/* at least one pageblock, at most about 1% of the zone; none if 1% is less than a block */
	if (zone->managed_pages / 100 < PAGEBLOCK_NR_PAGES)
		return;
	if (zone->nr_reserved_highatomic >= max_managed)
		return;
	mt = vmm_get_pfnblock_migratetype(m, pfn);
	if (!migratetype_is_mergeable(mt))
		return;
	if (order < PAGEBLOCK_ORDER) {
		if (vmm_move_freepages_block(m, zone, pfn, mt, MIGRATE_HIGHATOMIC) < 0)
			return;
		zone->nr_reserved_highatomic += PAGEBLOCK_NR_PAGES;
	} else {
		vmm_change_pageblock_range(m, pfn, order, MIGRATE_HIGHATOMIC);
		zone->nr_reserved_highatomic += 1ull << order;
	}
	zone_update_fast_floor(zone);
	m->pa_stats.highatomic_reserved++;
}

/*
 * unreserve_highatomic_pageblock(): under pressure, give a reserved
 * pageblock back to the request's type (all of them when @force, as a last
 * resort before OOM; otherwise only while more than one block is held).
 */
bool vmm_unreserve_highatomic_pageblock(struct vmm_machine *m,
					const struct vmm_alloc_context *ac, bool force)
{
	const struct vmm_zoneref *z;

	for_next_zone_zonelist_nodemask(z, ac->zonelist, ac->highest_zoneidx, ac->nodemask) {
		struct vmm_zone *zone = z->zone;

		if (!force && zone->nr_reserved_highatomic <= PAGEBLOCK_NR_PAGES)
			continue;
		for (unsigned order = 0; order < NR_PAGE_ORDERS; order++) {
			struct vmm_list *list = &zone->free_area[order].free_list[MIGRATE_HIGHATOMIC];
			struct vmm_page *page;
			uint64_t pfn, size;
			int mt;

			if (vmm_list_empty(list))
				continue;
			page = vmm_list_first_entry(list, struct vmm_page, lru);
			pfn = pfn_of(m, page);
			mt = vmm_get_pfnblock_migratetype(m, pfn);
			if (mt == MIGRATE_HIGHATOMIC) {
				size = VMM_MAX(PAGEBLOCK_NR_PAGES, 1ull << order);
				zone->nr_reserved_highatomic -=
					VMM_MIN(size, zone->nr_reserved_highatomic);
				zone_update_fast_floor(zone);
			}
			if (order < PAGEBLOCK_ORDER) {
				if (vmm_move_freepages_block(m, zone, pfn, mt, ac->migratetype) < 0)
					continue;
			} else {
				vmm_change_pageblock_range(m, pfn, order, ac->migratetype);
				vmm_del_page_from_free_list(zone, page, order, MIGRATE_HIGHATOMIC);
				vmm_add_to_free_list(zone, page, order, ac->migratetype, true);
			}
			m->pa_stats.highatomic_unreserved++;
			return true;
		}
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* get_page_from_freelist                                              */
/* ------------------------------------------------------------------ */

static bool zone_allows_reclaim(const struct vmm_machine *m, const struct vmm_zone *local,
				const struct vmm_zone *zone)
{
	return m->cfg.distance[local->zone_pgdat->node_id][zone->zone_pgdat->node_id] <=
	       RECLAIM_DISTANCE;
}

/*
 * get_page_from_freelist(): walk the zonelist from the preferred zone;
 * take the first zone allowed by the cpuset whose watermark holds (with
 * node_reclaim given a chance when enabled). Under ALLOC_NOFRAGMENT, a
 * fallback to a remote node or the end of the list first retries locally
 * with fragmenting fallbacks allowed.
 */
static uint64_t get_page_from_freelist(struct vmm_machine *m, vmm_gfp_t gfp, unsigned order,
				       unsigned alloc_flags,
				       const struct vmm_alloc_context *ac,
				       struct vmm_zone **zone_out)
{
	const struct vmm_zoneref *z;
	bool no_fallback;

retry:
	no_fallback = alloc_flags & ALLOC_NOFRAGMENT;
	for_next_zone_zonelist_nodemask(z, ac->preferred_zoneref, ac->highest_zoneidx,
					ac->nodemask) {
		struct vmm_zone *zone = z->zone;
		uint64_t mark, pfn;

		if ((alloc_flags & ALLOC_CPUSET) && !vmm_cpuset_zone_allowed(m, zone, gfp))
			continue;
		/* ac->spread_dirty_pages: node_dirty_ok() holds while no page is dirty */
		if (no_fallback && m->nr_nodes > 1 && zone != ac->preferred_zoneref->zone &&
		    z->nid != ac->preferred_zoneref->nid) {
			alloc_flags &= ~ALLOC_NOFRAGMENT;
			goto retry;
		}

		/* note when the zone dips below high, so pcp lists shrink on free */
		if (!(zone->flags & ZONE_BELOW_HIGH)) {
			if (vmm_zone_watermark_fast(zone, order, wmark_pages(zone, WMARK_HIGH),
						    ac->highest_zoneidx, alloc_flags))
				goto try_this_zone;
			zone->flags |= ZONE_BELOW_HIGH;
			zone_flags_changed(m, zone);
		}
		mark = wmark_pages(zone, alloc_flags & ALLOC_WMARK_MASK);
		if (!vmm_zone_watermark_fast(zone, order, mark, ac->highest_zoneidx, alloc_flags)) {
			int ret;

			if (alloc_flags & ALLOC_NO_WATERMARKS)
				goto try_this_zone;
			if (!m->sysctl.node_reclaim_mode ||
			    !zone_allows_reclaim(m, ac->preferred_zoneref->zone, zone))
				continue;
			ret = vmm_node_reclaim(m, zone->zone_pgdat, gfp, order);
			if (ret == NODE_RECLAIM_NOSCAN || ret == NODE_RECLAIM_FULL)
				continue;
			if (!vmm_zone_watermark_ok(zone, order, mark, ac->highest_zoneidx,
						   alloc_flags, zone->vm_stat[NR_FREE_PAGES]))
				continue;
		}
try_this_zone:
		pfn = rmqueue(m, ac->preferred_zoneref->zone, zone, order, gfp, alloc_flags,
			      ac->migratetype);
		if (pfn != UINT64_MAX) {
			prep_new_page(m, page_of(m, pfn), order, gfp);
			if ((alloc_flags & ALLOC_HIGHATOMIC) && order > 0)
				vmm_reserve_highatomic_pageblock(m, pfn, order, zone);
			if (zone_out)
				*zone_out = zone;
			return pfn;
		}
	}
	if (no_fallback) {
		alloc_flags &= ~ALLOC_NOFRAGMENT;
		goto retry;
	}
	return UINT64_MAX;
}

/* ------------------------------------------------------------------ */
/* Freeing                                                             */
/* ------------------------------------------------------------------ */

static inline void count_free(struct vmm_machine *m, unsigned order)
{
	m->vm_events[VE_PGFREE] += 1ull << order;
}

/* __free_pages_ok() / free_one_page(): straight to the zone lists. */
static void free_to_zone(struct vmm_machine *m, uint64_t pfn, unsigned order)
{
	struct vmm_zone *zone = vmm_pfn_zone(m, pfn);

	vmm_free_one_page(m, zone, pfn, order, vmm_get_pfnblock_migratetype(m, pfn), FPI_NONE);
	vmm_charge(m, VMM_CYC_FREE, m->clock.cost.free_buddy);
}

/*
 * free_pcppages_bulk(): give @count pages back to the zone, taking lists in
 * turn starting with @pindex, oldest pages first, each to the list of its
 * pageblock's current type.
 */
static void free_pcppages_bulk(struct vmm_machine *m, struct vmm_zone *zone, int count,
			       struct vmm_per_cpu_pages *pcp, int pindex)
{
	count = VMM_MIN(pcp->count, count);
	pindex--;
	while (count > 0) {
		struct vmm_list *list;
		unsigned order;

		do {
			if (++pindex > NR_PCP_LISTS - 1)
				pindex = 0;
			list = &pcp->lists[pindex];
		} while (vmm_list_empty(list));
		order = pindex_to_order(pindex);
		do {
			struct vmm_page *page = vmm_list_last_entry(list, struct vmm_page, lru);
			uint64_t pfn = pfn_of(m, page);

			pcp_list_del(page);
			count -= 1 << order;
			pcp->count -= 1 << order;
			vmm_free_one_page(m, zone, pfn, order,
					  vmm_get_pfnblock_migratetype(m, pfn), FPI_NONE);
			vmm_charge(m, VMM_CYC_FREE, m->clock.cost.pcp_bulk_per_page);
		} while (count > 0 && !vmm_list_empty(list));
	}
}

/* nr_pcp_free(): how many pages a free that overflows the list gives back. */
static int nr_pcp_free(const struct vmm_per_cpu_pages *pcp, int batch, int high, bool free_high)
{
	if (free_high)
		return VMM_MIN(pcp->count, batch << PCP_BATCH_SCALE_MAX);
	if (high < batch)
		return 1;
	return VMM_CLAMP(pcp->free_count, batch, high - batch);
}

/* nr_pcp_high() past its usual case: the list's current limit, adapting pcp->high. */
static FAST_INLINE int nr_pcp_high_adapt(struct vmm_per_cpu_pages *pcp, const struct vmm_zone *zone,
					 int batch, bool free_high)
{
	int high_min = pcp->high_min, high_max = pcp->high_max;
	int high = pcp->high = VMM_CLAMP(pcp->high, high_min, high_max);

	if (!high)
		return 0;
	if (free_high) {
		pcp->high = VMM_MAX(high - (batch << PCP_BATCH_SCALE_MAX), high_min);
		return 0;
	}
	if (zone->flags & ZONE_RECLAIM_ACTIVE) {
		int free_count = VMM_MAX(pcp->free_count, batch);

		pcp->high = VMM_MAX(high - free_count, high_min);
		return VMM_MIN(batch << 2, pcp->high);
	}
	if (high_min == high_max)
		return high;
	if (zone->flags & ZONE_BELOW_HIGH) {
		int free_count = VMM_MAX(pcp->free_count, batch);

		pcp->high = VMM_MAX(high - free_count, high_min);
		high = VMM_MAX(pcp->count, high_min);
	} else if (pcp->count >= high) {
		int need_high = pcp->free_count + batch;

		if (pcp->high < need_high)
			pcp->high = VMM_CLAMP(need_high, high_min, high_max);
	}
	return high;
}

/* nr_pcp_high(): the list's current limit, adapting pcp->high. */
static FAST_INLINE int nr_pcp_high(struct vmm_per_cpu_pages *pcp, const struct vmm_zone *zone,
				   int batch, bool free_high)
{
	int high, old_high = pcp->high;

	/*
	 * The usual case: a list below a limit that is within its bounds, in a zone under
	 * no pressure (pcp_free_high()), and no free_high drain. Nothing would change.
	 */
	if (likely(!free_high && pcp->count < pcp->free_high))
		return pcp->free_high;
	high = nr_pcp_high_adapt(pcp, zone, batch, free_high);
	if (pcp->high != old_high)
		pcp_update_free_high(pcp, zone);
	return high;
}

/* The list reached its limit: give pages back, and note when the zone is above high again. */
static void pcp_overflow(struct vmm_machine *m, struct vmm_zone *zone,
			 struct vmm_per_cpu_pages *pcp, int pindex, int high, bool free_high)
{
	free_pcppages_bulk(m, zone, nr_pcp_free(pcp, pcp->batch, high, free_high), pcp, pindex);
	if ((zone->flags & ZONE_BELOW_HIGH) &&
	    vmm_zone_watermark_ok(zone, 0, wmark_pages(zone, WMARK_HIGH), VMM_ZONE_MOVABLE, 0,
				  zone->vm_stat[NR_FREE_PAGES])) {
		zone->flags &= ~ZONE_BELOW_HIGH;
		zone_flags_changed(m, zone);
	}
}

/* free_unref_page_commit() */
static FAST_INLINE void free_to_pcp(struct vmm_machine *m, struct vmm_zone *zone,
				    struct vmm_page *page, unsigned order, int migratetype)
{
	struct vmm_per_cpu_pages *pcp = this_pcp(m, zone);
	int pindex = order_to_pindex(migratetype, order), batch = pcp->batch, high;
	bool free_high = false;

	pcp_list_add(page, &pcp->lists[pindex], order, false);
	pcp->count += 1 << order;
	vmm_charge(m, VMM_CYC_FREE, m->clock.cost.free_fast);

	/* high-order frees without allocations in between are drained harder */
	if (order && order <= PAGE_ALLOC_COSTLY_ORDER) {
		free_high = pcp->free_count >= batch && (pcp->flags & PCPF_PREV_FREE_HIGH_ORDER) &&
			    (!(pcp->flags & PCPF_FREE_HIGH_BATCH) || pcp->count >= batch);
		pcp->flags |= PCPF_PREV_FREE_HIGH_ORDER;
	} else {
		pcp->flags &= ~PCPF_PREV_FREE_HIGH_ORDER;
	}
	if (pcp->free_count < (batch << PCP_BATCH_SCALE_MAX))
		pcp->free_count += 1 << order;
	high = nr_pcp_high(pcp, zone, batch, free_high);
	if (unlikely(pcp->count >= high))
		pcp_overflow(m, zone, pcp, pindex, high, free_high);
}

/* Give the @n oldest pages of a hot or cold list back to the zone (2.6.11's free_pages_bulk). */
static void hot_cold_free_oldest(struct vmm_machine *m, struct vmm_zone *zone,
				 struct vmm_pcp_hot_cold *pcp, int n)
{
	for (int i = 0; i < n && !vmm_list_empty(&pcp->list); i++) {
		struct vmm_page *old = vmm_list_last_entry(&pcp->list, struct vmm_page, lru);
		uint64_t pfn = pfn_of(m, old);

		old->index = 0;
		pcp_list_del(old);
		pcp->count--;
		vmm_free_one_page(m, zone, pfn, 0, vmm_get_pfnblock_migratetype(m, pfn), FPI_NONE);
		vmm_charge(m, VMM_CYC_FREE, m->clock.cost.pcp_bulk_per_page);
	}
}

/* Linux 2.6.11's free_hot_cold_page(). */
static void free_hot_cold(struct vmm_machine *m, struct vmm_zone *zone, uint64_t pfn, bool cold)
{
	struct vmm_pcp_hot_cold *pcp = &this_pcp(m, zone)->hot_cold[cold];
	struct vmm_page *page = page_of(m, pfn);

	if (pcp->count >= pcp->high)
		hot_cold_free_oldest(m, zone, pcp, pcp->batch);
	page->index = (uint64_t)vmm_get_pfnblock_migratetype(m, pfn) + 1;
	if (page->index > MIGRATE_PCPTYPES)
		page->index = MIGRATE_MOVABLE + 1;
	pcp_list_add(page, &pcp->list, 0, cold);
	pcp->count++;
	vmm_charge(m, VMM_CYC_FREE, m->clock.cost.free_fast);
}

/*
 * Whether a checked block goes to a per-CPU list (free_unref_page() on a machine
 * without hot/cold lists, for an order those lists hold, outside an isolated
 * pageblock), and if so its zone and the list's migrate type; one pageblock
 * lookup gives both.
 */
static inline bool pcp_takes(struct vmm_machine *m, uint64_t pfn, unsigned order,
			     struct vmm_zone **zone, int *migratetype)
{
	const struct vmm_pageblock *pb = pfn_to_pageblock(&m->sparse, pfn);
	int mt = pb->migratetype;

	if (hot_cold(m) || !pcp_allowed_order(order) || mt == MIGRATE_ISOLATE)
		return false;
	*zone = &NODE_DATA(m, pb->nid)->node_zones[pb->zone];
	*migratetype = mt < MIGRATE_PCPTYPES ? mt : MIGRATE_MOVABLE;
	return true;
}

/* free_unref_page() / __free_pages_ok(): where a checked block goes. */
static void free_the_page(struct vmm_machine *m, uint64_t pfn, unsigned order, bool cold)
{
	struct vmm_zone *zone;
	int mt;

	count_free(m, order);
	if (pcp_takes(m, pfn, order, &zone, &mt))
		free_to_pcp(m, zone, page_of(m, pfn), order, mt);
	else if (hot_cold(m) && order == 0 &&
		 vmm_get_pfnblock_migratetype(m, pfn) != MIGRATE_ISOLATE)
		free_hot_cold(m, vmm_pfn_zone(m, pfn), pfn, cold);
	else
		free_to_zone(m, pfn, order);
}

/* Is @page a descriptor of this machine's memory map? */
static inline bool page_ok(const struct vmm_machine *m, const struct vmm_page *page)
{
	return vmm_sparse_page_ok(&m->sparse, page);
}

/* Is @pfn inside a free buddy block or on a per-CPU list? Returns the reason. */
static const char *free_state(const struct vmm_machine *m, const struct vmm_page *page)
{
	uint64_t pfn = pfn_of(m, page);

	if (PageBuddy(page) || (page->compound & VMM_PAGE_PCP))
		return "double free (the page is already free)";
	for (unsigned o = 1; o < NR_PAGE_ORDERS; o++) {
		const struct vmm_page *head = page_of(m, ALIGN_DOWN(pfn, 1ull << o));

		if ((PageBuddy(head) && buddy_order(head) >= o) ||
		    ((head->compound & VMM_PAGE_PCP) && head->private >= o))
			return "double free (the page is inside a free block)";
	}
	return "free of a page that was never allocated (zero _refcount)";
}

/* What free_pages_prepare() leaves of a block's head that passed. */
static inline void free_page_reset(struct vmm_page *page)
{
	page->flags = 0;
	page->compound = 0;
	page->private = 0;
	page->index = 0;
}

/*
 * free_pages_prepare(): the checks a block passes before it may go back.
 * The tails of a compound page are unlinked from their head.
 */
static bool free_pages_prepare(struct vmm_machine *m, struct vmm_page *page, unsigned order)
{
	unsigned alloc_order = page->compound & VMM_PAGE_ALLOC_ORDER;
	const char *why = NULL;

	if (page->mapcount)
		why = "nonzero mapcount (the page is still mapped)";
	else if (page->lru.next || page_flag(page, VMM_PG_lru))
		why = "the page is still on a list";
	else if (page->mapping)
		why = "non-NULL mapping";
	else if (order != alloc_order)
		why = "freed with the wrong order";
	else if (page->flags & PAGE_FLAGS_CHECK_AT_FREE)
		why = "PAGE_FLAGS_CHECK_AT_FREE flag(s) set";
	if (!why && page_flag(page, VMM_PG_head)) {
		for (uint64_t i = 1; i < (1ull << order) && !why; i++)
			if (page[i].compound != (VMM_PAGE_TAIL | (uint32_t)i) || page[i].mapcount ||
			    page[i].mapping || page[i].refcount)
				why = "corrupted compound tail";
	}
	if (why) {
		char msg[96];

		if (order != alloc_order && why[0] == 'f')
			snprintf(msg, sizeof(msg), "freed as order %u, allocated as order %u", order,
				 alloc_order);
		else
			snprintf(msg, sizeof(msg), "%s", why);
		bad_page(m, page, msg, (int)alloc_order);
		return false;
	}
	if (page_flag(page, VMM_PG_head)) {
		clear_page_flag(page, VMM_PG_head);
		for (uint64_t i = 1; i < (1ull << order); i++)
			page[i].compound = 0;
	}
	free_page_reset(page);
	return true;
}

/*
 * The one cheap combined test: a block freed by its last reference, with its own
 * order, not a compound page, and in none of the states free_pages_common() and
 * free_pages_prepare() reject. Such a block passes all their checks, so it may skip
 * them; any other goes through them, which find and report what is wrong.
 */
static inline bool free_page_clean(const struct vmm_page *page, unsigned order)
{
	uint64_t head;	/* compound and _refcount, as one little-endian word */

	/*
	 * The word is the one the allocation fast path stores (alloc_order0_fast()): a
	 * free right after it then reads what it wrote through store forwarding. A load
	 * that only overlaps that store (_refcount with _mapcount, say) cannot forward
	 * from it and waits until the store reaches the cache.
	 */
	_Static_assert(offsetof(struct vmm_page, refcount) ==
			       offsetof(struct vmm_page, compound) + sizeof(uint32_t),
		       "compound and _refcount are adjacent");
	memcpy(&head, &page->compound, sizeof(head));
	/* compound @order with _refcount 1, and _mapcount 0 */
	return ((head ^ ((1ull << 32) | order)) | (uint32_t)page->mapcount) == 0 &&
	       !(page->flags & (PAGE_FLAGS_CHECK_AT_FREE | (1ull << VMM_PG_head))) &&
	       !(page->mapping | (uintptr_t)page->lru.next);
}

/*
 * __free_pages(): drop the caller's reference; the last one frees the
 * block. If someone else still holds a reference to a non-compound block,
 * the pages beyond the first are freed now and the first goes with the
 * last reference, as Linux does.
 */
static __attribute__((noinline)) void free_pages_common(struct vmm_machine *m,
							struct vmm_page *page, unsigned order,
							bool cold, const char *fn)
{
	uint64_t pfn;

	if (!page_ok(m, page)) {
		vmm_caller_err(&m->log, "%s: %p is not a page of this machine", fn, (void *)page);
		return;
	}
	if (order > MAX_PAGE_ORDER) {
		vmm_caller_err(&m->log, "%s: order %u above MAX_PAGE_ORDER", fn, order);
		return;
	}
	pfn = pfn_of(m, page);
	if (page->compound & VMM_PAGE_TAIL) {
		bad_page(m, page, "free of a tail page of a compound page", -1);
		return;
	}
	if (page->compound & VMM_PAGE_QUARANTINE) {
		bad_page(m, page, "free of a page quarantined by an earlier bad_page", -1);
		return;
	}
	if (page->refcount <= 0 || page_flag(page, VMM_PG_reserved)) {
		bad_page(m, page,
			 page_flag(page, VMM_PG_reserved) && page->refcount <= 0
				 ? "free of a reserved page"
				 : free_state(m, page),
			 -1);
		return;
	}
	if (--page->refcount > 0) {
		unsigned alloc_order = page->compound & VMM_PAGE_ALLOC_ORDER;

		if (!page_flag(page, VMM_PG_head) && order && order == alloc_order) {
			while (order-- > 0)
				free_the_page(m, pfn + (1ull << order), order, cold);
			page->compound = 0;
		}
		return;
	}
	if (!free_pages_prepare(m, page, order))
		return;
	free_the_page(m, pfn, order, cold);
}

/* The end of a free that passed free_page_clean() and pcp_takes(): free_to_pcp() in full. */
static FAST_INLINE void free_checked_to_pcp(struct vmm_machine *m, struct vmm_zone *zone,
					    struct vmm_page *page, unsigned order, int mt)
{
	page->refcount = 0;
	free_page_reset(page);
	count_free(m, order);
	free_to_pcp(m, zone, page, order, mt);
}

/*
 * The common free: a clean block (the combined test) of this machine going to a
 * per-CPU list, with what free_pages_common() would do for it and nothing else.
 * Returns false, having changed nothing, for any other; free_pages_common() takes it.
 */
static FAST_INLINE bool free_pages_fast(struct vmm_machine *m, struct vmm_page *page,
					unsigned order)
{
	uint64_t pfn = vmm_sparse_page_pfn_checked(&m->sparse, page);
	struct vmm_zone *zone;
	int mt;

	if (!vmm_sparse_pfn_valid(&m->sparse, pfn) || !free_page_clean(page, order) ||
	    !pcp_takes(m, pfn, order, &zone, &mt))
		return false;
	free_checked_to_pcp(m, zone, page, order, mt);
	return true;
}

/* free_checked_to_pcp() of an order-0 page free_order0_fast() checked, out of its line. */
static __attribute__((noinline)) void free_order0_to_pcp(struct vmm_machine *m,
							 struct vmm_zone *zone,
							 struct vmm_page *page, int mt)
{
	free_checked_to_pcp(m, zone, page, 0, mt);
}

/*
 * The pageblock and per-CPU list type of an order-0 free of valid @pfn; false for an
 * isolated pageblock, whose pages go the full way.
 */
static FAST_INLINE bool order0_free_block(const struct vmm_machine *m, uint64_t pfn,
					  const struct vmm_pageblock **pb, unsigned *mt)
{
	*pb = pfn_to_pageblock(&m->sparse, pfn);
	*mt = (*pb)->migratetype;
	if (unlikely(*mt >= MIGRATE_PCPTYPES)) {
		/* HighAtomic (and CMA) blocks free to the Movable list, isolated ones not here */
		if (*mt == MIGRATE_ISOLATE)
			return false;
		*mt = MIGRATE_MOVABLE;
	}
	return true;
}

static inline struct vmm_zone *pageblock_zone(const struct vmm_machine *m,
					      const struct vmm_pageblock *pb)
{
	return m->zone_by_id[(size_t)pb->nid * VMM_MAX_NR_ZONES + pb->zone];
}

/* The current CPU's lists of @pb's zone: this_pcp() of pageblock_zone(), in one load. */
static inline struct vmm_per_cpu_pages *pageblock_pcp(const struct vmm_machine *m,
						      const struct vmm_pageblock *pb)
{
	return m->this_cpu_fast->pcp_by_key[pageblock_zone_key(pb)];
}

/*
 * Whether free_to_pcp() of an order-0 page that leaves @count pages on the lists would
 * only add it: the list's limit within its bounds, the zone under no pressure, and the
 * list below the limit (pcp_free_high()), so nr_pcp_high() would change nothing and
 * nothing overflows. On a machine with hot/cold lists pcp->high stays 0 (pcp_high_bad()
 * says why; vmm_pcp_check() checks), and so does free_high, which no count is below.
 */
static FAST_INLINE bool pcp_only_adds(const struct vmm_per_cpu_pages *pcp, int count)
{
	return likely(count < pcp->free_high);
}

/* free_page_reset() of a clean order-0 page bound for a per-CPU list. */
static FAST_INLINE void pcp_reset_clean_page(struct vmm_page *page)
{
	/* in the descriptor's order, so that GCC merges the adjacent stores */
	page->flags = 0;
	page->index = 0;
	page->private = 0;
	page->compound = VMM_PAGE_PCP;
	page->refcount = 0;
}

/* free_page_reset() and pcp_list_add() at the head of @head, for a clean order-0 page. */
static FAST_INLINE void pcp_add_clean_page(struct vmm_page *page, struct vmm_list *head)
{
	struct vmm_list *first = head->next;

	page->lru.prev = head;
	page->lru.next = first;
	first->prev = &page->lru;
	head->next = &page->lru;
	pcp_reset_clean_page(page);
}

/*
 * What free_to_pcp() leaves, besides the links, after adding @n clean order-0 pages to
 * @pcp when none of them adapts or drains the list (pcp_only_adds()): the count,
 * PGFREE, the charge and the drain heuristics' state.
 */
static FAST_INLINE void pcp_account_clean_adds(struct vmm_machine *m,
					       struct vmm_per_cpu_pages *pcp, unsigned long n)
{
	pcp->count += (int)n;
	m->vm_events[VE_PGFREE] += n;
	vmm_clock_charge_free(m->this_cpu_fast->clk, n * m->clock.cost.free_fast);
	pcp_clear_prev_free_high_order(pcp);
	/*
	 * Each free adds one while below the cap. For the single page of
	 * free_order0_fast() that is an add of the comparison (both are never negative),
	 * with no branch.
	 */
	if (n == 1)
		pcp->free_count += (unsigned)pcp->free_count < (unsigned)pcp->free_count_max;
	else if (pcp->free_count < pcp->free_count_max)
		pcp->free_count += (int)VMM_MIN(n, (unsigned long)(pcp->free_count_max -
								   pcp->free_count));
}

/*
 * free_pages_fast() for order 0. When free_to_pcp() would only add the page
 * (pcp_only_adds()), it does that in line; a checked page with a list to adapt
 * or drain goes to free_order0_to_pcp(). Any other returns false untouched and
 * goes the full way.
 *
 * Of the page's validity it tests only that @page is a descriptor below max_pfn,
 * not that its section is present: the memory map is mapped whole, and the
 * descriptors of an absent section are never written (no pfn of it is valid), so
 * they read as zero, and a zero _refcount fails free_page_clean(). That leaves the
 * section table's load and branch to the full way, which reports such a pointer.
 */
static FAST_INLINE bool free_order0_fast(struct vmm_machine *m, struct vmm_page *page)
{
	uint64_t pfn = vmm_sparse_page_pfn_checked(&m->sparse, page);
	struct vmm_per_cpu_pages *pcp;
	struct vmm_list *head;
	const struct vmm_pageblock *pb;
	unsigned mt;

	if (pfn >= m->sparse.max_pfn || !free_page_clean(page, 0) ||
	    !order0_free_block(m, pfn, &pb, &mt))
		return false;
	pcp = pageblock_pcp(m, pb);
	if (!pcp_only_adds(pcp, pcp->count + 1)) {
		/* a machine with hot/cold lists never passes: its kind is tested here only */
		if (hot_cold(m))
			return false;
		free_order0_to_pcp(m, pageblock_zone(m, pb), page, (int)mt);
		return true;
	}
	/* the list's address once (as &pcp->lists[mt], GCC computes it twice) */
	head = pcp->lists;
	head += mt;
	pcp_add_clean_page(page, head);
	pcp_account_clean_adds(m, pcp, 1);
	return true;
}

static void free_pages(struct vmm_machine *m, struct vmm_page *page, unsigned order, bool cold,
		       const char *fn)
{
	if (!free_pages_fast(m, page, order))
		free_pages_common(m, page, order, cold, fn);
}

/* ------------------------------------------------------------------ */
/* Per-CPU lists: setup, drain, check                                   */
/* ------------------------------------------------------------------ */

static void pcp_init_lists(struct vmm_per_cpu_pages *pcp)
{
	for (int i = 0; i < NR_PCP_LISTS; i++)
		vmm_list_init(&pcp->lists[i]);
	vmm_list_init(&pcp->hot_cold[0].list);
	vmm_list_init(&pcp->hot_cold[1].list);
}

/* Linux 2.6.11's setup_pageset(): hot low 2*batch, high 6*batch; cold 0 and 2*batch. */
static void setup_hot_cold(struct vmm_per_cpu_pages *pcp, int batch)
{
	struct vmm_pcp_hot_cold *hot = &pcp->hot_cold[0], *cold = &pcp->hot_cold[1];

	hot->low = 2 * batch;
	hot->high = 6 * batch;
	hot->batch = VMM_MAX(1, batch);
	cold->low = 0;
	cold->high = 2 * batch;
	cold->batch = VMM_MAX(1, batch / 2);
}

void vmm_pcp_setup_zone(struct vmm_machine *m, struct vmm_zone *z)
{
	vmm_zone_setup_pagesets(m, z);
	for (unsigned c = 0; c < m->nr_cpus; c++)
		setup_hot_cold(&z->pcp[c], z->pcp[c].batch);
}

int vmm_pcp_init(struct vmm_machine *m)
{
	struct vmm_zone *z;

	for_each_zone(m, z)
		for (unsigned c = 0; c < m->nr_cpus; c++)
			pcp_init_lists(&z->pcp[c]);
	for (unsigned nid = 0; nid < m->nr_nodes; nid++)
		for (unsigned zid = 0; zid < VMM_MAX_NR_ZONES; zid++)
			m->zone_by_id[nid * VMM_MAX_NR_ZONES + zid] =
				&NODE_DATA(m, nid)->node_zones[zid];
	/* no free-page count is above its floor: the allocation entries without a zone */
	m->no_fast_zone.fast_floor[0] = INT64_MAX / 2;
	/* the allocation entries are filled with the zonelists */
	m->cpu_fast = vmm_hcalloc(&m->hm, m->nr_cpus, sizeof(*m->cpu_fast));
	if (!m->cpu_fast)
		return -VMM_ENOMEM;
	for (unsigned c = 0; c < m->nr_cpus; c++)
		cpu_fast_init(m, c);
	vmm_switch_cpu(m, m->current_cpu);
	return 0;
}

void vmm_drain_zone_pages(struct vmm_machine *m, struct vmm_zone *z, unsigned cpu)
{
	struct vmm_per_cpu_pages *pcp = &z->pcp[cpu];

	if (pcp->count)
		free_pcppages_bulk(m, z, pcp->count, pcp, 0);
	for (int h = 0; h < 2; h++)
		hot_cold_free_oldest(m, z, &pcp->hot_cold[h], pcp->hot_cold[h].count);
}

static bool cpu_has_pcp_pages(struct vmm_machine *m, unsigned cpu)
{
	struct vmm_zone *z;

	for_each_zone(m, z)
		if (z->pcp[cpu].count || z->pcp[cpu].hot_cold[0].count || z->pcp[cpu].hot_cold[1].count)
			return true;
	return false;
}

/* __drain_all_pages(): the current CPU drains itself; others by IPI. */
static void drain_all_pages(struct vmm_machine *m)
{
	unsigned self = m->current_cpu;
	struct vmm_zone *z;

	for (unsigned c = 0; c < m->nr_cpus; c++) {
		if (!cpu_has_pcp_pages(m, c))
			continue;
		if (c != self) {
			vmm_charge(m, VMM_CYC_IPI, m->clock.cost.ipi);
			vmm_clock_charge(&m->clock, c, VMM_CYC_IPI, m->clock.cost.ipi);
		}
		for_each_zone(m, z)
			vmm_drain_zone_pages(m, z, c);
	}
}

/* ------------------------------------------------------------------ */
/* The slow path                                                       */
/* ------------------------------------------------------------------ */

static void wake_all_kswapds(struct vmm_machine *m, unsigned order, vmm_gfp_t gfp,
			     const struct vmm_alloc_context *ac)
{
	const struct vmm_zoneref *z;
	int last_nid = -1;

	for_next_zone_zonelist_nodemask(z, ac->zonelist, ac->highest_zoneidx, ac->nodemask) {
		if (z->nid == last_nid)
			continue;
		last_nid = z->nid;
		vmm_wakeup_kswapd(m, z->zone, gfp, order, ac->highest_zoneidx);
	}
}

/* __alloc_pages_direct_reclaim(): reclaim, then retry once more after a drain. */
static uint64_t direct_reclaim(struct vmm_machine *m, vmm_gfp_t gfp, unsigned order,
			       unsigned alloc_flags, const struct vmm_alloc_context *ac,
			       uint64_t *progress, struct vmm_zone **zone_out)
{
	uint64_t pfn = UINT64_MAX;
	bool drained = false;

	m->pa_stats.direct_reclaim++;
	*progress = vmm_try_to_free_pages(m, ac, order, gfp);
	if (!*progress)
		return UINT64_MAX;
	for (;;) {
		pfn = get_page_from_freelist(m, gfp, order, alloc_flags, ac, zone_out);
		if (pfn != UINT64_MAX || drained)
			return pfn;
		vmm_unreserve_highatomic_pageblock(m, ac, false);
		drain_all_pages(m);
		drained = true;
	}
}

/* __alloc_pages_direct_compact() */
static uint64_t direct_compact(struct vmm_machine *m, vmm_gfp_t gfp, unsigned order,
			       unsigned alloc_flags, const struct vmm_alloc_context *ac,
			       enum vmm_compact_result *result, struct vmm_zone **zone_out)
{
	uint64_t pfn;

	if (!order) {
		*result = COMPACT_SKIPPED;
		return UINT64_MAX;
	}
	m->pa_stats.direct_compact++;
	*result = vmm_try_to_compact_pages(m, gfp, order, alloc_flags, ac, 0);
	if (*result == COMPACT_SKIPPED)
		return UINT64_MAX;
	m->vm_events[VE_COMPACT_STALL]++;
	pfn = get_page_from_freelist(m, gfp, order, alloc_flags, ac, zone_out);
	m->vm_events[pfn != UINT64_MAX ? VE_COMPACT_SUCCESS : VE_COMPACT_FAIL]++;
	return pfn;
}

/*
 * should_reclaim_retry(): after MAX_RECLAIM_RETRIES rounds without progress
 * (costly orders never count as progress), release the HighAtomic reserve
 * as a last resort; otherwise retry while some zone would pass its min
 * watermark if everything reclaimable were reclaimed.
 */
static bool should_reclaim_retry(struct vmm_machine *m, vmm_gfp_t gfp, unsigned order,
				 const struct vmm_alloc_context *ac, unsigned alloc_flags,
				 bool did_some_progress, int *no_progress_loops)
{
	const struct vmm_zoneref *z;

	if (did_some_progress && order <= PAGE_ALLOC_COSTLY_ORDER)
		*no_progress_loops = 0;
	else
		(*no_progress_loops)++;
	if (*no_progress_loops > MAX_RECLAIM_RETRIES)
		return vmm_unreserve_highatomic_pageblock(m, ac, true);

	for_next_zone_zonelist_nodemask(z, ac->zonelist, ac->highest_zoneidx, ac->nodemask) {
		struct vmm_zone *zone = z->zone;
		int64_t available;

		if ((alloc_flags & ALLOC_CPUSET) && !vmm_cpuset_zone_allowed(m, zone, gfp))
			continue;
		available = (int64_t)vmm_zone_reclaimable_pages(m, zone) +
			    zone->vm_stat[NR_FREE_PAGES];
		if (vmm_zone_watermark_ok(zone, order, wmark_pages(zone, WMARK_MIN),
					  ac->highest_zoneidx, alloc_flags, available))
			return true;
	}
	return false;
}

/* __alloc_pages_cpuset_fallback() */
static uint64_t cpuset_fallback(struct vmm_machine *m, vmm_gfp_t gfp, unsigned order,
				unsigned alloc_flags, const struct vmm_alloc_context *ac,
				struct vmm_zone **zone_out)
{
	uint64_t pfn = get_page_from_freelist(m, gfp, order, alloc_flags | ALLOC_CPUSET, ac,
					      zone_out);

	if (pfn == UINT64_MAX)
		pfn = get_page_from_freelist(m, gfp, order, alloc_flags, ac, zone_out);
	return pfn;
}

/* __alloc_pages_may_oom() */
static uint64_t may_oom(struct vmm_machine *m, vmm_gfp_t gfp, unsigned order,
			const struct vmm_alloc_context *ac, bool *progress,
			struct vmm_zone **zone_out)
{
	uint64_t pfn;

	*progress = false;
	/* one last try at the high watermark: another OOM kill may just have freed memory */
	pfn = get_page_from_freelist(m, (gfp | VMM_GFP_HARDWALL) & ~VMM_GFP_DIRECT_RECLAIM, order,
				     ALLOC_WMARK_HIGH | ALLOC_CPUSET, ac, zone_out);
	if (pfn != UINT64_MAX)
		return pfn;
	if (order > PAGE_ALLOC_COSTLY_ORDER)
		return UINT64_MAX;
	if (gfp & VMM_GFP_RETRY_MAYFAIL)
		return UINT64_MAX;
	if (ac->highest_zoneidx < VMM_ZONE_NORMAL)
		return UINT64_MAX;
	if (gfp & VMM_GFP_THISNODE)
		return UINT64_MAX;
	m->pa_stats.oom_calls++;
	if (vmm_out_of_memory(m, gfp, order, ac) || (gfp & VMM_GFP_NOFAIL)) {
		*progress = true;
		if (gfp & VMM_GFP_NOFAIL)
			pfn = cpuset_fallback(m, gfp, order, ALLOC_NO_WATERMARKS, ac, zone_out);
	}
	return pfn;
}

static void warn_alloc(struct vmm_machine *m, vmm_gfp_t gfp, const vmm_nodemask_t *nodemask,
		       unsigned order)
{
	m->pa_stats.failures++;
	if (gfp & VMM_GFP_NOWARN)
		return;
	if (nodemask)
		vmm_log(&m->log, VMM_LOG_WARN, VMM_LOG_KIND_NOTE,
			"page allocation failure: order:%u, mode:%#x, nodemask=%#" PRIx64
			", cpu=%u",
			order, (unsigned)gfp, (uint64_t)*nodemask, m->current_cpu);
	else
		vmm_log(&m->log, VMM_LOG_WARN, VMM_LOG_KIND_NOTE,
			"page allocation failure: order:%u, mode:%#x, nodemask=(null), cpu=%u",
			order, (unsigned)gfp, m->current_cpu);
}

/*
 * __alloc_pages_slowpath(): see vmm_alloc_pages() in gfp.h for the order
 * of events. The simulation bounds the rounds that Linux would repeat
 * forever (__GFP_NOFAIL, GFP_NOFS under OOM) and reports the hang.
 */
static uint64_t alloc_pages_slowpath(struct vmm_machine *m, vmm_gfp_t gfp, unsigned order,
				     struct vmm_alloc_context *ac, struct vmm_zone **zone_out)
{
	bool can_direct_reclaim = gfp & VMM_GFP_DIRECT_RECLAIM;
	bool costly_order = order > PAGE_ALLOC_COSTLY_ORDER;
	enum vmm_compact_result compact_result = COMPACT_SKIPPED;
	const vmm_nodemask_t *orig_nodemask = ac->nodemask;
	unsigned alloc_flags, reserve_flags;
	int no_progress_loops = 0, rounds = 0;
	uint64_t pfn, progress = 0;
	bool oom_progress;

	m->pa_stats.slowpath++;
	vmm_charge(m, VMM_CYC_ALLOC_SLOW, m->clock.cost.alloc_slow_entry);
	alloc_flags = vmm_gfp_to_alloc_flags(gfp, order);
	ac->preferred_zoneref = vmm_first_zones_zonelist(ac->zonelist, ac->highest_zoneidx,
							 ac->nodemask);
	if (!ac->preferred_zoneref->zone)
		goto nopage;

	if (alloc_flags & ALLOC_KSWAPD)
		wake_all_kswapds(m, order, gfp, ac);
	pfn = get_page_from_freelist(m, gfp, order, alloc_flags, ac, zone_out);
	if (pfn != UINT64_MAX)
		return pfn;

	/* costly and non-movable high orders try compaction before reclaim */
	if (can_direct_reclaim && (costly_order || (order > 0 && ac->migratetype != MIGRATE_MOVABLE)) &&
	    !gfp_pfmemalloc_flags(gfp)) {
		pfn = direct_compact(m, gfp, order, alloc_flags, ac, &compact_result, zone_out);
		if (pfn != UINT64_MAX)
			return pfn;
		if (costly_order && (gfp & VMM_GFP_NORETRY) &&
		    (compact_result == COMPACT_SKIPPED || compact_result == COMPACT_DEFERRED))
			goto nopage;
	}

retry:
	if (++rounds > VMM_MAX_SLOWPATH_ROUNDS) {
		vmm_guest_err(&m->log,
			      "page allocation (order:%u, mode:%#x) would retry forever: nothing can "
			      "free memory; failing it",
			      order, (unsigned)gfp);
		if (gfp & VMM_GFP_NOFAIL)
			m->pa_stats.nofail_gaveup++;
		goto fail;
	}
	if (rounds > 1) {
		m->pa_stats.slowpath_retries++;
		vmm_charge(m, VMM_CYC_ALLOC_SLOW, m->clock.cost.alloc_retry);
	}
	if (alloc_flags & ALLOC_KSWAPD)
		wake_all_kswapds(m, order, gfp, ac);
	reserve_flags = gfp_pfmemalloc_flags(gfp);
	if (reserve_flags)
		alloc_flags = reserve_flags | (alloc_flags & ALLOC_KSWAPD);
	/* no cpuset restriction: the zonelist may be used whole (bar the caller's mask) */
	if (!(alloc_flags & ALLOC_CPUSET) || reserve_flags) {
		ac->nodemask = NULL;
		ac->preferred_zoneref = vmm_first_zones_zonelist(ac->zonelist, ac->highest_zoneidx,
								 ac->nodemask);
	}
	pfn = get_page_from_freelist(m, gfp, order, alloc_flags, ac, zone_out);
	if (pfn != UINT64_MAX)
		return pfn;
	if (!can_direct_reclaim)
		goto nopage;

	pfn = direct_reclaim(m, gfp, order, alloc_flags, ac, &progress, zone_out);
	if (pfn != UINT64_MAX)
		return pfn;
	pfn = direct_compact(m, gfp, order, alloc_flags, ac, &compact_result, zone_out);
	if (pfn != UINT64_MAX)
		return pfn;

	if (gfp & VMM_GFP_NORETRY)
		goto nopage;
	if (costly_order && !(gfp & VMM_GFP_RETRY_MAYFAIL))
		goto nopage;
	if (should_reclaim_retry(m, gfp, order, ac, alloc_flags, progress > 0, &no_progress_loops))
		goto retry;
	/* should_compact_retry() only matters once reclaim made progress */

	pfn = may_oom(m, gfp, order, ac, &oom_progress, zone_out);
	if (pfn != UINT64_MAX)
		return pfn;
	if (oom_progress) {
		no_progress_loops = 0;
		goto retry;
	}

nopage:
	if (gfp & VMM_GFP_NOFAIL) {
		if (!can_direct_reclaim) {
			vmm_caller_err(&m->log, "__GFP_NOFAIL without __GFP_DIRECT_RECLAIM cannot be honoured");
			goto fail;
		}
		pfn = cpuset_fallback(m, gfp, order, ALLOC_MIN_RESERVE, ac, zone_out);
		if (pfn != UINT64_MAX)
			return pfn;
		goto retry;
	}
fail:
	warn_alloc(m, gfp, orig_nodemask, order);
	return UINT64_MAX;
}

/*
 * prepare_alloc_pages(): the allocation context from the GFP flags and the
 * preferred node's zonelist. With a cpuset, the fast path is hardwalled:
 * without a caller's nodemask it uses the cpuset's nodes (@cpuset_mask
 * holds them), with one it checks ALLOC_CPUSET per zone.
 */
static void prepare_alloc_pages(const struct vmm_machine *m, vmm_gfp_t gfp, int preferred_nid,
				const vmm_nodemask_t *nodemask, struct vmm_alloc_context *ac,
				vmm_nodemask_t *cpuset_mask, vmm_gfp_t *alloc_gfp,
				unsigned *alloc_flags)
{
	const struct vmm_pgdat *pgdat = &m->node_data[preferred_nid];

	*alloc_gfp = gfp;
	*alloc_flags = ALLOC_WMARK_LOW;
	ac->highest_zoneidx = (enum vmm_zone_type)vmm_gfp_zone(m->gfp_zone_table, gfp);
	ac->zonelist = pgdat->zonelists[(gfp & VMM_GFP_THISNODE) ? ZONELIST_NOFALLBACK
								  : ZONELIST_FALLBACK];
	ac->nodemask = nodemask;
	ac->migratetype = vmm_gfp_migratetype(m, gfp);
	ac->spread_dirty_pages = gfp & VMM_GFP_WRITE;
	if (m->cpuset_mems) {
		*alloc_gfp |= VMM_GFP_HARDWALL;
		if (!nodemask) {
			*cpuset_mask = m->cpuset_mems;
			ac->nodemask = cpuset_mask;
		} else {
			*alloc_flags |= ALLOC_CPUSET;
		}
	}
	ac->preferred_zoneref =
		vmm_first_zones_zonelist(ac->zonelist, ac->highest_zoneidx, ac->nodemask);
}

/* GFP bits that send a request the full way: invalid ones, and those that change where it looks. */
#define GFP_NOT_FAST (~VMM_GFP_KNOWN_MASK | VMM_GFP_COLD | VMM_GFP_THISNODE)

/*
 * The common request of vmm_alloc_pages(), in a few steps and without an allocation
 * context: a valid GFP mask without __GFP_THISNODE or __GFP_COLD, an order the per-CPU
 * lists hold, mobility grouping on, and a fast_zone for it on the local node (so the
 * default or local policy, no cpuset, and the node's first eligible zone its own).
 * When that zone passes the watermark get_page_from_freelist() tests first, has no
 * boost for kswapd to undo, and this CPU's list for the request holds a block,
 * get_page_from_freelist() would take that block and do nothing else; this takes it
 * with the same counters and charges. In every other case it returns NULL having
 * changed nothing, and the caller goes the full way.
 */
static FAST_INLINE struct vmm_page *alloc_pages_fast(struct vmm_machine *m, vmm_gfp_t gfp,
						     unsigned order)
{
	struct vmm_zone *zone = m->node_data[numa_node_id(m)].fast_zone[gfp & GFP_ZONE_MOBILITY];
	/* a zone there means the zone bits are valid */
	enum vmm_zone_type highest_zoneidx = gfp_zone_entry(m->gfp_zone_table, gfp);
	int migratetype = (int)((gfp & GFP_MOBILITY_MASK) >> GFP_MOVABLE_SHIFT);
	struct vmm_per_cpu_pages *pcp;
	struct vmm_list *list;
	uint64_t mark;

	if (!zone || (gfp & GFP_NOT_FAST) || !pcp_allowed_order(order) ||
	    m->page_group_by_mobility_disabled || (zone->flags & ZONE_BOOSTED_WATERMARK))
		return NULL;
	mark = wmark_pages(zone, (zone->flags & ZONE_BELOW_HIGH) ? WMARK_LOW : WMARK_HIGH);
	if (!(order ? vmm_zone_watermark_fast(zone, order, mark, highest_zoneidx, ALLOC_WMARK_LOW)
		    : watermark_order0_ok(zone, mark, highest_zoneidx, ALLOC_WMARK_LOW)))
		return NULL;
	pcp = this_pcp(m, zone);
	list = &pcp->lists[order_to_pindex(migratetype, order)];
	if (vmm_list_empty(list))
		return NULL;
	pcp_alloc_starts(pcp);
	vmm_charge(m, VMM_CYC_ALLOC, m->clock.cost.alloc_fast);
	/* count_alloc(): the zone is the preferred one, on the local node */
	m->vm_events[VE_PGALLOC_DMA + zone->idx] += 1ull << order;
	zone->vm_numa_event[NUMA_HIT]++;
	zone->vm_numa_event[NUMA_LOCAL]++;
	return prep_new_page(m, pcp_list_pop(pcp, list, order), order, gfp);
}

/*
 * alloc_pages_fast() for order 0, with what it decodes and computes read from
 * the CPU's pcp_fast entry for the request's zone and mobility bits and from
 * the zone's fast_floor. Its watermark test is watermark_order0_ok()'s at the
 * mark alloc_pages_fast() picks, reordered: with R the HighAtomic reserve and
 * M = mark + lowmem reserve >= 0, free - min(free, R) > M exactly when
 * free > M + R, and fast_floor[] for the request's highest zone is M + R (or out
 * of reach when boosted).
 * __GFP_ZERO requests take alloc_pages_fast() instead (alloc_pages_other()), so
 * that this path ends with no test of the flags.
 */
static FAST_INLINE struct vmm_page *alloc_order0_fast(struct vmm_machine *m, vmm_gfp_t gfp)
{
	const struct vmm_pcp_fast *f = &m->this_cpu_fast->alloc[gfp & GFP_ZONE_MOBILITY];
	struct vmm_zone *zone = f->zone;
	struct vmm_per_cpu_pages *pcp;
	struct vmm_cpu_clock *clk;
	struct vmm_list *list;
	struct vmm_page *page;

	if (gfp & (GFP_NOT_FAST | VMM_GFP_ZERO))
		return NULL;
	/* with no zone for the fast path, no_fast_zone's floor fails every request here */
	if (zone->vm_stat[NR_FREE_PAGES] <= *f->floor)
		return NULL;
	list = f->list;
	if (vmm_list_empty(list))
		return NULL;
	/* all of the entry read before the first store, which GCC cannot tell from it */
	pcp = f->pcp;
	clk = f->clk;
	pcp_alloc_starts(pcp);
	pcp->count--;
	vmm_cpu_clock_charge(clk, VMM_CYC_ALLOC, m->clock.cost.alloc_fast);
	/* count_alloc(), the zone being the preferred one on the local node: all three at once */
	zone->fast_allocs++;
	page = vmm_list_first_entry(list, struct vmm_page, lru);
	/* vmm_list_del() of the first entry, whose prev is the head: no load of it */
	list->next = page->lru.next;
	page->lru.next->prev = list;
	prep_order0_pcp_page(page);
	return page;
}

/*
 * __alloc_pages(): the fast path at the low
 * watermark (with a cpuset, hardwalled), then the slow path.
 */
static struct vmm_page *alloc_pages_core(struct vmm_machine *m, vmm_gfp_t gfp, unsigned order,
					 int preferred_nid, const vmm_nodemask_t *nodemask,
					 struct vmm_zone **zone_out)
{
	struct vmm_alloc_context ac;
	vmm_gfp_t alloc_gfp;
	unsigned alloc_flags;
	vmm_nodemask_t cpuset_mask;
	uint64_t pfn;

	prepare_alloc_pages(m, gfp, preferred_nid, nodemask, &ac, &cpuset_mask, &alloc_gfp,
			    &alloc_flags);

	/*
	 * alloc_flags_nofragment(): a request starting in ZONE_NORMAL first
	 * tries the lower zone (DMA32) rather than fragment Normal's
	 * pageblocks, unless on a NUMA machine the node has no DMA32.
	 */
	if (gfp & VMM_GFP_KSWAPD_RECLAIM)
		alloc_flags |= ALLOC_KSWAPD;
	if (ac.preferred_zoneref->zone && ac.preferred_zoneref->zone->idx == VMM_ZONE_NORMAL &&
	    !(m->nr_nodes > 1 &&
	      !ac.preferred_zoneref->zone->zone_pgdat->node_zones[VMM_ZONE_DMA32].present_pages))
		alloc_flags |= ALLOC_NOFRAGMENT;

	pfn = UINT64_MAX;
	if (ac.preferred_zoneref->zone)
		pfn = get_page_from_freelist(m, alloc_gfp, order, alloc_flags, &ac, zone_out);
	if (pfn == UINT64_MAX) {
		ac.spread_dirty_pages = false;
		ac.nodemask = nodemask;
		pfn = alloc_pages_slowpath(m, gfp, order, &ac, zone_out);
	}
	return pfn == UINT64_MAX ? NULL : page_of(m, pfn);
}

struct vmm_page *vmm_alloc_pages_core(struct vmm_machine *m, vmm_gfp_t gfp, unsigned order,
				      int preferred_nid, const vmm_nodemask_t *nodemask)
{
	return alloc_pages_core(m, gfp, order, preferred_nid, nodemask, NULL);
}

/* ------------------------------------------------------------------ */
/* Public API                                                          */
/* ------------------------------------------------------------------ */

static bool valid_nodemask(const struct vmm_machine *m, const vmm_nodemask_t *mask)
{
	return !mask || (*mask && !(m->nr_nodes < 64 && (*mask >> m->nr_nodes)));
}

/* A preferred node of -1 is the current CPU's; a node or mask beyond the machine is an error. */
static bool resolve_node(struct vmm_machine *m, int *nid, const vmm_nodemask_t *nodemask,
			 const char *fn)
{
	if (*nid < 0)
		*nid = numa_node_id(m);
	if ((unsigned)*nid >= m->nr_nodes || !valid_nodemask(m, nodemask)) {
		vmm_caller_err(&m->log, "%s: node %d or nodemask outside the machine", fn, *nid);
		return false;
	}
	return true;
}

struct vmm_page *vmm_alloc_pages_nodemask(vmm_machine *m, vmm_gfp_t gfp, unsigned order,
					  int preferred_nid, const vmm_nodemask_t *nodemask)
{
	if (!m)
		return NULL;
	if (!gfp_valid(m, gfp, order, __func__))
		return NULL;
	if (!resolve_node(m, &preferred_nid, nodemask, __func__))
		return NULL;
	return alloc_pages_core(m, gfp, order, preferred_nid, nodemask, NULL);
}

struct vmm_page *vmm_alloc_pages_node(vmm_machine *m, int nid, vmm_gfp_t gfp, unsigned order)
{
	return vmm_alloc_pages_nodemask(m, gfp, order, nid, NULL);
}

/* interleave_nodes(): the policy's next node after the last one used. */
static int interleave_nodes(struct vmm_machine *m)
{
	int nid = next_node_in((unsigned)m->mpol_il_prev, m->mpol_nodes, m->nr_nodes);

	m->mpol_il_prev = nid;
	return nid;
}

/* alloc_pages_mpol(): apply the current task's policy. */
static __attribute__((noinline)) struct vmm_page *alloc_pages_mpol(struct vmm_machine *m,
								   vmm_gfp_t gfp, unsigned order)
{
	int local = numa_node_id(m), nid;
	struct vmm_page *page;

	if (!gfp_valid(m, gfp, order, "vmm_alloc_pages"))
		return NULL;
	switch (m->mpol_mode) {
	case VMM_MPOL_INTERLEAVE:
		nid = interleave_nodes(m);
		page = alloc_pages_core(m, gfp, order, nid, NULL, NULL);
		if (page && (int)vmm_page_to_nid(m, page) == nid)
			vmm_pfn_zone(m, pfn_of(m, page))->vm_numa_event[NUMA_INTERLEAVE_HIT]++;
		return page;
	case VMM_MPOL_PREFERRED:
		return alloc_pages_core(m, gfp, order, __builtin_ctzll(m->mpol_nodes), NULL, NULL);
	case VMM_MPOL_BIND: {
		/* the local node's zonelist, filtered by the mask: nearest allowed node first */
		vmm_nodemask_t mask = m->mpol_nodes;

		return alloc_pages_core(m, gfp, order, local, &mask, NULL);
	}
	default:
		return alloc_pages_core(m, gfp, order, local, NULL, NULL);
	}
}

/*
 * vmm_alloc_pages() but for an order-0 request the fast path served. An order-0
 * __GFP_ZERO request (an anonymous write fault's, a page table's) still tries
 * alloc_pages_fast(): the full way would take the same page with the same charges,
 * but costs about 350 more instructions.
 */
static __attribute__((noinline)) struct vmm_page *alloc_pages_other(struct vmm_machine *m,
								    vmm_gfp_t gfp, unsigned order)
{
	struct vmm_page *page;

	if (!m)
		return NULL;
	if (order || (gfp & VMM_GFP_ZERO)) {
		page = alloc_pages_fast(m, gfp, order);
		if (page)
			return page;
	}
	return alloc_pages_mpol(m, gfp, order);
}

/*
 * Under the default or local policy, a request may take the fast path. Order 0 is
 * tried here so that its path is straight-line code with nothing to save and restore.
 */
struct vmm_page *vmm_alloc_pages(vmm_machine *m, vmm_gfp_t gfp, unsigned order)
{
	struct vmm_page *page;

	if (likely(m && !order)) {
		page = alloc_order0_fast(m, gfp);
		if (likely(page))
			return page;
	}
	return alloc_pages_other(m, gfp, order);
}

/*
 * How much of the next page's frame vmm_alloc_page_filled() asks the host CPU
 * for: enough for the host's TLB to hold the page and its prefetchers to stream
 * the rest once the clear or copy starts. bench_fault measured 4 and 16 lines
 * alike (each about 150 ns off a write fault's clear on the development host).
 */
#define NEXT_FRAME_PREFETCH_LINES 8
#define HOST_CACHE_LINE 64u

/*
 * The page the next order-0 request of this kind on this CPU will take: the
 * head of the per-CPU list, which hands pages out last freed first. Touching
 * the first lines of its frame now (a host prefetch for writing; nothing
 * simulated sees it) moves the host TLB miss and the first cache misses of
 * the next clear or copy off that request's path.
 */
static FAST_INLINE void prefetch_next_frame(struct vmm_machine *m, const struct vmm_list *list,
					    vmm_gfp_t gfp)
{
	const char *host;
	uint64_t pfn;

	if (vmm_list_empty(list))
		return;
	pfn = pfn_of(m, vmm_list_first_entry(list, struct vmm_page, lru));
	/* a known-zero frame is not cleared: nothing to prefetch for a zeroed page */
	if ((gfp & VMM_GFP_ZERO) && !vmm_physmem_maybe_nonzero(&m->phys, pfn))
		return;
	host = vmm_physmem_host_ro(&m->phys, pfn << VMM_PAGE_SHIFT);
	for (unsigned l = 0; l < NEXT_FRAME_PREFETCH_LINES; l++)
		__builtin_prefetch(host + l * HOST_CACHE_LINE, 1, 3);
}

/*
 * vmm_alloc_pages(m, gfp, 0) for a page its caller writes whole at once: the
 * zeroed page of an anonymous write fault (__GFP_ZERO) or of a page table, or
 * the destination of a COW copy. An order-0 __GFP_ZERO request takes the
 * order-0 fast path here, which alloc_order0_fast() refuses it: it takes the
 * page as for the request without __GFP_ZERO (the same page, the same charge)
 * and clears it and charges the clear as prep_new_page() would. Either way the
 * frame the next such request will take is prefetched, unless it is known
 * zero and the request zeroed (so no host clear will touch it).
 */
struct vmm_page *vmm_alloc_page_filled(struct vmm_machine *m, vmm_gfp_t gfp)
{
	struct vmm_page *page = alloc_order0_fast(m, gfp & ~VMM_GFP_ZERO);

	if (unlikely(!page))
		return alloc_pages_other(m, gfp, 0);
	/* the fast path served: the entry's list is a real one */
	prefetch_next_frame(m, m->this_cpu_fast->alloc[gfp & GFP_ZONE_MOBILITY].list, gfp);
	if (gfp & VMM_GFP_ZERO)
		clear_pages(m, pfn_of(m, page), 0);
	return page;
}

/* __page_cache_alloc(): with cpuset.memory_spread_page, round robin over the cpuset's nodes. */
struct vmm_page *vmm_page_cache_alloc(struct vmm_machine *m, vmm_gfp_t gfp, unsigned order)
{
	if (m->cpuset_mems && (m->cpuset_flags & VMM_CPUSET_MEMORY_SPREAD_PAGE)) {
		int n = vmm_cpuset_mem_spread_node(m);

		return alloc_pages_core(m, gfp, order, n, NULL, NULL);
	}
	return vmm_alloc_pages(m, gfp, order);
}

/*
 * The loop of vmm_alloc_pages_bulk() while the order-0 per-CPU list @list holds
 * pages, for a request without __GFP_COMP or __GFP_ZERO: the pages that
 * rmqueue_pcplist_page() and prep_new_page() would hand out one by one for the
 * empty slots of @page_array from *@nr_populated on, in the same order, with
 * the list relinked and pcp->count lowered once at the end. Returns the number
 * of pages taken; *@nr_populated moves past the slots it filled or skipped.
 */
static unsigned long bulk_take_run(struct vmm_per_cpu_pages *pcp, struct vmm_list *list,
				   struct vmm_page **page_array, unsigned long *nr_populated,
				   unsigned long nr_pages)
{
	struct vmm_list *next = list->next;
	unsigned long i = *nr_populated, taken = 0;

	for (; i < nr_pages && next != list; i++) {
		struct vmm_page *page;

		if (page_array[i])
			continue;
		page = vmm_list_entry(next, struct vmm_page, lru);
		next = page->lru.next;
		prep_order0_pcp_page(page);
		page_array[i] = page;
		taken++;
	}
	list->next = next;
	next->prev = list;
	pcp->count -= (int)taken;
	*nr_populated = i;
	return taken;
}

unsigned long vmm_alloc_pages_bulk(vmm_machine *m, vmm_gfp_t gfp, int preferred_nid,
				   const vmm_nodemask_t *nodemask, unsigned long nr_pages,
				   struct vmm_page **page_array)
{
	struct vmm_alloc_context ac;
	const struct vmm_zoneref *z;
	struct vmm_zone *zone = NULL;
	struct vmm_per_cpu_pages *pcp;
	struct vmm_list *list;
	unsigned long nr_populated = 0, nr_account = 0;
	unsigned alloc_flags;
	vmm_gfp_t alloc_gfp;
	vmm_nodemask_t cpuset_mask;
	struct vmm_page *page;

	if (!m || (!page_array && nr_pages))
		return 0;
	if (!gfp_valid(m, gfp, 0, __func__))
		return 0;
	if (!resolve_node(m, &preferred_nid, nodemask, __func__))
		return 0;
	while (nr_populated < nr_pages && page_array[nr_populated])
		nr_populated++;
	if (nr_populated == nr_pages)
		return nr_populated;
	if (nr_pages - nr_populated == 1 || hot_cold(m))
		goto failed;

	prepare_alloc_pages(m, gfp, preferred_nid, nodemask, &ac, &cpuset_mask, &alloc_gfp,
			    &alloc_flags);
	if (!ac.preferred_zoneref->zone)
		goto failed;

	for_next_zone_zonelist_nodemask(z, ac.preferred_zoneref, ac.highest_zoneidx, ac.nodemask) {
		if ((alloc_flags & ALLOC_CPUSET) && !vmm_cpuset_zone_allowed(m, z->zone, alloc_gfp))
			continue;
		if (m->nr_nodes > 1 && z->zone != ac.preferred_zoneref->zone &&
		    z->nid != ac.preferred_zoneref->nid)
			goto failed;
		if (vmm_zone_watermark_fast(z->zone, 0,
					    wmark_pages(z->zone, ALLOC_WMARK_LOW) + nr_pages,
					    (enum vmm_zone_type)ac.preferred_zoneref->zone_idx,
					    alloc_flags)) {
			zone = z->zone;
			break;
		}
	}
	if (!zone)
		goto failed;

	pcp = this_pcp(m, zone);
	list = &pcp->lists[order_to_pindex(ac.migratetype, 0)];
	if (!(gfp & (VMM_GFP_COMP | VMM_GFP_ZERO)))
		nr_account = bulk_take_run(pcp, list, page_array, &nr_populated, nr_pages);
	while (nr_populated < nr_pages) {
		if (page_array[nr_populated]) {
			nr_populated++;
			continue;
		}
		page = rmqueue_pcplist_page(m, zone, 0, ac.migratetype, alloc_flags, pcp, list);
		if (!page) {
			if (!nr_account)
				goto failed;
			break;
		}
		nr_account++;
		page_array[nr_populated++] = prep_new_page(m, page, 0, gfp);
	}
	vmm_charge(m, VMM_CYC_ALLOC, m->clock.cost.alloc_fast);
	m->vm_events[VE_PGALLOC_DMA + zone->idx] += nr_account;
	zone_statistics(m, ac.preferred_zoneref->zone, zone, nr_account);
	return nr_populated;

failed:
	page = vmm_alloc_pages_nodemask(m, gfp, 0, preferred_nid, nodemask);
	if (page)
		page_array[nr_populated++] = page;
	return nr_populated;
}

/*
 * The run of order-0 frees at the start of @pages (at most @nr) that
 * free_order0_fast() would each add to a per-CPU list in line: the first page's
 * pageblock fixes the zone and the list, the others must lie in that pageblock and
 * be clean, and the list must stay below its limit with each (so nothing adapts
 * or drains on the way). They are added in order, with the state, counters and
 * charges that many single frees leave; what the loop does not change is read
 * once. Returns how many it took: 0 when the first page would not go that way,
 * and the caller frees it the full way.
 */
static unsigned long free_order0_run(struct vmm_machine *m, struct vmm_page *const *pages,
				     unsigned long nr)
{
	uint64_t pfn = vmm_sparse_page_pfn_checked(&m->sparse, pages[0]), first, span;
	const struct vmm_pageblock *pb;
	struct vmm_per_cpu_pages *pcp;
	struct vmm_list *head, *top;
	unsigned long n = 0, room;
	unsigned mt;

	if (!vmm_sparse_pfn_valid(&m->sparse, pfn) || !order0_free_block(m, pfn, &pb, &mt))
		return 0;
	pcp = pageblock_pcp(m, pb);
	if (!pcp_only_adds(pcp, pcp->count + 1))
		return 0;
	/* page k of the run leaves count + k + 1 pages on the lists, below high */
	room = VMM_MIN(nr, (unsigned long)(pcp->high - pcp->count - 1));
	/* the pageblock's valid pfns: all in one present section, below max_pfn */
	first = ALIGN_DOWN(pfn, PAGEBLOCK_NR_PAGES);
	span = VMM_MIN(PAGEBLOCK_NR_PAGES, m->sparse.max_pfn - first);
	head = &pcp->lists[mt];
	/*
	 * pcp_add_clean_page() for each page, with the list's first node kept here: each
	 * page goes in front of the one before, and the head is linked once at the end,
	 * before anything else looks at the list.
	 */
	top = head->next;
	for (; n < room; n++) {
		struct vmm_page *page = pages[n];

		if (vmm_sparse_page_pfn_checked(&m->sparse, page) - first >= span ||
		    !free_page_clean(page, 0))
			break;
		page->lru.next = top;
		top->prev = &page->lru;
		top = &page->lru;
		pcp_reset_clean_page(page);
	}
	head->next = top;
	top->prev = head;
	if (n)
		pcp_account_clean_adds(m, pcp, n);
	return n;
}

/*
 * Runs of pages bound for one per-CPU list go in one step (free_order0_run()), as
 * Linux's free_unref_folios() takes the list's lock once for a batch; any other
 * page is freed as vmm_free_pages() frees it.
 */
void vmm_free_pages_bulk(vmm_machine *m, unsigned long nr_pages, struct vmm_page *const *pages)
{
	unsigned long i = 0;

	if (!m)
		return;
	if (!pages && nr_pages) {
		vmm_caller_err(&m->log, "%s: pages is NULL", __func__);
		return;
	}
	while (i < nr_pages) {
		unsigned long n = free_order0_run(m, pages + i, nr_pages - i);

		if (!n) {
			free_pages(m, pages[i], 0, false, __func__);
			n = 1;
		}
		i += n;
	}
}

/* vmm_free_pages() but for an order-0 block the fast path took. */
static __attribute__((noinline)) void free_pages_other(struct vmm_machine *m, struct vmm_page *page,
						       unsigned order)
{
	if (m)
		free_pages(m, page, order, false, "vmm_free_pages");
}

/*
 * Order 0 is tried here so that its path is straight-line code (see vmm_alloc_pages()).
 * GCC's SLP vectoriser would pair the list links through an SSE register, at more
 * instructions than the two stores.
 */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-slp-vectorize")))
#endif
void vmm_free_pages(vmm_machine *m, struct vmm_page *page, unsigned order)
{
	if (likely(m && !order && free_order0_fast(m, page)))
		return;
	free_pages_other(m, page, order);
}

void vmm_free_cold_page(vmm_machine *m, struct vmm_page *page)
{
	if (!m)
		return;
	free_pages(m, page, 0, true, __func__);
}

static struct vmm_page *compound_head(const struct vmm_machine *m, struct vmm_page *page)
{
	if (page->compound & VMM_PAGE_TAIL)
		return page_of(m, pfn_of(m, page) - (page->compound & VMM_PAGE_TAIL_OFFSET));
	return page;
}

/* The head of the (compound) page @page belongs to, or NULL with a report when it is no page of @m. */
static struct vmm_page *checked_head(struct vmm_machine *m, struct vmm_page *page, const char *fn)
{
	if (!page_ok(m, page)) {
		vmm_caller_err(&m->log, "%s: %p is not a page of this machine", fn, (void *)page);
		return NULL;
	}
	return compound_head(m, page);
}

void vmm_get_page(vmm_machine *m, struct vmm_page *page)
{
	if (!m || !(page = checked_head(m, page, __func__)))
		return;
	if (page->refcount <= 0) {
		bad_page(m, page, "get_page on a page with zero _refcount", -1);
		return;
	}
	page->refcount++;
}

void vmm_put_page(vmm_machine *m, struct vmm_page *page)
{
	unsigned order;

	if (!m || !(page = checked_head(m, page, __func__)))
		return;
	order = page->compound & VMM_PAGE_ALLOC_ORDER;
	if (order && !page_flag(page, VMM_PG_head) && page->refcount == 1 &&
	    !(page->compound & VMM_PAGE_QUARANTINE)) {
		/* Linux would free only the first page and leak the rest */
		vmm_caller_err(&m->log,
			       "put_page: last reference to a non-compound order-%u block; "
			       "freeing all of it (Linux would leak %llu pages)",
			       order, (unsigned long long)((1ull << order) - 1));
	}
	free_pages(m, page, page_flag(page, VMM_PG_head) || page->refcount == 1 ? order : 0, false,
		   __func__);
}

vmm_vaddr_t vmm_page_offset(const vmm_machine *m)
{
	if (!m)
		return 0;
	return m->cfg.paging_levels == 5 ? PAGE_OFFSET_L5 : PAGE_OFFSET_L4;
}

/* page_address(): a highmem page has an address only while kmapped (highmem.c). */
vmm_vaddr_t vmm_page_address(const vmm_machine *m, const struct vmm_page *page)
{
	uint64_t pfn;

	if (!m || !page_ok(m, page))
		return 0;
	pfn = pfn_of(m, page);
	if (vmm_pfn_highmem(&m->highmem, pfn))
		return vmm_pkmap_page_address(m, pfn);
	return vmm_page_offset(m) + (pfn << VMM_PAGE_SHIFT);
}

/* The frames the direct map covers: below max_low_pfn. */
static uint64_t direct_map_pfns(const struct vmm_machine *m)
{
	return VMM_MIN(m->sparse.max_pfn, m->highmem.max_low_pfn);
}

struct vmm_page *vmm_virt_to_page(const vmm_machine *m, vmm_vaddr_t addr)
{
	vmm_vaddr_t base;
	uint64_t pfn;

	if (!m)
		return NULL;
	base = vmm_page_offset(m);
	if (addr < base || addr - base >= direct_map_pfns(m) << VMM_PAGE_SHIFT)
		return NULL;
	pfn = (addr - base) >> VMM_PAGE_SHIFT;
	return vmm_sparse_pfn_valid(&m->sparse, pfn) ? page_of(m, pfn) : NULL;
}

void *vmm_kaddr_to_host(vmm_machine *m, vmm_vaddr_t addr)
{
	vmm_vaddr_t base;
	vmm_paddr_t pa;

	if (!m)
		return NULL;
	base = vmm_page_offset(m);
	if (addr >= base && addr < m->init_mm.layout.direct_map_end) {
		if (addr - base >= direct_map_pfns(m) << VMM_PAGE_SHIFT)
			return NULL;	/* high memory: not in the direct map */
		return vmm_phys_to_host(m, addr - base);
	}
	/* vmalloc, pkmap, fixmap: what init_mm maps there */
	if (vmm_kernel_translate(m, addr, &pa))
		return NULL;
	return vmm_phys_to_host(m, pa);
}

vmm_vaddr_t vmm_get_free_pages(vmm_machine *m, vmm_gfp_t gfp, unsigned order)
{
	struct vmm_page *page;

	if (!m)
		return 0;
	if (gfp & VMM_GFP_HIGHMEM) {
		vmm_caller_err(&m->log, "%s: __GFP_HIGHMEM pages have no permanent kernel address",
			       __func__);
		return 0;
	}
	page = vmm_alloc_pages(m, gfp, order);
	return page ? vmm_page_address(m, page) : 0;
}

vmm_vaddr_t vmm_get_zeroed_page(vmm_machine *m, vmm_gfp_t gfp)
{
	return vmm_get_free_pages(m, gfp | VMM_GFP_ZERO, 0);
}

void vmm_free_pages_addr(vmm_machine *m, vmm_vaddr_t addr, unsigned order)
{
	struct vmm_page *page;

	if (!m || !addr)
		return;
	page = vmm_virt_to_page(m, addr);
	if (!page || (addr & (VMM_PAGE_SIZE - 1))) {
		vmm_caller_err(&m->log, "%s: %#llx is not a page-aligned direct-map address",
			       __func__, (unsigned long long)addr);
		return;
	}
	vmm_free_pages(m, page, order);
}

void vmm_drain_all_pages(vmm_machine *m)
{
	if (m)
		drain_all_pages(m);
}

static void set_pcp_disabled(struct vmm_machine *m, bool disabled)
{
	struct vmm_zone *z;

	m->pcp_disabled = disabled;
	for_each_zone(m, z) {
		vmm_pcp_setup_zone(m, z);
		for (unsigned c = 0; c < m->nr_cpus; c++) {
			z->pcp[c].high = disabled ? 0 : z->pcp[c].high;
			pcp_update_free_high(&z->pcp[c], z);
		}
	}
	if (disabled)
		drain_all_pages(m);
}

void vmm_zone_pcp_disable(vmm_machine *m)
{
	if (m)
		set_pcp_disabled(m, true);
}

void vmm_zone_pcp_enable(vmm_machine *m)
{
	if (m)
		set_pcp_disabled(m, false);
}

unsigned vmm_machine_current_cpu(const vmm_machine *m)
{
	return m ? m->current_cpu : 0;
}

int vmm_machine_set_current_cpu(vmm_machine *m, unsigned cpu)
{
	if (!m)
		return -VMM_EINVAL;
	if (cpu >= m->nr_cpus) {
		vmm_caller_err(&m->log, "%s: CPU %u, the machine has %u", __func__, cpu, m->nr_cpus);
		return -VMM_EINVAL;
	}
	vmm_switch_cpu(m, cpu);
	return 0;
}

int vmm_set_mempolicy(vmm_machine *m, enum vmm_mempolicy_mode mode, vmm_nodemask_t nodes)
{
	if (!m)
		return -VMM_EINVAL;
	switch (mode) {
	case VMM_MPOL_DEFAULT:
	case VMM_MPOL_LOCAL:
		nodes = 0;
		break;
	case VMM_MPOL_PREFERRED:
	case VMM_MPOL_BIND:
	case VMM_MPOL_INTERLEAVE:
		if (!nodes || !valid_nodemask(m, &nodes)) {
			vmm_caller_err(&m->log, "%s: nodemask %#llx empty or outside the machine",
				       __func__, (unsigned long long)nodes);
			return -VMM_EINVAL;
		}
		break;
	default:
		vmm_caller_err(&m->log, "%s: unknown mode %d", __func__, (int)mode);
		return -VMM_EINVAL;
	}
	m->mpol_mode = mode;
	m->mpol_nodes = nodes;
	/* the first interleaved allocation goes to the lowest node of the mask */
	m->mpol_il_prev = (int)m->nr_nodes - 1;
	update_fast_zones(m);
	return 0;
}

int vmm_set_cpuset(vmm_machine *m, const struct vmm_cpuset *cs)
{
	if (!m)
		return -VMM_EINVAL;
	if (!cs || !cs->mems_allowed) {
		m->cpuset_mems = 0;
		m->cpuset_flags = 0;
		update_fast_zones(m);
		return 0;
	}
	if (cs->flags & ~0xfu || cs->reserved0) {
		vmm_caller_err(&m->log, "%s: unknown flags or nonzero reserved fields", __func__);
		return -VMM_EINVAL;
	}
	for (int i = 0; i < 6; i++)
		if (cs->reserved[i]) {
			vmm_caller_err(&m->log, "%s: nonzero reserved fields", __func__);
			return -VMM_EINVAL;
		}
	if (!valid_nodemask(m, &cs->mems_allowed)) {
		vmm_caller_err(&m->log, "%s: mems_allowed %#llx names nodes the machine lacks",
			       __func__, (unsigned long long)cs->mems_allowed);
		return -VMM_EINVAL;
	}
	m->cpuset_mems = cs->mems_allowed;
	m->cpuset_flags = cs->flags;
	m->cpuset_spread_rotor = (int)m->nr_nodes - 1;
	update_fast_zones(m);
	return 0;
}

/* ------------------------------------------------------------------ */
/* sysctls                                                             */
/* ------------------------------------------------------------------ */

void vmm_page_alloc_sysctl_changed(struct vmm_machine *m)
{
	struct vmm_zone *z;

	vmm_setup_per_zone_wmarks(m);
	vmm_setup_per_zone_lowmem_reserve(m);
	for_each_zone(m, z)
		vmm_pcp_setup_zone(m, z);
}

/* The zone a "vm.lowmem_reserve_ratio.<zone>" name names, among the configured ones. */
static int lowmem_zone(const struct vmm_machine *m, const char *name)
{
	static const char prefix[] = "vm.lowmem_reserve_ratio.";

	if (strncmp(name, prefix, sizeof(prefix) - 1))
		return -1;
	for (int i = 0; i < VMM_MAX_NR_ZONES; i++)
		if (vmm_zone_configured(m, i) && !strcmp(name + sizeof(prefix) - 1, vmm_zone_names[i]))
			return i;
	return -1;
}

/*
 * The writeback sysctls (mm/page-writeback.c). Setting a ratio clears its
 * byte twin and the other way round, as Linux's handlers do.
 */
static const struct {
	const char *name;
	size_t off;
	bool bytes;
	size_t twin;
	int64_t min, max;
} dirty_sysctls[] = {
#define DS(n, f, b, t, lo, hi) { n, offsetof(struct vmm_vm_sysctl, f), b, offsetof(struct vmm_vm_sysctl, t), lo, hi }
	DS("vm.dirty_ratio", dirty_ratio, false, dirty_bytes, 0, 100),
	DS("vm.dirty_background_ratio", dirty_background_ratio, false, dirty_background_bytes, 0, 100),
	DS("vm.dirty_bytes", dirty_bytes, true, dirty_ratio, 0, INT64_MAX),
	DS("vm.dirty_background_bytes", dirty_background_bytes, true, dirty_background_ratio, 0,
	   INT64_MAX),
	DS("vm.dirty_expire_centisecs", dirty_expire_centisecs, false, dirty_expire_centisecs, 0,
	   INT32_MAX),
	DS("vm.dirty_writeback_centisecs", dirty_writeback_centisecs, false,
	   dirty_writeback_centisecs, 0, INT32_MAX),
	DS("vm.highmem_is_dirtyable", highmem_is_dirtyable, false, highmem_is_dirtyable, 0, 1),
#undef DS
};

static int dirty_sysctl(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(dirty_sysctls); i++)
		if (!strcmp(name, dirty_sysctls[i].name))
			return (int)i;
	return -1;
}

static int64_t dirty_sysctl_read(const struct vmm_vm_sysctl *s, int i)
{
	const char *p = (const char *)s + dirty_sysctls[i].off;

	return dirty_sysctls[i].bytes ? (int64_t)*(const uint64_t *)(const void *)p
				      : (int64_t)*(const uint32_t *)(const void *)p;
}

static void dirty_sysctl_write(struct vmm_vm_sysctl *s, int i, int64_t v)
{
	char *p = (char *)s + dirty_sysctls[i].off, *twin = (char *)s + dirty_sysctls[i].twin;

	if (dirty_sysctls[i].bytes)
		*(uint64_t *)(void *)p = (uint64_t)v;
	else
		*(uint32_t *)(void *)p = (uint32_t)v;
	if (dirty_sysctls[i].twin == dirty_sysctls[i].off)
		return;
	if (dirty_sysctls[i].bytes)
		*(uint32_t *)(void *)twin = 0;
	else
		*(uint64_t *)(void *)twin = 0;
}

int vmm_sysctl_get(const vmm_machine *m, const char *name, int64_t *value)
{
	int zid;

	if (!m || !name || !value)
		return -VMM_EINVAL;
	if (!strcmp(name, "vm.min_free_kbytes"))
		*value = (int64_t)m->min_free_kbytes;
	else if (!strcmp(name, "vm.watermark_scale_factor"))
		*value = m->cfg.watermark_scale_factor;
	else if (!strcmp(name, "vm.watermark_boost_factor"))
		*value = m->sysctl.watermark_boost_factor;
	else if (!strcmp(name, "vm.percpu_pagelist_high_fraction"))
		*value = m->sysctl.percpu_pagelist_high_fraction;
	else if (!strcmp(name, "vm.node_reclaim_mode"))
		*value = m->sysctl.node_reclaim_mode;
	else if ((zid = lowmem_zone(m, name)) >= 0)
		*value = m->sysctl.lowmem_reserve_ratio[zid];
	else if ((zid = dirty_sysctl(name)) >= 0)
		*value = dirty_sysctl_read(&m->sysctl, zid);
	else if (vmm_mm_sysctl_get(m, name, value))
		return -VMM_ENOENT;
	return 0;
}

int vmm_sysctl_set(vmm_machine *m, const char *name, int64_t value)
{
	int zid;

	if (!m || !name)
		return -VMM_EINVAL;
	if (!strcmp(name, "vm.min_free_kbytes")) {
		if (value < 0 || value > INT32_MAX)
			goto bad;
		m->min_free_kbytes = (uint64_t)value;
	} else if (!strcmp(name, "vm.watermark_scale_factor")) {
		if (value < 1 || value > 3000)
			goto bad;
		m->cfg.watermark_scale_factor = (uint32_t)value;
	} else if (!strcmp(name, "vm.watermark_boost_factor")) {
		if (value < 0 || value > INT32_MAX)
			goto bad;
		m->sysctl.watermark_boost_factor = (uint32_t)value;
		return 0;
	} else if (!strcmp(name, "vm.percpu_pagelist_high_fraction")) {
		if (value < 0 || (value > 0 && value < 8) || value > INT32_MAX)
			goto bad;
		m->sysctl.percpu_pagelist_high_fraction = (uint32_t)value;
	} else if (!strcmp(name, "vm.node_reclaim_mode")) {
		if (value < 0 || value > 7)
			goto bad;
		m->sysctl.node_reclaim_mode = (uint32_t)value;
		return 0;
	} else if ((zid = lowmem_zone(m, name)) >= 0) {
		if (value < 0 || value > INT32_MAX)
			goto bad;
		m->sysctl.lowmem_reserve_ratio[zid] = (uint32_t)value;
	} else if ((zid = dirty_sysctl(name)) >= 0) {
		if (value < dirty_sysctls[zid].min || value > dirty_sysctls[zid].max ||
		    (!strcmp(name, "vm.dirty_bytes") && value && value < 2 * (int64_t)VMM_PAGE_SIZE))
			goto bad;
		dirty_sysctl_write(&m->sysctl, zid, value);
		return 0;
	} else if ((zid = vmm_mm_sysctl_set(m, name, value)) <= 0) {
		return zid;
	} else {
		vmm_caller_err(&m->log, "%s: no sysctl %s", __func__, name);
		return -VMM_ENOENT;
	}
	vmm_page_alloc_sysctl_changed(m);
	return 0;
bad:
	vmm_caller_err(&m->log, "%s: %s = %lld is out of range", __func__, name, (long long)value);
	return -VMM_EINVAL;
}

/* ------------------------------------------------------------------ */
/* Checks                                                              */
/* ------------------------------------------------------------------ */

static inline long check_pcp_list(struct vmm_machine *m, struct vmm_zone *z, unsigned cpu,
				  struct vmm_list *head, int want_order, int *count, FILE *out)
{
	struct vmm_list *pos;
	long problems = 0;
	unsigned nid;

	if (head->next == head)
		return 0;	/* most lists are empty: no frame to set up */
	nid = z->zone_pgdat->node_id;
	vmm_list_for_each(pos, head) {
		struct vmm_page *page = vmm_list_entry(pos, struct vmm_page, lru);
		uint64_t pfn = pfn_of(m, page);
		unsigned order = (unsigned)page->private;

		if (pos->next->prev != pos) {
			fprintf(out, "node %u zone %s cpu %u: broken pcp list link at pfn %#" PRIx64 "\n",
				nid, z->name, cpu, pfn);
			return problems + 1;
		}
		if (!(page->compound & VMM_PAGE_PCP) || PageBuddy(page) || page->refcount ||
		    (want_order >= 0 && order != (unsigned)want_order)) {
			fprintf(out, "node %u zone %s cpu %u: pfn %#" PRIx64 " on a pcp list in the wrong state\n",
				nid, z->name, cpu, pfn);
			problems++;
		}
		if (!IS_ALIGNED(pfn, 1ull << order) || pfn < z->zone_start_pfn ||
		    pfn + (1ull << order) > zone_end_pfn(z) || vmm_pfn_zone(m, pfn) != z) {
			fprintf(out, "node %u zone %s cpu %u: pcp block %#" PRIx64 " misaligned or outside the zone\n",
				nid, z->name, cpu, pfn);
			problems++;
		}
		*count += 1 << order;
	}
	return problems;
}

/*
 * Whether the limit of a per-CPU list is wrong: it starts at 0 (BOOT_PAGESET_HIGH),
 * and on a machine with hot/cold lists, which leave these lists unused, nothing
 * raises it. free_order0_fast() counts on that.
 */
static bool pcp_high_bad(const struct vmm_machine *m, const struct vmm_per_cpu_pages *pcp)
{
	return hot_cold(m) && pcp->high;
}

long vmm_pcp_check(struct vmm_machine *m, FILE *out)
{
	struct vmm_zone *z;
	long problems = check_fast_zones(m, out);

	for_each_zone(m, z) {
		for (unsigned c = 0; c < m->nr_cpus; c++) {
			struct vmm_per_cpu_pages *pcp = &z->pcp[c];
			int count = 0;

			for (int i = 0; i < NR_PCP_LISTS; i++)
				problems += check_pcp_list(m, z, c, &pcp->lists[i],
							   (int)pindex_to_order(i), &count, out);
			if (count != pcp->count) {
				fprintf(out, "node %u zone %s cpu %u: pcp lists hold %d pages, count says %d\n",
					z->zone_pgdat->node_id, z->name, c, count, pcp->count);
				problems++;
			}
			if (pcp_high_bad(m, pcp)) {
				fprintf(out, "node %u zone %s cpu %u: high %d, hot/cold lists\n",
					z->zone_pgdat->node_id, z->name, c, pcp->high);
				problems++;
			}
			if (pcp->free_high != pcp_free_high(pcp, z)) {
				fprintf(out,
					"node %u zone %s cpu %u: stale free_high %d, want %d\n",
					z->zone_pgdat->node_id, z->name, c, pcp->free_high,
					pcp_free_high(pcp, z));
				problems++;
			}
			if (pcp->free_count_max != pcp->batch << PCP_BATCH_SCALE_MAX) {
				fprintf(out, "node %u zone %s cpu %u: free_count_max %d for batch %d\n",
					z->zone_pgdat->node_id, z->name, c, pcp->free_count_max,
					pcp->batch);
				problems++;
			}
			for (int h = 0; h < 2; h++) {
				count = 0;
				problems += check_pcp_list(m, z, c, &pcp->hot_cold[h].list, 0, &count,
							   out);
				if (count != pcp->hot_cold[h].count) {
					fprintf(out, "node %u zone %s cpu %u: %s list holds %d pages, count says %d\n",
						z->zone_pgdat->node_id, z->name, c, h ? "cold" : "hot",
						count, pcp->hot_cold[h].count);
					problems++;
				}
			}
		}
	}
	return problems;
}
