/* SPDX-License-Identifier: MIT */
/*
 * Tests of src/mm/task.c: task creation (pids, names, the layout with and
 * without ASLR, reproducible by seed), rlimits, fork of a populated address
 * space (COW write protection, refcounts and mapcounts, anon_vma chains) and
 * exit leaving buddyinfo, slabinfo and meminfo as they were, and CPUs
 * switching between tasks with PCIDs chosen as Linux chooses them.
 */
#include "mm/mm_test_util.h"

#include "machine.h"
#include "mm/pgtable.h"
#include "mm/task.h"
#include "mm/vma.h"

static void test_create_and_layout(void **state)
{
	vmm_machine *m = default_machine(), *m2;
	vmm_task *a, *b, *c;
	struct vmm_mm_info ia, ib, ic;
	struct vmm_rlimit rl;

	(void)state;
	assert_int_equal(vmm_task_create(m, "a", &a), 0);
	assert_int_equal(vmm_task_create(m, "a-name-longer-than-fifteen", &b), 0);
	assert_int_equal(vmm_task_pid(a), 1);
	assert_int_equal(vmm_task_pid(b), 2);
	assert_string_equal(vmm_task_comm(b), "a-name-longer-t");
	assert_ptr_equal(vmm_task_machine(a), m);
	assert_int_equal(vmm_task_create(m, "", &c), -VMM_EINVAL);
	assert_null(c);
	assert_int_equal(vmm_task_create(m, "bad\nname", &c), -VMM_EINVAL);
	assert_int_equal(vmm_task_create(NULL, "x", &c), -VMM_EINVAL);
	/* ASLR on: different bases, inside Linux's range, page aligned */
	assert_int_equal(vmm_task_mm_info(a, &ia), 0);
	assert_int_equal(vmm_task_mm_info(b, &ib), 0);
	assert_true(ia.mmap_base != ib.mmap_base);
	assert_int_equal(ia.mmap_base & (PG - 1), 0);
	assert_true(ia.mmap_base <= NORAND_MMAP_BASE && ia.mmap_base >= NORAND_MMAP_BASE - (1ull << 40) - (16ull << 30));
	assert_true(ia.start_brk >= 0x555555554000ull && ia.start_brk < 0x555555554000ull + (32 << 20));
	/* the same seed gives the same layout */
	m2 = default_machine();
	assert_int_equal(vmm_task_create(m2, "a", &c), 0);
	assert_int_equal(vmm_task_mm_info(c, &ic), 0);
	assert_int_equal(ic.mmap_base, ia.mmap_base);
	assert_int_equal(ic.start_brk, ia.start_brk);
	vmm_machine_destroy(&m2); /* destroys c too */
	/* rlimits */
	assert_int_equal(vmm_task_getrlimit(a, VMM_RLIMIT_STACK, &rl), 0);
	assert_int_equal(rl.rlim_cur, 8 * MiB);
	assert_int_equal(vmm_task_getrlimit(a, 7, &rl), -VMM_EINVAL);
	assert_int_equal(vmm_task_setrlimit(a, VMM_RLIMIT_AS, &(struct vmm_rlimit){ 2, 1 }),
			 -VMM_EINVAL);
	/* exit leaves a zombie until destroy */
	assert_int_equal(vmm_task_exit(a), 0);
	assert_int_equal(vmm_task_exit(a), -VMM_ENOENT);
	assert_int_equal(vmm_task_mm_info(a, &ia), -VMM_ENOENT);
	assert_int_equal(vmm_munmap(a, 0x1000, PG), -VMM_EINVAL);
	assert_int_equal(vmm_task_pid(a), 1);
	vmm_task_destroy(&a);
	vmm_task_destroy(&a);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* Fork + exit of a populated task leaves buddyinfo, slabinfo and meminfo unchanged. */
static void test_fork_exit_leaves_no_trace(void **state)
{
	vmm_machine *m = norand_machine();
	vmm_task *p = new_task(m), *c;
	char *buddy, *slab, *mem, *s;
	vmm_vaddr_t a, b;

	(void)state;
	a = map_anon(p, 0, 256 * PG, RW, VMM_MAP_POPULATE);
	b = map_anon(p, 0, 64 * PG, RW, VMM_MAP_POPULATE);
	assert_int_equal(vmm_mprotect(p, b, 16 * PG, VMM_PROT_READ), 0);
	map_anon(p, 0, 32 * PG, VMM_PROT_READ, 0);
	/* a first fork and exit makes every cache's slabs exist: what follows must change nothing */
	assert_int_equal(vmm_task_fork(p, &c), 0);
	vmm_task_destroy(&c);
	vmm_drain_all_pages(m);
	buddy = dump_to_string(m, VMM_DUMP_BUDDYINFO);
	slab = dump_to_string(m, VMM_DUMP_SLABINFO);
	mem = dump_to_string(m, VMM_DUMP_MEMINFO);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(vmm_task_fork(p, &c), 0);
		assert_machine_healthy(m);
		assert_int_equal(vmm_munmap(c, a, 128 * PG), 0);
		assert_machine_healthy(m);
		vmm_task_destroy(&c);
		assert_machine_healthy(m);
	}
	vmm_drain_all_pages(m);
	s = dump_to_string(m, VMM_DUMP_BUDDYINFO);
	assert_string_equal(s, buddy);
	free(s);
	s = dump_to_string(m, VMM_DUMP_SLABINFO);
	assert_string_equal(s, slab);
	free(s);
	s = dump_to_string(m, VMM_DUMP_MEMINFO);
	assert_string_equal(s, mem);
	free(s);
	free(buddy);
	free(slab);
	free(mem);
	/* and the parent's exit gives back everything it had */
	vmm_task_destroy(&p);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* After fork: the same frames, write-protected in both, refcount and mapcount 2. */
static void test_fork_cow(void **state)
{
	vmm_machine *m = norand_machine();
	vmm_task *p = new_task(m), *c;
	vmm_vaddr_t a = map_anon(p, 0, 4 * PG, RW, VMM_MAP_POPULATE);
	uint64_t pp[4], pc[4];
	struct vmm_vma_info vi;

	(void)state;
	assert_int_equal(vmm_task_pagemap(p, a, 4, pp), 0);
	for (int i = 0; i < 4; i++) {
		assert_true(pp[i] & VMM_PM_PRESENT);
		assert_true(pp[i] & VMM_PM_MMAP_EXCLUSIVE);
		assert_false(pp[i] & VMM_PM_FILE);
		assert_true(vmm_user_pte(p->mm, a + (uint64_t)i * PG) & VMM_PTE_RW);
	}
	assert_int_equal(vmm_task_fork(p, &c), 0);
	assert_int_equal(vmm_task_pagemap(c, a, 4, pc), 0);
	for (int i = 0; i < 4; i++) {
		struct vmm_page *pg = vmm_pfn_to_page(m, pc[i] & VMM_PM_PFN_MASK);

		assert_int_equal(pc[i] & VMM_PM_PFN_MASK, pp[i] & VMM_PM_PFN_MASK);
		assert_false(pc[i] & VMM_PM_MMAP_EXCLUSIVE);
		assert_int_equal(vmm_page_count(pg), 2);
		assert_int_equal(vmm_page_mapcount(pg), 2);
		assert_false(vmm_user_pte(p->mm, a + (uint64_t)i * PG) & VMM_PTE_RW);
		assert_false(vmm_user_pte(c->mm, a + (uint64_t)i * PG) & VMM_PTE_RW);
	}
	/* the child's VMA has its own anon_vma chained to the parent's */
	assert_int_equal(vmm_find_vma(c, a, &vi), 0);
	assert_int_equal(vi.anon, 1);
	assert_int_equal(vmm_anon_vma_chain_len(c, a), 2);
	/* mprotect keeps shared pages read-only: they still need a copy */
	assert_int_equal(vmm_mprotect(p, a, 4 * PG, VMM_PROT_READ), 0);
	assert_int_equal(vmm_mprotect(p, a, 4 * PG, RW), 0);
	assert_false(vmm_user_pte(p->mm, a) & VMM_PTE_RW);
	vmm_task_destroy(&c);
	/* the pages are the parent's alone again: a rights change may make them writable */
	assert_int_equal(vmm_mprotect(p, a, 4 * PG, VMM_PROT_READ), 0);
	assert_int_equal(vmm_mprotect(p, a, 4 * PG, RW), 0);
	assert_true(vmm_user_pte(p->mm, a) & VMM_PTE_RW);
	assert_machine_healthy(m);
	vmm_task_destroy(&p);
	vmm_machine_destroy(&m);
}

/* smaps figures of private and shared pages after fork. */
static void test_smaps_after_fork(void **state)
{
	vmm_machine *m = norand_machine();
	vmm_task *p = new_task(m), *c;
	vmm_vaddr_t a = map_anon(p, 0, 8 * PG, RW, VMM_MAP_POPULATE);
	char *buf;

	(void)state;
	assert_int_equal(vmm_task_fork(p, &c), 0);
	/* the child drops half: those pages are the parent's alone again */
	assert_int_equal(vmm_munmap(c, a, 4 * PG), 0);
	buf = task_dump_string(p, VMM_TASK_DUMP_SMAPS);
	assert_non_null(strstr(buf, "Size:                 32 kB\n"));
	assert_non_null(strstr(buf, "Rss:                  32 kB\n"));
	assert_non_null(strstr(buf, "Pss:                  24 kB\n"));
	assert_non_null(strstr(buf, "Shared_Dirty:         16 kB\n"));
	assert_non_null(strstr(buf, "Private_Dirty:        16 kB\n"));
	assert_non_null(strstr(buf, "Anonymous:            32 kB\n"));
	assert_non_null(strstr(buf, "VmFlags: rd wr mr mw me ac sd \n"));
	free(buf);
	buf = task_dump_string(c, VMM_TASK_DUMP_SMAPS);
	assert_non_null(strstr(buf, "Rss:                  16 kB\nPss:                   8 kB\n"));
	free(buf);
	vmm_task_destroy(&c);
	vmm_task_destroy(&p);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* PCIDs: ASID + 1, reused without a flush while the mm's tlb_gen has not moved. */
static void test_switch_pcid(void **state)
{
	vmm_machine *m = norand_machine();
	vmm_cpu *cpu = vmm_machine_cpu(m, 0), *cpu1 = vmm_machine_cpu(m, 1);
	vmm_task *t[8];
	uint64_t cr3, cr4;
	struct vmm_cpu_stats st0, st1;

	(void)state;
	for (int i = 0; i < 8; i++)
		t[i] = new_task(m);
	/* without PCIDE: CR3 is the PGD */
	assert_int_equal(vmm_cpu_switch_to(cpu, t[0]), 0);
	assert_int_equal(vmm_cpu_get_reg(cpu, VMM_REG_CR3, &cr3), 0);
	assert_int_equal(cr3, t[0]->mm->pgd);
	assert_ptr_equal(vmm_cpu_current_task(cpu), t[0]);
	assert_int_equal(vmm_cpu_switch_to(cpu, NULL), 0);
	assert_int_equal(vmm_cpu_get_reg(cpu, VMM_REG_CR4, &cr4), 0);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR4, cr4 | VMM_CR4_PCIDE), 0);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(vmm_cpu_switch_to(cpu, t[i]), 0);
		assert_int_equal(vmm_cpu_get_reg(cpu, VMM_REG_CR3, &cr3), 0);
		assert_int_equal(cr3 & 0xfff, (uint64_t)i + 1);
	}
	/* t[1] still holds ASID 1: no flush */
	assert_int_equal(vmm_cpu_switch_to(cpu, t[1]), 0);
	assert_int_equal(vmm_cpu_get_reg(cpu, VMM_REG_CR3, &cr3), 0);
	assert_int_equal(cr3 & 0xfff, 2);
	/* the seventh mm takes the next ASID round robin: ASID 0, t[0]'s */
	assert_int_equal(vmm_cpu_switch_to(cpu, t[6]), 0);
	assert_int_equal(vmm_cpu_get_reg(cpu, VMM_REG_CR3, &cr3), 0);
	assert_int_equal(cr3 & 0xfff, 1);
	/* a shootdown reaches the other CPU running the mm */
	assert_int_equal(vmm_cpu_switch_to(cpu1, t[6]), 0);
	map_anon(t[6], 0, PG, RW, VMM_MAP_POPULATE);
	assert_int_equal(vmm_cpu_stats(cpu1, &st1), 0);
	assert_int_equal(vmm_cpu_stats(cpu, &st0), 0);
	assert_int_equal(vmm_munmap(t[6], NORAND_MMAP_BASE - PG, PG), 0);
	{
		struct vmm_cpu_stats a0, a1;

		assert_int_equal(vmm_cpu_stats(cpu1, &a1), 0);
		assert_int_equal(vmm_cpu_stats(cpu, &a0), 0);
		assert_int_equal(a1.shootdowns_received + a0.shootdowns_received,
				 st1.shootdowns_received + st0.shootdowns_received + 1);
	}
	/* exit switches the CPUs running it back to init_mm */
	vmm_task_destroy(&t[6]);
	assert_null(vmm_cpu_current_task(cpu1));
	assert_int_equal(vmm_cpu_get_reg(cpu1, VMM_REG_CR3, &cr3), 0);
	assert_int_equal(cr3 & VMM_PTE_ADDR_MASK, m->init_mm.pgd_pa);
	assert_int_equal(vmm_cpu_switch_to(NULL, t[0]), -VMM_EINVAL);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* Equal calls give equal digests; a different VMA layout a different one. */
static void test_digest(void **state)
{
	uint64_t d[3];

	(void)state;
	for (int i = 0; i < 3; i++) {
		vmm_machine *m = default_machine();
		vmm_task *t = new_task(m), *c;
		vmm_vaddr_t a = map_anon(t, 0, 8 * PG, RW, VMM_MAP_POPULATE);

		assert_int_equal(vmm_mprotect(t, a + (i == 2 ? PG : 0), PG, VMM_PROT_READ), 0);
		assert_int_equal(vmm_task_fork(t, &c), 0);
		d[i] = vmm_machine_digest(m);
		vmm_machine_destroy(&m);
	}
	assert_int_equal(d[0], d[1]);
	assert_true(d[0] != d[2]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_and_layout),
		cmocka_unit_test(test_fork_exit_leaves_no_trace),
		cmocka_unit_test(test_fork_cow),
		cmocka_unit_test(test_smaps_after_fork),
		cmocka_unit_test(test_switch_pcid),
		cmocka_unit_test(test_digest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
