/* SPDX-License-Identifier: MIT */
/*
 * Tasks and their mm_structs: creation (the layout exec would choose),
 * fork, exit, the machine-wide task list and caches, CPUs switching
 * between address spaces (ASIDs/PCIDs), and vmm_machine_check()'s walk of
 * every mm.
 */
#ifndef VMM_MM_TASK_H
#define VMM_MM_TASK_H

#include <stdio.h>

#include "mm/mm_types.h"

/* Boot: the caches, the sysctls and the per-CPU TLB state. */
int vmm_tasks_init(struct vmm_machine *m);
/* Teardown: destroy the tasks still alive, then the caches. */
void vmm_tasks_destroy(struct vmm_machine *m);
/* Every mm: the VMA tree, accounting, page tables. */
long vmm_tasks_check(struct vmm_machine *m, FILE *out);

struct XXH3_state_s;
/* Add every task, mm, VMA, user PTE and the CPUs' ASID state to a digest. */
void vmm_tasks_digest(const struct vmm_machine *m, struct XXH3_state_s *st);

/* The length of the anon_vma chain of the VMA at @addr (0: none), for tests. */
unsigned vmm_anon_vma_chain_len(struct vmm_task *t, uint64_t addr);

/* mm->start_brk = mm->brk = @addr (what loading a program sets). */
int vmm_mm_set_brk_base(struct vmm_mm *mm, uint64_t addr);

#endif /* VMM_MM_TASK_H */
