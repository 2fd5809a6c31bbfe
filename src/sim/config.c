/* SPDX-License-Identifier: MIT */
#include "sim/config.h"

#include <inttypes.h>
#include <string.h>

#include <vmm/errors.h>

#include "lib/compiler.h"
#include "lib/log.h"

/* The ABI: fields are added by shrinking the reserved tail, never by growing the struct. */
_Static_assert(sizeof(struct vmm_config) == 5456, "struct vmm_config changed size");

/*
 * The default TLB hierarchy, modelled on an Intel Golden Cove core (Alder
 * Lake P-core, Sapphire Rapids) as its optimization manual describes it, with
 * the 1 GiB L1 ITLB left out (such code pages are served by the STLB) and the
 * paging-structure caches sized after published reverse engineering.
 */
static void config_init_tlb(struct vmm_config *cfg)
{
	cfg->itlb[VMM_TLB_4K] = (struct vmm_tlb_geometry){ 256, 8 };
	cfg->itlb[VMM_TLB_2M] = (struct vmm_tlb_geometry){ 32, 32 };
	cfg->itlb[VMM_TLB_1G] = (struct vmm_tlb_geometry){ 0, 0 };
	cfg->dtlb[VMM_TLB_4K] = (struct vmm_tlb_geometry){ 64, 4 };
	cfg->dtlb[VMM_TLB_2M] = (struct vmm_tlb_geometry){ 32, 4 };
	cfg->dtlb[VMM_TLB_1G] = (struct vmm_tlb_geometry){ 8, 8 };
	cfg->stlb = (struct vmm_tlb_geometry){ 2048, 16 };
	cfg->stlb_1g = (struct vmm_tlb_geometry){ 1024, 8 };
	cfg->pwc[0] = (struct vmm_tlb_geometry){ 32, 4 };
	cfg->pwc[1] = (struct vmm_tlb_geometry){ 4, 4 };
	cfg->pwc[2] = (struct vmm_tlb_geometry){ 2, 2 };
	cfg->pwc[3] = (struct vmm_tlb_geometry){ 2, 2 };
	cfg->tlb_replacement = VMM_TLB_LRU;
	cfg->phys_addr_bits = 46;
}

/* The default machine of ARCHITECTURE.md. */
void vmm_config_init(struct vmm_config *cfg)
{
	if (!cfg)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->nodes = 2;
	cfg->cpus = 4;
	cfg->paging_levels = 4;
	for (unsigned i = 0; i < VMM_MAX_NUMNODES; i++)
		cfg->node_mem[i] = 2ull << 30;
	memset(cfg->cpu_node, VMM_NODE_AUTO, sizeof(cfg->cpu_node));
	cfg->nr_holes = 3;
	cfg->holes[0] = (struct vmm_phys_range){ 0, 0x1000 };
	cfg->holes[1] = (struct vmm_phys_range){ 0x9f000, 0x100000 };
	cfg->holes[2] = (struct vmm_phys_range){ 0xe0000000ull, 0x100000000ull };
	cfg->kernel_image_size = 32ull << 20;
	cfg->min_free_kbytes = 0;
	cfg->watermark_scale_factor = 10;
	cfg->seed = 0;
	cfg->log_level = VMM_LOG_WARN;
	cfg->cpu_mhz = 3000;
	cfg->hz = 250;
	config_init_tlb(cfg);
}

static uint64_t config_total_span(const struct vmm_config *cfg)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < cfg->nodes; i++)
		total += cfg->node_mem[i];
	return total;
}

/* Bytes of [start, end) not covered by any hole. */
static uint64_t config_ram_in(const struct vmm_config *cfg, uint64_t start, uint64_t end)
{
	uint64_t ram = end - start;

	for (unsigned h = 0; h < cfg->nr_holes; h++) {
		uint64_t s = VMM_MAX(start, cfg->holes[h].start);
		uint64_t e = VMM_MIN(end, cfg->holes[h].end);

		if (s < e)
			ram -= e - s;
	}
	return ram;
}

#define BAD(code, ...)                                  \
	do {                                            \
		vmm_caller_err(log, "config: " __VA_ARGS__); \
		return -(code);                         \
	} while (0)

