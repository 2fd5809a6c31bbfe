/* SPDX-License-Identifier: MIT */
/*
 * The workingset (Linux's mm/workingset.c, 5.x): when a page is evicted
 * its slot keeps a shadow entry recording the node's eviction clock
 * (nonresident_age, which ticks at every eviction and activation). When
 * the page is read back, the clock's advance since then is its refault
 * distance: the number of evictions and activations that happened while
 * it was out, a lower bound of how much more memory it would have needed
 * to stay. If that distance is not more than the active file list, the
 * page would have stayed had it been active: it starts active
 * (workingset_activate), and restores PG_workingset when it had it.
 *
 * A shadow entry: the eviction clock, the node and the workingset bit in
 * a value entry (no memory cgroups, so no memcg id; bucket order 0: the
 * clock has 56 bits, more than any simulated memory needs).
 */
#include "pagecache/filemap.h"

#include <vmm/errors.h>

#include "machine.h"

#define WORKINGSET_SHIFT 1
#define SHADOW_NODES_SHIFT 6
#define EVICTION_SHIFT (WORKINGSET_SHIFT + SHADOW_NODES_SHIFT)
#define EVICTION_MASK (~0ull >> (EVICTION_SHIFT + 1))

_Static_assert(VMM_MAX_NUMNODES <= 1u << SHADOW_NODES_SHIFT, "a node id fits a shadow entry");

static void *pack_shadow(uint64_t eviction, unsigned nid, bool workingset)
{
	uint64_t v = ((eviction & EVICTION_MASK) << SHADOW_NODES_SHIFT) | nid;

	return xa_mk_value((v << WORKINGSET_SHIFT) | workingset);
}

static void unpack_shadow(const void *shadow, uint64_t *eviction, unsigned *nid,
			  bool *workingset)
{
	uint64_t v = xa_to_value(shadow);

	*workingset = v & 1;
	v >>= WORKINGSET_SHIFT;
	*nid = (unsigned)(v & ((1u << SHADOW_NODES_SHIFT) - 1));
	*eviction = v >> SHADOW_NODES_SHIFT;
}

void *vmm_workingset_eviction(struct vmm_machine *m, struct vmm_page *page)
{
	unsigned nid = vmm_page_to_nid(m, page);
	uint64_t eviction = ++m->pagecache->nonresident_age[nid];

	return pack_shadow(eviction, nid, page_flag(page, VMM_PG_workingset));
}

void vmm_workingset_activation(struct vmm_machine *m, struct vmm_page *page)
{
	m->pagecache->nonresident_age[vmm_page_to_nid(m, page)]++;
}

void vmm_workingset_refault(struct vmm_machine *m, struct vmm_page *page, void *shadow)
{
	struct vmm_pagecache *pc = m->pagecache;
	uint64_t eviction, distance, active_file;
	unsigned nid;
	bool workingset;

	unpack_shadow(shadow, &eviction, &nid, &workingset);
	if (nid >= m->nr_nodes)
		return;
	distance = (pc->nonresident_age[nid] - eviction) & EVICTION_MASK;
	NODE_DATA(m, nid)->vm_stat[WORKINGSET_REFAULT_FILE]++;
	active_file = (uint64_t)VMM_MAX(NODE_DATA(m, nid)->vm_stat[NR_ACTIVE_FILE], 0);
	if (distance > active_file)
		return;
	set_page_flag(page, VMM_PG_active);
	pc->nonresident_age[nid]++;
	NODE_DATA(m, nid)->vm_stat[WORKINGSET_ACTIVATE_FILE]++;
	if (workingset) {
		set_page_flag(page, VMM_PG_workingset);
		NODE_DATA(m, nid)->vm_stat[WORKINGSET_RESTORE_FILE]++;
	}
}

/*
 * workingset_update_node(): nodes that hold only shadow entries go on the
 * shadow_nodes list (which the shadow shrinker will trim when reclaim
 * exists), counted in workingset_nodes.
 */
void vmm_workingset_update_node(struct vmm_xa_node *node)
{
	struct vmm_machine *m = node->array->xa_m;
	bool shadow_only = node->count && node->count == node->nr_values;
	bool listed = vmm_list_is_linked(&node->private_list);
	unsigned nid;

	if (shadow_only == listed)
		return;
	nid = vmm_page_to_nid(m, vmm_virt_to_page(m, node->obj));
	if (shadow_only) {
		vmm_list_add_tail(&node->private_list, &m->pagecache->shadow_nodes);
		NODE_DATA(m, nid)->vm_stat[WORKINGSET_NODES]++;
	} else {
		vmm_list_del(&node->private_list);
		NODE_DATA(m, nid)->vm_stat[WORKINGSET_NODES]--;
	}
}

int vmm_remove_mapping(struct vmm_address_space *mapping, struct vmm_page *page)
{
	struct vmm_machine *m = mapping->host->m;
	void *shadow;

	/* the cache's reference and the caller's, and nobody else's */
	if (page->refcount != 2 || page->mapcount || PageDirty(page) || PageWriteback(page) ||
	    page->mapping != mapping->self)
		return -VMM_EBUSY;
	shadow = vmm_workingset_eviction(m, page);
	vmm_page_cache_delete(mapping, page, shadow);
	page->refcount--;
	return 0;
}
