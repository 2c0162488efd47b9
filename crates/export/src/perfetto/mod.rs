//! The Perfetto trace of a recording (`goroscope export perfetto`): a `timeline::Collector`
//! that writes each timeline record as `TracePacket`s as it arrives, so memory stays bounded
//! (per goroutine: its name and the flows waiting for its next run) on recordings of millions
//! of events. Tracks (tracks.rs): a track per P (the goroutine it ran, named by its start
//! function and creation site), per thread (on/off CPU, involuntary switches, SIGURG; its
//! kernel syscalls by name on a child track), per goroutine (running / runnable / waiting with
//! the wait reason / syscall, preemption requests and async preemptions), flows from the
//! goroutine that readied or created another to that goroutine's next run, counters (idle Ps,
//! spinning Ms, global run queue, GOMAXPROCS) and process-wide instants (stop-the-world, GC,
//! with steals and hand-offs on the Ps). Only what the recording's level captured is in the
//! timeline, so only that is in the trace. Timestamps are the recording's CLOCK_MONOTONIC ns.

mod packets;
mod tracks;

use std::collections::HashMap;
use std::io::Write;
use std::rc::Rc;

use goroscope_analysis::timeline::{
    Collector, Counter, Flow, FlowKind, GoActivity, GoroutineSlice, HandoffCause, Instant,
    InstantKind, KernelSyscall, ProcSlice, StackKey, StopReason, ThreadEnd, ThreadSlice,
    TimelineRecord,
};
use goroscope_events::syscall_name;

use crate::proto::perfetto::track_event::Type;
use crate::replay::LiveNames;
use packets::{Packets, Value};
pub use tracks::Track;

/// Streams the timeline to `W` as a Perfetto trace; [`PerfettoWriter::finish`] at the end.
pub struct PerfettoWriter<W: Write> {
    out: Packets<W>,
    tracks: Tracks,
    names: LiveNames,
    /// goid → its name ("G12 main.worker"), from its creation.
    goroutines: HashMap<u64, GoName>,
    /// Start function / creation site text by pc, shared by the goroutines' names.
    functions: HashMap<u64, Rc<str>>,
    sites: HashMap<u64, Rc<str>>,
    /// goid → flows that end at its next run: (start of that run, flow id).
    pending_flows: HashMap<u64, Vec<(u64, u64)>>,
    next_flow: u64,
    started: bool,
}

use tracks::Tracks;

/// Shared by every goroutine of one start function and creation site (a million goroutines
/// of one `go` statement hold two pointers each, not two strings).
struct GoName {
    function: Rc<str>,
    site: Rc<str>,
}

impl<W: Write> PerfettoWriter<W> {
    pub fn new(out: W, names: LiveNames) -> Self {
        PerfettoWriter {
            out: Packets::new(out),
            tracks: Tracks::default(),
            names,
            goroutines: HashMap::new(),
            functions: HashMap::new(),
            sites: HashMap::new(),
            pending_flows: HashMap::new(),
            next_flow: 1,
            started: false,
        }
    }

    /// The first packet names the process "goroscope: <program>" (how `-o` recognises a trace
    /// goroscope wrote).
    fn start(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        let (pid, program) = match &self.names.borrow().header {
            Some(h) => (
                h.target.pid as i32,
                std::path::Path::new(&h.target.path)
                    .file_name()
                    .map_or_else(
                        || h.target.path.clone(),
                        |n| n.to_string_lossy().into_owned(),
                    ),
            ),
            None => (0, String::new()),
        };
        self.tracks.pid = pid;
        self.tracks.declare(&mut self.out, Track::Process, || {
            format!("goroscope: {program}")
        });
    }

    /// Packets written so far.
    pub fn packets(&self) -> u64 {
        self.out.packets
    }

    /// Writes what every trace has even when empty, and returns the writer (or the first
    /// write error).
    pub fn finish(mut self) -> std::io::Result<W> {
        self.start();
        self.out.finish()
    }

    fn goroutine_label(&self, goid: u64) -> String {
        match self.goroutines.get(&goid) {
            Some(g) => format!("G{goid} {}", g.function),
            None => format!("G{goid}"),
        }
    }

