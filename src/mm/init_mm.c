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
#include <vmm/gfp.h>
#include <vmm/page.h>

#include "lib/compiler.h"
#include "machine.h"
#include "mm/buddy.h"
#include "mm/memblock.h"
#include "mm/page_alloc.h"
#include "mm/sparse.h"
#include "mm/vmstat.h"

#define PTRS_PER_TABLE 512
#define PTE_SHIFT 12			/* a level-1 entry maps 4 KiB */
#define LEVEL_BITS 9			/* each level above adds 9 bits */
#define PMD_SIZE (1ull << 21)
#define PUD_SIZE (1ull << 30)

/* Linux's _KERNPG_TABLE: a kernel table entry, A and D preset. */
#define KERNPG_TABLE (VMM_PTE_PRESENT | VMM_PTE_RW | VMM_PTE_ACCESSED | VMM_PTE_DIRTY)
#define PAGE_KERNEL VMM_PAGE_KERNEL
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

static void count_table(struct vmm_machine *m, vmm_paddr_t pa, int64_t delta)
{
	NODE_DATA(m, vmm_physmem_nid(&m->phys, pa))->vm_stat[NR_PAGETABLE] += delta;
}

vmm_paddr_t vmm_pgtable_page_alloc(struct vmm_machine *m, vmm_gfp_t gfp)
{
	struct vmm_page *page = vmm_alloc_page_filled(m, gfp | VMM_GFP_ZERO);
	vmm_paddr_t pa;

	if (!page)
		return 0;
	page->page_type = VMM_PGTY_TABLE;
	pa = (vmm_paddr_t)page_to_pfn(&m->sparse, page) << VMM_PAGE_SHIFT;
	/* its entries are written through vmm_physmem_host_table(), which does not mark */
	vmm_physmem_mark_pfn(&m->phys, pa >> VMM_PAGE_SHIFT);
	count_table(m, pa, 1);
	return pa;
}

void vmm_pgtable_page_free(struct vmm_machine *m, vmm_paddr_t pa)
{
	struct vmm_page *page = pfn_to_page(&m->sparse, pa >> VMM_PAGE_SHIFT);

	count_table(m, pa, -1);
	page->page_type = VMM_PGTY_NONE;
	vmm_free_pages(m, page, 0);
}

/* Where the direct map ends: direct_map_limit, or no cap. */
static vmm_paddr_t lowmem_end(const struct vmm_machine *m)
{
	return m->cfg.direct_map_limit ? m->cfg.direct_map_limit : VMM_MEMBLOCK_ALLOC_ANYWHERE;
}

/*
 * A zeroed table frame: from memblock while boot builds the tables, as
 * alloc_low_page() takes them (below the direct map's end, so that the
 * kernel reaches its own tables through it); from the buddy allocator once
 * it runs, as pte_alloc_kernel() and friends do (a page-table page counted
 * in NR_PAGETABLE at once; the boot frames are counted by
 * vmm_init_mm_finish()). GFP_KERNEL never returns high memory.
 */
static vmm_paddr_t alloc_table(struct vmm_machine *m, int *err)
{
	vmm_paddr_t pa;

	if (m->init_mm.buddy_ready) {
		/* at boot, before init_per_zone_wmark_min() in Linux: no watermark applies */
		pa = vmm_pgtable_page_alloc(m, VMM_GFP_KERNEL | (m->booted ? 0 : VMM_GFP_MEMALLOC));
		if (!pa) {
			*err = -VMM_ENOMEM;
			return 0;
		}
	} else {
		pa = vmm_memblock_alloc_range_nid(&m->memblock, VMM_PAGE_SIZE, VMM_PAGE_SIZE, 0,
						  lowmem_end(m), VMM_MEMBLOCK_ANY_NODE, false, err);
		if (!pa)
			return 0;
		memset(table_host(m, pa), 0, VMM_PAGE_SIZE);
		m->init_mm.boot_tables++;
	}
	m->init_mm.nr_tables++;
	return pa;
}

/*
 * The entry for @va in the table of level @stop, walking down from the PGD;
 * with @alloc, missing tables above it are made. NULL with *err 0 when a
 * table is missing and @alloc is false, -VMM_EINVAL under a large leaf.
 */
