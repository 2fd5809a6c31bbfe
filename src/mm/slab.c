/* SPDX-License-Identifier: MIT */
/*
 * The slab allocator (seed 001 section 2.6; Linux 2.6.34's SLAB).
 *
 * Caches keep per-CPU arrays of free objects (LIFO), a shared array per
 * node, and per-node lists of full, partial and free slabs. An allocation
 * pops the current CPU's array; an empty array is refilled with up to
 * batchcount objects from the shared array or the slabs (cache_alloc_refill),
 * growing the cache by one slab when there are none (cache_grow). A free
 * pushes onto the array; a full array first gives batchcount objects back
 * (cache_flusharray, free_block), and a slab that empties is freed once the
 * node holds more than free_limit free objects. A timer per CPU
 * (cache_reap) trims idle arrays and surplus free slabs.
 *
 * Differences from 2.6.34, each as a later Linux does it or documented:
 * - the kmalloc caches are 8..8192 with 96 and 192, word aligned, and
 *   larger kmallocs are compound pages (kmalloc.c);
 * - multi-page slabs are compound pages;
 * - a free of an object whose slab is on another node goes straight to
 *   that node's lists (Linux with noaliencache);
 * - kmem_cache_free() with the wrong cache reports it and frees into the
 *   object's own cache, as cache_from_obj() does;
 * - a slab whose management area was overwritten is reported and taken out
 *   of use (its pages stay allocated), so the cache stays usable.
 *
 * The simulated struct slab holds colouroff, s_mem, inuse, free and nodeid
 * at Linux's offsets; its list_head stays zero because the lists are
 * linked through the head page's lru, as in kernels since 5.17.
 */
#include "mm/slab.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/errors.h>

#include <xxhash.h>

#include "lib/compiler.h"
#include "lib/sort.h"
#include "machine.h"
#include "mm/page_alloc.h"
#include "mm/sparse.h"
#include "mm/vmstat.h"
#include "sim/physmem.h"

/* Offsets in the simulated struct slab. */
#define SLAB_OFF_COLOUROFF 16
#define SLAB_OFF_SMEM 24
#define SLAB_OFF_INUSE 32
#define SLAB_OFF_FREE 36
#define SLAB_OFF_NODEID 40

#define REAPTIMEOUT_AC(m) (2ull * (m)->cfg.hz)
#define REAPTIMEOUT_LIST3(m) (4ull * (m)->cfg.hz)

/* What a debug cache's fast paths find for every CPU: no object to take, no room (const). */
static const struct vmm_array_cache slab_no_array;

/*
 * kfree()'s guess before kmalloc has made one, or after its cache went: a cache no
 * page matches (the self_fast of a debug cache), so that the guess needs no NULL test.
 */
static const struct vmm_kmem_cache slab_no_cache = { .self_fast = 1 };

/* GFP bits that make no sense for slab memory (GFP_SLAB_BUG_MASK, plus __GFP_COMP). */
#define SLAB_GFP_BUG (VMM_GFP_HIGHMEM | VMM_GFP_COMP)
/* ... with the unknown ones: what a slab allocation must not carry (vmm_slab.bad_gfp) */
#define SLAB_BAD_GFP (SLAB_GFP_BUG | ~VMM_GFP_KNOWN_MASK)
/* GFP bits that send kmem_cache_alloc() the careful way: an immediate, not a load */
#define SLAB_FAST_REJECT (SLAB_BAD_GFP | VMM_GFP_ZERO)
/* ... and vmm_kmalloc(), which leaves the DMA caches to the slow path too */
#define SLAB_KMALLOC_SLOW_GFP (SLAB_FAST_REJECT | VMM_GFP_DMA)

/* ------------------------------------------------------------------ */
/* Simulated memory and page helpers                                   */
/* ------------------------------------------------------------------ */

static inline uint8_t *kmem(struct vmm_machine *m, vmm_vaddr_t addr)
{
	return m->phys.base + (addr - m->slab.page_offset);
}

static inline vmm_vaddr_t pfn_kaddr(struct vmm_machine *m, uint64_t pfn)
{
	return m->slab.page_offset + (pfn << VMM_PAGE_SHIFT);
}

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void wr64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline int cpu_nid(struct vmm_machine *m)
{
	return (int)m->mmu.cpus[m->current_cpu].nid;
}

/* A slab's head page: private = cache id << 40 | physical address of the management area. */
#define SLAB_MGMT_PA_MASK ((1ull << 40) - 1)

static inline unsigned cache_id_of(const struct vmm_page *head)
{
	return (unsigned)(head->private >> 40);
}

/* The head page of the slab holding @obj when it may be one (no validity checks), or NULL. */
static inline struct vmm_page *fast_head(struct vmm_machine *m, vmm_vaddr_t obj, uint64_t *pfn)
{
	struct vmm_page *page;

	*pfn = (obj - m->slab.page_offset) >> VMM_PAGE_SHIFT;
	if (unlikely(*pfn >= m->slab.max_pfn))
		return NULL;
	page = pfn_to_page(&m->sparse, *pfn);
	if (page->compound & VMM_PAGE_TAIL) {
		*pfn -= page->compound & VMM_PAGE_TAIL_OFFSET;
		page -= page->compound & VMM_PAGE_TAIL_OFFSET;
	}
	return page;
}

/* The same for any address, checked: NULL unless its frame has a page descriptor. */
static struct vmm_page *slab_head_of(struct vmm_machine *m, vmm_vaddr_t addr, uint64_t *head_pfn)
{
	uint64_t pfn = (addr - m->slab.page_offset) >> VMM_PAGE_SHIFT;

	if (pfn >= m->slab.max_pfn || !vmm_sparse_pfn_valid(&m->sparse, pfn))
		return NULL;
	return fast_head(m, addr, head_pfn);
}

/* The first object's buffer (s_mem), kept in the head page's index. */
static inline vmm_vaddr_t slab_s_mem(const struct vmm_page *head)
{
	return head->index;
}

static inline uint8_t *slab_mgmt(struct vmm_machine *m, const struct vmm_page *head)
{
	return m->phys.base + (head->private & SLAB_MGMT_PA_MASK);
}

static inline uint8_t *bufctl_at(uint8_t *mgmt, uint32_t i)
{
	return mgmt + SLAB_STRUCT_SLAB + (size_t)i * SLAB_BUFCTL;
}

static inline uint32_t slab_inuse(uint8_t *mgmt)
{
	return rd32(mgmt + SLAB_OFF_INUSE);
}

static inline uint32_t slab_free_idx(uint8_t *mgmt)
{
	return rd32(mgmt + SLAB_OFF_FREE);
}

/*
 * @offset / size when @offset is a multiple of a cache's object size, else a
 * number above any slab's object count (@div_inv and @div_shift: the cache's).
 * With size = d0 * 2^k (d0 odd) and v the inverse of d0 mod 2^64, an offset
 * x is a multiple of size exactly when rotating x * v right by k gives at
 * most (2^64 - 1) / size, and then that is x / size (Granlund and
 * Montgomery's divisibility test). A slab's num objects lie far below that
 * bound, so one compare with num tests both the multiple and the range, for
 * any x (an @obj below the slab wraps to a huge x).
 */
static inline uint64_t obj_offset_index(uint64_t offset, uint64_t div_inv, unsigned div_shift)
{
	uint64_t x = offset * div_inv;

	return (x >> div_shift) | (x << ((64 - div_shift) & 63));
}

/* Object index of @obj in its slab, and whether it is an object's start. */
static inline bool obj_index(const struct vmm_kmem_cache *c, vmm_vaddr_t s_mem, vmm_vaddr_t obj,
			     uint64_t *idx)
{
	*idx = obj_offset_index(obj - s_mem, c->div_inv, c->div_shift);
	return likely(*idx < c->num_objs);
}

/* The inverse of odd @d mod 2^64: Newton's iteration doubles the good bits (3 to start). */
static uint64_t inverse_odd(uint64_t d)
{
	uint64_t v = d;

	for (int i = 0; i < 5; i++)
		v *= 2 - d * v;
	return v;
}

static inline uint32_t obj_to_index(const struct vmm_kmem_cache *c, vmm_vaddr_t s_mem,
				    vmm_vaddr_t obj)
{
	uint64_t q;

	return obj_index(c, s_mem, obj, &q) ? (uint32_t)q : UINT32_MAX;
}

static inline unsigned page_nid(struct vmm_machine *m, uint64_t pfn)
{
	return pfn_to_pageblock(&m->sparse, pfn)->nid;
}

static inline unsigned nr_cpus_node(struct vmm_machine *m, unsigned nid)
{
	unsigned n = 0;

	for (unsigned c = 0; c < m->nr_cpus; c++)
		n += m->mmu.cpus[c].nid == nid;
	return n;
}

static void charge(struct vmm_machine *m, uint64_t cycles)
{
	vmm_charge(m, VMM_CYC_SLAB, cycles);
}

/*
 * Charge a fast path's cycles; true when machine time has reached a timer,
 * which the caller fires last (vmm_timers_run() or timers_then()) so that
 * the call is a tail call and the fast path needs no stack frame.
 */
static inline bool charge_due(struct vmm_machine *m, uint64_t cycles)
{
	struct vmm_cpu_clock *clk = m->clock.by_cpu[m->current_cpu];

	return unlikely(vmm_cpu_clock_charge_due(clk, VMM_CYC_SLAB, cycles));
}

static inline void charge_poll(struct vmm_machine *m, uint64_t cycles)
{
	if (charge_due(m, cycles))
		vmm_timers_run(m);
}

void vmm_slab_error(struct vmm_machine *m, struct vmm_kmem_cache *c, const char *fmt, ...)
{
	char msg[448];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vmm_guest_err(&m->log, "slab error in %s: %s", c ? c->name : "kmalloc", msg);
	m->slab.errors++;
	if (c)
		c->errors++;
}

/* ------------------------------------------------------------------ */
/* Layout: cache_estimate and calculate_slab_order                     */
/* ------------------------------------------------------------------ */

static size_t slab_mgmt_size(size_t nr_objs, size_t align)
{
	return ALIGN_UP(SLAB_STRUCT_SLAB + nr_objs * SLAB_BUFCTL, align);
}

void vmm_slab_estimate(unsigned gfporder, size_t buffer_size, size_t align, bool off_slab,
		       size_t *left_over, unsigned *num)
{
	size_t slab_size = (size_t)VMM_PAGE_SIZE << gfporder, mgmt, nr;

	if (off_slab) {
		mgmt = 0;
		nr = slab_size / buffer_size;
	} else {
		/* ignoring the padding first may give one object too many */
		nr = slab_size >= SLAB_STRUCT_SLAB ?
			     (slab_size - SLAB_STRUCT_SLAB) / (buffer_size + SLAB_BUFCTL) :
			     0;
		if (nr && slab_mgmt_size(nr, align) + nr * buffer_size > slab_size)
			nr--;
		mgmt = slab_mgmt_size(nr, align);
	}
	if (nr > SLAB_LIMIT)
		nr = SLAB_LIMIT;
	*num = (unsigned)nr;
	*left_over = slab_size - nr * buffer_size - mgmt;
}

static size_t calculate_slab_order(struct vmm_machine *m, struct vmm_kmem_cache *c, size_t size,
				   size_t align, bool off_slab)
{
	size_t left_over = 0;

	for (unsigned order = 0; order <= SLAB_MAX_ORDER; order++) {
		size_t remainder;
		unsigned num;

		vmm_slab_estimate(order, size, align, off_slab, &remainder, &num);
		if (!num)
			continue;
		/* an off-slab descriptor must itself fit a smaller cache */
		if (off_slab && num > (size - SLAB_STRUCT_SLAB) / SLAB_BUFCTL)
			break;
		c->num = num;
		c->gfporder = order;
		left_over = remainder;
		if (c->flags & VMM_SLAB_RECLAIM_ACCOUNT)
			break;
		if (order >= m->slab.break_gfp_order)
			break;
		if (left_over * 8 <= ((size_t)VMM_PAGE_SIZE << order))
			break;
	}
	return left_over;
}

/* ------------------------------------------------------------------ */
/* Array caches and node lists                                         */
/* ------------------------------------------------------------------ */

static void free_block(struct vmm_kmem_cache *c, const vmm_vaddr_t *objs, unsigned n);

static struct vmm_array_cache *alloc_arraycache(struct vmm_machine *m, int nid, uint32_t entries,
						uint32_t batch, bool shadow)
{
	struct vmm_array_cache *ac;

	ac = vmm_hzalloc(&m->hm, sizeof(*ac) + entries * sizeof(ac->entry[0]));
	if (!ac)
		return NULL;
	ac->limit = ac->capacity = entries;
	ac->batchcount = batch;
	if (shadow) {
		ac->shadow = vmm_kmalloc_node(m, SLAB_ARRAY_CACHE_HDR + (size_t)entries * 8,
					      VMM_GFP_KERNEL, nid);
		if (!ac->shadow) {
			vmm_hfree(&m->hm, ac, sizeof(*ac) + entries * sizeof(ac->entry[0]));
			return NULL;
		}
	}
	return ac;
}

/* Give @ac's objects back to their slabs and free it. */
static void free_arraycache(struct vmm_kmem_cache *c, struct vmm_array_cache *ac)
{
	struct vmm_machine *m = c->m;

	if (!ac)
		return;
	free_block(c, ac->entry, ac->avail);
	if (ac->shadow)
		vmm_kfree(m, ac->shadow);
	vmm_hfree(&m->hm, ac, sizeof(*ac) + ac->capacity * sizeof(ac->entry[0]));
}

