/* SPDX-License-Identifier: MIT */
/*
 * The machine's life through the public API: create and destroy, argument
 * checks, determinism (digests, PRNG), and host allocation failure at every
 * allocation of creation, which must return -VMM_ENOMEM and leak nothing
 * (ASan's leak checker covers the heap; the mapping count covers mmaps).
 */
#include "test_util.h"

#include <string.h>

#include "lib/prng.h"
#include "machine.h"

static int count_host_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int lines = 0, c;

	assert_non_null(f);
	while ((c = fgetc(f)) != EOF)
		lines += c == '\n';
	fclose(f);
	return lines;
}

static void test_create_destroy_and_args(void **state)
{
	struct vmm_config cfg;
	vmm_machine *m = (vmm_machine *)&cfg;

	(void)state;
	vmm_config_init(&cfg);
	cfg.log_level = VMM_LOG_ERROR;
	assert_int_equal(vmm_machine_create(NULL, &m), -VMM_EINVAL);
	assert_null(m);
	assert_int_equal(vmm_machine_create(&cfg, NULL), -VMM_EINVAL);
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	assert_non_null(m);
	assert_int_equal(vmm_machine_nr_nodes(m), 2);
	assert_int_equal(vmm_machine_config(m)->cpu_node[3], 1);
	assert_int_equal(vmm_machine_config(m)->distance[0][1], 21);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
	assert_null(m);
	vmm_machine_destroy(&m);	/* NULL handle: nothing happens */
	vmm_machine_destroy(NULL);
	assert_null(vmm_machine_config(NULL));
	assert_int_equal(vmm_machine_nr_nodes(NULL), 0);
	assert_int_equal(vmm_machine_digest(NULL), 0);
	assert_int_equal(vmm_machine_check(NULL, stdout), -VMM_EINVAL);
	assert_int_equal(vmm_machine_trouble(NULL, NULL), -VMM_EINVAL);
	assert_int_equal(vmm_version(), VMM_VERSION_NUMBER);
	assert_non_null(vmm_version_string());
}

/* Two machines in one process share nothing: each keeps its own state and checks clean. */
static void test_two_machines_independent(void **state)
{
	struct vmm_config a, b;
	vmm_machine *ma, *mb;
	uint64_t da;

	(void)state;
	vmm_config_init(&a);
	vmm_config_init(&b);
	b.nodes = 4;
	assert_int_equal(vmm_machine_create(&a, &ma), 0);
	da = vmm_machine_digest(ma);
	assert_int_equal(vmm_machine_create(&b, &mb), 0);
	assert_int_equal(vmm_machine_digest(ma), da);
	assert_int_not_equal(vmm_machine_digest(mb), da);
	vmm_machine_destroy(&mb);
	assert_int_equal(vmm_machine_digest(ma), da);
	assert_machine_healthy(ma);
	vmm_machine_destroy(&ma);
}

static void test_digest_determinism(void **state)
{
	struct vmm_config cfg;
	vmm_machine *m1, *m2, *m3;
	uint64_t d1, d2;

	(void)state;
	vmm_config_init(&cfg);
	cfg.seed = 42;
	assert_int_equal(vmm_machine_create(&cfg, &m1), 0);
	assert_int_equal(vmm_machine_create(&cfg, &m2), 0);
	d1 = vmm_machine_digest(m1);
	d2 = vmm_machine_digest(m2);
	printf("# digest of the default machine with seed 42: %016" PRIx64 "\n", d1);
	assert_int_equal(d1, d2);
	/* reading state changes nothing */
	assert_machine_healthy(m1);
	assert_int_equal(vmm_dump(m1, VMM_DUMP_ZONEINFO, fopen("/dev/null", "w")), 0);
	assert_int_equal(vmm_machine_digest(m1), d1);
	/* the PRNG is simulated state: drawing moves the digest, equally on both */
	for (int i = 0; i < 5; i++)
		assert_int_equal(vmm_machine_random(m1), vmm_machine_random(m2));
	assert_int_not_equal(vmm_machine_digest(m1), d1);
	assert_int_equal(vmm_machine_digest(m1), vmm_machine_digest(m2));
	/* another seed, another digest */
	cfg.seed = 43;
	assert_int_equal(vmm_machine_create(&cfg, &m3), 0);
	assert_int_not_equal(vmm_machine_digest(m3), d1);
	/* the log hook is host state, not simulated state */
	vmm_machine_destroy(&m3);
	cfg.seed = 42;
	cfg.log_fn = test_log_hook;
	assert_int_equal(vmm_machine_create(&cfg, &m3), 0);
	assert_int_equal(vmm_machine_digest(m3), d1);
	vmm_machine_destroy(&m1);
	vmm_machine_destroy(&m2);
	vmm_machine_destroy(&m3);
}

