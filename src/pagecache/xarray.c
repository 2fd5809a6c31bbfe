/* SPDX-License-Identifier: MIT */
/*
 * The XArray: walks, stores, marks, searches and the checker. xarray.h
 * describes the encoding and the tree.
 */
#include "pagecache/xarray.h"

#include <inttypes.h>
#include <string.h>

#include <vmm/errors.h>

#include "lib/compiler.h"

/* ---- geometry ---- */

static inline unsigned chunk_shift(const struct vmm_xarray *xa)
{
	return xa->xa_chunk_shift;
}

static inline unsigned chunk_size(const struct vmm_xarray *xa)
{
	return 1u << xa->xa_chunk_shift;
}

static inline unsigned get_offset(const struct vmm_xarray *xa, uint64_t index,
				  const struct vmm_xa_node *node)
{
	return (unsigned)(index >> node->shift) & xa_chunk_mask(xa);
}

/*
 * The slots of @node that stand for indices below 2^64: all of them, except
 * in a top node whose slots reach past the end of the index space.
 */
static inline unsigned node_limit(const struct vmm_xarray *xa, const struct vmm_xa_node *node)
{
	if (node->shift + chunk_shift(xa) <= 64)
		return chunk_size(xa);
	return (unsigned)(UINT64_MAX >> node->shift) + 1;
}

/* The largest index the head entry can hold: 0 for a single entry. */
static uint64_t max_index(const struct vmm_xarray *xa, const void *entry)
{
	if (!xa_is_node(entry))
		return 0;
	/* (chunk << shift) - 1 wraps to UINT64_MAX for the top of the index space */
	if (xa_to_node(entry)->shift + chunk_shift(xa) >= 64)
		return UINT64_MAX;
	return ((uint64_t)chunk_size(xa) << xa_to_node(entry)->shift) - 1;
}

/* The last index the cursor's entry covers, pushed to 1 when an order > 0 starts at 0. */
static uint64_t xas_max(const struct vmm_xa_state *xas)
{
	uint64_t max = xas->xa_index;

	if (xas->xa_shift || xas->xa_sibs) {
		uint64_t mask = ((uint64_t)(xas->xa_sibs + 1) << xas->xa_shift) - 1;

		max |= mask;
		/* an entry of order > 0 at index 0 must not live in the head */
		if (max == mask)
			max++;
	}
	return max;
}

/* The index bits a node at @shift leaves as they are: those above its slots. */
static inline uint64_t above_node(const struct vmm_xarray *xa, unsigned shift)
{
	unsigned top = shift + chunk_shift(xa);

	return top >= 64 ? 0 : ~((1ull << top) - 1);
}

/* Set the index to the first one slot @offset of the cursor's node covers. */
static void xas_move_index(struct vmm_xa_state *xas, unsigned offset)
{
	unsigned shift = xas->xa_node->shift;

	xas->xa_index = (xas->xa_index & above_node(xas->xa, shift)) + ((uint64_t)offset << shift);
}

uint64_t vmm_xas_entry_start(const struct vmm_xa_state *xas)
{
	const struct vmm_xa_node *node = xas->xa_node;

	if (!xas_is_node(xas))
		return 0;
	return (xas->xa_index & above_node(xas->xa, node->shift)) +
	       ((uint64_t)xas->xa_offset << node->shift);
}

void vmm_xas_set_order(struct vmm_xa_state *xas, uint64_t index, unsigned order)
{
	unsigned cs = chunk_shift(xas->xa);

	xas->xa_index = order < 64 ? index & ~((1ull << order) - 1) : 0;
	xas->xa_shift = (uint8_t)(order - order % cs);
	xas->xa_sibs = (uint8_t)((1u << (order % cs)) - 1);
	xas->xa_node = XAS_RESTART;
}

/* ---- marks ---- */

static inline bool node_get_mark(const struct vmm_xa_node *node, unsigned offset, xa_mark_t mark)
{
	return (node->marks[mark] >> offset) & 1;
}

/* Set; true when it was already set. */
static inline bool node_set_mark(struct vmm_xa_node *node, unsigned offset, xa_mark_t mark)
{
	bool was = node_get_mark(node, offset, mark);

	node->marks[mark] |= 1ull << offset;
	return was;
}

