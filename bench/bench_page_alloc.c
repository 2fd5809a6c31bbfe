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
 *   bulk64     vmm_alloc_pages_bulk of 64 pages, then vmm_free_pages of each,
 *              reported per page
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
 * jemalloc: Debian's shared libjemalloc is linked for its non-standard
 * entry points (mallocx, sdallocx) while plain malloc in this process stays
 * glibc's (bench/meson.build says how; the header line checks it). Its own
 * malloc and free are found with dlsym() on that library's handle.
 */
#include <dlfcn.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vmm/vmm.h>

#include "bench_util.h"

#ifndef BENCH_HAVE_JEMALLOC
#define BENCH_HAVE_JEMALLOC 0
#endif
#if BENCH_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif
#ifndef BENCH_HAVE_CALLGRIND
#define BENCH_HAVE_CALLGRIND 0
#endif
#if BENCH_HAVE_CALLGRIND
#include <valgrind/callgrind.h>
#endif

/* The goals of the page-allocator performance issue. */
#define GOAL_PCP0_OVER_GLIBC 0.5
#define GOAL_PCP0_OVER_JEMALLOC 1.0
#define GOAL_ORDER3_NS 100.0
#define GOAL_BULK_OVER_PAIR 0.6

#define RING_SIZE 256
#define BULK_NR 64
#define DEFAULT_REPS 15
#define DEFAULT_ITERS 200000
#define CALLGRIND_ITERS 5000

enum case_kind {
	VMM_PAIR,  /* vmm_alloc_pages + vmm_free_pages */
	VMM_BULK,  /* vmm_alloc_pages_bulk(BULK_NR) + BULK_NR x vmm_free_pages */
	HOST_PAIR, /* a host allocator's alloc + free */
};

enum host_api { GLIBC, JE_MALLOC, JE_MALLOCX };

struct bench_case {
	const char *name;
	const char *label;
	enum case_kind kind;
	bool ring;	   /* keep RING_SIZE blocks live, free the oldest each step */
	unsigned order;	   /* VMM_PAIR */
	bool nopcp;	   /* VMM_*: on the machine with pcp lists disabled */
	enum host_api api; /* HOST_PAIR */
	size_t bytes;	   /* HOST_PAIR */

	/* run state */
	bool usable;
	void *ring_slots[RING_SIZE];
	unsigned ring_pos;
	uint64_t steps_done; /* steps in the last run (a bulk step is one page) */
	double *ns;	     /* ns per step, one per repetition */
	int nr_ns;
	double median, min;
};

/* A libvmm case: name, label, kind, order, pcp disabled, ring. */
#define VCASE(n, l, k, o, nopcp_, ring_)                                                 \
	{                                                                                \
		.name = (n), .label = (l), .kind = (k), .order = (o), .nopcp = (nopcp_), \
		.ring = (ring_)                                                          \
	}
/* A host case: name, label, allocator, bytes, ring. */
#define HCASE(n, l, a, b, ring_)                                                        \
	{                                                                               \
		.name = (n), .label = (l), .kind = HOST_PAIR, .api = (a), .bytes = (b), \
		.ring = (ring_)                                                         \
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
	VCASE("bulk64", "bulk 64 + 64 frees, per page", VMM_BULK, 0, false, false),
	HCASE("glibc-4k", "glibc malloc+free 4 KiB", GLIBC, 4096, false),
	HCASE("glibc-4k-ring", "glibc malloc+free 4 KiB, ring 256", GLIBC, 4096, true),
	HCASE("glibc-32k", "glibc malloc+free 32 KiB", GLIBC, 32768, false),
	HCASE("je-4k", "jemalloc malloc+free 4 KiB", JE_MALLOC, 4096, false),
	HCASE("je-4k-ring", "jemalloc malloc+free 4 KiB, ring 256", JE_MALLOC, 4096, true),
	HCASE("je-32k", "jemalloc malloc+free 32 KiB", JE_MALLOC, 32768, false),
	HCASE("jex-4k", "jemalloc mallocx+sdallocx 4 KiB", JE_MALLOCX, 4096, false),
	HCASE("jex-32k", "jemalloc mallocx+sdallocx 32 KiB", JE_MALLOCX, 32768, false),
};
#define NR_CASES (sizeof(cases) / sizeof(cases[0]))

