//! Goroutine snapshots in the report: the goroutines the runtime holds in memory
//! (`GoroutineSnapshot`, read from `runtime.allgs`) joined with what the stream said, so a
//! goroutine that never runs while goroscope watches is still reported with its site, state,
//! wait reason, age and stack.
//!
//! Only the last snapshot is kept (the session takes one at the stop, with the probes still
//! attached, so the stream covers every change after it). At the end:
//! - a goroutine the stream knows (alive or exited) keeps the stream's state, count and site;
//!   the snapshot adds its start function, parent, locked M, stack and, when the stream did not
//!   see it park, the age of its wait (the runtime's `waitsince`);
//! - a goroutine only the snapshot knows is alive at the end: it is counted in `preexisting`
//!   and `live_at_end` (so `created + preexisting = exited + live_at_end +
//!   closed_by_goid_reuse` still holds), in its creation site's row, and listed;
//! - `leaked` is regrouped from the live rows, with the age of the oldest and the median wait.

use std::collections::{BTreeMap, HashMap};

use goroscope_events::{GState, GoroutineSnapshot, Location, Meta, SnapshotGoroutine};

use crate::report::{CountAt, GoroutineReport, LeakRow, LiveRow, SiteRow, SnapshotSummary};
use crate::sites::SiteKey;
use crate::state::goroutines::{GoState, Goroutines, LiveGoroutine};

/// The snapshots an analysis has seen.
#[derive(Debug, Clone, Default)]
pub struct Snapshots {
    count: u64,
    last: Option<GoroutineSnapshot>,
    /// Per snapshot, in time order: its time and how many goroutines waited by raw creation pc
    /// and wait reason — what `LeakRow::history` (growth by site) is built from. Thinned to at
    /// most [`MAX_HISTORY`] snapshots (every other one dropped, the first and last kept).
    history: Vec<WaitingAt>,
}

/// A snapshot's time and its waiting goroutines counted by (creation pc, raw wait reason).
type WaitingAt = (u64, HashMap<(u64, u8), u64>);

/// Snapshots kept for the leak history: enough to see a trend, bounded on long sessions.
const MAX_HISTORY: usize = 64;

impl Snapshots {
    /// Keeps `snapshot` if it is the newest so far (a replay hands them in order; a late one
    /// would be older than the stream's end).
    pub fn observe(&mut self, snapshot: &GoroutineSnapshot) {
        self.count += 1;
        if self.last.as_ref().is_none_or(|l| l.ts_ns <= snapshot.ts_ns) {
            self.last = Some(snapshot.clone());
        }
        if self
            .history
            .last()
            .is_some_and(|(ts, _)| *ts > snapshot.ts_ns)
        {
            return;
        }
        let mut waiting: HashMap<(u64, u8), u64> = HashMap::new();
        for g in &snapshot.goroutines {
            if matches!(g.state(), Some(GState::Waiting | GState::Leaked)) {
                *waiting.entry((g.creation_pc, g.wait_reason)).or_default() += 1;
            }
        }
        self.history.push((snapshot.ts_ns, waiting));
        if self.history.len() > MAX_HISTORY {
            let last = self.history.pop();
            let mut i = 0;
            self.history.retain(|_| {
                i += 1;
                i % 2 == 1
            });
            self.history.extend(last);
        }
    }
}

/// What the join needs besides the report.
pub struct Join<'a> {
    pub meta: &'a Meta,
    pub goroutines: &'a Goroutines,
    pub live: &'a [LiveGoroutine],
    pub locate: &'a dyn Fn(SiteKey) -> Location,
    pub start_ns: u64,
    pub end_ns: u64,
}

