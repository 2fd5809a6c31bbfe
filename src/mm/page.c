/* SPDX-License-Identifier: MIT */
/* Page descriptors: the public accessors and the debugging dump. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/page.h>

#include "machine.h"
#include "mm/buddy.h"
#include "mm/debug.h"
#include "mm/sparse.h"
#include "mm/zone.h"

static const char *const pageflag_names[VMM_NR_PAGEFLAGS] = {
	"locked", "writeback", "referenced", "uptodate", "dirty", "lru", "head", "waiters",
	"active", "workingset", "error", "owner_priv_1", "arch_1", "reserved", "private",
	"private_2", "mappedtodisk", "reclaim", "swapbacked", "unevictable", "mlocked",
	"hwpoison", "young", "idle",
};

static const char *const page_type_names[] = {
	"", "buddy", "table", "slab", "guard", "offline",
};

int vmm_format_page(const struct vmm_machine *m, const struct vmm_page *page, char *buf,
		    size_t size)
{
	size_t len;
	const char *type = page->page_type < sizeof(page_type_names) / sizeof(page_type_names[0])
				   ? page_type_names[page->page_type]
				   : "?";

	len = (size_t)snprintf(buf, size,
			       "page: refcount:%d mapcount:%d mapping:%#" PRIx64 " index:%#" PRIx64
			       " pfn:%#" PRIx64 " private:%#" PRIx64 " type:%s flags: %#" PRIx64 "(",
			       page->refcount, page->mapcount, page->mapping, page->index,
			       page_to_pfn(&m->sparse, page), page->private, *type ? type : "none",
			       page->flags);
	for (int f = 0, first = 1; f < VMM_NR_PAGEFLAGS && len < size; f++) {
		if (!page_flag(page, (enum vmm_pageflags)f))
			continue;
		len += (size_t)snprintf(buf + len, size - len, "%s%s", first ? "" : "|",
					pageflag_names[f]);
		first = 0;
	}
	if (len < size)
		len += (size_t)snprintf(buf + len, size - len, ")");
	return (int)len;
}

void vmm_dump_page(const struct vmm_machine *m, const struct vmm_page *page, const char *reason,
		   FILE *out)
{
	char buf[384];

	vmm_format_page(m, page, buf, sizeof(buf));
	fprintf(out, "%s\n", buf);
	if (reason)
		fprintf(out, "page dumped because: %s\n", reason);
}

void vmm_bug(struct vmm_machine *m, const char *cond, const char *file, int line,
	     const struct vmm_page *page)
{
	char buf[384] = "";

	if (page)
		vmm_format_page(m, page, buf, sizeof(buf));
	vmm_internal_err(&m->log, "BUG at %s:%d: %s%s%s", file, line, cond, page ? "; " : "", buf);
	if (vmm_debug_vm)
		abort();
}

int vmm_pfn_valid(const vmm_machine *m, vmm_pfn_t pfn)
{
	return m && vmm_sparse_pfn_valid(&m->sparse, pfn);
}

struct vmm_page *vmm_pfn_to_page(const vmm_machine *m, vmm_pfn_t pfn)
{
	return vmm_pfn_valid(m, pfn) ? pfn_to_page(&m->sparse, pfn) : NULL;
}

vmm_pfn_t vmm_page_to_pfn(const vmm_machine *m, const struct vmm_page *page)
{
	return page_to_pfn(&m->sparse, page);
}

unsigned vmm_page_to_nid(const vmm_machine *m, const struct vmm_page *page)
{
	return pfn_to_pageblock(&m->sparse, page_to_pfn(&m->sparse, page))->nid;
}

enum vmm_zone_type vmm_page_zonenum(const vmm_machine *m, const struct vmm_page *page)
{
	return (enum vmm_zone_type)pfn_to_pageblock(&m->sparse, page_to_pfn(&m->sparse, page))
		->zone;
}

uint64_t vmm_page_flags(const struct vmm_page *page)
{
	return page->flags;
}

enum vmm_page_type vmm_page_type(const struct vmm_page *page)
{
	return (enum vmm_page_type)page->page_type;
}

int vmm_page_count(const struct vmm_page *page)
{
	return page->refcount;
}

int vmm_page_mapcount(const struct vmm_page *page)
{
	return page->mapcount;
}

int vmm_page_buddy_order(const struct vmm_page *page)
{
	return PageBuddy(page) ? (int)buddy_order(page) : -1;
}
