/* SPDX-License-Identifier: MIT */
/*
 * Tests of src/mm/vmalloc.c (issue 6, the vmalloc part):
 *
 *  - areas from one page to 64 MiB map exactly the pages they allocated,
 *    with PAGE_KERNEL rights, and leave their guard page unmapped;
 *  - vfree and a purge give everything back: buddyinfo (per-CPU lists
 *    drained) is what it was before;
 *  - the free-space search takes the lowest fitting address, so holes are
 *    reused, and only once the lazily freed range has been purged;
 *  - the lazy purge flushes every CPU's TLB: a stale entry keeps
 *    translating a freed area until then, and faults after, on every CPU;
 *    the threshold (lazy_max_pages) purges by itself;
 *  - /proc/vmallocinfo lists the areas in Linux's format; meminfo's
 *    VmallocUsed and VmallocTotal (4 and 5 levels) are right;
 *  - vmap/vunmap of caller pages, VM_MAP_PUT_PAGES, vmalloc_to_page;
 *  - kernel accesses through vmm_cpu_access() at CPL 0 read and write the
 *    bytes, user accesses and instruction fetches fault;
 *  - bad arguments and bad frees are reported and change nothing;
 *  - with VMM_CFG_VMALLOC_LAZY, a PGD made before a fresh top-level entry
 *    lacks it (and faults) until vmm_pgd_sync_kernel();
 *  - node placement, no room (purge and retry), out of memory, host
 *    allocation failures, cycle charges;
 *  - a seeded model test against a reference model of the address space
 *    (every allocation at the address the model predicts), with
 *    vmm_machine_check() after every step.
 */
#include "test_util.h"

#include <string.h>

#include "lib/compiler.h"
#include "lib/prng.h"
#include "machine.h"
#include "mm/init_mm.h"
#include "mm/sparse.h"
#include "mm/vmalloc.h"
#include "mm/vmstat.h"

#define KiB ((uint64_t)1 << 10)
#define MiB ((uint64_t)1 << 20)
#define GiB ((uint64_t)1 << 30)
#define PG ((uint64_t)VMM_PAGE_SIZE)

static vmm_machine *boot_cfg(struct vmm_config *cfg)
{
	vmm_machine *m;

	assert_int_equal(vmm_machine_create(cfg, &m), 0);
	return m;
}

/* The default machine, its log going to @tl (which may be NULL: stderr). */
static vmm_machine *boot(struct test_log *tl)
{
	struct vmm_config cfg;

	vmm_config_init(&cfg);
	if (tl) {
		cfg.log_fn = test_log_hook;
		cfg.log_data = tl;
	}
	return boot_cfg(&cfg);
}

/* One node of @mem bytes with the PC's two low holes, one CPU, its log going to @tl. */
static vmm_machine *boot_small(struct test_log *tl, uint64_t mem)
{
	struct vmm_config cfg;

	vmm_config_init(&cfg);
	cfg.nodes = 1;
	cfg.cpus = 1;
	cfg.node_mem[0] = mem;
	cfg.nr_holes = 2;
	cfg.log_fn = test_log_hook;
	cfg.log_data = tl;
	return boot_cfg(&cfg);
}

static struct vmm_vmalloc_info info(vmm_machine *m)
{
	struct vmm_vmalloc_info i;

	assert_int_equal(vmm_vmalloc_info(m, &i), 0);
	return i;
}

/* A /proc view (out of line: gcc's dangling-pointer analysis trips over the inline one). */
static __attribute__((noinline)) char *dump(vmm_machine *m, enum vmm_dump_kind kind)
{
	return dump_to_string(m, kind);
}

/* buddyinfo with every per-CPU list drained first. */
static char *buddy_state(vmm_machine *m)
{
	vmm_drain_all_pages(m);
	return dump(m, VMM_DUMP_BUDDYINFO);
}

static uint64_t *pte_of(vmm_machine *m, vmm_vaddr_t va)
{
	return vmm_kernel_pte(m, va, false, NULL);
}

/*
 * The area at @addr of @pages pages maps exactly the pages its vm_struct
 * allocated, in order, PAGE_KERNEL, each a distinct order-0 page with one
 * reference; the guard page after it is not mapped.
 */
static void assert_maps_exactly(vmm_machine *m, vmm_vaddr_t addr, uint64_t pages)
{
	struct vmm_vm_struct *vm = vmm_find_vm_area(m, addr);
	uint64_t *pfns = calloc(pages, sizeof(*pfns)), *pte;
	vmm_paddr_t pa;

	assert_non_null(vm);
	assert_non_null(pfns);
	assert_int_equal(vm->addr, addr);
	assert_int_equal(vm->nr_pages, pages);
	assert_int_equal(vm->size, (pages + 1) * PG);
	for (uint64_t i = 0; i < pages; i++) {
		struct vmm_page *pg = vm->pages[i];

		pfns[i] = vmm_page_to_pfn(m, pg);
		pte = pte_of(m, addr + i * PG);
		assert_non_null(pte);
		assert_int_equal(*pte, (pfns[i] << VMM_PAGE_SHIFT) | VMM_PAGE_KERNEL);
		assert_ptr_equal(vmm_vmalloc_to_page(m, addr + i * PG + (i % PG)), pg);
		assert_int_equal(vmm_page_count(pg), 1);
		assert_int_not_equal(vmm_page_type(pg), VMM_PGTY_BUDDY);
	}
	for (uint64_t i = 1; i < pages; i++)
		for (uint64_t j = 0; j < i && pages <= 600; j++)
			assert_int_not_equal(pfns[i], pfns[j]);
	/* the guard page */
	pte = pte_of(m, addr + pages * PG);
	assert_true(!pte || *pte == 0);
	assert_int_equal(vmm_kernel_translate(m, addr + pages * PG, &pa), -VMM_EFAULT);
	assert_null(vmm_vmalloc_to_page(m, addr + pages * PG));
	assert_null(vmm_kaddr_to_host(m, addr + pages * PG));
	free(pfns);
}

/* ---- sizes ---- */

static const uint64_t sizes[] = {
	1,	 PG - 1,   PG,	     PG + 1,   3 * PG,	4 * PG,	      17 * PG,
	64 * PG, 511 * PG, 512 * PG, 513 * PG, 1 * MiB, 2 * MiB + PG, 16 * MiB - 5,
	64 * MiB,
};

/*
 * Every size maps exactly its pages and leaves the guard page unmapped;
 * vzalloc'd bytes read zero through the kernel tables at CPL 0 on every
 * CPU; a pattern written through the host is read back by the CPUs.
 */
static void test_sizes_map_exactly(void **state)
{
	vmm_machine *m = boot(NULL);
	struct vmm_access_result r;

	(void)state;
	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		uint64_t size = sizes[s], pages = DIV_ROUND_UP(size, PG);
		uint64_t used = info(m).used_pages;
		vmm_vaddr_t a = vmm_vzalloc(m, size);
		uint64_t last = a + pages * PG - 8, v = 1;

		assert_int_not_equal(a, 0);
		assert_true(vmm_is_vmalloc_addr(m, a));
		assert_int_equal(a % PG, 0);
		assert_maps_exactly(m, a, pages);
		/* VmallocUsed: the pages, and a page array of more than a page is vmalloc'd too */
		assert_int_equal(info(m).used_pages - used,
				 pages + (pages * 8 > PG ? DIV_ROUND_UP(pages * 8, PG) : 0));
		for (unsigned c = 0; c < m->nr_cpus; c++) {
			assert_int_equal(vmm_cpu_read(vmm_machine_cpu(m, c), last, &v, 8, 0, &r),
					 0);
			assert_int_equal(v, 0);
		}
		*(uint64_t *)vmm_kaddr_to_host(m, a) = 0x1122334455667788ull + s;
		*(uint64_t *)vmm_kaddr_to_host(m, last) = s;
		assert_int_equal(vmm_cpu_read(vmm_machine_cpu(m, 1), a, &v, 8, 0, &r), 0);
		assert_int_equal(v, 0x1122334455667788ull + s);
		assert_int_equal(vmm_cpu_read(vmm_machine_cpu(m, 3), last, &v, 8, 0, &r), 0);
		assert_int_equal(v, s);
		/* the guard page faults: a kernel oops (SIGKILL) */
		assert_int_equal(vmm_cpu_read(vmm_machine_cpu(m, 0), last + 8, &v, 8, 0, &r),
				 -VMM_EFAULT);
		assert_int_equal(r.signal, VMM_SIGKILL);
		assert_machine_healthy(m);
		vmm_vfree(m, a);
		assert_machine_healthy(m);
	}
	vmm_vm_unmap_aliases(m);
	assert_int_equal(info(m).used_pages, 0);
	assert_int_equal(info(m).nr_busy, 0);
	assert_int_equal(info(m).nr_lazy, 0);
	assert_int_equal(info(m).nr_free, 1);
	assert_int_equal(info(m).largest_free, info(m).vmalloc_end - info(m).vmalloc_start);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/*
 * vfree and a purge return everything: once an area of the size has been
 * made and freed (its page tables exist, the slab caches hold their
 * objects' slabs), another one leaves buddyinfo as it found it.
 */
