/* SPDX-License-Identifier: MIT */
/* Known-zero frames: host clears and copies skipped where the bytes are zero already. */
#include "mm/page_zero.h"

#include <inttypes.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/log.h"

bool vmm_zero_check_enabled(void)
{
	return vmm_zero_check;
}

/* Whether the host has memory behind the frame at @host (mincore); if unsure, yes. */
static bool host_backed(const void *host)
{
	long hp = sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)host;
	unsigned char vec = 1;

	if (hp <= 0)
		return true;
	a &= ~((uintptr_t)hp - 1);
	if (mincore((void *)a, 1, &vec))
		return true;
	return vec & 1;
}

void vmm_zero_check_frame(struct vmm_machine *m, uint64_t pfn, const char *what)
{
	const uint64_t *w = vmm_physmem_host_ro(&m->phys, pfn << VMM_PAGE_SHIFT);

	/* an unbacked frame reads as zero; not reading it keeps it unbacked */
	if (!host_backed(w))
		return;
	for (unsigned i = 0; i < VMM_PAGE_SIZE / sizeof(*w); i++) {
		if (!w[i])
			continue;
		vmm_internal_err(&m->log,
				 "BUG: %s skipped for pfn %#" PRIx64 " as known zero, but word %u is "
				 "%#" PRIx64 ": a writer of its host bytes did not mark the frame",
				 what, pfn, i, w[i]);
		abort();
	}
}

void vmm_zero_frames_slow(struct vmm_machine *m, uint64_t pfn, uint64_t n)
{
	for (uint64_t end = pfn + n; pfn < end; pfn++)
		vmm_zero_frame(m, pfn);
}

void vmm_copy_frame(struct vmm_machine *m, uint64_t dst, uint64_t src)
{
	if (!vmm_physmem_maybe_nonzero(&m->phys, src)) {
		if (vmm_zero_check)
			vmm_zero_check_frame(m, src, "copy");
		vmm_zero_frame(m, dst);
		return;
	}
	vmm_physmem_mark_pfn(&m->phys, dst);
	vmm_copy_host_pages(m->phys.base + (dst << VMM_PAGE_SHIFT),
			    m->phys.base + (src << VMM_PAGE_SHIFT), VMM_PAGE_SIZE);
}
