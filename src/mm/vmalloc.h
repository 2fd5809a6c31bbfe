/* SPDX-License-Identifier: MIT */
/*
 * vmalloc's internals (seed 001 section 2.4.1, in the design of Linux 6.x's
 * mm/vmalloc.c).
 *
 * Address space: every byte of [vmalloc_start, vmalloc_end) belongs to
 * exactly one vmap_area, which is
 * - busy: in the busy tree (vmap_area_root) and the address-sorted busy
 *   list (vmap_area_list), with its vm_struct (the area proper: guard page
 *   included in its size) on the address-sorted vm_struct list (vmlist);
 * - lazily freed: on the lazy list, its page table entries cleared but
 *   possibly still cached by some TLB, waiting for the purge;
 * - free: in the free-space tree (free_vmap_area_root), augmented with each
 *   subtree's largest free range (subtree_max_size) so that the lowest
 *   address where a request fits is found in O(log n), and on the
 *   address-sorted free list, which the merging of neighbours walks. No two
 *   free ranges touch: a range coming back merges with its neighbours.
 *
 * Where things live: the trees and lists are host structures, each vmap_area
 * shadowed by a simulated object of the "vmap_area" cache and each vm_struct
 * by a kmalloc-64 object, and a vmalloc'd area's page array by a simulated
 * kmalloc'd (at most a page) or vmalloc'd (larger) array, as Linux
 * allocates them, so that slabinfo, meminfo and vmallocinfo account them.
 * The host keeps the page pointers; the simulated arrays are zeroed and
 * not kept in step (a struct page pointer has no simulated address here).
 *
 * Ownership: struct vmm_machine.vmalloc; the machine's host thread.
 */
#ifndef VMM_MM_VMALLOC_H
#define VMM_MM_VMALLOC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <vmm/config.h>
#include <vmm/gfp.h>
#include <vmm/vmalloc.h>

#include "lib/list.h"
#include "lib/rbtree.h"

struct vmm_machine;
struct vmm_kmem_cache;
struct vmm_vm_struct;

/* Sizes of Linux's structures the shadows stand for (x86-64). */
#define VMAP_AREA_SIZE 72u /* struct vmap_area */
#define VM_STRUCT_SIZE 64u /* struct vm_struct */

/* Pages whose pointers a vm_struct holds inline, without a host array. */
#define VM_INLINE_PAGES 8u

/* Where a vmap_area is. */
enum vmap_area_state {
	VA_SPARE = 0, /* in the host pool or a CPU's preload slot */
	VA_FREE,      /* free-space tree */
	VA_BUSY,      /* busy tree */
	VA_LAZY,      /* lazy list */
};

struct vmm_vmap_area {
	uint64_t va_start;
	uint64_t va_end;	    /* exclusive */
	struct vmm_rb_node rb_node; /* busy or free tree */
	struct vmm_list list;	    /* busy, free or lazy list; the pool */
	uint64_t subtree_max_size;  /* free tree: the largest range in the subtree */
	struct vmm_vm_struct *vm;   /* busy: the area */
	vmm_vaddr_t shadow;	    /* the simulated struct vmap_area */
	uint32_t state;		    /* enum vmap_area_state */
};

struct vmm_vm_struct {
	struct vmm_list list; /* vmlist, address order */
	vmm_vaddr_t addr;
	uint64_t size;		  /* bytes, guard page included */
	uint32_t flags;		  /* VMM_VM_* */
	uint32_t nr_pages;	  /* Linux's nr_pages: pages the area owns (0 for plain vmap) */
	uint32_t nr_mapped;	  /* pages mapped from addr on (host copy in pages[]) */
	uint32_t pages_cap;	  /* entries of pages[] (VM_INLINE_PAGES when inline) */
	uint64_t prot;		  /* the PTE bits of every mapped page */
	struct vmm_page **pages;  /* host: the mapped pages */
	vmm_vaddr_t pages_shadow; /* the simulated page array, or 0 */
	bool pages_vmalloced;	  /* ... vmalloc'd ("vpages"), else kmalloc'd */
	bool page_array;	  /* this area is another area's page array */
	vmm_vaddr_t shadow;	  /* the simulated struct vm_struct */
	const char *caller;	  /* what vmallocinfo prints for %pS */
	struct vmm_vmap_area *va;
	struct vmm_page *inline_pages[VM_INLINE_PAGES];
};

