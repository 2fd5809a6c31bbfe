/* SPDX-License-Identifier: MIT */
/*
 * vmalloc, vfree, vmap, vunmap (seed 001 section 2.4.1; the design of Linux
 * 6.x's mm/vmalloc.c, see vmalloc.h for where everything lives).
 *
 * Allocation (__vmalloc_node_range): a kzalloc'd vm_struct; a vmap_area
 * from the "vmap_area" cache; the lowest free range where the size (guard
 * page included) fits at the alignment, found in the free-space tree by
 * find_vmap_lowest_match() and cut out of it by va_clip() (whole, from its
 * left or right edge, or from its middle, which splits it in two with the
 * CPU's preloaded vmap_area); the area into the busy tree; the page array
 * (kmalloc'd up to a page, vmalloc'd beyond); the pages in bulk, 100 at a
 * time, then one by one; their PTEs through init_mm's tables
 * (vmm_kernel_pte(), which makes missing tables from the buddy allocator).
 * No room, even after purging the lazily freed areas once, fails.
 *
 * Freeing (vfree, vunmap): the area leaves the busy tree, its PTEs are
 * cleared, and its vmap_area joins the lazy list; pages, arrays and the
 * vm_struct are freed at once. When the lazy areas add up to more than
 * lazy_max_pages() pages, the purge flushes the TLBs once over their span
 * (vmm_flush_tlb_kernel_range(): every CPU, one IPI each) and merges each
 * area back into the free tree. Linux runs that purge from a work item
 * soon after the free that crossed the threshold; here it runs at the end
 * of that free, charged to its CPU.
 *
 * Cycles: the bookkeeping is charged to VMM_CYC_OTHER from the cost table
 * (vmalloc_*); page allocation, zeroing, slab objects, page-table frames and
 * the purge's flush and IPIs are charged by those layers.
 */
#include "mm/vmalloc.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <vmm/errors.h>
#include <vmm/page.h>
#include <vmm/slab.h>

#include "lib/compiler.h"
#include "machine.h"
#include "mm/buddy.h"
#include "mm/debug.h"
#include "mm/init_mm.h"
#include "mm/slab.h"
#include "mm/sparse.h"
#include "mm/vmstat.h"
#include "sim/tlb.h"

#define PAGE_SIZE VMM_PAGE_SIZE
#define PAGE_SHIFT VMM_PAGE_SHIFT
#define PTRS_PER_PTE 512u
#define PMD_SIZE (1ull << 21)

/* GFP_RECLAIM_MASK: the bits a nested allocation for the same request keeps. */
#define GFP_RECLAIM_MASK                                                               \
	(VMM_GFP_RECLAIM | VMM_GFP_HIGH | VMM_GFP_IO | VMM_GFP_FS | VMM_GFP_NOWARN |   \
	 VMM_GFP_RETRY_MAYFAIL | VMM_GFP_NOFAIL | VMM_GFP_NORETRY | VMM_GFP_MEMALLOC | \
	 VMM_GFP_NOMEMALLOC)

/* vm_area_alloc_pages(): most pages one bulk call takes. */
#define BULK_MAX 100u
/* Host structs per pool chunk. */
#define POOL_CHUNK 64u

static inline uint64_t va_size(const struct vmm_vmap_area *va)
{
	return va->va_end - va->va_start;
}

VMM_RB_DECLARE_CALLBACKS_MAX(static, free_va_augment, struct vmm_vmap_area, rb_node, uint64_t,
			     subtree_max_size, va_size);

static inline struct vmm_vmap_area *va_of(struct vmm_rb_node *n)
{
	return vmm_rb_entry(n, struct vmm_vmap_area, rb_node);
}

static inline struct vmm_vmap_area *va_of_list(struct vmm_list *l)
{
	return vmm_list_entry(l, struct vmm_vmap_area, list);
}

static inline uint64_t get_subtree_max_size(const struct vmm_rb_node *n)
{
	return n ? vmm_rb_entry(n, struct vmm_vmap_area, rb_node)->subtree_max_size : 0;
}

static inline void charge(struct vmm_machine *m, uint64_t cycles)
{
	vmm_charge(m, VMM_CYC_OTHER, cycles);
}

/* Report misuse: counted in the vmalloc errors, logged as @kind's fault. */
#define vm_report(m, kind, ...)                                         \
	do {                                                            \
		(m)->vmalloc.stats.errors++;                            \
		vmm_log(&(m)->log, VMM_LOG_ERROR, (kind), __VA_ARGS__); \
	} while (0)

/* An allocation failure Linux prints with warn_alloc(): not misuse. */
#define vm_warn(m, gfp, ...)                                                              \
	do {                                                                              \
		if (!((gfp)&VMM_GFP_NOWARN))                                              \
			vmm_log(&(m)->log, VMM_LOG_WARN, VMM_LOG_KIND_NOTE, __VA_ARGS__); \
	} while (0)

/*
 * kzalloc_node(): with no node, vmm_kmalloc()'s fast path and the clearing
 * __GFP_ZERO would do (the whole object, as slab_alloc() clears it); the
 * same object, bytes and cycles as vmm_kmalloc_node(..., gfp | ZERO, nid).
 */
static vmm_vaddr_t kzalloc_node(struct vmm_machine *m, size_t size, vmm_gfp_t gfp, int nid)
{
	const struct vmm_kmem_cache *c;
	vmm_vaddr_t obj;

	gfp |= VMM_GFP_ZERO;
	if (nid != VMM_NUMA_NO_NODE || size > VMM_KMALLOC_MAX_CACHE_SIZE ||
	    (gfp & m->slab.kmalloc_slow_gfp & ~VMM_GFP_ZERO) ||
	    !(c = vmm_kmalloc_cache(&m->slab, size, gfp)))
		return vmm_kmalloc_node(m, size, gfp, nid);
	obj = vmm_kmalloc(m, size, gfp & ~VMM_GFP_ZERO);
	if (obj)
		memset(vmm_physmem_host(&m->phys, obj - m->init_mm.layout.page_offset), 0,
		       c->object_size);
	return obj;
}

/* ---- host structs: pools of vmap_areas and vm_structs ---- */

static struct vmm_list *pool_take(struct vmm_machine *m, struct vmm_list *pool, size_t size,
				  size_t list_off)
{
	struct vmm_vmalloc *v = &m->vmalloc;
	struct vmm_list *n;

	if (vmm_list_empty(pool)) {
		size_t bytes = sizeof(struct vmalloc_chunk) + POOL_CHUNK * size;
		struct vmalloc_chunk *c = vmm_hzalloc(&m->hm, bytes);
		char *base;

		if (!c)
			return NULL;
		c->next = v->chunks;
		c->bytes = bytes;
		v->chunks = c;
		base = (char *)(c + 1);
		for (unsigned i = 0; i < POOL_CHUNK; i++)
			vmm_list_add_tail((struct vmm_list *)(base + i * size + list_off), pool);
	}
	n = pool->next;
	vmm_list_del(n);
	return n;
}

/*
 * A vmap_area: a host struct and its simulated object from vmap_area_cachep
 * (kmem_cache_alloc_node). NULL when either ran out.
 */
static struct vmm_vmap_area *va_alloc(struct vmm_machine *m, vmm_gfp_t gfp, int nid)
{
	struct vmm_vmalloc *v = &m->vmalloc;
	struct vmm_list *l = pool_take(m, &v->va_pool, sizeof(struct vmm_vmap_area),
				       offsetof(struct vmm_vmap_area, list));
	struct vmm_vmap_area *va;

	if (!l)
		return NULL;
	va = va_of_list(l);
	va->shadow = nid == VMM_NUMA_NO_NODE
			     ? vmm_kmem_cache_alloc(v->vmap_area_cachep, gfp)
			     : vmm_kmem_cache_alloc_node(v->vmap_area_cachep, gfp, nid);
	if (!va->shadow) {
		vmm_list_add(&va->list, &v->va_pool);
		return NULL;
	}
	va->va_start = va->va_end = 0;
	va->subtree_max_size = 0;
	va->vm = NULL;
	va->state = VA_SPARE;
	vmm_rb_clear_node(&va->rb_node);
	return va;
}

/* kmem_cache_free(vmap_area_cachep, va): @va is in no tree or list. */
static void va_release(struct vmm_machine *m, struct vmm_vmap_area *va)
{
	vmm_kmem_cache_free(m->vmalloc.vmap_area_cachep, va->shadow);
	va->shadow = 0;
	va->state = VA_SPARE;
	vmm_list_add(&va->list, &m->vmalloc.va_pool);
}

/* kzalloc_node(sizeof(struct vm_struct)): a host struct and its kmalloc-64 object. */
static struct vmm_vm_struct *vm_alloc(struct vmm_machine *m, vmm_gfp_t gfp, int nid)
{
	struct vmm_vmalloc *v = &m->vmalloc;
	struct vmm_list *l = pool_take(m, &v->vm_pool, sizeof(struct vmm_vm_struct),
				       offsetof(struct vmm_vm_struct, list));
	struct vmm_vm_struct *vm;
	vmm_vaddr_t shadow;

	if (!l)
		return NULL;
	vm = vmm_list_entry(l, struct vmm_vm_struct, list);
	shadow = kzalloc_node(m, VM_STRUCT_SIZE, gfp & GFP_RECLAIM_MASK, nid);
	if (!shadow) {
		vmm_list_add(&vm->list, &v->vm_pool);
		return NULL;
	}
	memset(vm, 0, offsetof(struct vmm_vm_struct, inline_pages));
	vmm_list_init(&vm->list);
	vm->shadow = shadow;
	return vm;
}

/* kfree(vm): the host page array too, when it is not inline. */
static void vm_release(struct vmm_machine *m, struct vmm_vm_struct *vm)
{
	if (vm->pages && vm->pages != vm->inline_pages)
		vmm_hfree(&m->hm, vm->pages, vm->pages_cap * sizeof(vm->pages[0]));
	vm->pages = NULL;
	vmm_kfree(m, vm->shadow);
	vm->shadow = 0;
	vmm_list_add(&vm->list, &m->vmalloc.vm_pool);
}

