/* SPDX-License-Identifier: MIT */
/*
 * mmap, munmap, brk, mprotect, mremap, madvise and mlock on a task's mm, as
 * x86-64 Linux 6.x does them (seed 001 section 3 walks the 2.6.34 versions of
 * get_unmapped_area, vma_merge, mmap_region, do_brk and do_munmap; the
 * checks and their order here are current Linux's, because a test compares
 * the results with the host kernel's).
 *
 * Every call validates all of its arguments and everything it can know in
 * advance (limits, max_map_count, overcommit) before it changes anything,
 * so a refused call leaves the mm as it was. Where Linux itself gives up
 * half way (mprotect and mlock over a range with a hole, munmap when memory
 * runs out in a split), the work already done stays, as in Linux.
 *
 * Tasks run as an unprivileged user: no CAP_SYS_RAWIO (mmap_min_addr is
 * enforced), no CAP_IPC_LOCK (RLIMIT_MEMLOCK is), no CAP_SYS_ADMIN (the
 * admin reserve counts against strict overcommit).
 */
#include "mm/mmap.h"

#include <string.h>

#include <vmm/errors.h>

#include "lib/compiler.h"
#include "machine.h"
#include "mm/pgtable.h"
#include "mm/vma.h"
#include "mm/vmstat.h"

#define VM_NOHUGEPAGE 0x40000000ull
#define MAP_TYPE_FLAGS VMM_MAP_TYPE
/* The flags MAP_SHARED_VALIDATE accepts (LEGACY_MAP_MASK plus the validated ones). */
#define LEGACY_MAP_MASK                                                                     \
	(VMM_MAP_SHARED | VMM_MAP_PRIVATE | VMM_MAP_FIXED | VMM_MAP_ANONYMOUS | VMM_MAP_DENYWRITE | \
	 VMM_MAP_EXECUTABLE | VMM_MAP_32BIT | VMM_MAP_GROWSDOWN | VMM_MAP_LOCKED |                \
	 VMM_MAP_NORESERVE | VMM_MAP_POPULATE | VMM_MAP_NONBLOCK | VMM_MAP_STACK)
#define PROT_ALL (VMM_PROT_READ | VMM_PROT_WRITE | VMM_PROT_EXEC)
#define MAP_32BIT_BASE 0x40000000ull
#define MAP_32BIT_END 0x80000000ull

static inline uint64_t err_value(int err)
{
	return (uint64_t)(int64_t)err;
}

static inline bool is_err_value(uint64_t v)
{
	return v >= (uint64_t)-4095;
}

static uint64_t rlimit(const struct vmm_task *t, unsigned r)
{
	return t->rlim[r].rlim_cur;
}

/* ---- accounting ---- */

static bool is_data_mapping(uint64_t f)
{
	return (f & (VMM_VM_WRITE | VMM_VM_SHARED | VMM_VM_GROWSDOWN)) == VMM_VM_WRITE;
}

void vmm_vm_stat_account(struct vmm_mm *mm, uint64_t f, int64_t npages)
{
	mm->total_vm += (uint64_t)npages;
	if ((f & (VMM_VM_EXEC | VMM_VM_WRITE | VMM_VM_GROWSDOWN)) == VMM_VM_EXEC)
		mm->exec_vm += (uint64_t)npages;
	else if (f & VMM_VM_GROWSDOWN)
		mm->stack_vm += (uint64_t)npages;
	else if (is_data_mapping(f))
		mm->data_vm += (uint64_t)npages;
}

/* may_expand_vm(): RLIMIT_AS and RLIMIT_DATA. */
static bool may_expand_vm(const struct vmm_task *t, uint64_t f, uint64_t npages)
{
	const struct vmm_mm *mm = t->mm;

	if (mm->total_vm + npages > rlimit(t, VMM_RLIMIT_AS) >> PAGE_SHIFT)
		return false;
	if (is_data_mapping(f) && mm->data_vm + npages > rlimit(t, VMM_RLIMIT_DATA) >> PAGE_SHIFT) {
		/* Linux's workaround for Valgrind: RLIMIT_DATA 0 falls back to the hard limit */
		if (rlimit(t, VMM_RLIMIT_DATA) == 0 &&
		    mm->data_vm + npages <= t->rlim[VMM_RLIMIT_DATA].rlim_max >> PAGE_SHIFT)
			return true;
		return false;
	}
	return true;
}

/* vm_commit_limit() */
static uint64_t commit_limit(struct vmm_machine *m)
{
	const struct vmm_mm_sysctl *s = &m->tasks.sysctl;

	if (s->overcommit_kbytes)
		return s->overcommit_kbytes >> (PAGE_SHIFT - 10);
	return vmm_totalram_pages(m) * s->overcommit_ratio / 100;
}

/*
 * __vm_enough_memory(): charge @pages to Committed_AS when the overcommit
 * policy allows it. Mode 1 always does; mode 0 refuses only a single request
 * larger than RAM (+ swap, none yet); mode 2 keeps Committed_AS under
 * CommitLimit minus the admin reserve and a share of the user reserve.
 */
static int vm_enough_memory(struct vmm_mm *mm, uint64_t pages)
{
	struct vmm_machine *m = mm->m;
	const struct vmm_mm_sysctl *s = &m->tasks.sysctl;
	int64_t allowed;

	m->tasks.vm_committed_as += (int64_t)pages;
	if (s->overcommit_memory == OVERCOMMIT_ALWAYS)
		return 0;
	if (s->overcommit_memory == OVERCOMMIT_GUESS) {
		if (pages <= vmm_totalram_pages(m))
			return 0;
		goto error;
	}
	allowed = (int64_t)commit_limit(m);
	allowed -= (int64_t)(s->admin_reserve_kbytes >> (PAGE_SHIFT - 10));
	allowed -= (int64_t)VMM_MIN(mm->total_vm / 32, s->user_reserve_kbytes >> (PAGE_SHIFT - 10));
	if (m->tasks.vm_committed_as < allowed)
		return 0;
error:
	m->tasks.vm_committed_as -= (int64_t)pages;
	return -VMM_ENOMEM;
}

void vmm_vm_unacct_memory(struct vmm_machine *m, uint64_t pages)
{
	m->tasks.vm_committed_as -= (int64_t)pages;
}

/* accountable_mapping(): private writable mappings without MAP_NORESERVE. */
static bool accountable_mapping(uint64_t f)
{
	return (f & (VMM_VM_NORESERVE | VMM_VM_SHARED | VMM_VM_WRITE)) == VMM_VM_WRITE;
}

/* mlock_future_ok(): room under RLIMIT_MEMLOCK for @bytes more locked memory. */
static bool mlock_future_ok(const struct vmm_task *t, uint64_t f, uint64_t bytes)
{
	uint64_t locked = bytes >> PAGE_SHIFT, limit = rlimit(t, VMM_RLIMIT_MEMLOCK) >> PAGE_SHIFT;

	if (!(f & VMM_VM_LOCKED))
		return true;
	return locked + t->mm->locked_vm <= limit;
}

/* ---- get_unmapped_area ---- */

static bool hint_valid(const struct vmm_mm *mm, uint64_t addr, uint64_t len)
{
	if (mm->task_size - len < addr)
		return false;
	return (addr > DEFAULT_MAP_WINDOW) == (addr + len > DEFAULT_MAP_WINDOW);
}

/* arch_get_unmapped_area(): bottom-up from mmap_legacy_base (or the MAP_32BIT window). */
static uint64_t get_area_bottomup(struct vmm_mm *mm, uint64_t addr, uint64_t len, unsigned flags)
{
	struct unmapped_area_info info = { .length = len };
	uint64_t begin = mm->mmap_legacy_base, end = DEFAULT_MAP_WINDOW;
	struct vmm_vma *v;

	if (flags & VMM_MAP_FIXED)
		return addr;
	if (flags & VMM_MAP_32BIT) {
		begin = MAP_32BIT_BASE;
		end = MAP_32BIT_END;
	} else if (addr > DEFAULT_MAP_WINDOW) {
		end = mm->task_size;
	}
	if (len > end)
		return err_value(-VMM_ENOMEM);
	if (addr) {
		addr = PAGE_ALIGN(addr);
		v = vmm_vma_find(mm, addr);
		if (end - len >= addr && (!v || addr + len <= vm_start_gap(v)))
			return addr;
	}
	info.low_limit = begin;
	info.high_limit = end;
	return vmm_unmapped_area(mm, &info);
}

