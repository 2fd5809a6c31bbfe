/* SPDX-License-Identifier: MIT */
/**
 * @file cpu.h
 * @brief The simulated CPUs: control registers, the x86-64 MMU (4- and
 * 5-level page walks, TLBs, paging-structure caches) and page faults.
 *
 * This is the hardware. Page tables are genuine x86-64 entries that software
 * (the embedder, or libvmm's kernel side) writes into simulated physical
 * memory; CR3 holds the physical address of the top table. The MMU walks
 * them as the Intel SDM (vol. 3A ch. 4) describes, caches translations,
 * sets accessed and dirty flags in memory, and raises #PF (error code and
 * CR2) or #GP (non-canonical address). Each CPU starts in IA-32e mode with
 * CR0 = PE|WP|PG, CR4 = PAE|PGE (plus LA57 when the config asks for 5-level
 * paging), EFER = SCE|LME|LMA|NXE, CPL 0, CR3 = 0 and empty TLBs.
 *
 * @code
 * vmm_cpu *cpu = vmm_machine_cpu(m, 0);
 * vmm_cpu_set_reg(cpu, VMM_REG_CR3, pml4_paddr);      // MOV to CR3
 * struct vmm_access_result r;
 * vmm_cpu_access(cpu, va, 8, VMM_ACC_WRITE | VMM_ACC_USER, &r);
 * // r.paddr, r.cycles, r.faulted, r.signal
 * @endcode
 *
 * Cycles: vmm_cpu_access(), vmm_cpu_read() and vmm_cpu_write() charge the
 * CPU's cycle clock (TLB lookups to VMM_CYC_TLB, walks to VMM_CYC_WALK, data
 * references to VMM_CYC_MEM, fault delivery to VMM_CYC_FAULT) and make the
 * CPU the machine's current CPU. vmm_cpu_translate() charges nothing.
 */
#ifndef VMM_CPU_H
#define VMM_CPU_H

#include <stdio.h>

#include <vmm/common.h>

VMM_BEGIN_DECLS

/** One simulated CPU (opaque). It lives as long as its machine. */
typedef struct vmm_cpu vmm_cpu;

/** @name Page-table entry bits (SDM vol. 3A tables 4-14 to 4-20)
 * @{ */
#define VMM_PTE_PRESENT (1ull << 0)	/**< P */
#define VMM_PTE_RW (1ull << 1)		/**< R/W: writes allowed */
#define VMM_PTE_USER (1ull << 2)	/**< U/S: user-mode accesses allowed */
#define VMM_PTE_PWT (1ull << 3)		/**< page-level write-through */
#define VMM_PTE_PCD (1ull << 4)		/**< page-level cache disable */
#define VMM_PTE_ACCESSED (1ull << 5)	/**< A, set by the MMU */
#define VMM_PTE_DIRTY (1ull << 6)	/**< D (leaf entries), set by the MMU */
#define VMM_PTE_PS (1ull << 7)		/**< page size: a PDPTE maps 1 GiB, a PDE 2 MiB */
#define VMM_PTE_GLOBAL (1ull << 8)	/**< G (leaf entries, with CR4.PGE) */
#define VMM_PTE_PAT_LARGE (1ull << 12)	/**< PAT bit of a 1 GiB / 2 MiB leaf */
#define VMM_PTE_PKEY_SHIFT 59		/**< protection key, bits 62:59 of a leaf */
#define VMM_PTE_PKEY_MASK (0xfull << VMM_PTE_PKEY_SHIFT)
#define VMM_PTE_NX (1ull << 63)		/**< XD (with EFER.NXE; reserved otherwise) */
#define VMM_PTE_ADDR_MASK 0x000ffffffffff000ull /**< bits 51:12 */
/** @} */

/** @name Control-register and MSR bits
 * @{ */