/* Each host allocation of creation fails once in turn: every failure is clean. */
static void test_host_failure_at_every_allocation(void **state)
{
	struct vmm_config cfg;
	struct vmm_hostmem_inject inj = { 0 };
	struct test_log tl = { 0 };
	vmm_machine *m;
	int mappings = count_host_mappings();
	uint64_t n;
	int err;

	(void)state;
	vmm_config_init(&cfg);
	cfg.nodes = 4;
	cfg.node_mem[0] = cfg.node_mem[1] = cfg.node_mem[2] = cfg.node_mem[3] = 256ull << 20;
	cfg.nr_holes = 2;
	cfg.log_fn = test_log_hook;
	cfg.log_data = &tl;
	struct vmm_hostmem final;

	for (n = 1;; n++) {
		memset(&final, 0, sizeof(final));
		inj.fail_nth = n;
		inj.final = &final;
		m = (vmm_machine *)&inj;
		err = vmm_machine_create_inject(&cfg, &inj, &m);
		if (!err)
			break;
		assert_int_equal(err, -VMM_ENOMEM);
		assert_null(m);
		/* every heap byte and every host map went back (the first call fails before any) */
		assert_int_equal(final.heap_bytes, 0);
		assert_int_equal(final.map_bytes, 0);
		assert_true(n < 10000);
	}
	printf("# machine creation makes %" PRIu64 " host allocations; each failure was clean\n",
	       n - 1);
	assert_true(n > 10);
	assert_true(tl.messages >= n - 1);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
	assert_int_equal(final.heap_bytes, 0);
	assert_int_equal(final.map_bytes, 0);
	printf("# host mappings before %d, after %d (sanitizer runtimes add their own)\n", mappings,
	       count_host_mappings());
}

/* Random failures with a printed seed: every creation either works or fails cleanly. */
static void test_host_failure_random(void **state)
{
	struct vmm_config cfg;
	struct vmm_hostmem_inject inj = { 0 };
	vmm_machine *m;
	int mappings = count_host_mappings(), ok = 0;

	(void)state;
	vmm_config_init(&cfg);
	cfg.log_level = VMM_LOG_ERROR;
	cfg.log_fn = test_log_hook;
	cfg.log_data = &(struct test_log){ 0 };
	inj.fail_ppm = 1000; /* about half of the ~630 allocations of a boot succeed */
	inj.seed = test_seed(__func__, 7);
	for (int i = 0; i < 200; i++) {
		struct vmm_hostmem final;
		int err;

		memset(&final, 0xff, sizeof(final));
		inj.final = &final;
		inj.seed++;
		err = vmm_machine_create_inject(&cfg, &inj, &m);
		assert_true(err == 0 || err == -VMM_ENOMEM);
		if (!err) {
			ok++;
			assert_machine_healthy(m);
			vmm_machine_destroy(&m);
		}
		assert_int_equal(final.heap_bytes, 0);
		assert_int_equal(final.map_bytes, 0);
	}
	printf("# %d of 200 creations succeeded; host mappings before %d, after %d\n", ok,
	       mappings, count_host_mappings());
	assert_true(ok > 0 && ok < 200);
}

/* A machine too small for its own boot data fails with ENOMEM from the simulated memory. */
static void test_simulated_memory_exhausted(void **state)
{
	struct vmm_config cfg;
	struct test_log tl = { 0 };
	vmm_machine *m;

	(void)state;
	vmm_config_init(&cfg);
	cfg.nodes = 1;
	cfg.node_mem[0] = 16ull << 20; /* below 16 MiB there is no room for the memory map */
	cfg.nr_holes = 2;
	cfg.kernel_image_size = 0;
	cfg.log_fn = test_log_hook;
	cfg.log_data = &tl;
	assert_int_equal(vmm_machine_create(&cfg, &m), -VMM_ENOMEM);
	assert_null(m);
	assert_non_null(strstr(tl.last, "simulated"));
	cfg.node_mem[0] = 20ull << 20; /* [16M, 18M) holds the map */
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_destroy_and_args),
		cmocka_unit_test(test_two_machines_independent),
		cmocka_unit_test(test_digest_determinism),
		cmocka_unit_test(test_host_failure_at_every_allocation),
		cmocka_unit_test(test_host_failure_random),
		cmocka_unit_test(test_simulated_memory_exhausted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
