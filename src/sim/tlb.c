/* SPDX-License-Identifier: MIT */
/*
 * TLB and paging-structure-cache arrays: geometry, replacement, fills and
 * invalidations. The MMU (mmu.c) decides what to look up and what to fill;
 * this file only keeps the arrays.
 *
 * Replacement. LRU keeps a per-array tick and stamps an entry on every use;
 * the victim is the smallest stamp. Tree-PLRU keeps ways - 1 bits per set
 * in heap order (node 1 is the root, node n's children are 2n and 2n+1); a
 * bit says which half the next victim comes from, and a use turns every
 * bit on the way's path to point away from it. Random draws the victim way
 * from the machine's PRNG, so runs stay reproducible. All three fill an
 * empty way first.
 */
#include "sim/tlb.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <vmm/errors.h>

#include "lib/hostmem.h"
#include "lib/prng.h"

static int tlb_array_init(struct vmm_tlb_array *a, const struct vmm_tlb_geometry *g,
			  uint32_t policy, const char *name, struct vmm_hostmem *hm)
{
	size_t n;

	memset(a, 0, sizeof(*a));
	a->name = name;
	a->policy = policy;
	if (g->entries) {
		a->ways = g->ways;
		a->sets = g->entries / g->ways;
		a->set_mask = a->sets - 1;
	}
	/* an empty array keeps one dummy entry so that lookups need no NULL test */
	n = g->entries ? g->entries : 1;
	a->e = vmm_hcalloc(hm, n, sizeof(*a->e));
	if (!a->e)
		return -VMM_ENOMEM;
	for (size_t i = 0; i < n; i++)
		a->e[i].tag = TLB_TAG_INVALID;
	if (policy == VMM_TLB_PLRU && g->entries) {
		a->plru = vmm_hcalloc(hm, a->sets, sizeof(*a->plru));
		if (!a->plru)
			return -VMM_ENOMEM;
	}
	return 0;
}

static void tlb_array_destroy(struct vmm_tlb_array *a, struct vmm_hostmem *hm)
{
	size_t n = a->sets ? (size_t)a->sets * a->ways : 1;

	if (a->e)
		vmm_hfree(hm, a->e, n * sizeof(*a->e));
	if (a->plru)
		vmm_hfree(hm, a->plru, a->sets * sizeof(*a->plru));
	a->e = NULL;
	a->plru = NULL;
}

#define TLB_ARRAYS(t)                                                                          \
	{ &(t)->itlb[0], &(t)->itlb[1], &(t)->itlb[2], &(t)->dtlb[0], &(t)->dtlb[1],            \
	  &(t)->dtlb[2], &(t)->stlb,	&(t)->stlb_1g }
#define NR_TLB_ARRAYS 8

int vmm_tlb_init(struct vmm_tlb *t, const struct vmm_config *cfg, struct vmm_prng *prng,
		 struct vmm_hostmem *hm)
{
	static const char *const names[] = { "itlb_4k", "itlb_2m", "itlb_1g", "dtlb_4k",
					     "dtlb_2m", "dtlb_1g" };
	static const char *const pwc_names[PWC_NR] = { "pwc_pde", "pwc_pdpte", "pwc_pml4e",
						       "pwc_pml5e" };
	uint32_t pol = cfg->tlb_replacement;
	int err = 0;

	memset(t, 0, sizeof(*t));
	vmm_tlb_forget_last(t);
	t->prng = prng;
	for (unsigned i = 0; i < 3 && !err; i++)
		err = tlb_array_init(&t->itlb[i], &cfg->itlb[i], pol, names[i], hm);
	for (unsigned i = 0; i < 3 && !err; i++)
		err = tlb_array_init(&t->dtlb[i], &cfg->dtlb[i], pol, names[3 + i], hm);
	if (!err)
		err = tlb_array_init(&t->stlb, &cfg->stlb, pol, "stlb_4k_2m", hm);
	if (!err)
		err = tlb_array_init(&t->stlb_1g, &cfg->stlb_1g, pol, "stlb_1g", hm);
	for (unsigned i = 0; i < PWC_NR && !err; i++)
		err = tlb_array_init(&t->pwc[i], &cfg->pwc[i], pol, pwc_names[i], hm);
	if (!err) {
		t->pcid_count = vmm_hcalloc(hm, TLB_NR_PCIDS, sizeof(*t->pcid_count));
		if (!t->pcid_count)
			err = -VMM_ENOMEM;
	}
	return err;
}

