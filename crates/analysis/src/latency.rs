//! Scheduling-latency accumulation: an HDR histogram for percentiles plus exact count, max and
//! power-of-two buckets.
//!
//! Precision: the histogram keeps 3 significant digits, so values below 2048 ns are exact and
//! larger ones are resolved to buckets no wider than 1/1024 of the value; a percentile is the
//! highest value of its bucket (nearest-rank), capped at the exact maximum. The power-of-two
//! buckets are counted exactly, outside the HDR histogram, so their edges are exact.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::sched::coverage::Coverage;

/// Largest value the HDR histogram resolves (~2.4 hours); larger values are clamped for the
/// percentiles only (count, max and buckets stay exact).
const HIGHEST_NS: u64 = 1 << 43;
const SIGNIFICANT_DIGITS: u8 = 3;

#[derive(Debug)]
pub struct LatencyRecorder {
    hist: Histogram<u64>,
    /// `pow2[k]` counts values v with 2^(k-1) < v <= 2^k (k = 0 holds 0 and 1).
    pow2: [u64; 65],
    count: u64,
    max: u64,
}

/// The summary that goes in the report (all values in nanoseconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_ns: u64,
    pub p90_ns: u64,
    pub p99_ns: u64,
    pub max_ns: u64,
    /// Non-cumulative power-of-two buckets, from the first to the last non-empty one.
    pub histogram: Vec<Bucket>,
    /// `"captured": false, "why": ...` when the level records none of the transitions measured
    /// (the numbers above are then 0 and mean nothing); absent when captured.
    #[serde(flatten, skip_serializing_if = "Coverage::is_captured")]
    pub coverage: Coverage,
}

/// `count` values in `(le_ns / 2, le_ns]` (the first bucket, `le_ns = 1`, also holds 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub le_ns: u64,
    pub count: u64,
}

impl Default for LatencyRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyRecorder {
    pub fn new() -> Self {
        LatencyRecorder {
            // Bounds are constants that satisfy hdrhistogram's rules (1 <= low, 2*low <= high,
            // sigfig <= 5), so creation cannot fail.
            hist: Histogram::new_with_bounds(1, HIGHEST_NS, SIGNIFICANT_DIGITS)
                .expect("constant histogram bounds are valid"),
            pow2: [0; 65],
            count: 0,
            max: 0,
        }
    }

    pub fn record(&mut self, value_ns: u64) {
        self.hist.saturating_record(value_ns.min(HIGHEST_NS));
        if let Some(slot) = self.pow2.get_mut(pow2_index(value_ns)) {
            *slot += 1;
        }
        self.count += 1;
        self.max = self.max.max(value_ns);
    }

    pub fn summary(&self) -> LatencySummary {
        let quantile = |q: f64| {
            if self.count == 0 {
                0
            } else {
                self.hist.value_at_quantile(q).min(self.max)
            }
        };
        let first = self.pow2.iter().position(|&c| c > 0);
        let last = self.pow2.iter().rposition(|&c| c > 0);
        let histogram = match (first, last) {
            (Some(first), Some(last)) => (first..=last)
                .map(|k| Bucket {
                    le_ns: 1u64.checked_shl(k as u32).unwrap_or(u64::MAX),
                    count: self.pow2.get(k).copied().unwrap_or(0),
                })
                .collect(),
            _ => Vec::new(),
        };
        LatencySummary {
            count: self.count,
            p50_ns: quantile(0.50),
            p90_ns: quantile(0.90),
            p99_ns: quantile(0.99),
            max_ns: self.max,
            histogram,
            coverage: Coverage::yes(),
        }
    }
}

/// Smallest k with v <= 2^k (0 for 0 and 1; 64 for values above 2^63).
fn pow2_index(v: u64) -> usize {
    if v <= 1 {
        0
    } else {
        (64 - (v - 1).leading_zeros()) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pow2_edges_are_exact() {
        assert_eq!(pow2_index(0), 0);
        assert_eq!(pow2_index(1), 0);
        assert_eq!(pow2_index(2), 1);
        assert_eq!(pow2_index(3), 2);
        assert_eq!(pow2_index(4), 2);
        assert_eq!(pow2_index(5), 3);
        assert_eq!(pow2_index(1 << 40), 40);
        assert_eq!(pow2_index((1 << 40) + 1), 41);
        assert_eq!(pow2_index(u64::MAX), 64);
    }

    #[test]
    fn small_values_are_exact() {
        let mut r = LatencyRecorder::new();
        for v in 1..=100 {
            r.record(v);
        }
        let s = r.summary();
        // Nearest rank over 1..=100: p50 = 50, p90 = 90, p99 = 99.
        assert_eq!((s.p50_ns, s.p90_ns, s.p99_ns, s.max_ns), (50, 90, 99, 100));
        assert_eq!(s.count, 100);
        // Buckets 1,2,4,...,128: (64,128] holds 65..=100.
        assert_eq!(s.histogram.first(), Some(&Bucket { le_ns: 1, count: 1 }));
        assert_eq!(
            s.histogram.last(),
            Some(&Bucket {
                le_ns: 128,
                count: 36
            })
        );
        assert_eq!(s.histogram.iter().map(|b| b.count).sum::<u64>(), 100);
    }

    #[test]
    fn empty_is_all_zero() {
        let s = LatencyRecorder::new().summary();
        assert_eq!(s.count, 0);
        assert_eq!(s.p99_ns, 0);
        assert!(s.histogram.is_empty());
    }
}
