//! Tests of the stop-the-world section on synthetic streams, through the whole engine. Reason
//! values are Go 1.21–1.27's `stwReason` (runtime/proc.go): 1 mark termination, 2 sweep
//! termination, 7 read mem stats, 9 GOMAXPROCS.

use goroscope_events::{EventKind, Level, Meta, WaitReasons};

use super::{StwReport, MARK_TERMINATION, SWEEP_TERMINATION};
use crate::sched::syscalls::tests::report;
use crate::testutil::{meta, StreamBuilder};
use crate::Options;

fn stw(s: &StreamBuilder, meta: &Meta) -> StwReport {
    let options = Options {
        start_ns: Some(1_000_000),
        ..Options::default()
    };
    report(s.build(), meta, options).scheduler.stop_the_world
}

/// One pause: begin, stopped after `stopping`, end after `stopped`.
fn pause(s: &mut StreamBuilder, reason: Option<u8>, stopping: u64, stopped: u64) {
    s.emit(EventKind::StwBegin { reason })
        .advance(stopping)
        .emit(EventKind::StwStopped)
        .advance(stopped)
        .emit(EventKind::StwEnd)
        .advance(1_000);
}

fn gc_start(s: &mut StreamBuilder, trigger_kind: u32) {
    s.emit(EventKind::GcStart { trigger_kind }).advance(10);
}

