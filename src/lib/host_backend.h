/* SPDX-License-Identifier: MIT */
/* The private jemalloc entry points (see host_jemalloc.c). */
#ifndef VMM_LIB_HOST_BACKEND_H
#define VMM_LIB_HOST_BACKEND_H

#include <stddef.h>

void *vmm__je_alloc(size_t size, int zero);
void *vmm__je_realloc(void *p, size_t size);
void vmm__je_free(void *p, size_t size);

#endif
