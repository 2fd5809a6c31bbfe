/* SPDX-License-Identifier: MIT */
/*
 * Dirty tracking and writeback (src/pagecache/writeback.c): the counters
 * and meminfo lines, background writeback on machine time (expiry and the
 * background threshold), pages under writeback while the device works,
 * balance_dirty_pages throttling with its pause charged as I/O wait,
 * errseq error reporting to each handle's next fsync exactly once, and the
 * vm.dirty_* sysctls.
 */
#include "pc_util.h"

#include <string.h>

#include "machine.h"
#include "mm/vmstat.h"
#include "pagecache/filemap.h"

#define SEC 3000000000ull	/* cycles per second at the default 3 GHz */

static vmm_machine *machine(void)
{
	return pc_machine(1, 128, NULL);
}

static void write_pages(vmm_file *f, uint64_t first, uint64_t n, uint8_t v)
{
	uint8_t page[4096];

	memset(page, v, sizeof(page));
	for (uint64_t p = first; p < first + n; p++)
		assert_int_equal(vmm_file_pwrite(f, page, sizeof(page), p * 4096), 4096);
}

static uint64_t node_stat(vmm_machine *m, int item)
{
	return vmm_global_node_page_state(m, item);
}

static void test_dirty_accounting(void **state)
{
	vmm_machine *m = machine();
	vmm_file *f;
	char *mi;

	(void)state;
	assert_int_equal(vmm_file_create(m, "a", 0, &f), 0);
	write_pages(f, 0, 10, 1);
	write_pages(f, 0, 10, 2);	/* redirtying counts nothing new */
	assert_int_equal(node_stat(m, NR_FILE_DIRTY), 10);
	assert_int_equal(node_stat(m, NR_DIRTIED), 10);
	assert_int_equal(node_stat(m, NR_FILE_PAGES), 10);
	mi = dump_to_string(m, VMM_DUMP_MEMINFO);
	assert_non_null(strstr(mi, "\nDirty:                40 kB\n"));
	assert_non_null(strstr(mi, "\nCached:               40 kB\n"));
	assert_non_null(strstr(mi, "\nInactive(file):       40 kB\n"));
	free(mi);
	assert_machine_healthy(m);
	assert_int_equal(vmm_file_fsync(f), 0);
	assert_int_equal(node_stat(m, NR_FILE_DIRTY), 0);
	assert_int_equal(node_stat(m, NR_WRITEBACK), 0);
	assert_int_equal(node_stat(m, NR_WRITTEN), 10);
	mi = dump_to_string(m, VMM_DUMP_VMSTAT);
	assert_non_null(strstr(mi, "\nnr_written 10\n"));
	assert_non_null(strstr(mi, "\npgpgout 44\n"));	/* 10 pages and the commit's 4 KiB */
	free(mi);
	assert_machine_healthy(m);
	vmm_file_close(&f);
	vmm_machine_destroy(&m);
}

/*
 * Pages sent by background writeback stay under writeback while the device
 * works (Writeback in meminfo); data written back is not durable until the
 * file is synced: a crash undoes it.
 */