static void test_free_returns_everything(void **state)
{
	static const uint64_t cases[] = { PG, 4 * PG, 64 * PG, 3 * MiB, 64 * MiB };
	vmm_machine *m = boot(NULL);

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *before, *during, *after;
		vmm_vaddr_t a;

		for (int warm = 0; warm < 2; warm++) {
			vmm_vfree(m, vmm_vmalloc(m, cases[i]));
			vmm_vm_unmap_aliases(m);
		}
		before = buddy_state(m);
		a = vmm_vmalloc(m, cases[i]);
		assert_int_not_equal(a, 0);
		during = buddy_state(m);
		assert_string_not_equal(before, during);
		vmm_vfree(m, a);
		/* the area, and its page array when that was vmalloc'd */
		assert_int_equal(info(m).nr_lazy, cases[i] / PG * 8 > PG ? 2 : 1);
		vmm_vm_unmap_aliases(m);
		after = buddy_state(m);
		assert_string_equal(before, after);
		assert_int_equal(info(m).used_pages, 0);
		assert_machine_healthy(m);
		free(before);
		free(during);
		free(after);
	}
	vmm_machine_destroy(&m);
}

/* ---- the free-space search ---- */

/*
 * First fit at the lowest address: a purged hole is reused by the next
 * request that fits in it, the rest of the hole by the next, and a request
 * too large for it goes above everything; a hole still waiting for the
 * purge is not reused. An aligned request inside a hole splits it.
 */
