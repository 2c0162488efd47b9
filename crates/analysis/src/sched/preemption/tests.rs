//! Hand-made preemption scenarios through the whole analyzer; the expected numbers are those
//! the streams were built with.

use std::sync::Arc;

use goroscope_events::{EventKind, Level, Location, Meta, TableSymbolizer, VecSource};

use super::*;
use crate::testutil::StreamBuilder;
use crate::{analyze, Options};

const HOG_PC: u64 = 0x5000;
const WORKER_PC: u64 = 0x6000;
const MS: u64 = 1_000_000;
const SYSMON_TID: u32 = 50;

fn meta(level: Level) -> Meta {
    let mut sym = TableSymbolizer::new();
    for (pc, function) in [(HOG_PC, "main.hog"), (WORKER_PC, "main.worker")] {
        sym.add_range(
            pc,
            pc + 0x100,
            Location {
                function: function.to_string(),
                file: "/src/app/main.go".to_string(),
                line: 10,
            },
        );
    }
    Meta::new("go1.22.10")
        .with_level(level)
        .with_symbolizer(Arc::new(sym))
}

fn run(s: &StreamBuilder, meta: &Meta) -> PreemptionReport {
    analyze(
        &mut VecSource::with_batch(s.build(), 7),
        meta,
        Options::default(),
    )
    .expect("a VecSource never fails")
    .scheduler
    .preemption
}

fn create(s: &mut StreamBuilder, goid: u64, start_pc: u64) {
    s.emit(EventKind::GoCreate {
        goid,
        parent_goid: 1,
        creation_pc: 0x1000,
        start_pc,
        p_id: 0,
    });
}

fn start(s: &mut StreamBuilder, goid: u64, p_id: i32) {
    s.emit(EventKind::GoStart {
        goid,
        p_id,
        m_id: 0,
        inherit_time: false,
        locked: false,
    });
}

fn yield_(s: &mut StreamBuilder, goid: u64, preempted: Option<bool>) {
    s.emit(EventKind::GoYield { goid, preempted });
}

/// A CPU hog on P 0 (thread 100) that sysmon preempts every 10 ms with SIGURG; a worker runs
/// 50 µs in between; the hog is still running at the end.
fn hog_stream() -> StreamBuilder {
    let mut s = StreamBuilder::new();
    s.on(0, 100);
    create(&mut s, 7, HOG_PC);
    create(&mut s, 8, WORKER_PC);
    for round in 0..3 {
        s.on(0, 100);
        start(&mut s, 7, 0);
        s.advance(10 * MS);
        s.on(1, SYSMON_TID).emit(EventKind::PreemptRequest {
            goid: 7,
            p_id: 0,
            by_sysmon: true,
        });
        s.emit(EventKind::SignalSend {
            sig: SIGURG,
            target_tid: 100,
            result: 0,
        });
        s.advance(1_000).on(0, 100);
        s.emit(EventKind::SignalDeliver { sig: SIGURG });
        s.emit(EventKind::AsyncPreempt {
            goid: 7,
            stack_id: None,
        });
        yield_(&mut s, 7, Some(true));
        start(&mut s, 8, 0);
        s.advance(50_000);
        s.emit(EventKind::GoPark {
            goid: 8,
            wait_reason: 14,
            stack_id: None,
        });
        if round < 2 {
            s.emit(EventKind::GoReady {
                goid: 8,
                by_goid: 0,
                p_id: 0,
                next: false,
            });
        }
    }
    s.on(0, 100);
    start(&mut s, 7, 0);
    s.advance(30 * MS);
    // Something on another thread ends the trace 30 ms later.
    s.on(1, 200).m_start(3);
    s
}

#[test]
fn a_hog_sliced_by_async_preemptions_comes_out_on_top() {
    let r = run(&hog_stream(), &meta(Level::Full));
    let c = &r.preemptions;
    assert!(c.coverage.captured);
    assert_eq!(
        (c.async_preemptions, c.async_then_yield, c.cooperative),
        (3, 3, 0)
    );
    assert_eq!(r.requests.by_sysmon, 3);
    assert_eq!(
        r.requests.sysmon_per_p,
        vec![PCount {
            p_id: 0,
            requests: 3
        }]
    );
    let rf = &r.requests.sysmon_target_running_for;
    assert!(rf.coverage.captured);
    assert_eq!((rf.summary.count, rf.summary.max_ns), (3, 10 * MS));
    assert_eq!(
        (r.sigurg.sent, r.sigurg.delivered, r.sigurg.not_queued),
        (3, 3, 0)
    );

    let t = &r.time_slices;
    // Completed: 3 hog slices of 10 ms + 1 µs, 3 worker slices of 50 µs.
    assert_eq!(t.summary.count, 6);
    assert_eq!(t.summary.max_ns, 10 * MS + 1_000);
    assert_eq!(t.open_at_end, 1);
    let hog = &t.top_goroutines[0];
    assert_eq!((hog.goid, hog.function.as_str()), (7, "main.hog"));
    // The last, unfinished run (30 ms) is the longest.
    assert_eq!(hog.max_slice_ns, 30 * MS);
    assert_eq!(hog.running_ns, 3 * (10 * MS + 1_000) + 30 * MS);
    // Four GoStarts, the last one still running.
    assert_eq!(
        (hog.slices, hog.async_preemptions, hog.sysmon_requests),
        (4, 3, 3)
    );
    assert_eq!(t.top_goroutines[1].goid, 8);
    assert_eq!(t.top_goroutines[1].running_ns, 150_000);
    assert_eq!(t.top_functions[0].function, "main.hog");
    assert_eq!(t.top_functions[1].function, "main.worker");
}

