/* SPDX-License-Identifier: MIT */
/* The /proc views, byte for byte where the figures are known, by shape elsewhere. */
#include "test_util.h"

#include <regex.h>
#include <stdbool.h>
#include <string.h>

#include "machine.h"

/* Linux 6.18's meminfo order, as the reference host prints it. */
static const char *const meminfo_fields[] = {
	"MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached", "Active",
	"Inactive", "Active(anon)", "Inactive(anon)", "Active(file)", "Inactive(file)",
	"Unevictable", "Mlocked", "SwapTotal", "SwapFree", "Zswap", "Zswapped", "Dirty",
	"Writeback", "AnonPages", "Mapped", "Shmem", "KReclaimable", "Slab", "SReclaimable",
	"SUnreclaim", "KernelStack", "PageTables", "SecPageTables", "NFS_Unstable", "Bounce",
	"WritebackTmp", "CommitLimit", "Committed_AS", "VmallocTotal", "VmallocUsed",
	"VmallocChunk", "Percpu", "AnonHugePages", "ShmemHugePages", "ShmemPmdMapped",
	"FileHugePages", "FilePmdMapped", "Balloon", "HugePages_Total", "HugePages_Free",
	"HugePages_Rsvd", "HugePages_Surp", "Hugepagesize", "Hugetlb", "DirectMap4k",
	"DirectMap2M", "DirectMap1G",
};

static void test_meminfo(void **state)
{
	vmm_machine *m = default_machine();
	char *s = dump_to_string(m, VMM_DUMP_MEMINFO), *line, *save = NULL;
	size_t i = 0;
	regex_t re;

	(void)state;
	/* label, padding to column 16, a value right-aligned in 8 (wider widens), " kB" */
	assert_int_equal(regcomp(&re, "^[A-Za-z0-9_()]+: +[0-9]+( kB)?$", REG_EXTENDED), 0);
	for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++) {
		size_t name_len = strlen(meminfo_fields[i]);

		assert_true(i < sizeof(meminfo_fields) / sizeof(meminfo_fields[0]));
		assert_int_equal(regexec(&re, line, 0, NULL, 0), 0);
		assert_memory_equal(line, meminfo_fields[i], name_len);
		assert_int_equal(line[name_len], ':');
		if (strlen(line) <= 16 + 8 + 3)
			assert_true(strlen(line) == 16 + 8 + 3 || strlen(line) == 16 + 8);
	}
	assert_int_equal(i, sizeof(meminfo_fields) / sizeof(meminfo_fields[0]));
	regfree(&re);
	free(s);

	/* MemFree leaves out the per-CPU lists, which hold what the boot's refills left */
	vmm_drain_all_pages(m);
	s = dump_to_string(m, VMM_DUMP_MEMINFO);
	/* 3840 + 503764 + 387020 managed pages (node 1 gave 8 to init_mm's boot tables), all free
	 * but the slab caches' and the vmalloc area's 64 tables */
	{
		char *info = dump_to_string(m, VMM_DUMP_SLABINFO), *l, *sv = NULL;
		unsigned long slab_kb = 0;
		char want[128];

		for (l = strtok_r(info, "\n", &sv); l; l = strtok_r(NULL, "\n", &sv)) {
			char name[32];
			unsigned long a, n, sz, per, pages, as, ns, sh, lim, bat, shf;

			if (sscanf(l, "%31s %lu %lu %lu %lu %lu : tunables %lu %lu %lu : slabdata "
				      "%lu %lu %lu", name, &a, &n, &sz, &per, &pages, &lim, &bat,
				   &shf, &as, &ns, &sh) == 12)
				slab_kb += ns * pages * 4;
		}
		free(info);
		assert_true(slab_kb > 0);
		snprintf(want, sizeof(want), "MemTotal:        3578496 kB\nMemFree:        %8lu kB\n",
			 3578496 - slab_kb - 64 * 4);
		assert_non_null(strstr(s, want));
		snprintf(want, sizeof(want), "\nSlab:           %8lu kB\n", slab_kb);
		assert_non_null(strstr(s, want));
		snprintf(want, sizeof(want), "\nSUnreclaim:     %8lu kB\n", slab_kb);
		assert_non_null(strstr(s, want));
	}
	assert_non_null(strstr(s, "VmallocTotal:   34359738367 kB\n"));
	assert_non_null(strstr(s, "HugePages_Total:       0\n"));
	assert_non_null(strstr(s, "Hugepagesize:       2048 kB\n"));
	/* CommitLimit: half of RAM with no swap */
	assert_non_null(strstr(s, "CommitLimit:     1789248 kB\n"));
	/* the direct map's 5 tables, the fixmap's 3, the vmalloc area's 64; RAM [4K,636K) +
	 * [1M,2M) in 4 KiB pages, [2M,1G) and [3G,3.5G) in 2 MiB pages, [1G,3G) in 1 GiB pages */
	assert_non_null(strstr(s, "\nPageTables:          288 kB\n"));
	assert_non_null(strstr(s, "\nDirectMap4k:        1656 kB\nDirectMap2M:     1570816 kB\n"
				  "DirectMap1G:     2097152 kB\n"));
	free(s);
	vmm_machine_destroy(&m);
}

