/* SPDX-License-Identifier: MIT */
/*
 * The slab allocator's internals (seed 001 section 2.6: Linux 2.6.34's
 * mm/slab.c, with the kmalloc caches of later kernels).
 *
 * Where things live:
 * - objects, and each slab's management area (struct slab, 48 bytes, then
 *   one 4-byte kmem_bufctl_t per object: the free list as a chain of object
 *   indices), are in simulated memory; the management area sits at the
 *   slab's start after the colour offset (on-slab) or in an object of a
 *   kmalloc cache (off-slab);
 * - the descriptors the code works on (struct vmm_kmem_cache, array caches,
 *   the per-node lists) are host structures, each shadowed by a simulated
 *   object of the size Linux's structure has (from "kmem_cache" and the
 *   kmalloc caches), so the simulated memory they take is accounted as
 *   Linux accounts it;
 * - a slab's head page descriptor records the cache (mapping: the
 *   simulated address of the cache's descriptor; private: cache id << 32 |
 *   colour offset in bytes) and the management area's address (index), and
 *   links the slab into its node's lists through page->lru.
 */
#ifndef VMM_MM_SLAB_H
#define VMM_MM_SLAB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <vmm/slab.h>

#include "lib/list.h"
#include "sim/clock.h"
#include "sim/timer.h"

struct vmm_machine;
struct vmm_page;

#define SLAB_WORD 8u			/* BYTES_PER_WORD */
#define SLAB_CACHE_LINE 64u		/* cache_line_size() */
#define SLAB_REDZONE_ALIGN 8u		/* REDZONE_ALIGN */
#define SLAB_STRUCT_SLAB 48u		/* sizeof(struct slab) on x86-64 */
#define SLAB_BUFCTL 4u			/* sizeof(kmem_bufctl_t) */
#define SLAB_BUFCTL_END 0xffffffffu	/* end of a slab's free chain */
#define SLAB_BUFCTL_FREE 0xfffffffeu	/* debug: the object is allocated */
#define SLAB_LIMIT 0xfffffffcu		/* most objects per slab */
#define SLAB_MAX_ORDER 10u		/* KMALLOC_MAX_ORDER */
#define SLAB_BOOT_CPUCACHE_ENTRIES 1u
#define SLAB_BATCHREFILL_LIMIT 16u
/* Sizes of Linux's structures that the shadows stand for (x86-64, no lockdep). */
#define SLAB_ARRAY_CACHE_HDR 24u	/* struct array_cache before entry[] */
#define SLAB_KMEM_LIST3 104u		/* struct kmem_list3 */
#define SLAB_KMEM_CACHE_HDR 96u		/* struct kmem_cache before array[] and nodelists[] */
/* Where the static cache_cache would sit in the kernel image's data. */
#define SLAB_CACHE_CACHE_ADDR 0xffffffff82a00000ull

/* Debug words: Linux's values. */
#define SLAB_RED_INACTIVE 0x09F911029D74E35BULL
#define SLAB_RED_ACTIVE 0xD84156C5635688C0ULL
#define SLAB_POISON_INUSE 0x5a
#define SLAB_POISON_FREE 0x6b
#define SLAB_POISON_END 0xa5

#define SLAB_NR_KMALLOC 13		/* 8 16 32 64 96 128 192 256 512 1k 2k 4k 8k */

/* g_cpucache_up: how far bootstrap has come. */
enum slab_up { SLAB_NONE, SLAB_PARTIAL, SLAB_EARLY, SLAB_FULL };

struct vmm_array_cache {
	uint32_t avail;
	uint32_t limit;
	uint32_t batchcount;
	uint32_t touched;
	uint32_t capacity;		/* entries allocated */
	uint32_t pad;
	vmm_vaddr_t shadow;		/* the simulated struct array_cache, or 0 */
	vmm_vaddr_t entry[];		/* LIFO: entry[avail - 1] goes first */
};

struct vmm_kmem_list3 {
	struct vmm_list slabs_partial;	/* head pages' lru */
	struct vmm_list slabs_full;
	struct vmm_list slabs_free;
	uint64_t free_objects;
	uint64_t nr_slabs;
	uint32_t free_limit;
	uint32_t colour_next;
	struct vmm_array_cache *shared;
	uint64_t next_reap;		/* jiffies */
	int free_touched;
	vmm_vaddr_t shadow;
};