/* Clear; true when it was set. */
static inline bool node_clear_mark(struct vmm_xa_node *node, unsigned offset, xa_mark_t mark)
{
	bool was = node_get_mark(node, offset, mark);

	node->marks[mark] &= ~(1ull << offset);
	return was;
}

static inline bool node_any_mark(const struct vmm_xa_node *node, xa_mark_t mark)
{
	return node->marks[mark] != 0;
}

bool vmm_xas_get_mark(const struct vmm_xa_state *xas, xa_mark_t mark)
{
	if (xas_invalid(xas))
		return false;
	if (!xas->xa_node)
		return vmm_xa_marked(xas->xa, mark);
	return node_get_mark(xas->xa_node, xas->xa_offset, mark);
}

/* A mark travels up until it meets a node slot that already had it. */
void vmm_xas_set_mark(const struct vmm_xa_state *xas, xa_mark_t mark)
{
	struct vmm_xa_node *node = xas->xa_node;
	unsigned offset = xas->xa_offset;

	if (xas_invalid(xas))
		return;
	for (; node; offset = node->offset, node = node->parent)
		if (node_set_mark(node, offset, mark))
			return;
	xas->xa->xa_marks |= (uint8_t)(1u << mark);
}

/* A clear travels up while it leaves its node with no slot so marked. */
void vmm_xas_clear_mark(const struct vmm_xa_state *xas, xa_mark_t mark)
{
	struct vmm_xa_node *node = xas->xa_node;
	unsigned offset = xas->xa_offset;

	if (xas_invalid(xas))
		return;
	for (; node; offset = node->offset, node = node->parent) {
		if (!node_clear_mark(node, offset, mark) || node_any_mark(node, mark))
			return;
	}
	xas->xa->xa_marks &= (uint8_t)~(1u << mark);
}

void vmm_xas_init_marks(const struct vmm_xa_state *xas)
{
	for (xa_mark_t mark = 0; mark < XA_MAX_MARKS; mark++)
		vmm_xas_clear_mark(xas, mark);
}

/*
 * Before a multi-index entry is stored over [offset, offset + sibs], the
 * marks of the slots it swallows move to its canonical slot.
 */
static void xas_squash_marks(const struct vmm_xa_state *xas)
{
	struct vmm_xa_node *node = xas->xa_node;
	unsigned first = xas->xa_offset + 1, n = xas->xa_sibs;
	uint64_t range = (n >= 64 ? ~0ull : (1ull << n) - 1) << first;

	for (xa_mark_t mark = 0; mark < XA_MAX_MARKS; mark++) {
		if (!(node->marks[mark] & range))
			continue;
		node->marks[mark] &= ~range;
		node_set_mark(node, xas->xa_offset, mark);
	}
}

/* ---- nodes ---- */

static void xas_update(const struct vmm_xa_state *xas, struct vmm_xa_node *node)
{
	if (xas->xa->xa_update)
		xas->xa->xa_update(node);
}

/* A new node below the cursor's slot (or at the top when the cursor is at the head). */
static struct vmm_xa_node *xas_alloc(struct vmm_xa_state *xas, unsigned shift)
{
	struct vmm_xa_node *parent = xas->xa_node;
	struct vmm_xa_node *node = vmm_xa_node_alloc(xas->xa);

	if (!node) {
		xas_set_err(xas, -VMM_ENOMEM);
		return NULL;
	}
	node->shift = (uint8_t)shift;
	node->array = xas->xa;
	node->parent = parent;
	if (parent) {
		node->offset = xas->xa_offset;
		parent->count++;
		xas_update(xas, parent);
	}
	xas->xa->xa_nr_nodes++;
	return node;
}

static void xas_free_node(const struct vmm_xa_state *xas, struct vmm_xa_node *node)
{
	node->count = 0;
	node->nr_values = 0;
	xas_update(xas, node);
	xas->xa->xa_nr_nodes--;
	vmm_xa_node_free(xas->xa, node);
}

