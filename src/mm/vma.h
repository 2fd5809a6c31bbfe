/* SPDX-License-Identifier: MIT */
/*
 * VMAs of one mm: allocation from the slab caches, the tree with gap
 * tracking and the address-ordered list, lookups, the free-area searches
 * behind get_unmapped_area, merging and splitting (Linux's mm/vma.c), and
 * anon_vma bookkeeping as far as merge decisions and fork need it.
 */
#ifndef VMM_MM_VMA_H
#define VMM_MM_VMA_H

#include <stdio.h>

#include "mm/mm_types.h"

static inline uint64_t vma_pages(const struct vmm_vma *v)
{
	return (v->vm_end - v->vm_start) >> PAGE_SHIFT;
}

static inline bool vma_is_anonymous(const struct vmm_vma *v)
{
	return !v->vm_file && !v->ino && !v->special_name;
}

/* stack_guard_gap in bytes. */
#define STACK_GUARD_GAP ((uint64_t)STACK_GUARD_GAP_PAGES << PAGE_SHIFT)

/* vm_start_gap(): a growsdown VMA keeps the guard gap free below it. */
static inline uint64_t vm_start_gap(const struct vmm_vma *v)
{
	uint64_t s = v->vm_start;

	if (v->vm_flags & VMM_VM_GROWSDOWN)
		s = s > STACK_GUARD_GAP ? s - STACK_GUARD_GAP : 0;
	return s;
}

/* Allocate a blank VMA (host + simulated vm_area_struct); NULL when memory ran out. */
struct vmm_vma *vma_alloc(struct vmm_mm *mm);
/* vm_area_dup(): a copy of @src's fields, unlinked, with its anon_vma chain cloned. */
struct vmm_vma *vma_dup(struct vmm_vma *src);
/* The same for a VMA of another mm (fork). */
struct vmm_vma *vma_dup_into(struct vmm_mm *mm, struct vmm_vma *src);
/* Free an unlinked VMA (its anon_vma chain is released). */
void vma_free(struct vmm_vma *v);

/* Insert @v (fields set) into the tree and list; map_count++. */
void vma_link(struct vmm_mm *mm, struct vmm_vma *v);
/* Remove @v from the tree and list; map_count--. */
void vma_unlink(struct vmm_mm *mm, struct vmm_vma *v);
/* Change @v's range in place (the order of VMAs must stay); gaps are brought up to date. */
void vma_set_range(struct vmm_vma *v, uint64_t start, uint64_t end, uint64_t pgoff);

struct vmm_vma *vmm_vma_find(struct vmm_mm *mm, uint64_t addr);
struct vmm_vma *vmm_vma_find_prev(struct vmm_mm *mm, uint64_t addr, struct vmm_vma **prev);
struct vmm_vma *vmm_vma_find_intersection(struct vmm_mm *mm, uint64_t start, uint64_t end);
/* The last VMA of the mm, or NULL. */
struct vmm_vma *vmm_vma_last(struct vmm_mm *mm);

/* struct vm_unmapped_area_info */
struct unmapped_area_info {
	bool topdown;
	uint64_t length, low_limit, high_limit, align_mask, align_offset;
};
/* vm_unmapped_area(): an address, or -VMM_ENOMEM (as a negative value cast to uint64_t). */
uint64_t vmm_unmapped_area(struct vmm_mm *mm, const struct unmapped_area_info *info);

/* unlink_anon_vmas(): @v leaves its anon_vma chain (and has no anon_vma any more). */
void vmm_vma_unlink_anon(struct vmm_vma *v);
/* __anon_vma_prepare(): give @v, which has none, an anon_vma (a neighbour's when compatible). */
int vmm_anon_vma_attach(struct vmm_vma *v);
/*
 * anon_vma_prepare(): make sure @v has an anon_vma; inline, as Linux has it,
 * since nearly every call finds one. 0 or -VMM_ENOMEM.
 */
static inline int vmm_anon_vma_prepare(struct vmm_vma *v)
{
	return v->anon_vma ? 0 : vmm_anon_vma_attach(v);
}
/* anon_vma_fork(): link @dst (a fork copy of @src) into @src's chain and give it its own. */
int vmm_anon_vma_fork(struct vmm_vma *dst, struct vmm_vma *src);

/* What a merge needs to know about the range it would create or change. */
struct vma_merge_req {
	struct vmm_vma *prev, *next;	/* the neighbours of [start, end), or NULL */
	struct vmm_vma *middle;		/* the VMA being changed (existing-range merges), or NULL */
	uint64_t start, end, pgoff, vm_flags;
	struct vmm_file *file;
	uint64_t ino;			/* the shmem file of a shared anonymous range, or 0 */
	struct vmm_anon_vma *anon_vma;
	bool just_expand;		/* brk: only extend prev */
};
/* vma_merge_new_range(): the VMA now covering [start, end), or NULL when nothing merged. */
struct vmm_vma *vmm_vma_merge_new(struct vmm_mm *mm, struct vma_merge_req *r);
/*
 * vma_modify(): give [start, end) of @vma (prev is the VMA before @vma, or
 * @vma itself when start is inside it) the flags @vm_flags, merging with a
 * neighbour or splitting as Linux does. Returns the VMA now covering the
 * range, or NULL with *err set (-VMM_ENOMEM: max_map_count or memory).
 */
struct vmm_vma *vmm_vma_modify_flags(struct vmm_mm *mm, struct vmm_vma *prev, struct vmm_vma *vma,
				     uint64_t start, uint64_t end, uint64_t vm_flags, int *err);
/*
 * __split_vma(): cut @v at @addr; the new VMA is the part below @addr when
 * @new_below, else the part above. 0 or -VMM_ENOMEM (memory only).
 */
int vmm_vma_split(struct vmm_mm *mm, struct vmm_vma *v, uint64_t addr, bool new_below);
/* split_vma(): as above, refusing when map_count has reached max_map_count. */
int vmm_vma_split_checked(struct vmm_mm *mm, struct vmm_vma *v, uint64_t addr, bool new_below);

/* vma_tree_is_valid(): order, overlap, gaps, links, map_count. Problems described on @out. */
long vmm_vma_tree_check(struct vmm_mm *mm, FILE *out);

#endif /* VMM_MM_VMA_H */
