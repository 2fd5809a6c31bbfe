/* SPDX-License-Identifier: MIT */
/*
 * init_mm's page tables: the direct map built at boot (see init_mm.h), the
 * step that accounts its frames and loads CR3, and its check.
 */
#include "mm/init_mm.h"

#include <inttypes.h>
#include <string.h>

#include <vmm/cpu.h>
#include <vmm/errors.h>
#include <vmm/page.h>

#include "lib/compiler.h"
#include "machine.h"
#include "mm/buddy.h"
#include "mm/memblock.h"
#include "mm/vmstat.h"

#define PTRS_PER_TABLE 512
#define PTE_SHIFT 12			/* a level-1 entry maps 4 KiB */
#define LEVEL_BITS 9			/* each level above adds 9 bits */
#define PMD_SIZE (1ull << 21)
#define PUD_SIZE (1ull << 30)

/* Linux's _KERNPG_TABLE: a kernel table entry, A and D preset. */
#define KERNPG_TABLE (VMM_PTE_PRESENT | VMM_PTE_RW | VMM_PTE_ACCESSED | VMM_PTE_DIRTY)
/* Linux's __PAGE_KERNEL: supervisor-only, writable, global, not executable, A and D preset. */
#define PAGE_KERNEL                                                                         \
	(VMM_PTE_PRESENT | VMM_PTE_RW | VMM_PTE_ACCESSED | VMM_PTE_DIRTY | VMM_PTE_GLOBAL |  \
	 VMM_PTE_NX)
/* __PAGE_KERNEL_LARGE: the same for a 2 MiB or 1 GiB leaf. */
#define PAGE_KERNEL_LARGE (PAGE_KERNEL | VMM_PTE_PS)

static unsigned level_shift(unsigned level)
{
	return PTE_SHIFT + LEVEL_BITS * (level - 1);
}

static unsigned table_index(uint64_t va, unsigned level)
{
	return (unsigned)((va >> level_shift(level)) & (PTRS_PER_TABLE - 1));
}

static uint64_t *table_host(struct vmm_machine *m, vmm_paddr_t table)
{
	return vmm_physmem_host(&m->phys, table);
}

/* alloc_low_page() before the buddy allocator runs: a zeroed frame from memblock. */
static vmm_paddr_t alloc_table(struct vmm_machine *m, int *err)
{
	vmm_paddr_t pa = vmm_memblock_alloc_try_nid(&m->memblock, VMM_PAGE_SIZE, VMM_PAGE_SIZE,
						    VMM_MEMBLOCK_ANY_NODE, err);

	if (pa) {
		memset(table_host(m, pa), 0, VMM_PAGE_SIZE);
		m->init_mm.nr_tables++;
	}
	return pa;
}

/* Write the leaf for @va -> @pa at @level (1: 4 KiB, 2: 2 MiB, 3: 1 GiB), creating tables. */
static int map_leaf(struct vmm_machine *m, uint64_t va, vmm_paddr_t pa, unsigned level)
{
	vmm_paddr_t table = m->init_mm.pgd_pa;
	int err = 0;

	for (unsigned l = m->cfg.paging_levels; l > level; l--) {
		uint64_t *e = &table_host(m, table)[table_index(va, l)];

		if (!(*e & VMM_PTE_PRESENT)) {
			vmm_paddr_t next = alloc_table(m, &err);

			if (!next)
				return err;
			*e = next | KERNPG_TABLE;
		}
		table = *e & VMM_PTE_ADDR_MASK;
	}
	table_host(m, table)[table_index(va, level)] =
		pa | (level > 1 ? PAGE_KERNEL_LARGE : PAGE_KERNEL);
	m->init_mm.direct_pages[level - 1]++;
	return 0;
}

/*
 * split_mem_range() and kernel_physical_mapping_init() for one run of RAM
 * [start, end): the largest page the alignment and the run's end allow.
 */
static int map_ram_run(struct vmm_machine *m, vmm_paddr_t start, vmm_paddr_t end)
{
	const vmm_vaddr_t base = vmm_page_offset(m);
	vmm_paddr_t pa = start;
	int err;

	while (pa < end) {
		unsigned level = 1;

		if (IS_ALIGNED(pa, PUD_SIZE) && end - pa >= PUD_SIZE)
			level = 3;
		else if (IS_ALIGNED(pa, PMD_SIZE) && end - pa >= PMD_SIZE)
			level = 2;
		if ((err = map_leaf(m, base + pa, pa, level)))
			return err;
		pa += 1ull << level_shift(level);
	}
	return 0;
}