/* Room for @n page pointers in @vm: inline when they fit. false when the host ran out. */
static bool vm_pages_alloc(struct vmm_machine *m, struct vmm_vm_struct *vm, uint64_t n)
{
	if (n <= VM_INLINE_PAGES) {
		vm->pages = vm->inline_pages;
		vm->pages_cap = VM_INLINE_PAGES;
	} else {
		vm->pages = vmm_hmalloc(&m->hm, n * sizeof(vm->pages[0]));
		if (!vm->pages)
			return false;
		vm->pages_cap = (uint32_t)n;
	}
	memset(vm->pages, 0, n * sizeof(vm->pages[0]));
	return true;
}

/* ---- the trees (Linux's find_va_links, __link_va, __unlink_va, merge_or_add_vmap_area) ---- */

/*
 * Where @va goes, walking down from the root of @root or from node @from:
 * the link to fill and its parent. NULL when @va overlaps a node (a bug).
 */
static struct vmm_rb_node **find_va_links(struct vmm_machine *m, const struct vmm_vmap_area *va,
					  struct vmm_rb_root *root, struct vmm_rb_node *from,
					  struct vmm_rb_node **parent)
{
	struct vmm_rb_node **link;
	struct vmm_vmap_area *tmp = NULL;

	if (root) {
		link = &root->node;
		if (!*link) {
			*parent = NULL;
			return link;
		}
	} else {
		link = &from;
	}
	do {
		tmp = va_of(*link);
		if (va->va_end <= tmp->va_start) {
			link = &(*link)->left;
		} else if (va->va_start >= tmp->va_end) {
			link = &(*link)->right;
		} else {
			vmm_internal_err(&m->log,
					 "vmalloc bug: %#" PRIx64 "-%#" PRIx64 " overlaps with "
					 "%#" PRIx64 "-%#" PRIx64,
					 va->va_start, va->va_end, tmp->va_start, tmp->va_end);
			return NULL;
		}
	} while (*link);
	*parent = &tmp->rb_node;
	return link;
}

/* The list node after which @va's list node goes, from where the tree search ended. */
static struct vmm_list *get_va_next_sibling(struct vmm_rb_node *parent, struct vmm_rb_node **link)
{
	struct vmm_list *list;

	if (!parent)
		return NULL;
	list = &va_of(parent)->list;
	return &parent->right == link ? list->next : list;
}

static void link_va(struct vmm_vmap_area *va, struct vmm_rb_root *root, struct vmm_rb_node *parent,
		    struct vmm_rb_node **link, struct vmm_list *head, bool augment)
{
	if (parent) {
		head = &va_of(parent)->list;
		if (&parent->right != link)
			head = head->prev;
	}
	vmm_rb_link_node(&va->rb_node, parent, link);
	if (augment) {
		/* counted as 0 through the rotations; the propagation puts it right */
		va->subtree_max_size = 0;
		vmm_rb_insert_augmented(&va->rb_node, root, &free_va_augment);
		va->subtree_max_size = 0;
	} else {
		vmm_rb_insert_color(&va->rb_node, root);
	}
	vmm_list_add(&va->list, head);
}

static void unlink_va(struct vmm_vmap_area *va, struct vmm_rb_root *root, bool augment)
{
	if (augment)
		vmm_rb_erase_augmented(&va->rb_node, root, &free_va_augment);
	else
		vmm_rb_erase(&va->rb_node, root);
	vmm_rb_clear_node(&va->rb_node);
	vmm_list_del(&va->list);
}

/* augment_tree_propagate_from() */
static inline void propagate_from(struct vmm_vmap_area *va)
{
	free_va_augment.propagate(&va->rb_node, NULL);
}

/* insert_vmap_area() into the busy tree. */
static bool insert_busy(struct vmm_machine *m, struct vmm_vmap_area *va)
{
	struct vmm_vmalloc *v = &m->vmalloc;
	struct vmm_rb_node *parent, **link = find_va_links(m, va, &v->busy_root, NULL, &parent);

	if (!link)
		return false;
	link_va(va, &v->busy_root, parent, link, &v->busy_list, false);
	va->state = VA_BUSY;
	v->nr_busy++;
	return true;
}

/* insert_vmap_area_augment() into the free tree, the search starting at @from. */
static void insert_free_from(struct vmm_machine *m, struct vmm_vmap_area *va,
			     struct vmm_rb_node *from)
{
	struct vmm_vmalloc *v = &m->vmalloc;
	struct vmm_rb_node *parent,
		**link = from ? find_va_links(m, va, NULL, from, &parent)
			      : find_va_links(m, va, &v->free_root, NULL, &parent);

	if (!link)
		return;
	link_va(va, &v->free_root, parent, link, &v->free_list, true);
	va->state = VA_FREE;
	v->nr_free++;
	propagate_from(va);
}

/*
 * merge_or_add_vmap_area_augment(): give @va's range back to the free
 * tree, merged with the free ranges that touch it (their vmap_areas absorb
 * it and @va is freed), else as a node of its own.
 */
static void merge_or_add_free(struct vmm_machine *m, struct vmm_vmap_area *va)
{
	struct vmm_vmalloc *v = &m->vmalloc;
	struct vmm_rb_node *parent, **link;
	struct vmm_list *next;
	struct vmm_vmap_area *sibling;
	bool merged = false;

	link = find_va_links(m, va, &v->free_root, NULL, &parent);
	if (!link) {
		va_release(m, va); /* reported; the checker will find the hole */
		return;
	}
	next = get_va_next_sibling(parent, link);
	if (!next)
		goto insert;
	/* |<--va-->|<--next-->| */
	if (next != &v->free_list) {
		sibling = va_of_list(next);
		if (sibling->va_start == va->va_end) {
			sibling->va_start = va->va_start;
			va_release(m, va);
			va = sibling;
			merged = true;
		}
	}
	/* |<--prev-->|<--va-->| */
	if (next->prev != &v->free_list) {
		sibling = va_of_list(next->prev);
		if (sibling->va_end == va->va_start) {
			/*
			 * Merged on both sides: unlink the right-hand node before the
			 * left-hand one grows, so that no augmented value is computed
			 * from a node about to go.
			 */
			if (merged) {
				unlink_va(va, &v->free_root, true);
				v->nr_free--;
			}
			sibling->va_end = va->va_end;
			va_release(m, va);
			va = sibling;
			merged = true;
		}
	}
insert:
	if (!merged) {
		link_va(va, &v->free_root, parent, link, &v->free_list, true);
		va->state = VA_FREE;
		v->nr_free++;
	}
	propagate_from(va);
}

/* ---- the free-space search (find_vmap_lowest_match, va_clip) ---- */

/* Whether @size bytes at @align fit in @va at or above @vstart. */
static inline bool is_within_this_va(const struct vmm_vmap_area *va, uint64_t size, uint64_t align,
				     uint64_t vstart)
{
	uint64_t nva = va->va_start > vstart ? ALIGN_UP(va->va_start, align)
					     : ALIGN_UP(vstart, align);

	/* alignment or size may overflow */
	if (nva + size < nva || nva < vstart)
		return false;
	return nva + size <= va->va_end;
}

/*
 * The free range at the lowest address where @size fits at @align above
 * @vstart. Left subtrees are entered only when they hold a range of at
 * least @length (@size, plus the worst alignment loss when @adjust); when
 * nothing fits below, the walk climbs back to the first right subtree
 * that might, moving vstart past the node so as not to search it twice.
 */
static struct vmm_vmap_area *find_vmap_lowest_match(struct vmm_rb_root *root, uint64_t size,
						    uint64_t align, uint64_t vstart, bool adjust)
{
	struct vmm_rb_node *node = root->node;
	uint64_t length = adjust ? size + align - 1 : size;
	struct vmm_vmap_area *va;

	while (node) {
		va = va_of(node);
		if (get_subtree_max_size(node->left) >= length && vstart < va->va_start) {
			node = node->left;
			continue;
		}
		if (is_within_this_va(va, size, align, vstart))
			return va;
		if (get_subtree_max_size(node->right) >= length) {
			node = node->right;
			continue;
		}
		while ((node = vmm_rb_parent(node))) {
			va = va_of(node);
			if (is_within_this_va(va, size, align, vstart))
				return va;
			if (get_subtree_max_size(node->right) >= length && vstart <= va->va_start) {
				vstart = va->va_start + 1;
				node = node->right;
				break;
			}
		}
	}
	return NULL;
}

enum fit_type { NOTHING_FIT, FL_FIT_TYPE, LE_FIT_TYPE, RE_FIT_TYPE, NE_FIT_TYPE };

static enum fit_type classify_va_fit_type(const struct vmm_vmap_area *va, uint64_t nva,
					  uint64_t size)
{
	if (nva < va->va_start || nva + size > va->va_end)
		return NOTHING_FIT;
	if (va->va_start == nva)
		return va->va_end == nva + size ? FL_FIT_TYPE : LE_FIT_TYPE;
	return va->va_end == nva + size ? RE_FIT_TYPE : NE_FIT_TYPE;
}

/*
 * Cut [@nva, @nva + @size) out of the free range @va: all of it (the node
 * goes), its left or right edge (the node shrinks), or its middle (the
 * node keeps the right part, the CPU's preloaded vmap_area takes the
 * left). -1 when no vmap_area could be had for a split.
 */
static int va_clip(struct vmm_machine *m, struct vmm_vmap_area *va, uint64_t nva, uint64_t size)
{
	struct vmm_vmalloc *v = &m->vmalloc;
	struct vmm_vmap_area *lva = NULL;

	switch (classify_va_fit_type(va, nva, size)) {
	case FL_FIT_TYPE:
		unlink_va(va, &v->free_root, true);
		v->nr_free--;
		va_release(m, va);
		return 0;
	case LE_FIT_TYPE:
		va->va_start += size;
		break;
	case RE_FIT_TYPE:
		va->va_end = nva;
		break;
	case NE_FIT_TYPE:
		lva = v->preload[m->current_cpu];
		v->preload[m->current_cpu] = NULL;
		if (!lva && !(lva = va_alloc(m, VMM_GFP_NOWAIT, VMM_NUMA_NO_NODE)))
			return -1;
		lva->va_start = va->va_start;
		lva->va_end = nva;
		va->va_start = nva + size;
		v->stats.splits++;
		break;
	default:
		return -1;
	}
	propagate_from(va);
	if (lva)
		insert_free_from(m, lva, &va->rb_node);
	return 0;
}

