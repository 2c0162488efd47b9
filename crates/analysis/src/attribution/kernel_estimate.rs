//! The `kernel` share of a wait where thread switches were not captured (the default level),
//! estimated from the kernel aggregates (`goroscope_events::KernelAggregates`, read about once
//! a second): each reading holds every thread's exact on-CPU time and run delay
//! (`sched_info.run_delay`: runnable but waiting in a run queue, which includes time its
//! cgroup was throttled), cumulative. Between two readings a thread's deltas give
//!
//!   ρ = Δrun_delay / (Δon_cpu + Δrun_delay)
//!
//! the share of the time it wanted a CPU that it spent waiting for one. A wait charged to the
//! thread that ran the goroutine next gets ρ of its time (outside stop-the-world pauses) as
//! `kernel`, ρ averaged over the readings' intervals the wait overlaps (before the first and
//! after the last reading, the nearest interval's). Where the kernel keeps no run delay (no
//! schedstats), the sum of the thread's wake-up→run waits measured in BPF stands in for it;
//! a thread with no CPU time nor delay in an interval (or not in the aggregates) takes the
//! ratio of all the process's threads.
//!
//! Why the thread's active time, not its whole life: while a goroutine waits for a P, the
//! thread that will run it is mostly running other goroutines or waiting for its CPU; its
//! asleep time (idle, blocked in a syscall) says nothing about the wait.
//!
//! Limits (an estimate, labelled so): ρ is an average over about a second; waits that cluster
//! where the thread was preempted or throttled (a wait that spans a throttled period) get less
//! than their true kernel time, and waits during which the thread slept with its P idle get
//! more. It cannot say where in the wait the kernel time fell, so the attribution takes it
//! from the causes below it (syscall, ps_busy, other) in proportion to their sizes.

use std::collections::HashMap;

use goroscope_events::KernelAggregates;

/// One thread's cumulative counters within the aggregation window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Active {
    on_cpu_ns: u64,
    delay_ns: u64,
}

impl Active {
    fn since(self, earlier: Active) -> Active {
        Active {
            on_cpu_ns: self.on_cpu_ns.saturating_sub(earlier.on_cpu_ns),
            delay_ns: self.delay_ns.saturating_sub(earlier.delay_ns),
        }
    }

    /// Δrun_delay / (Δon_cpu + Δrun_delay); None without either.
    fn ratio(self) -> Option<f64> {
        let wanted = self.on_cpu_ns + self.delay_ns;
        (wanted > 0).then(|| self.delay_ns as f64 / wanted as f64)
    }
}

#[derive(Debug, Clone, Default)]
struct Reading {
    ts_ns: u64,
    threads: HashMap<u32, Active>,
}

/// The readings, in time order.
#[derive(Debug, Clone, Default)]
pub struct RunDelayReadings {
    readings: Vec<Reading>,
    /// Whether any thread's delay came from the BPF wake-up→run waits (no schedstats).
    from_waits: bool,
}

impl RunDelayReadings {
    pub fn observe(&mut self, k: &KernelAggregates) {
        if self.readings.last().is_some_and(|r| k.ts_ns <= r.ts_ns) {
            return; // a repeat (or out of order): cumulative, so the later one supersedes
        }
        let mut threads = HashMap::with_capacity(k.threads.len());
        for t in &k.threads {
            let w = t.in_window();
            let delay_ns = w.run_delay_ns.unwrap_or_else(|| {
                self.from_waits = true;
                t.runnable_waits.sum_ns
            });
            threads.insert(
                t.tid,
                Active {
                    on_cpu_ns: w.on_cpu_ns,
                    delay_ns,
                },
            );
        }
        self.readings.push(Reading {
            ts_ns: k.ts_ns,
            threads,
        });
    }

    /// Two readings at least: one interval to take deltas over.
    pub fn usable(&self) -> bool {
        self.readings.len() >= 2
    }

