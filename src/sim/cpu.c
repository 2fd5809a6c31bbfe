/* SPDX-License-Identifier: MIT */
/*
 * The CPUs: their registers with the invalidations register writes imply,
 * the public access calls (translate, access, read, write, walk), the
 * invalidation instructions, TLB shootdowns, counters and dumps.
 *
 * An access (vmm_cpu_access and friends) runs page by page: translate,
 * charge the TLB and walk cycles, and on #PF deliver the fault the way the
 * processor does (CR2, fault-delivery cycles, and the invalidation of the
 * TLB and paging-structure-cache entries for the address, SDM 4.10.4.3),
 * call the machine's fault handler and retry. A data reference is charged
 * per page touched, at the NUMA distance from the CPU to the frame (or as
 * the embedder's latency callback says).
 */
#include "sim/cpu.h"

#include <inttypes.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <vmm/errors.h>

#include "lib/compiler.h"
#include "machine.h"
#include "sim/mmu.h"

/* Bits MOV to CR0 / CR4 accept; the rest are reserved (#GP). */
#define CR0_VALID                                                                           \
	(VMM_CR0_PE | VMM_CR0_MP | VMM_CR0_EM | VMM_CR0_TS | VMM_CR0_ET | VMM_CR0_NE |      \
	 VMM_CR0_WP | VMM_CR0_AM | VMM_CR0_NW | VMM_CR0_CD | VMM_CR0_PG)
#define CR4_VALID                                                                           \
	(VMM_CR4_PSE | VMM_CR4_PAE | VMM_CR4_PGE | VMM_CR4_PCE | VMM_CR4_OSFXSR |           \
	 VMM_CR4_OSXMMEXCPT | VMM_CR4_UMIP | VMM_CR4_LA57 | VMM_CR4_FSGSBASE | VMM_CR4_PCIDE | \
	 VMM_CR4_OSXSAVE | VMM_CR4_SMEP | VMM_CR4_SMAP | VMM_CR4_PKE)
#define EFER_VALID (VMM_EFER_SCE | VMM_EFER_LME | VMM_EFER_LMA | VMM_EFER_NXE)

/* Linux's signal numbers and si_codes, as an access reports them. */
#define SIGSEGV 11
#define SEGV_MAPERR 1
#define SEGV_ACCERR 2
#define SEGV_PKUERR 4
#define SI_KERNEL 0x80

/* A handler that keeps returning 0 without fixing the fault gives up after this many retries. */
#define FAULT_RETRIES 16

/* Linux's tlb_single_page_flush_ceiling: longer ranges are flushed whole. */
#define FLUSH_CEILING_PAGES 33

static void cpu_reset_regs(struct vmm_cpu *cpu, unsigned levels)
{
	memset(&cpu->regs, 0, sizeof(cpu->regs));
	cpu->regs.cr0 = VMM_CR0_PE | VMM_CR0_ET | VMM_CR0_NE | VMM_CR0_WP | VMM_CR0_PG;
	cpu->regs.cr4 = VMM_CR4_PAE | VMM_CR4_PGE | (levels == 5 ? VMM_CR4_LA57 : 0);
	cpu->regs.efer = VMM_EFER_SCE | VMM_EFER_LME | VMM_EFER_LMA | VMM_EFER_NXE;
	cpu->regs.rflags = VMM_RFLAGS_FIXED;
	cpu->paging = 1;
	cpu->pcid = 0;
	cpu->va_shift = levels == 5 ? 7 : 16;
	vmm_cpu_update_perm(cpu);
}

int vmm_cpus_init(struct vmm_machine *m)
{
	const struct vmm_cost_table *c = &m->clock.cost;
	int err;

	m->mmu.maxphy_mask = (1ull << m->cfg.phys_addr_bits) - 1;
	m->mmu.rsvd_addr_mask = VMM_PTE_ADDR_MASK & ~m->mmu.maxphy_mask;
	m->mmu.cpus = vmm_hcalloc(&m->hm, m->nr_cpus, sizeof(*m->mmu.cpus));
	if (!m->mmu.cpus)
		return -VMM_ENOMEM;
	for (unsigned i = 0; i < m->nr_cpus; i++) {
		struct vmm_cpu *cpu = &m->mmu.cpus[i];

		cpu->m = m;
		cpu->id = i;
		cpu->nid = m->cfg.cpu_node[i];
		err = vmm_tlb_init(&cpu->tlb, &m->cfg, &m->prng, &m->hm);
		if (err)
			return err;
		cpu->pcid_root = vmm_hcalloc(&m->hm, TLB_NR_PCIDS, sizeof(*cpu->pcid_root));
		if (!cpu->pcid_root)
			return -VMM_ENOMEM;
		for (unsigned n = 0; n < m->nr_nodes; n++) {
			unsigned d = m->cfg.distance[cpu->nid][n];

			cpu->mem_cost[n] = c->mem_local * d / VMM_LOCAL_DISTANCE;
			cpu->walk_cost[n] = c->walk_mem_local * d / VMM_LOCAL_DISTANCE;
		}
		cpu->l1_hit_cost = c->tlb_l1_hit;
		cpu->l2_miss_cost = (uint64_t)c->tlb_l1_hit + c->tlb_l2_hit;
		cpu->pwc_hit_cost = c->pwc_hit;
		cpu_reset_regs(cpu, m->cfg.paging_levels);
	}
	return 0;
}

void vmm_cpus_destroy(struct vmm_machine *m)
{
	if (!m->mmu.cpus)
		return;
	for (unsigned i = 0; i < m->nr_cpus; i++) {
		struct vmm_cpu *cpu = &m->mmu.cpus[i];

		vmm_tlb_destroy(&cpu->tlb, &m->hm);
		if (cpu->pcid_root)
			vmm_hfree(&m->hm, cpu->pcid_root, TLB_NR_PCIDS * sizeof(*cpu->pcid_root));
	}
	vmm_hfree(&m->hm, m->mmu.cpus, m->nr_cpus * sizeof(*m->mmu.cpus));
	m->mmu.cpus = NULL;
}

