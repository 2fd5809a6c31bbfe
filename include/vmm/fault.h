/* SPDX-License-Identifier: MIT */
/**
 * @file fault.h
 * @brief The page-fault path: fault counters, user-memory accessors, the
 * stack pointer the older stack-growth rule reads.
 *
 * Every machine boots with libvmm's #PF handler installed (Linux's
 * do_page_fault): a fault on a CPU that runs a task (vmm_cpu_switch_to())
 * goes through find_vma, stack expansion, access_error and handle_mm_fault
 * as on x86-64 Linux, and ends either in a retry (the page is now mapped)
 * or in a signal in the access result (SIGSEGV with SEGV_MAPERR,
 * SEGV_ACCERR or SEGV_PKUERR; SIGBUS with BUS_ADRERR); the task lives on. A
 * user fault that runs out of memory makes vmm_cpu_access() return
 * -VMM_ENOMEM (no OOM killer yet). On a CPU that runs no task there is no
 * mm to consult: a user-mode fault on a user address is SIGSEGV
 * (SEGV_MAPERR). Kernel addresses: with VMM_CFG_VMALLOC_LAZY a vmalloc
 * address missing from the PGD in CR3 is synced from init_mm; a fault the
 * tables already allow (a stale TLB entry) is retried. A kernel-mode fault
 * that nothing explains is an oops: reported through the log hook in
 * Linux's words ("BUG: unable to handle page fault for address: ...",
 * "#PF: supervisor read access in kernel mode", ...), the task is killed
 * (vmm_task_exit()) and the access ends with SIGKILL; the machine keeps
 * running. A kernel access to user memory under CR4.SMAP without RFLAGS.AC,
 * and a kernel instruction fetch from a user page (SMEP), are oopses too.
 * vmm_machine_set_fault_handler() still replaces the handler; passing NULL
 * restores this one.
 *
 * @code
 * vmm_cpu_switch_to(cpu, t);
 * vmm_cpu_access(cpu, a, 8, VMM_ACC_WRITE | VMM_ACC_USER, &r);   // one minor fault
 * struct vmm_task_fault_stats s;
 * vmm_task_fault_stats(t, &s);                                   // s.min_flt == 1
 * char buf[16];
 * size_t left;
 * vmm_copy_from_user(cpu, buf, a, sizeof(buf), &left);           // 0, left == 0
 * @endcode
 */
#ifndef VMM_FAULT_H
#define VMM_FAULT_H

#include <vmm/common.h>
#include <vmm/cpu.h>
#include <vmm/task.h>

VMM_BEGIN_DECLS

/** @name Signals and si_codes an access can end with (Linux's numbers)
 * @{ */
#define VMM_SIGKILL 9		/**< an oops killed the task */
#define VMM_SIGBUS 7		/**< e.g. a file mapping beyond its end */
#define VMM_SIGSEGV 11
#define VMM_SEGV_MAPERR 1	/**< no mapping at the address */
#define VMM_SEGV_ACCERR 2	/**< the mapping forbids the access */
#define VMM_SEGV_PKUERR 4	/**< a protection key forbids it */
#define VMM_BUS_ADRERR 2	/**< SIGBUS: nonexistent physical address (beyond EOF) */
#define VMM_SI_KERNEL 0x80	/**< sent by the kernel (#GP, oops) */
/** @} */

/** A task's fault figures (getrusage and /proc/PID/stat, plus COW outcomes). */
struct vmm_task_fault_stats {
	uint64_t min_flt;	/**< minor faults (ru_minflt): resolved without I/O */
	uint64_t maj_flt;	/**< major faults (ru_majflt): resolved with I/O */
	uint64_t cow_copies;	/**< write faults that copied a page (the zero page included) */
	uint64_t cow_reuses;	/**< write faults that reused an exclusively mapped page */
	uint64_t stack_expansions; /**< faults that grew a VM_GROWSDOWN VMA */
	uint64_t sigsegv;	/**< faults that ended in SIGSEGV */
	uint64_t sigbus;	/**< faults that ended in SIGBUS */
	uint64_t reserved[8];
};

/**
 * Machine-wide fault-path figures that /proc/vmstat does not show (it shows
 * pgfault, pgmajfault and pgreuse: see VMM_DUMP_VMSTAT).
 */
