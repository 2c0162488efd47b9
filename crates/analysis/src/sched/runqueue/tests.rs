//! Hand-made scheduling scenarios through the whole analyzer; expected classifications follow
//! from runtime/proc.go's rules for each scenario (see the comments), not from the code.

use std::sync::Arc;

use goroscope_events::{EventKind, Level, Meta, TableSymbolizer, VecSource, WaitReasons};

use super::*;
use crate::testutil::StreamBuilder;
use crate::{analyze, Options};

const IO_WAIT_122: u8 = 2;
const CHAN_RECEIVE_122: u8 = 14;

fn meta_with(level: Level, reasons: &[(u8, &str)]) -> Meta {
    Meta::new("go1.22.10")
        .with_level(level)
        .with_wait_reasons(WaitReasons(
            reasons.iter().map(|(v, s)| (*v, s.to_string())).collect(),
        ))
        .with_symbolizer(Arc::new(TableSymbolizer::new()))
}

fn meta() -> Meta {
    meta_with(
        Level::Full,
        &[(IO_WAIT_122, "IO wait"), (CHAN_RECEIVE_122, "chan receive")],
    )
}

fn run(s: &StreamBuilder, meta: &Meta) -> RunQueueReport {
    let report = analyze(
        &mut VecSource::with_batch(s.build(), 7),
        meta,
        Options::default(),
    )
    .expect("a VecSource never fails");
    report.scheduler.run_queues
}

fn start(s: &mut StreamBuilder, goid: u64, p_id: i32, inherit_time: bool) {
    s.advance(100).emit(EventKind::GoStart {
        goid,
        p_id,
        m_id: 0,
        inherit_time,
        locked: false,
    });
}

fn ready(s: &mut StreamBuilder, goid: u64, p_id: i32, next: bool) {
    s.advance(100).emit(EventKind::GoReady {
        goid,
        by_goid: 1,
        p_id,
        next,
    });
}

fn park(s: &mut StreamBuilder, goid: u64, wait_reason: u8) {
    s.advance(100).emit(EventKind::GoPark {
        goid,
        wait_reason,
        stack_id: None,
    });
}

fn steal(s: &mut StreamBuilder, thief_p: i32, victim_p: i32, queued: u32, runnext: bool) {
    s.advance(100).emit(EventKind::Steal {
        thief_p,
        victim_p,
        queued,
        runnext,
    });
}

fn p_row(r: &RunQueueReport, p: i32) -> Sources {
    r.per_p
        .iter()
        .find(|row| row.p_id == p)
        .map(|row| row.from.clone())
        .unwrap_or_default()
}

#[test]
fn a_steal_then_a_start_is_stolen_and_the_rest_of_the_batch_too() {
    let mut s = StreamBuilder::new();
    // Thread 100 holds P 0 and readies 10..=13 onto its queue tail.
    s.on(0, 100);
    for g in 10..=13 {
        ready(&mut s, g, 0, false);
    }
    // Thread 200 (P 1) steals: 4 queued → it takes 2 (10 and 11) and runs the last at once.
    s.on(1, 200);
    steal(&mut s, 1, 0, 4, false);
    start(&mut s, 11, 1, false);
    park(&mut s, 11, CHAN_RECEIVE_122);
    // 10 went to P 1's queue with the batch.
    start(&mut s, 10, 1, false);
    park(&mut s, 10, CHAN_RECEIVE_122);
    // P 0 runs what it kept.
    s.on(0, 100);
    start(&mut s, 12, 0, false);
    park(&mut s, 12, CHAN_RECEIVE_122);
    start(&mut s, 13, 0, false);
    let r = run(&s, &meta());

    assert!(r.coverage.captured);
    assert_eq!(r.starts, 4);
    assert_eq!(
        p_row(&r, 1),
        Sources {
            stolen: 2,
            ..Sources::default()
        }
    );
    assert_eq!(
        p_row(&r, 0),
        Sources {
            local: 2,
            ..Sources::default()
        }
    );
    let st = &r.stealing;
    assert_eq!((st.steals, st.goroutines_taken), (1, 2));
    assert_eq!(
        st.per_pair,
        vec![PairRow {
            thief_p: 1,
            victim_p: 0,
            steals: 1,
            goroutines_taken: 2,
            started: 2
        }]
    );
    assert_eq!(r.ready.total, 4);
    assert_eq!((r.ready.runnext, r.ready.tail), (0, 4));
}

#[test]
fn goroutines_taken_per_steal_is_half_rounded_up_or_runnext_alone() {
    let mut s = StreamBuilder::new();
    s.on(0, 100);
    steal(&mut s, 1, 0, 5, false); // 3
    steal(&mut s, 1, 0, 1, true); // 1 (ring not empty: runnext stays)
    steal(&mut s, 2, 0, 0, true); // 1, the runnext goroutine
    steal(&mut s, 2, 3, 8, false); // 4
    let r = run(&s, &meta());
    let st = &r.stealing;
    assert_eq!((st.steals, st.goroutines_taken), (4, 9));
    let dist: Vec<(u32, u64)> = st
        .per_steal
        .iter()
        .map(|t| (t.goroutines, t.steals))
        .collect();
    assert_eq!(dist, vec![(1, 2), (3, 1), (4, 1)]);
    let pair = |t, v| {
        st.per_pair
            .iter()
            .find(|p| p.thief_p == t && p.victim_p == v)
            .cloned()
    };
    assert_eq!(
        pair(1, 0).map(|p| (p.steals, p.goroutines_taken)),
        Some((2, 4))
    );
    assert_eq!(
        pair(2, 0).map(|p| (p.steals, p.goroutines_taken)),
        Some((1, 1))
    );
    // No GoStart followed: nothing was classified stolen.
    assert_eq!(r.starts, 0);
}

