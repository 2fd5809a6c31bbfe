/* SPDX-License-Identifier: MIT */
/*
 * Clearing and copying whole pages of host memory: the bytes behind a
 * simulated frame that __GFP_ZERO clears (clear_page) and that a COW fault
 * copies (copy_page).
 *
 * On x86-64 these are the string instructions Linux uses on a CPU with
 * ERMS and REP_GOOD: rep stosb as clear_page_erms, rep movsq as copy_page
 * (a rep movsb copy measured no faster in bench_fault on the development
 * host, and callgrind would count its 4096 iterations a page). Elsewhere
 * the portable memset/memcpy.
 *
 * @bytes is a whole number of pages; the ranges do not overlap.
 */
#ifndef VMM_LIB_PAGECOPY_H
#define VMM_LIB_PAGECOPY_H

#include <stddef.h>
#include <stdint.h>
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
	size_t words = bytes / sizeof(uint64_t);

	__asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(words) : : "memory");
#else
	memcpy(dst, src, bytes);
#endif
}

#endif /* VMM_LIB_PAGECOPY_H */
