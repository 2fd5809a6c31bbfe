/* SPDX-License-Identifier: MIT */
/**
 * @file slab.h
 * @brief The slab allocator and kmalloc (Linux's SLAB, as 2.6.34 built it).
 *
 * A cache hands out objects of one size. Objects live in simulated memory:
 * each is a kernel virtual address in the direct map, whose bytes the
 * embedder reaches with vmm_kaddr_to_host(). Slabs are blocks of pages from
 * the page allocator; per-CPU arrays, a shared array per node and per-node
 * lists of full, partial and free slabs sit in front of them, and the
 * allocator's own descriptors (struct kmem_cache, array caches, the per-node
 * lists, off-slab management) are themselves objects of the "kmem_cache"
 * and kmalloc caches, so slabinfo and meminfo account them as Linux does.
 *
 * Calls run on the machine's current CPU (vmm_machine_set_current_cpu()):
 * its array cache is used and its cycle clock charged (VMM_CYC_SLAB).
 *
 * Debugging (red zones, poisoning, last-owner words) is on for a cache that
 * asks for it with the VMM_SLAB_* flags, and for every cache (as a kernel
 * built with CONFIG_DEBUG_SLAB and FORCED_DEBUG) when the machine's config
 * has VMM_CFG_DEBUG_VM. Whatever a check finds is reported through the log
 * hook as the simulated kernel's fault (VMM_LOG_KIND_GUEST), counted in the
 * cache's errors and in vmm_trouble_counts.slab_errors, and leaves the
 * cache usable.
 */
#ifndef VMM_SLAB_H
#define VMM_SLAB_H

#include <stddef.h>

#include <vmm/common.h>
#include <vmm/gfp.h>
#include <vmm/machine.h>

VMM_BEGIN_DECLS

/** A slab cache. */
typedef struct vmm_kmem_cache vmm_kmem_cache;

/* Cache flags, with Linux's values. */
#define VMM_SLAB_RED_ZONE 0x400u	  /**< guard words before and after each object */
#define VMM_SLAB_POISON 0x800u		  /**< fill free and new objects with 0x6b / 0x5a */
#define VMM_SLAB_HWCACHE_ALIGN 0x2000u	  /**< align objects to the 64-byte cache line */
#define VMM_SLAB_CACHE_DMA 0x4000u	  /**< slabs from ZONE_DMA */
#define VMM_SLAB_CACHE_DMA32 0x8000u	  /**< slabs from ZONE_DMA32 */
#define VMM_SLAB_STORE_USER 0x10000u	  /**< keep the last owner of each object */
#define VMM_SLAB_RECLAIM_ACCOUNT 0x20000u /**< reclaimable: SReclaimable, one-page slabs */
#define VMM_SLAB_PANIC 0x40000u		  /**< a failed create is a kernel panic */
#define VMM_SLAB_TYPESAFE_BY_RCU 0x80000u /**< slab pages freed only after a grace period */
/** Every flag vmm_kmem_cache_create() accepts. */
#define VMM_SLAB_ALL_FLAGS                                                              \
	(VMM_SLAB_RED_ZONE | VMM_SLAB_POISON | VMM_SLAB_HWCACHE_ALIGN | VMM_SLAB_CACHE_DMA | \
	 VMM_SLAB_CACHE_DMA32 | VMM_SLAB_STORE_USER | VMM_SLAB_RECLAIM_ACCOUNT |              \
	 VMM_SLAB_PANIC | VMM_SLAB_TYPESAFE_BY_RCU)

/** "Any node" for the _node calls (Linux's NUMA_NO_NODE). */
#define VMM_NUMA_NO_NODE (-1)

/** What vmm_kmalloc(m, 0, ...) returns, as Linux's ZERO_SIZE_PTR; vmm_kfree() ignores it. */
#define VMM_ZERO_SIZE_PTR ((vmm_vaddr_t)16)

/** Largest cache object and largest vmm_kmalloc() size served by the kmalloc caches. */
#define VMM_KMALLOC_MAX_CACHE_SIZE 8192u
/** Largest vmm_kmalloc(): an order-10 block of pages. */
#define VMM_KMALLOC_MAX_SIZE (4096u << 10)

/**
 * A constructor: called on each object when its slab is created (with
 * VMM_SLAB_POISON, again on each allocation, as Linux's debug build does).
 * @p host is the object's bytes.
 */
