/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/mm/page_zero.c: known-zero frames. A frame written
 * through each public writer (vmm_cpu_write, vmm_copy_to_user,
 * vmm_phys_to_host, a file read into the page cache, a COW copy) is marked,
 * and once freed comes back zeroed from a __GFP_ZERO allocation or an
 * anonymous write fault; a frame no one writes is never touched by the host
 * (it stays unbacked after an anonymous write fault through vmm_cpu_access),
 * and a COW copy of it is no copy.
 */
#include "fault/fault_test_util.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mm/page_zero.h"
#include "sim/physmem.h"

#define HUNT 512	/* pages to take while looking for a freed frame */

static const uint8_t pattern[] = "known-zero frames must come back zeroed";

static bool marked(vmm_machine *m, uint64_t pfn)
{
	return vmm_physmem_maybe_nonzero(&m->phys, pfn);
}

/* Whether the host has memory behind frame @pfn (without touching it). */
static bool host_resident(vmm_machine *m, uint64_t pfn)
{
	unsigned char vec = 0;

	assert_int_equal(mincore((void *)vmm_physmem_host_ro(&m->phys, pfn << VMM_PAGE_SHIFT), PG,
				 &vec), 0);
	return vec & 1;
}

/* Whether frame @pfn's host bytes are all zero (read without marking it). */
static bool host_zero(vmm_machine *m, uint64_t pfn)
{
	const uint8_t *p = vmm_physmem_host_ro(&m->phys, pfn << VMM_PAGE_SHIFT);

	for (unsigned i = 0; i < PG; i++)
		if (p[i])
			return false;
	return true;
}

static bool holds_pattern(vmm_machine *m, uint64_t pfn, unsigned off)
{
	const uint8_t *p = vmm_physmem_host_ro(&m->phys, pfn << VMM_PAGE_SHIFT);

	return !memcmp(p + off, pattern, sizeof(pattern));
}

/*
 * Frame @pfn was just freed (marked, holding data): take __GFP_ZERO pages
 * until it comes back, which must be zero and unmarked, then free them all.
 */
static void expect_zeroed_reuse(vmm_machine *m, uint64_t pfn)
{
	struct vmm_page *taken[HUNT];
	unsigned n = 0;
	bool found = false;

	while (n < HUNT && !found) {
		struct vmm_page *p = vmm_alloc_pages(m, VMM_GFP_HIGHUSER_MOVABLE | VMM_GFP_ZERO, 0);

		assert_non_null(p);
		taken[n++] = p;
		found = vmm_page_to_pfn(m, p) == pfn;
	}
	if (!found)
		fail_msg("pfn %#" PRIx64 " did not come back in %u allocations", pfn, HUNT);
	assert_true(host_zero(m, pfn));
	assert_false(marked(m, pfn));
	while (n)
		vmm_free_pages(m, taken[--n], 0);
}

/*
 * The same through an anonymous write fault (vmm_cpu_access, no data): map
 * pages until one faults in on @pfn, whose bytes must read as zero.
 */
static void expect_zeroed_fault(vmm_machine *m, vmm_cpu *cpu, vmm_task *t, uint64_t pfn)
{
	vmm_vaddr_t a = map_anon(t, 0, HUNT * PG, VMM_PROT_READ | VMM_PROT_WRITE,
				 VMM_MAP_PRIVATE | VMM_MAP_ANONYMOUS);
	uint8_t buf[PG];
	unsigned i;

	for (i = 0; i < HUNT; i++)
		if (touch(cpu, a + i * PG, VMM_ACC_WRITE).paddr >> VMM_PAGE_SHIFT == pfn)
			break;
	if (i == HUNT)
		fail_msg("pfn %#" PRIx64 " did not come back in %u faults", pfn, HUNT);
	memset(buf, 0xa5, sizeof(buf));
	assert_int_equal(vmm_cpu_read(cpu, a + i * PG, buf, PG, VMM_ACC_USER, NULL), 0);
	for (unsigned b = 0; b < PG; b++)
		assert_int_equal(buf[b], 0);
	assert_int_equal(vmm_munmap(t, a, HUNT * PG), 0);
}

