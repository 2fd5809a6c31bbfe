/* SPDX-License-Identifier: MIT */
/*
 * Tests of src/sim/cpu.c: register writes and the #GP cases they reject,
 * accesses with fault delivery and retry, reads and writes across pages,
 * cycle charging (including the embedder's latency callback), shootdowns
 * with IPI cycles and vmstat counts, argument validation, digests.
 */
#include "mmu_util.h"

static void test_reset_state_and_registers(void **state)
{
	vmm_machine *m = mmu_machine(5, 2, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 1);
	struct test_log tl = { 0 };
	uint64_t v;
	(void)state;

	assert_int_equal(vmm_cpu_id(cpu), 1);
	assert_null(vmm_machine_cpu(m, 2));
	assert_null(vmm_machine_cpu(NULL, 0));
	assert_int_equal(vmm_cpu_id(NULL), -VMM_EINVAL);
	assert_int_equal(cpu_reg(cpu, VMM_REG_CR0),
			 VMM_CR0_PE | VMM_CR0_ET | VMM_CR0_NE | VMM_CR0_WP | VMM_CR0_PG);
	assert_int_equal(cpu_reg(cpu, VMM_REG_CR4), VMM_CR4_PAE | VMM_CR4_PGE | VMM_CR4_LA57);
	assert_int_equal(cpu_reg(cpu, VMM_REG_EFER),
			 VMM_EFER_SCE | VMM_EFER_LME | VMM_EFER_LMA | VMM_EFER_NXE);
	assert_int_equal(cpu_reg(cpu, VMM_REG_RFLAGS), VMM_RFLAGS_FIXED);
	assert_int_equal(cpu_reg(cpu, VMM_REG_CPL), 0);
	assert_int_equal(cpu_reg(cpu, VMM_REG_PKRU), 0);

	/* what the instructions would reject with #GP */
	m->log.fn = test_log_hook;
	m->log.data = &tl;
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR4,
					 cpu_reg(cpu, VMM_REG_CR4) & ~VMM_CR4_LA57), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR4,
					 cpu_reg(cpu, VMM_REG_CR4) & ~VMM_CR4_PAE), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR4, 1ull << 30), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR0, 1ull << 32), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR0, VMM_CR0_PG), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_EFER, VMM_EFER_NXE), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_EFER, 1ull << 20), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_RFLAGS, 1), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_PKRU, 1ull << 32), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CPL, 4), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR3, 1ull << 63), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_NR, 0), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_get_reg(cpu, VMM_REG_NR, &v), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_get_reg(cpu, VMM_REG_CR0, NULL), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_get_reg(NULL, VMM_REG_CR0, &v), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_set_reg(NULL, VMM_REG_CR0, 0), -VMM_EINVAL);
	/* PCIDE needs CR3[11:0] = 0 */
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR3, 0x1000 | VMM_CR3_PWT), 0);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR4,
					 cpu_reg(cpu, VMM_REG_CR4) | VMM_CR4_PCIDE), -VMM_EINVAL);
	assert_int_equal(tl.messages, 15);
	assert_int_equal(tl.last_kind, VMM_LOG_KIND_CALLER);

	/* leaving and re-entering IA-32e paging, then switching to 4 levels */
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR0,
					 cpu_reg(cpu, VMM_REG_CR0) & ~VMM_CR0_PG), 0);
	assert_false(cpu_reg(cpu, VMM_REG_EFER) & VMM_EFER_LMA);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR4,
					 cpu_reg(cpu, VMM_REG_CR4) & ~VMM_CR4_LA57), 0);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_EFER, VMM_EFER_NXE), 0);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR0,
					 cpu_reg(cpu, VMM_REG_CR0) | VMM_CR0_PG), -VMM_EOPNOTSUPP);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_EFER, VMM_EFER_NXE | VMM_EFER_LME), 0);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR0,
					 cpu_reg(cpu, VMM_REG_CR0) | VMM_CR0_PG), 0);
	assert_true(cpu_reg(cpu, VMM_REG_EFER) & VMM_EFER_LMA);
	assert_int_equal(xlat(cpu, 0x0000800000000000ull, 0).fault, VMM_FAULT_GP);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR2, 0xdead), 0);
	assert_int_equal(cpu_reg(cpu, VMM_REG_CR2), 0xdead);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* A handler that maps the faulting page, as a kernel would, counting calls. */
