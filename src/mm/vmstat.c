/* SPDX-License-Identifier: MIT */
/*
 * Counter names, and the /proc views of the machine: meminfo, zoneinfo,
 * buddyinfo, pagetypeinfo, vmstat, memblock and a boot summary. Each is
 * printed byte for byte as Linux 6.18 prints it (FORMATS.md).
 */
#include <inttypes.h>
#include <string.h>

#include <vmm/errors.h>
#include <vmm/stats.h>

#include "lib/compiler.h"
#include "machine.h"
#include "mm/buddy.h"
#include "mm/vmstat.h"
#include "mm/zone.h"

static const char *const zone_stat_names[NR_VM_ZONE_STAT_ITEMS] = {
	"nr_free_pages",	 "nr_free_pages_blocks",  "nr_zone_inactive_anon",
	"nr_zone_active_anon",	 "nr_zone_inactive_file", "nr_zone_active_file",
	"nr_zone_unevictable",	 "nr_zone_write_pending", "nr_mlock",
	"nr_zspages",		 "nr_free_cma",
};

static const char *const numa_stat_names[NR_VM_NUMA_EVENT_ITEMS] = {
	"numa_hit", "numa_miss", "numa_foreign", "numa_interleave", "numa_local", "numa_other",
};

static const char *const node_stat_names[NR_VM_NODE_STAT_ITEMS] = {
	"nr_inactive_anon",
	"nr_active_anon",
	"nr_inactive_file",
	"nr_active_file",
	"nr_unevictable",
	"nr_slab_reclaimable",
	"nr_slab_unreclaimable",
	"nr_isolated_anon",
	"nr_isolated_file",
	"workingset_nodes",
	"workingset_refault_anon",
	"workingset_refault_file",
	"workingset_activate_anon",
	"workingset_activate_file",
	"workingset_restore_anon",
	"workingset_restore_file",
	"workingset_nodereclaim",
	"nr_anon_pages",
	"nr_mapped",
	"nr_file_pages",
	"nr_dirty",
	"nr_writeback",
	"nr_shmem",
	"nr_shmem_hugepages",
	"nr_shmem_pmdmapped",
	"nr_file_hugepages",
	"nr_file_pmdmapped",
	"nr_anon_transparent_hugepages",
	"nr_vmscan_write",
	"nr_vmscan_immediate_reclaim",
	"nr_dirtied",
	"nr_written",
	"nr_throttled_written",
	"nr_kernel_misc_reclaimable",
	"nr_foll_pin_acquired",
	"nr_foll_pin_released",
	"nr_kernel_stack",
	"nr_page_table_pages",
	"nr_sec_page_table_pages",
	"nr_iommu_pages",
	"nr_swapcached",
	"pgpromote_success",
	"pgpromote_candidate",
	"pgpromote_candidate_nrl",
	"pgdemote_kswapd",
	"pgdemote_direct",
	"pgdemote_khugepaged",
	"pgdemote_proactive",
	"nr_hugetlb",
	"nr_balloon_pages",
	"nr_kernel_file_pages",
};

