/* SPDX-License-Identifier: MIT */
/*
 * Node and zone geometry for several layouts, against figures worked out
 * by hand below from the rules Linux follows:
 *
 *  - node_start_pfn is the node's first RAM pfn; a zone spans from its
 *    first to its last RAM pfn in the node, holes included (spanned), and
 *    present = spanned - holes;
 *  - managed = present - pages reserved at boot in the zone: the first
 *    1 MiB (x86 never gives it to the allocator), the kernel image at
 *    16 MiB (32 MiB by default), and per node, top-down on the node:
 *    pg_data_t (0x2b000 bytes = 43 pages), the section usage maps right
 *    below it (40 bytes per present section: one more, partial, page), and
 *    a 2 MiB-aligned memory map of 512 pages per present 128 MiB section.
 */
#include "test_util.h"

#include "machine.h"
#include "mm/buddy.h"
#include "mm/zone.h"

#define G (1ull << 30)
#define M (1ull << 20)

struct zone_expect {
	uint64_t start, spanned, present, managed;
};

struct node_expect {
	uint64_t start, spanned, present;
	struct zone_expect zone[VMM_MAX_NR_ZONES];
};

/* The node's pg_data_t (43 pages) plus the page the usage maps share. */
#define NODE_BOOT_PAGES 44
/* Memory map: 512 pages per present section. */
#define MEMMAP(sections) ((sections) * 512ull)
/* The first megabyte of RAM (pfn 1..158; 159..255 are the EBDA/VGA/ROM hole). */
#define LOW_RESERVED 158
#define KERNEL_PAGES 8192
/*
 * init_mm's boot tables (4-level): for the direct map PGD + PUD, a PMD for
 * each GiB not wholly RAM, a PTE table for [0, 2M); for the fixmap a PUD,
 * a PMD and a PTE table; taken top-down from memblock, so from the highest
 * node. RAM ending below 1 GiB: PGD, PUD, PMD, PTE and the fixmap's three.
 */
#define DIRECT_MAP_TABLES(pmds) (2 + (pmds) + 1 + 3)

/* Node 0 of the default layout: DMA is the same on every machine with the default low holes. */
#define DMA_ZONE { 1, 4095, 3998, 3998 - LOW_RESERVED }

static void check_layout(const struct vmm_config *cfg, const struct node_expect *exp)
{
	vmm_machine *m;
	uint64_t total_managed = 0, total_free = 0;

	assert_int_equal(vmm_machine_create_early(cfg, &m), 0);
	/* the batches that the boot's page-table allocations refilled: back to the zones */
	vmm_drain_all_pages(m);
	for (unsigned nid = 0; nid < cfg->nodes; nid++) {
		struct vmm_node_info ni;

		assert_int_equal(vmm_node_info(m, nid, &ni), 0);
		printf("# node %u: start %" PRIu64 " spanned %" PRIu64 " present %" PRIu64 "\n", nid,
		       ni.node_start_pfn, ni.node_spanned_pages, ni.node_present_pages);
		assert_int_equal(ni.node_start_pfn, exp[nid].start);
		assert_int_equal(ni.node_spanned_pages, exp[nid].spanned);
		assert_int_equal(ni.node_present_pages, exp[nid].present);
		for (int z = 0; z < VMM_MAX_NR_ZONES; z++) {
			struct vmm_zone_info zi;
			const struct zone_expect *ze = &exp[nid].zone[z];

			assert_int_equal(vmm_zone_info(m, nid, (enum vmm_zone_type)z, &zi), 0);
			printf("#   %-7s start %" PRIu64 " spanned %" PRIu64 " present %" PRIu64
			       " managed %" PRIu64 "\n",
			       zi.name, zi.zone_start_pfn, zi.spanned_pages, zi.present_pages,
			       zi.managed_pages);
			assert_int_equal(zi.zone_start_pfn, ze->start);
			assert_int_equal(zi.spanned_pages, ze->spanned);
			assert_int_equal(zi.present_pages, ze->present);
			assert_int_equal(zi.managed_pages, ze->managed);
			assert_true(zi.free_pages <= zi.managed_pages);
			total_managed += zi.managed_pages;
			total_free += zi.free_pages;
		}
	}
	/* right after boot every managed page is free but the vmalloc area's tables */
	assert_int_equal(total_managed - total_free, m->init_mm.nr_tables - m->init_mm.boot_tables);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
	assert_null(m);
}

