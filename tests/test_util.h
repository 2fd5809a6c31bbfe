/* SPDX-License-Identifier: MIT */
/* Helpers shared by the CMocka tests. */
#ifndef VMM_TEST_UTIL_H
#define VMM_TEST_UTIL_H

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <vmm/vmm.h>

/*
 * The seed of a randomized test: VMM_TEST_SEED when set, else @fallback.
 * Printed so that a failing run can be repeated.
 */
static inline uint64_t test_seed(const char *test, uint64_t fallback)
{
	const char *env = getenv("VMM_TEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : fallback;

	printf("# %s: seed %" PRIu64 " (set VMM_TEST_SEED to repeat)\n", test, seed);
	return seed;
}

/* The length of a long randomized test: VMM_TEST_OPS when set, else @fallback. */
static inline uint64_t test_ops(uint64_t fallback)
{
	const char *env = getenv("VMM_TEST_OPS");

	return env ? strtoull(env, NULL, 0) : fallback;
}

/* A quiet log hook that counts messages, for tests that provoke errors. */
struct test_log {
	unsigned messages;
	char last[512];
	enum vmm_log_kind last_kind;
};

static inline void test_log_hook(void *data, enum vmm_log_level level, enum vmm_log_kind kind,
				 const char *msg)
{
	struct test_log *tl = data;

	(void)level;
	tl->messages++;
	tl->last_kind = kind;
	snprintf(tl->last, sizeof(tl->last), "%s", msg);
}

/*
 * What @call (a call that writes to the stream named out and returns 0)
 * prints, as one string; the caller frees it.
 */
#define PRINT_TO_STRING(call)                                      \
	({                                                         \
		char *buf_ = NULL;                                 \
		size_t len_ = 0;                                   \
		FILE *out = open_memstream(&buf_, &len_);          \
		assert_non_null(out);                              \
		assert_int_equal((call), 0);                       \
		fclose(out);                                       \
		buf_;                                              \
	})

/* The text of one vmm_dump() view; the caller frees it. */
static inline char *dump_to_string(vmm_machine *m, enum vmm_dump_kind kind)
{
	return PRINT_TO_STRING(vmm_dump(m, kind, out));
}

/*
 * A machine quick to check after every step: one node of 256 MiB, two CPUs,
 * the default holes below 1 MiB, a 2 MiB kernel image.
 */
static inline void small_config(struct vmm_config *cfg)
{
	vmm_config_init(cfg);
	cfg->nodes = 1;
	cfg->cpus = 2;
	cfg->node_mem[0] = 256ull << 20;
	cfg->nr_holes = 2;
	cfg->kernel_image_size = 2ull << 20;
}

/* The default machine (vmm_config_init()), booted. */
static inline vmm_machine *default_machine(void)
{
	struct vmm_config cfg;
	vmm_machine *m;

	vmm_config_init(&cfg);
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	return m;
}

/*
 * The default machine booted only up to the page allocator (no slab caches),
 * with lazy vmalloc tables (so boot takes no page from the buddy allocator):
 * the memblock hand-off untouched, for tests of the layers below slab.
 * Needs the internal headers (machine.h).
 */
#define early_machine()                                                      \
	({                                                                   \
		struct vmm_config cfg_;                                      \
		vmm_machine *m_;                                             \
		vmm_config_init(&cfg_);                                      \
		cfg_.flags |= VMM_CFG_VMALLOC_LAZY;                          \
		assert_int_equal(vmm_machine_create_early(&cfg_, &m_), 0);   \
		m_;                                                          \
	})

/* vmm_machine_check() must find nothing; on failure print the report. */
static inline void assert_machine_healthy(vmm_machine *m)
{
	long problems = vmm_machine_check(m, stdout);

	assert_int_equal(problems, 0);
}

#endif /* VMM_TEST_UTIL_H */
