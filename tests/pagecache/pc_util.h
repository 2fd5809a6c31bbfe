/* SPDX-License-Identifier: MIT */
/* What the page-cache tests share. */
#ifndef VMM_TEST_PC_UTIL_H
#define VMM_TEST_PC_UTIL_H

#include "test_util.h"

/*
 * A small machine (vmm_machine_check() walks every frame after each step):
 * @nodes nodes of @mib MiB, two CPUs, a 2 MiB kernel image, no PCI hole,
 * and @tl (may be NULL) as its log hook.
 */
static inline vmm_machine *pc_machine(unsigned nodes, uint64_t mib, struct test_log *tl)
{
	struct vmm_config cfg;
	vmm_machine *m;

	vmm_config_init(&cfg);
	cfg.nodes = nodes;
	cfg.cpus = 2;
	for (unsigned n = 0; n < nodes; n++)
		cfg.node_mem[n] = mib << 20;
	cfg.kernel_image_size = 2ull << 20;
	cfg.nr_holes = 2;
	if (tl) {
		cfg.log_fn = test_log_hook;
		cfg.log_data = tl;
	}
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	return m;
}

#endif /* VMM_TEST_PC_UTIL_H */
