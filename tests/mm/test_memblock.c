/* SPDX-License-Identifier: MIT */
/* memblock: region lists, merging, splitting, allocation direction, node affinity. */
#include "test_util.h"

#include <string.h>

#include "lib/hostmem.h"
#include "machine.h"
#include "mm/memblock.h"

#define M (1ull << 20)

struct fixture {
	struct vmm_hostmem hm;
	struct vmm_memblock mb;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	vmm_hostmem_init(&f->hm, NULL);
	assert_int_equal(vmm_memblock_init(&f->mb, &f->hm), 0);
	/* two nodes: [0, 64M) node 0 with a hole [1M, 2M), [64M, 128M) node 1 */
	assert_int_equal(vmm_memblock_add_node(&f->mb, 0x1000, M - 0x1000, 0), 0);
	assert_int_equal(vmm_memblock_add_node(&f->mb, 2 * M, 62 * M, 0), 0);
	assert_int_equal(vmm_memblock_add_node(&f->mb, 64 * M, 64 * M, 1), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vmm_memblock_destroy(&f->mb);
	assert_int_equal(f->hm.heap_bytes, 0);
	free(f);
	return 0;
}

static void test_regions_sorted_and_merged(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(f->mb.memory.cnt, 3);
	/* adding an overlapping range of the same node merges; existing parts keep their node */
	assert_int_equal(vmm_memblock_add_node(&f->mb, 60 * M, 8 * M, 0), 0);
	assert_int_equal(f->mb.memory.cnt, 3);
	assert_int_equal(f->mb.memory.regions[1].base, 2 * M);
	assert_int_equal(f->mb.memory.regions[1].size, 62 * M);
	assert_int_equal(f->mb.memory.regions[2].nid, 1);
	assert_int_equal(vmm_memblock_phys_mem_size(&f->mb), 127 * M - 0x1000);
	/* filling the hole joins node 0's two regions */
	assert_int_equal(vmm_memblock_add_node(&f->mb, M, M, 0), 0);
	assert_int_equal(f->mb.memory.cnt, 2);
	assert_int_equal(f->mb.memory.regions[0].base, 0x1000);
	assert_int_equal(f->mb.memory.regions[0].size, 64 * M - 0x1000);
	assert_int_equal(vmm_memblock_check(&f->mb, stdout), 0);
}

static void test_reserve_merge_and_free(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmm_memblock_reserve(&f->mb, 0, M), 0);
	assert_int_equal(vmm_memblock_reserve(&f->mb, 4 * M, M), 0);
	assert_int_equal(vmm_memblock_reserve(&f->mb, 5 * M, M), 0); /* adjacent: merges */
	assert_int_equal(vmm_memblock_reserve(&f->mb, 4 * M + 4096, 8192), 0); /* inside */
	assert_int_equal(f->mb.reserved.cnt, 2);
	assert_int_equal(vmm_memblock_reserved_size(&f->mb), 3 * M);
	assert_true(vmm_memblock_is_reserved(&f->mb, 5 * M + 17));
	assert_false(vmm_memblock_is_reserved(&f->mb, 6 * M));
	/* freeing the middle splits the claim in two */
	assert_int_equal(vmm_memblock_phys_free(&f->mb, 4 * M + M / 2, M / 4), 0);
	assert_int_equal(f->mb.reserved.cnt, 3);
	assert_int_equal(vmm_memblock_reserved_size(&f->mb), 3 * M - M / 4);
	assert_false(vmm_memblock_is_reserved(&f->mb, 4 * M + M / 2));
	assert_int_equal(vmm_memblock_check(&f->mb, stdout), 0);
}

static void test_alloc_top_down_on_node(void **state)
{
	struct fixture *f = *state;
	vmm_paddr_t a, b, c;
	int err;

	a = vmm_memblock_alloc_try_nid(&f->mb, 0x2b000, 64, 0, &err);
	assert_int_equal(err, 0);
	assert_int_equal(a, 64 * M - 0x2b000); /* the top of node 0 */
	b = vmm_memblock_alloc_try_nid(&f->mb, 40, 64, 0, &err);
	assert_int_equal(b, ALIGN_DOWN(a - 40, 64)); /* right below */
	c = vmm_memblock_alloc_try_nid(&f->mb, 4096, 4096, 1, &err);
	assert_int_equal(c, 128 * M - 4096); /* the top of node 1 */
	assert_true(vmm_memblock_is_reserved(&f->mb, a));
	assert_true(vmm_memblock_is_reserved(&f->mb, c));
	assert_int_equal(f->mb.reserved.regions[0].nid, 0);
	assert_int_equal(vmm_memblock_check(&f->mb, stdout), 0);
}

