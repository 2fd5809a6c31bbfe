/* SPDX-License-Identifier: MIT */
/*
 * bench_filemap_fault: a file read fault on a page-cache hit, in libvmm and
 * in the host kernel, in the same run.
 *
 *   vmm_seq_read    a task maps a cached 64 MiB file (MAP_SHARED, PROT_READ)
 *                   and reads one byte of every page in order through
 *                   vmm_cpu_read(); faults go through libvmm's fault path
 *                   (do_page_fault, handle_mm_fault, do_fault), with
 *                   fault-around's default 64 KiB window; then munmap.
 *                   Host ns per fault
 *                   (and per page touched), simulated cycles per fault.
 *   vmm_seq_access  the same reads through vmm_cpu_access(), which
 *                   translates, faults and charges as vmm_cpu_read() but
 *                   moves no bytes: the access the fault goals name
 *                   (bench_fault's cases use it too). vmm_seq_read's extra
 *                   is the host load of each page's byte, a cache miss on a
 *                   64 MiB file, as the host kernel's loop has one.
 *   vmm_do_fault    the file side alone: vmm_do_fault() for each page whose
 *                   entry is empty, with handle_mm_fault's setup (one walk
 *                   to the leaf slot a fault), no MMU.
 *   vmm_one_page    vmm_seq_read with fault_around_bytes 4096: one page a
 *                   fault (vmm_do_fault_1: the file side alone, likewise).
 *   host_seq_read   the host kernel: a host file of the same size, already
 *                   in the host's page cache, mmap'ed, one byte of each page
 *                   read, munmap; faults counted by getrusage (minflt).
 *   host_shm_read   the same on a file in /dev/shm (tmpfs), when there is
 *                   one: with tmpfs's huge pages off (shmem_enabled never,
 *                   the usual default) its cache holds 4 KiB folios, so
 *                   the host's fault-around maps the same 16 pages a fault
 *                   as libvmm's, the like-for-like comparison.
 *
 * The ratios compare ns per fault of vmm_seq_read and of vmm_seq_access
 * with host_seq_read's (both kernels with their default fault-around);
 * goal <= 0.2. Their rounds take turns (a round of each libvmm case, a
 * host round), after an untimed warm-up round of each, and every ns figure is the median over the rounds, so that a
 * burst of load on a shared host moves neither side alone. A host kernel
 * with large page-cache folios maps a whole folio per fault (far more than
 * 16 pages), so the ratio per page touched is printed as well, and
 * host_shm_read's ratio per fault, where both kernels map 16 pages a
 * fault. Both libvmm figures include the simulated MMU's work for every
 * access (vmm_cpu_read), as a program's loads include the hardware's.
 *
 *   bench_filemap_fault [--rounds N] [--mib N] [--callgrind]
 *
 * With --callgrind (and Valgrind's headers) each libvmm case runs one round
 * (after the warm-up), that round's touching is the only part callgrind
 * counts, and the host is not run: bench/callgrind_bench.sh
 * build/bench/bench_filemap_fault --mib 8 gives instructions per fault.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <vmm/vmm.h>

#include "bench_util.h"

#include "fault/fault.h"
#include "machine.h"
#include "mm/pgtable.h"
#include "mm/vma.h"
#include "pagecache/filemap.h"

#ifdef BENCH_HAVE_CALLGRIND
#include <valgrind/callgrind.h>
#define CG_START() CALLGRIND_ZERO_STATS
#define CG_STOP(name) CALLGRIND_DUMP_STATS_AT(name)
#else
#define CG_START() ((void)0)
#define CG_STOP(name) ((void)0)
#endif

#define MIB ((uint64_t)1 << 20)
#define PG 4096u

static bool callgrind;

#define MAX_ROUNDS 64

/* A case's rounds: totals, and ns per fault and per page of each round for the medians. */
struct result {
	double ns_fault, ns_page, cyc_fault;	/* medians; simulated cycles per fault */
	uint64_t faults, pages, cyc;
	unsigned n;
	double round_fault[MAX_ROUNDS], round_page[MAX_ROUNDS];
};

static void die(const char *what)
{
	fprintf(stderr, "bench_filemap_fault: %s failed\n", what);
	exit(1);
}

