/* SPDX-License-Identifier: MIT */
/*
 * The wire format between test_diff_mmap and host_runner: the runner
 * reports its starting state, reads a list of operations, runs each as a
 * system call and reports the result and /proc/self/maps after each.
 * Everything is native-endian (both ends run on the same host).
 */
#ifndef VMM_TESTS_DIFF_PROTO_H
#define VMM_TESTS_DIFF_PROTO_H

#include <stdint.h>

#define DIFF_MAGIC 0x766d6d64696666ull	/* "vmmdiff" */
#define DIFF_MAX_OPS 256u

enum diff_op_kind {
	DOP_MMAP = 1,		/* a0 addr, a1 len, a2 prot, a3 flags */
	DOP_MUNMAP = 2,		/* a0 addr, a1 len */
	DOP_MPROTECT = 3,	/* a0 addr, a1 len, a2 prot */
	DOP_MREMAP = 4,		/* a0 old, a1 old_len, a2 new_len, a3 flags, a4 new_addr */
	DOP_BRK = 5,		/* a0 brk */
	DOP_MADVISE = 6,	/* a0 addr, a1 len, a2 advice */
	DOP_MLOCK = 7,		/* a0 addr, a1 len */
	DOP_MUNLOCK = 8,	/* a0 addr, a1 len */
};

struct diff_op {
	uint32_t kind;
	uint32_t pad;
	uint64_t a[5];
};

/* The runner's first message: this header, then maps_len bytes of /proc/self/maps. */
struct diff_hello {
	uint64_t magic;
	uint64_t brk;
	uint64_t maps_len;
};

/* After each operation: this record, then maps_len bytes of /proc/self/maps. */
struct diff_result {
	int64_t ret;		/* the address or break, or -errno */
	uint64_t maps_len;
};

#endif /* VMM_TESTS_DIFF_PROTO_H */