struct options {
	int reps;
	long iters;
	bool callgrind;
	const char *only; /* run only the cases whose name starts with this */
};

struct jemalloc_api {
	bool ok; /* mallocx/sdallocx usable */
	const char *version;
	void *(*malloc)(size_t); /* jemalloc's own malloc/free, or NULL */
	void (*free)(void *);
};

static struct jemalloc_api je;
static vmm_machine *machine_pcp, *machine_nopcp;

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* ---- the allocators behind a case ---- */

static vmm_machine *case_machine(const struct bench_case *c)
{
	return c->nopcp ? machine_nopcp : machine_pcp;
}

/* One allocation or free outside the measured loops (ring setup and teardown). */
static void *case_alloc(const struct bench_case *c)
{
	switch (c->kind == HOST_PAIR ? (int)c->api : -1) {
	case GLIBC:
		return malloc(c->bytes);
	case JE_MALLOC:
		return je.malloc(c->bytes);
	case JE_MALLOCX:
#if BENCH_HAVE_JEMALLOC
		return mallocx(c->bytes, 0);
#else
		return NULL;
#endif
	default:
		return vmm_alloc_pages(case_machine(c), VMM_GFP_KERNEL, c->order);
	}
}

static void case_free(const struct bench_case *c, void *p)
{
	switch (c->kind == HOST_PAIR ? (int)c->api : -1) {
	case GLIBC:
		free(p);
		break;
	case JE_MALLOC:
		je.free(p);
		break;
	case JE_MALLOCX:
#if BENCH_HAVE_JEMALLOC
		sdallocx(p, c->bytes, 0);
#endif
		break;
	default:
		vmm_free_pages(case_machine(c), p, c->order);
		break;
	}
}

/* ---- the measured loops ---- */

/*
 * The loops call each allocator directly, one loop per allocator, so that
 * the harness adds the same few instructions (the loop and clobber()) to
 * every case and nothing else.
 */
#define PAIR_LOOP(ALLOC, FREE)                        \
	do {                                          \
		for (long i_ = 0; i_ < steps; i_++) { \
			void *p = (ALLOC);            \
			if (!p)                       \
				return false;         \
			clobber(p);                   \
			FREE;                         \
		}                                     \
	} while (0)

#define RING_LOOP(ALLOC, FREE)                                    \
	do {                                                      \
		for (long i_ = 0; i_ < steps; i_++) {             \
			void *p = slots[pos];                     \
			FREE;                                     \
			if (!(slots[pos] = (ALLOC)))              \
				goto failed;                      \
			clobber(slots[pos]);                      \
			pos = pos + 1 == RING_SIZE ? 0 : pos + 1; \
		}                                                 \
	} while (0)

/* @steps clean pairs, allocate then free; false if an allocation failed. */
static bool run_pairs(struct bench_case *c, long steps)
{
	vmm_machine *m = case_machine(c);
	const unsigned order = c->order;
	const size_t bytes = c->bytes;
	void *(*je_malloc)(size_t) = je.malloc;
	void (*je_free)(void *) = je.free;

	switch (c->kind == HOST_PAIR ? (int)c->api : -1) {
	case GLIBC:
		PAIR_LOOP(malloc(bytes), free(p));
		break;
	case JE_MALLOC:
		PAIR_LOOP(je_malloc(bytes), je_free(p));
		break;
	case JE_MALLOCX:
#if BENCH_HAVE_JEMALLOC
		PAIR_LOOP(mallocx(bytes, 0), sdallocx(p, bytes, 0));
#endif
		break;
	default:
		PAIR_LOOP(vmm_alloc_pages(m, VMM_GFP_KERNEL, order), vmm_free_pages(m, p, order));
		break;
	}
	return true;
}

