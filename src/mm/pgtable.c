/* SPDX-License-Identifier: MIT */
/*
 * User page tables (pgtable.h).
 *
 * Entries are genuine x86-64 entries in frames from the buddy allocator:
 * a table entry is the next table's address with P, RW, US, A and D
 * (Linux's _PAGE_TABLE); a leaf is the frame's address with P, US, A, RW when
 * the page may be written now, D when it was, and NX when the VMA is not
 * executable. A PROT_NONE page keeps its frame behind an entry with P clear
 * and the PROTNONE bit (bit 8, Linux's _PAGE_PROTNONE) set, so the hardware
 * faults and the kernel still knows the page. Only 4 KiB leaves exist in
 * user space for now.
 *
 * Page-table pages are VMM_PGTY_TABLE pages counted in their node's
 * NR_PAGETABLE and in mm->pgtables_bytes. The user half of the PGD is
 * private to the mm; the kernel half is a copy of init_mm's entries, so both
 * reach the same lower tables.
 *
 * Pages behind the entries are accounted through rmap.h: the zero page
 * (PTE_SPECIAL, uncounted), anonymous pages (refcount 1 and mapcount 1 when
 * installed) and page-cache pages. Fork adds a reference and a mapping per
 * child and write-protects both PTEs of a private writable page
 * (copy-on-write); zapping drops both and frees the page with its last
 * reference.
 */
#include "mm/pgtable.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/cpu.h>
#include <vmm/errors.h>
#include <vmm/page.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "lib/compiler.h"
#include "machine.h"
#include "mm/buddy.h"
#include "mm/rmap.h"
#include "mm/vma.h"
#include "sim/physmem.h"

#define PTRS 512u
#define PAGE_PROTNONE PTE_PROTNONE
#define PAGE_TABLE (VMM_PTE_PRESENT | VMM_PTE_RW | VMM_PTE_USER | VMM_PTE_ACCESSED | VMM_PTE_DIRTY)
#define TLB_SINGLE_PAGE_FLUSH_CEILING 33u

static unsigned levels(const struct vmm_machine *m)
{
	return m->cfg.paging_levels;
}

static unsigned shift_of(unsigned level)
{
	return 12 + 9 * (level - 1);
}

static unsigned idx(uint64_t va, unsigned level)
{
	return (unsigned)((va >> shift_of(level)) & (PTRS - 1));
}

static uint64_t *table(struct vmm_machine *m, vmm_paddr_t pa)
{
	return vmm_physmem_host_table(&m->phys, pa);
}

static bool pte_present(uint64_t e)
{
	return vmm_pte_present(e);
}

/* ---- table pages ---- */

static vmm_paddr_t table_alloc(struct vmm_machine *m)
{
	return vmm_pgtable_page_alloc(m, VMM_GFP_KERNEL_ACCOUNT);
}

int vmm_pgtable_install(struct vmm_mm *mm, uint64_t *entry)
{
	vmm_paddr_t n = table_alloc(mm->m);

	if (!n)
		return -VMM_ENOMEM;
	mm->pgtables_bytes += PAGE_SIZE;
	*entry = n | PAGE_TABLE;
	return 0;
}

uint64_t *vmm_pte_slot(struct vmm_mm *mm, uint64_t va, bool alloc)
{
	struct vmm_machine *m = mm->m;
	vmm_paddr_t t = mm->pgd;

	for (unsigned l = levels(m); l > 1; l--) {
		uint64_t *e = &table(m, t)[idx(va, l)];

		if (!(*e & VMM_PTE_PRESENT) && (!alloc || vmm_pgtable_install(mm, e)))
			return NULL;
		t = *e & VMM_PTE_ADDR_MASK;
	}
	return &table(m, t)[idx(va, 1)];
}

uint64_t vmm_user_pte(struct vmm_mm *mm, uint64_t va)
{
	uint64_t *e = vmm_pte_slot(mm, va, false);

	return e ? *e : 0;
}

/* ---- pages ---- */

/* Drop one mapping and one reference of the page behind a leaf (none for the zero page). */
static void put_mapped_page(struct vmm_mm *mm, uint64_t pte)
{
	struct vmm_machine *m = mm->m;
	struct vmm_page *p = vmm_vm_normal_page(m, pte);

	if (!p)
		return;
	vmm_add_mm_counter(mm, vmm_mm_counter(p), -1);
	vmm_page_remove_rmap(m, p);
	vmm_put_user_page(m, p);
}

