/* SPDX-License-Identifier: MIT */
/*
 * What a user PTE maps, and the accounting that goes with mapping and
 * unmapping it (Linux's vm_normal_page, the page_*_rmap calls, mm_counter
 * and lru_cache_add for new anonymous pages).
 *
 * Three kinds of page sit behind a present user PTE:
 *   - the shared zero page, behind a read-only entry with PTE_SPECIAL set
 *     (x86's _PAGE_SPECIAL, software bit 9): no struct page is counted for
 *     it, no mapcount, no reference, no RSS (vm_normal_page() says NULL);
 *   - anonymous pages: page->mapping is the anon_vma's simulated address
 *     with PAGE_MAPPING_ANON, PG_swapbacked, counted in NR_ANON_MAPPED while
 *     mapped and in the anonymous LRU counters while they live;
 *   - page-cache pages: page->mapping is the address_space, counted in
 *     NR_FILE_MAPPED while mapped (the page cache does their LRU counters).
 *
 * page->mapcount is Linux's _mapcount + 1 (0: not mapped); each mapping
 * holds one reference. The node counters NR_ANON_MAPPED / NR_FILE_MAPPED
 * move when the first mapping appears and the last one goes, as
 * page_add_*_rmap / page_remove_rmap move them.
 */
#ifndef VMM_MM_RMAP_H
#define VMM_MM_RMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "machine.h"
#include "mm/buddy.h"
#include "mm/mm_types.h"
#include "mm/mmzone.h"

/* _PAGE_SPECIAL: the entry maps a page the VM does not count (the zero page). */
#define PTE_SPECIAL (1ull << 9)
/* page->mapping of an anonymous page: the anon_vma's address with bit 0 set. */
#define PAGE_MAPPING_ANON 1ull

static inline bool page_anon(const struct vmm_page *p)
{
	return p->mapping & PAGE_MAPPING_ANON;
}

/* The zero page's physical address (ZERO_PAGE(0); allocated at boot). */
vmm_paddr_t vmm_zero_page_pa(const struct vmm_machine *m);
static inline bool vmm_is_zero_pfn(const struct vmm_machine *m, uint64_t pfn)
{
	return pfn == vmm_zero_page_pa(m) >> VMM_PAGE_SHIFT;
}

/* vm_normal_page(): the counted page behind a present leaf, or NULL (the zero page). */
struct vmm_page *vmm_vm_normal_page(struct vmm_machine *m, uint64_t pte);

/* mm_counter(): MM_ANONPAGES, MM_SHMEMPAGES or MM_FILEPAGES for a page. */
static inline int vmm_mm_counter(const struct vmm_page *p)
{
	if (page_anon(p))
		return MM_ANONPAGES;
	return page_flag(p, VMM_PG_swapbacked) ? MM_SHMEMPAGES : MM_FILEPAGES;
}
static inline void vmm_add_mm_counter(struct vmm_mm *mm, int member, int64_t n)
{
	mm->rss_stat[member] += n;
}

/*
 * page_add_new_anon_rmap() and lru_cache_add_inactive_or_unevictable(): a
 * page just allocated for @v at @addr (no page flags set) becomes anonymous
 * (mapping, index, PG_swapbacked) with one mapping, and joins the inactive
 * anonymous LRU (or the unevictable one in a VM_LOCKED VMA, with
 * PG_mlocked). Until reclaim brings the lists themselves, PG_lru and the
 * counters record membership. One call, so that the page's node and zone
 * are looked up once. @v must have its anon_vma.
 */
void vmm_page_add_new_anon(struct vmm_machine *m, struct vmm_page *p, struct vmm_vma *v,
			   uint64_t addr);
/* The pageblock of @p, which names its node and zone (page_pgdat / page_zone). */
static inline const struct vmm_pageblock *rmap_page_block(const struct vmm_machine *m,
							   const struct vmm_page *p)
{
	return pfn_to_pageblock(&m->sparse, page_to_pfn(&m->sparse, p));
}

/* Add @delta to node stat @item of @p's node. */
static inline void rmap_mod_node(struct vmm_machine *m, const struct vmm_page *p, int item,
				 int64_t delta)
{
	NODE_DATA(m, rmap_page_block(m, p)->nid)->vm_stat[item] += delta;
}

/*
 * page_add_file_rmap(): one more mapping of a page-cache page; the first
 * counts in its node's NR_FILE_MAPPED. Inline: fault-around maps up to a
 * window of pages a fault.
 */
static inline void vmm_page_add_file_rmap(struct vmm_machine *m, struct vmm_page *p)
{
	if (p->mapcount++ == 0)
		rmap_mod_node(m, p, NR_FILE_MAPPED, 1);
}
/* page_dup_rmap(): fork copies a mapping (never the first: no counter moves). */
static inline void vmm_page_dup_rmap(struct vmm_page *p)
{
	p->mapcount++;
}
/* page_remove_rmap(): one mapping fewer; the last one takes the page out of NR_*_MAPPED. */
void vmm_page_remove_rmap(struct vmm_machine *m, struct vmm_page *p);

/*
 * Drop a reference a user mapping held (after vmm_page_remove_rmap()); the
 * last one takes an anonymous page off its LRU counters, clears its
 * anonymous identity and frees it.
 */
void vmm_put_user_page(struct vmm_machine *m, struct vmm_page *p);

#endif /* VMM_MM_RMAP_H */