    /// What the run delay was read from, for the exactness note.
    pub fn source(&self) -> &'static str {
        if self.from_waits {
            "the kernel aggregates' run delay (sched_info.run_delay, or the BPF wake-up→run \
             waits where the kernel keeps none)"
        } else {
            "the kernel aggregates' run delay (sched_info.run_delay)"
        }
    }

    /// ρ of `tid` over interval `i` (between readings `i - 1` and `i`, 1 ≤ i < len).
    fn ratio(&self, i: usize, tid: Option<u32>) -> f64 {
        let (before, after) = (&self.readings[i - 1], &self.readings[i]);
        let delta = |tid: &u32, cur: &Active| {
            cur.since(before.threads.get(tid).copied().unwrap_or_default())
        };
        tid.and_then(|t| after.threads.get(&t).map(|cur| delta(&t, cur)))
            .and_then(Active::ratio)
            .or_else(|| {
                let all = after
                    .threads
                    .iter()
                    .fold(Active::default(), |sum, (t, cur)| {
                        let d = delta(t, cur);
                        Active {
                            on_cpu_ns: sum.on_cpu_ns + d.on_cpu_ns,
                            delay_ns: sum.delay_ns + d.delay_ns,
                        }
                    });
                all.ratio()
            })
            .unwrap_or(0.0)
    }

    /// The estimated share (0–1) of `[start, end)` that `tid` (the thread that ran the
    /// goroutine next; None: unknown) spent runnable but not running: ρ averaged over the
    /// intervals the span overlaps. None with fewer than two readings.
    pub fn share(&self, tid: Option<u32>, start: u64, end: u64) -> Option<f64> {
        if !self.usable() {
            return None;
        }
        let last = self.readings.len() - 1;
        // Interval i covers [ts(i-1), ts(i)); the first reaches back to 0, the last on to the
        // end of time.
        let lo = |i: usize| {
            if i == 1 {
                0
            } else {
                self.readings[i - 1].ts_ns
            }
        };
        let hi = |i: usize| {
            if i == last {
                u64::MAX
            } else {
                self.readings[i].ts_ns
            }
        };
        let first = (1 + self.readings[1..last].partition_point(|r| r.ts_ns <= start)).min(last);
        if end <= start {
            return Some(self.ratio(first, tid));
        }
        let (mut weighted, mut covered) = (0.0, 0u64);
        for i in first..=last {
            let (a, b) = (start.max(lo(i)), end.min(hi(i)));
            if b > a {
                weighted += self.ratio(i, tid) * (b - a) as f64;
                covered += b - a;
            }
            if hi(i) >= end {
                break;
            }
        }
        Some(if covered > 0 {
            (weighted / covered as f64).clamp(0.0, 1.0)
        } else {
            0.0
        })
    }
}

/// Takes `kernel` ns out of `below` (syscall, ps_busy, other) in proportion to their sizes;
/// the last gets the rounding, so the result sums to `Σ below - kernel` exactly. `kernel` is
/// capped at `Σ below`.
pub fn carve(kernel: u64, below: [u64; 3]) -> (u64, [u64; 3]) {
    let total: u64 = below.iter().sum();
    let kernel = kernel.min(total);
    if total == 0 {
        return (0, below);
    }
    let remaining = u128::from(total - kernel);
    let scale = |x: u64| (u128::from(x) * remaining / u128::from(total)) as u64;
    let (a, b) = (scale(below[0]), scale(below[1]));
    (kernel, [a, b, (total - kernel) - a - b])
}

#[cfg(test)]
mod tests {
    use goroscope_events::{Log2Histogram, ThreadAggregate, ThreadCounters};

    use super::*;