/* Free @top and everything below it (a subtree a store replaced). */
static void xas_free_nodes(const struct vmm_xa_state *xas, struct vmm_xa_node *top)
{
	struct vmm_xa_node *node = top;
	unsigned offset = 0;

	/* depth first, freeing each node after its children, without recursion */
	for (;;) {
		void *entry = offset < chunk_size(xas->xa) ? node->slots[offset] : NULL;

		if (offset < chunk_size(xas->xa)) {
			if (xa_is_node(entry) && node->shift) {
				node = xa_to_node(entry);
				offset = 0;
				continue;
			}
			offset++;
			continue;
		}
		{
			struct vmm_xa_node *parent = node->parent;
			unsigned next = node->offset + 1u;
			bool done = node == top;

			xas_free_node(xas, node);
			if (done)
				return;
			node = parent;
			offset = next;
		}
	}
}

/*
 * Grow the tree until its top covers the cursor's entry. Each new top node
 * takes the old head in slot 0, with the head's marks. Returns the shift
 * a node one level above the new top would have (0 when the head itself
 * will do), or -1 with the cursor in error.
 */
static int xas_expand(struct vmm_xa_state *xas, void *head)
{
	struct vmm_xarray *xa = xas->xa;
	uint64_t max = xas_max(xas);
	unsigned cs = chunk_shift(xa), shift = 0;
	struct vmm_xa_node *node = NULL;

	if (!head) {
		if (max == 0)
			return 0;
		while ((max >> shift) >= chunk_size(xa))
			shift += cs;
		return (int)(shift + cs);
	}
	if (xa_is_node(head)) {
		node = xa_to_node(head);
		shift = node->shift + cs;
	}
	xas->xa_node = NULL;
	while (max > max_index(xa, head)) {
		xas->xa_node = NULL;
		node = xas_alloc(xas, shift);
		if (!node)
			return -1;
		node->count = 1;
		node->nr_values = xa_is_value(head);
		node->slots[0] = head;
		for (xa_mark_t mark = 0; mark < XA_MAX_MARKS; mark++)
			if (vmm_xa_marked(xa, mark))
				node_set_mark(node, 0, mark);
		if (xa_is_node(head)) {
			xa_to_node(head)->offset = 0;
			xa_to_node(head)->parent = node;
		}
		head = xa_mk_node(node);
		xa->xa_head = head;
		xas_update(xas, node);
		shift += cs;
	}
	xas->xa_node = node;
	return (int)shift;
}

/*
 * Remove the top node while it only holds slot 0 and what slot 0 holds may
 * stand at the head: a node, or (below a shift-0 top) the entry for index 0.
 */
static void xas_shrink(struct vmm_xa_state *xas)
{
	struct vmm_xarray *xa = xas->xa;

	while (xa_is_node(xa->xa_head)) {
		struct vmm_xa_node *node = xa_to_node(xa->xa_head);
		void *entry = node->slots[0];

		if (node->count != 1 || !entry || (!xa_is_node(entry) && node->shift))
			break;
		xas->xa_node = XAS_BOUNDS;
		xa->xa_head = entry;
		if (xa_is_node(entry)) {
			xa_to_node(entry)->parent = NULL;
			xa_to_node(entry)->offset = 0;
		}
		/* a late reader of the old node would be told to restart */
		node->slots[0] = XA_RETRY_ENTRY;
		xas_free_node(xas, node);
	}
}

/* Free the cursor's node while it is empty, walking up; then shrink from the top. */
static void xas_delete_node(struct vmm_xa_state *xas)
{
	struct vmm_xa_node *node = xas->xa_node;

	while (!node->count) {
		struct vmm_xa_node *parent = node->parent;

		xas->xa_offset = node->offset;
		xas->xa_node = parent;
		xas_free_node(xas, node);
		if (!parent) {
			xas->xa->xa_head = NULL;
			xas->xa_node = XAS_BOUNDS;
			return;
		}
		parent->slots[xas->xa_offset] = NULL;
		parent->count--;
		node = parent;
		xas_update(xas, node);
	}
	if (!node->parent)
		xas_shrink(xas);
}

/* ---- walks ---- */

/* The slot of @node holding the cursor's index, with a sibling resolved to its canonical slot. */
static void *xas_descend(struct vmm_xa_state *xas, struct vmm_xa_node *node)
{
	unsigned offset = get_offset(xas->xa, xas->xa_index, node);
	void *entry = node->slots[offset];

	if (xa_is_sibling(entry)) {
		offset = xa_to_sibling(entry);
		entry = node->slots[offset];
	}
	xas->xa_node = node;
	xas->xa_offset = (uint8_t)offset;
	return entry;
}

