/* SPDX-License-Identifier: MIT */
/*
 * bench_vmalloc: what libvmm's vmalloc costs the host per call, beside the
 * host's own allocators measured in the same run, and what it charges the
 * simulated CPU.
 *
 * libvmm cases, on the default machine (vmm_config_init(): two nodes, four
 * CPUs, so lazy_max_pages is 24576), CPU 0:
 *
 *   vzalloc4     vmm_vzalloc + vmm_vfree of 4 pages (the goal:
 *                <= 0.5 us, half of the ~0.95 us Linux's test_vmalloc
 *                module reports for the pair, zeroing included)
 *   vzalloc64    the same for 64 pages
 *   vmalloc4     vmm_vmalloc + vmm_vfree of 4 pages, no zeroing
 *   vmalloc64    the same for 64 pages
 *   vmalloc4-ring  256 areas of 4 pages stay live; each round makes 256
 *                new ones, then frees the 256 oldest
 *
 * Each pair runs the whole path: a vmap_area from its slab cache, a
 * vm_struct and the page array from kmalloc, the first-fit search in the
 * augmented free tree, the pages in bulk from the per-CPU lists, zeroing
 * (vzalloc), the PTEs through init_mm's tables; vfree clears the PTEs, frees
 * the pages and objects and puts the area on the lazy list. Every ~4900
 * pairs of 4 pages the lazy areas pass lazy_max_pages and the purge runs
 * (one full TLB flush on every CPU with its IPIs, ~4900 areas merged back
 * into the free tree): its cost is spread over the pairs, as Linux's is.
 *
 * host references, same sizes (16 KiB and 256 KiB): glibc malloc + free,
 * calloc + free (which clears), jemalloc's own malloc + free and mallocx +
 * sdallocx. A host allocator hands back memory it mapped before; vmalloc
 * also allocates frames, maps them and tears the mapping down, so the ratios
 * are context, not goals.
 *
 * For every libvmm case the report adds the simulated cycles per pair that
 * the simulated CPU 0 was charged (all categories, and the largest ones),
 * and that figure in microseconds at the machine's clock (3 GHz).
 *
 * --callgrind: see bench/callgrind_vmalloc.sh. The harness (options, turns,
 * medians, callgrind marks, the host allocators) is bench_harness.c's.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/vmm.h>

#include "bench_harness.h"

/* The goal for a 4-page vzalloc + vfree. */
#define GOAL_VZALLOC4_NS 500.0

#define LIVE BENCH_HOST_LIVE
#define PAGE 4096u

enum case_kind {
	V_PAIR,	     /* vmm_vmalloc or vmm_vzalloc + vmm_vfree */
	HOST_PAIR,   /* the harness's host allocator pairs */
	HOST_CALLOC, /* glibc calloc + free */
};

struct bench_case {
	struct bench_entry e;
	enum case_kind kind;
	bool zero; /* V_PAIR: vzalloc */
	bool ring; /* V_PAIR: LIVE areas live, in rounds */
	size_t bytes;
	enum bench_host_api api; /* HOST_PAIR */
	unsigned divisor;	 /* run steps / divisor (large cases) */

	/* simulated cycles charged to CPU 0 over the measured runs, in total and by category */
	uint64_t sim_steps, sim_cycles, sim_cat[VMM_CYC_NR_CATEGORIES];
	vmm_vaddr_t objs[2 * LIVE];
	bool half;
};

#define VCASE(n, l, zero_, pages, ring_, div)                                        \
	{                                                                            \
		.e = { .name = (n), .label = (l) }, .kind = V_PAIR, .zero = (zero_), \
		.bytes = (pages)*PAGE, .ring = (ring_), .divisor = (div)             \
	}
#define HCASE(n, l, a, b, div)                                                                   \
	{                                                                                        \
		.e = { .name = (n), .label = (l) }, .kind = HOST_PAIR, .api = (a), .bytes = (b), \
		.divisor = (div)                                                                 \
	}
#define CCASE(n, l, b, div)                                                            \
	{                                                                              \
		.e = { .name = (n), .label = (l) }, .kind = HOST_CALLOC, .bytes = (b), \
		.divisor = (div)                                                       \
	}

