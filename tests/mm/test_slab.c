/* SPDX-License-Identifier: MIT */
/*
 * The slab allocator (src/mm/slab.c): layouts worked out from the
 * algorithm, colouring, refill and flush sizes, shrink and destroy giving
 * every page back, reaping driven by machine time, each debugging
 * detection with its exact count, slabinfo, and host allocation failures.
 */
#include "test_util.h"

#include <regex.h>
#include <string.h>

#include "lib/compiler.h"
#include "machine.h"
#include "mm/slab.h"
#include "mm/sparse.h"
#include "mm/vmstat.h"

#define M (1ull << 20)

/* ------------------------------------------------------------------ */
/* A reference layout, from calculate_slab_order() as seed 001 gives it */
/* ------------------------------------------------------------------ */

struct layout {
	unsigned num, order, colour;
	size_t left, size, align, slab_size;
	bool off_slab;
};

static size_t align_up(size_t x, size_t a)
{
	return (x + a - 1) / a * a;
}

/* cache_estimate(): struct slab is 48 bytes, a kmem_bufctl_t 4. */
static void ref_estimate(unsigned order, size_t size, size_t align, bool off, size_t *left,
			 unsigned *num)
{
	size_t slab = (size_t)4096 << order, mgmt = 0, n;

	if (off) {
		n = slab / size;
	} else {
		n = (slab - 48) / (size + 4);
		if (align_up(48 + n * 4, align) + n * size > slab)
			n--;
		mgmt = align_up(48 + n * 4, align);
	}
	*num = (unsigned)n;
	*left = slab - n * size - mgmt;
}

/* kmem_cache_create() without debug flags on a machine above 32 MiB (break order 1). */
static struct layout ref_layout(size_t size, size_t align, uint32_t flags)
{
	struct layout l = { 0 };
	size_t ralign = 8;

	size = align_up(size, 8);
	if (flags & VMM_SLAB_HWCACHE_ALIGN) {
		ralign = 64;
		while (size <= ralign / 2)
			ralign /= 2;
	}
	if (ralign < align)
		ralign = align;
	l.off_slab = size >= 512;
	size = align_up(size, ralign);
	for (unsigned order = 0; order <= 10; order++) {
		size_t left;
		unsigned num;

		ref_estimate(order, size, ralign, l.off_slab, &left, &num);
		if (!num)
			continue;
		if (l.off_slab && num > (size - 48) / 4)
			break;
		l.num = num;
		l.order = order;
		l.left = left;
		if ((flags & VMM_SLAB_RECLAIM_ACCOUNT) || order >= 1 || left * 8 <= (4096u << order))
			break;
	}
	l.slab_size = align_up(48 + 4 * (size_t)l.num, ralign);
	if (l.off_slab && l.left >= l.slab_size) {
		l.off_slab = false;
		l.left -= l.slab_size;
	}
	if (l.off_slab)
		l.slab_size = 48 + 4 * (size_t)l.num;
	l.colour = (unsigned)(l.left / (ralign > 64 ? ralign : 64));
	l.size = size;
	l.align = ralign;
	return l;
}

static void assert_layout(vmm_kmem_cache *c, const struct layout *l)
{
	struct vmm_kmem_cache_info in;

	assert_int_equal(vmm_kmem_cache_info(c, &in), 0);
	if (in.num != l->num || in.gfporder != l->order || in.left_over != l->left ||
	    in.size != l->size || in.off_slab != l->off_slab || in.slab_size != l->slab_size ||
	    in.colour != l->colour || in.align != l->align)
		fail_msg("%s: num %u order %u left %u size %u off %u mgmt %u colour %u align %u; "
			 "expected %u %u %zu %zu %d %zu %u %zu",
			 in.name, in.num, in.gfporder, in.left_over, in.size, in.off_slab,
			 in.slab_size, in.colour, in.align, l->num, l->order, l->left, l->size,
			 l->off_slab, l->slab_size, l->colour, l->align);
}

