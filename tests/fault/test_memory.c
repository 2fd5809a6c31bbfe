/* SPDX-License-Identifier: MIT */
/*
 * handle_mm_fault and below for anonymous memory (src/fault/memory.c), with
 * the fault counts Linux's rules give:
 *  - writing N fresh pages: N minor faults, N pages of RSS, N pgfault;
 *  - reading N pages then writing them: 2N faults (the zero page, then a
 *    copy of it), no RSS until the writes;
 *  - fork, then writes on both sides: the first writer copies, the other
 *    then owns the page alone and reuses it; after the child exits the
 *    parent reuses at once; each side's data stays its own;
 *  - a COW on one CPU shoots down the old translation on another CPU
 *    running the same task;
 *  - MAP_POPULATE and mlock fault pages in through the same path (and count);
 *  - each new anonymous page (a write, a copy of the zero page, a locked
 *    mapping's page) moves the rmap and LRU counters by one, and exit
 *    moves them back;
 *  - mprotect, then a touch, faults as Linux does.
 */
#include "fault_test_util.h"

#include "mm/vmstat.h"

#define N 16u

static uint64_t pgfault(vmm_machine *m)
{
	return m->vm_events[VE_PGFAULT];
}

static void test_fresh_writes(void **state)
{
	vmm_machine *m = fault_machine(0, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	vmm_task *t = running_task(m, cpu, "writer");
	vmm_vaddr_t a = map_anon(t, 0, N * PG, RW, 0);
	uint64_t before = pgfault(m);
	(void)state;

	for (unsigned i = 0; i < N; i++) {
		struct vmm_access_result r = touch(cpu, a + i * PG + 8, VMM_ACC_WRITE);

		assert_int_equal(r.signal, 0);
		assert_int_equal(r.faulted, 1);
		assert_int_equal(task_stats(t).min_flt, i + 1);
		assert_int_equal(rss_anon(t), i + 1);
		assert_machine_healthy(m);
	}
	/* written pages do not fault again */
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(touch(cpu, a + i * PG, VMM_ACC_WRITE).faulted, 0);
	assert_int_equal(pgfault(m) - before, N);
	assert_int_equal(task_stats(t).maj_flt, 0);
	assert_int_equal(machine_stats(m).zero_page_maps, 0);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void test_read_then_write(void **state)
{
	vmm_machine *m = fault_machine(0, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 1);
	vmm_task *t = running_task(m, cpu, "rw");
	vmm_vaddr_t a = map_anon(t, 0, N * PG, RW, 0);
	uint64_t v = 1;
	(void)state;

	for (unsigned i = 0; i < N; i++) {
		struct vmm_access_result r;

		assert_int_equal(vmm_cpu_read(cpu, a + i * PG, &v, 8, VMM_ACC_USER, &r), 0);
		assert_int_equal(v, 0);
		assert_int_equal(r.faulted, 1);
		assert_int_equal(r.paddr & ~(PG - 1), m->init_mm.zero_page_pa);
		assert_machine_healthy(m);
	}
	assert_int_equal(task_stats(t).min_flt, N);
	assert_int_equal(rss_anon(t), 0);
	assert_int_equal(machine_stats(m).zero_page_maps, N);
	for (unsigned i = 0; i < N; i++) {
		struct vmm_access_result r;

		v = 0x1000 + i;
		assert_int_equal(vmm_cpu_write(cpu, a + i * PG, &v, 8, VMM_ACC_USER, &r), 0);
		assert_int_equal(r.faulted, 1);
		assert_int_not_equal(r.paddr & ~(PG - 1), m->init_mm.zero_page_pa);
		assert_machine_healthy(m);
	}
	assert_int_equal(task_stats(t).min_flt, 2 * N);
	assert_int_equal(task_stats(t).cow_copies, N);
	assert_int_equal(rss_anon(t), N);
	/* the zero page stayed zero; each page holds what was written */
	assert_true(*(uint64_t *)vmm_phys_to_host(m, m->init_mm.zero_page_pa) == 0);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(vmm_cpu_read(cpu, a + i * PG, &v, 8, VMM_ACC_USER, NULL), 0);
		assert_int_equal(v, 0x1000 + i);
	}
	vmm_task_destroy(&t);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void fill(vmm_cpu *cpu, vmm_vaddr_t a, uint64_t tag)
{
	for (unsigned i = 0; i < N; i++) {
		uint64_t v = tag + i;

		assert_int_equal(vmm_cpu_write(cpu, a + i * PG, &v, 8, VMM_ACC_USER, NULL), 0);
	}
}

static void expect(vmm_cpu *cpu, vmm_vaddr_t a, uint64_t tag)
{
	for (unsigned i = 0; i < N; i++) {
		uint64_t v = 0;

		assert_int_equal(vmm_cpu_read(cpu, a + i * PG, &v, 8, VMM_ACC_USER, NULL), 0);
		assert_int_equal(v, tag + i);
	}
}

static void test_fork_cow(void **state)
{
	vmm_machine *m = fault_machine(0, NULL);
	vmm_cpu *c0 = vmm_machine_cpu(m, 0), *c1 = vmm_machine_cpu(m, 1);
	vmm_task *p = running_task(m, c0, "parent"), *c;
	vmm_vaddr_t a = map_anon(p, 0, N * PG, RW, 0);
	(void)state;

	fill(c0, a, 0x100);
	assert_int_equal(task_stats(p).min_flt, N);
	assert_int_equal(vmm_task_fork(p, &c), 0);
	assert_int_equal(vmm_cpu_switch_to(c1, c), 0);
	assert_machine_healthy(m);
	/* the child reads its parent's data without a fault (the PTEs were copied) */
	expect(c1, a, 0x100);
	assert_int_equal(task_stats(c).min_flt, 0);
	/* the child writes: a copy per page, the parent's data untouched */
	fill(c1, a, 0x200);
	assert_int_equal(task_stats(c).min_flt, N);
	assert_int_equal(task_stats(c).cow_copies, N);
	assert_machine_healthy(m);
	expect(c0, a, 0x100);
	/* the parent writes: its pages are its own again, reused without a copy */
	fill(c0, a, 0x300);
	assert_int_equal(task_stats(p).min_flt, 2 * N);
	assert_int_equal(task_stats(p).cow_reuses, N);
	assert_int_equal(task_stats(p).cow_copies, 0);
	assert_int_equal(m->vm_events[VE_PGREUSE], N);
	expect(c1, a, 0x200);
	expect(c0, a, 0x300);
	assert_machine_healthy(m);

	/* fork again; the child exits before anyone writes: the parent reuses */
	vmm_task_destroy(&c);
	assert_int_equal(vmm_task_fork(p, &c), 0);
	assert_machine_healthy(m);
	assert_int_equal(vmm_task_exit(c), 0);
	assert_machine_healthy(m);
	fill(c0, a, 0x400);
	assert_int_equal(task_stats(p).cow_reuses, 2 * N);
	assert_int_equal(task_stats(p).cow_copies, 0);
	expect(c0, a, 0x400);
	assert_machine_healthy(m);

	/* fork; the parent writes first: it copies, and the child reuses after */
	vmm_task_destroy(&c);
	assert_int_equal(vmm_task_fork(p, &c), 0);
	assert_int_equal(vmm_cpu_switch_to(c1, c), 0);
	fill(c0, a, 0x500);
	assert_int_equal(task_stats(p).cow_copies, N);
	fill(c1, a, 0x600);
	assert_int_equal(task_stats(c).cow_reuses, N);
	expect(c0, a, 0x500);
	expect(c1, a, 0x600);
	assert_int_equal(rss_anon(p), N);
	assert_int_equal(rss_anon(c), N);
	assert_machine_healthy(m);
	vmm_task_destroy(&c);
	vmm_task_destroy(&p);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/*
 * Both CPUs run the task; CPU 1 caches the read-only translation of the zero
 * page, CPU 0 writes (a copy). ptep_clear_flush must reach CPU 1, which then
 * reads the new page.
 */
static void test_cow_flushes_other_cpus(void **state)
{
	vmm_machine *m = fault_machine(0, NULL);
	vmm_cpu *c0 = vmm_machine_cpu(m, 0), *c1 = vmm_machine_cpu(m, 1);
	vmm_task *t = running_task(m, c0, "threads");
	vmm_vaddr_t a = map_anon(t, 0, PG, RW, 0);
	struct vmm_cpu_stats s;
	uint64_t v = 0, before;
	(void)state;

	assert_int_equal(vmm_cpu_switch_to(c1, t), 0);
	assert_int_equal(vmm_cpu_read(c1, a, &v, 8, VMM_ACC_USER, NULL), 0);
	assert_int_equal(vmm_cpu_stats(c1, &s), 0);
	before = s.shootdowns_received;
	v = 42;
	assert_int_equal(vmm_cpu_write(c0, a, &v, 8, VMM_ACC_USER, NULL), 0);
	assert_int_equal(vmm_cpu_stats(c1, &s), 0);
	assert_int_equal(s.shootdowns_received, before + 1);
	v = 0;
	assert_int_equal(vmm_cpu_read(c1, a, &v, 8, VMM_ACC_USER, NULL), 0);
	assert_int_equal(v, 42);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

static void test_populate(void **state)
{
	vmm_machine *m = fault_machine(0, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	vmm_task *t = running_task(m, cpu, "populate");
	vmm_vaddr_t a, b, c;
	uint64_t before = pgfault(m);
	(void)state;

	/* MAP_POPULATE of private writable memory: write faults, one per page */
	a = map_anon(t, 0, N * PG, RW, VMM_MAP_POPULATE);
	assert_int_equal(task_stats(t).min_flt, N);
	assert_int_equal(rss_anon(t), N);
	assert_int_equal(pgfault(m) - before, N);
	assert_machine_healthy(m);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(touch(cpu, a + i * PG, VMM_ACC_WRITE).faulted, 0);
	/* read-only: the zero page, and no RSS */
	b = map_anon(t, 0, N * PG, VMM_PROT_READ, VMM_MAP_POPULATE);
	assert_int_equal(task_stats(t).min_flt, 2 * N);
	assert_int_equal(rss_anon(t), N);
	assert_int_equal(touch(cpu, b, 0).faulted, 0);
	assert_machine_healthy(m);
	/* mlock: the same path; pages already in are left alone */
	c = map_anon(t, 0, 4 * PG, RW, 0);
	assert_int_equal(touch(cpu, c, VMM_ACC_WRITE).faulted, 1);
	assert_int_equal(vmm_mlock(t, c, 4 * PG), 0);
	assert_int_equal(task_stats(t).min_flt, 2 * N + 4);
	assert_int_equal(rss_anon(t), N + 4);
	assert_machine_healthy(m);
	/* MAP_LOCKED too */
	map_anon(t, 0, 2 * PG, RW, VMM_MAP_LOCKED);
	assert_int_equal(task_stats(t).min_flt, 2 * N + 6);
	/* PROT_NONE cannot be locked in: mlock says ENOMEM */
	c = map_anon(t, 0, PG, VMM_PROT_NONE, 0);
	assert_int_equal(vmm_mlock(t, c, PG), -VMM_ENOMEM);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

struct anon_counts {
	uint64_t mapped, inactive, zone_inactive, unevictable, zone_unevictable, mlock, mlocked;
};

static struct anon_counts anon_counts(vmm_machine *m)
{
	struct anon_counts c = {
		.mapped = vmm_global_node_page_state(m, NR_ANON_MAPPED),
		.inactive = vmm_global_node_page_state(m, NR_INACTIVE_ANON),
		.zone_inactive = vmm_global_zone_page_state(m, NR_ZONE_INACTIVE_ANON),
		.unevictable = vmm_global_node_page_state(m, NR_UNEVICTABLE),
		.zone_unevictable = vmm_global_zone_page_state(m, NR_ZONE_UNEVICTABLE),
		.mlock = vmm_global_zone_page_state(m, NR_MLOCK),
		.mlocked = m->vm_events[VE_UNEVICTABLE_PGS_MLOCKED],
	};

	return c;
}

/* New anonymous pages: N written, N copied from the zero page, N in a locked mapping. */
static void test_new_anon_counters(void **state)
{
	vmm_machine *m = fault_machine(0, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	vmm_task *t = running_task(m, cpu, "counters");
	struct anon_counts c0 = anon_counts(m), c;
	vmm_vaddr_t a = map_anon(t, 0, N * PG, RW, 0), b = map_anon(t, 0, N * PG, RW, 0);
	(void)state;

	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(touch(cpu, a + i * PG, VMM_ACC_WRITE).faulted, 1);
		assert_int_equal(touch(cpu, b + i * PG, 0).faulted, 1);	/* the zero page */
	}
	c = anon_counts(m);
	assert_int_equal(c.mapped - c0.mapped, N);
	assert_int_equal(c.inactive - c0.inactive, N);
	assert_int_equal(c.zone_inactive - c0.zone_inactive, N);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(touch(cpu, b + i * PG, VMM_ACC_WRITE).faulted, 1);
	c = anon_counts(m);
	assert_int_equal(c.mapped - c0.mapped, 2 * N);
	assert_int_equal(c.inactive - c0.inactive, 2 * N);
	assert_int_equal(c.zone_inactive - c0.zone_inactive, 2 * N);
	assert_int_equal(machine_stats(m).cow_copies, N);
	assert_machine_healthy(m);
	/* a locked mapping's pages go to the unevictable list, mlocked */
	map_anon(t, 0, N * PG, RW, VMM_MAP_LOCKED);
	c = anon_counts(m);
	assert_int_equal(c.mapped - c0.mapped, 3 * N);
	assert_int_equal(c.inactive - c0.inactive, 2 * N);
	assert_int_equal(c.unevictable - c0.unevictable, N);
	assert_int_equal(c.zone_unevictable - c0.zone_unevictable, N);
	assert_int_equal(c.mlock - c0.mlock, N);
	assert_int_equal(c.mlocked - c0.mlocked, N);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	c = anon_counts(m);
	assert_int_equal(c.mapped, c0.mapped);
	assert_int_equal(c.inactive, c0.inactive);
	assert_int_equal(c.zone_inactive, c0.zone_inactive);
	assert_int_equal(c.unevictable, c0.unevictable);
	assert_int_equal(c.zone_unevictable, c0.zone_unevictable);
	assert_int_equal(c.mlock, c0.mlock);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* mprotect then touch: a read-only mapping maps the zero page; made writable, a write copies it. */
static void test_mprotect_then_touch(void **state)
{
	vmm_machine *m = fault_machine(0, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	vmm_task *t = running_task(m, cpu, "mprotect");
	vmm_vaddr_t a = map_anon(t, 0, 4 * PG, VMM_PROT_READ, 0);
	struct vmm_access_result r;
	(void)state;

	assert_int_equal(touch(cpu, a, 0).faulted, 1);
	r = touch(cpu, a, VMM_ACC_WRITE);
	assert_signal(r, VMM_SIGSEGV, VMM_SEGV_ACCERR, a);
	assert_int_equal(vmm_mprotect(t, a, 4 * PG, RW), 0);
	assert_machine_healthy(m);
	r = touch(cpu, a, VMM_ACC_WRITE);
	assert_int_equal(r.signal, 0);
	assert_int_equal(r.faulted, 1);
	assert_int_equal(task_stats(t).cow_copies, 1);
	/* a written page made read-only, then writable again: no fault (change_protection
	 * gives an exclusive page its write bit back) */
	assert_int_equal(vmm_mprotect(t, a, 4 * PG, VMM_PROT_READ), 0);
	assert_int_equal(vmm_mprotect(t, a, 4 * PG, RW), 0);
	assert_int_equal(touch(cpu, a, VMM_ACC_WRITE).faulted, 0);
	assert_int_equal(task_stats(t).min_flt, 2);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

/* The cycles of one anonymous write fault are charged to the faulting CPU, by category. */
static void test_cycles_charged(void **state)
{
	vmm_machine *m = fault_machine(0, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 1);
	vmm_task *t = running_task(m, cpu, "cycles");
	vmm_vaddr_t a = map_anon(t, 0, 2 * PG, RW, 0);
	uint64_t fault0, fault1, zero0, zero1;
	const struct vmm_cost_table *c = &m->clock.cost;
	(void)state;

	touch(cpu, a, VMM_ACC_WRITE);	/* makes the page tables */
	assert_int_equal(vmm_cpu_cycles(m, 1, VMM_CYC_FAULT, &fault0), 0);
	assert_int_equal(vmm_cpu_cycles(m, 1, VMM_CYC_ZERO_COPY, &zero0), 0);
	touch(cpu, a + PG, VMM_ACC_WRITE);
	assert_int_equal(vmm_cpu_cycles(m, 1, VMM_CYC_FAULT, &fault1), 0);
	assert_int_equal(vmm_cpu_cycles(m, 1, VMM_CYC_ZERO_COPY, &zero1), 0);
	assert_int_equal(fault1 - fault0, c->fault_delivery + c->fault_entry +
						  4 * c->fault_table_level + c->fault_set_pte);
	assert_int_equal(zero1 - zero0, c->zero_page);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_writes),
		cmocka_unit_test(test_read_then_write),
		cmocka_unit_test(test_fork_cow),
		cmocka_unit_test(test_cow_flushes_other_cpus),
		cmocka_unit_test(test_populate),
		cmocka_unit_test(test_new_anon_counters),
		cmocka_unit_test(test_mprotect_then_touch),
		cmocka_unit_test(test_cycles_charged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
