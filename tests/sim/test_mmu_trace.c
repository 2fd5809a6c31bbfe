/* SPDX-License-Identifier: MIT */
/*
 * Seeded random traces through the whole MMU: random page tables (every
 * page size, random rights, A/D, G, protection keys, some reserved bits),
 * random register writes (CR0.WP, CR3 with PCIDs and the no-flush bit,
 * CR4.PGE/PCIDE/SMEP/SMAP/PKE, EFER.NXE, RFLAGS.AC, PKRU, CPL), accesses,
 * translations, walks, INVLPG, INVPCID, shootdowns and table edits, on
 * machines with LRU, tree-PLRU and random replacement and with small and
 * default TLB geometries. The CPUs' part of vmm_machine_check() (every TLB
 * and PWC entry against the tables) runs after every step.
 *
 * With --print SEED the test writes every step's result and, every few
 * steps, a digest of the CPUs' registers, counters and cache contents (and
 * replacement state) to stdout, so that two builds of the MMU can be
 * compared line by line: an optimisation of the translation path must not
 * change a single line. Without arguments it runs its seeds as a CMocka
 * test and prints each seed.
 *
 * The same comparison runs inside the test between the fast paths (mmu.c,
 * cpu->fast) and the general ones: on the default geometry under LRU, with
 * and without PWCs, each trace must print the same lines with the fast
 * paths as with them turned off (cpu->fast_off).
 */
#include "mmu_util.h"

#include <inttypes.h>
#include <stdlib.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "lib/prng.h"

#define TRACE_STEPS 3000
#define TRACE_PAGES 96
#define DIGEST_EVERY 16
#define TRACE_SEEDS 12	/* in the test run; --print takes any seed */
#define FAST_SEEDS 4	/* test_fast_paths_agree(): traces of each kind, two runs each */

struct trace {
	vmm_machine *m;
	struct vmm_prng rng;
	struct pt pt[2];		/* two address spaces, for CR3 switches */
	uint64_t va[TRACE_PAGES];	/* the linear addresses the trace uses */
	uint64_t last_va;
	FILE *out;			/* NULL: quiet */
	unsigned levels;
};

static uint64_t below(struct trace *t, uint64_t n)
{
	return vmm_prng_below(&t->rng, n);
}

/* Small geometries make evictions common; ways stay within 16 and up to 32. */
static void small_geometry(struct vmm_config *cfg, struct vmm_prng *rng)
{
	static const struct vmm_tlb_geometry l1[] = { { 0, 0 }, { 4, 4 }, { 8, 2 }, { 16, 4 },
						      { 8, 8 } };
	static const struct vmm_tlb_geometry l2[] = { { 16, 4 }, { 32, 8 }, { 64, 16 },
						      { 32, 32 }, { 0, 0 } };
	static const struct vmm_tlb_geometry pwc[] = { { 0, 0 }, { 2, 2 }, { 4, 4 }, { 8, 2 } };

	for (unsigned i = 0; i < 3; i++) {
		cfg->itlb[i] = l1[vmm_prng_below(rng, ARRAY_SIZE(l1))];
		cfg->dtlb[i] = l1[vmm_prng_below(rng, ARRAY_SIZE(l1))];
	}
	cfg->stlb = l2[vmm_prng_below(rng, ARRAY_SIZE(l2))];
	cfg->stlb_1g = l2[vmm_prng_below(rng, ARRAY_SIZE(l2))];
	for (unsigned i = 0; i < 4; i++)
		cfg->pwc[i] = pwc[vmm_prng_below(rng, ARRAY_SIZE(pwc))];
}

/* The trace makes invalid calls on purpose (#GP cases): keep the log quiet. */
static void quiet_log(void *data, enum vmm_log_level level, enum vmm_log_kind kind,
		      const char *msg)
{
	(void)data, (void)level, (void)kind, (void)msg;
}

/* The machines of a trace: random, or the default geometry under LRU with or without PWCs. */
enum trace_kind { TRACE_RANDOM, TRACE_DEFAULT_PWC, TRACE_DEFAULT_NO_PWC };

