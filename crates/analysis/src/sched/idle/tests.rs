//! Idle Ps, parked Ms and runtime samples on hand-made streams; expected times are the ones
//! the streams were built with.

use goroscope_events::{EventKind, Level, Meta, VecSource};

use super::*;
use crate::testutil::StreamBuilder;
use crate::{analyze, Options};

const MS: u64 = 1_000_000;

fn run(s: &StreamBuilder, level: Level) -> IdleReport {
    let meta = Meta::new("go1.22.10").with_level(level);
    analyze(
        &mut VecSource::with_batch(s.build(), 7),
        &meta,
        Options::default(),
    )
    .expect("a VecSource never fails")
    .scheduler
    .idle
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

fn park(s: &mut StreamBuilder, goid: u64) {
    s.emit(EventKind::GoPark {
        goid,
        wait_reason: 14,
        stack_id: None,
    });
}

fn row(r: &IdleReport, p: i32) -> (u64, u64, u64) {
    let row =
        r.ps.per_p
            .iter()
            .find(|row| row.p_id == p)
            .unwrap_or_else(|| panic!("no row for P {p}: {:?}", r.ps.per_p));
    (row.counted_ns, row.busy_ns, row.idle_ns)
}

#[test]
fn busy_and_idle_per_p_over_the_trace() {
    let mut s = StreamBuilder::new();
    s.on(0, 100).emit(EventKind::ProcResize { nprocs: 2 });
    s.advance(MS);
    start(&mut s, 10, 0);
    s.advance(4 * MS);
    park(&mut s, 10);
    s.advance(5 * MS).on(1, 200).m_start(2); // trace ends 10 ms after the resize
    let r = run(&s, Level::Full);
    assert!(r.ps.coverage.captured);
    assert_eq!(r.ps.gomaxprocs_at_end, Some(2));
    assert_eq!(row(&r, 0), (10 * MS, 4 * MS, 6 * MS));
    assert_eq!(row(&r, 1), (10 * MS, 0, 10 * MS));
    assert_eq!((r.ps.busy_ns, r.ps.idle_ns), (4 * MS, 16 * MS));
    assert_eq!(r.ps.per_p[0].busy_percent, 40.0);
}

#[test]
fn ps_beyond_gomaxprocs_are_not_idle() {
    let mut s = StreamBuilder::new();
    s.on(0, 100).emit(EventKind::ProcResize { nprocs: 4 });
    s.advance(2 * MS).emit(EventKind::ProcResize { nprocs: 2 });
    s.advance(8 * MS).m_start(2);
    let r = run(&s, Level::Full);
    assert_eq!(row(&r, 0), (10 * MS, 0, 10 * MS));
    assert_eq!(row(&r, 1), (10 * MS, 0, 10 * MS));
    assert_eq!(row(&r, 2), (2 * MS, 0, 2 * MS));
    assert_eq!(row(&r, 3), (2 * MS, 0, 2 * MS));
}

#[test]
fn ps_count_from_first_sight_and_slices_that_run_at_the_end_are_busy() {
    let mut s = StreamBuilder::new();
    s.on(0, 100);
    start(&mut s, 10, 0); // P 0 seen at 0
    s.advance(5 * MS).on(1, 200);
    start(&mut s, 11, 1); // P 1 seen at 5 ms, runs until the end
    s.advance(MS).on(0, 100);
    park(&mut s, 10); // P 0 busy 6 ms
    s.advance(4 * MS).on(2, 300).m_start(5); // end at 10 ms
    let r = run(&s, Level::Full);
    assert_eq!(r.ps.gomaxprocs_at_end, None);
    assert_eq!(row(&r, 0), (10 * MS, 6 * MS, 4 * MS));
    assert_eq!(row(&r, 1), (5 * MS, 5 * MS, 0));
}

#[test]
fn a_run_resumed_after_a_syscall_keeps_its_p_busy() {
    let mut s = StreamBuilder::new();
    s.on(0, 100).emit(EventKind::ProcResize { nprocs: 1 });
    start(&mut s, 10, 0);
    s.advance(MS).emit(EventKind::SyscallEnter {
        goid: 10,
        blocking: false,
    });
    s.advance(2 * MS).emit(EventKind::SyscallExit {
        goid: 10,
        lost_p: false,
    });
    s.advance(3 * MS);
    park(&mut s, 10);
    s.advance(4 * MS).m_start(1);
    let r = run(&s, Level::Full);
    // Busy 1 ms before the syscall and 3 ms after it; idle during the syscall and at the end.
    assert_eq!(row(&r, 0), (10 * MS, 4 * MS, 6 * MS));
}

#[test]
fn m_parks_and_runtime_samples() {
    let mut s = StreamBuilder::new();
    s.on(0, 100);
    for m_id in [1, 2, 1] {
        s.advance(MS).emit(EventKind::MPark { m_id });
    }
    for (npidle, nmspinning, global_runq) in [(1, 0, 5), (2, 1, 0), (3, 0, 1)] {
        s.advance(10 * MS).emit(EventKind::SchedSample {
            npidle,
            nmspinning,
            global_runq,
            gomaxprocs: 4,
        });
    }
    let r = run(&s, Level::Full);
    assert_eq!(r.m_parks.total, 3);
    assert_eq!(
        r.m_parks.per_m,
        vec![
            MParkRow { m_id: 1, parks: 2 },
            MParkRow { m_id: 2, parks: 1 }
        ]
    );
    let smp = &r.samples;
    assert!(smp.coverage.captured);
    assert_eq!(smp.count, 3);
    assert_eq!((smp.npidle.mean, smp.npidle.max), (2.0, 3));
    assert_eq!((smp.nmspinning.mean, smp.nmspinning.max), (1.0 / 3.0, 1));
    assert_eq!((smp.global_runq.mean, smp.global_runq.max), (2.0, 5));
    // The first sample made P 0..3 known: 20 ms to the last sample.
    assert_eq!(r.ps.gomaxprocs_at_end, Some(4));
    assert_eq!(row(&r, 3), (20 * MS, 0, 20 * MS));
}

#[test]
fn missing_data_is_said_not_zeroed() {
    let mut s = StreamBuilder::new();
    s.on(0, 100).emit(EventKind::ProcResize { nprocs: 2 });
    s.advance(MS).m_start(1);
    let r = run(&s, Level::Monitor);
    assert!(!r.ps.coverage.captured);
    assert!(!r.m_parks.coverage.captured);
    assert!(!r.samples.coverage.captured);
    let json = serde_json::to_value(&r).unwrap();
    for section in ["ps", "m_parks", "samples"] {
        assert_eq!(json[section]["captured"], false, "{section}");
        assert!(json[section]["why"].is_string(), "{section}");
    }
}
