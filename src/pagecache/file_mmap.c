/* SPDX-License-Identifier: MIT */
/*
 * Files seen through mappings: what the VMA layer needs from the page cache
 * (the hooks it calls, struct vmm_vma_file_ops: mmap's open-mode checks, the
 * VMA's file reference and its place on mapping->i_mmap, dirty and accessed
 * bits handed over when a PTE goes, the names maps prints) and what the page
 * cache does to the mappings of a file (page_mkclean before writeback,
 * unmap_mapping_range on truncation, msync).
 *
 * i_mmap is a list, not Linux's interval tree: a file has few mappings here,
 * and every walk filters VMAs by their page range. A VMA is on its file's
 * list from vma_open (mmap, split, fork) to vma_close (vma_free), and each
 * one holds a reference to its vmm_file, so closing the handle after mmap
 * keeps the file (and an unlinked inode) alive, as Linux's get_file does.
 *
 * Layering: this file calls down into mm (page tables, VMAs); mm reaches it
 * only through the hooks registered at boot.
 */
#include "pagecache/file_mmap.h"

#include <inttypes.h>

#include <vmm/errors.h>
#include <vmm/mm.h>

#include "machine.h"
#include "mm/pgtable.h"
#include "mm/vma.h"
#include "pagecache/shmem.h"

/* The device numbers maps shows for files on a block device: virtio-blk's 254, 16 minors each. */
#define VIRTBLK_MAJOR 254u
#define VIRTBLK_MINORS 16u

static struct vmm_address_space *vma_mapping(const struct vmm_vma *v)
{
	return &v->vm_file->inode->i_data;
}

/* ---- the hooks ---- */

static int mmap_check(struct vmm_machine *m, struct vmm_file *f, unsigned prot, unsigned flags,
		      uint64_t *vm_flags)
{
	int acc = f->f_flags & VMM_O_ACCMODE;

	if (f->m != m) {
		vmm_caller_err(&m->log, "vmm_mmap: the file belongs to another machine");
		return -VMM_EINVAL;
	}
	if ((flags & VMM_MAP_TYPE) != VMM_MAP_PRIVATE) {
		if ((prot & VMM_PROT_WRITE) && acc == VMM_O_RDONLY)
			return -VMM_EACCES;
		/* a shared mapping of a read-only file can never be written: treat it as private */
		if (acc == VMM_O_RDONLY)
			*vm_flags &= ~(VMM_VM_MAYWRITE | VMM_VM_SHARED);
	}
	return acc == VMM_O_WRONLY ? -VMM_EACCES : 0;
}

/*
 * mapping_can_writeback(): a file on a device tracks dirtying through
 * write faults (vma_wants_writenotify); shmem never writes back, so its
 * shared mappings map pages writable at once.
 */
static bool wants_writenotify(const struct vmm_vma *v)
{
	return v->vm_file->inode->bdev != NULL;
}

static void vma_open(struct vmm_vma *v)
{
	vmm_get_file(v->vm_file);
	vmm_list_add_tail(&v->shared, &vma_mapping(v)->i_mmap);
	v->writenotify = wants_writenotify(v);
}

static void vma_close(struct vmm_vma *v)
{
	vmm_list_del(&v->shared);
	vmm_fput(v->vm_file);
}

static int shmem_setup(struct vmm_vma *v, uint64_t size)
{
	struct vmm_file *f;
	int err = vmm_shmem_file_setup(v->vm_mm->m, size, &f);

	if (err)
		return err;
	/* the handle's reference becomes the VMA's */
	v->vm_file = f;
	vmm_list_add_tail(&v->shared, &f->inode->i_data.i_mmap);
	v->writenotify = false;
	return 0;
}

static void page_dirty(struct vmm_machine *m, struct vmm_page *p)
{
	struct vmm_address_space *mapping = vmm_page_mapping(m, p);

	if (mapping)
		vmm_set_page_dirty(mapping, p);
}

static void page_accessed(struct vmm_machine *m, struct vmm_page *p)
{
	if (vmm_page_mapping(m, p))
		vmm_mark_page_accessed(m, p);
}

static unsigned bdev_index(const struct vmm_bdev *b)
{
	const struct vmm_list *head = &b->m->pagecache->bdevs;
	unsigned i = 0;

	for (const struct vmm_list *pos = head->next; pos != &b->link; pos = pos->next)
		i++;
	return i;
}

