/* SPDX-License-Identifier: MIT */
/*
 * Sorting 64-bit keys in place, for the checkers: they sort a few hundred
 * addresses per cache on every vmm_machine_check(), where qsort()'s call per
 * comparison and its copies cost more than the comparisons.
 */
#ifndef VMM_LIB_SORT_H
#define VMM_LIB_SORT_H

#include <stddef.h>
#include <stdint.h>

/* Sort @v[0 .. @n) in ascending order. Not stable (equal keys are equal). */
void vmm_sort_u64(uint64_t *v, size_t n);

#endif /* VMM_LIB_SORT_H */