/* Where a walk begins: the slot the cursor is at, or the head. */
static void *xas_start(struct vmm_xa_state *xas)
{
	void *entry;

	if (xas_is_node(xas)) {
		entry = xas->xa_node->slots[xas->xa_offset];
		if (xa_is_sibling(entry))
			entry = xas->xa_node->slots[xa_to_sibling(entry)];
		return entry;
	}
	if (xas_error(xas))
		return NULL;
	entry = xas->xa->xa_head;
	if (xas->xa_index > max_index(xas->xa, entry)) {
		xas->xa_node = XAS_BOUNDS;
		return NULL;
	}
	xas->xa_node = NULL;
	return entry;
}

void *vmm_xas_load(struct vmm_xa_state *xas)
{
	void *entry = xas_start(xas);

	while (xa_is_node(entry)) {
		struct vmm_xa_node *node = xa_to_node(entry);

		if (xas->xa_shift > node->shift)
			break;
		entry = xas_descend(xas, node);
		if (!node->shift)
			break;
	}
	return entry;
}

void *vmm_xas_create(struct vmm_xa_state *xas, bool allow_root)
{
	struct vmm_xarray *xa = xas->xa;
	unsigned order = xas->xa_shift, cs = chunk_shift(xa);
	struct vmm_xa_node *node = xas->xa_node;
	void **slot;
	void *entry;
	int shift;

	if (!node || node == XAS_BOUNDS || node == XAS_RESTART) {
		xas->xa_node = NULL;
		shift = xas_expand(xas, xa->xa_head);
		if (shift < 0)
			return NULL;
		if (!shift && !allow_root)
			shift = (int)cs;
		/* walk down from the head, which the expansion may have changed */
		xas->xa_node = NULL;
		entry = xa->xa_head;
		slot = &xa->xa_head;
	} else if (xas_error(xas)) {
		return NULL;
	} else {
		shift = node->shift;
		entry = node->slots[xas->xa_offset];
		slot = &node->slots[xas->xa_offset];
	}

	while ((unsigned)shift > order) {
		shift -= (int)cs;
		if (!entry) {
			node = xas_alloc(xas, (unsigned)shift);
			if (!node)
				return NULL;
			*slot = xa_mk_node(node);
		} else if (xa_is_node(entry)) {
			node = xa_to_node(entry);
		} else {
			break;	/* a multi-index entry covers more than asked */
		}
		entry = xas_descend(xas, node);
		slot = &node->slots[xas->xa_offset];
	}
	return entry;
}

/*
 * The last slot a store at the cursor overwrites: the entry's canonical slot
 * and its siblings, and then any siblings that follow, which belong to a
 * larger entry whose canonical slot the store took: storing into a part of
 * a multi-index entry replaces (or erases) the whole of it.
 */
static unsigned store_last_slot(const struct vmm_xa_state *xas)
{
	const struct vmm_xa_node *node = xas->xa_node;
	unsigned last = xas->xa_offset + xas->xa_sibs;

	while (last + 1 < chunk_size(xas->xa) && xa_is_sibling(node->slots[last + 1]))
		last++;
	return last;
}

/*
 * Store at the head: an entry for index 0 alone, or NULL when an erase
 * covers the whole tree.
 */
static void *xas_store_head(struct vmm_xa_state *xas, void *entry, void *old)
{
	xas->xa->xa_head = entry;
	if (xa_is_node(old))
		xas_free_nodes(xas, xa_to_node(old));
	return old;
}

/*
 * Store @entry in the slots [offset, last] of the cursor's node, keeping
 * count (non-NULL slots) and nr_values (slots of a value entry) right. A
 * subtree in a slot that a multi-index entry takes is freed. When the node
 * lost entries it may have become empty: it is freed, and the tree shrunk.
 */
