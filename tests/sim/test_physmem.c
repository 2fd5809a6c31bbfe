/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/sim/physmem.c: the e820 map built from the nodes and the
 * holes (through vmm_machine_e820() and directly), the node and RAM lookups,
 * and the host bytes behind simulated RAM (vmm_phys_to_host()).
 */
#include "test_util.h"

#include <string.h>

#include "lib/hostmem.h"
#include "sim/physmem.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

struct e820 {
	uint64_t start, end;
	uint32_t type, nid;
};

#define RAM VMM_E820_RAM
#define RSV VMM_E820_RESERVED

/* The log of every machine here; it outlives them. */
static struct test_log quiet_log;

static vmm_machine *boot(struct vmm_config *cfg)
{
	vmm_machine *m = NULL;
	int err;

	memset(&quiet_log, 0, sizeof(quiet_log));
	cfg->log_fn = test_log_hook;
	cfg->log_data = &quiet_log;
	err = vmm_machine_create(cfg, &m);
	if (err)
		fail_msg("boot failed: %d (%s): %s", err, vmm_strerror(err), quiet_log.last);
	assert_non_null(m);
	return m;
}

/* The machine's map must be exactly @want. */
static void expect_e820(vmm_machine *m, const struct e820 *want, unsigned n)
{
	struct vmm_e820_entry e;

	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(vmm_machine_e820(m, i, &e), 0);
		if (e.start != want[i].start || e.end != want[i].end || e.type != want[i].type ||
		    e.nid != want[i].nid)
			fail_msg("e820[%u] is [%#" PRIx64 ", %#" PRIx64 ") type %u node %u, "
				 "expected [%#" PRIx64 ", %#" PRIx64 ") type %u node %u",
				 i, e.start, e.end, e.type, e.nid, want[i].start, want[i].end,
				 want[i].type, want[i].nid);
	}
	memset(&e, 0x5a, sizeof(e));
	assert_int_equal(vmm_machine_e820(m, n, &e), -VMM_ENOENT);
}

/*
 * Properties every map has: entries in address order covering [0, end of
 * memory) without gaps, each inside one node's range, and no two neighbours
 * that could have been one entry.
 */
static void expect_e820_well_formed(vmm_machine *m)
{
	const struct vmm_config *cfg = vmm_machine_config(m);
	uint64_t node_start[VMM_MAX_NUMNODES], node_end[VMM_MAX_NUMNODES], pos = 0;
	struct vmm_e820_entry e, prev = { 0 };
	unsigned i;

	for (unsigned n = 0; n < cfg->nodes; n++) {
		node_start[n] = pos;
		pos += cfg->node_mem[n];
		node_end[n] = pos;
	}
	pos = 0;
	for (i = 0; vmm_machine_e820(m, i, &e) == 0; i++) {
		assert_int_equal(e.start, pos);
		assert_true(e.start < e.end);
		assert_true(e.type == RAM || e.type == RSV);
		assert_true(e.nid < cfg->nodes);
		assert_true(e.start >= node_start[e.nid] && e.end <= node_end[e.nid]);
		if (i > 0 && prev.type == e.type && prev.nid == e.nid)
			fail_msg("e820[%u] and e820[%u] should have been merged", i - 1, i);
		prev = e;
		pos = e.end;
	}
	assert_true(i > 0);
	assert_int_equal(pos, node_end[cfg->nodes - 1]);
}

static void test_default_map(void **state)
{
	static const struct e820 want[] = {
		{ 0, 0x1000, RSV, 0 },
		{ 0x1000, 0x9f000, RAM, 0 },
		{ 0x9f000, 0x100000, RSV, 0 },
		{ 0x100000, 0x80000000, RAM, 0 },
		{ 0x80000000, 0xe0000000, RAM, 1 },
		{ 0xe0000000, 0x100000000, RSV, 1 },
	};
	struct vmm_config cfg;
	struct vmm_e820_entry e;
	vmm_machine *m;

	(void)state;
	vmm_config_init(&cfg);
	m = boot(&cfg);
	expect_e820(m, want, 6);
	expect_e820_well_formed(m);
	assert_int_equal(vmm_machine_e820(m, 1000, &e), -VMM_ENOENT);
	assert_int_equal(vmm_machine_e820(m, UINT32_MAX, &e), -VMM_ENOENT);
	assert_int_equal(vmm_machine_e820(m, 0, NULL), -VMM_EINVAL);
	assert_int_equal(vmm_machine_e820(NULL, 0, &e), -VMM_EINVAL);
	vmm_machine_destroy(&m);
}

