/* SPDX-License-Identifier: MIT */
/*
 * vmmsim's built-in workload: one process and its child, run through the
 * whole stack the way a newcomer would write them.
 *
 *   1. "demo" maps 1 MiB of anonymous memory and a 256 KiB file (shared),
 *      writes every anonymous page, reads them back, reads the file through
 *      its mapping (fault-around maps 16 pages per fault) and writes every
 *      eighth file page;
 *   2. it forks; the child writes every anonymous page (copy-on-write) and
 *      one file page, the parent writes the first half of its anonymous
 *      pages; each side reads its own data back and sees the other's file
 *      write;
 *   3. msync() sends the file's dirty pages to the device; the child exits,
 *      and the parent's later writes reuse their pages instead of copying;
 *   4. the parent reads the file back with read() and exits.
 *
 * Every step is checked: a wrong byte, an unexpected signal or a problem
 * vmm_machine_check() finds ends the run with an error.
 */
#include "workload.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#define ANON_LEN (1u << 20)
#define FILE_LEN (256u << 10)
#define PAGE VMM_PAGE_SIZE

struct run {
	vmm_machine *m;
	FILE *out;
	int err;
};

static void fail(struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->err)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "vmmsim: workload: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	r->err = 1;
}

static void step(struct run *r, const char *what)
{
	long problems;

	if (r->err)
		return;
	fprintf(r->out, "workload: %s\n", what);
	problems = vmm_machine_check(r->m, stderr);
	if (problems)
		fail(r, "vmm_machine_check() found %ld problem%s after: %s", problems,
		     problems == 1 ? "" : "s", what);
}

/*
 * Make @cpu run @t: a machine with one CPU runs the parent and the child on
 * it in turn, switching where the two CPUs of a larger one would not.
 */
static void run_on(struct run *r, vmm_cpu *cpu, vmm_task *t)
{
	int err;

	if (r->err || vmm_cpu_current_task(cpu) == t)
		return;
	if ((err = vmm_cpu_switch_to(cpu, t)))
		fail(r, "cannot run pid %d on cpu%d: %s", vmm_task_pid(t), vmm_cpu_id(cpu),
		     vmm_strerror(err));
}

/* Write the 8-byte @v at @va as a user-mode store of @t on @cpu. */
static void put(struct run *r, vmm_cpu *cpu, vmm_task *t, vmm_vaddr_t va, uint64_t v)
{
	struct vmm_access_result res;
	int err;

	run_on(r, cpu, t);
	if (r->err)
		return;
	err = vmm_cpu_write(cpu, va, &v, sizeof(v), VMM_ACC_USER, &res);
	if (err)
		fail(r, "store at %#" PRIx64 " on cpu%d: %s (signal %d)", va, vmm_cpu_id(cpu),
		     vmm_strerror(err), res.signal);
}

/* Read 8 bytes at @va as @t on @cpu and compare them with @want. */
static void expect(struct run *r, vmm_cpu *cpu, vmm_task *t, vmm_vaddr_t va, uint64_t want)
{
	struct vmm_access_result res;
	uint64_t v = 0;
	int err;

	run_on(r, cpu, t);
	if (r->err)
		return;
	err = vmm_cpu_read(cpu, va, &v, sizeof(v), VMM_ACC_USER, &res);
	if (err)
		fail(r, "load at %#" PRIx64 " on cpu%d: %s (signal %d)", va, vmm_cpu_id(cpu),
		     vmm_strerror(err), res.signal);
	else if (v != want)
		fail(r, "load at %#" PRIx64 " on cpu%d: %#" PRIx64 ", expected %#" PRIx64, va,
		     vmm_cpu_id(cpu), v, want);
}

static uint64_t tag(unsigned who, uint64_t i)
{
	return (uint64_t)who << 56 | 0x5eed0000ull << 16 | i;
}

static void print_faults(struct run *r, vmm_task *t)
{
	struct vmm_task_fault_stats s;

	if (vmm_task_fault_stats(t, &s)) {
		fail(r, "no fault statistics for pid %d", vmm_task_pid(t));
		return;
	}
	fprintf(r->out,
		"workload: pid %d (%s): %" PRIu64 " minor faults, %" PRIu64 " major, %" PRIu64
		" copy-on-write copies, %" PRIu64 " reuses\n",
		vmm_task_pid(t), vmm_task_comm(t), s.min_flt, s.maj_flt, s.cow_copies,
		s.cow_reuses);
}

static void dump(struct run *r, const char *when)
{
	static const struct {
		const char *name;
		enum vmm_dump_kind kind;
	} views[] = {
		{ "meminfo", VMM_DUMP_MEMINFO },
		{ "buddyinfo", VMM_DUMP_BUDDYINFO },
		{ "slabinfo", VMM_DUMP_SLABINFO },
	};

	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]) && !r->err; i++) {
		fprintf(r->out, "==> %s (%s the workload) <==\n", views[i].name, when);
		if (vmm_dump(r->m, views[i].kind, r->out))
			fail(r, "cannot print %s", views[i].name);
		fputc('\n', r->out);
	}
}

/* The file's first bytes: an 8-byte tag per page. */
static void make_file(struct run *r, vmm_file **fp)
{
	vmm_file *f;
	int err = vmm_file_create(r->m, "demo.dat", FILE_LEN, &f);

	if (err) {
		fail(r, "cannot create demo.dat: %s", vmm_strerror(err));
		return;
	}
	for (uint64_t i = 0; i < FILE_LEN / PAGE && !r->err; i++) {
		uint64_t v = tag(0xf, i);

		if (vmm_file_pwrite(f, &v, sizeof(v), i * PAGE) != (int64_t)sizeof(v))
			fail(r, "cannot write demo.dat");
	}
	/* on the device, and out of the cache: the first mapping faults read it back */
	if (!r->err && ((err = vmm_file_fsync(f)) ||
			(err = vmm_file_fadvise(f, 0, 0, VMM_FADV_DONTNEED))))
		fail(r, "cannot sync demo.dat: %s", vmm_strerror(err));
	*fp = f;
}

