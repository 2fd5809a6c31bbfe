/* SPDX-License-Identifier: MIT */
/*
 * The simulated block device (src/pagecache/bdev.c): request latency as
 * configured (per request and per byte, charged to the waiting CPU in
 * VMM_CYC_IO), merging of consecutive blocks into one request, request
 * counters, contents kept in a host file, and destroy refusing a device
 * that holds files.
 */
#include "pc_util.h"

#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

static void test_latency_and_merging(void **state)
{
	vmm_machine *m = pc_machine(1, 64, NULL);
	struct vmm_bdev_config bc;
	struct vmm_bdev_stats st0, st1;
	uint64_t io0, io1;
	uint8_t buf[4096 * 8];
	vmm_bdev *b;
	vmm_file *f;

	(void)state;
	vmm_bdev_config_init(&bc);
	bc.capacity = 16ull << 20;
	bc.read_req_cycles = 10000;
	bc.read_byte_cycles = 3;
	assert_int_equal(vmm_bdev_create(m, "lat", &bc, &b), 0);
	assert_int_equal(vmm_file_create_on(b, "x", 0, &f), 0);
	memset(buf, 0x42, sizeof(buf));
	assert_int_equal(vmm_file_pwrite(f, buf, sizeof(buf), 0), sizeof(buf));
	assert_int_equal(vmm_file_fsync(f), 0);
	assert_int_equal(vmm_file_fadvise(f, 0, 0, VMM_FADV_DONTNEED), 0);
	assert_int_equal(vmm_file_fadvise(f, 0, 0, VMM_FADV_RANDOM), 0);
	/* let the writes finish, so the read finds the device idle */
	assert_int_equal(vmm_machine_advance(m, 3000000000ull), 0);
	vmm_bdev_stats(b, &st0);
	vmm_cpu_cycles(m, vmm_machine_current_cpu(m), VMM_CYC_IO, &io0);
	assert_int_equal(vmm_file_pread(f, buf, 4096, 0), 4096);
	vmm_cpu_cycles(m, vmm_machine_current_cpu(m), VMM_CYC_IO, &io1);
	vmm_bdev_stats(b, &st1);
	assert_int_equal(st1.read_requests - st0.read_requests, 1);
	assert_int_equal(st1.read_bytes - st0.read_bytes, 4096);
	assert_int_equal(io1 - io0, 10000 + 3 * 4096);
	assert_int_equal(st1.busy_cycles - st0.busy_cycles, 10000 + 3 * 4096);
	/* seven more pages, written together so their blocks are consecutive: one request */
	assert_int_equal(vmm_file_fadvise(f, 0, 0, VMM_FADV_NORMAL), 0);
	assert_int_equal(vmm_file_fadvise(f, 4096, 7 * 4096, VMM_FADV_WILLNEED), 0);
	vmm_bdev_stats(b, &st0);
	assert_int_equal(st0.read_requests - st1.read_requests, 1);
	assert_int_equal(st0.read_bytes - st1.read_bytes, 7 * 4096);
	assert_int_equal(vmm_file_pread(f, buf, sizeof(buf), 0), sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0x42);
	assert_int_equal(vmm_bdev_destroy(&b), -VMM_EBUSY);
	assert_non_null(b);
	vmm_file_close(&f);
	assert_int_equal(vmm_file_unlink(m, "x"), 0);
	assert_int_equal(vmm_bdev_destroy(&b), 0);
	assert_null(b);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* With host_path the blocks live in a host file: written data is found there. */
static void test_host_file(void **state)
{
	char path[] = "/tmp/vmm-bdev-XXXXXX";
	int fd = mkstemp(path);
	vmm_machine *m = pc_machine(1, 64, NULL);
	struct vmm_bdev_config bc;
	static uint8_t host[4 << 20];
	const char msg[] = "durable bytes in a host file";
	vmm_bdev *b;
	vmm_file *f;
	bool found = false;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	vmm_bdev_config_init(&bc);
	bc.capacity = 4ull << 20;
	bc.host_path = path;
	assert_int_equal(vmm_bdev_create(m, "hostdev", &bc, &b), 0);
	assert_int_equal(vmm_file_create_on(b, "h", 0, &f), 0);
	assert_int_equal(vmm_file_pwrite(f, msg, sizeof(msg), 8192), sizeof(msg));
	assert_int_equal(vmm_file_fsync(f), 0);
	assert_int_equal(vmm_file_read_durable(m, "h", host, sizeof(msg), 8192), sizeof(msg));
	assert_memory_equal(host, msg, sizeof(msg));
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, host, sizeof(host)), sizeof(host));
	close(fd);
	for (size_t off = 0; off < sizeof(host); off += 4096)
		found |= !memcmp(host + off, msg, sizeof(msg));
	assert_true(found);
	vmm_file_close(&f);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
	unlink(path);
	/* a path that cannot be opened */
	m = pc_machine(1, 64, &(struct test_log){ 0 });
	bc.host_path = "/nonexistent-dir/disk";
	assert_int_equal(vmm_bdev_create(m, "bad", &bc, &b), -VMM_EIO);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_latency_and_merging),
		cmocka_unit_test(test_host_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
