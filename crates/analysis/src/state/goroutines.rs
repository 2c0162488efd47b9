//! The goroutine model: one state machine per goid, driven by the runtime-side events, plus the
//! counters that depend on it (creation sites, runnable→running latency, which goroutine runs
//! on which thread).
//!
//! Rules (the why is in docs/report-schema.md and go-runtime-internals.md):
//! - A goroutine is *created* by `GoCreate`. Any other event for an unknown goid means it
//!   existed before the trace (*preexisting*): its state before the event is derived from the
//!   event (`GoStatus.from`, running for `GoPark`/`GoYield`/`GoExit`, waiting for `GoReady`...).
//! - `GoStatus` with `from = _Gidle`/`_Gdead` is not trusted for identity: up to Go 1.23
//!   `newproc1` changes the status of a recycled g *before* assigning its new goid, so the goid
//!   is the previous (dead) owner's. It only applies to a goroutine just created by `GoCreate`,
//!   or, with `to = _Gsyscall`, to the goroutine of an extra M entering a cgo callback (`needm`,
//!   whose goid is stable); its `_Gsyscall → _Gdead` (`dropm`) makes it idle, not exited.
//! - Goids are never reused by Go, so exited goids are remembered (tombstones): the trailing
//!   `_Grunning → _Gdead` after `GoExit` is expected; other events are anomalies.
//! - Runnable→running latency runs from the first event that makes the goroutine runnable
//!   (`GoCreate`, `GoReady`, `GoYield`, status to `_Grunnable`) to `GoStart` (or, if that was
//!   lost, the `_Grunnable → _Grunning` status).
//! - Timeline: each state other than running is emitted as a slice when the goroutine leaves it
//!   (running slices come from runs.rs, cut by the scheduler's events rather than statuses).
//!   A preexisting goroutine's first state is taken to hold since the trace start.

use std::collections::HashMap;

use goroscope_events::{Event, EventKind, GState, GStatus};

use super::tombstones::Tombstones;
use crate::anomalies::{self, Anomalies};
use crate::latency::LatencyRecorder;
use crate::sites::{SiteCount, SiteKey};
use crate::timeline::{
    Collector, GoActivity, GoroutineSlice, Instant, InstantKind, StackKey, TimelineRecord,
};

/// The model's view of a goroutine's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoState {
    Runnable,
    Running,
    Syscall,
    /// Blocked; `reason` is the raw `waitReason` from `GoPark` (None if the park was not seen).
    Waiting {
        reason: Option<u8>,
    },
    /// Stopped by `suspendG` (`_Gpreempted`).
    Preempted,
    /// An extra M's goroutine between cgo callbacks (`_Gdead`/`_Gdeadextra` after `dropm`).
    IdleExtraM,
    /// Not derivable from what was seen (a status value no Go version defines).
    Unknown,
}

impl GoState {
    /// The timeline's view of this state (None for running: run slices come from runs.rs).
    fn activity(self, g: &Goroutine) -> Option<GoActivity> {
        Some(match self {
            GoState::Running => return None,
            GoState::Runnable => GoActivity::Runnable,
            GoState::Syscall => GoActivity::Syscall { tid: g.thread },
            GoState::Waiting { reason } => GoActivity::Waiting {
                reason,
                stack: g.park_stack.map(StackKey::Captured),
            },
            GoState::Preempted => GoActivity::Preempted,
            GoState::IdleExtraM => GoActivity::IdleExtraM,
            GoState::Unknown => GoActivity::Unknown,
        })
    }
}