/* arch_get_unmapped_area_topdown() */
static uint64_t get_area_topdown(struct vmm_mm *mm, uint64_t addr, uint64_t len, unsigned flags)
{
	struct unmapped_area_info info = { .topdown = true, .length = len };
	uint64_t a;

	if (len > mm->task_size)
		return err_value(-VMM_ENOMEM);
	if (flags & VMM_MAP_FIXED)
		return addr;
	if (flags & VMM_MAP_32BIT)
		return get_area_bottomup(mm, addr, len, flags);
	if (addr) {
		struct vmm_vma *v;

		addr &= PAGE_MASK;
		if (hint_valid(mm, addr, len)) {
			v = vmm_vma_find(mm, addr);
			if (!v || addr + len <= vm_start_gap(v))
				return addr;
		}
	}
	info.low_limit = PAGE_SIZE;
	info.high_limit = mm->mmap_base;
	if (addr > DEFAULT_MAP_WINDOW)
		info.high_limit += mm->task_size - DEFAULT_MAP_WINDOW;
	a = vmm_unmapped_area(mm, &info);
	if (!is_err_value(a))
		return a;
	return get_area_bottomup(mm, addr, len, flags);
}

/*
 * __thp_get_unmapped_area() for anonymous memory: search for len + 2 MiB,
 * then place the mapping on a 2 MiB boundary inside what was found (at its
 * top when the found address is already aligned).
 */
static uint64_t get_area_thp(struct vmm_mm *mm, uint64_t len, unsigned flags)
{
	uint64_t len_pad = len + PMD_SIZE_USER, ret, off_sub;

	if (len_pad < len)
		return 0;
	ret = get_area_topdown(mm, 0, len_pad, flags);
	if (is_err_value(ret))
		return 0;
	off_sub = (0 - ret) & (PMD_SIZE_USER - 1);
	if (!off_sub)
		return ret + PMD_SIZE_USER;
	return ret + off_sub;
}

/* __get_unmapped_area() */
static uint64_t get_unmapped_area(struct vmm_mm *mm, struct vmm_file *file, uint64_t addr,
				  uint64_t len, unsigned flags)
{
	struct vmm_machine *m = mm->m;
	uint64_t a = 0;

	if (len > mm->task_size)
		return err_value(-VMM_ENOMEM);
	if (!file && !(flags & VMM_MAP_SHARED) && !addr && m->tasks.sysctl.thp_align &&
	    IS_ALIGNED(len, PMD_SIZE_USER))
		a = get_area_thp(mm, len, flags);
	if (!a)
		a = get_area_topdown(mm, addr, len, flags);
	if (is_err_value(a))
		return a;
	if (a > mm->task_size - len)
		return err_value(-VMM_ENOMEM);
	if (a & ~PAGE_MASK)
		return err_value(-VMM_EINVAL);
	if (a < m->tasks.sysctl.mmap_min_addr)
		return err_value(-VMM_EPERM);
	return a;
}

/* ---- munmap ---- */

static uint64_t count_pages_in(struct vmm_mm *mm, uint64_t start, uint64_t end, uint64_t mask)
{
	uint64_t n = 0;

	for (struct vmm_vma *v = vmm_vma_find(mm, start); v && v->vm_start < end; v = v->vm_next)
		if (!mask || (v->vm_flags & mask))
			n += (VMM_MIN(v->vm_end, end) - VMM_MAX(v->vm_start, start)) >> PAGE_SHIFT;
	return n;
}

/* Detach and free one VMA wholly inside the range being unmapped. */
static void unmap_one(struct vmm_mm *mm, struct vmm_vma *v)
{
	uint64_t pages = vma_pages(v);

	vmm_zap_range(mm, v, v->vm_start, v->vm_end);
	vmm_vm_stat_account(mm, v->vm_flags, -(int64_t)pages);
	if (v->vm_flags & VMM_VM_LOCKED)
		mm->locked_vm -= pages;
	if (v->vm_flags & VMM_VM_ACCOUNT) {
		vmm_vm_unacct_memory(mm->m, pages);
		mm->committed -= pages;
	}
	vma_unlink(mm, v);
	vma_free(v);
}

/*
 * do_vmi_align_munmap(): split the VMAs straddling the ends, then detach
 * and free every VMA inside, their pages and the tables left empty, and
 * flush. The only refusal comes first: cutting a hole in one VMA when
 * map_count has reached max_map_count.
 */
static int munmap_range(struct vmm_mm *mm, uint64_t start, uint64_t end)
{
	struct vmm_vma *v = vmm_vma_find(mm, start), *prev, *next;
	uint64_t floor, ceiling;
	int err;

	if (!v || v->vm_start >= end)
		return 0;
	if (start > v->vm_start) {
		if (end < v->vm_end && mm->map_count >= mm->m->tasks.sysctl.max_map_count)
			return -VMM_ENOMEM;
		if ((err = vmm_vma_split(mm, v, start, true)))
			return err;
	}
	prev = v->vm_prev;
	while (v && v->vm_start < end) {
		next = v->vm_next;
		if (v->vm_end > end && (err = vmm_vma_split(mm, v, end, false)))
			return err;
		next = v->vm_next;
		unmap_one(mm, v);
		v = next;
	}
	floor = prev ? prev->vm_end : 0;
	ceiling = v ? v->vm_start : mm->task_size + PAGE_SIZE;
	vmm_free_pgtables(mm, start, end, floor, ceiling);
	vmm_flush_tlb_mm_range(mm, start, end);
	return 0;
}

int vmm_do_munmap(struct vmm_mm *mm, uint64_t start, uint64_t len)
{
	return munmap_range(mm, start, start + len);
}

/* do_vmi_munmap(): the system call's checks. */
static int munmap_checked(struct vmm_mm *mm, uint64_t start, uint64_t len)
{
	uint64_t end;

	if ((start & ~PAGE_MASK) || start > mm->task_size || len > mm->task_size - start)
		return -VMM_EINVAL;
	end = start + PAGE_ALIGN(len);
	if (end == start)
		return -VMM_EINVAL;
	return munmap_range(mm, start, end);
}

/* ---- mmap ---- */

/* A new VMA for [addr, addr + len) or a merge with a neighbour; NULL when memory ran out. */
static struct vmm_vma *map_new_range(struct vmm_mm *mm, uint64_t addr, uint64_t len,
				     uint64_t vm_flags, uint64_t pgoff, struct vmm_file *file)
{
	struct vmm_vma *prev, *next = vmm_vma_find_prev(mm, addr, &prev), *v;
	struct vma_merge_req r = { .prev = prev, .next = next, .start = addr, .end = addr + len,
				   .pgoff = pgoff, .vm_flags = vm_flags, .file = file };
	bool shared_anon = !file && (vm_flags & VMM_VM_SHARED);

	/* a shared anonymous mapping is a new shmem file each time: it never merges */
	if (!shared_anon && (v = vmm_vma_merge_new(mm, &r)))
		return v;
	v = vma_alloc(mm);
	if (!v)
		return NULL;
	v->vm_start = addr;
	v->vm_end = addr + len;
	v->vm_pgoff = pgoff;
	v->vm_flags = vm_flags;
	if (file) {
		v->vm_file = file;
		mm->m->tasks.file_ops->vma_open(v);
	}
	if (shared_anon) {
		v->ino = ++mm->m->tasks.next_shmem_ino;
		v->shm_pages = len >> PAGE_SHIFT;
		/* shmem_zero_setup(): the mapping's pages live in a shmem file */
		if (mm->m->tasks.file_ops && mm->m->tasks.file_ops->shmem_setup(v, len)) {
			vma_free(v);
			return NULL;
		}
	}
	vma_link(mm, v);
	return v;
}