/* An anonymous page written by vmm_cpu_write (@via_uaccess: vmm_copy_to_user); its frame. */
static uint64_t write_anon(vmm_machine *m, vmm_cpu *cpu, vmm_task *t, bool via_uaccess,
			   vmm_vaddr_t *out)
{
	vmm_vaddr_t a = map_anon(t, 0, PG, VMM_PROT_READ | VMM_PROT_WRITE,
				 VMM_MAP_PRIVATE | VMM_MAP_ANONYMOUS);
	struct vmm_access_result r;
	uint64_t pfn;

	if (via_uaccess)
		assert_int_equal(vmm_copy_to_user(cpu, a + 100, pattern, sizeof(pattern), NULL), 0);
	else
		assert_int_equal(vmm_cpu_write(cpu, a + 100, pattern, sizeof(pattern), VMM_ACC_USER,
					       NULL), 0);
	r = touch(cpu, a, VMM_ACC_READ);
	pfn = r.paddr >> VMM_PAGE_SHIFT;
	assert_true(marked(m, pfn));
	assert_true(holds_pattern(m, pfn, 100));
	*out = a;
	return pfn;
}

static void test_cpu_write(void **state)
{
	vmm_machine *m = fault_machine(0, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	vmm_task *t = running_task(m, cpu, "zero");
	vmm_vaddr_t a;
	uint64_t pfn;

	(void)state;
	/* freed and taken back by a __GFP_ZERO allocation */
	pfn = write_anon(m, cpu, t, false, &a);
	assert_int_equal(vmm_munmap(t, a, PG), 0);
	expect_zeroed_reuse(m, pfn);
	/* freed and taken back by an anonymous write fault */
	pfn = write_anon(m, cpu, t, false, &a);
	assert_int_equal(vmm_munmap(t, a, PG), 0);
	expect_zeroed_fault(m, cpu, t, pfn);
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

static void test_copy_to_user(void **state)
{
	vmm_machine *m = fault_machine(0, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	vmm_task *t = running_task(m, cpu, "zero");
	vmm_vaddr_t a;
	uint64_t pfn;

	(void)state;
	pfn = write_anon(m, cpu, t, true, &a);
	assert_int_equal(vmm_munmap(t, a, PG), 0);
	expect_zeroed_fault(m, cpu, t, pfn);
	pfn = write_anon(m, cpu, t, true, &a);
	assert_int_equal(vmm_munmap(t, a, PG), 0);
	expect_zeroed_reuse(m, pfn);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

/* The embedder's own pointers: vmm_phys_to_host() and vmm_kaddr_to_host(). */
static void test_phys_to_host(void **state)
{
	vmm_machine *m = fault_machine(0, NULL);
	struct vmm_page *p;
	uint64_t pfn;
	uint8_t *h;

	(void)state;
	p = vmm_alloc_pages(m, VMM_GFP_HIGHUSER_MOVABLE, 0);
	assert_non_null(p);
	pfn = vmm_page_to_pfn(m, p);
	h = vmm_phys_to_host(m, (pfn << VMM_PAGE_SHIFT) + 8);
	assert_non_null(h);
	assert_true(marked(m, pfn));
	memcpy(h + PG - 8 - sizeof(pattern), pattern, sizeof(pattern));	/* the frame's end */
	vmm_free_pages(m, p, 0);
	expect_zeroed_reuse(m, pfn);

	/* a block written whole through one direct-map pointer */
	p = vmm_alloc_pages(m, VMM_GFP_KERNEL, 2);
	assert_non_null(p);
	pfn = vmm_page_to_pfn(m, p);
	h = vmm_kaddr_to_host(m, vmm_page_address(m, p));
	assert_non_null(h);
	memset(h, 0xaa, 4 * PG);
	for (unsigned i = 0; i < 4; i++)
		assert_true(marked(m, pfn + i));
	vmm_free_pages(m, p, 2);
	p = vmm_alloc_pages(m, VMM_GFP_KERNEL | VMM_GFP_ZERO, 2);
	assert_non_null(p);
	for (uint64_t f = vmm_page_to_pfn(m, p); f < vmm_page_to_pfn(m, p) + 4; f++)
		assert_true(host_zero(m, f));
	vmm_free_pages(m, p, 2);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* A page-cache page filled by a read from the block device. */
static void test_file_read(void **state)
{
	vmm_machine *m = fault_machine(0, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	vmm_task *t = running_task(m, cpu, "zero");
	struct vmm_page *held[HUNT];
	uint8_t buf[PG];
	vmm_file *f;
	vmm_vaddr_t a;
	uint64_t pfn;

	(void)state;
	memset(buf, 0, sizeof(buf));
	memcpy(buf + 200, pattern, sizeof(pattern));
	assert_int_equal(vmm_file_create(m, "zero-data", 0, &f), 0);
	assert_int_equal(vmm_file_pwrite(f, buf, PG, 0), PG);
	assert_int_equal(vmm_file_fsync(f), 0);
	assert_int_equal(vmm_file_fadvise(f, 0, 0, VMM_FADV_DONTNEED), 0);
	/* take the frames just freed (zeroing them), so the read lands on a clean frame */
	for (unsigned i = 0; i < HUNT; i++) {
		held[i] = vmm_alloc_pages(m, VMM_GFP_HIGHUSER_MOVABLE | VMM_GFP_ZERO, 0);
		assert_non_null(held[i]);
	}
	memset(buf, 0, sizeof(buf));
	assert_int_equal(vmm_file_pread(f, buf, PG, 0), PG);
	assert_memory_equal(buf + 200, pattern, sizeof(pattern));
	/* the page-cache page's frame, through a shared mapping */
	assert_int_equal(vmm_mmap(t, 0, PG, VMM_PROT_READ, VMM_MAP_SHARED, f, 0, &a), 0);
	pfn = touch(cpu, a, VMM_ACC_READ).paddr >> VMM_PAGE_SHIFT;
	assert_true(marked(m, pfn));
	assert_true(holds_pattern(m, pfn, 200));
	assert_int_equal(vmm_munmap(t, a, PG), 0);
	for (unsigned i = HUNT; i--;)
		vmm_free_pages(m, held[i], 0);
	assert_int_equal(vmm_file_fadvise(f, 0, 0, VMM_FADV_DONTNEED), 0);
	expect_zeroed_reuse(m, pfn);
	assert_int_equal(vmm_file_close(&f), 0);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

/* A COW copy of a page with data is a copy, and marked; of a known-zero page, no copy. */
static void test_cow(void **state)
{
	vmm_machine *m = fault_machine(0, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	vmm_task *t = running_task(m, cpu, "zero"), *child;
	uint8_t buf[sizeof(pattern)];
	vmm_vaddr_t a;
	uint64_t parent_pfn, pfn;

	(void)state;
	a = map_anon(t, 0, 2 * PG, VMM_PROT_READ | VMM_PROT_WRITE,
		     VMM_MAP_PRIVATE | VMM_MAP_ANONYMOUS | VMM_MAP_POPULATE);
	assert_int_equal(vmm_cpu_write(cpu, a + 300, pattern, sizeof(pattern), VMM_ACC_USER, NULL),
			 0);
	parent_pfn = touch(cpu, a, VMM_ACC_READ).paddr >> VMM_PAGE_SHIFT;
	assert_int_equal(vmm_task_fork(t, &child), 0);
	assert_int_equal(vmm_cpu_switch_to(cpu, child), 0);
	/* the page with data: the child's write copies it */
	pfn = touch(cpu, a + 8, VMM_ACC_WRITE).paddr >> VMM_PAGE_SHIFT;
	assert_int_not_equal(pfn, parent_pfn);
	assert_true(marked(m, pfn));
	assert_true(holds_pattern(m, pfn, 300));
	assert_int_equal(vmm_cpu_read(cpu, a + 300, buf, sizeof(buf), VMM_ACC_USER, NULL), 0);
	assert_memory_equal(buf, pattern, sizeof(pattern));
	/* the populated page no one wrote: its copy stays known zero and reads zero */
	pfn = touch(cpu, a + PG, VMM_ACC_WRITE).paddr >> VMM_PAGE_SHIFT;
	assert_false(marked(m, pfn));
	assert_true(host_zero(m, pfn));
	/* the child's copy with data, freed, comes back zeroed */
	pfn = touch(cpu, a, VMM_ACC_READ).paddr >> VMM_PAGE_SHIFT;
	assert_int_equal(vmm_cpu_switch_to(cpu, t), 0);
	vmm_task_destroy(&child);
	expect_zeroed_reuse(m, pfn);
	/* the parent's page is intact */
	assert_int_equal(vmm_cpu_read(cpu, a + 300, buf, sizeof(buf), VMM_ACC_USER, NULL), 0);
	assert_memory_equal(buf, pattern, sizeof(pattern));
	assert_machine_healthy(m);
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

static bool thp_always(void)
{
	FILE *thp = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	char line[128] = "";

	if (!thp)
		return false;
	if (!fgets(line, sizeof(line), thp))
		line[0] = 0;
	fclose(thp);
	return strstr(line, "[always]");
}

/*
 * An address-only trace (vmm_cpu_access moves no bytes): its anonymous write
 * faults leave their frames unmarked and unbacked by the host, so host
 * memory does not grow with them; a real write backs the frame.
 */
static void test_untouched_frames_stay_unbacked(void **state)
{
	enum { N = 256 };
	vmm_machine *m = fault_machine(0, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	vmm_task *t = running_task(m, cpu, "zero");
	vmm_vaddr_t a = map_anon(t, 0, N * PG, VMM_PROT_READ | VMM_PROT_WRITE,
				 VMM_MAP_PRIVATE | VMM_MAP_ANONYMOUS);
	unsigned checked = 0;
	uint64_t pfn;

	(void)state;
	for (unsigned i = 0; i < N; i++) {
		pfn = touch(cpu, a + i * PG, VMM_ACC_WRITE).paddr >> VMM_PAGE_SHIFT;
		assert_false(marked(m, pfn));
		checked += !host_resident(m, pfn);
	}
	printf("# %u of %u faulted frames unbacked on the host\n", checked, N);
	/*
	 * All of them, unless the host backs this mapping with transparent huge
	 * pages (enabled=always), when a neighbour's write may back a frame's 2 MiB.
	 */
	if (!thp_always())
		assert_int_equal(checked, N);
	/* a real write backs and marks its frame */
	assert_int_equal(vmm_cpu_write(cpu, a, pattern, sizeof(pattern), VMM_ACC_USER, NULL), 0);
	pfn = touch(cpu, a, VMM_ACC_READ).paddr >> VMM_PAGE_SHIFT;
	assert_true(marked(m, pfn));
	assert_true(host_resident(m, pfn));
	vmm_task_destroy(&t);
	vmm_machine_destroy(&m);
}

/*
 * The debug builds' check: a write behind the bitmap's back (no mark) is
 * caught at the next skipped clear, which aborts. Run in a child process.
 */
static void test_check_catches_unmarked_writer(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	if (!vmm_zero_check_enabled())
		skip();
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct test_log tl = { 0 };
		vmm_machine *m = fault_machine(0, &tl);
		struct vmm_page *p = vmm_alloc_pages(m, VMM_GFP_HIGHUSER_MOVABLE, 0);
		uint64_t pfn = vmm_page_to_pfn(m, p);

		m->phys.base[(pfn << VMM_PAGE_SHIFT) + 17] = 1;	/* an unmarked write */
		vmm_free_pages(m, p, 0);
		for (unsigned i = 0; i < HUNT; i++)
			vmm_alloc_pages(m, VMM_GFP_HIGHUSER_MOVABLE | VMM_GFP_ZERO, 0);
		_exit(0);	/* not caught */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpu_write),
		cmocka_unit_test(test_copy_to_user),
		cmocka_unit_test(test_phys_to_host),
		cmocka_unit_test(test_file_read),
		cmocka_unit_test(test_cow),
		cmocka_unit_test(test_untouched_frames_stay_unbacked),
		cmocka_unit_test(test_check_catches_unmarked_writer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
