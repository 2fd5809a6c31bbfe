/* SPDX-License-Identifier: MIT */
/*
 * High memory: ZONE_HIGHMEM under a direct_map_limit, the permanent kmaps
 * (pkmap_count, the page_address hash, wrap-around flushes, running out of
 * slots), kmap_atomic's per-CPU stacks, misuse, and a seeded random run
 * against a model. vmm_machine_check() after every step.
 */
#include "test_util.h"

#include <string.h>

#include "machine.h"
#include "mm/highmem.h"
#include "mm/page_alloc.h"

#define M (1ull << 20)

/* The default machine (2 x 2 GiB, 4 CPUs) with the direct map capped at 896 MiB. */
static vmm_machine *highmem_machine(struct test_log *tl)
{
	struct vmm_config cfg;
	vmm_machine *m;

	vmm_config_init(&cfg);
	cfg.direct_map_limit = 896 * M;
	if (tl) {
		cfg.log_fn = test_log_hook;
		cfg.log_data = tl;
	}
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	return m;
}

static vmm_paddr_t page_pa(vmm_machine *m, struct vmm_page *pg)
{
	return (vmm_paddr_t)vmm_page_to_pfn(m, pg) << VMM_PAGE_SHIFT;
}

/* What init_mm maps @va to, or ~0 when nothing does. */
static vmm_paddr_t kernel_pa(vmm_machine *m, vmm_vaddr_t va)
{
	vmm_paddr_t pa;

	return vmm_kernel_translate(m, va, &pa) ? ~(vmm_paddr_t)0 : pa;
}

static struct vmm_page *alloc_high(vmm_machine *m)
{
	struct vmm_page *pg = vmm_alloc_pages(m, VMM_GFP_HIGHUSER, 0);

	assert_non_null(pg);
	assert_true(vmm_page_highmem(m, pg));
	return pg;
}

static struct vmm_highmem_stats stats(vmm_machine *m)
{
	struct vmm_highmem_stats s;

	assert_int_equal(vmm_highmem_stats(m, &s), 0);
	return s;
}

static int32_t count_of(vmm_machine *m, vmm_vaddr_t va)
{
	return m->highmem.pkmap_count[(va - m->init_mm.layout.pkmap_base) >> VMM_PAGE_SHIFT];
}

/* Whether CPU @c translates @va for a kernel read without a fault. */
static bool cpu_maps(vmm_machine *m, unsigned c, vmm_vaddr_t va)
{
	struct vmm_translation t;

	assert_int_equal(vmm_cpu_translate(vmm_machine_cpu(m, c), va, VMM_ACC_READ, &t), 0);
	return t.fault == VMM_FAULT_NONE;
}