static void charge_cpu(struct vmm_cpu *cpu, enum vmm_cycle_category cat, uint64_t cycles)
{
	vmm_clock_charge(&cpu->m->clock, cpu->id, cat, cycles);
}

/* ---- invalidation primitives ---- */

/* Everything: every PCID, globals, every PWC entry. */
static void flush_everything(struct vmm_cpu *cpu)
{
	vmm_tlb_flush_range(&cpu->tlb, 0, 0, 0, true, TLB_GLOBAL_TOO);
	vmm_pwc_flush(&cpu->tlb, 0, true);
	cpu->stats.tlb_flushes++;
	charge_cpu(cpu, VMM_CYC_TLB, cpu->m->clock.cost.tlb_flush);
}

/* One PCID's entries (globals as @g) and its PWC entries. */
static void flush_pcid(struct vmm_cpu *cpu, uint16_t pcid, enum tlb_globals g)
{
	vmm_tlb_flush_range(&cpu->tlb, 0, 0, pcid, false, g);
	vmm_pwc_flush(&cpu->tlb, pcid, false);
	cpu->stats.tlb_flushes++;
	charge_cpu(cpu, VMM_CYC_TLB, cpu->m->clock.cost.tlb_flush);
}

/* ---- registers ---- */

static bool long_mode(const struct vmm_cpu *cpu)
{
	return (cpu->regs.cr0 & VMM_CR0_PG) && (cpu->regs.efer & VMM_EFER_LME);
}

static int set_cr0(struct vmm_cpu *cpu, uint64_t v)
{
	uint64_t old = cpu->regs.cr0;

	if (v & ~CR0_VALID || ((v & VMM_CR0_PG) && !(v & VMM_CR0_PE)) ||
	    ((v & VMM_CR0_NW) && !(v & VMM_CR0_CD)))
		return -VMM_EINVAL;
	if ((old & VMM_CR0_PG) && !(v & VMM_CR0_PG) && (cpu->regs.cr4 & VMM_CR4_PCIDE))
		return -VMM_EINVAL;
	if ((v & VMM_CR0_PG) &&
	    (!(cpu->regs.cr4 & VMM_CR4_PAE) || !(cpu->regs.efer & VMM_EFER_LME)))
		return -VMM_EOPNOTSUPP;
	cpu->regs.cr0 = v;
	if ((old & VMM_CR0_PG) && !(v & VMM_CR0_PG))
		flush_everything(cpu);
	cpu->paging = !!(v & VMM_CR0_PG);
	if (cpu->paging)
		cpu->regs.efer |= VMM_EFER_LMA;
	else
		cpu->regs.efer &= ~VMM_EFER_LMA;
	vmm_cpu_update_perm(cpu);
	return 0;
}

static int set_cr4(struct vmm_cpu *cpu, uint64_t v)
{
	uint64_t old = cpu->regs.cr4, diff = old ^ v;

	if (v & ~CR4_VALID)
		return -VMM_EINVAL;
	if (long_mode(cpu) && ((diff & VMM_CR4_LA57) || !(v & VMM_CR4_PAE)))
		return -VMM_EINVAL;
	if ((v & VMM_CR4_PCIDE) && !(old & VMM_CR4_PCIDE) &&
	    (!long_mode(cpu) || (cpu->regs.cr3 & VMM_CR3_PCID_MASK)))
		return -VMM_EINVAL;
	cpu->regs.cr4 = v;
	cpu->va_shift = (v & VMM_CR4_LA57) ? 7 : 16;
	if ((diff & VMM_CR4_PGE) || ((old & VMM_CR4_PCIDE) && !(v & VMM_CR4_PCIDE)))
		flush_everything(cpu);
	else if ((diff & VMM_CR4_PAE) || ((v & VMM_CR4_SMEP) && !(old & VMM_CR4_SMEP)))
		flush_pcid(cpu, cpu->pcid, TLB_GLOBAL_TOO);
	if (!(v & VMM_CR4_PCIDE))
		cpu->pcid = 0;
	else
		cpu->pcid = cpu->regs.cr3 & VMM_CR3_PCID_MASK;
	vmm_tlb_forget_memo(&cpu->tlb);	/* its entries may belong to the old PCID */
	vmm_cpu_update_perm(cpu);
	return 0;
}

static int set_cr3(struct vmm_cpu *cpu, uint64_t v)
{
	bool pcide = cpu->regs.cr4 & VMM_CR4_PCIDE;
	bool noflush = pcide && (v & VMM_CR3_NOFLUSH);
	uint64_t maxphy = (1ull << cpu->m->cfg.phys_addr_bits) - 1;
	uint64_t addr;

	if (pcide)
		v &= ~VMM_CR3_NOFLUSH;
	if (v & ~maxphy)
		return -VMM_EINVAL;
	addr = v & ~0xfffull;
	cpu->regs.cr3 = v;
	cpu->pcid = pcide ? (uint16_t)(v & VMM_CR3_PCID_MASK) : 0;
	vmm_tlb_forget_last(&cpu->tlb);	/* its entries may belong to the old PCID */
	vmm_tlb_forget_memo(&cpu->tlb);
	cpu->pcid_root[cpu->pcid] = addr;
	cpu->stats.cr3_writes++;
	if (!noflush)
		flush_pcid(cpu, cpu->pcid, TLB_KEEP_GLOBAL);
	return 0;
}

