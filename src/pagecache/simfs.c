/* SPDX-License-Identifier: MIT */
/*
 * simfs: the filesystem on a simulated block device. Each file has two
 * block maps (XArrays of page index -> 4 KiB block, as value entries): the
 * current one, which reads and writeback use, and the durable one, which is
 * what a crash leaves. A block belongs to the current map, the durable map,
 * or both (block_use bits).
 *
 * Writeback never overwrites a durable block: a page whose block is
 * durable is written to a fresh block, and the current map points there
 * (copy-on-write, as log-structured and copy-on-write filesystems do). A
 * block only the current map knows is rewritten in place. A commit (fsync)
 * makes the current map and size durable and frees the blocks only the old
 * durable map held; a crash throws the current map away. So after a crash
 * every file reads exactly as at its last commit, whatever writeback did
 * meanwhile.
 *
 * Invariant that keeps extension simple: bytes past i_size inside the last
 * page are zero, in the cache and on the device (truncation zeroes the
 * tail; fresh blocks of partial direct writes are zero-filled).
 */
#include "pagecache/filemap.h"

#include <string.h>

#include <vmm/errors.h>

#include "machine.h"
#include "pagecache/file_mmap.h"

uint64_t vmm_simfs_block(struct vmm_inode *inode, uint64_t index)
{
	void *entry = vmm_xa_load(&inode->blocks, index);

	return entry ? xa_to_value(entry) : 0;
}

static void use_block(struct vmm_bdev *b, uint64_t block, unsigned use)
{
	if (!b->block_use[block])
		b->st.blocks_used++;
	b->block_use[block] |= (uint8_t)use;
}

/* Point the current map's @index at @block (0: a hole); false without memory. */
static bool map_set(struct vmm_inode *inode, uint64_t index, uint64_t block)
{
	void *old = vmm_xa_store(&inode->blocks, index, block ? xa_mk_value(block) : NULL);

	if (xa_is_err(old)) {
		vmm_internal_err(&inode->m->log, "simfs: no memory for inode %llu's block map",
				 (unsigned long long)inode->i_ino);
		return false;
	}
	return true;
}

/*
 * The block page @index's new contents go to: its own when only the current
 * map has it, else a fresh one the current map takes over (for a partial
 * write, with the rest of the old block copied: zeroes for a hole). 0 when
 * the device is full.
 */
static uint64_t cow_block(struct vmm_inode *inode, uint64_t index, bool partial, uint64_t *old)
{
	struct vmm_bdev *b = inode->bdev;
	uint64_t cur = vmm_simfs_block(inode, index), nb;

	*old = cur;
	if (cur && !(b->block_use[cur] & BLOCK_DURABLE))
		return cur;
	nb = vmm_bdev_alloc_block(b);
	if (!nb)
		return 0;
	if (partial) {
		uint8_t page[VMM_PAGE_SIZE];

		vmm_bdev_rw(b, cur, 0, page, VMM_PAGE_SIZE, false, false);
		vmm_bdev_rw(b, nb, 0, page, VMM_PAGE_SIZE, true, false);
	}
	if (!map_set(inode, index, nb)) {
		vmm_bdev_release_block(b, nb, BLOCK_CURRENT);
		return 0;
	}
	vmm_bdev_release_block(b, cur, BLOCK_CURRENT);
	inode->meta_dirty = true;
	return nb;
}

int vmm_simfs_reserve_page(struct vmm_inode *inode, struct vmm_page *page)
{
	struct vmm_bdev *b = inode->bdev;
	uint64_t cur;

	if (!b || page_flag(page, VMM_PG_delalloc))
		return 0;	/* shmem has no device to promise blocks of */
	cur = vmm_simfs_block(inode, page->index);
	if (cur && !(b->block_use[cur] & BLOCK_DURABLE))
		return 0;	/* written in place */
	/* block 0 is never handed out */
	if (b->st.blocks_used + b->st.blocks_reserved + 1 >= b->nr_blocks)
		return -VMM_ENOSPC;
	b->st.blocks_reserved++;
	set_page_flag(page, VMM_PG_delalloc);
	return 0;
}

void vmm_simfs_unreserve_page(struct vmm_inode *inode, struct vmm_page *page)
{
	if (!page_flag(page, VMM_PG_delalloc))
		return;
	clear_page_flag(page, VMM_PG_delalloc);
	inode->bdev->st.blocks_reserved--;
}

uint64_t vmm_simfs_write_block(struct vmm_inode *inode, uint64_t index, uint64_t *old)
{
	return cow_block(inode, index, false, old);
}

/* A relocating write that failed gives the page its old block back. */
void vmm_simfs_write_done(struct vmm_inode *inode, uint64_t index, uint64_t block,
			  uint64_t old_block, bool failed)
{
	struct vmm_bdev *b = inode->bdev;

	if (!failed || old_block == block)
		return;
	if (!map_set(inode, index, old_block))
		return;
	if (old_block)
		use_block(b, old_block, BLOCK_CURRENT);
	vmm_bdev_release_block(b, block, BLOCK_CURRENT);
}

/* Wait for the inode's writes in flight, so that what is committed is on the device. */
static void wait_inode_writes(struct vmm_inode *inode)
{
	struct vmm_address_space *mapping = &inode->i_data;
	uint64_t index = 0;
	struct vmm_page *page;

	while ((page = vmm_xa_find(&mapping->i_pages, &index, UINT64_MAX,
				   PAGECACHE_TAG_WRITEBACK))) {
		vmm_wait_on_page_writeback(inode->m, page);
		if (index == UINT64_MAX)
			break;
		index++;
	}
}

