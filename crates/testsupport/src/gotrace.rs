//! The referee: Go's own execution tracer, summarized. Runs `go tool trace -d=parsed FILE` with
//! the newest toolchain of the matrix and condenses its text dump (one `internal/trace.Event`
//! per `M=.. P=.. G=.. Kind Time=..` line, then optional `Stack=` / `TransitionStack=` frame
//! blocks) into a [`GoTraceSummary`], so goroscope's tests can compare goroscope's counts with
//! what Go's tracer saw on the same run.
//!
//! One reader for every version: Go 1.27's `internal/trace` reads the new format (traces of
//! Go 1.22+, versions 22/23/25/26 in the header) and converts the old one (Go 1.11–1.21) to the
//! new event model, so traces written by 1.19, 1.21, 1.25, 1.26 and 1.27 all parse with it
//! (checked). An older `go tool trace` is never needed (before 1.22 it has no `-d=parsed`).
//!
//! What each count means in the tracer's terms (goroutine state transitions `Old->New`;
//! same-state transitions, which the reader re-emits at every generation boundary, are skipped):
//! - `goroutines_created`: `NotExist->Runnable|Waiting|Syscall` (`go` statements, also the
//!   runtime's and the tracer's own; a cgo callback's goroutine is created in `Syscall`).
//!   Goroutines that existed before the trace began appear as `Undetermined->X` instead
//!   (`goroutines_at_start`). Each created goroutine's start function is the first frame of the
//!   creation's `TransitionStack` ([`GoroutineStats::start_fn`]).
//! - `goroutine_starts`: `Runnable->Running` (a G put on a P by the scheduler);
//!   `Syscall->Running` (back from a syscall that kept its P) is not a start.
//! - `preemptions`: `Running->Runnable` with reason "preempted" (sysmon's async preemption or
//!   a cooperative preemption request); `yields`: reason "runtime.Gosched" (also the runtime's
//!   own Gosched calls, e.g. runtime.GC's sweep loop, thousands per GC call);
//!   `Running->Waiting` "preempted" is a G suspended for the GC's stack scan (in `blocks`).
//! - `syscalls`: `Running->Syscall`; `syscall_ends`: `Syscall->Running` (kept its P);
//!   `syscall_ends_blocked`: `Syscall->Runnable` (the P was taken away — sysmon's retake or a
//!   hand-off — so the G must be scheduled again). `proc_steals`: a P going `Running->Idle` on
//!   an M other than its own (the new tracer's ProcSteal: sysmon retaking a P in a syscall).
//! - `stw`: `RangeBegin`/`RangeEnd` pairs named "stop-the-world (REASON)"; `gc_cycles`: ranges
//!   "GC concurrent mark phase" (begun, or already active when first seen).
//! - `gomaxprocs_values`: every metric "/sched/gomaxprocs:threads" (the runtime emits one at
//!   trace start and on every procresize, i.e. at every start-the-world, changed or not); see
//!   [`GoTraceSummary::gomaxprocs_changes`].
//! - `threads`: the `M=` values. Since Go 1.22 they are OS thread ids; in converted old traces
//!   (Go ≤ 1.21) they are the runtime's M ids (0, 1, 2, ...), not tids.
//! - `Time=`: since Go 1.22, the runtime's nanotime (CLOCK_MONOTONIC ns, comparable with
//!   bpf_ktime_get_ns, in steps of 64 ns); in old traces, ns since the trace began.
//!
//! What the tracer adds to the run itself (goroscope, watching the same run, sees these too):
//! - a "stop-the-world (start trace)" at the start (Go 1.22+ only; old traces do not show it).
//!   The "stop trace" STW at the end is never in the trace.
//! - its goroutines: before Go 1.22 `runtime/trace.Start.func1` (the reader that writes the
//!   file); 1.22–1.24 that plus the runtime's `runtime.(*traceAdvancerState).start.func1` and
//!   `runtime.traceStartReadCPU.func1`; 1.25+ the advancer, the CPU reader and
//!   `runtime/trace.(*traceMultiplexer).startLocked.func1`. They are created after the trace
//!   starts, so they count in `goroutines_created`; [`GoTraceSummary::tracer_goroutines`]
//!   names them.
//! - the trace file writes: `write(2)` syscalls made by the reader goroutine (in `syscalls`).
//! - extra gomaxprocs metrics and, in 1.22+, a new generation (with status re-announcements)
//!   about every second.
//!
//! Per-version caveats: old traces (≤ 1.21) turn each syscall that did not block into a
//! begin/end pair 1 ns apart, and a blocked one into `Syscall->Runnable` at its end; Go 1.19
//! traces have STW ranges only for the GC (sweep and mark termination), and they lack the
//! initial gomaxprocs value (the first metric is already a change); Go 1.21 has all STW kinds
//! except start trace.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::toolchains::{all_go_versions, go_binary, go_command};

