/* SPDX-License-Identifier: MIT */
#include "mm/zone.h"

#include <inttypes.h>
#include <string.h>

#include <vmm/errors.h>

#include "lib/compiler.h"
#include "machine.h"

const char *const vmm_zone_names[VMM_MAX_NR_ZONES] = { "DMA", "DMA32", "Normal", "HighMem",
							 "Movable" };

const uint32_t vmm_lowmem_reserve_ratio[VMM_MAX_NR_ZONES] = { 256, 256, 32, 0, 0 };

bool vmm_zone_configured(const struct vmm_machine *m, int zid)
{
	return zid != VMM_ZONE_HIGHMEM || m->cfg.direct_map_limit;
}

bool vmm_zone_is_highmem(const struct vmm_machine *m, const struct vmm_zone *z)
{
	uint64_t limit = m->cfg.direct_map_limit >> VMM_PAGE_SHIFT;

	return z->idx == VMM_ZONE_HIGHMEM ||
	       (z->idx == VMM_ZONE_MOVABLE && limit && z->spanned_pages &&
		z->zone_start_pfn >= limit);
}

uint64_t vmm_max_low_pfn(const struct vmm_machine *m, uint64_t max_pfn)
{
	uint64_t limit = m->cfg.direct_map_limit >> VMM_PAGE_SHIFT;

	return limit ? VMM_MIN(limit, max_pfn) : max_pfn;
}

/* SWAP_CLUSTER_MAX: the floor of the highmem/movable minimum watermark. */
#define SWAP_CLUSTER_MAX 32ull
/* percpu_pagelist_high_fraction's floor, used for high_max by default. */
#define MIN_PERCPU_PAGELIST_HIGH_FRACTION 8

/*
 * The possible pfn range of each zone on this machine (Linux's
 * arch_zone_lowest/highest_possible_pfn): zones follow each other from the
 * first RAM pfn, DMA up to 16 MiB, DMA32 up to 4 GiB, Normal up to the end
 * of the direct map (max_low_pfn), HighMem from there to the last RAM pfn,
 * as i386's zone_sizes_init() splits them. Without direct_map_limit the
 * direct map covers all RAM and HighMem is empty. ZONE_MOVABLE has no
 * architectural range; it is carved out of the highest populated zone
 * below it.
 */
struct zone_limits {
	uint64_t lowest[VMM_MAX_NR_ZONES];
	uint64_t highest[VMM_MAX_NR_ZONES];
	uint64_t max_pfn;
	int movable_zone;
};

static void zone_limits_init(struct vmm_machine *m, struct zone_limits *zl)
{
	const struct vmm_memblock_type *mem = &m->memblock.memory;
	const struct vmm_memblock_region *last = &mem->regions[mem->cnt - 1];
	uint64_t max_zone_pfn[VMM_MAX_NR_ZONES];
	uint64_t start = DIV_ROUND_UP(mem->regions[0].base, VMM_PAGE_SIZE), max_low_pfn;

	zl->max_pfn = (last->base + last->size) >> VMM_PAGE_SHIFT;
	max_low_pfn = vmm_max_low_pfn(m, zl->max_pfn);
	max_zone_pfn[VMM_ZONE_DMA] = VMM_MIN(MAX_DMA_PFN, max_low_pfn);
	max_zone_pfn[VMM_ZONE_DMA32] = VMM_MIN(MAX_DMA32_PFN, max_low_pfn);
	max_zone_pfn[VMM_ZONE_NORMAL] = max_low_pfn;
	max_zone_pfn[VMM_ZONE_HIGHMEM] = zl->max_pfn;
	for (int z = 0; z < VMM_ZONE_MOVABLE; z++) {
		uint64_t end = VMM_MAX(max_zone_pfn[z], start);

		zl->lowest[z] = start;
		zl->highest[z] = end;
		start = end;
	}
	zl->lowest[VMM_ZONE_MOVABLE] = zl->highest[VMM_ZONE_MOVABLE] = 0;
	/* find_usable_zone_for_movable(): the highest zone with a non-empty range */
	zl->movable_zone = VMM_ZONE_DMA;
	for (int z = VMM_ZONE_MOVABLE - 1; z >= 0; z--) {
		if (zl->highest[z] > zl->lowest[z]) {
			zl->movable_zone = z;
			break;
		}
	}
}

