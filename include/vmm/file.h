/* SPDX-License-Identifier: MIT */
/**
 * @file file.h
 * @brief Files in the page cache, over simulated block devices.
 *
 * A machine has a namespace of files (flat: a name is 1..255 bytes without
 * '/' or NUL). A file's data lives in the page cache (its pages come from
 * the page allocator, its XArray nodes from slab) and on a simulated block
 * device. Reads fill the cache through Linux's on-demand readahead; writes
 * dirty cached pages; dirty pages reach the device by background writeback
 * (driven by machine time: vm.dirty_writeback_centisecs and
 * vm.dirty_expire_centisecs), by writer throttling above the dirty limits
 * (balance_dirty_pages), and by fsync. I/O costs simulated cycles on the
 * current CPU, in VMM_CYC_IO.
 *
 * Durability. A file's data and size become durable when fsync or
 * fdatasync returns 0; a crash (vmm_bdev_crash()) drops the page cache of
 * every file on the device, and every file reads back exactly what it held
 * at its last successful sync (or at its creation). Writeback between syncs
 * never overwrites a durable block: the device's filesystem writes data
 * out of place and makes a file's new block map durable at its sync, so
 * background writeback cannot tear what a crash leaves. Creating,
 * truncating by name, and unlinking are durable at once (as on a filesystem
 * mounted dirsync); a truncation through ftruncate() is durable at the
 * next sync.
 *
 * Errors. A write error of the device (vmm_bdev_fail_writes()) is reported
 * as -VMM_EIO by the next fsync/fdatasync of every handle open on the file
 * when it happened, once per handle (errseq semantics, Linux 4.13+).
 *
 * @code
 * vmm_file *f;
 * char buf[4096];
 * vmm_file_create(m, "data.bin", 64 << 20, &f);       // 64 MiB, zeros
 * vmm_file_pwrite(f, "hello", 5, 4096);               // dirty page 1
 * vmm_file_fsync(f);                                  // durable
 * vmm_file_pread(f, buf, sizeof(buf), 0);             // a cache miss: readahead
 * vmm_file_close(&f);                                 // f is NULL afterwards
 * @endcode
 */
#ifndef VMM_FILE_H
#define VMM_FILE_H

#include <stdint.h>

#include <vmm/common.h>

VMM_BEGIN_DECLS

#ifndef VMM_FILE_TYPEDEF
#define VMM_FILE_TYPEDEF
/** An open file (Linux's struct file): a position, access mode and readahead state. */
typedef struct vmm_file vmm_file;
#endif
/** A simulated block device. */
typedef struct vmm_bdev vmm_bdev;

/** @name Open flags (Linux's values) */
/** @{ */
#define VMM_O_RDONLY 0x0	/**< read only */
#define VMM_O_WRONLY 0x1	/**< write only */
#define VMM_O_RDWR 0x2		/**< read and write */
#define VMM_O_ACCMODE 0x3
#define VMM_O_CREAT 0x40	/**< create when missing (on the machine's default device) */
#define VMM_O_EXCL 0x80		/**< with CREAT: fail with -VMM_EEXIST when it exists */
#define VMM_O_TRUNC 0x200	/**< truncate to 0 (needs write access) */
#define VMM_O_APPEND 0x400	/**< every write goes to the end */
#define VMM_O_DIRECT 0x4000	/**< bypass the page cache: block-aligned I/O only */
#define VMM_O_ALL_FLAGS 0x46c3
/** @} */

/** lseek() origins. */
#define VMM_SEEK_SET 0
#define VMM_SEEK_CUR 1
#define VMM_SEEK_END 2

/** posix_fadvise() advice (Linux's values). */
enum vmm_fadvise {
	VMM_FADV_NORMAL = 0,	 /**< default readahead */
	VMM_FADV_RANDOM = 1,	 /**< no readahead */
	VMM_FADV_SEQUENTIAL = 2, /**< twice the readahead window */
	VMM_FADV_WILLNEED = 3,	 /**< read the range into the cache now */
	VMM_FADV_DONTNEED = 4,	 /**< write back and drop the range's clean pages */
	VMM_FADV_NOREUSE = 5,	 /**< accepted, no effect (as Linux before 6.3) */
};

/**
 * A block device's description. Every field's comment gives its default as
 * set by vmm_bdev_config_init(); the reserved tail must be zero.
 */
