/* SPDX-License-Identifier: MIT */
/*
 * The x86-64 MMU, after the Intel SDM vol. 3A chapter 4.
 *
 * A translation looks in the L1 TLB arrays of every page size, then in the
 * second-level arrays, then walks. An entry found in a TLB is used when the
 * access's rights allow it; a write through an entry whose dirty flag is
 * clear walks again so that D gets set in memory (4.8); any other rights
 * violation raises #PF from the cached rights, as hardware may (a fault
 * then invalidates the entry, so the retry walks the tables).
 *
 * The walk (4.5) starts from the deepest paging-structure-cache entry that
 * matches the address and PCID (PDE cache first, then PDPTE, PML4E and
 * PML5E), or from CR3. At each level it reads one 8-byte entry from
 * simulated memory: not present gives #PF with P = 0; a set reserved bit
 * (address bits at or above MAXPHYADDR, XD without EFER.NXE, PS in a PML5E
 * or PML4E, bits 29:13 of a 1 GiB leaf or 20:13 of a 2 MiB leaf) gives #PF
 * with P and RSVD. Rights combine as the SDM says: R/W and U/S are ANDed
 * over the levels, XD is ORed. A non-leaf entry gets its accessed flag set
 * as the walk passes it and is then cached in its PWC (4.10.3.1 requires A
 * = 1 in memory before caching). The leaf gets A, and D on a write, only
 * when the access is allowed: a faulting translation is not cached, and
 * the SDM leaves A on a faulting leaf model-specific. Flags are set with
 * an atomic OR on the entry's host bytes.
 *
 * Rights (4.6), for an address that is a user-mode address when U/S is 1
 * at every level, writable when R/W is 1 at every level, and
 * execute-disabled when XD is 1 at some level with EFER.NXE:
 *   user-mode (CPL 3) accesses: user-mode addresses only; writes need
 *   writable; fetches need not execute-disabled.
 *   supervisor fetches: not execute-disabled, and with CR4.SMEP not from
 *   user-mode addresses.
 *   supervisor data accesses to user-mode addresses: with CR4.SMAP, only
 *   explicit accesses with RFLAGS.AC = 1. Supervisor writes to read-only
 *   addresses: only with CR0.WP = 0.
 *   protection keys (CR4.PKE), for data accesses to user-mode addresses,
 *   user or supervisor: AD forbids every access; WD forbids user writes,
 *   and supervisor writes when CR0.WP = 1.
 */
#include "sim/mmu.h"

#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include "lib/compiler.h"
#include "machine.h"

static const unsigned size_shift[VMM_PGSZ_NR] = { 12, 21, 30 };

/* ---- rights ---- */

static bool pkey_denies(const struct vmm_cpu_regs *r, unsigned type, unsigned mode,
			unsigned attr)
{
	unsigned key = attr >> TLB_ATTR_PKEY_SHIFT;

	if (!(r->cr4 & VMM_CR4_PKE) || type == ACC_EXEC || !(attr & TLB_ATTR_U))
		return false;
	if ((r->pkru >> (2 * key)) & 1)
		return true;
	return ((r->pkru >> (2 * key + 1)) & 1) && type == ACC_WRITE &&
	       ((r->cr0 & VMM_CR0_WP) || mode == MODE_USER);
}

static bool rights_allow(const struct vmm_cpu_regs *r, unsigned type, unsigned mode,
			 unsigned attr)
{
	bool user_addr = attr & TLB_ATTR_U, writable = attr & TLB_ATTR_W;
	bool nx = (attr & TLB_ATTR_NX) && (r->efer & VMM_EFER_NXE);

	if (pkey_denies(r, type, mode, attr))
		return false;
	if (mode == MODE_USER) {
		if (!user_addr)
			return false;
		return type == ACC_WRITE ? writable : type == ACC_EXEC ? !nx : true;
	}
	if (type == ACC_EXEC)
		return !nx && !(user_addr && (r->cr4 & VMM_CR4_SMEP));
	if (user_addr && (r->cr4 & VMM_CR4_SMAP) &&
	    (mode == MODE_IMPLICIT || !(r->rflags & VMM_RFLAGS_AC)))
		return false;
	return !(type == ACC_WRITE && !writable && (r->cr0 & VMM_CR0_WP));
}

/* Error-code bits that describe the access itself (4.7). */
static uint32_t access_bits(const struct vmm_cpu_regs *r, unsigned type, unsigned mode)
{
	uint32_t ec = 0;

	if (type == ACC_WRITE)
		ec |= VMM_PF_W;
	if (mode == MODE_USER)
		ec |= VMM_PF_U;
	if (type == ACC_EXEC && ((r->cr4 & VMM_CR4_SMEP) ||
				 ((r->cr4 & VMM_CR4_PAE) && (r->efer & VMM_EFER_NXE))))
		ec |= VMM_PF_I;
	return ec;
}

uint32_t vmm_mmu_rights_error(const struct vmm_cpu_regs *r, unsigned type, unsigned mode,
			      unsigned attr)
{
	if (rights_allow(r, type, mode, attr))
		return 0;
	return VMM_PF_P | access_bits(r, type, mode) |
	       (pkey_denies(r, type, mode, attr) ? VMM_PF_PK : 0);
}

/*
 * Reserved bits of a present entry at @level (4.5.4, tables 4-14..4-20),
 * as masks by [leaf][level]; they depend on MAXPHYADDR and EFER.NXE only,
 * so vmm_cpu_update_perm() computes them with the rights maps.
 */
static void update_rsvd_masks(struct vmm_cpu *cpu)
{
	for (unsigned leaf = 0; leaf < 2; leaf++)
		for (unsigned level = 1; level <= 5; level++) {
			uint64_t rsvd = cpu->m->mmu.rsvd_addr_mask;

			if (!(cpu->regs.efer & VMM_EFER_NXE))
				rsvd |= VMM_PTE_NX;
			if (level >= 4)
				rsvd |= VMM_PTE_PS;
			else if (leaf && level == 3)
				rsvd |= 0x3fffe000ull;	/* bits 29:13 */
			else if (leaf && level == 2)
				rsvd |= 0x1fe000ull;	/* bits 20:13 */
			/* a non-leaf test of e ^ P finds a clear P and a set reserved bit */
			cpu->rsvd_mask[leaf][level] = leaf ? rsvd : rsvd | VMM_PTE_PRESENT;
		}
	/*
	 * lean_step(): with e ^ (P | A), a clear P, a set reserved bit, and
	 * above the leaf level a clear A or a set PS
	 */
	cpu->lean_mask[1] = cpu->rsvd_mask[0][1];
	for (unsigned level = 2; level <= 5; level++)
		cpu->lean_mask[level] = cpu->rsvd_mask[0][level] | VMM_PTE_ACCESSED | VMM_PTE_PS;
}

/*
 * Whether @t's arrays are what the fast paths (fast_any(), fast_walk()) are
 * written for: the L1 4 KiB arrays under LRU with their memos and at most
 * 16 ways, and the STLB and every PWC that has entries under recency
 * lists.
 */
static bool fast_geometry(const struct vmm_tlb *t)
{
	const struct vmm_tlb_array *l1[2] = { &t->dtlb[VMM_PGSZ_4K], &t->itlb[VMM_PGSZ_4K] };

	for (unsigned side = 0; side < 2; side++)
		if (l1[side]->policy != TLB_POL_LRU || !l1[side]->ways || l1[side]->fp_words > 2 ||
		    !l1[side]->memo)
			return false;
	if (t->stlb.policy != TLB_POL_LRU_LIST)
		return false;
	for (unsigned i = 0; i < PWC_NR; i++)
		if (t->pwc[i].ways && t->pwc[i].policy != TLB_POL_LRU_LIST)
			return false;
	return true;
}

static mmu_fast_fn fast_any, fast_pde_walk, fast_cr3_walk;

/*
 * The fast path of each side (cpu->fast): for fast_geometry() and a 4-way
 * L1 4 KiB array, fast_pde_walk() with PWCs and fast_cr3_walk() without;
 * else fast_any() for fast_geometry(); else (and with cpu->fast_off) none.
 */
static void fast_paths(struct vmm_cpu *cpu)
{
	const struct vmm_tlb *t = &cpu->tlb;
	const struct vmm_tlb_array *l1[2] = { &t->dtlb[VMM_PGSZ_4K], &t->itlb[VMM_PGSZ_4K] };
	bool ok = !cpu->fast_off && fast_geometry(t);

	for (unsigned side = 0; side < 2; side++)
		cpu->fast[side] = !ok			? NULL
				  : l1[side]->ways != 4 ? fast_any
				  : t->pwc_entries	? fast_pde_walk
							: fast_cr3_walk;
}

void vmm_cpu_update_perm(struct vmm_cpu *cpu)
{
	vmm_tlb_forget_last(&cpu->tlb);	/* remembered for rights that may have changed */
	memset(cpu->perm, 0, sizeof(cpu->perm));
	for (unsigned mode = MODE_USER; mode <= MODE_IMPLICIT; mode++)
		for (unsigned type = ACC_READ; type <= ACC_EXEC; type++)
			for (unsigned attr = 0; attr < 256; attr++) {
				unsigned kind = ACC_KIND(type, mode);

				if (!rights_allow(&cpu->regs, type, mode, attr))
					continue;
				if (type == ACC_WRITE && !(attr & TLB_ATTR_D))
					continue;
				cpu->perm[kind][attr] = 1;
			}
	update_rsvd_masks(cpu);
	cpu->walk_host = vmm_physmem_host(&cpu->m->phys, 0);
	cpu->walk_end8 = cpu->m->phys.end >= 8 ? cpu->m->phys.end - 7 : 0;
	cpu->walk_addr_mask = VMM_PTE_ADDR_MASK & cpu->m->mmu.maxphy_mask;
	cpu->walk_seed = 0x5157ull ^ (cpu->regs.efer & VMM_EFER_NXE) ^
			 (cpu->regs.cr4 & VMM_CR4_PGE);
	cpu->levels = (cpu->regs.cr4 & VMM_CR4_LA57) ? 5 : 4;
	cpu->nxe = !!(cpu->regs.efer & VMM_EFER_NXE);
	cpu->pge = !!(cpu->regs.cr4 & VMM_CR4_PGE);
	fast_paths(cpu);
}

/* ---- the walk ---- */

struct mmu_walk {
	/* in */
	uint64_t va;
	uint64_t root;
	unsigned stop_level;	/* stop after the non-leaf entry of this level (checker) */
	uint16_t pcid;
	/* out */
	uint64_t pa;		/* page base; with stop_level, the next table */
	uint64_t leaf_pa;	/* where the last entry read lives */
	uint64_t hash;
	uint64_t cycles;
	unsigned shift;
	uint32_t fault, error_code;	/* error code without the access bits */
	uint32_t refs, pwc_level;
	uint64_t leaf_entry;	/* the last entry read */
	uint8_t attr;
	uint8_t global;
	unsigned depth;
	struct vmm_walk_level *lv;	/* when not NULL, every entry read (5 slots) */
};

static unsigned cpu_levels(const struct vmm_cpu *cpu)
{
	return cpu->levels;
}

static uint64_t maxphy_mask(const struct vmm_machine *m)
{
	return m->mmu.maxphy_mask;
}

/*
 * The checker's fingerprint of a walk: every entry read, folded in by an
 * XOR, a multiply by an odd constant and a rotation. For the entries that
 * follow, each step is a bijection of the running value, so a change to
 * any one entry always changes the result. The rotation matters for
 * changes to several entries: a product's top bit depends on its factor's
 * top bit alone, so without it a flip of XD (bit 63) passed through every
 * later step as a flip of bit 63 and a second XD flip cancelled the first.
 * Rotated, that bit lands on bit 5, which the entries fed in never carry
 * (A and D are masked off), and the next multiply spreads it.
 */
