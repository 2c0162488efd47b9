//! The `kernel` section: the threads (on/off-CPU, switches, kernel run-queue delay) and the
//! system calls (by number, then by thread and number) from the kernel-side aggregates, each
//! part saying how exact it is; "not captured (why)" at levels that keep none.

use std::fmt::Write as _;

use goroscope_analysis::kernel::{BucketedLatency, KernelReport};

use crate::format::{duration, head, heading_not_captured, more_rows};

const TITLE: &str = "Kernel aggregates (threads and syscalls, counted in the kernel)";

pub fn render(r: &KernelReport, out: &mut String) -> std::fmt::Result {
    if heading_not_captured(out, TITLE, &r.coverage)? {
        return Ok(());
    }
    writeln!(
        out,
        "\n{TITLE}: {} readings over {}",
        r.readings,
        duration(r.window_ns)
    )?;
    if r.lost.total() > 0 {
        writeln!(
            out,
            "  LOST (a map was full): {} thread updates, {} syscalls",
            r.lost.thread_updates, r.lost.syscalls
        )?;
    }
    threads(r, out)?;
    syscalls(r, out)
}

fn opt(ns: Option<u64>) -> String {
    ns.map_or_else(|| "-".to_string(), duration)
}

fn threads(r: &KernelReport, out: &mut String) -> std::fmt::Result {
    let t = &r.thread_totals;
    writeln!(
        out,
        "  Threads (exact: the kernel's own counters): {} ({} exited), on CPU {}, off CPU {}, \
         {} voluntary + {} involuntary switches, run-queue delay {}",
        t.threads,
        t.exited,
        duration(t.on_cpu_ns),
        duration(t.off_cpu_ns),
        t.voluntary_switches,
        t.involuntary_switches,
        t.run_delay_ns
            .map_or_else(|| "not kept by this kernel".to_string(), duration)
    )?;
    writeln!(
        out,
        "  Runnable → on CPU waits (bucketed, log2): {}",
        latency(&t.runnable_waits)
    )?;
    writeln!(
        out,
        "  {:>8} {:<16} {:>10} {:>10} {:>8} {:>8} {:>10} {:>10}",
        "TID", "NAME", "ON CPU", "OFF CPU", "VOL", "INVOL", "RQ DELAY", "RQ p99≤"
    )?;
    for row in head(&r.threads) {
        let name = if row.exited {
            format!("{} (exited)", row.comm)
        } else {
            row.comm.clone()
        };
        writeln!(
            out,
            "  {:>8} {:<16} {:>10} {:>10} {:>8} {:>8} {:>10} {:>10}",
            row.tid,
            name,
            duration(row.on_cpu_ns),
            duration(row.off_cpu_ns),
            row.voluntary_switches,
            row.involuntary_switches,
            opt(row.run_delay_ns),
            opt(row.runnable_waits.p99_le_ns)
        )?;
    }
    more_rows(out, &r.threads)
}

fn syscalls(r: &KernelReport, out: &mut String) -> std::fmt::Result {
    writeln!(
        out,
        "  Syscalls (counts and time exact; percentiles bucketed, log2: each is the bucket's upper \
         bound)"
    )?;
    if r.syscalls.is_empty() {
        return writeln!(out, "    none returned");
    }
    writeln!(
        out,
        "  {:<18} {:>8} {:>10} {:>6}  LATENCY",
        "SYSCALL", "CALLS", "TIME", "ERRORS"
    )?;
    for row in head(&r.syscalls) {
        writeln!(
            out,
            "  {:<18} {:>8} {:>10} {:>6}  {}",
            row.name,
            row.count,
            duration(row.total_ns),
            row.errors,
            latency(&row.latency)
        )?;
    }
    more_rows(out, &r.syscalls)?;
    writeln!(out, "  By thread:")?;
    writeln!(
        out,
        "  {:>8} {:<18} {:>8} {:>10} {:>6}  LATENCY",
        "TID", "SYSCALL", "CALLS", "TIME", "ERRORS"
    )?;
    for row in head(&r.syscalls_by_thread) {
        writeln!(
            out,
            "  {:>8} {:<18} {:>8} {:>10} {:>6}  {}",
            row.tid.unwrap_or_default(),
            row.name,
            row.count,
            duration(row.total_ns),
            row.errors,
            latency(&row.latency)
        )?;
    }
    more_rows(out, &r.syscalls_by_thread)?;
    in_flight(r, out)
}

/// "In flight at the end: futex on 5 threads (longest 2.10 s), read on 1 (1.00 s)".
fn in_flight(r: &KernelReport, out: &mut String) -> std::fmt::Result {
    if r.syscalls_in_flight.is_empty() {
        return Ok(());
    }
    // Rows are longest first: the first of each name is its longest.
    let mut by_name: Vec<(&str, u64, u64)> = Vec::new();
    for row in &r.syscalls_in_flight {
        match by_name.iter_mut().find(|(n, _, _)| *n == row.name) {
            Some(entry) => entry.1 += 1,
            None => by_name.push((&row.name, 1, row.for_ns)),
        }
    }
    let parts: Vec<String> = by_name
        .iter()
        .map(|(name, n, longest)| {
            let threads = if *n == 1 { "thread" } else { "threads" };
            format!("{name} on {n} {threads} (longest {})", duration(*longest))
        })
        .collect();
    writeln!(
        out,
        "  In flight at the end (not in the rows above): {}",
        parts.join(", ")
    )
}

/// "n N, mean …, p50 ≤ …, p90 ≤ …, p99 ≤ …" (bucket upper bounds; "> 550 s" past the last one).
fn latency(l: &BucketedLatency) -> String {
    if l.count == 0 {
        return "none".to_string();
    }
    let le = |v: Option<u64>| {
        v.map_or_else(|| "> 550 s".to_string(), |ns| format!("≤ {}", duration(ns)))
    };
    format!(
        "n {}, mean {}, p50 {}, p90 {}, p99 {}",
        l.count,
        opt(l.mean_ns),
        le(l.p50_le_ns),
        le(l.p90_le_ns),
        le(l.p99_le_ns)
    )
}
