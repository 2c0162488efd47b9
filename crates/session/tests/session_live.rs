//! A live `Session` with real BPF (root: `#[ignore]`d for other users, see testsupport::require_root) on the spawner
//! fixture (testdata/go/spawner), launched, with two consumers at once — the recorder and the
//! analysis: both must see every event, the analysis built live must equal the report of the
//! recorded file (what `goroscope report --json` prints), and both must agree with the
//! fixture's own ground truth (the goroutines its `go` statement started).

use std::fs::File;

use goroscope_events::Level;
use goroscope_session::{replay, Analysis, Recorder, Session, SessionOptions, TargetSpec};

/// The (created, exited) counts of the report's creation site at `function`, `file`:`line`.
fn site_counts(report: &serde_json::Value, truth: &serde_json::Value) -> (u64, u64) {
    let site = &truth["go_statement"];
    let rows = report["goroutines"]["by_creation_site"]
        .as_array()
        .expect("by_creation_site");
    let row = rows
        .iter()
        .find(|r| {
            r["function"] == site["function"]
                && r["file"] == site["file"]
                && r["line"] == site["line"]
        })
        .unwrap_or_else(|| panic!("no creation site {site} in {rows:#?}"));
    (
        row["created"].as_u64().unwrap(),
        row["exited"].as_u64().unwrap(),
    )
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn recorder_and_analysis_see_the_same_capture() {
    testsupport::require_root();
    let program = testsupport::program_fixture("spawner", "1.27", "normal");
    let recording = testsupport::scratch_path("session_live", "spawner.rec");
    let stdout_path = testsupport::scratch_path("session_live", "spawner.stdout");
    let stdout = File::create(&stdout_path).expect("creating the fixture's stdout file");
    let mut options = SessionOptions::new(TargetSpec::Launch {
        program: program.clone().into(),
        args: Vec::new(),
        stdout: Some(stdout),
    });
    // Every goroutine's creation and exit: per-event data, the full level's.
    options.level = Level::Full;

    let mut recorder = Recorder::new(&recording);
    let mut analysis = Analysis::new();
    let summary = Session::new(options)
        .run(&mut [&mut recorder, &mut analysis])
        .expect("running the session");
    assert_eq!(summary.reason, "target exited");
    assert_eq!(summary.target_exit.as_deref(), Some("exit status: 0"));
    assert!(summary.target.launched);
    assert_eq!(summary.target.binary, program);

    // Both consumers saw every event the session delivered.
    let written = recorder.totals().expect("the recorder finished").events;
    assert!(summary.counts.events > 0, "no events captured");
    assert_eq!(written, summary.counts.events, "events in the file");
    assert_eq!(analysis.events(), summary.counts.events, "events analysed");

    // The report built live is the report of the file.
    let live = serde_json::to_value(analysis.report().expect("the analysis finished")).unwrap();
    let mut replayed = Analysis::new();
    let read = replay(&recording, &mut [&mut replayed]).expect("replaying the recording");
    assert!(
        read.summary.warnings().is_empty(),
        "{:?}",
        read.summary.warnings()
    );
    assert_eq!(read.summary.events, written);
    let from_file = serde_json::to_value(replayed.report().expect("replay finished")).unwrap();
    assert_eq!(
        serde_json::to_string_pretty(&live).unwrap(),
        serde_json::to_string_pretty(&from_file).unwrap(),
        "live report and report of the recording differ"
    );

    // And both match what the fixture says it did.
    let printed = std::fs::read_to_string(&stdout_path).expect("the fixture's stdout");
    let truth: serde_json::Value = serde_json::from_str(printed.trim())
        .unwrap_or_else(|e| panic!("spawner printed {printed:?}: {e}"));
    let goroutines = truth["goroutines"].as_u64().expect("goroutines");
    assert!(goroutines > 0);
    assert_eq!(site_counts(&live, &truth), (goroutines, goroutines));
    assert_eq!(live["drops"]["total"], 0, "drops");
    // Launched behind the gate: the probes were in place before the first instruction.
    assert_eq!(live["goroutines"]["preexisting"], 0);

    let _ = std::fs::remove_file(&recording);
    let _ = std::fs::remove_file(&stdout_path);
}
