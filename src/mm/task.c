/* SPDX-License-Identifier: MIT */
/*
 * Tasks (task.h): the life of a task and its mm, and the CPUs' view of them.
 *
 * A new task's layout is what x86-64 Linux's arch_pick_mmap_layout() picks
 * at exec: mmap_base = TASK_SIZE - gap - rnd, where the gap is RLIMIT_STACK
 * plus the stack's random range and stack_guard_gap, clamped to
 * [128 MiB, 5/6 of TASK_SIZE], and rnd is 28 random bits of pages; the
 * legacy (bottom-up) base is TASK_SIZE / 3 + rnd. The randomness comes from
 * the machine's PRNG, so a seed reproduces every layout; with
 * kernel.randomize_va_space 0 there is none.
 *
 * Switching a CPU to a task follows switch_mm_irqs_off() and
 * choose_new_asid(): six dynamic ASIDs per CPU, reused while the CPU still
 * holds the mm's context id, flushed when the mm's tlb_gen moved on.
 */
#include "mm/task.h"

#include <inttypes.h>
#include <string.h>

#include <vmm/errors.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "lib/compiler.h"
#include "machine.h"
#include "mm/mmap.h"
#include "mm/pgtable.h"
#include "mm/vma.h"
#include "sim/cpu.h"

/* Sizes of Linux 6.x's structures on x86-64, as slabinfo shows them. */
#define TASK_STRUCT_SIZE 5952u
#define MM_STRUCT_SIZE 1600u
#define VM_AREA_STRUCT_SIZE 192u
#define ANON_VMA_SIZE 104u
#define ANON_VMA_CHAIN_SIZE 64u

static const struct {
	const char *name;
	size_t size;
	size_t offset;
} task_caches[] = {
	{ "task_struct", TASK_STRUCT_SIZE, offsetof(struct vmm_tasks, task_cache) },
	{ "mm_struct", MM_STRUCT_SIZE, offsetof(struct vmm_tasks, mm_cache) },
	{ "vm_area_struct", VM_AREA_STRUCT_SIZE, offsetof(struct vmm_tasks, vma_cache) },
	{ "anon_vma", ANON_VMA_SIZE, offsetof(struct vmm_tasks, anon_vma_cache) },
	{ "anon_vma_chain", ANON_VMA_CHAIN_SIZE, offsetof(struct vmm_tasks, avc_cache) },
};

static struct vmm_kmem_cache **cache_slot(struct vmm_tasks *ts, size_t i)
{
	return (struct vmm_kmem_cache **)(void *)((char *)ts + task_caches[i].offset);
}

int vmm_tasks_init(struct vmm_machine *m)
{
	struct vmm_tasks *ts = &m->tasks;

	vmm_list_init(&ts->list);
	vmm_mm_sysctl_init(&ts->sysctl);
	ts->next_ctx_id = 1;
	ts->tlbstate = vmm_hcalloc(&m->hm, m->nr_cpus, sizeof(*ts->tlbstate));
	return ts->tlbstate ? 0 : -VMM_ENOMEM;
}

/*
 * The caches of this layer, made when the first task is: Linux makes them at
 * boot (proc_caches_init()), but a machine that never runs a task keeps the
 * slab state of the layers below exactly as they left it.
 */
static int tasks_caches_init(struct vmm_machine *m)
{
	struct vmm_tasks *ts = &m->tasks;

	for (size_t i = 0; i < ARRAY_SIZE(task_caches); i++) {
		int err;

		if (*cache_slot(ts, i))
			continue;
		err = vmm_kmem_cache_create(m, task_caches[i].name, task_caches[i].size, 0,
					    VMM_SLAB_HWCACHE_ALIGN, NULL, cache_slot(ts, i));
		if (err)
			return err;
	}
	return 0;
}

static void mm_release(struct vmm_machine *m, struct vmm_mm *mm);

