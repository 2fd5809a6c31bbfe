/* SPDX-License-Identifier: MIT */
/*
 * The hardware's physical memory: the e820-style map of RAM and holes, NUMA
 * nodes as contiguous address ranges, the SLIT distance table, CPU
 * placement, and the host memory behind every RAM byte.
 *
 * The whole physical address space is one lazily backed host mapping, so a
 * physical address converts to host bytes by one addition, and frames cost
 * host memory only once something writes them. Each node owns a contiguous
 * part of that mapping.
 *
 * Beside it, host-side only (no simulated counter, charge or output reads
 * it), one bit per frame: set when the frame's host bytes may be nonzero.
 * All bits start clear, as the mapping starts zero. Whoever takes a host
 * pointer into a frame through vmm_physmem_host() marks that frame, so every
 * writer marks what it writes (page-table frames are marked once, when
 * allocated as tables: see vmm_physmem_host_table()); the page allocator skips the host clear of a
 * frame left unmarked (mm/page_zero.h), which keeps untouched frames from
 * costing host memory and a clear.
 */
#ifndef VMM_SIM_PHYSMEM_H
#define VMM_SIM_PHYSMEM_H

#include <stdbool.h>
#include <stdint.h>

#include <vmm/config.h>
#include <vmm/machine.h>

struct vmm_hostmem;
struct vmm_log;

/* Enough for every hole splitting a node range and every node boundary. */
#define VMM_MAX_E820 (2 * (VMM_MAX_HOLES + VMM_MAX_NUMNODES) + 1)

struct vmm_physmem {
	unsigned nr_nodes;
	vmm_paddr_t node_start[VMM_MAX_NUMNODES];	/* configured range of each node */
	vmm_paddr_t node_end[VMM_MAX_NUMNODES];
	vmm_paddr_t end;				/* end of the address space */
	unsigned nr_e820;
	struct vmm_e820_entry e820[VMM_MAX_E820];	/* sorted, covering [0, end) */
	uint8_t *base;					/* host bytes of physical address 0 */
	/* host-side: bit pfn set when frame pfn's host bytes may be nonzero (after base's end) */
	uint64_t *nonzero;
};

/* Build the map from a validated config and reserve its host memory. */
int vmm_physmem_init(struct vmm_physmem *pm, const struct vmm_config *cfg,
		     struct vmm_hostmem *hm);
void vmm_physmem_destroy(struct vmm_physmem *pm, struct vmm_hostmem *hm);

/* The node whose configured range holds @pa (pa must be below pm->end). */
unsigned vmm_physmem_nid(const struct vmm_physmem *pm, vmm_paddr_t pa);
/* The memory-map entry holding @pa, or NULL beyond the end of memory. */
const struct vmm_e820_entry *vmm_physmem_e820(const struct vmm_physmem *pm, vmm_paddr_t pa);

/* Whether [pa, pa+1) is RAM. */
bool vmm_physmem_is_ram(const struct vmm_physmem *pm, vmm_paddr_t pa);

/* Mark frame @pfn as possibly holding nonzero host bytes. */
static inline void vmm_physmem_mark_pfn(const struct vmm_physmem *pm, uint64_t pfn)
{
	pm->nonzero[pfn >> 6] |= 1ull << (pfn & 63);
}

/* Mark every frame that [pa, pa + len) touches; len may be 0 (nothing). */
void vmm_physmem_mark_range(const struct vmm_physmem *pm, vmm_paddr_t pa, uint64_t len);

/* Whether frame @pfn may hold nonzero host bytes. */
static inline bool vmm_physmem_maybe_nonzero(const struct vmm_physmem *pm, uint64_t pfn)
{
	return pm->nonzero[pfn >> 6] & (1ull << (pfn & 63));
}

/* Frame @pfn's host bytes are zero again (its caller just cleared them). */
static inline void vmm_physmem_mark_zero(const struct vmm_physmem *pm, uint64_t pfn)
{
	pm->nonzero[pfn >> 6] &= ~(1ull << (pfn & 63));
}

/*
 * Host bytes of a physical address, to read or write up to the end of its
 * frame; no checks (callers know it is RAM). The frame is marked possibly
 * nonzero: a caller that writes further than its frame marks the rest itself.
 */
static inline void *vmm_physmem_host(const struct vmm_physmem *pm, vmm_paddr_t pa)
{
	vmm_physmem_mark_pfn(pm, pa >> VMM_PAGE_SHIFT);
	return pm->base + pa;
}

/*
 * Host bytes of a page-table frame, to read or write its entries, unmarked:
 * a table frame is marked when it is allocated as one (vmm_pgtable_page_alloc(),
 * or written at boot), which saves the fault path's walk a mark per level.
 */
static inline void *vmm_physmem_host_table(const struct vmm_physmem *pm, vmm_paddr_t pa)
{
	return pm->base + pa;
}

/* Host bytes of a physical address for reading only: the frame is not marked. */
static inline const void *vmm_physmem_host_ro(const struct vmm_physmem *pm, vmm_paddr_t pa)
{
	return pm->base + pa;
}

#endif /* VMM_SIM_PHYSMEM_H */
