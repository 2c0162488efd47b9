//! The HTML report's overview timeline: a `timeline::Collector` that keeps what each P (the
//! goroutine it ran) and each thread (on CPU) did, in bounded memory and bounded output size
//! whatever the recording's length:
//! - every track keeps a fixed number of time bins ([`Limits::bins`]) of busy time; when a slice
//!   ends past the last bin, all bins double their width and merge pairwise (so the bins always
//!   cover the trace so far, however long it turns out to be);
//! - the exact slices are kept too while there are at most [`Limits::max_slices`] of them; past
//!   that they are all dropped and the page draws the bins instead, and says so;
//! - the page shows at most [`Limits::max_threads`] threads (the most on CPU) and
//!   [`Limits::max_ps`] Ps, and says how many it left out;
//! - stop-the-world pauses (begin to end) are kept, up to [`Limits::max_pauses`];
//! - what the recording's level did not capture is left out, not drawn from the timeline's
//!   defaults (without context switches a thread's slices only say it existed).

use std::collections::{BTreeMap, HashMap};

use goroscope_analysis::timeline::{
    Collector, InstantKind, ProcSlice, StackKey, ThreadEnd, ThreadSlice, TimelineRecord,
};
use goroscope_events::{Capability, Fact};
use serde::Serialize;

use crate::replay::LiveNames;

/// How much of the timeline the page may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time bins per track.
    pub bins: usize,
    /// Exact slices (P runs and thread on-CPU slices together) kept for zooming in.
    pub max_slices: usize,
    pub max_ps: usize,
    pub max_threads: usize,
    /// Stop-the-world pauses drawn.
    pub max_pauses: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            bins: 1000,
            max_slices: 40_000,
            max_ps: 256,
            max_threads: 128,
            max_pauses: 5_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum TrackId {
    P(i32),
    Thread(u32),
}

/// One kept slice: track, start and end (ns after the origin), goroutine (P slices) and whether
/// a thread's on-CPU slice ended by an involuntary switch.
#[derive(Debug, Clone, Copy)]
struct Slice {
    track: TrackId,
    start: u64,
    end: u64,
    goid: Option<u64>,
    involuntary: bool,
}

#[derive(Debug, Default)]
struct Track {
    /// Busy ns per bin (allocated on the track's first slice).
    bins: Vec<u64>,
    busy_ns: u64,
    slices: u64,
    /// Thread: the M it ran (last announced).
    m: Option<i64>,
}

/// Collects the overview while the recording replays; [`Overview::finish`] at the end.
pub struct Overview {
    names: LiveNames,
    limits: Limits,
    origin: Option<u64>,
    bin_ns: u64,
    tracks: BTreeMap<TrackId, Track>,
    /// Exact slices, None once there were more than `max_slices`.
    slices: Option<Vec<Slice>>,
    slices_seen: u64,
    /// goid → index in `functions` (start function), while exact slices are kept.
    goroutines: HashMap<u64, u32>,
    functions: Vec<String>,
    function_index: HashMap<u64, u32>,
    last_end: u64,
    /// Whether the recording captured goroutine runs (P rows) and context switches (thread
    /// rows): read from its header with the first record.
    captured: Option<(bool, bool)>,
    /// The pause begun and not yet ended: (begin ns after the origin, raw reason).
    open_pause: Option<(u64, Option<u8>)>,
    /// Complete pauses: (begin, end, index in `pause_reasons`); None past `max_pauses`.
    pauses: Option<Vec<(u64, u64, u32)>>,
    pauses_seen: u64,
    pause_reasons: Vec<String>,
}

impl Overview {
    pub fn new(names: LiveNames) -> Self {
        Self::with_limits(names, Limits::default())
    }

    pub fn with_limits(names: LiveNames, limits: Limits) -> Self {
        Overview {
            names,
            limits: Limits {
                bins: limits.bins.max(1),
                ..limits
            },
            origin: None,
            bin_ns: 1_000,
            tracks: BTreeMap::new(),
            slices: Some(Vec::new()),
            slices_seen: 0,
            goroutines: HashMap::new(),
            functions: Vec::new(),
            function_index: HashMap::new(),
            last_end: 0,
            captured: None,
            open_pause: None,
            pauses: Some(Vec::new()),
            pauses_seen: 0,
            pause_reasons: Vec::new(),
        }
    }

