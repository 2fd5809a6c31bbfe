/* SPDX-License-Identifier: MIT */
/*
 * The VMAs of an mm (vma.h).
 *
 * The VMAs sit in two structures at once: a doubly linked list in address
 * order (what the 2.6 kernels of seed 001 walk as vm_next) and an augmented
 * treap keyed by vm_start. Each tree node keeps the largest free gap found
 * before any VMA of its subtree, where the gap before a VMA runs from the end
 * of the previous VMA to vm_start_gap() of this one (a growsdown VMA keeps
 * stack_guard_gap free below it). That is what Linux's rb_subtree_gap was
 * before the maple tree, and it lets the free-area search skip every
 * subtree whose gaps are too small: O(log n) per search.
 *
 * Merging follows Linux 6.x's mm/vma.c: a new range merges with prev when
 * prev ends at its start with the same flags (soft-dirty aside), file and
 * contiguous file offset, and compatible anon_vmas; with next likewise; with
 * both when prev's and next's anon_vmas are compatible too. An existing
 * range whose flags change merges only at the VMA's edges. Special mappings
 * never merge.
 */
#include "mm/vma.h"

#include <inttypes.h>
#include <string.h>

#include <vmm/errors.h>

#include "lib/compiler.h"
#include "lib/prng.h"
#include "machine.h"

#define NODE_VMA(n) container_of(n, struct vmm_vma, node)

/* ---- allocation ---- */

static vmm_vaddr_t shadow_alloc(struct vmm_kmem_cache *c)
{
	return c ? vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL) : 1;
}

static void shadow_free(struct vmm_kmem_cache *c, vmm_vaddr_t obj)
{
	if (c && obj)
		vmm_kmem_cache_free(c, obj);
}

struct vmm_vma *vma_alloc(struct vmm_mm *mm)
{
	struct vmm_machine *m = mm->m;
	struct vmm_vma *v = vmm_hzalloc(&m->hm, sizeof(*v));
	uint64_t seed;

	if (!v)
		return NULL;
	v->shadow = shadow_alloc(m->tasks.vma_cache);
	if (!v->shadow) {
		vmm_hfree(&m->hm, v, sizeof(*v));
		return NULL;
	}
	v->vm_mm = mm;
	vmm_list_init(&v->shared);
	/* a deterministic priority: the mm's own serial, mixed */
	seed = ++mm->vma_serial;
	v->node.prio = vmm_splitmix64(&seed);
	return v;
}

static void anon_vma_put(struct vmm_machine *m, struct vmm_anon_vma *av)
{
	while (av && --av->refcount == 0) {
		struct vmm_anon_vma *parent = av->parent;

		if (parent)
			parent->num_children--;
		shadow_free(m->tasks.anon_vma_cache, av->shadow);
		vmm_hfree(&m->hm, av, sizeof(*av));
		av = parent;
	}
}

/* unlink_anon_vmas() */
void vmm_vma_unlink_anon(struct vmm_vma *v)
{
	struct vmm_machine *m = v->vm_mm->m;

	for (uint32_t i = 0; i < v->nr_avc; i++) {
		shadow_free(m->tasks.avc_cache, v->avc_shadow[i]);
		anon_vma_put(m, v->avc[i]);
	}
	if (v->avc_cap) {
		vmm_hfree(&m->hm, v->avc, v->avc_cap * sizeof(*v->avc));
		vmm_hfree(&m->hm, v->avc_shadow, v->avc_cap * sizeof(*v->avc_shadow));
	}
	v->avc = NULL;
	v->avc_shadow = NULL;
	v->nr_avc = v->avc_cap = 0;
	v->anon_vma = NULL;
}

void vma_free(struct vmm_vma *v)
{
	struct vmm_machine *m;

	if (!v)
		return;
	m = v->vm_mm->m;
	if (v->vm_file)
		m->tasks.file_ops->vma_close(v);
	vmm_vma_unlink_anon(v);
	shadow_free(m->tasks.vma_cache, v->shadow);
	vmm_hfree(&m->hm, v, sizeof(*v));
}

