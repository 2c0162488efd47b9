/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * goroscope's event ABI: the records the tracer's BPF programs (crates/bpf/src/bpf/tracer.bpf.c)
 * put in the ring buffer, the read-only configuration user space writes before load, and the
 * slots of the statistics map. This file is the one definition; crates/abi/src/lib.rs mirrors it
 * in Rust with the same sizes (checked at compile time on both sides, and by a test that reads
 * this file).
 *
 * Rules, because bpf_ringbuf_reserve() hands out memory that is not zeroed:
 *   - every event is fixed-size, a multiple of 8 bytes, and has no implicit padding: any gap is a
 *     named `_pad` field that the BPF side sets to 0;
 *   - every event starts with `struct gs_event_header`, whose `type` says which struct follows
 *     and whose `size` is the size of the whole event.
 * Integers are in the machine's byte order (little-endian: x86-64 is the only target).
 *
 * The includer must define __u8/__u16/__u32/__u64/__s32/__s64 first (vmlinux_subset.h does).
 */
#ifndef GOROSCOPE_ABI_H
#define GOROSCOPE_ABI_H

/* Bumped whenever a struct or enum below changes meaning or size. */
#define GS_ABI_VERSION 5

/* Event types: `gs_event_header.type`. 0 is never used, so zeroed memory is not an event. */
enum gs_event_type {
	GS_EV_GO_CREATE = 1,   /* struct gs_ev_go_create: runtime.newproc1 returned a new g */
	GS_EV_GO_STATUS = 2,   /* struct gs_ev_go_status: runtime.casgstatus(gp, old, new) */
	GS_EV_GO_START = 3,    /* struct gs_ev_go_start: runtime.execute(gp) on an M and P */
	GS_EV_GO_PARK = 4,     /* struct gs_ev_go_park: runtime.gopark(..., reason, ...) */
	GS_EV_GO_READY = 5,    /* struct gs_ev_go_ready: runtime.ready(gp), by the current g */
	GS_EV_GO_YIELD = 6,    /* struct gs_ev_go_yield: runtime.goschedImpl(gp[, preempted]) */
	GS_EV_GO_EXIT = 7,     /* struct gs_ev_go_exit: runtime.goexit1 on the exiting g */
	GS_EV_M_START = 8,     /* struct gs_ev_m: runtime.mstart1 on a new M's g0 */
	GS_EV_M_EXIT = 9,      /* struct gs_ev_m: runtime.mexit on the exiting M's g0 */
	GS_EV_THREAD_FORK = 10, /* struct gs_ev_thread_fork: sched_process_fork, a new thread */
	GS_EV_THREAD_EXIT = 11, /* struct gs_ev_thread_exit: sched_process_exit */
	GS_EV_SWITCH = 12,     /* struct gs_ev_switch: sched_switch */
	GS_EV_WAKEUP = 13,     /* struct gs_ev_wakeup: sched_wakeup / sched_wakeup_new */
	/* The scheduler's other decisions share struct gs_ev_sched; what its fields mean: */
	GS_EV_STEAL = 14,           /* runqsteal: p_id thief, p_id2 victim, value = victim's queue
				     * length, flags GS_SCHED_RUNNEXT if its runnext is set */
	GS_EV_PREEMPT_REQUEST = 15, /* preemptone: goid running on p_id; GS_SCHED_BY_SYSMON */
	GS_EV_ASYNC_PREEMPT = 16,   /* asyncPreempt2: goid stopped by a signal; value = its stack
				     * id (full level) or GS_STACK_NONE as u64 */
	GS_EV_PREEMPT_PARK = 17,    /* preemptPark: goid parked in _Gpreempted */
	GS_EV_SIGNAL_GENERATE = 18, /* struct gs_ev_signal: signal_generate to a traced thread */
	GS_EV_SIGNAL_DELIVER = 19,  /* struct gs_ev_signal: signal_deliver on a traced thread */
	GS_EV_SYSCALL_ENTER = 20,   /* reentersyscall/entersyscallblock: goid; GS_SCHED_BLOCKING */
	GS_EV_SYSCALL_EXIT = 21,    /* exitsyscall: goid; GS_SCHED_LOST_P */
	GS_EV_HANDOFF = 22,         /* handoffp: p_id; goid = caller's m.curg; GS_SCHED_CALLER_* */
	GS_EV_KSYSCALL = 23,        /* struct gs_ev_syscall: raw_syscalls sys_enter + sys_exit */
	GS_EV_LOCK_THREAD = 24,     /* LockOSThread: goid */
	GS_EV_UNLOCK_THREAD = 25,   /* UnlockOSThread (not inlined): goid */
	GS_EV_M_PARK = 26,          /* struct gs_ev_m: stopm, the M goes idle */
	GS_EV_PROCRESIZE = 27,      /* procresize: value = new GOMAXPROCS */
	GS_EV_STW_BEGIN = 28,       /* stopTheWorldWithSema entry: value = stwReason if
				     * GS_SCHED_REASON_KNOWN */
	GS_EV_STW_STOPPED = 29,     /* stopTheWorldWithSema returned (RET probe) */
	GS_EV_STW_END = 30,         /* startTheWorldWithSema returned (RET probe) */
	GS_EV_GC_START = 31,        /* gcStart: value = gcTrigger.kind */
	GS_EV_GO_SAMPLE = 32,       /* struct gs_ev_go_sample: the runtime's sampler, a tracked
				     * runnable->running transition (tracer_sample.bpf.h) */
	GS_EV__COUNT = 33,          /* one past the last type */
};

