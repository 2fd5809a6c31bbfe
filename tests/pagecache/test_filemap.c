/* SPDX-License-Identifier: MIT */
/*
 * The page cache core (src/pagecache/filemap.c and workingset.c):
 * pagecache_get_page with each FGP flag, add_to_page_cache_lru,
 * delete_from_page_cache, read_cache_page with a filler,
 * mark_page_accessed, __page_cache_alloc's cpuset spreading,
 * filemap_fault and filemap_map_pages, and the workingset: eviction
 * leaves a shadow entry, a refault within the active list's size
 * activates, one beyond it does not.
 */
#include "pc_util.h"

#include <string.h>

#include "machine.h"
#include "mm/vmstat.h"
#include "pagecache/filemap.h"

struct fixture {
	vmm_machine *m;
	vmm_file *f;
	struct vmm_address_space *mapping;
};

/* Two nodes (for the cpuset spread); a synced 64 KiB file, not cached. */
static void setup(struct fixture *fx)
{
	uint8_t page[4096];

	fx->m = pc_machine(2, 64, NULL);
	assert_int_equal(vmm_file_create(fx->m, "f", 0, &fx->f), 0);
	for (unsigned p = 0; p < 16; p++) {
		memset(page, (int)p + 1, sizeof(page));
		assert_int_equal(vmm_file_pwrite(fx->f, page, sizeof(page), p * 4096ull), 4096);
	}
	assert_int_equal(vmm_file_fsync(fx->f), 0);
	assert_int_equal(vmm_file_fadvise(fx->f, 0, 0, VMM_FADV_DONTNEED), 0);
	fx->mapping = &fx->f->inode->i_data;
	assert_int_equal(fx->mapping->nrpages, 0);
}

static void teardown(struct fixture *fx)
{
	assert_machine_healthy(fx->m);
	vmm_file_close(&fx->f);
	vmm_machine_destroy(&fx->m);
}

static void test_fgp_flags(void **state)
{
	struct fixture fx;
	struct vmm_page *page, *again;
	uint64_t activate;

	(void)state;
	setup(&fx);
	/* no FGP_CREAT: a miss is a miss */
	assert_null(vmm_find_get_page(fx.mapping, 3));
	/* FGP_CREAT | FGP_LOCK: a new page, locked, with the cache's reference and ours */
	page = vmm_pagecache_get_page(fx.mapping, 3, FGP_CREAT | FGP_LOCK, fx.mapping->gfp_mask);
	assert_non_null(page);
	assert_true(PageLocked(page));
	assert_false(PageUptodate(page));
	assert_int_equal(vmm_page_count(page), 2);
	assert_int_equal(fx.mapping->nrpages, 1);
	assert_int_equal(vmm_global_node_page_state(fx.m, NR_FILE_PAGES), 1);
	assert_int_equal(vmm_global_node_page_state(fx.m, NR_INACTIVE_FILE), 1);
	/* FGP_LOCK | FGP_NOWAIT on a locked page: nothing, and no reference kept */
	assert_null(vmm_pagecache_get_page(fx.mapping, 3, FGP_LOCK | FGP_NOWAIT, 0));
	assert_int_equal(vmm_page_count(page), 2);
	/* a second add at the same index is refused */
	again = vmm_alloc_pages(fx.m, VMM_GFP_HIGHUSER_MOVABLE, 0);
	assert_int_equal(vmm_add_to_page_cache_lru(again, fx.mapping, 3, 0), -VMM_EEXIST);
	vmm_put_page(fx.m, again);
	/* fill it as a filesystem would, and unlock */
	memset(vmm_page_host(fx.m, page), 0x5a, 4096);
	set_page_flag(page, VMM_PG_uptodate);
	vmm_unlock_page(page);
	/* FGP_ACCESSED: referenced first, active on the second access */
	activate = fx.m->vm_events[VE_PGACTIVATE];
	again = vmm_pagecache_get_page(fx.mapping, 3, FGP_ACCESSED, 0);
	assert_ptr_equal(again, page);
	assert_true(PageReferenced(page));
	assert_false(PageActive(page));
	vmm_pc_put_page(fx.m, again);
	again = vmm_pagecache_get_page(fx.mapping, 3, FGP_ACCESSED | FGP_LOCK, 0);
	assert_true(PageActive(page));
	assert_true(PageLocked(page));
	assert_int_equal(fx.m->vm_events[VE_PGACTIVATE], activate + 1);
	assert_int_equal(vmm_global_node_page_state(fx.m, NR_ACTIVE_FILE), 1);
	assert_int_equal(vmm_global_node_page_state(fx.m, NR_INACTIVE_FILE), 0);
	/* delete_from_page_cache: out of the cache; our reference keeps the frame */
	vmm_delete_from_page_cache(fx.m, page);
	assert_int_equal(vmm_page_count(page), 2);
	vmm_pc_put_page(fx.m, again);
	vmm_pc_put_page(fx.m, page);
	assert_int_equal(fx.mapping->nrpages, 0);
	assert_int_equal(vmm_global_node_page_state(fx.m, NR_FILE_PAGES), 0);
	assert_machine_healthy(fx.m);
	/* FGP_CREAT | FGP_FOR_MMAP: the new page comes back unlocked for the fault path */
	page = vmm_pagecache_get_page(fx.mapping, 5, FGP_CREAT | FGP_FOR_MMAP | FGP_ACCESSED |
						     FGP_WRITE | FGP_NOFS,
				      fx.mapping->gfp_mask);
	assert_non_null(page);
	assert_false(PageLocked(page));
	assert_true(PageReferenced(page));
	/* not uptodate: the fault path reads it; here read_cache_page does */
	{
		int err;
		struct vmm_page *p = vmm_read_cache_page(fx.mapping, 5, NULL, NULL, &err);

		assert_int_equal(err, 0);
		assert_ptr_equal(p, page);
		assert_true(PageUptodate(p));
		assert_int_equal(((uint8_t *)vmm_page_host(fx.m, p))[0], 6);
		vmm_pc_put_page(fx.m, p);
	}
	vmm_pc_put_page(fx.m, page);
	teardown(&fx);
}

