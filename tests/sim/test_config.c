/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/sim/config.c: the default machine, every way
 * vmm_machine_create() rejects a config (the exact -VMM_ECFG_* code, a NULL
 * handle, and one caller-kind log line naming the field), the edge cases it
 * must accept, the resolution of automatic values, and vmm_config_print().
 */
#include "test_util.h"

#include <stdbool.h>
#include <string.h>

#include "lib/log.h"
#include "sim/config.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

/* The default holes, as config.h documents them. */
#define HOLE_IVT_END 0x1000ull
#define HOLE_EBDA_START 0x9f000ull
#define HOLE_EBDA_END 0x100000ull
#define HOLE_PCI_START 0xe0000000ull
#define HOLE_PCI_END 0x100000000ull

/* RAM bytes of the default machine: 4 GiB of address space minus the three default holes. */
#define DEFAULT_RAM                                                   \
	(4 * GiB - HOLE_IVT_END - (HOLE_EBDA_END - HOLE_EBDA_START) - \
	 (HOLE_PCI_END - HOLE_PCI_START))

/* Any non-NULL value: create must overwrite it with NULL on failure. */
static char not_a_machine;
#define POISON_HANDLE ((vmm_machine *)(void *)&not_a_machine)

/* An explicit distance table for the first @nodes nodes: 10 on the diagonal, @remote elsewhere. */
static void set_distance(struct vmm_config *c, unsigned nodes, uint8_t remote)
{
	for (unsigned i = 0; i < nodes; i++)
		for (unsigned j = 0; j < nodes; j++)
			c->distance[i][j] = i == j ? VMM_LOCAL_DISTANCE : remote;
}

static void set_hole(struct vmm_config *c, unsigned h, uint64_t start, uint64_t end)
{
	c->holes[h].start = start;
	c->holes[h].end = end;
}

/*
 * Create a machine from @cfg, which must be rejected with -@code, leave the
 * handle NULL and log exactly one caller-kind line that contains @field.
 */
static void expect_rejected(const char *what, struct vmm_config *cfg, int code, const char *field)
{
	struct test_log tl = { 0 };
	vmm_machine *m = POISON_HANDLE;
	int err;

	cfg->log_fn = test_log_hook;
	cfg->log_data = &tl;
	err = vmm_machine_create(cfg, &m);
	if (err != -code)
		fail_msg("%s: returned %d (%s), expected %d (%s); log: \"%s\"", what, err,
			 vmm_strerror(err), -code, vmm_strerror(code), tl.last);
	if (m != NULL)
		fail_msg("%s: the handle is not NULL after a failure", what);
	if (tl.messages != 1)
		fail_msg("%s: %u log messages, expected 1 (last: \"%s\")", what, tl.messages,
			 tl.last);
	if (tl.last_kind != VMM_LOG_KIND_CALLER)
		fail_msg("%s: log kind %d, expected VMM_LOG_KIND_CALLER", what, (int)tl.last_kind);
	if (!strstr(tl.last, field))
		fail_msg("%s: log message \"%s\" does not name \"%s\"", what, tl.last, field);
}

/* The log of booted machines; it outlives them, unlike a local would. */
static struct test_log boot_log;

/* Create a machine from @cfg, which must boot quietly and pass its own check. */
static vmm_machine *expect_boots(const char *what, struct vmm_config *cfg)
{
	struct vmm_trouble_counts trouble;
	vmm_machine *m = NULL;
	int err;

	memset(&boot_log, 0, sizeof(boot_log));
	cfg->log_fn = test_log_hook;
	cfg->log_data = &boot_log;
	err = vmm_machine_create(cfg, &m);
	if (err)
		fail_msg("%s: returned %d (%s); log: \"%s\"", what, err, vmm_strerror(err),
			 boot_log.last);
	assert_non_null(m);
	assert_machine_healthy(m);
	assert_int_equal(vmm_machine_trouble(m, &trouble), 0);
	if (trouble.guest || trouble.caller || trouble.internal)
		fail_msg("%s: boot logged trouble: \"%s\"", what, boot_log.last);
	return m;
}

/* Boot @cfg, check it and destroy it. */
static void expect_boots_and_destroy(const char *what, struct vmm_config *cfg)
{
	struct vmm_config copy = *cfg;
	vmm_machine *m = expect_boots(what, &copy);

	vmm_machine_destroy(&m);
	assert_null(m);
}

/* vmm_config_validate() alone, for configs too large to boot in a unit test. */
static int validate_only(const struct vmm_config *cfg, struct test_log *tl)
{
	struct vmm_config c = *cfg;
	struct vmm_log log;

	c.log_fn = test_log_hook;
	c.log_data = tl;
	vmm_log_init(&log, &c);
	return vmm_config_validate(&c, &log);
}

/*
 * Every bad config: name, expected code, text the log line must contain, and
 * the change made to the default config. Each changes one field (or, for a
 * field that needs a helper such as a hole, the minimum to express it).
 */
