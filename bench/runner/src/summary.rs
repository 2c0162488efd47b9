//! Reduces the samples of one (workload, variant) to the figures the table shows: the median
//! and range of ns/op, the ratio to untraced, and goroscope's medians per run.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::sample::Sample;

#[derive(Debug, Clone, Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct VariantSummary {
    pub runs: usize,
    pub ns_per_op: Spread,
    /// Median ns/op over the untraced median.
    pub ratio: Option<f64>,
    pub tracer: Option<TracerSummary>,
}

/// goroscope's figures: medians over the runs.
#[derive(Debug, Clone, Serialize)]
pub struct TracerSummary {
    pub events_per_sec: Option<f64>,
    pub drops: Option<f64>,
    pub cpu_ms: Option<f64>,
    /// Tracer CPU over the tracer's wall time: the share of one core it used.
    pub cpu_share: Option<f64>,
    pub peak_rss_kb: Option<f64>,
    pub attach_ms: Option<f64>,
    pub ready_ms: Option<f64>,
    pub programs: Vec<ProgramSummary>,
}

/// One BPF program over the runs: medians per run, and the mean cost of one run of it.
#[derive(Debug, Clone, Serialize)]
pub struct ProgramSummary {
    pub name: String,
    pub run_cnt: f64,
    pub run_time_ns: f64,
    pub ns_per_run: Option<f64>,
}

pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// The median of the values that are present.
fn median_of(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let mut v: Vec<f64> = values.flatten().collect();
    median(&mut v)
}

/// `profile`: runs with the BPF statistics on, whose program figures replace the measured
/// runs' (zero with the statistics off); their other figures are not used.
pub fn summarize(
    samples: &[Sample],
    profile: &[Sample],
    untraced_median: Option<f64>,
) -> Option<VariantSummary> {
    let mut ns: Vec<f64> = samples.iter().map(|s| s.ns_per_op).collect();
    let med = median(&mut ns)?;
    let spread = Spread {
        median: med,
        min: ns[0],
        max: ns[ns.len() - 1],
    };
    let tracers: Vec<_> = samples
        .iter()
        .filter_map(|s| Some((s, s.tracer.as_ref()?)))
        .collect();
    let tracer = (!tracers.is_empty()).then(|| TracerSummary {
        events_per_sec: median_of(tracers.iter().map(|(_, t)| t.events_per_sec)),
        drops: median_of(tracers.iter().map(|(_, t)| t.drops.map(|d| d as f64))),
        cpu_ms: median_of(tracers.iter().map(|(_, t)| t.cpu_best_ms())),
        cpu_share: median_of(
            tracers
                .iter()
                .map(|(s, t)| Some(t.cpu_best_ms()? / s.wall_ms.max(1e-9))),
        ),
        peak_rss_kb: median_of(tracers.iter().map(|(_, t)| t.peak_rss_kb.map(|k| k as f64))),
        attach_ms: median_of(tracers.iter().map(|(_, t)| t.attach_ms)),
        ready_ms: median_of(tracers.iter().map(|(_, t)| t.ready_ms)),
        programs: if profile.is_empty() {
            programs(tracers.iter().map(|(_, t)| t.programs.as_slice()))
        } else {
            programs(
                profile
                    .iter()
                    .filter_map(|s| Some(s.tracer.as_ref()?.programs.as_slice())),
            )
        },
    });
    Some(VariantSummary {
        runs: samples.len(),
        ratio: untraced_median.filter(|u| *u > 0.0).map(|u| med / u),
        ns_per_op: spread,
        tracer,
    })
}

fn programs<'a>(
    runs: impl Iterator<Item = &'a [crate::parse::ProgramStats]>,
) -> Vec<ProgramSummary> {
    let mut by_name: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for run in runs {
        for p in run {
            by_name
                .entry(p.name.clone())
                .or_default()
                .push((p.run_cnt as f64, p.run_time_ns as f64));
        }
    }
    by_name
        .into_iter()
        .map(|(name, runs)| {
            let (cnt, time): (f64, f64) = runs
                .iter()
                .fold((0.0, 0.0), |(c, t), (rc, rt)| (c + rc, t + rt));
            let mut counts: Vec<f64> = runs.iter().map(|r| r.0).collect();
            let mut times: Vec<f64> = runs.iter().map(|r| r.1).collect();
            ProgramSummary {
                name,
                run_cnt: median(&mut counts).unwrap_or(0.0),
                run_time_ns: median(&mut times).unwrap_or(0.0),
                ns_per_run: (cnt > 0.0).then(|| time / cnt),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }
}