#define VMM_CR0_PE (1ull << 0)
#define VMM_CR0_MP (1ull << 1)
#define VMM_CR0_EM (1ull << 2)
#define VMM_CR0_TS (1ull << 3)
#define VMM_CR0_ET (1ull << 4)
#define VMM_CR0_NE (1ull << 5)
#define VMM_CR0_WP (1ull << 16)
#define VMM_CR0_AM (1ull << 18)
#define VMM_CR0_NW (1ull << 29)
#define VMM_CR0_CD (1ull << 30)
#define VMM_CR0_PG (1ull << 31)
#define VMM_CR3_PCID_MASK 0xfffull		/**< with CR4.PCIDE */
#define VMM_CR3_PWT (1ull << 3)			/**< without CR4.PCIDE */
#define VMM_CR3_PCD (1ull << 4)			/**< without CR4.PCIDE */
#define VMM_CR3_NOFLUSH (1ull << 63)		/**< MOV to CR3 keeps the PCID's entries */
#define VMM_CR4_PSE (1ull << 4)
#define VMM_CR4_PAE (1ull << 5)
#define VMM_CR4_PGE (1ull << 7)
#define VMM_CR4_PCE (1ull << 8)
#define VMM_CR4_OSFXSR (1ull << 9)
#define VMM_CR4_OSXMMEXCPT (1ull << 10)
#define VMM_CR4_UMIP (1ull << 11)
#define VMM_CR4_LA57 (1ull << 12)
#define VMM_CR4_FSGSBASE (1ull << 16)
#define VMM_CR4_PCIDE (1ull << 17)
#define VMM_CR4_OSXSAVE (1ull << 18)
#define VMM_CR4_SMEP (1ull << 20)
#define VMM_CR4_SMAP (1ull << 21)
#define VMM_CR4_PKE (1ull << 22)
#define VMM_EFER_SCE (1ull << 0)
#define VMM_EFER_LME (1ull << 8)
#define VMM_EFER_LMA (1ull << 10)		/**< read-only: set while IA-32e paging is on */
#define VMM_EFER_NXE (1ull << 11)
#define VMM_RFLAGS_FIXED (1ull << 1)		/**< always 1 */
#define VMM_RFLAGS_AC (1ull << 18)
/** @} */

/** Registers for vmm_cpu_get_reg() / vmm_cpu_set_reg(). */
enum vmm_cpu_reg {
	VMM_REG_CR0 = 0,	/**< write = MOV to CR0 */
	VMM_REG_CR2 = 1,	/**< the last #PF address */
	VMM_REG_CR3 = 2,	/**< write = MOV to CR3 (bit 63: no flush, with PCIDE) */
	VMM_REG_CR4 = 3,	/**< write = MOV to CR4 */
	VMM_REG_EFER = 4,	/**< write = WRMSR IA32_EFER */
	VMM_REG_RFLAGS = 5,	/**< only AC (bit 18) may change; bit 1 reads as 1 */
	VMM_REG_PKRU = 6,	/**< write = WRPKRU; 32 bits: AD at 2i, WD at 2i+1 */
	VMM_REG_CPL = 7,	/**< current privilege level 0..3 (3 is user mode) */
	VMM_REG_NR = 8,
};

/** @name Access flags (vmm_cpu_translate(), vmm_cpu_access(), ...)
 * @{ */
#define VMM_ACC_READ 0u			/**< a data read (the default) */
#define VMM_ACC_WRITE (1u << 0)		/**< a data write */
#define VMM_ACC_EXEC (1u << 1)		/**< an instruction fetch */
#define VMM_ACC_USER (1u << 2)		/**< made at CPL 3, whatever the CPL register says */
#define VMM_ACC_IMPLICIT (1u << 3)	/**< an implicit supervisor-mode data access (GDT, IDT, ...) */
#define VMM_ACC_ALL 0xfu
/** @} */

/** @name #PF error code bits (SDM vol. 3A 4.7)
 * @{ */
#define VMM_PF_P (1u << 0)	/**< 0: non-present entry; 1: protection violation */
#define VMM_PF_W (1u << 1)	/**< the access was a write */
#define VMM_PF_U (1u << 2)	/**< the access was a user-mode access */
#define VMM_PF_RSVD (1u << 3)	/**< a reserved bit was set in a paging-structure entry */
#define VMM_PF_I (1u << 4)	/**< instruction fetch (with NXE or SMEP) */
#define VMM_PF_PK (1u << 5)	/**< protection-key violation */
/** @} */

/** The exception an access raises. */
enum vmm_fault_kind {
	VMM_FAULT_NONE = 0,	/**< translated */
	VMM_FAULT_PF = 14,	/**< page fault: error_code and CR2 */
	VMM_FAULT_GP = 13,	/**< general protection: non-canonical address */
};