/* clang-format off */
#define BAD_CONFIGS(X)                                                                     \
	X(nodes_zero, VMM_ECFG_NODES, "nodes", c->nodes = 0;)                              \
	X(nodes_65, VMM_ECFG_NODES, "nodes", c->nodes = VMM_MAX_NUMNODES + 1;)             \
	X(nodes_huge, VMM_ECFG_NODES, "nodes", c->nodes = UINT32_MAX;)                     \
	X(node_mem_zero, VMM_ECFG_NODE_MEM, "node_mem[1]", c->node_mem[1] = 0;)            \
	X(node_mem_first_zero, VMM_ECFG_NODE_MEM, "node_mem[0]", c->node_mem[0] = 0;)      \
	X(node_mem_page_unaligned, VMM_ECFG_NODE_MEM, "node_mem[1]",                       \
	  c->node_mem[1] += VMM_PAGE_SIZE;)                                                \
	X(node_mem_1mib_unaligned, VMM_ECFG_NODE_MEM, "node_mem[1]",                       \
	  c->node_mem[1] += VMM_NODE_MEM_ALIGN / 2;)                                       \
	X(mem_total_over_1tib, VMM_ECFG_MEM_TOTAL, "node_mem",                             \
	  c->node_mem[1] = VMM_MAX_PHYS_MEM;)                                              \
	X(mem_total_1tib_plus_2mib, VMM_ECFG_MEM_TOTAL, "node_mem",                        \
	  c->node_mem[1] = VMM_MAX_PHYS_MEM - c->node_mem[0] + VMM_NODE_MEM_ALIGN;)        \
	X(mem_total_wraps, VMM_ECFG_MEM_TOTAL, "node_mem",                                 \
	  c->node_mem[1] = ~(VMM_NODE_MEM_ALIGN - 1);)                                     \
	X(paging_levels_0, VMM_ECFG_PAGING_LEVELS, "paging_levels", c->paging_levels = 0;) \
	X(paging_levels_3, VMM_ECFG_PAGING_LEVELS, "paging_levels", c->paging_levels = 3;) \
	X(paging_levels_6, VMM_ECFG_PAGING_LEVELS, "paging_levels", c->paging_levels = 6;) \
	X(cpus_zero, VMM_ECFG_CPUS, "cpus", c->cpus = 0;)                                  \
	X(cpus_257, VMM_ECFG_CPUS, "cpus", c->cpus = VMM_MAX_CPUS + 1;)                    \
	X(cpu_node_missing, VMM_ECFG_CPU_NODE, "cpu_node[3]", c->cpu_node[3] = 2;)         \
	X(cpu_node_not_auto, VMM_ECFG_CPU_NODE, "cpu_node[0]",                             \
	  c->cpu_node[0] = VMM_NODE_AUTO - 1;)                                             \
	X(distance_asymmetric, VMM_ECFG_DISTANCE, "distance[0][1]",                        \
	  set_distance(c, 2, 21); c->distance[0][1] = 20;)                                 \
	X(distance_diagonal_not_10, VMM_ECFG_DISTANCE, "distance[1][1]",                   \
	  set_distance(c, 2, 21); c->distance[1][1] = 11;)                                 \
	X(distance_first_diagonal, VMM_ECFG_DISTANCE, "distance[0][0]",                    \
	  c->distance[0][0] = 20;)                                                         \
	X(distance_remote_10, VMM_ECFG_DISTANCE, "distance[0][1]",                         \
	  set_distance(c, 2, VMM_LOCAL_DISTANCE);)                                         \
	X(distance_remote_below_10, VMM_ECFG_DISTANCE, "distance[0][1]",                   \
	  set_distance(c, 2, 5);)                                                          \
	X(distance_remote_unset, VMM_ECFG_DISTANCE, "distance[0][1]",                      \
	  set_distance(c, 2, 0);)                                                          \
	X(hole_empty, VMM_ECFG_HOLE, "holes[2]", c->holes[2].end = c->holes[2].start;)     \
	X(hole_reversed, VMM_ECFG_HOLE, "holes[2]",                                        \
	  set_hole(c, 2, HOLE_PCI_END, HOLE_PCI_START);)                                   \
	X(hole_start_unaligned, VMM_ECFG_HOLE, "holes[2]", c->holes[2].start += 0x800;)    \
	X(hole_end_unaligned, VMM_ECFG_HOLE, "holes[1]", c->holes[1].end -= 1;)            \
	X(hole_outside_memory, VMM_ECFG_HOLE, "holes[2]",                                  \
	  set_hole(c, 2, HOLE_PCI_END, HOLE_PCI_END + VMM_PAGE_SIZE);)                     \
	X(hole_past_end_of_memory, VMM_ECFG_HOLE, "holes[2]",                              \
	  c->holes[2].end += VMM_PAGE_SIZE;)                                               \
	X(hole_overlaps, VMM_ECFG_HOLE, "holes[2]", set_hole(c, 2, 0x80000, 0xa0000);)     \
	X(hole_duplicate, VMM_ECFG_HOLE, "holes[1]", c->holes[1] = c->holes[0];)           \
	X(hole_contains_another, VMM_ECFG_HOLE, "holes[3]",                                \
	  c->nr_holes = 4; set_hole(c, 3, 0x90000, 0x200000);)                             \
	X(nr_holes_17, VMM_ECFG_NR_HOLES, "nr_holes", c->nr_holes = VMM_MAX_HOLES + 1;)    \
	X(nr_holes_huge, VMM_ECFG_NR_HOLES, "nr_holes", c->nr_holes = UINT32_MAX;)         \
	X(node_inside_hole, VMM_ECFG_NODE_EMPTY, "node_mem[1]",                            \
	  c->holes[2].start = c->node_mem[0];)                                             \
	X(node_inside_two_holes, VMM_ECFG_NODE_EMPTY, "node_mem[1]",                       \
	  c->nr_holes = 4; set_hole(c, 3, c->node_mem[0], HOLE_PCI_START);)                \
	X(node0_inside_hole, VMM_ECFG_NODE_EMPTY, "node_mem[0]",                           \
	  c->nr_holes = 1; set_hole(c, 0, 0, c->node_mem[0]);)                             \
	X(kernel_past_node0, VMM_ECFG_KERNEL, "kernel_image_size",                         \
	  c->kernel_image_size = c->node_mem[0] - VMM_KERNEL_PHYS_START + VMM_PAGE_SIZE;)  \
	X(kernel_larger_than_node0, VMM_ECFG_KERNEL, "kernel_image_size",                  \
	  c->kernel_image_size = 3 * GiB;)                                                 \
	X(kernel_over_hole, VMM_ECFG_KERNEL, "kernel_image_size",                          \
	  c->nr_holes = 4; set_hole(c, 3, 32 * MiB, 32 * MiB + VMM_PAGE_SIZE);)            \
	X(kernel_unaligned, VMM_ECFG_KERNEL, "kernel_image_size",                          \
	  c->kernel_image_size += 512;)                                                    \
	X(movablecore_unaligned, VMM_ECFG_MOVABLECORE, "movablecore",                      \
	  c->movablecore = GiB + 1;)                                                       \
	X(movablecore_all_ram, VMM_ECFG_MOVABLECORE, "movablecore",                        \
	  c->movablecore = DEFAULT_RAM;)                                                   \
	X(movablecore_whole_span, VMM_ECFG_MOVABLECORE, "movablecore",                     \
	  c->movablecore = 4 * GiB;)                                                       \
	X(flags_bit3, VMM_ECFG_FLAGS, "flags", c->flags = 8;)                                \
	X(flags_bit63, VMM_ECFG_FLAGS, "flags", c->flags = 1ull << 63;)                    \
	X(reserved_first, VMM_ECFG_RESERVED, "reserved[0]", c->reserved[0] = 1;)           \
	X(reserved_last, VMM_ECFG_RESERVED, "reserved[20]", c->reserved[20] = 1ull << 63;) \
	X(cpu_mhz_zero, VMM_ECFG_TIME, "cpu_mhz", c->cpu_mhz = 0;) \
	X(cpu_mhz_big, VMM_ECFG_TIME, "cpu_mhz", c->cpu_mhz = 100001;) \
	X(hz_odd, VMM_ECFG_TIME, "hz", c->hz = 200;) \
	X(highmem_small, VMM_ECFG_HIGHMEM, "direct_map_limit", c->direct_map_limit = 32ull << 20;) \
	X(highmem_unaligned, VMM_ECFG_HIGHMEM, "direct_map_limit",                   \
	  c->direct_map_limit = (896ull << 20) + 4096;) \
	X(pad0, VMM_ECFG_RESERVED, "pad0", c->pad0 = 1;)                                   \
	X(log_level_4, VMM_ECFG_LOG_LEVEL, "log_level", c->log_level = VMM_LOG_DEBUG + 1;) \
	X(log_level_max, VMM_ECFG_LOG_LEVEL, "log_level", c->log_level = INT32_MAX;)       \
	X(wsf_zero, VMM_ECFG_MIN_FREE, "watermark_scale_factor",                           \
	  c->watermark_scale_factor = 0;)                                                  \
	X(wsf_3001, VMM_ECFG_MIN_FREE, "watermark_scale_factor",                           \
	  c->watermark_scale_factor = 3001;)                                               \
	X(min_free_over_memory, VMM_ECFG_MIN_FREE, "min_free_kbytes",                      \
	  c->min_free_kbytes = (uint32_t)(DEFAULT_RAM >> 10) + 1;)                         \
	X(min_free_max, VMM_ECFG_MIN_FREE, "min_free_kbytes", c->min_free_kbytes = UINT32_MAX;) \
	X(tlb_ways_not_dividing, VMM_ECFG_TLB, "dtlb[4k]", c->dtlb[0].ways = 5;)           \
	X(tlb_sets_not_pow2, VMM_ECFG_TLB, "stlb", c->stlb.entries = 48; c->stlb.ways = 16;) \
	X(tlb_ways_zero, VMM_ECFG_TLB, "pwc[0]", c->pwc[0].ways = 0;)                      \
	X(tlb_ways_65, VMM_ECFG_TLB, "itlb[2m]",                                           \
	  c->itlb[1].entries = 65; c->itlb[1].ways = 65;)                                  \
	X(tlb_policy_3, VMM_ECFG_TLB_POLICY, "tlb_replacement", c->tlb_replacement = 3;)   \
	X(tlb_plru_6_ways, VMM_ECFG_TLB_POLICY, "tree-PLRU",                               \
	  c->tlb_replacement = VMM_TLB_PLRU; c->dtlb[0].entries = 96; c->dtlb[0].ways = 6;) \
	X(phys_bits_35, VMM_ECFG_PHYS_BITS, "phys_addr_bits", c->phys_addr_bits = 35;)     \
	X(phys_bits_53, VMM_ECFG_PHYS_BITS, "phys_addr_bits", c->phys_addr_bits = 53;)     \
	X(phys_bits_small, VMM_ECFG_PHYS_BITS, "phys_addr_bits",                           \
	  c->phys_addr_bits = 36; c->node_mem[0] = c->node_mem[1] = 64 * GiB;)
