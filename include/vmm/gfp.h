/* SPDX-License-Identifier: MIT */
/**
 * @file gfp.h
 * @brief The zoned buddy page allocator: GFP flags, allocation and freeing
 * of page frames, NUMA placement policy and cpusets.
 *
 * Names follow Linux with a `VMM_` prefix: Linux's composite `GFP_KERNEL`
 * is `VMM_GFP_KERNEL`, and a modifier `__GFP_ZERO` is `VMM_GFP_ZERO` (the
 * leading underscores are dropped, as identifiers with a double underscore
 * are reserved in C++). Bit values are those of Linux 6.10 and later, so
 * masks read the same in both.
 *
 * Kernel-side calls run on the machine's current CPU (see
 * vmm_machine_set_current_cpu()): its per-CPU page lists serve order 0..3 and
 * pageblock-order requests, its node is the local node, and its clock is
 * charged.
 *
 * @code
 * struct vmm_page *pg = vmm_alloc_pages(m, VMM_GFP_KERNEL | VMM_GFP_ZERO, 2);
 * if (pg) {
 *         vmm_vaddr_t va = vmm_page_address(m, pg);   // direct map
 *         memset(vmm_kaddr_to_host(m, va), 0xaa, 4 * VMM_PAGE_SIZE);
 *         vmm_free_pages(m, pg, 2);
 * }
 * @endcode
 */
#ifndef VMM_GFP_H
#define VMM_GFP_H

#include <vmm/common.h>
#include <vmm/machine.h>

VMM_BEGIN_DECLS

struct vmm_page;

/** A set of GFP flags. */
typedef uint32_t vmm_gfp_t;

/** A set of NUMA nodes: bit n is node n. */
typedef uint64_t vmm_nodemask_t;

/** @name Zone modifiers (at most one of DMA, DMA32, HIGHMEM; MOVABLE combines with them) */
/** @{ */
#define VMM_GFP_DMA 0x01u		/**< from ZONE_DMA (below 16 MiB) */
#define VMM_GFP_HIGHMEM 0x02u		/**< may use ZONE_HIGHMEM (ZONE_NORMAL without direct_map_limit) */
#define VMM_GFP_DMA32 0x04u		/**< from ZONE_DMA32 or below (below 4 GiB) */
#define VMM_GFP_MOVABLE 0x08u		/**< movable page; with HIGHMEM, ZONE_MOVABLE is usable */
/** @} */
/** @name Mobility */
/** @{ */
#define VMM_GFP_RECLAIMABLE 0x10u	/**< reclaimable (slab with SLAB_RECLAIM_ACCOUNT) */
/** @} */
/** @name Watermark and reclaim modifiers */
/** @{ */
#define VMM_GFP_HIGH 0x20u		/**< high priority: may dip into the min reserve */
#define VMM_GFP_IO 0x40u		/**< may start physical I/O */
#define VMM_GFP_FS 0x80u		/**< may call into the filesystem */
#define VMM_GFP_ZERO 0x100u		/**< return zeroed pages */
#define VMM_GFP_DIRECT_RECLAIM 0x400u	/**< the caller may enter direct reclaim (may sleep) */
#define VMM_GFP_KSWAPD_RECLAIM 0x800u	/**< wake kswapd at the low watermark */
#define VMM_GFP_WRITE 0x1000u		/**< the page will be dirtied: spread over nodes by dirty limits */
#define VMM_GFP_NOWARN 0x2000u		/**< no failure report */
#define VMM_GFP_RETRY_MAYFAIL 0x4000u	/**< retry hard, but fail rather than invoke the OOM killer */
#define VMM_GFP_NOFAIL 0x8000u		/**< retry forever (bounded in the simulation: see vmm_alloc_pages()) */
#define VMM_GFP_NORETRY 0x10000u	/**< one light attempt at reclaim/compaction, then fail */
#define VMM_GFP_MEMALLOC 0x20000u	/**< may use all reserves (ALLOC_NO_WATERMARKS) */
#define VMM_GFP_COMP 0x40000u		/**< make a compound page of an order > 0 block */
#define VMM_GFP_NOMEMALLOC 0x80000u	/**< never use the emergency reserves */
#define VMM_GFP_HARDWALL 0x100000u	/**< enforce the cpuset's memory placement */
#define VMM_GFP_THISNODE 0x200000u	/**< only the preferred node, no fallback */
#define VMM_GFP_ACCOUNT 0x400000u	/**< charge to the memory cgroup (accepted, no cgroups yet) */
/**
 * Cold page (Linux 2.6's __GFP_COLD). Only valid on a machine configured
 * with VMM_CFG_PCP_HOT_COLD; rejected otherwise, as Linux 6.x has no
 * such flag.
 */