#[test]
fn runnext_local_and_created_goroutines() {
    let mut s = StreamBuilder::new();
    s.on(0, 100);
    // Readied into runnext: execute(gp, inheritTime=true).
    ready(&mut s, 10, 0, true);
    start(&mut s, 10, 0, true);
    park(&mut s, 10, CHAN_RECEIVE_122);
    // Created onto P 0 (newproc's runqput), run later without inheriting: local.
    s.advance(100).emit(EventKind::GoCreate {
        goid: 20,
        parent_goid: 10,
        creation_pc: 0x1000,
        start_pc: 0x2000,
        p_id: 0,
    });
    start(&mut s, 20, 0, false);
    let r = run(&s, &meta());
    assert_eq!(
        p_row(&r, 0),
        Sources {
            runnext: 1,
            local: 1,
            ..Sources::default()
        }
    );
    assert_eq!((r.ready.runnext, r.ready.tail), (1, 0));
}

#[test]
fn a_netpoll_wake_is_recognized_by_the_wait_reason_string() {
    // The same stream under two numberings: only the one where 2 means "IO wait" says netpoll.
    let mut s = StreamBuilder::new();
    s.on(0, 100);
    start(&mut s, 10, 0, false); // unknown: how 10 became runnable was not seen
    park(&mut s, 10, IO_WAIT_122);
    // findRunnable's netpoll returns it without a GoReady; it runs on P 1.
    s.on(1, 200);
    start(&mut s, 10, 1, false);
    let r = run(&s, &meta());
    assert_eq!(p_row(&r, 0).unknown, 1);
    assert_eq!(
        p_row(&r, 1),
        Sources {
            netpoll: 1,
            ..Sources::default()
        }
    );
    let renumbered = meta_with(Level::Full, &[(2, "chan receive"), (7, "IO wait")]);
    let r = run(&s, &renumbered);
    assert_eq!(r.from.netpoll, 0);
    assert_eq!(r.from.unknown, 2);
}

#[test]
fn a_channel_wake_readied_onto_the_same_p_is_local() {
    let mut s = StreamBuilder::new();
    s.on(0, 100);
    start(&mut s, 10, 0, false);
    park(&mut s, 10, CHAN_RECEIVE_122);
    ready(&mut s, 10, 0, false);
    start(&mut s, 10, 0, false);
    let r = run(&s, &meta());
    assert_eq!(p_row(&r, 0).local, 1);
}

#[test]
fn yields_and_cross_p_starts_come_from_the_global_queue() {
    let mut s = StreamBuilder::new();
    s.on(0, 100);
    start(&mut s, 10, 0, false);
    // runtime.Gosched: goschedImpl puts 10 on the global queue; P 1 picks it up.
    s.advance(100).emit(EventKind::GoYield {
        goid: 10,
        preempted: Some(false),
    });
    s.on(1, 200);
    start(&mut s, 10, 1, false);
    park(&mut s, 10, CHAN_RECEIVE_122);
    // Readied onto P 0, started on P 2 with no steal in between.
    s.on(0, 100);
    ready(&mut s, 10, 0, false);
    s.on(2, 300);
    start(&mut s, 10, 2, false);
    let r = run(&s, &meta());
    assert_eq!(r.from.global, 2);
    assert_eq!(r.from.unknown, 1);
    assert_eq!(r.starts, 3);
}

#[test]
fn a_full_local_queue_overflows_to_the_global_queue() {
    let mut s = StreamBuilder::new();
    s.on(0, 100);
    // 257 readies onto P 0's tail: the 257th finds the ring full and runqputslow moves the
    // first 128 (goids 1000..1128) and itself to the global queue.
    for g in 1000..1257 {
        ready(&mut s, g, 0, false);
    }
    start(&mut s, 1000, 0, false); // from the global queue
    park(&mut s, 1000, CHAN_RECEIVE_122);
    start(&mut s, 1128, 0, false); // still in P 0's ring
    park(&mut s, 1128, CHAN_RECEIVE_122);
    start(&mut s, 1256, 0, false); // moved with the first half
    let r = run(&s, &meta());
    assert_eq!(
        p_row(&r, 0),
        Sources {
            global: 2,
            local: 1,
            ..Sources::default()
        }
    );
}

#[test]
fn a_steal_on_another_thread_does_not_count() {
    let mut s = StreamBuilder::new();
    s.on(0, 100);
    ready(&mut s, 10, 1, false);
    // Thread 300 steals for P 1, but thread 200 (also claiming P 1 after a hand-off) starts
    // goroutine 10 readied onto P 1: local, and the steal is not attributed to it.
    s.on(2, 300);
    steal(&mut s, 1, 0, 2, false);
    s.on(1, 200);
    start(&mut s, 10, 1, false);
    let r = run(&s, &meta());
    assert_eq!(p_row(&r, 1).local, 1);
    assert_eq!(r.stealing.per_pair[0].started, 0);
}

#[test]
fn the_monitor_level_says_it_did_not_capture() {
    let mut s = StreamBuilder::new();
    s.on(0, 100).m_start(0);
    let r = run(&s, &meta_with(Level::Monitor, &[]));
    assert!(!r.coverage.captured);
    assert!(!r.stealing.coverage.captured);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["captured"], false);
    assert!(json["why"].as_str().unwrap().contains("monitor"));
}
