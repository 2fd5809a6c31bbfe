/* SPDX-License-Identifier: MIT */
/**
 * @file vmalloc.h
 * @brief Virtually contiguous kernel memory: vmalloc, vfree, vmap, vunmap
 * (Linux's mm/vmalloc.c, as 6.x designs it).
 *
 * vmalloc hands out kernel virtual addresses in the vmalloc area
 * (0xffffc90000000000 - 0xffffe90000000000 with 4-level paging,
 * 0xffa0000000000000 - 0xffd2000000000000 with 5), backed page by page by
 * frames from the buddy allocator wherever they are, mapped through
 * init_mm's page tables with PAGE_KERNEL rights (present, writable, global,
 * not executable, accessed and dirty preset). The bytes live in simulated
 * memory: reach them with vmm_kaddr_to_host() (one page at a time) or with
 * vmm_cpu_read()/vmm_cpu_write() at CPL 0, which walk those tables.
 *
 * Each area is followed by one unmapped guard page that is part of the
 * area's reservation (and of its size in vmallocinfo), so the next area
 * starts after it. (Linux's VM_NO_GUARD is for the kernel's own callers of
 * __vmalloc_node_range(); these calls always keep the guard page.)
 * Free address space is found as Linux finds it: the lowest address where
 * the request fits, through a free-space tree whose nodes know the largest
 * free range below them.
 *
 * Freeing is lazy, as in Linux: vmm_vfree() and vmm_vunmap() clear the page
 * table entries and give the pages back at once, but keep the TLB flush and
 * the return of the address range to the free tree until the lazily freed
 * areas add up to more than lazy_max_pages (32 MiB worth of pages times
 * fls(number of CPUs)). Until then a CPU whose TLB still holds a translation
 * of a freed page keeps reaching the old frame, as a real CPU does; the
 * purge then flushes the whole span of the purged areas on every CPU at
 * once. vmm_vm_unmap_aliases() purges on demand. An allocation that finds no
 * room purges and retries once before it fails.
 *
 * The bookkeeping lives in simulated memory as Linux's does: a struct
 * vmap_area for every busy, lazily freed and free range (from the
 * "vmap_area" slab cache), a struct vm_struct per area (kmalloc-64) and the
 * array of page pointers (kmalloc'd, or vmalloc'd itself when larger than a
 * page), so slabinfo, meminfo and vmallocinfo account them.
 *
 * Calls run on the machine's current CPU (vmm_machine_set_current_cpu()):
 * its page lists and slab arrays are used and its clock charged (the
 * bookkeeping in VMM_CYC_OTHER; pages, slab objects, zeroing and the purge's
 * flush and IPIs in their own categories).
 *
 * Misuse is reported through the log hook and counted in
 * vmm_vmalloc_info.errors: bad arguments (size 0, unknown flags, a bad
 * node, a bad page protection or page array) as the caller's fault
 * (VMM_LOG_KIND_CALLER), bad frees (an address that is not the start of a
 * vmalloc or vmap area, a second free, vmm_vunmap() of a vmalloc'd area) as
 * the simulated kernel's (VMM_LOG_KIND_GUEST), as Linux's WARN would; they
 * change nothing. On a machine without slab caches (booted only to the page
 * allocator) every allocation fails.
 *
 * /proc/vmallocinfo is vmm_dump(m, VMM_DUMP_VMALLOCINFO, out); meminfo's
 * VmallocUsed counts the pages vmalloc'd now.
 */
#ifndef VMM_VMALLOC_H
#define VMM_VMALLOC_H

#include <stddef.h>

#include <vmm/common.h>
#include <vmm/cpu.h>
#include <vmm/machine.h>

VMM_BEGIN_DECLS

struct vmm_page;

/** @name Area flags (struct vm_struct's, with Linux's values) */
/** @{ */
#define VMM_VM_ALLOC 0x2u	    /**< vmalloc'd pages (set by the library) */
#define VMM_VM_MAP 0x4u		    /**< vmap()ed pages */
#define VMM_VM_USERMAP 0x8u	    /**< may be mapped into user space (vmalloc_user) */
#define VMM_VM_NO_GUARD 0x40u	    /**< no guard page after the area */
#define VMM_VM_MAP_PUT_PAGES 0x200u /**< vfree() puts the pages and frees the caller's array */
/**
 * Every flag vmm_vmap() takes. VMM_VM_NO_GUARD among them is refused as
 * Linux's vmap() refuses it (reported; the area keeps its guard page).
 */
