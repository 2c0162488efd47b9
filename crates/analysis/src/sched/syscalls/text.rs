//! The syscalls section of the human report: kernel calls by name, by goroutine and by creation
//! site, calls through the runtime, P hand-offs. Tables are cut at [`MAX_ROWS`] rows.

use std::fmt::Write;

use super::{LatencyStats, SyscallReport};
use crate::sched::coverage::Coverage;
use crate::text::{duration, MAX_ROWS};

pub fn render(r: &SyscallReport, out: &mut String) -> std::fmt::Result {
    write_kernel(r, out)?;
    write_runtime(r, out)?;
    write_handoffs(r, out)
}

/// `function (file:line)`, or the function alone without a file.
pub(crate) fn site(function: &str, file: &str, line: u32) -> String {
    if file.is_empty() {
        function.to_string()
    } else {
        format!("{function} ({file}:{line})")
    }
}

/// Writes the "not captured" line for a part without data; true if it did.
pub(crate) fn not_captured(
    out: &mut String,
    title: &str,
    c: &Coverage,
) -> Result<bool, std::fmt::Error> {
    if c.captured {
        return Ok(false);
    }
    let why = c.why.as_deref().unwrap_or("not recorded");
    writeln!(out, "\n{title}: not captured ({why})")?;
    Ok(true)
}

pub(crate) fn more(out: &mut String, shown: usize, total: u64) -> std::fmt::Result {
    let shown = shown as u64;
    if total > shown {
        writeln!(out, "  … {} more (see --json)", total - shown)?;
    }
    Ok(())
}

const LATENCY_HEADER: [&str; 5] = ["CALLS", "TOTAL", "P50", "P99", "MAX"];

fn latency_cells(s: &LatencyStats) -> String {
    format!(
        "{:>9} {:>10} {:>10} {:>10} {:>10}",
        s.count,
        duration(s.total_ns),
        duration(s.p50_ns),
        duration(s.p99_ns),
        duration(s.max_ns)
    )
}

fn latency_header() -> String {
    let [c, t, p50, p99, max] = LATENCY_HEADER;
    format!("{c:>9} {t:>10} {p50:>10} {p99:>10} {max:>10}")
}

fn write_kernel(r: &SyscallReport, out: &mut String) -> std::fmt::Result {
    let k = &r.kernel;
    let title = "System calls (kernel)";
    if not_captured(out, title, &k.coverage)? {
        return Ok(());
    }
    writeln!(
        out,
        "\n{title}: {} calls, {} errors, {} in calls (summed over threads)",
        k.calls,
        k.errors,
        duration(k.total_ns)
    )?;
    if k.calls == 0 {
        return Ok(());
    }
    writeln!(out, "  {} {:>8}  SYSCALL", latency_header(), "ERRORS")?;
    for row in k.by_name.iter().take(MAX_ROWS) {
        let errors = row
            .errors_by_errno
            .iter()
            .map(|e| format!("{} {}", e.name, e.count))
            .collect::<Vec<_>>()
            .join(", ");
        let errors = if errors.is_empty() {
            String::new()
        } else {
            format!(" ({errors})")
        };
        writeln!(
            out,
            "  {} {:>8}  {}{errors}",
            latency_cells(&row.stats),
            row.errors,
            row.name
        )?;
    }
    more(out, MAX_ROWS.min(k.by_name.len()), k.by_name.len() as u64)?;

    writeln!(
        out,
        "\nSystem calls by goroutine (kernel; {} goroutines made calls)",
        k.goroutines
    )?;
    writeln!(out, "  {} {:>9}  CREATED AT", latency_header(), "GOID")?;
    for row in k.by_goroutine.iter().take(MAX_ROWS) {
        let goid = row.goid.map_or("-".to_string(), |g| g.to_string());
        writeln!(
            out,
            "  {} {goid:>9}  {}",
            latency_cells(&row.stats),
            site(&row.function, &row.file, row.line)
        )?;
        write_top_names(out, &row.by_name)?;
    }
    let runtime_row = u64::from(k.by_goroutine.iter().any(|r| r.goid.is_none()));
    more(
        out,
        MAX_ROWS.min(k.by_goroutine.len()),
        k.goroutines + runtime_row,
    )?;

    writeln!(out, "\nSystem calls by creation site (kernel)")?;
    writeln!(out, "  {} {:>10}  SITE", latency_header(), "GOROUTINES")?;
    for row in k.by_site.iter().take(MAX_ROWS) {
        writeln!(
            out,
            "  {} {:>10}  {}",
            latency_cells(&row.stats),
            row.goroutines,
            site(&row.function, &row.file, row.line)
        )?;
        write_top_names(out, &row.by_name)?;
    }
    more(out, MAX_ROWS.min(k.by_site.len()), k.by_site.len() as u64)
}

