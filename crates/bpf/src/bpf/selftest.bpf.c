// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * goroscope's self-test program: proves that this machine can load and attach what goroscope
 * needs, a uprobe on user code and a BTF-typed sched_switch tracepoint.
 *
 * gs_uprobe_hit counts every hit and records the hitting process; gs_sched_switch counts the
 * context switches of one process, chosen before load through read-only data (`target_tgid`).
 * Counters live in a per-CPU array, so the hot path needs no atomic operations; user space sums
 * the CPUs' values.
 */
#include "vmlinux_subset.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

/* Slots of the `counters` map; mirrored in src/selftest.rs. */
enum gs_selftest_counter {
	GS_UPROBE_HITS = 0,
	GS_SWITCHED_OUT = 1, /* target was the outgoing task */
	GS_SWITCHED_IN = 2,  /* target was the incoming task */
	GS_NR_COUNTERS = 3,
};

/* Set by user space before load: the process whose context switches are counted. */
const volatile u32 target_tgid = 0;

/* The tgid of the last process that hit the uprobe (0 before any hit). */
u32 last_uprobe_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GS_NR_COUNTERS);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps");

static __always_inline void bump(u32 slot)
{
	u64 *value = bpf_map_lookup_elem(&counters, &slot);

	if (value)
		*value += 1; /* per-CPU slot: no other CPU writes it */
}

SEC("uprobe")
int gs_uprobe_hit(struct pt_regs *ctx)
{
	bump(GS_UPROBE_HITS);
	last_uprobe_tgid = bpf_get_current_pid_tgid() >> 32;
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(gs_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	if (target_tgid == 0)
		return 0;
	if (prev->tgid == target_tgid)
		bump(GS_SWITCHED_OUT);
	if (next->tgid == target_tgid)
		bump(GS_SWITCHED_IN);
	return 0;
}

/* GPL-compatible: tracing programs and GPL-only helpers require it. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";
