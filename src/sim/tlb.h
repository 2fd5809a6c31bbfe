/* SPDX-License-Identifier: MIT */
/*
 * One CPU's translation caches: the L1 ITLB and DTLB (one array per page
 * size), the unified second-level TLB (4 KiB + 2 MiB, and 1 GiB), and the
 * paging-structure caches (PDE, PDPTE, PML4E, PML5E). Every array is sets x
 * ways with one replacement policy (LRU, tree-PLRU, or random from the
 * machine's PRNG).
 *
 * An entry is tagged by the page's linear base address (with the page-size
 * index in the low bits, so one compare checks both) and by a PCID; a global
 * entry matches every PCID. It caches what the SDM lets a TLB cache: the
 * physical page, the rights combined over all levels (U/S and R/W ANDed, XD
 * ORed), the protection key and the dirty flag. Rights are evaluated on
 * every use against the current CR0/CR4/EFER/RFLAGS/PKRU, so a register
 * write never leaves an entry wrong. Paging-structure-cache entries use the
 * same layout: the tag is the linear region the cached entry controls, pa
 * is the next table.
 *
 * Two fields exist only for vmm_machine_check(): where the leaf (or cached)
 * entry lives and a hash of every paging-structure entry the translation
 * was built from. They let the checker tell an entry the tables changed
 * under (which hardware may legally keep until a flush) from an entry that
 * never matched them (a bug).
 *
 * Ownership: per CPU; one host thread drives a machine at a time.
 */
#ifndef VMM_SIM_TLB_H
#define VMM_SIM_TLB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <vmm/config.h>

#include "lib/compiler.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

struct vmm_hostmem;
struct vmm_prng;

#define TLB_TAG_INVALID UINT64_MAX
#define TLB_NR_PCIDS 4096

/* Combined rights and flags cached in an entry (struct vmm_tlb_entry.attr). */
#define TLB_ATTR_U 0x01u	/* user-mode address: U/S = 1 at every level */
#define TLB_ATTR_W 0x02u	/* writable: R/W = 1 at every level */
#define TLB_ATTR_NX 0x04u	/* XD = 1 at some level (only with EFER.NXE) */
#define TLB_ATTR_D 0x08u	/* the leaf's dirty flag */
#define TLB_ATTR_PKEY_SHIFT 4	/* bits 7:4: the leaf's protection key */

/*
 * The policy an array runs. TLB_POL_LRU_LIST is LRU with, beside the
 * stamps, each set's ways in recency order (struct tlb_set_hdr.list),
 * so that a fill into a full set takes the least recently used way without
 * comparing every stamp; a use then costs a few more instructions, so the
 * L1 arrays, which the hit path touches, keep plain LRU.
 */
enum tlb_policy_fast { TLB_POL_LRU = VMM_TLB_LRU, TLB_POL_PLRU = VMM_TLB_PLRU,
		       TLB_POL_RANDOM = VMM_TLB_RANDOM, TLB_POL_LRU_LIST };

/* Recency lists hold one 4-bit way number per position, most recent first. */
#define TLB_LIST_MAX_WAYS 16
#define TLB_NIBBLES_1 0x1111111111111111ull
#define TLB_NIBBLES_7 0x7777777777777777ull

struct vmm_tlb_entry {
	uint64_t tag;		/* linear base | page-size index; TLB_TAG_INVALID when empty */
	uint64_t pa;		/* physical base of the page (PWC: of the next table) */
	uint64_t stamp;		/* LRU: the CPU's tick (struct vmm_tlb.tick) at the last use */
	/* pcid, global and shift: what the counts of struct vmm_tlb_array and
	 * struct vmm_tlb depend on (tlb_class()), side by side */
	uint16_t pcid;
	uint8_t global;		/* G with CR4.PGE: matches every PCID */
	uint8_t shift;		/* page shift 12/21/30 (PWC: shift of the region) */
	uint8_t attr;		/* TLB_ATTR_* and the protection key */
	uint8_t pad[3];
	uint64_t leaf_pa;	/* checker: address of the leaf / cached entry */
	uint64_t path_hash;	/* checker: hash of the entries it was built from */
};

/*
 * The memo of one side (data or fetch): a direct-mapped table, indexed by
 * the linear page number, of L1 4 KiB entries that serve that page under
 * the current PCID. It is a host-side index of the L1 4 KiB array, not
 * simulated state: a slot names the entry that a lookup of the array would
 * return (the first way usable under the PCID), so that a hit needs one
 * compare instead of a set scan. Rights are still tested on every use.
 * Every fill or kill of a page forgets that page's slot, and a PCID switch
 * or a rights change forgets the whole memo (vmm_tlb_forget_memo()); only
 * the MMU, which knows the PCID, writes a slot. Tree-PLRU arrays are never
 * memoized: a memo hit records the use as an LRU stamp.
 */
