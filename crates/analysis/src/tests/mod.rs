//! Tests of the whole engine on synthetic event streams (builder in `crate::testutil`).
//! Expected values are derived from the streams the tests build, never from the code's output.

mod attribution;
mod capture;
mod goroutines;
mod incremental;
mod latency;
mod ordering;
mod threads;
mod timeline;

use goroscope_events::{Event, Meta, VecSource};

use crate::{analyze, Options, Report};

/// Analyses `events` in the given arrival order with the default options.
fn run(events: Vec<Event>, meta: &Meta) -> Report {
    run_with(events, meta, Options::default())
}

fn run_with(events: Vec<Event>, meta: &Meta, options: Options) -> Report {
    analyze(&mut VecSource::with_batch(events, 7), meta, options).expect("a VecSource never fails")
}
