//! `goroscope record` + `goroscope report --json` on threads, as root with real BPF, on the
//! threads fixture (testdata/go/threads), oldest and newest Go of the matrix, normal and
//! stripped, in launch mode: the fixture blocks T goroutines in read(2) on pipes at the same
//! time (which forces the runtime to start extra Ms), checks through /proc/self/task/*/syscall
//! that T threads really are blocked in those reads, releases them, and prints its ground truth
//! (one JSON line): the most threads /proc/self/status showed, every tid /proc/self/task listed,
//! and the T tids blocked at once. The report's thread table must account for all of them.

mod bpf_support;
mod record_support;

use std::collections::BTreeSet;
use std::path::PathBuf;

use bpf_support::require_root;
use record_support::{record_launch, report_json};

/// The threads fixture built by the Go version starting with `minor` ("1.19", "1.27").
fn threads_fixture(minor: &str, variant: &str) -> PathBuf {
    testsupport::program_fixture("threads", minor, variant)
}

fn scratch(name: &str) -> PathBuf {
    testsupport::scratch_path("record_threads", name)
}

/// The fixture's ground truth line.
struct Truth {
    pid: u64,
    blockers: u64,
    max_threads: u64,
    tids: BTreeSet<u64>,
    blocked_tids: BTreeSet<u64>,
}

fn parse_truth(stdout: &str) -> Truth {
    let v: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("threads printed {stdout:?}: {e}"));
    let set = |field: &str| -> BTreeSet<u64> {
        v[field]
            .as_array()
            .expect(field)
            .iter()
            .map(|t| t.as_u64().expect("tid"))
            .collect()
    };
    Truth {
        pid: v["pid"].as_u64().expect("pid"),
        blockers: v["blockers"].as_u64().expect("blockers"),
        max_threads: v["max_threads"].as_u64().expect("max_threads"),
        tids: set("tids"),
        blocked_tids: set("blocked_tids"),
    }
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn threads_forced_by_blocking_syscalls_are_all_seen_created() {
    require_root();
    for minor in ["1.19", "1.27"] {
        for variant in ["normal", "stripped"] {
            let label = format!("go{minor}/threads/{variant}");
            let file = scratch(&format!("{label}.rec"));
            let stdout = record_launch(&threads_fixture(minor, variant), &file, &label);
            // goroscope's stdout is the launched program's.
            let truth = parse_truth(&stdout);
            assert_eq!(
                truth.blocked_tids.len() as u64,
                truth.blockers,
                "{label}: the fixture's blocked threads"
            );
            assert!(truth.blocked_tids.is_subset(&truth.tids), "{label}");
            let json = report_json(&file);
            assert_eq!(json["drops"]["total"], 0, "{label}: drops");
            let threads = &json["threads"];
            let rows = threads["per_thread"].as_array().expect("per_thread");
            // The first life of each tid (`reappeared` rows are later lives).
            let first_life = |tid: u64| {
                rows.iter()
                    .find(|r| r["tid"] == tid && r["origin"] != "reappeared")
                    .unwrap_or_else(|| panic!("{label}: tid {tid} not in per_thread: {rows:#?}"))
            };

            // Launch mode has the probes in place before the program's first instruction, so
            // the kernel's view must be complete: the main thread (tid = pid) is the one thread
            // that existed before (goroscope forked it, as another process), and every other
            // thread /proc/self/task ever listed was seen being forked in the trace.
            assert_eq!(first_life(truth.pid)["origin"], "preexisting", "{label}");
            assert_eq!(threads["preexisting"], 1, "{label}: {threads:#?}");
            // The program exited: every thread's life ended, once (a thread preempted between
            // its exit event and its final switch-out is still one life).
            assert_eq!(threads["live_at_end"], 0, "{label}: {threads:#?}");
            let rows = threads["per_thread"].as_array().expect("per_thread");
            assert!(
                rows.iter().all(|r| r["origin"] != "reappeared"),
                "{label}: {threads:#?}"
            );
            for &tid in truth.tids.iter().filter(|&&t| t != truth.pid) {
                assert_eq!(first_life(tid)["origin"], "forked", "{label}: tid {tid}");
            }
            // `created` counts forks in the trace; it may exceed the fixture's count only by
            // threads the runtime started after the fixture's last look at /proc (between its
            // final sample and exit), never fall below it.
            let created = threads["created"].as_u64().expect("created");
            assert!(
                created + 1 >= truth.tids.len() as u64,
                "{label}: created {created} + the main thread < {} tids the fixture saw",
                truth.tids.len()
            );
            // The fixture saw `max_threads` threads alive at one moment: the report's lifetimes
            // must overlap at least that much.
            let max_live = threads["max_live"].as_u64().expect("max_live");
            assert!(
                max_live >= truth.max_threads,
                "{label}: max_live {max_live} < the fixture's Threads: {}",
                truth.max_threads
            );
            // The runtime's view agrees with the kernel's: each of the T threads blocked at
            // once ran its own Go M (T distinct Ms, all started in the trace).
            let ms: BTreeSet<u64> = truth
                .blocked_tids
                .iter()
                .map(|&tid| {
                    first_life(tid)["m_id"]
                        .as_u64()
                        .unwrap_or_else(|| panic!("{label}: tid {tid} has no M"))
                })
                .collect();
            assert_eq!(ms.len() as u64, truth.blockers, "{label}: Ms {ms:?}");
            let m_started = threads["m_started"].as_u64().expect("m_started");
            assert!(
                m_started >= truth.blockers,
                "{label}: m_started {m_started}"
            );
            let _ = std::fs::remove_file(&file);
        }
    }
}