/* One present PTE handled by a system call's page-table walk (cost table: pte_op). */
static void charge_pte(struct vmm_machine *m)
{
	vmm_charge(m, VMM_CYC_OTHER, m->clock.cost.pte_op);
}

/* Visit every leaf slot of [start, end) that exists, present or not. */
typedef void (*leaf_fn)(struct vmm_mm *mm, uint64_t va, uint64_t *slot, void *arg);

static void walk_range(struct vmm_mm *mm, vmm_paddr_t t, unsigned level, uint64_t base,
		       uint64_t start, uint64_t end, leaf_fn fn, void *arg)
{
	struct vmm_machine *m = mm->m;
	uint64_t span = 1ull << shift_of(level);

	for (unsigned i = idx(VMM_MAX(start, base), level); i < PTRS; i++) {
		uint64_t va = base + (uint64_t)i * span;
		uint64_t *e = &table(m, t)[i];

		if (va >= end)
			break;
		if (level == 1) {
			fn(mm, va, e, arg);
			continue;
		}
		if (*e & VMM_PTE_PRESENT)
			walk_range(mm, *e & VMM_PTE_ADDR_MASK, level - 1, va, start, end, fn, arg);
	}
}

static void walk_user(struct vmm_mm *mm, uint64_t start, uint64_t end, leaf_fn fn, void *arg)
{
	if (start < end)
		walk_range(mm, mm->pgd, levels(mm->m), 0, start, end, fn, arg);
}

/*
 * zap_pte_range() for one entry: a page-cache page keeps what the hardware
 * recorded in the entry (the dirty bit becomes set_page_dirty(), the
 * accessed bit mark_page_accessed() unless the VMA asked for sequential or
 * random access) before its mapping goes.
 */
static void zap_leaf(struct vmm_mm *mm, uint64_t va, uint64_t *slot, void *arg)
{
	const struct vmm_vma *v = arg;
	const struct vmm_vma_file_ops *ops = mm->m->tasks.file_ops;
	struct vmm_page *p;
	uint64_t e = *slot;

	(void)va;
	if (!pte_present(e))
		return;
	charge_pte(mm->m);
	p = vmm_vm_normal_page(mm->m, e);
	if (p && !page_anon(p) && ops) {
		if (e & VMM_PTE_DIRTY)
			ops->page_dirty(mm->m, p);
		if ((e & VMM_PTE_ACCESSED) &&
		    !(v && (v->vm_flags & (VMM_VM_SEQ_READ | VMM_VM_RAND_READ))))
			ops->page_accessed(mm->m, p);
	}
	put_mapped_page(mm, e);
	*slot = 0;
}

void vmm_zap_range(struct vmm_mm *mm, struct vmm_vma *v, uint64_t start, uint64_t end)
{
	walk_user(mm, start, end, zap_leaf, v);
}

bool vmm_pte_mkclean(struct vmm_mm *mm, uint64_t va, uint64_t pfn)
{
	uint64_t *slot = vmm_pte_slot(mm, va, false), e;

	if (!slot || !((e = *slot) & VMM_PTE_PRESENT) || (e & PTE_SPECIAL) ||
	    (e & VMM_PTE_ADDR_MASK) >> PAGE_SHIFT != pfn || !(e & (VMM_PTE_RW | VMM_PTE_DIRTY)))
		return false;
	*slot = e & ~(VMM_PTE_RW | VMM_PTE_DIRTY);
	vmm_flush_tlb_mm_range(mm, va, va + PAGE_SIZE);
	return true;
}

static bool table_empty(struct vmm_machine *m, vmm_paddr_t t)
{
	const uint64_t *e = table(m, t);

	for (unsigned i = 0; i < PTRS; i++)
		if (e[i])
			return false;
	return true;
}

