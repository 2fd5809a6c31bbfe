/* SPDX-License-Identifier: MIT */
/*
 * struct vmm_machine: the root every layer hangs off. This file and
 * machine.c are the composition root (what start_kernel is to Linux): they
 * own the boot order. The layers below only call downward (fault ->
 * pagecache -> mm -> sim -> lib); they take the machine for its log, PRNG
 * and host allocator, and for their own part of it.
 */
#ifndef VMM_MACHINE_INTERNAL_H
#define VMM_MACHINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <vmm/config.h>
#include <vmm/gfp.h>
#include <vmm/machine.h>

#include "fault/core.h"
#include "lib/hostmem.h"
#include "lib/log.h"
#include "lib/prng.h"
#include "mm/highmem.h"
#include "mm/init_mm.h"
#include "mm/memblock.h"
#include "mm/mm_types.h"
#include "mm/slab.h"
#include "mm/mmzone.h"
#include "mm/sparse.h"
#include "mm/vmalloc.h"
#include "sim/clock.h"
#include "sim/cpu.h"
#include "sim/physmem.h"
#include "sim/timer.h"

/* The vm sysctls the page allocator reads (vmm_sysctl_set). */
struct vmm_vm_sysctl {
	uint32_t watermark_boost_factor;	/* default 15000 */
	uint32_t percpu_pagelist_high_fraction;	/* default 0: sized from the low watermark */
	uint32_t node_reclaim_mode;		/* default 0 */
	uint32_t lowmem_reserve_ratio[VMM_MAX_NR_ZONES];
	/* page-writeback.c's (the page cache throttles and flushes by them) */
	uint32_t dirty_ratio;			/* default 20 */
	uint32_t dirty_background_ratio;	/* default 10 */
	uint64_t dirty_bytes;			/* default 0: dirty_ratio rules */
	uint64_t dirty_background_bytes;	/* default 0 */
	uint32_t dirty_expire_centisecs;	/* default 3000 */
	uint32_t dirty_writeback_centisecs;	/* default 500 */
	uint32_t highmem_is_dirtyable;		/* default 0: dirty limits leave HighMem out */
};

/* Allocator figures Linux only shows through tracepoints; tests read them. */
struct vmm_pagecache;

struct vmm_page_alloc_stats {
	uint64_t fallbacks;		/* __rmqueue_fallback took a block of another type */
	uint64_t pageblock_steals;	/* ... and claimed its pageblock */
	uint64_t highatomic_reserved;	/* pageblocks reserved for high-order atomic */
	uint64_t highatomic_unreserved;
	uint64_t slowpath;		/* entries into the slow path */
	uint64_t slowpath_retries;
	uint64_t direct_reclaim;	/* __alloc_pages_direct_reclaim calls */
	uint64_t direct_compact;	/* __alloc_pages_direct_compact calls */
	uint64_t oom_calls;		/* __alloc_pages_may_oom reached out_of_memory */
	uint64_t failures;		/* requests that returned NULL */
	uint64_t nofail_gaveup;		/* __GFP_NOFAIL requests the simulation had to fail */
	uint64_t bad_pages;
	uint64_t quarantined_pages;
};

