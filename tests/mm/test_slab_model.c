/* SPDX-License-Identifier: MIT */
/*
 * Model-based random test of the slab allocator and kmalloc (src/mm/slab.c,
 * src/mm/kmalloc.c): a reference model of every live object beside the
 * real allocator, seeded random operations (cache and kmalloc allocations
 * of every flavour, node-directed allocations, bulk calls, frees in random
 * order, krealloc, shrink, CPU switches, idle time that lets the reaper
 * run, caches destroyed and made again), and after every step
 * vmm_machine_check() plus the model's own invariants:
 *
 *  - an object handed out is aligned, inside the direct map, at an address
 *    no live object has, at least as large as asked, zeroed when asked;
 *  - every live object keeps the bytes the model wrote into it (checked every
 *    64 steps and after every cache-level operation);
 *  - per cache, the objects slabinfo counts in use are exactly the live
 *    ones plus those waiting in the per-CPU and shared arrays;
 *  - no error is ever reported.
 *
 * VMM_TEST_SEED repeats a run; VMM_TEST_OPS changes its length.
 */
#include "test_util.h"

#include <string.h>

#include "lib/compiler.h"
#include "lib/prng.h"
#include "machine.h"
#include "mm/slab.h"

#define M (1ull << 20)
#define NR_CACHES 5
#define MAX_LIVE 20000

struct obj {
	vmm_vaddr_t addr;
	uint32_t size;		/* bytes the model owns */
	int8_t cache;		/* index in caches[], or -1 for kmalloc */
	uint64_t tag;
};

struct model {
	vmm_machine *m;
	struct vmm_prng r;
	vmm_kmem_cache *caches[NR_CACHES];
	struct obj *live;
	size_t nr;
	uint64_t nr_live[NR_CACHES];	/* live objects of each cache */
	uint64_t *held;			/* a bit per 8 bytes of the direct map: a live object starts there */
	uint64_t held_bits;
	uint64_t next_tag, allocs, fails, frees, destroys, reaps;
};

static const struct {
	const char *name;
	size_t size;
	uint32_t flags;
} cache_specs[NR_CACHES] = {
	{ "m-small", 24, 0 },
	{ "m-aligned", 200, VMM_SLAB_HWCACHE_ALIGN },
	{ "m-debug", 72, VMM_SLAB_RED_ZONE | VMM_SLAB_POISON | VMM_SLAB_STORE_USER },
	{ "m-offslab", 1500, VMM_SLAB_RECLAIM_ACCOUNT },
	{ "m-rcu", 320, VMM_SLAB_TYPESAFE_BY_RCU },
};

static uint64_t rnd(struct model *md, uint64_t n)
{
	return vmm_prng_next(&md->r) % n;
}

/* The bit of @addr in held[]; every object is 8-byte aligned and in the direct map. */
static uint64_t held_bit(struct model *md, vmm_vaddr_t addr)
{
	uint64_t bit = (addr - vmm_page_offset(md->m)) / 8;

	assert_true(bit < md->held_bits);
	return bit;
}

/* Record that a live object starts at @addr; false when one already does. */
static bool hold(struct model *md, vmm_vaddr_t addr)
{
	uint64_t bit = held_bit(md, addr), mask = 1ull << (bit % 64);
	bool was = md->held[bit / 64] & mask;

	md->held[bit / 64] |= mask;
	return !was;
}

static void unhold(struct model *md, vmm_vaddr_t addr)
{
	uint64_t bit = held_bit(md, addr);

	assert_true(md->held[bit / 64] & (1ull << (bit % 64)));
	md->held[bit / 64] &= ~(1ull << (bit % 64));
}

/* The tag pattern: the first 8 bytes an object owns and, from 16 bytes, the last 8. */
static void stamp(struct model *md, struct obj *o)
{
	uint8_t *h = vmm_kaddr_to_host(md->m, o->addr);
	size_t n = o->size < 8 ? o->size : 8;

	memcpy(h, &o->tag, n);
	if (o->size >= 16)
		memcpy(h + o->size - 8, &o->tag, 8);
}