#[test]
fn pauses_by_reason_with_the_runtime_reason() {
    let mut s = StreamBuilder::new();
    s.on(0, 100).advance(500);
    gc_start(&mut s, 2);
    pause(&mut s, Some(2), 10_000, 20_000); // sweep termination: total 30 µs
    pause(&mut s, Some(1), 5_000, 60_000); // mark termination: 65 µs
    gc_start(&mut s, 0);
    pause(&mut s, Some(2), 1_000, 2_000);
    pause(&mut s, Some(1), 1_000, 3_000);
    pause(&mut s, Some(7), 400, 600); // read mem stats
                                      // No string table in the recording: Go 1.21–1.27's table is used.
    let r = stw(&s, &meta(&[]));
    assert!(r.coverage.captured);
    assert_eq!(r.reasons_from, "runtime");
    assert_eq!(r.count, 5);
    assert_eq!(r.total_ns, 30_000 + 65_000 + 3_000 + 4_000 + 1_000);
    assert_eq!(r.stopped_ns, 20_000 + 60_000 + 2_000 + 3_000 + 600);
    assert_eq!(r.max_ns, 65_000);
    assert_eq!((r.incomplete, r.ends_without_begin), (0, 0));
    let reasons: Vec<(&str, u64, u64, u64, u64, u64)> = r
        .by_reason
        .iter()
        .map(|r| {
            (
                r.reason.as_str(),
                r.count,
                r.total_ns,
                r.max_ns,
                r.stopping_ns,
                r.stopped_ns,
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            (MARK_TERMINATION, 2, 69_000, 65_000, 6_000, 63_000),
            (SWEEP_TERMINATION, 2, 33_000, 30_000, 11_000, 22_000),
            ("read mem stats", 1, 1_000, 1_000, 400, 600),
        ]
    );
    let first = &r.longest[0];
    assert_eq!(
        (
            first.reason.as_str(),
            first.raw_reason,
            first.inferred,
            first.tid
        ),
        (MARK_TERMINATION, Some(1), false, 100)
    );
    // Second pause: begins after 500 + 10 (gc_start) + 30_000 + 1_000 since the start.
    assert_eq!(first.at_ns, 31_510);
    assert_eq!(
        (first.stopping_ns, first.stopped_ns, first.total_ns),
        (Some(5_000), Some(60_000), Some(65_000))
    );
    assert_eq!(r.gc.cycles, 2);
    let g = r.gc.gc_start_calls;
    assert_eq!((g.total, g.heap, g.time, g.cycle, g.other), (2, 1, 0, 1, 0));
}

#[test]
fn the_recordings_reason_table_wins() {
    let mut s = StreamBuilder::new();
    pause(&mut s, Some(9), 100, 100);
    let meta = meta(&[]).with_stw_reasons(WaitReasons([(9, "GOMAXPROCS".to_string())].into()));
    assert_eq!(stw(&s, &meta).by_reason[0].reason, "GOMAXPROCS");
    let mut s = StreamBuilder::new();
    pause(&mut s, Some(200), 100, 100);
    assert_eq!(stw(&s, &meta).by_reason[0].reason, "stwReason 200");
}

#[test]
fn go_1_19_reasons_are_inferred_from_the_gc_cycle() {
    let mut s = StreamBuilder::new();
    pause(&mut s, None, 100, 100); // no GC started: unknown
    gc_start(&mut s, 0);
    pause(&mut s, None, 100, 100); // sweep termination
    gc_start(&mut s, 0); // a cycle runs: this call returns early
    pause(&mut s, None, 100, 100); // mark termination
    pause(&mut s, None, 100, 100); // unknown again
    let r = stw(&s, &meta(&[]));
    assert_eq!(r.reasons_from, "inferred");
    let mut order: Vec<(u64, &str, bool)> = r
        .longest
        .iter()
        .map(|p| (p.at_ns, p.reason.as_str(), p.inferred))
        .collect();
    order.sort();
    let reasons: Vec<&str> = order.iter().map(|o| o.1).collect();
    assert_eq!(
        reasons,
        ["unknown", SWEEP_TERMINATION, MARK_TERMINATION, "unknown"]
    );
    assert!(order.iter().all(|o| o.2));
    assert_eq!(r.gc.cycles, 1);
    assert_eq!(r.gc.gc_start_calls.heap, 2);
}

#[test]
fn lost_events_leave_incomplete_pauses() {
    let mut s = StreamBuilder::new();
    // Begin and stopped, end lost: the next begin closes it as incomplete.
    s.emit(EventKind::StwBegin { reason: Some(4) })
        .advance(100)
        .emit(EventKind::StwStopped)
        .advance(100);
    pause(&mut s, Some(7), 200, 300);
    // Begin lost: stopped → end only.
    s.emit(EventKind::StwStopped)
        .advance(700)
        .emit(EventKind::StwEnd);
    // An end with nothing open.
    s.advance(10).emit(EventKind::StwEnd);
    // The trace ends during a pause.
    s.advance(10).emit(EventKind::StwBegin { reason: Some(2) });
    let r = stw(&s, &meta(&[]));
    assert_eq!((r.count, r.incomplete, r.ends_without_begin), (4, 3, 1));
    assert_eq!(r.total_ns, 500);
    assert_eq!(r.stopped_ns, 300 + 700);
    let lost_begin = r
        .longest
        .iter()
        .find(|p| p.stopped_ns == Some(700))
        .expect("the pause without a begin");
    assert_eq!(
        (lost_begin.reason.as_str(), lost_begin.total_ns),
        ("unknown", None)
    );
    assert_eq!(r.gc.cycles, 1, "the open sweep termination counts");
}

#[test]
fn json_and_empty_sections() {
    let mut s = StreamBuilder::new();
    pause(&mut s, Some(2), 1_000, 2_000);
    let r = stw(&s, &meta(&[]));
    // Monitor level, nothing seen: captured (the level traces STW), zero pauses.
    let empty = stw(&StreamBuilder::new(), &meta(&[]).with_level(Level::Monitor));
    assert!(empty.coverage.captured);
    assert_eq!((empty.count, empty.reasons_from.as_str()), (0, "none"));
    let json = serde_json::to_value(&r).expect("serializable");
    assert_eq!(json["longest"][0]["stopped_ns"], 2_000);
    assert_eq!(json["gc"]["cycles"], 1);
}
