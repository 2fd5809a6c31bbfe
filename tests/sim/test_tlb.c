/* SPDX-License-Identifier: MIT */
/*
 * Tests of src/sim/tlb.c: hit and miss counts on seeded synthetic traces
 * against a reference TLB model written here, for LRU, tree-PLRU and random
 * replacement; and the invalidation semantics of PCIDs, global pages, MOV
 * to CR3/CR4, INVLPG and INVPCID (SDM vol. 3A 4.10.4).
 */
#include "mmu_util.h"

#include <inttypes.h>

#include "lib/prng.h"

/* ---- the reference model ---- */

#define REF_MAX_WAYS 16
#define REF_MAX_SETS 64

/* One array: per set, the tags of its ways; recency order for LRU; tree bits for PLRU. */
struct ref_array {
	unsigned sets, ways, policy;
	uint64_t tag[REF_MAX_SETS][REF_MAX_WAYS];	/* 0: empty */
	unsigned order[REF_MAX_SETS][REF_MAX_WAYS];	/* LRU: ways, most recent first */
	bool tree[REF_MAX_SETS][REF_MAX_WAYS];		/* PLRU: node i true = victim on the right */
	struct vmm_prng *prng;
};

static void ref_init(struct ref_array *a, struct vmm_tlb_geometry g, unsigned policy,
		     struct vmm_prng *prng)
{
	memset(a, 0, sizeof(*a));
	a->ways = g.ways;
	a->sets = g.entries ? g.entries / g.ways : 0;
	a->policy = policy;
	a->prng = prng;
	assert_true(a->ways <= REF_MAX_WAYS && a->sets <= REF_MAX_SETS);
	for (unsigned s = 0; s < a->sets; s++)
		for (unsigned w = 0; w < a->ways; w++)
			a->order[s][w] = w;
}

static void ref_use(struct ref_array *a, unsigned set, unsigned way)
{
	if (a->policy == VMM_TLB_LRU) {
		unsigned i = 0;

		while (a->order[set][i] != way)
			i++;
		memmove(&a->order[set][1], &a->order[set][0], i * sizeof(unsigned));
		a->order[set][0] = way;
	} else if (a->policy == VMM_TLB_PLRU) {
		unsigned node = 0, lo = 0, n = a->ways;

		while (n > 1) {
			bool right = way >= lo + n / 2;

			a->tree[set][node] = !right;	/* the victim is in the other half */
			node = 2 * node + 1 + right;
			if (right)
				lo += n / 2;
			n /= 2;
		}
	}
}

static unsigned ref_victim(struct ref_array *a, unsigned set)
{
	unsigned node = 0, lo = 0, n = a->ways;

	for (unsigned w = 0; w < a->ways; w++)
		if (!a->tag[set][w])
			return w;
	if (a->policy == VMM_TLB_LRU)
		return a->order[set][a->ways - 1];
	if (a->policy == VMM_TLB_RANDOM)
		return (unsigned)vmm_prng_below(a->prng, a->ways);
	while (n > 1) {
		bool right = a->tree[set][node];

		node = 2 * node + 1 + right;
		if (right)
			lo += n / 2;
		n /= 2;
	}
	return lo;
}

/* Page number @vpn of size class @sz; tags are vpn * 4 + sz + 1 so that 0 means empty. */
static bool ref_lookup(struct ref_array *a, uint64_t vpn, unsigned sz)
{
	unsigned set;

	if (!a->sets)
		return false;
	set = (unsigned)(vpn % a->sets);
	for (unsigned w = 0; w < a->ways; w++)
		if (a->tag[set][w] == vpn * 4 + sz + 1) {
			ref_use(a, set, w);
			return true;
		}
	return false;
}

static void ref_fill(struct ref_array *a, uint64_t vpn, unsigned sz)
{
	unsigned set, w;

	if (!a->sets)
		return;
	set = (unsigned)(vpn % a->sets);
	w = ref_victim(a, set);
	a->tag[set][w] = vpn * 4 + sz + 1;
	ref_use(a, set, w);
}

struct ref_tlb {
	struct ref_array itlb[3], dtlb[3], stlb, stlb_1g;
	struct vmm_cpu_stats s;
};

/* One access in the model: L1 of its kind, then the second level, then a walk. */
static void ref_access(struct ref_tlb *t, uint64_t va, unsigned sz, bool fetch)
{
	static const unsigned shift[3] = { 12, 21, 30 };
	struct ref_array *l1 = fetch ? t->itlb : t->dtlb;
	struct ref_array *l2 = sz == 2 ? &t->stlb_1g : &t->stlb;
	uint64_t *hits = fetch ? t->s.itlb_hits : t->s.dtlb_hits;
	uint64_t *misses = fetch ? t->s.itlb_misses : t->s.dtlb_misses;
	uint64_t vpn = va >> shift[sz];

	if (ref_lookup(&l1[sz], vpn, sz)) {
		hits[sz]++;
		return;
	}
	misses[sz]++;
	if (ref_lookup(l2, vpn, sz)) {
		t->s.stlb_hits[sz]++;
	} else {
		t->s.stlb_misses[sz]++;
		ref_fill(l2, vpn, sz);
	}
	ref_fill(&l1[sz], vpn, sz);
}

/* ---- seeded traces ---- */

static unsigned trace_policy;

static void trace_geometry(struct vmm_config *c)
{
	c->dtlb[0] = (struct vmm_tlb_geometry){ 16, 4 };
	c->dtlb[1] = (struct vmm_tlb_geometry){ 8, 2 };
	c->dtlb[2] = (struct vmm_tlb_geometry){ 4, 4 };
	c->itlb[0] = (struct vmm_tlb_geometry){ 16, 4 };
	c->itlb[1] = (struct vmm_tlb_geometry){ 4, 4 };
	c->itlb[2] = (struct vmm_tlb_geometry){ 0, 0 };
	c->stlb = (struct vmm_tlb_geometry){ 64, 8 };
	c->stlb_1g = (struct vmm_tlb_geometry){ 8, 2 };
	/* no paging-structure caches: their fills would draw from the PRNG too */
	for (unsigned i = 0; i < 4; i++)
		c->pwc[i] = (struct vmm_tlb_geometry){ 0, 0 };
	c->tlb_replacement = trace_policy;
}