/// Joins the last snapshot into `report` (nothing without snapshots, so reports of recordings
/// without them stay as they were).
pub fn join(report: &mut GoroutineReport, snapshots: &Snapshots, j: &Join<'_>) {
    let Some(snap) = &snapshots.last else {
        return;
    };
    let by_goid: HashMap<u64, &SnapshotGoroutine> =
        snap.goroutines.iter().map(|g| (g.goid, g)).collect();
    let model: HashMap<u64, &LiveGoroutine> = j.live.iter().map(|g| (g.goid, g)).collect();

    for row in &mut report.live {
        let Some(s) = by_goid.get(&row.goid) else {
            continue;
        };
        let stream = model.get(&row.goid);
        // The stream's park time when it saw one; else the runtime's own.
        let parked_at = stream
            .filter(|g| matches!(g.state, GoState::Waiting { .. }) && g.since > j.start_ns)
            .map(|g| g.since);
        if row.preexisting && s.creation_pc != 0 {
            set_site(row, (j.locate)(SiteKey::Pc(s.creation_pc)));
        }
        if row.state == "waiting" && s.state() == Some(GState::Waiting) {
            if row.wait_reason.as_deref() == Some("(unknown)") {
                row.wait_reason = Some(j.meta.wait_reasons.describe(s.wait_reason));
            }
            row.blocked_ns = age(parked_at.or(since(s)), j.end_ns);
        }
        describe(row, s, j.meta);
    }

    let mut only = 0u64;
    for s in &snap.goroutines {
        if j.goroutines.knows(s.goid) {
            continue;
        }
        only += 1;
        let site = SiteKey::from_creation_pc(s.creation_pc);
        let location = (j.locate)(site);
        add_to_site(&mut report.by_creation_site, &location);
        let state = state_name(s);
        let mut row = LiveRow {
            goid: s.goid,
            state: state.to_string(),
            wait_reason: (state == "waiting").then(|| j.meta.wait_reasons.describe(s.wait_reason)),
            function: String::new(),
            file: String::new(),
            line: 0,
            preexisting: true,
            only_in_snapshot: true,
            blocked_ns: None,
            start_function: None,
            start_wrapper: None,
            parent_goid: None,
            locked_m: None,
            stack: Vec::new(),
        };
        set_site(&mut row, location);
        if state == "waiting" {
            row.blocked_ns = age(since(s), j.end_ns);
        }
        describe(&mut row, s, j.meta);
        report.live.push(row);
    }
    report.live.sort_by_key(|r| r.goid);
    report.live_at_end += only;
    report.preexisting += only;
    crate::summarize::sort_sites(&mut report.by_creation_site);
    report.leaked = leaked(&report.live);
    add_history(&mut report.leaked, &snapshots.history, j);
    report.system_at_end = Some(report.live.iter().filter(|r| is_system(r)).count() as u64);
    report.snapshots = Some(SnapshotSummary {
        count: snapshots.count,
        last_ts_ns: snap.ts_ns,
        last_read_ns: snap.read_ns,
        last_goroutines: snap.goroutines.len() as u64,
        last_allglen: snap.allglen,
        last_skipped: snap.skipped,
        last_partial: snap.partial,
        only_in_snapshot: only,
    });
}

/// Each leak group's count in every snapshot kept (growth by site): the goroutines waiting
/// with the group's creation site and wait reason, at each snapshot's time since the start.
fn add_history(rows: &mut [LeakRow], history: &[WaitingAt], j: &Join<'_>) {
    if history.is_empty() {
        return;
    }
    let mut names: HashMap<(u64, u8), (Location, String)> = HashMap::new();
    let mut series: HashMap<(String, String, u32, String), Vec<CountAt>> = HashMap::new();
    for (i, (_, counts)) in history.iter().enumerate() {
        for (&(pc, reason), &n) in counts {
            let (l, r) = names.entry((pc, reason)).or_insert_with(|| {
                (
                    (j.locate)(SiteKey::from_creation_pc(pc)),
                    j.meta.wait_reasons.describe(reason),
                )
            });
            let key = (l.function.clone(), l.file.clone(), l.line, r.clone());
            let points = series.entry(key).or_default();
            if points.len() <= i {
                points.resize(i + 1, CountAt { at_ns: 0, count: 0 });
            }
            points[i].count += n;
        }
    }
    for row in rows {
        let key = (
            row.function.clone(),
            row.file.clone(),
            row.line,
            row.wait_reason.clone(),
        );
        let mut points = series.remove(&key).unwrap_or_default();
        points.resize(history.len(), CountAt { at_ns: 0, count: 0 });
        for (p, (ts, _)) in points.iter_mut().zip(history) {
            p.at_ns = ts.saturating_sub(j.start_ns);
        }
        row.history = points;
    }
}

/// `g.waitsince`, when the runtime has set it (a GC saw the goroutine blocked).
fn since(s: &SnapshotGoroutine) -> Option<u64> {
    (s.wait_since_ns != 0).then_some(s.wait_since_ns)
}

fn age(since: Option<u64>, end_ns: u64) -> Option<u64> {
    since.filter(|&t| t <= end_ns).map(|t| end_ns - t)
}

fn set_site(row: &mut LiveRow, l: Location) {
    row.function = l.function;
    row.file = l.file;
    row.line = l.line;
}

/// What only the snapshot knows: start function, parent, locked M, stack.
fn describe(row: &mut LiveRow, s: &SnapshotGoroutine, meta: &Meta) {
    let start = meta.symbolizer.resolve(s.start_pc);
    row.start_function = Some(match start {
        Some(l) => l.function,
        None => format!("{:#x}", s.start_pc),
    });
    row.start_wrapper = meta.wrappers.get(&s.start_pc).cloned();
    row.parent_goid = s.parent_goid.filter(|&p| p != 0);
    row.locked_m = s.locked_m;
    row.stack = s.stack.iter().flat_map(|&pc| frames(meta, pc)).collect();
}

