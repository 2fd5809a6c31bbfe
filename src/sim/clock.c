/* SPDX-License-Identifier: MIT */
/*
 * Per-CPU cycle clocks and the cost table.
 *
 * Default costs (core cycles), chosen from published measurements of a
 * recent x86-64 server core and of Linux's page allocator (order-0 pcp
 * alloc+free pairs run at roughly 100-200 cycles; a trip to the zone free
 * lists adds the zone lock and list work):
 *
 *   mem_local          80   one DRAM reference on the local node; a data reference
 *                           at NUMA distance d costs mem_local * d / 10
 *   tlb_l1_hit          1   L1 DTLB/ITLB hit (mostly hidden in the load pipeline)
 *   tlb_l2_hit          7   STLB hit after an L1 miss (Golden Cove: 7-8 cycles)
 *   walk_step           2   page-walker overhead per paging-structure entry
 *   walk_mem_local     30   one walker reference on the local node, scaled by
 *                           distance like mem_local: page-table lines mostly hit
 *                           L2/LLC, so a cold 4-level walk costs ~130 cycles
 *   pwc_hit             1   a paging-structure-cache hit that shortens a walk
 *   ad_update          20   setting an A or D flag (a locked read-modify-write)
 *   fault_delivery    250   #PF/#GP delivery: exception entry, IRET back
 *   invlpg            150   INVLPG, or INVPCID of one address
 *   tlb_flush         200   MOV to CR3/CR4 or INVPCID that drops a context or more
 *   alloc_fast         60   pcp list hit
 *   alloc_buddy       150   zone free-list allocation (lock + list + expand)
 *   alloc_fallback    200   one __rmqueue_fallback search
 *   alloc_steal_block 400   retyping a pageblock (counting and moving its free pages)
 *   alloc_slow_entry  500   entering the slow path (kswapd wake, flag recompute)
 *   alloc_retry       300   each slow-path retry round
 *   free_fast          50   free to a pcp list
 *   free_buddy         40   per merge step in __free_one_page
 *   pcp_bulk_per_page  30   per page moved by rmqueue_bulk / free_pcppages_bulk
 *   zero_page         250   clear_page (rep stosb, 4 KiB from L1/L2)
 *   copy_page         400   copy_page
 *   ipi              1500   sending or receiving one IPI (a shootdown charges the
 *                           sender once and each receiver once, in VMM_CYC_IPI)
 *   slab_alloc_fast    20   kmem_cache_alloc from the per-CPU array (irq off/on, pop)
 *   slab_free_fast     25   kmem_cache_free into the per-CPU array (with virt_to_cache)
 *   slab_batch        100   cache_alloc_refill / cache_flusharray: list lock, list moves
 *   slab_per_object    15   per object moved between an array and a slab (bufctl chain)
 *   slab_grow         300   cache_grow besides the pages: colour, management, init_objs
 *   slab_debug_per_line 8   red-zone and poison checks, per 64 bytes examined
 *   pgcache_lookup     40   a page-cache hit: XArray walk, get_page, flag tests
 *   pgcache_insert    150   add_to_page_cache_lru besides the page allocation
 *   kmap_lowmem         2   kmap/kmap_atomic of a lowmem page (PageHighMem test, __va)
 *   kmap_high          40   kmap_high/page_address: kmap_lock, one hash bucket, the count
 *   kmap_scan_per_slot  2   one pkmap_count entry looked at by map_new_virtual or
 *                           flush_all_zero_pkmaps
 *   kmap_set_pte       20   writing or clearing a kmap PTE, with the hash insert/remove
 *   kunmap_high        35   kunmap_high: kmap_lock, hash lookup, count drop
 *   kmap_atomic        10   kmap_atomic/kunmap_atomic bookkeeping (preempt and
 *                           pagefault counts, the per-CPU index); the PTE write and
 *                           INVLPG are charged apart
 *   vmalloc_area      300   alloc_vmap_area: vmap_area_lock, the augmented first-fit
 *                           descent, the clip and the busy-tree insertion, setup_vmalloc_vm
 *   vmalloc_free_area 200   remove_vm_area: the busy-tree lookup and unlink, the lazy
 *                           list insertion (vfree's page and object frees are charged
 *                           by their allocators)
 *   vmalloc_map_pte    12   per PTE vmap_pages_range writes (set_pte and the page array
 *                           read; missing table frames are page allocations)
 *   vmalloc_unmap_pte  10   per PTE vunmap_range clears, guard page included
 *   vmalloc_purge_area 120  per lazily freed area the purge merges back into the free
 *                           tree (the purge's one flush_tlb_kernel_range and its IPIs
 *                           are charged as invlpg/tlb_flush and ipi)
 *   vmalloc_lookup     60   vmalloc_to_page: a 4- or 5-level software walk, cache hits
 *   fault_entry       150   do_page_fault beyond the delivery: error-code tests,
 *                           mmap_lock, find_vma, access_error, the accounting
 *   fault_table_level  10   handle_mm_fault: one level of pgd/p4d/pud/pmd/pte_offset
 *   fault_set_pte      60   installing a PTE: rmap, mm counter, LRU add, set_pte_at
 *   fault_wp_reuse     40   do_wp_page reusing an exclusive page (mkwrite, mkdirty)
 *   fault_expand_stack 200  expand_downwards: limits, accounting, the VMA update
 *   fault_kernel       60   a kernel-address fault: vmalloc area test, the walk
 *                           spurious_kernel_fault does, the exception-table search
 *   uaccess            10   stac/clac and access_ok around a user-memory accessor
 *   syscall           100   an address-space system call's entry and exit (SYSCALL,
 *                           entry_SYSCALL_64 without mitigations, SYSRET) and mmap_lock
 *   vma_op            150   a VMA linked into or unlinked from the tree, or resized
 *                           (the augmented-tree update, the gap fix-ups, i_mmap)
 *   pte_op             10   one present PTE zapped, rewritten (mprotect), moved
 *                           (mremap) or copied (fork), with its rmap and counters;
 *                           freeing the page is the allocator's charge
 *
 * An anonymous write fault thus costs fault_delivery + fault_entry + 4 levels + a
 * pcp allocation with its zeroing + fault_set_pte = 810 cycles, plus the TLB misses
 * and walks of the faulting access and its retry: bench_fault measures ~1070 simulated
 * cycles per fault (0.36 us at 3 GHz), within the 0.25-1 us Linux spends on one.
 *
 * With the pages, objects, zeroing and the purge spread over the pairs, a 4-page
 * vzalloc + vfree comes to about 2150 cycles (0.72 us at 3 GHz; bench_vmalloc prints
 * the split), against the ~0.95 us Linux's test_vmalloc module reports for the pair.
 */
