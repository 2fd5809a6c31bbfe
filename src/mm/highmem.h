/* SPDX-License-Identifier: MIT */
/*
 * High memory (Linux's mm/highmem.c with HASHED_PAGE_VIRTUAL, and the
 * kmap_local/kmap_atomic stack): how the kernel reaches the frames above
 * the direct map (cfg.direct_map_limit, ZONE_HIGHMEM).
 *
 * Permanent maps (kmap/kunmap) use the LAST_PKMAP PTEs of the pkmap area,
 * one page table that boot created (init_mm.h). pkmap_count[nr] says what
 * slot nr holds: 0, nothing (its PTE is clear); 1, a page nobody uses any
 * more whose PTE, and maybe TLB entries, are still there; n + 1, a page
 * with n users. A new map takes the next slot with count 0 after
 * last_pkmap_nr; when the scan wraps to slot 0, flush_all_zero_pkmaps()
 * first clears every count-1 slot and, when it cleared one, flushes the
 * whole area from every CPU's TLB in one flush_tlb_kernel_range(). When no
 * slot is free Linux sleeps until a kunmap; this single-threaded machine
 * returns -VMM_EAGAIN instead. page_address() of a highmem page is found
 * through page_address_htable, 2^PA_HASH_ORDER buckets chained through
 * the slots (a slot holds at most one page, so slot nr is its own
 * page_address_map), the bucket chosen by XXH3 of the pfn.
 *
 * Temporary maps (kmap_atomic) take fixmap slots VMM_FIX_KMAP_BEGIN +
 * idx + VMM_KM_MAX_IDX * cpu of the current CPU, idx counting that CPU's
 * live highmem mappings: a stack, unmapped strictly in reverse, each unmap
 * clearing the PTE and flushing the page from the local TLB only. A lowmem
 * page gets its direct-map address and no slot, as in Linux, but its entry
 * is on the stack too, so that unmapping out of order is caught for it as
 * well.
 *
 * Lock order (Linux): kmap_lock, then a hash bucket's lock; the kmap_atomic
 * stacks are per CPU and need none. Ownership: struct vmm_machine.highmem,
 * the machine's host thread.
 */
#ifndef VMM_MM_HIGHMEM_H
#define VMM_MM_HIGHMEM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <vmm/highmem.h>

#include "mm/init_mm.h"

struct vmm_machine;

/* page_address_htable has 1 << PA_HASH_ORDER buckets. */
#define PA_HASH_ORDER 7
/* kmap_atomic entries per CPU, lowmem ones included (VMM_KM_MAX_IDX of them highmem). */
#define VMM_KM_STACK_MAX 64

/* Slot nr's page_address_map: the page it maps and the next slot of its bucket. */
struct vmm_page_address_map {
	uint64_t pfn;
	int32_t next;			/* -1 ends the chain */
	uint32_t pad;
};

/* One kmap_atomic mapping. */
struct vmm_kmap_atomic_entry {
	vmm_vaddr_t vaddr;		/* page aligned */
	uint64_t pfn;
	int32_t fix_idx;		/* fixmap slot; -1 for a lowmem page (no slot) */
	uint32_t pad;
};

/* One CPU's kmap_atomic stack (task_struct.kmap_ctrl in Linux). */
struct vmm_kmap_ctrl {
	unsigned depth;			/* entries on the stack */
	unsigned idx;			/* of which hold a fixmap slot */
	struct vmm_kmap_atomic_entry stack[VMM_KM_STACK_MAX];
};

struct vmm_highmem {
	uint64_t max_low_pfn;		/* direct_map_limit in frames; UINT64_MAX without a cap */
	/* under kmap_lock */
	int32_t pkmap_count[VMM_LAST_PKMAP];
	unsigned last_pkmap_nr;
	struct vmm_page_address_map pam[VMM_LAST_PKMAP];	/* valid where count >= 1 */
	int32_t htable[1u << PA_HASH_ORDER];			/* first slot per bucket, -1 */
	/* per CPU */
	struct vmm_kmap_ctrl *cpu;	/* nr_cpus entries */
	struct vmm_highmem_stats stats;
	/* host views of the PTEs (not simulated state): the pkmap table, every fixmap slot */
	uint64_t *pkmap_pte;		/* VMM_LAST_PKMAP entries; NULL without high memory */
	uint64_t **fix_pte;		/* layout.nr_fixmap entries */
};

/* PageHighMem() by frame number: at or above the direct map's end. */
static inline bool vmm_pfn_highmem(const struct vmm_highmem *hm, uint64_t pfn)
{
	return pfn >= hm->max_low_pfn;
}

/* page_address_init() and the PTE views, once the kernel tables exist. */
int vmm_highmem_init(struct vmm_machine *m);
void vmm_highmem_destroy(struct vmm_machine *m);

/* page_address() of a highmem frame: its pkmap address, or 0 when it is not kmapped. */
vmm_vaddr_t vmm_pkmap_page_address(const struct vmm_machine *m, uint64_t pfn);

/*
 * pkmap counts against their PTEs and the hash, the hash against the slots,
 * and every CPU's fixmap kmap slots against its stack. Returns the problems
 * found, described on @out.
 */
long vmm_highmem_check(struct vmm_machine *m, FILE *out);

struct XXH3_state_s;
/* Add the pkmap and kmap_atomic state to a digest. */
void vmm_highmem_digest(const struct vmm_machine *m, struct XXH3_state_s *st);

#endif /* VMM_MM_HIGHMEM_H */
