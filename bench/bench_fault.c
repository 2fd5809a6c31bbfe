/* SPDX-License-Identifier: MIT */
/*
 * bench_fault: host cost of one page fault through vmm_cpu_access(), beside
 * the host kernel's own fault of the same kind, in the same run.
 *
 *   anon_write       a write to a fresh page of a private anonymous mapping
 *                    (do_anonymous_page: a zeroed page)
 *   zero_read        a read of a fresh page (the zero page mapped read-only)
 *   cow_write        a write to a page shared with a forked child (do_wp_page: a copy)
 *   anon_write_data  anon_write, with the byte really written (vmm_cpu_write)
 *   cow_write_data   cow_write, with the bytes really written before the fork
 *                    and by the timed write (vmm_cpu_write)
 *
 * vmm_cpu_access() translates and charges but moves no bytes, so in the
 * first three cases no frame's host bytes are ever written: libvmm knows
 * them zero and skips the host clear and copy (mm/page_zero.h), and the
 * frames never cost host memory. The _data cases write, so every frame the
 * next repetition takes must be cleared or copied on the host: the cost an
 * embedder whose trace carries data pays. The host kernel writes a byte in
 * both kinds (its _data figures are those of its anon_write and cow_write).
 *
 * Each repetition maps PAGES pages, touches one byte per page, timing the
 * touches only, and unmaps (libvmm: in a task on CPU 0; host: an mmap'd
 * MADV_NOHUGEPAGE region of a worker process forked before the machine
 * exists, the COW case with a child of the worker that holds the pages
 * until the worker has written them; forking the bench itself would
 * write-protect the simulated machine's host memory and charge libvmm's
 * next writes a host fault each). The median of REPS
 * repetitions is printed, the ratio libvmm / host and whether it meets the
 * goal of 0.2, libvmm's simulated cycles per fault, and the host page faults
 * per fault that libvmm's loop took (first touches of host memory).
 *
 * The simulated machine's RAM is host memory backed lazily: a frame the
 * simulation has never used costs a host page fault on its first touch, as
 * libvmm's first repetition of a case finds them; an untimed warm-up
 * repetition of each case comes first, so the median is of the steady state.
 *
 *   bench_fault [--pages N] [--reps N] [--callgrind] [--only CASE]
 *
 * --only runs one case (e.g. under cachegrind, which cannot count one loop
 * alone).
 * With --callgrind (and Valgrind's headers), each libvmm case's timed loop
 * is the only part callgrind counts (bench/callgrind_fault.sh divides), after
 * the same warm-up repetition.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vmm/vmm.h>

#include "bench_util.h"

#ifdef BENCH_HAVE_CALLGRIND
#include <valgrind/callgrind.h>
#define CG_START() CALLGRIND_ZERO_STATS
#define CG_STOP(name) CALLGRIND_DUMP_STATS_AT("bench:" name)
#else
#define CG_START() ((void)0)
#define CG_STOP(name) ((void)0)
#endif

#define PG 4096ull
#define MAX_REPS 64
#define GOAL 0.2

static unsigned pages = 8192, reps = 7;
static bool callgrind;
static int only = -1;		/* --only: the one case to run, or -1 */

enum bench_case { ANON_WRITE, ZERO_READ, COW_WRITE, ANON_WRITE_DATA, COW_WRITE_DATA, NR_CASES };
static const char *const case_names[NR_CASES] = { "anon_write", "zero_read", "cow_write",
						  "anon_write_data", "cow_write_data" };

/* Whether case @c writes its bytes (vmm_cpu_write) rather than only accessing. */
static bool writes_data(enum bench_case c)
{
	return c == ANON_WRITE_DATA || c == COW_WRITE_DATA;
}

/* The kind of fault case @c takes: its host counterpart. */
static enum bench_case fault_kind(enum bench_case c)
{
	return c == ANON_WRITE_DATA ? ANON_WRITE : c == COW_WRITE_DATA ? COW_WRITE : c;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_fault: %s\n", what);
	exit(1);
}

static uint64_t host_minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)ru.ru_minflt;
}

/* ---- libvmm ---- */

struct sim {
	vmm_machine *m;
	vmm_cpu *cpu;
	vmm_task *t;
};