/* Free the empty tables under @t for [start, end) whose span lies in [floor, ceiling). */
static void free_tables(struct vmm_mm *mm, vmm_paddr_t t, unsigned level, uint64_t base,
			uint64_t start, uint64_t end, uint64_t floor, uint64_t ceiling)
{
	struct vmm_machine *m = mm->m;
	uint64_t span = 1ull << shift_of(level);

	for (unsigned i = idx(VMM_MAX(start, base), level); i < PTRS; i++) {
		uint64_t va = base + (uint64_t)i * span, *e = &table(m, t)[i];
		vmm_paddr_t child;

		if (va >= end)
			break;
		if (level == 1 || !(*e & VMM_PTE_PRESENT) ||
		    (level == levels(m) && i >= m->init_mm.layout.kernel_pgd_index))
			continue;
		child = *e & VMM_PTE_ADDR_MASK;
		free_tables(mm, child, level - 1, va, start, end, floor, ceiling);
		if (va >= floor && va + span <= ceiling && table_empty(m, child)) {
			*e = 0;
			vmm_pgtable_page_free(m, child);
			mm->pgtables_bytes -= PAGE_SIZE;
		}
	}
}

void vmm_free_pgtables(struct vmm_mm *mm, uint64_t start, uint64_t end, uint64_t floor,
		       uint64_t ceiling)
{
	if (start < end)
		free_tables(mm, mm->pgd, levels(mm->m), 0, start, end, floor, ceiling);
}

void vmm_free_user_tables(struct vmm_mm *mm)
{
	free_tables(mm, mm->pgd, levels(mm->m), 0, 0, mm->task_size + PAGE_SIZE, 0, UINT64_MAX);
	vmm_pgd_free(mm->m, mm->pgd);
	mm->pgtables_bytes -= PAGE_SIZE;
	mm->pgd = 0;
}

/*
 * Whether a private page may be written without a copy: an anonymous page
 * nobody else maps or holds (never the zero page or a page-cache page).
 */
static bool page_exclusive(struct vmm_machine *m, uint64_t pte)
{
	const struct vmm_page *p = vmm_vm_normal_page(m, pte);

	return p && page_anon(p) && p->mapcount == 1 && p->refcount == 1;
}

struct change_arg {
	uint64_t vm_flags;
	bool writenotify;
};

/*
 * change_pte_range() for one entry. Write permission comes back where
 * Linux's can_change_pte_writable() allows it: a private page only when it
 * is exclusively ours (else the next write copies it), a shared one unless
 * the mapping tracks dirtying and the entry is clean (its first write must
 * fault so the page cache hears of it).
 */
static void change_leaf(struct vmm_mm *mm, uint64_t va, uint64_t *slot, void *arg)
{
	const struct change_arg *a = arg;
	uint64_t vm_flags = a->vm_flags, e = *slot, n;

	(void)va;
	if (!pte_present(e))
		return;
	charge_pte(mm->m);
	n = (e & (VMM_PTE_ADDR_MASK | VMM_PTE_DIRTY | PTE_SPECIAL)) | vmm_vm_page_prot(mm->m, vm_flags);
	if (!(vm_flags & VMM_VM_WRITE) || (e & PTE_SPECIAL))
		;
	else if (vm_flags & VMM_VM_SHARED) {
		if (!a->writenotify || (e & VMM_PTE_DIRTY))
			n |= VMM_PTE_RW;
	} else if (page_exclusive(mm->m, e)) {
		n |= VMM_PTE_RW | VMM_PTE_DIRTY;
	}
	*slot = n;
}

void vmm_change_protection(struct vmm_mm *mm, const struct vmm_vma *v, uint64_t start,
			   uint64_t end, uint64_t vm_flags)
{
	struct change_arg a = { .vm_flags = vm_flags, .writenotify = v->writenotify };

	walk_user(mm, start, end, change_leaf, &a);
	vmm_flush_tlb_mm_range(mm, start, end);
}

struct move_arg {
	int64_t delta;
	int err;
};

static void move_leaf(struct vmm_mm *mm, uint64_t va, uint64_t *slot, void *arg)
{
	struct move_arg *a = arg;
	uint64_t *dst;

	if (!pte_present(*slot) || a->err)
		return;
	charge_pte(mm->m);
	dst = vmm_pte_slot(mm, va + (uint64_t)a->delta, true);
	if (!dst) {
		a->err = -VMM_ENOMEM;
		return;
	}
	*dst = *slot;
	*slot = 0;
}

int vmm_move_page_tables(struct vmm_mm *mm, uint64_t old, uint64_t new_addr, uint64_t len,
			 uint64_t vm_flags)
{
	struct move_arg a = { .delta = (int64_t)(new_addr - old) };

	(void)vm_flags;
	walk_user(mm, old, old + len, move_leaf, &a);
	vmm_flush_tlb_mm_range(mm, old, old + len);
	return a.err;
}

