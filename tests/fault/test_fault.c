/* SPDX-License-Identifier: MIT */
/*
 * The #PF entry (src/fault/fault.c): every SIGSEGV case with its si_code and
 * si_addr, SIGBUS, running out of memory, the oops of a kernel fault (the task dies, the machine and the
 * other tasks live on), SMAP and SMEP violations, the lazy vmalloc sync,
 * spurious faults in both halves, and a handler of the embedder's own
 * replacing the default until NULL restores it.
 */
#include "fault_test_util.h"

#include "mm/init_mm.h"
#include "mm/mmap.h"

/* The leaf entry of @va in the tables @cpu runs on, as a host pointer. */
static uint64_t *leaf_of(vmm_machine *m, vmm_cpu *cpu, vmm_vaddr_t va)
{
	struct vmm_walk w;

	assert_int_equal(vmm_cpu_walk(cpu, va, 0, &w), 0);
	assert_int_equal(w.level[w.depth - 1].level, 1);
	return vmm_phys_to_host(m, w.level[w.depth - 1].entry_paddr);
}

static void test_sigsegv_cases(void **state)
{
	vmm_machine *m = fault_machine(0, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	vmm_task *t = running_task(m, cpu, "segv");
	vmm_vaddr_t ro = map_anon(t, 0, PG, VMM_PROT_READ, 0);
	vmm_vaddr_t none = map_anon(t, 0, PG, VMM_PROT_NONE, 0);
	vmm_vaddr_t rw = map_anon(t, 0, PG, RW, 0);
	vmm_vaddr_t hole = ro - 64 * PG, kaddr = m->init_mm.layout.page_offset + 0x100000;
	uint64_t pgfault = m->vm_events[VE_PGFAULT];
	(void)state;

	/* nothing mapped: SEGV_MAPERR, and no pgfault (bad_area comes before handle_mm_fault) */
	assert_signal(touch(cpu, hole, 0), VMM_SIGSEGV, VMM_SEGV_MAPERR, hole);
	assert_machine_healthy(m);
	/* a write to a read-only mapping: SEGV_ACCERR */
	assert_signal(touch(cpu, ro + 16, VMM_ACC_WRITE), VMM_SIGSEGV, VMM_SEGV_ACCERR, ro + 16);
	/* PROT_NONE: SEGV_ACCERR for a read */
	assert_signal(touch(cpu, none, 0), VMM_SIGSEGV, VMM_SEGV_ACCERR, none);
	assert_int_equal(m->vm_events[VE_PGFAULT], pgfault);
	assert_machine_healthy(m);
	/* an instruction fetch from a non-executable mapping: the page comes in, then ACCERR */
	assert_signal(touch(cpu, rw, VMM_ACC_EXEC), VMM_SIGSEGV, VMM_SEGV_ACCERR, rw);
	assert_int_equal(task_stats(t).min_flt, 1);
	/* a user access to the kernel half: SEGV_MAPERR */
	assert_signal(touch(cpu, kaddr, 0), VMM_SIGSEGV, VMM_SEGV_MAPERR, kaddr);
	assert_machine_healthy(m);
	/* a protection key forbids the access: SEGV_PKUERR */
	assert_int_equal(touch(cpu, rw, VMM_ACC_WRITE).signal, 0);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR4, cpu->regs.cr4 | VMM_CR4_PKE), 0);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_PKRU, 1u), 0);	/* AD for key 0 */
	assert_signal(touch(cpu, rw, 0), VMM_SIGSEGV, VMM_SEGV_PKUERR, rw);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_PKRU, 0), 0);
	assert_int_equal(touch(cpu, rw, 0).signal, 0);
	assert_int_equal(task_stats(t).sigsegv, 6);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