/* __alloc_vmap_area(): the start of the range cut out, or @vend when nothing fits. */
static uint64_t alloc_range(struct vmm_machine *m, uint64_t size, uint64_t align, uint64_t vstart,
			    uint64_t vend)
{
	bool adjust = !(align <= PAGE_SIZE || vend - vstart == size);
	struct vmm_vmap_area *va =
		find_vmap_lowest_match(&m->vmalloc.free_root, size, align, vstart, adjust);
	uint64_t nva;

	if (!va)
		return vend;
	nva = va->va_start > vstart ? ALIGN_UP(va->va_start, align) : ALIGN_UP(vstart, align);
	if (nva + size > vend || nva + size < nva)
		return vend;
	if (va_clip(m, va, nva, size)) {
		vmm_internal_err(&m->log,
				 "vmalloc: cannot clip %#" PRIx64 "+%#" PRIx64
				 " from the free range %#" PRIx64 "-%#" PRIx64,
				 nva, size, va->va_start, va->va_end);
		return vend;
	}
	return nva;
}

/* preload_this_cpu_lock(): one spare vmap_area per CPU for a split. */
static void preload_this_cpu(struct vmm_machine *m, vmm_gfp_t gfp, int nid)
{
	struct vmm_vmalloc *v = &m->vmalloc;

	if (!v->preload[m->current_cpu])
		v->preload[m->current_cpu] = va_alloc(m, gfp, nid);
}

/*
 * alloc_vmap_area(): @size bytes at @align within [@vstart, @vend), in the
 * busy tree. No room purges the lazy areas and tries once more.
 */
static struct vmm_vmap_area *alloc_vmap_area(struct vmm_machine *m, uint64_t size, uint64_t align,
					     uint64_t vstart, uint64_t vend, int nid, vmm_gfp_t gfp)
{
	struct vmm_vmalloc *v = &m->vmalloc;
	struct vmm_vmap_area *va;
	bool purged = false;
	uint64_t addr;

	gfp &= GFP_RECLAIM_MASK;
	va = va_alloc(m, gfp, nid);
	if (!va)
		return NULL;
	for (;;) {
		preload_this_cpu(m, gfp, nid);
		addr = alloc_range(m, size, align, vstart, vend);
		if (addr != vend)
			break;
		if (purged) {
			vm_warn(m, gfp,
				"vmalloc_node_range for size %" PRIu64 " failed: Address range "
				"restricted to %#" PRIx64 " - %#" PRIx64,
				size, vstart, vend);
			va_release(m, va);
			return NULL;
		}
		/* reclaim_and_purge_vmap_areas() */
		v->stats.purge_retries++;
		vmm_purge_vmap_area_lazy(m);
		purged = true;
	}
	va->va_start = addr;
	va->va_end = addr + size;
	charge(m, m->clock.cost.vmalloc_area);
	if (!insert_busy(m, va)) {
		/* cannot happen: the range came out of the free tree */
		va_release(m, va);
		return NULL;
	}
	return va;
}

/* The busy area containing @addr, or NULL (__find_vmap_area()). */
static struct vmm_vmap_area *find_busy(const struct vmm_vmalloc *v, uint64_t addr)
{
	struct vmm_rb_node *n = v->busy_root.node;

	while (n) {
		struct vmm_vmap_area *va = va_of(n);

		if (addr < va->va_start)
			n = n->left;
		else if (addr >= va->va_end)
			n = n->right;
		else
			return va;
	}
	return NULL;
}

struct vmm_vm_struct *vmm_find_vm_area(struct vmm_machine *m, vmm_vaddr_t addr)
{
	struct vmm_vmap_area *va = m->vmalloc.ready ? find_busy(&m->vmalloc, addr) : NULL;

	return va ? va->vm : NULL;
}

/* ---- lazy freeing and the purge ---- */

static uint64_t lazy_max_pages(const struct vmm_machine *m)
{
	unsigned fls = 64u - (unsigned)__builtin_clzll(m->nr_cpus);

	return fls * ((32ull << 20) >> PAGE_SHIFT);
}

/* free_vmap_area_noflush(): onto the lazy list; its PTEs are already clear. */
static void free_vmap_area_noflush(struct vmm_machine *m, struct vmm_vmap_area *va)
{
	struct vmm_vmalloc *v = &m->vmalloc;

	vmm_list_add_tail(&va->list, &v->lazy_list);
	va->state = VA_LAZY;
	v->nr_lazy++;
	v->lazy_nr += va_size(va) >> PAGE_SHIFT;
	if (va->va_start < v->lazy_start)
		v->lazy_start = va->va_start;
	if (va->va_end > v->lazy_end)
		v->lazy_end = va->va_end;
}

bool vmm_purge_vmap_area_lazy(struct vmm_machine *m)
{
	struct vmm_vmalloc *v = &m->vmalloc;

	if (vmm_list_empty(&v->lazy_list))
		return false;
	vmm_flush_tlb_kernel_range(m, v->lazy_start, v->lazy_end);
	while (!vmm_list_empty(&v->lazy_list)) {
		struct vmm_vmap_area *va = va_of_list(v->lazy_list.next);

		vmm_list_del(&va->list);
		merge_or_add_free(m, va);
		v->stats.purged_areas++;
	}
	charge(m, v->nr_lazy * m->clock.cost.vmalloc_purge_area);
	v->nr_lazy = 0;
	v->lazy_nr = 0;
	v->lazy_start = UINT64_MAX;
	v->lazy_end = 0;
	v->stats.purges++;
	return true;
}

/* What the drain work would do soon after a free that crossed the threshold. */
static void purge_if_needed(struct vmm_machine *m)
{
	if (m->vmalloc.lazy_nr > m->vmalloc.lazy_max)
		vmm_purge_vmap_area_lazy(m);
}

/* ---- page tables ---- */

/*
 * The PTE of @va in init_mm's tables (vmm_kernel_pte(), tables made when
 * @alloc), through the host-side cache of PTE tables.
 */
static inline uint64_t *kernel_pte(struct vmm_machine *m, uint64_t va, bool alloc, int *err)
{
	struct vmalloc_pte_cache *e = &m->vmalloc.ptc[(va >> 21) % PTE_CACHE_SIZE];
	const unsigned idx = (va >> PAGE_SHIFT) & (PTRS_PER_PTE - 1);
	uint64_t *pte;

	if (likely(e->key == (va >> 21) + 1)) {
		*err = 0;
		return e->ptes + idx;
	}
	pte = vmm_kernel_pte(m, va, alloc, err);
	if (pte) {
		e->key = (va >> 21) + 1;
		e->ptes = pte - idx;
	}
	return pte;
}

/*
 * vmap_pages_range(): PTEs for @pages[0..@n) from @addr on with @prot,
 * one table at a time. 0, or the error of a table that could not be made
 * (the PTEs written so far stay: the caller frees the area).
 */
static int map_pages(struct vmm_machine *m, uint64_t addr, struct vmm_page *const *pages,
		     uint64_t n, uint64_t prot)
{
	const struct vmm_sparse *sp = &m->sparse;
	uint64_t i = 0;
	int err;

	while (i < n) {
		uint64_t va = addr + (i << PAGE_SHIFT);
		uint64_t *pte = kernel_pte(m, va, true, &err);
		uint64_t run = PTRS_PER_PTE - ((va >> PAGE_SHIFT) & (PTRS_PER_PTE - 1));

		if (!pte)
			return err ? err : -VMM_ENOMEM;
		if (run > n - i)
			run = n - i;
		for (uint64_t k = 0; k < run; k++) {
			if (unlikely(pte[k] & VMM_PTE_PRESENT)) {
				vmm_internal_err(&m->log,
						 "vmap: PTE of %#" PRIx64 " already maps "
						 "%#" PRIx64,
						 va + (k << PAGE_SHIFT), pte[k]);
				return -VMM_EBUSY;
			}
			pte[k] = (page_to_pfn(sp, pages[i + k]) << PAGE_SHIFT) | prot;
		}
		i += run;
	}
	charge(m, n * m->clock.cost.vmalloc_map_pte);
	return 0;
}

/* vunmap_range_noflush(): clear the PTEs of [@start, @end); missing tables are skipped. */
static void unmap_range(struct vmm_machine *m, uint64_t start, uint64_t end)
{
	uint64_t va = start;

	while (va < end) {
		uint64_t next = ALIGN_DOWN(va, PMD_SIZE) + PMD_SIZE;
		int err;
		uint64_t *pte = kernel_pte(m, va, false, &err);

		if (next > end || next < va)
			next = end;
		if (pte)
			memset(pte, 0, (next - va) >> PAGE_SHIFT << 3);
		va = next;
	}
	charge(m, ((end - start) >> PAGE_SHIFT) * m->clock.cost.vmalloc_unmap_pte);
}

/* ---- pages ---- */

/* The next node of @mask after @prev, wrapping (next_node_in). */
static unsigned next_node_in(unsigned prev, vmm_nodemask_t mask)
{
	uint64_t above = prev + 1 < 64 ? mask & ~((2ull << prev) - 1) : 0;

	return (unsigned)__builtin_ctzll(above ? above : mask);
}

/* alloc_pages_bulk_mempolicy(): the current task's NUMA policy, in bulk. */
static unsigned long bulk_mempolicy(struct vmm_machine *m, vmm_gfp_t gfp, unsigned long nr,
				    struct vmm_page **pages)
{
	unsigned local = m->mmu.cpus[m->current_cpu].nid;