struct vmm_kmem_cache {
	/* touched by every allocation and free */
	struct vmm_machine *m;
	uint32_t buffer_size;		/* bytes per object in the slab */
	uint32_t num;			/* objects per slab */
	uint32_t onslab_mgmt;		/* slab_size when the management is on-slab, else 0 */
	bool slow;			/* debug checks: every call takes the careful path */
	uint8_t div_shift;		/* buffer_size = odd * 2^div_shift */
	uint64_t div_inv;		/* the inverse of buffer_size's odd factor mod 2^64 */
	uint64_t num_objs;		/* num, as the fast path's compare wants it */
	uint64_t span;			/* num * buffer_size: the objects' bytes in a slab */
	vmm_vaddr_t self;		/* simulated address of the descriptor (page->mapping) */
	vmm_vaddr_t self_fast;		/* self, or 1 for debug caches: what the fast paths match */

	/* tunables */
	uint32_t batchcount;
	uint32_t limit;
	uint32_t shared;
	/* layout */
	uint32_t flags;			/* VMM_SLAB_* in force */
	bool off_slab;
	bool kmalloc;			/* one of the kmalloc caches */
	uint32_t gfporder;
	vmm_gfp_t gfpflags;		/* GFP_DMA / GFP_DMA32 / __GFP_RECLAIMABLE */
	uint32_t colour;
	uint32_t colour_off;
	uint32_t slab_size;
	uint32_t left_over;
	uint32_t align;
	uint32_t obj_offset;		/* debug: the object's offset in its buffer */
	uint32_t obj_size;		/* the size asked for, rounded to a word */
	uint32_t object_size;		/* the size asked for */
	struct vmm_kmem_cache *slabp_cache; /* off-slab management comes from here */
	vmm_kmem_ctor_fn ctor;
	void *private;
	uint32_t id;			/* index in vmm_slab.by_id */
	char name[32];
	struct vmm_list next;		/* cache_chain */
	struct vmm_kmem_list3 **nodelists;

	/* statistics */
	uint64_t grown, reaped, errors, node_allocs, node_frees;

	/* per CPU (nr_cpus entries): the arrays, as everything but the fast paths sees them */
	struct vmm_array_cache **array;
	/*
	 * per CPU, in the same allocation (one load from the cache): the arrays the fast
	 * paths use. For a cache without debug checks this is array[] itself; a debug cache
	 * has slab_no_array here, empty and full, so that its every allocation and free
	 * goes the careful way without a test of its own, and its array[] after these.
	 */
	struct vmm_array_cache *fast[];
};

struct vmm_slab {
	struct vmm_list cache_chain;
	struct vmm_kmem_cache *cache_cache;
	struct vmm_kmem_cache *kmalloc[2][SLAB_NR_KMALLOC]; /* [1]: the DMA twins */
	struct vmm_kmem_cache *kmalloc_small[2][24];	/* by (size - 1) / 8 up to 192 bytes */
	struct vmm_kmem_cache **by_id;
	uint32_t nr_ids;
	enum slab_up up;
	uint32_t break_gfp_order;	/* slab_break_gfp_order */
	bool early;			/* slab_early_init: no off-slab caches yet */
	vmm_vaddr_t page_offset;	/* PAGE_OFFSET, kept at hand */
	uint64_t max_pfn;
	vmm_gfp_t bad_gfp;		/* GFP bits a slab allocation must not carry */
	vmm_gfp_t kmalloc_slow_gfp;	/* ... and the ones kmalloc's fast path leaves to the slow one */
	/*
	 * The cache kmalloc or kfree used last (a guess; never NULL once slab is up). It sits
	 * beside kmalloc_fast_sizes, so that kmalloc's store to it and kfree's load touch the
	 * line kmalloc reads anyway; and 16 bytes before kmalloc_by_8[], so that the entries
	 * its address matches in the low 12 bits (a store there makes a later load at such
	 * an entry wait: 4K aliasing) are 510 and 1022, sizes 4081..4088 and 8177..8184,
	 * rather than entry 0, sizes 1..8, which it matched after the table.
	 */
	const struct vmm_kmem_cache *kfree_hint;
	/* kmalloc's fast path serves size - 1 below this: 0 until every kmalloc cache exists */
	uint64_t kmalloc_fast_sizes;
	/* ... from the cache for its size: by (size - 1) / 8, one load without a branch */
	struct vmm_kmem_cache *kmalloc_by_8[VMM_KMALLOC_MAX_CACHE_SIZE / 8];
	struct vmm_timer *reap;		/* per CPU: cache_reap */
	struct vmm_list rcu_pending;	/* TYPESAFE_BY_RCU slabs awaiting a grace period */
	/* the checker's and leak reporter's scratch, sized as caches are made */
	vmm_vaddr_t *scratch;		/* every array entry of one cache */
	size_t scratch_cap;
	uint8_t *seen;			/* one byte per object of one slab */
	size_t seen_cap;
	uint64_t serial;		/* allocations and frees recorded by STORE_USER */
	uint64_t errors;		/* every report */
	uint64_t large_pages_node[VMM_MAX_NUMNODES]; /* pages of large kmalloc blocks */
	/* pages of slabs set aside as corrupt, by node and by reclaimable (still accounted) */
	uint64_t set_aside_pages[2 * VMM_MAX_NUMNODES];
	/* per CPU: the local node's frames, for the fast paths */
	uint64_t cpu_pfn_lo[VMM_MAX_CPUS];
	uint64_t cpu_pfn_span[VMM_MAX_CPUS];
	vmm_vaddr_t cpu_kaddr_lo[VMM_MAX_CPUS];		/* the direct map of cpu_pfn_lo */
	struct vmm_page *cpu_memmap[VMM_MAX_CPUS];	/* the descriptor of cpu_pfn_lo */
};

