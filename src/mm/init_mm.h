/* SPDX-License-Identifier: MIT */
/*
 * init_mm: the kernel's own page tables, built at boot.
 *
 * For now they hold the direct map: every RAM byte of the e820 map at
 * PAGE_OFFSET + its physical address, as x86-64 Linux's init_mem_mapping()
 * and kernel_physical_mapping_init() build it. Each maximal run of RAM is
 * mapped with 4 KiB pages up to the first 2 MiB boundary, 2 MiB pages up to
 * the first 1 GiB boundary, 1 GiB pages while a whole GiB of RAM remains,
 * then 2 MiB and 4 KiB pages down to the run's end; holes stay unmapped.
 * PAGE_OFFSET is 1 GiB aligned, so virtual and physical alignment agree.
 * With cfg.direct_map_limit the direct map stops there (max_low_pfn): the
 * RAM above is ZONE_HIGHMEM, mapped only by kmap (highmem.h).
 *
 * The table frames come from memblock, before memory is handed to the buddy
 * allocator, as Linux's alloc_low_page() takes them at that stage; once the
 * memory map exists they are marked page-table pages and counted in
 * NR_PAGETABLE of their node. Every CPU's CR3 is then loaded with the PGD.
 *
 * Beside the direct map, the kernel half holds (Documentation/arch/x86/
 * x86_64/mm.rst) the vmalloc area, the pkmap area when high memory is
 * configured, and the fixmap slots below FIXADDR_TOP; boot creates the page
 * tables of the pkmap and fixmap areas and, unless VMM_CFG_VMALLOC_LAZY is
 * set, the second-level tables of the whole vmalloc area, so that the top
 * level of the kernel half never changes after boot and every PGD made by
 * vmm_pgd_alloc() shares it. Tables made after boot come from the buddy
 * allocator and are counted in NR_PAGETABLE, as pte_alloc_kernel() does.
 *
 * Ownership: struct vmm_machine.init_mm; the machine's host thread.
 */
#ifndef VMM_MM_INIT_MM_H
#define VMM_MM_INIT_MM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <vmm/common.h>
#include <vmm/cpu.h>
#include <vmm/gfp.h>

struct vmm_machine;

/*
 * The index of the first present entry at or after @i of the 512-entry
 * page table @t, or 512. The checkers walk tables that are full or mostly
 * empty: one test for a present entry, one for sixteen empty ones.
 */
static inline unsigned vmm_next_present(const uint64_t *t, unsigned i)
{
	size_t k = i;

	for (; k < 512 && k % 16; k++)
		if (t[k] & VMM_PTE_PRESENT)
			return (unsigned)k;
	for (; k < 512; k += 16) {
		const uint64_t *g = t + k;
		uint64_t any = 0;

#pragma GCC unroll 16
		for (unsigned j = 0; j < 16; j++)
			any |= g[j];
		if (any & VMM_PTE_PRESENT)
			break;
	}
	for (; k < 512; k++)
		if (t[k] & VMM_PTE_PRESENT)
			break;
	return (unsigned)k;
}

/* Direct-map page sizes, in the order meminfo prints them. */
enum { DIRECTMAP_4K, DIRECTMAP_2M, DIRECTMAP_1G, NR_DIRECTMAP_SIZES };

/*
 * Linux's __PAGE_KERNEL: supervisor-only, writable, global, not executable,
 * A and D preset; the direct map's 4 KiB leaves and kmap_prot.
 */
#define VMM_PAGE_KERNEL                                                                     \
	(VMM_PTE_PRESENT | VMM_PTE_RW | VMM_PTE_ACCESSED | VMM_PTE_DIRTY | VMM_PTE_GLOBAL |  \
	 VMM_PTE_NX)

/* pkmap slots: one page-table page of them, as i386 PAE has (LAST_PKMAP) */
#define VMM_LAST_PKMAP 512
/* kmap_atomic slots per CPU (KM_MAX_IDX) */
#define VMM_KM_MAX_IDX 16
/* Fixmap slot numbers: slot i is the page at fixaddr_top - i pages. */
enum {
	VMM_FIX_HOLE = 0,		/* never mapped: catches a zero index */
	VMM_FIX_KMAP_BEGIN = 1,		/* then VMM_KM_MAX_IDX slots per CPU */
};

/* Where the kernel half's areas lie; computed at boot from the paging levels and CPUs. */
struct vmm_kernel_layout {
	vmm_vaddr_t page_offset;	/* the direct map's base */
	vmm_vaddr_t direct_map_end;	/* end of the range reserved for the direct map */
	vmm_vaddr_t vmalloc_start;	/* VMALLOC_START */
	vmm_vaddr_t vmalloc_end;	/* VMALLOC_END + 1: the area is [start, end) */
	vmm_vaddr_t pkmap_base;		/* PKMAP_BASE; 0 without high memory */
	vmm_vaddr_t fixaddr_start;	/* the lowest fixmap slot */
	vmm_vaddr_t fixaddr_top;	/* FIXADDR_TOP: slot 0 */
	unsigned nr_fixmap;		/* slots, VMM_FIX_HOLE included */
	unsigned kernel_pgd_index;	/* KERNEL_PGD_BOUNDARY: first PGD entry of the kernel half */
};

