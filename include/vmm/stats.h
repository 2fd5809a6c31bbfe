/* SPDX-License-Identifier: MIT */
/**
 * @file stats.h
 * @brief Printing machine state in Linux's /proc formats.
 */
#ifndef VMM_STATS_H
#define VMM_STATS_H

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
	VMM_DUMP_NR_KINDS = 7,
};

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
