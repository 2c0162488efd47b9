//! The text output: one table per workload (ns/op, ratio, goroscope's cost), the BPF programs
//! of each goroscope level, and the attach-time table of the large binary.

use std::fmt::Write as _;

use crate::results::{BigAttach, Report, VariantRuns, WorkloadRuns};
use crate::summary::{median, TracerSummary};
use crate::workload::Kind;

/// Columns padded to their widest cell: the first left-aligned, the others right-aligned.
fn render(header: &[&str], rows: &[Vec<String>], indent: &str) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::from(indent);
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            if i == 0 {
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            } else {
                out.push_str("  ");
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

pub fn report(report: &Report) -> String {
    let mut out = String::new();
    let env = &report.environment;
    let _ = writeln!(
        out,
        "goroscope overhead: {} rounds, {} s measured per run, {} CPUs, kernel {}, {}\n",
        env.rounds, env.measured_seconds_per_run, env.cpus, env.kernel, env.go
    );
    for w in &report.workloads {
        out.push_str(&workload(w));
        out.push('\n');
    }
    if let Some(big) = &report.big_attach {
        out.push_str(&big_attach(big));
    }
    out
}

pub fn workload(w: &WorkloadRuns) -> String {
    let mut out = String::new();
    let runs = w
        .variants
        .iter()
        .map(|v| v.samples.len())
        .max()
        .unwrap_or(0);
    let _ = writeln!(out, "{} — {} ({runs} runs per variant)", w.name, w.unit);
    let figure = if w.kind == Kind::GoBuild {
        "WALL"
    } else {
        "NS/OP"
    };
    let header = [
        "VARIANT",
        figure,
        "MIN–MAX",
        "RATIO",
        "EVENTS/S",
        "DROPS",
        "TRACER CPU",
        "TRACER RSS",
        "ATTACH",
        "READY",
    ];
    let rows: Vec<Vec<String>> = w.variants.iter().map(|v| variant_row(w.kind, v)).collect();
    out.push_str(&render(&header, &rows, "  "));
    for v in &w.variants {
        if !v.failures.is_empty() {
            let first = v.failures[0].lines().next().unwrap_or("");
            let _ = writeln!(
                out,
                "  ! {}: {} of {} runs failed: {first}",
                v.label,
                v.failures.len(),
                v.failures.len() + v.samples.len()
            );
        }
    }
    out.push_str(&programs(w));
    out
}

fn variant_row(kind: Kind, v: &VariantRuns) -> Vec<String> {
    let dash = || "-".to_string();
    let mut row = vec![v.label.clone()];
    if v.not_applicable {
        row.push("n/a".into());
        row.extend(std::iter::repeat_with(dash).take(8));
        return row;
    }
    let Some(s) = &v.summary else {
        row.push(if v.failures.is_empty() {
            dash()
        } else {
            "failed".into()
        });
        row.extend(std::iter::repeat_with(dash).take(8));
        return row;
    };
    let fig = |ns: f64| match kind {
        Kind::GoBuild => format!("{:.1} s", ns / 1e9),
        Kind::Program => ns_per_op(ns),
    };
    row.push(fig(s.ns_per_op.median));
    row.push(format!(
        "{}–{}",
        fig(s.ns_per_op.min).trim_end_matches(" s"),
        fig(s.ns_per_op.max)
    ));
    row.push(s.ratio.map_or_else(dash, |r| format!("{r:.2}x")));
    match &s.tracer {
        None => row.extend(std::iter::repeat_with(dash).take(6)),
        Some(t) => {
            row.push(t.events_per_sec.map_or_else(dash, si));
            row.push(t.drops.map_or_else(dash, |d| format!("{d:.0}")));
            row.push(match (t.cpu_ms, t.cpu_share) {
                (Some(c), Some(share)) => format!("{} ({:.0}%)", millis(c), share * 100.0),
                (Some(c), None) => millis(c),
                _ => dash(),
            });
            row.push(
                t.peak_rss_kb
                    .map_or_else(dash, |k| format!("{:.1} MiB", k / 1024.0)),
            );
            row.push(t.attach_ms.map_or_else(dash, millis));
            row.push(t.ready_ms.map_or_else(dash, millis));
        }
    }
    row
}

/// How many BPF programs the per-workload table lists (the busiest; --json has them all).
const TOP_PROGRAMS: usize = 10;

/// The BPF programs that ran, busiest first, with each goroscope level side by side: runs per
/// run of the workload, total run time, and the mean cost of one run of the program.
fn programs(w: &WorkloadRuns) -> String {
    let levels: Vec<(String, &TracerSummary)> = w
        .variants
        .iter()
        .filter(|v| v.variant.is_goroscope())
        .filter_map(|v| {
            let t = v.summary.as_ref()?.tracer.as_ref()?;
            Some((v.label.trim_start_matches("goroscope ").to_string(), t))
        })
        .collect();
    if levels.is_empty() {
        return String::new();
    }
    if levels.iter().all(|(_, t)| t.programs.is_empty()) {
        return "  BPF programs: - (no --stats-json figures)\n".into();
    }
    let ran = |t: &TracerSummary, name: &str| {
        t.programs
            .iter()
            .find(|p| p.name == name && p.run_cnt > 0.0)
            .cloned()
    };
    let mut names: Vec<(String, f64)> = Vec::new();
    for (_, t) in &levels {
        for p in t.programs.iter().filter(|p| p.run_cnt > 0.0) {
            match names.iter_mut().find(|(n, _)| *n == p.name) {
                Some((_, time)) => *time = time.max(p.run_time_ns),
                None => names.push((p.name.clone(), p.run_time_ns)),
            }
        }
    }
    if names.is_empty() {
        return "  BPF programs: run counts are zero (no profile pass with kernel.bpf_stats_enabled=1)\n".into();
    }
    names.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut header = vec!["BPF PROGRAM".to_string()];
    for (level, _) in &levels {
        header.extend([format!("{level} RUNS"), "TIME".into(), "NS/RUN".into()]);
    }
    let dash = || "-".to_string();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (name, _) in names.iter().take(TOP_PROGRAMS) {
        let mut row = vec![name.clone()];
        for (_, t) in &levels {
            match ran(t, name) {
                Some(p) => row.extend([
                    format!("{:.0}", p.run_cnt),
                    nanos(p.run_time_ns),
                    p.ns_per_run.map_or_else(dash, |n| format!("{n:.0}")),
                ]),
                None => row.extend([dash(), dash(), dash()]),
            }
        }
        rows.push(row);
    }
    let mut total = vec![format!("all {} that ran", names.len())];
    for (_, t) in &levels {
        let runs: f64 = t.programs.iter().map(|p| p.run_cnt).sum();
        let time: f64 = t.programs.iter().map(|p| p.run_time_ns).sum();
        total.extend([
            format!("{runs:.0}"),
            nanos(time),
            if runs > 0.0 {
                format!("{:.0}", time / runs)
            } else {
                dash()
            },
        ]);
    }
    rows.push(total);
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut out = format!(
        "  BPF programs (medians per run; the {} busiest of {}):\n",
        TOP_PROGRAMS.min(names.len()),
        names.len()
    );
    out.push_str(&render(&header, &rows, "    "));
    out
}

pub fn big_attach(big: &BigAttach) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "attach on a large stripped binary — {} ({:.1} MiB), `goroscope record -d 1s -- {} {}`",
        big.binary,
        big.size_bytes as f64 / 1048576.0,
        big.binary.rsplit('/').next().unwrap_or(""),
        big.args.join(" ")
    );
    let med = |v: &[f64]| median(&mut v.to_vec());
    let dash = || "-".to_string();
    let mut rows = vec![vec![
        "untraced".to_string(),
        med(&big.untraced_wall_ms).map_or_else(dash, millis),
        dash(),
        dash(),
        dash(),
        dash(),
    ]];
    for v in &big.variants {
        let of = |f: &dyn Fn(&crate::sample::TracerSample) -> Option<f64>| {
            med(&v.tracer.iter().filter_map(f).collect::<Vec<_>>())
        };
        rows.push(vec![
            v.label.clone(),
            med(&v.wall_ms).map_or_else(|| "failed".into(), millis),
            of(&|t| t.attach_ms).map_or_else(dash, millis),
            of(&|t| t.ready_ms).map_or_else(dash, millis),
            of(&|t| t.cpu_best_ms()).map_or_else(dash, millis),
            of(&|t| t.peak_rss_kb.map(|k| k as f64))
                .map_or_else(dash, |k| format!("{:.1} MiB", k / 1024.0)),
        ]);
    }
    let runs = big.untraced_wall_ms.len();
    let _ = writeln!(out, "  ({runs} runs per variant, medians)");
    out.push_str(&render(
        &[
            "VARIANT",
            "WALL",
            "ATTACH",
            "READY",
            "TRACER CPU",
            "TRACER RSS",
        ],
        &rows,
        "  ",
    ));
    for v in &big.variants {
        if let Some(first) = v.failures.first() {
            let _ = writeln!(
                out,
                "  ! {}: {} runs failed: {}",
                v.label,
                v.failures.len(),
                first.lines().next().unwrap_or("")
            );
        }
    }
    out
}

/// 231.4 below 10 µs, 12,970 above (digits past the decimal point are noise there).
pub fn ns_per_op(ns: f64) -> String {
    if ns < 10_000.0 {
        format!("{ns:.1}")
    } else {
        thousands(ns.round() as u64)
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// 850 ns, 12.3 µs, 4.5 ms.
fn nanos(ns: f64) -> String {
    if ns >= 1e6 {
        millis(ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn millis(ms: f64) -> String {
    if ms >= 10_000.0 {
        format!("{:.1} s", ms / 1e3)
    } else if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

/// 1.23M, 45.6k, 950.
fn si(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        assert_eq!(ns_per_op(231.44), "231.4");
        assert_eq!(ns_per_op(12970.4), "12,970");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(si(2_469_000.0), "2.47M");
        assert_eq!(millis(123.4), "123 ms");
    }

    #[test]
    fn pads_columns() {
        let t = render(&["A", "BB"], &[vec!["long".into(), "1".into()]], "");
        assert_eq!(t, "A     BB\nlong   1\n");
    }
}