/*
 * Linux's find_zone_movable_pfns_for_nodes() for movablecore=: everything
 * but movablecore is kernelcore, spread evenly over the nodes that have
 * memory; on each node, kernelcore fills from the lowest pfn, and memory
 * below the movable-capable zone counts as kernelcore whatever happens. What
 * one node cannot hold is spread again over the others. Finally each node's
 * ZONE_MOVABLE start is rounded up to MAX_ORDER_NR_PAGES.
 */
static void find_zone_movable_pfns(struct vmm_machine *m, const struct zone_limits *zl)
{
	const struct vmm_memblock_type *mem = &m->memblock.memory;
	uint64_t movable_pfn[VMM_MAX_NUMNODES] = { 0 };
	uint64_t totalpages = 0, required_kernelcore, required_movablecore;
	uint64_t usable_startpfn = zl->lowest[zl->movable_zone];
	unsigned usable_nodes = 0;

	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		uint64_t s, e;

		vmm_memblock_pfn_range_for_nid(&m->memblock, nid, &s, &e);
		if (e > s)
			usable_nodes++;
	}
	for (unsigned i = 0; i < mem->cnt; i++)
		totalpages += ((mem->regions[i].base + mem->regions[i].size) >> VMM_PAGE_SHIFT) -
			      DIV_ROUND_UP(mem->regions[i].base, VMM_PAGE_SIZE);

	required_movablecore = m->cfg.movablecore >> VMM_PAGE_SHIFT;
	if (!required_movablecore)
		return;
	required_movablecore = ALIGN_UP(required_movablecore, MAX_ORDER_NR_PAGES);
	required_movablecore = VMM_MIN(totalpages, required_movablecore);
	required_kernelcore = totalpages - required_movablecore;
	if (!required_kernelcore || required_kernelcore >= totalpages)
		return;

	do {
		uint64_t kernelcore_node = required_kernelcore / usable_nodes;

		for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
			uint64_t kernelcore_remaining;

			if (required_kernelcore < kernelcore_node)
				kernelcore_node = required_kernelcore / usable_nodes;
			kernelcore_remaining = kernelcore_node;
			for (unsigned i = 0; i < mem->cnt; i++) {
				const struct vmm_memblock_region *r = &mem->regions[i];
				uint64_t start_pfn = DIV_ROUND_UP(r->base, VMM_PAGE_SIZE);
				uint64_t end_pfn = (r->base + r->size) >> VMM_PAGE_SHIFT;
				uint64_t size_pages;

				if (r->nid != nid)
					continue;
				start_pfn = VMM_MAX(start_pfn, movable_pfn[nid]);
				if (start_pfn >= end_pfn)
					continue;
				if (start_pfn < usable_startpfn) {
					uint64_t kernel_pages =
						VMM_MIN(end_pfn, usable_startpfn) - start_pfn;

					kernelcore_remaining -=
						VMM_MIN(kernel_pages, kernelcore_remaining);
					required_kernelcore -= VMM_MIN(kernel_pages, required_kernelcore);
					if (end_pfn <= usable_startpfn) {
						movable_pfn[nid] = end_pfn;
						continue;
					}
					start_pfn = usable_startpfn;
				}
				size_pages = VMM_MIN(end_pfn - start_pfn, kernelcore_remaining);
				movable_pfn[nid] = start_pfn + size_pages;
				required_kernelcore -= VMM_MIN(required_kernelcore, size_pages);
				kernelcore_remaining -= size_pages;
				if (!kernelcore_remaining)
					break;
			}
		}
		usable_nodes--;
	} while (usable_nodes && required_kernelcore > usable_nodes);

	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		uint64_t s, e;

		vmm_memblock_pfn_range_for_nid(&m->memblock, nid, &s, &e);
		movable_pfn[nid] = ALIGN_UP(movable_pfn[nid], MAX_ORDER_NR_PAGES);
		NODE_DATA(m, nid)->zone_movable_pfn = movable_pfn[nid] >= e ? 0 : movable_pfn[nid];
	}
}

