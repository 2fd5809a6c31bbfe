/* SPDX-License-Identifier: MIT */
/* The page cache's machine-wide state: boot, teardown, node memory, the check. */
#include "pagecache/pagecache.h"

#include <string.h>

#include <vmm/errors.h>

#include "machine.h"
#include "pagecache/xarray.h"

/*
 * Boot takes no simulated memory here: the slab caches are made when first
 * needed, so a machine that never uses the page cache has exactly the
 * caches and pages it had before the page cache existed.
 */
int vmm_pagecache_init(struct vmm_machine *m)
{
	struct vmm_pagecache *pc = vmm_hzalloc(&m->hm, sizeof(*pc));

	if (!pc)
		return -VMM_ENOMEM;
	m->pagecache = pc;
	return 0;
}

/*
 * radix_tree_node_init(): Linux makes the cache reclaimable (its nodes go
 * when the shadow-node shrinker or the inode cache frees them).
 */
static vmm_kmem_cache *radix_tree_node_cache(struct vmm_machine *m)
{
	struct vmm_pagecache *pc = m->pagecache;

	if (!pc->radix_tree_node &&
	    vmm_kmem_cache_create(m, "radix_tree_node", XA_NODE_OBJ_SIZE, 0,
				  VMM_SLAB_RECLAIM_ACCOUNT, NULL, &pc->radix_tree_node))
		return NULL;
	return pc->radix_tree_node;
}

void vmm_pagecache_destroy(struct vmm_machine *m)
{
	struct vmm_pagecache *pc = m->pagecache;

	if (!pc)
		return;
	m->pagecache = NULL;
	vmm_hfree(&m->hm, pc, sizeof(*pc));
}

struct vmm_xa_node *vmm_xa_node_alloc(struct vmm_machine *m)
{
	struct vmm_pagecache *pc = m->pagecache;
	struct vmm_xa_node *node;
	vmm_vaddr_t obj;

	if (!pc || !radix_tree_node_cache(m))
		return NULL;
	obj = vmm_kmem_cache_alloc(pc->radix_tree_node, VMM_GFP_KERNEL | VMM_GFP_NOWARN);
	if (!obj)
		return NULL;
	node = vmm_hzalloc(&m->hm, sizeof(*node));
	if (!node) {
		vmm_kmem_cache_free(pc->radix_tree_node, obj);
		return NULL;
	}
	node->obj = obj;
	vmm_list_init(&node->private_list);
	pc->xa_nodes++;
	return node;
}

void vmm_xa_node_free(struct vmm_machine *m, struct vmm_xa_node *node)
{
	struct vmm_pagecache *pc = m->pagecache;

	vmm_list_del(&node->private_list);
	vmm_kmem_cache_free(pc->radix_tree_node, node->obj);
	pc->xa_nodes--;
	vmm_hfree(&m->hm, node, sizeof(*node));
}

long vmm_pagecache_check(struct vmm_machine *m, FILE *out)
{
	(void)m;
	(void)out;
	return 0;
}
