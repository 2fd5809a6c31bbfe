/* SPDX-License-Identifier: MIT */
/*
 * TEMPORARY: weak stand-ins for the file side of the fault path
 * (filemap_fault.c, branch fault-file), so that this branch links and its
 * anonymous-memory tests run before that code exists. Both answer SIGBUS.
 * The real definitions replace these at merge, and this file is deleted
 * then; no test depends on file faults.
 */
#include "fault/fault.h"

__attribute__((weak)) unsigned vmm_do_fault(struct vmm_vm_fault *vmf)
{
	(void)vmf;
	return VMF_SIGBUS;
}

__attribute__((weak)) unsigned vmm_wp_page_shared(struct vmm_vm_fault *vmf)
{
	(void)vmf;
	return VMF_SIGBUS;
}
