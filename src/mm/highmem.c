/* SPDX-License-Identifier: MIT */
/*
 * kmap, kunmap, kmap_atomic, kunmap_atomic and page_address() of high
 * memory (see highmem.h for the mechanism).
 *
 * Lock order: kmap_lock, then a page_address_htable bucket's lock. The
 * machine runs on one host thread, so the locks are not modelled, only
 * charged.
 */
#include "mm/highmem.h"

#include <inttypes.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <vmm/errors.h>
#include <vmm/highmem.h>

#include "lib/compiler.h"
#include "machine.h"
#include "mm/sparse.h"
#include "mm/vmstat.h"

#define LAST_PKMAP_MASK (VMM_LAST_PKMAP - 1)
#define PA_HASH_SIZE (1u << PA_HASH_ORDER)
#define NO_SLOT (-1)

static void charge(struct vmm_machine *m, uint64_t cycles)
{
	vmm_charge(m, VMM_CYC_OTHER, cycles);
}

static void misuse(struct vmm_machine *m, const char *fn, const char *what, uint64_t value)
{
	m->highmem.stats.misuse++;
	vmm_caller_err(&m->log, "%s: %s (%#" PRIx64 ")", fn, what, value);
}

static vmm_vaddr_t lowmem_address(const struct vmm_machine *m, uint64_t pfn)
{
	return vmm_page_offset(m) + (pfn << VMM_PAGE_SHIFT);
}

static uint64_t kmap_pte_value(uint64_t pfn)
{
	return (pfn << VMM_PAGE_SHIFT) | VMM_PAGE_KERNEL;
}

/* ---- the page_address hash ---- */

/* page_slot(): the bucket of @pfn; XXH3 of the frame number, never of a host pointer. */
static unsigned pa_bucket(uint64_t pfn)
{
	return (unsigned)(XXH3_64bits(&pfn, sizeof(pfn)) >> (64 - PA_HASH_ORDER));
}

/* The pkmap slot whose page_address_map holds @pfn, or NO_SLOT. */
static int pa_lookup(const struct vmm_highmem *hm, uint64_t pfn)
{
	for (int nr = hm->htable[pa_bucket(pfn)]; nr != NO_SLOT; nr = hm->pam[nr].next)
		if (hm->pam[nr].pfn == pfn)
			return nr;
	return NO_SLOT;
}

/* set_page_address(page, PKMAP_ADDR(nr)): slot @nr's map goes at the head of its bucket. */
static void pa_insert(struct vmm_highmem *hm, unsigned nr, uint64_t pfn)
{
	int32_t *head = &hm->htable[pa_bucket(pfn)];

	hm->pam[nr].pfn = pfn;
	hm->pam[nr].next = *head;
	*head = (int32_t)nr;
}

/* set_page_address(page, NULL) for the page slot @nr maps. */
static void pa_remove(struct vmm_highmem *hm, unsigned nr)
{
	int32_t *link = &hm->htable[pa_bucket(hm->pam[nr].pfn)];

	while (*link != NO_SLOT && *link != (int32_t)nr)
		link = &hm->pam[*link].next;
	if (*link == (int32_t)nr)
		*link = hm->pam[nr].next;
	hm->pam[nr].next = NO_SLOT;
}

vmm_vaddr_t vmm_pkmap_page_address(const struct vmm_machine *m, uint64_t pfn)
{
	int nr = pa_lookup(&m->highmem, pfn);

	return nr == NO_SLOT ? 0 : vmm_pkmap_addr(&m->init_mm, (unsigned)nr);
}

/* ---- permanent maps ---- */

/*
 * flush_all_zero_pkmaps(): a count of 1 marks a slot nobody uses whose PTE
 * may still sit in some TLB. Clear every such PTE and drop the page from
 * the hash, making the slot free (0); then, if any was cleared, flush the
 * whole pkmap area from every CPU at once: one shootdown for up to 512
 * slots is what makes the permanent maps affordable.
 */
