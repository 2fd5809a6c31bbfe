/* SPDX-License-Identifier: MIT */
/* vmmsim's built-in workload (workload.c). */
#ifndef VMMSIM_WORKLOAD_H
#define VMMSIM_WORKLOAD_H

#include <stdio.h>

#include <vmm/vmm.h>

/*
 * Run the workload on @m, narrating each step and printing meminfo,
 * buddyinfo and slabinfo before and after, per-task fault counts and the
 * cycle breakdown on @out. Returns 0, or 1 after reporting on stderr what
 * went wrong.
 */
int vmmsim_workload(vmm_machine *m, FILE *out);

#endif /* VMMSIM_WORKLOAD_H */
