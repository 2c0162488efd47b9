//! The Go runtime's `timeHistogram` (runtime/histogram.go) as `runtime/metrics` exposes it: its
//! bucket layout per Go version ([`TimeHistScheme`]) with the bucket boundaries computed exactly
//! as `timeHistogramMetricsBuckets` computes them, and [`MetricHistogram`], the counts in
//! `runtime/metrics` order (underflow first; from Go 1.20 overflow last).
//!
//! Two layouts exist among the supported versions:
//! - Go 1.19: `timeHistSubBucketBits` = 4, `timeHistNumSuperBuckets` = 45: super-bucket 0 holds
//!   0–15 ns one per bucket, super-bucket i ≥ 1 starts at 2^(i+3) ns in 16 linear steps; the last
//!   bucket extends to +Inf. No overflow counter.
//! - Go 1.20+: `timeHistMinBucketBits` = 9, `timeHistMaxBucketBits` = 48, `timeHistSubBucketBits`
//!   = 2: bucket 0 holds 0–511 ns in 4 steps, bucket k ≥ 1 starts at 2^(k+7) ns in 4 steps; an
//!   overflow counter holds everything from 2^47 ns.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The bucket layout of one Go version's `timeHistogram`, from its constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeHistScheme {
    /// Go 1.19's super-buckets.
    SuperBuckets {
        sub_bucket_bits: u32,
        super_buckets: u32,
    },
    /// Go 1.20+'s buckets between a minimum and a maximum bit, with underflow and overflow.
    MinMaxBits {
        min_bucket_bits: u32,
        max_bucket_bits: u32,
        sub_bucket_bits: u32,
    },
}

impl TimeHistScheme {
    /// From the runtime's `timeHist*` constants (names without "runtime.", as goinspect's
    /// layout holds them). None when they are missing or out of any sane range.
    pub fn from_constants(c: &BTreeMap<String, u64>) -> Option<TimeHistScheme> {
        let get = |name: &str| c.get(name).and_then(|&v| u32::try_from(v).ok());
        let sub_bucket_bits = get("timeHistSubBucketBits").filter(|&b| (1..=8).contains(&b))?;
        let scheme = match (
            get("timeHistMinBucketBits"),
            get("timeHistMaxBucketBits"),
            get("timeHistNumSuperBuckets"),
        ) {
            (Some(min), Some(max), _) => TimeHistScheme::MinMaxBits {
                min_bucket_bits: min,
                max_bucket_bits: max,
                sub_bucket_bits,
            },
            (_, _, Some(n)) => TimeHistScheme::SuperBuckets {
                sub_bucket_bits,
                super_buckets: n,
            },
            _ => return None,
        };
        scheme.is_sane().then_some(scheme)
    }

    /// Bits and counts that keep every boundary below 2^63 ns and the arrays small.
    fn is_sane(self) -> bool {
        match self {
            TimeHistScheme::SuperBuckets {
                sub_bucket_bits,
                super_buckets,
            } => (2..=60).contains(&super_buckets) && super_buckets + sub_bucket_bits <= 63,
            TimeHistScheme::MinMaxBits {
                min_bucket_bits,
                max_bucket_bits,
                sub_bucket_bits,
            } => {
                min_bucket_bits > sub_bucket_bits
                    && min_bucket_bits < max_bucket_bits
                    && max_bucket_bits <= 63
            }
        }
    }

    fn sub_buckets(self) -> usize {
        match self {
            TimeHistScheme::SuperBuckets {
                sub_bucket_bits, ..
            }
            | TimeHistScheme::MinMaxBits {
                sub_bucket_bits, ..
            } => 1 << sub_bucket_bits,
        }
    }

    /// Length of the runtime's `counts` array.
    pub fn counts_len(self) -> usize {
        match self {
            TimeHistScheme::SuperBuckets { super_buckets, .. } => {
                super_buckets as usize * self.sub_buckets()
            }
            TimeHistScheme::MinMaxBits {
                min_bucket_bits,
                max_bucket_bits,
                ..
            } => (max_bucket_bits - min_bucket_bits + 1) as usize * self.sub_buckets(),
        }
    }

    /// Whether the struct has an `overflow` counter (exposed as the last metric bucket).
    pub fn has_overflow(self) -> bool {
        matches!(self, TimeHistScheme::MinMaxBits { .. })
    }

    /// Buckets as `runtime/metrics` reports them: underflow, the counts, and overflow if any.
    pub fn metric_buckets(self) -> usize {
        1 + self.counts_len() + usize::from(self.has_overflow())
    }

