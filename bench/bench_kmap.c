/* SPDX-License-Identifier: MIT */
/*
 * bench_kmap: what kmap + kunmap and kmap_atomic + kunmap_atomic cost the
 * host per pair, and the simulated cycles they charge.
 *
 * Two machines: the default one (no cap: every page is lowmem, kmap is the
 * direct-map address) and the same with direct_map_limit = 896 MiB (the
 * frames above are ZONE_HIGHMEM), CPU 0, pages from GFP_HIGHUSER.
 *
 *   kmap-nocap        vmm_kmap + vmm_kunmap of one page, no cap
 *   kmap-high         the same on one highmem page: after the first call its
 *                     slot stays hashed at count 1, so each pair is a hash
 *                     hit, count 1 -> 2 -> 1 (Linux's common case)
 *   kmap-high-ring    kmap + kunmap over 1024 highmem pages in turn: every
 *                     pair takes a new slot, every 512th wraps and flushes
 *                     the slots and every CPU's TLB (IPIs)
 *   atomic-nocap      vmm_kmap_atomic + vmm_kunmap_atomic, no cap (no slot)
 *   atomic-high       the same on a highmem page: a fixmap PTE set, cleared
 *                     and INVLPG'd on CPU 0
 *
 * libvmm is called as an embedder calls it: the shared library, public API.
 * After the table, each case's simulated cycles per pair (all categories of
 * CPU 0, averaged over every measured step) follow. The exit status never
 * depends on wall time. --callgrind marks each loop for callgrind as
 * bench_slab does (bench/callgrind_bench.sh build/bench/bench_kmap).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <vmm/vmm.h>

#include "bench_harness.h"

#define RING_PAGES 1024
#define HIGHMEM_LIMIT (896ull << 20)

enum case_kind { KMAP, KMAP_RING, KMAP_ATOMIC };

struct bench_case {
	struct bench_entry e;
	enum case_kind kind;
	bool capped;		/* on the machine with ZONE_HIGHMEM */
	uint64_t cycles, steps;	/* simulated cycles of CPU 0 over all measured steps */
	unsigned pos;		/* KMAP_RING: the next page */
};

#define KCASE(n, l, k, cap)                                          \
	{                                                            \
		.e = {.name = (n), .label = (l)}, .kind = (k), .capped = (cap) \
	}

static struct bench_case cases[] = {
	KCASE("kmap-nocap", "kmap+kunmap, no cap (direct map)", KMAP, false),
	KCASE("kmap-high", "kmap+kunmap of a highmem page (hash hit)", KMAP, true),
	KCASE("kmap-high-ring", "kmap+kunmap over 1024 highmem pages", KMAP_RING, true),
	KCASE("atomic-nocap", "kmap_atomic+kunmap_atomic, no cap", KMAP_ATOMIC, false),
	KCASE("atomic-high", "kmap_atomic+kunmap_atomic of a highmem page", KMAP_ATOMIC, true),
};

static vmm_machine *machines[2];	/* [0] no cap, [1] capped */
static struct vmm_page *ring[2][RING_PAGES];

static struct bench_case *to_case(struct bench_entry *e)
{
	return (struct bench_case *)e;
}

static uint64_t cpu0_cycles(vmm_machine *m)
{
	uint64_t c = 0;

	vmm_cpu_cycles(m, 0, VMM_CYC_NR_CATEGORIES, &c);
	return c;
}

/* ---- the measured loops ---- */

static bool run_kmap(vmm_machine *m, struct vmm_page *pg, long steps)
{
	for (long i = 0; i < steps; i++) {
		vmm_vaddr_t va;

		if (vmm_kmap(m, pg, &va))
			return false;
		clobber((void *)(uintptr_t)va);
		vmm_kunmap(m, pg);
	}
	return true;
}

