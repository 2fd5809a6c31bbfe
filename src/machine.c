/* SPDX-License-Identifier: MIT */
/*
 * The machine's life: create (validate, lay out, boot), inspect, check,
 * digest, destroy.
 *
 * Boot follows x86-64 Linux's order: the e820 map registers RAM with
 * memblock; the first megabyte and the kernel image are reserved;
 * init_mem_mapping builds the direct map in frames taken from memblock; each
 * node's pg_data_t is allocated on the node; sparse_init reserves the memory
 * map; free_area_init sizes nodes and zones; memblock_free_all hands all
 * free memory to the buddy allocator; finally min_free_kbytes, the
 * watermarks, lowmem reserves and pagesets are computed from the managed
 * pages. Last, the direct map's table frames are accounted and loaded into
 * every CPU's CR3.
 */
#include "machine.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <vmm/errors.h>
#include <vmm/machine.h>

#include "lib/compiler.h"
#include "mm/buddy.h"
#include "mm/debug.h"
#include "mm/page_alloc.h"
#include "mm/task.h"
#include "mm/sparse.h"
#include "mm/vmstat.h"
#include "mm/zone.h"
#include "pagecache/pagecache.h"
#include "sim/config.h"

/* x86 Linux keeps the first megabyte away from the page allocator (BIOS, real-mode trampolines). */
#define X86_RESERVE_LOW (1ull << 20)

static int boot_register_memory(struct vmm_machine *m)
{
	int err;

	for (unsigned i = 0; i < m->phys.nr_e820; i++) {
		const struct vmm_e820_entry *e = &m->phys.e820[i];

		if (e->type != VMM_E820_RAM)
			continue;
		err = vmm_memblock_add_node(&m->memblock, e->start, e->end - e->start, e->nid);
		if (err)
			return err;
	}
	/*
	 * With high memory, boot allocations (pg_data_t, the memory map, the
	 * kernel's tables) must be reachable through the direct map: i386's
	 * memblock_set_current_limit(get_max_low_mapped()).
	 */
	if (m->cfg.direct_map_limit)
		m->memblock.current_limit = m->cfg.direct_map_limit;
	err = vmm_memblock_reserve(&m->memblock, 0, X86_RESERVE_LOW);
	if (!err && m->cfg.kernel_image_size)
		err = vmm_memblock_reserve(&m->memblock, VMM_KERNEL_PHYS_START,
					   m->cfg.kernel_image_size);
	return err;
}

/* alloc_node_data(): each node's pg_data_t, on the node when it fits. */
static int boot_alloc_node_data(struct vmm_machine *m, vmm_paddr_t *node_pa)
{
	int err;

	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		node_pa[nid] = vmm_memblock_alloc_try_nid(&m->memblock, VMM_PGDAT_SIZE,
							  VMM_SMP_CACHE_BYTES, nid, &err);
		if (!node_pa[nid]) {
			vmm_log(&m->log, VMM_LOG_ERROR, VMM_LOG_KIND_NOTE,
				"boot: no memory for node %u's pg_data_t", nid);
			return err;
		}
	}
	return 0;
}

static int machine_boot(struct vmm_machine *m, bool with_slab)
{
	vmm_paddr_t node_pa[VMM_MAX_NUMNODES];
	int err;

	vmm_timers_init(&m->timers, m->cfg.cpu_mhz, m->cfg.hz);
	if ((err = vmm_clock_init(&m->clock, m->nr_cpus, &m->hm)) ||
	    (err = vmm_physmem_init(&m->phys, &m->cfg, &m->hm)) || (err = vmm_cpus_init(m)) ||
	    (err = vmm_memblock_init(&m->memblock, &m->hm)) || (err = boot_register_memory(m)) ||
	    (err = vmm_init_mem_mapping(m)) || (err = boot_alloc_node_data(m, node_pa)) || (err = vmm_sparse_init(m)) ||
	    (err = vmm_free_area_init(m)))
		return err;
	for (unsigned nid = 0; nid < m->nr_nodes; nid++)
		NODE_DATA(m, nid)->node_data_phys = node_pa[nid];
	vmm_memblock_free_all(m);
	vmm_zones_init_after_boot(m);
	if ((err = vmm_init_mm_finish(m)) || (err = vmm_highmem_init(m)) || (err = vmm_pcp_init(m)) ||
	    (err = vmm_build_all_zonelists(m)))
		return err;
	{
		struct vmm_zone *z;

		for_each_zone(m, z)
			vmm_pcp_setup_zone(m, z);
	}
	if ((err = vmm_init_mm_late(m)))
		return err;
	if (with_slab && ((err = vmm_slab_init(m)) || (err = vmm_vmalloc_init(m)) ||
			  (err = vmm_tasks_init(m)) || (err = vmm_pagecache_init(m))))
		return err;
	if (with_slab)
		vmm_fault_init(m);
	m->booted = true;
	return 0;
}

