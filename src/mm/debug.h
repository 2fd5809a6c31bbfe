/* SPDX-License-Identifier: MIT */
/*
 * Internal invariant checks. VMM_BUG_ON and VMM_BUG_ON_PAGE are active in
 * debug_vm builds; otherwise the condition still compiles but is never
 * evaluated. A failure is logged as an internal error with the offending
 * page dumped, and then the debug build aborts: an invariant that does not
 * hold means the simulation can no longer be trusted.
 */
#ifndef VMM_MM_DEBUG_H
#define VMM_MM_DEBUG_H

#include <stdio.h>

#include "lib/compiler.h"

struct vmm_machine;
struct vmm_page;

void vmm_bug(struct vmm_machine *m, const char *cond, const char *file, int line,
	     const struct vmm_page *page);

/* Describe a page as Linux's dump_page() does: pfn, refcount, mapcount, mapping, index, flags. */
void vmm_dump_page(const struct vmm_machine *m, const struct vmm_page *page, const char *reason,
		   FILE *out);
/* The same, as one line into @buf. */
int vmm_format_page(const struct vmm_machine *m, const struct vmm_page *page, char *buf,
		    size_t size);

#define VMM_BUG_ON(m, cond)                                                  \
	do {                                                                 \
		if (vmm_debug_vm && unlikely(cond))                          \
			vmm_bug((m), #cond, __FILE__, __LINE__, NULL);       \
	} while (0)

#define VMM_BUG_ON_PAGE(m, cond, page)                                       \
	do {                                                                 \
		if (vmm_debug_vm && unlikely(cond))                          \
			vmm_bug((m), #cond, __FILE__, __LINE__, (page));     \
	} while (0)

#endif /* VMM_MM_DEBUG_H */
