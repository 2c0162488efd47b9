//! The report with goroutine snapshots: snapshot-only goroutines counted once, the accounting
//! identity kept, ages and start functions, and nothing new without snapshots.

use std::sync::Arc;

use goroscope_events::{GoroutineSnapshot, Meta, SnapshotGoroutine};

use crate::testutil::{location, meta, wait, StreamBuilder};
use crate::{Analyzer, Options, Report};

const LEAK_SITE: u64 = 0x48_2000;
const WORKER_SITE: u64 = 0x48_3000;
const START_PC: u64 = 0x49_0000;
const RUNTIME_START: u64 = 0x41_0000;
const PARK_FRAME: u64 = 0x41_1000;
const USER_FRAME: u64 = 0x49_1000;
const SECOND: u64 = 1_000_000_000;

fn snapshot_meta() -> Meta {
    let m = meta(&[
        (LEAK_SITE, location("main.leakAll", 31)),
        (WORKER_SITE, location("main.spawn", 40)),
        (START_PC + 1, location("main.handle", 50)),
        (RUNTIME_START + 1, location("runtime.bgsweep", 9)),
        (PARK_FRAME, location("runtime.gopark", 400)),
        (USER_FRAME, location("main.handle", 52)),
    ]);
    let mut wrappers = std::collections::HashMap::new();
    wrappers.insert(START_PC, "main.leakAll.gowrap1".to_string());
    m.with_wrappers(Arc::new(wrappers))
}

fn blocked(goid: u64, site: u64, reason: u8, since: u64) -> SnapshotGoroutine {
    SnapshotGoroutine {
        goid,
        status: 4,
        wait_reason: reason,
        wait_since_ns: since,
        creation_pc: site,
        start_pc: START_PC,
        parent_goid: Some(1),
        locked_m: None,
        stack: vec![PARK_FRAME, USER_FRAME],
    }
}

fn analyze(events: Vec<goroscope_events::Event>, snaps: &[GoroutineSnapshot]) -> Report {
    let mut a = Analyzer::new(Options {
        start_ns: Some(SECOND),
        end_ns: Some(10 * SECOND),
        ..Options::default()
    });
    for e in events {
        a.push(e);
    }
    for s in snaps {
        a.observe_goroutines(s);
    }
    a.finish(&snapshot_meta())
}

fn identity_holds(r: &Report) {
    let g = &r.goroutines;
    assert_eq!(
        g.created + g.preexisting,
        g.exited + g.live_at_end + g.closed_by_goid_reuse,
        "{g:?}"
    );
}

#[test]
fn goroutines_seen_only_in_the_snapshot_are_reported_with_site_reason_and_age() {
    // No events at all (the monitor level): everything comes from the snapshot.
    let snap = GoroutineSnapshot {
        ts_ns: 9 * SECOND,
        allglen: 5,
        goroutines: vec![
            blocked(10, LEAK_SITE, wait::CHAN_SEND, 2 * SECOND),
            blocked(11, LEAK_SITE, wait::CHAN_SEND, 6 * SECOND),
            blocked(12, LEAK_SITE, wait::CHAN_SEND, 0),
            SnapshotGoroutine {
                start_pc: RUNTIME_START,
                stack: vec![],
                ..blocked(3, 0, wait::SLEEP, 0)
            },
        ],
        ..GoroutineSnapshot::default()
    };
    let r = analyze(Vec::new(), &[snap]);
    let g = &r.goroutines;
    assert_eq!((g.live_at_end, g.preexisting, g.created), (4, 4, 0));
    identity_holds(&r);
    assert_eq!(g.system_at_end, Some(1), "runtime.bgsweep");
    let s = g.snapshots.as_ref().unwrap();
    assert_eq!((s.count, s.only_in_snapshot, s.last_goroutines), (1, 4, 4));

    let leak = g
        .leaked
        .iter()
        .find(|l| l.function == "main.leakAll")
        .unwrap();
    assert_eq!((leak.line, leak.wait_reason.as_str()), (31, "chan send"));
    assert_eq!(leak.count, 3);
    // Ages at the end (10 s): 8 s and 4 s known, one blocked before any GC saw it.
    assert_eq!(leak.oldest_blocked_ns, Some(8 * SECOND));
    assert_eq!(leak.median_blocked_ns, Some(8 * SECOND));
    assert_eq!(leak.ages_known, Some(2));
    assert_eq!(
        leak.blocked_at.as_deref(),
        Some("main.handle (/src/app/main.go:52)")
    );
    assert_eq!(leak.start_function.as_deref(), Some("main.handle"));
    assert_eq!(leak.start_wrapper.as_deref(), Some("main.leakAll.gowrap1"));
    let site = g
        .by_creation_site
        .iter()
        .find(|s| s.function == "main.leakAll")
        .unwrap();
    assert_eq!((site.created, site.live_at_end), (0, 3));
    let row = g.live.iter().find(|l| l.goid == 10).unwrap();
    assert!(row.only_in_snapshot && row.preexisting);
    assert_eq!(row.stack.len(), 2);
    assert_eq!(row.parent_goid, Some(1));
}