static void verify(struct model *md, const struct obj *o)
{
	uint8_t *h = vmm_kaddr_to_host(md->m, o->addr);
	size_t n = o->size < 8 ? o->size : 8;

	if (memcmp(h, &o->tag, n) || (o->size >= 16 && memcmp(h + o->size - 8, &o->tag, 8)))
		fail_msg("object %#" PRIx64 " (%u bytes) lost its contents", o->addr, o->size);
}

static void add_live(struct model *md, vmm_vaddr_t addr, uint32_t size, int cache, bool zeroed)
{
	struct obj *o;
	uint8_t *h;

	assert_true(md->nr < MAX_LIVE);
	assert_true(addr >= vmm_page_offset(md->m));
	assert_int_equal(addr % 8, 0);
	if (cache >= 0) {
		assert_int_equal(addr % md->caches[cache]->align, 0);
		md->nr_live[cache]++;
	}
	if (!hold(md, addr))
		fail_msg("%#" PRIx64 " handed out twice", addr);
	h = vmm_kaddr_to_host(md->m, addr);
	if (zeroed)
		for (uint32_t i = 0; i < size; i++)
			assert_int_equal(h[i], 0);
	o = &md->live[md->nr++];
	o->addr = addr;
	o->size = size;
	o->cache = (int8_t)cache;
	o->tag = ++md->next_tag * 0x9e3779b97f4a7c15ull;
	stamp(md, o);
	md->allocs++;
}

static void drop(struct model *md, size_t i)
{
	struct obj o = md->live[i];

	verify(md, &o);
	md->live[i] = md->live[--md->nr];
	unhold(md, o.addr);
	if (o.cache >= 0)
		md->nr_live[o.cache]--;
	if (o.cache < 0)
		vmm_kfree(md->m, o.addr);
	else
		vmm_kmem_cache_free(md->caches[o.cache], o.addr);
	md->frees++;
}

static size_t kmalloc_size(struct model *md)
{
	switch (rnd(md, 10)) {
	case 0:
		return 8193 + rnd(md, 40000); /* a large block */
	case 1:
	case 2:
		return 1 + rnd(md, 8192);
	default:
		return 1 + rnd(md, 256);
	}
}

static vmm_gfp_t some_gfp(struct model *md)
{
	static const vmm_gfp_t g[] = { VMM_GFP_KERNEL, VMM_GFP_KERNEL | VMM_GFP_ZERO, VMM_GFP_ATOMIC,
				       VMM_GFP_NOWAIT, VMM_GFP_KERNEL | VMM_GFP_DMA };

	return g[rnd(md, ARRAY_SIZE(g))] | VMM_GFP_NOWARN;
}

static void op_alloc(struct model *md)
{
	vmm_gfp_t gfp = some_gfp(md);
	bool zero = gfp & VMM_GFP_ZERO;
	vmm_vaddr_t a;

	if (md->nr >= MAX_LIVE - 64)
		return;
	if (rnd(md, 3) == 0) {
		size_t size = kmalloc_size(md);

		a = rnd(md, 8) ? vmm_kmalloc(md->m, size, gfp) :
				 vmm_kmalloc_node(md->m, size, gfp & ~VMM_GFP_DMA,
						  (int)rnd(md, md->m->nr_nodes));
		if (!a) {
			md->fails++;
			return;
		}
		assert_true(vmm_ksize(md->m, a) >= size);
		add_live(md, a, (uint32_t)size, -1, zero);
		return;
	}
	{
		int ci = (int)rnd(md, NR_CACHES);
		vmm_kmem_cache *c = md->caches[ci];

		gfp &= ~VMM_GFP_DMA;
		if (!c)
			return;
		if (rnd(md, 6) == 0) {
			vmm_vaddr_t objs[16];
			size_t n = 1 + rnd(md, 16);

			if (vmm_kmem_cache_alloc_bulk(c, gfp, n, objs) != n) {
				md->fails++;
				return;
			}
			for (size_t i = 0; i < n; i++)
				add_live(md, objs[i], (uint32_t)cache_specs[ci].size, ci, zero);
			return;
		}
		a = rnd(md, 8) ? vmm_kmem_cache_alloc(c, gfp) :
				 vmm_kmem_cache_alloc_node(c, gfp, (int)rnd(md, md->m->nr_nodes));
		if (!a) {
			md->fails++;
			return;
		}
		add_live(md, a, (uint32_t)cache_specs[ci].size, ci, zero);
	}
}

