/* SPDX-License-Identifier: MIT */
/**
 * @file machine.h
 * @brief Creating, inspecting, checking and destroying a simulated machine.
 *
 * @code
 * struct vmm_config cfg;
 * vmm_config_init(&cfg);
 * vmm_machine *m;
 * if (vmm_machine_create(&cfg, &m) == 0) {
 *         vmm_dump(m, VMM_DUMP_MEMINFO, stdout);
 *         vmm_machine_destroy(&m);        // m is NULL afterwards
 * }
 * @endcode
 *
 * A machine is used by one host thread at a time. Two machines never share
 * state, so different threads may each drive their own.
 */
#ifndef VMM_MACHINE_H
#define VMM_MACHINE_H

#include <stdio.h>

#include <vmm/common.h>
#include <vmm/config.h>

VMM_BEGIN_DECLS

/**
 * Validate @p cfg, build the machine and boot it: lay out physical memory,
 * run the boot memory allocator (memblock), build the memory map, nodes and
 * zones, and hand every free page to the page allocator.
 *
 * @param cfg the description (copied)
 * @param out receives the machine; set to NULL on failure
 * @return 0; -VMM_EINVAL when an argument is NULL; a -VMM_ECFG_* code naming
 *         the first bad field (the log hook names it too); -VMM_ENOMEM when
 *         host memory ran out, or when the simulated memory cannot hold
 *         boot's own data (the memory map, node data); the log says which.
 *         Nothing is leaked either way.
 */
VMM_API int vmm_machine_create(const struct vmm_config *cfg, vmm_machine **out);

/**
 * Destroy a machine and release all its host memory.
 *
 * @param m the machine handle; *m may be NULL, and is NULL afterwards
 */
VMM_API void vmm_machine_destroy(vmm_machine **m);

/**
 * The configuration the machine was created with (with automatic values,
 * such as CPU placement and distances, filled in).
 *
 * @return the config, valid while the machine lives; NULL when @p m is NULL
 */
VMM_API const struct vmm_config *vmm_machine_config(const vmm_machine *m);

/**
 * Check every internal structure of the machine (memory map, zones, free
 * lists, counters, and everything later layers add).
 *
 * @param m   the machine
 * @param out where to describe each problem, one line each; NULL sends the
 *            descriptions to the log hook (kind VMM_LOG_KIND_INTERNAL)
 * @return the number of problems found (0 when healthy), or -VMM_EINVAL
 */
VMM_API long vmm_machine_check(vmm_machine *m, FILE *out);

/**
 * A 64-bit XXH3 digest of the simulated state: the physical map, every
 * page descriptor, free lists in order, zone and node counters, and the PRNG.
 * Equal configs, seeds and call sequences give equal digests on any host.
 *
 * @return the digest; 0 when @p m is NULL
 */
VMM_API uint64_t vmm_machine_digest(const vmm_machine *m);

/** Counts of logged trouble by kind (see enum vmm_log_kind). */
struct vmm_trouble_counts {
	uint64_t guest;		/**< misbehaviour of the simulated software */
	uint64_t caller;	/**< API misuse by the embedder */
	uint64_t internal;	/**< libvmm bugs caught by its own checks */
	uint64_t bad_pages;	/**< bad_page reports (bad frees, corrupt free pages); also counted in guest */
	uint64_t quarantined_pages; /**< pages a bad_page report took out of the allocator for good */
	uint64_t slab_errors;	/**< slab and kmalloc reports (corruption, bad frees, leaks); also in guest */
	uint64_t reserved[2];
};

/**
 * Read the trouble counters.
 *
 * @return 0, or -VMM_EINVAL when an argument is NULL
 */
VMM_API int vmm_machine_trouble(const vmm_machine *m, struct vmm_trouble_counts *out);

/**
 * Draw the next number from the machine's seeded PRNG (xoshiro256**). Every
 * random decision the simulation makes comes from this stream.
 *
 * @return 64 random bits; 0 when @p m is NULL
 */
VMM_API uint64_t vmm_machine_random(vmm_machine *m);

/**
 * Move machine time forward by @p cycles of idle time and fire every timer
 * that comes due (slab reaping runs every 2 s of machine time on each CPU).
 * Machine time is the furthest-ahead CPU clock, or later after this call;
 * the CPUs' own clocks, which count work, do not change.
 *
 * @return 0; -VMM_EINVAL when @p m is NULL
 */
VMM_API int vmm_machine_advance(vmm_machine *m, uint64_t cycles);

/** @return machine time in jiffies (ticks of the config's hz); 0 for NULL */
VMM_API uint64_t vmm_machine_jiffies(const vmm_machine *m);

