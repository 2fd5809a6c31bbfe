/* SPDX-License-Identifier: MIT */
/*
 * vmmsim: boot a simulated machine, run a small workload on it and print its
 * state in Linux's /proc formats. With no arguments it boots the default
 * machine (two nodes of 2 GiB, four CPUs), prints its summary and runs the
 * built-in workload (workload.c), which prints meminfo, buddyinfo and
 * slabinfo before and after, the tasks' fault counts and the cycles.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/vmm.h>

#include "workload.h"

static const struct {
	const char *name;
	enum vmm_dump_kind kind;
} dump_names[] = {
	{ "summary", VMM_DUMP_SUMMARY },	 { "meminfo", VMM_DUMP_MEMINFO },
	{ "zoneinfo", VMM_DUMP_ZONEINFO },	 { "buddyinfo", VMM_DUMP_BUDDYINFO },
	{ "pagetypeinfo", VMM_DUMP_PAGETYPEINFO }, { "vmstat", VMM_DUMP_VMSTAT },
	{ "memblock", VMM_DUMP_MEMBLOCK },	 { "cycles", VMM_DUMP_CYCLES },
	{ "unusable_index", VMM_DUMP_UNUSABLE_INDEX }, { "extfrag_index", VMM_DUMP_EXTFRAG_INDEX },
	{ "slabinfo", VMM_DUMP_SLABINFO },	 { "vmallocinfo", VMM_DUMP_VMALLOCINFO },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vmmsim [options]\n"
		"Boot a simulated NUMA x86-64 machine (libvmm %s), run a small workload on\n"
		"it and print its state.\n"
		"\n"
		"Machine:\n"
		"  -n, --nodes N            NUMA nodes, 1..%d (default 2)\n"
		"  -m, --mem-per-node SIZE  physical address space per node, a multiple of 2M\n"
		"                           (suffixes K, M, G, T; default 2G)\n"
		"  -c, --cpus N             CPUs, 1..%d, spread evenly over the nodes (default 4)\n"
		"  -l, --paging-levels N    4 or 5 (default 4)\n"
		"  -s, --seed N             seed of the machine's PRNG (default 0)\n"
		"      --movablecore SIZE   memory for ZONE_MOVABLE (default 0)\n"
		"      --kernel-size SIZE   kernel image reserved at 16M (default 32M)\n"
		"      --no-holes           no e820 holes (default: [0,4K), [636K,1M), [3.5G,4G);\n"
		"                           holes past the end of memory are dropped)\n"
		"      --highmem LIMIT      end the direct map at physical address LIMIT (a\n"
		"                           multiple of 2M, at least 64M); RAM above it is\n"
		"                           ZONE_HIGHMEM, reached through kmap (default: no cap)\n"
		"      --lazy-vmalloc       top-level vmalloc tables made on demand and synced\n"
		"                           by vmalloc faults, not preallocated at boot\n"
		"\n"
		"Workload:\n"
		"      --no-workload        boot only: run nothing on the machine\n"
		"                           (default: a process maps 1 MiB of memory and a\n"
		"                           256 KiB file, touches them, forks, writes on both\n"
		"                           sides, msyncs the file and exits; each step is\n"
		"                           checked, and meminfo, buddyinfo and slabinfo are\n"
		"                           printed before and after, with the tasks' fault\n"
		"                           counts and the cycles by category)\n"
		"\n"
		"Output:\n"
		"      --show-config        print the machine's configuration and exit\n"
		"  -d, --dump LIST          comma-separated views to print (after the workload),\n"
		"                           of: summary, meminfo, zoneinfo, buddyinfo,\n"
		"                           pagetypeinfo, vmstat, memblock, cycles,\n"
		"                           unusable_index, extfrag_index, slabinfo, vmallocinfo\n"
		"                           (default: summary before the workload; with\n"
		"                           --no-workload, summary,meminfo,zoneinfo,buddyinfo)\n"
		"      --check              run vmm_machine_check() and report problems\n"
		"      --digest             print the machine's state digest\n"
		"  -h, --help               this text\n",
		vmm_version_string(), VMM_MAX_NUMNODES, VMM_MAX_CPUS);
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || end == s || *end || s[0] == '-' ? -1 : 0;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	uint64_t v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || s[0] == '-')
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: break;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = v << shift;
	return 0;
}

static int dump_list(vmm_machine *m, const char *list)
{
	char *copy = strdup(list), *save = NULL, *tok;
	int err = 0, first = 1;

	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(dump_names) / sizeof(dump_names[0]); i++)
			if (!strcmp(tok, dump_names[i].name))
				break;
		if (i == sizeof(dump_names) / sizeof(dump_names[0])) {
			fprintf(stderr, "vmmsim: unknown view '%s' (see --help)\n", tok);
			err = -1;
			break;
		}
		if (!first)
			putchar('\n');
		first = 0;
		printf("==> %s <==\n", tok);
		err = vmm_dump(m, dump_names[i].kind, stdout);
	}
	free(copy);
	return err;
}

/*
 * The default holes suit the default machine; on a smaller one, a hole past
 * the end of memory would be rejected, so drop it (or cut it at the end).
 */
