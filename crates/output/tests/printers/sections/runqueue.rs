//! Run queues and work stealing.

use goroscope_analysis::testutil::StreamBuilder;
use goroscope_events::EventKind;
use goroscope_output::text::sched::runqueue::render;

use super::at_level;
use crate::support::report;

#[test]
fn the_monitor_level_says_it_did_not_capture() {
    let mut s = StreamBuilder::new();
    s.on(0, 100).m_start(0);
    let r = report(s.build(), &at_level("monitor")).scheduler.run_queues;
    let mut text = String::new();
    render(&r, &mut text).unwrap();
    assert!(text.contains("not captured"), "{text}");
    assert!(!text.contains("LOCAL"), "{text}");
}

#[test]
fn text_has_a_row_per_p_and_the_steal_pairs() {
    let ready = |goid| EventKind::GoReady {
        goid,
        by_goid: 1,
        p_id: 0,
        next: false,
    };
    let mut s = StreamBuilder::new();
    s.on(0, 100).advance(100).emit(ready(10));
    s.advance(100).emit(ready(11));
    s.on(1, 200).advance(100).emit(EventKind::Steal {
        thief_p: 1,
        victim_p: 0,
        queued: 2,
        runnext: false,
    });
    s.advance(100).go_start(10, 1, 0);
    let r = report(s.build(), &at_level("default")).scheduler.run_queues;
    let mut text = String::new();
    render(&r, &mut text).unwrap();
    assert!(text.contains("Run queues"), "{text}");
    assert!(
        text.contains("Work stealing: 1 steals took 1 goroutines"),
        "{text}"
    );
    assert!(text.contains("THIEF"), "{text}");
}
