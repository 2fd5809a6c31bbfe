/* SPDX-License-Identifier: MIT */
/*
 * Tests of src/mm/page_alloc.c (and the fallback half of buddy.c it
 * drives): GFP decoding, whole-memory alloc/free round trips, fallback and
 * pageblock stealing, the HighAtomic reserve, watermark and protection
 * formulas, zonelists, __GFP_THISNODE, zone restrictions, bad frees, the
 * per-CPU lists, the slow path's retry rules, counters, NUMA policy,
 * cpusets and sysctls. Expected figures are worked out here from Linux's
 * rules, not read back from the implementation.
 */
#include "test_util.h"

#include <string.h>

#include "lib/compiler.h"
#include "machine.h"
#include "mm/buddy.h"
#include "mm/page_alloc.h"
#include "mm/reclaim.h"
#include "mm/sparse.h"
#include "mm/vmstat.h"
#include "mm/zone.h"

#define G (1ull << 30)
#define M (1ull << 20)

/*
 * A machine of @nodes x @mem, low holes only, a 2 MiB kernel, booted up to
 * the page allocator only (no slab caches, lazy vmalloc tables), so every
 * managed page starts free.
 */
static vmm_machine *small_machine(unsigned nodes, uint64_t mem, unsigned cpus, uint64_t flags,
				  struct test_log *tl)
{
	struct vmm_config cfg;
	vmm_machine *m;

	vmm_config_init(&cfg);
	cfg.nodes = nodes;
	cfg.cpus = cpus;
	for (unsigned i = 0; i < nodes; i++)
		cfg.node_mem[i] = mem;
	for (unsigned c = 0; c < cpus; c++)
		cfg.cpu_node[c] = (uint8_t)(c * nodes / cpus);
	cfg.nr_holes = 2;
	cfg.kernel_image_size = 2 * M;
	cfg.flags = flags | VMM_CFG_VMALLOC_LAZY;	/* boot takes no page from the allocator */
	if (tl) {
		cfg.log_fn = test_log_hook;
		cfg.log_data = tl;
	}
	assert_int_equal(vmm_machine_create_early(&cfg, &m), 0);
	return m;
}

static struct vmm_zone *zone_of(vmm_machine *m, unsigned nid, int zid)
{
	return &NODE_DATA(m, nid)->node_zones[zid];
}

static uint64_t pfn(vmm_machine *m, struct vmm_page *p)
{
	return vmm_page_to_pfn(m, p);
}

static uint64_t total_free(vmm_machine *m)
{
	struct vmm_zone *z;
	uint64_t n = 0;

	for_each_zone(m, z)
		n += (uint64_t)z->vm_stat[NR_FREE_PAGES];
	return n;
}

static void assert_pcp_empty(vmm_machine *m)
{
	struct vmm_zone *z;

	for_each_zone(m, z)
		for (unsigned c = 0; c < m->nr_cpus; c++) {
			assert_int_equal(z->pcp[c].count, 0);
			for (int i = 0; i < NR_PCP_LISTS; i++)
				assert_true(vmm_list_empty(&z->pcp[c].lists[i]));
		}
}

/* Free @n order-0 pages of @pages, newest first, and the array. */
static void release_pages(vmm_machine *m, struct vmm_page **pages, uint64_t n)
{
	while (n)
		vmm_free_pages(m, pages[--n], 0);
	free(pages);
}

/* Fisher-Yates with the machine's PRNG stream seeded for the test. */
static void shuffle(struct vmm_prng *r, struct vmm_page **a, uint64_t n)
{
	for (uint64_t i = n; i > 1; i--) {
		uint64_t j = vmm_prng_next(r) % i;
		struct vmm_page *t = a[i - 1];

		a[i - 1] = a[j];
		a[j] = t;
	}
}

/* ------------------------------------------------------------------ */