struct copy_arg {
	struct vmm_mm *dst_mm;
	struct vmm_vma *src;
	int err;
};

static void copy_leaf(struct vmm_mm *src_mm, uint64_t va, uint64_t *slot, void *arg)
{
	struct copy_arg *a = arg;
	struct vmm_machine *m = src_mm->m;
	struct vmm_page *p;
	uint64_t *dst, e = *slot;

	if (!pte_present(e) || a->err)
		return;
	charge_pte(m);
	dst = vmm_pte_slot(a->dst_mm, va, true);
	if (!dst) {
		a->err = -VMM_ENOMEM;
		return;
	}
	/* a private page becomes copy-on-write in both */
	if (!(a->src->vm_flags & VMM_VM_SHARED) && (e & VMM_PTE_RW)) {
		e &= ~VMM_PTE_RW;
		*slot = e;
	}
	*dst = e;
	if (!(p = vmm_vm_normal_page(m, e)))
		return;	/* the zero page: no reference, no mapping counted */
	vmm_get_page(m, p);
	vmm_page_dup_rmap(p);
	vmm_add_mm_counter(a->dst_mm, vmm_mm_counter(p), 1);
}

int vmm_copy_page_range(struct vmm_mm *dst_mm, struct vmm_vma *dst, struct vmm_mm *src_mm,
			struct vmm_vma *src)
{
	struct copy_arg a = { .dst_mm = dst_mm, .src = src };

	(void)dst;
	if (!src->anon_vma)
		return 0;
	walk_user(src_mm, src->vm_start, src->vm_end, copy_leaf, &a);
	return a.err;
}

/* ---- TLB ---- */

void vmm_flush_tlb_mm_range(struct vmm_mm *mm, uint64_t start, uint64_t end)
{
	struct vmm_machine *m = mm->m;
	struct vmm_cpu *sender = &m->mmu.cpus[m->current_cpu];
	uint64_t len = end - start;

	mm->tlb_gen++;
	if (len >> PAGE_SHIFT > TLB_SINGLE_PAGE_FLUSH_CEILING)
		start = len = 0;
	/* the CPUs of mm_cpumask in ascending order, a word of the mask at a time */
	for (unsigned w = 0; w * 64 < m->nr_cpus; w++) {
		for (uint64_t bits = mm->cpumask[w]; bits; bits &= bits - 1) {
			unsigned c = w * 64 + (unsigned)__builtin_ctzll(bits);
			struct vmm_tlb_state *ts = &m->tasks.tlbstate[c];
			struct vmm_cpu *cpu = &m->mmu.cpus[c];
			unsigned pcid;

			if (c >= m->nr_cpus)
				break;
			pcid = (cpu->regs.cr4 & VMM_CR4_PCIDE) ? ts->loaded_asid + 1 : 0;
			vmm_tlb_shootdown_one(sender, cpu, (uint16_t)pcid, start, len, 0);
			ts->ctxs[ts->loaded_asid].tlb_gen = mm->tlb_gen;
		}
	}
}

/* ---- checking ---- */

struct check_arg {
	FILE *out;
	long problems;
	uint64_t present;
};

