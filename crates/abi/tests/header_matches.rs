//! Fails when the Rust mirror drifts from `include/goroscope.h`: reads the C header (the one
//! definition of the ABI), computes each struct's field offsets and size from its declarations
//! (natural alignment, as clang lays them out for BPF and x86-64), and compares them, the event
//! type values and the constants with the Rust side.

use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};

use goroscope_abi::*;

/// `struct name` → `[(field, offset)]` and size, from the header text.
fn c_structs() -> BTreeMap<String, (Vec<(String, usize)>, usize)> {
    let mut out = BTreeMap::new();
    let mut rest = HEADER;
    while let Some(start) = rest.find("\nstruct gs_") {
        let body_start = rest[start..].find('{').expect("struct body") + start;
        let name = rest[start + 8..body_start].trim().to_string();
        let body_end = rest[body_start..].find("};").expect("struct end") + body_start;
        let mut fields = Vec::new();
        let (mut offset, mut align_max) = (0usize, 1usize);
        for line in rest[body_start + 1..body_end].lines() {
            let decl = line.split("/*").next().unwrap().trim();
            let Some(decl) = decl.strip_suffix(';') else {
                continue;
            };
            let (ty, field) = decl.rsplit_once(' ').expect("type and field name");
            // An array `name[N]`, N a number or a #define of the header.
            let (field, count) = match field.split_once('[') {
                Some((f, n)) => {
                    let n = n.trim_end_matches(']');
                    (
                        f,
                        n.parse::<usize>().unwrap_or_else(|_| c_value(n) as usize),
                    )
                }
                None => (field, 1),
            };
            let elem = match ty.trim() {
                "__u64" | "__s64" => 8,
                "__u32" | "__s32" => 4,
                "__u16" | "__s16" => 2,
                "__u8" | "__s8" => 1,
                "struct gs_event_header" => 24,
                other => panic!("unexpected type {other} in {name}"),
            };
            let (size, align) = (elem * count, elem.min(8));
            assert_eq!(
                offset % align,
                0,
                "{name}.{field}: implicit padding in the header"
            );
            fields.push((field.to_string(), offset));
            offset += size;
            align_max = align_max.max(align);
        }
        assert_eq!(
            offset % align_max,
            0,
            "{name}: trailing padding in the header"
        );
        out.insert(name, (fields, offset));
        rest = &rest[body_end..];
    }
    out
}

/// Value of `#define NAME value` or `NAME = value,` in the header.
fn c_value(name: &str) -> u64 {
    for line in HEADER.lines() {
        let line = line.trim();
        let value = line
            .strip_prefix(&format!("#define {name} "))
            .or_else(|| line.strip_prefix(&format!("{name} = ")));
        if let Some(v) = value {
            let v = v.split(['/', ',']).next().unwrap().trim();
            let v = v.trim_end_matches("ULL").trim_end_matches('u');
            return match v.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
                None => v.parse().unwrap_or_else(|_| panic!("{name} = {v}?")),
            };
        }
    }
    panic!("{name} is not in goroscope.h")
}

macro_rules! check_struct {
    ($structs:expr, $rust:ty, $c:literal, [$($field:ident = $cfield:literal),* $(,)?]) => {{
        let (fields, size) = $structs.get($c).unwrap_or_else(|| panic!("struct {} missing", $c));
        assert_eq!(size_of::<$rust>(), *size, "size of {}", $c);
        let rust: Vec<(String, usize)> =
            vec![$(($cfield.to_string(), offset_of!($rust, $field))),*];
        assert_eq!(&rust, fields, "fields of {}", $c);
    }};
}