static int set_efer(struct vmm_cpu *cpu, uint64_t v)
{
	if (v & ~EFER_VALID)
		return -VMM_EINVAL;
	if ((cpu->regs.cr0 & VMM_CR0_PG) && ((v ^ cpu->regs.efer) & VMM_EFER_LME))
		return -VMM_EINVAL;
	/* LMA is read-only: it follows CR0.PG with LME */
	cpu->regs.efer = (v & ~VMM_EFER_LMA) | (cpu->regs.efer & VMM_EFER_LMA);
	vmm_cpu_update_perm(cpu);
	return 0;
}

vmm_cpu *vmm_machine_cpu(vmm_machine *m, unsigned id)
{
	if (!m)
		return NULL;
	if (id >= m->nr_cpus) {
		vmm_caller_err(&m->log, "vmm_machine_cpu: cpu %u does not exist (%u CPUs)", id,
			       m->nr_cpus);
		return NULL;
	}
	return &m->mmu.cpus[id];
}

int vmm_cpu_id(const vmm_cpu *cpu)
{
	return cpu ? (int)cpu->id : -VMM_EINVAL;
}

int vmm_machine_set_fault_handler(vmm_machine *m, vmm_fault_handler_fn fn, void *data)
{
	if (!m)
		return -VMM_EINVAL;
	m->mmu.fault_fn = fn ? fn : m->mmu.default_fn;
	m->mmu.fault_data = fn ? data : m->mmu.default_data;
	return 0;
}

int vmm_cpu_get_reg(const vmm_cpu *cpu, enum vmm_cpu_reg reg, uint64_t *out)
{
	if (!cpu || !out || (unsigned)reg >= VMM_REG_NR) {
		if (cpu)
			vmm_caller_err(&cpu->m->log, "vmm_cpu_get_reg: %s",
				       out ? "unknown register" : "out is NULL");
		return -VMM_EINVAL;
	}
	switch (reg) {
	case VMM_REG_CR0: *out = cpu->regs.cr0; break;
	case VMM_REG_CR2: *out = cpu->regs.cr2; break;
	case VMM_REG_CR3: *out = cpu->regs.cr3; break;
	case VMM_REG_CR4: *out = cpu->regs.cr4; break;
	case VMM_REG_EFER: *out = cpu->regs.efer; break;
	case VMM_REG_RFLAGS: *out = cpu->regs.rflags; break;
	case VMM_REG_PKRU: *out = cpu->regs.pkru; break;
	default: *out = cpu->regs.cpl; break;
	}
	return 0;
}

static const char *const reg_names[VMM_REG_NR] = { "CR0", "CR2", "CR3", "CR4",
						    "EFER", "RFLAGS", "PKRU", "CPL" };

int vmm_cpu_set_reg(vmm_cpu *cpu, enum vmm_cpu_reg reg, uint64_t v)
{
	int err = 0;

	if (!cpu)
		return -VMM_EINVAL;
	if ((unsigned)reg >= VMM_REG_NR) {
		vmm_caller_err(&cpu->m->log, "vmm_cpu_set_reg: unknown register %d", (int)reg);
		return -VMM_EINVAL;
	}
	switch (reg) {
	case VMM_REG_CR0: err = set_cr0(cpu, v); break;
	case VMM_REG_CR2: cpu->regs.cr2 = v; break;
	case VMM_REG_CR3: err = set_cr3(cpu, v); break;
	case VMM_REG_CR4: err = set_cr4(cpu, v); break;
	case VMM_REG_EFER: err = set_efer(cpu, v); break;
	case VMM_REG_RFLAGS:
		if (v & ~(VMM_RFLAGS_AC | VMM_RFLAGS_FIXED)) {
			err = -VMM_EINVAL;
			break;
		}
		cpu->regs.rflags = v | VMM_RFLAGS_FIXED;
		vmm_cpu_update_perm(cpu);
		break;
	case VMM_REG_PKRU:
		if (v > UINT32_MAX) {
			err = -VMM_EINVAL;
			break;
		}
		cpu->regs.pkru = (uint32_t)v;
		vmm_cpu_update_perm(cpu);
		break;
	default:
		if (v > 3) {
			err = -VMM_EINVAL;
			break;
		}
		cpu->regs.cpl = (uint32_t)v;
		break;
	}
	if (err)
		vmm_caller_err(&cpu->m->log, "vmm_cpu_set_reg: cpu%u %s <- %#" PRIx64 " %s", cpu->id,
			       reg_names[reg], v,
			       err == -VMM_EOPNOTSUPP ? "needs a paging mode libvmm does not model"
						      : "would raise #GP");
	return err;
}

/* ---- accesses ---- */

/*
 * What VMM_ACC_* flags @f (0..VMM_ACC_ALL) mean: the access kind (type |
 * mode << 2), DECODE_CPL with the supervisor mode when the CPL decides (user
 * at CPL 3), or DECODE_BAD: WRITE with EXEC, or IMPLICIT with USER or EXEC.
 */
#define DECODE_BAD 0xffu
#define DECODE_CPL 0x80u
#define DECODE_INVALID(f)                                  \
	((((f) & VMM_ACC_WRITE) && ((f) & VMM_ACC_EXEC)) || \
	 (((f) & VMM_ACC_IMPLICIT) && ((f) & (VMM_ACC_USER | VMM_ACC_EXEC))))
#define DECODE_TYPE(f) \
	((f) & VMM_ACC_WRITE ? ACC_WRITE : (f) & VMM_ACC_EXEC ? ACC_EXEC : ACC_READ)
#define DECODE_MODE(f)                                             \
	((f) & VMM_ACC_IMPLICIT ? MODE_IMPLICIT << 2                \
	 : (f) & VMM_ACC_USER	? MODE_USER << 2                    \
				: (MODE_SUPER << 2 | DECODE_CPL))
#define DECODE(f) (DECODE_INVALID(f) ? DECODE_BAD : DECODE_TYPE(f) | DECODE_MODE(f))