#[test]
fn goroutines_the_stream_knows_are_not_counted_twice() {
    let mut s = StreamBuilder::new();
    s.at(2 * SECOND).on(0, 100);
    // 20: created and parked in the trace, also in the snapshot.
    s.go_create(20, 1, WORKER_SITE)
        .go_start(20, 0, 0)
        .go_park(20, wait::CHAN_RECEIVE);
    // 21: created, exited after the (older) snapshot saw it.
    s.go_create(21, 1, WORKER_SITE);
    s.advance(SECOND).go_start(21, 0, 0);
    let snap = GoroutineSnapshot {
        ts_ns: 3 * SECOND,
        goroutines: vec![
            SnapshotGoroutine {
                creation_pc: WORKER_SITE,
                ..blocked(20, WORKER_SITE, wait::CHAN_RECEIVE, 0)
            },
            SnapshotGoroutine {
                status: 2,
                stack: vec![],
                ..blocked(21, WORKER_SITE, 0, 0)
            },
            blocked(30, LEAK_SITE, wait::SELECT, 0),
        ],
        ..GoroutineSnapshot::default()
    };
    s.advance(SECOND).go_exit(21);
    let r = analyze(s.build(), &[snap]);
    let g = &r.goroutines;
    assert_eq!((g.created, g.exited), (2, 1));
    assert_eq!((g.live_at_end, g.preexisting), (2, 1), "20 and 30");
    identity_holds(&r);
    let row = g.live.iter().find(|l| l.goid == 20).unwrap();
    assert!(!row.only_in_snapshot);
    // The stream saw the park at 2 s: blocked 8 s at the end.
    assert_eq!(row.blocked_ns, Some(8 * SECOND));
    assert_eq!(row.start_function.as_deref(), Some("main.handle"));
}

#[test]
fn without_snapshots_the_report_has_none_of_their_fields() {
    let mut s = StreamBuilder::new();
    s.at(2 * SECOND).on(0, 100);
    s.go_create(20, 1, WORKER_SITE)
        .go_start(20, 0, 0)
        .go_park(20, wait::CHAN_RECEIVE);
    let r = analyze(s.build(), &[]);
    let json = serde_json::to_value(&r.goroutines).unwrap();
    for key in ["system_at_end", "snapshots"] {
        assert!(json.get(key).is_none(), "{key}");
    }
    let leak = &json["leaked"][0];
    assert_eq!(leak.as_object().unwrap().len(), 5, "{leak}");
    let live = &json["live"][0];
    assert_eq!(live.as_object().unwrap().len(), 7, "{live}");
}

#[test]
fn the_newest_snapshot_wins() {
    let old = GoroutineSnapshot {
        ts_ns: 5 * SECOND,
        goroutines: vec![blocked(10, LEAK_SITE, wait::SELECT, 0)],
        ..GoroutineSnapshot::default()
    };
    let new = GoroutineSnapshot {
        ts_ns: 9 * SECOND,
        ..GoroutineSnapshot::default()
    };
    // Handed out of order: the older one does not replace the newer.
    let r = analyze(Vec::new(), &[new, old]);
    assert_eq!(r.goroutines.live_at_end, 0);
    assert_eq!(r.goroutines.snapshots.as_ref().unwrap().count, 2);
}

#[test]
fn blocked_at_skips_the_runtime_and_the_standard_library() {
    use super::is_standard_library as std;
    assert!(std("runtime.gopark (/go/src/runtime/proc.go:435)"));
    assert!(std("internal/sync.runtime_SemacquireMutex (sema.go:95)"));
    assert!(std("sync.(*Cond).Wait (cond.go:71)"));
    assert!(std("net/http.(*conn).serve"));
    assert!(!std("main.handle (main.go:52)"));
    assert!(!std("example.com/app/server.(*S).Run (s.go:3)"));
    assert!(!std("github.com/x/y.z"));
}

#[test]
fn the_leak_history_counts_each_group_in_every_snapshot() {
    let snap = |ts: u64, leaked: u64| GoroutineSnapshot {
        ts_ns: ts,
        goroutines: (0..leaked)
            .map(|i| blocked(100 + i, LEAK_SITE, wait::CHAN_SEND, 0))
            .chain([blocked(90, WORKER_SITE, wait::CHAN_RECEIVE, 0)])
            .collect(),
        ..GoroutineSnapshot::default()
    };
    let snaps = [snap(SECOND, 0), snap(3 * SECOND, 2), snap(5 * SECOND, 5)];
    let r = analyze(Vec::new(), &snaps);
    let history = |function: &str| -> Vec<(u64, u64)> {
        let row = r
            .goroutines
            .leaked
            .iter()
            .find(|l| l.function == function)
            .unwrap_or_else(|| panic!("no {function} row: {:#?}", r.goroutines.leaked));
        row.history.iter().map(|p| (p.at_ns, p.count)).collect()
    };
    // Times since the trace start (1 s); a snapshot without the group counts 0.
    assert_eq!(
        history("main.leakAll"),
        [(0, 0), (2 * SECOND, 2), (4 * SECOND, 5)]
    );
    assert_eq!(
        history("main.spawn"),
        [(0, 1), (2 * SECOND, 1), (4 * SECOND, 1)]
    );
}