void vmm_tasks_destroy(struct vmm_machine *m)
{
	struct vmm_tasks *ts = &m->tasks;

	if (!ts->list.next)
		return;
	while (!vmm_list_empty(&ts->list)) {
		vmm_task *t = vmm_list_entry(ts->list.next, struct vmm_task, node);

		vmm_task_destroy(&t);
	}
	for (size_t i = ARRAY_SIZE(task_caches); i-- > 0;) {
		vmm_kmem_cache_destroy(*cache_slot(ts, i));
		*cache_slot(ts, i) = NULL;
	}
	if (ts->tlbstate)
		vmm_hfree(&m->hm, ts->tlbstate, m->nr_cpus * sizeof(*ts->tlbstate));
	ts->tlbstate = NULL;
}

/* ---- the layout exec picks ---- */

static uint64_t random_pages(struct vmm_machine *m, unsigned bits)
{
	if (!m->tasks.sysctl.randomize_va_space)
		return 0;
	return (vmm_prng_next(&m->prng) & ((1ull << bits) - 1)) << PAGE_SHIFT;
}

/* arch_pick_mmap_layout() with mmap_base() */
static void pick_mmap_layout(struct vmm_mm *mm, const struct vmm_rlimit *stack)
{
	struct vmm_machine *m = mm->m;
	uint64_t task_size = DEFAULT_MAP_WINDOW, rnd = random_pages(m, MMAP_RND_BITS);
	uint64_t gap = stack->rlim_cur, pad = STACK_GUARD_GAP_PAGES * PAGE_SIZE;
	uint64_t gap_max = (task_size / 6) * 5;

	if (m->tasks.sysctl.randomize_va_space)
		pad += STACK_RND_MASK << PAGE_SHIFT;
	if (gap + pad > gap)
		gap += pad;
	gap = VMM_CLAMP(gap, SIZE_128M, gap_max);
	mm->mmap_base = PAGE_ALIGN(task_size - gap - rnd);
	mm->mmap_legacy_base = PAGE_ALIGN(task_size / 3) + rnd;
}

static struct vmm_mm *mm_alloc(struct vmm_machine *m)
{
	struct vmm_mm *mm = vmm_hzalloc(&m->hm, sizeof(*mm));

	if (!mm)
		return NULL;
	mm->m = m;
	mm->shadow = vmm_kmem_cache_alloc(m->tasks.mm_cache, VMM_GFP_KERNEL | VMM_GFP_ZERO);
	if (!mm->shadow || vmm_pgd_alloc(m, &mm->pgd)) {
		if (mm->shadow)
			vmm_kmem_cache_free(m->tasks.mm_cache, mm->shadow);
		vmm_hfree(&m->hm, mm, sizeof(*mm));
		return NULL;
	}
	mm->pgtables_bytes = PAGE_SIZE;
	mm->task_size = m->cfg.paging_levels == 5 ? TASK_SIZE_MAX_5L : TASK_SIZE_MAX_4L;
	mm->ctx_id = m->tasks.next_ctx_id++;
	mm->users = 1;
	return mm;
}

int vmm_mm_set_brk_base(struct vmm_mm *mm, uint64_t addr)
{
	if ((addr & ~PAGE_MASK) || addr >= mm->task_size || mm->brk != mm->start_brk)
		return -VMM_EINVAL;
	mm->start_brk = mm->brk = addr;
	mm->start_data = mm->end_data = addr;
	return 0;
}

static struct vmm_task *task_alloc(struct vmm_machine *m, const char *comm)
{
	struct vmm_task *t = vmm_hzalloc(&m->hm, sizeof(*t));

	if (!t)
		return NULL;
	t->shadow = vmm_kmem_cache_alloc(m->tasks.task_cache, VMM_GFP_KERNEL);
	if (!t->shadow) {
		vmm_hfree(&m->hm, t, sizeof(*t));
		return NULL;
	}
	t->m = m;
	snprintf(t->comm, sizeof(t->comm), "%s", comm);
	return t;
}

static void task_free(struct vmm_task *t)
{
	struct vmm_machine *m = t->m;

	vmm_kmem_cache_free(m->tasks.task_cache, t->shadow);
	vmm_hfree(&m->hm, t, sizeof(*t));
}

