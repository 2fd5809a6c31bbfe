/* SPDX-License-Identifier: MIT */
/**
 * @file mm.h
 * @brief A task's address space: mmap, munmap, brk, mprotect, mremap,
 * madvise, mlock, VMA lookup, and the per-process /proc views.
 *
 * These are Linux's system calls, with Linux's arguments, constants and
 * error codes: for the same address-space state and the same arguments a
 * call returns what x86-64 Linux 6.x returns and leaves the same VMAs
 * (addresses, rights, offsets, merges and splits); a test runs random
 * sequences side by side with the host kernel to keep it so. A call that
 * fails for a bad argument changes nothing. Where libvmm is stricter than
 * Linux it says so: flag bits Linux does not define are rejected with
 * -VMM_EINVAL (Linux ignores unknown mmap flags of MAP_PRIVATE and
 * MAP_SHARED mappings).
 *
 * @code
 * vmm_vaddr_t a;
 * int err = vmm_mmap(t, 0, 8 * 4096, VMM_PROT_READ | VMM_PROT_WRITE,
 *                    VMM_MAP_PRIVATE | VMM_MAP_ANONYMOUS | VMM_MAP_POPULATE, NULL, 0, &a);
 * err = vmm_mprotect(t, a + 4096, 4096, VMM_PROT_READ);   // three VMAs
 * err = vmm_mprotect(t, a + 4096, 4096, VMM_PROT_READ | VMM_PROT_WRITE);   // one again
 * err = vmm_munmap(t, a, 8 * 4096);
 * vmm_task_dump(t, VMM_TASK_DUMP_MAPS, stdout);
 * @endcode
 *
 * Calls run on the machine's current CPU. Anonymous memory is complete: page
 * tables are genuine x86-64 tables in frames from the page allocator,
 * MAP_POPULATE and mlock install zeroed pages, munmap frees pages and empty
 * tables and shoots down the TLB entries of every CPU running the task.
 * File-backed mappings take a vmm_file handle and map its page-cache
 * pages; vmm_msync() writes back what shared ones dirtied.
 */
#ifndef VMM_MM_H
#define VMM_MM_H

#include <stdio.h>

#include <vmm/common.h>
#include <vmm/task.h>

VMM_BEGIN_DECLS

#ifndef VMM_FILE_TYPEDEF
#define VMM_FILE_TYPEDEF
/** An open file whose pages a mapping shows (opaque; see file.h when it lands). */
typedef struct vmm_file vmm_file;
#endif

/** @name Protection bits (PROT_*)
 * @{ */
#define VMM_PROT_NONE 0x0u
#define VMM_PROT_READ 0x1u
#define VMM_PROT_WRITE 0x2u
#define VMM_PROT_EXEC 0x4u
#define VMM_PROT_GROWSDOWN 0x01000000u	/**< mprotect: extend down to the start of a growsdown VMA */
#define VMM_PROT_GROWSUP 0x02000000u	/**< mprotect: extend up (no x86 VMA grows up: -VMM_EINVAL) */
/** @} */

/** @name mmap flags (MAP_*), Linux's x86-64 values
 * @{ */
#define VMM_MAP_SHARED 0x01u
#define VMM_MAP_PRIVATE 0x02u
#define VMM_MAP_SHARED_VALIDATE 0x03u	/**< MAP_SHARED that rejects unknown flags with -VMM_EOPNOTSUPP */
#define VMM_MAP_TYPE 0x0fu		/**< the mapping-type field */
#define VMM_MAP_FIXED 0x10u
#define VMM_MAP_ANONYMOUS 0x20u
#define VMM_MAP_32BIT 0x40u		/**< accepted; places the mapping bottom-up below 2 GiB */
#define VMM_MAP_GROWSDOWN 0x0100u
#define VMM_MAP_DENYWRITE 0x0800u	/**< ignored, as by Linux */
#define VMM_MAP_EXECUTABLE 0x1000u	/**< ignored, as by Linux */
#define VMM_MAP_LOCKED 0x2000u
#define VMM_MAP_NORESERVE 0x4000u
#define VMM_MAP_POPULATE 0x8000u
#define VMM_MAP_NONBLOCK 0x10000u
#define VMM_MAP_STACK 0x20000u
#define VMM_MAP_FIXED_NOREPLACE 0x100000u
/** Every flag vmm_mmap() accepts. */
#define VMM_MAP_ALL_FLAGS                                                                   \
	(VMM_MAP_TYPE | VMM_MAP_FIXED | VMM_MAP_ANONYMOUS | VMM_MAP_32BIT | VMM_MAP_GROWSDOWN |     \
	 VMM_MAP_DENYWRITE | VMM_MAP_EXECUTABLE | VMM_MAP_LOCKED | VMM_MAP_NORESERVE |             \
	 VMM_MAP_POPULATE | VMM_MAP_NONBLOCK | VMM_MAP_STACK | VMM_MAP_FIXED_NOREPLACE)
