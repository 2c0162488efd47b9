//! Latency attribution on synthetic streams whose answer is known exactly: one P, a goroutine
//! waiting while another runs through a STW pause, an involuntary kernel switch-out of the
//! thread, and a system call.

use goroscope_events::EventKind;

use super::run;
use crate::attribution::Causes;
use crate::testutil::{g, location, meta, wait, StreamBuilder};

const HOG_PC: u64 = 0x48_1000;
const VICTIM_PC: u64 = 0x48_2000;
const US: u64 = 1_000;
/// `StreamBuilder`'s clock at the start.
const T0: u64 = 1_000_000;
/// `prev_state` of a thread switched out while still runnable.
const RUNNING: u64 = 0;

fn test_meta() -> goroscope_events::Meta {
    meta(&[
        (HOG_PC, location("main.hog", 10)),
        (VICTIM_PC, location("main.victim", 20)),
    ])
}

/// Goroutines 10 (hog) and 11 (victim) created at 0 on P 0; P 0 idle until 10 starts at 100 µs
/// and runs to 1100 µs (STW 300–350 µs; its thread 1000 preempted by the kernel 600–800 µs);
/// 11 runs from 1100 µs.
fn hog_stream() -> Vec<goroscope_events::Event> {
    let mut s = StreamBuilder::new();
    s.on(0, 1000);
    s.go_create(10, 1, HOG_PC)
        .go_status(10, g::DEAD, g::RUNNABLE);
    s.go_create(11, 1, VICTIM_PC)
        .go_status(11, g::DEAD, g::RUNNABLE);
    s.at(T0 + 100 * US).go_start(10, 0, 0);
    s.at(T0 + 300 * US)
        .emit(EventKind::StwBegin { reason: Some(2) });
    s.at(T0 + 350 * US).emit(EventKind::StwEnd);
    s.at(T0 + 600 * US)
        .switch_flags(1000, 5555, RUNNING, true, false);
    s.at(T0 + 800 * US)
        .switch_flags(5555, 1000, RUNNING, false, true);
    s.at(T0 + 1100 * US).go_park(10, wait::CHAN_RECEIVE);
    s.go_start(11, 0, 0);
    s.at(T0 + 1200 * US).go_park(11, wait::SLEEP);
    s.build()
}

#[test]
fn a_wait_behind_a_hog_splits_into_stw_kernel_ps_busy_and_other() {
    let report = run(hog_stream(), &test_meta());
    let a = report.latency_attribution.expect("attribution section");
    assert!(a.coverage.captured, "{:?}", a.coverage);
    assert_eq!(a.waits, 2);
    // 10 waited 0–100 µs with P 0 idle; 11 waited 0–1100 µs.
    assert_eq!(a.total_ns, 1200 * US);
    assert_eq!(a.total_ns, a.causes.sum());
    assert_eq!(
        a.causes,
        Causes {
            stw_ns: 50 * US,
            kernel_ns: 200 * US,
            syscall_ns: 0,
            ps_busy_ns: (200 + 250 + 300) * US,
            other_ns: 200 * US,
        }
    );
    let victim = a
        .by_site
        .iter()
        .find(|s| s.function == "main.victim")
        .expect("victim's site");
    assert_eq!(victim.waits, 1);
    assert_eq!(victim.total_ns, 1100 * US);
    assert_eq!(victim.causes.ps_busy_ns, 750 * US);
    assert_eq!(victim.causes.other_ns, 100 * US);
    // The hog occupied the P for all of the ps_busy time.
    assert_eq!(a.ps_busy_occupants.len(), 1);
    assert_eq!(a.ps_busy_occupants[0].function, "main.hog");
    assert_eq!(a.ps_busy_occupants[0].ns, 750 * US);
}

