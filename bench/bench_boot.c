/* SPDX-License-Identifier: MIT */
/*
 * bench_boot: what creating and destroying a machine costs the host.
 *
 * For each machine (the default one, and 64 GiB laid out as 8 nodes x 8 GiB
 * and as 1 node x 64 GiB) it prints:
 *
 *   - host time of vmm_machine_create + vmm_machine_destroy, and of each
 *     alone: first (cold), median and minimum over --reps repetitions;
 *   - host time of vmm_machine_digest and vmm_machine_check on a live
 *     machine (both walk all state);
 *   - for scale, in the same run: glibc malloc + memset + free of a buffer
 *     the size of the simulated memory map (max_pfn * 64 bytes), the same
 *     through jemalloc (mallocx/sdallocx) when it was found at build time,
 *     and the ratio of libvmm's boot time to each;
 *   - host RSS added by one live machine (/proc/self/statm before and after
 *     create), split into the resident part of the memory map (mincore() over
 *     the struct vmm_page array) and everything beyond it. The memory figures
 *     are taken in a child forked before this process created any machine,
 *     so no allocator cache from an earlier machine hides a cost.
 *
 * Next to the figures stand the goals (default machine: boot < 50 ms and
 * < 64 MiB of host memory beyond its memory map; 64 GiB: boot < 1 s) with
 * PASS or MISS. They are information only: the exit status does not depend
 * on them, and never on wall time. It is non-zero only when a machine cannot
 * be created or the command line is wrong.
 *
 * jemalloc is reached through its own entry points (mallocx, sdallocx) in
 * Debian's shared libjemalloc; plain malloc in this process stays glibc's,
 * which the header line checks and prints (bench/meson.build says how).
 *
 * Wall-clock time (CLOCK_MONOTONIC) is measured here, on the host side only;
 * none of it enters simulated state.
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vmm/vmm.h>

#include "bench_util.h"

#include "lib/hostmem.h"
#include "machine.h"

#ifndef BENCH_HAVE_JEMALLOC
#define BENCH_HAVE_JEMALLOC 0
#endif
#if BENCH_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

#define GIB (1ull << 30)
#define MIB (1ull << 20)

/* The goals of the boot-cost issue. */
#define GOAL_DEFAULT_BOOT_MS 50.0
#define GOAL_DEFAULT_BEYOND_MEMMAP_MIB 64.0
#define GOAL_BIG_BOOT_MS 1000.0

struct machine_spec {
	const char *name;
	const char *desc;
	unsigned nodes;		/* 0: keep vmm_config_init()'s machine */
	uint64_t node_bytes;
	unsigned cpus;
	int default_reps;
	double goal_boot_ms;
	double goal_beyond_mib;	/* 0: no memory goal */
};

static const struct machine_spec specs[] = {
	{ "default", "vmm_config_init(): 2 nodes x 2 GiB, 4 CPUs", 0, 0, 0, 20,
	  GOAL_DEFAULT_BOOT_MS, GOAL_DEFAULT_BEYOND_MEMMAP_MIB },
	{ "64g-8x8", "64 GiB: 8 nodes x 8 GiB, 16 CPUs (2 per node)", 8, 8 * GIB, 16, 5,
	  GOAL_BIG_BOOT_MS, 0 },
	{ "64g-1x64", "64 GiB: 1 node x 64 GiB, 4 CPUs", 1, 64 * GIB, 4, 5, GOAL_BIG_BOOT_MS,
	  0 },
};
#define NR_SPECS (sizeof(specs) / sizeof(specs[0]))

/* Timings of one operation over the repetitions, in ns. */
struct timing {
	bool valid;
	double first, median, min;
};