static inline uint64_t hash_mix(uint64_t h, uint64_t v)
{
	uint64_t x = (h ^ v) * 0xffffffffed558ccdull;	/* odd; an imm32 for the host */

	return x << 6 | x >> 58;
}

static uint64_t *entry_host(const struct vmm_machine *m, uint64_t pa)
{
	if (pa + 8 > m->phys.end)
		return NULL;
	return (uint64_t *)vmm_physmem_host(&m->phys, pa);
}

uint32_t vmm_mmu_ref_cost(const struct vmm_cpu *cpu, uint64_t pa, unsigned kind)
{
	const struct vmm_machine *m = cpu->m;

	if (m->cfg.mem_latency_fn)
		return m->cfg.mem_latency_fn(m->cfg.mem_latency_data, cpu->id, pa, kind);
	if (pa >= m->phys.end)
		return kind == VMM_MEMREF_WALK ? cpu->walk_cost[cpu->nid] : cpu->mem_cost[cpu->nid];
	return kind == VMM_MEMREF_WALK ? cpu->walk_cost[vmm_physmem_nid(&m->phys, pa)]
				       : cpu->mem_cost[vmm_physmem_nid(&m->phys, pa)];
}

/*
 * The cost of one walker reference with the walker's overhead per entry
 * (walk_step). The page tables of an address space mostly sit on one
 * node, so the CPU remembers the physical range of the node its last
 * walker reference went to (walk_node_*), and a walk prices a reference
 * in that range without calling this. The range stays empty with a
 * latency callback (which must see every reference) and never reaches
 * beyond the end of memory (a multiple of the page size): an entry in it
 * can be read without a bounds test.
 */
static __attribute__((noinline)) uint32_t walk_ref_cost_slow(struct vmm_cpu *cpu, uint64_t pa)
{
	const struct vmm_physmem *pm = &cpu->m->phys;
	uint32_t step = cpu->m->clock.cost.walk_step;
	unsigned nid;

	if (cpu->m->cfg.mem_latency_fn || pa >= pm->end)
		return step + vmm_mmu_ref_cost(cpu, pa, VMM_MEMREF_WALK);
	nid = vmm_physmem_nid(pm, pa);
	cpu->walk_node_start = nid ? pm->node_start[nid] : 0;
	cpu->walk_node_len = (nid + 1 < pm->nr_nodes ? pm->node_start[nid + 1] : pm->end) -
			     cpu->walk_node_start;
	cpu->walk_node_cost = step + cpu->walk_cost[nid];
	return cpu->walk_node_cost;
}

/*
 * vmm_mmu_data_ref() outside the remembered range: the memory map says
 * whether @pa is RAM, and a RAM entry becomes the range, priced at the
 * cost of the node the entry names (the map's entries never cross a
 * node). The range stays empty with a latency callback, which must see
 * every reference.
 */
uint32_t vmm_mmu_data_ref_slow(struct vmm_cpu *cpu, uint64_t pa, unsigned kind, bool *ram)
{
	const struct vmm_physmem *pm = &cpu->m->phys;
	const struct vmm_e820_entry *e = vmm_physmem_e820(pm, pa);

	*ram = e && e->type == VMM_E820_RAM;
	if (!*ram || cpu->m->cfg.mem_latency_fn)
		return vmm_mmu_ref_cost(cpu, pa, kind);
	cpu->data_ram_start = e->start;
	cpu->data_ram_len = e->end - e->start;
	cpu->data_ram_cost = cpu->mem_cost[e->nid];
	return cpu->data_ram_cost;
}

/* Set @bits in the entry at @pa; returns the cycles it cost. */
static __attribute__((noinline)) uint64_t set_entry_bits(struct vmm_cpu *cpu, uint64_t pa,
							 uint64_t bits)
{
	uint64_t *p = entry_host(cpu->m, pa);

	if (!p)
		return 0;
	__atomic_fetch_or(p, bits, __ATOMIC_RELAXED);
	cpu->stats.ad_updates++;
	return cpu->m->cfg.mem_latency_fn ? vmm_mmu_ref_cost(cpu, pa, VMM_MEMREF_AD)
					  : cpu->m->clock.cost.ad_update;
}

/*
 * The rights of a walk as TLB_ATTR_* bits: @attr0 (where the walk started:
 * U and W, or a PWC entry's rights) with U/S and R/W ANDed over the entries
 * read (@all is their AND) and XD ORed (@any is their OR) when @nxe is 1.
 */
static inline uint8_t walk_rights(uint8_t attr0, uint64_t all, uint64_t any, unsigned nxe)
{
	/* what of attr0 entry bits R/W (1) and U/S (2) keep: one look-up for both */
	static const uint8_t keep[4] = {
		(uint8_t)~(TLB_ATTR_U | TLB_ATTR_W),	/* supervisor, read-only */
		(uint8_t)~TLB_ATTR_U,			/* supervisor, writable */
		(uint8_t)~TLB_ATTR_W,			/* user, read-only */
		0xff,					/* user, writable */
	};

	return (uint8_t)((attr0 & keep[(all >> 1) & 3]) | (((any >> 63) & nxe) << 2));
}

/* The PWC of level @l (a constant): on a hit, where the walk goes on from it. */
static inline __attribute__((always_inline)) bool
pwc_hit(struct vmm_cpu *cpu, uint64_t va, uint16_t pcid, const unsigned l, uint64_t *table,
	uint8_t *attr, uint64_t *hash, uint64_t *cycles, uint32_t *pwc_level)
{
	struct vmm_tlb_array *a = &cpu->tlb.pwc[l - 2];
	struct vmm_tlb_entry *e;
	struct tlb_probe p;

	if (!a->nvalid)
		return false;
	tlb_probe(a, va, 12 + 9 * (l - 1), 0, pcid, &p);
	e = p.hit;
	if (!e)
		return false;
	tlb_touch_at(&cpu->tlb, a, p.set, (uint32_t)(e - p.base), e);
	*table = e->pa;
	*attr = e->attr;
	*hash = e->path_hash;
	*pwc_level = l;
	*cycles += cpu->pwc_hit_cost;
	return true;
}

/*
 * Start from the deepest matching paging-structure-cache entry; returns the
 * level to read, with the table, rights, fingerprint and cycles so far, and
 * the level of the entry used in *pwc_level.
 */
static inline __attribute__((always_inline)) unsigned
walk_from_pwc(struct vmm_cpu *cpu, uint64_t va, uint16_t pcid, unsigned levels, uint64_t *table,
	      uint8_t *attr, uint64_t *hash, uint64_t *cycles, uint32_t *pwc_level)
{
	/* each level a copy with its shift a constant */
	if (pwc_hit(cpu, va, pcid, 2, table, attr, hash, cycles, pwc_level))
		return 1;
	if (pwc_hit(cpu, va, pcid, 3, table, attr, hash, cycles, pwc_level))
		return 2;
	if (pwc_hit(cpu, va, pcid, 4, table, attr, hash, cycles, pwc_level))
		return 3;
	if (levels == 5 && pwc_hit(cpu, va, pcid, 5, table, attr, hash, cycles, pwc_level))
		return 4;
	return levels;
}

/*
 * Cache the non-leaf entry for @va at @epa of @level (A already set) in its
 * PWC. The fill is fresh: walk_from_pwc() looked for this level and missed.
 * A PWC keeps no memo, and its entries answer no L1 lookup, so the last
 * hits (struct tlb_last) stay. Inlined with @level constant into the full
 * walk, the only walk that fills, which is itself out of line.
 */
static inline __attribute__((always_inline)) void
walk_fill_pwc(struct vmm_cpu *cpu, uint64_t va, uint16_t pcid, const unsigned level, uint64_t epa,
	      uint64_t table, uint64_t hash, uint8_t attr)
{
	struct vmm_tlb_array *pwc = &cpu->tlb.pwc[level - 2];
	const unsigned shift = 12 + 9 * (level - 1);
	struct tlb_fill f = { .va = va, .pa = table, .leaf_pa = epa, .path_hash = hash,
			      .shift = (uint8_t)shift, .pcid = pcid, .attr = attr, .fresh = 1 };
	uint64_t tag = tlb_tag(va, shift, 0);
	uint32_t set = tlb_set_index(pwc, va, shift);

	tlb_fill_set(&cpu->tlb, pwc, set, tlb_set_base(pwc, set), tlb_set_fpw(pwc, set), tag,
		     tlb_fp(tag), &f, false);
}

/*
 * The running state of a walk, kept in registers; what stays fixed during
 * a walk (the walker's view of memory, the walker-node shortcut of
 * walk_ref_cost_slow(), the reserved-bit masks) is read from the CPU where
 * it is used, so that the state fits the host's registers.
 */
struct walk_run {
	uint64_t va, table, e, epa, hash, all, any, cycles;
	unsigned start, level;	/* the level the walk started at, the last level read */
	uint8_t attr0;
};

enum { STEP_NEXT, STEP_END, STEP_BAIL };

/*
 * Read the entry of @level (a constant in each inlined copy) and fold it
 * into @r; STEP_END at a leaf, a fault or the checker's stop level. A
 * walk with @side effects sets A in a non-leaf entry that lacks it and
 * caches the entry in its PWC. Each reference is priced as it is made,
 * so that a latency callback sees the references in order.
 *
 * A @fast step (a translation's) makes no call and has no side effect: it
 * gives up (STEP_BAIL) where the walk would fault, leave the walker's
 * node, read outside memory, set A or fill a PWC, before doing any of it,
 * so that the full walk can start over and reach the same result.
 */
static inline __attribute__((always_inline)) int
walk_step(struct vmm_cpu *cpu, struct mmu_walk *w, struct walk_run *r, const unsigned level,
	  const bool side, const bool fast)
{
	const unsigned shift = 3 + 9 * level;	/* of the region one entry maps */
	const uint64_t epa = r->table + ((r->va >> (shift - 3)) & 0xff8);
	const bool in_node = epa - cpu->walk_node_start < cpu->walk_node_len;
	uint64_t e = 0;
	bool leaf;

	/* the walker's node lies in memory: an entry in it needs no other test */
	if (fast && unlikely(!in_node))
		return STEP_BAIL;
	if (fast || likely(epa < cpu->walk_end8))
		e = __atomic_load_n((const uint64_t *)(const void *)(cpu->walk_host + epa),
				    __ATOMIC_RELAXED);
	r->epa = epa;
	r->e = e;
	r->level = level;
	if (!side && w->lv)
		w->lv[r->start - level] = (struct vmm_walk_level){ epa, e, level, 0 };
	if (likely(in_node))
		r->cycles += cpu->walk_node_cost;
	else
		r->cycles += walk_ref_cost_slow(cpu, epa);
	/* not present, or a reserved bit of a non-leaf entry (a superset of a leaf's at 1) */
	if (unlikely((e ^ VMM_PTE_PRESENT) & cpu->rsvd_mask[0][level])) {
		if (fast)
			return STEP_BAIL;
		w->fault = VMM_FAULT_PF;
		if (e & VMM_PTE_PRESENT)
			w->error_code = VMM_PF_P | VMM_PF_RSVD;
		return STEP_END;
	}
	leaf = level == 1 || (level <= 3 && (e & VMM_PTE_PS));
	if (level > 1 && level <= 3 && leaf && unlikely(e & cpu->rsvd_mask[1][level])) {
		if (fast)
			return STEP_BAIL;
		w->fault = VMM_FAULT_PF;
		w->error_code = VMM_PF_P | VMM_PF_RSVD;
		return STEP_END;
	}
	if (fast && !leaf &&
	    unlikely(!(e & VMM_PTE_ACCESSED) || cpu->tlb.pwc[level - 2].ways))
		return STEP_BAIL;
	r->hash = hash_mix(r->hash, e & ~(VMM_PTE_ACCESSED | VMM_PTE_DIRTY));
	r->all &= e;
	r->any |= e;
	if (leaf) {
		w->shift = shift;
		w->pa = e & cpu->walk_addr_mask & ~((1ull << shift) - 1);
		w->global = (e & VMM_PTE_GLOBAL) && cpu->pge;
		if (!side && w->stop_level)	/* the checker wanted a table here */
			w->fault = VMM_FAULT_PF;
		return STEP_END;
	}
	r->table = e & cpu->walk_addr_mask;
	if (side && !fast && level >= 2) {
		if (unlikely(!(e & VMM_PTE_ACCESSED)))
			r->cycles += set_entry_bits(cpu, epa, VMM_PTE_ACCESSED);
		if (cpu->tlb.pwc[level - 2].ways)
			walk_fill_pwc(cpu, w->va, w->pcid, level, epa, r->table, r->hash,
				      walk_rights(r->attr0, r->all, r->any, cpu->nxe));
	}
	if (!side && level == w->stop_level) {
		w->pa = r->table;
		return STEP_END;
	}
	return STEP_NEXT;
}

