/* SPDX-License-Identifier: MIT */
/* Helpers the benchmarks share: the host clock, keeping results alive, reporting. */
#ifndef VMM_BENCH_UTIL_H
#define VMM_BENCH_UTIL_H

#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* Host monotonic time in ns (never used for simulated state). */
static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Keep the compiler from dropping a buffer's stores or an allocation whose result is unused. */
static inline void clobber(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of @n values (sorts @v in place). */
static inline double bench_median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return v[n / 2];
}

static inline const char *pass_miss(bool pass)
{
	return pass ? "PASS" : "MISS";
}

/* Whose malloc the process calls: glibc's, or an interposed one. */
static inline const char *malloc_owner(void)
{
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	void *real = libc ? dlsym(libc, "malloc") : NULL;
	void *seen = dlsym(RTLD_DEFAULT, "malloc");

	if (libc)
		dlclose(libc);
	if (!real || !seen)
		return "unknown";
	return real == seen ? "glibc" : "interposed (not glibc)";
}

#endif /* VMM_BENCH_UTIL_H */