/* memblock.current_limit (i386 sets it to the end of lowmem): nothing is handed out above it. */
static void test_alloc_current_limit(void **state)
{
	struct fixture *f = *state;
	vmm_paddr_t a, b;
	int err;

	f->mb.current_limit = 32 * M;
	a = vmm_memblock_alloc_try_nid(&f->mb, 0x2b000, 64, 1, &err);
	assert_int_equal(err, 0);
	assert_int_equal(a, 32 * M - 0x2b000); /* node 1 lies above: node 0's top below the limit */
	b = vmm_memblock_alloc_range_nid(&f->mb, 4096, 4096, 40 * M, VMM_MEMBLOCK_ALLOC_ANYWHERE,
					 0, true, &err);
	assert_int_equal(b, 0);
	assert_int_equal(err, -VMM_ENOMEM);
	f->mb.current_limit = VMM_MEMBLOCK_ALLOC_ANYWHERE;
	b = vmm_memblock_alloc_try_nid(&f->mb, 4096, 4096, 1, &err);
	assert_int_equal(b, 128 * M - 4096);
	assert_int_equal(vmm_memblock_check(&f->mb, stdout), 0);
}

static void test_alloc_bottom_up_and_ranges(void **state)
{
	struct fixture *f = *state;
	vmm_paddr_t a;
	int err;

	f->mb.bottom_up = true;
	a = vmm_memblock_alloc_range_nid(&f->mb, 8192, 4096, 0, VMM_MEMBLOCK_ALLOC_ANYWHERE,
					 VMM_MEMBLOCK_ANY_NODE, false, &err);
	assert_int_equal(a, 0x1000); /* lowest; address 0 is never handed out */
	a = vmm_memblock_alloc_range_nid(&f->mb, 2 * M, 2 * M, 16 * M, 32 * M,
					 VMM_MEMBLOCK_ANY_NODE, false, &err);
	assert_int_equal(a, 16 * M);
	/* a request that fits nowhere in the window fails and changes nothing */
	a = vmm_memblock_alloc_range_nid(&f->mb, 3 * M, 4096, M, 2 * M, VMM_MEMBLOCK_ANY_NODE,
					 false, &err);
	assert_int_equal(a, 0);
	assert_int_equal(err, -VMM_ENOMEM);
	assert_int_equal(f->mb.reserved.cnt, 2);
}

static void test_alloc_node_fallback(void **state)
{
	struct fixture *f = *state;
	vmm_paddr_t a;
	int err;

	/* node 1 has 64 MiB: a 100 MiB request does not fit there */
	a = vmm_memblock_alloc_range_nid(&f->mb, 100 * M, 4096, 0, VMM_MEMBLOCK_ALLOC_ANYWHERE, 1,
					 true, &err);
	assert_int_equal(a, 0);
	assert_int_equal(err, -VMM_ENOMEM);
	/* 48 MiB does not fit on node 1 once 20 MiB are taken; without exact_nid node 0 serves */
	assert_int_not_equal(vmm_memblock_alloc_try_nid(&f->mb, 20 * M, 4096, 1, &err), 0);
	a = vmm_memblock_alloc_try_nid(&f->mb, 48 * M, 4096, 1, &err);
	assert_int_equal(err, 0);
	assert_true(a < 64 * M);
}

