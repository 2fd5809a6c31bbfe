/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/lib/log.c: level filtering, the per-kind trouble counts
 * (kept even for filtered messages), formatting, and what a machine reports
 * through vmm_machine_trouble().
 */
#include "test_util.h"

#include <string.h>

#include "lib/log.h"
#include "machine.h"

/* A log set up as a machine would from a config with the test hook and @level. */
static void log_with_level(struct vmm_log *log, struct test_log *tl, int level)
{
	struct vmm_config cfg;

	vmm_config_init(&cfg);
	cfg.log_fn = test_log_hook;
	cfg.log_data = tl;
	cfg.log_level = level;
	memset(tl, 0, sizeof(*tl));
	vmm_log_init(log, &cfg);
}

static void test_init(void **state)
{
	struct vmm_config cfg;
	struct vmm_log log;
	struct test_log tl;

	(void)state;
	memset(&log, 0xff, sizeof(log));
	vmm_log_init(&log, NULL);
	assert_ptr_equal(log.fn, vmm_log_stderr);
	assert_null(log.data);
	assert_int_equal(log.level, VMM_LOG_WARN);
	for (int k = 0; k < 4; k++)
		assert_int_equal(log.counts[k], 0);

	/* a config without a hook still logs, to stderr */
	vmm_config_init(&cfg);
	cfg.log_level = VMM_LOG_DEBUG;
	vmm_log_init(&log, &cfg);
	assert_ptr_equal(log.fn, vmm_log_stderr);
	assert_int_equal(log.level, VMM_LOG_DEBUG);

	log_with_level(&log, &tl, VMM_LOG_INFO);
	assert_ptr_equal(log.fn, test_log_hook);
	assert_ptr_equal(log.data, &tl);
	assert_int_equal(log.level, VMM_LOG_INFO);
}

/* At each configured level exactly the messages at that severity or worse pass. */
static void test_level_filtering(void **state)
{
	(void)state;
	for (int level = VMM_LOG_ERROR; level <= VMM_LOG_DEBUG; level++) {
		for (int msg = VMM_LOG_ERROR; msg <= VMM_LOG_DEBUG; msg++) {
			struct vmm_log log;
			struct test_log tl;

			log_with_level(&log, &tl, level);
			vmm_log(&log, (enum vmm_log_level)msg, VMM_LOG_KIND_NOTE, "level %d", msg);
			if (tl.messages != (msg <= level ? 1u : 0u))
				fail_msg("log level %d, message level %d: %u delivered", level, msg,
					 tl.messages);
			/* counted either way */
			assert_int_equal(log.counts[VMM_LOG_KIND_NOTE], 1);
		}
	}
}

/* Each kind has its own count, which grows whether or not the message is shown. */
static void test_counts_per_kind(void **state)
{
	struct vmm_log log;
	struct test_log tl;

	(void)state;
	log_with_level(&log, &tl, VMM_LOG_ERROR);
	vmm_log(&log, VMM_LOG_DEBUG, VMM_LOG_KIND_GUEST, "filtered guest");
	vmm_log(&log, VMM_LOG_INFO, VMM_LOG_KIND_GUEST, "filtered guest");
	vmm_log(&log, VMM_LOG_WARN, VMM_LOG_KIND_INTERNAL, "filtered internal");
	vmm_log(&log, VMM_LOG_DEBUG, VMM_LOG_KIND_NOTE, "filtered note");
	assert_int_equal(tl.messages, 0);
	assert_int_equal(log.counts[VMM_LOG_KIND_NOTE], 1);
	assert_int_equal(log.counts[VMM_LOG_KIND_GUEST], 2);
	assert_int_equal(log.counts[VMM_LOG_KIND_CALLER], 0);
	assert_int_equal(log.counts[VMM_LOG_KIND_INTERNAL], 1);

	vmm_caller_err(&log, "caller %d", 1);
	vmm_guest_err(&log, "guest %d", 2);
	vmm_internal_err(&log, "internal %d", 3);
	assert_int_equal(tl.messages, 3);
	assert_int_equal(tl.last_kind, VMM_LOG_KIND_INTERNAL);
	assert_string_equal(tl.last, "internal 3");
	assert_int_equal(log.counts[VMM_LOG_KIND_GUEST], 3);
	assert_int_equal(log.counts[VMM_LOG_KIND_CALLER], 1);
	assert_int_equal(log.counts[VMM_LOG_KIND_INTERNAL], 2);

	/* a kind outside the enum is not counted anywhere, and does not crash */
	vmm_log(&log, VMM_LOG_ERROR, (enum vmm_log_kind)7, "odd kind");
	assert_int_equal(log.counts[0] + log.counts[1] + log.counts[2] + log.counts[3], 7);
}

/* The hook gets the level and kind given, and the formatted text. */
static struct {
	enum vmm_log_level level;
	enum vmm_log_kind kind;
	size_t len;
	char text[600];
} seen;

static void recording_hook(void *data, enum vmm_log_level level, enum vmm_log_kind kind,
			   const char *msg)
{
	assert_ptr_equal(data, &seen);
	seen.level = level;
	seen.kind = kind;
	seen.len = strlen(msg);
	snprintf(seen.text, sizeof(seen.text), "%s", msg);
}

