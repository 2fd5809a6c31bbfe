/* SPDX-License-Identifier: MIT */
/*
 * The public file API (include/vmm/file.h): the per-machine namespace,
 * inodes and open files, and the system calls on them. Every entry point
 * validates its arguments, runs inside vmm_pagecache_enter/exit (so the
 * flusher's timer, which may fire inside a slab allocation, waits for the
 * call to end), and charges the current CPU.
 */
#include "pagecache/filemap.h"

#include <string.h>

#include <vmm/errors.h>

#include "machine.h"
#include "pagecache/file_mmap.h"

/* Files open at once in a machine (fs.file-max, kept small enough to notice leaks). */
#define VMM_FILE_MAX 65536

static vmm_kmem_cache *cache(struct vmm_machine *m, vmm_kmem_cache **slot, const char *name,
			     size_t size, uint32_t flags)
{
	if (!*slot && vmm_kmem_cache_create(m, name, size, 0, flags, NULL, slot))
		return NULL;
	return *slot;
}

static bool name_ok(struct vmm_machine *m, const char *name, const char *fn)
{
	size_t len = name ? strnlen(name, 256) : 0;

	if (!len || len > 255 || strchr(name, '/')) {
		vmm_caller_err(&m->log, "%s: a file name has 1..255 bytes and no '/'", fn);
		return false;
	}
	return true;
}

static struct vmm_inode *lookup(struct vmm_machine *m, const char *name)
{
	struct vmm_pagecache *pc = m->pagecache;

	for (struct vmm_list *bl = pc->bdevs.next; bl != &pc->bdevs; bl = bl->next) {
		struct vmm_bdev *b = vmm_list_entry(bl, struct vmm_bdev, link);

		for (struct vmm_list *pos = b->inodes.next; pos != &b->inodes; pos = pos->next) {
			struct vmm_inode *inode = vmm_list_entry(pos, struct vmm_inode, i_sb_list);

			if (!inode->unlinked && !strcmp(inode->name, name))
				return inode;
		}
	}
	return NULL;
}

static void inode_free(struct vmm_inode *inode)
{
	struct vmm_machine *m = inode->m;

	vmm_truncate_inode_pages_range(&inode->i_data, 0, UINT64_MAX);
	vmm_xa_destroy(&inode->i_data.i_pages);
	vmm_simfs_free(inode);
	vmm_xa_erase(&m->pagecache->mappings, inode->i_data.self >> 3);
	vmm_list_del(&inode->i_sb_list);
	vmm_list_del(&inode->i_io_list);
	vmm_kmem_cache_free(m->pagecache->inode_cache, inode->obj);
	if (inode->name)
		vmm_hfree(&m->hm, inode->name, strlen(inode->name) + 1);
	vmm_hfree(&m->hm, inode, sizeof(*inode));
}

void vmm_inode_put(struct vmm_inode *inode)
{
	if (!inode->i_count && inode->unlinked)
		inode_free(inode);
}

int vmm_inode_create(struct vmm_machine *m, struct vmm_bdev *b, const char *name,
		     struct vmm_inode **out)
{
	struct vmm_pagecache *pc = m->pagecache;
	size_t len = strlen(name) + 1;
	struct vmm_inode *inode;