static int validate_scalars(const struct vmm_config *cfg, struct vmm_log *log)
{
	for (unsigned i = 0; i < ARRAY_SIZE(cfg->reserved); i++)
		if (cfg->reserved[i])
			BAD(VMM_ECFG_RESERVED, "reserved[%u] is %#" PRIx64 ", must be 0", i,
			    cfg->reserved[i]);
	if (cfg->pad0)
		BAD(VMM_ECFG_RESERVED, "pad0 is %u, must be 0", cfg->pad0);
	if (cfg->flags & ~VMM_CFG_ALL_FLAGS)
		BAD(VMM_ECFG_FLAGS, "flags has unknown bits %#" PRIx64,
		    (uint64_t)(cfg->flags & ~VMM_CFG_ALL_FLAGS));
	if (cfg->log_level < VMM_LOG_ERROR || cfg->log_level > VMM_LOG_DEBUG)
		BAD(VMM_ECFG_LOG_LEVEL, "log_level %d is not 0..3", cfg->log_level);
	if (cfg->paging_levels != 4 && cfg->paging_levels != 5)
		BAD(VMM_ECFG_PAGING_LEVELS, "paging_levels is %u, must be 4 or 5",
		    cfg->paging_levels);
	if (cfg->watermark_scale_factor < 1 || cfg->watermark_scale_factor > 3000)
		BAD(VMM_ECFG_MIN_FREE, "watermark_scale_factor %u is not 1..3000",
		    cfg->watermark_scale_factor);
	if (cfg->cpu_mhz < 1 || cfg->cpu_mhz > 100000)
		BAD(VMM_ECFG_TIME, "cpu_mhz %u is not 1..100000", cfg->cpu_mhz);
	if (cfg->hz != 100 && cfg->hz != 250 && cfg->hz != 300 && cfg->hz != 1000)
		BAD(VMM_ECFG_TIME, "hz %u is not 100, 250, 300 or 1000", cfg->hz);
	if (cfg->direct_map_limit &&
	    (!IS_ALIGNED(cfg->direct_map_limit, 2ull << 20) || cfg->direct_map_limit < (64ull << 20)))
		BAD(VMM_ECFG_HIGHMEM,
		    "direct_map_limit %#" PRIx64 " is not 0 or a multiple of 2 MiB of at least 64 MiB",
		    cfg->direct_map_limit);
	return 0;
}

static int validate_nodes(const struct vmm_config *cfg, struct vmm_log *log)
{
	uint64_t total = 0;

	if (cfg->nodes < 1 || cfg->nodes > VMM_MAX_NUMNODES)
		BAD(VMM_ECFG_NODES, "nodes is %u, must be 1..%u", cfg->nodes, VMM_MAX_NUMNODES);
	for (unsigned i = 0; i < cfg->nodes; i++) {
		if (!cfg->node_mem[i] || !IS_ALIGNED(cfg->node_mem[i], VMM_NODE_MEM_ALIGN))
			BAD(VMM_ECFG_NODE_MEM,
			    "node_mem[%u] is %#" PRIx64 ", must be a non-zero multiple of 2 MiB", i,
			    cfg->node_mem[i]);
		if (cfg->node_mem[i] > VMM_MAX_PHYS_MEM - total)
			BAD(VMM_ECFG_MEM_TOTAL, "node_mem: total memory exceeds %llu GiB",
			    (unsigned long long)(VMM_MAX_PHYS_MEM >> 30));
		total += cfg->node_mem[i];
	}
	return 0;
}

static int validate_cpus(const struct vmm_config *cfg, struct vmm_log *log)
{
	if (cfg->cpus < 1 || cfg->cpus > VMM_MAX_CPUS)
		BAD(VMM_ECFG_CPUS, "cpus is %u, must be 1..%u", cfg->cpus, VMM_MAX_CPUS);
	for (unsigned c = 0; c < cfg->cpus; c++)
		if (cfg->cpu_node[c] != VMM_NODE_AUTO && cfg->cpu_node[c] >= cfg->nodes)
			BAD(VMM_ECFG_CPU_NODE, "cpu_node[%u] is node %u, but there are %u nodes", c,
			    cfg->cpu_node[c], cfg->nodes);
	return 0;
}

