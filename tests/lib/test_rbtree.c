/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/lib/rbtree.c: ordered insertion and erasure against a
 * sorted-array model with the red-black rules checked after every step,
 * in-order traversal both ways, the worst cases of each rebalancing branch
 * (ascending, descending and alternating keys), and an augmented tree
 * keeping each subtree's maximum, recomputed from scratch and compared
 * after every insertion, erasure and in-place change.
 */
#include "test_util.h"

#include <string.h>

#include "lib/prng.h"
#include "lib/rbtree.h"

#define N 2000

struct item {
	uint64_t key;
	uint64_t weight; /* the augmented trees' own value */
	uint64_t max;	 /* the largest weight in the subtree */
	struct vmm_rb_node rb;
};

#define ITEM_WEIGHT(it) ((it)->weight)
VMM_RB_DECLARE_CALLBACKS_MAX(static, max_cb, struct item, rb, uint64_t, max, ITEM_WEIGHT);

static struct item items[N];

static void insert(struct vmm_rb_root *root, struct item *it, bool augmented)
{
	struct vmm_rb_node **link = &root->node, *parent = NULL;

	while (*link) {
		parent = *link;
		link = it->key < vmm_rb_entry(parent, struct item, rb)->key ? &parent->left
									    : &parent->right;
	}
	vmm_rb_link_node(&it->rb, parent, link);
	if (!augmented) {
		vmm_rb_insert_color(&it->rb, root);
		return;
	}
	it->max = 0;
	vmm_rb_insert_augmented(&it->rb, root, &max_cb);
	max_cb.propagate(&it->rb, NULL);
}

static struct item *find(const struct vmm_rb_root *root, uint64_t key)
{
	struct vmm_rb_node *n = root->node;

	while (n) {
		struct item *it = vmm_rb_entry(n, struct item, rb);

		if (key == it->key)
			return it;
		n = key < it->key ? n->left : n->right;
	}
	return NULL;
}

/* The subtree's maximum from scratch; fails when a stored one differs. */
static uint64_t check_max(const struct vmm_rb_node *n)
{
	const struct item *it;
	uint64_t m, l, r;

	if (!n)
		return 0;
	it = vmm_rb_entry(n, struct item, rb);
	l = check_max(n->left);
	r = check_max(n->right);
	m = VMM_MAX(it->weight, VMM_MAX(l, r));
	if (it->max != m)
		fail_msg("key %" PRIu64 ": subtree max %" PRIu64 ", want %" PRIu64, it->key,
			 it->max, m);
	return m;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The tree holds exactly the model's keys (sorted, n of them), in order both ways. */
static void check_tree(const struct vmm_rb_root *root, const uint64_t *keys, size_t n,
		       bool augmented)
{
	const char *why;
	size_t count, i;
	struct vmm_rb_node *p;

	if (vmm_rb_verify(root, &count, &why))
		fail_msg("red-black rules broken: %s", why);
	assert_int_equal(count, n);
	for (p = vmm_rb_first(root), i = 0; p; p = vmm_rb_next(p), i++)
		assert_int_equal(vmm_rb_entry(p, struct item, rb)->key, keys[i]);
	assert_int_equal(i, n);
	for (p = vmm_rb_last(root), i = n; p; p = vmm_rb_prev(p), i--)
		assert_int_equal(vmm_rb_entry(p, struct item, rb)->key, keys[i - 1]);
	assert_int_equal(i, 0);
	if (augmented)
		check_max(root->node);
}

static void test_empty(void **state)
{
	struct vmm_rb_root root = VMM_RB_ROOT;
	struct item it = { .key = 1 };

	(void)state;
	assert_true(vmm_rb_empty(&root));
	assert_null(vmm_rb_first(&root));
	assert_null(vmm_rb_last(&root));
	assert_int_equal(vmm_rb_verify(&root, NULL, NULL), 0);
	vmm_rb_clear_node(&it.rb);
	assert_false(vmm_rb_node_linked(&it.rb));
	insert(&root, &it, false);
	assert_true(vmm_rb_node_linked(&it.rb));
	assert_true(vmm_rb_is_black(&it.rb));
	assert_ptr_equal(vmm_rb_first(&root), &it.rb);
	assert_null(vmm_rb_next(&it.rb));
	assert_null(vmm_rb_prev(&it.rb));
	vmm_rb_erase(&it.rb, &root);
	assert_true(vmm_rb_empty(&root));
}

/* Keys in an order that exercises one side of the rebalancing; erased in another. */
static void run_ordered(uint64_t (*key_at)(size_t i), bool augmented)
{
	struct vmm_rb_root root = VMM_RB_ROOT;
	static uint64_t keys[N];
	size_t n = 0;

	for (size_t i = 0; i < N; i++) {
		items[i].key = key_at(i);
		items[i].weight = (items[i].key * 7919) % 1000;
		insert(&root, &items[i], augmented);
		keys[n++] = items[i].key;
		if (i % 97 == 0 || i == N - 1) {
			qsort(keys, n, sizeof(keys[0]), cmp_u64);
			check_tree(&root, keys, n, augmented);
		}
	}
	/* erase every other key, then the rest, checking as we go */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = (size_t)pass; i < N; i += 2) {
			if (augmented)
				vmm_rb_erase_augmented(&items[i].rb, &root, &max_cb);
			else
				vmm_rb_erase(&items[i].rb, &root);
			if (i % 89 == 0) {
				size_t k = 0;

				for (size_t j = 0; j < N; j++)
					if ((pass == 0 && (j % 2 == 1 || j > i)) ||
					    (pass == 1 && j % 2 == 1 && j > i))
						keys[k++] = items[j].key;
				qsort(keys, k, sizeof(keys[0]), cmp_u64);
				check_tree(&root, keys, k, augmented);
			}
		}
	}
	assert_true(vmm_rb_empty(&root));
}