struct vmm_fault_stats {
	uint64_t cow_copies;	/**< as in vmm_task_fault_stats, all tasks */
	uint64_t cow_reuses;
	uint64_t zero_page_maps;	/**< read faults answered with the zero page */
	uint64_t spurious;	/**< faults the page tables already allowed (stale TLB entry) */
	uint64_t vmalloc_syncs;	/**< kernel faults fixed by copying init_mm's top-level entry */
	uint64_t fixups;	/**< faults in user-memory accessors turned into -EFAULT */
	uint64_t oopses;	/**< kernel faults nothing could explain */
	uint64_t oom;		/**< faults that ended because memory ran out */
	uint64_t reserved[8];
};

/**
 * A task's fault counters. They keep counting until the task is destroyed
 * (a zombie's stay readable); a forked child starts at zero.
 *
 * @return 0; -VMM_EINVAL for NULL arguments
 */
VMM_API int vmm_task_fault_stats(const vmm_task *t, struct vmm_task_fault_stats *out);

/**
 * The machine's fault-path counters.
 *
 * @return 0; -VMM_EINVAL for NULL arguments
 */
VMM_API int vmm_fault_stats(const vmm_machine *m, struct vmm_fault_stats *out);

/**
 * Record the task's user stack pointer (its %rsp when it next faults). Only
 * the older stack-growth rule reads it: with sysctl "vm.legacy_stack_check"
 * set to 1 (default 0), a user-mode fault below a VM_GROWSDOWN VMA grows it
 * only when the address is at most 65536 + 32 * sizeof(long) bytes below the
 * stack pointer (Linux 2.6.34's rule, seed 001 section 3.6.2.1), and no
 * stack guard gap applies; with 0, Linux's current rule holds (no
 * stack-pointer test; the gap of stack_guard_gap, 256 pages, to the VMA
 * below; RLIMIT_STACK and RLIMIT_AS in both). A task starts with 0, which
 * the older rule never refuses.
 *
 * @return 0; -VMM_EINVAL for NULL or a task that has exited
 */
VMM_API int vmm_task_set_sp(vmm_task *t, vmm_vaddr_t sp);

/**
 * copy_from_user(): copy @p n bytes from user address @p src of the task
 * @p cpu runs into @p dst, as kernel code does: a CPL 0 access, with
 * RFLAGS.AC set for it when CR4.SMAP is on (stac/clac), faulting pages in
 * as a user access would. A bad user address (above TASK_SIZE, unmapped, or
 * not readable) stops the copy: the bytes not copied are zeroed in @p dst
 * and counted in @p *not_copied, and the machine is unharmed (the
 * exception-table fixup). CPL and RFLAGS are as they were afterwards.
 *
 * @param cpu        a CPU running a task (vmm_cpu_switch_to())
 * @param not_copied receives the bytes not copied (may be NULL)
 * @return 0 when all were copied; -VMM_EFAULT when some were not (a fault
 *         that ran out of memory counts as a bad address, as in Linux);
 *         -VMM_EINVAL for NULL arguments or a CPU without a task
 */
VMM_API int vmm_copy_from_user(vmm_cpu *cpu, void *dst, vmm_vaddr_t src, size_t n,
			       size_t *not_copied);

/**
 * copy_to_user(): copy @p n bytes from @p src to user address @p dst of the
 * task @p cpu runs, as vmm_copy_from_user() does (write faults, COW).
 *
 * @return as vmm_copy_from_user()
 */
VMM_API int vmm_copy_to_user(vmm_cpu *cpu, vmm_vaddr_t dst, const void *src, size_t n,
			     size_t *not_copied);

/**
 * get_user(): read a @p size byte value (1, 2, 4 or 8; little-endian) at
 * user address @p uaddr (it may cross a page boundary: each page is
 * faulted in). On a bad address *@p val is 0.
 *
 * @return 0; -VMM_EFAULT on a bad user address; -VMM_EINVAL for a bad
 *         size, NULL arguments or a CPU without a task
 */
VMM_API int vmm_get_user(vmm_cpu *cpu, vmm_vaddr_t uaddr, unsigned size, uint64_t *val);

/**
 * put_user(): write the low @p size bytes (1, 2, 4 or 8) of @p val at user
 * address @p uaddr.
 *
 * @return as vmm_get_user()
 */
VMM_API int vmm_put_user(vmm_cpu *cpu, vmm_vaddr_t uaddr, unsigned size, uint64_t val);

VMM_END_DECLS

#endif /* VMM_FAULT_H */