#include "sim/clock.h"

#include <inttypes.h>
#include <string.h>

#include <vmm/errors.h>

#include "lib/compiler.h"
#include "lib/hostmem.h"

void vmm_cost_table_init(struct vmm_cost_table *t)
{
	memset(t, 0, sizeof(*t));
	t->mem_local = 80;
	t->tlb_l1_hit = 1;
	t->tlb_l2_hit = 7;
	t->walk_step = 2;
	t->walk_mem_local = 30;
	t->pwc_hit = 1;
	t->ad_update = 20;
	t->fault_delivery = 250;
	t->invlpg = 150;
	t->tlb_flush = 200;
	t->alloc_fast = 60;
	t->alloc_buddy = 150;
	t->alloc_fallback = 200;
	t->alloc_steal_block = 400;
	t->alloc_slow_entry = 500;
	t->alloc_retry = 300;
	t->free_fast = 50;
	t->free_buddy = 40;
	t->pcp_bulk_per_page = 30;
	t->zero_page = 250;
	t->copy_page = 400;
	t->ipi = 1500;
	t->slab_alloc_fast = VMM_COST_SLAB_ALLOC_FAST;
	t->slab_free_fast = VMM_COST_SLAB_FREE_FAST;
	t->slab_batch = 100;
	t->slab_per_object = 15;
	t->slab_grow = 300;
	t->slab_debug_per_line = 8;
	t->pgcache_lookup = 40;
	t->pgcache_insert = 150;
	t->kmap_lowmem = 2;
	t->kmap_high = 40;
	t->kmap_scan_per_slot = 2;
	t->kmap_set_pte = 20;
	t->kunmap_high = 35;
	t->kmap_atomic = 10;
	t->vmalloc_area = 300;
	t->vmalloc_free_area = 200;
	t->vmalloc_map_pte = 12;
	t->vmalloc_unmap_pte = 10;
	t->vmalloc_purge_area = 120;
	t->vmalloc_lookup = 60;
	t->fault_entry = 150;
	t->fault_table_level = 10;
	t->fault_set_pte = 60;
	t->fault_wp_reuse = 40;
	t->fault_expand_stack = 200;
	t->fault_kernel = 60;
	t->uaccess = 10;
	t->syscall = 100;
	t->vma_op = 150;
	t->pte_op = 10;
}

