//! GOMAXPROCS and the CPU limit.

use goroscope_analysis::testutil::StreamBuilder;
use goroscope_analysis::Options;
use goroscope_events::{CpuLimit, CpuStat, Event, EventKind};
use goroscope_output::text::sched::procs::render;

use super::at_level;
use crate::support::analyse;

fn gomaxprocs(events: Vec<Event>, level: &str, limit: Option<(CpuLimit, CpuStat)>) -> String {
    let options = Options {
        start_ns: Some(1_000_000),
        ..Options::default()
    };
    let r = analyse(events, &at_level(level), options, limit)
        .scheduler
        .gomaxprocs;
    let mut text = String::new();
    render(&r, &mut text).expect("writing to a String");
    text
}

#[test]
fn values_over_time_from_start_up() {
    let mut s = StreamBuilder::new();
    s.advance(100).emit(EventKind::ProcResize { nprocs: 8 }); // start-up
    s.advance(1_000).emit(EventKind::SchedSample {
        npidle: 0,
        nmspinning: 0,
        global_runq: 0,
        gomaxprocs: 8,
    });
    // runtime.GOMAXPROCS(2)
    s.advance(5_000).emit(EventKind::ProcResize { nprocs: 2 });
    // A 2-CPU quota on an 8-CPU machine, the process allowed on all of them.
    let container = CpuLimit {
        cgroup_version: None,
        cgroup: Some("/kubepods/pod1".into()),
        quota_cpus: Some(2.0),
        cpuset: Some((0..8).collect()),
        affinity: (0..8).collect(),
        online_cpus: 8,
    };
    let stat = CpuStat {
        nr_periods: 100,
        nr_throttled: 40,
        throttled_usec: 250_000,
        ..CpuStat::default()
    };
    let text = gomaxprocs(s.build(), "default", Some((container, stat)));
    assert!(
        text.contains("GOMAXPROCS: 8 at start (from proc_resize), 2 at end, 1 change"),
        "the start-up value is not a change: {text}"
    );
    assert!(
        text.contains("quota 2.00 CPUs, 8 usable CPUs of 8 online"),
        "{text}"
    );
    assert!(
        text.contains("throttled    40 of 100 periods, 250 ms"),
        "{text}"
    );
    assert!(text.contains("exceeds the CPU quota"), "{text}");
}

#[test]
fn nothing_seen_says_so() {
    let mut s = StreamBuilder::new();
    s.m_start(1);
    let text = gomaxprocs(s.build(), "monitor", None);
    assert!(text.contains("GOMAXPROCS: not captured"), "{text}");
}