/*
 * Common header. `ts_ns` is bpf_ktime_get_ns() (CLOCK_MONOTONIC); `tgid`/`tid` are the current
 * task's process and thread ids (for sched_switch: the task switched out; for sched_wakeup: the
 * waker), `cpu` the CPU the event happened on.
 */
struct gs_event_header {
	__u64 ts_ns;
	__u32 tgid;
	__u32 tid;
	__u32 cpu;
	__u16 type; /* enum gs_event_type */
	__u16 size; /* sizeof the whole event, header included */
};

/* Sentinels for values a probe could not know. */
#define GS_GOID_NONE 0ULL        /* goid 0 is g0 / no goroutine: Go numbers goroutines from 1 */
#define GS_ID_UNKNOWN (-1)       /* M or P id not readable (or no P) */
#define GS_PREEMPTED_UNKNOWN 255 /* goschedImpl before Go 1.22 has no `preempted` argument */

struct gs_ev_go_create {
	struct gs_event_header h;
	__u64 goid;        /* the new goroutine */
	__u64 parent_goid; /* the goroutine that ran the `go` statement (0: the runtime on g0) */
	__u64 creation_pc; /* g.gopc: return address of the `go` statement's call to newproc */
	__u64 start_pc;    /* g.startpc: entry of the goroutine's function */
	__s64 m_id;        /* M the creating code ran on */
	__s32 p_id;        /* its P, whose runnext receives the new g */
	__u32 _pad;
};

struct gs_ev_go_status {
	struct gs_event_header h;
	__u64 goid;
	__u32 old_status; /* runtime _G* values, _Gscan bit included */
	__u32 new_status;
};

#define GS_START_INHERIT_TIME 1u /* execute(gp, inheritTime=true): taken from runnext */
#define GS_START_LOCKED 2u       /* gp.lockedm != 0: locked to its thread */

struct gs_ev_go_start {
	struct gs_event_header h;
	__u64 goid;
	__s64 m_id;
	__s32 p_id;
	__u32 flags; /* GS_START_* */
};

struct gs_ev_go_park {
	struct gs_event_header h;
	__u64 goid;
	__u32 wait_reason; /* the Go version's waitReason value (decoded with the inspection) */
	__s32 stack_id;    /* the parking goroutine's stack in the `stacks` map, GS_STACK_NONE */
};

/* Park stacks: frames per stack in the BPF stack-trace map, and "no stack" (not captured at
 * this level, or the kernel could not walk it). */