/* zone_spanned_pages_in_node() with adjust_zone_range_for_zone_movable(). */
static void zone_range_in_node(const struct zone_limits *zl, const struct vmm_pgdat *pgdat,
			       int zid, uint64_t node_start, uint64_t node_end, uint64_t *zs,
			       uint64_t *ze)
{
	uint64_t movable = pgdat->zone_movable_pfn;

	*zs = VMM_CLAMP(zl->lowest[zid], node_start, node_end);
	*ze = VMM_CLAMP(zl->highest[zid], node_start, node_end);
	if (movable) {
		if (zid == VMM_ZONE_MOVABLE) {
			*zs = movable;
			*ze = VMM_MIN(node_end, zl->highest[zl->movable_zone]);
		} else if (*zs < movable && *ze > movable) {
			*ze = movable;
		} else if (*zs >= movable) {
			*zs = *ze;
		}
	}
	if (*ze < *zs)
		*ze = *zs;
}

/*
 * memmap_init(): record each pageblock's node and zone, and make the
 * pageblocks that start inside a zone MIGRATE_MOVABLE. A pageblock whose
 * first pfn is a hole (pfn 0 on x86) keeps MIGRATE_UNMOVABLE, as on Linux.
 */
static void memmap_init_zone(struct vmm_machine *m, struct vmm_zone *z)
{
	uint64_t start = z->zone_start_pfn, end = zone_end_pfn(z);

	for (uint64_t pfn = ALIGN_DOWN(start, PAGEBLOCK_NR_PAGES); pfn < end;
	     pfn += PAGEBLOCK_NR_PAGES) {
		struct vmm_pageblock *pb = pfn_to_pageblock(&m->sparse, pfn);

		pb->nid = (uint8_t)z->zone_pgdat->node_id;
		pb->zone = (uint8_t)z->idx;
		if (pfn >= start)
			pb->migratetype = MIGRATE_MOVABLE;
	}
}

static int zone_init(struct vmm_machine *m, struct vmm_pgdat *pgdat, int zid)
{
	struct vmm_zone *z = &pgdat->node_zones[zid];

	z->zone_pgdat = pgdat;
	z->idx = (enum vmm_zone_type)zid;
	z->name = vmm_zone_names[zid];
	for (int o = 0; o < NR_PAGE_ORDERS; o++)
		for (int t = 0; t < MIGRATE_TYPES; t++)
			vmm_list_init(&z->free_area[o].free_list[t]);
	z->pcp = vmm_hcalloc(&m->hm, m->nr_cpus, sizeof(*z->pcp));
	return z->pcp ? 0 : -VMM_ENOMEM;
}

static void node_size_zones(struct vmm_machine *m, const struct zone_limits *zl,
			    struct vmm_pgdat *pgdat)
{
	uint64_t node_start, node_end;

	vmm_memblock_pfn_range_for_nid(&m->memblock, pgdat->node_id, &node_start, &node_end);
	pgdat->node_start_pfn = node_start;
	pgdat->node_spanned_pages = node_end - node_start;
	for (int zid = 0; zid < VMM_MAX_NR_ZONES; zid++) {
		struct vmm_zone *z = &pgdat->node_zones[zid];
		uint64_t zs, ze;

		zone_range_in_node(zl, pgdat, zid, node_start, node_end, &zs, &ze);
		z->spanned_pages = ze - zs;
		z->zone_start_pfn = z->spanned_pages ? zs : 0;
		z->present_pages =
			z->spanned_pages - vmm_memblock_absent_pages(&m->memblock, zs, ze);
		pgdat->node_present_pages += z->present_pages;
		if (z->spanned_pages)
			memmap_init_zone(m, z);
	}
}