static int validate_distance(const struct vmm_config *cfg, struct vmm_log *log)
{
	if (cfg->distance[0][0] == 0)
		return 0; /* automatic */
	for (unsigned i = 0; i < cfg->nodes; i++) {
		if (cfg->distance[i][i] != VMM_LOCAL_DISTANCE)
			BAD(VMM_ECFG_DISTANCE, "distance[%u][%u] is %u, must be %u", i, i,
			    cfg->distance[i][i], VMM_LOCAL_DISTANCE);
		for (unsigned j = 0; j < cfg->nodes; j++) {
			if (cfg->distance[i][j] != cfg->distance[j][i])
				BAD(VMM_ECFG_DISTANCE,
				    "distance[%u][%u] is %u but distance[%u][%u] is %u: not symmetric",
				    i, j, cfg->distance[i][j], j, i, cfg->distance[j][i]);
			if (i != j && cfg->distance[i][j] <= VMM_LOCAL_DISTANCE)
				BAD(VMM_ECFG_DISTANCE,
				    "distance[%u][%u] is %u, must be more than %u", i, j,
				    cfg->distance[i][j], VMM_LOCAL_DISTANCE);
		}
	}
	return 0;
}

static int validate_holes(const struct vmm_config *cfg, struct vmm_log *log)
{
	uint64_t total = config_total_span(cfg);

	if (cfg->nr_holes > VMM_MAX_HOLES)
		BAD(VMM_ECFG_NR_HOLES, "nr_holes is %u, at most %u", cfg->nr_holes, VMM_MAX_HOLES);
	for (unsigned h = 0; h < cfg->nr_holes; h++) {
		const struct vmm_phys_range *r = &cfg->holes[h];

		if (r->start >= r->end)
			BAD(VMM_ECFG_HOLE, "holes[%u] [%#" PRIx64 ", %#" PRIx64 ") is empty", h,
			    r->start, r->end);
		if (!IS_ALIGNED(r->start, VMM_PAGE_SIZE) || !IS_ALIGNED(r->end, VMM_PAGE_SIZE))
			BAD(VMM_ECFG_HOLE,
			    "holes[%u] [%#" PRIx64 ", %#" PRIx64 ") is not 4 KiB aligned", h,
			    r->start, r->end);
		if (r->end > total)
			BAD(VMM_ECFG_HOLE,
			    "holes[%u] [%#" PRIx64 ", %#" PRIx64 ") lies outside memory, which ends at %#" PRIx64,
			    h, r->start, r->end, total);
		for (unsigned o = 0; o < h; o++)
			if (r->start < cfg->holes[o].end && cfg->holes[o].start < r->end)
				BAD(VMM_ECFG_HOLE, "holes[%u] overlaps holes[%u]", h, o);
	}
	return 0;
}

static int validate_layout(const struct vmm_config *cfg, struct vmm_log *log)
{
	uint64_t start = 0, total_ram = 0;
	uint64_t kstart = VMM_KERNEL_PHYS_START, kend = kstart + cfg->kernel_image_size;

	for (unsigned i = 0; i < cfg->nodes; i++) {
		uint64_t ram = config_ram_in(cfg, start, start + cfg->node_mem[i]);

		if (!ram)
			BAD(VMM_ECFG_NODE_EMPTY, "node_mem[%u]: node %u lies entirely in holes", i,
			    i);
		total_ram += ram;
		start += cfg->node_mem[i];
	}
	if (cfg->kernel_image_size > cfg->node_mem[0])
		BAD(VMM_ECFG_KERNEL, "kernel_image_size %#" PRIx64 " is larger than node 0",
		    cfg->kernel_image_size);
	if (!IS_ALIGNED(cfg->kernel_image_size, VMM_PAGE_SIZE))
		BAD(VMM_ECFG_KERNEL, "kernel_image_size %#" PRIx64 " is not page aligned",
		    cfg->kernel_image_size);
	if (cfg->kernel_image_size &&
	    (kend > cfg->node_mem[0] || config_ram_in(cfg, kstart, kend) != kend - kstart))
		BAD(VMM_ECFG_KERNEL,
		    "kernel_image_size: [%#" PRIx64 ", %#" PRIx64 ") is not all RAM of node 0",
		    kstart, kend);
	if (!IS_ALIGNED(cfg->movablecore, VMM_PAGE_SIZE) || cfg->movablecore >= total_ram)
		BAD(VMM_ECFG_MOVABLECORE,
		    "movablecore %#" PRIx64 " must be page aligned and below the %#" PRIx64
		    " bytes of RAM",
		    cfg->movablecore, total_ram);
	if (cfg->min_free_kbytes > total_ram >> 10)
		BAD(VMM_ECFG_MIN_FREE, "min_free_kbytes %u exceeds the memory", cfg->min_free_kbytes);
	return 0;
}

