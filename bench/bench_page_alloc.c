/* SPDX-License-Identifier: MIT */
/*
 * bench_page_alloc: what the simulated page allocator costs the host per
 * call, beside the host's own allocators measured in the same run.
 *
 * libvmm cases, on the default machine (vmm_config_init()), CPU 0, so
 * GFP_KERNEL pages come from node 0's DMA32 zone:
 *
 *   pcp0       order-0 vmm_alloc_pages + vmm_free_pages, per-CPU lists on
 *   nopcp0     the same after vmm_zone_pcp_disable() (on a second machine)
 *   order3     order-3 pair (still served by the per-CPU lists)
 *   order9     order-9 pair (pageblock order: the per-CPU THP lists)
 *   bulk64     vmm_alloc_pages_bulk of 64 pages, then vmm_free_pages_bulk of
 *              them, reported per page
 *   bulk64-1by1  the same bulk allocation, then vmm_free_pages of each page
 *
 * libvmm is called as an embedder calls it: the shared library, public API.
 * Neither side writes the memory it gets (no GFP_ZERO, no memset), so what
 * is timed is the allocators' bookkeeping alone.
 *
 * host references: glibc malloc + free of 4 KiB and 32 KiB; jemalloc's own
 * malloc + free (looked up in Debian's shared libjemalloc, see below) and
 * mallocx + sdallocx (as bench_boot uses it) of the same sizes.
 *
 * Every pair is measured two ways: "clean", allocate then free at once in
 * a tight loop (the allocator's best case, and the one the goals use), and
 * "ring", where 256 blocks stay live in a ring and each step frees the
 * oldest and allocates a new one, so lists drain and refill as in real use.
 *
 * Each case warms up first, then runs --reps repetitions of --iters steps,
 * the cases taking turns within each repetition so that a slow spell of the
 * host touches them all alike; the median ns per step is reported. The
 * goals (order-0 pcp pair <= 0.5 x glibc's 4 KiB pair and <= 1.0 x
 * jemalloc's; order-3 pair <= 100 ns; bulk per page <= 0.6 x the order-0
 * pair) are printed as PASS/MISS for information: the exit status never
 * depends on wall time, only on a machine that cannot be created.
 *
 * --callgrind runs each case once, briefly, and under Valgrind marks its
 * measured loop with callgrind client requests (zero the counters before,
 * dump them after, named "bench:<case>"), so that instructions per step are
 * the dump's Ir total over the steps it prints. bench/callgrind_page_alloc.sh
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

/* The goals of the page-allocator performance issue. */
#define GOAL_PCP0_OVER_GLIBC 0.5
#define GOAL_PCP0_OVER_JEMALLOC 1.0
#define GOAL_ORDER3_NS 100.0
#define GOAL_BULK_OVER_PAIR 0.6

#define RING_SIZE BENCH_HOST_RING
#define BULK_NR 64

enum case_kind {
	VMM_PAIR,  /* vmm_alloc_pages + vmm_free_pages */
	VMM_BULK,  /* vmm_alloc_pages_bulk(BULK_NR) + vmm_free_pages_bulk, or BULK_NR frees */
	HOST_PAIR, /* a host allocator's alloc + free */
};

struct bench_case {
	struct bench_entry e; /* name, label, figures; steps: a bulk step is one page */
	enum case_kind kind;
	bool ring;		   /* keep RING_SIZE blocks live, free the oldest each step */
	unsigned order;		   /* VMM_PAIR */
	bool nopcp;		   /* VMM_*: on the machine with pcp lists disabled */
	bool one_by_one;	   /* VMM_BULK: free each page with vmm_free_pages */
	enum bench_host_api api; /* HOST_PAIR */
	size_t bytes;		   /* HOST_PAIR */

	/* run state */
	void *ring_slots[RING_SIZE];
	unsigned ring_pos;
};

/* A libvmm case: name, label, kind, order, pcp disabled, ring. */
#define VCASE(n, l, k, o, nopcp_, ring_)                                                     \
	{                                                                                    \
		.e = {.name = (n), .label = (l)}, .kind = (k), .order = (o), .nopcp = (nopcp_), \
		.ring = (ring_)                                                              \
	}
/* A host case: name, label, allocator, bytes, ring. */
#define HCASE(n, l, a, b, ring_)                                                            \
	{                                                                                   \
		.e = {.name = (n), .label = (l)}, .kind = HOST_PAIR, .api = (a), .bytes = (b), \
		.ring = (ring_)                                                             \
	}

