/* SPDX-License-Identifier: MIT */
/*
 * The reclaim/compaction/OOM interface of the page allocator, before those
 * subsystems exist. See reclaim.h: bookkeeping is Linux's; progress is none.
 */
#include "mm/reclaim.h"

#include "lib/compiler.h"
#include "machine.h"
#include "mm/page_alloc.h"

uint64_t vmm_zone_reclaimable_pages(const struct vmm_machine *m, const struct vmm_zone *z)
{
	int64_t nr = z->vm_stat[NR_ZONE_INACTIVE_FILE] + z->vm_stat[NR_ZONE_ACTIVE_FILE];

	/* anonymous pages are reclaimable only with swap, which comes later */
	(void)m;
	return nr > 0 ? (uint64_t)nr : 0;
}

void vmm_wakeup_kswapd(struct vmm_machine *m, struct vmm_zone *zone, vmm_gfp_t gfp,
		       unsigned order, enum vmm_zone_type highest_zoneidx)
{
	struct vmm_pgdat *pgdat = zone->zone_pgdat;
	bool boosted = false;

	if (!zone->managed_pages || !vmm_cpuset_zone_allowed(m, zone, gfp))
		return;
	if (pgdat->kswapd_order < order)
		pgdat->kswapd_order = order;
	if (pgdat->kswapd_highest_zoneidx < (int)highest_zoneidx)
		pgdat->kswapd_highest_zoneidx = (int)highest_zoneidx;
	for (int i = 0; i <= (int)highest_zoneidx; i++)
		boosted |= pgdat->node_zones[i].watermark_boost != 0;
	/* a hopeless node is left to direct reclaim (unless a boost needs undoing) */
	if (pgdat->kswapd_failures >= MAX_RECLAIM_RETRIES && !boosted)
		return;
	pgdat->kswapd_wakeups++;

	/* kswapd's balance_pgdat(), without anything to reclaim yet */
	m->vm_events[VE_PAGEOUTRUN]++;
	pgdat->kswapd_failures++;
	for (int i = 0; i < VMM_MAX_NR_ZONES; i++) {
		pgdat->node_zones[i].watermark_boost = 0;
		pgdat->node_zones[i].flags &= ~ZONE_BOOSTED_WATERMARK;
		zone_update_fast_floor(&pgdat->node_zones[i]);
	}
	pgdat->kswapd_order = 0;
	pgdat->kswapd_highest_zoneidx = 0;
}

uint64_t vmm_try_to_free_pages(struct vmm_machine *m, const struct vmm_alloc_context *ac,
			       unsigned order, vmm_gfp_t gfp)
{
	(void)order;
	(void)gfp;
	/* do_try_to_free_pages() counts the stall against the request's highest zone */
	m->vm_events[VE_ALLOCSTALL_DMA + ac->highest_zoneidx]++;
	return 0;
}

enum vmm_compact_result vmm_try_to_compact_pages(struct vmm_machine *m, vmm_gfp_t gfp,
						 unsigned order, unsigned alloc_flags,
						 const struct vmm_alloc_context *ac, int prio)
{
	(void)m;
	(void)gfp;
	(void)order;
	(void)alloc_flags;
	(void)ac;
	(void)prio;
	return COMPACT_SKIPPED;
}

int vmm_node_reclaim(struct vmm_machine *m, struct vmm_pgdat *pgdat, vmm_gfp_t gfp,
		     unsigned order)
{
	(void)m;
	(void)gfp;
	(void)order;
	/* nothing in the page cache or reclaimable slab above the node's minimums */
	if (pgdat->vm_stat[NR_FILE_PAGES] <= 0 && pgdat->vm_stat[NR_SLAB_RECLAIMABLE_B] <= 0)
		return NODE_RECLAIM_FULL;
	return NODE_RECLAIM_NOSCAN;
}

bool vmm_out_of_memory(struct vmm_machine *m, vmm_gfp_t gfp, unsigned order,
		       const struct vmm_alloc_context *ac)
{
	(void)ac;
	/* the OOM killer does not compensate for IO-less reclaim: pretend progress */
	if (!(gfp & VMM_GFP_FS))
		return true;
	vmm_log(&m->log, VMM_LOG_ERROR, VMM_LOG_KIND_NOTE,
		"Out of memory and no killable processes (gfp_mask=%#x, order=%u)",
		(unsigned)gfp, order);
	return false;
}