static struct bench_case cases[] = {
	VCASE("vzalloc4", "vzalloc+vfree 4 pages", true, 4, false, 1),
	VCASE("vmalloc4", "vmalloc+vfree 4 pages", false, 4, false, 1),
	VCASE("vmalloc4-ring", "vmalloc+vfree 4 pages, ring 256", false, 4, true, 1),
	VCASE("vzalloc64", "vzalloc+vfree 64 pages", true, 64, false, 8),
	VCASE("vmalloc64", "vmalloc+vfree 64 pages", false, 64, false, 8),
	HCASE("glibc-16k", "glibc malloc+free 16 KiB", BENCH_GLIBC, 16384, 1),
	CCASE("calloc-16k", "glibc calloc+free 16 KiB", 16384, 1),
	HCASE("je-16k", "jemalloc malloc+free 16 KiB", BENCH_JE_MALLOC, 16384, 1),
	HCASE("jex-16k", "jemalloc mallocx+sdallocx 16 KiB", BENCH_JE_MALLOCX, 16384, 1),
	HCASE("glibc-256k", "glibc malloc+free 256 KiB", BENCH_GLIBC, 262144, 8),
	CCASE("calloc-256k", "glibc calloc+free 256 KiB", 262144, 8),
	HCASE("je-256k", "jemalloc malloc+free 256 KiB", BENCH_JE_MALLOC, 262144, 8),
};
static vmm_machine *machine;

static struct bench_case *to_case(struct bench_entry *e)
{
	return (struct bench_case *)e;
}

static void die_alloc(const struct bench_case *c, const char *where)
{
	fprintf(stderr, "bench_vmalloc: %s: allocation failed (%s)\n", c->e.name, where);
	exit(1);
}

/* ---- the measured loops ---- */

static bool run_pairs(struct bench_case *c, long steps)
{
	vmm_machine *m = machine;
	const size_t bytes = c->bytes;

	switch (c->kind) {
	case V_PAIR:
		if (c->zero)
			BENCH_PAIR_LOOP(vmm_vaddr_t, vmm_vzalloc(m, bytes), vmm_vfree(m, p));
		else
			BENCH_PAIR_LOOP(vmm_vaddr_t, vmm_vmalloc(m, bytes), vmm_vfree(m, p));
		break;
	case HOST_CALLOC:
		BENCH_PAIR_LOOP(void *, calloc(1, bytes), free(p));
		break;
	default:
		return bench_host_pairs(c->api, bytes, steps);
	}
	return true;
failed:
	return false;
}

static bool run_ring(struct bench_case *c, long steps)
{
	vmm_machine *m = machine;
	const size_t bytes = c->bytes;
	vmm_vaddr_t *slots = c->objs;
	bool half = c->half;

	c->e.steps_done = (uint64_t)(steps + LIVE - 1) / LIVE * LIVE;
	BENCH_BURST_LOOP(vmm_vaddr_t, LIVE, vmm_vmalloc(m, bytes), vmm_vfree(m, p));
	c->half = half;
	return true;
failed:
	c->half = half;
	return false;
}

/* Simulated cycles of CPU 0: the total and each category. */
static void sim_read(uint64_t *total, uint64_t *cat)
{
	vmm_cpu_cycles(machine, 0, VMM_CYC_NR_CATEGORIES, total);
	for (int k = 0; k < VMM_CYC_NR_CATEGORIES; k++)
		vmm_cpu_cycles(machine, 0, (enum vmm_cycle_category)k, &cat[k]);
}

static bool run_steps(struct bench_entry *e, long steps)
{
	struct bench_case *c = to_case(e);
	uint64_t t0 = 0, t1 = 0, c0[VMM_CYC_NR_CATEGORIES], c1[VMM_CYC_NR_CATEGORIES];
	bool ok;

	steps = steps / c->divisor ? steps / c->divisor : 1;
	e->steps_done = (uint64_t)steps;
	if (c->kind == V_PAIR)
		sim_read(&t0, c0);
	ok = c->ring ? run_ring(c, steps) : run_pairs(c, steps);
	if (!ok)
		die_alloc(c, "measured loop");
	if (c->kind == V_PAIR) {
		sim_read(&t1, c1);
		c->sim_steps += e->steps_done;
		c->sim_cycles += t1 - t0;
		for (int k = 0; k < VMM_CYC_NR_CATEGORIES; k++)
			c->sim_cat[k] += c1[k] - c0[k];
	}
	return true;
}

/* ---- setup and teardown ---- */

static bool case_available(const struct bench_entry *e)
{
	const struct bench_case *c = (const struct bench_case *)e;

	return c->kind != HOST_PAIR || bench_host_available(c->api);
}

static bool ring_fill(struct bench_entry *e)
{
	struct bench_case *c = to_case(e);

	c->half = false;
	for (unsigned i = 0; c->ring && i < LIVE; i++)
		if (!(c->objs[i] = vmm_vmalloc(machine, c->bytes)))
			die_alloc(c, "ring fill");
	return true;
}