	switch (m->mpol_mode) {
	case VMM_MPOL_INTERLEAVE: {
		/* alloc_pages_bulk_interleave(): an even share per node of the mask, in turn */
		unsigned nodes = (unsigned)__builtin_popcountll(m->mpol_nodes);
		unsigned long per = nr / nodes, delta = nr - per * nodes, total = 0;

		for (unsigned i = 0; i < nodes; i++) {
			unsigned long want = per + (delta ? 1 : 0), got;
			unsigned nid = next_node_in((unsigned)m->mpol_il_prev, m->mpol_nodes);

			m->mpol_il_prev = (int)nid;
			if (delta)
				delta--;
			if (!want)
				continue;
			got = vmm_alloc_pages_bulk(m, gfp, (int)nid, NULL, want, pages + total);
			total += got;
			if (got != want)
				break;
		}
		return total;
	}
	case VMM_MPOL_PREFERRED:
		return vmm_alloc_pages_bulk(m, gfp, __builtin_ctzll(m->mpol_nodes), NULL, nr,
					    pages);
	case VMM_MPOL_BIND:
		return vmm_alloc_pages_bulk(m, gfp, (int)local, &m->mpol_nodes, nr, pages);
	default:
		return vmm_alloc_pages_bulk(m, gfp, (int)local, NULL, nr, pages);
	}
}

/*
 * vm_area_alloc_pages(): @nr order-0 pages into @pages (all NULL): in bulk,
 * at most BULK_MAX a call, until a call comes back short; then one at a
 * time (the single-page allocator tries harder). Returns how many.
 */
static unsigned long vm_area_alloc_pages(struct vmm_machine *m, vmm_gfp_t gfp, int nid,
					 unsigned long nr, struct vmm_page **pages)
{
	vmm_gfp_t bulk_gfp = gfp & ~VMM_GFP_NOFAIL;
	unsigned long done = 0;

	while (done < nr) {
		unsigned long want = VMM_MIN(BULK_MAX, nr - done), got;

		if (nid == VMM_NUMA_NO_NODE)
			got = bulk_mempolicy(m, bulk_gfp, want, pages + done);
		else
			got = vmm_alloc_pages_bulk(m, bulk_gfp, nid, NULL, want, pages + done);
		done += got;
		if (got != want)
			break;
	}
	while (done < nr) {
		struct vmm_page *page = nid == VMM_NUMA_NO_NODE
						? vmm_alloc_pages(m, gfp, 0)
						: vmm_alloc_pages_node(m, nid, gfp, 0);

		if (!page)
			break;
		pages[done++] = page;
	}
	return done;
}

/* ---- areas ---- */

static inline uint64_t guard_size(const struct vmm_vm_struct *vm)
{
	return vm->flags & VMM_VM_NO_GUARD ? 0 : PAGE_SIZE;
}

/*
 * __get_vm_area_node(): a vm_struct and its vmap_area of @size bytes (a
 * multiple of the page size) plus the guard page, on the vm_struct list.
 */
static struct vmm_vm_struct *get_vm_area(struct vmm_machine *m, uint64_t size, uint64_t align,
					 uint32_t flags, uint64_t start, uint64_t end, int nid,
					 vmm_gfp_t gfp, const char *caller)
{
	struct vmm_vm_struct *vm = vm_alloc(m, gfp, nid);
	struct vmm_vmap_area *va;
	struct vmm_list *prev;

	if (!vm)
		return NULL;
	vm->flags = flags;
	vm->caller = caller;
	if (!(flags & VMM_VM_NO_GUARD))
		size += PAGE_SIZE;
	va = alloc_vmap_area(m, size, align, start, end, nid, gfp);
	if (!va) {
		vm_release(m, vm);
		return NULL;
	}
	/* setup_vmalloc_vm() */
	vm->addr = va->va_start;
	vm->size = va_size(va);
	vm->va = va;
	va->vm = vm;
	/* the vm_struct list follows the busy list's order */
	prev = va->list.prev;
	if (prev == &m->vmalloc.busy_list)
		vmm_list_add(&vm->list, &m->vmalloc.vmlist);
	else
		vmm_list_add(&vm->list, &va_of_list(prev)->vm->list);
	return vm;
}

/*
 * remove_vm_area() and free_unmap_vmap_area(): out of the busy tree and
 * the vm_struct list, PTEs cleared, the vmap_area onto the lazy list.
 */
static void remove_vm_area(struct vmm_machine *m, struct vmm_vm_struct *vm)
{
	struct vmm_vmalloc *v = &m->vmalloc;
	struct vmm_vmap_area *va = vm->va;

	unlink_va(va, &v->busy_root, false);
	v->nr_busy--;
	vmm_list_del(&vm->list);
	unmap_range(m, va->va_start, va->va_end);
	charge(m, m->clock.cost.vmalloc_free_area);
	va->vm = NULL;
	vm->va = NULL;
	free_vmap_area_noflush(m, va);
}

/*
 * vfree()'s work on a live area: remove it; free the pages it owns (a
 * vmalloc'd area's, or a vmap area's with VM_MAP_PUT_PAGES); kvfree its
 * page array; kfree the vm_struct.
 */
static void free_vm(struct vmm_machine *m, struct vmm_vm_struct *vm)
{
	remove_vm_area(m, vm);
	if (vm->flags & (VMM_VM_ALLOC | VMM_VM_MAP_PUT_PAGES)) {
		for (uint32_t i = 0; i < vm->nr_pages; i++)
			if (vm->pages[i])
				vmm_free_pages(m, vm->pages[i], 0);
		if (vm->flags & VMM_VM_ALLOC)
			m->vmalloc.nr_vmalloc_pages -= vm->nr_pages;
	}
	if (vm->pages_shadow) {
		if (vm->pages_vmalloced) {
			struct vmm_vm_struct *inner = vmm_find_vm_area(m, vm->pages_shadow);

			if (inner && inner->addr == vm->pages_shadow)
				free_vm(m, inner);
			else
				vmm_internal_err(&m->log,
						 "vfree: the page array %#" PRIx64 " of "
						 "%#" PRIx64 " is gone",
						 vm->pages_shadow, vm->addr);
		} else {
			vmm_kfree(m, vm->pages_shadow);
		}
	}
	vm_release(m, vm);
}

/*
 * __vmalloc_area_node(): the page array, the pages and their PTEs. The
 * address, or 0 with everything freed (lazily, as vfree() does).
 */
static vmm_vaddr_t vmalloc_area_node(struct vmm_machine *m, struct vmm_vm_struct *area,
				     vmm_gfp_t gfp, uint64_t prot, int nid)
{
	const uint64_t size = area->size - guard_size(area);
	const uint64_t nr = size >> PAGE_SHIFT, array_size = nr * sizeof(uint64_t);
	const vmm_gfp_t nested_gfp = (gfp & GFP_RECLAIM_MASK) | VMM_GFP_ZERO;
	struct vmm_vmalloc *v = &m->vmalloc;
	unsigned long got;
	int err;

	if (!(gfp & (VMM_GFP_DMA | VMM_GFP_DMA32)))
		gfp |= VMM_GFP_HIGHMEM;
	if (!vm_pages_alloc(m, area, nr)) {
		vm_warn(m, gfp, "vmalloc error: size %" PRIu64 ", out of host memory", size);
		goto fail_array;
	}
	/* the page array: larger than a page, it is vmalloc'd itself (the recursion stops there) */
	if (array_size > PAGE_SIZE) {
		area->pages_shadow = vmm_vmalloc_node_range(m, array_size, 1, v->start, v->end,
							    nested_gfp, VMM_PAGE_KERNEL, 0, nid,
							    area->caller);
		if (area->pages_shadow) {
			area->pages_vmalloced = true;
			vmm_find_vm_area(m, area->pages_shadow)->page_array = true;
		}
	} else {
		area->pages_shadow = kzalloc_node(m, array_size, nested_gfp, nid);
	}
	if (!area->pages_shadow) {
		vm_warn(m, gfp,
			"vmalloc error: size %" PRIu64 ", failed to allocated page array "
			"size %" PRIu64,
			size, array_size);
		goto fail_array;
	}
	got = vm_area_alloc_pages(m, gfp | VMM_GFP_NOWARN, nid, nr, area->pages);
	area->nr_pages = area->nr_mapped = (uint32_t)got;
	v->nr_vmalloc_pages += got;
	if (got != nr) {
		vm_warn(m, gfp, "vmalloc error: size %" PRIu64 ", failed to allocate pages", size);
		goto fail;
	}
	area->prot = prot;
	if ((err = map_pages(m, area->addr, area->pages, nr, prot))) {
		vm_warn(m, gfp, "vmalloc error: size %" PRIu64 ", failed to map pages", size);
		goto fail;
	}
	return area->addr;

fail_array:
	/* free_vm_area(): nothing is mapped and no page allocated yet */
fail:
	free_vm(m, area);
	return 0;
}

vmm_vaddr_t vmm_vmalloc_node_range(struct vmm_machine *m, uint64_t size, uint64_t align,
				   uint64_t start, uint64_t end, vmm_gfp_t gfp, uint64_t prot,
				   uint32_t vm_flags, int nid, const char *caller)
{
	struct vmm_vmalloc *v = &m->vmalloc;
	struct vmm_vm_struct *area;
	vmm_vaddr_t addr;

	if (!v->ready) {
		vmm_caller_err(&m->log,
			       "%s: the machine was booted without the slab allocator, "
			       "so without vmalloc",
			       caller);
		goto fail;
	}
	if (!size) {
		vm_report(m, VMM_LOG_KIND_CALLER, "%s: size 0", caller);
		goto fail;
	}
	if (size >> PAGE_SHIFT > v->totalram) {
		vm_warn(m, gfp, "vmalloc error: size %" PRIu64 ", exceeds total pages", size);
		goto fail;
	}
	size = ALIGN_UP(size, PAGE_SIZE);
	area = get_vm_area(m, size, align, VMM_VM_ALLOC | vm_flags, start, end, nid, gfp, caller);
	if (!area) {
		vm_warn(m, gfp, "vmalloc error: size %" PRIu64 ", vm_struct allocation failed",
			size);
		goto fail;
	}
	addr = vmalloc_area_node(m, area, gfp, prot, nid);
	if (addr)
		return addr;
fail:
	v->stats.failures++;
	return 0;
}

/* ---- the public calls ---- */

