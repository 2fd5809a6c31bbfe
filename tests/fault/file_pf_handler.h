/* SPDX-License-Identifier: MIT */
/*
 * A #PF handler that lets file mappings work through vmm_cpu_access()
 * before the real fault path (src/fault/fault.c) is merged: it does what
 * handle_mm_fault does for a file VMA (find the VMA, allocate the tables,
 * fill struct vmm_vm_fault) and calls the file side. SIGBUS for VMF_SIGBUS,
 * SIGSEGV for everything else it does not handle (anonymous memory, a write
 * to a present private page). Shared by the file-fault tests and bench; to
 * be replaced by the real handler at merge.
 */
#ifndef VMM_TEST_FILE_PF_HANDLER_H
#define VMM_TEST_FILE_PF_HANDLER_H

#include <string.h>

#include <vmm/cpu.h>

#include "fault/fault.h"
#include "mm/pgtable.h"
#include "mm/vma.h"

#define FILE_PF_SIGBUS 7
#define FILE_PF_BUS_ADRERR 2
#define FILE_PF_SIGSEGV 11
#define FILE_PF_SEGV_MAPERR 1

/* @data is the task whose faults these are. */
static inline int file_pf_handler(void *data, vmm_cpu *cpu, struct vmm_fault_info *fi)
{
	vmm_task *t = data;
	struct vmm_vma *v = vmm_vma_find(t->mm, fi->addr);
	struct vmm_vm_fault vmf;
	bool write = fi->error_code & VMM_PF_W;
	unsigned ret;

	(void)cpu;
	if (!v || v->vm_start > fi->addr || !v->vm_file ||
	    (write && !(v->vm_flags & VMM_VM_WRITE))) {
		fi->signal = FILE_PF_SIGSEGV;
		fi->si_code = FILE_PF_SEGV_MAPERR;
		return 0;
	}
	memset(&vmf, 0, sizeof(vmf));
	vmf.vma = v;
	vmf.task = t;
	vmf.flags = FAULT_FLAG_USER | (write ? FAULT_FLAG_WRITE : 0);
	vmf.address = fi->addr & ~(uint64_t)(VMM_PAGE_SIZE - 1);
	vmf.real_address = fi->addr;
	vmf.pgoff = v->vm_pgoff + ((vmf.address - v->vm_start) >> VMM_PAGE_SHIFT);
	vmf.pte = vmm_pte_slot(t->mm, fi->addr, true);
	if (!vmf.pte)
		return -VMM_ENOMEM;
	vmf.orig_pte = *vmf.pte;
	if (!(vmf.orig_pte & VMM_PTE_PRESENT))
		ret = vmm_do_fault(&vmf);
	else if (write && (v->vm_flags & VMM_VM_SHARED))
		ret = vmm_wp_page_shared(&vmf);
	else
		ret = VMF_SIGSEGV;
	if (ret & VMF_SIGBUS) {
		fi->signal = FILE_PF_SIGBUS;
		fi->si_code = FILE_PF_BUS_ADRERR;
	} else if (ret & VMF_ERROR) {
		fi->signal = FILE_PF_SIGSEGV;
		fi->si_code = FILE_PF_SEGV_MAPERR;
	}
	return 0;
}

#endif /* VMM_TEST_FILE_PF_HANDLER_H */