static vmm_machine *trace_machine(uint64_t seed, enum trace_kind kind, unsigned *levels)
{
	struct vmm_config cfg;
	struct vmm_prng rng;
	vmm_machine *m;

	vmm_prng_seed(&rng, seed ^ 0x7ace);
	vmm_config_init(&cfg);
	cfg.cpus = 2;
	cfg.seed = seed;
	cfg.log_fn = quiet_log;
	cfg.paging_levels = vmm_prng_below(&rng, 3) ? 4 : 5;
	if (kind == TRACE_RANDOM) {
		cfg.tlb_replacement = (uint32_t)vmm_prng_below(&rng, 3);
		if (vmm_prng_below(&rng, 4))
			small_geometry(&cfg, &rng);
		/* one machine in four has no PWCs, so that every walk starts from CR3 */
		if (!vmm_prng_below(&rng, 4))
			memset(cfg.pwc, 0, sizeof(cfg.pwc));
	} else {
		cfg.tlb_replacement = VMM_TLB_LRU;
		if (kind == TRACE_DEFAULT_NO_PWC)
			memset(cfg.pwc, 0, sizeof(cfg.pwc));
	}
	*levels = cfg.paging_levels;
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	return m;
}

/* Leaf flags: mostly present and permissive, with every bit the rights rules look at. */
static uint64_t random_leaf_flags(struct trace *t)
{
	uint64_t f = 0;

	if (below(t, 16))
		f |= VMM_PTE_PRESENT;
	if (below(t, 4))
		f |= VMM_PTE_RW;
	if (below(t, 3))
		f |= VMM_PTE_USER;
	if (below(t, 2))
		f |= VMM_PTE_ACCESSED;
	if (below(t, 2))
		f |= VMM_PTE_DIRTY;
	if (!below(t, 6))
		f |= VMM_PTE_GLOBAL;
	if (!below(t, 5))
		f |= VMM_PTE_NX;
	if (!below(t, 4))
		f |= below(t, 16) << VMM_PTE_PKEY_SHIFT;
	if (!below(t, 60))
		f |= 1ull << 51;	/* above MAXPHYADDR: reserved */
	return f;
}

/*
 * The entry for @va at *@level (or the large leaf above it, and its level, when @stop_at_leaf),
 * creating tables; a large leaf in the way is replaced by a fresh table
 * unless @stop_at_leaf (descending through it would write into the frames
 * it maps).
 */
static uint64_t trace_slot(struct trace *t, struct pt *p, uint64_t va, unsigned *level,
			   bool stop_at_leaf)
{
	uint64_t table = p->root;

	for (unsigned l = p->levels; l > *level; l--) {
		uint64_t epa = table + pt_index(va, l) * 8, *e = pt_host(t->m, epa);

		if ((*e & VMM_PTE_PRESENT) && (*e & VMM_PTE_PS) && l <= 3) {
			if (stop_at_leaf) {
				*level = l;
				return epa;
			}
			*e = 0;
		}
		if (!(*e & VMM_PTE_PRESENT))
			*e = pt_alloc_frame(t->m) | PT_TABLE_FLAGS;
		table = *e & VMM_PTE_ADDR_MASK;
	}
	return table + pt_index(va, *level) * 8;
}

static void trace_map(struct trace *t, struct pt *p, uint64_t va, uint64_t pa, unsigned shift,
		      uint64_t flags)
{
	unsigned level = shift == 12 ? 1 : shift == 21 ? 2 : 3;

	*pt_host(t->m, trace_slot(t, p, va, &level, false)) =
		pa | flags | (level > 1 ? VMM_PTE_PS : 0);
}

static void map_random(struct trace *t, struct pt *p, uint64_t va)
{
	unsigned r = (unsigned)below(t, 10);
	unsigned shift = r < 7 ? 12 : r < 9 ? 21 : 30;
	uint64_t base = va & ~((1ull << shift) - 1);
	uint64_t pa = (below(t, 64) << shift) & ((1ull << 32) - 1);

	trace_map(t, p, base, pa & ~((1ull << shift) - 1), shift, random_leaf_flags(t));
}

/* Addresses in a few clusters of the user and kernel halves, some sharing tables. */
static void trace_addresses(struct trace *t)
{
	uint64_t top = t->levels == 5 ? 0xff00000000000000ull : 0xffff800000000000ull;
	uint64_t clusters[4] = { 0x400000, 0x7f0000000000ull, top | 0x40000000ull,
				 0x1234560000ull };

	for (unsigned i = 0; i < TRACE_PAGES; i++) {
		uint64_t c = clusters[below(t, 4)];

		t->va[i] = c + (below(t, 1024) << 12) + (below(t, 8) << 21) * (below(t, 4) == 0);
	}
}

