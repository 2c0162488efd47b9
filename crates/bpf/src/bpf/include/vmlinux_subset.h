/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * goroscope's hand-written subset of vmlinux.h: only the kernel types and constants our BPF
 * programs use. A full `bpftool btf dump file /sys/kernel/btf/vmlinux format c` is 2.8 MB and
 * compiles about 5x slower.
 *
 * Structs are marked `preserve_access_index`, so every field access becomes a CO-RE relocation
 * that libbpf resolves against the running kernel's BTF at load time: the member lists here only
 * need the right field names and types, not the kernel's layout, and may omit fields we never
 * read. Sources: include/uapi/linux/bpf.h (enum values), arch/x86/include/asm/ptrace.h
 * (struct pt_regs), include/linux/sched.h (struct task_struct).
 */
#ifndef GS_VMLINUX_SUBSET_H
#define GS_VMLINUX_SUBSET_H

typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;

typedef __s8 s8;
typedef __u8 u8;
typedef __s16 s16;
typedef __u16 u16;
typedef __s32 s32;
typedef __u32 u32;
typedef __s64 s64;
typedef __u64 u64;

/* Used by prototypes in libbpf's bpf_helper_defs.h. */
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u64 __be64;
typedef __u32 __wsum;

typedef _Bool bool;
enum { false = 0, true = 1 };

/* include/uapi/linux/bpf.h */
enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_STACK_TRACE = 7,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_RINGBUF = 27,
	BPF_MAP_TYPE_TASK_STORAGE = 29,
};

/* Map flags and local-storage helper flags. */
enum {
	BPF_F_NO_PREALLOC = 1,
};

enum {
	BPF_LOCAL_STORAGE_GET_F_CREATE = 1,
};

enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
	BPF_EXIST = 2,
};

enum {
	BPF_RB_NO_WAKEUP = 1,
	BPF_RB_FORCE_WAKEUP = 2,
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

/* arch/x86/include/asm/ptrace.h: a uprobe program's context (the user registers). */
struct pt_regs {
	unsigned long r15;
	unsigned long r14;
	unsigned long r13;
	unsigned long r12;
	unsigned long bp;
	unsigned long bx;
	unsigned long r11;
	unsigned long r10;
	unsigned long r9;
	unsigned long r8;
	unsigned long ax;
	unsigned long cx;
	unsigned long dx;
	unsigned long si;
	unsigned long di;
	unsigned long orig_ax;
	unsigned long ip;
	union {
		u16 cs;
		u64 csx;
	};
	unsigned long flags;
	unsigned long sp;
	union {
		u16 ss;
		u64 ssx;
	};
};

/* include/linux/sched.h: `pid` is the thread id, `tgid` the process id. */
struct task_struct {
	int pid;
	int tgid;
	char comm[16];
};

/* include/linux/bpf.h, kernel/bpf/task_iter.c: the context of an `iter/task` program. */
struct seq_file;
struct bpf_iter_meta {
	struct seq_file *seq;
	u64 session_id;
	u64 seq_num;
};

struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
};

#pragma clang attribute pop

#endif /* GS_VMLINUX_SUBSET_H */