static void l3_init(struct vmm_machine *m, struct vmm_kmem_cache *c, struct vmm_kmem_list3 *l3)
{
	vmm_list_init(&l3->slabs_partial);
	vmm_list_init(&l3->slabs_full);
	vmm_list_init(&l3->slabs_free);
	l3->next_reap = vmm_jiffies(m) + REAPTIMEOUT_LIST3(m) + c->id % REAPTIMEOUT_LIST3(m);
	l3->colour_next = 0;
}

/* alloc_kmemlist(): per node, the list head and a shared array of the new size. */
static int alloc_kmemlist(struct vmm_kmem_cache *c)
{
	struct vmm_machine *m = c->m;

	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		struct vmm_kmem_list3 *l3 = c->nodelists[nid];
		struct vmm_array_cache *shared = NULL;

		if (c->shared) {
			shared = alloc_arraycache(m, (int)nid, c->shared * c->batchcount, 0xbaadf00d,
						  m->slab.up >= SLAB_EARLY);
			if (!shared)
				return -VMM_ENOMEM;
		}
		if (!l3) {
			l3 = vmm_hzalloc(&m->hm, sizeof(*l3));
			if (!l3) {
				free_arraycache(c, shared);
				return -VMM_ENOMEM;
			}
			l3_init(m, c, l3);
			c->nodelists[nid] = l3;
		}
		if (!l3->shadow && m->slab.up >= SLAB_EARLY) {
			l3->shadow = vmm_kmalloc_node(m, SLAB_KMEM_LIST3, VMM_GFP_KERNEL, (int)nid);
			if (!l3->shadow) {
				free_arraycache(c, shared);
				return -VMM_ENOMEM;
			}
		}
		if (l3->shared)
			free_arraycache(c, l3->shared);
		l3->shared = shared;
		l3->free_limit = (1 + nr_cpus_node(m, nid)) * c->batchcount + c->num;
	}
	return 0;
}

