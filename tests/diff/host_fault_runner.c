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
 * Usage: host_fault_runner fresh|readwrite|forkcow|mprotect <pages>
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

int main(int argc, char **argv)
{
	unsigned long n;
	const char *s;
	char *p;

	if (argc != 3)
		return 2;
	s = argv[1];
	n = strtoul(argv[2], NULL, 0);
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
