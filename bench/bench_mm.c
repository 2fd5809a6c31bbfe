/* SPDX-License-Identifier: MIT */
/*
 * bench_mm: host cost of the address-space calls (issue 7), through the
 * public API as an embedder calls them.
 *
 *   mmap_munmap_4k    vmm_mmap of one anonymous page, then vmm_munmap
 *   mmap_munmap_1m    the same for 1 MiB (not populated)
 *   mprotect_split    vmm_mprotect of one page inside a 64 MiB VMA to read-only (a split
 *                     into three) and back (a merge into one): ns per pair of calls
 *   find_vma_10k      vmm_find_vma at random addresses of an mm with 10 000 VMAs
 *   fork_1000_100m    vmm_task_fork of an mm with 1 000 VMAs and 100 MiB populated
 *                     (25 600 PTEs copied and write-protected); the child's exit is timed apart
 *
 * Beside host ns/op, simulated cycles/op of CPU 0 (the current CPU): what the layers below
 * charge (slab objects, page allocation, zeroing, freeing, shootdown IPIs); the system calls'
 * own work charges nothing yet.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/vmm.h>

#include "bench_util.h"

#define PG 4096ull
#define RW (VMM_PROT_READ | VMM_PROT_WRITE)
#define ANON (VMM_MAP_PRIVATE | VMM_MAP_ANONYMOUS)

static vmm_machine *machine(void)
{
	struct vmm_config cfg;
	vmm_machine *m;

	vmm_config_init(&cfg);
	cfg.log_level = VMM_LOG_ERROR;
	if (vmm_machine_create(&cfg, &m)) {
		fprintf(stderr, "bench_mm: cannot create the machine\n");
		exit(1);
	}
	return m;
}

static vmm_task *task(vmm_machine *m)
{
	vmm_task *t;

	if (vmm_task_create(m, "bench", &t)) {
		fprintf(stderr, "bench_mm: cannot create a task\n");
		exit(1);
	}
	return t;
}

/* Simulated cycles of CPU 0 so far. */
static uint64_t cycles(vmm_machine *m)
{
	uint64_t c = 0;

	vmm_cpu_cycles(m, 0, VMM_CYC_NR_CATEGORIES, &c);
	return c;
}

static void report(const char *name, uint64_t ops, uint64_t ns, uint64_t cyc)
{
	printf("%-18s %10" PRIu64 " %12.1f %12.1f\n", name, ops, (double)ns / (double)ops,
	       (double)cyc / (double)ops);
}

static void bench_mmap_munmap(const char *name, uint64_t len, uint64_t ops)
{
	vmm_machine *m = machine();
	vmm_task *t = task(m);
	uint64_t t0 = now_ns(), c0 = cycles(m);

	for (uint64_t i = 0; i < ops; i++) {
		vmm_vaddr_t a;

		if (vmm_mmap(t, 0, len, RW, ANON, NULL, 0, &a) || vmm_munmap(t, a, len))
			exit(1);
	}
	report(name, ops, now_ns() - t0, cycles(m) - c0);
	vmm_machine_destroy(&m);
}

static void bench_mprotect(uint64_t ops)
{
	vmm_machine *m = machine();
	vmm_task *t = task(m);
	vmm_vaddr_t a;
	uint64_t t0, c0;

	if (vmm_mmap(t, 0, 64ull << 20, RW, ANON, NULL, 0, &a))
		exit(1);
	t0 = now_ns();
	c0 = cycles(m);
	for (uint64_t i = 0; i < ops; i++) {
		vmm_vaddr_t p = a + (32ull << 20) + (i % 64) * PG;

		int e1 = vmm_mprotect(t, p, PG, VMM_PROT_READ), e2 = vmm_mprotect(t, p, PG, RW);

		if (e1 || e2) {
			fprintf(stderr, "bench_mm: mprotect: %s / %s\n", vmm_strerror(e1), vmm_strerror(e2));
			exit(1);
		}
	}
	report("mprotect_split", ops, now_ns() - t0, cycles(m) - c0);
	vmm_machine_destroy(&m);
}

/* @n VMAs of @pages pages each, a free page between neighbours so none merge. */
static vmm_vaddr_t map_many(vmm_task *t, unsigned n, uint64_t pages, unsigned flags)
{
	vmm_vaddr_t base = 0x100000000ull, a;

	for (unsigned i = 0; i < n; i++) {
		int err = vmm_mmap(t, base + i * (pages + 1) * PG, pages * PG, RW,
				   ANON | VMM_MAP_FIXED | flags, NULL, 0, &a);

		if (err) {
			fprintf(stderr, "bench_mm: mmap %u: %s\n", i, vmm_strerror(err));
			exit(1);
		}
	}
	return base;
}

static void bench_find_vma(uint64_t ops)
{
	vmm_machine *m = machine();
	vmm_task *t = task(m);
	vmm_vaddr_t base = map_many(t, 10000, 1, 0);
	struct vmm_vma_info vi;
	uint64_t x = 12345, t0 = now_ns(), c0 = cycles(m), found = 0;

	for (uint64_t i = 0; i < ops; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		found += !vmm_find_vma(t, base + (x >> 33) % (19999 * PG), &vi);
	}
	report("find_vma_10k", ops, now_ns() - t0, cycles(m) - c0);
	if (found != ops) {
		fprintf(stderr, "bench_mm: find_vma found %" PRIu64 " of %" PRIu64 "\n", found, ops);
		exit(1);
	}
	vmm_machine_destroy(&m);
}

static void bench_fork(uint64_t ops)
{
	vmm_machine *m = machine();
	vmm_task *t = task(m);
	uint64_t fork_ns = 0, exit_ns = 0, fork_cyc = 0, exit_cyc = 0;

	map_many(t, 1000, 25, VMM_MAP_POPULATE);	/* 1000 x 100 KiB = 100 MiB (97.7 MiB) */
	for (uint64_t i = 0; i < ops; i++) {
		vmm_task *c;
		uint64_t t0 = now_ns(), c0 = cycles(m), t1, c1;

		int err = vmm_task_fork(t, &c);

		if (err) {
			fprintf(stderr, "bench_mm: fork: %s\n", vmm_strerror(err));
			exit(1);
		}
		t1 = now_ns();
		c1 = cycles(m);
		vmm_task_destroy(&c);
		fork_ns += t1 - t0;
		fork_cyc += c1 - c0;
		exit_ns += now_ns() - t1;
		exit_cyc += cycles(m) - c1;
	}
	report("fork_1000_100m", ops, fork_ns, fork_cyc);
	report("  (child exit)", ops, exit_ns, exit_cyc);
	vmm_machine_destroy(&m);
}

int main(int argc, char **argv)
{
	double scale = argc > 2 && !strcmp(argv[1], "--scale") ? strtod(argv[2], NULL) : 1.0;

	printf("bench_mm: libvmm %s, host ns per call\n", vmm_version_string());
	printf("%-18s %10s %12s %12s\n", "benchmark", "ops", "ns/op", "sim cyc/op");
	bench_mmap_munmap("mmap_munmap_4k", PG, (uint64_t)(200000 * scale) + 1);
	bench_mmap_munmap("mmap_munmap_1m", 1ull << 20, (uint64_t)(200000 * scale) + 1);
	bench_mprotect((uint64_t)(100000 * scale) + 1);
	bench_find_vma((uint64_t)(2000000 * scale) + 1);
	bench_fork((uint64_t)(20 * scale) + 1);
	return 0;
}
