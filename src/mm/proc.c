/* SPDX-License-Identifier: MIT */
/*
 * vmm_dump(): the machine's state in Linux's /proc formats (Linux 6.18 is
 * the reference: its field order, labels and widths).
 */
#include <inttypes.h>
#include <string.h>

#include <vmm/errors.h>
#include <vmm/stats.h>

#include "lib/compiler.h"
#include "machine.h"
#include "mm/buddy.h"
#include "mm/init_mm.h"
#include "mm/vmstat.h"
#include "mm/zone.h"

#define K(pages) ((pages) << (VMM_PAGE_SHIFT - 10))

/*
 * VMALLOC_TOTAL = VMALLOC_END - VMALLOC_START, with Linux's VMALLOC_END the
 * area's last byte: 32 TiB - 1 with 4-level paging, 12800 TiB - 1 with 5.
 */
static uint64_t vmalloc_total_kb(const struct vmm_machine *m)
{
	const struct vmm_kernel_layout *l = &m->init_mm.layout;

	return (l->vmalloc_end - 1 - l->vmalloc_start) >> 10;
}

/* Linux's show_val_kb(): the label padded to 16, the value to 8. */
static void meminfo_kb(FILE *out, const char *label, uint64_t kb)
{
	fprintf(out, "%-16s%8" PRIu64 " kB\n", label, kb);
}

static void meminfo_count(FILE *out, const char *label, uint64_t n)
{
	fprintf(out, "%-16s%8" PRIu64 "\n", label, n);
}

/* CONFIG_HIGHMEM's lines: totalhigh_pages() and nr_free_highpages(), and the rest. */
static void meminfo_highmem(struct vmm_machine *m, FILE *out, uint64_t totalram,
			    uint64_t freeram)
{
	uint64_t totalhigh = 0, freehigh = 0;
	struct vmm_zone *z;

	for_each_zone(m, z) {
		if (!vmm_zone_is_highmem(m, z))
			continue;
		totalhigh += z->managed_pages;
		freehigh += (uint64_t)VMM_MAX(z->vm_stat[NR_FREE_PAGES], 0);
	}
	meminfo_kb(out, "HighTotal:", K(totalhigh));
	meminfo_kb(out, "HighFree:", K(freehigh));
	meminfo_kb(out, "LowTotal:", K(totalram - totalhigh));
	meminfo_kb(out, "LowFree:", K(freeram - VMM_MIN(freeram, freehigh)));
}

/* vm.overcommit_ratio 50: half of RAM plus all swap. */
#define OVERCOMMIT_RATIO 50