static void test_zoneinfo(void **state)
{
	vmm_machine *m = default_machine();
	char *s = dump_to_string(m, VMM_DUMP_ZONEINFO);

	(void)state;
	/* the node's first populated zone carries the per-node stats */
	assert_non_null(strstr(s, "Node 0, zone      DMA\n  per-node stats\n      nr_inactive_anon 0\n"));
	assert_non_null(strstr(s, "Node 1, zone    DMA32\n  per-node stats\n"));
	assert_non_null(strstr(s, "        spanned  4095\n        present  3998\n        managed  3840\n        cma      0\n"));
	assert_non_null(strstr(s, "\n  pages free     3840\n        boost    0\n        min      "));
	assert_non_null(strstr(s, "      nr_free_pages 3840\n      nr_free_pages_blocks 3584\n"));
	/* an empty zone stops after its protection line */
	assert_non_null(strstr(s, "Node 0, zone   Normal\n  pages free     0\n"));
	assert_non_null(strstr(s, "        protection: (0, 0, 0, 0)\nNode 0, zone  Movable\n"));
	/* four CPUs' pagesets, then the tail */
	assert_non_null(strstr(s, "  pagesets\n    cpu: 0\n              count:    0\n              high:     0\n              batch:    "));
	assert_non_null(strstr(s, "    cpu: 3\n"));
	assert_non_null(strstr(s, "  node_unreclaimable:  0\n  start_pfn:           1\n"));
	assert_non_null(strstr(s, "  start_pfn:           524288\n"));
	free(s);
	vmm_machine_destroy(&m);
}

static void test_pagetypeinfo(void **state)
{
	vmm_machine *m = early_machine(); /* the hand-off as memblock left it */
	char *s = dump_to_string(m, VMM_DUMP_PAGETYPEINFO);

	(void)state;
	assert_non_null(strstr(s, "Page block order: 9\nPages per block:  512\n\n"));
	assert_non_null(strstr(s, "Free pages count per migrate type at order       0      1      2"));
	/* pfn 256..511 lie in pageblock 0, whose first pfn is not in the zone: Unmovable */
	assert_non_null(strstr(s, "Node    0, zone      DMA, type    Unmovable      0      0      0      0      0      0      0      0      1      0      0 \n"));
	assert_non_null(strstr(s, "Node    0, zone      DMA, type      Movable      0      0      0      0      0      0      0      0      0      1      3 \n"));
	assert_non_null(strstr(s, "Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic          CMA      Isolate \n"));
	/* 8 pageblocks in DMA: the first Unmovable, 7 Movable, as on x86-64 Linux */
	assert_non_null(strstr(s, "Node 0, zone      DMA            1            7            0            0            0            0 \n"));
	/* node 0 DMA32: 520192 pages = 1016 pageblocks */
	assert_non_null(strstr(s, "Node 0, zone    DMA32            0         1016            0            0            0            0 \n"));
	free(s);
	vmm_machine_destroy(&m);
}

