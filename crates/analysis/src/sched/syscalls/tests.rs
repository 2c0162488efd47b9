//! Tests of the syscalls section on synthetic streams, through the whole engine. Expected
//! values are derived from the streams built here; syscall numbers and names are x86-64's
//! (arch/x86/entry/syscalls/syscall_64.tbl), errnos Linux's.

use goroscope_events::{Event, EventKind, Level, Meta, VecSource};

use super::kernel::RUNTIME_ROW;
use super::SyscallReport;
use crate::testutil::{location, meta, wait, StreamBuilder};
use crate::{analyze, Options};

const SITE_A: u64 = 0x4a_1000;
const SITE_B: u64 = 0x4a_2000;
const READ: i64 = 0;
const WRITE: i64 = 1;
const RT_SIGRETURN: i64 = 15;
const NANOSLEEP: i64 = 35;
const FUTEX: i64 = 202;
const EAGAIN: i64 = 11;
const ETIMEDOUT: i64 = 110;

fn sites_meta() -> Meta {
    meta(&[
        (SITE_A, location("main.reader", 10)),
        (SITE_B, location("main.waiter", 20)),
    ])
}

pub(crate) fn report(events: Vec<Event>, meta: &Meta, options: Options) -> crate::Report {
    analyze(&mut VecSource::with_batch(events, 7), meta, options).expect("a VecSource never fails")
}

fn syscalls(events: Vec<Event>, meta: &Meta) -> SyscallReport {
    report(events, meta, Options::default()).scheduler.syscalls
}

fn ksys(s: &mut StreamBuilder, nr: i64, ret: i64, duration_ns: u64) {
    s.advance(10).emit(EventKind::KernelSyscall {
        nr,
        ret,
        duration_ns,
    });
}

/// Goroutine `goid` created at `site` and running on thread `tid`.
fn running(s: &mut StreamBuilder, goid: u64, site: u64, tid: u32) {
    s.on(0, tid)
        .go_create(goid, 1, site)
        .advance(100)
        .go_start(goid, 0, 0);
}

