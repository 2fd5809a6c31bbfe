/* SPDX-License-Identifier: MIT */
/*
 * The machine's pseudo-random generator: xoshiro256** seeded through
 * splitmix64, so every seed (0 included) gives a well-mixed state. Each
 * machine owns one; nothing in libvmm calls rand().
 */
#ifndef VMM_LIB_PRNG_H
#define VMM_LIB_PRNG_H

#include <stdint.h>

struct vmm_prng {
	uint64_t s[4];
};

void vmm_prng_seed(struct vmm_prng *p, uint64_t seed);
uint64_t vmm_prng_next(struct vmm_prng *p);
/* A uniform value in [0, bound); bound must be non-zero. */
uint64_t vmm_prng_below(struct vmm_prng *p, uint64_t bound);
uint64_t vmm_splitmix64(uint64_t *state);

#endif /* VMM_LIB_PRNG_H */