/* One node of 64 MiB: only DMA and DMA32. */
static void test_layout_1x64m(void **state)
{
	struct vmm_config cfg;
	/*
	 * RAM [4K,636K) and [1M,64M): pfn 1..16383, 97 absent. DMA32 [4096,16384)
	 * loses the kernel (8192), one section's map (512) and 44 node pages.
	 */
	const struct node_expect exp[] = {
		{ 1, 16383, 16286,
		  { DMA_ZONE, { 4096, 12288, 12288, 12288 - KERNEL_PAGES - MEMMAP(1) - NODE_BOOT_PAGES -
				      DIRECT_MAP_TABLES(1) },
		    { 0, 0, 0, 0 }, { 0, 0, 0, 0 } } },
	};

	(void)state;
	vmm_config_init(&cfg);
	cfg.nodes = 1;
	cfg.node_mem[0] = 64 * M;
	cfg.nr_holes = 2; /* the PCI hole at 3.5 GiB lies beyond this machine */
	check_layout(&cfg, exp);
}

/* The default machine: 2 x 2 GiB, PCI hole [3.5G, 4G) at the top of node 1. */
static void test_layout_2x2g(void **state)
{
	struct vmm_config cfg;
	/* node 0: 16 sections; node 1: RAM [2G, 3.5G) = 12 sections, the hole is past its end */
	const struct node_expect exp[] = {
		{ 1, 524287, 524190,
		  { DMA_ZONE,
		    { 4096, 520192, 520192, 520192 - KERNEL_PAGES - MEMMAP(16) - NODE_BOOT_PAGES },
		    { 0, 0, 0, 0 }, { 0, 0, 0, 0 } } },
		{ 524288, 393216, 393216,
		  { { 0, 0, 0, 0 },
		    { 524288, 393216, 393216,
		      393216 - MEMMAP(12) - NODE_BOOT_PAGES - DIRECT_MAP_TABLES(2) },
		    { 0, 0, 0, 0 }, { 0, 0, 0, 0 } } },
	};

	(void)state;
	vmm_config_init(&cfg);
	check_layout(&cfg, exp);
}

/*
 * 4 x 2 GiB with holes: the PCI hole ends node 1; node 2 has a 256 MiB hole
 * at 4.5 GiB (two whole sections: no memory map for them) and loses its
 * last 64 MiB to a hole that continues into node 3's first 64 MiB.
 */