static void test_vmstat(void **state)
{
	vmm_machine *m = early_machine(); /* the hand-off as memblock left it */
	char *s = dump_to_string(m, VMM_DUMP_VMSTAT);

	(void)state;
	assert_true(strncmp(s, "nr_free_pages 894624\nnr_free_pages_blocks ", 41) == 0);
	assert_non_null(strstr(s, "\nnuma_hit 0\nnuma_miss 0\n"));
	assert_non_null(strstr(s, "\nnr_memmap_boot_pages 14336\npgpgin 0\n"));
	assert_non_null(strstr(s, "\npgalloc_dma32 0\n"));
	assert_non_null(strstr(s, "\nswap_ra_hit 0\n"));
	free(s);
	vmm_machine_destroy(&m);
}

static void test_summary_and_bad_args(void **state)
{
	vmm_machine *m = default_machine();
	char *s = dump_to_string(m, VMM_DUMP_SUMMARY);
	struct vmm_trouble_counts tc;

	(void)state;
	assert_non_null(strstr(s, "BIOS-e820: [mem 0x0000000000100000-0x000000007fffffff] usable\n"));
	assert_non_null(strstr(s, "BIOS-e820: [mem 0x00000000e0000000-0x00000000ffffffff] reserved\n"));
	assert_non_null(strstr(s, "node distances:\nnode   0   1 \n  0:  10  21 \n  1:  21  10 \n"));
	free(s);
	assert_int_equal(vmm_dump(NULL, VMM_DUMP_MEMINFO, stdout), -VMM_EINVAL);
	assert_int_equal(vmm_dump(m, VMM_DUMP_MEMINFO, NULL), -VMM_EINVAL);
	assert_int_equal(vmm_dump(m, VMM_DUMP_NR_KINDS, stdout), -VMM_EINVAL);
	assert_int_equal(vmm_machine_trouble(m, &tc), 0);
	assert_int_equal(tc.caller, 2);
	vmm_machine_destroy(&m);
}

/* Whether any of the views Linux changes under CONFIG_HIGHMEM shows @text. */
static bool dumps_show(vmm_machine *m, const char *text)
{
	static const enum vmm_dump_kind kinds[] = { VMM_DUMP_MEMINFO, VMM_DUMP_ZONEINFO,
						    VMM_DUMP_BUDDYINFO, VMM_DUMP_PAGETYPEINFO,
						    VMM_DUMP_VMSTAT, VMM_DUMP_SUMMARY };
	bool found = false;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		char *s = dump_to_string(m, kinds[i]);

		found |= strstr(s, text) != NULL;
		free(s);
	}
	return found;
}

/*
 * With the direct map capped at 896 MiB: meminfo's CONFIG_HIGHMEM lines
 * after Mlocked (HighMem's managed pages are 286676 + 387028, all free),
 * a HighMem zone in every per-zone view, five protection figures (DMA
 * keeps 217080/256 back from DMA32 requests and (217080 + 286676)/256 from
 * HighMem and Movable ones), the direct map only up to the cap, and the
 * _high events in vmstat. Without the cap, none of it.
 */
