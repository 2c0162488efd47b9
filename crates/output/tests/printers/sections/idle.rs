//! Idle Ps, parked Ms, runtime samples.

use goroscope_analysis::testutil::StreamBuilder;
use goroscope_events::EventKind;
use goroscope_output::text::sched::idle::render;

use super::at_level;
use crate::support::report;

#[test]
fn missing_data_is_said_not_zeroed() {
    let mut s = StreamBuilder::new();
    s.on(0, 100).emit(EventKind::ProcResize { nprocs: 2 });
    s.advance(1_000_000).m_start(1);
    let r = report(s.build(), &at_level("monitor")).scheduler.idle;
    let mut text = String::new();
    render(&r, &mut text).unwrap();
    assert!(!text.contains("BUSY%"), "{text}");
    assert_eq!(text.matches("not captured").count(), 3, "{text}");
}
