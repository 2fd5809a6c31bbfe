/* SPDX-License-Identifier: MIT */
/*
 * Intrusive red-black trees, in the style of Linux's lib/rbtree.c, with
 * optional augmentation (Linux's rbtree_augmented.h).
 *
 * A node embeds struct vmm_rb_node; the user owns the ordering: find the
 * link where a new node belongs by walking from the root (vmm_rb_link_node()
 * records it), then let vmm_rb_insert_color() rebalance. Erasing needs no
 * comparison at all.
 *
 * Augmented trees keep, in every node, a value computed from the node and
 * its two subtrees (e.g. the largest gap below it, for a first-fit search).
 * The user describes how with three callbacks (struct vmm_rb_augment):
 * propagate (recompute from a node up to, not including, @stop, possibly
 * stopping early once a value is unchanged), copy (a node takes over
 * another's place: copy its value) and rotate (after a rotation: the new
 * top takes the old top's value, the old top is recomputed). The
 * VMM_RB_DECLARE_CALLBACKS_MAX() macro writes the three for the common
 * "maximum over the subtree" case. After inserting a node with
 * vmm_rb_insert_augmented() the user propagates from that node, as Linux's
 * users do; after changing a node's own value in place, likewise.
 *
 * The colour lives in the low bit of the parent pointer, so nodes must be at
 * least 2-byte aligned (any struct holding pointers is).
 *
 * Ownership: the tree's user; no locking.
 */
#ifndef VMM_LIB_RBTREE_H
#define VMM_LIB_RBTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/compiler.h"

#define VMM_RB_RED 0u
#define VMM_RB_BLACK 1u

struct vmm_rb_node {
	uintptr_t parent_color; /* parent pointer | colour bit */
	struct vmm_rb_node *left;
	struct vmm_rb_node *right;
};

struct vmm_rb_root {
	struct vmm_rb_node *node;
};

#define VMM_RB_ROOT ((struct vmm_rb_root){ NULL })

#define vmm_rb_entry(ptr, type, member) container_of(ptr, type, member)
/* The entry of @ptr, or NULL when @ptr is NULL. */
#define vmm_rb_entry_safe(ptr, type, member)                            \
	({                                                              \
		struct vmm_rb_node *rbe_ = (ptr);                       \
		rbe_ ? vmm_rb_entry(rbe_, type, member) : (type *)NULL; \
	})

static inline struct vmm_rb_node *vmm_rb_parent(const struct vmm_rb_node *n)
{
	return (struct vmm_rb_node *)(n->parent_color & ~(uintptr_t)1);
}

static inline bool vmm_rb_is_black(const struct vmm_rb_node *n)
{
	return n->parent_color & 1;
}

static inline bool vmm_rb_is_red(const struct vmm_rb_node *n)
{
	return !(n->parent_color & 1);
}

static inline bool vmm_rb_empty(const struct vmm_rb_root *root)
{
	return root->node == NULL;
}

/*
 * A node that is in no tree points at itself (vmm_rb_clear_node()), so a
 * user can tell, as Linux's RB_EMPTY_NODE does.
 */
static inline void vmm_rb_clear_node(struct vmm_rb_node *n)
{
	n->parent_color = (uintptr_t)n;
}

static inline bool vmm_rb_node_linked(const struct vmm_rb_node *n)
{
	return n->parent_color != (uintptr_t)n;
}

/*
 * Put @node, red and childless, at @link (the NULL child pointer of @parent
 * where the search ended, or &root->node for an empty tree). The tree is
 * then unbalanced until vmm_rb_insert_color() or vmm_rb_insert_augmented().
 */
static inline void vmm_rb_link_node(struct vmm_rb_node *node, struct vmm_rb_node *parent,
				    struct vmm_rb_node **link)
{
	node->parent_color = (uintptr_t)parent;
	node->left = node->right = NULL;
	*link = node;
}

/* How an augmented tree keeps its values (see the file comment). */
struct vmm_rb_augment {
	void (*propagate)(struct vmm_rb_node *node, struct vmm_rb_node *stop);
	void (*copy)(struct vmm_rb_node *old, struct vmm_rb_node *new_);
	void (*rotate)(struct vmm_rb_node *old, struct vmm_rb_node *new_);
};

