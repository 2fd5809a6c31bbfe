/* SPDX-License-Identifier: MIT */
/*
 * memblock: the boot-time memory allocator.
 *
 * Two sorted lists of physical ranges: "memory" (RAM, each range tagged with
 * its node) and "reserved" (what boot code has claimed). An allocation finds
 * a free range (memory minus reserved), top-down by default as Linux does,
 * and reserves it. At the end of boot, vmm_memblock_free_all() hands every
 * free page to the page allocator in the largest aligned blocks, and marks
 * the reserved pages PG_reserved. This is the seeds' bootmem/early_node_map
 * stage in its modern form.
 */
#ifndef VMM_MM_MEMBLOCK_H
#define VMM_MM_MEMBLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <vmm/common.h>
#include <vmm/config.h>

struct vmm_hostmem;
struct vmm_machine;

/* A region's node when it has none (Linux uses MAX_NUMNODES). */
#define VMM_MEMBLOCK_ANY_NODE VMM_MAX_NUMNODES
/* Limits of an allocation range: the whole address space. */
#define VMM_MEMBLOCK_ALLOC_ANYWHERE (~(vmm_paddr_t)0)
/* Linux's SMP_CACHE_BYTES: the default alignment of boot allocations. */
#define VMM_SMP_CACHE_BYTES 64

struct vmm_memblock_region {
	vmm_paddr_t base;
	vmm_paddr_t size;
	uint32_t nid;
	uint32_t flags;
};

struct vmm_memblock_type {
	unsigned cnt;
	unsigned max;
	struct vmm_memblock_region *regions;
	const char *name;
};

struct vmm_memblock {
	struct vmm_memblock_type memory;
	struct vmm_memblock_type reserved;
	bool bottom_up;			/* allocation direction; Linux's default is top-down */
	/* memblock.current_limit: allocations stay below it (the end of lowmem with highmem) */
	vmm_paddr_t current_limit;
	struct vmm_hostmem *hm;
};

int vmm_memblock_init(struct vmm_memblock *mb, struct vmm_hostmem *hm);
void vmm_memblock_destroy(struct vmm_memblock *mb);

/* Register RAM [base, base+size) of node @nid. Existing parts keep their node. */
int vmm_memblock_add_node(struct vmm_memblock *mb, vmm_paddr_t base, vmm_paddr_t size,
			  unsigned nid);
/* Claim [base, base+size); overlapping and adjacent claims merge. */
int vmm_memblock_reserve(struct vmm_memblock *mb, vmm_paddr_t base, vmm_paddr_t size);
/* Give back a claim (all or part of one). */
int vmm_memblock_phys_free(struct vmm_memblock *mb, vmm_paddr_t base, vmm_paddr_t size);

/*
 * Find and reserve @size bytes aligned to @align inside [start, end), and
 * below the current limit, on node
 * @nid (VMM_MEMBLOCK_ANY_NODE for any). When nothing fits on the node and
 * !@exact_nid, any node will do. Returns the address, or 0 when nothing fits
 * (0 is never handed out: the first page is never free RAM) and sets *@err
 * to -VMM_ENOMEM, or the host error when the region array could not grow.
 */
vmm_paddr_t vmm_memblock_alloc_range_nid(struct vmm_memblock *mb, vmm_paddr_t size,
					 vmm_paddr_t align, vmm_paddr_t start, vmm_paddr_t end,
					 unsigned nid, bool exact_nid, int *err);

/* Linux's memblock_phys_alloc_try_nid: anywhere, preferring @nid. */
vmm_paddr_t vmm_memblock_alloc_try_nid(struct vmm_memblock *mb, vmm_paddr_t size,
				       vmm_paddr_t align, unsigned nid, int *err);

/*
 * Iterate over free ranges (memory minus reserved) of node @nid (or any
 * node), in ascending address order. Start with *idx = 0; returns false at
 * the end.
 */
bool vmm_memblock_next_free(const struct vmm_memblock *mb, unsigned nid, uint64_t *idx,
			    vmm_paddr_t *start, vmm_paddr_t *end, unsigned *out_nid);

/* Whether the whole of [base, base+size) is in memory / reserved. */
bool vmm_memblock_is_memory(const struct vmm_memblock *mb, vmm_paddr_t base, vmm_paddr_t size);
bool vmm_memblock_is_reserved(const struct vmm_memblock *mb, vmm_paddr_t addr);

/* Bytes in memory regions, and in reserved regions. */
vmm_paddr_t vmm_memblock_phys_mem_size(const struct vmm_memblock *mb);
vmm_paddr_t vmm_memblock_reserved_size(const struct vmm_memblock *mb);

/* Pages of [start_pfn, end_pfn) that are not memory (Linux's absent pages). */
uint64_t vmm_memblock_absent_pages(const struct vmm_memblock *mb, uint64_t start_pfn,
				   uint64_t end_pfn);

/* The pfn range of node @nid's memory: first pfn, and one past the last. */
void vmm_memblock_pfn_range_for_nid(const struct vmm_memblock *mb, unsigned nid,
				    uint64_t *start_pfn, uint64_t *end_pfn);

/* Hand every free page to the page allocator; returns the number of pages freed. */
uint64_t vmm_memblock_free_all(struct vmm_machine *m);

/* debugfs memblock/memory and memblock/reserved. */
int vmm_memblock_dump(const struct vmm_memblock *mb, FILE *out);

/* Problems found: unsorted, overlapping or empty regions. */
long vmm_memblock_check(const struct vmm_memblock *mb, FILE *out);

#endif /* VMM_MM_MEMBLOCK_H */
