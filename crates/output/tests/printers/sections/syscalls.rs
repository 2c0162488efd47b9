//! Syscalls and P hand-offs.

use goroscope_analysis::testutil::{location, meta, StreamBuilder};
use goroscope_events::EventKind;
use goroscope_output::text::sched::syscalls::render;

use super::at_level;
use crate::support::report;

const SITE_A: u64 = 0x4a_1000;
const READ: i64 = 0;
const EAGAIN: i64 = 11;

#[test]
fn the_monitor_level_says_what_it_cannot_see() {
    let r = report(Vec::new(), &at_level("monitor")).scheduler.syscalls;
    let mut text = String::new();
    render(&r, &mut text).expect("writing to a String");
    assert!(
        text.contains("System calls (kernel): not captured"),
        "{text}"
    );
    assert!(text.contains("P hand-offs (handoffp): 0"), "{text}");
}

#[test]
fn text_lists_calls_goroutines_and_sites() {
    let mut s = StreamBuilder::new();
    s.on(0, 100)
        .go_create(10, 1, SITE_A)
        .advance(100)
        .go_start(10, 0, 0);
    s.advance(10).emit(EventKind::KernelSyscall {
        nr: READ,
        ret: -EAGAIN,
        duration_ns: 2_000,
    });
    let m = meta(&[(SITE_A, location("main.reader", 10))]);
    let r = report(s.build(), &m).scheduler.syscalls;
    let mut text = String::new();
    render(&r, &mut text).expect("writing to a String");
    assert!(text.contains("1 calls, 1 errors"), "{text}");
    assert!(text.contains("read (EAGAIN 1)"), "{text}");
    assert!(text.contains("main.reader (/src/app/main.go:10)"), "{text}");
}
