/* SPDX-License-Identifier: MIT */
/*
 * The file side of the fault path (fault.h; seed 000 section 1.1: do_fault,
 * do_read_fault, do_cow_fault, do_shared_fault, finish_fault, filemap_fault).
 *
 * A not-present fault in a VMA with a file (a regular file, or the shmem
 * object behind shared anonymous memory) goes one of three ways, by the
 * access and the mapping, exactly as Linux's do_fault() chooses:
 *
 *   read            do_read_fault: first fault-around maps the pages of an
 *                   aligned window of fault_around_bytes around the address
 *                   that are already uptodate in the cache (never replacing
 *                   an entry, never leaving the VMA or the PTE table); if
 *                   that mapped the faulting page the fault is done, else
 *                   ->fault (filemap_fault, or shmem's) finds or reads the
 *                   page and finish_fault maps it.
 *   private write   do_cow_fault: the file page is copied into a new
 *                   anonymous page, which gets mapped writable and dirty.
 *   shared write    do_shared_fault: ->page_mkwrite (a file on a device:
 *                   lock the page, dirty it) then finish_fault maps it
 *                   writable and dirty, and the dirty page throttles the
 *                   writer (balance_dirty_pages_ratelimited).
 *
 * finish_fault maps with the VMA's protection: a shared mapping of a file
 * on a device tracks dirtying (vma_wants_writenotify), so a read fault maps
 * the page read-only and the first write comes back through
 * vmm_wp_page_shared() to dirty it; shmem, which is never written back,
 * maps writable at once. Writeback cleans and write-protects the entries
 * again (page_mkclean), so each round of writes faults once.
 *
 * References: ->fault returns the page locked with one reference, which
 * becomes the mapping's (or, for a copy, is dropped after the copy);
 * fault-around takes one per page it maps.
 */
#include "fault/fault.h"

#include <vmm/cpu.h>
#include <vmm/gfp.h>

#include "machine.h"
#include "mm/page_alloc.h"
#include "mm/page_zero.h"
#include "mm/pgtable.h"
#include "mm/rmap.h"
#include "mm/vma.h"
#include "pagecache/filemap.h"
#include "pagecache/shmem.h"

/* filemap.h's VM_FAULT_* copies must be Linux's values, as fault.h's are. */
_Static_assert(VM_FAULT_SIGBUS == VMF_SIGBUS && VM_FAULT_MAJOR == VMF_MAJOR &&
		       VM_FAULT_OOM == VMF_OOM && VM_FAULT_LOCKED == VMF_LOCKED &&
		       VM_FAULT_NOPAGE == VMF_NOPAGE,
	       "VM_FAULT_* values disagree");

#define VMF_BAIL (VMF_ERROR | VMF_NOPAGE | VMF_RETRY)

static struct vmm_machine *vmf_machine(const struct vmm_vm_fault *vmf)
{
	return vmf->vma->vm_mm->m;
}

static struct vmm_inode *vma_inode(const struct vmm_vma *v)
{
	return v->vm_file->inode;
}

/*
 * vm_get_page_prot() of the VMA: readable, executable or not, and writable
 * only for a shared writable mapping that does not track dirtying.
 */
static uint64_t vma_pte_prot(const struct vmm_machine *m, const struct vmm_vma *v)
{
	uint64_t prot = vmm_vm_page_prot(m, v->vm_flags);

	if ((v->vm_flags & (VMM_VM_WRITE | VMM_VM_SHARED)) == (VMM_VM_WRITE | VMM_VM_SHARED) &&
	    !v->writenotify)
		prot |= VMM_PTE_RW;
	return prot;
}

static uint64_t mk_pte(struct vmm_machine *m, const struct vmm_page *page, uint64_t prot)
{
	return ((uint64_t)page_to_pfn(&m->sparse, page) << PAGE_SHIFT) | prot;
}

