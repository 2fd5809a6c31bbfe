/* SPDX-License-Identifier: MIT */
/*
 * Tasks, address spaces and VMAs (Linux's task_struct, mm_struct,
 * vm_area_struct and anon_vma), the machine-wide state they share, and the
 * layout constants of x86-64 user space.
 *
 * Like the slab allocator's descriptors, these are host structures, each
 * shadowed by a simulated object of the size Linux's structure has, taken
 * from the caches "task_struct", "mm_struct", "vm_area_struct", "anon_vma"
 * and "anon_vma_chain", so slabinfo and meminfo account them as Linux does.
 *
 * Ownership: struct vmm_machine.tasks and the objects hanging off it; the
 * machine's host thread. No locks: mmap_lock and the page-table lock are
 * implied by the one-thread rule.
 */
#ifndef VMM_MM_MM_TYPES_H
#define VMM_MM_MM_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#include <vmm/fault.h>
#include <vmm/mm.h>
#include <vmm/slab.h>
#include <vmm/task.h>

#include "lib/augtree.h"
#include "lib/list.h"

struct vmm_machine;

/* ---- x86-64 user-space layout ---- */
#define PAGE_SIZE VMM_PAGE_SIZE
#define PAGE_SHIFT VMM_PAGE_SHIFT
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define PAGE_ALIGN(x) (((x) + PAGE_SIZE - 1) & PAGE_MASK)
#define PMD_SIZE_USER (1ull << 21)
/* DEFAULT_MAP_WINDOW: 47 bits, whatever the paging depth, unless a hint asks for more */
#define DEFAULT_MAP_WINDOW ((1ull << 47) - PAGE_SIZE)
#define TASK_SIZE_MAX_4L ((1ull << 47) - PAGE_SIZE)
#define TASK_SIZE_MAX_5L ((1ull << 56) - PAGE_SIZE)
/* TASK_UNMAPPED_BASE: where bottom-up searches start (PAGE_ALIGN(TASK_SIZE / 3)) */
#define SIZE_128M (128ull << 20)
#define STACK_GUARD_GAP_PAGES 256u	/* stack_guard_gap default (1 MiB) */
#define MMAP_RND_BITS 28u		/* mmap_rnd_bits default on x86-64 */
#define STACK_RND_MASK 0x3fffffull	/* x86-64: 22 bits of stack randomization */
/* Where the heap starts for a task created without a program (ELF_ET_DYN_BASE). */
#define DEFAULT_START_BRK 0x555555554000ull
#define BRK_RND_MAX 0x02000000ull	/* arch_randomize_brk: up to 32 MiB */
#define DEFAULT_MAX_MAP_COUNT 65530u	/* USHRT_MAX - MAPCOUNT_ELF_CORE_MARGIN */
#define DEFAULT_MMAP_MIN_ADDR 4096u
#define TLB_NR_DYN_ASIDS 6u

/* Internal VM_* bits beyond the public ones. */
#define VM_NONE 0ull
#define VM_ACCESS_FLAGS (VMM_VM_READ | VMM_VM_WRITE | VMM_VM_EXEC)
#define VM_MAY_FLAGS (VMM_VM_MAYREAD | VMM_VM_MAYWRITE | VMM_VM_MAYEXEC)
#define VM_HUGETLB 0x00400000ull
#define VM_MIXEDMAP 0x10000000ull
#define VM_SPECIAL (VMM_VM_IO | VMM_VM_DONTEXPAND | VMM_VM_PFNMAP | VM_MIXEDMAP)
#define VM_LOCKED_MASK (VMM_VM_LOCKED | VMM_VM_LOCKONFAULT)
#define VM_STACK_FLAGS (VMM_VM_GROWSDOWN | VM_ACCESS_FLAGS_RW | VM_MAY_FLAGS | VMM_VM_ACCOUNT)
#define VM_ACCESS_FLAGS_RW (VMM_VM_READ | VMM_VM_WRITE)
#define VM_DATA_DEFAULT_FLAGS (VMM_VM_READ | VMM_VM_WRITE | VM_MAY_FLAGS)

/* fault_around_bytes: 64 KiB by default; the sysctl's name here (debugfs in Linux). */
#define FAULT_AROUND_BYTES_DEFAULT 65536u
#define FAULT_AROUND_BYTES_NAME "debug.fault_around_bytes"
#define PTRS_PER_PTE_USER 512u

/* Overcommit modes (vm.overcommit_memory). */
enum { OVERCOMMIT_GUESS = 0, OVERCOMMIT_ALWAYS = 1, OVERCOMMIT_NEVER = 2 };