static void fit_holes(struct vmm_config *cfg)
{
	uint64_t total = 0;
	uint32_t kept = 0;

	for (unsigned i = 0; i < cfg->nodes && i < VMM_MAX_NUMNODES; i++)
		total += cfg->node_mem[i];
	for (uint32_t h = 0; h < cfg->nr_holes && h < VMM_MAX_HOLES; h++) {
		struct vmm_phys_range r = cfg->holes[h];

		if (r.start >= total)
			continue;
		if (r.end > total)
			r.end = total;
		cfg->holes[kept++] = r;
	}
	cfg->nr_holes = kept;
}

enum {
	OPT_MOVABLECORE = 256,
	OPT_KERNEL_SIZE,
	OPT_NO_HOLES,
	OPT_HIGHMEM,
	OPT_LAZY_VMALLOC,
	OPT_NO_WORKLOAD,
	OPT_SHOW_CONFIG,
	OPT_CHECK,
	OPT_DIGEST,
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nodes", required_argument, NULL, 'n' },
		{ "mem-per-node", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "paging-levels", required_argument, NULL, 'l' },
		{ "seed", required_argument, NULL, 's' },
		{ "movablecore", required_argument, NULL, OPT_MOVABLECORE },
		{ "kernel-size", required_argument, NULL, OPT_KERNEL_SIZE },
		{ "no-holes", no_argument, NULL, OPT_NO_HOLES },
		{ "highmem", required_argument, NULL, OPT_HIGHMEM },
		{ "lazy-vmalloc", no_argument, NULL, OPT_LAZY_VMALLOC },
		{ "no-workload", no_argument, NULL, OPT_NO_WORKLOAD },
		{ "show-config", no_argument, NULL, OPT_SHOW_CONFIG },
		{ "dump", required_argument, NULL, 'd' },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "digest", no_argument, NULL, OPT_DIGEST },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dumps = NULL;
	int show_config = 0, check = 0, digest = 0, workload = 1, opt, err;
	struct vmm_config cfg;
	vmm_machine *m;
	uint64_t v;

	vmm_config_init(&cfg);
	while ((opt = getopt_long(argc, argv, "n:m:c:l:s:d:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (parse_u64(optarg, &v) || v > UINT32_MAX)
				goto bad_value;
			cfg.nodes = (uint32_t)v;
			break;
		case 'm':
			if (parse_size(optarg, &v))
				goto bad_value;
			for (unsigned i = 0; i < VMM_MAX_NUMNODES; i++)
				cfg.node_mem[i] = v;
			break;
		case 'c':
			if (parse_u64(optarg, &v) || v > UINT32_MAX)
				goto bad_value;
			cfg.cpus = (uint32_t)v;
			break;
		case 'l':
			if (parse_u64(optarg, &v) || v > UINT32_MAX)
				goto bad_value;
			cfg.paging_levels = (uint32_t)v;
			break;
		case 's':
			if (parse_u64(optarg, &v))
				goto bad_value;
			cfg.seed = v;
			break;
		case OPT_MOVABLECORE:
			if (parse_size(optarg, &cfg.movablecore))
				goto bad_value;
			break;
		case OPT_KERNEL_SIZE:
			if (parse_size(optarg, &cfg.kernel_image_size))
				goto bad_value;
			break;
		case OPT_NO_HOLES:
			cfg.nr_holes = 0;
			break;
		case OPT_HIGHMEM:
			if (parse_size(optarg, &cfg.direct_map_limit))
				goto bad_value;
			break;
		case OPT_LAZY_VMALLOC:
			cfg.flags |= VMM_CFG_VMALLOC_LAZY;
			break;
		case OPT_NO_WORKLOAD:
			workload = 0;
			break;
		case OPT_SHOW_CONFIG:
			show_config = 1;
			break;
		case 'd':
			dumps = optarg;
			break;
		case OPT_CHECK:
			check = 1;
			break;
		case OPT_DIGEST:
			digest = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		continue;
bad_value:
		fprintf(stderr, "vmmsim: bad value '%s' for %s\n", optarg, argv[optind - 1]);
		return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "vmmsim: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	fit_holes(&cfg);
	if (show_config)
		return vmm_config_print(&cfg, stdout) ? 1 : 0;

	err = vmm_machine_create(&cfg, &m);
	if (err) {
		fprintf(stderr, "vmmsim: cannot create the machine: %s\n", vmm_strerror(err));
		return 1;
	}
	if (workload) {
		err = dump_list(m, dumps ? "" : "summary");
		if (!err)
			err = vmmsim_workload(m, stdout);
		if (!err && dumps)
			err = dump_list(m, dumps);
	} else {
		err = dump_list(m, dumps ? dumps : "summary,meminfo,zoneinfo,buddyinfo");
	}
	if (!err && check) {
		long problems = vmm_machine_check(m, stdout);

		printf("check: %ld problem%s\n", problems, problems == 1 ? "" : "s");
		if (problems)
			err = 1;
	}
	if (!err && digest)
		printf("digest: %016" PRIx64 "\n", vmm_machine_digest(m));
	vmm_machine_destroy(&m);
	return err ? 1 : 0;
}
