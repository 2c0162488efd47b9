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