static const char *file_name(const struct vmm_file *f, unsigned *major, unsigned *minor,
			     uint64_t *ino)
{
	const struct vmm_inode *inode = f->inode;

	*major = inode->bdev ? VIRTBLK_MAJOR : 0;
	*minor = inode->bdev ? VIRTBLK_MINORS * bdev_index(inode->bdev) : 1;
	*ino = inode->i_ino;
	return inode->bdev ? inode->name : NULL;
}

static void willneed(struct vmm_file *f, uint64_t off, uint64_t len)
{
	vmm_file_fadvise(f, off, len, VMM_FADV_WILLNEED);
}

static bool file_deleted(const struct vmm_file *f)
{
	return f->inode->unlinked;
}

static const struct vmm_vma_file_ops file_ops = {
	.mmap_check = mmap_check,
	.vma_open = vma_open,
	.vma_close = vma_close,
	.shmem_setup = shmem_setup,
	.page_dirty = page_dirty,
	.page_accessed = page_accessed,
	.file_name = file_name,
	.willneed = willneed,
	.file_deleted = file_deleted,
};

void vmm_file_mmap_init(struct vmm_machine *m)
{
	m->tasks.file_ops = &file_ops;
}

/* ---- walking a file's mappings ---- */

/* The part of [first, last] (page indexes) @v maps, as addresses [*start, *end); false: none. */
static bool vma_index_range(const struct vmm_vma *v, uint64_t first, uint64_t last,
			    uint64_t *start, uint64_t *end)
{
	uint64_t vfirst = v->vm_pgoff, vlast = v->vm_pgoff + vma_pages(v) - 1;

	if (last < vfirst || first > vlast)
		return false;
	*start = v->vm_start + ((VMM_MAX(first, vfirst) - vfirst) << PAGE_SHIFT);
	*end = v->vm_start + ((VMM_MIN(last, vlast) - vfirst + 1) << PAGE_SHIFT);
	return true;
}

#define for_each_mmap(v, mapping)                                                         \
	for (struct vmm_list *pos_ = (mapping)->i_mmap.next;                               \
	     pos_ != &(mapping)->i_mmap && ((v) = vmm_list_entry(pos_, struct vmm_vma, shared)); \
	     pos_ = pos_->next)

unsigned vmm_page_mkclean(struct vmm_address_space *mapping, struct vmm_page *page)
{
	struct vmm_machine *m = mapping->host->m;
	uint64_t pfn = page_to_pfn(&m->sparse, page), va, end;
	unsigned cleaned = 0;
	struct vmm_vma *v;

	for_each_mmap(v, mapping)
		if ((v->vm_flags & VMM_VM_SHARED) &&
		    vma_index_range(v, page->index, page->index, &va, &end))
			cleaned += vmm_pte_mkclean(v->vm_mm, va, pfn);
	return cleaned;
}

void vmm_unmap_mapping_range(struct vmm_address_space *mapping, uint64_t first, uint64_t last)
{
	uint64_t start, end;
	struct vmm_vma *v;

	for_each_mmap(v, mapping) {
		if (!vma_index_range(v, first, last, &start, &end))
			continue;
		vmm_zap_range(v->vm_mm, v, start, end);
		vmm_flush_tlb_mm_range(v->vm_mm, start, end);
	}
}

/* ---- msync ---- */

#define MS_ALL (VMM_MS_ASYNC | VMM_MS_INVALIDATE | VMM_MS_SYNC)

/*
 * msync() as Linux 6.x: MS_ASYNC and MS_INVALIDATE do nothing beyond their
 * checks (dirty pages are tracked, and there is no cache to invalidate);
 * MS_SYNC runs vfs_fsync_range(datasync) over each shared file VMA's part
 * of the range. A hole gives -ENOMEM at the end (MS_ASYNC stops there).
 */
