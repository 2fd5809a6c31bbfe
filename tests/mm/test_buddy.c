/* SPDX-License-Identifier: MIT */
/* The buddy free lists: the boot hand-off, splitting, merging, and the checker. */
#include "test_util.h"

#include <string.h>

#include "lib/prng.h"
#include "machine.h"
#include "mm/buddy.h"
#include "mm/zone.h"

/*
 * (The machine boots without slab caches here, so the hand-off is seen as
 * memblock left it.)
 * memblock_free_all frees each free range in the largest aligned blocks.
 * DMA: [1M, 16M) minus nothing: the block at pfn 256 is order 8 (its buddy
 * [0, 256) is reserved), 512 is order 9, then three order-10 blocks; a real
 * x86-64 Linux shows the same line. Node 0 DMA32: [48M, map start) gives
 * 491 order-10 blocks and one order 9; the space between the map and
 * pg_data_t (pfn 523776..524244) splits as 256+128+64+16+4 pages. On node 1
 * the top 8 pages hold init_mm's boot tables, which moves pg_data_t down by 8:
 * its space (pfn 916992..917451) splits as 256+128+64+8+4 pages.
 */
static void test_boot_buddyinfo(void **state)
{
	vmm_machine *m = early_machine();
	char *s = dump_to_string(m, VMM_DUMP_BUDDYINFO);

	(void)state;
	assert_string_equal(
		s,
		"Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 \n"
		"Node 0, zone    DMA32      0      0      1      0      1      0      1      1      1      1    491 \n"
		"Node 1, zone    DMA32      0      0      1      1      0      0      1      1      1      1    377 \n");
	free(s);
	/* the order-8 block at pfn 256 lies in pageblock 0, which stays Unmovable as on Linux */
	assert_int_equal(m->node_data[0].node_zones[VMM_ZONE_DMA].free_area[8].nr_free_type[MIGRATE_UNMOVABLE], 1);
	assert_int_equal(vmm_page_buddy_order(vmm_pfn_to_page(m, 256)), 8);
	vmm_machine_destroy(&m);
}

/* Taking one page splits an order-10 block into one block of each lower order; freeing it merges all back. */
static void test_split_and_merge(void **state)
{
	vmm_machine *m = early_machine();
	struct vmm_zone *z = &m->node_data[1].node_zones[VMM_ZONE_DMA32];
	char *before = dump_to_string(m, VMM_DUMP_BUDDYINFO), *after;
	uint64_t pfn;
	struct vmm_page *pg;

	(void)state;
	/* one page splits the order-2 block at the end of the node's free memory */
	pfn = vmm_rmqueue_smallest(m, z, 0, MIGRATE_MOVABLE);
	assert_int_equal(pfn, 917448);
	assert_int_equal(z->free_area[0].nr_free, 1);
	assert_int_equal(z->free_area[1].nr_free, 1);
	assert_int_equal(z->free_area[2].nr_free, 0);
	/* the next page is the order-0 buddy the split left */
	pfn = vmm_rmqueue_smallest(m, z, 0, MIGRATE_MOVABLE);
	assert_int_equal(pfn, 917449);
	assert_int_equal(z->free_area[0].nr_free, 0);
	assert_int_equal(z->free_area[1].nr_free, 1);
	vmm_free_one_page(m, z, 917448, 0, MIGRATE_MOVABLE, FPI_NONE);
	assert_int_equal(z->vm_stat[NR_FREE_PAGES], 387020 - 1);
	/* the page is in use: give it a reference so the checker accounts for it */
	pg = vmm_pfn_to_page(m, pfn);
	pg->refcount = 1;
	assert_machine_healthy(m);
	/* without the reference it would be lost, and the checker says so */
	pg->refcount = 0;
	assert_int_equal(vmm_machine_check(m, stdout), 1);

	vmm_free_one_page(m, z, pfn, 0, MIGRATE_MOVABLE, FPI_NONE);
	after = dump_to_string(m, VMM_DUMP_BUDDYINFO);
	assert_string_equal(before, after);
	assert_machine_healthy(m);
	free(before);
	free(after);
	vmm_machine_destroy(&m);
}

/*
 * Seeded stress: take blocks of random orders until a target, free them in
 * a random order; every split must merge back, leaving buddyinfo exactly as
 * boot left it.
 */
static void test_random_alloc_free_restores_buddyinfo(void **state)
{
	vmm_machine *m = early_machine();
	struct vmm_prng rng;
	char *before = dump_to_string(m, VMM_DUMP_BUDDYINFO), *after;
	struct { uint64_t pfn; unsigned order; struct vmm_zone *z; } *blocks;
	size_t n = 0, cap = 20000;

	(void)state;
	vmm_prng_seed(&rng, test_seed(__func__, 20261122));
	blocks = calloc(cap, sizeof(*blocks));
	while (n < cap) {
		unsigned order = (unsigned)vmm_prng_below(&rng, 11);
		unsigned nid = (unsigned)vmm_prng_below(&rng, 2);
		struct vmm_zone *z = &m->node_data[nid].node_zones[VMM_ZONE_DMA32];
		uint64_t pfn = vmm_rmqueue_smallest(m, z, order, MIGRATE_MOVABLE);

		if (pfn == UINT64_MAX)
			break;
		/* allocated: a reference, and the order recorded in the head */
		vmm_pfn_to_page(m, pfn)->refcount = 1;
		vmm_pfn_to_page(m, pfn)->compound = order;
		blocks[n].pfn = pfn;
		blocks[n].order = order;
		blocks[n].z = z;
		n++;
		if (n % 4096 == 0)
			assert_machine_healthy(m);
	}
	assert_true(n > 1000);
	for (size_t i = n; i > 1; i--) { /* Fisher-Yates */
		size_t j = vmm_prng_below(&rng, i);
		__typeof__(blocks[0]) t = blocks[i - 1];

		blocks[i - 1] = blocks[j];
		blocks[j] = t;
	}
	for (size_t i = 0; i < n; i++) {
		vmm_pfn_to_page(m, blocks[i].pfn)->refcount = 0;
		vmm_pfn_to_page(m, blocks[i].pfn)->compound = 0;
		vmm_free_one_page(m, blocks[i].z, blocks[i].pfn, blocks[i].order, MIGRATE_MOVABLE,
				  FPI_NONE);
		if (i % 4096 == 0)
			assert_machine_healthy(m);
	}
	after = dump_to_string(m, VMM_DUMP_BUDDYINFO);
	assert_string_equal(before, after);
	assert_machine_healthy(m);
	free(blocks);
	free(before);
	free(after);
	vmm_machine_destroy(&m);
}

