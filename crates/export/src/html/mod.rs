//! The self-contained HTML report (`goroscope report REC --html -o FILE.html`): one file with
//! its styles and script inline and no reference to anything outside it (it opens offline, and
//! can be mailed or attached to an issue), made of
//! - the report's JSON as `report --json` prints it (the same values, without indentation), in a
//!   `<script type="application/json" id="report-data">` (for people who want the data, and for
//!   tests);
//! - every section of the report, walked from that JSON ([`sections`]): tables of numbers,
//!   sortable lists, "not captured" where the recording's level did not capture a part; the
//!   sampled latency ([`sampled`]) and the latency attribution ([`attribution`]) as views of
//!   their own (percentiles with intervals beside the runtime's histogram, stacked shares);
//! - static SVG charts drawn here ([`charts`]): latency histograms, goroutines by creation site,
//!   thread on/off CPU;
//! - a zoomable overview timeline of Ps and threads, built from the analysis' timeline by a
//!   collector of bounded size ([`overview`]) and drawn by the page's small script.
//!
//! Every number shown that comes from the report carries `data-metric="json.path"` and
//! `data-value` (its JSON text), so a test can compare the page with the JSON.
//!
//! It lives in the export crate, not in crates/output beside the text and JSON printers,
//! because the timeline needs a `timeline::Collector` on a replay of the recording, which the
//! printers (renderers of a finished `Report`) do not have; the export crate already replays a
//! recording with a collector attached and writes files through [`crate::OutputFile`].

mod attribution;
mod charts;
mod columns;
mod escape;
pub mod overview;
mod sampled;
mod sections;
mod values;

use std::fmt::Write as _;

use anyhow::{Context as _, Result};
use serde_json::Value;

use escape::html;
pub use overview::{Overview, OverviewData};
use values::{join, scalar};

/// Sections shown after the others (what the recording is, rather than what the program did).
const LAST: [&str; 2] = ["capture", "recording"];

const CSS: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

/// Catches every script error and `console.error` from the start of the page and shows them in
/// `#page-errors` (`data-errors` counts them): a broken page says so, to its reader and to tests.
const ERROR_TRAP: &str = r#"window.goroscopeErrors=[];
function goroscopeError(m){window.goroscopeErrors.push(String(m));var e=document.getElementById('page-errors');if(e){e.setAttribute('data-errors',String(window.goroscopeErrors.length));e.textContent='Errors in this page: '+window.goroscopeErrors.join('; ');e.hidden=false;}}
window.addEventListener('error',function(e){goroscopeError((e.message||'error')+' at '+(e.filename||'')+':'+(e.lineno||0));});
window.addEventListener('unhandledrejection',function(e){goroscopeError('unhandled rejection: '+e.reason);});
(function(){var ce=console.error;console.error=function(){goroscopeError(Array.prototype.join.call(arguments,' '));ce.apply(console,arguments);};})();"#;

/// The page for `report_json` (the text `report --json` prints for the recording) and the
/// recording's `overview` timeline.
pub fn render(report_json: &str, overview: &OverviewData) -> Result<String> {
    let report: Value = serde_json::from_str(report_json).context("reading the report's JSON")?;
    // Embedded without the pretty printer's indentation (a third of a large report's bytes).
    let compact = serde_json::to_string(&report).context("serializing the report")?;
    let overview_json =
        serde_json::to_string(overview).context("serializing the overview timeline")?;
    let mut out = String::with_capacity(report_json.len() * 2 + overview_json.len() + (64 << 10));
    let program = report
        .pointer("/recording/target/path")
        .and_then(Value::as_str)
        .map(|p| p.rsplit('/').next().unwrap_or(p))
        .filter(|p| !p.is_empty())
        .unwrap_or("recording");
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta name=\"generator\" content=\"goroscope {}\">\
         <meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>goroscope report: {}</title><script>{ERROR_TRAP}</script><style>{CSS}</style>\
         </head>\n<body>\n<div id=\"page-errors\" class=\"errors\" data-errors=\"0\" hidden></div>\n",
        env!("CARGO_PKG_VERSION"),
        html(program)
    );
    header(&mut out, &report, program);
    nav(&mut out, &report);
    timeline(&mut out, &report, overview);
    charts_section(&mut out, &report);
    out.push_str("<main>\n");
    let mut report = report;
    sections::mask_uncaptured(&mut report);
    let keys = report.as_object().into_iter().flat_map(|o| o.iter());
    for (k, v) in keys.clone().filter(|(k, _)| !LAST.contains(&k.as_str())) {
        if v.is_object() || v.is_array() {
            view(&mut out, &report, k, v);
        }
    }
    for (k, v) in keys.filter(|(k, _)| LAST.contains(&k.as_str())) {
        sections::section(&mut out, k, k, v, 2);
    }
    out.push_str("</main>\n");
    let _ = write!(
        out,
        "<script type=\"application/json\" id=\"report-data\">{}</script>\n\
         <script type=\"application/json\" id=\"timeline-data\">{}</script>\n\
         <script>{SCRIPT}</script>\n</body></html>\n",
        escape::json_in_script(&compact),
        escape::json_in_script(&overview_json)
    );
    Ok(out)
}