/* Grow a scratch buffer to @n elements of @size bytes. */
static int scratch_reserve(struct vmm_machine *m, void **buf, size_t *cap, size_t n, size_t size)
{
	void *p;

	if (n <= *cap)
		return 0;
	p = vmm_hrealloc(&m->hm, *buf, *cap * size, n * size);
	if (!p)
		return -VMM_ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

/* do_tune_cpucache(): new per-CPU arrays and shared arrays of the given sizes. */
static int do_tune_cpucache(struct vmm_kmem_cache *c, uint32_t limit, uint32_t batchcount,
			    uint32_t shared)
{
	struct vmm_machine *m = c->m;
	struct vmm_array_cache **fresh;
	bool shadow = m->slab.up >= SLAB_EARLY;
	int err = -VMM_ENOMEM;

	if (scratch_reserve(m, (void **)&m->slab.scratch, &m->slab.scratch_cap,
			    (size_t)m->nr_cpus * limit + (size_t)m->nr_nodes * shared * batchcount,
			    sizeof(vmm_vaddr_t)))
		return -VMM_ENOMEM;
	fresh = vmm_hcalloc(&m->hm, m->nr_cpus, sizeof(*fresh));
	if (!fresh)
		return -VMM_ENOMEM;
	for (unsigned cpu = 0; cpu < m->nr_cpus; cpu++) {
		fresh[cpu] = alloc_arraycache(m, (int)m->mmu.cpus[cpu].nid, limit, batchcount, shadow);
		if (!fresh[cpu])
			goto fail;
	}
	c->limit = limit;
	c->batchcount = batchcount;
	c->shared = shared;
	for (unsigned cpu = 0; cpu < m->nr_cpus; cpu++) {
		struct vmm_array_cache *old = c->array[cpu];

		c->array[cpu] = fresh[cpu];
		fresh[cpu] = old;
	}
	for (unsigned cpu = 0; cpu < m->nr_cpus; cpu++)
		free_arraycache(c, fresh[cpu]);
	vmm_hfree(&m->hm, fresh, m->nr_cpus * sizeof(*fresh));
	return alloc_kmemlist(c);
fail:
	for (unsigned cpu = 0; cpu < m->nr_cpus; cpu++)
		if (fresh[cpu])
			free_arraycache(c, fresh[cpu]);
	vmm_hfree(&m->hm, fresh, m->nr_cpus * sizeof(*fresh));
	return err;
}

/* enable_cpucache(): the array sizes Linux picks from the object size. */
static int enable_cpucache(struct vmm_kmem_cache *c)
{
	struct vmm_machine *m = c->m;
	uint32_t limit, shared = 0;

	if (c->buffer_size > 131072)
		limit = 1;
	else if (c->buffer_size > VMM_PAGE_SIZE)
		limit = 8;
	else if (c->buffer_size > 1024)
		limit = 24;
	else if (c->buffer_size > 256)
		limit = 54;
	else
		limit = 120;
	if (c->buffer_size <= VMM_PAGE_SIZE && m->nr_cpus > 1)
		shared = 8;
	/* CONFIG_DEBUG_SLAB keeps batches short */
	if (c->slow && limit > 32)
		limit = 32;
	return do_tune_cpucache(c, limit, (limit + 1) / 2, shared);
}

/* setup_cpu_cache(): boot-sized arrays until the kmalloc caches exist. */
static int setup_cpu_cache(struct vmm_kmem_cache *c)
{
	struct vmm_machine *m = c->m;

	if (m->slab.up == SLAB_FULL)
		return enable_cpucache(c);
	c->limit = SLAB_BOOT_CPUCACHE_ENTRIES;
	c->batchcount = 1;
	c->shared = 0;
	for (unsigned cpu = 0; cpu < m->nr_cpus; cpu++) {
		c->array[cpu] = alloc_arraycache(m, 0, SLAB_BOOT_CPUCACHE_ENTRIES, 1, false);
		if (!c->array[cpu])
			return -VMM_ENOMEM;
	}
	return alloc_kmemlist(c);
}

/* ------------------------------------------------------------------ */
/* Debugging: red zones, poison, last owner                            */
/* ------------------------------------------------------------------ */

static inline uint8_t *rz1(struct vmm_kmem_cache *c, uint8_t *buf)
{
	(void)c;
	return buf;
}

static inline uint8_t *rz2(struct vmm_kmem_cache *c, uint8_t *buf)
{
	return buf + c->buffer_size - ((c->flags & VMM_SLAB_STORE_USER) ? 16 : 8);
}

static inline uint8_t *user_word(struct vmm_kmem_cache *c, uint8_t *buf)
{
	return buf + c->buffer_size - 8;
}

static void poison_obj(struct vmm_kmem_cache *c, uint8_t *buf, uint8_t val)
{
	uint8_t *p = buf + c->obj_offset;

	memset(p, val, c->obj_size);
	p[c->obj_size - 1] = SLAB_POISON_END;
}

static void charge_debug(struct vmm_kmem_cache *c)
{
	charge(c->m, (uint64_t)c->m->clock.cost.slab_debug_per_line *
			     ((c->buffer_size + SLAB_CACHE_LINE - 1) / SLAB_CACHE_LINE));
}

/* The last owner, for reports: "alloc #N on cpu C" from the STORE_USER word. */
static void describe_user(struct vmm_kmem_cache *c, uint8_t *buf, char *out, size_t n)
{
	uint64_t w;

	if (!(c->flags & VMM_SLAB_STORE_USER)) {
		snprintf(out, n, "no owner tracking");
		return;
	}
	w = rd64(user_word(c, buf));
	if (!w)
		snprintf(out, n, "never allocated");
	else
		snprintf(out, n, "last %s #%" PRIu64 " on cpu %u", (w >> 63) ? "free" : "alloc",
			 (uint64_t)(w & 0xffffffffffffull), (unsigned)((w >> 48) & 0x7fff));
}

static void store_user(struct vmm_kmem_cache *c, uint8_t *buf, bool freeing)
{
	struct vmm_machine *m = c->m;

	if (c->flags & VMM_SLAB_STORE_USER)
		wr64(user_word(c, buf), (freeing ? 1ull << 63 : 0) |
						((uint64_t)(m->current_cpu & 0x7fff) << 48) |
						(++m->slab.serial & 0xffffffffffffull));
}

/* Bytes of a free object's poison that differ from the pattern: first offset and count. */
static uint32_t poison_damage(struct vmm_kmem_cache *c, uint8_t *buf, uint8_t val, uint32_t *first)
{
	const uint64_t word = 0x0101010101010101ull * val;
	uint8_t *p = buf + c->obj_offset;
	uint32_t bad = 0, i = 0, body = c->obj_size - 1;

	/* the common case, intact poison, a word at a time */
	for (; i + 8 <= body; i += 8)
		if (rd64(p + i) != word)
			break;
	for (; i < c->obj_size; i++) {
		uint8_t want = i == body ? SLAB_POISON_END : val;

		if (p[i] != want && !bad++)
			*first = i;
	}
	return bad;
}

/* cache_alloc_debugcheck_after(): poison and red zones of an object being handed out. */
static void debug_after_alloc(struct vmm_kmem_cache *c, vmm_vaddr_t obj)
{
	uint8_t *buf = kmem(c->m, obj - c->obj_offset);
	char who[96];

	charge_debug(c);
	if (c->flags & VMM_SLAB_POISON) {
		uint32_t first = 0, bad = poison_damage(c, buf, SLAB_POISON_FREE, &first);

		if (bad) {
			describe_user(c, buf, who, sizeof(who));
			vmm_slab_error(c->m, c,
				       "use after free: object %#" PRIx64 " was written while free: %u "
				       "byte(s) changed, first at offset %u (%s)",
				       obj, bad, first, who);
		}
		poison_obj(c, buf, SLAB_POISON_INUSE);
	}
	if (c->flags & VMM_SLAB_RED_ZONE) {
		uint64_t a = rd64(rz1(c, buf)), b = rd64(rz2(c, buf));

		if (a != SLAB_RED_INACTIVE || b != SLAB_RED_INACTIVE) {
			describe_user(c, buf, who, sizeof(who));
			vmm_slab_error(c->m, c,
				       "red zone of free object %#" PRIx64 " overwritten "
				       "(%#" PRIx64 "/%#" PRIx64 ") (%s)",
				       obj, a, b, who);
		}
		wr64(rz1(c, buf), SLAB_RED_ACTIVE);
		wr64(rz2(c, buf), SLAB_RED_ACTIVE);
	}
	store_user(c, buf, false);
	if (c->ctor && (c->flags & VMM_SLAB_POISON))
		c->ctor(c, obj, kmem(c->m, obj));
}

/*
 * cache_free_debugcheck(): false when the free must not go ahead (a double
 * free); a red zone overwritten around a live object is reported and repaired.
 */
static bool debug_before_free(struct vmm_kmem_cache *c, vmm_vaddr_t obj)
{
	uint8_t *buf = kmem(c->m, obj - c->obj_offset);
	char who[96];

	charge_debug(c);
	if (c->flags & VMM_SLAB_RED_ZONE) {
		uint64_t a = rd64(rz1(c, buf)), b = rd64(rz2(c, buf));

		if (a == SLAB_RED_INACTIVE && b == SLAB_RED_INACTIVE) {
			describe_user(c, buf, who, sizeof(who));
			vmm_slab_error(c->m, c, "double free of object %#" PRIx64 " (%s)", obj, who);
			return false;
		}
		if (a != SLAB_RED_ACTIVE || b != SLAB_RED_ACTIVE) {
			describe_user(c, buf, who, sizeof(who));
			vmm_slab_error(c->m, c,
				       "memory outside object %#" PRIx64 " was overwritten: red zones "
				       "%#" PRIx64 "/%#" PRIx64 " (%s)",
				       obj, a, b, who);
		}
		wr64(rz1(c, buf), SLAB_RED_INACTIVE);
		wr64(rz2(c, buf), SLAB_RED_INACTIVE);
	}
	store_user(c, buf, true);
	if (c->flags & VMM_SLAB_POISON)
		poison_obj(c, buf, SLAB_POISON_FREE);
	return true;
}

/* ------------------------------------------------------------------ */
/* Slabs: grow, destroy, get and put objects                           */
/* ------------------------------------------------------------------ */

static void slab_account(struct vmm_machine *m, struct vmm_kmem_cache *c, unsigned nid,
			 int64_t pages)
{
	int item = (c->flags & VMM_SLAB_RECLAIM_ACCOUNT) ? NR_SLAB_RECLAIMABLE_B :
							   NR_SLAB_UNRECLAIMABLE_B;

	NODE_DATA(m, nid)->vm_stat[item] += pages * (int64_t)VMM_PAGE_SIZE;
}

/* cache_init_objs(): the free chain 0 -> 1 -> ... -> END, debug words, constructor. */
static void cache_init_objs(struct vmm_kmem_cache *c, uint8_t *mgmt, vmm_vaddr_t s_mem)
{
	struct vmm_machine *m = c->m;

	for (uint32_t i = 0; i < c->num; i++) {
		vmm_vaddr_t obj = s_mem + (uint64_t)i * c->buffer_size;
		uint8_t *buf = kmem(m, obj);

		if (c->flags & VMM_SLAB_POISON)
			poison_obj(c, buf, SLAB_POISON_FREE);
		if (c->flags & VMM_SLAB_STORE_USER)
			wr64(user_word(c, buf), 0);
		if (c->flags & VMM_SLAB_RED_ZONE) {
			wr64(rz1(c, buf), SLAB_RED_INACTIVE);
			wr64(rz2(c, buf), SLAB_RED_INACTIVE);
		}
		if (c->ctor && !(c->flags & VMM_SLAB_POISON))
			c->ctor(c, obj + c->obj_offset, buf + c->obj_offset);
		wr32(bufctl_at(mgmt, i), i + 1 == c->num ? SLAB_BUFCTL_END : i + 1);
	}
}

/*
 * cache_grow(): one more slab on node @nid (with __GFP_THISNODE) or
 * wherever the page allocator finds pages. @return the node it landed on,
 * or -1.
 */
static int cache_grow(struct vmm_kmem_cache *c, vmm_gfp_t gfp, int nid)
{
	struct vmm_machine *m = c->m;
	struct vmm_kmem_list3 *l3;
	struct vmm_page *page;
	uint64_t pfn, npages = 1ull << c->gfporder;
	uint32_t offset;
	vmm_vaddr_t mgmt_addr, s_mem;
	uint8_t *mgmt;
	unsigned node;
	vmm_gfp_t pgfp = (gfp & ~(VMM_GFP_ZERO | VMM_GFP_COMP)) | c->gfpflags;

	if (c->gfporder)
		pgfp |= VMM_GFP_COMP;
	if (!m->booted)
		pgfp |= VMM_GFP_MEMALLOC; /* Linux bootstraps slab before any watermark exists */
	page = vmm_alloc_pages_node(m, nid, pgfp, c->gfporder);
	if (!page)
		return -1;
	pfn = page_to_pfn(&m->sparse, page);
	/* kmem() writes the slab's frames behind vmm_physmem_host(): mark them here */
	vmm_physmem_mark_range(&m->phys, pfn << VMM_PAGE_SHIFT, VMM_PAGE_SIZE << c->gfporder);
	node = page_nid(m, pfn);
	l3 = c->nodelists[node];
	/* the colour for this slab, and the next one's */
	offset = l3->colour_next;
	if (++l3->colour_next >= c->colour)
		l3->colour_next = 0;
	offset *= c->colour_off;

	if (c->off_slab) {
		mgmt_addr = vmm_slab_alloc_node(c->slabp_cache, (gfp & ~VMM_GFP_ZERO) |
								    VMM_GFP_THISNODE,
						(int)node);
		if (!mgmt_addr)
			mgmt_addr = vmm_slab_alloc_node(c->slabp_cache, gfp & ~VMM_GFP_ZERO,
							(int)node);
		if (!mgmt_addr) {
			vmm_free_pages(m, page, c->gfporder);
			return -1;
		}
		s_mem = pfn_kaddr(m, pfn) + offset;
	} else {
		mgmt_addr = pfn_kaddr(m, pfn) + offset;
		s_mem = mgmt_addr + c->slab_size;
	}
	mgmt = kmem(m, mgmt_addr);
	memset(mgmt, 0, SLAB_STRUCT_SLAB);
	wr64(mgmt + SLAB_OFF_COLOUROFF, offset);
	wr64(mgmt + SLAB_OFF_SMEM, s_mem);
	wr32(mgmt + SLAB_OFF_INUSE, 0);
	wr32(mgmt + SLAB_OFF_FREE, 0);
	mgmt[SLAB_OFF_NODEID] = (uint8_t)node;
	mgmt[SLAB_OFF_NODEID + 1] = (uint8_t)(node >> 8);

	/* slab_map_pages() */
	for (uint64_t i = 0; i < npages; i++)
		page[i].page_type = VMM_PGTY_SLAB;
	page->mapping = c->self;
	page->index = s_mem;
	page->private = ((uint64_t)c->id << 40) | (mgmt_addr - m->slab.page_offset);

	cache_init_objs(c, mgmt, s_mem);
	vmm_list_add_tail(&page->lru, &l3->slabs_free);
	l3->free_objects += c->num;
	l3->nr_slabs++;
	c->grown++;
	slab_account(m, c, node, (int64_t)npages);
	charge(m, m->clock.cost.slab_grow);
	return (int)node;
}

/* Give a slab's pages (and off-slab management) back: the end of slab_destroy(). */
static void slab_free_pages(struct vmm_kmem_cache *c, struct vmm_page *head)
{
	struct vmm_machine *m = c->m;
	uint64_t pfn = page_to_pfn(&m->sparse, head), npages = 1ull << c->gfporder;
	vmm_vaddr_t mgmt_addr = m->slab.page_offset + (head->private & SLAB_MGMT_PA_MASK);

	for (uint64_t i = 0; i < npages; i++)
		head[i].page_type = VMM_PGTY_NONE;
	head->mapping = 0;
	head->index = 0;
	head->private = 0;
	head->lru.next = head->lru.prev = NULL;
	slab_account(m, c, page_nid(m, pfn), -(int64_t)npages);
	vmm_free_pages(m, head, c->gfporder);
	if (c->off_slab)
		vmm_kmem_cache_free(c->slabp_cache, mgmt_addr);
	c->reaped++;
}

/* Check a free slab's objects before its pages go (slab_destroy_debugcheck). */
static void slab_destroy_debugcheck(struct vmm_kmem_cache *c, struct vmm_page *head)
{
	struct vmm_machine *m = c->m;
	vmm_vaddr_t s_mem = slab_s_mem(head);

	if (!(c->flags & (VMM_SLAB_POISON | VMM_SLAB_RED_ZONE)))
		return;
	for (uint32_t i = 0; i < c->num; i++) {
		uint8_t *buf = kmem(m, s_mem + (uint64_t)i * c->buffer_size);
		uint32_t first = 0, bad;

		if ((c->flags & VMM_SLAB_POISON) &&
		    (bad = poison_damage(c, buf, SLAB_POISON_FREE, &first)))
			vmm_slab_error(m, c,
				       "use after free: object %#" PRIx64 " was written while free: "
				       "%u byte(s) changed, first at offset %u",
				       s_mem + (uint64_t)i * c->buffer_size + c->obj_offset, bad,
				       first);
		if ((c->flags & VMM_SLAB_RED_ZONE) && (rd64(rz1(c, buf)) != SLAB_RED_INACTIVE ||
						       rd64(rz2(c, buf)) != SLAB_RED_INACTIVE))
			vmm_slab_error(m, c, "red zone of free object %#" PRIx64 " overwritten",
				       s_mem + (uint64_t)i * c->buffer_size + c->obj_offset);
	}
}

/* slab_destroy(): the slab is off the lists; free it now or after an RCU grace period. */
static void slab_destroy(struct vmm_kmem_cache *c, struct vmm_page *head)
{
	slab_destroy_debugcheck(c, head);
	if (c->flags & VMM_SLAB_TYPESAFE_BY_RCU) {
		/* out of use (no free may put an object back) but still the cache's pages */
		head->mapping = c->self | 1;
		vmm_list_add_tail(&head->lru, &c->m->slab.rcu_pending);
		return;
	}
	slab_free_pages(c, head);
}

/* The end of every RCU grace period (rcu_barrier): free the slabs waiting for it. */
static void slab_rcu_barrier(struct vmm_machine *m)
{
	while (!vmm_list_empty(&m->slab.rcu_pending)) {
		struct vmm_page *head =
			vmm_list_first_entry(&m->slab.rcu_pending, struct vmm_page, lru);

		vmm_list_del(&head->lru);
		slab_free_pages(m->slab.by_id[cache_id_of(head)], head);
	}
}

/*
 * A slab whose management area no longer makes sense: report it and take it
 * out of use for good, so the rest of the cache keeps working.
 */
static void slab_corrupt(struct vmm_kmem_cache *c, struct vmm_page *head, const char *why)
{
	struct vmm_machine *m = c->m;
	uint64_t pfn = page_to_pfn(&m->sparse, head);
	struct vmm_kmem_list3 *l3 = c->nodelists[page_nid(m, pfn)];
	uint8_t *mgmt = slab_mgmt(m, head);
	uint32_t inuse = slab_inuse(mgmt);

	vmm_slab_error(m, c, "slab at %#" PRIx64 " has a corrupt management area (%s): "
		       "taken out of use", pfn_kaddr(m, pfn), why);
	vmm_list_del(&head->lru);
	head->lru.next = head->lru.prev = NULL;
	head->mapping = c->self | 1; /* no fast path takes it for this cache's slab again */
	m->slab.set_aside_pages[page_nid(m, pfn) * 2 + !!(c->flags & VMM_SLAB_RECLAIM_ACCOUNT)] +=
		1ull << c->gfporder;
	/* what the lists counted as free in it */
	l3->free_objects -= VMM_MIN(l3->free_objects, (uint64_t)(c->num - VMM_MIN(inuse, c->num)));
	l3->nr_slabs--;
}

/* slab_get_obj(): the first object of the slab's free chain; 0 when the chain is corrupt. */
static vmm_vaddr_t slab_get_obj(struct vmm_kmem_cache *c, struct vmm_page *head, uint64_t pfn)
{
	struct vmm_machine *m = c->m;
	uint8_t *mgmt = slab_mgmt(m, head);
	uint32_t idx = slab_free_idx(mgmt), inuse = slab_inuse(mgmt), next;

	if (idx >= c->num || inuse >= c->num) {
		slab_corrupt(c, head, "free index or inuse out of range");
		return 0;
	}
	next = rd32(bufctl_at(mgmt, idx));
	if (next != SLAB_BUFCTL_END && next >= c->num) {
		slab_corrupt(c, head, "free chain leaves the slab");
		return 0;
	}
	if (c->slow)
		wr32(bufctl_at(mgmt, idx), SLAB_BUFCTL_FREE);
	wr32(mgmt + SLAB_OFF_FREE, next);
	wr32(mgmt + SLAB_OFF_INUSE, inuse + 1);
	return slab_s_mem(head) + (uint64_t)idx * c->buffer_size + c->obj_offset;
}

/* slab_put_obj(): @return false when the object cannot go back (debug: not allocated). */
static bool slab_put_obj(struct vmm_kmem_cache *c, struct vmm_page *head, uint32_t idx)
{
	uint8_t *mgmt = slab_mgmt(c->m, head);
	uint32_t inuse = slab_inuse(mgmt);

	if (c->slow && rd32(bufctl_at(mgmt, idx)) != SLAB_BUFCTL_FREE) {
		vmm_slab_error(c->m, c, "double free: object %u of slab %#" PRIx64
			       " is already on the slab's free list",
			       idx, pfn_kaddr(c->m, page_to_pfn(&c->m->sparse, head)));
		return false;
	}
	if (!inuse || inuse > c->num) {
		slab_corrupt(c, head, "inuse out of range");
		return false;
	}
	wr32(bufctl_at(mgmt, idx), slab_free_idx(mgmt));
	wr32(mgmt + SLAB_OFF_FREE, idx);
	wr32(mgmt + SLAB_OFF_INUSE, inuse - 1);
	return true;
}

/* Move a slab to the list its use says it belongs on. */
static void slab_relist(struct vmm_kmem_list3 *l3, struct vmm_page *head, uint32_t inuse,
			uint32_t num)
{
	vmm_list_del(&head->lru);
	if (inuse == num)
		vmm_list_add(&head->lru, &l3->slabs_full);
	else
		vmm_list_add(&head->lru, &l3->slabs_partial);
}

/*
 * free_block(): objects back to their slabs, on whatever node each slab is.
 * A slab left empty is freed when its node already has more than free_limit
 * free objects, else it goes on the free list.
 */
static void free_block(struct vmm_kmem_cache *c, const vmm_vaddr_t *objs, unsigned n)
{
	struct vmm_machine *m = c->m;

	for (unsigned i = 0; i < n; i++) {
		uint64_t pfn;
		struct vmm_page *head = slab_head_of(m, objs[i] - c->obj_offset, &pfn);
		struct vmm_kmem_list3 *l3;
		uint32_t idx;

		if (!head || head->mapping != c->self)
			continue; /* a slab taken out of use */
		idx = obj_to_index(c, slab_s_mem(head), objs[i] - c->obj_offset);
		l3 = c->nodelists[page_nid(m, pfn)];
		if (idx == UINT32_MAX || !slab_put_obj(c, head, idx))
			continue;
		l3->free_objects++;
		if (!slab_inuse(slab_mgmt(m, head))) {
			vmm_list_del(&head->lru);
			if (l3->free_objects > l3->free_limit) {
				l3->free_objects -= c->num;
				l3->nr_slabs--;
				slab_destroy(c, head);
			} else {
				vmm_list_add(&head->lru, &l3->slabs_free);
			}
		} else {
			/* to the tail: the most time for its other objects to come back */
			vmm_list_del(&head->lru);
			vmm_list_add_tail(&head->lru, &l3->slabs_partial);
		}
	}
	charge(m, (uint64_t)m->clock.cost.slab_per_object * n);
}

/* drain_freelist(): free up to @tofree free slabs of @l3. @return slabs freed */
static unsigned drain_freelist(struct vmm_kmem_cache *c, struct vmm_kmem_list3 *l3,
			       uint64_t tofree)
{
	unsigned freed = 0;

	while (freed < tofree && !vmm_list_empty(&l3->slabs_free)) {
		struct vmm_page *head = vmm_list_last_entry(&l3->slabs_free, struct vmm_page, lru);

		vmm_list_del(&head->lru);
		l3->free_objects -= c->num;
		l3->nr_slabs--;
		slab_destroy(c, head);
		freed++;
	}
	return freed;
}

/* ------------------------------------------------------------------ */
/* Allocation                                                          */
/* ------------------------------------------------------------------ */

/* transfer_objects(): up to @max objects from one array to another. */
static unsigned transfer_objects(struct vmm_array_cache *to, struct vmm_array_cache *from,
				 unsigned max)
{
	unsigned nr = VMM_MIN(VMM_MIN(from->avail, max), to->limit - to->avail);

	if (!nr)
		return 0;
	memcpy(&to->entry[to->avail], &from->entry[from->avail - nr], nr * sizeof(to->entry[0]));
	from->avail -= nr;
	to->avail += nr;
	return nr;
}

/* The first slab with a free object on @l3's lists, partial before free. */
static struct vmm_page *l3_slab_with_room(struct vmm_kmem_list3 *l3)
{
	if (!vmm_list_empty(&l3->slabs_partial))
		return vmm_list_first_entry(&l3->slabs_partial, struct vmm_page, lru);
	l3->free_touched = 1;
	if (!vmm_list_empty(&l3->slabs_free))
		return vmm_list_first_entry(&l3->slabs_free, struct vmm_page, lru);
	return NULL;
}

/* Fill @ac from @nid's shared array or slabs with up to @batchcount objects. */
static unsigned refill_from_node(struct vmm_kmem_cache *c, struct vmm_array_cache *ac,
				 unsigned nid, unsigned batchcount)
{
	struct vmm_machine *m = c->m;
	struct vmm_kmem_list3 *l3 = c->nodelists[nid];
	unsigned got = 0;

	if (l3->shared && (got = transfer_objects(ac, l3->shared, batchcount))) {
		l3->shared->touched = 1;
		return got;
	}
	while (batchcount > 0) {
		struct vmm_page *head = l3_slab_with_room(l3);
		uint64_t pfn;
		uint32_t inuse;

		if (!head)
			break;
		pfn = page_to_pfn(&m->sparse, head);
		while (batchcount > 0 && slab_inuse(slab_mgmt(m, head)) < c->num) {
			vmm_vaddr_t obj = slab_get_obj(c, head, pfn);

			if (!obj)
				break;
			ac->entry[ac->avail++] = obj;
			l3->free_objects--;
			batchcount--;
			got++;
		}
		if (!vmm_list_is_linked(&head->lru))
			continue; /* corrupt, out of use */
		inuse = slab_inuse(slab_mgmt(m, head));
		slab_relist(l3, head, inuse, c->num);
	}
	return got;
}

static vmm_vaddr_t fallback_alloc(struct vmm_kmem_cache *c, vmm_gfp_t gfp);

/* cache_alloc_refill(): the current CPU's array is empty. */
static vmm_vaddr_t cache_alloc_refill(struct vmm_kmem_cache *c, vmm_gfp_t gfp)
{
	struct vmm_machine *m = c->m;
	unsigned nid = (unsigned)cpu_nid(m);

	for (;;) {
		struct vmm_array_cache *ac = c->array[m->current_cpu];
		unsigned batchcount = ac->batchcount, got;

		if (!ac->touched && batchcount > SLAB_BATCHREFILL_LIMIT)
			batchcount = SLAB_BATCHREFILL_LIMIT; /* little recent use: a partial refill */
		got = refill_from_node(c, ac, nid, batchcount);
		charge(m, m->clock.cost.slab_batch + (uint64_t)m->clock.cost.slab_per_object * got);
		if (ac->avail) {
			ac->touched = 1;
			return ac->entry[--ac->avail];
		}
		if (cache_grow(c, gfp | VMM_GFP_THISNODE | VMM_GFP_NOWARN | VMM_GFP_NORETRY,
			       (int)nid) < 0)
			return (gfp & VMM_GFP_THISNODE) ? 0 : fallback_alloc(c, gfp);
	}
}

/* ____cache_alloc_node(): one object straight from @nid's slabs. */
static vmm_vaddr_t cache_alloc_node(struct vmm_kmem_cache *c, vmm_gfp_t gfp, unsigned nid,
				    bool may_fall_back)
{
	struct vmm_machine *m = c->m;

	for (;;) {
		struct vmm_kmem_list3 *l3 = c->nodelists[nid];
		struct vmm_page *head = l3_slab_with_room(l3);

		if (head) {
			uint64_t pfn = page_to_pfn(&m->sparse, head);
			vmm_vaddr_t obj = slab_get_obj(c, head, pfn);

			if (!obj)
				continue;
			l3->free_objects--;
			c->node_allocs++;
			slab_relist(l3, head, slab_inuse(slab_mgmt(m, head)), c->num);
			charge(m, m->clock.cost.slab_batch);
			return obj;
		}
		if (cache_grow(c, gfp | VMM_GFP_THISNODE | VMM_GFP_NOWARN | VMM_GFP_NORETRY,
			       (int)nid) < 0)
			break;
	}
	return may_fall_back && !(gfp & VMM_GFP_THISNODE) ? fallback_alloc(c, gfp) : 0;
}

/*
 * fallback_alloc(): the local node has nothing. Take an object from another
 * node's lists in distance order, else let the page allocator pick any node.
 */
static vmm_vaddr_t fallback_alloc(struct vmm_kmem_cache *c, vmm_gfp_t gfp)
{
	struct vmm_machine *m = c->m;
	unsigned local = (unsigned)cpu_nid(m);
	bool tried[VMM_MAX_NUMNODES] = { false };
	int nid;

	for (unsigned k = 0; k < m->nr_nodes; k++) {
		unsigned best = UINT32_MAX;

		for (unsigned n = 0; n < m->nr_nodes; n++)
			if (!tried[n] && (best == UINT32_MAX ||
					  m->cfg.distance[local][n] <
						  m->cfg.distance[local][best]))
				best = n;
		tried[best] = true;
		if (c->nodelists[best]->free_objects)
			return cache_alloc_node(c, gfp, best, false);
	}
	nid = cache_grow(c, gfp & ~VMM_GFP_THISNODE, (int)local);
	if (nid < 0)
		return 0;
	return cache_alloc_node(c, gfp | VMM_GFP_THISNODE, (unsigned)nid, false);
}

static bool gfp_ok(struct vmm_kmem_cache *c, vmm_gfp_t gfp, const char *fn)
{
	if (gfp & c->m->slab.bad_gfp) {
		vmm_caller_err(&c->m->log, "%s(%s): gfp %#x has bits a slab allocation cannot "
			       "use (__GFP_HIGHMEM, __GFP_COMP or unknown)", fn, c->name,
			       (unsigned)gfp);
		return false;
	}
	return true;
}

static inline void timers_poll(struct vmm_machine *m)
{
	if (unlikely(vmm_cpu_clock_due(m->clock.by_cpu[m->current_cpu])))
		vmm_timers_run(m);
}

/* The careful allocation path: every case the fast path leaves out. */
static vmm_vaddr_t slab_alloc(struct vmm_kmem_cache *c, vmm_gfp_t gfp, int nid, const char *fn)
{
	struct vmm_machine *m = c->m;
	vmm_vaddr_t obj;

	if (!gfp_ok(c, gfp, fn))
		return 0;
	if (nid != VMM_NUMA_NO_NODE && (nid < 0 || (unsigned)nid >= m->nr_nodes)) {
		vmm_caller_err(&m->log, "%s(%s): node %d does not exist", fn, c->name, nid);
		return 0;
	}
	timers_poll(m);
	if (nid == VMM_NUMA_NO_NODE || nid == cpu_nid(m)) {
		struct vmm_array_cache *ac = c->array[m->current_cpu];

		if (ac->avail) {
			ac->touched = 1;
			obj = ac->entry[--ac->avail];
			charge(m, VMM_COST_SLAB_ALLOC_FAST);
		} else {
			obj = cache_alloc_refill(c, gfp);
		}
	} else {
		obj = cache_alloc_node(c, gfp, (unsigned)nid, true);
	}
	if (!obj)
		return 0;
	if (c->slow)
		debug_after_alloc(c, obj);
	if (gfp & VMM_GFP_ZERO)
		memset(kmem(m, obj), 0, c->object_size);
	return obj;
}

vmm_vaddr_t vmm_slab_alloc_node(struct vmm_kmem_cache *c, vmm_gfp_t gfp, int nid)
{
	if (!c)
		return 0;
	return slab_alloc(c, gfp, nid, "kmem_cache_alloc_node");
}

/* Fire the timers a fast allocation found due, then hand its object out (kept out of line). */
static __attribute__((noinline)) vmm_vaddr_t timers_then(struct vmm_machine *m, vmm_vaddr_t obj)
{
	vmm_timers_run(m);
	return obj;
}

/*
 * vmm_kmalloc()'s way when the CPU's array is empty, taking the arguments where the
 * fast path has them (so that it keeps no copy of them): the cache found again.
 */
static __attribute__((noinline)) vmm_vaddr_t kmalloc_refill(struct vmm_machine *m, size_t size,
							    vmm_gfp_t gfp)
{
	return slab_alloc(m->slab.kmalloc_by_8[(size - 1) >> 3], gfp, VMM_NUMA_NO_NODE,
			  "vmm_kmalloc");
}

/*
 * The allocation fast path: the current CPU's array (c->fast[], empty for a debug cache)
 * has an object; the caller has tested the GFP bits against an immediate mask. @m is @c's
 * machine, passed by a caller that already holds it so that the CPU's array is not looked
 * up through @c->m. @kmalloc_size is vmm_kmalloc()'s size (0 for kmem_cache_alloc()):
 * an empty array then sends it to kmalloc_refill().
 */
static inline vmm_vaddr_t alloc_fast(struct vmm_machine *m, struct vmm_kmem_cache *c,
				     vmm_gfp_t gfp, size_t kmalloc_size)
{
	struct vmm_array_cache *ac = c->fast[m->current_cpu];
	bool due;
	uint64_t top;

	/* the decrement's borrow is the test of an empty array (and of a debug cache's) */
	if (unlikely(__builtin_sub_overflow((uint64_t)ac->avail, 1, &top)))
		return kmalloc_size ? kmalloc_refill(m, kmalloc_size, gfp)
				    : slab_alloc(c, gfp, VMM_NUMA_NO_NODE, "vmm_kmem_cache_alloc");
	ac->touched = 1;
	ac->avail = (uint32_t)top;
	/* the object read last, straight into the return register */
	due = charge_due(m, VMM_COST_SLAB_ALLOC_FAST);
	if (due)
		return timers_then(m, ac->entry[top]);
	return ac->entry[top];
}

vmm_vaddr_t vmm_kmem_cache_alloc(vmm_kmem_cache *c, vmm_gfp_t gfp)
{
	if (unlikely(!c))
		return 0;
	if (unlikely(gfp & SLAB_FAST_REJECT))
		return slab_alloc(c, gfp, VMM_NUMA_NO_NODE, __func__);
	return alloc_fast(c->m, c, gfp, 0);
}

_Static_assert(offsetof(struct vmm_slab, kmalloc_by_8) - offsetof(struct vmm_slab, kfree_hint) == 16,
	       "kfree_hint is 16 bytes before kmalloc_by_8[] (see struct vmm_slab)");

vmm_vaddr_t vmm_kmalloc(vmm_machine *m, size_t size, vmm_gfp_t gfp)
{
	struct vmm_kmem_cache *c;

	if (unlikely(!m || size - 1 >= m->slab.kmalloc_fast_sizes || (gfp & SLAB_KMALLOC_SLOW_GFP)))
		return vmm_kmalloc_slow(m, size, gfp);
	c = m->slab.kmalloc_by_8[(size - 1) >> 3];
	m->slab.kfree_hint = c;
	return alloc_fast(m, c, gfp, size);
}

vmm_vaddr_t vmm_kmem_cache_alloc_node(vmm_kmem_cache *c, vmm_gfp_t gfp, int nid)
{
	if (!c)
		return 0;
	return slab_alloc(c, gfp, nid, __func__);
}

/* ------------------------------------------------------------------ */
/* Freeing                                                             */
/* ------------------------------------------------------------------ */

/* cache_flusharray(): the array is full; batchcount objects go to the shared array or slabs. */
static void cache_flusharray(struct vmm_kmem_cache *c, struct vmm_array_cache *ac)
{
	struct vmm_machine *m = c->m;
	struct vmm_kmem_list3 *l3 = c->nodelists[cpu_nid(m)];
	unsigned batchcount = VMM_MIN(ac->batchcount, ac->avail);

	if (l3->shared && l3->shared->limit > l3->shared->avail) {
		struct vmm_array_cache *sh = l3->shared;
		unsigned max = sh->limit - sh->avail;

		batchcount = VMM_MIN(batchcount, max);
		memcpy(&sh->entry[sh->avail], ac->entry, batchcount * sizeof(ac->entry[0]));
		sh->avail += batchcount;
	} else {
		free_block(c, ac->entry, batchcount);
	}
	ac->avail -= batchcount;
	memmove(ac->entry, &ac->entry[batchcount], ac->avail * sizeof(ac->entry[0]));
	charge(m, m->clock.cost.slab_batch);
}

/*
 * Which cache @obj really belongs to, with reports for an address that is
 * no object start. @c is the cache the caller named (NULL for kfree).
 * @return the owner, or NULL when the free must be ignored.
 */
static struct vmm_kmem_cache *free_owner(struct vmm_machine *m, struct vmm_kmem_cache *c,
					 vmm_vaddr_t obj, const char *fn)
{
	uint64_t pfn;
	struct vmm_page *head = slab_head_of(m, obj, &pfn);
	struct vmm_kmem_cache *owner;
	uint32_t idx;

	if (!head || head->page_type != VMM_PGTY_SLAB || cache_id_of(head) >= m->slab.nr_ids ||
	    !(owner = m->slab.by_id[cache_id_of(head)]) || (head->mapping | 1) != (owner->self | 1)) {
		vmm_slab_error(m, c, "%s: %#" PRIx64 " is not a slab object", fn, obj);
		return NULL;
	}
	if (c && owner != c)
		vmm_slab_error(m, c, "%s: wrong slab cache: %s, but object %#" PRIx64
			       " is from %s", fn, c->name, obj, owner->name);
	if (head->mapping != owner->self) {
		/* set aside as corrupt, or empty and waiting for its RCU grace period */
		vmm_slab_error(m, owner, "%s: %#" PRIx64 " is in a slab taken out of use", fn, obj);
		return NULL;
	}
	idx = obj_to_index(owner, slab_s_mem(head), obj - owner->obj_offset);
	if (idx == UINT32_MAX) {
		vmm_slab_error(m, owner, "%s: %#" PRIx64 " is not the start of an object", fn, obj);
		return NULL;
	}
	return owner;
}

/* The end of every free to the current CPU: onto its array, flushed first when full. */
static void free_to_array(struct vmm_kmem_cache *c, vmm_vaddr_t obj)
{
	struct vmm_machine *m = c->m;
	struct vmm_array_cache *ac = c->array[m->current_cpu];

	if (ac->avail >= ac->limit)
		cache_flusharray(c, ac);
	ac->entry[ac->avail++] = obj;
	charge(m, VMM_COST_SLAB_FREE_FAST);
}

/* The careful free path: validation, debug checks, remote nodes. */
static void slab_free(struct vmm_machine *m, struct vmm_kmem_cache *c, vmm_vaddr_t obj,
		      const char *fn)
{
	uint64_t pfn = 0;	/* free_owner() found the slab, so slab_head_of() sets it */

	c = free_owner(m, c, obj, fn);
	if (!c)
		return;
	timers_poll(m);
	if (c->slow && !debug_before_free(c, obj))
		return;
	slab_head_of(m, obj, &pfn);
	if (m->nr_nodes > 1 && page_nid(m, pfn) != (unsigned)cpu_nid(m)) {
		/* another node's object goes straight back to its slab */
		c->node_frees++;
		free_block(c, &obj, 1);
		charge(m, m->clock.cost.slab_batch);
		return;
	}
	free_to_array(c, obj);
}

/*
 * slab_free() of an object the fast path has checked (at an object's start in a slab
 * of non-debug cache @c, on the current CPU's node) and found no room for: the same
 * steps, the timers polled and then free_to_array(), with nothing looked up again.
 */
static __attribute__((noinline)) void free_to_full_array(struct vmm_kmem_cache *c,
							 vmm_vaddr_t obj)
{
	timers_poll(c->m);
	free_to_array(c, obj);
}

/* Whether frame @pfn is on CPU @cpu's node. */
static inline bool on_cpu_node(const struct vmm_machine *m, unsigned cpu, uint64_t pfn)
{
	return pfn - m->slab.cpu_pfn_lo[cpu] < m->slab.cpu_pfn_span[cpu];
}

/* Whether @obj's frame is on CPU @cpu's node; if so, @page is its descriptor. */
static inline bool local_page(const struct vmm_machine *m, unsigned cpu, vmm_vaddr_t obj,
			      const struct vmm_page **page)
{
	uint64_t off = (obj - m->slab.cpu_kaddr_lo[cpu]) >> VMM_PAGE_SHIFT;

	if (unlikely(off >= m->slab.cpu_pfn_span[cpu]))
		return false;
	*page = m->slab.cpu_memmap[cpu] + off;
	return true;
}

/* The head of the compound page @page belongs to (@page itself when it is no tail). */
static inline const struct vmm_page *page_head(const struct vmm_page *page)
{
	if (page->compound & VMM_PAGE_TAIL)
		page -= page->compound & VMM_PAGE_TAIL_OFFSET;
	return page;
}

/*
 * The head page of the slab that may hold @obj when @obj lies in a frame of
 * CPU @cpu's node (one test for both: the frame is then in the memory map),
 * else NULL. A slab's pages are all on one node.
 */
static inline const struct vmm_page *local_head(const struct vmm_machine *m, unsigned cpu,
						vmm_vaddr_t obj)
{
	const struct vmm_page *page;

	return local_page(m, cpu, obj, &page) ? page_head(page) : NULL;
}

/*
 * local_head() for a caller about to match the head's mapping with @self_fast
 * (a cache's self, never 0), as a test: only a slab's head page carries it (its
 * other pages keep the zero mapping of a compound tail), so a page that matches
 * is the head, and the tail test is left to the pages that do not.
 */
static inline bool local_head_for(const struct vmm_machine *m, unsigned cpu, vmm_vaddr_t obj,
				  vmm_vaddr_t self_fast, const struct vmm_page **head)
{
	if (unlikely(!local_page(m, cpu, obj, head)))
		return false;
	if (unlikely((*head)->mapping != self_fast))
		*head = page_head(*head);
	return true;
}

/* What free_fast() did with an object, and what its caller does next. */
enum free_way {
	FREE_PUSHED,	/* onto the CPU's array: charge */
	FREE_FULL,	/* a good object, but the array is full: free_to_full_array() */
	FREE_CAREFUL,	/* no object's start: the careful path, which reports it */
};

/*
 * The free fast path: @obj in the slab whose head page is @head (local_head()
 * of CPU @cpu, the current one) of non-debug cache @c. Pushes it when it is at
 * an object's start and the CPU's array has room; otherwise its caller hands
 * it on, as the result says, so that the fast path calls nothing and needs no
 * stack frame. The caller charges.
 */
static inline enum free_way free_fast(const struct vmm_kmem_cache *c, unsigned cpu,
				      const struct vmm_page *head, vmm_vaddr_t obj)
{
	struct vmm_array_cache *ac;
	uint64_t idx;

	if (unlikely(!obj_index(c, slab_s_mem(head), obj, &idx)))
		return FREE_CAREFUL;
	ac = c->fast[cpu];
	if (unlikely(ac->avail >= ac->limit))
		return FREE_FULL;
	ac->entry[ac->avail++] = obj;
	return FREE_PUSHED;
}

/* vmm_kmem_cache_free()'s careful path, taking the arguments where the fast path has them. */
static __attribute__((noinline)) void cache_free_careful(struct vmm_kmem_cache *c, vmm_vaddr_t obj)
{
	slab_free(c->m, c, obj, "vmm_kmem_cache_free");
}

void vmm_kmem_cache_free(vmm_kmem_cache *c, vmm_vaddr_t obj)
{
	const struct vmm_page *head;
	struct vmm_machine *m;
	unsigned cpu;

	if (unlikely(!c))
		return;
	m = c->m;
	cpu = m->current_cpu;
	if (likely(local_head_for(m, cpu, obj, c->self_fast, &head) &&
		   head->mapping == c->self_fast)) {
		enum free_way way = free_fast(c, cpu, head, obj);

		if (likely(way == FREE_PUSHED)) {
			charge_poll(m, VMM_COST_SLAB_FREE_FAST);
			return;
		}
		if (way == FREE_FULL) {
			free_to_full_array(c, obj);
			return;
		}
	}
	cache_free_careful(c, obj);
}

void vmm_kfree(vmm_machine *m, vmm_vaddr_t p)
{
	const struct vmm_page *head;
	const struct vmm_kmem_cache *c;
	enum free_way way;
	unsigned cpu;

	if (unlikely(!m))
		return;
	cpu = m->current_cpu;
	/*
	 * Most blocks go back soon after kmalloc handed them out: try the cache
	 * kmalloc used last before looking the slab's cache up. A match of the
	 * page's mapping proves it, so the guess costs nothing when right; before
	 * kmalloc's first, it is slab_no_cache, which nothing matches.
	 */
	c = m->slab.kfree_hint;
	if (unlikely(!local_page(m, cpu, p, &head)))
		goto slow;
	/* only a slab's head page carries its cache's self_fast (see local_head_for()) */
	if (unlikely(head->mapping != c->self_fast)) {
		head = page_head(head);
		if (head->page_type != VMM_PGTY_SLAB || cache_id_of(head) >= m->slab.nr_ids)
			goto slow;
		c = m->slab.by_id[cache_id_of(head)];
		if (!c || head->mapping != c->self_fast)
			goto slow;
		m->slab.kfree_hint = c;
	}
	way = free_fast(c, cpu, head, p);
	if (likely(way == FREE_PUSHED)) {
		charge_poll(m, VMM_COST_SLAB_FREE_FAST);
		return;
	}
	if (way == FREE_FULL) {
		/* the guess is a real cache here (slab_no_cache has no objects): by_id has it */
		free_to_full_array(m->slab.by_id[c->id], p);
		return;
	}
slow:
	vmm_kfree_slow(m, p);
}

void vmm_slab_free_any(struct vmm_machine *m, vmm_vaddr_t obj, const char *fn)
{
	slab_free(m, NULL, obj, fn);
}

size_t vmm_kmem_cache_alloc_bulk(vmm_kmem_cache *c, vmm_gfp_t gfp, size_t n, vmm_vaddr_t *objs)
{
	struct vmm_machine *m;
	size_t i = 0;

	if (!c)
		return 0;
	m = c->m;
	if (!objs && n) {
		vmm_caller_err(&m->log, "%s(%s): objs is NULL", __func__, c->name);
		return 0;
	}
	if (!c->slow && !(gfp & (m->slab.bad_gfp | VMM_GFP_ZERO))) {
		struct vmm_array_cache *ac;
		size_t take;

		const vmm_vaddr_t *top;

		ac = c->array[m->current_cpu];
		take = VMM_MIN((size_t)ac->avail, n);
		top = &ac->entry[ac->avail];
		/* the same objects, in the same order, as n single allocations; four a turn */
		for (; i + 4 <= take; i += 4, top -= 4) {
			vmm_vaddr_t a = top[-1], b = top[-2], d = top[-3], e = top[-4];

			objs[i] = a;
			objs[i + 1] = b;
			objs[i + 2] = d;
			objs[i + 3] = e;
		}
		for (; i < take; i++)
			objs[i] = *--top;
		ac->avail -= (uint32_t)take;
		if (take)
			ac->touched = 1;
		charge_poll(m, VMM_COST_SLAB_ALLOC_FAST +
				       (uint64_t)m->clock.cost.slab_per_object * take);
	}
	for (; i < n; i++) {
		objs[i] = slab_alloc(c, gfp, VMM_NUMA_NO_NODE, __func__);
		if (!objs[i]) {
			vmm_kmem_cache_free_bulk(c, i, objs);
			return 0;
		}
	}
	return n;
}

/* obj_index()'s test with the cache's divisor held in locals (stores to arrays may alias c). */
struct obj_div {
	uint64_t inv, num;
	unsigned shift;
};

static inline bool obj_div_ok(const struct obj_div *d, vmm_vaddr_t s_mem, vmm_vaddr_t obj)
{
	return obj_offset_index(obj - s_mem, d->inv, d->shift) < d->num;
}

/*
 * vmm_kmem_cache_free_bulk() for a non-debug cache: free_fast() on each object in
 * turn, with what the loop does not change held in locals, a full array flushed
 * here and the others sent down the careful path. Objects of one slab often come
 * together: after an object's page lookup, the objects that follow it in the same
 * slab need only the index test, for as many as the array has room for (so no
 * flush comes between them, and the slab stays). Returns the number of objects
 * the fast way took, for the caller's one charge.
 */
static uint64_t free_bulk_fast(struct vmm_kmem_cache *c, size_t n, const vmm_vaddr_t *objs)
{
	struct vmm_machine *m = c->m;
	const unsigned cpu = m->current_cpu;
	const struct obj_div d = { c->div_inv, c->num_objs, c->div_shift };
	const vmm_vaddr_t self_fast = c->self_fast;
	struct vmm_array_cache *ac = c->array[cpu];
	vmm_vaddr_t *entry = ac->entry;
	size_t avail = ac->avail, limit = ac->limit; /* written back before anything else looks */
	uint64_t careful = 0;
	size_t i = 0;

	while (i < n) {
		vmm_vaddr_t obj = objs[i], s_mem;
		const struct vmm_page *head = local_head(m, cpu, obj);
		size_t end;

		if (unlikely(!head) || unlikely(head->mapping != self_fast) ||
		    unlikely(!obj_div_ok(&d, s_mem = slab_s_mem(head), obj))) {
			ac->avail = (uint32_t)avail;
			slab_free(m, c, obj, "vmm_kmem_cache_free_bulk");
			avail = ac->avail;
			limit = ac->limit;
			careful++;
			i++;
			continue;
		}
		if (unlikely(avail >= limit)) {
			/* @obj is in use, so the flush leaves its slab */
			ac->avail = (uint32_t)avail;
			cache_flusharray(c, ac);
			avail = ac->avail;
			limit = ac->limit;
		}
		end = i + VMM_MIN(n - i, limit - avail);
		entry[avail++] = obj;
		while (++i < end && likely(obj_div_ok(&d, s_mem, objs[i])))
			entry[avail++] = objs[i];
	}
	ac->avail = (uint32_t)avail;
	return n - careful;
}

void vmm_kmem_cache_free_bulk(vmm_kmem_cache *c, size_t n, const vmm_vaddr_t *objs)
{
	struct vmm_machine *m;
	uint64_t fast = 0;

	if (!c || !n)
		return;
	m = c->m;
	if (!objs) {
		vmm_caller_err(&m->log, "%s(%s): objs is NULL", __func__, c->name);
		return;
	}
	if (c->slow) {
		for (size_t i = 0; i < n; i++)
			slab_free(m, c, objs[i], __func__);
		return;
	}
	fast = free_bulk_fast(c, n, objs);
	if (fast)
		charge_poll(m, VMM_COST_SLAB_FREE_FAST +
				       (uint64_t)m->clock.cost.slab_per_object * fast);
}

/* ------------------------------------------------------------------ */
/* Draining, shrinking, reaping                                        */
/* ------------------------------------------------------------------ */

/* drain_array(): part of an idle array (or all of it with @force) back to the slabs. */
static void drain_array(struct vmm_kmem_cache *c, struct vmm_array_cache *ac, bool force)
{
	unsigned tofree;

	if (!ac || !ac->avail)
		return;
	if (ac->touched && !force) {
		ac->touched = 0;
		return;
	}
	tofree = force ? ac->avail : (ac->limit + 4) / 5;
	if (tofree > ac->avail)
		tofree = (ac->avail + 1) / 2;
	free_block(c, ac->entry, tofree);
	ac->avail -= tofree;
	memmove(ac->entry, &ac->entry[tofree], ac->avail * sizeof(ac->entry[0]));
}

static void drain_cpu_caches(struct vmm_kmem_cache *c)
{
	struct vmm_machine *m = c->m;

	for (unsigned cpu = 0; cpu < m->nr_cpus; cpu++)
		drain_array(c, c->array[cpu], true);
	for (unsigned nid = 0; nid < m->nr_nodes; nid++)
		drain_array(c, c->nodelists[nid]->shared, true);
}

/* __cache_shrink(): @return 1 when slabs with objects remain */
static int cache_shrink(struct vmm_kmem_cache *c)
{
	struct vmm_machine *m = c->m;
	int ret = 0;

	drain_cpu_caches(c);
	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		struct vmm_kmem_list3 *l3 = c->nodelists[nid];

		drain_freelist(c, l3, UINT64_MAX);
		ret |= !vmm_list_empty(&l3->slabs_full) || !vmm_list_empty(&l3->slabs_partial);
	}
	slab_rcu_barrier(m);
	return ret;
}