int vmm_init_mem_mapping(struct vmm_machine *m)
{
	const struct vmm_physmem *pm = &m->phys;
	int err = 0;

	memset(&m->init_mm, 0, sizeof(m->init_mm));
	m->init_mm.pgd_pa = alloc_table(m, &err);
	if (!m->init_mm.pgd_pa)
		return err;
	/* e820 splits RAM at node boundaries; the direct map does not care: map maximal runs */
	for (unsigned i = 0; i < pm->nr_e820; i++) {
		vmm_paddr_t start = pm->e820[i].start, end;

		if (pm->e820[i].type != VMM_E820_RAM)
			continue;
		while (i + 1 < pm->nr_e820 && pm->e820[i + 1].type == VMM_E820_RAM &&
		       pm->e820[i + 1].start == pm->e820[i].end)
			i++;
		end = pm->e820[i].end;
		if ((err = map_ram_run(m, start, end))) {
			vmm_log(&m->log, VMM_LOG_ERROR, VMM_LOG_KIND_NOTE,
				"boot: no memory for the direct map's page tables");
			return err;
		}
	}
	return 0;
}

/* ---- walking the kernel tables ---- */

struct kwalk {
	struct vmm_machine *m;
	FILE *out;
	long problems;
	uint64_t tables;
	uint64_t leaves[NR_DIRECTMAP_SIZES];
	bool account;			/* mark and count the table frames instead of checking */
};

static uint64_t canonical(const struct vmm_machine *m, uint64_t va)
{
	unsigned s = 64 - level_shift(m->cfg.paging_levels + 1);

	return (uint64_t)((int64_t)(va << s) >> s);
}

/* Whether every byte of [pa, pa + size) is RAM. */
static bool range_is_ram(const struct vmm_physmem *pm, vmm_paddr_t pa, uint64_t size)
{
	for (unsigned i = 0; i < pm->nr_e820 && size; i++) {
		const struct vmm_e820_entry *e = &pm->e820[i];

		if (pa < e->start || pa >= e->end)
			continue;
		if (e->type != VMM_E820_RAM)
			return false;
		if (pa + size <= e->end)
			return true;
		size -= e->end - pa;
		pa = e->end;
	}
	return false;
}

static void kwalk_table(struct kwalk *w, vmm_paddr_t table)
{
	struct vmm_machine *m = w->m;
	uint64_t pfn = table >> VMM_PAGE_SHIFT;
	struct vmm_page *page;

	w->tables++;
	if (!vmm_sparse_pfn_valid(&m->sparse, pfn)) {
		if (!w->account) {
			fprintf(w->out, "init_mm: table frame %#" PRIx64 " has no struct page\n",
				table);
			w->problems++;
		}
		return;
	}
	page = pfn_to_page(&m->sparse, pfn);
	if (w->account) {
		page->page_type = VMM_PGTY_TABLE;
		NODE_DATA(m, vmm_physmem_nid(&m->phys, table))->vm_stat[NR_PAGETABLE]++;
	} else if (page->page_type != VMM_PGTY_TABLE || !page_flag(page, VMM_PG_reserved)) {
		fprintf(w->out, "init_mm: table frame %#" PRIx64 " is not a reserved page-table "
				"page (type %u)\n",
			table, (unsigned)page->page_type);
		w->problems++;
	}
}

static void kwalk_leaf(struct kwalk *w, uint64_t va, uint64_t e, unsigned level)
{
	struct vmm_machine *m = w->m;
	const vmm_vaddr_t base = vmm_page_offset(m);
	uint64_t size = 1ull << level_shift(level);
	uint64_t flags = level > 1 ? PAGE_KERNEL_LARGE : PAGE_KERNEL;
	vmm_paddr_t pa = va >= base ? va - base : 0;

	w->leaves[level - 1]++;
	if (w->account)
		return;
	if (va < base || e != (pa | flags) || !IS_ALIGNED(pa, size) ||
	    !range_is_ram(&m->phys, pa, size)) {
		fprintf(w->out, "init_mm: leaf %#" PRIx64 " for %#" PRIx64 " (level %u) is not "
				"the direct map of RAM (want %#" PRIx64 ")\n",
			e, va, level, pa | flags);
		w->problems++;
	}
}