/* clang-format on */

#define DEFINE_BAD_TEST(name, code, field, ...)         \
	static void test_bad_##name(void **state)       \
	{                                               \
		struct vmm_config cfg, *c = &cfg;       \
                                                        \
		(void)state;                            \
		vmm_config_init(c);                     \
		__VA_ARGS__                             \
		expect_rejected(#name, c, code, field); \
	}
BAD_CONFIGS(DEFINE_BAD_TEST)

/* Every configuration error code has at least one case above. */
static void test_every_cfg_code_is_covered(void **state)
{
#define CODE_OF(name, code, field, ...) code,
	static const int covered[] = { BAD_CONFIGS(CODE_OF) };
#undef CODE_OF

	(void)state;
	for (int code = VMM_ECFG_BASE; code <= VMM_ECFG_LAST; code++) {
		bool found = false;

		/*
		 * VMM_ECFG_SIZE ("cfg->size does not match any known layout") has
		 * no field to provoke it: struct vmm_config has no size member.
		 */
		if (code == VMM_ECFG_SIZE)
			continue;
		for (size_t i = 0; i < sizeof(covered) / sizeof(covered[0]); i++)
			found |= covered[i] == code;
		if (!found)
			fail_msg("no test provokes config error %d (%s)", code, vmm_strerror(code));
	}
}

/*
 * A negative log_level is rejected too. Its log line is not checked: the
 * log is set up from the bad level before validation, so the line is filtered.
 */
static void test_bad_log_level_negative(void **state)
{
	struct vmm_config cfg;
	struct test_log tl = { 0 };
	vmm_machine *m = POISON_HANDLE;

	(void)state;
	vmm_config_init(&cfg);
	cfg.log_fn = test_log_hook;
	cfg.log_data = &tl;
	cfg.log_level = -1;
	assert_int_equal(vmm_machine_create(&cfg, &m), -VMM_ECFG_LOG_LEVEL);
	assert_null(m);
	cfg.log_level = INT32_MIN;
	m = POISON_HANDLE;
	assert_int_equal(vmm_machine_create(&cfg, &m), -VMM_ECFG_LOG_LEVEL);
	assert_null(m);
}

/*
 * A kernel image so large that its end wraps around 2^64 must not be taken
 * for one that fits.
 */
static void test_bad_kernel_wraps(void **state)
{
	struct vmm_config cfg;
	struct test_log tl = { 0 };
	vmm_machine *m = POISON_HANDLE;
	int err;

	(void)state;
	vmm_config_init(&cfg);
	cfg.log_fn = test_log_hook;
	cfg.log_data = &tl;
	cfg.kernel_image_size = 0ull - VMM_KERNEL_PHYS_START;
	err = vmm_machine_create(&cfg, &m);
	assert_true(err < 0);
	assert_null(m);
	vmm_machine_destroy(&m);
}

/* When several fields are bad, validation stops at the first one and logs only it. */
static void test_first_bad_field_only(void **state)
{
	struct vmm_config cfg;

	(void)state;
	vmm_config_init(&cfg);
	cfg.reserved[5] = 1;
	cfg.nodes = 0;
	cfg.cpus = 0;
	expect_rejected("reserved before nodes", &cfg, VMM_ECFG_RESERVED, "reserved[5]");
	vmm_config_init(&cfg);
	cfg.nodes = 0;
	cfg.cpus = 0;
	expect_rejected("nodes before cpus", &cfg, VMM_ECFG_NODES, "nodes");
}

static void test_null_arguments(void **state)
{
	struct vmm_config cfg;
	struct test_log tl = { 0 };
	vmm_machine *m = POISON_HANDLE;

	(void)state;
	/* no config, so no hook: the line goes to stderr */
	assert_int_equal(vmm_machine_create(NULL, &m), -VMM_EINVAL);
	assert_null(m);
	assert_int_equal(vmm_machine_create(NULL, NULL), -VMM_EINVAL);

	vmm_config_init(&cfg);
	cfg.log_fn = test_log_hook;
	cfg.log_data = &tl;
	assert_int_equal(vmm_machine_create(&cfg, NULL), -VMM_EINVAL);
	assert_int_equal(tl.messages, 1);
	assert_int_equal(tl.last_kind, VMM_LOG_KIND_CALLER);
	assert_non_null(strstr(tl.last, "out"));

	/* argument checks come before validation */
	cfg.nodes = 0;
	assert_int_equal(vmm_machine_create(&cfg, NULL), -VMM_EINVAL);

	vmm_config_init(NULL);
	vmm_machine_destroy(NULL);
	m = NULL;
	vmm_machine_destroy(&m);
	assert_null(vmm_machine_config(NULL));
}

static void test_defaults(void **state)
{
	struct vmm_config cfg;

	(void)state;
	memset(&cfg, 0x5a, sizeof(cfg));
	vmm_config_init(&cfg);
	assert_int_equal(cfg.nodes, 2);
	assert_int_equal(cfg.cpus, 4);
	assert_int_equal(cfg.paging_levels, 4);
	for (unsigned i = 0; i < VMM_MAX_NUMNODES; i++)
		assert_int_equal(cfg.node_mem[i], 2 * GiB);
	for (unsigned c = 0; c < VMM_MAX_CPUS; c++)
		assert_int_equal(cfg.cpu_node[c], VMM_NODE_AUTO);
	for (unsigned i = 0; i < VMM_MAX_NUMNODES; i++)
		for (unsigned j = 0; j < VMM_MAX_NUMNODES; j++)
			assert_int_equal(cfg.distance[i][j], 0);
	assert_int_equal(cfg.nr_holes, 3);
	assert_int_equal(cfg.holes[0].start, 0);
	assert_int_equal(cfg.holes[0].end, HOLE_IVT_END);
	assert_int_equal(cfg.holes[1].start, HOLE_EBDA_START);
	assert_int_equal(cfg.holes[1].end, HOLE_EBDA_END);
	assert_int_equal(cfg.holes[2].start, HOLE_PCI_START);
	assert_int_equal(cfg.holes[2].end, HOLE_PCI_END);
	for (unsigned h = 3; h < VMM_MAX_HOLES; h++)
		assert_true(cfg.holes[h].start == 0 && cfg.holes[h].end == 0);
	assert_int_equal(cfg.movablecore, 0);
	assert_int_equal(cfg.kernel_image_size, 32 * MiB);
	assert_int_equal(cfg.min_free_kbytes, 0);
	assert_int_equal(cfg.watermark_scale_factor, 10);
	assert_int_equal(cfg.seed, 0);
	assert_int_equal(cfg.flags, 0);
	assert_int_equal(cfg.log_level, VMM_LOG_WARN);
	assert_int_equal(cfg.pad0, 0);
	assert_null(cfg.log_fn);
	assert_null(cfg.log_data);
	/* the TLB hierarchy modelled on Golden Cove (config.h) */
	assert_int_equal(cfg.dtlb[VMM_TLB_4K].entries, 64);
	assert_int_equal(cfg.dtlb[VMM_TLB_4K].ways, 4);
	assert_int_equal(cfg.itlb[VMM_TLB_1G].entries, 0);
	assert_int_equal(cfg.stlb.entries, 2048);
	assert_int_equal(cfg.stlb_1g.ways, 8);
	assert_int_equal(cfg.pwc[0].entries, 32);
	assert_int_equal(cfg.tlb_replacement, VMM_TLB_LRU);
	assert_int_equal(cfg.phys_addr_bits, 46);
	assert_null(cfg.mem_latency_fn);
	assert_null(cfg.mem_latency_data);
	for (unsigned i = 0; i < sizeof(cfg.reserved) / sizeof(cfg.reserved[0]); i++)
		assert_int_equal(cfg.reserved[i], 0);
}

/* The default machine boots; automatic CPU placement and distances are filled in. */
static void test_default_resolved(void **state)
{
	struct vmm_config cfg;
	const struct vmm_config *got;
	vmm_machine *m;

	(void)state;
	vmm_config_init(&cfg);
	m = expect_boots("default", &cfg);
	got = vmm_machine_config(m);
	assert_non_null(got);
	assert_int_equal(got->cpu_node[0], 0);
	assert_int_equal(got->cpu_node[1], 0);
	assert_int_equal(got->cpu_node[2], 1);
	assert_int_equal(got->cpu_node[3], 1);
	assert_int_equal(got->distance[0][0], VMM_LOCAL_DISTANCE);
	assert_int_equal(got->distance[1][1], VMM_LOCAL_DISTANCE);
	assert_int_equal(got->distance[0][1], VMM_REMOTE_DISTANCE);
	assert_int_equal(got->distance[1][0], VMM_REMOTE_DISTANCE);
	/* the caller's config is only read */
	assert_int_equal(cfg.cpu_node[0], VMM_NODE_AUTO);
	assert_int_equal(cfg.distance[0][0], 0);
	/* and copied: changing it afterwards changes nothing */
	cfg.nodes = 7;
	cfg.node_mem[0] = 0;
	assert_int_equal(got->nodes, 2);
	assert_int_equal(got->node_mem[0], 2 * GiB);
	assert_int_equal(vmm_machine_nr_nodes(m), 2);
	vmm_machine_destroy(&m);
	assert_null(m);
}

/* One node of 64 MiB keeps only the default holes that fit in it (the first two). */
static void test_one_small_node(void **state)
{
	struct vmm_config cfg;
	struct vmm_node_info ni;
	vmm_machine *m;

	(void)state;
	vmm_config_init(&cfg);
	cfg.nodes = 1;
	cfg.node_mem[0] = 64 * MiB;
	/* the PCI hole lies above 64 MiB */
	expect_rejected("PCI hole beyond 64 MiB", &cfg, VMM_ECFG_HOLE, "holes[2]");
	cfg.nr_holes = 2;
	m = expect_boots("1 node of 64 MiB", &cfg);
	assert_int_equal(vmm_machine_nr_nodes(m), 1);
	assert_int_equal(vmm_node_info(m, 0, &ni), 0);
	assert_int_equal(ni.node_present_pages,
			 (64 * MiB - HOLE_IVT_END - (HOLE_EBDA_END - HOLE_EBDA_START)) /
				 VMM_PAGE_SIZE);
	assert_int_equal(ni.nr_cpus, 4);
	assert_int_equal(vmm_node_info(m, 1, &ni), -VMM_ENOENT);
	for (unsigned c = 0; c < 4; c++)
		assert_int_equal(vmm_machine_config(m)->cpu_node[c], 0);
	vmm_machine_destroy(&m);
}

/*
 * 64 nodes of 2 MiB, no holes, no kernel image. Validation accepts it; boot
 * cannot place the memory map of the section all 64 nodes share (2 MiB,
 * 2 MiB aligned, above 16 MiB) because every node holds its own pg_data_t.
 * Whatever the outcome, it must be the same every time and leave a consistent
 * state: a healthy 64-node machine, or -VMM_ENOMEM with a NULL handle and a
 * logged reason.
 */
static void test_64_nodes_of_2mib(void **state)
{
	struct vmm_config cfg;
	struct test_log tl = { 0 };
	int first = 1;

	(void)state;
	vmm_config_init(&cfg);
	cfg.nodes = VMM_MAX_NUMNODES;
	for (unsigned i = 0; i < VMM_MAX_NUMNODES; i++)
		cfg.node_mem[i] = VMM_NODE_MEM_ALIGN;
	cfg.nr_holes = 0;
	cfg.kernel_image_size = 0;
	assert_int_equal(validate_only(&cfg, &tl), 0);
	assert_int_equal(tl.messages, 0);

	for (int round = 0; round < 2; round++) {
		vmm_machine *m = POISON_HANDLE;
		int err;

		memset(&tl, 0, sizeof(tl));
		cfg.log_fn = test_log_hook;
		cfg.log_data = &tl;
		err = vmm_machine_create(&cfg, &m);
		if (round == 0)
			first = err;
		assert_int_equal(err, first);
		if (err == 0) {
			assert_int_equal(vmm_machine_nr_nodes(m), VMM_MAX_NUMNODES);
			assert_machine_healthy(m);
			vmm_machine_destroy(&m);
			continue;
		}
		assert_int_equal(err, -VMM_ENOMEM);
		assert_null(m);
		assert_true(tl.messages >= 1);
	}

	/* with 4 MiB per node every node's map fits, and it boots */
	for (unsigned i = 0; i < VMM_MAX_NUMNODES; i++)
		cfg.node_mem[i] = 2 * VMM_NODE_MEM_ALIGN;
	expect_boots_and_destroy("64 nodes of 4 MiB", &cfg);
}

static void test_five_level_paging(void **state)
{
	struct vmm_config cfg;
	vmm_machine *m;

	(void)state;
	vmm_config_init(&cfg);
	cfg.paging_levels = 5;
	m = expect_boots("LA57", &cfg);
	assert_int_equal(vmm_machine_config(m)->paging_levels, 5);
	vmm_machine_destroy(&m);
}

/* An explicit table is kept as given; entries beyond the nodes x nodes corner are ignored. */
static void test_explicit_distance(void **state)
{
	static const uint8_t slit[4][4] = {
		{ 10, 16, 22, 30 },
		{ 16, 10, 30, 22 },
		{ 22, 30, 10, 16 },
		{ 30, 22, 16, 10 },
	};
	struct vmm_config cfg;
	const struct vmm_config *got;
	vmm_machine *m;

	(void)state;
	vmm_config_init(&cfg);
	cfg.nodes = 4;
	for (unsigned i = 0; i < 4; i++)
		cfg.node_mem[i] = GiB;
	for (unsigned i = 0; i < 4; i++)
		for (unsigned j = 0; j < 4; j++)
			cfg.distance[i][j] = slit[i][j];
	cfg.distance[5][6] = 1; /* outside the corner */
	m = expect_boots("explicit SLIT", &cfg);
	got = vmm_machine_config(m);
	for (unsigned i = 0; i < 4; i++)
		for (unsigned j = 0; j < 4; j++)
			assert_int_equal(got->distance[i][j], slit[i][j]);
	vmm_machine_destroy(&m);

	/* the largest distance and a minimal remote distance are fine too */
	set_distance(&cfg, 4, 255);
	expect_boots_and_destroy("remote 255", &cfg);
	set_distance(&cfg, 4, VMM_LOCAL_DISTANCE + 1);
	expect_boots_and_destroy("remote 11", &cfg);
}

/* Automatic placement puts CPU i on node i * nodes / cpus; explicit entries are kept. */
static void test_cpu_auto_placement(void **state)
{
	static const struct {
		unsigned nodes, cpus;
	} shapes[] = { { 2, 4 }, { 3, 7 }, { 4, 3 }, { 5, 5 }, { 1, 9 }, { 8, 256 } };
	struct vmm_config cfg;

	(void)state;
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		unsigned nodes = shapes[s].nodes, cpus = shapes[s].cpus;
		unsigned per_node[VMM_MAX_NUMNODES] = { 0 };
		const struct vmm_config *got;
		vmm_machine *m;

		vmm_config_init(&cfg);
		cfg.nodes = nodes;
		cfg.cpus = cpus;
		for (unsigned i = 0; i < nodes; i++)
			cfg.node_mem[i] = 64 * MiB;
		cfg.nr_holes = 2;
		m = expect_boots("auto placement", &cfg);
		got = vmm_machine_config(m);
		for (unsigned c = 0; c < cpus; c++) {
			unsigned want = (unsigned)((uint64_t)c * nodes / cpus);

			if (got->cpu_node[c] != want)
				fail_msg("%u nodes, %u cpus: cpu_node[%u] is %u, expected %u",
					 nodes, cpus, c, got->cpu_node[c], want);
			per_node[want]++;
		}
		for (unsigned n = 0; n < nodes; n++) {
			struct vmm_node_info ni;

			assert_int_equal(vmm_node_info(m, n, &ni), 0);
			assert_int_equal(ni.nr_cpus, per_node[n]);
		}
		vmm_machine_destroy(&m);
	}

	/* mixed: explicit entries stay, the automatic ones are still placed by index */
	vmm_config_init(&cfg);
	cfg.cpu_node[0] = 1;
	cfg.cpu_node[3] = 0;
	{
		vmm_machine *m = expect_boots("mixed placement", &cfg);
		const struct vmm_config *got = vmm_machine_config(m);

		assert_int_equal(got->cpu_node[0], 1);
		assert_int_equal(got->cpu_node[1], 0);
		assert_int_equal(got->cpu_node[2], 1);
		assert_int_equal(got->cpu_node[3], 0);
		vmm_machine_destroy(&m);
	}
}

