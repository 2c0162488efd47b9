//! A compact latency histogram for the many small groups of the syscalls section (per syscall
//! name, per goroutine, per creation site): sparse log-linear buckets, so thousands of
//! goroutines cost a few buckets each, where an HDR histogram would cost ~280 KiB each.
//!
//! Precision: values below 64 ns are exact; above, each power of two is split into 32 buckets,
//! so a bucket is at most 1/32 (~3%) of its values wide. A percentile is the highest value of
//! the bucket holding the nearest-rank sample, capped at the exact maximum. Count, total and
//! maximum are exact.

use std::collections::BTreeMap;

/// Buckets per power of two, as a bit count (32 buckets).
const SUB_BITS: u32 = 5;
/// Values below this are their own bucket.
const EXACT_BELOW: u64 = 1 << (SUB_BITS + 1);

#[derive(Debug, Clone, Default)]
pub struct Histogram {
    buckets: BTreeMap<u16, u64>,
    count: u64,
    total: u64,
    max: u64,
}

impl Histogram {
    pub fn record(&mut self, v: u64) {
        *self.buckets.entry(bucket_of(v)).or_insert(0) += 1;
        self.count += 1;
        self.total = self.total.saturating_add(v);
        self.max = self.max.max(v);
    }

    /// Adds `other`'s values to this one.
    pub fn merge(&mut self, other: &Histogram) {
        for (&b, &n) in &other.buckets {
            *self.buckets.entry(b).or_insert(0) += n;
        }
        self.count += other.count;
        self.total = self.total.saturating_add(other.total);
        self.max = self.max.max(other.max);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    /// Nearest-rank quantile `q` in [0, 1] (0 when empty).
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (&b, &n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return bucket_high(b).min(self.max);
            }
        }
        self.max
    }
}

/// Bucket index of `v`: `v` itself below [`EXACT_BELOW`]; above, the top `SUB_BITS + 1` bits
/// of `v` (its mantissa, 32..=63) offset by how far they were shifted.
fn bucket_of(v: u64) -> u16 {
    if v < EXACT_BELOW {
        return v as u16;
    }
    let shift = (63 - v.leading_zeros()) - SUB_BITS;
    let mantissa = v >> shift;
    // shift <= 58 and mantissa < 64: at most 58 * 32 + 63, well within u16.
    ((u64::from(shift) << SUB_BITS) + mantissa) as u16
}

/// Highest value of bucket `b`.
fn bucket_high(b: u16) -> u64 {
    let b = u64::from(b);
    if b < EXACT_BELOW {
        return b;
    }
    let shift = (b >> SUB_BITS) - 1;
    let mantissa = b - (shift << SUB_BITS);
    // The last bucket's high end is u64::MAX: compute it without overflowing.
    let high = ((u128::from(mantissa) + 1) << shift) - 1;
    u64::try_from(high).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_narrow() {
        // Every bucket starts right after the previous one ends.
        let mut prev_high = bucket_high(0);
        for b in 1..=bucket_of(u64::MAX) {
            let low = prev_high + 1;
            assert_eq!(bucket_of(low), b, "low end of bucket {b}");
            let high = bucket_high(b);
            assert_eq!(bucket_of(high), b, "high end of bucket {b}");
            assert!(
                high - low <= low / 32,
                "bucket {b} too wide: {low}..={high}"
            );
            if high == u64::MAX {
                break;
            }
            prev_high = high;
        }
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        let mut h = Histogram::default();
        for v in 1..=50 {
            h.record(v);
        }
        // Exact region: p50 of 1..=50 is the 25th value.
        assert_eq!(h.quantile(0.5), 25);
        assert_eq!(h.quantile(0.99), 50);
        assert_eq!((h.count(), h.total(), h.max()), (50, 1275, 50));
        let mut h = Histogram::default();
        for _ in 0..99 {
            h.record(1_000);
        }
        h.record(1_000_000);
        let p50 = h.quantile(0.5);
        assert!((1_000..=1_000 + 1_000 / 32).contains(&p50), "{p50}");
        assert_eq!(h.quantile(1.0), 1_000_000, "capped at the exact max");
        assert_eq!(Histogram::default().quantile(0.5), 0);
    }
}