/* __mmap_region() */
static int mmap_region(struct vmm_task *t, struct vmm_file *file, uint64_t addr, uint64_t len,
		       uint64_t vm_flags, uint64_t pgoff, uint64_t *out)
{
	struct vmm_mm *mm = t->mm;
	uint64_t pglen = len >> PAGE_SHIFT, end = addr + len, charged = 0;
	struct vmm_vma *v;
	int err;

	if (!may_expand_vm(t, vm_flags, pglen) &&
	    !may_expand_vm(t, vm_flags, pglen - count_pages_in(mm, addr, end, 0)))
		return -VMM_ENOMEM;
	/* what munmap of the old mappings would refuse */
	v = vmm_vma_find(mm, addr);
	if (v && v->vm_start < addr && end < v->vm_end &&
	    mm->map_count >= mm->m->tasks.sysctl.max_map_count)
		return -VMM_ENOMEM;
	if (accountable_mapping(vm_flags)) {
		charged = pglen - count_pages_in(mm, addr, end, VMM_VM_ACCOUNT);
		if (vm_enough_memory(mm, charged))
			return -VMM_ENOMEM;
		vm_flags |= VMM_VM_ACCOUNT;
	}
	if ((err = munmap_range(mm, addr, end)))
		goto unacct;
	v = map_new_range(mm, addr, len, vm_flags, pgoff, file);
	if (!v) {
		err = -VMM_ENOMEM;
		goto unacct;
	}
	if (vm_flags & VMM_VM_ACCOUNT)
		mm->committed += pglen;
	vmm_vm_stat_account(mm, vm_flags, (int64_t)pglen);
	if (vm_flags & VMM_VM_LOCKED) {
		if (vm_flags & VM_SPECIAL)
			v->vm_flags &= ~VM_LOCKED_MASK;
		else
			mm->locked_vm += pglen;
	}
	v->vm_flags |= VMM_VM_SOFTDIRTY;
	*out = addr;
	return 0;
unacct:
	if (charged)
		vmm_vm_unacct_memory(mm->m, charged);
	return err;
}

static uint64_t calc_vm_prot_bits(unsigned prot)
{
	return (prot & VMM_PROT_READ ? VMM_VM_READ : 0) | (prot & VMM_PROT_WRITE ? VMM_VM_WRITE : 0) |
	       (prot & VMM_PROT_EXEC ? VMM_VM_EXEC : 0);
}

static uint64_t calc_vm_flag_bits(unsigned flags)
{
	return (flags & VMM_MAP_GROWSDOWN ? VMM_VM_GROWSDOWN : 0) |
	       (flags & VMM_MAP_LOCKED ? VMM_VM_LOCKED : 0) |
	       (flags & VMM_MAP_STACK ? VM_NOHUGEPAGE : 0);
}

/* populate_vma_page_range() through the fault layer's hook (mm cannot call up into it). */
static int populate_vma(struct vmm_task *t, struct vmm_vma *v, uint64_t start, uint64_t end)
{
	vmm_populate_fn fn = t->m->tasks.populate;

	return fn ? fn(t, v, start, end) : 0;
}

static int mm_populate(struct vmm_task *t, uint64_t start, uint64_t end, bool ignore_errors);

/* The argument checks of do_mmap() that come before an address is chosen. */
static int mmap_args(const struct vmm_task *t, uint64_t *addr, uint64_t *len, unsigned *flags,
		     struct vmm_file *file, uint64_t off)
{
	const struct vmm_machine *m = t->m;
	uint64_t pgoff = off >> PAGE_SHIFT;

	if (off & ~PAGE_MASK)
		return -VMM_EINVAL;
	if ((*flags & VMM_MAP_TYPE) == VMM_MAP_SHARED_VALIDATE && (*flags & ~LEGACY_MAP_MASK &
								     ~VMM_MAP_FIXED_NOREPLACE))
		return -VMM_EOPNOTSUPP;
	if (!*len)
		return -VMM_EINVAL;
	if (*flags & VMM_MAP_FIXED_NOREPLACE)
		*flags |= VMM_MAP_FIXED;
	if (!(*flags & VMM_MAP_FIXED)) {
		*addr &= PAGE_MASK;
		if (*addr && *addr < m->tasks.sysctl.mmap_min_addr)
			*addr = PAGE_ALIGN(m->tasks.sysctl.mmap_min_addr);
	}
	*len = PAGE_ALIGN(*len);
	if (!*len)
		return -VMM_ENOMEM;
	if (file && pgoff + (*len >> PAGE_SHIFT) < pgoff)
		return -VMM_EOVERFLOW;
	if (t->mm->map_count > m->tasks.sysctl.max_map_count)
		return -VMM_ENOMEM;
	return 0;
}

int vmm_do_mmap(struct vmm_task *t, uint64_t addr, uint64_t len, unsigned prot, unsigned flags,
		struct vmm_file *file, uint64_t off, uint64_t *out)
{
	struct vmm_mm *mm = t->mm;
	uint64_t vm_flags, pgoff = off >> PAGE_SHIFT, a;
	unsigned type = flags & VMM_MAP_TYPE;
	int err;

	if ((err = mmap_args(t, &addr, &len, &flags, file, off)))
		return err;
	a = get_unmapped_area(mm, file, addr, len, flags);
	if (is_err_value(a))
		return (int)(int64_t)a;
	if ((flags & VMM_MAP_FIXED_NOREPLACE) && vmm_vma_find_intersection(mm, a, a + len))
		return -VMM_EEXIST;
	vm_flags = calc_vm_prot_bits(prot) | calc_vm_flag_bits(flags) | mm->def_flags |
		   VM_MAY_FLAGS;
	if ((flags & VMM_MAP_LOCKED) && !rlimit(t, VMM_RLIMIT_MEMLOCK))
		return -VMM_EPERM;
	if (!mlock_future_ok(t, vm_flags, len))
		return -VMM_EAGAIN;
	if (file) {
		if (type != VMM_MAP_SHARED && type != VMM_MAP_SHARED_VALIDATE && type != VMM_MAP_PRIVATE)
			return -VMM_EINVAL;
		if (type != VMM_MAP_PRIVATE)
			vm_flags |= VMM_VM_SHARED | VMM_VM_MAYSHARE;
		/* the open mode: EACCES, and no VM_MAYWRITE/VM_SHARED on a read-only file */
		if ((err = mm->m->tasks.file_ops->mmap_check(mm->m, file, prot, flags, &vm_flags)))
			return err;
		if (vm_flags & VMM_VM_GROWSDOWN)
			return -VMM_EINVAL;
	} else if (type == VMM_MAP_SHARED || type == VMM_MAP_SHARED_VALIDATE) {
		if (vm_flags & VMM_VM_GROWSDOWN)
			return -VMM_EINVAL;
		pgoff = 0;
		vm_flags |= VMM_VM_SHARED | VMM_VM_MAYSHARE;
	} else if (type == VMM_MAP_PRIVATE) {
		pgoff = a >> PAGE_SHIFT;
	} else {
		return -VMM_EINVAL;
	}
	if ((flags & VMM_MAP_NORESERVE) && mm->m->tasks.sysctl.overcommit_memory != OVERCOMMIT_NEVER)
		vm_flags |= VMM_VM_NORESERVE;
	if ((err = mmap_region(t, file, a, len, vm_flags, pgoff, out)))
		return err;
	/* mm_populate(): MAP_POPULATE without MAP_NONBLOCK, or a locked mapping; errors ignored */
	if ((vm_flags & VMM_VM_LOCKED) ||
	    (flags & (VMM_MAP_POPULATE | VMM_MAP_NONBLOCK)) == VMM_MAP_POPULATE)
		mm_populate(t, a, a + len, true);
	return 0;
}

int vmm_install_special_mapping(struct vmm_mm *mm, uint64_t start, uint64_t len,
				uint64_t vm_flags, const char *name)
{
	struct vmm_vma *v;

	if ((start | len) & ~PAGE_MASK || !len || start + len > mm->task_size ||
	    vmm_vma_find_intersection(mm, start, start + len))
		return -VMM_EINVAL;
	v = vma_alloc(mm);
	if (!v)
		return -VMM_ENOMEM;
	v->vm_start = start;
	v->vm_end = start + len;
	v->vm_flags = vm_flags | VMM_VM_DONTEXPAND | VMM_VM_SOFTDIRTY;
	v->special_name = name;
	vma_link(mm, v);
	vmm_vm_stat_account(mm, v->vm_flags, (int64_t)(len >> PAGE_SHIFT));
	return 0;
}

/* ---- brk ---- */