/* What one live machine costs in host memory, measured in a fresh child. */
struct mem_result {
	int ok;			/* 1 when measured */
	int err;		/* vmm_machine_create's result */
	uint64_t rss_before, rss_live, rss_after;
	uint64_t pte_before, pte_live;	/* VmPTE: host page tables, not part of RSS */
	uint64_t memmap_bytes, memmap_rss;
	uint64_t phys_bytes, phys_rss;
	uint64_t heap_bytes, heap_peak, host_calls;
	uint64_t max_pfn, present_sections;
	uint64_t create_ns, destroy_ns;
};

struct result {
	const struct machine_spec *spec;
	int reps;
	int err;
	uint64_t mem_bytes;	/* sum of node_mem */
	unsigned nodes, cpus;
	uint64_t max_pfn, memmap_bytes;
	struct mem_result mem;
	struct timing boot, create, destroy, digest, check, glibc, jemalloc;
	long check_problems;
	uint64_t digest_value;
};

struct options {
	int reps;		/* 0: each machine's default */
	bool json;
	bool fork;
	bool only[NR_SPECS];
	bool any_only;
};

/* Host allocator reached through the shared libjemalloc, if any. */
struct jemalloc_api {
	bool ok;
	const char *version;
};

static struct jemalloc_api je;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static struct timing summarize(const uint64_t *ns, int n)
{
	struct timing t = { 0 };
	uint64_t *s;

	if (n <= 0)
		return t;
	s = malloc((size_t)n * sizeof(*s));
	if (!s)
		return t;
	memcpy(s, ns, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_u64);
	t.valid = true;
	t.first = (double)ns[0];
	t.min = (double)s[0];
	t.median = n % 2 ? (double)s[n / 2] : ((double)s[n / 2 - 1] + (double)s[n / 2]) / 2.0;
	free(s);
	return t;
}

/* Resident set size of this process, from /proc/self/statm. */
static uint64_t rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Host page-table bytes of this process (VmPTE in /proc/self/status). */
static uint64_t pte_bytes(void)
{
	char line[256];
	unsigned long kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPTE: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb * 1024u;
}

/*
 * mincore()'s vector, static and touched before the first RSS reading, so
 * that measuring adds nothing to the figures it measures.
 */
#define MINCORE_CHUNK_PAGES 65536
static unsigned char mincore_vec[MINCORE_CHUNK_PAGES];

/* Bytes of [p, p + len) that are resident, by mincore(), in bounded chunks. */
static uint64_t resident_bytes(const void *p, size_t len)
{
	const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	uintptr_t start, end;
	uint64_t resident = 0;

	if (!p || !len)
		return 0;
	start = (uintptr_t)p & ~(uintptr_t)(pg - 1);
	end = ((uintptr_t)p + len + pg - 1) & ~(uintptr_t)(pg - 1);
	for (uintptr_t a = start; a < end;) {
		size_t pages = (end - a) / pg;

		if (pages > MINCORE_CHUNK_PAGES)
			pages = MINCORE_CHUNK_PAGES;
		if (mincore((void *)a, pages * pg, mincore_vec) != 0)
			return 0;
		for (size_t i = 0; i < pages; i++)
			resident += mincore_vec[i] & 1;
		a += pages * pg;
	}
	return resident * pg;
}

static void make_config(const struct machine_spec *spec, struct vmm_config *cfg)
{
	vmm_config_init(cfg);
	if (!spec->nodes)
		return;
	cfg->nodes = spec->nodes;
	cfg->cpus = spec->cpus;
	for (unsigned i = 0; i < spec->nodes; i++)
		cfg->node_mem[i] = spec->node_bytes;
}