/** @} */

/** @name mremap flags (MREMAP_*)
 * @{ */
#define VMM_MREMAP_MAYMOVE 1u
#define VMM_MREMAP_FIXED 2u
#define VMM_MREMAP_DONTUNMAP 4u
/** @} */

/** @name madvise advice (MADV_*) that vmm_madvise() accepts
 * @{ */
#define VMM_MADV_NORMAL 0
#define VMM_MADV_RANDOM 1
#define VMM_MADV_SEQUENTIAL 2
#define VMM_MADV_WILLNEED 3
#define VMM_MADV_DONTNEED 4
#define VMM_MADV_FREE 8
#define VMM_MADV_DONTFORK 10
#define VMM_MADV_DOFORK 11
/** @} */

/** mlock2() flag: lock pages as they are faulted in, not now. */
#define VMM_MLOCK_ONFAULT 1u

/** @name VMA flags (vm_flags), Linux's values
 * @{ */
#define VMM_VM_READ 0x00000001ull
#define VMM_VM_WRITE 0x00000002ull
#define VMM_VM_EXEC 0x00000004ull
#define VMM_VM_SHARED 0x00000008ull
#define VMM_VM_MAYREAD 0x00000010ull
#define VMM_VM_MAYWRITE 0x00000020ull
#define VMM_VM_MAYEXEC 0x00000040ull
#define VMM_VM_MAYSHARE 0x00000080ull
#define VMM_VM_GROWSDOWN 0x00000100ull
#define VMM_VM_PFNMAP 0x00000400ull
#define VMM_VM_LOCKED 0x00002000ull
#define VMM_VM_IO 0x00004000ull
#define VMM_VM_SEQ_READ 0x00008000ull
#define VMM_VM_RAND_READ 0x00010000ull
#define VMM_VM_DONTCOPY 0x00020000ull
#define VMM_VM_DONTEXPAND 0x00040000ull
#define VMM_VM_LOCKONFAULT 0x00080000ull
#define VMM_VM_ACCOUNT 0x00100000ull
#define VMM_VM_NORESERVE 0x00200000ull
#define VMM_VM_SOFTDIRTY 0x08000000ull
/** @} */

/** A snapshot of one VMA. */
struct vmm_vma_info {
	vmm_vaddr_t start;	/**< vm_start */
	vmm_vaddr_t end;	/**< vm_end (exclusive) */
	uint64_t pgoff;		/**< vm_pgoff: file offset in pages, or start >> 12 for private anonymous */
	uint64_t vm_flags;	/**< VMM_VM_* */
	vmm_file *file;		/**< the mapped file, or NULL */
	uint32_t anon;		/**< 1 when the VMA has an anon_vma (anonymous pages were installed) */
	uint32_t pad0;
	char name[32];		/**< "[heap]", "[stack]", a special mapping's name, or "" */
	uint64_t reserved[4];
};