/* The limits themselves are valid. */
static void test_accepted_limits(void **state)
{
	struct vmm_config cfg;
	struct test_log tl = { 0 };

	(void)state;
	/* a kernel image that ends exactly at the end of node 0, or none at all */
	vmm_config_init(&cfg);
	cfg.kernel_image_size = cfg.node_mem[0] - VMM_KERNEL_PHYS_START;
	expect_boots_and_destroy("kernel up to the end of node 0", &cfg);
	cfg.kernel_image_size = 0;
	expect_boots_and_destroy("no kernel image", &cfg);

	/* movablecore one page below all RAM; min_free_kbytes exactly all RAM */
	vmm_config_init(&cfg);
	cfg.movablecore = DEFAULT_RAM - VMM_PAGE_SIZE;
	expect_boots_and_destroy("movablecore max", &cfg);
	vmm_config_init(&cfg);
	cfg.min_free_kbytes = (uint32_t)(DEFAULT_RAM >> 10);
	expect_boots_and_destroy("min_free_kbytes max", &cfg);

	/* watermark_scale_factor 1 and 3000, every log level */
	vmm_config_init(&cfg);
	cfg.watermark_scale_factor = 1;
	expect_boots_and_destroy("wsf 1", &cfg);
	cfg.watermark_scale_factor = 3000;
	expect_boots_and_destroy("wsf 3000", &cfg);
	for (int level = VMM_LOG_ERROR; level <= VMM_LOG_DEBUG; level++) {
		vmm_config_init(&cfg);
		cfg.log_level = level;
		expect_boots_and_destroy("log level", &cfg);
	}

	/* 256 CPUs, each explicitly on the last node */
	vmm_config_init(&cfg);
	cfg.cpus = VMM_MAX_CPUS;
	memset(cfg.cpu_node, 1, sizeof(cfg.cpu_node));
	expect_boots_and_destroy("256 cpus", &cfg);

	/* 16 holes, and none */
	vmm_config_init(&cfg);
	cfg.nr_holes = VMM_MAX_HOLES;
	for (unsigned h = 3; h < VMM_MAX_HOLES; h++)
		set_hole(&cfg, h, GiB + h * 4 * MiB, GiB + h * 4 * MiB + VMM_PAGE_SIZE);
	expect_boots_and_destroy("16 holes", &cfg);
	cfg.nr_holes = 0;
	expect_boots_and_destroy("no holes", &cfg);

	/* holes adjacent to each other are not overlapping */
	vmm_config_init(&cfg);
	cfg.nr_holes = 4;
	set_hole(&cfg, 3, HOLE_IVT_END, 2 * HOLE_IVT_END);
	expect_boots_and_destroy("adjacent holes", &cfg);

	/* exactly 1 TiB: too big to boot here, so validation alone */
	vmm_config_init(&cfg);
	cfg.node_mem[1] = VMM_MAX_PHYS_MEM - cfg.node_mem[0];
	assert_int_equal(validate_only(&cfg, &tl), 0);
	cfg.nodes = VMM_MAX_NUMNODES;
	for (unsigned i = 0; i < VMM_MAX_NUMNODES; i++)
		cfg.node_mem[i] = VMM_MAX_PHYS_MEM / VMM_MAX_NUMNODES;
	assert_int_equal(validate_only(&cfg, &tl), 0);
	assert_int_equal(tl.messages, 0);
}

