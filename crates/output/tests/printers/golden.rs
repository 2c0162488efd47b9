//! Whole text reports of fixed synthetic streams against tests/golden/*.txt: any change to
//! what the report prints shows here as a diff (see main.rs for blessing an intended one).
//! The streams are built to reach every part of the report: a goroutine lifecycle with leaks
//! and lost events, a scheduler-heavy trace at the full level, a monitor-level trace whose
//! sections say what was not captured.

use std::collections::HashMap;
use std::sync::Arc;

use goroscope_analysis::testutil::{g, location, meta, wait, StreamBuilder};
use goroscope_analysis::Options;
use goroscope_events::{CpuLimit, CpuStat, EventKind, Level, Location, LossReason, Meta};
use goroscope_output::render_text;

use crate::support::{analyse, assert_golden, report};

const US: u64 = 1_000;
const MS: u64 = 1_000_000;
const SIGURG: u32 = 23;

/// Creation sites of a goroutine lifecycle: more than a table shows, so it is cut.
const SITES: u64 = 28;
const WORKER_PC: u64 = 0x4a_0000;
const LEAK_PC: u64 = 0x4b_0000;
const SELECT_PC: u64 = 0x4c_0000;

fn site_pc(i: u64) -> u64 {
    0x50_0000 + i * 0x100
}

#[test]
fn goroutine_lifecycle_and_leaks() {
    let mut s = StreamBuilder::new();
    s.on(0, 100).m_start(0);
    s.thread_fork(101).thread_fork(102);
    // Workers that run and exit, with growing scheduling latencies (histogram buckets).
    for i in 0..6 {
        s.goroutine_lifetime(10 + i, WORKER_PC, 500 << i, 20 * US);
    }
    // One goroutine from each of many sites, alternately exited and still running.
    for i in 0..SITES {
        let goid = 100 + i;
        s.go_create(goid, 1, site_pc(i))
            .go_status(goid, g::DEAD, g::RUNNABLE)
            .advance(2 * US)
            .go_start(goid, 0, 0)
            .go_status(goid, g::RUNNABLE, g::RUNNING)
            .advance(US);
        if i % 2 == 0 {
            s.go_exit(goid).go_status(goid, g::RUNNING, g::DEAD);
        } else {
            s.go_park(goid, wait::SLEEP)
                .go_status(goid, g::RUNNING, g::WAITING);
        }
    }
    // Leaks: blocked on a channel or a select at the end.
    for goid in 40..43 {
        s.go_create(goid, 1, LEAK_PC)
            .go_status(goid, g::DEAD, g::RUNNABLE)
            .advance(3 * US)
            .go_start(goid, 0, 0)
            .go_status(goid, g::RUNNABLE, g::RUNNING)
            .go_park(goid, wait::CHAN_RECEIVE)
            .go_status(goid, g::RUNNING, g::WAITING);
    }
    s.go_create(50, 1, SELECT_PC)
        .go_status(50, g::DEAD, g::RUNNABLE)
        .advance(US)
        .go_start(50, 0, 0)
        .go_park(50, wait::SELECT)
        .go_status(50, g::RUNNING, g::WAITING);
    // Goroutine 1 existed before the trace: it is known from its first status change.
    s.go_status(1, g::WAITING, g::RUNNABLE);
    // Threads: switches (one involuntary), a wakeup, one thread exits (its exit is reported
    // twice: an anomaly); events were lost.
    s.advance(MS).switch(100, 101, 1);
    s.on(1, 101).advance(2 * MS).switch(101, 102, 0).wakeup(100);
    s.on(1, 102).advance(MS).thread_exit().thread_exit();
    s.on(0, 100)
        .advance(MS)
        .lost(LossReason::RingBufferFull, 12)
        .lost(LossReason::UserMemoryUnreadable, 1);
    let mut sites = vec![
        (WORKER_PC, location("main.worker", 12)),
        (LEAK_PC, location("main.leak", 30)),
        (SELECT_PC, location("main.waitAll", 44)),
    ];
    sites.extend((0..SITES).map(|i| (site_pc(i), location(&format!("main.task{i:02}"), 100))));
    let r = report(s.build(), &meta(&sites).with_level(Level::Full));
    assert_golden("goroutine_lifecycle", &render_text(&r));
}

const HOG_PC: u64 = 0x6000;
const IO_PC: u64 = 0x7000;