#define TLB_MEMO_SLOTS 128

struct tlb_memo_slot {
	uint64_t page;			/* linear page base; TLB_TAG_INVALID when empty */
	struct vmm_tlb_entry *e;
};

static inline struct tlb_memo_slot *tlb_memo_slot(struct tlb_memo_slot *memo, uint64_t va)
{
	return &memo[(va >> 12) & (TLB_MEMO_SLOTS - 1)];
}

/*
 * Beside the entries, each set keeps a mask of its valid ways and a byte
 * per way, packed eight to a word: 0 for an empty way, else 0x80 | seven
 * bits of the tag (tlb_fp()). A lookup compares one word per eight ways
 * (tlb_fp_ways()) and reads the entries only of the ways whose byte
 * matches; a fill finds the first empty way in the mask. Both are host-side
 * indexes of the entries, not simulated state: vmm_tlb_array_check()
 * verifies them.
 *
 * A set is one block of memory: a header (struct tlb_set_hdr) with its
 * valid mask, its recency list (TLB_POL_LRU_LIST: its ways, most recently
 * used first, 4 bits each, 0xf in the positions past the last way) and
 * its fingerprint words, then its ways' entries. What a lookup or a fill
 * needs of a set is one multiply away, at offsets that do not depend on
 * the geometry.
 */
struct tlb_set_hdr {
	uint64_t valid;			/* bit w set when way w holds an entry */
	uint64_t list;			/* the recency list (TLB_POL_LRU_LIST) */
	uint64_t fp[8];			/* fingerprint bytes, eight ways a word (64 ways) */
};

struct vmm_tlb_array {
	char *blocks;			/* sets blocks of set_bytes (one dummy set when empty) */
	uint64_t *plru;			/* tree bits per set (tree-PLRU only) */
	struct tlb_memo_slot *memo;	/* the side's memo (L1 4 KiB arrays only), else NULL */
	uint32_t sets, ways, set_mask;
	uint32_t set_bytes;		/* a set's block: its header and its entries */
	uint32_t fp_words;		/* fingerprint words per set: ways / 8 rounded up */
	uint64_t all_ways;		/* the mask of a full set */
	uint64_t list_pad;		/* 0xf in the recency-list positions past the last way */
	uint32_t nvalid;		/* valid entries */
	uint32_t nvalid_sz[3];		/* valid entries by page-size index (tag & 3): a lookup
					 * for a size the array holds none of reads nothing */
	uint32_t policy;		/* enum tlb_policy_fast */
	uint32_t large_sides;		/* the sides whose counts of large-page entries
					 * (struct vmm_tlb.large) its take: 1 data, 2 fetch */
	const char *name;
};

/* Paging-structure caches, by level - 2. */
enum { PWC_PDE, PWC_PDPTE, PWC_PML4E, PWC_PML5E, PWC_NR };

/*
 * The last large-page L1 hit of one side (data or fetch): a host-side
 * shortcut past the large L1 arrays, not simulated state. It answers exactly as the
 * arrays would: anything that could change their answer forgets it (every
 * fill and kill, a PCID switch, a rights change; vmm_tlb_forget_last()).
 * A large page is remembered for its whole extent only while the smaller
 * L1 arrays of the side are empty (so no smaller entry can take over part
 * of it), else for the 4 KiB page that hit.
 */
struct tlb_last {
	uint64_t key;			/* (page base & mask) | access kind; TLB_TAG_INVALID: none */
	uint64_t mask;			/* the page-base mask of key */
	struct vmm_tlb_entry *e;	/* the L1 entry that hit */
	uint32_t sz;			/* its page-size index */
};

