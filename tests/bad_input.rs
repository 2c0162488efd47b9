//! Every bad input of docs/bad-input.md through the real CLI: what goroscope says (a fragment of
//! its message) and its exit status. One test per row group; the cases that load BPF programs
//! need root. Keep this file and the table in step.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use goroscope_events::{Event, EventKind};
use goroscope_record::{ChunkWriter, ClockBase, EndRecord, Header, Target};
use testsupport::{program_fixture, require_root, scratch_path};

fn goroscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_goroscope"))
        .args(args)
        .env_remove("GOROSCOPE_LOG")
        .output()
        .expect("running goroscope")
}

/// Runs `goroscope ARGS`: it must exit with `code`, without a panic, and say `fragment` on
/// stderr. Returns stderr.
fn expect(args: &[&str], code: i32, fragment: &str) -> String {
    let out = goroscope(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let what = format!("goroscope {}", args.join(" "));
    assert_eq!(out.status.code(), Some(code), "{what}: {stderr}");
    assert!(!stderr.contains("panicked"), "{what} panicked: {stderr}");
    assert!(
        stderr.contains(fragment),
        "{what}: no {fragment:?} in {stderr}"
    );
    assert!(
        !stderr.contains('\x1b'),
        "{what}: colour codes into a pipe: {stderr:?}"
    );
    stderr
}

/// An error: exit status 1 and "goroscope: error: ...".
fn expect_error(args: &[&str], fragment: &str) -> String {
    let stderr = expect(args, 1, fragment);
    assert!(stderr.starts_with("goroscope: error: "), "{stderr}");
    stderr
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A scratch file of this suite holding `data`.
fn scratch(name: &str, data: &[u8]) -> PathBuf {
    let p = scratch_path("bad_input", name);
    std::fs::write(&p, data).expect("writing a scratch file");
    p
}

fn sched() -> PathBuf {
    program_fixture("sched", "1.27", "normal")
}

/// The sched fixture with `patch` applied, as an executable scratch file.
fn patched_sched(name: &str, patch: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut data = std::fs::read(sched()).expect("reading the sched fixture");
    patch(&mut data);
    let p = scratch(name, &data);
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn find(data: &[u8], what: &[u8]) -> usize {
    data.windows(what.len())
        .position(|w| w == what)
        .unwrap_or_else(|| panic!("{:?} not in the fixture", String::from_utf8_lossy(what)))
}

/// A small complete recording: two events chunks, a stats chunk saying how many came before
/// it, and an end chunk.
fn recording() -> Vec<u8> {
    let header = Header {
        goroscope_version: "0.1.0".into(),
        target: Target {
            path: "/bin/prog".into(),
            pid: 42,
            mode: "launch".into(),
            go_version: "go1.27.3".into(),
            ..Default::default()
        },
        clock: ClockBase {
            monotonic_ns: 1_000,
            realtime_ns: 2,
        },
        level: "default".into(),
        ..Default::default()
    };
    let events: Vec<Event> = (0..40)
        .map(|i| Event {
            ts_ns: 1_000 + i * 10,
            cpu: 0,
            tid: 7,
            kind: EventKind::ThreadExit,
        })
        .collect();
    let mut w = ChunkWriter::new(Vec::new(), &header).unwrap();
    w.write_events(&events[..20]).unwrap();
    w.write_events(&events[20..]).unwrap();
    w.write_end(&EndRecord {
        ts_ns: 2_000,
        reason: "duration".into(),
        events: 40,
        ..Default::default()
    })
    .unwrap();
    w.into_inner()
}

/// Where the second chunk starts in [`recording`].
fn second_chunk(file: &[u8]) -> usize {
    let header_end = 20 + u32::from_le_bytes(file[12..16].try_into().unwrap()) as usize;
    let zlen = u32::from_le_bytes(file[header_end + 8..header_end + 12].try_into().unwrap());
    header_end + 16 + zlen as usize
}

/// `goroscope report FILE --json`, which must succeed with `warning` on stderr.
fn report_warns(file: &Path, warning: &str) -> serde_json::Value {
    let out = goroscope(&["report", s(file), "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(warning), "no {warning:?} in {stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report JSON");
    assert!(
        json["recording"]["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains(warning)),
        "the JSON's warnings lack {warning:?}"
    );
    json
}

#[test]
fn executables_that_are_not_go_programs() {
    expect_error(
        &["inspect", "/nonexistent"],
        "/nonexistent: No such file or directory",
    );
    let twice = expect_error(&["inspect", "/nonexistent"], "");
    assert_eq!(twice.matches("No such file").count(), 1, "{twice}");
    let dir = scratch_path("bad_input", "adir");
    std::fs::create_dir_all(&dir).unwrap();
    expect_error(&["inspect", s(&dir)], "adir: is a directory");
    let text = scratch("notes.txt", b"just some text\n");
    expect_error(&["inspect", s(&text)], "notes.txt: not an ELF file");
    expect_error(&["inspect", "/bin/ls"], "/bin/ls: not a Go executable");
    let cut = scratch("cut-elf", &std::fs::read(sched()).unwrap()[..3000]);
    expect_error(&["inspect", s(&cut)], "cut-elf: malformed");
    // No function table: the pclntab's magic is gone.
    let no_symbols = patched_sched("no-pclntab", |data| {
        let at = find(data, &[0xf1, 0xff, 0xff, 0xff, 0x00, 0x00, 0x01, 0x08]);
        data[at..at + 4].copy_from_slice(&[0x12, 0x34, 0x56, 0x78]);
    });
    expect_error(&["inspect", s(&no_symbols)], "pclntab");
}

#[test]
fn unsupported_go_version() {
    let stripped = program_fixture("sched", "1.27", "stripped");
    let mut data = std::fs::read(&stripped).unwrap();
    let info = find(&data, b"\xff Go buildinf:");
    let at = info + find(&data[info..], b"go1.27.");
    data[at..at + 8].copy_from_slice(b"go1.99.9");
    let p = scratch("go199", &data);
    expect_error(&["inspect", s(&p)], "unsupported Go version go1.99.9");
}

#[test]
fn processes_that_are_gone() {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id().to_string();
    child.wait().unwrap();
    expect_error(&["inspect", "--pid", &pid], "no such process");
}

#[test]
fn damaged_recordings() {
    let good = recording();
    let foreign = scratch("foreign.rec", b"GIF89a and more bytes than a header");
    expect_error(
        &["report", s(&foreign)],
        "not a goroscope recording (bad magic)",
    );
    let empty = scratch("empty.rec", b"");
    expect_error(&["report", s(&empty)], "empty file");
    let prefix = scratch("prefix.rec", &good[..5]);
    expect_error(&["report", s(&prefix)], "truncated recording");
    let mut future = good.clone();
    future[8..12].copy_from_slice(&9u32.to_le_bytes());
    let future = scratch("future.rec", &future);
    expect_error(&["report", s(&future)], "unsupported format version 9");

    // goroscope record killed between two chunks: no end chunk, nothing cut.
    let killed = scratch("killed.rec", &good[..second_chunk(&good)]);
    let json = report_warns(&killed, "the recording has no end chunk");
    assert_eq!(json["recording"]["end_chunk"], false);
    assert_eq!(json["recording"]["complete"], false);

    let cut = scratch("cut.rec", &good[..second_chunk(&good) + 30]);
    let json = report_warns(&cut, "truncated after 1 complete chunk:");
    assert_eq!(json["recording"]["truncated"], true);
    assert_eq!(json["recording"]["complete"], false);
    assert_eq!(json["drops"]["by_reason"]["truncated_recording"], 20);

    let mut flipped = good.clone();
    flipped[second_chunk(&good) - 3] ^= 0x40;
    let flipped = scratch("flipped.rec", &flipped);
    let json = report_warns(&flipped, "skipped 1 corrupt chunk");
    assert_eq!(json["recording"]["corrupt_chunks"], 1);
    assert_eq!(json["drops"]["by_reason"]["corrupt_chunk"], 20);
    assert_eq!(json["events"]["by_kind"]["thread_exit"], 20);

    let mut tail = good.clone();
    tail.extend_from_slice(b"appended\n");
    let tail = scratch("tail.rec", &tail);
    let json = report_warns(&tail, "ignored 9 bytes after the end chunk");
    assert_eq!(json["recording"]["complete"], true);
}

#[test]
fn a_zero_duration() {
    let stderr = expect(
        &["record", "-d", "0", "--", "/bin/true"],
        2,
        "records nothing",
    );
    assert!(stderr.contains("-d"), "{stderr}");
}

#[test]
fn no_privileges() {
    let not_root = |args: &[&str]| -> Output {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return goroscope(args);
        }
        // As root: the same without them (nobody, no capabilities).
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_goroscope"))
            .args(args)
            .output()
            .expect("running setpriv")
    };
    let out = not_root(&["record", "--", "/bin/true"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("goroscope needs root, or the capabilities CAP_BPF and CAP_PERFMON"),
        "{stderr}"
    );
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn record_targets_that_cannot_be_traced() {
    require_root();
    let dir = scratch_path("bad_input", "rdir");
    std::fs::create_dir_all(&dir).unwrap();
    expect_error(&["record", "--", s(&dir)], "rdir: is a directory");
    expect_error(&["record", "--", "/bin/ls"], "not a Go executable");
    let text = scratch("noexec", b"#!/bin/sh\n");
    expect_error(&["record", "--", s(&text)], "noexec: not executable");

    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id().to_string();
    child.wait().unwrap();
    expect_error(
        &["record", "-p", &pid],
        &format!("no process with pid {pid}"),
    );

    // A thread of a running Go program: refused, naming its process.
    let mut target = Command::new(sched())
        .args(["-scenario", "producer", "-w", "50000000"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let tgid = target.id();
    let tid = (0..200)
        .find_map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            std::fs::read_dir(format!("/proc/{tgid}/task"))
                .ok()?
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .find(|t| *t != tgid)
        })
        .expect("a second thread of the Go program");
    expect_error(
        &["record", "-p", &tid.to_string()],
        &format!("{tid} is a thread of process {tgid}, not a process"),
    );
    target.kill().unwrap();
    target.wait().unwrap();
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn record_outputs_that_must_not_be_overwritten() {
    require_root();
    let notes = scratch("notes-o.txt", b"my notes");
    expect_error(
        &[
            "record",
            "-o",
            s(&notes),
            "--",
            s(&sched()),
            "-scenario",
            "gc",
        ],
        "is not a goroscope recording: refusing to overwrite it",
    );
    assert_eq!(std::fs::read(&notes).unwrap(), b"my notes");

    let dir = scratch_path("bad_input", "odir");
    std::fs::create_dir_all(&dir).unwrap();
    expect_error(
        &[
            "record",
            "-o",
            s(&dir),
            "--",
            s(&sched()),
            "-scenario",
            "gc",
        ],
        "odir is a directory: give -o the name of the recording file",
    );

    let prog = patched_sched("prog", |_| {});
    for force in [&[][..], &["--force"][..]] {
        let mut args = vec!["record"];
        args.extend_from_slice(force);
        args.extend_from_slice(&["-o", s(&prog), "--", s(&prog), "-scenario", "gc"]);
        expect_error(&args, "is the traced program's executable");
    }
    assert_eq!(
        std::fs::read(&prog).unwrap(),
        std::fs::read(sched()).unwrap()
    );
}