/// Full-level metadata: symbols for the hog and the I/O goroutine's start functions and
/// creation sites, and the stack table that parks and preemptions refer to.
fn full_meta() -> Meta {
    let frames = |functions: &[&str]| -> Vec<Location> {
        functions.iter().map(|f| location(f, 50)).collect()
    };
    let stacks: HashMap<u32, Vec<Location>> = [
        (
            1,
            frames(&["runtime.gopark", "runtime.chanrecv1", "main.io"]),
        ),
        (
            2,
            frames(&["runtime.asyncPreempt2", "main.spin", "main.hog"]),
        ),
    ]
    .into_iter()
    .collect();
    meta(&[
        (HOG_PC, location("main.hog", 20)),
        (IO_PC, location("main.io", 60)),
        // testutil's GoCreate starts every goroutine at 0x40_0000.
        (0x40_0001, location("main.entry", 5)),
    ])
    .with_level(Level::Full)
    .with_stacks(Arc::new(stacks))
}

#[test]
fn scheduler_heavy_trace() {
    let mut s = StreamBuilder::new();
    s.on(0, 100)
        .m_start(0)
        .emit(EventKind::ProcResize { nprocs: 4 });
    s.on(1, 200).m_start(1);
    // A CPU hog (goroutine 7) on P 0, preempted by sysmon with SIGURG every 10 ms.
    s.on(0, 100).go_create(7, 1, HOG_PC).go_create(8, 1, IO_PC);
    for _ in 0..3 {
        s.on(0, 100)
            .advance(5 * US)
            .go_start(7, 0, 0)
            .advance(10 * MS);
        s.on(3, 50).emit(EventKind::PreemptRequest {
            goid: 7,
            p_id: 0,
            by_sysmon: true,
        });
        s.emit(EventKind::SignalSend {
            sig: SIGURG,
            target_tid: 100,
            result: 0,
        });
        s.on(0, 100).advance(20 * US);
        s.emit(EventKind::SignalDeliver { sig: SIGURG });
        s.emit(EventKind::AsyncPreempt {
            goid: 7,
            stack_id: Some(2),
        });
        s.emit(EventKind::GoYield {
            goid: 7,
            preempted: Some(true),
        });
    }
    // Goroutine 8 on P 1: reads that block, a blocking syscall that loses its P, a park on a
    // channel, readied and stolen by P 2.
    s.on(1, 200).go_start(8, 1, 1);
    for (ret, duration) in [(0, 40 * US), (-11, 3 * US), (-11, 2 * US), (4096, 90 * US)] {
        s.advance(100 * US).emit(EventKind::KernelSyscall {
            nr: 0, // read
            ret,
            duration_ns: duration,
        });
    }
    s.emit(EventKind::SyscallEnter {
        goid: 8,
        blocking: false,
    });
    s.on(3, 50).advance(20 * US).emit(EventKind::Handoff {
        p_id: 1,
        caller_goid: 0,
        caller_has_p: false,
        caller_locked: false,
    });
    s.on(2, 300).thread_fork(301);
    s.on(1, 200).advance(300 * US);
    s.emit(EventKind::KernelSyscall {
        nr: 202, // futex
        ret: -110,
        duration_ns: 320 * US,
    });
    s.emit(EventKind::SyscallExit {
        goid: 8,
        lost_p: true,
    });
    s.emit(EventKind::GoPark {
        goid: 8,
        wait_reason: wait::CHAN_RECEIVE,
        stack_id: Some(1),
    });
    s.emit(EventKind::MPark { m_id: 1 });
    s.on(0, 100).advance(50 * US).emit(EventKind::GoReady {
        goid: 8,
        by_goid: 7,
        p_id: 1,
        next: false,
    });
    s.on(2, 300).advance(10 * US).emit(EventKind::Steal {
        thief_p: 2,
        victim_p: 1,
        queued: 1,
        runnext: false,
    });
    s.advance(US).go_start(8, 2, 2);
    // A goroutine locked to its thread, which exits locked.
    s.on(2, 300)
        .advance(US)
        .emit(EventKind::LockOSThread { goid: 8 })
        .advance(200 * US)
        .emit(EventKind::GoExit {
            goid: 8,
            locked: true,
        })
        .m_exit(2)
        .thread_exit();
    // A GC cycle: two stop-the-world pauses (sweep and mark termination), and GOMAXPROCS 2.
    s.on(0, 100)
        .advance(MS)
        .emit(EventKind::GcStart { trigger_kind: 0 });
    for (reason, stopping, stopped) in [(2, 15 * US, 40 * US), (1, 8 * US, 120 * US)] {
        s.emit(EventKind::StwBegin {
            reason: Some(reason),
        })
        .advance(stopping)
        .emit(EventKind::StwStopped)
        .advance(stopped)
        .emit(EventKind::StwEnd)
        .advance(MS);
    }
    s.emit(EventKind::ProcResize { nprocs: 2 });
    for (npidle, global_runq) in [(1, 0), (0, 3), (1, 1)] {
        s.advance(10 * MS).emit(EventKind::SchedSample {
            npidle,
            nmspinning: 1,
            global_runq,
            gomaxprocs: 2,
        });
    }
    s.go_start(7, 0, 0).advance(MS);
    let limit = CpuLimit {
        cgroup_version: None,
        cgroup: Some("/system.slice/app.service".into()),
        quota_cpus: Some(1.5),
        cpuset: None,
        affinity: vec![0, 1, 2, 3],
        online_cpus: 4,
    };
    let stat = CpuStat {
        nr_periods: 50,
        nr_throttled: 7,
        throttled_usec: 12_500,
        ..CpuStat::default()
    };
    let options = Options {
        start_ns: Some(1_000_000),
        ..Options::default()
    };
    let r = analyse(s.build(), &full_meta(), options, Some((limit, stat)));
    assert_golden("scheduler_full", &render_text(&r));
}

