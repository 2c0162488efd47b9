//! LockOSThread and Ms.

use goroscope_analysis::testutil::StreamBuilder;
use goroscope_analysis::Options;
use goroscope_events::EventKind;
use goroscope_output::text::sched::locking::render;

use super::at_level;
use crate::support::analyse;

#[test]
fn the_monitor_level_cannot_bound_an_unseen_unlock() {
    let mut s = StreamBuilder::new();
    s.on(0, 100).m_start(1);
    s.emit(EventKind::LockOSThread { goid: 10 });
    let options = Options {
        start_ns: Some(1_000_000),
        end_ns: Some(2_000_000),
        ..Options::default()
    };
    let r = analyse(s.build(), &at_level("monitor"), options, None)
        .scheduler
        .locking;
    let mut text = String::new();
    render(&r, &mut text).expect("writing to a String");
    assert!(
        text.contains("LockOSThread: 1 calls by 1 goroutines"),
        "{text}"
    );
    assert!(text.contains("parks not captured"), "{text}");
}

#[test]
fn the_main_thread_is_wedged_and_goroutines_locked_before_the_trace_are_told_apart() {
    let mut s = StreamBuilder::new();
    s.at(1_000_100).on(0, 100).m_start(0);
    // The main goroutine runs locked with no call seen (locked during init, before the trace).
    s.emit(EventKind::GoStart {
        goid: 1,
        p_id: 0,
        m_id: 0,
        inherit_time: false,
        locked: true,
    });
    s.advance(10).go_create(10, 1, 0);
    s.emit(EventKind::GoStart {
        goid: 10,
        p_id: 0,
        m_id: 0,
        inherit_time: false,
        locked: false,
    });
    s.emit(EventKind::LockOSThread { goid: 10 });
    s.advance(10).emit(EventKind::GoExit {
        goid: 10,
        locked: true,
    });
    s.advance(10).m_exit(0); // mexit on M0: wedged
    let options = Options {
        start_ns: Some(1_000_000),
        end_ns: Some(2_000_000),
        ..Options::default()
    };
    let r = analyse(s.build(), &at_level("default"), options, None)
        .scheduler
        .locking;
    let mut text = String::new();
    render(&r, &mut text).expect("writing to a String");
    assert!(
        text.contains(
            "LockOSThread: 1 calls by 1 goroutines and 1 locked before the trace with no call seen (2 in all)"
        ),
        "{text}"
    );
    assert!(
        text.contains("0 of their threads destroyed, 1 wedged (the main thread"),
        "{text}"
    );
    assert!(text.contains("(M 0) wedged"), "{text}");
    assert!(!text.contains("destroyed\n"), "{text}");
    assert!(
        text.contains("Ms: 1 started, 0 exited (and M0 wedged"),
        "{text}"
    );
}