#define GS_STACK_DEPTH 32
#define GS_STACK_NONE (-1)

struct gs_ev_go_ready {
	struct gs_event_header h;
	__u64 goid;       /* the goroutine made runnable */
	__u64 waker_goid; /* the goroutine running on this M (0: the scheduler/runtime on g0) */
	__s32 p_id;       /* the P whose run queue receives it (this M's P) */
	__u32 next;       /* 1: into the runnext slot */
};

struct gs_ev_go_yield {
	struct gs_event_header h;
	__u64 goid;
	__u32 preempted; /* 1 preempted, 0 voluntary (Gosched), GS_PREEMPTED_UNKNOWN */
	__u32 _pad;
};

struct gs_ev_go_exit {
	struct gs_event_header h;
	__u64 goid;
	__u32 locked; /* 1: g.lockedm set, the runtime will destroy the thread */
	__u32 _pad;
};

/* GS_EV_M_START and GS_EV_M_EXIT. */
struct gs_ev_m {
	struct gs_event_header h;
	__s64 m_id;
	__u64 procid; /* m.procid: the thread id once minit ran (0 before) */
};

struct gs_ev_thread_fork {
	struct gs_event_header h;
	__u32 parent_tid;
	__u32 child_tid;
};

struct gs_ev_thread_exit {
	struct gs_event_header h;
	__u32 exit_tid;
	__u32 is_leader; /* the thread whose tid is the process id */
};

#define GS_SWITCH_PREEMPT 1u   /* `preempt` of the tracepoint: switched out involuntarily */
#define GS_SWITCH_PREV_OURS 2u /* the outgoing task belongs to a traced process */
#define GS_SWITCH_NEXT_OURS 4u /* the incoming task belongs to a traced process */

struct gs_ev_switch {
	struct gs_event_header h; /* tid/tgid: the outgoing task */
	__u32 prev_tid;
	__u32 prev_tgid;
	__u32 next_tid;
	__u32 next_tgid;
	__u32 prev_state; /* the tracepoint's prev_state: 0 (TASK_RUNNING) means still runnable */
	__u32 flags;      /* GS_SWITCH_* */
};

#define GS_WAKEUP_NEW 1u /* sched_wakeup_new: a newly created task's first wakeup */

struct gs_ev_wakeup {
	struct gs_event_header h; /* tid/tgid: the waker (current task) */
	__u32 woken_tid;
	__u32 woken_tgid;
	__s32 target_cpu; /* CPU the task was woken onto, -1 if unknown */
	__u32 flags;      /* GS_WAKEUP_* */
};

#define GS_SCHED_RUNNEXT 1u        /* STEAL: the victim's runnext slot was occupied */
#define GS_SCHED_BY_SYSMON 2u      /* PREEMPT_REQUEST: the requesting M holds no P (sysmon) */
#define GS_SCHED_BLOCKING 4u       /* SYSCALL_ENTER: entersyscallblock (P handed off at once) */
#define GS_SCHED_CALLER_HAS_P 8u   /* HANDOFF: the calling M holds a P (forEachP, STW) */
#define GS_SCHED_CALLER_LOCKED 16u /* HANDOFF: the calling M is locked to a g (stoplockedm) */
#define GS_SCHED_REASON_KNOWN 32u  /* STW_BEGIN: value is a stwReason (Go 1.21+) */
#define GS_SCHED_LOST_P 64u        /* SYSCALL_EXIT: the P was taken during the call */

/* The scheduler events listed after GS_EV_WAKEUP in enum gs_event_type. */
struct gs_ev_sched {
	struct gs_event_header h;
	__u64 goid;  /* the goroutine concerned (GS_GOID_NONE if none) */
	__u64 value; /* per type */
	__s32 p_id;  /* a P (GS_ID_UNKNOWN if none) */
	__s32 p_id2; /* a second P (STEAL: the victim) */
	__u32 flags; /* GS_SCHED_* */
	__u32 _pad;
};

