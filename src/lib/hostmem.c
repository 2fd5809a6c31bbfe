/* SPDX-License-Identifier: MIT */
#include "lib/hostmem.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/host_backend.h"
#include "lib/prng.h"

#ifndef VMM_HOST_JEMALLOC
#define VMM_HOST_JEMALLOC 0
#endif

void vmm_hostmem_init(struct vmm_hostmem *hm, const struct vmm_hostmem_inject *inject)
{
	memset(hm, 0, sizeof(*hm));
	if (inject)
		hm->inject = *inject;
	hm->rng = hm->inject.seed;
}

/* Decide whether this call fails on purpose, and count it. */
static int hostmem_should_fail(struct vmm_hostmem *hm)
{
	hm->calls++;
	if (hm->inject.fail_nth && hm->calls == hm->inject.fail_nth)
		return 1;
	if (hm->inject.fail_ppm && vmm_splitmix64(&hm->rng) % 1000000u < hm->inject.fail_ppm)
		return 1;
	return 0;
}

static void hostmem_account(struct vmm_hostmem *hm, void *p, size_t size)
{
	if (!p) {
		hm->failures++;
		return;
	}
	hm->heap_bytes += size;
	if (hm->heap_bytes > hm->peak_heap_bytes)
		hm->peak_heap_bytes = hm->heap_bytes;
}

/*
 * The backend, chosen at build time. The jemalloc entry points exist only in
 * jemalloc builds, hence #if rather than a constant test.
 */
static void *backend_alloc(size_t size, int zero)
{
#if VMM_HOST_JEMALLOC
	return vmm__je_alloc(size, zero);
#else
	return zero ? calloc(1, size ? size : 1) : malloc(size ? size : 1);
#endif
}

static void *backend_realloc(void *p, size_t size)
{
#if VMM_HOST_JEMALLOC
	return vmm__je_realloc(p, size);
#else
	return realloc(p, size ? size : 1);
#endif
}

static void backend_free(void *p, size_t size)
{
#if VMM_HOST_JEMALLOC
	vmm__je_free(p, size);
#else
	(void)size;
	free(p);
#endif
}

void *vmm_hmalloc(struct vmm_hostmem *hm, size_t size)
{
	void *p = hostmem_should_fail(hm) ? NULL : backend_alloc(size, 0);

	hostmem_account(hm, p, size);
	return p;
}

void *vmm_hzalloc(struct vmm_hostmem *hm, size_t size)
{
	void *p = hostmem_should_fail(hm) ? NULL : backend_alloc(size, 1);

	hostmem_account(hm, p, size);
	return p;
}

void *vmm_hcalloc(struct vmm_hostmem *hm, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		hm->calls++;
		hm->failures++;
		return NULL;
	}
	return vmm_hzalloc(hm, n * size);
}

void *vmm_hrealloc(struct vmm_hostmem *hm, void *p, size_t old_size, size_t new_size)
{
	void *q;

	if (!p)
		return vmm_hmalloc(hm, new_size);
	if (hostmem_should_fail(hm)) {
		hm->failures++;
		return NULL;
	}
	q = backend_realloc(p, new_size);
	if (!q) {
		hm->failures++;
		return NULL;
	}
	hm->heap_bytes -= old_size;
	hostmem_account(hm, q, new_size);
	return q;
}

void vmm_hfree(struct vmm_hostmem *hm, void *p, size_t size)
{
	if (!p)
		return;
	hm->heap_bytes -= size;
	backend_free(p, size);
}

void *vmm_hmap(struct vmm_hostmem *hm, size_t size)
{
	void *p;

	if (hostmem_should_fail(hm)) {
		hm->failures++;
		return NULL;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED) {
		hm->failures++;
		return NULL;
	}
	hm->map_bytes += size;
	return p;
}

void vmm_hunmap(struct vmm_hostmem *hm, void *p, size_t size)
{
	if (!p)
		return;
	munmap(p, size);
	hm->map_bytes -= size;
}

const char *vmm_hostmem_backend(void)
{
	return VMM_HOST_JEMALLOC ? "jemalloc" : "system";
}