#define POOL_4K 600
#define POOL_2M 80
#define POOL_1G 12
#define TRACE_LEN 100000

static void run_trace(unsigned policy, uint64_t seed)
{
	vmm_machine *m;
	vmm_cpu *cpu;
	struct pt p;
	struct ref_tlb ref;
	struct vmm_prng ref_prng, trace;
	struct vmm_cpu_stats s;
	uint64_t pool[3][POOL_4K];
	const unsigned pool_n[3] = { POOL_4K, POOL_2M, POOL_1G };
	const struct vmm_config *cfg;
	uint64_t recent[8] = { 0 };
	unsigned recent_sz[8] = { 0 };

	trace_policy = policy;
	m = mmu_machine(4, 1, trace_geometry);
	cpu = vmm_machine_cpu(m, 0);
	p = pt_new(m, 4);
	vmm_prng_seed(&trace, seed);
	/* distinct pages: 4 KiB ones in 64 MiB, 2 MiB ones in 8 GiB, 1 GiB ones in 1 TiB */
	for (unsigned i = 0; i < POOL_4K; i++) {
		pool[0][i] = 0x0000100000000000ull + i * 0x1b000ull;
		pt_map(&p, pool[0][i], 0x200000, 12, VMM_PTE_PRESENT | VMM_PTE_RW |
		       VMM_PTE_ACCESSED | VMM_PTE_DIRTY);
	}
	for (unsigned i = 0; i < POOL_2M; i++) {
		pool[1][i] = 0x0000200000000000ull + i * 0x6600000ull;
		pt_map(&p, pool[1][i], 0x400000, 21, VMM_PTE_PRESENT | VMM_PTE_RW |
		       VMM_PTE_ACCESSED | VMM_PTE_DIRTY);
	}
	for (unsigned i = 0; i < POOL_1G; i++) {
		pool[2][i] = 0x0000300000000000ull + i * 0x1340000000ull;
		pt_map(&p, pool[2][i], 0x40000000, 30, VMM_PTE_PRESENT | VMM_PTE_RW |
		       VMM_PTE_ACCESSED | VMM_PTE_DIRTY);
	}
	pt_load(cpu, &p, 0);

	cfg = vmm_machine_config(m);
	ref_prng = m->prng;	/* the model draws random victims from an identical stream */
	memset(&ref, 0, sizeof(ref));
	for (unsigned i = 0; i < 3; i++) {
		ref_init(&ref.itlb[i], cfg->itlb[i], policy, &ref_prng);
		ref_init(&ref.dtlb[i], cfg->dtlb[i], policy, &ref_prng);
	}
	ref_init(&ref.stlb, cfg->stlb, policy, &ref_prng);
	ref_init(&ref.stlb_1g, cfg->stlb_1g, policy, &ref_prng);

	for (unsigned i = 0; i < TRACE_LEN; i++) {
		uint64_t r = vmm_prng_next(&trace), va;
		unsigned kind = r % 10, sz = (r >> 8) % 10 < 6 ? 0 : (r >> 8) % 10 < 9 ? 1 : 2;
		unsigned flags = kind < 7 ? VMM_ACC_READ : kind < 9 ? VMM_ACC_WRITE : VMM_ACC_EXEC;
		unsigned slot = (r >> 16) % 8;

		if ((r >> 24) % 2) {	/* locality: reuse a recent page */
			va = recent[slot];
			sz = recent_sz[slot];
		} else {
			va = pool[sz][(r >> 32) % pool_n[sz]];
			recent[slot] = va;
			recent_sz[slot] = sz;
		}
		if (!va)
			continue;
		va += (r >> 40) & 0xff8;
		assert_int_equal(vmm_cpu_access(cpu, va, 8, flags, NULL), 0);
		ref_access(&ref, va, sz, flags == VMM_ACC_EXEC);
		assert_int_equal(vmm_cpu_stats(cpu, &s), 0);
		if (memcmp(s.dtlb_hits, ref.s.dtlb_hits, 6 * 3 * sizeof(uint64_t)) != 0)
			fail_msg("policy %u seed %" PRIu64 " access %u (va %#" PRIx64
				 "): dtlb hits %" PRIu64 "/%" PRIu64 "/%" PRIu64 " model %" PRIu64
				 "/%" PRIu64 "/%" PRIu64 ", stlb hits %" PRIu64 "/%" PRIu64
				 " model %" PRIu64 "/%" PRIu64,
				 policy, seed, i, va, s.dtlb_hits[0], s.dtlb_hits[1], s.dtlb_hits[2],
				 ref.s.dtlb_hits[0], ref.s.dtlb_hits[1], ref.s.dtlb_hits[2],
				 s.stlb_hits[0], s.stlb_hits[1], ref.s.stlb_hits[0],
				 ref.s.stlb_hits[1]);
	}
	printf("# policy %u: dtlb 4k hits %" PRIu64 " misses %" PRIu64 ", stlb 4k hits %" PRIu64
	       " misses %" PRIu64 ", walks %" PRIu64 "\n",
	       policy, s.dtlb_hits[0], s.dtlb_misses[0], s.stlb_hits[0], s.stlb_misses[0],
	       s.page_walks);
	assert_true(s.dtlb_hits[0] && s.dtlb_misses[0] && s.stlb_hits[0] && s.stlb_misses[0]);
	assert_int_equal(s.page_walks, s.stlb_misses[0] + s.stlb_misses[1] + s.stlb_misses[2]);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void test_trace_lru(void **state)
{
	(void)state;
	run_trace(VMM_TLB_LRU, test_seed("trace_lru", 1));
}

static void test_trace_plru(void **state)
{
	(void)state;
	run_trace(VMM_TLB_PLRU, test_seed("trace_plru", 2));
}

static void test_trace_random(void **state)
{
	(void)state;
	run_trace(VMM_TLB_RANDOM, test_seed("trace_random", 3));
}

/* Tree-PLRU on one 4-way set: after uses of ways 0,1,2,3 the victim is 0; after 0 it is 2. */
static void test_plru_order(void **state)
{
	struct vmm_tlb_geometry g = { 4, 4 };
	struct vmm_config cfg;
	struct vmm_hostmem hm;
	struct vmm_prng prng;
	struct vmm_tlb t;
	(void)state;

	vmm_config_init(&cfg);
	cfg.tlb_replacement = VMM_TLB_PLRU;
	cfg.dtlb[0] = g;
	vmm_hostmem_init(&hm, NULL);
	vmm_prng_seed(&prng, 1);
	assert_int_equal(vmm_tlb_init(&t, &cfg, &prng, &hm), 0);
	for (unsigned i = 0; i < 4; i++) {
		struct tlb_fill f = { .va = (uint64_t)(i + 1) << 12, .pa = 0x1000, .shift = 12 };

		vmm_tlb_fill(&t, &t.dtlb[0], &f);
		assert_int_equal(tlb_entry_at(&t.dtlb[0], i)->tag, f.va);
	}
	{
		struct tlb_fill f = { .va = 5ull << 12, .pa = 0x1000, .shift = 12 };

		vmm_tlb_fill(&t, &t.dtlb[0], &f);	/* evicts way 0 (page 1) */
		assert_int_equal(tlb_entry_at(&t.dtlb[0], 0)->tag, 5ull << 12);
		f.va = 6ull << 12;
		vmm_tlb_fill(&t, &t.dtlb[0], &f);	/* after way 0, the left pair is fresh: way 2 */
		assert_int_equal(tlb_entry_at(&t.dtlb[0], 2)->tag, 6ull << 12);
	}
	assert_int_equal(t.pcid_count[0], 4);
	vmm_tlb_destroy(&t, &hm);
	assert_int_equal(hm.heap_bytes, 0);
}

/* ---- the set index (fingerprints, valid masks, recency lists) against plain scans ---- */

/* The first way of @set holding @tag usable under @pcid, by reading every way. */
static int scan_find(const struct vmm_tlb_array *a, uint32_t set, uint64_t tag, uint16_t pcid)
{
	const struct vmm_tlb_entry *s = tlb_set_base(a, set);

	for (uint32_t w = 0; w < a->ways; w++)
		if (s[w].tag == tag && (s[w].pcid == pcid || s[w].global))
			return (int)w;
	return -1;
}

/*
 * The way a fill takes, by scanning as the arrays did before they had an
 * index: the entry for the page (unless @fresh), the first empty way, the
 * first way of the smallest stamp (LRU), or -1 (another policy's victim).
 */
static int scan_fill_way(const struct vmm_tlb_array *a, uint32_t set, uint64_t tag,
			 uint16_t pcid, bool fresh)
{
	const struct vmm_tlb_entry *s = tlb_set_base(a, set);
	int same = fresh ? -1 : scan_find(a, set, tag, pcid), oldest = 0;

	if (same >= 0)
		return same;
	for (uint32_t w = 0; w < a->ways; w++)
		if (s[w].tag == TLB_TAG_INVALID)
			return (int)w;
	if (a->policy != TLB_POL_LRU && a->policy != TLB_POL_LRU_LIST)
		return -1;
	for (uint32_t w = 1; w < a->ways; w++)
		if (s[w].stamp < s[oldest].stamp)
			oldest = (int)w;
	return oldest;
}

/* Random fills, lookups and kills on one array, each checked against a scan. */
static void index_ops(struct vmm_tlb *t, struct vmm_tlb_array *a, struct vmm_prng *rng)
{
	for (unsigned op = 0; op < 4000; op++) {
		uint64_t va = vmm_prng_below(rng, 6 * a->sets * a->ways + 1) << 12;
		uint16_t pcid = (uint16_t)vmm_prng_below(rng, 3);
		uint32_t set = tlb_set_index(a, va, 12);
		uint64_t tag = tlb_tag(va, 12, 0);
		unsigned r = (unsigned)vmm_prng_below(rng, 10);

		if (r < 5) {
			/* G varies per fill, as after software changes G without INVLPG */
			struct tlb_fill f = { .va = va, .pa = va, .shift = 12, .pcid = pcid,
					      .global = vmm_prng_below(rng, 7) == 0 };
			int want;

			f.fresh = scan_find(a, set, tag, pcid) < 0 && vmm_prng_below(rng, 2);
			want = scan_fill_way(a, set, tag, pcid, f.fresh);
			vmm_tlb_fill(t, a, &f);
			if (want >= 0) {
				const struct vmm_tlb_entry *got = tlb_set_base(a, set) + want;

				assert_int_equal(got->tag, tag);
				assert_int_equal(got->pcid, pcid);
			}
		} else if (r < 9) {
			struct vmm_tlb_entry *e = tlb_find(a, va, 12, 0, pcid);
			int want = scan_find(a, set, tag, pcid);

			assert_true(want < 0 ? !e : e == tlb_set_base(a, set) + want);
			if (e)
				tlb_touch(t, a, e);
		} else {
			vmm_tlb_kill(t, a, tlb_entry_at(a, vmm_prng_below(rng, (uint64_t)a->sets * a->ways)));
		}
		assert_int_equal(vmm_tlb_array_check(a, false, stdout), 0);
	}
}

static void test_set_index_against_scans(void **state)
{
	static const struct vmm_tlb_geometry geoms[] = { { 1, 1 }, { 4, 2 }, { 12, 3 }, { 16, 4 },
							 { 16, 8 }, { 32, 16 }, { 64, 32 },
							 { 64, 64 } };
	uint64_t seed = 0x5e7;
	(void)state;

	printf("# seed %#" PRIx64 "\n", seed);
	for (unsigned pol = VMM_TLB_LRU; pol <= VMM_TLB_RANDOM; pol++)
		for (unsigned g = 0; g < ARRAY_SIZE(geoms); g++) {
			struct vmm_config cfg;
			struct vmm_hostmem hm;
			struct vmm_prng prng, rng;
			struct vmm_tlb t;

			if (pol == VMM_TLB_PLRU && (geoms[g].ways & (geoms[g].ways - 1)))
				continue;
			vmm_config_init(&cfg);
			cfg.tlb_replacement = pol;
			cfg.dtlb[0] = geoms[g];	/* plain LRU: the hit path uses it */
			cfg.stlb = geoms[g];	/* LRU with a recency list, up to 16 ways */
			vmm_hostmem_init(&hm, NULL);
			vmm_prng_seed(&prng, seed + g);
			vmm_prng_seed(&rng, seed ^ (pol * 16 + g));
			assert_int_equal(vmm_tlb_init(&t, &cfg, &prng, &hm), 0);
			index_ops(&t, &t.dtlb[0], &rng);
			index_ops(&t, &t.stlb, &rng);
			vmm_tlb_destroy(&t, &hm);
			assert_int_equal(hm.heap_bytes, 0);
		}
}

/*
 * vmm_tlb_array_check() against each way an array can go wrong, one at a
 * time on a copy of a filled array: the exact number of problems it reports.
 */
struct array_copy {
	char blocks[16 << 10];	/* every set: fingerprints, valid mask, list, entries */
	uint32_t nvalid, nvalid_sz[3];
};

static void save_array(const struct vmm_tlb_array *a, struct array_copy *c)
{
	assert_true((size_t)a->sets * a->set_bytes <= sizeof(c->blocks));
	memcpy(c->blocks, a->blocks, (size_t)a->sets * a->set_bytes);
	c->nvalid = a->nvalid;
	memcpy(c->nvalid_sz, a->nvalid_sz, sizeof(c->nvalid_sz));
}

static void restore_array(struct vmm_tlb_array *a, const struct array_copy *c)
{
	memcpy(a->blocks, c->blocks, (size_t)a->sets * a->set_bytes);
	a->nvalid = c->nvalid;
	memcpy(a->nvalid_sz, c->nvalid_sz, sizeof(c->nvalid_sz));
}

static void test_array_check_finds_damage(void **state)
{
	struct vmm_config cfg;
	struct vmm_hostmem hm;
	struct vmm_prng prng;
	struct vmm_tlb t;
	struct array_copy *c = calloc(1, sizeof(*c));
	(void)state;

	assert_non_null(c);
	vmm_config_init(&cfg);
	cfg.stlb = (struct vmm_tlb_geometry){ 64, 4 };	/* 16 sets, a recency list each */
	vmm_hostmem_init(&hm, NULL);
	vmm_prng_seed(&prng, 3);
	assert_int_equal(vmm_tlb_init(&t, &cfg, &prng, &hm), 0);
	/* set 0 holds pages 0, 16 and 32; set 1 holds page 1; the rest is empty */
	for (uint64_t page = 0; page < 48; page += 16) {
		struct tlb_fill f = { .va = page << 12, .pa = 0x100000 + (page << 12), .shift = 12 };

		vmm_tlb_fill(&t, &t.stlb, &f);
	}
	{
		struct tlb_fill f = { .va = 1ull << 12, .pa = 0x200000, .shift = 12, .pcid = 2 };

		vmm_tlb_fill(&t, &t.stlb, &f);
	}
	{
		struct vmm_tlb_array *a = &t.stlb;
		struct vmm_tlb_entry *set0 = tlb_set_base(a, 0), *set1 = tlb_set_base(a, 1);
		struct vmm_tlb_entry *set2 = tlb_set_base(a, 2);
		uint64_t *fp0 = tlb_set_fpw(a, 0), *fp2 = tlb_set_fpw(a, 2);

		assert_int_equal(a->nvalid, 4);
		assert_int_equal(vmm_tlb_array_check(a, false, stdout), 0);
		save_array(a, c);

		set0[1].pa |= 0x800;				/* misaligned */
		assert_int_equal(vmm_tlb_array_check(a, false, stdout), 1);
		restore_array(a, c);
		set1[0].shift = 21;				/* wrong size for its tag */
		assert_int_equal(vmm_tlb_array_check(a, false, stdout), 1);
		restore_array(a, c);
		set0[2].pcid = set0[0].pcid;			/* a third way answering page 0 */
		set0[2].tag = set0[0].tag;
		*fp0 = (*fp0 & ~(0xffull << 16)) | tlb_fp(set0[0].tag) << 16;
		assert_int_equal(vmm_tlb_array_check(a, false, stdout), 1);
		set0[2].pcid = 1;				/* another PCID may have it */
		assert_int_equal(vmm_tlb_array_check(a, false, stdout), 0);
		restore_array(a, c);
		*fp0 ^= 0x01ull << 8;				/* way 1's fingerprint */
		assert_int_equal(vmm_tlb_array_check(a, false, stdout), 1);
		restore_array(a, c);
		*fp2 = 0x80ull << 24;				/* an empty way with a fingerprint */
		assert_int_equal(vmm_tlb_array_check(a, false, stdout), 1);
		restore_array(a, c);
		*tlb_set_valid(set1) = 0;			/* the index lost a way */
		assert_int_equal(vmm_tlb_array_check(a, false, stdout), 1);
		restore_array(a, c);
		set2[3] = set1[0];				/* an entry the index never saw, */
		set2[3].tag += 1ull << 12;			/* in the set of its tag */
		assert_int_equal(vmm_tlb_array_check(a, false, stdout), 4); /* fp, mask, 2 counts */
		restore_array(a, c);
		set2[0] = set1[0];				/* in the wrong set */
		*fp2 = tlb_fp(set1[0].tag);
		*tlb_set_valid(set2) = 1;
		a->nvalid++;
		a->nvalid_sz[0]++;
		assert_int_equal(vmm_tlb_array_check(a, false, stdout), 1);
		restore_array(a, c);
		a->nvalid_sz[0]--;				/* the counters */
		assert_int_equal(vmm_tlb_array_check(a, false, stdout), 1);
		a->nvalid--;
		assert_int_equal(vmm_tlb_array_check(a, false, stdout), 2);
		restore_array(a, c);
		*tlb_set_list(set1) = (*tlb_set_list(set1) & ~0xfull) | 3; /* way 3 listed twice */
		assert_int_equal(vmm_tlb_array_check(a, false, stdout), 1);
		restore_array(a, c);
		*tlb_set_list(set1) &= ~(0xfull << 16);	/* way 0 after the last way */
		assert_int_equal(vmm_tlb_array_check(a, false, stdout), 1);
		restore_array(a, c);
		*tlb_set_list(set0) = (*tlb_set_list(set0) & ~0xffull) | /* the two most recent swapped */
				      (*tlb_set_list(set0) & 0xf) << 4 |
				      (*tlb_set_list(set0) >> 4 & 0xf);
		assert_int_equal(vmm_tlb_array_check(a, false, stdout), 1);
		restore_array(a, c);
		assert_int_equal(vmm_tlb_array_check(a, false, stdout), 0);
	}
	vmm_tlb_destroy(&t, &hm);
	assert_int_equal(hm.heap_bytes, 0);
	free(c);
}

/* The SWAR primitives against byte and nibble loops. */
static void test_swar_primitives(void **state)
{
	struct vmm_prng rng;
	(void)state;

	vmm_prng_seed(&rng, 77);
	for (unsigned i = 0; i < 20000; i++) {
		uint64_t word = vmm_prng_next(&rng), fp = 0x80 | vmm_prng_below(&rng, 128);
		uint64_t want = 0, list = ~0ull, perm[16];
		unsigned ways = 2 + (unsigned)vmm_prng_below(&rng, 15), way, pos;

		if (vmm_prng_below(&rng, 2))	/* make matches likely */
			word = (word & ~(0xffull << 8 * (i % 8))) | fp << 8 * (i % 8);
		for (unsigned b = 0; b < 8; b++)
			if (((word >> 8 * b) & 0xff) == fp)
				want |= 0x80ull << 8 * b;
		assert_int_equal(tlb_fp_match(word, fp), want);

		/* a random permutation of the ways, then a use of one of them */
		for (unsigned w = 0; w < ways; w++)
			perm[w] = w;
		for (unsigned w = ways - 1; w > 0; w--) {
			unsigned k = (unsigned)vmm_prng_below(&rng, w + 1), x = (unsigned)perm[w];

			perm[w] = perm[k];
			perm[k] = x;
		}
		for (unsigned p = 0; p < ways; p++)
			list = (list & ~(0xfull << 4 * p)) | perm[p] << 4 * p;
		way = (unsigned)vmm_prng_below(&rng, ways);
		for (pos = 0; perm[pos] != way; pos++)
			;
		memmove(&perm[1], &perm[0], pos * sizeof(perm[0]));
		perm[0] = way;
		want = ~0ull;
		for (unsigned p = 0; p < ways; p++)
			want = (want & ~(0xfull << 4 * p)) | perm[p] << 4 * p;
		assert_int_equal(tlb_list_use(list, way), want);
	}
}

/* ---- invalidation semantics ---- */

#define VA1 0x00007f0000001000ull	/* non-global in both tables */
#define VA2 0xffffffff81000000ull	/* global in table A */
#define VA3 0x00007f0000002000ull

static unsigned src(vmm_cpu *cpu, uint64_t va)
{
	return xlat(cpu, va, 0).source;
}

static vmm_paddr_t pa_of(vmm_cpu *cpu, uint64_t va)
{
	return xlat(cpu, va, 0).paddr;
}

struct two_tables {
	vmm_machine *m;
	vmm_cpu *cpu;
	struct pt a, b;
};

static void two_tables(struct two_tables *tt)
{
	tt->m = mmu_machine(4, 1, NULL);
	tt->cpu = vmm_machine_cpu(tt->m, 0);
	tt->a = pt_new(tt->m, 4);
	tt->b = pt_new(tt->m, 4);
	pt_map(&tt->a, VA1, 0xa01000, 12, VMM_PTE_PRESENT);
	pt_map(&tt->a, VA2, 0xa02000, 12, VMM_PTE_PRESENT | VMM_PTE_GLOBAL);
	pt_map(&tt->a, VA3, 0xa03000, 12, VMM_PTE_PRESENT);
	pt_map(&tt->b, VA1, 0xb01000, 12, VMM_PTE_PRESENT);
	pt_map(&tt->b, VA2, 0xb02000, 12, VMM_PTE_PRESENT);
	pt_map(&tt->b, VA3, 0xb03000, 12, VMM_PTE_PRESENT);
}

static void test_cr3_and_globals_without_pcid(void **state)
{
	struct two_tables tt;
	vmm_cpu *cpu;
	uint64_t cr4;
	(void)state;

	two_tables(&tt);
	cpu = tt.cpu;
	pt_load(cpu, &tt.a, 0);
	assert_int_equal(pa_of(cpu, VA1), 0xa01000);
	assert_int_equal(pa_of(cpu, VA2), 0xa02000);
	/* MOV to CR3: non-global entries go, the global one stays (CR4.PGE) */
	pt_load(cpu, &tt.b, 0);
	assert_int_equal(src(cpu, VA2), VMM_XLAT_L1);
	assert_int_equal(pa_of(cpu, VA2), 0xa02000);
	assert_int_equal(src(cpu, VA1), VMM_XLAT_WALK);
	assert_int_equal(pa_of(cpu, VA1), 0xb01000);
	/* the kept global entry no longer matches B: legal, flagged as stale */
	assert_machine_healthy(tt.m);
	/* changing CR4.PGE flushes everything, globals included */
	cr4 = cpu_reg(cpu, VMM_REG_CR4);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR4, cr4 & ~VMM_CR4_PGE), 0);
	assert_int_equal(src(cpu, VA2), VMM_XLAT_WALK);
	assert_int_equal(pa_of(cpu, VA2), 0xb02000);
	/* with PGE clear, G is ignored: a CR3 load drops A's would-be global entry */
	pt_load(cpu, &tt.a, 0);
	assert_int_equal(src(cpu, VA2), VMM_XLAT_WALK);
	pt_load(cpu, &tt.b, 0);
	assert_int_equal(src(cpu, VA2), VMM_XLAT_WALK);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR4, cr4), 0);
	/* SMEP 0 -> 1 flushes the current PCID; 1 -> 0 does not */
	assert_int_equal(src(cpu, VA1), VMM_XLAT_WALK);
	assert_int_equal(src(cpu, VA1), VMM_XLAT_L1);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR4, cr4 | VMM_CR4_SMEP), 0);
	assert_int_equal(src(cpu, VA1), VMM_XLAT_WALK);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR4, cr4), 0);
	assert_int_equal(src(cpu, VA1), VMM_XLAT_L1);
	/* CR4.SMAP and CR0.WP changes flush nothing */
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR4, cr4 | VMM_CR4_SMAP), 0);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR0,
					 cpu_reg(cpu, VMM_REG_CR0) & ~VMM_CR0_WP), 0);
	assert_int_equal(src(cpu, VA1), VMM_XLAT_L1);
	/* clearing CR0.PG flushes everything; linear = physical meanwhile */
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR0,
					 cpu_reg(cpu, VMM_REG_CR0) & ~VMM_CR0_PG), 0);
	assert_int_equal(src(cpu, 0x123456), VMM_XLAT_NOPAGING);
	assert_int_equal(pa_of(cpu, 0x123456), 0x123456);
	assert_machine_healthy(tt.m);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR0,
					 cpu_reg(cpu, VMM_REG_CR0) | VMM_CR0_PG), 0);
	assert_int_equal(src(cpu, VA1), VMM_XLAT_WALK);
	vmm_machine_destroy(&tt.m);
}