fn write_runtime(r: &SyscallReport, out: &mut String) -> std::fmt::Result {
    let t = &r.through_runtime;
    let title = "System calls through the runtime (entersyscall)";
    if not_captured(out, title, &t.coverage)? {
        return Ok(());
    }
    writeln!(
        out,
        "\n{title}: {} calls, {} blocking (P handed off at once), {} lost their P, {} in calls, \
         {} still in a call at end",
        t.calls,
        t.blocking,
        t.lost_p,
        duration(t.time_in_syscalls_ns),
        t.in_syscall_at_end
    )?;
    if t.by_goroutine.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "  {:>9} {:>9} {:>9} {:>10} {:>10} {:>9}  CREATED AT",
        "CALLS", "BLOCKING", "LOST-P", "TOTAL", "MAX", "GOID"
    )?;
    for row in t.by_goroutine.iter().take(MAX_ROWS) {
        let at_end = if row.in_syscall_at_end {
            ", in a call at end"
        } else {
            ""
        };
        writeln!(
            out,
            "  {:>9} {:>9} {:>9} {:>10} {:>10} {:>9}  {}{at_end}",
            row.calls,
            row.blocking,
            row.lost_p,
            duration(row.total_ns),
            duration(row.max_ns),
            row.goid,
            site(&row.function, &row.file, row.line)
        )?;
    }
    more(out, MAX_ROWS.min(t.by_goroutine.len()), t.goroutines)
}

fn write_handoffs(r: &SyscallReport, out: &mut String) -> std::fmt::Result {
    let h = &r.handoffs;
    let title = "P hand-offs (handoffp)";
    if not_captured(out, title, &h.coverage)? {
        return Ok(());
    }
    let c = &h.by_cause;
    writeln!(
        out,
        "\n{title}: {} (sysmon retake {}, entersyscallblock {}, stoplockedm {}, GC/STW {}); {} threads started for them",
        h.total, c.sysmon_retake, c.entersyscallblock, c.stoplockedm, c.gc_stw, h.threads_started
    )?;
    if h.by_p.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "  {:>5} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "P", "TOTAL", "SYSMON", "BLOCKING", "LOCKED", "GC/STW"
    )?;
    for row in h.by_p.iter().take(MAX_ROWS) {
        let c = &row.by_cause;
        writeln!(
            out,
            "  {:>5} {:>9} {:>9} {:>9} {:>9} {:>9}",
            row.p_id, row.total, c.sysmon_retake, c.entersyscallblock, c.stoplockedm, c.gc_stw
        )?;
    }
    more(out, MAX_ROWS.min(h.by_p.len()), h.by_p.len() as u64)
}

/// Under a goroutine or site row: its busiest syscall names, "read 20× 307 ms, write 3× 45 µs …".
fn write_top_names(
    out: &mut String,
    names: &[super::kernel::SyscallNameTotals],
) -> std::fmt::Result {
    const SHOWN: usize = 4;
    if names.is_empty() {
        return Ok(());
    }
    let mut line: Vec<String> = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("{} {}× {}", n.name, n.count, duration(n.total_ns)))
        .collect();
    if names.len() > SHOWN {
        line.push(format!("… {} more", names.len() - SHOWN));
    }
    writeln!(out, "{:>14}{}", "", line.join(", "))
}
