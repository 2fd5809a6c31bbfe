/* SPDX-License-Identifier: MIT */
/*
 * The differential test of src/mm/mmap.c and vma.c against the host kernel.
 *
 * A real child (host_runner, static, started with ASLR off and RLIMIT_STACK
 * 8 MiB, so its mmap_base is TASK_SIZE - 128 MiB as libvmm's is) reports its
 * address space; libvmm rebuilds it in a fresh task: the heap through brk,
 * every other mapping as a special mapping that never merges. Operations
 * are then chosen against libvmm's state, run in libvmm, sent to the child
 * and run there by the real system calls; after each one the return values
 * and /proc/self/maps are compared: addresses relative to mmap_base, rights,
 * offsets, names, and so the number of VMAs after every merge and split.
 * Fixed addresses stay inside an arena of 16 MiB just below the child's
 * lowest mapping under mmap_base, where the top-down allocations land too,
 * so nothing the child had is touched and the lines it had are filtered out
 * on both sides.
 *
 * Seeded: sequence i uses seed VMM_TEST_SEED + i (default base 1); VMM_TEST_OPS
 * sets the number of sequences (default 200). A failing sequence prints its
 * seed, its operations and both maps.
 */
#include "test_util.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "diff_proto.h"
#include "lib/prng.h"
#include "machine.h"
#include "mm/mmap.h"
#include "mm/task.h"
#include "mm/vma.h"

#define PG 4096ull
#define MiB (1ull << 20)
#define ARENA (16 * MiB)
#define OPS_PER_SEQ 40u
#define MAX_BASE 64

struct base_map {
	uint64_t start, end;
	char perms[5];
	char name[80];
};

struct session {
	pid_t pid;
	int to, from;
	struct diff_hello hello;
	struct base_map base[MAX_BASE];
	unsigned nbase;
	vmm_machine *m;
	vmm_task *t;
	uint64_t arena_lo, arena_hi, mmap_base;
	struct diff_op ops[DIFF_MAX_OPS];
	int64_t vret[DIFF_MAX_OPS];
	char *vmaps[DIFF_MAX_OPS];
	unsigned nops;
};

static const char *runner_path(void)
{
	const char *p = getenv("VMM_DIFF_RUNNER");

	return p ? p : "tests/diff/host_runner";
}

static int read_full(int fd, void *p, size_t n)
{
	char *c = p;

	while (n) {
		ssize_t r = read(fd, c, n);

		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static char *read_blob(int fd, uint64_t len)
{
	char *s = malloc(len + 1);

	assert_non_null(s);
	assert_int_equal(read_full(fd, s, len), 0);
	s[len] = 0;
	return s;
}

/* Start the runner as the kernel's personality(ADDR_NO_RANDOMIZE) + exec would. */
static int spawn(struct session *s)
{
	int in[2], out[2];
	const char *path = runner_path();

	if (access(path, X_OK) || pipe(in) || pipe(out))
		return -1;
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		struct rlimit stack = { 8 * MiB, RLIM_INFINITY };

		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		if (personality(ADDR_NO_RANDOMIZE) < 0 || setrlimit(RLIMIT_STACK, &stack))
			_exit(90);
		execl(path, path, (char *)NULL);
		_exit(91);
	}
	close(in[0]);
	close(out[1]);
	s->to = in[1];
	s->from = out[0];
	return 0;
}

static int reap(struct session *s)
{
	int status = 0;

	close(s->to);
	close(s->from);
	waitpid(s->pid, &status, 0);
	return status;
}

/* The next line of @text into @buf (without its newline); the text after it, or NULL at the end. */
static const char *next_line(const char *text, char *buf, size_t size)
{
	const char *nl = strchr(text, '\n');
	size_t n = nl ? (size_t)(nl - text) : strlen(text);

	snprintf(buf, size, "%.*s", (int)n, text);
	return nl ? nl + 1 : NULL;
}

/* One maps line: range, rights, offset, name (empty when none). */
static bool parse_line(const char *line, uint64_t *start, uint64_t *end, char perms[5],
		       uint64_t *off, char *name, size_t name_size)
{
	int pos = 0;

	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %*s %*s%n", start, end, perms, off,
		   &pos) < 4 || !pos)
		return false;
	while (line[pos] == ' ')
		pos++;
	snprintf(name, name_size, "%s", line + pos);
	return true;
}