struct vmm_tlb {
	struct tlb_memo_slot memo[2][TLB_MEMO_SLOTS];	/* data, fetch */
	uint64_t tick;			/* LRU clock of every array */
	struct vmm_tlb_array itlb[3];	/* by page size */
	struct vmm_tlb_array dtlb[3];
	struct vmm_tlb_array stlb;	/* 4 KiB and 2 MiB */
	struct vmm_tlb_array stlb_1g;
	struct vmm_tlb_array pwc[PWC_NR];
	struct tlb_last last[2];	/* data, fetch */
	/*
	 * The PDE-cache entry the fast miss path (mmu.c) used last, and its
	 * way: a host-side shortcut past the PDE cache's lookup for the walks
	 * of one 2 MiB region in a row. It is trusted only while the entry
	 * holds the tag and PCID looked for, so nothing needs to forget it: a
	 * PWC entry is never global and a PWC set never holds two entries
	 * for one tag and PCID (every fill follows a lookup that missed).
	 */
	struct vmm_tlb_entry *pde_last;
	uint32_t pde_last_way;
	/* valid large-page entries (2 MiB, 1 GiB) a translation of each side
	 * (data, fetch) could meet: its L1's large arrays and the STLBs'. While
	 * a side has none, no lookup of it can end in one, and the last hit
	 * (struct tlb_last) is empty: the hot path's misses skip both. */
	uint32_t large[2];
	uint32_t pwc_entries;		/* PWC entries configured, all levels (0: no PWC) */
	uint32_t *pcid_count;		/* valid entries per PCID, TLB and PWC */
	uint64_t global_count;		/* valid global entries */
	struct vmm_prng *prng;		/* the machine's, for random replacement */
};

/* The tag of @va's page of size 2^@shift in size class @szidx. */
static inline uint64_t tlb_tag(uint64_t va, unsigned shift, unsigned szidx)
{
	return (va & ~((1ull << shift) - 1)) | szidx;
}

/* The block of set @set_idx. */
static inline char *tlb_block(const struct vmm_tlb_array *a, uint32_t set_idx)
{
	return a->blocks + (size_t)set_idx * a->set_bytes;
}

/* The first way of set @set_idx. */
static inline struct vmm_tlb_entry *tlb_set_base(const struct vmm_tlb_array *a, uint32_t set_idx)
{
	return (struct vmm_tlb_entry *)(void *)(tlb_block(a, set_idx) + sizeof(struct tlb_set_hdr));
}

/* The header of the set whose first way is @base. */
static inline struct tlb_set_hdr *tlb_set_hdr(const struct vmm_tlb_entry *base)
{
	return (struct tlb_set_hdr *)(void *)((char *)(uintptr_t)base - sizeof(struct tlb_set_hdr));
}

/* The valid mask and the recency list of the set whose first way is @base. */
static inline uint64_t *tlb_set_valid(const struct vmm_tlb_entry *base)
{
	return &tlb_set_hdr(base)->valid;
}

static inline uint64_t *tlb_set_list(const struct vmm_tlb_entry *base)
{
	return &tlb_set_hdr(base)->list;
}

/* Entry @k of @a, counting ways set by set (0 .. sets * ways - 1). */
static inline struct vmm_tlb_entry *tlb_entry_at(const struct vmm_tlb_array *a, size_t k)
{
	return tlb_set_base(a, (uint32_t)(k / a->ways)) + k % a->ways;
}

/* The fingerprint byte of a tag: 0x80 (a valid way) and seven bits mixed from the whole tag. */
static inline uint64_t tlb_fp(uint64_t tag)
{
	return 0x80 | (tag * 0x9e3779b97f4a7c15ull) >> 57;
}

#define TLB_BYTES_01 0x0101010101010101ull
#define TLB_BYTES_7F 0x7f7f7f7f7f7f7f7full

/*
 * The bytes of @word equal to @fp, as a mask with bit 7 of each such byte
 * set: XOR @fp into every byte and find the zero bytes exactly (adding 0x7f
 * to the low seven bits of a byte carries into its top bit unless they are
 * zero, and never into the next byte).
 */
static inline uint64_t tlb_fp_match(uint64_t word, uint64_t fp)
{
	uint64_t x = word ^ (fp * TLB_BYTES_01);

	return ~(((x & TLB_BYTES_7F) + TLB_BYTES_7F) | x) & ~TLB_BYTES_7F;
}

/*
 * The ways of set @set_idx whose fingerprint byte is @fp, as a mask (bit w
 * for way w): with SSE2, one 16-byte compare for up to 16 ways (a set's
 * header always has the bytes of 64); else tlb_fp_match() per word, its
 * bytes' top bits gathered into bits.
 */
static inline uint64_t *tlb_set_fpw(const struct vmm_tlb_array *a, uint32_t set_idx)
{
	return ((struct tlb_set_hdr *)(void *)tlb_block(a, set_idx))->fp;
}

/* The top bits of the bytes of @word that equal @fp, gathered into bits 0..7. */
static inline uint64_t tlb_fp_byte_bits(uint64_t word, uint64_t fp)
{
	return (tlb_fp_match(word, fp) >> 7) * 0x0102040810204080ull >> 56;
}