static void flush_all_zero_pkmaps(struct vmm_machine *m)
{
	struct vmm_highmem *hm = &m->highmem;
	bool need_flush = false;

	hm->stats.pkmap_wraps++;
	charge(m, (uint64_t)VMM_LAST_PKMAP * m->clock.cost.kmap_scan_per_slot);
	for (unsigned i = 0; i < VMM_LAST_PKMAP; i++) {
		if (hm->pkmap_count[i] != 1)
			continue;
		hm->pkmap_count[i] = 0;
		if (!(hm->pkmap_pte[i] & VMM_PTE_PRESENT))
			vmm_internal_err(&m->log, "flush_all_zero_pkmaps: slot %u at count 1 has no PTE",
					 i);
		hm->pkmap_pte[i] = 0;
		pa_remove(hm, i);
		charge(m, m->clock.cost.kmap_set_pte);
		hm->stats.pkmap_cleared++;
		need_flush = true;
	}
	if (need_flush) {
		hm->stats.pkmap_tlb_flushes++;
		vmm_flush_tlb_kernel_range(m, vmm_pkmap_addr(&m->init_mm, 0),
					   vmm_pkmap_addr(&m->init_mm, VMM_LAST_PKMAP));
	}
}

/*
 * map_new_virtual(): look for a free slot after last_pkmap_nr, flushing the
 * unused ones each time the search wraps to slot 0. The count gives up
 * after a whole round past the last wrap finds nothing, which is when Linux
 * sleeps on pkmap_map_wait: NO_SLOT. Otherwise map @pfn there at count 1.
 */
static int map_new_virtual(struct vmm_machine *m, uint64_t pfn)
{
	struct vmm_highmem *hm = &m->highmem;
	unsigned count = VMM_LAST_PKMAP, scanned = 0;
	unsigned nr;

	for (;;) {
		nr = hm->last_pkmap_nr = (hm->last_pkmap_nr + 1) & LAST_PKMAP_MASK;
		scanned++;
		if (!nr) {
			flush_all_zero_pkmaps(m);
			count = VMM_LAST_PKMAP;
		}
		if (!hm->pkmap_count[nr])
			break;
		if (--count)
			continue;
		charge(m, (uint64_t)scanned * m->clock.cost.kmap_scan_per_slot);
		return NO_SLOT;
	}
	charge(m, (uint64_t)scanned * m->clock.cost.kmap_scan_per_slot +
			  m->clock.cost.kmap_set_pte);
	hm->pkmap_pte[nr] = kmap_pte_value(pfn);
	hm->pkmap_count[nr] = 1;
	pa_insert(hm, nr, pfn);
	hm->stats.kmap_new++;
	return (int)nr;
}

/* kmap_high(): the slot already holding @pfn, or a new one; one more user. */
static int kmap_high(struct vmm_machine *m, uint64_t pfn, vmm_vaddr_t *vaddr)
{
	struct vmm_highmem *hm = &m->highmem;
	int nr = pa_lookup(hm, pfn);

	charge(m, m->clock.cost.kmap_high);
	if (nr == NO_SLOT && (nr = map_new_virtual(m, pfn)) == NO_SLOT) {
		hm->stats.kmap_wouldblock++;
		return -VMM_EAGAIN;
	}
	hm->pkmap_count[nr]++;
	*vaddr = vmm_pkmap_addr(&m->init_mm, (unsigned)nr);
	return 0;
}

int vmm_page_highmem(const vmm_machine *m, const struct vmm_page *page)
{
	if (!m || !vmm_sparse_page_ok(&m->sparse, page))
		return 0;
	return vmm_pfn_highmem(&m->highmem, page_to_pfn(&m->sparse, page));
}

/* The checks every entry point makes on its machine, page and (when it has one) result. */
static bool args_ok(vmm_machine *m, const struct vmm_page *page, bool has_out,
		    const vmm_vaddr_t *vaddr, const char *fn)
{
	if (!m)
		return false;
	if (!vmm_sparse_page_ok(&m->sparse, page)) {
		vmm_caller_err(&m->log, "%s: %p is not a page of this machine", fn, (const void *)page);
		return false;
	}
	if (has_out && !vaddr) {
		vmm_caller_err(&m->log, "%s: vaddr is NULL", fn);
		return false;
	}
	return true;
}