struct mapper {
	struct pt *p;
	unsigned calls;
	uint32_t last_ec;
	uint64_t cr2;
	vmm_paddr_t next_frame;
};

static int map_on_fault(void *data, vmm_cpu *cpu, struct vmm_fault_info *f)
{
	struct mapper *mp = data;

	mp->calls++;
	mp->last_ec = f->error_code;
	mp->cr2 = cpu_reg(cpu, VMM_REG_CR2);
	assert_int_equal(mp->cr2, f->addr);
	if (f->error_code & VMM_PF_P) {
		/* a write to a read-only page: make it writable */
		*pt_entry(mp->p, f->addr, 1) |= VMM_PTE_RW;
		return vmm_cpu_invlpg(cpu, f->addr);
	}
	pt_map(mp->p, f->addr & ~0xfffull, mp->next_frame, 12, VMM_PTE_PRESENT | VMM_PTE_USER);
	mp->next_frame += 0x1000;
	return 0;
}

/* What a machine without a handler does: SIGSEGV, the si_code from the error code. */
static int segv_from_error_code(void *data, vmm_cpu *cpu, struct vmm_fault_info *f)
{
	(void)data;
	(void)cpu;
	f->signal = 11;
	f->si_code = (f->error_code & VMM_PF_PK) ? 4 : (f->error_code & VMM_PF_P) ? 2 : 1;
	return 0;
}

static void test_access_faults_and_retries(void **state)
{
	vmm_machine *m = mmu_machine(4, 2, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 1);
	struct pt p = pt_new(m, 4);
	struct mapper mp = { .p = &p, .next_frame = 0x800000 };
	struct vmm_access_result r;
	struct vmm_cpu_stats s;
	uint64_t va = 0x00007f0000003ff0ull, fault_cycles;
	char buf[64], back[64];
	(void)state;

	pt_load(cpu, &p, 0);
	/* libvmm's handler, no task on the CPU (no mm to consult): SIGSEGV with SEGV_MAPERR */
	assert_int_equal(vmm_cpu_access(cpu, va, 4, VMM_ACC_USER, &r), 0);
	assert_int_equal(r.signal, 11);
	assert_int_equal(r.si_code, 1);
	assert_int_equal(r.faulted, 1);
	assert_int_equal(r.error_code, VMM_PF_U);
	assert_int_equal(cpu_reg(cpu, VMM_REG_CR2), va);
	assert_int_equal(m->current_cpu, 1);

	/* with the handler: a 32-byte write across two pages faults on each, twice on
	 * the second (not present, then read-only), and completes */
	vmm_machine_set_fault_handler(m, map_on_fault, &mp);
	for (int i = 0; i < 32; i++)
		buf[i] = (char)i;
	assert_int_equal(vmm_cpu_write(cpu, va, buf, 32, VMM_ACC_USER, &r), 0);
	assert_int_equal(r.bytes, 32);
	assert_int_equal(r.faulted, 4);	/* page 1: P=0 then W; page 2: P=0 then W */
	assert_int_equal(mp.calls, 4);
	assert_int_equal(mp.last_ec, VMM_PF_P | VMM_PF_W | VMM_PF_U);
	assert_int_equal(r.signal, 0);
	assert_int_equal(r.paddr, 0x800ff0);
	assert_int_equal(vmm_cpu_read(cpu, va, back, 32, VMM_ACC_USER, &r), 0);
	assert_memory_equal(buf, back, 32);
	assert_int_equal(r.faulted, 0);
	assert_memory_equal((char *)vmm_phys_to_host(m, 0x800ff0), buf, 16);
	assert_memory_equal((char *)vmm_phys_to_host(m, 0x801000), buf + 16, 16);
	/* fault cycles were charged, in their own category, to this CPU (the first
	 * fault also reached libvmm's handler, which charged its entry) */
	assert_int_equal(vmm_cpu_cycles(m, 1, VMM_CYC_FAULT, &fault_cycles), 0);
	assert_int_equal(fault_cycles, 5 * m->clock.cost.fault_delivery + m->clock.cost.fault_entry);
	assert_int_equal(vmm_cpu_stats(cpu, &s), 0);
	assert_int_equal(s.page_faults, 5);
	/* a kernel read of a user page under SMAP without AC is refused: SEGV_ACCERR */
	vmm_machine_set_fault_handler(m, segv_from_error_code, NULL);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR4,
					 cpu_reg(cpu, VMM_REG_CR4) | VMM_CR4_SMAP), 0);
	assert_int_equal(vmm_cpu_read(cpu, va, back, 8, 0, &r), -VMM_EFAULT);
	assert_int_equal(r.si_code, 2);
	assert_int_equal(r.bytes, 0);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_RFLAGS, VMM_RFLAGS_AC), 0);
	assert_int_equal(vmm_cpu_read(cpu, va, back, 8, 0, &r), 0);
	/* protection keys: SEGV_PKUERR */
	*pt_entry(&p, va, 1) |= 3ull << VMM_PTE_PKEY_SHIFT;
	assert_int_equal(vmm_cpu_invlpg(cpu, va), 0);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR4,
					 cpu_reg(cpu, VMM_REG_CR4) | VMM_CR4_PKE), 0);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_PKRU, 1u << 6), 0);
	assert_int_equal(vmm_cpu_access(cpu, va, 1, VMM_ACC_USER, &r), 0);
	assert_int_equal(r.si_code, 4);
	assert_int_equal(r.error_code, VMM_PF_P | VMM_PF_U | VMM_PF_PK);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static int never_fixes(void *data, vmm_cpu *cpu, struct vmm_fault_info *f)
{
	(void)data;
	(void)cpu;
	(void)f;
	return 0;
}

