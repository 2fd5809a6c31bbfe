/* SPDX-License-Identifier: MIT */
#include "mm/memblock.h"

#include <inttypes.h>
#include <string.h>

#include <vmm/errors.h>

#include "lib/compiler.h"
#include "lib/hostmem.h"
#include "machine.h"
#include "mm/buddy.h"
#include "mm/sparse.h"
#include "mm/zone.h"

/* Linux starts with 128 regions per type and doubles on demand. */
#define MEMBLOCK_INIT_REGIONS 128

static vmm_paddr_t region_end(const struct vmm_memblock_region *r)
{
	return r->base + r->size;
}

static int type_init(struct vmm_memblock_type *t, const char *name, struct vmm_hostmem *hm)
{
	t->cnt = 0;
	t->max = MEMBLOCK_INIT_REGIONS;
	t->name = name;
	t->regions = vmm_hcalloc(hm, t->max, sizeof(*t->regions));
	return t->regions ? 0 : -VMM_ENOMEM;
}

int vmm_memblock_init(struct vmm_memblock *mb, struct vmm_hostmem *hm)
{
	memset(mb, 0, sizeof(*mb));
	mb->hm = hm;
	mb->current_limit = VMM_MEMBLOCK_ALLOC_ANYWHERE;
	if (type_init(&mb->memory, "memory", hm) || type_init(&mb->reserved, "reserved", hm)) {
		vmm_memblock_destroy(mb);
		return -VMM_ENOMEM;
	}
	return 0;
}

void vmm_memblock_destroy(struct vmm_memblock *mb)
{
	vmm_hfree(mb->hm, mb->memory.regions, mb->memory.max * sizeof(*mb->memory.regions));
	vmm_hfree(mb->hm, mb->reserved.regions, mb->reserved.max * sizeof(*mb->reserved.regions));
	mb->memory.regions = mb->reserved.regions = NULL;
}

/*
 * Make room for @extra more regions before anything changes, so that a host
 * allocation failure leaves the lists exactly as they were.
 */
static int type_reserve_slots(struct vmm_memblock *mb, struct vmm_memblock_type *t,
			      unsigned extra)
{
	unsigned new_max = t->max;
	void *p;

	while (t->cnt + extra > new_max)
		new_max *= 2;
	if (new_max == t->max)
		return 0;
	p = vmm_hrealloc(mb->hm, t->regions, t->max * sizeof(*t->regions),
			 new_max * sizeof(*t->regions));
	if (!p)
		return -VMM_ENOMEM;
	t->regions = p;
	t->max = new_max;
	return 0;
}

static void type_insert(struct vmm_memblock_type *t, unsigned idx, vmm_paddr_t base,
			vmm_paddr_t size, uint32_t nid, uint32_t flags)
{
	memmove(&t->regions[idx + 1], &t->regions[idx], (t->cnt - idx) * sizeof(*t->regions));
	t->regions[idx] = (struct vmm_memblock_region){ base, size, nid, flags };
	t->cnt++;
}

static void type_delete(struct vmm_memblock_type *t, unsigned idx)
{
	memmove(&t->regions[idx], &t->regions[idx + 1], (t->cnt - idx - 1) * sizeof(*t->regions));
	t->cnt--;
}

/* Join neighbours that touch and agree on node and flags. */
static void type_merge(struct vmm_memblock_type *t)
{
	unsigned i = 0;

	while (i + 1 < t->cnt) {
		struct vmm_memblock_region *a = &t->regions[i], *b = &t->regions[i + 1];

		if (region_end(a) == b->base && a->nid == b->nid && a->flags == b->flags) {
			a->size += b->size;
			type_delete(t, i + 1);
		} else {
			i++;
		}
	}
}

/*
 * Add [base, end): insert the parts no region covers yet, then merge. Parts
 * already present keep their node, as Linux's memblock_add_range does.
 */
static int type_add(struct vmm_memblock *mb, struct vmm_memblock_type *t, vmm_paddr_t base,
		    vmm_paddr_t size, uint32_t nid)
{
	vmm_paddr_t end = base + size, pos = base;
	unsigned overlaps = 0;
	int err;

	if (!size)
		return 0;
	if (end < base)
		return -VMM_EINVAL;
	for (unsigned i = 0; i < t->cnt; i++)
		if (t->regions[i].base < end && region_end(&t->regions[i]) > base)
			overlaps++;
	err = type_reserve_slots(mb, t, overlaps + 1);
	if (err)
		return err;
	for (unsigned i = 0; pos < end;) {
		while (i < t->cnt && region_end(&t->regions[i]) <= pos)
			i++;
		if (i == t->cnt || t->regions[i].base >= end) {
			type_insert(t, i, pos, end - pos, nid, 0);
			break;
		}
		if (t->regions[i].base > pos) {
			type_insert(t, i, pos, t->regions[i].base - pos, nid, 0);
			i++;
		}
		pos = region_end(&t->regions[i]);
		i++;
	}
	type_merge(t);
	return 0;
}