static int validate_geometry(const char *name, const struct vmm_tlb_geometry *g, uint32_t policy,
			     struct vmm_log *log)
{
	if (!g->entries)
		return 0;
	if (g->ways < 1 || g->ways > 64 || g->entries % g->ways ||
	    (g->entries / g->ways) & (g->entries / g->ways - 1))
		BAD(VMM_ECFG_TLB, "%s: %u entries, %u ways: must be ways (1..64) x 2^n sets", name,
		    g->entries, g->ways);
	if (policy == VMM_TLB_PLRU && (g->ways & (g->ways - 1)))
		BAD(VMM_ECFG_TLB_POLICY, "tlb_replacement: tree-PLRU needs power-of-two ways, %s has %u",
		    name, g->ways);
	return 0;
}

static int validate_tlb(const struct vmm_config *cfg, struct vmm_log *log)
{
	static const char *const sz[3] = { "4k", "2m", "1g" };
	char name[32];
	int err;

	if (cfg->tlb_replacement > VMM_TLB_RANDOM)
		BAD(VMM_ECFG_TLB_POLICY, "tlb_replacement is %u, must be 0..2", cfg->tlb_replacement);
	for (unsigned i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "itlb[%s]", sz[i]);
		if ((err = validate_geometry(name, &cfg->itlb[i], cfg->tlb_replacement, log)))
			return err;
		snprintf(name, sizeof(name), "dtlb[%s]", sz[i]);
		if ((err = validate_geometry(name, &cfg->dtlb[i], cfg->tlb_replacement, log)))
			return err;
	}
	for (unsigned i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "pwc[%u]", i);
		if ((err = validate_geometry(name, &cfg->pwc[i], cfg->tlb_replacement, log)))
			return err;
	}
	if ((err = validate_geometry("stlb", &cfg->stlb, cfg->tlb_replacement, log)) ||
	    (err = validate_geometry("stlb_1g", &cfg->stlb_1g, cfg->tlb_replacement, log)))
		return err;
	if (cfg->phys_addr_bits < 36 || cfg->phys_addr_bits > 52 ||
	    (cfg->phys_addr_bits < 64 && config_total_span(cfg) > (1ull << cfg->phys_addr_bits)))
		BAD(VMM_ECFG_PHYS_BITS, "phys_addr_bits is %u: must be 36..52 and cover all memory",
		    cfg->phys_addr_bits);
	return 0;
}

#undef BAD

int vmm_config_validate(const struct vmm_config *cfg, struct vmm_log *log)
{
	int err;

	if ((err = validate_scalars(cfg, log)) || (err = validate_nodes(cfg, log)) ||
	    (err = validate_cpus(cfg, log)) || (err = validate_distance(cfg, log)) ||
	    (err = validate_holes(cfg, log)) || (err = validate_layout(cfg, log)) ||
	    (err = validate_tlb(cfg, log)))
		return err;
	return 0;
}

void vmm_config_resolve(struct vmm_config *cfg)
{
	for (unsigned c = 0; c < cfg->cpus; c++)
		if (cfg->cpu_node[c] == VMM_NODE_AUTO)
			cfg->cpu_node[c] = (uint8_t)((uint64_t)c * cfg->nodes / cfg->cpus);
	if (cfg->distance[0][0] == 0)
		for (unsigned i = 0; i < cfg->nodes; i++)
			for (unsigned j = 0; j < cfg->nodes; j++)
				cfg->distance[i][j] =
					i == j ? VMM_LOCAL_DISTANCE : VMM_REMOTE_DISTANCE;
}

static void print_geometry(FILE *out, const char *name, const struct vmm_tlb_geometry *g)
{
	if (!g->entries)
		fprintf(out, "%-22s none\n", name);
	else if (g->ways == g->entries)
		fprintf(out, "%-22s %u entries, fully associative\n", name, g->entries);
	else
		fprintf(out, "%-22s %u entries, %u-way\n", name, g->entries, g->ways);
}

