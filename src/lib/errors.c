/* SPDX-License-Identifier: MIT */
#include <vmm/errors.h>

#include <limits.h>

#include "lib/compiler.h"

struct err_name {
	int code;
	const char *text;
};

static const struct err_name errno_names[] = {
	{ VMM_OK, "success" },
	{ VMM_EPERM, "operation not permitted" },
	{ VMM_ENOENT, "no such entry" },
	{ VMM_EINTR, "interrupted" },
	{ VMM_EIO, "input/output error" },
	{ VMM_E2BIG, "argument list too long" },
	{ VMM_EBADF, "bad file handle" },
	{ VMM_EAGAIN, "resource temporarily unavailable" },
	{ VMM_ENOMEM, "out of memory" },
	{ VMM_EACCES, "permission denied" },
	{ VMM_EFAULT, "bad address" },
	{ VMM_EBUSY, "resource busy" },
	{ VMM_EEXIST, "already exists" },
	{ VMM_ENODEV, "no such device" },
	{ VMM_EINVAL, "invalid argument" },
	{ VMM_ENFILE, "too many open files" },
	{ VMM_EFBIG, "file too large" },
	{ VMM_ENOSPC, "no space left on device" },
	{ VMM_ERANGE, "result out of range" },
	{ VMM_ENOSYS, "not implemented" },
	{ VMM_EOVERFLOW, "value too large" },
	{ VMM_EOPNOTSUPP, "operation not supported" },
};

static const char *const cfg_names[] = {
	[VMM_ECFG_SIZE - VMM_ECFG_BASE] = "config: reserved code, not returned by this version",
	[VMM_ECFG_NODES - VMM_ECFG_BASE] = "config: nodes must be 1..64",
	[VMM_ECFG_NODE_MEM - VMM_ECFG_BASE] =
		"config: node_mem must be a non-zero multiple of 2 MiB",
	[VMM_ECFG_MEM_TOTAL - VMM_ECFG_BASE] = "config: total memory exceeds 1 TiB",
	[VMM_ECFG_PAGING_LEVELS - VMM_ECFG_BASE] = "config: paging_levels must be 4 or 5",
	[VMM_ECFG_CPUS - VMM_ECFG_BASE] = "config: cpus must be 1..256",
	[VMM_ECFG_CPU_NODE - VMM_ECFG_BASE] = "config: cpu_node names a node that does not exist",
	[VMM_ECFG_DISTANCE - VMM_ECFG_BASE] =
		"config: distance table must be symmetric, 10 on the diagonal, >10 elsewhere",
	[VMM_ECFG_HOLE - VMM_ECFG_BASE] =
		"config: a hole is empty, unaligned, overlapping or outside memory",
	[VMM_ECFG_FLAGS - VMM_ECFG_BASE] = "config: unknown flag bits",
	[VMM_ECFG_MOVABLECORE - VMM_ECFG_BASE] =
		"config: movablecore must be page aligned and below total memory",
	[VMM_ECFG_KERNEL - VMM_ECFG_BASE] = "config: kernel image does not fit in node 0",
	[VMM_ECFG_NODE_EMPTY - VMM_ECFG_BASE] = "config: a node has no RAM outside the holes",
	[VMM_ECFG_LOG_LEVEL - VMM_ECFG_BASE] = "config: log_level is not a vmm_log_level",
	[VMM_ECFG_RESERVED - VMM_ECFG_BASE] = "config: reserved fields must be zero",
	[VMM_ECFG_NR_HOLES - VMM_ECFG_BASE] = "config: nr_holes exceeds 16",
	[VMM_ECFG_MIN_FREE - VMM_ECFG_BASE] =
		"config: min_free_kbytes or watermark_scale_factor out of range",
	[VMM_ECFG_TLB - VMM_ECFG_BASE] =
		"config: a TLB or paging-structure-cache geometry is not ways x 2^n sets",
	[VMM_ECFG_TLB_POLICY - VMM_ECFG_BASE] =
		"config: tlb_replacement unknown, or tree-PLRU with ways not a power of two",
	[VMM_ECFG_PHYS_BITS - VMM_ECFG_BASE] =
		"config: phys_addr_bits must be 36..52 and cover all memory",
	[VMM_ECFG_TIME - VMM_ECFG_BASE] = "config: cpu_mhz must be 1..100000 and hz 100, 250, 300 or 1000",
	[VMM_ECFG_HIGHMEM - VMM_ECFG_BASE] = "config: direct_map_limit must be 0 or a multiple of 2 MiB of at least 64 MiB",
};

const char *vmm_strerror(int err)
{
	if (err == INT_MIN)
		return "unknown error";
	if (err < 0)
		err = -err;
	for (size_t i = 0; i < ARRAY_SIZE(errno_names); i++)
		if (errno_names[i].code == err)
			return errno_names[i].text;
	if (err >= VMM_ECFG_BASE && err <= VMM_ECFG_LAST && cfg_names[err - VMM_ECFG_BASE])
		return cfg_names[err - VMM_ECFG_BASE];
	return "unknown error";
}