static vmm_vaddr_t vmalloc_public(vmm_machine *m, size_t size, uint64_t align, vmm_gfp_t gfp,
				  uint32_t vm_flags, int nid, const char *caller)
{
	vmm_vaddr_t addr;

	if (!m)
		return 0;
	m->vmalloc.stats.vmalloc_calls++;
	if (nid != VMM_NUMA_NO_NODE && (nid < 0 || (unsigned)nid >= m->nr_nodes)) {
		vm_report(m, VMM_LOG_KIND_CALLER, "%s: node %d does not exist", caller, nid);
		m->vmalloc.stats.failures++;
		return 0;
	}
	addr = vmm_vmalloc_node_range(m, size, align, m->init_mm.layout.vmalloc_start,
				      m->init_mm.layout.vmalloc_end, gfp, VMM_PAGE_KERNEL, vm_flags,
				      nid, caller);
	purge_if_needed(m); /* a failure may have freed lazily */
	return addr;
}

vmm_vaddr_t vmm_vmalloc(vmm_machine *m, size_t size)
{
	return vmalloc_public(m, size, 1, VMM_GFP_KERNEL, 0, VMM_NUMA_NO_NODE, "vmm_vmalloc");
}

vmm_vaddr_t vmm_vzalloc(vmm_machine *m, size_t size)
{
	return vmalloc_public(m, size, 1, VMM_GFP_KERNEL | VMM_GFP_ZERO, 0, VMM_NUMA_NO_NODE,
			      "vmm_vzalloc");
}

vmm_vaddr_t vmm_vmalloc_node(vmm_machine *m, size_t size, int nid)
{
	return vmalloc_public(m, size, 1, VMM_GFP_KERNEL, 0, nid, "vmm_vmalloc_node");
}

vmm_vaddr_t vmm_vmalloc_user(vmm_machine *m, size_t size)
{
	/* SHMLBA is a page on x86 */
	return vmalloc_public(m, size, PAGE_SIZE, VMM_GFP_KERNEL | VMM_GFP_ZERO, VMM_VM_USERMAP,
			      VMM_NUMA_NO_NODE, "vmm_vmalloc_user");
}

/*
 * The live area starting at @addr for vfree/vunmap (@fn), or NULL after
 * reporting why there is none (Linux's WARNs, with more detail).
 */
static struct vmm_vm_struct *area_to_free(struct vmm_machine *m, vmm_vaddr_t addr, const char *fn)
{
	struct vmm_vmalloc *v = &m->vmalloc;
	struct vmm_vmap_area *va;
	struct vmm_list *pos;

	if (addr & (PAGE_SIZE - 1)) {
		vm_report(m, VMM_LOG_KIND_GUEST, "%s: trying to %s() bad address (%#" PRIx64 ")",
			  fn, fn, addr);
		return NULL;
	}
	va = v->ready ? find_busy(v, addr) : NULL;
	if (va && va->va_start == addr)
		return va->vm;
	if (va) {
		vm_report(m, VMM_LOG_KIND_GUEST,
			  "%s: %#" PRIx64 " is inside the vm area %#" PRIx64 "-%#" PRIx64
			  ", not its start",
			  fn, addr, va->va_start, va->va_end);
		return NULL;
	}
	if (v->ready) {
		vmm_list_for_each(pos, &v->lazy_list) {
			va = va_of_list(pos);
			if (va->va_start == addr) {
				vm_report(m, VMM_LOG_KIND_GUEST,
					  "%s: trying to %s() nonexistent vm "
					  "area (%#" PRIx64 "): freed already",
					  fn, fn, addr);
				return NULL;
			}
		}
	}
	vm_report(m, VMM_LOG_KIND_GUEST, "%s: trying to %s() nonexistent vm area (%#" PRIx64 ")",
		  fn, fn, addr);
	return NULL;
}

void vmm_vfree(vmm_machine *m, vmm_vaddr_t addr)
{
	struct vmm_vm_struct *vm;

	if (!m || !addr)
		return;
	m->vmalloc.stats.vfree_calls++;
	vm = area_to_free(m, addr, "vfree");
	if (!vm)
		return;
	if (vm->page_array) {
		vm_report(m, VMM_LOG_KIND_GUEST,
			  "vfree: %#" PRIx64 " is the page array of another "
			  "vm area, freed with it",
			  addr);
		return;
	}
	free_vm(m, vm);
	purge_if_needed(m);
}

void vmm_vunmap(vmm_machine *m, vmm_vaddr_t addr)
{
	struct vmm_vm_struct *vm;

	if (!m || !addr)
		return;
	m->vmalloc.stats.vunmap_calls++;
	vm = area_to_free(m, addr, "vunmap");
	if (!vm)
		return;
	if (vm->flags & (VMM_VM_ALLOC | VMM_VM_MAP_PUT_PAGES)) {
		vm_report(m, VMM_LOG_KIND_GUEST,
			  "vunmap: the area at %#" PRIx64 " owns its %u pages "
			  "(%s), which vunmap() would leak: use vfree()",
			  addr, vm->nr_pages,
			  vm->flags & VMM_VM_ALLOC ? "vmalloc" : "VM_MAP_PUT_PAGES");
		return;
	}
	free_vm(m, vm);
	purge_if_needed(m);
}

/*
 * Whether @pfn's page is allocated: it holds a reference, is a tail of a
 * compound page whose head does, is reserved, or lies inside an allocated
 * higher-order block (whose head records its order). Free pages (buddy or
 * per-CPU lists) and quarantined ones are not.
 */
static bool page_in_use(struct vmm_machine *m, uint64_t pfn)
{
	const struct vmm_sparse *sp = &m->sparse;
	const struct vmm_page *page = pfn_to_page(sp, pfn);

	if (PageBuddy(page) || (page->compound & (VMM_PAGE_PCP | VMM_PAGE_QUARANTINE)))
		return false;
	if (page->refcount > 0)
		return true;
	if (page->compound & VMM_PAGE_TAIL) {
		const struct vmm_page *head = page - (page->compound & VMM_PAGE_TAIL_OFFSET);

		return head->refcount > 0;
	}
	if (page_flag(page, VMM_PG_reserved))
		return true;
	for (unsigned o = 1; o <= VMM_MAX_PAGE_ORDER; o++) {
		uint64_t h = pfn & ~((1ull << o) - 1);
		const struct vmm_page *hp;

		if (!vmm_sparse_pfn_valid(sp, h))
			break;
		hp = pfn_to_page(sp, h);
		if (hp->refcount > 0 && !(hp->compound & (VMM_PAGE_TAIL | VMM_PAGE_PCP)) &&
		    (hp->compound & VMM_PAGE_ALLOC_ORDER) >= o)
			return true;
	}
	return false;
}

/* The pfn of @page when it is a descriptor of this machine's memory map, else UINT64_MAX. */
static uint64_t checked_pfn(const struct vmm_machine *m, const struct vmm_page *page)
{
	uintptr_t off = (uintptr_t)page - (uintptr_t)m->sparse.vmemmap;
	uint64_t pfn = off / sizeof(struct vmm_page);

	if (!page || off % sizeof(struct vmm_page) || !vmm_sparse_pfn_valid(&m->sparse, pfn))
		return UINT64_MAX;
	return pfn;
}

/* vmap()'s argument checks: 0, or a report (caller's fault) and -1. */
static int vmap_check_args(struct vmm_machine *m, struct vmm_page *const *pages, unsigned count,
			   unsigned flags, uint64_t prot)
{
	if (!m->vmalloc.ready) {
		vmm_caller_err(&m->log, "vmap: the machine was booted without the slab allocator, "
					"so without vmalloc");
		return -1;
	}
	if (!pages || !count) {
		vm_report(m, VMM_LOG_KIND_CALLER, "vmap: %s", pages ? "count 0" : "pages is NULL");
		return -1;
	}
	if (flags & ~VMM_VMAP_FLAGS) {
		vm_report(m, VMM_LOG_KIND_CALLER, "vmap: unknown flags %#x",
			  flags & ~VMM_VMAP_FLAGS);
		return -1;
	}
	if ((prot & ~(uint64_t)VMM_VMAP_PROT_BITS) || !(prot & VMM_PTE_PRESENT)) {
		vm_report(m, VMM_LOG_KIND_CALLER,
			  "vmap: protection %#" PRIx64 " is not a kernel "
			  "page protection",
			  prot);
		return -1;
	}
	for (unsigned i = 0; i < count; i++) {
		uint64_t pfn = checked_pfn(m, pages[i]);

		if (pfn == UINT64_MAX) {
			vm_report(m, VMM_LOG_KIND_CALLER,
				  "vmap: pages[%u] (%p) is not a page of this "
				  "machine",
				  i, (const void *)pages[i]);
			return -1;
		}
		if (!page_in_use(m, pfn)) {
			vm_report(m, VMM_LOG_KIND_CALLER,
				  "vmap: pages[%u] (pfn %#" PRIx64 ") is free", i, pfn);
			return -1;
		}
		if ((flags & VMM_VM_MAP_PUT_PAGES) &&
		    (pages[i]->refcount < 1 ||
		     (pages[i]->compound & (VMM_PAGE_TAIL | VMM_PAGE_ALLOC_ORDER)) ||
		     page_flag(pages[i], VMM_PG_head))) {
			vm_report(m, VMM_LOG_KIND_CALLER,
				  "vmap: pages[%u] (pfn %#" PRIx64 ") is not an "
				  "order-0 page the area could put",
				  i, pfn);
			return -1;
		}
	}
	return 0;
}

vmm_vaddr_t vmm_vmap(vmm_machine *m, struct vmm_page *const *pages, unsigned count, unsigned flags,
		     uint64_t prot)
{
	struct vmm_vm_struct *area;

	if (!m)
		return 0;
	m->vmalloc.stats.vmap_calls++;
	if (vmap_check_args(m, pages, count, flags, prot))
		goto fail;
	if (flags & VMM_VM_NO_GUARD) {
		/* "your top guard is someone else's bottom guard" */
		vm_report(m, VMM_LOG_KIND_CALLER,
			  "vmap: VM_NO_GUARD is not allowed; the area keeps "
			  "its guard page");
		flags &= ~VMM_VM_NO_GUARD;
	}
	if (count > m->vmalloc.totalram)
		goto fail;
	area = get_vm_area(m, (uint64_t)count << PAGE_SHIFT, 1, flags,
			   m->init_mm.layout.vmalloc_start, m->init_mm.layout.vmalloc_end,
			   VMM_NUMA_NO_NODE, VMM_GFP_KERNEL, "vmm_vmap");
	if (!area)
		goto fail;
	if (!vm_pages_alloc(m, area, count)) {
		free_vm(m, area);
		goto fail;
	}
	memcpy(area->pages, pages, count * sizeof(pages[0]));
	area->nr_mapped = count;
	area->prot = prot | VMM_PTE_NX; /* pgprot_nx() */
	if (map_pages(m, area->addr, area->pages, count, area->prot)) {
		free_vm(m, area);
		purge_if_needed(m);
		goto fail;
	}
	if (flags & VMM_VM_MAP_PUT_PAGES)
		area->nr_pages = count;
	return area->addr;
fail:
	m->vmalloc.stats.failures++;
	return 0;
}