/* anon_vma_chain_link(): add @av to @v's chain. */
static int avc_link(struct vmm_vma *v, struct vmm_anon_vma *av)
{
	struct vmm_machine *m = v->vm_mm->m;
	vmm_vaddr_t shadow;

	if (v->nr_avc == v->avc_cap) {
		uint32_t cap = v->avc_cap ? v->avc_cap * 2 : 2;
		struct vmm_anon_vma **a = vmm_hcalloc(&m->hm, cap, sizeof(*a));
		vmm_vaddr_t *s = vmm_hcalloc(&m->hm, cap, sizeof(*s));

		if (!a || !s) {
			if (a)
				vmm_hfree(&m->hm, a, cap * sizeof(*a));
			if (s)
				vmm_hfree(&m->hm, s, cap * sizeof(*s));
			return -VMM_ENOMEM;
		}
		if (v->avc_cap) {
			memcpy(a, v->avc, v->nr_avc * sizeof(*a));
			memcpy(s, v->avc_shadow, v->nr_avc * sizeof(*s));
			vmm_hfree(&m->hm, v->avc, v->avc_cap * sizeof(*a));
			vmm_hfree(&m->hm, v->avc_shadow, v->avc_cap * sizeof(*s));
		}
		v->avc = a;
		v->avc_shadow = s;
		v->avc_cap = cap;
	}
	shadow = shadow_alloc(m->tasks.avc_cache);
	if (!shadow)
		return -VMM_ENOMEM;
	v->avc[v->nr_avc] = av;
	v->avc_shadow[v->nr_avc++] = shadow;
	av->refcount++;
	return 0;
}

static struct vmm_anon_vma *anon_vma_alloc(struct vmm_machine *m, struct vmm_anon_vma *parent)
{
	struct vmm_anon_vma *av = vmm_hzalloc(&m->hm, sizeof(*av));

	if (!av)
		return NULL;
	av->shadow = shadow_alloc(m->tasks.anon_vma_cache);
	if (!av->shadow) {
		vmm_hfree(&m->hm, av, sizeof(*av));
		return NULL;
	}
	av->id = ++m->tasks.next_anon_vma_id;
	av->root = parent ? parent->root : av;
	av->parent = parent;
	if (parent) {
		parent->num_children++;
		parent->refcount++;
	}
	return av;
}

/* anon_vma_clone(): @dst gets @src's chain and anon_vma. */
static int anon_vma_clone(struct vmm_vma *dst, const struct vmm_vma *src)
{
	for (uint32_t i = 0; i < src->nr_avc; i++) {
		int err = avc_link(dst, src->avc[i]);

		if (err) {
			vmm_vma_unlink_anon(dst);
			return err;
		}
	}
	dst->anon_vma = src->anon_vma;
	return 0;
}

struct vmm_vma *vma_dup_into(struct vmm_mm *mm, struct vmm_vma *src)
{
	struct vmm_vma *v = vma_alloc(mm);

	if (!v)
		return NULL;
	v->vm_start = src->vm_start;
	v->vm_end = src->vm_end;
	v->vm_pgoff = src->vm_pgoff;
	v->vm_flags = src->vm_flags;
	v->vm_file = src->vm_file;
	v->special_name = src->special_name;
	v->ino = src->ino;
	v->shm_pages = src->shm_pages;
	v->writenotify = src->writenotify;
	if (v->vm_file)
		mm->m->tasks.file_ops->vma_open(v);
	if (anon_vma_clone(v, src)) {
		vma_free(v);
		return NULL;
	}
	return v;
}

struct vmm_vma *vma_dup(struct vmm_vma *src)
{
	return vma_dup_into(src->vm_mm, src);
}

/* ---- the tree ---- */

/* The free bytes right below @v (the guard gap of a growsdown VMA counts as free here). */
static uint64_t vma_own_gap(const struct vmm_vma *v)
{
	uint64_t lo = v->vm_prev ? v->vm_prev->vm_end : 0, hi = v->vm_start;

	return hi > lo ? hi - lo : 0;
}

static void vma_augment(struct vmm_augnode *n)
{
	struct vmm_vma *v = NODE_VMA(n);
	uint64_t g = vma_own_gap(v);

	if (n->left && NODE_VMA(n->left)->subtree_gap > g)
		g = NODE_VMA(n->left)->subtree_gap;
	if (n->right && NODE_VMA(n->right)->subtree_gap > g)
		g = NODE_VMA(n->right)->subtree_gap;
	v->subtree_gap = g;
}