static void test_highmem_dumps(void **state)
{
	struct vmm_config cfg;
	vmm_machine *m = default_machine();
	char *s;

	(void)state;
	assert_false(dumps_show(m, "HighMem"));
	assert_false(dumps_show(m, "HighTotal"));
	assert_false(dumps_show(m, "LowFree"));
	assert_false(dumps_show(m, "_high "));
	vmm_machine_destroy(&m);

	vmm_config_init(&cfg);
	cfg.direct_map_limit = 896ull << 20;
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	s = dump_to_string(m, VMM_DUMP_MEMINFO);
	/*
	 * HighMem keeps every page (294912 + 393216 pages: the memory maps and
	 * pg_data_t sit below the cap); the two nodes' usage maps share a page
	 * there, so MemTotal is one page more than without the cap's packing.
	 */
	assert_non_null(strstr(s, "MemTotal:        3578500 kB\n"));
	assert_non_null(strstr(s, "\nMlocked:               0 kB\nHighTotal:       2752512 kB\n"
				  "HighFree:        2752512 kB\nLowTotal:         825988 kB\n"
				  "LowFree:        "));
	assert_non_null(strstr(s, "\nDirectMap4k:        1656 kB\nDirectMap2M:      915456 kB\n"
				  "DirectMap1G:           0 kB\n"));
	free(s);
	s = dump_to_string(m, VMM_DUMP_ZONEINFO);
	/* DMA keeps back 202657 / 256 from DMA32 and (202657 + 294912) / 256 from HighMem */
	assert_non_null(strstr(s, "        protection: (0, 791, 791, 1943, 1943)\n"));
	assert_non_null(strstr(s, "\nNode 0, zone  HighMem\n  pages free     294912\n"));
	assert_non_null(strstr(s, "        min      128\n"));
	assert_non_null(strstr(s, "\nNode 1, zone  HighMem\n  per-node stats\n"));
	assert_non_null(strstr(s, "  start_pfn:           229376\n"));
	free(s);
	s = dump_to_string(m, VMM_DUMP_BUDDYINFO);
	assert_non_null(strstr(s, "\nNode 0, zone  HighMem "));
	assert_non_null(strstr(s, "\nNode 1, zone  HighMem "));
	assert_null(strstr(s, "Normal"));
	free(s);
	assert_true(dumps_show(m, "Node    1, zone  HighMem, type      Movable "));
	assert_true(dumps_show(m, "\npgalloc_normal 0\npgalloc_high 0\npgalloc_movable 0\n"));
	assert_true(dumps_show(m, "  HighMem  [mem 0x0000000038000000-0x000000007fffffff] spanned 294912"));
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/*
 * The debugfs extfrag/ views, checked against figures the test derives on its
 * own from /proc/buddyinfo's counts: the pages in blocks of at least the
 * order asked for are the usable ones; the rest is unusable. The extfrag
 * index follows Linux's integer steps.
 */
#define NR_ORDERS (VMM_MAX_PAGE_ORDER + 1)
#define MAX_ZONE_LINES 64

struct zone_counts {
	char head[64]; /* "Node %d, zone %8s " */
	uint64_t nr_free[NR_ORDERS];
};

/* Parse /proc/buddyinfo into per-zone block counts; returns the zone count. */
static int parse_buddyinfo(vmm_machine *m, struct zone_counts *zc)
{
	char *s = dump_to_string(m, VMM_DUMP_BUDDYINFO), *line, *save = NULL;
	int n = 0;

	for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
		const char *p = strstr(line, ", zone ");
		size_t head_len;
		int used = 0;

		assert_true(n < MAX_ZONE_LINES);
		assert_non_null(p);
		/* "Node %d, zone %8s ": the name is right-aligned in 8, then a space */
		head_len = (size_t)(p - line) + strlen(", zone ") + 8 + 1;
		assert_true(head_len < sizeof(zc[n].head) && strlen(line) > head_len);
		memcpy(zc[n].head, line, head_len);
		zc[n].head[head_len] = '\0';
		p = line + head_len;
		for (int o = 0; o < NR_ORDERS; o++) {
			assert_int_equal(sscanf(p, "%" SCNu64 "%n", &zc[n].nr_free[o], &used), 1);
			p += used;
		}
	}
	free(s);
	return n;
}

static uint64_t zone_free_pages(const struct zone_counts *zc)
{
	uint64_t pages = 0;

	for (int o = 0; o < NR_ORDERS; o++)
		pages += zc->nr_free[o] << o;
	return pages;
}

/* Pages in free blocks big enough for an order-@order request. */
static uint64_t usable_pages(const struct zone_counts *zc, int order)
{
	uint64_t pages = 0;

	for (int o = order; o < NR_ORDERS; o++)
		pages += zc->nr_free[o] << o;
	return pages;
}

static int expected_unusable(const struct zone_counts *zc, int order)
{
	uint64_t free_pages = zone_free_pages(zc);

	if (free_pages == 0)
		return 1000; /* no free memory: all of it is unusable */
	return (int)((free_pages - usable_pages(zc, order)) * 1000 / free_pages);
}

static int expected_extfrag(const struct zone_counts *zc, int order)
{
	uint64_t blocks = 0, free_pages = zone_free_pages(zc);

	for (int o = 0; o < NR_ORDERS; o++)
		blocks += zc->nr_free[o];
	if (blocks == 0)
		return 0;
	if (usable_pages(zc, order) > 0)
		return -1000; /* the request would succeed */
	return 1000 - (int)((1000 + (free_pages * 1000 >> order)) / blocks);
}