static uint64_t *walk_to(struct vmm_machine *m, vmm_vaddr_t va, unsigned stop, bool alloc,
			 int *err)
{
	vmm_paddr_t table = m->init_mm.pgd_pa;

	*err = 0;
	for (unsigned l = m->cfg.paging_levels; l > stop; l--) {
		uint64_t *e = &table_host(m, table)[table_index(va, l)];

		if (!(*e & VMM_PTE_PRESENT)) {
			vmm_paddr_t next;

			if (!alloc || !(next = alloc_table(m, err)))
				return NULL;
			*e = next | KERNPG_TABLE;
		} else if (l <= 3 && (*e & VMM_PTE_PS)) {
			*err = -VMM_EINVAL;
			return NULL;
		}
		table = *e & VMM_PTE_ADDR_MASK;
	}
	return &table_host(m, table)[table_index(va, stop)];
}

/* Write the leaf for @va -> @pa at @level (1: 4 KiB, 2: 2 MiB, 3: 1 GiB), creating tables. */
static int map_leaf(struct vmm_machine *m, uint64_t va, vmm_paddr_t pa, unsigned level)
{
	int err;
	uint64_t *e = walk_to(m, va, level, true, &err);

	if (!e)
		return err;
	*e = pa | (level > 1 ? PAGE_KERNEL_LARGE : PAGE_KERNEL);
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

/* ---- the kernel half's layout and its boot-time tables ---- */

#define VSYSCALL_ADDR 0xffffffffff600000ull
/* tlb_single_page_flush_ceiling: beyond this many pages a range flush flushes everything */
#define TLB_SINGLE_PAGE_FLUSH_CEILING 33

/* Documentation/arch/x86/x86_64/mm.rst, for 4- and 5-level paging. */
static void compute_layout(struct vmm_machine *m)
{
	struct vmm_kernel_layout *l = &m->init_mm.layout;
	const bool la57 = m->cfg.paging_levels == 5;

	l->page_offset = vmm_page_offset(m);
	l->direct_map_end = l->page_offset + (la57 ? 1ull << 55 : 1ull << 46);
	l->vmalloc_start = la57 ? 0xffa0000000000000ull : 0xffffc90000000000ull;
	l->vmalloc_end = la57 ? 0xffd2000000000000ull : 0xffffe90000000000ull;
	/* FIXADDR_TOP: the page below the 2 MiB boundary above the vsyscall page */
	l->fixaddr_top = ALIGN_UP(VSYSCALL_ADDR + VMM_PAGE_SIZE, PMD_SIZE) - VMM_PAGE_SIZE;
	l->nr_fixmap = VMM_FIX_KMAP_BEGIN + VMM_KM_MAX_IDX * m->nr_cpus;
	l->fixaddr_start = l->fixaddr_top - ((uint64_t)(l->nr_fixmap - 1) << VMM_PAGE_SHIFT);
	/* i386's PKMAP_BASE: a PMD-aligned page table's worth below the fixmap */
	l->pkmap_base = m->cfg.direct_map_limit ?
		(l->fixaddr_start - VMM_PAGE_SIZE * (VMM_LAST_PKMAP + 1)) & ~(PMD_SIZE - 1) : 0;
	l->kernel_pgd_index = PTRS_PER_TABLE / 2;
}

/* page_table_range_init(): every table down to the PTEs of [start, end). */
static int make_pte_tables(struct vmm_machine *m, vmm_vaddr_t start, vmm_vaddr_t end)
{
	int err;

	for (vmm_vaddr_t va = start & ~(PMD_SIZE - 1); va < end; va += PMD_SIZE)
		if (!walk_to(m, va, 1, true, &err))
			return err;
	return 0;
}

/*
 * preallocate_vmalloc_pages(): the second-level table under every top-level
 * entry of the vmalloc area, so that vmalloc never adds a top-level entry.
 */
static int preallocate_vmalloc_tables(struct vmm_machine *m)
{
	const struct vmm_kernel_layout *l = &m->init_mm.layout;
	const uint64_t step = 1ull << level_shift(m->cfg.paging_levels);
	int err;

	for (vmm_vaddr_t va = l->vmalloc_start; va < l->vmalloc_end; va += step)
		if (!walk_to(m, va, m->cfg.paging_levels - 1, true, &err))
			return err;
	return 0;
}

static int init_kernel_areas(struct vmm_machine *m)
{
	const struct vmm_kernel_layout *l = &m->init_mm.layout;
	int err;

	if ((err = make_pte_tables(m, l->fixaddr_start, l->fixaddr_top + VMM_PAGE_SIZE)))
		return err;
	if (l->pkmap_base)
		return make_pte_tables(m, l->pkmap_base, vmm_pkmap_addr(&m->init_mm, VMM_LAST_PKMAP));
	return 0;
}

int vmm_init_mem_mapping(struct vmm_machine *m)
{
	const struct vmm_physmem *pm = &m->phys;
	int err = 0;

	memset(&m->init_mm, 0, sizeof(m->init_mm));
	compute_layout(m);
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
		/* with high memory, the direct map stops at the cap (max_low_pfn) */
		end = VMM_MIN(pm->e820[i].end, lowmem_end(m));
		if (start < end && (err = map_ram_run(m, start, end))) {
			vmm_log(&m->log, VMM_LOG_ERROR, VMM_LOG_KIND_NOTE,
				"boot: no memory for the direct map's page tables");
			return err;
		}
	}
	if ((err = init_kernel_areas(m))) {
		vmm_log(&m->log, VMM_LOG_ERROR, VMM_LOG_KIND_NOTE,
			"boot: no memory for the vmalloc, pkmap and fixmap page tables");
		return err;
	}
	/*
	 * empty_zero_page is in the kernel image's .bss: its last page here. A
	 * machine configured without an image takes a page from memblock.
	 */
	m->init_mm.zero_page_pa = VMM_KERNEL_PHYS_START +
				  (m->cfg.kernel_image_size & ~(uint64_t)(VMM_PAGE_SIZE - 1)) -
				  VMM_PAGE_SIZE;
	if (m->cfg.kernel_image_size < VMM_PAGE_SIZE ||
	    !vmm_physmem_is_ram(&m->phys, m->init_mm.zero_page_pa) ||
	    m->init_mm.zero_page_pa >= lowmem_end(m))
		m->init_mm.zero_page_pa = vmm_memblock_alloc_range_nid(
			&m->memblock, VMM_PAGE_SIZE, VMM_PAGE_SIZE, 0, lowmem_end(m),
			VMM_MEMBLOCK_ANY_NODE, false, &err);
	if (!m->init_mm.zero_page_pa)
		return err;
	memset(table_host(m, m->init_mm.zero_page_pa), 0, VMM_PAGE_SIZE);
	return 0;
}

