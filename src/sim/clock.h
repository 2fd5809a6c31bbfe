/* SPDX-License-Identifier: MIT */
/*
 * The cycle clock (ARCHITECTURE.md principle 5). Each CPU has a clock;
 * every simulated hardware event and every kernel path charges cycles to
 * the CPU it runs on, in one category, from one cost table. Machine time
 * follows the furthest-ahead CPU.
 *
 * The table's defaults are documented beside vmm_cost_table_init() in
 * clock.c; every figure is a whole number of core cycles.
 */
#ifndef VMM_SIM_CLOCK_H
#define VMM_SIM_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <vmm/config.h>
#include <vmm/stats.h>

/*
 * slab_alloc_fast and slab_free_fast, which vmm_cost_table_init() puts in the table
 * like every figure: the slab allocator charges these as immediates, one load fewer
 * on every allocation and free (the table is never changed after it is made).
 */
#define VMM_COST_SLAB_ALLOC_FAST 20u
#define VMM_COST_SLAB_FREE_FAST 25u

/*
 * The cost table. Hardware costs (TLB, walk, memory) are added by the MMU;
 * kernel-path costs are charged by src/mm and above.
 */
struct vmm_cost_table {
	/* Memory references, by NUMA distance: local (10) costs mem_local; a
	 * reference at distance d costs mem_local * d / 10. */
	uint32_t mem_local;
	/* MMU (src/sim/mmu.c, tlb.c). A walker reference at distance d costs
	 * walk_mem_local * d / 10 unless the embedder's latency callback answers. */
	uint32_t tlb_l1_hit;		/* L1 ITLB/DTLB hit */
	uint32_t tlb_l2_hit;		/* STLB hit (after the L1 miss) */
	uint32_t walk_step;		/* walker overhead per paging-structure entry read */
	uint32_t walk_mem_local;	/* one walker reference on the local node */
	uint32_t pwc_hit;		/* a paging-structure-cache hit starting a walk */
	uint32_t ad_update;		/* setting A or D in memory (locked RMW) */
	uint32_t fault_delivery;	/* #PF/#GP delivery: exception entry and IRET */
	uint32_t invlpg;		/* INVLPG / INVPCID of one address */
	uint32_t tlb_flush;		/* MOV to CR3/CR4 or INVPCID flushing a context or more */
	/* Page allocator. */
	uint32_t alloc_fast;		/* pcp list hit, order 0..3 */
	uint32_t alloc_buddy;		/* zone free lists (rmqueue under zone->lock) */
	uint32_t alloc_fallback;	/* per __rmqueue_fallback attempt */
	uint32_t alloc_steal_block;	/* moving a pageblock to another migrate type */
	uint32_t alloc_slow_entry;	/* entering __alloc_pages_slowpath */
	uint32_t alloc_retry;		/* each retry round of the slow path */
	uint32_t free_fast;		/* free to a pcp list */
	uint32_t free_buddy;		/* per merge step in __free_one_page */
	uint32_t pcp_bulk_per_page;	/* rmqueue_bulk / free_pcppages_bulk, per page */
	uint32_t zero_page;		/* clearing one 4 KiB page */
	uint32_t copy_page;		/* copying one 4 KiB page */
	uint32_t ipi;			/* sending or receiving one IPI */
	/* Slab allocator (src/mm/slab.c), all in VMM_CYC_SLAB. */
	/* charged by the slab fast paths as the constants VMM_COST_SLAB_*_FAST that
	 * set them: a way to change the table after vmm_cost_table_init() must make
	 * those paths read it */
	uint32_t slab_alloc_fast;	/* object from the per-CPU array */
	uint32_t slab_free_fast;	/* object into the per-CPU array */
	uint32_t slab_batch;		/* a refill or flush: node list lock and bookkeeping */
	uint32_t slab_per_object;	/* per object moved between an array and a slab */
	uint32_t slab_grow;		/* cache_grow, besides the page allocation */
	uint32_t slab_debug_per_line;	/* debug checks, per 64 bytes of object examined */
	/* Page cache (src/pagecache), in VMM_CYC_OTHER; I/O itself is the device's. */
	uint32_t pgcache_lookup;	/* a hit: XArray walk, reference, flag tests */
	uint32_t pgcache_insert;	/* add_to_page_cache_lru besides the allocation */
	/* kmap (src/mm/highmem.c), all in VMM_CYC_OTHER; TLB flushes charge their own. */
	uint32_t kmap_lowmem;		/* kmap/kmap_atomic of a lowmem page: the address */
	uint32_t kmap_high;		/* kmap_high: kmap_lock, page_address hash, count */
	uint32_t kmap_scan_per_slot;	/* map_new_virtual / flush_all_zero_pkmaps, per slot */
	uint32_t kmap_set_pte;		/* writing or clearing a kmap PTE (+ hash insert/remove) */
	uint32_t kunmap_high;		/* kunmap_high: kmap_lock, hash lookup, count */
	uint32_t kmap_atomic;		/* kmap_atomic / kunmap_atomic bookkeeping (preempt, idx) */
	/* vmalloc (src/mm/vmalloc.c), all in VMM_CYC_OTHER. */
	uint32_t vmalloc_area;		/* alloc_vmap_area: first-fit search, clip, busy insert */
	uint32_t vmalloc_free_area;	/* remove_vm_area: busy unlink, onto the lazy list */
	uint32_t vmalloc_map_pte;	/* per PTE vmap_pages_range writes */
	uint32_t vmalloc_unmap_pte;	/* per PTE vunmap_range clears */
	uint32_t vmalloc_purge_area;	/* per lazy area the purge merges into the free tree */
	uint32_t vmalloc_lookup;	/* vmalloc_to_page: a software walk of the kernel tables */
	/* The fault path (src/fault), all in VMM_CYC_FAULT; allocation, zeroing,
	 * copying and TLB flushes charge their own. */
	uint32_t fault_entry;		/* do_page_fault: checks, mmap_lock, find_vma, access_error */
	uint32_t fault_table_level;	/* handle_mm_fault: per table level walked in software */
	uint32_t fault_set_pte;		/* installing a PTE with its rmap, counters and LRU add */
	uint32_t fault_wp_reuse;	/* do_wp_page reusing the page: PTE made writable */
	uint32_t fault_expand_stack;	/* expand_downwards: checks, accounting, VMA update */
	uint32_t fault_kernel;		/* a kernel-address fault's checks (vmalloc sync, spurious) */
	uint32_t uaccess;		/* stac/clac and the access_ok check of a user-memory accessor */
	/* The address-space system calls (src/mm), in VMM_CYC_OTHER; their page
	 * and object allocations, TLB flushes and IPIs charge their own. */
	uint32_t syscall;		/* SYSCALL/SYSRET, entry code, mmap_lock */
	uint32_t vma_op;		/* a VMA linked, unlinked or resized in the tree */
	uint32_t pte_op;		/* one present PTE zapped, rewritten, moved or copied */
};