/**
 * Zone indices, in Linux's order (include/linux/mmzone.h). ZONE_HIGHMEM
 * holds the RAM above vmm_config.direct_map_limit; without that cap it is
 * empty and, as in a kernel built without CONFIG_HIGHMEM, /proc output does
 * not show it.
 */
enum vmm_zone_type {
	VMM_ZONE_DMA = 0,	/**< below 16 MiB */
	VMM_ZONE_DMA32 = 1,	/**< below 4 GiB (and below direct_map_limit) */
	VMM_ZONE_NORMAL = 2,	/**< the rest of the direct map */
	VMM_ZONE_HIGHMEM = 3,	/**< above direct_map_limit: reached through kmap */
	VMM_ZONE_MOVABLE = 4,	/**< movablecore= memory, movable allocations only */
	VMM_MAX_NR_ZONES = 5,
};

/** A read-only snapshot of one zone's geometry and counters. */
struct vmm_zone_info {
	const char *name;		/**< "DMA", "DMA32", "Normal", "HighMem", "Movable" */
	uint64_t zone_start_pfn;	/**< first pfn (0 when the zone is empty) */
	uint64_t spanned_pages;		/**< end pfn - start pfn, holes included */
	uint64_t present_pages;		/**< RAM pages in the span */
	uint64_t managed_pages;		/**< pages handed to the page allocator */
	uint64_t free_pages;		/**< NR_FREE_PAGES */
	uint64_t watermark_min;		/**< pages */
	uint64_t watermark_low;		/**< pages */
	uint64_t watermark_high;	/**< pages */
	uint64_t watermark_promo;	/**< pages */
	uint64_t lowmem_reserve[VMM_MAX_NR_ZONES]; /**< protection against each higher zone's allocations */
	uint64_t reserved[7];		/**< 8 before ZONE_HIGHMEM took one: the size is unchanged */
};

/** A read-only snapshot of one node. */
struct vmm_node_info {
	uint64_t node_start_pfn;	/**< first RAM pfn of the node */
	uint64_t node_spanned_pages;	/**< last RAM pfn + 1 - node_start_pfn */
	uint64_t node_present_pages;	/**< RAM pages */
	uint64_t node_managed_pages;	/**< sum of the zones' managed pages */
	uint32_t nr_cpus;		/**< CPUs on this node */
	uint32_t pad0;
	uint64_t reserved[8];
};

/** @return the number of NUMA nodes; 0 when @p m is NULL */
VMM_API unsigned vmm_machine_nr_nodes(const vmm_machine *m);

/**
 * Snapshot a node.
 *
 * @return 0; -VMM_EINVAL for NULL arguments; -VMM_ENOENT for a node that does not exist
 */
VMM_API int vmm_node_info(const vmm_machine *m, unsigned nid, struct vmm_node_info *out);

/**
 * Snapshot a zone.
 *
 * @return 0; -VMM_EINVAL for NULL arguments; -VMM_ENOENT for a node or zone that
 *         does not exist (an empty zone exists: its counts are 0; so does
 *         VMM_ZONE_HIGHMEM of a machine without direct_map_limit)
 */
VMM_API int vmm_zone_info(const vmm_machine *m, unsigned nid, enum vmm_zone_type zid,
			  struct vmm_zone_info *out);

/** One entry of the physical memory map (e820 style). */
struct vmm_e820_entry {
	vmm_paddr_t start;	/**< first byte */
	vmm_paddr_t end;	/**< one past the last byte */
	uint32_t type;		/**< VMM_E820_RAM or VMM_E820_RESERVED */
	uint32_t nid;		/**< the node whose address range holds it */
};

#define VMM_E820_RAM 1
#define VMM_E820_RESERVED 2

/**
 * Read the physical map: RAM and non-RAM ranges in address order, split at
 * node boundaries.
 *
 * @param m   the machine
 * @param idx entry index from 0
 * @param out receives the entry
 * @return 0; -VMM_ENOENT past the last entry; -VMM_EINVAL for NULL arguments
 */
VMM_API int vmm_machine_e820(const vmm_machine *m, unsigned idx, struct vmm_e820_entry *out);

/**
 * The host bytes behind a simulated physical address, for the embedder to
 * read or write frame contents. Frames are backed lazily: untouched frames
 * read as zero and cost no host memory.
 *
 * The call marks the frame as possibly written, so that a later __GFP_ZERO
 * allocation of it clears it (frames never marked are known zero and not
 * cleared). Take a fresh pointer for each use: one kept across the frame's
 * free and reallocation no longer marks it.
 *
 * @return a pointer valid for the rest of the frame, or NULL when @p pa is
 *         not RAM
 */
VMM_API void *vmm_phys_to_host(vmm_machine *m, vmm_paddr_t pa);

VMM_END_DECLS

#endif /* VMM_MACHINE_H */