static int type_remove(struct vmm_memblock *mb, struct vmm_memblock_type *t, vmm_paddr_t base,
		       vmm_paddr_t size)
{
	vmm_paddr_t end = base + size;
	int err;

	if (!size)
		return 0;
	err = type_reserve_slots(mb, t, 2);
	if (err)
		return err;
	for (unsigned i = 0; i < t->cnt; i++) {
		struct vmm_memblock_region *r = &t->regions[i];

		if (r->base < base && region_end(r) > base) {
			/* split at base */
			type_insert(t, i + 1, base, region_end(r) - base, r->nid, r->flags);
			t->regions[i].size = base - t->regions[i].base;
		} else if (r->base < end && region_end(r) > end) {
			type_insert(t, i + 1, end, region_end(r) - end, r->nid, r->flags);
			t->regions[i].size = end - t->regions[i].base;
		}
	}
	for (unsigned i = 0; i < t->cnt;) {
		if (t->regions[i].base >= base && region_end(&t->regions[i]) <= end)
			type_delete(t, i);
		else
			i++;
	}
	return 0;
}

int vmm_memblock_add_node(struct vmm_memblock *mb, vmm_paddr_t base, vmm_paddr_t size,
			  unsigned nid)
{
	return type_add(mb, &mb->memory, base, size, nid);
}

int vmm_memblock_reserve(struct vmm_memblock *mb, vmm_paddr_t base, vmm_paddr_t size)
{
	return type_add(mb, &mb->reserved, base, size, VMM_MEMBLOCK_ANY_NODE);
}

int vmm_memblock_phys_free(struct vmm_memblock *mb, vmm_paddr_t base, vmm_paddr_t size)
{
	return type_remove(mb, &mb->reserved, base, size);
}

/*
 * The free ranges are the memory regions with the reserved ones cut out.
 * The iterator packs (memory index, reserved index) into one number: for
 * memory region a, the gaps of the reserved list are visited in order; b
 * counts gaps from 0 (the gap before reserved region 0) to reserved.cnt.
 */
bool vmm_memblock_next_free(const struct vmm_memblock *mb, unsigned nid, uint64_t *idx,
			    vmm_paddr_t *start, vmm_paddr_t *end, unsigned *out_nid)
{
	const struct vmm_memblock_type *mem = &mb->memory, *res = &mb->reserved;
	uint64_t a = *idx >> 32, b = *idx & 0xffffffffu;

	for (; a < mem->cnt; a++, b = 0) {
		const struct vmm_memblock_region *m = &mem->regions[a];

		if (nid != VMM_MEMBLOCK_ANY_NODE && m->nid != nid)
			continue;
		for (; b <= res->cnt; b++) {
			vmm_paddr_t gap_start = b ? region_end(&res->regions[b - 1]) : 0;
			vmm_paddr_t gap_end = b < res->cnt ? res->regions[b].base : ~(vmm_paddr_t)0;
			vmm_paddr_t s = VMM_MAX(gap_start, m->base);
			vmm_paddr_t e = VMM_MIN(gap_end, region_end(m));

			if (gap_start >= region_end(m))
				break;
			if (s < e) {
				*start = s;
				*end = e;
				if (out_nid)
					*out_nid = m->nid;
				*idx = (a << 32) | (b + 1);
				return true;
			}
		}
	}
	*idx = (uint64_t)mem->cnt << 32;
	return false;
}

/*
 * Find a free range for the request. Top-down keeps the highest fit, as
 * Linux does, so that boot allocations stay away from DMA memory.
 */
static vmm_paddr_t memblock_find(const struct vmm_memblock *mb, vmm_paddr_t size,
				 vmm_paddr_t align, vmm_paddr_t start, vmm_paddr_t end,
				 unsigned nid)
{
	vmm_paddr_t best = 0, s, e;
	uint64_t idx = 0;

	/* address 0 is never handed out, so that 0 can mean failure */
	start = VMM_MAX(start, VMM_PAGE_SIZE);
	while (vmm_memblock_next_free(mb, nid, &idx, &s, &e, NULL)) {
		s = VMM_MAX(s, start);
		e = VMM_MIN(e, end);
		if (s >= e || e - s < size)
			continue;
		if (mb->bottom_up) {
			vmm_paddr_t cand = ALIGN_UP(s, align);

			if (cand >= s && cand + size <= e)
				return cand;
		} else {
			vmm_paddr_t cand = ALIGN_DOWN(e - size, align);

			if (cand >= s && cand > best)
				best = cand;
		}
	}
	return best;
}