/* A hole across the node 0 / node 1 boundary becomes two entries, one per node. */
static void test_hole_straddles_nodes(void **state)
{
	static const struct e820 want[] = {
		{ 0, 0x1000, RSV, 0 },
		{ 0x1000, 0x9f000, RAM, 0 },
		{ 0x9f000, 0x100000, RSV, 0 },
		{ 0x100000, 0x7ff00000, RAM, 0 },
		{ 0x7ff00000, 0x80000000, RSV, 0 },
		{ 0x80000000, 0x80100000, RSV, 1 },
		{ 0x80100000, 0x100000000, RAM, 1 },
	};
	struct vmm_config cfg;
	struct vmm_node_info ni;
	vmm_machine *m;

	(void)state;
	vmm_config_init(&cfg);
	cfg.holes[2].start = 0x7ff00000;
	cfg.holes[2].end = 0x80100000;
	m = boot(&cfg);
	expect_e820(m, want, 7);
	expect_e820_well_formed(m);
	/* as in Linux, a node starts at its first RAM page */
	assert_int_equal(vmm_node_info(m, 1, &ni), 0);
	assert_int_equal(ni.node_start_pfn, 0x80100000 / VMM_PAGE_SIZE);
	vmm_machine_destroy(&m);
}

/* Holes given out of order, and adjacent ones, still make a sorted, merged map. */
static void test_unsorted_and_adjacent_holes(void **state)
{
	static const struct e820 want[] = {
		{ 0, 0x3000, RSV, 0 },
		{ 0x3000, 0x9f000, RAM, 0 },
		{ 0x9f000, 0x100000, RSV, 0 },
		{ 0x100000, 0x40000000, RAM, 0 },
		{ 0x40000000, 0x40001000, RSV, 0 },
		{ 0x40001000, 0x80000000, RAM, 0 },
		{ 0x80000000, 0x80200000, RSV, 1 },
		{ 0x80200000, 0xe0000000, RAM, 1 },
		{ 0xe0000000, 0x100000000, RSV, 1 },
	};
	struct vmm_config cfg;
	vmm_machine *m;

	(void)state;
	vmm_config_init(&cfg);
	cfg.nr_holes = 7;
	/* highest first, then the rest scattered */
	cfg.holes[0] = (struct vmm_phys_range){ 0xe0000000, 0x100000000 };
	cfg.holes[1] = (struct vmm_phys_range){ 0x80000000, 0x80200000 };
	cfg.holes[2] = (struct vmm_phys_range){ 0x2000, 0x3000 };
	cfg.holes[3] = (struct vmm_phys_range){ 0x40000000, 0x40001000 };
	cfg.holes[4] = (struct vmm_phys_range){ 0x9f000, 0x100000 };
	cfg.holes[5] = (struct vmm_phys_range){ 0, 0x1000 };
	cfg.holes[6] = (struct vmm_phys_range){ 0x1000, 0x2000 };
	m = boot(&cfg);
	expect_e820(m, want, 9);
	expect_e820_well_formed(m);
	vmm_machine_destroy(&m);
}

/* With no holes each node is one RAM entry, and a one-node map is a single entry. */
static void test_no_holes(void **state)
{
	struct vmm_config cfg;
	struct e820 want[4];
	vmm_machine *m;

	(void)state;
	vmm_config_init(&cfg);
	cfg.nodes = 4;
	cfg.nr_holes = 0;
	for (unsigned n = 0; n < 4; n++) {
		cfg.node_mem[n] = (n + 1) * 64 * MiB;
		want[n] = (struct e820){ n == 0 ? 0 : want[n - 1].end,
					 (n == 0 ? 0 : want[n - 1].end) + cfg.node_mem[n], RAM, n };
	}
	m = boot(&cfg);
	expect_e820(m, want, 4);
	expect_e820_well_formed(m);
	vmm_machine_destroy(&m);

	cfg.nodes = 1;
	m = boot(&cfg);
	expect_e820(m, want, 1);
	vmm_machine_destroy(&m);
}

