//! Tests of the LockOSThread section on synthetic streams, through the whole engine.

use goroscope_events::{Event, EventKind, Level, Meta};

use super::LockingReport;
use crate::sched::syscalls::tests::report;
use crate::testutil::{location, meta, wait, StreamBuilder};
use crate::Options;

const SITE: u64 = 0x4b_1000;

fn site_meta() -> Meta {
    meta(&[(SITE, location("main.locker", 30))])
}

fn locking(events: Vec<Event>, meta: &Meta, end_ns: u64) -> LockingReport {
    let options = Options {
        start_ns: Some(1_000_000),
        end_ns: Some(end_ns),
        ..Options::default()
    };
    report(events, meta, options).scheduler.locking
}

fn start(s: &mut StreamBuilder, goid: u64, locked: bool) {
    s.emit(EventKind::GoStart {
        goid,
        p_id: 0,
        m_id: 3,
        inherit_time: false,
        locked,
    });
}

fn lock(s: &mut StreamBuilder, goid: u64) {
    s.emit(EventKind::LockOSThread { goid });
}

fn unlock(s: &mut StreamBuilder, goid: u64) {
    s.emit(EventKind::UnlockOSThread { goid });
}

#[test]
fn nested_locks_end_at_the_last_unlock() {
    let mut s = StreamBuilder::new(); // t = 1_000_000
    s.on(0, 100).go_create(10, 1, SITE).advance(100);
    start(&mut s, 10, false);
    s.advance(100);
    lock(&mut s, 10); // 1_000_200
    s.advance(1_000);
    lock(&mut s, 10);
    s.advance(1_000);
    unlock(&mut s, 10); // still locked once
    s.advance(1_000);
    unlock(&mut s, 10); // 1_003_200: unlocked
    let r = locking(s.build(), &site_meta(), 2_000_000);
    let l = &r.lock_os_thread;
    assert!(l.coverage.captured);
    assert_eq!((l.calls, l.unlock_calls, l.goroutines), (2, 2, 1));
    let g = &l.by_goroutine[0];
    assert_eq!(
        (g.goid, g.function.as_str(), g.line),
        (10, "main.locker", 30)
    );
    assert_eq!((g.locks, g.unlocks), (2, 2));
    assert_eq!(g.first_lock_ns, Some(200));
    assert_eq!((g.locked_ns, g.bound.as_str()), (Some(3_000), "unlock"));
    assert!(!g.exited_locked && !g.locked_before_trace);
}

#[test]
fn unseen_unlock_is_bounded_by_the_last_locked_start() {
    let mut s = StreamBuilder::new();
    s.on(0, 100).go_create(10, 1, SITE).advance(100);
    start(&mut s, 10, false);
    lock(&mut s, 10); // 1_000_100
    s.advance(500).go_park(10, wait::SLEEP).advance(500);
    start(&mut s, 10, true); // 1_001_100: still locked
    s.advance(500).go_park(10, wait::SLEEP).advance(500);
    start(&mut s, 10, false); // unlocked in between (inlined UnlockOSThread)
                              // Goroutine 11: locked, then runs unlocked with no locked start in between.
    s.on(1, 101).go_create(11, 1, SITE).advance(100);
    start(&mut s, 11, false); // 1_002_200
    lock(&mut s, 11);
    s.advance(400).go_park(11, wait::SLEEP).advance(600);
    start(&mut s, 11, false); // 1_003_200
    let r = locking(s.build(), &site_meta(), 2_000_000);
    let rows: Vec<(u64, Option<u64>, &str)> = r
        .lock_os_thread
        .by_goroutine
        .iter()
        .map(|g| (g.goid, g.locked_ns, g.bound.as_str()))
        .collect();
    assert_eq!(
        rows,
        // Equal times: by goid.
        [
            (10, Some(1_000), "last_locked_start"),
            (11, Some(1_000), "unlocked_start")
        ]
    );
}

