//! The JSON shape documented in docs/report-schema.md, and the text report (moved from the
//! analysis crate with the printers).

use goroscope_analysis::testutil::{g, location, meta, wait, StreamBuilder};
use goroscope_analysis::REPORT_VERSION;
use goroscope_events::LossReason;
use goroscope_output::{render_json, render_text};

use crate::support::report;

fn sample() -> goroscope_analysis::Report {
    let mut s = StreamBuilder::new();
    s.on(0, 100).m_start(0);
    for i in 0..3 {
        s.goroutine_lifetime(10 + i, 0x3000, 2_000, 1_000);
    }
    s.go_create(20, 1, 0x4000)
        .advance(500)
        .go_start(20, 0, 0)
        .go_park(20, wait::CHAN_RECEIVE);
    s.go_status(20, g::RUNNING, g::WAITING);
    s.advance(100)
        .switch(100, 101, 1)
        .lost(LossReason::RingBufferFull, 4);
    report(
        s.build(),
        &meta(&[
            (0x3000, location("main.worker", 12)),
            (0x4000, location("main.leak", 30)),
        ]),
    )
}

#[test]
fn json_has_every_documented_field() {
    let json = serde_json::to_value(sample()).unwrap();
    assert_eq!(json["version"], REPORT_VERSION);
    assert_eq!(json["go_version"], "go1.22.10");
    let paths = [
        "/start_ns",
        "/duration_ns",
        "/goroutines/created",
        "/goroutines/exited",
        "/goroutines/live_at_end",
        "/goroutines/preexisting",
        "/goroutines/closed_by_goid_reuse",
        "/goroutines/by_creation_site/0/function",
        "/goroutines/by_creation_site/0/file",
        "/goroutines/by_creation_site/0/line",
        "/goroutines/by_creation_site/0/created",
        "/goroutines/by_creation_site/0/exited",
        "/goroutines/by_creation_site/0/live_at_end",
        "/goroutines/leaked/0/function",
        "/goroutines/leaked/0/file",
        "/goroutines/leaked/0/line",
        "/goroutines/leaked/0/wait_reason",
        "/goroutines/leaked/0/count",
        "/goroutines/live/0/goid",
        "/goroutines/live/0/state",
        "/goroutines/live/0/wait_reason",
        "/goroutines/live/0/function",
        "/goroutines/live/0/file",
        "/goroutines/live/0/line",
        "/goroutines/live/0/preexisting",
        "/sched_latency/count",
        "/sched_latency/p50_ns",
        "/sched_latency/p90_ns",
        "/sched_latency/p99_ns",
        "/sched_latency/max_ns",
        "/sched_latency/histogram/0/le_ns",
        "/sched_latency/histogram/0/count",
        "/threads/created",
        "/threads/exited",
        "/threads/preexisting",
        "/threads/max_live",
        "/threads/live_at_end",
        "/threads/m_started",
        "/threads/m_exited",
        "/threads/per_thread/0/tid",
        "/threads/per_thread/0/m_id",
        "/threads/per_thread/0/origin",
        "/threads/per_thread/0/exited",
        "/threads/per_thread/0/on_cpu_ns",
        "/threads/per_thread/0/off_cpu_ns",
        "/threads/per_thread/0/involuntary_switches",
        "/threads/per_thread/0/voluntary_switches",
        "/threads/per_thread/0/wakeups",
        "/threads/per_thread/0/goid_at_end",
        "/events/total",
        "/events/late_events",
        "/events/by_kind/go_create",
        "/events/by_kind/lost",
        "/drops/total",
        "/drops/by_reason/ring_buffer_full",
        "/anomalies/total",
        "/anomalies/by_kind",
    ];
    for path in paths {
        assert!(json.pointer(path).is_some(), "missing {path} in {json:#}");
    }
    // Round trip: the schema types read back what they wrote.
    let back: goroscope_analysis::Report = serde_json::from_value(json).unwrap();
    assert_eq!(back, sample());
}

#[test]
fn text_leads_with_the_numbers_that_matter() {
    let text = render_text(&sample());
    let head: Vec<&str> = text.lines().take(8).collect();
    let head = head.join("\n");
    assert!(head.starts_with("goroscope report: go1.22.10,"), "{text}");
    assert!(
        head.contains("4 created, 3 exited, 1 live at end"),
        "{text}"
    );
    assert!(head.contains("p50 2.00 µs"), "{text}");
    assert!(head.contains("4 events lost"), "{text}");
    assert!(text.contains("main.worker (/src/app/main.go:12)"), "{text}");
    assert!(text.contains("chan receive"), "{text}");
    assert!(text.contains("ON-CPU"), "{text}");
}

#[test]
#[ignore = "prints the sample report for eyeballing"]
fn print_sample() {
    println!("{}", render_text(&sample()));
    print!("{}", render_json(&sample()).unwrap());
}

#[test]
fn json_marks_what_the_monitor_level_did_not_capture() {
    use goroscope_events::{EventKind, Level, Meta};
    // A thread that ran runtime code and nothing else: at monitor no sched_switch is attached,
    // so its on/off-CPU split and the goroutine counts would be invented.
    let mut s = StreamBuilder::new();
    s.on(0, 100)
        .m_start(0)
        .emit(EventKind::ProcResize { nprocs: 2 });
    s.advance(5_000_000).on(1, 101).m_start(1);
    let monitor = report(
        s.build(),
        &Meta::new("go1.22.10").with_level(Level::Monitor),
    );
    let json = serde_json::to_value(&monitor).unwrap();
    for part in ["/goroutines", "/sched_latency", "/threads/cpu"] {
        let p = json
            .pointer(part)
            .unwrap_or_else(|| panic!("{part} in {json:#}"));
        assert_eq!(p["captured"], false, "{part}: {json:#}");
        assert!(
            p["why"].as_str().is_some_and(|w| w.contains("monitor")),
            "{p}"
        );
    }
    for row in json["threads"]["per_thread"].as_array().unwrap() {
        assert_eq!(row["on_cpu_ns"], 0, "no invented CPU time: {row}");
    }
    let text = render_text(&monitor);
    assert!(!text.contains("ON-CPU"), "{text}");
    assert!(text.contains("goroutines     not captured"), "{text}");
    let back: goroscope_analysis::Report = serde_json::from_value(json).unwrap();
    assert_eq!(back, monitor);

    // Where they are captured the markers are absent (the JSON of those levels is unchanged).
    let json = serde_json::to_value(sample()).unwrap();
    assert!(json.pointer("/goroutines/captured").is_none(), "{json:#}");
    assert!(json.pointer("/sched_latency/captured").is_none());
    assert!(json.pointer("/threads/cpu").is_none());
}