#[test]
fn cooperative_voluntary_and_gc_parks_are_told_apart() {
    let mut s = StreamBuilder::new();
    s.on(0, 100);
    start(&mut s, 10, 0);
    s.advance(100);
    yield_(&mut s, 10, Some(true)); // no async preemption: stack-check preemption
    start(&mut s, 10, 0);
    yield_(&mut s, 10, Some(false)); // runtime.Gosched
    start(&mut s, 10, 0);
    yield_(&mut s, 10, None); // Go version without the flag
    start(&mut s, 10, 0);
    s.emit(EventKind::AsyncPreempt {
        goid: 10,
        stack_id: None,
    });
    s.emit(EventKind::GoPreemptPark { goid: 10 }); // async, then parked for a stack scan
                                                   // An async preemption whose yield was lost: the next start resets it.
    start(&mut s, 10, 0);
    s.emit(EventKind::AsyncPreempt {
        goid: 10,
        stack_id: None,
    });
    start(&mut s, 10, 0);
    yield_(&mut s, 10, Some(true));
    start(&mut s, 10, 0);
    s.emit(EventKind::GoPreemptPark { goid: 10 }); // suspendG at a safe point
    let c = run(&s, &meta(Level::Full)).preemptions;
    assert_eq!(c.async_preemptions, 2);
    assert_eq!((c.async_then_yield, c.async_then_preempt_park), (0, 1));
    assert_eq!(c.cooperative, 2);
    assert_eq!(c.voluntary_gosched, 1);
    assert_eq!(c.yield_reason_unknown, 1);
    assert_eq!(c.preempt_parks, 2);
}

#[test]
fn stw_requests_and_sigurg_per_thread() {
    let mut s = StreamBuilder::new();
    s.on(0, 100);
    s.emit(EventKind::PreemptRequest {
        goid: 0,
        p_id: 1,
        by_sysmon: false,
    });
    s.emit(EventKind::PreemptRequest {
        goid: 12,
        p_id: 0,
        by_sysmon: false,
    });
    for (target_tid, result) in [(101, 0), (101, 2), (102, 0)] {
        s.emit(EventKind::SignalSend {
            sig: SIGURG,
            target_tid,
            result,
        });
    }
    // Not SIGURG: ignored.
    s.emit(EventKind::SignalSend {
        sig: 17,
        target_tid: 101,
        result: 0,
    });
    s.on(1, 101).emit(EventKind::SignalDeliver { sig: SIGURG });
    s.emit(EventKind::SignalDeliver { sig: 17 });
    let r = run(&s, &meta(Level::Full));
    let q = &r.requests;
    assert_eq!((q.by_stw_or_gc, q.by_stw_or_gc_without_goroutine), (2, 1));
    assert_eq!(q.by_sysmon, 0);
    assert_eq!(
        (r.sigurg.sent, r.sigurg.not_queued, r.sigurg.delivered),
        (3, 1, 1)
    );
    assert_eq!(
        r.sigurg.per_thread,
        vec![
            SignalRow {
                tid: 101,
                sent: 2,
                not_queued: 1,
                delivered: 1
            },
            SignalRow {
                tid: 102,
                sent: 1,
                not_queued: 0,
                delivered: 0
            },
        ]
    );
}