    /// A `StwBegin` (`Some(reason)`) or `StwEnd` (None) at `ts`: pairs make the pauses, as
    /// the report's stop-the-world section counts its complete ones (a begin while one is open
    /// means that one's end was lost; an end with none open, its begin).
    fn pause(&mut self, ts: u64, begin: Option<Option<u8>>) {
        let origin = self.origin(ts);
        let at = ts.saturating_sub(origin);
        match begin {
            Some(reason) => self.open_pause = Some((at, reason)),
            None => {
                let Some((start, reason)) = self.open_pause.take() else {
                    return;
                };
                self.pauses_seen += 1;
                self.last_end = self.last_end.max(at);
                let text = match reason {
                    Some(r) => self.names.borrow().stw_reason(r),
                    None => "reason not recorded".to_string(),
                };
                let index = match self.pause_reasons.iter().position(|r| *r == text) {
                    Some(i) => i,
                    None => {
                        self.pause_reasons.push(text);
                        self.pause_reasons.len() - 1
                    }
                } as u32;
                if let Some(kept) = &mut self.pauses {
                    if kept.len() < self.limits.max_pauses {
                        kept.push((start, at.max(start), index));
                    } else {
                        self.pauses = None;
                    }
                }
            }
        }
    }

    /// (P rows, thread rows) captured; unknown counts as captured (older recordings).
    fn captured(&mut self) -> (bool, bool) {
        *self.captured.get_or_insert_with(|| {
            let names = self.names.borrow();
            let Some(header) = names.header.as_ref() else {
                return (true, true);
            };
            let c = header.capabilities();
            (
                c.get(Fact::GoroutineScheduling) != Capability::Absent,
                c.get(Fact::ContextSwitches) != Capability::Absent,
            )
        })
    }

    fn origin(&mut self, first_ns: u64) -> u64 {
        if let Some(o) = self.origin {
            return o;
        }
        let o = self
            .names
            .borrow()
            .header
            .as_ref()
            .map(|h| h.clock.monotonic_ns)
            .filter(|&ns| ns > 0 && ns <= first_ns)
            .unwrap_or(first_ns);
        self.origin = Some(o);
        o
    }

    /// Doubles the bin width until `end` (ns after the origin) falls inside the bins.
    fn widen_to(&mut self, end: u64) {
        let n = self.limits.bins as u64;
        while end > self.bin_ns.saturating_mul(n) {
            self.bin_ns = self.bin_ns.saturating_mul(2);
            for track in self.tracks.values_mut() {
                let b = &mut track.bins;
                let half = b.len().div_ceil(2);
                for i in 0..half {
                    b[i] = b[2 * i] + b.get(2 * i + 1).copied().unwrap_or(0);
                }
                b[half..].fill(0);
            }
        }
    }

    fn add(&mut self, track: TrackId, start_abs: u64, end_abs: u64, goid: Option<u64>, inv: bool) {
        let origin = self.origin(start_abs);
        let start = start_abs.saturating_sub(origin);
        let end = end_abs.saturating_sub(origin).max(start);
        self.last_end = self.last_end.max(end);
        self.widen_to(end);
        let (bins, bin_ns) = (self.limits.bins, self.bin_ns);
        let t = self.tracks.entry(track).or_default();
        if t.bins.is_empty() {
            t.bins = vec![0; bins];
        }
        t.busy_ns += end - start;
        t.slices += 1;
        let mut at = start;
        while at < end {
            let i = ((at / bin_ns) as usize).min(bins - 1);
            let bin_end = (i as u64 + 1) * bin_ns;
            let upto = end.min(bin_end).max(at + 1);
            t.bins[i] += upto - at;
            at = upto;
        }
        self.slices_seen += 1;
        if let Some(kept) = &mut self.slices {
            if kept.len() < self.limits.max_slices {
                kept.push(Slice {
                    track,
                    start,
                    end,
                    goid,
                    involuntary: inv,
                });
            } else {
                // Too many to draw one by one: the bins only, from here on.
                self.slices = None;
                self.goroutines = HashMap::new();
            }
        }
    }

    fn proc_slice(&mut self, s: &ProcSlice) {
        // Idle P time is the gap between runs.
        if let (Some(goid), (true, _)) = (s.goid, self.captured()) {
            self.add(TrackId::P(s.p), s.start_ns, s.end_ns, Some(goid), false);
        }
    }

    fn thread_slice(&mut self, s: &ThreadSlice) {
        if !self.captured().1 {
            return;
        }
        if let Some(m) = s.m {
            self.tracks.entry(TrackId::Thread(s.tid)).or_default().m = Some(m);
        }
        if s.on_cpu {
            let inv = s.end == ThreadEnd::Involuntary;
            self.add(TrackId::Thread(s.tid), s.start_ns, s.end_ns, None, inv);
        }
    }