/// Why a trace could not be summarized.
#[derive(Debug)]
pub enum GoTraceError {
    /// Reading the trace file or running the tool failed.
    Io(String, std::io::Error),
    /// The file does not start with a Go trace header ("go 1.N trace").
    NotATrace(PathBuf),
    /// `go tool trace` exited with an error (its stderr).
    Tool(String),
    /// A dump line this parser does not understand.
    Line(usize, String),
}

impl fmt::Display for GoTraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GoTraceError::Io(what, e) => write!(f, "{what}: {e}"),
            GoTraceError::NotATrace(p) => write!(f, "{}: not a Go execution trace", p.display()),
            GoTraceError::Tool(err) => write!(f, "go tool trace -d=parsed failed: {err}"),
            GoTraceError::Line(n, l) => write!(f, "line {n} of the parsed dump: {l:?}"),
        }
    }
}

impl std::error::Error for GoTraceError {}

/// One stop-the-world as Go's tracer recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stw {
    /// What is inside "stop-the-world (...)": "GC sweep termination", "GOMAXPROCS", ...
    pub reason: String,
    /// Begin and length in trace time (ns).
    pub begin: i64,
    pub duration_ns: i64,
}

/// What the tracer saw of one goroutine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoroutineStats {
    /// Created during the trace (`NotExist->X`), not already there when it began.
    pub created: bool,
    /// The function it started in (first frame of the creation's TransitionStack).
    pub start_fn: Option<String>,
    pub exited: bool,
    /// `Runnable->Running` transitions.
    pub starts: u64,
    /// Time in state Running (ns); a G still running at the end counts until the last event.
    pub running_ns: i64,
    pub preemptions: u64,
    pub yields: u64,
    pub syscalls: u64,
    pub syscall_ends_blocked: u64,
    /// The `M=` values it was Running or in a Syscall on (see the module docs for what M is).
    pub threads: BTreeSet<i64>,
    /// The Ps it was Running on, and the P of the goroutine that created it: a goroutine
    /// created on one P that never runs there was stolen (or taken from the global run queue).
    pub procs: BTreeSet<i64>,
    pub created_on_proc: Option<i64>,
}

/// Go's tracer's view of a whole trace; see the module docs for what each count means.
#[derive(Debug, Clone, Default)]
pub struct GoTraceSummary {
    /// N of the header "go 1.N trace": 19, 21 (old format), 22, 23, 25, 26 (Go 1.26 and 1.27).
    pub trace_version: u32,
    pub events: u64,
    pub first_time: i64,
    pub last_time: i64,
    pub goroutines_created: u64,
    pub goroutines_at_start: u64,
    pub goroutine_exits: u64,
    pub goroutine_starts: u64,
    pub preemptions: u64,
    pub yields: u64,
    /// `Running->Waiting`, by reason ("chan receive", "sleep", "sync", "" in old traces...).
    pub blocks: BTreeMap<String, u64>,
    /// `Waiting->Runnable`.
    pub unblocks: u64,
    pub syscalls: u64,
    pub syscall_ends: u64,
    pub syscall_ends_blocked: u64,
    pub proc_starts: u64,
    pub proc_stops: u64,
    pub proc_steals: u64,
    pub stw: Vec<Stw>,
    pub gc_cycles: u64,
    /// The first gomaxprocs metric of a new-format trace (None for old traces: not recorded).
    pub gomaxprocs_initial: Option<u64>,
    /// Every gomaxprocs metric: (time, value).
    pub gomaxprocs_values: Vec<(i64, u64)>,
    pub threads: BTreeSet<i64>,
    pub goroutines: BTreeMap<u64, GoroutineStats>,
}