static int do_msync(struct vmm_mm *mm, uint64_t start, uint64_t len, unsigned flags)
{
	int unmapped_error = 0, err;
	struct vmm_vma *v;
	uint64_t end;

	if ((flags & ~MS_ALL) || (start & ~PAGE_MASK) ||
	    ((flags & VMM_MS_ASYNC) && (flags & VMM_MS_SYNC)))
		return -VMM_EINVAL;
	len = PAGE_ALIGN(len);
	end = start + len;
	if (end < start)
		return -VMM_ENOMEM;
	if (end == start)
		return 0;
	v = vmm_vma_find(mm, start);
	for (;;) {
		uint64_t fstart, fend;
		struct vmm_file *file;

		if (!v)
			return -VMM_ENOMEM;
		if (start < v->vm_start) {
			if (flags == VMM_MS_ASYNC)
				return -VMM_ENOMEM;
			start = v->vm_start;
			if (start >= end)
				return -VMM_ENOMEM;
			unmapped_error = -VMM_ENOMEM;
		}
		if ((flags & VMM_MS_INVALIDATE) && (v->vm_flags & VMM_VM_LOCKED))
			return -VMM_EBUSY;
		file = v->vm_file;
		fstart = v->vm_pgoff + ((start - v->vm_start) >> PAGE_SHIFT);
		fend = fstart + ((VMM_MIN(end, v->vm_end) - start) >> PAGE_SHIFT) - 1;
		start = v->vm_end;
		if ((flags & VMM_MS_SYNC) && file && (v->vm_flags & VMM_VM_SHARED)) {
			vmm_pagecache_enter(mm->m);
			err = vmm_vfs_fsync_range(file, fstart, fend);
			vmm_pagecache_exit(mm->m);
			if (err)
				return err;
		}
		if (start >= end)
			return unmapped_error;
		v = v->vm_next;
	}
}

int vmm_msync(vmm_task *t, vmm_vaddr_t addr, uint64_t len, unsigned flags)
{
	if (!t)
		return -VMM_EINVAL;
	if (!t->mm) {
		vmm_caller_err(&t->m->log, "%s: task %d has exited", __func__, t->pid);
		return -VMM_EINVAL;
	}
	if (flags & ~MS_ALL) {
		vmm_caller_err(&t->m->log, "%s: unknown flags %#x", __func__, flags & ~MS_ALL);
		return -VMM_EINVAL;
	}
	return do_msync(t->mm, addr, len, flags);
}

/* ---- the check ---- */

/* The VMAs on the i_mmap lists of a list of inodes: each must map that inode. */
static long check_i_mmap(struct vmm_list *inodes, uint64_t *listed, FILE *out)
{
	long problems = 0;

	for (struct vmm_list *pos = inodes->next; pos != inodes; pos = pos->next) {
		struct vmm_inode *inode = vmm_list_entry(pos, struct vmm_inode, i_sb_list);
		struct vmm_vma *v;

		for_each_mmap(v, &inode->i_data) {
			(*listed)++;
			if (!v->vm_file || v->vm_file->inode != inode) {
				fprintf(out, "file mappings: inode %" PRIu64
					     "'s i_mmap holds a VMA of another file\n",
					inode->i_ino);
				problems++;
			}
		}
	}
	return problems;
}

/* Every file VMA on its mapping's i_mmap, every i_mmap entry a live VMA of that file. */
long vmm_file_mappings_check(struct vmm_machine *m, FILE *out)
{
	uint64_t vmas = 0, listed = 0;
	long problems = 0;

	for (struct vmm_list *tp = m->tasks.list.next; tp && tp != &m->tasks.list; tp = tp->next) {
		const struct vmm_task *t = vmm_list_entry(tp, struct vmm_task, node);

		for (const struct vmm_vma *v = t->mm ? t->mm->mmap : NULL; v; v = v->vm_next) {
			if (!v->vm_file)
				continue;
			vmas++;
			if (!vmm_list_is_linked(&v->shared) || !v->vm_file->f_count ||
			    v->writenotify != wants_writenotify(v)) {
				fprintf(out, "file mappings: pid %d vma %#" PRIx64 "-%#" PRIx64
					     ": not on i_mmap, no file reference, or wrong writenotify\n",
					t->pid, v->vm_start, v->vm_end);
				problems++;
			}
		}
	}
	for (struct vmm_list *bl = m->pagecache->bdevs.next; bl != &m->pagecache->bdevs;
	     bl = bl->next)
		problems += check_i_mmap(&vmm_list_entry(bl, struct vmm_bdev, link)->inodes, &listed,
					 out);
	problems += check_i_mmap(&m->pagecache->shmem_inodes, &listed, out);
	if (listed != vmas) {
		fprintf(out, "file mappings: %" PRIu64 " file VMAs, %" PRIu64 " on i_mmap lists\n", vmas,
			listed);
		problems++;
	}
	return problems;
}
