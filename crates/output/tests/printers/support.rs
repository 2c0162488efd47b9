//! What the tests share: analysing a stream, and comparing a whole text with its golden file
//! (rewritten instead when GOROSCOPE_BLESS is set).

use std::path::PathBuf;

use goroscope_analysis::{Analyzer, Options, Report};
use goroscope_events::{CpuLimit, CpuStat, Event, Meta};

/// Analyses `events` in the given order with the default options.
pub fn report(events: Vec<Event>, meta: &Meta) -> Report {
    analyse(events, meta, Options::default(), None)
}

/// Analyses `events` with `options`, the process's CPU limit and its cgroup's CPU
/// accounting over the trace (throttling).
pub fn analyse(
    events: Vec<Event>,
    meta: &Meta,
    options: Options,
    cpu: Option<(CpuLimit, CpuStat)>,
) -> Report {
    let (cpu_limit, cpu_stat) = cpu.unzip();
    let mut analyzer = Analyzer::new(options)
        .with_cpu_limit(cpu_limit)
        .with_cpu_stat(cpu_stat);
    for event in events {
        analyzer.push(event);
    }
    analyzer.finish(meta)
}

/// Fails unless `actual` equals crates/output/tests/golden/NAME.txt, printing a line diff;
/// with GOROSCOPE_BLESS=1 in the environment, writes `actual` there instead.
pub fn assert_golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.txt"));
    if std::env::var_os("GOROSCOPE_BLESS").is_some_and(|v| !v.is_empty() && v != "0") {
        std::fs::write(&path, actual).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "reading {}: {e} (create it with GOROSCOPE_BLESS=1 cargo test -p goroscope-output)",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "{} differs from the rendering (- golden, + now); if the change is intended, run \
             GOROSCOPE_BLESS=1 cargo test -p goroscope-output\n{}",
            path.display(),
            diff(&expected, actual)
        );
    }
}

/// Lines around each change kept in the diff.
const CONTEXT: usize = 2;

/// A line diff of `old` → `new` (longest common subsequence): changed lines with `-`/`+`,
/// [`CONTEXT`] unchanged lines around them, "@@ line N" before each hunk.
fn diff(old: &str, new: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // (tag, line number in `old` (1-based, of the next old line), text)
    let mut ops: Vec<(char, usize, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', i + 1, a[i]));
            (i, j) = (i + 1, j + 1);
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', i + 1, a[i]));
            i += 1;
        } else {
            ops.push(('+', i + 1, b[j]));
            j += 1;
        }
    }
    let near_change = |k: usize| {
        let lo = k.saturating_sub(CONTEXT);
        let hi = (k + CONTEXT + 1).min(ops.len());
        ops[lo..hi].iter().any(|(tag, _, _)| *tag != ' ')
    };
    let mut out = String::new();
    let mut in_hunk = false;
    for (k, (tag, line, text)) in ops.iter().enumerate() {
        if !near_change(k) {
            in_hunk = false;
            continue;
        }
        if !in_hunk {
            out.push_str(&format!("@@ line {line}\n"));
            in_hunk = true;
        }
        out.push_str(&format!("{tag}{text}\n"));
    }
    out
}

#[test]
fn the_diff_shows_changed_lines_in_context() {
    let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
    let new = "a\nb\nc\nd\nE\nf\ng\nh\ni\n";
    assert_eq!(
        diff(old, new),
        "@@ line 3\n c\n d\n-e\n+E\n f\n g\n h\n+i\n"
    );
    assert_eq!(diff(old, old), "");
}
