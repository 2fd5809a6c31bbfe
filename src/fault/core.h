/* SPDX-License-Identifier: MIT */
/*
 * The core half of src/fault (fault.h describes the split): the state the
 * fault layer keeps in the machine, and the calls between fault.c (the #PF
 * entry), memory.c (handle_mm_fault and below, populate), stack.c (stack
 * growth) and uaccess.c (the user-memory accessors).
 *
 * Ownership: struct vmm_machine.fault; the machine's host thread. The
 * per-CPU part belongs to the code running on that CPU.
 */
#ifndef VMM_FAULT_CORE_H
#define VMM_FAULT_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <vmm/config.h>
#include <vmm/cpu.h>
#include <vmm/fault.h>

struct vmm_machine;
struct vmm_task;
struct vmm_vma;

/*
 * The exception table, per CPU: a user-memory accessor marks the access it
 * is about to make (Linux's extable entry for its instruction); a fault
 * that nothing else resolves then ends that access with -VMM_EFAULT and
 * sets fixed_up instead of oopsing.
 */
struct vmm_fault_pcpu {
	bool uaccess;		/* an accessor's access is in flight */
	bool fixed_up;		/* ... and a fault ended it (fixup_exception) */
};

/* struct vmm_machine.fault */
struct vmm_fault_layer {
	struct vmm_fault_stats stats;
	struct vmm_fault_pcpu pcpu[VMM_MAX_CPUS];
};

/* Boot: install do_page_fault as the machine's default #PF handler and the populate hook. */
void vmm_fault_init(struct vmm_machine *m);
/* vmm_machine_check()'s part: no CPU is left inside a user-memory accessor. */
long vmm_fault_check(struct vmm_machine *m, FILE *out);

/*
 * handle_mm_fault() for @t (NULL: no task to account to) at @addr of @v,
 * with FAULT_FLAG_* @flags: tables at every level, then handle_pte_fault.
 * Counts pgfault, and the task's min_flt/maj_flt unless it failed (Linux's
 * mm_account_fault). Returns VMF_* bits.
 */
unsigned vmm_handle_mm_fault(struct vmm_task *t, struct vmm_vma *v, uint64_t addr,
			     unsigned flags);

/* populate_vma_page_range() for the mm layer's hook (vmm_populate_fn). */
int vmm_fault_populate(struct vmm_task *t, struct vmm_vma *v, uint64_t start, uint64_t end);

/*
 * The stack part of do_user_addr_fault(): grow the VM_GROWSDOWN VMA @v of
 * @t down to @addr under the rule in force (vm.legacy_stack_check). 0 when
 * it now covers @addr; nonzero: bad_area.
 */
int vmm_fault_expand_stack(struct vmm_task *t, struct vmm_vma *v, uint64_t addr, bool user);

#endif /* VMM_FAULT_CORE_H */
