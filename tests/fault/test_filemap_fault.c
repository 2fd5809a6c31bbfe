/* SPDX-License-Identifier: MIT */
/*
 * Tests of src/fault/filemap_fault.c: read faults with fault-around,
 * private (COW) and shared writes, wp_page_shared, SIGBUS beyond EOF,
 * through vmm_do_fault()/vmm_wp_page_shared() called with a struct
 * vmm_vm_fault built here as handle_mm_fault builds it, and one scenario
 * through vmm_cpu_access() and libvmm's own fault path. The machine check
 * runs after every step.
 */
#include <string.h>

#include "../pagecache/pc_util.h"

/* /proc/PID/<kind> of a task as a string (free it). */
static char *task_dump_string(vmm_task *t, enum vmm_task_dump_kind kind)
{
	return PRINT_TO_STRING(vmm_task_dump(t, kind, out));
}

#include "fault/fault.h"
#include "machine.h"
#include "mm/pgtable.h"
#include "mm/rmap.h"
#include "mm/vma.h"
#include "pagecache/filemap.h"

#define PG 4096u
#define SIGBUS_NR 7	/* SIGBUS */

struct fx {
	vmm_machine *m;
	vmm_task *t;
	vmm_file *f;
	struct test_log tl;
};

static void healthy(struct fx *x)
{
	assert_machine_healthy(x->m);
}

/* A file of @pages pages whose page i holds bytes (i + 1), written and synced. */
static vmm_file *make_file(vmm_machine *m, const char *name, uint64_t size)
{
	vmm_file *f;
	uint8_t buf[PG];

	assert_int_equal(vmm_file_create(m, name, size, &f), 0);
	for (uint64_t off = 0; off < size; off += PG) {
		size_t n = size - off < PG ? size - off : PG;

		memset(buf, (int)(off / PG + 1), sizeof(buf));
		assert_int_equal(vmm_file_pwrite(f, buf, n, off), (int64_t)n);
	}
	assert_int_equal(vmm_file_fsync(f), 0);
	return f;
}

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	x->m = pc_machine(1, 128, &x->tl);
	assert_int_equal(vmm_sysctl_set(x->m, "kernel.randomize_va_space", 0), 0);
	assert_int_equal(vmm_task_create(x->m, "t", &x->t), 0);
	x->f = make_file(x->m, "data", 64 * PG);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	vmm_file_close(&x->f);
	vmm_task_destroy(&x->t);
	assert_machine_healthy(x->m);
	vmm_machine_destroy(&x->m);
	free(x);
	return 0;
}

static vmm_vaddr_t map_file(vmm_task *t, vmm_file *f, uint64_t len, unsigned prot, unsigned flags,
			    uint64_t off)
{
	vmm_vaddr_t a;

	assert_int_equal(vmm_mmap(t, 0, len, prot, flags, f, off, &a), 0);
	return a;
}

/*
 * What handle_mm_fault does before calling the file side: find the VMA,
 * allocate the tables, fill the struct. A present entry with a write goes
 * to wp_page_shared (shared mappings only here).
 */
static unsigned fault(vmm_task *t, vmm_vaddr_t addr, bool write)
{
	struct vmm_mm *mm = t->mm;
	struct vmm_vma *v = vmm_vma_find(mm, addr);
	struct vmm_vm_fault vmf;

	assert_non_null(v);
	assert_true(v->vm_start <= addr);
	memset(&vmf, 0, sizeof(vmf));
	vmf.vma = v;
	vmf.task = t;
	vmf.flags = FAULT_FLAG_USER | (write ? FAULT_FLAG_WRITE : 0);
	vmf.address = addr & ~(uint64_t)(PG - 1);
	vmf.real_address = addr;
	vmf.pgoff = v->vm_pgoff + ((vmf.address - v->vm_start) >> 12);
	vmf.pte = vmm_pte_slot(mm, addr, true);
	assert_non_null(vmf.pte);
	vmf.orig_pte = *vmf.pte;
	if (vmf.orig_pte & VMM_PTE_PRESENT) {
		assert_true(write && (v->vm_flags & VMM_VM_SHARED));
		return vmm_wp_page_shared(&vmf);
	}
	return vmm_do_fault(&vmf);
}

static uint64_t pte_of(vmm_task *t, vmm_vaddr_t a)
{
	return vmm_user_pte(t->mm, a);
}

static struct vmm_page *page_of(vmm_task *t, vmm_vaddr_t a)
{
	uint64_t e = pte_of(t, a);

	assert_true(e & VMM_PTE_PRESENT);
	return vmm_vm_normal_page(t->m, e);
}

static uint8_t byte_at(vmm_task *t, vmm_vaddr_t a)
{
	uint64_t e = pte_of(t, a);

	return *(uint8_t *)vmm_physmem_host(&t->m->phys, (e & VMM_PTE_ADDR_MASK) + (a & (PG - 1)));
}

static int64_t node_stat(vmm_machine *m, int item)
{
	return m->node_data[0].vm_stat[item];
}