#define VMM_VMAP_FLAGS (VMM_VM_MAP | VMM_VM_USERMAP | VMM_VM_NO_GUARD | VMM_VM_MAP_PUT_PAGES)
/** @} */

/** @name Page protections for vmm_vmap() (Linux's pgprot values on x86-64) */
/** @{ */
/** PAGE_KERNEL: present, writable, accessed, dirty, global, not executable. */
#define VMM_PAGE_KERNEL                                                                     \
	(VMM_PTE_PRESENT | VMM_PTE_RW | VMM_PTE_ACCESSED | VMM_PTE_DIRTY | VMM_PTE_GLOBAL | \
	 VMM_PTE_NX)
/** PAGE_KERNEL_RO: the same without write access. */
#define VMM_PAGE_KERNEL_RO \
	(VMM_PTE_PRESENT | VMM_PTE_ACCESSED | VMM_PTE_DIRTY | VMM_PTE_GLOBAL | VMM_PTE_NX)
/** PAGE_KERNEL_NOCACHE: PAGE_KERNEL, uncached (PCD, and PWT for UC-). */
#define VMM_PAGE_KERNEL_NOCACHE (VMM_PAGE_KERNEL | VMM_PTE_PCD | VMM_PTE_PWT)
/** The bits a vmm_vmap() protection may have (PRESENT is required). */
#define VMM_VMAP_PROT_BITS                                                             \
	(VMM_PTE_PRESENT | VMM_PTE_RW | VMM_PTE_PWT | VMM_PTE_PCD | VMM_PTE_ACCESSED | \
	 VMM_PTE_DIRTY | VMM_PTE_GLOBAL | VMM_PTE_NX)
/** @} */

/**
 * Allocate @p size bytes of virtually contiguous memory (Linux's vmalloc():
 * GFP_KERNEL | __GFP_HIGHMEM pages under the current NUMA policy, mapped
 * PAGE_KERNEL). The size is rounded up to whole pages; the contents are
 * whatever the frames held.
 *
 * @return the area's kernel virtual address (page aligned), or 0: size 0
 *         (reported), more pages than the machine has, no room left in the
 *         vmalloc area even after a purge, or no memory for pages, tables
 *         or bookkeeping (nothing is kept)
 */
VMM_API vmm_vaddr_t vmm_vmalloc(vmm_machine *m, size_t size);

/** vmm_vmalloc() with zeroed pages (Linux's vzalloc()). */
VMM_API vmm_vaddr_t vmm_vzalloc(vmm_machine *m, size_t size);

/**
 * vmm_vmalloc() with the pages, the page array and the bookkeeping taken
 * from node @p nid (Linux's vmalloc_node(): the node is preferred, other
 * nodes are used when it runs out). VMM_NUMA_NO_NODE (-1) is vmm_vmalloc().
 *
 * @return the address, or 0 (also for a node the machine does not have,
 *         reported)
 */
VMM_API vmm_vaddr_t vmm_vmalloc_node(vmm_machine *m, size_t size, int nid);

/**
 * Zeroed memory that may later be mapped into user space (Linux's
 * vmalloc_user(): VM_USERMAP, aligned to SHMLBA, which is a page on x86).
 */
VMM_API vmm_vaddr_t vmm_vmalloc_user(vmm_machine *m, size_t size);

/**
 * Free an area from vmm_vmalloc() and friends, or from vmm_vmap() (Linux's
 * vfree()): its page table entries are cleared at once and its pages go
 * back to the page allocator (for a vmap area, only with
 * VMM_VM_MAP_PUT_PAGES); the TLB flush and the reuse of the address range
 * wait for the lazy purge. 0 is ignored; any other address that is not the
 * start of a live area is reported and ignored.
 */
VMM_API void vmm_vfree(vmm_machine *m, vmm_vaddr_t addr);