/* maybe_mkwrite(pte_mkdirty()): a write fault's entry. */
static uint64_t mkwrite_dirty(uint64_t e, const struct vmm_vma *v)
{
	e |= VMM_PTE_DIRTY | VMM_PTE_ACCESSED;
	if (v->vm_flags & VMM_VM_WRITE)
		e |= VMM_PTE_RW;
	return e;
}

static void put_file_page(struct vmm_machine *m, struct vmm_page *page)
{
	vmm_pc_put_page(m, page);
}

/* ---- ->fault ---- */

/* The VMA's readahead hint for filemap_fault (VM_RAND_READ / VM_SEQ_READ). */
static unsigned ra_flags(const struct vmm_vma *v)
{
	return ((v->vm_flags & VMM_VM_RAND_READ) ? VM_RAND_READ : 0) |
	       ((v->vm_flags & VMM_VM_SEQ_READ) ? VM_SEQ_READ : 0);
}

/* __do_fault(): vmf->page locked with a reference, or an error (VMF_SIGBUS past EOF). */
static unsigned do_fault_page(struct vmm_vm_fault *vmf)
{
	struct vmm_vma *v = vmf->vma;
	struct vmm_inode *inode = vma_inode(v);
	struct vmm_page *page;
	unsigned ret;

	if (!inode->bdev) {
		page = vmm_shmem_get_page(inode, vmf->pgoff, &ret);
		if (page)
			ret |= VMF_LOCKED;
	} else {
		ret = vmm_filemap_fault(v->vm_file, vmf->pgoff, ra_flags(v), &page);
	}
	if (ret & VMF_BAIL)
		return ret;
	vmf->page = page;
	return ret;
}

/* ---- finish_fault ---- */

/*
 * finish_fault(): map vmf->cow_page (a private write) or vmf->page, unless
 * the entry was filled meanwhile (VMF_NOPAGE). The mapping takes the
 * reference the page came with.
 */
static unsigned finish_fault(struct vmm_vm_fault *vmf)
{
	struct vmm_vma *v = vmf->vma;
	struct vmm_mm *mm = v->vm_mm;
	struct vmm_machine *m = mm->m;
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	bool cow = write && !(v->vm_flags & VMM_VM_SHARED);
	struct vmm_page *page = cow ? vmf->cow_page : vmf->page;
	uint64_t e;

	if (*vmf->pte)
		return VMF_NOPAGE;
	e = mk_pte(m, page, vma_pte_prot(m, v));
	if (write)
		e = mkwrite_dirty(e, v);
	if (cow) {
		vmm_page_add_new_anon(m, page, v, vmf->address);
		vmm_add_mm_counter(mm, MM_ANONPAGES, 1);
	} else {
		vmm_page_add_file_rmap(m, page);
		vmm_add_mm_counter(mm, vmm_mm_counter(page), 1);
	}
	*vmf->pte = e;
	return 0;
}

/* ---- do_read_fault and fault-around ---- */

/*
 * Fault-around's state: what each page of the window needs, read once.
 * The cycles of each page it maps (pgcache_lookup) are charged together
 * after the window (charges add up, so the figures are the same).
 */
struct around {
	struct vmm_machine *m;
	struct vmm_mm *mm;
	uint64_t *pte;		/* the faulting address's entry */
	uint64_t pgoff;		/* and its file page */
	uint64_t prot;
	unsigned ret;
};

/* One page of the window: mapped when its entry is empty. */
static inline bool map_around(void *data, uint64_t pgoff, struct vmm_page *page)
{
	struct around *a = data;
	int64_t delta = (int64_t)(pgoff - a->pgoff);
	uint64_t *slot = a->pte + delta;

	if (*slot)
		return false;
	get_page(page);
	vmm_page_add_file_rmap(a->m, page);
	vmm_add_mm_counter(a->mm, vmm_mm_counter(page), 1);
	*slot = mk_pte(a->m, page, a->prot);
	if (!delta)
		a->ret = VMF_NOPAGE;
	return true;
}

