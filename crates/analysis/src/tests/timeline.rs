//! The timeline through a `VecCollector`: it agrees with the report (running time, on/off CPU),
//! P slices never overlap, flows end at runs, samples become counters, stacks become frames.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use goroscope_events::{Event, EventKind, Meta};

use crate::testutil::{g, location, meta, wait, StreamBuilder};
use crate::timeline::*;
use crate::{Analyzer, Options, Report};

const SITE_PC: u64 = 0x48_1234;
/// `StreamBuilder::go_create`'s start pc.
const START_PC: u64 = 0x40_0000;
const PARK_STACK: u32 = 7;
const ASYNC_STACK: u32 = 9;
const US: u64 = 1_000;

/// Two Ps, two threads, three goroutines: parks, readies, a yield, a syscall, a steal, an
/// async preemption, SIGURG, a STW with its GC, two scheduler samples; goroutine 12 still runs
/// at the end.
fn stream() -> Vec<Event> {
    let mut s = StreamBuilder::new();
    s.on(0, 1000);
    for goid in [10, 11, 12] {
        s.go_create(goid, 1, SITE_PC)
            .go_status(goid, g::DEAD, g::RUNNABLE);
    }
    s.advance(100 * US).go_start(10, 0, 0);
    s.emit(EventKind::SchedSample {
        npidle: 1,
        nmspinning: 0,
        global_runq: 2,
        gomaxprocs: 2,
    });
    s.advance(500 * US).emit(EventKind::GoPark {
        goid: 10,
        wait_reason: wait::CHAN_RECEIVE,
        stack_id: Some(PARK_STACK),
    });
    s.advance(10 * US).go_start(11, 0, 0);
    s.advance(300 * US).go_ready(10, 11);
    s.emit(EventKind::PreemptRequest {
        goid: 11,
        p_id: 0,
        by_sysmon: true,
    });
    s.emit(EventKind::SignalSend {
        sig: 23,
        target_tid: 1000,
        result: 0,
    });
    s.advance(5 * US).emit(EventKind::SignalDeliver { sig: 23 });
    s.emit(EventKind::AsyncPreempt {
        goid: 11,
        stack_id: Some(ASYNC_STACK),
    });
    s.emit(EventKind::GoYield {
        goid: 11,
        preempted: Some(true),
    });
    // Thread 1001 on CPU 1 runs P 1: it steals goroutine 10 and runs it.
    s.on(1, 1001).advance(50 * US).switch(1002, 1001, 1);
    s.emit(EventKind::Steal {
        thief_p: 1,
        victim_p: 0,
        queued: 1,
        runnext: false,
    });
    s.go_start(10, 1, 1);
    s.advance(100 * US).emit(EventKind::SyscallEnter {
        goid: 10,
        blocking: false,
    });
    s.advance(1_000 * US).emit(EventKind::SyscallExit {
        goid: 10,
        lost_p: false,
    });
    s.advance(200 * US).go_exit(10);
    s.advance(1).go_status(10, g::RUNNING, g::DEAD);
    s.on(0, 1000).advance(10 * US).go_start(11, 0, 0);
    s.emit(EventKind::StwBegin { reason: Some(2) });
    s.advance(20 * US).emit(EventKind::StwStopped);
    s.advance(30 * US).emit(EventKind::StwEnd);
    s.emit(EventKind::GcStart { trigger_kind: 0 });
    s.advance(40 * US).go_park(11, wait::SLEEP);
    s.go_start(12, 0, 0);
    s.emit(EventKind::SchedSample {
        npidle: 0,
        nmspinning: 1,
        global_runq: 0,
        gomaxprocs: 2,
    });
    s.on(1, 1001).advance(70 * US).switch(1001, 1002, 0);
    s.advance(400 * US).emit(EventKind::MPark { m_id: 1 });
    s.build()
}

fn test_meta() -> Meta {
    let frames = |f: &str, line| vec![location(f, line), location("main.main", 3)];
    let stacks = HashMap::from([
        (PARK_STACK, frames("main.recv", 20)),
        (ASYNC_STACK, frames("main.spin", 30)),
    ]);
    let mut meta = meta(&[(SITE_PC, location("main.spawn", 12))]);
    meta.stacks = Arc::new(stacks);
    meta
}

fn run(events: Vec<Event>) -> (Report, Vec<TimelineRecord>) {
    let mut a = Analyzer::new(Options::default()).with_collector(VecCollector::default());
    for e in events {
        a.push(e);
    }
    let (report, collector) = a.finish_with_collector(&test_meta());
    (report, collector.records)
}

