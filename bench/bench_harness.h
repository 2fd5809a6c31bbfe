/* SPDX-License-Identifier: MIT */
/*
 * The harness the allocator benchmarks (bench_page_alloc, bench_slab) share:
 * options, warm-up, cases taking turns over the repetitions, medians, the
 * callgrind pass, the table and ratio lines, and the host allocators they
 * are compared with (glibc, and jemalloc as bench/meson.build links it).
 *
 * A bench keeps an array of its own case structs, each starting with a
 * struct bench_entry, and describes it with a struct bench_suite: the
 * harness walks that array and calls back to run a case. The measured loops
 * stay in the bench (or, for the host allocators, in bench_harness.c), one
 * loop per allocator, so the harness adds nothing inside them.
 */
#ifndef VMM_BENCH_HARNESS_H
#define VMM_BENCH_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench_util.h"

/*
 * The measured loops, one per allocator: @T is the type an allocation
 * returns, ALLOC and FREE the calls (FREE sees the block as p), and a failed
 * allocation jumps to the caller's label "failed". Each runs @steps steps of
 * one allocation and one free, adding the same few instructions (the loop
 * and clobber()) to every case.
 *
 * PAIR: allocate, then free at once (the allocator's best case).
 * RING: @RING_SIZE blocks stay live in @slots; from @pos on, each step frees
 *   the oldest and allocates its replacement. LIFO caches hand the block
 *   just freed straight back, so their lists neither drain nor refill.
 * BURST: @LIVE blocks stay live in one half of @slots (2 * LIVE entries,
 *   @half says which); a round allocates LIVE new ones into the other half,
 *   then frees the old ones oldest first. Per-CPU lists empty and refill
 *   during the allocations, fill and flush during the frees, as in real use.
 *   Steps are whole rounds: @steps rounded up to a multiple of LIVE.
 */
/*
 * Every allocator in these loops is called the same way: through a pointer to
 * its function, held in a local (an indirect call). jemalloc's malloc and free,
 * found with dlsym(), can only be called so; a direct call into a shared
 * library (glibc, jemalloc's mallocx, libvmm) goes through a PLT stub, a call
 * and then an indirect jump, which would charge those allocators one jump per
 * call more than jemalloc's malloc. BENCH_OPAQUE(f) hides the pointer's value
 * from the compiler, so that it keeps the indirect call.
 */
#define BENCH_OPAQUE(f) __asm__("" : "+r"(f))

#define BENCH_PAIR_LOOP(T, ALLOC, FREE)               \
	do {                                          \
		for (long i_ = 0; i_ < steps; i_++) { \
			T p = (ALLOC);                \
			if (!p)                       \
				goto failed;          \
			clobber((void *)(uintptr_t)p); \
			FREE;                         \
		}                                     \
	} while (0)

#define BENCH_RING_LOOP(T, RING_SIZE, ALLOC, FREE)                \
	do {                                                      \
		for (long i_ = 0; i_ < steps; i_++) {             \
			T p = slots[pos];                         \
			FREE;                                     \
			if (!(slots[pos] = (ALLOC)))              \
				goto failed;                      \
			clobber((void *)(uintptr_t)slots[pos]);   \
			pos = pos + 1 == RING_SIZE ? 0 : pos + 1; \
		}                                                 \
	} while (0)

#define BENCH_BURST_LOOP(T, LIVE, ALLOC, FREE)                                    \
	do {                                                                      \
		for (long i_ = 0; i_ < steps; i_ += (LIVE)) {                     \
			T *fresh_ = slots + (half ? 0 : (LIVE));                  \
			T *old_ = slots + (half ? (LIVE) : 0);                    \
			for (unsigned k_ = 0; k_ < (LIVE); k_++) {                \
				if (!(fresh_[k_] = (ALLOC)))                      \
					goto failed;                              \
				clobber((void *)(uintptr_t)fresh_[k_]);           \
			}                                                         \
			for (unsigned k_ = 0; k_ < (LIVE); k_++) {                \
				T p = old_[k_];                                   \
				FREE;                                             \
			}                                                         \
			half = !half;                                             \
		}                                                                 \
	} while (0)

/* What every case has: its names and the figures of its runs. */
struct bench_entry {
	const char *name;
	const char *label;
	bool usable;
	uint64_t steps_done; /* steps in the last run */
	double *ns;	     /* ns per step, one per repetition, in turn order */
	double *sorted;	     /* the same, sorted (for the median) */
	int nr_ns;
	double median, min;
};

