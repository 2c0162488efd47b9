//! Tests of the GOMAXPROCS section on synthetic streams, through the whole engine.

use goroscope_events::{CpuLimit, CpuStat, EventKind, Level, Meta, VecSource};

use super::ProcsReport;
use crate::testutil::{meta, StreamBuilder};
use crate::{Analyzer, Options};

fn gomaxprocs(s: &StreamBuilder, meta: &Meta, limit: Option<CpuLimit>) -> ProcsReport {
    gomaxprocs_throttled(s, meta, limit, None)
}

fn gomaxprocs_throttled(
    s: &StreamBuilder,
    meta: &Meta,
    limit: Option<CpuLimit>,
    stat: Option<CpuStat>,
) -> ProcsReport {
    let options = Options {
        start_ns: Some(1_000_000),
        ..Options::default()
    };
    let mut a = Analyzer::new(options)
        .with_cpu_limit(limit)
        .with_cpu_stat(stat);
    let mut source = VecSource::with_batch(s.build(), 3);
    let mut batch = Vec::new();
    while {
        batch.clear();
        let more = goroscope_events::EventSource::next_batch(&mut source, &mut batch)
            .expect("a VecSource never fails");
        for e in batch.drain(..) {
            a.push(e);
        }
        more
    } {}
    a.finish(meta).scheduler.gomaxprocs
}

fn resize(s: &mut StreamBuilder, nprocs: i32) {
    s.emit(EventKind::ProcResize { nprocs });
}

fn sample(s: &mut StreamBuilder, gomaxprocs: i32) {
    s.emit(EventKind::SchedSample {
        npidle: 0,
        nmspinning: 0,
        global_runq: 0,
        gomaxprocs,
    });
}

/// A 2-CPU quota on an 8-CPU machine, the process allowed on all of them.
fn container() -> CpuLimit {
    CpuLimit {
        cgroup: Some("/kubepods/pod1".into()),
        quota_cpus: Some(2.0),
        cpuset: Some((0..8).collect()),
        affinity: (0..8).collect(),
        online_cpus: 8,
        ..CpuLimit::default()
    }
}

/// Its cgroup's accounting over the recording: throttled in 40 of 100 periods.
fn throttled() -> CpuStat {
    CpuStat {
        usage_usec: 2_000_000,
        nr_periods: 100,
        nr_throttled: 40,
        throttled_usec: 250_000,
    }
}

#[test]
fn values_over_time_from_start_up() {
    let mut s = StreamBuilder::new();
    s.advance(100);
    resize(&mut s, 8); // start-up
    s.advance(1_000);
    sample(&mut s, 8);
    s.advance(5_000);
    resize(&mut s, 2); // runtime.GOMAXPROCS(2)
    let r = gomaxprocs_throttled(&s, &meta(&[]), Some(container()), Some(throttled()));
    assert!(r.coverage.captured);
    assert_eq!(
        (r.initial, r.initial_source.as_str()),
        (Some(8), "proc_resize")
    );
    assert_eq!((r.last, r.max), (Some(2), Some(8)));
    let changes: Vec<(u64, i32)> = r.changes.iter().map(|c| (c.at_ns, c.nprocs)).collect();
    assert_eq!(changes, [(100, 8), (6_100, 2)]);
    // 8 Ps on a 2-CPU quota: flagged; 8 ≤ the 8 usable CPUs.
    assert_eq!(
        (r.over_quota, r.over_cpus, r.usable_cpus),
        (Some(true), Some(false), Some(8))
    );
}

