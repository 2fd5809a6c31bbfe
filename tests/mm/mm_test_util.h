/* SPDX-License-Identifier: MIT */
/* Helpers of the tests of tasks and address spaces (src/mm/mmap.c, vma.c, task.c, ...). */
#ifndef VMM_TESTS_MM_TEST_UTIL_H
#define VMM_TESTS_MM_TEST_UTIL_H

#include "test_util.h"

#include <string.h>

#define KiB 1024ull
#define MiB (1ull << 20)
#define PG 4096ull
#define RW (VMM_PROT_READ | VMM_PROT_WRITE)
#define ANON (VMM_MAP_PRIVATE | VMM_MAP_ANONYMOUS)
/* mmap_base with ASLR off, 4-level paging and RLIMIT_STACK 8 MiB: TASK_SIZE - 128 MiB */
#define NORAND_MMAP_BASE 0x7ffff7fff000ull

/* The default machine with kernel.randomize_va_space = 0. */
static inline vmm_machine *norand_machine(void)
{
	vmm_machine *m = default_machine();

	assert_int_equal(vmm_sysctl_set(m, "kernel.randomize_va_space", 0), 0);
	return m;
}

static inline vmm_task *new_task(vmm_machine *m)
{
	vmm_task *t;

	assert_int_equal(vmm_task_create(m, "test", &t), 0);
	return t;
}

static inline vmm_vaddr_t map_anon(vmm_task *t, vmm_vaddr_t addr, uint64_t len, unsigned prot,
				   unsigned flags)
{
	vmm_vaddr_t a = 0;

	assert_int_equal(vmm_mmap(t, addr, len, prot, ANON | flags, NULL, 0, &a), 0);
	return a;
}

/* One of the task's views as one string; the caller frees it. */
static inline char *task_dump_string(vmm_task *t, enum vmm_task_dump_kind kind)
{
	return PRINT_TO_STRING(vmm_task_dump(t, kind, out));
}

static inline char *maps_of(vmm_task *t)
{
	return task_dump_string(t, VMM_TASK_DUMP_MAPS);
}

static inline uint64_t map_count(vmm_task *t)
{
	struct vmm_mm_info mi;

	assert_int_equal(vmm_task_mm_info(t, &mi), 0);
	return mi.map_count;
}

/* The VMA containing @addr must be exactly [start, end). */
static inline void assert_vma(vmm_task *t, vmm_vaddr_t addr, vmm_vaddr_t start, vmm_vaddr_t end)
{
	struct vmm_vma_info vi;

	assert_int_equal(vmm_find_vma(t, addr, &vi), 0);
	assert_int_equal(vi.start, start);
	assert_int_equal(vi.end, end);
}

#endif /* VMM_TESTS_MM_TEST_UTIL_H */
