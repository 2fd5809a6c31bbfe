/* SPDX-License-Identifier: MIT */
/*
 * handle_mm_fault() and what lies below it for anonymous memory (seed 000
 * section 1.1), and populate (faultin_page) on the same code.
 *
 * __handle_mm_fault walks the task's tables from the PGD, making each
 * missing table on the way (p4d_alloc is the PGD entry itself with 4-level
 * paging, where the P4D is folded), and hands the leaf slot to
 * handle_pte_fault, which dispatches on the entry:
 *
 *   empty, anonymous VMA  do_anonymous_page: a read maps the shared zero
 *                         page read-only (PTE_SPECIAL, no page counted); a
 *                         write takes a zeroed page on the task's NUMA
 *                         policy, makes it anonymous (rmap), puts it on the
 *                         LRU and maps it writable and dirty;
 *   empty, file or shmem  vmm_do_fault (filemap_fault.c);
 *   present, write to a read-only entry
 *                         do_wp_page: a VM_SHARED mapping goes to
 *                         vmm_wp_page_shared (filemap_fault.c); a private
 *                         anonymous page that nobody else maps or holds
 *                         (mapcount 1, refcount 1) is reused in place;
 *                         anything else (the zero page, a shared or
 *                         page-cache page) is copied into a new anonymous
 *                         page, the old entry cleared and flushed from every
 *                         CPU running the mm (ptep_clear_flush) first;
 *   present otherwise     the access is allowed already (a stale TLB
 *                         entry): mark it young (and dirty for a write),
 *                         the fault is spurious.
 *
 * mm_account_fault then counts pgfault for every fault that did not retry,
 * and the task's min_flt or maj_flt for every one that did not fail.
 */
#include "fault/core.h"

#include <vmm/errors.h>
#include <vmm/gfp.h>
#include <vmm/page.h>

#include "fault/fault.h"
#include "machine.h"
#include "mm/buddy.h"
#include "mm/page_alloc.h"
#include "mm/page_zero.h"
#include "mm/pgtable.h"
#include "mm/rmap.h"
#include "mm/vma.h"
#include "sim/physmem.h"

#define PTRS_PER_TABLE 512u

static uint64_t *table_of(struct vmm_machine *m, uint64_t entry)
{
	return vmm_physmem_host_table(&m->phys, entry & VMM_PTE_ADDR_MASK);
}

static unsigned level_index(uint64_t addr, unsigned level)
{
	return (unsigned)(addr >> (VMM_PAGE_SHIFT + 9 * (level - 1))) & (PTRS_PER_TABLE - 1);
}

/*
 * The leaf slot of @addr, making the tables above it: pgd_offset, then
 * p4d_alloc (folded into the PGD with 4 levels), pud_alloc, pmd_alloc and
 * pte_alloc. NULL when no page is left for a table (VM_FAULT_OOM).
 */
static uint64_t *fault_pte_alloc(struct vmm_mm *mm, uint64_t addr)
{
	struct vmm_machine *m = mm->m;
	unsigned levels = m->cfg.paging_levels;
	uint64_t *e =
		&((uint64_t *)vmm_physmem_host_table(&m->phys, mm->pgd))[level_index(addr, levels)];

	for (unsigned level = levels - 1; level >= 1; level--) {
		if (!(*e & VMM_PTE_PRESENT) && vmm_pgtable_install(mm, e))
			return NULL;
		e = &table_of(m, *e)[level_index(addr, level)];
	}
	vmm_charge(m, VMM_CYC_FAULT, (uint64_t)levels * m->clock.cost.fault_table_level);
	return e;
}

static uint64_t page_pa(struct vmm_machine *m, struct vmm_page *p)
{
	return (uint64_t)page_to_pfn(&m->sparse, p) << VMM_PAGE_SHIFT;
}

/* alloc_zeroed_user_highpage_movable() / alloc_page_vma(): on the task's policy, this CPU's node. */
static struct vmm_page *alloc_user_page(struct vmm_machine *m, bool zero)
{
	return vmm_alloc_page_filled(m, VMM_GFP_HIGHUSER_MOVABLE | (zero ? VMM_GFP_ZERO : 0));
}

