/* SPDX-License-Identifier: MIT */
/*
 * Clearing and copying whole pages of host memory: the bytes behind a
 * simulated frame that __GFP_ZERO clears (clear_page) and that a COW fault
 * copies (copy_page).
 *
 * On x86-64 these are the string instructions, as Linux's clear_page_erms
 * and copy_page use on a CPU with ERMS/FSRM: one rep stosb / rep movsb per
 * page. On a cold page (the usual case: a frame leaving the free lists was
 * last touched long ago) bench/bench_page_copy measured rep movsb about 30%
 * faster than glibc's memcpy on the development host, and GCC would
 * otherwise inline memcpy of a constant 4 KiB as rep movsq. Elsewhere the
 * portable memset/memcpy.
 *
 * @bytes is a whole number of pages; the ranges do not overlap.
 */
#ifndef VMM_LIB_PAGECOPY_H
#define VMM_LIB_PAGECOPY_H

#include <stddef.h>
#include <string.h>

static inline void vmm_clear_host_pages(void *dst, size_t bytes)
{
#if defined(__x86_64__) && defined(__GNUC__)
	__asm__ volatile("rep stosb" : "+D"(dst), "+c"(bytes) : "a"(0) : "memory");
#else
	memset(dst, 0, bytes);
#endif
}

static inline void vmm_copy_host_pages(void *dst, const void *src, size_t bytes)
{
#if defined(__x86_64__) && defined(__GNUC__)
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(bytes) : : "memory");
#else
	memcpy(dst, src, bytes);
#endif
}

#endif /* VMM_LIB_PAGECOPY_H */