#[test]
fn rust_structs_match_the_c_header() {
    let s = c_structs();
    check_struct!(
        s,
        EventHeader,
        "gs_event_header",
        [
            ts_ns = "ts_ns",
            tgid = "tgid",
            tid = "tid",
            cpu = "cpu",
            kind = "type",
            size = "size"
        ]
    );
    check_struct!(
        s,
        GoCreate,
        "gs_ev_go_create",
        [
            h = "h",
            goid = "goid",
            parent_goid = "parent_goid",
            creation_pc = "creation_pc",
            start_pc = "start_pc",
            m_id = "m_id",
            p_id = "p_id",
            pad = "_pad"
        ]
    );
    check_struct!(
        s,
        GoStatus,
        "gs_ev_go_status",
        [
            h = "h",
            goid = "goid",
            old_status = "old_status",
            new_status = "new_status"
        ]
    );
    check_struct!(
        s,
        GoStart,
        "gs_ev_go_start",
        [
            h = "h",
            goid = "goid",
            m_id = "m_id",
            p_id = "p_id",
            flags = "flags"
        ]
    );
    check_struct!(
        s,
        GoPark,
        "gs_ev_go_park",
        [
            h = "h",
            goid = "goid",
            wait_reason = "wait_reason",
            stack_id = "stack_id"
        ]
    );
    check_struct!(
        s,
        GoReady,
        "gs_ev_go_ready",
        [
            h = "h",
            goid = "goid",
            waker_goid = "waker_goid",
            p_id = "p_id",
            next = "next"
        ]
    );
    check_struct!(
        s,
        GoYield,
        "gs_ev_go_yield",
        [
            h = "h",
            goid = "goid",
            preempted = "preempted",
            pad = "_pad"
        ]
    );
    check_struct!(
        s,
        GoExit,
        "gs_ev_go_exit",
        [h = "h", goid = "goid", locked = "locked", pad = "_pad"]
    );
    check_struct!(
        s,
        Sched,
        "gs_ev_sched",
        [
            h = "h",
            goid = "goid",
            value = "value",
            p_id = "p_id",
            p_id2 = "p_id2",
            flags = "flags",
            pad = "_pad"
        ]
    );
    check_struct!(
        s,
        KernelSyscall,
        "gs_ev_syscall",
        [h = "h", nr = "nr", ret = "ret", duration_ns = "duration_ns"]
    );
    check_struct!(
        s,
        Signal,
        "gs_ev_signal",
        [
            h = "h",
            sig = "sig",
            target_tid = "target_tid",
            result = "result",
            pad = "_pad"
        ]
    );
    check_struct!(
        s,
        MEvent,
        "gs_ev_m",
        [h = "h", m_id = "m_id", procid = "procid"]
    );
    check_struct!(
        s,
        ThreadFork,
        "gs_ev_thread_fork",
        [h = "h", parent_tid = "parent_tid", child_tid = "child_tid"]
    );
    check_struct!(
        s,
        ThreadExit,
        "gs_ev_thread_exit",
        [h = "h", exit_tid = "exit_tid", is_leader = "is_leader"]
    );
    check_struct!(
        s,
        Switch,
        "gs_ev_switch",
        [
            h = "h",
            prev_tid = "prev_tid",
            prev_tgid = "prev_tgid",
            next_tid = "next_tid",
            next_tgid = "next_tgid",
            prev_state = "prev_state",
            flags = "flags"
        ]
    );
    check_struct!(
        s,
        Wakeup,
        "gs_ev_wakeup",
        [
            h = "h",
            woken_tid = "woken_tid",
            woken_tgid = "woken_tgid",
            target_cpu = "target_cpu",
            flags = "flags"
        ]
    );
    check_struct!(
        s,
        Config,
        "gs_config",
        [
            target_tgid = "target_tgid",
            flags = "flags",
            go_minor = "go_minor",
            wakeup_bytes = "wakeup_bytes",
            g_goid = "g_goid",
            g_atomicstatus = "g_atomicstatus",
            g_waitreason = "g_waitreason",
            g_m = "g_m",
            g_parent_goid = "g_parent_goid",
            g_gopc = "g_gopc",
            g_startpc = "g_startpc",
            m_g0 = "m_g0",
            m_curg = "m_curg",
            m_id = "m_id",
            m_procid = "m_procid",
            m_p = "m_p",
            p_id = "p_id",
            g_lockedm = "g_lockedm",
            m_lockedg = "m_lockedg",
            p_m = "p_m",
            p_runqhead = "p_runqhead",
            p_runqtail = "p_runqtail",
            p_runnext = "p_runnext",
            m_oldp = "m_oldp",
            m_syscalltick = "m_syscalltick",
            p_status = "p_status",
            p_syscalltick = "p_syscalltick",
            g_sched_pc = "g_sched_pc",
            g_sched_bp = "g_sched_bp",
            g_runnable_time = "g_runnable_time",
            sample_gp_reg = "sample_gp_reg",
            pad = "_pad"
        ]
    );
    check_struct!(
        s,
        GoSample,
        "gs_ev_go_sample",
        [
            h = "h",
            goid = "goid",
            creation_pc = "creation_pc",
            start_pc = "start_pc",
            runnable_ns = "runnable_ns",
            m_id = "m_id",
            p_id = "p_id",
            wait_reason = "wait_reason",
            flags = "flags",
            nframes = "nframes",
            frames = "frames"
        ]
    );
    check_struct!(
        s,
        KaggThread,
        "gs_kagg_thread",
        [
            read_ns = "read_ns",
            sum_exec_runtime = "sum_exec_runtime",
            run_delay = "run_delay",
            pcount = "pcount",
            nvcsw = "nvcsw",
            nivcsw = "nivcsw",
            start_ns = "start_ns",
            exit_ns = "exit_ns",
            flags = "flags",
            runnable_ns = "runnable_ns",
            wait_count = "wait_count",
            wait_sum_ns = "wait_sum_ns",
            wait_hist = "wait_hist",
            in_syscall_since_ns = "in_syscall_since_ns",
            in_syscall_nr = "in_syscall_nr",
            comm = "comm"
        ]
    );
    check_struct!(
        s,
        KaggSyscallKey,
        "gs_kagg_syscall_key",
        [tid = "tid", nr = "nr"]
    );
    check_struct!(
        s,
        KaggSyscall,
        "gs_kagg_syscall",
        [
            count = "count",
            errors = "errors",
            sum_ns = "sum_ns",
            hist = "hist"
        ]
    );
    check_struct!(
        s,
        SyscallStart,
        "gs_syscall_start",
        [ts_ns = "ts_ns", nr = "nr"]
    );
    assert_eq!(
        s.len(),
        22,
        "a struct in goroscope.h has no Rust mirror: {:?}",
        s.keys()
    );
}

