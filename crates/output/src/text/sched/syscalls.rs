//! The syscalls section: kernel calls by name, by goroutine and by creation site, calls through
//! the runtime, P hand-offs.

use std::fmt::Write as _;

use goroscope_analysis::sched::syscalls::kernel::SyscallNameTotals;
use goroscope_analysis::sched::syscalls::{LatencyStats, SyscallReport};

use crate::format::{duration, head, heading_not_captured, more, more_rows, site};

pub fn render(r: &SyscallReport, out: &mut String) -> std::fmt::Result {
    write_kernel(r, out)?;
    write_runtime(r, out)?;
    write_handoffs(r, out)
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
    if heading_not_captured(out, title, &k.coverage)? {
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
    for row in head(&k.by_name) {
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
    more_rows(out, &k.by_name)?;

    writeln!(
        out,
        "\nSystem calls by goroutine (kernel; {} goroutines made calls)",
        k.goroutines
    )?;
    writeln!(out, "  {} {:>9}  CREATED AT", latency_header(), "GOID")?;
    for row in head(&k.by_goroutine) {
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
    more(out, head(&k.by_goroutine).len(), k.goroutines + runtime_row)?;

    writeln!(out, "\nSystem calls by creation site (kernel)")?;
    writeln!(out, "  {} {:>10}  SITE", latency_header(), "GOROUTINES")?;
    for row in head(&k.by_site) {
        writeln!(
            out,
            "  {} {:>10}  {}",
            latency_cells(&row.stats),
            row.goroutines,
            site(&row.function, &row.file, row.line)
        )?;
        write_top_names(out, &row.by_name)?;
    }
    more_rows(out, &k.by_site)
}

fn write_runtime(r: &SyscallReport, out: &mut String) -> std::fmt::Result {
    let t = &r.through_runtime;
    let title = "System calls through the runtime (entersyscall)";
    if heading_not_captured(out, title, &t.coverage)? {
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
    for row in head(&t.by_goroutine) {
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
    more(out, head(&t.by_goroutine).len(), t.goroutines)
}

fn write_handoffs(r: &SyscallReport, out: &mut String) -> std::fmt::Result {
    let h = &r.handoffs;
    let title = "P hand-offs (handoffp)";
    if heading_not_captured(out, title, &h.coverage)? {
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
    for row in head(&h.by_p) {
        let c = &row.by_cause;
        writeln!(
            out,
            "  {:>5} {:>9} {:>9} {:>9} {:>9} {:>9}",
            row.p_id, row.total, c.sysmon_retake, c.entersyscallblock, c.stoplockedm, c.gc_stw
        )?;
    }
    more_rows(out, &h.by_p)
}

/// Under a goroutine or site row: its busiest syscall names, "read 20× 307 ms, write 3× 45 µs …".
fn write_top_names(out: &mut String, names: &[SyscallNameTotals]) -> std::fmt::Result {
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