/* @steps ring steps: free the oldest live block, allocate its replacement. */
static bool run_ring(struct bench_case *c, long steps)
{
	vmm_machine *m = case_machine(c);
	const unsigned order = c->order;
	const size_t bytes = c->bytes;
	void *(*je_malloc)(size_t) = je.malloc;
	void (*je_free)(void *) = je.free;
	void **slots = c->ring_slots;
	unsigned pos = c->ring_pos;

	switch (c->kind == HOST_PAIR ? (int)c->api : -1) {
	case GLIBC:
		RING_LOOP(malloc(bytes), free(p));
		break;
	case JE_MALLOC:
		RING_LOOP(je_malloc(bytes), je_free(p));
		break;
	case JE_MALLOCX:
#if BENCH_HAVE_JEMALLOC
		RING_LOOP(mallocx(bytes, 0), sdallocx(p, bytes, 0));
#endif
		break;
	default:
		RING_LOOP(vmm_alloc_pages(m, VMM_GFP_KERNEL, order), vmm_free_pages(m, p, order));
		break;
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
		for (unsigned long k = 0; k < got; k++)
			vmm_free_pages(m, pages[k], 0);
		done += got;
	}
	c->steps_done = done;
	return true;
}

static bool run_steps(struct bench_case *c, long steps)
{
	c->steps_done = (uint64_t)steps;
	if (c->kind == VMM_BULK)
		return run_bulk(c, steps);
	return c->ring ? run_ring(c, steps) : run_pairs(c, steps);
}

/* ---- setup and teardown ---- */

static bool ring_fill(struct bench_case *c)
{
	for (unsigned i = 0; i < RING_SIZE; i++) {
		c->ring_slots[i] = case_alloc(c);
		if (!c->ring_slots[i])
			return false;
	}
	c->ring_pos = 0;
	return true;
}

static void ring_drop(struct bench_case *c)
{
	for (unsigned i = 0; i < RING_SIZE; i++)
		if (c->ring_slots[i])
			case_free(c, c->ring_slots[i]);
	memset(c->ring_slots, 0, sizeof(c->ring_slots));
}

static bool case_available(const struct bench_case *c)
{
	if (c->kind != HOST_PAIR)
		return case_machine(c) != NULL;
	if (c->api == JE_MALLOC)
		return je.malloc && je.free;
	if (c->api == JE_MALLOCX)
		return je.ok;
	return true;
}

