/* SPDX-License-Identifier: MIT */
/**
 * @file config.h
 * @brief The description of a simulated machine.
 *
 * Fill a struct vmm_config with vmm_config_init(), change what you need, and
 * hand it to vmm_machine_create(), which validates every field and copies the
 * struct (the caller's copy may be reused or freed afterwards).
 *
 * @code
 * struct vmm_config cfg;
 * vmm_config_init(&cfg);                  // the default machine
 * cfg.nodes = 4;
 * cfg.node_mem[0] = cfg.node_mem[1] = cfg.node_mem[2] = cfg.node_mem[3] = 1ull << 30;
 * cfg.seed = 42;
 * vmm_machine *m;
 * int err = vmm_machine_create(&cfg, &m);
 * if (err < 0)
 *         fprintf(stderr, "%s\n", vmm_strerror(err));
 * @endcode
 *
 * Physical layout: node 0's address range starts at physical address 0 and
 * every further node's range follows the previous one, so node i spans
 * [sum(node_mem[0..i-1]), sum(node_mem[0..i])). The holes are e820-style
 * non-RAM ranges (firmware, legacy VGA/ROM, PCI MMIO) carved out of those
 * spans: they cost nothing and hold no frames. As in Linux, a node's
 * node_start_pfn is its first pfn that is RAM, and zones span from their first
 * to their last RAM pfn, holes included.
 */
#ifndef VMM_CONFIG_H
#define VMM_CONFIG_H

#include <stdio.h>

#include <vmm/common.h>

VMM_BEGIN_DECLS

/** At most this many NUMA nodes (Linux's MAX_NUMNODES with NODES_SHIFT=6). */
#define VMM_MAX_NUMNODES 64
/** At most this many CPUs. */
#define VMM_MAX_CPUS 256
/** At most this many holes in the physical map. */
#define VMM_MAX_HOLES 16
/** At most this much physical address space (1 TiB). */
#define VMM_MAX_PHYS_MEM (1ull << 40)
/** Node memory must be a multiple of this (2 MiB, one pageblock). */
#define VMM_NODE_MEM_ALIGN (2ull << 20)
/** cpu_node[] value: place the CPU automatically (CPUs spread evenly, in order). */
#define VMM_NODE_AUTO 0xff
/** ACPI SLIT distance of a node to itself. */
#define VMM_LOCAL_DISTANCE 10
/** Default ACPI SLIT distance between two different nodes. */
#define VMM_REMOTE_DISTANCE 21
/** Where the kernel image is loaded (Linux's CONFIG_PHYSICAL_START, 16 MiB). */
#define VMM_KERNEL_PHYS_START (16ull << 20)

/** Log levels, most severe first. */
enum vmm_log_level {
	VMM_LOG_ERROR = 0,
	VMM_LOG_WARN = 1,
	VMM_LOG_INFO = 2,
	VMM_LOG_DEBUG = 3,
};

/**
 * Who caused a logged message. Each kind of trouble also has a counter
 * (vmm_machine_trouble()).
 */
enum vmm_log_kind {
	VMM_LOG_KIND_NOTE = 0,		/**< information, nobody's fault */
	VMM_LOG_KIND_GUEST = 1,		/**< the simulated software misbehaved (double free, bad access) */
	VMM_LOG_KIND_CALLER = 2,	/**< the embedding program misused the API */
	VMM_LOG_KIND_INTERNAL = 3,	/**< a bug in libvmm itself */
};

/**
 * The log hook.
 *
 * @param data  the config's log_data
 * @param level severity
 * @param kind  who caused it
 * @param msg   one line, no trailing newline; valid only during the call
 */
typedef void (*vmm_log_fn)(void *data, enum vmm_log_level level, enum vmm_log_kind kind,
			   const char *msg);

/** A half-open physical address range [start, end). */
struct vmm_phys_range {
	vmm_paddr_t start;
	vmm_paddr_t end;
};

/** The size and associativity of one TLB or paging-structure-cache array. */
struct vmm_tlb_geometry {
	uint16_t entries;	/**< 0: no such array; else ways * a power-of-two number of sets */
	uint16_t ways;		/**< 1..64, dividing entries; ways == entries: fully associative */
};

/** TLB replacement policies (struct vmm_config.tlb_replacement). */
enum vmm_tlb_policy {
	VMM_TLB_LRU = 0,	/**< true LRU */
	VMM_TLB_PLRU = 1,	/**< tree pseudo-LRU (ways must be a power of two) */
	VMM_TLB_RANDOM = 2,	/**< random victim from the machine's seeded PRNG */
};

/** Page-size index of vmm_config.itlb[] and dtlb[]: 4 KiB, 2 MiB, 1 GiB. */
#define VMM_TLB_4K 0
#define VMM_TLB_2M 1
#define VMM_TLB_1G 2

