/* SPDX-License-Identifier: MIT */
/*
 * bench_slab: what the simulated slab allocator and kmalloc cost the host
 * per call, beside the host's own allocators measured in the same run.
 *
 * libvmm cases, on the default machine (vmm_config_init()), CPU 0,
 * GFP_KERNEL:
 *
 *   cache64      vmm_kmem_cache_alloc + vmm_kmem_cache_free on a 64-byte
 *                cache of the bench's own ("bench64", no flags, no ctor)
 *   bulk16       vmm_kmem_cache_alloc_bulk of 16 + vmm_kmem_cache_free_bulk
 *                of 16 on that cache, reported per object
 *   kmalloc<N>   vmm_kmalloc + vmm_kfree of N = 8, 64, 256, 4096 bytes
 *
 * libvmm is called as an embedder calls it: the shared library, public API.
 * Neither side writes the memory it gets, so what is timed is the
 * allocators' bookkeeping alone.
 *
 * host references: glibc malloc + free, jemalloc's own malloc + free and
 * mallocx + sdallocx, each at 8, 64, 256 and 4096 bytes.
 *
 * Pairs are measured "clean", allocate then free at once in a tight loop
 * (the allocator's best case, and the one the goals use), and some also
 * "ring": 256 blocks stay live, and each round allocates 256 new ones, then
 * frees the 256 oldest. The per-CPU arrays (limit 120 for 64 bytes, 24 for
 * 4096) then empty and refill from the shared array and the slabs, fill
 * and flush back, as in real use. (A ring that frees one block and
 * allocates one each step would not: a LIFO array hands back the object
 * just freed, and never moves a batch.)
 *
 * Each case warms up first, then runs --reps repetitions of --iters steps
 * (by default many short ones, REPS of ITERS), the cases taking turns
 * within each repetition so that a slow spell of the host touches them all
 * alike; the median ns per step is reported. A ratio is the median over the
 * repetitions of the two cases' ratio within one turn: on this shared host
 * a repetition's time swings by 2x and more (a preemption, a busy sibling),
 * which a ratio of two separate medians can catch on one side only. The
 * goals (the kmem_cache pair <= 1.0 x glibc's 64-byte pair and <= 1.0 x
 * jemalloc's; bulk per object <= 0.5 x the pair; every kmalloc pair <= 1.2 x
 * the kmem_cache pair) are printed as PASS/MISS for information: the exit
 * status never depends on wall time. An allocation that fails, in libvmm or
 * on the host, ends the run with a message and status 1: here it is a bug.
 *
 * --callgrind runs each case once, briefly, and under Valgrind marks its
 * measured loop with callgrind client requests (zero the counters before,
 * dump them after, named "bench:<case>"), so that instructions per step are
 * the dump's Ir total over the steps it prints. bench/callgrind_slab.sh
 * does the whole thing and prints the table.
 *
 * The harness (options, turns, medians, callgrind marks, the host
 * allocators and how jemalloc is reached) is bench_harness.c's.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/vmm.h>

#include "bench_harness.h"

/* The goals of the slab performance issue. */
#define GOAL_CACHE_OVER_GLIBC 1.0
#define GOAL_CACHE_OVER_JEMALLOC 1.0
#define GOAL_BULK_OVER_PAIR 0.5
#define GOAL_KMALLOC_OVER_CACHE 1.2

#define CACHE_NAME "bench64"
#define CACHE_SIZE 64
#define CACHE_SIZE_STR "64" /* for the header line */
#define LIVE BENCH_HOST_LIVE /* blocks a ring keeps live */
#define BULK_NR 16
/*
 * Many short repetitions: a clean pair's repetition of ITERS steps takes about 0.3 ms,
 * so that fewer of them hold a preemption than the harness's 1.5 ms ones, and REPS of
 * them take as many steps in all as its 15 x 200000.
 */
#define REPS 61
#define ITERS 50000

