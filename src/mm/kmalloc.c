/* SPDX-License-Identifier: MIT */
/*
 * kmalloc and friends (seed 001 section 2.6.6): the smallest kmalloc cache
 * that fits, its dma-kmalloc twin for GFP_DMA, and above
 * VMM_KMALLOC_MAX_CACHE_SIZE a compound block of pages accounted as
 * unreclaimable slab, as Linux's kmalloc_large() does.
 */
#include <inttypes.h>
#include <string.h>

#include <vmm/errors.h>

#include "lib/compiler.h"
#include "machine.h"
#include "mm/page_alloc.h"
#include "mm/slab.h"
#include "mm/sparse.h"
#include "sim/physmem.h"

/* A large kmalloc block's head page carries this in page->private. */
#define KMALLOC_LARGE_MAGIC 0x6b6d616c6c6f63ull /* "kmalloc" */

const uint32_t vmm_kmalloc_sizes[SLAB_NR_KMALLOC] = { 8,   16,	 32,   64,   96,   128, 192,
						      256, 512, 1024, 2048, 4096, 8192 };

static unsigned large_order(size_t size)
{
	return size <= VMM_PAGE_SIZE ? 0 : vmm_ilog2((size - 1) >> VMM_PAGE_SHIFT) + 1;
}

static vmm_vaddr_t kmalloc_large(struct vmm_machine *m, size_t size, vmm_gfp_t gfp, int nid)
{
	unsigned order = large_order(size);
	struct vmm_page *page;
	uint64_t pfn;

	page = vmm_alloc_pages_node(m, nid, gfp | VMM_GFP_COMP, order);
	if (!page)
		return 0;
	pfn = page_to_pfn(&m->sparse, page);
	/* its owner writes it through one direct-map pointer: mark every frame */
	vmm_physmem_mark_range(&m->phys, pfn << VMM_PAGE_SHIFT, VMM_PAGE_SIZE << order);
	page->private = KMALLOC_LARGE_MAGIC;
	nid = (int)pfn_to_pageblock(&m->sparse, pfn)->nid;
	m->slab.large_pages_node[nid] += 1ull << order;
	NODE_DATA(m, (unsigned)nid)->vm_stat[NR_SLAB_UNRECLAIMABLE_B] +=
		(int64_t)(VMM_PAGE_SIZE << order);
	return vmm_page_offset(m) + (pfn << VMM_PAGE_SHIFT);
}

static vmm_vaddr_t do_kmalloc(struct vmm_machine *m, size_t size, vmm_gfp_t gfp, int nid,
			      const char *fn)
{
	if (!size)
		return VMM_ZERO_SIZE_PTR;
	if (gfp & m->slab.bad_gfp) {
		vmm_caller_err(&m->log, "%s: gfp %#x has bits kmalloc cannot use", fn, (unsigned)gfp);
		return 0;
	}
	if (nid != VMM_NUMA_NO_NODE && (nid < 0 || (unsigned)nid >= m->nr_nodes)) {
		vmm_caller_err(&m->log, "%s: node %d does not exist", fn, nid);
		return 0;
	}
	if (size > VMM_KMALLOC_MAX_CACHE_SIZE) {
		if (size > VMM_KMALLOC_MAX_SIZE) {
			if (!(gfp & VMM_GFP_NOWARN))
				vmm_caller_err(&m->log, "%s: %zu bytes is more than kmalloc serves "
					       "(%u)", fn, size, VMM_KMALLOC_MAX_SIZE);
			return 0;
		}
		return kmalloc_large(m, size, gfp, nid);
	}
	if (nid == VMM_NUMA_NO_NODE)
		return vmm_kmem_cache_alloc(vmm_kmalloc_cache(&m->slab, size, gfp), gfp);
	return vmm_slab_alloc_node(vmm_kmalloc_cache(&m->slab, size, gfp), gfp, nid);
}

/* Everything vmm_kmalloc()'s fast path (in slab.c) leaves out. */
vmm_vaddr_t vmm_kmalloc_slow(struct vmm_machine *m, size_t size, vmm_gfp_t gfp)
{
	return m ? do_kmalloc(m, size, gfp, VMM_NUMA_NO_NODE, "vmm_kmalloc") : 0;
}

vmm_vaddr_t vmm_kmalloc_node(vmm_machine *m, size_t size, vmm_gfp_t gfp, int nid)
{
	return m ? do_kmalloc(m, size, gfp, nid, __func__) : 0;
}

