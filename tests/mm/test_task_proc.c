/* SPDX-License-Identifier: MIT */
/*
 * Tests of src/mm/task_proc.c: maps lines in Linux's format (widths, the
 * name at column 74, [heap], shared anonymous "/dev/zero (deleted)"), smaps
 * fields in Linux's order, pagemap bits (present, PFN, exclusive, soft-dirty,
 * nothing for holes) and the page-table dump.
 */
#include "mm/mm_test_util.h"

static void test_maps_format(void **state)
{
	vmm_machine *m = norand_machine();
	vmm_task *t = new_task(m);
	struct vmm_mm_info mi;
	vmm_vaddr_t b, x;
	char *s, want[256];

	(void)state;
	assert_int_equal(vmm_task_mm_info(t, &mi), 0);
	assert_int_equal(vmm_brk(t, mi.start_brk + 2 * PG, &b), 0);
	map_anon(t, 0, PG, RW, 0);
	assert_int_equal(vmm_mmap(t, 0, 2 * PG, VMM_PROT_READ, VMM_MAP_SHARED | VMM_MAP_ANONYMOUS,
				  NULL, 0, &x),
			 0);
	s = task_dump_string(t, VMM_TASK_DUMP_MAPS);
	snprintf(want, sizeof(want), "%" PRIx64 "-%" PRIx64 " rw-p 00000000 00:00 0%*s[heap]\n",
		 mi.start_brk, (uint64_t)(mi.start_brk + 2 * PG), 73 - 47, "");
	assert_non_null(strstr(s, want));
	assert_non_null(strstr(s, "7ffff7ffc000-7ffff7ffe000 r--s 00000000 00:01 1"));
	assert_non_null(strstr(s, "/dev/zero (deleted)\n"));
	assert_non_null(strstr(s, "7ffff7ffe000-7ffff7fff000 rw-p 00000000 00:00 0 \n"));
	free(s);
	s = task_dump_string(t, VMM_TASK_DUMP_SMAPS);
	assert_non_null(strstr(s, "Size:                  8 kB\nKernelPageSize:        4 kB\n"
				  "MMUPageSize:           4 kB\nRss:                   0 kB\n"));
	assert_non_null(strstr(s, "Private_Hugetlb:       0 kB\nSwap:                  0 kB\n"));
	assert_non_null(strstr(s, "VmFlags: rd sh mr mw me ms sd \n"));
	free(s);
	assert_int_equal(vmm_task_dump(t, VMM_TASK_DUMP_NR_KINDS, stdout), -VMM_EINVAL);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

static void test_pagemap_bits(void **state)
{
	vmm_machine *m = norand_machine();
	vmm_task *t = new_task(m);
	vmm_vaddr_t a = map_anon(t, 0, 2 * PG, RW, VMM_MAP_POPULATE);
	uint64_t e[4];
	char *s;

	(void)state;
	map_anon(t, 0, PG, RW, 0);
	assert_int_equal(vmm_task_pagemap(t, a - PG, 4, e), 0);
	/* not populated: soft-dirty only; populated: present, exclusive, a PFN */
	assert_int_equal(e[0], VMM_PM_SOFT_DIRTY);
	for (int i = 1; i < 3; i++) {
		assert_true(e[i] & VMM_PM_PRESENT);
		assert_true(e[i] & VMM_PM_MMAP_EXCLUSIVE);
		assert_true(e[i] & VMM_PM_SOFT_DIRTY);
		assert_true((e[i] & VMM_PM_PFN_MASK) != 0);
		assert_int_equal(vmm_page_mapcount(vmm_pfn_to_page(m, e[i] & VMM_PM_PFN_MASK)), 1);
	}
	/* above the last mapping: nothing */
	assert_int_equal(e[3], 0);
	assert_int_equal(vmm_task_pagemap(t, 1ull << 47, 1, e), -VMM_EINVAL);
	/* a read fault maps the zero page: present, but neither a file page nor exclusive */
	{
		vmm_cpu *cpu = vmm_machine_cpu(m, 0);
		struct vmm_access_result r;

		assert_int_equal(vmm_cpu_switch_to(cpu, t), 0);
		assert_int_equal(vmm_cpu_access(cpu, a - PG, 1, VMM_ACC_USER, &r), 0);
		assert_int_equal(r.faulted, 1);
		assert_int_equal(vmm_task_pagemap(t, a - PG, 1, e), 0);
		assert_true(e[0] & VMM_PM_PRESENT);
		assert_false(e[0] & (VMM_PM_FILE | VMM_PM_MMAP_EXCLUSIVE));
		assert_machine_healthy(m);
		assert_int_equal(vmm_cpu_switch_to(cpu, NULL), 0);
	}
	s = task_dump_string(t, VMM_TASK_DUMP_PAGETABLES);
	assert_non_null(strstr(s, "L4[255]"));
	assert_non_null(strstr(s, "      L1["));
	assert_non_null(strstr(s, " P RW US A D NX\n"));
	free(s);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps_format),
		cmocka_unit_test(test_pagemap_bits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