#[test]
fn exit_while_locked_destroys_the_thread() {
    let mut s = StreamBuilder::new();
    s.on(0, 100).m_start(3).go_create(10, 1, SITE).advance(100);
    start(&mut s, 10, false);
    lock(&mut s, 10); // 1_000_100
    s.advance(2_000).emit(EventKind::GoExit {
        goid: 10,
        locked: true,
    });
    s.advance(50).m_exit(3).advance(10).thread_exit();
    // Goroutine 12 exits locked on thread 101, which then runs another goroutine: kept.
    s.on(1, 101).go_create(12, 1, SITE).advance(10);
    start(&mut s, 12, false);
    lock(&mut s, 12);
    s.advance(10).emit(EventKind::GoExit {
        goid: 12,
        locked: true,
    });
    s.advance(10).go_create(13, 1, SITE);
    start(&mut s, 13, false);
    s.advance(10).m_exit(4);
    // Goroutine 14 exits having unlocked unseen: not exited locked; until its exit.
    s.on(0, 102).go_create(14, 1, SITE).advance(10);
    start(&mut s, 14, false);
    lock(&mut s, 14);
    s.advance(700).go_exit(14);
    s.on(0, 103).emit(EventKind::MPark { m_id: 5 });

    let r = locking(s.build(), &site_meta(), 2_000_000);
    assert_eq!(
        (
            r.exited_locked.goroutines,
            r.exited_locked.threads_destroyed
        ),
        (2, 1)
    );
    let g10 = r.lock_os_thread.by_goroutine.iter().find(|g| g.goid == 10);
    let g10 = g10.expect("goroutine 10 listed");
    assert_eq!(
        (g10.locked_ns, g10.bound.as_str()),
        (Some(2_000), "exit_locked")
    );
    let d = g10.destroyed_thread.as_ref().expect("its thread");
    assert_eq!(
        (d.tid, d.m_id, d.m_exit_seen, d.thread_exit_seen),
        (100, Some(3), true, true)
    );
    let g12 = r.lock_os_thread.by_goroutine.iter().find(|g| g.goid == 12);
    let d = g12
        .and_then(|g| g.destroyed_thread.as_ref())
        .expect("its thread");
    assert_eq!(
        (d.tid, d.m_exit_seen, d.thread_exit_seen),
        (101, false, false)
    );
    let g14 = r.lock_os_thread.by_goroutine.iter().find(|g| g.goid == 14);
    let g14 = g14.expect("goroutine 14 listed");
    assert_eq!(
        (g14.locked_ns, g14.bound.as_str(), g14.exited_locked),
        (Some(700), "exit", false)
    );
    assert_eq!((r.ms.started, r.ms.exited, r.ms.parked), (1, 2, Some(1)));
}

#[test]
fn locked_before_the_trace_counts_from_the_start() {
    let mut s = StreamBuilder::new();
    s.at(1_500_000).on(0, 100);
    start(&mut s, 7, true);
    let r = locking(s.build(), &meta(&[]), 2_000_000);
    let g = &r.lock_os_thread.by_goroutine[0];
    assert!(g.locked_before_trace);
    assert_eq!(g.locks, 0);
    assert_eq!(g.first_lock_ns, None);
    // Still locked at the end: from the trace start (1 ms) to the end (2 ms).
    assert_eq!(
        (g.locked_ns, g.bound.as_str()),
        (Some(1_000_000), "end_of_trace")
    );
    assert_eq!(g.function, crate::PREEXISTING_FUNCTION);
}

#[test]
fn the_monitor_level_cannot_bound_an_unseen_unlock() {
    let mut s = StreamBuilder::new();
    s.on(0, 100).m_start(1);
    lock(&mut s, 10);
    let r = locking(s.build(), &meta(&[]).with_level(Level::Monitor), 2_000_000);
    let g = &r.lock_os_thread.by_goroutine[0];
    assert_eq!((g.locked_ns, g.bound.as_str()), (None, "unknown"));
    assert!(!r.exited_locked.coverage.captured);
    assert!(r.ms.coverage.captured);
    assert_eq!((r.ms.started, r.ms.parked), (1, None));
    assert!(r.ms.parked_why.is_some());
    let json = serde_json::to_value(&r).expect("serializable");
    assert_eq!(json["exited_locked"]["captured"], false);
    assert!(json["ms"]["parked"].is_null());
}