/* Rebalance after vmm_rb_link_node(). */
void vmm_rb_insert_color(struct vmm_rb_node *node, struct vmm_rb_root *root);
/* Unlink @node and rebalance. */
void vmm_rb_erase(struct vmm_rb_node *node, struct vmm_rb_root *root);

/* The augmented versions; rotations and moves go through @aug. */
void vmm_rb_insert_augmented(struct vmm_rb_node *node, struct vmm_rb_root *root,
			     const struct vmm_rb_augment *aug);
void vmm_rb_erase_augmented(struct vmm_rb_node *node, struct vmm_rb_root *root,
			    const struct vmm_rb_augment *aug);

/* In-order traversal; NULL past either end. */
struct vmm_rb_node *vmm_rb_first(const struct vmm_rb_root *root);
struct vmm_rb_node *vmm_rb_last(const struct vmm_rb_root *root);
struct vmm_rb_node *vmm_rb_next(const struct vmm_rb_node *node);
struct vmm_rb_node *vmm_rb_prev(const struct vmm_rb_node *node);

/*
 * Check the red-black rules: the root is black and has no parent, every
 * child's parent pointer is right, no red node has a red child, every path
 * from the root to a leaf has the same number of black nodes. Returns 0 and
 * sets *@nodes (may be NULL) to the node count, or -1 with *@why set to the
 * rule broken.
 */
int vmm_rb_verify(const struct vmm_rb_root *root, size_t *nodes, const char **why);

/*
 * Define @name (a const struct vmm_rb_augment) for a tree of @type nodes
 * (member @field) whose @aug member (of type @aug_type) is the maximum of
 * @compute(node) over the node's subtree; @compute is a function or macro
 * taking a (const) @type pointer. @storage is "static" or empty.
 */
#define VMM_RB_DECLARE_CALLBACKS_MAX(storage, name, type, field, aug_type, aug, compute) \
	static inline aug_type name##_compute_max(const type *n_)                        \
	{                                                                                \
		aug_type max_ = compute(n_), v_;                                         \
		if (n_->field.left) {                                                    \
			v_ = vmm_rb_entry(n_->field.left, type, field)->aug;             \
			if (v_ > max_)                                                   \
				max_ = v_;                                               \
		}                                                                        \
		if (n_->field.right) {                                                   \
			v_ = vmm_rb_entry(n_->field.right, type, field)->aug;            \
			if (v_ > max_)                                                   \
				max_ = v_;                                               \
		}                                                                        \
		return max_;                                                             \
	}                                                                                \
	static void name##_propagate(struct vmm_rb_node *rb_, struct vmm_rb_node *stop_) \
	{                                                                                \
		while (rb_ != stop_) {                                                   \
			type *n_ = vmm_rb_entry(rb_, type, field);                       \
			aug_type v_ = name##_compute_max(n_);                            \
			if (n_->aug == v_)                                               \
				break;                                                   \
			n_->aug = v_;                                                    \
			rb_ = vmm_rb_parent(&n_->field);                                 \
		}                                                                        \
	}                                                                                \
	static void name##_copy(struct vmm_rb_node *o_, struct vmm_rb_node *n_)          \
	{                                                                                \
		vmm_rb_entry(n_, type, field)->aug = vmm_rb_entry(o_, type, field)->aug; \
	}                                                                                \
	static void name##_rotate(struct vmm_rb_node *o_, struct vmm_rb_node *n_)        \
	{                                                                                \
		type *old_ = vmm_rb_entry(o_, type, field);                              \
		vmm_rb_entry(n_, type, field)->aug = old_->aug;                          \
		old_->aug = name##_compute_max(old_);                                    \
	}                                                                                \
	storage const struct vmm_rb_augment name = {                                     \
		.propagate = name##_propagate,                                           \
		.copy = name##_copy,                                                     \
		.rotate = name##_rotate,                                                 \
	}

#endif /* VMM_LIB_RBTREE_H */