static void test_lowest_fit_reuses_holes(void **state)
{
	vmm_machine *m = boot(NULL);
	const vmm_vaddr_t start = m->init_mm.layout.vmalloc_start;
	vmm_vaddr_t a, b, c, d, e, f, g;

	(void)state;
	a = vmm_vmalloc(m, 4 * PG);
	b = vmm_vmalloc(m, 8 * PG);
	c = vmm_vmalloc(m, 4 * PG);
	assert_int_equal(a, start);
	assert_int_equal(b, a + 5 * PG); /* 4 pages and the guard */
	assert_int_equal(c, b + 9 * PG);
	vmm_vfree(m, b);
	/* lazily freed: not reusable yet */
	d = vmm_vmalloc(m, 2 * PG);
	assert_int_equal(d, c + 5 * PG);
	vmm_vfree(m, d);
	vmm_vm_unmap_aliases(m);
	assert_int_equal(info(m).nr_free, 2); /* b's hole, and everything above c */
	/* the hole of 9 pages at b: 2 + guard, then 3 + guard, then 8 does not fit */
	d = vmm_vmalloc(m, 2 * PG);
	assert_int_equal(d, b);
	e = vmm_vmalloc(m, 3 * PG);
	assert_int_equal(e, b + 3 * PG);
	f = vmm_vmalloc(m, 8 * PG);
	assert_int_equal(f, c + 5 * PG);
	/* the 2 pages left at b + 7 pages hold exactly one page and its guard */
	g = vmm_vmalloc(m, PG);
	assert_int_equal(g, b + 7 * PG);
	assert_int_equal(info(m).nr_free, 1);
	assert_machine_healthy(m);
	vmm_vfree(m, d);
	vmm_vfree(m, e);
	vmm_vfree(m, g);
	vmm_vm_unmap_aliases(m);
	/* d, e and g merge with each other into one 9-page range again */
	assert_int_equal(info(m).nr_free, 2);
	{
		/* 64 KiB aligned inside the 9-page hole at b (b + 9 pages is not free) */
		uint64_t splits = info(m).splits;
		vmm_vaddr_t h = vmm_vmalloc_node_range(m, PG, 64 * KiB, start, m->vmalloc.end,
						       VMM_GFP_KERNEL, VMM_PAGE_KERNEL, 0,
						       VMM_NUMA_NO_NODE, "test");

		assert_int_equal(h % (64 * KiB), 0);
		assert_true(h > f);
		/* an aligned range from the middle of the free space above splits it */
		assert_int_equal(info(m).splits, splits + (h != f + 9 * PG));
		assert_machine_healthy(m);
		vmm_vfree(m, h);
	}
	vmm_vfree(m, a);
	vmm_vfree(m, c);
	vmm_vfree(m, f);
	vmm_vm_unmap_aliases(m);
	assert_int_equal(info(m).nr_free, 1);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/*
 * No room: an allocation in a narrow range purges the lazy areas and tries
 * again (the freed hole is reused), and fails when even that finds none.
 */
static void test_no_room_purges_and_retries(void **state)
{
	struct test_log tl = { 0 };
	vmm_machine *m = boot(&tl);
	const vmm_vaddr_t lo = m->init_mm.layout.vmalloc_start + 1 * GiB, hi = lo + 15 * PG;
	vmm_vaddr_t a[3], x;

	(void)state;
	for (int i = 0; i < 3; i++) {
		a[i] = vmm_vmalloc_node_range(m, 4 * PG, 1, lo, hi, VMM_GFP_KERNEL, VMM_PAGE_KERNEL,
					      0, VMM_NUMA_NO_NODE, "test");
		assert_int_equal(a[i], lo + 5 * PG * (uint64_t)i);
	}
	vmm_vfree(m, a[1]);
	assert_int_equal(info(m).purges, 0);
	x = vmm_vmalloc_node_range(m, 4 * PG, 1, lo, hi, VMM_GFP_KERNEL, VMM_PAGE_KERNEL, 0,
				   VMM_NUMA_NO_NODE, "test");
	assert_int_equal(x, a[1]);
	assert_int_equal(info(m).purge_retries, 1);
	assert_int_equal(info(m).purges, 1);
	/* full now: purging finds nothing, the failure is logged as a note, not misuse */
	tl.messages = 0;
	assert_int_equal(vmm_vmalloc_node_range(m, PG, 1, lo, hi, VMM_GFP_KERNEL, VMM_PAGE_KERNEL,
						0, VMM_NUMA_NO_NODE, "test"),
			 0);
	assert_int_equal(info(m).purge_retries, 2);
	assert_true(tl.messages >= 1);
	assert_non_null(strstr(tl.last, "failed"));
	assert_int_equal(tl.last_kind, VMM_LOG_KIND_NOTE);
	assert_int_equal(info(m).errors, 0);
	assert_machine_healthy(m);
	vmm_vfree(m, a[0]);
	vmm_vfree(m, x);
	vmm_vfree(m, a[2]);
	vmm_vm_unmap_aliases(m);
	assert_int_equal(info(m).nr_free, 1);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* ---- the lazy purge and the TLBs ---- */

/* Shootdowns @cpu sent (@sender) or received. */
static uint64_t shootdowns(vmm_machine *m, unsigned cpu, bool sender)
{
	struct vmm_cpu_stats st;

	assert_int_equal(vmm_cpu_stats(vmm_machine_cpu(m, cpu), &st), 0);
	return sender ? st.shootdowns_sent : st.shootdowns_received;
}

static int read_u64(vmm_machine *m, unsigned cpu, vmm_vaddr_t va, uint64_t *v,
		    struct vmm_access_result *r)
{
	return vmm_cpu_read(vmm_machine_cpu(m, cpu), va, v, 8, 0, r);
}

/*
 * A freed area's PTEs are clear at once, but every CPU that cached the
 * translation keeps reaching the old frame until the purge; the purge's
 * one range flush reaches every CPU (an IPI each), after which every CPU
 * faults. Crossing lazy_max_pages purges by itself.
 */
static void test_lazy_purge_flushes_tlbs(void **state)
{
	vmm_machine *m = boot(NULL);
	struct vmm_access_result r;
	vmm_vaddr_t a = vmm_vmalloc(m, 2 * PG), big;
	uint64_t v, flush_before[8], lazy_max = info(m).lazy_max_pages;
	unsigned me;

	(void)state;
	/* fls(4 CPUs) = 3 times 32 MiB of pages */
	assert_int_equal(lazy_max, 3 * 8192);
	*(uint64_t *)vmm_kaddr_to_host(m, a + PG) = 0xfeed;
	for (unsigned c = 0; c < m->nr_cpus; c++) {
		assert_int_equal(read_u64(m, c, a + PG, &v, &r), 0);
		assert_int_equal(v, 0xfeed);
	}
	vmm_vfree(m, a);
	assert_null(pte_of(m, a + PG) ? (*pte_of(m, a + PG) ? pte_of(m, a) : NULL) : NULL);
	assert_null(vmm_kaddr_to_host(m, a + PG));
	assert_int_equal(info(m).nr_lazy, 1);
	assert_int_equal(info(m).lazy_pages, 3);
	/* stale but still translating, on every CPU, and the checker accepts it */
	for (unsigned c = 0; c < m->nr_cpus; c++) {
		assert_int_equal(read_u64(m, c, a + PG, &v, &r), 0);
		assert_int_equal(r.signal, 0);
		assert_int_equal(v, 0xfeed);
	}
	assert_machine_healthy(m);
	me = vmm_machine_current_cpu(m);
	for (unsigned c = 0; c < m->nr_cpus; c++)
		flush_before[c] = shootdowns(m, c, c == me);
	vmm_vm_unmap_aliases(m);
	assert_int_equal(info(m).purges, 1);
	assert_int_equal(info(m).nr_lazy, 0);
	for (unsigned c = 0; c < m->nr_cpus; c++) {
		assert_int_equal(shootdowns(m, c, c == me), flush_before[c] + 1);
		assert_int_equal(read_u64(m, c, a + PG, &v, &r), -VMM_EFAULT);
		assert_int_equal(r.signal, VMM_SIGKILL);	/* an oops */
	}
	assert_machine_healthy(m);
	/* a second purge with nothing lazy does nothing */
	vmm_vm_unmap_aliases(m);
	assert_int_equal(info(m).purges, 1);

	/*
	 * The threshold: 64 MiB and its guard are 16385 pages, its 128 KiB page
	 * array (vmalloc'd) and guard 33 more; two of those cross 24576.
	 */
	a = vmm_vmalloc(m, 64 * MiB);
	big = vmm_vmalloc(m, 64 * MiB);
	assert_int_not_equal(a, 0);
	assert_int_not_equal(big, 0);
	for (unsigned c = 0; c < m->nr_cpus; c++)
		assert_int_equal(read_u64(m, c, big + 5 * PG, &v, &r), 0);
	vmm_vfree(m, a);
	assert_int_equal(info(m).purges, 1);
	assert_int_equal(info(m).lazy_pages, 16385 + 33);
	vmm_vfree(m, big);
	assert_int_equal(info(m).purges, 2);
	assert_int_equal(info(m).lazy_pages, 0);
	for (unsigned c = 0; c < m->nr_cpus; c++)
		assert_int_equal(read_u64(m, c, big + 5 * PG, &v, &r), -VMM_EFAULT);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* ---- vmallocinfo and meminfo ---- */

static char *line_for(const char *text, vmm_vaddr_t addr)
{
	char key[40];
	const char *p, *eol;

	snprintf(key, sizeof(key), "0x%016" PRIx64 "-", addr);
	p = strstr(text, key);
	if (!p)
		return NULL;
	eol = strchr(p, '\n');
	return strndup(p, (size_t)(eol - p));
}

static void assert_line(const char *text, vmm_vaddr_t addr, const char *want)
{
	char *got = line_for(text, addr);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* Every area as Linux prints it, then the lazily freed ones; VmallocUsed in kB. */
static void test_vmallocinfo(void **state)
{
	vmm_machine *m = boot(NULL);
	struct vmm_page *pgs[2];
	vmm_vaddr_t a, b, c, d, e, f, g;
	char want[256], *s;
	uint64_t arr;

	(void)state;
	pgs[0] = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
	pgs[1] = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
	a = vmm_vmalloc(m, 3 * PG);
	b = vmm_vzalloc(m, 5 * PG - 100);
	c = vmm_vmalloc_node(m, 2 * PG, 1);
	d = vmm_vmalloc_user(m, PG);
	e = vmm_vmap(m, pgs, 2, VMM_VM_MAP, VMM_PAGE_KERNEL);
	f = vmm_vmalloc_node(m, 8 * MiB, 0); /* 2048 pages: a 16 KiB page array, vmalloc'd */
	g = vmm_vmalloc(m, PG);
	vmm_vfree(m, g);
	s = dump(m, VMM_DUMP_VMALLOCINFO);
	snprintf(want, sizeof(want),
		 "0x%016" PRIx64 "-0x%016" PRIx64 "   16384 vmm_vmalloc pages=3 "
		 "vmalloc N%u=3",
		 a, a + 4 * PG, vmm_page_to_nid(m, vmm_vmalloc_to_page(m, a)));
	assert_line(s, a, want);
	snprintf(want, sizeof(want),
		 "0x%016" PRIx64 "-0x%016" PRIx64 "   24576 vmm_vzalloc pages=5 "
		 "vmalloc N0=5",
		 b, b + 6 * PG);
	assert_line(s, b, want);
	snprintf(want, sizeof(want),
		 "0x%016" PRIx64 "-0x%016" PRIx64 "   12288 vmm_vmalloc_node "
		 "pages=2 vmalloc N1=2",
		 c, c + 3 * PG);
	assert_line(s, c, want);
	snprintf(want, sizeof(want),
		 "0x%016" PRIx64 "-0x%016" PRIx64 "    8192 vmm_vmalloc_user "
		 "pages=1 vmalloc user N0=1",
		 d, d + 2 * PG);
	assert_line(s, d, want);
	snprintf(want, sizeof(want), "0x%016" PRIx64 "-0x%016" PRIx64 "   12288 vmm_vmap vmap", e,
		 e + 3 * PG);
	assert_line(s, e, want);
	snprintf(want, sizeof(want),
		 "0x%016" PRIx64 "-0x%016" PRIx64 " 8392704 vmm_vmalloc_node "
		 "pages=2048 vmalloc vpages N0=2048",
		 f, f + 8 * MiB + PG);
	assert_line(s, f, want);
	/* the page array: 4 pages, after f (it was allocated after f's range) */
	arr = m->vmalloc.vmlist.prev == &vmm_find_vm_area(m, f)->list ? 0 : f + 8 * MiB + PG;
	snprintf(want, sizeof(want),
		 "0x%016" PRIx64 "-0x%016" PRIx64 "   20480 vmm_vmalloc_node "
		 "pages=4 vmalloc N0=4",
		 arr, arr + 5 * PG);
	assert_line(s, arr, want);
	snprintf(want, sizeof(want), "0x%016" PRIx64 "-0x%016" PRIx64 "    8192 unpurged vm_area\n",
		 g, g + 2 * PG);
	/* the unpurged area is the last line */
	{
		const char *tail = strstr(s, want);

		assert_non_null(tail);
		assert_int_equal(strlen(tail), strlen(want));
	}
	/* one line per area, in address order */
	{
		unsigned lines = 0;
		uint64_t prev = 0;

		for (const char *p = s; *p; p = strchr(p, '\n') + 1, lines++) {
			uint64_t start = strtoull(p + 2, NULL, 16);

			if (lines < 7)
				assert_true(start > prev);
			prev = start;
		}
		assert_int_equal(lines, 8);
	}
	free(s);
	s = dump(m, VMM_DUMP_MEMINFO);
	snprintf(want, sizeof(want), "\nVmallocUsed:    %8" PRIu64 " kB\n",
		 (uint64_t)(3 + 5 + 2 + 1 + 2048 + 4) * 4);
	assert_non_null(strstr(s, want));
	assert_non_null(strstr(s, "\nVmallocTotal:   34359738367 kB\n"));
	free(s);
	vmm_vfree(m, a);
	vmm_vfree(m, b);
	vmm_vfree(m, c);
	vmm_vfree(m, d);
	vmm_vunmap(m, e);
	vmm_vfree(m, f);
	vmm_vm_unmap_aliases(m);
	s = dump(m, VMM_DUMP_VMALLOCINFO);
	assert_string_equal(s, "");
	free(s);
	s = dump(m, VMM_DUMP_MEMINFO);
	assert_non_null(strstr(s, "\nVmallocUsed:           0 kB\n"));
	free(s);
	vmm_free_pages(m, pgs[0], 0);
	vmm_free_pages(m, pgs[1], 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* VmallocTotal and the area with 5-level paging. */
static void test_five_levels(void **state)
{
	struct vmm_config cfg;
	vmm_machine *m;
	vmm_vaddr_t a;
	char *s;

	(void)state;
	vmm_config_init(&cfg);
	cfg.paging_levels = 5;
	m = boot_cfg(&cfg);
	s = dump(m, VMM_DUMP_MEMINFO);
	/* 12800 TiB - 1 byte */
	assert_non_null(strstr(s, "\nVmallocTotal:   13743895347199 kB\n"));
	free(s);
	a = vmm_vzalloc(m, 10 * PG);
	assert_int_equal(a, 0xffa0000000000000ull);
	assert_maps_exactly(m, a, 10);
	assert_machine_healthy(m);
	vmm_vfree(m, a);
	vmm_vm_unmap_aliases(m);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* ---- vmap ---- */

/*
 * vmap maps caller pages (order-0 pages and the pages of an order-2 block)
 * in order with the protection asked for, NX added; vunmap leaves them
 * with the caller; PAGE_KERNEL_RO refuses CPL-0 writes; VM_MAP_PUT_PAGES
 * hands the references to the area, which vfree puts.
 */
static void test_vmap_vunmap(void **state)
{
	struct test_log tl = { 0 };
	vmm_machine *m = boot(&tl);
	struct vmm_page *pgs[6], *block = vmm_alloc_pages(m, VMM_GFP_KERNEL, 2);
	struct vmm_access_result r;
	vmm_vaddr_t a, ro;
	uint64_t v = 0x5151, free_before;

	(void)state;
	for (int i = 0; i < 2; i++)
		pgs[i] = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
	for (int i = 0; i < 4; i++)
		pgs[2 + i] = vmm_pfn_to_page(m, vmm_page_to_pfn(m, block) + (unsigned)i);
	a = vmm_vmap(m, pgs, 6, VMM_VM_MAP, VMM_PAGE_KERNEL);
	assert_int_not_equal(a, 0);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(*pte_of(m, a + (unsigned)i * PG),
				 (vmm_page_to_pfn(m, pgs[i]) << VMM_PAGE_SHIFT) | VMM_PAGE_KERNEL);
		assert_ptr_equal(vmm_vmalloc_to_page(m, a + (unsigned)i * PG + 123), pgs[i]);
		assert_int_equal(vmm_vmalloc_to_pfn(m, a + (unsigned)i * PG),
				 vmm_page_to_pfn(m, pgs[i]));
	}
	assert_int_equal(*pte_of(m, a + 6 * PG), 0);
	/* written through the vmap address at CPL 0, read through the direct map */
	assert_int_equal(vmm_cpu_write(vmm_machine_cpu(m, 2), a + 4 * PG + 16, &v, 8, 0, &r), 0);
	assert_int_equal(*(uint64_t *)vmm_kaddr_to_host(m, vmm_page_address(m, pgs[4]) + 16), v);
	assert_machine_healthy(m);
	/* read-only: a kernel write faults (CR0.WP), a read works; NX is added */
	ro = vmm_vmap(m, pgs, 1, VMM_VM_MAP, VMM_PAGE_KERNEL_RO & ~VMM_PTE_NX);
	assert_int_not_equal(ro, 0);
	assert_int_equal(*pte_of(m, ro), (vmm_page_to_pfn(m, pgs[0]) << 12) | VMM_PAGE_KERNEL_RO);
	assert_int_equal(vmm_cpu_read(vmm_machine_cpu(m, 0), ro, &v, 8, 0, &r), 0);
	assert_int_equal(vmm_cpu_write(vmm_machine_cpu(m, 0), ro, &v, 8, 0, &r), -VMM_EFAULT);
	assert_int_equal(r.signal, VMM_SIGKILL);	/* an oops */
	/* the same page mapped twice is fine */
	assert_machine_healthy(m);
	vmm_vunmap(m, ro);
	vmm_vunmap(m, a);
	vmm_vm_unmap_aliases(m);
	for (int i = 0; i < 2; i++)
		assert_int_equal(vmm_page_count(pgs[i]), 1);
	assert_int_equal(vmm_page_count(block), 1);
	assert_machine_healthy(m);
	/* VM_NO_GUARD is refused as Linux's vmap() refuses it: reported, the guard stays */
	tl.messages = 0;
	a = vmm_vmap(m, pgs, 2, VMM_VM_MAP | VMM_VM_NO_GUARD, VMM_PAGE_KERNEL);
	assert_int_not_equal(a, 0);
	assert_int_equal(tl.messages, 1);
	assert_int_equal(vmm_find_vm_area(m, a)->size, 3 * PG);
	vmm_vunmap(m, a);
	/* VM_MAP_PUT_PAGES: the area owns the references; vfree gives the pages back */
	free_before = vmm_global_zone_page_state(m, NR_FREE_PAGES);
	vmm_drain_all_pages(m);
	free_before = vmm_global_zone_page_state(m, NR_FREE_PAGES);
	a = vmm_vmap(m, pgs, 2, VMM_VM_MAP | VMM_VM_MAP_PUT_PAGES, VMM_PAGE_KERNEL);
	assert_int_not_equal(a, 0);
	assert_int_equal(vmm_find_vm_area(m, a)->nr_pages, 2);
	/* vunmap would leak them: refused */
	tl.messages = 0;
	vmm_vunmap(m, a);
	assert_int_equal(tl.messages, 1);
	assert_int_equal(tl.last_kind, VMM_LOG_KIND_GUEST);
	assert_non_null(vmm_find_vm_area(m, a));
	vmm_vfree(m, a);
	vmm_drain_all_pages(m);
	assert_int_equal(vmm_global_zone_page_state(m, NR_FREE_PAGES), free_before + 2);
	vmm_vm_unmap_aliases(m);
	vmm_free_pages(m, block, 2);
	assert_int_equal(info(m).used_pages, 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* ---- kernel accesses ---- */

/*
 * vmm_cpu_write()/vmm_cpu_read() at CPL 0 reach a vmalloc area's bytes,
 * across page boundaries, on any CPU; a user-mode access faults (no U/S)
 * and so does an instruction fetch (NX).
 */
static void test_cpu_access(void **state)
{
	vmm_machine *m = boot(NULL);
	vmm_vaddr_t a = vmm_vmalloc(m, 3 * PG);
	struct vmm_access_result r;
	uint8_t buf[3 * PG], back[3 * PG];

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(
		vmm_cpu_write(vmm_machine_cpu(m, 1), a + 100, buf, sizeof(buf) - 200, 0, &r), 0);
	assert_int_equal(r.signal, 0);
	/* each page through the host, as the pages the area allocated */
	for (unsigned p = 0; p < 3; p++) {
		const uint8_t *h = vmm_kaddr_to_host(m, a + p * PG);

		assert_ptr_equal(
			h, vmm_kaddr_to_host(
				   m, vmm_page_address(m, vmm_vmalloc_to_page(m, a + p * PG))));
		for (unsigned i = p ? 0 : 100; i < (p == 2 ? PG - 100 : PG); i++)
			assert_int_equal(h[i], buf[p * PG + i - 100]);
	}
	memset(back, 0, sizeof(back));
	assert_int_equal(
		vmm_cpu_read(vmm_machine_cpu(m, 3), a + 100, back, sizeof(buf) - 200, 0, &r), 0);
	assert_memory_equal(back, buf, sizeof(buf) - 200);
	assert_int_equal(vmm_cpu_access(vmm_machine_cpu(m, 0), a, 8, VMM_ACC_USER, &r), 0);
	assert_int_equal(r.signal, VMM_SIGSEGV);
	assert_int_equal(vmm_cpu_access(vmm_machine_cpu(m, 0), a, 1, VMM_ACC_EXEC, &r), 0);
	assert_int_equal(r.signal, VMM_SIGKILL);	/* NX in the kernel: an oops */
	assert_int_equal(vmm_cpu_access(vmm_machine_cpu(m, 0), a + 2 * PG, 8, VMM_ACC_WRITE, &r),
			 0);
	assert_int_equal(r.signal, 0);
	assert_machine_healthy(m);
	vmm_vfree(m, a);
	vmm_machine_destroy(&m);
}

/* ---- misuse ---- */

/* What must not change when a call is refused. */
struct snapshot {
	char *vmallocinfo, *buddyinfo, *slabinfo;
	struct vmm_vmalloc_info vi;
};

static void take(vmm_machine *m, struct snapshot *s)
{
	s->vmallocinfo = dump(m, VMM_DUMP_VMALLOCINFO);
	s->buddyinfo = dump(m, VMM_DUMP_BUDDYINFO);
	s->slabinfo = dump(m, VMM_DUMP_SLABINFO);
	s->vi = info(m);
	/* the call counters and the error count may move */
	s->vi.vmalloc_calls = s->vi.vmap_calls = s->vi.vfree_calls = s->vi.vunmap_calls = 0;
	s->vi.failures = s->vi.errors = 0;
}

static void assert_unchanged(vmm_machine *m, struct snapshot *before)
{
	struct snapshot now;

	take(m, &now);
	assert_string_equal(now.vmallocinfo, before->vmallocinfo);
	assert_string_equal(now.buddyinfo, before->buddyinfo);
	assert_string_equal(now.slabinfo, before->slabinfo);
	assert_memory_equal(&now.vi, &before->vi, sizeof(now.vi));
	free(now.vmallocinfo);
	free(now.buddyinfo);
	free(now.slabinfo);
}

/* Each bad call is reported once, as whose fault it is, counted, and changes nothing. */
static void test_bad_arguments(void **state)
{
	struct test_log tl = { 0 };
	vmm_machine *m = boot(&tl);
	struct vmm_page *pgs[3], *freed;
	vmm_vaddr_t a, b;
	struct snapshot s;
	struct vmm_trouble_counts t0, t1;
	uint64_t errors;

	(void)state;
	pgs[0] = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
	pgs[1] = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
	a = vmm_vmalloc(m, 16 * MiB); /* with a vmalloc'd page array */
	b = vmm_vmalloc(m, 2 * PG);
	vmm_vfree(m, b); /* lazily freed: a second vfree is a double free */
	assert_machine_healthy(m);
	freed = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
	vmm_free_pages(m, freed, 0);
	vmm_drain_all_pages(m);
	take(m, &s);
	errors = info(m).errors;
	assert_int_equal(vmm_machine_trouble(m, &t0), 0);
#define BAD(call, kind)                                     \
	do {                                                \
		unsigned n_ = tl.messages;                  \
		call;                                       \
		assert_int_equal(tl.messages, n_ + 1);      \
		assert_int_equal(tl.last_kind, (kind));     \
		assert_int_equal(info(m).errors, ++errors); \
		vmm_drain_all_pages(m);                     \
		assert_unchanged(m, &s);                    \
	} while (0)
	BAD(assert_int_equal(vmm_vmalloc(m, 0), 0), VMM_LOG_KIND_CALLER);
	BAD(assert_int_equal(vmm_vzalloc(m, 0), 0), VMM_LOG_KIND_CALLER);
	BAD(assert_int_equal(vmm_vmalloc_node(m, PG, 2), 0), VMM_LOG_KIND_CALLER);
	BAD(assert_int_equal(vmm_vmalloc_node(m, PG, -5), 0), VMM_LOG_KIND_CALLER);
	BAD(assert_int_equal(vmm_vmap(m, pgs, 2, 0x1, VMM_PAGE_KERNEL), 0), VMM_LOG_KIND_CALLER);
	BAD(assert_int_equal(vmm_vmap(m, pgs, 2, VMM_VM_ALLOC, VMM_PAGE_KERNEL), 0),
	    VMM_LOG_KIND_CALLER);
	BAD(assert_int_equal(vmm_vmap(m, pgs, 2, VMM_VM_MAP, VMM_PAGE_KERNEL | VMM_PTE_USER), 0),
	    VMM_LOG_KIND_CALLER);
	BAD(assert_int_equal(vmm_vmap(m, pgs, 2, VMM_VM_MAP, VMM_PAGE_KERNEL & ~VMM_PTE_PRESENT),
			     0),
	    VMM_LOG_KIND_CALLER);
	BAD(assert_int_equal(vmm_vmap(m, pgs, 2, VMM_VM_MAP, VMM_PAGE_KERNEL | (1ull << 20)), 0),
	    VMM_LOG_KIND_CALLER);
	BAD(assert_int_equal(vmm_vmap(m, NULL, 2, VMM_VM_MAP, VMM_PAGE_KERNEL), 0),
	    VMM_LOG_KIND_CALLER);
	BAD(assert_int_equal(vmm_vmap(m, pgs, 0, VMM_VM_MAP, VMM_PAGE_KERNEL), 0),
	    VMM_LOG_KIND_CALLER);
	pgs[2] = freed;
	BAD(assert_int_equal(vmm_vmap(m, pgs, 3, VMM_VM_MAP, VMM_PAGE_KERNEL), 0),
	    VMM_LOG_KIND_CALLER);
	pgs[2] = (struct vmm_page *)&tl;
	BAD(assert_int_equal(vmm_vmap(m, pgs, 3, VMM_VM_MAP, VMM_PAGE_KERNEL), 0),
	    VMM_LOG_KIND_CALLER);
	pgs[2] = NULL;
	BAD(assert_int_equal(vmm_vmap(m, pgs, 3, VMM_VM_MAP, VMM_PAGE_KERNEL), 0),
	    VMM_LOG_KIND_CALLER);
	/* bad frees: the simulated kernel's bugs, as Linux's WARNs */
	BAD(vmm_vfree(m, vmm_page_offset(m) + 64 * MiB), VMM_LOG_KIND_GUEST);
	BAD(vmm_vfree(m, 0x400000), VMM_LOG_KIND_GUEST);
	BAD(vmm_vfree(m, m->init_mm.layout.vmalloc_start + 100 * GiB), VMM_LOG_KIND_GUEST);
	BAD(vmm_vfree(m, a + 8), VMM_LOG_KIND_GUEST);
	BAD(vmm_vfree(m, a + PG), VMM_LOG_KIND_GUEST);
	BAD(vmm_vfree(m, b), VMM_LOG_KIND_GUEST);
	assert_non_null(strstr(tl.last, "freed already"));
	BAD(vmm_vunmap(m, b), VMM_LOG_KIND_GUEST);
	BAD(vmm_vunmap(m, a), VMM_LOG_KIND_GUEST);
	BAD(vmm_vfree(m, vmm_find_vm_area(m, a)->pages_shadow), VMM_LOG_KIND_GUEST);
	BAD(assert_null(vmm_vmalloc_to_page(m, vmm_page_offset(m))), VMM_LOG_KIND_CALLER);
	assert_int_equal(vmm_vmalloc_to_pfn(m, a - PG), 0);
	errors++;
	/* 0 and NULL are ignored without a word */
	{
		unsigned n = tl.messages;

		vmm_vfree(m, 0);
		vmm_vunmap(m, 0);
		vmm_vfree(NULL, a);
		assert_int_equal(vmm_vmalloc(NULL, PG), 0);
		assert_int_equal(vmm_vmalloc_info(NULL, &s.vi), -VMM_EINVAL);
		assert_int_equal(vmm_vmalloc_info(m, NULL), -VMM_EINVAL);
		assert_int_equal(vmm_is_vmalloc_addr(NULL, a), 0);
		assert_int_equal(tl.messages, n);
	}
	assert_unchanged(m, &s);
	assert_int_equal(vmm_machine_trouble(m, &t1), 0);
	assert_true(t1.caller > t0.caller);
	assert_true(t1.guest > t0.guest);
	assert_int_equal(t1.internal, 0);
	assert_machine_healthy(m);
	vmm_vfree(m, a);
	vmm_free_pages(m, pgs[0], 0);
	vmm_free_pages(m, pgs[1], 0);
	vmm_vm_unmap_aliases(m);
	assert_machine_healthy(m);
	free(s.vmallocinfo);
	free(s.buddyinfo);
	free(s.slabinfo);
	vmm_machine_destroy(&m);
#undef BAD
}

/* A machine booted without slab has no vmalloc: every call fails, none crashes. */
static void test_early_machine(void **state)
{
	struct test_log tl = { 0 };
	struct vmm_config cfg;
	vmm_machine *m;
	struct vmm_page *pg;

	(void)state;
	vmm_config_init(&cfg);
	cfg.log_fn = test_log_hook;
	cfg.log_data = &tl;
	assert_int_equal(vmm_machine_create_early(&cfg, &m), 0);
	pg = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
	assert_int_equal(vmm_vmalloc(m, PG), 0);
	assert_int_equal(vmm_vmap(m, &pg, 1, VMM_VM_MAP, VMM_PAGE_KERNEL), 0);
	vmm_vfree(m, m->init_mm.layout.vmalloc_start);
	vmm_vm_unmap_aliases(m);
	assert_true(tl.messages >= 3);
	assert_machine_healthy(m);
	vmm_free_pages(m, pg, 0);
	vmm_machine_destroy(&m);
}

/* ---- lazy top-level tables ---- */

/*
 * VMM_CFG_VMALLOC_LAZY: the first area under a top-level entry makes that
 * entry in init_mm only. A PGD made before lacks it (still a valid state
 * for its check), so a CPU running on it faults on the area, until
 * vmm_pgd_sync_kernel() copies the entry; later areas under the same entry
 * need no sync. Without the flag the PGD sees the area at once.
 */
static void test_lazy_mode_pgd_sync(void **state)
{
	for (int lazy = 0; lazy < 2; lazy++) {
		struct vmm_config cfg;
		struct vmm_access_result r;
		vmm_machine *m;
		vmm_paddr_t pgd;
		vmm_vaddr_t a, b;
		uint64_t *t, *ref, v = 0;
		unsigned idx;
		vmm_cpu *cpu;

		vmm_config_init(&cfg);
		if (lazy)
			cfg.flags |= VMM_CFG_VMALLOC_LAZY;
		m = boot_cfg(&cfg);
		cpu = vmm_machine_cpu(m, 1);
		assert_int_equal(vmm_pgd_alloc(m, &pgd), 0);
		t = vmm_phys_to_host(m, pgd);
		ref = vmm_phys_to_host(m, m->init_mm.pgd_pa);
		idx = (unsigned)((m->init_mm.layout.vmalloc_start >> 39) & 511);
		assert_int_equal(!!(ref[idx] & VMM_PTE_PRESENT), !lazy);
		a = vmm_vzalloc(m, 4 * PG);
		assert_int_equal(a, m->init_mm.layout.vmalloc_start);
		*(uint64_t *)vmm_kaddr_to_host(m, a + 8) = 77;
		assert_true(ref[idx] & VMM_PTE_PRESENT);
		assert_int_equal(t[idx], lazy ? 0 : ref[idx]);
		assert_int_equal(vmm_pgd_check_kernel(m, pgd, stdout), 0);
		/* through the PGD of the address space */
		assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR3, pgd), 0);
		/* lazy: one fault, which vmalloc_fault() resolves by the sync */
		assert_int_equal(vmm_cpu_read(cpu, a + 8, &v, 8, 0, &r), 0);
		assert_int_equal(r.faulted, lazy ? 1 : 0);
		assert_int_equal(t[idx], ref[idx]);
		assert_int_equal(vmm_pgd_sync_kernel(m, pgd, a + 8), 0);
		assert_int_equal(v, 77);
		/* another area under the same top-level entry needs no sync */
		b = vmm_vmalloc(m, 64 * PG);
		assert_int_equal(vmm_cpu_read(cpu, b + 63 * PG, &v, 8, 0, &r), 0);
		assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR3, m->init_mm.pgd_pa), 0);
		assert_machine_healthy(m);
		vmm_vfree(m, a);
		vmm_vfree(m, b);
		vmm_vm_unmap_aliases(m);
		vmm_pgd_free(m, pgd);
		assert_machine_healthy(m);
		vmm_machine_destroy(&m);
	}
}

/* ---- placement, exhaustion, host failures, cycles ---- */

/*
 * With high memory (direct_map_limit), vmalloc's __GFP_HIGHMEM pages come
 * from ZONE_HIGHMEM, which has no direct-map address: the vmalloc mapping
 * is how the kernel reaches them, and vmap maps a highmem page as well.
 */
static void test_highmem_pages(void **state)
{
	struct vmm_config cfg;
	struct vmm_access_result r;
	struct vmm_page *hp;
	vmm_machine *m;
	vmm_vaddr_t a, b;
	uint64_t v = 0;

	(void)state;
	vmm_config_init(&cfg);
	cfg.direct_map_limit = 896 * MiB;
	m = boot_cfg(&cfg);
	a = vmm_vzalloc(m, 64 * PG);
	assert_int_not_equal(a, 0);
	assert_maps_exactly(m, a, 64);
	for (unsigned i = 0; i < 64; i++) {
		struct vmm_page *pg = vmm_vmalloc_to_page(m, a + i * PG);

		assert_true(vmm_page_highmem(m, pg));
		assert_int_equal(vmm_page_zonenum(m, pg), VMM_ZONE_HIGHMEM);
	}
	*(uint64_t *)vmm_kaddr_to_host(m, a + 63 * PG + 8) = 0xabc;
	assert_int_equal(vmm_cpu_read(vmm_machine_cpu(m, 2), a + 63 * PG + 8, &v, 8, 0, &r), 0);
	assert_int_equal(v, 0xabc);
	hp = vmm_alloc_pages(m, VMM_GFP_HIGHUSER, 0);
	assert_true(vmm_page_highmem(m, hp));
	b = vmm_vmap(m, &hp, 1, VMM_VM_MAP, VMM_PAGE_KERNEL);
	assert_int_equal(vmm_cpu_write(vmm_machine_cpu(m, 0), b, &v, 8, 0, &r), 0);
	assert_ptr_equal(vmm_vmalloc_to_page(m, b), hp);
	assert_machine_healthy(m);
	vmm_vunmap(m, b);
	vmm_free_pages(m, hp, 0);
	vmm_vfree(m, a);
	vmm_vm_unmap_aliases(m);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* vmalloc_node puts pages, array and bookkeeping on the node; interleave spreads. */
static void test_node_placement(void **state)
{
	vmm_machine *m = boot(NULL);
	vmm_vaddr_t a, b;
	struct vmm_vm_struct *vm;
	unsigned on[2] = { 0, 0 };

	(void)state;
	a = vmm_vmalloc_node(m, 300 * PG, 1);
	vm = vmm_find_vm_area(m, a);
	for (unsigned i = 0; i < vm->nr_pages; i++)
		assert_int_equal(vmm_page_to_nid(m, vm->pages[i]), 1);
	assert_int_equal(vmm_page_to_nid(m, vmm_virt_to_page(m, vm->shadow)), 1);
	assert_int_equal(vmm_set_mempolicy(m, VMM_MPOL_INTERLEAVE, 0x3), 0);
	b = vmm_vmalloc(m, 301 * PG);
	vm = vmm_find_vm_area(m, b);
	for (unsigned i = 0; i < vm->nr_pages; i++)
		on[vmm_page_to_nid(m, vm->pages[i])]++;
	assert_true(on[0] >= 150 && on[1] >= 150);
	assert_int_equal(vmm_set_mempolicy(m, VMM_MPOL_DEFAULT, 0), 0);
	assert_machine_healthy(m);
	vmm_vfree(m, a);
	vmm_vfree(m, b);
	vmm_machine_destroy(&m);
}

/*
 * Out of pages: the call fails, gives back every page it took, logs the
 * failure as a note, and the machine stays healthy.
 */
static void test_out_of_memory(void **state)
{
	struct test_log tl = { 0 };
	vmm_machine *m;
	uint64_t free0, pt0, free1, pt1;

	(void)state;
	m = boot_small(&tl, 256 * MiB);
	/* warm the tables and caches up */
	vmm_vfree(m, vmm_vmalloc(m, 200 * MiB));
	vmm_vm_unmap_aliases(m);
	vmm_drain_all_pages(m);
	free0 = vmm_global_zone_page_state(m, NR_FREE_PAGES);
	pt0 = vmm_global_node_page_state(m, NR_PAGETABLE);
	tl.messages = 0;
	assert_int_equal(vmm_vmalloc(m, 250 * MiB), 0);
	assert_true(tl.messages >= 1);
	assert_int_equal(tl.last_kind, VMM_LOG_KIND_NOTE);
	assert_int_equal(info(m).failures, 1);
	assert_int_equal(info(m).used_pages, 0);
	assert_int_equal(info(m).errors, 0);
	assert_machine_healthy(m);
	vmm_vm_unmap_aliases(m);
	vmm_drain_all_pages(m);
	free1 = vmm_global_zone_page_state(m, NR_FREE_PAGES);
	pt1 = vmm_global_node_page_state(m, NR_PAGETABLE);
	/* it failed on pages, before any table was made */
	assert_int_equal(pt1, pt0);
	assert_int_equal(free1, free0);
	assert_machine_healthy(m);
	/* more than the machine has is refused at once */
	assert_int_equal(vmm_vmalloc(m, 1ull << 40), 0);
	assert_int_equal(vmm_vmalloc(m, SIZE_MAX), 0);
	assert_int_equal(info(m).failures, 3);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/*
 * A page-table page failing in the middle of a mapping: a vmap whose area
 * starts in a PTE table that exists and runs into a 2 MiB range that has
 * none, with the page allocator exhausted so that the table cannot be
 * made. The first PTEs are written, the table fails, and the call undoes
 * everything: no PTE of the range survives, no area, no page lost; once
 * memory is back the same vmap works.
 */
static void test_table_failure_mid_mapping(void **state)
{
	enum { N = 1024 };
	struct test_log tl = { 0 };
	static struct vmm_page *pages[N], *hog[65536];
	uint64_t free0, pt0, start;
	unsigned nhog = 0;
	vmm_vaddr_t a, v;
	vmm_machine *m;
	int err;

	(void)state;
	m = boot_small(&tl, 128 * MiB);
	a = vmm_vmalloc(m, PG);
	assert_true(a);
	/* the next area (after a's guard page) starts in a's PTE table and leaves it */
	start = a + 2 * PG;
	assert_int_equal(start >> 21, a >> 21);
	assert_true((start + N * PG - 1) >> 21 > start >> 21);
	assert_null(vmm_kernel_pte(m, start + N * PG - 1, false, &err));
	for (unsigned i = 0; i < N; i++)
		assert_non_null(pages[i] = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0));
	vmm_drain_all_pages(m);
	free0 = vmm_global_zone_page_state(m, NR_FREE_PAGES);
	pt0 = vmm_global_node_page_state(m, NR_PAGETABLE);
	/* take every page an atomic request may have: a GFP_KERNEL table cannot be made */
	while (nhog < 65536 &&
	       (hog[nhog] = vmm_alloc_pages(m, VMM_GFP_ATOMIC | VMM_GFP_NOWARN, 0)))
		nhog++;
	assert_true(nhog > 0 && nhog < 65536);
	assert_int_equal(vmm_vmap(m, pages, N, VMM_VM_MAP, VMM_PAGE_KERNEL), 0);
	assert_int_equal(info(m).failures, 1);
	assert_int_equal(info(m).errors, 0);
	for (unsigned i = 0; i < N; i++) {
		uint64_t *pte = vmm_kernel_pte(m, start + (uint64_t)i * PG, false, &err);

		assert_true(!pte || !*pte);
		assert_null(vmm_vmalloc_to_page(m, start + (uint64_t)i * PG));
	}
	assert_null(vmm_find_vm_area(m, start));
	assert_int_equal(vmm_global_node_page_state(m, NR_PAGETABLE), pt0);
	assert_machine_healthy(m);
	while (nhog)
		vmm_free_pages(m, hog[--nhog], 0);
	vmm_vm_unmap_aliases(m);
	vmm_drain_all_pages(m);
	assert_int_equal(vmm_global_zone_page_state(m, NR_FREE_PAGES), free0);
	/* with memory back, the same mapping works and its pages are the ones given */
	v = vmm_vmap(m, pages, N, VMM_VM_MAP, VMM_PAGE_KERNEL);
	assert_true(v);
	for (unsigned i = 0; i < N; i += 97)
		assert_ptr_equal(vmm_vmalloc_to_page(m, v + (uint64_t)i * PG), pages[i]);
	assert_machine_healthy(m);
	vmm_vunmap(m, v);
	for (unsigned i = 0; i < N; i++)
		vmm_free_pages(m, pages[i], 0);
	vmm_vfree(m, a);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/*
 * A host allocation failing anywhere leaks nothing: on a fresh machine
 * (empty pools), the k-th host allocation of a run of vmallocs (each with
 * a host page array, the pools growing past a chunk) and a vmap fails, for
 * every k the run makes; the failed call returns 0, the rest work, and the
 * machine stays healthy and gives every host byte back.
 */
static void test_host_failures(void **state)
{
	enum { AREAS = 70 };
	unsigned failed = 0, k;

	(void)state;
	for (k = 1;; k++) {
		struct test_log tl = { 0 };
		struct vmm_config cfg;
		struct vmm_hostmem_inject inj = { 0 };
		struct vmm_hostmem final;
		struct vmm_page *pgs[20];
		vmm_vaddr_t a[AREAS], b;
		vmm_machine *m;
		unsigned zeros = 0;
		bool hit;

		vmm_config_init(&cfg);
		cfg.nodes = 1;
		cfg.node_mem[0] = 128 * MiB;
		cfg.nr_holes = 2;
		cfg.log_fn = test_log_hook;
		cfg.log_data = &tl;
		inj.final = &final;
		assert_int_equal(vmm_machine_create_inject(&cfg, &inj, &m), 0);
		for (int i = 0; i < 20; i++)
			pgs[i] = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
		m->hm.inject.fail_nth = m->hm.calls + k;
		for (unsigned i = 0; i < AREAS; i++)
			zeros += !(a[i] = vmm_vmalloc(m, (9 + i) * PG));
		zeros += !(b = vmm_vmap(m, pgs, 20, VMM_VM_MAP, VMM_PAGE_KERNEL));
		hit = m->hm.inject.fail_nth <= m->hm.calls;
		m->hm.inject.fail_nth = 0;
		assert_true(zeros <= 1);
		assert_int_equal(zeros, hit);
		failed += hit;
		assert_machine_healthy(m);
		for (unsigned i = 0; i < AREAS; i++)
			vmm_vfree(m, a[i]);
		vmm_vunmap(m, b);
		vmm_vm_unmap_aliases(m);
		for (int i = 0; i < 20; i++)
			vmm_free_pages(m, pgs[i], 0);
		assert_int_equal(info(m).used_pages, 0);
		assert_machine_healthy(m);
		vmm_machine_destroy(&m);
		assert_int_equal(final.heap_bytes, 0);
		assert_int_equal(final.map_bytes, 0);
		if (!hit)
			break;
	}
	printf("# a run of %u vmallocs and a vmap failed cleanly at each of its %u host "
	       "allocations\n",
	       AREAS, failed);
	assert_true(failed > AREAS);
}

/* The bookkeeping's cycles, from the cost table, in VMM_CYC_OTHER. */
static void test_cycles(void **state)
{
	vmm_machine *m = boot(NULL);
	const struct vmm_cost_table *ct = &m->clock.cost;
	uint64_t before, after, zc0, zc1;
	vmm_vaddr_t a;

	(void)state;
	/* the first area makes its page tables; measure the second */
	vmm_vfree(m, vmm_vmalloc(m, 4 * PG));
	vmm_vm_unmap_aliases(m);
	assert_int_equal(vmm_machine_set_current_cpu(m, 0), 0);
	assert_int_equal(vmm_cpu_cycles(m, 0, VMM_CYC_OTHER, &before), 0);
	assert_int_equal(vmm_cpu_cycles(m, 0, VMM_CYC_ZERO_COPY, &zc0), 0);
	a = vmm_vzalloc(m, 4 * PG);
	assert_int_equal(vmm_cpu_cycles(m, 0, VMM_CYC_OTHER, &after), 0);
	assert_int_equal(vmm_cpu_cycles(m, 0, VMM_CYC_ZERO_COPY, &zc1), 0);
	assert_int_equal(after - before, ct->vmalloc_area + 4 * ct->vmalloc_map_pte);
	assert_int_equal(zc1 - zc0, 4 * ct->zero_page);
	vmm_vfree(m, a);
	assert_int_equal(vmm_cpu_cycles(m, 0, VMM_CYC_OTHER, &before), 0);
	assert_int_equal(before - after, ct->vmalloc_free_area + 5 * ct->vmalloc_unmap_pte);
	vmm_vm_unmap_aliases(m);
	assert_int_equal(vmm_cpu_cycles(m, 0, VMM_CYC_OTHER, &after), 0);
	assert_int_equal(after - before, ct->vmalloc_purge_area);
	vmm_vmalloc_to_page(m, a);
	assert_int_equal(vmm_cpu_cycles(m, 0, VMM_CYC_OTHER, &before), 0);
	assert_int_equal(before - after, ct->vmalloc_lookup);
	vmm_machine_destroy(&m);
}

/* ---- the seeded model test ---- */

/*
 * The reference model: the busy, lazily freed and free ranges as sorted
 * arrays of [start, end), and the rules: an allocation takes the lowest
 * free range where it fits (aligned), cut from it; a free moves the area to
 * the lazy set; the lazy set is purged (merged into the free set) when its
 * pages exceed lazy_max, or when an allocation finds no room (then it is
 * tried again).
 */
#define MODEL_MAX 4096

struct range {
	uint64_t start, end;
};

struct live {
	vmm_vaddr_t addr;
	uint64_t pages; /* mapped pages */
	uint64_t tag;
	uint64_t arr, arr_pages; /* a vmalloc'd page array: its area and size */
	bool guard;		 /* a guard page follows */
	bool vmap;
	bool put_pages;
	struct vmm_page *pgs[16];
};

struct model {
	vmm_machine *m;
	struct vmm_prng r;
	struct range free[MODEL_MAX];
	unsigned nr_free;
	struct range lazy[MODEL_MAX];
	unsigned nr_lazy;
	uint64_t lazy_pages, lazy_max;
	uint64_t live_pages, budget; /* pages held; above the budget only frees happen */
	struct live live[MODEL_MAX];
	unsigned nr_live;
	uint64_t allocs, frees, purges, vmaps;
};

static uint64_t rnd(struct model *md, uint64_t n)
{
	return vmm_prng_next(&md->r) % n;
}

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

/* Merge the lazy ranges into the free ones. */
static void model_purge(struct model *md)
{
	unsigned n = 0;

	if (!md->nr_lazy)
		return;
	for (unsigned i = 0; i < md->nr_lazy; i++)
		md->free[md->nr_free++] = md->lazy[i];
	md->nr_lazy = 0;
	md->lazy_pages = 0;
	qsort(md->free, md->nr_free, sizeof(md->free[0]), cmp_range);
	for (unsigned i = 0; i < md->nr_free; i++) {
		if (n && md->free[n - 1].end == md->free[i].start)
			md->free[n - 1].end = md->free[i].end;
		else
			md->free[n++] = md->free[i];
	}
	md->nr_free = n;
	md->purges++;
}

/* Where @size bytes (guard included) at @align go: the lowest fit, or 0. */
static uint64_t model_fit(struct model *md, uint64_t size, uint64_t align)
{
	for (unsigned i = 0; i < md->nr_free; i++) {
		uint64_t s = ALIGN_UP(md->free[i].start, align);

		if (s + size <= md->free[i].end)
			return s;
	}
	return 0;
}

/* The aligned start in the lowest free range that holds @size whatever the alignment. */
static uint64_t model_bound(struct model *md, uint64_t size, uint64_t align)
{
	for (unsigned i = 0; i < md->nr_free; i++)
		if (md->free[i].end - md->free[i].start >= size + align - 1)
			return ALIGN_UP(md->free[i].start, align);
	fail_msg("model: no free range of %#" PRIx64 " bytes", size + align - 1);
	return 0;
}

/* Cut [s, s + size) out of the free range holding it. */
static void model_take(struct model *md, uint64_t s, uint64_t size)
{
	for (unsigned i = 0; i < md->nr_free; i++) {
		struct range *f = &md->free[i];

		if (s < f->start || s + size > f->end)
			continue;
		if (s == f->start && s + size == f->end) {
			memmove(f, f + 1, (md->nr_free - i - 1) * sizeof(*f));
			md->nr_free--;
		} else if (s == f->start) {
			f->start += size;
		} else if (s + size == f->end) {
			f->end = s;
		} else {
			memmove(f + 1, f, (md->nr_free - i) * sizeof(*f));
			md->nr_free++;
			f->end = s;
			f[1].start = s + size;
		}
		return;
	}
	fail_msg("model: %#" PRIx64 "+%#" PRIx64 " is not free", s, size);
}

/* The address the allocator must return for @size (guard included), purging as it would. */
static uint64_t model_alloc(struct model *md, uint64_t size, uint64_t align)
{
	uint64_t s = model_fit(md, size, align);

	if (!s) {
		model_purge(md);
		s = model_fit(md, size, align);
	}
	assert_int_not_equal(s, 0);
	model_take(md, s, size);
	return s;
}

/* The tag in the first and last 8 bytes of every page (vmalloc areas) or of the area (vmap). */
static void stamp(struct model *md, const struct live *l, bool check)
{
	for (uint64_t p = 0; p < l->pages; p++) {
		uint64_t *h = vmm_kaddr_to_host(md->m, l->addr + p * PG);
		uint64_t want = l->tag + p;

		assert_non_null(h);
		if (check) {
			if (h[0] != want || h[PG / 8 - 1] != ~want)
				fail_msg("%#" PRIx64 " page %" PRIu64 " lost its contents", l->addr,
					 p);
		} else {
			h[0] = want;
			h[PG / 8 - 1] = ~want;
		}
	}
}

/* The area the allocator agrees with: the model's address, exact mapping. */
static void model_added(struct model *md, struct live *l, uint64_t want)
{
	struct vmm_vm_struct *vm;

	if (l->addr != want)
		fail_msg("allocation of %" PRIu64 " pages at %#" PRIx64
			 ", the model says %#" PRIx64,
			 l->pages, l->addr, want);
	vm = vmm_find_vm_area(md->m, l->addr);
	assert_non_null(vm);
	assert_int_equal(vm->nr_mapped, l->pages);
	l->tag = vmm_prng_next(&md->r);
	stamp(md, l, false);
	md->nr_live++;
	md->live_pages += l->pages + l->arr_pages;
}

/* A random size: mostly small, sometimes up to 2 MiB, rarely 12 MiB. */
static uint64_t random_pages(struct model *md)
{
	uint64_t k = rnd(md, 100);

	if (k < 70)
		return 1 + rnd(md, 8);
	if (k < 97)
		return 1 + rnd(md, 512);
	return 1 + rnd(md, 3072);
}

static void model_step(struct model *md)
{
	vmm_machine *m = md->m;
	uint64_t op = rnd(md, 100);

	if (md->live_pages > md->budget && op >= 8)
		op = 99; /* free */

	if (op < 5) {
		vmm_machine_set_current_cpu(m, (unsigned)rnd(md, m->nr_cpus));
	} else if (op < 8) {
		vmm_vm_unmap_aliases(m);
		model_purge(md);
	} else if (op < 50 && md->nr_live < MODEL_MAX / 4) {
		struct live *l = &md->live[md->nr_live];
		uint64_t pages = random_pages(md), kind = rnd(md, 6), want, align = PG, size;
		int nid = kind == 2 ? (int)rnd(md, m->nr_nodes) : VMM_NUMA_NO_NODE;

		memset(l, 0, sizeof(*l));
		l->pages = pages;
		l->guard = true;
		switch (kind) {
		case 0:
			l->addr = vmm_vmalloc(m, pages * PG - rnd(md, PG));
			break;
		case 1:
			l->addr = vmm_vzalloc(m, pages * PG);
			break;
		case 2:
			l->addr = vmm_vmalloc_node(m, pages * PG, nid);
			break;
		case 3:
			l->addr = vmm_vmalloc_user(m, pages * PG);
			break;
		default:
			/* aligned up to 1 MiB, sometimes without a guard (the internal entry) */
			align = PG << rnd(md, 9);
			l->guard = rnd(md, 4) != 0;
			l->addr = vmm_vmalloc_node_range(m, pages * PG, align, m->vmalloc.start,
							 m->vmalloc.end, VMM_GFP_KERNEL,
							 VMM_PAGE_KERNEL,
							 l->guard ? 0 : VMM_VM_NO_GUARD,
							 VMM_NUMA_NO_NODE, "model");
			break;
		}
		assert_int_not_equal(l->addr, 0);
		size = (pages + l->guard) * PG;
		if (align == PG) {
			want = model_alloc(md, size, PG);
		} else {
			/*
			 * Linux's search only enters subtrees holding a range of size +
			 * align - 1, so it may pass over a smaller range that happens
			 * to fit: the answer is some fitting range no higher than the
			 * lowest range that fits whatever its alignment.
			 */
			want = model_bound(md, size, align);
			assert_int_equal(l->addr % align, 0);
			if (l->addr > want)
				fail_msg("aligned allocation at %#" PRIx64 ", above %#" PRIx64,
					 l->addr, want);
			model_take(md, l->addr, size);
			want = l->addr;
		}
		if (pages * 8 > PG) {
			/* the page array, vmalloc'd right after the area, at the lowest fit */
			l->arr_pages = DIV_ROUND_UP(pages * 8, PG) + 1;
			l->arr = model_alloc(md, l->arr_pages * PG, PG);
			assert_int_equal(vmm_find_vm_area(m, l->addr)->pages_shadow, l->arr);
		}
		if (kind == 1 || kind == 3)
			for (uint64_t p = 0; p < pages; p++)
				assert_int_equal(
					*(uint64_t *)vmm_kaddr_to_host(m, l->addr + p * PG), 0);
		model_added(md, l, want);
		md->allocs++;
	} else if (op < 60 && md->nr_live < MODEL_MAX / 4) {
		struct live *l = &md->live[md->nr_live];
		uint64_t want;

		memset(l, 0, sizeof(*l));
		l->pages = 1 + rnd(md, 16);
		l->vmap = true;
		l->put_pages = rnd(md, 2);
		for (uint64_t i = 0; i < l->pages; i++)
			l->pgs[i] = vmm_alloc_pages(m, VMM_GFP_KERNEL, 0);
		l->guard = true;
		want = model_alloc(md, (l->pages + 1) * PG, PG);
		l->addr = vmm_vmap(m, l->pgs, (unsigned)l->pages,
				   VMM_VM_MAP | (l->put_pages ? VMM_VM_MAP_PUT_PAGES : 0),
				   VMM_PAGE_KERNEL);
		model_added(md, l, want);
		md->vmaps++;
	} else if (md->nr_live) {
		unsigned i = (unsigned)rnd(md, md->nr_live);
		struct live l = md->live[i];

		stamp(md, &l, true);
		md->live[i] = md->live[--md->nr_live];
		md->live_pages -= l.pages + l.arr_pages;
		if (l.vmap && !l.put_pages) {
			if (rnd(md, 2))
				vmm_vunmap(m, l.addr);
			else
				vmm_vfree(m, l.addr);
			for (uint64_t p = 0; p < l.pages; p++)
				vmm_free_pages(m, l.pgs[p], 0);
		} else {
			vmm_vfree(m, l.addr);
		}
		/* the area, then its page array, go lazy; one threshold check after both */
		md->lazy[md->nr_lazy++] =
			(struct range){ l.addr, l.addr + (l.pages + l.guard) * PG };
		md->lazy_pages += l.pages + l.guard;
		if (l.arr) {
			md->lazy[md->nr_lazy++] = (struct range){ l.arr, l.arr + l.arr_pages * PG };
			md->lazy_pages += l.arr_pages;
		}
		if (md->lazy_pages > md->lazy_max)
			model_purge(md);
		md->frees++;
	}
}

/* The model's view and the allocator's agree: ranges, counts, lazy pages. */
static void model_compare(struct model *md)
{
	const struct vmm_vmalloc *v = &md->m->vmalloc;
	const struct vmm_list *pos;
	unsigned i = 0;

	assert_int_equal(v->nr_free, md->nr_free);
	assert_int_equal(v->nr_lazy, md->nr_lazy);
	assert_int_equal(v->lazy_nr, md->lazy_pages);
	vmm_list_for_each(pos, &v->free_list) {
		const struct vmm_vmap_area *va = vmm_list_entry(pos, struct vmm_vmap_area, list);

		assert_int_equal(va->va_start, md->free[i].start);
		assert_int_equal(va->va_end, md->free[i].end);
		i++;
	}
}

static void run_model(const struct vmm_config *cfg, uint64_t seed, uint64_t ops)
{
	struct model *md = calloc(1, sizeof(*md));
	struct test_log tl = { 0 };
	struct vmm_config c = *cfg;

	assert_non_null(md);
	c.log_fn = test_log_hook;
	c.log_data = &tl;
	md->m = boot_cfg(&c);
	vmm_prng_seed(&md->r, seed);
	md->free[0] = (struct range){ md->m->vmalloc.start, md->m->vmalloc.end };
	md->nr_free = 1;
	md->lazy_max = info(md->m).lazy_max_pages;
	md->budget = vmm_totalram_pages(md->m) / 4;
	for (uint64_t k = 0; k < ops; k++) {
		model_step(md);
		if (vmm_machine_check(md->m, stdout))
			fail_msg("step %" PRIu64 ": the machine check failed", k);
		model_compare(md);
		assert_int_equal(tl.messages, 0);
	}
	printf("# %" PRIu64 " ops: %" PRIu64 " vmallocs, %" PRIu64 " vmaps, %" PRIu64
	       " frees, %" PRIu64 " purges (model), %" PRIu64 " (allocator), %" PRIu64 " splits\n",
	       ops, md->allocs, md->vmaps, md->frees, md->purges, info(md->m).purges,
	       info(md->m).splits);
	while (md->nr_live) {
		struct live l = md->live[--md->nr_live];

		stamp(md, &l, true);
		vmm_vfree(md->m, l.addr);
		if (l.vmap && !l.put_pages)
			for (uint64_t p = 0; p < l.pages; p++)
				vmm_free_pages(md->m, l.pgs[p], 0);
	}
	vmm_vm_unmap_aliases(md->m);
	assert_int_equal(info(md->m).nr_free, 1);
	assert_int_equal(info(md->m).used_pages, 0);
	assert_machine_healthy(md->m);
	vmm_machine_destroy(&md->m);
	free(md);
}

/*
 * Two nodes of 256 MiB (the checker walks every page descriptor each step:
 * a small machine keeps the test quick), 4 CPUs, so lazy_max_pages is 24576.
 */
static void test_model_random(void **state)
{
	struct vmm_config cfg;

	(void)state;
	vmm_config_init(&cfg);
	cfg.node_mem[0] = cfg.node_mem[1] = 256 * MiB;
	cfg.nr_holes = 2; /* [0, 4K) and [636K, 1M) */
	run_model(&cfg, test_seed(__func__, 20260611), test_ops(1500));
}

/* One node and CPU (lazy_max_pages 8192: purges come often), 5-level paging, lazy tables. */
static void test_model_random_small(void **state)
{
	struct vmm_config cfg;

	(void)state;
	vmm_config_init(&cfg);
	cfg.nodes = 1;
	cfg.node_mem[0] = 384 * MiB;
	cfg.nr_holes = 2;
	cfg.cpus = 1;
	cfg.paging_levels = 5;
	cfg.flags |= VMM_CFG_VMALLOC_LAZY;
	run_model(&cfg, test_seed(__func__, 7), test_ops(1500));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes_map_exactly),
		cmocka_unit_test(test_free_returns_everything),
		cmocka_unit_test(test_lowest_fit_reuses_holes),
		cmocka_unit_test(test_no_room_purges_and_retries),
		cmocka_unit_test(test_lazy_purge_flushes_tlbs),
		cmocka_unit_test(test_vmallocinfo),
		cmocka_unit_test(test_five_levels),
		cmocka_unit_test(test_vmap_vunmap),
		cmocka_unit_test(test_cpu_access),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_early_machine),
		cmocka_unit_test(test_lazy_mode_pgd_sync),
		cmocka_unit_test(test_highmem_pages),
		cmocka_unit_test(test_node_placement),
		cmocka_unit_test(test_out_of_memory),
		cmocka_unit_test(test_table_failure_mid_mapping),
		cmocka_unit_test(test_host_failures),
		cmocka_unit_test(test_cycles),
		cmocka_unit_test(test_model_random),
		cmocka_unit_test(test_model_random_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
