//! Threads: lifetimes, tid reuse, on/off-CPU accounting, M ↔ tid.

use super::{run, run_with};
use crate::testutil::{meta, StreamBuilder};
use crate::{Options, ThreadRow};
use goroscope_events::EventKind;

fn rows(r: &crate::Report, tid: u32) -> Vec<&ThreadRow> {
    r.threads
        .per_thread
        .iter()
        .filter(|t| t.tid == tid)
        .collect()
}

#[test]
fn on_and_off_cpu_time_from_known_switches() {
    // Trace from t=1000 to t=10000 (explicit bounds, as a recording header gives them).
    let options = Options {
        start_ns: Some(1_000),
        end_ns: Some(10_000),
        ..Options::default()
    };
    let mut s = StreamBuilder::new();
    // Thread 50 (preexisting) is switched out at 2000: it was on CPU since the start.
    // In again at 2500, preempted at 4000, in at 7000, on CPU until the end.
    s.at(2_000).switch(50, 51, 1); // 51 (preexisting) goes on CPU: off since the start
    s.at(2_500).switch(51, 50, 1);
    s.at(4_000).switch_flags(50, 0, 0, true, false); // to idle (not ours): involuntary
    s.at(7_000).switch_flags(0, 50, 0, false, true);
    let r = run_with(s.build(), &meta(&[]), options);

    assert_eq!(r.duration_ns, 9_000);
    let t50 = rows(&r, 50)[0];
    // on: 1000..2000, 2500..4000, 7000..10000 = 1000 + 1500 + 3000
    assert_eq!((t50.on_cpu_ns, t50.off_cpu_ns), (5_500, 500 + 3_000));
    assert_eq!((t50.involuntary_switches, t50.voluntary_switches), (1, 1));
    let t51 = rows(&r, 51)[0];
    // off 1000..2000, on 2000..2500, off 2500..10000
    assert_eq!((t51.on_cpu_ns, t51.off_cpu_ns), (500, 1_000 + 7_500));
    assert_eq!((t51.involuntary_switches, t51.voluntary_switches), (0, 1));
    assert!(
        rows(&r, 0).is_empty(),
        "the idle task is not a thread of the target"
    );
    assert_eq!(
        (r.threads.preexisting, r.threads.created, r.threads.max_live),
        (2, 0, 2)
    );
    assert_eq!(r.anomalies.total, 0, "{:?}", r.anomalies);
}

#[test]
fn a_runtime_event_proves_a_thread_is_on_cpu() {
    let options = Options {
        start_ns: Some(0),
        end_ns: Some(1_000),
        ..Options::default()
    };
    let mut s = StreamBuilder::new();
    s.on(0, 60).at(100).m_start(3).at(400).switch(60, 61, 1);
    let r = run_with(s.build(), &meta(&[]), options);
    let t60 = rows(&r, 60)[0];
    assert_eq!(
        (t60.on_cpu_ns, t60.off_cpu_ns, t60.m_id),
        (400, 600, Some(3))
    );
}

#[test]
fn tid_reuse_makes_a_new_thread() {
    let mut s = StreamBuilder::new();
    s.on(0, 100).at(1_000).m_start(0);
    // 100 forks 200; 200 runs, exits, is switched out for the last time.
    s.at(2_000).thread_fork(200);
    s.at(2_100).switch(100, 200, 1);
    s.on(0, 200)
        .at(2_200)
        .m_start(4)
        .at(2_300)
        .m_exit(4)
        .at(2_400)
        .thread_exit();
    s.at(2_500).switch(200, 100, 0x80); // TASK_DEAD
                                        // The kernel hands tid 200 to a new thread.
    s.on(0, 100).at(3_000).thread_fork(200);
    s.at(3_100).switch(100, 200, 0);
    s.on(0, 200).at(3_200).m_start(5);
    let r = run(s.build(), &meta(&[]));

    let t200 = rows(&r, 200);
    assert_eq!(t200.len(), 2, "{:?}", r.threads.per_thread);
    assert_eq!(
        (t200[0].exited, t200[0].m_id, t200[0].origin.as_str()),
        (true, Some(4), "forked")
    );
    // First life: off 2000..2100 (forked, not yet running), on 2100..2500 (incl. after exit).
    assert_eq!((t200[0].on_cpu_ns, t200[0].off_cpu_ns), (400, 100));
    assert_eq!(
        (t200[0].voluntary_switches, t200[0].involuntary_switches),
        (1, 0)
    );
    assert_eq!(
        (t200[1].exited, t200[1].m_id, t200[1].origin.as_str()),
        (false, Some(5), "forked")
    );
    // Second life: off 3000..3100, on 3100..3200 (the last event).
    assert_eq!((t200[1].on_cpu_ns, t200[1].off_cpu_ns), (100, 100));
    let th = &r.threads;
    assert_eq!(
        (th.created, th.exited, th.preexisting, th.live_at_end),
        (2, 1, 1, 2)
    );
    assert_eq!(th.max_live, 2);
    assert_eq!((th.m_started, th.m_exited), (3, 1));
    assert_eq!(r.anomalies.total, 0, "{:?}", r.anomalies);
}

