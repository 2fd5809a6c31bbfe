/* SPDX-License-Identifier: MIT */
/*
 * The XArray (seed 000 section 1.2.1; Linux's lib/xarray.c): an array of
 * entries indexed by a 64-bit index, stored as a radix tree of nodes.
 *
 * Entries. A slot holds NULL, a pointer (4-byte aligned, low bits 00), a
 * value entry (low bit 1: an integer up to 2^63 - 1, what shadow entries
 * and block numbers are), or an internal entry (low bits 10):
 *   - a node pointer (a struct vmm_xa_node * | 2, above 4096);
 *   - a sibling entry (internal 0 .. chunk size - 2): the slot belongs to
 *     the multi-index entry whose canonical slot is that offset;
 *   - the retry entry (internal 256): a node being freed, readers restart;
 *   - the zero entry (internal 257): a reserved slot that reads as NULL;
 *   - error codes (internal -4095 .. -1), only as return values.
 *
 * Nodes. A node has 2^chunk_shift slots; a slot of a node with shift s
 * covers 2^s indices, so index i is in slot (i >> s) & chunk_mask. The
 * tree is as tall as the largest index needs: the head is a single entry
 * (for index 0 only) or the top node. A multi-index entry of order k takes
 * 2^(k mod chunk_shift) slots of the node whose shift is k rounded down to
 * a multiple of chunk_shift: the first (canonical) slot holds the entry,
 * the others sibling entries pointing back at it.
 *
 * Chunk shift. Linux fixes XA_CHUNK_SHIFT at 6 (64 slots); its test
 * harness (tools/testing/radix-tree) rebuilds lib/xarray.c with a shift of
 * 3 so that small tests build tall trees and hit every expand/shrink and
 * node-boundary path. Here the shift is a per-array field instead (6 unless
 * vmm_xa_init_shift() says 3, 4 or 5): the model test runs the very code
 * the page cache runs, with both shifts, in one binary, and no second
 * compilation of the library exists to drift apart from the first. The
 * price is one byte load per level of a walk. Nodes are always allocated
 * at full size (64 slots, 576 bytes of simulated memory as Linux's
 * radix_tree_node), whatever the shift.
 *
 * Marks. Three bits per slot (the page cache's DIRTY, WRITEBACK and
 * TOWRITE tags). A node slot's mark is set exactly when the child has that
 * mark somewhere; the array's own mark bits (xa_marks) say whether the
 * head entry or tree has it. A multi-index entry's marks live on its
 * canonical slot.
 *
 * Memory. Each node is a host structure shadowed by an object of the
 * machine's "radix_tree_node" slab cache, so slabinfo and meminfo count it
 * as Linux would; a failed allocation makes the operation fail with
 * -VMM_ENOMEM and leaves the array as it was.
 *
 * Ownership: one machine, one host thread; no locks, no RCU. A vmm_xa_state
 * stays valid only until the array is modified through another state.
 */
#ifndef VMM_PAGECACHE_XARRAY_H
#define VMM_PAGECACHE_XARRAY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <vmm/common.h>

#include "lib/list.h"

struct vmm_machine;

#define XA_CHUNK_SHIFT 6			/* Linux's default: 64 slots per node */
#define XA_CHUNK_SHIFT_MIN 3			/* the test harness's shift */
#define XA_CHUNK_SIZE (1u << XA_CHUNK_SHIFT)	/* slots allocated per node */
#define XA_MAX_MARKS 3
#define XA_NODE_OBJ_SIZE 576			/* sizeof(struct xa_node) on x86-64 Linux */

typedef unsigned xa_mark_t;
#define XA_MARK_0 0u
#define XA_MARK_1 1u
#define XA_MARK_2 2u
#define XA_PRESENT 8u				/* vmm_xa_find(): any present entry */

struct vmm_xa_node {
	uint8_t shift;			/* bits of the index below this node's slots */
	uint8_t offset;			/* slot in the parent */
	uint8_t count;			/* non-NULL slots (siblings included) */
	uint8_t nr_values;		/* slots holding (a part of) a value entry */
	struct vmm_xa_node *parent;	/* NULL at the top */
	struct vmm_xarray *array;
	struct vmm_list private_list;	/* workingset: nodes holding only shadow entries */
	vmm_vaddr_t obj;		/* the radix_tree_node object in simulated memory */
	uint64_t marks[XA_MAX_MARKS];
	void *slots[XA_CHUNK_SIZE];
};