enum case_kind {
	CACHE_PAIR,   /* vmm_kmem_cache_alloc + vmm_kmem_cache_free */
	CACHE_BULK,   /* vmm_kmem_cache_alloc_bulk + _free_bulk of BULK_NR */
	KMALLOC_PAIR, /* vmm_kmalloc + vmm_kfree */
	HOST_PAIR,    /* a host allocator's alloc + free */
};

struct bench_case {
	struct bench_entry e; /* name, label, figures; steps: a bulk step is one object */
	enum case_kind kind;
	bool ring;		 /* LIVE blocks live, allocated and freed in rounds of LIVE */
	size_t bytes;		 /* KMALLOC_PAIR, HOST_PAIR */
	enum bench_host_api api; /* HOST_PAIR */

	/* run state: the ring's two halves, half says which one is live */
	vmm_vaddr_t objs[2 * LIVE]; /* libvmm cases */
	void *blocks[2 * LIVE];	    /* host cases */
	bool half;
};

/* A libvmm case: name, label, kind, kmalloc bytes, ring. */
#define VCASE(n, l, k, b, ring_)                                                           \
	{                                                                                  \
		.e = {.name = (n), .label = (l)}, .kind = (k), .bytes = (b), .ring = (ring_) \
	}
/* A host case: name, label, allocator, bytes, ring. */
#define HCASE(n, l, a, b, ring_)                                                            \
	{                                                                                   \
		.e = {.name = (n), .label = (l)}, .kind = HOST_PAIR, .api = (a), .bytes = (b), \
		.ring = (ring_)                                                             \
	}

static struct bench_case cases[] = {
	VCASE("cache64", "kmem_cache 64 pair", CACHE_PAIR, CACHE_SIZE, false),
	VCASE("cache64-ring", "kmem_cache 64 pair, ring 256", CACHE_PAIR, CACHE_SIZE, true),
	VCASE("bulk16", "kmem_cache 64 bulk 16 + 16, per object", CACHE_BULK, CACHE_SIZE, false),
	VCASE("kmalloc8", "kmalloc+kfree 8", KMALLOC_PAIR, 8, false),
	VCASE("kmalloc64", "kmalloc+kfree 64", KMALLOC_PAIR, 64, false),
	VCASE("kmalloc64-ring", "kmalloc+kfree 64, ring 256", KMALLOC_PAIR, 64, true),
	VCASE("kmalloc256", "kmalloc+kfree 256", KMALLOC_PAIR, 256, false),
	VCASE("kmalloc4k", "kmalloc+kfree 4096", KMALLOC_PAIR, 4096, false),
	VCASE("kmalloc4k-ring", "kmalloc+kfree 4096, ring 256", KMALLOC_PAIR, 4096, true),
	HCASE("glibc-8", "glibc malloc+free 8", BENCH_GLIBC, 8, false),
	HCASE("glibc-64", "glibc malloc+free 64", BENCH_GLIBC, 64, false),
	HCASE("glibc-64-ring", "glibc malloc+free 64, ring 256", BENCH_GLIBC, 64, true),
	HCASE("glibc-256", "glibc malloc+free 256", BENCH_GLIBC, 256, false),
	HCASE("glibc-4k", "glibc malloc+free 4096", BENCH_GLIBC, 4096, false),
	HCASE("glibc-4k-ring", "glibc malloc+free 4096, ring 256", BENCH_GLIBC, 4096, true),
	HCASE("je-8", "jemalloc malloc+free 8", BENCH_JE_MALLOC, 8, false),
	HCASE("je-64", "jemalloc malloc+free 64", BENCH_JE_MALLOC, 64, false),
	HCASE("je-64-ring", "jemalloc malloc+free 64, ring 256", BENCH_JE_MALLOC, 64, true),
	HCASE("je-256", "jemalloc malloc+free 256", BENCH_JE_MALLOC, 256, false),
	HCASE("je-4k", "jemalloc malloc+free 4096", BENCH_JE_MALLOC, 4096, false),
	HCASE("je-4k-ring", "jemalloc malloc+free 4096, ring 256", BENCH_JE_MALLOC, 4096, true),
	HCASE("jex-8", "jemalloc mallocx+sdallocx 8", BENCH_JE_MALLOCX, 8, false),
	HCASE("jex-64", "jemalloc mallocx+sdallocx 64", BENCH_JE_MALLOCX, 64, false),
	HCASE("jex-256", "jemalloc mallocx+sdallocx 256", BENCH_JE_MALLOCX, 256, false),
	HCASE("jex-4k", "jemalloc mallocx+sdallocx 4096", BENCH_JE_MALLOCX, 4096, false),
};
static vmm_machine *machine;
static vmm_kmem_cache *cache64;