static void parse_baseline(struct session *s, const char *maps)
{
	char line[512];

	s->nbase = 0;
	while (maps && *maps && s->nbase < MAX_BASE) {
		struct base_map *b = &s->base[s->nbase];
		uint64_t off;

		maps = next_line(maps, line, sizeof(line));
		memset(b, 0, sizeof(*b));
		if (parse_line(line, &b->start, &b->end, b->perms, &off, b->name, sizeof(b->name)))
			s->nbase++;
	}
}

static uint64_t perms_flags(const char *p)
{
	return (p[0] == 'r' ? VMM_VM_READ : 0) | (p[1] == 'w' ? VMM_VM_WRITE : 0) |
	       (p[2] == 'x' ? VMM_VM_EXEC : 0) | VMM_VM_MAYREAD | VMM_VM_MAYWRITE | VMM_VM_MAYEXEC;
}

static int64_t read_sysctl(const char *path, int64_t fallback)
{
	FILE *f = fopen(path, "r");
	long long v;

	if (!f)
		return fallback;
	if (fscanf(f, "%lld", &v) != 1)
		v = fallback;
	fclose(f);
	return v;
}

/* Host kernels before 6.8 did not align anonymous multiples of 2 MiB as libvmm does. */
static bool host_thp_align(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (access("/sys/kernel/mm/transparent_hugepage", F_OK))
		return false;
	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 8);
}

/* Rebuild the runner's layout in a fresh libvmm task. */
static void build_model(struct session *s)
{
	struct vmm_config cfg;
	struct vmm_mm_info mi;
	uint64_t heap_start = 0, lowest = UINT64_MAX;
	vmm_vaddr_t b;

	/* a small machine: vmm_machine_check() after every operation walks all of its memory map */
	small_config(&cfg);
	assert_int_equal(vmm_machine_create(&cfg, &s->m), 0);
	assert_int_equal(vmm_sysctl_set(s->m, "kernel.randomize_va_space", 0), 0);
	assert_int_equal(vmm_sysctl_set(s->m, "vm.max_map_count",
					read_sysctl("/proc/sys/vm/max_map_count", 65530)), 0);
	assert_int_equal(vmm_sysctl_set(s->m, "vm.overcommit_memory",
					read_sysctl("/proc/sys/vm/overcommit_memory", 0)), 0);
	assert_int_equal(vmm_sysctl_set(s->m, "vm.mmap_min_addr",
					read_sysctl("/proc/sys/vm/mmap_min_addr", 4096)), 0);
	assert_int_equal(vmm_sysctl_set(s->m, "vm.thp_align_anon", host_thp_align()), 0);
	assert_int_equal(vmm_task_create(s->m, "runner", &s->t), 0);
	assert_int_equal(vmm_task_setrlimit(s->t, VMM_RLIMIT_MEMLOCK,
					    &(struct vmm_rlimit){ VMM_RLIM_INFINITY, VMM_RLIM_INFINITY }),
			 0);
	assert_int_equal(vmm_task_mm_info(s->t, &mi), 0);
	s->mmap_base = mi.mmap_base;
	for (unsigned i = 0; i < s->nbase; i++)
		if (!strcmp(s->base[i].name, "[heap]"))
			heap_start = s->base[i].start;
	if (!heap_start)
		heap_start = s->hello.brk;
	s->t->mm->start_brk = s->t->mm->brk = 0;
	assert_int_equal(vmm_mm_set_brk_base(s->t->mm, heap_start), 0);
	assert_int_equal(vmm_brk(s->t, s->hello.brk, &b), 0);
	assert_int_equal(b, s->hello.brk);
	for (unsigned i = 0; i < s->nbase; i++) {
		const struct base_map *bm = &s->base[i];
		uint64_t f = perms_flags(bm->perms);

		if (!strcmp(bm->name, "[heap]") || bm->end > mi.task_size)
			continue;
		if (!strcmp(bm->name, "[stack]"))
			f |= VMM_VM_GROWSDOWN;
		assert_int_equal(vmm_install_special_mapping(s->t->mm, bm->start, bm->end - bm->start,
							     f, bm->name),
				 0);
		if (bm->start > heap_start && bm->start < s->mmap_base && bm->start < lowest)
			lowest = bm->start;
	}
	assert_true(lowest != UINT64_MAX);
	s->arena_hi = lowest;
	s->arena_lo = lowest - ARENA;
}