/* Many nodes and the maximum number of holes, some on node boundaries. */
static void test_many_nodes_and_holes(void **state)
{
	struct vmm_config cfg;
	vmm_machine *m;

	(void)state;
	vmm_config_init(&cfg);
	cfg.nodes = 16;
	cfg.nr_holes = VMM_MAX_HOLES;
	cfg.kernel_image_size = 0;
	for (unsigned n = 0; n < cfg.nodes; n++)
		cfg.node_mem[n] = 8 * MiB;
	for (unsigned h = 0; h < VMM_MAX_HOLES; h++) {
		/* alternately a hole straddling boundary h+1, and one inside node h */
		uint64_t b = (h + 1) * 8 * MiB;

		if (h % 2 == 0)
			cfg.holes[h] = (struct vmm_phys_range){ b - 64 * 1024, b + 64 * 1024 };
		else
			cfg.holes[h] = (struct vmm_phys_range){ b - 4 * MiB, b - 3 * MiB };
	}
	cfg.holes[VMM_MAX_HOLES - 1] = (struct vmm_phys_range){ 0, 0x1000 };
	m = boot(&cfg);
	expect_e820_well_formed(m);
	vmm_machine_destroy(&m);
}

static void expect_not_ram(vmm_machine *m, vmm_paddr_t pa)
{
	if (vmm_phys_to_host(m, pa) != NULL)
		fail_msg("vmm_phys_to_host(%#" PRIx64 ") is not NULL", pa);
}

static void expect_ram(vmm_machine *m, vmm_paddr_t pa)
{
	if (vmm_phys_to_host(m, pa) == NULL)
		fail_msg("vmm_phys_to_host(%#" PRIx64 ") is NULL", pa);
}

static void test_phys_to_host_bounds(void **state)
{
	struct vmm_config cfg;
	vmm_machine *m;
	uint8_t *p;

	(void)state;
	vmm_config_init(&cfg);
	m = boot(&cfg);
	/* holes, every first and last byte */
	expect_not_ram(m, 0);
	expect_not_ram(m, 0xfff);
	expect_not_ram(m, 0x9f000);
	expect_not_ram(m, 0xa0000);
	expect_not_ram(m, 0xfffff);
	expect_not_ram(m, 0xe0000000);
	expect_not_ram(m, 0xffffffff);
	/* beyond memory */
	expect_not_ram(m, 0x100000000);
	expect_not_ram(m, 0x100000001);
	expect_not_ram(m, 1ull << 40);
	expect_not_ram(m, UINT64_MAX);
	/* RAM, every first and last byte */
	expect_ram(m, 0x1000);
	expect_ram(m, 0x9efff);
	expect_ram(m, 0x100000);
	expect_ram(m, 0x7fffffff);
	expect_ram(m, 0x80000000);
	expect_ram(m, 0xdfffffff);
	/* the kernel image and reserved low memory are RAM too */
	expect_ram(m, VMM_KERNEL_PHYS_START);
	/* one linear mapping */
	p = vmm_phys_to_host(m, 0x80000000);
	assert_ptr_equal(vmm_phys_to_host(m, 0x80000fff), p + 0xfff);
	assert_ptr_equal(vmm_phys_to_host(m, 0x80001000), p + 0x1000);
	assert_null(vmm_phys_to_host(NULL, 0x1000));
	vmm_machine_destroy(&m);

	/* a machine whose map ends in RAM */
	vmm_config_init(&cfg);
	cfg.nodes = 1;
	cfg.node_mem[0] = 64 * MiB;
	cfg.nr_holes = 2;
	m = boot(&cfg);
	expect_ram(m, 64 * MiB - 1);
	expect_not_ram(m, 64 * MiB);
	vmm_machine_destroy(&m);
}

