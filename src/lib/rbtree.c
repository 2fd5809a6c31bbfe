/* SPDX-License-Identifier: MIT */
/*
 * Red-black trees (see rbtree.h). The rebalancing follows the classic
 * case analysis Linux's lib/rbtree.c uses (CLRS with the cases numbered as
 * there): insertion recolours while the uncle is red, then needs at most
 * two rotations; erasure splices out the node (or its in-order successor,
 * which takes the node's place), then, when a black node went missing from
 * a path, rotates and recolours at most three times. Every rotation and
 * every move of a node into another's place goes through the augment
 * callbacks, so an augmented value is never stale once the operation ends.
 *
 * Rules (red-black): the root is black; a red node has black children
 * (NULL counts as black); every path from a node down to NULL has the same
 * number of black nodes.
 */
#include "lib/rbtree.h"

static inline void set_parent(struct vmm_rb_node *n, struct vmm_rb_node *p)
{
	n->parent_color = (n->parent_color & 1) | (uintptr_t)p;
}

static inline void set_parent_color(struct vmm_rb_node *n, struct vmm_rb_node *p, unsigned color)
{
	n->parent_color = (uintptr_t)p | color;
}

static inline void set_black(struct vmm_rb_node *n)
{
	n->parent_color |= VMM_RB_BLACK;
}

/* Point @parent's (or the root's) link to @old at @new_. */
static inline void change_child(struct vmm_rb_node *old, struct vmm_rb_node *new_,
				struct vmm_rb_node *parent, struct vmm_rb_root *root)
{
	if (!parent)
		root->node = new_;
	else if (parent->left == old)
		parent->left = new_;
	else
		parent->right = new_;
}

/*
 * After a rotation in which @new_ took @old's place: @new_ inherits @old's
 * parent and colour, @old hangs under @new_ with @color.
 */
static inline void rotate_set_parents(struct vmm_rb_node *old, struct vmm_rb_node *new_,
				      struct vmm_rb_root *root, unsigned color)
{
	struct vmm_rb_node *parent = vmm_rb_parent(old);

	new_->parent_color = old->parent_color;
	set_parent_color(old, new_, color);
	change_child(old, new_, parent, root);
}

static void dummy_propagate(struct vmm_rb_node *node, struct vmm_rb_node *stop)
{
	(void)node, (void)stop;
}

static void dummy_copy(struct vmm_rb_node *old, struct vmm_rb_node *new_)
{
	(void)old, (void)new_;
}

static const struct vmm_rb_augment dummy_augment = {
	.propagate = dummy_propagate,
	.copy = dummy_copy,
	.rotate = dummy_copy,
};

