/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Kernel-side aggregates (cfg.flags & GS_CFG_KERNEL_AGGREGATES): per thread of the traced
 * process, its time on and off a CPU, its switches and its kernel run-queue waits; per thread and
 * system call number, count, time and a log2 latency histogram. The scheduler and syscall
 * tracepoints update two hash maps (struct gs_kagg_thread, struct gs_kagg_syscall in goroscope.h)
 * instead of putting one record per occurrence in the ring buffer; user space reads the maps
 * about once a second and at the end (crates/bpf/src/tracer/kagg.rs).
 *
 * Exact beats re-derived: on-CPU time, switch counts and the total run-queue delay are the
 * kernel's own counters (task->se.sum_exec_runtime, nvcsw, nivcsw, sched_info.run_delay and
 * pcount, what /proc/PID/task/TID/{status,schedstat} show), copied when the thread switches out
 * and, for every live thread, by the task iterator gs_kagg_iter_task that user space runs just
 * before each reading. Only the run-queue wait histogram is measured here: from sched_wakeup (or
 * an involuntary switch-out) to the next switch-in, as the kernel's sched_info counts run_delay.
 *
 * Bounded: both maps have a fixed size and preallocate; an update that finds its map full is
 * counted (GS_STAT_KAGG_*_FULL), never lost silently. Included from tracer.bpf.c after its helpers.
 */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096); /* user space shrinks it to 1 when aggregates are off */
	__type(key, u32);
	__type(value, struct gs_kagg_thread);
} kagg_threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct gs_kagg_syscall_key);
	__type(value, struct gs_kagg_syscall);
} kagg_syscalls SEC(".maps");

/*
 * The call a traced thread is in, in two places (gs_sys_enter and gs_sys_exit in
 * tracer_sched.bpf.h run on every system call of the machine once attached, so each nanosecond
 * there counts):
 * - syscall_on_cpu, per CPU: where sys_enter puts it. Most calls return on the CPU they entered
 *   without switching out, and sys_exit finds them there: a per-CPU array lookup (~10 ns) is
 *   the cheapest state BPF has, cheaper than task storage (~50 ns here) or a hash.
 * - syscalls_in_flight, task storage (one slot per thread, freed with it): where a call moves
 *   when its thread switches out in the middle of it (kagg_park_syscall, from sched_switch:
 *   it blocked or was preempted), since another thread may then enter a call on that CPU. No
 *   other thread can run on the CPU before that switch-out, so the per-CPU slot is never
 *   overwritten while its call is still on the CPU.
 */
struct gs_syscall_on_cpu {
	u32 tid;
	u32 _pad;
	s64 nr;
	u64 ts_ns; /* 0: empty */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct gs_syscall_on_cpu);
} syscall_on_cpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct gs_syscall_start);
} syscalls_in_flight SEC(".maps");

/* This CPU's slot (always there: a one-entry per-CPU array). */
static __always_inline struct gs_syscall_on_cpu *syscall_slot(void)
{
	u32 zero = 0;

	return bpf_map_lookup_elem(&syscall_on_cpu, &zero);
}

/*
 * sched_switch: our thread `prev` leaves this CPU; if it is inside a system call (still in
 * this CPU's slot), the call moves to the thread's task storage, where sys_exit looks when the
 * CPU's slot does not hold its call. Counted if its storage cannot be created.
 */
