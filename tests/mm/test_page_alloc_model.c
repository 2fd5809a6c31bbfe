/* SPDX-License-Identifier: MIT */
/*
 * Model-based random test of the page allocator (src/mm/page_alloc.c):
 * a reference model beside the real allocator, seeded random operations
 * (allocations of every order and GFP flavour, frees, get/put, bulk, CPU
 * switches, drains, pcp toggles, sysctl and policy changes), and after
 * every step vmm_machine_check() plus the model's own invariants:
 *
 *  - every page handed out is aligned to its order, in a zone and on a node
 *    the request allowed, and overlaps no page the model holds;
 *  - pages are conserved: free on the buddy lists + on per-CPU lists +
 *    held by the model = managed pages;
 *  - a request that ignores watermarks (__GFP_MEMALLOC) fails only when no
 *    allowed zone has a free block of its order.
 *
 * VMM_TEST_SEED repeats a run; VMM_TEST_OPS changes its length.
 */
#include "test_util.h"

#include <string.h>

#include "lib/compiler.h"
#include "machine.h"
#include "mm/buddy.h"
#include "mm/page_alloc.h"
#include "mm/sparse.h"
#include "mm/zone.h"

#define M (1ull << 20)

struct block {
	uint64_t pfn;
	unsigned order;
	int refs;
};

struct model {
	vmm_machine *m;
	struct vmm_prng r;
	struct block *blocks;
	uint64_t nr, cap;
	uint8_t *held;		/* per pfn */
	uint64_t held_pages;
	uint64_t managed;
	uint64_t allocs, fails, frees;
};

static uint64_t rnd(struct model *md, uint64_t n)
{
	return vmm_prng_next(&md->r) % n;
}

static uint64_t pcp_pages(vmm_machine *m)
{
	struct vmm_zone *z;
	uint64_t n = 0;

	for_each_zone(m, z)
		for (unsigned c = 0; c < m->nr_cpus; c++)
			n += (uint64_t)z->pcp[c].count + (uint64_t)z->pcp[c].hot_cold[0].count +
			     (uint64_t)z->pcp[c].hot_cold[1].count;
	return n;
}

static uint64_t buddy_free(vmm_machine *m)
{
	struct vmm_zone *z;
	uint64_t n = 0;

	for_each_zone(m, z)
		n += vmm_zone_free_list_pages(z);
	return n;
}

static void check_invariants(struct model *md)
{
	vmm_machine *m = md->m;

	assert_int_equal(vmm_machine_check(m, stdout), 0);
	assert_int_equal(buddy_free(m) + pcp_pages(m) + md->held_pages, md->managed);
}

/* Is there a free block of at least @order in an allowed zone? */
static bool free_block_exists(vmm_machine *m, unsigned order, int highest_zone,
			      vmm_nodemask_t nodes)
{
	struct vmm_zone *z;

	for_each_zone(m, z) {
		if ((int)z->idx > highest_zone || !((nodes >> z->zone_pgdat->node_id) & 1))
			continue;
		for (unsigned o = order; o < NR_PAGE_ORDERS; o++)
			for (int t = 0; t < MIGRATE_TYPES; t++)
				if (t != MIGRATE_ISOLATE && t != MIGRATE_HIGHATOMIC &&
				    z->free_area[o].nr_free_type[t])
					return true;
	}
	return false;
}

static void take(struct model *md, struct vmm_page *p, unsigned order, vmm_gfp_t gfp,
		 vmm_nodemask_t allowed)
{
	vmm_machine *m = md->m;
	uint64_t pfn = vmm_page_to_pfn(m, p);

	assert_true(IS_ALIGNED(pfn, 1ull << order));
	assert_true((int)vmm_page_zonenum(m, p) <= vmm_gfp_zone(m->gfp_zone_table, gfp));
	assert_true((allowed >> vmm_page_to_nid(m, p)) & 1);
	assert_int_equal(vmm_page_count(p), 1);
	assert_int_equal(!!(vmm_page_flags(p) & (1ull << VMM_PG_head)),
			 order > 0 && (gfp & VMM_GFP_COMP));
	for (uint64_t i = 0; i < (1ull << order); i++) {
		assert_false(md->held[pfn + i]);
		md->held[pfn + i] = 1;
	}
	if (md->nr == md->cap) {
		md->cap = md->cap ? 2 * md->cap : 1024;
		md->blocks = realloc(md->blocks, md->cap * sizeof(*md->blocks));
		assert_non_null(md->blocks);
	}
	md->blocks[md->nr++] = (struct block){ pfn, order, 1 };
	md->held_pages += 1ull << order;
	md->allocs++;
}