void vmm_tlb_destroy(struct vmm_tlb *t, struct vmm_hostmem *hm)
{
	struct vmm_tlb_array *arrays[] = TLB_ARRAYS(t);

	for (unsigned i = 0; i < NR_TLB_ARRAYS; i++)
		tlb_array_destroy(arrays[i], hm);
	for (unsigned i = 0; i < PWC_NR; i++)
		tlb_array_destroy(&t->pwc[i], hm);
	if (t->pcid_count)
		vmm_hfree(hm, t->pcid_count, TLB_NR_PCIDS * sizeof(*t->pcid_count));
	t->pcid_count = NULL;
}

/* Tree-PLRU: make every node on @way's path point to the other half. */
void vmm_tlb_touch_slow(struct vmm_tlb_array *a, struct vmm_tlb_entry *e)
{
	size_t idx = (size_t)(e - a->e);
	uint32_t set = (uint32_t)(idx / a->ways), way = (uint32_t)(idx % a->ways);
	uint64_t bits = a->plru[set];
	unsigned node = 1;

	for (uint32_t half = a->ways >> 1; half; half >>= 1) {
		bool right = way & half;

		/* bit set = the victim is in the right half; point away from the used way */
		if (right)
			bits &= ~(1ull << node);
		else
			bits |= 1ull << node;
		node = 2 * node + right;
	}
	a->plru[set] = bits;
}

static uint32_t plru_victim(const struct vmm_tlb_array *a, uint32_t set)
{
	uint64_t bits = a->plru[set];
	unsigned node = 1;
	uint32_t way = 0;

	for (uint32_t half = a->ways >> 1; half; half >>= 1) {
		bool right = (bits >> node) & 1;

		if (right)
			way |= half;
		node = 2 * node + right;
	}
	return way;
}

void vmm_tlb_kill(struct vmm_tlb *t, struct vmm_tlb_array *a, struct vmm_tlb_entry *e)
{
	if (e->tag == TLB_TAG_INVALID)
		return;
	vmm_tlb_forget_last(t);
	a->nvalid--;
	a->nvalid_sz[e->tag & 3]--;
	t->pcid_count[e->pcid]--;
	if (e->global)
		t->global_count--;
	e->tag = TLB_TAG_INVALID;
}

/*
 * The way a fill takes in @set: the entry for the same page usable under
 * the PCID, else the first empty way; NULL when there is neither, with
 * *oldest set to the first way of the smallest LRU stamp (found in the
 * same pass). A fresh fill has no entry for the page to look for.
 */
static struct vmm_tlb_entry *fill_way(const struct vmm_tlb_array *a, struct vmm_tlb_entry *set,
				      const struct tlb_fill *f, uint64_t tag,
				      struct vmm_tlb_entry **oldest)
{
	struct vmm_tlb_entry *empty = NULL;
	uint64_t oldest_stamp = UINT64_MAX;

	*oldest = set;
	if (f->fresh) {
		for (uint32_t w = 0; w < a->ways; w++) {
			if (set[w].tag == TLB_TAG_INVALID)
				return &set[w];
			if (set[w].stamp < oldest_stamp) {
				oldest_stamp = set[w].stamp;
				*oldest = &set[w];
			}
		}
		return NULL;
	}
	for (uint32_t w = 0; w < a->ways; w++) {
		struct vmm_tlb_entry *x = &set[w];

		if (x->tag == TLB_TAG_INVALID) {
			if (!empty)
				empty = x;
		} else if (x->tag == tag && (x->pcid == f->pcid || x->global)) {
			return x;
		} else if (x->stamp < oldest_stamp) {
			oldest_stamp = x->stamp;
			*oldest = x;
		}
	}
	return empty;
}

/* Put @f into @e, which held nothing or what it replaces. */
static inline void install(struct vmm_tlb *t, struct vmm_tlb_array *a,
			   struct vmm_tlb_entry *e, uint64_t tag, const struct tlb_fill *f)
{
	if (e->tag != TLB_TAG_INVALID) {	/* vmm_tlb_kill(), the last hits already forgotten */
		a->nvalid_sz[e->tag & 3]--;
		t->pcid_count[e->pcid]--;
		if (e->global)
			t->global_count--;
	} else {
		a->nvalid++;
	}
	a->nvalid_sz[tag & 3]++;
	e->tag = tag;
	e->pa = f->pa;
	e->pcid = f->pcid;
	e->attr = f->attr;
	e->global = f->global;
	e->shift = (uint8_t)f->shift;
	e->leaf_pa = f->leaf_pa;
	e->path_hash = f->path_hash;
	t->pcid_count[f->pcid]++;
	if (f->global)
		t->global_count++;
	tlb_touch(a, e);
}