impl GoState {
    /// Stable name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            GoState::Runnable => "runnable",
            GoState::Running => "running",
            GoState::Syscall => "syscall",
            GoState::Waiting { .. } => "waiting",
            GoState::Preempted => "preempted",
            GoState::IdleExtraM => "idle_extra_m",
            GoState::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Goroutine {
    pub site: SiteKey,
    pub state: GoState,
    /// When it became runnable, while a latency measurement is open.
    runnable_since: Option<u64>,
    /// The thread it runs on while running or in a syscall.
    thread: Option<u32>,
    /// Created by `GoCreate` and nothing else seen yet (a `from = _Gdead` status may apply).
    fresh: bool,
    /// When it entered `state` (for the timeline).
    since: u64,
    /// The stack of its last `GoPark` (full level).
    park_stack: Option<u32>,
}

/// A goroutine alive at the end of the trace.
#[derive(Debug, Clone)]
pub struct LiveGoroutine {
    pub goid: u64,
    pub site: SiteKey,
    pub state: GoState,
    /// When it entered `state` (the trace start for a preexisting goroutine's first state).
    pub since: u64,
}

#[derive(Debug, Default)]
pub struct Goroutines {
    live: HashMap<u64, Goroutine>,
    exited_goids: Tombstones,
    /// tid → goid currently running (or in a syscall) on it.
    running_on: HashMap<u32, u64>,
    pub sites: HashMap<SiteKey, SiteCount>,
    pub latency: LatencyRecorder,
    /// `GoCreate` events (goroutines created during the trace).
    pub created: u64,
    pub exited: u64,
    pub preexisting: u64,
    /// Alive goroutines closed because a `GoCreate` reused their goid.
    pub closed_by_goid_reuse: u64,
    /// Start of the trace: a preexisting goroutine's first state holds since then.
    pub trace_start: u64,
    /// Forget exited goids this long after their exit (None: never).
    pub retain_exited_ns: Option<u64>,
}

impl Goroutines {
    pub fn apply(&mut self, event: &Event, anomalies: &mut Anomalies, out: &mut dyn Collector) {
        let (ts, tid) = (event.ts_ns, event.tid);
        self.exited_goids.window_ns = self.retain_exited_ns;
        self.exited_goids.expire(ts);
        match event.kind {
            EventKind::GoCreate {
                goid,
                creation_pc,
                parent_goid,
                start_pc,
                ..
            } => {
                self.create(ts, goid, creation_pc, anomalies, out);
                if out.enabled() && goid != 0 {
                    out.record(TimelineRecord::Instant(Instant {
                        ts_ns: ts,
                        tid,
                        kind: InstantKind::GoCreate {
                            goid,
                            parent_goid,
                            start: StackKey::Start(start_pc),
                            creation_pc,
                        },
                    }));
                }
            }
            EventKind::GoStatus { goid, from, to } => {
                self.status(event, goid, (GStatus(from), GStatus(to)), anomalies, out)
            }
            EventKind::GoStart { goid, .. } => {
                if let Some(g) = self.touch(goid, GoState::Runnable, anomalies) {
                    self.set_state(goid, g, GoState::Running, ts, tid, out);
                }
            }
            EventKind::GoPark {
                goid,
                wait_reason,
                stack_id,
            } => {
                if let Some(mut g) = self.touch(goid, GoState::Running, anomalies) {
                    g.park_stack = stack_id;
                    let reason = Some(wait_reason);
                    self.set_state(goid, g, GoState::Waiting { reason }, ts, tid, out);
                }
            }
            EventKind::GoReady { goid, .. } => {
                let waiting = GoState::Waiting { reason: None };
                if let Some(g) = self.touch(goid, waiting, anomalies) {
                    self.set_state(goid, g, GoState::Runnable, ts, tid, out);
                }
            }
            EventKind::GoYield { goid, .. } => {
                if let Some(g) = self.touch(goid, GoState::Running, anomalies) {
                    self.set_state(goid, g, GoState::Runnable, ts, tid, out);
                }
            }
            EventKind::SyscallEnter { goid, .. } => {
                if let Some(g) = self.touch(goid, GoState::Running, anomalies) {
                    self.set_state(goid, g, GoState::Syscall, ts, tid, out);
                }
            }
            EventKind::SyscallExit { goid, .. } => {
                // exitsyscall runs on the goroutine's thread; it may still wait for a P, but
                // it is no longer in the kernel.
                if let Some(g) = self.touch(goid, GoState::Syscall, anomalies) {
                    self.set_state(goid, g, GoState::Running, ts, tid, out);
                }
            }
            EventKind::GoPreemptPark { goid } => {
                if let Some(g) = self.touch(goid, GoState::Running, anomalies) {
                    self.set_state(goid, g, GoState::Preempted, ts, tid, out);
                }
            }
            EventKind::GoExit { goid, .. } => {
                if self.exited_goids.contains(goid) {
                    return; // already exited by a `_Gdead` status
                }
                if let Some(g) = self.touch(goid, GoState::Running, anomalies) {
                    self.put(goid, g);
                    self.exit(goid, ts, out);
                }
            }
            _ => {}
        }
    }

    /// Whether the stream said anything of `goid`: alive now, or exited (within the retention
    /// window).
    pub fn knows(&self, goid: u64) -> bool {
        self.live.contains_key(&goid) || self.exited_goids.contains(goid)
    }

    /// The live goroutine `goid`, if known.
    pub fn get(&self, goid: u64) -> Option<&Goroutine> {
        self.live.get(&goid)
    }