#[test]
fn event_types_and_constants_match_the_c_header() {
    let c_names = [
        "GS_EV_GO_CREATE",
        "GS_EV_GO_STATUS",
        "GS_EV_GO_START",
        "GS_EV_GO_PARK",
        "GS_EV_GO_READY",
        "GS_EV_GO_YIELD",
        "GS_EV_GO_EXIT",
        "GS_EV_M_START",
        "GS_EV_M_EXIT",
        "GS_EV_THREAD_FORK",
        "GS_EV_THREAD_EXIT",
        "GS_EV_SWITCH",
        "GS_EV_WAKEUP",
        "GS_EV_STEAL",
        "GS_EV_PREEMPT_REQUEST",
        "GS_EV_ASYNC_PREEMPT",
        "GS_EV_PREEMPT_PARK",
        "GS_EV_SIGNAL_GENERATE",
        "GS_EV_SIGNAL_DELIVER",
        "GS_EV_SYSCALL_ENTER",
        "GS_EV_SYSCALL_EXIT",
        "GS_EV_HANDOFF",
        "GS_EV_KSYSCALL",
        "GS_EV_LOCK_THREAD",
        "GS_EV_UNLOCK_THREAD",
        "GS_EV_M_PARK",
        "GS_EV_PROCRESIZE",
        "GS_EV_STW_BEGIN",
        "GS_EV_STW_STOPPED",
        "GS_EV_STW_END",
        "GS_EV_GC_START",
        "GS_EV_GO_SAMPLE",
    ];
    assert_eq!(c_names.len(), EventType::ALL.len());
    for (t, c) in EventType::ALL.iter().zip(c_names) {
        assert_eq!(*t as u64, c_value(c), "{c}");
    }
    assert_eq!(u64::from(EVENT_TYPE_COUNT), c_value("GS_EV__COUNT"));
    assert_eq!(u64::from(ABI_VERSION), c_value("GS_ABI_VERSION"));
    assert_eq!(GOID_NONE, c_value("GS_GOID_NONE"));
    assert_eq!(
        u64::from(PREEMPTED_UNKNOWN),
        c_value("GS_PREEMPTED_UNKNOWN")
    );
    assert_eq!(u64::from(SWITCH_PREEMPT), c_value("GS_SWITCH_PREEMPT"));
    assert_eq!(u64::from(SWITCH_PREV_OURS), c_value("GS_SWITCH_PREV_OURS"));
    assert_eq!(u64::from(SWITCH_NEXT_OURS), c_value("GS_SWITCH_NEXT_OURS"));
    assert_eq!(u64::from(WAKEUP_NEW), c_value("GS_WAKEUP_NEW"));
    for (rust, c) in [
        (START_INHERIT_TIME, "GS_START_INHERIT_TIME"),
        (START_LOCKED, "GS_START_LOCKED"),
        (SCHED_RUNNEXT, "GS_SCHED_RUNNEXT"),
        (SCHED_BY_SYSMON, "GS_SCHED_BY_SYSMON"),
        (SCHED_BLOCKING, "GS_SCHED_BLOCKING"),
        (SCHED_CALLER_HAS_P, "GS_SCHED_CALLER_HAS_P"),
        (SCHED_CALLER_LOCKED, "GS_SCHED_CALLER_LOCKED"),
        (SCHED_REASON_KNOWN, "GS_SCHED_REASON_KNOWN"),
        (SCHED_LOST_P, "GS_SCHED_LOST_P"),
        (CFG_SYSCALL_KEEPS_P, "GS_CFG_SYSCALL_KEEPS_P"),
        (CFG_PARK_STACKS, "GS_CFG_PARK_STACKS"),
        (CFG_STW_HAS_REASON, "GS_CFG_STW_HAS_REASON"),
        (CFG_KERNEL_AGGREGATES, "GS_CFG_KERNEL_AGGREGATES"),
        (CFG_KERNEL_RECORDS, "GS_CFG_KERNEL_RECORDS"),
        (STAT_KAGG_THREADS_FULL, "GS_STAT_KAGG_THREADS_FULL"),
        (STAT_KAGG_SYSCALLS_FULL, "GS_STAT_KAGG_SYSCALLS_FULL"),
        (STAT_SYSCALL_UNTRACKED, "GS_STAT_SYSCALL_UNTRACKED"),
    ] {
        assert_eq!(u64::from(rust), c_value(c), "{c}");
    }
    assert_eq!(u64::from(STAT_STRIDE), c_value("GS_STAT_STRIDE"));
    assert_eq!(u64::from(STAT_SUBMITTED), c_value("GS_STAT_SUBMITTED"));
    assert_eq!(
        u64::from(STAT_RESERVE_FAILED),
        c_value("GS_STAT_RESERVE_FAILED")
    );
    assert_eq!(u64::from(STAT_READ_FAILED), c_value("GS_STAT_READ_FAILED"));
    assert_eq!(u64::from(STAT_COUNT), c_value("GS_STAT__COUNT"));
    assert_eq!(u64::from(OFFSET_NONE), c_value("GS_OFFSET_NONE"));
    assert_eq!(STACK_DEPTH as u64, c_value("GS_STACK_DEPTH"));
    assert_eq!(SAMPLE_DEPTH as u64, c_value("GS_SAMPLE_DEPTH"));
    for (rust, c) in [
        (SAMPLE_FIRST_RUN, "GS_SAMPLE_FIRST_RUN"),
        (SAMPLE_STACK_CUT, "GS_SAMPLE_STACK_CUT"),
        (SAMPLE_LOCKED, "GS_SAMPLE_LOCKED"),
    ] {
        assert_eq!(u64::from(rust), c_value(c), "{c}");
    }
    assert_eq!(KAGG_BUCKETS as u64, c_value("GS_KAGG_BUCKETS"));
    assert_eq!(KAGG_SCHED_INFO, c_value("GS_KAGG_SCHED_INFO"));
    assert_eq!(KAGG_DEAD, c_value("GS_KAGG_DEAD"));
    // A negative define, written in parentheses: compare the text.
    assert!(HEADER.contains(&format!("#define GS_STACK_NONE ({STACK_NONE})")));
    assert_eq!(
        u64::from(CFG_YIELD_HAS_PREEMPTED),
        c_value("GS_CFG_YIELD_HAS_PREEMPTED")
    );
    assert_eq!(
        u64::from(CFG_FOLLOW_UPROBE_HITS),
        c_value("GS_CFG_FOLLOW_UPROBE_HITS")
    );
}