int vmm_free_area_init(struct vmm_machine *m)
{
	struct zone_limits zl;
	int err;

	m->node_data = vmm_hcalloc(&m->hm, m->nr_nodes, sizeof(*m->node_data));
	if (!m->node_data)
		return -VMM_ENOMEM;
	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		struct vmm_pgdat *pgdat = NODE_DATA(m, nid);

		pgdat->node_id = nid;
		for (int zid = 0; zid < VMM_MAX_NR_ZONES; zid++)
			if ((err = zone_init(m, pgdat, zid)))
				return err;
	}
	for (unsigned c = 0; c < m->nr_cpus; c++)
		NODE_DATA(m, m->cfg.cpu_node[c])->nr_cpus++;

	zone_limits_init(m, &zl);
	find_zone_movable_pfns(m, &zl);
	for (unsigned nid = 0; nid < m->nr_nodes; nid++)
		node_size_zones(m, &zl, NODE_DATA(m, nid));
	return 0;
}

void vmm_free_area_destroy(struct vmm_machine *m)
{
	if (!m->node_data)
		return;
	for (unsigned nid = 0; nid < m->nr_nodes; nid++)
		for (int zid = 0; zid < VMM_MAX_NR_ZONES; zid++)
			vmm_hfree(&m->hm, m->node_data[nid].node_zones[zid].pcp,
				  m->nr_cpus * sizeof(struct vmm_per_cpu_pages));
	vmm_hfree(&m->hm, m->node_data, m->nr_nodes * sizeof(*m->node_data));
	m->node_data = NULL;
}

static bool zone_is_highmem_or_movable(const struct vmm_zone *z)
{
	return z->idx == VMM_ZONE_HIGHMEM || z->idx == VMM_ZONE_MOVABLE;
}

/*
 * calculate_min_free_kbytes(): sqrt(lowmem_kbytes * 16), clamped to
 * [128, 262144], where lowmem is the managed memory of the zones a
 * GFP_USER allocation may use (DMA, DMA32 and Normal: not HighMem or
 * Movable). The high
 * watermarks are still zero at this point, so nr_free_buffer_pages() is
 * just that sum.
 */
static uint64_t calculate_min_free_kbytes(struct vmm_machine *m)
{
	struct vmm_zone *z;
	uint64_t lowmem_pages = 0, kb;

	for_each_zone(m, z)
		if (z->idx <= VMM_ZONE_NORMAL && z->managed_pages > z->watermark[WMARK_HIGH])
			lowmem_pages += z->managed_pages - z->watermark[WMARK_HIGH];
	kb = vmm_int_sqrt(lowmem_pages * (VMM_PAGE_SIZE >> 10) * 16);
	return VMM_CLAMP(kb, 128ull, 262144ull);
}

/*
 * __setup_per_zone_wmarks(): min_free_kbytes is shared among the lowmem
 * zones in proportion to their managed pages; the highmem and movable zones,
 * which kernel allocations never use, get a small fixed floor instead
 * (managed/1024 within [SWAP_CLUSTER_MAX, 128]). The distance between min
 * and low, low and high, and high and promo is the larger of min/4 (of the
 * proportional share, for every zone) and watermark_scale_factor/10000 of
 * the zone.
 */