/* Create one machine, measure what it holds, destroy it. */
static void measure_memory_here(const struct vmm_config *cfg, struct mem_result *r)
{
	vmm_machine *m = NULL;
	uint64_t t0, t1;

	memset(r, 0, sizeof(*r));
	memset(mincore_vec, 0, sizeof(mincore_vec));
	r->pte_before = pte_bytes();
	r->rss_before = rss_bytes();
	t0 = now_ns();
	r->err = vmm_machine_create(cfg, &m);
	t1 = now_ns();
	if (r->err)
		return;
	r->create_ns = t1 - t0;
	r->rss_live = rss_bytes();
	r->pte_live = pte_bytes();
	r->memmap_bytes = m->sparse.vmemmap_bytes;
	r->memmap_rss = resident_bytes(m->sparse.vmemmap, m->sparse.vmemmap_bytes);
	r->phys_bytes = m->phys.end;
	r->phys_rss = resident_bytes(m->phys.base, m->phys.end);
	r->heap_bytes = m->hm.heap_bytes;
	r->heap_peak = m->hm.peak_heap_bytes;
	r->host_calls = m->hm.calls;
	r->max_pfn = m->sparse.max_pfn;
	r->present_sections = m->sparse.nr_present_sections;
	t0 = now_ns();
	vmm_machine_destroy(&m);
	t1 = now_ns();
	r->destroy_ns = t1 - t0;
	r->rss_after = rss_bytes();
	r->ok = 1;
}

/*
 * In a forked child when asked (the default): the child starts from this
 * process as it was before any machine existed, so the allocator holds no
 * memory that an earlier machine freed.
 */