static __always_inline void kagg_park_syscall(struct task_struct *prev)
{
	struct gs_syscall_on_cpu *slot = syscall_slot();
	struct gs_syscall_start *start;

	if (!slot || !slot->ts_ns || slot->tid != (u32)prev->pid)
		return;
	start = bpf_task_storage_get(&syscalls_in_flight, prev, 0,
				     BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (start) {
		start->nr = slot->nr;
		start->ts_ns = slot->ts_ns;
	} else {
		count(GS_STAT_SYSCALL_UNTRACKED, 0);
	}
	slot->ts_ns = 0;
}

/* What new entries start from (a 448-byte struct does not fit the BPF stack next to others). */
const struct gs_kagg_thread kagg_zero_thread = {};
const struct gs_kagg_syscall kagg_zero_syscall = {};

/* include/linux/sched.h: TASK_DEAD in task->__state, the last switch-out of a thread. */
#define GS_TASK_DEAD 0x80

/* include/linux/sched.h and sched/types.h, the fields read here (CO-RE: names only). */
struct sched_entity___kagg {
	u64 sum_exec_runtime;
} __attribute__((preserve_access_index));

struct sched_info___kagg {
	unsigned long pcount;
	unsigned long long run_delay;
} __attribute__((preserve_access_index));

struct task_struct___kagg {
	int pid;
	int tgid;
	struct sched_entity___kagg se;
	struct sched_info___kagg sched_info;
	unsigned long nvcsw;
	unsigned long nivcsw;
	u64 start_time;
	char comm[16];
} __attribute__((preserve_access_index));

static __always_inline bool kagg_on(void)
{
	return cfg.flags & GS_CFG_KERNEL_AGGREGATES;
}

static __always_inline bool kernel_records_on(void)
{
	return cfg.flags & GS_CFG_KERNEL_RECORDS;
}

/* floor(log2(v)), 0 for 0, capped at the last bucket. */
static __always_inline u32 kagg_bucket(u64 v)
{
	u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1)
		r += 1;
	return r < GS_KAGG_BUCKETS ? r : GS_KAGG_BUCKETS - 1;
}

/* The entry of thread `tid`, created if missing; NULL (counted) if the map is full. */
static __always_inline struct gs_kagg_thread *kagg_thread(u32 tid)
{
	struct gs_kagg_thread *t = bpf_map_lookup_elem(&kagg_threads, &tid);

	if (t)
		return t;
	/* BPF_NOEXIST: another CPU may have created it meanwhile; either way look it up again. */
	bpf_map_update_elem(&kagg_threads, &tid, &kagg_zero_thread, BPF_NOEXIST);
	t = bpf_map_lookup_elem(&kagg_threads, &tid);
	if (!t)
		count(GS_STAT_KAGG_THREADS_FULL, 0);
	return t;
}

/*
 * Copies the kernel's own counters of `task` into its entry, as of `now`; its name too when
 * first seen or `name` (the iterator and the last switch-out: a launched target's main thread
 * is first seen before its exec renames it).
 */
static __always_inline void kagg_copy_counters(struct gs_kagg_thread *t, void *task, u64 now,
					       bool name)
{
	struct task_struct___kagg *k = task;

	/* Plain loads: `task` is a trusted BTF pointer (tp_btf, iter/task), CO-RE relocates them. */
	t->sum_exec_runtime = k->se.sum_exec_runtime;
	t->nvcsw = k->nvcsw;
	t->nivcsw = k->nivcsw;
	if (bpf_core_field_exists(k->sched_info)) {
		t->run_delay = k->sched_info.run_delay;
		t->pcount = k->sched_info.pcount;
		t->flags |= GS_KAGG_SCHED_INFO;
	}
	if (!t->start_ns)
		t->start_ns = k->start_time;
	if (name || !t->comm[0])
		BPF_CORE_READ_STR_INTO(&t->comm, k, comm);
	t->read_ns = now;
}

/* The runnable wait that ends now, into the thread's histogram. */
static __always_inline void kagg_wait_ends(struct gs_kagg_thread *t, u64 now)
{
	u64 since = t->runnable_ns;
	u32 b;

	if (!since || now < since)
		return;
	t->runnable_ns = 0;
	b = kagg_bucket(now - since);
	__sync_fetch_and_add(&t->wait_count, 1);
	__sync_fetch_and_add(&t->wait_sum_ns, now - since);
	if (b < GS_KAGG_BUCKETS)
		__sync_fetch_and_add(&t->wait_hist[b], 1);
}

/*
 * sched_switch: `prev` leaves the CPU (ours when prev_ours), `next` gets it. A prev still
 * runnable (prev_state TASK_RUNNING: what the kernel's sched_info counts as queued) starts
 * waiting for a CPU again; one that sleeps does not, and a stale wake-up stamp (woken while it
 * was still on its way out) is dropped. Without the run queue's lock a wake-up racing with that
 * switch-out can lose its stamp: the histogram then misses that wait (the exact total is the
 * kernel's run_delay).
 */
