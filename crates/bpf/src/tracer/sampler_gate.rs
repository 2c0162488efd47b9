//! The sampler gate: keeps the default level's samples under a rate limit by detaching the
//! sample uprobe for a while when they come faster, as perf throttles a sampling event above
//! `kernel.perf_event_max_sample_rate`. A probe that fires and returns at once still costs its
//! trap (about 1 µs here, more than the BPF program behind it): only a detached probe is free.
//!
//! The rule: the probe stays attached for windows of at least [`OPEN_WINDOW`]; when a window's
//! rate r exceeds the limit L, the probe is detached for window × (r/L − 1), at most
//! [`MAX_PAUSE`], so that over a cycle the samples average L per second. Where that would need a
//! longer pause (r above L × MAX_PAUSE / window) the next windows are shorter instead, down to
//! [`MIN_WINDOW`]; a window that ran over its planned length (polled late) may be followed by a
//! pause as much longer, up to [`MAX_OVERRUN_PAUSE`]. The tracer records each
//! pause and resume (`SamplerGate` events) and the analysis scales what the samples count by the
//! share of time the probe was attached. That assumes the program behaves alike inside and
//! outside the windows; they recur at least every [`MAX_PAUSE`] plus a window, so changes slower
//! than that are followed.
//!
//! Pure logic, driven by the tracer's poll with the time and the samples it read.

use std::time::{Duration, Instant};

/// How long the probe stays attached before its rate is judged, unless the last pause found
/// the rate too high for that.
pub const OPEN_WINDOW: Duration = Duration::from_millis(20);
/// The shortest window: the ring buffer's poll counts in milliseconds, and right after an
/// attach the program can be a fraction of one behind (the attach ran on one of its CPUs).
pub const MIN_WINDOW: Duration = Duration::from_millis(2);
/// The longest pause: however fast the samples come, the probe comes back this often.
/// Short enough that a recording of a few seconds holds a dozen windows spread over it.
pub const MAX_PAUSE: Duration = Duration::from_millis(250);
/// The longest pause after a window that ran over its planned length.
pub const MAX_OVERRUN_PAUSE: Duration = Duration::from_secs(1);

/// What the tracer must do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateStep {
    /// Nothing.
    Stay,
    /// Detach the probe: it fired `rate_per_s` times a second over the last `window` attached.
    Pause { rate_per_s: u64, window: Duration },
    /// Attach it again (then call [`Gate::resumed`], or [`Gate::resume_failed`]).
    Resume,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Open { since: Instant, samples: u64 },
    Paused { until: Instant },
}

/// The gate of one sample probe.
#[derive(Debug, Clone)]
pub struct Gate {
    limit_per_s: u64,
    state: State,
    /// The length of the next window.
    window: Duration,
}

impl Gate {
    /// A gate for a probe attached at `now`, limited to `limit_per_s` samples a second (at
    /// least 1).
    pub fn new(limit_per_s: u64, now: Instant) -> Self {
        Gate {
            limit_per_s: limit_per_s.max(1),
            state: State::Open {
                since: now,
                samples: 0,
            },
            window: OPEN_WINDOW,
        }
    }

    /// `n` more samples were read. Samples read while paused (fired before the pause took
    /// effect) do not count towards the next window.
    pub fn count(&mut self, n: u64) {
        if let State::Open { samples, .. } = &mut self.state {
            *samples += n;
        }
    }

    /// When [`Gate::step`] has something to decide next.
    pub fn deadline(&self) -> Instant {
        match self.state {
            State::Open { since, .. } => since + self.window,
            State::Paused { until } => until,
        }
    }

    #[cfg(test)]
    fn is_paused(&self) -> bool {
        matches!(self.state, State::Paused { .. })
    }

    /// The decision at `now`.
    pub fn step(&mut self, now: Instant) -> GateStep {
        match self.state {
            State::Open { since, samples } => {
                let open = now.saturating_duration_since(since);
                if open < self.window {
                    return GateStep::Stay;
                }
                let rate = samples as f64 / open.as_secs_f64();
                let limit = self.limit_per_s as f64;
                if rate <= limit {
                    // Under the limit: a new window, judged on its own (a burst is not
                    // averaged away by a quiet past), twice as long up to OPEN_WINDOW (one slow
                    // window, e.g. right after an attach, does not undo the shrinking).
                    self.state = State::Open {
                        since: now,
                        samples: 0,
                    };
                    self.window = (self.window * 2).min(OPEN_WINDOW);
                    return GateStep::Stay;
                }
                // A window that ran over (this thread polled late: a busy machine) brought
                // more samples than planned: its pause may be as much longer, up to
                // MAX_OVERRUN_PAUSE, so that the average stays at the limit.
                let overrun = (open.as_secs_f64() / self.window.as_secs_f64()).max(1.0);
                let longest = MAX_PAUSE.mul_f64(overrun).min(MAX_OVERRUN_PAUSE);
                let pause = open.mul_f64(rate / limit - 1.0).min(longest);
                // The window that brings the next cycle to the limit within MAX_PAUSE.
                self.window = MAX_PAUSE
                    .mul_f64(limit / (rate - limit))
                    .clamp(MIN_WINDOW, OPEN_WINDOW);
                self.state = State::Paused { until: now + pause };
                GateStep::Pause {
                    rate_per_s: rate.round() as u64,
                    window: open,
                }
            }
            State::Paused { until } if now >= until => GateStep::Resume,
            State::Paused { .. } => GateStep::Stay,
        }
    }

