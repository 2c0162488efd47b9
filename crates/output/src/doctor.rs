//! `goroscope doctor`: the diagnosis (`goroscope_analysis::doctor::Diagnosis`) as text — each
//! finding ranked, with its evidence, confidence and fix, then which rules found nothing and
//! which could not run (not captured, why) — or as JSON (docs/doctor.md).

use std::fmt::Write as _;

use goroscope_analysis::doctor::{Diagnosis, Evidence, RuleStatus};
use serde::Serialize;

use crate::format;

/// Width the summary and fix paragraphs are wrapped to.
const WIDTH: usize = 100;
const INDENT: &str = "                ";

/// The diagnosis as text, with the traced time and `level` (the recording's tracer level, if
/// known) in the heading.
pub fn render_doctor_text(d: &Diagnosis, level: Option<&str>) -> String {
    let mut out = String::new();
    render(&mut out, d, level).expect("writing to a String cannot fail");
    out
}

fn render(out: &mut String, d: &Diagnosis, level: Option<&str>) -> std::fmt::Result {
    write!(
        out,
        "goroscope doctor: {}, {} traced",
        if d.go_version.is_empty() {
            "Go version unknown"
        } else {
            &d.go_version
        },
        format::duration(d.duration_ns)
    )?;
    if let Some(level) = level {
        write!(out, " at --level {level}")?;
    }
    match d.findings.len() {
        0 => writeln!(out, ": no findings")?,
        1 => writeln!(out, ": 1 finding")?,
        n => writeln!(out, ": {n} findings, most severe first")?,
    }
    for (i, f) in d.findings.iter().enumerate() {
        writeln!(out)?;
        writeln!(out, "{}. [{}] {}", i + 1, f.severity.name(), f.title)?;
        wrap(out, "   ", &f.summary)?;
        if let Some(site) = &f.site {
            writeln!(
                out,
                "   {:<12} {}",
                "site",
                format::site(&site.function, &site.file, site.line)
            )?;
        }
        let mut first = true;
        for e in &f.evidence {
            let label = if first { "evidence" } else { "" };
            first = false;
            writeln!(out, "   {label:<12} {}", evidence(e))?;
        }
        wrap(
            out,
            "   confidence   ",
            &format!("{} — {}", confidence_name(f), f.confidence_why),
        )?;
        wrap(out, "   fix          ", &f.fix)?;
    }
    let clean: Vec<&str> = d
        .rules
        .iter()
        .filter(|r| r.status == RuleStatus::Clean)
        .map(|r| r.id.as_str())
        .collect();
    writeln!(out)?;
    if !clean.is_empty() {
        wrap(out, "Checked, nothing found:", &clean.join(", "))?;
    }
    for r in &d.rules {
        if let RuleStatus::NotCaptured { why } = &r.status {
            wrap(out, "Not checked:", &format!("{} — {why}", r.id))?;
        }
    }
    Ok(())
}

fn confidence_name(f: &goroscope_analysis::doctor::Finding) -> &'static str {
    use goroscope_analysis::doctor::Confidence;
    match f.confidence {
        Confidence::Exact => "exact",
        Confidence::Sampled => "sampled",
        Confidence::Snapshot => "snapshot",
    }
}

/// One evidence line.
fn evidence(e: &Evidence) -> String {
    match e {
        Evidence::Measure {
            what, value, unit, ..
        } => {
            let v = match unit.as_str() {
                "ns" => format::duration(*value as u64),
                "percent" => format::percent(*value),
                "count" => format!("{value:.0}"),
                "cpus" => format!("{value} CPUs"),
                "per_second" => format!("{value}/s"),
                other => format!("{value} {other}"),
            };
            format!("{what}: {v}")
        }
        Evidence::Site { role, site } => format!(
            "{role}: {}",
            format::site(&site.function, &site.file, site.line)
        ),
        Evidence::Series { what, points, .. } => {
            let counts: Vec<String> = points.iter().map(|p| p.count.to_string()).collect();
            match (points.first(), points.last()) {
                (Some(a), Some(b)) => format!(
                    "{what}: {} (from {} to {})",
                    counts.join(" → "),
                    format::duration(a.at_ns),
                    format::duration(b.at_ns)
                ),
                _ => format!("{what}: none"),
            }
        }
        Evidence::Stack { role, frames } if frames.len() == 1 => format!("{role}: {}", frames[0]),
        Evidence::Stack { role, frames } => {
            let mut s = format!("{role}:");
            for f in frames.iter().take(8) {
                s.push_str("\n                  ");
                s.push_str(f);
            }
            if frames.len() > 8 {
                let _ = write!(s, "\n                  … {} more", frames.len() - 8);
            }
            s
        }
        Evidence::LatencyAttribution {
            cause,
            ns,
            total_ns,
            percent,
            exact,
            occupant,
            ..
        } => {
            let mut s = format!(
                "waits attributed to {cause}: {} of {} ({}, {})",
                format::duration(*ns),
                format::duration(*total_ns),
                format::percent(*percent),
                if *exact { "exact" } else { "estimated" }
            );
            if let Some(o) = occupant {
                s.push_str(&format!(
                    ", Ps held most by {}",
                    format::site(&o.function, &o.file, o.line)
                ));
            }
            s
        }
        Evidence::Thread { tid, m_id, note } => match m_id {
            Some(m) => format!("thread {tid} (M{m}): {note}"),
            None => format!("thread {tid}: {note}"),
        },
    }
}

