/* SPDX-License-Identifier: MIT */
/*
 * Tests of src/mm/init_mm.c: the direct map translates PAGE_OFFSET + pa to
 * pa for sampled RAM frames with the page size the run's alignment allows
 * (and meminfo's DirectMap lines add up to RAM), holes stay unmapped, the
 * table frames are reserved page-table pages counted in nr_page_table_pages
 * and every CPU's CR3 holds the PGD; a CPL-0 access reads a frame's bytes
 * and a user access faults on U/S; the machine check notices a bad leaf.
 * Then the kernel half's layout, mappings made after boot and their TLB
 * flush, and the PGDs of address spaces sharing the kernel half, eagerly or
 * lazily (VMM_CFG_VMALLOC_LAZY).
 */
#include "test_util.h"

#include <string.h>

#include "lib/compiler.h"
#include "lib/prng.h"
#include "machine.h"
#include "mm/init_mm.h"
#include "mm/vmstat.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define SAMPLES 4000

/* A machine with @levels-level paging; @odd: three nodes of sizes that are not powers of two. */
static vmm_machine *boot(unsigned levels, bool odd)
{
	struct vmm_config cfg;
	vmm_machine *m;

	vmm_config_init(&cfg);
	cfg.paging_levels = levels;
	if (odd) {
		cfg.nodes = 3;
		cfg.cpus = 3;
		cfg.node_mem[0] = 1 * GiB + 6 * MiB;
		cfg.node_mem[1] = 2 * GiB + 514 * MiB;
		cfg.node_mem[2] = 770 * MiB;
	}
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	return m;
}

/* The maximal run of RAM holding @pa, from the e820 map; false when @pa is not RAM. */
static bool ram_run(vmm_machine *m, vmm_paddr_t pa, vmm_paddr_t *start, vmm_paddr_t *end)
{
	struct vmm_e820_entry e;
	unsigned i, n = 0;

	while (vmm_machine_e820(m, n, &e) == 0)
		n++;
	for (i = 0; i < n; i++) {
		assert_int_equal(vmm_machine_e820(m, i, &e), 0);
		if (pa >= e.start && pa < e.end)
			break;
	}
	if (i == n || e.type != VMM_E820_RAM)
		return false;
	*start = e.start;
	*end = e.end;
	for (unsigned j = i; j-- > 0;) {
		assert_int_equal(vmm_machine_e820(m, j, &e), 0);
		if (e.type != VMM_E820_RAM || e.end != *start)
			break;
		*start = e.start;
	}
	for (unsigned j = i + 1; j < n; j++) {
		assert_int_equal(vmm_machine_e820(m, j, &e), 0);
		if (e.type != VMM_E820_RAM || e.start != *end)
			break;
		*end = e.end;
	}
	return true;
}

/* The page shift the direct map must use at @pa: the largest aligned page inside its run. */
static unsigned expected_shift(vmm_machine *m, vmm_paddr_t pa)
{
	static const unsigned shifts[] = { 30, 21, 12 };
	vmm_paddr_t start, end;

	assert_true(ram_run(m, pa, &start, &end));
	for (unsigned i = 0; i < 3; i++) {
		vmm_paddr_t base = pa & ~((1ull << shifts[i]) - 1);

		if (base >= start && base + (1ull << shifts[i]) <= end)
			return shifts[i];
	}
	fail();
	return 0;
}

/* meminfo's value for @label, in kB. */
static uint64_t meminfo(vmm_machine *m, const char *label)
{
	char *s = dump_to_string(m, VMM_DUMP_MEMINFO), *line, *save = NULL;
	unsigned long long v = 0;
	int found = 0;

	for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, label, strlen(label)))
			found = sscanf(line + strlen(label), "%llu", &v);
	free(s);
	assert_int_equal(found, 1);
	return v;
}