struct vmm_xarray {
	void *xa_head;
	struct vmm_machine *xa_m;	/* for node memory */
	uint64_t xa_nr_nodes;		/* nodes in the tree */
	/* called on a node whose counts changed, and on one about to be freed (count 0) */
	void (*xa_update)(struct vmm_xa_node *node);
	uint8_t xa_chunk_shift;
	uint8_t xa_marks;		/* bit n: some entry has mark n */
	bool xa_pagecache;		/* one of the page cache's own (the check counts its nodes) */
};

/*
 * A cursor: the index (and order) an operation is about, and where the
 * last walk stopped. xa_node is a node, NULL (the head entry), or one of
 * the special values below; an error is stored there as XA_ERROR(err).
 */
struct vmm_xa_state {
	struct vmm_xarray *xa;
	uint64_t xa_index;
	uint8_t xa_shift;		/* the entry's order, rounded down to a multiple of the chunk shift */
	uint8_t xa_sibs;		/* the sibling slots the entry takes */
	uint8_t xa_offset;
	struct vmm_xa_node *xa_node;
};

#define XAS_BOUNDS ((struct vmm_xa_node *)1)	/* the index is beyond the tree */
#define XAS_RESTART ((struct vmm_xa_node *)3)	/* the next walk starts at the head */
#define XA_ERROR(err) ((struct vmm_xa_node *)(((uintptr_t)(intptr_t)(err) << 2) | 2))

/* ---- entries ---- */

static inline void *xa_mk_value(uint64_t v)
{
	return (void *)(uintptr_t)((v << 1) | 1);
}

static inline uint64_t xa_to_value(const void *entry)
{
	return (uintptr_t)entry >> 1;
}

static inline bool xa_is_value(const void *entry)
{
	return (uintptr_t)entry & 1;
}

static inline void *xa_mk_internal(uintptr_t v)
{
	return (void *)((v << 2) | 2);
}

static inline uintptr_t xa_to_internal(const void *entry)
{
	return (uintptr_t)entry >> 2;
}

static inline bool xa_is_internal(const void *entry)
{
	return ((uintptr_t)entry & 3) == 2;
}

#define XA_RETRY_ENTRY xa_mk_internal(256)
#define XA_ZERO_ENTRY xa_mk_internal(257)

static inline bool xa_is_retry(const void *entry)
{
	return entry == XA_RETRY_ENTRY;
}

static inline bool xa_is_zero(const void *entry)
{
	return entry == XA_ZERO_ENTRY;
}

static inline bool xa_is_node(const void *entry)
{
	return xa_is_internal(entry) && (uintptr_t)entry > 4096;
}

static inline struct vmm_xa_node *xa_to_node(const void *entry)
{
	return (struct vmm_xa_node *)((uintptr_t)entry - 2);
}

static inline void *xa_mk_node(const struct vmm_xa_node *node)
{
	return (void *)((uintptr_t)node | 2);
}

static inline void *xa_mk_sibling(unsigned offset)
{
	return xa_mk_internal(offset);
}

static inline bool xa_is_sibling(const void *entry)
{
	return xa_is_internal(entry) && (uintptr_t)entry < (uintptr_t)xa_mk_sibling(XA_CHUNK_SIZE - 1);
}

static inline unsigned xa_to_sibling(const void *entry)
{
	return (unsigned)xa_to_internal(entry);
}

static inline bool xa_is_err(const void *entry)
{
	return xa_is_internal(entry) && (uintptr_t)entry >= (uintptr_t)xa_mk_internal((uintptr_t)-4095);
}

/* The negative error an entry returned by a store carries, or 0. */
static inline int xa_err(const void *entry)
{
	return xa_is_err(entry) ? (int)((intptr_t)entry >> 2) : 0;
}

/* ---- the array ---- */

/* An empty array with 64-slot nodes, whose nodes come from @m's radix_tree_node cache. */
void vmm_xa_init(struct vmm_xarray *xa, struct vmm_machine *m);
/* The same with 2^@chunk_shift slots per node (XA_CHUNK_SHIFT_MIN .. XA_CHUNK_SHIFT). */
void vmm_xa_init_shift(struct vmm_xarray *xa, struct vmm_machine *m, unsigned chunk_shift);

static inline bool vmm_xa_empty(const struct vmm_xarray *xa)
{
	return xa->xa_head == NULL;
}

static inline bool vmm_xa_marked(const struct vmm_xarray *xa, xa_mark_t mark)
{
	return xa->xa_marks & (1u << mark);
}

void *vmm_xa_load(struct vmm_xarray *xa, uint64_t index);

/*
 * The descent every lookup makes: down from the head, a sibling resolved to
 * its canonical slot, a reserved slot read as NULL. *@nodep receives the
 * node whose slot gave the answer (NULL when the head or the bounds did).
 * (A single host thread never sees a retry entry: no node it can reach is
 * being freed.)
 */
