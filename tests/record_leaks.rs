//! `goroscope record` + `goroscope report --json` on goroutine leaks, as root with real BPF, on
//! the leaker fixture (testdata/go/leaker), oldest and newest Go of the matrix, normal and
//! stripped, in launch mode: the fixture starts K goroutines from one `go` statement that stay
//! parked on a channel nobody sends to and M from another that finish, waits until its own
//! runtime stack dump shows the K parked, prints its ground truth (one JSON line) and exits with
//! them still blocked. The report must count the K live at the end at their site, list them in
//! `leaked[]` with the wait reason "chan receive", and count the M as created and exited.

mod bpf_support;
mod record_support;

use std::path::PathBuf;

use bpf_support::require_root;
use record_support::{record_launch, report_json};

/// The leaker fixture built by the Go version starting with `minor` ("1.19", "1.27").
fn leaker(minor: &str, variant: &str) -> PathBuf {
    testsupport::program_fixture("leaker", minor, variant)
}

fn scratch(name: &str) -> PathBuf {
    testsupport::scratch_path("record_leaks", name)
}

/// A `go` statement as the fixture's runtime reported it ("created by").
#[derive(Debug)]
struct Site {
    function: String,
    file: String,
    line: u64,
}

impl Site {
    fn from_json(v: &serde_json::Value) -> Site {
        Site {
            function: v["function"].as_str().expect("function").to_string(),
            file: v["file"].as_str().expect("file").to_string(),
            line: v["line"].as_u64().expect("line"),
        }
    }

    /// Whether a report row (by_creation_site[] or leaked[]) is at this site.
    fn matches(&self, row: &serde_json::Value) -> bool {
        row["function"] == self.function.as_str()
            && row["file"] == self.file.as_str()
            && row["line"] == self.line
    }
}

/// The fixture's ground truth line.
struct Truth {
    leaked: u64,
    finished: u64,
    leak_site: Site,
    finish_site: Site,
    /// What the fixture's own stack dump showed for every leaked goroutine.
    wait_reason: String,
}

fn parse_truth(stdout: &str) -> Truth {
    let v: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("leaker printed {stdout:?}: {e}"));
    Truth {
        leaked: v["leaked"].as_u64().expect("leaked"),
        finished: v["finished"].as_u64().expect("finished"),
        leak_site: Site::from_json(&v["leak_site"]),
        finish_site: Site::from_json(&v["finish_site"]),
        wait_reason: v["leaked_wait_reason"]
            .as_str()
            .expect("leaked_wait_reason")
            .to_string(),
    }
}

/// The by_creation_site row of `site`: (created, exited, live_at_end).
fn site_counts(report: &serde_json::Value, site: &Site, label: &str) -> (u64, u64, u64) {
    let rows = report["goroutines"]["by_creation_site"]
        .as_array()
        .expect("by_creation_site");
    let row = rows
        .iter()
        .find(|r| site.matches(r))
        .unwrap_or_else(|| panic!("{label}: no creation site {site:?} in {rows:#?}"));
    let count = |field: &str| row[field].as_u64().expect(field);
    (count("created"), count("exited"), count("live_at_end"))
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn leaked_goroutines_are_live_at_the_end_blocked_in_chan_receive() {
    require_root();
    for minor in ["1.19", "1.27"] {
        for variant in ["normal", "stripped"] {
            let label = format!("go{minor}/leaker/{variant}");
            let file = scratch(&format!("{label}.rec"));
            let stdout = record_launch(&leaker(minor, variant), &file, &label);
            // goroscope's stdout is the launched program's.
            let truth = parse_truth(&stdout);
            assert_eq!(truth.wait_reason, "chan receive", "{label}: fixture's dump");
            let json = report_json(&file);
            assert_eq!(json["drops"]["total"], 0, "{label}: drops");

            assert_eq!(
                site_counts(&json, &truth.leak_site, &label),
                (truth.leaked, 0, truth.leaked),
                "{label}: created/exited/live_at_end at the leaking go statement"
            );
            let leaked = json["goroutines"]["leaked"].as_array().expect("leaked");
            let groups: Vec<_> = leaked
                .iter()
                .filter(|r| truth.leak_site.matches(r))
                .collect();
            // All K in one group: blocked the way the fixture's runtime said they were.
            assert_eq!(
                groups.len(),
                1,
                "{label}: leaked groups at the site: {groups:#?}"
            );
            assert_eq!(
                groups[0]["wait_reason"],
                truth.wait_reason.as_str(),
                "{label}: {groups:#?}"
            );
            assert_eq!(groups[0]["count"], truth.leaked, "{label}: {groups:#?}");

            assert_eq!(
                site_counts(&json, &truth.finish_site, &label),
                (truth.finished, truth.finished, 0),
                "{label}: created/exited/live_at_end at the finishing go statement"
            );
            assert!(
                !leaked.iter().any(|r| truth.finish_site.matches(r)),
                "{label}: finished goroutines listed as leaked: {leaked:#?}"
            );
            let _ = std::fs::remove_file(&file);
        }
    }
}