typedef void (*vmm_kmem_ctor_fn)(vmm_kmem_cache *c, vmm_vaddr_t obj, void *host);

/**
 * Create a cache (Linux's kmem_cache_create()).
 *
 * @param m     the machine
 * @param name  1..31 printable characters without spaces, unique in the machine
 * @param size  object size in bytes, 1..VMM_KMALLOC_MAX_SIZE
 * @param align 0 or a power of two up to 4096: the objects' minimum alignment
 * @param flags VMM_SLAB_* bits
 * @param ctor  constructor or NULL
 * @param out   the cache
 * @return 0; -VMM_EINVAL for a bad argument (unknown flags,
 *         POISON with TYPESAFE_BY_RCU, DMA with DMA32, an object too large
 *         for a slab once debug words are added); -VMM_EEXIST for a name in
 *         use; -VMM_ENOMEM when simulated or host memory ran out (with
 *         VMM_SLAB_PANIC any failure is also reported as a kernel panic)
 */
VMM_API int vmm_kmem_cache_create(vmm_machine *m, const char *name, size_t size, size_t align,
				  uint32_t flags, vmm_kmem_ctor_fn ctor, vmm_kmem_cache **out);

/**
 * Destroy a cache (Linux's kmem_cache_destroy()): drain its arrays, free its
 * slabs, give its pages back.
 *
 * @return 0 (also for NULL); -VMM_EBUSY when objects are still allocated: the
 *         leak is reported with the objects' addresses and the cache stays, as
 *         Linux keeps it; -VMM_EPERM for the kmalloc caches and "kmem_cache"
 */
VMM_API int vmm_kmem_cache_destroy(vmm_kmem_cache *c);

/**
 * Allocate an object (Linux's kmem_cache_alloc()): from the current CPU's
 * array, else refilled from the node's shared array and slabs, else from a
 * new slab. VMM_GFP_ZERO clears it.
 *
 * @return the object's kernel virtual address, or 0 (out of memory, bad flags)
 */
VMM_API vmm_vaddr_t vmm_kmem_cache_alloc(vmm_kmem_cache *c, vmm_gfp_t gfp);

/**
 * Allocate an object from node @p nid's slabs (Linux's kmem_cache_alloc_node()).
 * VMM_NUMA_NO_NODE or the current node behave as vmm_kmem_cache_alloc(); with
 * VMM_GFP_THISNODE no other node is tried.
 */
VMM_API vmm_vaddr_t vmm_kmem_cache_alloc_node(vmm_kmem_cache *c, vmm_gfp_t gfp, int nid);

/**
 * Free an object of @p c. An address that is not the start of an allocated
 * object of @p c is reported and ignored.
 */
VMM_API void vmm_kmem_cache_free(vmm_kmem_cache *c, vmm_vaddr_t obj);

/**
 * Allocate @p n objects (Linux's kmem_cache_alloc_bulk()): all or none.
 *
 * @return @p n, or 0 when they could not all be allocated (nothing is kept)
 */
VMM_API size_t vmm_kmem_cache_alloc_bulk(vmm_kmem_cache *c, vmm_gfp_t gfp, size_t n,
					 vmm_vaddr_t *objs);

/** Free @p n objects of @p c (Linux's kmem_cache_free_bulk()). */
VMM_API void vmm_kmem_cache_free_bulk(vmm_kmem_cache *c, size_t n, const vmm_vaddr_t *objs);

/**
 * Drain every array of @p c and free its free slabs (Linux's
 * kmem_cache_shrink()).
 *
 * @return 0 when no slab remains, 1 when slabs with objects remain; -VMM_EINVAL for NULL
 */
VMM_API int vmm_kmem_cache_shrink(vmm_kmem_cache *c);

/** @return the cache named @p name (including "kmem_cache" and "kmalloc-64"), or NULL */
VMM_API vmm_kmem_cache *vmm_kmem_cache_find(vmm_machine *m, const char *name);

