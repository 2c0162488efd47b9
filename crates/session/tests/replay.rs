//! Replay without a kernel: a small recording (written with the record crate's own writer)
//! replayed into the `Analysis` consumer must give the report that reading it as an
//! `EventSource` into the analyzer gives (how `goroscope report` read recordings before the
//! session crate), and replayed through the `Recorder` it must come out as an equivalent file.

use std::path::Path;

use goroscope_analysis::{Analyzer, Options};
use goroscope_events::{Event, EventKind, EventSource as _};
use goroscope_record::{
    ClockBase, EndRecord, Header, Reader, RecordingWriter, StackEntry, StatsRecord, SymbolEntry,
    Target,
};
use goroscope_session::{replay, Analysis, Recorder};

const START_NS: u64 = 1_000_000;

fn header() -> Header {
    Header {
        goroscope_version: "0.1.0".into(),
        target: Target {
            path: "/bin/spawner".into(),
            pid: 42,
            mode: "launch".into(),
            go_version: "go1.27.3".into(),
            ..Default::default()
        },
        clock: ClockBase {
            monotonic_ns: START_NS,
            realtime_ns: 2,
        },
        wait_reasons: [(14u8, "chan receive".to_string())].into_iter().collect(),
        level: "full".into(),
        ..Default::default()
    }
}

fn event(at: u64, kind: EventKind) -> Event {
    Event {
        ts_ns: START_NS + at,
        cpu: 0,
        tid: 7,
        kind,
    }
}

/// Goroutine 2 created at main.spawnAll, started, parked on a channel (stack 3), ready, exited.
fn events() -> Vec<Event> {
    vec![
        event(
            10,
            EventKind::GoCreate {
                goid: 2,
                parent_goid: 1,
                creation_pc: 0x4a_1234,
                start_pc: 0x4a_2000,
                p_id: 0,
            },
        ),
        event(
            20,
            EventKind::GoStart {
                goid: 2,
                p_id: 0,
                m_id: 0,
                inherit_time: false,
                locked: false,
            },
        ),
        event(
            30,
            EventKind::GoPark {
                goid: 2,
                wait_reason: 14,
                stack_id: Some(3),
            },
        ),
        event(
            40,
            EventKind::GoReady {
                goid: 2,
                by_goid: 1,
                p_id: 0,
                next: true,
            },
        ),
        event(
            50,
            EventKind::GoExit {
                goid: 2,
                locked: false,
            },
        ),
    ]
}

fn symbol(pc: u64, function: &str, line: u32) -> SymbolEntry {
    SymbolEntry {
        pc,
        function: function.into(),
        file: "/src/main.go".into(),
        line,
        wrapper: None,
        inlined_into: Vec::new(),
    }
}

fn write_recording(path: &Path) {
    write_recording_of(path, events());
}

fn write_recording_of(path: &Path, events: Vec<Event>) {
    let mut w = RecordingWriter::create(path, &header()).unwrap();
    w.symbols(vec![
        symbol(0x4a_1233, "main.spawnAll", 88),
        symbol(0x4a_2000, "main.worker", 60),
    ])
    .unwrap();
    w.events(events[..2].to_vec()).unwrap();
    w.stats(StatsRecord {
        ts_ns: START_NS + 25,
        submitted: 2,
        recorded: 2,
        drops: Default::default(),
    })
    .unwrap();
    w.events(events[2..].to_vec()).unwrap();
    w.stats(StatsRecord {
        ts_ns: START_NS + 60,
        submitted: 9,
        recorded: 5,
        drops: [("ring_buffer_full".to_string(), 4)].into_iter().collect(),
    })
    .unwrap();
    w.stacks(vec![StackEntry {
        id: 3,
        frames: vec![symbol(0x4a_3000, "runtime.gopark", 400)],
    }])
    .unwrap();
    w.finish(EndRecord {
        ts_ns: START_NS + 70,
        reason: "target exited".into(),
        target_exit: Some("exit status: 0".into()),
        events: 5,
        cpu_stat: None,
    })
    .unwrap();
}

/// The report as the analyzer makes it from the reader as an event source.
fn report_from_event_source(path: &Path) -> serde_json::Value {
    let mut reader = Reader::open(path).unwrap();
    let mut analyzer = Analyzer::new(Options {
        start_ns: Some(reader.header().clock.monotonic_ns),
        ..Options::default()
    });
    let mut batch = Vec::new();
    loop {
        let more = reader.next_batch(&mut batch).unwrap();
        for event in batch.drain(..) {
            analyzer.push(event);
        }
        if !more {
            break;
        }
    }
    serde_json::to_value(analyzer.finish(&reader.meta())).unwrap()
}

fn report_from_replay(path: &Path) -> serde_json::Value {
    let mut analysis = Analysis::new();
    replay(path, &mut [&mut analysis]).unwrap();
    serde_json::to_value(analysis.report().unwrap()).unwrap()
}