/*
 * tlb_fp_ways_at() of a set of at most 16 ways (@all_ways its mask), whose
 * first two fingerprint words the caller may read (a set's header has eight).
 */
static inline uint64_t tlb_fp_ways16(const uint64_t *fpw, uint64_t fp, uint64_t all_ways)
{
#ifdef __SSE2__
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)fpw);
	__m128i eq = _mm_cmpeq_epi8(v, _mm_set1_epi8((char)fp));

	return (uint64_t)(unsigned)_mm_movemask_epi8(eq) & all_ways;
#else
	return (tlb_fp_byte_bits(fpw[0], fp) | tlb_fp_byte_bits(fpw[1], fp) << 8) & all_ways;
#endif
}

/* tlb_fp_ways() of the set whose fingerprint words start at @fpw. */
static inline uint64_t tlb_fp_ways_at(const struct vmm_tlb_array *a, const uint64_t *fpw,
				      uint64_t fp)
{
	uint64_t ways = 0;

	if (likely(a->fp_words <= 2))
		return tlb_fp_ways16(fpw, fp, a->all_ways);
	for (uint32_t i = 0; i < a->fp_words; i++)
		ways |= tlb_fp_byte_bits(fpw[i], fp) << (8 * i);
	return ways;
}

static inline uint64_t tlb_fp_ways(const struct vmm_tlb_array *a, uint32_t set_idx, uint64_t fp)
{
	return tlb_fp_ways_at(a, tlb_set_fpw(a, set_idx), fp);
}

/*
 * The entry in the first of the ways @m (fingerprint matches) of the set
 * at @set that holds @tag usable under @pcid, its way in *@way; or NULL.
 */
static inline __attribute__((always_inline)) struct vmm_tlb_entry *
tlb_set_find_in(struct vmm_tlb_entry *set, uint64_t m, uint64_t tag, uint16_t pcid,
		uint32_t *way)
{
	for (; m; m &= m - 1) {
		struct vmm_tlb_entry *e = set + __builtin_ctzll(m);

		if (e->tag == tag && (e->pcid == pcid || e->global)) {
			*way = (uint32_t)__builtin_ctzll(m);
			return e;
		}
	}
	return NULL;
}

/*
 * The first way of the set at @set (fingerprint words @fpw) holding @tag
 * (fingerprint @fp) usable under @pcid, or NULL.
 */
static inline struct vmm_tlb_entry *tlb_set_find_at(const struct vmm_tlb_array *a,
						    struct vmm_tlb_entry *set, const uint64_t *fpw,
						    uint64_t tag, uint64_t fp, uint16_t pcid)
{
	uint32_t way;

	return tlb_set_find_in(set, tlb_fp_ways_at(a, fpw, fp), tag, pcid, &way);
}

/* The first way of set @set_idx holding @tag (fingerprint @fp) usable under @pcid, or NULL. */
static inline struct vmm_tlb_entry *tlb_set_find_fp(const struct vmm_tlb_array *a,
						    uint32_t set_idx, uint64_t tag, uint64_t fp,
						    uint16_t pcid)
{
	return tlb_set_find_at(a, tlb_set_base(a, set_idx), tlb_set_fpw(a, set_idx), tag, fp, pcid);
}

/* The first way of set @set_idx holding @tag usable under @pcid, or NULL. */
static inline struct vmm_tlb_entry *tlb_set_find(const struct vmm_tlb_array *a,
						 uint32_t set_idx, uint64_t tag, uint16_t pcid)
{
	return tlb_set_find_fp(a, set_idx, tag, tlb_fp(tag), pcid);
}

static inline uint32_t tlb_set_index(const struct vmm_tlb_array *a, uint64_t va, unsigned shift)
{
	return (uint32_t)(va >> shift) & a->set_mask;
}

/* The entry of @a for @tag usable under @pcid, or NULL. Replacement state is not touched. */
static inline struct vmm_tlb_entry *tlb_find(const struct vmm_tlb_array *a, uint64_t va,
					     unsigned shift, unsigned szidx, uint16_t pcid)
{
	if (!a->nvalid_sz[szidx])
		return NULL;
	return tlb_set_find(a, tlb_set_index(a, va, shift), tlb_tag(va, shift, szidx), pcid);
}

/*
 * A lookup that serves the fill after a miss: the set and tag it looked
 * at, so that the fill need not compute them again, and the entry found.
 */
