/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The scheduler's decisions beyond the goroutine lifecycle: work stealing, preemption, signals,
 * syscalls and P hand-offs, LockOSThread, idle Ms, GOMAXPROCS, stop-the-world and GC starts.
 * Included once, at the end of tracer.bpf.c (it uses that file's maps and helpers); a separate
 * file only to keep each one readable. The events are `struct gs_ev_sched` unless noted, with
 * the meaning of each field per type listed in goroscope.h.
 *
 * Cost: all but the kernel syscall pair are entry probes on functions that run at most once per
 * scheduling decision (most far less often); the two RET probes (stop/start the world) fire per
 * STW. The raw_syscalls pair fires on every system call of the traced process and is attached
 * only when user space asks for syscalls; with kernel aggregates on, sys_exit adds each call to
 * kagg_syscalls (tracer_kagg.bpf.h), and emits a record only with GS_CFG_KERNEL_RECORDS.
 */

static __always_inline int emit_sched(u32 type, u64 goid, u64 value, s32 p_id, s32 p_id2,
				      u32 flags)
{
	struct gs_ev_sched *e = reserve(type, sizeof(*e));

	if (!e)
		return 0;
	e->goid = goid;
	e->value = value;
	e->p_id = p_id;
	e->p_id2 = p_id2;
	e->flags = flags;
	e->_pad = 0;
	submit(e, type);
	return 0;
}

static __always_inline s32 p_id_of(u64 p, u32 type)
{
	s32 id = GS_ID_UNKNOWN;

	if (p)
		read_u32((u32 *)&id, p, cfg.p_id, type);
	return id;
}

/*
 * runtime.runqsteal(pp=RAX thief, p2=RBX victim, stealRunNextG=RCX), on the thief's g0. Fires for
 * every non-idle P a spinning M looks at, so only attempts that find work are reported: the
 * victim's queue length (runqtail - runqhead, read together) and whether runnext is set. The
 * thief then takes half the queue, rounded up (runqgrab).
 */
SEC("uprobe.multi")
int gs_runqsteal(struct pt_regs *ctx)
{
	const u32 type = GS_EV_STEAL;
	u64 victim = ctx->bx, runnext = 0;
	u32 head = 0, tail = 0, flags = 0;

	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (!read_u32(&head, victim, cfg.p_runqhead, type) ||
	    !read_u32(&tail, victim, cfg.p_runqtail, type))
		return 0;
	if ((u8)ctx->cx && read_u64(&runnext, victim, cfg.p_runnext, type) && runnext)
		flags |= GS_SCHED_RUNNEXT;
	if (tail == head && !flags)
		return 0;
	return emit_sched(type, GS_GOID_NONE, (u32)(tail - head), p_id_of(ctx->ax, type),
			  p_id_of(victim, type), flags);
}

/*
 * runtime.preemptone(pp=RAX): asks the goroutine running on pp (pp.m.curg) to stop. sysmon's
 * retake calls it without holding a P; preemptall (STW, GC) with one.
 */
SEC("uprobe.multi")
int gs_preemptone(struct pt_regs *ctx)
{
	const u32 type = GS_EV_PREEMPT_REQUEST;
	u64 pp = ctx->ax, victim_m = 0, caller_p = 0, goid = GS_GOID_NONE;
	u32 flags = 0;

	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (read_u64(&victim_m, pp, cfg.p_m, type) && victim_m)
		goid = curg_goid(victim_m, type);
	if (read_u64(&caller_p, m_of(ctx->r14, type), cfg.m_p, type) && !caller_p)
		flags |= GS_SCHED_BY_SYSMON;
	return emit_sched(type, goid, 0, p_id_of(pp, type), GS_ID_UNKNOWN, flags);
}

/*
 * runtime.asyncPreempt2(), reached from the SIGURG handler's injected call; R14 = the user g,
 * on its own stack: at the full level `value` is the id of that stack in `stacks` (asyncPreempt
 * saved the registers and kept the frame pointers, so the walk reaches the preempted code).
 */
SEC("uprobe.multi")
int gs_async_preempt2(struct pt_regs *ctx)
{
	u64 stack = (u64)(s64)GS_STACK_NONE;

	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (cfg.flags & GS_CFG_PARK_STACKS) {
		long id = bpf_get_stackid(ctx, &stacks, GS_F_USER_STACK);

		if (id >= 0)
			stack = (u64)id;
	}
	return emit_sched(GS_EV_ASYNC_PREEMPT, goid_of(ctx->r14, GS_EV_ASYNC_PREEMPT), stack,
			  GS_ID_UNKNOWN, GS_ID_UNKNOWN, 0);
}

/* runtime.preemptPark(gp=RAX), on g0 (an mcall target): gp parks in _Gpreempted. */
SEC("uprobe.multi")
int gs_preempt_park(struct pt_regs *ctx)
{
	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	return emit_sched(GS_EV_PREEMPT_PARK, goid_of(ctx->ax, GS_EV_PREEMPT_PARK), 0,
			  GS_ID_UNKNOWN, GS_ID_UNKNOWN, 0);
}

/* Syscall entry: runtime.reentersyscall / entersyscallblock run on the user g (R14). */
static __always_inline int emit_syscall_enter(struct pt_regs *ctx, u32 flags)
{
	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	return emit_sched(GS_EV_SYSCALL_ENTER, goid_of(ctx->r14, GS_EV_SYSCALL_ENTER), 0,
			  GS_ID_UNKNOWN, GS_ID_UNKNOWN, flags);
}

SEC("uprobe.multi")
int gs_reentersyscall(struct pt_regs *ctx)
{
	return emit_syscall_enter(ctx, 0);
}

SEC("uprobe.multi")
int gs_entersyscallblock(struct pt_regs *ctx)
{
	return emit_syscall_enter(ctx, GS_SCHED_BLOCKING);
}

/* _Psyscall: the status a P keeps while its goroutine is in a syscall (up to Go 1.25). */
#define GS_P_SYSCALL 2

/*
 * runtime.exitsyscall(), on the user g (R14), before it tries to get its P back: was the P
 * taken during the call? The runtime's own test (and its tracer's "lostP"): the P is gone, or
 * its syscalltick moved since entersyscall copied it to m.syscalltick (whoever takes a P bumps
 * it, so a P taken and put back into a syscall by another M still counts). Up to Go 1.25 the P
 * waits in m.oldp with status _Psyscall; from Go 1.26 it stays in m.p and a taker clears it.
 */
SEC("uprobe.multi")
int gs_exitsyscall(struct pt_regs *ctx)
{
	const u32 type = GS_EV_SYSCALL_EXIT;
	u32 status = GS_P_SYSCALL, flags = 0, m_tick = 0, p_tick = 0;
	u64 m, p = 0;
	bool have_p;

	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	m = m_of(ctx->r14, type);
	if (cfg.flags & GS_CFG_SYSCALL_KEEPS_P) {
		have_p = read_u64(&p, m, cfg.m_p, type);
	} else {
		have_p = read_u64(&p, m, cfg.m_oldp, type);
		if (have_p && p)
			read_u32(&status, p, cfg.p_status, type);
	}
	if (have_p) {
		if (!p || status != GS_P_SYSCALL)
			flags |= GS_SCHED_LOST_P;
		else if (cfg.m_syscalltick != GS_OFFSET_NONE &&
			 read_u32(&m_tick, m, cfg.m_syscalltick, type) &&
			 read_u32(&p_tick, p, cfg.p_syscalltick, type) && m_tick != p_tick)
			flags |= GS_SCHED_LOST_P;
	}
	return emit_sched(type, goid_of(ctx->r14, type), 0, GS_ID_UNKNOWN, GS_ID_UNKNOWN, flags);
}

/*
 * runtime.handoffp(pp=RAX): who calls it tells why. sysmon's retake (P taken from a thread stuck
 * in a syscall): no curg, no P, not locked. entersyscallblock: curg is the g in the syscall.
 * stoplockedm: the M is locked to a g. forEachP (GC/STW): the caller holds a P.
 */
SEC("uprobe.multi")
int gs_handoffp(struct pt_regs *ctx)
{
	const u32 type = GS_EV_HANDOFF;
	u64 m, caller_p = 0, lockedg = 0;
	u32 flags = 0;

	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	m = m_of(ctx->r14, type);
	if (read_u64(&caller_p, m, cfg.m_p, type) && caller_p)
		flags |= GS_SCHED_CALLER_HAS_P;
	if (read_u64(&lockedg, m, cfg.m_lockedg, type) && lockedg)
		flags |= GS_SCHED_CALLER_LOCKED;
	return emit_sched(type, curg_goid(m, type), 0, p_id_of(ctx->ax, type), GS_ID_UNKNOWN,
			  flags);
}

/* runtime.LockOSThread() / UnlockOSThread(), on the calling g (R14). */
SEC("uprobe.multi")
int gs_lock_os_thread(struct pt_regs *ctx)
{
	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	return emit_sched(GS_EV_LOCK_THREAD, goid_of(ctx->r14, GS_EV_LOCK_THREAD), 0,
			  GS_ID_UNKNOWN, GS_ID_UNKNOWN, 0);
}

SEC("uprobe.multi")
int gs_unlock_os_thread(struct pt_regs *ctx)
{
	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	return emit_sched(GS_EV_UNLOCK_THREAD, goid_of(ctx->r14, GS_EV_UNLOCK_THREAD), 0,
			  GS_ID_UNKNOWN, GS_ID_UNKNOWN, 0);
}

/* runtime.procresize(nprocs=RAX): the new GOMAXPROCS (start-up, then every change). */
SEC("uprobe.multi")
int gs_procresize(struct pt_regs *ctx)
{
	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	/* Ps beyond the new count are destroyed: forget the sampler's P ids (the world is stopped). */
	__sync_fetch_and_add(&p_id_cache_gen, 1);
	return emit_sched(GS_EV_PROCRESIZE, GS_GOID_NONE, (u64)(s64)(s32)ctx->ax, GS_ID_UNKNOWN,
			  GS_ID_UNKNOWN, 0);
}

/* runtime.stopTheWorldWithSema([reason=RAX from Go 1.21]): a stop-the-world begins. */
SEC("uprobe.multi")
int gs_stw_begin(struct pt_regs *ctx)
{
	u64 reason = 0;
	u32 flags = 0;

	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (cfg.flags & GS_CFG_STW_HAS_REASON) {
		reason = (u8)ctx->ax;
		flags |= GS_SCHED_REASON_KNOWN;
	}
	return emit_sched(GS_EV_STW_BEGIN, GS_GOID_NONE, reason, GS_ID_UNKNOWN, GS_ID_UNKNOWN,
			  flags);
}

/* Each RET of stopTheWorldWithSema: every P is stopped. */
SEC("uprobe.multi")
int gs_stw_stopped(struct pt_regs *ctx)
{
	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	return emit_sched(GS_EV_STW_STOPPED, GS_GOID_NONE, 0, GS_ID_UNKNOWN, GS_ID_UNKNOWN, 0);
}

/* Each RET of startTheWorldWithSema: the world runs again. */
SEC("uprobe.multi")
int gs_stw_end(struct pt_regs *ctx)
{
	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	return emit_sched(GS_EV_STW_END, GS_GOID_NONE, 0, GS_ID_UNKNOWN, GS_ID_UNKNOWN, 0);
}

/* runtime.gcStart(trigger gcTrigger): RAX = trigger.kind (heap 0, time 1, cycle 2). */
SEC("uprobe.multi")
int gs_gc_start(struct pt_regs *ctx)
{
	if (!uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	return emit_sched(GS_EV_GC_START, GS_GOID_NONE, ctx->ax, GS_ID_UNKNOWN, GS_ID_UNKNOWN, 0);
}

/* Signals to and in the traced process: SIGURG is how Go preempts asynchronously. */
SEC("tp_btf/signal_generate")
int BPF_PROG(gs_signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	const u32 type = GS_EV_SIGNAL_GENERATE;
	struct gs_ev_signal *e;

	if (!tgid_traced(task->tgid))
		return 0;
	e = reserve(type, sizeof(*e));
	if (!e)
		return 0;
	e->sig = sig;
	e->target_tid = task->pid;
	e->result = result;
	e->_pad = 0;
	submit(e, type);
	return 0;
}

SEC("tp_btf/signal_deliver")
int BPF_PROG(gs_signal_deliver, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
	const u32 type = GS_EV_SIGNAL_DELIVER;
	u64 pid_tgid = bpf_get_current_pid_tgid();
	struct gs_ev_signal *e;

	if (!tgid_traced(pid_tgid >> 32))
		return 0;
	e = reserve(type, sizeof(*e));
	if (!e)
		return 0;
	e->sig = sig;
	e->target_tid = (u32)pid_tgid;
	e->result = 0;
	e->_pad = 0;
	submit(e, type);
	return 0;
}

/* syscall_on_cpu and syscalls_in_flight: tracer_kagg.bpf.h (its task iterator reads them too). */

SEC("tp_btf/sys_enter")
int BPF_PROG(gs_sys_enter, struct pt_regs *regs, long id)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	struct gs_syscall_on_cpu *slot;

	if (!tgid_traced(pid_tgid >> 32))
		return 0;
	slot = syscall_slot();
	if (!slot)
		return 0;
	slot->tid = (u32)pid_tgid;
	slot->nr = id;
	slot->ts_ns = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(gs_sys_exit, struct pt_regs *regs, long ret)
{
	const u32 type = GS_EV_KSYSCALL;
	u64 pid_tgid = bpf_get_current_pid_tgid();
	struct gs_syscall_on_cpu *slot;
	struct gs_syscall_start *start;
	struct gs_ev_syscall *e;
	u64 started;
	s64 nr;

	if (!tgid_traced(pid_tgid >> 32))
		return 0;
	slot = syscall_slot();
	if (slot && slot->ts_ns && slot->tid == (u32)pid_tgid) {
		/* Returned on the CPU it entered on, without switching out: the common case. */
		started = slot->ts_ns;
		nr = slot->nr;
		slot->ts_ns = 0;
	} else {
		/* It switched out meanwhile (kagg_park_syscall moved it). */
		start = bpf_task_storage_get(&syscalls_in_flight, bpf_get_current_task_btf(), 0, 0);
		if (!start || !start->ts_ns)
			return 0; /* entered before we attached, or its slot could not be created */
		started = start->ts_ns;
		nr = start->nr;
		start->ts_ns = 0;
	}
	if (kagg_on())
		kagg_syscall((u32)pid_tgid, nr, ret, bpf_ktime_get_ns() - started);
	if (!kernel_records_on())
		return 0;
	e = reserve(type, sizeof(*e));
	if (!e)
		return 0;
	e->nr = nr;
	e->ret = ret;
	e->duration_ns = e->h.ts_ns - started;
	submit(e, type);
	return 0;
}