/** Where a translation came from. */
enum vmm_xlat_source {
	VMM_XLAT_L1 = 1,	/**< first-level TLB (ITLB or DTLB) */
	VMM_XLAT_L2 = 2,	/**< second-level TLB (STLB) */
	VMM_XLAT_WALK = 3,	/**< page walk (possibly shortened by a paging-structure cache) */
	VMM_XLAT_NOPAGING = 4,	/**< CR0.PG is 0: linear = physical */
};

/** What vmm_cpu_translate() found. */
struct vmm_translation {
	vmm_paddr_t paddr;	/**< physical address of the byte (valid when fault is 0) */
	uint64_t cycles;	/**< cycles vmm_cpu_access() would charge for this translation */
	uint32_t fault;		/**< enum vmm_fault_kind */
	uint32_t error_code;	/**< VMM_PF_* bits when fault is VMM_FAULT_PF */
	uint32_t page_shift;	/**< 12, 21 or 30 (0 without paging or on a fault) */
	uint32_t source;	/**< enum vmm_xlat_source (0 on #GP) */
	uint32_t walk_refs;	/**< paging-structure entries the walker read from memory */
	uint32_t pwc_level;	/**< level (2 = PDE .. 5 = PML5E) of the paging-structure-cache
				     entry the walk started from, 0 when it started at CR3 */
	uint64_t reserved[4];
};

/** What vmm_cpu_access() / vmm_cpu_read() / vmm_cpu_write() did. */
struct vmm_access_result {
	vmm_paddr_t paddr;	/**< physical address of the first byte (when it translated) */
	uint64_t cycles;	/**< cycles charged to the CPU by this call */
	uint64_t bytes;		/**< bytes accessed (read/write: copied) */
	uint32_t faulted;	/**< page faults delivered to the handler */
	int32_t signal;		/**< 0, or the signal that ended the access (SIGSEGV = 11, ...) */
	int32_t si_code;	/**< with signal: SEGV_MAPERR 1, SEGV_ACCERR 2, SEGV_PKUERR 4,
				     SI_KERNEL 128 (#GP), or what the handler chose */
	uint32_t error_code;	/**< the last #PF error code */
	vmm_vaddr_t fault_addr;	/**< the last faulting address (CR2, or the #GP address) */
	uint32_t gp;		/**< 1 when a #GP (non-canonical address) ended the access */
	uint32_t pad0;
	uint64_t reserved[4];
};

/** A page fault, as the fault handler sees it. */
struct vmm_fault_info {
	vmm_vaddr_t addr;	/**< CR2 */
	uint32_t error_code;	/**< VMM_PF_* */
	uint32_t access;	/**< the VMM_ACC_* flags of the access */
	int32_t signal;		/**< out: 0 to retry the access, or the signal that ends it */
	int32_t si_code;	/**< out: with signal */
	uint64_t reserved[4];
};

/**
 * A #PF handler. Every machine boots with libvmm's own (Linux's
 * do_page_fault, see fault.h); an embedder may install another. It runs on
 * @p cpu after the fault was delivered
 * (CR2 loaded, fault cycles charged, the TLB and paging-structure-cache
 * entries for the address invalidated as the SDM says).
 *
 * @param data the pointer given to vmm_machine_set_fault_handler()
 * @param cpu  the faulting CPU
 * @param f    the fault; set f->signal (and f->si_code) to end the access
 *             with a signal instead of retrying it
 * @return 0, or a negative VMM_E* code that vmm_cpu_access() returns
 */
typedef int (*vmm_fault_handler_fn)(void *data, vmm_cpu *cpu, struct vmm_fault_info *f);

/** One level of a page walk. */
struct vmm_walk_level {
	vmm_paddr_t entry_paddr;	/**< where the entry lives */
	uint64_t entry;			/**< its value */
	uint32_t level;			/**< 5 = PML5E, 4 = PML4E, 3 = PDPTE, 2 = PDE, 1 = PTE */
	uint32_t pad0;
};