/* A new anonymous page becomes @v's at @addr: rmap, LRU, RSS; its writable, dirty entry. */
static uint64_t new_anon_pte(struct vmm_vm_fault *vmf, struct vmm_page *p)
{
	struct vmm_vma *v = vmf->vma;
	struct vmm_machine *m = v->vm_mm->m;

	vmm_page_add_new_anon(m, p, v, vmf->address);
	vmm_add_mm_counter(v->vm_mm, MM_ANONPAGES, 1);
	vmm_charge(m, VMM_CYC_FAULT, m->clock.cost.fault_set_pte);
	return page_pa(m, p) | vmm_vm_page_prot(m, v->vm_flags) | VMM_PTE_RW | VMM_PTE_DIRTY;
}

static unsigned do_anonymous_page(struct vmm_vm_fault *vmf)
{
	struct vmm_vma *v = vmf->vma;
	struct vmm_machine *m = v->vm_mm->m;
	struct vmm_page *p;

	if (v->vm_flags & VMM_VM_SHARED)
		return VMF_SIGBUS;
	if (!(vmf->flags & FAULT_FLAG_WRITE)) {
		*vmf->pte = vmm_zero_page_pa(m) | PTE_SPECIAL | vmm_vm_page_prot(m, v->vm_flags);
		m->fault.stats.zero_page_maps++;
		vmm_charge(m, VMM_CYC_FAULT, m->clock.cost.fault_set_pte);
		return 0;
	}
	if (vmm_anon_vma_prepare(v) || !(p = alloc_user_page(m, true)))
		return VMF_OOM;
	*vmf->pte = new_anon_pte(vmf, p);
	return 0;
}

static void count_cow(struct vmm_vm_fault *vmf, bool copied)
{
	struct vmm_fault_stats *s = &vmf->vma->vm_mm->m->fault.stats;

	if (copied)
		s->cow_copies++;
	else
		s->cow_reuses++;
	if (!vmf->task)
		return;
	if (copied)
		vmf->task->flt.cow_copies++;
	else
		vmf->task->flt.cow_reuses++;
}

/* wp_page_reuse(): the page is ours alone; make the entry writable and dirty in place. */
static unsigned wp_page_reuse(struct vmm_vm_fault *vmf)
{
	struct vmm_machine *m = vmf->vma->vm_mm->m;

	*vmf->pte = vmf->orig_pte | VMM_PTE_ACCESSED | VMM_PTE_DIRTY | VMM_PTE_RW;
	m->vm_events[VE_PGREUSE]++;
	vmm_charge(m, VMM_CYC_FAULT, m->clock.cost.fault_wp_reuse);
	count_cow(vmf, false);
	return 0;
}

/*
 * wp_page_copy(): a private copy of @old (NULL: the zero page, whose copy is
 * a zeroed page) replaces the read-only entry. The old entry is cleared and
 * flushed before the new one is set, then the old page loses this mapping
 * and its reference.
 */
static unsigned wp_page_copy(struct vmm_vm_fault *vmf, struct vmm_page *old)
{
	struct vmm_vma *v = vmf->vma;
	struct vmm_mm *mm = v->vm_mm;
	struct vmm_machine *m = mm->m;
	struct vmm_page *p;

	if (vmm_anon_vma_prepare(v) || !(p = alloc_user_page(m, !old)))
		return VMF_OOM;
	if (old) {
		/* the host copy; only a clear (if that) when @old is known zero */
		vmm_copy_frame(m, page_pa(m, p) >> VMM_PAGE_SHIFT, page_pa(m, old) >> VMM_PAGE_SHIFT);
		vmm_charge(m, VMM_CYC_ZERO_COPY, m->clock.cost.copy_page);
		if (!page_anon(old)) {
			vmm_add_mm_counter(mm, vmm_mm_counter(old), -1);
			vmm_add_mm_counter(mm, MM_ANONPAGES, 1);
		}
	} else {
		vmm_add_mm_counter(mm, MM_ANONPAGES, 1);
	}
	/* ptep_clear_flush(): no CPU may keep using the old page once the new one shows */
	*vmf->pte = 0;
	vmm_flush_tlb_mm_range(mm, vmf->address, vmf->address + VMM_PAGE_SIZE);
	vmm_page_add_new_anon(m, p, v, vmf->address);
	vmm_charge(m, VMM_CYC_FAULT, m->clock.cost.fault_set_pte);
	*vmf->pte = page_pa(m, p) | vmm_vm_page_prot(m, v->vm_flags) | VMM_PTE_RW | VMM_PTE_DIRTY;
	if (old) {
		vmm_page_remove_rmap(m, old);
		vmm_put_user_page(m, old);
	}
	count_cow(vmf, true);
	return 0;
}