/* Where a walk starts: CR3, or with @side the deepest matching PWC entry. */
static inline __attribute__((always_inline)) void
walk_start(struct vmm_cpu *cpu, struct mmu_walk *w, struct walk_run *r, const bool side)
{
	*r = (struct walk_run){ .va = w->va, .table = w->root & cpu->walk_addr_mask,
				.hash = cpu->walk_seed,
				.cycles = w->cycles, .all = ~0ull,
				.attr0 = TLB_ATTR_U | TLB_ATTR_W, .start = cpu_levels(cpu) };
	if (side && cpu->tlb.pwc_entries)
		r->start = walk_from_pwc(cpu, w->va, w->pcid, r->start, &r->table, &r->attr0,
					 &r->hash, &r->cycles, &w->pwc_level);
}

/*
 * The walk proper from @r0 (walk_start()), instantiated three times: with
 * @side (translation: PWCs and A flags), @fast or not, and without
 * (inspection and the checker: entry log and stop_level). Each level is a
 * copy of walk_step() with its level a constant, entered at the level the
 * walk starts from. It keeps its running state in locals and stores it in
 * @w once, at the end; rights are gathered as the AND and the OR of the
 * entries and turned into TLB_ATTR_* bits where they are needed. Returns
 * false when a @fast walk gave up, having changed nothing.
 */
#define WALK_LEVEL(l)                                                                          \
	case l:                                                                                \
		step = walk_step(cpu, w, &r, l, side, fast);                                   \
		if (step != STEP_NEXT)                                                         \
			break;                                                                 \
		__attribute__((fallthrough));

static inline __attribute__((always_inline)) bool
walk_levels(struct vmm_cpu *cpu, struct mmu_walk *w, const struct walk_run *r0, const bool side,
	    const bool fast)
{
	struct walk_run r = *r0;
	int step = STEP_END;

	switch (r.start) {
	WALK_LEVEL(5)
	WALK_LEVEL(4)
	WALK_LEVEL(3)
	WALK_LEVEL(2)
	default:
		step = walk_step(cpu, w, &r, 1, side, fast);
		break;
	}
	if (fast && step == STEP_BAIL)
		return false;
	w->attr = walk_rights(r.attr0, r.all, r.any, cpu->nxe);
	if (!w->fault && !(side ? 0 : w->stop_level)) {
		w->attr |= (uint8_t)(((r.e & VMM_PTE_PKEY_MASK) >> VMM_PTE_PKEY_SHIFT)
				     << TLB_ATTR_PKEY_SHIFT);
		if (r.e & VMM_PTE_DIRTY)
			w->attr |= TLB_ATTR_D;
	}
	w->hash = r.hash;
	w->cycles = r.cycles;
	w->depth = r.start - r.level + 1;
	w->refs = w->depth;
	w->leaf_pa = r.epa;
	w->leaf_entry = r.e;
	return true;
}

/* The full walk of a translation from @r0: faults, A flags, PWC fills, any memory. */
static __attribute__((noinline)) void walk_translate_full(struct vmm_cpu *cpu, struct mmu_walk *w,
							  struct walk_run r0)
{
	walk_levels(cpu, w, &r0, true, false);
}

/*
 * The walk of a translation: the fast walk, which makes no call, and the
 * full one when it gives up; only the full one without @fast (the lean
 * walk of translate_lean() gave up already).
 */
static inline __attribute__((always_inline)) void
walk_translate(struct vmm_cpu *cpu, struct mmu_walk *w, const bool fast)
{
	struct walk_run r0;

	walk_start(cpu, w, &r0, true);
	if (fast && likely(walk_levels(cpu, w, &r0, true, true)))
		return;
	walk_translate_full(cpu, w, r0);
}

/* The walk of inspection and the checker: no side effects. */
static void walk(struct vmm_cpu *cpu, struct mmu_walk *w)
{
	struct walk_run r0;

	walk_start(cpu, w, &r0, false);
	walk_levels(cpu, w, &r0, false, false);
}

/* ---- translation ---- */

/* The second-level array for page size @sz. */
static struct vmm_tlb_array *l2_array(struct vmm_cpu *cpu, unsigned sz)
{
	return sz == VMM_PGSZ_1G ? &cpu->tlb.stlb_1g : &cpu->tlb.stlb;
}

/*
 * Note in the side's memo that @e, an entry of the L1 4 KiB array @a, is
 * what a lookup of its page under the current PCID returns (it is the
 * first usable way of its set). Tree-PLRU arrays keep no memo: the hot
 * path records a memo hit as an LRU stamp.
 */
static inline void memo_note(struct vmm_tlb_array *a, struct vmm_tlb_entry *e)
{
	if (a->memo && a->policy != TLB_POL_PLRU) {
		struct tlb_memo_slot *s = tlb_memo_slot(a->memo, e->tag);

		s->page = e->tag;
		s->e = e;
	}
}

/* Find the entry for @va in the L1 arrays of one kind from size @from on; sets *sz. */
static struct vmm_tlb_entry *l1_lookup(struct vmm_cpu *cpu, struct vmm_tlb_array *l1,
				       uint64_t va, unsigned from, unsigned *sz)
{
	for (unsigned s = from; s < VMM_PGSZ_NR; s++) {
		struct vmm_tlb_entry *e = tlb_find(&l1[s], va, size_shift[s], s, cpu->pcid);

		if (e) {
			*sz = s;
			return e;
		}
	}
	return NULL;
}

/*
 * Find the entry for @va in the second-level arrays; sets *sz. The 4 KiB
 * set is scanned with tlb_probe_fp() (@tag, @fp: the 4 KiB page's), so
 * that a fill after a miss needs no second scan (@p).
 */
static inline struct vmm_tlb_entry *l2_lookup(struct vmm_cpu *cpu, uint64_t va, uint64_t tag,
					      uint64_t fp, unsigned *sz, struct tlb_probe *p)
{
	tlb_probe_fp(&cpu->tlb.stlb, va, 12, tag, fp, cpu->pcid, p);
	if (p->hit) {
		*sz = VMM_PGSZ_4K;
		return p->hit;
	}
	if (likely(!(cpu->tlb.stlb.nvalid_sz[VMM_PGSZ_2M] | cpu->tlb.stlb_1g.nvalid)))
		return NULL;
	for (unsigned s = VMM_PGSZ_2M; s < VMM_PGSZ_NR; s++) {
		struct vmm_tlb_entry *e =
			tlb_find(l2_array(cpu, s), va, size_shift[s], s, cpu->pcid);

		if (e) {
			*sz = s;
			return e;
		}
	}
	return NULL;
}

static inline void count_walk(struct vmm_cpu *cpu, const struct mmu_walk *w)
{
	cpu->stats.page_walks++;
	cpu->stats.walk_refs += w->refs;
	cpu->stats.walk_cycles += w->cycles;
	if (w->pwc_level)
		cpu->stats.pwc_hits[w->pwc_level]++;
	else
		cpu->stats.pwc_misses++;
}

/* Count an L1 miss of page-size index @sz that the STLB served (@stlb_hit) or a walk did. */
static inline void count_l1_miss(struct vmm_cpu *cpu, unsigned type, unsigned sz, bool stlb_hit)
{
	if (type == ACC_EXEC)
		cpu->stats.itlb_misses[sz]++;
	else
		cpu->stats.dtlb_misses[sz]++;
	if (stlb_hit)
		cpu->stats.stlb_hits[sz]++;
	else
		cpu->stats.stlb_misses[sz]++;
}

/* The #PF of a walk that could not finish, or of its rights; 0 when the access may go on. */
static __attribute__((noinline)) uint32_t walk_error(const struct vmm_cpu *cpu, uint32_t fault,
						     uint32_t error_code, uint8_t attr,
						     unsigned type, unsigned mode)
{
	if (fault)
		return error_code | access_bits(&cpu->regs, type, mode);
	return vmm_mmu_rights_error(&cpu->regs, type, mode, attr);
}

/* The fills after a walk for a write through a clean entry: they replace what is there. */
static __attribute__((noinline)) void refill(struct vmm_cpu *cpu, struct vmm_tlb_array *l1,
					     uint64_t va, const struct mmu_walk *w, unsigned sz)
{
	struct tlb_fill f = { .va = va, .pa = w->pa, .leaf_pa = w->leaf_pa,
			      .path_hash = w->hash, .shift = w->shift, .szidx = sz,
			      .pcid = cpu->pcid, .attr = w->attr, .global = w->global };

	vmm_tlb_fill(&cpu->tlb, l2_array(cpu, sz), &f);
	vmm_tlb_fill(&cpu->tlb, &l1[sz], &f);
}

/*
 * Walk for @va, then check rights, set A/D and fill the TLBs; the walk and
 * the fills are inlined here, so the walk's state never leaves registers.
 * @p and @p1 are the STLB's and the L1's 4 KiB probes that missed, so the
 * fills are fresh; NULL when the TLBs hold an entry for the page (a write
 * through a clean entry). Without @fast only the full walk runs.
 */
static inline __attribute__((always_inline)) void
translate_walk(struct vmm_cpu *cpu, uint64_t va, unsigned type, unsigned mode, bool acct,
	       const struct tlb_probe *p, const struct tlb_probe *p1, const bool fast,
	       struct mmu_xlat *x)
{
	struct vmm_tlb_array *l1 = type == ACC_EXEC ? cpu->tlb.itlb : cpu->tlb.dtlb;
	/* only what walk_levels() reads is set (not the checker's stop_level and
	 * log): this path is hot */
	struct mmu_walk w;
	struct tlb_fill f;
	uint64_t bits;
	unsigned sz;

	w.va = va;
	w.root = cpu->regs.cr3;
	w.pcid = cpu->pcid;
	w.cycles = 0;
	w.fault = 0;
	w.error_code = 0;
	w.pwc_level = 0;
	walk_translate(cpu, &w, fast);
	x->source = VMM_XLAT_WALK;
	x->walk_refs = w.refs;
	x->pwc_level = w.pwc_level;
	/* the "may use" maps with D set are the rights alone */
	if (unlikely(w.fault || !mmu_perm_ok(cpu, ACC_KIND(type, mode), w.attr | TLB_ATTR_D))) {
		x->error_code = walk_error(cpu, w.fault, w.error_code, w.attr, type, mode);
		x->fault = VMM_FAULT_PF;
		x->cyc_walk += w.cycles;
		if (acct)
			count_walk(cpu, &w);
		return;
	}
	/* A on the leaf, D on a write; the entry caches D as it is now in memory */
	bits = (~w.leaf_entry & VMM_PTE_ACCESSED) |
	       (type == ACC_WRITE && !(w.attr & TLB_ATTR_D) ? VMM_PTE_DIRTY : 0);
	if (unlikely(bits)) {
		w.cycles += set_entry_bits(cpu, w.leaf_pa, bits);
		if (bits & VMM_PTE_DIRTY)
			w.attr |= TLB_ATTR_D;
	}
	x->cyc_walk += w.cycles;
	if (acct)
		count_walk(cpu, &w);

