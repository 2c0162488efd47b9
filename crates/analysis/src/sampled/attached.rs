//! When the sample probe was attached: the tracer's sampler gate detaches it while samples come
//! faster than the recording's rate limit (`SamplerGate` events). Each pause follows a window
//! whose rate decided it; the samples of that window stand for the window and the pause after
//! it (a weight of (window + pause) / window each), every other sample for itself. Stratified by
//! pause, a quiet hour with the probe attached throughout and a busy minute of short windows
//! each count for what they were, which one scale factor for the whole recording would not.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

/// How long a sample is held for a pause that may weigh it: longer than any window the gate
/// judges (20 ms and a poll).
const HOLD_NS: u64 = 1_000_000_000;

/// The resolution of [`Weighing::estimate_over`] for the samples that stand for themselves.
const BUCKET_NS: u64 = 10_000_000;

/// A window and the pause after it: `samples` came in `[start, paused_at)` and stand for
/// `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stratum {
    start: u64,
    paused_at: u64,
    end: u64,
    samples: u64,
}

/// Gives each sample its weight, in time order: `sample`, `paused` and `resumed` return the
/// samples whose weight is now known.
#[derive(Debug, Clone)]
pub(crate) struct Weighing<T> {
    /// Samples of the last [`HOLD_NS`] with the probe attached, oldest first.
    held: VecDeque<(u64, T)>,
    /// During a pause: (its window's start, the pause's start), and that window's samples.
    pause: Option<(u64, u64)>,
    in_window: Vec<T>,
    /// What was weighed, by time: the samples that stand for themselves by [`BUCKET_NS`], and
    /// the windows before pauses.
    own_by_bucket: BTreeMap<u64, u64>,
    strata: Vec<Stratum>,
    /// The highest rate a pause measured.
    max_rate_per_s: u64,
}

impl<T> Default for Weighing<T> {
    fn default() -> Self {
        Weighing {
            held: VecDeque::new(),
            pause: None,
            in_window: Vec::new(),
            own_by_bucket: BTreeMap::new(),
            strata: Vec::new(),
            max_rate_per_s: 0,
        }
    }
}

impl<T: Copy> Weighing<T> {
    /// Nothing is waiting for its weight.
    pub(crate) fn is_empty(&self) -> bool {
        self.held.is_empty() && self.in_window.is_empty() && self.pause.is_none()
    }

    pub(crate) fn sample(&mut self, ts_ns: u64, sample: T) -> Vec<(T, f64)> {
        if self.pause.is_some() {
            // Fired as the pause took effect: it stands for itself.
            self.own(ts_ns);
            return vec![(sample, 1.0)];
        }
        self.held.push_back((ts_ns, sample));
        let mut out = Vec::new();
        while let Some(&(t, s)) = self.held.front() {
            if t.saturating_add(HOLD_NS) >= ts_ns {
                break;
            }
            self.held.pop_front();
            self.own(t);
            out.push((s, 1.0));
        }
        out
    }

    /// A sample at `ts_ns` stands for itself.
    fn own(&mut self, ts_ns: u64) {
        *self.own_by_bucket.entry(ts_ns / BUCKET_NS).or_default() += 1;
    }

    /// The sampler's time over `[start_ns, end_ns]`: the pauses (a pause still open ends at
    /// `end_ns`) clipped to it.
    pub(crate) fn time_over(&self, start_ns: u64, end_ns: u64) -> SamplerTime {
        let traced = end_ns.saturating_sub(start_ns);
        let open = self.pause.map(|(_, paused_at)| (paused_at, end_ns));
        let pauses: Vec<(u64, u64)> = self
            .strata
            .iter()
            .map(|s| (s.paused_at, s.end))
            .chain(open)
            .collect();
        let paused: u64 = pauses
            .iter()
            .map(|&(from, to)| to.min(end_ns).saturating_sub(from.max(start_ns)))
            .sum();
        let attached_ns = traced.saturating_sub(paused);
        SamplerTime {
            attached_share: if pauses.is_empty() || traced == 0 {
                1.0
            } else {
                attached_ns as f64 / traced as f64
            },
            attached_ns,
            traced_ns: traced,
            pauses: pauses.len() as u64,
            max_rate_per_s: self.max_rate_per_s,
            calibration: None,
        }
    }

