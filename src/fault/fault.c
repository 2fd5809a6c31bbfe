/* SPDX-License-Identifier: MIT */
/*
 * The #PF entry: x86-64 Linux's do_page_fault (seed 001 section 3.6, seed
 * 000 section 1.1), installed as every machine's default fault handler.
 *
 * The MMU has already delivered the fault (CR2, the error code, the TLB
 * entry for the address dropped). The handler splits on the address:
 *
 *   kernel half (do_kern_addr_fault): with VMM_CFG_VMALLOC_LAZY, a fault in
 *   the vmalloc area on a PGD that lacks init_mm's top-level entry copies
 *   it (vmalloc_fault's sync); a fault the page tables already allow is
 *   spurious (a stale TLB or paging-structure-cache entry) and is retried;
 *   anything else is a bad area.
 *
 *   user half (do_user_addr_fault): reserved bits, a kernel instruction
 *   fetch from a user page (SMEP) and a kernel access under SMAP without
 *   RFLAGS.AC are oopses at once, as Linux has them; without a task there
 *   is no mm to consult (bad area); then find_vma, stack growth below a
 *   VM_GROWSDOWN VMA, access_error, and handle_mm_fault, whose VM_FAULT
 *   error bits become SIGBUS, SIGSEGV or an out-of-memory failure.
 *
 * A bad area in user mode is SIGSEGV (SEGV_MAPERR, SEGV_ACCERR or
 * SEGV_PKUERR) in the access result; the task lives on, the embedder
 * decides. In kernel mode it goes to no_context: an access a user-memory
 * accessor marked (the exception table) ends with -VMM_EFAULT; any other is
 * an oops, printed through the log hook in Linux's words, and the task is
 * killed (the access ends with SIGKILL, the machine keeps running).
 */
#include "fault/core.h"

#include <inttypes.h>
#include <stdio.h>

#include <vmm/errors.h>

#include "fault/fault.h"
#include "machine.h"
#include "mm/init_mm.h"
#include "mm/mm_types.h"
#include "mm/vma.h"
#include "sim/cpu.h"

/* ---- what the handler decides ---- */

/* End the access with @sig/@code. */
static int force_sig(struct vmm_fault_info *f, int sig, int code)
{
	f->signal = sig;
	f->si_code = code;
	return 0;
}

static struct vmm_task *current_task(const struct vmm_cpu *cpu)
{
	return cpu->m->tasks.tlbstate[cpu->id].current;
}

static uint64_t task_size_max(const struct vmm_cpu *cpu)
{
	return cpu->levels == 5 ? TASK_SIZE_MAX_5L : TASK_SIZE_MAX_4L;
}

static const char *access_kind(unsigned ec)
{
	return (ec & VMM_PF_I) ? "instruction fetch" : (ec & VMM_PF_W) ? "write access" : "read access";
}

static const char *fault_cause(unsigned ec)
{
	return !(ec & VMM_PF_P)	   ? "not-present page"
	       : (ec & VMM_PF_RSVD) ? "reserved bit violation"
	       : (ec & VMM_PF_PK)   ? "protection keys violation"
				    : "permissions violation";
}

/*
 * page_fault_oops(): the report show_fault_oops() and __die() print, then
 * the task dies (make_task_dead). @why is the line Linux adds for SMEP,
 * SMAP-less NX and corrupted tables, or NULL.
 */
static int page_fault_oops(struct vmm_cpu *cpu, struct vmm_fault_info *f, const char *why)
{
	struct vmm_machine *m = cpu->m;
	struct vmm_task *t = current_task(cpu);
	uint64_t addr = f->addr;
	unsigned ec = f->error_code;
	bool user = ec & VMM_PF_U;

	m->fault.stats.oopses++;
	vmm_guest_err(&m->log,
		      "BUG: %s: %016" PRIx64 "\n"
		      "#PF: %s %s in %s mode\n"
		      "#PF: error_code(0x%04x) - %s\n"
		      "%s%s"
		      "Oops: %04x [#%" PRIu64 "] SMP NOPTI\n"
		      "CPU: %u PID: %d Comm: %s\n"
		      "CR2: %016" PRIx64,
		      addr < VMM_PAGE_SIZE && !user ? "kernel NULL pointer dereference, address"
						    : "unable to handle page fault for address",
		      addr, user ? "user" : "supervisor", access_kind(ec), user ? "user" : "kernel",
		      ec, fault_cause(ec), why ? why : "", why ? "\n" : "", ec, m->fault.stats.oopses,
		      cpu->id, t ? t->pid : 0, t ? t->comm : "swapper", addr);
	if (t && !t->exited)
		vmm_task_exit(t);
	return force_sig(f, VMM_SIGKILL, VMM_SI_KERNEL);
}