#[test]
fn kernel_calls_by_name_goroutine_and_site() {
    let mut s = StreamBuilder::new();
    running(&mut s, 10, SITE_A, 100);
    s.emit(EventKind::SyscallEnter {
        goid: 10,
        blocking: false,
    });
    ksys(&mut s, READ, 5, 2_000);
    ksys(&mut s, READ, -EAGAIN, 1_000);
    s.emit(EventKind::SyscallExit {
        goid: 10,
        lost_p: false,
    });
    // A signal return's "error" is the interrupted code's RAX: a call, not an error.
    ksys(&mut s, RT_SIGRETURN, -1, 300);
    running(&mut s, 11, SITE_A, 101);
    ksys(&mut s, WRITE, 10, 500);
    running(&mut s, 12, SITE_B, 102);
    ksys(&mut s, FUTEX, -ETIMEDOUT, 4_000);
    // Thread 103 runs no goroutine: the runtime's own calls.
    s.on(1, 103);
    ksys(&mut s, FUTEX, 0, 1_000_000);
    ksys(&mut s, NANOSLEEP, 0, 20_000);
    // Goroutine 10 parks: the next call on its thread is the runtime's (stopm's futex).
    s.on(0, 100).advance(10).go_park(10, wait::CHAN_RECEIVE);
    ksys(&mut s, FUTEX, 0, 7_000);

    let k = syscalls(s.build(), &sites_meta()).kernel;
    assert!(k.coverage.captured);
    assert_eq!((k.calls, k.errors), (8, 2));
    let total = 2_000 + 1_000 + 300 + 500 + 4_000 + 1_000_000 + 20_000 + 7_000;
    assert_eq!(k.total_ns, total);

    let names: Vec<(&str, u64, u64)> = k
        .by_name
        .iter()
        .map(|r| (r.name.as_str(), r.stats.count, r.stats.total_ns))
        .collect();
    assert_eq!(
        names,
        [
            ("futex", 3, 1_011_000),
            ("nanosleep", 1, 20_000),
            ("read", 2, 3_000),
            ("write", 1, 500),
            ("rt_sigreturn", 1, 300)
        ]
    );
    let futex = &k.by_name[0];
    assert_eq!(
        (futex.nr, futex.errors, futex.stats.max_ns),
        (FUTEX, 1, 1_000_000)
    );
    assert_eq!(futex.errors_by_errno.len(), 1);
    assert_eq!(
        (
            futex.errors_by_errno[0].errno,
            futex.errors_by_errno[0].name.as_str()
        ),
        (ETIMEDOUT, "ETIMEDOUT")
    );
    let read = &k.by_name[2];
    assert_eq!(read.errors_by_errno[0].name, "EAGAIN");
    // Nearest rank: p50 is the 1 µs call (within the histogram's 1/32), p99 the 2 µs one.
    assert!((1_000..=1_000 + 1_000 / 32).contains(&read.stats.p50_ns));
    assert_eq!(read.stats.p99_ns, 2_000);
    assert_eq!(k.by_name[4].errors, 0, "rt_sigreturn has no errors");

    // By goroutine: the runtime (null goid) first, with the idle thread's and the parked
    // goroutine's thread's calls.
    assert_eq!(k.goroutines, 3);
    let rows: Vec<(Option<u64>, &str, u64, u64, u64)> = k
        .by_goroutine
        .iter()
        .map(|r| {
            (
                r.goid,
                r.function.as_str(),
                r.stats.count,
                r.stats.total_ns,
                r.errors,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (None, RUNTIME_ROW, 3, 1_027_000, 0),
            (Some(12), "main.waiter", 1, 4_000, 1),
            (Some(10), "main.reader", 3, 3_300, 1),
            (Some(11), "main.reader", 1, 500, 0),
        ]
    );

    let sites: Vec<(&str, u32, u64, u64, u64)> = k
        .by_site
        .iter()
        .map(|r| {
            (
                r.function.as_str(),
                r.line,
                r.goroutines,
                r.stats.count,
                r.stats.total_ns,
            )
        })
        .collect();
    assert_eq!(
        sites,
        [
            (RUNTIME_ROW, 0, 0, 3, 1_027_000),
            ("main.waiter", 20, 1, 1, 4_000),
            ("main.reader", 10, 2, 4, 3_800),
        ]
    );

    // Each goroutine's and site's calls by name: goroutine 10 read twice (one EAGAIN) and
    // took a signal return; site main.reader adds goroutine 11's write.
    let by_name = |rows: &[super::kernel::SyscallNameTotals]| -> Vec<(String, u64, u64, u64, u64)> {
        rows.iter()
            .map(|n| (n.name.clone(), n.count, n.total_ns, n.max_ns, n.errors))
            .collect()
    };
    let g10 = k.by_goroutine.iter().find(|r| r.goid == Some(10)).unwrap();
    assert_eq!(
        by_name(&g10.by_name),
        [
            ("read".to_string(), 2, 3_000, 2_000, 1),
            ("rt_sigreturn".to_string(), 1, 300, 300, 0)
        ]
    );
    let reader = k
        .by_site
        .iter()
        .find(|r| r.function == "main.reader")
        .unwrap();
    assert_eq!(
        by_name(&reader.by_name),
        [
            ("read".to_string(), 2, 3_000, 2_000, 1),
            ("write".to_string(), 1, 500, 500, 0),
            ("rt_sigreturn".to_string(), 1, 300, 300, 0)
        ]
    );
}

#[test]
fn calls_through_the_runtime_per_goroutine() {
    let options = Options {
        end_ns: Some(1_000_000 + 100_000),
        ..Options::default()
    };
    let mut s = StreamBuilder::new();
    running(&mut s, 10, SITE_A, 100); // now = 1_000_100
    let enter = |s: &mut StreamBuilder, goid, blocking| {
        s.emit(EventKind::SyscallEnter { goid, blocking });
    };
    enter(&mut s, 10, false);
    s.advance(1_000).emit(EventKind::SyscallExit {
        goid: 10,
        lost_p: false,
    });
    s.advance(100);
    enter(&mut s, 10, true);
    s.advance(5_000).emit(EventKind::SyscallExit {
        goid: 10,
        lost_p: false,
    }); // now = 1_006_200
    running(&mut s, 11, SITE_B, 101); // now = 1_006_300
                                      // 11 exits a call that began before the trace: no time.
    s.emit(EventKind::SyscallExit {
        goid: 11,
        lost_p: false,
    });
    s.advance(200);
    enter(&mut s, 11, false); // at 1_006_500, still in it at the end (1_100_000)
    let r = report(s.build(), &sites_meta(), options);
    let t = r.scheduler.syscalls.through_runtime;
    assert!(t.coverage.captured);
    assert_eq!((t.calls, t.blocking, t.exits), (3, 1, 3));
    assert_eq!(
        (t.unmatched_exits, t.lost_exits, t.in_syscall_at_end),
        (1, 0, 1)
    );
    let open_ns = 1_100_000 - 1_006_500;
    assert_eq!(t.time_in_syscalls_ns, 6_000 + open_ns);
    assert_eq!(t.goroutines, 2);
    // The blocking call handed its P off at once: it lost its P.
    assert_eq!(t.lost_p, 1);
    let rows: Vec<(u64, &str, u64, u64, u64, u64, bool)> = t
        .by_goroutine
        .iter()
        .map(|r| {
            (
                r.goid,
                r.function.as_str(),
                r.calls,
                r.blocking,
                r.total_ns,
                r.max_ns,
                r.in_syscall_at_end,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (11, "main.waiter", 1, 0, open_ns, open_ns, true),
            (10, "main.reader", 2, 1, 6_000, 5_000, false),
        ]
    );
}

#[test]
fn a_lost_exit_drops_the_open_call() {
    let mut s = StreamBuilder::new();
    running(&mut s, 10, SITE_A, 100);
    s.emit(EventKind::SyscallEnter {
        goid: 10,
        blocking: false,
    });
    s.advance(1_000).emit(EventKind::SyscallEnter {
        goid: 10,
        blocking: false,
    });
    s.advance(300).emit(EventKind::SyscallExit {
        goid: 10,
        lost_p: false,
    });
    let t = syscalls(s.build(), &sites_meta()).through_runtime;
    assert_eq!((t.calls, t.lost_exits, t.time_in_syscalls_ns), (2, 1, 300));
}

#[test]
fn calls_whose_exit_says_the_p_was_taken_lost_it() {
    let mut s = StreamBuilder::new();
    running(&mut s, 10, SITE_A, 100);
    for lost_p in [true, false, true] {
        s.emit(EventKind::SyscallEnter {
            goid: 10,
            blocking: false,
        });
        s.advance(1_000)
            .emit(EventKind::SyscallExit { goid: 10, lost_p });
    }
    let t = syscalls(s.build(), &sites_meta()).through_runtime;
    assert_eq!((t.calls, t.lost_p), (3, 2));
    assert_eq!(t.by_goroutine[0].lost_p, 2);
}

#[test]
fn a_return_through_the_scheduler_lost_its_p_even_if_the_exit_did_not_say() {
    let mut s = StreamBuilder::new();
    running(&mut s, 10, SITE_A, 100);
    // Kept its P: the goroutine goes on and parks.
    s.emit(EventKind::SyscallEnter {
        goid: 10,
        blocking: false,
    });
    s.advance(1_000).emit(EventKind::SyscallExit {
        goid: 10,
        lost_p: false,
    });
    s.advance(10).go_park(10, 1);
    s.advance(10).go_start(10, 0, 0);
    // The P was taken after the exit probe looked: the goroutine is scheduled again.
    s.emit(EventKind::SyscallEnter {
        goid: 10,
        blocking: false,
    });
    s.advance(1_000).emit(EventKind::SyscallExit {
        goid: 10,
        lost_p: false,
    });
    s.advance(500).go_start(10, 1, 0);
    let t = syscalls(s.build(), &sites_meta()).through_runtime;
    assert_eq!((t.calls, t.lost_p), (2, 1));
}

fn handoff(s: &mut StreamBuilder, tid: u32, p_id: i32, goid: u64, has_p: bool, locked: bool) {
    s.on(0, tid).advance(10).emit(EventKind::Handoff {
        p_id,
        caller_goid: goid,
        caller_has_p: has_p,
        caller_locked: locked,
    });
}

#[test]
fn handoffs_by_cause_and_p_with_threads_started() {
    let mut s = StreamBuilder::new();
    // sysmon (thread 200) retakes P 1 and forks a thread for it 50 µs later.
    handoff(&mut s, 200, 1, 0, false, false);
    s.advance(50_000).thread_fork(300);
    // A second fork by the same thread is not for that hand-off.
    s.advance(10).thread_fork(301);
    // Goroutine 7 in entersyscallblock gives P 0 away; no thread.
    handoff(&mut s, 201, 0, 7, false, false);
    // A locked M (stoplockedm) hands P 2 off; its fork comes too late to count.
    handoff(&mut s, 202, 2, 0, false, true);
    s.advance(2_000_000).thread_fork(302);
    // forEachP from a goroutine holding P 3 (GC): has_p wins over the goroutine.
    handoff(&mut s, 203, 3, 5, true, false);
    // Another thread's fork does not count for it.
    s.on(0, 204).advance(10).thread_fork(303);
    // sysmon again, on P 1: a locked goroutine in entersyscallblock is entersyscallblock.
    handoff(&mut s, 200, 1, 0, false, false);
    handoff(&mut s, 205, 1, 9, false, true);
    s.advance(100).thread_fork(304);

    let h = syscalls(s.build(), &meta(&[]).with_level(Level::Monitor)).handoffs;
    assert!(
        h.coverage.captured,
        "hand-offs are traced at the monitor level"
    );
    assert_eq!(h.total, 6);
    let c = h.by_cause;
    assert_eq!(
        (
            c.sysmon_retake,
            c.entersyscallblock,
            c.stoplockedm,
            c.gc_stw
        ),
        (2, 2, 1, 1)
    );
    assert_eq!(h.threads_started, 2);
    let st = h.threads_started_by_cause;
    assert_eq!((st.sysmon_retake, st.entersyscallblock), (1, 1));
    let by_p: Vec<(i32, u64, u64, u64, u64, u64)> = h
        .by_p
        .iter()
        .map(|r| {
            let c = r.by_cause;
            (
                r.p_id,
                r.total,
                c.sysmon_retake,
                c.entersyscallblock,
                c.stoplockedm,
                c.gc_stw,
            )
        })
        .collect();
    assert_eq!(
        by_p,
        [
            (0, 1, 0, 1, 0, 0),
            (1, 3, 2, 1, 0, 0),
            (2, 1, 0, 0, 1, 0),
            (3, 1, 0, 0, 0, 1)
        ]
    );
}

#[test]
fn the_monitor_level_says_what_it_cannot_see() {
    let r = syscalls(Vec::new(), &meta(&[]).with_level(Level::Monitor));
    assert!(!r.kernel.coverage.captured);
    assert!(!r.through_runtime.coverage.captured);
    assert!(r.handoffs.coverage.captured);
    let json = serde_json::to_value(&r).expect("serializable");
    assert_eq!(json["kernel"]["captured"], false);
    assert!(json["kernel"]["why"]
        .as_str()
        .is_some_and(|w| w.contains("monitor")));
}

#[test]
fn a_goroutine_row_in_the_json() {
    let mut s = StreamBuilder::new();
    running(&mut s, 10, SITE_A, 100);
    ksys(&mut s, READ, -EAGAIN, 2_000);
    let r = syscalls(s.build(), &sites_meta());
    let json = serde_json::to_value(&r).expect("serializable");
    let row = &json["kernel"]["by_goroutine"][0];
    assert_eq!(row["goid"], 10);
    assert_eq!(row["count"], 1);
    assert_eq!(row["p99_ns"], 2_000);
}