static void measure_memory(const struct vmm_config *cfg, struct mem_result *r, bool use_fork)
{
	int fds[2];
	pid_t pid;
	size_t got = 0;
	int status;

	if (!use_fork || pipe(fds) != 0) {
		measure_memory_here(cfg, r);
		return;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		measure_memory_here(cfg, r);
		return;
	}
	if (pid == 0) {
		struct mem_result cr;
		const char *p = (const char *)&cr;
		size_t left = sizeof(cr);

		close(fds[0]);
		measure_memory_here(cfg, &cr);
		while (left) {
			ssize_t w = write(fds[1], p, left);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			p += w;
			left -= (size_t)w;
		}
		_exit(0);
	}
	close(fds[1]);
	memset(r, 0, sizeof(*r));
	while (got < sizeof(*r)) {
		ssize_t n = read(fds[0], (char *)r + got, sizeof(*r) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got != sizeof(*r))
		memset(r, 0, sizeof(*r)); /* ok = 0, err = 0: the child itself failed */
}

static void *glibc_alloc(size_t n)
{
	return malloc(n);
}

static void glibc_free(void *p, size_t n)
{
	(void)n;
	free(p);
}

#if BENCH_HAVE_JEMALLOC
static void *je_alloc(size_t n)
{
	return mallocx(n, 0);
}

static void je_free(void *p, size_t n)
{
	sdallocx(p, n, 0);
}
#endif

/* reps x (allocate, fill, free) of @p bytes, as the host allocator would serve a memory map. */
static struct timing time_host_alloc(void *(*alloc)(size_t), void (*release)(void *, size_t),
				     size_t bytes, int reps)
{
	uint64_t *ns = calloc((size_t)reps, sizeof(*ns));
	struct timing t = { 0 };
	int done = 0;

	if (!ns)
		return t;
	for (int i = 0; i < reps; i++) {
		uint64_t t0 = now_ns(), t1;
		void *p = alloc(bytes);

		if (!p)
			break;
		clobber(p); /* no fusing malloc + memset into calloc */
		memset(p, 0, bytes);
		clobber(p);
		release(p, bytes);
		t1 = now_ns();
		ns[done++] = t1 - t0;
	}
	t = summarize(ns, done);
	free(ns);
	return t;
}

static int run_machine(const struct machine_spec *spec, const struct options *opt,
		       struct result *res)
{
	struct vmm_config cfg;
	vmm_machine *m = NULL;
	uint64_t *a, *b, *c;
	int reps = opt->reps > 0 ? opt->reps : spec->default_reps;
	int err = 0;

	make_config(spec, &cfg);
	res->spec = spec;
	res->reps = reps;
	res->nodes = cfg.nodes;
	res->cpus = cfg.cpus;
	for (unsigned i = 0; i < cfg.nodes; i++)
		res->mem_bytes += cfg.node_mem[i];

	a = calloc((size_t)reps, sizeof(*a));
	b = calloc((size_t)reps, sizeof(*b));
	c = calloc((size_t)reps, sizeof(*c));
	if (!a || !b || !c) {
		err = -VMM_ENOMEM;
		goto out;
	}

	/* create + destroy */
	for (int i = 0; i < reps; i++) {
		uint64_t t0 = now_ns(), t1, t2;

		err = vmm_machine_create(&cfg, &m);
		t1 = now_ns();
		if (err)
			goto out;
		vmm_machine_destroy(&m);
		t2 = now_ns();
		a[i] = t1 - t0;
		b[i] = t2 - t1;
		c[i] = t2 - t0;
	}
	res->create = summarize(a, reps);
	res->destroy = summarize(b, reps);
	res->boot = summarize(c, reps);

	/* digest and check walk a live machine */
	err = vmm_machine_create(&cfg, &m);
	if (err)
		goto out;
	res->max_pfn = m->sparse.max_pfn;
	res->memmap_bytes = m->sparse.vmemmap_bytes;
	for (int i = 0; i < reps; i++) {
		uint64_t t0 = now_ns(), t1;

		res->digest_value = vmm_machine_digest(m);
		t1 = now_ns();
		a[i] = t1 - t0;
	}
	res->digest = summarize(a, reps);
	for (int i = 0; i < reps; i++) {
		uint64_t t0 = now_ns(), t1;

		res->check_problems = vmm_machine_check(m, NULL);
		t1 = now_ns();
		a[i] = t1 - t0;
	}
	res->check = summarize(a, reps);
	vmm_machine_destroy(&m);

	/* the host allocators on a buffer the size of the memory map */
	res->glibc = time_host_alloc(glibc_alloc, glibc_free, res->memmap_bytes, reps);
#if BENCH_HAVE_JEMALLOC
	if (je.ok)
		res->jemalloc = time_host_alloc(je_alloc, je_free, res->memmap_bytes, reps);
#endif
out:
	free(a);
	free(b);
	free(c);
	res->err = err;
	return err;
}

/* ---- output ---- */

static double to_mib(uint64_t bytes)
{
	return (double)bytes / (double)MIB;
}

static int64_t beyond_memmap(const struct mem_result *mr)
{
	return (int64_t)(mr->rss_live - mr->rss_before) - (int64_t)mr->memmap_rss;
}

static void print_row(const char *name, const struct timing *t)
{
	if (!t->valid) {
		printf("  %-40s %14s\n", name, "n/a");
		return;
	}
	printf("  %-40s %14.0f %10.3f %14.0f %10.3f %10.3f\n", name, t->median, t->median / 1e6,
	       t->min, t->min / 1e6, t->first / 1e6);
}

static void print_text_machine(const struct result *r)
{
	const struct machine_spec *s = r->spec;
	const struct mem_result *mr = &r->mem;
	char label[96];

	printf("\n== %s: %s ==\n", s->name, s->desc);
	if (r->err) {
		printf("  vmm_machine_create failed: %s\n", vmm_strerror(r->err));
		return;
	}
	printf("  physical address space %.2f GiB, max_pfn %" PRIu64 ", memory map %.1f MiB "
	       "(max_pfn x 64 B), reps %d\n",
	       (double)mr->phys_bytes / (double)GIB, r->max_pfn, to_mib(r->memmap_bytes), r->reps);
	printf("  %-40s %14s %10s %14s %10s %10s\n", "host time per op", "median ns/op",
	       "median ms", "min ns/op", "min ms", "first ms");
	print_row("create + destroy", &r->boot);
	print_row("  create", &r->create);
	print_row("  destroy", &r->destroy);
	print_row("vmm_machine_digest", &r->digest);
	snprintf(label, sizeof(label), "vmm_machine_check (%ld problems)", r->check_problems);
	print_row(label, &r->check);
	snprintf(label, sizeof(label), "glibc malloc+memset+free %.0f MiB", to_mib(r->memmap_bytes));
	print_row(label, &r->glibc);
	snprintf(label, sizeof(label), "jemalloc mallocx+memset+sdallocx %.0f MiB",
		 to_mib(r->memmap_bytes));
	print_row(label, &r->jemalloc);
	printf("  ratio libvmm create+destroy / glibc (medians):    ");
	if (r->glibc.valid)
		printf("%.3f\n", r->boot.median / r->glibc.median);
	else
		printf("n/a\n");
	printf("  ratio libvmm create+destroy / jemalloc (medians): ");
	if (r->jemalloc.valid)
		printf("%.3f\n", r->boot.median / r->jemalloc.median);
	else
		printf("n/a (%s)\n", BENCH_HAVE_JEMALLOC ? "jemalloc unusable" : "no jemalloc at build");

	if (!mr->ok) {
		printf("  host memory: not measured (%s)\n",
		       mr->err ? vmm_strerror(mr->err) : "the measuring child failed");
	} else {
		printf("  host RSS added by one live machine (fresh process, statm + mincore):\n");
		printf("    total                      %10.2f MiB\n",
		       to_mib(mr->rss_live - mr->rss_before));
		printf("    memory map resident        %10.2f MiB of %.2f MiB mapped (%.2f%%)\n",
		       to_mib(mr->memmap_rss), to_mib(mr->memmap_bytes),
		       mr->memmap_bytes ? 100.0 * (double)mr->memmap_rss / (double)mr->memmap_bytes
					: 0.0);
		printf("    beyond the memory map      %10.2f MiB\n",
		       (double)beyond_memmap(mr) / (double)MIB);
		printf("      of which simulated frames resident %.2f MiB of %.2f GiB mapped;"
		       " libvmm heap %.2f MiB live (peak %.2f MiB, %" PRIu64 " host calls)\n",
		       to_mib(mr->phys_rss), (double)mr->phys_bytes / (double)GIB,
		       to_mib(mr->heap_bytes), to_mib(mr->heap_peak), mr->host_calls);
		printf("    host page tables added     %10.2f MiB (VmPTE; not part of RSS)\n",
		       ((double)mr->pte_live - (double)mr->pte_before) / (double)MIB);
		printf("    RSS after destroy vs before %+9.2f MiB; that first create took %.3f ms, "
		       "destroy %.3f ms\n",
		       ((double)mr->rss_after - (double)mr->rss_before) / (double)MIB,
		       (double)mr->create_ns / 1e6, (double)mr->destroy_ns / 1e6);
	}
	printf("  goals (informational, judged on median create+destroy):\n");
	printf("    boot < %.0f ms %32s %10.3f ms  %s\n", s->goal_boot_ms, "", r->boot.median / 1e6,
	       pass_miss(r->boot.median / 1e6 < s->goal_boot_ms));
	if (s->goal_beyond_mib > 0) {
		if (mr->ok)
			printf("    host memory beyond its memory map < %.0f MiB %10.2f MiB  %s\n",
			       s->goal_beyond_mib, (double)beyond_memmap(mr) / (double)MIB,
			       pass_miss((double)beyond_memmap(mr) / (double)MIB <
					 s->goal_beyond_mib));
		else
			printf("    host memory beyond its memory map < %.0f MiB: not measured\n",
			       s->goal_beyond_mib);
	}
}

static void print_text_summary(const struct result *res, int n)
{
	printf("\n== summary ==\n");
	printf("  %-10s %12s %10s %10s %10s %10s %10s  %s\n", "machine", "boot med ms",
	       "/glibc", "/jemalloc", "RSS MiB", "memmap MiB", "beyond MiB", "goals");
	for (int i = 0; i < n; i++) {
		const struct result *r = &res[i];
		const struct mem_result *mr = &r->mem;
		bool pass;
		char gl[16] = "n/a", jm[16] = "n/a", rss[16] = "n/a", mm[16] = "n/a",
		     by[16] = "n/a";

		if (r->err) {
			printf("  %-10s create failed: %s\n", r->spec->name, vmm_strerror(r->err));
			continue;
		}
		if (r->glibc.valid)
			snprintf(gl, sizeof(gl), "%.3f", r->boot.median / r->glibc.median);
		if (r->jemalloc.valid)
			snprintf(jm, sizeof(jm), "%.3f", r->boot.median / r->jemalloc.median);
		if (mr->ok) {
			snprintf(rss, sizeof(rss), "%.2f", to_mib(mr->rss_live - mr->rss_before));
			snprintf(mm, sizeof(mm), "%.2f", to_mib(mr->memmap_rss));
			snprintf(by, sizeof(by), "%.2f", (double)beyond_memmap(mr) / (double)MIB);
		}
		pass = r->boot.median / 1e6 < r->spec->goal_boot_ms;
		printf("  %-10s %12.3f %10s %10s %10s %10s %10s  boot<%.0fms %s", r->spec->name,
		       r->boot.median / 1e6, gl, jm, rss, mm, by, r->spec->goal_boot_ms,
		       pass_miss(pass));
		if (r->spec->goal_beyond_mib > 0)
			printf(", beyond<%.0fMiB %s", r->spec->goal_beyond_mib,
			       mr->ok ? pass_miss((double)beyond_memmap(mr) / (double)MIB <
						  r->spec->goal_beyond_mib)
				      : "n/a");
		printf("\n");
	}
	printf("  goals: default machine boots in under %.0f ms with under %.0f MiB of host memory"
	       " beyond its memory map;\n         a 64 GiB machine boots in under %.0f ms."
	       " PASS/MISS is information only: the exit status ignores it\n"
	       "         (it is non-zero only when a machine could not be created).\n",
	       GOAL_DEFAULT_BOOT_MS, GOAL_DEFAULT_BEYOND_MEMMAP_MIB, GOAL_BIG_BOOT_MS);
}

static void json_timing(const char *key, const struct timing *t, bool comma)
{
	if (t->valid)
		printf("      \"%s\": {\"first\": %.0f, \"median\": %.1f, \"min\": %.0f}%s\n", key,
		       t->first, t->median, t->min, comma ? "," : "");
	else
		printf("      \"%s\": null%s\n", key, comma ? "," : "");
}

static void json_ratio(const char *key, const struct timing *boot, const struct timing *t)
{
	if (t->valid && boot->valid)
		printf("      \"%s\": %.4f,\n", key, boot->median / t->median);
	else
		printf("      \"%s\": null,\n", key);
}

static void print_json(const struct result *res, int n)
{
	printf("{\n  \"benchmark\": \"boot\",\n  \"libvmm_version\": \"%s\",\n",
	       vmm_version_string());
	printf("  \"libvmm_host_allocator\": \"%s\",\n", vmm_hostmem_backend());
	printf("  \"process_malloc\": \"%s\",\n", malloc_owner());
	if (je.ok)
		printf("  \"jemalloc_version\": \"%s\",\n", je.version);
	else
		printf("  \"jemalloc_version\": null,\n");
	printf("  \"clock\": \"CLOCK_MONOTONIC\",\n  \"unit\": \"ns\",\n");
	printf("  \"goals\": {\"default_boot_ms\": %.0f, \"default_beyond_memmap_mib\": %.0f, "
	       "\"64g_boot_ms\": %.0f, \"judged_on\": \"median create+destroy\"},\n",
	       GOAL_DEFAULT_BOOT_MS, GOAL_DEFAULT_BEYOND_MEMMAP_MIB, GOAL_BIG_BOOT_MS);
	printf("  \"machines\": [\n");
	for (int i = 0; i < n; i++) {
		const struct result *r = &res[i];
		const struct mem_result *mr = &r->mem;
		const struct machine_spec *s = r->spec;

		printf("    {\n      \"name\": \"%s\",\n      \"description\": \"%s\",\n", s->name,
		       s->desc);
		printf("      \"nodes\": %u,\n      \"cpus\": %u,\n      \"mem_bytes\": %" PRIu64
		       ",\n",
		       r->nodes, r->cpus, r->mem_bytes);
		printf("      \"reps\": %d,\n", r->reps);
		if (r->err) {
			printf("      \"error\": \"%s\"\n    }%s\n", vmm_strerror(r->err),
			       i + 1 < n ? "," : "");
			continue;
		}
		printf("      \"error\": null,\n");
		printf("      \"max_pfn\": %" PRIu64 ",\n      \"memmap_bytes\": %" PRIu64 ",\n",
		       r->max_pfn, r->memmap_bytes);
		json_timing("create_destroy_ns", &r->boot, true);
		json_timing("create_ns", &r->create, true);
		json_timing("destroy_ns", &r->destroy, true);
		json_timing("digest_ns", &r->digest, true);
		json_timing("check_ns", &r->check, true);
		printf("      \"check_problems\": %ld,\n", r->check_problems);
		printf("      \"digest\": \"%016" PRIx64 "\",\n", r->digest_value);
		json_timing("glibc_malloc_memset_free_ns", &r->glibc, true);
		json_timing("jemalloc_mallocx_memset_sdallocx_ns", &r->jemalloc, true);
		json_ratio("ratio_boot_to_glibc", &r->boot, &r->glibc);
		json_ratio("ratio_boot_to_jemalloc", &r->boot, &r->jemalloc);
		if (mr->ok) {
			printf("      \"host_memory\": {\"rss_before_bytes\": %" PRIu64
			       ", \"rss_live_bytes\": %" PRIu64 ", \"rss_added_bytes\": %" PRIu64
			       ", \"memmap_resident_bytes\": %" PRIu64 ", \"memmap_mapped_bytes\": %" PRIu64
			       ", \"beyond_memmap_bytes\": %" PRId64
			       ", \"phys_resident_bytes\": %" PRIu64 ", \"phys_mapped_bytes\": %" PRIu64
			       ", \"heap_live_bytes\": %" PRIu64 ", \"heap_peak_bytes\": %" PRIu64
			       ", \"host_calls\": %" PRIu64 ", \"page_tables_added_bytes\": %" PRId64
			       ", \"rss_after_destroy_bytes\": %" PRIu64
			       ", \"cold_create_ns\": %" PRIu64 ", \"cold_destroy_ns\": %" PRIu64 "},\n",
			       mr->rss_before, mr->rss_live, mr->rss_live - mr->rss_before,
			       mr->memmap_rss, mr->memmap_bytes, beyond_memmap(mr), mr->phys_rss,
			       mr->phys_bytes, mr->heap_bytes, mr->heap_peak, mr->host_calls,
			       (int64_t)mr->pte_live - (int64_t)mr->pte_before, mr->rss_after, mr->create_ns, mr->destroy_ns);
		} else {
			printf("      \"host_memory\": null,\n");
		}
		printf("      \"goals\": [\n");
		printf("        {\"goal\": \"boot < %.0f ms\", \"value_ms\": %.3f, \"status\": \"%s\"}",
		       s->goal_boot_ms, r->boot.median / 1e6,
		       pass_miss(r->boot.median / 1e6 < s->goal_boot_ms));
		if (s->goal_beyond_mib > 0) {
			if (mr->ok)
				printf(",\n        {\"goal\": \"host memory beyond memory map < %.0f MiB\", "
				       "\"value_mib\": %.3f, \"status\": \"%s\"}",
				       s->goal_beyond_mib, (double)beyond_memmap(mr) / (double)MIB,
				       pass_miss((double)beyond_memmap(mr) / (double)MIB <
						 s->goal_beyond_mib));
			else
				printf(",\n        {\"goal\": \"host memory beyond memory map < %.0f MiB\", "
				       "\"value_mib\": null, \"status\": \"n/a\"}",
				       s->goal_beyond_mib);
		}
		printf("\n      ]\n    }%s\n", i + 1 < n ? "," : "");
	}
	printf("  ]\n}\n");
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bench_boot [--reps N] [--json] [--machine NAME]... [--no-fork]\n"
		"  --reps N        repetitions for every machine (default: 20 for the default\n"
		"                  machine, 5 for the 64 GiB ones)\n"
		"  --json          print JSON instead of the table\n"
		"  --machine NAME  only this machine (repeatable):");
	for (size_t i = 0; i < NR_SPECS; i++)
		fprintf(out, " %s", specs[i].name);
	fprintf(out, "\n  --no-fork       measure host memory in this process, not in a fresh child\n"
		     "Goals are printed as PASS/MISS for information; the exit status ignores them.\n");
}

