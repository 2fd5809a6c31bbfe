/* SPDX-License-Identifier: MIT */
/*
 * Mapping accounting of user pages (rmap.h).
 */
#include "mm/rmap.h"

#include <vmm/cpu.h>
#include <vmm/gfp.h>
#include <vmm/page.h>

#include "machine.h"
#include "mm/buddy.h"
#include "mm/zone.h"

vmm_paddr_t vmm_zero_page_pa(const struct vmm_machine *m)
{
	return m->init_mm.zero_page_pa;
}

struct vmm_page *vmm_vm_normal_page(struct vmm_machine *m, uint64_t pte)
{
	if (pte & PTE_SPECIAL)
		return NULL;
	return pfn_to_page(&m->sparse, (pte & VMM_PTE_ADDR_MASK) >> VMM_PAGE_SHIFT);
}

static void mod_zone(struct vmm_machine *m, const struct vmm_page *p, int item, int64_t delta)
{
	const struct vmm_pageblock *pb = rmap_page_block(m, p);

	NODE_DATA(m, pb->nid)->node_zones[pb->zone].vm_stat[item] += delta;
}

void vmm_page_remove_rmap(struct vmm_machine *m, struct vmm_page *p)
{
	if (--p->mapcount)
		return;
	rmap_mod_node(m, p, page_anon(p) ? NR_ANON_MAPPED : NR_FILE_MAPPED, -1);
}

/* The page's share of the anonymous or unevictable LRU counters. */
static void lru_account_anon(struct vmm_machine *m, struct vmm_page *p, int64_t delta)
{
	if (page_flag(p, VMM_PG_unevictable)) {
		rmap_mod_node(m, p, NR_UNEVICTABLE, delta);
		mod_zone(m, p, NR_ZONE_UNEVICTABLE, delta);
		if (page_flag(p, VMM_PG_mlocked))
			mod_zone(m, p, NR_MLOCK, delta);
	} else if (page_flag(p, VMM_PG_active)) {
		rmap_mod_node(m, p, NR_ACTIVE_ANON, delta);
		mod_zone(m, p, NR_ZONE_ACTIVE_ANON, delta);
	} else {
		rmap_mod_node(m, p, NR_INACTIVE_ANON, delta);
		mod_zone(m, p, NR_ZONE_INACTIVE_ANON, delta);
	}
}

void vmm_page_add_new_anon(struct vmm_machine *m, struct vmm_page *p, struct vmm_vma *v,
			    uint64_t addr)
{
	const struct vmm_pageblock *pb = rmap_page_block(m, p);
	struct vmm_pgdat *node = NODE_DATA(m, pb->nid);
	struct vmm_zone *zone = &node->node_zones[pb->zone];

	/* page_add_new_anon_rmap() */
	p->mapcount = 1;
	p->mapping = v->anon_vma->shadow | PAGE_MAPPING_ANON;
	p->index = v->vm_pgoff + ((addr - v->vm_start) >> VMM_PAGE_SHIFT);
	p->flags |= (1ull << VMM_PG_swapbacked) | (1ull << VMM_PG_lru);
	node->vm_stat[NR_ANON_MAPPED]++;
	/* lru_cache_add_inactive_or_unevictable(), as lru_account_anon() counts */
	if (v->vm_flags & VMM_VM_LOCKED) {
		p->flags |= (1ull << VMM_PG_unevictable) | (1ull << VMM_PG_mlocked);
		m->vm_events[VE_UNEVICTABLE_PGS_MLOCKED]++;
		node->vm_stat[NR_UNEVICTABLE]++;
		zone->vm_stat[NR_ZONE_UNEVICTABLE]++;
		zone->vm_stat[NR_MLOCK]++;
	} else {
		node->vm_stat[NR_INACTIVE_ANON]++;
		zone->vm_stat[NR_ZONE_INACTIVE_ANON]++;
	}
}

/*
 * put_page(): put_page_testzero(), and a free when the count reaches zero.
 * While other references remain (a COW source that the other side of a
 * fork still maps) only the count drops; for a page that is no tail, not
 * quarantined and not reserved that is all vmm_put_page() would do, after
 * checks that a page found through a PTE always passes and a trip through
 * the free path's entry (about 100 host instructions per COW fault).
 */
void vmm_put_user_page(struct vmm_machine *m, struct vmm_page *p)
{
	if (p->refcount > 1 && !(p->compound & (VMM_PAGE_TAIL | VMM_PAGE_QUARANTINE)) &&
	    !page_flag(p, VMM_PG_reserved)) {
		p->refcount--;
		return;
	}
	if (p->refcount == 1 && page_anon(p)) {
		if (page_flag(p, VMM_PG_lru)) {
			lru_account_anon(m, p, -1);
			if (page_flag(p, VMM_PG_mlocked))
				m->vm_events[VE_UNEVICTABLE_PGS_MUNLOCKED]++;
		}
		p->flags &= ~((1ull << VMM_PG_lru) | (1ull << VMM_PG_active) |
			      (1ull << VMM_PG_unevictable) | (1ull << VMM_PG_mlocked) |
			      (1ull << VMM_PG_swapbacked) | (1ull << VMM_PG_referenced) |
			      (1ull << VMM_PG_workingset));
		p->mapping = 0;
	}
	vmm_put_page(m, p);
}
