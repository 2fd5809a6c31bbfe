/* SPDX-License-Identifier: MIT */
/*
 * A simulated CPU: its architectural registers, its translation caches and
 * counters, and the per-node cost of a memory reference from it.
 *
 * The fields the TLB-hit fast path reads (pcid, the canonical-address shift,
 * the permission tables and the L1 arrays) come first. The permission
 * tables are recomputed whenever CR0, CR4, EFER, RFLAGS.AC or PKRU change:
 * perm[kind][a] is 1 when an access of that kind may use an entry whose
 * TLB_ATTR_* byte is a without walking again (rights allow it and, for a
 * write, the entry is dirty). A byte per attribute value (3 KiB) rather
 * than a bit: the hit path tests it with one compare.
 *
 * Ownership: one CPU of one machine; the machine's host thread.
 */
#ifndef VMM_SIM_CPU_H
#define VMM_SIM_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include <vmm/config.h>
#include <vmm/cpu.h>

#include "sim/tlb.h"

struct vmm_machine;

/* Access types and modes; an access kind is type | mode << 2. */
enum { ACC_READ = 0, ACC_WRITE = 1, ACC_EXEC = 2 };
enum { MODE_USER = 0, MODE_SUPER = 1, MODE_IMPLICIT = 2 };
#define ACC_KIND(type, mode) ((unsigned)(type) | (unsigned)(mode) << 2)
#define NR_ACC_KINDS 12

struct mmu_xlat;
struct vmm_cpu;

/* A translation the hot path hands on: vmm_mmu_translate()'s arguments (mmu.h). */
typedef void mmu_fast_fn(struct vmm_cpu *cpu, uint64_t va, unsigned type, unsigned mode,
			 unsigned flags, struct mmu_xlat *x);

struct vmm_cpu_regs {
	uint64_t cr0, cr2, cr3, cr4, efer, rflags;
	uint32_t pkru;
	uint32_t cpl;
};

struct vmm_cpu {
	/* read by the TLB-hit fast path */
	uint16_t pcid;			/* current PCID: CR3[11:0] with CR4.PCIDE, else 0 */
	uint8_t va_shift;		/* 16 with 4-level paging, 7 with 5-level */
	uint8_t paging;			/* CR0.PG */
	uint32_t l1_hit_cost;		/* the cost table's tlb_l1_hit, kept at hand */
	uint8_t perm[NR_ACC_KINDS][256];	/* "may use without walking", by attr */
	struct vmm_tlb tlb;
	struct vmm_cpu_stats stats;

	struct vmm_machine *m;
	unsigned id;
	unsigned nid;			/* the node the CPU sits on */
	struct vmm_cpu_regs regs;
	uint64_t *pcid_root;		/* CR3 table address last loaded with each PCID */
	uint32_t mem_cost[VMM_MAX_NUMNODES];	/* data reference cost by target node */
	uint32_t walk_cost[VMM_MAX_NUMNODES];	/* walker reference cost by target node */
	uint64_t rsvd_mask[2][6];	/* reserved entry bits by [leaf][level], and P in the
					 * non-leaf masks (mmu.c) */
	uint64_t lean_mask[6];		/* by level: the bits the lean walk tests (mmu.c) */
	/* what the walker derives from the registers, recomputed with perm */
	uint64_t walk_seed;		/* the checker's fingerprint seed (EFER.NXE, CR4.PGE) */
	uint8_t levels;			/* paging levels: 5 with CR4.LA57, else 4 */
	uint8_t nxe;			/* EFER.NXE */
	uint8_t pge;			/* CR4.PGE */
	uint8_t fast_off;		/* tests: no fast path, whatever the geometry, so
					 * that its results can be compared (mmu.c) */
	/*
	 * By side (data, fetch): where the hot path (mmu.h) sends a translation
	 * its memo misses while the side's TLBs hold no large page; NULL for a
	 * geometry no fast path serves (mmu.c)
	 */
	mmu_fast_fn *fast[2];
	/* host-side shortcut of the walker (mmu.c): the physical range of the node
	 * of the last walker reference and that node's walker cost with walk_step */
	uint64_t walk_node_start, walk_node_len;
	uint32_t walk_node_cost;
	/* the same for data references (vmm_mmu_data_ref()): the RAM range of the
	 * memory-map entry of the last one, and its node's cost */
	uint32_t data_ram_cost;
	uint64_t data_ram_start, data_ram_len;
	uint32_t pwc_hit_cost;		/* the cost table's pwc_hit, kept at hand */
	uint64_t l2_miss_cost;		/* tlb_l1_hit + tlb_l2_hit: the lookups before a walk */
	/* the walker's view of memory, fixed for the machine (set with perm) */
	const uint8_t *walk_host;	/* host bytes of physical address 0 */
	uint64_t walk_end8;		/* entries at or above this address read as 0 */
	uint64_t walk_addr_mask;	/* an entry's address bits below MAXPHYADDR */
};

/* Machine-wide MMU state (struct vmm_machine.mmu). */
struct vmm_mmu {
	struct vmm_cpu *cpus;		/* nr_cpus entries */
	vmm_fault_handler_fn fault_fn;
	void *fault_data;
	vmm_fault_handler_fn default_fn;	/* what a NULL handler restores (src/fault's) */
	void *default_data;
	uint64_t maxphy_mask;		/* (1 << MAXPHYADDR) - 1 */
	uint64_t rsvd_addr_mask;	/* entry address bits 51:MAXPHYADDR */
};

int vmm_cpus_init(struct vmm_machine *m);
void vmm_cpus_destroy(struct vmm_machine *m);

/* The problems vmm_machine_check() finds in every CPU's caches. */
long vmm_cpus_check(struct vmm_machine *m, FILE *out);

struct XXH3_state_s;
/* Add every CPU's registers, counters and cache contents to a digest. */
void vmm_cpus_digest(const struct vmm_machine *m, struct XXH3_state_s *st);

/*
 * vmm_tlb_shootdown() of one target CPU, for callers inside the library whose
 * arguments need no checking (flush_tlb_mm_range() walking mm_cpumask).
 */
void vmm_tlb_shootdown_one(struct vmm_cpu *sender, struct vmm_cpu *target, uint16_t pcid,
			   uint64_t start, uint64_t len, unsigned flags);

/* Recompute cpu->perm after a register change. */
void vmm_cpu_update_perm(struct vmm_cpu *cpu);

#endif /* VMM_SIM_CPU_H */