#[test]
fn slice_lengths_end_at_every_kind_of_stop() {
    let mut s = StreamBuilder::new();
    s.on(0, 100);
    // 1 µs then park, 2 µs then syscall, 3 µs then exit, 4 µs then replaced on the thread,
    // 5 µs then preempt-park.
    start(&mut s, 20, 0);
    s.advance(1_000).emit(EventKind::GoPark {
        goid: 20,
        wait_reason: 14,
        stack_id: None,
    });
    start(&mut s, 21, 0);
    s.advance(2_000).emit(EventKind::SyscallEnter {
        goid: 21,
        blocking: false,
    });
    start(&mut s, 22, 1);
    s.advance(3_000).emit(EventKind::GoExit {
        goid: 22,
        locked: false,
    });
    start(&mut s, 23, 1);
    s.advance(4_000);
    start(&mut s, 24, 1);
    s.advance(5_000).emit(EventKind::GoPreemptPark { goid: 24 });
    let t = run(&s, &meta(Level::Full)).time_slices;
    assert_eq!(t.summary.count, 5);
    assert_eq!(t.summary.max_ns, 5_000);
    // Nearest rank of 1..=5 µs is 3 µs; above 2048 ns the histogram resolves to 1/1024.
    assert!(
        (3_000..=3_000 + 3).contains(&t.summary.p50_ns),
        "{}",
        t.summary.p50_ns
    );
    assert_eq!(t.open_at_end, 0);
    // Goroutines that existed before the trace have no start function.
    assert!(t.top_goroutines.iter().all(|g| g.function == "(unknown)"));
    assert_eq!(t.top_goroutines[0].goid, 24);
    assert_eq!(t.top_functions.len(), 1);
    assert_eq!(t.top_functions[0].goroutines, 5);
}

#[test]
fn the_monitor_level_measures_requests_but_not_slices() {
    let mut s = StreamBuilder::new();
    s.on(1, SYSMON_TID).emit(EventKind::PreemptRequest {
        goid: 7,
        p_id: 0,
        by_sysmon: true,
    });
    s.emit(EventKind::SignalSend {
        sig: SIGURG,
        target_tid: 100,
        result: 0,
    });
    let r = run(&s, &meta(Level::Monitor));
    assert_eq!(r.requests.by_sysmon, 1);
    assert_eq!(r.sigurg.sent, 1);
    assert!(!r.preemptions.coverage.captured);
    assert!(!r.time_slices.coverage.captured);
    assert!(!r.requests.sysmon_target_running_for.coverage.captured);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["time_slices"]["captured"], false);
    assert!(json["time_slices"]["why"]
        .as_str()
        .unwrap()
        .contains("monitor"));
    assert_eq!(json["preemptions"]["captured"], false);
}

/// The default level's view of the hog: sysmon's requests and signals, and the runtime's
/// samples (one of the hog stopped by SIGURG, one of the worker) — no `GoStart`.
#[test]
fn sysmon_targets_name_the_hog_from_its_samples_without_time_slices() {
    let mut s = StreamBuilder::new();
    for _ in 0..3 {
        s.advance(10 * MS).on(1, SYSMON_TID);
        s.emit(EventKind::PreemptRequest {
            goid: 7,
            p_id: 0,
            by_sysmon: true,
        });
        s.emit(EventKind::SignalSend {
            sig: SIGURG,
            target_tid: 100,
            result: 0,
        });
    }
    // A request for a P without a goroutine sends nothing; the next SIGURG (the program's
    // own, from another thread) is not the hog's.
    s.emit(EventKind::PreemptRequest {
        goid: 0,
        p_id: 1,
        by_sysmon: true,
    });
    s.on(0, 101).emit(EventKind::SignalSend {
        sig: SIGURG,
        target_tid: 100,
        result: 0,
    });
    for (goid, start_pc, stack_id) in [(7, HOG_PC, Some(1)), (8, WORKER_PC, None)] {
        s.advance(1_000).on(0, 100).emit(EventKind::GoSample {
            goid,
            creation_pc: 0x1000,
            start_pc,
            runnable_ns: 20_000,
            p_id: 0,
            m_id: 0,
            wait_reason: 0,
            first_run: false,
            locked: false,
            stack_id,
            stack_cut: false,
        });
    }
    let frame = |function: &str, line| Location {
        function: function.to_string(),
        file: "/src/app/main.go".to_string(),
        line,
    };
    let stopped = vec![
        frame("runtime.asyncPreempt2", 300),
        frame("runtime.asyncPreempt", 50),
        frame("main.hog", 14),
    ];
    let meta =
        meta(Level::Default).with_stacks(Arc::new([(1u32, stopped.clone())].into_iter().collect()));
    let r = run(&s, &meta);
    assert!(!r.time_slices.coverage.captured);
    let t = &r.sysmon_targets;
    assert!(t.coverage.captured);
    assert_eq!(t.goroutines, 1, "the worker was never asked to stop");
    let hog = &t.by_goroutine[0];
    assert_eq!(
        (
            hog.goid,
            hog.requests,
            hog.sigurg_sent,
            hog.function.as_str()
        ),
        (7, 3, 3, "main.hog")
    );
    assert_eq!((hog.samples, hog.preempted_samples), (1, 1));
    assert_eq!(hog.stopped_at, stopped);
    assert!(hog.created_at.is_some());
}