static void check_leaf(struct vmm_mm *mm, uint64_t va, uint64_t *slot, void *arg)
{
	struct check_arg *a = arg;
	struct vmm_machine *m = mm->m;
	struct vmm_vma *v;
	uint64_t e = *slot, pfn;
	const char *why = NULL;

	if (!e)
		return;
	pfn = (e & VMM_PTE_ADDR_MASK) >> PAGE_SHIFT;
	v = vmm_vma_find(mm, va);
	if (!pte_present(e))
		why = "a non-present entry that is not PROT_NONE (no swap yet)";
	else if (!v || v->vm_start > va)
		why = "a PTE outside every VMA";
	else if (((e & VMM_PTE_RW) && !(v->vm_flags & VMM_VM_WRITE)) ||
		 ((e & VMM_PTE_PRESENT) && !(e & VMM_PTE_NX) && !(v->vm_flags & VMM_VM_EXEC)) ||
		 ((e & VMM_PTE_PRESENT) && !(v->vm_flags & VM_ACCESS_FLAGS)))
		why = "rights wider than the VMA's";
	else if ((e & VMM_PTE_RW) && !(e & VMM_PTE_DIRTY) && v->writenotify &&
		 (v->vm_flags & VMM_VM_SHARED))
		why = "a writable clean entry where the mapping tracks dirtying";
	else if (e & PTE_SPECIAL) {
		if (!vmm_is_zero_pfn(m, pfn))
			why = "a special entry that does not map the zero page";
		else if (e & VMM_PTE_RW)
			why = "the zero page mapped writable";
	} else if (!vmm_sparse_pfn_valid(&m->sparse, pfn) ||
		   pfn_to_page(&m->sparse, pfn)->refcount < 1 ||
		   pfn_to_page(&m->sparse, pfn)->mapcount < 1) {
		why = "a frame without a reference or a mapping";
	}
	if (why) {
		fprintf(a->out, "mm %p: va %#" PRIx64 " pte %#" PRIx64 ": %s\n", (void *)mm, va, e, why);
		a->problems++;
	}
	if (!(e & PTE_SPECIAL))
		a->present++;
}

long vmm_pgtable_check(struct vmm_mm *mm, FILE *out)
{
	struct check_arg a = { .out = out };
	int64_t rss = mm->rss_stat[MM_ANONPAGES] + mm->rss_stat[MM_FILEPAGES] +
		      mm->rss_stat[MM_SHMEMPAGES];

	walk_user(mm, 0, mm->task_size, check_leaf, &a);
	if ((int64_t)a.present != rss) {
		fprintf(out, "mm %p: %" PRIu64 " pages mapped, RSS counters say %" PRId64 "\n",
			(void *)mm, a.present, rss);
		a.problems++;
	}
	return a.problems;
}

static void tally_leaf(struct vmm_mm *mm, uint64_t va, uint64_t *slot, void *arg)
{
	struct pfn_tally *t = arg;

	(void)va;
	if (!pte_present(*slot) || (*slot & PTE_SPECIAL) || t->oom)
		return;
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 1024;
		uint64_t *p = vmm_hrealloc(&mm->m->hm, t->pfn, t->cap * sizeof(*p), cap * sizeof(*p));

		if (!p) {
			t->oom = true;
			return;
		}
		t->pfn = p;
		t->cap = cap;
	}
	t->pfn[t->n++] = (*slot & VMM_PTE_ADDR_MASK) >> PAGE_SHIFT;
}

void vmm_pgtable_tally(struct vmm_mm *mm, struct pfn_tally *tally)
{
	walk_user(mm, 0, mm->task_size, tally_leaf, tally);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

long vmm_pgtable_check_tally(struct vmm_machine *m, struct pfn_tally *t, FILE *out)
{
	long problems = 0;

	if (t->oom) {
		fprintf(out, "page tables: no host memory to count the mapped frames\n");
		problems++;
	}
	if (t->n)
		qsort(t->pfn, t->n, sizeof(*t->pfn), cmp_u64);
	for (size_t i = 0, j; i < t->n; i = j) {
		const struct vmm_page *p;

		for (j = i + 1; j < t->n && t->pfn[j] == t->pfn[i]; j++)
			;
		if (!vmm_sparse_pfn_valid(&m->sparse, t->pfn[i]))
			continue; /* reported by the per-mm check */
		p = pfn_to_page(&m->sparse, t->pfn[i]);
		if ((size_t)p->mapcount != j - i || (size_t)p->refcount < j - i) {
			fprintf(out, "pfn %#" PRIx64 ": mapped by %zu PTEs, mapcount %d, refcount %d\n",
				t->pfn[i], j - i, p->mapcount, p->refcount);
			problems++;
		}
	}
	if (t->cap)
		vmm_hfree(&m->hm, t->pfn, t->cap * sizeof(*t->pfn));
	return problems;
}

static void digest_leaf(struct vmm_mm *mm, uint64_t va, uint64_t *slot, void *arg)
{
	uint64_t v[2] = { va, *slot };

	(void)mm;
	if (*slot)
		XXH3_64bits_update(arg, v, sizeof(v));
}

void vmm_pgtable_digest(struct vmm_mm *mm, struct XXH3_state_s *st)
{
	walk_user(mm, 0, mm->task_size, digest_leaf, st);
}