    /// The goroutine running on thread `tid`, if any.
    pub fn running_on(&self, tid: u32) -> Option<u64> {
        self.running_on.get(&tid).copied()
    }

    /// Goroutines alive now, by goid.
    pub fn live(&self) -> Vec<LiveGoroutine> {
        let mut live: Vec<_> = self
            .live
            .iter()
            .map(|(&goid, g)| LiveGoroutine {
                goid,
                site: g.site,
                state: g.state,
                since: g.since,
            })
            .collect();
        live.sort_by_key(|g| g.goid);
        live
    }

    fn create(
        &mut self,
        ts: u64,
        goid: u64,
        creation_pc: u64,
        anomalies: &mut Anomalies,
        out: &mut dyn Collector,
    ) {
        if goid == 0 {
            return;
        }
        if let Some(old) = self.live.remove(&goid) {
            // Go never reuses a goid: the old goroutine's exit was lost. Close it.
            anomalies.note(anomalies::GOID_REUSED);
            emit(goid, &old, ts, out);
            self.closed_by_goid_reuse += 1;
            self.forget_thread(goid, &old);
            self.count_site(old.site, |c| {
                c.created += u64::from(old.site != SiteKey::Preexisting)
            });
        } else if self.exited_goids.remove(goid) {
            anomalies.note(anomalies::GOID_REUSED);
        }
        self.created += 1;
        self.live.insert(
            goid,
            Goroutine {
                site: SiteKey::from_creation_pc(creation_pc),
                state: GoState::Runnable,
                runnable_since: Some(ts),
                thread: None,
                fresh: true,
                since: ts,
                park_stack: None,
            },
        );
    }

    fn status(
        &mut self,
        event: &Event,
        goid: u64,
        (from, to): (GStatus, GStatus),
        anomalies: &mut Anomalies,
        out: &mut dyn Collector,
    ) {
        let (ts, tid) = (event.ts_ns, event.tid);
        if goid == 0 {
            return;
        }
        let (from, to) = (from.state(), to.state());
        match from {
            Some(GState::Idle) => return,
            Some(GState::Dead | GState::DeadExtra) if to != Some(GState::Syscall) => {
                // Stale goid up to Go 1.23: only a goroutine just created can be meant.
                if let Some(g) = self.live.get(&goid).filter(|g| g.fresh).cloned() {
                    if let Some(state) = to.and_then(|to| status_state(to, g.state)) {
                        self.set_state(goid, g, state, ts, tid, out);
                    }
                }
                return;
            }
            Some(GState::Dead | GState::DeadExtra) => {
                // `needm`: an extra M's goroutine (stable goid) enters a cgo callback.
                self.exited_goids.remove(goid);
            }
            _ => {}
        }
        if self.exited_goids.contains(goid) && matches!(to, Some(GState::Dead)) {
            return; // the `_Grunning → _Gdead` that follows `GoExit`
        }
        let before = from
            .and_then(|from| status_state(from, GoState::Unknown))
            .unwrap_or(GoState::Unknown);
        let Some(g) = self.touch(goid, before, anomalies) else {
            return;
        };
        match to {
            Some(GState::Dead) if from == Some(GState::Syscall) => {
                self.set_state(goid, g, GoState::IdleExtraM, ts, tid, out)
            }
            Some(GState::Dead) => {
                // `g` is out of the map here, so `exit` finds nothing to count: kept as it was
                // (the report must not change); the timeline still gets its last state.
                emit(goid, &g, ts, out);
                self.exit(goid, ts, out)
            }
            Some(to) => match status_state(to, g.state) {
                Some(state) => self.set_state(goid, g, state, ts, tid, out),
                None => self.put(goid, g),
            },
            None => self.put(goid, g),
        }
    }

    /// The live goroutine `goid` (taken out of the map: callers put it back with `set_state`
    /// or `put`), creating it as preexisting in state `before` if unknown. `None` for goid 0
    /// and exited goids.
    fn touch(
        &mut self,
        goid: u64,
        before: GoState,
        anomalies: &mut Anomalies,
    ) -> Option<Goroutine> {
        if goid == 0 {
            return None;
        }
        if self.exited_goids.contains(goid) {
            anomalies.note(anomalies::EVENT_AFTER_GOROUTINE_EXIT);
            return None;
        }
        let mut g = self.live.remove(&goid).unwrap_or_else(|| {
            self.preexisting += 1;
            Goroutine {
                site: SiteKey::Preexisting,
                state: before,
                runnable_since: None,
                thread: None,
                fresh: false,
                since: self.trace_start,
                park_stack: None,
            }
        });
        g.fresh = false;
        Some(g)
    }

