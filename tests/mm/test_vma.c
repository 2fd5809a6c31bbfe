/* SPDX-License-Identifier: MIT */
/*
 * Tests of src/mm/vma.c: a model-based random test of the VMA tree (links
 * and gap summaries through thousands of insertions, removals and range
 * changes), find_vma / find_vma_prev / find_vma_intersection and the
 * top-down and bottom-up free-area searches against a brute-force reference
 * over a sorted array, guard gaps included; split and anon_vma reuse.
 */
#include "mm/mm_test_util.h"

#include "lib/prng.h"
#include "machine.h"
#include "mm/vma.h"

#define SLOTS 512		/* the address space is SLOTS pages */
#define BASE 0x10000000ull

struct model {
	uint64_t start[SLOTS], end[SLOTS];
	bool growsdown[SLOTS];
	unsigned n;
};

static void model_sync(struct model *md, struct vmm_mm *mm)
{
	md->n = 0;
	for (struct vmm_vma *v = mm->mmap; v; v = v->vm_next) {
		md->start[md->n] = v->vm_start;
		md->end[md->n] = v->vm_end;
		md->growsdown[md->n] = (v->vm_flags & VMM_VM_GROWSDOWN) != 0;
		md->n++;
	}
}

/* Linux's unmapped_area_topdown() over the array: highest raw gap, guard retry. */
static uint64_t ref_topdown(const struct model *md, uint64_t len, uint64_t low, uint64_t high)
{
	for (;;) {
		bool found = false;
		uint64_t hi = 0, a;
		int next = -1;

		for (int i = (int)md->n; i >= 0 && !found; i--) {
			uint64_t lo = i ? md->end[i - 1] : 0, h = i < (int)md->n ? md->start[i] : UINT64_MAX;

			lo = lo > low ? lo : low;
			h = h < high ? h : high;
			if (h > lo && h - lo >= len) {
				found = true;
				hi = h;
				next = i < (int)md->n ? i : -1;
			}
		}
		if (!found)
			return 0;
		a = hi - len;
		if (next >= 0 && md->growsdown[next] && md->start[next] - STACK_GUARD_GAP < hi) {
			high = md->start[next] - STACK_GUARD_GAP;
			continue;
		}
		return a;
	}
}

static void check_lookups(struct vmm_mm *mm, const struct model *md, struct vmm_prng *p)
{
	for (int k = 0; k < 16; k++) {
		uint64_t addr = BASE + vmm_prng_below(p, SLOTS + 2) * PG - PG + vmm_prng_below(p, PG);
		uint64_t len = (1 + vmm_prng_below(p, 32)) * PG;
		struct vmm_vma *v = vmm_vma_find(mm, addr), *prev, *x;
		unsigned i = 0;
		struct unmapped_area_info info = { .topdown = true, .length = len, .low_limit = BASE,
						   .high_limit = BASE + SLOTS * PG };
		uint64_t want, got;

		while (i < md->n && md->end[i] <= addr)
			i++;
		if (i == md->n) {
			assert_null(v);
		} else {
			assert_non_null(v);
			assert_int_equal(v->vm_start, md->start[i]);
		}
		x = vmm_vma_find_prev(mm, addr, &prev);
		assert_ptr_equal(x, v);
		if (i == 0)
			assert_null(prev);
		else
			assert_int_equal(prev->vm_end, md->end[i - 1]);
		x = vmm_vma_find_intersection(mm, addr, addr + len);
		if (i < md->n && md->start[i] < addr + len)
			assert_ptr_equal(x, v);
		else
			assert_null(x);
		want = ref_topdown(md, len, BASE, BASE + SLOTS * PG);
		got = vmm_unmapped_area(mm, &info);
		assert_int_equal(got, want ? want : (uint64_t)-VMM_ENOMEM);
	}
}

static void test_tree_model(void **state)
{
	uint64_t seed = test_seed("vma_tree_model", 7);
	vmm_machine *m = norand_machine();
	vmm_task *t = new_task(m);
	struct vmm_mm *mm = t->mm;
	struct model md;
	struct vmm_prng p;
	uint64_t ops = test_ops(20000);

	(void)state;
	vmm_prng_seed(&p, seed);
	for (uint64_t op = 0; op < ops; op++) {
		uint64_t slot = vmm_prng_below(&p, SLOTS), pages = 1 + vmm_prng_below(&p, 8);
		uint64_t start = BASE + slot * PG, end = start + pages * PG;
		unsigned r = (unsigned)vmm_prng_below(&p, 10);

		if (end > BASE + SLOTS * PG)
			continue;
		if (r < 5 && !vmm_vma_find_intersection(mm, start, end)) {
			struct vmm_vma *v = vma_alloc(mm);

			assert_non_null(v);
			v->vm_start = start;
			v->vm_end = end;
			v->vm_pgoff = start >> 12;
			v->vm_flags = VM_DATA_DEFAULT_FLAGS |
				      (vmm_prng_below(&p, 8) ? 0 : VMM_VM_GROWSDOWN);
			vma_link(mm, v);
		} else if (r < 8) {
			struct vmm_vma *v = vmm_vma_find(mm, start);

			if (v) {
				vma_unlink(mm, v);
				vma_free(v);
			}
		} else {
			struct vmm_vma *v = vmm_vma_find(mm, start);

			/* shrink from either end, or split */
			if (v && v->vm_end - v->vm_start > PG) {
				if (r == 8)
					vma_set_range(v, v->vm_start + PG, v->vm_end, v->vm_pgoff + 1);
				else
					assert_int_equal(vmm_vma_split(mm, v, v->vm_start + PG, r & 1), 0);
			}
		}
		model_sync(&md, mm);
		check_lookups(mm, &md, &p);
		if (op % 256 == 0)
			assert_int_equal(vmm_vma_tree_check(mm, stdout), 0);
	}
	assert_int_equal(vmm_vma_tree_check(mm, stdout), 0);
	/* the VMAs were not accounted: take them away before the machine checks the mm */
	while (mm->mmap) {
		struct vmm_vma *v = mm->mmap;

		vma_unlink(mm, v);
		vma_free(v);
	}
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

/* A new VMA takes a compatible neighbour's anon_vma (find_mergeable_anon_vma). */
static void test_anon_vma_reuse(void **state)
{
	vmm_machine *m = norand_machine();
	vmm_task *t = new_task(m);
	const vmm_vaddr_t r = 0x40000000ull;
	struct vmm_vma *a, *b;

	(void)state;
	/* NORESERVE: no VM_ACCOUNT on either, so they differ in access rights only */
	map_anon(t, r, 4 * PG, RW, VMM_MAP_FIXED | VMM_MAP_POPULATE | VMM_MAP_NORESERVE);
	map_anon(t, r + 4 * PG, 4 * PG, VMM_PROT_READ, VMM_MAP_FIXED | VMM_MAP_NORESERVE);
	a = vmm_vma_find(t->mm, r);
	b = vmm_vma_find(t->mm, r + 4 * PG);
	assert_ptr_not_equal(a, b);
	assert_null(b->anon_vma);
	assert_int_equal(vmm_anon_vma_prepare(b), 0);
	assert_ptr_equal(a->anon_vma, b->anon_vma);
	/* so making b writable merges them again */
	assert_int_equal(vmm_mprotect(t, r + 4 * PG, 4 * PG, RW), 0);
	assert_int_equal(map_count(t), 1);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree_model),
		cmocka_unit_test(test_anon_vma_reuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
