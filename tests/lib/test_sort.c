/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/lib/sort.c: vmm_sort_u64() against qsort() on seeded
 * random arrays of every length up to 600 (so every partition size and the
 * insertion-sort cut-off are crossed), with many duplicates, sorted and
 * reversed input, and keys at both ends of the range.
 */
#include "test_util.h"

#include <string.h>

#include "lib/prng.h"
#include "lib/sort.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort a copy both ways and compare. */
static void check_sorts(const uint64_t *in, size_t n)
{
	uint64_t *want = malloc((n ? n : 1) * sizeof(*want));
	uint64_t *got = malloc((n ? n : 1) * sizeof(*got));

	assert_non_null(want);
	assert_non_null(got);
	memcpy(want, in, n * sizeof(*in));
	memcpy(got, in, n * sizeof(*in));
	qsort(want, n, sizeof(*want), cmp_u64);
	vmm_sort_u64(got, n);
	assert_memory_equal(got, want, n * sizeof(*got));
	free(want);
	free(got);
}

static void test_random_lengths(void **state)
{
	uint64_t seed = test_seed(__func__, 0x5047), in[600];
	struct vmm_prng r;

	(void)state;
	vmm_prng_seed(&r, seed);
	for (size_t n = 0; n <= 600; n++) {
		/* keys from a range of n / 4 + 1 values: duplicates all the way down */
		uint64_t range = vmm_prng_below(&r, 2) ? UINT64_MAX : n / 4 + 1;

		for (size_t i = 0; i < n; i++)
			in[i] = range == UINT64_MAX ? vmm_prng_next(&r) : vmm_prng_below(&r, range);
		check_sorts(in, n);
	}
}

static void test_ordered_and_extreme_input(void **state)
{
	uint64_t in[257];

	(void)state;
	for (size_t i = 0; i < 257; i++)
		in[i] = i;
	check_sorts(in, 257);
	for (size_t i = 0; i < 257; i++)
		in[i] = 257 - i;
	check_sorts(in, 257);
	for (size_t i = 0; i < 257; i++)
		in[i] = i % 2 ? UINT64_MAX : 0;
	check_sorts(in, 257);
	for (size_t i = 0; i < 257; i++)
		in[i] = 42;
	check_sorts(in, 257);
	for (size_t i = 0; i < 257; i++)	/* organ pipe */
		in[i] = i < 128 ? i : 256 - i;
	check_sorts(in, 257);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_lengths),
		cmocka_unit_test(test_ordered_and_extreme_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
