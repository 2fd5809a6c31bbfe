/* SPDX-License-Identifier: MIT */
/*
 * libvmm's host allocator (jemalloc, in the default build) serves libvmm
 * alone: a program that links libvmm, shared or static, keeps the C
 * library's malloc family. See scripts/embed-jemalloc.sh.
 *
 * usage: test_malloc_private shared|static
 *
 * The test lets a machine live and die, then asks the dynamic linker who
 * defines the program's malloc, free, calloc and realloc (the C library; in a
 * sanitizer build the sanitizer runtime, which interposes on purpose), checks
 * that no jemalloc entry point is visible to the program, and allocates a
 * little to show the program's heap still works.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/vmm.h>

/* A sanitizer runtime replaces malloc for the whole process, by design. */
static int is_sanitizer_runtime(const char *path)
{
#if defined(__SANITIZE_ADDRESS__)
	return strstr(path, "libasan.so") != NULL;
#else
	(void)path;
	return 0;
#endif
}

static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failures++;
}

/* Who defines the function at @addr: the path of the object, or "?". */
static const char *owner_of(const void *addr)
{
	Dl_info info;

	if (!dladdr(addr, &info) || !info.dli_fname)
		return "?";
	return info.dli_fname;
}

static void check_libc_owns(const char *name, const void *addr)
{
	const char *owner = owner_of(addr);

	printf("# %-8s defined by %s\n", name, owner);
	if (strstr(owner, "libvmm") || strstr(owner, "jemalloc"))
		fail("%s comes from %s, not the C library", name, owner);
	else if (!strstr(owner, "libc.so") && !is_sanitizer_runtime(owner))
		fail("%s comes from %s, not libc.so", name, owner);
}

/* No jemalloc entry point may be visible to the program. */
static void check_no_jemalloc_symbols(void)
{
	/* clang-format off */
	static const char *const names[] = {
		"mallocx", "rallocx", "xallocx", "sallocx", "dallocx", "sdallocx", "nallocx",
		"mallctl", "mallctlnametomib", "mallctlbymib", "malloc_stats_print",
		"je_malloc", "je_free", "je_mallocx", "_rjem_malloc", "_rjem_mallocx",
		"vmm__je_alloc", "vmm__je_realloc", "vmm__je_free",
	};
	/* clang-format on */

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		void *sym = dlsym(RTLD_DEFAULT, names[i]);

		if (sym)
			fail("%s is visible to the program (from %s)", names[i], owner_of(sym));
	}
}

static void check_libvmm_linkage(const char *mode)
{
	const char *owner = owner_of((const void *)&vmm_machine_create);

	printf("# libvmm   defined by %s (%s link)\n", owner, mode);
	if (!strcmp(mode, "shared") && !strstr(owner, "libvmm.so"))
		fail("%s: vmm_machine_create comes from %s, not libvmm.so", mode, owner);
	if (!strcmp(mode, "static") && strstr(owner, "libvmm.so"))
		fail("%s: vmm_machine_create comes from %s", mode, owner);
}

static int boot_and_destroy(void)
{
	struct vmm_config cfg;
	vmm_machine *m;
	int err;

	vmm_config_init(&cfg);
	err = vmm_machine_create(&cfg, &m);
	if (err) {
		printf("FAIL: vmm_machine_create: %s\n", vmm_strerror(err));
		return -1;
	}
	if (vmm_machine_check(m, stdout) != 0)
		fail("vmm_machine_check found problems");
	vmm_machine_destroy(&m);
	return 0;
}

/* The program's own heap after a machine lived: blocks of several size classes. */
static void use_the_heap(void)
{
	enum { N = 64 };
	unsigned char *blocks[N];

	for (size_t i = 0; i < N; i++) {
		size_t size = (size_t)1 << (i % 20);

		blocks[i] = malloc(size);
		if (!blocks[i]) {
			fail("malloc failed");
			return;
		}
		memset(blocks[i], (int)i, size);
	}
	for (size_t i = 0; i < N; i += 2) {
		unsigned char *p = realloc(blocks[i], 3000);

		if (!p) {
			fail("realloc failed");
			return;
		}
		if (p[0] != (unsigned char)i)
			fail("realloc lost the block's contents");
		blocks[i] = p;
	}
	for (size_t i = 0; i < N; i++)
		free(blocks[i]);

	unsigned *zeroed = calloc(1000, sizeof(*zeroed));

	if (!zeroed) {
		fail("calloc failed");
		return;
	}
	for (size_t i = 0; i < 1000; i++)
		if (zeroed[i])
			fail("calloc returned dirty memory");
	free(zeroed);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "shared";

	if (strcmp(mode, "shared") && strcmp(mode, "static")) {
		fprintf(stderr, "usage: %s shared|static\n", argv[0]);
		return 2;
	}
	/* Two machines, one after the other: the library's heap comes and goes. */
	if (boot_and_destroy() || boot_and_destroy())
		return 1;
	use_the_heap();

	check_libc_owns("malloc", (const void *)&malloc);
	check_libc_owns("free", (const void *)&free);
	check_libc_owns("calloc", (const void *)&calloc);
	check_libc_owns("realloc", (const void *)&realloc);
	check_no_jemalloc_symbols();
	check_libvmm_linkage(mode);

	if (failures) {
		printf("%d failure%s\n", failures, failures == 1 ? "" : "s");
		return 1;
	}
	printf("ok: the program keeps its own malloc, from %s (%s link)\n",
	       owner_of((const void *)&malloc), mode);
	return 0;
}