/* ---- walking the kernel tables ---- */

struct kwalk {
	struct vmm_machine *m;
	FILE *out;
	long problems;
	uint64_t tables;
	uint64_t leaves[NR_DIRECTMAP_SIZES];
	vmm_paddr_t ram_start, ram_end;	/* the RAM entry of the e820 map that held the last leaf */
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

/*
 * range_is_ram() for a leaf of the direct map. The e820 map is sorted and
 * disjoint and the leaves come in address order, so the RAM entry that held
 * the last leaf most likely holds this one too.
 */
static bool leaf_is_ram(struct kwalk *w, vmm_paddr_t pa, uint64_t size)
{
	const struct vmm_physmem *pm = &w->m->phys;

	if (pa >= w->ram_start && pa + size <= w->ram_end)
		return true;
	if (!range_is_ram(pm, pa, size))
		return false;
	for (unsigned i = 0; i < pm->nr_e820; i++)
		if (pa >= pm->e820[i].start && pa + size <= pm->e820[i].end) {
			w->ram_start = pm->e820[i].start;
			w->ram_end = pm->e820[i].end;
		}
	return true;
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
		count_table(m, table, 1);
	} else if (page->page_type != VMM_PGTY_TABLE ||
		   (!page_flag(page, VMM_PG_reserved) && page->refcount != 1)) {
		fprintf(w->out, "init_mm: table frame %#" PRIx64 " is not a page-table page "
				"(type %u, count %d)\n",
			table, (unsigned)page->page_type, page->refcount);
		w->problems++;
	}
}

