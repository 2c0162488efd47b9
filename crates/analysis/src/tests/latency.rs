//! Runnable→running latency from every way a goroutine becomes runnable.
//!
//! Precision under test: hdrhistogram with 3 significant digits, so percentiles of values below
//! 2048 ns are exact, and above that the reported value is the top of a bucket at most 1/1024
//! of the value wide: `exact <= reported <= exact + exact / 1024`. Count and max are exact.

use super::run;
use crate::testutil::{g, meta, wait, StreamBuilder};

/// Nearest-rank percentile of sorted values (what hdrhistogram's `value_at_quantile` ranks).
fn nearest_rank(sorted: &[u64], q: f64) -> u64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
    sorted[rank - 1]
}

/// Goroutines created one after another, each starting `latency` after creation.
fn stream(latencies: &[u64]) -> Vec<goroscope_events::Event> {
    let mut s = StreamBuilder::new();
    for (i, &latency) in latencies.iter().enumerate() {
        s.goroutine_lifetime(10 + i as u64, 0x1000, latency, 100);
    }
    s.build()
}

#[test]
fn percentiles_of_known_latencies() {
    // 1 µs .. 1 ms in 1 µs steps, shuffled deterministically (order must not matter).
    let mut values: Vec<u64> = (1..=1000).map(|i| i * 1_000).collect();
    let mut shuffled = values.clone();
    let mut x: u64 = 12345;
    for i in (1..shuffled.len()).rev() {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        shuffled.swap(i, (x >> 33) as usize % (i + 1));
    }
    let r = run(stream(&shuffled), &meta(&[]));
    values.sort_unstable();
    let l = &r.sched_latency;
    assert_eq!(l.count, 1000);
    assert_eq!(l.max_ns, 1_000_000);
    for (q, got) in [(0.50, l.p50_ns), (0.90, l.p90_ns), (0.99, l.p99_ns)] {
        let exact = nearest_rank(&values, q);
        assert!(
            exact <= got && got <= exact + exact / 1024,
            "p{q}: exact {exact}, reported {got}"
        );
    }
    // Power-of-two buckets: exact counts of values in (le/2, le].
    let in_bucket = |le: u64| values.iter().filter(|&&v| v > le / 2 && v <= le).count() as u64;
    for b in &l.histogram {
        assert_eq!(b.count, in_bucket(b.le_ns), "bucket ≤{}", b.le_ns);
    }
    assert_eq!(l.histogram.first().map(|b| b.le_ns), Some(1024));
    assert_eq!(l.histogram.last().map(|b| b.le_ns), Some(1 << 20));
    assert_eq!(l.histogram.iter().map(|b| b.count).sum::<u64>(), 1000);
}

#[test]
fn small_latencies_are_exact() {
    let values = [100, 200, 300, 400, 500, 600, 700, 800, 900, 2000];
    let r = run(stream(&values), &meta(&[]));
    let l = &r.sched_latency;
    assert_eq!(
        (l.count, l.p50_ns, l.p90_ns, l.p99_ns, l.max_ns),
        (10, 500, 900, 2000, 2000)
    );
}

#[test]
fn every_path_to_runnable_is_measured() {
    let mut s = StreamBuilder::new();
    // goid 2: running, parks, is readied by goid 1, starts 300 ns later.
    s.go_create(2, 1, 0x1000).advance(50).go_start(2, 0, 0);
    s.advance(10)
        .go_park(2, wait::CHAN_RECEIVE)
        .go_status(2, g::RUNNING, g::WAITING);
    s.advance(1_000)
        .go_ready(2, 1)
        .go_status(2, g::WAITING, g::RUNNABLE);
    s.advance(300)
        .go_start(2, 0, 0)
        .go_status(2, g::RUNNABLE, g::RUNNING);
    // It yields; restarts 700 ns later.
    s.advance(10)
        .go_yield(2)
        .go_status(2, g::RUNNING, g::RUNNABLE);
    s.advance(700)
        .go_start(2, 1, 1)
        .go_status(2, g::RUNNABLE, g::RUNNING);
    // Syscall, slow exit to runnable (exitsyscall0), scheduled 4000 ns later.
    s.advance(10).go_status(2, g::RUNNING, g::SYSCALL);
    s.advance(5_000).go_status(2, g::SYSCALL, g::RUNNABLE);
    s.advance(4_000)
        .go_start(2, 0, 0)
        .go_status(2, g::RUNNABLE, g::RUNNING);
    // Syscall with the fast exit back to running: no scheduling latency.
    s.advance(10)
        .go_status(2, g::RUNNING, g::SYSCALL)
        .advance(10)
        .go_status(2, g::SYSCALL, g::RUNNING);
    // netpoll's injectglist: _Gwaiting → _Grunnable without ready(); GoStart lost, so the
    // execute's status change ends the measurement.
    s.advance(10)
        .go_park(2, 2)
        .go_status(2, g::RUNNING, g::WAITING);
    s.advance(100).go_status(2, g::WAITING, g::RUNNABLE);
    s.advance(900).go_status(2, g::RUNNABLE, g::RUNNING);
    let r = run(s.build(), &meta(&[]));
    let l = &r.sched_latency;
    // 50 (creation), 300, 700, 4000, 900.
    assert_eq!((l.count, l.max_ns, l.p50_ns), (5, 4_000, 700));
    assert_eq!(
        l.histogram
            .iter()
            .map(|b| (b.le_ns, b.count))
            .filter(|b| b.1 > 0)
            .collect::<Vec<_>>(),
        vec![(64, 1), (512, 1), (1024, 2), (4096, 1)]
    );
}
