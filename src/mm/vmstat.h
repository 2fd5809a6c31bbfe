/* SPDX-License-Identifier: MIT */
/* Counters: names, machine-wide sums, and the figures derived from them. */
#ifndef VMM_MM_VMSTAT_H
#define VMM_MM_VMSTAT_H

#include <stdint.h>

#include "mm/vmstat_items.h"

struct vmm_machine;
struct vmm_zone;

const char *vmm_zone_stat_name(int item);
const char *vmm_numa_stat_name(int item);
const char *vmm_node_stat_name(int item);
const char *vmm_vm_event_name(int item);
const char *vmm_migratetype_name(int mt);

/*
 * A zone's NUMA event and a machine-wide event as Linux counts them. Read them
 * through these, never from the arrays: the order-0 allocation fast path counts
 * its pgalloc_<zone>, numa_hit and numa_local in the zone's fast_allocs alone.
 */
uint64_t vmm_zone_numa_event(const struct vmm_zone *z, int item);
uint64_t vmm_vm_event(const struct vmm_machine *m, int item);

uint64_t vmm_global_zone_page_state(struct vmm_machine *m, int item);
uint64_t vmm_global_node_page_state(struct vmm_machine *m, int item);
uint64_t vmm_totalram_pages(struct vmm_machine *m);
uint64_t vmm_si_mem_available(struct vmm_machine *m);
void vmm_global_dirty_limits(struct vmm_machine *m, uint64_t *bg_thresh, uint64_t *thresh);


#endif /* VMM_MM_VMSTAT_H */
