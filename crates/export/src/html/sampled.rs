//! The `sched_latency_sampled` section as its own view: the runtime's 1-in-8 sampled waits'
//! percentiles with their 95 % intervals and sample count, beside the runtime's own
//! `/sched/latencies` over the same window (the same population: exact counts in coarse
//! buckets) as numbers and as a histogram; then where the waiting was, by creation site, start
//! function, stop stack and why it had stopped, as sortable tables; then the sampled creations.

use std::fmt::Write as _;

use serde_json::Value;

use super::charts;
use super::columns::{kv, table, Col};
use super::escape::html;
use super::values::{join, scalar};

const PATH: &str = "sched_latency_sampled";

/// The columns of `by_site[]` and `by_start[]`.
const WAITING: [(&str, Col); 8] = [
    ("Function (file:line)", Col::Site),
    ("Samples", Col::Num("samples")),
    ("Estimated transitions", Col::Num("estimated_transitions")),
    ("Total wait", Col::Num("total_wait_ns")),
    ("Share of waiting", Col::Share("share_of_waiting")),
    ("Sample share", Col::Share("sample_share")),
    ("95 % interval", Col::ShareCi("sample_share_ci")),
    ("Mean", Col::Num("mean_ns")),
];

/// The runtime's `/sched/latencies` histogram in `runtime_metrics` (its index).
fn runtime_histogram(report: &Value) -> Option<(usize, &Value)> {
    report
        .pointer("/runtime_metrics/histograms")?
        .as_array()?
        .iter()
        .enumerate()
        .find(|(_, h)| h.get("name").and_then(Value::as_str) == Some("/sched/latencies:seconds"))
}

