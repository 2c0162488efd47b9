//! Interval arithmetic for the attribution: sorted disjoint span lists (merge, split, length),
//! the measure of such a list between two instants (prefix sums), and a sweep that integrates
//! how many spans of a multiset cover each instant inside a mask, read at ascending instants.
//! All of it in O(n log n) time and a few words per span: the report of a `--level full`
//! recording holds millions of waits and P run slices (the README's figures are under the
//! exports, beside the report's memory).

/// `[start, end)`, ns.
pub type Span = (u64, u64);

/// Sorts and merges overlapping or touching spans into a disjoint sorted list (in place).
pub fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.retain(|s| s.1 > s.0);
    spans.sort_unstable();
    let mut n = 0;
    for i in 0..spans.len() {
        let s = spans[i];
        if n > 0 && s.0 <= spans[n - 1].1 {
            spans[n - 1].1 = spans[n - 1].1.max(s.1);
        } else {
            spans[n] = s;
            n += 1;
        }
    }
    spans.truncate(n);
    spans.shrink_to_fit();
    spans
}

/// Splits sorted disjoint `segs` into the parts inside the sorted disjoint `set` and outside,
/// appended to `inside` and `outside` (cleared first: buffers reused from wait to wait).
pub fn split_into(segs: &[Span], set: &[Span], inside: &mut Vec<Span>, outside: &mut Vec<Span>) {
    inside.clear();
    outside.clear();
    for &(mut a, b) in segs {
        let mut i = set.partition_point(|s| s.1 <= a);
        while a < b {
            match set.get(i) {
                Some(&(s, e)) if s < b => {
                    if s > a {
                        outside.push((a, s));
                    }
                    let stop = e.min(b);
                    inside.push((a.max(s), stop));
                    a = stop;
                    i += 1;
                }
                _ => {
                    outside.push((a, b));
                    a = b;
                }
            }
        }
    }
}

/// [`split_into`] with new lists.
pub fn split(segs: &[Span], set: &[Span]) -> (Vec<Span>, Vec<Span>) {
    let (mut inside, mut outside) = (Vec::new(), Vec::new());
    split_into(segs, set, &mut inside, &mut outside);
    (inside, outside)
}

pub fn len(spans: &[Span]) -> u64 {
    spans.iter().map(|s| s.1 - s.0).sum()
}

/// The measure of a sorted disjoint span list between two instants: a binary search and the
/// prefix sum of the lengths (one word per span).
pub struct Measure {
    spans: Vec<Span>,
    /// `before[i]`: the total length of `spans[..i]` (one more entry than `spans`).
    before: Vec<u64>,
}

impl Measure {
    pub fn new(spans: Vec<Span>) -> Measure {
        let mut before = Vec::with_capacity(spans.len() + 1);
        let mut total = 0;
        before.push(total);
        for s in &spans {
            total += s.1 - s.0;
            before.push(total);
        }
        Measure { spans, before }
    }

    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// The covered time before `t`.
    fn upto(&self, t: u64) -> u64 {
        let i = self.spans.partition_point(|s| s.1 <= t);
        let partial = self.spans.get(i).map_or(0, |s| t.saturating_sub(s.0));
        self.before[i] + partial
    }

    /// The covered time within `[a, b)`.
    pub fn between(&self, a: u64, b: u64) -> u64 {
        self.upto(b).saturating_sub(self.upto(a))
    }
}

/// `I(t)`: the time before `t`, inside `mask`, summed over a multiset of spans (an instant
/// covered by two spans counts twice), read at ascending `t` in one pass over the spans' starts
/// and ends, each sorted on its own (two words per span).
pub struct Sweep<'a> {
    starts: &'a [u64],
    ends: &'a [u64],
    mask: &'a [Span],
    /// Next unread start, end, and mask edge (`2 i` the start of `mask[i]`, `2 i + 1` its end).
    next: (usize, usize, usize),
    t: u64,
    covering: u64,
    inside: u64,
    integral: u64,
}