static const uint8_t acc_decode[VMM_ACC_ALL + 1] = {
	DECODE(0),  DECODE(1),	DECODE(2),  DECODE(3),	DECODE(4),  DECODE(5),
	DECODE(6),  DECODE(7),	DECODE(8),  DECODE(9),	DECODE(10), DECODE(11),
	DECODE(12), DECODE(13), DECODE(14), DECODE(15),
};

static bool decode_flags(const struct vmm_cpu *cpu, unsigned flags, unsigned *type,
			 unsigned *mode, const char *fn)
{
	unsigned d = flags <= VMM_ACC_ALL ? acc_decode[flags] : DECODE_BAD;

	if (unlikely(d == DECODE_BAD)) {
		vmm_caller_err(&cpu->m->log, "%s: bad access flags %#x", fn, flags);
		return false;
	}
	*type = d & 3;
	*mode = (d & DECODE_CPL) && cpu->regs.cpl == 3 ? MODE_USER : (d >> 2) & 3;
	return true;
}

int vmm_cpu_translate(vmm_cpu *cpu, vmm_vaddr_t va, unsigned flags, struct vmm_translation *out)
{
	struct mmu_xlat x;
	unsigned type, mode;

	if (!cpu || !out) {
		if (cpu)
			vmm_caller_err(&cpu->m->log, "vmm_cpu_translate: out is NULL");
		return -VMM_EINVAL;
	}
	if (!decode_flags(cpu, flags, &type, &mode, "vmm_cpu_translate"))
		return -VMM_EINVAL;
	vmm_mmu_translate(cpu, va, type, mode, 0, &x);
	memset(out, 0, sizeof(*out));
	out->paddr = x.fault ? 0 : x.pa;
	out->cycles = x.cyc_tlb + x.cyc_walk;
	out->fault = x.fault;
	out->error_code = x.error_code;
	out->page_shift = x.fault ? 0 : x.page_shift;
	out->source = x.source;
	out->walk_refs = x.walk_refs;
	out->pwc_level = x.pwc_level;
	return 0;
}

int vmm_cpu_walk(const vmm_cpu *cpu, vmm_vaddr_t va, unsigned flags, struct vmm_walk *out)
{
	unsigned type, mode;

	if (!cpu || !out) {
		if (cpu)
			vmm_caller_err(&cpu->m->log, "vmm_cpu_walk: out is NULL");
		return -VMM_EINVAL;
	}
	if (!decode_flags(cpu, flags, &type, &mode, "vmm_cpu_walk"))
		return -VMM_EINVAL;
	vmm_mmu_inspect(cpu, va, type, mode, out);
	return 0;
}

/*
 * Deliver #PF for @va: CR2, cycles (to @clk, the CPU's), and the
 * invalidations a page fault implies.
 */
static void deliver_pf(struct vmm_cpu *cpu, struct vmm_cpu_clock *clk, uint64_t va)
{
	cpu->regs.cr2 = va;
	cpu->stats.page_faults++;
	vmm_cpu_clock_charge(clk, VMM_CYC_FAULT, cpu->m->clock.cost.fault_delivery);
	vmm_tlb_flush_va(&cpu->tlb, va, cpu->pcid, false, TLB_GLOBAL_TOO);
	vmm_pwc_flush_va(&cpu->tlb, va, cpu->pcid, cpu->levels);
}

/* Charge @clk what translation @x cost. */
static inline void charge_xlat(struct vmm_cpu_clock *clk, const struct mmu_xlat *x)
{
	vmm_cpu_clock_charge(clk, VMM_CYC_TLB, x->cyc_tlb);
	if (x->cyc_walk)
		vmm_cpu_clock_charge(clk, VMM_CYC_WALK, x->cyc_walk);
}

/*
 * One page's part of an access, from its first translation *@xp (made,
 * not yet charged; each retry translates into it): deliver faults until it
 * translates, charging @clk (the CPU's clock, fixed for the machine, so it
 * outlives the handler's calls). Returns 0 with *pa set, 1 when a signal
 * ended the access (recorded in @res), or a negative error.
 */
static int access_page(struct vmm_cpu *cpu, struct vmm_cpu_clock *clk, uint64_t va, unsigned type,
		       unsigned mode, unsigned flags, struct vmm_access_result *res, uint64_t *pa,
		       struct mmu_xlat *xp)
{
	struct vmm_machine *m = cpu->m;

	for (unsigned tries = 0;; tries++) {
		struct vmm_fault_info fi;
		const struct mmu_xlat x = *xp;
		int err;

		charge_xlat(clk, &x);
		if (likely(!x.fault)) {
			*pa = x.pa;
			return 0;
		}
		res->fault_addr = va;
		if (x.fault == VMM_FAULT_GP) {
			cpu->stats.gp_faults++;
			vmm_cpu_clock_charge(clk, VMM_CYC_FAULT, m->clock.cost.fault_delivery);
			res->gp = 1;
			res->signal = SIGSEGV;
			res->si_code = SI_KERNEL;
			return 1;
		}
		deliver_pf(cpu, clk, va);
		res->faulted++;
		res->error_code = x.error_code;
		if (!m->mmu.fault_fn) {
			res->signal = SIGSEGV;
			res->si_code = (x.error_code & VMM_PF_PK)  ? SEGV_PKUERR
				       : (x.error_code & VMM_PF_P) ? SEGV_ACCERR
								   : SEGV_MAPERR;
			return 1;
		}
		if (tries >= FAULT_RETRIES) {
			vmm_guest_err(&m->log,
				      "cpu%u: #PF at %#" PRIx64 " (error code %#x) persists after %u "
				      "handler calls",
				      cpu->id, va, x.error_code, tries);
			return -VMM_EFAULT;
		}
		memset(&fi, 0, sizeof(fi));
		fi.addr = va;
		fi.error_code = x.error_code;
		fi.access = flags;
		err = m->mmu.fault_fn(m->mmu.fault_data, cpu, &fi);
		if (err < 0)
			return err;
		if (fi.signal) {
			res->signal = fi.signal;
			res->si_code = fi.si_code;
			return 1;
		}
		vmm_mmu_translate(cpu, va, type, mode, MMU_ACCOUNT, xp);
	}
}

