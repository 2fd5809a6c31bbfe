/* SPDX-License-Identifier: MIT */
/*
 * bench_mmu: host cost of the simulated MMU.
 *
 *   loop          the l1_hit loop without the translation (address, sums,
 *                 loop control): subtract it from l1_hit for the
 *                 translation alone
 *   l1_hit        a read that hits the L1 DTLB (the inline fast path,
 *                 vmm_mmu_translate: the DTLB's memo, a rights test, an LRU
 *                 stamp), 16 pages in turn, one per set
 *   l1_hit_same   a read that hits the L1 DTLB on the page of the access
 *                 before (the same path: nothing is kept per last page)
 *   l1_hit_api    l1_hit through the public vmm_cpu_translate()
 *   walk4_nopwc   a TLB miss that walks all 4 levels (no paging-structure
 *                 caches configured), cycling over 65536 pages
 *   walk4_pwc     the same with the default PWCs: the PDE cache serves all
 *                 but one walk in 512, so the walk reads one entry
 *   walk5_nopwc   5-level paging, 5 entries per walk
 *   walk5_pwc     5-level paging with the default PWCs
 *   replay_1g     random 8-byte reads over 1 GiB mapped by one 1 GiB page,
 *                 through the accounting access path (translate, count,
 *                 charge TLB and data cycles): the hit path
 *   replay_2m     the same over 512 2 MiB pages
 *   replay_4k     the same over 262144 4 KiB pages (mostly walks)
 *   replay_1g_api replay_1g through the public vmm_cpu_access()
 *
 * Each prints host ns/op and simulated cycles/op. Instructions/op come from
 * callgrind: bench/mmu-callgrind.sh runs each benchmark twice with
 * different iteration counts under valgrind --tool=callgrind and divides
 * the difference, which cancels setup cost.
 *
 * Goals (issue 5), printed as PASS/MISS for information only: L1 hit <= 3 ns
 * (and <= 25 instructions), 4-level miss <= 300 instructions, >= 100 M
 * accesses/s on the hit path. Wall-clock time is host-side only.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vmm/vmm.h>

#include "bench_util.h"

#include "machine.h"
#include "mm/buddy.h"
#include "mm/sparse.h"
#include "sim/cpu.h"
#include "sim/mmu.h"

#define GIB (1ull << 30)
#define MIB (1ull << 20)

static volatile uint64_t sink;

/* ---- page tables (zeroed GFP_KERNEL frames, as the tests take them) ---- */

static vmm_paddr_t frame(vmm_machine *m)
{
	struct vmm_page *pg = vmm_alloc_pages_node(m, 0, VMM_GFP_KERNEL | VMM_GFP_ZERO, 0);

	if (!pg) {
		fprintf(stderr, "bench_mmu: out of simulated memory\n");
		exit(1);
	}
	return vmm_page_to_pfn(m, pg) << 12;
}

static void map(vmm_machine *m, vmm_paddr_t root, unsigned levels, uint64_t va, vmm_paddr_t pa,
		unsigned shift)
{
	unsigned leaf = shift == 12 ? 1 : shift == 21 ? 2 : 3;
	vmm_paddr_t table = root;

	for (unsigned l = levels; l > leaf; l--) {
		uint64_t *e = vmm_phys_to_host(m, table + ((va >> (12 + 9 * (l - 1))) & 511) * 8);

		if (!(*e & VMM_PTE_PRESENT))
			*e = frame(m) | VMM_PTE_PRESENT | VMM_PTE_RW | VMM_PTE_USER |
			     VMM_PTE_ACCESSED;
		table = *e & VMM_PTE_ADDR_MASK;
	}
	*(uint64_t *)vmm_phys_to_host(m, table + ((va >> (12 + 9 * (leaf - 1))) & 511) * 8) =
		pa | VMM_PTE_PRESENT | VMM_PTE_RW | VMM_PTE_ACCESSED | VMM_PTE_DIRTY |
		(leaf > 1 ? VMM_PTE_PS : 0);
}

struct setup {
	vmm_machine *m;
	vmm_cpu *cpu;
	vmm_paddr_t root;
	unsigned levels;
};

static void setup(struct setup *s, unsigned levels, bool pwc)
{
	struct vmm_config cfg;

	vmm_config_init(&cfg);
	cfg.paging_levels = levels;
	cfg.cpus = 1;
	if (!pwc)
		memset(cfg.pwc, 0, sizeof(cfg.pwc));
	if (vmm_machine_create(&cfg, &s->m)) {
		fprintf(stderr, "bench_mmu: cannot create the machine\n");
		exit(1);
	}
	s->cpu = vmm_machine_cpu(s->m, 0);
	s->levels = levels;
	s->root = frame(s->m);
	vmm_cpu_set_reg(s->cpu, VMM_REG_CR3, s->root);
}

#define BASE 0x00007f0000000000ull

/* ---- the benchmarks; each returns simulated cycles and sets *ops ---- */

struct result {
	const char *name;
	uint64_t ops;
	double ns;
	double cycles;		/* simulated cycles per op */
	double refs;		/* walker references per op */
};