int vmm_kmap(vmm_machine *m, struct vmm_page *page, vmm_vaddr_t *vaddr)
{
	uint64_t pfn;
	int err;

	if (!args_ok(m, page, true, vaddr, __func__))
		return -VMM_EINVAL;
	pfn = page_to_pfn(&m->sparse, page);
	if (!vmm_pfn_highmem(&m->highmem, pfn)) {
		charge(m, m->clock.cost.kmap_lowmem);
		m->highmem.stats.kmap++;
		m->highmem.stats.kmap_lowmem++;
		*vaddr = lowmem_address(m, pfn);
		return 0;
	}
	if ((err = kmap_high(m, pfn, vaddr)))
		return err;
	m->highmem.stats.kmap++;
	return 0;
}

/*
 * kunmap_high(): one user less. The count may not fall below 1 here: only
 * flush_all_zero_pkmaps() frees a slot, after the TLB flush. A page at
 * count 1 has no user left, so unmapping it again is misuse.
 */
int vmm_kunmap(vmm_machine *m, struct vmm_page *page)
{
	struct vmm_highmem *hm;
	uint64_t pfn;
	int nr;

	if (!args_ok(m, page, false, NULL, __func__))
		return -VMM_EINVAL;
	hm = &m->highmem;
	pfn = page_to_pfn(&m->sparse, page);
	if (!vmm_pfn_highmem(hm, pfn))
		return 0;
	charge(m, m->clock.cost.kunmap_high);
	nr = pa_lookup(hm, pfn);
	if (nr == NO_SLOT || hm->pkmap_count[nr] < 2) {
		misuse(m, __func__, "highmem page is not kmapped (pfn)", pfn);
		return -VMM_EINVAL;
	}
	hm->pkmap_count[nr]--;
	hm->stats.kunmap++;
	return 0;
}

/* ---- temporary maps ---- */

static struct vmm_kmap_ctrl *this_ctrl(struct vmm_machine *m)
{
	return &m->highmem.cpu[m->current_cpu];
}

/* The fixmap slot of the @idx-th highmem kmap_atomic on @cpu (kmap_local_idx). */
static unsigned kmap_fix_idx(unsigned cpu, unsigned idx)
{
	return VMM_FIX_KMAP_BEGIN + idx + VMM_KM_MAX_IDX * cpu;
}

int vmm_kmap_atomic(vmm_machine *m, struct vmm_page *page, vmm_vaddr_t *vaddr)
{
	struct vmm_kmap_ctrl *ctrl;
	struct vmm_kmap_atomic_entry *e;
	uint64_t pfn;

	if (!args_ok(m, page, true, vaddr, __func__))
		return -VMM_EINVAL;
	ctrl = this_ctrl(m);
	pfn = page_to_pfn(&m->sparse, page);
	if (ctrl->depth == VMM_KM_STACK_MAX ||
	    (vmm_pfn_highmem(&m->highmem, pfn) && ctrl->idx == VMM_KM_MAX_IDX)) {
		misuse(m, __func__, "kmap_atomic nested too deep on this CPU (depth)", ctrl->depth);
		return -VMM_EINVAL;
	}
	charge(m, m->clock.cost.kmap_atomic);
	e = &ctrl->stack[ctrl->depth++];
	e->pfn = pfn;
	m->highmem.stats.kmap_atomic++;
	if (!vmm_pfn_highmem(&m->highmem, pfn)) {
		m->highmem.stats.kmap_atomic_lowmem++;
		e->fix_idx = NO_SLOT;
		e->vaddr = lowmem_address(m, pfn);
	} else {
		unsigned idx = kmap_fix_idx(m->current_cpu, ctrl->idx++);

		if (m->highmem.fix_pte[idx][0] & VMM_PTE_PRESENT)
			vmm_internal_err(&m->log, "kmap_atomic: fixmap slot %u is already mapped", idx);
		charge(m, m->clock.cost.kmap_set_pte);
		m->highmem.fix_pte[idx][0] = kmap_pte_value(pfn);
		e->fix_idx = (int32_t)idx;
		e->vaddr = vmm_fix_to_virt(&m->init_mm, idx);
	}
	*vaddr = e->vaddr;
	return 0;
}