/* Without a cap there is no high memory: kmap is the direct map, no slot is used. */
static void test_no_cap_is_direct_map(void **state)
{
	vmm_machine *m = default_machine();
	struct vmm_page *pg = vmm_alloc_pages(m, VMM_GFP_HIGHUSER, 0);
	vmm_vaddr_t va, va2;

	(void)state;
	assert_non_null(pg);
	assert_false(vmm_page_highmem(m, pg));
	assert_int_equal(vmm_gfp_zone(m->gfp_zone_table, VMM_GFP_HIGHUSER), VMM_ZONE_NORMAL);
	assert_int_equal(vmm_kmap(m, pg, &va), 0);
	assert_int_equal(va, vmm_page_offset(m) + page_pa(m, pg));
	assert_int_equal(va, vmm_page_address(m, pg));
	assert_int_equal(kernel_pa(m, va), page_pa(m, pg));
	assert_machine_healthy(m);
	assert_int_equal(vmm_kmap_atomic(m, pg, &va2), 0);
	assert_int_equal(va2, va);
	assert_machine_healthy(m);
	assert_int_equal(vmm_kunmap_atomic(m, va2), 0);
	assert_int_equal(vmm_kunmap(m, pg), 0);
	assert_int_equal(stats(m).kmap_lowmem, 1);
	assert_int_equal(stats(m).kmap_atomic_lowmem, 1);
	assert_int_equal(stats(m).kmap_new + stats(m).misuse, 0);
	assert_int_equal(m->init_mm.layout.pkmap_base, 0);
	vmm_free_pages(m, pg, 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/*
 * GFP_KERNEL (and slab) stay in lowmem even when lowmem runs out; GFP_HIGHUSER
 * takes HighMem first. A highmem page has no address until kmapped, and the
 * direct-map range past the cap reaches nothing.
 */
static void test_zones_and_gfp(void **state)
{
	struct test_log tl = { 0 };
	vmm_machine *m = highmem_machine(&tl);
	static struct vmm_page *blocks[512];
	struct vmm_zone_info hz;
	struct vmm_page *pg;
	unsigned n = 0;
	vmm_vaddr_t obj;

	(void)state;
	assert_int_equal(vmm_gfp_zone(m->gfp_zone_table, VMM_GFP_HIGHUSER), VMM_ZONE_HIGHMEM);
	assert_int_equal(vmm_gfp_zone(m->gfp_zone_table, VMM_GFP_HIGHUSER_MOVABLE), VMM_ZONE_MOVABLE);
	assert_int_equal(vmm_gfp_zone(m->gfp_zone_table, VMM_GFP_KERNEL), VMM_ZONE_NORMAL);
	pg = alloc_high(m);
	assert_int_equal(vmm_page_zonenum(m, pg), VMM_ZONE_HIGHMEM);
	assert_int_equal(vmm_page_address(m, pg), 0);
	assert_null(vmm_virt_to_page(m, vmm_page_offset(m) + page_pa(m, pg)));
	assert_null(vmm_kaddr_to_host(m, vmm_page_offset(m) + page_pa(m, pg)));
	vmm_free_pages(m, pg, 0);
	pg = vmm_alloc_pages(m, VMM_GFP_HIGHUSER_MOVABLE, 0);
	assert_true(vmm_page_highmem(m, pg));
	vmm_free_pages(m, pg, 0);
	assert_int_equal(vmm_get_free_pages(m, VMM_GFP_HIGHUSER, 0), 0);
	obj = vmm_kmalloc(m, 4096, VMM_GFP_KERNEL);
	assert_non_null(vmm_virt_to_page(m, obj));
	assert_false(vmm_page_highmem(m, vmm_virt_to_page(m, obj)));
	vmm_kfree(m, obj);
	assert_machine_healthy(m);

	/* exhaust lowmem in 4 MiB blocks: none comes from HighMem, which stays free */
	while (n < 512 && (blocks[n] = vmm_alloc_pages(m, VMM_GFP_KERNEL | VMM_GFP_NOWARN |
							      VMM_GFP_NORETRY, 10))) {
		assert_true(vmm_page_zonenum(m, blocks[n]) < VMM_ZONE_HIGHMEM);
		assert_false(vmm_page_highmem(m, blocks[n]));
		n++;
	}
	printf("# %u lowmem blocks of 4 MiB\n", n);
	{
		/* every lowmem block but the few boot, slab and watermarks keep */
		struct vmm_zone_info dma, dma32;
		uint64_t lowmem_blocks;

		assert_int_equal(vmm_zone_info(m, 0, VMM_ZONE_DMA, &dma), 0);
		assert_int_equal(vmm_zone_info(m, 0, VMM_ZONE_DMA32, &dma32), 0);
		lowmem_blocks = (dma.managed_pages + dma32.managed_pages) / 1024;
		assert_true(n <= lowmem_blocks && n + 8 > lowmem_blocks);
	}
	assert_int_equal(vmm_zone_info(m, 0, VMM_ZONE_HIGHMEM, &hz), 0);
	assert_true(hz.free_pages + 1024 > hz.managed_pages);
	assert_machine_healthy(m);
	while (n)
		vmm_free_pages(m, blocks[--n], 10);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* pkmap_count of one page's slot: 0, 2, 3, 2, 1 and back to 2 without a new slot. */
/* nr_dirty_threshold from /proc/vmstat. */
static uint64_t dirty_threshold(vmm_machine *m)
{
	char *buf = NULL, *p;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	unsigned long long v = 0;

	assert_non_null(f);
	assert_int_equal(vmm_dump(m, VMM_DUMP_VMSTAT, f), 0);
	fclose(f);
	p = strstr(buf, "\nnr_dirty_threshold ");
	assert_non_null(p);
	assert_int_equal(sscanf(p, "\nnr_dirty_threshold %llu", &v), 1);
	free(buf);
	return v;
}

/*
 * global_dirtyable_memory() leaves out what HighMem holds (free pages above
 * its high watermark plus its file LRU) unless vm.highmem_is_dirtyable: the
 * dirty threshold (20 %) drops by 20 % of that, give or take rounding.
 */
static void test_dirty_limits_leave_highmem_out(void **state)
{
	struct test_log tl = { 0 };
	vmm_machine *m = highmem_machine(&tl);
	uint64_t high = 0, without, with;
	int64_t v;

	(void)state;
	for (unsigned nid = 0; nid < 2; nid++) {
		struct vmm_zone_info zi;

		assert_int_equal(vmm_zone_info(m, nid, VMM_ZONE_HIGHMEM, &zi), 0);
		high += zi.free_pages - zi.watermark_high;
	}
	assert_int_equal(vmm_sysctl_get(m, "vm.highmem_is_dirtyable", &v), 0);
	assert_int_equal(v, 0);
	without = dirty_threshold(m);
	assert_int_equal(vmm_sysctl_set(m, "vm.highmem_is_dirtyable", 1), 0);
	with = dirty_threshold(m);
	printf("# dirty threshold %" PRIu64 " pages, %" PRIu64 " with HighMem (%" PRIu64
	       " dirtyable there)\n",
	       without, with, high);
	/* Linux's ratio in 1/PAGE_SIZE units: 20 % is 819/4096 */
	high = high * (20 * 4096 / 100) / 4096;
	assert_true(with - without >= high - 1 && with - without <= high + 1);
	assert_int_equal(vmm_sysctl_set(m, "vm.highmem_is_dirtyable", 2), -VMM_EINVAL);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void test_pkmap_counts(void **state)
{
	struct test_log tl = { 0 };
	vmm_machine *m = highmem_machine(&tl);
	struct vmm_page *pg = alloc_high(m);
	vmm_vaddr_t va, va2;
	struct vmm_trouble_counts t;

	(void)state;
	assert_int_equal(m->highmem.pkmap_count[1], 0);
	assert_int_equal(vmm_kmap(m, pg, &va), 0);
	/* the search starts after last_pkmap_nr (0): slot 1 */
	assert_int_equal(va, vmm_pkmap_addr(&m->init_mm, 1));
	assert_int_equal(count_of(m, va), 2);
	assert_int_equal(vmm_page_address(m, pg), va);
	assert_int_equal(kernel_pa(m, va), page_pa(m, pg));
	assert_machine_healthy(m);

	/* the bytes at the kmap address are the frame's */
	memset(vmm_kaddr_to_host(m, va), 0x5a, 16);
	assert_int_equal(((unsigned char *)vmm_phys_to_host(m, page_pa(m, pg)))[15], 0x5a);

	assert_int_equal(vmm_kmap(m, pg, &va2), 0);
	assert_int_equal(va2, va);
	assert_int_equal(count_of(m, va), 3);
	assert_int_equal(vmm_kunmap(m, pg), 0);
	assert_int_equal(count_of(m, va), 2);
	assert_int_equal(vmm_kunmap(m, pg), 0);
	/* unused, but mapped until a wrap flushes it */
	assert_int_equal(count_of(m, va), 1);
	assert_int_equal(vmm_page_address(m, pg), va);
	assert_int_equal(kernel_pa(m, va), page_pa(m, pg));
	assert_int_equal(stats(m).pkmap_unflushed, 1);
	assert_machine_healthy(m);

	/* one kunmap too many: reported, counted, nothing changes */
	assert_int_equal(vmm_kunmap(m, pg), -VMM_EINVAL);
	assert_non_null(strstr(tl.last, "not kmapped"));
	assert_int_equal(count_of(m, va), 1);
	assert_int_equal(stats(m).misuse, 1);
	assert_int_equal(vmm_machine_trouble(m, &t), 0);
	assert_int_equal(t.caller, 1);
	assert_machine_healthy(m);

	/* the same page again: the count-1 slot comes back to life */
	assert_int_equal(vmm_kmap(m, pg, &va2), 0);
	assert_int_equal(va2, va);
	assert_int_equal(count_of(m, va), 2);
	assert_int_equal(stats(m).kmap_new, 1);
	assert_int_equal(vmm_kunmap(m, pg), 0);
	vmm_free_pages(m, pg, 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/*
 * Slots 1..511 used once and released stay mapped (count 1) and cached in
 * every CPU's TLB; the next kmap wraps to slot 0, clears them all and flushes
 * every CPU, so the old addresses fault everywhere afterwards.
 */
static void test_pkmap_wrap_flushes(void **state)
{
	vmm_machine *m = highmem_machine(NULL);
	static struct vmm_page *pages[VMM_LAST_PKMAP];
	vmm_vaddr_t va, first;
	uint64_t remote0 = m->vm_events[VE_NR_TLB_REMOTE_FLUSH];

	(void)state;
	for (unsigned i = 1; i < VMM_LAST_PKMAP; i++) {
		pages[i] = alloc_high(m);
		assert_int_equal(vmm_kmap(m, pages[i], &va), 0);
		assert_int_equal(va, vmm_pkmap_addr(&m->init_mm, i));
		assert_int_equal(vmm_kunmap(m, pages[i]), 0);
	}
	assert_machine_healthy(m);
	first = vmm_pkmap_addr(&m->init_mm, 1);
	for (unsigned c = 0; c < 4; c++) {
		assert_true(cpu_maps(m, c, first));
		assert_true(cpu_maps(m, c, first)); /* now from the TLB */
	}
	assert_int_equal(stats(m).pkmap_wraps, 0);
	assert_int_equal(stats(m).pkmap_unflushed, VMM_LAST_PKMAP - 1);

	pages[0] = alloc_high(m);
	assert_int_equal(vmm_kmap(m, pages[0], &va), 0);
	assert_int_equal(va, vmm_pkmap_addr(&m->init_mm, 0));
	assert_int_equal(stats(m).pkmap_wraps, 1);
	assert_int_equal(stats(m).pkmap_cleared, VMM_LAST_PKMAP - 1);
	assert_int_equal(stats(m).pkmap_tlb_flushes, 1);
	assert_int_equal(stats(m).pkmap_unflushed, 0);
	assert_int_equal(stats(m).pkmap_used, 1);
	assert_true(m->vm_events[VE_NR_TLB_REMOTE_FLUSH] > remote0);
	assert_int_equal(vmm_page_address(m, pages[1]), 0);
	assert_int_equal(kernel_pa(m, first), ~(vmm_paddr_t)0);
	for (unsigned c = 0; c < 4; c++)
		assert_false(cpu_maps(m, c, first));
	assert_machine_healthy(m);
	assert_int_equal(vmm_kunmap(m, pages[0]), 0);
	for (unsigned i = 0; i < VMM_LAST_PKMAP; i++)
		vmm_free_pages(m, pages[i], 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* 512 pages with users fill every slot: the next kmap would sleep (-VMM_EAGAIN). */
static void test_pkmap_exhaustion(void **state)
{
	struct test_log tl = { 0 };
	vmm_machine *m = highmem_machine(&tl);
	static struct vmm_page *pages[VMM_LAST_PKMAP + 1];
	vmm_vaddr_t va;

	(void)state;
	for (unsigned i = 0; i <= VMM_LAST_PKMAP; i++)
		pages[i] = alloc_high(m);
	for (unsigned i = 0; i < VMM_LAST_PKMAP; i++)
		assert_int_equal(vmm_kmap(m, pages[i], &va), 0);
	assert_int_equal(stats(m).pkmap_used, VMM_LAST_PKMAP);
	assert_int_equal(vmm_kmap(m, pages[VMM_LAST_PKMAP], &va), -VMM_EAGAIN);
	assert_int_equal(stats(m).kmap_wouldblock, 1);
	assert_int_equal(stats(m).misuse, 0);
	assert_int_equal(tl.messages, 0);
	assert_int_equal(vmm_page_address(m, pages[VMM_LAST_PKMAP]), 0);
	/* a page already mapped still gets its slot */
	assert_int_equal(vmm_kmap(m, pages[7], &va), 0);
	assert_int_equal(vmm_kunmap(m, pages[7]), 0);
	assert_machine_healthy(m);

	/* one kunmap frees a slot for the waiter, after the flush of the next wrap */
	assert_int_equal(vmm_kunmap(m, pages[100]), 0);
	assert_int_equal(vmm_kmap(m, pages[VMM_LAST_PKMAP], &va), 0);
	assert_int_equal(vmm_page_address(m, pages[100]), 0);
	assert_int_equal(vmm_page_address(m, pages[VMM_LAST_PKMAP]), va);
	assert_machine_healthy(m);
	for (unsigned i = 0; i <= VMM_LAST_PKMAP; i++) {
		if (i != 100)
			assert_int_equal(vmm_kunmap(m, pages[i]), 0);
		vmm_free_pages(m, pages[i], 0);
	}
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/*
 * kmap_atomic on CPU 1: 16 highmem maps in that CPU's fixmap slots, in
 * order; a 17th is refused while a lowmem one still nests (no slot); they
 * unwind in reverse, each clearing its PTE and flushing CPU 1 only.
 */
static void test_kmap_atomic_nesting(void **state)
{
	struct test_log tl = { 0 };
	vmm_machine *m = highmem_machine(&tl);
	struct vmm_page *pages[VMM_KM_MAX_IDX + 1], *low;
	vmm_vaddr_t va[VMM_KM_MAX_IDX + 1], lva;
	struct vmm_cpu_stats cs1, cs2;

	(void)state;
	low = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
	assert_false(vmm_page_highmem(m, low));
	assert_int_equal(vmm_machine_set_current_cpu(m, 1), 0);
	for (unsigned i = 0; i <= VMM_KM_MAX_IDX; i++)
		pages[i] = alloc_high(m);
	for (unsigned i = 0; i < VMM_KM_MAX_IDX; i++) {
		assert_int_equal(vmm_kmap_atomic(m, pages[i], &va[i]), 0);
		assert_int_equal(va[i], vmm_fix_to_virt(&m->init_mm,
							VMM_FIX_KMAP_BEGIN + i + VMM_KM_MAX_IDX));
		assert_int_equal(kernel_pa(m, va[i]), page_pa(m, pages[i]));
		assert_true(cpu_maps(m, 1, va[i]));
		assert_machine_healthy(m);
	}
	assert_int_equal(vmm_kmap_atomic(m, pages[VMM_KM_MAX_IDX], &va[VMM_KM_MAX_IDX]),
			 -VMM_EINVAL);
	assert_non_null(strstr(tl.last, "nested too deep"));
	assert_int_equal(stats(m).misuse, 1);
	assert_int_equal(vmm_kmap_atomic(m, low, &lva), 0);
	assert_int_equal(lva, vmm_page_address(m, low));
	assert_int_equal(m->highmem.cpu[1].depth, VMM_KM_MAX_IDX + 1);
	assert_machine_healthy(m);
	assert_int_equal(vmm_kunmap_atomic(m, lva + 123), 0);

	assert_int_equal(vmm_cpu_stats(vmm_machine_cpu(m, 1), &cs1), 0);
	assert_int_equal(vmm_cpu_stats(vmm_machine_cpu(m, 2), &cs2), 0);
	for (unsigned i = VMM_KM_MAX_IDX; i-- > 0;) {
		assert_int_equal(vmm_kunmap_atomic(m, va[i]), 0);
		assert_int_equal(kernel_pa(m, va[i]), ~(vmm_paddr_t)0);
		assert_false(cpu_maps(m, 1, va[i]));
		assert_machine_healthy(m);
	}
	{
		struct vmm_cpu_stats a1, a2;

		assert_int_equal(vmm_cpu_stats(vmm_machine_cpu(m, 1), &a1), 0);
		assert_int_equal(vmm_cpu_stats(vmm_machine_cpu(m, 2), &a2), 0);
		assert_int_equal(a1.invlpg - cs1.invlpg, VMM_KM_MAX_IDX);
		assert_int_equal(a2.invlpg, cs2.invlpg);
	}
	assert_int_equal(m->highmem.cpu[1].depth, 0);
	assert_int_equal(stats(m).kunmap_atomic, VMM_KM_MAX_IDX + 1);

	/* CPU 0 has its own slots */
	assert_int_equal(vmm_machine_set_current_cpu(m, 0), 0);
	assert_int_equal(vmm_kmap_atomic(m, pages[0], &va[0]), 0);
	assert_int_equal(va[0], vmm_fix_to_virt(&m->init_mm, VMM_FIX_KMAP_BEGIN));
	assert_int_equal(vmm_kunmap_atomic(m, va[0]), 0);
	for (unsigned i = 0; i <= VMM_KM_MAX_IDX; i++)
		vmm_free_pages(m, pages[i], 0);
	vmm_free_pages(m, low, 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* Unmapping out of order, what was never mapped, on the wrong CPU; bad arguments. */
static void test_misuse(void **state)
{
	struct test_log tl = { 0 };
	vmm_machine *m = highmem_machine(&tl);
	struct vmm_page *a = alloc_high(m), *b = alloc_high(m);
	vmm_vaddr_t va, vb;
	struct vmm_trouble_counts t;

	(void)state;
	assert_int_equal(vmm_kunmap_atomic(m, vmm_fix_to_virt(&m->init_mm, VMM_FIX_KMAP_BEGIN)),
			 -VMM_EINVAL);
	assert_non_null(strstr(tl.last, "not a live kmap_atomic"));
	assert_int_equal(vmm_kmap_atomic(m, a, &va), 0);
	assert_int_equal(vmm_kmap_atomic(m, b, &vb), 0);
	assert_int_equal(vmm_kunmap_atomic(m, va), -VMM_EINVAL);
	assert_non_null(strstr(tl.last, "not the most recent"));
	/* nothing moved */
	assert_int_equal(kernel_pa(m, va), page_pa(m, a));
	assert_int_equal(kernel_pa(m, vb), page_pa(m, b));
	assert_machine_healthy(m);
	/* another CPU has no such mapping */
	assert_int_equal(vmm_machine_set_current_cpu(m, 3), 0);
	assert_int_equal(vmm_kunmap_atomic(m, vb), -VMM_EINVAL);
	assert_int_equal(vmm_machine_set_current_cpu(m, 0), 0);
	assert_int_equal(vmm_kunmap_atomic(m, vb), 0);
	assert_int_equal(vmm_kunmap_atomic(m, va), 0);
	assert_int_equal(vmm_kunmap_atomic(m, va), -VMM_EINVAL);
	assert_int_equal(vmm_kunmap(m, a), -VMM_EINVAL);
	assert_int_equal(stats(m).misuse, 5);
	assert_machine_healthy(m);

	/* bad arguments are rejected (a foreign page pointer is logged as the caller's) */
	assert_int_equal(vmm_kmap(NULL, a, &va), -VMM_EINVAL);
	assert_int_equal(vmm_kmap(m, NULL, &va), -VMM_EINVAL);
	assert_int_equal(vmm_kmap(m, a, NULL), -VMM_EINVAL);
	assert_int_equal(vmm_kmap(m, (struct vmm_page *)((char *)a + 8), &va), -VMM_EINVAL);
	assert_int_equal(vmm_kmap_atomic(m, NULL, &va), -VMM_EINVAL);
	assert_int_equal(vmm_kunmap(m, NULL), -VMM_EINVAL);
	assert_int_equal(vmm_kunmap_atomic(NULL, va), -VMM_EINVAL);
	assert_int_equal(vmm_highmem_stats(m, NULL), -VMM_EINVAL);
	assert_int_equal(vmm_page_highmem(NULL, a), 0);
	assert_int_equal(vmm_machine_trouble(m, &t), 0);
	assert_int_equal(t.caller, 5 + 5);
	vmm_free_pages(m, a, 0);
	vmm_free_pages(m, b, 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/*
 * A seeded random mix of kmap, kunmap, kmap_atomic and kunmap_atomic (right
 * and wrong) over more highmem pages than there are slots, on random CPUs,
 * against a model of users per page and of each CPU's stack. Every result
 * is what the model predicts, every mapped page reads back its tag through
 * its kernel address, and the machine checks clean after every step.
 */
#define RAND_PAGES 600
#define RAND_LOW 8

struct model {
	struct vmm_page *page[RAND_PAGES + RAND_LOW];
	unsigned users[RAND_PAGES + RAND_LOW];
	vmm_vaddr_t addr[RAND_PAGES + RAND_LOW]; /* the kmap address while users > 0 */
	unsigned in_use;			 /* highmem pages with users */
	unsigned stack[2][VMM_KM_STACK_MAX];	 /* page index per CPU and depth */
	unsigned depth[2], high[2];
};

static void random_kmap(vmm_machine *m, struct model *md, unsigned i)
{
	bool high = i < RAND_PAGES;
	vmm_vaddr_t va;
	int err = vmm_kmap(m, md->page[i], &va);

	if (high && !md->users[i] && md->in_use == VMM_LAST_PKMAP) {
		assert_int_equal(err, -VMM_EAGAIN);
		return;
	}
	assert_int_equal(err, 0);
	if (md->users[i])
		assert_int_equal(va, md->addr[i]);
	md->in_use += high && !md->users[i];
	md->users[i]++;
	md->addr[i] = va;
	assert_int_equal(vmm_page_address(m, md->page[i]), va);
	assert_int_equal(*(uint32_t *)vmm_kaddr_to_host(m, va), i);
}

static void random_kunmap(vmm_machine *m, struct model *md, unsigned i)
{
	int err = vmm_kunmap(m, md->page[i]);

	if (i < RAND_PAGES && !md->users[i]) {
		assert_int_equal(err, -VMM_EINVAL);
		return;
	}
	assert_int_equal(err, 0);
	if (md->users[i]) {
		md->users[i]--;
		md->in_use -= i < RAND_PAGES && !md->users[i];
	}
}

static void random_kmap_atomic(vmm_machine *m, struct model *md, unsigned c, unsigned i)
{
	bool high = i < RAND_PAGES;
	vmm_vaddr_t va;
	int err = vmm_kmap_atomic(m, md->page[i], &va);

	if (md->depth[c] == VMM_KM_STACK_MAX || (high && md->high[c] == VMM_KM_MAX_IDX)) {
		assert_int_equal(err, -VMM_EINVAL);
		return;
	}
	assert_int_equal(err, 0);
	assert_int_equal(*(uint32_t *)vmm_kaddr_to_host(m, va), i);
	md->stack[c][md->depth[c]++] = i;
	md->high[c] += high;
}

/* Undo the top mapping, or (one time in four) try an older one and expect a refusal. */
static void random_kunmap_atomic(vmm_machine *m, struct model *md, unsigned c, bool wrong)
{
	struct vmm_kmap_ctrl *ctrl = &m->highmem.cpu[c];
	unsigned d = md->depth[c];

	if (!d) {
		assert_int_equal(vmm_kunmap_atomic(m, vmm_page_offset(m)), -VMM_EINVAL);
		return;
	}
	if (wrong && d > 1 && ctrl->stack[0].vaddr != ctrl->stack[d - 1].vaddr) {
		assert_int_equal(vmm_kunmap_atomic(m, ctrl->stack[0].vaddr), -VMM_EINVAL);
		return;
	}
	assert_int_equal(vmm_kunmap_atomic(m, ctrl->stack[d - 1].vaddr), 0);
	md->high[c] -= md->stack[c][--md->depth[c]] < RAND_PAGES;
}

static void test_random(void **state)
{
	uint64_t seed = test_seed("test_random", 20240611), ops = test_ops(2500), x = seed;
	unsigned cursor = 0;
	struct vmm_config cfg;
	static struct model md;
	struct test_log tl = { 0 };
	vmm_machine *m;

	(void)state;
	memset(&md, 0, sizeof(md));
	vmm_config_init(&cfg);
	cfg.nodes = 1;
	cfg.node_mem[0] = 512 * M;
	cfg.cpus = 2;
	cfg.nr_holes = 2;
	cfg.direct_map_limit = 128 * M;
	cfg.seed = seed;
	cfg.log_fn = test_log_hook; /* the refusals the model expects */
	cfg.log_data = &tl;
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	for (unsigned i = 0; i < RAND_PAGES + RAND_LOW; i++) {
		md.page[i] = vmm_alloc_pages(m, i < RAND_PAGES ? VMM_GFP_HIGHUSER : VMM_GFP_KERNEL, 0);
		assert_non_null(md.page[i]);
		assert_int_equal(vmm_page_highmem(m, md.page[i]), i < RAND_PAGES);
		*(uint32_t *)vmm_phys_to_host(m, page_pa(m, md.page[i])) = i;
	}
	for (uint64_t step = 0; step < ops; step++) {
		uint64_t r = (x = x * 6364136223846793005ull + 1442695040888963407ull) >> 16;
		unsigned c = (unsigned)(r & 1), i = (unsigned)((r >> 8) % (RAND_PAGES + RAND_LOW));
		/* phases that fill the pkmap area (to wrap and run out) and drain it again */
		bool filling = step % 1200 < 700;

		assert_int_equal(vmm_machine_set_current_cpu(m, c), 0);
		switch ((r >> 4) % 8) {
		case 0: case 1: case 2:
			random_kmap(m, &md, filling ? cursor++ % (RAND_PAGES + RAND_LOW) : i);
			break;
		case 3: case 4:
			if (filling)
				random_kmap(m, &md, i);
			else
				random_kunmap(m, &md, cursor++ % (RAND_PAGES + RAND_LOW));
			break;
		case 5:
			random_kmap_atomic(m, &md, c, i);
			break;
		default:
			random_kunmap_atomic(m, &md, c, ((r >> 40) & 3) == 0);
			break;
		}
		if (vmm_machine_check(m, stdout)) {
			printf("# step %" PRIu64 " of seed %" PRIu64 "\n", step, seed);
			fail();
		}
	}
	printf("# %u pages kmapped at the end, %" PRIu64 " wraps, %" PRIu64 " would-block\n",
	       md.in_use, stats(m).pkmap_wraps, stats(m).kmap_wouldblock);
	if (ops >= 2500) {
		assert_true(stats(m).pkmap_wraps > 1);
		assert_true(stats(m).kmap_wouldblock > 0);
	}
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_cap_is_direct_map),
		cmocka_unit_test(test_zones_and_gfp),
		cmocka_unit_test(test_dirty_limits_leave_highmem_out),
		cmocka_unit_test(test_pkmap_counts),
		cmocka_unit_test(test_pkmap_wrap_flushes),
		cmocka_unit_test(test_pkmap_exhaustion),
		cmocka_unit_test(test_kmap_atomic_nesting),
		cmocka_unit_test(test_misuse),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
