/* SPDX-License-Identifier: MIT */
/*
 * The differential test of the fault path (src/fault) against the host
 * kernel: the same access sequences on an anonymous mapping run in a real
 * process (host_fault_runner) and in a libvmm task, and after each phase
 * the minor faults it took and the mapping's smaps Rss, Anonymous and
 * Private_Dirty must be equal:
 *
 *   fresh       write N fresh pages                      N faults, N pages dirty
 *   readwrite   read N (the zero page, no RSS), then write them (a copy each)
 *   mprotect    PROT_READ, read N, mprotect RW, write N
 *   forkcow     write N, fork, the child writes N (copies), the child exits,
 *               the parent writes N (one fault each; Linux and libvmm reuse)
 *
 * and on a file of N pages, written with write() and fsync()ed (every page
 * cached and uptodate, no readahead marker), mapped at a 64 KiB-aligned
 * address so that fault-around windows (16 pages) fall alike:
 *
 *   fileread    shared read-only mapping, read N: N/16 faults (fault-around)
 *   filewrite   shared writable mapping, write N: a fault each, dirty
 *   fileprivate private writable mapping, read N (fault-around), then write
 *               N: a copy each (do_wp_page on the file page), anonymous
 *   filerw      shared writable mapping, read N, then write N: the reads map
 *               read-only (the filesystem tracks dirty pages), so each write
 *               faults once more (wp_page_shared). The host runner skips it
 *               on tmpfs, which does not track them.
 *
 * N is 64 pages, far below a huge page, and the host mapping is
 * MADV_NOHUGEPAGE: libvmm has no THP yet, which is the one reason Linux's
 * figures could differ here.
 */
#include "test_util.h"

#include <string.h>
#include <unistd.h>

#include "machine.h"

#define PG 4096ull
#define NPAGES 64u
#define MAX_PHASES 4

struct phase {
	char name[16];
	long minflt, rss, anon, pdirty;
};

struct run {
	struct phase p[MAX_PHASES];
	unsigned n;
};

static const char *runner_path(void)
{
	const char *p = getenv("VMM_DIFF_FAULT_RUNNER");

	return p ? p : "tests/diff/host_fault_runner";
}

/* Run the host side; false when it cannot run here (the test is then skipped). */
static bool host_run(const char *scenario, struct run *out)
{
	char cmd[512];
	FILE *f;
	int st;

	memset(out, 0, sizeof(*out));
	if (access(runner_path(), X_OK))
		return false;
	snprintf(cmd, sizeof(cmd), "%s %s %u", runner_path(), scenario, NPAGES);
	f = popen(cmd, "r");
	if (!f)
		return false;
	while (out->n < MAX_PHASES) {
		struct phase *p = &out->p[out->n];

		if (fscanf(f, "%15s %ld %ld %ld %ld", p->name, &p->minflt, &p->rss, &p->anon,
			   &p->pdirty) != 5)
			break;
		out->n++;
	}
	st = pclose(f);
	return st == 0 && out->n > 0;
}

/* One smaps field of the VMA starting at @start, in kB. */
static long smaps_field(vmm_task *t, vmm_vaddr_t start, const char *field)
{
	char head[40], *s = NULL, *p;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	long v = -1;

	assert_non_null(f);
	assert_int_equal(vmm_task_dump(t, VMM_TASK_DUMP_SMAPS, f), 0);
	fclose(f);

	snprintf(head, sizeof(head), "%" PRIx64 "-", (uint64_t)start);
	p = strstr(s, head);
	if (p && (p = strstr(p, field)))
		v = strtol(p + strlen(field), NULL, 10);
	free(s);
	return v;
}

struct sim {
	vmm_machine *m;
	vmm_file *f;
	vmm_cpu *cpu;
	vmm_task *t;
	vmm_vaddr_t a;
	struct run run;
};

static void sim_phase(struct sim *s, vmm_task *t, vmm_cpu *cpu, const char *name, unsigned flags)
{
	struct vmm_task_fault_stats before, after;
	struct phase *p = &s->run.p[s->run.n++];

	assert_int_equal(vmm_task_fault_stats(t, &before), 0);
	for (unsigned i = 0; i < NPAGES; i++) {
		struct vmm_access_result r;

		assert_int_equal(vmm_cpu_access(cpu, s->a + i * PG, 1, flags | VMM_ACC_USER, &r), 0);
		assert_int_equal(r.signal, 0);
	}
	assert_machine_healthy(s->m);
	assert_int_equal(vmm_task_fault_stats(t, &after), 0);
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->minflt = (long)(after.min_flt - before.min_flt);
	p->rss = smaps_field(t, s->a, "Rss:");
	p->anon = smaps_field(t, s->a, "Anonymous:");
	p->pdirty = smaps_field(t, s->a, "Private_Dirty:");
}