struct tlb_probe {
	uint32_t set;			/* set index */
	uint64_t tag;
	uint64_t fp;			/* tlb_fp(tag) */
	struct vmm_tlb_entry *base;	/* the set's first way */
	uint64_t *fpw;			/* the set's fingerprint words */
	struct vmm_tlb_entry *hit;	/* the usable entry, or NULL */
};

/* Look for @va's page (tag @tag, fingerprint @fp) in @a, keeping what a fill needs in @p. */
static inline void tlb_probe_fp(const struct vmm_tlb_array *a, uint64_t va, unsigned shift,
				uint64_t tag, uint64_t fp, uint16_t pcid, struct tlb_probe *p)
{
	p->set = tlb_set_index(a, va, shift);
	p->tag = tag;
	p->fp = fp;
	p->base = tlb_set_base(a, p->set);
	p->fpw = tlb_set_fpw(a, p->set);
	p->hit = a->nvalid_sz[tag & 3] ? tlb_set_find_at(a, p->base, p->fpw, tag, fp, pcid) : NULL;
}

static inline void tlb_probe(const struct vmm_tlb_array *a, uint64_t va, unsigned shift,
			     unsigned szidx, uint16_t pcid, struct tlb_probe *p)
{
	uint64_t tag = tlb_tag(va, shift, szidx);

	tlb_probe_fp(a, va, shift, tag, tlb_fp(tag), pcid, p);
}

/* Drop the remembered last hits (struct tlb_last). */
static inline void vmm_tlb_forget_last(struct vmm_tlb *t)
{
	t->last[0].key = TLB_TAG_INVALID;
	t->last[1].key = TLB_TAG_INVALID;
}

/* Empty both memos (struct tlb_memo_slot): the PCID or the rights changed. */
void vmm_tlb_forget_memo(struct vmm_tlb *t);

/* Tree-PLRU: record a use of way @way of set @set of @a. */
void vmm_tlb_touch_slow(struct vmm_tlb_array *a, uint32_t set, uint32_t way);

/*
 * Move way @way to the front of recency list @list. Its position is the
 * one nibble of list ^ (way in every nibble) that is zero (found exactly,
 * as tlb_fp_ways() finds bytes); the nibbles before it move up one.
 */
static inline uint64_t tlb_list_use(uint64_t list, unsigned way)
{
	uint64_t x = list ^ (way * TLB_NIBBLES_1);
	uint64_t zero = ~(((x & TLB_NIBBLES_7) + TLB_NIBBLES_7) | x) & ~TLB_NIBBLES_7;
	unsigned pos = (unsigned)__builtin_ctzll(zero) & ~3u;	/* 4 * position */
	uint64_t before = list & ((1ull << pos) - 1);
	uint64_t after = list & ~((2ull << (pos + 3)) - 1);

	return after | before << 4 | way;
}

/*
 * Record a use of @e, way @way of its set, in an array of @t under a
 * recency list: its stamp, and its way first in the list.
 */
static inline __attribute__((always_inline)) void
tlb_list_touch(struct vmm_tlb *t, struct vmm_tlb_entry *e, uint32_t way)
{
	uint64_t *list = tlb_set_list(e - way);

	e->stamp = ++t->tick;
	/* a run of uses of one entry (a PDE-cache hit per walk) leaves the list as it is */
	if ((*list & 0xf) != way)
		*list = tlb_list_use(*list, way);
}

/*
 * Record a use of @e, way @way of set @set of @a (an array of @t), for the
 * replacement policy.
 */
static inline __attribute__((always_inline)) void
tlb_touch_at(struct vmm_tlb *t, struct vmm_tlb_array *a, uint32_t set, uint32_t way,
	     struct vmm_tlb_entry *e)
{
	if (likely(a->policy == TLB_POL_LRU)) {
		e->stamp = ++t->tick;
	} else if (a->policy == TLB_POL_LRU_LIST) {
		tlb_list_touch(t, e, way);
	} else if (a->policy == TLB_POL_PLRU) {
		vmm_tlb_touch_slow(a, set, way);
	}
}

/* Record a use of @e of @a (an array of @t) for the replacement policy. */
static inline void tlb_touch(struct vmm_tlb *t, struct vmm_tlb_array *a, struct vmm_tlb_entry *e)
{
	if (likely(a->policy == TLB_POL_LRU)) {
		e->stamp = ++t->tick;
	} else {
		uint32_t set = tlb_set_index(a, e->tag, e->shift);

		tlb_touch_at(t, a, set, (uint32_t)(e - tlb_set_base(a, set)), e);
	}
}