struct vmm_bdev_config {
	/** Bytes, a non-zero multiple of 4096. Default 8 GiB. */
	uint64_t capacity;
	/** Logical block size (O_DIRECT alignment): 512, 1024, 2048 or 4096. Default 512. */
	uint32_t block_size;
	/** Cycles per read request. Default 30000 (10 us at 3 GHz: an NVMe read). */
	uint32_t read_req_cycles;
	/** Cycles per byte read. Default 1 (3 GB/s at 3 GHz). */
	uint32_t read_byte_cycles;
	/** Cycles per write request. Default 45000. */
	uint32_t write_req_cycles;
	/** Cycles per byte written. Default 2. */
	uint32_t write_byte_cycles;
	uint32_t pad0;
	/**
	 * NULL (the default): the contents live in host memory, reserved lazily.
	 * Otherwise a host file that holds them, created when missing and
	 * extended to the capacity (its old contents are the device's).
	 */
	const char *host_path;
	uint64_t reserved[8];
};

/** What a device has done. */
struct vmm_bdev_stats {
	uint64_t read_requests;
	uint64_t write_requests;
	uint64_t read_bytes;
	uint64_t write_bytes;
	uint64_t write_errors;	/**< requests failed by vmm_bdev_fail_writes() */
	uint64_t crashes;
	uint64_t busy_cycles;	/**< cycles the device spent serving requests */
	uint64_t blocks_used;	/**< 4 KiB blocks holding file data (current or durable) */
	uint64_t blocks_reserved; /**< blocks promised to dirty pages not yet written
				       (delayed allocation: a write that finds none left
				       fails with -VMM_ENOSPC) */
	uint64_t reserved[7];
};

/** What vmm_file_stat() reports. */
struct vmm_file_stat {
	uint64_t size;		/**< i_size */
	uint64_t durable_size;	/**< the size a crash would leave */
	uint64_t nrpages;	/**< pages in the page cache */
	uint64_t nr_dirty;	/**< ... of which dirty */
	uint64_t nr_writeback;	/**< ... and under writeback */
	uint64_t nr_shadows;	/**< workingset shadow entries of evicted pages */
	uint64_t blocks;	/**< 4 KiB device blocks of the current map */
	uint64_t ino;		/**< inode number */
	uint64_t reserved[8];
};

/** Fill @p cfg with the defaults. */
VMM_API void vmm_bdev_config_init(struct vmm_bdev_config *cfg);

/**
 * Create a block device (empty, or the host file's contents).
 *
 * @param m    the machine
 * @param name 1..31 printable characters, unique in the machine
 * @param cfg  the description, or NULL for the defaults
 * @param out  the device
 * @return 0; -VMM_EINVAL for a bad argument or field (logged); -VMM_EEXIST
 *         for a name in use; -VMM_EIO when the host file cannot be used;
 *         -VMM_ENOMEM
 */
VMM_API int vmm_bdev_create(vmm_machine *m, const char *name, const struct vmm_bdev_config *cfg,
			    vmm_bdev **out);

/**
 * Destroy a device that holds no file.
 *
 * @return 0 (also for NULL); -VMM_EBUSY while files live on it (nothing changes)
 */
VMM_API int vmm_bdev_destroy(vmm_bdev **b);

/**
 * The machine's default device ("vda", vmm_bdev_config_init() defaults),
 * made when first asked for. Files created by name live on it.
 *
 * @return the device, or NULL (bad machine, out of memory)
 */
VMM_API vmm_bdev *vmm_machine_bdev(vmm_machine *m);

/** @return 0; -VMM_EINVAL for NULL arguments */
VMM_API int vmm_bdev_stats(const vmm_bdev *b, struct vmm_bdev_stats *out);

/**
 * Power loss: every page cached for a file on @p b is dropped unwritten,
 * in-flight requests are lost, and each file is back to its last synced
 * size and contents. Handles stay open (at their positions).
 *
 * @return 0; -VMM_EINVAL for NULL
 */
VMM_API int vmm_bdev_crash(vmm_bdev *b);

/**
 * Make the next @p nr write requests fail (their pages get PG_error and the
 * error is recorded for fsync); 0 stops failing.
 *
 * @return 0; -VMM_EINVAL for NULL
 */
VMM_API int vmm_bdev_fail_writes(vmm_bdev *b, uint64_t nr);

/**
 * Create a file of @p size bytes (zeros) on the default device and open it
 * read-write: open(O_RDWR | O_CREAT | O_EXCL) and ftruncate(size), durable.
 *
 * @return 0; -VMM_EINVAL (bad name, NULL); -VMM_EEXIST; -VMM_EFBIG (larger
 *         than the device); -VMM_ENOSPC; -VMM_ENOMEM
 */