/** Every level of a walk, top first (vmm_cpu_walk()). */
struct vmm_walk {
	uint32_t levels;		/**< paging levels in force (4 or 5) */
	uint32_t depth;			/**< valid entries in level[] */
	struct vmm_walk_level level[5];
	vmm_paddr_t paddr;		/**< the translation, when fault is 0 */
	uint32_t page_shift;		/**< 12, 21 or 30 when it translated */
	uint32_t fault;			/**< enum vmm_fault_kind for the given access */
	uint32_t error_code;		/**< VMM_PF_* when fault is VMM_FAULT_PF */
	uint32_t pad0;
	uint64_t reserved[4];
};

/** Page sizes, indexing the per-size counters. */
enum vmm_page_size_idx {
	VMM_PGSZ_4K = 0,
	VMM_PGSZ_2M = 1,
	VMM_PGSZ_1G = 2,
	VMM_PGSZ_NR = 3,
};

/**
 * Per-CPU MMU counters, named as simulators and perf name them. A lookup
 * that misses a level is counted under the page size of the translation it
 * ended with; lookups that end in a fault count only in page_faults.
 */
struct vmm_cpu_stats {
	uint64_t dtlb_hits[VMM_PGSZ_NR];	/**< L1 DTLB hits */
	uint64_t dtlb_misses[VMM_PGSZ_NR];	/**< L1 DTLB misses */
	uint64_t itlb_hits[VMM_PGSZ_NR];	/**< L1 ITLB hits */
	uint64_t itlb_misses[VMM_PGSZ_NR];	/**< L1 ITLB misses */
	uint64_t stlb_hits[VMM_PGSZ_NR];	/**< second-level TLB hits */
	uint64_t stlb_misses[VMM_PGSZ_NR];	/**< second-level misses: these walked */
	uint64_t page_walks;			/**< walks started (incl. faulting ones) */
	uint64_t walk_cycles;			/**< cycles spent walking */
	uint64_t walk_refs;			/**< paging-structure entries read by walks */
	uint64_t pwc_hits[6];			/**< walks started from a PWC entry, by level 2..5 */
	uint64_t pwc_misses;			/**< walks that started at CR3 */
	uint64_t dirty_rewalks;			/**< writes through an entry with D clear */
	uint64_t ad_updates;			/**< A/D flags set in memory */
	uint64_t page_faults;			/**< #PF raised by vmm_cpu_access/read/write */
	uint64_t gp_faults;			/**< #GP (non-canonical) raised likewise */
	uint64_t invlpg;			/**< INVLPG executed */
	uint64_t invpcid;			/**< INVPCID executed */
	uint64_t cr3_writes;			/**< MOV to CR3 */
	uint64_t tlb_flushes;			/**< full or per-PCID flushes (CR3, CR4, INVPCID 1-3) */
	uint64_t shootdowns_sent;		/**< shootdowns this CPU initiated with IPIs */
	uint64_t shootdown_ipis_sent;		/**< IPIs it sent */
	uint64_t shootdowns_received;		/**< shootdown IPIs it handled */
	uint64_t check_stale_tlb;		/**< stale-but-legal TLB entries at the last check */
	uint64_t check_stale_pwc;		/**< stale-but-legal PWC entries at the last check */
	uint64_t reserved[16];
};

/**
 * A CPU of the machine.
 *
 * @return the CPU, valid while the machine lives; NULL when @p m is NULL or
 *         @p id is not below the configured number of CPUs
 */
VMM_API vmm_cpu *vmm_machine_cpu(vmm_machine *m, unsigned id);

/** @return the CPU's number, or -VMM_EINVAL when @p cpu is NULL */
VMM_API int vmm_cpu_id(const vmm_cpu *cpu);

/**
 * Install the machine's #PF handler in place of libvmm's own (fault.h).
 * A machine without any handler (none is installed before boot completes)
 * ends a faulting access with SIGSEGV, si_code from the error code.
 *
 * @param m    the machine
 * @param fn   the handler, or NULL to restore libvmm's own
 * @param data passed to @p fn
 * @return 0, or -VMM_EINVAL when @p m is NULL
 */
VMM_API int vmm_machine_set_fault_handler(vmm_machine *m, vmm_fault_handler_fn fn, void *data);

/**
 * Read a register.
 *
 * @return 0; -VMM_EINVAL for a NULL argument or an unknown register
 */
VMM_API int vmm_cpu_get_reg(const vmm_cpu *cpu, enum vmm_cpu_reg reg, uint64_t *out);