static void insert_fixup(struct vmm_rb_node *node, struct vmm_rb_root *root,
			 const struct vmm_rb_augment *aug)
{
	struct vmm_rb_node *parent = vmm_rb_parent(node), *gparent, *uncle, *tmp;

	for (;;) {
		if (!parent) {
			/* the root: black */
			set_parent_color(node, NULL, VMM_RB_BLACK);
			return;
		}
		if (vmm_rb_is_black(parent))
			return;
		gparent = vmm_rb_parent(parent); /* a red node is never the root */
		if (parent == gparent->left) {
			uncle = gparent->right;
			if (uncle && vmm_rb_is_red(uncle)) {
				/* case 1: recolour and go up two levels */
				set_parent_color(uncle, gparent, VMM_RB_BLACK);
				set_parent_color(parent, gparent, VMM_RB_BLACK);
				node = gparent;
				parent = vmm_rb_parent(node);
				set_parent_color(node, parent, VMM_RB_RED);
				continue;
			}
			if (node == parent->right) {
				/* case 2: rotate left at parent, turning it into case 3 */
				tmp = node->left;
				parent->right = tmp;
				node->left = parent;
				if (tmp)
					set_parent_color(tmp, parent, VMM_RB_BLACK);
				set_parent_color(parent, node, VMM_RB_RED);
				aug->rotate(parent, node);
				parent = node;
			}
			/* case 3: rotate right at gparent */
			tmp = parent->right;
			gparent->left = tmp;
			parent->right = gparent;
			if (tmp)
				set_parent_color(tmp, gparent, VMM_RB_BLACK);
			rotate_set_parents(gparent, parent, root, VMM_RB_RED);
			aug->rotate(gparent, parent);
			return;
		}
		uncle = gparent->left;
		if (uncle && vmm_rb_is_red(uncle)) {
			set_parent_color(uncle, gparent, VMM_RB_BLACK);
			set_parent_color(parent, gparent, VMM_RB_BLACK);
			node = gparent;
			parent = vmm_rb_parent(node);
			set_parent_color(node, parent, VMM_RB_RED);
			continue;
		}
		if (node == parent->left) {
			tmp = node->right;
			parent->left = tmp;
			node->right = parent;
			if (tmp)
				set_parent_color(tmp, parent, VMM_RB_BLACK);
			set_parent_color(parent, node, VMM_RB_RED);
			aug->rotate(parent, node);
			parent = node;
		}
		tmp = parent->left;
		gparent->right = tmp;
		parent->left = gparent;
		if (tmp)
			set_parent_color(tmp, gparent, VMM_RB_BLACK);
		rotate_set_parents(gparent, parent, root, VMM_RB_RED);
		aug->rotate(gparent, parent);
		return;
	}
}

/*
 * A black node went missing from every path through @parent's NULL child
 * (the first round) or through @node: restore the black heights.
 */
static void erase_fixup(struct vmm_rb_node *parent, struct vmm_rb_root *root,
			const struct vmm_rb_augment *aug)
{
	struct vmm_rb_node *node = NULL, *sibling, *tmp1, *tmp2;

	for (;;) {
		sibling = parent->right;
		if (node != sibling) {
			/* node is the left child (the sibling is never NULL here) */
			if (vmm_rb_is_red(sibling)) {
				/* case 1: rotate left at parent; the new sibling is black */
				tmp1 = sibling->left;
				parent->right = tmp1;
				sibling->left = parent;
				set_parent_color(tmp1, parent, VMM_RB_BLACK);
				rotate_set_parents(parent, sibling, root, VMM_RB_RED);
				aug->rotate(parent, sibling);
				sibling = tmp1;
			}
			tmp1 = sibling->right;
			if (!tmp1 || vmm_rb_is_black(tmp1)) {
				tmp2 = sibling->left;
				if (!tmp2 || vmm_rb_is_black(tmp2)) {
					/* case 2: recolour the sibling; up if parent was black */
					set_parent_color(sibling, parent, VMM_RB_RED);
					if (vmm_rb_is_red(parent)) {
						set_black(parent);
					} else {
						node = parent;
						parent = vmm_rb_parent(node);
						if (parent)
							continue;
					}
					return;
				}
				/* case 3: rotate right at the sibling (its left child is red) */
				tmp1 = tmp2->right;
				sibling->left = tmp1;
				tmp2->right = sibling;
				parent->right = tmp2;
				if (tmp1)
					set_parent_color(tmp1, sibling, VMM_RB_BLACK);
				aug->rotate(sibling, tmp2);
				tmp1 = sibling;
				sibling = tmp2;
			}
			/* case 4: rotate left at parent, recolour; done */
			tmp2 = sibling->left;
			parent->right = tmp2;
			sibling->left = parent;
			set_parent_color(tmp1, sibling, VMM_RB_BLACK);
			if (tmp2)
				set_parent(tmp2, parent);
			rotate_set_parents(parent, sibling, root, VMM_RB_BLACK);
			aug->rotate(parent, sibling);
			return;
		}
		/* the mirror image: node is the right child */
		sibling = parent->left;
		if (vmm_rb_is_red(sibling)) {
			tmp1 = sibling->right;
			parent->left = tmp1;
			sibling->right = parent;
			set_parent_color(tmp1, parent, VMM_RB_BLACK);
			rotate_set_parents(parent, sibling, root, VMM_RB_RED);
			aug->rotate(parent, sibling);
			sibling = tmp1;
		}
		tmp1 = sibling->left;
		if (!tmp1 || vmm_rb_is_black(tmp1)) {
			tmp2 = sibling->right;
			if (!tmp2 || vmm_rb_is_black(tmp2)) {
				set_parent_color(sibling, parent, VMM_RB_RED);
				if (vmm_rb_is_red(parent)) {
					set_black(parent);
				} else {
					node = parent;
					parent = vmm_rb_parent(node);
					if (parent)
						continue;
				}
				return;
			}
			tmp1 = tmp2->left;
			sibling->right = tmp1;
			tmp2->left = sibling;
			parent->left = tmp2;
			if (tmp1)
				set_parent_color(tmp1, sibling, VMM_RB_BLACK);
			aug->rotate(sibling, tmp2);
			tmp1 = sibling;
			sibling = tmp2;
		}
		tmp2 = sibling->right;
		parent->left = tmp2;
		sibling->right = parent;
		set_parent_color(tmp1, sibling, VMM_RB_BLACK);
		if (tmp2)
			set_parent(tmp2, parent);
		rotate_set_parents(parent, sibling, root, VMM_RB_BLACK);
		aug->rotate(parent, sibling);
		return;
	}
}

