/* SPDX-License-Identifier: MIT */
/*
 * User page tables under each mm's PGD (from vmm_pgd_alloc(), kernel half
 * shared with init_mm),
 * table pages from the buddy allocator counted in NR_PAGETABLE (the fault
 * path installs tables and pages through vmm_pgtable_install() and rmap.h),
 * zapping ranges with page release, freeing empty tables, rewriting rights,
 * moving ranges (mremap), copying for fork with copy-on-write, TLB flushes
 * to every CPU running the mm, and the checks of page tables against VMAs
 * and page descriptors.
 */
#ifndef VMM_MM_PGTABLE_H
#define VMM_MM_PGTABLE_H

#include <stdbool.h>
#include <stdio.h>

#include <vmm/cpu.h>

#include "mm/mm_types.h"

/* _PAGE_PROTNONE: a PROT_NONE page keeps its frame behind P clear and this bit (G's). */
#define PTE_PROTNONE VMM_PTE_GLOBAL

/* pte_present(): the entry maps a frame (P, or a PROT_NONE page). */
static inline bool vmm_pte_present(uint64_t e)
{
	return e & (VMM_PTE_PRESENT | PTE_PROTNONE);
}

/* __pte_alloc() and its kin: a zeroed table installed in @entry, an empty table entry of @mm. */
int vmm_pgtable_install(struct vmm_mm *mm, uint64_t *entry);

/* The PTE bits for a VMA's flags (vm_get_page_prot), never writable; inline for the fault path. */
static inline uint64_t vmm_vm_page_prot(const struct vmm_machine *m, uint64_t vm_flags)
{
	(void)m;
	if (!(vm_flags & VM_ACCESS_FLAGS))
		return PTE_PROTNONE | VMM_PTE_ACCESSED;
	return VMM_PTE_PRESENT | VMM_PTE_USER | VMM_PTE_ACCESSED |
	       ((vm_flags & VMM_VM_EXEC) ? 0 : VMM_PTE_NX);
}

/*
 * zap_page_range(): clear the PTEs of [start, end), releasing pages; a
 * page-cache page gets the entry's dirty and accessed bits (file_ops hooks).
 * @v may be NULL (no madvise hint then).
 */
void vmm_zap_range(struct vmm_mm *mm, struct vmm_vma *v, uint64_t start, uint64_t end);
/*
 * page_mkclean_one() for one address: when the entry at @va maps frame
 * @pfn writable or dirty, make it clean and read-only and flush it; true then.
 */
bool vmm_pte_mkclean(struct vmm_mm *mm, uint64_t va, uint64_t pfn);
/*
 * The leaf slot of @va (a host pointer into its page table), creating the
 * tables on the way when @alloc (counted in pgtables_bytes); NULL when a
 * table is missing (or could not be allocated).
 */
uint64_t *vmm_pte_slot(struct vmm_mm *mm, uint64_t va, bool alloc);
/* free_pgtables(): free the tables wholly inside [floor, ceiling) that map nothing in [start, end). */
void vmm_free_pgtables(struct vmm_mm *mm, uint64_t start, uint64_t end, uint64_t floor,
		       uint64_t ceiling);
/* change_protection(): rewrite the PTEs of [start, end) of @v for @vm_flags. */
void vmm_change_protection(struct vmm_mm *mm, const struct vmm_vma *v, uint64_t start,
			   uint64_t end, uint64_t vm_flags);
/* move_page_tables(): move the PTEs of [old, old + len) to @new_addr. */
int vmm_move_page_tables(struct vmm_mm *mm, uint64_t old, uint64_t new_addr, uint64_t len,
			 uint64_t vm_flags);
/* copy_page_range(): fork's copy of @src's PTEs into @dst_mm, COW-protecting private pages. */
int vmm_copy_page_range(struct vmm_mm *dst_mm, struct vmm_vma *dst, struct vmm_mm *src_mm,
			struct vmm_vma *src);
/* Free every table of the user half and the PGD (exit). */
void vmm_free_user_tables(struct vmm_mm *mm);

/* flush_tlb_mm_range(): bump tlb_gen and flush every CPU that has @mm loaded. */
void vmm_flush_tlb_mm_range(struct vmm_mm *mm, uint64_t start, uint64_t end);

/* Walk to the PTE of @va: its value, 0 when none (no table or not present). */
uint64_t vmm_user_pte(struct vmm_mm *mm, uint64_t va);

struct XXH3_state_s;
/* Add every present user PTE (address and value) to a digest. */
void vmm_pgtable_digest(struct vmm_mm *mm, struct XXH3_state_s *st);

/* Page tables vs VMAs vs page descriptors; problems on @out. */
long vmm_pgtable_check(struct vmm_mm *mm, FILE *out);

/* A set of frames seen in page tables, for the machine-wide mapcount check. */
struct pfn_tally {
	uint64_t *pfn;
	size_t n, cap;
	bool oom;
};
/* Add every frame @mm's PTEs map to @tally. */
void vmm_pgtable_tally(struct vmm_mm *mm, struct pfn_tally *tally);
/* Each frame's mapcount equals the PTEs mapping it, and its refcount is at least that. */
long vmm_pgtable_check_tally(struct vmm_machine *m, struct pfn_tally *tally, FILE *out);

#endif /* VMM_MM_PGTABLE_H */