	sz = (w.shift - 12) / 9;
	x->pa = w.pa | (va & ((1ull << w.shift) - 1));
	x->page_shift = w.shift;
	if (unlikely(!p)) {
		refill(cpu, l1, va, &w, sz);
		return;
	}
	f = (struct tlb_fill){ .va = va, .pa = w.pa, .leaf_pa = w.leaf_pa, .path_hash = w.hash,
			       .shift = w.shift, .szidx = sz, .pcid = cpu->pcid, .attr = w.attr,
			       .global = w.global, .fresh = 1 };
	if (acct)
		count_l1_miss(cpu, type, sz, false);
	if (likely(sz == VMM_PGSZ_4K)) {
		struct vmm_tlb_entry *e;

		vmm_tlb_forget_last(&cpu->tlb);	/* a new entry may answer for a remembered page */
		tlb_fill_probed(&cpu->tlb, &cpu->tlb.stlb, p, &f, false);
		e = tlb_fill_probed(&cpu->tlb, l1, p1, &f, true);
		if (e)
			memo_note(l1, e);
		return;
	}
	tlb_fill_fresh(&cpu->tlb, l2_array(cpu, sz), &f);
	tlb_fill_fresh(&cpu->tlb, &l1[sz], &f);
}

/* A write through a clean entry walks again: rare, so the walk is not inlined a second time. */
static __attribute__((noinline)) void translate_rewalk(struct vmm_cpu *cpu, uint64_t va,
						       unsigned type, unsigned mode, bool acct,
						       struct mmu_xlat *x)
{
	translate_walk(cpu, va, type, mode, acct, NULL, NULL, true, x);
}

/* What use_entry() did. */
enum { ENTRY_USED, ENTRY_FAULT, ENTRY_REWALK };

/*
 * Use a TLB entry for the access: ENTRY_USED on a usable hit, with pa and
 * page_shift set (the caller counts it); ENTRY_FAULT with the fault from
 * the cached rights in @x; ENTRY_REWALK for a write through a clean entry.
 */
static int use_entry(struct vmm_cpu *cpu, struct vmm_tlb_array *a, struct vmm_tlb_entry *e,
		     uint64_t va, unsigned type, unsigned mode, bool acct, struct mmu_xlat *x)
{
	uint32_t ec;

	tlb_touch(&cpu->tlb, a, e);
	if (mmu_perm_ok(cpu, ACC_KIND(type, mode), e->attr)) {
		x->pa = e->pa | (va & ((1ull << e->shift) - 1));
		x->page_shift = e->shift;
		return ENTRY_USED;
	}
	ec = vmm_mmu_rights_error(&cpu->regs, type, mode, e->attr);
	if (ec) {
		x->fault = VMM_FAULT_PF;
		x->error_code = ec;
		return ENTRY_FAULT;
	}
	if (acct)
		cpu->stats.dirty_rewalks++;
	return ENTRY_REWALK;
}

/*
 * The L1 probe of the 2 MiB and 1 GiB arrays: L1_USED with *x filled on a
 * usable hit, L1_NONE when they hold no entry for @va, else L1_UNUSABLE.
 */
enum { L1_NONE, L1_USED, L1_UNUSABLE };

static int l1_large_hit(struct vmm_cpu *cpu, uint64_t va, unsigned type, unsigned mode,
			unsigned flags, struct mmu_xlat *x)
{
	struct vmm_tlb_array *l1 = type == ACC_EXEC ? cpu->tlb.itlb : cpu->tlb.dtlb;

	if (likely(!(l1[VMM_PGSZ_2M].nvalid | l1[VMM_PGSZ_1G].nvalid)))
		return L1_NONE;
	for (unsigned sz = VMM_PGSZ_2M; sz < VMM_PGSZ_NR; sz++) {
		struct vmm_tlb_entry *e = tlb_find(&l1[sz], va, size_shift[sz], sz, cpu->pcid);
		bool whole = true;

		if (!e)
			continue;
		if (!mmu_perm_ok(cpu, ACC_KIND(type, mode), e->attr))
			return L1_UNUSABLE;
		tlb_touch(&cpu->tlb, &l1[sz], e);
		for (unsigned s = 0; s < sz; s++)
			whole = whole && !l1[s].nvalid;
		/* the hot path records a use as an LRU stamp: not for tree-PLRU */
		if (l1[sz].policy != TLB_POL_PLRU)
			mmu_remember(cpu, va, type, mode, e, sz,
				     whole ? ~((1ull << e->shift) - 1)
					   : ~(uint64_t)VMM_PAGE_MASK_4K);
		mmu_l1_result(cpu, va, type, flags, e, e->shift, sz, x);
		return L1_USED;
	}
	return L1_NONE;
}

/*
 * What translate_lean() leaves, and every translation while the TLBs hold
 * large pages: the L1 4 KiB array, whose usable entry goes into the memo; the large L1 arrays;
 * then, with @x cleared, no paging, #GP, an unusable L1 entry (a fault from
 * its cached rights, or a write through a clean entry that walks again);
 * the STLB, whose hit fills the L1; and the walk.
 */
static __attribute__((noinline)) void translate_general(struct vmm_cpu *cpu, uint64_t va,
							unsigned type, unsigned mode,
							unsigned flags, struct mmu_xlat *x)
{
	const struct vmm_cost_table *c = &cpu->m->clock.cost;
	struct vmm_tlb_array *l1 = type == ACC_EXEC ? cpu->tlb.itlb : cpu->tlb.dtlb;
	bool acct = flags & MMU_ACCOUNT;
	uint64_t tag = va & ~VMM_PAGE_MASK_4K, fp = tlb_fp(tag);
	struct vmm_tlb_entry *e;
	struct tlb_probe p, p1;
	unsigned sz = VMM_PGSZ_4K;
	int large, used;

	/* the L1 and the STLB probe the same tag: tlb_tag(va, 12, VMM_PGSZ_4K) */
	tlb_probe_fp(l1, va, 12, tag, fp, cpu->pcid, &p1);
	e = p1.hit;
	if (e) {
		if (mmu_perm_ok(cpu, ACC_KIND(type, mode), e->attr)) {
			tlb_touch(&cpu->tlb, l1, e);
			memo_note(l1, e);
			mmu_l1_result(cpu, va, type, flags, e, 12, VMM_PGSZ_4K, x);
			return;
		}
	}
	/* a usable large-page entry serves even when the 4 KiB array holds an unusable one */
	large = l1_large_hit(cpu, va, type, mode, flags, x);
	if (large == L1_USED)
		return;
	memset(x, 0, sizeof(*x));
	if (unlikely(!cpu->paging)) {
		x->pa = va & maxphy_mask(cpu->m);
		x->source = VMM_XLAT_NOPAGING;
		return;
	}
	if (unlikely(!mmu_canonical(cpu, va))) {
		x->fault = VMM_FAULT_GP;
		return;
	}
	x->cyc_tlb = c->tlb_l1_hit;
	if (!e && large != L1_NONE)
		e = l1_lookup(cpu, l1, va, VMM_PGSZ_2M, &sz);
	if (unlikely(e)) {
		x->source = VMM_XLAT_L1;
		used = use_entry(cpu, &l1[sz], e, va, type, mode, acct, x);
		if (used == ENTRY_USED && acct)
			mmu_count_l1_hit(cpu, type, sz);
		if (used == ENTRY_REWALK)
			translate_rewalk(cpu, va, type, mode, acct, x);
		return;
	}
	x->cyc_tlb += c->tlb_l2_hit;
	e = l2_lookup(cpu, va, tag, fp, &sz, &p);
	if (likely(!e)) {
		translate_walk(cpu, va, type, mode, acct, &p, &p1, true, x);
		return;
	}
	x->source = VMM_XLAT_L2;
	used = use_entry(cpu, l2_array(cpu, sz), e, va, type, mode, acct, x);
	if (used == ENTRY_USED) {
		struct tlb_fill f = { .va = va, .pa = e->pa, .leaf_pa = e->leaf_pa,
				      .path_hash = e->path_hash, .shift = e->shift, .szidx = sz,
				      .pcid = cpu->pcid, .attr = e->attr, .global = e->global,
				      .fresh = 1 };

		if (acct)
			count_l1_miss(cpu, type, sz, true);
		/* fresh: the L1 lookups above found no entry for the page */
		e = tlb_fill_fresh(&cpu->tlb, &l1[sz], &f);
		if (e && sz == VMM_PGSZ_4K)
			memo_note(l1, e);
	} else if (used == ENTRY_REWALK) {
		translate_rewalk(cpu, va, type, mode, acct, x);
	}
}

/* ---- the fast miss path ---- */

/*
 * The entry of @set (fingerprint words @fpw) holding @tag usable under
 * @pcid, its way in *@way; or NULL. The array has at most 16 ways
 * (fast_geometry()).
 */
static inline __attribute__((always_inline)) struct vmm_tlb_entry *
fast_find(const struct vmm_tlb_array *a, struct vmm_tlb_entry *set, const uint64_t *fpw,
	  uint64_t tag, uint64_t fp, uint16_t pcid, uint32_t *way)
{
	return tlb_set_find_in(set, tlb_fp_ways16(fpw, fp, a->all_ways), tag, pcid, way);
}

/* What a fast fill stores: the entry's words, as the fill builds them once for both arrays. */
struct fast_entry {
	uint64_t tag, pa, cls, leaf_pa, hash;	/* cls: pcid, global, shift and attr as stored */
	uint64_t fp;
};

/*
 * Counts of a fill that replaces @old (valid) with @f's class, when the
 * classes differ: vmm_tlb_recount() with the class word unpacked.
 */
static __attribute__((noinline)) void fast_recount(struct vmm_tlb *t, struct vmm_tlb_array *a,
						   const struct vmm_tlb_entry *old,
						   const struct fast_entry *f)
{
	struct tlb_fill nf = { .pcid = (uint16_t)f->cls, .global = (uint8_t)(f->cls >> 16),
			       .shift = (uint8_t)(f->cls >> 24) };

	vmm_tlb_recount(t, a, old, f->tag, &nf);
}

_Static_assert(offsetof(struct vmm_tlb_entry, pa) == offsetof(struct vmm_tlb_entry, tag) + 8 &&
		       offsetof(struct vmm_tlb_entry, path_hash) ==
			       offsetof(struct vmm_tlb_entry, leaf_pa) + 8,
	       "fast_put() stores tag and pa, leaf_pa and path_hash, as pairs");

/*
 * Put @f into way @way of @set (fingerprint words @fpw) of @a, as
 * tlb_put() does: @full says the way held an entry (the set was
 * full), else it was empty.
 */
static inline __attribute__((always_inline)) struct vmm_tlb_entry *
fast_put(struct vmm_tlb *t, struct vmm_tlb_array *a, struct vmm_tlb_entry *set, uint64_t *fpw,
	 uint32_t way, const struct fast_entry *f, bool full)
{
	struct vmm_tlb_entry *e = set + way;

	if (full) {
		if (unlikely(tlb_class(&e->pcid) != (uint32_t)f->cls))
			fast_recount(t, a, e, f);
	} else {
		a->nvalid++;
		*tlb_set_valid(set) |= 1ull << way;
		a->nvalid_sz[VMM_PGSZ_4K]++;
		t->pcid_count[(uint16_t)f->cls]++;
		t->global_count += (uint8_t)(f->cls >> 16);
	}
	tlb_set_fp(fpw, way, f->fp);
#ifdef __SSE2__
	/* tag and pa, leaf_pa and path_hash: a pair of words each, built once for both fills */
	_mm_storeu_si128((__m128i *)(void *)&e->tag,
			 _mm_set_epi64x((long long)f->pa, (long long)f->tag));
	_mm_storeu_si128((__m128i *)(void *)&e->leaf_pa,
			 _mm_set_epi64x((long long)f->hash, (long long)f->leaf_pa));
#else
	e->tag = f->tag;
	e->pa = f->pa;
	e->leaf_pa = f->leaf_pa;
	e->path_hash = f->hash;
#endif
	memcpy(&e->pcid, &f->cls, sizeof(uint64_t));	/* pcid, global, shift, attr, pad */
	return e;
}

