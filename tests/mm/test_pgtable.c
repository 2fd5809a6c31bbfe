/* SPDX-License-Identifier: MIT */
/*
 * Tests of src/mm/pgtable.c: the PGD shares init_mm's kernel half, table
 * pages are counted in NR_PAGETABLE and VmPTE and freed when munmap empties
 * them, MAP_POPULATE installs zeroed pages the CPU can read through CR3,
 * mprotect rewrites the PTEs (PROT_NONE keeps the frame behind a
 * not-present entry), mremap moves them, and vmm_machine_check() notices a
 * PTE outside every VMA or with rights wider than its VMA's.
 */
#include "mm/mm_test_util.h"

#include "machine.h"
#include "mm/pgtable.h"
#include "mm/vmstat.h"

static uint64_t nr_pagetable(vmm_machine *m)
{
	return vmm_global_node_page_state(m, NR_PAGETABLE);
}

static void test_tables_accounted_and_freed(void **state)
{
	vmm_machine *m = norand_machine();
	uint64_t before = nr_pagetable(m);
	vmm_task *t = new_task(m);
	struct vmm_mm_info mi;
	vmm_vaddr_t a;
	const uint64_t *pgd, *kpgd;

	(void)state;
	/* the PGD: one table, its kernel half a copy of init_mm's */
	assert_int_equal(nr_pagetable(m), before + 1);
	pgd = vmm_phys_to_host(m, t->mm->pgd);
	kpgd = vmm_phys_to_host(m, m->init_mm.pgd_pa);
	assert_memory_equal(pgd + m->init_mm.layout.kernel_pgd_index, kpgd + m->init_mm.layout.kernel_pgd_index,
			    (512 - m->init_mm.layout.kernel_pgd_index) * sizeof(uint64_t));
	/* one populated page needs PUD, PMD and PTE tables */
	a = map_anon(t, 0, PG, RW, VMM_MAP_POPULATE);
	assert_int_equal(nr_pagetable(m), before + 4);
	assert_int_equal(vmm_task_mm_info(t, &mi), 0);
	assert_int_equal(mi.pgtables_bytes, 4 * PG);
	/* a second page in the same 2 MiB needs nothing more */
	map_anon(t, a - PG, PG, RW, VMM_MAP_POPULATE | VMM_MAP_FIXED);
	assert_int_equal(nr_pagetable(m), before + 4);
	/* unmapping everything frees the empty tables */
	assert_int_equal(vmm_munmap(t, a - PG, 2 * PG), 0);
	assert_int_equal(nr_pagetable(m), before + 1);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	assert_int_equal(nr_pagetable(m), before);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void test_populate_and_access(void **state)
{
	vmm_machine *m = norand_machine();
	vmm_task *t = new_task(m);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	vmm_vaddr_t a = map_anon(t, 0, 4 * PG, RW, VMM_MAP_POPULATE);
	struct vmm_access_result r;
	uint64_t pte, v = 0x1234;
	char buf[64];

	(void)state;
	assert_int_equal(vmm_cpu_switch_to(cpu, t), 0);
	/* zeroed, readable and writable from user mode */
	assert_int_equal(vmm_cpu_read(cpu, a + 100, buf, sizeof(buf), VMM_ACC_USER, &r), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(vmm_cpu_write(cpu, a + PG, &v, sizeof(v), VMM_ACC_USER, &r), 0);
	/* read-only: a write faults (no handler: SIGSEGV) */
	assert_int_equal(vmm_mprotect(t, a, 4 * PG, VMM_PROT_READ), 0);
	pte = vmm_user_pte(t->mm, a);
	assert_true(pte & VMM_PTE_PRESENT);
	assert_false(pte & VMM_PTE_RW);
	assert_true(pte & VMM_PTE_NX);
	assert_int_equal(vmm_cpu_access(cpu, a + PG, 8, VMM_ACC_WRITE | VMM_ACC_USER, &r), 0);
	assert_int_equal(r.signal, 11);
	/* PROT_NONE: not present to the MMU, the frame kept */
	assert_int_equal(vmm_mprotect(t, a, 4 * PG, VMM_PROT_NONE), 0);
	pte = vmm_user_pte(t->mm, a);
	assert_false(pte & VMM_PTE_PRESENT);
	assert_true(pte & VMM_PTE_ADDR_MASK);
	assert_machine_healthy(m);
	assert_int_equal(vmm_mprotect(t, a, 4 * PG, RW), 0);
	assert_int_equal(vmm_cpu_read(cpu, a + PG, &v, sizeof(v), VMM_ACC_USER, &r), 0);
	assert_int_equal(v, 0x1234);
	/* mremap carries the page along */
	assert_int_equal(vmm_mremap(t, a, 4 * PG, 4 * PG, VMM_MREMAP_MAYMOVE | VMM_MREMAP_FIXED,
				    0x50000000ull, &a),
			 0);
	v = 0;
	assert_int_equal(vmm_cpu_read(cpu, a + PG, &v, sizeof(v), VMM_ACC_USER, &r), 0);
	assert_int_equal(v, 0x1234);
	/* MADV_DONTNEED drops it: zero again (once the fault path exists; now: unmapped) */
	assert_int_equal(vmm_madvise(t, a, 4 * PG, VMM_MADV_DONTNEED), 0);
	assert_int_equal(vmm_user_pte(t->mm, a + PG), 0);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

static void test_check_finds_bad_ptes(void **state)
{
	vmm_machine *m = norand_machine();
	vmm_task *t = new_task(m);
	vmm_vaddr_t a = map_anon(t, 0, 2 * PG, VMM_PROT_READ | VMM_PROT_WRITE, VMM_MAP_POPULATE);
	uint64_t *slot, saved;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;

	(void)state;
	assert_int_equal(vmm_mprotect(t, a, 2 * PG, VMM_PROT_READ), 0);
	/* forge a PTE with RW in a read-only VMA */
	{
		uint64_t pte = vmm_user_pte(t->mm, a);
		const uint64_t *pgd = vmm_phys_to_host(m, t->mm->pgd);
		uint64_t *tab = (uint64_t *)pgd;

		for (unsigned l = 4; l > 1; l--)
			tab = vmm_phys_to_host(m, tab[(a >> (12 + 9 * (l - 1))) & 511] & VMM_PTE_ADDR_MASK);
		slot = &tab[(a >> 12) & 511];
		assert_int_equal(*slot, pte);
	}
	saved = *slot;
	*slot |= VMM_PTE_RW;
	out = open_memstream(&buf, &len);
	assert_true(vmm_machine_check(m, out) > 0);
	fclose(out);
	assert_non_null(strstr(buf, "rights wider than the VMA's"));
	free(buf);
	*slot = saved;
	assert_machine_healthy(m);
	/* a mapcount that does not match the PTEs */
	{
		struct vmm_page *pg = vmm_pfn_to_page(m, (saved & VMM_PTE_ADDR_MASK) >> 12);

		buf = NULL;
		pg->mapcount++;
		out = open_memstream(&buf, &len);
		assert_true(vmm_machine_check(m, out) > 0);
		fclose(out);
		assert_non_null(strstr(buf, "mapped by 1 PTEs, mapcount 2"));
		free(buf);
		pg->mapcount--;
	}
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_accounted_and_freed),
		cmocka_unit_test(test_populate_and_access),
		cmocka_unit_test(test_check_finds_bad_ptes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
