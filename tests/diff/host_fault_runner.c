/* SPDX-License-Identifier: MIT */
/*
 * host_fault_runner: the host-kernel side of test_diff_fault. Runs one
 * access sequence on an anonymous mapping of N pages and prints, after each
 * phase, the minor faults the phase took (getrusage ru_minflt before and
 * after the touches only) and the mapping's smaps Rss, Anonymous and
 * Private_Dirty in kB:
 *
 *   <phase> <minflt> <rss> <anonymous> <private_dirty>
 *
 * Usage: host_fault_runner SCENARIO <pages>, SCENARIO one of the anonymous
 * fresh, readwrite, forkcow, mprotect, or the file-backed fileread,
 * filewrite, fileprivate, filerw: a file of <pages> pages written with
 * write() (so that every page is cached, uptodate and without a readahead
 * marker) in the current directory, mapped at a 64 KiB-aligned address so
 * that fault-around windows fall alike, and unlinked at once. filerw
 * (reads, then writes through a shared mapping) depends on the filesystem
 * tracking dirty pages (ext4, xfs...: the first write of each page faults);
 * on tmpfs it prints "skip" and exits 0.
 *
 * The mapping is MADV_NOHUGEPAGE (libvmm has no THP yet; the flag also
 * keeps the VMA from merging with a neighbour). The code and the stack the
 * measured loop uses are warmed before each "before" reading, so that the
 * window holds the touches alone. In the fork sequence the child measures
 * its own faults (a child starts with ru_minflt 0), after warming its
 * stack, which fork made copy-on-write.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096ul

static char smaps[1 << 20];

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static __attribute__((noinline)) void touch(volatile char *p, unsigned long n, int write)
{
	for (unsigned long i = 0; i < n; i++) {
		if (write)
			p[i * PG] = 1;
		else
			(void)p[i * PG];
	}
}

/* One field ("Rss:") of @base's block in /proc/self/smaps, in kB. */
static long smaps_field(unsigned long base, const char *field)
{
	char head[32], *p;
	FILE *f = fopen("/proc/self/smaps", "r");
	size_t len;

	if (!f)
		return -1;
	len = fread(smaps, 1, sizeof(smaps) - 1, f);
	fclose(f);
	smaps[len] = 0;
	snprintf(head, sizeof(head), "\n%lx-", base);
	p = strstr(smaps, head);
	if (!p)
		return -1;
	p = strstr(p, field);
	return p ? strtol(p + strlen(field), NULL, 10) : -1;
}

static volatile char warm[PG];

static void phase(const char *name, char *p, unsigned long n, int write)
{
	long before, after;

	touch(warm, 1, 1);
	minflt();
	before = minflt();
	touch(p, n, write);
	after = minflt();
	printf("%s %ld %ld %ld %ld\n", name, after - before, smaps_field((unsigned long)p, "Rss:"),
	       smaps_field((unsigned long)p, "Anonymous:"),
	       smaps_field((unsigned long)p, "Private_Dirty:"));
	fflush(stdout);
}

/* The file of @n pages, each page's first byte its index; -1 on failure. */
static int make_file(unsigned long n)
{
	char name[] = "host_fault_runner.XXXXXX", page[PG];
	int fd = mkstemp(name);

	if (fd < 0)
		return -1;
	unlink(name);
	for (unsigned long i = 0; i < n; i++) {
		memset(page, (int)i, sizeof(page));
		if (write(fd, page, sizeof(page)) != (ssize_t)sizeof(page))
			return -1;
	}
	return fsync(fd) ? -1 : fd;
}

/* Map @fd at a 64 KiB-aligned address (inside a reservation made for the purpose). */
static char *map_file(int fd, unsigned long n, int prot, int flags)
{
	char *r = mmap(NULL, (n + 16) * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *p;
	unsigned long a;

	if (r == MAP_FAILED)
		return NULL;
	a = ((unsigned long)r + 16 * PG - 1) & ~(16 * PG - 1);
	p = mmap((void *)a, n * PG, prot, flags | MAP_FIXED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

static int file_scenario(const char *s, unsigned long n)
{
	int fd = make_file(n), shared = strcmp(s, "fileprivate") != 0;
	struct statfs sf;
	char *p;

	if (fd < 0 || fstatfs(fd, &sf))
		return 3;
	if (!strcmp(s, "filerw") && sf.f_type == 0x01021994) {	/* TMPFS_MAGIC */
		printf("skip\n");
		return 0;
	}
	p = map_file(fd, n, !strcmp(s, "fileread") ? PROT_READ : PROT_READ | PROT_WRITE,
		     shared ? MAP_SHARED : MAP_PRIVATE);
	if (!p || madvise(p, n * PG, MADV_NOHUGEPAGE))
		return 3;
	if (!strcmp(s, "filewrite")) {
		phase("write", p, n, 1);
	} else {
		phase("read", p, n, 0);
		if (strcmp(s, "fileread"))
			phase("write", p, n, 1);
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long n;
	const char *s;
	char *p;

	if (argc != 3)
		return 2;
	s = argv[1];
	n = strtoul(argv[2], NULL, 0);
	if (!strncmp(s, "file", 4))
		return file_scenario(s, n);
	p = mmap(NULL, n * PG, strcmp(s, "mprotect") ? PROT_READ | PROT_WRITE : PROT_READ,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || madvise(p, n * PG, MADV_NOHUGEPAGE))
		return 3;
	if (!strcmp(s, "fresh")) {
		phase("write", p, n, 1);
	} else if (!strcmp(s, "readwrite")) {
		phase("read", p, n, 0);
		phase("write", p, n, 1);
	} else if (!strcmp(s, "mprotect")) {
		phase("read", p, n, 0);
		if (mprotect(p, n * PG, PROT_READ | PROT_WRITE))
			return 4;
		phase("write", p, n, 1);
	} else if (!strcmp(s, "forkcow")) {
		pid_t pid;
		int st;

		phase("write", p, n, 1);
		pid = fork();
		if (pid < 0)
			return 5;
		if (pid == 0) {
			phase("child-write", p, n, 1);
			_exit(0);
		}
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
			return 6;
		phase("parent-write", p, n, 1);
	} else {
		return 2;
	}
	return 0;
}