static void test_pcid_invlpg_invpcid(void **state)
{
	struct two_tables tt;
	vmm_cpu *cpu;
	uint64_t cr4;
	(void)state;

	two_tables(&tt);
	cpu = tt.cpu;
	pt_load(cpu, &tt.a, 0);
	cr4 = cpu_reg(cpu, VMM_REG_CR4);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR4, cr4 | VMM_CR4_PCIDE), 0);
	/* PCID 1 = table A, PCID 2 = table B */
	pt_load(cpu, &tt.a, 1);
	assert_int_equal(pa_of(cpu, VA1), 0xa01000);
	assert_int_equal(pa_of(cpu, VA3), 0xa03000);
	assert_int_equal(pa_of(cpu, VA2), 0xa02000);	/* global */
	pt_load(cpu, &tt.b, 2);
	assert_int_equal(pa_of(cpu, VA1), 0xb01000);
	assert_int_equal(pa_of(cpu, VA3), 0xb03000);
	assert_int_equal(pa_of(cpu, VA2), 0xa02000);	/* the global entry serves every PCID */
	/* back to PCID 1 without flushing: its entries are still there */
	pt_load(cpu, &tt.a, 1 | VMM_CR3_NOFLUSH);
	assert_int_equal(cpu_reg(cpu, VMM_REG_CR3), tt.a.root | 1);
	assert_int_equal(src(cpu, VA1), VMM_XLAT_L1);
	assert_int_equal(pa_of(cpu, VA1), 0xa01000);
	/* a switch without flush must not serve the other PCID's last hit */
	pt_load(cpu, &tt.b, 2 | VMM_CR3_NOFLUSH);
	assert_int_equal(pa_of(cpu, VA1), 0xb01000);
	pt_load(cpu, &tt.a, 1 | VMM_CR3_NOFLUSH);
	assert_int_equal(pa_of(cpu, VA1), 0xa01000);
	/* INVLPG: this PCID's VA1 goes, VA3 stays; PCID 2's VA1 stays */
	assert_int_equal(vmm_cpu_invlpg(cpu, VA1), 0);
	assert_int_equal(src(cpu, VA3), VMM_XLAT_L1);
	assert_int_equal(src(cpu, VA1), VMM_XLAT_WALK);
	pt_load(cpu, &tt.b, 2 | VMM_CR3_NOFLUSH);
	assert_int_equal(src(cpu, VA1), VMM_XLAT_L1);
	/* INVLPG drops a global entry whatever PCID created it */
	assert_int_equal(vmm_cpu_invlpg(cpu, VA2), 0);
	assert_int_equal(pa_of(cpu, VA2), 0xb02000);	/* B's own, non-global */
	assert_int_equal(vmm_cpu_invlpg(cpu, VA2), 0);

	/* re-create the global entry under PCID 1 */
	pt_load(cpu, &tt.a, 1 | VMM_CR3_NOFLUSH);
	assert_int_equal(pa_of(cpu, VA2), 0xa02000);
	assert_int_equal(pa_of(cpu, VA1), 0xa01000);
	/* INVPCID 0: one address of one PCID, the global kept */
	assert_int_equal(vmm_cpu_invpcid(cpu, VMM_INVPCID_ADDR, 2, VA1), 0);
	assert_int_equal(vmm_cpu_invpcid(cpu, VMM_INVPCID_ADDR, 1, VA2), 0);
	assert_int_equal(src(cpu, VA1), VMM_XLAT_L1);
	assert_int_equal(src(cpu, VA2), VMM_XLAT_L1);
	pt_load(cpu, &tt.b, 2 | VMM_CR3_NOFLUSH);
	assert_int_equal(src(cpu, VA3), VMM_XLAT_L1);
	assert_int_equal(src(cpu, VA1), VMM_XLAT_WALK);
	/* INVPCID 1: PCID 1's non-global entries, not PCID 2's, not the global */
	assert_int_equal(vmm_cpu_invpcid(cpu, VMM_INVPCID_SINGLE, 1, 0), 0);
	assert_int_equal(src(cpu, VA3), VMM_XLAT_L1);
	assert_int_equal(src(cpu, VA2), VMM_XLAT_L1);
	pt_load(cpu, &tt.a, 1 | VMM_CR3_NOFLUSH);
	assert_int_equal(src(cpu, VA3), VMM_XLAT_WALK);
	assert_int_equal(src(cpu, VA2), VMM_XLAT_L1);
	/* INVPCID 3: every non-global entry */
	assert_int_equal(vmm_cpu_invpcid(cpu, VMM_INVPCID_ALL, 0, 0), 0);
	assert_int_equal(src(cpu, VA2), VMM_XLAT_L1);
	assert_int_equal(src(cpu, VA3), VMM_XLAT_WALK);
	pt_load(cpu, &tt.b, 2 | VMM_CR3_NOFLUSH);
	assert_int_equal(src(cpu, VA3), VMM_XLAT_WALK);
	/* INVPCID 2: everything */
	assert_int_equal(vmm_cpu_invpcid(cpu, VMM_INVPCID_ALL_GLOBAL, 0, 0), 0);
	assert_int_equal(src(cpu, VA2), VMM_XLAT_WALK);
	assert_int_equal(pa_of(cpu, VA2), 0xb02000);
	/* MOV to CR3 without the no-flush bit drops the new PCID's entries */
	assert_int_equal(pa_of(cpu, VA3), 0xb03000);
	assert_int_equal(src(cpu, VA3), VMM_XLAT_L1);
	pt_load(cpu, &tt.b, 2);
	assert_int_equal(src(cpu, VA3), VMM_XLAT_WALK);
	assert_machine_healthy(tt.m);

	/* bad operands are #GP: rejected */
	assert_int_equal(vmm_cpu_invpcid(cpu, 4, 0, 0), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_invpcid(cpu, VMM_INVPCID_SINGLE, 4096, 0), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_invpcid(cpu, VMM_INVPCID_ADDR, 1, 0x0000800000000000ull),
			 -VMM_EINVAL);
	assert_int_equal(vmm_cpu_invlpg(cpu, 0x0000800000000000ull), -VMM_EINVAL);
	/* PCIDE 1 -> 0 flushes everything */
	pt_load(cpu, &tt.b, 0);
	assert_int_equal(src(cpu, VA3), VMM_XLAT_WALK);
	assert_int_equal(src(cpu, VA3), VMM_XLAT_L1);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR4, cr4), 0);
	assert_int_equal(src(cpu, VA3), VMM_XLAT_WALK);
	assert_int_equal(vmm_cpu_invpcid(cpu, VMM_INVPCID_SINGLE, 1, 0), -VMM_EINVAL);
	vmm_machine_destroy(&tt.m);
}