/* The host runner's file scenarios (see the top of the file). */
static void sim_file(struct sim *s, const char *scenario)
{
	bool shared = strcmp(scenario, "fileprivate") != 0;
	unsigned prot = !strcmp(scenario, "fileread") ? VMM_PROT_READ
						       : VMM_PROT_READ | VMM_PROT_WRITE;
	static char page[PG];
	vmm_vaddr_t r, a;

	assert_int_equal(vmm_file_create(s->m, "diff.dat", 0, &s->f), 0);
	for (unsigned i = 0; i < NPAGES; i++) {
		memset(page, (int)i, sizeof(page));
		assert_int_equal(vmm_file_write(s->f, page, sizeof(page)), (int64_t)PG);
	}
	assert_int_equal(vmm_file_fsync(s->f), 0);
	/* a 64 KiB-aligned address inside a reservation, as the host runner maps it */
	assert_int_equal(vmm_mmap(s->t, 0, (NPAGES + 16) * PG, VMM_PROT_NONE,
				  VMM_MAP_PRIVATE | VMM_MAP_ANONYMOUS, NULL, 0, &r), 0);
	a = (r + 16 * PG - 1) & ~(16 * PG - 1);
	assert_int_equal(vmm_mmap(s->t, a, NPAGES * PG, prot,
				  (shared ? VMM_MAP_SHARED : VMM_MAP_PRIVATE) | VMM_MAP_FIXED, s->f,
				  0, &s->a), 0);
	assert_int_equal(s->a, a);
	if (!strcmp(scenario, "filewrite")) {
		sim_phase(s, s->t, s->cpu, "write", VMM_ACC_WRITE);
	} else {
		sim_phase(s, s->t, s->cpu, "read", 0);
		if (strcmp(scenario, "fileread"))
			sim_phase(s, s->t, s->cpu, "write", VMM_ACC_WRITE);
	}
}

static void sim_run(const char *scenario, struct run *out)
{
	struct vmm_config cfg;
	struct sim s = { 0 };
	bool mprot = !strcmp(scenario, "mprotect");

	small_config(&cfg);
	assert_int_equal(vmm_machine_create(&cfg, &s.m), 0);
	s.cpu = vmm_machine_cpu(s.m, 0);
	assert_int_equal(vmm_task_create(s.m, "diff", &s.t), 0);
	assert_int_equal(vmm_cpu_switch_to(s.cpu, s.t), 0);
	if (!strncmp(scenario, "file", 4)) {
		sim_file(&s, scenario);
		*out = s.run;
		vmm_task_destroy(&s.t);
		assert_int_equal(vmm_file_close(&s.f), 0);
		assert_machine_healthy(s.m);
		vmm_machine_destroy(&s.m);
		return;
	}
	assert_int_equal(vmm_mmap(s.t, 0, NPAGES * PG,
				  mprot ? VMM_PROT_READ : VMM_PROT_READ | VMM_PROT_WRITE,
				  VMM_MAP_PRIVATE | VMM_MAP_ANONYMOUS, NULL, 0, &s.a), 0);
	if (!strcmp(scenario, "fresh")) {
		sim_phase(&s, s.t, s.cpu, "write", VMM_ACC_WRITE);
	} else if (!strcmp(scenario, "readwrite")) {
		sim_phase(&s, s.t, s.cpu, "read", 0);
		sim_phase(&s, s.t, s.cpu, "write", VMM_ACC_WRITE);
	} else if (mprot) {
		sim_phase(&s, s.t, s.cpu, "read", 0);
		assert_int_equal(vmm_mprotect(s.t, s.a, NPAGES * PG,
					      VMM_PROT_READ | VMM_PROT_WRITE), 0);
		sim_phase(&s, s.t, s.cpu, "write", VMM_ACC_WRITE);
	} else {
		vmm_cpu *c1 = vmm_machine_cpu(s.m, 1);
		vmm_task *child;

		sim_phase(&s, s.t, s.cpu, "write", VMM_ACC_WRITE);
		assert_int_equal(vmm_task_fork(s.t, &child), 0);
		assert_int_equal(vmm_cpu_switch_to(c1, child), 0);
		sim_phase(&s, child, c1, "child-write", VMM_ACC_WRITE);
		vmm_task_destroy(&child);
		assert_machine_healthy(s.m);
		sim_phase(&s, s.t, s.cpu, "parent-write", VMM_ACC_WRITE);
	}
	*out = s.run;
	vmm_task_destroy(&s.t);
	assert_machine_healthy(s.m);
	vmm_machine_destroy(&s.m);
}

static void compare(const char *scenario)
{
	struct run host, sim;

	if (!host_run(scenario, &host)) {
		printf("# cannot run %s here\n", runner_path());
		skip();
	}
	sim_run(scenario, &sim);
	assert_int_equal(host.n, sim.n);
	for (unsigned i = 0; i < host.n; i++) {
		const struct phase *h = &host.p[i], *v = &sim.p[i];

		printf("# %s/%s: host minflt %ld rss %ld anon %ld dirty %ld; libvmm %ld %ld %ld %ld\n",
		       scenario, h->name, h->minflt, h->rss, h->anon, h->pdirty, v->minflt, v->rss,
		       v->anon, v->pdirty);
		assert_string_equal(h->name, v->name);
		assert_int_equal(h->minflt, v->minflt);
		assert_int_equal(h->rss, v->rss);
		assert_int_equal(h->anon, v->anon);
		assert_int_equal(h->pdirty, v->pdirty);
	}
}

static void test_fresh(void **state)
{
	(void)state;
	compare("fresh");
}

static void test_readwrite(void **state)
{
	(void)state;
	compare("readwrite");
}

static void test_mprotect(void **state)
{
	(void)state;
	compare("mprotect");
}

static void test_forkcow(void **state)
{
	(void)state;
	compare("forkcow");
}

static void test_fileread(void **state)
{
	(void)state;
	compare("fileread");
}

static void test_filewrite(void **state)
{
	(void)state;
	compare("filewrite");
}

static void test_fileprivate(void **state)
{
	(void)state;
	compare("fileprivate");
}

static void test_filerw(void **state)
{
	(void)state;
	compare("filerw");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fileread),
		cmocka_unit_test(test_filewrite),
		cmocka_unit_test(test_fileprivate),
		cmocka_unit_test(test_filerw),
		cmocka_unit_test(test_fresh),
		cmocka_unit_test(test_readwrite),
		cmocka_unit_test(test_mprotect),
		cmocka_unit_test(test_forkcow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