/* What a fill stores. */
struct tlb_fill {
	uint64_t va;
	uint64_t pa;
	uint64_t leaf_pa;
	uint64_t path_hash;
	unsigned szidx;
	uint16_t pcid;		/* pcid, global, shift: as in struct vmm_tlb_entry */
	uint8_t global;
	uint8_t shift;
	uint8_t attr;
	uint8_t fresh;		/* the caller found no entry for the page usable under pcid */
};

/* Count (@d = 1) or uncount (-1) an entry of @a with @tag in struct vmm_tlb.large. */
static inline void tlb_count_large(struct vmm_tlb *t, const struct vmm_tlb_array *a, uint64_t tag,
				   int d)
{
	if ((tag & 3) && a->large_sides) {
		if (a->large_sides & 1)
			t->large[0] += (uint32_t)d;
		if (a->large_sides & 2)
			t->large[1] += (uint32_t)d;
	}
}

/*
 * The pcid, global and shift of @p (an entry's or a fill's) as one word.
 * Within one array the shift gives the page-size index, so two entries
 * with one class count alike in every count.
 */
static inline uint32_t tlb_class(const uint16_t *p)
{
	uint32_t c;

	memcpy(&c, p, sizeof(c));
	return c;
}

/* The victim of a full set under tree-PLRU or random. */
uint32_t vmm_tlb_victim_slow(struct vmm_tlb *t, const struct vmm_tlb_array *a, uint32_t set);

/*
 * LRU: the way with the smallest stamp of the full 4-way set whose first way
 * is @s (stamps of valid ways are distinct), in two rounds of pairs.
 */
static inline uint32_t tlb_lru_victim4(const struct vmm_tlb_entry *s)
{
	uint32_t l = s[1].stamp < s[0].stamp, r = 2 + (s[3].stamp < s[2].stamp);

	return s[r].stamp < s[l].stamp ? r : l;
}

/*
 * LRU: the way with the smallest stamp of the full set of @a whose first
 * way is @s (stamps of valid ways are distinct). Four ways (the L1
 * DTLB's): tlb_lru_victim4().
 */
static inline uint32_t tlb_lru_victim_at(const struct vmm_tlb_array *a,
					 const struct vmm_tlb_entry *s)
{
	uint64_t oldest = s[0].stamp;
	uint32_t way = 0;

	if (likely(a->ways == 4))
		return tlb_lru_victim4(s);
	for (uint32_t w = 1; w < a->ways; w++) {
		bool older = s[w].stamp < oldest;	/* no branch: the winner is random */

		way = older ? w : way;
		oldest = older ? s[w].stamp : oldest;
	}
	return way;
}

/* tlb_lru_victim_at() of set @set. */
static inline uint32_t tlb_lru_victim(const struct vmm_tlb_array *a, uint32_t set)
{
	return tlb_lru_victim_at(a, tlb_set_base(a, set));
}

/*
 * The way a fill of a page that set @set does not hold takes: the first
 * empty way, else the policy's victim (a->ways must not be 0).
 */
static inline __attribute__((always_inline)) uint32_t tlb_fresh_way(struct vmm_tlb *t, const struct vmm_tlb_array *a,
				     uint32_t set)
{
	const struct vmm_tlb_entry *base = tlb_set_base(a, set);
	uint64_t empty = ~*tlb_set_valid(base) & a->all_ways;

	if (empty)
		return (uint32_t)__builtin_ctzll(empty);
	if (likely(a->policy == TLB_POL_LRU_LIST))
		return (uint32_t)(*tlb_set_list(base) >> (4 * (a->ways - 1))) & 0xf;
	if (likely(a->policy == TLB_POL_LRU))
		return tlb_lru_victim(a, set);
	return vmm_tlb_victim_slow(t, a, set);
}

/* Set the fingerprint byte of way @way of the set whose words start at @fpw to @fp (0: empty). */
static inline void tlb_set_fp(uint64_t *fpw, uint32_t way, uint64_t fp)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	((uint8_t *)(void *)fpw)[way] = (uint8_t)fp;	/* byte i of a word is bits 8i.. */
#else
	unsigned sh = 8 * (way % 8);

	fpw[way / 8] = (fpw[way / 8] & ~(0xffull << sh)) | fp << sh;
#endif
}

/* Move the counts of @a and @t from the entry @e (valid) to the fill @f (tag @tag). */
void vmm_tlb_recount(struct vmm_tlb *t, struct vmm_tlb_array *a, const struct vmm_tlb_entry *e,
		     uint64_t tag, const struct tlb_fill *f);