/*
 * The commit: one metadata write (a journal block, charged and waited
 * for), then the durable map becomes a copy of the current one.
 */
void vmm_simfs_commit(struct vmm_inode *inode)
{
	struct vmm_bdev *b = inode->bdev;
	uint64_t index;
	void *entry;

	if (!inode->meta_dirty)
		return;
	wait_inode_writes(inode);
	vmm_bdev_charge(b, VMM_PAGE_SIZE, true);
	vmm_xa_for_each(&inode->dblocks, index, entry)
		vmm_bdev_release_block(b, xa_to_value(entry), BLOCK_DURABLE);
	vmm_xa_destroy(&inode->dblocks);
	vmm_xa_for_each(&inode->blocks, index, entry) {
		if (xa_is_err(vmm_xa_store(&inode->dblocks, index, entry))) {
			vmm_internal_err(&inode->m->log, "simfs: commit of inode %llu ran out of memory",
					 (unsigned long long)inode->i_ino);
			continue;
		}
		use_block(b, xa_to_value(entry), BLOCK_DURABLE);
	}
	inode->d_size = inode->i_size;
	inode->meta_dirty = false;
}

void vmm_simfs_truncate_blocks(struct vmm_inode *inode, uint64_t first_page)
{
	uint64_t index = first_page;
	void *entry;

	while ((entry = vmm_xa_find(&inode->blocks, &index, UINT64_MAX, XA_PRESENT))) {
		vmm_bdev_release_block(inode->bdev, xa_to_value(entry), BLOCK_CURRENT);
		vmm_xa_erase(&inode->blocks, index);
		inode->meta_dirty = true;
	}
}

/* Power loss: the cache goes unwritten, the current map becomes the durable one again. */
void vmm_simfs_crash(struct vmm_inode *inode)
{
	struct vmm_bdev *b = inode->bdev;
	uint64_t index;
	void *entry;

	/* mappings lose their pages too: the next access reads what the device kept */
	vmm_unmap_mapping_range(&inode->i_data, 0, UINT64_MAX);
	vmm_truncate_inode_pages_range(&inode->i_data, 0, UINT64_MAX);
	vmm_xa_for_each(&inode->blocks, index, entry)
		vmm_bdev_release_block(b, xa_to_value(entry), BLOCK_CURRENT);
	vmm_xa_destroy(&inode->blocks);
	vmm_xa_for_each(&inode->dblocks, index, entry)
		if (map_set(inode, index, xa_to_value(entry)))
			use_block(b, xa_to_value(entry), BLOCK_CURRENT);
	inode->i_size = inode->d_size;
	inode->meta_dirty = false;
	vmm_list_del(&inode->i_io_list);
}

void vmm_simfs_free(struct vmm_inode *inode)
{
	uint64_t index;
	void *entry;

	vmm_xa_for_each(&inode->blocks, index, entry)
		vmm_bdev_release_block(inode->bdev, xa_to_value(entry), BLOCK_CURRENT);
	vmm_xa_for_each(&inode->dblocks, index, entry)
		vmm_bdev_release_block(inode->bdev, xa_to_value(entry), BLOCK_DURABLE);
	vmm_xa_destroy(&inode->blocks);
	vmm_xa_destroy(&inode->dblocks);
}

/*
 * O_DIRECT: the cache is written back over the range first (a read must
 * see what buffered writes left) and, for a write, emptied there (later
 * buffered reads must see the direct write); then the bytes move between
 * the caller's buffer and the blocks, as one request.
 */
int64_t vmm_simfs_direct_io(struct vmm_file *f, void *buf, size_t len, uint64_t pos, bool write)
{
	struct vmm_inode *inode = f->inode;
	struct vmm_address_space *mapping = &inode->i_data;
	uint64_t first = pos >> VMM_PAGE_SHIFT, last;
	uint8_t *p = buf;
	size_t done = 0;

	if (!write) {
		if (pos >= inode->i_size)
			return 0;
		len = (size_t)VMM_MIN((uint64_t)len, inode->i_size - pos);
	}
	if (!len)
		return 0;
	last = (pos + len - 1) >> VMM_PAGE_SHIFT;
	vmm_filemap_write_and_wait_range(mapping, first, last);
	if (write)
		vmm_invalidate_mapping_pages(mapping, first, last);
	vmm_bdev_charge(inode->bdev, len, write);
	while (done < len) {
		uint64_t at = pos + done, index = at >> VMM_PAGE_SHIFT, block;
		uint32_t off = at & (VMM_PAGE_SIZE - 1);
		uint32_t n = (uint32_t)VMM_MIN((size_t)(VMM_PAGE_SIZE - off), len - done);

		if (write) {
			uint64_t old;

			block = cow_block(inode, index, n != VMM_PAGE_SIZE, &old);
			if (!block)
				return done ? (int64_t)done : -VMM_ENOSPC;
		} else {
			block = vmm_simfs_block(inode, index);
		}
		vmm_bdev_rw(inode->bdev, block, off, p + done, n, write, false);
		done += n;
	}
	if (write && pos + len > inode->i_size) {
		inode->i_size = pos + len;
		inode->meta_dirty = true;
	}
	return (int64_t)done;
}
