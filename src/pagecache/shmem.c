/* SPDX-License-Identifier: MIT */
/*
 * shmem objects (shmem.h).
 */
#include "pagecache/shmem.h"

#include <vmm/errors.h>

#include "machine.h"

int vmm_shmem_file_setup(struct vmm_machine *m, uint64_t size, struct vmm_file **out)
{
	struct vmm_inode *inode;
	int err;

	vmm_pagecache_enter(m);
	err = vmm_inode_create(m, NULL, "dev/zero", &inode);
	if (!err) {
		inode->i_size = size;
		inode->unlinked = true;
		inode->i_data.gfp_mask = VMM_GFP_HIGHUSER_MOVABLE;
		if ((err = vmm_file_alloc(inode, VMM_O_RDWR, out)))
			vmm_inode_put(inode);
	}
	vmm_pagecache_exit(m);
	return err;
}

struct vmm_page *vmm_shmem_get_page(struct vmm_inode *inode, uint64_t index, unsigned *ret)
{
	struct vmm_address_space *mapping = &inode->i_data;
	struct vmm_machine *m = inode->m;
	struct vmm_page *page;

	*ret = 0;
	if (index >= DIV_ROUND_UP(inode->i_size, VMM_PAGE_SIZE)) {
		*ret = VM_FAULT_SIGBUS;
		return NULL;
	}
	page = vmm_find_get_page(mapping, index);
	if (page) {
		vmm_lock_page(m, page);
		return page;
	}
	page = vmm_alloc_pages(m, mapping->gfp_mask | VMM_GFP_ZERO, 0);
	if (!page) {
		*ret = VM_FAULT_OOM;
		return NULL;
	}
	/* before insertion, so the page counts as Shmem and on the anonymous lists */
	set_page_flag(page, VMM_PG_swapbacked);
	set_page_flag(page, VMM_PG_uptodate);
	if (vmm_add_to_page_cache_lru(page, mapping, index, mapping->gfp_mask)) {
		page->flags &= ~((1ull << VMM_PG_swapbacked) | (1ull << VMM_PG_uptodate));
		vmm_put_page(m, page);
		*ret = VM_FAULT_OOM;
		return NULL;
	}
	return page;	/* locked by the insertion; our reference is the allocation's */
}