static struct bench_case cases[] = {
	VCASE("pcp0", "order-0 pair, pcp", VMM_PAIR, 0, false, false),
	VCASE("pcp0-ring", "order-0 pair, pcp, ring 256", VMM_PAIR, 0, false, true),
	VCASE("nopcp0", "order-0 pair, pcp disabled", VMM_PAIR, 0, true, false),
	VCASE("nopcp0-ring", "order-0 pair, pcp disabled, ring 256", VMM_PAIR, 0, true, true),
	VCASE("order3", "order-3 pair", VMM_PAIR, 3, false, false),
	VCASE("order3-ring", "order-3 pair, ring 256", VMM_PAIR, 3, false, true),
	VCASE("order9", "order-9 pair", VMM_PAIR, 9, false, false),
	VCASE("order9-ring", "order-9 pair, ring 256", VMM_PAIR, 9, false, true),
	VCASE("bulk64", "bulk 64 + bulk free, per page", VMM_BULK, 0, false, false),
	{ .e = { .name = "bulk64-1by1", .label = "bulk 64 + 64 single frees, per page" },
	  .kind = VMM_BULK, .one_by_one = true },
	HCASE("glibc-4k", "glibc malloc+free 4 KiB", BENCH_GLIBC, 4096, false),
	HCASE("glibc-4k-ring", "glibc malloc+free 4 KiB, ring 256", BENCH_GLIBC, 4096, true),
	HCASE("glibc-32k", "glibc malloc+free 32 KiB", BENCH_GLIBC, 32768, false),
	HCASE("je-4k", "jemalloc malloc+free 4 KiB", BENCH_JE_MALLOC, 4096, false),
	HCASE("je-4k-ring", "jemalloc malloc+free 4 KiB, ring 256", BENCH_JE_MALLOC, 4096, true),
	HCASE("je-32k", "jemalloc malloc+free 32 KiB", BENCH_JE_MALLOC, 32768, false),
	HCASE("jex-4k", "jemalloc mallocx+sdallocx 4 KiB", BENCH_JE_MALLOCX, 4096, false),
	HCASE("jex-32k", "jemalloc mallocx+sdallocx 32 KiB", BENCH_JE_MALLOCX, 32768, false),
};
static vmm_machine *machine_pcp, *machine_nopcp;

static struct bench_case *to_case(struct bench_entry *e)
{
	return (struct bench_case *)e;
}

/* ---- the allocators behind a case ---- */

static vmm_machine *case_machine(const struct bench_case *c)
{
	return c->nopcp ? machine_nopcp : machine_pcp;
}

/* One allocation or free outside the measured loops (ring setup and teardown). */
static void *case_alloc(const struct bench_case *c)
{
	if (c->kind == HOST_PAIR)
		return bench_host_alloc(c->api, c->bytes);
	return vmm_alloc_pages(case_machine(c), VMM_GFP_KERNEL, c->order);
}

static void case_free(const struct bench_case *c, void *p)
{
	if (c->kind == HOST_PAIR)
		bench_host_free(c->api, p, c->bytes);
	else
		vmm_free_pages(case_machine(c), p, c->order);
}

/* ---- the measured loops (bench_harness.h) ---- */

/* libvmm's entry points as the loops call them: through pointers (BENCH_OPAQUE) */
#define VMM_PAGE_CALLS                                                            \
	struct vmm_page *(*alloc)(vmm_machine *, vmm_gfp_t, unsigned) = vmm_alloc_pages; \
	void (*free_)(vmm_machine *, struct vmm_page *, unsigned) = vmm_free_pages;      \
	BENCH_OPAQUE(alloc);                                                      \
	BENCH_OPAQUE(free_)

/* @steps clean pairs, allocate then free; false if an allocation failed. */
static bool run_pairs(struct bench_case *c, long steps)
{
	vmm_machine *m = case_machine(c);
	const unsigned order = c->order;

	if (c->kind == HOST_PAIR)
		return bench_host_pairs(c->api, c->bytes, steps);
	{
		VMM_PAGE_CALLS;
		BENCH_PAIR_LOOP(struct vmm_page *, alloc(m, VMM_GFP_KERNEL, order),
				free_(m, p, order));
	}
	return true;
failed:
	return false;
}

/* @steps ring steps: free the oldest live block, allocate its replacement. */
static bool run_ring(struct bench_case *c, long steps)
{
	vmm_machine *m = case_machine(c);
	const unsigned order = c->order;
	void **slots = c->ring_slots;
	unsigned pos = c->ring_pos;

	if (c->kind == HOST_PAIR)
		return bench_host_ring(c->api, c->bytes, slots, &c->ring_pos, steps);
	{
		VMM_PAGE_CALLS;
		BENCH_RING_LOOP(void *, RING_SIZE, alloc(m, VMM_GFP_KERNEL, order),
				free_(m, p, order));
	}
	c->ring_pos = pos;
	return true;
failed:
	c->ring_pos = pos;
	return false;
}