/*
 * no_context(): a kernel-mode fault nothing resolved. The exception table
 * (a user-memory accessor's access) turns it into -VMM_EFAULT for the
 * accessor; anything else is an oops.
 */
static int no_context(struct vmm_cpu *cpu, struct vmm_fault_info *f)
{
	struct vmm_fault_pcpu *pc = &cpu->m->fault.pcpu[cpu->id];

	if (pc->uaccess) {
		pc->fixed_up = true;
		cpu->m->fault.stats.fixups++;
		return -VMM_EFAULT;
	}
	return page_fault_oops(cpu, f, NULL);
}

/* __bad_area_nosemaphore(): SIGSEGV for user mode, no_context for the kernel. */
static int bad_area(struct vmm_cpu *cpu, struct vmm_fault_info *f, int si_code)
{
	struct vmm_task *t;

	if (!(f->error_code & VMM_PF_U))
		return no_context(cpu, f);
	if ((t = current_task(cpu)))
		t->flt.sigsegv++;
	return force_sig(f, VMM_SIGSEGV, si_code);
}

/* ---- kernel addresses ---- */

/*
 * vmalloc_fault()'s sync: the current PGD lacks the top-level entry init_mm
 * has for a vmalloc address (lazy mode); copy it, and the access succeeds
 * if init_mm maps the page.
 */
static bool vmalloc_fault(struct vmm_cpu *cpu, uint64_t addr)
{
	struct vmm_machine *m = cpu->m;
	const struct vmm_kernel_layout *l = &m->init_mm.layout;
	vmm_paddr_t pa;

	if (!(m->cfg.flags & VMM_CFG_VMALLOC_LAZY) || addr < l->vmalloc_start ||
	    addr >= l->vmalloc_end)
		return false;
	if (vmm_pgd_sync_kernel(m, cpu->regs.cr3 & VMM_PTE_ADDR_MASK, addr))
		return false;
	return vmm_kernel_translate(m, addr, &pa) == 0;
}

/*
 * spurious_fault(): the page tables in force already allow the access (the
 * fault came from a stale TLB or paging-structure-cache entry, which the
 * fault's delivery has dropped). The walk has no side effect.
 */
static bool spurious_fault(struct vmm_cpu *cpu, const struct vmm_fault_info *f)
{
	struct vmm_walk w;

	return vmm_cpu_walk(cpu, f->addr, f->access, &w) == 0 && w.fault == VMM_FAULT_NONE;
}

static int do_kern_addr_fault(struct vmm_cpu *cpu, struct vmm_fault_info *f)
{
	struct vmm_machine *m = cpu->m;
	unsigned ec = f->error_code;

	vmm_charge(m, VMM_CYC_FAULT, m->clock.cost.fault_kernel);
	if (!(ec & (VMM_PF_RSVD | VMM_PF_U | VMM_PF_P)) && vmalloc_fault(cpu, f->addr)) {
		m->fault.stats.vmalloc_syncs++;
		return 0;
	}
	if (spurious_fault(cpu, f)) {
		m->fault.stats.spurious++;
		return 0;
	}
	return bad_area(cpu, f, VMM_SEGV_MAPERR);
}

/* ---- user addresses ---- */

/* access_error(): does @v forbid the access the error code describes? */
static bool access_error(unsigned ec, const struct vmm_vma *v)
{
	if (ec & VMM_PF_PK)
		return true;
	if (ec & VMM_PF_W)
		return !(v->vm_flags & VMM_VM_WRITE);
	if (ec & VMM_PF_P)	/* read (or fetch), present: the PTE already said no */
		return true;
	return !(v->vm_flags & VM_ACCESS_FLAGS);
}