/* A kernel access to an unmapped kernel address: an oops; only that task dies. */
static void test_kernel_oops_kills_the_task(void **state)
{
	struct test_log tl = { 0 };
	vmm_machine *m = fault_machine(0, &tl);
	vmm_cpu *c0 = vmm_machine_cpu(m, 0), *c1 = vmm_machine_cpu(m, 1);
	vmm_task *victim = running_task(m, c0, "victim"), *other = running_task(m, c1, "other");
	vmm_vaddr_t a = map_anon(other, 0, PG, RW, 0);
	vmm_vaddr_t bad = m->init_mm.layout.vmalloc_start + 0x10000000;
	struct vmm_access_result r;
	uint64_t v = 0;
	(void)state;

	assert_int_equal(vmm_cpu_read(c0, bad, &v, 8, 0, &r), -VMM_EFAULT);
	assert_int_equal(r.signal, VMM_SIGKILL);
	assert_int_equal(r.si_code, VMM_SI_KERNEL);
	assert_non_null(strstr(tl.last, "BUG: unable to handle page fault for address"));
	assert_non_null(strstr(tl.last, "#PF: supervisor read access in kernel mode"));
	assert_non_null(strstr(tl.last, "#PF: error_code(0x0000) - not-present page"));
	assert_non_null(strstr(tl.last, "Comm: victim"));
	assert_int_equal(tl.last_kind, VMM_LOG_KIND_GUEST);
	assert_int_equal(machine_stats(m).oopses, 1);
	/* the victim is gone (its CPU is back on init_mm); the other task goes on */
	assert_int_equal(vmm_task_exit(victim), -VMM_ENOENT);
	assert_null(vmm_cpu_current_task(c0));
	assert_machine_healthy(m);
	assert_int_equal(touch(c1, a, VMM_ACC_WRITE).signal, 0);
	assert_machine_healthy(m);
	/* a kernel NULL dereference in another task's context says so */
	vmm_task_destroy(&victim);
	victim = running_task(m, c0, "null");
	assert_int_equal(vmm_cpu_access(c0, 8, 8, VMM_ACC_WRITE, &r), 0);
	assert_int_equal(r.signal, VMM_SIGKILL);
	assert_non_null(strstr(tl.last, "BUG: kernel NULL pointer dereference, address: 0000000000000008"));
	assert_non_null(strstr(tl.last, "#PF: supervisor write access in kernel mode"));
	assert_machine_healthy(m);
	vmm_task_destroy(&victim);
	vmm_task_destroy(&other);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* SMAP: a kernel access to a user page without RFLAGS.AC; SMEP: a kernel fetch from one. */
static void test_smap_smep_oops(void **state)
{
	struct test_log tl = { 0 };
	vmm_machine *m = fault_machine(0, &tl);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	vmm_task *t = running_task(m, cpu, "smap");
	vmm_vaddr_t a;
	struct vmm_access_result r;
	(void)state;

	a = map_anon(t, 0, PG, RW | VMM_PROT_EXEC, 0);
	assert_int_equal(touch(cpu, a, VMM_ACC_WRITE).signal, 0);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR4,
					 cpu->regs.cr4 | VMM_CR4_SMAP | VMM_CR4_SMEP), 0);
	assert_int_equal(vmm_cpu_access(cpu, a, 8, 0, &r), 0);
	assert_int_equal(r.signal, VMM_SIGKILL);
	assert_int_equal(r.error_code, VMM_PF_P);
	assert_non_null(strstr(tl.last, "#PF: supervisor read access in kernel mode"));
	assert_non_null(strstr(tl.last, "permissions violation"));
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	t = running_task(m, cpu, "smep");
	a = map_anon(t, 0, PG, RW | VMM_PROT_EXEC, 0);
	assert_int_equal(touch(cpu, a, VMM_ACC_WRITE).signal, 0);
	assert_int_equal(vmm_cpu_access(cpu, a, 1, VMM_ACC_EXEC, &r), 0);
	assert_int_equal(r.signal, VMM_SIGKILL);
	assert_non_null(strstr(tl.last, "#PF: supervisor instruction fetch in kernel mode"));
	assert_non_null(strstr(tl.last, "SMEP"));
	assert_int_equal(machine_stats(m).oopses, 2);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