VMM_API int vmm_file_create(vmm_machine *m, const char *name, uint64_t size, vmm_file **out);

/**
 * The same on device @p b.
 */
VMM_API int vmm_file_create_on(vmm_bdev *b, const char *name, uint64_t size, vmm_file **out);

/**
 * Open a file.
 *
 * @param flags VMM_O_* bits; unknown bits are rejected
 * @return 0; -VMM_ENOENT (no such file without CREAT); -VMM_EEXIST (CREAT|EXCL);
 *         -VMM_EINVAL; -VMM_ENFILE (too many handles); -VMM_ENOMEM
 */
VMM_API int vmm_file_open(vmm_machine *m, const char *name, int flags, vmm_file **out);

/**
 * Close a handle (dirty pages stay in the cache; close does not sync). The
 * file goes when it was unlinked and this was its last handle.
 *
 * @param f the handle; *f may be NULL, and is NULL afterwards
 * @return 0
 */
VMM_API int vmm_file_close(vmm_file **f);

/**
 * Remove a name. Open handles keep the file until they close.
 *
 * @return 0; -VMM_ENOENT; -VMM_EINVAL
 */
VMM_API int vmm_file_unlink(vmm_machine *m, const char *name);

/**
 * read(): from the position, which advances. Reads stop at the end of the file.
 *
 * @return bytes read (0 at the end); -VMM_EBADF (not open for reading);
 *         -VMM_EINVAL (NULL buffer with a length, O_DIRECT misalignment);
 *         -VMM_EIO; -VMM_ENOMEM
 */
VMM_API int64_t vmm_file_read(vmm_file *f, void *buf, size_t len);

/**
 * write(): at the position (the end with O_APPEND), which advances; extends the file.
 *
 * @return bytes written; -VMM_EBADF; -VMM_EINVAL; -VMM_EFBIG (past the
 *         device's capacity); -VMM_ENOSPC; -VMM_ENOMEM
 */
VMM_API int64_t vmm_file_write(vmm_file *f, const void *buf, size_t len);

/** pread(): read() at @p off, leaving the position alone. */
VMM_API int64_t vmm_file_pread(vmm_file *f, void *buf, size_t len, uint64_t off);

/** pwrite(): write() at @p off (O_APPEND does not apply), leaving the position alone. */
VMM_API int64_t vmm_file_pwrite(vmm_file *f, const void *buf, size_t len, uint64_t off);

/**
 * lseek().
 *
 * @return the new position; -VMM_EINVAL (bad origin, negative result)
 */
VMM_API int64_t vmm_file_seek(vmm_file *f, int64_t off, int whence);

/**
 * fsync(): write every dirty page and wait; make the data, size and block
 * map durable.
 *
 * @return 0; -VMM_EIO when a write of this file failed since this handle
 *         last reported one (each error once per handle); -VMM_EBADF
 */
VMM_API int vmm_file_fsync(vmm_file *f);

/** fdatasync(): as fsync() (the simulated filesystem keeps no timestamps). */
VMM_API int vmm_file_fdatasync(vmm_file *f);

/**
 * ftruncate(): set the size; pages past it leave the cache, the partial
 * last page is zeroed past the end.
 *
 * @return 0; -VMM_EBADF (not open for writing); -VMM_EFBIG
 */
VMM_API int vmm_file_ftruncate(vmm_file *f, uint64_t size);

/** truncate() by name: as ftruncate(), then durable at once. */
VMM_API int vmm_file_truncate(vmm_machine *m, const char *name, uint64_t size);

/**
 * posix_fadvise() on [@p off, @p off + @p len) (@p len 0: to the end).
 *
 * @return 0; -VMM_EINVAL (unknown advice)
 */
VMM_API int vmm_file_fadvise(vmm_file *f, uint64_t off, uint64_t len, int advice);

/** @return 0; -VMM_EINVAL for NULL arguments */
VMM_API int vmm_file_stat(const vmm_file *f, struct vmm_file_stat *out);

/**
 * Read what a crash would leave of a file, straight from the device (no
 * cache, no cycles): the last synced contents, zeros past the durable size.
 *
 * @return bytes read (short at the durable size); -VMM_ENOENT; -VMM_EINVAL
 */
VMM_API int64_t vmm_file_read_durable(vmm_machine *m, const char *name, void *buf, size_t len,
				      uint64_t off);

/**
 * sync(): write back every dirty page of every file and make all durable.
 *
 * @return 0; -VMM_EIO when some write failed
 */
VMM_API int vmm_sync(vmm_machine *m);

VMM_END_DECLS

#endif /* VMM_FILE_H */