fn goroutine_slices(records: &[TimelineRecord]) -> Vec<GoroutineSlice> {
    records
        .iter()
        .filter_map(|r| match r {
            TimelineRecord::Goroutine(s) => Some(*s),
            _ => None,
        })
        .collect()
}

fn is_running(s: &GoroutineSlice) -> bool {
    matches!(s.state, GoActivity::Running { .. })
}

#[test]
fn attaching_a_collector_does_not_change_the_report() {
    let mut plain = Analyzer::new(Options::default());
    for e in stream() {
        plain.push(e);
    }
    assert_eq!(plain.finish(&test_meta()), run(stream()).0);
}

#[test]
fn running_slices_sum_to_the_running_time_of_the_report() {
    let (report, records) = run(stream());
    let mut running: BTreeMap<u64, u64> = BTreeMap::new();
    for s in goroutine_slices(&records).iter().filter(|s| is_running(s)) {
        *running.entry(s.goid).or_default() += s.end_ns - s.start_ns;
    }
    let top = &report.scheduler.preemption.time_slices.top_goroutines;
    let expected: BTreeMap<u64, u64> = top.iter().map(|g| (g.goid, g.running_ns)).collect();
    assert_eq!(running, expected);
    // Goroutine 10: 500 µs on P 0, 100 µs on P 1, 200 µs after its syscall.
    assert_eq!(running[&10], 800 * US);
}

#[test]
fn goroutine_states_between_runs_carry_their_reason() {
    let (_, records) = run(stream());
    let of_10: Vec<(GoActivity, u64)> = goroutine_slices(&records)
        .into_iter()
        .filter(|s| s.goid == 10)
        .map(|s| (s.state, s.end_ns - s.start_ns))
        .collect();
    let waiting = GoActivity::Waiting {
        reason: Some(wait::CHAN_RECEIVE),
        stack: Some(StackKey::Captured(PARK_STACK)),
    };
    assert!(
        of_10.contains(&(GoActivity::Runnable, 100 * US)),
        "{of_10:?}"
    );
    assert!(of_10.contains(&(waiting, 310 * US)), "{of_10:?}");
    assert!(
        of_10.contains(&(GoActivity::Syscall { tid: Some(1001) }, 1_000 * US)),
        "{of_10:?}"
    );
    let stops: Vec<StopReason> = of_10
        .iter()
        .filter_map(|(s, _)| match s {
            GoActivity::Running { stop, .. } => Some(*stop),
            _ => None,
        })
        .collect();
    assert_eq!(
        stops,
        [StopReason::Park, StopReason::Syscall, StopReason::Exit]
    );
    let open_at_end = goroutine_slices(&records)
        .into_iter()
        .find(|s| s.goid == 12 && is_running(s))
        .expect("goroutine 12 runs at the end");
    assert!(matches!(
        open_at_end.state,
        GoActivity::Running {
            stop: StopReason::TraceEnd,
            p: Some(0),
            ..
        }
    ));
}

#[test]
fn slices_of_one_p_never_overlap_and_idle_fills_the_gaps() {
    let (report, records) = run(stream());
    let mut by_p: BTreeMap<i32, Vec<ProcSlice>> = BTreeMap::new();
    for r in &records {
        if let TimelineRecord::Proc(p) = r {
            by_p.entry(p.p).or_default().push(*p);
        }
    }
    assert_eq!(by_p.keys().copied().collect::<Vec<_>>(), [0, 1]);
    for (p, slices) in &mut by_p {
        slices.sort_by_key(|s| s.start_ns);
        for pair in slices.windows(2) {
            assert!(pair[0].end_ns <= pair[1].start_ns, "P {p}: {pair:?}");
        }
        let busy: u64 = slices
            .iter()
            .filter(|s| s.goid.is_some())
            .map(|s| s.end_ns - s.start_ns)
            .sum();
        let idle: u64 = slices
            .iter()
            .filter(|s| s.goid.is_none())
            .map(|s| s.end_ns - s.start_ns)
            .sum();
        let row = report.scheduler.idle.ps.per_p.iter().find(|r| r.p_id == *p);
        let row = row.expect("P in the report");
        assert_eq!((busy, idle), (row.busy_ns, row.idle_ns), "P {p}");
    }
}