/*
 * fast_fill_list() without the use's stamp, which the caller sets: the
 * entry it filled.
 */
static inline __attribute__((always_inline)) struct vmm_tlb_entry *
fast_put_list(struct vmm_tlb *t, struct vmm_tlb_array *a, struct vmm_tlb_entry *set,
	      const struct fast_entry *f)
{
	struct vmm_tlb_entry *e;
	uint64_t *fpw = tlb_set_hdr(set)->fp;
	uint64_t *list_p = tlb_set_list(set);
	uint64_t empty = ~*tlb_set_valid(set) & a->all_ways, list = *list_p;
	uint32_t way;

	if (likely(!empty)) {
		way = (uint32_t)(list >> (4 * (a->ways - 1))) & 0xf;
		e = fast_put(t, a, set, fpw, way, f, true);
		*list_p = list << 4 | way | a->list_pad;
	} else {
		way = (uint32_t)__builtin_ctzll(empty);
		e = fast_put(t, a, set, fpw, way, f, false);
		if ((list & 0xf) != way)
			*list_p = tlb_list_use(list, way);
	}
	return e;
}

/*
 * A fresh fill of @f into the set whose first way is @set of @a, an array
 * under a recency list that holds no entry for the page usable under f's
 * PCID: what tlb_fill_set() does for it (memo and last hits are the
 * caller's).
 */
static inline __attribute__((always_inline)) void
fast_fill_list(struct vmm_tlb *t, struct vmm_tlb_array *a, struct vmm_tlb_entry *set,
	       const struct fast_entry *f)
{
	fast_put_list(t, a, set, f)->stamp = ++t->tick;
}

/*
 * The fills of the fast path: the STLB (a recency list) and the L1 4 KiB
 * array @l1 (LRU, with its memo), whose sets (their first ways @set2 and
 * @set) just missed the page, get @f; what tlb_fill_set() does for them,
 * and memo_note(). With @four the caller vouches that @l1 has four ways.
 */
static inline __attribute__((always_inline)) void
fast_fill(struct vmm_tlb *t, struct vmm_tlb_array *l1, struct vmm_tlb_entry *set,
	  struct vmm_tlb_array *l2, struct vmm_tlb_entry *set2, const struct fast_entry *f,
	  const bool four)
{
	struct vmm_tlb_entry *e, *e2;
	struct tlb_memo_slot *memo;
	uint64_t *fpw, empty, tick;
	uint32_t way;

	/*
	 * No vmm_tlb_forget_last(): the side's last hit is empty (the side
	 * holds no large page), and the other side's cannot change, as its L1
	 * arrays, which its last hit stands for, do not.
	 */
	e2 = fast_put_list(t, l2, set2, f);

	fpw = tlb_set_hdr(set)->fp;
	empty = ~*tlb_set_valid(set) & l1->all_ways;
	memo = l1->memo;
	if (likely(!empty)) {
		way = four ? tlb_lru_victim4(set) : tlb_lru_victim_at(l1, set);
		tlb_memo_slot(memo, set[way].tag)->page = TLB_TAG_INVALID;
		e = fast_put(t, l1, set, fpw, way, f, true);
	} else {
		e = fast_put(t, l1, set, fpw, (uint32_t)__builtin_ctzll(empty), f, false);
	}
	tick = t->tick;	/* the STLB's use, then the L1's */
	e2->stamp = tick + 1;
	e->stamp = tick + 2;
	t->tick = tick + 2;
	tlb_memo_slot(memo, f->tag)->page = f->tag;
	tlb_memo_slot(memo, f->tag)->e = e;
}

/*
 * The entry of the PWC @a (regions of 2^@shift bytes) for @va under @pcid,
 * or NULL; its way in *@way. Untouched.
 */
static inline __attribute__((always_inline)) struct vmm_tlb_entry *
fast_pwc(const struct vmm_tlb_array *a, uint64_t va, const unsigned shift, uint16_t pcid,
	 uint32_t *way)
{
	uint64_t tag = va & ~((1ull << shift) - 1);
	uint32_t si = tlb_set_index(a, va, shift);

	return fast_find(a, tlb_set_base(a, si), tlb_set_fpw(a, si), tag, tlb_fp(tag), pcid, way);
}

/*
 * fast_pwc() in the PDE cache, first through the entry used last (struct
 * vmm_tlb.pde_last), which a run of walks in one 2 MiB region finds with
 * two compares; the lookup's answer becomes the one used last.
 */
static inline __attribute__((always_inline)) struct vmm_tlb_entry *
fast_pde(struct vmm_tlb *t, uint64_t va, uint16_t pcid, uint32_t *way)
{
	struct vmm_tlb_entry *e = t->pde_last;

	if (likely(e->tag == (va & ~((1ull << 21) - 1)) && e->pcid == pcid)) {
		*way = t->pde_last_way;
		return e;
	}
	e = fast_pwc(&t->pwc[PWC_PDE], va, 21, pcid, way);
	if (e) {
		t->pde_last = e;
		t->pde_last_way = *way;
	}
	return e;
}

/* What lean_step() found. */
enum { LEAN_NEXT, LEAN_BAIL, LEAN_NOT_PRESENT };

/*
 * One level of the lean walk (@level a constant in each inlined copy): read
 * the entry for @va from the table at *@table and fold it in. LEAN_BAIL,
 * having changed nothing outside the walk's locals, where the full walk
 * could do more than read: an entry outside the walker's node (another
 * price, maybe outside memory), a reserved bit, and above the leaf level a
 * large page or A clear (the full walk sets it, and may cache the entry).
 * LEAN_NOT_PRESENT where the walk ends in a #PF with P = 0.
 */
static inline __attribute__((always_inline)) int
lean_step(const struct vmm_cpu *cpu, uint64_t va, const unsigned level, uint64_t *table,
	  uint64_t *e, uint64_t *epa, uint64_t *hash, uint64_t *all, uint64_t *any)
{
	*epa = *table + ((va >> (9 * level)) & 0xff8);
	if (unlikely(*epa - cpu->walk_node_start >= cpu->walk_node_len))
		return LEAN_BAIL;
	*e = __atomic_load_n((const uint64_t *)(const void *)(cpu->walk_host + *epa),
			     __ATOMIC_RELAXED);
	/* P and A must be 1, PS (above level 1) and the reserved bits 0: one test */
	if (unlikely((*e ^ (VMM_PTE_PRESENT | VMM_PTE_ACCESSED)) & cpu->lean_mask[level]))
		return *e & VMM_PTE_PRESENT ? LEAN_BAIL : LEAN_NOT_PRESENT;
	*hash = hash_mix(*hash, *e & ~(VMM_PTE_ACCESSED | VMM_PTE_DIRTY));
	*all &= *e;
	*any |= *e;
	*table = *e & cpu->walk_addr_mask;
	return LEAN_NEXT;
}

/*
 * translate_general() for a 4 KiB page that misses the L1 array and the
 * STLB, when the other arrays hold no entry for @va: what it would do once
 * it got there, without looking again, and with the full walk only (the
 * lean walk gave up).
 */
static __attribute__((noinline)) void translate_miss(struct vmm_cpu *cpu, uint64_t va,
						     unsigned type, unsigned mode, unsigned flags,
						     struct mmu_xlat *x)
{
	struct vmm_tlb_array *l1 = type == ACC_EXEC ? cpu->tlb.itlb : cpu->tlb.dtlb;
	uint32_t set1 = tlb_set_index(l1, va, 12), set2 = tlb_set_index(&cpu->tlb.stlb, va, 12);
	uint64_t tag = va & ~VMM_PAGE_MASK_4K, fp = tlb_fp(tag);
	struct tlb_probe p1 = { .set = set1, .tag = tag, .fp = fp,
				.base = tlb_set_base(l1, set1), .fpw = tlb_set_fpw(l1, set1) };
	struct tlb_probe p2 = { .set = set2, .tag = tag, .fp = fp,
				.base = tlb_set_base(&cpu->tlb.stlb, set2),
				.fpw = tlb_set_fpw(&cpu->tlb.stlb, set2) };

	memset(x, 0, sizeof(*x));
	x->cyc_tlb = cpu->l2_miss_cost;
	translate_walk(cpu, va, type, mode, flags & MMU_ACCOUNT, &p2, &p1, false, x);
}

/*
 * The fills of the lean path: the STLB and the L1 4 KiB array @l1, which
 * both just missed @va's page, get its entry, and the L1's goes into the
 * memo.
 */
static inline __attribute__((always_inline)) void
lean_fill(struct vmm_cpu *cpu, struct vmm_tlb_array *l1, uint64_t va, uint64_t pa,
	  uint64_t leaf_pa, uint64_t hash, uint8_t attr, bool global)
{
	struct vmm_tlb_array *stlb = &cpu->tlb.stlb;
	uint64_t tag = va & ~VMM_PAGE_MASK_4K, fp = tlb_fp(tag);
	struct tlb_fill f = { .va = va, .pa = pa, .leaf_pa = leaf_pa, .path_hash = hash,
			      .shift = 12, .szidx = VMM_PGSZ_4K, .pcid = cpu->pcid,
			      .attr = attr, .global = global, .fresh = 1 };
	uint32_t set;

	vmm_tlb_forget_last(&cpu->tlb);	/* a new entry may answer for a remembered page */
	if (stlb->ways) {
		set = tlb_set_index(stlb, va, 12);
		tlb_fill_set(&cpu->tlb, stlb, set, tlb_set_base(stlb, set), tlb_set_fpw(stlb, set),
			     tag, fp, &f, false);
	}
	if (l1->ways) {
		set = tlb_set_index(l1, va, 12);
		memo_note(l1, tlb_fill_set(&cpu->tlb, l1, set, tlb_set_base(l1, set),
					   tlb_set_fpw(l1, set), tag, fp, &f, true));
	}
}

/* The entry of the PWC of level @l (a constant) for @va under the PCID, or NULL; untouched. */
static inline __attribute__((always_inline)) struct vmm_tlb_entry *
pwc_find(const struct vmm_cpu *cpu, uint64_t va, const unsigned l)
{
	const struct vmm_tlb_array *a = &cpu->tlb.pwc[l - 2];
	const unsigned shift = 12 + 9 * (l - 1);
	uint64_t tag = tlb_tag(va, shift, 0);

	if (!a->nvalid)
		return NULL;
	return tlb_set_find_fp(a, tlb_set_index(a, va, shift), tag, tlb_fp(tag), cpu->pcid);
}

/* The record of a lean walk that ends in a #PF with error code @ec, as translate_walk()'s. */
static __attribute__((noinline)) void lean_fault(struct vmm_cpu *cpu, unsigned flags,
						 unsigned refs, uint64_t cycles, unsigned pwc_level,
						 uint32_t ec, struct mmu_xlat *x)
{
	*x = (struct mmu_xlat){ .cyc_tlb = cpu->l2_miss_cost, .cyc_walk = cycles,
				.fault = VMM_FAULT_PF, .error_code = ec, .source = VMM_XLAT_WALK,
				.walk_refs = refs, .pwc_level = pwc_level };
	if (flags & MMU_ACCOUNT) {
		struct mmu_walk w = { .refs = refs, .cycles = cycles, .pwc_level = pwc_level };

		count_walk(cpu, &w);
	}
}

/*
 * Where fast_any()'s lookups looked: the L1 4 KiB set @set1 and the STLB
 * set @set2 (their first ways) that missed, and the way of the PWC entry a
 * walk starts from.
 */
struct lean_fast {
	struct vmm_tlb_entry *set1, *set2;
	uint32_t pway;
};