static __always_inline void kagg_switch(struct task_struct *prev, struct task_struct *next,
					unsigned int prev_state, bool prev_ours, bool next_ours)
{
	struct gs_kagg_thread *t;
	u64 now = bpf_ktime_get_ns();

	if (prev_ours) {
		t = kagg_thread(prev->pid);
		if (t) {
			kagg_copy_counters(t, prev, now, prev_state & GS_TASK_DEAD);
			t->runnable_ns = prev_state == 0 ? now : 0;
			if (prev_state & GS_TASK_DEAD) {
				t->exit_ns = now;
				t->flags |= GS_KAGG_DEAD;
			}
		}
	}
	if (next_ours) {
		t = kagg_thread(next->pid);
		if (t)
			kagg_wait_ends(t, now);
	}
}

/* sched_wakeup / sched_wakeup_new of one of our threads: it waits for a CPU from now. */
static __always_inline void kagg_wakeup(struct task_struct *p)
{
	struct gs_kagg_thread *t = kagg_thread(p->pid);

	if (t && !t->runnable_ns)
		t->runnable_ns = bpf_ktime_get_ns();
}

/* sys_exit of one of our threads: system call `nr` took `duration` ns and returned `ret`. */
static __always_inline void kagg_syscall(u32 tid, s64 nr, s64 ret, u64 duration)
{
	struct gs_kagg_syscall_key key = { .tid = tid, .nr = (u32)nr };
	struct gs_kagg_syscall *s = bpf_map_lookup_elem(&kagg_syscalls, &key);
	u32 b;

	if (!s) {
		bpf_map_update_elem(&kagg_syscalls, &key, &kagg_zero_syscall, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&kagg_syscalls, &key);
		if (!s) {
			count(GS_STAT_KAGG_SYSCALLS_FULL, 0);
			return;
		}
	}
	/* Plain adds: only thread `tid` itself, in its sys_exit, writes its entries. */
	b = kagg_bucket(duration);
	s->count++;
	s->sum_ns += duration;
	if (ret < 0)
		s->errors++;
	if (b < GS_KAGG_BUCKETS)
		s->hist[b]++;
}

/*
 * Run by user space (read(2) on an iterator of this link) before each reading: every live
 * thread of the traced process gets its kernel counters copied as of now, so a thread that has
 * not switched out for a while (a busy loop on an otherwise idle CPU) is still exact. It writes
 * nothing to the seq_file.
 */
SEC("iter/task")
int gs_kagg_iter_task(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct gs_syscall_start *call;
	struct gs_kagg_thread *t;
	u32 zero = 0;

	if (!task || !kagg_on() || !tgid_traced(task->tgid))
		return 0;
	t = kagg_thread(task->pid);
	if (!t)
		return 0;
	kagg_copy_counters(t, task, bpf_ktime_get_ns(), true);
	/*
	 * The call it is in, if any: still in the slot of the CPU it runs on, or parked in its task
	 * storage (neither can user space walk). A slot read while its CPU writes it can be stale
	 * by one call: this is a reading of what is in progress, not a count.
	 */
	t->in_syscall_nr = -1;
	t->in_syscall_since_ns = 0;
	if (bpf_core_field_exists(((struct task_struct___gs *)task)->thread_info.cpu)) {
		u32 cpu = BPF_CORE_READ((struct task_struct___gs *)task, thread_info.cpu);
		struct gs_syscall_on_cpu *slot = bpf_map_lookup_percpu_elem(&syscall_on_cpu,
									     &zero, cpu);

		if (slot && slot->ts_ns && slot->tid == (u32)task->pid) {
			t->in_syscall_nr = slot->nr;
			t->in_syscall_since_ns = slot->ts_ns;
			return 0;
		}
	}
	call = bpf_task_storage_get(&syscalls_in_flight, task, 0, 0);
	if (call && call->ts_ns) {
		t->in_syscall_nr = call->nr;
		t->in_syscall_since_ns = call->ts_ns;
	}
	return 0;
}