impl GoTraceSummary {
    /// The GOMAXPROCS changes: metrics whose value differs from the one before. `initial` is
    /// the value before the trace (e.g. what the program read first); it is used when the trace
    /// does not record one (old format).
    pub fn gomaxprocs_changes(&self, initial: u64) -> Vec<(i64, u64)> {
        let mut prev = self.gomaxprocs_initial.unwrap_or(initial);
        let mut out = Vec::new();
        for &(t, v) in &self.gomaxprocs_values {
            if v != prev {
                out.push((t, v));
                prev = v;
            }
        }
        out
    }

    /// The stop-the-worlds with this reason.
    pub fn stw_with_reason(&self, reason: &str) -> Vec<&Stw> {
        self.stw.iter().filter(|s| s.reason == reason).collect()
    }

    /// Goroutines created during the trace whose start function begins with `prefix`
    /// (e.g. "main." for those the program's own `go` statements started).
    pub fn created_starting_in(&self, prefix: &str) -> Vec<u64> {
        self.goroutines
            .iter()
            .filter(|(_, g)| {
                g.created && g.start_fn.as_deref().is_some_and(|f| f.starts_with(prefix))
            })
            .map(|(id, _)| *id)
            .collect()
    }

    /// Of `goids`, those created on a P and never Running on it (stolen by another P or taken
    /// from the global run queue).
    pub fn ran_only_elsewhere(&self, goids: &[u64]) -> Vec<u64> {
        goids
            .iter()
            .copied()
            .filter(|id| {
                self.goroutines.get(id).is_some_and(|g| {
                    g.created_on_proc
                        .is_some_and(|p| !g.procs.is_empty() && !g.procs.contains(&p))
                })
            })
            .collect()
    }

    /// The goroutines the tracer itself started (see the module docs).
    pub fn tracer_goroutines(&self) -> Vec<u64> {
        const TRACER_FNS: &[&str] = &[
            "runtime/trace.",
            "runtime.(*traceAdvancerState).",
            "runtime.traceStartReadCPU",
        ];
        self.goroutines
            .iter()
            .filter(|(_, g)| {
                g.created
                    && g.start_fn
                        .as_deref()
                        .is_some_and(|f| TRACER_FNS.iter().any(|p| f.starts_with(p)))
            })
            .map(|(id, _)| *id)
            .collect()
    }
}

/// The newest Go version of the matrix ("1.27.3"): its `go tool trace` reads every format.
pub fn referee_go_version() -> String {
    all_go_versions()
        .pop()
        .expect("scripts/go-versions.sh lists at least one Go version")
}

/// Summarizes the trace file `path` with the newest toolchain's `go tool trace -d=parsed`.
pub fn summarize_trace(path: &Path) -> Result<GoTraceSummary, GoTraceError> {
    let trace_version = read_header(path)?;
    let go = go_binary(&referee_go_version());
    let mut cmd = go_command(&go);
    cmd.args(["tool", "trace", "-d=parsed"])
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| GoTraceError::Io(format!("running {}", go.display()), e))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    // stderr is drained on a thread so a chatty tool cannot block on a full pipe.
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let parsed = parse_dump(BufReader::new(stdout), trace_version);
    let status = child
        .wait()
        .map_err(|e| GoTraceError::Io("waiting for go tool trace".into(), e))?;
    let err = err_reader.join().unwrap_or_default();
    if !status.success() {
        return Err(GoTraceError::Tool(format!("{status}: {}", err.trim())));
    }
    parsed
}

/// N of the "go 1.N trace" header at the start of a trace file.
pub fn read_header(path: &Path) -> Result<u32, GoTraceError> {
    let mut head = [0u8; 16];
    let mut f = std::fs::File::open(path)
        .map_err(|e| GoTraceError::Io(format!("opening {}", path.display()), e))?;
    let n = f
        .read(&mut head)
        .map_err(|e| GoTraceError::Io(format!("reading {}", path.display()), e))?;
    let text = String::from_utf8_lossy(&head[..n]);
    text.strip_prefix("go 1.")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|minor| minor.parse().ok())
        .ok_or_else(|| GoTraceError::NotATrace(path.to_path_buf()))
}

