/* SPDX-License-Identifier: MIT */
/*
 * Page tables for the MMU tests, built by hand in simulated memory.
 *
 * Every frame comes from pt_alloc_frame(), the one place that takes pages
 * for tables: a zeroed GFP_KERNEL page from node 0's DMA32 zone, as Linux
 * allocates page-table pages.
 */
#ifndef VMM_TESTS_MMU_UTIL_H
#define VMM_TESTS_MMU_UTIL_H

#include "test_util.h"

#include <string.h>

#include "machine.h"
#include "mm/buddy.h"
#include "mm/sparse.h"
#include "sim/cpu.h"
#include "sim/mmu.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)

/* Table entries the builder writes for non-leaf levels unless told otherwise. */
#define PT_TABLE_FLAGS (VMM_PTE_PRESENT | VMM_PTE_RW | VMM_PTE_USER)

static inline vmm_paddr_t pt_alloc_frame(vmm_machine *m)
{
	struct vmm_page *pg = vmm_alloc_pages_node(m, 0, VMM_GFP_KERNEL | VMM_GFP_DMA32 |
							   VMM_GFP_ZERO, 0);

	assert_non_null(pg);
	return vmm_page_to_pfn(m, pg) << VMM_PAGE_SHIFT;
}

/* The 8-byte entry at physical address @pa. */
static inline uint64_t *pt_host(vmm_machine *m, vmm_paddr_t pa)
{
	uint64_t *p = vmm_phys_to_host(m, pa);

	assert_non_null(p);
	return p;
}

static inline unsigned pt_index(uint64_t va, unsigned level)
{
	return (unsigned)((va >> (12 + 9 * (level - 1))) & 511);
}

struct pt {
	vmm_machine *m;
	vmm_paddr_t root;
	unsigned levels;
};

static inline struct pt pt_new(vmm_machine *m, unsigned levels)
{
	struct pt p = { m, pt_alloc_frame(m), levels };

	return p;
}

/*
 * The entry for @va at @level, creating missing tables above it with
 * @table_flags. Returns its physical address.
 */
static inline vmm_paddr_t pt_slot(struct pt *p, uint64_t va, unsigned level, uint64_t table_flags)
{
	vmm_paddr_t table = p->root;

	for (unsigned l = p->levels; l > level; l--) {
		vmm_paddr_t epa = table + pt_index(va, l) * 8;
		uint64_t *e = pt_host(p->m, epa);

		if (!(*e & VMM_PTE_PRESENT))
			*e = pt_alloc_frame(p->m) | table_flags;
		table = *e & VMM_PTE_ADDR_MASK;
	}
	return table + pt_index(va, level) * 8;
}

/* Map @va to @pa with a leaf of size 2^@shift (12, 21, 30); returns the leaf's address. */
static inline vmm_paddr_t pt_map(struct pt *p, uint64_t va, vmm_paddr_t pa, unsigned shift,
				 uint64_t leaf_flags)
{
	unsigned level = shift == 12 ? 1 : shift == 21 ? 2 : 3;
	vmm_paddr_t epa = pt_slot(p, va, level, PT_TABLE_FLAGS);

	*pt_host(p->m, epa) = pa | leaf_flags | (level > 1 ? VMM_PTE_PS : 0);
	return epa;
}

/* Physical address of the entry for @va at @level (the tables must exist). */
static inline vmm_paddr_t pt_entry_pa(struct pt *p, uint64_t va, unsigned level)
{
	vmm_paddr_t table = p->root;

	for (unsigned l = p->levels; l > level; l--)
		table = *pt_host(p->m, table + pt_index(va, l) * 8) & VMM_PTE_ADDR_MASK;
	return table + pt_index(va, level) * 8;
}

static inline uint64_t *pt_entry(struct pt *p, uint64_t va, unsigned level)
{
	return pt_host(p->m, pt_entry_pa(p, va, level));
}

/* A machine with @levels-level paging and @cpus CPUs, the config adjusted by @tweak. */
static inline vmm_machine *mmu_machine(unsigned levels, unsigned cpus,
				       void (*tweak)(struct vmm_config *))
{
	struct vmm_config cfg;
	vmm_machine *m;

	vmm_config_init(&cfg);
	cfg.paging_levels = levels;
	cfg.cpus = cpus;
	if (tweak)
		tweak(&cfg);
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	return m;
}

/* Load @p into CR3 of @cpu. */
static inline void pt_load(vmm_cpu *cpu, const struct pt *p, uint64_t pcid_bits)
{
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR3, p->root | pcid_bits), 0);
}

static inline uint64_t cpu_reg(vmm_cpu *cpu, enum vmm_cpu_reg r)
{
	uint64_t v;

	assert_int_equal(vmm_cpu_get_reg(cpu, r, &v), 0);
	return v;
}

static inline struct vmm_translation xlat(vmm_cpu *cpu, uint64_t va, unsigned flags)
{
	struct vmm_translation t;

	assert_int_equal(vmm_cpu_translate(cpu, va, flags, &t), 0);
	return t;
}

#endif /* VMM_TESTS_MMU_UTIL_H */
