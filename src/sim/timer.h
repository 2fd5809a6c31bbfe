/* SPDX-License-Identifier: MIT */
/*
 * Machine time and timers (ARCHITECTURE.md principle 5). Machine time is
 * the furthest-ahead CPU clock, or later when the embedder moved idle time
 * forward (vmm_machine_advance); jiffies count it in ticks of cfg.hz.
 * A timer fires once machine time reaches its deadline: at the next poll
 * (the slab entry points poll: the current CPU's clock holds the first
 * deadline, vmm_cpu_clock_due()) or at vmm_machine_advance(). Its function runs on the timer's CPU, which
 * is made current for the call, as Linux runs a CPU's delayed work there.
 */
#ifndef VMM_SIM_TIMER_H
#define VMM_SIM_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/list.h"

struct vmm_machine;
struct vmm_timer;

typedef void (*vmm_timer_fn)(struct vmm_machine *m, struct vmm_timer *t);

struct vmm_timer {
	struct vmm_list node;	/* on vmm_timers.list while pending */
	uint64_t expires;	/* machine cycle of the deadline */
	vmm_timer_fn fn;
	unsigned cpu;		/* the CPU the function runs on */
};

struct vmm_timers {
	struct vmm_list list;		/* pending timers, by deadline then by arming order */
	uint64_t next;			/* the first deadline; UINT64_MAX when none is pending
					 * (every CPU's clock holds it: vmm_clock_set_deadline) */
	uint64_t floor;			/* machine time the embedder advanced to */
	uint64_t cycles_per_jiffy;
	bool running;			/* inside vmm_timers_run */
};

void vmm_timers_init(struct vmm_timers *ts, uint32_t cpu_mhz, uint32_t hz);

/* Machine time in cycles, and in jiffies. */
uint64_t vmm_machine_now(const struct vmm_machine *m);
uint64_t vmm_jiffies(const struct vmm_machine *m);

void vmm_timer_init(struct vmm_timer *t, vmm_timer_fn fn, unsigned cpu);
/* Arm (or re-arm) @t to fire @delay jiffies after the current machine time. */
void vmm_timer_mod(struct vmm_machine *m, struct vmm_timer *t, uint64_t delay);
void vmm_timer_del(struct vmm_machine *m, struct vmm_timer *t);
static inline bool vmm_timer_pending(const struct vmm_timer *t)
{
	return vmm_list_is_linked(&t->node);
}

/* Fire every timer whose deadline machine time has reached. */
void vmm_timers_run(struct vmm_machine *m);

#endif /* VMM_SIM_TIMER_H */