/*
 * One CPU's clock: the total and its split by category. Every charge adds to the
 * total and to its category's by_cat[] entry, except that the page allocator's
 * order-0 free fast paths (page_alloc.c) add to the total alone: what no entry holds
 * belongs to VMM_CYC_FREE. Read a category through vmm_clock_cat(), never by_cat[].
 *
 * The total is kept as the distance past the clock's deadline (the first timer's,
 * see vmm_clock_set_deadline()), so that a charge finds whether a timer is due from
 * the sign of its own sum, with no second load and compare: vmm_cpu_clock_charge_due().
 * Read the total through vmm_cpu_clock_cycles().
 */
struct vmm_cpu_clock {
	uint64_t past;		/* total - deadline (mod 2^64): negative as int64_t before it */
	uint64_t deadline;	/* the first timer's deadline, at most VMM_CLOCK_DEADLINE_MAX */
	uint64_t by_cat[VMM_CYC_NR_CATEGORIES];
};

/*
 * The latest deadline a clock holds (2^62 cycles: 48 years at 3 GHz), so that the
 * distance past it fits an int64_t: a later one, or none, is held as this.
 */
#define VMM_CLOCK_DEADLINE_MAX (1ull << 62)

struct vmm_clock {
	struct vmm_cost_table cost;
	struct vmm_cpu_clock *cpu;	/* nr_cpus entries */
	unsigned nr_cpus;
	/* &cpu[i] for each CPU i: the fast paths charge through one load, not a multiply */
	struct vmm_cpu_clock *by_cpu[VMM_MAX_CPUS];
};

