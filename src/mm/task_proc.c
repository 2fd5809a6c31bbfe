/* SPDX-License-Identifier: MIT */
/*
 * A task's /proc views: maps, smaps and pagemap in Linux's formats
 * (FORMATS.md; fs/proc/task_mmu.c prints them), and a dump of its page
 * tables. smaps figures come from the page tables and the page
 * descriptors, as Linux's smaps_pte_entry() gathers them. libvmm answers as
 * the kernel sees things: pagemap shows PFNs (Linux hides them from readers
 * without CAP_SYS_ADMIN).
 */
#include <inttypes.h>
#include <string.h>

#include <vmm/errors.h>
#include <vmm/mm.h>

#include "lib/compiler.h"
#include "machine.h"
#include "mm/buddy.h"
#include "mm/pgtable.h"
#include "mm/rmap.h"
#include "mm/vma.h"

#define PSS_SHIFT 12
#define MAPS_NAME_COLUMN 73		/* seq_setwidth(25 + 6 * sizeof(void *) - 1) and the pad */

/* The name maps prints for @v, or NULL. */
static const char *vma_name(const struct vmm_vma *v)
{
	const struct vmm_mm *mm = v->vm_mm;

	if (v->special_name)
		return v->special_name;
	if (v->ino)
		return "/dev/zero (deleted)";
	if (v->vm_start <= mm->brk && v->vm_end >= mm->start_brk)
		return "[heap]";
	if (mm->start_stack && v->vm_start <= mm->start_stack && v->vm_end >= mm->start_stack)
		return "[stack]";
	return NULL;
}

/*
 * show_map_vma(): a file mapping shows the file's device, inode and name
 * ("/name", with " (deleted)" once unlinked); shared anonymous memory its
 * shmem object ("/dev/zero (deleted)" on 00:01).
 */
static int show_map_line(FILE *out, const struct vmm_vma *v)
{
	bool shared_anon = v->ino != 0;
	uint64_t off = v->vm_file || shared_anon ? v->vm_pgoff << PAGE_SHIFT : 0, ino = 0;
	const char *name = vma_name(v), *fname = NULL;
	unsigned major = 0, minor = 0;
	int n;

	if (shared_anon) {
		minor = 1;
		ino = v->ino;
	} else if (v->vm_file) {
		fname = v->vm_mm->m->tasks.file_ops->file_name(v->vm_file, &major, &minor, &ino);
	}
	n = fprintf(out, "%08" PRIx64 "-%08" PRIx64 " %c%c%c%c %08" PRIx64 " %02x:%02x %" PRIu64 " ",
		    v->vm_start, v->vm_end, (v->vm_flags & VMM_VM_READ) ? 'r' : '-',
		    (v->vm_flags & VMM_VM_WRITE) ? 'w' : '-', (v->vm_flags & VMM_VM_EXEC) ? 'x' : '-',
		    (v->vm_flags & VMM_VM_MAYSHARE) ? 's' : 'p', off, major, minor, ino);
	if (n < 0)
		return -VMM_EIO;
	n = n < MAPS_NAME_COLUMN ? MAPS_NAME_COLUMN - n : 0;
	if (fname) {
		if (fprintf(out, "%*s/%s%s", n, "", fname,
			    v->vm_mm->m->tasks.file_ops->file_deleted(v->vm_file) ? " (deleted)" : "") < 0)
			return -VMM_EIO;
	} else if (name && fprintf(out, "%*s%s", n, "", name) < 0) {
		return -VMM_EIO;
	}
	return fputc('\n', out) == EOF ? -VMM_EIO : 0;
}

/* ---- smaps ---- */

struct mem_size_stats {
	uint64_t resident, shared_clean, shared_dirty, private_clean, private_dirty, referenced;
	uint64_t anonymous, swap;
	uint64_t pss, pss_dirty, pss_locked;
	bool locked;
};