    fn declare(&mut self, track: Track) -> u64 {
        let label = match track {
            Track::Goroutine(goid) => self.goroutine_label(goid),
            Track::Proc(p) => format!("P{p}"),
            Track::Thread(tid) => format!("thread {tid}"),
            Track::Syscalls(_) => "syscalls".to_string(),
            Track::Counter(kind) => kind.name().to_string(),
            Track::Scheduler => "scheduler".to_string(),
            Track::Process => String::new(),
        };
        self.tracks.declare(&mut self.out, track, || label);
        track.uuid()
    }

    fn slice(
        &mut self,
        track: Track,
        (start, end): (u64, u64),
        name: (&str, bool),
        annotations: &[(&'static str, Value<'_>)],
        terminating: Vec<u64>,
    ) {
        let uuid = self.declare(track);
        self.out.event(
            start,
            uuid,
            Type::SliceBegin,
            Some(name),
            annotations,
            vec![],
            terminating,
        );
        self.out
            .event(end, uuid, Type::SliceEnd, None, &[], vec![], vec![]);
    }

    fn instant(
        &mut self,
        track: Track,
        ts: u64,
        name: &str,
        annotations: &[(&'static str, Value<'_>)],
        flow_ids: Vec<u64>,
    ) {
        let uuid = self.declare(track);
        self.out.event(
            ts,
            uuid,
            Type::Instant,
            Some((name, true)),
            annotations,
            flow_ids,
            vec![],
        );
    }

    fn goroutine(&mut self, g: GoroutineSlice) {
        let track = Track::Goroutine(g.goid);
        let span = (g.start_ns, g.end_ns);
        match g.state {
            GoActivity::Running {
                p,
                tid,
                m,
                stop,
                resumed,
            } => {
                // Flows whose target run this is.
                let mut ending = Vec::new();
                if let Some(flows) = self.pending_flows.get_mut(&g.goid) {
                    // Flows to an earlier run lost their target (it was not seen): dropped.
                    flows.retain(|&(to_ns, id)| {
                        if to_ns == g.start_ns {
                            ending.push(id);
                        }
                        to_ns > g.start_ns
                    });
                    if flows.is_empty() {
                        self.pending_flows.remove(&g.goid);
                    }
                }
                let mut a = vec![
                    ("tid", Value::Uint(u64::from(tid))),
                    ("stop", Value::Str(stop_text(stop))),
                ];
                if let Some(p) = p {
                    a.push(("p", Value::Int(i64::from(p))));
                }
                if let Some(m) = m {
                    a.push(("m", Value::Int(m)));
                }
                if resumed {
                    a.push(("resumed_after_syscall", Value::Bool(true)));
                }
                self.slice(track, span, ("running", true), &a, ending);
            }
            GoActivity::Runnable => self.slice(track, span, ("runnable", true), &[], vec![]),
            GoActivity::Waiting { reason, .. } => {
                let name = match reason {
                    Some(r) => format!("waiting: {}", self.names.borrow().wait_reason(r)),
                    None => "waiting".to_string(),
                };
                self.slice(track, span, (&name, true), &[], vec![]);
            }
            GoActivity::Syscall { tid } => {
                let a: Vec<_> = tid
                    .map(|t| ("tid", Value::Uint(u64::from(t))))
                    .into_iter()
                    .collect();
                self.slice(track, span, ("syscall", true), &a, vec![]);
            }
            GoActivity::Preempted => self.slice(track, span, ("preempted", true), &[], vec![]),
            GoActivity::IdleExtraM => self.slice(track, span, ("idle extra M", true), &[], vec![]),
            GoActivity::Unknown => self.slice(track, span, ("unknown", true), &[], vec![]),
        }
    }