/* maps, one normalized line per mapping that is not part of the baseline. */
static bool is_baseline(const struct session *s, uint64_t start, uint64_t end, const char *perms)
{
	for (unsigned i = 0; i < s->nbase; i++)
		if (s->base[i].start == start && s->base[i].end == end &&
		    !strncmp(s->base[i].perms, perms, 4) && strcmp(s->base[i].name, "[heap]"))
			return true;
	return false;
}

static char *normalize(const struct session *s, const char *maps)
{
	char *buf = NULL, line[512], name[256], perms[5];
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	uint64_t start, end, off;

	assert_non_null(out);
	while (maps && *maps) {
		maps = next_line(maps, line, sizeof(line));
		if (!parse_line(line, &start, &end, perms, &off, name, sizeof(name)) ||
		    is_baseline(s, start, end, perms))
			continue;
		fprintf(out, "base%+" PRId64 "..base%+" PRId64 " %s %08" PRIx64 " %s\n",
			(int64_t)(start - s->mmap_base), (int64_t)(end - s->mmap_base), perms, off,
			name);
	}
	fclose(out);
	return buf;
}

static char *model_maps(struct session *s)
{
	char *raw = PRINT_TO_STRING(vmm_task_dump(s->t, VMM_TASK_DUMP_MAPS, out)), *norm;

	norm = normalize(s, raw);
	free(raw);
	return norm;
}

static int64_t run_model(struct session *s, const struct diff_op *o)
{
	vmm_vaddr_t out = 0;
	int err;

	switch (o->kind) {
	case DOP_MMAP:
		err = vmm_mmap(s->t, o->a[0], o->a[1], (unsigned)o->a[2], (unsigned)o->a[3], NULL, 0,
			       &out);
		return err ? err : (int64_t)out;
	case DOP_MUNMAP:
		return vmm_munmap(s->t, o->a[0], o->a[1]);
	case DOP_MPROTECT:
		return vmm_mprotect(s->t, o->a[0], o->a[1], (unsigned)o->a[2]);
	case DOP_MREMAP:
		err = vmm_mremap(s->t, o->a[0], o->a[1], o->a[2], (unsigned)o->a[3], o->a[4], &out);
		return err ? err : (int64_t)out;
	case DOP_BRK:
		vmm_brk(s->t, o->a[0], &out);
		return (int64_t)out;
	case DOP_MADVISE:
		return vmm_madvise(s->t, o->a[0], o->a[1], (int)o->a[2]);
	case DOP_MLOCK:
		return vmm_mlock(s->t, o->a[0], o->a[1]);
	case DOP_MUNLOCK:
		return vmm_munlock(s->t, o->a[0], o->a[1]);
	}
	return -VMM_EINVAL;
}

