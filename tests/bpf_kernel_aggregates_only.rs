//! The aggregates-only path of the tracer (what the new default level runs): with per-event
//! kernel records off, the scheduler and syscall tracepoints only update the BPF maps. Attached
//! by pid to the ctxsw fixture (testdata/go/ctxsw) around its work, the tracer must emit no
//! switch, wake-up or kernel-syscall record at all, while its aggregates count the work: each
//! thread's switches over the window equal the kernel's own deltas (/proc/PID/task/TID/status,
//! read while the fixture is idle), and the syscalls it made (futex, nanosleep) are counted.
//! And the maps are bounded: rows that do not fit are counted as lost, not dropped silently.

mod bpf_support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use bpf_support::{assert_unloaded, require_root};
use goinspect::InspectOptions;
use goroscope_bpf::tracer::{Level, Tracer, TracerOptions};
use goroscope_bpf::ObjectStorage;
use goroscope_events::EventKind;

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// tid → (voluntary, involuntary) switches from /proc, once they stop changing.
fn idle_switches(pid: u32) -> BTreeMap<u64, (u64, u64)> {
    testsupport::idle_task_counters(pid, Duration::from_millis(300), testsupport::switches)
}

fn read_line(lines: &mut impl BufRead, want: &str) {
    let mut line = String::new();
    lines.read_line(&mut line).expect("the fixture's stdout");
    assert_eq!(line.trim(), want, "the fixture said {line:?}");
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn aggregates_only_emit_no_kernel_records_and_count_every_switch() {
    require_root();
    let label = "go1.27/ctxsw/normal";
    let binary = testsupport::program_fixture("ctxsw", "1.27", "normal");
    let inspection = goinspect::inspect_file(&binary, &InspectOptions::default())
        .unwrap_or_else(|e| panic!("{label}: goinspect: {e}"));
    let mut fixture = Command::new(&binary)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting the fixture");
    let pid = fixture.id();
    let mut out = BufReader::new(fixture.stdout.take().unwrap());
    read_line(&mut out, "ready");

    let mut storage = ObjectStorage::new();
    let options = TracerOptions {
        level: Level::Default,
        kernel_records: Some(false),
        ..TracerOptions::default()
    };
    let mut tracer = Tracer::attach_with(
        &mut storage,
        &inspection,
        Some(pid),
        Some(pid),
        &binary,
        options,
    )
    .unwrap_or_else(|e| panic!("{label}: attaching the tracer: {e:#}"));
    let ids = tracer.program_ids().expect("program ids");
    tracer
        .kernel_aggregates(monotonic_ns())
        .expect("first reading")
        .expect("the default level keeps aggregates");
    let before = idle_switches(pid);
    let mut stdin = fixture.stdin.take().unwrap();
    stdin.write_all(b"go\n").unwrap();
    let mut events = Vec::new();
    read_line(&mut out, "done");
    let after = idle_switches(pid);
    while tracer
        .poll(Duration::from_millis(10), &mut events)
        .expect("polling")
        > 0
    {}
    let k = tracer
        .kernel_aggregates(monotonic_ns())
        .expect("last reading")
        .expect("aggregates");
    let stats = tracer.stats().expect("stats");
    drop(tracer);
    assert_unloaded(&ids);
    drop(stdin);
    assert!(fixture.wait().expect("fixture").success());

    let per_event: Vec<&EventKind> = events
        .iter()
        .map(|e| &e.kind)
        .filter(|k| {
            matches!(
                k,
                EventKind::Switch { .. }
                    | EventKind::Wakeup { .. }
                    | EventKind::KernelSyscall { .. }
            )
        })
        .collect();
    assert!(
        per_event.is_empty(),
        "{label}: {} kernel records",
        per_event.len()
    );
    for t in ["switch", "wakeup", "kernel_syscall"] {
        let n = stats
            .submitted_by_type()
            .into_iter()
            .find(|(ty, _)| ty.name() == t)
            .map_or(0, |(_, n)| n);
        assert_eq!(n, 0, "{label}: {t} records submitted");
    }
    // At the default level the uprobes report goroutines through the runtime's sampler.
    assert!(
        events
            .iter()
            .any(|e| matches!(e.kind, EventKind::GoSample { .. })),
        "{label}: the uprobes still report goroutines"
    );
    assert_eq!(k.lost.total(), 0, "{label}: {:?}", k.lost);

    let mut kernel = BTreeMap::new();
    for (&tid, &(v, nv)) in &after {
        let (v0, nv0) = before.get(&tid).copied().unwrap_or((0, 0));
        kernel.insert(tid, (v - v0, nv - nv0));
    }
    let recorded: BTreeMap<u64, (u64, u64)> = k
        .threads
        .iter()
        .map(|t| {
            let w = t.in_window();
            (
                u64::from(t.tid),
                (w.voluntary_switches, w.involuntary_switches),
            )
        })
        .collect();
    assert_eq!(
        recorded, kernel,
        "{label}: (voluntary, involuntary) per thread"
    );
    let calls = |name: &str| -> u64 {
        k.syscalls
            .iter()
            .filter(|s| goroscope_events::syscall_name(i64::from(s.nr)) == name)
            .map(|s| s.count)
            .sum()
    };
    assert!(
        calls("futex") > 0 && calls("nanosleep") > 0,
        "{label}: {:?}",
        k.syscalls
    );
}

/// Bounded maps: with room for 2 thread×syscall rows, the other calls are counted as lost (and
/// the rows that fit still count every call of theirs).
#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn a_full_map_counts_what_it_could_not_store() {
    require_root();
    let label = "go1.27/syscount/normal";
    let binary = testsupport::program_fixture("syscount", "1.27", "normal");
    let inspection = goinspect::inspect_file(&binary, &InspectOptions::default())
        .unwrap_or_else(|e| panic!("{label}: goinspect: {e}"));
    let mut storage = ObjectStorage::new();
    let options = TracerOptions {
        level: Level::Default,
        kernel_records: Some(false),
        aggregate_syscalls: 2,
        ..TracerOptions::default()
    };
    // Pid-less, before it starts: the kernel tracepoints follow it from its first uprobe hit.
    let mut tracer = Tracer::attach_with(&mut storage, &inspection, None, None, &binary, options)
        .unwrap_or_else(|e| panic!("{label}: attaching the tracer: {e:#}"));
    let ids = tracer.program_ids().expect("program ids");
    let out = Command::new(&binary)
        .arg("1000")
        .output()
        .expect("running the fixture");
    assert!(out.status.success(), "{label}");
    let k = tracer
        .kernel_aggregates(monotonic_ns())
        .expect("reading")
        .expect("aggregates");
    drop(tracer);
    assert_unloaded(&ids);
    assert_eq!(k.syscalls.len(), 2, "{label}: {:?}", k.syscalls);
    assert!(k.lost.syscalls > 0, "{label}: {:?}", k.lost);
    assert_eq!(k.lost.thread_updates, 0, "{label}: {:?}", k.lost);
    eprintln!(
        "{label}: {} calls stored in 2 rows, {} not stored (counted)",
        k.syscalls.iter().map(|s| s.count).sum::<u64>(),
        k.lost.syscalls
    );
}
