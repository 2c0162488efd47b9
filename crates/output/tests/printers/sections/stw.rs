//! Stop-the-world pauses.

use goroscope_analysis::testutil::StreamBuilder;
use goroscope_events::EventKind;
use goroscope_output::text::sched::stw::render;

use super::at_level;
use crate::support::report;

#[test]
fn text_of_a_pause() {
    // Go 1.21+ stwReason 2: GC sweep termination; 1 µs stopping, 2 µs stopped.
    let mut s = StreamBuilder::new();
    s.emit(EventKind::StwBegin { reason: Some(2) })
        .advance(1_000)
        .emit(EventKind::StwStopped)
        .advance(2_000)
        .emit(EventKind::StwEnd);
    let r = report(s.build(), &at_level("default"))
        .scheduler
        .stop_the_world;
    let mut text = String::new();
    render(&r, &mut text).expect("writing to a String");
    assert!(
        text.contains("Stop-the-world pauses: 1, 3.00 µs in total"),
        "{text}"
    );
    assert!(text.contains("GC sweep termination"), "{text}");
}
