// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * goroscope's tracer: uprobes on the Go runtime and BTF tracepoints of the scheduler, each
 * turning one occurrence into a fixed-size record (crates/abi/include/goroscope.h) in one ring
 * buffer, or (tracer_kagg.bpf.h) updating kernel-side aggregates in maps.
 *
 * Uprobes sit after a function's stack-check prologue (user space adds goinspect's
 * safe_probe_offset), on its RET instructions, or on a CALL inside it (the callee's arguments are
 * then in their registers): return values come from the RET or CALL sites, never from return
 * probes, which crash Go programs when a stack is copied. Registers follow Go's ABIInternal on
 * amd64: arguments in RAX, RBX, RCX, ...; R14 is the running g, which is g0 in functions called
 * on the system stack (newproc1, execute, ready, mstart1, mexit).
 *
 * Filtering: cfg.target_tgid when set; otherwise (pid-less attach to a binary) every process
 * that hits one of our uprobes is added to `traced_tgids`, and the kernel tracepoints follow
 * those processes. Events are submitted without waking the reader, which polls on a timer, and
 * wake it only when cfg.wakeup_bytes are queued: a wakeup per event would make the reader's own
 * context switches dominate the trace. Every lost event is counted in `stats` by reason and type.
 */
#include "vmlinux_subset.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "goroscope.h"

/* include/uapi/linux/bpf.h: bpf_ringbuf_query() flag (not in vmlinux_subset.h). */
#define GS_RB_AVAIL_DATA 0

/* Written by user space before load (struct gs_config in goroscope.h). */
const volatile struct gs_config cfg = {};

/*
 * Set to 1 by user space (through the mmap-ed .bss) when the capture stops: from then on no
 * program emits an event, so the reader drains a finite ring buffer while the probes are
 * detached (each detach waits for an RCU grace period; this takes effect at once).
 */
volatile u32 gs_stopped = 0;

/*
 * Set to 1 by user space while the sample uprobe is paused (the tracer's sampler gate, which
 * detaches it above a rate limit): samples that still fire while the detach is under way are
 * dropped, so the recorded windows between the gate's events are exact.
 */
volatile u32 gs_sampler_paused = 0;

/* Bumped by gs_procresize: the sampler's cached P ids are stale (tracer_sample.bpf.h). */
volatile u64 p_id_cache_gen = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* user space may resize it before load */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GS_STAT__COUNT);
	__type(key, u32);
	__type(value, u64);
} stats SEC(".maps");

/* include/uapi/linux/bpf.h: bpf_get_stackid() flag (not in vmlinux_subset.h). */
#define GS_F_USER_STACK (1ULL << 8)

/*
 * User stacks of parking goroutines (full level), by id: user space reads them once at the end
 * of a recording. The kernel walks Go's frame pointers; identical stacks share one id.
 */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(u32));
	__uint(value_size, GS_STACK_DEPTH * sizeof(u64));
} stacks SEC(".maps");

/* Processes followed when cfg.target_tgid is 0 (value unused). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, u8);
} traced_tgids SEC(".maps");

/*
 * include/linux/sched.h, fields the shared vmlinux_subset.h lacks. The `___gs` flavour is
 * stripped by CO-RE, so this relocates against the kernel's struct task_struct.
 */
struct thread_info___gs {
	u32 cpu;
} __attribute__((preserve_access_index));

struct task_struct___gs {
	struct thread_info___gs thread_info;
} __attribute__((preserve_access_index));

static __always_inline void count(u32 base, u32 type)
{
	u32 slot = base + (type & (GS_STAT_STRIDE - 1));
	u64 *value = bpf_map_lookup_elem(&stats, &slot);

	if (value)
		*value += 1; /* per-CPU slot: no other CPU writes it */
}

static __always_inline bool tgid_traced(u32 tgid)
{
	if (cfg.target_tgid)
		return tgid == cfg.target_tgid;
	return bpf_map_lookup_elem(&traced_tgids, &tgid) != NULL;
}

/*
 * Uprobe filter: attachment already limits uprobes to the binary (and to one pid when given).
 * Without a target, the first hit of a process enrols it for the kernel tracepoints.
 */