/**
 * mmap(). The address is chosen as x86-64 Linux chooses it: top-down below
 * mmap_base, a hint honoured when the range is free, MAP_FIXED replacing
 * whatever was there, MAP_FIXED_NOREPLACE failing with -VMM_EEXIST instead,
 * nothing below vm.mmap_min_addr, private anonymous mappings whose length is
 * a multiple of 2 MiB aligned to 2 MiB (as THP does). The new VMA merges
 * with its neighbours where Linux's vma_merge() would.
 *
 * @param t     the task
 * @param addr  hint, or the address with MAP_FIXED / MAP_FIXED_NOREPLACE
 * @param len   bytes, rounded up to pages
 * @param prot  VMM_PROT_READ | WRITE | EXEC, or VMM_PROT_NONE
 * @param flags one of MAP_SHARED, MAP_SHARED_VALIDATE, MAP_PRIVATE, with VMM_MAP_* modifiers
 * A file mapping holds its own reference to the file: the handle may be
 * closed (and the file unlinked) while the mapping lives, as in Linux.
 * MAP_SHARED|MAP_ANONYMOUS memory lives in a shmem object of the mapping's
 * length, shared with the children of fork and freed with the last VMA.
 *
 * @param file  the file to map (ignored with VMM_MAP_ANONYMOUS)
 * @param off   file offset, page aligned (ignored for anonymous mappings)
 * @param out   receives the address
 * @return 0; -VMM_EBADF (no file without VMM_MAP_ANONYMOUS); -VMM_EACCES
 *         (a file not open for reading; PROT_WRITE with MAP_SHARED on a file
 *         not open for writing); -VMM_EINVAL (len 0, unaligned offset or
 *         MAP_FIXED address, no or bad mapping type, unknown prot or flag
 *         bits, MAP_GROWSDOWN with MAP_SHARED or with a file, a file of
 *         another machine);
 *         -VMM_ENOMEM (length overflow, no room, vm.max_map_count reached,
 *         RLIMIT_AS, RLIMIT_DATA, overcommit refusal, memory ran out);
 *         -VMM_EEXIST (MAP_FIXED_NOREPLACE over a mapping); -VMM_EPERM
 *         (below mmap_min_addr); -VMM_EAGAIN (MAP_LOCKED beyond
 *         RLIMIT_MEMLOCK); -VMM_EOVERFLOW (offset + length wraps)
 */
VMM_API int vmm_mmap(vmm_task *t, vmm_vaddr_t addr, uint64_t len, unsigned prot, unsigned flags,
		     vmm_file *file, uint64_t off, vmm_vaddr_t *out);

/** @name msync() flags (Linux's values) */
/** @{ */
#define VMM_MS_ASYNC 1		/**< schedule writeback (a no-op: dirty pages are tracked) */
#define VMM_MS_INVALIDATE 2	/**< invalidate other mappings (a no-op, as in Linux) */
#define VMM_MS_SYNC 4		/**< write the range's dirty pages of shared file mappings and wait */
/** @} */

/**
 * msync(): with VMM_MS_SYNC, write back the dirty pages of the shared file
 * mappings in [addr, addr + len) and wait for them (fdatasync of each file's
 * range): their PTEs are cleaned and write-protected first, so a later
 * write faults and dirties the page again. Private and anonymous mappings
 * have nothing to write.
 *
 * @return 0; -VMM_EINVAL (unaligned addr, unknown flags, MS_ASYNC with
 *         MS_SYNC); -VMM_ENOMEM (part of the range unmapped; with MS_SYNC
 *         the mapped parts are written all the same); -VMM_EBUSY
 *         (MS_INVALIDATE over a locked mapping); -VMM_EIO (the device
 *         failed a write)
 */
VMM_API int vmm_msync(vmm_task *t, vmm_vaddr_t addr, uint64_t len, unsigned flags);

/**
 * munmap(): remove every mapping in [addr, addr + len), splitting VMAs that
 * straddle its ends, freeing the pages and the page tables left empty, and
 * flushing the TLBs of every CPU running the task. Unmapped gaps are fine.
 *
 * @return 0; -VMM_EINVAL (addr unaligned, len 0, range outside user space);
 *         -VMM_ENOMEM (a split would exceed vm.max_map_count)
 */
VMM_API int vmm_munmap(vmm_task *t, vmm_vaddr_t addr, uint64_t len);

/**
 * brk(): move the end of the heap. As the system call, it never fails: the
 * new break, or the old one when the move is refused (below start_brk,
 * RLIMIT_DATA, the next mapping in the way, no memory), is returned in @p out.
 * brk 0 just reads the break.
 *
 * @return 0; -VMM_EINVAL for NULL arguments
 */
VMM_API int vmm_brk(vmm_task *t, vmm_vaddr_t brk, vmm_vaddr_t *out);