static void test_background_expiry(void **state)
{
	vmm_machine *m = machine();
	vmm_bdev *b = vmm_machine_bdev(m);
	struct vmm_bdev_stats st0, st1;
	struct vmm_file_stat fs;
	vmm_file *f;
	uint8_t buf[4096];

	(void)state;
	assert_int_equal(vmm_file_create(m, "a", 0, &f), 0);
	write_pages(f, 0, 64, 7);
	vmm_bdev_stats(b, &st0);
	/* the flusher wakes every 5 s, but the data expires only after 30 s */
	assert_int_equal(vmm_machine_advance(m, 6 * SEC), 0);
	vmm_bdev_stats(b, &st1);
	assert_int_equal(st1.write_requests, st0.write_requests);
	assert_int_equal(node_stat(m, NR_FILE_DIRTY), 64);
	assert_int_equal(vmm_machine_advance(m, 30 * SEC), 0);
	vmm_bdev_stats(b, &st1);
	assert_int_equal(st1.write_requests - st0.write_requests, 64);
	assert_int_equal(node_stat(m, NR_FILE_DIRTY), 0);
	assert_true(m->pagecache->background_runs >= 1);
	assert_machine_healthy(m);
	/* written back, not synced: the device's durable view is still empty */
	assert_int_equal(vmm_file_read_durable(m, "a", buf, sizeof(buf), 0), 0);
	assert_int_equal(vmm_bdev_crash(b), 0);
	assert_int_equal(vmm_file_stat(f, &fs), 0);
	assert_int_equal(fs.size, 0);
	assert_int_equal(fs.nrpages, 0);
	/* DONTNEED starts writeback without waiting: pages under writeback are visible */
	write_pages(f, 0, 32, 9);
	assert_int_equal(vmm_file_fadvise(f, 0, 0, VMM_FADV_DONTNEED), 0);
	assert_int_equal(vmm_file_stat(f, &fs), 0);
	assert_true(fs.nr_writeback > 0);
	assert_int_equal(node_stat(m, NR_WRITEBACK), fs.nr_writeback);
	assert_machine_healthy(m);
	assert_int_equal(vmm_machine_advance(m, SEC / 100), 0);
	assert_int_equal(vmm_file_pread(f, buf, sizeof(buf), 0), 4096);
	assert_int_equal(node_stat(m, NR_WRITEBACK), 0);
	assert_int_equal(buf[100], 9);
	assert_machine_healthy(m);
	vmm_file_close(&f);
	vmm_machine_destroy(&m);
}

/* Above vm.dirty_background_bytes the flusher writes all it can at its next wakeup. */
static void test_background_threshold(void **state)
{
	vmm_machine *m = machine();
	vmm_file *f;
	uint64_t bg, thresh;

	(void)state;
	assert_int_equal(vmm_sysctl_set(m, "vm.dirty_background_bytes", 256 << 10), 0);
	vmm_global_dirty_limits(m, &bg, &thresh);
	assert_int_equal(bg, 64);
	assert_int_equal(vmm_file_create(m, "a", 0, &f), 0);
	write_pages(f, 0, 200, 3);
	assert_int_equal(vmm_machine_advance(m, 6 * SEC), 0);
	assert_true(node_stat(m, NR_FILE_DIRTY) <= 64);
	assert_machine_healthy(m);
	/* periodic writeback off: nothing moves however long the machine idles */
	assert_int_equal(vmm_sysctl_set(m, "vm.dirty_writeback_centisecs", 0), 0);
	assert_int_equal(vmm_sysctl_set(m, "vm.dirty_background_bytes", 0), 0);
	write_pages(f, 300, 10, 3);
	assert_int_equal(vmm_machine_advance(m, 100 * SEC), 0);
	assert_true(node_stat(m, NR_FILE_DIRTY) >= 10);
	vmm_file_close(&f);
	vmm_machine_destroy(&m);
}

/* A writer above vm.dirty_bytes pauses until the device catches up. */
static void test_balance_dirty_pages(void **state)
{
	vmm_machine *m = machine();
	uint64_t io0, io1, bg, thresh;
	vmm_file *f;

	(void)state;
	assert_int_equal(vmm_sysctl_set(m, "vm.dirty_bytes", 1 << 20), 0);
	assert_int_equal(vmm_sysctl_set(m, "vm.dirty_background_bytes", 512 << 10), 0);
	vmm_global_dirty_limits(m, &bg, &thresh);
	assert_int_equal(thresh, 256);
	assert_int_equal(bg, 128);
	assert_int_equal(vmm_file_create(m, "a", 0, &f), 0);
	vmm_cpu_cycles(m, 0, VMM_CYC_IO, &io0);
	for (uint64_t p = 0; p < 2048; p++) {
		write_pages(f, p, 1, 5);
		/* never more than the threshold and one ratelimit's worth */
		assert_true(node_stat(m, NR_FILE_DIRTY) + node_stat(m, NR_WRITEBACK) <= thresh + 32);
	}
	vmm_cpu_cycles(m, 0, VMM_CYC_IO, &io1);
	assert_true(m->pagecache->balance_pauses > 0);
	assert_true(io1 - io0 >= m->pagecache->balance_pause_cycles);
	assert_true(m->pagecache->balance_pause_cycles > 0);
	assert_machine_healthy(m);
	assert_int_equal(vmm_file_fsync(f), 0);
	vmm_file_close(&f);
	vmm_machine_destroy(&m);
}