#define VMM_GFP_COLD 0x80000000u
/** @} */

/** Direct and kswapd reclaim (__GFP_RECLAIM). */
#define VMM_GFP_RECLAIM (VMM_GFP_DIRECT_RECLAIM | VMM_GFP_KSWAPD_RECLAIM)

/** @name Composite flags, as Linux defines them */
/** @{ */
#define VMM_GFP_ATOMIC (VMM_GFP_HIGH | VMM_GFP_KSWAPD_RECLAIM)
#define VMM_GFP_KERNEL (VMM_GFP_RECLAIM | VMM_GFP_IO | VMM_GFP_FS)
#define VMM_GFP_KERNEL_ACCOUNT (VMM_GFP_KERNEL | VMM_GFP_ACCOUNT)
#define VMM_GFP_NOWAIT (VMM_GFP_KSWAPD_RECLAIM)
#define VMM_GFP_NOIO (VMM_GFP_RECLAIM)
#define VMM_GFP_NOFS (VMM_GFP_RECLAIM | VMM_GFP_IO)
#define VMM_GFP_USER (VMM_GFP_RECLAIM | VMM_GFP_IO | VMM_GFP_FS | VMM_GFP_HARDWALL)
#define VMM_GFP_HIGHUSER (VMM_GFP_USER | VMM_GFP_HIGHMEM)
#define VMM_GFP_HIGHUSER_MOVABLE (VMM_GFP_HIGHUSER | VMM_GFP_MOVABLE)
#define VMM_GFP_TRANSHUGE_LIGHT                                                          \
	((VMM_GFP_HIGHUSER_MOVABLE | VMM_GFP_COMP | VMM_GFP_NOMEMALLOC | VMM_GFP_NOWARN) & \
	 ~VMM_GFP_RECLAIM)
#define VMM_GFP_TRANSHUGE (VMM_GFP_TRANSHUGE_LIGHT | VMM_GFP_DIRECT_RECLAIM)
/* GFP_DMA and GFP_DMA32 are the zone modifiers themselves, as in Linux. */
/** @} */

/** Every flag the allocator knows; any other bit makes a request invalid. */
#define VMM_GFP_KNOWN_MASK 0x807ffdffu

/** The largest order a request may ask for (Linux's MAX_PAGE_ORDER on x86-64). */
#define VMM_MAX_PAGE_ORDER 10

/** Linux's PAGE_ALLOC_COSTLY_ORDER: above it, the allocator tries less hard. */
#define VMM_PAGE_ALLOC_COSTLY_ORDER 3

/**
 * Allocate 2^@p order contiguous page frames with the current task's NUMA
 * policy (vmm_set_mempolicy()) and cpuset (vmm_set_cpuset()), on the current
 * CPU's node by default (Linux's alloc_pages()).
 *
 * The pages come back with a reference count of 1 on the first page; with
 * VMM_GFP_COMP and @p order > 0 they form a compound page; with VMM_GFP_ZERO
 * their simulated memory is cleared.
 *
 * An allocation that cannot be satisfied goes through Linux's slow path:
 * kswapd is woken, costly orders try direct compaction, then direct
 * reclaim, the retry rules (no-progress loops, __GFP_NORETRY,
 * __GFP_RETRY_MAYFAIL, costly orders) and finally the OOM killer. Until the
 * reclaim, compaction and OOM issues land, those report no progress.
 * __GFP_NOFAIL retries as Linux does; since nothing can free memory in the
 * simulation yet, it gives up (reporting the hang it would be) after
 * 1000 rounds without progress.
 *
 * @return the first page, or NULL when no memory is available, @p gfp has
 *         an unknown bit or an invalid zone combination, or @p order is
 *         above VMM_MAX_PAGE_ORDER (the last two are logged as caller errors)
 */
