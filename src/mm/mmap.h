/* SPDX-License-Identifier: MIT */
/*
 * The address-space system calls on an mm (Linux's mm/mmap.c, mm/mprotect.c,
 * mm/mremap.c, mm/madvise.c, mm/mlock.c): what vmm_mmap() and friends call
 * after validating their handles, and the pieces fork and exit share.
 */
#ifndef VMM_MM_MMAP_H
#define VMM_MM_MMAP_H

#include "mm/mm_types.h"

struct vmm_task;

/* do_mmap() with a file handle that is only an identity (tests use distinct fake ones). */
int vmm_do_mmap(struct vmm_task *t, uint64_t addr, uint64_t len, unsigned prot, unsigned flags,
		struct vmm_file *file, uint64_t off, uint64_t *out);
/* do_munmap() of [start, start + len), len page aligned, arguments checked. */
int vmm_do_munmap(struct vmm_mm *mm, uint64_t start, uint64_t len);
/* Install a special mapping (what exec maps: "[vdso]", "[vvar]") that never merges. */
int vmm_install_special_mapping(struct vmm_mm *mm, uint64_t start, uint64_t len,
				uint64_t vm_flags, const char *name);
/*
 * expand_downwards(): grow the VM_GROWSDOWN VMA @v of @t down to @address
 * (page aligned down), checking the stack guard gap to the VMA below when
 * @guard_gap, and RLIMIT_AS, RLIMIT_STACK, RLIMIT_MEMLOCK and the commit
 * charge. 0, or -VMM_ENOMEM / -VMM_EAGAIN / -VMM_EPERM with @v unchanged.
 */
int vmm_expand_downwards(struct vmm_task *t, struct vmm_vma *v, uint64_t address, bool guard_gap);
/* vm_stat_account() */
void vmm_vm_stat_account(struct vmm_mm *mm, uint64_t vm_flags, int64_t npages);
/* vm_unacct_memory() */
void vmm_vm_unacct_memory(struct vmm_machine *m, uint64_t pages);

/* The mm's sysctls: vm.max_map_count and the others (struct vmm_mm_sysctl). */
void vmm_mm_sysctl_init(struct vmm_mm_sysctl *s);
/* 0 when @name is one of them (value read or set), 1 when it is not. -VMM_EINVAL for a bad value. */
int vmm_mm_sysctl_get(const struct vmm_machine *m, const char *name, int64_t *value);
int vmm_mm_sysctl_set(struct vmm_machine *m, const char *name, int64_t value);

#endif /* VMM_MM_MMAP_H */
