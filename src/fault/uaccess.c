/* SPDX-License-Identifier: MIT */
/*
 * The user-memory accessors (copy_from_user, copy_to_user, get_user,
 * put_user): kernel code running for the task on a CPU reaching into its
 * user half.
 *
 * Each is one CPL 0 access through the MMU, bracketed as Linux brackets it:
 * access_ok() first (the range lies below TASK_SIZE_MAX), stac() when
 * CR4.SMAP is on (RFLAGS.AC set so that supervisor accesses to user pages
 * are allowed), the access marked in this CPU's exception table, then
 * clac(). A fault in the access goes through do_page_fault like any other:
 * a valid address is faulted in and the access goes on; a bad one reaches
 * no_context, which finds the mark and ends the access with -VMM_EFAULT
 * (fixup_exception) instead of an oops. CPL and RFLAGS are restored.
 */
#include "fault/core.h"

#include <string.h>

#include <vmm/errors.h>

#include "machine.h"
#include "mm/mm_types.h"
#include "sim/cpu.h"

/* What user_access_begin() changed, for user_access_end(). */
struct uaccess_save {
	uint64_t cpl, rflags;
};

/* access_ok(), then switch to a marked CPL 0 access with AC set under SMAP (stac). */
static int user_access_begin(struct vmm_cpu *cpu, uint64_t addr, size_t n,
			     struct uaccess_save *s, const char *fn)
{
	struct vmm_machine *m = cpu->m;
	uint64_t limit = cpu->levels == 5 ? TASK_SIZE_MAX_5L : TASK_SIZE_MAX_4L;
	struct vmm_fault_pcpu *pc = &m->fault.pcpu[cpu->id];

	if (!m->tasks.tlbstate[cpu->id].current) {
		vmm_caller_err(&m->log, "%s: cpu%u runs no task", fn, cpu->id);
		return -VMM_EINVAL;
	}
	vmm_switch_cpu(m, cpu->id);
	vmm_charge(m, VMM_CYC_FAULT, m->clock.cost.uaccess);
	if (n > limit || addr > limit - n)
		return -VMM_EFAULT;
	s->cpl = cpu->regs.cpl;
	s->rflags = cpu->regs.rflags;
	vmm_cpu_set_reg(cpu, VMM_REG_CPL, 0);
	if (cpu->regs.cr4 & VMM_CR4_SMAP)
		vmm_cpu_set_reg(cpu, VMM_REG_RFLAGS, s->rflags | VMM_RFLAGS_AC);
	pc->uaccess = true;
	pc->fixed_up = false;
	return 0;
}

/* clac() and the old CPL; a fixed-up fault makes the result -VMM_EFAULT. */
static int user_access_end(struct vmm_cpu *cpu, const struct uaccess_save *s, int err)
{
	struct vmm_fault_pcpu *pc = &cpu->m->fault.pcpu[cpu->id];

	vmm_cpu_set_reg(cpu, VMM_REG_RFLAGS, s->rflags);
	vmm_cpu_set_reg(cpu, VMM_REG_CPL, s->cpl);
	pc->uaccess = false;
	if (pc->fixed_up)
		return -VMM_EFAULT;
	return err;
}

/* One accessor access: @rbuf to read into, or @wbuf to write from. Returns bytes done in *done. */
static int user_access(struct vmm_cpu *cpu, uint64_t uaddr, void *rbuf, const void *wbuf,
		       size_t n, size_t *done, const char *fn)
{
	struct vmm_access_result r;
	struct uaccess_save s;
	int err;

	*done = 0;
	if (!n)
		return 0;
	if ((err = user_access_begin(cpu, uaddr, n, &s, fn)))
		return err;
	memset(&r, 0, sizeof(r));
	if (rbuf)
		err = vmm_cpu_read(cpu, uaddr, rbuf, n, 0, &r);
	else
		err = vmm_cpu_write(cpu, uaddr, wbuf, n, 0, &r);
	*done = err ? r.bytes : n;
	return user_access_end(cpu, &s, err);
}

int vmm_copy_from_user(vmm_cpu *cpu, void *dst, vmm_vaddr_t src, size_t n, size_t *not_copied)
{
	size_t done = 0;
	int err;

	if (!cpu || (!dst && n))
		return -VMM_EINVAL;
	err = user_access(cpu, src, dst, NULL, n, &done, __func__);
	if (done < n && dst)
		memset((char *)dst + done, 0, n - done);	/* copy_from_user zeroes the rest */
	if (not_copied)
		*not_copied = n - done;
	return err;
}

int vmm_copy_to_user(vmm_cpu *cpu, vmm_vaddr_t dst, const void *src, size_t n, size_t *not_copied)
{
	size_t done = 0;
	int err;

	if (!cpu || (!src && n))
		return -VMM_EINVAL;
	err = user_access(cpu, dst, NULL, src, n, &done, __func__);
	if (not_copied)
		*not_copied = n - done;
	return err;
}

static bool size_ok(unsigned size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

int vmm_get_user(vmm_cpu *cpu, vmm_vaddr_t uaddr, unsigned size, uint64_t *val)
{
	uint8_t b[8] = { 0 };
	size_t done;
	int err;

	if (!cpu || !val || !size_ok(size)) {
		if (cpu)
			vmm_caller_err(&cpu->m->log, "%s: size %u or val NULL", __func__, size);
		return -VMM_EINVAL;
	}
	err = user_access(cpu, uaddr, b, NULL, size, &done, __func__);
	*val = 0;
	if (!err)
		for (unsigned i = 0; i < size; i++)
			*val |= (uint64_t)b[i] << (8 * i);
	return err;
}

int vmm_put_user(vmm_cpu *cpu, vmm_vaddr_t uaddr, unsigned size, uint64_t val)
{
	uint8_t b[8];
	size_t done;

	if (!cpu || !size_ok(size)) {
		if (cpu)
			vmm_caller_err(&cpu->m->log, "%s: size %u", __func__, size);
		return -VMM_EINVAL;
	}
	for (unsigned i = 0; i < size; i++)
		b[i] = (uint8_t)(val >> (8 * i));
	return user_access(cpu, uaddr, NULL, b, size, &done, __func__);
}