static void test_layout_4_nodes_holes(void **state)
{
	struct vmm_config cfg;
	/*
	 * node 2: RAM [4G, 4.5G) + [4.75G, 5.9375G): pfn 1048576..1556480,
	 * spanned 507904, 65536 absent; sections 32-35 and 38-47 = 14.
	 * node 3: RAM [6G+64M, 8G): pfn 1589248..2097152; sections 48-63 = 16.
	 */
	const struct node_expect exp[] = {
		{ 1, 524287, 524190,
		  { DMA_ZONE,
		    { 4096, 520192, 520192, 520192 - KERNEL_PAGES - MEMMAP(16) - NODE_BOOT_PAGES },
		    { 0, 0, 0, 0 }, { 0, 0, 0, 0 } } },
		{ 524288, 393216, 393216,
		  { { 0, 0, 0, 0 }, { 524288, 393216, 393216, 393216 - MEMMAP(12) - NODE_BOOT_PAGES },
		    { 0, 0, 0, 0 }, { 0, 0, 0, 0 } } },
		{ 1048576, 507904, 442368,
		  { { 0, 0, 0, 0 }, { 0, 0, 0, 0 },
		    { 1048576, 507904, 442368, 442368 - MEMMAP(14) - NODE_BOOT_PAGES },
		    { 0, 0, 0, 0 } } },
		{ 1589248, 507904, 507904,
		  /* PMDs for the GiBs from 0, 3, 4, 5 and 6 G */
		  { { 0, 0, 0, 0 }, { 0, 0, 0, 0 },
		    { 1589248, 507904, 507904,
		      507904 - MEMMAP(16) - NODE_BOOT_PAGES - DIRECT_MAP_TABLES(5) },
		    { 0, 0, 0, 0 } } },
	};

	(void)state;
	vmm_config_init(&cfg);
	cfg.nodes = 4;
	cfg.nr_holes = 5;
	cfg.holes[3] = (struct vmm_phys_range){ 0x120000000ull, 0x130000000ull };
	cfg.holes[4] = (struct vmm_phys_range){ 0x17c000000ull, 0x184000000ull };
	check_layout(&cfg, exp);
}

/* 8 x 8 GiB: node 0 has DMA, DMA32 (minus the PCI hole) and Normal; the others only Normal. */
static void test_layout_8x8g(void **state)
{
	struct vmm_config cfg;
	struct node_expect exp[8];
	/*
	 * node 0: 64 sections less the 4 of the PCI hole = 60; pg_data_t and
	 * the map go to the top of the node, in Normal.
	 */
	const struct node_expect node0 = {
		1, 2097151, 2097151 - 97 - 131072,
		{ DMA_ZONE, { 4096, 1044480, 913408, 913408 - KERNEL_PAGES },
		  { 1048576, 1048576, 1048576, 1048576 - MEMMAP(60) - NODE_BOOT_PAGES },
		  { 0, 0, 0, 0 } }
	};

	(void)state;
	vmm_config_init(&cfg);
	cfg.nodes = 8;
	for (int i = 0; i < 8; i++)
		cfg.node_mem[i] = 8 * G;
	cfg.cpus = 16;
	exp[0] = node0;
	for (uint64_t n = 1; n < 8; n++) {
		exp[n] = (struct node_expect){
			n * 2097152, 2097152, 2097152,
			{ { 0, 0, 0, 0 }, { 0, 0, 0, 0 },
			  { n * 2097152, 2097152, 2097152, 2097152 - MEMMAP(64) - NODE_BOOT_PAGES },
			  { 0, 0, 0, 0 } }
		};
	}
	/* the top node holds the direct map's tables: PMDs for the GiBs from 0 and 3 G */
	exp[7].zone[VMM_ZONE_NORMAL].managed -= DIRECT_MAP_TABLES(2);
	check_layout(&cfg, exp);
}

/*
 * movablecore=2G on 2 x 4 GiB (legacy holes only). Worked through Linux's
 * find_zone_movable_pfns_for_nodes(): 2097054 RAM pages, kernelcore
 * 1572766 spread over two nodes. Node 0 lies wholly below 4 GiB (below
 * the movable-capable zone, Normal), so all of it counts as kernelcore;
 * node 1 first takes 262144 pages, the second pass another 262144, and
 * ZONE_MOVABLE starts at pfn 1572864 (already 1024-aligned): exactly
 * 2 GiB. The memory map lands at the top of node 1, in ZONE_MOVABLE, as
 * it does on Linux. init_mm's 4 tables (PGD, PUD, the PMD of GiB 0, the
 * PTE table of [0, 2M)) were taken before it, at the very top.
 */