struct vmm_machine {
	struct vmm_config cfg;		/* as given, with automatic values resolved */
	struct vmm_hostmem hm;		/* all host memory goes through here */
	struct vmm_log log;
	struct vmm_prng prng;
	struct vmm_physmem phys;	/* sim: the physical map and its host backing */
	struct vmm_clock clock;		/* sim: per-CPU cycle clocks and the cost table */
	struct vmm_timers timers;	/* sim: machine time and its timers */
	struct vmm_mmu mmu;		/* sim: the CPUs, their TLBs, the #PF handler */
	struct vmm_memblock memblock;	/* mm: boot memory, kept after boot for dumps */
	struct vmm_init_mm init_mm;	/* mm: the kernel's page tables (the direct map) */
	struct vmm_sparse sparse;	/* mm: sections, memory map, pageblocks */
	struct vmm_pgdat *node_data;	/* mm: cfg.nodes entries */
	unsigned nr_nodes;
	unsigned nr_cpus;
	unsigned current_cpu;		/* the CPU kernel-side calls run on */
	uint64_t min_free_kbytes;	/* vm.min_free_kbytes in force */
	uint64_t totalreserve_pages;
	uint64_t memmap_boot_pages;	/* pages of memory map reserved at boot */
	uint64_t vm_events[NR_VM_EVENT_ITEMS];
	struct vmm_vm_sysctl sysctl;
	struct vmm_page_alloc_stats pa_stats;
	struct vmm_slab slab;		/* mm: slab caches and kmalloc */
	struct vmm_pagecache *pagecache; /* pagecache: files, block devices, writeback */
	struct vmm_highmem highmem;	/* mm: kmap and kmap_atomic */
	uint64_t gfp_zone_table;	/* gfp_zone()'s table for this machine's zones */
	/* per CPU: the order-0 fast paths' tables (page_alloc.c) */
	struct vmm_cpu_fast *cpu_fast;
	/* &cpu_fast[cpu] for each CPU (NULL before vmm_pcp_init()), and the current CPU's */
	struct vmm_cpu_fast *cpu_fast_by_cpu[VMM_MAX_CPUS];
	struct vmm_cpu_fast *this_cpu_fast;
	/* no zone: what the fast path's entries without a fast_zone point at, a floor that
	 * no free-page count passes (INT64_MAX / 2), so that it tests no pointer */
	struct vmm_zone no_fast_zone;
	/* &node_data[nid].node_zones[zid] at [nid * VMM_MAX_NR_ZONES + zid]: the free fast path's */
	struct vmm_zone *zone_by_id[VMM_MAX_NUMNODES * VMM_MAX_NR_ZONES];
	struct vmm_tasks tasks;		/* mm: tasks, their mm_structs, VMA caches, sysctls */
	struct vmm_vmalloc vmalloc;	/* mm: the vmalloc area, its trees and lazy list */
	struct vmm_fault_layer fault;	/* fault: counters, the per-CPU exception table */
	bool page_group_by_mobility_disabled;
	bool pcp_disabled;		/* vmm_zone_pcp_disable() in force */
	/* the current task's NUMA policy and cpuset (until tasks exist) */
	int mpol_mode;			/* enum vmm_mempolicy_mode */
	vmm_nodemask_t mpol_nodes;
	int mpol_il_prev;		/* interleave: the node used last */
	vmm_nodemask_t cpuset_mems;	/* 0: the root cpuset */
	uint32_t cpuset_flags;
	int cpuset_spread_rotor;
	bool booted;
};

static inline struct vmm_pgdat *NODE_DATA(struct vmm_machine *m, unsigned nid)
{
	return &m->node_data[nid];
}

/* Make @cpu the current CPU: every change of current_cpu goes through here. */
static inline void vmm_switch_cpu(struct vmm_machine *m, unsigned cpu)
{
	m->current_cpu = cpu;
	m->this_cpu_fast = m->cpu_fast_by_cpu[cpu];
}

/* Charge @cycles in @cat to the current CPU. */
static inline void vmm_charge(struct vmm_machine *m, enum vmm_cycle_category cat, uint64_t cycles)
{
	vmm_clock_charge(&m->clock, m->current_cpu, cat, cycles);
}

#define for_each_online_node(m, nid) for ((nid) = 0; (nid) < (m)->nr_nodes; (nid)++)

/* Every zone of every node, populated or not. */
#define for_each_zone(m, z)                                                         \
	for ((z) = &(m)->node_data[0].node_zones[0];                               \
	     (z) != NULL;                                                           \
	     (z) = vmm_next_zone(m, z))

static inline struct vmm_zone *vmm_next_zone(struct vmm_machine *m, struct vmm_zone *z)
{
	struct vmm_pgdat *pgdat = z->zone_pgdat;

	if (z < &pgdat->node_zones[VMM_MAX_NR_ZONES - 1])
		return z + 1;
	if (pgdat->node_id + 1 < m->nr_nodes)
		return &m->node_data[pgdat->node_id + 1].node_zones[0];
	return NULL;
}

/* Internal variant of vmm_machine_create that tests use to inject host allocation failures. */
int vmm_machine_create_inject(const struct vmm_config *cfg,
			      const struct vmm_hostmem_inject *inject, vmm_machine **out);
/*
 * Boot only up to the page allocator, without the slab caches: the state
 * right after memblock hands memory to the buddy allocator, for the tests
 * of the layers below slab. The slab and kmalloc calls fail on such a machine.
 */
int vmm_machine_create_early(const struct vmm_config *cfg, vmm_machine **out);

#endif /* VMM_MACHINE_INTERNAL_H */
