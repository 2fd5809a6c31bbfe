/* SPDX-License-Identifier: MIT */
/*
 * Tests of src/mm/mmap.c: placement (top-down from mmap_base, hints,
 * MAP_FIXED, MAP_FIXED_NOREPLACE, mmap_min_addr, THP alignment, the stack
 * guard gap), Linux's errors for bad arguments with nothing changed, every
 * vma_merge case through mmap, mprotect, mlock and madvise, munmap splits,
 * brk, mremap in place and moving, max_map_count, RLIMIT_AS/DATA/MEMLOCK and
 * overcommit accounting. vmm_machine_check() after every step.
 */
#include "mm/mm_test_util.h"

#include "machine.h"

static const vmm_vaddr_t B = NORAND_MMAP_BASE;

static void test_topdown_placement(void **state)
{
	vmm_machine *m = norand_machine();
	vmm_task *t = new_task(m);
	struct vmm_mm_info mi;
	vmm_vaddr_t a, b, c;

	(void)state;
	assert_int_equal(vmm_task_mm_info(t, &mi), 0);
	assert_int_equal(mi.mmap_base, B);
	a = map_anon(t, 0, PG, RW, 0);
	assert_int_equal(a, B - PG);
	/* same flags, adjacent below: one VMA */
	b = map_anon(t, 0, 2 * PG, RW, 0);
	assert_int_equal(b, B - 3 * PG);
	assert_int_equal(map_count(t), 1);
	/* different rights: a VMA of its own */
	c = map_anon(t, 0, PG, VMM_PROT_READ, 0);
	assert_int_equal(c, B - 4 * PG);
	assert_int_equal(map_count(t), 2);
	/* a 2 MiB multiple is 2 MiB aligned (THP) */
	a = map_anon(t, 0, 2 * MiB, RW, 0);
	assert_int_equal(a & (2 * MiB - 1), 0);
	assert_int_equal(a, (B - 4 * PG - 2 * MiB) & ~(2 * MiB - 1));
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	assert_null(t);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void test_hints_and_fixed(void **state)
{
	vmm_machine *m = norand_machine();
	vmm_task *t = new_task(m);
	vmm_vaddr_t a, x;

	(void)state;
	/* a free hint is honoured */
	a = map_anon(t, 0x100000000ull, PG, RW, 0);
	assert_int_equal(a, 0x100000000ull);
	/* an occupied hint is not */
	x = map_anon(t, 0x100000000ull, PG, RW, 0);
	assert_int_equal(x, B - PG);
	/* an unaligned hint is rounded down */
	x = map_anon(t, 0x200000123ull, PG, VMM_PROT_READ, 0);
	assert_int_equal(x, 0x200000000ull);
	/* a hint below mmap_min_addr becomes mmap_min_addr; one rounding down to 0 is no hint */
	x = map_anon(t, 0x10, PG, VMM_PROT_EXEC, 0);
	assert_int_equal(x, B - 2 * PG);
	assert_int_equal(vmm_sysctl_set(m, "vm.mmap_min_addr", 0x10000), 0);
	x = map_anon(t, 0x2000, PG, VMM_PROT_EXEC, 0);
	assert_int_equal(x, 0x10000);
	assert_int_equal(vmm_sysctl_set(m, "vm.mmap_min_addr", 4096), 0);
	/* MAP_FIXED replaces */
	x = map_anon(t, 0x100000000ull, PG, VMM_PROT_READ, VMM_MAP_FIXED);
	assert_int_equal(x, 0x100000000ull);
	/* MAP_FIXED_NOREPLACE refuses, changing nothing */
	assert_int_equal(vmm_mmap(t, 0x100000000ull, PG, RW, ANON | VMM_MAP_FIXED_NOREPLACE, NULL,
				  0, &x),
			 -VMM_EEXIST);
	assert_int_equal(vmm_mmap(t, 0x100001000ull, PG, RW, ANON | VMM_MAP_FIXED_NOREPLACE, NULL,
				  0, &x),
			 0);
	assert_int_equal(x, 0x100001000ull);
	/* below mmap_min_addr: EPERM; unaligned fixed: EINVAL */
	assert_int_equal(vmm_mmap(t, 0, PG, RW, ANON | VMM_MAP_FIXED, NULL, 0, &x), -VMM_EPERM);
	assert_int_equal(vmm_mmap(t, 0x300000010ull, PG, RW, ANON | VMM_MAP_FIXED, NULL, 0, &x),
			 -VMM_EINVAL);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

/* Every bad argument: Linux's error, and maps unchanged. */
static void test_bad_arguments(void **state)
{
	vmm_machine *m = norand_machine();
	vmm_task *t = new_task(m);
	vmm_vaddr_t a = map_anon(t, 0, 4 * PG, RW, 0), x;
	char *before = maps_of(t), *after;
	static const struct {
		uint64_t addr, len;
		unsigned prot, flags;
		uint64_t off;
		int err;
	} mm_cases[] = {
		{ 0, 0, RW, ANON, 0, -VMM_EINVAL },			/* len 0 */
		{ 0, PG, RW, VMM_MAP_ANONYMOUS, 0, -VMM_EINVAL },	/* no type */
		{ 0, PG, RW, VMM_MAP_ANONYMOUS | 0xf, 0, -VMM_EINVAL },	/* bad type */
		{ 0, PG, RW, ANON, 123, -VMM_EINVAL },			/* unaligned offset */
		{ 0, ~0ull, RW, ANON, 0, -VMM_ENOMEM },			/* length wraps */
		{ 0, 1ull << 48, RW, ANON, 0, -VMM_ENOMEM },		/* beyond TASK_SIZE */
		{ 0, PG, RW, VMM_MAP_SHARED | VMM_MAP_ANONYMOUS | VMM_MAP_GROWSDOWN, 0, -VMM_EINVAL },
		{ 0, PG, 0x8, ANON, 0, -VMM_EINVAL },			/* unknown prot */
		{ 0, PG, RW, ANON | 0x80000000u, 0, -VMM_EINVAL },	/* unknown flag */
		{ 0, PG, RW, VMM_MAP_PRIVATE, 0, -VMM_EBADF },		/* a file is needed */
		{ 0x7ffffffff000ull, 2 * PG, RW, ANON | VMM_MAP_FIXED, 0, -VMM_ENOMEM },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(mm_cases) / sizeof(mm_cases[0]); i++) {
		int err = vmm_mmap(t, mm_cases[i].addr, mm_cases[i].len, mm_cases[i].prot,
				   mm_cases[i].flags, NULL, mm_cases[i].off, &x);

		if (err != mm_cases[i].err)
			printf("# mmap case %zu: %d, want %d\n", i, err, mm_cases[i].err);
		assert_int_equal(err, mm_cases[i].err);
	}
	assert_int_equal(vmm_munmap(t, a + 1, PG), -VMM_EINVAL);
	assert_int_equal(vmm_munmap(t, a, 0), -VMM_EINVAL);
	assert_int_equal(vmm_munmap(t, 1ull << 47, PG), -VMM_EINVAL);
	assert_int_equal(vmm_munmap(t, a, ~0ull), -VMM_EINVAL);
	assert_int_equal(vmm_mprotect(t, a + 1, PG, RW), -VMM_EINVAL);
	assert_int_equal(vmm_mprotect(t, a, PG, 0x10), -VMM_EINVAL);
	assert_int_equal(vmm_mprotect(t, a, PG, RW | VMM_PROT_GROWSDOWN | VMM_PROT_GROWSUP),
			 -VMM_EINVAL);
	assert_int_equal(vmm_mprotect(t, a, PG, RW | VMM_PROT_GROWSDOWN), -VMM_EINVAL);
	assert_int_equal(vmm_mprotect(t, a, PG, RW | VMM_PROT_GROWSUP), -VMM_EINVAL);
	assert_int_equal(vmm_mprotect(t, a - PG, 2 * PG, VMM_PROT_READ), -VMM_ENOMEM);
	assert_int_equal(vmm_mprotect(t, a, ~0ull - a, VMM_PROT_READ), -VMM_ENOMEM);
	assert_int_equal(vmm_mprotect(t, a, 0, VMM_PROT_READ), 0);
	assert_int_equal(vmm_mremap(t, a, PG, 2 * PG, 8, 0, &x), -VMM_EINVAL);
	assert_int_equal(vmm_mremap(t, a, PG, 2 * PG, VMM_MREMAP_FIXED, a + 8 * PG, &x), -VMM_EINVAL);
	assert_int_equal(vmm_mremap(t, a, PG, 2 * PG, VMM_MREMAP_DONTUNMAP | VMM_MREMAP_MAYMOVE, 0,
				    &x),
			 -VMM_EINVAL);
	assert_int_equal(vmm_mremap(t, a + 1, PG, 2 * PG, 0, 0, &x), -VMM_EINVAL);
	assert_int_equal(vmm_mremap(t, a, PG, 0, 0, 0, &x), -VMM_EINVAL);
	assert_int_equal(vmm_mremap(t, a - PG, PG, 2 * PG, 0, 0, &x), -VMM_EFAULT);
	assert_int_equal(vmm_mremap(t, a, 8 * PG, 9 * PG, 0, 0, &x), -VMM_EFAULT);
	assert_int_equal(vmm_mremap(t, a, 2 * PG, 2 * PG, VMM_MREMAP_MAYMOVE | VMM_MREMAP_FIXED,
				    a + PG, &x),
			 -VMM_EINVAL);
	assert_int_equal(vmm_madvise(t, a, PG, 99), -VMM_EINVAL);
	assert_int_equal(vmm_madvise(t, a + 1, PG, VMM_MADV_NORMAL), -VMM_EINVAL);
	assert_int_equal(vmm_madvise(t, a, ~0ull, VMM_MADV_NORMAL), -VMM_EINVAL);
	assert_int_equal(vmm_madvise(t, a - PG, PG, VMM_MADV_RANDOM), -VMM_ENOMEM);
	assert_int_equal(vmm_mlock2(t, a, PG, 2), -VMM_EINVAL);
	assert_int_equal(vmm_mlock(t, a - PG, PG), -VMM_ENOMEM);
	after = maps_of(t);
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_int_equal(vmm_mmap(NULL, 0, PG, RW, ANON, NULL, 0, &x), -VMM_EINVAL);
	assert_int_equal(vmm_mmap(t, 0, PG, RW, ANON, NULL, 0, NULL), -VMM_EINVAL);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

/*
 * The merge cases of Linux's vma_merge() comment, for a new range N between
 * P (before) and X (after):
 *   1: PPPP NNNN XXXX -> PPPPPPPPPPPP      2: PPPP NNNN .... -> PPPPPPPP
 *   3: .... NNNN XXXX -> XXXXXXXX          and no merge for other rights.
 * and for an existing range M changing flags (mprotect) inside P..X:
 *   4: PPPP MMMM XXXX, all of M -> one      5: part of M at P's side -> P grows
 *   6: part of M at X's side -> X grows     7: middle of M -> three VMAs
 */
static void test_merge_cases(void **state)
{
	vmm_machine *m = norand_machine();
	vmm_task *t = new_task(m);
	const vmm_vaddr_t r = 0x200000000ull;
	vmm_vaddr_t x;

	(void)state;
	/* case 2: after P */
	map_anon(t, r, 4 * PG, RW, VMM_MAP_FIXED);
	map_anon(t, r + 4 * PG, 4 * PG, RW, VMM_MAP_FIXED);
	assert_vma(t, r, r, r + 8 * PG);
	/* case 3: before X */
	map_anon(t, r + 12 * PG, 4 * PG, RW, VMM_MAP_FIXED);
	map_anon(t, r + 10 * PG, 2 * PG, RW, VMM_MAP_FIXED);
	assert_vma(t, r + 10 * PG, r + 10 * PG, r + 16 * PG);
	/* case 1: filling the hole joins all three */
	map_anon(t, r + 8 * PG, 2 * PG, RW, VMM_MAP_FIXED);
	assert_vma(t, r, r, r + 16 * PG);
	assert_int_equal(map_count(t), 1);
	/* different rights do not merge */
	map_anon(t, r + 16 * PG, PG, VMM_PROT_READ, VMM_MAP_FIXED);
	assert_int_equal(map_count(t), 2);
	/* shared anonymous never merges */
	map_anon(t, r + 17 * PG, PG, RW, VMM_MAP_FIXED);
	assert_int_equal(vmm_mmap(t, r + 18 * PG, PG, RW,
				  VMM_MAP_SHARED | VMM_MAP_ANONYMOUS | VMM_MAP_FIXED, NULL, 0, &x),
			 0);
	assert_int_equal(vmm_mmap(t, r + 19 * PG, PG, RW,
				  VMM_MAP_SHARED | VMM_MAP_ANONYMOUS | VMM_MAP_FIXED, NULL, 0, &x),
			 0);
	assert_int_equal(map_count(t), 5);
	/* case 7: the middle of a VMA */
	assert_int_equal(vmm_mprotect(t, r + 4 * PG, 2 * PG, VMM_PROT_READ), 0);
	assert_int_equal(map_count(t), 7);
	/* case 4: back again: one */
	assert_int_equal(vmm_mprotect(t, r + 4 * PG, 2 * PG, RW), 0);
	assert_int_equal(map_count(t), 5);
	assert_vma(t, r, r, r + 16 * PG);
	/* case 6: the end of M joins X (the read-only page after it) */
	assert_int_equal(vmm_mprotect(t, r + 14 * PG, 2 * PG, VMM_PROT_READ), 0);
	assert_vma(t, r + 14 * PG, r + 14 * PG, r + 17 * PG);
	assert_int_equal(map_count(t), 5);
	/* case 5: the start of X joins P */
	assert_int_equal(vmm_mprotect(t, r + 14 * PG, PG, RW), 0);
	assert_vma(t, r, r, r + 15 * PG);
	assert_vma(t, r + 15 * PG, r + 15 * PG, r + 17 * PG);
	assert_machine_healthy(m);
	/* madvise hints split and merge the same way; WILLNEED changes nothing */
	assert_int_equal(vmm_madvise(t, r + 2 * PG, PG, VMM_MADV_RANDOM), 0);
	assert_int_equal(map_count(t), 7);
	assert_int_equal(vmm_madvise(t, r, 20 * PG, VMM_MADV_NORMAL), 0);
	assert_int_equal(map_count(t), 5);
	assert_int_equal(vmm_madvise(t, r, 20 * PG, VMM_MADV_WILLNEED), 0);
	assert_int_equal(map_count(t), 5);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

static void test_munmap_splits(void **state)
{
	vmm_machine *m = norand_machine();
	vmm_task *t = new_task(m);
	vmm_vaddr_t a = map_anon(t, 0, 16 * PG, RW, VMM_MAP_POPULATE);
	struct vmm_mm_info mi;

	(void)state;
	assert_int_equal(vmm_munmap(t, a + 4 * PG, 2 * PG), 0);
	assert_int_equal(map_count(t), 2);
	assert_vma(t, a, a, a + 4 * PG);
	assert_vma(t, a + 4 * PG, a + 6 * PG, a + 16 * PG);
	/* a range covering holes and several VMAs */
	assert_int_equal(vmm_munmap(t, a - 8 * PG, 12 * PG), 0);
	assert_int_equal(map_count(t), 1);
	assert_int_equal(vmm_task_mm_info(t, &mi), 0);
	assert_int_equal(mi.total_vm, 10);
	assert_int_equal(mi.rss_anon, 10);
	/* nothing there: fine */
	assert_int_equal(vmm_munmap(t, 0x10000000ull, PG), 0);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

static void test_brk(void **state)
{
	vmm_machine *m = norand_machine();
	vmm_task *t = new_task(m);
	struct vmm_mm_info mi;
	vmm_vaddr_t b, start;

	(void)state;
	assert_int_equal(vmm_task_mm_info(t, &mi), 0);
	start = mi.start_brk;
	assert_int_equal(vmm_brk(t, 0, &b), 0);
	assert_int_equal(b, start);
	assert_int_equal(vmm_brk(t, start + 100, &b), 0);
	assert_int_equal(b, start + 100);
	assert_vma(t, start, start, start + PG);
	assert_int_equal(vmm_brk(t, start + 5 * PG, &b), 0);
	assert_vma(t, start, start, start + 5 * PG);
	assert_int_equal(map_count(t), 1);
	/* shrinking unmaps */
	assert_int_equal(vmm_brk(t, start + PG, &b), 0);
	assert_vma(t, start, start, start + PG);
	/* below start_brk: refused, the old break returned */
	assert_int_equal(vmm_brk(t, start - PG, &b), 0);
	assert_int_equal(b, start + PG);
	/* a mapping in the way (with a page to spare) stops it */
	map_anon(t, start + 4 * PG, PG, RW, VMM_MAP_FIXED);
	assert_int_equal(vmm_brk(t, start + 3 * PG + 1, &b), 0);
	assert_int_equal(b, start + PG);
	assert_int_equal(vmm_brk(t, start + 3 * PG, &b), 0);
	assert_int_equal(b, start + 3 * PG);
	/* RLIMIT_DATA */
	assert_int_equal(vmm_task_setrlimit(t, VMM_RLIMIT_DATA,
					    &(struct vmm_rlimit){ 2 * PG, VMM_RLIM_INFINITY }),
			 0);
	assert_int_equal(vmm_brk(t, start + 3 * PG + 8, &b), 0);
	assert_int_equal(b, start + 3 * PG);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

static void test_mremap(void **state)
{
	vmm_machine *m = norand_machine();
	vmm_task *t = new_task(m);
	const vmm_vaddr_t r = 0x300000000ull;
	vmm_vaddr_t a, x;
	struct vmm_mm_info mi;

	(void)state;
	a = map_anon(t, r, 4 * PG, RW, VMM_MAP_FIXED | VMM_MAP_POPULATE);
	/* grow in place */
	assert_int_equal(vmm_mremap(t, a, 4 * PG, 8 * PG, 0, 0, &x), 0);
	assert_int_equal(x, a);
	assert_vma(t, a, a, a + 8 * PG);
	/* blocked: ENOMEM without MAYMOVE, a move with it */
	map_anon(t, r + 8 * PG, PG, VMM_PROT_READ, VMM_MAP_FIXED);
	assert_int_equal(vmm_mremap(t, a, 8 * PG, 9 * PG, 0, 0, &x), -VMM_ENOMEM);
	assert_int_equal(vmm_mremap(t, a, 8 * PG, 9 * PG, VMM_MREMAP_MAYMOVE, 0, &x), 0);
	assert_true(x != a);
	assert_vma(t, x, x, x + 9 * PG);
	assert_int_equal(vmm_task_mm_info(t, &mi), 0);
	assert_int_equal(mi.total_vm, 10);
	assert_int_equal(mi.rss_anon, 4);
	/* shrink */
	assert_int_equal(vmm_mremap(t, x, 9 * PG, 3 * PG, 0, 0, &a), 0);
	assert_vma(t, x, x, x + 3 * PG);
	/* MREMAP_FIXED moves over whatever is there */
	assert_int_equal(vmm_mremap(t, x, 3 * PG, 3 * PG, VMM_MREMAP_MAYMOVE | VMM_MREMAP_FIXED,
				    r + 8 * PG, &a),
			 0);
	assert_int_equal(a, r + 8 * PG);
	assert_vma(t, a, a, a + 3 * PG);
	assert_int_equal(vmm_task_mm_info(t, &mi), 0);
	assert_int_equal(mi.rss_anon, 3);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

static void test_limits(void **state)
{
	vmm_machine *m = norand_machine();
	vmm_task *t = new_task(m);
	vmm_vaddr_t a, x;
	struct vmm_mm_info mi;
	int64_t v;

	(void)state;
	/* max_map_count: mmap refuses at map_count > max */
	assert_int_equal(vmm_sysctl_set(m, "vm.max_map_count", 4), 0);
	assert_int_equal(vmm_sysctl_get(m, "vm.max_map_count", &v), 0);
	assert_int_equal(v, 4);
	a = map_anon(t, 0, 16 * PG, RW, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(vmm_mprotect(t, a + (uint64_t)(2 * i) * PG, PG, VMM_PROT_READ), 0 ? 1 : (i < 2 ? 0 : -VMM_ENOMEM));
	assert_int_equal(vmm_munmap(t, a + 12 * PG, PG), -VMM_ENOMEM);
	assert_int_equal(vmm_sysctl_set(m, "vm.max_map_count", 65530), 0);
	assert_int_equal(vmm_munmap(t, a, 16 * PG), 0);
	/* RLIMIT_AS */
	assert_int_equal(vmm_task_setrlimit(t, VMM_RLIMIT_AS,
					    &(struct vmm_rlimit){ 8 * PG, VMM_RLIM_INFINITY }),
			 0);
	assert_int_equal(vmm_mmap(t, 0, 9 * PG, RW, ANON, NULL, 0, &x), -VMM_ENOMEM);
	a = map_anon(t, 0, 8 * PG, RW, 0);
	/* replacing pages already counted is fine */
	assert_int_equal(vmm_mmap(t, a, 8 * PG, RW, ANON | VMM_MAP_FIXED, NULL, 0, &x), 0);
	/* RLIMIT_MEMLOCK */
	assert_int_equal(vmm_task_setrlimit(t, VMM_RLIMIT_AS,
					    &(struct vmm_rlimit){ VMM_RLIM_INFINITY, VMM_RLIM_INFINITY }),
			 0);
	assert_int_equal(vmm_task_setrlimit(t, VMM_RLIMIT_MEMLOCK, &(struct vmm_rlimit){ 4 * PG, 4 * PG }),
			 0);
	assert_int_equal(vmm_mmap(t, 0, 5 * PG, RW, ANON | VMM_MAP_LOCKED, NULL, 0, &x), -VMM_EAGAIN);
	assert_int_equal(vmm_mlock(t, a, 5 * PG), -VMM_ENOMEM);
	assert_int_equal(vmm_mlock(t, a, 4 * PG), 0);
	assert_int_equal(vmm_task_mm_info(t, &mi), 0);
	assert_int_equal(mi.locked_vm, 4);
	assert_int_equal(mi.rss_anon, 4);
	/* locked pages may not be DONTNEED'ed */
	assert_int_equal(vmm_madvise(t, a, PG, VMM_MADV_DONTNEED), -VMM_EINVAL);
	assert_int_equal(vmm_munlock(t, a, 8 * PG), 0);
	assert_int_equal(vmm_madvise(t, a, 8 * PG, VMM_MADV_DONTNEED), 0);
	assert_int_equal(vmm_task_mm_info(t, &mi), 0);
	assert_int_equal(mi.locked_vm, 0);
	assert_int_equal(mi.rss_anon, 0);
	assert_int_equal(vmm_task_setrlimit(t, VMM_RLIMIT_MEMLOCK, &(struct vmm_rlimit){ 0, 0 }), 0);
	assert_int_equal(vmm_mlock(t, a, PG), -VMM_EPERM);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

static void test_overcommit(void **state)
{
	vmm_machine *m = norand_machine();
	vmm_task *t = new_task(m);
	vmm_vaddr_t a, x;
	struct vmm_mm_info mi;

	(void)state;
	/* heuristic: one request larger than RAM fails, MAP_NORESERVE passes */
	assert_int_equal(vmm_mmap(t, 0, 8ull << 30, RW, ANON, NULL, 0, &x), -VMM_ENOMEM);
	assert_int_equal(vmm_mmap(t, 0, 8ull << 30, RW, ANON | VMM_MAP_NORESERVE, NULL, 0, &a), 0);
	assert_int_equal(vmm_task_mm_info(t, &mi), 0);
	assert_int_equal(mi.committed_pages, 0);
	assert_int_equal(vmm_munmap(t, a, 8ull << 30), 0);
	/* strict: CommitLimit = RAM * 50% (no swap) */
	assert_int_equal(vmm_sysctl_set(m, "vm.overcommit_memory", 2), 0);
	assert_int_equal(vmm_mmap(t, 0, 3ull << 30, RW, ANON, NULL, 0, &x), -VMM_ENOMEM);
	assert_int_equal(vmm_mmap(t, 0, 3ull << 30, RW, ANON | VMM_MAP_NORESERVE, NULL, 0, &x),
			 -VMM_ENOMEM);
	assert_int_equal(vmm_mmap(t, 0, 3ull << 30, VMM_PROT_READ, ANON, NULL, 0, &a), 0);
	/* turning it writable is what charges */
	assert_int_equal(vmm_mprotect(t, a, 3ull << 30, RW), -VMM_ENOMEM);
	assert_int_equal(vmm_mprotect(t, a, 1ull << 30, RW), 0);
	assert_int_equal(vmm_task_mm_info(t, &mi), 0);
	assert_int_equal(mi.committed_pages, (1ull << 30) / PG);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

/* A growsdown mapping keeps the stack guard gap free below it. */
static void test_stack_guard_gap(void **state)
{
	vmm_machine *m = norand_machine();
	vmm_task *t = new_task(m);
	vmm_vaddr_t s, a;

	(void)state;
	s = map_anon(t, 0, 16 * PG, RW, VMM_MAP_GROWSDOWN);
	assert_int_equal(s, B - 16 * PG);
	a = map_anon(t, 0, PG, RW, 0);
	assert_int_equal(a, s - MiB - PG);
	/* a hint inside the gap is not honoured either */
	a = map_anon(t, s - 2 * PG, PG, VMM_PROT_READ, 0);
	assert_true(a != s - 2 * PG);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

/* Cycles the current CPU has spent in VMM_CYC_OTHER. */
static uint64_t other_cycles(vmm_machine *m)
{
	uint64_t c;

	assert_int_equal(vmm_cpu_cycles(m, m->current_cpu, VMM_CYC_OTHER, &c), 0);
	return c;
}

/*
 * The system calls charge the current CPU (cost table, VMM_CYC_OTHER): the
 * entry and exit of each call, each VMA linked, unlinked or resized, each
 * present PTE the call handles; a call refused for its arguments costs its
 * entry alone.
 */
static void test_syscall_cycles(void **state)
{
	vmm_machine *m = norand_machine();
	vmm_task *t = new_task(m);
	const struct vmm_cost_table *cost = &m->clock.cost;
	vmm_vaddr_t a;
	uint64_t c0;

	(void)state;
	c0 = other_cycles(m);
	assert_int_equal(vmm_munmap(t, 1, PG), -VMM_EINVAL);
	assert_int_equal(other_cycles(m) - c0, cost->syscall);
	c0 = other_cycles(m);
	a = map_anon(t, 0, 16 * PG, RW, 0);
	assert_true(other_cycles(m) - c0 >= cost->syscall + cost->vma_op);
	assert_int_equal(vmm_madvise(t, a, 16 * PG, VMM_MADV_WILLNEED), 0);
	assert_int_equal(vmm_mlock(t, a, 16 * PG), 0);	/* 16 pages faulted in */
	c0 = other_cycles(m);
	/* unmapping the 16 pages: the call, the VMA, 16 PTEs */
	assert_int_equal(vmm_munmap(t, a, 16 * PG), 0);
	assert_true(other_cycles(m) - c0 >= cost->syscall + cost->vma_op + 16 * cost->pte_op);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topdown_placement),
		cmocka_unit_test(test_hints_and_fixed),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_merge_cases),
		cmocka_unit_test(test_munmap_splits),
		cmocka_unit_test(test_brk),
		cmocka_unit_test(test_mremap),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_overcommit),
		cmocka_unit_test(test_stack_guard_gap),
		cmocka_unit_test(test_syscall_cycles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