/**
 * Write a register as the instruction would, with the TLB and
 * paging-structure-cache invalidations the SDM (4.10.4.1) specifies: MOV to
 * CR3 drops the non-global entries of the new PCID (all of PCID 0 without
 * PCIDE) unless bit 63 is set with PCIDE; MOV to CR4 drops everything when
 * PGE changes or PCIDE goes 1 -> 0, and the current PCID's entries when PAE
 * changes or SMEP goes 0 -> 1; clearing CR0.PG drops everything. Writes that
 * would raise #GP (reserved bits, PAE or LME cleared or LA57 changed while
 * IA-32e paging is on, PCIDE set with CR3[11:0] != 0, PG without PE) fail.
 * Paging modes other than IA-32e (32-bit, PAE) are not modelled: setting
 * CR0.PG without CR4.PAE and EFER.LME fails with -VMM_EOPNOTSUPP.
 *
 * @return 0; -VMM_EINVAL for a NULL CPU, an unknown register or a value
 *         the instruction would reject (#GP); -VMM_EOPNOTSUPP as above
 */
VMM_API int vmm_cpu_set_reg(vmm_cpu *cpu, enum vmm_cpu_reg reg, uint64_t value);

/**
 * Translate a linear address for one access, as the MMU would: TLBs, then
 * the paging-structure caches and a walk. The only side effects are the ones
 * hardware has (TLB and PWC fills and replacement state, A/D flags set in
 * memory); no cycles are charged, no counter moves, CR2 is left alone and
 * no fault is delivered: the fault is returned instead.
 *
 * @param cpu   the CPU
 * @param va    the linear address
 * @param flags VMM_ACC_* (WRITE and EXEC exclude each other; IMPLICIT
 *              excludes USER and EXEC)
 * @param out   the result
 * @return 0 (whether or not it faulted); -VMM_EINVAL for bad arguments
 */
VMM_API int vmm_cpu_translate(vmm_cpu *cpu, vmm_vaddr_t va, unsigned flags,
			      struct vmm_translation *out);

/**
 * Perform an access of @p len bytes at @p va on @p cpu (the bytes themselves
 * are not moved; see vmm_cpu_read()): the CPU becomes the machine's current
 * CPU, every page the range touches is translated, cycles are charged, and a
 * #PF goes to the fault handler, after which the access is retried (at most
 * 16 times). A #GP (non-canonical address) ends the access with SIGSEGV
 * (si_code SI_KERNEL) without calling the handler.
 *
 * @param cpu   the CPU
 * @param va    first byte
 * @param len   bytes, at least 1
 * @param flags VMM_ACC_*
 * @param out   the result (may be NULL)
 * @return 0 when the access completed or ended in a signal (see out->signal);
 *         -VMM_EINVAL for bad arguments; -VMM_EFAULT when the handler kept
 *         returning 0 without resolving the fault; the handler's own error
 */
VMM_API int vmm_cpu_access(vmm_cpu *cpu, vmm_vaddr_t va, size_t len, unsigned flags,
			   struct vmm_access_result *out);

/**
 * Read @p len bytes at linear address @p va into @p buf, across pages, as
 * vmm_cpu_access() with VMM_ACC_READ (or VMM_ACC_EXEC) does, then copying.
 *
 * @param flags VMM_ACC_USER, VMM_ACC_IMPLICIT or VMM_ACC_EXEC; others are rejected
 * @return 0 when every byte was read; -VMM_EFAULT when a signal ended it
 *         (out->bytes says how far it got) or a page is not RAM;
 *         -VMM_EINVAL for bad arguments
 */
VMM_API int vmm_cpu_read(vmm_cpu *cpu, vmm_vaddr_t va, void *buf, size_t len, unsigned flags,
			 struct vmm_access_result *out);

/**
 * Write @p len bytes from @p buf at linear address @p va, across pages.
 *
 * @param flags VMM_ACC_USER or VMM_ACC_IMPLICIT; others are rejected
 * @return as vmm_cpu_read()
 */
VMM_API int vmm_cpu_write(vmm_cpu *cpu, vmm_vaddr_t va, const void *buf, size_t len,
			  unsigned flags, struct vmm_access_result *out);

