/* SPDX-License-Identifier: MIT */
/*
 * The one door through which libvmm takes host memory.
 *
 * Every host allocation of the library goes through these functions, so
 * that (1) the backend can be jemalloc, kept private to libvmm, or the C
 * library's malloc, chosen at build time; (2) tests can make any allocation
 * fail on purpose, either the Nth call or each call with a seeded
 * probability, and prove the failure is handled with nothing leaked; and
 * (3) the machine knows how much host memory it holds.
 *
 * A context belongs to one machine (no global state). Frees take the size,
 * which jemalloc uses for sized deallocation and the accounting needs anyway.
 */
#ifndef VMM_LIB_HOSTMEM_H
#define VMM_LIB_HOSTMEM_H

#include <stddef.h>
#include <stdint.h>

struct vmm_hostmem_inject {
	/* Fail the call whose 1-based number equals this; 0 disables. */
	uint64_t fail_nth;
	/* Fail each call with this probability in parts per million; 0 disables. */
	uint32_t fail_ppm;
	/* Seed of the probability stream. */
	uint64_t seed;
	/*
	 * When set, the owner copies its context here when it is torn down,
	 * so a test can see that every byte and map was given back.
	 */
	struct vmm_hostmem *final;
};

struct vmm_hostmem {
	struct vmm_hostmem_inject inject;
	uint64_t rng;		/* splitmix64 state of the injection stream */
	uint64_t calls;		/* allocation calls so far (heap and maps) */
	uint64_t failures;	/* calls that failed, injected or real */
	size_t heap_bytes;	/* live heap bytes requested */
	size_t map_bytes;	/* live bytes of lazy maps (address space, not RSS) */
	size_t peak_heap_bytes;
};

void vmm_hostmem_init(struct vmm_hostmem *hm, const struct vmm_hostmem_inject *inject);

/* Heap memory. Each returns NULL on failure. */
void *vmm_hmalloc(struct vmm_hostmem *hm, size_t size);
void *vmm_hzalloc(struct vmm_hostmem *hm, size_t size);
void *vmm_hcalloc(struct vmm_hostmem *hm, size_t n, size_t size);
/* On failure the old block is untouched and still owned by the caller. */
void *vmm_hrealloc(struct vmm_hostmem *hm, void *p, size_t old_size, size_t new_size);
void vmm_hfree(struct vmm_hostmem *hm, void *p, size_t size);

/*
 * A large zero-filled region whose pages the host backs only when touched
 * (anonymous, MAP_NORESERVE). Used for simulated RAM and the memory map.
 */
void *vmm_hmap(struct vmm_hostmem *hm, size_t size);
void vmm_hunmap(struct vmm_hostmem *hm, void *p, size_t size);

/* Name of the backend this build uses: "jemalloc" or "system". */
const char *vmm_hostmem_backend(void);

#endif /* VMM_LIB_HOSTMEM_H */