static void ring_drop(struct bench_entry *e)
{
	struct bench_case *c = to_case(e);
	const unsigned base = c->half ? LIVE : 0;

	for (unsigned i = base; c->ring && e->usable && i < base + LIVE; i++)
		vmm_vfree(machine, c->objs[i]);
	memset(c->objs, 0, sizeof(c->objs));
}

static int create_machine(void)
{
	struct vmm_config cfg;
	int err;

	vmm_config_init(&cfg);
	err = vmm_machine_create(&cfg, &machine);
	if (!err)
		err = vmm_machine_set_current_cpu(machine, 0);
	if (err)
		fprintf(stderr, "bench_vmalloc: creating the machine: %s\n", vmm_strerror(err));
	return err;
}

static int destroy_machine(void)
{
	long problems;

	vmm_vm_unmap_aliases(machine);
	problems = vmm_machine_check(machine, stderr);
	if (problems)
		fprintf(stderr, "bench_vmalloc: the machine check found %ld problems\n", problems);
	vmm_machine_destroy(&machine);
	return problems != 0;
}

/* ---- output ---- */

static void print_ratios(void);

static const struct bench_suite suite = {
	.prog = "bench_vmalloc",
	.title = "host cost of libvmm's vmalloc and vfree, per pair",
	.setting = "default machine (2 nodes, 4 CPUs), CPU 0, GFP_KERNEL; 64-page and 256 KiB "
		   "cases run an eighth of the steps",
	.script = "bench/callgrind_vmalloc.sh",
	BENCH_CASES(cases),
	.setup = create_machine,
	.available = case_available,
	.prepare = ring_fill,
	.run = run_steps,
	.teardown = ring_drop,
	.report = print_ratios,
	.cleanup = destroy_machine,
};

/* Simulated cycles per pair of each libvmm case, and their largest categories. */
static void print_sim_cycles(void)
{
	const struct vmm_config *cfg = vmm_machine_config(machine);

	printf("\nsimulated cycles charged to CPU 0 per pair (purges spread over the pairs):\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bench_case *c = &cases[i];
		double per;

		if (c->kind != V_PAIR || !c->sim_steps)
			continue;
		per = (double)c->sim_cycles / (double)c->sim_steps;
		printf("  %-32s %9.0f cycles = %6.3f us at %u MHz:", c->e.label, per,
		       per / cfg->cpu_mhz, cfg->cpu_mhz);
		for (int k = 0; k < VMM_CYC_NR_CATEGORIES; k++) {
			double v = (double)c->sim_cat[k] / (double)c->sim_steps;

			if (v >= 0.05 * per)
				printf(" %s %.0f",
				       vmm_cycle_category_name((enum vmm_cycle_category)k), v);
		}
		printf("\n");
	}
}

static void print_ratios(void)
{
	bench_print_ns_goal(&suite, "vzalloc+vfree 4 pages (ns)", "vzalloc4", GOAL_VZALLOC4_NS);
	bench_print_ratio(&suite, "vzalloc 4 / vmalloc 4 (zeroing's share)", "vzalloc4", "vmalloc4",
			  0);
	bench_print_ratio(&suite, "vzalloc 64 / vzalloc 4", "vzalloc64", "vzalloc4", 0);
	bench_print_ratio(&suite, "vmalloc 64 / vmalloc 4", "vmalloc64", "vmalloc4", 0);
	bench_print_ratio(&suite, "ring: vmalloc 4 / clean", "vmalloc4-ring", "vmalloc4", 0);
	bench_print_ratio(&suite, "vzalloc 4 / glibc calloc+free 16 KiB", "vzalloc4", "calloc-16k",
			  0);
	bench_print_ratio(&suite, "vmalloc 4 / glibc malloc+free 16 KiB", "vmalloc4", "glibc-16k",
			  0);
	bench_print_ratio(&suite, "vmalloc 4 / jemalloc malloc+free 16 KiB", "vmalloc4", "je-16k",
			  0);
	bench_print_ratio(&suite, "vzalloc 64 / glibc calloc+free 256 KiB", "vzalloc64",
			  "calloc-256k", 0);
	bench_print_ratio(&suite, "vmalloc 64 / jemalloc malloc+free 256 KiB", "vmalloc64",
			  "je-256k", 0);
	print_sim_cycles();
}

int main(int argc, char **argv)
{
	return bench_main(&suite, argc, argv);
}