/* Report why @va is not the top of @ctrl's stack: an older mapping, or none. */
static void kunmap_atomic_misuse(struct vmm_machine *m, const struct vmm_kmap_ctrl *ctrl,
				 vmm_vaddr_t va)
{
	for (unsigned i = 0; i + 1 < ctrl->depth; i++)
		if (ctrl->stack[i].vaddr == va) {
			misuse(m, "vmm_kunmap_atomic", "not the most recent kmap_atomic (address)", va);
			return;
		}
	misuse(m, "vmm_kunmap_atomic", "not a live kmap_atomic of the current CPU (address)", va);
}

/*
 * kunmap_local_indexed(): pop the top mapping; a highmem one's PTE is
 * cleared and its page flushed from this CPU's TLB (no other CPU uses the
 * slot, so no shootdown).
 */
int vmm_kunmap_atomic(vmm_machine *m, vmm_vaddr_t vaddr)
{
	const vmm_vaddr_t va = vaddr & ~(vmm_vaddr_t)(VMM_PAGE_SIZE - 1);
	struct vmm_kmap_ctrl *ctrl;
	struct vmm_kmap_atomic_entry *e;

	if (!m)
		return -VMM_EINVAL;
	ctrl = this_ctrl(m);
	if (!ctrl->depth || ctrl->stack[ctrl->depth - 1].vaddr != va) {
		kunmap_atomic_misuse(m, ctrl, va);
		return -VMM_EINVAL;
	}
	charge(m, m->clock.cost.kmap_atomic);
	e = &ctrl->stack[--ctrl->depth];
	if (e->fix_idx != NO_SLOT) {
		charge(m, m->clock.cost.kmap_set_pte);
		m->highmem.fix_pte[e->fix_idx][0] = 0;
		vmm_cpu_invlpg(&m->mmu.cpus[m->current_cpu], va);
		m->vm_events[VE_NR_TLB_LOCAL_FLUSH_ONE]++;
		ctrl->idx--;
	}
	memset(e, 0, sizeof(*e));
	m->highmem.stats.kunmap_atomic++;
	return 0;
}

int vmm_highmem_stats(const vmm_machine *m, struct vmm_highmem_stats *out)
{
	if (!m || !out)
		return -VMM_EINVAL;
	*out = m->highmem.stats;
	out->pkmap_used = out->pkmap_unflushed = 0;
	for (unsigned i = 0; i < VMM_LAST_PKMAP; i++) {
		out->pkmap_used += m->highmem.pkmap_count[i] >= 2;
		out->pkmap_unflushed += m->highmem.pkmap_count[i] == 1;
	}
	return 0;
}

/* ---- boot, check, digest ---- */

/* The host view of kernel address @va's PTE, which boot made (init_kernel_areas()). */
static uint64_t *boot_pte(struct vmm_machine *m, vmm_vaddr_t va)
{
	uint64_t *pte = vmm_kernel_pte(m, va, false, NULL);

	if (!pte)
		vmm_internal_err(&m->log, "highmem: boot made no PTE for %#" PRIx64, va);
	return pte;
}