    /// The probe is attached again at `now`: a new window starts.
    pub fn resumed(&mut self, now: Instant) {
        self.state = State::Open {
            since: now,
            samples: 0,
        };
    }

    /// Attaching it again failed: try again after the longest pause.
    pub fn resume_failed(&mut self, now: Instant) {
        self.state = State::Paused {
            until: now + MAX_PAUSE,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn under_the_limit_the_probe_stays_attached() {
        let t0 = Instant::now();
        let mut gate = Gate::new(1000, t0);
        for i in 1..=100u32 {
            gate.count(20); // 1000/s over each 20 ms window: at the limit, not above
            assert_eq!(gate.step(t0 + 20 * MS * i), GateStep::Stay);
        }
        assert!(!gate.is_paused());
    }

    #[test]
    fn a_window_is_judged_only_once_it_is_long_enough() {
        let t0 = Instant::now();
        let mut gate = Gate::new(10, t0);
        gate.count(1_000);
        assert_eq!(gate.step(t0 + 19 * MS), GateStep::Stay);
        assert!(matches!(gate.step(t0 + 20 * MS), GateStep::Pause { .. }));
    }

    #[test]
    fn above_the_limit_the_pause_brings_the_average_down_to_it() {
        let t0 = Instant::now();
        let mut gate = Gate::new(10_000, t0);
        // 40,000/s for 20 ms: 800 samples; paused 60 ms, so 800 samples per 80 ms = 10,000/s.
        gate.count(800);
        assert_eq!(
            gate.step(t0 + 20 * MS),
            GateStep::Pause {
                rate_per_s: 40_000,
                window: 20 * MS
            }
        );
        assert_eq!(gate.deadline(), t0 + 80 * MS);
        gate.count(5); // fired before the pause took effect: not counted
        assert_eq!(gate.step(t0 + 79 * MS), GateStep::Stay);
        assert_eq!(gate.step(t0 + 80 * MS), GateStep::Resume);
        gate.resumed(t0 + 81 * MS);
        assert_eq!(gate.deadline(), t0 + 101 * MS);
        gate.count(10);
        assert_eq!(gate.step(t0 + 101 * MS), GateStep::Stay, "500/s now");
    }

    #[test]
    fn a_pause_lasts_at_most_max_pause_and_then_the_windows_shrink() {
        let t0 = Instant::now();
        let mut gate = Gate::new(1_000, t0);
        // 201,000/s: 20 ms would need a 4 s pause to average 1,000/s.
        gate.count(4_020);
        assert!(matches!(gate.step(t0 + 20 * MS), GateStep::Pause { .. }));
        let resume = t0 + 20 * MS + MAX_PAUSE;
        assert_eq!(gate.deadline(), resume);
        assert_eq!(gate.step(resume), GateStep::Resume);
        gate.resumed(resume);
        // 250 ms × 1,000 / 200,000 = 1.25 ms, but at least MIN_WINDOW: 400 samples (200,000/s),
        // then a 250 ms pause.
        let window = MIN_WINDOW;
        assert_eq!(gate.deadline(), resume + window);
        gate.count(400);
        assert!(matches!(gate.step(resume + window), GateStep::Pause { .. }));
        assert_eq!(gate.deadline(), resume + window + MAX_PAUSE);
        // Under the limit the windows grow back to OPEN_WINDOW, doubling.
        let mut gate = Gate::new(1, t0);
        gate.count(1_000_000);
        gate.step(t0 + 20 * MS);
        let mut t = t0 + 2 * MAX_PAUSE;
        gate.resumed(t);
        for window in [2, 4, 8, 16, 20, 20] {
            assert_eq!(gate.deadline(), t + window * MS);
            t += window * MS;
            assert_eq!(gate.step(t), GateStep::Stay);
        }
    }

    #[test]
    fn a_window_that_ran_over_is_followed_by_a_longer_pause() {
        let t0 = Instant::now();
        let mut gate = Gate::new(1_000, t0);
        // Planned 20 ms, polled at 60 ms: 3x over, at 100,000/s: a pause of up to 3 × 250 ms.
        gate.count(6_000);
        assert!(matches!(gate.step(t0 + 60 * MS), GateStep::Pause { .. }));
        assert_eq!(gate.deadline(), t0 + 60 * MS + 3 * MAX_PAUSE);
        // Never beyond MAX_OVERRUN_PAUSE.
        let mut gate = Gate::new(1_000, t0);
        gate.count(100_000);
        assert!(matches!(gate.step(t0 + 200 * MS), GateStep::Pause { .. }));
        assert_eq!(gate.deadline(), t0 + 200 * MS + MAX_OVERRUN_PAUSE);
    }

    #[test]
    fn a_failed_resume_is_retried_later() {
        let t0 = Instant::now();
        let mut gate = Gate::new(1, t0);
        gate.count(100);
        gate.step(t0 + 20 * MS);
        let later = gate.deadline();
        assert_eq!(gate.step(later), GateStep::Resume);
        gate.resume_failed(later);
        assert!(gate.is_paused());
        assert_eq!(gate.step(later + MS), GateStep::Stay);
        assert_eq!(gate.step(later + MAX_PAUSE), GateStep::Resume);
    }
}