/* Capture vmm_config_print() of @cfg into a heap string. */
static char *print_to_string(const struct vmm_config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(vmm_config_print(cfg, f), 0);
	assert_int_equal(fclose(f), 0);
	assert_non_null(buf);
	return buf;
}

static void expect_contains(const char *text, const char *needle)
{
	if (!text || !strstr(text, needle))
		fail_msg("vmm_config_print output lacks \"%s\":\n%s", needle, text ? text : "");
}

static void test_print(void **state)
{
	static const char *const fields[] = {
		"nodes",
		"cpus",
		"paging_levels",
		"node_mem[0]",
		"node_mem[1]",
		"cpu_node[0]",
		"cpu_node[3]",
		"distance",
		"nr_holes",
		"holes[0]",
		"holes[1]",
		"holes[2]",
		"movablecore",
		"kernel_image_size",
		"min_free_kbytes",
		"watermark_scale_factor",
		"seed",
		"flags",
		"log_level",
		"itlb_4k                256 entries, 8-way",
		"itlb_2m                32 entries, fully associative",
		"itlb_1g                none",
		"dtlb_4k                64 entries, 4-way",
		"dtlb_1g                8 entries, fully associative",
		"stlb_4k_2m             2048 entries, 16-way",
		"stlb_1g                1024 entries, 8-way",
		"pwc_pde                32 entries, 4-way",
		"pwc_pml5e              2 entries, fully associative",
		"tlb_replacement        lru",
		"phys_addr_bits         46",
		"mem_latency_fn         cost table",
	};
	struct vmm_config cfg;
	char *text;

	(void)state;
	vmm_config_init(&cfg);
	text = print_to_string(&cfg);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		expect_contains(text, fields[i]);
	assert_null(strstr(text, "node_mem[2]"));
	assert_null(strstr(text, "holes[3]"));
	free(text);

	/* explicit values are printed as such */
	vmm_config_init(&cfg);
	set_distance(&cfg, 2, 21);
	cfg.cpu_node[2] = 0;
	cfg.min_free_kbytes = 12345;
	cfg.seed = 987654321;
	text = print_to_string(&cfg);
	expect_contains(text, "distance[0]");
	expect_contains(text, "distance[1]");
	expect_contains(text, "10 21");
	expect_contains(text, "12345");
	expect_contains(text, "987654321");
	free(text);

	/* the config need not be valid: out-of-range counts are clamped to the arrays */
	vmm_config_init(&cfg);
	cfg.nodes = 1000;
	cfg.cpus = 1000;
	cfg.nr_holes = 1000;
	set_distance(&cfg, VMM_MAX_NUMNODES, 21);
	text = print_to_string(&cfg);
	expect_contains(text, "node_mem[63]");
	expect_contains(text, "cpu_node[255]");
	expect_contains(text, "holes[15]");
	assert_null(strstr(text, "node_mem[64]"));
	assert_null(strstr(text, "cpu_node[256]"));
	assert_null(strstr(text, "holes[16]"));
	free(text);

	assert_int_equal(vmm_config_print(NULL, stdout), -VMM_EINVAL);
	assert_int_equal(vmm_config_print(&cfg, NULL), -VMM_EINVAL);
	assert_int_equal(vmm_config_print(NULL, NULL), -VMM_EINVAL);
}