/// The fixed head of every event line: `M=.. P=.. G=.. Kind Time=..`.
struct Head<'a> {
    m: i64,
    p: i64,
    kind: &'a str,
    time: i64,
    rest: &'a str,
}

fn parse_head(line: &str) -> Option<Head<'_>> {
    let mut it = line.splitn(6, ' ');
    let m = it.next()?.strip_prefix("M=")?.parse().ok()?;
    let p = it.next()?.strip_prefix("P=")?.parse().ok()?;
    let _g: i64 = it.next()?.strip_prefix("G=")?.parse().ok()?;
    let kind = it.next()?;
    let time = it.next()?.strip_prefix("Time=")?.parse().ok()?;
    Some(Head {
        m,
        p,
        kind,
        time,
        rest: it.next().unwrap_or(""),
    })
}

/// The %q-quoted value after `key` (e.g. `Name=`) in `s`, unquoted.
fn quoted(s: &str, key: &str) -> Option<String> {
    let start = s.find(key)? + key.len();
    let body = s[start..].strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => out.push(chars.next()?),
            c => out.push(c),
        }
    }
    None
}

/// Accumulates events into a summary.
#[derive(Default)]
struct Summarizer {
    s: GoTraceSummary,
    /// Goroutines in state Running since this time.
    running_since: HashMap<u64, i64>,
    /// Open ranges: (name, scope) → begin time.
    open_ranges: HashMap<(String, String), i64>,
    /// A just-created goroutine whose TransitionStack gives its start function.
    awaiting_start_fn: Option<u64>,
    in_transition_stack: bool,
}

/// Summarizes a `-d=parsed` dump; `trace_version` is N of the file's "go 1.N trace" header.
pub fn parse_dump(input: impl BufRead, trace_version: u32) -> Result<GoTraceSummary, GoTraceError> {
    let mut sum = Summarizer::default();
    sum.s.trace_version = trace_version;
    for (i, line) in input.lines().enumerate() {
        let line = line.map_err(|e| GoTraceError::Io("reading the parsed dump".into(), e))?;
        sum.line(i + 1, &line)?;
    }
    Ok(sum.finish())
}

impl Summarizer {
    fn line(&mut self, n: usize, line: &str) -> Result<(), GoTraceError> {
        if line.starts_with("M=") {
            self.end_stack_block();
            let bad = || GoTraceError::Line(n, line.to_string());
            let head = parse_head(line).ok_or_else(bad)?;
            self.event(&head).ok_or_else(bad)?;
        } else if line == "TransitionStack=" {
            self.in_transition_stack = true;
        } else if line == "Stack=" || line.is_empty() {
            self.in_transition_stack = false;
        } else if let Some(frame) = line.strip_prefix('\t') {
            // "\tfunc @ 0xpc" opens a frame, "\t\tfile:line" follows it.
            if self.in_transition_stack && !frame.starts_with('\t') {
                if let Some(goid) = self.awaiting_start_fn.take() {
                    let func = frame.split(" @ ").next().unwrap_or(frame).to_string();
                    self.s.goroutines.entry(goid).or_default().start_fn = Some(func);
                }
            }
        }
        Ok(())
    }

    /// A new event line ends any stack block of the one before.
    fn end_stack_block(&mut self) {
        self.awaiting_start_fn = None;
        self.in_transition_stack = false;
    }

    /// One event; None when its kind-specific fields do not parse.
    fn event(&mut self, h: &Head<'_>) -> Option<()> {
        let s = &mut self.s;
        s.events += 1;
        if h.time >= 0 {
            if s.first_time == 0 || h.time < s.first_time {
                s.first_time = h.time;
            }
            s.last_time = s.last_time.max(h.time);
        }
        if h.m >= 0 {
            s.threads.insert(h.m);
        }
        match h.kind {
            "StateTransition" => self.transition(h),
            "RangeBegin" | "RangeActive" | "RangeEnd" => self.range(h),
            "Metric" => {
                if quoted(h.rest, "Name=")? == "/sched/gomaxprocs:threads" {
                    let v = h
                        .rest
                        .split("Uint64(")
                        .nth(1)?
                        .split(')')
                        .next()?
                        .parse()
                        .ok()?;
                    if s.gomaxprocs_values.is_empty() && s.trace_version >= 22 {
                        s.gomaxprocs_initial = Some(v);
                    }
                    s.gomaxprocs_values.push((h.time, v));
                }
                Some(())
            }
            _ => Some(()),
        }
    }