#[test]
fn each_flow_ends_at_a_run_of_the_readied_goroutine() {
    let (_, records) = run(stream());
    let runs: Vec<GoroutineSlice> = goroutine_slices(&records)
        .into_iter()
        .filter(is_running)
        .collect();
    let flows: Vec<Flow> = records
        .iter()
        .filter_map(|r| match r {
            TimelineRecord::Flow(f) => Some(*f),
            _ => None,
        })
        .collect();
    // Three creations (first runs) and one ready (11 readied 10).
    assert_eq!(flows.len(), 4, "{flows:?}");
    for f in &flows {
        assert!(f.from_ns <= f.to_ns, "{f:?}");
        assert!(
            runs.iter()
                .any(|s| s.goid == f.to_goid && s.start_ns == f.to_ns),
            "{f:?} ends at no run"
        );
    }
    let ready = flows.iter().find(|f| f.kind == FlowKind::Ready).unwrap();
    assert_eq!(
        (ready.from_goid, ready.to_goid, ready.to_p),
        (11, 10, Some(1))
    );
}

#[test]
fn scheduler_samples_become_counters() {
    let (_, records) = run(stream());
    let counters: Vec<(CounterKind, i64)> = records
        .iter()
        .filter_map(|r| match r {
            TimelineRecord::Counter(c) => Some((c.kind, c.value)),
            _ => None,
        })
        .collect();
    use CounterKind::*;
    assert_eq!(
        counters,
        [
            (IdlePs, 1),
            (SpinningMs, 0),
            (GlobalRunQueue, 2),
            (Gomaxprocs, 2),
            (IdlePs, 0),
            (SpinningMs, 1),
            (GlobalRunQueue, 0),
            (Gomaxprocs, 2),
        ]
    );
}

#[test]
fn instants_of_the_scheduler_decisions() {
    let (_, records) = run(stream());
    let kinds: Vec<InstantKind> = records
        .iter()
        .filter_map(|r| match r {
            TimelineRecord::Instant(i) => Some(i.kind),
            _ => None,
        })
        .filter(|k| !matches!(k, InstantKind::GoCreate { .. }))
        .collect();
    assert_eq!(
        kinds,
        [
            InstantKind::PreemptRequest {
                goid: 11,
                p: 0,
                by_sysmon: true
            },
            InstantKind::SigurgSent {
                target_tid: 1000,
                queued: true
            },
            InstantKind::SigurgDelivered,
            InstantKind::AsyncPreempt {
                goid: 11,
                stack: Some(StackKey::Captured(ASYNC_STACK))
            },
            InstantKind::Steal {
                thief_p: 1,
                victim_p: 0,
                taken: 1
            },
            InstantKind::StwBegin { reason: Some(2) },
            InstantKind::StwStopped,
            InstantKind::StwEnd,
            InstantKind::GcStart { trigger_kind: 0 },
        ]
    );
}

#[test]
fn stacks_come_out_as_frames() {
    let (_, records) = run(stream());
    let stacks: BTreeMap<StackKey, Vec<String>> = records
        .iter()
        .filter_map(|r| match r {
            TimelineRecord::Stack(s) => {
                Some((s.key, s.frames.iter().map(|f| f.function.clone()).collect()))
            }
            _ => None,
        })
        .collect();
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        stacks,
        BTreeMap::from([
            (
                StackKey::Captured(PARK_STACK),
                names(&["main.recv", "main.main"])
            ),
            (
                StackKey::Captured(ASYNC_STACK),
                names(&["main.spin", "main.main"])
            ),
            // The start function, unknown to the test symbolizer: its address.
            (StackKey::Start(START_PC), names(&["0x400000"])),
        ])
    );
    let park = &test_meta().stacks[&PARK_STACK];
    let emitted = records.iter().find_map(|r| match r {
        TimelineRecord::Stack(s) if s.key == StackKey::Captured(PARK_STACK) => Some(&s.frames),
        _ => None,
    });
    assert_eq!(emitted, Some(park), "frames keep file and line");
}

#[test]
fn thread_slices_sum_to_the_on_and_off_cpu_time_of_the_report() {
    let (report, records) = run(stream());
    let mut cpu: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
    let mut involuntary = 0;
    for r in &records {
        if let TimelineRecord::Thread(t) = r {
            let e = cpu.entry(t.tid).or_default();
            let d = t.end_ns - t.start_ns;
            if t.on_cpu {
                e.0 += d;
            } else {
                e.1 += d;
            }
            involuntary += u64::from(t.end == ThreadEnd::Involuntary);
        }
    }
    for row in &report.threads.per_thread {
        let got = cpu.get(&row.tid).copied().unwrap_or_default();
        assert_eq!(got, (row.on_cpu_ns, row.off_cpu_ns), "thread {}", row.tid);
    }
    let reported: u64 = report
        .threads
        .per_thread
        .iter()
        .map(|t| t.involuntary_switches)
        .sum();
    assert_eq!(involuntary, reported);
    assert_eq!(involuntary, 1);
}