static void test_layout_movablecore(void **state)
{
	struct vmm_config cfg;
	const struct node_expect exp[] = {
		{ 1, 1048575, 1048478,
		  { DMA_ZONE,
		    { 4096, 1044480, 1044480, 1044480 - KERNEL_PAGES - MEMMAP(32) - NODE_BOOT_PAGES },
		    { 0, 0, 0, 0 }, { 0, 0, 0, 0 } } },
		{ 1048576, 1048576, 1048576,
		  { [VMM_ZONE_NORMAL] = { 1048576, 524288, 524288, 524288 },
		    [VMM_ZONE_MOVABLE] = { 1572864, 524288, 524288,
					   524288 - MEMMAP(32) - NODE_BOOT_PAGES -
						   DIRECT_MAP_TABLES(1) } } },
	};
	vmm_machine *m;
	struct vmm_zone_info zi;

	(void)state;
	vmm_config_init(&cfg);
	cfg.node_mem[0] = cfg.node_mem[1] = 4 * G;
	cfg.nr_holes = 2;
	cfg.movablecore = 2 * G;
	check_layout(&cfg, exp);

	/* the movable zone's min watermark is managed/1024 clamped to [32, 128] */
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	assert_int_equal(vmm_zone_info(m, 1, VMM_ZONE_MOVABLE, &zi), 0);
	assert_int_equal(zi.watermark_min, 128);
	vmm_machine_destroy(&m);
}

/*
 * The default machine with the direct map capped at 896 MiB (pfn 229376), as
 * i386 caps it. DMA32 ends at the cap, Normal is empty, the RAM above forms
 * HighMem on both nodes. Every boot allocation must lie in the direct map
 * (memblock's current limit is the cap, as i386 sets it), so memblock takes
 * them top-down below the cap, in DMA32: init_mm's tables (the direct map's
 * 5, the fixmap's 3 and the pkmap area's PTE table), both nodes' pg_data_t
 * (43 pages each), their section usage maps (640 and 480 bytes, which share
 * one page) and both memory maps (16 + 12 sections). The HighMem zones keep
 * every page.
 */
