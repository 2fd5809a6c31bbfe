/* SPDX-License-Identifier: MIT */
/*
 * Known-zero frames: clear_page and copy_page on the host bytes behind
 * simulated frames, skipping the work the host mapping already did.
 *
 * The simulated RAM is one lazily backed host mapping that starts zero, and
 * struct vmm_physmem keeps one bit per frame set once anything may have
 * written the frame's host bytes (every host pointer into a frame taken
 * through vmm_physmem_host() sets it). A frame whose bit is clear still
 * reads as zero, so __GFP_ZERO need not clear it and a copy from it is a
 * clear. That is host work only: callers charge the simulated clear or copy
 * exactly as before, and nothing simulated reads the bits. The gain is the
 * host clear of a cold frame (a few hundred ns) and the host memory behind
 * frames no one writes, as in address-only traces.
 *
 * Debug builds (meson's debug option, or debug_vm) check each skipped clear:
 * a frame left unmarked must really be zero, or some writer did not mark it;
 * the check logs an internal error and aborts.
 */
#ifndef VMM_MM_PAGE_ZERO_H
#define VMM_MM_PAGE_ZERO_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/compiler.h"
#include "lib/pagecopy.h"
#include "machine.h"
#include "sim/physmem.h"

#ifndef VMM_ZERO_CHECK
#define VMM_ZERO_CHECK 0
#endif
static const bool vmm_zero_check = VMM_ZERO_CHECK;

/* Whether this build checks skipped clears (for tests). */
bool vmm_zero_check_enabled(void);

/*
 * Check that frame @pfn, which the bitmap says is zero, is: a frame the host
 * has not backed is; a backed one is scanned. A nonzero byte is a writer that
 * did not mark the frame: an internal error, and abort. @what names the
 * skipped operation for the report.
 */
void vmm_zero_check_frame(struct vmm_machine *m, uint64_t pfn, const char *what);

/* clear_page() for frame @pfn: afterwards its host bytes are zero, and it is unmarked. */
static inline void vmm_zero_frame(struct vmm_machine *m, uint64_t pfn)
{
	if (vmm_physmem_maybe_nonzero(&m->phys, pfn)) {
		vmm_clear_host_pages(m->phys.base + (pfn << VMM_PAGE_SHIFT), VMM_PAGE_SIZE);
		vmm_physmem_mark_zero(&m->phys, pfn);
	} else if (vmm_zero_check) {
		vmm_zero_check_frame(m, pfn, "clear");
	}
}

/* The same for frames [pfn, pfn + n), n > 1. */
void vmm_zero_frames_slow(struct vmm_machine *m, uint64_t pfn, uint64_t n);

static inline void vmm_zero_frames(struct vmm_machine *m, uint64_t pfn, uint64_t n)
{
	if (likely(n == 1))
		vmm_zero_frame(m, pfn);
	else
		vmm_zero_frames_slow(m, pfn, n);
}

/* copy_page(): frame @dst gets frame @src's host bytes (a clear when @src is known zero). */
void vmm_copy_frame(struct vmm_machine *m, uint64_t dst, uint64_t src);

#endif /* VMM_MM_PAGE_ZERO_H */