/*
 * Unlink @node; returns the node below which a black node went missing
 * (erase_fixup()'s start), or NULL when the colours still work out.
 */
static struct vmm_rb_node *erase_node(struct vmm_rb_node *node, struct vmm_rb_root *root,
				      const struct vmm_rb_augment *aug)
{
	struct vmm_rb_node *child = node->right, *tmp = node->left;
	struct vmm_rb_node *parent, *rebalance;
	uintptr_t pc;

	if (!tmp) {
		/*
		 * At most one child, on the right: it takes the node's place.
		 * If there is one, it is red (and the node black): it inherits
		 * the node's colour and nothing is missing. If there is none and
		 * the node was black, a black node is missing below the parent.
		 */
		pc = node->parent_color;
		parent = (struct vmm_rb_node *)(pc & ~(uintptr_t)1);
		change_child(node, child, parent, root);
		if (child) {
			child->parent_color = pc;
			rebalance = NULL;
		} else {
			rebalance = (pc & 1) ? parent : NULL;
		}
		tmp = parent;
	} else if (!child) {
		/* only a left child: the same, mirrored */
		tmp->parent_color = pc = node->parent_color;
		parent = (struct vmm_rb_node *)(pc & ~(uintptr_t)1);
		change_child(node, tmp, parent, root);
		rebalance = NULL;
		tmp = parent;
	} else {
		/* two children: the in-order successor takes the node's place */
		struct vmm_rb_node *successor = child, *child2;

		tmp = child->left;
		if (!tmp) {
			/* the successor is the right child itself */
			parent = successor;
			child2 = successor->right;
			aug->copy(node, successor);
		} else {
			/* the leftmost node of the right subtree */
			do {
				parent = successor;
				successor = tmp;
				tmp = tmp->left;
			} while (tmp);
			child2 = successor->right;
			parent->left = child2;
			successor->right = child;
			set_parent(child, successor);
			aug->copy(node, successor);
			aug->propagate(parent, successor);
		}
		tmp = node->left;
		successor->left = tmp;
		set_parent(tmp, successor);
		pc = node->parent_color;
		tmp = (struct vmm_rb_node *)(pc & ~(uintptr_t)1);
		change_child(node, successor, tmp, root);
		if (child2) {
			/* the successor's only child was red: make it black in its place */
			set_parent_color(child2, parent, VMM_RB_BLACK);
			rebalance = NULL;
		} else {
			rebalance = vmm_rb_is_black(successor) ? parent : NULL;
		}
		successor->parent_color = pc;
		tmp = successor;
	}
	aug->propagate(tmp, NULL);
	return rebalance;
}