/* The whole view the test expects, in Linux's layout. */
static char *expected_view(const struct zone_counts *zc, int nr_zones, bool extfrag)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	for (int z = 0; z < nr_zones; z++) {
		fputs(zc[z].head, out);
		for (int o = 0; o < NR_ORDERS; o++) {
			int v = extfrag ? expected_extfrag(&zc[z], o) : expected_unusable(&zc[z], o);

			fprintf(out, extfrag ? "%2d.%03d " : "%d.%03d ", v / 1000, v % 1000);
		}
		fputc('\n', out);
	}
	fclose(out);
	return buf;
}

/* Both views equal what the test derives from buddyinfo; returns the zone count. */
static int assert_frag_views_match_buddyinfo(vmm_machine *m, struct zone_counts *zc)
{
	int n = parse_buddyinfo(m, zc);

	for (int extfrag = 0; extfrag < 2; extfrag++) {
		char *want = expected_view(zc, n, extfrag);
		char *got = dump_to_string(
			m, extfrag ? VMM_DUMP_EXTFRAG_INDEX : VMM_DUMP_UNUSABLE_INDEX);

		assert_string_equal(got, want);
		free(want);
		free(got);
	}
	return n;
}

static int find_zone_line(const struct zone_counts *zc, int n, const char *head)
{
	for (int z = 0; z < n; z++)
		if (!strcmp(zc[z].head, head))
			return z;
	fail_msg("no line for '%s'", head);
	return -1;
}

static void test_frag_index_boot(void **state)
{
	vmm_machine *m = default_machine();
	struct zone_counts zc[MAX_ZONE_LINES];
	char *s;

	(void)state;
	/* only populated zones, in buddyinfo's order */
	assert_int_equal(assert_frag_views_match_buddyinfo(m, zc), 3);
	/*
	 * DMA at boot holds one order-8, one order-9 and three order-10 blocks:
	 * 3840 pages. An order-9 request can use 7 * 512 of them (66 per
	 * thousand unusable), order 10 3 * 1024 (200).
	 */
	s = dump_to_string(m, VMM_DUMP_UNUSABLE_INDEX);
	assert_true(strncmp(s,
			    "Node 0, zone      DMA 0.000 0.000 0.000 0.000 0.000 0.000 0.000 "
			    "0.000 0.000 0.066 0.200 \nNode 0, zone    DMA32 ",
			    90) == 0);
	free(s);
	/* every order can be served everywhere: -1.000 throughout */
	s = dump_to_string(m, VMM_DUMP_EXTFRAG_INDEX);
	assert_true(strncmp(s,
			    "Node 0, zone      DMA -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 "
			    "-1.000 -1.000 -1.000 -1.000 -1.000 \n",
			    100) == 0);
	assert_non_null(strstr(s, "\nNode 1, zone    DMA32 -1.000 "));
	free(s);
	vmm_machine_destroy(&m);
}

#define DMA_LINE "Node 0, zone      DMA "
/* Take every page of ZONE_DMA, ignoring watermarks; returns how many. */
static size_t exhaust_dma(vmm_machine *m, struct vmm_page **pages, size_t max)
{
	const vmm_gfp_t gfp = VMM_GFP_DMA | VMM_GFP_MEMALLOC | VMM_GFP_NORETRY | VMM_GFP_NOWARN;
	size_t n = 0;
	struct vmm_page *pg;

	while (n < max && (pg = vmm_alloc_pages(m, gfp, 0)) != NULL) {
		assert_int_equal(vmm_page_zonenum(m, pg), VMM_ZONE_DMA);
		pages[n++] = pg;
	}
	assert_true(n < max);
	return n;
}