/*
 * Put @f (tag @tag) into way @way of the set whose first way is @base
 * (fingerprint words @fpw), which held nothing or what it replaces; the
 * caller has forgotten the last hits (vmm_tlb_forget_last()) and records
 * the use (tlb_touch()). The counts change only where the old and the new
 * entry differ, which one compare of their classes tells. Without @memo
 * the caller vouches that @a keeps no memo.
 */
static inline __attribute__((always_inline)) struct vmm_tlb_entry *
tlb_put(struct vmm_tlb *t, struct vmm_tlb_array *a, struct vmm_tlb_entry *base, uint64_t *fpw,
	uint32_t way, uint64_t tag, uint64_t fp, const struct tlb_fill *f, const bool memo)
{
	struct vmm_tlb_entry *e = base + way;
	uint64_t old = e->tag;

	if (old != TLB_TAG_INVALID) {	/* what vmm_tlb_kill() would count */
		if (unlikely(tlb_class(&e->pcid) != tlb_class(&f->pcid)))
			vmm_tlb_recount(t, a, e, tag, f);
		if (memo && a->memo)
			tlb_memo_slot(a->memo, old)->page = TLB_TAG_INVALID;
	} else {
		a->nvalid++;
		*tlb_set_valid(base) |= 1ull << way;
		a->nvalid_sz[tag & 3]++;
		tlb_count_large(t, a, tag, 1);
		t->pcid_count[f->pcid]++;
		t->global_count += f->global;
	}
	if (memo && a->memo)
		tlb_memo_slot(a->memo, tag)->page = TLB_TAG_INVALID;
	tlb_set_fp(fpw, way, fp);
	e->tag = tag;
	e->pa = f->pa;
	memcpy(&e->pcid, &f->pcid, sizeof(uint32_t));	/* pcid, global, shift */
	e->attr = f->attr;
	e->leaf_pa = f->leaf_pa;
	e->path_hash = f->path_hash;
	return e;
}

/* tlb_put() and the use. */
static inline __attribute__((always_inline)) struct vmm_tlb_entry *
tlb_install(struct vmm_tlb *t, struct vmm_tlb_array *a, uint32_t set, uint32_t way, uint64_t tag,
	    uint64_t fp, const struct tlb_fill *f)
{
	struct vmm_tlb_entry *e =
		tlb_put(t, a, tlb_set_base(a, set), tlb_set_fpw(a, set), way, tag, fp, f, true);

	tlb_touch_at(t, a, set, way, e);
	return e;
}

/*
 * A fresh fill into set @set: the first empty way, else the policy's
 * victim. The victim of a recency list is its last way, which the use
 * moves to the front: the list turns by one way.
 */
static inline __attribute__((always_inline)) struct vmm_tlb_entry *
tlb_fill_set(struct vmm_tlb *t, struct vmm_tlb_array *a, uint32_t set, struct vmm_tlb_entry *base,
	     uint64_t *fpw, uint64_t tag, uint64_t fp, const struct tlb_fill *f, const bool memo)
{
	struct vmm_tlb_entry *e;
	uint32_t way;

	if (likely(a->policy == TLB_POL_LRU_LIST) && !(~*tlb_set_valid(base) & a->all_ways)) {
		uint64_t list = *tlb_set_list(base);

		way = (uint32_t)(list >> (4 * (a->ways - 1))) & 0xf;

		e = tlb_put(t, a, base, fpw, way, tag, fp, f, memo);
		e->stamp = ++t->tick;
		*tlb_set_list(base) = list << 4 | way | a->list_pad;
		return e;
	}
	way = tlb_fresh_way(t, a, set);
	e = tlb_put(t, a, base, fpw, way, tag, fp, f, memo);
	tlb_touch_at(t, a, set, way, e);
	return e;
}

/*
 * A fill of a page @a holds no entry for usable under f->pcid (vmm_tlb_fill()
 * with f->fresh); returns the new entry, NULL when @a has no entries.
 */
static inline struct vmm_tlb_entry *tlb_fill_fresh(struct vmm_tlb *t, struct vmm_tlb_array *a,
						   const struct tlb_fill *f)
{
	uint64_t tag = tlb_tag(f->va, f->shift, f->szidx);
	uint32_t set;

	if (!a->ways)
		return NULL;
	vmm_tlb_forget_last(t);
	set = tlb_set_index(a, f->va, f->shift);
	return tlb_fill_set(t, a, set, tlb_set_base(a, set), tlb_set_fpw(a, set), tag, tlb_fp(tag),
			    f, true);
}