impl<'a> Sweep<'a> {
    /// `starts` and `ends` sorted ascending, `mask` sorted and disjoint.
    pub fn new(starts: &'a [u64], ends: &'a [u64], mask: &'a [Span]) -> Sweep<'a> {
        Sweep {
            starts,
            ends,
            mask,
            next: (0, 0, 0),
            t: 0,
            covering: 0,
            inside: 0,
            integral: 0,
        }
    }

    fn mask_edge(&self, k: usize) -> Option<u64> {
        self.mask
            .get(k / 2)
            .map(|s| if k.is_multiple_of(2) { s.0 } else { s.1 })
    }

    /// `I(t)`; `t` must not be below the previous call's.
    pub fn at(&mut self, t: u64) -> u64 {
        loop {
            let edge = [
                self.starts.get(self.next.0).copied(),
                self.ends.get(self.next.1).copied(),
                self.mask_edge(self.next.2),
            ]
            .into_iter()
            .flatten()
            .min();
            let slope = if self.inside > 0 { self.covering } else { 0 };
            match edge {
                Some(e) if e <= t => {
                    self.integral += slope * (e - self.t);
                    self.t = e;
                    // Every edge at `e` before the slope changes.
                    while self.starts.get(self.next.0) == Some(&e) {
                        self.covering += 1;
                        self.next.0 += 1;
                    }
                    while self.ends.get(self.next.1) == Some(&e) {
                        self.covering -= 1;
                        self.next.1 += 1;
                    }
                    while self.mask_edge(self.next.2) == Some(e) {
                        if self.next.2.is_multiple_of(2) {
                            self.inside += 1;
                        } else {
                            self.inside -= 1;
                        }
                        self.next.2 += 1;
                    }
                }
                _ => {
                    self.integral += slope * (t - self.t);
                    self.t = t;
                    return self.integral;
                }
            }
        }
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn split_and_merge() {
        let set = merge(vec![(10, 20), (15, 30), (40, 50)]);
        assert_eq!(set, vec![(10, 30), (40, 50)]);
        let (i, o) = split(&[(0, 45), (48, 60)], &set);
        assert_eq!(i, vec![(10, 30), (40, 45), (48, 50)]);
        assert_eq!(o, vec![(0, 10), (30, 40), (50, 60)]);
        assert_eq!(len(&i) + len(&o), 45 + 12);
        assert_eq!(merge(vec![(5, 5), (1, 2), (2, 4)]), vec![(1, 4)]);
    }

    #[test]
    fn measure_between_instants() {
        let m = Measure::new(vec![(12, 18), (25, 40)]);
        assert_eq!(m.between(15, 30), 3 + 5);
        assert_eq!(m.between(0, 100), 6 + 15);
        assert_eq!(m.between(18, 25), 0);
        assert_eq!(m.between(40, 100), 0);
        assert_eq!(Measure::new(vec![]).between(0, 10), 0);
    }

    /// `I(t)` by brute force, one instant at a time.
    fn brute(spans: &[Span], mask: &[Span], t: u64) -> u64 {
        (0..t)
            .map(|x| {
                let inside = mask.iter().any(|m| m.0 <= x && x < m.1);
                let n = spans.iter().filter(|s| s.0 <= x && x < s.1).count() as u64;
                if inside {
                    n
                } else {
                    0
                }
            })
            .sum()
    }

    #[test]
    fn sweep_integrates_overlapping_spans_inside_the_mask() {
        let spans = [(10, 20), (15, 30), (15, 16), (35, 35), (28, 60)];
        for mask in [
            vec![(0, 100)],
            vec![(12, 18), (25, 40)],
            vec![(12, 18), (18, 29)],
        ] {
            let mut starts: Vec<u64> = spans.iter().map(|s| s.0).collect();
            let mut ends: Vec<u64> = spans.iter().map(|s| s.1).collect();
            starts.sort_unstable();
            ends.sort_unstable();
            let mut sweep = Sweep::new(&starts, &ends, &mask);
            for t in [0, 10, 12, 15, 16, 18, 20, 29, 35, 40, 59, 100] {
                assert_eq!(sweep.at(t), brute(&spans, &mask, t), "t={t} mask={mask:?}");
            }
        }
    }
}