/// `lead` then `text` wrapped at [`WIDTH`], continuation lines indented like `lead`'s width
/// (at most [`INDENT`]).
fn wrap(out: &mut String, lead: &str, text: &str) -> std::fmt::Result {
    // A lead ending in a space is a column; one without, a heading with a 2-space hang.
    let indent = if lead.ends_with(' ') {
        &INDENT[..lead.chars().count().min(INDENT.len())]
    } else {
        "  "
    };
    let mut line = lead.to_string();
    let mut empty = lead.ends_with(' ');
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            writeln!(out, "{line}")?;
            line = indent.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    writeln!(out, "{line}")
}

/// The diagnosis as JSON (docs/doctor.md), with the `recording` it came from (what the file or
/// the live session says about itself) and, when launched, the `target` object; one trailing
/// newline.
pub fn render_doctor_json<R: Serialize>(
    d: &Diagnosis,
    recording: &R,
) -> Result<String, serde_json::Error> {
    #[derive(Serialize)]
    struct WithRecording<'a, R: Serialize> {
        #[serde(flatten)]
        diagnosis: &'a Diagnosis,
        recording: &'a R,
    }
    let mut s = serde_json::to_string_pretty(&WithRecording {
        diagnosis: d,
        recording,
    })?;
    s.push('\n');
    Ok(s)
}

#[cfg(test)]
mod tests {
    use goroscope_analysis::doctor::{
        Confidence, Diagnosis, Evidence, Finding, RuleOutcome, RuleStatus, Severity, Site,
    };
    use goroscope_analysis::CountAt;

    use super::*;

    fn diagnosis(findings: Vec<Finding>) -> Diagnosis {
        Diagnosis {
            version: 1,
            go_version: "go1.27.3".into(),
            duration_ns: 3_000_000_000,
            findings,
            latency_attribution: None,
            rules: vec![
                RuleOutcome {
                    id: "cpu_hog".into(),
                    title: "hog".into(),
                    status: RuleStatus::NotCaptured {
                        why: "the monitor level does not capture time slices".into(),
                    },
                },
                RuleOutcome {
                    id: "lock_convoy".into(),
                    title: "convoy".into(),
                    status: RuleStatus::Clean,
                },
            ],
        }
    }

    #[test]
    fn a_clean_program_gets_no_findings_and_the_rules_that_could_not_run() {
        let text = render_doctor_text(&diagnosis(vec![]), Some("monitor"));
        assert_eq!(
            text,
            "goroscope doctor: go1.27.3, 3.00 s traced at --level monitor: no findings\n\n\
             Checked, nothing found: lock_convoy\n\
             Not checked: cpu_hog — the monitor level does not capture time slices\n"
        );
    }

    #[test]
    fn a_finding_shows_its_site_evidence_confidence_and_fix() {
        let f = Finding {
            id: "goroutine_leak".into(),
            title: "Goroutine leak: chan send at main.handle".into(),
            severity: Severity::Warning,
            impact: 0.1,
            summary: "100 goroutines".into(),
            site: Some(Site::new("main.handle", "/src/main.go", 31)),
            evidence: vec![
                Evidence::count("goroutines blocked at the end", 100, "x"),
                Evidence::Series {
                    what: "blocked goroutines per snapshot".into(),
                    points: vec![
                        CountAt { at_ns: 0, count: 0 },
                        CountAt {
                            at_ns: 2_000_000_000,
                            count: 100,
                        },
                    ],
                    source: "y".into(),
                },
                Evidence::ns("blocked for (oldest)", 2_500_000_000, "z"),
            ],
            confidence: Confidence::Snapshot,
            confidence_why: "snapshots".into(),
            fix: "Give it a way out.".into(),
        };
        let text = render_doctor_text(&diagnosis(vec![f.clone()]), None);
        assert!(
            text.starts_with("goroscope doctor: go1.27.3, 3.00 s traced: 1 finding\n\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "1. [warning] Goroutine leak: chan send at main.handle\n   100 goroutines\n   \
             site         main.handle (/src/main.go:31)\n   \
             evidence     goroutines blocked at the end: 100\n                \
             blocked goroutines per snapshot: 0 → 100 (from 0 ns to 2.00 s)\n                \
             blocked for (oldest): 2.50 s\n   \
             confidence   snapshot — snapshots\n   \
             fix          Give it a way out.\n"
            ),
            "{text}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render_doctor_json(&diagnosis(vec![f]), &"rec").unwrap())
                .unwrap();
        assert_eq!(json["findings"][0]["evidence"][1]["kind"], "series");
        assert_eq!(json["findings"][0]["severity"], "warning");
        assert_eq!(json["rules"][0]["status"], "not_captured");
        assert_eq!(json["recording"], "rec");
    }
}