/* Whether @va lies in an area whose leaves their owner checks (vmalloc, pkmap, fixmap). */
static bool in_mapped_area(const struct vmm_kernel_layout *l, uint64_t va)
{
	return (va >= l->vmalloc_start && va < l->vmalloc_end) ||
	       (l->pkmap_base && va >= l->pkmap_base &&
		va < l->pkmap_base + VMM_LAST_PKMAP * VMM_PAGE_SIZE) ||
	       (va >= l->fixaddr_start && va <= l->fixaddr_top);
}

static void kwalk_leaf(struct kwalk *w, uint64_t va, uint64_t e, unsigned level)
{
	struct vmm_machine *m = w->m;
	const struct vmm_kernel_layout *l = &m->init_mm.layout;
	uint64_t size = 1ull << level_shift(level);
	uint64_t flags = level > 1 ? PAGE_KERNEL_LARGE : PAGE_KERNEL;
	vmm_paddr_t pa = va - l->page_offset;

	if (w->account)
		return;
	if (va < l->page_offset || va >= l->direct_map_end) {
		if (level == 1 && in_mapped_area(l, va))
			return;
		fprintf(w->out, "init_mm: leaf %#" PRIx64 " for %#" PRIx64 " (level %u) lies in "
				"no area of the kernel half\n",
			e, va, level);
		w->problems++;
		return;
	}
	w->leaves[level - 1]++;
	if (e != (pa | flags) || !IS_ALIGNED(pa, size) || !leaf_is_ram(w, pa, size) ||
	    pa + size > lowmem_end(m)) {
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
	for (unsigned i = vmm_next_present(t, 0); i < PTRS_PER_TABLE;
	     i = vmm_next_present(t, i + 1)) {
		uint64_t e = t[i], eva = canonical(w->m, va | ((uint64_t)i << level_shift(level)));

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
	m->init_mm.buddy_ready = true;
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

int vmm_init_mm_late(struct vmm_machine *m)
{
	int err = 0;

	if (!(m->cfg.flags & VMM_CFG_VMALLOC_LAZY) && (err = preallocate_vmalloc_tables(m)))
		vmm_log(&m->log, VMM_LOG_ERROR, VMM_LOG_KIND_NOTE,
			"boot: no memory for the vmalloc area's page tables");
	return err;
}

uint64_t vmm_direct_map_bytes(const struct vmm_machine *m, unsigned size)
{
	static const unsigned level_of[NR_DIRECTMAP_SIZES] = { 1, 2, 3 };

	if (size >= NR_DIRECTMAP_SIZES)
		return 0;
	return m->init_mm.direct_pages[size] << level_shift(level_of[size]);
}

/* Bytes of RAM in the e820 map below @end. */
static uint64_t ram_bytes_below(const struct vmm_physmem *pm, vmm_paddr_t end)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < pm->nr_e820; i++)
		if (pm->e820[i].type == VMM_E820_RAM && pm->e820[i].start < end)
			sum += VMM_MIN(pm->e820[i].end, end) - pm->e820[i].start;
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
	if (mapped != ram_bytes_below(&m->phys, lowmem_end(m))) {
		fprintf(out, "init_mm: the direct map maps %" PRIu64 " bytes, RAM below its end is %"
			     PRIu64 "\n",
			mapped, ram_bytes_below(&m->phys, lowmem_end(m)));
		w.problems++;
	}
	return w.problems;
}

/* ---- kernel mappings after boot, and the PGDs of address spaces ---- */

uint64_t *vmm_kernel_pte(struct vmm_machine *m, vmm_vaddr_t va, bool alloc, int *err)
{
	int e;
	uint64_t *pte;

	if (table_index(va, m->cfg.paging_levels) < m->init_mm.layout.kernel_pgd_index ||
	    canonical(m, va) != va) {
		e = -VMM_EINVAL;
		pte = NULL;
	} else {
		pte = walk_to(m, va & ~(VMM_PAGE_SIZE - 1), 1, alloc, &e);
	}
	if (err)
		*err = e;
	return pte;
}

void vmm_flush_tlb_kernel_range(struct vmm_machine *m, vmm_vaddr_t start, vmm_vaddr_t end)
{
	struct vmm_cpu *cpu = &m->mmu.cpus[m->current_cpu];
	const unsigned flags = VMM_FLUSH_GLOBAL | VMM_FLUSH_ALL_PCIDS;

	start &= ~(VMM_PAGE_SIZE - 1);
	if (end <= start)
		return;
	if ((end - start) >> VMM_PAGE_SHIFT > TLB_SINGLE_PAGE_FLUSH_CEILING)
		vmm_tlb_shootdown(cpu, VMM_SHOOTDOWN_ALL, 0, 0, 0, flags, NULL);
	else
		vmm_tlb_shootdown(cpu, VMM_SHOOTDOWN_ALL, 0, start, end - start, flags, NULL);
}

int vmm_pgd_alloc(struct vmm_machine *m, vmm_paddr_t *pgd)
{
	const unsigned k = m->init_mm.layout.kernel_pgd_index;
	vmm_paddr_t pa = vmm_pgtable_page_alloc(m, VMM_GFP_KERNEL);

	if (!pa)
		return -VMM_ENOMEM;
	/* pgd_ctor(): clone the kernel half */
	memcpy(table_host(m, pa) + k, table_host(m, m->init_mm.pgd_pa) + k,
	       (PTRS_PER_TABLE - k) * sizeof(uint64_t));
	m->init_mm.user_pgds++;
	*pgd = pa;
	return 0;
}

void vmm_pgd_free(struct vmm_machine *m, vmm_paddr_t pgd)
{
	const uint64_t *t = table_host(m, pgd);

	for (unsigned i = 0; i < m->init_mm.layout.kernel_pgd_index; i++)
		if (t[i] & VMM_PTE_PRESENT) {
			vmm_internal_err(&m->log, "pgd_free: PGD %#" PRIx64 " still maps user "
						  "entry %u (%#" PRIx64 ")",
					 pgd, i, t[i]);
			break;
		}
	m->init_mm.user_pgds--;
	vmm_pgtable_page_free(m, pgd);
}

int vmm_pgd_sync_kernel(struct vmm_machine *m, vmm_paddr_t pgd, vmm_vaddr_t va)
{
	const unsigned i = table_index(va, m->cfg.paging_levels);
	uint64_t *dst = &table_host(m, pgd)[i];
	uint64_t ref = table_host(m, m->init_mm.pgd_pa)[i];

	if (i < m->init_mm.layout.kernel_pgd_index || canonical(m, va) != va)
		return -VMM_EINVAL;
	if (!(ref & VMM_PTE_PRESENT))
		return -VMM_EFAULT;
	if (!(*dst & VMM_PTE_PRESENT)) {
		*dst = ref;
		m->init_mm.pgd_syncs++;
	}
	return 0;
}

long vmm_pgd_check_kernel(struct vmm_machine *m, vmm_paddr_t pgd, FILE *out)
{
	const uint64_t *t = table_host(m, pgd), *ref = table_host(m, m->init_mm.pgd_pa);
	const bool lazy = m->cfg.flags & VMM_CFG_VMALLOC_LAZY;
	long problems = 0;

	for (unsigned i = m->init_mm.layout.kernel_pgd_index; i < PTRS_PER_TABLE; i++) {
		if (t[i] == ref[i] || (lazy && !(t[i] & VMM_PTE_PRESENT)))
			continue;
		fprintf(out, "pgd %#" PRIx64 ": kernel entry %u is %#" PRIx64 ", init_mm has %#" PRIx64
			     "\n",
			pgd, i, t[i], ref[i]);
		problems++;
	}
	return problems;
}

int vmm_kernel_translate(struct vmm_machine *m, vmm_vaddr_t va, vmm_paddr_t *pa)
{
	vmm_paddr_t table = m->init_mm.pgd_pa;

	if (!table || canonical(m, va) != va ||
	    table_index(va, m->cfg.paging_levels) < m->init_mm.layout.kernel_pgd_index)
		return -VMM_EFAULT;
	for (unsigned l = m->cfg.paging_levels; l >= 1; l--) {
		uint64_t e = table_host(m, table)[table_index(va, l)];

		if (!(e & VMM_PTE_PRESENT))
			return -VMM_EFAULT;
		if (l == 1 || (l <= 3 && (e & VMM_PTE_PS))) {
			uint64_t mask = (1ull << level_shift(l)) - 1;
			vmm_paddr_t base = e & VMM_PTE_ADDR_MASK & ~mask;

			*pa = base | (va & mask);
			return 0;
		}
		table = e & VMM_PTE_ADDR_MASK;
	}
	return -VMM_EFAULT;
}
