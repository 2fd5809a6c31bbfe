/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/lib/hostmem.c: failure injection (the Nth call, and a
 * seeded rate), the accounting of calls, failures and bytes, the calloc
 * overflow check, realloc's keep-the-old-block-on-failure promise, lazy maps
 * and the backend name.
 */
#include "test_util.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "lib/hostmem.h"

/* One call of each allocating kind, to number calls across kinds. */
enum call_kind { CALL_MALLOC, CALL_ZALLOC, CALL_CALLOC, CALL_REALLOC, CALL_MAP, NR_CALL_KINDS };

#define MAP_SIZE (1u << 20)

/* Make one call of @kind; return whether it succeeded, and release what it got. */
static bool one_call(struct vmm_hostmem *hm, enum call_kind kind)
{
	void *p = NULL, *q;

	switch (kind) {
	case CALL_MALLOC:
		p = vmm_hmalloc(hm, 24);
		vmm_hfree(hm, p, 24);
		break;
	case CALL_ZALLOC:
		p = vmm_hzalloc(hm, 24);
		vmm_hfree(hm, p, 24);
		break;
	case CALL_CALLOC:
		p = vmm_hcalloc(hm, 3, 8);
		vmm_hfree(hm, p, 24);
		break;
	case CALL_REALLOC: {
		/* the realloc is the call under test: take the block outside the numbering */
		struct vmm_hostmem_inject saved = hm->inject;
		uint64_t calls = hm->calls;
		void *old;

		hm->inject = (struct vmm_hostmem_inject){ 0 };
		old = vmm_hmalloc(hm, 8);
		assert_non_null(old);
		hm->inject = saved;
		hm->calls = calls;
		q = vmm_hrealloc(hm, old, 8, 24);
		vmm_hfree(hm, q ? q : old, q ? 24 : 8);
		p = q;
		break;
	}
	case CALL_MAP:
		p = vmm_hmap(hm, MAP_SIZE);
		vmm_hunmap(hm, p, MAP_SIZE);
		break;
	default:
		fail();
	}
	return p != NULL;
}

/* fail_nth fails exactly the Nth call, whichever kind it is, and no other. */
static void test_fail_nth(void **state)
{
	(void)state;
	for (int kind = 0; kind < NR_CALL_KINDS; kind++) {
		for (uint64_t nth = 1; nth <= 6; nth++) {
			const struct vmm_hostmem_inject inject = { .fail_nth = nth };
			struct vmm_hostmem hm;

			vmm_hostmem_init(&hm, &inject);
			for (uint64_t call = 1; call <= 8; call++) {
				/* the Nth call is of @kind, the others alternate kinds */
				enum call_kind k = call == nth
							   ? (enum call_kind)kind
							   : (enum call_kind)(call % NR_CALL_KINDS);
				bool ok = one_call(&hm, k);

				if (ok != (call != nth))
					fail_msg("kind %d, fail_nth %" PRIu64 ": call %" PRIu64
						 " %s",
						 kind, nth, call, ok ? "succeeded" : "failed");
			}
			assert_int_equal(hm.calls, 8);
			assert_int_equal(hm.failures, 1);
			assert_int_equal(hm.heap_bytes, 0);
			assert_int_equal(hm.map_bytes, 0);
		}
	}
}

/* Without injection nothing fails; fail_nth 0 disables. */
static void test_no_injection(void **state)
{
	const struct vmm_hostmem_inject zero = { 0 };
	struct vmm_hostmem hm;

	(void)state;
	vmm_hostmem_init(&hm, NULL);
	for (int i = 0; i < 100; i++)
		assert_true(one_call(&hm, (enum call_kind)(i % NR_CALL_KINDS)));
	assert_int_equal(hm.calls, 100);
	assert_int_equal(hm.failures, 0);

	vmm_hostmem_init(&hm, &zero);
	for (int i = 0; i < 100; i++)
		assert_true(one_call(&hm, (enum call_kind)(i % NR_CALL_KINDS)));
	assert_int_equal(hm.failures, 0);
}