static void task_publish(struct vmm_machine *m, struct vmm_task *t)
{
	t->pid = ++m->tasks.last_pid;
	vmm_list_add_tail(&t->node, &m->tasks.list);
}

static bool comm_valid(const char *comm)
{
	if (!comm || !*comm)
		return false;
	for (const char *c = comm; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			return false;
	return true;
}

static void default_rlimits(struct vmm_task *t)
{
	for (unsigned r = 0; r < NR_TASK_RLIMITS; r++)
		t->rlim[r] = (struct vmm_rlimit){ VMM_RLIM_INFINITY, VMM_RLIM_INFINITY };
	t->rlim[VMM_RLIMIT_STACK] = (struct vmm_rlimit){ 8ull << 20, VMM_RLIM_INFINITY };
	t->rlim[VMM_RLIMIT_MEMLOCK] = (struct vmm_rlimit){ 8ull << 20, 8ull << 20 };
}

int vmm_task_create(vmm_machine *m, const char *comm, vmm_task **out)
{
	struct vmm_task *t;

	if (out)
		*out = NULL;
	if (!m || !out || !comm_valid(comm) || !m->tasks.tlbstate) {
		if (m)
			vmm_caller_err(&m->log, "%s: bad argument", __func__);
		return -VMM_EINVAL;
	}
	if (tasks_caches_init(m))
		return -VMM_ENOMEM;
	t = task_alloc(m, comm);
	if (!t)
		return -VMM_ENOMEM;
	t->mm = mm_alloc(m);
	if (!t->mm) {
		task_free(t);
		return -VMM_ENOMEM;
	}
	default_rlimits(t);
	pick_mmap_layout(t->mm, &t->rlim[VMM_RLIMIT_STACK]);
	/* arch_randomize_brk(): up to 32 MiB above the program's end */
	vmm_mm_set_brk_base(t->mm, DEFAULT_START_BRK +
				   (m->tasks.sysctl.randomize_va_space > 1
					    ? vmm_prng_below(&m->prng, BRK_RND_MAX >> PAGE_SHIFT) << PAGE_SHIFT
					    : 0));
	task_publish(m, t);
	*out = t;
	return 0;
}

/* ---- exit ---- */

/* Every CPU that has @mm loaded goes back to init_mm. */
static void mm_unload(struct vmm_machine *m, struct vmm_mm *mm)
{
	for (unsigned c = 0; c < m->nr_cpus; c++)
		if (m->tasks.tlbstate[c].loaded_mm == mm)
			vmm_cpu_switch_to(&m->mmu.cpus[c], NULL);
}

/* exit_mmap() and mmdrop(): unmap everything, free the tables, the mm. */
static void mm_release(struct vmm_machine *m, struct vmm_mm *mm)
{
	mm_unload(m, mm);
	while (mm->mmap) {
		struct vmm_vma *v = mm->mmap;

		vmm_zap_range(mm, v, v->vm_start, v->vm_end);
		if (v->vm_flags & VMM_VM_ACCOUNT)
			vmm_vm_unacct_memory(m, vma_pages(v));
		vma_unlink(mm, v);
		vma_free(v);
	}
	vmm_free_user_tables(mm);
	vmm_kmem_cache_free(m->tasks.mm_cache, mm->shadow);
	vmm_hfree(&m->hm, mm, sizeof(*mm));
}

int vmm_task_exit(vmm_task *t)
{
	if (!t)
		return -VMM_EINVAL;
	if (t->exited)
		return -VMM_ENOENT;
	for (unsigned c = 0; c < t->m->nr_cpus; c++)
		if (t->m->tasks.tlbstate[c].current == t)
			t->m->tasks.tlbstate[c].current = NULL;
	if (t->mm && --t->mm->users == 0)
		mm_release(t->m, t->mm);
	t->mm = NULL;
	t->exited = true;
	return 0;
}

void vmm_task_destroy(vmm_task **tp)
{
	struct vmm_task *t;

	if (!tp || !*tp)
		return;
	t = *tp;
	if (!t->exited)
		vmm_task_exit(t);
	vmm_list_del(&t->node);
	task_free(t);
	*tp = NULL;
}

/* ---- fork ---- */

/* dup_mmap(): copy every VMA (but VM_DONTCOPY ones) and its page tables. */
static int dup_mmap(struct vmm_mm *mm, struct vmm_mm *old)
{
	int err = 0;

	mm->mmap_base = old->mmap_base;
	mm->mmap_legacy_base = old->mmap_legacy_base;
	mm->start_brk = old->start_brk;
	mm->brk = old->brk;
	mm->start_stack = old->start_stack;
	mm->start_code = old->start_code;
	mm->end_code = old->end_code;
	mm->start_data = old->start_data;
	mm->end_data = old->end_data;
	mm->total_vm = old->total_vm;
	mm->data_vm = old->data_vm;
	mm->exec_vm = old->exec_vm;
	mm->stack_vm = old->stack_vm;
	mm->def_flags = old->def_flags;
	for (struct vmm_vma *v = old->mmap; v; v = v->vm_next) {
		struct vmm_vma *n;

		if (v->vm_flags & VMM_VM_DONTCOPY) {
			vmm_vm_stat_account(mm, v->vm_flags, -(int64_t)vma_pages(v));
			continue;
		}
		if (v->vm_flags & VMM_VM_ACCOUNT) {
			/* security_vm_enough_memory_mm() for the copy */
			mm->m->tasks.vm_committed_as += (int64_t)vma_pages(v);
			mm->committed += vma_pages(v);
		}
		n = vma_dup_into(mm, v);
		if (!n)
			return -VMM_ENOMEM;
		n->vm_flags &= ~VM_LOCKED_MASK;
		vma_link(mm, n);
		err = vmm_anon_vma_fork(n, v);
		if (!err)
			err = vmm_copy_page_range(mm, n, old, v);
		if (err)
			return err;
	}
	return 0;
}

int vmm_task_fork(vmm_task *parent, vmm_task **out)
{
	struct vmm_machine *m;
	struct vmm_task *t;
	int err;

	if (out)
		*out = NULL;
	if (!parent || !out || !parent->mm)
		return -VMM_EINVAL;
	m = parent->m;
	t = task_alloc(m, parent->comm);
	if (!t)
		return -VMM_ENOMEM;
	memcpy(t->rlim, parent->rlim, sizeof(t->rlim));
	t->sp = parent->sp;	/* the child returns from fork() on the same stack */
	t->mm = mm_alloc(m);
	if (!t->mm) {
		task_free(t);
		return -VMM_ENOMEM;
	}
	err = dup_mmap(t->mm, parent->mm);
	/* the parent's PTEs lost their write bit: flush them everywhere */
	vmm_flush_tlb_mm_range(parent->mm, 0, parent->mm->task_size);
	if (err) {
		mm_release(m, t->mm);
		task_free(t);
		return err;
	}
	task_publish(m, t);
	*out = t;
	return 0;
}

int vmm_task_pid(const vmm_task *t)
{
	return t ? t->pid : -VMM_EINVAL;
}

const char *vmm_task_comm(const vmm_task *t)
{
	return t ? t->comm : NULL;
}

vmm_machine *vmm_task_machine(const vmm_task *t)
{
	return t ? t->m : NULL;
}

static bool rlimit_known(unsigned r)
{
	return r == VMM_RLIMIT_DATA || r == VMM_RLIMIT_STACK || r == VMM_RLIMIT_MEMLOCK ||
	       r == VMM_RLIMIT_AS;
}

int vmm_task_getrlimit(const vmm_task *t, unsigned resource, struct vmm_rlimit *out)
{
	if (!t || !out || !rlimit_known(resource))
		return -VMM_EINVAL;
	*out = t->rlim[resource];
	return 0;
}

int vmm_task_setrlimit(vmm_task *t, unsigned resource, const struct vmm_rlimit *lim)
{
	if (!t || !lim || !rlimit_known(resource) || lim->rlim_cur > lim->rlim_max) {
		if (t)
			vmm_caller_err(&t->m->log, "%s: bad argument", __func__);
		return -VMM_EINVAL;
	}
	t->rlim[resource] = *lim;
	return 0;
}

static void vma_info(const struct vmm_vma *v, struct vmm_vma_info *out)
{
	const struct vmm_mm *mm = v->vm_mm;

	memset(out, 0, sizeof(*out));
	out->start = v->vm_start;
	out->end = v->vm_end;
	out->pgoff = v->vm_pgoff;
	out->vm_flags = v->vm_flags;
	out->file = v->ino ? NULL : v->vm_file;	/* a shmem object is no file of the caller's */
	out->anon = v->anon_vma != NULL;
	if (v->special_name || v->ino)
		snprintf(out->name, sizeof(out->name), "%s",
			 v->ino ? "/dev/zero (deleted)" : v->special_name);
	else if (v->vm_start <= mm->brk && v->vm_end >= mm->start_brk && !v->vm_file)
		snprintf(out->name, sizeof(out->name), "[heap]");
	else if (mm->start_stack && v->vm_start <= mm->start_stack && v->vm_end >= mm->start_stack)
		snprintf(out->name, sizeof(out->name), "[stack]");
}

int vmm_find_vma(vmm_task *t, vmm_vaddr_t addr, struct vmm_vma_info *out)
{
	struct vmm_vma *v;

	if (!t || !t->mm || !out)
		return -VMM_EINVAL;
	v = vmm_vma_find(t->mm, addr);
	if (!v)
		return -VMM_ENOENT;
	vma_info(v, out);
	return 0;
}

int vmm_find_vma_prev(vmm_task *t, vmm_vaddr_t addr, struct vmm_vma_info *out,
		      struct vmm_vma_info *prev)
{
	struct vmm_vma *v, *p;

	if (!t || !t->mm || !out || !prev)
		return -VMM_EINVAL;
	v = vmm_vma_find_prev(t->mm, addr, &p);
	memset(prev, 0, sizeof(*prev));
	if (p)
		vma_info(p, prev);
	if (!v)
		return -VMM_ENOENT;
	vma_info(v, out);
	return 0;
}

int vmm_find_vma_intersection(vmm_task *t, vmm_vaddr_t start, vmm_vaddr_t end,
			      struct vmm_vma_info *out)
{
	struct vmm_vma *v;

	if (!t || !t->mm || !out || end < start)
		return -VMM_EINVAL;
	v = vmm_vma_find_intersection(t->mm, start, end);
	if (!v)
		return -VMM_ENOENT;
	vma_info(v, out);
	return 0;
}

int vmm_task_mm_info(const vmm_task *t, struct vmm_mm_info *out)
{
	const struct vmm_mm *mm;

	if (!t || !out)
		return -VMM_EINVAL;
	if (!t->mm)
		return -VMM_ENOENT;
	mm = t->mm;
	memset(out, 0, sizeof(*out));
	out->mmap_base = mm->mmap_base;
	out->task_size = mm->task_size;
	out->start_brk = mm->start_brk;
	out->brk = mm->brk;
	out->start_stack = mm->start_stack;
	out->map_count = mm->map_count;
	out->total_vm = mm->total_vm;
	out->locked_vm = mm->locked_vm;
	out->data_vm = mm->data_vm;
	out->exec_vm = mm->exec_vm;
	out->stack_vm = mm->stack_vm;
	out->rss_file = (uint64_t)(mm->rss_stat[MM_FILEPAGES] + mm->rss_stat[MM_SHMEMPAGES]);
	out->rss_anon = (uint64_t)mm->rss_stat[MM_ANONPAGES];
	out->rss_swap = (uint64_t)mm->rss_stat[MM_SWAPENTS];
	out->pgtables_bytes = mm->pgtables_bytes;
	out->committed_pages = mm->committed;
	return 0;
}

/* ---- CPUs running tasks ---- */

static void cpumask_set(struct vmm_mm *mm, unsigned c, bool on)
{
	if (on)
		mm->cpumask[c / 64] |= 1ull << (c % 64);
	else
		mm->cpumask[c / 64] &= ~(1ull << (c % 64));
}

/*
 * choose_new_asid(): the ASID slot the CPU keeps for @mm, and whether its
 * entries must go (the mm's tlb_gen moved on since the CPU last flushed it).
 */
static unsigned choose_asid(struct vmm_tlb_state *ts, const struct vmm_mm *mm, bool *flush)
{
	for (unsigned a = 0; a < TLB_NR_DYN_ASIDS; a++) {
		if (ts->ctxs[a].ctx_id != mm->ctx_id)
			continue;
		*flush = ts->ctxs[a].tlb_gen < mm->tlb_gen;
		return a;
	}
	*flush = true;
	if (ts->next_asid >= TLB_NR_DYN_ASIDS)
		ts->next_asid = 0;
	return ts->next_asid++;
}

int vmm_cpu_switch_to(vmm_cpu *cpu, vmm_task *t)
{
	struct vmm_machine *m;
	struct vmm_tlb_state *ts;
	struct vmm_mm *mm;
	uint64_t ctx_id, gen, cr3;
	bool pcid, flush;
	unsigned asid;

	if (!cpu)
		return -VMM_EINVAL;
	m = cpu->m;
	if (t && (t->m != m || !t->mm)) {
		vmm_caller_err(&m->log, "%s: task from another machine, or exited", __func__);
		return -VMM_EINVAL;
	}
	ts = &m->tasks.tlbstate[cpu->id];
	mm = t ? t->mm : NULL;
	ts->current = t;
	if (ts->loaded_mm == mm && (mm || cpu->regs.cr3 == m->init_mm.pgd_pa ||
				   (cpu->regs.cr3 & VMM_PTE_ADDR_MASK) == m->init_mm.pgd_pa))
		return 0;
	if (ts->loaded_mm)
		cpumask_set(ts->loaded_mm, cpu->id, false);
	ctx_id = mm ? mm->ctx_id : 0;
	gen = mm ? mm->tlb_gen : 0;
	pcid = (cpu->regs.cr4 & VMM_CR4_PCIDE) != 0;
	if (pcid) {
		struct vmm_mm probe = { .ctx_id = ctx_id, .tlb_gen = gen };

		asid = choose_asid(ts, &probe, &flush);
		ts->ctxs[asid].ctx_id = ctx_id;
		ts->ctxs[asid].tlb_gen = gen;
		/* kern_pcid(): PCID = ASID + 1, so PCID 0 stays for code running before this */
		cr3 = (mm ? mm->pgd : m->init_mm.pgd_pa) | (asid + 1) | (flush ? 0 : VMM_CR3_NOFLUSH);
	} else {
		asid = 0;
		cr3 = mm ? mm->pgd : m->init_mm.pgd_pa;
	}
	ts->loaded_asid = asid;
	ts->loaded_mm = mm;
	if (mm)
		cpumask_set(mm, cpu->id, true);
	return vmm_cpu_set_reg(cpu, VMM_REG_CR3, cr3);
}

vmm_task *vmm_cpu_current_task(const vmm_cpu *cpu)
{
	return cpu ? cpu->m->tasks.tlbstate[cpu->id].current : NULL;
}

/* ---- checking ---- */

static long mm_check(struct vmm_mm *mm, FILE *out)
{
	uint64_t total = 0, locked = 0;
	long problems = vmm_vma_tree_check(mm, out);

	for (struct vmm_vma *v = mm->mmap; v; v = v->vm_next) {
		total += vma_pages(v);
		if (v->vm_flags & VMM_VM_LOCKED)
			locked += vma_pages(v);
	}
	if (total != mm->total_vm || locked != mm->locked_vm) {
		fprintf(out, "mm %p: VMAs span %" PRIu64 " pages (%" PRIu64 " locked), total_vm %"
			     PRIu64 ", locked_vm %" PRIu64 "\n",
			(void *)mm, total, locked, mm->total_vm, mm->locked_vm);
		problems++;
	}
	if (mm->map_count > mm->m->tasks.sysctl.max_map_count + 1) {
		fprintf(out, "mm %p: map_count %" PRIu64 " above max_map_count\n", (void *)mm,
			mm->map_count);
		problems++;
	}
	return problems + vmm_pgtable_check(mm, out) + vmm_pgd_check_kernel(mm->m, mm->pgd, out);
}

long vmm_tasks_check(struct vmm_machine *m, FILE *out)
{
	struct pfn_tally tally = { 0 };
	struct vmm_list *pos;
	long problems = 0;

	if (!m->tasks.list.next)
		return 0;
	vmm_list_for_each(pos, &m->tasks.list) {
		struct vmm_task *t = vmm_list_entry(pos, struct vmm_task, node);

		if (t->mm) {
			problems += mm_check(t->mm, out);
			vmm_pgtable_tally(t->mm, &tally);
		}
	}
	return problems + vmm_pgtable_check_tally(m, &tally, out);
}

unsigned vmm_anon_vma_chain_len(struct vmm_task *t, uint64_t addr)
{
	struct vmm_vma *v = t->mm ? vmm_vma_find(t->mm, addr) : NULL;

	return v && v->vm_start <= addr ? v->nr_avc : 0;
}

static void digest_mm(struct vmm_mm *mm, XXH3_state_t *st)
{
	uint64_t f[] = { mm->map_count, mm->mmap_base, mm->mmap_legacy_base, mm->start_brk, mm->brk,
			 mm->start_stack, mm->total_vm, mm->locked_vm, mm->data_vm, mm->exec_vm,
			 mm->stack_vm, mm->pgtables_bytes, mm->committed, mm->def_flags, mm->ctx_id,
			 mm->tlb_gen, mm->pgd };

	XXH3_64bits_update(st, f, sizeof(f));
	XXH3_64bits_update(st, mm->rss_stat, sizeof(mm->rss_stat));
	for (const struct vmm_vma *v = mm->mmap; v; v = v->vm_next) {
		uint64_t w[8] = { v->vm_start, v->vm_end, v->vm_pgoff, v->vm_flags, v->ino,
				  v->anon_vma ? v->anon_vma->id : 0, v->nr_avc, v->node.prio };

		XXH3_64bits_update(st, w, sizeof(w));
	}
	vmm_pgtable_digest(mm, st);
}

void vmm_tasks_digest(const struct vmm_machine *m, XXH3_state_t *st)
{
	const struct vmm_tasks *ts = &m->tasks;
	const struct vmm_list *pos;
	int64_t g[4] = { ts->last_pid, (int64_t)ts->next_ctx_id, (int64_t)ts->next_anon_vma_id,
			 ts->vm_committed_as };

	if (!ts->list.next)
		return;
	XXH3_64bits_update(st, g, sizeof(g));
	XXH3_64bits_update(st, &ts->sysctl, sizeof(ts->sysctl));
	for (pos = ts->list.next; pos != &ts->list; pos = pos->next) {
		const struct vmm_task *t = vmm_list_entry(pos, struct vmm_task, node);
		int64_t h[2] = { t->pid, t->exited };

		XXH3_64bits_update(st, h, sizeof(h));
		XXH3_64bits_update(st, t->comm, sizeof(t->comm));
		XXH3_64bits_update(st, t->rlim, sizeof(t->rlim));
		XXH3_64bits_update(st, &t->flt, sizeof(t->flt));
		XXH3_64bits_update(st, &t->sp, sizeof(t->sp));
		if (t->mm)
			digest_mm(t->mm, st);
	}
	for (unsigned c = 0; c < m->nr_cpus; c++) {
		const struct vmm_tlb_state *tl = &ts->tlbstate[c];
		uint64_t h[3] = { tl->loaded_mm ? tl->loaded_mm->ctx_id : 0, tl->loaded_asid,
				  tl->next_asid };

		XXH3_64bits_update(st, h, sizeof(h));
		XXH3_64bits_update(st, tl->ctxs, sizeof(tl->ctxs));
	}
}