/*
 * A global and a non-global entry for one page, both usable under one
 * PCID, after software set G without INVLPG (SDM vol. 3A 4.10.2.4, 4.10.4):
 * legal, the old one flagged as stale. Twins (two entries for a page that
 * are both global, or both non-global of one PCID) never arise and are
 * reported.
 */
static void test_global_and_nonglobal_entries(void **state)
{
	vmm_machine *m = mmu_machine(4, 1, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	struct pt p = pt_new(m, 4);
	uint64_t other = VA1 + 16 * 4096;	/* the same DTLB set (16 sets) */
	struct vmm_tlb_array *d;
	struct vmm_cpu_stats s;
	unsigned global = 0, nonglobal = 0;
	(void)state;

	pt_map(&p, VA1, 0xa01000, 12, VMM_PTE_PRESENT | VMM_PTE_RW | VMM_PTE_ACCESSED);
	pt_map(&p, other, 0xa02000, 12, VMM_PTE_PRESENT | VMM_PTE_ACCESSED);
	pt_load(cpu, &p, 0);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR4,
					 cpu_reg(cpu, VMM_REG_CR4) | VMM_CR4_PCIDE), 0);
	pt_load(cpu, &p, 1);
	/* PCID 1: the other page takes way 0 of the set, VA1 (non-global) way 1 */
	assert_int_equal(pa_of(cpu, other), 0xa02000);
	assert_int_equal(pa_of(cpu, VA1), 0xa01000);
	assert_int_equal(vmm_cpu_invlpg(cpu, other), 0);	/* way 0 is empty again */
	/* software makes VA1 global without INVLPG; PCID 2 fills a global entry into way 0 */
	*pt_entry(&p, VA1, 1) |= VMM_PTE_GLOBAL;
	pt_load(cpu, &p, 2 | VMM_CR3_NOFLUSH);
	assert_int_equal(src(cpu, VA1), VMM_XLAT_WALK);
	assert_machine_healthy(m);
	/* back in PCID 1 a write through the first usable entry (global, clean) walks again */
	pt_load(cpu, &p, 1 | VMM_CR3_NOFLUSH);
	assert_int_equal(vmm_cpu_access(cpu, VA1, 8, VMM_ACC_WRITE, NULL), 0);
	d = &cpu->tlb.dtlb[0];
	for (uint32_t k = 0; k < d->sets * d->ways; k++)
		if (tlb_entry_at(d, k)->tag == VA1) {
			assert_int_equal(tlb_entry_at(d, k)->pcid, 1);
			global += tlb_entry_at(d, k)->global;
			nonglobal += !tlb_entry_at(d, k)->global;
		}
	assert_int_equal(global, 1);
	assert_int_equal(nonglobal, 1);
	assert_machine_healthy(m);
	assert_int_equal(vmm_cpu_stats(cpu, &s), 0);
	assert_true(s.check_stale_tlb >= 1);	/* the non-global entry: G changed since */
	/* an entry copied over its twin (same page, PCID and G) is a problem */
	for (uint32_t k = 0; k < d->sets * d->ways; k++)
		if (tlb_entry_at(d, k)->tag == VA1 && tlb_entry_at(d, k)->global) {
			tlb_entry_at(d, k)->global = 0;
			cpu->tlb.global_count--;
		}
	assert_true(vmm_tlb_array_check(d, false, stdout) >= 1);
	vmm_machine_destroy(&m);
}