	if (!cache(m, &pc->inode_cache, "inode_cache", INODE_OBJ_SIZE, VMM_SLAB_RECLAIM_ACCOUNT))
		return -VMM_ENOMEM;
	inode = vmm_hzalloc(&m->hm, sizeof(*inode));
	if (!inode)
		return -VMM_ENOMEM;
	inode->name = vmm_hmalloc(&m->hm, len);
	inode->obj = vmm_kmem_cache_alloc(pc->inode_cache, VMM_GFP_KERNEL);
	if (!inode->name || !inode->obj)
		goto nomem;
	memcpy(inode->name, name, len);
	inode->m = m;
	inode->bdev = b;
	inode->i_ino = ++pc->next_ino;
	vmm_list_init(&inode->i_sb_list);
	vmm_list_init(&inode->i_io_list);
	vmm_mapping_init(m, &inode->i_data, inode);
	vmm_xa_init(&inode->blocks, m);
	vmm_xa_init(&inode->dblocks, m);
	inode->blocks.xa_pagecache = inode->dblocks.xa_pagecache = true;
	if (xa_is_err(vmm_xa_store(&pc->mappings, inode->i_data.self >> 3, &inode->i_data)))
		goto nomem;
	vmm_list_add_tail(&inode->i_sb_list, b ? &b->inodes : &pc->shmem_inodes);
	*out = inode;
	return 0;
nomem:
	if (inode->obj)
		vmm_kmem_cache_free(pc->inode_cache, inode->obj);
	if (inode->name)
		vmm_hfree(&m->hm, inode->name, len);
	vmm_hfree(&m->hm, inode, sizeof(*inode));
	return -VMM_ENOMEM;
}

/*
 * Set the size: shrinking drops the pages past the end, zeroes the tail of
 * the new last page (dirtying it, so the device gets the zeroes too) and
 * frees the blocks past it.
 */
int vmm_inode_setsize(struct vmm_inode *inode, uint64_t size)
{
	struct vmm_address_space *mapping = &inode->i_data;
	uint64_t keep = DIV_ROUND_UP(size, VMM_PAGE_SIZE);

	if (size > inode->bdev->cfg.capacity)
		return -VMM_EFBIG;
	if (size < inode->i_size) {
		uint32_t tail = size & (VMM_PAGE_SIZE - 1);

		/* truncate_pagecache(): unmap first, so no PTE keeps a page the cache drops */
		vmm_unmap_mapping_range(mapping, keep, UINT64_MAX);
		vmm_truncate_inode_pages_range(mapping, keep, UINT64_MAX);
		if (tail) {
			int err;
			struct vmm_page *page = vmm_read_cache_page(mapping, keep - 1, NULL, NULL,
								    &err);

			if (!page)
				return err;
			vmm_lock_page(inode->m, page);
			memset((uint8_t *)vmm_page_host(inode->m, page) + tail, 0,
			       VMM_PAGE_SIZE - tail);
			vmm_set_page_dirty(mapping, page);
			vmm_unlock_page(page);
			vmm_pc_put_page(inode->m, page);
		}
		vmm_simfs_truncate_blocks(inode, keep);
	}
	if (size != inode->i_size)
		inode->meta_dirty = true;
	inode->i_size = size;
	return 0;
}

int vmm_file_alloc(struct vmm_inode *inode, int flags, vmm_file **out)
{
	struct vmm_machine *m = inode->m;
	struct vmm_pagecache *pc = m->pagecache;
	struct vmm_file *f;

	if (pc->nr_files >= VMM_FILE_MAX)
		return -VMM_ENFILE;
	if (!cache(m, &pc->filp, "filp", FILE_OBJ_SIZE, VMM_SLAB_HWCACHE_ALIGN))
		return -VMM_ENOMEM;
	f = vmm_hzalloc(&m->hm, sizeof(*f));
	if (!f)
		return -VMM_ENOMEM;
	f->obj = vmm_kmem_cache_alloc(pc->filp, VMM_GFP_KERNEL);
	if (!f->obj) {
		vmm_hfree(&m->hm, f, sizeof(*f));
		return -VMM_ENOMEM;
	}
	f->m = m;
	f->inode = inode;
	f->f_flags = flags;
	f->f_count = 1;
	vmm_file_ra_state_init(&f->f_ra);
	f->f_wb_err = vmm_errseq_sample(&inode->i_data.wb_err);
	vmm_list_add_tail(&f->f_list, &pc->files);
	inode->i_count++;
	pc->nr_files++;
	*out = f;
	return 0;
}