vmm_vaddr_t vmm_kzalloc(vmm_machine *m, size_t size, vmm_gfp_t gfp)
{
	return m ? do_kmalloc(m, size, gfp | VMM_GFP_ZERO, VMM_NUMA_NO_NODE, __func__) : 0;
}

vmm_vaddr_t vmm_kcalloc(vmm_machine *m, size_t n, size_t size, vmm_gfp_t gfp)
{
	if (!m)
		return 0;
	if (size && n > SIZE_MAX / size) {
		vmm_caller_err(&m->log, "%s: %zu x %zu bytes overflows", __func__, n, size);
		return 0;
	}
	return do_kmalloc(m, n * size, gfp | VMM_GFP_ZERO, VMM_NUMA_NO_NODE, __func__);
}

/* The head page of a large kmalloc block at @p, or NULL. */
static struct vmm_page *large_head(struct vmm_machine *m, vmm_vaddr_t p)
{
	struct vmm_page *page = vmm_virt_to_page(m, p);

	if (!page || (p & (VMM_PAGE_SIZE - 1)) || page->private != KMALLOC_LARGE_MAGIC ||
	    page->refcount <= 0 || (page->compound & VMM_PAGE_TAIL))
		return NULL;
	return page;
}

size_t vmm_ksize(vmm_machine *m, vmm_vaddr_t p)
{
	struct vmm_kmem_cache *c;
	struct vmm_page *page;

	if (!m || !p || p == VMM_ZERO_SIZE_PTR)
		return 0;
	c = vmm_slab_cache_of(m, p);
	if (c)
		return c->object_size;
	page = large_head(m, p);
	if (page)
		return (size_t)VMM_PAGE_SIZE << (page->compound & VMM_PAGE_ALLOC_ORDER);
	vmm_slab_error(m, NULL, "ksize: %#" PRIx64 " is not a kmalloc address", p);
	return 0;
}

/* Everything vmm_kfree()'s fast path (in slab.c) leaves out. */
void vmm_kfree_slow(struct vmm_machine *m, vmm_vaddr_t p)
{
	struct vmm_page *page;

	if (!p || p == VMM_ZERO_SIZE_PTR)
		return;
	page = vmm_virt_to_page(m, p);
	if (page && page->page_type == VMM_PGTY_SLAB) {
		vmm_slab_free_any(m, p, "kfree");
		return;
	}
	page = large_head(m, p);
	if (page) {
		unsigned order = page->compound & VMM_PAGE_ALLOC_ORDER;
		uint64_t pfn = page_to_pfn(&m->sparse, page);
		unsigned nid = pfn_to_pageblock(&m->sparse, pfn)->nid;

		page->private = 0;
		m->slab.large_pages_node[nid] -= 1ull << order;
		NODE_DATA(m, nid)->vm_stat[NR_SLAB_UNRECLAIMABLE_B] -=
			(int64_t)(VMM_PAGE_SIZE << order);
		vmm_free_pages(m, page, order);
		return;
	}
	page = vmm_virt_to_page(m, p);
	if (page && (page->compound & VMM_PAGE_TAIL))
		vmm_slab_error(m, NULL, "kfree: %#" PRIx64 " is a tail page of a compound page", p);
	else
		vmm_slab_error(m, NULL, "kfree: %#" PRIx64 " is not a kmalloc address", p);
}

vmm_vaddr_t vmm_krealloc(vmm_machine *m, vmm_vaddr_t p, size_t new_size, vmm_gfp_t gfp)
{
	size_t ks;
	vmm_vaddr_t q;

	if (!m)
		return 0;
	if (!new_size) {
		vmm_kfree(m, p);
		return VMM_ZERO_SIZE_PTR;
	}
	if (!p || p == VMM_ZERO_SIZE_PTR)
		return do_kmalloc(m, new_size, gfp, VMM_NUMA_NO_NODE, __func__);
	ks = vmm_ksize(m, p);
	if (!ks)
		return 0;
	if (ks >= new_size)
		return p;
	q = do_kmalloc(m, new_size, gfp & ~VMM_GFP_ZERO, VMM_NUMA_NO_NODE, __func__);
	if (!q)
		return 0;
	memcpy(vmm_kaddr_to_host(m, q), vmm_kaddr_to_host(m, p), ks);
	if (gfp & VMM_GFP_ZERO)
		memset((uint8_t *)vmm_kaddr_to_host(m, q) + ks, 0, vmm_ksize(m, q) - ks);
	vmm_kfree(m, p);
	return q;
}