static void test_free_range_iteration_and_absent(void **state)
{
	struct fixture *f = *state;
	vmm_paddr_t s, e;
	unsigned nid;
	uint64_t idx = 0, count = 0, bytes = 0;

	assert_int_equal(vmm_memblock_reserve(&f->mb, 0, M), 0);
	assert_int_equal(vmm_memblock_reserve(&f->mb, 63 * M, 2 * M), 0); /* crosses the node boundary */
	while (vmm_memblock_next_free(&f->mb, VMM_MEMBLOCK_ANY_NODE, &idx, &s, &e, &nid)) {
		assert_true(s < e);
		assert_false(vmm_memblock_is_reserved(&f->mb, s));
		count++;
		bytes += e - s;
	}
	assert_int_equal(count, 2); /* [2M, 63M) and [65M, 128M) */
	assert_int_equal(bytes, 61 * M + 63 * M);
	idx = 0;
	assert_true(vmm_memblock_next_free(&f->mb, 1, &idx, &s, &e, &nid));
	assert_int_equal(s, 65 * M);
	assert_int_equal(nid, 1);
	/* absent pages: pfn 0 and the 1 MiB hole */
	assert_int_equal(vmm_memblock_absent_pages(&f->mb, 0, 32768), 1 + 256);
	{
		uint64_t sp, ep;

		vmm_memblock_pfn_range_for_nid(&f->mb, 0, &sp, &ep);
		assert_int_equal(sp, 1);
		assert_int_equal(ep, 16384);
	}
}

/* The region arrays grow past their initial 128 entries, and a host failure while growing changes nothing. */
static void test_growth_and_host_failure(void **state)
{
	struct fixture *f = *state;
	unsigned before;

	for (unsigned i = 0; i < 200; i++)
		assert_int_equal(vmm_memblock_reserve(&f->mb, 2 * M + i * 8192ull, 4096), 0);
	assert_int_equal(f->mb.reserved.cnt, 200);
	assert_true(f->mb.reserved.max >= 200);
	before = f->mb.reserved.cnt;
	f->hm.inject.fail_nth = f->hm.calls + 1;
	while (f->mb.reserved.cnt < f->mb.reserved.max)
		assert_int_equal(vmm_memblock_reserve(&f->mb, 2 * M + before++ * 8192ull, 4096), 0);
	/* the next one needs the array to grow, and the host says no */
	assert_int_equal(vmm_memblock_reserve(&f->mb, 40 * M, 4096), -VMM_ENOMEM);
	assert_false(vmm_memblock_is_reserved(&f->mb, 40 * M));
	assert_int_equal(vmm_memblock_check(&f->mb, stdout), 0);
}

/* A machine's memblock dump lists every region, memory with its node. */
static void test_machine_memblock_dump(void **state)
{
	struct vmm_config cfg;
	vmm_machine *m;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;

	(void)state;
	vmm_config_init(&cfg);
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	out = open_memstream(&buf, &len);
	assert_int_equal(vmm_dump(m, VMM_DUMP_MEMBLOCK, out), 0);
	fclose(out);
	assert_non_null(strstr(buf, "memory:\n   0: 0x0000000000001000..0x000000000009efff    0 NONE\n"));
	assert_non_null(strstr(buf, "   2: 0x0000000080000000..0x00000000dfffffff    1 NONE\n"));
	/* the first megabyte and the kernel image, then node data at the top of node 0 */
	assert_non_null(strstr(buf, "reserved:\n   0: 0x0000000000000000..0x00000000000fffff    x NONE\n"));
	assert_non_null(strstr(buf, "0x0000000001000000..0x0000000002ffffff"));
	assert_non_null(strstr(buf, "0x000000007ffd4d80..0x000000007fffffff    0 NONE"));
	/* init_mem_mapping came first: init_mm's 5 direct-map and 3 fixmap tables at the top */
	assert_non_null(strstr(buf, "0x00000000dfff8000..0x00000000dfffffff    x NONE"));
	/* node 1: 12 sections of map below its top, the usage maps apart from its pg_data_t */
	assert_non_null(strstr(buf, "0x00000000de600000..0x00000000dfdfffff    1 NONE"));
	assert_non_null(strstr(buf, "0x00000000dffcce00..0x00000000dffccfdf    1 NONE"));
	free(buf);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_regions_sorted_and_merged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_merge_and_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_top_down_on_node, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_current_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_bottom_up_and_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_node_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_range_iteration_and_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_growth_and_host_failure, setup, teardown),
		cmocka_unit_test(test_machine_memblock_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
