/* SPDX-License-Identifier: MIT */
#include "sim/physmem.h"

#include <string.h>

#include <vmm/errors.h>

#include "lib/compiler.h"
#include "lib/hostmem.h"

static void e820_append(struct vmm_physmem *pm, vmm_paddr_t start, vmm_paddr_t end,
			uint32_t type, uint32_t nid)
{
	struct vmm_e820_entry *last = pm->nr_e820 ? &pm->e820[pm->nr_e820 - 1] : NULL;

	if (start >= end)
		return;
	if (last && last->end == start && last->type == type && last->nid == nid) {
		last->end = end;
		return;
	}
	pm->e820[pm->nr_e820++] = (struct vmm_e820_entry){ start, end, type, nid };
}

/*
 * Walk each node's range in address order, cutting it at the holes that
 * fall inside it. The holes are few (at most 16), so a sort of their starts
 * per node is not worth it: find the next hole each time.
 */
static void physmem_build_e820(struct vmm_physmem *pm, const struct vmm_config *cfg)
{
	for (unsigned nid = 0; nid < pm->nr_nodes; nid++) {
		vmm_paddr_t pos = pm->node_start[nid], end = pm->node_end[nid];

		while (pos < end) {
			vmm_paddr_t next_hole = end, hole_end = end;

			for (unsigned h = 0; h < cfg->nr_holes; h++) {
				const struct vmm_phys_range *r = &cfg->holes[h];

				if (r->end > pos && r->start < next_hole) {
					next_hole = VMM_MAX(r->start, pos);
					hole_end = VMM_MIN(r->end, end);
				}
			}
			e820_append(pm, pos, next_hole, VMM_E820_RAM, nid);
			e820_append(pm, next_hole, hole_end, VMM_E820_RESERVED, nid);
			pos = hole_end;
		}
	}
}

/* Bytes of the known-zero bitmap: one bit per frame, in whole host pages. */
static uint64_t nonzero_map_bytes(const struct vmm_physmem *pm)
{
	return ALIGN_UP(DIV_ROUND_UP(pm->end >> VMM_PAGE_SHIFT, 64) * 8, VMM_PAGE_SIZE);
}

int vmm_physmem_init(struct vmm_physmem *pm, const struct vmm_config *cfg,
		     struct vmm_hostmem *hm)
{
	vmm_paddr_t pos = 0;

	memset(pm, 0, sizeof(*pm));
	pm->nr_nodes = cfg->nodes;
	for (unsigned nid = 0; nid < cfg->nodes; nid++) {
		pm->node_start[nid] = pos;
		pos += cfg->node_mem[nid];
		pm->node_end[nid] = pos;
	}
	pm->end = pos;
	physmem_build_e820(pm, cfg);
	/* the known-zero bitmap shares the mapping: no host request more, zero from the start */
	pm->base = vmm_hmap(hm, pm->end + nonzero_map_bytes(pm));
	if (!pm->base)
		return -VMM_ENOMEM;
	pm->nonzero = (uint64_t *)(void *)(pm->base + pm->end);
	return 0;
}

void vmm_physmem_destroy(struct vmm_physmem *pm, struct vmm_hostmem *hm)
{
	if (pm->base)
		vmm_hunmap(hm, pm->base, pm->end + nonzero_map_bytes(pm));
	pm->base = NULL;
	pm->nonzero = NULL;
}

void vmm_physmem_mark_range(const struct vmm_physmem *pm, vmm_paddr_t pa, uint64_t len)
{
	if (!len)
		return;
	for (uint64_t pfn = pa >> VMM_PAGE_SHIFT; pfn <= (pa + len - 1) >> VMM_PAGE_SHIFT; pfn++)
		vmm_physmem_mark_pfn(pm, pfn);
}

unsigned vmm_physmem_nid(const struct vmm_physmem *pm, vmm_paddr_t pa)
{
	unsigned lo = 0, hi = pm->nr_nodes;

	while (hi - lo > 1) {
		unsigned mid = (lo + hi) / 2;

		if (pa >= pm->node_start[mid])
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

const struct vmm_e820_entry *vmm_physmem_e820(const struct vmm_physmem *pm, vmm_paddr_t pa)
{
	unsigned lo = 0, hi = pm->nr_e820;

	if (pa >= pm->end)
		return NULL;
	while (hi - lo > 1) {
		unsigned mid = (lo + hi) / 2;

		if (pa >= pm->e820[mid].start)
			lo = mid;
		else
			hi = mid;
	}
	return &pm->e820[lo];
}

bool vmm_physmem_is_ram(const struct vmm_physmem *pm, vmm_paddr_t pa)
{
	const struct vmm_e820_entry *e = vmm_physmem_e820(pm, pa);

	return e && e->type == VMM_E820_RAM;
}