static bool selected(const struct options *opt, const struct bench_case *c)
{
	return !opt->only || !strncmp(c->name, opt->only, strlen(opt->only));
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

/* ---- running ---- */

static void warm_up(const struct options *opt)
{
	long steps = opt->iters < 1000 ? 1000 : opt->iters / 4;

	for (size_t i = 0; i < NR_CASES; i++) {
		struct bench_case *c = &cases[i];

		c->usable = selected(opt, c) && case_available(c);
		if (!c->usable)
			continue;
		if (c->ring && !ring_fill(c))
			c->usable = false;
		else if (!run_steps(c, steps))
			c->usable = false;
		if (!c->usable)
			fprintf(stderr, "bench_page_alloc: %s: allocation failed, skipped\n",
				c->name);
	}
}

static void measure(const struct options *opt)
{
	for (int r = 0; r < opt->reps; r++) {
		for (size_t i = 0; i < NR_CASES; i++) {
			struct bench_case *c = &cases[i];
			uint64_t t0, t1;

			if (!c->usable)
				continue;
			t0 = now_ns();
			if (!run_steps(c, opt->iters)) {
				fprintf(stderr, "bench_page_alloc: %s: allocation failed\n",
					c->name);
				c->usable = false;
				continue;
			}
			t1 = now_ns();
			c->ns[c->nr_ns++] = (double)(t1 - t0) / (double)c->steps_done;
		}
	}
	for (size_t i = 0; i < NR_CASES; i++) {
		struct bench_case *c = &cases[i];
		int n = c->nr_ns;

		if (!c->usable || !n)
			continue;
		qsort(c->ns, (size_t)n, sizeof(double), cmp_double);
		c->min = c->ns[0];
		c->median = n % 2 ? c->ns[n / 2] : (c->ns[n / 2 - 1] + c->ns[n / 2]) / 2.0;
	}
}

/*
 * One short pass per case with callgrind's counters zeroed before the loop
 * and dumped after it, so each dump holds that loop alone.
 */
static void measure_callgrind(const struct options *opt)
{
	for (size_t i = 0; i < NR_CASES; i++) {
		struct bench_case *c = &cases[i];

		if (!c->usable)
			continue;
#if BENCH_HAVE_CALLGRIND
		CALLGRIND_ZERO_STATS;
#endif
		if (!run_steps(c, opt->iters)) {
			c->usable = false;
			continue;
		}
#if BENCH_HAVE_CALLGRIND
		{
			char tag[64];

			snprintf(tag, sizeof(tag), "bench:%s", c->name);
			CALLGRIND_DUMP_STATS_AT(tag);
		}
#endif
		printf("callgrind case %-14s steps %" PRIu64 "\n", c->name, c->steps_done);
	}
}

/* ---- output ---- */

static const struct bench_case *find_case(const char *name)
{
	for (size_t i = 0; i < NR_CASES; i++)
		if (!strcmp(cases[i].name, name))
			return cases[i].usable && cases[i].nr_ns ? &cases[i] : NULL;
	return NULL;
}

/*
 * "num / den" of two cases' medians, with the goal when @goal > 0; the ratio
 * of their minima follows in brackets, as a check on a noisy host.
 */
static void print_ratio(const char *what, const char *num, const char *den, double goal)
{
	const struct bench_case *a = find_case(num), *b = find_case(den);

	printf("  %-52s ", what);
	if (!a || !b) {
		printf("%8s\n", "n/a");
		return;
	}
	printf("%8.3f  (%.3f)", a->median / b->median, a->min / b->min);
	if (goal > 0)
		printf("   goal <= %.1f  %s", goal, pass_miss(a->median / b->median <= goal));
	printf("\n");
}

static void print_results(const struct options *opt)
{
	const struct bench_case *o3 = find_case("order3");

	printf("  %-40s %12s %12s %8s\n", "case (ns per step)", "median ns", "min ns", "reps");
	for (size_t i = 0; i < NR_CASES; i++) {
		const struct bench_case *c = &cases[i];

		if (!selected(opt, c))
			continue;
		if (!c->usable || !c->nr_ns) {
			printf("  %-40s %12s\n", c->label, "n/a");
			continue;
		}
		printf("  %-40s %12.1f %12.1f %8d\n", c->label, c->median, c->min, c->nr_ns);
	}
	printf("\nratios of medians (of minima in brackets); goals judged on the clean loops' "
	       "medians:\n");
	print_ratio("order-0 pcp pair / glibc 4 KiB pair", "pcp0", "glibc-4k",
		    GOAL_PCP0_OVER_GLIBC);
	print_ratio("order-0 pcp pair / jemalloc malloc+free 4 KiB", "pcp0", "je-4k",
		    GOAL_PCP0_OVER_JEMALLOC);
	print_ratio("order-0 pcp pair / jemalloc mallocx+sdallocx 4 KiB", "pcp0", "jex-4k", 0);
	print_ratio("bulk 64 per page / order-0 pcp pair", "bulk64", "pcp0", GOAL_BULK_OVER_PAIR);
	print_ratio("order-0 pcp disabled / pcp", "nopcp0", "pcp0", 0);
	print_ratio("order-3 pair / glibc 32 KiB pair", "order3", "glibc-32k", 0);
	print_ratio("order-3 pair / jemalloc malloc+free 32 KiB", "order3", "je-32k", 0);
	print_ratio("ring: order-0 pcp / glibc 4 KiB", "pcp0-ring", "glibc-4k-ring", 0);
	print_ratio("ring: order-0 pcp / jemalloc 4 KiB", "pcp0-ring", "je-4k-ring", 0);
	printf("  %-52s ", "order-3 pair, ns");
	if (o3)
		printf("%8.1f  (%.1f)   goal <= %.0f ns  %s\n", o3->median, o3->min, GOAL_ORDER3_NS,
		       pass_miss(o3->median <= GOAL_ORDER3_NS));
	else
		printf("%8s\n", "n/a");
	printf("PASS/MISS is information only; the exit status ignores it.\n");
}

/* ---- main ---- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bench_page_alloc [--reps N] [--iters N] [--only PREFIX] [--callgrind]\n"
		"  --reps N       repetitions per case; the median is reported (default %d)\n"
		"  --iters N      steps per repetition (default %d; %d with --callgrind)\n"
		"  --only PREFIX  only the cases whose name starts with PREFIX\n"
		"  --callgrind    one short pass per case, each loop dumped apart by callgrind\n"
		"                 (valgrind --tool=callgrind; see bench/callgrind_page_alloc.sh)\n"
		"cases:",
		DEFAULT_REPS, DEFAULT_ITERS, CALLGRIND_ITERS);
	for (size_t i = 0; i < NR_CASES; i++)
		fprintf(out, " %s", cases[i].name);
	fprintf(out, "\n");
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct options *opt)
{
	long v;

	memset(opt, 0, sizeof(*opt));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--callgrind")) {
			opt->callgrind = true;
		} else if (!strcmp(a, "--reps") && i + 1 < argc) {
			if (parse_long(argv[++i], 1, 10000, &v))
				return -1;
			opt->reps = (int)v;
		} else if (!strcmp(a, "--iters") && i + 1 < argc) {
			if (parse_long(argv[++i], 1, 1000000000, &v))
				return -1;
			opt->iters = v;
		} else if (!strcmp(a, "--only") && i + 1 < argc) {
			opt->only = argv[++i];
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		} else {
			fprintf(stderr, "bench_page_alloc: bad argument '%s'\n", a);
			return -1;
		}
	}
	if (!opt->iters)
		opt->iters = opt->callgrind ? CALLGRIND_ITERS : DEFAULT_ITERS;
	if (!opt->reps || opt->callgrind)
		opt->reps = opt->callgrind ? 1 : DEFAULT_REPS;
	return 0;
}

static void jemalloc_probe(void)
{
#if BENCH_HAVE_JEMALLOC
	size_t sz = sizeof(je.version);
	void *h = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_NOLOAD);

	je.ok = mallctl("version", (void *)&je.version, &sz, NULL, 0) == 0;
	if (!je.ok)
		je.version = NULL;
	if (h) {
		/* the library's own definitions, not the process's (glibc's) malloc */
		*(void **)&je.malloc = dlsym(h, "malloc");
		*(void **)&je.free = dlsym(h, "free");
		if (je.malloc == (void *(*)(size_t))dlsym(RTLD_DEFAULT, "malloc"))
			je.malloc = NULL, je.free = NULL; /* jemalloc is the process's malloc */
	}
