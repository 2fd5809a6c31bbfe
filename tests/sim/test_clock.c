/* SPDX-License-Identifier: MIT */
/* Tests of src/sim/clock.c: per-CPU cycle clocks, categories, the dump. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#include "lib/hostmem.h"
#include "machine.h"
#include "sim/clock.h"

/* A clock of three CPUs on its own host memory, for the tests that need no machine. */
struct clock_fixture {
	struct vmm_hostmem hm;
	struct vmm_clock c;
};

static int clock_setup(void **state)
{
	struct clock_fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	vmm_hostmem_init(&f->hm, NULL);
	if (vmm_clock_init(&f->c, 3, &f->hm)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int clock_teardown(void **state)
{
	struct clock_fixture *f = *state;
	uint64_t left;

	vmm_clock_destroy(&f->c, &f->hm);
	left = f->hm.heap_bytes;
	free(f);
	return left ? -1 : 0;
}

static void test_charge_lands_in_category_and_total(void **state)
{
	struct vmm_clock *c = &((struct clock_fixture *)*state)->c;

	assert_int_equal(c->cost.alloc_fast, 60);
	vmm_clock_charge(c, 1, VMM_CYC_ALLOC, 100);
	vmm_clock_charge(c, 1, VMM_CYC_FREE, 7);
	vmm_clock_charge(c, 2, VMM_CYC_TLB, 50);
	assert_int_equal(vmm_cpu_clock_cycles(&c->cpu[1]), 107);
	assert_int_equal(vmm_clock_cat(&c->cpu[1], VMM_CYC_ALLOC), 100);
	assert_int_equal(vmm_clock_cat(&c->cpu[1], VMM_CYC_FREE), 7);
	/* the free fast paths' charge: the total alone, read back as page_free */
	vmm_clock_charge_free(c->by_cpu[1], 5);
	assert_int_equal(vmm_cpu_clock_cycles(&c->cpu[1]), 112);
	assert_int_equal(vmm_clock_cat(&c->cpu[1], VMM_CYC_FREE), 12);
	assert_int_equal(vmm_clock_cat(&c->cpu[1], VMM_CYC_ALLOC), 100);
	assert_int_equal(vmm_clock_cat(&c->cpu[2], VMM_CYC_FREE), 0);
	assert_int_equal(vmm_clock_cat(&c->cpu[2], VMM_CYC_TLB), 50);
	assert_int_equal(vmm_cpu_clock_cycles(&c->cpu[0]), 0);
	assert_int_equal(vmm_clock_now(c), 112);
}

/* The deadline moves no clock; a charge reports reaching it, and a clock past it stays due. */
static void test_deadline(void **state)
{
	struct vmm_clock *c = &((struct clock_fixture *)*state)->c;

	assert_false(vmm_cpu_clock_due(c->by_cpu[0]));
	vmm_clock_charge(c, 0, VMM_CYC_TLB, 100);
	vmm_clock_set_deadline(c, 150);
	assert_int_equal(vmm_cpu_clock_cycles(c->by_cpu[0]), 100);
	assert_int_equal(vmm_cpu_clock_cycles(c->by_cpu[1]), 0);
	assert_false(vmm_cpu_clock_charge_due(c->by_cpu[0], VMM_CYC_SLAB, 49));
	assert_true(vmm_cpu_clock_charge_due(c->by_cpu[0], VMM_CYC_SLAB, 1));
	assert_true(vmm_cpu_clock_due(c->by_cpu[0]));
	vmm_clock_charge_free(c->by_cpu[0], 5);
	assert_true(vmm_cpu_clock_due(c->by_cpu[0]));
	assert_false(vmm_cpu_clock_due(c->by_cpu[1]));
	assert_int_equal(vmm_cpu_clock_cycles(c->by_cpu[0]), 155);
	assert_int_equal(vmm_clock_cat(c->by_cpu[0], VMM_CYC_SLAB), 50);
	assert_int_equal(vmm_clock_cat(c->by_cpu[0], VMM_CYC_FREE), 5);
	/* no timer: never due, the totals kept */
	vmm_clock_set_deadline(c, UINT64_MAX);
	assert_false(vmm_cpu_clock_due(c->by_cpu[0]));
	assert_int_equal(vmm_cpu_clock_cycles(c->by_cpu[0]), 155);
	assert_int_equal(vmm_clock_now(c), 155);
	vmm_clock_set_deadline(c, 0);
	assert_true(vmm_cpu_clock_due(c->by_cpu[1]));
	assert_int_equal(vmm_cpu_clock_cycles(c->by_cpu[1]), 0);
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
		cmocka_unit_test_setup_teardown(test_charge_lands_in_category_and_total,
						clock_setup, clock_teardown),
		cmocka_unit_test_setup_teardown(test_deadline, clock_setup, clock_teardown),
		cmocka_unit_test(test_public_reader),
		cmocka_unit_test(test_names_and_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