#[test]
fn monitor_level_says_what_it_did_not_capture() {
    let mut s = StreamBuilder::new();
    s.on(0, 100)
        .m_start(0)
        .emit(EventKind::ProcResize { nprocs: 8 });
    s.advance(MS).emit(EventKind::LockOSThread { goid: 1 });
    s.on(1, 50).emit(EventKind::PreemptRequest {
        goid: 0,
        p_id: 3,
        by_sysmon: true,
    });
    s.emit(EventKind::Handoff {
        p_id: 3,
        caller_goid: 0,
        caller_has_p: false,
        caller_locked: false,
    });
    s.on(0, 100)
        .advance(MS)
        .emit(EventKind::StwBegin { reason: Some(7) })
        .advance(5 * US)
        .emit(EventKind::StwStopped)
        .advance(20 * US)
        .emit(EventKind::StwEnd);
    s.advance(MS).m_start(4);
    let r = report(
        s.build(),
        &Meta::new("go1.22.10").with_level(Level::Monitor),
    );
    assert_golden("monitor_level", &render_text(&r));
}

/// The default level: the runtime's sampler only (plus the monitor's events), each part of the
/// sampled section (stop kinds from the stop stacks, sites, start functions, creations).
#[test]
fn default_level_estimates_from_samples() {
    const STACK_PARK: u32 = 1 << 24;
    const STACK_PREEMPT: u32 = (1 << 24) + 1;
    let mut s = StreamBuilder::new();
    s.on(0, 100)
        .m_start(0)
        .emit(EventKind::ProcResize { nprocs: 2 });
    for i in 0..40u64 {
        let (stack, first_run) = match i % 4 {
            0 => (None, true),
            1 | 2 => (Some(STACK_PARK), false),
            _ => (Some(STACK_PREEMPT), false),
        };
        s.advance(50 * US).emit(EventKind::GoSample {
            goid: 10 + i % 5,
            creation_pc: if i % 2 == 0 { WORKER_PC } else { LEAK_PC },
            start_pc: SELECT_PC,
            runnable_ns: ((i + 1) * 1_500) as i64,
            p_id: (i % 2) as i32,
            m_id: 0,
            wait_reason: wait::CHAN_RECEIVE,
            first_run,
            locked: false,
            stack_id: stack,
            stack_cut: false,
        });
    }
    // The gate detached the probe after a 1 ms window (the last 20 samples) for 3 ms: those
    // stand for 4 each.
    s.advance(US).emit(EventKind::SamplerGate {
        paused: true,
        rate_per_s: 20_000,
        window_ns: 1_000 * US,
    });
    s.advance(3_000 * US).emit(EventKind::SamplerGate {
        paused: false,
        rate_per_s: 0,
        window_ns: 0,
    });
    let frame = |f: &str, line: u32| Location {
        function: f.into(),
        file: "/src/app/main.go".into(),
        line,
    };
    let stacks: HashMap<u32, Vec<Location>> = [
        (
            STACK_PARK,
            vec![
                Location {
                    function: "runtime.gopark".into(),
                    file: "/go/src/runtime/proc.go".into(),
                    line: 460,
                },
                frame("main.consume", 31),
            ],
        ),
        (
            STACK_PREEMPT,
            vec![frame("main.hash", 12), frame("main.consume", 35)],
        ),
    ]
    .into_iter()
    .collect();
    let m = meta(&[
        (WORKER_PC, location("main.startWorkers", 20)),
        (LEAK_PC, location("main.serve", 44)),
        (SELECT_PC, location("main.consume", 30)),
    ])
    .with_level(Level::Default)
    .with_stacks(Arc::new(stacks));
    let r = report(s.build(), &m);
    let text = render_text(&r);
    assert!(text.contains("Scheduling latency (sampled by the runtime, 1 in 8): estimated"));
    assert!(
        text.contains("(≈ 800 transitions)"),
        "20 + 20 × 4 samples × 8"
    );
    assert!(text.contains("the sample probe was attached"));
    assert_golden("default_level_sampled", &text);
}