/// Renders the section (captured: the caller shows "not captured" otherwise).
pub fn view(out: &mut String, report: &Value, s: &Value) {
    let one_in = s.get("one_in").and_then(Value::as_u64).unwrap_or(8);
    let _ = write!(
        out,
        "<section class=\"part d2 view\" id=\"s-{PATH}\"><h2>Sched latency, sampled (estimated)</h2>\
         <p class=\"help\">The runtime's own sampler: {}. Every number is an estimate from the \
         samples, with its sample count and a 95 % interval; counts scale by {one_in}, and the \
         samples of the window before each pause of the sample probe (detached while samples \
         came faster than the recording's rate limit) stand for the pause too.</p>",
        html(s.get("stands_for").and_then(Value::as_str).unwrap_or("1 in 8 transitions"))
    );
    kv(
        out,
        PATH,
        s,
        &["samples", "estimated_transitions", "one_in", "confidence"],
    );
    kv(
        out,
        &join(PATH, "sampler"),
        s.get("sampler").unwrap_or(&Value::Null),
        &[
            "attached_share",
            "attached_ns",
            "traced_ns",
            "pauses",
            "max_rate_per_s",
        ],
    );
    let latency = s.get("latency").unwrap_or(&Value::Null);
    let lpath = join(PATH, "latency");
    kv(
        out,
        &lpath,
        latency,
        &["mean_ns", "max_ns", "total_ns", "negative_as_zero"],
    );

    out.push_str("<div class=\"grid\">");
    let runtime = runtime_histogram(report);
    let window = runtime.and_then(|(i, h)| Some((i, h.get("window")?)));
    out.push_str(
        "<figure id=\"sampled-percentiles\"><figcaption>Percentiles of the sampled waits, 95 % \
         intervals, beside the runtime's /sched/latencies (same window)</figcaption>\
         <table class=\"rows\"><thead><tr><th>Percentile</th><th>Sampled</th>\
         <th>95 % interval</th><th>Runtime's /sched/latencies</th></tr></thead><tbody>",
    );
    for q in ["p50", "p90", "p99"] {
        let v = latency.get(q).unwrap_or(&Value::Null);
        let qp = join(&lpath, q);
        let get = |k: &str| v.get(k).unwrap_or(&Value::Null);
        let runtime_cell = match window {
            Some((i, w)) => {
                let key = format!("{q}_ns");
                let p = format!("runtime_metrics.histograms.{i}.window.{key}");
                scalar(&p, &key, w.get(&key).unwrap_or(&Value::Null))
            }
            None => "<span class=\"none\">not read</span>".to_string(),
        };
        let _ = write!(
            out,
            "<tr><th>{q}</th><td class=\"n\">{}</td><td class=\"n\">{} – {}</td>\
             <td class=\"n\">{runtime_cell}</td></tr>",
            scalar(&join(&qp, "value_ns"), "value_ns", get("value_ns")),
            scalar(&join(&qp, "ci_low_ns"), "ci_low_ns", get("ci_low_ns")),
            scalar(&join(&qp, "ci_high_ns"), "ci_high_ns", get("ci_high_ns")),
        );
    }
    let samples = s.get("samples").unwrap_or(&Value::Null);
    let runtime_count = match window {
        Some((i, w)) => scalar(
            &format!("runtime_metrics.histograms.{i}.window.count"),
            "count",
            w.get("count").unwrap_or(&Value::Null),
        ),
        None => "<span class=\"none\">not read</span>".to_string(),
    };
    let _ = write!(
        out,
        "<tr><th>count</th><td class=\"n\">{}</td><td></td><td class=\"n\">{runtime_count}</td>\
         </tr></tbody></table></figure>",
        scalar(&join(PATH, "samples"), "samples", samples)
    );
    out.push_str(
        "<figure id=\"sampled-runtime-histogram\"><figcaption>The runtime's /sched/latencies \
         during the recording</figcaption>",
    );
    match window {
        Some((i, w)) => match w.get("buckets") {
            Some(Value::Array(b)) if !b.is_empty() => out.push_str(&charts::histogram(
                &format!("runtime_metrics.histograms.{i}.window.buckets"),
                b,
                "upper_ns",
                "the runtime's /sched/latencies during the recording",
            )),
            _ => out.push_str("<p class=\"none\">none measured</p>"),
        },
        None => out
            .push_str("<p class=\"none\">not read (the recording holds no runtime statistics)</p>"),
    }
    out.push_str("</figure></div>");

    let rows = |k: &str| {
        s.get(k)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    };
    let mut waiting = WAITING.to_vec();
    waiting.push(("Max", Col::Num("max_ns")));
    out.push_str("<h3 id=\"sampled-by-site\">Waiting by creation site</h3>");
    table(out, &join(PATH, "by_site"), rows("by_site"), &waiting, None);
    out.push_str("<h3 id=\"sampled-by-start\">Waiting by start function</h3>");
    table(
        out,
        &join(PATH, "by_start"),
        rows("by_start"),
        &waiting,
        None,
    );
    out.push_str("<h3 id=\"sampled-by-stack\">Waiting by stop stack</h3>");
    let _ = write!(
        out,
        "<p class=\"help\">Where the goroutine had stopped before it waited (innermost frame \
         first); the top {} of {} stacks.</p>",
        rows("by_stack").len(),
        scalar(
            &join(PATH, "stacks_total"),
            "stacks_total",
            s.get("stacks_total").unwrap_or(&Value::Null)
        )
    );
    table(
        out,
        &join(PATH, "by_stack"),
        rows("by_stack"),
        &[
            ("Stop stack", Col::Frames),
            ("Stop", Col::Text("stop")),
            ("Wait reason", Col::Text("wait_reason")),
            ("Samples", Col::Num("samples")),
            ("Total wait", Col::Num("total_wait_ns")),
            ("Share of waiting", Col::Share("share_of_waiting")),
            ("Sample share", Col::Share("sample_share")),
            ("95 % interval", Col::ShareCi("sample_share_ci")),
            ("Max", Col::Num("max_ns")),
        ],
        None,
    );
    out.push_str("<h3 id=\"sampled-by-stop\">Waiting by why it had stopped</h3>");
    table(
        out,
        &join(PATH, "by_stop"),
        rows("by_stop"),
        &[
            ("Stop", Col::Text("stop")),
            ("Samples", Col::Num("samples")),
            ("Total wait", Col::Num("total_wait_ns")),
            ("Share of waiting", Col::Share("share_of_waiting")),
            ("Sample share", Col::Share("sample_share")),
            ("95 % interval", Col::ShareCi("sample_share_ci")),
        ],
        None,
    );
    if let Some(c) = s.get("creations") {
        let cpath = join(PATH, "creations");
        out.push_str("<h3 id=\"sampled-creations\">Sampled creations</h3>");
        kv(
            out,
            &cpath,
            c,
            &["sampled", "estimated", "ci_low", "ci_high"],
        );
        table(
            out,
            &join(&cpath, "by_site"),
            c.get("by_site")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[]),
            &[
                ("Function (file:line)", Col::Site),
                ("Sampled", Col::Num("sampled")),
                ("Estimated", Col::Num("estimated")),
                ("95 % low", Col::Num("ci_low")),
                ("95 % high", Col::Num("ci_high")),
            ],
            None,
        );
    }
    let _ = writeln!(
        out,
        "<p class=\"note\">Sample times: {} to {} (CLOCK_MONOTONIC).</p></section>",
        scalar(
            &join(PATH, "first_ns"),
            "first_ns",
            s.get("first_ns").unwrap_or(&Value::Null)
        ),
        scalar(
            &join(PATH, "last_ns"),
            "last_ns",
            s.get("last_ns").unwrap_or(&Value::Null)
        ),
    );
}