static inline void *xa_descend(const struct vmm_xarray *xa, uint64_t index,
			       const struct vmm_xa_node **nodep)
{
	void *entry = xa->xa_head;
	unsigned mask = (1u << xa->xa_chunk_shift) - 1;
	const struct vmm_xa_node *node;

	*nodep = NULL;
	if (!xa_is_node(entry))
		return index || xa_is_zero(entry) ? NULL : entry;
	node = xa_to_node(entry);
	if ((index >> node->shift) > mask)
		return NULL;
	for (;;) {
		unsigned offset = (unsigned)(index >> node->shift) & mask;

		entry = node->slots[offset];
		if (xa_is_sibling(entry))
			entry = node->slots[xa_to_sibling(entry)];
		if (!xa_is_node(entry)) {
			*nodep = node;
			return xa_is_zero(entry) ? NULL : entry;
		}
		node = xa_to_node(entry);
	}
}

/* The lookup every page-cache hit makes, inline. */
static inline void *vmm_xa_load_inline(const struct vmm_xarray *xa, uint64_t index)
{
	const struct vmm_xa_node *node;

	return xa_descend(xa, index, &node);
}

/*
 * Loads of nearby indices (fault-around's window): a bottom node (shift 0)
 * holds the entries of 2^xa_chunk_shift consecutive indices, so once one
 * descent has reached it, the other indices it holds are read from its
 * slots without descending from the head again. Zero-initialise it; the
 * array must not change while it is in use.
 */
struct vmm_xa_cursor {
	const struct vmm_xa_node *leaf;	/* the bottom node of the last descent, or NULL */
	uint64_t base;			/* the index of leaf's slot 0 */
};

/* vmm_xa_load_inline(@xa, @index), through @c's bottom node when it holds @index. */
static inline void *vmm_xa_cursor_load(const struct vmm_xarray *xa, struct vmm_xa_cursor *c,
				       uint64_t index)
{
	uint64_t mask = (1u << xa->xa_chunk_shift) - 1;
	void *entry;

	if (!c->leaf || (index & ~mask) != c->base) {
		entry = xa_descend(xa, index, &c->leaf);
		if (c->leaf && c->leaf->shift)
			c->leaf = NULL;	/* a multi-index entry or a hole above the bottom */
		c->base = index & ~mask;
		return entry;
	}
	entry = c->leaf->slots[index & mask];
	if (xa_is_sibling(entry))
		entry = c->leaf->slots[xa_to_sibling(entry)];
	return xa_is_zero(entry) ? NULL : entry;
}

/* Store (NULL erases); returns the old entry, or an error entry (xa_err) on ENOMEM. */
void *vmm_xa_store(struct vmm_xarray *xa, uint64_t index, void *entry);
/* Store a multi-index entry covering the 2^@order indices around @index. */
void *vmm_xa_store_order(struct vmm_xarray *xa, uint64_t index, unsigned order, void *entry);
void *vmm_xa_erase(struct vmm_xarray *xa, uint64_t index);
/* Store only into an empty slot: 0, -VMM_EBUSY (also over a reserved slot), -VMM_ENOMEM. */
int vmm_xa_insert(struct vmm_xarray *xa, uint64_t index, void *entry);
/* Reserve an empty slot (it reads as NULL but is occupied); release undoes it. */
int vmm_xa_reserve(struct vmm_xarray *xa, uint64_t index);
void vmm_xa_release(struct vmm_xarray *xa, uint64_t index);
/* The order of the entry at @index (0 when none or a single-index entry). */
unsigned vmm_xa_get_order(struct vmm_xarray *xa, uint64_t index);

bool vmm_xa_get_mark(struct vmm_xarray *xa, uint64_t index, xa_mark_t mark);
void vmm_xa_set_mark(struct vmm_xarray *xa, uint64_t index, xa_mark_t mark);
void vmm_xa_clear_mark(struct vmm_xarray *xa, uint64_t index, xa_mark_t mark);

/*
 * The first entry at an index in [*@index, @max] that is present (@filter
 * XA_PRESENT) or carries mark @filter; *@index becomes that index (the
 * queried one when it falls inside a multi-index entry). Reserved slots are
 * skipped. NULL when there is none.
 */
void *vmm_xa_find(struct vmm_xarray *xa, uint64_t *index, uint64_t max, xa_mark_t filter);
/* The same, strictly after the entry holding *@index. */
void *vmm_xa_find_after(struct vmm_xarray *xa, uint64_t *index, uint64_t max, xa_mark_t filter);

#define vmm_xa_for_each_range(xa, index, entry, start, last, filter)                      \
	for ((index) = (start), (entry) = vmm_xa_find(xa, &(index), last, filter); (entry); \
	     (entry) = vmm_xa_find_after(xa, &(index), last, filter))