static int parse_args(int argc, char **argv, struct options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->fork = true;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--json")) {
			opt->json = true;
		} else if (!strcmp(a, "--no-fork")) {
			opt->fork = false;
		} else if (!strcmp(a, "--reps") && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);

			if (*end || v < 1 || v > 1000000) {
				fprintf(stderr, "bench_boot: bad --reps '%s'\n", argv[i]);
				return -1;
			}
			opt->reps = (int)v;
		} else if (!strcmp(a, "--machine") && i + 1 < argc) {
			size_t k;

			for (k = 0; k < NR_SPECS; k++)
				if (!strcmp(argv[i + 1], specs[k].name))
					break;
			if (k == NR_SPECS) {
				fprintf(stderr, "bench_boot: unknown machine '%s'\n", argv[i + 1]);
				return -1;
			}
			opt->only[k] = true;
			opt->any_only = true;
			i++;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		} else {
			fprintf(stderr, "bench_boot: unknown argument '%s'\n", a);
			return -1;
		}
	}
	return 0;
}

static void jemalloc_probe(void)
{
#if BENCH_HAVE_JEMALLOC
	size_t sz = sizeof(je.version);

	je.ok = mallctl("version", (void *)&je.version, &sz, NULL, 0) == 0;
	if (!je.ok)
		je.version = NULL;
#endif
}