/* What a PWC fill of a non-leaf entry the lean walk read takes (walk_fill_pwc()). */
struct lean_pwc_fill {
	uint64_t epa, table, hash;
	uint8_t attr;
};

#define LEAN_LEVEL(l)                                                                          \
	case l:                                                                                \
		step = lean_step(cpu, va, l, &table, &e, &epa, &hash, &all, &any);             \
		if (unlikely(step != LEAN_NEXT)) {                                             \
			fault_level = l;                                                       \
			break;                                                                 \
		}                                                                              \
		if (pwc_level)                                                                 \
			pf[l] = (struct lean_pwc_fill){ epa, table, hash,                      \
							walk_rights(attr0, all, any, cpu->nxe) }; \
		__attribute__((fallthrough));

#define LEAN_FILL_PWC(l)                                                                       \
	if (start >= l && l > fault_level && cpu->tlb.pwc[l - 2].ways)                         \
		lean_fill_pwc(cpu, va, l, &pf[l], fast);

/*
 * Cache the non-leaf entry @pf of level @level (a constant) that a lean
 * walk read in its PWC, which missed it: walk_fill_pwc(), or with @fast
 * (every PWC under a recency list) fast_fill_list().
 */
static inline __attribute__((always_inline)) void
lean_fill_pwc(struct vmm_cpu *cpu, uint64_t va, const unsigned level,
	      const struct lean_pwc_fill *pf, const struct lean_fast *fast)
{
	struct vmm_tlb_array *a = &cpu->tlb.pwc[level - 2];
	const unsigned shift = 12 + 9 * (level - 1);
	struct fast_entry f;

	if (!fast) {
		walk_fill_pwc(cpu, va, cpu->pcid, level, pf->epa, pf->table, pf->hash, pf->attr);
		return;
	}
	f.tag = tlb_tag(va, shift, 0);
	f.fp = tlb_fp(f.tag);
	f.pa = pf->table;
	f.leaf_pa = pf->epa;
	f.hash = pf->hash;
	f.cls = (uint64_t)cpu->pcid | (uint64_t)shift << 24 | (uint64_t)pf->attr << 32;
	fast_fill_list(&cpu->tlb, a, tlb_set_base(a, tlb_set_index(a, va, shift)), &f);
}

/* lean_walk()'s @pwc_level when there are PWCs but none holds an entry for the address. */
#define LEAN_PWC_MISS 6

/*
 * The lean walk of a translation that missed the L1 and the STLB, and its
 * record: from CR3 when @pwc_level is 0 (no PWCs) or LEAN_PWC_MISS, else
 * from @pwc_e, the entry of the PWC of that level. With PWCs, every
 * non-leaf entry the walk reads then goes into its PWC, as in the full
 * walk. The common @pwc_level are constants in their own inlined copies,
 * so that what one kind of walk keeps costs the others nothing. False,
 * having changed nothing, where the full walk could do more than read
 * (lean_step()). A not-present entry or the rights end the walk in the #PF
 * the full walk raises (lean_fault()); else A and D of the leaf are set as
 * translate_walk() sets them, and the TLBs filled. With @fast (from
 * fast_any() or fast_upper()), the PWC entry is under a recency list and
 * @fast says where it sits, and the fills are fast_fill()'s into the sets
 * @fast names.
 *
 * The PWC fills read only the pf[] slots the walk wrote: a level is filled
 * only when the walk read it (start >= l) and went on past it (l >
 * fault_level). GCC cannot follow that through a start it does not know
 * (a walk from CR3) and warns; zeroing the slots to quiet it cost the walk
 * after every #PF some 20 instructions.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
static inline __attribute__((always_inline)) bool
lean_walk(struct vmm_cpu *cpu, uint64_t va, unsigned type, unsigned mode, unsigned flags,
	  struct mmu_xlat *x, const unsigned pwc_level, struct vmm_tlb_entry *pwc_e,
	  const struct lean_fast *fast)
{
	struct vmm_tlb_array *l1 = type == ACC_EXEC ? cpu->tlb.itlb : cpu->tlb.dtlb;
	const bool hit = pwc_level && pwc_level != LEAN_PWC_MISS;
	uint64_t table = cpu->regs.cr3 & cpu->walk_addr_mask, hash = cpu->walk_seed;
	uint64_t e = 0, epa = 0, all = ~0ull, any = 0, cycles, bits;
	unsigned start = hit ? pwc_level - 1 : cpu->levels;
	unsigned fault_level = 0, refs;	/* the level of a not-present entry */
	int step = LEAN_NEXT;
	bool fault;
	uint8_t attr, attr0 = TLB_ATTR_U | TLB_ATTR_W;
	struct lean_pwc_fill pf[6];	/* by level */

	if (hit) {
		table = pwc_e->pa;
		attr0 = pwc_e->attr;
		hash = pwc_e->path_hash;
	}
	switch (start) {
	LEAN_LEVEL(5)
	LEAN_LEVEL(4)
	LEAN_LEVEL(3)
	LEAN_LEVEL(2)
	default:
		step = lean_step(cpu, va, 1, &table, &e, &epa, &hash, &all, &any);
		if (unlikely(step != LEAN_NEXT))
			fault_level = 1;
	}
	if (unlikely(step == LEAN_BAIL))
		return false;
	attr = (uint8_t)(walk_rights(attr0, all, any, cpu->nxe) |
			 ((e & VMM_PTE_PKEY_MASK) >> VMM_PTE_PKEY_SHIFT) << TLB_ATTR_PKEY_SHIFT |
			 (e & VMM_PTE_DIRTY ? TLB_ATTR_D : 0));
	/* a #PF: P = 0, or the rights (the "may use" maps with D set are the rights alone) */
	fault = step == LEAN_NOT_PRESENT ||
		unlikely(!mmu_perm_ok(cpu, ACC_KIND(type, mode), attr | TLB_ATTR_D));

	/* from here on the translation is decided: record it, in the full walk's order */
	refs = start - fault_level + !!fault_level;
	cycles = (uint64_t)refs * cpu->walk_node_cost;
	if (hit && fast) {
		cycles += cpu->pwc_hit_cost;
		tlb_list_touch(&cpu->tlb, pwc_e, fast->pway);	/* the fast path's: a list */
	} else if (hit) {
		struct vmm_tlb_array *a = &cpu->tlb.pwc[pwc_level - 2];
		uint32_t set = tlb_set_index(a, va, 3 + 9 * pwc_level);

		cycles += cpu->pwc_hit_cost;
		tlb_touch_at(&cpu->tlb, a, set, (uint32_t)(pwc_e - tlb_set_base(a, set)), pwc_e);
	}
	if (pwc_level) {
		LEAN_FILL_PWC(5)
		LEAN_FILL_PWC(4)
		LEAN_FILL_PWC(3)
		LEAN_FILL_PWC(2)
	}
	if (unlikely(fault)) {
		lean_fault(cpu, flags, refs, cycles, hit ? pwc_level : 0,
			   walk_error(cpu, step == LEAN_NOT_PRESENT, 0, attr, type, mode), x);
		return true;
	}
	/* A on the leaf, D on a write; the entry caches D as it is now in memory */
	bits = (~e & VMM_PTE_ACCESSED) |
	       (type == ACC_WRITE && !(attr & TLB_ATTR_D) ? VMM_PTE_DIRTY : 0);
	if (unlikely(bits)) {
		cycles += set_entry_bits(cpu, epa, bits);
		if (bits & VMM_PTE_DIRTY)
			attr |= TLB_ATTR_D;
	}
	*x = (struct mmu_xlat){ .pa = table | (va & VMM_PAGE_MASK_4K),
				.cyc_tlb = cpu->l2_miss_cost, .cyc_walk = cycles, .page_shift = 12,
				.source = VMM_XLAT_WALK, .walk_refs = refs,
				.pwc_level = hit ? pwc_level : 0 };
	if (flags & MMU_ACCOUNT) {
		struct mmu_walk w = { .refs = refs, .cycles = cycles,
				      .pwc_level = hit ? pwc_level : 0 };

		count_walk(cpu, &w);
		count_l1_miss(cpu, type, VMM_PGSZ_4K, false);
	}
	if (fast) {
		struct fast_entry f = {
			.tag = va & ~VMM_PAGE_MASK_4K, .pa = table, .leaf_pa = epa, .hash = hash,
			.cls = (uint64_t)cpu->pcid |
			       (uint64_t)((e & VMM_PTE_GLOBAL) && cpu->pge) << 16 | 12ull << 24 |
			       (uint64_t)attr << 32 };

		f.fp = tlb_fp(f.tag);
		fast_fill(&cpu->tlb, l1, fast->set1, &cpu->tlb.stlb, fast->set2, &f, false);
		return true;
	}
	lean_fill(cpu, l1, va, table, epa, hash, attr, (e & VMM_PTE_GLOBAL) && cpu->pge);
	return true;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/*
 * The PWC entry a walk for @va starts from when the PDE and PDPTE caches
 * have none: sets *@level to its level, or to LEAN_PWC_MISS. Nothing is
 * touched.
 */
static struct vmm_tlb_entry *lean_pwc_start(const struct vmm_cpu *cpu, uint64_t va,
					    unsigned *level)
{
	struct vmm_tlb_entry *e;

	if ((e = pwc_find(cpu, va, 4)))
		*level = 4;
	else if (cpu->levels == 5 && (e = pwc_find(cpu, va, 5)))
		*level = 5;
	else
		*level = LEAN_PWC_MISS;
	return e;
}

/*
 * The fast paths after the PDE cache missed: the walk from the deepest PWC
 * entry above it, or from CR3 (lean_pwc_start()'s order), for a page that
 * missed the L1 4 KiB set and the STLB set whose first ways are @set1 and
 * @set2; the full walk (translate_miss()) where it gives up. Out of line,
 * so that its walks cost the common ones no registers.
 */
static __attribute__((noinline)) void fast_upper(struct vmm_cpu *cpu, uint64_t va, unsigned type,
						 unsigned mode, unsigned flags,
						 struct vmm_tlb_entry *set1,
						 struct vmm_tlb_entry *set2, struct mmu_xlat *x)
{
	struct vmm_tlb_array *pwc = cpu->tlb.pwc;
	struct lean_fast fast = { .set1 = set1, .set2 = set2 };
	uint16_t pcid = cpu->pcid;
	struct vmm_tlb_entry *e;
	bool done;

	if ((e = fast_pwc(&pwc[PWC_PDPTE], va, 30, pcid, &fast.pway)))
		done = lean_walk(cpu, va, type, mode, flags, x, 3, e, &fast);
	else if ((e = fast_pwc(&pwc[PWC_PML4E], va, 39, pcid, &fast.pway)))
		done = lean_walk(cpu, va, type, mode, flags, x, 4, e, &fast);
	else if (cpu->levels == 5 &&
		 (e = fast_pwc(&pwc[PWC_PML5E], va, 48, pcid, &fast.pway)))
		done = lean_walk(cpu, va, type, mode, flags, x, 5, e, &fast);
	else
		done = lean_walk(cpu, va, type, mode, flags, x, LEAN_PWC_MISS, NULL, &fast);
	if (unlikely(!done))
		translate_miss(cpu, va, type, mode, flags, x);
}

/*
 * A hit in the L1 4 KiB array @l1 that its memo missed: false when the
 * rights do not let the access use @e as it is (translate_general() then
 * decides), else its use, recorded in the memo, and the result.
 */
static inline __attribute__((always_inline)) bool
fast_l1_use(struct vmm_cpu *cpu, uint64_t va, unsigned type, unsigned mode, unsigned flags,
	    struct vmm_tlb_array *l1, struct vmm_tlb_entry *e, struct mmu_xlat *x)
{
	struct tlb_memo_slot *s = tlb_memo_slot(l1->memo, va);