/// A stack frame (a return address, resolved on its call's line) as "function (file:line)",
/// and the frames of the functions its code is inlined into, as the runtime's traceback shows.
fn frames(meta: &Meta, pc: u64) -> Vec<String> {
    let at = pc.saturating_sub(1);
    let show = |l: &Location| format!("{} ({}:{})", l.function, l.file, l.line);
    match meta.symbolizer.resolve(at) {
        Some(l) => std::iter::once(show(&l))
            .chain(meta.inlined_into.get(&at).into_iter().flatten().map(show))
            .collect(),
        None => vec![format!("{pc:#x}")],
    }
}

/// The report's state name of a snapshot's goroutine (as `GoState::name`).
fn state_name(s: &SnapshotGoroutine) -> &'static str {
    match s.state() {
        Some(GState::Runnable) => "runnable",
        Some(GState::Running | GState::Copystack) => "running",
        Some(GState::Syscall) => "syscall",
        // `_Gleaked` (1.26+): a blocked goroutine the runtime's leak detector found.
        Some(GState::Waiting | GState::Leaked) => "waiting",
        Some(GState::Preempted) => "preempted",
        _ => "unknown",
    }
}

fn add_to_site(rows: &mut Vec<SiteRow>, l: &Location) {
    match rows
        .iter_mut()
        .find(|r| r.function == l.function && r.file == l.file && r.line == l.line)
    {
        Some(row) => row.live_at_end += 1,
        None => rows.push(SiteRow {
            function: l.function.clone(),
            file: l.file.clone(),
            line: l.line,
            created: 0,
            exited: 0,
            live_at_end: 1,
        }),
    }
}

/// Waiting goroutines by creation site and wait reason, largest group first, with the ages.
fn leaked(live: &[LiveRow]) -> Vec<LeakRow> {
    let mut groups: BTreeMap<(&str, &str, u32, &str), Vec<&LiveRow>> = BTreeMap::new();
    for row in live {
        if let Some(reason) = &row.wait_reason {
            groups
                .entry((&row.function, &row.file, row.line, reason))
                .or_default()
                .push(row);
        }
    }
    let mut out: Vec<LeakRow> = groups
        .into_iter()
        .map(|((function, file, line, reason), rows)| {
            let mut ages: Vec<u64> = rows.iter().filter_map(|r| r.blocked_ns).collect();
            ages.sort_unstable();
            let oldest = rows
                .iter()
                .filter(|r| r.blocked_ns.is_some())
                .max_by_key(|r| r.blocked_ns)
                .or(rows.first());
            LeakRow {
                function: function.to_string(),
                file: file.to_string(),
                line,
                wait_reason: reason.to_string(),
                count: rows.len() as u64,
                oldest_blocked_ns: ages.last().copied(),
                median_blocked_ns: ages.get(ages.len() / 2).copied(),
                ages_known: Some(ages.len() as u64),
                blocked_at: oldest
                    .and_then(|r| r.stack.iter().find(|f| !is_standard_library(f)).cloned()),
                start_function: oldest.and_then(|r| r.start_function.clone()),
                start_wrapper: oldest.and_then(|r| r.start_wrapper.clone()),
                history: Vec::new(),
            }
        })
        .collect();
    out.sort_by_key(|l| std::cmp::Reverse(l.count)); // stable: ties stay in location order
    out
}

/// Whether a frame ("function (file:line)") is in the runtime or the standard library: its
/// package path's first element has no dot and is not `main` (the rule `go list std` follows).
fn is_standard_library(frame: &str) -> bool {
    let function = frame.split(" (").next().unwrap_or(frame);
    let after_slash = function.rfind('/').map_or(0, |i| i + 1);
    let package = match function[after_slash..].find('.') {
        Some(dot) => &function[..after_slash + dot],
        None => function,
    };
    let first = package.split('/').next().unwrap_or(package);
    !first.contains('.') && first != "main"
}

/// Whether `runtime.NumGoroutine` leaves this goroutine out (the runtime's `isSystemGoroutine`:
/// started in package `runtime`, except `runtime.main` and the few that run user code; the
/// finalizer goroutine counts only while it runs a finalizer).
fn is_system(row: &LiveRow) -> bool {
    let Some(start) = &row.start_function else {
        return false;
    };
    match start.as_str() {
        "runtime.main" | "runtime.corostart" | "runtime.handleAsyncEvent" => false,
        "runtime.runfinq" => row.state == "waiting",
        s => s.starts_with("runtime."),
    }
}

#[cfg(test)]
#[path = "snapshots_tests.rs"]
mod tests;