/* Counters Linux only shows through tracepoints; vmm_vmalloc_info() reads them. */
struct vmm_vmalloc_stats {
	uint64_t vmalloc_calls;
	uint64_t vmap_calls;
	uint64_t vfree_calls;
	uint64_t vunmap_calls;
	uint64_t failures;
	uint64_t purges;
	uint64_t purged_areas;
	uint64_t purge_retries;
	uint64_t splits;
	uint64_t errors;
};

/*
 * A host-side shortcut to the PTE tables of the vmalloc area: the table of
 * each 2 MiB range looked up last, by the range's number. Kernel page tables
 * are never freed (Linux does not free vmalloc's either), so an entry never
 * goes stale; it is no simulated state (vmm_kernel_pte() charges nothing).
 */
#define PTE_CACHE_SIZE 64u
struct vmalloc_pte_cache {
	uint64_t key;	/* (va >> 21) + 1; 0: empty */
	uint64_t *ptes; /* the table's 512 entries */
};

/* A chunk of host structs for the pools. */
struct vmalloc_chunk {
	struct vmalloc_chunk *next;
	size_t bytes;
};

struct vmm_vmalloc {
	bool ready;		      /* vmap_initialized */
	uint64_t start, end;	      /* [VMALLOC_START, VMALLOC_END + 1) */
	struct vmm_rb_root busy_root; /* vmap_area_root */
	struct vmm_list busy_list;    /* vmap_area_list */
	struct vmm_rb_root free_root; /* free_vmap_area_root */
	struct vmm_list free_list;    /* free_vmap_area_list */
	struct vmm_list lazy_list;    /* purge list */
	struct vmm_list vmlist;	      /* every vm_struct, address order */
	uint64_t nr_busy, nr_free, nr_lazy;
	uint64_t lazy_nr;	       /* vmap_lazy_nr: pages of the lazy areas */
	uint64_t lazy_start, lazy_end; /* the lazy areas' span (start > end when none) */
	uint64_t lazy_max;	       /* lazy_max_pages() */
	uint64_t nr_vmalloc_pages;     /* VmallocUsed */
	uint64_t totalram;	       /* totalram_pages(), fixed after boot */
	struct vmm_kmem_cache *vmap_area_cachep;
	struct vmm_vmap_area *preload[VMM_MAX_CPUS]; /* ne_fit_preload_node */
	struct vmm_list va_pool;		     /* spare host vmap_areas */
	struct vmm_list vm_pool;		     /* spare host vm_structs (through list) */
	struct vmalloc_chunk *chunks;
	struct vmalloc_pte_cache ptc[PTE_CACHE_SIZE];
	struct vmm_vmalloc_stats stats;
};

/* vmalloc_init(): the vmap_area cache and the free space; after the slab allocator. */
int vmm_vmalloc_init(struct vmm_machine *m);
/* Give back the host memory (simulated state goes with the machine). */
void vmm_vmalloc_destroy(struct vmm_machine *m);

/*
 * __vmalloc_node_range(): @size bytes (rounded up to pages), aligned to
 * @align (a power of two, at least a page), within [@start, @end), pages
 * with @gfp from node @nid (or VMM_NUMA_NO_NODE: the NUMA policy), mapped
 * with @prot, the area flagged VMM_VM_ALLOC | @vm_flags (VMM_VM_NO_GUARD
 * drops the guard page). @caller is what vmallocinfo shows. 0 on failure.
 */
vmm_vaddr_t vmm_vmalloc_node_range(struct vmm_machine *m, uint64_t size, uint64_t align,
				   uint64_t start, uint64_t end, vmm_gfp_t gfp, uint64_t prot,
				   uint32_t vm_flags, int nid, const char *caller);

/* The vm_struct of the busy area starting at @addr, or NULL (find_vm_area()). */
struct vmm_vm_struct *vmm_find_vm_area(struct vmm_machine *m, vmm_vaddr_t addr);

/* Purge the lazily freed areas (__purge_vmap_area_lazy); false when there were none. */
bool vmm_purge_vmap_area_lazy(struct vmm_machine *m);

/* The problems vmm_machine_check() finds in the vmalloc area (see vmalloc.c). */
long vmm_vmalloc_check(struct vmm_machine *m, FILE *out);

struct XXH3_state_s;
/* Add the areas, the free space and the counters to a digest. */
void vmm_vmalloc_digest(const struct vmm_machine *m, struct XXH3_state_s *st);

/* /proc/vmallocinfo. */
int vmm_vmalloc_dump_info(struct vmm_machine *m, FILE *out);

#endif /* VMM_MM_VMALLOC_H */