static unsigned memref_kind(unsigned type)
{
	return type == ACC_WRITE ? VMM_MEMREF_WRITE
	       : type == ACC_EXEC ? VMM_MEMREF_FETCH
				  : VMM_MEMREF_READ;
}

/*
 * memcpy() of @n bytes, without the call for the loads and stores of one
 * to eight bytes that programs make most (two overlapping moves cover
 * every such length).
 */
static inline void copy_data(void *dst, const void *src, size_t n)
{
	if (n > 8 || !n) {
		memcpy(dst, src, n);
	} else if (n >= 4) {
		uint32_t a, b;

		memcpy(&a, src, 4);
		memcpy(&b, (const char *)src + n - 4, 4);
		memcpy(dst, &a, 4);
		memcpy((char *)dst + n - 4, &b, 4);
	} else if (n >= 2) {
		uint16_t a, b;

		memcpy(&a, src, 2);
		memcpy(&b, (const char *)src + n - 2, 2);
		memcpy(dst, &a, 2);
		memcpy((char *)dst + n - 2, &b, 2);
	} else {
		*(uint8_t *)dst = *(const uint8_t *)src;
	}
}

/*
 * The data reference of @chunk bytes at @pa (where @cur translated):
 * charge it (its cycles in *@cycles), and copy the bytes to @rbuf or from
 * @wbuf when one is given; -VMM_EFAULT, having copied nothing, when bytes
 * were to move and @pa is not RAM.
 */
static inline int access_data(struct vmm_cpu *cpu, struct vmm_cpu_clock *clk, uint64_t cur,
			      uint64_t pa, unsigned type, void *rbuf, const void *wbuf,
			      size_t chunk, uint32_t *cycles)
{
	struct vmm_machine *m = cpu->m;
	bool ram;

	*cycles = vmm_mmu_data_ref(cpu, pa, memref_kind(type), &ram);
	vmm_cpu_clock_charge(clk, VMM_CYC_MEM, *cycles);
	if (!rbuf && !wbuf)
		return 0;
	if (unlikely(!ram)) {
		vmm_guest_err(&m->log,
			      "cpu%u: access to %#" PRIx64 " reaches pa %#" PRIx64 ", which is not RAM",
			      cpu->id, cur, pa);
		return -VMM_EFAULT;
	}
	if (rbuf)
		copy_data(rbuf, vmm_physmem_host_ro(&m->phys, pa), chunk);
	else if (wbuf)
		copy_data(vmm_physmem_host(&m->phys, pa), wbuf, chunk);
	return 0;
}

/* Set *@r to the result of an access that translated at once, member by member (no copy). */
static inline void access_result(struct vmm_access_result *r, uint64_t paddr, uint64_t cycles,
				 uint64_t bytes)
{
	r->paddr = paddr;
	r->cycles = cycles;
	r->bytes = bytes;
	r->faulted = 0;
	r->signal = 0;
	r->si_code = 0;
	r->error_code = 0;
	r->fault_addr = 0;
	r->gp = 0;
	r->pad0 = 0;
	memset(r->reserved, 0, sizeof(r->reserved));
}

/*
 * The loop of access/read/write, for an access that the first translation
 * *@x (made, not yet charged) did not finish at once: page by page,
 * deliver faults, charge the translation and the data reference, and move
 * bytes when @rbuf or @wbuf is given.
 */
static __attribute__((noinline)) int
cpu_access_pages(struct vmm_cpu *cpu, uint64_t va, size_t len, unsigned flags, unsigned type,
		 unsigned mode, void *rbuf, const void *wbuf, struct vmm_access_result *out,
		 struct mmu_xlat *x)
{
	struct vmm_cpu_clock *clk = cpu->m->clock.by_cpu[cpu->id];
	struct vmm_access_result res;
	uint64_t before = vmm_cpu_clock_cycles(clk);	/* the translation charged nothing yet */
	uint64_t cur = va, pa;
	uint32_t data;
	size_t done = 0, chunk;
	int ret;

	/* all its bytes are members, so this zeroes it whole without a rep stos */
	res = (struct vmm_access_result){ 0 };
	for (;;) {
		chunk = VMM_MIN(len - done, VMM_PAGE_SIZE - (cur & (VMM_PAGE_SIZE - 1)));
		ret = access_page(cpu, clk, cur, type, mode, flags, &res, &pa, x);
		if (ret)
			break;
		if (!done)
			res.paddr = pa;
		ret = access_data(cpu, clk, cur, pa, type, rbuf ? (char *)rbuf + done : NULL,
				  wbuf ? (const char *)wbuf + done : NULL, chunk, &data);
		if (ret)
			break;
		done += chunk;
		if (done == len)
			break;
		cur = va + done;
		vmm_mmu_translate(cpu, cur, type, mode, MMU_ACCOUNT, x);
	}
	res.bytes = done;
	res.cycles = vmm_cpu_clock_cycles(clk) - before;
	if (out)
		*out = res;
	if (ret == 1)	/* ended by a signal */
		return (rbuf || wbuf) ? -VMM_EFAULT : 0;
	return ret;
}

/*
 * The common part of access/read/write, inlined into each so that what a
 * caller passes as NULL costs no test: translate, and an access within one
 * page whose translation succeeds at once (the common one) ends here,
 * charging the translation and the data reference, which are its result;
 * any other goes on in cpu_access_pages().
 */