    /// The `metric_buckets() + 1` boundaries in nanoseconds, from -Inf to +Inf, exactly as the
    /// runtime's `timeHistogramMetricsBuckets` (which divides these by 1e9 for seconds; every
    /// finite one is an integer number of nanoseconds below 2^53, so exact in an f64).
    pub fn boundaries_ns(self) -> Vec<f64> {
        let n = self.sub_buckets();
        let mut b = Vec::with_capacity(self.metric_buckets() + 1);
        b.push(f64::NEG_INFINITY);
        match self {
            TimeHistScheme::SuperBuckets {
                sub_bucket_bits,
                super_buckets,
            } => {
                b.extend((0..n).map(|i| i as f64));
                for i in 0..super_buckets - 1 {
                    for j in 0..n as u64 {
                        let ns = (1u64 << (i + sub_bucket_bits)) | (j << i);
                        b.push(ns as f64);
                    }
                }
            }
            TimeHistScheme::MinMaxBits {
                min_bucket_bits,
                max_bucket_bits,
                sub_bucket_bits,
            } => {
                let below = min_bucket_bits - 1 - sub_bucket_bits;
                b.extend((0..n as u64).map(|j| (j << below) as f64));
                for i in min_bucket_bits..max_bucket_bits {
                    for j in 0..n as u64 {
                        let ns = (1u64 << (i - 1)) | (j << (i - 1 - sub_bucket_bits));
                        b.push(ns as f64);
                    }
                }
                b.push((1u64 << (max_bucket_bits - 1)) as f64);
            }
        }
        b.push(f64::INFINITY);
        b
    }
}

/// One histogram's counts in `runtime/metrics` order (see [`TimeHistScheme::metric_buckets`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricHistogram {
    pub counts: Vec<u64>,
}

impl MetricHistogram {
    /// From the runtime's struct fields.
    pub fn from_parts(underflow: u64, counts: &[u64], overflow: Option<u64>) -> MetricHistogram {
        let mut all = Vec::with_capacity(counts.len() + 2);
        all.push(underflow);
        all.extend_from_slice(counts);
        all.extend(overflow);
        MetricHistogram { counts: all }
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().fold(0u64, |a, &c| a.saturating_add(c))
    }

    /// What was recorded between `earlier` and `self` (bucket by bucket, saturating; a
    /// histogram of another shape gives `self` unchanged).
    pub fn since(&self, earlier: &MetricHistogram) -> MetricHistogram {
        if earlier.counts.len() != self.counts.len() {
            return self.clone();
        }
        MetricHistogram {
            counts: self
                .counts
                .iter()
                .zip(&earlier.counts)
                .map(|(a, b)| a.saturating_sub(*b))
                .collect(),
        }
    }

