/* SPDX-License-Identifier: MIT */
/*
 * Tests of src/lib/augtree.c: a random sequence of insertions and erasures
 * keeps the in-order sequence sorted and equal to a reference array, the
 * heap order and links valid, and every node's summary (subtree size) right.
 */
#include "test_util.h"

#include "lib/augtree.h"
#include "lib/compiler.h"
#include "lib/prng.h"

#define N 600

struct item {
	struct vmm_augnode node;
	uint64_t key;
	uint64_t size;		/* the summary: nodes in the subtree */
	bool in;
};

#define ITEM(n) container_of(n, struct item, node)

static void update(struct vmm_augnode *n)
{
	ITEM(n)->size = 1 + (n->left ? ITEM(n->left)->size : 0) + (n->right ? ITEM(n->right)->size : 0);
}

static bool less(const struct vmm_augnode *a, const struct vmm_augnode *b)
{
	return ITEM(a)->key < ITEM(b)->key;
}

static uint64_t check_sizes(const struct vmm_augnode *n)
{
	uint64_t s;

	if (!n)
		return 0;
	s = 1 + check_sizes(n->left) + check_sizes(n->right);
	assert_int_equal(ITEM(n)->size, s);
	return s;
}

static void test_random(void **state)
{
	static struct item items[N];
	struct vmm_augtree t;
	struct vmm_prng p;
	uint64_t count, in = 0;

	(void)state;
	vmm_prng_seed(&p, test_seed("augtree", 3));
	vmm_augtree_init(&t, update);
	for (unsigned i = 0; i < N; i++) {
		items[i].key = i;
		items[i].node.prio = vmm_prng_next(&p);
	}
	for (unsigned op = 0; op < 20000; op++) {
		struct item *it = &items[vmm_prng_below(&p, N)];
		const struct vmm_augnode *n;
		uint64_t prev = 0, seen = 0;

		if (it->in) {
			vmm_augtree_erase(&t, &it->node);
			in--;
		} else {
			vmm_augtree_insert(&t, &it->node, less);
			in++;
		}
		it->in = !it->in;
		assert_true(vmm_augtree_is_valid(&t, &count));
		assert_int_equal(count, in);
		if (op % 64)
			continue;
		assert_int_equal(check_sizes(t.root), in);
		for (n = vmm_augtree_first(&t); n; n = vmm_augtree_next(n), seen++) {
			assert_true(seen == 0 || ITEM(n)->key > prev);
			prev = ITEM(n)->key;
		}
		assert_int_equal(seen, in);
		for (n = vmm_augtree_last(&t), seen = 0; n; n = vmm_augtree_prev(n))
			seen++;
		assert_int_equal(seen, in);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