static void machine_free(struct vmm_machine *m)
{
	struct vmm_hostmem hm;

	/* tasks first: their file mappings hold files and page-cache pages */
	vmm_tasks_destroy(m);
	vmm_pagecache_destroy(m);
	vmm_vmalloc_destroy(m);
	vmm_slab_destroy(m);
	vmm_highmem_destroy(m);
	vmm_free_zonelists(m);
	vmm_free_area_destroy(m);
	vmm_sparse_destroy(m);
	vmm_memblock_destroy(&m->memblock);
	vmm_cpus_destroy(m);
	vmm_physmem_destroy(&m->phys, &m->hm);
	vmm_clock_destroy(&m->clock, &m->hm);
	/* the context lives inside the machine: free the machine through a copy */
	hm = m->hm;
	vmm_hfree(&hm, m, sizeof(*m));
	if (hm.inject.final)
		*hm.inject.final = hm;
}

static int machine_create(const struct vmm_config *cfg, const struct vmm_hostmem_inject *inject,
			  bool with_slab, vmm_machine **out)
{
	struct vmm_hostmem hm;
	struct vmm_log log;
	struct vmm_machine *m;
	int err;

	if (out)
		*out = NULL;
	vmm_log_init(&log, cfg);
	if (!cfg || !out) {
		vmm_caller_err(&log, "vmm_machine_create: %s is NULL", cfg ? "out" : "cfg");
		return -VMM_EINVAL;
	}
	err = vmm_config_validate(cfg, &log);
	if (err)
		return err;

	vmm_hostmem_init(&hm, inject);
	m = vmm_hzalloc(&hm, sizeof(*m));
	if (!m) {
		if (hm.inject.final)
			*hm.inject.final = hm;
		vmm_log(&log, VMM_LOG_ERROR, VMM_LOG_KIND_NOTE,
			"vmm_machine_create: out of host memory");
		return -VMM_ENOMEM;
	}
	m->hm = hm;
	m->log = log;
	m->cfg = *cfg;
	vmm_config_resolve(&m->cfg);
	m->nr_nodes = m->cfg.nodes;
	m->nr_cpus = m->cfg.cpus;
	vmm_prng_seed(&m->prng, m->cfg.seed);
	m->sysctl.watermark_boost_factor = 15000;
	m->sysctl.dirty_ratio = 20;
	m->sysctl.dirty_background_ratio = 10;
	m->sysctl.dirty_expire_centisecs = 3000;
	m->sysctl.dirty_writeback_centisecs = 500;
	memcpy(m->sysctl.lowmem_reserve_ratio, vmm_lowmem_reserve_ratio,
	       sizeof(m->sysctl.lowmem_reserve_ratio));
	/* CONFIG_HIGHMEM or not: where __GFP_HIGHMEM leads */
	m->gfp_zone_table = m->cfg.direct_map_limit ? GFP_ZONE_TABLE_HIGHMEM
						    : GFP_ZONE_TABLE_NO_HIGHMEM;

	err = machine_boot(m, with_slab);
	if (err) {
		if (err == -VMM_ENOMEM)
			vmm_log(&m->log, VMM_LOG_ERROR, VMM_LOG_KIND_NOTE,
				"vmm_machine_create: out of %s memory during boot",
				m->hm.failures ? "host" : "simulated");
		machine_free(m);
		return err;
	}
	*out = m;
	return 0;
}

int vmm_machine_create_inject(const struct vmm_config *cfg,
			      const struct vmm_hostmem_inject *inject, vmm_machine **out)
{
	return machine_create(cfg, inject, true, out);
}

int vmm_machine_create_early(const struct vmm_config *cfg, vmm_machine **out)
{
	return machine_create(cfg, NULL, false, out);
}

int vmm_machine_create(const struct vmm_config *cfg, vmm_machine **out)
{
	return vmm_machine_create_inject(cfg, NULL, out);
}

void vmm_machine_destroy(vmm_machine **mp)
{
	if (!mp || !*mp)
		return;
	machine_free(*mp);
	*mp = NULL;
}