static struct bench_case *to_case(struct bench_entry *e)
{
	return (struct bench_case *)e;
}

/* A failed allocation is a bug in this harness's world: say which and stop. */
static void die_alloc(const struct bench_case *c, const char *where)
{
	fprintf(stderr, "bench_slab: %s: allocation failed (%s)\n", c->e.name, where);
	exit(1);
}

/* ---- the measured loops (bench_harness.h) ---- */

/* libvmm's entry points as the loops call them: through pointers (BENCH_OPAQUE) */
#define VMM_CACHE_CALLS                                                        \
	vmm_vaddr_t (*c_alloc)(vmm_kmem_cache *, vmm_gfp_t) = vmm_kmem_cache_alloc; \
	void (*c_free)(vmm_kmem_cache *, vmm_vaddr_t) = vmm_kmem_cache_free
#define VMM_KMALLOC_CALLS                                                   \
	vmm_vaddr_t (*k_alloc)(vmm_machine *, size_t, vmm_gfp_t) = vmm_kmalloc; \
	void (*k_free)(vmm_machine *, vmm_vaddr_t) = vmm_kfree

#define CACHE_CALLS_OPAQUE() do { BENCH_OPAQUE(c_alloc); BENCH_OPAQUE(c_free); } while (0)
#define KMALLOC_CALLS_OPAQUE() do { BENCH_OPAQUE(k_alloc); BENCH_OPAQUE(k_free); } while (0)

/*
 * @steps clean pairs, allocate then free: each allocator's loop in a function of its
 * own, kept out of line, so that every value the loop uses stays in a register. (In
 * one function with the cache's loop, the kmalloc loop reloaded a call's pointer from
 * the stack every step, a load and an instruction the cache's loop did not pay.)
 */
static __attribute__((noinline)) bool cache_pairs(vmm_kmem_cache *kc, long steps)
{
	VMM_CACHE_CALLS;

	CACHE_CALLS_OPAQUE();
	BENCH_PAIR_LOOP(vmm_vaddr_t, c_alloc(kc, VMM_GFP_KERNEL), c_free(kc, p));
	return true;
failed:
	return false;
}

static __attribute__((noinline)) bool kmalloc_pairs(vmm_machine *m, size_t bytes, long steps)
{
	VMM_KMALLOC_CALLS;

	KMALLOC_CALLS_OPAQUE();
	BENCH_PAIR_LOOP(vmm_vaddr_t, k_alloc(m, bytes, VMM_GFP_KERNEL), k_free(m, p));
	return true;
failed:
	return false;
}

static bool run_pairs(struct bench_case *c, long steps)
{
	switch (c->kind) {
	case CACHE_PAIR:
		return cache_pairs(cache64, steps);
	case KMALLOC_PAIR:
		return kmalloc_pairs(machine, c->bytes, steps);
	default:
		return bench_host_pairs(c->api, c->bytes, steps);
	}
}