    /// The `q` quantile (0..=1) in nanoseconds, as the upper boundary of the bucket holding it
    /// (so never an underestimate), with `boundaries` from [`TimeHistScheme::boundaries_ns`];
    /// in the last, unbounded bucket, its lower boundary. None when empty or mismatched.
    pub fn quantile_ns(&self, boundaries: &[f64], q: f64) -> Option<f64> {
        let total = self.total();
        if total == 0 || boundaries.len() != self.counts.len() + 1 {
            return None;
        }
        // The rank of the sample sought, 1-based: ceil(q * total), at least 1.
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen = seen.saturating_add(c);
            if seen >= rank {
                let upper = boundaries[i + 1];
                return Some(if upper.is_finite() {
                    upper
                } else {
                    boundaries[i].max(0.0)
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constants(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    pub(crate) fn go119() -> TimeHistScheme {
        TimeHistScheme::from_constants(&constants(&[
            ("timeHistSubBucketBits", 4),
            ("timeHistNumSubBuckets", 16),
            ("timeHistNumSuperBuckets", 45),
            ("timeHistTotalBuckets", 721),
        ]))
        .unwrap()
    }

    pub(crate) fn go120() -> TimeHistScheme {
        TimeHistScheme::from_constants(&constants(&[
            ("timeHistMinBucketBits", 9),
            ("timeHistMaxBucketBits", 48),
            ("timeHistSubBucketBits", 2),
            ("timeHistNumSubBuckets", 4),
            ("timeHistNumBuckets", 40),
            ("timeHistTotalBuckets", 162),
        ]))
        .unwrap()
    }

    /// The sizes the runtime's own constants give (`timeHistTotalBuckets` is the metric's
    /// bucket count) and the struct's counts array ([720]uint64, [160]atomic.Uint64).
    #[test]
    fn sizes_match_the_runtime_constants() {
        assert_eq!(go119().counts_len(), 720);
        assert_eq!(go119().metric_buckets(), 721);
        assert_eq!(go120().counts_len(), 160);
        assert_eq!(go120().metric_buckets(), 162);
        assert_eq!(go119().boundaries_ns().len(), 722);
        assert_eq!(go120().boundaries_ns().len(), 163);
    }

    /// Boundaries as Go 1.27.3's and Go 1.19.8's `runtime/metrics` print them (seconds, from
    /// `metrics.Read` of /sched/latencies:seconds printed with `strconv.FormatFloat(b, 'g',
    /// -1, 64)`; spot values at the start, the seams and the end). The fixture test compares
    /// every boundary on live programs.
    #[test]
    fn boundaries_match_what_runtime_metrics_reports() {
        let b = go120().boundaries_ns();
        let secs: Vec<f64> = b.iter().map(|ns| ns / 1e9).collect();
        assert_eq!(secs[0], f64::NEG_INFINITY);
        assert_eq!(&secs[1..6], &[0.0, 6.4e-08, 1.28e-07, 1.92e-07, 2.56e-07]);
        assert_eq!(&secs[6..9], &[3.2e-07, 3.84e-07, 4.48e-07]);
        assert_eq!(secs[9], 5.12e-07);
        assert_eq!(&secs[16..20], &[1.792e-06, 2.048e-06, 2.56e-06, 3.072e-06]);
        assert_eq!(&secs[33..35], &[3.2768e-05, 4.096e-05]);
        assert_eq!(&secs[160..162], &[123145.302310912, 140737.488355328]);
        assert_eq!(secs[162], f64::INFINITY);
        assert!(secs.windows(2).all(|w| w[0] < w[1]));

        let b = go119().boundaries_ns();
        let secs: Vec<f64> = b.iter().map(|ns| ns / 1e9).collect();
        assert_eq!(&secs[1..4], &[0.0, 1e-09, 2e-09]);
        assert_eq!(secs[16], 1.5e-08);
        assert_eq!(&secs[17..20], &[1.6e-08, 1.7e-08, 1.8e-08]);
        assert_eq!(&secs[33..35], &[3.2e-08, 3.4e-08]);
        assert_eq!(secs[9], 8e-09);
        assert_eq!(&secs[719..721], &[263882.79066624, 272678.883688448]);
        assert_eq!(secs[721], f64::INFINITY);
        assert!(secs.windows(2).all(|w| w[0] < w[1]));
    }

    /// `timeHistogram.record` (Go 1.20+) for a value, re-implemented: the bucket it lands in
    /// must be the one whose boundaries enclose it.
    #[test]
    fn recorded_values_fall_between_their_bucket_boundaries() {
        let record_120 = |d: u64| -> usize {
            let l = 64 - d.leading_zeros();
            let (bit, bucket) = if l < 9 { (9, 0) } else { (l, l - 9 + 1) };
            if bucket >= 40 {
                return 161;
            }
            let sub = (d >> (bit - 1 - 2)) % 4;
            1 + (bucket * 4) as usize + sub as usize
        };
        let b = go120().boundaries_ns();
        for d in [
            0u64,
            1,
            63,
            64,
            511,
            512,
            1000,
            4096,
            99_999,
            1 << 40,
            (1 << 47) - 1,
        ] {
            let i = record_120(d);
            assert!(b[i] <= d as f64 && (d as f64) < b[i + 1], "{d} in {i}");
        }
        assert_eq!(record_120(1 << 47), 161);
        assert!(b[161] <= (1u64 << 47) as f64);
    }

    #[test]
    fn quantiles_and_deltas() {
        let scheme = go120();
        let b = scheme.boundaries_ns();
        let mut counts = vec![0; scheme.metric_buckets()];
        counts[1] = 50; // [0, 64) ns
        counts[9] = 49; // [512, 640) ns
        counts[161] = 1; // overflow
        let h = MetricHistogram { counts };
        assert_eq!(h.quantile_ns(&b, 0.5), Some(64.0));
        assert_eq!(h.quantile_ns(&b, 0.99), Some(640.0));
        assert_eq!(h.quantile_ns(&b, 1.0), Some((1u64 << 47) as f64));
        let earlier = MetricHistogram::from_parts(0, &vec![0; 160], Some(1));
        let d = h.since(&earlier);
        assert_eq!(d.total(), 99);
        assert_eq!(MetricHistogram::default().quantile_ns(&b, 0.5), None);
    }

    #[test]
    fn broken_constants_give_no_scheme() {
        assert_eq!(TimeHistScheme::from_constants(&BTreeMap::new()), None);
        let bad = constants(&[
            ("timeHistSubBucketBits", 2),
            ("timeHistMinBucketBits", 48),
            ("timeHistMaxBucketBits", 9),
        ]);
        assert_eq!(TimeHistScheme::from_constants(&bad), None);
        let huge = constants(&[
            ("timeHistSubBucketBits", 4),
            ("timeHistNumSuperBuckets", 1 << 40),
        ]);
        assert_eq!(TimeHistScheme::from_constants(&huge), None);
    }
}