VMM_API struct vmm_page *vmm_alloc_pages(vmm_machine *m, vmm_gfp_t gfp, unsigned order);

/**
 * Allocate from @p nid's zonelist, ignoring the NUMA policy (Linux's
 * alloc_pages_node()). @p nid may be -1 for the current CPU's node. With
 * VMM_GFP_THISNODE only @p nid's zones are used.
 *
 * @return the first page, or NULL (also for a node that does not exist)
 */
VMM_API struct vmm_page *vmm_alloc_pages_node(vmm_machine *m, int nid, vmm_gfp_t gfp,
					      unsigned order);

/**
 * The allocator's core entry (Linux's __alloc_pages()): @p preferred_nid's
 * zonelist, restricted to @p nodemask when it is not NULL.
 *
 * @return the first page, or NULL
 */
VMM_API struct vmm_page *vmm_alloc_pages_nodemask(vmm_machine *m, vmm_gfp_t gfp, unsigned order,
						  int preferred_nid,
						  const vmm_nodemask_t *nodemask);

/**
 * Allocate up to @p nr_pages order-0 pages into the NULL slots of
 * @p page_array (Linux's alloc_pages_bulk_array()): slots already holding a
 * page are skipped. Pages come from the per-CPU list of the first allowed
 * local zone that stays above its watermark plus @p nr_pages; when there is
 * none (or one page is asked for), a single page comes from
 * vmm_alloc_pages_nodemask(). Like Linux, it may fill fewer slots than asked.
 *
 * @return the number of leading non-NULL slots (at most @p nr_pages)
 */
VMM_API unsigned long vmm_alloc_pages_bulk(vmm_machine *m, vmm_gfp_t gfp, int preferred_nid,
					   const vmm_nodemask_t *nodemask, unsigned long nr_pages,
					   struct vmm_page **page_array);

/**
 * Drop the allocation's reference (Linux's __free_pages()). When it was the
 * last one the 2^@p order pages go back: orders 0..3 and pageblock order to
 * the current CPU's lists, others straight to the buddy lists, merging with
 * their free buddies.
 *
 * Bad frees do no harm: a double free, a free of a compound page's tail, of
 * a page still mapped or still on a list, or with an order other than the
 * allocation's is reported as a "bad page" through the log hook (kind
 * guest), counted in vmm_trouble_counts.bad_pages, and either ignored (a
 * double free, a tail) or the block is quarantined: kept out of the
 * allocator for good, as Linux does with a bad page.
 */
VMM_API void vmm_free_pages(vmm_machine *m, struct vmm_page *page, unsigned order);

/**
 * Free @p nr_pages order-0 pages, the counterpart of vmm_alloc_pages_bulk()
 * (Linux frees such a batch with release_pages(), which takes each per-CPU
 * list's lock once for the batch). The result, counters and cycle charges are those of
 * vmm_free_pages(m, pages[i], 0) for each i in order, bad frees reported the
 * same way; runs of pages bound for the same per-CPU list are added in one step.
 * A NULL @p pages with a nonzero @p nr_pages is reported as a caller error.
 */
VMM_API void vmm_free_pages_bulk(vmm_machine *m, unsigned long nr_pages,
				 struct vmm_page *const *pages);

/**
 * Free an order-0 page as cold (Linux 2.6's free_cold_page()): on a
 * VMM_CFG_PCP_HOT_COLD machine it goes to the cold per-CPU list; on
 * others this is vmm_free_pages(m, page, 0).
 */