static void test_hook_arguments(void **state)
{
	struct vmm_config cfg;
	struct vmm_log log;
	char long_text[2000];

	(void)state;
	vmm_config_init(&cfg);
	cfg.log_fn = recording_hook;
	cfg.log_data = &seen;
	cfg.log_level = VMM_LOG_DEBUG;
	vmm_log_init(&log, &cfg);

	vmm_log(&log, VMM_LOG_INFO, VMM_LOG_KIND_GUEST, "pfn %#x order %u %s", 0x1234, 3u, "ok");
	assert_int_equal(seen.level, VMM_LOG_INFO);
	assert_int_equal(seen.kind, VMM_LOG_KIND_GUEST);
	assert_string_equal(seen.text, "pfn 0x1234 order 3 ok");

	/* a long message is cut, not overrun: at most 511 characters reach the hook */
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	vmm_log(&log, VMM_LOG_DEBUG, VMM_LOG_KIND_NOTE, "%s", long_text);
	assert_int_equal(seen.len, 511);
	assert_int_equal(seen.level, VMM_LOG_DEBUG);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(vmm_log_level_name(VMM_LOG_ERROR), "error");
	assert_string_equal(vmm_log_level_name(VMM_LOG_WARN), "warning");
	assert_string_equal(vmm_log_level_name(VMM_LOG_INFO), "info");
	assert_string_equal(vmm_log_level_name(VMM_LOG_DEBUG), "debug");
	assert_string_equal(vmm_log_level_name((enum vmm_log_level)4), "?");
	assert_string_equal(vmm_log_level_name((enum vmm_log_level)(-1)), "?");
	assert_string_equal(vmm_log_kind_name(VMM_LOG_KIND_NOTE), "note");
	assert_string_equal(vmm_log_kind_name(VMM_LOG_KIND_GUEST), "guest");
	assert_string_equal(vmm_log_kind_name(VMM_LOG_KIND_CALLER), "caller");
	assert_string_equal(vmm_log_kind_name(VMM_LOG_KIND_INTERNAL), "internal");
	assert_string_equal(vmm_log_kind_name((enum vmm_log_kind)4), "?");
}

/* The log of every machine here; it outlives them. */
static struct test_log machine_log;

static vmm_machine *quiet_machine(int level)
{
	struct vmm_config cfg;
	vmm_machine *m = NULL;

	vmm_config_init(&cfg);
	cfg.nodes = 1;
	cfg.node_mem[0] = 64ull << 20;
	cfg.nr_holes = 2;
	cfg.log_fn = test_log_hook;
	cfg.log_data = &machine_log;
	cfg.log_level = level;
	memset(&machine_log, 0, sizeof(machine_log));
	assert_int_equal(vmm_machine_create(&cfg, &m), 0);
	return m;
}

static void expect_trouble(vmm_machine *m, uint64_t guest, uint64_t caller, uint64_t internal)
{
	struct vmm_trouble_counts t;

	memset(&t, 0xff, sizeof(t));
	assert_int_equal(vmm_machine_trouble(m, &t), 0);
	assert_int_equal(t.guest, guest);
	assert_int_equal(t.caller, caller);
	assert_int_equal(t.internal, internal);
	assert_int_equal(t.bad_pages, 0);
	assert_int_equal(t.quarantined_pages, 0);
	assert_int_equal(t.slab_errors, 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(t.reserved[i], 0);
}

/* Misuse of the API is reported to the hook as caller trouble, and counted. */
static void test_machine_trouble(void **state)
{
	struct vmm_trouble_counts t;
	vmm_machine *m;

	(void)state;
	m = quiet_machine(VMM_LOG_DEBUG);
	/* a healthy boot is no one's trouble, even at debug level */
	expect_trouble(m, 0, 0, 0);
	machine_log.messages = 0;

	assert_int_equal(vmm_dump(m, (enum vmm_dump_kind)99, stdout), -VMM_EINVAL);
	expect_trouble(m, 0, 1, 0);
	assert_int_equal(machine_log.messages, 1);
	assert_int_equal(machine_log.last_kind, VMM_LOG_KIND_CALLER);
	assert_non_null(strstr(machine_log.last, "99"));

	assert_int_equal(vmm_dump(m, VMM_DUMP_NR_KINDS, stdout), -VMM_EINVAL);
	assert_int_equal(vmm_dump(m, VMM_DUMP_SUMMARY, NULL), -VMM_EINVAL);
	expect_trouble(m, 0, 3, 0);
	assert_int_equal(machine_log.messages, 3);

	/* a check that finds nothing logs nothing */
	assert_int_equal(vmm_machine_check(m, NULL), 0);
	expect_trouble(m, 0, 3, 0);

	assert_int_equal(vmm_machine_trouble(NULL, &t), -VMM_EINVAL);
	assert_int_equal(vmm_machine_trouble(m, NULL), -VMM_EINVAL);
	vmm_machine_destroy(&m);
}

/* A machine whose log shows only errors still counts the trouble it hides. */
static void test_machine_counts_filtered(void **state)
{
	vmm_machine *m;

	(void)state;
	m = quiet_machine(VMM_LOG_ERROR);
	vmm_log(&m->log, VMM_LOG_DEBUG, VMM_LOG_KIND_GUEST, "a guest slip");
	vmm_log(&m->log, VMM_LOG_WARN, VMM_LOG_KIND_INTERNAL, "an internal slip");
	vmm_log(&m->log, VMM_LOG_INFO, VMM_LOG_KIND_CALLER, "a caller slip");
	assert_int_equal(machine_log.messages, 0);
	expect_trouble(m, 1, 1, 1);

	assert_int_equal(vmm_dump(m, (enum vmm_dump_kind)(-1), stdout), -VMM_EINVAL);
	assert_int_equal(machine_log.messages, 1);
	expect_trouble(m, 1, 2, 1);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_level_filtering),
		cmocka_unit_test(test_counts_per_kind),
		cmocka_unit_test(test_hook_arguments),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_machine_trouble),
		cmocka_unit_test(test_machine_counts_filtered),
	};

	return cmocka_run_group_tests_name("lib-log", tests, NULL, NULL);
}