vmm_paddr_t vmm_memblock_alloc_range_nid(struct vmm_memblock *mb, vmm_paddr_t size,
					 vmm_paddr_t align, vmm_paddr_t start, vmm_paddr_t end,
					 unsigned nid, bool exact_nid, int *err)
{
	vmm_paddr_t found;
	int ret;

	*err = 0;
	if (!align)
		align = VMM_SMP_CACHE_BYTES;
	end = VMM_MIN(end, mb->current_limit);
	found = memblock_find(mb, size, align, start, end, nid);
	if (!found && nid != VMM_MEMBLOCK_ANY_NODE && !exact_nid)
		found = memblock_find(mb, size, align, start, end, VMM_MEMBLOCK_ANY_NODE);
	if (!found) {
		*err = -VMM_ENOMEM;
		return 0;
	}
	ret = type_add(mb, &mb->reserved, found, size, nid);
	if (ret) {
		*err = ret;
		return 0;
	}
	return found;
}

vmm_paddr_t vmm_memblock_alloc_try_nid(struct vmm_memblock *mb, vmm_paddr_t size,
				       vmm_paddr_t align, unsigned nid, int *err)
{
	return vmm_memblock_alloc_range_nid(mb, size, align, 0, VMM_MEMBLOCK_ALLOC_ANYWHERE, nid,
					    false, err);
}

static bool type_covers(const struct vmm_memblock_type *t, vmm_paddr_t base, vmm_paddr_t size)
{
	for (unsigned i = 0; i < t->cnt; i++) {
		const struct vmm_memblock_region *r = &t->regions[i];

		if (r->base <= base && region_end(r) >= base + size)
			return true;
	}
	return false;
}

bool vmm_memblock_is_memory(const struct vmm_memblock *mb, vmm_paddr_t base, vmm_paddr_t size)
{
	/* adjacent memory regions of different nodes count together */
	vmm_paddr_t pos = base, end = base + size;

	for (unsigned i = 0; i < mb->memory.cnt && pos < end; i++) {
		const struct vmm_memblock_region *r = &mb->memory.regions[i];

		if (r->base <= pos && region_end(r) > pos)
			pos = region_end(r);
	}
	return pos >= end || type_covers(&mb->memory, base, size);
}

bool vmm_memblock_is_reserved(const struct vmm_memblock *mb, vmm_paddr_t addr)
{
	return type_covers(&mb->reserved, addr, 1);
}

static vmm_paddr_t type_total(const struct vmm_memblock_type *t)
{
	vmm_paddr_t total = 0;

	for (unsigned i = 0; i < t->cnt; i++)
		total += t->regions[i].size;
	return total;
}

vmm_paddr_t vmm_memblock_phys_mem_size(const struct vmm_memblock *mb)
{
	return type_total(&mb->memory);
}

vmm_paddr_t vmm_memblock_reserved_size(const struct vmm_memblock *mb)
{
	return type_total(&mb->reserved);
}

/*
 * Linux counts a memory region's pages as PFN_UP(base)..PFN_DOWN(end), so a
 * partial page at either edge is absent.
 */
uint64_t vmm_memblock_absent_pages(const struct vmm_memblock *mb, uint64_t start_pfn,
				   uint64_t end_pfn)
{
	uint64_t present = 0;

	for (unsigned i = 0; i < mb->memory.cnt; i++) {
		const struct vmm_memblock_region *r = &mb->memory.regions[i];
		uint64_t s = DIV_ROUND_UP(r->base, VMM_PAGE_SIZE);
		uint64_t e = region_end(r) >> VMM_PAGE_SHIFT;

		s = VMM_MAX(s, start_pfn);
		e = VMM_MIN(e, end_pfn);
		if (s < e)
			present += e - s;
	}
	return (end_pfn - start_pfn) - present;
}

void vmm_memblock_pfn_range_for_nid(const struct vmm_memblock *mb, unsigned nid,
				    uint64_t *start_pfn, uint64_t *end_pfn)
{
	uint64_t s = UINT64_MAX, e = 0;

	for (unsigned i = 0; i < mb->memory.cnt; i++) {
		const struct vmm_memblock_region *r = &mb->memory.regions[i];
		uint64_t rs = DIV_ROUND_UP(r->base, VMM_PAGE_SIZE);
		uint64_t re = region_end(r) >> VMM_PAGE_SHIFT;

		if (r->nid != nid || rs >= re)
			continue;
		s = VMM_MIN(s, rs);
		e = VMM_MAX(e, re);
	}
	*start_pfn = s == UINT64_MAX ? 0 : s;
	*end_pfn = e;
}

