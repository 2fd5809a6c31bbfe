/* SPDX-License-Identifier: MIT */
/*
 * The MMU: address translation through the TLBs, the paging-structure
 * caches and the page walk (SDM vol. 3A 4.5 and 4.10), the access-rights
 * rules (4.6) and the #PF error code (4.7).
 *
 * vmm_mmu_translate() is the hot path, inline: the memo of the 4 KiB L1
 * array that serves the access (ITLB for fetches, DTLB otherwise; struct
 * tlb_memo_slot); then, when the side's TLBs hold no large page (struct
 * vmm_tlb.large) and a fast path serves their geometry, that path
 * (cpu->fast, mmu.c); else the last large-page L1 hit of the side
 * (struct tlb_last: a compare when the access is of the same kind to the
 * same page), and everything else out of line in vmm_mmu_translate_slow().
 * It needs no canonical-address test (a non-canonical address has a tag no
 * entry can hold) and no paging test (clearing CR0.PG empties the TLBs).
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
	return cpu->perm[kind][attr];
}

#define VMM_PAGE_MASK_4K 0xfffull

/* The hit path is worth inlining into every caller even where GCC thinks it too big. */
#define MMU_HOT static inline __attribute__((always_inline))

/* Count an L1 hit of page-size index @sz. */
MMU_HOT void mmu_count_l1_hit(struct vmm_cpu *cpu, unsigned type, unsigned sz)
{
	if (type == ACC_EXEC)
		cpu->stats.itlb_hits[sz]++;
	else
		cpu->stats.dtlb_hits[sz]++;
}

/* Fill @x for a usable hit on @e (page shift @shift), in the L1 array of size index @sz. */
MMU_HOT void mmu_l1_result(struct vmm_cpu *cpu, uint64_t va, unsigned type, unsigned flags,
			   const struct vmm_tlb_entry *e, unsigned shift, unsigned sz,
			   struct mmu_xlat *x)
{
	x->pa = e->pa | (va & ((1ull << shift) - 1));
	x->cyc_tlb = cpu->l1_hit_cost;
	x->cyc_walk = 0;
	x->fault = 0;
	x->error_code = 0;
	x->page_shift = shift;
	x->source = VMM_XLAT_L1;
	x->walk_refs = 0;
	x->pwc_level = 0;
	if (flags & MMU_ACCOUNT)
		mmu_count_l1_hit(cpu, type, sz);
}

/* Remember a usable large-page L1 hit on @e for accesses of the same kind to va & @mask. */
MMU_HOT void mmu_remember(struct vmm_cpu *cpu, uint64_t va, unsigned type, unsigned mode,
				struct vmm_tlb_entry *e, unsigned sz, uint64_t mask)
{
	struct tlb_last *l = &cpu->tlb.last[type == ACC_EXEC];

	l->key = (va & mask) | ACC_KIND(type, mode);
	l->mask = mask;
	l->e = e;
	l->sz = sz;
}

/*
 * Translate: the side's memo of the L1 4 KiB array (struct tlb_memo_slot:
 * one compare names the entry a lookup of the array would return, whose
 * rights are then tested); else, while the side's TLBs hold no large page
 * (so that the last hit is empty: the kill of a large entry forgets it),
 * the side's fast path (cpu->fast) where there is one; else the last
 * large-page hit of the side when the access is of the same kind to the
 * same page (a compare), else the rest out of line. A use found here is
 * recorded as an LRU stamp: neither shortcut is ever set up for a
 * tree-PLRU array. A usable 4 KiB entry and
 * a remembered large page never both answer: the large page is remembered
 * only after the 4 KiB array failed, and any fill, kill or rights change
 * forgets it.
 */
MMU_HOT void vmm_mmu_translate(struct vmm_cpu *cpu, uint64_t va, unsigned type,
				     unsigned mode, unsigned flags, struct mmu_xlat *x)
{
	const unsigned side = type == ACC_EXEC;
	const struct tlb_memo_slot *s = tlb_memo_slot(cpu->tlb.memo[side], va);
	const struct tlb_last *l = &cpu->tlb.last[side];

	if (likely(s->page == (va & ~VMM_PAGE_MASK_4K)) &&
	    likely(mmu_perm_ok(cpu, ACC_KIND(type, mode), s->e->attr))) {
		s->e->stamp = ++cpu->tlb.tick;
		mmu_l1_result(cpu, va, type, flags, s->e, 12, VMM_PGSZ_4K, x);
		return;
	}
	/* no large page on this side: the last hit is empty too */
	if (likely(!cpu->tlb.large[side] && cpu->fast[side])) {
		cpu->fast[side](cpu, va, type, mode, flags, x);
		return;
	}
	if (likely(((va & l->mask) | ACC_KIND(type, mode)) == l->key)) {
		l->e->stamp = ++cpu->tlb.tick;
		mmu_l1_result(cpu, va, type, flags, l->e, l->e->shift, l->sz, x);
		return;
	}
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

uint32_t vmm_mmu_data_ref_slow(struct vmm_cpu *cpu, uint64_t pa, unsigned kind, bool *ram);

/*
 * vmm_mmu_ref_cost() of a data reference (read, write or fetch) at @pa,
 * and in *@ram whether @pa is RAM. A reference in the RAM range the CPU's
 * last one found (data_ram_*) costs a range test instead of two searches.
 */
static inline uint32_t vmm_mmu_data_ref(struct vmm_cpu *cpu, uint64_t pa, unsigned kind, bool *ram)
{
	if (likely(pa - cpu->data_ram_start < cpu->data_ram_len)) {
		*ram = true;
		return cpu->data_ram_cost;
	}
	return vmm_mmu_data_ref_slow(cpu, pa, kind, ram);
}

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