/* Fills of one array: a fill that replaces an entry drops the new entry's twins. */
static void test_fill_drops_twins(void **state)
{
	struct vmm_config cfg;
	struct vmm_hostmem hm;
	struct vmm_prng prng;
	struct vmm_tlb t;
	struct vmm_tlb_array *a = &t.dtlb[0];
	struct tlb_fill f = { .va = 5ull << 12, .pa = 0x1000, .shift = 12, .pcid = 2,
			      .fresh = 1 };
	(void)state;

	vmm_config_init(&cfg);
	cfg.dtlb[0] = (struct vmm_tlb_geometry){ 4, 4 };
	vmm_hostmem_init(&hm, NULL);
	vmm_prng_seed(&prng, 1);
	assert_int_equal(vmm_tlb_init(&t, &cfg, &prng, &hm), 0);
	vmm_tlb_fill(&t, a, &f);	/* way 0: non-global of PCID 2 */
	f.pcid = 1;
	f.global = 1;
	vmm_tlb_fill(&t, a, &f);	/* way 1: global, filled under PCID 1 (nothing usable) */
	assert_int_equal(vmm_tlb_array_check(a, false, stdout), 0);	/* legal */
	/* PCID 2 refills with G: its entry (way 0) turns global, the other global goes */
	f.pcid = 2;
	f.fresh = 0;
	assert_ptr_equal(vmm_tlb_fill(&t, a, &f), tlb_entry_at(a, 0));
	assert_true(tlb_entry_at(a, 0)->global);
	assert_int_equal(a->nvalid, 1);
	assert_int_equal(tlb_entry_at(a, 1)->tag, TLB_TAG_INVALID);
	assert_int_equal(t.global_count, 1);
	assert_int_equal(t.pcid_count[1], 0);
	assert_int_equal(vmm_tlb_array_check(a, false, stdout), 0);
	/* a fill that wrongly claims to be fresh makes a twin, which the check reports */
	f.fresh = 1;
	vmm_tlb_fill(&t, a, &f);
	assert_int_equal(vmm_tlb_array_check(a, false, stdout), 1);
	assert_int_equal(t.pcid_count[2], 2);
	vmm_tlb_destroy(&t, &hm);
	assert_int_equal(hm.heap_bytes, 0);
}