/// Section `key` of the report: its own view where it has one (and was captured), else the
/// generic walk of its JSON.
fn view(out: &mut String, report: &Value, key: &str, v: &Value) {
    let captured = v.get("captured") != Some(&Value::Bool(false));
    match key {
        "sched_latency_sampled" if captured => sampled::view(out, report, v),
        "latency_attribution" if captured => attribution::view(out, v),
        _ => sections::section(out, key, key, v, 2),
    }
}

fn get<'a>(report: &'a Value, pointer: &str) -> Option<&'a Value> {
    report.pointer(pointer)
}

/// `captured: false` at `pointer`: the reason.
fn not_captured<'a>(report: &'a Value, pointer: &str) -> Option<&'a str> {
    let v = get(report, pointer)?;
    (v.get("captured") == Some(&Value::Bool(false)))
        .then(|| v.get("why").and_then(Value::as_str).unwrap_or(""))
}

fn not_captured_note(out: &mut String, why: &str) {
    let _ = write!(
        out,
        "<p class=\"not-captured\">Not captured: {}</p>",
        html(why)
    );
}

/// A number of the report by JSON pointer, as a tagged element.
fn metric(report: &Value, pointer: &str) -> String {
    let path = pointer.trim_start_matches('/').replace('/', ".");
    let key = path.rsplit('.').next().unwrap_or("");
    match get(report, pointer) {
        Some(v) => scalar(&path, key, v),
        None => "<span class=\"none\">—</span>".to_string(),
    }
}

fn header(out: &mut String, report: &Value, program: &str) {
    let text = |p: &str| get(report, p).and_then(Value::as_str).unwrap_or("");
    let _ =
        write!(
        out,
        "<header><h1>goroscope report: {}</h1><p class=\"target\">{} · {} · level {} · traced {} \
         · {} events · {}</p>",
        html(program),
        html(text("/recording/target/path")),
        html(text("/go_version")),
        html(text("/recording/level")),
        metric(report, "/duration_ns"),
        metric(report, "/events/total"),
        html(&match (text("/recording/end_reason"), text("/recording/target_exit")) {
            ("", _) => "no end record (interrupted?)".to_string(),
            (r, "") => format!("ended: {r}"),
            (r, e) => format!("ended: {r} ({e})"),
        }),
    );
    if let Some(Value::Array(warnings)) = get(report, "/recording/warnings") {
        for w in warnings.iter().filter_map(Value::as_str) {
            let _ = write!(out, "<p class=\"warning\">Warning: {}</p>", html(w));
        }
    }
    out.push_str("<div class=\"cards\">");
    let card = |out: &mut String, label: &str, body: String| {
        let _ = write!(
            out,
            "<div class=\"card\"><div class=\"label\">{}</div><div class=\"big\">{body}</div></div>",
            html(label)
        );
    };
    card(out, "Traced", metric(report, "/duration_ns"));
    if not_captured(report, "/goroutines").is_none() {
        card(
            out,
            "Goroutines created",
            metric(report, "/goroutines/created"),
        );
    }
    card(
        out,
        "Live at end",
        metric(report, "/goroutines/live_at_end"),
    );
    if not_captured(report, "/sched_latency").is_none() {
        card(
            out,
            "Sched latency p50",
            metric(report, "/sched_latency/p50_ns"),
        );
        card(out, "p99", metric(report, "/sched_latency/p99_ns"));
        card(out, "max", metric(report, "/sched_latency/max_ns"));
    }
    card(out, "Threads (peak)", metric(report, "/threads/max_live"));
    card(out, "Events", metric(report, "/events/total"));
    card(out, "Dropped", metric(report, "/drops/total"));
    out.push_str("</div></header>\n");
}

