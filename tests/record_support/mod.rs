//! Helpers shared by the `record_*` end-to-end tests.
#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::process::Command;

/// `goroscope report FILE --json`, which must succeed, parsed.
pub fn report_json(file: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_goroscope"))
        .arg("report")
        .arg(file)
        .arg("--json")
        .output()
        .expect("running goroscope report");
    assert!(
        out.status.success(),
        "goroscope report {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("report JSON")
}

/// `goroscope -v record --level full -o FILE -- FIXTURE` in launch mode (every event: the
/// callers compare per-event data with ground truth): it must succeed, end because the target
/// exited with status 0, and leave none of its BPF programs loaded. Returns the launched
/// program's stdout (goroscope's own output goes to stderr).
pub fn record_launch(fixture: &Path, file: &Path, label: &str) -> String {
    record_launch_with(fixture, &[], &[], &["--level", "full"], file, label)
}

/// `goroscope -v record [goroscope_args] -o FILE -- FIXTURE ARGS` in launch mode with `env`
/// added to the fixture's environment: it must succeed, end because the target exited with
/// status 0, and leave none of its BPF programs loaded. Returns the fixture's stdout.
pub fn record_launch_with(
    fixture: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    goroscope_args: &[&str],
    file: &Path,
    label: &str,
) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_goroscope"));
    cmd.args(["-v", "record"])
        .args(goroscope_args)
        .arg("-o")
        .arg(file)
        .arg("--")
        .arg(fixture)
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("running goroscope record");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{label}: record failed: {stderr}");
    assert!(
        stderr.contains("stopped: target exited (target exit status: 0)"),
        "{label}: {stderr}"
    );
    let ids = crate::bpf_support::ids_in(&stderr);
    assert!(!ids.is_empty(), "{label}: no program ids in the log");
    crate::bpf_support::assert_unloaded(&ids);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every event of a recording, in file order, and its metadata (symbols included).
pub fn recording_events(file: &Path) -> (Vec<goroscope_events::Event>, goroscope_events::Meta) {
    use goroscope_events::EventSource as _;
    let mut reader = goroscope_record::Reader::open(file).expect("opening the recording");
    let mut events = Vec::new();
    while reader
        .next_batch(&mut events)
        .expect("reading the recording")
    {}
    let meta = reader.meta();
    (events, meta)
}

/// `goroscope -v record -p PID [goroscope_args] -o FILE`: it must succeed and leave none of its
/// BPF programs loaded. Returns goroscope's stderr.
pub fn record_attach(pid: u32, goroscope_args: &[&str], file: &Path, label: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_goroscope"))
        .args(["-v", "record", "-p", &pid.to_string()])
        .args(goroscope_args)
        .arg("-o")
        .arg(file)
        .output()
        .expect("running goroscope record");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{label}: record failed: {stderr}");
    let ids = crate::bpf_support::ids_in(&stderr);
    assert!(!ids.is_empty(), "{label}: no program ids in the log");
    crate::bpf_support::assert_unloaded(&ids);
    stderr
}

/// `goroscope -v record -p PID [args] -o FILE` running in the background, once its tracer is
/// attached ("goroscope: recording pid" on stderr).
pub struct Attached {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    log: String,
    label: String,
}

impl Attached {
    pub fn start(pid: u32, args: &[&str], file: &Path, label: &str) -> Attached {
        use std::io::BufRead as _;
        let mut child = Command::new(env!("CARGO_BIN_EXE_goroscope"))
            .args(["-v", "record", "-p", &pid.to_string()])
            .args(args)
            .arg("-o")
            .arg(file)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("starting goroscope record");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut log = String::new();
        loop {
            let line = lines
                .recv_timeout(std::time::Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("{label}: goroscope never started recording: {log}"));
            log.push_str(&line);
            log.push('\n');
            if line.starts_with("goroscope: recording pid") {
                break;
            }
        }
        Attached {
            child,
            lines,
            log,
            label: label.to_string(),
        }
    }

    /// Waits for goroscope to end by itself (its duration elapsed): it must succeed and unload
    /// its programs. Returns its log.
    pub fn wait(mut self) -> String {
        let status = self.child.wait().expect("goroscope record");
        self.log.extend(self.lines.into_iter().map(|l| l + "\n"));
        let label = &self.label;
        assert!(status.success(), "{label}: record failed: {}", self.log);
        let ids = crate::bpf_support::ids_in(&self.log);
        assert!(!ids.is_empty(), "{label}: no program ids in the log");
        crate::bpf_support::assert_unloaded(&ids);
        self.log
    }
}

/// Records the Go 1.27 `program` fixture run with `args` and GOMAXPROCS=2, launched, at
/// `level`, into a file of `suite`'s scratch dir (see [`record_launch_with`]); returns it.
pub fn record_fixture(suite: &str, program: &str, args: &[&str], level: &str) -> PathBuf {
    let minor = "1.27";
    let label = format!("go{minor}/{program}/{}/{level}", args.join("-"));
    let fixture = testsupport::program_fixture(program, minor, "normal");
    let rec = testsupport::scratch_path(suite, &format!("{label}.rec"));
    record_launch_with(
        &fixture,
        args,
        &[("GOMAXPROCS", "2")],
        &["--level", level],
        &rec,
        &label,
    );
    rec
}
