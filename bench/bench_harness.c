/* SPDX-License-Identifier: MIT */
/*
 * The allocator benchmarks' shared harness (see bench_harness.h).
 *
 * jemalloc: Debian's shared libjemalloc is linked for its non-standard
 * entry points (mallocx, sdallocx) while plain malloc in the process stays
 * glibc's (bench/meson.build says how; the host line checks it). Its own
 * malloc and free are found with dlsym() on that library's handle.
 */
#include "bench_harness.h"

#include <dlfcn.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/vmm.h>

#ifndef BENCH_HAVE_JEMALLOC
#define BENCH_HAVE_JEMALLOC 0
#endif
#if BENCH_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#else
/* Never called: without jemalloc its cases are not available. */
static void *mallocx(size_t size, int flags)
{
	(void)size, (void)flags;
	return NULL;
}

static void sdallocx(void *p, size_t size, int flags)
{
	(void)p, (void)size, (void)flags;
}
#endif
#ifndef BENCH_HAVE_CALLGRIND
#define BENCH_HAVE_CALLGRIND 0
#endif
#if BENCH_HAVE_CALLGRIND
#include <valgrind/callgrind.h>
#endif

struct jemalloc_api {
	bool ok; /* mallocx/sdallocx usable */
	const char *version;
	void *(*malloc)(size_t); /* jemalloc's own malloc/free, or NULL */
	void (*free)(void *);
};

struct bench_options {
	int reps;
	long iters;
	bool callgrind;
	const char *only; /* run only the cases whose name starts with this */
};

static struct jemalloc_api je;

/* ---- the cases ---- */

struct bench_entry *bench_entry_at(const struct bench_suite *s, size_t i)
{
	return (struct bench_entry *)((char *)s->cases + i * s->case_size);
}

const struct bench_entry *bench_find(const struct bench_suite *s, const char *name)
{
	for (size_t i = 0; i < s->nr_cases; i++) {
		const struct bench_entry *e = bench_entry_at(s, i);

		if (!strcmp(e->name, name))
			return e->usable && e->nr_ns ? e : NULL;
	}
	return NULL;
}

static bool selected(const struct bench_options *opt, const struct bench_entry *e)
{
	return !opt->only || !strncmp(e->name, opt->only, strlen(opt->only));
}

/* ---- options ---- */

static int default_reps(const struct bench_suite *s)
{
	return s->reps ? s->reps : BENCH_DEFAULT_REPS;
}

static long default_iters(const struct bench_suite *s)
{
	return s->iters ? s->iters : BENCH_DEFAULT_ITERS;
}

static void usage(const struct bench_suite *s, FILE *out)
{
	fprintf(out,
		"usage: %s [--reps N] [--iters N] [--only PREFIX] [--callgrind]\n"
		"  --reps N       repetitions per case; the median is reported (default %d)\n"
		"  --iters N      steps per repetition (default %ld; %d with --callgrind)\n"
		"  --only PREFIX  only the cases whose name starts with PREFIX\n"
		"  --callgrind    one short pass per case, each loop dumped apart by callgrind\n"
		"                 (valgrind --tool=callgrind; see %s)\n"
		"cases:",
		s->prog, default_reps(s), default_iters(s), BENCH_CALLGRIND_ITERS, s->script);
	for (size_t i = 0; i < s->nr_cases; i++)
		fprintf(out, " %s", bench_entry_at(s, i)->name);
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

static int parse_options(const struct bench_suite *s, int argc, char **argv,
			 struct bench_options *opt)
{
	long v;

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
			usage(s, stdout);
			exit(0);
		} else {
			fprintf(stderr, "%s: bad argument '%s'\n", s->prog, a);
			return -1;
		}
	}
	return 0;
}

/* 0, or -1 after printing the usage on stderr; --help prints it and exits. */
static int parse_args(const struct bench_suite *s, int argc, char **argv,
		      struct bench_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	if (parse_options(s, argc, argv, opt)) {
		usage(s, stderr);
		return -1;
	}
	if (!opt->iters)
		opt->iters = opt->callgrind ? BENCH_CALLGRIND_ITERS : default_iters(s);
	if (!opt->reps || opt->callgrind)
		opt->reps = opt->callgrind ? 1 : default_reps(s);
	return 0;
}