static void check_direct_map(unsigned levels, bool odd, uint64_t seed_fallback)
{
	vmm_machine *m = boot(levels, odd);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	const vmm_vaddr_t base = vmm_page_offset(m);
	uint64_t ram = 0, by_shift_kb[3] = { 0 }, end_pa = 0, done = 0;
	struct vmm_e820_entry e;
	struct vmm_prng prng;
	char name[64];

	snprintf(name, sizeof(name), "direct map, %u levels%s", levels, odd ? ", odd nodes" : "");
	vmm_prng_seed(&prng, test_seed(name, seed_fallback));
	assert_int_equal(base, levels == 5 ? 0xff11000000000000ull : 0xffff888000000000ull);

	/* each RAM range's first and last page, and a page of each hole */
	for (unsigned i = 0; vmm_machine_e820(m, i, &e) == 0; i++) {
		vmm_paddr_t probe[2] = { e.start, e.end - VMM_PAGE_SIZE };

		end_pa = e.end;
		for (unsigned k = 0; k < 2; k++) {
			struct vmm_translation t;

			assert_int_equal(vmm_cpu_translate(cpu, base + probe[k], 0, &t), 0);
			if (e.type == VMM_E820_RAM) {
				assert_int_equal(t.fault, 0);
				assert_int_equal(t.paddr, probe[k]);
				assert_int_equal(t.page_shift, expected_shift(m, probe[k]));
			} else {
				assert_int_equal(t.fault, VMM_FAULT_PF);
				assert_int_equal(t.error_code & VMM_PF_P, 0);
			}
		}
		if (e.type == VMM_E820_RAM)
			ram += e.end - e.start;
	}
	/* random frames anywhere in the physical address space */
	for (unsigned i = 0; i < SAMPLES; i++) {
		vmm_paddr_t pa = (vmm_prng_next(&prng) % end_pa) & ~(VMM_PAGE_SIZE - 1);
		vmm_paddr_t s, en;
		struct vmm_translation t;

		pa |= vmm_prng_next(&prng) & (VMM_PAGE_SIZE - 8);
		assert_int_equal(vmm_cpu_translate(cpu, base + pa, VMM_ACC_WRITE, &t), 0);
		if (!ram_run(m, pa, &s, &en)) {
			assert_int_equal(t.fault, VMM_FAULT_PF);
			continue;
		}
		assert_int_equal(t.fault, 0);
		assert_int_equal(t.paddr, pa);
		assert_int_equal(t.page_shift, expected_shift(m, pa));
	}
	/* the DirectMap lines: what the runs' alignment gives, adding up to RAM */
	for (unsigned i = 0; vmm_machine_e820(m, i, &e) == 0; i++) {
		vmm_paddr_t s, en, pa;

		if (e.type != VMM_E820_RAM)
			continue;
		/* a page may run on into the next range (a node boundary inside a run) */
		for (pa = VMM_MAX(e.start, done); pa < e.end; done = pa) {
			unsigned sh = expected_shift(m, pa);

			assert_true(ram_run(m, pa, &s, &en));
			by_shift_kb[sh == 12 ? 0 : sh == 21 ? 1 : 2] += (1ull << sh) >> 10;
			pa = (pa & ~((1ull << sh) - 1)) + (1ull << sh);
		}
	}
	printf("# DirectMap4k %" PRIu64 " kB, 2M %" PRIu64 " kB, 1G %" PRIu64 " kB\n",
	       by_shift_kb[0], by_shift_kb[1], by_shift_kb[2]);
	assert_int_equal(meminfo(m, "DirectMap4k:"), by_shift_kb[0]);
	assert_int_equal(meminfo(m, "DirectMap2M:"), by_shift_kb[1]);
	assert_int_equal(meminfo(m, "DirectMap1G:"), by_shift_kb[2]);
	assert_int_equal(meminfo(m, "DirectMap4k:") + meminfo(m, "DirectMap2M:") +
				 meminfo(m, "DirectMap1G:"),
			 ram >> 10);
	assert_true(by_shift_kb[2] > 0 || odd);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void test_direct_map_4_level(void **state)
{
	(void)state;
	check_direct_map(4, false, 1);
}

static void test_direct_map_5_level(void **state)
{
	(void)state;
	check_direct_map(5, false, 2);
}

static void test_direct_map_odd_nodes_4_level(void **state)
{
	(void)state;
	check_direct_map(4, true, 3);
}

static void test_direct_map_odd_nodes_5_level(void **state)
{
	(void)state;
	check_direct_map(5, true, 4);
}

/* The tables are reserved page-table pages, counted; CR3 holds the PGD; the walk has its levels. */
static void test_tables_and_cr3(void **state)
{
	for (unsigned levels = 4; levels <= 5; levels++) {
		vmm_machine *m = boot(levels, false);
		struct vmm_page *pgd = vmm_pfn_to_page(m, m->init_mm.pgd_pa >> VMM_PAGE_SHIFT);
		struct vmm_walk w;
		uint64_t v;

		(void)state;
		assert_non_null(pgd);
		assert_int_equal(vmm_page_type(pgd), VMM_PGTY_TABLE);
		assert_true(vmm_page_flags(pgd) & (1ull << VMM_PG_reserved));
		/*
		 * From memblock: the direct map's PGD, P4D (5 levels), PUD, the PMDs of
		 * GiB 0 and 3 and the PTE table of [0, 2M); the fixmap's P4D (5 levels),
		 * PUD, PMD and PTE table under the last PGD entry. From the buddy
		 * allocator: the second-level table of each top-level entry of the
		 * vmalloc area, 64 x 512 GiB (4 levels) or 50 x 256 TiB (5 levels).
		 */
		assert_int_equal(m->init_mm.boot_tables, levels == 5 ? 6 + 4 : 5 + 3);
		assert_int_equal(m->init_mm.nr_tables,
				 m->init_mm.boot_tables + (levels == 5 ? 50 : 64));
		assert_int_equal(vmm_global_node_page_state(m, NR_PAGETABLE), m->init_mm.nr_tables);
		assert_int_equal(meminfo(m, "PageTables:"), m->init_mm.nr_tables * 4);
		for (unsigned c = 0; c < m->nr_cpus; c++) {
			assert_int_equal(vmm_cpu_get_reg(vmm_machine_cpu(m, c), VMM_REG_CR3, &v), 0);
			assert_int_equal(v, m->init_mm.pgd_pa);
		}
		assert_int_equal(vmm_cpu_walk(vmm_machine_cpu(m, 0), vmm_page_offset(m) + 2 * GiB, 0,
					      &w),
				 0);
		assert_int_equal(w.levels, levels);
		assert_int_equal(w.page_shift, 30);
		assert_int_equal(w.paddr, 2 * GiB);
		assert_machine_healthy(m);
		vmm_machine_destroy(&m);
	}
}

/* A CPL-0 access through the direct map reads the frame's bytes; a user access faults on U/S. */
static void test_kernel_access(void **state)
{
	vmm_machine *m = boot(4, false);
	vmm_cpu *cpu = vmm_machine_cpu(m, 1);
	struct vmm_page *pg = vmm_alloc_pages(m, VMM_GFP_KERNEL, 1);
	vmm_vaddr_t va;
	struct vmm_access_result r;
	uint8_t buf[2 * VMM_PAGE_SIZE], *host;

	(void)state;
	assert_non_null(pg);
	va = vmm_page_address(m, pg);
	host = vmm_kaddr_to_host(m, va);
	assert_non_null(host);
	for (unsigned i = 0; i < sizeof(buf); i++)
		host[i] = (uint8_t)(i * 13 + 5);
	/* the read crosses from one frame to the next */
	assert_int_equal(vmm_cpu_read(cpu, va + 100, buf, sizeof(buf) - 200, 0, &r), 0);
	assert_int_equal(r.faulted, 0);
	assert_int_equal(r.signal, 0);
	assert_int_equal(r.paddr, (vmm_page_to_pfn(m, pg) << VMM_PAGE_SHIFT) + 100);
	assert_memory_equal(buf, host + 100, sizeof(buf) - 200);
	assert_int_equal(vmm_cpu_access(cpu, va, 8, VMM_ACC_WRITE, &r), 0);
	assert_int_equal(r.signal, 0);
	assert_int_equal(r.paddr, vmm_page_to_pfn(m, pg) << VMM_PAGE_SHIFT);

	/* user mode: the leaf is supervisor-only (a user access to the kernel half: SEGV_MAPERR) */
	assert_int_equal(vmm_cpu_access(cpu, va, 8, VMM_ACC_USER, &r), 0);
	assert_int_equal(r.signal, VMM_SIGSEGV);
	assert_int_equal(r.si_code, VMM_SEGV_MAPERR);
	assert_int_equal(r.error_code, VMM_PF_P | VMM_PF_U);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CPL, 3), 0);
	assert_int_equal(vmm_cpu_access(cpu, va, 8, VMM_ACC_WRITE, &r), 0);
	assert_int_equal(r.signal, 11);
	assert_int_equal(r.error_code, VMM_PF_P | VMM_PF_U | VMM_PF_W);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CPL, 0), 0);
	/* and no instruction fetch from the direct map (NX): an oops */
	assert_int_equal(vmm_cpu_access(cpu, va, 1, VMM_ACC_EXEC, &r), 0);
	assert_int_equal(r.signal, VMM_SIGKILL);
	assert_int_equal(r.error_code, VMM_PF_P | VMM_PF_I);
	vmm_free_pages(m, pg, 1);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* The check notices a leaf that maps the wrong frame, and a table page that lost its type. */
