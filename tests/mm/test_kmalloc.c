/* SPDX-License-Identifier: MIT */
/* kmalloc and friends (src/mm/kmalloc.c): size classes, large blocks, realloc, bad frees. */
#include "test_util.h"

#include <string.h>

#include "machine.h"
#include "mm/slab.h"
#include "mm/vmstat.h"

static const char *cache_name(vmm_machine *m, vmm_vaddr_t p)
{
	struct vmm_kmem_cache *c = vmm_slab_cache_of(m, p);

	return c ? c->name : "(none)";
}

/* Each size lands in the smallest cache that holds it. */
static void test_size_classes(void **state)
{
	static const struct {
		size_t size;
		const char *cache;
	} cases[] = {
		{ 1, "kmalloc-8" },	{ 8, "kmalloc-8" },	  { 9, "kmalloc-16" },
		{ 16, "kmalloc-16" },	{ 17, "kmalloc-32" },	  { 33, "kmalloc-64" },
		{ 64, "kmalloc-64" },	{ 65, "kmalloc-96" },	  { 96, "kmalloc-96" },
		{ 97, "kmalloc-128" },	{ 129, "kmalloc-192" },	  { 192, "kmalloc-192" },
		{ 193, "kmalloc-256" }, { 256, "kmalloc-256" },	  { 257, "kmalloc-512" },
		{ 1000, "kmalloc-1k" }, { 1025, "kmalloc-2k" },	  { 4096, "kmalloc-4k" },
		{ 4097, "kmalloc-8k" }, { 8192, "kmalloc-8k" },
	};
	vmm_machine *m = default_machine();

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vmm_vaddr_t p = vmm_kmalloc(m, cases[i].size, VMM_GFP_KERNEL);
		vmm_vaddr_t d = vmm_kmalloc(m, cases[i].size, VMM_GFP_KERNEL | VMM_GFP_DMA);
		char dma[40];

		assert_true(p && d);
		assert_string_equal(cache_name(m, p), cases[i].cache);
		snprintf(dma, sizeof(dma), "dma-%s", cases[i].cache);
		assert_string_equal(cache_name(m, d), dma);
		/* DMA objects come from ZONE_DMA */
		assert_int_equal(vmm_page_zonenum(m, vmm_virt_to_page(m, d)), VMM_ZONE_DMA);
		assert_int_equal(vmm_ksize(m, p), vmm_kmem_cache_find(m, cases[i].cache)->object_size);
		assert_true(vmm_ksize(m, p) >= cases[i].size);
		vmm_kfree(m, p);
		vmm_kfree(m, d);
	}
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void test_zero_and_large(void **state)
{
	vmm_machine *m = default_machine();
	uint64_t slab_kb = vmm_global_node_page_state(m, NR_SLAB_UNRECLAIMABLE_B);
	vmm_vaddr_t p, q;
	uint8_t *h;
	struct vmm_page *pg;

	(void)state;
	assert_int_equal(vmm_kmalloc(m, 0, VMM_GFP_KERNEL), VMM_ZERO_SIZE_PTR);
	vmm_kfree(m, VMM_ZERO_SIZE_PTR);
	vmm_kfree(m, 0);
	assert_int_equal(vmm_ksize(m, VMM_ZERO_SIZE_PTR), 0);
	/* kzalloc and kcalloc clear */
	p = vmm_kmalloc(m, 200, VMM_GFP_KERNEL);
	memset(vmm_kaddr_to_host(m, p), 0xee, 200);
	vmm_kfree(m, p);
	q = vmm_kzalloc(m, 200, VMM_GFP_KERNEL);
	assert_int_equal(q, p); /* the same object again, cleared */
	h = vmm_kaddr_to_host(m, q);
	for (int i = 0; i < 200; i++)
		assert_int_equal(h[i], 0);
	vmm_kfree(m, q);
	q = vmm_kcalloc(m, 10, 20, VMM_GFP_KERNEL);
	h = vmm_kaddr_to_host(m, q);
	for (int i = 0; i < 200; i++)
		assert_int_equal(h[i], 0);
	vmm_kfree(m, q);
	assert_int_equal(vmm_kcalloc(m, SIZE_MAX / 2, 3, VMM_GFP_KERNEL | VMM_GFP_NOWARN), 0);
	/* above 8 KiB: a compound block of pages, counted as unreclaimable slab */
	p = vmm_kmalloc(m, 20000, VMM_GFP_KERNEL);
	assert_true(p != 0);
	assert_int_equal(p % 4096, 0);
	pg = vmm_virt_to_page(m, p);
	assert_true(vmm_page_flags(pg) & (1ull << VMM_PG_head));
	assert_int_equal(vmm_ksize(m, p), 32768);
	assert_int_equal(vmm_global_node_page_state(m, NR_SLAB_UNRECLAIMABLE_B), slab_kb + 32768);
	assert_machine_healthy(m);
	vmm_kfree(m, p);
	assert_int_equal(vmm_global_node_page_state(m, NR_SLAB_UNRECLAIMABLE_B), slab_kb);
	/* the largest, and one byte more */
	p = vmm_kmalloc(m, VMM_KMALLOC_MAX_SIZE, VMM_GFP_KERNEL);
	assert_true(p != 0);
	vmm_kfree(m, p);
	assert_int_equal(vmm_kmalloc(m, VMM_KMALLOC_MAX_SIZE + 1, VMM_GFP_KERNEL | VMM_GFP_NOWARN),
			 0);
	/* on a node */
	p = vmm_kmalloc_node(m, 100, VMM_GFP_KERNEL, 1);
	assert_int_equal(vmm_page_to_nid(m, vmm_virt_to_page(m, p)), 1);
	vmm_kfree(m, p);
	p = vmm_kmalloc_node(m, 100000, VMM_GFP_KERNEL | VMM_GFP_THISNODE, 1);
	assert_int_equal(vmm_page_to_nid(m, vmm_virt_to_page(m, p)), 1);
	vmm_kfree(m, p);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void test_krealloc(void **state)
{
	vmm_machine *m = default_machine();
	vmm_vaddr_t p, q;
	uint8_t *h;

	(void)state;
	p = vmm_krealloc(m, 0, 50, VMM_GFP_KERNEL);
	assert_string_equal(cache_name(m, p), "kmalloc-64");
	h = vmm_kaddr_to_host(m, p);
	for (int i = 0; i < 50; i++)
		h[i] = (uint8_t)i;
	/* still fits its 64 bytes: the same block */
	assert_int_equal(vmm_krealloc(m, p, 64, VMM_GFP_KERNEL), p);
	/* grows into a new block with the old bytes; the old one is freed */
	q = vmm_krealloc(m, p, 1000, VMM_GFP_KERNEL | VMM_GFP_ZERO);
	assert_true(q != p);
	h = vmm_kaddr_to_host(m, q);
	for (int i = 0; i < 50; i++)
		assert_int_equal(h[i], i);
	for (int i = 64; i < 1000; i++)
		assert_int_equal(h[i], 0);
	{
		struct vmm_array_cache *ac = vmm_kmem_cache_find(m, "kmalloc-64")->array[0];

		assert_int_equal(ac->entry[ac->avail - 1], p); /* freed: on top of the CPU's array */
	}
	/* into a large block and back out */
	p = vmm_krealloc(m, q, 50000, VMM_GFP_KERNEL);
	assert_int_equal(vmm_ksize(m, p), 65536);
	assert_int_equal(((uint8_t *)vmm_kaddr_to_host(m, p))[49], 49);
	assert_int_equal(vmm_krealloc(m, p, 0, VMM_GFP_KERNEL), VMM_ZERO_SIZE_PTR);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void test_bad_kfree(void **state)
{
	struct test_log tl = { 0 };
	struct vmm_config cfg;
	struct vmm_trouble_counts t;
	vmm_machine *m;
	vmm_vaddr_t p, big, page;

	(void)state;
	vmm_config_init(&cfg);
	cfg.log_fn = test_log_hook;
	cfg.log_data = &tl;
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	p = vmm_kmalloc(m, 100, VMM_GFP_KERNEL);
	big = vmm_kmalloc(m, 16384, VMM_GFP_KERNEL);
	page = vmm_get_free_pages(m, VMM_GFP_KERNEL, 0);
	vmm_kfree(m, p + 4);		/* the middle of an object */
	vmm_kfree(m, big + 4096);	/* a tail page of a large block */
	vmm_kfree(m, big + 8);		/* inside a large block */
	vmm_kfree(m, page);		/* a page that is no kmalloc block */
	vmm_kfree(m, 0x1000);		/* not in the direct map */
	assert_int_equal(vmm_ksize(m, page), 0);
	assert_int_equal(vmm_krealloc(m, page, 10, VMM_GFP_KERNEL), 0);
	assert_int_equal(vmm_machine_trouble(m, &t), 0);
	assert_int_equal(t.slab_errors, 7);
	assert_int_equal(t.guest, 7);
	assert_int_equal(vmm_kmalloc(m, 10, VMM_GFP_KERNEL | VMM_GFP_HIGHMEM), 0);
	assert_int_equal(vmm_kmalloc_node(m, 10, VMM_GFP_KERNEL, 5), 0);
	assert_int_equal(vmm_machine_trouble(m, &t), 0);
	assert_int_equal(t.caller, 2);
	assert_machine_healthy(m);
	/* nothing was harmed: the real frees work */
	vmm_kfree(m, p);
	vmm_kfree(m, big);
	vmm_free_pages_addr(m, page, 0);
	assert_machine_healthy(m);
	assert_int_equal(vmm_kmalloc(NULL, 8, VMM_GFP_KERNEL), 0);
	vmm_kfree(NULL, 8);
	vmm_machine_destroy(&m);
}

/*
 * kfree() first tries the cache it used last: a wrong guess is caught by the page's
 * mapping, and the guess outlives the destroy of the cache it names.
 */
static void test_kfree_guess(void **state)
{
	vmm_machine *m = default_machine();
	struct vmm_trouble_counts t;
	vmm_kmem_cache *a, *b;
	vmm_vaddr_t x, y, k;

	(void)state;
	assert_int_equal(vmm_kmem_cache_create(m, "guess-a", 200, 0, 0, NULL, &a), 0);
	assert_int_equal(vmm_kmem_cache_create(m, "guess-b", 200, 0, 0, NULL, &b), 0);
	x = vmm_kmem_cache_alloc(a, VMM_GFP_KERNEL);
	y = vmm_kmem_cache_alloc(b, VMM_GFP_KERNEL);
	k = vmm_kmalloc(m, 200, VMM_GFP_KERNEL);
	assert_true(x && y && k);
	assert_string_equal(m->slab.kfree_hint->name, "kmalloc-256");
	/* not kmalloc-256's: found from its page, back into guess-a's array, the new guess */
	vmm_kfree(m, x);
	assert_machine_healthy(m);
	assert_ptr_equal(m->slab.kfree_hint, a);
	assert_int_equal(vmm_kmem_cache_alloc(a, VMM_GFP_KERNEL), x);
	vmm_kfree(m, x);
	assert_int_equal(vmm_kmem_cache_destroy(a), 0);
	assert_machine_healthy(m);
	/* the guess went with guess-a (never NULL), and guess-b's object still goes home */
	assert_non_null(m->slab.kfree_hint);
	assert_ptr_not_equal(m->slab.kfree_hint, a);
	vmm_kfree(m, y);
	assert_machine_healthy(m);
	assert_int_equal(vmm_kmem_cache_alloc(b, VMM_GFP_KERNEL), y);
	vmm_kfree(m, y);
	vmm_kfree(m, k);
	assert_int_equal(vmm_machine_trouble(m, &t), 0);
	assert_int_equal(t.slab_errors, 0);
	assert_int_equal(vmm_kmem_cache_destroy(b), 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_classes),
		cmocka_unit_test(test_zero_and_large),
		cmocka_unit_test(test_krealloc),
		cmocka_unit_test(test_bad_kfree),
		cmocka_unit_test(test_kfree_guess),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
