/* SPDX-License-Identifier: MIT */
/* The /proc views, byte for byte where the figures are known, by shape elsewhere. */
#include "test_util.h"

#include <regex.h>
#include <string.h>

/* Linux 6.18's meminfo order, as the reference host prints it. */
static const char *const meminfo_fields[] = {
	"MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached", "Active",
	"Inactive", "Active(anon)", "Inactive(anon)", "Active(file)", "Inactive(file)",
	"Unevictable", "Mlocked", "SwapTotal", "SwapFree", "Zswap", "Zswapped", "Dirty",
	"Writeback", "AnonPages", "Mapped", "Shmem", "KReclaimable", "Slab", "SReclaimable",
	"SUnreclaim", "KernelStack", "PageTables", "SecPageTables", "NFS_Unstable", "Bounce",
	"WritebackTmp", "CommitLimit", "Committed_AS", "VmallocTotal", "VmallocUsed",
	"VmallocChunk", "Percpu", "AnonHugePages", "ShmemHugePages", "ShmemPmdMapped",
	"FileHugePages", "FilePmdMapped", "Balloon", "HugePages_Total", "HugePages_Free",
	"HugePages_Rsvd", "HugePages_Surp", "Hugepagesize", "Hugetlb", "DirectMap4k",
	"DirectMap2M", "DirectMap1G",
};

static void test_meminfo(void **state)
{
	vmm_machine *m = default_machine();
	char *s = dump_to_string(m, VMM_DUMP_MEMINFO), *line, *save = NULL;
	size_t i = 0;
	regex_t re;

	(void)state;
	/* label, padding to column 16, a value right-aligned in 8 (wider widens), " kB" */
	assert_int_equal(regcomp(&re, "^[A-Za-z0-9_()]+: +[0-9]+( kB)?$", REG_EXTENDED), 0);
	for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++) {
		size_t name_len = strlen(meminfo_fields[i]);

		assert_true(i < sizeof(meminfo_fields) / sizeof(meminfo_fields[0]));
		assert_int_equal(regexec(&re, line, 0, NULL, 0), 0);
		assert_memory_equal(line, meminfo_fields[i], name_len);
		assert_int_equal(line[name_len], ':');
		if (strlen(line) <= 16 + 8 + 3)
			assert_true(strlen(line) == 16 + 8 + 3 || strlen(line) == 16 + 8);
	}
	assert_int_equal(i, sizeof(meminfo_fields) / sizeof(meminfo_fields[0]));
	regfree(&re);
	free(s);

	s = dump_to_string(m, VMM_DUMP_MEMINFO);
	/* 3840 + 503764 + 387028 managed pages, all free */
	assert_non_null(strstr(s, "MemTotal:        3578528 kB\nMemFree:         3578528 kB\n"));
	assert_non_null(strstr(s, "VmallocTotal:   34359738367 kB\n"));
	assert_non_null(strstr(s, "HugePages_Total:       0\n"));
	assert_non_null(strstr(s, "Hugepagesize:       2048 kB\n"));
	/* CommitLimit: half of RAM with no swap */
	assert_non_null(strstr(s, "CommitLimit:     1789264 kB\n"));
	free(s);
	vmm_machine_destroy(&m);
}

static void test_zoneinfo(void **state)
{
	vmm_machine *m = default_machine();
	char *s = dump_to_string(m, VMM_DUMP_ZONEINFO);

	(void)state;
	/* the node's first populated zone carries the per-node stats */
	assert_non_null(strstr(s, "Node 0, zone      DMA\n  per-node stats\n      nr_inactive_anon 0\n"));
	assert_non_null(strstr(s, "Node 1, zone    DMA32\n  per-node stats\n"));
	assert_non_null(strstr(s, "        spanned  4095\n        present  3998\n        managed  3840\n        cma      0\n"));
	assert_non_null(strstr(s, "\n  pages free     3840\n        boost    0\n        min      "));
	assert_non_null(strstr(s, "      nr_free_pages 3840\n      nr_free_pages_blocks 3584\n"));
	/* an empty zone stops after its protection line */
	assert_non_null(strstr(s, "Node 0, zone   Normal\n  pages free     0\n"));
	assert_non_null(strstr(s, "        protection: (0, 0, 0, 0)\nNode 0, zone  Movable\n"));
	/* four CPUs' pagesets, then the tail */
	assert_non_null(strstr(s, "  pagesets\n    cpu: 0\n              count:    0\n              high:     0\n              batch:    "));
	assert_non_null(strstr(s, "    cpu: 3\n"));
	assert_non_null(strstr(s, "  node_unreclaimable:  0\n  start_pfn:           1\n"));
	assert_non_null(strstr(s, "  start_pfn:           524288\n"));
	free(s);
	vmm_machine_destroy(&m);
}