int vmm_cpu_cycles(const vmm_machine *m, unsigned cpu, enum vmm_cycle_category cat,
		   uint64_t *out)
{
	if (!m || !out || cpu >= m->nr_cpus || (unsigned)cat > VMM_CYC_NR_CATEGORIES)
		return -VMM_EINVAL;
	*out = cat == VMM_CYC_NR_CATEGORIES ? vmm_cpu_clock_cycles(&m->clock.cpu[cpu])
					    : vmm_clock_cat(&m->clock.cpu[cpu], cat);
	return 0;
}

const struct vmm_config *vmm_machine_config(const vmm_machine *m)
{
	return m ? &m->cfg : NULL;
}

int vmm_machine_trouble(const vmm_machine *m, struct vmm_trouble_counts *out)
{
	if (!m || !out)
		return -VMM_EINVAL;
	memset(out, 0, sizeof(*out));
	out->guest = m->log.counts[VMM_LOG_KIND_GUEST];
	out->caller = m->log.counts[VMM_LOG_KIND_CALLER];
	out->internal = m->log.counts[VMM_LOG_KIND_INTERNAL];
	out->bad_pages = m->pa_stats.bad_pages;
	out->quarantined_pages = m->pa_stats.quarantined_pages;
	out->slab_errors = m->slab.errors;
	return 0;
}

int vmm_machine_advance(vmm_machine *m, uint64_t cycles)
{
	if (!m)
		return -VMM_EINVAL;
	m->timers.floor = vmm_machine_now(m) + cycles;
	vmm_timers_run(m);
	return 0;
}

uint64_t vmm_machine_jiffies(const vmm_machine *m)
{
	return m ? vmm_jiffies(m) : 0;
}

uint64_t vmm_machine_random(vmm_machine *m)
{
	return m ? vmm_prng_next(&m->prng) : 0;
}

unsigned vmm_machine_nr_nodes(const vmm_machine *m)
{
	return m ? m->nr_nodes : 0;
}

int vmm_node_info(const vmm_machine *m, unsigned nid, struct vmm_node_info *out)
{
	const struct vmm_pgdat *pgdat;

	if (!m || !out)
		return -VMM_EINVAL;
	if (nid >= m->nr_nodes)
		return -VMM_ENOENT;
	pgdat = &m->node_data[nid];
	memset(out, 0, sizeof(*out));
	out->node_start_pfn = pgdat->node_start_pfn;
	out->node_spanned_pages = pgdat->node_spanned_pages;
	out->node_present_pages = pgdat->node_present_pages;
	for (int z = 0; z < VMM_MAX_NR_ZONES; z++)
		out->node_managed_pages += pgdat->node_zones[z].managed_pages;
	out->nr_cpus = pgdat->nr_cpus;
	return 0;
}

int vmm_zone_info(const vmm_machine *m, unsigned nid, enum vmm_zone_type zid,
		  struct vmm_zone_info *out)
{
	const struct vmm_zone *z;

	if (!m || !out)
		return -VMM_EINVAL;
	if (nid >= m->nr_nodes || (unsigned)zid >= VMM_MAX_NR_ZONES)
		return -VMM_ENOENT;
	z = &m->node_data[nid].node_zones[zid];
	memset(out, 0, sizeof(*out));
	out->name = z->name;
	out->zone_start_pfn = z->zone_start_pfn;
	out->spanned_pages = z->spanned_pages;
	out->present_pages = z->present_pages;
	out->managed_pages = z->managed_pages;
	out->free_pages = (uint64_t)z->vm_stat[NR_FREE_PAGES];
	out->watermark_min = z->watermark[WMARK_MIN];
	out->watermark_low = z->watermark[WMARK_LOW];
	out->watermark_high = z->watermark[WMARK_HIGH];
	out->watermark_promo = z->watermark[WMARK_PROMO];
	memcpy(out->lowmem_reserve, z->lowmem_reserve, sizeof(out->lowmem_reserve));
	return 0;
}

int vmm_machine_e820(const vmm_machine *m, unsigned idx, struct vmm_e820_entry *out)
{
	if (!m || !out)
		return -VMM_EINVAL;
	if (idx >= m->phys.nr_e820)
		return -VMM_ENOENT;
	*out = m->phys.e820[idx];
	return 0;
}

void *vmm_phys_to_host(vmm_machine *m, vmm_paddr_t pa)
{
	if (!m || !vmm_physmem_is_ram(&m->phys, pa))
		return NULL;
	return vmm_physmem_host(&m->phys, pa);
}