int vmm_clock_init(struct vmm_clock *c, unsigned nr_cpus, struct vmm_hostmem *hm)
{
	memset(c, 0, sizeof(*c));
	vmm_cost_table_init(&c->cost);
	c->cpu = vmm_hcalloc(hm, nr_cpus, sizeof(*c->cpu));
	if (!c->cpu)
		return -VMM_ENOMEM;
	c->nr_cpus = nr_cpus;
	for (unsigned i = 0; i < nr_cpus; i++)
		c->by_cpu[i] = &c->cpu[i];
	vmm_clock_set_deadline(c, UINT64_MAX);
	return 0;
}

void vmm_clock_set_deadline(struct vmm_clock *c, uint64_t deadline)
{
	deadline = VMM_MIN(deadline, VMM_CLOCK_DEADLINE_MAX);
	for (unsigned i = 0; i < c->nr_cpus; i++) {
		struct vmm_cpu_clock *clk = &c->cpu[i];

		clk->past = vmm_cpu_clock_cycles(clk) - deadline;
		clk->deadline = deadline;
	}
}

void vmm_clock_destroy(struct vmm_clock *c, struct vmm_hostmem *hm)
{
	if (c->cpu)
		vmm_hfree(hm, c->cpu, c->nr_cpus * sizeof(*c->cpu));
	c->cpu = NULL;
	c->nr_cpus = 0;
}

uint64_t vmm_clock_now(const struct vmm_clock *c)
{
	uint64_t now = 0;

	for (unsigned i = 0; i < c->nr_cpus; i++)
		now = VMM_MAX(now, vmm_cpu_clock_cycles(&c->cpu[i]));
	return now;
}

static const char *const cat_names[VMM_CYC_NR_CATEGORIES] = {
	[VMM_CYC_TLB] = "tlb",
	[VMM_CYC_WALK] = "page_walk",
	[VMM_CYC_MEM] = "memory",
	[VMM_CYC_FAULT] = "fault",
	[VMM_CYC_ALLOC] = "page_alloc",
	[VMM_CYC_FREE] = "page_free",
	[VMM_CYC_ALLOC_SLOW] = "page_alloc_slow",
	[VMM_CYC_ZERO_COPY] = "zero_copy",
	[VMM_CYC_IPI] = "ipi",
	[VMM_CYC_SLAB] = "slab",
	[VMM_CYC_IO] = "io",
	[VMM_CYC_OTHER] = "other",
};

const char *vmm_cycle_category_name(enum vmm_cycle_category cat)
{
	if ((unsigned)cat >= VMM_CYC_NR_CATEGORIES)
		return NULL;
	return cat_names[cat];
}

int vmm_clock_dump(const struct vmm_clock *c, FILE *out)
{
	fprintf(out, "%-16s", "category");
	for (unsigned i = 0; i < c->nr_cpus; i++) {
		char name[16];

		snprintf(name, sizeof(name), "cpu%u", i);
		fprintf(out, " %18s", name);
	}
	fputc('\n', out);
	for (unsigned k = 0; k < VMM_CYC_NR_CATEGORIES; k++) {
		fprintf(out, "%-16s", cat_names[k]);
		for (unsigned i = 0; i < c->nr_cpus; i++)
			fprintf(out, " %18" PRIu64,
				vmm_clock_cat(&c->cpu[i], (enum vmm_cycle_category)k));
		fputc('\n', out);
	}
	fprintf(out, "%-16s", "total");
	for (unsigned i = 0; i < c->nr_cpus; i++)
		fprintf(out, " %18" PRIu64, vmm_cpu_clock_cycles(&c->cpu[i]));
	fputc('\n', out);
	return 0;
}