static inline __attribute__((always_inline)) int
cpu_access(struct vmm_cpu *cpu, uint64_t va, size_t len, unsigned flags, void *rbuf,
	   const void *wbuf, struct vmm_access_result *out)
{
	struct vmm_machine *m = cpu->m;
	struct mmu_xlat x;
	unsigned type, mode;
	uint32_t data;
	int ret;

	vmm_switch_cpu(m, cpu->id);
	if (!decode_flags(cpu, flags, &type, &mode, "vmm_cpu_access"))
		return -VMM_EINVAL;
	vmm_mmu_translate(cpu, va, type, mode, MMU_ACCOUNT, &x);
	if (unlikely(x.fault || (va & (VMM_PAGE_SIZE - 1)) + len > VMM_PAGE_SIZE))
		return cpu_access_pages(cpu, va, len, flags, type, mode, rbuf, wbuf, out, &x);
	{
		struct vmm_cpu_clock *clk = m->clock.by_cpu[cpu->id];

		charge_xlat(clk, &x);
		ret = access_data(cpu, clk, va, x.pa, type, rbuf, wbuf, len, &data);
	}
	if (out)
		access_result(out, x.pa, x.cyc_tlb + x.cyc_walk + data, ret ? 0 : len);
	return ret;
}

static int check_range(const struct vmm_cpu *cpu, uint64_t va, size_t len, const char *fn)
{
	if (!len || va + (len - 1) < va) {
		vmm_caller_err(&cpu->m->log, "%s: bad length %zu at %#" PRIx64, fn, len, va);
		return -VMM_EINVAL;
	}
	return 0;
}

int vmm_cpu_access(vmm_cpu *cpu, vmm_vaddr_t va, size_t len, unsigned flags,
		   struct vmm_access_result *out)
{
	if (!cpu)
		return -VMM_EINVAL;
	if (check_range(cpu, va, len, "vmm_cpu_access"))
		return -VMM_EINVAL;
	return cpu_access(cpu, va, len, flags, NULL, NULL, out);
}

int vmm_cpu_read(vmm_cpu *cpu, vmm_vaddr_t va, void *buf, size_t len, unsigned flags,
		 struct vmm_access_result *out)
{
	if (!cpu)
		return -VMM_EINVAL;
	if (!buf || (flags & VMM_ACC_WRITE)) {
		vmm_caller_err(&cpu->m->log, "vmm_cpu_read: %s", buf ? "bad flags" : "buf is NULL");
		return -VMM_EINVAL;
	}
	if (check_range(cpu, va, len, "vmm_cpu_read"))
		return -VMM_EINVAL;
	return cpu_access(cpu, va, len, flags, buf, NULL, out);
}

int vmm_cpu_write(vmm_cpu *cpu, vmm_vaddr_t va, const void *buf, size_t len, unsigned flags,
		  struct vmm_access_result *out)
{
	if (!cpu)
		return -VMM_EINVAL;
	if (!buf || (flags & (VMM_ACC_WRITE | VMM_ACC_EXEC))) {
		vmm_caller_err(&cpu->m->log, "vmm_cpu_write: %s",
			       buf ? "bad flags" : "buf is NULL");
		return -VMM_EINVAL;
	}
	if (check_range(cpu, va, len, "vmm_cpu_write"))
		return -VMM_EINVAL;
	return cpu_access(cpu, va, len, flags | VMM_ACC_WRITE, NULL, buf, out);
}

/* ---- invalidation instructions ---- */

int vmm_cpu_invlpg(vmm_cpu *cpu, vmm_vaddr_t va)
{
	if (!cpu)
		return -VMM_EINVAL;
	if (!mmu_canonical(cpu, va)) {
		vmm_caller_err(&cpu->m->log, "vmm_cpu_invlpg: %#" PRIx64 " is not canonical (#GP)",
			       va);
		return -VMM_EINVAL;
	}
	vmm_tlb_flush_va(&cpu->tlb, va, cpu->pcid, false, TLB_GLOBAL_TOO);
	vmm_pwc_flush(&cpu->tlb, cpu->pcid, false);
	cpu->stats.invlpg++;
	charge_cpu(cpu, VMM_CYC_TLB, cpu->m->clock.cost.invlpg);
	return 0;
}

int vmm_cpu_invpcid(vmm_cpu *cpu, enum vmm_invpcid_type type, unsigned pcid, vmm_vaddr_t va)
{
	if (!cpu)
		return -VMM_EINVAL;
	if ((unsigned)type > VMM_INVPCID_ALL || pcid >= TLB_NR_PCIDS ||
	    (type == VMM_INVPCID_ADDR && !mmu_canonical(cpu, va)) ||
	    (type <= VMM_INVPCID_SINGLE && pcid && !(cpu->regs.cr4 & VMM_CR4_PCIDE))) {
		vmm_caller_err(&cpu->m->log,
			       "vmm_cpu_invpcid: type %d pcid %u va %#" PRIx64 " would raise #GP",
			       (int)type, pcid, va);
		return -VMM_EINVAL;
	}
	cpu->stats.invpcid++;
	switch (type) {
	case VMM_INVPCID_ADDR:
		vmm_tlb_flush_va(&cpu->tlb, va, (uint16_t)pcid, false, TLB_KEEP_GLOBAL);
		vmm_pwc_flush(&cpu->tlb, (uint16_t)pcid, false);
		charge_cpu(cpu, VMM_CYC_TLB, cpu->m->clock.cost.invlpg);
		break;
	case VMM_INVPCID_SINGLE:
		flush_pcid(cpu, (uint16_t)pcid, TLB_KEEP_GLOBAL);
		break;
	case VMM_INVPCID_ALL_GLOBAL:
		flush_everything(cpu);
		break;
	default:
		vmm_tlb_flush_range(&cpu->tlb, 0, 0, 0, true, TLB_KEEP_GLOBAL);
		vmm_pwc_flush(&cpu->tlb, 0, true);
		cpu->stats.tlb_flushes++;
		charge_cpu(cpu, VMM_CYC_TLB, cpu->m->clock.cost.tlb_flush);
		break;
	}
	return 0;
}

