/* SPDX-License-Identifier: MIT */
/*
 * The user-memory accessors (src/fault/uaccess.c): copies that fault pages
 * in, -EFAULT with the bytes not copied on a bad address and a healthy
 * machine afterwards (the exception-table fixup, no oops), access_ok,
 * SMAP handled by stac/clac, CPL and RFLAGS restored, get_user/put_user of
 * every size.
 */
#include "fault_test_util.h"

static void test_copy_round_trip(void **state)
{
	vmm_machine *m = fault_machine(0, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	vmm_task *t = running_task(m, cpu, "copy");
	vmm_vaddr_t a = map_anon(t, 0, 4 * PG, RW, 0);
	char out[3 * PG], in[3 * PG];
	size_t left = 1;
	(void)state;

	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (char)(i * 7);
	/* fresh pages: one write fault each, counted as the task's */
	assert_int_equal(vmm_copy_to_user(cpu, a + 100, out, sizeof(out), &left), 0);
	assert_int_equal(left, 0);
	assert_int_equal(task_stats(t).min_flt, 4);
	assert_machine_healthy(m);
	assert_int_equal(vmm_copy_from_user(cpu, in, a + 100, sizeof(in), &left), 0);
	assert_int_equal(left, 0);
	assert_memory_equal(in, out, sizeof(in));
	assert_int_equal(task_stats(t).min_flt, 4);
	/* a zero-length copy does nothing */
	assert_int_equal(vmm_copy_to_user(cpu, 0, out, 0, &left), 0);
	assert_int_equal(left, 0);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

static void test_bad_address_efault(void **state)
{
	struct test_log tl = { 0 };
	vmm_machine *m = fault_machine(0, &tl);
	vmm_cpu *cpu = vmm_machine_cpu(m, 1);
	vmm_task *t = running_task(m, cpu, "efault");
	vmm_vaddr_t a = map_anon(t, 0, PG, RW, 0), ro = map_anon(t, 0, PG, VMM_PROT_READ, 0);
	vmm_vaddr_t hole = a + 64 * PG;
	char buf[64], in[2 * 64];
	size_t left = 0;
	uint64_t cpl, rflags;
	(void)state;

	memset(buf, 0x5a, sizeof(buf));
	/* unmapped: nothing copied, -EFAULT, no oops, the task and machine unharmed */
	assert_int_equal(vmm_copy_to_user(cpu, hole, buf, sizeof(buf), &left), -VMM_EFAULT);
	assert_int_equal(left, sizeof(buf));
	assert_int_equal(machine_stats(m).fixups, 1);
	assert_int_equal(machine_stats(m).oopses, 0);
	assert_int_equal(tl.messages, 0);
	assert_non_null(vmm_cpu_current_task(cpu));
	assert_machine_healthy(m);
	/* read-only mapping: the write is refused the same way */
	assert_int_equal(vmm_copy_to_user(cpu, ro, buf, 8, &left), -VMM_EFAULT);
	assert_int_equal(left, 8);
	/* a copy running off the end of the mapping: the first page's part is copied,
	 * the rest of the destination is zeroed */
	assert_int_equal(vmm_copy_to_user(cpu, a + PG - 64, buf, 64, &left), 0);
	memset(in, 0x11, sizeof(in));
	assert_int_equal(vmm_copy_from_user(cpu, in, a + PG - 64, sizeof(in), &left), -VMM_EFAULT);
	assert_int_equal(left, 64);
	assert_memory_equal(in, buf, 64);
	for (size_t i = 64; i < sizeof(in); i++)
		assert_int_equal(in[i], 0);
	/* above TASK_SIZE (access_ok): refused before any access */
	assert_int_equal(vmm_copy_from_user(cpu, in, m->init_mm.layout.page_offset, 8, &left),
			 -VMM_EFAULT);
	assert_int_equal(left, 8);
	assert_int_equal(machine_stats(m).fixups, 3);
	/* CPL and RFLAGS as they were */
	assert_int_equal(vmm_cpu_get_reg(cpu, VMM_REG_CPL, &cpl), 0);
	assert_int_equal(vmm_cpu_get_reg(cpu, VMM_REG_RFLAGS, &rflags), 0);
	assert_int_equal(cpl, 0);
	assert_int_equal(rflags & VMM_RFLAGS_AC, 0);
	assert_int_equal(machine_stats(m).oopses, 0);
	assert_machine_healthy(m);
	/* the task carries on */
	assert_int_equal(touch(cpu, a, VMM_ACC_WRITE).signal, 0);
	vmm_task_destroy(&t);
	/* no task on the CPU: the accessors are misused */
	assert_int_equal(vmm_copy_to_user(cpu, a, buf, 8, &left), -VMM_EINVAL);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* Under SMAP the accessors set AC for their access only (stac/clac). */
static void test_smap(void **state)
{
	vmm_machine *m = fault_machine(0, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	vmm_task *t = running_task(m, cpu, "smap");
	vmm_vaddr_t a = map_anon(t, 0, PG, RW, 0);
	uint64_t v = 0, rflags;
	(void)state;

	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR4, cpu->regs.cr4 | VMM_CR4_SMAP), 0);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CPL, 3), 0);
	assert_int_equal(vmm_put_user(cpu, a, 8, 0x1122334455667788ull), 0);
	assert_int_equal(vmm_get_user(cpu, a, 8, &v), 0);
	assert_int_equal(v, 0x1122334455667788ull);
	assert_int_equal(vmm_cpu_get_reg(cpu, VMM_REG_RFLAGS, &rflags), 0);
	assert_int_equal(rflags & VMM_RFLAGS_AC, 0);
	assert_int_equal(vmm_cpu_get_reg(cpu, VMM_REG_CPL, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(machine_stats(m).oopses, 0);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

static void test_get_put_user_sizes(void **state)
{
	vmm_machine *m = fault_machine(0, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 1);
	vmm_task *t = running_task(m, cpu, "getput");
	vmm_vaddr_t a = map_anon(t, 0, 2 * PG, RW, 0);
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	uint64_t v;
	(void)state;

	for (unsigned i = 0; i < 4; i++) {
		unsigned s = sizes[i];
		uint64_t mask = s == 8 ? ~0ull : (1ull << (8 * s)) - 1;
		vmm_vaddr_t at = a + PG - 1 - i;	/* across the page boundary for the wide ones */

		assert_int_equal(vmm_put_user(cpu, at, s, 0xa5b6c7d8e9f00112ull), 0);
		assert_int_equal(vmm_get_user(cpu, at, s, &v), 0);
		assert_int_equal(v, 0xa5b6c7d8e9f00112ull & mask);
		assert_machine_healthy(m);
	}
	assert_int_equal(vmm_get_user(cpu, a, 3, &v), -VMM_EINVAL);
	assert_int_equal(vmm_put_user(cpu, a, 16, 0), -VMM_EINVAL);
	v = 9;
	assert_int_equal(vmm_get_user(cpu, a + 64 * PG, 4, &v), -VMM_EFAULT);
	assert_int_equal(v, 0);
	assert_int_equal(vmm_put_user(cpu, a + 64 * PG, 4, 1), -VMM_EFAULT);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_round_trip),
		cmocka_unit_test(test_bad_address_efault),
		cmocka_unit_test(test_smap),
		cmocka_unit_test(test_get_put_user_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
