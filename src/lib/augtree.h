/* SPDX-License-Identifier: MIT */
/*
 * An intrusive augmented search tree: a treap (a binary search tree that is
 * also a heap on a per-node priority) with parent pointers. The caller keeps
 * the key in its own structure and orders nodes with a callback; after any
 * structural change the tree calls the augment callback on every node whose
 * subtree changed, bottom up, so a node can keep a summary of its subtree
 * (the VMA tree keeps the largest free gap). Priorities come from the
 * caller (a hash of something deterministic), so the shape of the tree is a
 * function of the operations: the same calls give the same tree.
 *
 * Expected depth O(log n) for any insertion order; no rebalancing state.
 *
 * Ownership: the structure embedding the tree; one host thread.
 */
#ifndef VMM_LIB_AUGTREE_H
#define VMM_LIB_AUGTREE_H

#include <stdbool.h>
#include <stdint.h>

struct vmm_augnode {
	struct vmm_augnode *left, *right, *parent;
	uint64_t prio;			/* heap order: a parent's prio >= its children's */
};

/* Recompute @n's summary from its own data and its children's summaries. */
typedef void (*vmm_augtree_update_fn)(struct vmm_augnode *n);
/* Whether @a sorts before @b. */
typedef bool (*vmm_augtree_less_fn)(const struct vmm_augnode *a, const struct vmm_augnode *b);

struct vmm_augtree {
	struct vmm_augnode *root;
	vmm_augtree_update_fn update;
};

static inline void vmm_augtree_init(struct vmm_augtree *t, vmm_augtree_update_fn update)
{
	t->root = 0;
	t->update = update;
}

/* Insert @n (its prio set by the caller) in order; summaries are brought up to date. */
void vmm_augtree_insert(struct vmm_augtree *t, struct vmm_augnode *n, vmm_augtree_less_fn less);
/* Remove @n; summaries are brought up to date. */
void vmm_augtree_erase(struct vmm_augtree *t, struct vmm_augnode *n);
/* Recompute the summaries of @n and of every ancestor (after @n's own data changed). */
void vmm_augtree_propagate(struct vmm_augtree *t, struct vmm_augnode *n);

/* In-order neighbours and ends; NULL past either end. */
struct vmm_augnode *vmm_augtree_first(const struct vmm_augtree *t);
struct vmm_augnode *vmm_augtree_last(const struct vmm_augtree *t);
struct vmm_augnode *vmm_augtree_next(const struct vmm_augnode *n);
struct vmm_augnode *vmm_augtree_prev(const struct vmm_augnode *n);

/*
 * Check the links and the heap order; count the nodes into *@count.
 * Returns false on the first broken link or heap order.
 */
bool vmm_augtree_is_valid(const struct vmm_augtree *t, uint64_t *count);

#endif /* VMM_LIB_AUGTREE_H */