    /// The samples' estimate of the sampled transitions in `[from, to)`: each window's
    /// samples spread over the window and its pause, the others where they fell (to
    /// [`BUCKET_NS`]). Call after [`Weighing::finish`].
    pub(crate) fn estimate_over(&self, from: u64, to: u64) -> f64 {
        let own: u64 = self
            .own_by_bucket
            .range(from / BUCKET_NS..to.div_ceil(BUCKET_NS))
            .map(|(_, k)| k)
            .sum();
        let windows: f64 = self
            .strata
            .iter()
            .map(|s| {
                let overlap = s.end.min(to).saturating_sub(s.start.max(from));
                let window = s.paused_at.saturating_sub(s.start).max(1);
                s.samples as f64 * overlap as f64 / window as f64
            })
            .sum();
        own as f64 + windows
    }

    /// The gate paused at `ts_ns` after a window of `window_ns` whose samples came at
    /// `rate_per_s`: the samples before the window stand for themselves; the window's wait for
    /// the pause's end.
    pub(crate) fn paused(&mut self, ts_ns: u64, window_ns: u64, rate_per_s: u64) -> Vec<(T, f64)> {
        if self.pause.is_some() {
            return Vec::new();
        }
        self.max_rate_per_s = self.max_rate_per_s.max(rate_per_s);
        let start = ts_ns.saturating_sub(window_ns);
        let mut out = Vec::new();
        while let Some(&(t, s)) = self.held.front() {
            if t >= start {
                break;
            }
            self.held.pop_front();
            self.own(t);
            out.push((s, 1.0));
        }
        self.in_window = self.held.drain(..).map(|(_, s)| s).collect();
        self.pause = Some((start, ts_ns));
        out
    }

    /// The probe is attached again at `ts_ns`.
    pub(crate) fn resumed(&mut self, ts_ns: u64) -> Vec<(T, f64)> {
        let Some((start, paused_at)) = self.pause.take() else {
            return Vec::new();
        };
        self.weigh_window(start, paused_at, ts_ns)
    }

    /// The window `[start, paused_at)` and the pause up to `end` make a stratum.
    fn weigh_window(&mut self, start: u64, paused_at: u64, end: u64) -> Vec<(T, f64)> {
        let w = weight(start, paused_at, end);
        self.strata.push(Stratum {
            start,
            paused_at,
            end,
            samples: self.in_window.len() as u64,
        });
        self.in_window.drain(..).map(|s| (s, w)).collect()
    }

    /// Everything still held, as if the stream ended at `end_ns` (a pause then ends there).
    pub(crate) fn finish(&mut self, end_ns: u64) -> Vec<(T, f64)> {
        let held: Vec<(u64, T)> = self.held.drain(..).collect();
        let mut out = Vec::with_capacity(held.len());
        for (t, s) in held {
            self.own(t);
            out.push((s, 1.0));
        }
        if let Some((start, paused_at)) = self.pause.take() {
            out.extend(self.weigh_window(start, paused_at, end_ns.max(paused_at)));
        }
        out
    }
}

/// What a sample of the window `[start, paused_at)` stands for when the probe came back at
/// `resumed_at`: the window and the pause, over the window.
fn weight(start: u64, paused_at: u64, resumed_at: u64) -> f64 {
    let window = paused_at.saturating_sub(start);
    if window == 0 {
        1.0
    } else {
        resumed_at.saturating_sub(start) as f64 / window as f64
    }
}