static int open_common(struct vmm_machine *m, struct vmm_bdev *b, const char *name, int flags,
		       bool create_size, uint64_t size, vmm_file **out)
{
	struct vmm_inode *inode;
	int err;

	if (!name_ok(m, name, "vmm_file_open"))
		return -VMM_EINVAL;
	if (flags & ~VMM_O_ALL_FLAGS || (flags & VMM_O_ACCMODE) == VMM_O_ACCMODE) {
		vmm_caller_err(&m->log, "vmm_file_open: flags %#x", (unsigned)flags);
		return -VMM_EINVAL;
	}
	if ((flags & VMM_O_TRUNC) && (flags & VMM_O_ACCMODE) == VMM_O_RDONLY) {
		vmm_caller_err(&m->log, "vmm_file_open: O_TRUNC needs write access");
		return -VMM_EINVAL;
	}
	inode = lookup(m, name);
	if (inode && (flags & VMM_O_CREAT) && (flags & VMM_O_EXCL))
		return -VMM_EEXIST;
	if (!inode) {
		if (!(flags & VMM_O_CREAT))
			return -VMM_ENOENT;
		if (!b && !(b = vmm_bdev_default(m)))
			return -VMM_ENOMEM;
		if (size > b->cfg.capacity)
			return -VMM_EFBIG;
		if ((err = vmm_inode_create(m, b, name, &inode)))
			return err;
		if (create_size)
			inode->i_size = inode->d_size = size;
	}
	if ((err = vmm_file_alloc(inode, flags, out))) {
		vmm_inode_put(inode);
		return err;
	}
	if (flags & VMM_O_TRUNC && inode->i_size) {
		vmm_inode_setsize(inode, 0);
		vmm_simfs_commit(inode);
	}
	return 0;
}

int vmm_file_open(vmm_machine *m, const char *name, int flags, vmm_file **out)
{
	int err;

	if (out)
		*out = NULL;
	if (!m || !m->pagecache || !out)
		return -VMM_EINVAL;
	vmm_pagecache_enter(m);
	err = open_common(m, NULL, name, flags, false, 0, out);
	vmm_pagecache_exit(m);
	return err;
}

int vmm_file_create_on(vmm_bdev *b, const char *name, uint64_t size, vmm_file **out)
{
	int err;

	if (out)
		*out = NULL;
	if (!b || !out)
		return -VMM_EINVAL;
	vmm_pagecache_enter(b->m);
	err = open_common(b->m, b, name, VMM_O_RDWR | VMM_O_CREAT | VMM_O_EXCL, true, size, out);
	vmm_pagecache_exit(b->m);
	return err;
}

int vmm_file_create(vmm_machine *m, const char *name, uint64_t size, vmm_file **out)
{
	struct vmm_bdev *b;

	if (out)
		*out = NULL;
	if (!m || !m->pagecache || !out)
		return -VMM_EINVAL;
	b = vmm_bdev_default(m);
	return b ? vmm_file_create_on(b, name, size, out) : -VMM_ENOMEM;
}

/* __fput(): the last reference went (the handle closed and no VMA maps the file). */
static void file_free(struct vmm_file *f)
{
	struct vmm_machine *m = f->m;

	vmm_list_del(&f->f_list);
	m->pagecache->nr_files--;
	f->inode->i_count--;
	vmm_inode_put(f->inode);
	vmm_kmem_cache_free(m->pagecache->filp, f->obj);
	vmm_hfree(&m->hm, f, sizeof(*f));
}

void vmm_fput(struct vmm_file *f)
{
	struct vmm_machine *m = f->m;

	vmm_pagecache_enter(m);
	if (--f->f_count == 0)
		file_free(f);
	vmm_pagecache_exit(m);
}

int vmm_file_close(vmm_file **fp)
{
	if (!fp || !*fp)
		return 0;
	vmm_fput(*fp);
	*fp = NULL;
	return 0;
}

/* The inode a by-name call is about, or NULL with *err set. */
static struct vmm_inode *lookup_arg(struct vmm_machine *m, const char *name, const char *fn,
				    int *err)
{
	struct vmm_inode *inode;

	*err = -VMM_EINVAL;
	if (!m || !m->pagecache || !name_ok(m, name, fn))
		return NULL;
	inode = lookup(m, name);
	*err = inode ? 0 : -VMM_ENOENT;
	return inode;
}