void vmm_setup_per_zone_wmarks(struct vmm_machine *m)
{
	uint64_t pages_min = m->min_free_kbytes >> (VMM_PAGE_SHIFT - 10);
	uint64_t lowmem_pages = 0;
	struct vmm_zone *z;

	for_each_zone(m, z)
		if (!zone_is_highmem_or_movable(z))
			lowmem_pages += z->managed_pages;
	for_each_zone(m, z) {
		uint64_t tmp = lowmem_pages ? pages_min * z->managed_pages / lowmem_pages : 0;

		if (!vmm_zone_configured(m, z->idx))
			continue;	/* no such zone in the simulated kernel: all zero */
		if (zone_is_highmem_or_movable(z))
			z->watermark[WMARK_MIN] =
				VMM_CLAMP(z->managed_pages / 1024, SWAP_CLUSTER_MAX, 128ull);
		else
			z->watermark[WMARK_MIN] = tmp;
		tmp = VMM_MAX(tmp >> 2,
			      z->managed_pages * m->cfg.watermark_scale_factor / 10000);
		z->watermark_boost = 0;
		z->watermark[WMARK_LOW] = z->watermark[WMARK_MIN] + tmp;
		z->watermark[WMARK_HIGH] = z->watermark[WMARK_LOW] + tmp;
		z->watermark[WMARK_PROMO] = z->watermark[WMARK_HIGH] + tmp;
	}
	for_each_zone(m, z)
		zone_update_fast_floor(z);
}

/*
 * setup_per_zone_lowmem_reserve(): a zone keeps back, from allocations that
 * could have used a higher zone j, the managed pages of the zones above it
 * up to j divided by its lowmem_reserve_ratio. Then
 * calculate_totalreserve_pages() sums, per zone, the largest reserve plus
 * the high watermark, capped at the zone's managed pages.
 */
void vmm_setup_per_zone_lowmem_reserve(struct vmm_machine *m)
{
	m->totalreserve_pages = 0;
	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		struct vmm_pgdat *pgdat = NODE_DATA(m, nid);

		for (int i = 0; i < VMM_MAX_NR_ZONES - 1; i++) {
			struct vmm_zone *z = &pgdat->node_zones[i];
			uint32_t ratio = m->sysctl.lowmem_reserve_ratio[i];
			int clear = !ratio || !z->managed_pages;
			uint64_t managed = 0;

			for (int j = i + 1; j < VMM_MAX_NR_ZONES; j++) {
				managed += pgdat->node_zones[j].managed_pages;
				z->lowmem_reserve[j] = clear ? 0 : managed / ratio;
			}
		}
		for (int i = 0; i < VMM_MAX_NR_ZONES; i++) {
			struct vmm_zone *z = &pgdat->node_zones[i];
			uint64_t max = 0;

			for (int j = i; j < VMM_MAX_NR_ZONES; j++)
				max = VMM_MAX(max, z->lowmem_reserve[j]);
			max += z->watermark[WMARK_HIGH];
			m->totalreserve_pages += VMM_MIN(max, z->managed_pages);
			zone_update_fast_floor(z);
		}
	}
}

/*
 * zone_batchsize(): about a quarter of a thousandth of the zone, at most
 * 1 MiB worth, rounded to 2^n - 1 so batches do not alias in caches.
 */
int vmm_zone_batchsize(const struct vmm_zone *zone)
{
	uint64_t batch = VMM_MIN(zone->managed_pages >> 10, (1ull << 20) / VMM_PAGE_SIZE);

	batch /= 4;
	if (batch < 1)
		batch = 1;
	return (int)vmm_rounddown_pow_of_two(batch + batch / 2) - 1;
}

/*
 * zone_highsize(): by default the low watermark split over the node's CPUs,
 * so full pcp lists do not wake kswapd early; with a fraction, that part of
 * the zone. Never below four batches.
 */
int vmm_zone_highsize(const struct vmm_machine *m, const struct vmm_zone *zone, int batch,
		      int high_fraction)
{
	uint64_t total = high_fraction ? zone->managed_pages / (uint64_t)high_fraction
				       : zone->watermark[WMARK_LOW];
	unsigned split = zone->zone_pgdat->nr_cpus ? zone->zone_pgdat->nr_cpus : m->nr_cpus;
	int64_t high = (int64_t)(total / split);

	return (int)VMM_MAX(high, (int64_t)batch << 2);
}

/*
 * calculate_normal_threshold(): how far a per-CPU vmstat delta may drift
 * before it is folded, growing with CPUs and with the zone (in 128 MiB
 * units), at most 125.
 */