	if (unlikely(!mmu_perm_ok(cpu, ACC_KIND(type, mode), e->attr)))
		return false;
	e->stamp = ++cpu->tlb.tick;
	s->page = va & ~VMM_PAGE_MASK_4K;
	s->e = e;
	mmu_l1_result(cpu, va, type, flags, e, 12, VMM_PGSZ_4K, x);
	return true;
}

/*
 * translate_lean() for the default geometry and policies (fast_geometry()):
 * the L1 4 KiB array and the STLB looked up with one 16-byte compare each,
 * the PWC entry a walk starts from found with its set and way, and the two
 * arrays filled with the new entry built once (lean_walk() with @fast).
 * Everything it does is what translate_lean() does, in the same order. A
 * side's fast path (cpu->fast, fast_paths()) where fast_walk()'s are not;
 * they send here what they do not serve themselves.
 */
static __attribute__((noinline)) void fast_any(struct vmm_cpu *cpu, uint64_t va, unsigned type,
					       unsigned mode, unsigned flags, struct mmu_xlat *x)
{
	struct vmm_tlb *t = &cpu->tlb;
	struct vmm_tlb_array *l1 = type == ACC_EXEC ? t->itlb : t->dtlb;
	struct vmm_tlb_array *l2 = &t->stlb;
	uint64_t tag = va & ~VMM_PAGE_MASK_4K, fp = tlb_fp(tag);
	uint16_t pcid = cpu->pcid;
	uint32_t s1 = tlb_set_index(l1, va, 12), s2;
	struct lean_fast fast = { .set1 = tlb_set_base(l1, s1) };
	struct vmm_tlb_entry *e;

	e = fast_find(l1, fast.set1, tlb_set_hdr(fast.set1)->fp, tag, fp, pcid, &fast.pway);
	if (e) {
		if (unlikely(!fast_l1_use(cpu, va, type, mode, flags, l1, e, x)))
			goto general;
		return;
	}
	if (unlikely(!cpu->paging || !mmu_canonical(cpu, va)))
		goto general;
	s2 = tlb_set_index(l2, va, 12);
	fast.set2 = tlb_set_base(l2, s2);
	if (fast_find(l2, fast.set2, tlb_set_hdr(fast.set2)->fp, tag, fp, pcid, &fast.pway))
		goto general;
	if (!t->pwc_entries) {
		if (likely(lean_walk(cpu, va, type, mode, flags, x, 0, NULL, &fast)))
			return;
	} else if ((e = fast_pde(t, va, pcid, &fast.pway))) {
		if (likely(lean_walk(cpu, va, type, mode, flags, x, 2, e, &fast)))
			return;
	} else {
		fast_upper(cpu, va, type, mode, flags, fast.set1, fast.set2, x);
		return;
	}
	translate_miss(cpu, va, type, mode, flags, x);
	return;
general:
	translate_general(cpu, va, type, mode, flags, x);
}

/*
 * fast_walk() past its lookups when it hands the walk on: what fast_any()
 * would do from there, the walk from the PDE-cache entry @pde (its way in
 * @fast), or with no @pde from CR3 (no PWCs), then the full walk where the
 * lean one gives up. Out of line: a #PF and a first touch of a page take it.
 */
static __attribute__((noinline)) void fast_walk_on(struct vmm_cpu *cpu, uint64_t va,
						   unsigned type, unsigned mode, unsigned flags,
						   struct mmu_xlat *x, struct vmm_tlb_entry *pde,
						   const struct lean_fast *fast)
{
	bool done = pde ? lean_walk(cpu, va, type, mode, flags, x, 2, pde, fast)
			: lean_walk(cpu, va, type, mode, flags, x, 0, NULL, fast);

	if (unlikely(!done))
		translate_miss(cpu, va, type, mode, flags, x);
}

/* One level of fast_walk() (@l a constant): lean_step(), or to fast_walk_on(). */
#define FAST_LEVEL(l)                                                                          \
	if (unlikely(lean_step(cpu, va, l, &table, &e, &epa, &hash, &all, &any) != LEAN_NEXT)) \
		goto walk_on

/*
 * The fast path of a side with a 4-way L1 4 KiB array (fast_paths()):
 * fast_any() for the commonest miss, in a function of its own so that it
 * needs few registers. That miss is a 4 KiB page that misses the L1 and
 * the STLB, walked with @pwc from the PDE cache (which must hold the PDE)
 * and without from CR3 (no PWCs configured), through entries lean_step()
 * takes, to a leaf that needs neither A nor D set and that the rights
 * allow, or to the #PF of a not-present leaf or of the rights. It decides
 * that before it changes anything and hands anything else to fast_any()
 * (which looks again) or, past the lookups, to where fast_any() would go
 * (translate_general(), fast_upper(), fast_walk_on()). What it then does
 * is lean_walk()'s for that walk, in the same order.
 */
static inline __attribute__((always_inline)) void
fast_walk(struct vmm_cpu *cpu, uint64_t va, unsigned type, unsigned mode, unsigned flags,
	  struct mmu_xlat *x, const bool pwc)
{
	struct vmm_tlb *t = &cpu->tlb;
	struct vmm_tlb_array *l1 = type == ACC_EXEC ? t->itlb : t->dtlb;
	struct vmm_tlb_array *l2 = &t->stlb;
	uint64_t tag = va & ~VMM_PAGE_MASK_4K, fp = tlb_fp(tag);
	uint64_t table, hash, e, epa, all = ~0ull, any = 0, cycles;
	uint16_t pcid = cpu->pcid;
	uint32_t s1 = tlb_set_index(l1, va, 12), s2 = tlb_set_index(l2, va, 12), way, refs, ec;
	int step;
	struct vmm_tlb_entry *set1 = tlb_set_base(l1, s1), *set2 = tlb_set_base(l2, s2), *pde = NULL;
	struct vmm_tlb_entry *hit;
	uint8_t attr;

	/* fast_any()'s answers to hits: an STLB hit implies paging and a canonical @va */
	hit = fast_find(l1, set1, tlb_set_hdr(set1)->fp, tag, fp, pcid, &way);
	if (unlikely(hit)) {
		if (unlikely(!fast_l1_use(cpu, va, type, mode, flags, l1, hit, x)))
			goto general;
		return;
	}
	if (fast_find(l2, set2, tlb_set_hdr(set2)->fp, tag, fp, pcid, &way))
		goto general;
	if (pwc) {
		/*
		 * The paging and canonical tests only when the PDE cache
		 * misses: without paging the TLBs and PWCs are empty (clearing
		 * CR0.PG flushes them), and every tag they hold is a canonical
		 * address in the current paging mode (LA57 changes only with
		 * paging off), which a non-canonical @va's never is.
		 */
		pde = fast_pde(t, va, pcid, &way);
		if (unlikely(!pde)) {
			if (unlikely(!cpu->paging || !mmu_canonical(cpu, va)))
				goto any;
			fast_upper(cpu, va, type, mode, flags, set1, set2, x);
			return;
		}
		table = pde->pa;
		hash = pde->path_hash;
		refs = 1;
	} else {
		if (unlikely(!cpu->paging || !mmu_canonical(cpu, va)))
			goto any;
		table = cpu->regs.cr3 & cpu->walk_addr_mask;
		hash = cpu->walk_seed;
		refs = cpu->levels;
		if (refs == 5) {
			FAST_LEVEL(5);
		}
		FAST_LEVEL(4);
		FAST_LEVEL(3);
		FAST_LEVEL(2);
	}
	step = lean_step(cpu, va, 1, &table, &e, &epa, &hash, &all, &any);
	if (unlikely(step != LEAN_NEXT)) {
		if (step != LEAN_NOT_PRESENT)
			goto walk_on;
		ec = walk_error(cpu, 1, 0, 0, type, mode);	/* a leaf with P = 0 */
		goto fault;
	}
	/* lean_step() found no reserved bit: an XD set means EFER.NXE is */
	attr = (uint8_t)(walk_rights(pwc ? pde->attr : TLB_ATTR_U | TLB_ATTR_W, all, any, 1) |
			 ((e & VMM_PTE_PKEY_MASK) >> VMM_PTE_PKEY_SHIFT) << TLB_ATTR_PKEY_SHIFT |
			 (e & VMM_PTE_DIRTY ? TLB_ATTR_D : 0));
	/* A or D to set: fast_walk_on() walks again and does it */
	if (unlikely(!(e & VMM_PTE_ACCESSED)) || unlikely(type == ACC_WRITE && !(attr & TLB_ATTR_D)))
		goto walk_on;

	/* the #PF of the rights */
	if (unlikely(!mmu_perm_ok(cpu, ACC_KIND(type, mode), attr | TLB_ATTR_D))) {
		ec = walk_error(cpu, 0, 0, attr, type, mode);
		goto fault;
	}

	/* decided: lean_walk()'s record of the walk */
	cycles = (uint64_t)refs * cpu->walk_node_cost + (pwc ? cpu->pwc_hit_cost : 0);
	*x = (struct mmu_xlat){ .pa = table | (va & VMM_PAGE_MASK_4K),
				.cyc_tlb = cpu->l2_miss_cost, .cyc_walk = cycles, .page_shift = 12,
				.source = VMM_XLAT_WALK, .walk_refs = refs, .pwc_level = pwc ? 2 : 0 };
	if (flags & MMU_ACCOUNT) {
		struct mmu_walk w = { .refs = refs, .cycles = cycles, .pwc_level = pwc ? 2 : 0 };

		count_walk(cpu, &w);
		count_l1_miss(cpu, type, VMM_PGSZ_4K, false);
	}
	if (pwc)
		tlb_list_touch(t, pde, way);
	{
		struct fast_entry f = {
			.tag = tag, .pa = table, .leaf_pa = epa, .hash = hash, .fp = fp,
			.cls = (uint64_t)pcid | (uint64_t)((e & VMM_PTE_GLOBAL) && cpu->pge) << 16 |
			       12ull << 24 | (uint64_t)attr << 32 };

		fast_fill(t, l1, set1, l2, set2, &f, true);
	}
	return;
fault:	/* lean_walk()'s record of a walk that ends in a #PF at the leaf */
	if (pwc)
		tlb_list_touch(t, pde, way);
	lean_fault(cpu, flags, refs, (uint64_t)refs * cpu->walk_node_cost +
				       (pwc ? cpu->pwc_hit_cost : 0), pwc ? 2 : 0, ec, x);
	return;
walk_on: {
	struct lean_fast fast = { .set1 = set1, .set2 = set2, .pway = pwc ? way : 0 };

	fast_walk_on(cpu, va, type, mode, flags, x, pde, &fast);
	return;
}
any:
	fast_any(cpu, va, type, mode, flags, x);
	return;
general:
	translate_general(cpu, va, type, mode, flags, x);
}
#undef FAST_LEVEL

/* fast_walk() from the PDE cache. */
static __attribute__((noinline)) void fast_pde_walk(struct vmm_cpu *cpu, uint64_t va,
						    unsigned type, unsigned mode, unsigned flags,
						    struct mmu_xlat *x)
{
	fast_walk(cpu, va, type, mode, flags, x, true);
}

/* fast_walk() from CR3, without PWCs. */
static __attribute__((noinline)) void fast_cr3_walk(struct vmm_cpu *cpu, uint64_t va,
						    unsigned type, unsigned mode, unsigned flags,
						    struct mmu_xlat *x)
{
	fast_walk(cpu, va, type, mode, flags, x, false);
}


/*
 * The common translations when the TLBs hold 4 KiB pages only, on a path
 * whose state fits the host's registers: a usable hit in the L1 4 KiB
 * array; and a page that misses the L1 and the STLB, walked from CR3 or
 * from a PWC entry, through non-leaf entries that are present,
 * accessed and free of reserved bits, to a 4 KiB leaf, a #PF from the
 * rights, or a not-present entry (lean_walk()). It decides all that before
 * it changes anything. Any other miss goes to the (full) walk of
 * translate_general() from where the lookups ended (translate_miss()),
 * anything else to translate_general() from the start: looking again
 * reaches the same result the full way.
 */
