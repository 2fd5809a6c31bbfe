/* SPDX-License-Identifier: MIT */
/*
 * The augmented treap (augtree.h). Insertion puts the node at the leaf where
 * the search ends, then rotates it up while its priority beats its parent's;
 * erasure rotates the node down, always lifting the child with the higher
 * priority, until it is a leaf, then cuts it off. Each rotation recomputes the
 * two nodes it moves (lower one first); afterwards the path to the root is
 * recomputed, which covers every subtree whose set of nodes changed.
 */
#include "lib/augtree.h"

#include <stddef.h>

static void update(struct vmm_augtree *t, struct vmm_augnode *n)
{
	if (n && t->update)
		t->update(n);
}

/* Point whatever pointed at @old (its parent's link or the root) at @new. */
static void replace_child(struct vmm_augtree *t, struct vmm_augnode *parent,
			  struct vmm_augnode *old, struct vmm_augnode *new)
{
	if (!parent)
		t->root = new;
	else if (parent->left == old)
		parent->left = new;
	else
		parent->right = new;
	if (new)
		new->parent = parent;
}

/* Lift @c, a child of its parent p, into p's place; p becomes @c's child. */
static void rotate_up(struct vmm_augtree *t, struct vmm_augnode *c)
{
	struct vmm_augnode *p = c->parent, *g = p->parent;

	if (p->left == c) {
		p->left = c->right;
		if (c->right)
			c->right->parent = p;
		c->right = p;
	} else {
		p->right = c->left;
		if (c->left)
			c->left->parent = p;
		c->left = p;
	}
	p->parent = c;
	replace_child(t, g, p, c);
	update(t, p);
	update(t, c);
}

void vmm_augtree_propagate(struct vmm_augtree *t, struct vmm_augnode *n)
{
	for (; n; n = n->parent)
		update(t, n);
}

void vmm_augtree_insert(struct vmm_augtree *t, struct vmm_augnode *n, vmm_augtree_less_fn less)
{
	struct vmm_augnode *p = NULL, **link = &t->root;

	while (*link) {
		p = *link;
		link = less(n, p) ? &p->left : &p->right;
	}
	n->left = n->right = NULL;
	n->parent = p;
	*link = n;
	update(t, n);
	while (n->parent && n->parent->prio < n->prio)
		rotate_up(t, n);
	vmm_augtree_propagate(t, n->parent);
}

void vmm_augtree_erase(struct vmm_augtree *t, struct vmm_augnode *n)
{
	struct vmm_augnode *p;

	while (n->left || n->right) {
		struct vmm_augnode *c;

		if (!n->left)
			c = n->right;
		else if (!n->right)
			c = n->left;
		else
			c = n->left->prio > n->right->prio ? n->left : n->right;
		rotate_up(t, c);
	}
	p = n->parent;
	replace_child(t, p, n, NULL);
	n->parent = NULL;
	vmm_augtree_propagate(t, p);
}

struct vmm_augnode *vmm_augtree_first(const struct vmm_augtree *t)
{
	struct vmm_augnode *n = t->root;

	while (n && n->left)
		n = n->left;
	return n;
}

struct vmm_augnode *vmm_augtree_last(const struct vmm_augtree *t)
{
	struct vmm_augnode *n = t->root;

	while (n && n->right)
		n = n->right;
	return n;
}

struct vmm_augnode *vmm_augtree_next(const struct vmm_augnode *n)
{
	if (n->right) {
		n = n->right;
		while (n->left)
			n = n->left;
		return (struct vmm_augnode *)n;
	}
	while (n->parent && n->parent->right == n)
		n = n->parent;
	return n->parent;
}

struct vmm_augnode *vmm_augtree_prev(const struct vmm_augnode *n)
{
	if (n->left) {
		n = n->left;
		while (n->right)
			n = n->right;
		return (struct vmm_augnode *)n;
	}
	while (n->parent && n->parent->left == n)
		n = n->parent;
	return n->parent;
}

static bool node_is_valid(const struct vmm_augnode *n, const struct vmm_augnode *parent,
			  uint64_t *count, unsigned depth)
{
	if (!n)
		return true;
	/* a depth this large means a cycle, not bad luck */
	if (n->parent != parent || depth > 4096 || (parent && parent->prio < n->prio))
		return false;
	(*count)++;
	return node_is_valid(n->left, n, count, depth + 1) &&
	       node_is_valid(n->right, n, count, depth + 1);
}

bool vmm_augtree_is_valid(const struct vmm_augtree *t, uint64_t *count)
{
	*count = 0;
	return node_is_valid(t->root, NULL, count, 0);
}