int vmm_kmem_cache_shrink(vmm_kmem_cache *c)
{
	if (!c)
		return -VMM_EINVAL;
	return cache_shrink(c);
}

/*
 * cache_reap(), every REAPTIMEOUT_AC on each CPU: per cache, trim this CPU's
 * array if it was idle; every REAPTIMEOUT_LIST3 per node, trim the shared
 * array and free about a fifth of free_limit's worth of free slabs unless
 * the free list was used since. An RCU grace period has passed, too.
 */
static void cache_reap(struct vmm_machine *m, struct vmm_timer *t)
{
	unsigned nid = m->mmu.cpus[t->cpu].nid;
	uint64_t now = vmm_jiffies(m);
	struct vmm_list *pos;

	slab_rcu_barrier(m);
	vmm_list_for_each(pos, &m->slab.cache_chain) {
		struct vmm_kmem_cache *c = vmm_list_entry(pos, struct vmm_kmem_cache, next);
		struct vmm_kmem_list3 *l3 = c->nodelists[nid];

		drain_array(c, c->array[t->cpu], false);
		if (l3->next_reap > now)
			continue;
		l3->next_reap = now + REAPTIMEOUT_LIST3(m);
		drain_array(c, l3->shared, false);
		if (l3->free_touched)
			l3->free_touched = 0;
		else
			drain_freelist(c, l3, (l3->free_limit + 5ull * c->num - 1) / (5ull * c->num));
	}
	vmm_timer_mod(m, t, REAPTIMEOUT_AC(m));
}