struct filler_data {
	vmm_machine *m;
	unsigned calls;
	bool fail;
};

static int filler(void *data, struct vmm_page *page)
{
	struct filler_data *fd = data;

	fd->calls++;
	if (!fd->fail) {
		memset(vmm_page_host(fd->m, page), 0x77, 4096);
		set_page_flag(page, VMM_PG_uptodate);
	}
	vmm_unlock_page(page);
	return 0;
}

static void test_read_cache_page(void **state)
{
	struct fixture fx;
	struct filler_data fd = { 0 };
	struct vmm_page *page;
	int err;

	(void)state;
	setup(&fx);
	fd.m = fx.m;
	page = vmm_read_cache_page(fx.mapping, 9, filler, &fd, &err);
	assert_non_null(page);
	assert_int_equal(err, 0);
	assert_int_equal(fd.calls, 1);
	assert_int_equal(((uint8_t *)vmm_page_host(fx.m, page))[4095], 0x77);
	vmm_pc_put_page(fx.m, page);
	/* cached and uptodate: no filler */
	page = vmm_read_cache_page(fx.mapping, 9, filler, &fd, &err);
	assert_int_equal(fd.calls, 1);
	vmm_pc_put_page(fx.m, page);
	/* a filler that fails leaves the page not uptodate: -EIO */
	fd.fail = true;
	assert_null(vmm_read_cache_page(fx.mapping, 10, filler, &fd, &err));
	assert_int_equal(err, -VMM_EIO);
	/* the page stays cached, not uptodate; a later read tries again */
	fd.fail = false;
	page = vmm_read_cache_page(fx.mapping, 10, filler, &fd, &err);
	assert_non_null(page);
	assert_int_equal(fd.calls, 3);
	vmm_pc_put_page(fx.m, page);
	teardown(&fx);
}

/* cpuset.memory_spread_page: page-cache pages go round robin over the cpuset's nodes. */
static void test_cpuset_spread(void **state)
{
	struct vmm_cpuset cs = { .mems_allowed = 3, .flags = VMM_CPUSET_MEMORY_SPREAD_PAGE };
	struct fixture fx;
	unsigned on[2] = { 0, 0 };

	(void)state;
	setup(&fx);
	assert_int_equal(vmm_set_cpuset(fx.m, &cs), 0);
	for (uint64_t i = 0; i < 16; i++) {
		struct vmm_page *page = vmm_pagecache_get_page(fx.mapping, i, FGP_CREAT | FGP_LOCK,
							       fx.mapping->gfp_mask);

		assert_non_null(page);
		on[vmm_page_to_nid(fx.m, page)]++;
		vmm_unlock_page(page);
		vmm_truncate_inode_pages_range(fx.mapping, i, i);
		vmm_pc_put_page(fx.m, page);
	}
	assert_int_equal(on[0], 8);
	assert_int_equal(on[1], 8);
	/* without spreading they all come from the current CPU's node */
	assert_int_equal(vmm_set_cpuset(fx.m, NULL), 0);
	for (uint64_t i = 0; i < 4; i++) {
		struct vmm_page *page = vmm_pagecache_get_page(fx.mapping, i, FGP_CREAT | FGP_LOCK,
							       fx.mapping->gfp_mask);

		assert_int_equal(vmm_page_to_nid(fx.m, page), 0);
		vmm_unlock_page(page);
		vmm_truncate_inode_pages_range(fx.mapping, i, i);
		vmm_pc_put_page(fx.m, page);
	}
	teardown(&fx);
}

