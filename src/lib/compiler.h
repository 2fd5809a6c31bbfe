/* SPDX-License-Identifier: MIT */
/* Small language helpers used everywhere in libvmm. */
#ifndef VMM_LIB_COMPILER_H
#define VMM_LIB_COMPILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#define VMM_MIN(a, b) ((a) < (b) ? (a) : (b))
#define VMM_MAX(a, b) ((a) > (b) ? (a) : (b))
#define VMM_CLAMP(v, lo, hi) VMM_MIN(VMM_MAX(v, lo), hi)

#define ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a)-1)) == 0)
#define DIV_ROUND_UP(n, d) (((n) + (d)-1) / (d))

#define VMM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define VMM_UNUSED __attribute__((unused))
/* Rarely run (error reports): kept out of line, away from the hot path. */
#define VMM_COLD __attribute__((cold, noinline))

/*
 * Debug switches are constants, not #ifdefs, so debug code always compiles
 * and cannot rot. VMM_DEBUG_VM comes from the build (meson option debug_vm).
 */
#ifndef VMM_DEBUG_VM
#define VMM_DEBUG_VM 0
#endif
static const bool vmm_debug_vm = VMM_DEBUG_VM;

static inline unsigned vmm_ilog2(uint64_t v)
{
	return 63u - (unsigned)__builtin_clzll(v);
}

static inline uint64_t vmm_rounddown_pow_of_two(uint64_t v)
{
	return 1ull << vmm_ilog2(v);
}

/* Index of the lowest set bit; v must be non-zero (Linux's __ffs). */
static inline unsigned vmm_ffs64(uint64_t v)
{
	return (unsigned)__builtin_ctzll(v);
}

/* Integer square root, as Linux's int_sqrt(): floor(sqrt(x)). */
static inline uint64_t vmm_int_sqrt(uint64_t x)
{
	uint64_t r = 0, bit = 1ull << 62;

	while (bit > x)
		bit >>= 2;
	while (bit) {
		if (x >= r + bit) {
			x -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
		bit >>= 2;
	}
	return r;
}

#endif /* VMM_LIB_COMPILER_H */