void vmm_rb_insert_color(struct vmm_rb_node *node, struct vmm_rb_root *root)
{
	insert_fixup(node, root, &dummy_augment);
}

void vmm_rb_insert_augmented(struct vmm_rb_node *node, struct vmm_rb_root *root,
			     const struct vmm_rb_augment *aug)
{
	insert_fixup(node, root, aug);
}

void vmm_rb_erase(struct vmm_rb_node *node, struct vmm_rb_root *root)
{
	struct vmm_rb_node *rebalance = erase_node(node, root, &dummy_augment);

	if (rebalance)
		erase_fixup(rebalance, root, &dummy_augment);
}

void vmm_rb_erase_augmented(struct vmm_rb_node *node, struct vmm_rb_root *root,
			    const struct vmm_rb_augment *aug)
{
	struct vmm_rb_node *rebalance = erase_node(node, root, aug);

	if (rebalance)
		erase_fixup(rebalance, root, aug);
}

struct vmm_rb_node *vmm_rb_first(const struct vmm_rb_root *root)
{
	struct vmm_rb_node *n = root->node;

	if (!n)
		return NULL;
	while (n->left)
		n = n->left;
	return n;
}

struct vmm_rb_node *vmm_rb_last(const struct vmm_rb_root *root)
{
	struct vmm_rb_node *n = root->node;

	if (!n)
		return NULL;
	while (n->right)
		n = n->right;
	return n;
}

struct vmm_rb_node *vmm_rb_next(const struct vmm_rb_node *node)
{
	struct vmm_rb_node *parent;

	if (node->right) {
		node = node->right;
		while (node->left)
			node = node->left;
		return (struct vmm_rb_node *)node;
	}
	/* up until we come from a left child */
	while ((parent = vmm_rb_parent(node)) && node == parent->right)
		node = parent;
	return parent;
}

struct vmm_rb_node *vmm_rb_prev(const struct vmm_rb_node *node)
{
	struct vmm_rb_node *parent;

	if (node->left) {
		node = node->left;
		while (node->right)
			node = node->right;
		return (struct vmm_rb_node *)node;
	}
	while ((parent = vmm_rb_parent(node)) && node == parent->left)
		node = parent;
	return parent;
}

/* The black height below @n (NULL counts 1), or -1 with *why set. */
static int verify_subtree(const struct vmm_rb_node *n, size_t *count, const char **why,
			  unsigned depth)
{
	int l, r;

	if (!n)
		return 1;
	if (depth > 200) {
		*why = "the tree is deeper than any red-black tree can be (a cycle?)";
		return -1;
	}
	(*count)++;
	if ((n->left && vmm_rb_parent(n->left) != n) ||
	    (n->right && vmm_rb_parent(n->right) != n)) {
		*why = "a child's parent pointer is wrong";
		return -1;
	}
	if (vmm_rb_is_red(n) &&
	    ((n->left && vmm_rb_is_red(n->left)) || (n->right && vmm_rb_is_red(n->right)))) {
		*why = "a red node has a red child";
		return -1;
	}
	if ((l = verify_subtree(n->left, count, why, depth + 1)) < 0 ||
	    (r = verify_subtree(n->right, count, why, depth + 1)) < 0)
		return -1;
	if (l != r) {
		*why = "two paths have different numbers of black nodes";
		return -1;
	}
	return l + vmm_rb_is_black(n);
}

int vmm_rb_verify(const struct vmm_rb_root *root, size_t *nodes, const char **why)
{
	const char *dummy;
	size_t count = 0;

	if (!why)
		why = &dummy;
	*why = NULL;
	if (root->node && (vmm_rb_parent(root->node) || !vmm_rb_is_black(root->node))) {
		*why = "the root has a parent or is red";
		return -1;
	}
	if (verify_subtree(root->node, &count, why, 0) < 0)
		return -1;
	if (nodes)
		*nodes = count;
	return 0;
}