static int fails(void *data, vmm_cpu *cpu, struct vmm_fault_info *f)
{
	(void)data;
	(void)cpu;
	(void)f;
	return -VMM_ENOMEM;
}

static void test_handler_errors_and_bad_args(void **state)
{
	vmm_machine *m = mmu_machine(4, 1, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	struct pt p = pt_new(m, 4);
	struct vmm_access_result r;
	struct vmm_translation t;
	struct vmm_trouble_counts tc;
	struct test_log tl = { 0 };
	char b[4];
	(void)state;

	m->log.fn = test_log_hook;
	m->log.data = &tl;
	pt_load(cpu, &p, 0);
	vmm_machine_set_fault_handler(m, never_fixes, NULL);
	assert_int_equal(vmm_cpu_access(cpu, 0x1000, 1, 0, &r), -VMM_EFAULT);
	assert_int_equal(r.faulted, 17);
	assert_int_equal(tl.last_kind, VMM_LOG_KIND_GUEST);
	vmm_machine_set_fault_handler(m, fails, NULL);
	assert_int_equal(vmm_cpu_access(cpu, 0x1000, 1, 0, &r), -VMM_ENOMEM);
	assert_int_equal(vmm_machine_set_fault_handler(NULL, NULL, NULL), -VMM_EINVAL);

	assert_int_equal(vmm_cpu_access(NULL, 0, 1, 0, &r), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_access(cpu, 0, 0, 0, &r), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_access(cpu, ~0ull, 2, 0, &r), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_access(cpu, 0, 1, VMM_ACC_WRITE | VMM_ACC_EXEC, &r), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_access(cpu, 0, 1, VMM_ACC_IMPLICIT | VMM_ACC_USER, &r),
			 -VMM_EINVAL);
	assert_int_equal(vmm_cpu_access(cpu, 0, 1, 0x10, &r), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_translate(cpu, 0, 0, NULL), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_translate(NULL, 0, 0, &t), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_translate(cpu, 0, 0x20, &t), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_walk(cpu, 0, 0, NULL), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_read(cpu, 0, NULL, 1, 0, &r), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_read(cpu, 0, b, 1, VMM_ACC_WRITE, &r), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_write(cpu, 0, b, 1, VMM_ACC_EXEC, &r), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_write(cpu, 0, NULL, 1, 0, &r), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_stats(cpu, NULL), -VMM_EINVAL);
	assert_int_equal(vmm_cpu_dump(cpu, NULL), -VMM_EINVAL);
	assert_int_equal(vmm_tlb_shootdown(cpu, 1, 0, 0, 0, 0, NULL), -VMM_EINVAL);
	assert_int_equal(vmm_tlb_shootdown(cpu, 0, 4096, 0, 0, 0, NULL), -VMM_EINVAL);
	assert_int_equal(vmm_tlb_shootdown(cpu, 0, 0, 0, 0, 4, NULL), -VMM_EINVAL);
	assert_int_equal(vmm_tlb_shootdown(NULL, 0, 0, 0, 0, 0, NULL), -VMM_EINVAL);
	assert_int_equal(vmm_machine_trouble(m, &tc), 0);
	assert_true(tc.caller >= 15);
	vmm_machine_destroy(&m);
}

/*
 * Every VMM_ACC_* combination at CPL 0 and 3: the invalid ones (WRITE with
 * EXEC, IMPLICIT with USER or EXEC, unknown bits) are refused, and each
 * valid one reaches the MMU as the access it names, which the #PF of an
 * unmapped page shows: W/R for a write, U/S for a user access (USER, or
 * CPL 3 unless IMPLICIT), I/D for a fetch (EFER.NXE is set).
 */
static void test_access_flags(void **state)
{
	vmm_machine *m = mmu_machine(4, 1, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	struct pt p = pt_new(m, 4);
	struct test_log tl = { 0 };
	unsigned refused = 0;
	(void)state;

	m->log.fn = test_log_hook;
	m->log.data = &tl;
	pt_load(cpu, &p, 0);
	for (unsigned cpl = 0; cpl <= 3; cpl += 3) {
		assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CPL, cpl), 0);
		for (unsigned f = 0; f < 32; f++) {
			bool w = f & VMM_ACC_WRITE, x = f & VMM_ACC_EXEC, u = f & VMM_ACC_USER;
			bool imp = f & VMM_ACC_IMPLICIT;
			bool bad = f > VMM_ACC_ALL || (w && x) || (imp && (u || x));
			uint32_t ec = (w ? VMM_PF_W : 0) | (!imp && (u || cpl == 3) ? VMM_PF_U : 0) |
				      (x ? VMM_PF_I : 0);
			struct vmm_translation t;

			if (bad) {
				assert_int_equal(vmm_cpu_translate(cpu, 0x1000, f, &t), -VMM_EINVAL);
				refused++;
				continue;
			}
			assert_int_equal(vmm_cpu_translate(cpu, 0x1000, f, &t), 0);
			assert_int_equal(t.fault, VMM_FAULT_PF);
			assert_int_equal(t.error_code, ec);
		}
	}
	assert_int_equal(refused, 2 * (16 + 8));	/* 3, 7, 10-15 and 16-31 */
	assert_int_equal(tl.messages, refused);
	assert_int_equal(vmm_machine_check(m, NULL), 0);
	vmm_machine_destroy(&m);
}