/* A block of a pageblock or more merging with a buddy of another ordinary type converts the buddy. */
static void test_merge_converts_pageblock_type(void **state)
{
	vmm_machine *m = early_machine();
	struct vmm_zone *z = &m->node_data[1].node_zones[VMM_ZONE_DMA32];
	uint64_t pfn = vmm_rmqueue_smallest(m, z, 10, MIGRATE_MOVABLE);

	(void)state;
	/* hand back the second half as Unmovable, then the first half as Movable */
	vmm_set_pageblock_migratetype(m, pfn + 512, MIGRATE_UNMOVABLE);
	vmm_free_one_page(m, z, pfn + 512, 9, MIGRATE_UNMOVABLE, FPI_NONE);
	assert_int_equal(z->free_area[9].nr_free_type[MIGRATE_UNMOVABLE], 1);
	vmm_free_one_page(m, z, pfn, 9, MIGRATE_MOVABLE, FPI_NONE);
	assert_int_equal(z->free_area[9].nr_free_type[MIGRATE_UNMOVABLE], 0);
	assert_int_equal(vmm_get_pfnblock_migratetype(m, pfn + 512), MIGRATE_MOVABLE);
	assert_int_equal(vmm_page_buddy_order(vmm_pfn_to_page(m, pfn)), 10);
	assert_machine_healthy(m);
	/* an isolated buddy never merges */
	pfn = vmm_rmqueue_smallest(m, z, 10, MIGRATE_MOVABLE);
	vmm_set_pageblock_migratetype(m, pfn + 512, MIGRATE_ISOLATE);
	vmm_free_one_page(m, z, pfn + 512, 9, MIGRATE_ISOLATE, FPI_NONE);
	vmm_free_one_page(m, z, pfn, 9, MIGRATE_MOVABLE, FPI_NONE);
	assert_int_equal(vmm_page_buddy_order(vmm_pfn_to_page(m, pfn)), 9);
	assert_int_equal(vmm_page_buddy_order(vmm_pfn_to_page(m, pfn + 512)), 9);
	/* isolated pages are not counted free (387020: node 1's free pages after boot) */
	assert_int_equal(z->vm_stat[NR_FREE_PAGES], 387020 - 512);
	vmm_machine_destroy(&m);
}

/* The checker finds corrupted counts, lists and free-block contents. */
static void test_check_finds_corruption(void **state)
{
	vmm_machine *m = early_machine();
	struct vmm_zone *z = &m->node_data[0].node_zones[VMM_ZONE_DMA32];
	struct vmm_page *tail;
	struct test_log tl = { 0 };

	(void)state;
	assert_machine_healthy(m);
	z->free_area[3].nr_free++;
	z->free_area[3].nr_free_type[MIGRATE_MOVABLE]++;
	/* the type count, the order count, and more free than managed */
	assert_int_equal(vmm_machine_check(m, stdout), 3);
	z->free_area[3].nr_free--;
	z->free_area[3].nr_free_type[MIGRATE_MOVABLE]--;
	assert_machine_healthy(m);

	tail = vmm_pfn_to_page(m, 12288 + 5); /* inside a free order-10 block */
	tail->flags = 1ull << VMM_PG_dirty;
	assert_int_equal(vmm_machine_check(m, stdout), 1);
	/* with no stream, the report goes to the log hook as internal trouble */
	m->log.fn = test_log_hook;
	m->log.data = &tl;
	assert_int_equal(vmm_machine_check(m, NULL), 1);
	assert_int_equal(tl.messages, 1);
	assert_int_equal(tl.last_kind, VMM_LOG_KIND_INTERNAL);
	assert_non_null(strstr(tl.last, "dirty"));
	tail->flags = 0;
	assert_machine_healthy(m);

	/* the upper half of the free order-10 block at 12288 listed as a block of its own */
	tail = vmm_pfn_to_page(m, 12288 + 512);
	vmm_add_to_free_list(z, tail, 9, MIGRATE_MOVABLE, false);
	/*
	 * the overlap, a descriptor inside the order-10 block that is not
	 * blank, and 512 pages counted free twice: more free than managed in
	 * the zone and in the machine
	 */
	assert_int_equal(vmm_machine_check(m, stdout), 4);
	vmm_del_page_from_free_list(z, tail, 9, MIGRATE_MOVABLE);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boot_buddyinfo),
		cmocka_unit_test(test_split_and_merge),
		cmocka_unit_test(test_random_alloc_free_restores_buddyinfo),
		cmocka_unit_test(test_merge_converts_pageblock_type),
		cmocka_unit_test(test_check_finds_corruption),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