    fn put(&mut self, goid: u64, g: Goroutine) {
        self.live.insert(goid, g);
    }

    fn set_state(
        &mut self,
        goid: u64,
        mut g: Goroutine,
        state: GoState,
        ts: u64,
        tid: u32,
        out: &mut dyn Collector,
    ) {
        if g.state.name() != state.name() {
            emit(goid, &g, ts, out);
            g.since = ts;
        }
        match state {
            GoState::Runnable => {
                g.runnable_since.get_or_insert(ts);
            }
            GoState::Running => {
                if let Some(since) = g.runnable_since.take() {
                    self.latency.record(ts.saturating_sub(since));
                }
            }
            _ => g.runnable_since = None,
        }
        match state {
            GoState::Running | GoState::Syscall => {
                // Both transitions are made on the goroutine's own thread.
                if g.thread != Some(tid) {
                    self.forget_thread(goid, &g);
                    g.thread = Some(tid);
                    self.running_on.insert(tid, goid);
                }
            }
            _ => {
                self.forget_thread(goid, &g);
                g.thread = None;
            }
        }
        g.state = state;
        self.live.insert(goid, g);
    }

    fn forget_thread(&mut self, goid: u64, g: &Goroutine) {
        if let Some(tid) = g.thread {
            if self.running_on.get(&tid) == Some(&goid) {
                self.running_on.remove(&tid);
            }
        }
    }

    fn exit(&mut self, goid: u64, ts: u64, out: &mut dyn Collector) {
        let Some(g) = self.live.remove(&goid) else {
            return;
        };
        emit(goid, &g, ts, out);
        self.forget_thread(goid, &g);
        self.exited += 1;
        self.exited_goids.insert(goid, ts);
        let created = u64::from(g.site != SiteKey::Preexisting);
        self.count_site(g.site, |c| {
            c.created += created;
            c.exited += 1;
        });
    }

    fn count_site(&mut self, site: SiteKey, f: impl FnOnce(&mut SiteCount)) {
        f(self.sites.entry(site).or_default());
    }

    /// Emits the state each live goroutine is in, as if it ended at `end_ns` (by goid).
    pub fn emit_open(&self, end_ns: u64, out: &mut dyn Collector) {
        let mut goids: Vec<u64> = self.live.keys().copied().collect();
        goids.sort_unstable();
        for goid in goids {
            if let Some(g) = self.live.get(&goid) {
                emit(goid, g, end_ns, out);
            }
        }
    }

    /// Live goroutines and remembered exited goids (the per-goroutine entries held).
    pub fn retained(&self) -> usize {
        self.live.len() + self.exited_goids.count()
    }

    /// Per-site counters including the goroutines still alive (created and live_at_end).
    pub fn site_counts(&self) -> HashMap<SiteKey, SiteCount> {
        let mut sites = self.sites.clone();
        for g in self.live.values() {
            let c = sites.entry(g.site).or_default();
            c.created += u64::from(g.site != SiteKey::Preexisting);
            c.live_at_end += 1;
        }
        sites
    }
}

/// Emits `g`'s current state as a slice ending at `end_ns` (nothing for running).
fn emit(goid: u64, g: &Goroutine, end_ns: u64, out: &mut dyn Collector) {
    if !out.enabled() {
        return;
    }
    if let Some(state) = g.state.activity(g) {
        out.record(TimelineRecord::Goroutine(GoroutineSlice {
            goid,
            start_ns: g.since,
            end_ns: end_ns.max(g.since),
            state,
        }));
    }
}

/// The model state a `to` status means, given the current state (`_Gwaiting` keeps the wait
/// reason of the `GoPark` that preceded it). `None`: the status says nothing new (transient or
/// unknown values such as `_Gcopystack`).
fn status_state(to: GState, current: GoState) -> Option<GoState> {
    let keep_reason = match current {
        GoState::Waiting { reason } => reason,
        _ => None,
    };
    Some(match to {
        GState::Runnable => GoState::Runnable,
        GState::Running => GoState::Running,
        GState::Syscall => GoState::Syscall,
        GState::Waiting | GState::Leaked => GoState::Waiting {
            reason: keep_reason,
        },
        GState::Preempted => GoState::Preempted,
        GState::DeadExtra => GoState::IdleExtraM,
        GState::Idle
        | GState::Dead
        | GState::MoribundUnused
        | GState::EnqueueUnused
        | GState::Copystack => return None,
    })
}