static void dump_meminfo(struct vmm_machine *m, FILE *out)
{
	uint64_t totalram = vmm_totalram_pages(m);
	uint64_t freeram = vmm_global_zone_page_state(m, NR_FREE_PAGES);
	uint64_t active_anon = vmm_global_node_page_state(m, NR_ACTIVE_ANON);
	uint64_t inactive_anon = vmm_global_node_page_state(m, NR_INACTIVE_ANON);
	uint64_t active_file = vmm_global_node_page_state(m, NR_ACTIVE_FILE);
	uint64_t inactive_file = vmm_global_node_page_state(m, NR_INACTIVE_FILE);
	uint64_t sreclaimable = vmm_global_node_page_state(m, NR_SLAB_RECLAIMABLE_B) >> VMM_PAGE_SHIFT;
	uint64_t sunreclaim = vmm_global_node_page_state(m, NR_SLAB_UNRECLAIMABLE_B) >> VMM_PAGE_SHIFT;
	uint64_t swapcache = vmm_global_node_page_state(m, NR_SWAPCACHE);
	uint64_t file_pages = vmm_global_node_page_state(m, NR_FILE_PAGES);
	uint64_t cached = file_pages > swapcache ? file_pages - swapcache : 0;
	uint64_t misc = vmm_global_node_page_state(m, NR_KERNEL_MISC_RECLAIMABLE);

	meminfo_kb(out, "MemTotal:", K(totalram));
	meminfo_kb(out, "MemFree:", K(freeram));
	meminfo_kb(out, "MemAvailable:", K(vmm_si_mem_available(m)));
	meminfo_kb(out, "Buffers:", 0);
	meminfo_kb(out, "Cached:", K(cached));
	meminfo_kb(out, "SwapCached:", K(swapcache));
	meminfo_kb(out, "Active:", K(active_anon + active_file));
	meminfo_kb(out, "Inactive:", K(inactive_anon + inactive_file));
	meminfo_kb(out, "Active(anon):", K(active_anon));
	meminfo_kb(out, "Inactive(anon):", K(inactive_anon));
	meminfo_kb(out, "Active(file):", K(active_file));
	meminfo_kb(out, "Inactive(file):", K(inactive_file));
	meminfo_kb(out, "Unevictable:", K(vmm_global_node_page_state(m, NR_UNEVICTABLE)));
	meminfo_kb(out, "Mlocked:", K(vmm_global_zone_page_state(m, NR_MLOCK)));
	if (vmm_zone_configured(m, VMM_ZONE_HIGHMEM))
		meminfo_highmem(m, out, totalram, freeram);
	meminfo_kb(out, "SwapTotal:", 0);
	meminfo_kb(out, "SwapFree:", 0);
	meminfo_kb(out, "Zswap:", 0);
	meminfo_kb(out, "Zswapped:", 0);
	meminfo_kb(out, "Dirty:", K(vmm_global_node_page_state(m, NR_FILE_DIRTY)));
	meminfo_kb(out, "Writeback:", K(vmm_global_node_page_state(m, NR_WRITEBACK)));
	meminfo_kb(out, "AnonPages:", K(vmm_global_node_page_state(m, NR_ANON_MAPPED)));
	meminfo_kb(out, "Mapped:", K(vmm_global_node_page_state(m, NR_FILE_MAPPED)));
	meminfo_kb(out, "Shmem:", K(vmm_global_node_page_state(m, NR_SHMEM)));
	meminfo_kb(out, "KReclaimable:", K(sreclaimable + misc));
	meminfo_kb(out, "Slab:", K(sreclaimable + sunreclaim));
	meminfo_kb(out, "SReclaimable:", K(sreclaimable));
	meminfo_kb(out, "SUnreclaim:", K(sunreclaim));
	meminfo_kb(out, "KernelStack:", vmm_global_node_page_state(m, NR_KERNEL_STACK_KB));
	meminfo_kb(out, "PageTables:", K(vmm_global_node_page_state(m, NR_PAGETABLE)));
	meminfo_kb(out, "SecPageTables:", K(vmm_global_node_page_state(m, NR_SECONDARY_PAGETABLE)));
	meminfo_kb(out, "NFS_Unstable:", 0);
	meminfo_kb(out, "Bounce:", 0);
	meminfo_kb(out, "WritebackTmp:", 0);
	meminfo_kb(out, "CommitLimit:", K(totalram * OVERCOMMIT_RATIO / 100));
	meminfo_kb(out, "Committed_AS:", 0);
	meminfo_kb(out, "VmallocTotal:", vmalloc_total_kb(m));
	meminfo_kb(out, "VmallocUsed:", K(m->vmalloc.nr_vmalloc_pages));
	meminfo_kb(out, "VmallocChunk:", 0);
	meminfo_kb(out, "Percpu:", 0);
	meminfo_kb(out, "AnonHugePages:", 0);
	meminfo_kb(out, "ShmemHugePages:", 0);
	meminfo_kb(out, "ShmemPmdMapped:", 0);
	meminfo_kb(out, "FileHugePages:", 0);
	meminfo_kb(out, "FilePmdMapped:", 0);
	meminfo_kb(out, "Balloon:", 0);
	meminfo_count(out, "HugePages_Total:", 0);
	meminfo_count(out, "HugePages_Free:", 0);
	meminfo_count(out, "HugePages_Rsvd:", 0);
	meminfo_count(out, "HugePages_Surp:", 0);
	meminfo_kb(out, "Hugepagesize:", 2048);
	meminfo_kb(out, "Hugetlb:", 0);
	meminfo_kb(out, "DirectMap4k:", vmm_direct_map_bytes(m, DIRECTMAP_4K) >> 10);
	meminfo_kb(out, "DirectMap2M:", vmm_direct_map_bytes(m, DIRECTMAP_2M) >> 10);
	meminfo_kb(out, "DirectMap1G:", vmm_direct_map_bytes(m, DIRECTMAP_1G) >> 10);
}

static bool zone_is_first_populated(const struct vmm_pgdat *pgdat, const struct vmm_zone *zone)
{
	for (int z = 0; z < VMM_MAX_NR_ZONES; z++) {
		if (zone_is_populated(&pgdat->node_zones[z]))
			return zone == &pgdat->node_zones[z];
	}
	return false;
}