struct vmm_hostmem;

void vmm_cost_table_init(struct vmm_cost_table *t);
int vmm_clock_init(struct vmm_clock *c, unsigned nr_cpus, struct vmm_hostmem *hm);
void vmm_clock_destroy(struct vmm_clock *c, struct vmm_hostmem *hm);

/* The cycles @clk holds in all. */
static inline uint64_t vmm_cpu_clock_cycles(const struct vmm_cpu_clock *clk)
{
	return clk->past + clk->deadline;
}

/* Whether @clk has reached its deadline: the total is at least the first timer's. */
static inline bool vmm_cpu_clock_due(const struct vmm_cpu_clock *clk)
{
	return (int64_t)clk->past >= 0;
}

/* A charge of @cycles in @cat to @clk, which a caller charging often keeps at hand. */
static inline void vmm_cpu_clock_charge(struct vmm_cpu_clock *clk, enum vmm_cycle_category cat,
					uint64_t cycles)
{
	clk->past += cycles;
	clk->by_cat[cat] += cycles;
}

/*
 * vmm_cpu_clock_charge(), and whether the clock has reached its deadline: one add to
 * memory and a test of its sign, for the fast paths that poll the timers.
 */
static inline bool vmm_cpu_clock_charge_due(struct vmm_cpu_clock *clk,
					    enum vmm_cycle_category cat, uint64_t cycles)
{
	int64_t past;

	clk->by_cat[cat] += cycles;
	past = (int64_t)(clk->past += cycles);
	return past >= 0;
}

static inline void vmm_clock_charge(struct vmm_clock *c, unsigned cpu,
				    enum vmm_cycle_category cat, uint64_t cycles)
{
	vmm_cpu_clock_charge(c->by_cpu[cpu], cat, cycles);
}

/* A charge of @cycles in VMM_CYC_FREE, as the fast paths make it: the total only. */
static inline void vmm_clock_charge_free(struct vmm_cpu_clock *clk, uint64_t cycles)
{
	clk->past += cycles;
}

/* The cycles @clk holds in @cat: by_cat[@cat], and for VMM_CYC_FREE what no entry holds. */
static inline uint64_t vmm_clock_cat(const struct vmm_cpu_clock *clk, enum vmm_cycle_category cat)
{
	uint64_t rest = vmm_cpu_clock_cycles(clk);

	if (cat != VMM_CYC_FREE)
		return clk->by_cat[cat];
	for (unsigned k = 0; k < VMM_CYC_NR_CATEGORIES; k++)
		if (k != VMM_CYC_FREE)
			rest -= clk->by_cat[k];
	return rest;
}

/* Give every CPU's clock @deadline (machine cycles; UINT64_MAX: none): the timers' first. */
void vmm_clock_set_deadline(struct vmm_clock *c, uint64_t deadline);

/* Machine time: the furthest-ahead CPU clock. */
uint64_t vmm_clock_now(const struct vmm_clock *c);

/* The VMM_DUMP_CYCLES view. */
int vmm_clock_dump(const struct vmm_clock *c, FILE *out);

#endif /* VMM_SIM_CLOCK_H */