/* A stream that cannot be written makes vmm_config_print() fail. */
static void test_print_write_error(void **state)
{
	struct vmm_config cfg;
	FILE *f = fopen("/dev/null", "r");

	(void)state;
	assert_non_null(f);
	vmm_config_init(&cfg);
	assert_true(vmm_config_print(&cfg, f) < 0);
	fclose(f);
}

int main(void)
{
#define BAD_TEST_ENTRY(name, code, field, ...) cmocka_unit_test(test_bad_##name),
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_null_arguments),
		/* clang-format off */
		BAD_CONFIGS(BAD_TEST_ENTRY)
		/* clang-format on */
		cmocka_unit_test(test_every_cfg_code_is_covered),
		cmocka_unit_test(test_bad_log_level_negative),
		cmocka_unit_test(test_bad_kernel_wraps),
		cmocka_unit_test(test_first_bad_field_only),
		cmocka_unit_test(test_default_resolved),
		cmocka_unit_test(test_one_small_node),
		cmocka_unit_test(test_64_nodes_of_2mib),
		cmocka_unit_test(test_five_level_paging),
		cmocka_unit_test(test_explicit_distance),
		cmocka_unit_test(test_cpu_auto_placement),
		cmocka_unit_test(test_accepted_limits),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_print_write_error),
	};
#undef BAD_TEST_ENTRY

	return cmocka_run_group_tests_name("sim-config", tests, NULL, NULL);
}
