/* SPDX-License-Identifier: MIT */
/*
 * shmem objects (Linux's mm/shmem.c, as far as shared anonymous memory
 * needs it): an inode with an address_space and no device, whose pages are
 * PG_swapbacked, counted in Shmem (NR_SHMEM) and on the anonymous LRU
 * lists, never written back, and zero-filled when first touched. A shared
 * anonymous mapping (and its copies in forked children) maps one; it goes
 * with the last VMA.
 */
#ifndef VMM_PAGECACHE_SHMEM_H
#define VMM_PAGECACHE_SHMEM_H

#include "pagecache/filemap.h"

/* shmem_kernel_file_setup("dev/zero", size): an unlinked shmem file, read-write. */
int vmm_shmem_file_setup(struct vmm_machine *m, uint64_t size, struct vmm_file **out);

/*
 * shmem_get_folio(SGP_CACHE) for the fault path: the page at @index,
 * locked, with a reference for the caller; a zeroed page is added when the
 * slot is empty. NULL with *@ret VM_FAULT_SIGBUS past the end of the
 * object, VM_FAULT_OOM without memory.
 */
struct vmm_page *vmm_shmem_get_page(struct vmm_inode *inode, uint64_t index, unsigned *ret);

#endif /* VMM_PAGECACHE_SHMEM_H */