static uint64_t cpu_cycles(vmm_machine *m)
{
	uint64_t c = 0;

	vmm_cpu_cycles(m, vmm_machine_current_cpu(m), VMM_CYC_NR_CATEGORIES, &c);
	return c;
}

/* Touch every page of the mapping at @a; the faults taken. */
typedef uint64_t (*touch_fn)(vmm_task *t, vmm_vaddr_t a, uint64_t size);

/* Through the simulated MMU: a one-byte vmm_cpu_read() per page. */
static uint64_t touch_cpu(vmm_task *t, vmm_vaddr_t a, uint64_t size)
{
	vmm_cpu *cpu = vmm_machine_cpu(vmm_task_machine(t), 0);
	uint64_t faults = 0;

	for (uint64_t off = 0; off < size; off += PG) {
		struct vmm_access_result ar;
		uint8_t v;

		if (vmm_cpu_read(cpu, a + off, &v, 1, VMM_ACC_USER, &ar))
			die("vmm_cpu_read");
		faults += ar.faulted;
		clobber(&v);
	}
	return faults;
}

/* The same through vmm_cpu_access(): translation, faults and charges, no bytes moved. */
static uint64_t touch_access(vmm_task *t, vmm_vaddr_t a, uint64_t size)
{
	vmm_cpu *cpu = vmm_machine_cpu(vmm_task_machine(t), 0);
	uint64_t faults = 0;

	for (uint64_t off = 0; off < size; off += PG) {
		struct vmm_access_result ar;

		if (vmm_cpu_access(cpu, a + off, 1, VMM_ACC_USER, &ar))
			die("vmm_cpu_access");
		faults += ar.faulted;
	}
	return faults;
}

/*
 * The file side alone: for each page whose entry is empty, what
 * handle_mm_fault does (one walk to the leaf slot, making tables; struct
 * vmm_vm_fault) and vmm_do_fault(); no simulated MMU. Which entries are
 * empty is read through the PTE table the loop keeps at hand (looked up
 * once per table), so that a fault pays one walk, as handle_mm_fault's
 * does, and the pages fault-around mapped cost no walk of their own.
 */
static uint64_t touch_direct(vmm_task *t, vmm_vaddr_t a, uint64_t size)
{
	struct vmm_vma *v = vmm_vma_find(t->mm, a);
	uint64_t faults = 0, *table = NULL;

	for (uint64_t off = 0; off < size; off += PG) {
		vmm_vaddr_t va = a + off;
		unsigned i = (unsigned)(va >> PAGE_SHIFT) % PTRS_PER_PTE_USER;
		struct vmm_vm_fault vmf;

		if (!table || !i) {
			if (!(table = vmm_pte_slot(t->mm, va, true)))
				die("vmm_pte_slot");
			table -= i;
		}
		if (table[i])
			continue;
		vmf = (struct vmm_vm_fault){
			.vma = v, .task = t, .flags = FAULT_FLAG_USER, .address = va,
			.real_address = va, .pgoff = off / PG, .pte = vmm_pte_slot(t->mm, va, true),
		};
		if (vmm_do_fault(&vmf) & VMF_ERROR)
			die("vmm_do_fault");
		faults++;
	}
	return faults;
}

/* One round of @pages pages that took @ns and @faults. */
static void add_round(struct result *r, uint64_t ns, uint64_t faults, uint64_t pages)
{
	if (r->n == MAX_ROUNDS)
		die("too many rounds");
	r->round_fault[r->n] = (double)ns / (double)(faults ? faults : 1);
	r->round_page[r->n] = (double)ns / (double)pages;
	r->n++;
	r->faults += faults;
	r->pages += pages;
}

static void finish(struct result *r)
{
	r->ns_fault = bench_median(r->round_fault, r->n);
	r->ns_page = bench_median(r->round_page, r->n);
	r->cyc_fault = (double)r->cyc / (double)r->faults;
}

/*
 * One round: map @f, touch each page, unmap; only the touching is timed.
 * @cg_name: the callgrind dump's name (bench:CASE), or NULL for none.
 */