struct gs_ev_syscall {
	struct gs_event_header h; /* ts_ns: the exit; tid: the calling thread */
	__s64 nr;          /* x86-64 syscall number */
	__s64 ret;         /* return value (negative errno on failure) */
	__u64 duration_ns; /* from sys_enter to sys_exit */
};

struct gs_ev_signal {
	struct gs_event_header h; /* tid: sender (generate) or handling thread (deliver) */
	__u32 sig;
	__u32 target_tid; /* generate: the thread signalled; deliver: the handling thread */
	__s32 result;     /* generate: the tracepoint's result (0 delivered, 1 ignored, ...) */
	__u32 _pad;
};

/*
 * A tracked runnable->running transition of the runtime's own 1-in-8 sampler (casgstatus, on
 * the call of sched.timeToRun.record): who waited, how long the runtime measured, where it had
 * stopped (frames from its saved gp.sched: pc, then the frame-pointer chain from sched.bp).
 */
#define GS_SAMPLE_DEPTH 16
#define GS_SAMPLE_FIRST_RUN 1u     /* gp.sched.pc == gp.startpc: its first run (a sampled creation) */
#define GS_SAMPLE_STACK_CUT 2u     /* the frame walk stopped at GS_SAMPLE_DEPTH */
#define GS_SAMPLE_LOCKED 4u        /* gp.lockedm != 0 */

struct gs_ev_go_sample {
	struct gs_event_header h; /* tid: the thread about to run it */
	__u64 goid;
	__u64 creation_pc;  /* g.gopc */
	__u64 start_pc;     /* g.startpc */
	__s64 runnable_ns;  /* g.runnableTime: the runtime's own measurement of the wait */
	__s64 m_id;         /* the M that runs it (g0.m) */
	__s32 p_id;         /* that M's P */
	__u32 wait_reason;  /* g.waitreason (stale after a preemption or yield: see the docs) */
	__u32 flags;        /* GS_SAMPLE_* */
	__u32 nframes;      /* valid entries of frames */
	__u64 frames[GS_SAMPLE_DEPTH];
};

/*
 * Statistics: a per-CPU array of __u64 with GS_STAT__COUNT slots. Slot GS_STAT_SUBMITTED + t
 * counts events of type t submitted, GS_STAT_RESERVE_FAILED + t those lost because the ring
 * buffer was full, GS_STAT_READ_FAILED + t those lost because user memory (a Go struct) could
 * not be read. Index with a type in [0, GS_STAT_STRIDE).
 */
#define GS_STAT_STRIDE 64
#define GS_STAT_SUBMITTED 0
#define GS_STAT_RESERVE_FAILED 64
#define GS_STAT_READ_FAILED 128
/* Kernel aggregates (GS_CFG_KERNEL_AGGREGATES): updates lost because their map was full. */
#define GS_STAT_KAGG_THREADS_FULL 192  /* a thread's entry could not be created in kagg_threads */
#define GS_STAT_KAGG_SYSCALLS_FULL 193 /* a syscall not counted: kagg_syscalls was full */
#define GS_STAT_SYSCALL_UNTRACKED 194 /* a syscall's entry had no task-storage slot: not timed */
#define GS_STAT__COUNT 195

/* Offsets a layout does not have (e.g. g.parentGoid before Go 1.21). */
#define GS_OFFSET_NONE 0xffffffffu

#define GS_CFG_YIELD_HAS_PREEMPTED 1u /* goschedImpl(gp, preempted) (Go 1.22+): read RBX */
#define GS_CFG_FOLLOW_UPROBE_HITS 2u  /* target_tgid 0: trace every process that hits a uprobe */
#define GS_CFG_STW_HAS_REASON 4u      /* stopTheWorldWithSema(reason) (Go 1.21+): read RAX */
#define GS_CFG_SYSCALL_KEEPS_P 8u     /* Go 1.26+: m.p stays set in a syscall (no _Psyscall) */
#define GS_CFG_PARK_STACKS 16u        /* capture the user stack at every gopark (full level) */
#define GS_CFG_KERNEL_AGGREGATES 32u  /* sched_switch/wakeup/sys_exit update the kagg_* maps */
#define GS_CFG_KERNEL_RECORDS 64u     /* ... and emit one record per switch, wakeup, syscall */