    fn created(&mut self, goid: u64, start: StackKey) {
        if self.slices.is_none() {
            return;
        }
        let StackKey::Start(pc) = start else { return };
        let index = match self.function_index.get(&pc) {
            Some(&i) => i,
            None => {
                let name = self.names.borrow().start_function(pc).function;
                let i = self.functions.len() as u32;
                self.functions.push(name);
                self.function_index.insert(pc, i);
                i
            }
        };
        self.goroutines.insert(goid, index);
    }

    /// The overview, with times relative to `start_ns` (the report's) and bins trimmed to the
    /// report's `duration_ns`.
    pub fn finish(self, start_ns: u64, duration_ns: u64) -> OverviewData {
        let origin = self.origin.unwrap_or(start_ns);
        // Shift from our origin to the report's (they are the same for a recording with a
        // header; a slice before the report's start is clamped to it).
        let shift = |t: u64| (t + origin).saturating_sub(start_ns);
        let span = duration_ns.max(
            self.last_end
                .saturating_add(origin)
                .saturating_sub(start_ns),
        );
        let used_bins = (span.div_ceil(self.bin_ns) as usize).clamp(1, self.limits.bins);
        let permille = |busy: u64| ((busy * 1000 + self.bin_ns / 2) / self.bin_ns).min(1000);

        let mut ps: Vec<(&TrackId, &Track)> = self
            .tracks
            .iter()
            .filter(|(id, t)| matches!(id, TrackId::P(_)) && t.slices > 0)
            .collect();
        let mut threads: Vec<(&TrackId, &Track)> = self
            .tracks
            .iter()
            .filter(|(id, t)| matches!(id, TrackId::Thread(_)) && t.slices > 0)
            .collect();
        let ps_total = ps.len();
        let threads_total = threads.len();
        ps.truncate(self.limits.max_ps);
        // The threads most on CPU, shown in tid order.
        threads.sort_by_key(|(id, t)| (std::cmp::Reverse(t.busy_ns), **id));
        threads.truncate(self.limits.max_threads);
        threads.sort_by_key(|(id, _)| **id);

        let mut index = HashMap::new();
        let mut tracks = Vec::new();
        for (id, t) in ps.iter().chain(threads.iter()) {
            index.insert(**id, tracks.len());
            let (kind, label) = match id {
                TrackId::P(p) => ("p", format!("P{p}")),
                TrackId::Thread(tid) => (
                    "thread",
                    match t.m {
                        Some(m) => format!("tid {tid} (M{m})"),
                        None => format!("tid {tid}"),
                    },
                ),
            };
            tracks.push(TrackData {
                kind,
                id: match id {
                    TrackId::P(p) => i64::from(*p),
                    TrackId::Thread(tid) => i64::from(*tid),
                },
                label,
                busy_ns: t.busy_ns,
                slices: t.slices,
                bins: t.bins[..used_bins.min(t.bins.len())]
                    .iter()
                    .map(|&b| permille(b) as u16)
                    .collect(),
            });
        }

        let mut functions: Vec<String> = Vec::new();
        let mut function_of: HashMap<u32, u32> = HashMap::new();
        let mut goroutines = BTreeMap::new();
        let slices = self.slices.as_ref().map(|kept| {
            kept.iter()
                .filter_map(|s| {
                    let track = *index.get(&s.track)?;
                    let g = s.goid.map(|goid| {
                        if let Some(&f) = self.goroutines.get(&goid) {
                            let f = *function_of.entry(f).or_insert_with(|| {
                                functions.push(self.functions[f as usize].clone());
                                functions.len() as u32 - 1
                            });
                            goroutines.insert(goid, f);
                        }
                        goid as i64
                    });
                    Some([
                        track as i64,
                        shift(s.start) as i64,
                        (s.end - s.start) as i64,
                        g.unwrap_or(-1),
                        i64::from(s.involuntary),
                    ])
                })
                .collect()
        });
        let pauses = self.pauses.as_ref().map(|kept| {
            kept.iter()
                .map(|&(start, end, reason)| {
                    [shift(start) as i64, (end - start) as i64, i64::from(reason)]
                })
                .collect()
        });
        OverviewData {
            duration_ns: span,
            pauses_seen: self.pauses_seen,
            max_pauses: self.limits.max_pauses,
            pauses,
            pause_reasons: self.pause_reasons,
            bin_ns: self.bin_ns,
            bins: used_bins,
            tracks,
            ps_omitted: ps_total.saturating_sub(self.limits.max_ps),
            threads_omitted: threads_total.saturating_sub(self.limits.max_threads),
            slices_seen: self.slices_seen,
            max_slices: self.limits.max_slices,
            slices,
            functions,
            goroutines,
        }
    }
}