#[test]
fn the_cpu_limit_is_shown_as_recorded_with_its_throttling() {
    let mut s = StreamBuilder::new();
    resize(&mut s, 4);
    let r = gomaxprocs_throttled(&s, &meta(&[]), Some(container()), Some(throttled()));
    let json = serde_json::to_value(&r).expect("serializable");
    let limit = json["cpu_limit"].as_object().expect("cpu_limit");
    let keys: Vec<&str> = limit.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "cgroup",
            "cgroup_version",
            "quota_cpus",
            "cpuset",
            "affinity",
            "online_cpus",
            "throttled"
        ]
    );
    assert_eq!(
        json["cpu_limit"]["throttled"],
        serde_json::json!({"periods": 100, "throttled_periods": 40, "throttled_us": 250_000})
    );
    // No accounting: no throttling, the limit still shown.
    let r = gomaxprocs(&s, &meta(&[]), Some(container()));
    assert_eq!(
        r.cpu_limit.as_ref().map(|l| l.throttled.clone()),
        Some(None)
    );
    assert_eq!(r.cpu_limit.as_ref().and_then(|l| l.quota_cpus), Some(2.0));
}

#[test]
fn attached_run_takes_the_first_sample() {
    let mut s = StreamBuilder::new();
    sample(&mut s, 0); // read before schedinit: not a value
    s.advance(10);
    sample(&mut s, 4);
    s.advance(10);
    resize(&mut s, 3);
    let limit = CpuLimit {
        quota_cpus: Some(2.5),
        affinity: vec![0, 1, 2],
        cpuset: Some(vec![1, 2, 3]),
        online_cpus: 4,
        ..CpuLimit::default()
    };
    let r = gomaxprocs(&s, &meta(&[]), Some(limit));
    assert_eq!(
        (r.initial, r.initial_source.as_str()),
        (Some(4), "sched_sample")
    );
    assert_eq!((r.last, r.max), (Some(3), Some(4)));
    // 4 > ceil(2.5) = 3; usable = affinity ∩ cpuset = {1, 2}.
    assert_eq!(
        (r.over_quota, r.usable_cpus, r.over_cpus),
        (Some(true), Some(2), Some(true))
    );
}

#[test]
fn a_quota_rounded_up_is_not_over() {
    let mut s = StreamBuilder::new();
    resize(&mut s, 2);
    let limit = CpuLimit {
        quota_cpus: Some(1.5),
        online_cpus: 4,
        ..CpuLimit::default()
    };
    let r = gomaxprocs(&s, &meta(&[]), Some(limit));
    assert_eq!(
        (r.over_quota, r.usable_cpus, r.over_cpus),
        (Some(false), Some(4), Some(false))
    );
}

#[test]
fn nothing_seen_says_so() {
    let mut s = StreamBuilder::new();
    s.m_start(1);
    let r = gomaxprocs(&s, &meta(&[]).with_level(Level::Monitor), None);
    assert!(!r.coverage.captured);
    assert_eq!((r.initial, r.initial_source.as_str()), (None, "unknown"));
    assert_eq!((r.over_quota, r.over_cpus), (None, None));
    let json = serde_json::to_value(&r).expect("serializable");
    assert_eq!(json["captured"], false);
    assert!(json["why"]
        .as_str()
        .is_some_and(|w| w.contains("procresize")));
}

#[test]
fn the_initial_value_is_not_a_change() {
    // Traced from start-up: procresize(2) sets the initial value, the program sets 1, then 2.
    let mut s = StreamBuilder::new();
    for n in [2, 2, 1, 1, 2] {
        s.advance(100);
        resize(&mut s, n); // repeated values: start-the-world calls
    }
    let r = gomaxprocs(&s, &meta(&[]), None);
    assert_eq!(r.changes.len(), 3, "the start-up call is listed");
    assert_eq!(r.times_changed, 2);

    // Attached: the initial value comes from a sample; the first procresize is a change only
    // when it changes the value.
    let mut s = StreamBuilder::new();
    s.advance(100);
    sample(&mut s, 4);
    s.advance(100);
    resize(&mut s, 4); // a start-the-world repeating it
    s.advance(100);
    resize(&mut s, 3);
    let r = gomaxprocs(&s, &meta(&[]), None);
    assert_eq!(
        (r.initial_source.as_str(), r.times_changed),
        ("sched_sample", 1)
    );
}
