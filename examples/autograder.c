/* SPDX-License-Identifier: MIT */
/*
 * autograder: the checks a course grader might run against libvmm.
 *
 * 1. Determinism: two machines built from the same config and seed must
 *    reach the same state, so their digests are equal.
 * 2. Accounting: every zone's managed pages, with the invariants that hold
 *    at any time (free <= managed <= present <= spanned, and the zones add up
 *    to the node).
 * 3. Expected answers: each NODE.ZONE=PAGES argument is a value a student
 *    worked out by hand (e.g. "0.DMA=3840": x86-64 keeps the first MiB of
 *    the 16 MiB DMA zone from the page allocator) and is compared with the
 *    machine's managed_pages.
 *
 * usage: autograder [NODE.ZONE=PAGES ...]   (ZONE is DMA, DMA32, Normal or Movable)
 * Exit status 0 when every check passes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/vmm.h>

static unsigned passed, failed;

static void grade(int ok, const char *what)
{
	printf("%s: %s\n", ok ? "PASS" : "FAIL", what);
	if (ok)
		passed++;
	else
		failed++;
}

static vmm_machine *boot(const struct vmm_config *cfg)
{
	vmm_machine *m;
	int err = vmm_machine_create(cfg, &m);

	if (err) {
		fprintf(stderr, "autograder: vmm_machine_create: %s\n", vmm_strerror(err));
		exit(2);
	}
	return m;
}

static void check_determinism(const struct vmm_config *cfg)
{
	vmm_machine *a = boot(cfg), *b = boot(cfg);
	uint64_t da = vmm_machine_digest(a), db = vmm_machine_digest(b);
	char what[128];

	snprintf(what, sizeof(what),
		 "same config and seed give the same digest (%016" PRIx64 " vs %016" PRIx64 ")", da,
		 db);
	grade(da == db, what);
	grade(vmm_machine_check(a, stdout) == 0 && vmm_machine_check(b, stdout) == 0,
	      "vmm_machine_check finds no problem in either machine");
	vmm_machine_destroy(&a);
	vmm_machine_destroy(&b);
}

static void check_accounting(const vmm_machine *m)
{
	printf("%-4s %-8s %10s %10s\n", "node", "zone", "managed", "free");
	for (unsigned nid = 0; nid < vmm_machine_nr_nodes(m); nid++) {
		struct vmm_node_info ni;
		uint64_t sum = 0;
		int ok = 1;

		for (int zid = VMM_ZONE_DMA; zid < VMM_MAX_NR_ZONES; zid++) {
			struct vmm_zone_info zi;

			if (vmm_zone_info(m, nid, (enum vmm_zone_type)zid, &zi)) {
				ok = 0;
				continue;
			}
			printf("%-4u %-8s %10" PRIu64 " %10" PRIu64 "\n", nid, zi.name,
			       zi.managed_pages, zi.free_pages);
			ok &= zi.managed_pages <= zi.present_pages;
			ok &= zi.present_pages <= zi.spanned_pages;
			ok &= zi.free_pages <= zi.managed_pages;
			sum += zi.managed_pages;
		}
		ok &= vmm_node_info(m, nid, &ni) == 0 && ni.node_managed_pages == sum;

		char what[96];

		snprintf(what, sizeof(what), "node %u: zone counts are consistent", nid);
		grade(ok, what);
	}
}

static int zone_by_name(const vmm_machine *m, const char *name, enum vmm_zone_type *out)
{
	for (int zid = VMM_ZONE_DMA; zid < VMM_MAX_NR_ZONES; zid++) {
		struct vmm_zone_info zi;

		if (!vmm_zone_info(m, 0, (enum vmm_zone_type)zid, &zi) && !strcmp(zi.name, name)) {
			*out = (enum vmm_zone_type)zid;
			return 0;
		}
	}
	return -1;
}

/* "NODE.ZONE=PAGES": compare the student's number with the machine's. */
static void check_expected(const vmm_machine *m, const char *arg)
{
	char zone[16], what[160];
	unsigned nid;
	uint64_t expected;
	enum vmm_zone_type zid;
	struct vmm_zone_info zi;
	int n = -1;

	if (sscanf(arg, "%u.%15[A-Za-z0-9]=%" SCNu64 "%n", &nid, zone, &expected, &n) != 3 ||
	    arg[n] || zone_by_name(m, zone, &zid) || vmm_zone_info(m, nid, zid, &zi)) {
		snprintf(what, sizeof(what), "'%s' is a NODE.ZONE=PAGES of this machine", arg);
		grade(0, what);
		return;
	}
	snprintf(what, sizeof(what), "node %u %s manages %" PRIu64 " pages (expected %" PRIu64 ")",
		 nid, zi.name, zi.managed_pages, expected);
	grade(zi.managed_pages == expected, what);
}

int main(int argc, char **argv)
{
	struct vmm_config cfg;
	vmm_machine *m;

	vmm_config_init(&cfg); /* the default machine: 2 nodes of 2 GiB */
	cfg.seed = 42;

	check_determinism(&cfg);
	m = boot(&cfg);
	check_accounting(m);
	for (int i = 1; i < argc; i++)
		check_expected(m, argv[i]);
	vmm_machine_destroy(&m);

	printf("score: %u of %u checks passed\n", passed, passed + failed);
	return failed ? 1 : 0;
}
