/* SPDX-License-Identifier: MIT */
/* The sparse memory map: present sections, pfn_valid, boot reservations, lazy descriptors. */
#include "test_util.h"

#include <sys/mman.h>
#include <unistd.h>

#include "machine.h"
#include "mm/buddy.h"
#include "mm/sparse.h"

static void test_sections_default_machine(void **state)
{
	struct vmm_config cfg;
	vmm_machine *m;
	struct vmm_page *pg;

	(void)state;
	vmm_config_init(&cfg);
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	/* [0, 3.5G) holds RAM: sections 0..27; the PCI hole [3.5G, 4G) is sections 28..31 */
	assert_int_equal(m->sparse.nr_sections, 32);
	assert_int_equal(m->sparse.nr_present_sections, 28);
	for (uint64_t sec = 0; sec < 32; sec++)
		assert_int_equal(m->sparse.sections[sec].present, sec < 28);
	assert_int_equal(m->sparse.sections[15].nid, 0);
	assert_int_equal(m->sparse.sections[16].nid, 1);
	/* 2 MiB of memory map per present section was reserved at boot */
	assert_int_equal(m->memmap_boot_pages, 28 * 512);

	/* pfn 0 is a hole inside a present section: it has a descriptor, marked reserved */
	assert_true(vmm_pfn_valid(m, 0));
	pg = vmm_pfn_to_page(m, 0);
	assert_non_null(pg);
	assert_true(vmm_page_flags(pg) & (1ull << VMM_PG_reserved));
	/* so does the EBDA/VGA hole, and the first megabyte's RAM (reserved by boot) */
	assert_true(vmm_page_flags(vmm_pfn_to_page(m, 0xa0)) & (1ull << VMM_PG_reserved));
	assert_true(vmm_page_flags(vmm_pfn_to_page(m, 0x10)) & (1ull << VMM_PG_reserved));
	/* the kernel image */
	assert_true(vmm_page_flags(vmm_pfn_to_page(m, 4096)) & (1ull << VMM_PG_reserved));
	assert_true(vmm_page_flags(vmm_pfn_to_page(m, 12287)) & (1ull << VMM_PG_reserved));
	assert_false(vmm_page_flags(vmm_pfn_to_page(m, 12288)) & (1ull << VMM_PG_reserved));
	/* node 0's pg_data_t at its top */
	assert_true(vmm_page_flags(vmm_pfn_to_page(m, 0x7ffd5)) & (1ull << VMM_PG_reserved));
	/* the PCI hole's sections have no descriptors at all */
	assert_false(vmm_pfn_valid(m, 0xe0000));
	assert_null(vmm_pfn_to_page(m, 0xe0000));
	assert_null(vmm_pfn_to_page(m, 0xfffff));
	assert_null(vmm_pfn_to_page(m, 0x100000));
	assert_false(vmm_pfn_valid(NULL, 1));
	vmm_machine_destroy(&m);
}

/*
 * Free memory's descriptors are never written at boot: only the heads of
 * free blocks and the reserved pages are. So the memory map's host pages
 * are mostly never touched.
 */
static void test_memmap_is_lazy(void **state)
{
	struct vmm_config cfg;
	vmm_machine *m;
	long pagesz = sysconf(_SC_PAGESIZE);
	size_t npages, resident = 0;
	unsigned char *vec;
	struct vmm_page *head, *tail;

	(void)state;
	vmm_config_init(&cfg);
	assert_int_equal(vmm_machine_create_early(&cfg, &m), 0);
	npages = (m->sparse.vmemmap_bytes + (size_t)pagesz - 1) / (size_t)pagesz;
	vec = malloc(npages);
	assert_non_null(vec);
	assert_int_equal(mincore(m->sparse.vmemmap, m->sparse.vmemmap_bytes, vec), 0);
	for (size_t i = 0; i < npages; i++)
		resident += vec[i] & 1;
	printf("# memory map: %zu of %zu host pages resident\n", resident, npages);
	assert_true(resident * 8 < npages);
	free(vec);

	/* an order-10 block head carries its order; its tail descriptors are blank */
	head = vmm_pfn_to_page(m, 262144);
	assert_int_equal(vmm_page_buddy_order(head), 10);
	assert_int_equal(vmm_page_type(head), VMM_PGTY_BUDDY);
	tail = vmm_pfn_to_page(m, 262145);
	assert_int_equal(vmm_page_buddy_order(tail), -1);
	assert_int_equal(vmm_page_flags(tail), 0);
	assert_int_equal(vmm_page_count(tail), 0);
	assert_int_equal(vmm_page_mapcount(tail), 0);
	vmm_machine_destroy(&m);
}

/* When a node cannot hold its whole memory map, each section's map goes where it fits. */
static void test_memmap_fallback_to_other_node(void **state)
{
	struct vmm_config cfg;
	vmm_machine *m;
	struct vmm_node_info n0, n1;

	(void)state;
	vmm_config_init(&cfg);
	cfg.nr_holes = 2;
	cfg.node_mem[0] = 1ull << 30;
	/* node 1: 2 MiB of RAM, in a section of its own: too small for pg_data_t + 2 MiB map */
	cfg.node_mem[1] = 2ull << 20;
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	assert_int_equal(vmm_node_info(m, 0, &n0), 0);
	assert_int_equal(vmm_node_info(m, 1, &n1), 0);
	/*
	 * node 1's pg_data_t (43 pages) fits; the usage map page too; its map went
	 * to node 0. Before them, node 1 (the top of memory) gave init_mm's 8
	 * boot tables: PGD, PUD, PMDs of GiB 0 and 1, the PTE table of [0, 2M),
	 * and the fixmap's PUD, PMD and PTE table.
	 */
	assert_int_equal(n1.node_present_pages, 512);
	assert_int_equal(n1.node_managed_pages, 512 - 44 - 8);
	assert_int_equal(m->memmap_boot_pages, 9 * 512);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sections_default_machine),
		cmocka_unit_test(test_memmap_is_lazy),
		cmocka_unit_test(test_memmap_fallback_to_other_node),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