static int do_brk_flags(struct vmm_task *t, struct vmm_vma *brkvma, uint64_t addr, uint64_t len)
{
	struct vmm_mm *mm = t->mm;
	uint64_t flags = VM_DATA_DEFAULT_FLAGS | VMM_VM_ACCOUNT | mm->def_flags;
	uint64_t pages = len >> PAGE_SHIFT;
	struct vmm_vma *v = NULL;

	if (!may_expand_vm(t, flags, pages))
		return -VMM_ENOMEM;
	if (mm->map_count > mm->m->tasks.sysctl.max_map_count)
		return -VMM_ENOMEM;
	if (vm_enough_memory(mm, pages))
		return -VMM_ENOMEM;
	if (brkvma && brkvma->vm_end == addr) {
		struct vma_merge_req r = { .prev = brkvma, .start = addr, .end = addr + len,
					   .pgoff = addr >> PAGE_SHIFT, .vm_flags = flags,
					   .just_expand = true };

		v = vmm_vma_merge_new(mm, &r);
	}
	if (!v) {
		v = vma_alloc(mm);
		if (!v) {
			vmm_vm_unacct_memory(mm->m, pages);
			return -VMM_ENOMEM;
		}
		v->vm_start = addr;
		v->vm_end = addr + len;
		v->vm_pgoff = addr >> PAGE_SHIFT;
		v->vm_flags = flags;
		vma_link(mm, v);
	}
	mm->committed += pages;
	mm->total_vm += pages;
	mm->data_vm += pages;
	if (flags & VMM_VM_LOCKED)
		mm->locked_vm += pages;
	v->vm_flags |= VMM_VM_SOFTDIRTY;
	if (flags & VMM_VM_LOCKED)
		populate_vma(t, v, addr, addr + len);
	return 0;
}

/* The brk system call: returns the new break, or the old one when refused. */
static uint64_t do_brk(struct vmm_task *t, uint64_t brk)
{
	struct vmm_mm *mm = t->mm;
	uint64_t newbrk, oldbrk, data_lim = rlimit(t, VMM_RLIMIT_DATA);
	struct vmm_vma *v, *next, *brkvma;

	if (brk < mm->start_brk)
		return mm->brk;
	if (data_lim != VMM_RLIM_INFINITY &&
	    (brk - mm->start_brk) + (mm->end_data - mm->start_data) > data_lim)
		return mm->brk;
	newbrk = PAGE_ALIGN(brk);
	oldbrk = PAGE_ALIGN(mm->brk);
	if (oldbrk == newbrk) {
		mm->brk = brk;
		return brk;
	}
	if (brk <= mm->brk) {
		v = vmm_vma_find(mm, newbrk);
		if (!v || v->vm_start >= oldbrk)
			return mm->brk;
		if (munmap_range(mm, newbrk, oldbrk))
			return mm->brk;
		mm->brk = brk;
		return brk;
	}
	next = vmm_vma_find(mm, oldbrk);
	if (next && next->vm_start < newbrk + PAGE_SIZE + STACK_GUARD_GAP &&
	    newbrk + PAGE_SIZE > vm_start_gap(next))
		return mm->brk;
	/* vma_prev_limit(): the VMA before oldbrk, if it reaches above start_brk */
	brkvma = next ? next->vm_prev : vmm_vma_last(mm);
	if (brkvma && brkvma->vm_end <= mm->start_brk)
		brkvma = NULL;
	if (do_brk_flags(t, brkvma, oldbrk, newbrk - oldbrk))
		return mm->brk;
	mm->brk = brk;
	return brk;
}

/* ---- stack growth ---- */

/*
 * acct_stack_growth(): may @v grow by @grow pages to @size bytes? RLIMIT_AS
 * (may_expand_vm), RLIMIT_STACK, RLIMIT_MEMLOCK for a locked stack, and the
 * commit charge of an accounted VMA.
 */
static int acct_stack_growth(struct vmm_task *t, struct vmm_vma *v, uint64_t size, uint64_t grow)
{
	if (!may_expand_vm(t, v->vm_flags, grow))
		return -VMM_ENOMEM;
	if (size > rlimit(t, VMM_RLIMIT_STACK))
		return -VMM_ENOMEM;
	if ((v->vm_flags & VMM_VM_LOCKED) && !mlock_future_ok(t, v->vm_flags, grow << PAGE_SHIFT))
		return -VMM_EAGAIN;
	if ((v->vm_flags & VMM_VM_ACCOUNT) && vm_enough_memory(t->mm, grow))
		return -VMM_ENOMEM;
	return 0;
}

int vmm_expand_downwards(struct vmm_task *t, struct vmm_vma *v, uint64_t address, bool guard_gap)
{
	struct vmm_mm *mm = t->mm;
	struct vmm_vma *prev = v->vm_prev;
	uint64_t grow;
	int err;

	address &= PAGE_MASK;
	if (address < mm->m->tasks.sysctl.mmap_min_addr)
		return -VMM_EPERM;
	/* stack_guard_gap: an accessible VMA below that is not a stack keeps its distance */
	if (guard_gap && prev && !(prev->vm_flags & VMM_VM_GROWSDOWN) &&
	    (prev->vm_flags & VM_ACCESS_FLAGS) && address - prev->vm_end < STACK_GUARD_GAP)
		return -VMM_ENOMEM;
	if (vmm_anon_vma_prepare(v))
		return -VMM_ENOMEM;
	if (address >= v->vm_start)
		return 0;
	grow = (v->vm_start - address) >> PAGE_SHIFT;
	if (grow > v->vm_pgoff)
		return -VMM_ENOMEM;
	if ((err = acct_stack_growth(t, v, v->vm_end - address, grow)))
		return err;
	if (v->vm_flags & VMM_VM_ACCOUNT)
		mm->committed += grow;
	if (v->vm_flags & VMM_VM_LOCKED)
		mm->locked_vm += grow;
	vmm_vm_stat_account(mm, v->vm_flags, (int64_t)grow);
	vma_set_range(v, address, v->vm_end, v->vm_pgoff - grow);
	return 0;
}

/* ---- mprotect ---- */

/*
 * The loop mprotect and mlock share (apply_vma_lock_flags() and the one in
 * do_mprotect_pkey()): call @fn on each VMA's part of [start, end) in turn,
 * @fn leaving in *pprev the VMA that now covers that part. A hole ends it
 * with -VMM_ENOMEM; what was done before stays done, as in Linux.
 */
typedef int (*range_fixup_fn)(struct vmm_task *t, struct vmm_vma *v, struct vmm_vma **pprev,
			      uint64_t start, uint64_t end, uint64_t arg);

static int fixup_range(struct vmm_task *t, struct vmm_vma *v, struct vmm_vma *prev,
		       uint64_t start, uint64_t end, range_fixup_fn fn, uint64_t arg)
{
	uint64_t nstart = start, tmp = v->vm_start;
	int err;

	while (v && v->vm_start < end) {
		if (v->vm_start != tmp)
			return -VMM_ENOMEM;
		tmp = VMM_MIN(v->vm_end, end);
		if ((err = fn(t, v, &prev, nstart, tmp, arg)))
			return err;
		tmp = prev->vm_end;
		nstart = tmp;
		v = prev->vm_next;
	}
	return tmp < end ? -VMM_ENOMEM : 0;
}

