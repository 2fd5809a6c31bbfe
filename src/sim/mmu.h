/* SPDX-License-Identifier: MIT */
/*
 * The MMU: address translation through the TLBs, the paging-structure
 * caches and the page walk (SDM vol. 3A 4.5 and 4.10), the access-rights
 * rules (4.6) and the #PF error code (4.7).
 *
 * vmm_mmu_translate() is the hot path: an inline probe of the 4 KiB L1
 * array that serves the access (ITLB for fetches, DTLB otherwise), and
 * everything else out of line in vmm_mmu_translate_slow(). It needs no
 * canonical-address test (a non-canonical address has a tag no entry can
 * hold) and no paging test (clearing CR0.PG empties the TLBs).
 */
#ifndef VMM_SIM_MMU_H
#define VMM_SIM_MMU_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/cpu.h"
#include "sim/tlb.h"

/* The result of one translation. */
struct mmu_xlat {
	uint64_t pa;
	uint64_t cyc_tlb;		/* TLB lookup cycles (VMM_CYC_TLB) */
	uint64_t cyc_walk;		/* walk, PWC and A/D cycles (VMM_CYC_WALK) */
	uint32_t fault;			/* enum vmm_fault_kind */
	uint32_t error_code;
	uint32_t page_shift;
	uint32_t source;		/* enum vmm_xlat_source */
	uint32_t walk_refs;
	uint32_t pwc_level;
};

/* vmm_mmu_translate() flags. */
#define MMU_ACCOUNT 1u		/* count the lookup in cpu->stats */

void vmm_mmu_translate_slow(struct vmm_cpu *cpu, uint64_t va, unsigned type, unsigned mode,
			    unsigned flags, struct mmu_xlat *x);

/* Whether an access of @kind may use an entry with attributes @attr as it is. */
static inline bool mmu_perm_ok(const struct vmm_cpu *cpu, unsigned kind, uint8_t attr)
{
	return (cpu->perm[kind][attr >> 6] >> (attr & 63)) & 1;
}

/* The L1 4 KiB probe: true with *pa set on a usable hit. */
static inline bool vmm_mmu_l1_hit(struct vmm_cpu *cpu, uint64_t va, unsigned type,
				  unsigned mode, uint64_t *pa)
{
	struct vmm_tlb_array *a = type == ACC_EXEC ? &cpu->tlb.itlb[0] : &cpu->tlb.dtlb[0];
	uint64_t tag = va & ~0xfffull;
	struct vmm_tlb_entry *e = a->e + ((va >> 12) & a->set_mask) * a->ways;

	for (uint32_t w = 0; w < a->ways; w++, e++) {
		if (e->tag == tag && (e->pcid == cpu->pcid || e->global)) {
			if (unlikely(!mmu_perm_ok(cpu, ACC_KIND(type, mode), e->attr)))
				return false;
			tlb_touch(a, e);
			*pa = e->pa | (va & 0xfff);
			return true;
		}
	}
	return false;
}

/* The L1 probe of the 2 MiB and 1 GiB arrays: true with *x filled on a usable hit. */
bool vmm_mmu_l1_large_hit(struct vmm_cpu *cpu, uint64_t va, unsigned type, unsigned mode,
			  unsigned flags, struct mmu_xlat *x);

static inline void vmm_mmu_translate(struct vmm_cpu *cpu, uint64_t va, unsigned type,
				     unsigned mode, unsigned flags, struct mmu_xlat *x)
{
	if (likely(vmm_mmu_l1_hit(cpu, va, type, mode, &x->pa))) {
		x->cyc_tlb = cpu->l1_hit_cost;
		x->cyc_walk = 0;
		x->fault = 0;
		x->error_code = 0;
		x->page_shift = 12;
		x->source = VMM_XLAT_L1;
		x->walk_refs = 0;
		x->pwc_level = 0;
		if (flags & MMU_ACCOUNT) {
			if (type == ACC_EXEC)
				cpu->stats.itlb_hits[VMM_PGSZ_4K]++;
			else
				cpu->stats.dtlb_hits[VMM_PGSZ_4K]++;
		}
		return;
	}
	if (vmm_mmu_l1_large_hit(cpu, va, type, mode, flags, x))
		return;
	vmm_mmu_translate_slow(cpu, va, type, mode, flags, x);
}

/* Whether @va is canonical for the CPU's paging mode. */
static inline bool mmu_canonical(const struct vmm_cpu *cpu, uint64_t va)
{
	return (uint64_t)((int64_t)(va << cpu->va_shift) >> cpu->va_shift) == va;
}

/*
 * Walk the tables for @va from CR3 without touching caches or flags, and
 * say what an access of @type/@mode would raise (vmm_cpu_walk()).
 */
void vmm_mmu_inspect(const struct vmm_cpu *cpu, uint64_t va, unsigned type, unsigned mode,
		     struct vmm_walk *out);

/* Cycles of one physical reference of @kind (enum vmm_memref_kind) by @cpu. */
uint32_t vmm_mmu_ref_cost(const struct vmm_cpu *cpu, uint64_t pa, unsigned kind);

/* The #PF error code an access of @type/@mode gets from an entry with @attr; 0 if allowed. */
uint32_t vmm_mmu_rights_error(const struct vmm_cpu_regs *r, unsigned type, unsigned mode,
			      unsigned attr);

/*
 * Compare every TLB and PWC entry of @cpu with the tables. Entries whose
 * tables changed since the fill are counted as stale (legal) in the CPU's
 * stats and described on @stale_out when it is not NULL; entries that
 * contradict unchanged tables are problems, described on @out.
 */
long vmm_mmu_check(struct vmm_cpu *cpu, FILE *out, FILE *stale_out);

#endif /* VMM_SIM_MMU_H */