int vmm_file_unlink(vmm_machine *m, const char *name)
{
	struct vmm_inode *inode;
	int err;

	if (!(inode = lookup_arg(m, name, __func__, &err)))
		return err;
	vmm_pagecache_enter(m);
	/* the name stays for maps ("name (deleted)") until the inode goes */
	inode->unlinked = true;
	vmm_inode_put(inode);
	vmm_pagecache_exit(m);
	return 0;
}

static bool can_read(const struct vmm_file *f)
{
	return (f->f_flags & VMM_O_ACCMODE) != VMM_O_WRONLY;
}

static bool can_write(const struct vmm_file *f)
{
	return (f->f_flags & VMM_O_ACCMODE) != VMM_O_RDONLY;
}

/* O_DIRECT: offset and length in whole logical blocks. */
static bool direct_aligned(const struct vmm_file *f, size_t len, uint64_t pos)
{
	uint32_t bs = f->inode->bdev->cfg.block_size;

	if ((pos | len) & (bs - 1)) {
		vmm_caller_err(&f->m->log, "O_DIRECT I/O of %zu bytes at %llu is not %u-byte aligned",
			       len, (unsigned long long)pos, bs);
		return false;
	}
	return true;
}

static int64_t do_read(struct vmm_file *f, void *buf, size_t len, uint64_t pos)
{
	int64_t ret;

	if (!can_read(f))
		return -VMM_EBADF;
	if (len && !buf)
		return -VMM_EINVAL;
	if (len > INT64_MAX)
		len = INT64_MAX;
	if ((f->f_flags & VMM_O_DIRECT) && !direct_aligned(f, len, pos))
		return -VMM_EINVAL;
	vmm_pagecache_enter(f->m);
	if (f->f_flags & VMM_O_DIRECT)
		ret = vmm_simfs_direct_io(f, buf, len, pos, false);
	else
		ret = vmm_filemap_read(f, buf, len, pos);
	vmm_pagecache_exit(f->m);
	return ret;
}

static int64_t do_write(struct vmm_file *f, const void *buf, size_t len, uint64_t pos)
{
	int64_t ret;

	if (!can_write(f))
		return -VMM_EBADF;
	if (len && !buf)
		return -VMM_EINVAL;
	if (pos > f->inode->bdev->cfg.capacity || len > f->inode->bdev->cfg.capacity - pos)
		return -VMM_EFBIG;
	if ((f->f_flags & VMM_O_DIRECT) && !direct_aligned(f, len, pos))
		return -VMM_EINVAL;
	vmm_pagecache_enter(f->m);
	if (f->f_flags & VMM_O_DIRECT)
		ret = vmm_simfs_direct_io(f, (void *)(uintptr_t)buf, len, pos, true);
	else
		ret = vmm_filemap_write(f, buf, len, pos);
	vmm_pagecache_exit(f->m);
	return ret;
}

int64_t vmm_file_read(vmm_file *f, void *buf, size_t len)
{
	int64_t ret;

	if (!f)
		return -VMM_EINVAL;
	ret = do_read(f, buf, len, f->f_pos);
	if (ret > 0)
		f->f_pos += (uint64_t)ret;
	return ret;
}

int64_t vmm_file_write(vmm_file *f, const void *buf, size_t len)
{
	int64_t ret;

	if (!f)
		return -VMM_EINVAL;
	if (f->f_flags & VMM_O_APPEND)
		f->f_pos = f->inode->i_size;
	ret = do_write(f, buf, len, f->f_pos);
	if (ret > 0)
		f->f_pos += (uint64_t)ret;
	return ret;
}

int64_t vmm_file_pread(vmm_file *f, void *buf, size_t len, uint64_t off)
{
	if (!f || off > INT64_MAX)
		return -VMM_EINVAL;
	return do_read(f, buf, len, off);
}

int64_t vmm_file_pwrite(vmm_file *f, const void *buf, size_t len, uint64_t off)
{
	if (!f)
		return -VMM_EINVAL;
	return do_write(f, buf, len, off);
}