#define vmm_xa_for_each(xa, index, entry) \
	vmm_xa_for_each_range(xa, index, entry, 0, UINT64_MAX, XA_PRESENT)
#define vmm_xa_for_each_marked(xa, index, entry, mark) \
	vmm_xa_for_each_range(xa, index, entry, 0, UINT64_MAX, mark)

/* Free every node and forget every entry (the entries themselves are the caller's). */
void vmm_xa_destroy(struct vmm_xarray *xa);

/*
 * Check the tree: shifts and parent links, counts, value counts, sibling
 * runs, marks against children and the head, no retry or node entries
 * where none may be, the node total. Reports each problem on @out, prefixed
 * by @what; returns the number found.
 */
long vmm_xa_check(const struct vmm_xarray *xa, const char *what, FILE *out);

/* ---- the advanced API: walks with a cursor ---- */

#define XA_STATE(name, array, index)                                                     \
	struct vmm_xa_state name = { .xa = (array), .xa_index = (index), .xa_shift = 0,  \
				     .xa_sibs = 0, .xa_offset = 0, .xa_node = XAS_RESTART }

static inline unsigned xa_chunk_mask(const struct vmm_xarray *xa)
{
	return (1u << xa->xa_chunk_shift) - 1;
}

static inline int xas_error(const struct vmm_xa_state *xas)
{
	return xa_err(xas->xa_node);
}

static inline void xas_set_err(struct vmm_xa_state *xas, int err)
{
	xas->xa_node = XA_ERROR(err);
}

/* A state that points at no node: an error, XAS_BOUNDS or XAS_RESTART. */
static inline bool xas_invalid(const struct vmm_xa_state *xas)
{
	return (uintptr_t)xas->xa_node & 3;
}

static inline bool xas_is_node(const struct vmm_xa_state *xas)
{
	return !xas_invalid(xas) && xas->xa_node;
}

static inline void xas_reset(struct vmm_xa_state *xas)
{
	xas->xa_node = XAS_RESTART;
}

static inline void xas_set(struct vmm_xa_state *xas, uint64_t index)
{
	xas->xa_index = index;
	xas->xa_node = XAS_RESTART;
}

/* Make the cursor about the multi-index entry of 2^@order indices holding its index. */
void vmm_xas_set_order(struct vmm_xa_state *xas, uint64_t index, unsigned order);

/* Walk to the cursor's index: the entry there (siblings resolved), nodes left as is. */
void *vmm_xas_load(struct vmm_xa_state *xas);
/* Create the nodes down to the cursor's slot; returns what the slot holds. */
void *vmm_xas_create(struct vmm_xa_state *xas, bool allow_root);
/* Store at the cursor, creating or freeing nodes as needed; returns the old entry. */
void *vmm_xas_store(struct vmm_xa_state *xas, void *entry);
/*
 * The next entry (zero entries included) at an index up to @max: the entry
 * at the cursor's index when the cursor was just set, else the one after
 * the cursor's slot. NULL with the cursor at XAS_BOUNDS or XAS_RESTART
 * when there is none.
 */
void *vmm_xas_find(struct vmm_xa_state *xas, uint64_t max);
/* The same for entries carrying @mark. */
void *vmm_xas_find_marked(struct vmm_xa_state *xas, uint64_t max, xa_mark_t mark);
/* The first index the entry at the cursor's slot covers (valid after a load or find). */
uint64_t vmm_xas_entry_start(const struct vmm_xa_state *xas);

bool vmm_xas_get_mark(const struct vmm_xa_state *xas, xa_mark_t mark);
void vmm_xas_set_mark(const struct vmm_xa_state *xas, xa_mark_t mark);
void vmm_xas_clear_mark(const struct vmm_xa_state *xas, xa_mark_t mark);
/* Clear every mark of the entry at the cursor. */
void vmm_xas_init_marks(const struct vmm_xa_state *xas);

#define vmm_xas_for_each(xas, entry, max) \
	for ((entry) = vmm_xas_find(xas, max); (entry); (entry) = vmm_xas_find(xas, max))
#define vmm_xas_for_each_marked(xas, entry, max, mark)              \
	for ((entry) = vmm_xas_find_marked(xas, max, mark); (entry); \
	     (entry) = vmm_xas_find_marked(xas, max, mark))

/* Node memory: the machine's radix_tree_node cache (pagecache.c). */
struct vmm_xa_node *vmm_xa_node_alloc(struct vmm_xarray *xa);
void vmm_xa_node_free(struct vmm_xarray *xa, struct vmm_xa_node *node);

#endif /* VMM_PAGECACHE_XARRAY_H */