/* Boot: the cache of caches, then the kmalloc caches; teardown frees everything. */
int vmm_slab_init(struct vmm_machine *m);
void vmm_slab_destroy(struct vmm_machine *m);

/* The problems vmm_machine_check() finds in the caches. */
long vmm_slab_check(struct vmm_machine *m, FILE *out);

struct XXH3_state_s;
/* Add every cache's arrays and counters to a digest. */
void vmm_slab_digest(const struct vmm_machine *m, struct XXH3_state_s *st);

/* /proc/slabinfo. */
int vmm_slab_dump_slabinfo(struct vmm_machine *m, FILE *out);

/* What calculate_slab_order() and cache_estimate() decide, for tests. */
void vmm_slab_estimate(unsigned gfporder, size_t buffer_size, size_t align, bool off_slab,
		       size_t *left_over, unsigned *num);

/* Internal allocations from a cache for the library's own objects. */
vmm_vaddr_t vmm_slab_alloc_node(struct vmm_kmem_cache *c, vmm_gfp_t gfp, int nid);

/* kmalloc_slab(): the kmalloc cache for @size bytes (1..8192), NULL above or before it exists. */
static inline struct vmm_kmem_cache *vmm_kmalloc_cache(const struct vmm_slab *s, size_t size,
						      vmm_gfp_t gfp)
{
	int dma = (gfp & VMM_GFP_DMA) != 0;

	if (size - 1 < 192)
		return s->kmalloc_small[dma][(size - 1) >> 3];
	if (size <= VMM_KMALLOC_MAX_CACHE_SIZE)
		return s->kmalloc[dma][63u - (unsigned)__builtin_clzll(size - 1)]; /* 256: 7 ... */
	return NULL;
}
extern const uint32_t vmm_kmalloc_sizes[SLAB_NR_KMALLOC];

/* kmalloc.c: what the kmalloc and kfree fast paths in slab.c hand over. */
vmm_vaddr_t vmm_kmalloc_slow(struct vmm_machine *m, size_t size, vmm_gfp_t gfp);
void vmm_kfree_slow(struct vmm_machine *m, vmm_vaddr_t p);
/* Free a slab object of whatever cache owns it (kfree); bad addresses are reported. */
void vmm_slab_free_any(struct vmm_machine *m, vmm_vaddr_t obj, const char *fn);
/* The cache owning the slab object at @addr, or NULL when it is none (no report). */
struct vmm_kmem_cache *vmm_slab_cache_of(struct vmm_machine *m, vmm_vaddr_t addr);

/* Report against @c (may be NULL): log as the guest's fault and count. */
void vmm_slab_error(struct vmm_machine *m, struct vmm_kmem_cache *c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* VMM_MM_SLAB_H */