static void test_frag_index_fragmented(void **state)
{
	vmm_machine *m = default_machine();
	struct zone_counts zc[MAX_ZONE_LINES];
	struct vmm_zone_info zi;
	struct vmm_page **pages = calloc(8192, sizeof(*pages));
	size_t n, freed = 0;
	char *s;
	int z;

	(void)state;
	assert_non_null(pages);
	assert_int_equal(vmm_zone_info(m, 0, VMM_ZONE_DMA, &zi), 0);
	n = exhaust_dma(m, pages, 8192);
	assert_int_equal(n, zi.managed_pages);
	vmm_drain_all_pages(m);

	/* an empty zone: all of nothing is unusable; no block, so index 0 */
	z = find_zone_line(zc, assert_frag_views_match_buddyinfo(m, zc), DMA_LINE);
	assert_int_equal(zone_free_pages(&zc[z]), 0);
	s = dump_to_string(m, VMM_DUMP_UNUSABLE_INDEX);
	assert_non_null(strstr(s, DMA_LINE "1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 "
					"1.000 1.000 1.000 \n"));
	free(s);
	s = dump_to_string(m, VMM_DUMP_EXTFRAG_INDEX);
	assert_non_null(strstr(s, DMA_LINE " 0.000  0.000  0.000  0.000  0.000  0.000  0.000 "
					" 0.000  0.000  0.000  0.000 \n"));
	free(s);

	/*
	 * Give back the pages with an even pfn: each one's buddy stays
	 * allocated, so nothing merges and the zone's free memory is all
	 * order-0 blocks. Any order above 0 then fails from fragmentation
	 * alone.
	 */
	for (size_t i = 0; i < n; i++) {
		if (vmm_page_to_pfn(m, pages[i]) % 2 == 0) {
			vmm_free_pages(m, pages[i], 0);
			pages[i] = NULL;
			freed++;
		}
	}
	vmm_drain_all_pages(m);
	assert_int_equal(freed, 1920); /* half of DMA's 3840 managed pages */
	z = find_zone_line(zc, assert_frag_views_match_buddyinfo(m, zc), DMA_LINE);
	assert_int_equal(zc[z].nr_free[0], freed);
	assert_int_equal(zone_free_pages(&zc[z]), freed);
	s = dump_to_string(m, VMM_DUMP_UNUSABLE_INDEX);
	assert_non_null(strstr(s, DMA_LINE "0.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 "
					"1.000 1.000 1.000 \n"));
	free(s);
	/*
	 * With F = 1920 one-page blocks, order k gives
	 * 1000 - (1000 + F * 1000 / 2^k) / F: 500 for order 1, then nearer 1000
	 * (all fragmentation, no lack of memory) as k grows.
	 */
	s = dump_to_string(m, VMM_DUMP_EXTFRAG_INDEX);
	assert_non_null(strstr(s, DMA_LINE "-1.000  0.500  0.750  0.875  0.937  0.969  0.984 "
					" 0.992  0.996  0.998  0.999 \n"));
	free(s);

	/*
	 * One lone page left free: Linux's integer formula gives
	 * 1000 - (1000 + 1000 / 2^k) for order k, -500 for order 1, which its
	 * "%2d.%03d" prints as " 0.-500"; so must we.
	 */
	for (size_t i = 0, kept = 0; i < n; i++) {
		if (pages[i])
			continue;
		pages[i] = vmm_alloc_pages(m, VMM_GFP_DMA | VMM_GFP_MEMALLOC | VMM_GFP_NOWARN, 0);
		assert_non_null(pages[i]);
		kept++;
		if (kept == freed - 1)
			break;
	}
	vmm_drain_all_pages(m);
	z = find_zone_line(zc, assert_frag_views_match_buddyinfo(m, zc), DMA_LINE);
	assert_int_equal(zone_free_pages(&zc[z]), 1);
	s = dump_to_string(m, VMM_DUMP_EXTFRAG_INDEX);
	assert_non_null(strstr(s, DMA_LINE "-1.000  0.-500  0.-250  0.-125  0.-62  0.-31  0.-15 "
					" 0.-07  0.-03  0.-01  0.000 \n"));
	free(s);

	for (size_t i = 0; i < n; i++)
		if (pages[i])
			vmm_free_pages(m, pages[i], 0);
	vmm_drain_all_pages(m);
	assert_frag_views_match_buddyinfo(m, zc);
	assert_machine_healthy(m);
	free(pages);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meminfo),
		cmocka_unit_test(test_zoneinfo),
		cmocka_unit_test(test_pagetypeinfo),
		cmocka_unit_test(test_vmstat),
		cmocka_unit_test(test_summary_and_bad_args),
		cmocka_unit_test(test_highmem_dumps),
		cmocka_unit_test(test_frag_index_boot),
		cmocka_unit_test(test_frag_index_fragmented),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