static void test_layout_kmalloc(void **state)
{
	static const unsigned sizes[] = { 8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192 };
	vmm_machine *m = default_machine();
	struct vmm_kmem_cache_info in;
	char name[32];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct layout l = ref_layout(sizes[i], 8, 0);

		for (int dma = 0; dma < 2; dma++) {
			if (sizes[i] >= 1024)
				snprintf(name, sizeof(name), "%skmalloc-%uk", dma ? "dma-" : "",
					 sizes[i] / 1024);
			else
				snprintf(name, sizeof(name), "%skmalloc-%u", dma ? "dma-" : "", sizes[i]);
			assert_non_null(vmm_kmem_cache_find(m, name));
			assert_layout(vmm_kmem_cache_find(m, name), &l);
		}
	}
	/* a few worked by hand: (4096 - 48) / (96 + 4) = 40 objects, 4096 - 3840 - 208 = 48 left */
	assert_int_equal(vmm_kmem_cache_info(vmm_kmem_cache_find(m, "kmalloc-96"), &in), 0);
	assert_int_equal(in.num, 40);
	assert_int_equal(in.left_over, 48);
	assert_int_equal(vmm_kmem_cache_info(vmm_kmem_cache_find(m, "kmalloc-8"), &in), 0);
	assert_int_equal(in.num, 337); /* 337 x 8 + ALIGN(48 + 337 x 4, 8) = 2696 + 1400: full */
	assert_int_equal(in.left_over, 0);
	/* 512 bytes: management off-slab in an 80-byte kmalloc-96 object, 8 objects, nothing left */
	assert_int_equal(vmm_kmem_cache_info(vmm_kmem_cache_find(m, "kmalloc-512"), &in), 0);
	assert_int_equal(in.num, 8);
	assert_int_equal(in.off_slab, 1);
	assert_int_equal(in.slab_size, 80);
	assert_int_equal(in.left_over, 0);
	/* 8 KiB: two pages per slab, one object */
	assert_int_equal(vmm_kmem_cache_info(vmm_kmem_cache_find(m, "kmalloc-8k"), &in), 0);
	assert_int_equal(in.gfporder, 1);
	assert_int_equal(in.num, 1);
	/* the tunables enable_cpucache picks: 120/60/8 small, 54/27 up to 1 KiB, 24/12, 8/4 */
	assert_int_equal(vmm_kmem_cache_info(vmm_kmem_cache_find(m, "kmalloc-64"), &in), 0);
	assert_true(in.limit == 120 && in.batchcount == 60 && in.shared == 8);
	assert_int_equal(vmm_kmem_cache_info(vmm_kmem_cache_find(m, "kmalloc-1k"), &in), 0);
	assert_true(in.limit == 54 && in.batchcount == 27 && in.shared == 8);
	assert_int_equal(vmm_kmem_cache_info(vmm_kmem_cache_find(m, "kmalloc-2k"), &in), 0);
	assert_true(in.limit == 24 && in.batchcount == 12 && in.shared == 8);
	assert_int_equal(vmm_kmem_cache_info(vmm_kmem_cache_find(m, "kmalloc-8k"), &in), 0);
	assert_true(in.limit == 8 && in.batchcount == 4 && in.shared == 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void test_layout_odd_sizes(void **state)
{
	static const size_t sizes[] = { 1,   7,	   9,	 24,   40,    100,   200,  250,  300,
					511, 512,  640,	 700,  1000,  1500,  2100, 3000, 4095,
					4097, 5000, 10000, 70000, 300000, 4u << 20 };
	static const uint32_t flag_sets[] = { 0, VMM_SLAB_HWCACHE_ALIGN, VMM_SLAB_RECLAIM_ACCOUNT };
	static const size_t aligns[] = { 0, 32, 256 };
	vmm_machine *m = default_machine();
	unsigned n = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		for (size_t f = 0; f < ARRAY_SIZE(flag_sets); f++)
			for (size_t a = 0; a < ARRAY_SIZE(aligns); a++) {
				struct layout l = ref_layout(sizes[i], aligns[a], flag_sets[f]);
				vmm_kmem_cache *c;
				vmm_vaddr_t obj;

				assert_int_equal(vmm_kmem_cache_create(m, "odd", sizes[i], aligns[a],
								       flag_sets[f], NULL, &c),
						 0);
				assert_layout(c, &l);
				/* an object really is where the layout says, aligned */
				obj = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL);
				assert_true(obj != 0);
				assert_int_equal(obj % l.align, 0);
				vmm_kmem_cache_free(c, obj);
				assert_int_equal(vmm_kmem_cache_destroy(c), 0);
				n++;
			}
	printf("# %u layouts match the reference\n", n);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* ------------------------------------------------------------------ */
/* Colouring, refill, flush                                            */
/* ------------------------------------------------------------------ */

static struct vmm_page *head_of(vmm_machine *m, vmm_vaddr_t obj)
{
	uint64_t pfn = (obj - vmm_page_offset(m)) >> VMM_PAGE_SHIFT;
	struct vmm_page *p = pfn_to_page(&m->sparse, pfn);

	if (p->compound & VMM_PAGE_TAIL)
		p -= p->compound & VMM_PAGE_TAIL_OFFSET;
	return p;
}

static void test_colour_cycles(void **state)
{
	vmm_machine *m = default_machine();
	struct vmm_kmem_cache_info in;
	vmm_kmem_cache *c;
	size_t size = 8;
	struct layout l;
	vmm_vaddr_t *objs;
	struct vmm_page *last = NULL;
	unsigned slabs = 0;

	(void)state;
	/* the first size with three colours or more */
	while ((l = ref_layout(size, 0, 0)).colour < 3)
		size += 8;
	printf("# %zu-byte objects: %u per slab, %zu left, %u colours\n", size, l.num, l.left,
	       l.colour);
	assert_int_equal(vmm_kmem_cache_create(m, "colour", size, 0, 0, NULL, &c), 0);
	assert_layout(c, &l);
	assert_int_equal(vmm_kmem_cache_info(c, &in), 0);
	objs = calloc(4 * (size_t)l.num * l.colour, sizeof(*objs));
	assert_non_null(objs);
	/* slabs come in order; each one's offset is the next colour, wrapping */
	for (size_t i = 0; i < 4 * (size_t)l.num * l.colour; i++) {
		struct vmm_page *h;

		objs[i] = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL);
		assert_true(objs[i] != 0);
		h = head_of(m, objs[i]);
		if (h != last) {
			uint64_t pfn = page_to_pfn(&m->sparse, h);
			vmm_vaddr_t page = vmm_page_offset(m) + (pfn << 12);
			/* on-slab: colour offset, then struct slab and the bufctl array, then objects */
			uint64_t off = h->index - page - in.slab_size, colouroff;

			assert_int_equal(in.off_slab, 0);
			/* the simulated struct slab says the same */
			memcpy(&colouroff, (uint8_t *)vmm_kaddr_to_host(m, page + off) + 16, 8);
			assert_int_equal(colouroff, off);
			assert_int_equal(off % in.colour_off, 0);
			assert_int_equal(off / in.colour_off, slabs % l.colour);
			last = h;
			slabs++;
		}
	}
	assert_true(slabs >= 2 * l.colour);
	for (size_t i = 0; i < 4 * (size_t)l.num * l.colour; i++)
		vmm_kmem_cache_free(c, objs[i]);
	free(objs);
	assert_int_equal(vmm_kmem_cache_destroy(c), 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static struct vmm_kmem_list3 *l3_of(vmm_kmem_cache *c, unsigned nid)
{
	return c->nodelists[nid];
}

static void test_refill_and_flush_sizes(void **state)
{
	vmm_machine *m = default_machine();
	vmm_kmem_cache *c;
	struct vmm_array_cache *ac;
	vmm_vaddr_t *objs;
	size_t n = 1200, i;
	uint64_t free_before;

	(void)state;
	/* 112 objects per slab: more than a batch */
	assert_int_equal(vmm_kmem_cache_create(m, "refill", 32, 0, 0, NULL, &c), 0);
	assert_int_equal(c->num, 112);
	ac = c->array[0];
	assert_int_equal(ac->limit, 120);
	assert_int_equal(ac->batchcount, 60);
	objs = calloc(n, sizeof(*objs));
	assert_non_null(objs);
	/* an untouched array takes only BATCHREFILL_LIMIT (16) objects */
	objs[0] = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL);
	assert_int_equal(ac->avail, 15);
	assert_int_equal(l3_of(c, 0)->free_objects, c->num - 16);
	for (i = 1; i < 16; i++)
		objs[i] = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL);
	assert_int_equal(ac->avail, 0);
	/* touched now: the next refill moves exactly batchcount */
	objs[16] = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL);
	assert_int_equal(ac->avail, 59);
	for (i = 17; i < n; i++)
		objs[i] = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL);
	assert_machine_healthy(m);
	/* fill the array by freeing; one more free flushes batchcount into the shared array */
	{
		unsigned start = ac->avail;

		for (i = 0; i < 120u - start; i++)
			vmm_kmem_cache_free(c, objs[n - 1 - i]);
	}
	assert_int_equal(ac->avail, 120);
	assert_int_equal(l3_of(c, 0)->shared->avail, 0);
	for (unsigned flush = 1; flush <= 8; flush++) {
		for (unsigned k = 0; k < 60; k++)
			vmm_kmem_cache_free(c, objs[n - 1 - i++]);
		assert_int_equal(ac->avail, 120);
		assert_int_equal(l3_of(c, 0)->shared->avail, 60 * flush);
	}
	/* the shared array (8 x 60) is full: the next flush gives 60 back to the slabs */
	free_before = l3_of(c, 0)->free_objects;
	vmm_kmem_cache_free(c, objs[n - 1 - i++]);
	assert_int_equal(ac->avail, 61);
	assert_int_equal(l3_of(c, 0)->free_objects, free_before + 60);
	assert_machine_healthy(m);
	/* a refill takes from the shared array first */
	while (ac->avail)
		objs[n - i--] = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL);
	objs[n - i--] = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL);
	assert_int_equal(ac->avail, 59);
	assert_int_equal(l3_of(c, 0)->shared->avail, 420);
	for (size_t k = 0; k < n - i; k++)
		vmm_kmem_cache_free(c, objs[k]);
	free(objs);
	assert_int_equal(vmm_kmem_cache_destroy(c), 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* ------------------------------------------------------------------ */
/* Shrink, destroy, reap                                               */
/* ------------------------------------------------------------------ */

/* Drain every cache and per-CPU page list: what is left is what is really in use. */
static void quiesce(vmm_machine *m)
{
	struct vmm_list *pos;

	vmm_list_for_each(pos, &m->slab.cache_chain)
		vmm_kmem_cache_shrink(vmm_list_entry(pos, struct vmm_kmem_cache, next));
	vmm_drain_all_pages(m);
}

static void test_shrink_and_destroy_give_pages_back(void **state)
{
	vmm_machine *m = default_machine();
	vmm_kmem_cache *c;
	vmm_vaddr_t *objs;
	char *before, *after;
	size_t n = 5000;
	uint64_t slab_before, pages_before;
	struct vmm_kmem_cache_info in;

	(void)state;
	quiesce(m);
	before = dump_to_string(m, VMM_DUMP_BUDDYINFO);
	slab_before = vmm_global_node_page_state(m, NR_SLAB_UNRECLAIMABLE_B);
	assert_int_equal(vmm_kmem_cache_create(m, "shrinkme", 700, 0, 0, NULL, &c), 0);
	objs = calloc(n, sizeof(*objs));
	assert_non_null(objs);
	for (size_t i = 0; i < n; i++)
		assert_true((objs[i] = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL)) != 0);
	assert_int_equal(vmm_kmem_cache_info(c, &in), 0);
	pages_before = in.num_slabs << in.gfporder;
	assert_true(pages_before >= n / in.num);
	for (size_t i = 0; i < n; i++)
		vmm_kmem_cache_free(c, objs[i]);
	/* shrink: the arrays drain and every slab, now free, goes back */
	assert_int_equal(vmm_kmem_cache_shrink(c), 0);
	assert_int_equal(vmm_kmem_cache_info(c, &in), 0);
	assert_int_equal(in.num_slabs, 0);
	assert_int_equal(in.reaped, in.grown);
	assert_machine_healthy(m);
	assert_int_equal(vmm_kmem_cache_destroy(c), 0);
	/* with the descriptor and arrays back in their kmalloc caches, nothing has moved */
	quiesce(m);
	after = dump_to_string(m, VMM_DUMP_BUDDYINFO);
	assert_string_equal(before, after);
	assert_int_equal(vmm_global_node_page_state(m, NR_SLAB_UNRECLAIMABLE_B), slab_before);
	free(before);
	free(after);
	free(objs);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void test_reap_trims_idle_arrays(void **state)
{
	vmm_machine *m = default_machine();
	uint64_t two_s = 2ull * m->cfg.cpu_mhz * 1000000;
	vmm_kmem_cache *c;
	struct vmm_array_cache *ac;
	vmm_vaddr_t objs[200];
	unsigned avail;

	(void)state;
	assert_int_equal(vmm_kmem_cache_create(m, "idle", 128, 0, 0, NULL, &c), 0);
	ac = c->array[0];
	for (int i = 0; i < 200; i++)
		objs[i] = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL);
	for (int i = 0; i < 100; i++)
		vmm_kmem_cache_free(c, objs[i]);
	avail = ac->avail;
	assert_true(avail >= 48);
	assert_int_equal(ac->touched, 1);
	/* the first reap only notices the array was used */
	assert_int_equal(vmm_machine_advance(m, two_s), 0);
	assert_int_equal(ac->touched, 0);
	assert_int_equal(ac->avail, avail);
	/* idle since: each reap gives back (limit + 4) / 5 = 24 */
	assert_int_equal(vmm_machine_advance(m, two_s), 0);
	assert_int_equal(ac->avail, avail - 24);
	assert_int_equal(vmm_machine_advance(m, two_s), 0);
	assert_int_equal(ac->avail, avail - 48);
	assert_machine_healthy(m);
	/* a minute of idleness empties the arrays and frees the free slabs */
	for (int i = 100; i < 200; i++)
		vmm_kmem_cache_free(c, objs[i]);
	for (int s = 0; s < 30; s++)
		assert_int_equal(vmm_machine_advance(m, two_s), 0);
	assert_int_equal(ac->avail, 0);
	assert_int_equal(l3_of(c, 0)->shared->avail, 0);
	assert_true(vmm_list_empty(&l3_of(c, 0)->slabs_free));
	assert_true(vmm_machine_jiffies(m) >= 33ull * 2 * m->cfg.hz);
	assert_int_equal(vmm_kmem_cache_destroy(c), 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* Slabs of a TYPESAFE_BY_RCU cache stay until a grace period has passed. */
static void test_typesafe_by_rcu(void **state)
{
	struct test_log tl = { 0 };
	struct vmm_config cfg;
	vmm_machine *m;
	vmm_kmem_cache *c;
	vmm_vaddr_t obj;
	uint64_t slab_before;
	uint8_t *host;

	(void)state;
	vmm_config_init(&cfg);
	cfg.log_fn = test_log_hook;
	cfg.log_data = &tl;
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	assert_int_equal(vmm_kmem_cache_create(m, "rcu", 256, 0, VMM_SLAB_TYPESAFE_BY_RCU, NULL, &c),
			 0);
	assert_int_equal(vmm_kmem_cache_create(m, "rcu2", 256, 0,
					       VMM_SLAB_TYPESAFE_BY_RCU | VMM_SLAB_POISON, NULL, &c),
			 -VMM_EINVAL);
	c = vmm_kmem_cache_find(m, "rcu");
	obj = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL);
	host = vmm_kaddr_to_host(m, obj);
	memset(host, 0x42, 256);
	slab_before = vmm_global_node_page_state(m, NR_SLAB_UNRECLAIMABLE_B);
	vmm_kmem_cache_free(c, obj);
	/* idle reaping frees the slab at last, but its page waits for a grace period */
	for (int j = 0; j < 60 * 250 && vmm_list_empty(&m->slab.rcu_pending); j++)
		assert_int_equal(vmm_machine_advance(m, m->timers.cycles_per_jiffy), 0);
	assert_false(vmm_list_empty(&m->slab.rcu_pending));
	assert_int_equal(vmm_global_node_page_state(m, NR_SLAB_UNRECLAIMABLE_B), slab_before);
	assert_int_equal(host[0], 0x42); /* a reader may still look at it */
	assert_machine_healthy(m);
	/* but nobody may free into it again */
	vmm_kmem_cache_free(c, obj);
	{
		struct vmm_trouble_counts t;

		assert_int_equal(vmm_machine_trouble(m, &t), 0);
		assert_int_equal(t.slab_errors, 1);
	}
	assert_machine_healthy(m);
	/* the next reap on any CPU ends the grace period */
	for (int j = 0; j < 3 * 250 && !vmm_list_empty(&m->slab.rcu_pending); j++)
		assert_int_equal(vmm_machine_advance(m, m->timers.cycles_per_jiffy), 0);
	assert_true(vmm_list_empty(&m->slab.rcu_pending));
	assert_true(vmm_global_node_page_state(m, NR_SLAB_UNRECLAIMABLE_B) < slab_before);
	assert_int_equal(vmm_kmem_cache_destroy(c), 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* ------------------------------------------------------------------ */
/* Debugging: every detection, counted exactly, and harmless            */
/* ------------------------------------------------------------------ */

struct errlog {
	unsigned guest;
	char all[8192];
};

static void errlog_hook(void *data, enum vmm_log_level level, enum vmm_log_kind kind,
			const char *msg)
{
	struct errlog *e = data;
	size_t len = strlen(e->all);

	(void)level;
	if (kind == VMM_LOG_KIND_GUEST)
		e->guest++;
	if (len + strlen(msg) + 2 < sizeof(e->all))
		snprintf(e->all + len, sizeof(e->all) - len, "%s\n", msg);
}

static vmm_machine *logged_machine(struct errlog *e, uint64_t flags)
{
	struct vmm_config cfg;
	vmm_machine *m;

	vmm_config_init(&cfg);
	cfg.flags = flags;
	cfg.log_fn = errlog_hook;
	cfg.log_data = e;
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	return m;
}

static uint64_t slab_errors(vmm_machine *m)
{
	struct vmm_trouble_counts t;

	assert_int_equal(vmm_machine_trouble(m, &t), 0);
	return t.slab_errors;
}

/* @expect more errors than before, and @what in the log */
static void expect_errors(vmm_machine *m, struct errlog *e, uint64_t *count, unsigned expect,
			  const char *what)
{
	uint64_t now = slab_errors(m);

	if (now != *count + expect || !strstr(e->all, what))
		fail_msg("expected %u error(s) mentioning \"%s\", got %" PRIu64 "; log:\n%s", expect,
			 what, now - *count, e->all);
	*count = now;
	e->all[0] = 0;
}

#define DEBUG_FLAGS (VMM_SLAB_RED_ZONE | VMM_SLAB_POISON | VMM_SLAB_STORE_USER)

static void test_debug_detections(void **state)
{
	struct errlog e = { 0 };
	vmm_machine *m = logged_machine(&e, 0);
	vmm_kmem_cache *c, *other;
	struct vmm_kmem_cache_info in;
	vmm_vaddr_t a, b, p;
	uint64_t count = 0;
	uint8_t *host;

	(void)state;
	assert_int_equal(vmm_kmem_cache_create(m, "dbg", 40, 0, DEBUG_FLAGS, NULL, &c), 0);
	assert_int_equal(vmm_kmem_cache_create(m, "other", 40, 0, 0, NULL, &other), 0);
	assert_int_equal(vmm_kmem_cache_info(c, &in), 0);
	/* 8 bytes of red zone, 40 of object, red zone, owner word */
	assert_int_equal(in.obj_offset, 8);
	assert_int_equal(in.size, 8 + 40 + 8 + 8);

	/* new objects are poisoned as uninitialised: 0x5a ... 0xa5 */
	a = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL);
	host = vmm_kaddr_to_host(m, a);
	assert_int_equal(host[0], 0x5a);
	assert_int_equal(host[39], 0xa5);

	/* double free: found by the red zones at once, the second free ignored */
	vmm_kmem_cache_free(c, a);
	vmm_kmem_cache_free(c, a);
	expect_errors(m, &e, &count, 1, "double free");
	assert_non_null(strstr(e.all, "") ); /* log cleared */
	assert_machine_healthy(m);

	/* use after free: a write into a freed object is found when it is handed out again */
	host[3] = 0x00;
	b = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL);
	assert_int_equal(b, a); /* LIFO */
	expect_errors(m, &e, &count, 1, "use after free");

	/* a write past the end hits the red zone: reported at free, the free goes ahead */
	host[40] = 0x11;
	vmm_kmem_cache_free(c, b);
	expect_errors(m, &e, &count, 1, "memory outside object");
	assert_machine_healthy(m);

	/* the last owner is named */
	b = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL);
	vmm_kmem_cache_free(c, b);
	vmm_kmem_cache_free(c, b);
	expect_errors(m, &e, &count, 1, "last free #");

	/* the middle of an object */
	a = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL);
	vmm_kmem_cache_free(c, a + 8);
	expect_errors(m, &e, &count, 1, "not the start of an object");
	/* an address that is no slab object at all */
	p = vmm_get_free_pages(m, VMM_GFP_KERNEL, 0);
	vmm_kmem_cache_free(c, p);
	expect_errors(m, &e, &count, 1, "is not a slab object");
	vmm_kmem_cache_free(c, 0x1000);
	expect_errors(m, &e, &count, 1, "is not a slab object");
	vmm_free_pages_addr(m, p, 0);
	/* another cache's object: reported, and freed where it belongs, as Linux does */
	b = vmm_kmem_cache_alloc(other, VMM_GFP_KERNEL);
	vmm_kmem_cache_free(c, b);
	expect_errors(m, &e, &count, 1, "wrong slab cache");
	assert_int_equal(other->array[0]->entry[other->array[0]->avail - 1], b);
	vmm_kmem_cache_free(c, a);
	assert_int_equal(slab_errors(m), count);
	assert_machine_healthy(m);

	/* the checker sees a damaged free object without being told */
	a = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL);
	vmm_kmem_cache_free(c, a);
	host = vmm_kaddr_to_host(m, a);
	host[5] ^= 0xff;
	{
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		assert_int_equal(vmm_machine_check(m, f), 1);
		fclose(f);
		assert_non_null(strstr(buf, "was written at offset 5"));
		free(buf);
	}
	host[5] ^= 0xff;
	assert_machine_healthy(m);
	assert_int_equal(vmm_kmem_cache_info(c, &in), 0);
	/* every report so far was made against "dbg", the wrong-cache one included */
	assert_int_equal(in.errors, 8);
	assert_int_equal(slab_errors(m), 8);
	assert_int_equal(vmm_kmem_cache_destroy(c), 0);
	assert_int_equal(vmm_kmem_cache_destroy(other), 0);
	vmm_machine_destroy(&m);
}