int vmm_is_vmalloc_addr(const vmm_machine *m, vmm_vaddr_t addr)
{
	return m && addr >= m->init_mm.layout.vmalloc_start && addr < m->init_mm.layout.vmalloc_end;
}

struct vmm_page *vmm_vmalloc_to_page(vmm_machine *m, vmm_vaddr_t addr)
{
	uint64_t *pte, pfn;
	int err;

	if (!m)
		return NULL;
	if (!vmm_is_vmalloc_addr(m, addr)) {
		vm_report(m, VMM_LOG_KIND_CALLER,
			  "vmalloc_to_page: %#" PRIx64 " is not a vmalloc "
			  "address",
			  addr);
		return NULL;
	}
	charge(m, m->clock.cost.vmalloc_lookup);
	pte = kernel_pte(m, addr, false, &err);
	if (!pte || !(*pte & VMM_PTE_PRESENT))
		return NULL;
	pfn = (*pte & VMM_PTE_ADDR_MASK) >> PAGE_SHIFT;
	return vmm_sparse_pfn_valid(&m->sparse, pfn) ? pfn_to_page(&m->sparse, pfn) : NULL;
}

vmm_pfn_t vmm_vmalloc_to_pfn(vmm_machine *m, vmm_vaddr_t addr)
{
	struct vmm_page *page = vmm_vmalloc_to_page(m, addr);

	return page ? page_to_pfn(&m->sparse, page) : 0;
}

void vmm_vm_unmap_aliases(vmm_machine *m)
{
	if (m && m->vmalloc.ready)
		vmm_purge_vmap_area_lazy(m);
}

int vmm_vmalloc_info(const vmm_machine *m, struct vmm_vmalloc_info *out)
{
	const struct vmm_vmalloc *v;

	if (!m || !out)
		return -VMM_EINVAL;
	v = &m->vmalloc;
	memset(out, 0, sizeof(*out));
	out->vmalloc_start = m->init_mm.layout.vmalloc_start;
	out->vmalloc_end = m->init_mm.layout.vmalloc_end;
	out->used_pages = v->nr_vmalloc_pages;
	out->nr_busy = v->nr_busy;
	out->nr_free = v->nr_free;
	out->nr_lazy = v->nr_lazy;
	out->lazy_pages = v->lazy_nr;
	out->lazy_max_pages = v->lazy_max;
	out->largest_free = get_subtree_max_size(v->free_root.node);
	out->vmalloc_calls = v->stats.vmalloc_calls;
	out->vmap_calls = v->stats.vmap_calls;
	out->vfree_calls = v->stats.vfree_calls;
	out->vunmap_calls = v->stats.vunmap_calls;
	out->failures = v->stats.failures;
	out->purges = v->stats.purges;
	out->purged_areas = v->stats.purged_areas;
	out->purge_retries = v->stats.purge_retries;
	out->splits = v->stats.splits;
	out->errors = v->stats.errors;
	return 0;
}

/* ---- boot and teardown ---- */

int vmm_vmalloc_init(struct vmm_machine *m)
{
	struct vmm_vmalloc *v = &m->vmalloc;
	struct vmm_vmap_area *va;
	int err;

	memset(v, 0, sizeof(*v));
	v->busy_root = VMM_RB_ROOT;
	v->free_root = VMM_RB_ROOT;
	vmm_list_init(&v->busy_list);
	vmm_list_init(&v->free_list);
	vmm_list_init(&v->lazy_list);
	vmm_list_init(&v->vmlist);
	vmm_list_init(&v->va_pool);
	vmm_list_init(&v->vm_pool);
	v->start = m->init_mm.layout.vmalloc_start;
	v->end = m->init_mm.layout.vmalloc_end;
	v->lazy_start = UINT64_MAX;
	v->lazy_max = lazy_max_pages(m);
	v->totalram = vmm_totalram_pages(m);
	/* vmap_area_cachep = KMEM_CACHE(vmap_area, SLAB_PANIC) */
	err = vmm_kmem_cache_create(m, "vmap_area", VMAP_AREA_SIZE, 0, VMM_SLAB_PANIC, NULL,
				    &v->vmap_area_cachep);
	if (err)
		return err;
	/* vmap_init_free_space(): the whole area is one free range */
	va = va_alloc(m, VMM_GFP_NOWAIT, VMM_NUMA_NO_NODE);
	if (!va)
		return -VMM_ENOMEM;
	va->va_start = v->start;
	va->va_end = v->end;
	insert_free_from(m, va, NULL);
	v->ready = true;
	return 0;
}

void vmm_vmalloc_destroy(struct vmm_machine *m)
{
	struct vmm_vmalloc *v = &m->vmalloc;
	struct vmm_list *pos;

	/* the host page arrays of live areas, then every host struct */
	if (v->vmlist.next) {
		vmm_list_for_each(pos, &v->vmlist) {
			struct vmm_vm_struct *vm = vmm_list_entry(pos, struct vmm_vm_struct, list);

			if (vm->pages && vm->pages != vm->inline_pages)
				vmm_hfree(&m->hm, vm->pages, vm->pages_cap * sizeof(vm->pages[0]));
			vm->pages = NULL;
		}
	}
	while (v->chunks) {
		struct vmalloc_chunk *c = v->chunks;

		v->chunks = c->next;
		vmm_hfree(&m->hm, c, c->bytes);
	}
	v->ready = false;
}

/* ---- vmm_machine_check() ---- */

struct vcheck {
	struct vmm_machine *m;
	FILE *out;
	long problems;
	struct vmm_vmap_area **lazy; /* the lazy areas, by address */
	uint64_t nr_lazy;
	uint64_t leaves; /* present leaves under the vmalloc area */
};

#define PROBLEM(c, ...)                                     \
	do {                                                \
		fprintf((c)->out, "vmalloc: " __VA_ARGS__); \
		fputc('\n', (c)->out);                      \
		(c)->problems++;                            \
	} while (0)

static int cmp_va_start(const void *a, const void *b)
{
	const struct vmm_vmap_area *x = *(struct vmm_vmap_area *const *)a;
	const struct vmm_vmap_area *y = *(struct vmm_vmap_area *const *)b;

	return (x->va_start > y->va_start) - (x->va_start < y->va_start);
}

/* The lazy area containing @addr, or NULL (the lazy array is sorted). */
static struct vmm_vmap_area *find_lazy(const struct vcheck *c, uint64_t addr)
{
	uint64_t lo = 0, hi = c->nr_lazy;

	while (lo < hi) {
		uint64_t mid = (lo + hi) / 2;
		struct vmm_vmap_area *va = c->lazy[mid];

		if (addr < va->va_start)
			hi = mid;
		else if (addr >= va->va_end)
			lo = mid + 1;
		else
			return va;
	}
	return NULL;
}

/* Whether every PTE of [start, end) is clear (a missing table counts as clear). */
static bool range_unmapped(struct vmm_machine *m, uint64_t start, uint64_t end, uint64_t *where)
{
	for (uint64_t va = start; va < end;) {
		uint64_t next = ALIGN_DOWN(va, PMD_SIZE) + PMD_SIZE;
		uint64_t *pte = vmm_kernel_pte(m, va, false, NULL);

		if (next > end || next < va)
			next = end;
		for (uint64_t k = 0; pte && k < (next - va) >> PAGE_SHIFT; k++) {
			if (pte[k]) {
				*where = va + (k << PAGE_SHIFT);
				return false;
			}
		}
		va = next;
	}
	return true;
}

/*
 * A busy area: its vm_struct agrees with it, its pages are mapped in order
 * with its protection, everything after them (the guard page) is not, and
 * its pages are allocated (a vmalloc'd area's: order-0 pages it owns).
 */