    fn proc(&mut self, p: ProcSlice) {
        // An idle P is an empty stretch of its track.
        let Some(goid) = p.goid else { return };
        let (label, site) = match self.goroutines.get(&goid) {
            Some(g) => (format!("G{goid} {}", g.function), Rc::clone(&g.site)),
            None => (format!("G{goid}"), Rc::from("")),
        };
        let mut a = vec![("goid", Value::Uint(goid))];
        if !site.is_empty() {
            a.push(("created_at", Value::Str(&site)));
        }
        self.slice(
            Track::Proc(p.p),
            (p.start_ns, p.end_ns),
            (&label, false),
            &a,
            vec![],
        );
    }

    fn thread(&mut self, t: ThreadSlice) {
        let track = Track::Thread(t.tid);
        let label = match t.m {
            Some(m) => format!("M{m} (thread {})", t.tid),
            None => format!("thread {}", t.tid),
        };
        self.tracks.declare(&mut self.out, track, || label);
        let name = if t.on_cpu { "on CPU" } else { "off CPU" };
        let mut a = vec![("ended", Value::Str(thread_end_text(t.end)))];
        if let Some(m) = t.m {
            a.push(("m", Value::Int(m)));
        }
        self.slice(track, (t.start_ns, t.end_ns), (name, true), &a, vec![]);
        if t.on_cpu && t.end == ThreadEnd::Involuntary {
            self.instant(track, t.end_ns, "involuntary switch", &[], vec![]);
        }
    }

    fn syscall(&mut self, s: KernelSyscall) {
        self.declare(Track::Thread(s.tid));
        let name = syscall_name(s.nr);
        let mut a = vec![("ret", Value::Int(s.ret))];
        if let Some(goid) = s.goid {
            a.push(("goid", Value::Uint(goid)));
        }
        self.slice(
            Track::Syscalls(s.tid),
            (s.start_ns, s.end_ns),
            (&name, true),
            &a,
            vec![],
        );
    }

    fn flow(&mut self, f: Flow) {
        let id = self.next_flow;
        self.next_flow += 1;
        let (verb, source) = match f.kind {
            FlowKind::Ready => ("ready", f.from_goid),
            FlowKind::Create => ("create", f.from_goid),
        };
        let track = if source == 0 {
            Track::Thread(f.from_tid)
        } else {
            Track::Goroutine(source)
        };
        let name = format!("{verb} G{}", f.to_goid);
        let uuid = self.declare(track);
        self.out.event(
            f.from_ns,
            uuid,
            Type::Instant,
            Some((&name, false)),
            &[],
            vec![id],
            vec![],
        );
        self.pending_flows
            .entry(f.to_goid)
            .or_default()
            .push((f.to_ns, id));
    }