static void zoneinfo_show_zone(struct vmm_machine *m, const struct vmm_pgdat *pgdat,
			       const struct vmm_zone *z, FILE *out)
{
	fprintf(out, "Node %u, zone %8s", pgdat->node_id, z->name);
	if (zone_is_first_populated(pgdat, z)) {
		fprintf(out, "\n  per-node stats");
		for (int i = 0; i < NR_VM_NODE_STAT_ITEMS; i++) {
			int64_t v = pgdat->vm_stat[i];

			if (i == NR_SLAB_RECLAIMABLE_B || i == NR_SLAB_UNRECLAIMABLE_B)
				v >>= VMM_PAGE_SHIFT;
			fprintf(out, "\n      %-12s %" PRIu64, vmm_node_stat_name(i),
				v < 0 ? 0 : (uint64_t)v);
		}
	}
	fprintf(out,
		"\n  pages free     %" PRIu64 "\n        boost    %" PRIu64
		"\n        min      %" PRIu64 "\n        low      %" PRIu64
		"\n        high     %" PRIu64 "\n        promo    %" PRIu64
		"\n        spanned  %" PRIu64 "\n        present  %" PRIu64
		"\n        managed  %" PRIu64 "\n        cma      %" PRIu64,
		(uint64_t)VMM_MAX(z->vm_stat[NR_FREE_PAGES], 0), z->watermark_boost,
		z->watermark[WMARK_MIN], z->watermark[WMARK_LOW], z->watermark[WMARK_HIGH],
		z->watermark[WMARK_PROMO], z->spanned_pages, z->present_pages, z->managed_pages,
		(uint64_t)0);
	fprintf(out, "\n        protection: (%" PRIu64, z->lowmem_reserve[0]);
	for (int i = 1; i < VMM_MAX_NR_ZONES; i++)
		if (vmm_zone_configured(m, i))
			fprintf(out, ", %" PRIu64, z->lowmem_reserve[i]);
	fputc(')', out);
	if (!zone_is_populated(z)) {
		fputc('\n', out);
		return;
	}
	for (int i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
		fprintf(out, "\n      %-12s %" PRId64, vmm_zone_stat_name(i), z->vm_stat[i]);
	for (int i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++)
		fprintf(out, "\n      %-12s %" PRIu64, vmm_numa_stat_name(i),
			vmm_zone_numa_event(z, i));
	fprintf(out, "\n  pagesets");
	for (unsigned c = 0; c < m->nr_cpus; c++) {
		const struct vmm_per_cpu_pages *pcp = &z->pcp[c];

		fprintf(out,
			"\n    cpu: %u\n              count:    %d\n              high:     %d"
			"\n              batch:    %d\n              high_min: %d"
			"\n              high_max: %d",
			c, pcp->count, pcp->high, pcp->batch, pcp->high_min, pcp->high_max);
		fprintf(out, "\n  vm stats threshold: %d", z->stat_threshold);
	}
	fprintf(out, "\n  node_unreclaimable:  %u\n  start_pfn:           %" PRIu64 "\n", 0u,
		z->zone_start_pfn);
}

static void dump_zoneinfo(struct vmm_machine *m, FILE *out)
{
	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		const struct vmm_pgdat *pgdat = NODE_DATA(m, nid);

		for (int z = 0; z < VMM_MAX_NR_ZONES; z++)
			if (vmm_zone_configured(m, z))
				zoneinfo_show_zone(m, pgdat, &pgdat->node_zones[z], out);
	}
}

static void dump_buddyinfo(struct vmm_machine *m, FILE *out)
{
	struct vmm_zone *z;

	for_each_zone(m, z) {
		if (!zone_is_populated(z))
			continue;
		fprintf(out, "Node %u, zone %8s ", z->zone_pgdat->node_id, z->name);
		for (int o = 0; o < NR_PAGE_ORDERS; o++)
			fprintf(out, "%6" PRIu64 " ", z->free_area[o].nr_free);
		fputc('\n', out);
	}
}

/*
 * debugfs extfrag/: how fragmented each populated zone's free memory is, per
 * order, as Linux's CONFIG_COMPACTION debug files report it. For an order,
 * count the zone's free pages, its free blocks, and how many blocks of that
 * order the free blocks at or above it could be split into ("suitable").
 * Pages on per-CPU lists are not on the free lists and do not count, as in
 * Linux.
 */
struct contig_page_info {
	uint64_t free_pages;
	uint64_t free_blocks_total;
	uint64_t free_blocks_suitable;
};