static void bench_l1_hit(struct result *r, uint64_t iters, uint64_t page_mask, bool api)
{
	struct setup s;
	struct mmu_xlat x;
	uint64_t t0, acc = 0, cyc = 0;

	setup(&s, 4, true);
	for (unsigned i = 0; i < 16; i++)
		map(s.m, s.root, 4, BASE + i * 4096ull, 0x200000 + i * 4096ull, 12);
	for (unsigned i = 0; i < 16; i++)
		vmm_mmu_translate(s.cpu, BASE + i * 4096ull, ACC_READ, MODE_SUPER, 0, &x);
	t0 = now_ns();
	if (api) {
		struct vmm_translation t;

		for (uint64_t i = 0; i < iters; i++) {
			vmm_cpu_translate(s.cpu, BASE + ((i & page_mask) << 12) + 8, 0, &t);
			acc += t.paddr;
			cyc += t.cycles;
		}
	} else {
		for (uint64_t i = 0; i < iters; i++) {
			vmm_mmu_translate(s.cpu, BASE + ((i & page_mask) << 12) + 8,
					  ACC_READ, MODE_SUPER, 0, &x);
			acc += x.pa;
			cyc += x.cyc_tlb;
		}
	}
	r->ns = (double)(now_ns() - t0) / (double)iters;
	r->ops = iters;
	r->cycles = (double)cyc / (double)iters;
	sink = acc;
	vmm_machine_destroy(&s.m);
}

#define WALK_PAGES 65536u

static void bench_walk(struct result *r, uint64_t iters, unsigned levels, bool pwc)
{
	struct setup s;
	struct mmu_xlat x;
	uint64_t t0, acc = 0, cyc = 0, refs = 0;

	setup(&s, levels, pwc);
	for (unsigned i = 0; i < WALK_PAGES; i++)
		map(s.m, s.root, levels, BASE + i * 4096ull, 0x200000 + (i & 255) * 4096ull, 12);
	/* one round to create the tables' A flags and warm everything */
	for (unsigned i = 0; i < WALK_PAGES; i++)
		vmm_mmu_translate(s.cpu, BASE + i * 4096ull, ACC_READ, MODE_SUPER, 0, &x);
	t0 = now_ns();
	for (uint64_t i = 0; i < iters; i++) {
		vmm_mmu_translate(s.cpu, BASE + (i % WALK_PAGES) * 4096ull, ACC_READ, MODE_SUPER, 0,
				  &x);
		acc += x.pa;
		cyc += x.cyc_tlb + x.cyc_walk;
		refs += x.walk_refs;
	}
	r->ns = (double)(now_ns() - t0) / (double)iters;
	r->ops = iters;
	r->cycles = (double)cyc / (double)iters;
	r->refs = (double)refs / (double)iters;
	sink = acc;
	vmm_machine_destroy(&s.m);
}

/* The accounting access path: translate, count, charge TLB/walk and data cycles. */
static inline uint64_t replay_access(vmm_cpu *cpu, uint64_t va)
{
	struct mmu_xlat x;

	vmm_mmu_translate(cpu, va, ACC_READ, MODE_SUPER, MMU_ACCOUNT, &x);
	vmm_clock_charge(&cpu->m->clock, cpu->id, VMM_CYC_TLB, x.cyc_tlb);
	if (x.cyc_walk)
		vmm_clock_charge(&cpu->m->clock, cpu->id, VMM_CYC_WALK, x.cyc_walk);
	vmm_clock_charge(&cpu->m->clock, cpu->id, VMM_CYC_MEM, cpu->mem_cost[0]);
	return x.pa;
}

static void bench_replay(struct result *r, uint64_t iters, unsigned shift, bool api)
{
	struct setup s;
	uint64_t t0, acc = 0, rng = 0x9e3779b97f4a7c15ull, c0;

	setup(&s, 4, true);
	/* 1 GiB of virtual space onto the first GiB of node 0 (holes included: the
	 * walker and the TLB do not care what the frames hold) */
	for (uint64_t off = 0; off < GIB; off += 1ull << shift)
		map(s.m, s.root, 4, BASE + off, off, shift);
	c0 = vmm_cpu_clock_cycles(&s.m->clock.cpu[0]);
	t0 = now_ns();
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t va;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		va = BASE + (rng & (GIB - 8) & ~7ull);
		if (api) {
			struct vmm_access_result ar;

			vmm_cpu_access(s.cpu, va, 8, 0, &ar);
			acc += ar.paddr;
		} else {
			acc += replay_access(s.cpu, va);
		}
	}
	r->ns = (double)(now_ns() - t0) / (double)iters;
	r->ops = iters;
	r->cycles = (double)(vmm_cpu_clock_cycles(&s.m->clock.cpu[0]) - c0) / (double)iters;
	sink = acc;
	vmm_machine_destroy(&s.m);
}