/// The kernel section from the aggregates: threads (one born and exited in the window), the
/// syscalls by number and by thread, and updates lost to a full map.
#[test]
fn kernel_aggregates_threads_and_syscalls() {
    use goroscope_analysis::Analyzer;
    use goroscope_events::{
        AggregatesLost, InFlightSyscall, KernelAggregates, Log2Histogram, SyscallAggregate,
        ThreadAggregate, ThreadCounters,
    };
    let counters = |read_ns: u64, on_cpu: u64, v: u64, nv: u64, delay: u64| ThreadCounters {
        read_ns,
        on_cpu_ns: on_cpu,
        voluntary_switches: v,
        involuntary_switches: nv,
        run_delay_ns: Some(delay),
        runs: Some(v + nv + 1),
    };
    let hist = |count: u64, bucket: usize, each: u64| {
        let mut dense = [0u64; 40];
        dense[bucket] = count;
        Log2Histogram::from_dense(count, count * each, &dense)
    };
    let mut s = StreamBuilder::new();
    s.on(0, 100).m_start(0).advance(10 * MS).m_start(1);
    let mut analyzer = Analyzer::new(Options::default());
    for event in s.build() {
        analyzer.push(event);
    }
    analyzer.observe_kernel_aggregates(&KernelAggregates {
        ts_ns: 1_000 * MS,
        since_ns: 0,
        threads: vec![
            ThreadAggregate {
                tid: 100,
                comm: "server".into(),
                started_ns: 0,
                exited_ns: None,
                at_start: Some(counters(0, 2 * MS, 10, 1, 50 * US)),
                last: counters(1_000 * MS, 302 * MS, 1_210, 41, 9 * MS),
                runnable_waits: hist(1_240, 13, 7 * US),
            },
            ThreadAggregate {
                tid: 101,
                comm: "server".into(),
                started_ns: 200 * MS,
                exited_ns: Some(700 * MS),
                at_start: None,
                last: counters(700 * MS, 40 * MS, 300, 2, MS),
                runnable_waits: hist(300, 11, 3 * US),
            },
        ],
        syscalls: vec![
            SyscallAggregate {
                tid: 100,
                nr: 202,
                count: 900,
                errors: 12,
                latency: hist(900, 19, 600 * US),
            },
            SyscallAggregate {
                tid: 101,
                nr: 0,
                count: 300,
                errors: 0,
                latency: hist(300, 12, 5 * US),
            },
            SyscallAggregate {
                tid: 100,
                nr: 0,
                count: 50,
                errors: 1,
                latency: hist(50, 39, 600_000 * MS),
            },
        ],
        in_flight: vec![
            InFlightSyscall {
                tid: 100,
                nr: 202,
                since_ns: 400 * MS,
            },
            InFlightSyscall {
                tid: 102,
                nr: 202,
                since_ns: 990 * MS,
            },
        ],
        lost: AggregatesLost {
            thread_updates: 0,
            syscalls: 3,
        },
    });
    let r = analyzer.finish(&Meta::new("go1.27.3").with_level(Level::Default));
    assert_golden("kernel_aggregates", &render_text(&r));
}