int vmmsim_workload(vmm_machine *m, FILE *out)
{
	struct run run = { .m = m, .out = out }, *r = &run;
	vmm_cpu *cpu0 = vmm_machine_cpu(m, 0);
	vmm_cpu *cpu1 = vmm_machine_config(m)->cpus > 1 ? vmm_machine_cpu(m, 1) : cpu0;
	vmm_task *parent = NULL, *child = NULL;
	vmm_vaddr_t anon = 0, fmap = 0;
	vmm_file *f = NULL;
	const uint64_t npages = ANON_LEN / PAGE, fpages = FILE_LEN / PAGE;
	int err;

	dump(r, "before");
	make_file(r, &f);
	if (!r->err && (err = vmm_task_create(m, "demo", &parent)))
		fail(r, "cannot create a task: %s", vmm_strerror(err));
	run_on(r, cpu0, parent);
	if (!r->err && (err = vmm_mmap(parent, 0, ANON_LEN, VMM_PROT_READ | VMM_PROT_WRITE,
				       VMM_MAP_PRIVATE | VMM_MAP_ANONYMOUS, NULL, 0, &anon)))
		fail(r, "mmap of anonymous memory: %s", vmm_strerror(err));
	if (!r->err && (err = vmm_mmap(parent, 0, FILE_LEN, VMM_PROT_READ | VMM_PROT_WRITE,
				       VMM_MAP_SHARED, f, 0, &fmap)))
		fail(r, "mmap of demo.dat: %s", vmm_strerror(err));
	step(r, "pid 1 mapped 1 MiB of anonymous memory and the 256 KiB file demo.dat");

	for (uint64_t i = 0; i < npages; i++)
		put(r, cpu0, parent, anon + i * PAGE, tag(1, i));
	for (uint64_t i = 0; i < npages; i++)
		expect(r, cpu0, parent, anon + i * PAGE, tag(1, i));
	step(r, "the parent wrote and read back every anonymous page");
	for (uint64_t i = 0; i < fpages; i++)
		expect(r, cpu0, parent, fmap + i * PAGE, tag(0xf, i));
	for (uint64_t i = 0; i < fpages; i += 8)
		put(r, cpu0, parent, fmap + i * PAGE + 8, tag(1, i));
	step(r, "the parent read the file through its mapping and wrote every 8th page");

	if (!r->err && (err = vmm_task_fork(parent, &child)))
		fail(r, "fork: %s", vmm_strerror(err));
	run_on(r, cpu1, child);
	step(r, cpu1 != cpu0 ? "fork: the child runs on cpu1"
			     : "fork: the child and the parent take turns on cpu0");
	for (uint64_t i = 0; i < npages; i++)
		put(r, cpu1, child, anon + i * PAGE, tag(2, i));
	put(r, cpu1, child, fmap + 16, tag(2, 0));
	for (uint64_t i = 0; i < npages / 2; i++)
		put(r, cpu0, parent, anon + i * PAGE, tag(3, i));
	for (uint64_t i = 0; i < npages; i++) {
		expect(r, cpu1, child, anon + i * PAGE, tag(2, i));
		expect(r, cpu0, parent, anon + i * PAGE, tag(i < npages / 2 ? 3 : 1, i));
	}
	expect(r, cpu0, parent, fmap + 16, tag(2, 0));
	step(r, "both wrote their anonymous pages (copy-on-write) and the child wrote the file");

	if (!r->err && (err = vmm_msync(parent, fmap, FILE_LEN, VMM_MS_SYNC)))
		fail(r, "msync: %s", vmm_strerror(err));
	if (child)
		print_faults(r, child);
	if (child && !r->err && (err = vmm_task_exit(child)))
		fail(r, "the child's exit: %s", vmm_strerror(err));
	vmm_task_destroy(&child);
	step(r, "msync wrote the file; the child exited");
	for (uint64_t i = npages / 2; i < npages; i++)
		put(r, cpu0, parent, anon + i * PAGE, tag(4, i));
	for (uint64_t i = 0; i < npages; i++)
		expect(r, cpu0, parent, anon + i * PAGE, tag(i < npages / 2 ? 3 : 4, i));
	step(r, "the parent wrote the rest of its pages, reusing them");

	if (!r->err) {
		uint64_t v[3];

		if (vmm_file_pread(f, v, sizeof(v), 0) != (int64_t)sizeof(v))
			fail(r, "read of demo.dat failed");
		else if (v[0] != tag(0xf, 0) || v[1] != tag(1, 0) || v[2] != tag(2, 0))
			fail(r, "demo.dat does not hold what the mappings wrote");
	}
	if (parent) {
		print_faults(r, parent);
		if (!r->err && (err = vmm_task_exit(parent)))
			fail(r, "the parent's exit: %s", vmm_strerror(err));
		vmm_task_destroy(&parent);
	}
	vmm_file_close(&f);
	step(r, "read(2) sees both processes' writes; the parent exited");
	if (!r->err) {
		fprintf(out, "==> cycles (simulated, per CPU and category) <==\n");
		if (vmm_dump(m, VMM_DUMP_CYCLES, out))
			fail(r, "cannot print the cycles");
		fputc('\n', out);
	}
	dump(r, "after");
	return r->err;
}
