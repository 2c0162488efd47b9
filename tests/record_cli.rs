//! `goroscope record` as a command: it ends when asked (`-d` to within a poll of the deadline,
//! a signal at once, on a busy target), keeps an old recording as FILE.old, and exits with the
//! launched program's status. As root with real BPF, on the sched fixture (testdata/go/sched).

mod bpf_support;
mod record_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bpf_support::require_root;
use record_support::report_json;
use testsupport::{program_fixture, scratch_path};

/// The session's poll interval (crates/session/src/session.rs `POLL`).
const POLL: Duration = Duration::from_millis(50);
/// What a stop may take beyond one poll: handing the last batch to the writer, on a loaded
/// 2-core machine with a debug build.
const SLACK: Duration = Duration::from_millis(150);

/// The busy tests measure time: one at a time, or two busy targets on a small machine make
/// each other late.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn sched() -> PathBuf {
    program_fixture("sched", "1.27", "normal")
}

/// A target that stays busy (goroutine creation on every P) for far longer than any test.
fn busy_args() -> [&'static str; 4] {
    ["-scenario", "producer", "-w", "20000000"]
}

fn goroscope() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_goroscope"));
    c.env_remove("GOROSCOPE_LOG");
    c
}

/// The recording's start (header clock) and end (end chunk), CLOCK_MONOTONIC ns.
fn start_and_end(file: &Path) -> (u64, u64) {
    let mut reader = goroscope_record::Reader::open(file).expect("opening the recording");
    while reader
        .next_chunk()
        .expect("reading the recording")
        .is_some()
    {}
    let end = reader.summary().end.clone().expect("an end chunk");
    (reader.header().clock.monotonic_ns, end.ts_ns)
}

fn monotonic_ns() -> u64 {
    goroscope_session::monotonic_ns()
}

/// A file for goroscope's stderr: the launched target inherits it, so a pipe would stay open
/// (and a reader of it blocked) as long as the target runs.
fn stderr_file(name: &str) -> (std::fs::File, PathBuf) {
    let path = scratch_path("record_cli", name);
    (std::fs::File::create(&path).unwrap(), path)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// Kills the target goroscope launched, named in its "recording pid N" line.
fn kill_target(stderr_text: &str) {
    if let Some(pid) = stderr_text
        .split("recording pid ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|pid| pid.parse::<i32>().ok())
    {
        // SAFETY: kill has no memory preconditions; the pid is the target we launched.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn a_duration_ends_on_time_on_a_busy_target() {
    require_root();
    let _serial = serial();
    let file = scratch_path("record_cli", "duration.rec");
    let (err, err_path) = stderr_file("duration.stderr");
    let status = goroscope()
        .args(["record", "--level", "full", "-d", "1s", "-o"])
        .arg(&file)
        .arg("--")
        .arg(sched())
        .args(busy_args())
        .stdout(Stdio::null())
        .stderr(err)
        .status()
        .unwrap();
    let stderr = read(&err_path);
    kill_target(&stderr);
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("stopped: duration"), "{stderr}");
    let (start, end) = start_and_end(&file);
    let recorded = Duration::from_nanos(end - start);
    let want = Duration::from_secs(1);
    assert!(
        recorded >= want && recorded <= want + POLL + SLACK,
        "-d 1s recorded {recorded:?}"
    );
    let duration_ns = report_json(&file)["duration_ns"].as_u64().unwrap();
    let reported = Duration::from_nanos(duration_ns);
    assert!(
        reported <= want + POLL + SLACK,
        "the report's traced time is {reported:?}"
    );
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn a_signal_stops_at_once_on_a_busy_target() {
    require_root();
    let _serial = serial();
    let file = scratch_path("record_cli", "sigint.rec");
    let (err, err_path) = stderr_file("sigint.stderr");
    let mut child = goroscope()
        .args(["record", "--level", "full", "-o"])
        .arg(&file)
        .arg("--")
        .arg(sched())
        .args(busy_args())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let signalled_ns = monotonic_ns();
    let signalled = Instant::now();
    // SAFETY: kill has no memory preconditions; the pid is our child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    let exited = signalled.elapsed();
    let stderr = read(&err_path);
    kill_target(&stderr);
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("stopped: SIGINT"), "{stderr}");
    let (_, end) = start_and_end(&file);
    let stop = Duration::from_nanos(end.saturating_sub(signalled_ns));
    assert!(
        stop <= POLL + SLACK,
        "the recording ends {stop:?} after SIGINT"
    );
    // Detaching the probes after that waits for RCU grace periods: bounded, not instant.
    assert!(
        exited < Duration::from_secs(2),
        "goroscope exited {exited:?} after SIGINT"
    );
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn exits_with_the_launched_programs_status() {
    require_root();
    let _serial = serial();
    let file = scratch_path("record_cli", "status.rec");
    // An unknown scenario: the fixture exits with status 2.
    let out = goroscope()
        .args(["record", "-o"])
        .arg(&file)
        .arg("--")
        .arg(sched())
        .args(["-scenario", "nope"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("stopped: target exited (target exit status: 2)"),
        "{stderr}"
    );

    // Killed by SIGKILL: 128 + 9.
    let (err, err_path) = stderr_file("status.stderr");
    let mut child = goroscope()
        .args(["record", "--force", "-o"])
        .arg(&file)
        .arg("--")
        .arg(sched())
        .args(busy_args())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !read(&err_path).contains("recording pid ") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    kill_target(&read(&err_path));
    let status = child.wait().unwrap();
    let stderr = read(&err_path);
    assert_eq!(status.code(), Some(137), "{stderr}");
    assert!(stderr.contains("signal: 9 (SIGKILL)"), "{stderr}");
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn an_old_recording_is_kept_as_old_unless_forced() {
    require_root();
    let file = scratch_path("record_cli", "again.rec");
    let old = scratch_path("record_cli", "again.rec.old");
    let record = |force: bool| {
        let mut c = goroscope();
        c.arg("record");
        if force {
            c.arg("--force");
        }
        let out = c
            .arg("-o")
            .arg(&file)
            .arg("--")
            .arg(sched())
            .args(["-scenario", "gc"])
            .stdout(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        (stderr, start_and_end(&file).0)
    };
    let (_, first) = record(false);
    let (stderr, second) = record(false);
    assert!(
        stderr.contains(&format!(
            "the previous recording {} was renamed to {}",
            file.display(),
            old.display()
        )),
        "{stderr}"
    );
    assert_eq!(
        start_and_end(&old).0,
        first,
        "FILE.old is the first recording"
    );
    let (stderr, third) = record(true);
    assert!(!stderr.contains("renamed"), "{stderr}");
    assert_eq!(
        start_and_end(&old).0,
        first,
        "--force leaves FILE.old alone"
    );
    assert!(third > second, "--force overwrote FILE");
}