/**
 * Walk the page tables for @p va without touching any cache or flag, and
 * report every entry read and the fault an access with @p flags would raise.
 *
 * @return 0; -VMM_EINVAL for bad arguments
 */
VMM_API int vmm_cpu_walk(const vmm_cpu *cpu, vmm_vaddr_t va, unsigned flags,
			 struct vmm_walk *out);

/**
 * INVLPG: drop the TLB entries for @p va's page of the current PCID and any
 * global entry for it, and every paging-structure-cache entry of the
 * current PCID.
 *
 * @return 0; -VMM_EINVAL for a NULL CPU or a non-canonical address (#GP)
 */
VMM_API int vmm_cpu_invlpg(vmm_cpu *cpu, vmm_vaddr_t va);

/** INVPCID types. */
enum vmm_invpcid_type {
	VMM_INVPCID_ADDR = 0,		/**< one address of one PCID, globals kept */
	VMM_INVPCID_SINGLE = 1,		/**< one PCID, globals kept */
	VMM_INVPCID_ALL_GLOBAL = 2,	/**< all PCIDs, globals too */
	VMM_INVPCID_ALL = 3,		/**< all PCIDs, globals kept */
};

/**
 * INVPCID.
 *
 * @param type enum vmm_invpcid_type
 * @param pcid 0..4095 (types 0 and 1)
 * @param va   canonical address (type 0)
 * @return 0; -VMM_EINVAL for a NULL CPU, an unknown type, a PCID above 4095,
 *         a non-canonical address, or PCID != 0 while CR4.PCIDE is 0 (#GP)
 */
VMM_API int vmm_cpu_invpcid(vmm_cpu *cpu, enum vmm_invpcid_type type, unsigned pcid,
			    vmm_vaddr_t va);

/** @name vmm_tlb_shootdown() flags
 * @{ */
#define VMM_FLUSH_GLOBAL (1u << 0)	/**< global entries too */
#define VMM_FLUSH_ALL_PCIDS (1u << 1)	/**< every PCID, not only @c pcid */
#define VMM_FLUSH_ALL_FLAGS 0x3u
/** Shootdown target: every CPU that may cache a matching entry. */
#define VMM_SHOOTDOWN_ALL (-1)
/** @} */

/**
 * A TLB shootdown, as the kernel's flush path does it: invalidate the
 * pages of [start, start + len) (len 0: the whole address space) for
 * @p pcid on the target CPUs. The sender flushes itself locally when it is a
 * target; every other target gets an IPI: the sender is charged one IPI
 * (send and wait), each receiver one IPI, both in VMM_CYC_IPI, plus the
 * invalidation's own cycles. With VMM_SHOOTDOWN_ALL the IPIs go only to the
 * CPUs whose TLBs or paging-structure caches hold an entry of that PCID (or
 * a global entry, with VMM_FLUSH_GLOBAL). Counts vmstat nr_tlb_remote_flush,
 * nr_tlb_remote_flush_received, nr_tlb_local_flush_all and
 * nr_tlb_local_flush_one as Linux does.
 *
 * @param sender the CPU doing the flush
 * @param target a CPU number, or VMM_SHOOTDOWN_ALL (the sender included)
 * @param pcid   0..4095
 * @param start  first address (page aligned down)
 * @param len    bytes; 0 for everything
 * @param flags  VMM_FLUSH_*
 * @param nr_ipis receives the number of IPIs sent (may be NULL)
 * @return 0; -VMM_EINVAL for bad arguments
 */
VMM_API int vmm_tlb_shootdown(vmm_cpu *sender, int target, unsigned pcid, vmm_vaddr_t start,
			      uint64_t len, unsigned flags, unsigned *nr_ipis);

/**
 * Read a CPU's MMU counters.
 *
 * @return 0; -VMM_EINVAL for NULL arguments
 */
VMM_API int vmm_cpu_stats(const vmm_cpu *cpu, struct vmm_cpu_stats *out);

/**
 * Print a CPU's registers, every valid TLB and paging-structure-cache entry
 * (marking entries that no longer match the page tables as "stale") and its
 * counters.
 *
 * @return 0; -VMM_EINVAL for NULL arguments; -VMM_EIO when writing failed
 */
VMM_API int vmm_cpu_dump(vmm_cpu *cpu, FILE *out);

VMM_END_DECLS

#endif /* VMM_CPU_H */
