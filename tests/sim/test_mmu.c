/* SPDX-License-Identifier: MIT */
/*
 * Tests of src/sim/mmu.c: the walk, access rights, reserved bits, A/D
 * flags, the paging-structure caches and the machine check of cached
 * entries. Expected results are derived here from the SDM's rules (vol. 3A
 * 4.5-4.7), written out as the manual states them, never taken from the
 * implementation.
 */
#include "mmu_util.h"

#define PKEY 5u		/* the protection key of the leaf in the rights table */
#define RIGHTS_VA 0x00001234567a9000ull

/* ---- access rights: every combination ---- */

struct rights_regs {
	bool wp, smep, smap, pke, ac;
	unsigned cpl;
	uint32_t pkru;
};

/*
 * The SDM's rules (4.6.1 and 4.6.2) for an access to a linear address whose
 * paging entries have U/S @us[level] and R/W @rw[level], with XD at some
 * level when @xd. Returns 0 when allowed, else the #PF error code (4.7).
 */
static uint32_t sdm_rights(const struct rights_regs *r, const bool us[4], const bool rw[4], bool xd,
			   unsigned acc)
{
	bool user_mode_address = us[0] && us[1] && us[2] && us[3];
	bool read_write = rw[0] && rw[1] && rw[2] && rw[3];
	bool implicit = acc & VMM_ACC_IMPLICIT, write = acc & VMM_ACC_WRITE;
	bool fetch = acc & VMM_ACC_EXEC;
	bool user_access = !implicit && r->cpl == 3;
	bool explicit_with_ac = !implicit && r->ac;
	bool allowed, pk = false;
	uint32_t ec;

	if (user_access) {
		/* "user-mode accesses are allowed only to user-mode addresses" */
		if (fetch)
			allowed = user_mode_address && !xd;
		else if (write)
			allowed = user_mode_address && read_write;
		else
			allowed = user_mode_address;
	} else if (fetch) {
		/* supervisor fetches: XD with NXE = 1; SMEP forbids user-mode addresses */
		allowed = !xd && !(r->smep && user_mode_address);
	} else if (!user_mode_address) {
		/* supervisor data accesses to supervisor-mode addresses */
		allowed = !write || !r->wp || read_write;
	} else if (r->smap && !explicit_with_ac) {
		/* SMAP: AC = 0 or implicit: no data access to user-mode addresses */
		allowed = false;
	} else {
		allowed = !write || !r->wp || read_write;
	}
	/* protection keys: data accesses to user-mode addresses */
	if (r->pke && user_mode_address && !fetch) {
		bool ad = (r->pkru >> (2 * PKEY)) & 1, wd = (r->pkru >> (2 * PKEY + 1)) & 1;

		pk = ad || (wd && write && (user_access || r->wp));
	}
	if (pk)
		allowed = false;
	if (allowed)
		return 0;
	ec = VMM_PF_P;
	if (write)
		ec |= VMM_PF_W;
	if (user_access)
		ec |= VMM_PF_U;
	if (fetch)	/* with NXE = 1 the I/D flag reports every fetch */
		ec |= VMM_PF_I;
	if (pk)
		ec |= VMM_PF_PK;
	return ec;
}

static void set_rights_regs(vmm_cpu *cpu, const struct rights_regs *r)
{
	uint64_t cr0 = cpu_reg(cpu, VMM_REG_CR0), cr4 = cpu_reg(cpu, VMM_REG_CR4);

	cr0 = r->wp ? cr0 | VMM_CR0_WP : cr0 & ~VMM_CR0_WP;
	cr4 &= ~(VMM_CR4_SMEP | VMM_CR4_SMAP | VMM_CR4_PKE);
	cr4 |= (r->smep ? VMM_CR4_SMEP : 0) | (r->smap ? VMM_CR4_SMAP : 0) |
	       (r->pke ? VMM_CR4_PKE : 0);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR0, cr0), 0);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR4, cr4), 0);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_RFLAGS,
					 VMM_RFLAGS_FIXED | (r->ac ? VMM_RFLAGS_AC : 0)), 0);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_PKRU, r->pkru), 0);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CPL, r->cpl), 0);
}