static void drop(struct model *md, uint64_t i)
{
	struct block b = md->blocks[i];
	struct vmm_page *p = vmm_pfn_to_page(md->m, b.pfn);

	if (b.refs > 1 && rnd(md, 2)) {
		vmm_put_page(md->m, p);
		md->blocks[i].refs--;
		return;
	}
	while (md->blocks[i].refs-- > 1)
		vmm_put_page(md->m, p);
	vmm_free_pages(md->m, p, b.order);
	assert_int_equal(vmm_page_count(p), 0);
	for (uint64_t k = 0; k < (1ull << b.order); k++)
		md->held[b.pfn + k] = 0;
	md->held_pages -= 1ull << b.order;
	md->blocks[i] = md->blocks[--md->nr];
	md->frees++;
}

static const vmm_gfp_t gfps[] = {
	VMM_GFP_KERNEL,
	VMM_GFP_KERNEL | VMM_GFP_NORETRY,
	VMM_GFP_ATOMIC,
	VMM_GFP_NOWAIT,
	VMM_GFP_HIGHUSER_MOVABLE,
	VMM_GFP_USER,
	VMM_GFP_KERNEL | VMM_GFP_RECLAIMABLE,
	VMM_GFP_DMA | VMM_GFP_KERNEL,
	VMM_GFP_DMA32 | VMM_GFP_KERNEL,
	VMM_GFP_KERNEL | VMM_GFP_COMP,
	VMM_GFP_KERNEL | VMM_GFP_MEMALLOC,
	VMM_GFP_HIGHUSER_MOVABLE | VMM_GFP_MEMALLOC,
	VMM_GFP_KERNEL | VMM_GFP_THISNODE,
	VMM_GFP_KERNEL | VMM_GFP_RETRY_MAYFAIL,
	VMM_GFP_KERNEL | VMM_GFP_ZERO,
};

static unsigned pick_order(struct model *md)
{
	uint64_t x = rnd(md, 100);

	if (x < 60)
		return 0;
	if (x < 85)
		return (unsigned)(1 + rnd(md, 3));
	if (x < 95)
		return (unsigned)(4 + rnd(md, 5));
	return (unsigned)(9 + rnd(md, 2));
}

static void op_alloc(struct model *md)
{
	vmm_machine *m = md->m;
	vmm_gfp_t gfp = gfps[rnd(md, sizeof(gfps) / sizeof(gfps[0]))] | VMM_GFP_NOWARN;
	unsigned order = pick_order(md);
	vmm_nodemask_t allowed = (1ull << m->nr_nodes) - 1;
	int nid = -1;
	struct vmm_page *p;

	if (order > 0 && (gfp & VMM_GFP_ZERO))
		order = 0; /* keep host memory touched small */
	/*
	 * Where the request may land. __GFP_MEMALLOC and non-blocking
	 * __GFP_HIGH requests drop the nodemask and the cpuset in the slow
	 * path; others stay inside a BIND policy's nodes, and inside the
	 * cpuset when the request or the cpuset is hardwalled.
	 */
	{
		bool escapes = (gfp & VMM_GFP_MEMALLOC) ||
			       ((gfp & VMM_GFP_HIGH) && !(gfp & VMM_GFP_DIRECT_RECLAIM));

		if (gfp & VMM_GFP_THISNODE) {
			nid = (int)rnd(md, m->nr_nodes);
			allowed = 1ull << nid;
		} else if (m->mpol_mode == VMM_MPOL_BIND && !escapes) {
			allowed &= m->mpol_nodes;
		}
		if (m->cpuset_mems && !escapes &&
		    ((gfp & VMM_GFP_HARDWALL) ||
		     (m->cpuset_flags & (VMM_CPUSET_MEM_HARDWALL | VMM_CPUSET_MEM_EXCLUSIVE))))
			allowed &= m->cpuset_mems;
	}

	p = nid >= 0 ? vmm_alloc_pages_node(m, nid, gfp, order) : vmm_alloc_pages(m, gfp, order);
	if (p) {
		take(md, p, order, gfp, allowed);
		if (!rnd(md, 20)) {
			vmm_get_page(m, p);
			md->blocks[md->nr - 1].refs++;
		}
		return;
	}
	md->fails++;
	/* ignoring watermarks, it can only fail for want of a block */
	if (gfp & VMM_GFP_MEMALLOC)
		assert_false(free_block_exists(m, order, vmm_gfp_zone(m->gfp_zone_table, gfp), allowed));
}