/* pt_regs registers a sampler probe may find gp in (gs_config.sample_gp_reg). */
#define GS_REG_RAX 0
#define GS_REG_RBX 1
#define GS_REG_RCX 2
#define GS_REG_RDX 3
#define GS_REG_RSI 4
#define GS_REG_RDI 5
#define GS_REG_R8 6
#define GS_REG_R9 7
#define GS_REG_R10 8
#define GS_REG_R11 9

/*
 * Read-only configuration (`const volatile struct gs_config cfg` in the BPF object), written by
 * user space before load from goinspect's Inspection. Field offsets are bytes into the Go
 * runtime structs named by the prefix (g_ = runtime.g, m_ = runtime.m, p_ = runtime.p).
 */
struct gs_config {
	__u32 target_tgid; /* the traced process; 0 with GS_CFG_FOLLOW_UPROBE_HITS */
	__u32 flags;       /* GS_CFG_* */
	__u32 go_minor;    /* 19 for go1.19.x, ... */
	__u32 wakeup_bytes; /* wake the reader once this much data is queued */
	__u32 g_goid;
	__u32 g_atomicstatus;
	__u32 g_waitreason;
	__u32 g_m;
	__u32 g_parent_goid; /* GS_OFFSET_NONE before Go 1.21 */
	__u32 g_gopc;
	__u32 g_startpc;
	__u32 m_g0;
	__u32 m_curg;
	__u32 m_id;
	__u32 m_procid;
	__u32 m_p;
	__u32 p_id;
	__u32 g_lockedm;
	__u32 m_lockedg;
	__u32 p_m;
	__u32 p_runqhead;
	__u32 p_runqtail;
	__u32 p_runnext;
	__u32 m_oldp;        /* GS_OFFSET_NONE if the layout lacks it */
	__u32 m_syscalltick; /* GS_OFFSET_NONE if the layout lacks it */
	__u32 p_status;
	__u32 p_syscalltick;
	__u32 g_sched_pc;      /* g.sched.pc: where a stopped goroutine resumes */
	__u32 g_sched_bp;      /* g.sched.bp: its frame pointer there */
	__u32 g_runnable_time; /* g.runnableTime, from the sampler's own instructions */
	__u32 sample_gp_reg;   /* GS_REG_*: the register holding gp at the sampler probe */
	__u32 _pad;
};

/*
 * Kernel-side aggregates: with GS_CFG_KERNEL_AGGREGATES the scheduler and syscall tracepoints
 * update two hash maps instead of (or, with GS_CFG_KERNEL_RECORDS too, beside) emitting records;
 * user space reads them about once a second and at the end (crates/bpf/src/tracer/kagg.rs).
 *
 * Histograms are log2 of nanoseconds: bucket 0 holds 0 and 1 ns, bucket i (1 <= i < last)
 * holds [2^i, 2^(i+1)) ns, the last bucket everything from 2^(GS_KAGG_BUCKETS-1) ns (550 s) up.
 */
#define GS_KAGG_BUCKETS 40

/* gs_kagg_thread.flags */
#define GS_KAGG_SCHED_INFO 1u /* run_delay and pcount are the kernel's (CONFIG_SCHED_INFO) */
#define GS_KAGG_DEAD 2u       /* the thread switched out for the last time (TASK_DEAD) */

/*
 * Value of `kagg_threads`, key: __u32 tid of the traced process. The kernel's own counters of
 * the task (exact, cumulative since the thread started) are copied from its task_struct when it
 * switches out and when user space runs the task iterator (gs_kagg_iter_task) before reading;
 * the runnable-wait histogram is measured here from sched_wakeup / preemption to sched_switch.
 */