/*
 * One CPU's part of a shootdown. A range of more pages than Linux's
 * tlb_single_page_flush_ceiling is flushed whole, as Linux does. Returns
 * the pages flushed one by one (0 for a whole flush).
 */
static unsigned flush_local(struct vmm_cpu *cpu, uint16_t pcid, uint64_t start, uint64_t len,
			    unsigned flags, bool *whole)
{
	bool all = flags & VMM_FLUSH_ALL_PCIDS;
	enum tlb_globals g = (flags & VMM_FLUSH_GLOBAL) ? TLB_GLOBAL_TOO : TLB_KEEP_GLOBAL;
	uint64_t first = start & ~(VMM_PAGE_SIZE - 1);
	uint64_t pages = len ? (((start + len - 1) & ~(VMM_PAGE_SIZE - 1)) - first) / VMM_PAGE_SIZE + 1
			     : 0;

	if (!len || pages > FLUSH_CEILING_PAGES) {
		*whole = true;
		vmm_tlb_flush_range(&cpu->tlb, 0, 0, pcid, all, g);
		vmm_pwc_flush(&cpu->tlb, pcid, all);
		cpu->stats.tlb_flushes++;
		charge_cpu(cpu, VMM_CYC_TLB, cpu->m->clock.cost.tlb_flush);
		return 0;
	}
	*whole = false;
	for (uint64_t i = 0; i < pages; i++)
		vmm_tlb_flush_va(&cpu->tlb, first + i * VMM_PAGE_SIZE, pcid, all, g);
	vmm_pwc_flush(&cpu->tlb, pcid, all);
	charge_cpu(cpu, VMM_CYC_TLB, pages * cpu->m->clock.cost.invlpg);
	return (unsigned)pages;
}

/* The sender's own flush in a shootdown, counted as Linux counts a local flush. */
static void shoot_self(struct vmm_cpu *cpu, uint16_t pcid, uint64_t start, uint64_t len,
		       unsigned flags)
{
	struct vmm_machine *m = cpu->m;
	bool whole;
	unsigned one = flush_local(cpu, pcid, start, len, flags, &whole);

	if (whole)
		m->vm_events[VE_NR_TLB_LOCAL_FLUSH_ALL]++;
	else
		m->vm_events[VE_NR_TLB_LOCAL_FLUSH_ONE] += one;
}

/* A target's part of a shootdown: the IPI it receives, and its flush. */
static void shoot_remote(struct vmm_cpu *cpu, uint16_t pcid, uint64_t start, uint64_t len,
			 unsigned flags)
{
	struct vmm_machine *m = cpu->m;
	bool whole;

	charge_cpu(cpu, VMM_CYC_IPI, m->clock.cost.ipi);
	flush_local(cpu, pcid, start, len, flags, &whole);
	cpu->stats.shootdowns_received++;
	m->vm_events[VE_NR_TLB_REMOTE_FLUSH_RECEIVED]++;
}

/* The sender's part of a shootdown that sent @ipis IPIs (at least one). */
static void shoot_sent(struct vmm_cpu *sender, unsigned ipis)
{
	struct vmm_machine *m = sender->m;

	charge_cpu(sender, VMM_CYC_IPI, m->clock.cost.ipi);
	sender->stats.shootdowns_sent++;
	sender->stats.shootdown_ipis_sent += ipis;
	m->vm_events[VE_NR_TLB_REMOTE_FLUSH]++;
}

void vmm_tlb_shootdown_one(struct vmm_cpu *sender, struct vmm_cpu *target, uint16_t pcid,
			   uint64_t start, uint64_t len, unsigned flags)
{
	vmm_switch_cpu(sender->m, sender->id);
	if (target == sender) {
		shoot_self(sender, pcid, start, len, flags);
		return;
	}
	shoot_remote(target, pcid, start, len, flags);
	shoot_sent(sender, 1);
}

int vmm_tlb_shootdown(vmm_cpu *sender, int target, unsigned pcid, vmm_vaddr_t start,
		      uint64_t len, unsigned flags, unsigned *nr_ipis)
{
	struct vmm_machine *m;
	unsigned ipis = 0;

	if (!sender)
		return -VMM_EINVAL;
	m = sender->m;
	if ((target != VMM_SHOOTDOWN_ALL && (target < 0 || (unsigned)target >= m->nr_cpus)) ||
	    pcid >= TLB_NR_PCIDS || (flags & ~VMM_FLUSH_ALL_FLAGS) ||
	    (len && start + (len - 1) < start)) {
		vmm_caller_err(&m->log,
			       "vmm_tlb_shootdown: bad target %d, pcid %u, flags %#x or range", target,
			       pcid, flags);
		return -VMM_EINVAL;
	}
	if (target != VMM_SHOOTDOWN_ALL) {
		struct vmm_cpu *cpu = &m->mmu.cpus[target];

		vmm_tlb_shootdown_one(sender, cpu, (uint16_t)pcid, start, len, flags);
		ipis = cpu != sender;
	} else {
		vmm_switch_cpu(m, sender->id);
		for (unsigned c = 0; c < m->nr_cpus; c++) {
			struct vmm_cpu *cpu = &m->mmu.cpus[c];

			if (cpu == sender) {
				shoot_self(cpu, (uint16_t)pcid, start, len, flags);
				continue;
			}
			if (!vmm_tlb_may_cache(&cpu->tlb, (uint16_t)pcid,
					       flags & VMM_FLUSH_ALL_PCIDS, flags & VMM_FLUSH_GLOBAL))
				continue;
			ipis++;
			shoot_remote(cpu, (uint16_t)pcid, start, len, flags);
		}
		if (ipis)
			shoot_sent(sender, ipis);
	}
	if (nr_ipis)
		*nr_ipis = ipis;
	return 0;
}

/* ---- counters, dumps, checks, digest ---- */