/* mprotect_fixup() for [start, end) of @v, to the rights @prot. */
static int mprotect_fixup(struct vmm_task *t, struct vmm_vma *v, struct vmm_vma **pprev,
			  uint64_t start, uint64_t end, uint64_t prot)
{
	struct vmm_mm *mm = t->mm;
	uint64_t oldflags = v->vm_flags, nrpages = (end - start) >> PAGE_SHIFT, charged = 0;
	uint64_t newflags = calc_vm_prot_bits((unsigned)prot) | (oldflags & ~VM_ACCESS_FLAGS);
	int err;

	/* each right asked for needs its VM_MAY counterpart */
	if ((newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS)
		return -VMM_EACCES;
	if (newflags == oldflags) {
		*pprev = v;
		return 0;
	}
	if (newflags & VMM_VM_WRITE) {
		if (!may_expand_vm(t, newflags, nrpages) && may_expand_vm(t, oldflags, nrpages))
			return -VMM_ENOMEM;
		if (!(oldflags & (VMM_VM_ACCOUNT | VMM_VM_WRITE | VMM_VM_SHARED | VMM_VM_NORESERVE))) {
			charged = nrpages;
			if (vm_enough_memory(mm, charged))
				return -VMM_ENOMEM;
			newflags |= VMM_VM_ACCOUNT;
		}
	} else if ((oldflags & VMM_VM_ACCOUNT) && vma_is_anonymous(v) && !v->anon_vma) {
		newflags &= ~VMM_VM_ACCOUNT;
	}
	v = vmm_vma_modify_flags(mm, *pprev, v, start, end, newflags, &err);
	if (!v) {
		if (charged)
			vmm_vm_unacct_memory(mm->m, charged);
		return err;
	}
	*pprev = v;
	v->vm_flags = newflags;
	vmm_change_protection(mm, v, start, end, newflags);
	if (charged)
		mm->committed += charged;
	if ((oldflags & VMM_VM_ACCOUNT) && !(newflags & VMM_VM_ACCOUNT)) {
		vmm_vm_unacct_memory(mm->m, nrpages);
		mm->committed -= nrpages;
	}
	if ((oldflags & (VMM_VM_WRITE | VMM_VM_SHARED | VMM_VM_LOCKED)) == VMM_VM_LOCKED &&
	    (newflags & VMM_VM_WRITE))
		populate_vma(t, v, start, end);
	vmm_vm_stat_account(mm, oldflags, -(int64_t)nrpages);
	vmm_vm_stat_account(mm, newflags, (int64_t)nrpages);
	return 0;
}

static int do_mprotect(struct vmm_task *t, uint64_t start, uint64_t len, unsigned prot)
{
	struct vmm_mm *mm = t->mm;
	unsigned grows = prot & (VMM_PROT_GROWSDOWN | VMM_PROT_GROWSUP);
	struct vmm_vma *v;
	uint64_t end;

	prot &= ~(VMM_PROT_GROWSDOWN | VMM_PROT_GROWSUP);
	if (grows == (VMM_PROT_GROWSDOWN | VMM_PROT_GROWSUP))
		return -VMM_EINVAL;
	if (start & ~PAGE_MASK)
		return -VMM_EINVAL;
	if (!len)
		return 0;
	len = PAGE_ALIGN(len);
	end = start + len;
	if (end <= start)
		return -VMM_ENOMEM;
	if (prot & ~PROT_ALL)
		return -VMM_EINVAL;
	v = vmm_vma_find(mm, start);
	if (!v || v->vm_start >= end)
		return -VMM_ENOMEM;
	if (grows & VMM_PROT_GROWSDOWN) {
		start = v->vm_start;
		if (!(v->vm_flags & VMM_VM_GROWSDOWN))
			return -VMM_EINVAL;
	} else {
		if (v->vm_start > start)
			return -VMM_ENOMEM;
		if (grows & VMM_PROT_GROWSUP)
			return -VMM_EINVAL;
	}
	return fixup_range(t, v, start > v->vm_start ? v : v->vm_prev, start, end, mprotect_fixup,
			   prot);
}

/* ---- mlock ---- */

/* mlock_fixup() for [start, end) of @v, to the VM_LOCKED_MASK bits @flags. */
static int mlock_fixup(struct vmm_task *t, struct vmm_vma *v, struct vmm_vma **pprev,
		       uint64_t start, uint64_t end, uint64_t flags)
{
	struct vmm_mm *mm = t->mm;
	uint64_t oldflags = v->vm_flags, newflags = (oldflags & ~VM_LOCKED_MASK) | flags;
	int64_t nr_pages = (int64_t)((end - start) >> PAGE_SHIFT);
	int err;

	if (newflags == oldflags || (oldflags & VM_SPECIAL) || v->special_name) {
		*pprev = v;
		return 0;
	}
	v = vmm_vma_modify_flags(mm, *pprev, v, start, end, newflags, &err);
	if (!v)
		return err;
	*pprev = v;
	if (!(newflags & VMM_VM_LOCKED))
		nr_pages = -nr_pages;
	else if (oldflags & VMM_VM_LOCKED)
		nr_pages = 0;
	mm->locked_vm += (uint64_t)nr_pages;
	v->vm_flags = newflags;
	return 0;
}

/* apply_vma_lock_flags() */
static int apply_lock_flags(struct vmm_task *t, uint64_t start, uint64_t len, uint64_t flags)
{
	uint64_t end = start + len;
	struct vmm_vma *v;

	if (end < start)
		return -VMM_EINVAL;
	if (end == start)
		return 0;
	v = vmm_vma_find(t->mm, start);
	if (!v || v->vm_start > start)
		return -VMM_ENOMEM;
	return fixup_range(t, v, start > v->vm_start ? v : v->vm_prev, start, end, mlock_fixup,
			   flags);
}

/* The end of the part of a shared anonymous VMA that its shmem file backs. */
static uint64_t shm_eof(const struct vmm_vma *v)
{
	if (v->vm_pgoff >= v->shm_pages)
		return v->vm_start;
	return VMM_MIN(v->vm_end, v->vm_start + ((v->shm_pages - v->vm_pgoff) << PAGE_SHIFT));
}

/*
 * __mm_populate(): fault in every VMA of [start, end) through the fault
 * layer's hook. A VMA that allows no access cannot be faulted in
 * (get_user_pages() says EFAULT), nor can a shared anonymous VMA beyond its
 * shmem file's end (mremap grows the VMA, not the file: SIGBUS). mmap and
 * brk ignore errors; mlock stops at the first and reports it.
 */
static int mm_populate(struct vmm_task *t, uint64_t start, uint64_t end, bool ignore_errors)
{
	for (struct vmm_vma *v = vmm_vma_find(t->mm, start); v && v->vm_start < end;
	     v = v->vm_next) {
		int err;

		if (v->vm_flags & (VMM_VM_IO | VMM_VM_PFNMAP | VMM_VM_LOCKONFAULT))
			continue;
		if (!(v->vm_flags & VM_ACCESS_FLAGS) || (v->ino && VMM_MIN(v->vm_end, end) > shm_eof(v))) {
			err = -VMM_EFAULT;
		} else {
			err = populate_vma(t, v, VMM_MAX(v->vm_start, start), VMM_MIN(v->vm_end, end));
		}
		if (err && !ignore_errors)
			return err;
	}
	return 0;
}

static uint64_t count_mlocked(struct vmm_mm *mm, uint64_t start, uint64_t len)
{
	return count_pages_in(mm, start, start + len, VMM_VM_LOCKED);
}

static int do_mlock(struct vmm_task *t, uint64_t start, uint64_t len, uint64_t flags)
{
	struct vmm_mm *mm = t->mm;
	uint64_t lock_limit = rlimit(t, VMM_RLIMIT_MEMLOCK) >> PAGE_SHIFT, locked;
	int err;

	if (!rlimit(t, VMM_RLIMIT_MEMLOCK))
		return -VMM_EPERM;
	len = PAGE_ALIGN(len + (start & ~PAGE_MASK));
	start &= PAGE_MASK;
	locked = (len >> PAGE_SHIFT) + mm->locked_vm;
	if (locked > lock_limit)
		locked -= count_mlocked(mm, start, len);
	if (locked > lock_limit)
		return -VMM_ENOMEM;
	if ((err = apply_lock_flags(t, start, len, flags)))
		return err;
	/* __mlock_posix_error_return(): EFAULT reads as ENOMEM, ENOMEM as EAGAIN */
	err = mm_populate(t, start, start + len, false);
	return err == -VMM_EFAULT ? -VMM_ENOMEM : err == -VMM_ENOMEM ? -VMM_EAGAIN : err;
}

/* ---- madvise ---- */

static bool madvise_behavior_valid(int advice)
{
	switch (advice) {
	case VMM_MADV_NORMAL: case VMM_MADV_RANDOM: case VMM_MADV_SEQUENTIAL:
	case VMM_MADV_WILLNEED: case VMM_MADV_DONTNEED: case VMM_MADV_FREE:
	case VMM_MADV_DONTFORK: case VMM_MADV_DOFORK:
		return true;
	default:
		return false;
	}
}

/* madvise_update_vma() for the hints that change vm_flags. */
static int madvise_flags(struct vmm_task *t, struct vmm_vma *v, struct vmm_vma **pprev,
			 uint64_t start, uint64_t end, int advice)
{
	uint64_t newflags = v->vm_flags;
	int err;

	switch (advice) {
	case VMM_MADV_NORMAL:
		newflags &= ~(VMM_VM_RAND_READ | VMM_VM_SEQ_READ);
		break;
	case VMM_MADV_SEQUENTIAL:
		newflags = (newflags & ~VMM_VM_RAND_READ) | VMM_VM_SEQ_READ;
		break;
	case VMM_MADV_RANDOM:
		newflags = (newflags & ~VMM_VM_SEQ_READ) | VMM_VM_RAND_READ;
		break;
	case VMM_MADV_DONTFORK:
		newflags |= VMM_VM_DONTCOPY;
		break;
	case VMM_MADV_DOFORK:
		if (v->vm_flags & VMM_VM_IO)
			return -VMM_EINVAL;
		newflags &= ~VMM_VM_DONTCOPY;
		break;
	}
	if (newflags == v->vm_flags) {
		*pprev = v;
		return 0;
	}
	v = vmm_vma_modify_flags(t->mm, *pprev, v, start, end, newflags, &err);
	if (!v)
		return err;
	*pprev = v;
	v->vm_flags = newflags;
	return 0;
}

static int madvise_vma(struct vmm_task *t, struct vmm_vma *v, struct vmm_vma **pprev,
		       uint64_t start, uint64_t end, int advice)
{
	switch (advice) {
	case VMM_MADV_WILLNEED:
		/* madvise_willneed(): a file range is read ahead (no swap: anonymous has nothing to do) */
		*pprev = v;
		if (v->vm_file && !v->ino)
			t->m->tasks.file_ops->willneed(v->vm_file,
						       (start - v->vm_start) +
							       (v->vm_pgoff << PAGE_SHIFT),
						       end - start);
		return 0;
	case VMM_MADV_DONTNEED:
	case VMM_MADV_FREE:
		*pprev = v;
		if (v->vm_flags & (VMM_VM_LOCKED | VMM_VM_PFNMAP | VM_HUGETLB))
			return -VMM_EINVAL;
		if (advice == VMM_MADV_FREE && !vma_is_anonymous(v))
			return -VMM_EINVAL;
		vmm_zap_range(t->mm, v, start, end);
		vmm_flush_tlb_mm_range(t->mm, start, end);
		return 0;
	default:
		return madvise_flags(t, v, pprev, start, end, advice);
	}
}

static int do_madvise(struct vmm_task *t, uint64_t start, uint64_t len_in, int advice)
{
	struct vmm_mm *mm = t->mm;
	uint64_t len, end, tmp;
	struct vmm_vma *v, *prev;
	int unmapped_error = 0, err;

	if (!madvise_behavior_valid(advice))
		return -VMM_EINVAL;
	if (start & ~PAGE_MASK)
		return -VMM_EINVAL;
	len = PAGE_ALIGN(len_in);
	if (len_in && !len)
		return -VMM_EINVAL;
	end = start + len;
	if (end < start)
		return -VMM_EINVAL;
	if (end == start)
		return 0;
	v = vmm_vma_find_prev(mm, start, &prev);
	if (v && start > v->vm_start)
		prev = v;
	for (;;) {
		if (!v)
			return -VMM_ENOMEM;
		if (start < v->vm_start) {
			unmapped_error = -VMM_ENOMEM;
			start = v->vm_start;
			if (start >= end)
				break;
		}
		tmp = VMM_MIN(v->vm_end, end);
		if ((err = madvise_vma(t, v, &prev, start, tmp, advice)))
			return err;
		start = tmp;
		if (prev && start < prev->vm_end)
			start = prev->vm_end;
		if (start >= end)
			break;
		v = vmm_vma_find(mm, prev ? prev->vm_end : start);
	}
	return unmapped_error;
}

/* ---- mremap ---- */

/* vma_to_resize() */
static struct vmm_vma *vma_to_resize(struct vmm_task *t, uint64_t addr, uint64_t old_len,
				     uint64_t new_len, int *err)
{
	struct vmm_vma *v = vmm_vma_find(t->mm, addr);
	uint64_t pgoff;

	*err = -VMM_EFAULT;
	if (!v || v->vm_start > addr)
		return NULL;
	if (old_len > v->vm_end - addr)
		return NULL;
	*err = 0;
	if (new_len == old_len)
		return v;
	pgoff = v->vm_pgoff + ((addr - v->vm_start) >> PAGE_SHIFT);
	if (pgoff + (new_len >> PAGE_SHIFT) < pgoff)
		*err = -VMM_EINVAL;
	else if (v->vm_flags & (VMM_VM_DONTEXPAND | VMM_VM_PFNMAP) || v->special_name)
		*err = -VMM_EFAULT;
	else if (!mlock_future_ok(t, v->vm_flags, new_len - old_len))
		*err = -VMM_EAGAIN;
	else if (!may_expand_vm(t, v->vm_flags, (new_len - old_len) >> PAGE_SHIFT))
		*err = -VMM_ENOMEM;
	return *err ? NULL : v;
}

/*
 * copy_vma(): a VMA for [addr, addr + len) with @v's properties, merged with
 * the neighbours when possible. An anonymous VMA that never had a page
 * installed takes the offset of its new address, which helps it merge.
 */
static struct vmm_vma *copy_vma(struct vmm_mm *mm, struct vmm_vma *v, uint64_t addr,
				uint64_t len, uint64_t pgoff)
{
	struct vmm_vma *prev, *next = vmm_vma_find_prev(mm, addr, &prev), *n;
	struct vma_merge_req r;

	if (vma_is_anonymous(v) && !v->anon_vma)
		pgoff = addr >> PAGE_SHIFT;
	r = (struct vma_merge_req){ .prev = prev, .next = next, .start = addr, .end = addr + len,
				    .pgoff = pgoff, .vm_flags = v->vm_flags, .file = v->vm_file,
				    .ino = v->ino, .anon_vma = v->anon_vma };
	if ((n = vmm_vma_merge_new(mm, &r)))
		return n;
	n = vma_dup(v);
	if (!n)
		return NULL;
	n->vm_start = addr;
	n->vm_end = addr + len;
	n->vm_pgoff = pgoff;
	vma_link(mm, n);
	return n;
}

/*
 * dontunmap_complete(): the old range stays mapped, empty. Linux clears
 * VM_LOCKED on the whole old VMA (not only the part that moved), and a VMA
 * that moved as a whole lets go of its anon_vma. Linux leaves locked_vm
 * alone there, which overstates it when only part of the VMA moved; libvmm
 * gives back what the old VMA no longer has, so the counter keeps matching
 * the VMAs.
 */
static void dontunmap_complete(struct vmm_mm *mm, struct vmm_vma *v, struct vmm_vma *n,
			       uint64_t old_addr, uint64_t old_len)
{
	if (v->vm_flags & VMM_VM_LOCKED)
		mm->locked_vm -= vma_pages(v) - (old_len >> PAGE_SHIFT);
	v->vm_flags &= ~VM_LOCKED_MASK;
	if (n != v && v->vm_start == old_addr && v->vm_end == old_addr + old_len)
		vmm_vma_unlink_anon(v);
}

/* move_vma() */
static int move_vma(struct vmm_task *t, struct vmm_vma *v, uint64_t old_addr, uint64_t old_len,
		    uint64_t new_len, uint64_t new_addr, unsigned flags, uint64_t *out)
{
	struct vmm_mm *mm = t->mm;
	uint64_t vm_flags = v->vm_flags, new_pgoff, grow = 0;
	bool account_start = false, account_end = false;
	struct vmm_vma *n;

	if (mm->map_count >= mm->m->tasks.sysctl.max_map_count - 3)
		return -VMM_ENOMEM;
	if (vm_flags & VMM_VM_ACCOUNT) {
		grow = (flags & VMM_MREMAP_DONTUNMAP) ? new_len >> PAGE_SHIFT
			: (new_len > old_len ? (new_len - old_len) >> PAGE_SHIFT : 0);
		if (grow && vm_enough_memory(mm, grow))
			return -VMM_ENOMEM;
	}
	new_pgoff = v->vm_pgoff + ((old_addr - v->vm_start) >> PAGE_SHIFT);
	n = copy_vma(mm, v, new_addr, new_len, new_pgoff);
	if (!n) {
		if (grow)
			vmm_vm_unacct_memory(mm->m, grow);
		return -VMM_ENOMEM;
	}
	mm->committed += grow;
	vmm_move_page_tables(mm, old_addr, new_addr, VMM_MIN(old_len, new_len), n->vm_flags);
	/* the old range is looked up again: a merge may have changed the VMAs */
	v = vmm_vma_find(mm, old_addr);
	vmm_vm_stat_account(mm, vm_flags, (int64_t)(new_len >> PAGE_SHIFT));
	if (flags & VMM_MREMAP_DONTUNMAP) {
		dontunmap_complete(mm, v, n, old_addr, old_len);
		*out = new_addr;
		return 0;
	}
	/* conceal VM_ACCOUNT so that unmapping the old range does not give the charge back */
	if (vm_flags & VMM_VM_ACCOUNT) {
		v->vm_flags &= ~VMM_VM_ACCOUNT;
		account_start = v->vm_start < old_addr;
		account_end = v->vm_end > old_addr + old_len;
	}
	munmap_range(mm, old_addr, old_addr + old_len);
	if (vm_flags & VMM_VM_LOCKED)
		mm->locked_vm += new_len >> PAGE_SHIFT;
	if (account_start) {
		struct vmm_vma *p = vmm_vma_find(mm, old_addr - 1);

		if (p && p->vm_end == old_addr)
			p->vm_flags |= VMM_VM_ACCOUNT;
	}
	if (account_end) {
		struct vmm_vma *p = vmm_vma_find(mm, old_addr + old_len);

		if (p && p->vm_start == old_addr + old_len)
			p->vm_flags |= VMM_VM_ACCOUNT;
	}
	*out = new_addr;
	return 0;
}

/* mremap_to(): MREMAP_FIXED or MREMAP_DONTUNMAP. */
static int mremap_to(struct vmm_task *t, uint64_t addr, uint64_t old_len, uint64_t new_addr,
		     uint64_t new_len, unsigned flags, uint64_t *out)
{
	struct vmm_mm *mm = t->mm;
	unsigned map_flags = 0;
	struct vmm_vma *v;
	uint64_t a;
	int err;

	if (new_addr & ~PAGE_MASK)
		return -VMM_EINVAL;
	if (new_len > mm->task_size || new_addr > mm->task_size - new_len)
		return -VMM_EINVAL;
	if (addr + old_len > new_addr && new_addr + new_len > addr)
		return -VMM_EINVAL;
	if (mm->map_count + 2 >= mm->m->tasks.sysctl.max_map_count - 3)
		return -VMM_ENOMEM;
	if ((flags & VMM_MREMAP_FIXED) && (err = munmap_range(mm, new_addr, new_addr + new_len)))
		return err;
	if (old_len > new_len) {
		if ((err = munmap_range(mm, addr + new_len, addr + old_len)))
			return err;
		old_len = new_len;
	}
	v = vma_to_resize(t, addr, old_len, new_len, &err);
	if (!v)
		return err;
	if ((flags & VMM_MREMAP_DONTUNMAP) && (v->vm_flags & (VMM_VM_DONTEXPAND | VMM_VM_PFNMAP)))
		return -VMM_EINVAL;
	if ((flags & VMM_MREMAP_DONTUNMAP) && !may_expand_vm(t, v->vm_flags, old_len >> PAGE_SHIFT))
		return -VMM_ENOMEM;
	if (flags & VMM_MREMAP_FIXED)
		map_flags |= VMM_MAP_FIXED;
	if (v->vm_flags & VMM_VM_MAYSHARE)
		map_flags |= VMM_MAP_SHARED;
	a = get_unmapped_area(mm, v->vm_file, new_addr, new_len, map_flags);
	if (is_err_value(a))
		return (int)(int64_t)a;
	if (!(flags & VMM_MREMAP_FIXED))
		new_addr = a;
	return move_vma(t, v, addr, old_len, new_len, new_addr, flags, out);
}

/* vma_expandable(): room above @v for @delta more bytes. */
static bool vma_expandable(struct vmm_mm *mm, struct vmm_vma *v, uint64_t delta)
{
	uint64_t end = v->vm_end + delta;

	if (end < v->vm_end)
		return false;
	if (vmm_vma_find_intersection(mm, v->vm_end, end))
		return false;
	return !is_err_value(get_unmapped_area(mm, NULL, v->vm_start, end - v->vm_start,
					       VMM_MAP_FIXED));
}

/* Grow @v in place by @delta (vma_merge_extend()), merging with the next VMA when it can. */
static int expand_in_place(struct vmm_task *t, struct vmm_vma *v, uint64_t delta)
{
	struct vmm_mm *mm = t->mm;
	uint64_t pages = delta >> PAGE_SHIFT, start = v->vm_end;
	struct vma_merge_req r = { .prev = v, .next = v->vm_next, .start = start,
				   .end = start + delta, .pgoff = v->vm_pgoff + vma_pages(v),
				   .vm_flags = v->vm_flags, .file = v->vm_file, .ino = v->ino,
				   .anon_vma = v->anon_vma };

	if ((v->vm_flags & VMM_VM_ACCOUNT) && vm_enough_memory(mm, pages))
		return -VMM_ENOMEM;
	if (!vmm_vma_merge_new(mm, &r)) {
		/* only a special mapping refuses; vma_to_resize() turned those away */
		if (v->vm_flags & VMM_VM_ACCOUNT)
			vmm_vm_unacct_memory(mm->m, pages);
		return -VMM_ENOMEM;
	}
	if (v->vm_flags & VMM_VM_ACCOUNT)
		mm->committed += pages;
	vmm_vm_stat_account(mm, v->vm_flags, (int64_t)pages);
	if (v->vm_flags & VMM_VM_LOCKED) {
		mm->locked_vm += pages;
		populate_vma(t, v, start, start + delta);
	}
	return 0;
}

static int do_mremap(struct vmm_task *t, uint64_t addr, uint64_t old_len, uint64_t new_len,
		     unsigned flags, uint64_t new_addr, uint64_t *out)
{
	struct vmm_mm *mm = t->mm;
	struct vmm_vma *v;
	int err;

	if (flags & ~(VMM_MREMAP_FIXED | VMM_MREMAP_MAYMOVE | VMM_MREMAP_DONTUNMAP))
		return -VMM_EINVAL;
	if ((flags & VMM_MREMAP_FIXED) && !(flags & VMM_MREMAP_MAYMOVE))
		return -VMM_EINVAL;
	if ((flags & VMM_MREMAP_DONTUNMAP) &&
	    (!(flags & VMM_MREMAP_MAYMOVE) || old_len != new_len))
		return -VMM_EINVAL;
	if (addr & ~PAGE_MASK)
		return -VMM_EINVAL;
	old_len = PAGE_ALIGN(old_len);
	new_len = PAGE_ALIGN(new_len);
	if (!new_len)
		return -VMM_EINVAL;
	v = vmm_vma_find(mm, addr);
	if (!v || v->vm_start > addr)
		return -VMM_EFAULT;
	if (flags & (VMM_MREMAP_FIXED | VMM_MREMAP_DONTUNMAP))
		return mremap_to(t, addr, old_len, new_addr, new_len, flags, out);
	if (old_len >= new_len) {
		if (old_len > new_len && (err = munmap_checked(mm, addr + new_len, old_len - new_len)))
			return err;
		*out = addr;
		return 0;
	}
	v = vma_to_resize(t, addr, old_len, new_len, &err);
	if (!v)
		return err;
	if (old_len == v->vm_end - addr && vma_expandable(mm, v, new_len - old_len)) {
		if ((err = expand_in_place(t, v, new_len - old_len)))
			return err;
		*out = addr;
		return 0;
	}
	if (!(flags & VMM_MREMAP_MAYMOVE))
		return -VMM_ENOMEM;
	new_addr = get_unmapped_area(mm, v->vm_file, 0, new_len,
				     (v->vm_flags & VMM_VM_MAYSHARE) ? VMM_MAP_SHARED : 0);
	if (is_err_value(new_addr))
		return (int)(int64_t)new_addr;
	return move_vma(t, v, addr, old_len, new_len, new_addr, flags, out);
}

/* ---- the public entry points ---- */

/* The task's mm, or NULL after logging the caller's mistake. */
/* A system call's entry: the task's mm, its entry and exit charged to the current CPU. */
static struct vmm_mm *task_mm(vmm_task *t, const char *fn)
{
	if (!t)
		return NULL;
	if (!t->mm) {
		vmm_caller_err(&t->m->log, "%s: task %d has exited", fn, t->pid);
		return NULL;
	}
	vmm_charge(t->m, VMM_CYC_OTHER, t->m->clock.cost.syscall);
	return t->mm;
}

int vmm_mmap(vmm_task *t, vmm_vaddr_t addr, uint64_t len, unsigned prot, unsigned flags,
	     vmm_file *file, uint64_t off, vmm_vaddr_t *out)
{
	if (!task_mm(t, __func__) || !out)
		return -VMM_EINVAL;
	if (prot & ~PROT_ALL) {
		vmm_caller_err(&t->m->log, "%s: unknown prot bits %#x", __func__, prot & ~PROT_ALL);
		return -VMM_EINVAL;
	}
	if (flags & ~VMM_MAP_ALL_FLAGS) {
		vmm_caller_err(&t->m->log, "%s: unknown flags %#x", __func__,
			       flags & ~VMM_MAP_ALL_FLAGS);
		return -VMM_EINVAL;
	}
	/* MAP_ANONYMOUS ignores the file, as Linux ignores fd */
	if (flags & VMM_MAP_ANONYMOUS)
		file = NULL;
	else if (!file || !t->m->tasks.file_ops)
		return -VMM_EBADF;
	return vmm_do_mmap(t, addr, len, prot, flags, file, off, out);
}

int vmm_munmap(vmm_task *t, vmm_vaddr_t addr, uint64_t len)
{
	struct vmm_mm *mm = task_mm(t, __func__);

	return mm ? munmap_checked(mm, addr, len) : -VMM_EINVAL;
}

int vmm_brk(vmm_task *t, vmm_vaddr_t brk, vmm_vaddr_t *out)
{
	if (!task_mm(t, __func__) || !out)
		return -VMM_EINVAL;
	*out = do_brk(t, brk);
	return 0;
}

int vmm_mprotect(vmm_task *t, vmm_vaddr_t addr, uint64_t len, unsigned prot)
{
	if (!task_mm(t, __func__))
		return -VMM_EINVAL;
	return do_mprotect(t, addr, len, prot);
}

int vmm_mremap(vmm_task *t, vmm_vaddr_t old_addr, uint64_t old_len, uint64_t new_len,
	       unsigned flags, vmm_vaddr_t new_addr, vmm_vaddr_t *out)
{
	if (!task_mm(t, __func__) || !out)
		return -VMM_EINVAL;
	return do_mremap(t, old_addr, old_len, new_len, flags, new_addr, out);
}

int vmm_madvise(vmm_task *t, vmm_vaddr_t addr, uint64_t len, int advice)
{
	if (!task_mm(t, __func__))
		return -VMM_EINVAL;
	return do_madvise(t, addr, len, advice);
}

int vmm_mlock2(vmm_task *t, vmm_vaddr_t addr, uint64_t len, unsigned flags)
{
	if (!task_mm(t, __func__) || (flags & ~VMM_MLOCK_ONFAULT))
		return -VMM_EINVAL;
	return do_mlock(t, addr, len,
			VMM_VM_LOCKED | ((flags & VMM_MLOCK_ONFAULT) ? VMM_VM_LOCKONFAULT : 0));
}

int vmm_mlock(vmm_task *t, vmm_vaddr_t addr, uint64_t len)
{
	return vmm_mlock2(t, addr, len, 0);
}

int vmm_munlock(vmm_task *t, vmm_vaddr_t addr, uint64_t len)
{
	if (!task_mm(t, __func__))
		return -VMM_EINVAL;
	len = PAGE_ALIGN(len + (addr & ~PAGE_MASK));
	return apply_lock_flags(t, addr & PAGE_MASK, len, 0);
}

/* ---- sysctls ---- */

void vmm_mm_sysctl_init(struct vmm_mm_sysctl *s)
{
	*s = (struct vmm_mm_sysctl){
		.max_map_count = DEFAULT_MAX_MAP_COUNT,
		.mmap_min_addr = DEFAULT_MMAP_MIN_ADDR,
		.overcommit_memory = OVERCOMMIT_GUESS,
		.overcommit_ratio = 50,
		.admin_reserve_kbytes = 8192,
		.user_reserve_kbytes = 131072,
		.randomize_va_space = 2,
		.thp_align = 1,
		.fault_around_pages = FAULT_AROUND_BYTES_DEFAULT >> PAGE_SHIFT,
	};
}

/*
 * fault_around_bytes (Linux's debugfs knob): at most one page table's span;
 * below a page it means one page (no fault-around); otherwise rounded down
 * to a power of two.
 */
static int fault_around_bytes_set(struct vmm_mm_sysctl *s, int64_t value)
{
	uint64_t v = (uint64_t)value;

	if (value < 0 || v / PAGE_SIZE > PTRS_PER_PTE_USER)
		return -VMM_EINVAL;
	v = VMM_MAX(v, PAGE_SIZE);
	while (v & (v - 1))
		v &= v - 1;
	s->fault_around_pages = (uint32_t)(v >> PAGE_SHIFT);
	return 0;
}

struct mm_sysctl_desc {
	const char *name;
	size_t offset;
	bool wide;		/* uint64_t, else uint32_t */
	int64_t max;
};

#define SYSCTL32(n, f, mx) { n, offsetof(struct vmm_mm_sysctl, f), false, mx }
#define SYSCTL64(n, f, mx) { n, offsetof(struct vmm_mm_sysctl, f), true, mx }
static const struct mm_sysctl_desc mm_sysctls[] = {
	SYSCTL32("vm.max_map_count", max_map_count, INT32_MAX),
	SYSCTL64("vm.mmap_min_addr", mmap_min_addr, 1ll << 32),
	SYSCTL32("vm.overcommit_memory", overcommit_memory, 2),
	SYSCTL32("vm.overcommit_ratio", overcommit_ratio, INT32_MAX),
	SYSCTL64("vm.overcommit_kbytes", overcommit_kbytes, INT64_MAX),
	SYSCTL64("vm.admin_reserve_kbytes", admin_reserve_kbytes, INT64_MAX),
	SYSCTL64("vm.user_reserve_kbytes", user_reserve_kbytes, INT64_MAX),
	SYSCTL32("kernel.randomize_va_space", randomize_va_space, 2),
	SYSCTL32("vm.thp_align_anon", thp_align, 1),
	SYSCTL32("vm.legacy_stack_check", legacy_stack_check, 1),
};

static const struct mm_sysctl_desc *find_sysctl(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(mm_sysctls); i++)
		if (!strcmp(mm_sysctls[i].name, name))
			return &mm_sysctls[i];
	return NULL;
}