/* The defaults of --reps and --iters, for a suite that names none. */
#define BENCH_DEFAULT_REPS 15
#define BENCH_DEFAULT_ITERS 200000
#define BENCH_CALLGRIND_ITERS 5000

/* A bench's case array, for struct bench_suite. */
#define BENCH_CASES(a) .cases = (a), .nr_cases = sizeof(a) / sizeof((a)[0]), .case_size = sizeof((a)[0])

struct bench_suite {
	const char *prog;    /* the program's name, for messages */
	const char *title;   /* what it measures, for the first line */
	const char *setting; /* the machine and flags, for the third line */
	const char *script;  /* its callgrind script, for --help */
	int reps;	     /* the default of --reps, or 0 for BENCH_DEFAULT_REPS */
	long iters;	     /* the default of --iters, or 0 for BENCH_DEFAULT_ITERS */
	void *cases;	     /* array of the bench's case structs ... */
	size_t nr_cases;
	size_t case_size; /* ... each this size and starting with a struct bench_entry */
	/* Create the machine(s) and what the cases use; 0 or an error (reported). */
	int (*setup)(void);
	/* Whether a case can run here (its machine exists, jemalloc was found). */
	bool (*available)(const struct bench_entry *e);
	/* Make an available case ready (fill its ring); false if an allocation failed. */
	bool (*prepare)(struct bench_entry *e);
	/* Run about @steps steps and set e->steps_done; false if an allocation failed. */
	bool (*run)(struct bench_entry *e, long steps);
	/* Give back what prepare() and run() kept (a ring's blocks); may be NULL. */
	void (*teardown)(struct bench_entry *e);
	/* Print the ratio lines after the table (bench_print_ratio() ...). */
	void (*report)(void);
	/* Destroy what setup() made; 0, or nonzero when that failed (reported). */
	int (*cleanup)(void);
};

struct bench_entry *bench_entry_at(const struct bench_suite *s, size_t i);
/* The case named @name when it has figures, else NULL. */
const struct bench_entry *bench_find(const struct bench_suite *s, const char *name);

/*
 * The whole program: parse the options (see --help), set up, print the
 * header, warm every selected case up, then measure them taking turns over
 * the repetitions and print the table and report(), or with --callgrind run
 * each once between callgrind's "zero" and "dump bench:<case>" counts.
 * Returns main()'s status: 2 for bad options, 1 when setup, memory for the
 * figures or cleanup failed, else 0 (never wall time).
 */
int bench_main(const struct bench_suite *s, int argc, char **argv);

/*
 * "num / den": the median over the repetitions of the two cases' ratio in
 * that repetition (the cases ran within one turn, close in time, so a slow
 * spell of the host that lasts a turn or longer touches both alike), judged
 * against the goal when @goal > 0; the ratios of their medians and of their
 * minima follow in brackets.
 */
void bench_print_ratio(const struct bench_suite *s, const char *what, const char *num,
		       const char *den, double goal);
/* A case's median against a goal in ns. */
void bench_print_ns_goal(const struct bench_suite *s, const char *what, const char *name,
			 double goal_ns);

/* ---- the host allocators ---- */

enum bench_host_api { BENCH_GLIBC, BENCH_JE_MALLOC, BENCH_JE_MALLOCX };

bool bench_host_available(enum bench_host_api api);
/* One allocation or free outside the measured loops. */
void *bench_host_alloc(enum bench_host_api api, size_t bytes);
void bench_host_free(enum bench_host_api api, void *p, size_t bytes);
/* @steps clean pairs, allocate then free; false if an allocation failed. */
bool bench_host_pairs(enum bench_host_api api, size_t bytes, long steps);
/* @steps RING steps over @slots (BENCH_HOST_RING blocks) from *@pos on. */
#define BENCH_HOST_RING 256
bool bench_host_ring(enum bench_host_api api, size_t bytes, void **slots, unsigned *pos,
		     long steps);
/* BURST rounds of BENCH_HOST_LIVE blocks over @slots (twice that), for about @steps steps. */
#define BENCH_HOST_LIVE 256
bool bench_host_burst(enum bench_host_api api, size_t bytes, void **slots, bool *half,
		      long steps);

#endif /* VMM_BENCH_HARNESS_H */