static void test_gfp_decoding(void **state)
{
	struct test_log tl = { 0 };
	vmm_machine *m = small_machine(1, 64 * M, 1, 0, &tl);
	struct vmm_trouble_counts t;

	(void)state;
	assert_int_equal(vmm_gfp_zone(m->gfp_zone_table, VMM_GFP_KERNEL), VMM_ZONE_NORMAL);
	assert_int_equal(vmm_gfp_zone(m->gfp_zone_table, VMM_GFP_DMA), VMM_ZONE_DMA);
	assert_int_equal(vmm_gfp_zone(m->gfp_zone_table, VMM_GFP_DMA32), VMM_ZONE_DMA32);
	assert_int_equal(vmm_gfp_zone(m->gfp_zone_table, VMM_GFP_HIGHUSER), VMM_ZONE_NORMAL);
	assert_int_equal(vmm_gfp_zone(m->gfp_zone_table, VMM_GFP_HIGHUSER_MOVABLE), VMM_ZONE_MOVABLE);
	assert_int_equal(vmm_gfp_zone(m->gfp_zone_table, VMM_GFP_MOVABLE), VMM_ZONE_NORMAL);
	assert_int_equal(vmm_gfp_zone(m->gfp_zone_table, VMM_GFP_MOVABLE | VMM_GFP_DMA), VMM_ZONE_DMA);
	assert_int_equal(vmm_gfp_zone(m->gfp_zone_table, VMM_GFP_MOVABLE | VMM_GFP_DMA32), VMM_ZONE_DMA32);
	assert_int_equal(vmm_gfp_zone(m->gfp_zone_table, VMM_GFP_DMA | VMM_GFP_DMA32), -1);
	assert_int_equal(vmm_gfp_zone(m->gfp_zone_table, VMM_GFP_DMA | VMM_GFP_HIGHMEM), -1);
	assert_int_equal(vmm_gfp_zone(m->gfp_zone_table, VMM_GFP_DMA32 | VMM_GFP_HIGHMEM | VMM_GFP_MOVABLE), -1);
	assert_int_equal(vmm_gfp_migratetype(m, VMM_GFP_KERNEL), MIGRATE_UNMOVABLE);
	assert_int_equal(vmm_gfp_migratetype(m, VMM_GFP_HIGHUSER_MOVABLE), MIGRATE_MOVABLE);
	assert_int_equal(vmm_gfp_migratetype(m, VMM_GFP_KERNEL | VMM_GFP_RECLAIMABLE),
			 MIGRATE_RECLAIMABLE);

	/* Linux's alloc flags for the slow path */
	assert_int_equal(vmm_gfp_to_alloc_flags(VMM_GFP_KERNEL, 0),
			 ALLOC_WMARK_MIN | ALLOC_CPUSET | ALLOC_KSWAPD);
	assert_int_equal(vmm_gfp_to_alloc_flags(VMM_GFP_ATOMIC, 0),
			 ALLOC_WMARK_MIN | ALLOC_MIN_RESERVE | ALLOC_KSWAPD | ALLOC_NON_BLOCK);
	assert_int_equal(vmm_gfp_to_alloc_flags(VMM_GFP_ATOMIC, 2),
			 ALLOC_WMARK_MIN | ALLOC_MIN_RESERVE | ALLOC_KSWAPD | ALLOC_NON_BLOCK |
				 ALLOC_HIGHATOMIC);
	assert_int_equal(vmm_gfp_to_alloc_flags(VMM_GFP_NOWAIT, 1),
			 ALLOC_WMARK_MIN | ALLOC_CPUSET | ALLOC_KSWAPD | ALLOC_NON_BLOCK |
				 ALLOC_HIGHATOMIC);
	assert_int_equal(vmm_gfp_to_alloc_flags(VMM_GFP_ATOMIC | VMM_GFP_NOMEMALLOC, 1),
			 ALLOC_WMARK_MIN | ALLOC_MIN_RESERVE | ALLOC_KSWAPD);

	/* invalid requests: NULL, a caller error each, nothing allocated */
	assert_null(vmm_alloc_pages(m, 1u << 9, 0));
	assert_null(vmm_alloc_pages(m, VMM_GFP_KERNEL | 0x1000000u, 0));
	assert_null(vmm_alloc_pages(m, VMM_GFP_DMA | VMM_GFP_DMA32, 0));
	assert_null(vmm_alloc_pages(m, VMM_GFP_MOVABLE | VMM_GFP_RECLAIMABLE, 0));
	assert_null(vmm_alloc_pages(m, VMM_GFP_KERNEL, 11));
	assert_null(vmm_alloc_pages(m, VMM_GFP_KERNEL | VMM_GFP_COLD, 0));
	assert_null(vmm_alloc_pages_node(m, 1, VMM_GFP_KERNEL, 0));
	assert_int_equal(vmm_machine_trouble(m, &t), 0);
	assert_int_equal(t.caller, 7);
	assert_null(vmm_alloc_pages(NULL, VMM_GFP_KERNEL, 0));
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/*
 * Every page of a 2-node machine, order 0, then freed in a seeded random
 * order: once the per-CPU lists are drained, buddyinfo is what boot left.
 */
static void test_alloc_every_page_order0(void **state)
{
	vmm_machine *m = small_machine(2, 256 * M, 2, 0, NULL);
	uint64_t managed = 0, n = 0, cap;
	struct vmm_prng r;
	struct vmm_page **pages;
	char *boot = dump_to_string(m, VMM_DUMP_BUDDYINFO), *after;
	struct vmm_zone *z;

	(void)state;
	vmm_prng_seed(&r, test_seed(__func__, 1));
	for_each_zone(m, z)
		managed += z->managed_pages;
	cap = managed + 1;
	pages = calloc(cap, sizeof(*pages));
	assert_non_null(pages);
	while ((pages[n] = vmm_alloc_pages(m, VMM_GFP_KERNEL | VMM_GFP_MEMALLOC | VMM_GFP_NOWARN, 0)))
		assert_true(++n < cap);
	/* __GFP_MEMALLOC ignores the watermarks: every managed page was handed out */
	assert_int_equal(n, managed);
	assert_int_equal(total_free(m), 0);
	assert_machine_healthy(m);
	shuffle(&r, pages, n);
	for (uint64_t i = 0; i < n; i++)
		vmm_free_pages(m, pages[i], 0);
	assert_machine_healthy(m);
	vmm_drain_all_pages(m);
	assert_pcp_empty(m);
	assert_int_equal(total_free(m), managed);
	after = dump_to_string(m, VMM_DUMP_BUDDYINFO);
	assert_string_equal(after, boot);
	assert_machine_healthy(m);
	free(after);
	free(boot);
	free(pages);
	vmm_machine_destroy(&m);
}

/* The same round trip at every order 0..10, alternating compound and plain blocks. */
static void test_alloc_every_order(void **state)
{
	vmm_machine *m = small_machine(1, 128 * M, 2, 0, NULL);
	char *boot = dump_to_string(m, VMM_DUMP_BUDDYINFO);
	struct vmm_prng r;

	(void)state;
	vmm_prng_seed(&r, test_seed(__func__, 2));
	for (unsigned order = 0; order <= VMM_MAX_PAGE_ORDER; order++) {
		vmm_gfp_t gfp = VMM_GFP_KERNEL | VMM_GFP_MEMALLOC | VMM_GFP_NOWARN |
				((order & 1) ? VMM_GFP_COMP : 0);
		uint64_t n = 0, cap = 40000;
		struct vmm_page **pages = calloc(cap, sizeof(*pages));
		char *after;

		assert_non_null(pages);
		while ((pages[n] = vmm_alloc_pages(m, gfp, order))) {
			uint64_t p = pfn(m, pages[n]);

			assert_true(IS_ALIGNED(p, 1ull << order));
			assert_int_equal(vmm_page_count(pages[n]), 1);
			assert_int_equal(!!(vmm_page_flags(pages[n]) & (1ull << VMM_PG_head)),
					 order && (order & 1));
			assert_true(++n < cap);
		}
		assert_true(n > 0);
		/* nothing of this order is left anywhere */
		for (unsigned o = order; o < NR_PAGE_ORDERS; o++)
			assert_int_equal(zone_of(m, 0, VMM_ZONE_DMA32)->free_area[o].nr_free, 0);
		assert_machine_healthy(m);
		shuffle(&r, pages, n);
		for (uint64_t i = 0; i < n; i++)
			vmm_free_pages(m, pages[i], order);
		vmm_drain_all_pages(m);
		assert_pcp_empty(m);
		after = dump_to_string(m, VMM_DUMP_BUDDYINFO);
		assert_string_equal(after, boot);
		assert_machine_healthy(m);
		free(after);
		free(pages);
	}
	free(boot);
	vmm_machine_destroy(&m);
}

/* ------------------------------------------------------------------ */
/* Fallback and stealing, on the DMA zone of a small machine            */
/* ------------------------------------------------------------------ */

/*
 * A zone emptied by hand: every managed page of it is "held" (allocated,
 * order 0), so that a scenario can hand back exactly the blocks it wants,
 * with the pageblock types it wants, and watch one allocation's fallback.
 */
struct held {
	struct vmm_zone *z;
	uint8_t *held;		/* per pfn of the zone */
};

static void empty_zone(vmm_machine *m, struct vmm_zone *z, struct held *h)
{
	vmm_drain_all_pages(m);
	h->z = z;
	h->held = calloc(z->spanned_pages, 1);
	assert_non_null(h->held);
	for (unsigned o = 0; o < NR_PAGE_ORDERS; o++)
		for (int t = 0; t < MIGRATE_TYPES; t++)
			while (!vmm_list_empty(&z->free_area[o].free_list[t])) {
				struct vmm_page *p = vmm_list_first_entry(
					&z->free_area[o].free_list[t], struct vmm_page, lru);
				uint64_t first = vmm_page_to_pfn(m, p);

				vmm_del_page_from_free_list(z, p, o, t);
				for (uint64_t i = 0; i < (1ull << o); i++) {
					p[i].refcount = 1;
					p[i].compound = 0;
					h->held[first + i - z->zone_start_pfn] = 1;
				}
			}
	assert_int_equal(z->vm_stat[NR_FREE_PAGES], 0);
	assert_machine_healthy(m);
}

/* Hand back 2^order held pages at @p as one free block in a pageblock of type @mt. */
static void release(vmm_machine *m, struct held *h, uint64_t p, unsigned order, int mt)
{
	for (uint64_t i = 0; i < (1ull << order); i++) {
		struct vmm_page *pg = vmm_pfn_to_page(m, p + i);

		assert_true(h->held[p + i - h->z->zone_start_pfn]);
		h->held[p + i - h->z->zone_start_pfn] = 0;
		pg->refcount = 0;
	}
	vmm_change_pageblock_range(m, p, order, mt);
	vmm_free_one_page(m, h->z, p, order, mt, FPI_NONE);
}

static void release_all(vmm_machine *m, struct held *h)
{
	for (uint64_t i = 0; i < h->z->spanned_pages; i++)
		if (h->held[i]) {
			uint64_t p = h->z->zone_start_pfn + i;

			h->held[i] = 0;
			vmm_pfn_to_page(m, p)->refcount = 0;
			vmm_free_one_page(m, h->z, p, 0, vmm_get_pfnblock_migratetype(m, p),
					  FPI_NONE);
		}
	free(h->held);
	assert_machine_healthy(m);
}

/* Pageblocks of each type in the zone, as /proc/pagetypeinfo counts them. */
static void block_counts(vmm_machine *m, struct vmm_zone *z, uint64_t out[MIGRATE_TYPES])
{
	memset(out, 0, MIGRATE_TYPES * sizeof(out[0]));
	/* as Linux walks it: from the zone's first pfn, a pageblock at a time */
	for (uint64_t p = z->zone_start_pfn; p < zone_end_pfn(z); p += PAGEBLOCK_NR_PAGES)
		out[vmm_get_pfnblock_migratetype(m, p)]++;
}

/* The "Number of blocks type" line of pagetypeinfo for node 0's DMA zone. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wdangling-pointer"
static void dumped_dma_block_counts(vmm_machine *m, uint64_t out[6])
{
	char *text = dump_to_string(m, VMM_DUMP_PAGETYPEINFO);
	char *line = strstr(strstr(text, "Number of blocks type"), "Node 0, zone      DMA");

	assert_non_null(line);
	assert_int_equal(sscanf(line + strlen("Node 0, zone      DMA"),
				"%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64,
				&out[0], &out[1], &out[2], &out[3], &out[4], &out[5]),
			 6);
	free(text);
}

#pragma GCC diagnostic pop

#define DMA_BLOCK(i) (512ull * (i)) /* pageblock i of the DMA zone (pfn 0..4095) */
#define FALLBACK_GFP (VMM_GFP_DMA | VMM_GFP_KERNEL | VMM_GFP_MEMALLOC)

struct fb_case {
	const char *name;
	vmm_gfp_t gfp;
	unsigned order;
	/* blocks handed back: pfn, order, pageblock type */
	struct { uint64_t pfn; unsigned order; int mt; } give[3];
	unsigned nr_give;
	/* expected change of block counts (Unmovable, Movable) and the pfn served */
	int d_unmovable, d_movable;
	uint64_t expect_pfn;
};

static const struct fb_case fb_cases[] = {
	/* an unmovable request takes a whole free pageblock of Movable and retypes it */
	{ "unmovable claims a free movable pageblock", FALLBACK_GFP, 0,
	  { { DMA_BLOCK(3), 9, MIGRATE_MOVABLE } }, 1, +1, -1, DMA_BLOCK(3) },
	/* one free page in a Movable block: used pages count as unmovable-alike, so it claims */
	{ "unmovable claims a mostly used movable pageblock", FALLBACK_GFP, 0,
	  { { DMA_BLOCK(4) + 7, 0, MIGRATE_MOVABLE } }, 1, +1, -1, DMA_BLOCK(4) + 7 },
	/* a movable order-0 request may not claim: one page, the block stays Unmovable */
	{ "movable takes a single page", VMM_GFP_DMA | VMM_GFP_MOVABLE | VMM_GFP_KERNEL | VMM_GFP_MEMALLOC, 0,
	  { { DMA_BLOCK(5) + 9, 0, MIGRATE_UNMOVABLE } }, 1, 0, 0, DMA_BLOCK(5) + 9 },
	/* movable order 4 from an Unmovable block with 256+16 free pages: claims it */
	{ "movable order 4 claims a half-free block", VMM_GFP_DMA | VMM_GFP_MOVABLE | VMM_GFP_KERNEL | VMM_GFP_MEMALLOC, 4,
	  { { DMA_BLOCK(6) + 256, 8, MIGRATE_UNMOVABLE }, { DMA_BLOCK(6) + 16, 4, MIGRATE_UNMOVABLE } }, 2,
	  -1, +1, DMA_BLOCK(6) + 16 },
	/* only 128 free: the block is not claimed; the order-7 block is split for the request */
	{ "movable order 4 does not claim a quarter-free block", VMM_GFP_DMA | VMM_GFP_MOVABLE | VMM_GFP_KERNEL | VMM_GFP_MEMALLOC, 4,
	  { { DMA_BLOCK(6) + 128, 7, MIGRATE_UNMOVABLE } }, 1, 0, 0, DMA_BLOCK(6) + 128 },
	/* movable order 0 with unmovable blocks of order 3 and 0: takes the smallest, not a split */
	{ "movable prefers the smallest fallback block", VMM_GFP_DMA | VMM_GFP_MOVABLE | VMM_GFP_KERNEL | VMM_GFP_MEMALLOC, 0,
	  { { DMA_BLOCK(7) + 8, 3, MIGRATE_UNMOVABLE }, { DMA_BLOCK(7) + 1, 0, MIGRATE_UNMOVABLE } }, 2,
	  0, 0, DMA_BLOCK(7) + 1 },
};

static void test_fallback_and_stealing(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(fb_cases) / sizeof(fb_cases[0]); i++) {
		const struct fb_case *c = &fb_cases[i];
		vmm_machine *m = small_machine(1, 64 * M, 1, 0, NULL);
		struct vmm_zone *dma = zone_of(m, 0, VMM_ZONE_DMA);
		uint64_t before[MIGRATE_TYPES], after[MIGRATE_TYPES], dumped[6];
		struct vmm_page *pg;
		struct held h;

		printf("# %s\n", c->name);
		empty_zone(m, dma, &h);
		for (unsigned g = 0; g < c->nr_give; g++)
			release(m, &h, c->give[g].pfn, c->give[g].order, c->give[g].mt);
		block_counts(m, dma, before);
		pg = vmm_alloc_pages(m, c->gfp, c->order);
		assert_non_null(pg);
		assert_int_equal(pfn(m, pg), c->expect_pfn);
		block_counts(m, dma, after);
		printf("#   blocks U %" PRIu64 "->%" PRIu64 " M %" PRIu64 "->%" PRIu64 " R %" PRIu64 "->%" PRIu64 "\n",
		       before[0], after[0], before[1], after[1], before[2], after[2]);
		assert_int_equal((int)(after[MIGRATE_UNMOVABLE] - before[MIGRATE_UNMOVABLE]),
				 c->d_unmovable);
		assert_int_equal((int)(after[MIGRATE_MOVABLE] - before[MIGRATE_MOVABLE]),
				 c->d_movable);
		dumped_dma_block_counts(m, dumped);
		for (int t = 0; t < 6; t++)
			assert_int_equal(dumped[t], after[t]);
		assert_machine_healthy(m);
		vmm_free_pages(m, pg, c->order);
		release_all(m, &h);
		vmm_machine_destroy(&m);
	}
}