void *vmm_xas_store(struct vmm_xa_state *xas, void *entry)
{
	struct vmm_xa_node *node;
	void *first, *canon_old = NULL;
	unsigned last;
	int count = 0, values = 0;

	if (entry)
		first = vmm_xas_create(xas, !xa_is_node(entry) && !xa_is_zero(entry));
	else
		first = vmm_xas_load(xas);
	if (xas_invalid(xas))
		return first;
	node = xas->xa_node;
	/* storing into a part of a larger entry replaces the whole of it */
	if (node && xas->xa_shift < node->shift)
		xas->xa_sibs = 0;
	if (first == entry && !xas->xa_sibs)
		return first;
	if (!node) {
		if (!entry)
			vmm_xas_init_marks(xas);
		return xas_store_head(xas, entry, first);
	}
	if (xas->xa_sibs)
		xas_squash_marks(xas);
	if (!entry)
		vmm_xas_init_marks(xas);

	last = store_last_slot(xas);
	for (unsigned off = xas->xa_offset; off <= last; off++) {
		void *old = node->slots[off];
		void *new = entry && off != xas->xa_offset ? xa_mk_sibling(xas->xa_offset) : entry;

		/* a sibling stands for the canonical entry before it, as it was */
		if (!xa_is_sibling(old))
			canon_old = old;
		if (xa_is_node(old) && node->shift)
			xas_free_nodes(xas, xa_to_node(old));
		count += (new != NULL) - (old != NULL);
		values += (new && xa_is_value(entry)) - (old && xa_is_value(canon_old));
		node->slots[off] = new;
	}
	node->count = (uint8_t)(node->count + count);
	node->nr_values = (uint8_t)(node->nr_values + values);
	if (count || values)
		xas_update(xas, node);
	if (count < 0)
		xas_delete_node(xas);
	return first;
}

/* ---- searches ---- */

/* Step the cursor to the slot after its own, going up at a node's end; false at the end. */
static bool xas_step(struct vmm_xa_state *xas)
{
	unsigned offset = xas->xa_offset + 1u;

	while (offset >= node_limit(xas->xa, xas->xa_node)) {
		struct vmm_xa_node *node = xas->xa_node;

		if (!node->parent)
			return false;
		offset = node->offset + 1u;
		xas->xa_node = node->parent;
	}
	xas->xa_offset = (uint8_t)offset;
	xas_move_index(xas, offset);
	return true;
}

/* Go down into the child at the cursor's slot, to its first slot. */
static void xas_enter(struct vmm_xa_state *xas, void *entry)
{
	xas->xa_node = xa_to_node(entry);
	xas->xa_offset = 0;
	xas_move_index(xas, 0);
}

/* Whether a slot's entry counts for a search: present (or marked), and canonical. */
static bool slot_matches(const struct vmm_xa_node *node, unsigned offset, xa_mark_t filter)
{
	void *entry = node->slots[offset];

	if (!entry || xa_is_sibling(entry) || xa_is_retry(entry))
		return false;
	return filter == XA_PRESENT || node_get_mark(node, offset, filter);
}

/*
 * Both searches: first the entry at a freshly set cursor's index, then slot
 * by slot (a marked search skips unmarked slots by the mark words),
 * entering every node on the way that may hold a match.
 */
static void *xas_find_filtered(struct vmm_xa_state *xas, uint64_t max, xa_mark_t filter)
{
	bool step = true;
	void *entry;

	if (xas_error(xas))
		return NULL;
	if (xas->xa_index > max) {
		xas->xa_node = XAS_RESTART;
		return NULL;
	}
	if (!xas->xa_node || xas->xa_node == XAS_BOUNDS) {
		xas->xa_node = XAS_BOUNDS;
		return NULL;
	}
	if (xas->xa_node == XAS_RESTART) {
		entry = vmm_xas_load(xas);
		if (xa_is_node(entry)) {
			/* the walk stopped above the leaves (an order was set): go on below */
			xas->xa_node = xa_to_node(entry);
			xas->xa_offset = (uint8_t)get_offset(xas->xa, xas->xa_index, xas->xa_node);
			step = false;
		} else if (!xas_is_node(xas)) {
			/* the head alone: index 0, or nothing */
			if (entry && (filter == XA_PRESENT || vmm_xa_marked(xas->xa, filter)))
				return entry;
			xas->xa_node = XAS_BOUNDS;
			return NULL;
		} else if (slot_matches(xas->xa_node, xas->xa_offset, filter)) {
			return entry;
		}
	}
	for (;;) {
		struct vmm_xa_node *node;

		if (step && !xas_step(xas))
			break;
		step = true;
		node = xas->xa_node;
		if (filter != XA_PRESENT) {
			uint64_t rest = node->marks[filter] & (~0ull << xas->xa_offset);
			unsigned limit = node_limit(xas->xa, node);
			unsigned next = rest ? vmm_ffs64(rest) : limit;

			if (next >= limit) {
				/* nothing marked in the rest of this node: step past its end */
				xas->xa_offset = (uint8_t)(limit - 1);
				continue;
			}
			xas->xa_offset = (uint8_t)next;
			xas_move_index(xas, next);
		}
		if (xas->xa_index > max)
			break;
		entry = node->slots[xas->xa_offset];
		if (xa_is_node(entry)) {
			xas_enter(xas, entry);
			step = false;
			continue;
		}
		if (slot_matches(node, xas->xa_offset, filter))
			return entry;
	}
	xas->xa_node = xas->xa_index > max ? XAS_RESTART : XAS_BOUNDS;
	return NULL;
}

