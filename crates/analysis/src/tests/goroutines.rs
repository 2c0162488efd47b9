//! Goroutine lifecycle: creation sites, exits, leaks, mid-stream attach, goid reuse.

use super::run;
use crate::testutil::{g, location, meta, wait, StreamBuilder};
use crate::{SiteRow, PREEXISTING_FUNCTION};

const WORKER_PC: u64 = 0x48_1234;
const LEAK_PC: u64 = 0x48_2000;

fn site<'a>(rows: &'a [SiteRow], function: &str) -> &'a SiteRow {
    rows.iter()
        .find(|r| r.function == function)
        .unwrap_or_else(|| panic!("no site {function} in {rows:?}"))
}

#[test]
fn n_goroutines_created_and_exited_at_one_site() {
    const N: u64 = 50;
    let mut s = StreamBuilder::new();
    s.on(0, 100);
    for i in 0..N {
        s.goroutine_lifetime(100 + i, WORKER_PC, 1_000, 5_000)
            .advance(10);
    }
    let meta = meta(&[(WORKER_PC, location("main.spawn", 42))]);
    let r = run(s.build(), &meta);

    assert_eq!(
        (
            r.goroutines.created,
            r.goroutines.exited,
            r.goroutines.live_at_end
        ),
        (N, N, 0)
    );
    assert_eq!(r.goroutines.preexisting, 0);
    assert_eq!(r.goroutines.by_creation_site.len(), 1);
    let row = site(&r.goroutines.by_creation_site, "main.spawn");
    assert_eq!((row.file.as_str(), row.line), ("/src/app/main.go", 42));
    assert_eq!((row.created, row.exited, row.live_at_end), (N, N, 0));
    assert!(r.goroutines.leaked.is_empty());
    assert_eq!(r.anomalies.total, 0, "{:?}", r.anomalies);
}

#[test]
fn k_goroutines_leaked_on_chan_receive() {
    const N: u64 = 20;
    const K: u64 = 7;
    let mut s = StreamBuilder::new();
    s.on(1, 101);
    for i in 0..N {
        s.goroutine_lifetime(10 + i, WORKER_PC, 300, 700);
    }
    for i in 0..K {
        let goid = 100 + i;
        s.go_create(goid, 1, LEAK_PC)
            .go_status(goid, g::DEAD, g::RUNNABLE)
            .advance(100)
            .go_start(goid, 1, 2)
            .go_status(goid, g::RUNNABLE, g::RUNNING)
            .advance(100)
            .go_park(goid, wait::CHAN_RECEIVE)
            .go_status(goid, g::RUNNING, g::WAITING)
            .advance(100);
    }
    let meta = meta(&[
        (WORKER_PC, location("main.worker", 10)),
        (LEAK_PC, location("main.leak", 55)),
    ]);
    let r = run(s.build(), &meta);

    assert_eq!(r.goroutines.created, N + K);
    assert_eq!(r.goroutines.exited, N);
    assert_eq!(r.goroutines.live_at_end, K);
    let leak = site(&r.goroutines.by_creation_site, "main.leak");
    assert_eq!(
        (leak.created, leak.exited, leak.live_at_end, leak.line),
        (K, 0, K, 55)
    );
    let worker = site(&r.goroutines.by_creation_site, "main.worker");
    assert_eq!(
        (worker.created, worker.exited, worker.live_at_end),
        (N, N, 0)
    );

    assert_eq!(r.goroutines.leaked.len(), 1);
    let l = &r.goroutines.leaked[0];
    assert_eq!((l.function.as_str(), l.line), ("main.leak", 55));
    assert_eq!((l.wait_reason.as_str(), l.count), ("chan receive", K));
    assert_eq!(r.goroutines.live.len() as u64, K);
    assert!(r.goroutines.live.iter().all(|g| g.state == "waiting"
        && g.wait_reason.as_deref() == Some("chan receive")
        && !g.preexisting));
}

#[test]
fn mid_stream_attach_builds_preexisting_goroutines() {
    let mut s = StreamBuilder::new();
    s.on(0, 100)
        // goid 7 existed, blocked; it is woken, starts after 2500 ns, and keeps running.
        .go_status(7, g::WAITING, g::RUNNABLE)
        .advance(2_500)
        .go_start(7, 0, 0)
        .go_status(7, g::RUNNABLE, g::RUNNING)
        // goid 8 is first seen parking on a select and stays blocked.
        .on(1, 101)
        .advance(10)
        .go_park(8, wait::SELECT)
        .go_status(8, g::RUNNING, g::WAITING)
        // goid 9 is first seen exiting (its trailing _Gdead status is not a new goroutine).
        .advance(10)
        .go_exit(9)
        .go_status(9, g::RUNNING, g::DEAD);
    let r = run(s.build(), &meta(&[]));

    let gs = &r.goroutines;
    assert_eq!(
        (gs.created, gs.preexisting, gs.exited, gs.live_at_end),
        (0, 3, 1, 2)
    );
    assert_eq!(r.sched_latency.count, 1);
    assert_eq!(r.sched_latency.max_ns, 2_500);
    let live: Vec<_> = gs
        .live
        .iter()
        .map(|g| (g.goid, g.state.as_str(), g.wait_reason.as_deref()))
        .collect();
    assert_eq!(
        live,
        vec![(7, "running", None), (8, "waiting", Some("select"))]
    );
    let row = site(&gs.by_creation_site, PREEXISTING_FUNCTION);
    assert_eq!((row.created, row.exited, row.live_at_end), (0, 1, 2));
    assert_eq!(
        r.threads
            .per_thread
            .iter()
            .find(|t| t.tid == 100)
            .and_then(|t| t.goid_at_end),
        Some(7)
    );
    assert_eq!(r.anomalies.total, 0, "{:?}", r.anomalies);
}

