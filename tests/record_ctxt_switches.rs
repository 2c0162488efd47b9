//! Referee for the context switches goroscope counts: the kernel keeps its own per-thread counts
//! (`voluntary_ctxt_switches`, `nonvoluntary_ctxt_switches` in /proc/PID/task/TID/status). The
//! ctxsw fixture (testdata/go/ctxsw) is idle (every thread blocked) when it starts and when its
//! work is done, so the kernel's deltas between two idle moments inside the recording window are
//! exactly the switches of the window; goroscope, attached with `-p` for a duration around
//! them, must count the same switch-outs per thread, voluntary and involuntary alike.
//!
//! Nothing else may make the fixture's threads run meanwhile, so the counts are read only once
//! they have stayed unchanged for a while (the process is idle).

mod bpf_support;
mod record_support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use bpf_support::require_root;
use record_support::{report_json, Attached};

/// tid → (voluntary, involuntary) switches so far, from /proc.
type Switches = BTreeMap<u64, (u64, u64)>;

/// The counts once no thread of `pid` has switched for `quiet` (the process is idle).
fn idle_switches(pid: u32, quiet: Duration) -> Switches {
    testsupport::idle_task_counters(pid, quiet, testsupport::switches)
}

fn read_line(lines: &mut impl BufRead, want: &str) {
    let mut line = String::new();
    lines.read_line(&mut line).expect("the fixture's stdout");
    assert_eq!(line.trim(), want, "the fixture said {line:?}");
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn voluntary_and_involuntary_switches_equal_the_kernels_counts() {
    require_root();
    for (minor, variant) in [("1.19", "normal"), ("1.27", "stripped")] {
        let label = format!("go{minor}/ctxsw/{variant}");
        let file = testsupport::scratch_path("record_ctxt_switches", &format!("{label}.rec"));
        let mut fixture = Command::new(testsupport::program_fixture("ctxsw", minor, variant))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the fixture");
        let pid = fixture.id();
        let mut out = BufReader::new(fixture.stdout.take().unwrap());
        read_line(&mut out, "ready");
        let recording = Attached::start(pid, &["--level", "full", "-d", "8s"], &file, &label);
        let before = idle_switches(pid, Duration::from_millis(300));
        let mut stdin = fixture.stdin.take().unwrap();
        stdin.write_all(b"go\n").unwrap();
        read_line(&mut out, "done");
        let after = idle_switches(pid, Duration::from_millis(300));
        let log = recording.wait();
        drop(stdin);
        assert!(fixture.wait().expect("fixture").success(), "{label}");
        assert!(log.contains("stopped: duration"), "{label}: {log}");

        let mut kernel = Switches::new();
        for (&tid, &(v, nv)) in &after {
            let (v0, nv0) = before.get(&tid).copied().unwrap_or((0, 0));
            if (v - v0, nv - nv0) != (0, 0) {
                kernel.insert(tid, (v - v0, nv - nv0));
            }
        }
        let json = report_json(&file);
        assert_eq!(json["drops"]["total"], 0, "{label}: drops");
        let mut goroscope = Switches::new();
        for row in json["threads"]["per_thread"]
            .as_array()
            .expect("per_thread")
        {
            let n = |f: &str| row[f].as_u64().expect(f);
            let (v, nv) = (n("voluntary_switches"), n("involuntary_switches"));
            if (v, nv) != (0, 0) {
                let t = goroscope.entry(n("tid")).or_default();
                (t.0, t.1) = (t.0 + v, t.1 + nv);
            }
        }
        let total = |s: &Switches| s.values().fold((0, 0), |(v, nv), &(a, b)| (v + a, nv + b));
        let (v, nv) = total(&kernel);
        assert!(
            v > 100 && nv > 10,
            "{label}: the work made too few switches to referee: {kernel:?}"
        );
        assert_eq!(
            goroscope, kernel,
            "{label}: per thread (voluntary, involuntary), goroscope vs the kernel (totals {:?} vs {:?})",
            total(&goroscope),
            (v, nv)
        );
        eprintln!("{label}: {v} voluntary and {nv} involuntary switches, as the kernel counted");
        let _ = std::fs::remove_file(PathBuf::from(&file));
    }
}