struct vmm_init_mm {
	vmm_paddr_t pgd_pa;		/* physical address of the PGD (what CR3 holds); 0: none */
	uint64_t nr_tables;		/* table frames, the PGD included */
	uint64_t boot_tables;		/* of which taken from memblock at boot */
	uint64_t direct_pages[NR_DIRECTMAP_SIZES];	/* leaves of each size in the direct map */
	uint64_t user_pgds;		/* PGDs of address spaces, from vmm_pgd_alloc() */
	uint64_t pgd_syncs;		/* top-level entries copied by vmm_pgd_sync_kernel() */
	bool buddy_ready;		/* tables now come from the buddy allocator */
	vmm_paddr_t zero_page_pa;	/* empty_zero_page: a zeroed frame from memblock */
	struct vmm_kernel_layout layout;
};

/* Virtual address of fixmap slot @idx (__fix_to_virt). */
static inline vmm_vaddr_t vmm_fix_to_virt(const struct vmm_init_mm *im, unsigned idx)
{
	return im->layout.fixaddr_top - ((vmm_vaddr_t)idx << VMM_PAGE_SHIFT);
}

/* Virtual address of pkmap slot @nr (PKMAP_ADDR). */
static inline vmm_vaddr_t vmm_pkmap_addr(const struct vmm_init_mm *im, unsigned nr)
{
	return im->layout.pkmap_base + ((vmm_vaddr_t)nr << VMM_PAGE_SHIFT);
}

/* init_mem_mapping(): allocate the PGD from memblock and map every RAM range. */
int vmm_init_mem_mapping(struct vmm_machine *m);

/*
 * After memblock_free_all(): mark the table frames VMM_PGTY_TABLE, count them
 * in NR_PAGETABLE, and load the PGD into every CPU's CR3.
 */
int vmm_init_mm_finish(struct vmm_machine *m);

/*
 * The level-1 entry (PTE) of kernel address @va in init_mm's tables, as a
 * host pointer into the table frame; with @alloc, missing tables are made
 * (lookup_address / pte_alloc_kernel). NULL when a table is missing and
 * @alloc is false (*err 0), when @va lies under a large leaf or outside the
 * kernel half (*err -VMM_EINVAL), or when no frame is left for a table
 * (*err -VMM_ENOMEM). @err may be NULL.
 */
uint64_t *vmm_kernel_pte(struct vmm_machine *m, vmm_vaddr_t va, bool alloc, int *err);

/*
 * What init_mm's tables map kernel address @va to, without touching a TLB
 * or charging cycles (lookup_address + the offset): 0 and *pa, or
 * -VMM_EFAULT when nothing maps it.
 */
int vmm_kernel_translate(struct vmm_machine *m, vmm_vaddr_t va, vmm_paddr_t *pa);

/*
 * flush_tlb_kernel_range(): invalidate [start, end) of the kernel half on
 * every CPU that may cache it (global entries, every PCID), one INVLPG per
 * page up to tlb_single_page_flush_ceiling (33) pages, a full flush beyond,
 * with the IPIs a shootdown costs. Charged to the current CPU.
 */
void vmm_flush_tlb_kernel_range(struct vmm_machine *m, vmm_vaddr_t start, vmm_vaddr_t end);

/*
 * A zeroed page-table page from the buddy allocator (@gfp plus __GFP_ZERO),
 * typed VMM_PGTY_TABLE and counted in its node's NR_PAGETABLE: what every
 * table made after boot, kernel or user, is. Returns its physical address,
 * or 0 when no page is left. vmm_pgtable_page_free() undoes it.
 */
vmm_paddr_t vmm_pgtable_page_alloc(struct vmm_machine *m, vmm_gfp_t gfp);
void vmm_pgtable_page_free(struct vmm_machine *m, vmm_paddr_t pa);

/*
 * pgd_alloc(): a zeroed PGD for a new address space with the kernel half
 * (entries kernel_pgd_index..511) copied from init_mm, counted in
 * NR_PAGETABLE. vmm_pgd_free() gives it back; its user half must be empty.
 */
int vmm_pgd_alloc(struct vmm_machine *m, vmm_paddr_t *pgd);
void vmm_pgd_free(struct vmm_machine *m, vmm_paddr_t pgd);

/*
 * The sync step of vmalloc_fault(): when @pgd lacks the top-level entry
 * that init_mm has for kernel address @va, copy it. 0 when the entry is
 * now present (copied or already there), -VMM_EFAULT when init_mm has no
 * entry for @va either (a real kernel fault), -VMM_EINVAL for a user address.
 */
int vmm_pgd_sync_kernel(struct vmm_machine *m, vmm_paddr_t pgd, vmm_vaddr_t va);

/*
 * Check @pgd's kernel half against init_mm's: every present entry equals
 * init_mm's, and without VMM_CFG_VMALLOC_LAZY none is missing. Returns the
 * problems found, described on @out.
 */
long vmm_pgd_check_kernel(struct vmm_machine *m, vmm_paddr_t pgd, FILE *out);

/*
 * mem_init()'s part, once the page allocator runs: unless
 * VMM_CFG_VMALLOC_LAZY, the second-level tables under every top-level entry
 * of the vmalloc area (preallocate_vmalloc_pages), so that the top level of
 * the kernel half never changes after boot.
 */
int vmm_init_mm_late(struct vmm_machine *m);

/* Bytes the direct map maps with pages of size @size (DIRECTMAP_*). */
uint64_t vmm_direct_map_bytes(const struct vmm_machine *m, unsigned size);

/*
 * Walk the kernel tables: every direct-map leaf maps PAGE_OFFSET + pa to pa
 * with the direct map's flags, lies wholly in RAM below the direct map's
 * end (direct_map_limit, when set), and the totals equal that RAM
 * and the recorded DirectMap figures; every table frame is a reserved
 * page-table page. Returns the problems found, described on @out.
 */
long vmm_init_mm_check(struct vmm_machine *m, FILE *out);

#endif /* VMM_MM_INIT_MM_H */