int64_t vmm_file_seek(vmm_file *f, int64_t off, int whence)
{
	int64_t base;

	if (!f)
		return -VMM_EINVAL;
	switch (whence) {
	case VMM_SEEK_SET: base = 0; break;
	case VMM_SEEK_CUR: base = (int64_t)f->f_pos; break;
	case VMM_SEEK_END: base = (int64_t)f->inode->i_size; break;
	default:
		vmm_caller_err(&f->m->log, "vmm_file_seek: whence %d", whence);
		return -VMM_EINVAL;
	}
	if ((off < 0 && base + off < 0) || (off > 0 && base > INT64_MAX - off))
		return -VMM_EINVAL;
	f->f_pos = (uint64_t)(base + off);
	return (int64_t)f->f_pos;
}

int vmm_file_fsync(vmm_file *f)
{
	int err;

	if (!f)
		return -VMM_EINVAL;
	vmm_pagecache_enter(f->m);
	err = vmm_vfs_fsync(f);
	vmm_pagecache_exit(f->m);
	return err;
}

int vmm_file_fdatasync(vmm_file *f)
{
	return vmm_file_fsync(f);
}

int vmm_file_ftruncate(vmm_file *f, uint64_t size)
{
	int err;

	if (!f)
		return -VMM_EINVAL;
	if (!can_write(f))
		return -VMM_EBADF;
	vmm_pagecache_enter(f->m);
	err = vmm_inode_setsize(f->inode, size);
	vmm_pagecache_exit(f->m);
	return err;
}

int vmm_file_truncate(vmm_machine *m, const char *name, uint64_t size)
{
	struct vmm_inode *inode;
	int err;

	if (!(inode = lookup_arg(m, name, __func__, &err)))
		return err;
	vmm_pagecache_enter(m);
	err = vmm_inode_setsize(inode, size);
	if (!err) {
		/* durable at once: the zeroed tail page first, then the new size */
		vmm_filemap_write_and_wait_range(&inode->i_data, 0, UINT64_MAX);
		vmm_simfs_commit(inode);
	}
	vmm_pagecache_exit(m);
	return err;
}

int vmm_file_fadvise(vmm_file *f, uint64_t off, uint64_t len, int advice)
{
	struct vmm_address_space *mapping;
	uint64_t first, last;

	if (!f)
		return -VMM_EINVAL;
	if (advice < VMM_FADV_NORMAL || advice > VMM_FADV_NOREUSE) {
		vmm_caller_err(&f->m->log, "vmm_file_fadvise: advice %d", advice);
		return -VMM_EINVAL;
	}
	mapping = &f->inode->i_data;
	first = off >> VMM_PAGE_SHIFT;
	last = !len || off + len < off ? UINT64_MAX : (off + len - 1) >> VMM_PAGE_SHIFT;
	vmm_pagecache_enter(f->m);
	switch (advice) {
	case VMM_FADV_NORMAL:
		f->f_ra.ra_pages = VM_READAHEAD_PAGES;
		f->f_mode &= ~FMODE_RANDOM;
		break;
	case VMM_FADV_RANDOM:
		f->f_mode |= FMODE_RANDOM;
		break;
	case VMM_FADV_SEQUENTIAL:
		f->f_ra.ra_pages = 2 * VM_READAHEAD_PAGES;
		f->f_mode &= ~FMODE_RANDOM;
		break;
	case VMM_FADV_WILLNEED:
		if (f->inode->i_size) {
			uint64_t end = (f->inode->i_size - 1) >> VMM_PAGE_SHIFT;

			if (first <= end)
				vmm_force_page_cache_readahead(mapping, first,
							       VMM_MIN(last, end) - first + 1);
		}
		break;
	case VMM_FADV_DONTNEED:
		vmm_write_cache_pages(mapping, first, last, WB_SYNC_NONE, UINT64_MAX);
		vmm_invalidate_mapping_pages(mapping, first, last);
		break;
	default:
		break;
	}
	vmm_pagecache_exit(f->m);
	return 0;
}

