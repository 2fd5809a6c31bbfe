/* SPDX-License-Identifier: MIT */
/*
 * Stack growth on a fault below a VM_GROWSDOWN VMA (seed 001 section
 * 3.6.2.1), under one of two rules:
 *
 *   current Linux (vm.legacy_stack_check = 0, the default): any address
 *   may grow the stack as long as an accessible VMA below that is not a
 *   stack stays stack_guard_gap (256 pages) away, and the limits allow it;
 *
 *   Linux 2.6.34 (vm.legacy_stack_check = 1): a user-mode access more than
 *   65536 + 32 * sizeof(long) bytes below the stack pointer is a bug
 *   (bad_area) -- the cushion lets "enter $65535, $31" and pusha work -- and
 *   no guard gap is kept.
 *
 * Both check RLIMIT_STACK, RLIMIT_AS, RLIMIT_MEMLOCK for a locked stack and
 * the commit charge (mm's expand_downwards).
 */
#include "fault/core.h"

#include <vmm/errors.h>

#include "machine.h"
#include "mm/mm_types.h"
#include "mm/mmap.h"

/* The 2.6.34 cushion below %sp: "enter $65535, $31" pushes 32 pointers, then drops 65535. */
#define STACK_SP_CUSHION (65536u + 32u * sizeof(uint64_t))

int vmm_fault_expand_stack(struct vmm_task *t, struct vmm_vma *v, uint64_t addr, bool user)
{
	struct vmm_machine *m = t->m;
	bool legacy = m->tasks.sysctl.legacy_stack_check;
	int err;

	if (legacy && user && addr + STACK_SP_CUSHION < t->sp)
		return -VMM_EFAULT;
	vmm_charge(m, VMM_CYC_FAULT, m->clock.cost.fault_expand_stack);
	err = vmm_expand_downwards(t, v, addr, !legacy);
	if (!err)
		t->flt.stack_expansions++;
	return err;
}