/* ------------------------------------------------------------------ */
/* Creating and destroying caches                                      */
/* ------------------------------------------------------------------ */

static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n >= sizeof(((struct vmm_kmem_cache *)0)->name))
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] <= ' ' || name[i] > '~')
			return false;
	return true;
}

vmm_kmem_cache *vmm_kmem_cache_find(vmm_machine *m, const char *name)
{
	struct vmm_list *pos;

	if (!m || !name || !m->slab.cache_chain.next)
		return NULL;
	vmm_list_for_each(pos, &m->slab.cache_chain) {
		struct vmm_kmem_cache *c = vmm_list_entry(pos, struct vmm_kmem_cache, next);

		if (!strcmp(c->name, name))
			return c;
	}
	return NULL;
}

/* The host struct vmm_kmem_cache with its per-CPU array pointers. */
static size_t cache_struct_size(const struct vmm_machine *m)
{
	return sizeof(struct vmm_kmem_cache) + 2 * m->nr_cpus * sizeof(struct vmm_array_cache *);
}

/* Free a cache's host structures and shadows; its slabs must be gone. */
static void cache_free_struct(struct vmm_machine *m, struct vmm_kmem_cache *c, bool shadows)
{
	for (unsigned cpu = 0; cpu < m->nr_cpus; cpu++) {
		struct vmm_array_cache *ac = c->array[cpu];

		if (!ac)
			continue;
		if (shadows && ac->shadow)
			vmm_kfree(m, ac->shadow);
		vmm_hfree(&m->hm, ac, sizeof(*ac) + ac->capacity * sizeof(ac->entry[0]));
	}
	if (c->nodelists) {
		for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
			struct vmm_kmem_list3 *l3 = c->nodelists[nid];

			if (!l3)
				continue;
			if (l3->shared) {
				if (shadows && l3->shared->shadow)
					vmm_kfree(m, l3->shared->shadow);
				vmm_hfree(&m->hm, l3->shared,
					  sizeof(*l3->shared) +
						  l3->shared->capacity * sizeof(l3->shared->entry[0]));
			}
			if (shadows && l3->shadow)
				vmm_kfree(m, l3->shadow);
			vmm_hfree(&m->hm, l3, sizeof(*l3));
		}
		vmm_hfree(&m->hm, c->nodelists, m->nr_nodes * sizeof(c->nodelists[0]));
	}
	if (c->id < m->slab.nr_ids && m->slab.by_id[c->id] == c)
		m->slab.by_id[c->id] = NULL;
	if (m->slab.kfree_hint == c)
		m->slab.kfree_hint = &slab_no_cache;
	if (shadows && c->self && m->slab.cache_cache && c != m->slab.cache_cache)
		vmm_kmem_cache_free(m->slab.cache_cache, c->self);
	vmm_hfree(&m->hm, c, cache_struct_size(m));
}