/*
 * Every combination of U/S and R/W at each of the four levels, XD nowhere,
 * at the leaf or at the top, CR0.WP, CR4.SMEP, CR4.SMAP with RFLAGS.AC, CPL
 * 0 or 3, protection keys off or on with four PKRU values, and reads,
 * writes, fetches and implicit supervisor reads and writes. Each case is
 * checked three ways: the side-effect-free walk, a translation that walks,
 * and a second translation served by the TLB from the cached rights.
 */
static void test_rights_table(void **state)
{
	static const uint32_t pkrus[] = { 0, 1u << (2 * PKEY), 2u << (2 * PKEY),
					  3u << (2 * (PKEY + 1)) };
	static const unsigned accs[] = { VMM_ACC_READ, VMM_ACC_WRITE, VMM_ACC_EXEC,
					 VMM_ACC_IMPLICIT, VMM_ACC_IMPLICIT | VMM_ACC_WRITE };
	vmm_machine *m = mmu_machine(4, 1, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	struct pt p = pt_new(m, 4);
	vmm_paddr_t frame = pt_alloc_frame(m), epa[4];
	uint64_t addr[4];
	unsigned long cases = 0;
	(void)state;

	pt_map(&p, RIGHTS_VA, frame, 12, VMM_PTE_PRESENT);
	pt_load(cpu, &p, 0);
	for (unsigned l = 1; l <= 4; l++) {
		epa[l - 1] = pt_entry_pa(&p, RIGHTS_VA, l);
		addr[l - 1] = *pt_host(m, epa[l - 1]) & VMM_PTE_ADDR_MASK;
	}
	for (unsigned regs = 0; regs < 32 * 5; regs++) {
		struct rights_regs r = {
			.wp = regs & 1, .smep = regs & 2, .smap = regs & 4, .ac = regs & 8,
			.cpl = (regs & 16) ? 3 : 0, .pke = regs / 32 > 0,
			.pkru = regs / 32 > 0 ? pkrus[regs / 32 - 1] : 0,
		};

		set_rights_regs(cpu, &r);
		for (unsigned combo = 0; combo < 256; combo++) {
			bool us[4], rw[4];

			for (unsigned l = 0; l < 4; l++) {
				us[l] = (combo >> l) & 1;
				rw[l] = (combo >> (4 + l)) & 1;
			}
			for (unsigned xd_at = 0; xd_at < 3; xd_at++) {
				for (unsigned l = 0; l < 4; l++) {
					uint64_t e = addr[l] | VMM_PTE_PRESENT |
						     (us[l] ? VMM_PTE_USER : 0) |
						     (rw[l] ? VMM_PTE_RW : 0);

					if ((xd_at == 1 && l == 0) || (xd_at == 2 && l == 3))
						e |= VMM_PTE_NX;
					if (l == 0)
						e |= (uint64_t)PKEY << VMM_PTE_PKEY_SHIFT;
					*pt_host(m, epa[l]) = e;
				}
				for (unsigned a = 0; a < ARRAY_SIZE(accs); a++) {
					uint32_t want = sdm_rights(&r, us, rw, xd_at != 0, accs[a]);
					struct vmm_translation t;
					struct vmm_walk w;

					assert_int_equal(vmm_cpu_walk(cpu, RIGHTS_VA, accs[a], &w), 0);
					assert_int_equal(vmm_cpu_invlpg(cpu, RIGHTS_VA), 0);
					t = xlat(cpu, RIGHTS_VA, accs[a]);
					if (w.error_code != want || t.error_code != want ||
					    (want != 0) != (t.fault == VMM_FAULT_PF)) {
						fail_msg("regs %u combo %#x xd %u acc %#x: SDM %#x, walk %#x, "
							 "translate %#x",
							 regs, combo, xd_at, accs[a], want, w.error_code,
							 t.error_code);
					}
					t = xlat(cpu, RIGHTS_VA, accs[a]);
					if (t.error_code != want ||
					    (!want && (t.source != VMM_XLAT_L1 || t.paddr != frame)))
						fail_msg("regs %u combo %#x xd %u acc %#x: TLB says %#x "
							 "(source %u), SDM %#x",
							 regs, combo, xd_at, accs[a], t.error_code, t.source,
							 want);
					cases++;
				}
			}
		}
	}
	printf("# %lu rights cases\n", cases);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* ---- address splits, canonical form ---- */

/* The SDM's split of a linear address: PML5 56:48, PML4 47:39, PDPT 38:30, PD 29:21, PT 20:12. */
static unsigned sdm_index(uint64_t va, unsigned level)
{
	switch (level) {
	case 5: return (unsigned)((va >> 48) & 0x1ff);
	case 4: return (unsigned)((va >> 39) & 0x1ff);
	case 3: return (unsigned)((va >> 30) & 0x1ff);
	case 2: return (unsigned)((va >> 21) & 0x1ff);
	default: return (unsigned)((va >> 12) & 0x1ff);
	}
}

static void check_split(unsigned levels, const uint64_t *vas, size_t n)
{
	vmm_machine *m = mmu_machine(levels, 1, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	struct pt p = pt_new(m, levels);
	vmm_paddr_t frames[8];

	for (size_t i = 0; i < n; i++) {
		frames[i] = pt_alloc_frame(m);
		pt_map(&p, vas[i], frames[i], 12, VMM_PTE_PRESENT | VMM_PTE_RW);
	}
	pt_load(cpu, &p, 0);
	for (size_t i = 0; i < n; i++) {
		struct vmm_walk w;
		vmm_paddr_t table = p.root;

		assert_int_equal(vmm_cpu_walk(cpu, vas[i] + 0x123, 0, &w), 0);
		assert_int_equal(w.fault, 0);
		assert_int_equal(w.levels, levels);
		assert_int_equal(w.depth, levels);
		for (unsigned d = 0; d < levels; d++) {
			unsigned level = levels - d;

			assert_int_equal(w.level[d].level, level);
			assert_int_equal(w.level[d].entry_paddr, table + 8 * sdm_index(vas[i], level));
			table = w.level[d].entry & VMM_PTE_ADDR_MASK;
		}
		assert_int_equal(w.paddr, frames[i] + 0x123);
		assert_int_equal(xlat(cpu, vas[i] + 0x123, 0).paddr, frames[i] + 0x123);
	}
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void test_address_split_4_and_5_levels(void **state)
{
	static const uint64_t va4[] = { 0x00007f123456f000ull, 0xffff888012345000ull,
					0x0000000000400000ull, 0xffffffffff5fe000ull };
	static const uint64_t va5[] = { 0x00ff12345678a000ull, 0xff11000012345000ull,
					0x0000000000400000ull, 0x0001000000001000ull,
					0xffffffffff5fe000ull };
	(void)state;
	check_split(4, va4, ARRAY_SIZE(va4));
	check_split(5, va5, ARRAY_SIZE(va5));
}

static int handler_calls;
static int count_handler(void *data, vmm_cpu *cpu, struct vmm_fault_info *f)
{
	(void)data;
	(void)cpu;
	handler_calls++;
	f->signal = 11;
	f->si_code = 1;
	return 0;
}

static void expect_canonical(unsigned levels, uint64_t va, bool canonical)
{
	vmm_machine *m = mmu_machine(levels, 1, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	struct pt p = pt_new(m, levels);
	struct vmm_access_result r;
	struct vmm_translation t;
	struct vmm_cpu_stats s;

	pt_load(cpu, &p, 0);
	vmm_machine_set_fault_handler(m, count_handler, NULL);
	handler_calls = 0;
	t = xlat(cpu, va, 0);
	assert_int_equal(t.fault, canonical ? VMM_FAULT_PF : VMM_FAULT_GP);
	assert_int_equal(vmm_cpu_access(cpu, va, 1, VMM_ACC_USER, &r), 0);
	assert_int_equal(r.signal, 11);
	assert_int_equal(r.gp, !canonical);
	assert_int_equal(r.faulted, canonical);
	assert_int_equal(r.si_code, canonical ? 1 : 0x80);
	assert_int_equal(handler_calls, canonical);
	assert_int_equal(cpu_reg(cpu, VMM_REG_CR2), canonical ? va : 0);
	assert_int_equal(vmm_cpu_stats(cpu, &s), 0);
	assert_int_equal(s.gp_faults, !canonical);
	assert_int_equal(s.page_faults, canonical);
	vmm_machine_destroy(&m);
}

static void test_non_canonical(void **state)
{
	(void)state;
	expect_canonical(4, 0x00007fffffffffffull, true);
	expect_canonical(4, 0xffff800000000000ull, true);
	expect_canonical(4, 0x0000800000000000ull, false);
	expect_canonical(4, 0xffff7fffffffffffull, false);
	expect_canonical(4, 0x0100000000000000ull, false);
	expect_canonical(4, 0x8000000000000000ull, false);
	expect_canonical(5, 0x0000800000000000ull, true);
	expect_canonical(5, 0x00ffffffffffffffull, true);
	expect_canonical(5, 0xff00000000000000ull, true);
	expect_canonical(5, 0x0100000000000000ull, false);
	expect_canonical(5, 0xfe00000000000000ull, false);
	expect_canonical(5, 0x8000000000000000ull, false);
}

/* ---- reserved bits ---- */

struct rsvd_case {
	unsigned levels;
	unsigned leaf_shift;	/* the mapping: 12, 21 or 30 */
	unsigned level;		/* the entry that gets @bits */
	uint64_t bits;
	bool nxe;		/* EFER.NXE */
	bool reserved;		/* what the SDM says */
};

static void check_rsvd(const struct rsvd_case *c, unsigned acc, uint32_t acc_bits)
{
	vmm_machine *m = mmu_machine(c->levels, 1, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	struct pt p = pt_new(m, c->levels);
	uint64_t va = 0x00007f0000000000ull, *e;
	struct vmm_translation t;
	struct vmm_walk w;

	pt_map(&p, va, 0x40000000ull, c->leaf_shift,
	       VMM_PTE_PRESENT | VMM_PTE_RW | VMM_PTE_USER);
	pt_load(cpu, &p, 0);
	if (!c->nxe)
		assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_EFER,
						 VMM_EFER_SCE | VMM_EFER_LME), 0);
	e = pt_entry(&p, va, c->level);
	*e |= c->bits;
	assert_int_equal(vmm_cpu_walk(cpu, va, acc, &w), 0);
	t = xlat(cpu, va, acc);
	if (c->reserved) {
		if (w.fault != VMM_FAULT_PF || w.error_code != (VMM_PF_P | VMM_PF_RSVD | acc_bits) ||
		    t.error_code != w.error_code)
			fail_msg("%u levels, leaf %u, level %u bits %#" PRIx64
				 ": expected RSVD, walk %u/%#x translate %#x",
				 c->levels, c->leaf_shift, c->level, c->bits, w.fault, w.error_code,
				 t.error_code);
		/* a reserved bit in a non-present entry is not checked */
		*e &= ~VMM_PTE_PRESENT;
		assert_int_equal(vmm_cpu_walk(cpu, va, acc, &w), 0);
		assert_int_equal(w.error_code, acc_bits);
	} else if (w.fault || t.fault) {
		fail_msg("%u levels, leaf %u, level %u bits %#" PRIx64 ": unexpected fault %#x",
			 c->levels, c->leaf_shift, c->level, c->bits, w.error_code);
	}
	vmm_machine_destroy(&m);
}

static void test_reserved_bits(void **state)
{
	struct rsvd_case c;
	(void)state;

	for (unsigned levels = 4; levels <= 5; levels++) {
		for (unsigned shift = 12; shift <= 30; shift += 9) {
			unsigned leaf = shift == 12 ? 1 : shift == 21 ? 2 : 3;

			for (unsigned level = leaf; level <= levels; level++) {
				/* address bits 51:MAXPHYADDR (46 by default) */
				for (unsigned b = 46; b <= 51; b++) {
					c = (struct rsvd_case){ levels, shift, level, 1ull << b,
								true, true };
					check_rsvd(&c, VMM_ACC_READ, 0);
				}
				/* XD without EFER.NXE; ignored bits 58:52 are not reserved */
				c = (struct rsvd_case){ levels, shift, level, VMM_PTE_NX, false,
							true };
				check_rsvd(&c, VMM_ACC_WRITE | VMM_ACC_USER,
					   VMM_PF_W | VMM_PF_U);
				c = (struct rsvd_case){ levels, shift, level, 0x7full << 52, true,
							false };
				check_rsvd(&c, VMM_ACC_READ, 0);
			}
			/* PS is reserved in a PML4E and a PML5E */
			for (unsigned level = 4; level <= levels; level++) {
				c = (struct rsvd_case){ levels, shift, level, VMM_PTE_PS, true, true };
				check_rsvd(&c, VMM_ACC_EXEC, VMM_PF_I);
			}
		}
		/* bits 29:13 of a 1 GiB leaf, 20:13 of a 2 MiB leaf; PAT (bit 12) is fine */
		for (unsigned b = 12; b <= 29; b++) {
			c = (struct rsvd_case){ levels, 30, 3, 1ull << b, true, b != 12 };
			check_rsvd(&c, VMM_ACC_READ, 0);
		}
		for (unsigned b = 12; b <= 20; b++) {
			c = (struct rsvd_case){ levels, 21, 2, 1ull << b, true, b != 12 };
			check_rsvd(&c, VMM_ACC_READ, 0);
		}
	}
}

static void small_phys(struct vmm_config *cfg)
{
	cfg->phys_addr_bits = 40;
}

/* MAXPHYADDR comes from the config: with 40 bits, bit 40 is reserved too. */
static void test_reserved_maxphyaddr(void **state)
{
	vmm_machine *m = mmu_machine(4, 1, small_phys);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	struct pt p = pt_new(m, 4);
	uint64_t va = 0x1000;
	(void)state;

	pt_map(&p, va, 0x200000, 12, VMM_PTE_PRESENT);
	pt_load(cpu, &p, 0);
	*pt_entry(&p, va, 1) |= 1ull << 40;
	assert_int_equal(xlat(cpu, va, 0).error_code, VMM_PF_P | VMM_PF_RSVD);
	*pt_entry(&p, va, 1) &= ~(1ull << 40);
	*pt_entry(&p, va, 1) |= 1ull << 39;
	assert_int_equal(xlat(cpu, va, 0).fault, 0);
	assert_int_equal(vmm_cpu_set_reg(cpu, VMM_REG_CR3, 1ull << 40), -VMM_EINVAL);
	vmm_machine_destroy(&m);
}

/* ---- accessed and dirty flags ---- */

static void test_accessed_dirty(void **state)
{
	vmm_machine *m = mmu_machine(5, 1, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	struct pt p = pt_new(m, 5);
	uint64_t va4k = 0x00007f0000001000ull, va2m = 0x00007f0000400000ull;
	uint64_t va1g = 0x00007f0040000000ull;
	struct vmm_cpu_stats s;
	(void)state;

	pt_map(&p, va4k, 0x200000, 12, VMM_PTE_PRESENT | VMM_PTE_RW);
	pt_map(&p, va2m, 0x400000, 21, VMM_PTE_PRESENT | VMM_PTE_RW);
	pt_map(&p, va1g, 0x40000000, 30, VMM_PTE_PRESENT | VMM_PTE_RW);
	pt_load(cpu, &p, 0);

	/* a read sets A at every level and leaves D alone */
	assert_int_equal(xlat(cpu, va4k, VMM_ACC_READ).fault, 0);
	for (unsigned l = 1; l <= 5; l++) {
		assert_true(*pt_entry(&p, va4k, l) & VMM_PTE_ACCESSED);
		assert_false(*pt_entry(&p, va4k, l) & VMM_PTE_DIRTY);
	}
	/* a write through the clean TLB entry walks again and sets D at the leaf only */
	assert_int_equal(vmm_cpu_access(cpu, va4k, 8, VMM_ACC_WRITE, NULL), 0);
	assert_true(*pt_entry(&p, va4k, 1) & VMM_PTE_DIRTY);
	for (unsigned l = 2; l <= 5; l++)
		assert_false(*pt_entry(&p, va4k, l) & VMM_PTE_DIRTY);
	assert_int_equal(vmm_cpu_stats(cpu, &s), 0);
	assert_int_equal(s.dirty_rewalks, 1);
	/* now the entry is dirty: the next write hits */
	assert_int_equal(xlat(cpu, va4k, VMM_ACC_WRITE).source, VMM_XLAT_L1);

	/* large leaves get D too */
	assert_int_equal(xlat(cpu, va2m + 0x1234, VMM_ACC_WRITE).paddr, 0x401234);
	assert_int_equal(*pt_entry(&p, va2m, 2) & (VMM_PTE_ACCESSED | VMM_PTE_DIRTY),
			 VMM_PTE_ACCESSED | VMM_PTE_DIRTY);
	assert_int_equal(xlat(cpu, va1g + 0x12345678, VMM_ACC_WRITE).paddr, 0x52345678);
	assert_int_equal(*pt_entry(&p, va1g, 3) & (VMM_PTE_ACCESSED | VMM_PTE_DIRTY),
			 VMM_PTE_ACCESSED | VMM_PTE_DIRTY);

	/* a faulting access sets A on the entries above the leaf, not on the leaf */
	{
		uint64_t va = 0x00007f0080000000ull;

		pt_map(&p, va, 0x600000, 12, VMM_PTE_PRESENT);	/* read-only, supervisor */
		assert_int_equal(xlat(cpu, va, VMM_ACC_WRITE | VMM_ACC_USER).error_code,
				 VMM_PF_P | VMM_PF_W | VMM_PF_U);
		assert_false(*pt_entry(&p, va, 1) & VMM_PTE_ACCESSED);
		for (unsigned l = 2; l <= 5; l++)
			assert_true(*pt_entry(&p, va, l) & VMM_PTE_ACCESSED);
	}
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* ---- paging-structure caches ---- */

static void check_pwc(unsigned levels)
{
	vmm_machine *m = mmu_machine(levels, 1, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	struct pt p = pt_new(m, levels);
	uint64_t base = 0x00007f0000000000ull;
	/* each step away from base shares one level less of the path */
	struct {
		uint64_t va;
		unsigned pwc_level, refs;
	} steps[] = {
		{ base, 0, levels },
		{ base + 4 * KiB, 2, 1 },		/* same page table: PDE cache */
		{ base + 2 * MiB, 3, 2 },		/* same page directory: PDPTE cache */
		{ base + 1 * GiB, 4, 3 },		/* same PDPT: PML4E cache */
		{ base + (512ull << 30), levels == 5 ? 5 : 0, levels == 5 ? 4 : 4 },
	};
	struct vmm_cpu_stats s;

	for (size_t i = 0; i < ARRAY_SIZE(steps); i++)
		pt_map(&p, steps[i].va, 0x200000 + i * 4096, 12, VMM_PTE_PRESENT | VMM_PTE_RW);
	pt_load(cpu, &p, 0);
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		struct vmm_translation t = xlat(cpu, steps[i].va, 0);

		assert_int_equal(t.source, VMM_XLAT_WALK);
		if (t.pwc_level != steps[i].pwc_level || t.walk_refs != steps[i].refs)
			fail_msg("%u levels, step %zu: started from PWC level %u with %u refs, "
				 "expected %u and %u",
				 levels, i, t.pwc_level, t.walk_refs, steps[i].pwc_level,
				 steps[i].refs);
	}
	/* the counters see the same (translate does not count; access does) */
	pt_map(&p, base + 2 * MiB + 8 * KiB, 0x300000, 12, VMM_PTE_PRESENT);
	pt_map(&p, base + 2 * MiB + 16 * KiB, 0x301000, 12, VMM_PTE_PRESENT);
	assert_int_equal(vmm_cpu_invlpg(cpu, base), 0);
	assert_int_equal(vmm_cpu_access(cpu, base, 1, 0, NULL), 0);
	assert_int_equal(vmm_cpu_access(cpu, base + 2 * MiB + 8 * KiB, 1, 0, NULL), 0);
	assert_int_equal(vmm_cpu_access(cpu, base + 2 * MiB + 16 * KiB, 1, 0, NULL), 0);
	assert_int_equal(vmm_cpu_stats(cpu, &s), 0);
	assert_int_equal(s.pwc_misses, 1);
	assert_int_equal(s.pwc_hits[3], 1);	/* the second access: PDPTE cache */
	assert_int_equal(s.pwc_hits[2], 1);	/* the third: PDE cache */
	assert_int_equal(s.walk_refs, levels + 2 + 1);
	/* a #PF drops the PWC entries for its address (SDM 4.10.4.3): the retry starts at CR3 */
	{
		struct vmm_access_result r;
		struct vmm_translation t;

		assert_int_equal(vmm_cpu_access(cpu, base + 2 * MiB + 24 * KiB, 1, 0, &r), 0);
		assert_int_equal(r.faulted, 1);
		assert_int_equal(r.error_code, 0);
		pt_map(&p, base + 2 * MiB + 24 * KiB, 0x302000, 12, VMM_PTE_PRESENT);
		t = xlat(cpu, base + 2 * MiB + 24 * KiB, 0);
		assert_int_equal(t.pwc_level, 0);
		assert_int_equal(t.walk_refs, levels);
	}
	/* INVLPG drops every PWC entry of the PCID: the next walk starts at CR3 */
	assert_int_equal(vmm_cpu_invlpg(cpu, base + 1 * GiB), 0);
	assert_int_equal(xlat(cpu, base + 1 * GiB, 0).walk_refs, levels);
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

static void test_pwc_shortens_walks(void **state)
{
	(void)state;
	check_pwc(4);
	check_pwc(5);
}

/* ---- the machine check of cached entries ---- */

static void test_check_stale_and_corrupt(void **state)
{
	vmm_machine *m = mmu_machine(4, 1, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	struct pt p = pt_new(m, 4);
	uint64_t va = 0x00007f0000001000ull;
	struct vmm_cpu_stats s;
	struct vmm_tlb_entry *e;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	(void)state;

	pt_map(&p, va, 0x200000, 12, VMM_PTE_PRESENT | VMM_PTE_RW);
	pt_load(cpu, &p, 0);
	assert_int_equal(xlat(cpu, va, VMM_ACC_WRITE).fault, 0);
	assert_machine_healthy(m);
	assert_int_equal(vmm_cpu_stats(cpu, &s), 0);
	assert_int_equal(s.check_stale_tlb, 0);

	/* software remaps the page without INVLPG: stale but legal, flagged, no problem */
	*pt_entry(&p, va, 1) = 0x300000 | VMM_PTE_PRESENT;
	assert_machine_healthy(m);
	assert_int_equal(vmm_cpu_stats(cpu, &s), 0);
	assert_int_equal(s.check_stale_tlb, 2);	/* the L1 and the STLB entry */
	assert_int_equal(xlat(cpu, va, 0).paddr, 0x200000);	/* hardware still uses it */
	out = open_memstream(&buf, &len);
	assert_int_equal(vmm_cpu_dump(cpu, out), 0);
	fclose(out);
	assert_non_null(strstr(buf, "stale entry va 0x7f0000001000"));
	free(buf);
	assert_int_equal(vmm_cpu_invlpg(cpu, va), 0);
	assert_machine_healthy(m);
	assert_int_equal(vmm_cpu_stats(cpu, &s), 0);
	assert_int_equal(s.check_stale_tlb, 0);
	assert_int_equal(s.check_stale_pwc, 0);

	/* an entry that contradicts unchanged tables is a problem */
	assert_int_equal(xlat(cpu, va, 0).paddr, 0x300000);
	e = tlb_find(&cpu->tlb.dtlb[0], va, 12, 0, 0);
	assert_non_null(e);
	e->pa = 0x500000;
	assert_int_equal(vmm_machine_check(m, stdout), 1);
	e->pa = 0x300000;
	e->shift = 21;	/* in the wrong array now */
	assert_true(vmm_machine_check(m, stdout) >= 1);
	e->shift = 12;
	cpu->tlb.pcid_count[0]++;
	assert_int_equal(vmm_machine_check(m, stdout), 1);
	cpu->tlb.pcid_count[0]--;
	/* a wrong per-size count would make lookups skip a size the array holds */
	cpu->tlb.dtlb[0].nvalid_sz[0]--;
	assert_int_equal(vmm_machine_check(m, stdout), 1);
	cpu->tlb.dtlb[0].nvalid_sz[0]++;
	/* a rights change in an upper level alone makes the entries stale, not wrong */
	*pt_entry(&p, va, 2) &= ~VMM_PTE_RW;
	assert_machine_healthy(m);
	assert_int_equal(vmm_cpu_stats(cpu, &s), 0);
	assert_true(s.check_stale_tlb >= 2);
	*pt_entry(&p, va, 2) |= VMM_PTE_RW;
	assert_machine_healthy(m);
	vmm_machine_destroy(&m);
}

/* Check the machine (no problems allowed); returns the stale TLB entries, and PWC ones in *pwc. */
static uint64_t healthy_stale(vmm_machine *m, vmm_cpu *cpu, uint64_t *pwc)
{
	struct vmm_cpu_stats s;

	assert_machine_healthy(m);
	assert_int_equal(vmm_cpu_stats(cpu, &s), 0);
	if (pwc)
		*pwc = s.check_stale_pwc;
	return s.check_stale_tlb;
}

/* vmm_cpu_dump() must say @what (of the stale entries' cached rights). */
static void dump_says(vmm_cpu *cpu, const char *what)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	assert_int_equal(vmm_cpu_dump(cpu, out), 0);
	fclose(out);
	assert_non_null(strstr(buf, what));
	free(buf);
}

/*
 * XD changed at two levels of one path without a flush. The entries built
 * from the old tables are stale, legal until a flush, whether the combined
 * rights changed (XD set at two levels: now execute-disabled) or not (XD
 * moved from one level to another); never a problem, and never taken for
 * entries of unchanged tables.
 */
static void test_check_xd_at_two_levels(void **state)
{
	vmm_machine *m = mmu_machine(4, 1, NULL);
	vmm_cpu *cpu = vmm_machine_cpu(m, 0);
	struct pt p = pt_new(m, 4);
	uint64_t va = 0x00007f0000001000ull, pwc;
	(void)state;

	pt_map(&p, va, 0x200000, 12, VMM_PTE_PRESENT | VMM_PTE_RW);
	pt_load(cpu, &p, 0);
	assert_int_equal(xlat(cpu, va, VMM_ACC_EXEC).fault, 0);
	assert_int_equal(xlat(cpu, va, 0).fault, 0);
	assert_int_equal(healthy_stale(m, cpu, NULL), 0);

	/* XD set at levels 4 and 3: the cached entries allow fetches the tables forbid now */
	*pt_entry(&p, va, 4) |= VMM_PTE_NX;
	*pt_entry(&p, va, 3) |= VMM_PTE_NX;
	assert_true(healthy_stale(m, cpu, &pwc) >= 3);	/* ITLB, DTLB and STLB */
	assert_true(pwc >= 1);				/* the PDPTE and PDE caches */
	dump_says(cpu, "the tables give other rights now");
	assert_int_equal(xlat(cpu, va, VMM_ACC_EXEC).fault, 0);	/* hardware may still use them */

	/* after the flush, XD moves from level 4 to level 2: rights the same, entries stale */
	assert_int_equal(vmm_cpu_invlpg(cpu, va), 0);
	assert_int_equal(xlat(cpu, va, VMM_ACC_EXEC).fault, VMM_FAULT_PF);
	assert_int_equal(xlat(cpu, va, 0).fault, 0);
	assert_int_equal(healthy_stale(m, cpu, NULL), 0);
	*pt_entry(&p, va, 4) &= ~VMM_PTE_NX;
	*pt_entry(&p, va, 2) |= VMM_PTE_NX;
	assert_true(healthy_stale(m, cpu, NULL) >= 2);	/* DTLB and STLB */
	dump_says(cpu, "as the tables give now");

	/* an entry of unchanged tables with other rights is a problem */
	assert_int_equal(vmm_cpu_invlpg(cpu, va), 0);
	assert_int_equal(xlat(cpu, va, 0).fault, 0);
	assert_int_equal(healthy_stale(m, cpu, NULL), 0);
	tlb_find(&cpu->tlb.dtlb[0], va, 12, 0, 0)->attr &= (uint8_t)~TLB_ATTR_NX;
	assert_int_equal(vmm_machine_check(m, stdout), 1);
	vmm_machine_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rights_table),
		cmocka_unit_test(test_address_split_4_and_5_levels),
		cmocka_unit_test(test_non_canonical),
		cmocka_unit_test(test_reserved_bits),
		cmocka_unit_test(test_reserved_maxphyaddr),
		cmocka_unit_test(test_accessed_dirty),
		cmocka_unit_test(test_pwc_shortens_walks),
		cmocka_unit_test(test_check_stale_and_corrupt),
		cmocka_unit_test(test_check_xd_at_two_levels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
