/* SPDX-License-Identifier: MIT */
/*
 * The page cache's machine-wide state (what Linux keeps in globals and in
 * the filesystem and block layers): the slab caches of its objects, the
 * block devices, the namespace of files, the writeback timer and sysctls.
 * One per machine, made after the slab caches at boot.
 */
#ifndef VMM_PAGECACHE_PAGECACHE_H
#define VMM_PAGECACHE_PAGECACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <vmm/slab.h>

#include "lib/list.h"
#include "sim/timer.h"

struct vmm_machine;

struct vmm_pagecache {
	vmm_kmem_cache *radix_tree_node;	/* XArray nodes, 576 bytes */
	uint64_t xa_nodes;			/* nodes allocated, all arrays */
};

/* Boot: the caches (after vmm_slab_init); teardown frees everything left. */
int vmm_pagecache_init(struct vmm_machine *m);
void vmm_pagecache_destroy(struct vmm_machine *m);
/* vmm_machine_check()'s part: every XArray, nrpages, page flags against marks. */
long vmm_pagecache_check(struct vmm_machine *m, FILE *out);

#endif /* VMM_PAGECACHE_PAGECACHE_H */