static int cache_take_id(struct vmm_machine *m, struct vmm_kmem_cache *c)
{
	uint32_t id;

	for (id = 0; id < m->slab.nr_ids; id++)
		if (!m->slab.by_id[id])
			break;
	if (id == m->slab.nr_ids) {
		uint32_t n = m->slab.nr_ids ? 2 * m->slab.nr_ids : 32;
		struct vmm_kmem_cache **t = vmm_hrealloc(&m->hm, m->slab.by_id,
							 m->slab.nr_ids * sizeof(*t), n * sizeof(*t));

		if (!t)
			return -VMM_ENOMEM;
		memset(t + m->slab.nr_ids, 0, (n - m->slab.nr_ids) * sizeof(*t));
		m->slab.by_id = t;
		m->slab.nr_ids = n;
	}
	c->id = id;
	m->slab.by_id[id] = c;
	return 0;
}

/* FORCED_DEBUG under VMM_CFG_DEBUG_VM: red zones and owners where they fit, poison. */
static uint32_t forced_debug(size_t size, uint32_t flags)
{
	size_t s = size - 1;

	if (size < 4096 || vmm_ilog2(s) == vmm_ilog2(s + SLAB_REDZONE_ALIGN + 16))
		flags |= VMM_SLAB_RED_ZONE | VMM_SLAB_STORE_USER;
	if (!(flags & VMM_SLAB_TYPESAFE_BY_RCU))
		flags |= VMM_SLAB_POISON;
	return flags;
}

/* kmem_cache_create()'s layout: alignment, debug words, on- or off-slab, order, colour. */
static int cache_layout(struct vmm_machine *m, struct vmm_kmem_cache *c, size_t size,
			size_t align)
{
	size_t ralign, left_over, slab_size;
	uint32_t flags = c->flags;
	bool off_slab = false;

	size = ALIGN_UP(size, SLAB_WORD);
	if (flags & VMM_SLAB_HWCACHE_ALIGN) {
		/* squeeze several small objects into one line */
		ralign = SLAB_CACHE_LINE;
		while (size <= ralign / 2)
			ralign /= 2;
	} else {
		ralign = SLAB_WORD;
	}
	if (flags & VMM_SLAB_STORE_USER)
		ralign = SLAB_WORD;
	if (flags & VMM_SLAB_RED_ZONE) {
		ralign = SLAB_REDZONE_ALIGN;
		size = ALIGN_UP(size, SLAB_REDZONE_ALIGN);
	}
	if (ralign < align)
		ralign = align;
	if (ralign > 8)
		flags &= ~(VMM_SLAB_RED_ZONE | VMM_SLAB_STORE_USER);
	align = ralign;

	c->obj_size = (uint32_t)size;
	c->obj_offset = 0;
	if (flags & VMM_SLAB_RED_ZONE) {
		c->obj_offset += 8;
		size += 16;
	}
	if (flags & VMM_SLAB_STORE_USER)
		size += 8;
	c->flags = flags;
	c->slow = (flags & (VMM_SLAB_RED_ZONE | VMM_SLAB_POISON | VMM_SLAB_STORE_USER)) != 0;

	if (size >= (VMM_PAGE_SIZE >> 3) && !m->slab.early)
		off_slab = true; /* large objects: management elsewhere packs them better */
	size = ALIGN_UP(size, align);
	left_over = calculate_slab_order(m, c, size, align, off_slab);
	if (!c->num)
		return -VMM_EINVAL;
	slab_size = slab_mgmt_size(c->num, align);
	if (off_slab && left_over >= slab_size) {
		off_slab = false; /* it fits after all, at the expense of colouring */
		left_over -= slab_size;
	}
	if (off_slab) {
		slab_size = SLAB_STRUCT_SLAB + (size_t)c->num * SLAB_BUFCTL;
		c->slabp_cache = vmm_kmalloc_cache(&m->slab, slab_size, 0);
		if (!c->slabp_cache)
			return -VMM_EINVAL;
	}
	c->colour_off = (uint32_t)VMM_MAX((size_t)SLAB_CACHE_LINE, align);
	c->colour = (uint32_t)(left_over / c->colour_off);
	c->slab_size = (uint32_t)slab_size;
	c->left_over = (uint32_t)left_over;
	c->off_slab = off_slab;
	c->onslab_mgmt = off_slab ? 0 : (uint32_t)slab_size;
	c->align = (uint32_t)align;
	c->buffer_size = (uint32_t)size;
	if (c->slow) {
		c->array = &c->fast[m->nr_cpus];
		for (unsigned cpu = 0; cpu < m->nr_cpus; cpu++)
			c->fast[cpu] = (struct vmm_array_cache *)&slab_no_array; /* never written */
	}
	c->num_objs = c->num;
	c->div_shift = (uint8_t)__builtin_ctzll(size);
	c->div_inv = inverse_odd(size >> c->div_shift);
	c->span = (uint64_t)c->num * size;
	/* the fast paths compare page->mapping with this: debug caches never match */
	c->self_fast = c->slow ? 1 : 0;
	if (flags & VMM_SLAB_CACHE_DMA)
		c->gfpflags |= VMM_GFP_DMA;
	if (flags & VMM_SLAB_CACHE_DMA32)
		c->gfpflags |= VMM_GFP_DMA32;
	if (flags & VMM_SLAB_RECLAIM_ACCOUNT)
		c->gfpflags |= VMM_GFP_RECLAIMABLE;
	return 0;
}

/* Size of the simulated struct kmem_cache: fields, array[] per CPU, nodelists[] per node. */
static size_t kmem_cache_struct_size(struct vmm_machine *m)
{
	return SLAB_KMEM_CACHE_HDR + 8 * (size_t)m->nr_cpus + 8 * (size_t)m->nr_nodes;
}

static int cache_create(struct vmm_machine *m, const char *name, size_t size, size_t align,
			uint32_t flags, vmm_kmem_ctor_fn ctor, bool kmalloc,
			struct vmm_kmem_cache **out)
{
	struct vmm_kmem_cache *c;
	int err = -VMM_ENOMEM;

	if (m->cfg.flags & VMM_CFG_DEBUG_VM)
		flags = forced_debug(size, flags);
	c = vmm_hzalloc(&m->hm, cache_struct_size(m));
	if (!c)
		return -VMM_ENOMEM;
	c->m = m;
	c->array = c->fast; /* until cache_layout() knows about debug checks */
	c->flags = flags;
	c->kmalloc = kmalloc;
	c->ctor = ctor;
	c->object_size = (uint32_t)size;
	snprintf(c->name, sizeof(c->name), "%s", name);
	vmm_list_init(&c->next);
	c->id = UINT32_MAX;
	c->nodelists = vmm_hcalloc(&m->hm, m->nr_nodes, sizeof(c->nodelists[0]));
	if (!c->nodelists)
		goto fail;
	err = cache_layout(m, c, size, align);
	if (err)
		goto fail;
	err = scratch_reserve(m, (void **)&m->slab.seen, &m->slab.seen_cap, c->num, 1);
	if (err)
		goto fail;
	err = scratch_reserve(m, (void **)&m->slab.scratch, &m->slab.scratch_cap,
			      m->nr_cpus * (size_t)SLAB_BOOT_CPUCACHE_ENTRIES, sizeof(vmm_vaddr_t));
	if (err)
		goto fail;
	err = cache_take_id(m, c);
	if (err)
		goto fail;
	if (m->slab.cache_cache) {
		c->self = vmm_slab_alloc_node(m->slab.cache_cache, VMM_GFP_KERNEL | VMM_GFP_ZERO,
					      VMM_NUMA_NO_NODE);
		if (!c->self) {
			err = -VMM_ENOMEM;
			goto fail;
		}
	} else {
		c->self = SLAB_CACHE_CACHE_ADDR; /* cache_cache is static in the kernel image */
	}
	if (!c->slow)
		c->self_fast = c->self;
	err = setup_cpu_cache(c);
	if (err)
		goto fail;
	vmm_list_add(&c->next, &m->slab.cache_chain);
	*out = c;
	return 0;
fail:
	cache_free_struct(m, c, true);
	return err;
}