static bool vma_less(const struct vmm_augnode *a, const struct vmm_augnode *b)
{
	return NODE_VMA(a)->vm_start < NODE_VMA(b)->vm_start;
}

static void gap_update(struct vmm_mm *mm, struct vmm_vma *v)
{
	if (v)
		vmm_augtree_propagate(&mm->tree, &v->node);
}

void vma_link(struct vmm_mm *mm, struct vmm_vma *v)
{
	vmm_charge(mm->m, VMM_CYC_OTHER, mm->m->clock.cost.vma_op);
	struct vmm_vma *prev, *next;

	if (!mm->tree.update)
		vmm_augtree_init(&mm->tree, vma_augment);
	next = vmm_vma_find(mm, v->vm_start);
	prev = next ? next->vm_prev : vmm_vma_last(mm);
	v->vm_prev = prev;
	v->vm_next = next;
	if (prev)
		prev->vm_next = v;
	else
		mm->mmap = v;
	if (next)
		next->vm_prev = v;
	vmm_augtree_insert(&mm->tree, &v->node, vma_less);
	gap_update(mm, next);
	mm->map_count++;
}

void vma_unlink(struct vmm_mm *mm, struct vmm_vma *v)
{
	vmm_charge(mm->m, VMM_CYC_OTHER, mm->m->clock.cost.vma_op);
	struct vmm_vma *next = v->vm_next;

	vmm_augtree_erase(&mm->tree, &v->node);
	if (v->vm_prev)
		v->vm_prev->vm_next = next;
	else
		mm->mmap = next;
	if (next)
		next->vm_prev = v->vm_prev;
	v->vm_prev = v->vm_next = NULL;
	gap_update(mm, next);
	mm->map_count--;
}

void vma_set_range(struct vmm_vma *v, uint64_t start, uint64_t end, uint64_t pgoff)
{
	vmm_charge(v->vm_mm->m, VMM_CYC_OTHER, v->vm_mm->m->clock.cost.vma_op);
	v->vm_start = start;
	v->vm_end = end;
	v->vm_pgoff = pgoff;
	gap_update(v->vm_mm, v);
	gap_update(v->vm_mm, v->vm_next);
}

struct vmm_vma *vmm_vma_find(struct vmm_mm *mm, uint64_t addr)
{
	struct vmm_augnode *n = mm->tree.root;
	struct vmm_vma *best = NULL;