VMM_API void vmm_free_cold_page(vmm_machine *m, struct vmm_page *page);

/** Take a reference on an allocated page (Linux's get_page(); a tail's goes to its head). */
VMM_API void vmm_get_page(vmm_machine *m, struct vmm_page *page);

/**
 * Drop a reference (Linux's put_page()); the last one frees the page, the
 * whole compound page for a compound head.
 */
VMM_API void vmm_put_page(vmm_machine *m, struct vmm_page *page);

/**
 * __get_free_pages(): allocate and return the kernel virtual address of the
 * block in the direct map (PAGE_OFFSET + physical address). @p gfp may not
 * ask for VMM_GFP_HIGHMEM.
 *
 * @return the address, or 0 on failure
 */
VMM_API vmm_vaddr_t vmm_get_free_pages(vmm_machine *m, vmm_gfp_t gfp, unsigned order);

/** get_zeroed_page(): one cleared page's direct-map address, or 0. */
VMM_API vmm_vaddr_t vmm_get_zeroed_page(vmm_machine *m, vmm_gfp_t gfp);

/**
 * free_pages(): free a block by its direct-map address. An address that is
 * not page-aligned or not in the direct map is reported as a caller error
 * and ignored; 0 is ignored.
 */
VMM_API void vmm_free_pages_addr(vmm_machine *m, vmm_vaddr_t addr, unsigned order);

/** The base of the direct map (Linux's PAGE_OFFSET for the machine's paging levels). */
VMM_API vmm_vaddr_t vmm_page_offset(const vmm_machine *m);

/**
 * page_address(): @p page's address in the direct map; for a highmem page
 * (see highmem.h) its vmm_kmap() address while it is kmapped (until the
 * slot is reused, as in Linux), else 0.
 */
VMM_API vmm_vaddr_t vmm_page_address(const vmm_machine *m, const struct vmm_page *page);

/**
 * virt_to_page(): the page of a direct-map address, or NULL if it is not one
 * (nor is an address past direct_map_limit).
 */
VMM_API struct vmm_page *vmm_virt_to_page(const vmm_machine *m, vmm_vaddr_t addr);

/**
 * The host address of a kernel address's byte, for reading and writing
 * simulated memory. For a direct-map address the bytes of every frame that
 * follows in the same run of RAM follow in host memory too; for any other
 * kernel address (vmalloc, kmap) the pointer is good to the end of its page
 * only, and only while the kernel tables map it.
 *
 * As vmm_phys_to_host(), the call marks the frame it points into as possibly
 * written (a block of several pages is marked whole when allocated); take a
 * fresh pointer for each use.
 *
 * @return the host pointer, or NULL if @p addr is neither a direct-map
 *	   address of RAM nor mapped by the kernel's page tables
 */
VMM_API void *vmm_kaddr_to_host(vmm_machine *m, vmm_vaddr_t addr);

/**
 * Return every page on every CPU's per-CPU lists to the buddy lists
 * (Linux's drain_all_pages(NULL)). Charges an IPI per other CPU with pages.
 */
VMM_API void vmm_drain_all_pages(vmm_machine *m);

/**
 * Disable or re-enable the per-CPU page lists of every zone (Linux's
 * zone_pcp_disable()/zone_pcp_enable()): while disabled, high is 0 and
 * batch 1, so every free goes straight to the buddy lists.
 */
VMM_API void vmm_zone_pcp_disable(vmm_machine *m);
VMM_API void vmm_zone_pcp_enable(vmm_machine *m);

/** The CPU kernel-side calls run on; set it to run them elsewhere. */
VMM_API unsigned vmm_machine_current_cpu(const vmm_machine *m);

/** @return 0, or -VMM_EINVAL for a CPU the machine does not have */
VMM_API int vmm_machine_set_current_cpu(vmm_machine *m, unsigned cpu);