static void config_print_tlb(const struct vmm_config *cfg, FILE *out)
{
	static const char *const policy[] = { "lru", "tree-plru", "random" };
	static const char *const sz[3] = { "4k", "2m", "1g" };
	static const char *const pwc[4] = { "pde", "pdpte", "pml4e", "pml5e" };
	char name[32];

	for (unsigned i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "itlb_%s", sz[i]);
		print_geometry(out, name, &cfg->itlb[i]);
	}
	for (unsigned i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "dtlb_%s", sz[i]);
		print_geometry(out, name, &cfg->dtlb[i]);
	}
	print_geometry(out, "stlb_4k_2m", &cfg->stlb);
	print_geometry(out, "stlb_1g", &cfg->stlb_1g);
	for (unsigned i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "pwc_%s", pwc[i]);
		print_geometry(out, name, &cfg->pwc[i]);
	}
	if (cfg->tlb_replacement <= VMM_TLB_RANDOM)
		fprintf(out, "tlb_replacement        %s\n", policy[cfg->tlb_replacement]);
	else
		fprintf(out, "tlb_replacement        %u (invalid)\n", cfg->tlb_replacement);
	fprintf(out, "phys_addr_bits         %u\n", cfg->phys_addr_bits);
	fprintf(out, "mem_latency_fn         %s\n", cfg->mem_latency_fn ? "set" : "cost table");
}

int vmm_config_print(const struct vmm_config *cfg, FILE *out)
{
	if (!cfg || !out)
		return -VMM_EINVAL;
	fprintf(out, "nodes                  %u\n", cfg->nodes);
	fprintf(out, "cpus                   %u\n", cfg->cpus);
	fprintf(out, "paging_levels          %u\n", cfg->paging_levels);
	for (unsigned i = 0; i < cfg->nodes && i < VMM_MAX_NUMNODES; i++)
		fprintf(out, "node_mem[%u]%*s %" PRIu64 " MiB\n", i, i < 10 ? 11 : 10, "",
			cfg->node_mem[i] >> 20);
	for (unsigned c = 0; c < cfg->cpus && c < VMM_MAX_CPUS; c++) {
		if (cfg->cpu_node[c] == VMM_NODE_AUTO)
			fprintf(out, "cpu_node[%u]%*s auto\n", c, c < 10 ? 11 : c < 100 ? 10 : 9, "");
		else
			fprintf(out, "cpu_node[%u]%*s %u\n", c, c < 10 ? 11 : c < 100 ? 10 : 9, "",
				cfg->cpu_node[c]);
	}
	if (cfg->distance[0][0] == 0) {
		fprintf(out, "distance               auto (%u local, %u remote)\n",
			VMM_LOCAL_DISTANCE, VMM_REMOTE_DISTANCE);
	} else {
		for (unsigned i = 0; i < cfg->nodes && i < VMM_MAX_NUMNODES; i++) {
			fprintf(out, "distance[%u]%*s", i, i < 10 ? 11 : 10, "");
			for (unsigned j = 0; j < cfg->nodes && j < VMM_MAX_NUMNODES; j++)
				fprintf(out, " %u", cfg->distance[i][j]);
			fputc('\n', out);
		}
	}
	fprintf(out, "nr_holes               %u\n", cfg->nr_holes);
	for (unsigned h = 0; h < cfg->nr_holes && h < VMM_MAX_HOLES; h++)
		fprintf(out, "holes[%u]%*s [%#" PRIx64 ", %#" PRIx64 ")\n", h, h < 10 ? 14 : 13, "",
			cfg->holes[h].start, cfg->holes[h].end);
	fprintf(out, "movablecore            %" PRIu64 " bytes\n", cfg->movablecore);
	fprintf(out, "kernel_image_size      %" PRIu64 " bytes at %#llx\n",
		cfg->kernel_image_size, VMM_KERNEL_PHYS_START);
	if (cfg->min_free_kbytes)
		fprintf(out, "min_free_kbytes        %u\n", cfg->min_free_kbytes);
	else
		fprintf(out, "min_free_kbytes        auto (sqrt(lowmem_kbytes * 16))\n");
	fprintf(out, "watermark_scale_factor %u\n", cfg->watermark_scale_factor);
	fprintf(out, "seed                   %" PRIu64 "\n", cfg->seed);
	fprintf(out, "flags                  %#" PRIx64 "\n", cfg->flags);
	fprintf(out, "log_level              %d\n", cfg->log_level);
	fprintf(out, "cpu_mhz                %u\n", cfg->cpu_mhz);
	fprintf(out, "hz                     %u\n", cfg->hz);
	if (cfg->direct_map_limit)
		fprintf(out, "direct_map_limit       %" PRIu64 " bytes (RAM above is ZONE_HIGHMEM)\n",
			cfg->direct_map_limit);
	else
		fprintf(out, "direct_map_limit       none (no ZONE_HIGHMEM)\n");
	config_print_tlb(cfg, out);
	return ferror(out) ? -VMM_EIO : 0;
}
