/* SPDX-License-Identifier: MIT */
/* Machine time and timers (src/sim/timer.c). */
#include "test_util.h"

#include "machine.h"
#include "sim/timer.h"

struct fired {
	struct vmm_timer t;
	int id;
	unsigned cpu_seen;
	int *order;
	int *n;
};

static void record(struct vmm_machine *m, struct vmm_timer *t)
{
	struct fired *f = (struct fired *)t;

	f->cpu_seen = m->current_cpu;
	f->order[(*f->n)++] = f->id;
}

static void test_jiffies_and_order(void **state)
{
	struct vmm_config cfg;
	vmm_machine *m;
	struct fired f[4];
	int order[8], n = 0;
	uint64_t cpj;

	(void)state;
	vmm_config_init(&cfg);
	cfg.cpu_mhz = 2000;
	cfg.hz = 1000;
	assert_int_equal(vmm_machine_create_early(&cfg, &m), 0);
	cpj = m->timers.cycles_per_jiffy;
	assert_int_equal(cpj, 2000000);
	assert_int_equal(vmm_machine_jiffies(m), vmm_clock_now(&m->clock) / cpj);
	/* machine time is the furthest CPU clock */
	vmm_clock_charge(&m->clock, 3, VMM_CYC_OTHER, 10 * cpj);
	assert_int_equal(vmm_machine_jiffies(m), 10);
	for (int i = 0; i < 4; i++) {
		f[i] = (struct fired){ .id = i, .order = order, .n = &n };
		vmm_timer_init(&f[i].t, record, (unsigned)i);
	}
	/* deadlines 15, 12, 15, 20 jiffies: 1 first, then 0 and 2 in arming order, then 3 */
	vmm_timer_mod(m, &f[0].t, 5);
	vmm_timer_mod(m, &f[1].t, 2);
	vmm_timer_mod(m, &f[2].t, 5);
	vmm_timer_mod(m, &f[3].t, 10);
	assert_true(vmm_timer_pending(&f[3].t));
	vmm_timer_del(m, &f[3].t);
	assert_false(vmm_timer_pending(&f[3].t));
	vmm_timer_mod(m, &f[3].t, 10);
	assert_int_equal(m->timers.next, 12 * cpj);
	/* nothing is due yet */
	assert_int_equal(vmm_machine_advance(m, cpj), 0);
	assert_int_equal(n, 0);
	assert_int_equal(vmm_machine_advance(m, 4 * cpj), 0); /* now 15 */
	assert_int_equal(n, 3);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 0);
	assert_int_equal(order[2], 2);
	/* each ran on its own CPU; the current CPU is back */
	assert_int_equal(f[2].cpu_seen, 2);
	assert_int_equal(m->current_cpu, 0);
	/* the CPU clocks count work only */
	assert_int_equal(vmm_clock_now(&m->clock), 10 * cpj);
	assert_int_equal(vmm_machine_jiffies(m), 15);
	assert_int_equal(vmm_machine_advance(m, 5 * cpj), 0);
	assert_int_equal(n, 4);
	assert_int_equal(m->timers.next, UINT64_MAX);
	assert_int_equal(vmm_machine_advance(NULL, 1), -VMM_EINVAL);
	assert_int_equal(vmm_machine_jiffies(NULL), 0);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jiffies_and_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