/// How much of the traced time the sample probe was attached (`sched_latency_sampled.sampler`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SamplerTime {
    /// `attached_ns / traced_ns`: exactly 1 when never paused.
    pub attached_share: f64,
    pub attached_ns: u64,
    pub traced_ns: u64,
    /// Times the gate detached the probe.
    pub pauses: u64,
    /// The fastest sampling the gate measured before a pause, per second.
    pub max_rate_per_s: u64,
    /// With pauses: the runtime's own count of its tracked transitions (read from memory) over
    /// the samples' weighted estimate of it, which every count is multiplied by (the probe
    /// slows the program while attached, so its windows see less than the pauses hold).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<f64>,
}

impl Default for SamplerTime {
    fn default() -> Self {
        SamplerTime {
            attached_share: 1.0,
            attached_ns: 0,
            traced_ns: 0,
            pauses: 0,
            max_rate_per_s: 0,
            calibration: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_before_a_pause_stands_for_the_pause_too() {
        let mut w = Weighing::default();
        let mut out = Vec::new();
        for t in [10u64, 20, 85, 95] {
            out.extend(w.sample(t, t));
        }
        assert!(out.is_empty(), "held for a pause that may come");
        // Paused at 100 after a window of 20 (80..100), resumed at 180: window + pause = 100.
        out.extend(w.paused(100, 20, 0));
        assert_eq!(out, vec![(10, 1.0), (20, 1.0)]);
        assert_eq!(
            w.sample(101, 101),
            vec![(101, 1.0)],
            "fired as the pause took effect"
        );
        assert_eq!(w.resumed(180), vec![(85, 5.0), (95, 5.0)]);
        assert!(w.is_empty());
        // A sample older than HOLD_NS is let go with its own weight.
        assert!(w.sample(200, 200).is_empty());
        assert_eq!(w.sample(200 + HOLD_NS + 1, 7), vec![(200, 1.0)]);
        // A pause still open at the end runs to the end.
        w.paused(200 + HOLD_NS + 10, 20, 0);
        assert_eq!(w.finish(200 + HOLD_NS + 50), vec![(7, 3.0)]);
    }

    #[test]
    fn the_estimate_over_a_span_spreads_each_window_over_its_pause() {
        let mut w = Weighing::default();
        let ms = 1_000_000u64;
        // 10 samples standing for themselves in 0..10 ms.
        for t in 0..10 {
            w.sample(t * ms, ());
        }
        // 20 samples in a window 100..110 ms, paused until 200 ms: 20 per 10 ms over 100 ms.
        for t in 0..20 {
            w.sample(100 * ms + t * ms / 2, ());
        }
        w.paused(110 * ms, 10 * ms, 0);
        w.resumed(200 * ms);
        w.finish(300 * ms);
        assert_eq!(w.estimate_over(0, 300 * ms), 10.0 + 200.0);
        // Half of the stratum, none of the own samples.
        assert_eq!(w.estimate_over(150 * ms, 300 * ms), 100.0);
        assert_eq!(w.estimate_over(0, 10 * ms), 10.0);
    }

    #[test]
    fn never_paused_is_attached_throughout() {
        let t = Weighing::<()>::default().time_over(100, 1_100);
        assert_eq!(t.attached_share, 1.0);
        assert_eq!(t.attached_ns, 1_000);
        assert_eq!(t.pauses, 0);
    }

    #[test]
    fn pauses_are_clipped_to_the_window_and_an_open_one_runs_to_its_end() {
        let mut p = Weighing::<()>::default();
        p.paused(50, 10, 40_000); // began before the window
        p.resumed(150);
        p.paused(300, 10, 20_000);
        p.paused(310, 10, 90_000); // a second pause while paused: ignored
        p.resumed(500);
        p.paused(900, 10, 30_000); // still paused at the end
        let t = p.time_over(100, 1_100);
        // paused 100..150, 300..500, 900..1100: 450 of 1000 ns.
        assert_eq!(t.attached_ns, 550);
        assert!((t.attached_share - 0.55).abs() < 1e-12);
        assert_eq!(t.pauses, 3);
        assert_eq!(t.max_rate_per_s, 40_000);
    }
}