void *vmm_xas_find(struct vmm_xa_state *xas, uint64_t max)
{
	return xas_find_filtered(xas, max, XA_PRESENT);
}

void *vmm_xas_find_marked(struct vmm_xa_state *xas, uint64_t max, xa_mark_t mark)
{
	return xas_find_filtered(xas, max, mark);
}

/* ---- the simple API ---- */

void vmm_xa_init_shift(struct vmm_xarray *xa, struct vmm_machine *m, unsigned cs)
{
	memset(xa, 0, sizeof(*xa));
	xa->xa_m = m;
	xa->xa_chunk_shift = (uint8_t)VMM_CLAMP(cs, XA_CHUNK_SHIFT_MIN, XA_CHUNK_SHIFT);
}

void vmm_xa_init(struct vmm_xarray *xa, struct vmm_machine *m)
{
	vmm_xa_init_shift(xa, m, XA_CHUNK_SHIFT);
}

void *vmm_xa_load(struct vmm_xarray *xa, uint64_t index)
{
	return vmm_xa_load_inline(xa, index);
}

void *vmm_xa_store_order(struct vmm_xarray *xa, uint64_t index, unsigned order, void *entry)
{
	XA_STATE(xas, xa, index);
	void *old;

	if (xa_is_internal(entry) && !xa_is_zero(entry))
		return xa_mk_internal((uintptr_t)-VMM_EINVAL);
	vmm_xas_set_order(&xas, index, order);
	old = vmm_xas_store(&xas, entry);
	if (xas_error(&xas))
		return xa_mk_internal((uintptr_t)(intptr_t)xas_error(&xas));
	return xa_is_zero(old) ? NULL : old;
}

void *vmm_xa_store(struct vmm_xarray *xa, uint64_t index, void *entry)
{
	return vmm_xa_store_order(xa, index, 0, entry);
}

void *vmm_xa_erase(struct vmm_xarray *xa, uint64_t index)
{
	return vmm_xa_store(xa, index, NULL);
}

int vmm_xa_insert(struct vmm_xarray *xa, uint64_t index, void *entry)
{
	XA_STATE(xas, xa, index);

	if (xa_is_internal(entry))
		return -VMM_EINVAL;
	if (vmm_xas_load(&xas))
		return -VMM_EBUSY;
	vmm_xas_store(&xas, entry ? entry : XA_ZERO_ENTRY);
	return xas_error(&xas);
}

int vmm_xa_reserve(struct vmm_xarray *xa, uint64_t index)
{
	XA_STATE(xas, xa, index);

	if (vmm_xas_load(&xas))
		return 0;
	vmm_xas_store(&xas, XA_ZERO_ENTRY);
	return xas_error(&xas);
}

void vmm_xa_release(struct vmm_xarray *xa, uint64_t index)
{
	XA_STATE(xas, xa, index);

	if (xa_is_zero(vmm_xas_load(&xas)))
		vmm_xas_store(&xas, NULL);
}