static const char *op_name(unsigned k)
{
	static const char *const names[] = { "?", "mmap", "munmap", "mprotect", "mremap", "brk",
					     "madvise", "mlock", "munlock" };

	return k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

static void print_ops(const struct session *s, unsigned upto)
{
	for (unsigned i = 0; i <= upto && i < s->nops; i++) {
		const struct diff_op *o = &s->ops[i];

		printf("#   %3u %-8s %#" PRIx64 " %#" PRIx64 " %#" PRIx64 " %#" PRIx64 " %#" PRIx64
		       " -> %" PRId64 "\n",
		       i, op_name(o->kind), o->a[0], o->a[1], o->a[2], o->a[3], o->a[4], s->vret[i]);
	}
}

/* Append an operation, run it in libvmm and keep libvmm's maps after it. */
static void add_op(struct session *s, uint32_t kind, uint64_t a0, uint64_t a1, uint64_t a2,
		   uint64_t a3, uint64_t a4)
{
	struct diff_op *o = &s->ops[s->nops];

	assert_true(s->nops < DIFF_MAX_OPS);
	*o = (struct diff_op){ .kind = kind, .a = { a0, a1, a2, a3, a4 } };
	s->vret[s->nops] = run_model(s, o);
	s->vmaps[s->nops] = model_maps(s);
	s->nops++;
	assert_machine_healthy(s->m);
}

static void session_start(struct session *s)
{
	char *maps;

	memset(s, 0, sizeof(*s));
	if (spawn(s)) {
		printf("# cannot start %s\n", runner_path());
		skip();
	}
	if (read_full(s->from, &s->hello, sizeof(s->hello)) || s->hello.magic != DIFF_MAGIC) {
		printf("# the runner did not start (no personality(ADDR_NO_RANDOMIZE)?): status %d\n",
		       reap(s));
		skip();
	}
	maps = read_blob(s->from, s->hello.maps_len);
	parse_baseline(s, maps);
	free(maps);
	build_model(s);
}

/* Send the operations, compare each result and maps; false (and a report) on a difference. */
static bool session_finish(struct session *s, uint64_t seed)
{
	bool ok = true;

	assert_int_equal(write_full(s->to, &s->nops, sizeof(uint32_t)), 0);
	assert_int_equal(write_full(s->to, s->ops, s->nops * sizeof(s->ops[0])), 0);
	for (unsigned i = 0; i < s->nops; i++) {
		struct diff_result r;
		char *raw, *host;

		if (read_full(s->from, &r, sizeof(r))) {
			printf("# seed %" PRIu64 ": the runner died at operation %u (status %#x)\n",
			       seed, i, reap(s));
			print_ops(s, i);
			fail();
		}
		raw = read_blob(s->from, r.maps_len);
		host = normalize(s, raw);
		free(raw);
		if (ok && (r.ret != s->vret[i] || strcmp(host, s->vmaps[i]))) {
			printf("# seed %" PRIu64 ": operation %u differs: host returned %" PRId64
			       ", libvmm %" PRId64 "\n",
			       seed, i, r.ret, s->vret[i]);
			print_ops(s, i);
			printf("# host maps:\n%s# libvmm maps:\n%s", host, s->vmaps[i]);
			ok = false;
		}
		free(host);
	}
	for (unsigned i = 0; i < s->nops; i++)
		free(s->vmaps[i]);
	assert_int_equal(reap(s), 0);
	vmm_task_destroy(&s->t);
	assert_machine_healthy(s->m);
	vmm_machine_destroy(&s->m);
	return ok;
}

/* ---- random sequences ---- */

static const unsigned prots[] = { 0, 1, 3, 3, 3, 3, 5, 7, 1 };
static const int advices[] = { VMM_MADV_NORMAL,	  VMM_MADV_RANDOM,   VMM_MADV_SEQUENTIAL,
			       VMM_MADV_WILLNEED, VMM_MADV_DONTNEED, VMM_MADV_DONTFORK,
			       VMM_MADV_DOFORK };

static uint64_t rnd(struct vmm_prng *p, uint64_t n)
{
	return vmm_prng_below(p, n);
}

static uint64_t rand_pages(struct vmm_prng *p)
{
	uint64_t r = rnd(p, 100);

	if (r < 70)
		return 1 + rnd(p, 16);
	if (r < 92)
		return 17 + rnd(p, 48);
	return 512 * (1 + rnd(p, 2));
}

/* A page-aligned address in the arena with room for @len. */
static uint64_t arena_addr(const struct session *s, struct vmm_prng *p, uint64_t len)
{
	uint64_t room = ARENA > len ? (ARENA - len) / PG : 0;

	return s->arena_lo + rnd(p, room + 1) * PG;
}

/* A VMA of the arena picked at random, or false. */
static bool pick_vma(struct session *s, struct vmm_prng *p, struct vmm_vma_info *out)
{
	struct vmm_vma_info vi;
	vmm_vaddr_t at = s->arena_lo;
	unsigned n = 0, want;

	while (!vmm_find_vma(s->t, at, &vi) && vi.start < s->arena_hi) {
		n++;
		at = vi.end;
	}
	if (!n)
		return false;
	want = (unsigned)rnd(p, n);
	at = s->arena_lo;
	for (unsigned i = 0; i <= want; i++) {
		assert_int_equal(vmm_find_vma(s->t, at, out), 0);
		at = out->end;
	}
	return true;
}

/* A range [*a, *a + *len) inside the arena, usually overlapping a VMA. */
static void pick_range(struct session *s, struct vmm_prng *p, uint64_t *a, uint64_t *len)
{
	struct vmm_vma_info vi;

	if (rnd(p, 100) < 75 && pick_vma(s, p, &vi)) {
		uint64_t pages = (vi.end - vi.start) / PG;

		*a = vi.start + rnd(p, pages) * PG;
		if (rnd(p, 4) == 0)
			*a -= rnd(p, 3) * PG;
		*len = (1 + rnd(p, pages + 2)) * PG;
	} else {
		*len = rand_pages(p) * PG;
		*a = arena_addr(s, p, *len);
	}
	if (*a < s->arena_lo)
		*a = s->arena_lo;
	if (*a + *len > s->arena_hi)
		*len = s->arena_hi - *a;
}

static void gen_mmap(struct session *s, struct vmm_prng *p)
{
	uint64_t len = rand_pages(p) * PG, addr = 0, mode = rnd(p, 100);
	unsigned prot = prots[rnd(p, sizeof(prots) / sizeof(prots[0]))];
	unsigned flags = VMM_MAP_ANONYMOUS | (rnd(p, 5) ? VMM_MAP_PRIVATE : VMM_MAP_SHARED);

	if (mode < 30) {
		flags |= VMM_MAP_FIXED;
		addr = arena_addr(s, p, len);
	} else if (mode < 36) {
		flags |= VMM_MAP_FIXED_NOREPLACE;
		addr = arena_addr(s, p, len);
	} else if (mode < 50) {
		addr = arena_addr(s, p, len);
	} else if (mode < 53) {
		flags |= VMM_MAP_32BIT;
	}
	if ((flags & VMM_MAP_PRIVATE) && rnd(p, 20) == 0)
		flags |= VMM_MAP_GROWSDOWN;
	if (rnd(p, 10) == 0)
		flags |= VMM_MAP_NORESERVE;
	if (rnd(p, 20) == 0)
		flags |= VMM_MAP_STACK;
	if ((flags & VMM_MAP_PRIVATE) && (prot & VMM_PROT_WRITE) && len <= 64 * PG && rnd(p, 12) == 0)
		flags |= VMM_MAP_POPULATE;
	add_op(s, DOP_MMAP, addr, len, prot, flags, 0);
}

static void gen_mremap(struct session *s, struct vmm_prng *p)
{
	struct vmm_vma_info vi;
	uint64_t old, old_len, new_len = (1 + rnd(p, 32)) * PG, r = rnd(p, 100), flags = 0,
			       new_addr = 0;

	if (!pick_vma(s, p, &vi))
		return;
	old = vi.start + rnd(p, (vi.end - vi.start) / PG) * PG;
	old_len = rnd(p, 4) ? vi.end - old : (1 + rnd(p, (vi.end - old) / PG)) * PG;
	if (r < 35) {
		flags = VMM_MREMAP_MAYMOVE;
	} else if (r < 42) {
		flags = VMM_MREMAP_MAYMOVE | VMM_MREMAP_DONTUNMAP;
		new_len = old_len;
		if (rnd(p, 2))
			new_addr = arena_addr(s, p, new_len);
	} else if (r < 60) {
		flags = VMM_MREMAP_MAYMOVE | VMM_MREMAP_FIXED;
		new_addr = arena_addr(s, p, new_len);
	}
	add_op(s, DOP_MREMAP, old, old_len, new_len, flags, new_addr);
}

static void gen_op(struct session *s, struct vmm_prng *p)
{
	uint64_t r = rnd(p, 100), a, len;

	if (r < 34) {
		gen_mmap(s, p);
	} else if (r < 52) {
		pick_range(s, p, &a, &len);
		add_op(s, DOP_MUNMAP, a, len, 0, 0, 0);
	} else if (r < 72) {
		pick_range(s, p, &a, &len);
		add_op(s, DOP_MPROTECT, a, len, prots[rnd(p, sizeof(prots) / sizeof(prots[0]))], 0, 0);
	} else if (r < 84) {
		gen_mremap(s, p);
	} else if (r < 92) {
		pick_range(s, p, &a, &len);
		add_op(s, DOP_MADVISE, a, len,
		       (uint64_t)advices[rnd(p, sizeof(advices) / sizeof(advices[0]))], 0, 0);
	} else if (r < 97) {
		/* never below the runner's own break: its TLS lives in the heap */
		uint64_t b = rnd(p, 16) ? s->hello.brk + rnd(p, 48) * PG + rnd(p, 2) * rnd(p, PG)
					: s->t->mm->start_brk - PG;

		add_op(s, DOP_BRK, b, 0, 0, 0, 0);
	} else {
		pick_range(s, p, &a, &len);
		if (len > 16 * PG)
			len = 16 * PG;
		add_op(s, rnd(p, 2) ? DOP_MLOCK : DOP_MUNLOCK, a, len, 0, 0, 0);
	}
}

static void test_random_sequences(void **state)
{
	uint64_t base = test_seed("diff_mmap", 1), n = test_ops(200);
	unsigned failed = 0;

	(void)state;
	for (uint64_t i = 0; i < n; i++) {
		struct session *s = calloc(1, sizeof(*s));
		struct vmm_prng p;

		assert_non_null(s);
		vmm_prng_seed(&p, base + i);
		session_start(s);
		while (s->nops < OPS_PER_SEQ)
			gen_op(s, &p);
		if (!session_finish(s, base + i))
			failed++;
		free(s);
	}
	printf("# %" PRIu64 " sequences of %u operations, seeds %" PRIu64 "..%" PRIu64
	       ": %u differed\n",
	       n, OPS_PER_SEQ, base, base + n - 1, failed);
	assert_int_equal(failed, 0);
}

/* ---- hand-written cases ---- */

#define A(pages) (s->arena_lo + (uint64_t)(pages) * PG)
#define PRIV (VMM_MAP_PRIVATE | VMM_MAP_ANONYMOUS)
#define FIX (PRIV | VMM_MAP_FIXED)

static void run_case(const char *name, void (*build)(struct session *s))
{
	struct session *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	session_start(s);
	build(s);
	if (!session_finish(s, 0)) {
		printf("# case %s differs\n", name);
		fail();
	}
	free(s);
}

/* vma_merge with prev, with next, with both, and refusals, for new mappings. */
static void case_new_range(struct session *s)
{
	add_op(s, DOP_MMAP, A(0), 4 * PG, 3, FIX, 0);
	add_op(s, DOP_MMAP, A(4), 4 * PG, 3, FIX, 0);		/* merges with prev */
	add_op(s, DOP_MMAP, A(12), 4 * PG, 3, FIX, 0);
	add_op(s, DOP_MMAP, A(10), 2 * PG, 3, FIX, 0);		/* merges with next */
	add_op(s, DOP_MMAP, A(8), 2 * PG, 3, FIX, 0);		/* merges with both */
	add_op(s, DOP_MMAP, A(16), PG, 1, FIX, 0);		/* other rights: no */
	add_op(s, DOP_MMAP, A(17), PG, 3, FIX | VMM_MAP_NORESERVE, 0); /* no VM_ACCOUNT: no */
	add_op(s, DOP_MMAP, A(18), PG, 3, FIX | VMM_MAP_STACK, 0);	/* VM_NOHUGEPAGE: no */
	add_op(s, DOP_MMAP, A(19), PG, 3, VMM_MAP_SHARED | VMM_MAP_ANONYMOUS | VMM_MAP_FIXED, 0);
	add_op(s, DOP_MMAP, A(20), PG, 3, VMM_MAP_SHARED | VMM_MAP_ANONYMOUS | VMM_MAP_FIXED, 0);
	add_op(s, DOP_MMAP, A(21), PG, 3, FIX | VMM_MAP_GROWSDOWN, 0);
	add_op(s, DOP_MMAP, 0, PG, 3, PRIV, 0);		/* top-down */
	add_op(s, DOP_MMAP, 0, PG, 3, PRIV, 0);		/* below it: merges */
}

/* vma_merge of an existing range (mprotect): all of it, its ends, its middle. */
static void case_existing_range(struct session *s)
{
	add_op(s, DOP_MMAP, A(0), 16 * PG, 3, FIX, 0);
	add_op(s, DOP_MPROTECT, A(4), 4 * PG, 1, 0, 0);		/* middle: split in three */
	add_op(s, DOP_MPROTECT, A(4), 4 * PG, 3, 0, 0);		/* back: one */
	add_op(s, DOP_MPROTECT, A(0), 2 * PG, 1, 0, 0);		/* head */
	add_op(s, DOP_MPROTECT, A(2), 2 * PG, 1, 0, 0);		/* joins prev */
	add_op(s, DOP_MPROTECT, A(14), 2 * PG, 1, 0, 0);	/* tail */
	add_op(s, DOP_MPROTECT, A(12), 2 * PG, 1, 0, 0);	/* joins next */
	add_op(s, DOP_MPROTECT, A(4), 8 * PG, 1, 0, 0);		/* all: prev, it and next */
	add_op(s, DOP_MPROTECT, A(0), 32 * PG, 3, 0, 0);	/* a hole: partly done, ENOMEM */
	add_op(s, DOP_MADVISE, A(3), 2 * PG, VMM_MADV_RANDOM, 0, 0);
	add_op(s, DOP_MADVISE, A(0), 16 * PG, VMM_MADV_NORMAL, 0, 0);
	add_op(s, DOP_MLOCK, A(5), PG, 0, 0, 0);
	add_op(s, DOP_MUNLOCK, A(0), 16 * PG, 0, 0, 0);
}

/* anon_vma decides: populated and unpopulated neighbours, and two different anon_vmas. */
static void case_anon_vma(struct session *s)
{
	add_op(s, DOP_MMAP, A(0), 4 * PG, 3, FIX | VMM_MAP_POPULATE, 0);
	add_op(s, DOP_MMAP, A(4), 4 * PG, 3, FIX, 0);		/* joins a populated prev */
	add_op(s, DOP_MMAP, A(12), 4 * PG, 3, FIX | VMM_MAP_POPULATE, 0);
	add_op(s, DOP_MMAP, A(8), 4 * PG, 3, FIX, 0);		/* prev and next differ: one side */
	add_op(s, DOP_MPROTECT, A(8), 4 * PG, 1, 0, 0);
	add_op(s, DOP_MPROTECT, A(8), 4 * PG, 3, 0, 0);
	add_op(s, DOP_MMAP, A(20), 4 * PG, 3, FIX, 0);
	add_op(s, DOP_MREMAP, A(20), 4 * PG, 4 * PG, 3, A(24));	/* unfaulted: takes its new pgoff */
	add_op(s, DOP_MMAP, A(28), 4 * PG, 3, FIX, 0);
	add_op(s, DOP_MREMAP, A(0), 4 * PG, 4 * PG, 3, A(40));	/* faulted: keeps its pgoff */
	add_op(s, DOP_MMAP, A(44), 4 * PG, 3, FIX, 0);
}

/* mremap in place (joining next), moves, shrinks; brk up, down, blocked. */
static void case_mremap_brk(struct session *s)
{
	uint64_t brk = s->t->mm->brk;

	add_op(s, DOP_MMAP, A(0), 4 * PG, 3, FIX, 0);
	add_op(s, DOP_MMAP, A(8), 4 * PG, 3, FIX, 0);
	add_op(s, DOP_MREMAP, A(0), 4 * PG, 8 * PG, 0, 0);	/* grows into next */
	add_op(s, DOP_MREMAP, A(0), 12 * PG, 16 * PG, 0, 0);	/* no room above: ENOMEM */
	add_op(s, DOP_MREMAP, A(0), 12 * PG, 16 * PG, VMM_MREMAP_MAYMOVE, 0);
	add_op(s, DOP_MREMAP, A(1), PG, 0, 0, 0);		/* new_len 0 */
	add_op(s, DOP_BRK, brk + 3 * PG, 0, 0, 0, 0);
	add_op(s, DOP_BRK, brk + 100, 0, 0, 0, 0);
	add_op(s, DOP_BRK, 0, 0, 0, 0, 0);
	add_op(s, DOP_MMAP, PAGE_ALIGN(brk) + 8 * PG, PG, 1, FIX, 0);
	add_op(s, DOP_BRK, brk + 8 * PG, 0, 0, 0, 0);		/* blocked */
}

static void test_merge_cases(void **state)
{
	(void)state;
	run_case("new range", case_new_range);
	run_case("existing range", case_existing_range);
	run_case("anon_vma", case_anon_vma);
	run_case("mremap and brk", case_mremap_brk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_cases),
		cmocka_unit_test(test_random_sequences),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