#[test]
fn a_syscall_on_the_next_thread_outranks_busy_ps_and_stw_outranks_it() {
    // 10 runs on P 0 from 100 µs and enters a syscall at 200 µs (keeping the P: no hand-off),
    // a STW 250–300 µs overlaps it, it returns at 400 µs and parks at 500 µs; 11, runnable since
    // 0, then runs on the same thread.
    let mut s = StreamBuilder::new();
    s.on(0, 1000);
    s.go_create(10, 1, HOG_PC)
        .go_status(10, g::DEAD, g::RUNNABLE);
    s.go_create(11, 1, VICTIM_PC)
        .go_status(11, g::DEAD, g::RUNNABLE);
    s.at(T0 + 100 * US).go_start(10, 0, 0);
    s.at(T0 + 200 * US).emit(EventKind::SyscallEnter {
        goid: 10,
        blocking: false,
    });
    s.at(T0 + 250 * US)
        .emit(EventKind::StwBegin { reason: Some(2) });
    s.at(T0 + 300 * US).emit(EventKind::StwEnd);
    s.at(T0 + 400 * US).emit(EventKind::SyscallExit {
        goid: 10,
        lost_p: false,
    });
    s.at(T0 + 500 * US).go_park(10, wait::CHAN_RECEIVE);
    s.go_start(11, 0, 0);
    s.at(T0 + 600 * US).go_park(11, wait::SLEEP);
    let report = run(s.build(), &test_meta());
    let a = report.latency_attribution.expect("attribution section");
    let victim = a
        .by_site
        .iter()
        .find(|s| s.function == "main.victim")
        .expect("victim's site");
    assert_eq!(
        victim.causes,
        Causes {
            stw_ns: 50 * US,
            kernel_ns: 0,
            syscall_ns: 150 * US,
            ps_busy_ns: 200 * US,
            other_ns: 100 * US,
        }
    );
    assert_eq!(victim.total_ns, 500 * US);
    assert_eq!(a.total_ns, a.causes.sum());
}

#[test]
fn default_level_samples_split_on_stw_and_the_idle_p_counter() {
    // A sample ending at 1000 µs that waited 800 µs (from 200 µs); a STW 300–400 µs; the
    // runtime's counter: no idle P at 0 and 500 µs, one idle at 700 µs, none at 900 µs and
    // 2000 µs. Expected: stw 100, ps_busy 200–300 + 400–700 + 900–1000 = 500, other 700–900 = 200.
    let mut s = StreamBuilder::new();
    s.on(0, 1000);
    let sched = |npidle| EventKind::SchedSample {
        npidle,
        nmspinning: 0,
        global_runq: 0,
        gomaxprocs: 1,
    };
    s.at(T0).emit(sched(0));
    s.at(T0 + 300 * US)
        .emit(EventKind::StwBegin { reason: Some(2) });
    s.at(T0 + 400 * US).emit(EventKind::StwEnd);
    s.at(T0 + 500 * US).emit(sched(0));
    s.at(T0 + 700 * US).emit(sched(1));
    s.at(T0 + 900 * US).emit(sched(0));
    s.at(T0 + 1000 * US).emit(EventKind::GoSample {
        goid: 11,
        creation_pc: VICTIM_PC,
        start_pc: 0x40_0000,
        runnable_ns: 800_000,
        p_id: 0,
        m_id: 0,
        wait_reason: 0,
        first_run: false,
        locked: false,
        stack_id: None,
        stack_cut: false,
    });
    s.at(T0 + 2000 * US).emit(sched(0));
    let report = run(s.build(), &test_meta());
    let a = report.latency_attribution.expect("attribution section");
    assert_eq!(a.basis, "samples");
    assert_eq!(a.waits, 1);
    assert_eq!(
        a.causes,
        Causes {
            stw_ns: 100 * US,
            kernel_ns: 0,
            syscall_ns: 0,
            ps_busy_ns: 500 * US,
            other_ns: 200 * US,
        }
    );
    assert_eq!(a.total_ns, 800 * US);
    assert_eq!(a.by_site[0].function, "main.victim");
    let kernel = a.exactness.iter().find(|e| e.cause == "kernel").unwrap();
    assert!(!kernel.exact, "{kernel:?}");
}