/* Rounds of LIVE steps: allocate LIVE new blocks, then free the LIVE oldest. */
static bool run_ring(struct bench_case *c, long steps)
{
	vmm_machine *m = machine;
	vmm_kmem_cache *kc = cache64;
	const size_t bytes = c->bytes;
	vmm_vaddr_t *slots = c->objs;
	bool half = c->half;
	VMM_CACHE_CALLS;
	VMM_KMALLOC_CALLS;

	c->e.steps_done = (uint64_t)(steps + LIVE - 1) / LIVE * LIVE;
	switch (c->kind) {
	case CACHE_PAIR:
		CACHE_CALLS_OPAQUE();
		BENCH_BURST_LOOP(vmm_vaddr_t, LIVE, c_alloc(kc, VMM_GFP_KERNEL), c_free(kc, p));
		break;
	case KMALLOC_PAIR:
		KMALLOC_CALLS_OPAQUE();
		BENCH_BURST_LOOP(vmm_vaddr_t, LIVE, k_alloc(m, bytes, VMM_GFP_KERNEL), k_free(m, p));
		break;
	default:
		return bench_host_burst(c->api, bytes, c->blocks, &c->half, steps);
	}
	c->half = half;
	return true;
failed:
	c->half = half;
	return false;
}

/* Bulk rounds of BULK_NR objects for about @steps objects; every address is checked. */
static bool run_bulk(struct bench_case *c, long steps)
{
	vmm_kmem_cache *kc = cache64;
	vmm_vaddr_t objs[BULK_NR];
	uint64_t done = 0;

	for (long i = 0; i < steps; i += BULK_NR) {
		if (vmm_kmem_cache_alloc_bulk(kc, VMM_GFP_KERNEL, BULK_NR, objs) != BULK_NR)
			return false;
		for (unsigned k = 0; k < BULK_NR; k++)
			if (!objs[k])
				return false;
		clobber(objs);
		vmm_kmem_cache_free_bulk(kc, BULK_NR, objs);
		done += BULK_NR;
	}
	c->e.steps_done = done;
	return true;
}

static bool run_steps(struct bench_entry *e, long steps)
{
	struct bench_case *c = to_case(e);
	bool ok;

	e->steps_done = (uint64_t)steps;
	if (c->kind == CACHE_BULK)
		ok = run_bulk(c, steps);
	else
		ok = c->ring ? run_ring(c, steps) : run_pairs(c, steps);
	if (!ok)
		die_alloc(c, "measured loop");
	return true;
}

/* ---- setup and teardown ---- */

static bool case_available(const struct bench_entry *e)
{
	const struct bench_case *c = (const struct bench_case *)e;

	return c->kind != HOST_PAIR || bench_host_available(c->api);
}

/* One allocation outside the measured loops; 0 when it failed. */
static vmm_vaddr_t vmm_alloc_one(const struct bench_case *c)
{
	if (c->kind == KMALLOC_PAIR)
		return vmm_kmalloc(machine, c->bytes, VMM_GFP_KERNEL);
	return vmm_kmem_cache_alloc(cache64, VMM_GFP_KERNEL);
}

/* Fill the ring's first half: the LIVE blocks the first round frees. */
static bool ring_fill(struct bench_entry *e)
{
	struct bench_case *c = to_case(e);

	c->half = false;
	for (unsigned i = 0; c->ring && i < LIVE; i++) {
		if (c->kind == HOST_PAIR)
			c->blocks[i] = bench_host_alloc(c->api, c->bytes);
		else
			c->objs[i] = vmm_alloc_one(c);
		if (c->kind == HOST_PAIR ? !c->blocks[i] : !c->objs[i])
			die_alloc(c, "ring fill");
	}
	return true;
}

/* Free the live half of the ring. */
static void ring_drop(struct bench_entry *e)
{
	struct bench_case *c = to_case(e);
	const unsigned base = c->half ? LIVE : 0;

	for (unsigned i = base; c->ring && e->usable && i < base + LIVE; i++) {
		if (c->kind == HOST_PAIR)
			bench_host_free(c->api, c->blocks[i], c->bytes);
		else if (c->kind == KMALLOC_PAIR)
			vmm_kfree(machine, c->objs[i]);
		else
			vmm_kmem_cache_free(cache64, c->objs[i]);
	}
	memset(c->objs, 0, sizeof(c->objs));
	memset(c->blocks, 0, sizeof(c->blocks));
}

