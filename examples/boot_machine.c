/* SPDX-License-Identifier: MIT */
/*
 * boot_machine: describe a machine of your own, boot it, and look at how its
 * memory was divided.
 *
 * Four NUMA nodes of unequal size (1, 1, 2 and 1 GiB). Node 0 holds ZONE_DMA
 * (below 16 MiB) and part of ZONE_DMA32; the PCI hole at [3.5 GiB, 4 GiB)
 * falls inside node 2; node 3 lies above 4 GiB, so it is all ZONE_NORMAL.
 *
 * usage: boot_machine [SEED]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <vmm/vmm.h>

#define GiB (1ull << 30)

static void print_zones(const vmm_machine *m)
{
	printf("%-4s %-8s %10s %10s %10s %10s %10s\n", "node", "zone", "start_pfn", "spanned",
	       "present", "managed", "min_wmark");
	for (unsigned nid = 0; nid < vmm_machine_nr_nodes(m); nid++) {
		for (int zid = VMM_ZONE_DMA; zid < VMM_MAX_NR_ZONES; zid++) {
			struct vmm_zone_info zi;

			if (vmm_zone_info(m, nid, (enum vmm_zone_type)zid, &zi) ||
			    !zi.present_pages)
				continue;
			printf("%-4u %-8s %#10" PRIx64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
			       " %10" PRIu64 "\n",
			       nid, zi.name, zi.zone_start_pfn, zi.spanned_pages, zi.present_pages,
			       zi.managed_pages, zi.watermark_min);
		}
	}
}

int main(int argc, char **argv)
{
	static const uint64_t node_mem[] = { 1 * GiB, 1 * GiB, 2 * GiB, 1 * GiB };
	struct vmm_config cfg;
	vmm_machine *m;
	int err;

	vmm_config_init(&cfg);
	cfg.nodes = sizeof(node_mem) / sizeof(node_mem[0]);
	cfg.cpus = 8;
	for (unsigned i = 0; i < cfg.nodes; i++)
		cfg.node_mem[i] = node_mem[i];
	cfg.seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;

	err = vmm_machine_create(&cfg, &m);
	if (err) {
		fprintf(stderr, "boot_machine: %s\n", vmm_strerror(err));
		return 1;
	}

	printf("# /proc/buddyinfo\n");
	vmm_dump(m, VMM_DUMP_BUDDYINFO, stdout);
	printf("\n# zones (vmm_zone_info)\n");
	print_zones(m);

	long problems = vmm_machine_check(m, stderr);

	printf("\ncheck: %ld problems, digest %016" PRIx64 "\n", problems, vmm_machine_digest(m));
	vmm_machine_destroy(&m);
	return problems ? 1 : 0;
}