static void test_check_finds_bad_direct_map(void **state)
{
	vmm_machine *m = boot(4, false);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	struct vmm_walk w;
	uint64_t *leaf, saved;
	struct vmm_page *pgd = vmm_pfn_to_page(m, m->init_mm.pgd_pa >> VMM_PAGE_SHIFT);

	(void)state;
	/* the 2 MiB leaf of [4M, 6M) */
	assert_int_equal(vmm_cpu_walk(cpu, vmm_page_offset(m) + 4 * MiB, 0, &w), 0);
	assert_int_equal(w.page_shift, 21);
	leaf = vmm_phys_to_host(m, w.level[w.depth - 1].entry_paddr);
	assert_non_null(leaf);
	saved = *leaf;
	*leaf = saved + 2 * MiB;
	assert_int_equal(vmm_machine_check(m, stdout), 1);
	*leaf = saved & ~VMM_PTE_NX;
	assert_int_equal(vmm_machine_check(m, stdout), 1);
	*leaf = saved;
	assert_machine_healthy(m);
	pgd->page_type = VMM_PGTY_NONE;
	assert_int_equal(vmm_machine_check(m, stdout), 1);
	pgd->page_type = VMM_PGTY_TABLE;
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* The kernel half's areas lie where Documentation/arch/x86/x86_64/mm.rst puts them. */
static void test_layout(void **state)
{
	for (unsigned levels = 4; levels <= 5; levels++) {
		vmm_machine *m = boot(levels, false);
		const struct vmm_kernel_layout *l = &m->init_mm.layout;

		(void)state;
		assert_int_equal(l->page_offset, vmm_page_offset(m));
		assert_int_equal(l->vmalloc_start, levels == 5 ? 0xffa0000000000000ull
							       : 0xffffc90000000000ull);
		/* VMALLOC_SIZE_TB: 32 TiB with 4 levels, 12800 TiB with 5 */
		assert_int_equal(l->vmalloc_end - l->vmalloc_start,
				 (levels == 5 ? 12800ull : 32ull) << 40);
		assert_int_equal(l->fixaddr_top, 0xffffffffff7ff000ull);
		assert_int_equal(vmm_fix_to_virt(&m->init_mm, VMM_FIX_KMAP_BEGIN),
				 0xffffffffff7fe000ull);
		assert_int_equal(l->nr_fixmap, 1 + VMM_KM_MAX_IDX * m->nr_cpus);
		assert_int_equal(l->fixaddr_start, vmm_fix_to_virt(&m->init_mm, l->nr_fixmap - 1));
		assert_int_equal(l->pkmap_base, 0);	/* no high memory */
		assert_int_equal(l->kernel_pgd_index, 256);
		assert_true(l->direct_map_end <= l->vmalloc_start);
		vmm_machine_destroy(&m);
	}
}

/* Boot made the PTE tables of every fixmap slot, so no later kmap_atomic allocates. */
static void test_fixmap_tables_exist(void **state)
{
	vmm_machine *m = boot(5, true);
	const struct vmm_kernel_layout *l = &m->init_mm.layout;
	uint64_t tables = m->init_mm.nr_tables;
	int err;

	(void)state;
	for (unsigned i = 0; i < l->nr_fixmap; i++) {
		uint64_t *pte = vmm_kernel_pte(m, vmm_fix_to_virt(&m->init_mm, i), false, &err);

		assert_non_null(pte);
		assert_int_equal(err, 0);
		assert_int_equal(*pte, 0);
	}
	assert_int_equal(m->init_mm.nr_tables, tables);
	vmm_machine_destroy(&m);
}

/*
 * What vmm_machine_check() finds while @va is mapped by hand in the vmalloc
 * area, outside every vmap_area: only the vmalloc checker's report of that
 * mapping and of the TLB entries made from it.
 */
static void assert_only_stray_vmalloc_mapping(vmm_machine *m, vmm_vaddr_t va)
{
	char *buf = NULL, *line, *save = NULL, hex[32];
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	long problems;

	assert_non_null(out);
	problems = vmm_machine_check(m, out);
	fclose(out);
	snprintf(hex, sizeof(hex), "%#" PRIx64, va);
	assert_true(problems >= 1);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "vmalloc: ", 9) || (!strstr(line, hex) && !strstr(line, "no area owns")))
			fail_msg("unexpected problem: %s", line);
	free(buf);
}