int vmm_mm_sysctl_get(const struct vmm_machine *m, const char *name, int64_t *value)
{
	const struct mm_sysctl_desc *d = find_sysctl(name);
	const char *base = (const char *)&m->tasks.sysctl;

	if (!strcmp(name, FAULT_AROUND_BYTES_NAME)) {
		*value = (int64_t)m->tasks.sysctl.fault_around_pages << PAGE_SHIFT;
		return 0;
	}
	if (!d)
		return 1;
	if (d->wide)
		*value = (int64_t)*(const uint64_t *)(const void *)(base + d->offset);
	else
		*value = *(const uint32_t *)(const void *)(base + d->offset);
	return 0;
}

int vmm_mm_sysctl_set(struct vmm_machine *m, const char *name, int64_t value)
{
	const struct mm_sysctl_desc *d = find_sysctl(name);
	char *base = (char *)&m->tasks.sysctl;

	if (!strcmp(name, FAULT_AROUND_BYTES_NAME)) {
		if (fault_around_bytes_set(&m->tasks.sysctl, value)) {
			vmm_caller_err(&m->log, "vmm_sysctl_set: %s = %lld is out of range", name,
				       (long long)value);
			return -VMM_EINVAL;
		}
		return 0;
	}
	if (!d)
		return 1;
	if (value < 0 || value > d->max) {
		vmm_caller_err(&m->log, "vmm_sysctl_set: %s = %lld is out of range", name,
			       (long long)value);
		return -VMM_EINVAL;
	}
	if (d->wide)
		*(uint64_t *)(void *)(base + d->offset) = (uint64_t)value;
	else
		*(uint32_t *)(void *)(base + d->offset) = (uint32_t)value;
	return 0;
}