/*
 * Whether the @n descriptors from @page have no flags, type, count,
 * mapcount or compound bits: the other pages of a free block. One OR a
 * field and one test a block; the four 32-bit fields are read as two words.
 */
static bool blank_pages(const struct vmm_page *page, uint64_t n)
{
	uint64_t any = 0;

	_Static_assert(offsetof(struct vmm_page, page_type) ==
			      offsetof(struct vmm_page, compound) + 3 * sizeof(uint32_t),
		      "compound, refcount, mapcount and page_type are adjacent");
#pragma GCC unroll 4
	for (uint64_t i = 0; i < n; i++) {
		uint64_t w[2];

		memcpy(w, &page[i].compound, sizeof(w));
		any |= page[i].flags | w[0] | w[1];
	}
	return !any;
}

/*
 * Every descriptor must be accounted for: the head of a free block (whose
 * other descriptors are blank), the head of an allocated block (likewise),
 * reserved, or in use (a reference, or a tail of a compound page). A page
 * that is none of these has been lost.
 */
/* The reports of check_memmap_page(), out of its way. */
static VMM_COLD void report_in_free_block(struct vmm_machine *m, uint64_t pfn,
					  const struct vmm_page *page, uint64_t n, long *problems,
					  FILE *out)
{
	for (uint64_t i = 1; i < n; i++) {
		const struct vmm_page *t = page + i;
		char buf[384];

		if (!t->flags && !t->page_type && !t->refcount && !t->mapcount && !t->compound)
			continue;
		vmm_format_page(m, t, buf, sizeof(buf));
		fprintf(out, "inside the free block at pfn %#" PRIx64 ": %s\n", pfn, buf);
		(*problems)++;
	}
}

static VMM_COLD void report_lost(struct vmm_machine *m, struct vmm_zone *z,
				 const struct vmm_page *page, long *problems, FILE *out)
{
	char buf[384];

	vmm_format_page(m, page, buf, sizeof(buf));
	fprintf(out, "node %u zone %s: lost page (not free, reserved or used): %s\n",
		z->zone_pgdat->node_id, z->name, buf);
	(*problems)++;
}

/* Check the descriptor of @pfn (@page); returns how many descriptors it accounts for. */
static inline uint64_t check_memmap_page(struct vmm_machine *m, struct vmm_zone *z, uint64_t pfn,
					 const struct vmm_page *page, long *problems, FILE *out)
{
	if (PageBuddy(page)) {
		uint64_t n = 1ull << buddy_order(page);

		if (!blank_pages(page + 1, n - 1))
			report_in_free_block(m, pfn, page, n, problems, out);
		return n;
	}
	if (page->compound & VMM_PAGE_PCP) {
		/* a block on a per-CPU list (vmm_pcp_check looks at the lists) */
		return 1ull << page->private;
	}
	if ((page->refcount > 0 && !(page->compound & VMM_PAGE_TAIL)) ||
	    (page->compound & VMM_PAGE_QUARANTINE)) {
		/* an allocated or quarantined block: its other pages may be blank */
		return 1ull << (page->compound & VMM_PAGE_ALLOC_ORDER);
	}
	if (!page_flag(page, VMM_PG_reserved) && page->refcount <= 0 &&
	    !(page->compound & VMM_PAGE_TAIL))
		report_lost(m, z, page, problems, out);
	return 1;
}

/* Section by section: a present section's descriptors are one array. */
static long check_memmap_zone(struct vmm_machine *m, struct vmm_zone *z, FILE *out)
{
	uint64_t pfn = z->zone_start_pfn, end = zone_end_pfn(z);
	long problems = 0;

	while (pfn < end) {
		uint64_t stop = VMM_MIN(end, ALIGN_UP(pfn + 1, PAGES_PER_SECTION));
		const struct vmm_page *page;

		if (!vmm_sparse_pfn_valid(&m->sparse, pfn)) {
			pfn = stop;
			continue;
		}
		page = pfn_to_page(&m->sparse, pfn);
		while (pfn < stop) {
			uint64_t n = check_memmap_page(m, z, pfn, page, &problems, out);

			pfn += n;
			page += n;
		}
	}
	return problems;
}