	while (n) {
		struct vmm_vma *v = NODE_VMA(n);

		if (v->vm_end > addr) {
			best = v;
			if (v->vm_start <= addr)
				break;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

struct vmm_vma *vmm_vma_last(struct vmm_mm *mm)
{
	struct vmm_augnode *n = vmm_augtree_last(&mm->tree);

	return n ? NODE_VMA(n) : NULL;
}

struct vmm_vma *vmm_vma_find_prev(struct vmm_mm *mm, uint64_t addr, struct vmm_vma **prev)
{
	struct vmm_vma *v = vmm_vma_find(mm, addr);

	*prev = v ? v->vm_prev : vmm_vma_last(mm);
	return v;
}

struct vmm_vma *vmm_vma_find_intersection(struct vmm_mm *mm, uint64_t start, uint64_t end)
{
	struct vmm_vma *v = vmm_vma_find(mm, start);

	return v && v->vm_start < end ? v : NULL;
}

/* ---- free-area search ---- */

/*
 * The search works as Linux's maple-tree version does: find the highest (or
 * lowest) run of free addresses of the length asked for, clamped to the
 * limits, then look at the VMA above it. If that one grows down and its
 * guard gap reaches into the run, the upper limit drops to the bottom of the
 * guard gap and the search starts again (bottom-up: the lower limit rises
 * above that VMA). So nothing is ever placed inside a stack's guard gap,
 * even where other VMAs sit inside the gap too.
 */
struct gap_search {
	bool topdown;
	uint64_t length;		/* info->length + align_mask */
	uint64_t low, high;
};

static uint64_t gap_lo(const struct vmm_vma *v)
{
	return v->vm_prev ? v->vm_prev->vm_end : 0;
}

/* Whether the free run [lo, hi) clamped to the limits holds s->length bytes. */
static bool gap_fits(const struct gap_search *s, uint64_t lo, uint64_t hi)
{
	lo = VMM_MAX(lo, s->low);
	hi = VMM_MIN(hi, s->high);
	return hi > lo && hi - lo >= s->length;
}

/* The VMA of the subtree at @n with the highest (lowest) fitting run below it, or NULL. */
static const struct vmm_vma *gap_search(const struct gap_search *s, const struct vmm_augnode *n)
{
	const struct vmm_vma *v, *r;
	const struct vmm_augnode *first, *second;

	if (!n || NODE_VMA(n)->subtree_gap < s->length)
		return NULL;
	v = NODE_VMA(n);
	first = s->topdown ? n->right : n->left;
	second = s->topdown ? n->left : n->right;
	/* a subtree wholly outside the limits has nothing to give */
	if (!(s->topdown && gap_lo(v) >= s->high) && !(!s->topdown && v->vm_start <= s->low))
		if ((r = gap_search(s, first)))
			return r;
	if (gap_fits(s, gap_lo(v), v->vm_start))
		return v;
	if (s->topdown ? v->vm_start <= s->low : gap_lo(v) >= s->high)
		return NULL;
	return gap_search(s, second);
}

/* The run found: [*lo, *hi) clamped, and the VMA above it (NULL: above the last VMA). */
static bool find_gap(struct vmm_mm *mm, const struct gap_search *s, uint64_t *lo, uint64_t *hi,
		     const struct vmm_vma **next)
{
	const struct vmm_vma *last = vmm_vma_last(mm), *v;
	uint64_t top_lo = last ? last->vm_end : 0;

	if (s->topdown && gap_fits(s, top_lo, UINT64_MAX))
		v = NULL;
	else if ((v = gap_search(s, mm->tree.root)))
		top_lo = gap_lo(v);
	else if (s->topdown || !gap_fits(s, top_lo, UINT64_MAX))
		return false;
	*lo = VMM_MAX(top_lo, s->low);
	*hi = VMM_MIN(v ? v->vm_start : UINT64_MAX, s->high);
	*next = v;
	return true;
}

uint64_t vmm_unmapped_area(struct vmm_mm *mm, const struct unmapped_area_info *info)
{
	struct gap_search s = { .topdown = info->topdown };
	const struct vmm_vma *next;
	uint64_t lo, hi, a;

	s.length = info->length + info->align_mask;
	if (s.length < info->length)
		return (uint64_t)-VMM_ENOMEM;
	s.low = VMM_MAX(info->low_limit, mm->m->tasks.sysctl.mmap_min_addr);
	s.high = info->high_limit;
	while (find_gap(mm, &s, &lo, &hi, &next)) {
		bool guarded = next && (next->vm_flags & VMM_VM_GROWSDOWN);

		if (info->topdown) {
			a = hi - info->length;
			a -= (a - info->align_offset) & info->align_mask;
			if (guarded && vm_start_gap(next) < hi) {
				s.high = vm_start_gap(next);
				continue;
			}
		} else {
			a = lo + ((info->align_offset - lo) & info->align_mask);
			if (guarded && vm_start_gap(next) < a + s.length - 1) {
				s.low = next->vm_end;
				continue;
			}
		}
		return a;
	}
	return (uint64_t)-VMM_ENOMEM;
}

/* ---- anon_vma ---- */

/* anon_vma_compatible(): @a directly below @b, differing only in access rights. */
static bool anon_vma_compatible(const struct vmm_vma *a, const struct vmm_vma *b)
{
	return a->vm_end == b->vm_start && a->vm_file == b->vm_file && a->ino == b->ino &&
	       !((a->vm_flags ^ b->vm_flags) & ~(VM_ACCESS_FLAGS | VMM_VM_SOFTDIRTY)) &&
	       b->vm_pgoff == a->vm_pgoff + ((b->vm_start - a->vm_start) >> PAGE_SHIFT);
}

static struct vmm_anon_vma *reusable_anon_vma(const struct vmm_vma *old, const struct vmm_vma *a,
					      const struct vmm_vma *b)
{
	if (anon_vma_compatible(a, b) && old->anon_vma && old->nr_avc == 1)
		return old->anon_vma;
	return NULL;
}

int vmm_anon_vma_attach(struct vmm_vma *v)
{
	struct vmm_machine *m = v->vm_mm->m;
	struct vmm_anon_vma *av = NULL;
	bool fresh = false;
	int err;

	/* find_mergeable_anon_vma(): next first, then prev */
	if (v->vm_next)
		av = reusable_anon_vma(v->vm_next, v, v->vm_next);
	if (!av && v->vm_prev)
		av = reusable_anon_vma(v->vm_prev, v->vm_prev, v);
	if (!av) {
		av = anon_vma_alloc(m, NULL);
		if (!av)
			return -VMM_ENOMEM;
		fresh = true;
	}
	err = avc_link(v, av);
	if (err) {
		if (fresh) {
			av->refcount = 1;
			anon_vma_put(m, av);
		}
		return err;
	}
	v->anon_vma = av;
	return 0;
}

int vmm_anon_vma_fork(struct vmm_vma *dst, struct vmm_vma *src)
{
	struct vmm_anon_vma *av;
	int err;

	if (!src->anon_vma)
		return 0;
	/* dst came from vma_dup(), which cloned the chain; add dst's own anon_vma */
	av = anon_vma_alloc(dst->vm_mm->m, src->anon_vma);
	if (!av)
		return -VMM_ENOMEM;
	err = avc_link(dst, av);
	if (err) {
		av->refcount = 1;
		anon_vma_put(dst->vm_mm->m, av);
		return err;
	}
	dst->anon_vma = av;
	return 0;
}

/* vma_had_uncowed_parents() */
static bool had_uncowed_parents(const struct vmm_vma *v)
{
	return v && v->anon_vma && v->nr_avc != 1;
}

/* is_mergeable_anon_vma(): may @tgt and the range (anon_vma @src_anon, VMA @src) share one? */
static bool anon_mergeable(const struct vmm_vma *tgt, struct vmm_anon_vma *src_anon,
			   const struct vmm_vma *src)
{
	if (!tgt->anon_vma && src_anon)
		return !had_uncowed_parents(src);
	if (tgt->anon_vma && !src_anon)
		return !had_uncowed_parents(tgt);
	return src_anon == tgt->anon_vma;
}

/* are_anon_vmas_compatible(): prev and next joined through the range. */
static bool anon_vmas_compatible(const struct vmm_vma *a, const struct vmm_vma *b)
{
	if (!a->anon_vma || !b->anon_vma)
		return (!a->anon_vma || a->nr_avc == 1) && (!b->anon_vma || b->nr_avc == 1);
	return a->anon_vma == b->anon_vma;
}

/* is_mergeable_vma(): same flags (soft-dirty aside) and file. */
static bool flags_mergeable(const struct vmm_vma *v, const struct vma_merge_req *r)
{
	return !((v->vm_flags ^ r->vm_flags) & ~VMM_VM_SOFTDIRTY) && v->vm_file == r->file &&
	       v->ino == r->ino && !v->special_name;
}

static bool can_merge_left(const struct vma_merge_req *r)
{
	const struct vmm_vma *p = r->prev;

	return p && p->vm_end == r->start && flags_mergeable(p, r) &&
	       anon_mergeable(p, r->anon_vma, r->middle) && p->vm_pgoff + vma_pages(p) == r->pgoff;
}

static bool can_merge_right(const struct vma_merge_req *r, bool left)
{
	const struct vmm_vma *n = r->next;

	if (!n || n->vm_start != r->end || !flags_mergeable(n, r) ||
	    !anon_mergeable(n, r->anon_vma, r->middle) ||
	    n->vm_pgoff != r->pgoff + ((r->end - r->start) >> PAGE_SHIFT))
		return false;
	return !left || anon_vmas_compatible(r->prev, n);
}

/* dup_anon_vma(): @dst takes @src's anon_vma when it has none. */
static int dup_anon_vma(struct vmm_vma *dst, const struct vmm_vma *src)
{
	if (!src || !src->anon_vma || dst->anon_vma)
		return 0;
	return anon_vma_clone(dst, src);
}

/* Remove a VMA a merge swallowed. */
static void vma_remove(struct vmm_mm *mm, struct vmm_vma *v)
{
	vma_unlink(mm, v);
	vma_free(v);
}

struct vmm_vma *vmm_vma_merge_new(struct vmm_mm *mm, struct vma_merge_req *r)
{
	struct vmm_vma *prev = r->prev, *next = r->next;
	bool left, right;

	if ((r->vm_flags & VM_SPECIAL) || (!prev && !next))
		return NULL;
	left = can_merge_left(r);
	right = !r->just_expand && can_merge_right(r, left);
	if (left && right) {
		uint64_t end = next->vm_end;

		if (dup_anon_vma(prev, next))
			return NULL;
		vma_remove(mm, next);
		vma_set_range(prev, prev->vm_start, end, prev->vm_pgoff);
		return prev;
	}
	if (left) {
		vma_set_range(prev, prev->vm_start, r->end, prev->vm_pgoff);
		return prev;
	}
	if (right) {
		vma_set_range(next, r->start, next->vm_end, r->pgoff);
		return next;
	}
	return NULL;
}

/* ---- splitting ---- */

int vmm_vma_split(struct vmm_mm *mm, struct vmm_vma *v, uint64_t addr, bool new_below)
{
	struct vmm_vma *n = vma_dup(v);
	uint64_t delta = (addr - v->vm_start) >> PAGE_SHIFT;

	if (!n)
		return -VMM_ENOMEM;
	if (new_below) {
		n->vm_end = addr;
		vma_set_range(v, addr, v->vm_end, v->vm_pgoff + delta);
	} else {
		n->vm_start = addr;
		n->vm_pgoff += delta;
		vma_set_range(v, v->vm_start, addr, v->vm_pgoff);
	}
	vma_link(mm, n);
	return 0;
}

int vmm_vma_split_checked(struct vmm_mm *mm, struct vmm_vma *v, uint64_t addr, bool new_below)
{
	if (mm->map_count >= mm->m->tasks.sysctl.max_map_count)
		return -VMM_ENOMEM;
	return vmm_vma_split(mm, v, addr, new_below);
}

/* ---- changing the flags of a range ---- */

/* vma_merge_existing_range(): NULL when no neighbour takes the range. */
static struct vmm_vma *merge_existing(struct vmm_mm *mm, struct vma_merge_req *r)
{
	struct vmm_vma *vma = r->middle, *prev = r->prev, *next = r->next;
	bool left_side = r->start == vma->vm_start, right_side = r->end == vma->vm_end;
	bool left, right;

	if ((r->vm_flags & VM_SPECIAL) || vma->special_name || (!left_side && !right_side))
		return NULL;
	left = left_side && can_merge_left(r);
	right = right_side && can_merge_right(r, left);
	if (left && right) {
		uint64_t end = next->vm_end;

		if (dup_anon_vma(prev, vma) || dup_anon_vma(prev, next))
			return NULL;
		vma_remove(mm, vma);
		vma_remove(mm, next);
		vma_set_range(prev, prev->vm_start, end, prev->vm_pgoff);
		return prev;
	}
	if (left) {
		if (dup_anon_vma(prev, vma))
			return NULL;
		if (right_side)
			vma_remove(mm, vma);
		else
			vma_set_range(vma, r->end, vma->vm_end,
				      vma->vm_pgoff + ((r->end - vma->vm_start) >> PAGE_SHIFT));
		vma_set_range(prev, prev->vm_start, r->end, prev->vm_pgoff);
		return prev;
	}
	if (right) {
		if (dup_anon_vma(next, vma))
			return NULL;
		if (left_side)
			vma_remove(mm, vma);
		else
			vma_set_range(vma, vma->vm_start, r->start, vma->vm_pgoff);
		vma_set_range(next, r->start, next->vm_end, r->pgoff);
		return next;
	}
	return NULL;
}

struct vmm_vma *vmm_vma_modify_flags(struct vmm_mm *mm, struct vmm_vma *prev, struct vmm_vma *vma,
				     uint64_t start, uint64_t end, uint64_t vm_flags, int *err)
{
	struct vma_merge_req r = {
		.prev = start == vma->vm_start ? prev : NULL,
		.next = end == vma->vm_end ? vma->vm_next : NULL,
		.middle = vma,
		.start = start,
		.end = end,
		.pgoff = vma->vm_pgoff + ((start - vma->vm_start) >> PAGE_SHIFT),
		.vm_flags = vm_flags,
		.file = vma->vm_file,
		.ino = vma->ino,
		.anon_vma = vma->anon_vma,
	};
	struct vmm_vma *merged = merge_existing(mm, &r);

	*err = 0;
	if (merged)
		return merged;
	if (vma->vm_start < start && (*err = vmm_vma_split_checked(mm, vma, start, true)))
		return NULL;
	if (vma->vm_end > end && (*err = vmm_vma_split_checked(mm, vma, end, false)))
		return NULL;
	return vma;
}

/* ---- checking ---- */

static long check_vma(struct vmm_mm *mm, const struct vmm_vma *v, FILE *out)
{
	long problems = 0;
	uint64_t g = vma_own_gap(v);
	const struct vmm_augnode *n = &v->node;

	if (n->left && NODE_VMA(n->left)->subtree_gap > g)
		g = NODE_VMA(n->left)->subtree_gap;
	if (n->right && NODE_VMA(n->right)->subtree_gap > g)
		g = NODE_VMA(n->right)->subtree_gap;
	if (v->vm_start >= v->vm_end || (v->vm_start | v->vm_end) & ~PAGE_MASK ||
	    v->vm_end > mm->task_size) {
		fprintf(out, "mm %p: VMA [%#" PRIx64 ", %#" PRIx64 ") is empty, unaligned or beyond "
			     "TASK_SIZE\n",
			(void *)mm, v->vm_start, v->vm_end);
		problems++;
	}
	if (v->vm_prev && v->vm_prev->vm_end > v->vm_start) {
		fprintf(out, "mm %p: VMA [%#" PRIx64 ", %#" PRIx64 ") overlaps or precedes the one "
			     "before it, ending at %#" PRIx64 "\n",
			(void *)mm, v->vm_start, v->vm_end, v->vm_prev->vm_end);
		problems++;
	}
	if (g != v->subtree_gap) {
		fprintf(out, "mm %p: VMA [%#" PRIx64 ", %#" PRIx64 ") records subtree gap %#" PRIx64
			     ", the subtree has %#" PRIx64 "\n",
			(void *)mm, v->vm_start, v->vm_end, v->subtree_gap, g);
		problems++;
	}
	if (v->vm_mm != mm || (v->anon_vma && !v->nr_avc)) {
		fprintf(out, "mm %p: VMA [%#" PRIx64 ", %#" PRIx64 ") has a wrong mm or an anon_vma "
			     "outside its chain\n",
			(void *)mm, v->vm_start, v->vm_end);
		problems++;
	}
	return problems;
}

long vmm_vma_tree_check(struct vmm_mm *mm, FILE *out)
{
	const struct vmm_augnode *n = vmm_augtree_first(&mm->tree);
	const struct vmm_vma *l = mm->mmap, *prev = NULL;
	uint64_t count, listed = 0;
	long problems = 0;

	if (!vmm_augtree_is_valid(&mm->tree, &count)) {
		fprintf(out, "mm %p: VMA tree links or heap order broken\n", (void *)mm);
		return 1;
	}
	for (; l; prev = l, l = l->vm_next, n = n ? vmm_augtree_next(n) : NULL) {
		listed++;
		if (!n || NODE_VMA(n) != l || l->vm_prev != prev) {
			fprintf(out, "mm %p: VMA list and tree disagree at [%#" PRIx64 ", %#" PRIx64 ")\n",
				(void *)mm, l->vm_start, l->vm_end);
			return problems + 1;
		}
		problems += check_vma(mm, l, out);
	}
	if (listed != count || count != mm->map_count) {
		fprintf(out, "mm %p: %" PRIu64 " VMAs listed, %" PRIu64 " in the tree, map_count %" PRIu64
			     "\n",
			(void *)mm, listed, count, mm->map_count);
		problems++;
	}
	return problems;
}