int main(int argc, char **argv)
{
	struct options opt;
	struct result res[NR_SPECS];
	int n = 0, failed = 0;

	if (parse_args(argc, argv, &opt)) {
		usage(stderr);
		return 2;
	}
	jemalloc_probe();
	memset(res, 0, sizeof(res));

	/* Memory first, each in a child forked before any machine was created here. */
	for (size_t i = 0; i < NR_SPECS; i++) {
		struct vmm_config cfg;

		if (opt.any_only && !opt.only[i])
			continue;
		make_config(&specs[i], &cfg);
		res[n].spec = &specs[i];
		measure_memory(&cfg, &res[n].mem, opt.fork);
		n++;
	}
	for (int i = 0; i < n; i++) {
		struct mem_result mem = res[i].mem;
		const struct machine_spec *spec = res[i].spec;

		memset(&res[i], 0, sizeof(res[i]));
		res[i].mem = mem;
		if (run_machine(spec, &opt, &res[i]))
			failed = 1;
		if (!opt.json) {
			if (i == 0) {
				printf("bench_boot: host cost of booting a libvmm machine\n");
				printf("libvmm %s, host allocator %s; malloc in this process: %s; "
				       "jemalloc for comparison: %s%s\n",
				       vmm_version_string(), vmm_hostmem_backend(), malloc_owner(),
				       je.ok ? "libjemalloc " : "not available",
				       je.ok ? je.version : "");
				printf("times: CLOCK_MONOTONIC, first (cold), median and min over the"
				       " reps; memory: statm/mincore in a fresh child%s\n",
				       opt.fork ? "" : " (disabled: --no-fork)");
			}
			print_text_machine(&res[i]);
			fflush(stdout);
		}
	}
	if (opt.json)
		print_json(res, n);
	else
		print_text_summary(res, n);
	return failed;
}