static long machine_check(struct vmm_machine *m, FILE *out)
{
	long problems = vmm_memblock_check(&m->memblock, out) + vmm_zones_check(m, out) +
			vmm_buddy_check(m, out) + vmm_pcp_check(m, out) + vmm_cpus_check(m, out) +
			vmm_slab_check(m, out) + vmm_init_mm_check(m, out) +
			vmm_highmem_check(m, out) + vmm_vmalloc_check(m, out) + vmm_tasks_check(m, out) +
			vmm_pagecache_check(m, out) + vmm_fault_check(m, out);
	uint64_t managed = 0, freed = 0;
	struct vmm_zone *z;

	for_each_zone(m, z) {
		managed += z->managed_pages;
		freed += vmm_zone_free_list_pages(z);
		if (z->spanned_pages)
			problems += check_memmap_zone(m, z, out);
	}
	if (freed > managed) {
		fprintf(out, "more free pages (%" PRIu64 ") than managed (%" PRIu64 ")\n", freed,
			managed);
		problems++;
	}
	return problems;
}

/* With no stream, collect the report in memory and pass each line to the log hook. */
long vmm_machine_check(vmm_machine *m, FILE *out)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *mem;
	long problems;

	if (!m)
		return -VMM_EINVAL;
	if (out)
		return machine_check(m, out);
	mem = open_memstream(&buf, &len);
	if (!mem)
		return -VMM_ENOMEM;
	problems = machine_check(m, mem);
	fclose(mem);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		vmm_internal_err(&m->log, "check: %s", line);
	free(buf);
	return problems;
}

static void digest_free_lists(XXH3_state_t *st, const struct vmm_machine *m,
			      const struct vmm_zone *z)
{
	for (unsigned o = 0; o < NR_PAGE_ORDERS; o++) {
		for (int t = 0; t < MIGRATE_TYPES; t++) {
			const struct vmm_list *head = &z->free_area[o].free_list[t], *pos;

			for (pos = head->next; pos != head; pos = pos->next) {
				uint64_t pfn = page_to_pfn(
					&m->sparse, vmm_list_entry(pos, struct vmm_page, lru));

				XXH3_64bits_update(st, &pfn, sizeof(pfn));
			}
		}
	}
}

static void digest_list(XXH3_state_t *st, const struct vmm_machine *m,
			const struct vmm_list *head)
{
	for (const struct vmm_list *pos = head->next; pos != head; pos = pos->next) {
		uint64_t pfn = page_to_pfn(&m->sparse, vmm_list_entry(pos, struct vmm_page, lru));

		XXH3_64bits_update(st, &pfn, sizeof(pfn));
	}
}

/* Per-CPU lists: their figures and the pfns in list order (not the host pointers). */
static void digest_pcp(XXH3_state_t *st, const struct vmm_machine *m, const struct vmm_zone *z)
{
	for (unsigned c = 0; c < m->nr_cpus; c++) {
		const struct vmm_per_cpu_pages *pcp = &z->pcp[c];
		int64_t v[8] = { pcp->count,	pcp->high,	   pcp->high_min,  pcp->high_max,
				 pcp->batch,	pcp->flags,	   pcp->alloc_factor, pcp->free_count };

		XXH3_64bits_update(st, v, sizeof(v));
		for (int i = 0; i < NR_PCP_LISTS; i++)
			digest_list(st, m, &pcp->lists[i]);
		for (int h = 0; h < 2; h++) {
			int64_t w[4] = { pcp->hot_cold[h].count, pcp->hot_cold[h].low,
					 pcp->hot_cold[h].high, pcp->hot_cold[h].batch };

			XXH3_64bits_update(st, w, sizeof(w));
			digest_list(st, m, &pcp->hot_cold[h].list);
		}
	}
}

/* The descriptor without its host-pointer list links. */
static void digest_page(XXH3_state_t *st, const struct vmm_page *p)
{
	uint64_t v[7] = { p->flags,	       p->mapping,	      p->index,
			  p->private,	       (uint32_t)p->refcount, (uint32_t)p->mapcount,
			  ((uint64_t)p->page_type << 32) | p->compound };

	XXH3_64bits_update(st, v, sizeof(v));
}

/* The counters as read (vmstat.h): where the fast path counted an event must not show. */
static void digest_numa_events(XXH3_state_t *st, const struct vmm_zone *z)
{
	uint64_t v[NR_VM_NUMA_EVENT_ITEMS];

	for (int i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++)
		v[i] = vmm_zone_numa_event(z, i);
	XXH3_64bits_update(st, v, sizeof(v));
}

static void digest_vm_events(XXH3_state_t *st, const struct vmm_machine *m)
{
	uint64_t v[NR_VM_EVENT_ITEMS];

	for (int i = 0; i < NR_VM_EVENT_ITEMS; i++)
		v[i] = vmm_vm_event(m, i);
	XXH3_64bits_update(st, v, sizeof(v));
}