/*
 * A page mapped into the vmalloc area through vmm_kernel_pte() is read at
 * CPL 0; the tables made for it come from the buddy allocator and are
 * counted; after the PTE is cleared the stale TLB entry still translates
 * until vmm_flush_tlb_kernel_range() shoots it down on every CPU. (The
 * mapping belongs to no vmap_area, which the vmalloc checker reports.)
 */
static void test_kernel_pte_and_flush(void **state)
{
	vmm_machine *m = boot(4, false);
	const vmm_vaddr_t va = m->init_mm.layout.vmalloc_start + 5 * GiB + 7 * VMM_PAGE_SIZE;
	uint64_t tables = m->init_mm.nr_tables, pt = vmm_global_node_page_state(m, NR_PAGETABLE);
	struct vmm_page *pg = vmm_alloc_pages(m, VMM_GFP_KERNEL | VMM_GFP_ZERO, 0);
	vmm_paddr_t pa = vmm_page_to_pfn(m, pg) << VMM_PAGE_SHIFT;
	struct vmm_access_result r;
	uint64_t *pte, v = 0;
	int err;

	(void)state;
	assert_null(vmm_kernel_pte(m, va, false, &err));
	assert_int_equal(err, 0);
	pte = vmm_kernel_pte(m, va, true, &err);
	assert_non_null(pte);
	/* a PMD and a PTE table under the preallocated PUD */
	assert_int_equal(m->init_mm.nr_tables, tables + 2);
	assert_int_equal(vmm_global_node_page_state(m, NR_PAGETABLE), pt + 2);
	*pte = pa | VMM_PTE_PRESENT | VMM_PTE_RW | VMM_PTE_ACCESSED | VMM_PTE_DIRTY |
	       VMM_PTE_GLOBAL | VMM_PTE_NX;
	*(uint64_t *)vmm_kaddr_to_host(m, vmm_page_address(m, pg)) = 0x1234;
	/* the embedder reaches the bytes through either address */
	assert_ptr_equal(vmm_kaddr_to_host(m, va + 8), vmm_kaddr_to_host(m, vmm_page_address(m, pg) + 8));
	assert_null(vmm_kaddr_to_host(m, va + VMM_PAGE_SIZE));
	for (unsigned c = 0; c < m->nr_cpus; c++) {
		assert_int_equal(vmm_cpu_read(vmm_machine_cpu(m, c), va, &v, 8, 0, &r), 0);
		assert_int_equal(r.signal, 0);
		assert_int_equal(v, 0x1234);
	}
	assert_only_stray_vmalloc_mapping(m, va);
	*pte = 0;
	assert_null(vmm_kaddr_to_host(m, va));
	assert_int_equal(vmm_cpu_read(vmm_machine_cpu(m, 2), va, &v, 8, 0, &r), 0);
	assert_int_equal(r.signal, 0);	/* stale, but still in the TLB */
	vmm_flush_tlb_kernel_range(m, va, va + VMM_PAGE_SIZE);
	for (unsigned c = 0; c < m->nr_cpus; c++) {
		assert_int_equal(vmm_cpu_read(vmm_machine_cpu(m, c), va, &v, 8, 0, &r),
				 -VMM_EFAULT);
		assert_int_equal(r.signal, VMM_SIGKILL);	/* an oops */
	}
	/* not in the kernel half, or under a 1 GiB leaf of the direct map */
	assert_null(vmm_kernel_pte(m, 0x400000, true, &err));
	assert_int_equal(err, -VMM_EINVAL);
	assert_null(vmm_kernel_pte(m, vmm_page_offset(m) + 2 * GiB, true, &err));
	assert_int_equal(err, -VMM_EINVAL);
	vmm_free_pages(m, pg, 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* A leaf outside every area of the kernel half is reported. */
static void test_check_finds_stray_leaf(void **state)
{
	vmm_machine *m = boot(4, false);
	/* between the direct map's range and the vmalloc area */
	const vmm_vaddr_t va = m->init_mm.layout.vmalloc_start - 4 * GiB;
	uint64_t *pte;
	int err;

	(void)state;
	pte = vmm_kernel_pte(m, va, true, &err);
	assert_non_null(pte);
	*pte = 0x100000 | VMM_PTE_PRESENT;
	assert_int_equal(vmm_machine_check(m, stdout), 1);
	*pte = 0;
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* A new PGD shares init_mm's kernel half and gives its frame back; the check compares halves. */
static void test_pgd_alloc_shares_kernel_half(void **state)
{
	for (unsigned levels = 4; levels <= 5; levels++) {
		vmm_machine *m = boot(levels, false);
		uint64_t pt = vmm_global_node_page_state(m, NR_PAGETABLE), tables;
		vmm_paddr_t pgd;
		uint64_t *t, *ref = vmm_phys_to_host(m, m->init_mm.pgd_pa);

		(void)state;
		assert_int_equal(vmm_pgd_alloc(m, &pgd), 0);
		assert_int_equal(vmm_global_node_page_state(m, NR_PAGETABLE), pt + 1);
		t = vmm_phys_to_host(m, pgd);
		for (unsigned i = 0; i < 256; i++)
			assert_int_equal(t[i], 0);
		assert_memory_equal(t + 256, ref + 256, 256 * sizeof(uint64_t));
		assert_int_equal(vmm_pgd_check_kernel(m, pgd, stdout), 0);
		/* a kernel access through the new PGD reaches the direct map */
		assert_int_equal(vmm_cpu_set_reg(vmm_machine_cpu(m, 0), VMM_REG_CR3, pgd), 0);
		{
			struct vmm_access_result r;

			assert_int_equal(vmm_cpu_access(vmm_machine_cpu(m, 0),
							vmm_page_offset(m) + 3 * GiB, 8, 0, &r),
					 0);
			assert_int_equal(r.signal, 0);
			assert_int_equal(r.paddr, 3 * GiB);
		}
		/* a vmalloc mapping made now is seen through it: no top-level entry was added */
		tables = m->init_mm.nr_tables;
		assert_non_null(vmm_kernel_pte(m, m->init_mm.layout.vmalloc_start, true, NULL));
		tables = m->init_mm.nr_tables - tables;	/* PMD and PTE table (and PUD, 5 levels) */
		assert_int_equal(tables, levels == 5 ? 3 : 2);
		assert_int_equal(vmm_pgd_check_kernel(m, pgd, stdout), 0);
		t[300] ^= 1ull << 12;
		assert_int_equal(vmm_pgd_check_kernel(m, pgd, stdout), 1);
		t[300] ^= 1ull << 12;
		assert_int_equal(vmm_cpu_set_reg(vmm_machine_cpu(m, 0), VMM_REG_CR3,
						 m->init_mm.pgd_pa),
				 0);
		vmm_pgd_free(m, pgd);
		assert_int_equal(vmm_global_node_page_state(m, NR_PAGETABLE), pt + tables);
		assert_machine_healthy(m);
		vmm_machine_destroy(&m);
	}
}

/*
 * VMM_CFG_VMALLOC_LAZY: the vmalloc area has no top-level entries after
 * boot; one made later is missing from an older PGD (still a valid state
 * for the check) until vmm_pgd_sync_kernel() copies it from init_mm.
 */
static void test_lazy_vmalloc_sync(void **state)
{
	struct vmm_config cfg;
	vmm_machine *m;
	vmm_paddr_t pgd;
	uint64_t *t, *ref;
	vmm_vaddr_t va;
	unsigned idx;

	(void)state;
	vmm_config_init(&cfg);
	cfg.flags |= VMM_CFG_VMALLOC_LAZY;
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	va = m->init_mm.layout.vmalloc_start + (1ull << 39) * 3;
	idx = (unsigned)((va >> 39) & 511);
	/* the fixmap's tables only: 5 direct-map + 3 */
	assert_int_equal(m->init_mm.nr_tables, m->init_mm.boot_tables);
	assert_int_equal(vmm_pgd_alloc(m, &pgd), 0);
	t = vmm_phys_to_host(m, pgd);
	ref = vmm_phys_to_host(m, m->init_mm.pgd_pa);
	assert_int_equal(vmm_pgd_sync_kernel(m, pgd, va), -VMM_EFAULT);
	assert_non_null(vmm_kernel_pte(m, va, true, NULL));
	assert_true(ref[idx] & VMM_PTE_PRESENT);
	assert_int_equal(t[idx], 0);
	assert_int_equal(vmm_pgd_check_kernel(m, pgd, stdout), 0);
	assert_int_equal(vmm_pgd_sync_kernel(m, pgd, va), 0);
	assert_int_equal(t[idx], ref[idx]);
	assert_int_equal(m->init_mm.pgd_syncs, 1);
	assert_int_equal(vmm_pgd_sync_kernel(m, pgd, va + VMM_PAGE_SIZE), 0);
	assert_int_equal(m->init_mm.pgd_syncs, 1);
	assert_int_equal(vmm_pgd_sync_kernel(m, pgd, 0x1000), -VMM_EINVAL);
	vmm_pgd_free(m, pgd);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_direct_map_4_level),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_fixmap_tables_exist),
		cmocka_unit_test(test_kernel_pte_and_flush),
		cmocka_unit_test(test_check_finds_stray_leaf),
		cmocka_unit_test(test_pgd_alloc_shares_kernel_half),
		cmocka_unit_test(test_lazy_vmalloc_sync),
		cmocka_unit_test(test_direct_map_5_level),
		cmocka_unit_test(test_direct_map_odd_nodes_4_level),
		cmocka_unit_test(test_direct_map_odd_nodes_5_level),
		cmocka_unit_test(test_tables_and_cr3),
		cmocka_unit_test(test_kernel_access),
		cmocka_unit_test(test_check_finds_bad_direct_map),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