int vmm_tlb_init(struct vmm_tlb *t, const struct vmm_config *cfg, struct vmm_prng *prng,
		 struct vmm_hostmem *hm);
void vmm_tlb_destroy(struct vmm_tlb *t, struct vmm_hostmem *hm);

/*
 * Insert a translation into @a, replacing the entry for the same page that
 * is usable under the PCID if any, else an empty way, else the policy's
 * victim. Does nothing for an array without entries. With f->fresh the
 * caller vouches that no such entry exists (a lookup just missed), so the
 * first empty way ends the search. Returns the new entry, NULL when @a has
 * no entries.
 */
struct vmm_tlb_entry *vmm_tlb_fill(struct vmm_tlb *t, struct vmm_tlb_array *a,
				   const struct tlb_fill *f);

/*
 * A fresh fill into the set @p looked at (tlb_probe() missed, for the same
 * page, and nothing changed the set since): no second look at the set. The
 * caller has forgotten the last hits (vmm_tlb_forget_last()); without
 * @memo it vouches that @a keeps no memo.
 */
static inline __attribute__((always_inline)) struct vmm_tlb_entry *
tlb_fill_probed(struct vmm_tlb *t, struct vmm_tlb_array *a, const struct tlb_probe *p,
		const struct tlb_fill *f, const bool memo)
{
	if (!a->ways)
		return NULL;
	return tlb_fill_set(t, a, p->set, p->base, p->fpw, p->tag, p->fp, f, memo);
}

/* How an invalidation treats global entries. */
enum tlb_globals {
	TLB_KEEP_GLOBAL,	/* global entries survive */
	TLB_GLOBAL_TOO,		/* global entries go as well */
};

/*
 * Drop TLB entries for the page(s) containing @va (all page sizes) that
 * belong to @pcid (any PCID when @all_pcids), global ones only with
 * TLB_GLOBAL_TOO. Returns the number dropped.
 */
unsigned vmm_tlb_flush_va(struct vmm_tlb *t, uint64_t va, uint16_t pcid, bool all_pcids,
			  enum tlb_globals g);
/*
 * Drop TLB entries overlapping [start, end) (linear, end exclusive; end 0
 * means the whole space) of @pcid or every PCID, with globals as @g.
 */
unsigned vmm_tlb_flush_range(struct vmm_tlb *t, uint64_t start, uint64_t end, uint16_t pcid,
			     bool all_pcids, enum tlb_globals g);
/* Drop every paging-structure-cache entry of @pcid (or of every PCID). */
unsigned vmm_pwc_flush(struct vmm_tlb *t, uint16_t pcid, bool all_pcids);
/*
 * Drop the paging-structure-cache entries that would be used for @va under
 * @pcid with @levels-level paging (the current mode).
 */
unsigned vmm_pwc_flush_va(struct vmm_tlb *t, uint64_t va, uint16_t pcid, unsigned levels);

/* Drop @e of @a (keeping the per-PCID and per-array counts right). */
void vmm_tlb_kill(struct vmm_tlb *t, struct vmm_tlb_array *a, struct vmm_tlb_entry *e);

/* Whether @t may hold entries of @pcid (or global entries, with @global). */
static inline bool vmm_tlb_may_cache(const struct vmm_tlb *t, uint16_t pcid, bool all_pcids,
				     bool global)
{
	uint64_t n = 0;

	if (all_pcids) {
		for (unsigned p = 0; p < TLB_NR_PCIDS && !n; p++)
			n += t->pcid_count[p];
	} else {
		n = t->pcid_count[pcid];
	}
	return n || (global && t->global_count);
}

/*
 * Call @fn on every valid entry of every array (TLB, then PWC), as the sets'
 * valid masks name them; @pwc_level is 0 for TLB arrays.
 */
typedef void (*tlb_visit_fn)(void *data, struct vmm_tlb_array *a, struct vmm_tlb_entry *e,
			     unsigned pwc_level);
void vmm_tlb_for_each(struct vmm_tlb *t, tlb_visit_fn fn, void *data);

/*
 * Structural checks of one array: every valid entry sits in the set its tag
 * indexes, has the array's page size, an aligned physical address, and no
 * twin (another entry for its page that is global as it is, or non-global
 * of its PCID; a global and a non-global entry for one page are legal); the
 * valid masks, fingerprints, recency lists and counts describe the entries.
 * Returns problems.
 */
long vmm_tlb_array_check(const struct vmm_tlb_array *a, bool pwc, FILE *out);

#endif /* VMM_SIM_TLB_H */