static void fill_contig_page_info(const struct vmm_zone *z, unsigned suitable_order,
				  struct contig_page_info *info)
{
	memset(info, 0, sizeof(*info));
	for (unsigned o = 0; o < NR_PAGE_ORDERS; o++) {
		uint64_t blocks = z->free_area[o].nr_free;

		info->free_blocks_total += blocks;
		info->free_pages += blocks << o;
		if (o >= suitable_order)
			info->free_blocks_suitable += blocks << (o - suitable_order);
	}
}

/*
 * Thousandths of the free memory that cannot serve an order-@order request:
 * the pages outside suitable blocks. No free memory at all counts as wholly
 * unusable (1000), as Linux decides.
 */
static int unusable_free_index(unsigned order, const struct contig_page_info *info)
{
	if (!info->free_pages)
		return 1000;
	return (int)((info->free_pages - (info->free_blocks_suitable << order)) * 1000 /
		     info->free_pages);
}

/*
 * Linux's __fragmentation_index(): -1000 when a suitable block exists (the
 * request would succeed); 0 with no free block at all; otherwise towards
 * 1000 the more a failure is due to fragmentation rather than to a lack of
 * memory. Integer steps as Linux's, so the figures agree to the digit (a
 * lone block smaller than half the request gives a negative value, which
 * Linux prints as it comes out, e.g. " 0.-500").
 */
static int fragmentation_index(unsigned order, const struct contig_page_info *info)
{
	uint64_t requested = 1ull << order;

	if (!info->free_blocks_total)
		return 0;
	if (info->free_blocks_suitable)
		return -1000;
	return 1000 - (int)((1000 + info->free_pages * 1000 / requested) / info->free_blocks_total);
}

/* extfrag/unusable_index ("%d.%03d ") and extfrag/extfrag_index ("%2d.%03d ") */
static void dump_frag_index(struct vmm_machine *m, bool extfrag, FILE *out)
{
	struct vmm_zone *z;

	for_each_zone(m, z) {
		if (!zone_is_populated(z))
			continue;
		fprintf(out, "Node %u, zone %8s ", z->zone_pgdat->node_id, z->name);
		for (unsigned o = 0; o < NR_PAGE_ORDERS; o++) {
			struct contig_page_info info;
			int idx;

			fill_contig_page_info(z, o, &info);
			idx = extfrag ? fragmentation_index(o, &info)
				      : unusable_free_index(o, &info);
			fprintf(out, extfrag ? "%2d.%03d " : "%d.%03d ", idx / 1000, idx % 1000);
		}
		fputc('\n', out);
	}
}

/* Counting stops at 100000 per list, shown with a '>' as Linux does. */
#define PAGETYPEINFO_FREECOUNT_MAX 100000

static void pagetypeinfo_node(struct vmm_machine *m, struct vmm_pgdat *pgdat, FILE *out)
{
	fprintf(out, "Page block order: %d\n", PAGEBLOCK_ORDER);
	fprintf(out, "Pages per block:  %llu\n", PAGEBLOCK_NR_PAGES);
	fputc('\n', out);
	fprintf(out, "%-43s ", "Free pages count per migrate type at order");
	for (int o = 0; o < NR_PAGE_ORDERS; o++)
		fprintf(out, "%6d ", o);
	fputc('\n', out);
	for (int zid = 0; zid < VMM_MAX_NR_ZONES; zid++) {
		struct vmm_zone *z = &pgdat->node_zones[zid];

		if (!zone_is_populated(z))
			continue;
		for (int mt = 0; mt < MIGRATE_TYPES; mt++) {
			fprintf(out, "Node %4u, zone %8s, type %12s ", pgdat->node_id, z->name,
				vmm_migratetype_name(mt));
			for (int o = 0; o < NR_PAGE_ORDERS; o++) {
				uint64_t n = z->free_area[o].nr_free_type[mt];
				bool overflow = n >= PAGETYPEINFO_FREECOUNT_MAX;

				fprintf(out, "%s%6" PRIu64 " ", overflow ? ">" : "",
					overflow ? (uint64_t)PAGETYPEINFO_FREECOUNT_MAX : n);
			}
			fputc('\n', out);
		}
	}
	fprintf(out, "\n%-23s", "Number of blocks type ");
	for (int mt = 0; mt < MIGRATE_TYPES; mt++)
		fprintf(out, "%12s ", vmm_migratetype_name(mt));
	fputc('\n', out);
	for (int zid = 0; zid < VMM_MAX_NR_ZONES; zid++) {
		struct vmm_zone *z = &pgdat->node_zones[zid];
		uint64_t count[MIGRATE_TYPES] = { 0 };

		if (!zone_is_populated(z))
			continue;
		for (uint64_t pfn = z->zone_start_pfn; pfn < zone_end_pfn(z);
		     pfn += PAGEBLOCK_NR_PAGES) {
			if (!vmm_sparse_pfn_valid(&m->sparse, pfn) || vmm_pfn_zone(m, pfn) != z)
				continue;
			count[vmm_get_pfnblock_migratetype(m, pfn)]++;
		}
		fprintf(out, "Node %u, zone %8s ", pgdat->node_id, z->name);
		for (int mt = 0; mt < MIGRATE_TYPES; mt++)
			fprintf(out, "%12" PRIu64 " ", count[mt]);
		fputc('\n', out);
	}
}