static void kwalk(struct kwalk *w, vmm_paddr_t table, unsigned level, uint64_t va)
{
	const uint64_t *t = table_host(w->m, table);

	kwalk_table(w, table);
	for (unsigned i = 0; i < PTRS_PER_TABLE; i++) {
		uint64_t e = t[i], eva = canonical(w->m, va | ((uint64_t)i << level_shift(level)));

		if (!(e & VMM_PTE_PRESENT))
			continue;
		if (level == 1 || (level <= 3 && (e & VMM_PTE_PS))) {
			kwalk_leaf(w, eva, e, level);
			continue;
		}
		if (!w->account && (e & ~VMM_PTE_ADDR_MASK) != KERNPG_TABLE) {
			fprintf(w->out, "init_mm: table entry %#" PRIx64 " at level %u for %#" PRIx64
					" has flags other than _KERNPG_TABLE\n",
				e, level, eva);
			w->problems++;
		}
		kwalk(w, e & VMM_PTE_ADDR_MASK, level - 1, eva);
	}
}

int vmm_init_mm_finish(struct vmm_machine *m)
{
	struct kwalk w = { .m = m, .account = true };

	kwalk(&w, m->init_mm.pgd_pa, m->cfg.paging_levels, 0);
	/*
	 * load_cr3(swapper_pg_dir) on every CPU. The CPUs already run with the
	 * CR0/CR4/EFER bits Linux sets (PG, WP, PAE, PGE, LA57 with 5 levels, NXE,
	 * LME) and their TLBs are empty, so this is their state when the machine's
	 * clocks start: nothing to flush, no cycles or CR3 write to count.
	 */
	for (unsigned c = 0; c < m->nr_cpus; c++) {
		struct vmm_cpu *cpu = &m->mmu.cpus[c];

		cpu->regs.cr3 = m->init_mm.pgd_pa;
		cpu->pcid = 0;
		cpu->pcid_root[0] = m->init_mm.pgd_pa;
	}
	return 0;
}

uint64_t vmm_direct_map_bytes(const struct vmm_machine *m, unsigned size)
{
	static const unsigned level_of[NR_DIRECTMAP_SIZES] = { 1, 2, 3 };

	if (size >= NR_DIRECTMAP_SIZES)
		return 0;
	return m->init_mm.direct_pages[size] << level_shift(level_of[size]);
}

/* Bytes of RAM in the e820 map. */
static uint64_t ram_bytes(const struct vmm_physmem *pm)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < pm->nr_e820; i++)
		if (pm->e820[i].type == VMM_E820_RAM)
			sum += pm->e820[i].end - pm->e820[i].start;
	return sum;
}

long vmm_init_mm_check(struct vmm_machine *m, FILE *out)
{
	struct kwalk w = { .m = m, .out = out };
	uint64_t mapped = 0;

	if (!m->init_mm.pgd_pa)
		return 0;
	kwalk(&w, m->init_mm.pgd_pa, m->cfg.paging_levels, 0);
	if (w.tables != m->init_mm.nr_tables) {
		fprintf(out, "init_mm: %" PRIu64 " table frames, %" PRIu64 " recorded\n", w.tables,
			m->init_mm.nr_tables);
		w.problems++;
	}
	for (unsigned s = 0; s < NR_DIRECTMAP_SIZES; s++) {
		if (w.leaves[s] != m->init_mm.direct_pages[s]) {
			fprintf(out, "init_mm: %" PRIu64 " direct-map leaves of size %u, %" PRIu64
				     " recorded\n",
				w.leaves[s], s, m->init_mm.direct_pages[s]);
			w.problems++;
		}
		mapped += vmm_direct_map_bytes(m, s);
	}
	if (m->booted && vmm_global_node_page_state(m, NR_PAGETABLE) < m->init_mm.nr_tables) {
		fprintf(out, "init_mm: NR_PAGETABLE %" PRIu64 " does not count its %" PRIu64
			     " table frames\n",
			vmm_global_node_page_state(m, NR_PAGETABLE), m->init_mm.nr_tables);
		w.problems++;
	}
	if (mapped != ram_bytes(&m->phys)) {
		fprintf(out, "init_mm: the direct map maps %" PRIu64 " bytes, RAM is %" PRIu64 "\n",
			mapped, ram_bytes(&m->phys));
		w.problems++;
	}
	return w.problems;
}