static void op_realloc(struct model *md)
{
	struct obj *o;
	size_t size = kmalloc_size(md);
	vmm_vaddr_t q;
	uint32_t keep;

	for (size_t tries = 0; tries < 8 && md->nr; tries++) {
		o = &md->live[rnd(md, md->nr)];
		if (o->cache >= 0)
			continue;
		verify(md, o);
		q = vmm_krealloc(md->m, o->addr, size, VMM_GFP_KERNEL | VMM_GFP_NOWARN);
		if (!q) {
			md->fails++;
			verify(md, o); /* untouched */
			return;
		}
		/* the bytes both sizes cover came along */
		keep = o->size < size ? o->size : (uint32_t)size;
		{
			uint8_t *h = vmm_kaddr_to_host(md->m, q);
			size_t n = keep < 8 ? keep : 8;

			assert_memory_equal(h, &o->tag, n);
		}
		unhold(md, o->addr);
		if (!hold(md, q))
			fail_msg("%#" PRIx64 " handed out twice", q);
		o->addr = q;
		o->size = (uint32_t)size;
		stamp(md, o);
		return;
	}
}

static void recreate(struct model *md, int ci)
{
	assert_int_equal(vmm_kmem_cache_create(md->m, cache_specs[ci].name, cache_specs[ci].size, 0,
					       cache_specs[ci].flags, NULL, &md->caches[ci]),
			 0);
}

/* Destroy a cache whose objects are all freed, and make it again. */
static void op_destroy(struct model *md)
{
	int ci = (int)rnd(md, NR_CACHES);

	for (size_t i = md->nr; i-- > 0;)
		if (md->live[i].cache == ci)
			drop(md, i);
	assert_int_equal(vmm_kmem_cache_destroy(md->caches[ci]), 0);
	md->caches[ci] = NULL;
	recreate(md, ci);
	md->destroys++;
}

static void op_misc(struct model *md)
{
	vmm_machine *m = md->m;

	switch (rnd(md, 5)) {
	case 0:
		assert_int_equal(vmm_machine_set_current_cpu(m, (unsigned)rnd(md, m->nr_cpus)), 0);
		break;
	case 1: /* idle time: the reaper trims arrays and free slabs */
		assert_int_equal(vmm_machine_advance(m, m->timers.cycles_per_jiffy * (1 + rnd(md, 600))), 0);
		md->reaps++;
		break;
	case 2:
		assert_true(vmm_kmem_cache_shrink(md->caches[rnd(md, NR_CACHES)]) >= 0);
		break;
	case 3:
		op_realloc(md);
		break;
	default:
		op_destroy(md);
		break;
	}
}

/* In use per slabinfo = live in the model + waiting in the arrays. */
static void check_counts(struct model *md)
{
	for (int ci = 0; ci < NR_CACHES; ci++) {
		vmm_kmem_cache *c = md->caches[ci];
		struct vmm_kmem_cache_info in;
		uint64_t live = md->nr_live[ci], cached = 0;

		if (!c)
			continue; /* destroyed at the end */

		for (unsigned cpu = 0; cpu < md->m->nr_cpus; cpu++)
			cached += c->array[cpu]->avail;
		for (unsigned nid = 0; nid < md->m->nr_nodes; nid++)
			if (c->nodelists[nid]->shared)
				cached += c->nodelists[nid]->shared->avail;
		assert_int_equal(vmm_kmem_cache_info(c, &in), 0);
		if (in.active_objs != live + cached)
			fail_msg("%s: %" PRIu64 " in use, model %" PRIu64 " live + %" PRIu64
				 " in arrays", c->name, in.active_objs, live, cached);
	}
}