unsigned vmm_xa_get_order(struct vmm_xarray *xa, uint64_t index)
{
	XA_STATE(xas, xa, index);
	unsigned order = 0, slot;

	if (!vmm_xas_load(&xas) || !xas_is_node(&xas))
		return 0;
	for (slot = xas.xa_offset + 1u; slot < chunk_size(xa); slot++) {
		if (xas.xa_node->slots[slot] != xa_mk_sibling(xas.xa_offset))
			break;
	}
	while ((1u << order) < slot - xas.xa_offset)
		order++;
	return order + xas.xa_node->shift;
}

bool vmm_xa_get_mark(struct vmm_xarray *xa, uint64_t index, xa_mark_t mark)
{
	XA_STATE(xas, xa, index);
	void *entry = vmm_xas_load(&xas);

	return entry && vmm_xas_get_mark(&xas, mark);
}

void vmm_xa_set_mark(struct vmm_xarray *xa, uint64_t index, xa_mark_t mark)
{
	XA_STATE(xas, xa, index);

	if (vmm_xas_load(&xas))
		vmm_xas_set_mark(&xas, mark);
}

void vmm_xa_clear_mark(struct vmm_xarray *xa, uint64_t index, xa_mark_t mark)
{
	XA_STATE(xas, xa, index);

	if (vmm_xas_load(&xas))
		vmm_xas_clear_mark(&xas, mark);
}

void *vmm_xa_find(struct vmm_xarray *xa, uint64_t *index, uint64_t max, xa_mark_t filter)
{
	XA_STATE(xas, xa, *index);
	void *entry;

	do {
		entry = xas_find_filtered(&xas, max, filter);
	} while (xa_is_zero(entry));
	if (entry)
		*index = xas.xa_index;
	return entry;
}

void *vmm_xa_find_after(struct vmm_xarray *xa, uint64_t *index, uint64_t max, xa_mark_t filter)
{
	XA_STATE(xas, xa, *index + 1);
	void *entry;

	if (*index == UINT64_MAX)
		return NULL;
	for (;;) {
		entry = xas_find_filtered(&xas, max, filter);
		if (!entry)
			return NULL;
		/* still inside the multi-index entry that holds *index */
		if (xa_is_zero(entry) ||
		    (xas_is_node(&xas) && vmm_xas_entry_start(&xas) <= *index))
			continue;
		*index = xas.xa_index;
		return entry;
	}
}

void vmm_xa_destroy(struct vmm_xarray *xa)
{
	XA_STATE(xas, xa, 0);

	if (xa_is_node(xa->xa_head))
		xas_free_nodes(&xas, xa_to_node(xa->xa_head));
	xa->xa_head = NULL;
	xa->xa_marks = 0;
}

/* ---- the checker ---- */

struct xa_check {
	const struct vmm_xarray *xa;
	const char *what;
	FILE *out;
	long problems;
	uint64_t nodes;
};

#define XA_BAD(c, node, ...)                                                    \
	do {                                                                    \
		fprintf((c)->out, "xarray %s: node shift %u offset %u: ", (c)->what, \
			(node)->shift, (node)->offset);                         \
		fprintf((c)->out, __VA_ARGS__);                                 \
		fputc('\n', (c)->out);                                          \
		(c)->problems++;                                                \
	} while (0)

static void check_node(struct xa_check *c, const struct vmm_xa_node *node, unsigned depth);

static void check_slot(struct xa_check *c, const struct vmm_xa_node *node, unsigned off,
		       unsigned *canon, unsigned *count, unsigned *values, unsigned depth)
{
	const void *entry = node->slots[off];

	if (!entry) {
		*canon = UINT32_MAX;
		return;
	}
	(*count)++;
	if (xa_is_sibling(entry)) {
		if (*canon == UINT32_MAX || xa_to_sibling(entry) != *canon)
			XA_BAD(c, node, "slot %u: sibling of %u, not of the entry before it", off,
			       xa_to_sibling(entry));
		else if (xa_is_value(node->slots[*canon]))
			(*values)++;
		for (xa_mark_t mk = 0; mk < XA_MAX_MARKS; mk++)
			if (node_get_mark(node, off, mk))
				XA_BAD(c, node, "slot %u: a sibling carries mark %u", off, mk);
		return;
	}
	*canon = off;
	if (xa_is_value(entry))
		(*values)++;
	if (xa_is_retry(entry) || (xa_is_internal(entry) && !xa_is_node(entry) && !xa_is_zero(entry)))
		XA_BAD(c, node, "slot %u: internal entry %#" PRIxPTR " in a live node", off,
		       (uintptr_t)entry);
	if (!xa_is_node(entry))
		return;
	if (!node->shift) {
		XA_BAD(c, node, "slot %u: a node below a leaf", off);
		return;
	}
	{
		const struct vmm_xa_node *child = xa_to_node(entry);

		if (child->parent != node || child->offset != off ||
		    child->shift + c->xa->xa_chunk_shift != node->shift) {
			XA_BAD(c, node, "slot %u: child's parent, offset or shift is wrong", off);
			return;
		}
		for (xa_mark_t mk = 0; mk < XA_MAX_MARKS; mk++)
			if (node_get_mark(node, off, mk) != node_any_mark(child, mk))
				XA_BAD(c, node, "slot %u: mark %u disagrees with the child", off, mk);
		check_node(c, child, depth + 1);
	}
}