/* VMM_CFG_VMALLOC_LAZY: a task's PGD made before a vmalloc lacks its entry; the fault syncs it. */
static void test_lazy_vmalloc_sync(void **state)
{
	vmm_machine *m = fault_machine(VMM_CFG_VMALLOC_LAZY, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 1);
	vmm_task *t = running_task(m, cpu, "lazy");
	vmm_vaddr_t a = vmm_vzalloc(m, 4 * PG);
	uint64_t v = 5, back = 0;
	struct vmm_access_result r;
	(void)state;

	assert_int_not_equal(a, 0);
	assert_int_equal(vmm_cpu_write(cpu, a + 8, &v, 8, 0, &r), 0);
	assert_int_equal(r.faulted, 1);
	assert_int_equal(machine_stats(m).vmalloc_syncs, 1);
	assert_int_equal(vmm_cpu_read(cpu, a + 8, &back, 8, 0, &r), 0);
	assert_int_equal(r.faulted, 0);
	assert_int_equal(back, 5);
	assert_machine_healthy(m);
	vmm_vfree(m, a);
	vmm_task_destroy(&t);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/*
 * A stale read-only TLB entry over a writable PTE: the write faults, the
 * tables allow it, the access is retried. A user one is a (minor) fault to
 * Linux too; a kernel one is spurious_kernel_fault.
 */
static void test_spurious_faults(void **state)
{
	vmm_machine *m = fault_machine(0, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	vmm_task *t = running_task(m, cpu, "spurious");
	vmm_vaddr_t a = map_anon(t, 0, PG, RW, 0), k = vmm_vzalloc(m, PG);
	struct vmm_access_result r;
	uint64_t *pte;
	(void)state;

	assert_int_equal(touch(cpu, a, VMM_ACC_WRITE).faulted, 1);
	pte = leaf_of(m, cpu, a);
	*pte &= ~VMM_PTE_RW;
	assert_int_equal(vmm_cpu_invlpg(cpu, a), 0);
	assert_int_equal(touch(cpu, a, 0).faulted, 0);	/* the TLB now holds it read-only */
	*pte |= VMM_PTE_RW;
	r = touch(cpu, a, VMM_ACC_WRITE);
	assert_int_equal(r.signal, 0);
	assert_int_equal(r.faulted, 1);
	assert_int_equal(machine_stats(m).spurious, 1);
	assert_int_equal(task_stats(t).min_flt, 2);
	assert_machine_healthy(m);
	/* the same in the kernel half */
	pte = leaf_of(m, cpu, k);
	*pte &= ~VMM_PTE_RW;
	assert_int_equal(vmm_cpu_invlpg(cpu, k), 0);
	assert_int_equal(vmm_cpu_access(cpu, k, 8, 0, &r), 0);
	*pte |= VMM_PTE_RW;
	assert_int_equal(vmm_cpu_access(cpu, k, 8, VMM_ACC_WRITE, &r), 0);
	assert_int_equal(r.signal, 0);
	assert_int_equal(r.faulted, 1);
	assert_int_equal(machine_stats(m).spurious, 2);
	assert_int_equal(machine_stats(m).oopses, 0);
	assert_machine_healthy(m);
	vmm_vfree(m, k);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

/*
 * VM_FAULT_SIGBUS: a special mapping with no page behind the address
 * (special_mapping_fault's answer) is SIGBUS with BUS_ADRERR for the user,
 * and -EFAULT for a user-memory accessor.
 */
static void test_sigbus(void **state)
{
	vmm_machine *m = fault_machine(0, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	vmm_task *t = running_task(m, cpu, "sigbus");
	vmm_vaddr_t a = 0x7ff000000000ull;
	uint64_t pgfault = m->vm_events[VE_PGFAULT];
	char buf[8];
	(void)state;

	assert_int_equal(vmm_install_special_mapping(t->mm, a, 2 * PG,
						     VMM_VM_READ | VMM_VM_MAYREAD, "[vvar]"), 0);
	assert_signal(touch(cpu, a + 8, 0), VMM_SIGBUS, VMM_BUS_ADRERR, a + 8);
	assert_int_equal(task_stats(t).sigbus, 1);
	assert_int_equal(task_stats(t).min_flt, 0);
	assert_int_equal(m->vm_events[VE_PGFAULT], pgfault + 1);	/* counted, though it failed */
	assert_int_equal(vmm_copy_from_user(cpu, buf, a, sizeof(buf), NULL), -VMM_EFAULT);
	assert_int_equal(machine_stats(m).oopses, 0);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

/* Out of memory: the access fails with -VMM_ENOMEM (no OOM killer yet); it works once memory is back. */
static void test_oom(void **state)
{
	struct test_log tl = { 0 };
	vmm_machine *m = fault_machine(0, &tl);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	vmm_task *t = running_task(m, cpu, "oom");
	vmm_vaddr_t a = map_anon(t, 0, 4 * PG, RW, 0);
	struct held {
		struct vmm_page *p;
		unsigned order;
	} *held = NULL;
	size_t n = 0, cap = 0;
	struct vmm_access_result r;
	(void)state;

	assert_int_equal(touch(cpu, a, VMM_ACC_WRITE).signal, 0);	/* the tables exist */
	for (unsigned order = 10;; ) {
		struct vmm_page *p = vmm_alloc_pages(m, VMM_GFP_HIGHUSER_MOVABLE | VMM_GFP_NOWARN,
						     order);

		if (!p) {
			if (!order)
				break;
			order--;
			continue;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			held = realloc(held, cap * sizeof(*held));
			assert_non_null(held);
		}
		held[n++] = (struct held){ p, order };
	}
	assert_int_equal(vmm_cpu_access(cpu, a + PG, 8, VMM_ACC_WRITE | VMM_ACC_USER, &r),
			 -VMM_ENOMEM);
	assert_int_equal(machine_stats(m).oom, 1);
	assert_int_equal(task_stats(t).min_flt, 1);
	assert_machine_healthy(m);
	while (n--)
		vmm_free_pages(m, held[n].p, held[n].order);
	free(held);
	assert_int_equal(touch(cpu, a + PG, VMM_ACC_WRITE).signal, 0);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

static int deny_all(void *data, vmm_cpu *cpu, struct vmm_fault_info *f)
{
	(void)cpu;
	++*(unsigned *)data;
	f->signal = VMM_SIGBUS;
	f->si_code = 99;
	return 0;
}

/* An embedder's handler replaces the default; NULL brings the default back. */
static void test_handler_replaced_and_restored(void **state)
{
	vmm_machine *m = fault_machine(0, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	vmm_task *t = running_task(m, cpu, "handler");
	vmm_vaddr_t a = map_anon(t, 0, 2 * PG, RW, 0);
	unsigned calls = 0;
	(void)state;

	assert_int_equal(vmm_machine_set_fault_handler(m, deny_all, &calls), 0);
	assert_signal(touch(cpu, a, 0), VMM_SIGBUS, 99, a);
	assert_int_equal(calls, 1);
	assert_int_equal(task_stats(t).min_flt, 0);
	assert_int_equal(vmm_machine_set_fault_handler(m, NULL, NULL), 0);
	assert_int_equal(touch(cpu, a, 0).signal, 0);
	assert_int_equal(task_stats(t).min_flt, 1);
	assert_int_equal(calls, 1);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigsegv_cases),
		cmocka_unit_test(test_sigbus),
		cmocka_unit_test(test_oom),
		cmocka_unit_test(test_kernel_oops_kills_the_task),
		cmocka_unit_test(test_smap_smep_oops),
		cmocka_unit_test(test_lazy_vmalloc_sync),
		cmocka_unit_test(test_spurious_faults),
		cmocka_unit_test(test_handler_replaced_and_restored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