static void test_phys_contents(void **state)
{
	const vmm_paddr_t written = 0x90000000, untouched = 0xa0000000;
	static const uint8_t zero[VMM_PAGE_SIZE];
	struct vmm_config cfg;
	vmm_machine *m, *other;
	uint8_t *p;

	(void)state;
	vmm_config_init(&cfg);
	m = boot(&cfg);
	other = boot(&cfg);

	/* untouched RAM reads as zero, on every node */
	assert_memory_equal(vmm_phys_to_host(m, untouched), zero, sizeof(zero));
	assert_memory_equal(vmm_phys_to_host(m, 0x1000), zero, sizeof(zero));
	/* (the top page of RAM, 0xdffff000, now holds init_mm's PGD) */
	assert_memory_equal(vmm_phys_to_host(m, 0xd0000000), zero, sizeof(zero));

	/* what is written through one pointer reads back through another */
	p = vmm_phys_to_host(m, written);
	for (unsigned i = 0; i < VMM_PAGE_SIZE; i++)
		p[i] = (uint8_t)(i * 7 + 1);
	p = vmm_phys_to_host(m, written + 100);
	for (unsigned i = 100; i < VMM_PAGE_SIZE; i++)
		assert_int_equal(p[i - 100], (uint8_t)(i * 7 + 1));
	/* the neighbouring frames are unaffected */
	assert_memory_equal(vmm_phys_to_host(m, written + VMM_PAGE_SIZE), zero, sizeof(zero));
	assert_memory_equal(vmm_phys_to_host(m, written - VMM_PAGE_SIZE), zero, sizeof(zero));
	/* and machines do not share memory */
	assert_memory_equal(vmm_phys_to_host(other, written), zero, sizeof(zero));

	/* the last byte of RAM is usable */
	*(uint8_t *)vmm_phys_to_host(other, 0xdfffffff) = 0xa5;
	assert_int_equal(*(uint8_t *)vmm_phys_to_host(other, 0xdfffffff), 0xa5);

	vmm_machine_destroy(&m);
	vmm_machine_destroy(&other);
}

/* The module on its own: node lookup, RAM lookup and host accounting. */
static void test_physmem_direct(void **state)
{
	struct vmm_config cfg;
	struct vmm_hostmem hm;
	struct vmm_physmem pm;

	(void)state;
	vmm_config_init(&cfg);
	cfg.nodes = 3;
	cfg.node_mem[0] = 2 * GiB;
	cfg.node_mem[1] = 4 * MiB;
	cfg.node_mem[2] = 6 * GiB;
	vmm_hostmem_init(&hm, NULL);
	assert_int_equal(vmm_physmem_init(&pm, &cfg, &hm), 0);
	assert_non_null(pm.base);
	assert_int_equal(pm.nr_nodes, 3);
	assert_int_equal(pm.end, 2 * GiB + 4 * MiB + 6 * GiB);
	/* the known-zero bitmap, one bit per frame in whole pages, follows the RAM in one mapping */
	assert_ptr_equal(pm.nonzero, pm.base + pm.end);
	assert_int_equal(hm.map_bytes % VMM_PAGE_SIZE, 0);
	assert_true(hm.map_bytes - pm.end >= (pm.end >> VMM_PAGE_SHIFT) / 8);
	assert_true(hm.map_bytes - pm.end < (pm.end >> VMM_PAGE_SHIFT) / 8 + VMM_PAGE_SIZE);

	assert_int_equal(vmm_physmem_nid(&pm, 0), 0);
	assert_int_equal(vmm_physmem_nid(&pm, 2 * GiB - 1), 0);
	assert_int_equal(vmm_physmem_nid(&pm, 2 * GiB), 1);
	assert_int_equal(vmm_physmem_nid(&pm, 2 * GiB + 4 * MiB - 1), 1);
	assert_int_equal(vmm_physmem_nid(&pm, 2 * GiB + 4 * MiB), 2);
	assert_int_equal(vmm_physmem_nid(&pm, pm.end - 1), 2);

	/* the PCI hole [3.5 GiB, 4 GiB) now lies in node 2 */
	assert_false(vmm_physmem_is_ram(&pm, 0));
	assert_true(vmm_physmem_is_ram(&pm, 0x1000));
	assert_true(vmm_physmem_is_ram(&pm, 2 * GiB));
	assert_true(vmm_physmem_is_ram(&pm, 0xdfffffff));
	assert_false(vmm_physmem_is_ram(&pm, 0xe0000000));
	assert_false(vmm_physmem_is_ram(&pm, 0xffffffff));
	assert_true(vmm_physmem_is_ram(&pm, 0x100000000));
	assert_true(vmm_physmem_is_ram(&pm, pm.end - 1));
	assert_false(vmm_physmem_is_ram(&pm, pm.end));
	/* the entry of an address: the hole's, and the RAM entries on either side */
	assert_null(vmm_physmem_e820(&pm, pm.end));
	assert_int_equal(vmm_physmem_e820(&pm, 0xe0000000)->type, VMM_E820_RESERVED);
	assert_int_equal(vmm_physmem_e820(&pm, 0xe0000000)->start, 0xe0000000);
	assert_int_equal(vmm_physmem_e820(&pm, 0xffffffff)->end, 0x100000000);
	assert_int_equal(vmm_physmem_e820(&pm, 0xdfffffff)->end, 0xe0000000);
	assert_int_equal(vmm_physmem_e820(&pm, 0xdfffffff)->type, VMM_E820_RAM);
	assert_int_equal(vmm_physmem_e820(&pm, 0x100000000)->start, 0x100000000);
	assert_ptr_equal(vmm_physmem_e820(&pm, pm.end - 1), &pm.e820[pm.nr_e820 - 1]);
	/* an entry lies in one node, the one it names (a data reference is priced by it) */
	for (unsigned i = 0; i < pm.nr_e820; i++) {
		assert_int_equal(vmm_physmem_nid(&pm, pm.e820[i].start), pm.e820[i].nid);
		assert_int_equal(vmm_physmem_nid(&pm, pm.e820[i].end - 1), pm.e820[i].nid);
	}
	for (unsigned i = 0; i < pm.nr_e820; i++)
		if (pm.e820[i].start >= 0xe0000000 && pm.e820[i].start < 0x100000000)
			assert_int_equal(pm.e820[i].nid, 2);
	/* a host pointer for reading leaves the frame known zero; one for writing marks it */
	assert_false(vmm_physmem_maybe_nonzero(&pm, 1));
	assert_ptr_equal(vmm_physmem_host_ro(&pm, 0x1234), pm.base + 0x1234);
	assert_false(vmm_physmem_maybe_nonzero(&pm, 1));
	assert_ptr_equal(vmm_physmem_host(&pm, 0x1234), pm.base + 0x1234);
	assert_true(vmm_physmem_maybe_nonzero(&pm, 1));
	assert_false(vmm_physmem_maybe_nonzero(&pm, 0));
	assert_false(vmm_physmem_maybe_nonzero(&pm, 2));
	vmm_physmem_mark_zero(&pm, 1);
	assert_false(vmm_physmem_maybe_nonzero(&pm, 1));
	/* a range marks every frame it touches, across a bitmap word, and no other */
	vmm_physmem_mark_range(&pm, 62 * VMM_PAGE_SIZE + 4095, 2 * VMM_PAGE_SIZE + 2);
	for (uint64_t pfn = 60; pfn < 70; pfn++)
		assert_int_equal(vmm_physmem_maybe_nonzero(&pm, pfn), pfn >= 62 && pfn <= 65);
	vmm_physmem_mark_range(&pm, 100 * VMM_PAGE_SIZE, 0);
	assert_false(vmm_physmem_maybe_nonzero(&pm, 100));
	/* the last frame has its bit */
	vmm_physmem_mark_pfn(&pm, (pm.end >> VMM_PAGE_SHIFT) - 1);
	assert_true(vmm_physmem_maybe_nonzero(&pm, (pm.end >> VMM_PAGE_SHIFT) - 1));

	vmm_physmem_destroy(&pm, &hm);
	assert_null(pm.base);
	assert_int_equal(hm.map_bytes, 0);
	assert_int_equal(hm.failures, 0);
}