/* RSS counters (mm->rss_stat). */
enum { MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES, NR_MM_COUNTERS };

/* The rlimits a task keeps, indexed by the VMM_RLIMIT_* number. */
#define NR_TASK_RLIMITS 10

struct vmm_anon_vma {
	struct vmm_anon_vma *root;	/* the root of the fork hierarchy */
	struct vmm_anon_vma *parent;
	uint64_t id;			/* creation order: a stable name for dumps and digests */
	uint32_t refcount;		/* chain entries naming it, plus its children */
	uint32_t num_children;
	vmm_vaddr_t shadow;		/* the simulated struct anon_vma */
};

struct vmm_vma {
	struct vmm_augnode node;	/* in mm->tree, ordered by vm_start */
	struct vmm_vma *vm_next, *vm_prev;	/* address order */
	uint64_t subtree_gap;		/* largest free gap before any VMA of this subtree */
	vmm_vaddr_t vm_start, vm_end;
	uint64_t vm_pgoff;
	uint64_t vm_flags;
	struct vmm_mm *vm_mm;
	struct vmm_file *vm_file;
	struct vmm_anon_vma *anon_vma;	/* NULL until an anonymous page is installed */
	/* anon_vma_chain: the anon_vmas this VMA is linked into (its own and its ancestors') */
	struct vmm_anon_vma **avc;
	vmm_vaddr_t *avc_shadow;	/* the simulated struct anon_vma_chain of each */
	uint32_t nr_avc, avc_cap;
	const char *special_name;	/* a special mapping's name ("[vdso]"), or NULL */
	uint64_t ino;			/* a shared anonymous mapping's shmem inode number */
	uint64_t shm_pages;		/* ... and that file's size: the length first mapped */
	/* file mappings: on the file's mapping->i_mmap (the page cache's hooks keep it) */
	struct vmm_list shared;
	/* vma_wants_writenotify(): clean pages of a VM_SHARED VMA are mapped read-only */
	bool writenotify;
	vmm_vaddr_t shadow;		/* the simulated struct vm_area_struct */
};

struct vmm_mm {
	struct vmm_machine *m;
	struct vmm_augtree tree;	/* the VMAs, with gap tracking */
	struct vmm_vma *mmap;		/* the lowest VMA (list head) */
	uint64_t map_count;
	uint64_t vma_serial;		/* seeds each new VMA's tree priority */
	vmm_paddr_t pgd;		/* physical address of the top table */
	vmm_vaddr_t mmap_base, mmap_legacy_base, task_size;
	vmm_vaddr_t start_brk, brk, start_stack;
	vmm_vaddr_t start_code, end_code, start_data, end_data;
	uint64_t total_vm, locked_vm, pinned_vm, data_vm, exec_vm, stack_vm;
	int64_t rss_stat[NR_MM_COUNTERS];
	uint64_t pgtables_bytes;
	uint64_t committed;		/* pages of VM_ACCOUNT VMAs (our share of Committed_AS) */
	uint64_t def_flags;		/* VM_LOCKED after mlockall(MCL_FUTURE) */
	uint64_t ctx_id;		/* context id for the CPUs' ASID caches */
	uint64_t tlb_gen;		/* bumped by every flush of this mm */
	uint64_t cpumask[(VMM_MAX_CPUS + 63) / 64];	/* CPUs with this mm loaded */
	uint32_t users;			/* tasks using it */
	vmm_vaddr_t shadow;		/* the simulated struct mm_struct */
};

struct vmm_task {
	struct vmm_machine *m;
	struct vmm_list node;		/* in machine->tasks.list */
	int pid;
	bool exited;
	char comm[VMM_TASK_COMM_LEN + 1];
	struct vmm_mm *mm;
	struct vmm_rlimit rlim[NR_TASK_RLIMITS];
	struct vmm_task_fault_stats flt; /* the fault path's counters (src/fault) */
	vmm_vaddr_t sp;			/* user stack pointer (vmm_task_set_sp), 0 until set */
	vmm_vaddr_t shadow;		/* the simulated struct task_struct */
};

/* Per-CPU TLB state (cpu_tlbstate): which mm is loaded and the ASID cache. */
struct vmm_tlb_state {
	struct vmm_mm *loaded_mm;	/* NULL: init_mm */
	struct vmm_task *current;
	unsigned loaded_asid;
	unsigned next_asid;
	struct {
		uint64_t ctx_id;
		uint64_t tlb_gen;
	} ctxs[TLB_NR_DYN_ASIDS];
};