static void vmm_round(vmm_task *t, vmm_file *f, uint64_t size, touch_fn touch,
		      const char *cg_name, struct result *r)
{
	vmm_machine *m = vmm_task_machine(t);
	uint64_t t0, t1, c0, faults;
	vmm_vaddr_t a;

	if (vmm_mmap(t, 0, size, VMM_PROT_READ, VMM_MAP_SHARED, f, 0, &a))
		die("vmm_mmap");
	c0 = cpu_cycles(m);
	if (cg_name)
		CG_START();
	t0 = now_ns();
	faults = touch(t, a, size);
	t1 = now_ns();
	if (cg_name)
		CG_STOP(cg_name);
	r->cyc += cpu_cycles(m) - c0;
	add_round(r, t1 - t0, faults, size / PG);
	if (vmm_munmap(t, a, size))
		die("vmm_munmap");
}

/* @rounds rounds of one libvmm case. */
static void vmm_rounds(vmm_task *t, vmm_file *f, uint64_t size, unsigned rounds, touch_fn touch,
		       const char *cg_name, struct result *r)
{
	memset(r, 0, sizeof(*r));
	for (unsigned k = 0; k < rounds; k++)
		vmm_round(t, f, size, touch, cg_name, r);
	finish(r);
}

static uint64_t minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)ru.ru_minflt;
}

/*
 * The host kernel's file in @dir: @size bytes written, so in its page
 * cache; unlinked at once. -1 when @dir cannot hold it.
 */
static int host_file(const char *dir, uint64_t size)
{
	char path[256];
	static uint8_t chunk[MIB];
	int fd;

	snprintf(path, sizeof(path), "%s/bench_filemap_fault.XXXXXX", dir);
	if ((fd = mkstemp(path)) < 0)
		return -1;
	unlink(path);
	memset(chunk, 1, sizeof(chunk));
	for (uint64_t off = 0; off < size; off += sizeof(chunk))
		if (pwrite(fd, chunk, sizeof(chunk), (off_t)off) != (ssize_t)sizeof(chunk)) {
			close(fd);
			return -1;
		}
	return fd;
}

/* The host kernel on the same work: mmap the cached file, touch, munmap. */
static void host_round(int fd, uint64_t size, struct result *r)
{
	volatile uint8_t *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	uint64_t f0, t0, t1;

	if (p == MAP_FAILED)
		die("mmap");
	f0 = minflt();
	t0 = now_ns();
	for (uint64_t off = 0; off < size; off += PG)
		(void)p[off];
	t1 = now_ns();
	add_round(r, t1 - t0, minflt() - f0, size / PG);
	munmap((void *)p, size);
}

/* @r's ratios to the host's cached-file faults @host and, when there is one, @shm's (tmpfs). */
static void print_ratios(const char *name, const struct result *r, const struct result *host,
			 const struct result *shm)
{
	double ratio = r->ns_fault / host->ns_fault;

	printf("ratio %s/host ns per fault: %.3f (goal <= 0.2: %s)\n", name, ratio,
	       pass_miss(ratio <= 0.2));
	/* the host maps whole large folios per fault, so per page touched says more */
	printf("ratio %s/host ns per page touched: %.3f\n", name, r->ns_page / host->ns_page);
	if (shm) {
		/* order-0 folios: the host's fault-around maps 16 pages a fault, as libvmm's */
		ratio = r->ns_fault / shm->ns_fault;
		printf("ratio %s/host(tmpfs) ns per fault: %.3f (goal <= 0.2: %s)\n", name, ratio,
		       pass_miss(ratio <= 0.2));
	}
}