/* When the host cannot map the address space, init fails cleanly. */
static void test_physmem_host_failure(void **state)
{
	const struct vmm_hostmem_inject fail_first = { .fail_nth = 1 };
	struct vmm_config cfg;
	struct vmm_hostmem hm;
	struct vmm_physmem pm;

	(void)state;
	vmm_config_init(&cfg);
	vmm_hostmem_init(&hm, &fail_first);
	assert_int_equal(vmm_physmem_init(&pm, &cfg, &hm), -VMM_ENOMEM);
	assert_null(pm.base);
	assert_int_equal(hm.failures, 1);
	assert_int_equal(hm.map_bytes, 0);
	vmm_physmem_destroy(&pm, &hm);
	assert_int_equal(hm.map_bytes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_map),
		cmocka_unit_test(test_hole_straddles_nodes),
		cmocka_unit_test(test_unsorted_and_adjacent_holes),
		cmocka_unit_test(test_no_holes),
		cmocka_unit_test(test_many_nodes_and_holes),
		cmocka_unit_test(test_phys_to_host_bounds),
		cmocka_unit_test(test_phys_contents),
		cmocka_unit_test(test_physmem_direct),
		cmocka_unit_test(test_physmem_host_failure),
	};

	return cmocka_run_group_tests_name("sim-physmem", tests, NULL, NULL);
}