static uint64_t cpu_cycles(vmm_machine *m)
{
	uint64_t c = 0;

	vmm_cpu_cycles(m, 0, VMM_CYC_NR_CATEGORIES, &c);
	return c;
}

/*
 * One repetition: ns per fault; *cyc receives simulated cycles per fault,
 * *hflt the host page faults per fault taken in the timed loop. Callgrind
 * counts the loop unless it is the @warm_up.
 */
static double sim_rep(struct sim *s, enum bench_case c, bool warm_up, double *cyc, double *hflt)
{
	bool count = callgrind && !warm_up, data = writes_data(c);
	bool cow = fault_kind(c) == COW_WRITE;
	unsigned flags = c == ZERO_READ ? VMM_ACC_USER : VMM_ACC_USER | VMM_ACC_WRITE;
	const uint8_t byte = 1;
	vmm_task *child = NULL;
	vmm_vaddr_t a;
	uint64_t t0, t1, c0, f0, f1;

	if (vmm_mmap(s->t, 0, pages * PG, VMM_PROT_READ | VMM_PROT_WRITE,
		     VMM_MAP_PRIVATE | VMM_MAP_ANONYMOUS | (cow ? VMM_MAP_POPULATE : 0),
		     NULL, 0, &a))
		die("vmm_mmap failed");
	if (cow && data) {	/* the pages the child shares hold data, as the host's do */
		for (unsigned i = 0; i < pages; i++)
			if (vmm_cpu_write(s->cpu, a + i * PG, &byte, 1, VMM_ACC_USER, NULL))
				die("vmm_cpu_write failed");
	}
	if (cow && vmm_task_fork(s->t, &child))
		die("vmm_task_fork failed");
	c0 = cpu_cycles(s->m);
	if (count)
		CG_START();
	f0 = host_minflt();
	t0 = now_ns();
	if (data) {
		for (unsigned i = 0; i < pages; i++)
			if (vmm_cpu_write(s->cpu, a + i * PG, &byte, 1, VMM_ACC_USER, NULL))
				die("vmm_cpu_write failed");
	} else {
		for (unsigned i = 0; i < pages; i++)
			if (vmm_cpu_access(s->cpu, a + i * PG, 1, flags, NULL))
				die("vmm_cpu_access failed");
	}
	t1 = now_ns();
	f1 = host_minflt();
	if (count) {
		switch (c) {
		case ANON_WRITE: CG_STOP("anon_write"); break;
		case ZERO_READ: CG_STOP("zero_read"); break;
		case COW_WRITE: CG_STOP("cow_write"); break;
		case ANON_WRITE_DATA: CG_STOP("anon_write_data"); break;
		default: CG_STOP("cow_write_data"); break;
		}
	}
	*cyc = (double)(cpu_cycles(s->m) - c0) / pages;
	*hflt = (double)(f1 - f0) / pages;
	vmm_task_destroy(&child);
	if (vmm_munmap(s->t, a, pages * PG))
		die("vmm_munmap failed");
	return (double)(t1 - t0) / pages;
}

/* ---- the host kernel ---- */

static void host_touch(volatile char *p, unsigned n, bool write)
{
	for (unsigned i = 0; i < n; i++) {
		if (write)
			p[i * PG] = 1;
		else
			(void)p[i * PG];
	}
}

static double host_rep(enum bench_case c)
{
	size_t len = pages * PG;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fds[2] = { -1, -1 };
	pid_t child = -1;
	uint64_t t0, t1;

	if (p == MAP_FAILED)
		die("mmap failed");
	madvise(p, len, MADV_NOHUGEPAGE);
	if (c == COW_WRITE) {
		host_touch(p, pages, true);
		if (pipe(fds))
			die("pipe failed");
		child = fork();
		if (child < 0)
			die("fork failed");
		if (child == 0) {	/* hold the pages until the parent is done */
			char b;

			close(fds[1]);
			if (read(fds[0], &b, 1) < 0)
				_exit(1);
			_exit(0);
		}
		close(fds[0]);
	}
	t0 = now_ns();
	host_touch(p, pages, c != ZERO_READ);
	t1 = now_ns();
	if (c == COW_WRITE) {
		close(fds[1]);
		waitpid(child, NULL, 0);
	}
	munmap(p, len);
	return (double)(t1 - t0) / pages;
}

