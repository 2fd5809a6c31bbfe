/* SPDX-License-Identifier: MIT */
/**
 * @file errors.h
 * @brief Error codes.
 *
 * Public functions return 0 on success or a negative code: -VMM_ENOMEM and so
 * on. The generic codes use Linux's errno numbering, so a simulated system
 * call returns exactly what Linux would. Codes from 1000 up are libvmm's own
 * and name what was wrong more precisely (one per configuration field).
 */
#ifndef VMM_ERRORS_H
#define VMM_ERRORS_H

#include <vmm/common.h>

VMM_BEGIN_DECLS

/** Error codes; functions return their negation. */
enum vmm_error {
	VMM_OK = 0,
	VMM_EPERM = 1,		/**< operation not permitted */
	VMM_ENOENT = 2,		/**< no such entry */
	VMM_EINTR = 4,		/**< interrupted */
	VMM_EIO = 5,		/**< simulated device I/O error */
	VMM_E2BIG = 7,		/**< argument list too long */
	VMM_EBADF = 9,		/**< bad file handle */
	VMM_EAGAIN = 11,	/**< try again / would block */
	VMM_ENOMEM = 12,	/**< out of (simulated or host) memory */
	VMM_EACCES = 13,	/**< permission denied */
	VMM_EFAULT = 14,	/**< bad address */
	VMM_EBUSY = 16,		/**< resource busy */
	VMM_EEXIST = 17,	/**< already exists */
	VMM_ENODEV = 19,	/**< no such device */
	VMM_EINVAL = 22,	/**< invalid argument */
	VMM_ENFILE = 23,	/**< too many open files in the machine */
	VMM_EFBIG = 27,		/**< file too large */
	VMM_ENOSPC = 28,	/**< no space left on device */
	VMM_ERANGE = 34,	/**< result out of range */
	VMM_ENOSYS = 38,	/**< not implemented */
	VMM_EOVERFLOW = 75,	/**< value too large */
	VMM_EOPNOTSUPP = 95,	/**< operation not supported */

	/* Configuration errors: vmm_machine_create() names the bad field. */
	VMM_ECFG_BASE = 1000,
	VMM_ECFG_SIZE = 1000,		/**< reserved for a future layout check; not returned */
	VMM_ECFG_NODES = 1001,		/**< nodes is 0 or more than VMM_MAX_NUMNODES */
	VMM_ECFG_NODE_MEM = 1002,	/**< a node's memory is 0 or not a multiple of 2 MiB */
	VMM_ECFG_MEM_TOTAL = 1003,	/**< total memory exceeds VMM_MAX_PHYS_MEM */
	VMM_ECFG_PAGING_LEVELS = 1004,	/**< paging_levels is neither 4 nor 5 */
	VMM_ECFG_CPUS = 1005,		/**< cpus is 0 or more than VMM_MAX_CPUS */
	VMM_ECFG_CPU_NODE = 1006,	/**< a CPU sits on a node that does not exist */
	VMM_ECFG_DISTANCE = 1007,	/**< distance table not symmetric, diagonal not 10, or < 10 */
	VMM_ECFG_HOLE = 1008,		/**< a hole is empty, unaligned, overlapping or outside memory */
	VMM_ECFG_FLAGS = 1009,		/**< unknown bits in flags */
	VMM_ECFG_MOVABLECORE = 1010,	/**< movablecore not page aligned or larger than memory */
	VMM_ECFG_KERNEL = 1011,		/**< kernel image does not fit in node 0's memory */
	VMM_ECFG_NODE_EMPTY = 1012,	/**< a node has no usable memory left after holes */
	VMM_ECFG_LOG_LEVEL = 1013,	/**< log_level is not a vmm_log_level */
	VMM_ECFG_RESERVED = 1014,	/**< a reserved field is not zero */
	VMM_ECFG_NR_HOLES = 1015,	/**< nr_holes exceeds VMM_MAX_HOLES */
	VMM_ECFG_MIN_FREE = 1016,	/**< min_free_kbytes or watermark_scale_factor out of range */
	VMM_ECFG_TLB = 1017,		/**< a TLB or PWC geometry is not ways x 2^n sets, ways 1..64 */
	VMM_ECFG_TLB_POLICY = 1018,	/**< tlb_replacement unknown, or PLRU with ways not 2^n */
	VMM_ECFG_PHYS_BITS = 1019,	/**< phys_addr_bits not 36..52 or too small for memory */
	VMM_ECFG_TIME = 1020,		/**< cpu_mhz not 1..100000, or hz not 100/250/300/1000 */
	VMM_ECFG_HIGHMEM = 1021,	/**< direct_map_limit not a multiple of 2 MiB or below 64 MiB */
	VMM_ECFG_LAST = 1021,
};

/**
 * Describe an error code.
 *
 * @param err a code as returned (negative) or its positive value
 * @return a static, never NULL, English description
 */
VMM_API const char *vmm_strerror(int err);

VMM_END_DECLS

#endif /* VMM_ERRORS_H */
