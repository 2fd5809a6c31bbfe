/* SPDX-License-Identifier: MIT */
#include "mm/sparse.h"

#include <string.h>

#include <vmm/errors.h>

#include "lib/compiler.h"
#include "machine.h"

_Static_assert(sizeof(struct vmm_page) == VMM_STRUCT_PAGE_SIZE,
	       "struct vmm_page must stay 64 bytes, like Linux's struct page");

/* Linux's section_map_size(): the memory map of a section, rounded to PMD_SIZE. */
static uint64_t section_map_size(void)
{
	return ALIGN_UP(VMM_STRUCT_PAGE_SIZE * PAGES_PER_SECTION, VMM_PMD_SIZE);
}

/* memory_present(): mark every section that holds a RAM page. */
static void sparse_mark_present(struct vmm_machine *m)
{
	const struct vmm_memblock_type *mem = &m->memblock.memory;
	struct vmm_sparse *sp = &m->sparse;

	for (unsigned i = 0; i < mem->cnt; i++) {
		uint64_t s = DIV_ROUND_UP(mem->regions[i].base, VMM_PAGE_SIZE);
		uint64_t e = (mem->regions[i].base + mem->regions[i].size) >> VMM_PAGE_SHIFT;

		for (uint64_t sec = s >> PFN_SECTION_SHIFT; s < e && sec <= (e - 1) >> PFN_SECTION_SHIFT;
		     sec++) {
			if (!sp->sections[sec].present)
				sp->nr_present_sections++;
			sp->sections[sec].present = 1;
			sp->sections[sec].nid = (uint8_t)mem->regions[i].nid;
		}
	}
}

/*
 * sparse_init_nid(): the usage maps go right below the node's pg_data_t,
 * then one 2 MiB-aligned buffer holds the whole node's memory map, placed
 * above 16 MiB (MAX_DMA_ADDRESS) and on the node itself. When the node
 * cannot hold the buffer, each section's map is taken wherever it fits, as
 * vmemmap_populate falls back to.
 */
static int sparse_reserve_node(struct vmm_machine *m, unsigned nid, uint64_t nsec)
{
	struct vmm_memblock *mb = &m->memblock;
	int err;

	if (!nsec)
		return 0;
	if (!vmm_memblock_alloc_try_nid(mb, VMM_SECTION_USAGE_SIZE * nsec, VMM_SMP_CACHE_BYTES,
					nid, &err))
		return err;
	if (vmm_memblock_alloc_range_nid(mb, nsec * section_map_size(), section_map_size(),
					 MAX_DMA_PFN << VMM_PAGE_SHIFT, VMM_MEMBLOCK_ALLOC_ANYWHERE,
					 nid, true, &err))
		return 0;
	if (err != -VMM_ENOMEM)
		return err;
	for (uint64_t i = 0; i < nsec; i++) {
		if (!vmm_memblock_alloc_range_nid(mb, section_map_size(), VMM_PMD_SIZE,
						  MAX_DMA_PFN << VMM_PAGE_SHIFT,
						  VMM_MEMBLOCK_ALLOC_ANYWHERE, nid, false, &err)) {
			vmm_log(&m->log, VMM_LOG_ERROR, VMM_LOG_KIND_NOTE,
				"boot: no memory for node %u's memory map", nid);
			return err;
		}
	}
	return 0;
}

int vmm_sparse_init(struct vmm_machine *m)
{
	struct vmm_sparse *sp = &m->sparse;
	uint64_t per_node[VMM_MAX_NUMNODES] = { 0 };
	int err;

	sp->max_pfn = m->phys.end >> VMM_PAGE_SHIFT;
	sp->nr_sections = DIV_ROUND_UP(sp->max_pfn, PAGES_PER_SECTION);
	sp->nr_pageblocks = DIV_ROUND_UP(sp->max_pfn, PAGEBLOCK_NR_PAGES);
	sp->sections = vmm_hcalloc(&m->hm, sp->nr_sections, sizeof(*sp->sections));
	sp->pageblocks = vmm_hcalloc(&m->hm, sp->nr_pageblocks, sizeof(*sp->pageblocks));
	sp->vmemmap_bytes = sp->max_pfn * sizeof(struct vmm_page);
	sp->vmemmap = sp->sections && sp->pageblocks ? vmm_hmap(&m->hm, sp->vmemmap_bytes) : NULL;
	if (!sp->vmemmap)
		return -VMM_ENOMEM;

	sparse_mark_present(m);
	for (uint64_t sec = 0; sec < sp->nr_sections; sec++)
		if (sp->sections[sec].present)
			per_node[sp->sections[sec].nid]++;
	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		err = sparse_reserve_node(m, nid, per_node[nid]);
		if (err)
			return err;
		m->memmap_boot_pages += per_node[nid] * (section_map_size() >> VMM_PAGE_SHIFT);
	}
	return 0;
}

void vmm_sparse_destroy(struct vmm_machine *m)
{
	struct vmm_sparse *sp = &m->sparse;

	vmm_hunmap(&m->hm, sp->vmemmap, sp->vmemmap_bytes);
	vmm_hfree(&m->hm, sp->sections, sp->nr_sections * sizeof(*sp->sections));
	vmm_hfree(&m->hm, sp->pageblocks, sp->nr_pageblocks * sizeof(*sp->pageblocks));
	memset(sp, 0, sizeof(*sp));
}