/*
 * What mm needs from the layer above it for file-backed VMAs (the page
 * cache registers them at boot; mm may not call up). Absent on a machine
 * booted without the page cache, where no VMA has a file.
 */
struct vmm_vma_file_ops {
	/*
	 * mmap's checks of @f against @prot and the MAP_TYPE of @flags (the
	 * open mode: EACCES; a file of another machine: EINVAL); clears
	 * VM_MAYWRITE and VM_SHARED in *@vm_flags for a shared mapping of a
	 * read-only file, as Linux does. 0 or a negative VMM_E*.
	 */
	int (*mmap_check)(struct vmm_machine *m, struct vmm_file *f, unsigned prot, unsigned flags,
			  uint64_t *vm_flags);
	/* A VMA starts mapping its vm_file (new, split, fork): get_file, link into i_mmap. */
	void (*vma_open)(struct vmm_vma *v);
	/* ... stops (freed): out of i_mmap, fput. */
	void (*vma_close)(struct vmm_vma *v);
	/* shmem_zero_setup(): a new shared anonymous VMA's shmem file of @size bytes. */
	int (*shmem_setup)(struct vmm_vma *v, uint64_t size);
	/* zap_pte_range(): a dirty PTE's state goes to the page (set_page_dirty). */
	void (*page_dirty)(struct vmm_machine *m, struct vmm_page *p);
	/* ... and an accessed one's (mark_page_accessed). */
	void (*page_accessed)(struct vmm_machine *m, struct vmm_page *p);
	/* The name, device and inode number maps shows for @f; the name NULL for none. */
	const char *(*file_name)(const struct vmm_file *f, unsigned *major, unsigned *minor,
				 uint64_t *ino);
	/* madvise(MADV_WILLNEED) of a file range: vfs_fadvise(POSIX_FADV_WILLNEED). */
	void (*willneed)(struct vmm_file *f, uint64_t off, uint64_t len);
	/* Whether the file was unlinked (maps adds " (deleted)"). */
	bool (*file_deleted)(const struct vmm_file *f);
};

/* The sysctls of this layer. */
struct vmm_mm_sysctl {
	uint32_t max_map_count;		/* vm.max_map_count, default 65530 */
	uint64_t mmap_min_addr;		/* vm.mmap_min_addr, default 4096 */
	uint32_t overcommit_memory;	/* vm.overcommit_memory, default 0 (heuristic) */
	uint32_t overcommit_ratio;	/* vm.overcommit_ratio, default 50 */
	uint64_t overcommit_kbytes;	/* vm.overcommit_kbytes, default 0 */
	uint64_t admin_reserve_kbytes;	/* vm.admin_reserve_kbytes, default 8192 */
	uint64_t user_reserve_kbytes;	/* vm.user_reserve_kbytes, default 131072 */
	uint32_t randomize_va_space;	/* kernel.randomize_va_space, default 2 */
	uint32_t thp_align;		/* align anonymous multiples of 2 MiB (THP on), default 1 */
	uint32_t fault_around_pages;	/* fault_around_bytes / PAGE_SIZE, default 16 (64 KiB) */
	uint32_t legacy_stack_check;	/* vm.legacy_stack_check: the seed's stack rule, default 0 */
};

struct vmm_task;
struct vmm_vma;
/*
 * Fault in [start, end) of @v for @t as __mm_populate() does (write faults
 * for private writable mappings): 0, -VMM_ENOMEM, or -VMM_EFAULT when a
 * page cannot be faulted in (SIGBUS/SIGSEGV). Set by the fault layer at boot.
 */
typedef int (*vmm_populate_fn)(struct vmm_task *t, struct vmm_vma *v, uint64_t start,
			       uint64_t end);

/* struct vmm_machine.tasks */
struct vmm_tasks {
	struct vmm_list list;		/* live and zombie tasks, by creation */
	int last_pid;
	uint64_t next_ctx_id;		/* 1 up; init_mm is 0 */
	uint64_t next_anon_vma_id;
	uint64_t next_shmem_ino;
	int64_t vm_committed_as;	/* pages: Committed_AS */
	struct vmm_mm_sysctl sysctl;
	vmm_populate_fn populate;	/* src/fault's populate_vma_page_range(); NULL: none */
	struct vmm_kmem_cache *task_cache, *mm_cache, *vma_cache, *anon_vma_cache, *avc_cache;
	struct vmm_tlb_state *tlbstate;	/* per CPU */
	const struct vmm_vma_file_ops *file_ops;	/* the page cache's hooks, or NULL */
};

#endif /* VMM_MM_MM_TYPES_H */