static uint64_t ascending(size_t i)
{
	return i;
}

static uint64_t descending(size_t i)
{
	return N - i;
}

static uint64_t zigzag(size_t i)
{
	return i % 2 ? i : 2 * N - i;
}

static void test_ordered_keys(void **state)
{
	(void)state;
	for (int aug = 0; aug < 2; aug++) {
		run_ordered(ascending, aug);
		run_ordered(descending, aug);
		run_ordered(zigzag, aug);
	}
}

/* Random inserts and erases (distinct keys) against a sorted model, checked every step. */
static void run_random(uint64_t seed, bool augmented)
{
	struct vmm_rb_root root = VMM_RB_ROOT;
	static uint64_t keys[N];
	struct vmm_prng r;
	size_t n = 0;
	bool in[N] = { false };

	vmm_prng_seed(&r, seed);
	for (size_t i = 0; i < N; i++) {
		items[i].key = i * 3 + 1;
		items[i].weight = vmm_prng_next(&r) % 100000;
	}
	for (int step = 0; step < 20000; step++) {
		size_t i = vmm_prng_next(&r) % N;
		uint64_t op = vmm_prng_next(&r) % 8;

		if (!in[i]) {
			insert(&root, &items[i], augmented);
			in[i] = true;
			n++;
		} else if (op < 3) {
			if (augmented)
				vmm_rb_erase_augmented(&items[i].rb, &root, &max_cb);
			else
				vmm_rb_erase(&items[i].rb, &root);
			in[i] = false;
			n--;
		} else if (augmented && op == 3) {
			/* change the node's own value in place, then propagate */
			items[i].weight = vmm_prng_next(&r) % 100000;
			max_cb.propagate(&items[i].rb, NULL);
		}
		assert_ptr_equal(find(&root, items[i].key), in[i] ? &items[i] : NULL);
		if (step % 16 == 0) {
			size_t k = 0;

			for (size_t j = 0; j < N; j++)
				if (in[j])
					keys[k++] = items[j].key;
			assert_int_equal(k, n);
			check_tree(&root, keys, k, augmented);
		}
	}
}

static void test_random(void **state)
{
	uint64_t seed = test_seed(__func__, 20260403);

	(void)state;
	run_random(seed, false);
	run_random(seed + 1, true);
}

/* The verifier notices a broken tree. */
static void test_verify_catches(void **state)
{
	struct vmm_rb_root root = VMM_RB_ROOT;
	const char *why;

	(void)state;
	for (size_t i = 0; i < 16; i++) {
		items[i].key = i;
		insert(&root, &items[i], false);
	}
	assert_int_equal(vmm_rb_verify(&root, NULL, &why), 0);
	/* a red root */
	root.node->parent_color &= ~(uintptr_t)1;
	assert_int_equal(vmm_rb_verify(&root, NULL, &why), -1);
	assert_non_null(why);
	root.node->parent_color |= 1;
	/* a wrong parent pointer */
	{
		struct vmm_rb_node *leaf = vmm_rb_first(&root);
		uintptr_t saved = leaf->parent_color;

		leaf->parent_color = (uintptr_t)root.node | (saved & 1);
		if (vmm_rb_parent(leaf) == (struct vmm_rb_node *)(saved & ~(uintptr_t)1))
			leaf->parent_color = (uintptr_t)&items[15].rb | (saved & 1);
		assert_int_equal(vmm_rb_verify(&root, NULL, &why), -1);
		leaf->parent_color = saved;
	}
	assert_int_equal(vmm_rb_verify(&root, NULL, &why), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_ordered_keys),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_verify_catches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