    /// A reading at `ts` with `(tid, on_cpu, run_delay)` cumulative since the window began.
    fn reading(ts: u64, threads: &[(u32, u64, Option<u64>)]) -> KernelAggregates {
        KernelAggregates {
            ts_ns: ts,
            since_ns: 1_000,
            threads: threads
                .iter()
                .map(|&(tid, on, delay)| ThreadAggregate {
                    tid,
                    at_start: Some(ThreadCounters {
                        read_ns: 1_000,
                        run_delay_ns: delay.map(|_| 0),
                        ..Default::default()
                    }),
                    last: ThreadCounters {
                        read_ns: ts,
                        on_cpu_ns: on,
                        run_delay_ns: delay,
                        ..Default::default()
                    },
                    // Where the kernel keeps no run delay: the BPF waits' sum (here 2× on).
                    runnable_waits: Log2Histogram {
                        count: 1,
                        sum_ns: 2 * on,
                        buckets: vec![],
                    },
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn readings(rs: &[KernelAggregates]) -> RunDelayReadings {
        let mut r = RunDelayReadings::default();
        for k in rs {
            r.observe(k);
        }
        r
    }

    #[test]
    fn a_thread_throttled_three_quarters_of_its_active_time_gives_three_quarters() {
        // Thread 7 ran 250 and waited 750 per 1000 ns; thread 8 only ran.
        let r = readings(&[
            reading(1_000, &[(7, 0, Some(0)), (8, 0, Some(0))]),
            reading(2_000, &[(7, 250, Some(750)), (8, 1_000, Some(0))]),
        ]);
        assert_eq!(r.share(Some(7), 1_200, 1_800), Some(0.75));
        assert_eq!(r.share(Some(8), 1_200, 1_800), Some(0.0));
        // Before the first reading and after the last: the nearest interval's.
        assert_eq!(r.share(Some(7), 0, 500), Some(0.75));
        assert_eq!(r.share(Some(7), 5_000, 6_000), Some(0.75));
        // A zero-length wait: the ratio where it is.
        assert_eq!(r.share(Some(7), 1_500, 1_500), Some(0.75));
    }

    #[test]
    fn a_wait_across_intervals_weighs_each_by_its_overlap() {
        // Thread 7: ratio 0.5 in [1000, 2000), 0 in [2000, 3000) (ran only).
        let r = readings(&[
            reading(1_000, &[(7, 0, Some(0))]),
            reading(2_000, &[(7, 500, Some(500))]),
            reading(3_000, &[(7, 1_500, Some(500))]),
        ]);
        // 3/4 of it in the first interval: 0.75 × 0.5.
        assert_eq!(r.share(Some(7), 1_250, 2_250), Some(0.375));
        assert_eq!(r.share(Some(7), 2_100, 2_900), Some(0.0));
        assert_eq!(r.share(Some(7), 1_100, 1_900), Some(0.5));
    }

    #[test]
    fn an_unknown_or_idle_thread_takes_the_process_ratio() {
        // Thread 9 appears in the second reading only (born in the window): all of it counts.
        let r = readings(&[
            reading(1_000, &[(7, 0, Some(0)), (8, 0, Some(0))]),
            reading(
                2_000,
                &[(7, 0, Some(0)), (8, 600, Some(200)), (9, 100, Some(100))],
            ),
        ]);
        // Thread 7 neither ran nor waited: all threads, (200 + 100) / (700 + 300).
        assert_eq!(r.share(Some(7), 1_200, 1_800), Some(0.3));
        assert_eq!(r.share(Some(42), 1_200, 1_800), Some(0.3));
        assert_eq!(r.share(None, 1_200, 1_800), Some(0.3));
        assert_eq!(r.share(Some(9), 1_200, 1_800), Some(0.5));
    }

    #[test]
    fn without_schedstats_the_bpf_waits_stand_in_and_one_reading_is_not_enough() {
        let one = readings(&[reading(1_000, &[(7, 0, None)])]);
        assert!(!one.usable());
        assert_eq!(one.share(Some(7), 0, 10), None);
        // runnable_waits.sum = 2 × on: ratio 2/3.
        let r = readings(&[
            reading(1_000, &[(7, 0, None)]),
            reading(2_000, &[(7, 300, None)]),
        ]);
        assert!(r.source().contains("wake-up→run"));
        let s = r.share(Some(7), 1_000, 2_000).unwrap();
        assert!((s - 2.0 / 3.0).abs() < 1e-9, "{s}");
        // A repeated reading changes nothing.
        let mut again = r.clone();
        again.observe(&reading(2_000, &[(7, 900, None)]));
        assert_eq!(again.share(Some(7), 1_000, 2_000), Some(s));
    }

    #[test]
    fn carving_keeps_the_sum_and_the_proportions() {
        assert_eq!(carve(50, [0, 60, 40]), (50, [0, 30, 20]));
        // Rounding goes to the last: 100 - 33 = 67 over [10, 10, 80].
        let (k, rest) = carve(33, [10, 10, 80]);
        assert_eq!(k + rest.iter().sum::<u64>(), 100);
        assert_eq!(rest, [6, 6, 55]);
        // Capped at what there is; nothing to take from.
        assert_eq!(carve(500, [1, 2, 3]), (6, [0, 0, 0]));
        assert_eq!(carve(5, [0, 0, 0]), (0, [0, 0, 0]));
    }
}