int vmm_calculate_normal_threshold(const struct vmm_machine *m, const struct vmm_zone *zone)
{
	uint64_t mem = zone->managed_pages >> (27 - VMM_PAGE_SHIFT);
	int fls_cpus = 64 - __builtin_clzll(m->nr_cpus);
	int fls_mem = mem ? 64 - __builtin_clzll(mem) : 0;

	return VMM_MIN(125, 2 * fls_cpus * (1 + fls_mem));
}

void vmm_zone_setup_pagesets(struct vmm_machine *m, struct vmm_zone *z)
{
	int batch = VMM_MAX(1, vmm_zone_batchsize(z));
	unsigned fraction = m->sysctl.percpu_pagelist_high_fraction;
	int high_min, high_max;

	if (fraction) {
		high_min = high_max = vmm_zone_highsize(m, z, batch, (int)fraction);
	} else {
		high_min = vmm_zone_highsize(m, z, batch, 0);
		high_max = vmm_zone_highsize(m, z, batch, MIN_PERCPU_PAGELIST_HIGH_FRACTION);
	}
	if (m->pcp_disabled) {
		/* zone_pcp_disable(): every free goes straight back to the zone */
		batch = 1;
		high_min = high_max = 0;
	}

	for (unsigned c = 0; c < m->nr_cpus; c++) {
		z->pcp[c].batch = (int16_t)batch;
		z->pcp[c].free_count_max = batch << PCP_BATCH_SCALE_MAX;
		z->pcp[c].high_min = high_min;
		z->pcp[c].high_max = high_max;
		/* BOOT_PAGESET_HIGH: the list grows into [high_min, high_max] on first use;
		 * a resize clamps the current value */
		if (z->pcp[c].high)
			z->pcp[c].high = VMM_CLAMP(z->pcp[c].high, high_min, high_max);
		pcp_update_free_high(&z->pcp[c], z);
	}
	z->stat_threshold = vmm_calculate_normal_threshold(m, z);
}

void vmm_zones_init_after_boot(struct vmm_machine *m)
{
	struct vmm_zone *z;

	m->min_free_kbytes = m->cfg.min_free_kbytes ? m->cfg.min_free_kbytes
						    : calculate_min_free_kbytes(m);
	vmm_setup_per_zone_wmarks(m);
	vmm_setup_per_zone_lowmem_reserve(m);
	for_each_zone(m, z)
		vmm_zone_setup_pagesets(m, z);
}

struct vmm_zone *vmm_pfn_zone(struct vmm_machine *m, uint64_t pfn)
{
	const struct vmm_pageblock *pb = pfn_to_pageblock(&m->sparse, pfn);

	return &NODE_DATA(m, pb->nid)->node_zones[pb->zone];
}

long vmm_zones_check(struct vmm_machine *m, FILE *out)
{
	long problems = 0;
	struct vmm_zone *z;

	for_each_zone(m, z) {
		unsigned nid = z->zone_pgdat->node_id;

		if (z->present_pages > z->spanned_pages || z->managed_pages > z->present_pages) {
			fprintf(out,
				"node %u zone %s: spanned %" PRIu64 " present %" PRIu64
				" managed %" PRIu64 " out of order\n",
				nid, z->name, z->spanned_pages, z->present_pages, z->managed_pages);
			problems++;
		}
		if (z->spanned_pages &&
		    (z->zone_start_pfn < z->zone_pgdat->node_start_pfn ||
		     zone_end_pfn(z) > z->zone_pgdat->node_start_pfn +
					       z->zone_pgdat->node_spanned_pages)) {
			fprintf(out, "node %u zone %s: span outside its node\n", nid, z->name);
			problems++;
		}
		if (z->vm_stat[NR_FREE_PAGES] < 0 ||
		    (uint64_t)z->vm_stat[NR_FREE_PAGES] > z->managed_pages) {
			fprintf(out, "node %u zone %s: nr_free_pages %" PRId64 " of %" PRIu64 " managed\n",
				nid, z->name, z->vm_stat[NR_FREE_PAGES], z->managed_pages);
			problems++;
		}
	}
	return problems;
}