static void op_bulk(struct model *md)
{
	struct vmm_page *arr[32] = { 0 };
	unsigned long n = 1 + rnd(md, 32), got;

	got = vmm_alloc_pages_bulk(md->m, VMM_GFP_KERNEL | VMM_GFP_NOWARN, -1, NULL, n, arr);
	assert_true(got <= n);
	for (unsigned long i = 0; i < got; i++)
		take(md, arr[i], 0, VMM_GFP_KERNEL, ~0ull);
}

static void op_misc(struct model *md)
{
	vmm_machine *m = md->m;

	switch (rnd(md, 8)) {
	case 0:
		vmm_drain_all_pages(m);
		break;
	case 1:
		if (m->pcp_disabled)
			vmm_zone_pcp_enable(m);
		else
			vmm_zone_pcp_disable(m);
		break;
	case 2:
		assert_int_equal(vmm_sysctl_set(m, "vm.min_free_kbytes", 64 + (int64_t)rnd(md, 1024)), 0);
		break;
	case 3:
		assert_int_equal(vmm_sysctl_set(m, "vm.percpu_pagelist_high_fraction",
						rnd(md, 2) ? 0 : 8 + (int64_t)rnd(md, 100)),
				 0);
		break;
	case 4: {
		static const enum vmm_mempolicy_mode modes[] = { VMM_MPOL_DEFAULT, VMM_MPOL_INTERLEAVE,
								 VMM_MPOL_BIND, VMM_MPOL_PREFERRED };
		vmm_nodemask_t mask = 1 + rnd(md, (1ull << m->nr_nodes) - 1);

		assert_int_equal(vmm_set_mempolicy(m, modes[rnd(md, 4)], mask), 0);
		break;
	}
	case 5: {
		struct vmm_cpuset cs = { 0 };

		if (rnd(md, 2)) {
			cs.mems_allowed = 1 + rnd(md, (1ull << m->nr_nodes) - 1);
			cs.flags = (uint32_t)rnd(md, 16);
		}
		assert_int_equal(vmm_set_cpuset(m, &cs), 0);
		break;
	}
	case 6:
		assert_int_equal(vmm_sysctl_set(m, "vm.watermark_boost_factor", rnd(md, 2) ? 15000 : 0), 0);
		break;
	default:
		assert_int_equal(vmm_sysctl_set(m, "vm.node_reclaim_mode", (int64_t)rnd(md, 2)), 0);
		break;
	}
}