/* The sum struct vmm_tlb.large[side] must equal, counted from the arrays. */
static uint32_t large_held(const struct vmm_tlb *t, unsigned side)
{
	const struct vmm_tlb_array *l1 = side ? t->itlb : t->dtlb;

	return l1[VMM_PGSZ_2M].nvalid + l1[VMM_PGSZ_1G].nvalid + t->stlb.nvalid_sz[VMM_PGSZ_2M] +
	       t->stlb_1g.nvalid;
}

/*
 * The per-side counts of large-page entries (what lets the hot path skip
 * the last-hit test and the large arrays) through fills, replacements in
 * a set shared by 4 KiB and 2 MiB entries, and flushes.
 */
static void test_large_counts(void **state)
{
	struct vmm_config cfg;
	struct vmm_hostmem hm;
	struct vmm_prng prng;
	struct vmm_tlb t;
	struct tlb_fill f = { .pa = 0x40000000, .shift = 21, .szidx = VMM_PGSZ_2M, .pcid = 1 };
	uint32_t stlb_span, fetch;
	(void)state;

	vmm_config_init(&cfg);
	vmm_hostmem_init(&hm, NULL);
	vmm_prng_seed(&prng, 1);
	assert_int_equal(vmm_tlb_init(&t, &cfg, &prng, &hm), 0);
	assert_int_equal(t.large[0], 0);
	assert_int_equal(t.large[1], 0);

	f.va = 1ull << 30;
	vmm_tlb_fill(&t, &t.dtlb[VMM_PGSZ_2M], &f);	/* data side only */
	f.va += 1ull << 21;
	vmm_tlb_fill(&t, &t.itlb[VMM_PGSZ_2M], &f);	/* fetch side only */
	vmm_tlb_fill(&t, &t.stlb, &f);			/* both */
	f.shift = 30;
	f.szidx = VMM_PGSZ_1G;
	f.va = 2ull << 30;
	vmm_tlb_fill(&t, &t.stlb_1g, &f);		/* both */
	vmm_tlb_fill(&t, &t.itlb[VMM_PGSZ_1G], &f);	/* fetch, where the ITLB has 1 GiB ways */
	fetch = 3 + !!t.itlb[VMM_PGSZ_1G].ways;
	assert_int_equal(t.large[0], 3);
	assert_int_equal(t.large[1], fetch);
	/* 4 KiB entries and PWC-sized fills count nowhere */
	f.shift = 12;
	f.szidx = VMM_PGSZ_4K;
	f.va = 0x5000;
	vmm_tlb_fill(&t, &t.stlb, &f);
	vmm_tlb_fill(&t, &t.dtlb[VMM_PGSZ_4K], &f);
	assert_int_equal(t.large[0], 3);
	assert_int_equal(t.large[1], fetch);

	/* a set of the STLB full of 2 MiB pages, then 4 KiB pages replacing them one by one */
	stlb_span = t.stlb.sets;
	f.shift = 21;
	f.szidx = VMM_PGSZ_2M;
	for (uint32_t w = 0; w < t.stlb.ways; w++) {
		f.va = (8ull << 30) + ((uint64_t)w * stlb_span << 21);
		vmm_tlb_fill(&t, &t.stlb, &f);
	}
	for (unsigned side = 0; side < 2; side++)
		assert_int_equal(t.large[side], large_held(&t, side));
	f.shift = 12;
	f.szidx = VMM_PGSZ_4K;
	for (uint32_t w = 0; w < 2 * t.stlb.ways; w++) {
		f.va = (16ull << 30) + ((uint64_t)w * stlb_span << 12) +
		       ((uint64_t)tlb_set_index(&t.stlb, 8ull << 30, 21) << 12);
		vmm_tlb_fill(&t, &t.stlb, &f);
		for (unsigned side = 0; side < 2; side++)
			assert_int_equal(t.large[side], large_held(&t, side));
	}
	assert_int_equal(t.large[0], 3);	/* the set's 2 MiB pages are all gone */

	/* flushes: one page of each kind, then everything of PCID 1 */
	vmm_tlb_flush_va(&t, 1ull << 30, 1, false, TLB_GLOBAL_TOO);
	assert_int_equal(t.large[0], 2);
	assert_int_equal(t.large[1], fetch);
	vmm_tlb_flush_range(&t, 0, 0, 1, false, TLB_GLOBAL_TOO);
	assert_int_equal(t.large[0], 0);
	assert_int_equal(t.large[1], 0);
	for (unsigned side = 0; side < 2; side++)
		assert_int_equal(large_held(&t, side), 0);
	vmm_tlb_destroy(&t, &hm);
	assert_int_equal(hm.heap_bytes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trace_lru),
		cmocka_unit_test(test_trace_plru),
		cmocka_unit_test(test_trace_random),
		cmocka_unit_test(test_plru_order),
		cmocka_unit_test(test_set_index_against_scans),
		cmocka_unit_test(test_array_check_finds_damage),
		cmocka_unit_test(test_swar_primitives),
		cmocka_unit_test(test_cr3_and_globals_without_pcid),
		cmocka_unit_test(test_pcid_invlpg_invpcid),
		cmocka_unit_test(test_global_and_nonglobal_entries),
		cmocka_unit_test(test_fill_drops_twins),
		cmocka_unit_test(test_large_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
