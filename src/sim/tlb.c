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

/* How an array of @ways ways under @policy runs; @listed: its uses are off the L1 hit path. */
static uint32_t array_policy(uint32_t policy, uint32_t ways, bool listed)
{
	if (policy == VMM_TLB_LRU && listed && ways >= 2 && ways <= TLB_LIST_MAX_WAYS)
		return TLB_POL_LRU_LIST;
	return policy;
}

/* Every set's recency list: the ways in order, then 0xf in the unused positions. */
static uint64_t initial_list(uint32_t ways)
{
	uint64_t list = ~0ull;

	for (uint32_t w = 0; w < ways; w++)
		list = (list & ~(0xfull << (4 * w))) | (uint64_t)w << (4 * w);
	return list;
}

static int tlb_array_init(struct vmm_tlb_array *a, const struct vmm_tlb_geometry *g,
			  uint32_t policy, bool listed, const char *name, struct vmm_hostmem *hm)
{
	size_t n;

	memset(a, 0, sizeof(*a));
	a->name = name;
	a->policy = array_policy(policy, g->entries ? g->ways : 0, listed);
	if (g->entries) {
		a->ways = g->ways;
		a->sets = g->entries / g->ways;
		a->set_mask = a->sets - 1;
	}
	a->fp_words = (a->ways + 7) / 8;
	/* an empty array keeps one dummy set of one way so that lookups need no NULL test */
	a->set_bytes = (uint32_t)(sizeof(struct tlb_set_hdr) +
				  VMM_MAX(a->ways, 1u) * sizeof(struct vmm_tlb_entry));
	a->all_ways = a->ways == 64 ? ~0ull : (1ull << a->ways) - 1;
	a->list_pad = a->ways >= TLB_LIST_MAX_WAYS ? 0 : ~0ull << (4 * a->ways);
	n = a->sets ? a->sets : 1;
	a->blocks = vmm_hcalloc(hm, n, a->set_bytes);
	if (!a->blocks)
		return -VMM_ENOMEM;
	for (uint32_t set = 0; set < n; set++) {
		struct vmm_tlb_entry *base = tlb_set_base(a, set);

		for (uint32_t w = 0; w < VMM_MAX(a->ways, 1u); w++)
			base[w].tag = TLB_TAG_INVALID;
		if (a->policy == TLB_POL_LRU_LIST)
			*tlb_set_list(base) = initial_list(a->ways);
	}
	if (policy == VMM_TLB_PLRU && g->entries) {
		a->plru = vmm_hcalloc(hm, a->sets, sizeof(*a->plru));
		if (!a->plru)
			return -VMM_ENOMEM;
	}
	return 0;
}