static int create_machine(void)
{
	struct vmm_config cfg;
	int err;

	vmm_config_init(&cfg);
	err = vmm_machine_create(&cfg, &machine);
	if (!err)
		err = vmm_machine_set_current_cpu(machine, 0);
	if (!err)
		err = vmm_kmem_cache_create(machine, CACHE_NAME, CACHE_SIZE, 0, 0, NULL, &cache64);
	if (err)
		fprintf(stderr, "bench_slab: creating the machine and its cache: %s\n",
			vmm_strerror(err));
	return err;
}

static int destroy_machine(void)
{
	int err = vmm_kmem_cache_destroy(cache64);

	if (err)
		fprintf(stderr, "bench_slab: vmm_kmem_cache_destroy: %s\n", vmm_strerror(err));
	vmm_machine_destroy(&machine);
	return err;
}

/* ---- output ---- */

static void print_ratios(void);

static const struct bench_suite suite = {
	.prog = "bench_slab",
	.title = "host cost of libvmm's slab allocator and kmalloc, per step",
	.setting = "default machine, CPU 0, GFP_KERNEL, cache \"" CACHE_NAME "\" of " CACHE_SIZE_STR
		   " bytes",
	.script = "bench/callgrind_slab.sh",
	.reps = REPS,
	.iters = ITERS,
	BENCH_CASES(cases),
	.setup = create_machine,
	.available = case_available,
	.prepare = ring_fill,
	.run = run_steps,
	.teardown = ring_drop,
	.report = print_ratios,
	.cleanup = destroy_machine,
};


static void print_kmalloc_ratios(void)
{
	static const char *const sizes[] = {"8", "64", "256", "4k"};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char what[64], name[32];

		snprintf(what, sizeof(what), "kmalloc %s pair / kmem_cache 64 pair", sizes[i]);
		snprintf(name, sizeof(name), "kmalloc%s", sizes[i]);
		bench_print_ratio(&suite, what, name, "cache64", GOAL_KMALLOC_OVER_CACHE);
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char what[64], name[32], host[32];

		snprintf(what, sizeof(what), "kmalloc %s pair / jemalloc malloc+free %s", sizes[i],
			 sizes[i]);
		snprintf(name, sizeof(name), "kmalloc%s", sizes[i]);
		snprintf(host, sizeof(host), "je-%s", sizes[i]);
		bench_print_ratio(&suite, what, name, host, 0);
	}
}

static void print_ratios(void)
{
	bench_print_ratio(&suite, "kmem_cache 64 pair / glibc malloc+free 64", "cache64",
			  "glibc-64", GOAL_CACHE_OVER_GLIBC);
	bench_print_ratio(&suite, "kmem_cache 64 pair / jemalloc malloc+free 64", "cache64",
			  "je-64", GOAL_CACHE_OVER_JEMALLOC);
	bench_print_ratio(&suite, "kmem_cache 64 pair / jemalloc mallocx+sdallocx 64", "cache64",
			  "jex-64", 0);
	bench_print_ratio(&suite, "bulk 16 per object / kmem_cache 64 pair", "bulk16", "cache64",
			  GOAL_BULK_OVER_PAIR);
	print_kmalloc_ratios();
	bench_print_ratio(&suite, "ring: kmem_cache 64 / glibc 64", "cache64-ring",
			  "glibc-64-ring", 0);
	bench_print_ratio(&suite, "ring: kmem_cache 64 / jemalloc 64", "cache64-ring",
			  "je-64-ring", 0);
	bench_print_ratio(&suite, "ring: kmem_cache 64 / clean", "cache64-ring", "cache64", 0);
	bench_print_ratio(&suite, "ring: kmalloc 4096 / jemalloc 4096", "kmalloc4k-ring",
			  "je-4k-ring", 0);
}

int main(int argc, char **argv)
{
	return bench_main(&suite, argc, argv);
}
