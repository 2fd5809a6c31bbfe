/* SPDX-License-Identifier: MIT */
/**
 * @file highmem.h
 * @brief Kernel mappings of page frames: kmap, kunmap, kmap_atomic,
 * kunmap_atomic (Linux's highmem API).
 *
 * With vmm_config.direct_map_limit set, the direct map stops at that
 * physical address and the RAM above forms ZONE_HIGHMEM, as on i386 with
 * its 896 MiB of lowmem. The kernel reaches a highmem frame only through a
 * mapping it makes for the purpose:
 *
 * - vmm_kmap() gives the page one of 512 slots of the pkmap area for as long
 *   as it has users; the slots are shared by the whole machine, reused only
 *   after a flush of every CPU's TLB, and when none is free the call would
 *   sleep in Linux: here it fails with -VMM_EAGAIN.
 * - vmm_kmap_atomic() gives the page a per-CPU fixmap slot on the current
 *   CPU (vmm_machine_set_current_cpu()), cheaper and never failing for lack
 *   of slots, but strictly nested: mappings must be undone in reverse order,
 *   on the CPU that made them, at most 16 highmem mappings deep.
 *
 * A lowmem page (every page without the cap, as on x86-64) needs no slot:
 * both calls return its direct-map address.
 *
 * Misuse (unmapping what is not mapped, out of order, or nesting too deep)
 * is reported through the log hook as a caller error, counted in
 * vmm_trouble_counts.caller and in vmm_highmem_stats.misuse, and changes
 * nothing. Cycles go to the current CPU (VMM_CYC_OTHER; TLB flushes in
 * VMM_CYC_TLB and VMM_CYC_IPI).
 *
 * @code
 * struct vmm_page *pg = vmm_alloc_pages(m, VMM_GFP_HIGHUSER, 0);
 * vmm_vaddr_t va;
 * if (pg && vmm_kmap(m, pg, &va) == 0) {
 *         memset(vmm_kaddr_to_host(m, va), 0, VMM_PAGE_SIZE);
 *         vmm_kunmap(m, pg);
 * }
 * @endcode
 */
#ifndef VMM_HIGHMEM_H
#define VMM_HIGHMEM_H

#include <vmm/common.h>
#include <vmm/machine.h>

VMM_BEGIN_DECLS

struct vmm_page;

/**
 * PageHighMem(): whether @p page lies above the direct map.
 *
 * @return 1 or 0 (0 also for NULL arguments)
 */
VMM_API int vmm_page_highmem(const vmm_machine *m, const struct vmm_page *page);

/**
 * kmap(): a kernel address for @p page that stays valid until the matching
 * vmm_kunmap(). A lowmem page's is its direct-map address (no slot is used);
 * a highmem page already kmapped gets the same address again with one more
 * user; otherwise it takes the next free pkmap slot, first clearing the
 * unused slots and flushing every CPU's TLB when the search wraps around.
 *
 * @param m     the machine
 * @param page  a page of @p m
 * @param vaddr receives the address (page aligned)
 * @return 0; -VMM_EINVAL for NULL arguments or a page not of @p m;
 *         -VMM_EAGAIN when every pkmap slot is in use (Linux would sleep
 *         until a vmm_kunmap())
 */
VMM_API int vmm_kmap(vmm_machine *m, struct vmm_page *page, vmm_vaddr_t *vaddr);

/**
 * kunmap(): drop one user of @p page's permanent mapping. The last one
 * leaves the slot at count 1: mapped, but free for reuse after the next
 * flush. Does nothing for a lowmem page.
 *
 * @return 0; -VMM_EINVAL for NULL arguments, a page not of @p m, or a
 *         highmem page with no user (reported as misuse)
 */
VMM_API int vmm_kunmap(vmm_machine *m, struct vmm_page *page);

/**
 * kmap_atomic() (kmap_local_page()): map @p page on the current CPU until
 * the matching vmm_kunmap_atomic(), which must come before any older
 * mapping's on that CPU.
 *
 * @param m     the machine
 * @param page  a page of @p m
 * @param vaddr receives the address (page aligned)
 * @return 0; -VMM_EINVAL for NULL arguments, a page not of @p m, or nesting
 *         deeper than 16 highmem (64 in all) mappings on the CPU (reported
 *         as misuse)
 */
VMM_API int vmm_kmap_atomic(vmm_machine *m, struct vmm_page *page, vmm_vaddr_t *vaddr);

/**
 * kunmap_atomic() (kunmap_local()): undo the current CPU's most recent
 * vmm_kmap_atomic(). @p vaddr is any address inside the mapped page. A
 * highmem mapping's PTE is cleared and the page flushed from this CPU's TLB
 * alone.
 *
 * @return 0; -VMM_EINVAL for a NULL machine, or when @p vaddr is not the
 *         CPU's most recent atomic mapping (an older one, or none: reported
 *         as misuse, and the mappings stay as they were)
 */
VMM_API int vmm_kunmap_atomic(vmm_machine *m, vmm_vaddr_t vaddr);

/** What the kmap paths have done since boot. */
struct vmm_highmem_stats {
	uint64_t kmap;			/**< successful vmm_kmap() calls */
	uint64_t kmap_lowmem;		/**< of which for lowmem pages (no slot) */
	uint64_t kmap_new;		/**< of which took a new pkmap slot (map_new_virtual) */
	uint64_t kmap_wouldblock;	/**< vmm_kmap() calls that found no free slot */
	uint64_t kunmap;		/**< successful vmm_kunmap() calls */
	uint64_t pkmap_wraps;		/**< flush_all_zero_pkmaps() runs (the search wrapped) */
	uint64_t pkmap_cleared;		/**< count-1 slots they cleared */
	uint64_t pkmap_tlb_flushes;	/**< of the runs, those that flushed the TLBs */
	uint64_t kmap_atomic;		/**< successful vmm_kmap_atomic() calls */
	uint64_t kmap_atomic_lowmem;	/**< of which for lowmem pages (no slot) */
	uint64_t kunmap_atomic;		/**< successful vmm_kunmap_atomic() calls */
	uint64_t misuse;		/**< misuse reports of these calls */
	uint32_t pkmap_used;		/**< pkmap slots with users now (count >= 2) */
	uint32_t pkmap_unflushed;	/**< slots at count 1 now */
	uint64_t reserved[8];
};

/**
 * Read the kmap counters.
 *
 * @return 0, or -VMM_EINVAL for NULL arguments
 */
VMM_API int vmm_highmem_stats(const vmm_machine *m, struct vmm_highmem_stats *out);

VMM_END_DECLS

#endif /* VMM_HIGHMEM_H */