static int trace_fault(void *data, vmm_cpu *cpu, struct vmm_fault_info *f)
{
	struct trace *t = data;
	struct pt *p = &t->pt[below(t, 2)];

	(void)cpu;
	if (below(t, 3)) {
		f->signal = 11;
		f->si_code = 1;
		return 0;
	}
	/* fix it (in one of the spaces; the other may stay broken and fault again) */
	trace_map(t, p, f->addr & ~0xfffull, below(t, 256) << 12, 12,
	       VMM_PTE_PRESENT | VMM_PTE_RW | VMM_PTE_USER | (below(t, 2) ? VMM_PTE_ACCESSED : 0));
	return 0;
}

static unsigned random_acc_flags(struct trace *t)
{
	static const unsigned flags[] = { VMM_ACC_READ, VMM_ACC_WRITE, VMM_ACC_EXEC, VMM_ACC_USER,
					  VMM_ACC_USER | VMM_ACC_WRITE, VMM_ACC_USER | VMM_ACC_EXEC,
					  VMM_ACC_IMPLICIT, VMM_ACC_IMPLICIT | VMM_ACC_WRITE };

	return flags[below(t, ARRAY_SIZE(flags))];
}

/* Half the time near the address before (TLB hits), else any trace address. */
static uint64_t random_va(struct trace *t)
{
	uint64_t va = below(t, 2) ? t->last_va + below(t, 64) - 32
				  : t->va[below(t, TRACE_PAGES)] + below(t, 4096);

	t->last_va = va;
	if (!below(t, 50))
		va ^= 1ull << 60;	/* non-canonical */
	return va;
}

static void print_digest(struct trace *t, unsigned step)
{
	XXH3_state_t st;

	XXH3_64bits_reset(&st);
	vmm_cpus_digest(t->m, &st);
	fprintf(t->out, "%u digest %016" PRIx64 " clock %" PRIu64 " %" PRIu64 "\n", step,
		(uint64_t)XXH3_64bits_digest(&st), vmm_cpu_clock_cycles(&t->m->clock.cpu[0]),
		vmm_cpu_clock_cycles(&t->m->clock.cpu[1]));
}

static void step_access(struct trace *t, vmm_cpu *cpu, unsigned step)
{
	struct vmm_access_result r;
	uint64_t va = random_va(t);
	size_t len = below(t, 4) ? 1 + below(t, 16) : 1 + below(t, 9000);
	unsigned flags = random_acc_flags(t);
	int err = vmm_cpu_access(cpu, va, len, flags, &r);

	if (t->out)
		fprintf(t->out,
			"%u access %#" PRIx64 " len %zu flags %#x: %d pa %#" PRIx64 " cyc %" PRIu64
			" faulted %u ec %#x sig %d/%d gp %u bytes %" PRIu64 "\n",
			step, va, len, flags, err, r.paddr, r.cycles, r.faulted, r.error_code,
			r.signal, r.si_code, r.gp, (uint64_t)r.bytes);
}

static void step_translate(struct trace *t, vmm_cpu *cpu, unsigned step)
{
	struct vmm_translation x;
	uint64_t va = random_va(t);
	unsigned flags = random_acc_flags(t);

	assert_int_equal(vmm_cpu_translate(cpu, va, flags, &x), 0);
	if (t->out)
		fprintf(t->out,
			"%u translate %#" PRIx64 " flags %#x: pa %#" PRIx64 " cyc %" PRIu64
			" fault %u ec %#x shift %u src %u refs %u pwc %u\n",
			step, va, flags, x.paddr, x.cycles, x.fault, x.error_code, x.page_shift,
			x.source, x.walk_refs, x.pwc_level);
}

static void step_walk(struct trace *t, vmm_cpu *cpu, unsigned step)
{
	struct vmm_walk w;
	uint64_t va = random_va(t);

	assert_int_equal(vmm_cpu_walk(cpu, va, random_acc_flags(t), &w), 0);
	if (t->out)
		fprintf(t->out, "%u walk %#" PRIx64 ": pa %#" PRIx64 " fault %u ec %#x depth %u\n",
			step, va, w.paddr, w.fault, w.error_code, w.depth);
}