#define PPM_CALLS 20000

/* Run PPM_CALLS mallocs under @inject; record which failed. */
static unsigned ppm_run(const struct vmm_hostmem_inject *inject, bool *failed)
{
	struct vmm_hostmem hm;
	unsigned n = 0;

	vmm_hostmem_init(&hm, inject);
	for (unsigned i = 0; i < PPM_CALLS; i++) {
		void *p = vmm_hmalloc(&hm, 16);

		failed[i] = p == NULL;
		n += failed[i];
		vmm_hfree(&hm, p, 16);
	}
	assert_int_equal(hm.failures, n);
	assert_int_equal(hm.calls, PPM_CALLS);
	assert_int_equal(hm.heap_bytes, 0);
	return n;
}

static void test_fail_ppm(void **state)
{
	static bool a[PPM_CALLS], b[PPM_CALLS];
	static const uint32_t rates[] = { 1000, 50000, 250000, 900000 };
	uint64_t seed = test_seed("test_fail_ppm", 2024);

	(void)state;
	for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
		const struct vmm_hostmem_inject inject = { .fail_ppm = rates[r], .seed = seed };
		struct vmm_hostmem_inject other = inject;
		double expected = (double)PPM_CALLS * rates[r] / 1e6;
		double sd = sqrt(expected * (1 - rates[r] / 1e6));
		unsigned n = ppm_run(&inject, a);

		/* the rate, within six standard deviations */
		if (n < expected - 6 * sd || n > expected + 6 * sd)
			fail_msg("fail_ppm %u: %u of %u calls failed, expected about %.0f",
				 rates[r], n, PPM_CALLS, expected);
		/* the same seed fails the same calls */
		assert_int_equal(ppm_run(&inject, b), n);
		assert_memory_equal(a, b, sizeof(a));
		/* another seed fails other calls */
		other.seed = seed + 1;
		ppm_run(&other, b);
		assert_memory_not_equal(a, b, sizeof(a));
	}

	/* 1000000 ppm fails every call */
	{
		const struct vmm_hostmem_inject all = { .fail_ppm = 1000000, .seed = seed };

		assert_int_equal(ppm_run(&all, a), PPM_CALLS);
	}
}

/* fail_nth and fail_ppm together: the Nth call fails whatever the stream says. */
static void test_fail_nth_and_ppm(void **state)
{
	const struct vmm_hostmem_inject inject = { .fail_nth = 5, .fail_ppm = 1, .seed = 3 };
	struct vmm_hostmem hm;

	(void)state;
	vmm_hostmem_init(&hm, &inject);
	for (int i = 1; i <= 10; i++)
		assert_int_equal(one_call(&hm, CALL_MALLOC), i != 5);
}

static void test_hcalloc(void **state)
{
	struct vmm_hostmem hm;
	uint8_t *p;

	(void)state;
	vmm_hostmem_init(&hm, NULL);
	/* n * size overflows size_t: a counted failure, nothing allocated */
	assert_null(vmm_hcalloc(&hm, SIZE_MAX / 2 + 1, 2));
	assert_null(vmm_hcalloc(&hm, 2, SIZE_MAX / 2 + 1));
	assert_null(vmm_hcalloc(&hm, SIZE_MAX, SIZE_MAX));
	assert_int_equal(hm.calls, 3);
	assert_int_equal(hm.failures, 3);
	assert_int_equal(hm.heap_bytes, 0);

	/* a product that fits is allocated, zeroed and accounted */
	p = vmm_hcalloc(&hm, 1000, 10);
	assert_non_null(p);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(p[i], 0);
	assert_int_equal(hm.heap_bytes, 10000);
	vmm_hfree(&hm, p, 10000);

	/* zero elements or zero size still give a block to free */
	p = vmm_hcalloc(&hm, 0, 8);
	assert_non_null(p);
	vmm_hfree(&hm, p, 0);
	p = vmm_hcalloc(&hm, 8, 0);
	assert_non_null(p);
	vmm_hfree(&hm, p, 0);
	assert_int_equal(hm.heap_bytes, 0);
	assert_int_equal(hm.failures, 3);
	assert_int_equal(hm.calls, 6);
}