/* Bulk rounds for about @steps pages; counts the pages actually served. */
static bool run_bulk(struct bench_case *c, long steps)
{
	vmm_machine *m = case_machine(c);
	struct vmm_page *pages[BULK_NR];
	uint64_t done = 0;

	for (long i = 0; i < steps; i += BULK_NR) {
		unsigned long got;

		memset(pages, 0, sizeof(pages));
		got = vmm_alloc_pages_bulk(m, VMM_GFP_KERNEL, -1, NULL, BULK_NR, pages);
		if (!got)
			return false;
		if (c->one_by_one)
			for (unsigned long k = 0; k < got; k++)
				vmm_free_pages(m, pages[k], 0);
		else
			vmm_free_pages_bulk(m, got, pages);
		done += got;
	}
	c->e.steps_done = done;
	return true;
}

static bool run_steps(struct bench_entry *e, long steps)
{
	struct bench_case *c = to_case(e);

	e->steps_done = (uint64_t)steps;
	if (c->kind == VMM_BULK)
		return run_bulk(c, steps);
	return c->ring ? run_ring(c, steps) : run_pairs(c, steps);
}

/* ---- setup and teardown ---- */

static bool case_available(const struct bench_entry *e)
{
	const struct bench_case *c = (const struct bench_case *)e;

	if (c->kind != HOST_PAIR)
		return case_machine(c) != NULL;
	return bench_host_available(c->api);
}

static bool ring_fill(struct bench_entry *e)
{
	struct bench_case *c = to_case(e);

	if (!c->ring)
		return true;
	for (unsigned i = 0; i < RING_SIZE; i++) {
		c->ring_slots[i] = case_alloc(c);
		if (!c->ring_slots[i])
			return false;
	}
	c->ring_pos = 0;
	return true;
}

static void ring_drop(struct bench_entry *e)
{
	struct bench_case *c = to_case(e);

	for (unsigned i = 0; i < RING_SIZE; i++)
		if (c->ring_slots[i])
			case_free(c, c->ring_slots[i]);
	memset(c->ring_slots, 0, sizeof(c->ring_slots));
}

static int create_machines(void)
{
	struct vmm_config cfg;
	int err;

	vmm_config_init(&cfg);
	err = vmm_machine_create(&cfg, &machine_pcp);
	if (!err)
		err = vmm_machine_create(&cfg, &machine_nopcp);
	if (err) {
		fprintf(stderr, "bench_page_alloc: vmm_machine_create: %s\n", vmm_strerror(err));
		return err;
	}
	vmm_zone_pcp_disable(machine_nopcp);
	return 0;
}

static int destroy_machines(void)
{
	vmm_machine_destroy(&machine_pcp);
	vmm_machine_destroy(&machine_nopcp);
	return 0;
}

/* ---- output ---- */

static void print_ratios(void);

static const struct bench_suite suite = {
	.prog = "bench_page_alloc",
	.title = "host cost of libvmm's page allocator, per step",
	.setting = "default machine, CPU 0, GFP_KERNEL (node 0 DMA32)",
	.script = "bench/callgrind_page_alloc.sh",
	BENCH_CASES(cases),
	.setup = create_machines,
	.available = case_available,
	.prepare = ring_fill,
	.run = run_steps,
	.teardown = ring_drop,
	.report = print_ratios,
	.cleanup = destroy_machines,
};

static void print_ratios(void)
{
	bench_print_ratio(&suite, "order-0 pcp pair / glibc 4 KiB pair", "pcp0", "glibc-4k",
			  GOAL_PCP0_OVER_GLIBC);
	bench_print_ratio(&suite, "order-0 pcp pair / jemalloc malloc+free 4 KiB", "pcp0",
			  "je-4k", GOAL_PCP0_OVER_JEMALLOC);
	bench_print_ratio(&suite, "order-0 pcp pair / jemalloc mallocx+sdallocx 4 KiB", "pcp0",
			  "jex-4k", 0);
	bench_print_ratio(&suite, "bulk 64 per page / order-0 pcp pair", "bulk64", "pcp0",
			  GOAL_BULK_OVER_PAIR);
	bench_print_ratio(&suite, "bulk 64, single frees, per page / order-0 pcp pair",
			  "bulk64-1by1", "pcp0", 0);
	bench_print_ratio(&suite, "order-0 pcp disabled / pcp", "nopcp0", "pcp0", 0);
	bench_print_ratio(&suite, "order-3 pair / glibc 32 KiB pair", "order3", "glibc-32k", 0);
	bench_print_ratio(&suite, "order-3 pair / jemalloc malloc+free 32 KiB", "order3",
			  "je-32k", 0);
	bench_print_ratio(&suite, "ring: order-0 pcp / glibc 4 KiB", "pcp0-ring",
			  "glibc-4k-ring", 0);
	bench_print_ratio(&suite, "ring: order-0 pcp / jemalloc 4 KiB", "pcp0-ring",
			  "je-4k-ring", 0);
	bench_print_ns_goal(&suite, "order-3 pair, ns", "order3", GOAL_ORDER3_NS);
}

int main(int argc, char **argv)
{
	return bench_main(&suite, argc, argv);
}