/* smaps_pte_entry(): the zero page (no struct page counted, vm_normal_page) is not resident. */
static void smaps_pte(struct vmm_machine *m, uint64_t pte, struct mem_size_stats *mss)
{
	const struct vmm_page *p = vmm_vm_normal_page(m, pte);
	bool dirty;
	bool priv;
	uint64_t pss = PAGE_SIZE << PSS_SHIFT;

	if (!p)
		return;
	dirty = (pte & VMM_PTE_DIRTY) || page_flag(p, VMM_PG_dirty);
	priv = p->mapcount < 2 || p->refcount == 1;

	mss->resident += PAGE_SIZE;
	if ((pte & VMM_PTE_ACCESSED) || page_flag(p, VMM_PG_referenced))
		mss->referenced += PAGE_SIZE;
	if (p->mapping & 1)
		mss->anonymous += PAGE_SIZE;
	if (!priv)
		pss /= (uint64_t)p->mapcount;
	mss->pss += pss;
	if (dirty) {
		mss->pss_dirty += pss;
		*(priv ? &mss->private_dirty : &mss->shared_dirty) += PAGE_SIZE;
	} else {
		*(priv ? &mss->private_clean : &mss->shared_clean) += PAGE_SIZE;
	}
	if (mss->locked)
		mss->pss_locked += pss;
}

/* Linux's mnemonics, by vm_flags bit. */
static const char vm_mnemonics[32][3] = {
	"rd", "wr", "ex", "sh", "mr", "mw", "me", "ms", "gd", "", "pf", "", "", "lo", "io", "sr",
	"rr", "dc", "de", "lf", "ac", "nr", "ht", "sf", "ar", "wf", "dd", "sd", "mm", "hg", "nh",
	"mg",
};

static int show_smap(FILE *out, struct vmm_vma *v)
{
	struct vmm_mm *mm = v->vm_mm;
	struct mem_size_stats mss = { .locked = (v->vm_flags & VMM_VM_LOCKED) != 0 };
	int err;

	for (uint64_t va = v->vm_start; va < v->vm_end; va += PAGE_SIZE) {
		uint64_t pte = vmm_user_pte(mm, va);

		if (pte & (VMM_PTE_PRESENT | PTE_PROTNONE))
			smaps_pte(mm->m, pte, &mss);
	}
	if ((err = show_map_line(out, v)))
		return err;
	fprintf(out, "Size:           %8" PRIu64 " kB\n", (v->vm_end - v->vm_start) >> 10);
	fprintf(out, "KernelPageSize: %8u kB\nMMUPageSize:    %8u kB\n", 4u, 4u);
	fprintf(out, "Rss:            %8" PRIu64 " kB\n", mss.resident >> 10);
	fprintf(out, "Pss:            %8" PRIu64 " kB\n", (mss.pss >> PSS_SHIFT) >> 10);
	fprintf(out, "Pss_Dirty:      %8" PRIu64 " kB\n", (mss.pss_dirty >> PSS_SHIFT) >> 10);
	fprintf(out, "Shared_Clean:   %8" PRIu64 " kB\n", mss.shared_clean >> 10);
	fprintf(out, "Shared_Dirty:   %8" PRIu64 " kB\n", mss.shared_dirty >> 10);
	fprintf(out, "Private_Clean:  %8" PRIu64 " kB\n", mss.private_clean >> 10);
	fprintf(out, "Private_Dirty:  %8" PRIu64 " kB\n", mss.private_dirty >> 10);
	fprintf(out, "Referenced:     %8" PRIu64 " kB\n", mss.referenced >> 10);
	fprintf(out, "Anonymous:      %8" PRIu64 " kB\n", mss.anonymous >> 10);
	fprintf(out, "KSM:            %8u kB\nLazyFree:       %8u kB\n", 0u, 0u);
	fprintf(out, "AnonHugePages:  %8u kB\nShmemPmdMapped: %8u kB\nFilePmdMapped:  %8u kB\n",
		0u, 0u, 0u);
	fprintf(out, "Shared_Hugetlb: %8u kB\nPrivate_Hugetlb: %7u kB\n", 0u, 0u);
	fprintf(out, "Swap:           %8" PRIu64 " kB\nSwapPss:        %8u kB\n", mss.swap >> 10, 0u);
	fprintf(out, "Locked:         %8" PRIu64 " kB\n", (mss.pss_locked >> PSS_SHIFT) >> 10);
	fprintf(out, "THPeligible:    %8d\n", 0);
	fputs("VmFlags:", out);
	for (unsigned b = 0; b < 32; b++)
		if ((v->vm_flags & (1ull << b)) && vm_mnemonics[b][0])
			fprintf(out, " %s", vm_mnemonics[b]);
	return fputs(" \n", out) == EOF ? -VMM_EIO : 0;
}

