/* SPDX-License-Identifier: MIT */
/* Helpers of the fault-path tests (src/fault). */
#ifndef VMM_TESTS_FAULT_TEST_UTIL_H
#define VMM_TESTS_FAULT_TEST_UTIL_H

#include "mm/mm_test_util.h"

#include "machine.h"

/* A small machine (one node of 256 MiB, two CPUs) without address-space randomization. */
static inline vmm_machine *fault_machine(unsigned flags, struct test_log *tl)
{
	struct vmm_config cfg;
	vmm_machine *m;

	small_config(&cfg);
	cfg.flags |= flags;
	if (tl) {
		cfg.log_fn = test_log_hook;
		cfg.log_data = tl;
	}
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	assert_int_equal(vmm_sysctl_set(m, "kernel.randomize_va_space", 0), 0);
	return m;
}

/* A new task, running on @cpu. */
static inline vmm_task *running_task(vmm_machine *m, vmm_cpu *cpu, const char *comm)
{
	vmm_task *t;

	assert_int_equal(vmm_task_create(m, comm, &t), 0);
	assert_int_equal(vmm_cpu_switch_to(cpu, t), 0);
	return t;
}

/* A user-mode access of 8 bytes; returns the result (the call itself must succeed). */
static inline struct vmm_access_result touch(vmm_cpu *cpu, vmm_vaddr_t va, unsigned flags)
{
	struct vmm_access_result r;

	assert_int_equal(vmm_cpu_access(cpu, va, 8, flags | VMM_ACC_USER, &r), 0);
	return r;
}

/* The access must end in @sig with @code at @va. */
static inline void assert_signal(struct vmm_access_result r, int sig, int code, vmm_vaddr_t va)
{
	assert_int_equal(r.signal, sig);
	assert_int_equal(r.si_code, code);
	assert_int_equal(r.fault_addr, va);
}

static inline struct vmm_task_fault_stats task_stats(vmm_task *t)
{
	struct vmm_task_fault_stats s;

	assert_int_equal(vmm_task_fault_stats(t, &s), 0);
	return s;
}

static inline struct vmm_fault_stats machine_stats(vmm_machine *m)
{
	struct vmm_fault_stats s;

	assert_int_equal(vmm_fault_stats(m, &s), 0);
	return s;
}

static inline uint64_t rss_anon(vmm_task *t)
{
	struct vmm_mm_info mi;

	assert_int_equal(vmm_task_mm_info(t, &mi), 0);
	return mi.rss_anon;
}

#endif /* VMM_TESTS_FAULT_TEST_UTIL_H */
