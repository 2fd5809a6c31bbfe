/* SPDX-License-Identifier: MIT */
/**
 * @file vmm.h
 * @brief libvmm: a simulated NUMA x86-64 memory system and the Linux
 * memory-management stack on top of it. Include this one header.
 */
#ifndef VMM_VMM_H
#define VMM_VMM_H

#include <vmm/version.h>
#include <vmm/common.h>
#include <vmm/errors.h>
#include <vmm/config.h>
#include <vmm/machine.h>
#include <vmm/cpu.h>
#include <vmm/page.h>
#include <vmm/gfp.h>
#include <vmm/slab.h>
#include <vmm/highmem.h>
#include <vmm/vmalloc.h>
#include <vmm/stats.h>
#include <vmm/file.h>
#include <vmm/task.h>
#include <vmm/mm.h>
#include <vmm/fault.h>

#endif /* VMM_VMM_H */