/** Kinds of physical reference passed to the memory-latency callback. */
enum vmm_memref_kind {
	VMM_MEMREF_WALK = 0,	/**< the page walker reading a paging-structure entry */
	VMM_MEMREF_READ = 1,	/**< a data read */
	VMM_MEMREF_WRITE = 2,	/**< a data write */
	VMM_MEMREF_FETCH = 3,	/**< an instruction fetch */
	VMM_MEMREF_AD = 4,	/**< the MMU setting an accessed or dirty flag */
};

/**
 * The embedder's memory model: the latency, in core cycles, of one physical
 * reference by a CPU. It replaces the cost table's NUMA-distance figures for
 * walker and data references.
 *
 * @param data the config's mem_latency_data
 * @param cpu  the referencing CPU
 * @param pa   the physical address
 * @param kind enum vmm_memref_kind
 * @return cycles
 */
typedef uint32_t (*vmm_mem_latency_fn)(void *data, unsigned cpu, vmm_paddr_t pa,
				       unsigned kind);


/** @name Flags for struct vmm_config.flags; any other set bit is rejected. */
/** @{ */
/**
 * Per-CPU page lists as Linux 2.6.11 had them (seed 003 section 8.1.8): a hot
 * and a cold list per zone per CPU with their own low/high/batch, order 0
 * only, VMM_GFP_COLD picking the cold one. Default off: one list per
 * migrate type and per small order, as Linux 6.x has them.
 */
#define VMM_CFG_PCP_HOT_COLD 0x1ull
/**
 * The vm debugging switch (Linux's CONFIG_DEBUG_SLAB with FORCED_DEBUG, as
 * slab_debug on the command line does today): every slab cache gets red
 * zones and last-owner words where they fit, and poisoning, so corruption,
 * double frees and use after free are caught. Default off.
 */
#define VMM_CFG_DEBUG_VM 0x2ull
/**
 * Lazy vmalloc page tables, as x86-64 Linux before 5.8 and i386 have them:
 * a top-level kernel entry created for the vmalloc area after boot is
 * written into init_mm's PGD only, and an address space that lacks it takes
 * a kernel page fault on first touch, which copies the entry from init_mm
 * (vmalloc_fault, seed 001 section 3.6.1.1). Default off: boot preallocates
 * every top-level entry of the vmalloc area, so all address spaces share the
 * kernel half and no such fault happens, as Linux 5.8 and later do.
 */
#define VMM_CFG_VMALLOC_LAZY 0x4ull
#define VMM_CFG_ALL_FLAGS 0x7ull
/** @} */

/**
 * A machine description. Every field's comment gives its default as set by
 * vmm_config_init(). The reserved tail lets fields be added without breaking
 * the ABI; it must be zero.
 */
