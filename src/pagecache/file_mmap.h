/* SPDX-License-Identifier: MIT */
/*
 * Files seen through mappings (file_mmap.c): the hooks the VMA layer calls,
 * page_mkclean, unmap_mapping_range, msync, and their check.
 */
#ifndef VMM_PAGECACHE_FILE_MMAP_H
#define VMM_PAGECACHE_FILE_MMAP_H

#include <stdio.h>

#include "pagecache/filemap.h"

/* Boot: register the hooks (struct vmm_vma_file_ops) with the task layer. */
void vmm_file_mmap_init(struct vmm_machine *m);

/*
 * page_mkclean(): every shared mapping of @page made clean and read-only
 * (so the next write faults and dirties the page again). The entries changed.
 */
unsigned vmm_page_mkclean(struct vmm_address_space *mapping, struct vmm_page *page);

/*
 * unmap_mapping_range(even_cows = 1): clear every PTE of every mapping of
 * page indexes [first, last], private copy-on-write copies included, as
 * truncation does (a later access beyond the end faults and gets SIGBUS).
 */
void vmm_unmap_mapping_range(struct vmm_address_space *mapping, uint64_t first, uint64_t last);

/* vmm_machine_check()'s part: VMAs of files against the i_mmap lists and file references. */
long vmm_file_mappings_check(struct vmm_machine *m, FILE *out);

#endif /* VMM_PAGECACHE_FILE_MMAP_H */