/*
 * Bytes move only to and from RAM: a page mapped onto the memory map's
 * hole below 4 GiB (reserved) gives -EFAULT and a guest error, before and
 * after accesses to a RAM page, which reads and writes; an access from
 * the RAM page into the hole moves the RAM part.
 */
static void test_data_outside_ram(void **state)
{
	vmm_machine *m = mmu_machine(4, 1, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	struct pt p = pt_new(m, 4);
	const uint64_t va = 0x00007f0000000000ull;
	const vmm_paddr_t hole = 0xe0000000, ram = pt_alloc_frame(m);
	struct vmm_access_result r;
	struct test_log tl = { 0 };
	char b[8] = "libvmm!", back[8];
	(void)state;

	assert_false(vmm_phys_to_host(m, hole));
	assert_non_null(vmm_phys_to_host(m, ram));
	m->log.fn = test_log_hook;
	m->log.data = &tl;
	pt_map(&p, va, hole, 12, VMM_PTE_PRESENT | VMM_PTE_RW | VMM_PTE_ACCESSED);
	pt_map(&p, va + 4096, ram, 12, VMM_PTE_PRESENT | VMM_PTE_RW | VMM_PTE_ACCESSED);
	pt_map(&p, va + 2 * 4096, hole + 4096, 12,
	       VMM_PTE_PRESENT | VMM_PTE_RW | VMM_PTE_ACCESSED);
	pt_load(cpu, &p, 0);
	assert_int_equal(vmm_cpu_read(cpu, va, back, 8, 0, &r), -VMM_EFAULT);
	assert_int_equal(tl.last_kind, VMM_LOG_KIND_GUEST);
	assert_int_equal(r.bytes, 0);
	assert_int_equal(vmm_cpu_write(cpu, va + 4096, b, 8, 0, &r), 0);
	assert_int_equal(vmm_cpu_read(cpu, va + 4096, back, 8, 0, &r), 0);
	assert_memory_equal(back, b, 8);
	assert_int_equal(vmm_cpu_write(cpu, va + 8, b, 8, 0, &r), -VMM_EFAULT);
	/* an access that starts in RAM stops at the hole, its RAM part done */
	assert_int_equal(vmm_cpu_write(cpu, va + 2 * 4096 - 4, b, 8, 0, &r),
			 -VMM_EFAULT);
	assert_int_equal(r.bytes, 4);
	assert_memory_equal((char *)vmm_phys_to_host(m, ram) + 4092, b, 4);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* ---- shootdowns ---- */

/* A machine whose CPUs 0..2 run one address space and cache its first 8 pages; CPU 3 does not. */
static vmm_machine *shootdown_machine(void)
{
	vmm_machine *m = mmu_machine(4, 4, NULL);
	struct pt p = pt_new(m, 4);
	uint64_t va = 0x00007f0000000000ull;

	for (unsigned i = 0; i < 64; i++)
		pt_map(&p, va + i * 4096, 0x200000 + i * 4096, 12, VMM_PTE_PRESENT | VMM_PTE_RW);
	for (unsigned c = 0; c < 3; c++) {
		vmm_cpu *cpu = vmm_machine_cpu(m, c);

		pt_load(cpu, &p, 0);
		for (unsigned i = 0; i < 8; i++)
			assert_int_equal(vmm_cpu_access(cpu, va + i * 4096, 1, 0, NULL), 0);
	}
	return m;
}

static void test_shootdown(void **state)
{
	vmm_machine *m = shootdown_machine();
	uint64_t va = 0x00007f0000000000ull, ipi0, ipi1, ipi3;
	unsigned ipis;
	char *vmstat;
	(void)state;

	/* two pages, everywhere: IPIs only to the CPUs that may cache PCID 0 */
	assert_int_equal(vmm_tlb_shootdown(vmm_machine_cpu(m, 0), VMM_SHOOTDOWN_ALL, 0, va, 8192,
					   0, &ipis), 0);
	assert_int_equal(ipis, 2);
	for (unsigned c = 0; c < 3; c++) {
		vmm_cpu *cpu = vmm_machine_cpu(m, c);

		assert_int_equal(xlat(cpu, va, 0).source, VMM_XLAT_WALK);
		assert_int_equal(xlat(cpu, va + 4096, 0).source, VMM_XLAT_WALK);
		assert_int_equal(xlat(cpu, va + 8192, 0).source, VMM_XLAT_L1);
	}
	assert_int_equal(vmm_cpu_cycles(m, 0, VMM_CYC_IPI, &ipi0), 0);
	assert_int_equal(vmm_cpu_cycles(m, 1, VMM_CYC_IPI, &ipi1), 0);
	assert_int_equal(vmm_cpu_cycles(m, 3, VMM_CYC_IPI, &ipi3), 0);
	assert_int_equal(ipi0, m->clock.cost.ipi);
	assert_int_equal(ipi1, m->clock.cost.ipi);
	assert_int_equal(ipi3, 0);
	/* a range above the ceiling (33 pages) is flushed whole, on one target */
	assert_int_equal(vmm_tlb_shootdown(vmm_machine_cpu(m, 0), 2, 0, va, 64 * 4096, 0, &ipis), 0);
	assert_int_equal(ipis, 1);
	assert_int_equal(xlat(vmm_machine_cpu(m, 2), va + 8192, 0).source, VMM_XLAT_WALK);
	/* a local-only flush sends nothing */
	assert_int_equal(vmm_tlb_shootdown(vmm_machine_cpu(m, 1), 1, 0, 0, 0, VMM_FLUSH_GLOBAL,
					   &ipis), 0);
	assert_int_equal(ipis, 0);
	assert_int_equal(xlat(vmm_machine_cpu(m, 1), va + 8192, 0).source, VMM_XLAT_WALK);
	vmstat = dump_to_string(m, VMM_DUMP_VMSTAT);
	assert_non_null(strstr(vmstat, "\nnr_tlb_remote_flush 2\n"));
	assert_non_null(strstr(vmstat, "\nnr_tlb_remote_flush_received 3\n"));
	assert_non_null(strstr(vmstat, "\nnr_tlb_local_flush_all 1\n"));
	assert_non_null(strstr(vmstat, "\nnr_tlb_local_flush_one 2\n"));
	free(vmstat);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/*
 * vmm_tlb_shootdown_one() (the library's own flushes of mm_cpumask) does what
 * vmm_tlb_shootdown() does for one target, step by step, for the sender
 * itself, another CPU, a CPU that caches nothing, a page, a range, a range
 * past the ceiling and everything: the same state (digests), and an IPI
 * charged to both sides and counted exactly when the target is another CPU.
 */
static void test_shootdown_one(void **state)
{
	static const struct {
		unsigned sender, target;
		uint64_t start, len;
		unsigned flags;
	} steps[] = {
		{ 0, 0, 0, 4096, 0 },	  { 0, 1, 4096, 4096, 0 },
		{ 1, 2, 0, 3 * 4096, 0 }, { 2, 3, 0, 4096, 0 },
		{ 0, 1, 0, 64 * 4096, 0 }, { 1, 1, 0, 0, VMM_FLUSH_GLOBAL },
		{ 2, 0, 0, 0, VMM_FLUSH_ALL_PCIDS },
	};
	vmm_machine *api = shootdown_machine(), *one = shootdown_machine();
	uint64_t va = 0x00007f0000000000ull;
	(void)state;

	assert_int_equal(vmm_machine_digest(api), vmm_machine_digest(one));
	for (unsigned i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		vmm_cpu *snd = vmm_machine_cpu(one, steps[i].sender);
		vmm_cpu *tgt = vmm_machine_cpu(one, steps[i].target);
		const uint64_t remote = steps[i].sender != steps[i].target;
		uint64_t start = steps[i].len ? va + steps[i].start : 0;
		struct vmm_cpu_stats s0, t0, s1, t1;
		uint64_t sc0, tc0, sc1, tc1;
		unsigned ipis;

		assert_int_equal(vmm_tlb_shootdown(vmm_machine_cpu(api, steps[i].sender),
						   (int)steps[i].target, 0, start, steps[i].len,
						   steps[i].flags, &ipis),
				 0);
		assert_int_equal(ipis, remote);
		assert_int_equal(vmm_cpu_stats(snd, &s0), 0);
		assert_int_equal(vmm_cpu_stats(tgt, &t0), 0);
		assert_int_equal(vmm_cpu_cycles(one, steps[i].sender, VMM_CYC_IPI, &sc0), 0);
		assert_int_equal(vmm_cpu_cycles(one, steps[i].target, VMM_CYC_IPI, &tc0), 0);
		vmm_tlb_shootdown_one(snd, tgt, 0, start, steps[i].len, steps[i].flags);
		assert_int_equal(vmm_cpu_stats(snd, &s1), 0);
		assert_int_equal(vmm_cpu_stats(tgt, &t1), 0);
		assert_int_equal(vmm_cpu_cycles(one, steps[i].sender, VMM_CYC_IPI, &sc1), 0);
		assert_int_equal(vmm_cpu_cycles(one, steps[i].target, VMM_CYC_IPI, &tc1), 0);
		assert_int_equal(s1.shootdowns_sent - s0.shootdowns_sent, remote);
		assert_int_equal(s1.shootdown_ipis_sent - s0.shootdown_ipis_sent, remote);
		assert_int_equal(t1.shootdowns_received - t0.shootdowns_received, remote);
		assert_int_equal(sc1 - sc0, remote * one->clock.cost.ipi);
		assert_int_equal(tc1 - tc0, remote * one->clock.cost.ipi);
		assert_int_equal(vmm_machine_digest(api), vmm_machine_digest(one));
		assert_machine_healthy(api);
		assert_machine_healthy(one);
		/* the CPUs refill the same way, so the next step starts alike */
		for (unsigned c = 0; c < 3; c++) {
			assert_int_equal(vmm_cpu_access(vmm_machine_cpu(api, c), va + c * 4096, 1, 0,
							NULL),
					 0);
			assert_int_equal(vmm_cpu_access(vmm_machine_cpu(one, c), va + c * 4096, 1, 0,
							NULL),
					 0);
		}
	}
	assert_int_equal(vmm_machine_digest(api), vmm_machine_digest(one));
	vmm_machine_destroy(&api);
	vmm_machine_destroy(&one);
}

/* ---- cycles, the latency callback, determinism ---- */

static unsigned latency_calls[5];

static uint32_t fixed_latency(void *data, unsigned cpu, vmm_paddr_t pa, unsigned kind)
{
	(void)data;
	(void)cpu;
	(void)pa;
	latency_calls[kind]++;
	return kind == VMM_MEMREF_WALK ? 10 : 100;
}

static void use_latency_fn(struct vmm_config *cfg)
{
	cfg->mem_latency_fn = fixed_latency;
}

static void test_cycles_and_latency_callback(void **state)
{
	vmm_machine *m = mmu_machine(4, 4, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	struct pt p = pt_new(m, 4);
	const struct vmm_cost_table cost = m->clock.cost, *c = &cost;
	uint64_t va = 0x00007f0000000000ull, walk;
	struct vmm_access_result r;
	(void)state;

	pt_map(&p, va, 0x200000, 12, VMM_PTE_PRESENT | VMM_PTE_ACCESSED);
	/* node 1's memory starts at 2 GiB: a remote reference from CPU 0 */
	pt_map(&p, va + 4096, 0x80000000, 12, VMM_PTE_PRESENT | VMM_PTE_ACCESSED);
	pt_load(cpu, &p, 0);
	/* a cold access: L1 and STLB lookups, 4 walker steps + A flags on 3 tables, data */
	assert_int_equal(vmm_cpu_access(cpu, va, 8, 0, &r), 0);
	walk = 4 * (c->walk_step + c->walk_mem_local) + 3 * c->ad_update;
	assert_int_equal(r.cycles, c->tlb_l1_hit + c->tlb_l2_hit + walk + c->mem_local);
	/* a hit costs the L1 lookup and the data reference */
	assert_int_equal(vmm_cpu_access(cpu, va, 8, 0, &r), 0);
	assert_int_equal(r.cycles, c->tlb_l1_hit + c->mem_local);
	/* remote data costs mem_local * 21 / 10 */
	assert_int_equal(vmm_cpu_access(cpu, va + 4096, 8, 0, NULL), 0);
	assert_int_equal(vmm_cpu_access(cpu, va + 4096, 8, 0, &r), 0);
	assert_int_equal(r.cycles, c->tlb_l1_hit + c->mem_local * 21 / 10);
	/* back on node 0, and both in one access: each page at its own node's cost */
	assert_int_equal(vmm_cpu_access(cpu, va, 8, 0, &r), 0);
	assert_int_equal(r.cycles, c->tlb_l1_hit + c->mem_local);
	assert_int_equal(vmm_cpu_access(cpu, va + 4092, 8, 0, &r), 0);
	assert_int_equal(r.cycles, 2 * c->tlb_l1_hit + c->mem_local + c->mem_local * 21 / 10);
	vmm_machine_destroy(&m);

	m = mmu_machine(4, 1, use_latency_fn);
	cpu = vmm_machine_cpu(m, 0);
	p = pt_new(m, 4);
	pt_map(&p, va, 0x200000, 12, VMM_PTE_PRESENT | VMM_PTE_RW);
	pt_load(cpu, &p, 0);
	memset(latency_calls, 0, sizeof(latency_calls));
	assert_int_equal(vmm_cpu_access(cpu, va, 8, VMM_ACC_WRITE, &r), 0);
	assert_int_equal(latency_calls[VMM_MEMREF_WALK], 4);
	assert_int_equal(latency_calls[VMM_MEMREF_AD], 4);	/* 3 tables + the leaf's A and D */
	assert_int_equal(latency_calls[VMM_MEMREF_WRITE], 1);
	assert_int_equal(r.cycles, c->tlb_l1_hit + c->tlb_l2_hit + 4 * (c->walk_step + 10) +
					   4 * 100 + 100);
	/* the callback sees every data reference, the second to a page as well */
	assert_int_equal(vmm_cpu_access(cpu, va + 8, 8, VMM_ACC_WRITE, &r), 0);
	assert_int_equal(latency_calls[VMM_MEMREF_WRITE], 2);
	assert_int_equal(r.cycles, c->tlb_l1_hit + 100);
	vmm_machine_destroy(&m);
}

static uint64_t run_and_digest(void)
{
	vmm_machine *m = mmu_machine(4, 2, NULL);
	struct pt p = pt_new(m, 4);
	uint64_t d;

	for (unsigned i = 0; i < 16; i++)
		pt_map(&p, 0x10000 + i * 4096, 0x200000, 12, VMM_PTE_PRESENT | VMM_PTE_RW);
	pt_load(vmm_machine_cpu(m, 1), &p, 0);
	for (unsigned i = 0; i < 100; i++)
		vmm_cpu_access(vmm_machine_cpu(m, 1), 0x10000 + (i * 7 % 16) * 4096, 4,
			       i % 3 ? 0 : VMM_ACC_WRITE, NULL);
	d = vmm_machine_digest(m);
	vmm_machine_destroy(&m);
	return d;
}

static void test_digest_and_dump(void **state)
{
	vmm_machine *m = mmu_machine(4, 1, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	struct pt p = pt_new(m, 4);
	uint64_t before;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	(void)state;

	assert_int_equal(run_and_digest(), run_and_digest());
	pt_map(&p, 0x1000, 0x200000, 12, VMM_PTE_PRESENT);
	pt_load(cpu, &p, 0);
	before = vmm_machine_digest(m);
	assert_int_equal(xlat(cpu, 0x1000, 0).fault, 0);	/* fills the TLB: state changed */
	assert_true(vmm_machine_digest(m) != before);
	out = open_memstream(&buf, &len);
	assert_int_equal(vmm_cpu_dump(cpu, out), 0);
	fclose(out);
	assert_non_null(strstr(buf, "dtlb_4k     va 0x0000000000001000 pcid    0 -> pa 0x200000"));
	assert_non_null(strstr(buf, "pwc_pde"));
	free(buf);
	vmm_machine_destroy(&m);
}

/*
 * Reads and writes of every length from 1 to 24 bytes at offsets that
 * start, sit inside, end at and cross a page boundary move exactly those
 * bytes (the short lengths take an inline copy, the rest memcpy).
 */
static void test_short_reads_and_writes(void **state)
{
	vmm_machine *m = mmu_machine(4, 1, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	struct pt p = pt_new(m, 4);
	const uint64_t va = 0x00007f0000010000ull;
	const unsigned user = VMM_ACC_USER;
	const vmm_paddr_t pa = 0x900000;
	const uint64_t offs[] = { 0, 1, 5, 0x800, 0xff8 - 1, 0xff8, 0xffc, 0xfff };
	uint8_t *host = vmm_phys_to_host(m, pa);
	uint8_t buf[24], back[24], want[0x2000];
	struct vmm_access_result r;
	(void)state;

	pt_map(&p, va, pa, 12, VMM_PTE_PRESENT | VMM_PTE_RW | VMM_PTE_USER);
	pt_map(&p, va + 0x1000, pa + 0x1000, 12, VMM_PTE_PRESENT | VMM_PTE_RW | VMM_PTE_USER);
	pt_load(cpu, &p, 0);
	memset(host, 0xa5, sizeof(want));
	memset(want, 0xa5, sizeof(want));
	for (size_t len = 1; len <= sizeof(buf); len++) {
		for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]); o++) {
			for (size_t i = 0; i < len; i++)
				buf[i] = (uint8_t)(len * 31 + o * 7 + i);
			assert_int_equal(vmm_cpu_write(cpu, va + offs[o], buf, len, user, &r), 0);
			assert_int_equal(r.bytes, len);
			memcpy(want + offs[o], buf, len);
			assert_memory_equal(host, want, sizeof(want));
			memset(back, 0, sizeof(back));
			assert_int_equal(vmm_cpu_read(cpu, va + offs[o], back, len, user, &r), 0);
			assert_int_equal(r.bytes, len);
			assert_memory_equal(back, buf, len);
		}
	}
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_state_and_registers),
		cmocka_unit_test(test_access_faults_and_retries),
		cmocka_unit_test(test_handler_errors_and_bad_args),
		cmocka_unit_test(test_access_flags),
		cmocka_unit_test(test_data_outside_ram),
		cmocka_unit_test(test_short_reads_and_writes),
		cmocka_unit_test(test_shootdown),
		cmocka_unit_test(test_shootdown_one),
		cmocka_unit_test(test_cycles_and_latency_callback),
		cmocka_unit_test(test_digest_and_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
