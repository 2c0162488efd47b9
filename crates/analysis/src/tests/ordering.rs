//! Reordering across CPUs, late events, and losses.

use goroscope_events::{Event, LossReason};

use super::{run, run_with};
use crate::testutil::{g, location, meta, wait, StreamBuilder};
use crate::Options;

/// A two-CPU workload: goroutines created on CPU 0, run and exit on CPU 1, threads switching.
fn two_cpu_stream() -> Vec<Event> {
    let mut s = StreamBuilder::new();
    for i in 0..30u64 {
        let goid = 100 + i;
        s.on(0, 10).advance(1_000).go_create(goid, 1, 0x2000);
        s.on(1, 11)
            .advance(400)
            .go_start(goid, 1, 1)
            .go_status(goid, g::RUNNABLE, g::RUNNING);
        if i % 3 == 0 {
            s.advance(100)
                .go_park(goid, wait::CHAN_SEND)
                .go_status(goid, g::RUNNING, g::WAITING);
        } else {
            s.advance(100)
                .go_exit(goid)
                .advance(1)
                .go_status(goid, g::RUNNING, g::DEAD);
        }
        s.on(1, 11)
            .advance(50)
            .switch(11, 12, 1)
            .advance(50)
            .switch(12, 11, 0);
    }
    s.on(0, 10).advance(1).lost(LossReason::RingBufferFull, 3);
    s.build()
}

/// Splits a time-ordered stream per CPU and interleaves the CPUs in chunks, as per-CPU buffers
/// read in turn would deliver them: each CPU's stream stays in order, CPUs are skewed.
fn interleave_per_cpu(events: &[Event], chunk: usize) -> Vec<Event> {
    let per_cpu: Vec<Vec<Event>> = (0..2)
        .map(|cpu| events.iter().filter(|e| e.cpu == cpu).cloned().collect())
        .collect();
    let mut out = Vec::new();
    let mut pos = [0usize; 2];
    // CPU 1 first: its chunks run ahead of CPU 0's in time.
    while pos.iter().zip(&per_cpu).any(|(p, v)| *p < v.len()) {
        for cpu in [1, 0] {
            let v = &per_cpu[cpu];
            let end = (pos[cpu] + chunk).min(v.len());
            out.extend_from_slice(&v[pos[cpu]..end]);
            pos[cpu] = end;
        }
    }
    out
}

#[test]
fn out_of_order_within_the_window_gives_the_sorted_result() {
    let sorted = two_cpu_stream();
    let shuffled = interleave_per_cpu(&sorted, 9);
    assert_ne!(shuffled, sorted, "the test must actually reorder");
    let meta = meta(&[(0x2000, location("main.producer", 7))]);
    let expected = run(sorted.clone(), &meta);
    let got = run(shuffled, &meta);
    assert_eq!(got, expected);
    assert_eq!(got.events.late_events, 0);
    assert_eq!(got.events.total, sorted.len() as u64);
    assert_eq!(got.goroutines.created, 30);
    assert_eq!(got.goroutines.live_at_end, 10);
}

#[test]
fn event_older_than_the_window_is_late() {
    let mut s = StreamBuilder::new();
    s.at(1_000_000).go_create(5, 1, 0x2000);
    s.at(3_000_000).go_create(6, 1, 0x2000);
    let mut events = s.build();
    // Arrives after an event 2 ms newer, with a 1 ms window: too late to put in order.
    let mut late = StreamBuilder::new();
    late.at(1_500_000).go_create(7, 1, 0x2000);
    // A later event pushes the watermark past 1.5 ms before the straggler arrives.
    let mut newer = StreamBuilder::new();
    newer.at(4_000_000).go_exit(6);
    events.extend(newer.build());
    events.extend(late.build());
    let options = Options {
        reorder_window_ns: 1_000_000,
        ..Options::default()
    };
    let r = run_with(events, &meta(&[]), options);
    assert_eq!(r.events.late_events, 1);
    assert_eq!(r.events.total, 3);
    assert_eq!(
        r.goroutines.created, 2,
        "the late GoCreate is not processed"
    );
}

#[test]
fn lost_events_are_summed_by_reason() {
    let mut s = StreamBuilder::new();
    s.lost(LossReason::RingBufferFull, 10)
        .advance(1)
        .lost(LossReason::UserMemoryUnreadable, 2)
        .advance(1)
        .lost(LossReason::RingBufferFull, 5);
    let r = run(s.build(), &meta(&[]));
    assert_eq!(r.drops.total, 17);
    assert_eq!(r.drops.by_reason.get("ring_buffer_full"), Some(&15));
    assert_eq!(r.drops.by_reason.get("user_memory_unreadable"), Some(&2));
    assert_eq!(r.drops.by_reason.get("malformed_record"), Some(&0));
    assert_eq!(r.events.by_kind.get("lost"), Some(&3));
}