int vmm_kmem_cache_create(vmm_machine *m, const char *name, size_t size, size_t align,
			  uint32_t flags, vmm_kmem_ctor_fn ctor, vmm_kmem_cache **out)
{
	const char *why = NULL;
	int err;

	if (out)
		*out = NULL;
	if (!m || !m->slab.cache_chain.next)
		return -VMM_EINVAL;
	if (!name || !out)
		why = "name or out is NULL";
	else if (!name_ok(name))
		why = "the name must be 1..31 printable characters without spaces";
	else if (!size || size > VMM_KMALLOC_MAX_SIZE)
		why = "size must be 1..4 MiB";
	else if (align & (align - 1) || align > VMM_PAGE_SIZE)
		why = "align must be 0 or a power of two up to 4096";
	else if (flags & ~VMM_SLAB_ALL_FLAGS)
		why = "unknown flags";
	else if ((flags & VMM_SLAB_POISON) && (flags & VMM_SLAB_TYPESAFE_BY_RCU))
		why = "SLAB_POISON would destroy objects SLAB_TYPESAFE_BY_RCU readers may still see";
	else if ((flags & VMM_SLAB_CACHE_DMA) && (flags & VMM_SLAB_CACHE_DMA32))
		why = "SLAB_CACHE_DMA and SLAB_CACHE_DMA32 together";
	if (why) {
		vmm_caller_err(&m->log, "kmem_cache_create(%s): %s", name ? name : "(null)", why);
		return -VMM_EINVAL;
	}
	if (vmm_kmem_cache_find(m, name)) {
		vmm_caller_err(&m->log, "kmem_cache_create: duplicate cache %s", name);
		return -VMM_EEXIST;
	}
	err = cache_create(m, name, size, align, flags, ctor, false, out);
	if (err == -VMM_EINVAL)
		vmm_caller_err(&m->log, "kmem_cache_create: couldn't create cache %s "
			       "(objects of %zu bytes do not fit a slab)", name, size);
	if (err && (flags & VMM_SLAB_PANIC))
		vmm_slab_error(m, NULL, "Kernel panic - not syncing: kmem_cache_create(): "
			       "failed to create slab `%s'", name);
	return err;
}

/*
 * Mark in @seen (one byte per object) the objects on @head's free chain.
 * @return how many; *bad is SLAB_BUFCTL_END when the chain ends as it must,
 * else the index at which it leaves the slab or comes back on itself.
 */
static uint32_t mark_free_chain(const struct vmm_kmem_cache *c, struct vmm_page *head,
				uint8_t *seen, uint32_t *bad)
{
	uint8_t *mgmt = slab_mgmt(c->m, head);
	uint32_t i = slab_free_idx(mgmt), count = 0;

	memset(seen, 0, c->num);
	while (i != SLAB_BUFCTL_END) {
		if (i >= c->num || seen[i]) {
			*bad = i;
			return count;
		}
		seen[i] = 1;
		count++;
		i = rd32(bufctl_at(mgmt, i));
	}
	*bad = SLAB_BUFCTL_END;
	return count;
}

/* The addresses of a cache's allocated objects, for a leak report. */
static uint64_t report_leaks(struct vmm_kmem_cache *c)
{
	struct vmm_machine *m = c->m;
	uint64_t leaked = 0;
	uint8_t *isfree = m->slab.seen;

	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		struct vmm_list *lists[2] = { &c->nodelists[nid]->slabs_partial,
					      &c->nodelists[nid]->slabs_full };

		for (int l = 0; l < 2; l++) {
			struct vmm_list *pos;

			vmm_list_for_each(pos, lists[l]) {
				struct vmm_page *head = vmm_list_entry(pos, struct vmm_page, lru);
				vmm_vaddr_t s_mem = slab_s_mem(head);
				uint32_t bad;

				/* a broken chain marks what it can; the checker reports it */
				mark_free_chain(c, head, isfree, &bad);
				for (uint32_t k = 0; k < c->num; k++) {
					if (isfree[k])
						continue;
					if (++leaked <= 32)
						vmm_guest_err(&m->log, "kmem_cache_destroy %s: object "
							      "%#" PRIx64 " still allocated", c->name,
							      s_mem + (uint64_t)k * c->buffer_size +
								      c->obj_offset);
				}
			}
		}
	}
	return leaked;
}

int vmm_kmem_cache_destroy(vmm_kmem_cache *c)
{
	struct vmm_machine *m;
	uint64_t leaked;

	if (!c)
		return 0;
	m = c->m;
	if (c->kmalloc || c == m->slab.cache_cache) {
		vmm_caller_err(&m->log, "kmem_cache_destroy(%s): the kmalloc caches and kmem_cache "
			       "live as long as the machine", c->name);
		return -VMM_EPERM;
	}
	if (cache_shrink(c)) {
		leaked = report_leaks(c);
		vmm_slab_error(m, c, "kmem_cache_destroy: Slab cache still has objects: %" PRIu64
			       " leaked", leaked);
		return -VMM_EBUSY;
	}
	vmm_list_del(&c->next);
	cache_free_struct(m, c, true);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Info, bootstrap, teardown                                           */
/* ------------------------------------------------------------------ */

/* The slabinfo figures (get_slabinfo()). */
static void cache_counts(const struct vmm_kmem_cache *c, struct vmm_kmem_cache_info *o)
{
	struct vmm_machine *m = c->m;

	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		const struct vmm_kmem_list3 *l3 = c->nodelists[nid];
		const struct vmm_list *pos;

		vmm_list_for_each(pos, &l3->slabs_full) {
			o->active_objs += c->num;
			o->active_slabs++;
		}
		vmm_list_for_each(pos, &l3->slabs_partial) {
			const struct vmm_page *head = vmm_list_entry(pos, struct vmm_page, lru);

			o->active_objs += slab_inuse(slab_mgmt(m, head));
			o->active_slabs++;
		}
		vmm_list_for_each(pos, &l3->slabs_free)
			o->num_slabs++;
		o->free_objects += l3->free_objects;
		if (l3->shared)
			o->shared_avail += l3->shared->avail;
	}
	o->num_slabs += o->active_slabs;
	o->num_objs = o->num_slabs * c->num;
}

int vmm_kmem_cache_info(const vmm_kmem_cache *c, struct vmm_kmem_cache_info *out)
{
	if (!c || !out)
		return -VMM_EINVAL;
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", c->name);
	out->flags = c->flags;
	out->object_size = c->object_size;
	out->size = c->buffer_size;
	out->align = c->align;
	out->obj_offset = c->obj_offset;
	out->num = c->num;
	out->gfporder = c->gfporder;
	out->left_over = c->left_over;
	out->colour = c->colour;
	out->colour_off = c->colour_off;
	out->slab_size = c->slab_size;
	out->off_slab = c->off_slab;
	out->limit = c->limit;
	out->batchcount = c->batchcount;
	out->shared = c->shared;
	out->grown = c->grown;
	out->reaped = c->reaped;
	out->errors = c->errors;
	cache_counts(c, out);
	return 0;
}

vmm_machine *vmm_kmem_cache_machine(const vmm_kmem_cache *c)
{
	return c ? c->m : NULL;
}

void vmm_kmem_cache_set_private(vmm_kmem_cache *c, void *data)
{
	if (c)
		c->private = data;
}

void *vmm_kmem_cache_private(const vmm_kmem_cache *c)
{
	return c ? c->private : NULL;
}

int vmm_slab_dump_slabinfo(struct vmm_machine *m, FILE *out)
{
	struct vmm_list *pos;

	fputs("slabinfo - version: 2.1\n"
	      "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>"
	      " : tunables <limit> <batchcount> <sharedfactor>"
	      " : slabdata <active_slabs> <num_slabs> <sharedavail>\n",
	      out);
	vmm_list_for_each(pos, &m->slab.cache_chain) {
		const struct vmm_kmem_cache *c = vmm_list_entry(pos, struct vmm_kmem_cache, next);
		struct vmm_kmem_cache_info o;

		vmm_kmem_cache_info(c, &o);
		fprintf(out, "%-17s %6" PRIu64 " %6" PRIu64 " %6u %4u %4d", c->name, o.active_objs,
			o.num_objs, c->buffer_size, c->num, 1 << c->gfporder);
		fprintf(out, " : tunables %4u %4u %4u", c->limit, c->batchcount, c->shared);
		fprintf(out, " : slabdata %6" PRIu64 " %6" PRIu64 " %6" PRIu64 "\n", o.active_slabs,
			o.num_slabs, o.shared_avail);
	}
	return ferror(out) ? -VMM_EIO : 0;
}

/*
 * Which kmalloc cache serves (size - 1) / 8 for sizes up to 192 bytes, as
 * Linux's size_index (this is how 96 and 192 fit between the powers of two).
 */
static const uint8_t kmalloc_size_index[24] = {
	0,			/* 8 */
	1,			/* 16 */
	2, 2,			/* 32 */
	3, 3, 3, 3,		/* 64 */
	4, 4, 4, 4,		/* 96 */
	5, 5, 5, 5,		/* 128 */
	6, 6, 6, 6, 6, 6, 6, 6, /* 192 */
};

/* Make kmalloc cache @i (or its DMA twin) and enter it where vmm_kmalloc_cache() looks. */
static int kmalloc_cache_create(struct vmm_machine *m, int dma, int i)
{
	struct vmm_slab *s = &m->slab;
	uint32_t sz = vmm_kmalloc_sizes[i];
	char name[32];
	int err;

	snprintf(name, sizeof(name), sz >= 1024 ? "%skmalloc-%uk" : "%skmalloc-%u",
		 dma ? "dma-" : "", sz >= 1024 ? sz / 1024 : sz);
	err = cache_create(m, name, sz, SLAB_WORD, dma ? VMM_SLAB_CACHE_DMA : 0, NULL, true,
			   &s->kmalloc[dma][i]);
	if (err)
		return err;
	for (int j = 0; j < 24; j++)
		if (kmalloc_size_index[j] == i)
			s->kmalloc_small[dma][j] = s->kmalloc[dma][i];
	return 0;
}

/*
 * kmem_cache_init() and kmem_cache_init_late(): the cache of caches first;
 * then the kmalloc caches the array caches and node lists come from (32 and
 * 128 bytes), with on-slab management; then every other kmalloc cache and
 * its DMA twin in ascending size; finally every cache gets its real arrays
 * and node lists, allocated from the kmalloc caches.
 */
int vmm_slab_init(struct vmm_machine *m)
{
	struct vmm_slab *s = &m->slab;
	int err;

	vmm_list_init(&s->cache_chain);
	vmm_list_init(&s->rcu_pending);
	s->kfree_hint = &slab_no_cache;
	s->page_offset = vmm_page_offset(m);
	s->max_pfn = m->sparse.max_pfn;
	s->bad_gfp = SLAB_BAD_GFP;
	s->kmalloc_slow_gfp = SLAB_KMALLOC_SLOW_GFP;
	s->break_gfp_order = vmm_totalram_pages(m) > ((32ull << 20) >> VMM_PAGE_SHIFT) ? 1 : 0;
	s->early = true;
	s->up = SLAB_NONE;
	for (unsigned cpu = 0; cpu < m->nr_cpus; cpu++) {
		unsigned nid = m->mmu.cpus[cpu].nid;

		s->cpu_pfn_lo[cpu] = m->phys.node_start[nid] >> VMM_PAGE_SHIFT;
		s->cpu_pfn_span[cpu] = (VMM_MIN(m->phys.node_end[nid] >> VMM_PAGE_SHIFT, s->max_pfn) -
					s->cpu_pfn_lo[cpu]);
		s->cpu_kaddr_lo[cpu] = s->page_offset + (s->cpu_pfn_lo[cpu] << VMM_PAGE_SHIFT);
		s->cpu_memmap[cpu] = pfn_to_page(&m->sparse, s->cpu_pfn_lo[cpu]);
	}

	err = cache_create(m, "kmem_cache", kmem_cache_struct_size(m), SLAB_CACHE_LINE,
			   VMM_SLAB_HWCACHE_ALIGN, NULL, true, &s->cache_cache);
	if (err)
		return err;
	s->up = SLAB_PARTIAL;
	/* INDEX_AC (32: struct arraycache_init) and INDEX_L3 (128: struct kmem_list3) first */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < SLAB_NR_KMALLOC; i++) {
			bool bootstrap = vmm_kmalloc_sizes[i] == 32 || vmm_kmalloc_sizes[i] == 128;

			if (bootstrap == (pass == 0) && (err = kmalloc_cache_create(m, 0, i)))
				return err;
		}
		s->early = false;
	}
	for (int i = 0; i < SLAB_NR_KMALLOC; i++)
		if ((err = kmalloc_cache_create(m, 1, i)))
			return err;
	s->up = SLAB_EARLY;
	for (size_t i = 0; i < ARRAY_SIZE(s->kmalloc_by_8); i++)
		s->kmalloc_by_8[i] = vmm_kmalloc_cache(s, 8 * i + 8, 0);
	s->kmalloc_fast_sizes = VMM_KMALLOC_MAX_CACHE_SIZE;
	{
		struct vmm_list *pos;

		/* oldest first, as the bootstrap replaced the static arrays */
		for (pos = s->cache_chain.prev; pos != &s->cache_chain; pos = pos->prev) {
			err = enable_cpucache(vmm_list_entry(pos, struct vmm_kmem_cache, next));
			if (err)
				return err;
		}
	}
	s->up = SLAB_FULL;

	s->reap = vmm_hcalloc(&m->hm, m->nr_cpus, sizeof(s->reap[0]));
	if (!s->reap)
		return -VMM_ENOMEM;
	for (unsigned cpu = 0; cpu < m->nr_cpus; cpu++) {
		/* start_cpu_timer(): about a second after boot, staggered per CPU */
		vmm_timer_init(&s->reap[cpu], cache_reap, cpu);
		vmm_timer_mod(m, &s->reap[cpu], m->cfg.hz + 3ull * cpu);
	}
	return 0;
}