static void test_accounting(void **state)
{
	const struct vmm_hostmem_inject inject = { .fail_nth = 4 };
	struct vmm_hostmem hm;
	void *a, *b, *c, *d;

	(void)state;
	vmm_hostmem_init(&hm, &inject);
	assert_int_equal(hm.calls, 0);
	assert_int_equal(hm.heap_bytes, 0);
	assert_int_equal(hm.peak_heap_bytes, 0);

	a = vmm_hmalloc(&hm, 100);
	b = vmm_hzalloc(&hm, 200);
	c = vmm_hcalloc(&hm, 10, 30);
	assert_true(a && b && c);
	assert_int_equal(hm.heap_bytes, 600);
	assert_int_equal(hm.peak_heap_bytes, 600);

	d = vmm_hmalloc(&hm, 1000); /* call 4: fails, counts nothing but the failure */
	assert_null(d);
	assert_int_equal(hm.heap_bytes, 600);
	assert_int_equal(hm.peak_heap_bytes, 600);
	assert_int_equal(hm.failures, 1);

	vmm_hfree(&hm, b, 200);
	assert_int_equal(hm.heap_bytes, 400);
	assert_int_equal(hm.peak_heap_bytes, 600);

	a = vmm_hrealloc(&hm, a, 100, 500); /* 400 - 100 + 500 */
	assert_non_null(a);
	assert_int_equal(hm.heap_bytes, 800);
	assert_int_equal(hm.peak_heap_bytes, 800);
	a = vmm_hrealloc(&hm, a, 500, 50);
	assert_non_null(a);
	assert_int_equal(hm.heap_bytes, 350);
	assert_int_equal(hm.peak_heap_bytes, 800);

	vmm_hfree(&hm, a, 50);
	vmm_hfree(&hm, c, 300);
	vmm_hfree(&hm, NULL, 12345); /* ignored */
	assert_int_equal(hm.heap_bytes, 0);
	assert_int_equal(hm.peak_heap_bytes, 800);
	assert_int_equal(hm.calls, 6);
	assert_int_equal(hm.failures, 1);
	assert_int_equal(hm.map_bytes, 0);
}

/* A failed realloc leaves the old block allocated, unchanged, and still accounted. */
static void test_realloc_failure_keeps_block(void **state)
{
	const struct vmm_hostmem_inject inject = { .fail_nth = 2 };
	struct vmm_hostmem hm;
	uint8_t *p, *q;

	(void)state;
	vmm_hostmem_init(&hm, &inject);
	p = vmm_hmalloc(&hm, 64);
	assert_non_null(p);
	for (int i = 0; i < 64; i++)
		p[i] = (uint8_t)(0xc0 + i);

	q = vmm_hrealloc(&hm, p, 64, 4096);
	assert_null(q);
	assert_int_equal(hm.failures, 1);
	assert_int_equal(hm.heap_bytes, 64);
	for (int i = 0; i < 64; i++)
		assert_int_equal(p[i], (uint8_t)(0xc0 + i));

	/* a later realloc succeeds and carries the contents over */
	q = vmm_hrealloc(&hm, p, 64, 4096);
	assert_non_null(q);
	for (int i = 0; i < 64; i++)
		assert_int_equal(q[i], (uint8_t)(0xc0 + i));
	assert_int_equal(hm.heap_bytes, 4096);
	vmm_hfree(&hm, q, 4096);
	assert_int_equal(hm.heap_bytes, 0);

	/* realloc of NULL is a malloc */
	p = vmm_hrealloc(&hm, NULL, 0, 32);
	assert_non_null(p);
	assert_int_equal(hm.heap_bytes, 32);
	vmm_hfree(&hm, p, 32);
	assert_int_equal(hm.calls, 4);
}