#endif
}

int main(int argc, char **argv)
{
	struct options opt;
	int err;

	if (parse_args(argc, argv, &opt)) {
		usage(stderr);
		return 2;
	}
	jemalloc_probe();
	err = create_machines();
	if (err)
		return 1;
	for (size_t i = 0; i < NR_CASES; i++) {
		cases[i].ns = calloc((size_t)opt.reps, sizeof(double));
		if (!cases[i].ns)
			return 1;
	}
	printf("bench_page_alloc: host cost of libvmm's page allocator, per step\n");
	printf("libvmm %s (shared library, public API); malloc in this process: %s; "
	       "jemalloc: %s%s%s\n",
	       vmm_version_string(), malloc_owner(), je.ok ? "libjemalloc " : "not available",
	       je.ok ? je.version : "", je.ok && !je.malloc ? " (its malloc/free not found)" : "");
	printf("default machine, CPU 0, GFP_KERNEL (node 0 DMA32); %s: %d reps x %ld steps, "
	       "CLOCK_MONOTONIC, after a warm-up\n\n",
	       opt.callgrind ? "callgrind pass" : "median", opt.reps, opt.iters);
	warm_up(&opt);
	if (opt.callgrind) {
#if !BENCH_HAVE_CALLGRIND
		printf("(built without valgrind/callgrind.h: the loops are not marked)\n");
#endif
		measure_callgrind(&opt);
	} else {
		measure(&opt);
		print_results(&opt);
	}
	for (size_t i = 0; i < NR_CASES; i++) {
		if (cases[i].ring)
			ring_drop(&cases[i]);
		free(cases[i].ns);
	}
	vmm_machine_destroy(&machine_pcp);
	vmm_machine_destroy(&machine_nopcp);
	return 0;
}
