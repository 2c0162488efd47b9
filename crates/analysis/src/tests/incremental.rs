//! Incremental analysis: snapshots while the stream goes on, and the retention window that
//! keeps memory bounded on a long stream with exact counts.

use goroscope_events::{Event, Meta};

use crate::testutil::{location, meta, wait, StreamBuilder};
use crate::timeline::VecCollector;
use crate::{Analyzer, Options, Report};

const SITE_A: u64 = 0x48_1000;
const SITE_B: u64 = 0x48_2000;
const US: u64 = 1_000;
/// `sched_switch` state of a task switched out for the last time.
const TASK_DEAD: u64 = 0x80;

fn test_meta() -> Meta {
    meta(&[
        (SITE_A, location("main.a", 10)),
        (SITE_B, location("main.b", 20)),
    ])
}

/// Goroutines that run, park, get readied and exit, on two threads that switch, with a thread
/// forked and exiting in the middle.
fn mixed_stream() -> Vec<Event> {
    let mut s = StreamBuilder::new();
    for i in 0..40u64 {
        let (tid, p) = if i.is_multiple_of(2) {
            (1000, 0)
        } else {
            (1001, 1)
        };
        let site = if i.is_multiple_of(3) { SITE_A } else { SITE_B };
        let goid = 100 + i;
        s.on(p as u32, tid)
            .go_create(goid, 1, site)
            .advance(3 * US)
            .go_start(goid, p, p.into())
            .advance(7 * US)
            .go_park(goid, wait::CHAN_RECEIVE)
            .advance(5 * US)
            .go_ready(goid, 1)
            .advance(2 * US)
            .go_start(goid, p, p.into());
        if i % 4 != 3 {
            s.advance(11 * US).go_exit(goid);
        }
        s.switch(tid, 2000 + tid, 0)
            .advance(US)
            .switch(2000 + tid, tid, 1);
        if i == 20 {
            s.thread_fork(5000).on(1, 5000).advance(US).thread_exit();
            s.switch_flags(5000, 0, TASK_DEAD, true, false);
        }
    }
    s.build()
}

fn analyzer(options: Options) -> Analyzer<VecCollector> {
    Analyzer::new(options).with_collector(VecCollector::default())
}

#[test]
fn snapshot_then_continue_gives_the_same_final_report_and_timeline() {
    let events = mixed_stream();
    let meta = test_meta();
    let mut plain = analyzer(Options::default());
    let mut watched = analyzer(Options::default());
    for (i, e) in events.iter().enumerate() {
        plain.push(e.clone());
        watched.push(e.clone());
        if i.is_multiple_of(17) {
            watched.snapshot(&meta);
        }
    }
    let (expected, expected_timeline) = plain.finish_with_collector(&meta);
    let (got, got_timeline) = watched.finish_with_collector(&meta);
    assert_eq!(got, expected);
    assert_eq!(got_timeline, expected_timeline);
}

#[test]
fn a_snapshot_is_the_report_of_the_stream_so_far() {
    let events = mixed_stream();
    let meta = test_meta();
    // Without a reorder window every event is processed as soon as it is pushed.
    let options = Options {
        reorder_window_ns: 0,
        ..Options::default()
    };
    let half = events.len() / 2;
    let mut live = Analyzer::new(options);
    let mut prefix = Analyzer::new(options);
    for e in &events[..half] {
        live.push(e.clone());
        prefix.push(e.clone());
    }
    let snapshot = live.snapshot(&meta);
    assert_eq!(snapshot, prefix.finish(&meta));
    assert!(snapshot.goroutines.live_at_end > 0 && snapshot.goroutines.exited > 0);
    for e in &events[half..] {
        live.push(e.clone());
    }
    assert!(live.snapshot(&meta).goroutines.created > snapshot.goroutines.created);
}

/// Reports with and without retention differ only in the threads listed (and nothing else).
fn without_thread_rows(mut r: Report) -> Report {
    r.threads.per_thread.clear();
    r
}