static void test_zalloc_zeroes(void **state)
{
	struct vmm_hostmem hm;
	uint8_t *p;

	(void)state;
	vmm_hostmem_init(&hm, NULL);
	/* dirty a block first so a recycled one would show */
	p = vmm_hmalloc(&hm, 4096);
	assert_non_null(p);
	memset(p, 0xa5, 4096);
	vmm_hfree(&hm, p, 4096);
	p = vmm_hzalloc(&hm, 4096);
	assert_non_null(p);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(p[i], 0);
	vmm_hfree(&hm, p, 4096);
	/* zero-byte requests give a block to free */
	p = vmm_hmalloc(&hm, 0);
	assert_non_null(p);
	vmm_hfree(&hm, p, 0);
	p = vmm_hzalloc(&hm, 0);
	assert_non_null(p);
	vmm_hfree(&hm, p, 0);
}

/* Lazy maps: zero-filled, writable, accounted apart from the heap, and real failures counted. */
static void test_map(void **state)
{
	const size_t big = (size_t)4 << 30;
	struct vmm_hostmem hm;
	uint8_t *p;

	(void)state;
	vmm_hostmem_init(&hm, NULL);
	/* far more than the test could touch: only written pages cost anything */
	p = vmm_hmap(&hm, big);
	assert_non_null(p);
	assert_int_equal(hm.map_bytes, big);
	assert_int_equal(hm.heap_bytes, 0);
	assert_int_equal(p[0], 0);
	assert_int_equal(p[big / 2], 0);
	assert_int_equal(p[big - 1], 0);
	p[big / 2] = 7;
	assert_int_equal(p[big / 2], 7);
	vmm_hunmap(&hm, p, big);
	assert_int_equal(hm.map_bytes, 0);
	vmm_hunmap(&hm, NULL, big); /* ignored */
	assert_int_equal(hm.map_bytes, 0);

	/* a size the host cannot map fails for real, and is counted */
	assert_null(vmm_hmap(&hm, SIZE_MAX & ~(size_t)4095));
	assert_int_equal(hm.failures, 1);
	assert_int_equal(hm.map_bytes, 0);
	assert_int_equal(hm.calls, 2);
}

static void test_backend(void **state)
{
	(void)state;
#if VMM_HOST_JEMALLOC
	assert_string_equal(vmm_hostmem_backend(), "jemalloc");
#else
	assert_string_equal(vmm_hostmem_backend(), "system");
#endif
}

/* Init resets everything, copies the injection settings and seeds the stream. */
static void test_init_copies_inject(void **state)
{
	struct vmm_hostmem_inject inject = { .fail_nth = 3, .fail_ppm = 10, .seed = 77 };
	struct vmm_hostmem hm;

	(void)state;
	memset(&hm, 0xff, sizeof(hm));
	vmm_hostmem_init(&hm, &inject);
	inject.fail_nth = 0; /* the context keeps its own copy */
	assert_int_equal(hm.inject.fail_nth, 3);
	assert_int_equal(hm.inject.fail_ppm, 10);
	assert_int_equal(hm.inject.seed, 77);
	assert_int_equal(hm.rng, 77);
	assert_int_equal(hm.calls, 0);
	assert_int_equal(hm.failures, 0);
	assert_int_equal(hm.heap_bytes, 0);
	assert_int_equal(hm.map_bytes, 0);
	assert_int_equal(hm.peak_heap_bytes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fail_nth),
		cmocka_unit_test(test_no_injection),
		cmocka_unit_test(test_fail_ppm),
		cmocka_unit_test(test_fail_nth_and_ppm),
		cmocka_unit_test(test_hcalloc),
		cmocka_unit_test(test_accounting),
		cmocka_unit_test(test_realloc_failure_keeps_block),
		cmocka_unit_test(test_zalloc_zeroes),
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_backend),
		cmocka_unit_test(test_init_copies_inject),
	};

	return cmocka_run_group_tests_name("lib-hostmem", tests, NULL, NULL);
}