struct gs_kagg_thread {
	__u64 read_ns;          /* bpf_ktime_get_ns() when the counters below were copied */
	__u64 sum_exec_runtime; /* task->se.sum_exec_runtime: ns on a CPU */
	__u64 run_delay;        /* task->sched_info.run_delay: ns runnable, waiting for a CPU */
	__u64 pcount;           /* task->sched_info.pcount: times it got a CPU */
	__u64 nvcsw;            /* task->nvcsw: voluntary context switches */
	__u64 nivcsw;           /* task->nivcsw: involuntary context switches */
	__u64 start_ns;         /* task->start_time (CLOCK_MONOTONIC) */
	__u64 exit_ns;          /* when it switched out dead (GS_KAGG_DEAD); 0 while it lives */
	__u64 flags;            /* GS_KAGG_* */
	__u64 runnable_ns;      /* BPF's own: when it became runnable (woken, preempted); 0: not */
	__u64 wait_count;       /* runnable -> on CPU waits measured */
	__u64 wait_sum_ns;
	__u64 wait_hist[GS_KAGG_BUCKETS];
	/*
	 * The system call the thread is in, copied from its task storage by the task iterator at
	 * each reading (in_syscall_since_ns 0: none). Kept here because a task-storage map cannot
	 * be walked from user space.
	 */
	__u64 in_syscall_since_ns;
	__s64 in_syscall_nr;
	__u8 comm[16];
};

/* Key of `kagg_syscalls`. */
struct gs_kagg_syscall_key {
	__u32 tid;
	__u32 nr; /* x86-64 syscall number */
};

/* Value of `kagg_syscalls`: system calls that returned, from sys_enter to sys_exit. */
struct gs_kagg_syscall {
	__u64 count;
	__u64 errors; /* returned a negative value (-errno) */
	__u64 sum_ns;
	__u64 hist[GS_KAGG_BUCKETS];
};

/*
 * Value of `syscalls_in_flight`, a task-storage map (one per thread, freed with it): the system
 * call a traced thread is in, what sys_exit needs from sys_enter (ts_ns 0: none). The task
 * iterator copies it into the thread's gs_kagg_thread for user space.
 */
struct gs_syscall_start {
	__u64 ts_ns; /* sys_enter */
	__s64 nr;    /* x86-64 syscall number */
};

#ifndef __cplusplus
#define GS_ASSERT_SIZE(type, n) _Static_assert(sizeof(type) == (n), #type " size is part of the ABI")
GS_ASSERT_SIZE(struct gs_event_header, 24);
GS_ASSERT_SIZE(struct gs_ev_go_create, 72);
GS_ASSERT_SIZE(struct gs_ev_go_status, 40);
GS_ASSERT_SIZE(struct gs_ev_go_start, 48);
GS_ASSERT_SIZE(struct gs_ev_go_park, 40);
GS_ASSERT_SIZE(struct gs_ev_go_ready, 48);
GS_ASSERT_SIZE(struct gs_ev_go_yield, 40);
GS_ASSERT_SIZE(struct gs_ev_go_exit, 40);
GS_ASSERT_SIZE(struct gs_ev_m, 40);
GS_ASSERT_SIZE(struct gs_ev_thread_fork, 32);
GS_ASSERT_SIZE(struct gs_ev_thread_exit, 32);
GS_ASSERT_SIZE(struct gs_ev_switch, 48);
GS_ASSERT_SIZE(struct gs_ev_wakeup, 40);
GS_ASSERT_SIZE(struct gs_ev_sched, 56);
GS_ASSERT_SIZE(struct gs_ev_syscall, 48);
GS_ASSERT_SIZE(struct gs_ev_signal, 40);
GS_ASSERT_SIZE(struct gs_ev_go_sample, 208);
GS_ASSERT_SIZE(struct gs_config, 128);
GS_ASSERT_SIZE(struct gs_kagg_thread, 448);
GS_ASSERT_SIZE(struct gs_kagg_syscall_key, 8);
GS_ASSERT_SIZE(struct gs_kagg_syscall, 344);
GS_ASSERT_SIZE(struct gs_syscall_start, 16);
#undef GS_ASSERT_SIZE
#endif

#endif /* GOROSCOPE_ABI_H */
