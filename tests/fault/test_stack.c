/* SPDX-License-Identifier: MIT */
/*
 * Stack growth (src/fault/stack.c and mm's expand_downwards) under both
 * rules: Linux's current one (guard gap to the VMA below, RLIMIT_STACK,
 * RLIMIT_AS, no stack-pointer test) and the seed's 2.6.34 one
 * (vm.legacy_stack_check: 65536 + 32 * sizeof(long) below %sp, no gap).
 */
#include "fault_test_util.h"

#define STACK_TOP 0x7ff000000000ull
#define STACK_LEN (16 * PG)
#define GAP (256 * PG)		/* stack_guard_gap */
#define CUSHION (65536 + 32 * 8)

struct stack_env {
	vmm_machine *m;
	vmm_cpu *cpu;
	vmm_task *t;
	vmm_vaddr_t base;	/* the stack VMA's first start */
};

static struct stack_env stack_env(bool legacy)
{
	struct stack_env e;

	e.m = fault_machine(0, NULL);
	if (legacy)
		assert_int_equal(vmm_sysctl_set(e.m, "vm.legacy_stack_check", 1), 0);
	e.cpu = vmm_machine_cpu(e.m, 0);
	e.t = running_task(e.m, e.cpu, "stack");
	e.base = map_anon(e.t, STACK_TOP - STACK_LEN, STACK_LEN, RW,
			  VMM_MAP_FIXED | VMM_MAP_GROWSDOWN);
	assert_int_equal(e.base, STACK_TOP - STACK_LEN);
	return e;
}

static void stack_env_done(struct stack_env *e)
{
	assert_machine_healthy(e->m);
	vmm_task_destroy(&e->t);
	assert_machine_healthy(e->m);
	vmm_machine_destroy(&e->m);
}

static vmm_vaddr_t stack_start(vmm_task *t, vmm_vaddr_t in)
{
	struct vmm_vma_info vi;

	assert_int_equal(vmm_find_vma(t, in, &vi), 0);
	return vi.start;
}

static void test_current_rule(void **state)
{
	struct stack_env e = stack_env(false);
	struct vmm_rlimit lim;
	struct vmm_access_result r;
	vmm_vaddr_t far = e.base - 64 * PG, below;
	(void)state;

	/* just below: grows by a page */
	r = touch(e.cpu, e.base - 8, VMM_ACC_WRITE);
	assert_int_equal(r.signal, 0);
	assert_int_equal(stack_start(e.t, e.base - 8), e.base - PG);
	assert_int_equal(task_stats(e.t).stack_expansions, 1);
	assert_machine_healthy(e.m);
	/* far below, with no stack pointer test: grows to there */
	assert_int_equal(touch(e.cpu, far, VMM_ACC_WRITE).signal, 0);
	assert_int_equal(stack_start(e.t, far), far);
	assert_int_equal(task_stats(e.t).min_flt, 2);
	assert_machine_healthy(e.m);
	/* RLIMIT_STACK at the stack's size (80 pages): not one page more */
	lim.rlim_cur = STACK_TOP - far;
	lim.rlim_max = VMM_RLIM_INFINITY;
	assert_int_equal(vmm_task_setrlimit(e.t, VMM_RLIMIT_STACK, &lim), 0);
	below = far - 8;
	assert_signal(touch(e.cpu, below, 0), VMM_SIGSEGV, VMM_SEGV_MAPERR, below);
	assert_int_equal(stack_start(e.t, far), far);
	lim.rlim_cur = VMM_RLIM_INFINITY;
	assert_int_equal(vmm_task_setrlimit(e.t, VMM_RLIMIT_STACK, &lim), 0);
	/* RLIMIT_AS at the current size: no room to grow */
	{
		struct vmm_mm_info mi;

		assert_int_equal(vmm_task_mm_info(e.t, &mi), 0);
		lim.rlim_cur = lim.rlim_max = mi.total_vm * PG;
		assert_int_equal(vmm_task_setrlimit(e.t, VMM_RLIMIT_AS, &lim), 0);
		below = far - PG;
		assert_signal(touch(e.cpu, below, 0), VMM_SIGSEGV, VMM_SEGV_MAPERR, below);
		lim.rlim_cur = lim.rlim_max = VMM_RLIM_INFINITY;
		assert_int_equal(vmm_task_setrlimit(e.t, VMM_RLIMIT_AS, &lim), 0);
	}
	assert_machine_healthy(e.m);
	/* the guard gap: a VMA below keeps the stack 256 pages away */
	{
		vmm_vaddr_t low = map_anon(e.t, far - GAP - 8 * PG, 4 * PG, RW, VMM_MAP_FIXED);
		vmm_vaddr_t in_gap = low + 4 * PG + GAP - PG, ok = low + 4 * PG + GAP;

		assert_signal(touch(e.cpu, in_gap, 0), VMM_SIGSEGV, VMM_SEGV_MAPERR, in_gap);
		assert_int_equal(touch(e.cpu, ok, 0).signal, 0);
		assert_int_equal(stack_start(e.t, ok), ok);
	}
	assert_int_equal(task_stats(e.t).sigsegv, 3);
	stack_env_done(&e);
}

static void test_legacy_rule(void **state)
{
	struct stack_env e = stack_env(true);
	vmm_vaddr_t sp = e.base + PG, edge = sp - CUSHION, beyond;
	(void)state;

	/* no stack pointer recorded: 0, which never refuses */
	assert_int_equal(touch(e.cpu, e.base - 8, VMM_ACC_WRITE).signal, 0);
	assert_int_equal(vmm_task_set_sp(e.t, sp), 0);
	/* exactly the cushion below %sp: allowed */
	assert_int_equal(touch(e.cpu, edge, VMM_ACC_WRITE).signal, 0);
	assert_int_equal(stack_start(e.t, edge), edge & ~(PG - 1));
	/* one page more: "accessing the stack below %sp is always a bug" */
	beyond = (edge & ~(PG - 1)) - 8;
	assert_signal(touch(e.cpu, beyond, VMM_ACC_WRITE), VMM_SIGSEGV, VMM_SEGV_MAPERR, beyond);
	assert_machine_healthy(e.m);
	/* a kernel-mode access is not held to %sp */
	assert_int_equal(vmm_copy_to_user(e.cpu, beyond, &sp, 8, NULL), 0);
	/* no guard gap: the stack may grow right down to the VMA below */
	{
		vmm_vaddr_t top = stack_start(e.t, beyond);
		vmm_vaddr_t low = map_anon(e.t, top - 8 * PG, 4 * PG, RW, VMM_MAP_FIXED);

		assert_int_equal(vmm_task_set_sp(e.t, low + 4 * PG), 0);
		assert_int_equal(touch(e.cpu, low + 4 * PG, 0).signal, 0);
		assert_int_equal(stack_start(e.t, top - 1), low + 4 * PG);
	}
	assert_int_equal(task_stats(e.t).stack_expansions, 4);
	assert_int_equal(vmm_sysctl_set(e.m, "vm.legacy_stack_check", 2), -VMM_EINVAL);
	stack_env_done(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_current_rule),
		cmocka_unit_test(test_legacy_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