/** A cache's layout, tunables and counts, as slabinfo shows them and more. */
struct vmm_kmem_cache_info {
	char name[32];
	uint32_t flags;		/**< VMM_SLAB_* in force (debug flags added by VMM_CFG_DEBUG_VM) */
	uint32_t object_size;	/**< the size asked for */
	uint32_t size;		/**< bytes per object in the slab: buffer_size, with debug words */
	uint32_t align;		/**< alignment used */
	uint32_t obj_offset;	/**< offset of the object in its buffer (8 with red zones) */
	uint32_t num;		/**< objects per slab */
	uint32_t gfporder;	/**< pages per slab = 1 << gfporder */
	uint32_t left_over;	/**< bytes of a slab left after management and objects */
	uint32_t colour;	/**< number of colours (left_over / colour_off) */
	uint32_t colour_off;	/**< bytes per colour step */
	uint32_t slab_size;	/**< management bytes: struct slab + one kmem_bufctl_t per object */
	uint32_t off_slab;	/**< 1 when the management lives in another cache */
	uint32_t limit;		/**< per-CPU array capacity */
	uint32_t batchcount;	/**< objects moved per refill or flush */
	uint32_t shared;	/**< shared array factor (entries = shared * batchcount) */
	uint32_t pad0;
	uint64_t active_objs;	/**< objects in use as slabinfo counts them: allocated, or waiting in an array */
	uint64_t num_objs;	/**< objects in all slabs */
	uint64_t active_slabs;	/**< slabs with at least one object in use */
	uint64_t num_slabs;	/**< all slabs */
	uint64_t shared_avail;	/**< objects in the shared arrays */
	uint64_t free_objects;	/**< objects on the slab lists (free_objects summed over nodes) */
	uint64_t grown;		/**< slabs created */
	uint64_t reaped;	/**< slabs freed */
	uint64_t errors;	/**< problems reported against this cache */
	uint64_t reserved[8];
};

/** Fill @p out. @return 0; -VMM_EINVAL for a NULL argument */
VMM_API int vmm_kmem_cache_info(const vmm_kmem_cache *c, struct vmm_kmem_cache_info *out);

/** @return the machine @p c belongs to (NULL for NULL) */
VMM_API vmm_machine *vmm_kmem_cache_machine(const vmm_kmem_cache *c);

/** Attach embedder data to a cache (for constructors); vmm_kmem_cache_private() reads it. */
VMM_API void vmm_kmem_cache_set_private(vmm_kmem_cache *c, void *data);
/** @return the data set by vmm_kmem_cache_set_private(), or NULL */
VMM_API void *vmm_kmem_cache_private(const vmm_kmem_cache *c);

/**
 * Allocate @p size bytes (Linux's kmalloc()): from the smallest of the
 * kmalloc caches 8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096 and
 * 8192 that fits (their dma-kmalloc twins for VMM_GFP_DMA), or, above
 * VMM_KMALLOC_MAX_CACHE_SIZE, a compound block of pages.
 *
 * @return the address, VMM_ZERO_SIZE_PTR for size 0, or 0
 */
VMM_API vmm_vaddr_t vmm_kmalloc(vmm_machine *m, size_t size, vmm_gfp_t gfp);
/** vmm_kmalloc() from node @p nid (or VMM_NUMA_NO_NODE). */
VMM_API vmm_vaddr_t vmm_kmalloc_node(vmm_machine *m, size_t size, vmm_gfp_t gfp, int nid);
/** vmm_kmalloc() with VMM_GFP_ZERO. */
VMM_API vmm_vaddr_t vmm_kzalloc(vmm_machine *m, size_t size, vmm_gfp_t gfp);
/** Zeroed @p n * @p size bytes; 0 when the product overflows. */
VMM_API vmm_vaddr_t vmm_kcalloc(vmm_machine *m, size_t n, size_t size, vmm_gfp_t gfp);
/**
 * Resize (Linux's krealloc()): @p p itself when ksize(p) already holds
 * @p new_size, else a new block with the old contents; @p p is freed only
 * on success. new_size 0 frees @p p and returns VMM_ZERO_SIZE_PTR.
 */
VMM_API vmm_vaddr_t vmm_krealloc(vmm_machine *m, vmm_vaddr_t p, size_t new_size, vmm_gfp_t gfp);
/** Free what vmm_kmalloc() returned; 0 and VMM_ZERO_SIZE_PTR are ignored, bad addresses reported. */
VMM_API void vmm_kfree(vmm_machine *m, vmm_vaddr_t p);
/** @return the usable size of a kmalloc'ed block (its cache's object size), 0 for a bad address */
VMM_API size_t vmm_ksize(vmm_machine *m, vmm_vaddr_t p);

VMM_END_DECLS

#endif /* VMM_SLAB_H */