static void check_busy_area(struct vcheck *c, const struct vmm_vmap_area *va)
{
	struct vmm_machine *m = c->m;
	const struct vmm_vm_struct *vm = va->vm;
	uint64_t where, end_mapped;

	if (!vm) {
		PROBLEM(c, "busy area %#" PRIx64 "-%#" PRIx64 " has no vm_struct", va->va_start,
			va->va_end);
		return;
	}
	if (vm->va != va || vm->addr != va->va_start || vm->size != va_size(va) ||
	    vm->size < guard_size(vm) + ((uint64_t)vm->nr_mapped << PAGE_SHIFT) ||
	    (vm->nr_mapped && !vm->pages) || vm->nr_pages > vm->nr_mapped) {
		PROBLEM(c,
			"vm_struct %#" PRIx64 " (size %#" PRIx64 ", %u pages mapped) does not "
			"match its area %#" PRIx64 "-%#" PRIx64,
			vm->addr, vm->size, vm->nr_mapped, va->va_start, va->va_end);
		return;
	}
	if ((vm->flags & VMM_VM_ALLOC) &&
	    vm->size != guard_size(vm) + ((uint64_t)vm->nr_pages << PAGE_SHIFT)) {
		PROBLEM(c, "vmalloc area %#" PRIx64 " has %u pages for %#" PRIx64 " bytes",
			vm->addr, vm->nr_pages, vm->size);
	}
	for (uint64_t i = 0; i < vm->nr_mapped;) {
		uint64_t addr = vm->addr + (i << PAGE_SHIFT);
		uint64_t *pte = vmm_kernel_pte(m, addr, false, NULL);
		uint64_t run = PTRS_PER_PTE - ((addr >> PAGE_SHIFT) & (PTRS_PER_PTE - 1));

		if (run > vm->nr_mapped - i)
			run = vm->nr_mapped - i;
		for (uint64_t k = 0; k < run; k++) {
			const struct vmm_page *page = vm->pages[i + k];
			uint64_t pfn = checked_pfn(m, page);
			uint64_t want = (pfn << PAGE_SHIFT) | vm->prot;

			if (pfn == UINT64_MAX) {
				PROBLEM(c,
					"page %" PRIu64 " of %#" PRIx64
					" is no page of the machine",
					i + k, vm->addr);
				continue;
			}
			if (!pte || pte[k] != want)
				PROBLEM(c,
					"PTE of %#" PRIx64 " (page %" PRIu64 " of %#" PRIx64 ") is "
					"%#" PRIx64 ", want %#" PRIx64,
					addr + (k << PAGE_SHIFT), i + k, vm->addr, pte ? pte[k] : 0,
					want);
			if (vm->flags & VMM_VM_ALLOC) {
				if (page->refcount < 1 || PageBuddy(page) || page->page_type ||
				    (page->compound &
				     (VMM_PAGE_PCP | VMM_PAGE_TAIL | VMM_PAGE_QUARANTINE |
				      VMM_PAGE_ALLOC_ORDER)) ||
				    page_flag(page, VMM_PG_reserved)) {
					char buf[384];

					vmm_format_page(m, page, buf, sizeof(buf));
					PROBLEM(c,
						"page %" PRIu64 " of vmalloc area %#" PRIx64
						" is not "
						"an allocated order-0 page: %s",
						i + k, vm->addr, buf);
				}
			} else if (!page_in_use(m, pfn)) {
				PROBLEM(c,
					"page %" PRIu64 " (pfn %#" PRIx64 ") of vmap area %#" PRIx64
					" is free",
					i + k, pfn, vm->addr);
			}
		}
		i += run;
	}
	c->leaves += vm->nr_mapped;
	end_mapped = vm->addr + ((uint64_t)vm->nr_mapped << PAGE_SHIFT);
	if (!range_unmapped(m, end_mapped, va->va_end, &where))
		PROBLEM(c, "%#" PRIx64 " in the guard of area %#" PRIx64 "-%#" PRIx64 " is mapped",
			where, va->va_start, va->va_end);
}

/* The busy tree, list and vm_struct list: sorted, not overlapping, in step. */
static void check_busy(struct vcheck *c)
{
	const struct vmm_vmalloc *v = &c->m->vmalloc;
	const struct vmm_list *l = v->busy_list.next, *vl = v->vmlist.next;
	uint64_t prev_end = v->start, n = 0, pages = 0;
	const char *why;

	if (vmm_rb_verify(&v->busy_root, NULL, &why))
		PROBLEM(c, "busy tree: %s", why);
	for (struct vmm_rb_node *p = vmm_rb_first(&v->busy_root); p; p = vmm_rb_next(p), n++) {
		struct vmm_vmap_area *va = va_of(p);

		if (l == &v->busy_list || va_of_list((struct vmm_list *)l) != va) {
			PROBLEM(c, "busy list out of step with the busy tree at %#" PRIx64,
				va->va_start);
			return;
		}
		l = l->next;
		if (va->state != VA_BUSY || va->va_start < prev_end || va->va_end <= va->va_start ||
		    va->va_end > v->end || (va->va_start | va->va_end) & (PAGE_SIZE - 1))
			PROBLEM(c,
				"busy area %#" PRIx64 "-%#" PRIx64 " (state %u) overlaps, is out "
				"of order or out of the area",
				va->va_start, va->va_end, va->state);
		prev_end = va->va_end;
		if (va->vm &&
		    (vl == &v->vmlist ||
		     vmm_list_entry((struct vmm_list *)vl, struct vmm_vm_struct, list) != va->vm))
			PROBLEM(c, "vm_struct list out of step with the busy tree at %#" PRIx64,
				va->va_start);
		else if (va->vm)
			vl = vl->next;
		check_busy_area(c, va);
		if (va->vm && (va->vm->flags & VMM_VM_ALLOC))
			pages += va->vm->nr_pages;
	}
	if (l != &v->busy_list || vl != &v->vmlist || n != v->nr_busy)
		PROBLEM(c,
			"%" PRIu64 " busy areas in the tree, %" PRIu64 " counted; list or "
			"vm_struct list longer",
			n, v->nr_busy);
	if (pages != v->nr_vmalloc_pages)
		PROBLEM(c, "vmalloc areas hold %" PRIu64 " pages, VmallocUsed counts %" PRIu64,
			pages, v->nr_vmalloc_pages);
}

/* subtree_max_size from scratch; a stored one that differs is a problem. */
static uint64_t check_subtree(struct vcheck *c, const struct vmm_rb_node *n)
{
	const struct vmm_vmap_area *va;
	uint64_t l, r, want;

	if (!n)
		return 0;
	va = vmm_rb_entry(n, struct vmm_vmap_area, rb_node);
	l = check_subtree(c, n->left);
	r = check_subtree(c, n->right);
	want = VMM_MAX(va_size(va), VMM_MAX(l, r));
	if (va->subtree_max_size != want)
		PROBLEM(c,
			"free range %#" PRIx64 "-%#" PRIx64 ": subtree_max_size %#" PRIx64
			", want %#" PRIx64,
			va->va_start, va->va_end, va->subtree_max_size, want);
	return want;
}

/* The free tree and list: sorted, in step, never touching, augmented right. */
static void check_free(struct vcheck *c)
{
	const struct vmm_vmalloc *v = &c->m->vmalloc;
	const struct vmm_list *l = v->free_list.next;
	uint64_t prev_end = 0, n = 0;
	const char *why;

	if (vmm_rb_verify(&v->free_root, NULL, &why))
		PROBLEM(c, "free tree: %s", why);
	for (struct vmm_rb_node *p = vmm_rb_first(&v->free_root); p; p = vmm_rb_next(p), n++) {
		struct vmm_vmap_area *va = va_of(p);

		if (l == &v->free_list || va_of_list((struct vmm_list *)l) != va) {
			PROBLEM(c, "free list out of step with the free tree at %#" PRIx64,
				va->va_start);
			return;
		}
		l = l->next;
		if (va->state != VA_FREE || va->va_end <= va->va_start || va->va_start < v->start ||
		    va->va_end > v->end || (n && va->va_start <= prev_end) ||
		    (va->va_start | va->va_end) & (PAGE_SIZE - 1))
			PROBLEM(c,
				"free range %#" PRIx64 "-%#" PRIx64 " (state %u) overlaps or "
				"touches the previous one, or lies outside the area",
				va->va_start, va->va_end, va->state);
		prev_end = va->va_end;
	}
	if (l != &v->free_list || n != v->nr_free)
		PROBLEM(c, "%" PRIu64 " free ranges in the tree, %" PRIu64 " counted", n,
			v->nr_free);
	check_subtree(c, v->free_root.node);
}

/* The lazy list: counted right, inside the recorded span, PTEs clear. Fills c->lazy. */
static void check_lazy(struct vcheck *c)
{
	struct vmm_vmalloc *v = &c->m->vmalloc;
	struct vmm_list *pos;
	uint64_t n = 0, pages = 0, where;

	vmm_list_for_each(pos, &v->lazy_list) {
		struct vmm_vmap_area *va = va_of_list(pos);

		if (n < c->nr_lazy)
			c->lazy[n] = va;
		n++;
		pages += va_size(va) >> PAGE_SHIFT;
		if (va->state != VA_LAZY || va->vm || va->va_end <= va->va_start ||
		    va->va_start < v->lazy_start || va->va_end > v->lazy_end)
			PROBLEM(c,
				"lazy area %#" PRIx64 "-%#" PRIx64
				" (state %u) is outside the lazy "
				"span %#" PRIx64 "-%#" PRIx64 " or still has a vm_struct",
				va->va_start, va->va_end, va->state, v->lazy_start, v->lazy_end);
		if (!range_unmapped(c->m, va->va_start, va->va_end, &where))
			PROBLEM(c,
				"%#" PRIx64 " of the lazily freed area %#" PRIx64 "-%#" PRIx64
				" is still mapped",
				where, va->va_start, va->va_end);
	}
	if (n != v->nr_lazy || pages != v->lazy_nr)
		PROBLEM(c,
			"%" PRIu64 " lazy areas of %" PRIu64 " pages, %" PRIu64 " and %" PRIu64
			" counted",
			n, pages, v->nr_lazy, v->lazy_nr);
	if (v->lazy_nr > v->lazy_max)
		PROBLEM(c,
			"%" PRIu64 " lazily freed pages, above lazy_max_pages %" PRIu64
			" and not purged",
			v->lazy_nr, v->lazy_max);
	c->nr_lazy = VMM_MIN(n, c->nr_lazy);
	if (c->nr_lazy)
		qsort(c->lazy, c->nr_lazy, sizeof(c->lazy[0]), cmp_va_start);
}

/* Busy, lazy and free ranges tile [start, end) exactly. */
static void check_tiling(struct vcheck *c)
{
	const struct vmm_vmalloc *v = &c->m->vmalloc;
	const struct vmm_list *b = v->busy_list.next, *f = v->free_list.next;
	uint64_t li = 0, cursor = v->start;

	for (;;) {
		const struct vmm_vmap_area *next = NULL, *cand;

		if (b != &v->busy_list)
			next = va_of_list((struct vmm_list *)b);
		if (f != &v->free_list) {
			cand = va_of_list((struct vmm_list *)f);
			if (!next || cand->va_start < next->va_start)
				next = cand;
		}
		if (li < c->nr_lazy && (!next || c->lazy[li]->va_start < next->va_start))
			next = c->lazy[li];
		if (!next)
			break;
		if (next->va_start != cursor) {
			PROBLEM(c,
				"%s %#" PRIx64 "-%#" PRIx64 " where %#" PRIx64
				" was due: the busy, "
				"lazy and free ranges do not tile the area",
				next->state == VA_FREE	 ? "free range"
				: next->state == VA_BUSY ? "busy area"
							 : "lazy area",
				next->va_start, next->va_end, cursor);
			return;
		}
		cursor = next->va_end;
		if (b != &v->busy_list && next == va_of_list((struct vmm_list *)b))
			b = b->next;
		else if (f != &v->free_list && next == va_of_list((struct vmm_list *)f))
			f = f->next;
		else
			li++;
	}
	if (cursor != v->end)
		PROBLEM(c,
			"nothing covers %#" PRIx64 "-%#" PRIx64 ": the busy, lazy and free ranges "
			"do not tile the area",
			cursor, v->end);
}

