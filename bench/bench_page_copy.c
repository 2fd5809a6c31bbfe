/* SPDX-License-Identifier: MIT */
/*
 * bench_page_copy: how to clear and copy a simulated 4 KiB page on the host.
 *
 * libvmm clears a page for __GFP_ZERO (an anonymous write fault, a page
 * table) and copies one for a COW fault, in the host memory behind the
 * simulated frame. This bench times each way of doing that on this host:
 *
 *   memset / memcpy     glibc's choice for 4 KiB (what libvmm does today)
 *   rep stosb / movsb   the string instructions (ERMS), as Linux's
 *                       clear_page_erms / copy_page use
 *   rep stosq / movsq   8 bytes an iteration
 *   nt                  SSE2 non-temporal stores (movntdq, 64 bytes an
 *                       iteration, sfence after the page): no read for
 *                       ownership, the page leaves the cache
 *
 * on two patterns:
 *
 *   cold   each page of a 32 MiB region (8192 pages, bench_fault's
 *          repetition) once per round: the pages are not in any cache
 *   hot    a 64-page working set (256 KiB) over and over: the pages stay
 *          in L2
 *
 * A copy reads a source region of the same size as its destination. Each
 * figure is the median ns per page over the rounds.
 *
 *   bench_page_copy [--rounds N]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bench_util.h"

#if defined(__x86_64__)
#include <emmintrin.h>
#define HAVE_X86 1
#endif

#define PG 4096u
#define COLD_PAGES 8192u
#define HOT_PAGES 64u
#define MAX_ROUNDS 64

typedef void (*clear_fn)(void *dst);
typedef void (*copy_fn)(void *dst, const void *src);

static void clear_memset(void *dst)
{
	memset(dst, 0, PG);
}

static void copy_memcpy(void *dst, const void *src)
{
	memcpy(dst, src, PG);
}

#ifdef HAVE_X86
static void clear_stosb(void *dst)
{
	size_t n = PG;

	__asm__ volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(0) : "memory");
}

static void clear_stosq(void *dst)
{
	size_t n = PG / 8;

	__asm__ volatile("rep stosq" : "+D"(dst), "+c"(n) : "a"(0) : "memory");
}

static void clear_nt(void *dst)
{
	__m128i z = _mm_setzero_si128();
	__m128i *d = dst;

	for (unsigned i = 0; i < PG / 16; i += 4) {
		_mm_stream_si128(d + i, z);
		_mm_stream_si128(d + i + 1, z);
		_mm_stream_si128(d + i + 2, z);
		_mm_stream_si128(d + i + 3, z);
	}
	_mm_sfence();
}

static void copy_movsb(void *dst, const void *src)
{
	size_t n = PG;

	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

static void copy_movsq(void *dst, const void *src)
{
	size_t n = PG / 8;

	__asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

static void copy_nt(void *dst, const void *src)
{
	const __m128i *s = src;
	__m128i *d = dst;

	for (unsigned i = 0; i < PG / 16; i += 4) {
		__m128i a = _mm_loadu_si128(s + i), b = _mm_loadu_si128(s + i + 1);
		__m128i c = _mm_loadu_si128(s + i + 2), e = _mm_loadu_si128(s + i + 3);

		_mm_stream_si128(d + i, a);
		_mm_stream_si128(d + i + 1, b);
		_mm_stream_si128(d + i + 2, c);
		_mm_stream_si128(d + i + 3, e);
	}
	_mm_sfence();
}
#endif

static const struct {
	const char *name;
	clear_fn clear;
	copy_fn copy;
} ways[] = {
	{ "memset/memcpy", clear_memset, copy_memcpy },
#ifdef HAVE_X86
	{ "rep stosb/movsb", clear_stosb, copy_movsb },
	{ "rep stosq/movsq", clear_stosq, copy_movsq },
	{ "nt stores", clear_nt, copy_nt },
#endif
};

static unsigned rounds = 15;

static void *region(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		fprintf(stderr, "bench_page_copy: mmap failed\n");
		exit(1);
	}
	madvise(p, len, MADV_NOHUGEPAGE);
	memset(p, 1, len);	/* host pages present: only the cache state differs */
	return p;
}

/*
 * ns per page: @pages pages of @dst (and @src for a copy) in turn, @passes
 * times a round; the median round. The cold pattern evicts the region from
 * the cache by streaming through @flush first.
 */
static double run(unsigned w, bool copy, char *dst, const char *src, unsigned pages,
		  unsigned passes, char *flush, size_t flush_len)
{
	double ns[MAX_ROUNDS];

	for (unsigned r = 0; r < rounds; r++) {
		uint64_t t0;

		if (flush)
			memset(flush, (int)r, flush_len);
		t0 = now_ns();
		for (unsigned k = 0; k < passes; k++)
			for (unsigned i = 0; i < pages; i++) {
				if (copy)
					ways[w].copy(dst + (size_t)i * PG, src + (size_t)i * PG);
				else
					ways[w].clear(dst + (size_t)i * PG);
			}
		ns[r] = (double)(now_ns() - t0) / ((double)pages * passes);
		clobber(dst);
	}
	return bench_median(ns, rounds);
}

int main(int argc, char **argv)
{
	size_t cold_len = (size_t)COLD_PAGES * PG;
	char *dst, *src, *flush;
	unsigned passes = COLD_PAGES / HOT_PAGES;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
			rounds = (unsigned)strtoul(argv[++i], NULL, 0);
		} else {
			fprintf(stderr, "usage: bench_page_copy [--rounds N]\n");
			return 2;
		}
	}
	if (!rounds || rounds > MAX_ROUNDS)
		return 2;
	dst = region(cold_len);
	src = region(cold_len);
	flush = region(cold_len);
	printf("bench_page_copy: ns per 4 KiB page, median of %u rounds; cold: %u pages "
	       "(32 MiB) once each, hot: %u pages %u times\n",
	       rounds, COLD_PAGES, HOT_PAGES, passes);
	printf("%-16s %10s %10s %10s %10s\n", "way", "clear cold", "clear hot", "copy cold",
	       "copy hot");
	for (unsigned w = 0; w < sizeof(ways) / sizeof(ways[0]); w++) {
		double cc = run(w, false, dst, NULL, COLD_PAGES, 1, flush, cold_len);
		double ch = run(w, false, dst, NULL, HOT_PAGES, passes, NULL, 0);
		double pc = run(w, true, dst, src, COLD_PAGES, 1, flush, cold_len);
		double ph = run(w, true, dst, src, HOT_PAGES, passes, NULL, 0);

		printf("%-16s %10.1f %10.1f %10.1f %10.1f\n", ways[w].name, cc, ch, pc, ph);
		fflush(stdout);
	}
	munmap(dst, cold_len);
	munmap(src, cold_len);
	munmap(flush, cold_len);
	return 0;
}
