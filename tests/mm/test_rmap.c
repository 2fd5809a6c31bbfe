/* SPDX-License-Identifier: MIT */
/*
 * Tests of src/mm/rmap.c's vmm_put_user_page(): a reference that outlives
 * the last mapping of an anonymous page (as a get_user_pages() pin does)
 * keeps the page whole when munmap drops the mapping's reference, and the
 * last put takes the page off the LRU counters and frees it; a page with no
 * mapping and two more holders loses one count per put and is freed by the
 * last. vmm_machine_check() after every step.
 */
#include "mm/mm_test_util.h"

#include "machine.h"
#include "mm/rmap.h"
#include "mm/vmstat.h"

static uint64_t inactive_anon(vmm_machine *m)
{
	return vmm_global_node_page_state(m, NR_INACTIVE_ANON);
}

static void test_pinned_anon_page_outlives_munmap(void **state)
{
	vmm_machine *m = norand_machine();
	vmm_task *t = new_task(m);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	struct vmm_access_result r;
	struct vmm_page *p;
	uint64_t lru;
	vmm_vaddr_t a;

	(void)state;
	assert_int_equal(vmm_cpu_switch_to(cpu, t), 0);
	lru = inactive_anon(m);
	a = map_anon(t, 0, PG, RW, 0);
	assert_int_equal(vmm_cpu_access(cpu, a, 1, VMM_ACC_USER | VMM_ACC_WRITE, &r), 0);
	p = vmm_pfn_to_page(m, r.paddr >> VMM_PAGE_SHIFT);
	assert_non_null(p);
	assert_true(page_anon(p));
	assert_int_equal(inactive_anon(m), lru + 1);
	vmm_get_page(m, p);	/* the pin */
	assert_int_equal(vmm_page_count(p), 2);
	assert_machine_healthy(m);
	/* munmap drops the mapping and its reference; the pinned page stays anonymous */
	assert_int_equal(vmm_munmap(t, a, PG), 0);
	assert_int_equal(vmm_page_count(p), 1);
	assert_int_equal(vmm_page_mapcount(p), 0);
	assert_true(page_anon(p));
	assert_int_equal(inactive_anon(m), lru + 1);
	assert_machine_healthy(m);
	/* the pin's put is the last: off the LRU counters, freed */
	vmm_put_user_page(m, p);
	assert_int_equal(vmm_page_count(p), 0);
	assert_int_equal(inactive_anon(m), lru);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void test_shared_plain_page(void **state)
{
	vmm_machine *m = norand_machine();
	struct vmm_page *p = vmm_alloc_pages(m, VMM_GFP_HIGHUSER_MOVABLE, 0);

	(void)state;
	assert_non_null(p);
	vmm_get_page(m, p);
	vmm_get_page(m, p);
	vmm_put_user_page(m, p);
	assert_int_equal(vmm_page_count(p), 2);
	vmm_put_user_page(m, p);
	assert_int_equal(vmm_page_count(p), 1);
	assert_machine_healthy(m);
	vmm_put_user_page(m, p);
	assert_int_equal(vmm_page_count(p), 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pinned_anon_page_outlives_munmap),
		cmocka_unit_test(test_shared_plain_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