/* A slab whose management area is overwritten is reported and set aside; the cache goes on. */
/* The red zone word before a RED_ZONE cache's object (its buffer's first word). */
static uint64_t red_zone_before(vmm_machine *m, vmm_vaddr_t obj)
{
	uint64_t v;

	memcpy(&v, vmm_kaddr_to_host(m, obj - 8), sizeof(v));
	return v;
}

/*
 * A debug cache's fast paths find an array with nothing to take and no room, so every
 * allocation and free goes the careful way, even one with no GFP bit at all.
 */
static void test_debug_cache_any_gfp(void **state)
{
	vmm_machine *m = default_machine();
	vmm_kmem_cache *c;
	vmm_vaddr_t a, b;

	(void)state;
	assert_int_equal(vmm_kmem_cache_create(m, "rz", 40, 0, VMM_SLAB_RED_ZONE, NULL, &c), 0);
	a = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL); /* refills the array */
	b = vmm_kmem_cache_alloc(c, 0);
	assert_true(a && b);
	assert_true(red_zone_before(m, a) == SLAB_RED_ACTIVE);
	assert_true(red_zone_before(m, b) == SLAB_RED_ACTIVE);
	assert_machine_healthy(m);
	vmm_kmem_cache_free(c, b);
	assert_true(red_zone_before(m, b) == SLAB_RED_INACTIVE);
	b = vmm_kmalloc(m, 40, 0); /* a kmalloc cache without debug checks: the fast path */
	assert_true(b != 0);
	vmm_kfree(m, b);
	vmm_kmem_cache_free(c, a);
	assert_int_equal(vmm_kmem_cache_destroy(c), 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void test_corrupt_management(void **state)
{
	struct errlog e = { 0 };
	vmm_machine *m = logged_machine(&e, 0);
	vmm_kmem_cache *c;
	vmm_vaddr_t a, more[100];
	struct vmm_page *h;
	uint64_t count = 0;

	(void)state;
	assert_int_equal(vmm_kmem_cache_create(m, "mgmt", 64, 0, 0, NULL, &c), 0);
	a = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL);
	h = head_of(m, a);
	/* the free index in struct slab (offset 36) now points outside the slab */
	memset((uint8_t *)vmm_kaddr_to_host(m, vmm_page_offset(m) + (h->private & ((1ull << 40) - 1))) +
		       36,
	       0x7f, 4);
	for (int i = 0; i < 100; i++)
		assert_true((more[i] = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL)) != 0);
	expect_errors(m, &e, &count, 1, "corrupt management area");
	assert_machine_healthy(m);
	/* the set-aside slab's objects (a and those already in the CPU's array) cannot be freed */
	{
		unsigned in_bad = 1;

		for (int i = 0; i < 100; i++) {
			in_bad += head_of(m, more[i]) == h;
			vmm_kmem_cache_free(c, more[i]);
		}
		vmm_kmem_cache_free(c, a);
		assert_int_equal(in_bad, 16); /* the first refill took 16 */
		expect_errors(m, &e, &count, in_bad, "taken out of use");
	}
	assert_int_equal(vmm_kmem_cache_shrink(c), 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void test_leak_on_destroy(void **state)
{
	struct errlog e = { 0 };
	vmm_machine *m = logged_machine(&e, 0);
	vmm_kmem_cache *c;
	vmm_vaddr_t a, b, d;
	char want[64];
	uint64_t count = 0;

	(void)state;
	assert_int_equal(vmm_kmem_cache_create(m, "leaky", 100, 0, 0, NULL, &c), 0);
	a = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL);
	b = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL);
	d = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL);
	vmm_kmem_cache_free(c, b);
	assert_int_equal(vmm_kmem_cache_destroy(c), -VMM_EBUSY);
	snprintf(want, sizeof(want), "object %#" PRIx64 " still allocated", a);
	assert_non_null(strstr(e.all, want));
	snprintf(want, sizeof(want), "object %#" PRIx64 " still allocated", d);
	assert_non_null(strstr(e.all, want));
	snprintf(want, sizeof(want), "object %#" PRIx64 " still allocated", b);
	assert_null(strstr(e.all, want));
	expect_errors(m, &e, &count, 1, "2 leaked");
	/* the cache stays, usable */
	assert_ptr_equal(vmm_kmem_cache_find(m, "leaky"), c);
	assert_machine_healthy(m);
	vmm_kmem_cache_free(c, a);
	vmm_kmem_cache_free(c, d);
	assert_int_equal(vmm_kmem_cache_destroy(c), 0);
	assert_null(vmm_kmem_cache_find(m, "leaky"));
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* VMM_CFG_DEBUG_VM: every cache, kmalloc's too, gets the checks. */
static void test_debug_vm_everywhere(void **state)
{
	struct errlog e = { 0 };
	vmm_machine *m = logged_machine(&e, VMM_CFG_DEBUG_VM);
	struct vmm_kmem_cache_info in;
	uint64_t count = 0;
	vmm_kmem_cache *c;
	vmm_vaddr_t p;

	(void)state;
	assert_int_equal(vmm_kmem_cache_info(vmm_kmem_cache_find(m, "kmalloc-64"), &in), 0);
	assert_int_equal(in.flags & DEBUG_FLAGS, DEBUG_FLAGS);
	assert_int_equal(in.limit, 32); /* debug caches keep batches short */
	assert_int_equal(vmm_kmem_cache_create(m, "plain", 3000, 0, 0, NULL, &c), 0);
	assert_int_equal(vmm_kmem_cache_info(c, &in), 0);
	assert_int_equal(in.flags & DEBUG_FLAGS, DEBUG_FLAGS);
	/* 4096 bytes: red zones would push it past a power of two; poison only */
	assert_int_equal(vmm_kmem_cache_destroy(c), 0);
	assert_int_equal(vmm_kmem_cache_create(m, "big", 4096, 0, 0, NULL, &c), 0);
	assert_int_equal(vmm_kmem_cache_info(c, &in), 0);
	assert_int_equal(in.flags & DEBUG_FLAGS, VMM_SLAB_POISON);
	assert_int_equal(vmm_kmem_cache_destroy(c), 0);
	p = vmm_kmalloc(m, 50, VMM_GFP_KERNEL);
	vmm_kfree(m, p);
	vmm_kfree(m, p);
	expect_errors(m, &e, &count, 1, "double free");
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void test_bad_arguments(void **state)
{
	struct errlog e = { 0 };
	vmm_machine *m = logged_machine(&e, 0);
	vmm_kmem_cache *c = (vmm_kmem_cache *)&e;
	struct vmm_trouble_counts t;

	(void)state;
	assert_int_equal(vmm_kmem_cache_create(NULL, "x", 8, 0, 0, NULL, &c), -VMM_EINVAL);
	assert_int_equal(vmm_kmem_cache_create(m, NULL, 8, 0, 0, NULL, &c), -VMM_EINVAL);
	assert_null(c);
	assert_int_equal(vmm_kmem_cache_create(m, "x", 8, 0, 0, NULL, NULL), -VMM_EINVAL);
	assert_int_equal(vmm_kmem_cache_create(m, "", 8, 0, 0, NULL, &c), -VMM_EINVAL);
	assert_int_equal(vmm_kmem_cache_create(m, "has space", 8, 0, 0, NULL, &c), -VMM_EINVAL);
	assert_int_equal(vmm_kmem_cache_create(m, "a-name-that-is-far-too-long-for-slabinfo", 8, 0,
					       0, NULL, &c),
			 -VMM_EINVAL);
	assert_int_equal(vmm_kmem_cache_create(m, "x", 0, 0, 0, NULL, &c), -VMM_EINVAL);
	assert_int_equal(vmm_kmem_cache_create(m, "x", (4u << 20) + 1, 0, 0, NULL, &c),
			 -VMM_EINVAL);
	assert_int_equal(vmm_kmem_cache_create(m, "x", 8, 3, 0, NULL, &c), -VMM_EINVAL);
	assert_int_equal(vmm_kmem_cache_create(m, "x", 8, 8192, 0, NULL, &c), -VMM_EINVAL);
	assert_int_equal(vmm_kmem_cache_create(m, "x", 8, 0, 0x1, NULL, &c), -VMM_EINVAL);
	assert_int_equal(vmm_kmem_cache_create(m, "x", 8, 0,
					       VMM_SLAB_CACHE_DMA | VMM_SLAB_CACHE_DMA32, NULL, &c),
			 -VMM_EINVAL);
	assert_int_equal(vmm_kmem_cache_create(m, "kmalloc-64", 8, 0, 0, NULL, &c), -VMM_EEXIST);
	/* an object that does not fit: 4 MiB with red zones */
	assert_int_equal(vmm_kmem_cache_create(m, "x", 4u << 20, 0, VMM_SLAB_RED_ZONE, NULL, &c),
			 -VMM_EINVAL);
	/* SLAB_PANIC: the failure is also reported as a panic */
	assert_int_equal(vmm_kmem_cache_create(m, "x", 4u << 20, 0,
					       VMM_SLAB_RED_ZONE | VMM_SLAB_PANIC, NULL, &c),
			 -VMM_EINVAL);
	assert_non_null(strstr(e.all, "Kernel panic - not syncing"));
	assert_int_equal(vmm_kmem_cache_destroy(vmm_kmem_cache_find(m, "kmalloc-64")),
			 -VMM_EPERM);
	assert_int_equal(vmm_kmem_cache_destroy(vmm_kmem_cache_find(m, "kmem_cache")),
			 -VMM_EPERM);
	assert_int_equal(vmm_kmem_cache_destroy(NULL), 0);
	assert_int_equal(vmm_kmem_cache_shrink(NULL), -VMM_EINVAL);
	assert_int_equal(vmm_kmem_cache_alloc(NULL, VMM_GFP_KERNEL), 0);
	vmm_kmem_cache_free(NULL, 0x1234);
	assert_int_equal(vmm_kmem_cache_info(NULL, NULL), -VMM_EINVAL);
	assert_int_equal(vmm_kmem_cache_create(m, "ok", 8, 0, 0, NULL, &c), 0);
	assert_ptr_equal(vmm_kmem_cache_machine(c), m);
	vmm_kmem_cache_set_private(c, &e);
	assert_ptr_equal(vmm_kmem_cache_private(c), &e);
	assert_int_equal(vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL | VMM_GFP_HIGHMEM), 0);
	assert_int_equal(vmm_kmem_cache_alloc(c, 0x40000000u), 0);
	assert_int_equal(vmm_kmem_cache_alloc_node(c, VMM_GFP_KERNEL, 7), 0);
	assert_int_equal(vmm_kmem_cache_alloc_bulk(c, VMM_GFP_KERNEL, 3, NULL), 0);
	assert_int_equal(vmm_machine_trouble(m, &t), 0);
	assert_int_equal(t.caller, 20); /* every call above with m but the info, NULL-cache and ok ones */
	assert_int_equal(vmm_kmem_cache_destroy(c), 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* ------------------------------------------------------------------ */
/* Constructors, zeroing, nodes, bulk                                  */
/* ------------------------------------------------------------------ */

static void count_ctor(vmm_kmem_cache *c, vmm_vaddr_t obj, void *host)
{
	unsigned *n = vmm_kmem_cache_private(c);

	(void)obj;
	memset(host, 0xc7, 32);
	(*n)++;
}

static void test_ctor_zero_and_nodes(void **state)
{
	vmm_machine *m = default_machine();
	struct vmm_kmem_cache_info in;
	unsigned ctors = 0;
	vmm_kmem_cache *c;
	vmm_vaddr_t a, b, r;
	uint8_t *host;

	(void)state;
	assert_int_equal(vmm_kmem_cache_create(m, "ctor", 32, 0, VMM_SLAB_HWCACHE_ALIGN, count_ctor,
					       &c),
			 0);
	vmm_kmem_cache_set_private(c, &ctors);
	a = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL);
	assert_int_equal(vmm_kmem_cache_info(c, &in), 0);
	/* the constructor runs once per object when the slab is made */
	assert_int_equal(ctors, in.num);
	host = vmm_kaddr_to_host(m, a);
	assert_int_equal(host[0], 0xc7);
	assert_int_equal(a % 32, 0);
	b = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL | VMM_GFP_ZERO);
	host = vmm_kaddr_to_host(m, b);
	for (int i = 0; i < 32; i++)
		assert_int_equal(host[i], 0);
	/* CPU 0 sits on node 0; node 1's objects come straight from node 1's slabs */
	r = vmm_kmem_cache_alloc_node(c, VMM_GFP_KERNEL, 1);
	assert_int_equal(vmm_page_to_nid(m, vmm_virt_to_page(m, r)), 1);
	assert_int_equal(vmm_page_to_nid(m, vmm_virt_to_page(m, a)), 0);
	assert_int_equal(c->node_allocs, 1);
	/* freeing it on CPU 0 sends it home, not into CPU 0's array */
	vmm_kmem_cache_free(c, r);
	assert_int_equal(c->node_frees, 1);
	assert_int_equal(l3_of(c, 1)->free_objects, in.num);
	/* on CPU 2 (node 1) node 1 is local */
	assert_int_equal(vmm_machine_set_current_cpu(m, 2), 0);
	r = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL);
	assert_int_equal(vmm_page_to_nid(m, vmm_virt_to_page(m, r)), 1);
	vmm_kmem_cache_free(c, r);
	assert_int_equal(vmm_machine_set_current_cpu(m, 0), 0);
	vmm_kmem_cache_free(c, a);
	vmm_kmem_cache_free(c, b);
	assert_machine_healthy(m);
	assert_int_equal(vmm_kmem_cache_destroy(c), 0);
	vmm_machine_destroy(&m);
}

