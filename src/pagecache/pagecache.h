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

#include <vmm/config.h>
#include <vmm/slab.h>

#include "lib/list.h"
#include "pagecache/xarray.h"
#include "sim/timer.h"

struct vmm_machine;

struct vmm_bdev;

struct vmm_pagecache {
	vmm_kmem_cache *radix_tree_node;	/* XArray nodes, 576 bytes */
	vmm_kmem_cache *inode_cache;
	vmm_kmem_cache *filp;
	uint64_t xa_nodes;			/* nodes of the page cache's own arrays */
	uint64_t xa_nodes_all;			/* nodes of every array (tests make their own) */
	struct vmm_xarray mappings;		/* page->mapping >> 3 -> its address_space */
	struct vmm_list bdevs;
	struct vmm_list files;			/* open handles */
	struct vmm_list shmem_inodes;		/* shmem objects (shared anonymous memory) */
	struct vmm_bdev *default_bdev;
	uint64_t next_ino;
	uint64_t nr_files;			/* open handles */
	/* page cache calls in progress: timers that fire inside one wait for its end */
	unsigned depth;
	bool wb_pending;
	struct vmm_timer wb_timer;		/* the flusher's periodic wakeup */
	uint64_t nr_dirtied_since_balance;	/* ratelimit of balance_dirty_pages */
	/* workingset: per node, evictions and activations so far (lruvec->nonresident_age) */
	uint64_t nonresident_age[VMM_MAX_NUMNODES];
	struct vmm_list shadow_nodes;		/* XArray nodes holding only shadow entries */
	/* figures Linux shows only through tracepoints */
	uint64_t balance_pauses;		/* balance_dirty_pages sleeps */
	uint64_t balance_pause_cycles;
	uint64_t background_runs;		/* flusher wakeups that wrote something */
	uint64_t ra_windows;			/* readahead windows submitted */
	void (*ra_trace)(void *data, uint64_t start, uint32_t size, uint32_t async);
	void *ra_trace_data;
};

/* Boot: the caches (after vmm_slab_init); teardown frees everything left. */
int vmm_pagecache_init(struct vmm_machine *m);
void vmm_pagecache_destroy(struct vmm_machine *m);
/* vmm_machine_check()'s part: every XArray, nrpages, page flags against marks. */
long vmm_pagecache_check(struct vmm_machine *m, FILE *out);

struct XXH3_state_s;
/*
 * vmm_machine_digest()'s part: every block device (geometry, block states,
 * the bytes of every block in use, queue, statistics), every inode and
 * shmem object (number, name, sizes, page-cache entries with their marks,
 * block maps, dirty state) and every open file (references, position,
 * flags, readahead state).
 */
void vmm_pagecache_digest(const struct vmm_machine *m, struct XXH3_state_s *st);

#endif /* VMM_PAGECACHE_PAGECACHE_H */