static void tlb_array_destroy(struct vmm_tlb_array *a, struct vmm_hostmem *hm)
{
	if (a->blocks)
		vmm_hfree(hm, a->blocks, (size_t)(a->sets ? a->sets : 1) * a->set_bytes);
	if (a->plru)
		vmm_hfree(hm, a->plru, a->sets * sizeof(*a->plru));
	a->blocks = NULL;
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
	vmm_tlb_forget_memo(t);
	t->prng = prng;
	for (unsigned i = 0; i < 3 && !err; i++)
		err = tlb_array_init(&t->itlb[i], &cfg->itlb[i], pol, false, names[i], hm);
	for (unsigned i = 0; i < 3 && !err; i++)
		err = tlb_array_init(&t->dtlb[i], &cfg->dtlb[i], pol, false, names[3 + i], hm);
	if (!err)
		err = tlb_array_init(&t->stlb, &cfg->stlb, pol, true, "stlb_4k_2m", hm);
	if (!err)
		err = tlb_array_init(&t->stlb_1g, &cfg->stlb_1g, pol, true, "stlb_1g", hm);
	for (unsigned i = 0; i < PWC_NR && !err; i++) {
		err = tlb_array_init(&t->pwc[i], &cfg->pwc[i], pol, true, pwc_names[i], hm);
		t->pwc_entries += cfg->pwc[i].entries;
	}
	if (!err) {
		for (unsigned i = 1; i < 3; i++) {
			t->dtlb[i].large_sides = 1;
			t->itlb[i].large_sides = 2;
		}
		t->stlb.large_sides = t->stlb_1g.large_sides = 3;
		t->pde_last = tlb_set_base(&t->pwc[PWC_PDE], 0);	/* empty, or a real way 0 */
		t->dtlb[0].memo = t->memo[0];
		t->itlb[0].memo = t->memo[1];
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

void vmm_tlb_forget_memo(struct vmm_tlb *t)
{
	memset(t->memo, 0xff, sizeof(t->memo));	/* page TLB_TAG_INVALID: empty */
}

/* The set and way of @e, an entry of @a. */
static void entry_pos(const struct vmm_tlb_array *a, const struct vmm_tlb_entry *e, uint32_t *set,
		      uint32_t *way)
{
	size_t off = (size_t)((const char *)e - a->blocks);

	*set = (uint32_t)(off / a->set_bytes);
	*way = (uint32_t)((off % a->set_bytes - sizeof(struct tlb_set_hdr)) / sizeof(*e));
}

/* Tree-PLRU: make every node on @way's path point to the other half. */
void vmm_tlb_touch_slow(struct vmm_tlb_array *a, uint32_t set, uint32_t way)
{
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

/* Empty way @way (entry @e; fingerprint words @fpw): the tag, the valid bit, the fingerprint. */
static inline __attribute__((always_inline)) void clear_way(struct vmm_tlb_entry *e, uint64_t *fpw,
							    uint32_t way)
{
	e->tag = TLB_TAG_INVALID;
	*tlb_set_valid(e - way) &= ~(1ull << way);
	tlb_set_fp(fpw, way, 0);
}

/*
 * Drop the valid entry in way @way of the set of @a whose first way is
 * @base (its fingerprint words @fpw), keeping the counts and the index
 * right.
 */
static inline __attribute__((always_inline)) void
kill_way(struct vmm_tlb *t, struct vmm_tlb_array *a, struct vmm_tlb_entry *base, uint64_t *fpw,
	 uint32_t way)
{
	struct vmm_tlb_entry *e = base + way;

	vmm_tlb_forget_last(t);
	if (a->memo)
		tlb_memo_slot(a->memo, e->tag)->page = TLB_TAG_INVALID;
	a->nvalid--;
	a->nvalid_sz[e->tag & 3]--;
	tlb_count_large(t, a, e->tag, -1);
	t->pcid_count[e->pcid]--;
	t->global_count -= e->global;
	clear_way(e, fpw, way);
}

void vmm_tlb_kill(struct vmm_tlb *t, struct vmm_tlb_array *a, struct vmm_tlb_entry *e)
{
	uint32_t set, way;

	if (e->tag == TLB_TAG_INVALID)
		return;
	entry_pos(a, e, &set, &way);
	kill_way(t, a, tlb_set_base(a, set), tlb_set_fpw(a, set), way);
}

void vmm_tlb_recount(struct vmm_tlb *t, struct vmm_tlb_array *a, const struct vmm_tlb_entry *e,
		     uint64_t tag, const struct tlb_fill *f)
{
	a->nvalid_sz[e->tag & 3]--;
	a->nvalid_sz[tag & 3]++;
	tlb_count_large(t, a, e->tag, -1);
	tlb_count_large(t, a, tag, 1);
	t->pcid_count[e->pcid]--;
	t->pcid_count[f->pcid]++;
	t->global_count += (uint64_t)f->global - e->global;
}

uint32_t vmm_tlb_victim_slow(struct vmm_tlb *t, const struct vmm_tlb_array *a, uint32_t set)
{
	if (a->policy == TLB_POL_PLRU)
		return plru_victim(a, set);
	if (a->policy == TLB_POL_RANDOM)
		return (uint32_t)vmm_prng_below(t->prng, a->ways);
	return tlb_lru_victim(a, set);
}

/*
 * Whether @a and @b, entries for one page, are twins: both global, or both
 * not and of one PCID. One array never holds twins (vmm_tlb_array_check());
 * a global and a non-global entry for one page may meet, after software
 * changed G without invalidating (see kill_twins()).
 */
static bool twins(const struct vmm_tlb_entry *a, const struct vmm_tlb_entry *b)
{
	return a->global ? b->global : !b->global && a->pcid == b->pcid;
}

/*
 * After a fill replaced the entry a lookup under its PCID found (a write
 * through a clean entry walks again), drop any other entry of the set that
 * is a twin of the new one @e. Twins can only meet this way: a fresh fill
 * follows a lookup that found nothing usable, and a twin would have been.
 * The set may hold a global and a non-global entry for the page at once
 * when software changed G without INVLPG: for example a non-global entry
 * of PCID 1, and a global one filled under PCID 2 after G was set, both
 * usable under PCID 1 (SDM vol. 3A 4.10.2.4: a global entry serves every
 * PCID; 4.10.4: entries outlive changes to the tables until invalidated).
 * Dropping an entry is always legal: a processor may invalidate any TLB
 * entry at any time (4.10.2.1).
 */
static void kill_twins(struct vmm_tlb *t, struct vmm_tlb_array *a, uint32_t set,
		       const struct vmm_tlb_entry *e)
{
	struct vmm_tlb_entry *s = tlb_set_base(a, set);

	for (uint64_t m = tlb_fp_ways(a, set, tlb_fp(e->tag)); m; m &= m - 1) {
		struct vmm_tlb_entry *o = s + __builtin_ctzll(m);

		if (o != e && o->tag == e->tag && twins(o, e))
			vmm_tlb_kill(t, a, o);
	}
}

/*
 * Fill: the entry for the same page usable under the PCID if there is one
 * (unless f->fresh says there is none), else the first empty way, else the
 * policy's victim. A fill that replaced an entry drops the new entry's
 * twins (kill_twins()).
 */
struct vmm_tlb_entry *vmm_tlb_fill(struct vmm_tlb *t, struct vmm_tlb_array *a,
				   const struct tlb_fill *f)
{
	uint64_t tag = tlb_tag(f->va, f->shift, f->szidx);
	uint32_t set = tlb_set_index(a, f->va, f->shift), way;
	struct vmm_tlb_entry *same, *e;

	if (!a->ways)
		return NULL;
	vmm_tlb_forget_last(t);	/* the new entry may answer for a remembered page */
	same = f->fresh ? NULL : tlb_set_find(a, set, tag, f->pcid);
	way = same ? (uint32_t)(same - tlb_set_base(a, set)) : tlb_fresh_way(t, a, set);
	e = tlb_install(t, a, set, way, tag, tlb_fp(tag), f);
	if (same)
		kill_twins(t, a, set, e);
	return e;
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

/*
 * Drop the entries of @a for the page of size 2^@shift holding @va (tag
 * @tag, fingerprint @fp: flush_va_size() computes them once for its three
 * arrays). Inlined with @shift and @szidx constant: an array that holds
 * no page of the size costs one test, else only the ways of the one set
 * whose fingerprint byte matches are read.
 */
static inline __attribute__((always_inline)) unsigned
flush_va_in(struct vmm_tlb *t, struct vmm_tlb_array *a, uint64_t va, const unsigned shift,
	    const unsigned szidx, uint64_t tag, uint64_t fp, uint16_t pcid, bool all_pcids,
	    enum tlb_globals g)
{
	uint32_t set;
	struct vmm_tlb_entry *base;
	uint64_t *fpw;
	unsigned n = 0;

	if (!a->nvalid_sz[szidx])
		return 0;
	set = tlb_set_index(a, va, shift);
	base = tlb_set_base(a, set);
	fpw = tlb_set_fpw(a, set);
	for (uint64_t m = tlb_fp_ways_at(a, fpw, fp); m; m &= m - 1) {
		uint32_t way = (uint32_t)__builtin_ctzll(m);

		if (base[way].tag == tag && entry_matches(&base[way], pcid, all_pcids, g)) {
			kill_way(t, a, base, fpw, way);
			n++;
		}
	}
	return n;
}

/*
 * Drop @va's page of size 2^@shift (size index @szidx) from the L1 ITLB,
 * L1 DTLB and second-level arrays @i, @d and @s: one tag and fingerprint
 * serve the three. With @lazy (the large sizes, whose arrays are mostly
 * empty) they are computed only when one of the arrays holds a page of the
 * size; the 4 KiB arrays mostly do, and testing first would cost more.
 */
static inline __attribute__((always_inline)) unsigned
flush_va_size(struct vmm_tlb *t, struct vmm_tlb_array *i, struct vmm_tlb_array *d,
	      struct vmm_tlb_array *s, uint64_t va, const unsigned shift, const unsigned szidx,
	      const bool lazy, uint16_t pcid, bool all_pcids, enum tlb_globals g)
{
	uint64_t tag, fp;
	unsigned n = 0;

	if (lazy && !(i->nvalid_sz[szidx] | d->nvalid_sz[szidx] | s->nvalid_sz[szidx]))
		return 0;
	tag = tlb_tag(va, shift, szidx);
	fp = tlb_fp(tag);
	n += flush_va_in(t, i, va, shift, szidx, tag, fp, pcid, all_pcids, g);
	n += flush_va_in(t, d, va, shift, szidx, tag, fp, pcid, all_pcids, g);
	n += flush_va_in(t, s, va, shift, szidx, tag, fp, pcid, all_pcids, g);
	return n;
}

unsigned vmm_tlb_flush_va(struct vmm_tlb *t, uint64_t va, uint16_t pcid, bool all_pcids,
			  enum tlb_globals g)
{
	struct vmm_tlb_array *i = t->itlb, *d = t->dtlb;

	return flush_va_size(t, &i[0], &d[0], &t->stlb, va, 12, 0, false, pcid, all_pcids, g) +
	       flush_va_size(t, &i[1], &d[1], &t->stlb, va, 21, 1, true, pcid, all_pcids, g) +
	       flush_va_size(t, &i[2], &d[2], &t->stlb_1g, va, 30, 2, true, pcid, all_pcids, g);
}

unsigned vmm_tlb_flush_range(struct vmm_tlb *t, uint64_t start, uint64_t end, uint16_t pcid,
			     bool all_pcids, enum tlb_globals g)
{
	struct vmm_tlb_array *arrays[] = TLB_ARRAYS(t);
	unsigned n = 0;

	for (unsigned i = 0; i < NR_TLB_ARRAYS; i++) {
		struct vmm_tlb_array *a = arrays[i];

		for (uint32_t set = 0; a->nvalid && set < a->sets; set++) {
			struct vmm_tlb_entry *s = tlb_set_base(a, set);

			for (uint64_t v = *tlb_set_valid(s); v; v &= v - 1) {
				uint32_t way = (uint32_t)__builtin_ctzll(v);
				uint64_t base = s[way].tag & ~3ull;
				uint64_t last = base + ((1ull << s[way].shift) - 1);

				if (!entry_matches(&s[way], pcid, all_pcids, g))
					continue;
				if (end && (last < start || base >= end))
					continue;
				kill_way(t, a, s, tlb_set_fpw(a, set), way);
				n++;
			}
		}
	}
	return n;
}

unsigned vmm_pwc_flush(struct vmm_tlb *t, uint16_t pcid, bool all_pcids)
{
	unsigned n = 0;

	for (unsigned l = 0; l < PWC_NR; l++) {
		struct vmm_tlb_array *a = &t->pwc[l];

		for (uint32_t set = 0; a->nvalid && set < a->sets; set++) {
			struct vmm_tlb_entry *s = tlb_set_base(a, set);

			for (uint64_t v = *tlb_set_valid(s); v; v &= v - 1) {
				uint32_t way = (uint32_t)__builtin_ctzll(v);

				if (entry_matches(&s[way], pcid, all_pcids, TLB_KEEP_GLOBAL)) {
					kill_way(t, a, s, tlb_set_fpw(a, set), way);
					n++;
				}
			}
		}
	}
	return n;
}

/*
 * Drop from PWC @a the entry of @pcid (non-global) for the region of size
 * 2^@shift holding @va. One array holds no twins (vmm_tlb_array_check()),
 * so one entry at most matches and the probe stops at it; the caller
 * counts the kill in the array's and the PCID's counts and forgets the
 * last hits.
 */
static inline __attribute__((always_inline)) bool
pwc_flush_va_in(struct vmm_tlb_array *a, uint64_t va, const unsigned shift, uint16_t pcid)
{
	uint64_t tag = tlb_tag(va, shift, 0);
	uint32_t set = tlb_set_index(a, va, shift);
	struct vmm_tlb_entry *base = tlb_set_base(a, set);
	uint64_t *fpw = tlb_set_fpw(a, set);

	for (uint64_t m = tlb_fp_ways_at(a, fpw, tlb_fp(tag)); m; m &= m - 1) {
		uint32_t way = (uint32_t)__builtin_ctzll(m);
		struct vmm_tlb_entry *e = base + way;

		if (e->tag == tag && !e->global && e->pcid == pcid) {
			clear_way(e, fpw, way);
			return true;
		}
	}
	return false;
}

/* Drop @va's entry of @pcid from PWC level @l (enum PWC_*); returns the entries dropped. */
static inline __attribute__((always_inline)) unsigned
pwc_flush_level(struct vmm_tlb *t, const unsigned l, uint64_t va, uint16_t pcid)
{
	struct vmm_tlb_array *a = &t->pwc[l];

	/* level l + 2 caches the entry controlling 2^(12 + 9 (l + 1)) bytes */
	if (!a->nvalid_sz[0] || !pwc_flush_va_in(a, va, 12 + 9 * (l + 1), pcid))
		return 0;
	a->nvalid--;
	a->nvalid_sz[0]--;
	return 1;
}

/*
 * The PML5E cache is probed only with 5-level paging: only a 5-level walk
 * fills it, and CR4.LA57 changes only with paging off, which the drop of
 * CR0.PG that precedes it flushed everything for (set_cr0()).
 */
unsigned vmm_pwc_flush_va(struct vmm_tlb *t, uint64_t va, uint16_t pcid, unsigned levels)
{
	unsigned n = 0;

	n += pwc_flush_level(t, PWC_PDE, va, pcid);
	n += pwc_flush_level(t, PWC_PDPTE, va, pcid);
	n += pwc_flush_level(t, PWC_PML4E, va, pcid);
	if (levels == 5)
		n += pwc_flush_level(t, PWC_PML5E, va, pcid);
	if (n) {
		t->pcid_count[pcid] -= n;
		/*
		 * As every kill does (kill_way()). A PWC entry answers no L1 lookup,
		 * yet without this test_mmu_trace --print 20 gives other digests
		 * after a fault: something depends on the forget, which is not
		 * pinned down yet, so it stays.
		 */
		vmm_tlb_forget_last(t);
	}
	return n;
}

/*
 * Call @fn on the valid entries of @a, found through the sets' valid masks
 * (which vmm_tlb_array_check() verifies against the tags).
 */
static void for_each_in(struct vmm_tlb_array *a, tlb_visit_fn fn, void *data, unsigned level)
{
	for (uint32_t set = 0; set < a->sets; set++) {
		struct vmm_tlb_entry *s = tlb_set_base(a, set);

		for (uint64_t v = *tlb_set_valid(s); v; v &= v - 1)
			fn(data, a, s + __builtin_ctzll(v), level);
	}
}

void vmm_tlb_for_each(struct vmm_tlb *t, tlb_visit_fn fn, void *data)
{
	struct vmm_tlb_array *arrays[] = TLB_ARRAYS(t);

	for (unsigned i = 0; i < NR_TLB_ARRAYS; i++)
		for_each_in(arrays[i], fn, data, 0);
	for (unsigned l = 0; l < PWC_NR; l++)
		for_each_in(&t->pwc[l], fn, data, l + 2);
}

/*
 * A recency list must hold every way once, 0xf after them, and the valid
 * ways (@valid, read from the tags) in the order of their stamps, most
 * recent first. The ways are all there exactly when the positions before
 * the last name ways 0 .. ways - 1 between them.
 */
static long check_list(const struct vmm_tlb_array *a, uint32_t set, uint64_t valid,
		       uint64_t *known, FILE *out)
{
	const struct vmm_tlb_entry *s = tlb_set_base(a, set);
	uint64_t list = *tlb_set_list(s), rest = list, seen = 0, newer = UINT64_MAX;

	/* most sets repeat the list last found whole (at first, the initial one) */
	if (list != *known) {
		if (a->ways < TLB_LIST_MAX_WAYS &&
		    list >> (4 * a->ways) != ~0ull >> (4 * a->ways))
			goto bad;
		for (uint32_t pos = 0; pos < a->ways; pos++, rest >>= 4)
			seen |= 1ull << (rest & 0xf);
		if (seen != a->all_ways)
			goto bad;
		*known = list;
	}
	for (rest = list; valid; rest >>= 4) {
		uint32_t way = (uint32_t)(rest & 0xf);

		if (!(valid & (1ull << way)))
			continue;
		valid &= ~(1ull << way);
		if (s[way].stamp >= newer)
			goto bad;
		newer = s[way].stamp;
	}
	return 0;
bad:
	fprintf(out, "%s: set %u has recency list %#" PRIx64 ", which its stamps contradict\n",
		a->name, set, list);
	return 1;
}

/* An entry that sits in a set its tag does not index, or is not of the array's form. */
static bool malformed(const struct vmm_tlb_array *a, const struct vmm_tlb_entry *e, uint32_t set,
		      bool pwc)
{
	uint64_t base = e->tag & ~3ull;

	return ((base >> e->shift) & a->set_mask) != set ||
	       (!pwc && (e->tag & 3) != (uint64_t)(e->shift - 12) / 9) ||
	       (base & ((1ull << e->shift) - 1)) || (e->pa & 0xfff) ||
	       (!pwc && (e->pa & ((1ull << e->shift) - 1)));
}

/* Report each way of @set whose fingerprint byte in @word (ways 8i..8i+7) is wrong. */
static long report_fp(const struct vmm_tlb_array *a, uint32_t set, uint32_t i, uint64_t word,
		      FILE *out)
{
	const struct vmm_tlb_entry *s = tlb_set_base(a, set);
	long problems = 0;

	for (uint32_t w = 8 * i; w < a->ways && w < 8 * i + 8; w++) {
		uint64_t fp = word >> (8 * (w % 8)) & 0xff;

		if (s[w].tag == TLB_TAG_INVALID && fp) {
			fprintf(out, "%s: set %u way %u is empty but has fingerprint %#" PRIx64 "\n",
				a->name, set, w, fp);
			problems++;
		} else if (s[w].tag != TLB_TAG_INVALID && fp != tlb_fp(s[w].tag)) {
			fprintf(out, "%s: set %u way %u has fingerprint %#" PRIx64 " for tag %#" PRIx64
				     "\n", a->name, set, w, fp, s[w].tag);
			problems++;
		}
	}
	return problems;
}

/*
 * One set: its entries' form and place, no tag twice for a PCID, and the
 * index (valid mask, fingerprint words, recency list) built from the
 * entries equal to the one the array keeps. Every way's tag is read once;
 * the rest of the work is for the valid ways only.
 */
/*
 * The mask of the ways of @s that hold an entry. Most sets are empty: one
 * AND a way tells them (TLB_TAG_INVALID has every bit set).
 */
static uint64_t ways_in_use(const struct vmm_tlb_entry *s, uint32_t ways)
{
	uint64_t all = TLB_TAG_INVALID, valid = 0;

#pragma GCC unroll 4
	for (uint32_t w = 0; w < ways; w++)
		all &= s[w].tag;
	if (all == TLB_TAG_INVALID)
		return 0;
	for (uint32_t w = 0; w < ways; w++)
		valid |= (uint64_t)(s[w].tag != TLB_TAG_INVALID) << w;
	return valid;
}

static long check_set(const struct vmm_tlb_array *a, uint32_t set, bool pwc, uint32_t *valid_sz,
		      uint64_t *known_list, FILE *out)
{
	const struct vmm_tlb_entry *s = tlb_set_base(a, set);
	const uint64_t *fpw = tlb_set_fpw(a, set);
	uint64_t valid = ways_in_use(s, a->ways), want_fp[(64 + 7) / 8];
	long problems = 0;

	if (!valid) {
		/* an empty set whose index says so is the common case: no work per way */
		uint64_t indexed = *tlb_set_valid(s);

		for (uint32_t i = 0; i < a->fp_words; i++)
			indexed |= fpw[i];
		if (!indexed && (a->policy != TLB_POL_LRU_LIST || *tlb_set_list(s) == *known_list))
			return 0;
	}
	memset(want_fp, 0, sizeof(want_fp));
	for (uint64_t v = valid; v; v &= v - 1) {
		uint32_t w = (uint32_t)__builtin_ctzll(v);
		const struct vmm_tlb_entry *e = &s[w];

		valid_sz[e->tag & 3]++;
		want_fp[w / 8] |= tlb_fp(e->tag) << (8 * (w % 8));
		if (malformed(a, e, set, pwc)) {
			fprintf(out, "%s: entry %zu (tag %#" PRIx64 ", shift %u, pa %#" PRIx64
				     ") is malformed or in the wrong set\n",
				a->name, (size_t)set * a->ways + w, e->tag, e->shift, e->pa);
			problems++;
		}
		for (uint64_t o = v & (v - 1); o; o &= o - 1) {
			const struct vmm_tlb_entry *t2 = &s[__builtin_ctzll(o)];

			if (t2->tag == e->tag && twins(t2, e)) {
				fprintf(out, "%s: set %u holds tag %#" PRIx64 " twice (%s)\n",
					a->name, set, e->tag, e->global ? "global" : "one pcid");
				problems++;
			}
		}
	}
	for (uint32_t i = 0; i < a->fp_words; i++)
		if (fpw[i] != want_fp[i])
			problems += report_fp(a, set, i, fpw[i], out);
	if (a->policy == TLB_POL_LRU_LIST)
		problems += check_list(a, set, valid, known_list, out);
	if (valid != *tlb_set_valid(s)) {
		fprintf(out, "%s: set %u has valid mask %#" PRIx64 ", its ways say %#" PRIx64 "\n",
			a->name, set, *tlb_set_valid(s), valid);
		problems++;
	}
	return problems;
}

/*
 * Whether @a holds no entry and its index and counts say so, @list being
 * every set's initial recency list: most arrays, most of the time. One AND
 * an entry and one OR a word of index tell.
 */
static bool empty_and_indexed(const struct vmm_tlb_array *a, uint64_t list)
{
	uint64_t all = TLB_TAG_INVALID;
	uint64_t indexed = a->nvalid | a->nvalid_sz[0] | a->nvalid_sz[1] | a->nvalid_sz[2];

	for (uint32_t set = 0; set < a->sets; set++) {
		const struct vmm_tlb_entry *s = tlb_set_base(a, set);
		const uint64_t *fpw = tlb_set_fpw(a, set);

#pragma GCC unroll 4
		for (uint32_t w = 0; w < a->ways; w++)
			all &= s[w].tag;
		indexed |= *tlb_set_valid(s);
		for (uint32_t i = 0; i < a->fp_words; i++)
			indexed |= fpw[i];
		if (a->policy == TLB_POL_LRU_LIST)
			indexed |= *tlb_set_list(s) ^ list;
	}
	return all == TLB_TAG_INVALID && !indexed;
}

long vmm_tlb_array_check(const struct vmm_tlb_array *a, bool pwc, FILE *out)
{
	long problems = 0;
	uint32_t valid = 0, valid_sz[4] = { 0, 0, 0, 0 };
	uint64_t known_list = a->policy == TLB_POL_LRU_LIST ? initial_list(a->ways) : 0;

	if (empty_and_indexed(a, known_list))
		return 0;
	for (uint32_t set = 0; set < a->sets; set++)
		problems += check_set(a, set, pwc, valid_sz, &known_list, out);
	for (unsigned sz = 0; sz < 4; sz++)
		valid += valid_sz[sz];
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