#[test]
fn exit_while_locked_on_the_main_thread_wedges_it() {
    // runtime.mexit: "This is the main thread. Just wedge it." M0 is parked for good, its
    // thread lives until the process exits.
    let mut s = StreamBuilder::new();
    s.on(0, 100).m_start(0).go_create(10, 1, SITE).advance(100);
    start(&mut s, 10, false);
    lock(&mut s, 10);
    s.advance(2_000).emit(EventKind::GoExit {
        goid: 10,
        locked: true,
    });
    s.advance(50).m_exit(0);
    s.on(1, 101)
        .m_start(1)
        .advance(1_000)
        .m_exit(1)
        .thread_exit();
    let r = locking(s.build(), &site_meta(), 2_000_000);
    let e = &r.exited_locked;
    assert_eq!(
        (e.goroutines, e.threads_destroyed, e.threads_wedged),
        (1, 0, 1)
    );
    let g10 = &r.lock_os_thread.by_goroutine[0];
    let d = g10.destroyed_thread.as_ref().expect("its thread");
    assert_eq!((d.tid, d.m_id, d.wedged), (100, Some(0), true));
    assert_eq!((r.ms.started, r.ms.exited, r.ms.wedged), (2, 1, 1));
}

#[test]
fn goroutines_locked_before_the_trace_made_no_call() {
    // The main goroutine runs locked (the runtime locks it during init) before any call is
    // seen; two others call LockOSThread: 2 calls by 2 goroutines, 3 goroutines locked.
    let mut s = StreamBuilder::new();
    s.at(1_000_100).on(0, 100);
    start(&mut s, 1, true);
    for goid in [20, 21] {
        s.advance(10).go_create(goid, 1, SITE);
        start(&mut s, goid, false);
        lock(&mut s, goid);
    }
    let r = locking(s.build(), &site_meta(), 2_000_000);
    let l = &r.lock_os_thread;
    assert_eq!(
        (
            l.calls,
            l.goroutines,
            l.goroutines_calling,
            l.goroutines_locked_before_trace
        ),
        (2, 3, 2, 1)
    );
}

/// At the default level: no goroutine exits, but each M exit (M0's aside) is a goroutine that
/// exited locked; the one that last locked the thread, whose site a runtime sample gave.
#[test]
fn m_exits_count_the_threads_destroyed_and_samples_name_the_site() {
    let sample = |s: &mut StreamBuilder, goid: u64| {
        s.emit(EventKind::GoSample {
            goid,
            creation_pc: SITE,
            start_pc: 0x4c_0000,
            runnable_ns: 1_000,
            p_id: 0,
            m_id: 3,
            wait_reason: 0,
            first_run: true,
            locked: false,
            stack_id: None,
            stack_cut: false,
        });
    };
    let mut s = StreamBuilder::new();
    // Thread 100: goroutine 10 sampled at its first run, then locks; its M exits.
    s.on(0, 100).m_start(3);
    sample(&mut s, 10);
    lock(&mut s, 10);
    s.advance(1_000).m_exit(3).thread_exit();
    // Thread 101: goroutine 11 locks unsampled (a sample of another goroutine came before).
    s.on(1, 101).m_start(4);
    sample(&mut s, 12);
    lock(&mut s, 11);
    s.advance(1_000).m_exit(4).thread_exit();
    // Thread 102: its goroutine's lock was not seen; its thread exit comes after the trace.
    s.on(0, 102).m_start(5).advance(1_000).m_exit(5);
    // The main thread is wedged, not destroyed.
    s.on(1, 103).advance(1_000).m_exit(0);
    let r = locking(
        s.build(),
        &site_meta().with_level(Level::Default),
        2_000_000,
    );
    assert!(!r.exited_locked.coverage.captured);
    let d = &r.threads_destroyed;
    assert!(d.coverage.captured);
    assert_eq!(
        (d.threads, d.lock_seen, d.site_known, d.thread_exits),
        (3, 2, 1, 2)
    );
    assert_eq!(
        (
            d.by_site[0].function.as_str(),
            d.by_site[0].line,
            d.by_site[0].threads
        ),
        ("main.locker", 30, 1)
    );
    let goids: Vec<Option<u64>> = d.examples.iter().map(|e| e.goid).collect();
    assert_eq!(goids, [Some(10), Some(11), None]);
}