static void dump_pagetypeinfo(struct vmm_machine *m, FILE *out)
{
	for (unsigned nid = 0; nid < m->nr_nodes; nid++)
		if (NODE_DATA(m, nid)->node_present_pages)
			pagetypeinfo_node(m, NODE_DATA(m, nid), out);
}

/* The per-zone events of ZONE_HIGHMEM, which Linux lists only with CONFIG_HIGHMEM. */
static bool vm_event_is_highmem(int item)
{
	return item == VE_PGALLOC_HIGH || item == VE_ALLOCSTALL_HIGH || item == VE_PGSKIP_HIGH;
}

static void dump_vmstat(struct vmm_machine *m, FILE *out)
{
	uint64_t bg, thresh;

	for (int i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
		fprintf(out, "%s %" PRIu64 "\n", vmm_zone_stat_name(i),
			vmm_global_zone_page_state(m, i));
	for (int i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++) {
		uint64_t sum = 0;
		struct vmm_zone *z;

		for_each_zone(m, z)
			sum += vmm_zone_numa_event(z, i);
		fprintf(out, "%s %" PRIu64 "\n", vmm_numa_stat_name(i), sum);
	}
	for (int i = 0; i < NR_VM_NODE_STAT_ITEMS; i++) {
		uint64_t v = vmm_global_node_page_state(m, i);

		if (i == NR_SLAB_RECLAIMABLE_B || i == NR_SLAB_UNRECLAIMABLE_B)
			v >>= VMM_PAGE_SHIFT;
		fprintf(out, "%s %" PRIu64 "\n", vmm_node_stat_name(i), v);
	}
	vmm_global_dirty_limits(m, &bg, &thresh);
	fprintf(out, "nr_dirty_threshold %" PRIu64 "\n", thresh);
	fprintf(out, "nr_dirty_background_threshold %" PRIu64 "\n", bg);
	fprintf(out, "nr_memmap_pages %u\n", 0u);
	fprintf(out, "nr_memmap_boot_pages %" PRIu64 "\n", m->memmap_boot_pages);
	for (int i = 0; i < NR_VM_EVENT_ITEMS; i++)
		if (vmm_zone_configured(m, VMM_ZONE_HIGHMEM) || !vm_event_is_highmem(i))
			fprintf(out, "%s %" PRIu64 "\n", vmm_vm_event_name(i), vmm_vm_event(m, i));
}

/* A boot log in the spirit of Linux's dmesg: the e820 map, NUMA, zones, memory. */
static void dump_summary(struct vmm_machine *m, FILE *out)
{
	uint64_t total_ram = 0;

	fprintf(out, "libvmm machine: %u node%s, %u CPU%s, %u-level paging, seed %" PRIu64 "\n",
		m->nr_nodes, m->nr_nodes == 1 ? "" : "s", m->nr_cpus, m->nr_cpus == 1 ? "" : "s",
		m->cfg.paging_levels, m->cfg.seed);
	for (unsigned i = 0; i < m->phys.nr_e820; i++) {
		const struct vmm_e820_entry *e = &m->phys.e820[i];

		fprintf(out, "BIOS-e820: [mem 0x%016" PRIx64 "-0x%016" PRIx64 "] %s\n", e->start,
			e->end - 1, e->type == VMM_E820_RAM ? "usable" : "reserved");
		if (e->type == VMM_E820_RAM)
			total_ram += e->end - e->start;
	}
	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		fprintf(out, "NUMA: node %u [mem 0x%016" PRIx64 "-0x%016" PRIx64 "] cpus", nid,
			m->phys.node_start[nid], m->phys.node_end[nid] - 1);
		for (unsigned c = 0; c < m->nr_cpus; c++)
			if (m->cfg.cpu_node[c] == nid)
				fprintf(out, " %u", c);
		fputc('\n', out);
	}
	fprintf(out, "node distances:\nnode ");
	for (unsigned j = 0; j < m->nr_nodes; j++)
		fprintf(out, "%3u ", j);
	fputc('\n', out);
	for (unsigned i = 0; i < m->nr_nodes; i++) {
		fprintf(out, "%3u: ", i);
		for (unsigned j = 0; j < m->nr_nodes; j++)
			fprintf(out, "%3u ", m->cfg.distance[i][j]);
		fputc('\n', out);
	}
	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		const struct vmm_pgdat *pgdat = NODE_DATA(m, nid);

		fprintf(out, "Node %u: start_pfn %#" PRIx64 " spanned %" PRIu64 " present %" PRIu64
			     " pg_data_t at %#" PRIx64 "\n",
			nid, pgdat->node_start_pfn, pgdat->node_spanned_pages,
			pgdat->node_present_pages, pgdat->node_data_phys);
		for (int zid = 0; zid < VMM_MAX_NR_ZONES; zid++) {
			const struct vmm_zone *z = &pgdat->node_zones[zid];

			if (!vmm_zone_configured(m, zid))
				continue;
			if (!z->spanned_pages) {
				fprintf(out, "  %-8s empty\n", z->name);
				continue;
			}
			fprintf(out,
				"  %-8s [mem 0x%016" PRIx64 "-0x%016" PRIx64 "] spanned %" PRIu64
				" present %" PRIu64 " managed %" PRIu64 "\n",
				z->name, z->zone_start_pfn << VMM_PAGE_SHIFT,
				(zone_end_pfn(z) << VMM_PAGE_SHIFT) - 1, z->spanned_pages,
				z->present_pages, z->managed_pages);
		}
	}
	fprintf(out,
		"Memory: %" PRIu64 "K/%" PRIu64 "K available (%" PRIu64 "K kernel image, %" PRIu64
		"K memory map, %" PRIu64 "K reserved)\n",
		K(vmm_totalram_pages(m)), total_ram >> 10, m->cfg.kernel_image_size >> 10,
		K(m->memmap_boot_pages), (total_ram >> 10) - K(vmm_totalram_pages(m)));
	fprintf(out, "min_free_kbytes %" PRIu64 ", host allocator %s\n", m->min_free_kbytes,
		vmm_hostmem_backend());
}