/* The first unmovable allocation of a fresh zone takes an order-10 block: two pageblocks. */
static void test_first_unmovable_allocation_claims_two_blocks(void **state)
{
	vmm_machine *m = small_machine(1, 512 * M, 1, 0, NULL);
	struct vmm_zone *z = zone_of(m, 0, VMM_ZONE_DMA32);
	uint64_t before[MIGRATE_TYPES], after[MIGRATE_TYPES];
	struct vmm_page *pg;

	(void)state;
	block_counts(m, z, before);
	assert_int_equal(before[MIGRATE_UNMOVABLE], 0);
	pg = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
	assert_non_null(pg);
	assert_int_equal(vmm_page_zonenum(m, pg), VMM_ZONE_DMA32);
	block_counts(m, z, after);
	assert_int_equal(after[MIGRATE_UNMOVABLE], 2);
	assert_int_equal(after[MIGRATE_MOVABLE], before[MIGRATE_MOVABLE] - 2);
	assert_int_equal(m->pa_stats.pageblock_steals, 1);
	vmm_free_pages(m, pg, 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* ------------------------------------------------------------------ */

/*
 * HighAtomic: a high-order GFP_ATOMIC allocation that needed the slow path
 * (the zone below its low watermark) reserves its pageblock, in zones of at
 * least 100 pageblocks, up to about 1% of the zone; later atomic requests
 * use the reserve first; under pressure it is given back. Pressure comes
 * from raising min_free_kbytes until the low watermark is above the free
 * pages while __GFP_HIGH's reduced min (3/8 of min) is still below them.
 */
static void test_highatomic_reserve(void **state)
{
	vmm_machine *m = small_machine(1, 1 * G, 1, 0, NULL);
	struct vmm_zone *z = zone_of(m, 0, VMM_ZONE_DMA32);
	uint64_t c[MIGRATE_TYPES], free_pages = (uint64_t)z->vm_stat[NR_FREE_PAGES];
	struct vmm_page *a, *b, *fast;
	struct vmm_alloc_context ac;

	(void)state;
	/* no pressure: the fast path serves it and nothing is reserved */
	fast = vmm_alloc_pages(m, VMM_GFP_ATOMIC, 2);
	assert_non_null(fast);
	assert_int_equal(z->nr_reserved_highatomic, 0);
	/* min = 80% of the zone's free pages: low is above them, 3/8 of min below */
	assert_int_equal(vmm_sysctl_set(m, "vm.min_free_kbytes",
					(int64_t)(free_pages * 4 * 8 / 10 * (z->managed_pages + zone_of(m, 0, VMM_ZONE_DMA)->managed_pages) / z->managed_pages)), 0);
	assert_true(z->watermark[WMARK_LOW] > (uint64_t)z->vm_stat[NR_FREE_PAGES]);
	a = vmm_alloc_pages(m, VMM_GFP_ATOMIC, 2);
	assert_non_null(a);
	block_counts(m, z, c);
	assert_int_equal(c[MIGRATE_HIGHATOMIC], 1);
	assert_int_equal(z->nr_reserved_highatomic, PAGEBLOCK_NR_PAGES);
	assert_int_equal(vmm_get_pfnblock_migratetype(m, pfn(m, a)), MIGRATE_HIGHATOMIC);
	/*
	 * More atomic order-2 requests: each one's pageblock is reserved too
	 * (some come from other blocks through the per-CPU list), up to the
	 * cap of ALIGN(managed / 100, pageblock) pages.
	 */
	{
		uint64_t cap = ALIGN_UP(z->managed_pages / 100, PAGEBLOCK_NR_PAGES);
		struct vmm_page *more[64];

		b = vmm_alloc_pages(m, VMM_GFP_ATOMIC, 2);
		assert_non_null(b);
		for (int i = 0; i < 64; i++)
			assert_non_null(more[i] = vmm_alloc_pages(m, VMM_GFP_ATOMIC, 2));
		printf("# cap %" PRIu64 " reserved %" PRIu64 "\n", cap, z->nr_reserved_highatomic);
		assert_true(z->nr_reserved_highatomic > PAGEBLOCK_NR_PAGES);
		assert_int_equal(z->nr_reserved_highatomic, cap);
		block_counts(m, z, c);
		assert_int_equal(c[MIGRATE_HIGHATOMIC] * PAGEBLOCK_NR_PAGES, cap);
		for (int i = 0; i < 64; i++)
			vmm_free_pages(m, more[i], 2);
	}
	/* a reserved block's pages do not count for ordinary requests' watermarks */
	assert_false(vmm_zone_watermark_ok(z, 0, 0, VMM_ZONE_NORMAL, 0, (int64_t)z->nr_reserved_highatomic));
	assert_true(vmm_zone_watermark_ok(z, 0, 0, VMM_ZONE_NORMAL, ALLOC_HIGHATOMIC,
					  (int64_t)z->nr_reserved_highatomic));
	assert_machine_healthy(m);

	/* unreserve: a block at a time while more than one is held; the last only when forced */
	memset(&ac, 0, sizeof(ac));
	ac.zonelist = NODE_DATA(m, 0)->zonelists[ZONELIST_FALLBACK];
	ac.highest_zoneidx = VMM_ZONE_NORMAL;
	ac.migratetype = MIGRATE_UNMOVABLE;
	vmm_drain_all_pages(m); /* unreserving finds blocks by their free pages */
	while (z->nr_reserved_highatomic > PAGEBLOCK_NR_PAGES) {
		uint64_t before = z->nr_reserved_highatomic;

		assert_true(vmm_unreserve_highatomic_pageblock(m, &ac, false));
		/* a block, or two when a free order-10 block spans a pair of reserved blocks */
		assert_true(before - z->nr_reserved_highatomic == PAGEBLOCK_NR_PAGES ||
			    before - z->nr_reserved_highatomic == 2 * PAGEBLOCK_NR_PAGES);
	}
	if (z->nr_reserved_highatomic) {
		assert_false(vmm_unreserve_highatomic_pageblock(m, &ac, false));
		assert_true(vmm_unreserve_highatomic_pageblock(m, &ac, true));
	}
	assert_int_equal(z->nr_reserved_highatomic, 0);
	block_counts(m, z, c);
	assert_int_equal(c[MIGRATE_HIGHATOMIC], 0);
	assert_machine_healthy(m);
	vmm_free_pages(m, a, 2);
	vmm_free_pages(m, b, 2);
	vmm_free_pages(m, fast, 2);
	assert_machine_healthy(m);

	/* a zone below 100 pageblocks never reserves */
	a = vmm_alloc_pages(m, VMM_GFP_ATOMIC | VMM_GFP_DMA, 1);
	assert_non_null(a);
	assert_int_equal(zone_of(m, 0, VMM_ZONE_DMA)->nr_reserved_highatomic, 0);
	vmm_free_pages(m, a, 1);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* ------------------------------------------------------------------ */

/*
 * Watermarks and protection worked out from Linux's formulas for several
 * machines, and again after each sysctl that changes them:
 *   min_free_kbytes = clamp(sqrt(16 * lowmem_kbytes), 128, 262144)
 *   min(z)  = pages_min * managed(z) / lowmem managed   (pages_min = min_free_kbytes / 4)
 *   gap(z)  = max(min(z) / 4, managed(z) * watermark_scale_factor / 10000)
 *   low = min + gap, high = low + gap, promo = high + gap
 *   lowmem_reserve[i][j] = sum(managed of zones i+1..j) / ratio[i]
 */
static uint64_t isqrt(uint64_t x)
{
	uint64_t r = 0;

	while ((r + 1) * (r + 1) <= x)
		r++;
	return r;
}

static void check_wmarks(vmm_machine *m, uint64_t min_free_kbytes, uint64_t wsf,
			 const uint32_t ratio[4])
{
	uint64_t lowmem = 0;
	struct vmm_zone *z;

	for_each_zone(m, z)
		if (z->idx != VMM_ZONE_MOVABLE)
			lowmem += z->managed_pages;
	for_each_zone(m, z) {
		uint64_t mn = z->managed_pages * (min_free_kbytes / 4) / lowmem;
		uint64_t gap = VMM_MAX(mn / 4, z->managed_pages * wsf / 10000);
		struct vmm_pgdat *pg = z->zone_pgdat;

		if (z->idx == VMM_ZONE_MOVABLE)
			continue;
		assert_int_equal(z->watermark[WMARK_MIN], mn);
		assert_int_equal(z->watermark[WMARK_LOW], mn + gap);
		assert_int_equal(z->watermark[WMARK_HIGH], mn + 2 * gap);
		assert_int_equal(z->watermark[WMARK_PROMO], mn + 3 * gap);
		for (int j = z->idx + 1; j < VMM_MAX_NR_ZONES; j++) {
			uint64_t sum = 0;

			for (int k = z->idx + 1; k <= j; k++)
				sum += pg->node_zones[k].managed_pages;
			assert_int_equal(z->lowmem_reserve[j],
					 ratio[z->idx] && z->managed_pages ? sum / ratio[z->idx] : 0);
		}
	}
}

static void test_watermark_formulas(void **state)
{
	static const struct { unsigned nodes; uint64_t mem; } shapes[] = {
		{ 1, 64 * M }, { 1, 1 * G }, { 2, 2 * G }, { 1, 6 * G }, { 4, 3 * G },
	};
	const uint32_t def_ratio[4] = { 256, 256, 32, 0 };

	(void)state;
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		vmm_machine *m = small_machine(shapes[s].nodes, shapes[s].mem, 4, 0, NULL);
		uint64_t lowmem = 0, kb;
		uint32_t ratio[4] = { 100, 50, 10, 0 };
		struct vmm_zone *z;
		int64_t v;

		for_each_zone(m, z)
			if (z->idx <= VMM_ZONE_NORMAL)
				lowmem += z->managed_pages;
		kb = VMM_CLAMP(isqrt(lowmem * 4 * 16), 128ull, 262144ull);
		printf("# %u x %" PRIu64 " MiB: lowmem %" PRIu64 " pages, min_free_kbytes %" PRIu64 "\n",
		       shapes[s].nodes, shapes[s].mem >> 20, lowmem, kb);
		assert_int_equal(m->min_free_kbytes, kb);
		check_wmarks(m, kb, 10, def_ratio);

		assert_int_equal(vmm_sysctl_set(m, "vm.min_free_kbytes", 8192), 0);
		assert_int_equal(vmm_sysctl_get(m, "vm.min_free_kbytes", &v), 0);
		assert_int_equal(v, 8192);
		check_wmarks(m, 8192, 10, def_ratio);
		assert_int_equal(vmm_sysctl_set(m, "vm.watermark_scale_factor", 200), 0);
		check_wmarks(m, 8192, 200, def_ratio);
		assert_int_equal(vmm_sysctl_set(m, "vm.lowmem_reserve_ratio.DMA", 100), 0);
		assert_int_equal(vmm_sysctl_set(m, "vm.lowmem_reserve_ratio.DMA32", 50), 0);
		assert_int_equal(vmm_sysctl_set(m, "vm.lowmem_reserve_ratio.Normal", 10), 0);
		check_wmarks(m, 8192, 200, ratio);
		assert_machine_healthy(m);
		vmm_machine_destroy(&m);
	}
}

static void test_sysctl_errors(void **state)
{
	struct test_log tl = { 0 };
	vmm_machine *m = small_machine(1, 64 * M, 1, 0, &tl);
	int64_t v;

	(void)state;
	assert_int_equal(vmm_sysctl_set(m, "vm.nope", 1), -VMM_ENOENT);
	assert_int_equal(vmm_sysctl_get(m, "vm.nope", &v), -VMM_ENOENT);
	assert_int_equal(vmm_sysctl_set(m, "vm.watermark_scale_factor", 0), -VMM_EINVAL);
	assert_int_equal(vmm_sysctl_set(m, "vm.watermark_scale_factor", 3001), -VMM_EINVAL);
	assert_int_equal(vmm_sysctl_set(m, "vm.min_free_kbytes", -1), -VMM_EINVAL);
	assert_int_equal(vmm_sysctl_set(m, "vm.percpu_pagelist_high_fraction", 7), -VMM_EINVAL);
	assert_int_equal(vmm_sysctl_set(m, "vm.percpu_pagelist_high_fraction", 8), 0);
	assert_int_equal(zone_of(m, 0, VMM_ZONE_DMA32)->pcp[0].high_min,
			 zone_of(m, 0, VMM_ZONE_DMA32)->pcp[0].high_max);
	assert_int_equal(vmm_sysctl_set(m, "vm.node_reclaim_mode", 8), -VMM_EINVAL);
	assert_int_equal(vmm_sysctl_set(m, "vm.node_reclaim_mode", 1), 0);
	assert_int_equal(vmm_sysctl_get(m, "vm.watermark_boost_factor", &v), 0);
	assert_int_equal(v, 15000);
	assert_int_equal(vmm_sysctl_set(NULL, "vm.min_free_kbytes", 1), -VMM_EINVAL);
	assert_int_equal(vmm_sysctl_get(m, NULL, &v), -VMM_EINVAL);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* ------------------------------------------------------------------ */

/*
 * Zonelists of a 4-node square (0-1 and 2-3 rows, 0-2 and 1-3 columns at
 * 20, diagonals at 30). Worked out with find_next_best_node()'s rules:
 * distance, +1 for nodes below the local one, +1 for nodes with CPUs (all
 * here), times 64, plus the node's load, which grows by one for the first
 * node of each new distance group.
 *   node 0: 0 1 2 3   (1 and 2 tie at 1344; 1 comes first)
 *   node 1: 1 3 0 2
 *   node 2: 2 3 0 1
 *   node 3: 3 2 1 0   (2 and 1 tie on distance; 2 carries less load)
 */
static void test_zonelists_4_nodes(void **state)
{
	static const uint8_t dist[4][4] = {
		{ 10, 20, 20, 30 }, { 20, 10, 30, 20 }, { 20, 30, 10, 20 }, { 30, 20, 20, 10 }
	};
	static const uint8_t expect[4][4] = { { 0, 1, 2, 3 }, { 1, 3, 0, 2 }, { 2, 3, 0, 1 }, { 3, 2, 1, 0 } };
	struct vmm_config cfg;
	vmm_machine *m;

	(void)state;
	vmm_config_init(&cfg);
	cfg.nodes = 4;
	cfg.cpus = 4;
	for (int i = 0; i < 4; i++) {
		cfg.node_mem[i] = 256 * M;
		cfg.cpu_node[i] = (uint8_t)i;
		for (int j = 0; j < 4; j++)
			cfg.distance[i][j] = dist[i][j];
	}
	cfg.nr_holes = 2;
	cfg.kernel_image_size = 2 * M;
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	for (unsigned nid = 0; nid < 4; nid++) {
		const struct vmm_pgdat *pg = NODE_DATA(m, nid);
		const struct vmm_zoneref *zr = pg->zonelists[ZONELIST_FALLBACK];
		unsigned k = 0;

		for (int i = 0; i < 4; i++)
			assert_int_equal(pg->node_order[i], expect[nid][i]);
		/* zones: node by node in that order, highest zone first within a node */
		for (int i = 0; i < 4; i++)
			for (int zid = VMM_MAX_NR_ZONES - 1; zid >= 0; zid--) {
				if (!NODE_DATA(m, expect[nid][i])->node_zones[zid].managed_pages)
					continue;
				assert_ptr_equal(zr[k].zone,
						 &NODE_DATA(m, expect[nid][i])->node_zones[zid]);
				k++;
			}
		assert_null(zr[k].zone);
		/* the no-fallback list is the node's own zones */
		zr = pg->zonelists[ZONELIST_NOFALLBACK];
		for (k = 0; zr[k].zone; k++)
			assert_int_equal(zr[k].nid, (int)nid);
		assert_true(k >= 1);
	}
	vmm_machine_destroy(&m);
}

/* __GFP_THISNODE fails on a full node rather than fall back; without it, the next node serves. */
static void test_thisnode_does_not_fall_back(void **state)
{
	vmm_machine *m = small_machine(2, 128 * M, 2, 0, NULL);
	struct vmm_page **pages = calloc(70000, sizeof(*pages));
	struct vmm_zone *z1 = zone_of(m, 1, VMM_ZONE_DMA32), *z0 = zone_of(m, 0, VMM_ZONE_DMA32);
	uint64_t n = 0, miss0, foreign1;
	struct vmm_page *p;

	(void)state;
	assert_non_null(pages);
	while ((p = vmm_alloc_pages_node(m, 1, VMM_GFP_KERNEL | VMM_GFP_THISNODE |
						     VMM_GFP_MEMALLOC | VMM_GFP_NOWARN, 0))) {
		assert_int_equal(vmm_page_to_nid(m, p), 1);
		pages[n++] = p;
	}
	assert_int_equal(z1->vm_stat[NR_FREE_PAGES], 0);
	assert_null(vmm_alloc_pages_node(m, 1, VMM_GFP_KERNEL | VMM_GFP_THISNODE | VMM_GFP_NOWARN, 0));
	miss0 = z0->vm_numa_event[NUMA_MISS];
	foreign1 = z1->vm_numa_event[NUMA_FOREIGN];
	p = vmm_alloc_pages_node(m, 1, VMM_GFP_KERNEL, 0);
	assert_non_null(p);
	assert_int_equal(vmm_page_to_nid(m, p), 0);
	assert_int_equal(z0->vm_numa_event[NUMA_MISS], miss0 + 1);
	assert_int_equal(z1->vm_numa_event[NUMA_FOREIGN], foreign1 + 1);
	vmm_free_pages(m, p, 0);
	release_pages(m, pages, n);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/*
 * Zone restrictions on a machine with DMA, DMA32 and Normal: GFP_DMA stays
 * below 16 MiB and GFP_DMA32 below 4 GiB; GFP_KERNEL fills Normal, then
 * DMA32, but lowmem protection keeps it out of DMA entirely (and, at the
 * default ratio, stops it exactly at min + protection; see
 * test_lowmem_protection_stops_at_reserve).
 */
static void test_zone_restrictions_and_lowmem_protection(void **state)
{
	struct vmm_config cfg;
	vmm_machine *m;
	struct vmm_page *p, **pages;
	uint64_t n = 0, cap = 400000, in_normal = 0, in_dma32 = 0;
	struct vmm_zone *dma;
	struct test_log tl = { 0 };

	(void)state;
	vmm_config_init(&cfg);
	cfg.nodes = 1;
	cfg.node_mem[0] = 4 * G + 512 * M;
	cfg.nr_holes = 3;
	cfg.holes[2].start = 1 * G;
	cfg.holes[2].end = 4 * G;
	cfg.kernel_image_size = 2 * M;
	cfg.log_fn = test_log_hook;
	cfg.log_data = &tl;
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	dma = zone_of(m, 0, VMM_ZONE_DMA);
	assert_true(zone_of(m, 0, VMM_ZONE_NORMAL)->managed_pages > 0);
	/* at the default ratio (256) DMA would give GFP_KERNEL some pages on this small machine;
	 * 32 puts DMA's protection above its size */
	assert_true(dma->lowmem_reserve[VMM_ZONE_NORMAL] < dma->managed_pages);
	assert_int_equal(vmm_sysctl_set(m, "vm.lowmem_reserve_ratio.DMA", 32), 0);

	for (int i = 0; i < 100; i++) {
		p = vmm_alloc_pages(m, VMM_GFP_DMA, 0);
		assert_non_null(p);
		assert_true(pfn(m, p) < 4096);
		vmm_free_pages(m, p, 0);
		p = vmm_alloc_pages(m, VMM_GFP_DMA32, 1);
		assert_non_null(p);
		assert_true(pfn(m, p) < (4 * G >> 12));
		vmm_free_pages(m, p, 1);
	}
	pages = calloc(cap, sizeof(*pages));
	assert_non_null(pages);
	while ((p = vmm_alloc_pages(m, VMM_GFP_KERNEL | VMM_GFP_NOWARN | VMM_GFP_NORETRY, 0))) {
		enum vmm_zone_type zt = vmm_page_zonenum(m, p);

		assert_int_not_equal(zt, VMM_ZONE_DMA);
		/*
		 * Normal first; with ALLOC_NOFRAGMENT, DMA32 takes over once
		 * Normal has no whole free pageblock left to claim, before
		 * Normal's last scattered pages are used.
		 */
		if (n == 0)
			assert_int_equal(zt, VMM_ZONE_NORMAL);
		if (zt == VMM_ZONE_DMA32)
			in_dma32++;
		else
			in_normal++;
		pages[n++] = p;
		assert_true(n < cap);
	}
	assert_true(in_normal > 0 && in_dma32 > 0);
	vmm_drain_all_pages(m);
	assert_int_equal((uint64_t)dma->vm_stat[NR_FREE_PAGES], dma->managed_pages);
	/* the protection holds: DMA would have to stay above min + (DMA32 + Normal) / 32 */
	assert_int_equal(dma->lowmem_reserve[VMM_ZONE_NORMAL],
			 (zone_of(m, 0, VMM_ZONE_DMA32)->managed_pages +
			  zone_of(m, 0, VMM_ZONE_NORMAL)->managed_pages) / 32);
	assert_true(dma->lowmem_reserve[VMM_ZONE_NORMAL] > dma->managed_pages);
	/* GFP_DMA still gets its zone */
	p = vmm_alloc_pages(m, VMM_GFP_DMA | VMM_GFP_KERNEL, 0);
	assert_non_null(p);
	vmm_free_pages(m, p, 0);
	release_pages(m, pages, n);
	assert_machine_healthy(m);
	/* a descriptor inside the hole, where no section is present, is no page to free */
	p = pfn_to_page(&m->sparse, 2 * G >> VMM_PAGE_SHIFT);
	assert_false(vmm_sparse_pfn_valid(&m->sparse, 2 * G >> VMM_PAGE_SHIFT));
	tl.messages = 0;
	vmm_free_pages(m, p, 0);
	assert_int_equal(tl.messages, 1);
	assert_int_equal(tl.last_kind, VMM_LOG_KIND_CALLER);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* At the default ratio, GFP_KERNEL may use DMA down to exactly min + lowmem_reserve. */
static void test_lowmem_protection_stops_at_reserve(void **state)
{
	vmm_machine *m = small_machine(1, 1 * G, 1, 0, NULL);
	struct vmm_zone *dma = zone_of(m, 0, VMM_ZONE_DMA), *dma32 = zone_of(m, 0, VMM_ZONE_DMA32);
	struct vmm_page **pages = calloc(300000, sizeof(*pages)), *p;
	uint64_t n = 0;

	(void)state;
	vmm_zone_pcp_disable(m);
	while ((p = vmm_alloc_pages(m, VMM_GFP_DMA32 | VMM_GFP_KERNEL | VMM_GFP_NORETRY |
					       VMM_GFP_NOWARN, 0)))
		pages[n++] = p;
	assert_int_equal((uint64_t)dma32->vm_stat[NR_FREE_PAGES], dma32->watermark[WMARK_MIN]);
	assert_int_equal(dma->lowmem_reserve[VMM_ZONE_DMA32], dma32->managed_pages / 256);
	assert_int_equal((uint64_t)dma->vm_stat[NR_FREE_PAGES],
			 dma->watermark[WMARK_MIN] + dma->lowmem_reserve[VMM_ZONE_DMA32]);
	release_pages(m, pages, n);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* ------------------------------------------------------------------ */

/* Each bad free is reported, counted, and leaves the allocator intact. */
static void test_bad_frees(void **state)
{
	struct test_log tl = { 0 };
	vmm_machine *m = small_machine(1, 128 * M, 1, 0, &tl);
	struct vmm_trouble_counts t;
	struct vmm_page *a, *c, *d, *e, *w;
	char *before;
	uint64_t free_before;

	(void)state;
	vmm_drain_all_pages(m);
	before = dump_to_string(m, VMM_DUMP_BUDDYINFO);
	free_before = total_free(m);

	/* double free of an order-0 page (it sits on the pcp list) */
	a = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
	vmm_free_pages(m, a, 0);
	vmm_free_pages(m, a, 0);
	assert_non_null(strstr(tl.last, "double free"));
	/* double free of a page that has merged into a free buddy block */
	vmm_drain_all_pages(m);
	vmm_free_pages(m, a, 0);
	assert_non_null(strstr(tl.last, "double free"));
	/* a tail of a compound page */
	c = vmm_alloc_pages(m, VMM_GFP_KERNEL | VMM_GFP_COMP, 3);
	vmm_free_pages(m, vmm_pfn_to_page(m, pfn(m, c) + 3), 0);
	assert_non_null(strstr(tl.last, "tail"));
	vmm_put_page(m, vmm_pfn_to_page(m, pfn(m, c) + 5)); /* a tail's put frees its head */
	assert_machine_healthy(m);
	assert_int_equal(vmm_machine_trouble(m, &t), 0);
	assert_int_equal(t.bad_pages, 3);
	assert_int_equal(t.quarantined_pages, 0);

	/* still mapped: quarantined */
	d = vmm_alloc_pages(m, VMM_GFP_KERNEL, 1);
	d->mapcount = 1;
	vmm_free_pages(m, d, 1);
	assert_non_null(strstr(tl.last, "mapcount"));
	/* still on a list */
	e = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
	set_page_flag(e, VMM_PG_lru);
	vmm_free_pages(m, e, 0);
	assert_non_null(strstr(tl.last, "on a list"));
	/* wrong order */
	w = vmm_alloc_pages(m, VMM_GFP_KERNEL, 2);
	vmm_free_pages(m, w, 1);
	assert_non_null(strstr(tl.last, "freed as order 1, allocated as order 2"));
	/* freeing a quarantined page again is reported and ignored */
	vmm_free_pages(m, w, 2);
	assert_int_equal(vmm_machine_trouble(m, &t), 0);
	assert_int_equal(t.bad_pages, 7);
	assert_int_equal(t.quarantined_pages, 2 + 1 + 4);
	assert_int_equal(tl.last_kind, VMM_LOG_KIND_GUEST);
	/* not a page of this machine: a caller error */
	vmm_free_pages(m, (struct vmm_page *)&t, 0);
	assert_int_equal(tl.last_kind, VMM_LOG_KIND_CALLER);
	assert_machine_healthy(m);

	/* the allocator is intact: everything else still round-trips */
	vmm_drain_all_pages(m);
	assert_int_equal(total_free(m), free_before - 7);
	{
		struct vmm_page *x = vmm_alloc_pages(m, VMM_GFP_KERNEL, 5);

		assert_non_null(x);
		vmm_free_pages(m, x, 5);
	}
	assert_machine_healthy(m);
	free(before);
	vmm_machine_destroy(&m);
}

/* get_page/put_page, and __free_pages with another reference still held. */
static void test_refcounts(void **state)
{
	vmm_machine *m = small_machine(1, 128 * M, 1, 0, NULL);
	uint64_t f0;
	struct vmm_page *p;

	(void)state;
	vmm_drain_all_pages(m);
	f0 = total_free(m);
	p = vmm_alloc_pages(m, VMM_GFP_KERNEL | VMM_GFP_COMP, 2);
	vmm_get_page(m, p);
	assert_int_equal(vmm_page_count(p), 2);
	vmm_free_pages(m, p, 2);
	assert_int_equal(vmm_page_count(p), 1);
	vmm_put_page(m, p);
	vmm_drain_all_pages(m);
	assert_int_equal(total_free(m), f0);

	/* non-compound: a racing reference keeps only the first page */
	p = vmm_alloc_pages(m, VMM_GFP_KERNEL, 2);
	vmm_get_page(m, p);
	vmm_free_pages(m, p, 2);
	vmm_drain_all_pages(m);
	assert_int_equal(total_free(m), f0 - 1);
	assert_machine_healthy(m);
	vmm_put_page(m, p);
	vmm_drain_all_pages(m);
	assert_int_equal(total_free(m), f0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* ------------------------------------------------------------------ */

/* Per-CPU lists: refill by batch, overflow frees back, drain, disable. */
/*
 * The order-0 fast paths read copies: each list's free_high and each CPU's table
 * (clock, lists by zone), and the current CPU's table pointer. vmm_pcp_check() finds
 * each one stale, and a CPU switch through the API moves the pointer.
 */
static void test_pcp_fast_copies_checked(void **state)
{
	vmm_machine *m = small_machine(2, 1 * G, 2, 0, NULL);
	struct vmm_zone *z;
	struct vmm_per_cpu_pages *pcp;
	unsigned id, key;
	FILE *null = fopen("/dev/null", "w");
	struct vmm_page *page;
	int saved;

	(void)state;
	assert_non_null(null);
	assert_int_equal(vmm_machine_set_current_cpu(m, 1), 0);
	assert_ptr_equal(m->this_cpu_fast, &m->cpu_fast[1]);
	/* a free on CPU 1 (node 1) sets the list's limit, and free_high with it */
	page = vmm_alloc_pages(m, VMM_GFP_HIGHUSER_MOVABLE, 0);
	assert_non_null(page);
	assert_int_equal(vmm_page_to_nid(m, page), 1);
	id = 1 * VMM_MAX_NR_ZONES + (unsigned)vmm_page_zonenum(m, page);
	z = m->zone_by_id[id];
	key = 1 | (unsigned)vmm_page_zonenum(m, page) << 8;
	pcp = &z->pcp[1];
	vmm_free_pages(m, page, 0);
	assert_true(pcp->high >= pcp->high_min && pcp->high > 0);
	assert_int_equal(pcp->free_high, pcp->high);
	assert_machine_healthy(m);

	saved = pcp->free_high;
	pcp->free_high = saved + 1;
	assert_int_equal(vmm_pcp_check(m, null), 1);
	pcp->free_high = saved;
	/* the zone marked below high: no list of it only adds */
	z->flags |= ZONE_BELOW_HIGH;
	/* CPU 1's list and fast_floor; CPU 0's list, unused, has limit 0 either way */
	assert_int_equal(vmm_pcp_check(m, null), 1 + 1);
	z->flags &= ~ZONE_BELOW_HIGH;

	m->this_cpu_fast = &m->cpu_fast[0];
	assert_int_equal(vmm_pcp_check(m, null), 1);
	m->this_cpu_fast = &m->cpu_fast[1];
	m->cpu_fast[0].pcp_by_key[key] = pcp;
	assert_int_equal(vmm_pcp_check(m, null), 1);
	m->cpu_fast[0].pcp_by_key[key] = &z->pcp[0];
	assert_machine_healthy(m);
	fclose(null);
	vmm_machine_destroy(&m);
}

static void test_pcp_lists(void **state)
{
	vmm_machine *m = small_machine(1, 1 * G, 2, 0, NULL);
	struct vmm_zone *z = zone_of(m, 0, VMM_ZONE_DMA32);
	struct vmm_per_cpu_pages *pcp = &z->pcp[0];
	struct vmm_page *pages[4096];
	uint64_t free0;
	int n = 0;

	(void)state;
	assert_true(pcp->batch > 1);
	assert_int_equal(pcp->high, 0); /* boot pageset until first use */
	free0 = (uint64_t)z->vm_stat[NR_FREE_PAGES];
	/*
	 * first allocation: nr_pcp_alloc() brings high into [high_min, high_max] before it
	 * compares it with batch, so the boot pageset refills a whole batch (alloc_factor 0)
	 * and high grows by that batch, the zone being above its high watermark
	 */
	assert_true(pcp->high_min >= pcp->batch && pcp->high_min < pcp->high_max);
	pages[n++] = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
	assert_int_equal(pcp->count, pcp->batch - 1);
	assert_int_equal(pcp->high, VMM_MIN(pcp->high_min + pcp->batch, pcp->high_max));
	/* a free keeps the page */
	vmm_free_pages(m, pages[--n], 0);
	assert_int_equal(pcp->count, pcp->batch);
	/* allocations now refill whole batches from the zone */
	for (int i = 0; i < 2; i++)
		pages[n++] = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
	assert_true(pcp->count > 0);
	assert_int_equal((uint64_t)z->vm_stat[NR_FREE_PAGES] + (uint64_t)pcp->count + (uint64_t)n,
			 free0);
	/* order 3 has its own lists; order 4 never uses them */
	pages[n++] = vmm_alloc_pages(m, VMM_GFP_KERNEL, 3);
	assert_false(vmm_list_empty(&pcp->lists[order_to_pindex(MIGRATE_UNMOVABLE, 3)]) &&
		     pcp->count == 0);
	vmm_free_pages(m, pages[--n], 3);
	/* freeing many pages overflows high and gives batches back */
	while (n < 4000)
		pages[n++] = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
	while (n)
		vmm_free_pages(m, pages[--n], 0);
	assert_true(pcp->count <= pcp->high_max);
	assert_machine_healthy(m);
	/* another CPU's lists are its own: its first refill is its own batch */
	assert_int_equal(vmm_machine_set_current_cpu(m, 1), 0);
	pages[n++] = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
	vmm_free_pages(m, pages[--n], 0);
	assert_int_equal(z->pcp[1].count, z->pcp[1].batch);
	assert_int_equal(vmm_machine_set_current_cpu(m, 2), -VMM_EINVAL);
	assert_int_equal(vmm_machine_set_current_cpu(m, 0), 0);
	/* drain_all_pages empties every CPU's lists, charging an IPI to the other CPU */
	{
		uint64_t ipi0;

		assert_int_equal(vmm_cpu_cycles(m, 0, VMM_CYC_IPI, &ipi0), 0);
		vmm_drain_all_pages(m);
		assert_pcp_empty(m);
		assert_int_equal((uint64_t)z->vm_stat[NR_FREE_PAGES], free0);
		assert_int_equal(vmm_cpu_cycles(m, 0, VMM_CYC_IPI, &ipi0), 0);
		assert_int_equal(ipi0, m->clock.cost.ipi);
	}
	/* with the lists disabled, every free goes straight back */
	vmm_zone_pcp_disable(m);
	for (int i = 0; i < 100; i++)
		pages[n++] = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
	while (n)
		vmm_free_pages(m, pages[--n], 0);
	assert_pcp_empty(m);
	/*
	 * enabled again, high is back at high_min and grows by the refill's batch (scaled by
	 * alloc_factor, which the earlier refills raised), and the refill takes that batch,
	 * capped by the room below the new limit (nr_pcp_alloc()); a free keeps its page
	 */
	vmm_zone_pcp_enable(m);
	{
		int scaled = pcp->batch << pcp->alloc_factor, high, want;

		assert_int_equal(pcp->count, 0);
		assert_false(z->flags & ZONE_BELOW_HIGH);
		high = VMM_MIN(pcp->high_min + scaled, pcp->high_max);
		want = VMM_MIN(scaled, VMM_MAX(high - pcp->batch, pcp->batch));
		pages[n++] = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
		assert_int_equal(pcp->high, high);
		assert_int_equal(pcp->count, want - 1);
		vmm_free_pages(m, pages[--n], 0);
		assert_int_equal(pcp->count, want);
	}
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* Linux 2.6.11's hot and cold lists. */
static void test_hot_cold_lists(void **state)
{
	vmm_machine *m = small_machine(1, 1 * G, 1, VMM_CFG_PCP_HOT_COLD, NULL);
	struct vmm_zone *z = zone_of(m, 0, VMM_ZONE_DMA32);
	struct vmm_per_cpu_pages *pcp = &z->pcp[0];
	struct vmm_page *hot, *cold, *again;
	int batch = pcp->batch;

	(void)state;
	assert_int_equal(pcp->hot_cold[0].low, 2 * batch);
	assert_int_equal(pcp->hot_cold[0].high, 6 * batch);
	assert_int_equal(pcp->hot_cold[1].low, 0);
	assert_int_equal(pcp->hot_cold[1].high, 2 * batch);
	assert_int_equal(pcp->hot_cold[1].batch, batch / 2);
	hot = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
	assert_int_equal(pcp->hot_cold[0].count, batch - 1);
	cold = vmm_alloc_pages(m, VMM_GFP_KERNEL | VMM_GFP_COLD, 0);
	assert_int_equal(pcp->hot_cold[1].count, batch / 2 - 1);
	/* a hot free goes to the head and comes straight back */
	vmm_free_pages(m, hot, 0);
	again = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
	assert_ptr_equal(again, hot);
	vmm_free_cold_page(m, cold);
	assert_int_equal(pcp->hot_cold[1].count, batch / 2);
	vmm_free_pages(m, again, 0);
	assert_machine_healthy(m);
	vmm_drain_all_pages(m);
	assert_int_equal(pcp->hot_cold[0].count + pcp->hot_cold[1].count, 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* ------------------------------------------------------------------ */

/* Counters: pgalloc per zone, pgfree, NUMA hit/local, cycles charged. */
static void test_counters(void **state)
{
	vmm_machine *m = small_machine(2, 256 * M, 2, 0, NULL);
	struct vmm_zone *z = zone_of(m, 0, VMM_ZONE_DMA32);
	uint64_t a0 = vmm_vm_event(m, VE_PGALLOC_DMA32), f0 = m->vm_events[VE_PGFREE];
	uint64_t hit0 = vmm_zone_numa_event(z, NUMA_HIT);
	uint64_t local0 = vmm_zone_numa_event(z, NUMA_LOCAL);
	uint64_t cyc0, cyc1;
	struct vmm_page *p;

	(void)state;
	assert_int_equal(vmm_cpu_cycles(m, 0, VMM_CYC_ALLOC, &cyc0), 0);
	p = vmm_alloc_pages(m, VMM_GFP_KERNEL, 3);
	assert_int_equal(vmm_vm_event(m, VE_PGALLOC_DMA32), a0 + 8);
	assert_int_equal(vmm_zone_numa_event(z, NUMA_HIT), hit0 + 1);
	assert_int_equal(vmm_zone_numa_event(z, NUMA_LOCAL), local0 + 1);
	assert_int_equal(vmm_cpu_cycles(m, 0, VMM_CYC_ALLOC, &cyc1), 0);
	assert_true(cyc1 > cyc0);
	vmm_free_pages(m, p, 3);
	assert_int_equal(m->vm_events[VE_PGFREE], f0 + 8);
	/* an allocation for node 1 from CPU 0: hit on node 1, but "other" (not local) */
	p = vmm_alloc_pages_node(m, 1, VMM_GFP_KERNEL, 0);
	assert_int_equal(vmm_page_to_nid(m, p), 1);
	assert_int_equal(zone_of(m, 1, VMM_ZONE_DMA32)->vm_numa_event[NUMA_OTHER], 1);
	vmm_free_pages(m, p, 0);
	/* vmstat prints them under Linux's names */
	{
		char *text = dump_to_string(m, VMM_DUMP_VMSTAT);

		assert_non_null(strstr(text, "\npgalloc_dma32 "));
		assert_non_null(strstr(text, "\nnuma_hit "));
		assert_non_null(strstr(text, "\nallocstall_normal "));
		free(text);
	}
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* ------------------------------------------------------------------ */
/* The slow path                                                       */
/* ------------------------------------------------------------------ */

/* Fill the machine with order-0 GFP_KERNEL|MEMALLOC pages, leaving nothing free. */
static struct vmm_page **exhaust(vmm_machine *m, uint64_t *n)
{
	struct vmm_page **pages = calloc(200000, sizeof(*pages));

	assert_non_null(pages);
	*n = 0;
	while ((pages[*n] = vmm_alloc_pages(m, VMM_GFP_KERNEL | VMM_GFP_MEMALLOC | VMM_GFP_NOWARN, 0)))
		assert_true(++*n < 200000);
	return pages;
}

static void test_slowpath_rules(void **state)
{
	struct test_log tl = { 0 };
	vmm_machine *m = small_machine(1, 256 * M, 1, 0, &tl);
	struct vmm_page_alloc_stats s;
	struct vmm_zone *z = zone_of(m, 0, VMM_ZONE_DMA32);
	uint64_t n, stall;
	struct vmm_page **pages = exhaust(m, &n);

	(void)state;
	/* GFP_NOWAIT cannot reclaim: it fails without entering direct reclaim */
	s = m->pa_stats;
	assert_null(vmm_alloc_pages(m, VMM_GFP_NOWAIT | VMM_GFP_NOWARN, 0));
	assert_int_equal(m->pa_stats.direct_reclaim, s.direct_reclaim);
	assert_int_equal(m->pa_stats.slowpath, s.slowpath + 1);

	/* __GFP_NORETRY: one reclaim attempt, no OOM */
	s = m->pa_stats;
	stall = m->vm_events[VE_ALLOCSTALL_NORMAL];
	assert_null(vmm_alloc_pages(m, VMM_GFP_KERNEL | VMM_GFP_NORETRY | VMM_GFP_NOWARN, 0));
	assert_int_equal(m->pa_stats.direct_reclaim, s.direct_reclaim + 1);
	assert_int_equal(m->vm_events[VE_ALLOCSTALL_NORMAL], stall + 1);
	assert_int_equal(m->pa_stats.oom_calls, s.oom_calls);

	/* a costly order without __GFP_RETRY_MAYFAIL gives up after compaction and reclaim */
	s = m->pa_stats;
	assert_null(vmm_alloc_pages(m, VMM_GFP_KERNEL | VMM_GFP_NOWARN, 4));
	assert_int_equal(m->pa_stats.direct_compact, s.direct_compact + 2);
	assert_int_equal(m->pa_stats.slowpath_retries, s.slowpath_retries);
	assert_int_equal(m->pa_stats.oom_calls, s.oom_calls);

	/* order 0 GFP_KERNEL: reclaim finds nothing, the watermark cannot be met, OOM */
	s = m->pa_stats;
	tl.messages = 0;
	assert_null(vmm_alloc_pages(m, VMM_GFP_KERNEL, 0));
	assert_int_equal(m->pa_stats.oom_calls, s.oom_calls + 1);
	assert_int_equal(m->pa_stats.failures, s.failures + 1);
	assert_int_equal(tl.messages, 2); /* the OOM report and the failure warning */
	assert_non_null(strstr(tl.last, "page allocation failure: order:0"));

	/* __GFP_RETRY_MAYFAIL never invokes the OOM killer */
	s = m->pa_stats;
	assert_null(vmm_alloc_pages(m, VMM_GFP_KERNEL | VMM_GFP_RETRY_MAYFAIL | VMM_GFP_NOWARN, 0));
	assert_int_equal(m->pa_stats.oom_calls, s.oom_calls);

	/*
	 * If reclaim could free pages (pretend the file LRU holds some), the
	 * allocator retries: MAX_RECLAIM_RETRIES rounds without progress, then
	 * OOM.
	 */
	z->vm_stat[NR_ZONE_INACTIVE_FILE] = 100000;
	s = m->pa_stats;
	stall = m->vm_events[VE_ALLOCSTALL_NORMAL];
	assert_null(vmm_alloc_pages(m, VMM_GFP_KERNEL | VMM_GFP_NOWARN, 0));
	assert_int_equal(m->pa_stats.slowpath_retries, s.slowpath_retries + MAX_RECLAIM_RETRIES);
	assert_int_equal(m->vm_events[VE_ALLOCSTALL_NORMAL], stall + MAX_RECLAIM_RETRIES + 1);
	assert_int_equal(m->pa_stats.oom_calls, s.oom_calls + 1);
	z->vm_stat[NR_ZONE_INACTIVE_FILE] = 0;

	/* __GFP_NOFAIL with nothing left anywhere: the simulation reports the hang and fails */
	s = m->pa_stats;
	assert_null(vmm_alloc_pages(m, VMM_GFP_KERNEL | VMM_GFP_NOFAIL | VMM_GFP_NOWARN, 0));
	assert_int_equal(m->pa_stats.nofail_gaveup, s.nofail_gaveup + 1);
	assert_non_null(strstr(tl.last, "would retry forever"));
	assert_machine_healthy(m);

	/* with one page back, __GFP_NOFAIL gets it from the reserves */
	vmm_free_pages(m, pages[--n], 0);
	vmm_drain_all_pages(m);
	pages[n] = vmm_alloc_pages(m, VMM_GFP_KERNEL | VMM_GFP_NOFAIL, 0);
	assert_non_null(pages[n]);
	n++;
	/* and kswapd was woken, failed, and counted its runs */
	assert_true(NODE_DATA(m, 0)->kswapd_wakeups > 0);
	assert_true(m->vm_events[VE_PAGEOUTRUN] > 0);
	release_pages(m, pages, n);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* Watermarks in action: GFP_KERNEL stops at min, GFP_ATOMIC goes deeper, MEMALLOC to zero. */
static void test_watermark_depths(void **state)
{
	vmm_machine *m = small_machine(1, 128 * M, 1, 0, NULL);
	struct vmm_zone *z = zone_of(m, 0, VMM_ZONE_DMA32);
	struct vmm_page **pages = calloc(40000, sizeof(*pages));
	uint64_t n = 0, mn = z->watermark[WMARK_MIN];
	int64_t left_kernel, left_atomic;

	(void)state;
	vmm_zone_pcp_disable(m); /* so NR_FREE_PAGES is exact */
	while ((pages[n] = vmm_alloc_pages(m, VMM_GFP_KERNEL | VMM_GFP_DMA32 | VMM_GFP_NOWARN |
						      VMM_GFP_NORETRY, 0)))
		n++;
	left_kernel = z->vm_stat[NR_FREE_PAGES];
	/* order 0 stops once free pages would drop to the min watermark */
	assert_int_equal(left_kernel, (int64_t)mn);
	while ((pages[n] = vmm_alloc_pages(m, VMM_GFP_ATOMIC | VMM_GFP_DMA32 | VMM_GFP_NOWARN, 0)))
		n++;
	left_atomic = z->vm_stat[NR_FREE_PAGES];
	/* __GFP_HIGH halves the mark, not blocking takes another quarter */
	assert_int_equal(left_atomic, (int64_t)(mn - mn / 2 - (mn - mn / 2) / 4));
	while ((pages[n] = vmm_alloc_pages(m, VMM_GFP_DMA32 | VMM_GFP_MEMALLOC | VMM_GFP_NOWARN, 0)))
		n++;
	assert_int_equal(z->vm_stat[NR_FREE_PAGES], 0);
	release_pages(m, pages, n);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* ------------------------------------------------------------------ */
/* NUMA policy, cpusets, bulk, kernel addresses                         */
/* ------------------------------------------------------------------ */

static void test_mempolicy(void **state)
{
	struct test_log tl = { 0 };
	vmm_machine *m = small_machine(2, 256 * M, 2, 0, &tl);
	struct vmm_page *p[8];
	uint64_t ih = 0;

	(void)state;
	assert_int_equal(vmm_set_mempolicy(m, VMM_MPOL_INTERLEAVE, 0x3), 0);
	for (int i = 0; i < 8; i++) {
		p[i] = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
		assert_int_equal(vmm_page_to_nid(m, p[i]), (unsigned)(i & 1));
	}
	for (unsigned nid = 0; nid < 2; nid++)
		ih += zone_of(m, nid, VMM_ZONE_DMA32)->vm_numa_event[NUMA_INTERLEAVE_HIT];
	assert_int_equal(ih, 8);
	for (int i = 0; i < 8; i++)
		vmm_free_pages(m, p[i], 0);
	assert_int_equal(vmm_set_mempolicy(m, VMM_MPOL_BIND, 0x2), 0);
	p[0] = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
	assert_int_equal(vmm_page_to_nid(m, p[0]), 1);
	vmm_free_pages(m, p[0], 0);
	assert_int_equal(vmm_set_mempolicy(m, VMM_MPOL_PREFERRED, 0x2), 0);
	p[0] = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
	assert_int_equal(vmm_page_to_nid(m, p[0]), 1);
	vmm_free_pages(m, p[0], 0);
	assert_int_equal(vmm_set_mempolicy(m, VMM_MPOL_BIND, 0), -VMM_EINVAL);
	assert_int_equal(vmm_set_mempolicy(m, VMM_MPOL_BIND, 0x4), -VMM_EINVAL);
	assert_int_equal(vmm_set_mempolicy(m, (enum vmm_mempolicy_mode)9, 1), -VMM_EINVAL);
	assert_int_equal(vmm_set_mempolicy(m, VMM_MPOL_DEFAULT, 0), 0);
	p[0] = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
	assert_int_equal(vmm_page_to_nid(m, p[0]), 0);
	vmm_free_pages(m, p[0], 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void test_cpuset(void **state)
{
	struct test_log tl = { 0 };
	vmm_machine *m = small_machine(2, 128 * M, 2, 0, &tl);
	struct vmm_cpuset cs = { 0 };
	struct vmm_page **pages = calloc(70000, sizeof(*pages)), *p;
	uint64_t n = 0;

	(void)state;
	/* the task is confined to node 1 */
	cs.mems_allowed = 0x2;
	cs.flags = VMM_CPUSET_MEMORY_SPREAD_PAGE;
	assert_int_equal(vmm_set_cpuset(m, &cs), 0);
	p = vmm_alloc_pages(m, VMM_GFP_USER, 0);
	assert_int_equal(vmm_page_to_nid(m, p), 1);
	vmm_free_pages(m, p, 0);
	/* fill node 1: GFP_USER (hardwall) fails; GFP_KERNEL may use the root's nodes */
	while ((p = vmm_alloc_pages(m, VMM_GFP_USER | VMM_GFP_NOWARN | VMM_GFP_NORETRY, 0))) {
		assert_int_equal(vmm_page_to_nid(m, p), 1);
		pages[n++] = p;
	}
	p = vmm_alloc_pages(m, VMM_GFP_KERNEL | VMM_GFP_NORETRY | VMM_GFP_NOWARN, 0);
	assert_non_null(p);
	assert_int_equal(vmm_page_to_nid(m, p), 0);
	vmm_free_pages(m, p, 0);
	/* a hardwalled cpuset keeps GFP_KERNEL in too; GFP_ATOMIC may still leave */
	cs.flags |= VMM_CPUSET_MEM_HARDWALL;
	assert_int_equal(vmm_set_cpuset(m, &cs), 0);
	assert_null(vmm_alloc_pages(m, VMM_GFP_KERNEL | VMM_GFP_NORETRY | VMM_GFP_NOWARN, 0));
	p = vmm_alloc_pages(m, VMM_GFP_ATOMIC, 0);
	assert_non_null(p);
	assert_int_equal(vmm_page_to_nid(m, p), 0);
	vmm_free_pages(m, p, 0);
	release_pages(m, pages, n);
	/* memory_spread_page: page-cache pages rotate over the cpuset's nodes */
	cs.mems_allowed = 0x3;
	cs.flags = VMM_CPUSET_MEMORY_SPREAD_PAGE;
	assert_int_equal(vmm_set_cpuset(m, &cs), 0);
	for (int i = 0; i < 4; i++) {
		p = vmm_page_cache_alloc(m, VMM_GFP_HIGHUSER_MOVABLE, 0);
		assert_int_equal(vmm_page_to_nid(m, p), (unsigned)(i & 1));
		vmm_free_pages(m, p, 0);
	}
	cs.flags = 0x100;
	assert_int_equal(vmm_set_cpuset(m, &cs), -VMM_EINVAL);
	cs.flags = 0;
	cs.mems_allowed = 0x4;
	assert_int_equal(vmm_set_cpuset(m, &cs), -VMM_EINVAL);
	assert_int_equal(vmm_set_cpuset(m, NULL), 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void test_bulk(void **state)
{
	vmm_machine *m = small_machine(1, 256 * M, 1, 0, NULL);
	struct vmm_page *arr[64] = { 0 };
	uint64_t a0 = vmm_vm_event(m, VE_PGALLOC_DMA32);
	unsigned long got;

	(void)state;
	arr[5] = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
	got = vmm_alloc_pages_bulk(m, VMM_GFP_KERNEL, -1, NULL, 64, arr);
	assert_int_equal(got, 64);
	assert_int_equal(vmm_vm_event(m, VE_PGALLOC_DMA32), a0 + 64);
	for (int i = 0; i < 64; i++) {
		assert_non_null(arr[i]);
		assert_int_equal(vmm_page_count(arr[i]), 1);
		for (int j = 0; j < i; j++)
			assert_ptr_not_equal(arr[i], arr[j]);
	}
	assert_machine_healthy(m);
	for (int i = 0; i < 64; i++)
		vmm_free_pages(m, arr[i], 0);
	/* an array already full: nothing to do */
	assert_int_equal(vmm_alloc_pages_bulk(m, VMM_GFP_KERNEL, -1, NULL, 0, arr), 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void test_kernel_addresses(void **state)
{
	struct test_log tl = { 0 };
	vmm_machine *m = small_machine(1, 64 * M, 1, 0, &tl);
	vmm_vaddr_t va;
	struct vmm_page *p;
	unsigned char *host;

	(void)state;
	assert_int_equal(vmm_page_offset(m), 0xffff888000000000ull);
	va = vmm_get_free_pages(m, VMM_GFP_KERNEL, 1);
	assert_true(va);
	p = vmm_virt_to_page(m, va);
	assert_non_null(p);
	assert_int_equal(vmm_page_address(m, p), va);
	assert_int_equal(va - vmm_page_offset(m), pfn(m, p) << 12);
	host = vmm_kaddr_to_host(m, va);
	assert_ptr_equal(host, vmm_phys_to_host(m, pfn(m, p) << 12));
	memset(host, 0xaa, 8192);
	vmm_free_pages_addr(m, va, 1);
	/* pcp lists are LIFO: the same block comes back, and __GFP_ZERO cleared it */
	va = vmm_get_free_pages(m, VMM_GFP_KERNEL | VMM_GFP_ZERO, 1);
	assert_ptr_equal(vmm_kaddr_to_host(m, va), host);
	for (int i = 0; i < 8192; i++)
		assert_int_equal(host[i], 0);
	vmm_free_pages_addr(m, va, 1);
	va = vmm_get_zeroed_page(m, VMM_GFP_KERNEL);
	assert_true(va);
	vmm_free_pages_addr(m, va, 0);
	assert_int_equal(vmm_get_free_pages(m, VMM_GFP_HIGHUSER, 0), 0);
	vmm_free_pages_addr(m, va + 1, 0);
	assert_int_equal(tl.last_kind, VMM_LOG_KIND_CALLER);
	assert_null(vmm_virt_to_page(m, 0x1000));
	assert_null(vmm_kaddr_to_host(m, 0x1000));
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);

	/* 5-level paging moves the direct map */
	{
		struct vmm_config cfg;

		vmm_config_init(&cfg);
		cfg.paging_levels = 5;
		assert_int_equal(vmm_machine_create(&cfg, &m), 0);
		assert_int_equal(vmm_page_offset(m), 0xff11000000000000ull);
		vmm_machine_destroy(&m);
	}
}

/* Same seed, same operations: the same digest. */
static void test_determinism(void **state)
{
	uint64_t d[2];

	(void)state;
	for (int run = 0; run < 2; run++) {
		vmm_machine *m = small_machine(2, 256 * M, 2, 0, NULL);
		struct vmm_page *p[100];

		for (int i = 0; i < 100; i++) {
			vmm_machine_set_current_cpu(m, (unsigned)(i & 1));
			p[i] = vmm_alloc_pages(m, VMM_GFP_KERNEL, (unsigned)(i % 4));
		}
		for (int i = 0; i < 100; i += 2)
			vmm_free_pages(m, p[i], (unsigned)(i % 4));
		d[run] = vmm_machine_digest(m);
		for (int i = 1; i < 100; i += 2)
			vmm_free_pages(m, p[i], (unsigned)(i % 4));
		vmm_machine_destroy(&m);
	}
	assert_int_equal(d[0], d[1]);
}

/* Both machines' digests, compared with both under the default policy (the digest covers it). */
static void assert_same_state(vmm_machine *fast, vmm_machine *full, unsigned cpu)
{
	assert_int_equal(vmm_set_mempolicy(fast, VMM_MPOL_DEFAULT, 0), 0);
	assert_int_equal(vmm_set_mempolicy(full, VMM_MPOL_DEFAULT, 0), 0);
	assert_int_equal(vmm_machine_digest(fast), vmm_machine_digest(full));
	assert_int_equal(
		vmm_set_mempolicy(full, VMM_MPOL_PREFERRED, 1ull << full->cfg.cpu_node[cpu]), 0);
}

/* What a step may change beside the pages: cheap enough to compare after every step. */
static void assert_same_counters(vmm_machine *fast, vmm_machine *full)
{
	struct vmm_zone *a, *b;

	for (int i = 0; i < NR_VM_EVENT_ITEMS; i++)
		assert_int_equal(vmm_vm_event(fast, i), vmm_vm_event(full, i));
	assert_memory_equal(&fast->pa_stats, &full->pa_stats, sizeof(fast->pa_stats));
	for (unsigned c = 0; c < fast->nr_cpus; c++) {
		assert_int_equal(vmm_cpu_clock_cycles(&fast->clock.cpu[c]),
				 vmm_cpu_clock_cycles(&full->clock.cpu[c]));
		for (unsigned k = 0; k < VMM_CYC_NR_CATEGORIES; k++)
			assert_int_equal(vmm_clock_cat(&fast->clock.cpu[c], k),
					 vmm_clock_cat(&full->clock.cpu[c], k));
	}
	for (a = &fast->node_data[0].node_zones[0], b = &full->node_data[0].node_zones[0]; a;
	     a = vmm_next_zone(fast, a), b = vmm_next_zone(full, b)) {
		assert_int_equal(a->flags, b->flags);
		assert_memory_equal(a->vm_stat, b->vm_stat, sizeof(a->vm_stat));
		for (int i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++)
			assert_int_equal(vmm_zone_numa_event(a, i), vmm_zone_numa_event(b, i));
		for (unsigned c = 0; c < fast->nr_cpus; c++) {
			const struct vmm_per_cpu_pages *p = &a->pcp[c], *q = &b->pcp[c];

			assert_int_equal(p->count, q->count);
			assert_int_equal(p->high, q->high);
			assert_int_equal(p->flags, q->flags);
			assert_int_equal(p->alloc_factor, q->alloc_factor);
			assert_int_equal(p->free_count, q->free_count);
		}
	}
}

static uint8_t *page_bytes(vmm_machine *m, struct vmm_page *p)
{
	return vmm_phys_to_host(m, (vmm_paddr_t)pfn(m, p) << VMM_PAGE_SHIFT);
}

/*
 * vmm_alloc_page_filled() takes the page vmm_alloc_pages(gfp, 0) takes, with the
 * same charges and counters, on the fast path and off it (a policy that rules the
 * fast path out), with and without __GFP_ZERO; a __GFP_ZERO page comes back
 * cleared although its last owner left it dirty. Two twin machines, one for each.
 */
static void test_alloc_page_filled(void **state)
{
	static const vmm_gfp_t gfps[] = { VMM_GFP_HIGHUSER_MOVABLE,
					  VMM_GFP_HIGHUSER_MOVABLE | VMM_GFP_ZERO,
					  VMM_GFP_KERNEL | VMM_GFP_ZERO, VMM_GFP_KERNEL };
	vmm_machine *filled = small_machine(2, 64 * M, 2, 0, NULL);
	vmm_machine *plain = small_machine(2, 64 * M, 2, 0, NULL);
	struct vmm_page *a[64], *b[64];

	(void)state;
	for (int round = 0; round < 3; round++) {
		if (round == 2) {	/* interleave: the fast path is off */
			assert_int_equal(vmm_set_mempolicy(filled, VMM_MPOL_INTERLEAVE, 3), 0);
			assert_int_equal(vmm_set_mempolicy(plain, VMM_MPOL_INTERLEAVE, 3), 0);
		}
		for (unsigned i = 0; i < ARRAY_SIZE(a); i++) {
			vmm_gfp_t gfp = gfps[i % ARRAY_SIZE(gfps)];

			vmm_machine_set_current_cpu(filled, i & 1);
			vmm_machine_set_current_cpu(plain, i & 1);
			a[i] = vmm_alloc_page_filled(filled, gfp);
			b[i] = vmm_alloc_pages(plain, gfp, 0);
			assert_non_null(a[i]);
			assert_non_null(b[i]);
			assert_int_equal(pfn(filled, a[i]), pfn(plain, b[i]));
			if (gfp & VMM_GFP_ZERO) {
				assert_int_equal(page_bytes(filled, a[i])[0], 0);
				assert_memory_equal(page_bytes(filled, a[i]),
						    page_bytes(filled, a[i]) + 1, VMM_PAGE_SIZE - 1);
			}
			/* dirty it for whoever takes it next */
			memset(page_bytes(filled, a[i]), 0xa5, VMM_PAGE_SIZE);
			assert_same_counters(filled, plain);
		}
		assert_int_equal(vmm_machine_check(filled, NULL), 0);
		for (unsigned i = 0; i < ARRAY_SIZE(a); i++) {
			vmm_free_pages(filled, a[i], 0);
			vmm_free_pages(plain, b[i], 0);
		}
		assert_int_equal(vmm_machine_check(filled, NULL), 0);
		assert_int_equal(vmm_machine_digest(filled), vmm_machine_digest(plain));
	}
	vmm_machine_destroy(&filled);
	vmm_machine_destroy(&plain);
}

/*
 * vmm_free_pages_bulk() leaves what vmm_free_pages() of each page in turn leaves:
 * runs of pages of several zones, nodes and lists, allocated on two CPUs, enough to
 * overflow the lists, with a double free, a free with the wrong order and a NULL
 * among them; with and without hot/cold lists.
 */
static void test_free_pages_bulk(void **state)
{
	enum { NR = 1200, EXTRA = 3 };
	static const vmm_gfp_t kinds[] = { VMM_GFP_KERNEL, VMM_GFP_HIGHUSER_MOVABLE, VMM_GFP_DMA,
					   VMM_GFP_KERNEL | VMM_GFP_RECLAIMABLE };

	(void)state;
	for (int hot_cold = 0; hot_cold < 2; hot_cold++) {
		struct test_log tl[2] = { { 0 }, { 0 } };
		struct vmm_page **pages[2], *pair[2];
		vmm_machine *m[2];

		for (int k = 0; k < 2; k++) {
			unsigned n = 0;

			m[k] = small_machine(2, 256 * M, 2, hot_cold ? VMM_CFG_PCP_HOT_COLD : 0,
					     &tl[k]);
			pages[k] = calloc(NR + EXTRA, sizeof(*pages[k]));
			assert_non_null(pages[k]);
			for (unsigned i = 0; i < NR; i++) {
				vmm_gfp_t gfp = kinds[(i / 37) % 4];

				vmm_machine_set_current_cpu(m[k], (i / 53) % 2);
				if ((i / 101) % 3 == 2)
					pages[k][n] = vmm_alloc_pages_node(m[k], 1, gfp, 0);
				else
					pages[k][n] = vmm_alloc_pages(m[k], gfp, 0);
				assert_non_null(pages[k][n]);
				n++;
				if (i == 300)
					pages[k][n++] = pages[k][100]; /* a double free */
				if (i == 650) {
					pair[k] = vmm_alloc_pages(m[k], VMM_GFP_KERNEL, 1);
					assert_non_null(pair[k]);
					pages[k][n++] = pair[k]; /* freed as order 0 */
				}
				if (i == 900)
					pages[k][n++] = NULL;
			}
			assert_int_equal(n, NR + EXTRA);
			vmm_machine_set_current_cpu(m[k], 0);
		}
		for (unsigned i = 0; i < NR + EXTRA; i++)
			vmm_free_pages(m[0], pages[0][i], 0);
		vmm_free_pages_bulk(m[1], NR + EXTRA, pages[1]);
		assert_same_counters(m[1], m[0]);
		assert_int_equal(m[1]->pa_stats.bad_pages, 2);
		assert_int_equal(tl[1].messages, tl[0].messages);
		/* the same report, but for the function's name */
		assert_non_null(strchr(tl[0].last, ':'));
		assert_string_equal(strchr(tl[1].last, ':'), strchr(tl[0].last, ':'));
		assert_int_equal(tl[1].last_kind, tl[0].last_kind);
		assert_same_state(m[1], m[0], 0);
		assert_machine_healthy(m[0]);

		/* misuse is reported, and changes nothing */
		vmm_free_pages_bulk(NULL, 1, pages[1]);
		vmm_free_pages_bulk(m[1], 0, NULL);
		assert_int_equal(tl[1].messages, tl[0].messages);
		vmm_free_pages_bulk(m[1], 1, NULL);
		assert_int_equal(tl[1].messages, tl[0].messages + 1);
		assert_int_equal(tl[1].last_kind, VMM_LOG_KIND_CALLER);
		assert_machine_healthy(m[1]);
		for (int k = 0; k < 2; k++) {
			free(pages[k]);
			vmm_machine_destroy(&m[k]);
		}
	}
}

struct held_block {
	struct vmm_page *page[2]; /* on the fast machine, on the full-path machine */
	unsigned order;
};

/*
 * The allocation and free fast paths against the full way: two identical machines
 * take the same random requests, one under the default policy, where the fast paths
 * serve what they can, and one under MPOL_PREFERRED of its current CPU's node, which
 * places pages the same way but sends every allocation the full way. Memory runs
 * short enough for watermarks, refills, drains and the slow path to matter. The two
 * must hand out the same pages, log the same trouble, and keep the same state.
 */
static void test_fast_path_matches_full_path(void **state)
{
	static const vmm_gfp_t gfps[] = {
		VMM_GFP_KERNEL,
		VMM_GFP_KERNEL,
		VMM_GFP_KERNEL | VMM_GFP_ZERO,
		VMM_GFP_HIGHUSER_MOVABLE,
		VMM_GFP_KERNEL | VMM_GFP_RECLAIMABLE,
		VMM_GFP_KERNEL | VMM_GFP_DMA32,
		VMM_GFP_KERNEL | VMM_GFP_DMA,
		VMM_GFP_KERNEL | VMM_GFP_COMP,
		VMM_GFP_ATOMIC | VMM_GFP_NOWARN,
		VMM_GFP_NOWAIT | VMM_GFP_NOWARN,
		VMM_GFP_KERNEL | VMM_GFP_THISNODE | VMM_GFP_NOWARN,
		VMM_GFP_KERNEL | VMM_GFP_MOVABLE | VMM_GFP_RECLAIMABLE, /* invalid */
		VMM_GFP_KERNEL | VMM_GFP_DMA | VMM_GFP_DMA32,		/* invalid */
		VMM_GFP_KERNEL | ~VMM_GFP_KNOWN_MASK,			/* invalid */
	};
	static const unsigned orders[] = { 0, 0, 0, 0, 0, 1, 2, 3, 4, 9 };
	enum { STEPS = 60000, MAX_HELD = 6000 };
	struct test_log tl[2] = { { 0 }, { 0 } };
	vmm_machine *m[2] = { small_machine(2, 48 * M, 4, 0, &tl[0]),
			      small_machine(2, 48 * M, 4, 0, &tl[1]) };
	struct held_block *held = calloc(MAX_HELD, sizeof(*held));
	struct vmm_prng r;
	unsigned nr = 0, cpu = 0;
	bool filling = true; /* phases of filling and draining memory cross every watermark */

	(void)state;
	assert_non_null(held);
	vmm_prng_seed(&r, test_seed(__func__, 3));
	for (int i = 0; i < 2; i++) /* a wide band between the low and high watermarks */
		assert_int_equal(vmm_sysctl_set(m[i], "vm.watermark_scale_factor", 500), 0);
	assert_same_state(m[0], m[1], cpu);
	for (int step = 0; step < STEPS; step++) {
		uint64_t op = vmm_prng_next(&r) % 100;

		if (filling ? nr == MAX_HELD : nr < 50)
			filling = !filling;
		if (op < (filling ? 70u : 25u) && nr < MAX_HELD) {
			size_t g = vmm_prng_next(&r) % ARRAY_SIZE(gfps);
			vmm_gfp_t gfp = gfps[g];
			unsigned order = orders[vmm_prng_next(&r) % ARRAY_SIZE(orders)];
			struct vmm_page *p[2];

			for (int i = 0; i < 2; i++)
				p[i] = vmm_alloc_pages(m[i], gfp, order);
			assert_int_equal(p[0] != NULL, p[1] != NULL);
			if (!p[0] && order == 0 && gfps[g] == VMM_GFP_KERNEL)
				filling = false; /* memory is full */
			if (p[0]) {
				assert_int_equal(pfn(m[0], p[0]), pfn(m[1], p[1]));
				held[nr++] = (struct held_block){ { p[0], p[1] }, order };
			}
		} else if (op < 97 && nr) {
			unsigned k = (unsigned)(vmm_prng_next(&r) % nr);
			struct held_block b = held[k];
			bool extra_ref = vmm_prng_next(&r) % 16 == 0;

			held[k] = held[--nr];
			for (int i = 0; i < 2; i++) {
				if (extra_ref) { /* a reference taken and dropped again first */
					vmm_get_page(m[i], b.page[i]);
					vmm_put_page(m[i], b.page[i]);
				}
				vmm_free_pages(m[i], b.page[i], b.order);
			}
			if (extra_ref && b.order == 0) /* a double free, reported the same way */
				for (int i = 0; i < 2; i++)
					vmm_free_pages(m[i], b.page[i], 0);
		} else if (op < 99) {
			cpu = (unsigned)(vmm_prng_next(&r) % 4);
			for (int i = 0; i < 2; i++)
				assert_int_equal(vmm_machine_set_current_cpu(m[i], cpu), 0);
			assert_int_equal(vmm_set_mempolicy(m[1], VMM_MPOL_PREFERRED,
							   1ull << m[1]->cfg.cpu_node[cpu]),
					 0);
		} else {
			int64_t fraction =
				vmm_prng_next(&r) % 2 ? 0 : 8 + (int64_t)(vmm_prng_next(&r) % 64);

			for (int i = 0; i < 2; i++) {
				assert_int_equal(vmm_sysctl_set(m[i],
								"vm.percpu_pagelist_high_fraction",
								fraction),
						 0);
				if (fraction % 3 == 0)
					vmm_drain_all_pages(m[i]);
			}
		}
		assert_same_counters(m[0], m[1]);
		if (step % 2000 == 0)
			assert_same_state(m[0], m[1], cpu);
	}
	assert_same_state(m[0], m[1], cpu);
	assert_int_equal(tl[0].messages, tl[1].messages);
	while (nr--)
		for (int i = 0; i < 2; i++)
			vmm_free_pages(m[i], held[nr].page[i], held[nr].order);
	assert_same_state(m[0], m[1], cpu);
	for (int i = 0; i < 2; i++) {
		assert_machine_healthy(m[i]);
		vmm_machine_destroy(&m[i]);
	}
	free(held);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gfp_decoding),
		cmocka_unit_test(test_alloc_every_page_order0),
		cmocka_unit_test(test_alloc_every_order),
		cmocka_unit_test(test_fallback_and_stealing),
		cmocka_unit_test(test_first_unmovable_allocation_claims_two_blocks),
		cmocka_unit_test(test_highatomic_reserve),
		cmocka_unit_test(test_watermark_formulas),
		cmocka_unit_test(test_sysctl_errors),
		cmocka_unit_test(test_zonelists_4_nodes),
		cmocka_unit_test(test_thisnode_does_not_fall_back),
		cmocka_unit_test(test_zone_restrictions_and_lowmem_protection),
		cmocka_unit_test(test_lowmem_protection_stops_at_reserve),
		cmocka_unit_test(test_bad_frees),
		cmocka_unit_test(test_refcounts),
		cmocka_unit_test(test_pcp_fast_copies_checked),
		cmocka_unit_test(test_pcp_lists),
		cmocka_unit_test(test_hot_cold_lists),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_slowpath_rules),
		cmocka_unit_test(test_watermark_depths),
		cmocka_unit_test(test_mempolicy),
		cmocka_unit_test(test_cpuset),
		cmocka_unit_test(test_bulk),
		cmocka_unit_test(test_free_pages_bulk),
		cmocka_unit_test(test_alloc_page_filled),
		cmocka_unit_test(test_kernel_addresses),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_fast_path_matches_full_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
