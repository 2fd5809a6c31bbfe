/* SPDX-License-Identifier: MIT */
#include "sim/timer.h"

#include "lib/compiler.h"
#include "machine.h"

void vmm_timers_init(struct vmm_timers *ts, uint32_t cpu_mhz, uint32_t hz)
{
	vmm_list_init(&ts->list);
	ts->next = UINT64_MAX;
	ts->floor = 0;
	ts->cycles_per_jiffy = (uint64_t)cpu_mhz * 1000000u / hz;
	ts->running = false;
}

uint64_t vmm_machine_now(const struct vmm_machine *m)
{
	return VMM_MAX(vmm_clock_now(&m->clock), m->timers.floor);
}

uint64_t vmm_jiffies(const struct vmm_machine *m)
{
	return vmm_machine_now(m) / m->timers.cycles_per_jiffy;
}

void vmm_timer_init(struct vmm_timer *t, vmm_timer_fn fn, unsigned cpu)
{
	vmm_list_init(&t->node);
	t->expires = 0;
	t->fn = fn;
	t->cpu = cpu;
}

/* The first deadline, which every CPU's clock holds too (its polls test it there). */
static void timers_update_next(struct vmm_machine *m)
{
	struct vmm_timers *ts = &m->timers;

	ts->next = vmm_list_empty(&ts->list) ?
			   UINT64_MAX :
			   vmm_list_first_entry(&ts->list, struct vmm_timer, node)->expires;
	vmm_clock_set_deadline(&m->clock, ts->next);
}

void vmm_timer_del(struct vmm_machine *m, struct vmm_timer *t)
{
	if (!vmm_timer_pending(t))
		return;
	vmm_list_del(&t->node);
	timers_update_next(m);
}

void vmm_timer_mod(struct vmm_machine *m, struct vmm_timer *t, uint64_t delay)
{
	struct vmm_timers *ts = &m->timers;
	struct vmm_list *pos;

	vmm_timer_del(m, t);
	/* deadlines fall on jiffy boundaries, as timer_list's do */
	t->expires = (vmm_jiffies(m) + delay) * ts->cycles_per_jiffy;
	/* after every timer due at the same time or earlier: arming order breaks ties */
	for (pos = ts->list.prev; pos != &ts->list; pos = pos->prev)
		if (vmm_list_entry(pos, struct vmm_timer, node)->expires <= t->expires)
			break;
	vmm_list_insert_between(&t->node, pos, pos->next);
	timers_update_next(m);
}

void vmm_timers_run(struct vmm_machine *m)
{
	struct vmm_timers *ts = &m->timers;
	unsigned saved_cpu = m->current_cpu;
	uint64_t now;

	if (ts->running)
		return;
	ts->running = true;
	now = vmm_machine_now(m);
	while (ts->next <= now) {
		struct vmm_timer *t = vmm_list_first_entry(&ts->list, struct vmm_timer, node);

		vmm_list_del(&t->node);
		timers_update_next(m);
		vmm_switch_cpu(m, t->cpu);
		t->fn(m, t);
	}
	vmm_switch_cpu(m, saved_cpu);
	ts->running = false;
}