/* ---- page tables ---- */

static void dump_table(FILE *out, struct vmm_machine *m, vmm_paddr_t t, unsigned level,
		       unsigned top, uint64_t base)
{
	const uint64_t *e = vmm_physmem_host(&m->phys, t);
	unsigned shift = 12 + 9 * (level - 1);

	for (unsigned i = 0; i < (level == top ? 256u : 512u); i++) {
		uint64_t va = base | ((uint64_t)i << shift), x = e[i];

		if (!(x & (VMM_PTE_PRESENT | (level == 1 ? PTE_PROTNONE : 0))))
			continue;
		fprintf(out, "%*sL%u[%3u] %016" PRIx64 " va %#014" PRIx64 " pa %#" PRIx64 " %s%s%s%s%s%s\n",
			2 * (top - level), "", level, i, x, va, (uint64_t)(x & VMM_PTE_ADDR_MASK),
			(x & VMM_PTE_PRESENT) ? "P" : "protnone", (x & VMM_PTE_RW) ? " RW" : "",
			(x & VMM_PTE_USER) ? " US" : "", (x & VMM_PTE_ACCESSED) ? " A" : "",
			(x & VMM_PTE_DIRTY) ? " D" : "", (x & VMM_PTE_NX) ? " NX" : "");
		if (level > 1)
			dump_table(out, m, x & VMM_PTE_ADDR_MASK, level - 1, top, va);
	}
}

int vmm_task_dump(vmm_task *t, enum vmm_task_dump_kind kind, FILE *out)
{
	struct vmm_mm *mm;
	int err = 0;

	if (!t || !out || (unsigned)kind >= VMM_TASK_DUMP_NR_KINDS)
		return -VMM_EINVAL;
	if (!(mm = t->mm))
		return -VMM_ENOENT;
	if (kind == VMM_TASK_DUMP_PAGETABLES) {
		fprintf(out, "pid %d pgd %#" PRIx64 " (user half, %u levels)\n", t->pid, mm->pgd,
			t->m->cfg.paging_levels);
		dump_table(out, t->m, mm->pgd, t->m->cfg.paging_levels, t->m->cfg.paging_levels, 0);
		return ferror(out) ? -VMM_EIO : 0;
	}
	for (struct vmm_vma *v = mm->mmap; v && !err; v = v->vm_next)
		err = kind == VMM_TASK_DUMP_MAPS ? show_map_line(out, v) : show_smap(out, v);
	return err;
}

int vmm_task_pagemap(vmm_task *t, vmm_vaddr_t start, size_t n, uint64_t *out)
{
	struct vmm_mm *mm;
	uint64_t va = start & PAGE_MASK;

	if (!t || !out)
		return -VMM_EINVAL;
	if (!(mm = t->mm))
		return -VMM_ENOENT;
	if (va > mm->task_size || n > (mm->task_size - va) >> PAGE_SHIFT)
		return -VMM_EINVAL;
	for (size_t i = 0; i < n; i++, va += PAGE_SIZE) {
		struct vmm_vma *v = vmm_vma_find(mm, va);
		uint64_t pte = vmm_user_pte(mm, va), e = 0;

		if (v && v->vm_start <= va && (v->vm_flags & VMM_VM_SOFTDIRTY))
			e |= VMM_PM_SOFT_DIRTY;
		if (pte & (VMM_PTE_PRESENT | PTE_PROTNONE)) {
			uint64_t pfn = (pte & VMM_PTE_ADDR_MASK) >> PAGE_SHIFT;
			/* vm_normal_page(): none for the zero page, which is neither file nor exclusive */
			const struct vmm_page *p = vmm_vm_normal_page(mm->m, pte);

			e |= VMM_PM_PRESENT | (pfn & VMM_PM_PFN_MASK);
			if (p && p->mapcount == 1)
				e |= VMM_PM_MMAP_EXCLUSIVE;
			if (p && !page_anon(p))
				e |= VMM_PM_FILE;
		}
		out[i] = e;
	}
	return 0;
}