/* mm_fault_error(): what a failed handle_mm_fault() becomes. */
static int mm_fault_error(struct vmm_cpu *cpu, struct vmm_fault_info *f, unsigned fault)
{
	struct vmm_machine *m = cpu->m;
	struct vmm_task *t = current_task(cpu);
	bool user = f->error_code & VMM_PF_U;

	if (fault & VMF_OOM) {
		if (!user)
			return no_context(cpu, f);
		/* pagefault_out_of_memory(): no OOM killer yet, so the access fails */
		m->fault.stats.oom++;
		vmm_guest_err(&m->log, "pid %d (%s): out of memory on a fault at %#" PRIx64,
			      t ? t->pid : 0, t ? t->comm : "?", f->addr);
		return -VMM_ENOMEM;
	}
	if (fault & (VMF_SIGBUS | VMF_HWPOISON)) {
		if (!user)
			return no_context(cpu, f);
		if (t)
			t->flt.sigbus++;
		return force_sig(f, VMM_SIGBUS, VMM_BUS_ADRERR);
	}
	return bad_area(cpu, f, VMM_SEGV_MAPERR);
}

static int do_user_addr_fault(struct vmm_cpu *cpu, struct vmm_fault_info *f)
{
	struct vmm_task *t = current_task(cpu);
	unsigned ec = f->error_code, flags = 0, fault;
	struct vmm_vma *v;

	if (ec & VMM_PF_RSVD)
		return page_fault_oops(cpu, f, "Bad pagetable: reserved bits set in a user page table");
	if ((ec & (VMM_PF_U | VMM_PF_I)) == VMM_PF_I)
		return page_fault_oops(cpu, f, "unable to execute userspace code (SMEP?)");
	if ((cpu->regs.cr4 & VMM_CR4_SMAP) && !(ec & VMM_PF_U) &&
	    !(cpu->regs.rflags & VMM_RFLAGS_AC))
		return page_fault_oops(cpu, f, NULL);
	if (!t || !t->mm)
		return bad_area(cpu, f, VMM_SEGV_MAPERR);
	if (ec & VMM_PF_U)
		flags |= FAULT_FLAG_USER;
	if (ec & VMM_PF_W)
		flags |= FAULT_FLAG_WRITE;
	if (ec & VMM_PF_I)
		flags |= FAULT_FLAG_INSTRUCTION;
	v = vmm_vma_find(t->mm, f->addr);
	if (!v)
		return bad_area(cpu, f, VMM_SEGV_MAPERR);
	if (v->vm_start > f->addr &&
	    (!(v->vm_flags & VMM_VM_GROWSDOWN) ||
	     vmm_fault_expand_stack(t, v, f->addr, ec & VMM_PF_U)))
		return bad_area(cpu, f, VMM_SEGV_MAPERR);
	if (access_error(ec, v))
		return bad_area(cpu, f, (ec & VMM_PF_PK) ? VMM_SEGV_PKUERR : VMM_SEGV_ACCERR);
	fault = vmm_handle_mm_fault(t, v, f->addr, flags);
	if (fault & VMF_ERROR)
		return mm_fault_error(cpu, f, fault);
	return 0;
}

/* do_page_fault(): the machine's default #PF handler. */
static int do_page_fault(void *data, vmm_cpu *cpu, struct vmm_fault_info *f)
{
	(void)data;
	vmm_charge(cpu->m, VMM_CYC_FAULT, cpu->m->clock.cost.fault_entry);
	if (f->addr >= task_size_max(cpu))
		return do_kern_addr_fault(cpu, f);
	return do_user_addr_fault(cpu, f);
}

void vmm_fault_init(struct vmm_machine *m)
{
	m->mmu.default_fn = do_page_fault;
	m->mmu.default_data = NULL;
	if (!m->mmu.fault_fn)
		vmm_machine_set_fault_handler(m, NULL, NULL);
	m->tasks.populate = vmm_fault_populate;
}

long vmm_fault_check(struct vmm_machine *m, FILE *out)
{
	long problems = 0;

	for (unsigned c = 0; c < m->nr_cpus; c++) {
		if (!m->fault.pcpu[c].uaccess)
			continue;
		fprintf(out, "cpu%u: still marked inside a user-memory accessor\n", c);
		problems++;
	}
	return problems;
}

/* ---- the public counters ---- */

int vmm_task_fault_stats(const vmm_task *t, struct vmm_task_fault_stats *out)
{
	if (!t || !out)
		return -VMM_EINVAL;
	*out = t->flt;
	return 0;
}

int vmm_fault_stats(const vmm_machine *m, struct vmm_fault_stats *out)
{
	if (!m || !out)
		return -VMM_EINVAL;
	*out = m->fault.stats;
	return 0;
}

int vmm_task_set_sp(vmm_task *t, vmm_vaddr_t sp)
{
	if (!t || t->exited)
		return -VMM_EINVAL;
	t->sp = sp;
	return 0;
}