static void run_model(const struct vmm_config *cfg, uint64_t seed, uint64_t ops)
{
	struct model md = { 0 };
	struct vmm_config c = *cfg;
	struct vmm_zone *z;

	c.flags |= VMM_CFG_VMALLOC_LAZY;	/* no slab, lazy vmalloc tables: all pages start free */
	assert_int_equal(vmm_machine_create_early(&c, &md.m), 0);
	vmm_prng_seed(&md.r, seed);
	md.held = calloc(md.m->sparse.max_pfn, 1);
	assert_non_null(md.held);
	for_each_zone(md.m, z)
		md.managed += z->managed_pages;
	check_invariants(&md);
	for (uint64_t i = 0; i < ops; i++) {
		uint64_t x = rnd(&md, 1000);

		if (!rnd(&md, 7))
			assert_int_equal(vmm_machine_set_current_cpu(md.m, (unsigned)rnd(&md, md.m->nr_cpus)), 0);
		if (x < 470)
			op_alloc(&md);
		else if (x < 500)
			op_bulk(&md);
		else if (x < 995) {
			if (md.nr)
				drop(&md, rnd(&md, md.nr));
		} else {
			op_misc(&md);
		}
		check_invariants(&md);
	}
	printf("# %" PRIu64 " ops: %" PRIu64 " allocations, %" PRIu64 " failed, %" PRIu64
	       " frees, %" PRIu64 " fallbacks, %" PRIu64 " pageblock steals, %" PRIu64
	       " highatomic reserved, %" PRIu64 " slow paths\n",
	       ops, md.allocs, md.fails, md.frees, md.m->pa_stats.fallbacks,
	       md.m->pa_stats.pageblock_steals, md.m->pa_stats.highatomic_reserved,
	       md.m->pa_stats.slowpath);
	while (md.nr)
		drop(&md, md.nr - 1);
	vmm_drain_all_pages(md.m);
	check_invariants(&md);
	assert_int_equal(buddy_free(md.m), md.managed);
	{
		struct vmm_trouble_counts t;

		assert_int_equal(vmm_machine_trouble(md.m, &t), 0);
		assert_int_equal(t.bad_pages, 0);
		assert_int_equal(t.internal, 0);
	}
	free(md.held);
	free(md.blocks);
	vmm_machine_destroy(&md.m);
}

static void quiet(void *data, enum vmm_log_level level, enum vmm_log_kind kind, const char *msg)
{
	(void)data;
	(void)msg;
	/* out-of-memory notes are expected; anything worse fails through the counters */
	if (kind != VMM_LOG_KIND_NOTE && level == VMM_LOG_ERROR)
		fprintf(stderr, "log: %s\n", msg);
}

/* 10^6 operations on two nodes of 16 MiB (DMA on node 0, DMA32 on node 1), 4 CPUs. */
static void test_model_small_numa(void **state)
{
	struct vmm_config cfg;

	(void)state;
	vmm_config_init(&cfg);
	cfg.nodes = 2;
	cfg.cpus = 4;
	cfg.cpu_node[2] = cfg.cpu_node[3] = 1;
	cfg.node_mem[0] = cfg.node_mem[1] = 16 * M;
	cfg.nr_holes = 2;
	cfg.kernel_image_size = 0;
	cfg.log_fn = quiet;
	run_model(&cfg, test_seed(__func__, 20261122), test_ops(1000000));
}

/* One node of 256 MiB, large enough for HighAtomic reserves and boosting. */
static void test_model_one_node(void **state)
{
	struct vmm_config cfg;

	(void)state;
	small_config(&cfg);
	cfg.log_fn = quiet;
	run_model(&cfg, test_seed(__func__, 7), test_ops(1000000) / 20);
}

/* The hot/cold lists under the same model. */
static void test_model_hot_cold(void **state)
{
	struct vmm_config cfg;

	(void)state;
	vmm_config_init(&cfg);
	cfg.nodes = 2;
	cfg.cpus = 2;
	cfg.cpu_node[1] = 1;
	cfg.node_mem[0] = cfg.node_mem[1] = 16 * M;
	cfg.nr_holes = 2;
	cfg.kernel_image_size = 0;
	cfg.flags = VMM_CFG_PCP_HOT_COLD;
	cfg.log_fn = quiet;
	run_model(&cfg, test_seed(__func__, 11), test_ops(1000000) / 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_small_numa),
		cmocka_unit_test(test_model_one_node),
		cmocka_unit_test(test_model_hot_cold),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
