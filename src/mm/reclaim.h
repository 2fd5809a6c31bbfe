/* SPDX-License-Identifier: MIT */
/*
 * What the page allocator's slow path asks of reclaim, compaction and the
 * OOM killer: one interface, so that the retry logic above it is Linux's
 * and is tested today. Until those issues land, the implementations behind
 * it do Linux's bookkeeping (allocstall, kswapd wakeups and failures, the
 * watermark boost kswapd undoes) and honestly report that nothing could be
 * reclaimed, compacted or killed.
 */
#ifndef VMM_MM_RECLAIM_H
#define VMM_MM_RECLAIM_H

#include <stdbool.h>
#include <stdint.h>

#include <vmm/gfp.h>

#include "mm/mmzone.h"

struct vmm_machine;
struct vmm_alloc_context;

/* enum compact_result, the values the allocator looks at. */
enum vmm_compact_result {
	COMPACT_NOT_SUITABLE_ZONE,
	COMPACT_SKIPPED,	/* not enough free pages for compaction to work with */
	COMPACT_DEFERRED,
	COMPACT_NO_SUITABLE_PAGE,
	COMPACT_CONTINUE,
	COMPACT_COMPLETE,
	COMPACT_PARTIAL_SKIPPED,
	COMPACT_CONTENDED,
	COMPACT_SUCCESS,
};

/* node_reclaim() results. */
enum { NODE_RECLAIM_NOSCAN = -2, NODE_RECLAIM_FULL = -1, NODE_RECLAIM_SOME = 0,
       NODE_RECLAIM_SUCCESS = 1 };

/* zone_reclaimable_pages(): LRU pages reclaim could free (anon only with swap). */
uint64_t vmm_zone_reclaimable_pages(const struct vmm_machine *m, const struct vmm_zone *z);

/*
 * wakeup_kswapd(): ask @zone's node's kswapd to balance up to
 * @highest_zoneidx for @order. Until reclaim exists, kswapd runs at once,
 * reclaims nothing (a failure) and undoes the node's watermark boosts, as
 * the end of balance_pgdat does.
 */
void vmm_wakeup_kswapd(struct vmm_machine *m, struct vmm_zone *zone, vmm_gfp_t gfp,
		       unsigned order, enum vmm_zone_type highest_zoneidx);

/* try_to_free_pages(): direct reclaim. Returns pages reclaimed (counts allocstall). */
uint64_t vmm_try_to_free_pages(struct vmm_machine *m, const struct vmm_alloc_context *ac,
			       unsigned order, vmm_gfp_t gfp);

/* try_to_compact_pages(): direct compaction. */
enum vmm_compact_result vmm_try_to_compact_pages(struct vmm_machine *m, vmm_gfp_t gfp,
						 unsigned order, unsigned alloc_flags,
						 const struct vmm_alloc_context *ac, int prio);

/* node_reclaim(): NODE_RECLAIM_* */
int vmm_node_reclaim(struct vmm_machine *m, struct vmm_pgdat *pgdat, vmm_gfp_t gfp,
		     unsigned order);

/* out_of_memory(): whether the OOM killer freed (or will free) memory. */
bool vmm_out_of_memory(struct vmm_machine *m, vmm_gfp_t gfp, unsigned order,
		       const struct vmm_alloc_context *ac);

#endif /* VMM_MM_RECLAIM_H */
