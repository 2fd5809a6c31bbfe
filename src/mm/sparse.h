/* SPDX-License-Identifier: MIT */
/*
 * The sparse memory map (SPARSEMEM_VMEMMAP, as on x86-64).
 *
 * Physical memory is cut into 128 MiB sections. A section that holds any RAM
 * is "present" and has descriptors for all its 32768 frames; a section that
 * is all hole has none and costs nothing. As with Linux's vmemmap, the
 * descriptors form one virtually contiguous array indexed by pfn, so
 * pfn_to_page and page_to_pfn are one addition or subtraction; only present
 * sections are ever touched.
 *
 * Boot also reserves, in simulated memory, what Linux's memory map costs:
 * per node a 2 MiB-aligned buffer of 2 MiB per present section (64 bytes per
 * frame), and the section usage maps. So MemTotal is smaller than RAM by the
 * memory map exactly as on Linux.
 */
#ifndef VMM_MM_SPARSE_H
#define VMM_MM_SPARSE_H

#include <stdbool.h>
#include <stdint.h>

#include <vmm/config.h>

#include "mm/mmzone.h"

struct vmm_machine;

struct vmm_mem_section {
	uint8_t present;	/* holds some RAM: descriptors exist */
	uint8_t nid;
};

struct vmm_sparse {
	uint64_t max_pfn;			/* end of the physical address space, in pages */
	uint64_t nr_sections;
	struct vmm_mem_section *sections;
	struct vmm_page *vmemmap;		/* descriptor of pfn p is vmemmap[p] */
	size_t vmemmap_bytes;
	struct vmm_pageblock *pageblocks;	/* one per 2 MiB */
	uint64_t nr_pageblocks;
	uint64_t nr_present_sections;
};

/* Build the section table, reserve the memory map in memblock, map the descriptors. */
int vmm_sparse_init(struct vmm_machine *m);
void vmm_sparse_destroy(struct vmm_machine *m);

static inline bool vmm_sparse_pfn_valid(const struct vmm_sparse *sp, uint64_t pfn)
{
	return pfn < sp->max_pfn && sp->sections[pfn >> PFN_SECTION_SHIFT].present;
}

static inline struct vmm_page *pfn_to_page(const struct vmm_sparse *sp, uint64_t pfn)
{
	return &sp->vmemmap[pfn];
}

static inline uint64_t page_to_pfn(const struct vmm_sparse *sp, const struct vmm_page *page)
{
	return (uint64_t)(page - sp->vmemmap);
}

/* log2(sizeof(struct vmm_page)), for vmm_sparse_page_ok() */
#define VMM_STRUCT_PAGE_SHIFT 6
_Static_assert(sizeof(struct vmm_page) == 1u << VMM_STRUCT_PAGE_SHIFT,
	       "a page descriptor is 64 bytes");

/*
 * The pfn of @page, any pointer, if it is a descriptor of this memory map,
 * else an invalid pfn: the offset into the map rotated right by the
 * descriptor's size is the pfn when it is a multiple of that size; otherwise
 * the low bits land on top and make it too large, as does an address below
 * the map (NULL included).
 */
static inline uint64_t vmm_sparse_page_pfn_checked(const struct vmm_sparse *sp,
						   const struct vmm_page *page)
{
	uint64_t off = (uintptr_t)page - (uintptr_t)sp->vmemmap;

	return (off >> VMM_STRUCT_PAGE_SHIFT) | (off << (64 - VMM_STRUCT_PAGE_SHIFT));
}

/* Whether @page, any pointer, is the descriptor of a valid pfn of this memory map. */
static inline bool vmm_sparse_page_ok(const struct vmm_sparse *sp, const struct vmm_page *page)
{
	return vmm_sparse_pfn_valid(sp, vmm_sparse_page_pfn_checked(sp, page));
}

static inline struct vmm_pageblock *pfn_to_pageblock(const struct vmm_sparse *sp, uint64_t pfn)
{
	return &sp->pageblocks[pfn >> PAGEBLOCK_ORDER];
}

#endif /* VMM_MM_SPARSE_H */