int vmm_file_stat(const vmm_file *f, struct vmm_file_stat *out)
{
	struct vmm_address_space *mapping;
	uint64_t index;
	void *entry;

	if (!f || !out)
		return -VMM_EINVAL;
	mapping = &f->inode->i_data;
	memset(out, 0, sizeof(*out));
	out->size = f->inode->i_size;
	out->durable_size = f->inode->d_size;
	out->nrpages = mapping->nrpages;
	out->nr_shadows = mapping->nr_shadows;
	out->ino = f->inode->i_ino;
	vmm_xa_for_each_marked(&mapping->i_pages, index, entry, PAGECACHE_TAG_DIRTY)
		out->nr_dirty++;
	vmm_xa_for_each_marked(&mapping->i_pages, index, entry, PAGECACHE_TAG_WRITEBACK)
		out->nr_writeback++;
	vmm_xa_for_each(&f->inode->blocks, index, entry)
		out->blocks++;
	return 0;
}

int64_t vmm_file_read_durable(vmm_machine *m, const char *name, void *buf, size_t len,
			      uint64_t off)
{
	struct vmm_inode *inode;
	uint8_t *p = buf;
	size_t done = 0;
	int err;

	if (len && !buf)
		return -VMM_EINVAL;
	if (!(inode = lookup_arg(m, name, __func__, &err)))
		return err;
	if (off >= inode->d_size)
		return 0;
	len = (size_t)VMM_MIN((uint64_t)len, inode->d_size - off);
	while (done < len) {
		uint64_t at = off + done;
		uint32_t o = at & (VMM_PAGE_SIZE - 1);
		uint32_t n = (uint32_t)VMM_MIN((size_t)(VMM_PAGE_SIZE - o), len - done);
		void *entry = vmm_xa_load(&inode->dblocks, at >> VMM_PAGE_SHIFT);

		vmm_bdev_rw(inode->bdev, entry ? xa_to_value(entry) : 0, o, p + done, n, false,
			    false);
		done += n;
	}
	return (int64_t)done;
}

int vmm_sync(vmm_machine *m)
{
	struct vmm_pagecache *pc;
	int err = 0;

	if (!m || !m->pagecache)
		return -VMM_EINVAL;
	pc = m->pagecache;
	vmm_pagecache_enter(m);
	for (struct vmm_list *bl = pc->bdevs.next; bl != &pc->bdevs; bl = bl->next) {
		struct vmm_bdev *b = vmm_list_entry(bl, struct vmm_bdev, link);

		for (struct vmm_list *pos = b->inodes.next; pos != &b->inodes; pos = pos->next) {
			struct vmm_inode *inode = vmm_list_entry(pos, struct vmm_inode, i_sb_list);

			if (vmm_filemap_write_and_wait_range(&inode->i_data, 0, UINT64_MAX))
				err = -VMM_EIO;
			vmm_list_del(&inode->i_io_list);
			vmm_simfs_commit(inode);
		}
	}
	vmm_pagecache_exit(m);
	return err;
}

/* Machine teardown: every handle and file goes (the embedder's handles die with the machine). */
void vmm_files_free_all(struct vmm_machine *m)
{
	struct vmm_pagecache *pc = m->pagecache;

	while (!vmm_list_empty(&pc->files)) {
		struct vmm_file *f = vmm_list_first_entry(&pc->files, struct vmm_file, f_list);

		f->f_count = 1;	/* every mapping went with the tasks */
		vmm_file_close(&f);
	}
	for (struct vmm_list *bl = pc->bdevs.next; bl != &pc->bdevs; bl = bl->next) {
		struct vmm_bdev *b = vmm_list_entry(bl, struct vmm_bdev, link);

		vmm_bdev_complete(b, UINT64_MAX);
		while (!vmm_list_empty(&b->inodes))
			inode_free(vmm_list_first_entry(&b->inodes, struct vmm_inode, i_sb_list));
	}
}