int vmm_highmem_init(struct vmm_machine *m)
{
	struct vmm_highmem *hm = &m->highmem;
	const unsigned nr_fixmap = m->init_mm.layout.nr_fixmap;

	memset(hm, 0, sizeof(*hm));
	hm->max_low_pfn = m->cfg.direct_map_limit ? m->cfg.direct_map_limit >> VMM_PAGE_SHIFT
						  : UINT64_MAX;
	for (unsigned b = 0; b < PA_HASH_SIZE; b++)
		hm->htable[b] = NO_SLOT;
	for (unsigned i = 0; i < VMM_LAST_PKMAP; i++)
		hm->pam[i].next = NO_SLOT;
	hm->cpu = vmm_hcalloc(&m->hm, m->nr_cpus, sizeof(*hm->cpu));
	hm->fix_pte = vmm_hcalloc(&m->hm, nr_fixmap, sizeof(*hm->fix_pte));
	if (!hm->cpu || !hm->fix_pte)
		return -VMM_ENOMEM;
	/* the pkmap area is one PMD-aligned page table: its PTEs are consecutive */
	if (m->init_mm.layout.pkmap_base &&
	    !(hm->pkmap_pte = boot_pte(m, vmm_pkmap_addr(&m->init_mm, 0))))
		return -VMM_EFAULT;
	for (unsigned idx = VMM_FIX_KMAP_BEGIN; idx < nr_fixmap; idx++)
		if (!(hm->fix_pte[idx] = boot_pte(m, vmm_fix_to_virt(&m->init_mm, idx))))
			return -VMM_EFAULT;
	return 0;
}

void vmm_highmem_destroy(struct vmm_machine *m)
{
	struct vmm_highmem *hm = &m->highmem;

	vmm_hfree(&m->hm, hm->cpu, m->nr_cpus * sizeof(*hm->cpu));
	vmm_hfree(&m->hm, hm->fix_pte, m->init_mm.layout.nr_fixmap * sizeof(*hm->fix_pte));
	hm->cpu = NULL;
	hm->fix_pte = NULL;
}

/* Slot @nr: its count, its PTE and its place in the hash agree. */
static long check_pkmap_slot(struct vmm_machine *m, unsigned nr, FILE *out)
{
	const struct vmm_highmem *hm = &m->highmem;
	const int32_t count = hm->pkmap_count[nr];
	const uint64_t pte = hm->pkmap_pte[nr], pfn = hm->pam[nr].pfn;

	if (count < 0) {
		fprintf(out, "highmem: pkmap slot %u has count %d\n", nr, count);
		return 1;
	}
	if (!count) {
		if (!pte)
			return 0;
		fprintf(out, "highmem: free pkmap slot %u has PTE %#" PRIx64 "\n", nr, pte);
		return 1;
	}
	if (pte != kmap_pte_value(pfn) || !vmm_pfn_highmem(hm, pfn) ||
	    !vmm_sparse_pfn_valid(&m->sparse, pfn)) {
		fprintf(out, "highmem: pkmap slot %u (count %d) has PTE %#" PRIx64 " for pfn %#" PRIx64
			     ", want %#" PRIx64 " of a highmem frame\n",
			nr, count, pte, pfn, kmap_pte_value(pfn));
		return 1;
	}
	if (pa_lookup(hm, pfn) != (int)nr) {
		fprintf(out, "highmem: page_address of pfn %#" PRIx64 " is not pkmap slot %u\n", pfn,
			nr);
		return 1;
	}
	return 0;
}

/* Every chain holds only slots in use, each in its own bucket, each once. */
static long check_pa_hash(const struct vmm_highmem *hm, FILE *out)
{
	unsigned hashed = 0, in_use = 0;
	long problems = 0;

	for (unsigned b = 0; b < PA_HASH_SIZE; b++) {
		for (int nr = hm->htable[b]; nr != NO_SLOT; nr = hm->pam[nr].next) {
			if (nr < 0 || nr >= VMM_LAST_PKMAP || ++hashed > VMM_LAST_PKMAP) {
				fprintf(out, "highmem: page_address bucket %u is corrupt\n", b);
				return problems + 1;
			}
			if (!hm->pkmap_count[nr] || pa_bucket(hm->pam[nr].pfn) != b) {
				fprintf(out, "highmem: bucket %u holds pkmap slot %d (count %d, pfn %#"
					     PRIx64 ")\n",
					b, nr, hm->pkmap_count[nr], hm->pam[nr].pfn);
				problems++;
			}
		}
	}
	for (unsigned i = 0; i < VMM_LAST_PKMAP; i++)
		in_use += hm->pkmap_count[i] > 0;
	if (hashed != in_use) {
		fprintf(out, "highmem: %u page_address maps for %u pkmap slots in use\n", hashed,
			in_use);
		problems++;
	}
	return problems;
}