int vmm_cpu_stats(const vmm_cpu *cpu, struct vmm_cpu_stats *out)
{
	if (!cpu || !out)
		return -VMM_EINVAL;
	*out = cpu->stats;
	return 0;
}

static void dump_entry(void *data, struct vmm_tlb_array *a, struct vmm_tlb_entry *e,
		       unsigned pwc_level)
{
	FILE *out = data;

	fprintf(out, "  %-11s va %#018" PRIx64 " pcid %4u -> %s %#" PRIx64 " attr %c%c%c%c pkey %u%s\n",
		a->name, (uint64_t)(e->tag & ~3ull), e->pcid, pwc_level ? "table" : "pa", e->pa,
		(e->attr & TLB_ATTR_U) ? 'U' : 'S', (e->attr & TLB_ATTR_W) ? 'W' : 'R',
		(e->attr & TLB_ATTR_NX) ? 'N' : 'X', (e->attr & TLB_ATTR_D) ? 'D' : '-',
		e->attr >> TLB_ATTR_PKEY_SHIFT, e->global ? " global" : "");
}

int vmm_cpu_dump(vmm_cpu *cpu, FILE *out)
{
	const struct vmm_cpu_stats *s;

	if (!cpu || !out)
		return -VMM_EINVAL;
	s = &cpu->stats;
	fprintf(out, "cpu%u node %u: CR0 %#" PRIx64 " CR2 %#" PRIx64 " CR3 %#" PRIx64
		     " CR4 %#" PRIx64 " EFER %#" PRIx64 " RFLAGS %#" PRIx64 " PKRU %#x CPL %u\n",
		cpu->id, cpu->nid, cpu->regs.cr0, cpu->regs.cr2, cpu->regs.cr3, cpu->regs.cr4,
		cpu->regs.efer, cpu->regs.rflags, cpu->regs.pkru, cpu->regs.cpl);
	vmm_tlb_for_each(&cpu->tlb, dump_entry, out);
	vmm_mmu_check(cpu, out, out);
	fprintf(out, "  dtlb hits %" PRIu64 "/%" PRIu64 "/%" PRIu64 " misses %" PRIu64 "/%" PRIu64
		     "/%" PRIu64 "; itlb hits %" PRIu64 "/%" PRIu64 "/%" PRIu64 " misses %" PRIu64
		     "/%" PRIu64 "/%" PRIu64 "; stlb hits %" PRIu64 "/%" PRIu64 "/%" PRIu64
		     " misses %" PRIu64 "/%" PRIu64 "/%" PRIu64 " (4k/2m/1g)\n",
		s->dtlb_hits[0], s->dtlb_hits[1], s->dtlb_hits[2], s->dtlb_misses[0],
		s->dtlb_misses[1], s->dtlb_misses[2], s->itlb_hits[0], s->itlb_hits[1],
		s->itlb_hits[2], s->itlb_misses[0], s->itlb_misses[1], s->itlb_misses[2],
		s->stlb_hits[0], s->stlb_hits[1], s->stlb_hits[2], s->stlb_misses[0],
		s->stlb_misses[1], s->stlb_misses[2]);
	fprintf(out, "  page_walks %" PRIu64 " walk_cycles %" PRIu64 " walk_refs %" PRIu64
		     " pwc_hits pde %" PRIu64 " pdpte %" PRIu64 " pml4e %" PRIu64 " pml5e %" PRIu64
		     " pwc_misses %" PRIu64 " page_faults %" PRIu64 " shootdowns %" PRIu64
		     "/%" PRIu64 " (sent/received)\n",
		s->page_walks, s->walk_cycles, s->walk_refs, s->pwc_hits[2], s->pwc_hits[3],
		s->pwc_hits[4], s->pwc_hits[5], s->pwc_misses, s->page_faults, s->shootdowns_sent,
		s->shootdowns_received);
	return ferror(out) ? -VMM_EIO : 0;
}

long vmm_cpus_check(struct vmm_machine *m, FILE *out)
{
	long problems = 0;

	for (unsigned i = 0; i < m->nr_cpus; i++)
		problems += vmm_mmu_check(&m->mmu.cpus[i], out, NULL);
	return problems;
}

static void digest_array(XXH3_state_t *st, const struct vmm_tlb_array *a)
{
	/* the entries set by set, the tree bits, the recency lists set by set */
	for (uint32_t set = 0; set < a->sets; set++)
		XXH3_64bits_update(st, tlb_set_base(a, set), a->ways * sizeof(struct vmm_tlb_entry));
	if (a->plru)
		XXH3_64bits_update(st, a->plru, a->sets * sizeof(*a->plru));
	if (a->policy == TLB_POL_LRU_LIST)
		for (uint32_t set = 0; set < a->sets; set++)
			XXH3_64bits_update(st, tlb_set_list(tlb_set_base(a, set)), sizeof(uint64_t));
}

void vmm_cpus_digest(const struct vmm_machine *m, struct XXH3_state_s *st)
{
	for (unsigned i = 0; i < m->nr_cpus; i++) {
		const struct vmm_cpu *cpu = &m->mmu.cpus[i];
		struct vmm_cpu_stats s = cpu->stats;

		s.check_stale_tlb = s.check_stale_pwc = 0;	/* observations, not state */
		XXH3_64bits_update(st, &cpu->regs, sizeof(cpu->regs));
		XXH3_64bits_update(st, &s, sizeof(s));
		XXH3_64bits_update(st, &cpu->tlb.tick, sizeof(cpu->tlb.tick));
		for (unsigned k = 0; k < 3; k++) {
			digest_array(st, &cpu->tlb.itlb[k]);
			digest_array(st, &cpu->tlb.dtlb[k]);
		}
		digest_array(st, &cpu->tlb.stlb);
		digest_array(st, &cpu->tlb.stlb_1g);
		for (unsigned k = 0; k < PWC_NR; k++)
			digest_array(st, &cpu->tlb.pwc[k]);
	}
}