/* The checker every step; every live object's bytes when @all (and at every misc step). */
static void check_invariants(struct model *md, bool all)
{
	assert_int_equal(vmm_machine_check(md->m, stdout), 0);
	if (all)
		for (size_t i = 0; i < md->nr; i++)
			verify(md, &md->live[i]);
	check_counts(md);
}

static void run_model(const struct vmm_config *cfg, uint64_t seed, uint64_t ops)
{
	struct model md = { 0 };
	struct vmm_trouble_counts t;

	assert_int_equal(vmm_machine_create(cfg, &md.m), 0);
	vmm_prng_seed(&md.r, seed);
	md.live = calloc(MAX_LIVE, sizeof(*md.live));
	assert_non_null(md.live);
	md.held_bits = (md.m->sparse.max_pfn << VMM_PAGE_SHIFT) / 8;
	md.held = calloc((md.held_bits + 63) / 64, sizeof(*md.held));
	assert_non_null(md.held);
	for (int ci = 0; ci < NR_CACHES; ci++)
		recreate(&md, ci);
	check_invariants(&md, true);
	for (uint64_t i = 0; i < ops; i++) {
		uint64_t x = rnd(&md, 1000);

		if (x < 520)
			op_alloc(&md);
		else if (x < 990) {
			if (md.nr)
				drop(&md, rnd(&md, md.nr));
		} else {
			op_misc(&md);
		}
		check_invariants(&md, (i & 63) == 0 || x >= 990);
	}
	printf("# %" PRIu64 " ops: %" PRIu64 " allocations, %" PRIu64 " failed, %" PRIu64
	       " frees, %" PRIu64 " caches destroyed, %" PRIu64 " idle spells, %zu live at the end\n",
	       ops, md.allocs, md.fails, md.frees, md.destroys, md.reaps, md.nr);
	while (md.nr)
		drop(&md, md.nr - 1);
	for (int ci = 0; ci < NR_CACHES; ci++) {
		assert_int_equal(vmm_kmem_cache_destroy(md.caches[ci]), 0);
		md.caches[ci] = NULL;
	}
	check_invariants(&md, true);
	assert_int_equal(vmm_machine_trouble(md.m, &t), 0);
	assert_int_equal(t.slab_errors, 0);
	assert_int_equal(t.guest, 0);
	assert_int_equal(t.caller, 0);
	for (int ci = 0; ci < NR_CACHES; ci++)
		assert_int_equal(md.nr_live[ci], 0);
	for (uint64_t w = 0; w < (md.held_bits + 63) / 64; w++)
		assert_int_equal(md.held[w], 0);
	free(md.held);
	free(md.live);
	vmm_machine_destroy(&md.m);
}

/* 10^6 operations on two nodes of 16 MiB (DMA on node 0, DMA32 on node 1), a CPU on each. */
static void test_model_numa(void **state)
{
	struct vmm_config cfg;

	(void)state;
	vmm_config_init(&cfg);
	cfg.nodes = 2;
	cfg.cpus = 2; /* one per node */
	cfg.nr_holes = 2;
	cfg.node_mem[0] = cfg.node_mem[1] = 16 * M;
	cfg.kernel_image_size = 0; /* no room for it at 16 MiB */
	cfg.log_level = VMM_LOG_ERROR;
	run_model(&cfg, test_seed(__func__, 20261122), test_ops(1000000));
}

/* With VMM_CFG_DEBUG_VM every cache checks itself; one node, 2 CPUs. */
static void test_model_debug_vm(void **state)
{
	struct vmm_config cfg;

	(void)state;
	vmm_config_init(&cfg);
	cfg.nodes = 1;
	cfg.cpus = 2;
	cfg.nr_holes = 2;
	cfg.node_mem[0] = 32 * M;
	cfg.kernel_image_size = 2 * M;
	cfg.flags = VMM_CFG_DEBUG_VM;
	cfg.log_level = VMM_LOG_ERROR;
	run_model(&cfg, test_seed(__func__, 5), test_ops(1000000) / 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_numa),
		cmocka_unit_test(test_model_debug_vm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