/* A write error reaches the next fsync of every handle once, and handles opened after it was seen never. */
static void test_errseq(void **state)
{
	vmm_machine *m = machine();
	vmm_bdev *b = vmm_machine_bdev(m);
	vmm_file *f1, *f2, *f3, *f4;
	uint8_t buf[4096];

	(void)state;
	assert_int_equal(vmm_file_create(m, "e", 0, &f1), 0);
	assert_int_equal(vmm_file_open(m, "e", VMM_O_RDWR, &f2), 0);
	write_pages(f1, 0, 4, 1);
	assert_int_equal(vmm_file_fsync(f1), 0);
	write_pages(f1, 0, 4, 2);
	assert_int_equal(vmm_bdev_fail_writes(b, 1), 0);
	/* opened after the error happens but before anyone saw it: it sees it too */
	assert_int_equal(vmm_file_fsync(f1), -VMM_EIO);
	assert_int_equal(vmm_file_open(m, "e", VMM_O_RDWR, &f3), 0);
	assert_int_equal(vmm_file_fsync(f1), 0);
	assert_int_equal(vmm_file_fsync(f2), -VMM_EIO);
	assert_int_equal(vmm_file_fsync(f2), 0);
	assert_int_equal(vmm_file_fsync(f3), 0);
	assert_int_equal(vmm_file_open(m, "e", VMM_O_RDWR, &f4), 0);
	assert_int_equal(vmm_file_fsync(f4), 0);
	/* the page whose write failed still reads as written (clean, PG_error cleared by the wait) */
	assert_int_equal(vmm_file_pread(f1, buf, 4096, 0), 4096);
	assert_int_equal(buf[0], 2);
	/* a second error after the first was seen is news again */
	write_pages(f1, 1, 1, 3);
	assert_int_equal(vmm_bdev_fail_writes(b, 1), 0);
	assert_int_equal(vmm_file_fsync(f3), -VMM_EIO);
	assert_int_equal(vmm_file_fsync(f4), -VMM_EIO);
	assert_int_equal(vmm_file_fsync(f4), 0);
	{
		struct vmm_bdev_stats st;

		vmm_bdev_stats(b, &st);
		assert_int_equal(st.write_errors, 2);
	}
	assert_machine_healthy(m);
	vmm_file_close(&f1);
	vmm_file_close(&f2);
	vmm_file_close(&f3);
	vmm_file_close(&f4);
	vmm_machine_destroy(&m);
}

static void test_sysctls(void **state)
{
	vmm_machine *m = machine();
	int64_t v;

	(void)state;
	assert_int_equal(vmm_sysctl_get(m, "vm.dirty_ratio", &v), 0);
	assert_int_equal(v, 20);
	assert_int_equal(vmm_sysctl_get(m, "vm.dirty_expire_centisecs", &v), 0);
	assert_int_equal(v, 3000);
	assert_int_equal(vmm_sysctl_set(m, "vm.dirty_ratio", 101), -VMM_EINVAL);
	assert_int_equal(vmm_sysctl_set(m, "vm.dirty_bytes", 100), -VMM_EINVAL);
	assert_int_equal(vmm_sysctl_set(m, "vm.dirty_bytes", 1 << 20), 0);
	assert_int_equal(vmm_sysctl_get(m, "vm.dirty_ratio", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(vmm_sysctl_set(m, "vm.dirty_ratio", 30), 0);
	assert_int_equal(vmm_sysctl_get(m, "vm.dirty_bytes", &v), 0);
	assert_int_equal(v, 0);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dirty_accounting),
		cmocka_unit_test(test_background_expiry),
		cmocka_unit_test(test_background_threshold),
		cmocka_unit_test(test_balance_dirty_pages),
		cmocka_unit_test(test_errseq),
		cmocka_unit_test(test_sysctls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