static void check_node(struct xa_check *c, const struct vmm_xa_node *node, unsigned depth)
{
	unsigned size = 1u << c->xa->xa_chunk_shift, canon = UINT32_MAX, count = 0, values = 0;

	c->nodes++;
	if (depth > 64 || node->array != c->xa) {
		XA_BAD(c, node, "not this array's, or the tree is too deep");
		return;
	}
	for (unsigned off = 0; off < size; off++)
		check_slot(c, node, off, &canon, &count, &values, depth);
	for (unsigned off = size; off < XA_CHUNK_SIZE; off++)
		if (node->slots[off])
			XA_BAD(c, node, "slot %u is beyond the chunk size", off);
	for (xa_mark_t mk = 0; mk < XA_MAX_MARKS; mk++) {
		uint64_t valid = 0;

		for (unsigned off = 0; off < size; off++)
			if (node->slots[off] && !xa_is_sibling(node->slots[off]))
				valid |= 1ull << off;
		if (node->marks[mk] & ~valid)
			XA_BAD(c, node, "mark %u on empty slots (%#" PRIx64 ")", mk,
			       node->marks[mk] & ~valid);
	}
	if (count != node->count)
		XA_BAD(c, node, "count %u, slots in use %u", node->count, count);
	if (values != node->nr_values)
		XA_BAD(c, node, "nr_values %u, value slots %u", node->nr_values, values);
	if (!count)
		XA_BAD(c, node, "an empty node was kept");
}

long vmm_xa_check(const struct vmm_xarray *xa, const char *what, FILE *out)
{
	struct xa_check c = { .xa = xa, .what = what, .out = out };
	const void *head = xa->xa_head;

	if (xa->xa_chunk_shift < XA_CHUNK_SHIFT_MIN || xa->xa_chunk_shift > XA_CHUNK_SHIFT) {
		fprintf(out, "xarray %s: chunk shift %u\n", what, xa->xa_chunk_shift);
		return 1;
	}
	if (xa_is_node(head)) {
		const struct vmm_xa_node *top = xa_to_node(head);

		if (top->parent || top->offset || top->shift % xa->xa_chunk_shift) {
			XA_BAD(&c, top, "the top node has a parent, an offset or an odd shift");
		} else {
			check_node(&c, top, 0);
			for (xa_mark_t mk = 0; mk < XA_MAX_MARKS; mk++)
				if (vmm_xa_marked(xa, mk) != node_any_mark(top, mk)) {
					fprintf(out, "xarray %s: head mark %u disagrees with the tree\n",
						what, mk);
					c.problems++;
				}
		}
	} else {
		if (xa_is_internal(head) && !xa_is_zero(head)) {
			fprintf(out, "xarray %s: internal head %#" PRIxPTR "\n", what,
				(uintptr_t)head);
			c.problems++;
		}
		if (!head && xa->xa_marks) {
			fprintf(out, "xarray %s: marks %#x on an empty array\n", what, xa->xa_marks);
			c.problems++;
		}
	}
	if (c.nodes != xa->xa_nr_nodes) {
		fprintf(out, "xarray %s: %" PRIu64 " nodes in the tree, %" PRIu64 " counted\n", what,
			c.nodes, xa->xa_nr_nodes);
		c.problems++;
	}
	return c.problems;
}