static void print(const char *name, const struct result *r, bool sim)
{
	if (callgrind)	/* bench/callgrind_bench.sh divides each dump by these steps */
		printf("callgrind case %s steps %" PRIu64 "\n", name, r->faults);
	printf("%-14s %10" PRIu64 " %10" PRIu64 " %12.1f %12.1f", name, r->pages, r->faults,
	       r->ns_fault, r->ns_page);
	if (sim)
		printf(" %14.1f", r->cyc_fault);
	printf("\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	uint64_t size = 64 * MIB;
	unsigned rounds = 10;
	struct result vmm, acc, one, direct, host, shm, warm;
	static uint8_t chunk[MIB];
	int fd = -1, shm_fd = -1;
	struct vmm_config cfg;
	vmm_machine *m;
	vmm_task *t;
	vmm_file *f;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
			rounds = (unsigned)strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--mib") && i + 1 < argc) {
			size = strtoull(argv[++i], NULL, 0) * MIB;
		} else if (!strcmp(argv[i], "--callgrind")) {
			callgrind = true;
		} else {
			fprintf(!strcmp(argv[i], "--help") ? stdout : stderr,
				"usage: bench_filemap_fault [--rounds N] [--mib N] [--callgrind]\n");
			return !strcmp(argv[i], "--help") ? 0 : 2;
		}
	}
	if (!rounds || rounds > MAX_ROUNDS || !size)
		return 2;
	if (callgrind)
		rounds = 1;
	vmm_config_init(&cfg);
	if (vmm_machine_create(&cfg, &m) || vmm_task_create(m, "bench", &t) ||
	    vmm_file_create(m, "data", 0, &f))
		die("setup");
	for (uint64_t off = 0; off < size; off += sizeof(chunk))
		if (vmm_file_pwrite(f, chunk, sizeof(chunk), off) != (int64_t)sizeof(chunk))
			die("vmm_file_pwrite");
	if (vmm_cpu_switch_to(vmm_machine_cpu(m, 0), t))
		die("vmm_cpu_switch_to");
	printf("bench_filemap_fault: libvmm %s, the default machine; a %" PRIu64
	       " MiB cached file read a byte per page, %u rounds\n",
	       vmm_version_string(), (uint64_t)(size / MIB), rounds);
	printf("%-14s %10s %10s %12s %12s %14s\n", "benchmark", "pages", "faults", "ns/fault",
	       "ns/page", "sim cyc/fault");
	/* warm-up rounds (tables, slab caches), then the two sides' rounds in turn */
	memset(&vmm, 0, sizeof(vmm));
	memset(&acc, 0, sizeof(acc));
	memset(&host, 0, sizeof(host));
	memset(&shm, 0, sizeof(shm));
	memset(&warm, 0, sizeof(warm));
	vmm_round(t, f, size, touch_cpu, NULL, &warm);
	vmm_round(t, f, size, touch_access, NULL, &warm);
	if (!callgrind) {
		if ((fd = host_file("/tmp", size)) < 0)
			die("the host file in /tmp");
		host_round(fd, size, &warm);
		if ((shm_fd = host_file("/dev/shm", size)) >= 0)
			host_round(shm_fd, size, &warm);
	}
	for (unsigned k = 0; k < rounds; k++) {
		vmm_round(t, f, size, touch_cpu, callgrind ? "bench:vmm_seq_read" : NULL, &vmm);
		vmm_round(t, f, size, touch_access, callgrind ? "bench:vmm_seq_access" : NULL,
			  &acc);
		if (!callgrind)
			host_round(fd, size, &host);
		if (shm_fd >= 0)
			host_round(shm_fd, size, &shm);
	}
	finish(&vmm);
	finish(&acc);
	print("vmm_seq_read", &vmm, true);
	print("vmm_seq_access", &acc, true);
	vmm_rounds(t, f, size, rounds, touch_direct, callgrind ? "bench:vmm_do_fault" : NULL,
		   &direct);
	print("vmm_do_fault", &direct, true);
	if (vmm_sysctl_set(m, "debug.fault_around_bytes", PG))
		die("fault_around_bytes");
	vmm_rounds(t, f, size, rounds, touch_cpu, callgrind ? "bench:vmm_one_page" : NULL, &one);
	print("vmm_one_page", &one, true);
	vmm_rounds(t, f, size, rounds, touch_direct, callgrind ? "bench:vmm_do_fault_1" : NULL,
		   &direct);
	print("vmm_do_fault_1", &direct, true);
	if (vmm_sysctl_set(m, "debug.fault_around_bytes", 65536))
		die("fault_around_bytes");
	if (callgrind)
		goto out;
	close(fd);
	finish(&host);
	print("host_seq_read", &host, false);
	if (shm_fd >= 0) {
		close(shm_fd);
		finish(&shm);
		print("host_shm_read", &shm, false);
	}
	print_ratios("vmm_seq_read", &vmm, &host, shm_fd >= 0 ? &shm : NULL);
	print_ratios("vmm_seq_access", &acc, &host, shm_fd >= 0 ? &shm : NULL);
out:
	if (vmm_machine_check(m, stderr))
		die("vmm_machine_check");
	vmm_machine_set_fault_handler(m, NULL, NULL);
	vmm_file_close(&f);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
	return 0;
}
