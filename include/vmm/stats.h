/* SPDX-License-Identifier: MIT */
/**
 * @file stats.h
 * @brief Printing machine state in Linux's /proc formats.
 */
#ifndef VMM_STATS_H
#define VMM_STATS_H

#include <stdint.h>
#include <stdio.h>

#include <vmm/common.h>

VMM_BEGIN_DECLS

/** What vmm_dump() prints. */
enum vmm_dump_kind {
	VMM_DUMP_SUMMARY = 0,	/**< the machine: e820 map, nodes, distances, CPUs, zones */
	VMM_DUMP_MEMINFO = 1,	/**< /proc/meminfo */
	VMM_DUMP_ZONEINFO = 2,	/**< /proc/zoneinfo */
	VMM_DUMP_BUDDYINFO = 3,	/**< /proc/buddyinfo */
	VMM_DUMP_PAGETYPEINFO = 4, /**< /proc/pagetypeinfo */
	VMM_DUMP_VMSTAT = 5,	/**< /proc/vmstat */
	VMM_DUMP_MEMBLOCK = 6,	/**< debugfs memblock/memory and memblock/reserved */
	VMM_DUMP_CYCLES = 7,	/**< simulated cycles per CPU, per category */
	VMM_DUMP_UNUSABLE_INDEX = 8, /**< debugfs extfrag/unusable_index */
	VMM_DUMP_EXTFRAG_INDEX = 9,  /**< debugfs extfrag/extfrag_index */
	VMM_DUMP_SLABINFO = 10,	/**< /proc/slabinfo (version 2.1) */
	VMM_DUMP_VMALLOCINFO = 11, /**< /proc/vmallocinfo (see vmalloc.h for the caller column) */
	VMM_DUMP_NR_KINDS = 12,
};

/**
 * Where simulated time goes. Every cycle charged to a CPU's clock lands in
 * exactly one category; new categories are added at the end.
 */
enum vmm_cycle_category {
	VMM_CYC_TLB = 0,	/**< TLB lookups (hits at every level) */
	VMM_CYC_WALK = 1,	/**< page-walk steps and paging-structure-cache hits */
	VMM_CYC_MEM = 2,	/**< data memory references */
	VMM_CYC_FAULT = 3,	/**< fault delivery and the fault handler's own work */
	VMM_CYC_ALLOC = 4,	/**< page allocator fast path (pcp and zone free lists) */
	VMM_CYC_FREE = 5,	/**< freeing pages */
	VMM_CYC_ALLOC_SLOW = 6,	/**< page allocator slow path (reclaim, compaction, retries) */
	VMM_CYC_ZERO_COPY = 7,	/**< clearing and copying pages */
	VMM_CYC_IPI = 8,	/**< TLB shootdown and drain IPIs, sender and receivers */
	VMM_CYC_SLAB = 9,	/**< slab allocator */
	VMM_CYC_IO = 10,	/**< block I/O */
	VMM_CYC_OTHER = 11,	/**< everything else */
	VMM_CYC_NR_CATEGORIES = 12,
};

/** @return the category's name as VMM_DUMP_CYCLES prints it, or NULL if unknown */
VMM_API const char *vmm_cycle_category_name(enum vmm_cycle_category cat);

/**
 * Read a CPU's cycle clock.
 *
 * @param m   the machine
 * @param cpu the CPU, below the configured number
 * @param cat a category, or VMM_CYC_NR_CATEGORIES for the CPU's total
 * @param out the cycles charged
 * @return 0; -VMM_EINVAL for a NULL argument, an unknown CPU or category
 */
VMM_API int vmm_cpu_cycles(const vmm_machine *m, unsigned cpu, enum vmm_cycle_category cat,
			   uint64_t *out);

/**
 * Print one view of the machine's state, byte for byte in the format the
 * Linux file uses.
 *
 * @param m    the machine
 * @param kind what to print
 * @param out  the stream
 * @return 0; -VMM_EINVAL for NULL arguments or an unknown kind; -VMM_EIO when
 *         writing to @p out failed
 */
VMM_API int vmm_dump(vmm_machine *m, enum vmm_dump_kind kind, FILE *out);

VMM_END_DECLS

#endif /* VMM_STATS_H */