    fn transition(&mut self, h: &Head<'_>) -> Option<()> {
        let mut words = h.rest.split(' ');
        let id_field = words.next()?;
        let (from, to) = words.next()?.split_once("->")?;
        if from == to {
            return Some(()); // a status re-announced at a generation boundary
        }
        if let Some(proc_id) = id_field.strip_prefix("ProcID=") {
            let proc_id: i64 = proc_id.parse().ok()?;
            match (from, to) {
                ("Idle", "Running") => self.s.proc_starts += 1,
                ("Running", "Idle") if proc_id != h.p => self.s.proc_steals += 1,
                ("Running", "Idle") => self.s.proc_stops += 1,
                _ => {}
            }
            return Some(());
        }
        let goid: u64 = id_field.strip_prefix("GoID=")?.parse().ok()?;
        let reason = quoted(h.rest, "Reason=").unwrap_or_default();
        let s = &mut self.s;
        let g = s.goroutines.entry(goid).or_default();
        if let Some(since) = self.running_since.remove(&goid) {
            g.running_ns += h.time - since;
        }
        if to == "Running" {
            self.running_since.insert(goid, h.time);
        }
        if (to == "Running" || to == "Syscall") && h.m >= 0 {
            g.threads.insert(h.m);
        }
        if to == "Running" && h.p >= 0 {
            g.procs.insert(h.p);
        }
        match (from, to) {
            ("NotExist", _) => {
                s.goroutines_created += 1;
                g.created = true;
                g.created_on_proc = (h.p >= 0).then_some(h.p);
                self.awaiting_start_fn = Some(goid);
            }
            ("Undetermined", _) => s.goroutines_at_start += 1,
            (_, "NotExist") => {
                s.goroutine_exits += 1;
                g.exited = true;
            }
            ("Runnable", "Running") => {
                s.goroutine_starts += 1;
                g.starts += 1;
            }
            ("Running", "Runnable") if reason == "preempted" => {
                s.preemptions += 1;
                g.preemptions += 1;
            }
            ("Running", "Runnable") if reason == "runtime.Gosched" => {
                s.yields += 1;
                g.yields += 1;
            }
            ("Running", "Waiting") => *s.blocks.entry(reason).or_default() += 1,
            ("Waiting", "Runnable") => s.unblocks += 1,
            ("Running", "Syscall") => {
                s.syscalls += 1;
                g.syscalls += 1;
            }
            ("Syscall", "Running") => s.syscall_ends += 1,
            ("Syscall", "Runnable") => {
                s.syscall_ends_blocked += 1;
                g.syscall_ends_blocked += 1;
            }
            _ => {}
        }
        Some(())
    }

    fn range(&mut self, h: &Head<'_>) -> Option<()> {
        let name = quoted(h.rest, "Name=")?;
        let scope = h
            .rest
            .split(" Scope=")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .unwrap_or("")
            .to_string();
        let key = (name, scope);
        match h.kind {
            // A range already open when re-announced (RangeActive at a generation boundary)
            // is the same range.
            "RangeBegin" | "RangeActive" if !self.open_ranges.contains_key(&key) => {
                if key.0 == "GC concurrent mark phase" {
                    self.s.gc_cycles += 1;
                }
                self.open_ranges.insert(key, h.time);
            }
            "RangeEnd" => {
                if let Some(begin) = self.open_ranges.remove(&key) {
                    if let Some(reason) = key
                        .0
                        .strip_prefix("stop-the-world (")
                        .and_then(|r| r.strip_suffix(')'))
                    {
                        self.s.stw.push(Stw {
                            reason: reason.to_string(),
                            begin,
                            duration_ns: h.time - begin,
                        });
                    }
                }
            }
            _ => {}
        }
        Some(())
    }