    fn instant_record(&mut self, i: Instant) {
        let ts = i.ts_ns;
        match i.kind {
            InstantKind::GoCreate {
                goid,
                start,
                creation_pc,
                ..
            } => {
                let names = self.names.borrow();
                let function = match start {
                    StackKey::Start(pc) => Rc::clone(
                        self.functions
                            .entry(pc)
                            .or_insert_with(|| names.start_function(pc).function.into()),
                    ),
                    StackKey::Captured(_) => Rc::from(""),
                };
                let site = Rc::clone(self.sites.entry(creation_pc).or_insert_with(|| {
                    let site = names.creation_site(creation_pc);
                    if site.file.is_empty() {
                        site.function.into()
                    } else {
                        format!("{} ({}:{})", site.function, site.file, site.line).into()
                    }
                }));
                drop(names);
                self.goroutines.insert(goid, GoName { function, site });
            }
            InstantKind::PreemptRequest { goid, p, by_sysmon } => {
                let name = if by_sysmon {
                    "preempt request (sysmon)"
                } else {
                    "preempt request (GC / stop-the-world)"
                };
                self.instant(
                    Track::Goroutine(goid),
                    ts,
                    name,
                    &[("p", Value::Int(i64::from(p)))],
                    vec![],
                );
            }
            InstantKind::SigurgSent { target_tid, queued } => self.instant(
                Track::Thread(i.tid),
                ts,
                "SIGURG sent",
                &[
                    ("target_tid", Value::Uint(u64::from(target_tid))),
                    ("queued", Value::Bool(queued)),
                ],
                vec![],
            ),
            InstantKind::SigurgDelivered => {
                self.instant(Track::Thread(i.tid), ts, "SIGURG delivered", &[], vec![])
            }
            InstantKind::AsyncPreempt { goid, .. } => {
                self.instant(Track::Goroutine(goid), ts, "async preemption", &[], vec![])
            }
            InstantKind::Steal {
                thief_p,
                victim_p,
                taken,
            } => self.instant(
                Track::Proc(thief_p),
                ts,
                "steal",
                &[
                    ("from_p", Value::Int(i64::from(victim_p))),
                    ("taken", Value::Uint(u64::from(taken))),
                ],
                vec![],
            ),
            InstantKind::Handoff { p, cause } => self.instant(
                Track::Proc(p),
                ts,
                "hand-off",
                &[("cause", Value::Str(handoff_text(cause)))],
                vec![],
            ),
            InstantKind::StwBegin { reason } => {
                let reason = reason.map(|r| self.names.borrow().stw_reason(r));
                let a: Vec<_> = reason
                    .as_deref()
                    .map(|r| ("reason", Value::Str(r)))
                    .into_iter()
                    .collect();
                self.instant(Track::Scheduler, ts, "stop-the-world begins", &a, vec![]);
            }
            InstantKind::StwStopped => self.instant(
                Track::Scheduler,
                ts,
                "stop-the-world: every P stopped",
                &[],
                vec![],
            ),
            InstantKind::StwEnd => {
                self.instant(Track::Scheduler, ts, "stop-the-world ends", &[], vec![])
            }
            InstantKind::GcStart { trigger_kind } => self.instant(
                Track::Scheduler,
                ts,
                "GC start",
                &[("trigger_kind", Value::Uint(u64::from(trigger_kind)))],
                vec![],
            ),
        }
    }

    fn counter(&mut self, c: Counter) {
        let uuid = self.declare(Track::Counter(c.kind));
        self.out.counter(c.ts_ns, uuid, c.value);
    }
}

impl<W: Write> Collector for PerfettoWriter<W> {
    fn record(&mut self, record: TimelineRecord) {
        self.start();
        match record {
            TimelineRecord::Goroutine(g) => self.goroutine(g),
            TimelineRecord::Proc(p) => self.proc(p),
            TimelineRecord::Thread(t) => self.thread(t),
            TimelineRecord::Flow(f) => self.flow(f),
            TimelineRecord::Instant(i) => self.instant_record(i),
            TimelineRecord::Counter(c) => self.counter(c),
            TimelineRecord::KernelSyscall(s) => self.syscall(s),
            // Waits are the goroutines' runnable slices; stacks and sites are named live.
            TimelineRecord::SchedWait(_)
            | TimelineRecord::Stack(_)
            | TimelineRecord::CreationSite(_) => {}
        }
    }
}

fn stop_text(stop: StopReason) -> &'static str {
    match stop {
        StopReason::Park => "park",
        StopReason::Yield {
            preempted: Some(true),
        } => "preempted",
        StopReason::Yield {
            preempted: Some(false),
        } => "Gosched",
        StopReason::Yield { preempted: None } => "yield",
        StopReason::Syscall => "syscall",
        StopReason::PreemptPark => "preempt-park",
        StopReason::Exit => "exit",
        StopReason::Replaced => "replaced",
        StopReason::TraceEnd => "trace end",
    }
}

fn thread_end_text(end: ThreadEnd) -> &'static str {
    match end {
        ThreadEnd::Involuntary => "involuntary switch",
        ThreadEnd::Voluntary => "voluntary switch",
        ThreadEnd::SwitchedIn => "switched in",
        ThreadEnd::Exited => "exited",
        ThreadEnd::TraceEnd => "trace end",
    }
}

fn handoff_text(cause: HandoffCause) -> &'static str {
    match cause {
        HandoffCause::GcStw => "GC / stop-the-world",
        HandoffCause::EnterSyscallBlock => "blocking syscall",
        HandoffCause::StopLockedM => "locked M with no work",
        HandoffCause::SysmonRetake => "sysmon retake",
    }
}