static const char *const vm_event_names[NR_VM_EVENT_ITEMS] = {
	"pgpgin",
	"pgpgout",
	"pswpin",
	"pswpout",
	"pgalloc_dma",
	"pgalloc_dma32",
	"pgalloc_normal",
	"pgalloc_high",
	"pgalloc_movable",
	"allocstall_dma",
	"allocstall_dma32",
	"allocstall_normal",
	"allocstall_high",
	"allocstall_movable",
	"pgskip_dma",
	"pgskip_dma32",
	"pgskip_normal",
	"pgskip_high",
	"pgskip_movable",
	"pgfree",
	"pgactivate",
	"pgdeactivate",
	"pglazyfree",
	"pgfault",
	"pgmajfault",
	"pglazyfreed",
	"pgrefill",
	"pgreuse",
	"pgsteal_kswapd",
	"pgsteal_direct",
	"pgsteal_khugepaged",
	"pgsteal_proactive",
	"pgscan_kswapd",
	"pgscan_direct",
	"pgscan_khugepaged",
	"pgscan_proactive",
	"pgscan_direct_throttle",
	"pgscan_anon",
	"pgscan_file",
	"pgsteal_anon",
	"pgsteal_file",
	"zone_reclaim_success",
	"zone_reclaim_failed",
	"pginodesteal",
	"slabs_scanned",
	"kswapd_inodesteal",
	"kswapd_low_wmark_hit_quickly",
	"kswapd_high_wmark_hit_quickly",
	"pageoutrun",
	"pgrotated",
	"drop_pagecache",
	"drop_slab",
	"oom_kill",
	"numa_pte_updates",
	"numa_huge_pte_updates",
	"numa_hint_faults",
	"numa_hint_faults_local",
	"numa_pages_migrated",
	"pgmigrate_success",
	"pgmigrate_fail",
	"thp_migration_success",
	"thp_migration_fail",
	"thp_migration_split",
	"compact_migrate_scanned",
	"compact_free_scanned",
	"compact_isolated",
	"compact_stall",
	"compact_fail",
	"compact_success",
	"compact_daemon_wake",
	"compact_daemon_migrate_scanned",
	"compact_daemon_free_scanned",
	"htlb_buddy_alloc_success",
	"htlb_buddy_alloc_fail",
	"unevictable_pgs_culled",
	"unevictable_pgs_scanned",
	"unevictable_pgs_rescued",
	"unevictable_pgs_mlocked",
	"unevictable_pgs_munlocked",
	"unevictable_pgs_cleared",
	"unevictable_pgs_stranded",
	"thp_fault_alloc",
	"thp_fault_fallback",
	"thp_fault_fallback_charge",
	"thp_collapse_alloc",
	"thp_collapse_alloc_failed",
	"thp_file_alloc",
	"thp_file_fallback",
	"thp_file_fallback_charge",
	"thp_file_mapped",
	"thp_split_page",
	"thp_split_page_failed",
	"thp_deferred_split_page",
	"thp_underused_split_page",
	"thp_split_pmd",
	"thp_scan_exceed_none_pte",
	"thp_scan_exceed_swap_pte",
	"thp_scan_exceed_share_pte",
	"thp_split_pud",
	"thp_zero_page_alloc",
	"thp_zero_page_alloc_failed",
	"thp_swpout",
	"thp_swpout_fallback",
	"balloon_inflate",
	"balloon_deflate",
	"balloon_migrate",
	"nr_tlb_remote_flush",
	"nr_tlb_remote_flush_received",
	"nr_tlb_local_flush_all",
	"nr_tlb_local_flush_one",
	"swap_ra",
	"swap_ra_hit",
	"swpin_zero",
	"swpout_zero",
	"ksm_swpin_copy",
	"cow_ksm",
	"zswpin",
	"zswpout",
	"zswpwb",
	"direct_map_level2_splits",
	"direct_map_level3_splits",
	"direct_map_level2_collapses",
	"direct_map_level3_collapses",
};

static const char *const migratetype_names[MIGRATE_TYPES] = {
	"Unmovable", "Movable", "Reclaimable", "HighAtomic", "CMA", "Isolate",
};

const char *vmm_zone_stat_name(int item)
{
	return zone_stat_names[item];
}

const char *vmm_numa_stat_name(int item)
{
	return numa_stat_names[item];
}

const char *vmm_node_stat_name(int item)
{
	return node_stat_names[item];
}

const char *vmm_vm_event_name(int item)
{
	return vm_event_names[item];
}

const char *vmm_migratetype_name(int mt)
{
	return migratetype_names[mt];
}

uint64_t vmm_zone_numa_event(const struct vmm_zone *z, int item)
{
	uint64_t v = z->vm_numa_event[item];

	if (item == NUMA_HIT || item == NUMA_LOCAL)
		v += z->fast_allocs;
	return v;
}

_Static_assert(VE_PGALLOC_MOVABLE - VE_PGALLOC_DMA + 1 == VMM_MAX_NR_ZONES,
	       "one pgalloc event per zone type, in zone order");

uint64_t vmm_vm_event(const struct vmm_machine *m, int item)
{
	uint64_t v = m->vm_events[item];

	if (item >= VE_PGALLOC_DMA && item <= VE_PGALLOC_MOVABLE)
		for (unsigned nid = 0; nid < m->nr_nodes; nid++)
			v += m->node_data[nid].node_zones[item - VE_PGALLOC_DMA].fast_allocs;
	return v;
}

uint64_t vmm_global_zone_page_state(struct vmm_machine *m, int item)
{
	struct vmm_zone *z;
	int64_t sum = 0;

	for_each_zone(m, z)
		sum += z->vm_stat[item];
	return sum < 0 ? 0 : (uint64_t)sum;
}

uint64_t vmm_global_node_page_state(struct vmm_machine *m, int item)
{
	int64_t sum = 0;

	for (unsigned nid = 0; nid < m->nr_nodes; nid++)
		sum += NODE_DATA(m, nid)->vm_stat[item];
	return sum < 0 ? 0 : (uint64_t)sum;
}

uint64_t vmm_totalram_pages(struct vmm_machine *m)
{
	struct vmm_zone *z;
	uint64_t sum = 0;

	for_each_zone(m, z)
		sum += z->managed_pages;
	return sum;
}

