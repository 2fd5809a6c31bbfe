/* SPDX-License-Identifier: MIT */
/* Validation of struct vmm_config, and the automatic values it may ask for. */
#ifndef VMM_SIM_CONFIG_H
#define VMM_SIM_CONFIG_H

#include <vmm/config.h>

struct vmm_log;

/*
 * Check every field; on the first bad one, log a message naming the field
 * (through @log, kind caller) and return its -VMM_ECFG_* code.
 */
int vmm_config_validate(const struct vmm_config *cfg, struct vmm_log *log);

/* Replace VMM_NODE_AUTO placements and an automatic distance table by their values. */
void vmm_config_resolve(struct vmm_config *cfg);

#endif /* VMM_SIM_CONFIG_H */
