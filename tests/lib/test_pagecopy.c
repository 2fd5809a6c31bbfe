/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/lib/pagecopy.h: vmm_clear_host_pages() and
 * vmm_copy_host_pages() on one and on several pages of seeded random bytes
 * inside a larger buffer, whose bytes before and after the range must stay
 * as they were.
 */
#include "test_util.h"

#include <string.h>

#include "lib/pagecopy.h"
#include "lib/prng.h"

#define PG 4096u
#define MAX_PAGES 3u
/* a page of guard bytes on each side of the range */
#define BUF_BYTES ((MAX_PAGES + 2) * PG)

static void fill_random(struct vmm_prng *r, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)vmm_prng_next(r);
}

static void test_clear(void **state)
{
	uint64_t seed = test_seed(__func__, 0xc1ea);
	static uint8_t buf[BUF_BYTES], want[BUF_BYTES];
	struct vmm_prng r;

	(void)state;
	vmm_prng_seed(&r, seed);
	for (unsigned pages = 1; pages <= MAX_PAGES; pages++) {
		fill_random(&r, buf, sizeof(buf));
		memcpy(want, buf, sizeof(buf));
		memset(want + PG, 0, pages * PG);
		vmm_clear_host_pages(buf + PG, pages * PG);
		assert_memory_equal(buf, want, sizeof(buf));
	}
}

static void test_copy(void **state)
{
	uint64_t seed = test_seed(__func__, 0xc0b7);
	static uint8_t buf[BUF_BYTES], src[MAX_PAGES * PG], want[BUF_BYTES];
	struct vmm_prng r;

	(void)state;
	vmm_prng_seed(&r, seed);
	for (unsigned pages = 1; pages <= MAX_PAGES; pages++) {
		fill_random(&r, buf, sizeof(buf));
		fill_random(&r, src, sizeof(src));
		memcpy(want, buf, sizeof(buf));
		memcpy(want + PG, src, pages * PG);
		vmm_copy_host_pages(buf + PG, src, pages * PG);
		assert_memory_equal(buf, want, sizeof(buf));
		/* the source is left alone: copying back gives the same bytes */
		assert_memory_equal(src, buf + PG, pages * PG);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
