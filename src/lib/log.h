/* SPDX-License-Identifier: MIT */
/*
 * Logging through the embedder's hook, with the three kinds of trouble
 * (guest, caller, internal) counted apart.
 */
#ifndef VMM_LIB_LOG_H
#define VMM_LIB_LOG_H

#include <stdint.h>

#include <vmm/config.h>

#include "lib/compiler.h"

struct vmm_log {
	vmm_log_fn fn;
	void *data;
	int level;
	uint64_t counts[4];	/* indexed by enum vmm_log_kind */
};

void vmm_log_init(struct vmm_log *log, const struct vmm_config *cfg);
void vmm_log(struct vmm_log *log, enum vmm_log_level level, enum vmm_log_kind kind,
	     const char *fmt, ...) VMM_PRINTF(4, 5);

/* The default hook: one line on stderr. */
void vmm_log_stderr(void *data, enum vmm_log_level level, enum vmm_log_kind kind,
		    const char *msg);

const char *vmm_log_level_name(enum vmm_log_level level);
const char *vmm_log_kind_name(enum vmm_log_kind kind);

#define vmm_caller_err(log, ...) vmm_log(log, VMM_LOG_ERROR, VMM_LOG_KIND_CALLER, __VA_ARGS__)
#define vmm_guest_err(log, ...) vmm_log(log, VMM_LOG_ERROR, VMM_LOG_KIND_GUEST, __VA_ARGS__)
#define vmm_internal_err(log, ...) vmm_log(log, VMM_LOG_ERROR, VMM_LOG_KIND_INTERNAL, __VA_ARGS__)

#endif /* VMM_LIB_LOG_H */