/** NUMA memory policy modes (set_mempolicy(2)). */
enum vmm_mempolicy_mode {
	VMM_MPOL_DEFAULT = 0,	 /**< the local node, falling back by distance */
	VMM_MPOL_PREFERRED = 1,	 /**< the first node of the mask, then fallback */
	VMM_MPOL_BIND = 2,	 /**< only the nodes of the mask, nearest first */
	VMM_MPOL_INTERLEAVE = 3, /**< round-robin over the mask, page by page */
	VMM_MPOL_LOCAL = 4,	 /**< the local node (like DEFAULT) */
};

/**
 * Set the current task's NUMA policy, used by vmm_alloc_pages() (until
 * tasks exist, one policy per machine).
 *
 * @return 0; -VMM_EINVAL for an unknown mode, an empty mask where the mode
 *         needs one, or a mask naming nodes the machine does not have
 */
VMM_API int vmm_set_mempolicy(vmm_machine *m, enum vmm_mempolicy_mode mode,
			      vmm_nodemask_t nodes);

/** Flags of struct vmm_cpuset. */
#define VMM_CPUSET_MEM_HARDWALL 0x1u	   /**< cpuset.mem_hardwall */
#define VMM_CPUSET_MEM_EXCLUSIVE 0x2u	   /**< cpuset.mem_exclusive (implies hardwall) */
#define VMM_CPUSET_MEMORY_SPREAD_PAGE 0x4u /**< cpuset.memory_spread_page */
#define VMM_CPUSET_MEMORY_SPREAD_SLAB 0x8u /**< cpuset.memory_spread_slab */

/** The current task's cpuset (a child of the root cpuset, which has every node). */
struct vmm_cpuset {
	vmm_nodemask_t mems_allowed; /**< cpuset.mems; 0 means "not in a cpuset" */
	uint32_t flags;		     /**< VMM_CPUSET_* */
	uint32_t reserved0;	     /**< must be 0 */
	uint64_t reserved[6];	     /**< must be 0 */
};

/**
 * Put the current task in a cpuset (NULL or mems_allowed 0: the root, no
 * restriction). Allocations with VMM_GFP_HARDWALL (GFP_USER and the like)
 * stay inside mems_allowed; others may use the nearest hardwall ancestor's
 * nodes, which for a cpuset without HARDWALL/EXCLUSIVE is every node.
 *
 * @return 0; -VMM_EINVAL for unknown flags, nonzero reserved fields, or nodes
 *         the machine does not have
 */
VMM_API int vmm_set_cpuset(vmm_machine *m, const struct vmm_cpuset *cs);

/**
 * Read or write a vm sysctl by its /proc/sys name: "vm.min_free_kbytes",
 * "vm.watermark_scale_factor", "vm.watermark_boost_factor",
 * "vm.percpu_pagelist_high_fraction", "vm.node_reclaim_mode",
 * "vm.lowmem_reserve_ratio.<zone>" (DMA, DMA32, Normal, Movable, and HighMem
 * on a machine with a direct_map_limit); the writeback ones
 * "vm.dirty_ratio", "vm.dirty_background_ratio", "vm.dirty_bytes",
 * "vm.dirty_background_bytes", "vm.dirty_expire_centisecs",
 * "vm.dirty_writeback_centisecs", "vm.highmem_is_dirtyable"; the address-
 * space ones of mm.h's layer ("vm.max_map_count", ...); and
 * "debug.fault_around_bytes" (Linux's debugfs fault_around_bytes: default
 * 65536, at most 2097152, rounded down to a power of two of pages). Writing
 * recomputes what Linux recomputes (watermarks, reserves, pcp sizes).
 *
 * @return 0; -VMM_ENOENT for an unknown name; -VMM_EINVAL for a value Linux
 *         rejects
 */
VMM_API int vmm_sysctl_set(vmm_machine *m, const char *name, int64_t value);
VMM_API int vmm_sysctl_get(const vmm_machine *m, const char *name, int64_t *value);

VMM_END_DECLS

#endif /* VMM_GFP_H */