#[test]
fn tid_reappearing_without_fork_is_a_new_thread() {
    let mut s = StreamBuilder::new();
    s.on(0, 300).at(1_000).m_start(1).at(1_100).thread_exit();
    s.at(1_200).switch_flags(300, 0, 0x80, true, false);
    s.at(5_000).m_start(2); // tid 300 again, its fork lost
    let r = run(s.build(), &meta(&[]));
    let t300 = rows(&r, 300);
    assert_eq!(t300.len(), 2);
    assert_eq!(t300[1].origin, "reappeared");
    assert_eq!(
        r.anomalies.by_kind.get("thread_reappeared_without_fork"),
        Some(&1)
    );
    // Lives 1000..1100 and 5000..5000 do not overlap.
    assert_eq!(r.threads.max_live, 1);
}

#[test]
fn max_live_counts_preexisting_threads_from_the_start() {
    let mut s = StreamBuilder::new();
    // 10 forks 11 and 11 exits, all before preexisting thread 12 is first seen.
    s.on(0, 10).at(1_000).thread_fork(11);
    s.on(1, 11).at(1_500).thread_exit();
    s.on(0, 12).at(5_000).m_start(2);
    let r = run(s.build(), &meta(&[]));
    // At 1000..1500: 10, 11 and 12 (alive since the start) were alive together.
    assert_eq!(r.threads.max_live, 3);
}

#[test]
fn wakeups_are_counted_for_known_threads_only() {
    let mut s = StreamBuilder::new();
    s.on(0, 70).m_start(0).wakeup(71).wakeup(70).wakeup(70);
    let r = run(s.build(), &meta(&[]));
    assert_eq!(rows(&r, 70)[0].wakeups, 2);
    assert!(rows(&r, 71).is_empty());
}

#[test]
fn an_exited_thread_may_be_preempted_before_its_final_switch_out() {
    // Seen at process exit: after sched_process_exit the kernel can still preempt the thread
    // (prev_state 0) and switch it back in; its life ends only at the TASK_DEAD switch-out.
    let mut s = StreamBuilder::new();
    s.on(0, 400).at(1_000).m_start(1).at(1_100).thread_exit();
    s.at(1_200).switch_flags(400, 0, 0, true, false); // preempted after exit
    s.at(1_300).switch_flags(0, 400, 0, false, true);
    s.at(1_400).switch_flags(400, 0, 0x80, true, false); // TASK_DEAD: gone
    let r = run(s.build(), &meta(&[]));
    let t400 = rows(&r, 400);
    assert_eq!(t400.len(), 1, "{:?}", r.threads.per_thread);
    assert!(t400[0].exited);
    assert_eq!(r.threads.live_at_end, 0);
    assert_eq!(r.anomalies.total, 0, "{:?}", r.anomalies);
}

#[test]
fn a_thread_seen_running_while_off_cpu_was_switched_in_unreported() {
    // The kernel reports no switch whose prev is a task it hides from tracing (the idle task,
    // a sandbox's agent): the thread is then seen running while believed off CPU.
    let options = Options {
        start_ns: Some(0),
        end_ns: Some(10_000),
        ..Options::default()
    };
    let mut s = StreamBuilder::new();
    s.on(0, 80).at(100).m_start(0);
    s.at(1_000).switch_flags(80, 9, 1, true, false); // blocks, a hidden task runs
    s.at(3_000).emit(EventKind::MPark { m_id: 0 }); // no switch-in to 80 reported: it runs again
    s.at(3_500).switch_flags(80, 9, 0, true, false); // preempted
    s.at(6_000).switch_flags(80, 9, 1, true, false); // out again, no sign of life before
    let r = run_with(s.build(), &meta(&[]), options);
    let t80 = rows(&r, 80)[0];
    // on 0..1000, off 1000..3000, on 3000..3500, off 3500..6000 (switched in unseen and out at
    // 6000: nothing on), off 6000..10000.
    assert_eq!(
        (t80.on_cpu_ns, t80.off_cpu_ns),
        (1_500, 2_000 + 2_500 + 4_000)
    );
    assert_eq!((t80.voluntary_switches, t80.involuntary_switches), (2, 1));
    assert_eq!(r.threads.inferred_switch_ins, 2);
    assert_eq!(
        r.anomalies.total, 0,
        "not a sign of loss: {:?}",
        r.anomalies
    );
}

#[test]
fn the_main_threads_mexit_is_no_m_exit() {
    let mut s = StreamBuilder::new();
    s.on(0, 90).m_start(0).m_exit(0); // wedged
    s.on(1, 91).m_start(1).m_exit(1).thread_exit();
    let r = run(s.build(), &meta(&[]));
    assert_eq!((r.threads.m_started, r.threads.m_exited), (2, 1));
    assert!(!rows(&r, 90)[0].exited, "the main thread lives on");
}

#[test]
fn runqueue_wait_runs_from_a_preemption_or_a_wakeup_to_the_switch_in() {
    let options = Options {
        start_ns: Some(0),
        end_ns: Some(10_000),
        ..Options::default()
    };
    let mut s = StreamBuilder::new();
    s.at(1_000).switch_flags(50, 0, 0, true, false); // preempted: runnable from 1000
    s.at(1_600).switch_flags(0, 50, 0, false, true); // 600 ns in the run queue
    s.at(2_000).switch_flags(50, 0, 1, true, false); // blocks: not runnable
    s.at(5_000).on(1, 60).wakeup(50); // woken at 5000
    s.at(5_250).switch_flags(0, 50, 0, false, true); // 250 ns queued
    let r = run_with(s.build(), &meta(&[]), options);
    let t = rows(&r, 50)[0];
    assert_eq!(t.runqueue_wait_ns, 850);
    assert_eq!((t.preempted_wait_ns, t.wakeup_waits), (600, 1));
    assert_eq!((t.involuntary_switches, t.voluntary_switches), (1, 1));
}