static void test_bulk(void **state)
{
	vmm_machine *m = default_machine(), *m2 = default_machine();
	vmm_kmem_cache *c, *c2;
	vmm_vaddr_t bulk[300], single[300];

	(void)state;
	assert_int_equal(vmm_kmem_cache_create(m, "bulk", 48, 0, 0, NULL, &c), 0);
	assert_int_equal(vmm_kmem_cache_create(m2, "bulk", 48, 0, 0, NULL, &c2), 0);
	/* the same objects, in the same order, as one call at a time */
	assert_int_equal(vmm_kmem_cache_alloc_bulk(c, VMM_GFP_KERNEL, 300, bulk), 300);
	for (int i = 0; i < 300; i++)
		single[i] = vmm_kmem_cache_alloc(c2, VMM_GFP_KERNEL);
	assert_memory_equal(bulk, single, sizeof(bulk));
	vmm_kmem_cache_free_bulk(c, 300, bulk);
	for (int i = 0; i < 300; i++)
		vmm_kmem_cache_free(c2, single[i]);
	/* and the cache ends in the same state */
	assert_int_equal(c->array[0]->avail, c2->array[0]->avail);
	assert_memory_equal(c->array[0]->entry, c2->array[0]->entry,
			    c->array[0]->avail * sizeof(vmm_vaddr_t));
	assert_int_equal(c->nodelists[0]->free_objects, c2->nodelists[0]->free_objects);
	assert_int_equal(vmm_kmem_cache_alloc_bulk(c, VMM_GFP_KERNEL, 0, bulk), 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
	vmm_machine_destroy(&m2);
}

/*
 * A bulk free with addresses that are no object starts (the middle of an
 * object, an address below the direct map): each is reported and ignored as
 * by vmm_kmem_cache_free() one at a time, and the good ones are freed.
 */
static void test_bulk_free_bad_addresses(void **state)
{
	vmm_machine *m = default_machine(), *m2 = default_machine();
	vmm_kmem_cache *c, *c2;
	vmm_vaddr_t a[3], b[3];
	struct vmm_kmem_cache_info in, in2;

	(void)state;
	assert_int_equal(vmm_kmem_cache_create(m, "bad", 64, 0, 0, NULL, &c), 0);
	assert_int_equal(vmm_kmem_cache_create(m2, "bad", 64, 0, 0, NULL, &c2), 0);
	assert_int_equal(vmm_kmem_cache_alloc_bulk(c, VMM_GFP_KERNEL, 3, a), 3);
	assert_int_equal(vmm_kmem_cache_alloc_bulk(c2, VMM_GFP_KERNEL, 3, b), 3);
	{
		vmm_vaddr_t bulk[6] = { a[0], a[0] + 8, a[1], 0x100, a[1] + 64 * 1000000, a[2] };
		vmm_vaddr_t one[6] = { b[0], b[0] + 8, b[1], 0x100, b[1] + 64 * 1000000, b[2] };

		vmm_kmem_cache_free_bulk(c, 6, bulk);
		for (int i = 0; i < 6; i++)
			vmm_kmem_cache_free(c2, one[i]);
	}
	assert_int_equal(vmm_kmem_cache_info(c, &in), 0);
	assert_int_equal(vmm_kmem_cache_info(c2, &in2), 0);
	assert_true(in.errors >= 3);
	assert_int_equal(in.errors, in2.errors);
	assert_int_equal(in.active_objs, in2.active_objs);
	assert_int_equal(c->array[0]->avail, c2->array[0]->avail);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
	vmm_machine_destroy(&m2);
}

/* Out of simulated memory: allocations fail cleanly, and everything comes back. */
static void test_exhaustion(void **state)
{
	struct vmm_config cfg;
	vmm_machine *m;
	vmm_kmem_cache *c;
	vmm_vaddr_t *objs, bulk[64];
	size_t n = 0, cap = 1 << 20;
	char *before, *after;

	(void)state;
	vmm_config_init(&cfg);
	cfg.nodes = 1;
	cfg.cpus = 2;
	cfg.node_mem[0] = 64 * M;
	cfg.kernel_image_size = 2 * M;
	cfg.nr_holes = 2;
	cfg.log_level = VMM_LOG_ERROR;
	cfg.log_fn = test_log_hook;
	cfg.log_data = &(struct test_log){ 0 };
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	assert_int_equal(vmm_kmem_cache_create(m, "hog", 2000, 0, 0, NULL, &c), 0);
	quiesce(m);
	before = dump_to_string(m, VMM_DUMP_BUDDYINFO);
	objs = calloc(cap, sizeof(*objs));
	assert_non_null(objs);
	while (n < cap && (objs[n] = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL | VMM_GFP_NOWARN)))
		n++;
	printf("# %zu objects of 2000 bytes in 64 MiB\n", n);
	assert_true(n > 20000 && n < cap);
	/* all or nothing */
	assert_int_equal(vmm_kmem_cache_alloc_bulk(c, VMM_GFP_KERNEL | VMM_GFP_NOWARN, 64, bulk), 0);
	assert_machine_healthy(m);
	vmm_kmem_cache_free_bulk(c, n, objs);
	quiesce(m);
	after = dump_to_string(m, VMM_DUMP_BUDDYINFO);
	assert_string_equal(before, after);
	free(before);
	free(after);
	free(objs);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* ------------------------------------------------------------------ */
/* slabinfo and host allocation failures                               */
/* ------------------------------------------------------------------ */

static void test_slabinfo(void **state)
{
	vmm_machine *m = default_machine();
	vmm_kmem_cache *c;
	vmm_vaddr_t objs[100];
	char *s, *line, *save = NULL;
	regex_t re;
	unsigned rows = 0;

	(void)state;
	assert_int_equal(vmm_kmem_cache_create(m, "dentry", 192, 0, VMM_SLAB_RECLAIM_ACCOUNT, NULL,
					       &c),
			 0);
	for (int i = 0; i < 100; i++)
		objs[i] = vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL);
	s = dump_to_string(m, VMM_DUMP_SLABINFO);
	{
		static const char hdr[] =
			"slabinfo - version: 2.1\n# name            <active_objs> <num_objs> "
			"<objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> "
			"<sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n";

		assert_true(strncmp(s, hdr, sizeof(hdr) - 1) == 0);
	}
	/* newest first, as Linux lists slab_caches; 100 objects in 5 slabs of 20 */
	assert_non_null(strstr(s, "\ndentry               100    100    192   20    1 : tunables  120   60"
				  "    8 : slabdata      5      5      0\n"));
	assert_int_equal(regcomp(&re,
				 "^[^ ]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ : tunables +[0-9]+ "
				 "+[0-9]+ +[0-9]+ : slabdata +[0-9]+ +[0-9]+ +[0-9]+$",
				 REG_EXTENDED),
			 0);
	for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == 's' && rows == 0 && !strncmp(line, "slabinfo", 8))
			continue;
		if (line[0] == '#')
			continue;
		assert_int_equal(regexec(&re, line, 0, NULL, 0), 0);
		rows++;
	}
	regfree(&re);
	/* kmem_cache, 13 kmalloc and 13 dma-kmalloc caches, vmap_area, dentry */
	assert_int_equal(rows, 29);
	free(s);
	/* meminfo's SReclaimable is dentry's 5 pages */
	s = dump_to_string(m, VMM_DUMP_MEMINFO);
	assert_non_null(strstr(s, "\nSReclaimable:         20 kB\n"));
	free(s);
	for (int i = 0; i < 100; i++)
		vmm_kmem_cache_free(c, objs[i]);
	assert_int_equal(vmm_kmem_cache_destroy(c), 0);
	vmm_machine_destroy(&m);
}

