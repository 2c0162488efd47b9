//! The report's `capture` object: what the recording's level captured, fact by fact.

use goroscope_events::{Fact, Level};

use super::run;
use crate::testutil::meta;

#[test]
fn capture_says_what_the_recording_captured() {
    let at = |m: goroscope_events::Meta| serde_json::to_value(run(Vec::new(), &m)).unwrap();
    let monitor = at(meta(&[]).with_level(Level::Monitor));
    assert_eq!(monitor["capture"]["goroutine_scheduling"], "absent");
    assert_eq!(monitor["capture"]["stop_the_world"], "complete");
    assert_eq!(monitor["capture"]["sched_counters"], "snapshot");
    let full = at(meta(&[]).with_level(Level::Full));
    assert_eq!(full["capture"]["park_stacks"], "complete");
    let unknown = at(meta(&[]));
    assert_eq!(unknown["capture"]["gc"], "unknown");
    assert_eq!(
        unknown["capture"].as_object().map(|o| o.len()),
        Some(Fact::ALL.len())
    );
}