/* The l1_hit loop with the translation taken out, for the harness's share of its figure. */
static void bench_loop(struct result *r, uint64_t iters)
{
	uint64_t t0 = now_ns(), acc = 0, cyc = 0;

	for (uint64_t i = 0; i < iters; i++) {
		uint64_t va = BASE + ((i & 15) << 12) + 8;

		__asm__ volatile("" : "+r"(va));	/* an opaque "translation" */
		acc += va;
		cyc += va & 1;	/* a second sum, as in l1_hit (always 0 here) */
	}
	r->ns = (double)(now_ns() - t0) / (double)iters;
	r->ops = iters;
	r->cycles = (double)cyc / (double)iters;
	sink = acc;
}

struct bench {
	const char *name;
	uint64_t iters;		/* default */
	int kind;
};

enum { B_LOOP, B_L1, B_L1_SAME, B_L1_API, B_W4, B_W4P, B_W5, B_W5P, B_R1G, B_R2M, B_R4K,
       B_R1G_API };

static const struct bench benches[] = {
	{ "loop", 200000000, B_LOOP },
	{ "l1_hit", 200000000, B_L1 },	      { "l1_hit_same", 200000000, B_L1_SAME },
	{ "l1_hit_api", 50000000, B_L1_API },
	{ "walk4_nopwc", 10000000, B_W4 },    { "walk4_pwc", 10000000, B_W4P },
	{ "walk5_nopwc", 10000000, B_W5 },    { "walk5_pwc", 10000000, B_W5P },
	{ "replay_1g", 100000000, B_R1G },    { "replay_2m", 100000000, B_R2M },
	{ "replay_4k", 10000000, B_R4K },     { "replay_1g_api", 100000000, B_R1G_API },
};

static void run(const struct bench *b, uint64_t iters, struct result *r)
{
	memset(r, 0, sizeof(*r));
	r->name = b->name;
	switch (b->kind) {
	case B_LOOP: bench_loop(r, iters); break;
	case B_L1: bench_l1_hit(r, iters, 15, false); break;
	case B_L1_SAME: bench_l1_hit(r, iters, 0, false); break;
	case B_L1_API: bench_l1_hit(r, iters, 15, true); break;
	case B_W4: bench_walk(r, iters, 4, false); break;
	case B_W4P: bench_walk(r, iters, 4, true); break;
	case B_W5: bench_walk(r, iters, 5, false); break;
	case B_W5P: bench_walk(r, iters, 5, true); break;
	case B_R1G: bench_replay(r, iters, 30, false); break;
	case B_R2M: bench_replay(r, iters, 21, false); break;
	case B_R4K: bench_replay(r, iters, 12, false); break;
	default: bench_replay(r, iters, 30, true); break;
	}
}

static void usage(FILE *out)
{
	fprintf(out, "usage: bench_mmu [--only NAME]... [--iters N] [--scale F]\n"
		     "  --only NAME  run only this benchmark (repeatable):");
	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++)
		fprintf(out, " %s", benches[i].name);
	fprintf(out, "\n  --iters N    iterations for every benchmark (default: each its own)\n"
		     "  --scale F    multiply the default iterations by F (e.g. 0.001 under valgrind)\n");
}

int main(int argc, char **argv)
{
	bool only[sizeof(benches) / sizeof(benches[0])] = { false }, any = false;
	uint64_t iters = 0;
	double scale = 1.0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			size_t k;

			for (k = 0; k < sizeof(benches) / sizeof(benches[0]); k++)
				if (!strcmp(argv[i + 1], benches[k].name))
					break;
			if (k == sizeof(benches) / sizeof(benches[0])) {
				usage(stderr);
				return 2;
			}
			only[k] = any = true;
			i++;
		} else if (!strcmp(argv[i], "--iters") && i + 1 < argc) {
			iters = strtoull(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--scale") && i + 1 < argc) {
			scale = strtod(argv[++i], NULL);
		} else {
			usage(!strcmp(argv[i], "--help") ? stdout : stderr);
			return !strcmp(argv[i], "--help") ? 0 : 2;
		}
	}
	printf("bench_mmu: libvmm %s, host time per simulated translation/access\n",
	       vmm_version_string());
	printf("%-14s %12s %10s %14s %12s %10s  %s\n", "benchmark", "ops", "ns/op", "M ops/s",
	       "sim cyc/op", "refs/op", "goal");
	for (size_t k = 0; k < sizeof(benches) / sizeof(benches[0]); k++) {
		struct result r;
		uint64_t n = iters ? iters : (uint64_t)((double)benches[k].iters * scale);
		const char *goal = "";

		if (any && !only[k])
			continue;
		if (!n)
			n = 1;
		run(&benches[k], n, &r);
		if (benches[k].kind == B_L1 || benches[k].kind == B_L1_SAME)
			goal = r.ns <= 3.0 ? "<= 3 ns: PASS" : "<= 3 ns: MISS";
		else if (benches[k].kind == B_R1G)
			goal = 1e3 / r.ns >= 100.0 ? ">= 100 M/s: PASS" : ">= 100 M/s: MISS";
		printf("%-14s %12" PRIu64 " %10.2f %14.1f %12.1f %10.2f  %s\n", r.name, r.ops, r.ns,
		       1e3 / r.ns, r.cycles, r.refs, goal);
		fflush(stdout);
	}
	return 0;
}