/* CPU @c's stack: slots in order, PTEs of the live ones set, the others clear. */
static long check_kmap_atomic(struct vmm_machine *m, unsigned c, FILE *out)
{
	const struct vmm_highmem *hm = &m->highmem;
	const struct vmm_kmap_ctrl *ctrl = &hm->cpu[c];
	unsigned idx = 0;
	long problems = 0;

	if (ctrl->depth > VMM_KM_STACK_MAX || ctrl->idx > VMM_KM_MAX_IDX) {
		fprintf(out, "highmem: cpu%u kmap_atomic depth %u idx %u\n", c, ctrl->depth,
			ctrl->idx);
		return 1;
	}
	for (unsigned i = 0; i < ctrl->depth; i++) {
		const struct vmm_kmap_atomic_entry *e = &ctrl->stack[i];
		bool ok;

		if (e->fix_idx == NO_SLOT) {
			ok = !vmm_pfn_highmem(hm, e->pfn) && e->vaddr == lowmem_address(m, e->pfn);
		} else {
			unsigned want = kmap_fix_idx(c, idx++);

			ok = e->fix_idx == (int32_t)want && vmm_pfn_highmem(hm, e->pfn) &&
			     e->vaddr == vmm_fix_to_virt(&m->init_mm, want) &&
			     hm->fix_pte[want][0] == kmap_pte_value(e->pfn);
		}
		if (!ok) {
			fprintf(out, "highmem: cpu%u kmap_atomic entry %u (va %#" PRIx64 ", pfn %#"
				     PRIx64 ", fixmap slot %d) does not match its slot or PTE\n",
				c, i, e->vaddr, e->pfn, e->fix_idx);
			problems++;
		}
	}
	if (idx != ctrl->idx) {
		fprintf(out, "highmem: cpu%u has %u highmem kmap_atomic entries, idx %u\n", c, idx,
			ctrl->idx);
		problems++;
	}
	for (unsigned j = ctrl->idx; j < VMM_KM_MAX_IDX; j++) {
		if (hm->fix_pte[kmap_fix_idx(c, j)][0]) {
			fprintf(out, "highmem: cpu%u unused fixmap slot %u has PTE %#" PRIx64 "\n", c,
				kmap_fix_idx(c, j), hm->fix_pte[kmap_fix_idx(c, j)][0]);
			problems++;
		}
	}
	return problems;
}

long vmm_highmem_check(struct vmm_machine *m, FILE *out)
{
	const struct vmm_highmem *hm = &m->highmem;
	long problems = 0;

	if (!hm->cpu)
		return 0;
	for (unsigned c = 0; c < m->nr_cpus; c++)
		problems += check_kmap_atomic(m, c, out);
	if (!hm->pkmap_pte) {
		if (hm->htable[0] != NO_SLOT || hm->last_pkmap_nr) {
			fprintf(out, "highmem: pkmap state without high memory\n");
			problems++;
		}
		return problems;
	}
	for (unsigned nr = 0; nr < VMM_LAST_PKMAP; nr++)
		problems += check_pkmap_slot(m, nr, out);
	return problems + check_pa_hash(hm, out);
}

void vmm_highmem_digest(const struct vmm_machine *m, struct XXH3_state_s *st)
{
	const struct vmm_highmem *hm = &m->highmem;

	XXH3_64bits_update(st, hm->pkmap_count, sizeof(hm->pkmap_count));
	XXH3_64bits_update(st, &hm->last_pkmap_nr, sizeof(hm->last_pkmap_nr));
	XXH3_64bits_update(st, hm->pam, sizeof(hm->pam));
	XXH3_64bits_update(st, hm->htable, sizeof(hm->htable));
	XXH3_64bits_update(st, &hm->stats, sizeof(hm->stats));
	if (hm->cpu)
		XXH3_64bits_update(st, hm->cpu, m->nr_cpus * sizeof(*hm->cpu));
}
