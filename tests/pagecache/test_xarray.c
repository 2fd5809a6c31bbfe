/* SPDX-License-Identifier: MIT */
/*
 * The XArray (src/pagecache/xarray.c): directed tests of each entry kind,
 * of expand/shrink and of the checker, and a model-based random test
 * against a reference list of entries, with chunk shifts 6 and 3:
 * pointer, value, reserved (zero) and multi-index entries of orders 0..9,
 * stores, erases, inserts, reserves, the three marks, loads, orders,
 * find/find_after with and without marks, full iterations, and cursor loads
 * over runs of indices beside plain loads, with
 * vmm_xa_check() and vmm_machine_check() after every step.
 *
 * VMM_TEST_SEED repeats a run; VMM_TEST_OPS changes its length.
 */
#include "pc_util.h"

#include <string.h>

#include "lib/prng.h"
#include "machine.h"
#include "pagecache/pagecache.h"
#include "pagecache/xarray.h"

static vmm_machine *small_machine(void)
{
	return pc_machine(1, 32, NULL);
}

static void assert_xa_ok(const struct vmm_xarray *xa)
{
	assert_int_equal(vmm_xa_check(xa, "test", stdout), 0);
}

static uint32_t targets[4096];	/* pointer entries point here (4-byte aligned) */

static void *ptr_entry(unsigned i)
{
	return &targets[i % 4096];
}

/* ---- directed tests ---- */

static void test_entry_encoding(void **state)
{
	(void)state;
	assert_true(xa_is_value(xa_mk_value(0)));
	assert_int_equal(xa_to_value(xa_mk_value(UINT64_MAX >> 1)), UINT64_MAX >> 1);
	assert_false(xa_is_internal(xa_mk_value(5)));
	assert_true(xa_is_sibling(xa_mk_sibling(0)));
	assert_true(xa_is_sibling(xa_mk_sibling(62)));
	assert_false(xa_is_sibling(XA_RETRY_ENTRY));
	assert_false(xa_is_sibling(XA_ZERO_ENTRY));
	assert_true(xa_is_retry(XA_RETRY_ENTRY));
	assert_true(xa_is_zero(XA_ZERO_ENTRY));
	assert_false(xa_is_node(XA_ZERO_ENTRY));
	assert_false(xa_is_node(xa_mk_sibling(3)));
	assert_true(xa_is_err(xa_mk_internal((uintptr_t)-VMM_ENOMEM)));
	assert_int_equal(xa_err(xa_mk_internal((uintptr_t)-VMM_ENOMEM)), -VMM_ENOMEM);
	assert_int_equal(xa_err(ptr_entry(1)), 0);
	assert_false(xa_is_internal(ptr_entry(3)));
}