static unsigned present_in(vmm_task *t, vmm_vaddr_t a, unsigned pages)
{
	unsigned n = 0;

	for (unsigned i = 0; i < pages; i++)
		n += (pte_of(t, a + (uint64_t)i * PG) & VMM_PTE_PRESENT) != 0;
	return n;
}

/* ---- mmap of files ---- */

static void test_mmap_checks(void **state)
{
	struct fx *x = *state;
	vmm_file *ro, *wo;
	vmm_vaddr_t a;
	char *maps;

	assert_int_equal(vmm_file_open(x->m, "data", VMM_O_RDONLY, &ro), 0);
	assert_int_equal(vmm_file_open(x->m, "data", VMM_O_WRONLY, &wo), 0);
	assert_int_equal(vmm_mmap(x->t, 0, PG, VMM_PROT_READ | VMM_PROT_WRITE, VMM_MAP_SHARED, ro, 0,
				  &a), -VMM_EACCES);
	assert_int_equal(vmm_mmap(x->t, 0, PG, VMM_PROT_READ, VMM_MAP_PRIVATE, wo, 0, &a),
			 -VMM_EACCES);
	assert_int_equal(vmm_mmap(x->t, 0, PG, VMM_PROT_READ, VMM_MAP_PRIVATE, x->f, 100, &a),
			 -VMM_EINVAL);
	assert_int_equal(vmm_mmap(x->t, 0, PG, VMM_PROT_READ, VMM_MAP_PRIVATE, NULL, 0, &a),
			 -VMM_EBADF);
	assert_int_equal(vmm_mmap(x->t, 0, PG, VMM_PROT_READ, VMM_MAP_PRIVATE | VMM_MAP_GROWSDOWN,
				  x->f, 0, &a), -VMM_EINVAL);
	healthy(x);
	/* a private writable mapping of a read-only file is fine; a shared read-only one may not become writable */
	a = map_file(x->t, ro, 2 * PG, VMM_PROT_READ | VMM_PROT_WRITE, VMM_MAP_PRIVATE, 0);
	assert_int_equal(vmm_munmap(x->t, a, 2 * PG), 0);
	a = map_file(x->t, ro, 2 * PG, VMM_PROT_READ, VMM_MAP_SHARED, PG);
	assert_int_equal(vmm_mprotect(x->t, a, PG, VMM_PROT_READ | VMM_PROT_WRITE), -VMM_EACCES);
	maps = task_dump_string(x->t, VMM_TASK_DUMP_MAPS);
	assert_non_null(strstr(maps, "r--s 00001000 fe:00 1"));
	assert_non_null(strstr(maps, " /data\n"));
	free(maps);
	/* the mapping keeps the file: close every handle, even unlink it */
	vmm_file_close(&ro);
	vmm_file_close(&wo);
	assert_int_equal(vmm_file_unlink(x->m, "data"), 0);
	vmm_file_close(&x->f);
	healthy(x);
	assert_int_equal(fault(x->t, a, false), VMF_NOPAGE);	/* cached: fault-around maps it */
	assert_int_equal(byte_at(x->t, a), 2);
	maps = task_dump_string(x->t, VMM_TASK_DUMP_MAPS);
	assert_non_null(strstr(maps, " /data (deleted)\n"));
	free(maps);
	healthy(x);
	assert_int_equal(vmm_munmap(x->t, a, 2 * PG), 0);
	assert_int_equal(x->m->pagecache->nr_files, 0);
	healthy(x);
}

/* ---- read faults ---- */

static void test_read_fault_around(void **state)
{
	struct fx *x = *state;
	vmm_vaddr_t a = map_file(x->t, x->f, 64 * PG, VMM_PROT_READ, VMM_MAP_PRIVATE, 0);
	unsigned faults = 0;
	uint8_t buf[PG];

	/* the whole file in the cache first: fault-around maps what is uptodate */
	for (uint64_t off = 0; off < 64 * PG; off += PG)
		assert_int_equal(vmm_file_pread(x->f, buf, PG, off), PG);
	for (unsigned i = 0; i < 64; i++) {
		vmm_vaddr_t va = a + (uint64_t)i * PG;

		if (!(pte_of(x->t, va) & VMM_PTE_PRESENT)) {
			assert_int_equal(fault(x->t, va, false), VMF_NOPAGE);
			faults++;
			healthy(x);
		}
		assert_int_equal(byte_at(x->t, va), i + 1);
		assert_false(pte_of(x->t, va) & VMM_PTE_RW);
	}
	/* a 64 KiB window: 16 pages a fault (the mapping is 2 MiB aligned? it need not be) */
	assert_int_equal(faults, 64 / 16 + ((a >> 12) % 16 != 0));
	assert_int_equal(x->t->mm->rss_stat[MM_FILEPAGES], 64);
	assert_int_equal(node_stat(x->m, NR_FILE_MAPPED), 64);
	assert_int_equal(page_of(x->t, a)->mapcount, 1);
	assert_int_equal(page_of(x->t, a)->refcount, 2);
	assert_int_equal(vmm_munmap(x->t, a, 64 * PG), 0);
	assert_int_equal(node_stat(x->m, NR_FILE_MAPPED), 0);
	healthy(x);
}