/* The policy's victim in @set when it has no empty way; @oldest is the LRU one. */
static inline struct vmm_tlb_entry *victim(struct vmm_tlb *t, struct vmm_tlb_array *a,
				    struct vmm_tlb_entry *set, struct vmm_tlb_entry *oldest)
{
	if (a->policy == VMM_TLB_PLRU)
		return &set[plru_victim(a, (uint32_t)((size_t)(set - a->e) / a->ways))];
	if (a->policy == VMM_TLB_RANDOM)
		return &set[vmm_prng_below(t->prng, a->ways)];
	return oldest;
}

/* Fill: the way fill_way() finds, else the policy's victim. */
void vmm_tlb_fill(struct vmm_tlb *t, struct vmm_tlb_array *a, const struct tlb_fill *f)
{
	uint64_t tag = tlb_tag(f->va, f->shift, f->szidx);
	struct vmm_tlb_entry *set, *e, *oldest;

	if (!a->ways)
		return;
	vmm_tlb_forget_last(t);	/* the new entry may answer for a remembered page */
	set = tlb_set(a, f->va, f->shift);
	e = fill_way(a, set, f, tag, &oldest);
	if (!e)
		e = victim(t, a, set, oldest);
	install(t, a, e, tag, f);
}

void vmm_tlb_fill_probed(struct vmm_tlb *t, struct vmm_tlb_array *a, const struct tlb_probe *p,
			 const struct tlb_fill *f)
{
	struct vmm_tlb_entry *e = p->way;

	if (!a->ways)
		return;
	vmm_tlb_forget_last(t);
	if (e->tag != TLB_TAG_INVALID)
		e = victim(t, a, p->set, e);
	install(t, a, e, tlb_tag(f->va, f->shift, f->szidx), f);
}

static bool entry_matches(const struct vmm_tlb_entry *e, uint16_t pcid, bool all_pcids,
			  enum tlb_globals g)
{
	if (e->tag == TLB_TAG_INVALID)
		return false;
	if (e->global)
		return g == TLB_GLOBAL_TOO;
	return all_pcids || e->pcid == pcid;
}

/* Drop the entries of @a for the page of size 2^@shift holding @va. */
static unsigned flush_va_in(struct vmm_tlb *t, struct vmm_tlb_array *a, uint64_t va,
			    unsigned shift, unsigned szidx, uint16_t pcid, bool all_pcids,
			    enum tlb_globals g)
{
	uint64_t tag = tlb_tag(va, shift, szidx);
	struct vmm_tlb_entry *e = tlb_set(a, va, shift);
	unsigned n = 0;

	for (uint32_t w = 0; w < a->ways; w++, e++)
		if (e->tag == tag && entry_matches(e, pcid, all_pcids, g)) {
			vmm_tlb_kill(t, a, e);
			n++;
		}
	return n;
}

unsigned vmm_tlb_flush_va(struct vmm_tlb *t, uint64_t va, uint16_t pcid, bool all_pcids,
			  enum tlb_globals g)
{
	static const unsigned shifts[3] = { 12, 21, 30 };
	unsigned n = 0;

	for (unsigned s = 0; s < 3; s++) {
		n += flush_va_in(t, &t->itlb[s], va, shifts[s], s, pcid, all_pcids, g);
		n += flush_va_in(t, &t->dtlb[s], va, shifts[s], s, pcid, all_pcids, g);
	}
	n += flush_va_in(t, &t->stlb, va, 12, 0, pcid, all_pcids, g);
	n += flush_va_in(t, &t->stlb, va, 21, 1, pcid, all_pcids, g);
	n += flush_va_in(t, &t->stlb_1g, va, 30, 2, pcid, all_pcids, g);
	return n;
}