/**
 * mprotect(): change the rights of [addr, addr + len), splitting and merging
 * VMAs as Linux does, rewriting the PTEs and flushing the TLBs.
 *
 * @return 0; -VMM_EINVAL (unaligned addr, unknown prot bits, GROWSUP, GROWSDOWN
 *         on a VMA that does not grow down, overflow); -VMM_ENOMEM (part of
 *         the range unmapped, or vm.max_map_count); -VMM_EACCES (rights the
 *         mapping may not have, e.g. write on a read-only shared file)
 */
VMM_API int vmm_mprotect(vmm_task *t, vmm_vaddr_t addr, uint64_t len, unsigned prot);

/**
 * mremap(): resize a mapping in place when the room is there, else (with
 * MREMAP_MAYMOVE) move it, or move it to @p new_addr (MREMAP_FIXED), or copy
 * it and leave the old range mapped and empty (MREMAP_DONTUNMAP). A moved
 * anonymous mapping that had pages keeps its vm_pgoff (one that never had
 * any takes its new address's), so it merges with new neighbours exactly
 * where Linux's would.
 *
 * @return 0 with the address in @p out; -VMM_EINVAL (bad flags or alignment,
 *         new_len 0, overlapping ranges with MREMAP_FIXED, a range spanning
 *         VMAs when growing); -VMM_EFAULT (old range not mapped, or not one
 *         VMA); -VMM_ENOMEM (no room without MREMAP_MAYMOVE, no room at all,
 *         max_map_count, limits); -VMM_EAGAIN (RLIMIT_MEMLOCK on a locked VMA)
 */
VMM_API int vmm_mremap(vmm_task *t, vmm_vaddr_t old_addr, uint64_t old_len, uint64_t new_len,
		       unsigned flags, vmm_vaddr_t new_addr, vmm_vaddr_t *out);

/**
 * madvise(): NORMAL, RANDOM and SEQUENTIAL set the VMA's read-ahead hint
 * (splitting or merging VMAs); DONTFORK and DOFORK the fork copy flag;
 * WILLNEED is a hint with nothing to read yet for anonymous memory;
 * DONTNEED drops the pages of the range (they read back as zero); FREE
 * drops the clean anonymous pages (here: all of the range's private
 * anonymous pages, as nothing writes them back).
 *
 * @return 0; -VMM_EINVAL (unaligned addr, unknown advice, DONTNEED or FREE on
 *         a locked VMA, FREE on a non-anonymous one); -VMM_ENOMEM (part of
 *         the range unmapped; the mapped parts are still advised, as Linux does)
 */
VMM_API int vmm_madvise(vmm_task *t, vmm_vaddr_t addr, uint64_t len, int advice);

/**
 * mlock(): lock [addr, addr + len) and fault every page in.
 *
 * @return 0; -VMM_EINVAL (overflow); -VMM_ENOMEM (part of the range
 *         unmapped, vm.max_map_count, or RLIMIT_MEMLOCK exceeded);
 *         -VMM_EPERM (RLIMIT_MEMLOCK is 0)
 */
VMM_API int vmm_mlock(vmm_task *t, vmm_vaddr_t addr, uint64_t len);

/** mlock2(): as vmm_mlock(); VMM_MLOCK_ONFAULT locks without faulting in. Unknown flags: -VMM_EINVAL. */
VMM_API int vmm_mlock2(vmm_task *t, vmm_vaddr_t addr, uint64_t len, unsigned flags);

/** munlock(): clear VM_LOCKED on the range. @return as vmm_mlock() */
VMM_API int vmm_munlock(vmm_task *t, vmm_vaddr_t addr, uint64_t len);

/**
 * find_vma(): the first VMA that ends above @p addr.
 *
 * @return 0 and @p out filled; -VMM_ENOENT when there is none; -VMM_EINVAL for NULL
 */
VMM_API int vmm_find_vma(vmm_task *t, vmm_vaddr_t addr, struct vmm_vma_info *out);

/**
 * find_vma_prev(): as vmm_find_vma(), and the VMA before it (or the last VMA
 * when none ends above @p addr).
 *
 * @param prev receives the previous VMA; prev->end is 0 when there is none
 * @return 0 when a VMA ends above @p addr; -VMM_ENOENT when none does (prev
 *         may still be filled); -VMM_EINVAL for NULL
 */
