/* SPDX-License-Identifier: MIT */
#include "lib/prng.h"

uint64_t vmm_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void vmm_prng_seed(struct vmm_prng *p, uint64_t seed)
{
	uint64_t st = seed;

	for (int i = 0; i < 4; i++)
		p->s[i] = vmm_splitmix64(&st);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t vmm_prng_next(struct vmm_prng *p)
{
	uint64_t *s = p->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/*
 * Lemire's multiply-and-reject method: unbiased, and one multiplication in
 * the common case.
 */
uint64_t vmm_prng_below(struct vmm_prng *p, uint64_t bound)
{
	unsigned __int128 m = (unsigned __int128)vmm_prng_next(p) * bound;
	uint64_t low = (uint64_t)m;

	if (low < bound) {
		uint64_t threshold = -bound % bound;

		while (low < threshold) {
			m = (unsigned __int128)vmm_prng_next(p) * bound;
			low = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}