/*
 * do_fault_around(): the window is fault_around_pages entries aligned down
 * in the PTE table, clipped to the VMA's start, to the table's end and to
 * the VMA's end (Linux 6.x's from_pte / to_pte).
 */
static unsigned do_fault_around(struct vmm_vm_fault *vmf, uint64_t nr_pages)
{
	struct vmm_vma *v = vmf->vma;
	struct vmm_machine *m = vmf_machine(vmf);
	uint64_t pte_off = (vmf->address >> PAGE_SHIFT) & (PTRS_PER_PTE_USER - 1);
	uint64_t vma_off = vmf->pgoff - v->vm_pgoff;
	uint64_t from_pte, to_pte;
	struct around a = {
		.m = m, .mm = v->vm_mm, .pte = vmf->pte, .pgoff = vmf->pgoff,
		.prot = vma_pte_prot(m, v),
	};
	unsigned mapped;

	from_pte = VMM_MAX(pte_off & ~(nr_pages - 1), pte_off - VMM_MIN(pte_off, vma_off));
	to_pte = VMM_MIN(VMM_MIN(from_pte + nr_pages, (uint64_t)PTRS_PER_PTE_USER),
			 pte_off + vma_pages(v) - vma_off) - 1;
	mapped = vmm_filemap_map_pages(v->vm_file, vmf->pgoff + from_pte - pte_off,
				       vmf->pgoff + to_pte - pte_off, map_around, &a);
	vmm_charge(m, VMM_CYC_FAULT, (uint64_t)mapped * m->clock.cost.pgcache_lookup);
	return a.ret;
}

static unsigned do_read_fault(struct vmm_vm_fault *vmf)
{
	struct vmm_machine *m = vmf_machine(vmf);
	uint64_t nr = m->tasks.sysctl.fault_around_pages;
	unsigned ret;

	if (nr > 1 && (ret = do_fault_around(vmf, nr)))
		return ret;
	ret = do_fault_page(vmf);
	if (ret & VMF_BAIL)
		return ret;
	ret |= finish_fault(vmf);
	vmm_unlock_page(vmf->page);
	if (ret & VMF_BAIL)
		put_file_page(m, vmf->page);
	return ret;
}

/* ---- do_cow_fault ---- */

static unsigned do_cow_fault(struct vmm_vm_fault *vmf)
{
	struct vmm_machine *m = vmf_machine(vmf);
	struct vmm_page *cow;
	unsigned ret;

	if (vmm_anon_vma_prepare(vmf->vma))
		return VMF_OOM;
	cow = vmm_alloc_page_filled(m, VMM_GFP_HIGHUSER_MOVABLE);
	if (!cow)
		return VMF_OOM;
	vmf->cow_page = cow;
	ret = do_fault_page(vmf);
	if (ret & VMF_BAIL)
		goto uncharge;
	vmm_copy_frame(m, vmm_page_to_pfn(m, cow), vmm_page_to_pfn(m, vmf->page));
	vmm_charge(m, VMM_CYC_ZERO_COPY, m->clock.cost.copy_page);
	ret |= finish_fault(vmf);
	vmm_unlock_page(vmf->page);
	put_file_page(m, vmf->page);
	if (ret & VMF_BAIL)
		goto uncharge;
	return ret;
uncharge:
	vmm_put_page(m, cow);
	vmf->cow_page = NULL;
	return ret;
}

/* ---- do_shared_fault and wp_page_shared ---- */

/*
 * do_page_mkwrite() with filemap_page_mkwrite(): the page, locked, still in
 * its file, is dirtied before any entry lets it be written. Returns
 * VMF_LOCKED, or VMF_NOPAGE (page unlocked) when truncation took it away.
 */
