/* SPDX-License-Identifier: MIT */
/*
 * The page-fault path's internal contract (seed 001 section 3.6, seed 000
 * section 1.1): the struct vm_fault every handler below handle_mm_fault()
 * receives, the VM_FAULT_* results and FAULT_FLAG_* flags, and the split of
 * the work between the two halves of src/fault:
 *
 *   fault.c, memory.c  the #PF entry (do_page_fault: kernel vs user faults,
 *                      vmalloc sync, spurious faults, exception fixups,
 *                      oops, access_error, bad_area, expand_stack),
 *                      handle_mm_fault (tables at every level),
 *                      handle_pte_fault, do_anonymous_page (zero page or a
 *                      zeroed page), do_wp_page (COW copy or reuse of
 *                      private pages), populate (faultin_page), the
 *                      user-memory accessors and the counters;
 *   filemap_fault.c    everything a VMA with a file (or a shmem object)
 *                      does: do_fault (do_read_fault with fault-around,
 *                      do_cow_fault, do_shared_fault with page_mkwrite),
 *                      finish_fault, wp_page_shared for a write to a clean
 *                      page of a shared mapping.
 *
 * Page accounting goes through mm/rmap.h (vm_normal_page, the rmap calls,
 * mm counters, the zero page). Ownership: one machine, its host thread.
 */
#ifndef VMM_FAULT_FAULT_H
#define VMM_FAULT_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "mm/mm_types.h"
#include "mm/mmzone.h"

struct vmm_machine;

/* VM_FAULT_* (Linux's values; filemap.h's copies of some must agree). */
#define VMF_OOM 0x0001u
#define VMF_SIGBUS 0x0002u
#define VMF_MAJOR 0x0004u
#define VMF_HWPOISON 0x0010u
#define VMF_SIGSEGV 0x0040u
#define VMF_NOPAGE 0x0100u
#define VMF_LOCKED 0x0200u
#define VMF_RETRY 0x0400u
#define VMF_FALLBACK 0x0800u
#define VMF_DONE_COW 0x1000u
#define VMF_ERROR (VMF_OOM | VMF_SIGBUS | VMF_SIGSEGV | VMF_HWPOISON)

/* FAULT_FLAG_* (the subset the simulation distinguishes). */
#define FAULT_FLAG_WRITE 0x0001u
#define FAULT_FLAG_MKWRITE 0x0002u
#define FAULT_FLAG_ALLOW_RETRY 0x0004u
#define FAULT_FLAG_RETRY_NOWAIT 0x0008u
#define FAULT_FLAG_KILLABLE 0x0010u
#define FAULT_FLAG_TRIED 0x0020u
#define FAULT_FLAG_USER 0x0040u
#define FAULT_FLAG_REMOTE 0x0080u
#define FAULT_FLAG_INSTRUCTION 0x0100u
#define FAULT_FLAG_INTERRUPTIBLE 0x0200u

/* struct vm_fault */
struct vmm_vm_fault {
	struct vmm_vma *vma;
	struct vmm_task *task;		/* whose fault it is (NULL: a kernel-internal populate) */
	unsigned flags;			/* FAULT_FLAG_* */
	uint64_t address;		/* the faulting address, page aligned */
	uint64_t real_address;		/* the faulting address as CR2 holds it */
	uint64_t pgoff;			/* the page's offset in the VMA's vm_pgoff space */
	uint64_t *pte;			/* the leaf slot (its tables exist), in simulated memory */
	uint64_t orig_pte;		/* the leaf's value when the fault was taken */
	struct vmm_page *page;		/* ->fault's page (locked with VMF_LOCKED) */
	struct vmm_page *cow_page;	/* do_cow_fault's private copy */
};

/*
 * What the core side fills before calling the file side (memory.c's
 * handle_pte_fault): vma, task (the faulting task; populate passes the task
 * that called mmap/mlock), flags (FAULT_FLAG_WRITE / USER / INSTRUCTION),
 * address (page aligned), real_address, pgoff (vm_pgoff + the page's index
 * in the VMA), pte (the leaf slot: every table above it exists) and
 * orig_pte (0 for vmm_do_fault; the present read-only entry for
 * vmm_wp_page_shared); page and cow_page are NULL. The fault's delivery
 * already dropped this CPU's TLB entry for the address. The core side counts
 * pgfault and the task's min_flt or maj_flt (VMF_MAJOR) afterwards; the file
 * side counts pgmajfault where Linux does (filemap_fault) and pgreuse when it
 * reuses a page in place. A special mapping (vdso) never reaches the file
 * side: it is VMF_SIGBUS.
 */

/* ---- filemap_fault.c: the file side ---- */

/*
 * do_fault(): a not-present fault (pte_none: *vmf->pte == 0) in a VMA with
 * vm_file (shared anonymous VMAs have their shmem file there). The caller
 * fills vma, task, flags (FAULT_FLAG_WRITE for a write), address (page
 * aligned), real_address, pgoff = vma->vm_pgoff + ((address - vm_start) >>
 * PAGE_SHIFT), pte (the leaf slot, tables allocated) and orig_pte; page and
 * cow_page are outputs. Returns 0 (the page is mapped), VMF_NOPAGE (mapped
 * already, by fault-around: a minor fault all the same), possibly with
 * VMF_MAJOR (the page was read from the device: count maj_flt; PGMAJFAULT
 * is counted here, as filemap_fault counts it), or an error: VMF_SIGBUS
 * (beyond EOF, a read error), VMF_OOM. Never VMF_LOCKED. Counters moved
 * here: RSS (MM_FILEPAGES, MM_SHMEMPAGES, MM_ANONPAGES for a private
 * copy), NR_FILE_MAPPED / NR_ANON_MAPPED, dirty accounting; the caller
 * counts pgfault, min_flt/maj_flt and flushes nothing (a new entry needs
 * no flush).
 */
unsigned vmm_do_fault(struct vmm_vm_fault *vmf);
/*
 * wp_page_shared(): a write to a present, read-only PTE of a VM_SHARED
 * mapping with VM_WRITE (page_mkwrite, mark dirty, make the PTE writable
 * and dirty; vmf->orig_pte the entry found, vmf->pte its slot). Returns 0,
 * VMF_NOPAGE (the entry changed meanwhile, or truncation took the page:
 * retry the access), or an error. Private mappings' COW is do_wp_page's.
 */
unsigned vmm_wp_page_shared(struct vmm_vm_fault *vmf);

#endif /* VMM_FAULT_FAULT_H */
