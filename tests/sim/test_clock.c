/* SPDX-License-Identifier: MIT */
/* Tests of src/sim/clock.c: per-CPU cycle clocks, categories, the dump. */
#include "test_util.h"

#include <string.h>

#include "lib/hostmem.h"
#include "machine.h"
#include "sim/clock.h"

static void test_charge_lands_in_category_and_total(void **state)
{
	struct vmm_hostmem hm;
	struct vmm_clock c;
	(void)state;

	vmm_hostmem_init(&hm, NULL);
	assert_int_equal(vmm_clock_init(&c, 3, &hm), 0);
	assert_int_equal(c.cost.alloc_fast, 60);
	vmm_clock_charge(&c, 1, VMM_CYC_ALLOC, 100);
	vmm_clock_charge(&c, 1, VMM_CYC_FREE, 7);
	vmm_clock_charge(&c, 2, VMM_CYC_TLB, 50);
	assert_int_equal(c.cpu[1].cycles, 107);
	assert_int_equal(vmm_clock_cat(&c.cpu[1], VMM_CYC_ALLOC), 100);
	assert_int_equal(vmm_clock_cat(&c.cpu[1], VMM_CYC_FREE), 7);
	/* the free fast paths' charge: the total alone, read back as page_free */
	vmm_clock_charge_free(c.by_cpu[1], 5);
	assert_int_equal(c.cpu[1].cycles, 112);
	assert_int_equal(vmm_clock_cat(&c.cpu[1], VMM_CYC_FREE), 12);
	assert_int_equal(vmm_clock_cat(&c.cpu[1], VMM_CYC_ALLOC), 100);
	assert_int_equal(vmm_clock_cat(&c.cpu[2], VMM_CYC_FREE), 0);
	assert_int_equal(vmm_clock_cat(&c.cpu[2], VMM_CYC_TLB), 50);
	assert_int_equal(c.cpu[0].cycles, 0);
	assert_int_equal(vmm_clock_now(&c), 112);
	vmm_clock_destroy(&c, &hm);
	assert_int_equal(hm.heap_bytes, 0);
}

static void test_public_reader(void **state)
{
	vmm_machine *m = default_machine();
	uint64_t v = 1;
	(void)state;

	assert_int_equal(vmm_cpu_cycles(m, 0, VMM_CYC_ALLOC, &v), 0);
	vmm_charge(m, VMM_CYC_IO, 33);
	assert_int_equal(vmm_cpu_cycles(m, m->current_cpu, VMM_CYC_IO, &v), 0);
	assert_int_equal(v, 33);
	assert_int_equal(vmm_cpu_cycles(m, m->current_cpu, VMM_CYC_NR_CATEGORIES, &v), 0);
	assert_true(v >= 33);
	assert_int_equal(vmm_cpu_cycles(m, 99, VMM_CYC_IO, &v), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_cycles(m, 0, VMM_CYC_NR_CATEGORIES + 1, &v), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_cycles(m, 0, VMM_CYC_IO, NULL), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_cycles(NULL, 0, VMM_CYC_IO, &v), -VMM_EINVAL);
	vmm_machine_destroy(&m);
}

static void test_names_and_dump(void **state)
{
	vmm_machine *m = default_machine();
	char *text;
	(void)state;

	for (int k = 0; k < VMM_CYC_NR_CATEGORIES; k++)
		assert_non_null(vmm_cycle_category_name(k));
	assert_null(vmm_cycle_category_name(VMM_CYC_NR_CATEGORIES));
	assert_string_equal(vmm_cycle_category_name(VMM_CYC_ALLOC), "page_alloc");
	vmm_charge(m, VMM_CYC_IPI, 1500);
	text = dump_to_string(m, VMM_DUMP_CYCLES);
	assert_non_null(strstr(text, "cpu3"));
	assert_non_null(strstr(text, "ipi"));
	assert_non_null(strstr(text, "1500"));
	free(text);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_charge_lands_in_category_and_total),
		cmocka_unit_test(test_public_reader),
		cmocka_unit_test(test_names_and_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