static unsigned page_mkwrite(struct vmm_vm_fault *vmf, struct vmm_page *page)
{
	struct vmm_machine *m = vmf_machine(vmf);
	struct vmm_address_space *mapping = &vma_inode(vmf->vma)->i_data;

	vmm_lock_page(m, page);
	if (page->mapping != mapping->self) {
		vmm_unlock_page(page);
		return VMF_NOPAGE;
	}
	vmm_set_page_dirty(mapping, page);
	return VMF_LOCKED;
}

/* fault_dirty_shared_page(): dirty (again), unlock, throttle the writer. */
static void fault_dirty_shared_page(struct vmm_vm_fault *vmf, struct vmm_page *page)
{
	struct vmm_machine *m = vmf_machine(vmf);
	struct vmm_address_space *mapping = vmm_page_mapping(m, page);
	bool dirtied = !PageDirty(page);

	if (mapping)
		vmm_set_page_dirty(mapping, page);
	vmm_unlock_page(page);
	if (mapping && mapping->host->bdev && (dirtied || vmf->vma->writenotify))
		vmm_balance_dirty_pages_ratelimited(mapping);
}

static unsigned do_shared_fault(struct vmm_vm_fault *vmf)
{
	struct vmm_machine *m = vmf_machine(vmf);
	struct vmm_page *page;
	unsigned ret, tmp;

	ret = do_fault_page(vmf);
	if (ret & VMF_BAIL)
		return ret;
	page = vmf->page;
	if (vmf->vma->writenotify) {
		vmm_unlock_page(page);
		tmp = page_mkwrite(vmf, page);
		if (tmp & (VMF_ERROR | VMF_NOPAGE)) {
			put_file_page(m, page);
			return tmp;
		}
	}
	ret |= finish_fault(vmf);
	if (ret & VMF_BAIL) {
		vmm_unlock_page(page);
		put_file_page(m, page);
		return ret;
	}
	fault_dirty_shared_page(vmf, page);
	return ret;
}

/* wp_page_reuse(): the entry the fault found, made young, dirty and writable. */
static void wp_page_reuse(struct vmm_vm_fault *vmf)
{
	*vmf->pte = mkwrite_dirty(vmf->orig_pte, vmf->vma);
}

unsigned vmm_wp_page_shared(struct vmm_vm_fault *vmf)
{
	struct vmm_machine *m = vmf_machine(vmf);
	struct vmm_page *page = vmm_vm_normal_page(m, vmf->orig_pte);
	unsigned ret = 0, tmp;

	if (!page) {
		wp_page_reuse(vmf);	/* wp_pfn_shared() */
		return 0;
	}
	vmm_pagecache_enter(m);
	get_page(page);
	if (vmf->vma->writenotify) {
		tmp = page_mkwrite(vmf, page);
		if (tmp & (VMF_ERROR | VMF_NOPAGE)) {
			put_file_page(m, page);
			ret = tmp;
			goto out;
		}
		/* finish_mkwrite_fault(): the entry must still be the one that faulted */
		if (*vmf->pte != vmf->orig_pte) {
			vmm_unlock_page(page);
			put_file_page(m, page);
			ret = VMF_NOPAGE;
			goto out;
		}
		wp_page_reuse(vmf);
	} else {
		wp_page_reuse(vmf);
		vmm_lock_page(m, page);
	}
	fault_dirty_shared_page(vmf, page);
	put_file_page(m, page);
out:
	vmm_pagecache_exit(m);
	return ret;
}

/* ---- do_fault ---- */

unsigned vmm_do_fault(struct vmm_vm_fault *vmf)
{
	struct vmm_machine *m = vmf_machine(vmf);
	unsigned ret;

	vmm_pagecache_enter(m);
	if (!(vmf->flags & FAULT_FLAG_WRITE))
		ret = do_read_fault(vmf);
	else if (!(vmf->vma->vm_flags & VMM_VM_SHARED))
		ret = do_cow_fault(vmf);
	else
		ret = do_shared_fault(vmf);
	vmm_pagecache_exit(m);
	return ret & ~VMF_LOCKED;	/* the page is unlocked again: nothing for the caller */
}
