/* SPDX-License-Identifier: MIT */
/*
 * The jemalloc backend of hostmem.c. This file is linked together with
 * Debian's libjemalloc_pic.a into one relocatable object whose only global
 * symbols are the three functions below (scripts/embed-jemalloc.sh): the
 * jemalloc inside libvmm then serves libvmm alone and never replaces the
 * malloc of the program that links it.
 */
#include <jemalloc/jemalloc.h>

#include "lib/host_backend.h"

void *vmm__je_alloc(size_t size, int zero)
{
	return mallocx(size ? size : 1, zero ? MALLOCX_ZERO : 0);
}

void *vmm__je_realloc(void *p, size_t size)
{
	return rallocx(p, size ? size : 1, 0);
}

void vmm__je_free(void *p, size_t size)
{
	sdallocx(p, size ? size : 1, 0);
}