/* NR_SLAB_*_B count bytes; the page figures divide them. */
static uint64_t node_pages(struct vmm_machine *m, int item)
{
	uint64_t v = vmm_global_node_page_state(m, item);

	if (item == NR_SLAB_RECLAIMABLE_B || item == NR_SLAB_UNRECLAIMABLE_B)
		return v >> VMM_PAGE_SHIFT;
	return v;
}

/*
 * si_mem_available(): free pages above the reserves, plus the part of the
 * page cache and of reclaimable slab that can go without thrashing (each
 * less the smaller of half of it and the low watermarks).
 */
uint64_t vmm_si_mem_available(struct vmm_machine *m)
{
	struct vmm_zone *z;
	uint64_t wmark_low = 0, pagecache, reclaimable;
	int64_t available;

	for_each_zone(m, z)
		wmark_low += z->watermark[WMARK_LOW];
	available = (int64_t)vmm_global_zone_page_state(m, NR_FREE_PAGES) -
		    (int64_t)m->totalreserve_pages;
	pagecache = node_pages(m, NR_ACTIVE_FILE) + node_pages(m, NR_INACTIVE_FILE);
	pagecache -= VMM_MIN(pagecache / 2, wmark_low);
	available += (int64_t)pagecache;
	reclaimable = node_pages(m, NR_SLAB_RECLAIMABLE_B) +
		      node_pages(m, NR_KERNEL_MISC_RECLAIMABLE);
	reclaimable -= VMM_MIN(reclaimable / 2, wmark_low);
	available += (int64_t)reclaimable;
	return available < 0 ? 0 : (uint64_t)available;
}

/*
 * highmem_dirtyable_memory(): what the HighMem zones (and Movable when it
 * lies in high memory) add to @total: their free pages above the high
 * watermark plus their file LRU, never more than @total.
 */
static uint64_t highmem_dirtyable_memory(struct vmm_machine *m, uint64_t total)
{
	int64_t x = 0;
	unsigned nid;

	if (!m->cfg.direct_map_limit)
		return 0;
	for_each_online_node(m, nid) {
		for (int i = VMM_ZONE_HIGHMEM; i <= VMM_ZONE_MOVABLE; i++) {
			struct vmm_zone *z = &NODE_DATA(m, nid)->node_zones[i];
			int64_t free = z->vm_stat[NR_FREE_PAGES];

			if (!vmm_zone_is_highmem(m, z))
				continue;
			free -= VMM_MIN(free, (int64_t)z->watermark[WMARK_HIGH]);
			x += free + z->vm_stat[NR_ZONE_INACTIVE_FILE] + z->vm_stat[NR_ZONE_ACTIVE_FILE];
		}
	}
	if (x < 0)
		x = 0;
	return VMM_MIN((uint64_t)x, total);
}

/*
 * global_dirty_limits() (domain_dirty_limits): vm.dirty_bytes and
 * vm.dirty_background_bytes when set, else vm.dirty_ratio and
 * vm.dirty_background_ratio (defaults 20 and 10) of the dirtyable memory
 * (free pages above the reserves plus the file LRU, less what high memory
 * holds of it unless vm.highmem_is_dirtyable), computed in units of
 * 1/PAGE_SIZE as Linux does; the background threshold stays below half the
 * other.
 */
void vmm_global_dirty_limits(struct vmm_machine *m, uint64_t *bg_thresh, uint64_t *thresh)
{
	uint64_t avail = vmm_global_zone_page_state(m, NR_FREE_PAGES);
	uint64_t ratio = m->sysctl.dirty_ratio * VMM_PAGE_SIZE / 100;
	uint64_t bg_ratio = m->sysctl.dirty_background_ratio * VMM_PAGE_SIZE / 100;

	avail -= VMM_MIN(avail, m->totalreserve_pages);
	avail += node_pages(m, NR_INACTIVE_FILE) + node_pages(m, NR_ACTIVE_FILE);
	if (!m->sysctl.highmem_is_dirtyable)
		avail -= highmem_dirtyable_memory(m, avail);
	avail += 1;
	*thresh = m->sysctl.dirty_bytes ? DIV_ROUND_UP(m->sysctl.dirty_bytes, VMM_PAGE_SIZE)
					: ratio * avail / VMM_PAGE_SIZE;
	*bg_thresh = m->sysctl.dirty_background_bytes
			     ? DIV_ROUND_UP(m->sysctl.dirty_background_bytes, VMM_PAGE_SIZE)
			     : bg_ratio * avail / VMM_PAGE_SIZE;
	if (*bg_thresh >= *thresh)
		*bg_thresh = *thresh / 2;
}