static unsigned do_wp_page(struct vmm_vm_fault *vmf)
{
	struct vmm_machine *m = vmf->vma->vm_mm->m;
	struct vmm_page *p = vmm_vm_normal_page(m, vmf->orig_pte);

	if (vmf->vma->vm_flags & VMM_VM_SHARED)
		return vmm_wp_page_shared(vmf);
	if (p && page_anon(p) && p->mapcount == 1 && p->refcount == 1)
		return wp_page_reuse(vmf);
	return wp_page_copy(vmf, p);
}

static unsigned handle_pte_fault(struct vmm_vm_fault *vmf)
{
	struct vmm_vma *v = vmf->vma;
	uint64_t entry = *vmf->pte;

	vmf->orig_pte = entry;
	if (!entry) {
		if (vma_is_anonymous(v))
			return do_anonymous_page(vmf);
		if (v->vm_file || v->ino)
			return vmm_do_fault(vmf);
		return VMF_SIGBUS;	/* a special mapping: no pages behind it */
	}
	if (!(entry & VMM_PTE_PRESENT))	/* PROT_NONE (access_error stops those) or swap */
		return VMF_SIGSEGV;
	if (vmf->flags & FAULT_FLAG_WRITE) {
		if (!(entry & VMM_PTE_RW))
			return do_wp_page(vmf);
		entry |= VMM_PTE_DIRTY;
	}
	/* the tables allowed the access already: a stale TLB entry made the fault */
	*vmf->pte = entry | VMM_PTE_ACCESSED;
	v->vm_mm->m->fault.stats.spurious++;
	return 0;
}

/* mm_account_fault() */
static void account_fault(struct vmm_machine *m, struct vmm_task *t, unsigned ret)
{
	if (ret & VMF_RETRY)
		return;
	m->vm_events[VE_PGFAULT]++;
	if (!t || (ret & VMF_ERROR))
		return;
	if (ret & VMF_MAJOR)
		t->flt.maj_flt++;
	else
		t->flt.min_flt++;
}

unsigned vmm_handle_mm_fault(struct vmm_task *t, struct vmm_vma *v, uint64_t addr,
			     unsigned flags)
{
	struct vmm_mm *mm = v->vm_mm;
	struct vmm_vm_fault vmf = {
		.vma = v,
		.task = t,
		.flags = flags,
		.address = addr & PAGE_MASK,
		.real_address = addr,
		.pgoff = v->vm_pgoff + (((addr & PAGE_MASK) - v->vm_start) >> PAGE_SHIFT),
	};
	unsigned ret;

	vmf.pte = fault_pte_alloc(mm, addr);
	ret = vmf.pte ? handle_pte_fault(&vmf) : VMF_OOM;
	account_fault(mm->m, t, ret);
	return ret;
}

/*
 * populate_vma_page_range(): fault in [start, end) of @v as
 * get_user_pages() does: a write fault for a private writable mapping (to
 * break COW now), a read fault otherwise, and no fault where the entry
 * already allows that (follow_page).
 */
int vmm_fault_populate(struct vmm_task *t, struct vmm_vma *v, uint64_t start, uint64_t end)
{
	unsigned flags = 0;

	if (v->vm_flags & VMM_VM_LOCKONFAULT)
		return 0;
	if (!(v->vm_flags & VM_ACCESS_FLAGS))
		return -VMM_EFAULT;
	if ((v->vm_flags & (VMM_VM_WRITE | VMM_VM_SHARED)) == VMM_VM_WRITE)
		flags |= FAULT_FLAG_WRITE;
	for (uint64_t addr = start & PAGE_MASK; addr < end; addr += PAGE_SIZE) {
		uint64_t pte = vmm_user_pte(v->vm_mm, addr);
		unsigned ret;

		if ((pte & VMM_PTE_PRESENT) && (!(flags & FAULT_FLAG_WRITE) || (pte & VMM_PTE_RW)))
			continue;
		ret = vmm_handle_mm_fault(t, v, addr, flags);
		if (ret & VMF_OOM)
			return -VMM_ENOMEM;
		if (ret & VMF_ERROR)
			return -VMM_EFAULT;
	}
	return 0;
}