/* Growing one level at a time from the head, and shrinking back, with both shifts. */
static void test_expand_shrink(void **state)
{
	vmm_machine *m = small_machine();
	uint64_t base = m->pagecache->xa_nodes_all;

	(void)state;
	for (unsigned cs = XA_CHUNK_SHIFT_MIN; cs <= XA_CHUNK_SHIFT; cs += 3) {
		struct vmm_xarray xa;
		uint64_t levels;

		vmm_xa_init_shift(&xa, m, cs);
		assert_null(vmm_xa_store(&xa, 0, ptr_entry(0)));
		assert_null(xa_is_node(xa.xa_head) ? (void *)1 : NULL); /* index 0 lives in the head */
		assert_int_equal(xa.xa_nr_nodes, 0);
		assert_null(vmm_xa_store(&xa, 1, ptr_entry(1)));
		assert_int_equal(xa.xa_nr_nodes, 1);
		/* UINT64_MAX needs ceil(64 / cs) levels */
		assert_null(vmm_xa_store(&xa, UINT64_MAX, xa_mk_value(7)));
		levels = (64 + cs - 1) / cs;
		assert_int_equal(xa_to_node(xa.xa_head)->shift, (levels - 1) * cs);
		assert_xa_ok(&xa);
		assert_ptr_equal(vmm_xa_load(&xa, UINT64_MAX), xa_mk_value(7));
		assert_null(vmm_xa_load(&xa, UINT64_MAX - 1));
		assert_ptr_equal(vmm_xa_erase(&xa, UINT64_MAX), xa_mk_value(7));
		assert_int_equal(xa.xa_nr_nodes, 1);
		assert_xa_ok(&xa);
		assert_ptr_equal(vmm_xa_erase(&xa, 1), ptr_entry(1));
		/* only index 0 is left: back in the head */
		assert_int_equal(xa.xa_nr_nodes, 0);
		assert_ptr_equal(xa.xa_head, ptr_entry(0));
		assert_ptr_equal(vmm_xa_erase(&xa, 0), ptr_entry(0));
		assert_true(vmm_xa_empty(&xa));
		assert_xa_ok(&xa);
	}
	assert_int_equal(m->pagecache->xa_nodes_all, base);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* A multi-index entry: its siblings, marks squashed onto it, a store into a part of it. */
static void test_multi_index(void **state)
{
	vmm_machine *m = small_machine();
	struct vmm_xarray xa;
	uint64_t idx;

	(void)state;
	vmm_xa_init_shift(&xa, m, 3);
	for (uint64_t i = 16; i < 32; i++)
		assert_null(vmm_xa_store(&xa, i, xa_mk_value(i)));
	vmm_xa_set_mark(&xa, 20, XA_MARK_1);
	assert_xa_ok(&xa);
	/* order 4 at 16 swallows the sixteen entries, and the mark */
	assert_false(xa_is_err(vmm_xa_store_order(&xa, 16, 4, ptr_entry(9))));
	assert_xa_ok(&xa);
	for (uint64_t i = 16; i < 32; i++)
		assert_ptr_equal(vmm_xa_load(&xa, i), ptr_entry(9));
	assert_null(vmm_xa_load(&xa, 32));
	assert_int_equal(vmm_xa_get_order(&xa, 21), 4);
	assert_true(vmm_xa_get_mark(&xa, 31, XA_MARK_1));
	idx = 0;
	assert_ptr_equal(vmm_xa_find(&xa, &idx, UINT64_MAX, XA_MARK_1), ptr_entry(9));
	assert_int_equal(idx, 16);
	idx = 20;
	assert_null(vmm_xa_find_after(&xa, &idx, UINT64_MAX, XA_PRESENT));
	/* order 1 inside it (shift 3: two slots of a leaf) replaces the whole entry */
	vmm_xa_destroy(&xa);
	assert_true(vmm_xa_empty(&xa));
	assert_false(xa_is_err(vmm_xa_store_order(&xa, 8, 2, xa_mk_value(1))));
	assert_false(xa_is_err(vmm_xa_store_order(&xa, 10, 1, xa_mk_value(2))));
	assert_xa_ok(&xa);
	for (uint64_t i = 8; i < 12; i++)
		assert_ptr_equal(vmm_xa_load(&xa, i), xa_mk_value(2));
	assert_ptr_equal(vmm_xa_erase(&xa, 9), xa_mk_value(2));
	assert_true(vmm_xa_empty(&xa));
	assert_xa_ok(&xa);
	vmm_xa_destroy(&xa);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void test_reserve_insert(void **state)
{
	vmm_machine *m = small_machine();
	struct vmm_xarray xa;
	uint64_t idx = 0;

	(void)state;
	vmm_xa_init(&xa, m);
	assert_int_equal(vmm_xa_reserve(&xa, 5), 0);
	assert_null(vmm_xa_load(&xa, 5));
	assert_int_equal(vmm_xa_insert(&xa, 5, ptr_entry(5)), -VMM_EBUSY);
	assert_null(vmm_xa_find(&xa, &idx, UINT64_MAX, XA_PRESENT));
	assert_false(vmm_xa_empty(&xa));
	assert_xa_ok(&xa);
	vmm_xa_release(&xa, 5);
	assert_true(vmm_xa_empty(&xa));
	assert_int_equal(vmm_xa_insert(&xa, 5, ptr_entry(5)), 0);
	assert_int_equal(vmm_xa_insert(&xa, 5, ptr_entry(6)), -VMM_EBUSY);
	assert_int_equal(vmm_xa_insert(&xa, 6, XA_RETRY_ENTRY), -VMM_EINVAL);
	assert_true(xa_is_err(vmm_xa_store(&xa, 6, xa_mk_sibling(1))));
	/* a reserved slot that a store fills reads as the stored entry */
	assert_int_equal(vmm_xa_reserve(&xa, 0), 0);
	assert_null(vmm_xa_store(&xa, 0, ptr_entry(0)));
	assert_ptr_equal(vmm_xa_load(&xa, 0), ptr_entry(0));
	assert_xa_ok(&xa);
	vmm_xa_destroy(&xa);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* The checker finds what a broken tree gets wrong, retry entries included. */
static void test_check_catches(void **state)
{
	vmm_machine *m = small_machine();
	struct vmm_xarray xa;
	struct vmm_xa_node *leaf;
	FILE *null = fopen("/dev/null", "w");

	(void)state;
	assert_non_null(null);
	vmm_xa_init_shift(&xa, m, 3);
	for (uint64_t i = 0; i < 20; i++)
		vmm_xa_store(&xa, i, xa_mk_value(i));
	assert_xa_ok(&xa);
	leaf = xa_to_node(xa_to_node(xa.xa_head)->slots[0]);
	leaf->slots[3] = XA_RETRY_ENTRY;
	assert_int_equal(vmm_xa_check(&xa, "t", null), 2); /* the retry entry, and nr_values */
	leaf->slots[3] = xa_mk_value(3);
	leaf->count--;
	assert_int_equal(vmm_xa_check(&xa, "t", null), 1);
	leaf->count++;
	leaf->marks[XA_MARK_2] |= 1;
	assert_int_equal(vmm_xa_check(&xa, "t", null), 1); /* the parent's slot lacks the mark */
	leaf->marks[XA_MARK_2] = 0;
	leaf->slots[5] = xa_mk_sibling(2);
	assert_true(vmm_xa_check(&xa, "t", null) >= 1);
	leaf->slots[5] = xa_mk_value(5);
	xa.xa_nr_nodes++;
	assert_int_equal(vmm_xa_check(&xa, "t", null), 1);
	xa.xa_nr_nodes--;
	assert_xa_ok(&xa);
	vmm_xa_destroy(&xa);
	fclose(null);
	vmm_machine_destroy(&m);
}

/* The nodes are radix_tree_node objects: slabinfo counts them. */
static void test_nodes_in_slab(void **state)
{
	vmm_machine *m = small_machine();
	struct vmm_xarray xa;
	uint64_t base = m->pagecache->xa_nodes_all;
	char *info;

	(void)state;
	vmm_xa_init(&xa, m);
	for (uint64_t i = 0; i < 64 * 64; i += 64)
		vmm_xa_store(&xa, i, xa_mk_value(i));
	assert_int_equal(xa.xa_nr_nodes, 65);
	assert_int_equal(m->pagecache->xa_nodes_all, base + 65);
	info = dump_to_string(m, VMM_DUMP_SLABINFO);
	assert_non_null(strstr(info, "radix_tree_node"));
	free(info);
	assert_machine_healthy(m);
	vmm_xa_destroy(&xa);
	assert_int_equal(m->pagecache->xa_nodes_all, base);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* ---- the model ---- */

enum { KIND_PTR, KIND_VALUE, KIND_ZERO };

struct ref {
	uint64_t start;
	unsigned order;
	void *entry;		/* XA_ZERO_ENTRY for a reserved slot */
	uint8_t marks;
};

struct model {
	vmm_machine *m;
	struct vmm_xarray xa;
	struct vmm_prng r;
	struct ref *refs;
	size_t nr, cap;
	uint64_t ops[12];
};

static uint64_t rnd(struct model *md, uint64_t n)
{
	return vmm_prng_next(&md->r) % n;
}

static uint64_t ref_last(const struct ref *e)
{
	return e->start + ((1ull << e->order) - 1);
}

static struct ref *ref_at(struct model *md, uint64_t index)
{
	for (size_t i = 0; i < md->nr; i++)
		if (md->refs[i].start <= index && index <= ref_last(&md->refs[i]))
			return &md->refs[i];
	return NULL;
}

static void ref_remove(struct model *md, struct ref *e)
{
	*e = md->refs[--md->nr];
}

/*
 * The XArray's store rule: an entry of order k at the aligned range R
 * replaces every entry inside R (taking their marks), or, when a larger
 * entry holds R, that whole entry (keeping its marks). NULL erases them.
 */
static void ref_store(struct model *md, uint64_t start, unsigned order, void *entry)
{
	uint64_t last = start + ((1ull << order) - 1);
	uint8_t marks = 0;
	struct ref *big = NULL;

	for (size_t i = 0; i < md->nr; i++)
		if (md->refs[i].start <= start && ref_last(&md->refs[i]) >= last &&
		    md->refs[i].order > order)
			big = &md->refs[i];
	if (big) {
		start = big->start;
		order = big->order;
		marks = big->marks;
		ref_remove(md, big);
	} else {
		for (size_t i = 0; i < md->nr;) {
			struct ref *e = &md->refs[i];

			if (e->start >= start && ref_last(e) <= last) {
				marks |= e->marks;
				ref_remove(md, e);
			} else {
				i++;
			}
		}
	}
	if (!entry)
		return;
	if (md->nr == md->cap) {
		md->cap = md->cap ? 2 * md->cap : 256;
		md->refs = realloc(md->refs, md->cap * sizeof(*md->refs));
		assert_non_null(md->refs);
	}
	md->refs[md->nr++] = (struct ref){ start, order, entry, marks };
}

/* Indices mostly small and dense, some at the far ends of the index space. */
static uint64_t pick_index(struct model *md)
{
	static const uint64_t far[] = { 1ull << 20, 1ull << 32, 1ull << 40, 1ull << 56,
					1ull << 62, 1ull << 63, UINT64_MAX - 1023 };
	uint64_t x = rnd(md, 100);

	if (x < 70)
		return rnd(md, 256);
	if (x < 85)
		return rnd(md, 4096);
	return far[rnd(md, sizeof(far) / sizeof(far[0]))] + rnd(md, 1024);
}

static void *pick_entry(struct model *md)
{
	uint64_t v = vmm_prng_next(&md->r);

	return v & 1 ? ptr_entry((unsigned)(v >> 8)) : xa_mk_value(v >> 2);
}

/* The reference answer to a find: the smallest covered index >= @start (after the entry holding it). */
static struct ref *ref_find(struct model *md, uint64_t start, uint64_t max, xa_mark_t filter,
			    bool after, uint64_t *index)
{
	struct ref *best = NULL;
	uint64_t best_idx = 0;

	for (size_t i = 0; i < md->nr; i++) {
		struct ref *e = &md->refs[i];
		uint64_t at;

		if (e->entry == XA_ZERO_ENTRY || (filter != XA_PRESENT && !(e->marks & (1u << filter))))
			continue;
		if (after) {
			if (e->start <= start)
				continue;
			at = e->start;
		} else {
			if (ref_last(e) < start)
				continue;
			at = e->start > start ? e->start : start;
		}
		if (at <= max && (!best || at < best_idx)) {
			best = e;
			best_idx = at;
		}
	}
	*index = best_idx;
	return best;
}

static void check_find(struct model *md, uint64_t start, uint64_t max, xa_mark_t filter, bool after)
{
	uint64_t want_idx, got_idx = start;
	struct ref *want = ref_find(md, start, max, filter, after, &want_idx);
	void *got = after ? vmm_xa_find_after(&md->xa, &got_idx, max, filter)
			  : vmm_xa_find(&md->xa, &got_idx, max, filter);

	if (!want) {
		assert_null(got);
		return;
	}
	assert_ptr_equal(got, want->entry);
	assert_int_equal(got_idx, want_idx);
}

static int cmp_ref(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The next reference entry from @i that a search with @filter finds (reserved ones never). */
static size_t next_visible(const struct model *md, size_t i, xa_mark_t filter)
{
	while (i < md->nr && (md->refs[i].entry == XA_ZERO_ENTRY ||
			      (filter != XA_PRESENT && !(md->refs[i].marks & (1u << filter)))))
		i++;
	return i;
}

/* A whole iteration, marked or not, visits the reference's entries in order. */
static void check_iteration(struct model *md, xa_mark_t filter)
{
	uint64_t index;
	void *entry;
	size_t i = 0;

	qsort(md->refs, md->nr, sizeof(*md->refs), cmp_ref);
	vmm_xa_for_each_range(&md->xa, index, entry, 0, UINT64_MAX, filter) {
		i = next_visible(md, i, filter);
		assert_true(i < md->nr);
		assert_int_equal(index, md->refs[i].start);
		assert_ptr_equal(entry, md->refs[i].entry);
		i++;
	}
	assert_int_equal(next_visible(md, i, filter), md->nr);
}

/* A cursor walked over [index, index + 130) (two or more bottom nodes) loads what vmm_xa_load does. */
static void check_cursor(struct model *md, uint64_t index)
{
	struct vmm_xa_cursor c = { 0 };

	for (uint64_t i = index; i < index + 130 && i >= index; i++)
		assert_ptr_equal(vmm_xa_cursor_load(&md->xa, &c, i), vmm_xa_load(&md->xa, i));
}

static void check_point(struct model *md, uint64_t index)
{
	struct ref *e = ref_at(md, index);

	assert_ptr_equal(vmm_xa_load(&md->xa, index),
			 e && e->entry != XA_ZERO_ENTRY ? e->entry : NULL);
	assert_int_equal(vmm_xa_get_order(&md->xa, index), e ? e->order : 0);
	for (xa_mark_t mk = 0; mk < XA_MAX_MARKS; mk++)
		assert_int_equal(vmm_xa_get_mark(&md->xa, index, mk), e && (e->marks & (1u << mk)));
	check_cursor(md, index);
}

static void model_step(struct model *md)
{
	uint64_t index = pick_index(md), x = rnd(md, 100);
	xa_mark_t mark = (xa_mark_t)rnd(md, XA_MAX_MARKS);
	struct ref *e;

	if (x < 30) {
		void *entry = pick_entry(md);
		struct ref *cur = ref_at(md, index);
		void *want = cur && cur->entry != XA_ZERO_ENTRY && !cur->order ? cur->entry : NULL;
		void *old = vmm_xa_store(&md->xa, index, entry);

		if (!cur || !cur->order)
			assert_ptr_equal(old, want);
		ref_store(md, index, 0, entry);
		md->ops[0]++;
	} else if (x < 38) {
		unsigned order = 1 + (unsigned)(rnd(md, 4) ? rnd(md, 4) : rnd(md, 9));
		uint64_t start = index & ~((1ull << order) - 1);
		void *entry = rnd(md, 4) ? pick_entry(md) : NULL;

		assert_false(xa_is_err(vmm_xa_store_order(&md->xa, start, order, entry)));
		ref_store(md, start, order, entry);
		md->ops[1]++;
	} else if (x < 45) {
		e = md->nr && rnd(md, 2) ? &md->refs[rnd(md, md->nr)] : NULL;
		if (e)
			index = e->start + rnd(md, 1ull << e->order);
		vmm_xa_erase(&md->xa, index);
		ref_store(md, index, 0, NULL);
		md->ops[2]++;
	} else if (x < 52) {
		void *entry = pick_entry(md);
		int want = ref_at(md, index) ? -VMM_EBUSY : 0;

		assert_int_equal(vmm_xa_insert(&md->xa, index, entry), want);
		if (!want)
			ref_store(md, index, 0, entry);
		md->ops[3]++;
	} else if (x < 59) {
		if (!ref_at(md, index)) {
			assert_int_equal(vmm_xa_reserve(&md->xa, index), 0);
			ref_store(md, index, 0, XA_ZERO_ENTRY);
		} else {
			e = ref_at(md, index);
			vmm_xa_release(&md->xa, index);
			if (e->entry == XA_ZERO_ENTRY)
				ref_remove(md, e);
		}
		md->ops[4]++;
	} else if (x < 70) {
		e = md->nr ? &md->refs[rnd(md, md->nr)] : NULL;
		if (e) {
			index = e->start + rnd(md, 1ull << e->order);
			vmm_xa_set_mark(&md->xa, index, mark);
			e->marks |= (uint8_t)(1u << mark);
		}
		md->ops[5]++;
	} else if (x < 76) {
		e = md->nr ? &md->refs[rnd(md, md->nr)] : NULL;
		if (e) {
			index = e->start + rnd(md, 1ull << e->order);
			vmm_xa_clear_mark(&md->xa, index, mark);
			e->marks &= (uint8_t)~(1u << mark);
		}
		md->ops[6]++;
	} else if (x < 88) {
		uint64_t max = rnd(md, 4) ? UINT64_MAX : index + rnd(md, 512);
		xa_mark_t filter = rnd(md, 2) ? XA_PRESENT : mark;

		check_find(md, index, max, filter, false);
		check_find(md, index, max, filter, true);
		md->ops[7]++;
	} else if (x < 90) {
		check_iteration(md, rnd(md, 2) ? XA_PRESENT : mark);
		md->ops[8]++;
	} else if (x < 99 || rnd(md, 16)) {
		check_point(md, index);
		md->ops[9]++;
	} else {
		/* start over: the tree goes, its nodes with it */
		vmm_xa_destroy(&md->xa);
		md->nr = 0;
		md->ops[10]++;
	}
	for (xa_mark_t mk = 0; mk < XA_MAX_MARKS; mk++) {
		bool any = false;

		for (size_t i = 0; i < md->nr; i++)
			any |= (md->refs[i].marks >> mk) & 1;
		assert_int_equal(vmm_xa_marked(&md->xa, mk), any);
	}
}

static void run_model(unsigned cs, uint64_t seed_fallback)
{
	struct model md = { 0 };
	uint64_t seed = test_seed(cs == 3 ? "xarray_model shift 3" : "xarray_model shift 6",
				  seed_fallback);
	uint64_t n = test_ops(30000), base;

	md.m = small_machine();
	base = md.m->pagecache->xa_nodes_all;
	vmm_prng_seed(&md.r, seed);
	vmm_xa_init_shift(&md.xa, md.m, cs);
	for (uint64_t i = 0; i < n; i++) {
		model_step(&md);
		assert_int_equal(vmm_xa_check(&md.xa, "model", stdout), 0);
		assert_int_equal(md.m->pagecache->xa_nodes_all, base + md.xa.xa_nr_nodes);
		if (i % 8 == 0)
			assert_machine_healthy(md.m);
		if (i % 4096 == 0)
			check_iteration(&md, XA_PRESENT);
	}
	check_iteration(&md, XA_PRESENT);
	for (uint64_t i = 0; i < 4096; i++)
		check_point(&md, i);
	printf("# shift %u: %" PRIu64 " stores, %" PRIu64 " multi-index, %" PRIu64 " erases, "
	       "%" PRIu64 " inserts, %" PRIu64 " reserves, %" PRIu64 " finds, %zu entries left, "
	       "%" PRIu64 " nodes\n",
	       cs, md.ops[0], md.ops[1], md.ops[2], md.ops[3], md.ops[4], md.ops[7], md.nr,
	       md.xa.xa_nr_nodes);
	vmm_xa_destroy(&md.xa);
	assert_int_equal(md.m->pagecache->xa_nodes_all, base);
	assert_machine_healthy(md.m);
	free(md.refs);
	vmm_machine_destroy(&md.m);
}

static void test_model_shift6(void **state)
{
	(void)state;
	run_model(6, 0x6a6a);
}

static void test_model_shift3(void **state)
{
	(void)state;
	run_model(3, 0x3333);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_encoding),
		cmocka_unit_test(test_expand_shrink),
		cmocka_unit_test(test_multi_index),
		cmocka_unit_test(test_reserve_insert),
		cmocka_unit_test(test_check_catches),
		cmocka_unit_test(test_nodes_in_slab),
		cmocka_unit_test(test_model_shift6),
		cmocka_unit_test(test_model_shift3),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