    fn finish(mut self) -> GoTraceSummary {
        let end = self.s.last_time;
        for (goid, since) in self.running_since.drain() {
            self.s.goroutines.entry(goid).or_default().running_ns += end - since;
        }
        self.s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = r#"M=-1 P=-1 G=-1 Sync Time=100 N=1 Trace=1 Mono=1 Wall=2026-11-26T23:43:17Z
M=7 P=-1 G=-1 StateTransition Time=110 ProcID=1 Undetermined->Running Reason=""
M=7 P=1 G=-1 StateTransition Time=111 GoID=1 Undetermined->Running Reason=""
M=7 P=1 G=1 Metric Time=112 Name="/sched/gomaxprocs:threads" Value=Value{Uint64(2)}
M=7 P=1 G=1 RangeBegin Time=120 Name="stop-the-world (GOMAXPROCS)" Scope=Goroutine(1)

M=7 P=1 G=1 Metric Time=125 Name="/sched/gomaxprocs:threads" Value=Value{Uint64(1)}
M=7 P=1 G=1 RangeEnd Time=130 Name="stop-the-world (GOMAXPROCS)" Scope=Goroutine(1) Attributes=[]
M=7 P=1 G=1 StateTransition Time=140 GoID=5 NotExist->Runnable Reason=""
TransitionStack=
	main.work.func1 @ 0x6d6aa0
		/src/main.go:30

Stack=
	main.work @ 0x6d3118
		/src/main.go:30

M=7 P=1 G=1 StateTransition Time=150 GoID=1 Running->Syscall Reason=""
M=9 P=-1 G=-1 StateTransition Time=160 ProcID=1 Running->Idle Reason=""
M=7 P=-1 G=1 StateTransition Time=170 GoID=1 Syscall->Runnable Reason=""
M=9 P=1 G=-1 StateTransition Time=180 GoID=5 Runnable->Running Reason=""
M=9 P=1 G=5 StateTransition Time=190 GoID=5 Running->Runnable Reason="preempted"
M=9 P=1 G=-1 StateTransition Time=195 GoID=5 Runnable->Running Reason=""
M=9 P=1 G=5 StateTransition Time=196 GoID=5 Running->Running Reason=""
M=9 P=1 G=5 StateTransition Time=200 GoID=5 Running->NotExist Reason=""
M=9 P=1 G=-1 RangeBegin Time=210 Name="GC concurrent mark phase" Scope=None
M=9 P=1 G=-1 RangeActive Time=215 Name="GC concurrent mark phase" Scope=None
M=9 P=1 G=-1 RangeEnd Time=220 Name="GC concurrent mark phase" Scope=None Attributes=[]
"#;

    #[test]
    fn summarizes_a_dump() {
        let s = parse_dump(DUMP.as_bytes(), 26).expect("parses");
        assert_eq!(s.goroutines_created, 1);
        assert_eq!(s.goroutines_at_start, 1);
        assert_eq!(s.goroutine_starts, 2);
        assert_eq!(s.goroutine_exits, 1);
        assert_eq!(s.preemptions, 1);
        assert_eq!((s.syscalls, s.syscall_ends_blocked), (1, 1));
        assert_eq!(s.proc_steals, 1);
        assert_eq!(s.gc_cycles, 1);
        assert_eq!(
            s.stw,
            vec![Stw {
                reason: "GOMAXPROCS".into(),
                begin: 120,
                duration_ns: 10
            }]
        );
        assert_eq!(s.gomaxprocs_initial, Some(2));
        assert_eq!(s.gomaxprocs_changes(2), vec![(125, 1)]);
        assert_eq!(s.created_starting_in("main."), vec![5]);
        let g5 = &s.goroutines[&5];
        assert_eq!(g5.start_fn.as_deref(), Some("main.work.func1"));
        assert_eq!(g5.running_ns, 10 + 5);
        assert_eq!(s.threads, BTreeSet::from([7, 9]));
    }

    #[test]
    fn rejects_a_garbled_event_line() {
        let err = parse_dump("M=1 P=x G=1 Sync Time=1\n".as_bytes(), 26).unwrap_err();
        assert!(matches!(err, GoTraceError::Line(1, _)), "{err}");
    }
}