static __always_inline bool uprobe_wanted(u32 tgid)
{
	if (cfg.target_tgid)
		return tgid == cfg.target_tgid;
	if ((cfg.flags & GS_CFG_FOLLOW_UPROBE_HITS) &&
	    !bpf_map_lookup_elem(&traced_tgids, &tgid)) {
		u8 one = 1;

		bpf_map_update_elem(&traced_tgids, &tgid, &one, BPF_NOEXIST);
	}
	return true;
}

/*
 * Reserves an event of `size` bytes and fills its header; NULL if the ring is full (counted) or
 * the capture has stopped.
 */
static __always_inline void *reserve(u32 type, u32 size)
{
	struct gs_event_header *h;
	u64 pid_tgid;

	if (gs_stopped)
		return NULL; /* not a loss: the capture is over */
	h = bpf_ringbuf_reserve(&events, size, 0);
	if (!h) {
		count(GS_STAT_RESERVE_FAILED, type);
		return NULL;
	}
	pid_tgid = bpf_get_current_pid_tgid();
	h->ts_ns = bpf_ktime_get_ns();
	h->tgid = pid_tgid >> 32;
	h->tid = (u32)pid_tgid;
	h->cpu = bpf_get_smp_processor_id();
	h->type = type;
	h->size = size;
	return h;
}

/*
 * Submits without a wakeup unless enough data waits for the reader. Asking the ring how much
 * waits reads the positions the reader writes, a cache line the CPUs pass around: only every
 * 16th event of a type on a CPU asks (the reader also polls every 50 ms, and the threshold is
 * far below the ring's size, so 15 more events never fill it).
 */
