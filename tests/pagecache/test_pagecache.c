/* SPDX-License-Identifier: MIT */
/*
 * The page cache's machine-wide part (src/pagecache/pagecache.c): its share
 * of vmm_machine_digest(). Two machines given the same calls digest alike;
 * what a file holds on its device, its size, a handle's position and a
 * crash each change the digest.
 */
#include "pc_util.h"

#include <string.h>

/* The same story on a fresh machine: a file written, synced, read, left open. */
static vmm_machine *story(const char *byte, uint64_t extend, vmm_file **fp)
{
	vmm_machine *m = pc_machine(1, 32, NULL);
	char buf[8192];
	vmm_file *f;

	memset(buf, 'a', sizeof(buf));
	memcpy(buf + 5000, byte, 1);
	assert_int_equal(vmm_file_create(m, "data", 0, &f), 0);
	assert_int_equal(vmm_file_pwrite(f, buf, sizeof(buf), 0), (int64_t)sizeof(buf));
	assert_int_equal(vmm_file_fsync(f), 0);
	if (extend)
		assert_int_equal(vmm_file_ftruncate(f, extend), 0);
	assert_int_equal(vmm_file_read(f, buf, 100), 100);
	assert_machine_healthy(m);
	*fp = f;
	return m;
}

static void test_digest_covers_files(void **state)
{
	vmm_file *f1, *f2, *f3, *f4;
	vmm_machine *a = story("x", 0, &f1), *b = story("x", 0, &f2);
	vmm_machine *c = story("y", 0, &f3), *d = story("x", 3 * 4096, &f4);
	uint64_t da = vmm_machine_digest(a);
	char buf[16];

	(void)state;
	/* identical calls, identical state */
	assert_int_equal(da, vmm_machine_digest(b));
	/* one byte differs on the device */
	assert_int_not_equal(da, vmm_machine_digest(c));
	/* only the size differs */
	assert_int_not_equal(da, vmm_machine_digest(d));
	/* only a handle's position differs */
	assert_int_equal(vmm_file_read(f2, buf, 1), 1);
	assert_int_not_equal(da, vmm_machine_digest(b));
	/* digesting changes nothing */
	assert_int_equal(vmm_machine_digest(a), da);
	/* a crash drops what was not synced: here nothing, but the device's state moves */
	assert_int_equal(vmm_file_pwrite(f1, "z", 1, 0), 1);
	da = vmm_machine_digest(a);
	assert_int_equal(vmm_bdev_crash(vmm_machine_bdev(a)), 0);
	assert_int_not_equal(da, vmm_machine_digest(a));
	assert_machine_healthy(a);
	vmm_file_close(&f1);
	vmm_file_close(&f2);
	vmm_file_close(&f3);
	vmm_file_close(&f4);
	vmm_machine_destroy(&a);
	vmm_machine_destroy(&b);
	vmm_machine_destroy(&c);
	vmm_machine_destroy(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest_covers_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