#[test]
fn goid_reuse_closes_the_old_goroutine() {
    let mut s = StreamBuilder::new();
    s.go_create(5, 1, WORKER_PC)
        .advance(10)
        .go_start(5, 0, 0)
        .advance(10)
        .go_park(5, wait::SLEEP);
    // Its exit was lost; goid 5 is "created" again.
    s.advance(100).go_create(5, 1, LEAK_PC);
    let meta = meta(&[
        (WORKER_PC, location("main.a", 1)),
        (LEAK_PC, location("main.b", 2)),
    ]);
    let r = run(s.build(), &meta);

    assert_eq!(r.anomalies.by_kind.get("goid_reused"), Some(&1));
    assert_eq!(r.goroutines.closed_by_goid_reuse, 1);
    assert_eq!(
        (
            r.goroutines.created,
            r.goroutines.exited,
            r.goroutines.live_at_end
        ),
        (2, 0, 1)
    );
    let a = site(&r.goroutines.by_creation_site, "main.a");
    assert_eq!((a.created, a.exited, a.live_at_end), (1, 0, 0));
    let b = site(&r.goroutines.by_creation_site, "main.b");
    assert_eq!((b.created, b.live_at_end), (1, 1));
    assert_eq!(r.goroutines.live[0].state, "runnable");
}

#[test]
fn stale_goid_of_a_recycled_g_is_ignored() {
    // Up to Go 1.23, newproc1 moves a recycled g out of _Gdead before giving it its new goid,
    // so casgstatus reports the previous owner's goid (3, exited) or an unknown one (99).
    let mut s = StreamBuilder::new();
    s.goroutine_lifetime(3, WORKER_PC, 10, 10)
        .advance(50)
        .go_status(3, g::DEAD, g::RUNNABLE)
        .go_create(4, 1, WORKER_PC)
        .go_status(99, g::DEAD, g::RUNNABLE)
        .go_create(5, 1, WORKER_PC)
        .go_status(0, g::IDLE, g::DEAD);
    let r = run(s.build(), &meta(&[]));
    assert_eq!(
        (
            r.goroutines.created,
            r.goroutines.exited,
            r.goroutines.live_at_end
        ),
        (3, 1, 2)
    );
    assert_eq!(r.goroutines.preexisting, 0);
    assert_eq!(r.anomalies.total, 0, "{:?}", r.anomalies);
}

#[test]
fn events_after_exit_are_anomalies() {
    let mut s = StreamBuilder::new();
    s.goroutine_lifetime(3, WORKER_PC, 10, 10)
        .advance(5)
        .go_start(3, 0, 0);
    let r = run(s.build(), &meta(&[]));
    assert_eq!(
        r.anomalies.by_kind.get("event_after_goroutine_exit"),
        Some(&1)
    );
    assert_eq!(r.goroutines.live_at_end, 0);
}

#[test]
fn cgo_callback_goroutine_is_idle_not_exited() {
    // An extra M's g (stable goid 40) enters and leaves two cgo callbacks: needm makes it
    // _Gdead → _Gsyscall, dropm _Gsyscall → _Gdead.
    let mut s = StreamBuilder::new();
    for _ in 0..2 {
        s.go_status(40, g::DEAD, g::SYSCALL)
            .advance(10)
            .go_status(40, g::SYSCALL, g::RUNNING)
            .advance(10)
            .go_status(40, g::RUNNING, g::SYSCALL)
            .go_status(40, g::SYSCALL, g::DEAD)
            .advance(10);
    }
    let r = run(s.build(), &meta(&[]));
    let gs = &r.goroutines;
    assert_eq!(
        (gs.created, gs.preexisting, gs.exited, gs.live_at_end),
        (0, 1, 0, 1)
    );
    assert_eq!(gs.live[0].state, "idle_extra_m");
    assert_eq!(r.anomalies.total, 0, "{:?}", r.anomalies);
}

#[test]
fn wait_reason_unknown_to_the_table_keeps_its_number() {
    let mut s = StreamBuilder::new();
    s.go_create(2, 1, 0)
        .advance(1)
        .go_start(2, 0, 0)
        .go_park(2, 77);
    // and one that blocks without a park event seen
    s.go_create(3, 1, 0)
        .advance(1)
        .go_start(3, 0, 0)
        .go_status(3, g::RUNNING, g::WAITING);
    let r = run(s.build(), &meta(&[]));
    let reasons: Vec<_> = r
        .goroutines
        .leaked
        .iter()
        .map(|l| (l.function.as_str(), l.wait_reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        vec![("(unknown)", "(unknown)"), ("(unknown)", "waitReason(77)")]
    );
}