/// `goroutines` short-lived goroutines (sites A and B alternating, 1 µs apart) and `threads`
/// short-lived threads, pushed in chunks; `check` sees the analyzer after each chunk.
fn stream_short_lived<C: crate::timeline::Collector>(
    a: &mut Analyzer<C>,
    goroutines: u64,
    threads: u64,
    mut check: impl FnMut(&Analyzer<C>),
) {
    let per_thread = goroutines / threads;
    let mut now = 1_000_000;
    for chunk in 0..threads {
        let mut s = StreamBuilder::new();
        s.at(now).on(0, 1000);
        for i in 0..per_thread {
            let goid = 10 + chunk * per_thread + i;
            let site = if goid.is_multiple_of(2) {
                SITE_A
            } else {
                SITE_B
            };
            s.go_create(goid, 1, site)
                .go_start(goid, 0, 0)
                .advance(US)
                .go_exit(goid);
        }
        // A thread forked, on CPU, exiting.
        let child = 100_000 + chunk as u32;
        s.thread_fork(child).switch(1000, child, 0).on(0, child);
        s.advance(US).thread_exit().switch(child, 1000, TASK_DEAD);
        now = s.now();
        for e in s.build() {
            a.push(e);
        }
        check(a);
    }
}

#[test]
fn retention_keeps_the_report_but_forgets_old_entries() {
    let meta = test_meta();
    // A short reorder window: the stream is only 22 ms long.
    let keeping = Options {
        reorder_window_ns: 10 * US,
        ..Options::default()
    };
    let retaining = Options {
        retain_exited_ns: Some(50 * US),
        ..keeping
    };
    let mut keep = analyzer(keeping);
    let mut forget = analyzer(retaining);
    stream_short_lived(&mut keep, 20_000, 2_000, |_| {});
    stream_short_lived(&mut forget, 20_000, 2_000, |_| {});
    let kept = keep.retained();
    let forgot = forget.retained();
    // All but the events still held for reordering.
    assert!(kept.goroutines > 19_900 && kept.threads > 1_990, "{kept:?}");
    assert!(
        forgot.goroutines < 200 && forgot.threads < 1_100,
        "{forgot:?}"
    );
    let (expected, expected_timeline) = keep.finish_with_collector(&meta);
    let (got, got_timeline) = forget.finish_with_collector(&meta);
    assert_eq!(without_thread_rows(got), without_thread_rows(expected));
    assert_eq!(got_timeline, expected_timeline);
}

#[test]
fn a_million_goroutines_and_100k_threads_in_bounded_memory() {
    const GOROUTINES: u64 = 1_000_000;
    const THREADS: u64 = 100_000;
    let options = Options {
        retain_exited_ns: Some(100 * US),
        ..Options::default()
    };
    let mut a = Analyzer::new(options);
    let mut most = crate::Retained {
        goroutines: 0,
        threads: 0,
        runs: 0,
        preemption: 0,
    };
    stream_short_lived(&mut a, GOROUTINES, THREADS, |a| {
        let r = a.retained();
        most.goroutines = most.goroutines.max(r.goroutines);
        most.threads = most.threads.max(r.threads);
        most.runs = most.runs.max(r.runs);
        most.preemption = most.preemption.max(r.preemption);
    });
    // The window plus the reorder window (100 ms of held events, ~1 µs per goroutine) bound
    // the goroutines; threads are dropped in batches of at least 512.
    assert!(most.goroutines < 5_000, "{most:?}");
    assert!(most.threads < 3_000, "{most:?}");
    assert!(most.runs < 10 && most.preemption < 5_000, "{most:?}");

    let r = a.finish(&test_meta());
    assert_eq!(
        (r.goroutines.created, r.goroutines.exited),
        (GOROUTINES, GOROUTINES)
    );
    let sites: Vec<(&str, u64, u64)> = r
        .goroutines
        .by_creation_site
        .iter()
        .map(|s| (s.function.as_str(), s.created, s.exited))
        .collect();
    let half = GOROUTINES / 2;
    assert_eq!(sites, [("main.a", half, half), ("main.b", half, half)]);
    assert_eq!((r.threads.created, r.threads.exited), (THREADS, THREADS));
    assert_eq!(
        r.threads.max_live, 2,
        "the main thread and one child at a time"
    );
    assert_eq!(r.scheduler.preemption.time_slices.summary.count, GOROUTINES);
    assert_eq!(r.anomalies.total, 0, "{:?}", r.anomalies);
}