static bool run_kmap_ring(vmm_machine *m, struct vmm_page **pages, unsigned *pos, long steps)
{
	unsigned p = *pos;

	for (long i = 0; i < steps; i++) {
		vmm_vaddr_t va;

		if (vmm_kmap(m, pages[p], &va))
			return false;
		clobber((void *)(uintptr_t)va);
		vmm_kunmap(m, pages[p]);
		p = p + 1 == RING_PAGES ? 0 : p + 1;
	}
	*pos = p;
	return true;
}

static bool run_kmap_atomic(vmm_machine *m, struct vmm_page *pg, long steps)
{
	for (long i = 0; i < steps; i++) {
		vmm_vaddr_t va;

		if (vmm_kmap_atomic(m, pg, &va))
			return false;
		clobber((void *)(uintptr_t)va);
		vmm_kunmap_atomic(m, va);
	}
	return true;
}

static bool run_steps(struct bench_entry *e, long steps)
{
	struct bench_case *c = to_case(e);
	vmm_machine *m = machines[c->capped];
	struct vmm_page **pages = ring[c->capped];
	uint64_t before = cpu0_cycles(m);
	bool ok;

	switch (c->kind) {
	case KMAP:
		ok = run_kmap(m, pages[0], steps);
		break;
	case KMAP_RING:
		ok = run_kmap_ring(m, pages, &c->pos, steps);
		break;
	default:
		ok = run_kmap_atomic(m, pages[0], steps);
		break;
	}
	if (!ok) {
		fprintf(stderr, "bench_kmap: %s: a kmap failed\n", e->name);
		exit(1);
	}
	c->cycles += cpu0_cycles(m) - before;
	c->steps += (uint64_t)steps;
	e->steps_done = (uint64_t)steps;
	return true;
}

/* ---- setup ---- */

static int setup(void)
{
	for (int capped = 0; capped < 2; capped++) {
		struct vmm_config cfg;
		int err;

		vmm_config_init(&cfg);
		cfg.direct_map_limit = capped ? HIGHMEM_LIMIT : 0;
		if ((err = vmm_machine_create(&cfg, &machines[capped]))) {
			fprintf(stderr, "bench_kmap: creating a machine: %s\n", vmm_strerror(err));
			return err;
		}
		for (unsigned i = 0; i < RING_PAGES; i++) {
			ring[capped][i] = vmm_alloc_pages(machines[capped], VMM_GFP_HIGHUSER, 0);
			if (!ring[capped][i] ||
			    vmm_page_highmem(machines[capped], ring[capped][i]) != capped) {
				fprintf(stderr, "bench_kmap: no %s page\n",
					capped ? "highmem" : "lowmem");
				return -1;
			}
		}
	}
	return 0;
}

static bool always(const struct bench_entry *e)
{
	(void)e;
	return true;
}

static bool prepare(struct bench_entry *e)
{
	(void)e;
	return true;
}

static int cleanup(void)
{
	long problems = 0;

	for (int capped = 0; capped < 2; capped++) {
		for (unsigned i = 0; i < RING_PAGES; i++)
			vmm_free_pages(machines[capped], ring[capped][i], 0);
		problems += vmm_machine_check(machines[capped], stderr);
		vmm_machine_destroy(&machines[capped]);
	}
	return problems != 0;
}

static void report(void)
{
	printf("\nsimulated cycles per pair (CPU 0, all categories):\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (cases[i].steps)
			printf("  %-16s %8.1f\n", cases[i].e.name,
			       (double)cases[i].cycles / (double)cases[i].steps);
}

static const struct bench_suite suite = {
	.prog = "bench_kmap",
	.title = "host cost of libvmm's kmap and kmap_atomic, per map+unmap pair",
	.setting = "default machine without and with direct_map_limit 896 MiB, CPU 0, GFP_HIGHUSER "
		   "pages",
	.script = "bench/callgrind_bench.sh build/bench/bench_kmap",
	BENCH_CASES(cases),
	.setup = setup,
	.available = always,
	.prepare = prepare,
	.run = run_steps,
	.teardown = NULL,
	.report = report,
	.cleanup = cleanup,
};

int main(int argc, char **argv)
{
	return bench_main(&suite, argc, argv);
}