#[test]
fn default_level_kernel_share_is_estimated_from_the_run_delay_of_the_samples_thread() {
    // The sampled wait above (800 µs ending at 1000 µs on thread 1000: stw 100, ps_busy 500,
    // other 200), and two readings of the kernel aggregates around it: thread 1000 ran 250 µs
    // and waited 750 µs for a CPU in between (throttled), so ρ = 0.75 of the 700 µs outside
    // the pause, 525 µs, is the kernel's; the 175 µs left split 5:2 between ps_busy and other.
    use goroscope_events::{KernelAggregates, ThreadAggregate, ThreadCounters};
    let mut s = StreamBuilder::new();
    s.on(0, 1000);
    let sched = |npidle| EventKind::SchedSample {
        npidle,
        nmspinning: 0,
        global_runq: 0,
        gomaxprocs: 1,
    };
    s.at(T0).emit(sched(0));
    s.at(T0 + 300 * US)
        .emit(EventKind::StwBegin { reason: Some(2) });
    s.at(T0 + 400 * US).emit(EventKind::StwEnd);
    s.at(T0 + 500 * US).emit(sched(0));
    s.at(T0 + 700 * US).emit(sched(1));
    s.at(T0 + 900 * US).emit(sched(0));
    s.at(T0 + 1000 * US).emit(EventKind::GoSample {
        goid: 11,
        creation_pc: VICTIM_PC,
        start_pc: 0x40_0000,
        runnable_ns: 800_000,
        p_id: 0,
        m_id: 0,
        wait_reason: 0,
        first_run: false,
        locked: false,
        stack_id: None,
        stack_cut: false,
    });
    s.at(T0 + 2000 * US).emit(sched(0));
    let reading = |ts: u64, on: u64, delay: u64| KernelAggregates {
        ts_ns: ts,
        since_ns: T0,
        threads: vec![ThreadAggregate {
            tid: 1000,
            last: ThreadCounters {
                read_ns: ts,
                on_cpu_ns: on,
                run_delay_ns: Some(delay),
                ..Default::default()
            },
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut analyzer = crate::Analyzer::new(crate::Options::default());
    analyzer.observe_kernel_aggregates(&reading(T0, 0, 0));
    for e in s.build() {
        analyzer.push(e);
    }
    analyzer.observe_kernel_aggregates(&reading(T0 + 2000 * US, 250 * US, 750 * US));
    let a = analyzer
        .finish(&test_meta())
        .latency_attribution
        .expect("attribution section");
    assert_eq!(a.basis, "samples");
    assert_eq!(
        a.causes,
        Causes {
            stw_ns: 100 * US,
            kernel_ns: 525 * US,
            syscall_ns: 0,
            ps_busy_ns: 125 * US,
            other_ns: 50 * US,
        }
    );
    assert_eq!(a.total_ns, 800 * US);
    assert_eq!(a.by_site[0].causes, a.causes);
    let kernel = a.exactness.iter().find(|e| e.cause == "kernel").unwrap();
    assert!(!kernel.exact, "{kernel:?}");
    assert!(kernel.how.starts_with("estimated"), "{kernel:?}");
}

#[test]
fn a_woken_threads_run_queue_delay_is_kernel_time() {
    // As the hog stream, but thread 1000 blocks (prev_state 1: sleeping) at 600 µs, is woken
    // at 700 µs and runs again at 800 µs: only the 100 µs from the wake-up to the switch-in
    // are the kernel's; while it slept the P stayed with the hog (ps_busy).
    const SLEEPING: u64 = 1;
    let mut s = StreamBuilder::new();
    s.on(0, 1000);
    s.go_create(10, 1, HOG_PC)
        .go_status(10, g::DEAD, g::RUNNABLE);
    s.go_create(11, 1, VICTIM_PC)
        .go_status(11, g::DEAD, g::RUNNABLE);
    s.at(T0 + 100 * US).go_start(10, 0, 0);
    s.at(T0 + 300 * US)
        .emit(EventKind::StwBegin { reason: Some(2) });
    s.at(T0 + 350 * US).emit(EventKind::StwEnd);
    s.at(T0 + 600 * US)
        .switch_flags(1000, 5555, SLEEPING, true, false);
    s.on(0, 5555);
    s.at(T0 + 700 * US).wakeup(1000);
    s.at(T0 + 800 * US)
        .switch_flags(5555, 1000, RUNNING, false, true);
    s.on(0, 1000);
    s.at(T0 + 1100 * US).go_park(10, wait::CHAN_RECEIVE);
    s.go_start(11, 0, 0);
    s.at(T0 + 1200 * US).go_park(11, wait::SLEEP);
    let report = run(s.build(), &test_meta());
    let a = report.latency_attribution.expect("attribution section");
    assert_eq!(a.total_ns, 1200 * US);
    assert_eq!(
        a.causes,
        Causes {
            stw_ns: 50 * US,
            kernel_ns: 100 * US,
            syscall_ns: 0,
            ps_busy_ns: (200 + 250 + 100 + 300) * US,
            other_ns: 200 * US,
        }
    );
}