static void test_pagetypeinfo(void **state)
{
	vmm_machine *m = default_machine();
	char *s = dump_to_string(m, VMM_DUMP_PAGETYPEINFO);

	(void)state;
	assert_non_null(strstr(s, "Page block order: 9\nPages per block:  512\n\n"));
	assert_non_null(strstr(s, "Free pages count per migrate type at order       0      1      2"));
	/* pfn 256..511 lie in pageblock 0, whose first pfn is not in the zone: Unmovable */
	assert_non_null(strstr(s, "Node    0, zone      DMA, type    Unmovable      0      0      0      0      0      0      0      0      1      0      0 \n"));
	assert_non_null(strstr(s, "Node    0, zone      DMA, type      Movable      0      0      0      0      0      0      0      0      0      1      3 \n"));
	assert_non_null(strstr(s, "Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic          CMA      Isolate \n"));
	/* 8 pageblocks in DMA: the first Unmovable, 7 Movable, as on x86-64 Linux */
	assert_non_null(strstr(s, "Node 0, zone      DMA            1            7            0            0            0            0 \n"));
	/* node 0 DMA32: 520192 pages = 1016 pageblocks */
	assert_non_null(strstr(s, "Node 0, zone    DMA32            0         1016            0            0            0            0 \n"));
	free(s);
	vmm_machine_destroy(&m);
}

static void test_vmstat(void **state)
{
	vmm_machine *m = default_machine();
	char *s = dump_to_string(m, VMM_DUMP_VMSTAT);

	(void)state;
	assert_true(strncmp(s, "nr_free_pages 894632\nnr_free_pages_blocks ", 41) == 0);
	assert_non_null(strstr(s, "\nnuma_hit 0\nnuma_miss 0\n"));
	assert_non_null(strstr(s, "\nnr_memmap_boot_pages 14336\npgpgin 0\n"));
	assert_non_null(strstr(s, "\npgalloc_dma32 0\n"));
	assert_non_null(strstr(s, "\nswap_ra_hit 0\n"));
	free(s);
	vmm_machine_destroy(&m);
}

static void test_summary_and_bad_args(void **state)
{
	vmm_machine *m = default_machine();
	char *s = dump_to_string(m, VMM_DUMP_SUMMARY);
	struct vmm_trouble_counts tc;

	(void)state;
	assert_non_null(strstr(s, "BIOS-e820: [mem 0x0000000000100000-0x000000007fffffff] usable\n"));
	assert_non_null(strstr(s, "BIOS-e820: [mem 0x00000000e0000000-0x00000000ffffffff] reserved\n"));
	assert_non_null(strstr(s, "node distances:\nnode   0   1 \n  0:  10  21 \n  1:  21  10 \n"));
	free(s);
	assert_int_equal(vmm_dump(NULL, VMM_DUMP_MEMINFO, stdout), -VMM_EINVAL);
	assert_int_equal(vmm_dump(m, VMM_DUMP_MEMINFO, NULL), -VMM_EINVAL);
	assert_int_equal(vmm_dump(m, VMM_DUMP_NR_KINDS, stdout), -VMM_EINVAL);
	assert_int_equal(vmm_machine_trouble(m, &tc), 0);
	assert_int_equal(tc.caller, 2);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meminfo),
		cmocka_unit_test(test_zoneinfo),
		cmocka_unit_test(test_pagetypeinfo),
		cmocka_unit_test(test_vmstat),
		cmocka_unit_test(test_summary_and_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