struct vmm_config {
	/** NUMA nodes, 1..VMM_MAX_NUMNODES. Default 2. */
	uint32_t nodes;
	/** CPUs, 1..VMM_MAX_CPUS. Default 4. */
	uint32_t cpus;
	/** Paging levels, 4 or 5 (LA57). Default 4. */
	uint32_t paging_levels;
	/** Number of valid entries in holes[]. Default 3. */
	uint32_t nr_holes;
	/**
	 * Bytes of physical address space per node (entries 0..nodes-1 are
	 * used), each a non-zero multiple of 2 MiB. Default 2 GiB for every entry.
	 */
	uint64_t node_mem[VMM_MAX_NUMNODES];
	/**
	 * The node of each CPU (entries 0..cpus-1), or VMM_NODE_AUTO to spread
	 * the CPUs evenly over the nodes in order (CPU i on node i*nodes/cpus).
	 * Default VMM_NODE_AUTO everywhere: CPUs 0,1 on node 0 and 2,3 on node 1.
	 */
	uint8_t cpu_node[VMM_MAX_CPUS];
	/**
	 * ACPI SLIT distances. When distance[0][0] is 0 the table is automatic:
	 * 10 on the diagonal and 21 elsewhere. Otherwise the nodes x nodes
	 * corner is used: symmetric, 10 on the diagonal, more than 10 elsewhere.
	 * Default automatic (all zero).
	 */
	uint8_t distance[VMM_MAX_NUMNODES][VMM_MAX_NUMNODES];
	/**
	 * Non-RAM ranges of the physical map, 4 KiB aligned, non-empty, not
	 * overlapping, each inside the nodes' address space. Default:
	 * [0, 4 KiB) (real-mode IVT and BIOS data, which Linux never uses as RAM),
	 * [636 KiB, 1 MiB) (EBDA, VGA window and option ROMs), and
	 * [3.5 GiB, 4 GiB) (the PCI MMIO hole).
	 */
	struct vmm_phys_range holes[VMM_MAX_HOLES];
	/**
	 * Linux's movablecore= in bytes: memory given to ZONE_MOVABLE, spread
	 * over the nodes as Linux spreads kernelcore. 0 (the default) leaves
	 * ZONE_MOVABLE empty.
	 */
	uint64_t movablecore;
	/**
	 * Size of the kernel image (text, data, bss) that boot reserves at
	 * VMM_KERNEL_PHYS_START on node 0. Default 32 MiB. May be 0.
	 */
	uint64_t kernel_image_size;
	/**
	 * vm.min_free_kbytes. 0 (the default) computes it as Linux does at boot:
	 * sqrt(lowmem_kbytes * 16) clamped to [128, 262144].
	 */
	uint32_t min_free_kbytes;
	/** vm.watermark_scale_factor, 1..3000. Default 10 (0.1% of the zone). */
	uint32_t watermark_scale_factor;
	/** Seed of the machine's PRNG. Default 0. */
	uint64_t seed;
	/** VMM_CFG_* bits. Default 0. */
	uint64_t flags;
	/** Messages less severe than this are dropped. Default VMM_LOG_WARN. */
	int32_t log_level;
	uint32_t pad0;
	/** Log hook; NULL (the default) writes to stderr. */
	vmm_log_fn log_fn;
	/** Passed to log_fn. Default NULL. */
	void *log_data;
	/**
	 * L1 instruction TLB arrays by page size (VMM_TLB_4K, _2M, _1G). Default
	 * (modelled on Intel Golden Cove): 4 KiB 256 entries 8-way, 2 MiB 32
	 * entries fully associative, 1 GiB none (1 GiB code pages are served by
	 * the second level).
	 */
	struct vmm_tlb_geometry itlb[3];
	/**
	 * L1 data TLB arrays by page size. Default: 4 KiB 64 entries 4-way, 2 MiB
	 * 32 entries 4-way, 1 GiB 8 entries fully associative.
	 */
	struct vmm_tlb_geometry dtlb[3];
	/** Unified second-level TLB for 4 KiB and 2 MiB pages. Default 2048 entries 16-way. */
	struct vmm_tlb_geometry stlb;
	/** Second-level TLB for 1 GiB pages. Default 1024 entries 8-way. */
	struct vmm_tlb_geometry stlb_1g;
	/**
	 * Paging-structure caches, indexed by level - 2: [0] PDE cache, [1] PDPTE
	 * cache, [2] PML4E cache, [3] PML5E cache. Default (sizes from published
	 * reverse engineering; Intel does not document them): PDE 32 entries
	 * 4-way, PDPTE 4 entries, PML4E 2 entries, PML5E 2 entries, the last
	 * three fully associative.
	 */
	struct vmm_tlb_geometry pwc[4];
	/** enum vmm_tlb_policy for every TLB and PWC array. Default VMM_TLB_LRU. */
	uint32_t tlb_replacement;
	/**
	 * MAXPHYADDR: physical-address bits, 36..52, covering all memory. Entry
	 * address bits at and above it are reserved (#PF with RSVD). Default 46.
	 */
	uint32_t phys_addr_bits;
	/** Memory-latency callback; NULL (the default) uses the cost table. */
	vmm_mem_latency_fn mem_latency_fn;
	/** Passed to mem_latency_fn. Default NULL. */
	void *mem_latency_data;
	/**
	 * Core clock in MHz, 1..100000: converts cycles to machine time (jiffies,
	 * and the timers driven by them such as slab reaping). Default 3000.
	 */
	uint32_t cpu_mhz;
	/** Timer ticks per second (CONFIG_HZ): 100, 250, 300 or 1000. Default 250. */
	uint32_t hz;
	/**
	 * High memory: the direct map ends at this physical address and the RAM
	 * above it forms ZONE_HIGHMEM, which the kernel reaches only through
	 * kmap/kmap_atomic, as i386's 896 MiB lowmem limit does. A multiple of
	 * 2 MiB, at least 64 MiB. 0 (the default): no cap, the direct map covers
	 * all RAM and there is no ZONE_HIGHMEM, as on x86-64.
	 */
	uint64_t direct_map_limit;
	/** Must be zero. */
	uint64_t reserved[21];
};

/**
 * Fill @p cfg with the default machine (ARCHITECTURE.md): two nodes of 2 GiB,
 * four CPUs, 4-level paging, the default holes.
 *
 * @param cfg the config to fill; NULL is ignored
 */
VMM_API void vmm_config_init(struct vmm_config *cfg);

/**
 * Print @p cfg in a human-readable form, one "name value" line per field.
 *
 * @param cfg the config (need not be valid)
 * @param out the stream
 * @return 0, or -VMM_EINVAL when an argument is NULL
 */
VMM_API int vmm_config_print(const struct vmm_config *cfg, FILE *out);

VMM_END_DECLS

#endif /* VMM_CONFIG_H */