static bool map_one(void *data, uint64_t pgoff, struct vmm_page *page)
{
	uint64_t *seen = data;

	(void)page;
	*seen |= 1ull << pgoff;
	return true;
}

static void test_fault_entry_points(void **state)
{
	struct fixture fx;
	struct vmm_page *page;
	uint64_t maj = 0, seen = 0;
	unsigned ret;

	(void)state;
	setup(&fx);
	maj = fx.m->vm_events[VE_PGMAJFAULT];
	ret = vmm_filemap_fault(fx.f, 2, 0, &page);
	assert_int_equal(ret, VM_FAULT_MAJOR | VM_FAULT_LOCKED);
	assert_true(PageLocked(page) && PageUptodate(page));
	assert_int_equal(((uint8_t *)vmm_page_host(fx.m, page))[0], 3);
	assert_int_equal(fx.m->vm_events[VE_PGMAJFAULT], maj + 1);
	vmm_unlock_page(page);
	vmm_pc_put_page(fx.m, page);
	/* mmap readahead read around the fault: the next fault is minor */
	ret = vmm_filemap_fault(fx.f, 3, 0, &page);
	assert_int_equal(ret, VM_FAULT_LOCKED);
	vmm_unlock_page(page);
	vmm_pc_put_page(fx.m, page);
	/* past the end: SIGBUS */
	assert_int_equal(vmm_filemap_fault(fx.f, 16, 0, &page), VM_FAULT_SIGBUS);
	assert_null(page);
	/* fault-around maps the uptodate pages of the range that exist */
	assert_int_equal(vmm_filemap_map_pages(fx.f, 0, 100, map_one, &seen), fx.mapping->nrpages);
	assert_true(seen & (1ull << 2));
	assert_int_equal(seen >> 16, 0);
	/* VM_RAND_READ: the fault reads its page alone */
	assert_int_equal(vmm_file_fadvise(fx.f, 0, 0, VMM_FADV_DONTNEED), 0);
	ret = vmm_filemap_fault(fx.f, 7, VM_RAND_READ, &page);
	assert_int_equal(ret, VM_FAULT_MAJOR | VM_FAULT_LOCKED);
	assert_int_equal(fx.mapping->nrpages, 1);
	vmm_unlock_page(page);
	vmm_pc_put_page(fx.m, page);
	teardown(&fx);
}

/* Evict page @index with the removal primitive; returns its shadow entry. */
static void *evict(struct fixture *fx, uint64_t index)
{
	struct vmm_page *page = vmm_pagecache_get_page(fx->mapping, index, FGP_LOCK, 0);

	assert_non_null(page);
	assert_int_equal(vmm_remove_mapping(fx->mapping, page), 0);
	vmm_unlock_page(page);
	vmm_pc_put_page(fx->m, page);
	return vmm_xa_load(&fx->mapping->i_pages, index);
}

static void read_page(struct fixture *fx, uint64_t index)
{
	uint8_t buf[4096];

	assert_int_equal(vmm_file_pread(fx->f, buf, sizeof(buf), index * 4096), 4096);
	assert_int_equal(buf[0], (uint8_t)(index + 1));
}

/*
 * filemap_map_pages hands @map exactly the cached pages that are uptodate
 * and unlocked: a shadow entry, a hole and a locked page are skipped, and
 * the window is clipped to the file's end.
 */
static void test_map_pages_skips(void **state)
{
	struct fixture fx;
	struct vmm_page *locked;
	uint64_t seen = 0, want = 0, index;
	void *entry;

	(void)state;
	setup(&fx);
	assert_int_equal(vmm_file_fadvise(fx.f, 0, 0, VMM_FADV_RANDOM), 0);
	for (uint64_t i = 0; i < 12; i++)
		if (i != 3)	/* a hole at 3 */
			read_page(&fx, i);
	assert_true(xa_is_value(evict(&fx, 5)));
	locked = vmm_pagecache_get_page(fx.mapping, 9, FGP_LOCK, 0);
	assert_non_null(locked);
	/* what the mapping holds, walked with the xarray's own search */
	vmm_xa_for_each(&fx.mapping->i_pages, index, entry)
		if (!xa_is_value(entry) && PageUptodate(entry) && !PageLocked(entry))
			want |= 1ull << index;
	assert_int_equal(want & ((1ull << 3) | (1ull << 5) | (1ull << 9)), 0);
	assert_int_equal(vmm_filemap_map_pages(fx.f, 0, 100, map_one, &seen),
			 (unsigned)__builtin_popcountll(want));
	assert_int_equal(seen, want);
	/* a window inside the file: only its part */
	seen = 0;
	assert_int_equal(vmm_filemap_map_pages(fx.f, 4, 10, map_one, &seen),
			 (unsigned)__builtin_popcountll(want & 0x7f0));
	assert_int_equal(seen, want & 0x7f0);
	vmm_unlock_page(locked);
	vmm_pc_put_page(fx.m, locked);
	teardown(&fx);
}