/* ---- running ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void warm_up(const struct bench_suite *s, const struct bench_options *opt)
{
	long steps = opt->iters < 1000 ? 1000 : opt->iters / 4;

	for (size_t i = 0; i < s->nr_cases; i++) {
		struct bench_entry *e = bench_entry_at(s, i);

		e->usable = selected(opt, e) && s->available(e);
		if (!e->usable)
			continue;
		if (s->prepare && !s->prepare(e))
			e->usable = false;
		else if (!s->run(e, steps))
			e->usable = false;
		if (!e->usable)
			fprintf(stderr, "%s: %s: allocation failed, skipped\n", s->prog, e->name);
	}
}

/* The median of @n figures, sorting them. */
static double median_of(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static void set_median(struct bench_entry *e)
{
	memcpy(e->sorted, e->ns, (size_t)e->nr_ns * sizeof(double));
	e->median = median_of(e->sorted, e->nr_ns);
	e->min = e->sorted[0];
}

static void measure(const struct bench_suite *s, const struct bench_options *opt)
{
	for (int r = 0; r < opt->reps; r++) {
		for (size_t i = 0; i < s->nr_cases; i++) {
			struct bench_entry *e = bench_entry_at(s, i);
			uint64_t t0, t1;

			if (!e->usable)
				continue;
			t0 = now_ns();
			if (!s->run(e, opt->iters)) {
				fprintf(stderr, "%s: %s: allocation failed\n", s->prog, e->name);
				e->usable = false;
				continue;
			}
			t1 = now_ns();
			e->ns[e->nr_ns++] = (double)(t1 - t0) / (double)e->steps_done;
		}
	}
	for (size_t i = 0; i < s->nr_cases; i++) {
		struct bench_entry *e = bench_entry_at(s, i);

		if (e->usable && e->nr_ns)
			set_median(e);
	}
}

/*
 * One short pass per case with callgrind's counters zeroed before the loop
 * and dumped after it, so each dump holds that loop alone.
 */
static void measure_callgrind(const struct bench_suite *s, const struct bench_options *opt)
{
#if !BENCH_HAVE_CALLGRIND
	printf("(built without valgrind/callgrind.h: the loops are not marked)\n");
#endif
	for (size_t i = 0; i < s->nr_cases; i++) {
		struct bench_entry *e = bench_entry_at(s, i);

		if (!e->usable)
			continue;
#if BENCH_HAVE_CALLGRIND
		CALLGRIND_ZERO_STATS;
#endif
		if (!s->run(e, opt->iters)) {
			e->usable = false;
			continue;
		}
#if BENCH_HAVE_CALLGRIND
		{
			char tag[64];

			snprintf(tag, sizeof(tag), "bench:%s", e->name);
			CALLGRIND_DUMP_STATS_AT(tag);
		}
#endif
		printf("callgrind case %-14s steps %" PRIu64 "\n", e->name, e->steps_done);
	}
}

/*
 * Warm every selected case up, then measure them taking turns over the
 * repetitions, or with --callgrind run each once between callgrind's
 * "zero" and "dump bench:<case>". -1 when memory for the figures ran out.
 */
static int run_cases(const struct bench_suite *s, const struct bench_options *opt)
{
	for (size_t i = 0; i < s->nr_cases; i++) {
		struct bench_entry *e = bench_entry_at(s, i);

		e->ns = calloc((size_t)opt->reps, sizeof(double));
		e->sorted = calloc((size_t)opt->reps, sizeof(double));
		if (!e->ns || !e->sorted)
			return -1;
	}
	warm_up(s, opt);
	if (opt->callgrind)
		measure_callgrind(s, opt);
	else
		measure(s, opt);
	return 0;
}

/* Tear the cases down and free the figures. */
static void finish(const struct bench_suite *s)
{
	for (size_t i = 0; i < s->nr_cases; i++) {
		struct bench_entry *e = bench_entry_at(s, i);

		if (s->teardown)
			s->teardown(e);
		free(e->ns);
		free(e->sorted);
		e->ns = e->sorted = NULL;
	}
}

/* ---- output ---- */

/* The host line of the header: libvmm, whose malloc, which jemalloc. */
static void print_host_line(void)
{
	printf("libvmm %s (shared library, public API); malloc in this process: %s; "
	       "jemalloc: %s%s%s\n",
	       vmm_version_string(), malloc_owner(), je.ok ? "libjemalloc " : "not available",
	       je.ok ? je.version : "", je.ok && !je.malloc ? " (its malloc/free not found)" : "");
}

/* The median / min table of the selected cases. */
static void print_table(const struct bench_suite *s, const struct bench_options *opt)
{
	printf("  %-40s %12s %12s %8s\n", "case (ns per step)", "median ns", "min ns", "reps");
	for (size_t i = 0; i < s->nr_cases; i++) {
		const struct bench_entry *e = bench_entry_at(s, i);

		if (!selected(opt, e))
			continue;
		if (!e->usable || !e->nr_ns) {
			printf("  %-40s %12s\n", e->label, "n/a");
			continue;
		}
		printf("  %-40s %12.1f %12.1f %8d\n", e->label, e->median, e->min, e->nr_ns);
	}
}

void bench_print_ratio(const struct bench_suite *s, const char *what, const char *num,
		       const char *den, double goal)
{
	const struct bench_entry *a = bench_find(s, num), *b = bench_find(s, den);
	int n = a && b ? (a->nr_ns < b->nr_ns ? a->nr_ns : b->nr_ns) : 0;
	double *r = n ? malloc((size_t)n * sizeof(double)) : NULL;
	double paired;

	printf("  %-52s ", what);
	if (!r) {
		printf("%8s\n", "n/a");
		return;
	}
	/* turn t of each: the cases ran in the same turns, from the first */
	for (int t = 0; t < n; t++)
		r[t] = a->ns[t] / b->ns[t];
	paired = median_of(r, n);
	free(r);
	printf("%8.3f  (%.3f, %.3f)", paired, a->median / b->median, a->min / b->min);
	if (goal > 0)
		printf("   goal <= %.1f  %s", goal, pass_miss(paired <= goal));
	printf("\n");
}

void bench_print_ns_goal(const struct bench_suite *s, const char *what, const char *name,
			 double goal_ns)
{
	const struct bench_entry *e = bench_find(s, name);

	printf("  %-52s ", what);
	if (e)
		printf("%8.1f  (%.1f)   goal <= %.0f ns  %s\n", e->median, e->min, goal_ns,
		       pass_miss(e->median <= goal_ns));
	else
		printf("%8s\n", "n/a");
}

/* ---- the host allocators ---- */

/* Find jemalloc's entry points. */
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

bool bench_host_available(enum bench_host_api api)
{
	if (api == BENCH_JE_MALLOC)
		return je.malloc && je.free;
	if (api == BENCH_JE_MALLOCX)
		return je.ok;
	return true;
}

void *bench_host_alloc(enum bench_host_api api, size_t bytes)
{
	if (api == BENCH_JE_MALLOC)
		return je.malloc(bytes);
	return api == BENCH_JE_MALLOCX ? mallocx(bytes, 0) : malloc(bytes);
}

void bench_host_free(enum bench_host_api api, void *p, size_t bytes)
{
	if (api == BENCH_JE_MALLOC)
		je.free(p);
	else if (api == BENCH_JE_MALLOCX)
		sdallocx(p, bytes, 0);
	else
		free(p);
}

/*
 * The host loops: LOOP (a BENCH_*_LOOP taking @ARG after the type) expanded
 * once per allocator, each calling its allocator through pointers in locals
 * (BENCH_OPAQUE), as the benches' own loops call libvmm.
 */
#define HOST_LOOPS(LOOP, ARG)                                                       \
	do {                                                                        \
		void *(*je_malloc)(size_t) = je.malloc, *(*c_malloc)(size_t) = malloc; \
		void (*je_free)(void *) = je.free, (*c_free)(void *) = free;        \
		void *(*x_alloc)(size_t, int) = mallocx;                            \
		void (*x_free)(void *, size_t, int) = sdallocx;                     \
                                                                                    \
		if (api == BENCH_JE_MALLOC) {                                       \
			BENCH_OPAQUE(je_malloc); BENCH_OPAQUE(je_free);             \
			LOOP(void *, ARG, je_malloc(bytes), je_free(p));            \
		} else if (api == BENCH_JE_MALLOCX) {                               \
			BENCH_OPAQUE(x_alloc); BENCH_OPAQUE(x_free);                \
			LOOP(void *, ARG, x_alloc(bytes, 0), x_free(p, bytes, 0));  \
		} else {                                                            \
			BENCH_OPAQUE(c_malloc); BENCH_OPAQUE(c_free);               \
			LOOP(void *, ARG, c_malloc(bytes), c_free(p));              \
		}                                                                   \
	} while (0)
#define PAIR_LOOP(T, unused, ALLOC, FREE) BENCH_PAIR_LOOP(T, ALLOC, FREE)

bool bench_host_pairs(enum bench_host_api api, size_t bytes, long steps)
{
	HOST_LOOPS(PAIR_LOOP, 0);
	return true;
failed:
	return false;
}

bool bench_host_ring(enum bench_host_api api, size_t bytes, void **slots, unsigned *ring_pos,
		     long steps)
{
	unsigned pos = *ring_pos;

	HOST_LOOPS(BENCH_RING_LOOP, BENCH_HOST_RING);
	*ring_pos = pos;
	return true;
failed:
	*ring_pos = pos;
	return false;
}

bool bench_host_burst(enum bench_host_api api, size_t bytes, void **slots, bool *burst_half,
		      long steps)
{
	bool half = *burst_half;

	HOST_LOOPS(BENCH_BURST_LOOP, BENCH_HOST_LIVE);
	*burst_half = half;
	return true;
failed:
	*burst_half = half;
	return false;
}

/* ---- the program ---- */

int bench_main(const struct bench_suite *s, int argc, char **argv)
{
	struct bench_options opt;
	int err;

	if (parse_args(s, argc, argv, &opt))
		return 2;
	jemalloc_probe();
	if (s->setup())
		return 1;
	printf("%s: %s\n", s->prog, s->title);
	print_host_line();
	printf("%s; %s: %d reps x %ld steps, CLOCK_MONOTONIC, after a warm-up\n\n", s->setting,
	       opt.callgrind ? "callgrind pass" : "median", opt.reps, opt.iters);
	err = run_cases(s, &opt);
	if (!err && !opt.callgrind) {
		print_table(s, &opt);
		printf("\nratios: the median of the repetitions' ratios, each of two runs in one "
		       "turn (in brackets:\nthe ratio of the medians, of the minima); goals "
		       "judged on the first, of the clean loops:\n");
		s->report();
		printf("PASS/MISS is information only; the exit status ignores it.\n");
	}
	finish(s);
	return s->cleanup() || err ? 1 : 0;
}