/**
 * Map @p count caller-owned pages contiguously in the vmalloc area (Linux's
 * vmap()). The pages keep their reference counts: the caller keeps them
 * allocated while they are mapped, unless @p flags has
 * VMM_VM_MAP_PUT_PAGES, with which the area takes over one reference of
 * each page and vmm_vfree() puts them (Linux's area also takes the array
 * itself; here @p pages is copied and stays the caller's).
 *
 * @param m      the machine
 * @param pages  @p count allocated pages of this machine (none NULL or free)
 * @param count  1 up to the machine's RAM pages
 * @param flags  VMM_VMAP_FLAGS bits (VMM_VM_MAP is what Linux's callers pass;
 *               VMM_VM_NO_GUARD is reported and dropped, as Linux does)
 * @param prot   PTE bits within VMM_VMAP_PROT_BITS, PRESENT included, e.g.
 *               VMM_PAGE_KERNEL; NX is added (pgprot_nx) as Linux does
 * @return the area's address, or 0 (bad arguments are reported and change
 *         nothing)
 */
VMM_API vmm_vaddr_t vmm_vmap(vmm_machine *m, struct vmm_page *const *pages, unsigned count,
			     unsigned flags, uint64_t prot);

/**
 * Unmap an area from vmm_vmap() (Linux's vunmap()): lazily, as vmm_vfree(),
 * and without touching the pages. 0 is ignored; an address that is not the
 * start of a vmap area, or a vmalloc'd area (whose pages would leak), is
 * reported and ignored.
 */
VMM_API void vmm_vunmap(vmm_machine *m, vmm_vaddr_t addr);

/**
 * The page that init_mm's tables map at vmalloc address @p addr (Linux's
 * vmalloc_to_page()), any offset within the page.
 *
 * @return the page, or NULL when nothing is mapped there (a guard page, a
 *         freed area); an address outside the vmalloc area is reported
 */
VMM_API struct vmm_page *vmm_vmalloc_to_page(vmm_machine *m, vmm_vaddr_t addr);

/** The frame number of vmm_vmalloc_to_page(), or 0 when it would return NULL. */
VMM_API vmm_pfn_t vmm_vmalloc_to_pfn(vmm_machine *m, vmm_vaddr_t addr);

/** @return 1 when @p addr lies in the vmalloc area (Linux's is_vmalloc_addr()), else 0 */
VMM_API int vmm_is_vmalloc_addr(const vmm_machine *m, vmm_vaddr_t addr);

/**
 * Purge every lazily freed area now (Linux's vm_unmap_aliases()): one TLB
 * flush of their whole span on every CPU, then their ranges return to the
 * free-space tree, merged with their free neighbours. Nothing happens when
 * no area waits.
 */
VMM_API void vmm_vm_unmap_aliases(vmm_machine *m);

/** What the vmalloc area holds, and what has happened to it. */
struct vmm_vmalloc_info {
	uint64_t vmalloc_start;	 /**< VMALLOC_START */
	uint64_t vmalloc_end;	 /**< VMALLOC_END + 1: the area is [start, end) */
	uint64_t used_pages;	 /**< pages vmalloc'd now (meminfo VmallocUsed, in pages) */
	uint64_t nr_busy;	 /**< areas in use (vmalloc and vmap), as vmallocinfo lists them */
	uint64_t nr_free;	 /**< free ranges in the free-space tree */
	uint64_t nr_lazy;	 /**< areas freed, waiting for the purge */
	uint64_t lazy_pages;	 /**< their pages, guard pages included (vmap_lazy_nr) */
	uint64_t lazy_max_pages; /**< the purge threshold: lazy_pages above it purges */
	uint64_t largest_free;	 /**< bytes in the largest free range */
	uint64_t vmalloc_calls;	 /**< vmalloc-family calls */
	uint64_t vmap_calls;	 /**< vmm_vmap() calls */
	uint64_t vfree_calls;	 /**< vmm_vfree() calls (0 excluded) */
	uint64_t vunmap_calls;	 /**< vmm_vunmap() calls (0 excluded) */
	uint64_t failures;	 /**< allocations and vmaps that returned 0 */
	uint64_t purges;	 /**< lazy purges, each one TLB flush over their span */
	uint64_t purged_areas;	 /**< areas those purges returned to the free tree */
	uint64_t purge_retries;	 /**< allocations that found no room, purged and retried */
	uint64_t splits;	 /**< allocations from inside a free range (which split in two) */
	uint64_t errors;	 /**< misuse reported (see the file comment) */
	uint64_t reserved[7];
};

/** Fill @p out. @return 0; -VMM_EINVAL for a NULL argument */
VMM_API int vmm_vmalloc_info(const vmm_machine *m, struct vmm_vmalloc_info *out);

VMM_END_DECLS

#endif /* VMM_VMALLOC_H */