static __attribute__((noinline)) void translate_lean(struct vmm_cpu *cpu, uint64_t va,
						     unsigned type, unsigned mode, unsigned flags,
						     struct mmu_xlat *x)
{
	struct vmm_tlb_array *l1 = type == ACC_EXEC ? cpu->tlb.itlb : cpu->tlb.dtlb;
	struct vmm_tlb_array *stlb = &cpu->tlb.stlb;
	uint64_t tag = va & ~VMM_PAGE_MASK_4K, fp = tlb_fp(tag);
	struct vmm_tlb_entry *e;
	bool done;

	e = l1->nvalid_sz[VMM_PGSZ_4K]
		    ? tlb_set_find_fp(l1, tlb_set_index(l1, va, 12), tag, fp, cpu->pcid)
		    : NULL;
	if (e) {
		if (unlikely(!mmu_perm_ok(cpu, ACC_KIND(type, mode), e->attr)))
			goto general;
		tlb_touch(&cpu->tlb, l1, e);
		memo_note(l1, e);
		mmu_l1_result(cpu, va, type, flags, e, 12, VMM_PGSZ_4K, x);
		return;
	}
	if (unlikely(!cpu->paging || !mmu_canonical(cpu, va)))
		goto general;
	if (stlb->nvalid_sz[VMM_PGSZ_4K] &&
	    tlb_set_find_fp(stlb, tlb_set_index(stlb, va, 12), tag, fp, cpu->pcid))
		goto general;
	/* the common walks in copies of their own: without PWCs, from the PDE or PDPTE cache */
	if (!cpu->tlb.pwc_entries) {
		done = lean_walk(cpu, va, type, mode, flags, x, 0, NULL, NULL);
	} else if ((e = pwc_find(cpu, va, 2))) {
		done = lean_walk(cpu, va, type, mode, flags, x, 2, e, NULL);
	} else if ((e = pwc_find(cpu, va, 3))) {
		done = lean_walk(cpu, va, type, mode, flags, x, 3, e, NULL);
	} else {
		unsigned level;

		e = lean_pwc_start(cpu, va, &level);
		done = lean_walk(cpu, va, type, mode, flags, x, level, e, NULL);
	}
	if (likely(done))
		return;
	translate_miss(cpu, va, type, mode, flags, x);
	return;
general:
	translate_general(cpu, va, type, mode, flags, x);
}

/*
 * A translation the hot path (vmm_mmu_translate()) could not serve: the
 * lean path when the side's TLBs hold no large page (struct vmm_tlb.large;
 * their lookups come first where they may answer; the side's fast path,
 * cpu->fast, for the geometries it serves), else the general one.
 */
void vmm_mmu_translate_slow(struct vmm_cpu *cpu, uint64_t va, unsigned type, unsigned mode,
			    unsigned flags, struct mmu_xlat *x)
{
	if (unlikely(cpu->tlb.large[type == ACC_EXEC]))
		translate_general(cpu, va, type, mode, flags, x);
	else if (likely(cpu->fast[type == ACC_EXEC]))
		cpu->fast[type == ACC_EXEC](cpu, va, type, mode, flags, x);
	else
		translate_lean(cpu, va, type, mode, flags, x);
}

/* ---- inspection ---- */

void vmm_mmu_inspect(const struct vmm_cpu *ccpu, uint64_t va, unsigned type, unsigned mode,
		     struct vmm_walk *out)
{
	/* the walk without side effects only reads the CPU */
	struct vmm_cpu *cpu = (struct vmm_cpu *)ccpu;
	struct mmu_walk w = { .va = va, .root = cpu->regs.cr3, .pcid = cpu->pcid,
			      .lv = out->level };

	memset(out, 0, sizeof(*out));
	out->levels = cpu_levels(cpu);
	if (!cpu->paging) {
		out->paddr = va & maxphy_mask(cpu->m);
		return;
	}
	if (!mmu_canonical(cpu, va)) {
		out->fault = VMM_FAULT_GP;
		return;
	}
	walk(cpu, &w);
	out->depth = w.depth;
	if (!w.fault) {
		out->error_code = vmm_mmu_rights_error(&cpu->regs, type, mode, w.attr);
		if (out->error_code) {
			out->fault = VMM_FAULT_PF;
			return;
		}
		out->paddr = w.pa | (va & ((1ull << w.shift) - 1));
		out->page_shift = w.shift;
		return;
	}
	out->fault = w.fault;
	out->error_code = w.error_code | access_bits(&cpu->regs, type, mode);
}

/* ---- the checker ---- */

struct check_ctx {
	struct vmm_cpu *cpu;
	FILE *out, *stale_out;
	long problems;
	uint64_t stale_tlb, stale_pwc;
	uint64_t per_pcid_seen;		/* entries counted while visiting */
	uint64_t globals_seen;
};

/* The rights bits of an entry the checker compares: dirtiness is not a right. */
#define CHECK_RIGHTS ((uint8_t)~TLB_ATTR_D)

/*
 * One entry against a fresh walk of the tables under its PCID's root. The
 * walk's fingerprint tells whether the entries the translation was built
 * from changed since the fill: a stale entry is legal until a flush, and
 * its report says whether its cached rights still are those the tables
 * give now. An entry of unchanged tables must say what a fresh walk says,
 * rights included (U/S and R/W ANDed, XD ORed over the levels, and the
 * protection key): the rights are compared whatever the fingerprint says,
 * so that a fingerprint that missed a change could only turn a legal entry
 * into a reported one, never hide a wrong one.
 */
static void check_entry(void *data, struct vmm_tlb_array *a, struct vmm_tlb_entry *e,
			unsigned pwc_level)
{
	struct check_ctx *ctx = data;
	struct vmm_cpu *cpu = ctx->cpu;
	uint64_t base = e->tag & ~3ull;
	struct mmu_walk w = { .va = base, .root = cpu->pcid_root[e->pcid],
			      .stop_level = pwc_level };
	bool stale, bad;

	ctx->per_pcid_seen++;
	ctx->globals_seen += e->global;
	walk(cpu, &w);
	stale = w.fault || w.hash != e->path_hash || w.leaf_pa != e->leaf_pa;
	if (!stale && !pwc_level && (e->attr & TLB_ATTR_D) && !(w.attr & TLB_ATTR_D))
		stale = true;	/* software cleared D without a flush */
	if (stale) {
		if (pwc_level)
			ctx->stale_pwc++;
		else
			ctx->stale_tlb++;
		if (ctx->stale_out)
			fprintf(ctx->stale_out,
				"cpu%u %s: stale entry va %#" PRIx64 " pcid %u pa %#" PRIx64
				" (tables changed since the fill; legal until a flush; cached rights "
				"%#x, %s)\n",
				cpu->id, a->name, base, e->pcid, e->pa, e->attr & CHECK_RIGHTS,
				w.fault ? "the tables fault now"
				: (w.attr & CHECK_RIGHTS) == (e->attr & CHECK_RIGHTS)
					? "as the tables give now"
					: "the tables give other rights now");
		return;
	}
	bad = w.pa != e->pa || (w.attr & CHECK_RIGHTS) != (e->attr & CHECK_RIGHTS);
	if (!pwc_level)
		bad = bad || w.shift != e->shift || w.global != e->global;
	if (bad) {
		fprintf(ctx->out,
			"cpu%u %s: entry va %#" PRIx64 " pcid %u says pa %#" PRIx64
			" shift %u attr %#x global %u, but the unchanged tables say pa %#" PRIx64
			" shift %u attr %#x global %u\n",
			cpu->id, a->name, base, e->pcid, e->pa, e->shift, e->attr, e->global, w.pa,
			pwc_level ? e->shift : w.shift, w.attr, w.global);
		ctx->problems++;
	}
}

/*
 * The memos (struct tlb_memo_slot) against the L1 4 KiB arrays: a slot
 * names a valid entry of its side's array for its page, the one a lookup
 * under the current PCID returns.
 */
static long check_memo(struct vmm_cpu *cpu, FILE *out)
{
	long problems = 0;

	for (unsigned side = 0; side < 2; side++) {
		struct vmm_tlb_array *a = side ? &cpu->tlb.itlb[0] : &cpu->tlb.dtlb[0];

		for (unsigned i = 0; i < TLB_MEMO_SLOTS; i++) {
			const struct tlb_memo_slot *s = &cpu->tlb.memo[side][i];

			if (s->page == TLB_TAG_INVALID)
				continue;
			if (tlb_memo_slot(cpu->tlb.memo[side], s->page) != s ||
			    s->e != tlb_set_find(a, tlb_set_index(a, s->page, 12), s->page,
						 cpu->pcid)) {
				fprintf(out, "cpu%u: %s memo slot %u names page %#" PRIx64
					     ", which a lookup under pcid %u does not find there\n",
					cpu->id, a->name, i, s->page, cpu->pcid);
				problems++;
			}
		}
	}
	return problems;
}

long vmm_mmu_check(struct vmm_cpu *cpu, FILE *out, FILE *stale_out)
{
	struct vmm_tlb_array *arrays[] = { &cpu->tlb.itlb[0], &cpu->tlb.itlb[1], &cpu->tlb.itlb[2],
					   &cpu->tlb.dtlb[0], &cpu->tlb.dtlb[1], &cpu->tlb.dtlb[2],
					   &cpu->tlb.stlb,    &cpu->tlb.stlb_1g };
	struct check_ctx ctx = { .cpu = cpu, .out = out, .stale_out = stale_out };
	uint64_t counted = 0;

	for (unsigned i = 0; i < ARRAY_SIZE(arrays); i++)
		ctx.problems += vmm_tlb_array_check(arrays[i], false, out);
	for (unsigned i = 0; i < PWC_NR; i++)
		ctx.problems += vmm_tlb_array_check(&cpu->tlb.pwc[i], true, out);
	ctx.problems += check_memo(cpu, out);
	vmm_tlb_for_each(&cpu->tlb, check_entry, &ctx);
	{
		/* read through a local: instrumented builds would reload the field each time */
		const uint32_t *pcid_count = cpu->tlb.pcid_count;

		for (unsigned p = 0; p < TLB_NR_PCIDS; p++)
			counted += pcid_count[p];
	}
	for (unsigned side = 0; side < 2; side++) {
		const struct vmm_tlb_array *l1 = side ? cpu->tlb.itlb : cpu->tlb.dtlb;
		uint32_t large = l1[VMM_PGSZ_2M].nvalid + l1[VMM_PGSZ_1G].nvalid +
				 cpu->tlb.stlb.nvalid_sz[VMM_PGSZ_2M] + cpu->tlb.stlb_1g.nvalid;

		if (large != cpu->tlb.large[side]) {
			fprintf(out, "cpu%u: the %s side counts %u large-page entries, holds %u\n",
				cpu->id, side ? "fetch" : "data", cpu->tlb.large[side], large);
			ctx.problems++;
		}
	}
	if (counted != ctx.per_pcid_seen || cpu->tlb.global_count != ctx.globals_seen) {
		fprintf(out, "cpu%u: per-PCID counts say %" PRIu64 " entries (%" PRIu64
			     " global), the arrays hold %" PRIu64 " (%" PRIu64 " global)\n",
			cpu->id, counted, cpu->tlb.global_count, ctx.per_pcid_seen,
			ctx.globals_seen);
		ctx.problems++;
	}
	if (!cpu->paging && ctx.per_pcid_seen) {
		fprintf(out, "cpu%u: paging is off but the TLBs hold %" PRIu64 " entries\n", cpu->id,
			ctx.per_pcid_seen);
		ctx.problems++;
	}
	cpu->stats.check_stale_tlb = ctx.stale_tlb;
	cpu->stats.check_stale_pwc = ctx.stale_pwc;
	return ctx.problems;
}
