/* SPDX-License-Identifier: MIT */
/**
 * @file task.h
 * @brief Simulated processes: tasks, their resource limits, and CPUs running them.
 *
 * A task is Linux's task_struct reduced to what memory management needs: a
 * pid, a name (comm), its address space (an mm_struct with its VMAs and page
 * tables, see mm.h), and the resource limits the memory system reads
 * (RLIMIT_DATA, RLIMIT_STACK, RLIMIT_MEMLOCK, RLIMIT_AS). A new task looks
 * like a process right after execve() of an empty program: its mm has a PGD
 * whose kernel half is shared with every other task, an mmap_base chosen as
 * x86-64 Linux chooses it (top-down layout, randomized by the machine's
 * seeded PRNG unless sysctl kernel.randomize_va_space is 0), and no VMAs.
 *
 * @code
 * vmm_task *t;
 * vmm_task_create(m, "init", &t);
 * vmm_vaddr_t a;
 * vmm_mmap(t, 0, 1 << 20, VMM_PROT_READ | VMM_PROT_WRITE,
 *          VMM_MAP_PRIVATE | VMM_MAP_ANONYMOUS, NULL, 0, &a);
 * vmm_cpu_switch_to(vmm_machine_cpu(m, 0), t);   // CR3 now holds t's PGD
 * vmm_task *child;
 * vmm_task_fork(t, &child);                      // copy-on-write copy
 * vmm_task_destroy(&child);                      // exit + release: child is NULL
 * vmm_task_destroy(&t);
 * @endcode
 *
 * Tasks belong to their machine: vmm_machine_destroy() destroys the ones
 * still alive.
 */
#ifndef VMM_TASK_H
#define VMM_TASK_H

#include <vmm/common.h>
#include <vmm/cpu.h>

VMM_BEGIN_DECLS

/** A simulated process (opaque). */
typedef struct vmm_task vmm_task;

/** @name Resource limits read by the memory system (Linux's RLIMIT_* numbers)
 * @{ */
#define VMM_RLIMIT_DATA 2	/**< brk heap and private writable mappings; default unlimited */
#define VMM_RLIMIT_STACK 3	/**< stack size, sets the mmap_base gap; default 8 MiB */
#define VMM_RLIMIT_MEMLOCK 8	/**< bytes mlock()ed; default 8 MiB */
#define VMM_RLIMIT_AS 9		/**< total virtual memory; default unlimited */
#define VMM_RLIM_INFINITY (~0ull) /**< no limit */
/** @} */

/** One resource limit (struct rlimit64). */
struct vmm_rlimit {
	uint64_t rlim_cur;	/**< soft limit, in force */
	uint64_t rlim_max;	/**< hard limit: rlim_cur may not exceed it */
};

/** Longest task name, without the terminating NUL (Linux's TASK_COMM_LEN - 1). */
#define VMM_TASK_COMM_LEN 15

/**
 * Create a task with an empty address space (what execve() leaves before the
 * program is loaded): a PGD sharing the kernel half, mmap_base, and
 * start_brk = brk at the default heap base. Its pid is the next free one,
 * counting from 1. The mm_struct, the task_struct and every VMA come from
 * the machine's slab caches ("mm_struct", "task_struct", "vm_area_struct"),
 * the PGD from the page allocator (counted in NR_PAGETABLE).
 *
 * @param m    the machine
 * @param comm the name: 1..15 printable characters (longer names are cut to
 *             15, as Linux's set_task_comm() does)
 * @param out  receives the task
 * @return 0; -VMM_EINVAL for a NULL argument or an empty or unprintable
 *         name; -VMM_ENOMEM when simulated or host memory ran out (nothing
 *         is left allocated)
 */
VMM_API int vmm_task_create(vmm_machine *m, const char *comm, vmm_task **out);

/**
 * fork(): a child with a copy of @p parent's address space. Every VMA is
 * duplicated (except VM_DONTCOPY ones, with VM_LOCKED dropped as Linux drops
 * it); private writable pages are write-protected in both page tables for
 * copy-on-write and gain a reference and a mapping; anonymous VMAs get an
 * anon_vma of their own chained to the parent's. The child inherits the
 * name, the limits and the layout (mmap_base, brk).
 *
 * @return 0; -VMM_EINVAL for NULL arguments or a task that has exited;
 *         -VMM_ENOMEM when memory ran out (the partial child is torn down
 *         and the parent is unchanged, except that its writable private
 *         PTEs may already be write-protected, as in Linux)
 */
VMM_API int vmm_task_fork(vmm_task *parent, vmm_task **out);

/**
 * exit(): tear down the address space — unmap every VMA, free every page
 * table and every page whose last reference goes, release the mm — and
 * leave the task a zombie (its pid stays taken) until vmm_task_destroy().
 * CPUs that were running the task switch to the kernel's page tables.
 *
 * @return 0; -VMM_EINVAL for NULL; -VMM_ENOENT when the task has already
 *         exited
 */
VMM_API int vmm_task_exit(vmm_task *t);

/**
 * Exit the task if it has not exited yet, then free it (release_task()).
 *
 * @param t the task handle; *t may be NULL, and is NULL afterwards
 */
VMM_API void vmm_task_destroy(vmm_task **t);

/** @return the task's pid, or -VMM_EINVAL for NULL */
VMM_API int vmm_task_pid(const vmm_task *t);

/** @return the task's name, or NULL for NULL */
VMM_API const char *vmm_task_comm(const vmm_task *t);

/** @return the machine of @p t, or NULL for NULL */
VMM_API vmm_machine *vmm_task_machine(const vmm_task *t);

/**
 * getrlimit().
 *
 * @param resource one of VMM_RLIMIT_*
 * @return 0; -VMM_EINVAL for NULL arguments or an unknown resource
 */
VMM_API int vmm_task_getrlimit(const vmm_task *t, unsigned resource, struct vmm_rlimit *out);

/**
 * setrlimit(). As in Linux, a new RLIMIT_STACK takes effect on the layout
 * only at the next exec (here: tasks created later keep their own default),
 * and the other limits are checked by the next call that grows memory.
 *
 * @return 0; -VMM_EINVAL for NULL arguments, an unknown resource or
 *         rlim_cur > rlim_max
 */
VMM_API int vmm_task_setrlimit(vmm_task *t, unsigned resource, const struct vmm_rlimit *lim);

/**
 * Run @p t on @p cpu (Linux's switch_mm_irqs_off()): CR3 is loaded with the
 * task's PGD. With CR4.PCIDE set, the PCID is chosen as Linux does: each CPU
 * keeps 6 dynamic ASIDs; a task whose mm still holds one of them reuses it
 * (with CR3 bit 63, no flush, unless the mm's page tables were flushed since
 * the CPU last used it), otherwise the CPU takes its next ASID round robin
 * and flushes it; the PCID is the ASID + 1. Without PCIDE every switch to
 * another mm flushes. The CPU joins the mm's cpumask, so the TLB shootdowns
 * of later unmaps and protection changes reach it. @p t NULL switches the
 * CPU to the kernel's own page tables (init_mm).
 *
 * @return 0; -VMM_EINVAL for a NULL CPU, or a task from another machine or
 *         one that has exited
 */
VMM_API int vmm_cpu_switch_to(vmm_cpu *cpu, vmm_task *t);

/** @return the task @p cpu runs (NULL: the kernel's page tables, or NULL @p cpu) */
VMM_API vmm_task *vmm_cpu_current_task(const vmm_cpu *cpu);

VMM_END_DECLS

#endif /* VMM_TASK_H */