fn nav(out: &mut String, report: &Value) {
    out.push_str("<nav><a href=\"#timeline\">Timeline</a> <a href=\"#charts\">Charts</a>");
    let keys = report.as_object().into_iter().flat_map(|o| o.iter());
    let in_page_order = keys
        .clone()
        .filter(|(k, _)| !LAST.contains(&k.as_str()))
        .chain(keys.filter(|(k, _)| LAST.contains(&k.as_str())));
    for (k, v) in in_page_order {
        if v.is_object() || v.is_array() {
            let _ = write!(
                out,
                " <a href=\"#s-{}\">{}</a>",
                html(k),
                html(&values::title(k))
            );
        }
    }
    out.push_str("</nav>\n");
}

fn timeline(out: &mut String, report: &Value, o: &OverviewData) {
    out.push_str(
        "<section id=\"timeline\"><h2>Timeline of Ps and threads</h2>\
         <p class=\"help\">Each P row shows the goroutines it ran (a colour per goroutine), each \
         thread row its time on CPU (red edge: switched out involuntarily). Wheel or the buttons \
         to zoom, drag to pan, double-click to reset; <code>#t=START,END</code> (ns) after the \
         file name opens a window of the trace.</p>\
         <div class=\"controls\"><button type=\"button\" data-zoom=\"in\">Zoom in</button> \
         <button type=\"button\" data-zoom=\"out\">Zoom out</button> \
         <button type=\"button\" data-zoom=\"reset\">Reset</button> \
         <span id=\"timeline-range\"></span></div>\
         <div id=\"timeline-chart\"></div>",
    );
    let capture = |fact: &str| {
        get(report, &format!("/capture/{fact}"))
            .and_then(Value::as_str)
            .unwrap_or("unknown")
    };
    for (fact, what) in [
        (
            "goroutine_scheduling",
            "P rows (which goroutine each P ran)",
        ),
        ("context_switches", "thread rows (on/off CPU)"),
    ] {
        if capture(fact) == "absent" {
            let _ = write!(
                out,
                "<p class=\"not-captured\">Not captured: {what}: this recording's level does not \
                 capture {} (record with --level default or higher).</p>",
                html(&fact.replace('_', " "))
            );
        }
    }
    let mut notes = Vec::new();
    match &o.slices {
        _ if o.tracks.is_empty() => {}
        Some(s) => notes.push(format!(
            "Exact: all {} slices (P runs and thread on-CPU slices) are drawn.",
            s.len()
        )),
        None => notes.push(format!(
            "Downsampled: the recording has {} slices, more than the {} this page keeps, so each \
             row shows the busy share of {} time bins of {} each instead of the slices.",
            o.slices_seen,
            o.max_slices,
            o.bins,
            goroscope_output::format::duration(o.bin_ns)
        )),
    }
    match &o.pauses {
        _ if o.tracks.is_empty() => {}
        Some(p) if p.is_empty() => {}
        Some(p) => notes.push(format!("Red bands: the {} stop-the-world pauses.", p.len())),
        None => notes.push(format!(
            "The {} stop-the-world pauses are more than the {} this page draws: none are drawn.",
            o.pauses_seen, o.max_pauses
        )),
    }
    if o.ps_omitted > 0 || o.threads_omitted > 0 {
        notes.push(format!(
            "Left out: {} Ps and {} threads (only the {} threads most on CPU are shown).",
            o.ps_omitted,
            o.threads_omitted,
            o.tracks.iter().filter(|t| t.kind == "thread").count()
        ));
    }
    if o.tracks.is_empty() {
        notes
            .push("Nothing to draw: the recording holds no P runs or thread on-CPU slices.".into());
    }
    let _ = write!(
        out,
        "<p class=\"note\" id=\"timeline-note\" data-downsampled=\"{}\">{}</p></section>",
        o.slices.is_none(),
        html(&notes.join(" "))
    );
}