int vmm_dump(vmm_machine *m, enum vmm_dump_kind kind, FILE *out)
{
	if (!m || !out) {
		if (m)
			vmm_caller_err(&m->log, "vmm_dump: out is NULL");
		return -VMM_EINVAL;
	}
	switch (kind) {
	case VMM_DUMP_SUMMARY:
		dump_summary(m, out);
		break;
	case VMM_DUMP_MEMINFO:
		dump_meminfo(m, out);
		break;
	case VMM_DUMP_ZONEINFO:
		dump_zoneinfo(m, out);
		break;
	case VMM_DUMP_BUDDYINFO:
		dump_buddyinfo(m, out);
		break;
	case VMM_DUMP_PAGETYPEINFO:
		dump_pagetypeinfo(m, out);
		break;
	case VMM_DUMP_VMSTAT:
		dump_vmstat(m, out);
		break;
	case VMM_DUMP_MEMBLOCK:
		vmm_memblock_dump(&m->memblock, out);
		break;
	case VMM_DUMP_CYCLES:
		vmm_clock_dump(&m->clock, out);
		break;
	case VMM_DUMP_UNUSABLE_INDEX:
		dump_frag_index(m, false, out);
		break;
	case VMM_DUMP_EXTFRAG_INDEX:
		dump_frag_index(m, true, out);
		break;
	case VMM_DUMP_SLABINFO:
		vmm_slab_dump_slabinfo(m, out);
		break;
	case VMM_DUMP_VMALLOCINFO:
		vmm_vmalloc_dump_info(m, out);
		break;
	default:
		vmm_caller_err(&m->log, "vmm_dump: unknown kind %d", (int)kind);
		return -VMM_EINVAL;
	}
	return ferror(out) ? -VMM_EIO : 0;
}