VMM_API int vmm_find_vma_prev(vmm_task *t, vmm_vaddr_t addr, struct vmm_vma_info *out,
			      struct vmm_vma_info *prev);

/**
 * find_vma_intersection(): the first VMA overlapping [start, end).
 *
 * @return 0; -VMM_ENOENT when none; -VMM_EINVAL for NULL or end < start
 */
VMM_API int vmm_find_vma_intersection(vmm_task *t, vmm_vaddr_t start, vmm_vaddr_t end,
				      struct vmm_vma_info *out);

/** The figures of an mm_struct (and /proc/PID/status's Vm* lines). */
struct vmm_mm_info {
	vmm_vaddr_t mmap_base;		/**< top of the top-down mmap area */
	vmm_vaddr_t task_size;		/**< TASK_SIZE: end of user space */
	vmm_vaddr_t start_brk;		/**< heap start */
	vmm_vaddr_t brk;		/**< current break */
	vmm_vaddr_t start_stack;	/**< initial stack pointer area (0: no stack VMA) */
	uint64_t map_count;		/**< VMAs */
	uint64_t total_vm;		/**< pages mapped (VmSize) */
	uint64_t locked_vm;		/**< pages in VM_LOCKED VMAs (VmLck) */
	uint64_t data_vm;		/**< private writable, not stack (VmData) */
	uint64_t exec_vm;		/**< executable, not writable, not stack (VmExe + VmLib) */
	uint64_t stack_vm;		/**< growsdown (VmStk) */
	uint64_t rss_file;		/**< MM_FILEPAGES */
	uint64_t rss_anon;		/**< MM_ANONPAGES */
	uint64_t rss_swap;		/**< MM_SWAPENTS */
	uint64_t pgtables_bytes;	/**< page-table bytes, the PGD included (VmPTE) */
	uint64_t committed_pages;	/**< pages this mm charged to Committed_AS (VM_ACCOUNT) */
	uint64_t reserved[8];
};

/** Fill @p out. @return 0; -VMM_EINVAL for NULL; -VMM_ENOENT after exit */
VMM_API int vmm_task_mm_info(const vmm_task *t, struct vmm_mm_info *out);

/** What vmm_task_dump() prints. */
enum vmm_task_dump_kind {
	VMM_TASK_DUMP_MAPS = 0,		/**< /proc/PID/maps */
	VMM_TASK_DUMP_SMAPS = 1,	/**< /proc/PID/smaps, figures from the page tables */
	VMM_TASK_DUMP_PAGETABLES = 2,	/**< every present entry by level: index, raw value, flags, address */
	VMM_TASK_DUMP_NR_KINDS = 3,
};

/**
 * Print one of the task's /proc views.
 *
 * @return 0; -VMM_EINVAL for NULL arguments or an unknown kind; -VMM_ENOENT
 *         after exit; -VMM_EIO when writing failed
 */
VMM_API int vmm_task_dump(vmm_task *t, enum vmm_task_dump_kind kind, FILE *out);

/** @name pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst)
 * @{ */
#define VMM_PM_PFN_MASK ((1ull << 55) - 1)	/**< bits 0-54: the PFN when present */
#define VMM_PM_SOFT_DIRTY (1ull << 55)
#define VMM_PM_MMAP_EXCLUSIVE (1ull << 56)	/**< mapped by exactly one PTE */
#define VMM_PM_UFFD_WP (1ull << 57)
#define VMM_PM_GUARD_REGION (1ull << 58)
#define VMM_PM_FILE (1ull << 61)		/**< file page or shared anonymous */
#define VMM_PM_SWAP (1ull << 62)
#define VMM_PM_PRESENT (1ull << 63)
/** @} */

/**
 * Read /proc/PID/pagemap: one entry per virtual page from @p start.
 *
 * @param t     the task
 * @param start first address (rounded down to its page)
 * @param n     entries to fill
 * @param out   @p n entries
 * @return 0; -VMM_EINVAL for NULL arguments or a range beyond user space;
 *         -VMM_ENOENT after exit
 */
VMM_API int vmm_task_pagemap(vmm_task *t, vmm_vaddr_t start, size_t n, uint64_t *out);

VMM_END_DECLS

#endif /* VMM_MM_H */