#[test]
fn replayed_analysis_equals_the_event_source_analysis() {
    let path = testsupport::scratch_path("session_replay", "small.rec");
    write_recording(&path);
    let report = report_from_replay(&path);
    assert_eq!(report, report_from_event_source(&path));
    // Not an empty report: the losses of the last stats chunk and the symbols arrived.
    assert_eq!(report["drops"]["total"], 4, "{report:#}");
    assert!(report.to_string().contains("main.spawnAll"), "{report:#}");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_replay_through_the_recorder_copies_the_recording() {
    let path = testsupport::scratch_path("session_replay", "original.rec");
    let copy = testsupport::scratch_path("session_replay", "copy.rec");
    write_recording(&path);
    let mut recorder = Recorder::new(&copy);
    let mut analysis = Analysis::new();
    let original = replay(&path, &mut [&mut recorder, &mut analysis]).unwrap();
    assert_eq!(recorder.totals().map(|t| t.events), Some(5));
    assert_eq!(analysis.events(), 5);

    let copied = replay(&copy, &mut []).unwrap();
    assert_eq!(copied.header, original.header);
    assert_eq!(copied.summary.events, original.summary.events);
    assert_eq!(copied.summary.end, original.summary.end);
    assert_eq!(copied.summary.stats, original.summary.stats);
    assert_eq!(report_from_replay(&copy), report_from_replay(&path));
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&copy);
}

#[test]
fn a_damaged_chunk_is_skipped_and_counted() {
    let path = testsupport::scratch_path("session_replay", "damaged.rec");
    write_recording(&path);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff; // inside the end chunk's payload
    std::fs::write(&path, &bytes).unwrap();
    let mut analysis = Analysis::new();
    let replayed = replay(&path, &mut [&mut analysis]).unwrap();
    assert_eq!(analysis.events(), 5, "every event is before the damage");
    assert_eq!(replayed.summary.corrupt_chunks, 1);
    assert!(
        replayed.summary.end.is_none(),
        "the end chunk was the damaged one"
    );
    let warnings = replayed.summary.warnings();
    assert!(
        warnings[0].starts_with("skipped 1 corrupt chunk ("),
        "{warnings:?}"
    );
    let _ = std::fs::remove_file(&path);
}

/// A live view's consumer: the analysis, with a snapshot taken after every batch.
struct Snapshotting {
    analysis: Analysis,
    /// (events in the snapshot's report, goroutines created in it) after each batch.
    seen: Vec<(u64, u64)>,
}

impl goroscope_session::Consumer for Snapshotting {
    fn start(&mut self, header: &Header) -> anyhow::Result<()> {
        self.analysis.start(header)
    }
    fn on_symbols(&mut self, symbols: &[SymbolEntry]) -> anyhow::Result<()> {
        self.analysis.on_symbols(symbols)
    }
    fn on_batch(&mut self, events: &[Event]) -> anyhow::Result<()> {
        self.analysis.on_batch(events)?;
        let snapshot = self.analysis.snapshot().expect("started");
        self.seen
            .push((snapshot.events.total, snapshot.goroutines.created));
        Ok(())
    }
    fn on_stats(&mut self, stats: &StatsRecord) -> anyhow::Result<()> {
        self.analysis.on_stats(stats)
    }
    fn on_stacks(&mut self, stacks: &[StackEntry]) -> anyhow::Result<()> {
        self.analysis.on_stacks(stacks)
    }
    fn finish(&mut self, end: &goroscope_session::SessionEnd) -> anyhow::Result<()> {
        self.analysis.finish(end)
    }
}

#[test]
fn snapshots_while_the_stream_goes_on_leave_the_final_report_unchanged() {
    let path = testsupport::scratch_path("session_replay", "snapshots.rec");
    // The same events 0.2 s apart, farther than the analysis' reorder window, so that a
    // snapshot after the first chunk already sees its events.
    let spread = events()
        .into_iter()
        .map(|mut e| {
            e.ts_ns = START_NS + (e.ts_ns - START_NS) * 20_000_000;
            e
        })
        .collect();
    write_recording_of(&path, spread);
    let mut live = Snapshotting {
        analysis: Analysis::new(),
        seen: Vec::new(),
    };
    assert!(
        live.analysis.snapshot().is_none(),
        "no snapshot before the start"
    );
    replay(&path, &mut [&mut live]).unwrap();
    // The recording has two event chunks: a snapshot after each. The first chunk's creation
    // (goroutine 2) is seen at once; the second snapshot has seen more events (those within
    // the reorder window of the newest one are still held back).
    assert_eq!(live.seen.len(), 2, "{:?}", live.seen);
    assert_eq!(live.seen[0], (1, 1), "{:?}", live.seen);
    assert!(live.seen[1].0 > live.seen[0].0, "{:?}", live.seen);
    let report = serde_json::to_value(live.analysis.report().unwrap()).unwrap();
    assert_eq!(report, report_from_replay(&path));
    let _ = std::fs::remove_file(&path);
}