/* Host structures only: the machine's simulated memory goes with it. */
void vmm_slab_destroy(struct vmm_machine *m)
{
	struct vmm_slab *s = &m->slab;

	if (!s->cache_chain.next)
		return;
	s->kmalloc_fast_sizes = 0;
	if (s->reap) {
		for (unsigned cpu = 0; cpu < m->nr_cpus; cpu++)
			vmm_timer_del(m, &s->reap[cpu]);
		vmm_hfree(&m->hm, s->reap, m->nr_cpus * sizeof(s->reap[0]));
		s->reap = NULL;
	}
	if (s->by_id) {
		for (uint32_t id = 0; id < s->nr_ids; id++)
			if (s->by_id[id])
				cache_free_struct(m, s->by_id[id], false);
		vmm_hfree(&m->hm, s->by_id, s->nr_ids * sizeof(s->by_id[0]));
	}
	s->by_id = NULL;
	s->nr_ids = 0;
	if (s->scratch)
		vmm_hfree(&m->hm, s->scratch, s->scratch_cap * sizeof(s->scratch[0]));
	if (s->seen)
		vmm_hfree(&m->hm, s->seen, s->seen_cap);
	s->scratch = NULL;
	s->seen = NULL;

	s->scratch_cap = s->seen_cap = 0;
	vmm_list_init(&s->cache_chain);
}

/* ------------------------------------------------------------------ */
/* The checker                                                         */
/* ------------------------------------------------------------------ */

/* Every object sitting in an array of @c, sorted. */
static vmm_vaddr_t *array_objects(struct vmm_kmem_cache *c, size_t *n)
{
	struct vmm_machine *m = c->m;
	size_t cap = 0, k = 0;
	vmm_vaddr_t *v = m->slab.scratch;

	for (unsigned cpu = 0; cpu < m->nr_cpus; cpu++)
		cap += c->array[cpu]->capacity;
	for (unsigned nid = 0; nid < m->nr_nodes; nid++)
		if (c->nodelists[nid]->shared)
			cap += c->nodelists[nid]->shared->capacity;
	if (cap > m->slab.scratch_cap)
		return NULL;
	for (unsigned cpu = 0; cpu < m->nr_cpus; cpu++)
		for (uint32_t i = 0; i < c->array[cpu]->avail; i++)
			v[k++] = c->array[cpu]->entry[i];
	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		struct vmm_array_cache *sh = c->nodelists[nid]->shared;

		for (uint32_t i = 0; sh && i < sh->avail; i++)
			v[k++] = sh->entry[i];
	}
	vmm_sort_u64(v, k);
	*n = k;
	return v;
}

/* The index of the first of the sorted @v at or above @x (@n when none is). */
static size_t first_at_or_after(const vmm_vaddr_t *v, size_t n, vmm_vaddr_t x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A free object's debug words must be intact. */
static long check_free_object(struct vmm_kmem_cache *c, vmm_vaddr_t obj, FILE *out)
{
	uint8_t *buf = kmem(c->m, obj - c->obj_offset);
	uint32_t first = 0;
	long problems = 0;

	if ((c->flags & VMM_SLAB_RED_ZONE) && (rd64(rz1(c, buf)) != SLAB_RED_INACTIVE ||
					       rd64(rz2(c, buf)) != SLAB_RED_INACTIVE)) {
		fprintf(out, "slab %s: free object %#" PRIx64 " has damaged red zones\n", c->name,
			obj);
		problems++;
	}
	if ((c->flags & VMM_SLAB_POISON) && poison_damage(c, buf, SLAB_POISON_FREE, &first)) {
		fprintf(out, "slab %s: free object %#" PRIx64 " was written at offset %u\n",
			c->name, obj, first);
		problems++;
	}
	return problems;
}

static long check_slab(struct vmm_kmem_cache *c, struct vmm_page *head, unsigned nid, int list,
		       const vmm_vaddr_t *arr, size_t narr, uint8_t *seen, uint64_t *nfree,
		       FILE *out)
{
	static const char *const list_names[3] = { "full", "partial", "free" };
	struct vmm_machine *m = c->m;
	uint64_t pfn = page_to_pfn(&m->sparse, head);
	uint8_t *mgmt = slab_mgmt(m, head);
	vmm_vaddr_t s_mem = slab_s_mem(head);
	uint32_t inuse = slab_inuse(mgmt), count, bad;
	long problems = 0;

	if (head->page_type != VMM_PGTY_SLAB || head->mapping != c->self ||
	    cache_id_of(head) != c->id || page_nid(m, pfn) != nid) {
		fprintf(out, "slab %s: page %#" PRIx64 " on node %u's %s list is not this cache's "
			"slab on this node\n", c->name, pfn, nid, list_names[list]);
		return 1;
	}
	if (inuse > c->num || (list == 0 && inuse != c->num) ||
	    (list == 1 && (inuse == 0 || inuse == c->num)) || (list == 2 && inuse)) {
		fprintf(out, "slab %s: slab %#" PRIx64 " on the %s list has %u of %u objects in use\n",
			c->name, pfn_kaddr(m, pfn), list_names[list], inuse, c->num);
		problems++;
	}
	if (rd64(mgmt + SLAB_OFF_SMEM) != s_mem ||
	    rd64(mgmt + SLAB_OFF_COLOUROFF) + c->onslab_mgmt != s_mem - pfn_kaddr(m, pfn)) {
		fprintf(out, "slab %s: slab %#" PRIx64 "'s struct slab says s_mem %#" PRIx64
			", colouroff %" PRIu64 "; the page says s_mem %#" PRIx64 "\n", c->name,
			pfn_kaddr(m, pfn), rd64(mgmt + SLAB_OFF_SMEM), rd64(mgmt + SLAB_OFF_COLOUROFF),
			s_mem);
		problems++;
	}
	count = mark_free_chain(c, head, seen, &bad);
	if (bad != SLAB_BUFCTL_END) {
		fprintf(out, "slab %s: slab %#" PRIx64 "'s free chain %s at index %u\n", c->name,
			pfn_kaddr(m, pfn), bad >= c->num ? "leaves the slab" : "loops", bad);
		return problems + 1;
	}
	if (c->flags & (VMM_SLAB_RED_ZONE | VMM_SLAB_POISON))
		for (uint32_t k = 0; k < c->num; k++)
			if (seen[k])
				problems += check_free_object(
					c, s_mem + (uint64_t)k * c->buffer_size + c->obj_offset, out);
	/* the arrays' objects of this slab: a run of the sorted entries */
	for (size_t k = first_at_or_after(arr, narr, s_mem); k < narr && arr[k] < s_mem + c->span;
	     k++) {
		uint32_t idx = obj_to_index(c, s_mem, arr[k] - c->obj_offset);

		if (idx != UINT32_MAX && seen[idx]) {
			fprintf(out, "slab %s: object %#" PRIx64 " is both in an array and on its "
				"slab's free chain\n", c->name, arr[k]);
			problems++;
		}
	}
	if (count + inuse != c->num) {
		fprintf(out, "slab %s: slab %#" PRIx64 " has %u free and %u in use of %u\n", c->name,
			pfn_kaddr(m, pfn), count, inuse, c->num);
		problems++;
	}
	*nfree += count;
	return problems;
}

static long check_cache(struct vmm_kmem_cache *c, uint64_t *pages, FILE *out)
{
	struct vmm_machine *m = c->m;
	size_t narr = 0;
	vmm_vaddr_t *arr = array_objects(c, &narr);
	uint8_t *seen = m->slab.seen;
	long problems = 0;

	if (!arr || c->num > m->slab.seen_cap) {
		fprintf(out, "slab %s: the checker's scratch is too small (internal error)\n",
			c->name);
		return 1;
	}
	for (size_t i = 0; i < narr; i++) {
		uint64_t pfn;
		struct vmm_page *head = slab_head_of(m, arr[i] - c->obj_offset, &pfn);

		if (i && arr[i] == arr[i - 1]) {
			fprintf(out, "slab %s: object %#" PRIx64 " is in the arrays twice\n", c->name,
				arr[i]);
			problems++;
		}
		if (!head || head->page_type != VMM_PGTY_SLAB || head->mapping != c->self ||
		    obj_to_index(c, slab_s_mem(head), arr[i] - c->obj_offset) ==
			    UINT32_MAX) {
			fprintf(out, "slab %s: array entry %#" PRIx64 " is not an object of the cache\n",
				c->name, arr[i]);
			problems++;
			continue;
		}
		problems += check_free_object(c, arr[i], out);
	}
	for (unsigned cpu = 0; cpu < m->nr_cpus; cpu++) {
		struct vmm_array_cache *ac = c->array[cpu];

		if (ac->avail > ac->limit || ac->limit > ac->capacity) {
			fprintf(out, "slab %s: cpu %u array holds %u with limit %u\n", c->name, cpu,
				ac->avail, ac->limit);
			problems++;
		}
	}
	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		struct vmm_kmem_list3 *l3 = c->nodelists[nid];
		struct vmm_list *lists[3] = { &l3->slabs_full, &l3->slabs_partial, &l3->slabs_free };
		uint64_t nfree = 0, nslabs = 0;

		for (int l = 0; l < 3; l++) {
			struct vmm_list *pos;

			vmm_list_for_each(pos, lists[l]) {
				problems += check_slab(c, vmm_list_entry(pos, struct vmm_page, lru), nid,
						       l, arr, narr, seen, &nfree, out);
				nslabs++;
			}
		}
		if (nfree != l3->free_objects || nslabs != l3->nr_slabs) {
			fprintf(out, "slab %s: node %u counts %" PRIu64 " free objects in %" PRIu64
				" slabs, the lists hold %" PRIu64 " in %" PRIu64 "\n", c->name, nid,
				l3->free_objects, l3->nr_slabs, nfree, nslabs);
			problems++;
		}
		pages[nid * 2 + !!(c->flags & VMM_SLAB_RECLAIM_ACCOUNT)] += nslabs << c->gfporder;
	}
	return problems;
}

long vmm_slab_check(struct vmm_machine *m, FILE *out)
{
	uint64_t pages[2 * VMM_MAX_NUMNODES];
	struct vmm_list *pos;
	long problems = 0;

	if (!m->slab.cache_chain.next)
		return 0;
	memcpy(pages, m->slab.set_aside_pages, sizeof(pages));
	vmm_list_for_each(pos, &m->slab.cache_chain)
		problems += check_cache(vmm_list_entry(pos, struct vmm_kmem_cache, next), pages, out);
	vmm_list_for_each(pos, &m->slab.rcu_pending) {
		struct vmm_page *head = vmm_list_entry(pos, struct vmm_page, lru);
		struct vmm_kmem_cache *c = m->slab.by_id[cache_id_of(head)];

		pages[page_nid(m, page_to_pfn(&m->sparse, head)) * 2 +
		      !!(c->flags & VMM_SLAB_RECLAIM_ACCOUNT)] += 1ull << c->gfporder;
	}
	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		int64_t rec = NODE_DATA(m, nid)->vm_stat[NR_SLAB_RECLAIMABLE_B];
		int64_t unrec = NODE_DATA(m, nid)->vm_stat[NR_SLAB_UNRECLAIMABLE_B];

		if ((uint64_t)rec != pages[nid * 2 + 1] << VMM_PAGE_SHIFT ||
		    (uint64_t)unrec != (pages[nid * 2] + m->slab.large_pages_node[nid])
						 << VMM_PAGE_SHIFT) {
			fprintf(out, "slab: node %u accounts %" PRId64 "/%" PRId64 " bytes of "
				"reclaimable/unreclaimable slab, its slabs hold %" PRIu64 "/%" PRIu64
				" pages\n", nid, rec, unrec, pages[nid * 2 + 1],
				pages[nid * 2] + m->slab.large_pages_node[nid]);
			problems++;
		}
	}
	return problems;
}

struct vmm_kmem_cache *vmm_slab_cache_of(struct vmm_machine *m, vmm_vaddr_t addr)
{
	uint64_t pfn;
	struct vmm_page *head = slab_head_of(m, addr, &pfn);
	struct vmm_kmem_cache *c;

	if (!head || head->page_type != VMM_PGTY_SLAB || cache_id_of(head) >= m->slab.nr_ids)
		return NULL;
	c = m->slab.by_id[cache_id_of(head)];
	if (!c || c->self != head->mapping || !vmm_list_is_linked(&head->lru) ||
	    obj_to_index(c, slab_s_mem(head), addr - c->obj_offset) == UINT32_MAX)
		return NULL;
	return c;
}

void vmm_slab_digest(const struct vmm_machine *m, struct XXH3_state_s *st)
{
	const struct vmm_list *pos;

	if (!m->slab.cache_chain.next)
		return;
	XXH3_64bits_update(st, &m->slab.serial, sizeof(m->slab.serial));
	XXH3_64bits_update(st, &m->slab.errors, sizeof(m->slab.errors));
	vmm_list_for_each(pos, &m->slab.cache_chain) {
		const struct vmm_kmem_cache *c = vmm_list_entry(pos, struct vmm_kmem_cache, next);
		uint64_t v[6] = { c->id, c->self, c->grown, c->reaped, c->errors, c->limit };

		XXH3_64bits_update(st, c->name, strlen(c->name));
		XXH3_64bits_update(st, v, sizeof(v));
		for (unsigned cpu = 0; cpu < m->nr_cpus; cpu++)
			XXH3_64bits_update(st, c->array[cpu]->entry,
					   c->array[cpu]->avail * sizeof(vmm_vaddr_t));
		for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
			const struct vmm_kmem_list3 *l3 = c->nodelists[nid];
			uint64_t w[4] = { l3->free_objects, l3->nr_slabs, l3->colour_next,
					  l3->next_reap };

			XXH3_64bits_update(st, w, sizeof(w));
			if (l3->shared)
				XXH3_64bits_update(st, l3->shared->entry,
						   l3->shared->avail * sizeof(vmm_vaddr_t));
		}
	}
}