static void test_layout_highmem(void **state)
{
	struct vmm_config cfg;
	const struct node_expect exp[] = {
		{ 1, 524287, 524190,
		  { DMA_ZONE,
		    { 4096, 225280, 225280,
		      225280 - KERNEL_PAGES - DIRECT_MAP_TABLES(1) - 1 - MEMMAP(16 + 12) -
			      2 * 43 - 1 },
		    [VMM_ZONE_HIGHMEM] = { 229376, 294912, 294912, 294912 } } },
		{ 524288, 393216, 393216,
		  { [VMM_ZONE_HIGHMEM] = { 524288, 393216, 393216, 393216 } } },
	};
	struct vmm_zone_info dma, dma32, high0, high1;
	uint64_t lowmem, pages_min;
	vmm_machine *m;

	(void)state;
	vmm_config_init(&cfg);
	cfg.direct_map_limit = 896 * M;
	check_layout(&cfg, exp);

	/*
	 * min_free_kbytes from lowmem alone (DMA + DMA32), shared by the lowmem
	 * zones; each HighMem zone gets managed/1024 clamped to [32, 128]; the
	 * lowmem zones keep 1/256 of the HighMem above them back from it.
	 */
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	assert_int_equal(vmm_zone_info(m, 0, VMM_ZONE_DMA, &dma), 0);
	assert_int_equal(vmm_zone_info(m, 0, VMM_ZONE_DMA32, &dma32), 0);
	assert_int_equal(vmm_zone_info(m, 0, VMM_ZONE_HIGHMEM, &high0), 0);
	assert_int_equal(vmm_zone_info(m, 1, VMM_ZONE_HIGHMEM, &high1), 0);
	assert_string_equal(high0.name, "HighMem");
	lowmem = dma.managed_pages + dma32.managed_pages;
	assert_int_equal(m->min_free_kbytes, vmm_int_sqrt(lowmem * 4 * 16));
	pages_min = m->min_free_kbytes / 4;
	assert_int_equal(dma.watermark_min, pages_min * dma.managed_pages / lowmem);
	assert_int_equal(dma32.watermark_min, pages_min * dma32.managed_pages / lowmem);
	assert_int_equal(high0.watermark_min, 128);
	assert_int_equal(high1.watermark_min, 128);
	assert_int_equal(dma32.lowmem_reserve[VMM_ZONE_HIGHMEM], high0.managed_pages / 256);
	assert_int_equal(dma32.lowmem_reserve[VMM_ZONE_MOVABLE], high0.managed_pages / 256);
	assert_int_equal(dma.lowmem_reserve[VMM_ZONE_HIGHMEM],
			 (dma32.managed_pages + high0.managed_pages) / 256);
	for (int j = 0; j < VMM_MAX_NR_ZONES; j++)
		assert_int_equal(high0.lowmem_reserve[j], 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* Without the cap HighMem is an empty zone with nothing set, and no sysctl names it. */
static void test_no_highmem_zone(void **state)
{
	vmm_machine *m = default_machine();
	struct vmm_zone_info zi;
	int64_t v;

	(void)state;
	for (unsigned nid = 0; nid < 2; nid++) {
		assert_int_equal(vmm_zone_info(m, nid, VMM_ZONE_HIGHMEM, &zi), 0);
		assert_string_equal(zi.name, "HighMem");
		assert_int_equal(zi.spanned_pages + zi.managed_pages + zi.watermark_min, 0);
		assert_int_equal(zi.watermark_high, 0);
	}
	assert_int_equal(vmm_sysctl_get(m, "vm.lowmem_reserve_ratio.HighMem", &v), -VMM_ENOENT);
	assert_int_equal(vmm_sysctl_get(m, "vm.lowmem_reserve_ratio.Movable", &v), 0);
	vmm_machine_destroy(&m);
}

/*
 * The watermarks of the 64 MiB machine, from Linux's formulas:
 * lowmem = 3840 + 3533 (3540 less init_mm's 7 boot tables) = 7373 pages =
 * 29492 kB; min_free_kbytes = int_sqrt(29492 * 16) = 686; pages_min = 171;
 * DMA min = 171*3840/7373 = 89, DMA32 min = 171*3533/7373 = 81; the step
 * is max(min/4, managed/1000): 22 and 20. Lowmem reserve of DMA against
 * DMA32 = 3533/256 = 13.
 */
static void test_watermarks_1x64m(void **state)
{
	struct vmm_config cfg;
	struct vmm_zone_info dma, dma32;
	vmm_machine *m;

	(void)state;
	vmm_config_init(&cfg);
	cfg.nodes = 1;
	cfg.node_mem[0] = 64 * M;
	cfg.nr_holes = 2;
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	assert_int_equal(m->min_free_kbytes, 686);
	assert_int_equal(vmm_zone_info(m, 0, VMM_ZONE_DMA, &dma), 0);
	assert_int_equal(vmm_zone_info(m, 0, VMM_ZONE_DMA32, &dma32), 0);
	assert_int_equal(dma.watermark_min, 89);
	assert_int_equal(dma.watermark_low, 111);
	assert_int_equal(dma.watermark_high, 133);
	assert_int_equal(dma.watermark_promo, 155);
	assert_int_equal(dma32.watermark_min, 81);
	assert_int_equal(dma32.watermark_low, 101);
	assert_int_equal(dma32.watermark_high, 121);
	assert_int_equal(dma32.watermark_promo, 141);
	assert_int_equal(dma.lowmem_reserve[VMM_ZONE_DMA32], 13);
	assert_int_equal(dma.lowmem_reserve[VMM_ZONE_NORMAL], 13);
	assert_int_equal(dma32.lowmem_reserve[VMM_ZONE_NORMAL], 0);
	vmm_machine_destroy(&m);
}

/*
 * Pageset and vmstat-threshold sizes, checked against the figures a real
 * 2-CPU Linux 6.18 host printed for zones of the same size: DMA with 3840
 * managed and low 71 has batch 1, high_min 35, high_max 240, threshold 4;
 * DMA32 with 772917 managed and low 14353 has batch 63, high_min 7176,
 * high_max 48307, threshold 24.
 */
static void test_pageset_sizes(void **state)
{
	struct vmm_config cfg;
	struct vmm_zone z = { 0 };
	struct vmm_pgdat pgdat = { 0 };
	vmm_machine *m;
	int batch;

	(void)state;
	vmm_config_init(&cfg);
	cfg.cpus = 2;
	cfg.nodes = 1;
	cfg.node_mem[0] = 4 * G;
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	pgdat.nr_cpus = 2;
	z.zone_pgdat = &pgdat;

	z.managed_pages = 3840;
	z.watermark[WMARK_LOW] = 71;
	batch = VMM_MAX(1, vmm_zone_batchsize(&z));
	assert_int_equal(batch, 1);
	assert_int_equal(vmm_zone_highsize(m, &z, batch, 0), 35);
	assert_int_equal(vmm_zone_highsize(m, &z, batch, 8), 240);
	assert_int_equal(vmm_calculate_normal_threshold(m, &z), 4);

	z.managed_pages = 772917;
	z.watermark[WMARK_LOW] = 14353;
	batch = VMM_MAX(1, vmm_zone_batchsize(&z));
	assert_int_equal(batch, 63);
	assert_int_equal(vmm_zone_highsize(m, &z, batch, 0), 7176);
	assert_int_equal(vmm_zone_highsize(m, &z, batch, 8), 48307);
	assert_int_equal(vmm_calculate_normal_threshold(m, &z), 24);
	vmm_machine_destroy(&m);
}

/* Every pfn's zone and node, as the page accessors report them, match the zone spans. */
static void test_pfn_zone_lookup(void **state)
{
	struct vmm_config cfg;
	vmm_machine *m;

	(void)state;
	vmm_config_init(&cfg);
	cfg.nodes = 2;
	cfg.node_mem[0] = cfg.node_mem[1] = 4 * G;
	cfg.nr_holes = 2;
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	for (unsigned nid = 0; nid < 2; nid++) {
		for (int zid = 0; zid < VMM_MAX_NR_ZONES; zid++) {
			struct vmm_zone_info zi;

			assert_int_equal(vmm_zone_info(m, nid, (enum vmm_zone_type)zid, &zi), 0);
			for (uint64_t pfn = zi.zone_start_pfn;
			     pfn < zi.zone_start_pfn + zi.spanned_pages; pfn += 4093) {
				struct vmm_page *pg = vmm_pfn_to_page(m, pfn);

				assert_non_null(pg);
				assert_int_equal(vmm_page_to_pfn(m, pg), pfn);
				assert_int_equal(vmm_page_to_nid(m, pg), nid);
				assert_int_equal(vmm_page_zonenum(m, pg), zid);
			}
		}
	}
	assert_int_equal(vmm_zone_info(m, 2, VMM_ZONE_DMA, &(struct vmm_zone_info){ 0 }),
			 -VMM_ENOENT);
	assert_int_equal(vmm_zone_info(m, 0, VMM_MAX_NR_ZONES, &(struct vmm_zone_info){ 0 }),
			 -VMM_ENOENT);
	assert_int_equal(vmm_zone_info(m, 0, VMM_ZONE_DMA, NULL), -VMM_EINVAL);
	assert_int_equal(vmm_node_info(m, 2, &(struct vmm_node_info){ 0 }), -VMM_ENOENT);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_1x64m),
		cmocka_unit_test(test_layout_2x2g),
		cmocka_unit_test(test_layout_4_nodes_holes),
		cmocka_unit_test(test_layout_8x8g),
		cmocka_unit_test(test_layout_movablecore),
		cmocka_unit_test(test_layout_highmem),
		cmocka_unit_test(test_no_highmem_zone),
		cmocka_unit_test(test_watermarks_1x64m),
		cmocka_unit_test(test_pageset_sizes),
		cmocka_unit_test(test_pfn_zone_lookup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