impl Collector for Overview {
    fn record(&mut self, record: TimelineRecord) {
        match record {
            TimelineRecord::Proc(s) => self.proc_slice(&s),
            TimelineRecord::Thread(s) => self.thread_slice(&s),
            TimelineRecord::Instant(i) => match i.kind {
                InstantKind::GoCreate { goid, start, .. } => self.created(goid, start),
                InstantKind::StwBegin { reason } => self.pause(i.ts_ns, Some(reason)),
                InstantKind::StwEnd => self.pause(i.ts_ns, None),
                _ => {}
            },
            _ => {}
        }
    }
}

/// What the page's timeline script draws (embedded as JSON; times in ns after the report's
/// `start_ns`).
#[derive(Debug, Clone, Serialize)]
pub struct OverviewData {
    pub duration_ns: u64,
    /// Width of one bin.
    pub bin_ns: u64,
    pub bins: usize,
    pub tracks: Vec<TrackData>,
    pub ps_omitted: usize,
    pub threads_omitted: usize,
    /// P runs and thread on-CPU slices in the recording.
    pub slices_seen: u64,
    pub max_slices: usize,
    /// `[track index, start, duration, goid or -1, ended by an involuntary switch 0/1]`; None
    /// when there were more than `max_slices` (the page draws the bins).
    pub slices: Option<Vec<[i64; 5]>>,
    /// Start functions of the goroutines named in `goroutines`.
    pub functions: Vec<String>,
    /// goid → index in `functions`.
    pub goroutines: BTreeMap<u64, u32>,
    /// Stop-the-world pauses with both ends seen.
    pub pauses_seen: u64,
    pub max_pauses: usize,
    /// `[start, duration, index in pause_reasons]`; None when there were more than
    /// `max_pauses`.
    pub pauses: Option<Vec<[i64; 3]>>,
    pub pause_reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrackData {
    /// "p" or "thread".
    pub kind: &'static str,
    pub id: i64,
    pub label: String,
    pub busy_ns: u64,
    pub slices: u64,
    /// Busy time per bin, in thousandths of the bin.
    pub bins: Vec<u16>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use goroscope_analysis::timeline::ProcSlice;

    fn p(p: i32, start: u64, end: u64, goid: u64) -> TimelineRecord {
        TimelineRecord::Proc(ProcSlice {
            p,
            start_ns: start,
            end_ns: end,
            goid: Some(goid),
        })
    }

    #[test]
    fn bins_widen_and_keep_the_busy_time() {
        let limits = Limits {
            bins: 10,
            max_slices: 1000,
            ..Limits::default()
        };
        let mut o = Overview::with_limits(LiveNames::default(), limits);
        o.record(p(0, 100, 600, 1));
        o.record(p(0, 5_000, 1_005_000, 2));
        o.record(p(1, 2_000_000, 3_000_000, 3));
        let d = o.finish(100, 3_000_000);
        let (p0, p1) = (&d.tracks[0], &d.tracks[1]);
        assert_eq!(p0.busy_ns, 500 + 1_000_000);
        assert_eq!(p1.busy_ns, 1_000_000);
        // 10 bins covering 3 ms: the width doubled from 1 µs up to 512 µs.
        assert_eq!(d.bin_ns, 512_000);
        assert_eq!(d.bins, 6);
        let total =
            |t: &TrackData| t.bins.iter().map(|&b| u64::from(b)).sum::<u64>() * d.bin_ns / 1000;
        // Rounded to thousandths of a bin per bin.
        assert!(
            total(p0).abs_diff(p0.busy_ns) <= d.bin_ns * d.bins as u64 / 1000,
            "{d:?}"
        );
        assert_eq!(d.slices.as_ref().unwrap().len(), 3);
    }

    #[test]
    fn too_many_slices_fall_back_to_bins() {
        let limits = Limits {
            bins: 100,
            max_slices: 50,
            ..Limits::default()
        };
        let mut o = Overview::with_limits(LiveNames::default(), limits);
        for i in 0..1000u64 {
            o.record(p((i % 4) as i32, i * 1000, i * 1000 + 500, i));
        }
        let d = o.finish(0, 1_000_000);
        assert!(d.slices.is_none());
        assert_eq!(d.slices_seen, 1000);
        assert_eq!(d.tracks.len(), 4);
        assert!(d.tracks.iter().all(|t| t.busy_ns == 250 * 500));
        let json = serde_json::to_string(&d).unwrap();
        assert!(json.len() < 100 * 4 * 6 + 1000, "{}", json.len());
    }
}