/*
 * The host side runs in a worker forked at start, so that its forks leave
 * this process's memory alone: it reads a case, answers the ns per fault.
 */
static int host_req = -1, host_ans = -1;
static pid_t host_worker = -1;

static void host_worker_start(void)
{
	int req[2], ans[2];

	if (pipe(req) || pipe(ans))
		die("pipe failed");
	host_worker = fork();
	if (host_worker < 0)
		die("fork failed");
	if (host_worker == 0) {
		int c;

		close(req[1]);
		close(ans[0]);
		while (read(req[0], &c, sizeof(c)) == (ssize_t)sizeof(c)) {
			double ns = host_rep((enum bench_case)c);

			if (write(ans[1], &ns, sizeof(ns)) != (ssize_t)sizeof(ns))
				_exit(1);
		}
		_exit(0);
	}
	close(req[0]);
	close(ans[1]);
	host_req = req[1];
	host_ans = ans[0];
}

static double host_run(enum bench_case c)
{
	int v = (int)c;
	double ns;

	if (write(host_req, &v, sizeof(v)) != (ssize_t)sizeof(v) ||
	    read(host_ans, &ns, sizeof(ns)) != (ssize_t)sizeof(ns))
		die("the host worker failed");
	return ns;
}

static void host_worker_stop(void)
{
	close(host_req);
	close(host_ans);
	waitpid(host_worker, NULL, 0);
}

static int case_index(const char *name)
{
	for (int c = 0; c < NR_CASES; c++)
		if (!strcmp(name, case_names[c]))
			return c;
	die("--only takes anon_write, zero_read, cow_write, anon_write_data or cow_write_data");
	return -1;
}

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pages") && i + 1 < argc)
			pages = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--callgrind"))
			callgrind = true;
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = case_index(argv[++i]);
		else
			die("usage: bench_fault [--pages N] [--reps N] [--callgrind] [--only CASE]");
	}
	if (!pages || !reps || reps > MAX_REPS)
		die("--pages must be positive, --reps 1..64");
}

int main(int argc, char **argv)
{
	struct vmm_config cfg;
	struct sim s;

	parse_args(argc, argv);
	if (!callgrind)
		host_worker_start();
	vmm_config_init(&cfg);
	cfg.log_level = VMM_LOG_ERROR;
	if (vmm_machine_create(&cfg, &s.m) || vmm_task_create(s.m, "bench", &s.t))
		die("cannot create the machine");
	s.cpu = vmm_machine_cpu(s.m, 0);
	vmm_cpu_switch_to(s.cpu, s.t);
	printf("bench_fault: %u pages per repetition, median of %u after a warm-up; host faults "
	       "on %s pages\n",
	       pages, reps, "MADV_NOHUGEPAGE 4 KiB");
	printf("%-16s %12s %12s %8s %6s %14s %12s\n", "case", "libvmm ns/op", "host ns/op",
	       "ratio", "goal", "sim cycles/op", "host flt/op");
	for (int c = 0; c < NR_CASES; c++) {
		double sim[MAX_REPS], host[MAX_REPS], cyc = 0, hflt = 0, ms, mh;

		if (only >= 0 && c != only)
			continue;
		/*
		 * warm-up: host memory behind the frames, slab caches, and the
		 * per-CPU lists' high marks, which a fresh machine has at 0 (its
		 * first refills take a page each); callgrind counts the same
		 * steady state the timed repetitions measure
		 */
		sim_rep(&s, (enum bench_case)c, true, &cyc, &hflt);
		for (unsigned r = 0; r < reps; r++) {
			sim[r] = sim_rep(&s, (enum bench_case)c, false, &cyc, &hflt);
			host[r] = callgrind ? 1 : host_run(fault_kind((enum bench_case)c));
		}
		ms = bench_median(sim, reps);
		mh = bench_median(host, reps);
		if (callgrind)
			printf("callgrind case %s steps %u\n", case_names[c], pages);
		printf("%-16s %12.1f %12.1f %8.3f %6s %14.0f %12.3f\n", case_names[c], ms, mh,
		       ms / mh, pass_miss(ms / mh <= GOAL), cyc, hflt);
	}
	vmm_task_destroy(&s.t);
	vmm_machine_destroy(&s.m);
	if (!callgrind)
		host_worker_stop();
	return 0;
}