static void test_workingset(void **state)
{
	struct fixture fx;
	struct vmm_page *page;
	char *vs;

	(void)state;
	setup(&fx);
	assert_int_equal(vmm_file_fadvise(fx.f, 0, 0, VMM_FADV_RANDOM), 0);
	for (uint64_t i = 0; i < 8; i++)
		read_page(&fx, i);
	/* the removal primitive refuses a page someone else holds, or a dirty one */
	page = vmm_pagecache_get_page(fx.mapping, 0, FGP_LOCK, 0);
	get_page(page);
	assert_int_equal(vmm_remove_mapping(fx.mapping, page), -VMM_EBUSY);
	vmm_pc_put_page(fx.m, page);
	vmm_unlock_page(page);
	vmm_pc_put_page(fx.m, page);
	/* make page 1 active (a second access), so the active list holds one page */
	read_page(&fx, 1);
	assert_int_equal(vmm_global_node_page_state(fx.m, NR_ACTIVE_FILE), 1);
	/* evicted and read back at once: distance 0 <= 1 active page: activated */
	assert_true(xa_is_value(evict(&fx, 4)));
	assert_int_equal(fx.mapping->nr_shadows, 1);
	assert_int_equal(fx.mapping->nrpages, 7);
	assert_machine_healthy(fx.m);
	read_page(&fx, 4);
	assert_int_equal(fx.mapping->nr_shadows, 0);
	assert_int_equal(vmm_global_node_page_state(fx.m, WORKINGSET_REFAULT_FILE), 1);
	assert_int_equal(vmm_global_node_page_state(fx.m, WORKINGSET_ACTIVATE_FILE), 1);
	page = vmm_find_get_page(fx.mapping, 4);
	assert_true(PageActive(page));
	vmm_pc_put_page(fx.m, page);
	/* evicted, then four more evictions: distance 4 > 2 active pages: stays inactive */
	evict(&fx, 5);
	for (uint64_t i = 6; i < 8; i++)
		evict(&fx, i);
	evict(&fx, 0);
	evict(&fx, 2);
	read_page(&fx, 5);
	assert_int_equal(vmm_global_node_page_state(fx.m, WORKINGSET_REFAULT_FILE), 2);
	assert_int_equal(vmm_global_node_page_state(fx.m, WORKINGSET_ACTIVATE_FILE), 1);
	page = vmm_find_get_page(fx.mapping, 5);
	assert_false(PageActive(page));
	vmm_pc_put_page(fx.m, page);
	vs = dump_to_string(fx.m, VMM_DUMP_VMSTAT);
	assert_non_null(strstr(vs, "\nworkingset_refault_file 2\n"));
	assert_non_null(strstr(vs, "\nworkingset_activate_file 1\n"));
	free(vs);
	assert_machine_healthy(fx.m);
	/* a node holding only shadow entries is a shadow node */
	for (uint64_t i = 0; i < 16; i++) {
		page = vmm_find_get_page(fx.mapping, i);
		if (page) {
			vmm_pc_put_page(fx.m, page);
			evict(&fx, i);
		}
	}
	assert_int_equal(fx.mapping->nrpages, 0);
	assert_int_equal(vmm_global_node_page_state(fx.m, WORKINGSET_NODES), 1);
	/* truncation takes the shadows, and the shadow node, away */
	assert_int_equal(vmm_file_ftruncate(fx.f, 0), 0);
	assert_int_equal(fx.mapping->nr_shadows, 0);
	assert_int_equal(vmm_global_node_page_state(fx.m, WORKINGSET_NODES), 0);
	teardown(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fgp_flags),
		cmocka_unit_test(test_read_cache_page),
		cmocka_unit_test(test_cpuset_spread),
		cmocka_unit_test(test_fault_entry_points),
		cmocka_unit_test(test_map_pages_skips),
		cmocka_unit_test(test_workingset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
