/* SPDX-License-Identifier: MIT */
/*
 * Quicksort with Hoare's partition around the median of the first, middle
 * and last keys, moved to the front: the scans then stop inside the range
 * and both parts are non-empty. The smaller part is sorted by recursion and
 * the larger by the loop, so the stack holds at most log2(n) frames. Runs of
 * up to INSERTION_MAX keys are finished by insertion sort.
 */
#include "lib/sort.h"

#define INSERTION_MAX 16

static void swap_u64(uint64_t *a, uint64_t *b)
{
	uint64_t t = *a;

	*a = *b;
	*b = t;
}

static void insertion_sort(uint64_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uint64_t x = v[i];
		size_t j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* Put the median of v[0], v[n / 2] and v[n - 1] at v[0]. */
static void median_to_front(uint64_t *v, size_t n)
{
	uint64_t *a = &v[0], *b = &v[n / 2], *c = &v[n - 1];

	if (*b < *a)
		swap_u64(a, b);
	if (*c < *b) {
		swap_u64(b, c);
		if (*b < *a)
			swap_u64(a, b);
	}
	swap_u64(a, b);	/* a <= b <= c: b is the median */
}

/* Hoare's partition around v[0]; returns the size of the lower part (1 .. n - 1). */
static size_t partition(uint64_t *v, size_t n)
{
	uint64_t pivot = v[0];
	size_t i = 0, j = n;

	for (;;) {
		while (v[i] < pivot)
			i++;
		do
			j--;
		while (v[j] > pivot);
		if (i >= j)
			return j + 1;
		swap_u64(&v[i], &v[j]);
		i++;
	}
}

void vmm_sort_u64(uint64_t *v, size_t n)
{
	while (n > INSERTION_MAX) {
		size_t lower;

		median_to_front(v, n);
		lower = partition(v, n);
		if (lower < n - lower) {
			vmm_sort_u64(v, lower);
			v += lower;
			n -= lower;
		} else {
			vmm_sort_u64(v + lower, n - lower);
			n = lower;
		}
	}
	insertion_sort(v, n);
}