/* Every host allocation of a cache's life failing in turn leaks nothing. */
static void test_host_failure_everywhere(void **state)
{
	struct vmm_config cfg;
	struct vmm_hostmem_inject inj = { 0 };
	struct vmm_hostmem final;
	vmm_machine *m;
	unsigned failed = 0, k;

	(void)state;
	vmm_config_init(&cfg);
	cfg.log_level = VMM_LOG_ERROR;
	cfg.log_fn = test_log_hook;
	cfg.log_data = &(struct test_log){ 0 };
	inj.final = &final;
	assert_int_equal(vmm_machine_create_inject(&cfg, &inj, &m), 0);
	for (k = 1; k < 400; k++) {
		size_t heap = m->hm.heap_bytes;
		vmm_kmem_cache *c;
		int err;

		m->hm.inject.fail_nth = m->hm.calls + k;
		err = vmm_kmem_cache_create(m, "inject", 1000, 0, 0, NULL, &c);
		if (err) {
			assert_int_equal(err, -VMM_ENOMEM);
			assert_null(c);
			assert_int_equal(m->hm.heap_bytes, heap);
			failed++;
			assert_machine_healthy(m);
			continue;
		}
		m->hm.inject.fail_nth = 0;
		assert_true(vmm_kmem_cache_alloc(c, VMM_GFP_KERNEL) != 0 || true);
		assert_int_equal(vmm_kmem_cache_shrink(c), 1);
		/* the object stays allocated: destroy reports it and keeps the cache */
		assert_int_equal(vmm_kmem_cache_destroy(c), -VMM_EBUSY);
		break;
	}
	printf("# cache creation failed cleanly at each of its first %u host allocations\n",
	       failed);
	assert_true(failed > 5);
	vmm_machine_destroy(&m);
	assert_int_equal(final.heap_bytes, 0);
	assert_int_equal(final.map_bytes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_kmalloc),
		cmocka_unit_test(test_layout_odd_sizes),
		cmocka_unit_test(test_colour_cycles),
		cmocka_unit_test(test_refill_and_flush_sizes),
		cmocka_unit_test(test_shrink_and_destroy_give_pages_back),
		cmocka_unit_test(test_reap_trims_idle_arrays),
		cmocka_unit_test(test_typesafe_by_rcu),
		cmocka_unit_test(test_debug_detections),
		cmocka_unit_test(test_debug_cache_any_gfp),
		cmocka_unit_test(test_corrupt_management),
		cmocka_unit_test(test_leak_on_destroy),
		cmocka_unit_test(test_debug_vm_everywhere),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_ctor_zero_and_nodes),
		cmocka_unit_test(test_bulk),
		cmocka_unit_test(test_bulk_free_bad_addresses),
		cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_slabinfo),
		cmocka_unit_test(test_host_failure_everywhere),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
