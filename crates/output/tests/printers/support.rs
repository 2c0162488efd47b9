//! What the tests share: analysing a stream.

use goroscope_analysis::sched::procs::CpuLimit;
use goroscope_analysis::{Analyzer, Options, Report};
use goroscope_events::{Event, Meta};

/// Analyses `events` in the given order with the default options.
pub fn report(events: Vec<Event>, meta: &Meta) -> Report {
    analyse(events, meta, Options::default(), None)
}

/// Analyses `events` with `options` and the process's CPU limit.
pub fn analyse(
    events: Vec<Event>,
    meta: &Meta,
    options: Options,
    cpu_limit: Option<CpuLimit>,
) -> Report {
    let mut analyzer = Analyzer::new(options).with_cpu_limit(cpu_limit);
    for event in events {
        analyzer.push(event);
    }
    analyzer.finish(meta)
}
