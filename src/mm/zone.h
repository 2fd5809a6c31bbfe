/* SPDX-License-Identifier: MIT */
/*
 * Nodes and zones: their geometry at boot (free_area_init), ZONE_MOVABLE
 * placement from movablecore=, and the figures derived from managed pages:
 * watermarks, lowmem reserves, per-CPU pageset sizes and the vmstat
 * threshold.
 */
#ifndef VMM_MM_ZONE_H
#define VMM_MM_ZONE_H

#include <stdbool.h>
#include <stdint.h>

#include "mm/mmzone.h"

struct vmm_machine;

extern const char *const vmm_zone_names[VMM_MAX_NR_ZONES];

/* Linux's sysctl_lowmem_reserve_ratio defaults, indexed by zone. */
extern const uint32_t vmm_lowmem_reserve_ratio[VMM_MAX_NR_ZONES];

/*
 * Whether zone @zid is part of the simulated kernel's configuration: every
 * zone but HighMem, which exists (CONFIG_HIGHMEM) only with a
 * direct_map_limit. /proc output shows only configured zones.
 */
bool vmm_zone_configured(const struct vmm_machine *m, int zid);

/*
 * is_highmem(): ZONE_HIGHMEM, and ZONE_MOVABLE when it was carved out of
 * high memory.
 */
bool vmm_zone_is_highmem(const struct vmm_machine *m, const struct vmm_zone *z);

/* max_low_pfn: the first pfn the direct map does not reach, given the last RAM pfn + 1. */
uint64_t vmm_max_low_pfn(const struct vmm_machine *m, uint64_t max_pfn);

/* Allocate node data, size every node and zone, set pageblock types. */
int vmm_free_area_init(struct vmm_machine *m);
void vmm_free_area_destroy(struct vmm_machine *m);

/* After the hand-off: min_free_kbytes, watermarks, lowmem reserves, pagesets. */
void vmm_zones_init_after_boot(struct vmm_machine *m);

/* Linux's setup_per_zone_wmarks() and calculate_totalreserve_pages(). */
void vmm_setup_per_zone_wmarks(struct vmm_machine *m);
void vmm_setup_per_zone_lowmem_reserve(struct vmm_machine *m);
/* Linux's zone_batchsize() and zone_highsize(). */
int vmm_zone_batchsize(const struct vmm_zone *zone);
int vmm_zone_highsize(const struct vmm_machine *m, const struct vmm_zone *zone, int batch,
		      int high_fraction);
/* zone_set_pageset_high_and_batch(): pcp batch/high_min/high_max of every CPU. */
void vmm_zone_setup_pagesets(struct vmm_machine *m, struct vmm_zone *z);
/* Linux's calculate_normal_threshold(). */
int vmm_calculate_normal_threshold(const struct vmm_machine *m, const struct vmm_zone *zone);

/* The zone of a valid pfn. */
struct vmm_zone *vmm_pfn_zone(struct vmm_machine *m, uint64_t pfn);

/* Problems found in node and zone geometry and counters. */
long vmm_zones_check(struct vmm_machine *m, FILE *out);

#endif /* VMM_MM_ZONE_H */