static void test_fault_around_window(void **state)
{
	struct fx *x = *state;
	uint8_t buf[PG];
	vmm_vaddr_t a, b;
	int64_t v;

	for (uint64_t off = 0; off < 64 * PG; off += PG)
		assert_int_equal(vmm_file_pread(x->f, buf, PG, off), PG);
	/* a 24-page VMA at a 64 KiB boundary + 3 pages, file offset 5 pages */
	assert_int_equal(vmm_mmap(x->t, 0x10000000 + 3 * PG, 24 * PG, VMM_PROT_READ,
				  VMM_MAP_PRIVATE | VMM_MAP_FIXED, x->f, 5 * PG, &a), 0);
	/*
	 * A fault at the VMA's 4th page (PTE index 6): the aligned window would
	 * start at index 0, before the VMA, so it starts at the VMA (index 3)
	 * and spans 16 entries: the VMA's pages 0..15.
	 */
	assert_int_equal(fault(x->t, a + 3 * PG, false), VMF_NOPAGE);
	assert_int_equal(present_in(x->t, a, 24), 16);
	assert_false(pte_of(x->t, a + 16 * PG) & VMM_PTE_PRESENT);
	assert_int_equal(byte_at(x->t, a), 6);
	healthy(x);
	/* at the VMA's page 16 (index 19): the window [16, 32) ends at the VMA's end (index 27) */
	assert_int_equal(fault(x->t, a + 16 * PG, false), VMF_NOPAGE);
	assert_int_equal(present_in(x->t, a, 24), 24);
	assert_false(pte_of(x->t, a + 24 * PG) & VMM_PTE_PRESENT);
	assert_int_equal(x->t->mm->rss_stat[MM_FILEPAGES], 24);
	/* fault_around_bytes 4096: one page a fault */
	assert_int_equal(vmm_sysctl_get(x->m, "debug.fault_around_bytes", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(vmm_sysctl_set(x->m, "debug.fault_around_bytes", 3 * PG), 0);
	assert_int_equal(vmm_sysctl_get(x->m, "debug.fault_around_bytes", &v), 0);
	assert_int_equal(v, 2 * PG);
	assert_int_equal(vmm_sysctl_set(x->m, "debug.fault_around_bytes", 4ll << 20), -VMM_EINVAL);
	assert_int_equal(vmm_sysctl_set(x->m, "debug.fault_around_bytes", 0), 0);
	b = map_file(x->t, x->f, 8 * PG, VMM_PROT_READ, VMM_MAP_SHARED, 0);
	assert_int_equal(fault(x->t, b + PG, false), 0);	/* mapped by finish_fault */
	assert_int_equal(present_in(x->t, b, 8), 1);
	healthy(x);
}

static void test_cold_read_major(void **state)
{
	struct fx *x = *state;
	vmm_file *g = make_file(x->m, "cold", 8 * PG);
	vmm_vaddr_t a;
	uint64_t majors = x->m->vm_events[VE_PGMAJFAULT];

	assert_int_equal(vmm_bdev_crash(vmm_machine_bdev(x->m)), 0);	/* nothing cached */
	a = map_file(x->t, g, 8 * PG, VMM_PROT_READ, VMM_MAP_SHARED, 0);
	assert_int_equal(fault(x->t, a + 2 * PG, false), VMF_MAJOR);
	assert_int_equal(x->m->vm_events[VE_PGMAJFAULT], majors + 1);
	assert_int_equal(byte_at(x->t, a + 2 * PG), 3);
	healthy(x);
	/* readahead brought the rest: the next fault is minor and maps around */
	assert_int_equal(fault(x->t, a + 5 * PG, false), VMF_NOPAGE);
	assert_int_equal(byte_at(x->t, a + 7 * PG), 8);
	healthy(x);
	/* madvise(WILLNEED) reads a mapped range ahead: its first fault is not major */
	assert_int_equal(vmm_munmap(x->t, a, 8 * PG), 0);
	assert_int_equal(vmm_bdev_crash(vmm_machine_bdev(x->m)), 0);
	a = map_file(x->t, g, 8 * PG, VMM_PROT_READ, VMM_MAP_SHARED, 0);
	assert_int_equal(vmm_madvise(x->t, a + 4 * PG, 4 * PG, VMM_MADV_WILLNEED), 0);
	assert_int_equal(g->inode->i_data.nrpages, 4);
	/* (the reads may still be in flight: then filemap_fault waits, still a minor fault) */
	assert_int_equal(fault(x->t, a + 6 * PG, false) & (VMF_MAJOR | VMF_ERROR), 0);
	assert_int_equal(byte_at(x->t, a + 6 * PG), 7);
	healthy(x);
	assert_int_equal(vmm_munmap(x->t, a, 8 * PG), 0);
	vmm_file_close(&g);
	healthy(x);
}

static void test_sigbus_beyond_eof(void **state)
{
	struct fx *x = *state;
	vmm_file *g = make_file(x->m, "short", PG + 100);
	vmm_vaddr_t a = map_file(x->t, g, 4 * PG, VMM_PROT_READ | VMM_PROT_WRITE, VMM_MAP_SHARED, 0);

	assert_int_equal(fault(x->t, a + PG, false) & VMF_ERROR, 0);
	assert_int_equal(byte_at(x->t, a + PG + 99), 2);
	assert_int_equal(byte_at(x->t, a + PG + 100), 0);	/* the tail of the last page reads zeros */
	assert_int_equal(fault(x->t, a + 2 * PG, false), VMF_SIGBUS);
	assert_int_equal(fault(x->t, a + 3 * PG, true), VMF_SIGBUS);
	assert_int_equal(present_in(x->t, a, 4), 2);
	healthy(x);
	vmm_file_close(&g);
}

/* ---- writes ---- */

static void test_private_write_cow(void **state)
{
	struct fx *x = *state;
	vmm_vaddr_t a = map_file(x->t, x->f, 4 * PG, VMM_PROT_READ | VMM_PROT_WRITE,
				 VMM_MAP_PRIVATE, 0);
	struct vmm_page *p;
	uint8_t buf[PG];
	uint64_t e;

	assert_int_equal(fault(x->t, a + PG, true), 0);
	e = pte_of(x->t, a + PG);
	assert_true((e & (VMM_PTE_RW | VMM_PTE_DIRTY)) == (VMM_PTE_RW | VMM_PTE_DIRTY));
	p = page_of(x->t, a + PG);
	assert_true(page_anon(p));
	assert_int_equal(p->mapcount, 1);
	assert_int_equal(byte_at(x->t, a + PG), 2);
	assert_int_equal(x->t->mm->rss_stat[MM_ANONPAGES], 1);
	assert_int_equal(x->t->mm->rss_stat[MM_FILEPAGES], 0);
	assert_non_null(vmm_vma_find(x->t->mm, a)->anon_vma);
	healthy(x);
	/* the copy is private: writing it leaves the file alone */
	*(uint8_t *)vmm_physmem_host(&x->m->phys, e & VMM_PTE_ADDR_MASK) = 0xee;
	assert_int_equal(vmm_file_pread(x->f, buf, 1, PG), 1);
	assert_int_equal(buf[0], 2);
	assert_int_equal(node_stat(x->m, NR_FILE_DIRTY), 0);
	/* fork copies the PTEs of a private file VMA with an anon_vma, COW-protected */
	{
		vmm_task *c;

		assert_int_equal(fault(x->t, a, false), VMF_NOPAGE);
		assert_int_equal(vmm_task_fork(x->t, &c), 0);
		assert_true(pte_of(c, a) & VMM_PTE_PRESENT);
		assert_true(pte_of(c, a + PG) & VMM_PTE_PRESENT);
		assert_false(pte_of(c, a + PG) & VMM_PTE_RW);
		assert_false(pte_of(x->t, a + PG) & VMM_PTE_RW);
		assert_int_equal(page_of(c, a + PG)->mapcount, 2);
		healthy(x);
		vmm_task_destroy(&c);
	}
	healthy(x);
}

static void test_shared_write_msync(void **state)
{
	struct fx *x = *state;
	vmm_vaddr_t a = map_file(x->t, x->f, 4 * PG, VMM_PROT_READ | VMM_PROT_WRITE,
				 VMM_MAP_SHARED, 0);
	uint8_t buf[PG];
	struct vmm_page *p;
	uint64_t e;

	/* a read maps the page read-only: the mapping tracks dirtying */
	assert_int_equal(fault(x->t, a, false), VMF_NOPAGE);
	assert_false(pte_of(x->t, a) & VMM_PTE_RW);
	/* the first write goes through wp_page_shared */
	assert_int_equal(fault(x->t, a, true), 0);
	e = pte_of(x->t, a);
	assert_true((e & (VMM_PTE_RW | VMM_PTE_DIRTY)) == (VMM_PTE_RW | VMM_PTE_DIRTY));
	p = page_of(x->t, a);
	assert_true(page_flag(p, VMM_PG_dirty));
	assert_int_equal(node_stat(x->m, NR_FILE_DIRTY), 1);
	/* a write fault on a page not yet mapped: do_shared_fault */
	assert_int_equal(vmm_munmap(x->t, a + 2 * PG, PG), 0);
	assert_int_equal(vmm_mmap(x->t, a + 2 * PG, PG, VMM_PROT_READ | VMM_PROT_WRITE,
				  VMM_MAP_SHARED | VMM_MAP_FIXED, x->f, 2 * PG, &a), 0);
	a -= 2 * PG;
	assert_int_equal(fault(x->t, a + 2 * PG, true), 0);
	assert_true(pte_of(x->t, a + 2 * PG) & VMM_PTE_RW);
	assert_int_equal(node_stat(x->m, NR_FILE_DIRTY), 2);
	healthy(x);
	/* write through the mappings, then msync: the device has it, the PTEs are clean */
	memset(vmm_physmem_host(&x->m->phys, e & VMM_PTE_ADDR_MASK), 0x5a, 16);
	memset(vmm_physmem_host(&x->m->phys, pte_of(x->t, a + 2 * PG) & VMM_PTE_ADDR_MASK), 0x6b, 16);
	assert_int_equal(vmm_msync(x->t, a, 4 * PG, VMM_MS_SYNC), 0);
	assert_int_equal(node_stat(x->m, NR_FILE_DIRTY), 0);
	assert_false(pte_of(x->t, a) & (VMM_PTE_RW | VMM_PTE_DIRTY));
	assert_false(pte_of(x->t, a + 2 * PG) & (VMM_PTE_RW | VMM_PTE_DIRTY));
	assert_int_equal(vmm_file_read_durable(x->m, "data", buf, PG, 0), PG);
	assert_int_equal(buf[0], 0x5a);
	assert_int_equal(buf[16], 1);
	assert_int_equal(vmm_file_read_durable(x->m, "data", buf, PG, 2 * PG), PG);
	assert_int_equal(buf[15], 0x6b);
	healthy(x);
	/* the next write faults again and dirties the page again */
	assert_int_equal(fault(x->t, a, true), 0);
	assert_int_equal(node_stat(x->m, NR_FILE_DIRTY), 1);
	/* and fsync reaches it as well */
	memset(vmm_physmem_host(&x->m->phys, pte_of(x->t, a) & VMM_PTE_ADDR_MASK), 0x7c, 1);
	assert_int_equal(vmm_file_fsync(x->f), 0);
	assert_int_equal(vmm_file_read_durable(x->m, "data", buf, 1, 0), 1);
	assert_int_equal(buf[0], 0x7c);
	assert_false(pte_of(x->t, a) & VMM_PTE_RW);
	healthy(x);
	/* fork: a shared file VMA has no anon_vma, so the child gets no PTEs and faults again */
	{
		vmm_task *c;

		assert_int_equal(vmm_task_fork(x->t, &c), 0);
		assert_int_equal(present_in(c, a, 4), 0);
		assert_int_equal(fault(c, a + PG, false), VMF_NOPAGE);
		assert_int_equal(page_of(c, a + PG), page_of(x->t, a + PG));
		assert_int_equal(page_of(c, a + PG)->mapcount, 2);
		healthy(x);
		vmm_task_destroy(&c);
	}
	healthy(x);
}

static void test_msync_errors(void **state)
{
	struct fx *x = *state;
	vmm_vaddr_t a = map_file(x->t, x->f, 4 * PG, VMM_PROT_READ, VMM_MAP_SHARED, 0);

	assert_int_equal(vmm_msync(x->t, a + 1, PG, VMM_MS_SYNC), -VMM_EINVAL);
	assert_int_equal(vmm_msync(x->t, a, PG, VMM_MS_SYNC | VMM_MS_ASYNC), -VMM_EINVAL);
	assert_int_equal(vmm_msync(x->t, a, PG, 8), -VMM_EINVAL);
	assert_int_equal(vmm_msync(x->t, a, 0, VMM_MS_SYNC), 0);
	assert_int_equal(vmm_msync(x->t, a, 4 * PG, VMM_MS_ASYNC | VMM_MS_INVALIDATE), 0);
	assert_int_equal(vmm_munmap(x->t, a + PG, PG), 0);
	assert_int_equal(vmm_msync(x->t, a, 4 * PG, VMM_MS_SYNC), -VMM_ENOMEM);
	assert_int_equal(vmm_msync(x->t, a, 4 * PG, VMM_MS_ASYNC), -VMM_ENOMEM);
	assert_int_equal(vmm_msync(x->t, a - 16 * PG, PG, VMM_MS_SYNC), -VMM_ENOMEM);
	assert_int_equal(vmm_mlock(x->t, a, PG), 0);
	assert_int_equal(vmm_msync(x->t, a, PG, VMM_MS_INVALIDATE), -VMM_EBUSY);
	healthy(x);
}

/* ---- dirty and accessed bits at zap, truncation ---- */

static void test_zap_propagates(void **state)
{
	struct fx *x = *state;
	vmm_vaddr_t a = map_file(x->t, x->f, 2 * PG, VMM_PROT_READ | VMM_PROT_WRITE,
				 VMM_MAP_SHARED, 0);
	struct vmm_page *p;

	assert_int_equal(fault(x->t, a, true), 0);
	p = page_of(x->t, a);
	assert_int_equal(vmm_file_fsync(x->f), 0);
	assert_false(page_flag(p, VMM_PG_dirty));
	/* the hardware's bits: D as a write through a writable entry would leave it */
	*vmm_pte_slot(x->t->mm, a, false) |= VMM_PTE_DIRTY | VMM_PTE_RW;
	clear_page_flag(p, VMM_PG_referenced);
	assert_int_equal(vmm_munmap(x->t, a, 2 * PG), 0);
	assert_true(page_flag(p, VMM_PG_dirty));
	assert_true(page_flag(p, VMM_PG_referenced));
	assert_int_equal(node_stat(x->m, NR_FILE_DIRTY), 1);
	healthy(x);
}

static void test_truncate_unmaps(void **state)
{
	struct fx *x = *state;
	vmm_vaddr_t s = map_file(x->t, x->f, 4 * PG, VMM_PROT_READ | VMM_PROT_WRITE,
				 VMM_MAP_SHARED, 0);
	vmm_vaddr_t p = map_file(x->t, x->f, 4 * PG, VMM_PROT_READ | VMM_PROT_WRITE,
				 VMM_MAP_PRIVATE, 0);

	assert_int_equal(fault(x->t, s, false), VMF_NOPAGE);
	assert_int_equal(fault(x->t, p + 3 * PG, true), 0);	/* a private copy past the new end */
	assert_int_equal(present_in(x->t, s, 4), 4);
	healthy(x);
	assert_int_equal(vmm_file_ftruncate(x->f, PG + 10), 0);
	assert_int_equal(present_in(x->t, s, 4), 2);
	assert_int_equal(present_in(x->t, p + 2 * PG, 2), 0);
	assert_int_equal(x->t->mm->rss_stat[MM_ANONPAGES], 0);
	healthy(x);
	assert_int_equal(fault(x->t, s + 2 * PG, false), VMF_SIGBUS);
	assert_int_equal(fault(x->t, p + 3 * PG, true), VMF_SIGBUS);
	assert_int_equal(fault(x->t, s + PG, true), 0);
	healthy(x);
}

/* ---- shared anonymous memory ---- */

static void test_shmem_fork(void **state)
{
	struct fx *x = *state;
	vmm_vaddr_t a;
	vmm_task *c;
	struct vmm_page *p;
	char *smaps;

	assert_int_equal(vmm_mmap(x->t, 0, 4 * PG, VMM_PROT_READ | VMM_PROT_WRITE,
				  VMM_MAP_SHARED | VMM_MAP_ANONYMOUS, NULL, 0, &a), 0);
	/* a read maps a zeroed shmem page writable (no dirty tracking), clean */
	assert_int_equal(fault(x->t, a, false), 0);
	assert_true((pte_of(x->t, a) & (VMM_PTE_RW | VMM_PTE_DIRTY)) == VMM_PTE_RW);
	assert_int_equal(fault(x->t, a + PG, true), 0);
	p = page_of(x->t, a + PG);
	assert_true(page_flag(p, VMM_PG_swapbacked));
	assert_false(page_anon(p));
	assert_int_equal(x->t->mm->rss_stat[MM_SHMEMPAGES], 2);
	assert_int_equal(node_stat(x->m, NR_SHMEM), 2);
	assert_int_equal(node_stat(x->m, NR_FILE_DIRTY), 0);
	*(uint8_t *)vmm_physmem_host(&x->m->phys, pte_of(x->t, a + PG) & VMM_PTE_ADDR_MASK) = 42;
	healthy(x);
	/* the child shares the object: no PTEs copied, the same pages after a fault */
	assert_int_equal(vmm_task_fork(x->t, &c), 0);
	assert_int_equal(present_in(c, a, 4), 0);
	assert_int_equal(fault(c, a + PG, false), VMF_NOPAGE);
	assert_int_equal(page_of(c, a + PG), p);
	assert_int_equal(byte_at(c, a + PG), 42);
	assert_int_equal(p->mapcount, 2);
	smaps = task_dump_string(c, VMM_TASK_DUMP_SMAPS);
	assert_non_null(strstr(smaps, "Rss:                   8 kB"));
	assert_non_null(strstr(smaps, "Shared_Dirty:          4 kB"));
	assert_non_null(strstr(smaps, "Shared_Clean:          4 kB"));
	assert_non_null(strstr(smaps, "Anonymous:             0 kB"));
	free(smaps);
	healthy(x);
	/* a page the child creates is the parent's too */
	assert_int_equal(fault(c, a + 3 * PG, true), 0);
	assert_int_equal(node_stat(x->m, NR_SHMEM), 3);
	vmm_task_destroy(&c);
	assert_int_equal(node_stat(x->m, NR_SHMEM), 3);
	assert_int_equal(fault(x->t, a + 3 * PG, false), VMF_NOPAGE);
	healthy(x);
	/* the object goes with the last VMA */
	assert_int_equal(vmm_munmap(x->t, a, 4 * PG), 0);
	assert_int_equal(node_stat(x->m, NR_SHMEM), 0);
	assert_true(vmm_list_empty(&x->m->pagecache->shmem_inodes));
	healthy(x);
}

/* ---- i_mmap through split, merge, mremap ---- */

static unsigned i_mmap_len(vmm_file *f)
{
	unsigned n = 0;
	struct vmm_list *h = &f->inode->i_data.i_mmap;

	for (struct vmm_list *p = h->next; p != h; p = p->next)
		n++;
	return n;
}

static void test_i_mmap_split_merge(void **state)
{
	struct fx *x = *state;
	vmm_vaddr_t a = map_file(x->t, x->f, 8 * PG, VMM_PROT_READ, VMM_MAP_SHARED, 0), b;

	assert_int_equal(i_mmap_len(x->f), 1);
	assert_int_equal(vmm_mprotect(x->t, a + 2 * PG, PG, VMM_PROT_NONE), 0);
	assert_int_equal(i_mmap_len(x->f), 3);
	assert_int_equal(x->f->f_count, 4);
	healthy(x);
	assert_int_equal(vmm_mprotect(x->t, a + 2 * PG, PG, VMM_PROT_READ), 0);
	assert_int_equal(i_mmap_len(x->f), 1);
	assert_int_equal(x->f->f_count, 2);
	/* a mapping of the next pages merges (same file, contiguous offset) */
	assert_int_equal(vmm_mmap(x->t, a + 8 * PG, 2 * PG, VMM_PROT_READ,
				  VMM_MAP_SHARED | VMM_MAP_FIXED, x->f, 8 * PG, &b), 0);
	assert_int_equal(i_mmap_len(x->f), 1);
	assert_int_equal(fault(x->t, a + 9 * PG, false), VMF_NOPAGE);
	assert_int_equal(byte_at(x->t, a + 9 * PG), 10);
	assert_int_equal(vmm_mremap(x->t, a, 10 * PG, 10 * PG, VMM_MREMAP_MAYMOVE | VMM_MREMAP_FIXED,
				    0x20000000, &b), 0);
	assert_int_equal(i_mmap_len(x->f), 1);
	assert_int_equal(byte_at(x->t, b + 9 * PG), 10);
	healthy(x);
	assert_int_equal(vmm_munmap(x->t, b, 10 * PG), 0);
	assert_int_equal(i_mmap_len(x->f), 0);
	assert_int_equal(x->f->f_count, 1);
	healthy(x);
}

/* A crash takes the mapped pages away too; the next fault reads what the device kept. */
static void test_crash_unmaps(void **state)
{
	struct fx *x = *state;
	vmm_vaddr_t a = map_file(x->t, x->f, 2 * PG, VMM_PROT_READ | VMM_PROT_WRITE,
				 VMM_MAP_SHARED, 0);

	assert_int_equal(fault(x->t, a, true), 0);
	*(uint8_t *)vmm_physmem_host(&x->m->phys, pte_of(x->t, a) & VMM_PTE_ADDR_MASK) = 0x33;
	assert_int_equal(vmm_bdev_crash(vmm_machine_bdev(x->m)), 0);
	assert_int_equal(present_in(x->t, a, 2), 0);
	assert_int_equal(node_stat(x->m, NR_FILE_DIRTY), 0);
	healthy(x);
	assert_int_equal(fault(x->t, a, false), VMF_MAJOR);
	assert_int_equal(byte_at(x->t, a), 1);
	healthy(x);
}

/* The machine check sees a VMA missing from i_mmap and a mapped page short of references. */
static void test_check_catches(void **state)
{
	struct fx *x = *state;
	vmm_vaddr_t a = map_file(x->t, x->f, 2 * PG, VMM_PROT_READ, VMM_MAP_SHARED, 0);
	struct vmm_vma *v = vmm_vma_find(x->t->mm, a);
	FILE *null = fopen("/dev/null", "w");
	struct vmm_page *p;

	assert_non_null(null);
	vmm_list_del(&v->shared);
	assert_true(vmm_machine_check(x->m, null) > 0);
	vmm_list_add_tail(&v->shared, &x->f->inode->i_data.i_mmap);
	healthy(x);
	assert_int_equal(fault(x->t, a, false), VMF_NOPAGE);
	p = page_of(x->t, a);
	p->refcount--;
	assert_true(vmm_machine_check(x->m, null) > 0);
	p->refcount++;
	healthy(x);
	fclose(null);
}

/* ---- through vmm_cpu_access and libvmm's fault path ---- */

static void test_cpu_access_scenario(void **state)
{
	struct fx *x = *state;
	vmm_cpu *cpu = vmm_machine_cpu(x->m, 0);
	struct vmm_access_result r;
	vmm_vaddr_t a = map_file(x->t, x->f, 64 * PG, VMM_PROT_READ | VMM_PROT_WRITE,
				 VMM_MAP_SHARED, 0);
	uint8_t buf[PG], v = 0;
	unsigned faults = 0;

	assert_int_equal(vmm_cpu_switch_to(cpu, x->t), 0);
	for (uint64_t off = 0; off < 64 * PG; off += PG)
		assert_int_equal(vmm_file_pread(x->f, buf, PG, off), PG);
	/* a sequential read: one fault per 16 pages */
	for (unsigned i = 0; i < 64; i++) {
		assert_int_equal(vmm_cpu_read(cpu, a + (uint64_t)i * PG, &v, 1, VMM_ACC_USER, &r), 0);
		assert_int_equal(v, i + 1);
		faults += r.faulted;
	}
	assert_int_equal(faults, 4 + ((a >> 12) % 16 != 0));
	healthy(x);
	/* a write: one more fault (wp_page_shared), then the data reaches the device */
	v = 0x99;
	assert_int_equal(vmm_cpu_write(cpu, a + 5 * PG + 7, &v, 1, VMM_ACC_USER, &r), 0);
	assert_int_equal(r.faulted, 1);
	assert_int_equal(vmm_cpu_write(cpu, a + 5 * PG + 8, &v, 1, VMM_ACC_USER, &r), 0);
	assert_int_equal(r.faulted, 0);
	healthy(x);
	assert_int_equal(vmm_msync(x->t, a, 64 * PG, VMM_MS_SYNC), 0);
	assert_int_equal(vmm_file_read_durable(x->m, "data", buf, PG, 5 * PG), PG);
	assert_int_equal(buf[7], 0x99);
	assert_int_equal(buf[8], 0x99);
	assert_int_equal(vmm_cpu_write(cpu, a + 5 * PG, &v, 1, VMM_ACC_USER, &r), 0);
	assert_int_equal(r.faulted, 1);	/* msync write-protected it again */
	healthy(x);
	/* truncation: beyond the new end is SIGBUS */
	assert_int_equal(vmm_file_ftruncate(x->f, 10 * PG), 0);
	assert_int_equal(vmm_cpu_read(cpu, a + 20 * PG, &v, 1, VMM_ACC_USER, &r), -VMM_EFAULT);
	assert_int_equal(r.signal, SIGBUS_NR);
	assert_int_equal(vmm_cpu_read(cpu, a + 9 * PG, &v, 1, VMM_ACC_USER, &r), 0);
	assert_int_equal(v, 10);
	healthy(x);
	assert_int_equal(vmm_cpu_switch_to(cpu, NULL), 0);
}

/*
 * MAP_POPULATE and mlock fault file mappings in through the same path:
 * every page of a private read-only mapping is mapped (file pages, read
 * only), and a private writable one gets its own copies (Linux's populate
 * write-faults private writable mappings), the file unchanged.
 */
static void test_populate_file_mappings(void **state)
{
	struct fx *x = *state;
	vmm_vaddr_t ro = map_file(x->t, x->f, 16 * PG, VMM_PROT_READ,
				  VMM_MAP_PRIVATE | VMM_MAP_POPULATE, 0);
	vmm_vaddr_t rw, sh;
	uint64_t e[16];
	uint8_t b;

	healthy(x);
	assert_int_equal(vmm_task_pagemap(x->t, ro, 16, e), 0);
	for (unsigned i = 0; i < 16; i++) {
		assert_true(e[i] & VMM_PM_PRESENT);
		assert_true(e[i] & VMM_PM_FILE);
	}
	rw = map_file(x->t, x->f, 16 * PG, VMM_PROT_READ | VMM_PROT_WRITE,
		      VMM_MAP_PRIVATE | VMM_MAP_POPULATE, 16 * PG);
	healthy(x);
	assert_int_equal(vmm_task_pagemap(x->t, rw, 16, e), 0);
	for (unsigned i = 0; i < 16; i++) {
		assert_true(e[i] & VMM_PM_PRESENT);
		assert_false(e[i] & VMM_PM_FILE);	/* anonymous copies */
	}
	sh = map_file(x->t, x->f, 16 * PG, VMM_PROT_READ | VMM_PROT_WRITE, VMM_MAP_SHARED, 32 * PG);
	assert_int_equal(vmm_mlock(x->t, sh, 16 * PG), 0);
	healthy(x);
	assert_int_equal(vmm_task_pagemap(x->t, sh, 16, e), 0);
	for (unsigned i = 0; i < 16; i++)
		assert_true((e[i] & VMM_PM_PRESENT) && (e[i] & VMM_PM_FILE));
	/* the copies changed nothing in the file */
	assert_int_equal(vmm_file_pread(x->f, &b, 1, 16 * PG), 1);
	assert_int_equal(b, 17);
	assert_int_equal(vmm_munlock(x->t, sh, 16 * PG), 0);
	healthy(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mmap_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_fault_around, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_around_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cold_read_major, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigbus_beyond_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private_write_cow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_write_msync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msync_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zap_propagates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate_unmaps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_populate_file_mappings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shmem_fork, setup, teardown),
		cmocka_unit_test_setup_teardown(test_i_mmap_split_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_unmaps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_catches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpu_access_scenario, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