/* A register write; rejected values are part of the trace too. */
static void step_register(struct trace *t, vmm_cpu *cpu, unsigned step)
{
	uint64_t cr0 = cpu_reg(cpu, VMM_REG_CR0), cr4 = cpu_reg(cpu, VMM_REG_CR4);
	uint64_t efer = cpu_reg(cpu, VMM_REG_EFER);
	static const uint64_t cr4_bits[] = { VMM_CR4_PGE, VMM_CR4_PCIDE, VMM_CR4_SMEP,
					     VMM_CR4_SMAP, VMM_CR4_PKE };
	enum vmm_cpu_reg reg;
	uint64_t v;
	int err;

	switch (below(t, 8)) {
	case 0: reg = VMM_REG_CR0; v = cr0 ^ VMM_CR0_WP; break;
	case 1:
		reg = VMM_REG_CR3;
		v = t->pt[below(t, 2)].root;
		if (cr4 & VMM_CR4_PCIDE)
			v |= below(t, 4) | (below(t, 2) ? VMM_CR3_NOFLUSH : 0);
		break;
	case 2: reg = VMM_REG_CR4; v = cr4 ^ cr4_bits[below(t, ARRAY_SIZE(cr4_bits))]; break;
	case 3: reg = VMM_REG_EFER; v = efer ^ VMM_EFER_NXE; break;
	case 4: reg = VMM_REG_RFLAGS; v = below(t, 2) ? VMM_RFLAGS_AC : 0; break;
	case 5: reg = VMM_REG_PKRU; v = vmm_prng_next(&t->rng) & 0xffffffffu; break;
	case 6: reg = VMM_REG_CPL; v = below(t, 2) * 3; break;
	default:
		/* PCIDE needs CR3[11:0] = 0: load a plain root first */
		reg = VMM_REG_CR3;
		v = t->pt[0].root;
		break;
	}
	err = vmm_cpu_set_reg(cpu, reg, v);
	if (t->out)
		fprintf(t->out, "%u setreg %d %#" PRIx64 ": %d\n", step, (int)reg, v, err);
}

/* Change one entry somewhere on the way to a trace address (leaf or table), without a flush. */
static void step_edit(struct trace *t, unsigned step)
{
	struct pt *p = &t->pt[below(t, 2)];
	uint64_t va = t->va[below(t, TRACE_PAGES)];
	static const uint64_t bits[] = { VMM_PTE_PRESENT, VMM_PTE_RW, VMM_PTE_USER,
					 VMM_PTE_ACCESSED, VMM_PTE_DIRTY, VMM_PTE_NX,
					 VMM_PTE_GLOBAL, VMM_PTE_PS };
	unsigned level = 1 + (unsigned)below(t, t->levels);
	uint64_t epa = trace_slot(t, p, va, &level, true), bit;

	/* an empty entry made present would point at frame 0 */
	if (below(t, 3) || !*pt_host(t->m, epa)) {
		map_random(t, p, va);
		bit = 0;
	} else {
		bit = bits[below(t, ARRAY_SIZE(bits))];
		if (level > 1 && bit == VMM_PTE_PS)
			bit = VMM_PTE_RW;	/* PS on a table would map the table's frames */
		*pt_host(t->m, epa) ^= bit;
	}
	if (t->out)
		fprintf(t->out, "%u edit %#" PRIx64 " level %u bit %#" PRIx64 "\n", step, va, level,
			bit);
}

static void step_flush(struct trace *t, vmm_cpu *cpu, unsigned step)
{
	uint64_t va = random_va(t);
	unsigned n = 0;
	int err;

	switch (below(t, 3)) {
	case 0: err = vmm_cpu_invlpg(cpu, va); break;
	case 1:
		err = vmm_cpu_invpcid(cpu, (enum vmm_invpcid_type)below(t, 4),
				      (unsigned)below(t, 4), va);
		break;
	default:
		err = vmm_tlb_shootdown(cpu, below(t, 2) ? VMM_SHOOTDOWN_ALL : (int)below(t, 2),
					(unsigned)below(t, 4), va & ~0xfffull,
					below(t, 2) ? below(t, 40) << 12 : 0,
					(unsigned)below(t, 4), &n);
		break;
	}
	if (t->out)
		fprintf(t->out, "%u flush %#" PRIx64 ": %d ipis %u\n", step, va, err, n);
}