unsigned vmm_tlb_flush_range(struct vmm_tlb *t, uint64_t start, uint64_t end, uint16_t pcid,
			     bool all_pcids, enum tlb_globals g)
{
	struct vmm_tlb_array *arrays[] = TLB_ARRAYS(t);
	unsigned n = 0;

	for (unsigned i = 0; i < NR_TLB_ARRAYS; i++) {
		struct vmm_tlb_array *a = arrays[i];

		for (uint32_t k = 0; a->nvalid && k < a->sets * a->ways; k++) {
			struct vmm_tlb_entry *e = &a->e[k];
			uint64_t base = e->tag & ~3ull, last = base + ((1ull << e->shift) - 1);

			if (!entry_matches(e, pcid, all_pcids, g))
				continue;
			if (end && (last < start || base >= end))
				continue;
			vmm_tlb_kill(t, a, e);
			n++;
		}
	}
	return n;
}

unsigned vmm_pwc_flush(struct vmm_tlb *t, uint16_t pcid, bool all_pcids)
{
	unsigned n = 0;

	for (unsigned l = 0; l < PWC_NR; l++) {
		struct vmm_tlb_array *a = &t->pwc[l];

		for (uint32_t k = 0; a->nvalid && k < a->sets * a->ways; k++)
			if (entry_matches(&a->e[k], pcid, all_pcids, TLB_KEEP_GLOBAL)) {
				vmm_tlb_kill(t, a, &a->e[k]);
				n++;
			}
	}
	return n;
}

unsigned vmm_pwc_flush_va(struct vmm_tlb *t, uint64_t va, uint16_t pcid)
{
	unsigned n = 0;

	for (unsigned l = 0; l < PWC_NR; l++) {
		unsigned shift = 12 + 9 * (l + 1);

		n += flush_va_in(t, &t->pwc[l], va, shift, 0, pcid, false, TLB_KEEP_GLOBAL);
	}
	return n;
}

void vmm_tlb_for_each(struct vmm_tlb *t, tlb_visit_fn fn, void *data)
{
	struct vmm_tlb_array *arrays[] = TLB_ARRAYS(t);

	for (unsigned i = 0; i < NR_TLB_ARRAYS; i++)
		for (uint32_t k = 0; k < arrays[i]->sets * arrays[i]->ways; k++)
			if (arrays[i]->e[k].tag != TLB_TAG_INVALID)
				fn(data, arrays[i], &arrays[i]->e[k], 0);
	for (unsigned l = 0; l < PWC_NR; l++)
		for (uint32_t k = 0; k < t->pwc[l].sets * t->pwc[l].ways; k++)
			if (t->pwc[l].e[k].tag != TLB_TAG_INVALID)
				fn(data, &t->pwc[l], &t->pwc[l].e[k], l + 2);
}

long vmm_tlb_array_check(const struct vmm_tlb_array *a, bool pwc, FILE *out)
{
	long problems = 0;
	uint32_t valid = 0, valid_sz[3] = { 0, 0, 0 };

	for (uint32_t k = 0; k < a->sets * a->ways; k++) {
		const struct vmm_tlb_entry *e = &a->e[k];
		uint64_t base = e->tag & ~3ull;
		uint32_t set = k / a->ways;

		if (e->tag == TLB_TAG_INVALID)
			continue;
		valid++;
		valid_sz[e->tag & 3]++;
		if (((base >> e->shift) & a->set_mask) != set ||
		    (!pwc && (e->tag & 3) != (uint64_t)(e->shift - 12) / 9) ||
		    (base & ((1ull << e->shift) - 1)) || (e->pa & 0xfff) ||
		    (!pwc && (e->pa & ((1ull << e->shift) - 1)))) {
			fprintf(out, "%s: entry %u (tag %#" PRIx64 ", shift %u, pa %#" PRIx64
				     ") is malformed or in the wrong set\n",
				a->name, k, e->tag, e->shift, e->pa);
			problems++;
		}
		for (uint32_t w = k % a->ways + 1; w < a->ways; w++) {
			const struct vmm_tlb_entry *o = &a->e[set * a->ways + w];

			if (o->tag == e->tag && o->pcid == e->pcid) {
				fprintf(out, "%s: set %u holds tag %#" PRIx64
					     " twice for pcid %u\n",
					a->name, set, e->tag, e->pcid);
				problems++;
			}
		}
	}
	if (valid != a->nvalid) {
		fprintf(out, "%s: counts %u valid entries, holds %u\n", a->name, a->nvalid, valid);
		problems++;
	}
	for (unsigned sz = 0; sz < 3; sz++)
		if (valid_sz[sz] != a->nvalid_sz[sz]) {
			fprintf(out, "%s: counts %u valid entries of size index %u, holds %u\n",
				a->name, a->nvalid_sz[sz], sz, valid_sz[sz]);
			problems++;
		}
	return problems;
}