static __always_inline void submit(void *event, u32 type)
{
	u32 slot = GS_STAT_SUBMITTED + (type & (GS_STAT_STRIDE - 1));
	u64 *submitted = bpf_map_lookup_elem(&stats, &slot);
	u64 flags = BPF_RB_NO_WAKEUP;

	if ((!submitted || (*submitted & 15) == 0) &&
	    bpf_ringbuf_query(&events, GS_RB_AVAIL_DATA) >= cfg.wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(event, flags);
	if (submitted)
		*submitted += 1; /* per-CPU slot: no other CPU writes it */
}

/* Reads a u64 at `base + off` of the traced process; false (counted against `type`) if it can't. */
static __always_inline bool read_u64(u64 *out, u64 base, u32 off, u32 type)
{
	if (base && off != GS_OFFSET_NONE &&
	    bpf_probe_read_user(out, sizeof(*out), (void *)(base + off)) == 0)
		return true;
	count(GS_STAT_READ_FAILED, type);
	return false;
}

static __always_inline bool read_u32(u32 *out, u64 base, u32 off, u32 type)
{
	if (base && off != GS_OFFSET_NONE &&
	    bpf_probe_read_user(out, sizeof(*out), (void *)(base + off)) == 0)
		return true;
	count(GS_STAT_READ_FAILED, type);
	return false;
}

/* The M a g runs on (g.m); for g0 this is its own M. */
static __always_inline u64 m_of(u64 g, u32 type)
{
	u64 m = 0;

	read_u64(&m, g, cfg.g_m, type);
	return m;
}

/* The goid of the user goroutine running on M `m` (m.curg), or 0 if none (scheduler on g0). */
static __always_inline u64 curg_goid(u64 m, u32 type)
{
	u64 curg = 0, goid = GS_GOID_NONE;

	if (!read_u64(&curg, m, cfg.m_curg, type) || !curg)
		return GS_GOID_NONE;
	read_u64(&goid, curg, cfg.g_goid, type);
	return goid;
}

static __always_inline s64 m_id(u64 m, u32 type)
{
	s64 id = GS_ID_UNKNOWN;

	if (!read_u64((u64 *)&id, m, cfg.m_id, type))
		return GS_ID_UNKNOWN;
	return id;
}

/* The id of the P that M `m` holds (m.p), GS_ID_UNKNOWN if none or unreadable. */
static __always_inline s32 p_id_of_m(u64 m, u32 type)
{
	u64 p = 0;
	s32 id = GS_ID_UNKNOWN;

	if (read_u64(&p, m, cfg.m_p, type) && p)
		read_u32((u32 *)&id, p, cfg.p_id, type);
	return id;
}

/* The goid of g, GS_GOID_NONE if unreadable (counted). */
static __always_inline u64 goid_of(u64 g, u32 type)
{
	u64 goid = GS_GOID_NONE;

	read_u64(&goid, g, cfg.g_goid, type);
	return goid;
}

/* Whether g is locked to its thread (g.lockedm != 0). */
static __always_inline bool g_locked(u64 g, u32 type)
{
	u64 lockedm = 0;

	read_u64(&lockedm, g, cfg.g_lockedm, type);
	return lockedm != 0;
}

/* GS_EV_GO_YIELD: the goroutine `g` yields, `preempted` as in struct gs_ev_go_yield. */
static __always_inline int emit_yield(u64 g, u32 preempted)
{
	const u32 type = GS_EV_GO_YIELD;
	struct gs_ev_go_yield *e;
	u64 goid;

	if (!read_u64(&goid, g, cfg.g_goid, type))
		return 0;
	e = reserve(type, sizeof(*e));
	if (!e)
		return 0;
	e->goid = goid;
	e->preempted = preempted;
	e->_pad = 0;
	submit(e, type);
	return 0;
}

/* A goroutine `newg` was just made by newproc1; R14 = g0 of the creating M. */
static __always_inline int emit_go_create(struct pt_regs *ctx, u64 newg)
{
	const u32 type = GS_EV_GO_CREATE;
	u64 m, goid, parent = GS_GOID_NONE, gopc = 0, startpc = 0;
	struct gs_ev_go_create *e;
	s32 pid;

	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (!read_u64(&goid, newg, cfg.g_goid, type))
		return 0;
	read_u64(&gopc, newg, cfg.g_gopc, type);
	read_u64(&startpc, newg, cfg.g_startpc, type);
	m = m_of(ctx->r14, type);
	/* newg.parentGoid (1.21+) is exact; before, the caller is the M's current goroutine. */
	if (cfg.g_parent_goid != GS_OFFSET_NONE)
		read_u64(&parent, newg, cfg.g_parent_goid, type);
	else
		parent = curg_goid(m, type);
	pid = p_id_of_m(m, type);

	e = reserve(type, sizeof(*e));
	if (!e)
		return 0;
	e->goid = goid;
	e->parent_goid = parent;
	e->creation_pc = gopc;
	e->start_pc = startpc;
	e->m_id = m_id(m, type);
	e->p_id = pid;
	e->_pad = 0;
	submit(e, type);
	return 0;
}

/*
 * In runtime.newproc.func1 (the go statement's systemstack closure), at its CALL of
 * runqput(pp=RAX, newg=RBX, next=RCX): newproc1 has just returned newg. The kernel emulates the
 * CALL, so this costs about as little as an entry probe.
 */
SEC("uprobe.multi")
int gs_newproc_runqput(struct pt_regs *ctx)
{
	return emit_go_create(ctx, ctx->bx);
}

/* Fallback when that CALL is not found: runtime.newproc1, at each RET, RAX = the new g. */
SEC("uprobe.multi")
int gs_newproc1_ret(struct pt_regs *ctx)
{
	return emit_go_create(ctx, ctx->ax);
}

/* runtime.casgstatus(gp=RAX, oldval=RBX, newval=RCX). */
SEC("uprobe.multi")
int gs_casgstatus(struct pt_regs *ctx)
{
	const u32 type = GS_EV_GO_STATUS;
	struct gs_ev_go_status *e;
	u64 goid;

	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (!read_u64(&goid, ctx->ax, cfg.g_goid, type))
		return 0;
	e = reserve(type, sizeof(*e));
	if (!e)
		return 0;
	e->goid = goid;
	e->old_status = (u32)ctx->bx;
	e->new_status = (u32)ctx->cx;
	submit(e, type);
	return 0;
}

/* runtime.execute(gp=RAX, inheritTime=RBX), on g0: the M is g0.m, the P is m.p. */
SEC("uprobe.multi")
int gs_execute(struct pt_regs *ctx)
{
	const u32 type = GS_EV_GO_START;
	struct gs_ev_go_start *e;
	u64 gp = ctx->ax, goid, m;
	u32 flags = 0;
	s32 pid;

	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (!read_u64(&goid, gp, cfg.g_goid, type))
		return 0;
	m = m_of(ctx->r14, type);
	pid = p_id_of_m(m, type);
	if ((u8)ctx->bx)
		flags |= GS_START_INHERIT_TIME;
	if (g_locked(gp, type))
		flags |= GS_START_LOCKED;

	e = reserve(type, sizeof(*e));
	if (!e)
		return 0;
	e->goid = goid;
	e->m_id = m_id(m, type);
	e->p_id = pid;
	e->flags = flags;
	submit(e, type);
	return 0;
}

/*
 * runtime.gopark(unlockf=RAX, lock=RBX, reason=RCX, ...), on the parking g (R14), whose stack
 * is the current one: at the full level its user stack is captured too (the probe sits before
 * gopark's own `push rbp`, so the walk starts from gopark's caller's frame: that caller's own
 * frame is skipped, its caller is the second entry).
 */
SEC("uprobe.multi")
int gs_gopark(struct pt_regs *ctx)
{
	const u32 type = GS_EV_GO_PARK;
	struct gs_ev_go_park *e;
	s32 stack_id = GS_STACK_NONE;
	u64 goid;

	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (!read_u64(&goid, ctx->r14, cfg.g_goid, type))
		return 0;
	if (cfg.flags & GS_CFG_PARK_STACKS) {
		long id = bpf_get_stackid(ctx, &stacks, GS_F_USER_STACK);

		stack_id = id < 0 ? GS_STACK_NONE : (s32)id;
	}
	e = reserve(type, sizeof(*e));
	if (!e)
		return 0;
	e->goid = goid;
	e->wait_reason = (u8)ctx->cx;
	e->stack_id = stack_id;
	submit(e, type);
	return 0;
}

/* runtime.ready(gp=RAX, traceskip=RBX, next=RCX): usually on g0 (goready's systemstack). */
SEC("uprobe.multi")
int gs_ready(struct pt_regs *ctx)
{
	const u32 type = GS_EV_GO_READY;
	struct gs_ev_go_ready *e;
	u64 goid, waker, m;
	s32 pid;

	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (!read_u64(&goid, ctx->ax, cfg.g_goid, type))
		return 0;
	/* R14 may be g0 or the user g: m.curg is the user goroutine either way. */
	m = m_of(ctx->r14, type);
	waker = curg_goid(m, type);
	pid = p_id_of_m(m, type);

	e = reserve(type, sizeof(*e));
	if (!e)
		return 0;
	e->goid = goid;
	e->waker_goid = waker;
	e->p_id = pid;
	e->next = (u8)ctx->cx ? 1 : 0;
	submit(e, type);
	return 0;
}

/* runtime.goschedImpl(gp=RAX[, preempted=RBX from Go 1.22]), on g0. */
SEC("uprobe.multi")
int gs_gosched(struct pt_regs *ctx)
{
	u32 preempted = GS_PREEMPTED_UNKNOWN;

	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (cfg.flags & GS_CFG_YIELD_HAS_PREEMPTED)
		preempted = (u8)ctx->bx ? 1 : 0;
	return emit_yield(ctx->ax, preempted);
}

/* Before Go 1.22 goschedImpl does not say why it runs: probe its two callers instead. */
/* runtime.gosched_m(gp=RAX): runtime.Gosched, a voluntary yield. */
SEC("uprobe.multi")
int gs_gosched_m(struct pt_regs *ctx)
{
	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	return emit_yield(ctx->ax, 0);
}

/* runtime.gopreempt_m(gp=RAX): the goroutine was preempted (Go 1.19-1.21 only). */
SEC("uprobe.multi")
int gs_gopreempt_m(struct pt_regs *ctx)
{
	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	return emit_yield(ctx->ax, 1);
}

/* runtime.goexit1(), on the exiting goroutine's own stack (R14 = that g). */
SEC("uprobe.multi")
int gs_goexit1(struct pt_regs *ctx)
{
	const u32 type = GS_EV_GO_EXIT;
	struct gs_ev_go_exit *e;
	bool locked;
	u64 goid;

	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (!read_u64(&goid, ctx->r14, cfg.g_goid, type))
		return 0;
	locked = g_locked(ctx->r14, type);
	e = reserve(type, sizeof(*e));
	if (!e)
		return 0;
	e->goid = goid;
	e->locked = locked;
	e->_pad = 0;
	submit(e, type);
	return 0;
}

static __always_inline int emit_m(struct pt_regs *ctx, u32 type)
{
	struct gs_ev_m *e;
	u64 m, procid = 0;

	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	m = m_of(ctx->r14, type); /* R14 = g0 of this M */
	if (!m)
		return 0;
	read_u64(&procid, m, cfg.m_procid, type);
	e = reserve(type, sizeof(*e));
	if (!e)
		return 0;
	e->m_id = m_id(m, type);
	e->procid = procid;
	submit(e, type);
	return 0;
}

/* runtime.mstart1(), on a new M's g0. */
SEC("uprobe.multi")
int gs_mstart1(struct pt_regs *ctx)
{
	return emit_m(ctx, GS_EV_M_START);
}

/* runtime.mexit(osStack=RAX), on the exiting M's g0. */
SEC("uprobe.multi")
int gs_mexit(struct pt_regs *ctx)
{
	return emit_m(ctx, GS_EV_M_EXIT);
}

/* runtime.stopm(), on g0: this M has no work and sleeps until startm wakes it. */
SEC("uprobe.multi")
int gs_stopm(struct pt_regs *ctx)
{
	return emit_m(ctx, GS_EV_M_PARK);
}

#include "tracer_kagg.bpf.h"

SEC("tp_btf/sched_switch")
int BPF_PROG(gs_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	const u32 type = GS_EV_SWITCH;
	struct gs_ev_switch *e;
	u32 flags = 0;

	if (tgid_traced(prev->tgid))
		flags |= GS_SWITCH_PREV_OURS;
	if (tgid_traced(next->tgid))
		flags |= GS_SWITCH_NEXT_OURS;
	if (!flags)
		return 0;
	/* Before anything can return: sys_exit relies on the move (see syscall_on_cpu). */
	if (flags & GS_SWITCH_PREV_OURS)
		kagg_park_syscall(prev);
	if (kagg_on())
		kagg_switch(prev, next, prev_state, flags & GS_SWITCH_PREV_OURS,
			    flags & GS_SWITCH_NEXT_OURS);
	if (!kernel_records_on())
		return 0;
	if (preempt)
		flags |= GS_SWITCH_PREEMPT;
	e = reserve(type, sizeof(*e));
	if (!e)
		return 0;
	e->prev_tid = prev->pid;
	e->prev_tgid = prev->tgid;
	e->next_tid = next->pid;
	e->next_tgid = next->tgid;
	e->prev_state = prev_state;
	e->flags = flags;
	submit(e, type);
	return 0;
}

static __always_inline int emit_wakeup(struct task_struct *p, u32 flags)
{
	const u32 type = GS_EV_WAKEUP;
	struct task_struct___gs *t = (void *)p;
	struct gs_ev_wakeup *e;

	if (!tgid_traced(p->tgid))
		return 0;
	if (kagg_on())
		kagg_wakeup(p);
	if (!kernel_records_on())
		return 0;
	e = reserve(type, sizeof(*e));
	if (!e)
		return 0;
	e->woken_tid = p->pid;
	e->woken_tgid = p->tgid;
	e->target_cpu = -1;
	if (bpf_core_field_exists(t->thread_info.cpu))
		e->target_cpu = BPF_CORE_READ(t, thread_info.cpu);
	e->flags = flags;
	submit(e, type);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(gs_sched_wakeup, struct task_struct *p)
{
	return emit_wakeup(p, 0);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(gs_sched_wakeup_new, struct task_struct *p)
{
	return emit_wakeup(p, GS_WAKEUP_NEW);
}

/* A new task; only threads of a traced process (the child shares its tgid) are reported. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(gs_sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	const u32 type = GS_EV_THREAD_FORK;
	struct gs_ev_thread_fork *e;

	if (child->pid == child->tgid || !tgid_traced(child->tgid))
		return 0;
	e = reserve(type, sizeof(*e));
	if (!e)
		return 0;
	e->parent_tid = parent->pid;
	e->child_tid = child->pid;
	submit(e, type);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(gs_sched_process_exit, struct task_struct *p)
{
	const u32 type = GS_EV_THREAD_EXIT;
	struct gs_ev_thread_exit *e;

	if (!tgid_traced(p->tgid))
		return 0;
	e = reserve(type, sizeof(*e));
	if (!e)
		return 0;
	e->exit_tid = p->pid;
	e->is_leader = p->pid == p->tgid;
	submit(e, type);
	return 0;
}

struct kernel_siginfo;
struct k_sigaction;
#include "tracer_sched.bpf.h"
#include "tracer_sample.bpf.h"

/* GPL-compatible: tracing programs and GPL-only helpers require it. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";