static unsigned level_shift(unsigned level)
{
	return PAGE_SHIFT + 9 * (level - 1);
}

/* Count the present leaves below @table (level @level, from @base); large ones are wrong. */
static void count_leaves(struct vcheck *c, vmm_paddr_t table, unsigned level, uint64_t base)
{
	const uint64_t *t = vmm_physmem_host(&c->m->phys, table);

	for (unsigned i = vmm_next_present(t, 0); i < PTRS_PER_PTE; i = vmm_next_present(t, i + 1)) {
		uint64_t e = t[i];

		if (level == 1) {
			c->leaves--;
			continue;
		}
		if (level <= 3 && (e & VMM_PTE_PS)) {
			PROBLEM(c, "a large leaf (level %u) maps %#" PRIx64, level,
				base + ((uint64_t)i << level_shift(level)));
			continue;
		}
		count_leaves(c, e & VMM_PTE_ADDR_MASK, level - 1,
			     base + ((uint64_t)i << level_shift(level)));
	}
}

/* Every present leaf of the vmalloc area is one the busy areas account for. */
static void check_stray_leaves(struct vcheck *c)
{
	struct vmm_machine *m = c->m;
	const unsigned top = m->cfg.paging_levels, shift = level_shift(top);
	const uint64_t *pgd = vmm_physmem_host(&m->phys, m->init_mm.pgd_pa);
	const struct vmm_vmalloc *v = &m->vmalloc;

	/* the area covers whole top-level entries in both layouts */
	for (uint64_t va = v->start; va < v->end && va >= v->start; va += 1ull << shift) {
		uint64_t e = pgd[(va >> shift) & (PTRS_PER_PTE - 1)];

		if (e & VMM_PTE_PRESENT)
			count_leaves(c, e & VMM_PTE_ADDR_MASK, top - 1, va);
	}
	if (c->leaves)
		PROBLEM(c,
			"%" PRId64 " more leaves in the area's tables than its busy areas map "
			"(a mapping no area owns)",
			-(int64_t)c->leaves);
}

struct tlb_visit {
	struct vcheck *c;
	unsigned cpu;
};

static void check_tlb_entry(void *data, struct vmm_tlb_array *a, struct vmm_tlb_entry *e,
			    unsigned pwc_level)
{
	struct tlb_visit *tv = data;
	struct vcheck *c = tv->c;
	const struct vmm_vmalloc *v = &c->m->vmalloc;
	uint64_t base = e->tag & ~(PAGE_SIZE - 1);

	if (pwc_level || base < v->start || base >= v->end)
		return;
	if (e->shift != PAGE_SHIFT || (!find_busy(v, base) && !find_lazy(c, base)))
		PROBLEM(c,
			"cpu%u's %s holds %#" PRIx64 " (page shift %u), which no busy or lazily "
			"freed area covers (a missed flush)",
			tv->cpu, a->name ? a->name : "TLB", base, e->shift);
}

long vmm_vmalloc_check(struct vmm_machine *m, FILE *out)
{
	struct vmm_vmalloc *v = &m->vmalloc;
	struct vcheck c = { .m = m, .out = out };

	if (!v->ready)
		return 0;
	c.nr_lazy = v->nr_lazy;
	if (c.nr_lazy) {
		c.lazy = vmm_hmalloc(&m->hm, c.nr_lazy * sizeof(c.lazy[0]));
		if (!c.lazy) {
			fprintf(out, "vmalloc: no host memory to check the lazy areas\n");
			return 1;
		}
	}
	check_busy(&c);
	check_free(&c);
	check_lazy(&c);
	check_tiling(&c);
	check_stray_leaves(&c);
	for (unsigned cpu = 0; cpu < m->nr_cpus; cpu++) {
		struct tlb_visit tv = { .c = &c, .cpu = cpu };

		vmm_tlb_for_each(&m->mmu.cpus[cpu].tlb, check_tlb_entry, &tv);
	}
	for (unsigned cpu = 0; cpu < m->nr_cpus; cpu++)
		if (v->preload[cpu] &&
		    (v->preload[cpu]->state != VA_SPARE || !v->preload[cpu]->shadow))
			PROBLEM(&c, "cpu%u's preloaded vmap_area is in use", cpu);
	if (c.lazy)
		vmm_hfree(&m->hm, c.lazy, v->nr_lazy * sizeof(c.lazy[0]));
	return c.problems;
}

/* ---- digest and /proc/vmallocinfo ---- */

void vmm_vmalloc_digest(const struct vmm_machine *m, struct XXH3_state_s *st)
{
	const struct vmm_vmalloc *v = &m->vmalloc;
	const struct vmm_list *pos;
	uint64_t head[9] = { v->nr_busy,  v->nr_free,	       v->nr_lazy,
			     v->lazy_nr,  v->lazy_start,       v->lazy_end,
			     v->lazy_max, v->nr_vmalloc_pages, v->ready };

	XXH3_64bits_update(st, head, sizeof(head));
	XXH3_64bits_update(st, &v->stats, sizeof(v->stats));
	if (!v->ready)
		return;
	vmm_list_for_each(pos, &v->busy_list) {
		const struct vmm_vmap_area *va = va_of_list((struct vmm_list *)pos);
		const struct vmm_vm_struct *vm = va->vm;
		uint64_t w[10] = {
			va->va_start,	va->va_end,	    va->shadow,	  vm->shadow,
			vm->flags,	vm->nr_pages,	    vm->nr_mapped, vm->prot,
			vm->pages_shadow, vm->page_array,
		};

		XXH3_64bits_update(st, w, sizeof(w));
		for (uint32_t i = 0; i < vm->nr_mapped; i++) {
			uint64_t pfn = page_to_pfn(&m->sparse, vm->pages[i]);

			XXH3_64bits_update(st, &pfn, sizeof(pfn));
		}
	}
	vmm_list_for_each(pos, &v->free_list) {
		const struct vmm_vmap_area *va = va_of_list((struct vmm_list *)pos);
		uint64_t w[4] = { va->va_start, va->va_end, va->subtree_max_size, va->shadow };

		XXH3_64bits_update(st, w, sizeof(w));
	}
	vmm_list_for_each(pos, &v->lazy_list) {
		const struct vmm_vmap_area *va = va_of_list((struct vmm_list *)pos);
		uint64_t w[3] = { va->va_start, va->va_end, va->shadow };

		XXH3_64bits_update(st, w, sizeof(w));
	}
	for (unsigned c = 0; c < m->nr_cpus; c++) {
		uint64_t s = v->preload[c] ? v->preload[c]->shadow : 0;

		XXH3_64bits_update(st, &s, sizeof(s));
	}
}

/*
 * Linux's vmalloc_info_show(), for every busy area in address order:
 * "0x%px-0x%px %7ld %pS pages=%d ... vmalloc vmap user vpages N<nid>=<pages>",
 * then show_purge_info()'s "unpurged vm_area" line for each lazily freed
 * area. %pS, the caller's symbol, is the name of the libvmm entry point
 * that made the area (vmm_vmalloc, vmm_vzalloc, vmm_vmalloc_node,
 * vmm_vmalloc_user, vmm_vmap), without an offset: the simulated kernel has
 * no symbols of its own. A page array that was vmalloc'd shows its area's
 * caller, as Linux passes it down.
 */
int vmm_vmalloc_dump_info(struct vmm_machine *m, FILE *out)
{
	struct vmm_vmalloc *v = &m->vmalloc;
	struct vmm_vmap_area **lazy = NULL;
	unsigned counters[VMM_MAX_NUMNODES];
	const struct vmm_list *pos;
	uint64_t n = 0;

	if (!v->ready)
		return 0;
	vmm_list_for_each(pos, &v->busy_list) {
		const struct vmm_vm_struct *vm = va_of_list((struct vmm_list *)pos)->vm;

		fprintf(out, "0x%016" PRIx64 "-0x%016" PRIx64 " %7" PRIu64, vm->addr,
			vm->addr + vm->size, vm->size);
		if (vm->caller)
			fprintf(out, " %s", vm->caller);
		if (vm->nr_pages)
			fprintf(out, " pages=%u", vm->nr_pages);
		if (vm->flags & VMM_VM_ALLOC)
			fputs(" vmalloc", out);
		if (vm->flags & VMM_VM_MAP)
			fputs(" vmap", out);
		if (vm->flags & VMM_VM_USERMAP)
			fputs(" user", out);
		if (vm->pages_vmalloced)
			fputs(" vpages", out);
		/* show_numa_info() */
		memset(counters, 0, sizeof(counters));
		for (uint32_t i = 0; i < vm->nr_pages; i++)
			counters[vmm_page_to_nid(m, vm->pages[i])]++;
		for (unsigned nid = 0; nid < m->nr_nodes; nid++)
			if (counters[nid])
				fprintf(out, " N%u=%u", nid, counters[nid]);
		fputc('\n', out);
	}
	if (v->nr_lazy)
		lazy = vmm_hmalloc(&m->hm, v->nr_lazy * sizeof(lazy[0]));
	vmm_list_for_each(pos, &v->lazy_list)
		if (lazy)
			lazy[n++] = va_of_list((struct vmm_list *)pos);
	if (n)
		qsort(lazy, n, sizeof(lazy[0]), cmp_va_start);
	for (uint64_t i = 0; i < n; i++)
		fprintf(out, "0x%016" PRIx64 "-0x%016" PRIx64 " %7" PRIu64 " unpurged vm_area\n",
			lazy[i]->va_start, lazy[i]->va_end, va_size(lazy[i]));
	if (lazy)
		vmm_hfree(&m->hm, lazy, v->nr_lazy * sizeof(lazy[0]));
	return 0;
}