static int type_dump(const struct vmm_memblock_type *t, FILE *out)
{
	fprintf(out, "%s:\n", t->name);
	for (unsigned i = 0; i < t->cnt; i++) {
		const struct vmm_memblock_region *r = &t->regions[i];
		char nid[8];

		if (r->nid == VMM_MEMBLOCK_ANY_NODE)
			snprintf(nid, sizeof(nid), "%s", "x");
		else
			snprintf(nid, sizeof(nid), "%u", r->nid);
		fprintf(out, "%4u: 0x%016" PRIx64 "..0x%016" PRIx64 " %4s NONE\n", i, r->base,
			region_end(r) - 1, nid);
	}
	return 0;
}

int vmm_memblock_dump(const struct vmm_memblock *mb, FILE *out)
{
	type_dump(&mb->memory, out);
	type_dump(&mb->reserved, out);
	return ferror(out) ? -VMM_EIO : 0;
}

static long type_check(const struct vmm_memblock_type *t, FILE *out)
{
	long problems = 0;

	for (unsigned i = 0; i < t->cnt; i++) {
		const struct vmm_memblock_region *r = &t->regions[i];

		if (!r->size || region_end(r) < r->base) {
			fprintf(out, "memblock.%s[%u]: empty or wrapping region\n", t->name, i);
			problems++;
		}
		if (i && t->regions[i - 1].base + t->regions[i - 1].size > r->base) {
			fprintf(out, "memblock.%s[%u]: overlaps or precedes region %u\n", t->name, i,
				i - 1);
			problems++;
		}
	}
	return problems;
}

long vmm_memblock_check(const struct vmm_memblock *mb, FILE *out)
{
	return type_check(&mb->memory, out) + type_check(&mb->reserved, out);
}

/*
 * Mark the descriptors of pages nobody may allocate: reserved memory
 * (reserve_bootmem_region) and the holes inside present sections
 * (init_unavailable_range). Only these descriptors are written; free
 * memory's stay untouched until the allocator hands them out.
 */
static void memmap_mark_reserved(struct vmm_machine *m, uint64_t start_pfn, uint64_t end_pfn)
{
	end_pfn = VMM_MIN(end_pfn, m->sparse.max_pfn);
	for (uint64_t pfn = start_pfn; pfn < end_pfn; pfn++) {
		if (!vmm_sparse_pfn_valid(&m->sparse, pfn)) {
			/* a section without RAM has no descriptors: skip it whole */
			pfn = ALIGN_UP(pfn + 1, PAGES_PER_SECTION) - 1;
			continue;
		}
		set_page_flag(pfn_to_page(&m->sparse, pfn), VMM_PG_reserved);
	}
}

static void memmap_init_reserved_pages(struct vmm_machine *m)
{
	const struct vmm_memblock_type *res = &m->memblock.reserved;
	const struct vmm_memblock_type *mem = &m->memblock.memory;
	uint64_t prev_end = 0;

	for (unsigned i = 0; i < res->cnt; i++)
		memmap_mark_reserved(m, res->regions[i].base >> VMM_PAGE_SHIFT,
				     DIV_ROUND_UP(res->regions[i].base + res->regions[i].size,
						  VMM_PAGE_SIZE));
	for (unsigned i = 0; i <= mem->cnt; i++) {
		uint64_t start = i < mem->cnt ? mem->regions[i].base >> VMM_PAGE_SHIFT
					      : m->sparse.max_pfn;

		memmap_mark_reserved(m, prev_end, start);
		if (i < mem->cnt)
			prev_end = DIV_ROUND_UP(mem->regions[i].base + mem->regions[i].size,
						VMM_PAGE_SIZE);
	}
}

/*
 * __free_pages_memory(): free [start, end) in the largest blocks its
 * alignment allows, each at most MAX_PAGE_ORDER, to the tail of the lists.
 */
static uint64_t free_pages_memory(struct vmm_machine *m, uint64_t start, uint64_t end)
{
	uint64_t freed = 0;

	while (start < end) {
		unsigned order = start ? VMM_MIN(MAX_PAGE_ORDER, vmm_ffs64(start)) : MAX_PAGE_ORDER;
		struct vmm_zone *zone;

		while (start + (1ull << order) > end)
			order--;
		zone = vmm_pfn_zone(m, start);
		zone->managed_pages += 1ull << order;
		vmm_free_one_page(m, zone, start, order, vmm_get_pfnblock_migratetype(m, start),
				  FPI_TO_TAIL);
		freed += 1ull << order;
		start += 1ull << order;
	}
	return freed;
}

uint64_t vmm_memblock_free_all(struct vmm_machine *m)
{
	vmm_paddr_t start, end;
	uint64_t idx = 0, freed = 0;

	memmap_init_reserved_pages(m);
	while (vmm_memblock_next_free(&m->memblock, VMM_MEMBLOCK_ANY_NODE, &idx, &start, &end, NULL))
		freed += free_pages_memory(m, DIV_ROUND_UP(start, VMM_PAGE_SIZE),
					   end >> VMM_PAGE_SHIFT);
	return freed;
}