uint64_t vmm_machine_digest(const vmm_machine *m)
{
	XXH3_state_t st;
	struct vmm_config cfg;

	if (!m)
		return 0;
	XXH3_64bits_reset(&st);
	cfg = m->cfg;
	cfg.log_fn = NULL; /* host pointers are not simulated state */
	cfg.log_data = NULL;
	cfg.mem_latency_fn = NULL;
	cfg.mem_latency_data = NULL;
	XXH3_64bits_update(&st, &cfg, sizeof(cfg));
	XXH3_64bits_update(&st, m->phys.e820, m->phys.nr_e820 * sizeof(m->phys.e820[0]));
	XXH3_64bits_update(&st, m->memblock.memory.regions,
			   m->memblock.memory.cnt * sizeof(struct vmm_memblock_region));
	XXH3_64bits_update(&st, m->memblock.reserved.regions,
			   m->memblock.reserved.cnt * sizeof(struct vmm_memblock_region));
	XXH3_64bits_update(&st, &m->init_mm, sizeof(m->init_mm));
	XXH3_64bits_update(&st, m->sparse.pageblocks,
			   m->sparse.nr_pageblocks * sizeof(struct vmm_pageblock));
	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		const struct vmm_pgdat *pgdat = &m->node_data[nid];

		XXH3_64bits_update(&st, pgdat->vm_stat, sizeof(pgdat->vm_stat));
		for (int zid = 0; zid < VMM_MAX_NR_ZONES; zid++) {
			const struct vmm_zone *z = &pgdat->node_zones[zid];
			uint64_t geo[7] = { z->zone_start_pfn, z->spanned_pages, z->present_pages,
					    z->managed_pages, z->watermark_boost,
					    z->nr_reserved_highatomic, z->flags };

			XXH3_64bits_update(&st, geo, sizeof(geo));
			XXH3_64bits_update(&st, z->watermark, sizeof(z->watermark));
			XXH3_64bits_update(&st, z->lowmem_reserve, sizeof(z->lowmem_reserve));
			XXH3_64bits_update(&st, z->vm_stat, sizeof(z->vm_stat));
			digest_numa_events(&st, z);
			digest_pcp(&st, m, z);
			digest_free_lists(&st, m, z);
		}
	}
	for (uint64_t sec = 0; sec < m->sparse.nr_sections; sec++) {
		if (!m->sparse.sections[sec].present)
			continue;
		for (uint64_t pfn = sec * PAGES_PER_SECTION;
		     pfn < (sec + 1) * PAGES_PER_SECTION && pfn < m->sparse.max_pfn; pfn++)
			digest_page(&st, pfn_to_page(&m->sparse, pfn));
	}
	digest_vm_events(&st, m);
	XXH3_64bits_update(&st, &m->sysctl, sizeof(m->sysctl));
	XXH3_64bits_update(&st, &m->pa_stats, sizeof(m->pa_stats));
	{
		int64_t pol[7] = { m->mpol_mode,	 (int64_t)m->mpol_nodes, m->mpol_il_prev,
				   (int64_t)m->cpuset_mems, m->cpuset_flags, m->cpuset_spread_rotor,
				   m->current_cpu };

		XXH3_64bits_update(&st, pol, sizeof(pol));
	}
	for (unsigned c = 0; c < m->nr_cpus; c++) {
		/* the clock as read: which path charged page_free must not show */
		uint64_t clk[1 + VMM_CYC_NR_CATEGORIES] = { vmm_cpu_clock_cycles(&m->clock.cpu[c]) };

		for (unsigned k = 0; k < VMM_CYC_NR_CATEGORIES; k++)
			clk[1 + k] = vmm_clock_cat(&m->clock.cpu[c], (enum vmm_cycle_category)k);
		XXH3_64bits_update(&st, clk, sizeof(clk));
	}
	XXH3_64bits_update(&st, &m->prng, sizeof(m->prng));
	XXH3_64bits_update(&st, &m->timers.floor, sizeof(m->timers.floor));
	vmm_slab_digest(m, &st);
	vmm_highmem_digest(m, &st);
	vmm_tasks_digest(m, &st);
	vmm_vmalloc_digest(m, &st);
	vmm_pagecache_digest(m, &st);
	vmm_cpus_digest(m, &st);
	return XXH3_64bits_digest(&st);
}
