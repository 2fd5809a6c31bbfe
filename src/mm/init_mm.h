/* SPDX-License-Identifier: MIT */
/*
 * init_mm: the kernel's own page tables, built at boot.
 *
 * For now they hold the direct map: every RAM byte of the e820 map at
 * PAGE_OFFSET + its physical address, as x86-64 Linux's init_mem_mapping()
 * and kernel_physical_mapping_init() build it. Each maximal run of RAM is
 * mapped with 4 KiB pages up to the first 2 MiB boundary, 2 MiB pages up to
 * the first 1 GiB boundary, 1 GiB pages while a whole GiB of RAM remains,
 * then 2 MiB and 4 KiB pages down to the run's end; holes stay unmapped.
 * PAGE_OFFSET is 1 GiB aligned, so virtual and physical alignment agree.
 *
 * The table frames come from memblock, before memory is handed to the buddy
 * allocator, as Linux's alloc_low_page() takes them at that stage; once the
 * memory map exists they are marked page-table pages and counted in
 * NR_PAGETABLE of their node. Every CPU's CR3 is then loaded with the PGD.
 *
 * Ownership: struct vmm_machine.init_mm; the machine's host thread.
 */
#ifndef VMM_MM_INIT_MM_H
#define VMM_MM_INIT_MM_H

#include <stdint.h>
#include <stdio.h>

#include <vmm/common.h>

struct vmm_machine;

/* Direct-map page sizes, in the order meminfo prints them. */
enum { DIRECTMAP_4K, DIRECTMAP_2M, DIRECTMAP_1G, NR_DIRECTMAP_SIZES };

struct vmm_init_mm {
	vmm_paddr_t pgd_pa;		/* physical address of the PGD (what CR3 holds); 0: none */
	uint64_t nr_tables;		/* table frames, the PGD included */
	uint64_t direct_pages[NR_DIRECTMAP_SIZES];	/* leaves of each size in the direct map */
};

/* init_mem_mapping(): allocate the PGD from memblock and map every RAM range. */
int vmm_init_mem_mapping(struct vmm_machine *m);

/*
 * After memblock_free_all(): mark the table frames VMM_PGTY_TABLE, count them
 * in NR_PAGETABLE, and load the PGD into every CPU's CR3.
 */
int vmm_init_mm_finish(struct vmm_machine *m);

/* Bytes the direct map maps with pages of size @size (DIRECTMAP_*). */
uint64_t vmm_direct_map_bytes(const struct vmm_machine *m, unsigned size);

/*
 * Walk the kernel tables: every direct-map leaf maps PAGE_OFFSET + pa to pa
 * with the direct map's flags, lies wholly in RAM, and the totals equal RAM
 * and the recorded DirectMap figures; every table frame is a reserved
 * page-table page. Returns the problems found, described on @out.
 */
long vmm_init_mm_check(struct vmm_machine *m, FILE *out);

#endif /* VMM_MM_INIT_MM_H */