/* Run the trace of @seed on a machine of @kind, without the fast paths with @slow. */
static void run_trace(uint64_t seed, enum trace_kind kind, bool slow, FILE *out)
{
	struct trace t = { .out = out };
	char *problems = NULL;
	size_t plen = 0;

	t.m = trace_machine(seed, kind, &t.levels);
	for (unsigned c = 0; c < 2; c++) {
		vmm_cpu *cpu = vmm_machine_cpu(t.m, c);

		cpu->fast_off = slow;
		vmm_cpu_update_perm(cpu);
		/* the default geometry has its fast paths: the comparison is not empty */
		if (kind != TRACE_RANDOM)
			assert_true((cpu->fast[0] == NULL) == slow && (cpu->fast[1] == NULL) == slow);
	}
	vmm_prng_seed(&t.rng, seed);
	t.pt[0] = pt_new(t.m, t.levels);
	t.pt[1] = pt_new(t.m, t.levels);
	trace_addresses(&t);
	for (unsigned i = 0; i < TRACE_PAGES; i++) {
		map_random(&t, &t.pt[0], t.va[i]);
		map_random(&t, &t.pt[1], t.va[i]);
	}
	for (unsigned c = 0; c < 2; c++)
		pt_load(vmm_machine_cpu(t.m, c), &t.pt[0], 0);
	vmm_machine_set_fault_handler(t.m, trace_fault, &t);
	for (unsigned step = 0; step < TRACE_STEPS; step++) {
		vmm_cpu *cpu = vmm_machine_cpu(t.m, (unsigned)below(&t, 2));
		unsigned op = (unsigned)below(&t, 100);
		FILE *mem;
		long bad;

		if (op < 40)
			step_access(&t, cpu, step);
		else if (op < 65)
			step_translate(&t, cpu, step);
		else if (op < 70)
			step_walk(&t, cpu, step);
		else if (op < 82)
			step_register(&t, cpu, step);
		else if (op < 92)
			step_edit(&t, step);
		else
			step_flush(&t, cpu, step);
		if (t.out && step % DIGEST_EVERY == 0)
			print_digest(&t, step);
		mem = open_memstream(&problems, &plen);
		assert_non_null(mem);
		bad = vmm_cpus_check(t.m, mem);
		fclose(mem);
		if (bad) {
			fprintf(stderr, "seed %" PRIu64 " step %u: %ld problems\n%s", seed, step,
				bad, problems);
			fail();
		}
		free(problems);
		problems = NULL;
	}
	if (t.out)
		print_digest(&t, TRACE_STEPS);
	vmm_machine_destroy(&t.m);
}

static void test_random_traces(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= TRACE_SEEDS; seed++) {
		printf("# mmu trace seed %" PRIu64 "\n", seed);
		run_trace(seed, TRACE_RANDOM, false, NULL);
	}
}

/* The printed trace of @seed on a machine of @kind (a string to free). */
static char *trace_text(uint64_t seed, enum trace_kind kind, bool slow)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	run_trace(seed, kind, slow, out);
	fclose(out);
	return text;
}

/* The fast paths print every line of a trace as the general ones do. */
static void test_fast_paths_agree(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= FAST_SEEDS; seed++)
		for (enum trace_kind kind = TRACE_DEFAULT_PWC; kind <= TRACE_DEFAULT_NO_PWC; kind++) {
			char *fast = trace_text(seed, kind, false), *slow = trace_text(seed, kind, true);
			size_t i = 0, line = 1;

			printf("# fast-path trace seed %" PRIu64 ", %s PWCs\n", seed,
			       kind == TRACE_DEFAULT_PWC ? "with" : "without");
			for (; fast[i] && fast[i] == slow[i]; i++)
				line += fast[i] == '\n';
			if (fast[i] != slow[i]) {
				fprintf(stderr, "seed %" PRIu64 ": line %zu differs\n", seed, line);
				fail();
			}
			free(fast);
			free(slow);
		}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_traces),
		cmocka_unit_test(test_fast_paths_agree),
	};

	if (argc == 3 && !strcmp(argv[1], "--print")) {
		run_trace(strtoull(argv[2], NULL, 0), TRACE_RANDOM, false, stdout);
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
