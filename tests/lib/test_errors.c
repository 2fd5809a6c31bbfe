/* SPDX-License-Identifier: MIT */
/* Unit tests of src/lib/errors.c: vmm_strerror() for every code, known or not. */
#include "test_util.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>

/* Every code of enum vmm_error (VMM_ECFG_BASE and VMM_ECFG_LAST are aliases). */
static const int all_codes[] = {
	VMM_OK,
	VMM_EPERM,
	VMM_ENOENT,
	VMM_EINTR,
	VMM_EIO,
	VMM_E2BIG,
	VMM_EBADF,
	VMM_EAGAIN,
	VMM_ENOMEM,
	VMM_EACCES,
	VMM_EFAULT,
	VMM_EBUSY,
	VMM_EEXIST,
	VMM_ENODEV,
	VMM_EINVAL,
	VMM_ENFILE,
	VMM_EFBIG,
	VMM_ENOSPC,
	VMM_ERANGE,
	VMM_ENOSYS,
	VMM_EOVERFLOW,
	VMM_EOPNOTSUPP,
	VMM_ECFG_SIZE,
	VMM_ECFG_NODES,
	VMM_ECFG_NODE_MEM,
	VMM_ECFG_MEM_TOTAL,
	VMM_ECFG_PAGING_LEVELS,
	VMM_ECFG_CPUS,
	VMM_ECFG_CPU_NODE,
	VMM_ECFG_DISTANCE,
	VMM_ECFG_HOLE,
	VMM_ECFG_FLAGS,
	VMM_ECFG_MOVABLECORE,
	VMM_ECFG_KERNEL,
	VMM_ECFG_NODE_EMPTY,
	VMM_ECFG_LOG_LEVEL,
	VMM_ECFG_RESERVED,
	VMM_ECFG_NR_HOLES,
	VMM_ECFG_MIN_FREE,
	VMM_ECFG_TLB,
	VMM_ECFG_TLB_POLICY,
	VMM_ECFG_PHYS_BITS,
	VMM_ECFG_TIME,
	VMM_ECFG_HIGHMEM,
};

#define NR_CODES (sizeof(all_codes) / sizeof(all_codes[0]))

static bool is_known(int code)
{
	for (size_t i = 0; i < NR_CODES; i++)
		if (all_codes[i] == code)
			return true;
	return false;
}

/* Every code has a real description, the same for the code and its negation. */
static void test_every_code_described(void **state)
{
	(void)state;
	for (size_t i = 0; i < NR_CODES; i++) {
		const char *pos = vmm_strerror(all_codes[i]);
		const char *neg = vmm_strerror(-all_codes[i]);

		assert_non_null(pos);
		assert_non_null(neg);
		assert_string_equal(pos, neg);
		assert_true(strlen(pos) > 0);
		if (strcmp(pos, "unknown error") == 0)
			fail_msg("code %d has no description", all_codes[i]);
	}
	/* and every configuration code is in the table above */
	for (int code = VMM_ECFG_BASE; code <= VMM_ECFG_LAST; code++)
		assert_true(is_known(code));
}

static void test_descriptions_distinct(void **state)
{
	(void)state;
	for (size_t i = 0; i < NR_CODES; i++)
		for (size_t j = i + 1; j < NR_CODES; j++)
			if (strcmp(vmm_strerror(all_codes[i]), vmm_strerror(all_codes[j])) == 0)
				fail_msg("codes %d and %d share \"%s\"", all_codes[i], all_codes[j],
					 vmm_strerror(all_codes[i]));
}

/* A few descriptions whose wording matters to users. */
static void test_some_texts(void **state)
{
	(void)state;
	assert_string_equal(vmm_strerror(0), "success");
	assert_string_equal(vmm_strerror(-VMM_ENOMEM), "out of memory");
	assert_string_equal(vmm_strerror(-VMM_EINVAL), "invalid argument");
	/* configuration errors say so, and name their field */
	for (int code = VMM_ECFG_BASE; code <= VMM_ECFG_LAST; code++)
		assert_true(strncmp(vmm_strerror(-code), "config: ", 8) == 0);
	assert_non_null(strstr(vmm_strerror(-VMM_ECFG_PAGING_LEVELS), "paging_levels"));
	assert_non_null(strstr(vmm_strerror(-VMM_ECFG_MOVABLECORE), "movablecore"));
	assert_non_null(strstr(vmm_strerror(-VMM_ECFG_NR_HOLES), "nr_holes"));
}

static void test_unknown_codes(void **state)
{
	/* gaps in the errno range, just around the config range, and far away */
	static const int unknown[] = { 3,
				       6,
				       8,
				       10,
				       15,
				       18,
				       20,
				       21,
				       24,
				       33,
				       35,
				       74,
				       76,
				       94,
				       96,
				       999,
				       VMM_ECFG_LAST + 1,
				       1100,
				       4096,
				       100000,
				       INT_MAX,
				       -INT_MAX };

	(void)state;
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		assert_false(is_known(unknown[i] < 0 ? -unknown[i] : unknown[i]));
		assert_string_equal(vmm_strerror(unknown[i]), "unknown error");
		assert_string_equal(vmm_strerror(-unknown[i]), "unknown error");
	}
	/* everything between the errno codes and the config codes */
	for (int code = 0; code < 2000; code++)
		if (!is_known(code))
			assert_string_equal(vmm_strerror(code), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_code_described),
		cmocka_unit_test(test_descriptions_distinct),
		cmocka_unit_test(test_some_texts),
		cmocka_unit_test(test_unknown_codes),
	};

	return cmocka_run_group_tests_name("lib-errors", tests, NULL, NULL);
}