fn charts_section(out: &mut String, report: &Value) {
    out.push_str("<section id=\"charts\"><h2>Charts</h2><div class=\"grid\">");
    let figure = |out: &mut String, title: &str, body: &str| {
        let _ = write!(
            out,
            "<figure><figcaption>{}</figcaption>{body}</figure>",
            html(title)
        );
    };
    let hist = |out: &mut String, title: &str, parent: &str, list: &str, bound: &str| {
        let body = match not_captured(report, parent) {
            Some(why) => {
                let mut s = String::new();
                not_captured_note(&mut s, why);
                s
            }
            None => match get(report, &format!("{parent}/{list}")) {
                Some(Value::Array(b)) if !b.is_empty() => {
                    let path = join(&parent.trim_start_matches('/').replace('/', "."), list);
                    charts::histogram(&path, b, bound, title)
                }
                _ => "<p class=\"none\">none measured</p>".to_string(),
            },
        };
        figure(out, title, &body);
    };
    hist(
        out,
        "Scheduling latency (runnable → running), goroscope's",
        "/sched_latency",
        "histogram",
        "le_ns",
    );
    hist(
        out,
        "Time slices (how long a goroutine ran)",
        "/scheduler/preemption/time_slices",
        "histogram",
        "le_ns",
    );
    if let Some(Value::Array(hs)) = get(report, "/runtime_metrics/histograms") {
        if let Some(i) = hs
            .iter()
            .position(|h| h.get("name").and_then(Value::as_str) == Some("/sched/latencies:seconds"))
        {
            hist(
                out,
                "Scheduling latency, the runtime's own (/sched/latencies, at the end)",
                &format!("/runtime_metrics/histograms/{i}/at_end"),
                "buckets",
                "upper_ns",
            );
        }
    }

    let site = |r: &Value| {
        let f = r.get("function").and_then(Value::as_str).unwrap_or("");
        let file = r.get("file").and_then(Value::as_str).unwrap_or("");
        let line = r.get("line").and_then(Value::as_u64).unwrap_or(0);
        (
            f.to_string(),
            goroscope_output::format::site(f, file, line as u32),
        )
    };
    let body = match (
        not_captured(report, "/goroutines"),
        get(report, "/goroutines/by_creation_site"),
    ) {
        // Creations not captured: the goroutines live at the end, from the snapshots.
        (Some(why), Some(Value::Array(rows))) if !rows.is_empty() => {
            let mut s = String::new();
            not_captured_note(&mut s, &format!("creations and exits: {why}"));
            s.push_str(&charts::bars(
                "goroutines.by_creation_site",
                rows,
                site,
                &[("live_at_end", "live")],
                &[("live_at_end", "live at end")],
                20,
                "goroutines live at the end by creation site",
            ));
            s
        }
        (Some(why), _) => {
            let mut s = String::new();
            not_captured_note(&mut s, why);
            s
        }
        (None, Some(Value::Array(rows))) if !rows.is_empty() => {
            let mut s = charts::bars(
                "goroutines.by_creation_site",
                rows,
                site,
                &[("exited", "exited"), ("live_at_end", "live")],
                &[("created", "created"), ("live_at_end", "live")],
                20,
                "goroutines by creation site",
            );
            s.push_str(&charts::legend(&[
                ("exited", "exited"),
                ("live", "live at end"),
            ]));
            s
        }
        _ => "<p class=\"none\">none</p>".to_string(),
    };
    figure(out, "Goroutines by creation site (top 20)", &body);

    let thread = |r: &Value| {
        let tid = r.get("tid").and_then(Value::as_u64).unwrap_or(0);
        let m = r.get("m_id").and_then(Value::as_i64);
        let origin = r.get("origin").and_then(Value::as_str).unwrap_or("");
        let name = match m {
            Some(m) => format!("tid {tid} (M{m})"),
            None => format!("tid {tid}"),
        };
        (name.clone(), format!("{name}, {origin}"))
    };
    let body = match (
        not_captured(report, "/threads/cpu"),
        get(report, "/threads/per_thread"),
    ) {
        (Some(why), _) => {
            let mut s = String::new();
            not_captured_note(&mut s, why);
            s
        }
        (None, Some(Value::Array(rows))) if !rows.is_empty() => {
            let mut s = charts::bars(
                "threads.per_thread",
                rows,
                thread,
                &[("on_cpu_ns", "on"), ("off_cpu_ns", "off")],
                &[("on_cpu_ns", "on"), ("off_cpu_ns", "off")],
                24,
                "threads on and off CPU",
            );
            s.push_str(&charts::legend(&[("on", "on CPU"), ("off", "off CPU")]));
            s
        }
        _ => "<p class=\"none\">none</p>".to_string(),
    };
    figure(out, "Threads on and off CPU (top 24)", &body);
    out.push_str("</div></section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVIL: &str = "f</script><script>alert(1)</script><img src=x onerror=alert(2)>&'\"";

    fn page(json: &Value) -> String {
        let overview = OverviewData {
            duration_ns: 10,
            bin_ns: 1000,
            bins: 1,
            tracks: vec![],
            ps_omitted: 0,
            threads_omitted: 0,
            slices_seen: 0,
            max_slices: 10,
            slices: Some(vec![]),
            functions: vec![EVIL.to_string()],
            goroutines: Default::default(),
            pauses_seen: 0,
            max_pauses: 10,
            pauses: Some(vec![]),
            pause_reasons: vec![],
        };
        render(&serde_json::to_string_pretty(json).unwrap(), &overview).unwrap()
    }

    #[test]
    fn names_never_become_markup() {
        let json = serde_json::json!({
            "duration_ns": 10,
            "goroutines": {"by_creation_site": [{"function": EVIL, "file": EVIL, "line": 1,
                "created": 1, "exited": 0, "live_at_end": 1}]},
            "recording": {"target": {"path": EVIL}, "warnings": [EVIL]},
        });
        let html = page(&json);
        // Only the page's own four scripts, and no element from a name.
        assert_eq!(html.matches("<script").count(), 4);
        assert!(!html.contains("<img"));
        assert!(html.contains("f&lt;/script&gt;&lt;script&gt;alert(1)"));
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(html.starts_with(
            "<!doctype html>\n<html lang=\"en\"><head><meta name=\"generator\" content=\"goroscope"
        ));
    }

    #[test]
    fn sampled_latency_and_attribution_have_views_of_their_own() {
        let json = serde_json::json!({
            "sched_latency_sampled": {"precision": "estimated", "one_in": 8, "samples": 40,
                "latency": {"p50": {"value_ns": 1000, "ci_low_ns": 900, "ci_high_ns": 1100},
                    "max_ns": 5000},
                "by_site": [{"function": "main.f", "file": "m.go", "line": 3, "samples": 40,
                    "total_wait_ns": 40000, "share_of_waiting": 1.0, "sample_share": 1.0,
                    "sample_share_ci": [0.9, 1.0]}],
                "by_stack": [{"frames": [{"function": "runtime.gopark", "file": "p.go", "line": 1}],
                    "stop": "blocked", "samples": 40}]},
            "latency_attribution": {"basis": "every_wait", "waits": 2, "total_ns": 400,
                "causes": {"stw_ns": 100, "kernel_ns": 0, "syscall_ns": 0, "ps_busy_ns": 300,
                    "other_ns": 0},
                "exactness": [{"cause": "stw", "exact": true, "how": "pauses"}],
                "by_site": [{"function": "main.f", "file": "m.go", "line": 3, "waits": 2,
                    "total_ns": 400, "causes": {"stw_ns": 100, "kernel_ns": 0, "syscall_ns": 0,
                    "ps_busy_ns": 300, "other_ns": 0}}]},
            "runtime_metrics": {"histograms": [{"name": "/sched/latencies:seconds",
                "window": {"count": 320, "p50_ns": 1024,
                    "buckets": [{"lower_ns": 512, "upper_ns": 1024, "count": 320}]}}]},
        });
        let html = page(&json);
        for (path, value) in [
            ("sched_latency_sampled.latency.p50.ci_low_ns", "900"),
            ("sched_latency_sampled.by_site.0.sample_share_ci.0", "0.9"),
            ("sched_latency_sampled.by_stack.0.samples", "40"),
            ("runtime_metrics.histograms.0.window.p50_ns", "1024"),
            ("runtime_metrics.histograms.0.window.buckets.0.count", "320"),
            ("latency_attribution.causes.ps_busy_ns", "300"),
            ("latency_attribution.by_site.0.causes.stw_ns", "100"),
        ] {
            let attrs = format!("data-metric=\"{path}\" data-value=\"{value}\"");
            assert!(html.contains(&attrs), "{attrs}");
        }
        assert!(html.contains("main.f (m.go:3)"));
        assert!(html.contains("runtime.gopark (p.go:1)"));
        assert!(html.contains("style=\"width:75.0000%\" data-share=\"0.75\""));
        assert!(html.contains("data-exact=\"true\">exact"));
        // Not captured: the generic note, no view.
        let json =
            serde_json::json!({"latency_attribution": {"captured": false, "why": "monitor"}});
        let html = page(&json);
        assert!(html.contains("Not captured: monitor") && !html.contains("class=\"stack\""));
    }

    #[test]
    fn numbers_carry_their_json_path() {
        let json = serde_json::json!({
            "duration_ns": 1_500_000,
            "sched_latency": {"count": 3, "p50_ns": 1200, "histogram": [{"le_ns": 2048, "count": 3}]},
            "scheduler": {"idle": {"samples": {"global_runq": {"mean": 830.5}}}},
        });
        let html = page(&json);
        for (path, value) in [
            ("duration_ns", "1500000"),
            ("sched_latency.count", "3"),
            ("sched_latency.p50_ns", "1200"),
            ("sched_latency.histogram.0.count", "3"),
            ("sched_latency.histogram.0.le_ns", "2048"),
            ("scheduler.idle.samples.global_runq.mean", "830.5"),
        ] {
            let attrs = format!("data-metric=\"{path}\" data-value=\"{value}\"");
            assert!(html.contains(&attrs), "{attrs}");
        }
    }
}
