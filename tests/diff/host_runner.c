/* SPDX-License-Identifier: MIT */
/*
 * host_runner: the host-kernel side of test_diff_mmap. A static program, so
 * that with ASLR off its address space holds nothing but its own image, the
 * heap, [vvar]/[vdso] and the stack: the parent can rebuild that layout in
 * libvmm exactly. It never calls malloc (stdio included), so the heap does
 * not move under the operations.
 *
 * Protocol (diff_proto.h): write a hello with brk and maps; read the number
 * of operations and the operations; run each, writing its result and maps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "diff_proto.h"

static char maps_buf[1 << 20];
static struct diff_op ops[DIFF_MAX_OPS];

static int write_all(const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(1, c, n);

		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(void *p, size_t n)
{
	char *c = p;

	while (n) {
		ssize_t r = read(0, c, n);

		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

static uint64_t read_maps(void)
{
	int fd = open("/proc/self/maps", O_RDONLY);
	uint64_t len = 0;
	ssize_t r;

	if (fd < 0)
		return 0;
	while ((r = read(fd, maps_buf + len, sizeof(maps_buf) - len)) > 0)
		len += (uint64_t)r;
	close(fd);
	return len;
}

static int64_t ret_of(long r)
{
	return r == -1 ? -(int64_t)errno : (int64_t)r;
}

static int64_t run(const struct diff_op *o)
{
	void *p;

	switch (o->kind) {
	case DOP_MMAP:
		p = mmap((void *)o->a[0], o->a[1], (int)o->a[2], (int)o->a[3], -1, 0);
		return p == MAP_FAILED ? -(int64_t)errno : (int64_t)(uintptr_t)p;
	case DOP_MUNMAP:
		return ret_of(munmap((void *)o->a[0], o->a[1]));
	case DOP_MPROTECT:
		return ret_of(mprotect((void *)o->a[0], o->a[1], (int)o->a[2]));
	case DOP_MREMAP:
		p = mremap((void *)o->a[0], o->a[1], o->a[2], (int)o->a[3], (void *)o->a[4]);
		return p == MAP_FAILED ? -(int64_t)errno : (int64_t)(uintptr_t)p;
	case DOP_BRK:
		return (int64_t)syscall(SYS_brk, o->a[0]);
	case DOP_MADVISE:
		return ret_of(madvise((void *)o->a[0], o->a[1], (int)o->a[2]));
	case DOP_MLOCK:
		return ret_of(mlock((void *)o->a[0], o->a[1]));
	case DOP_MUNLOCK:
		return ret_of(munlock((void *)o->a[0], o->a[1]));
	default:
		return -EINVAL;
	}
}

int main(void)
{
	struct diff_hello h = { .magic = DIFF_MAGIC };
	uint32_t n;

	h.brk = (uint64_t)syscall(SYS_brk, 0);
	h.maps_len = read_maps();
	if (write_all(&h, sizeof(h)) || write_all(maps_buf, h.maps_len))
		return 1;
	if (read_all(&n, sizeof(n)) || n > DIFF_MAX_OPS || read_all(ops, n * sizeof(ops[0])))
		return 2;
	for (uint32_t i = 0; i < n; i++) {
		struct diff_result r;

		r.ret = run(&ops[i]);
		r.maps_len = read_maps();
		if (write_all(&r, sizeof(r)) || write_all(maps_buf, r.maps_len))
			return 3;
	}
	return 0;
}
