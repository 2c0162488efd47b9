//! The `latency_attribution` section as its own view: the measured wait split into its causes
//! (stw, kernel, syscall, ps_busy, other: they sum to it) as a stacked bar, in total and per
//! creation site of the waiting goroutine, with how each cause was measured (exact or an
//! estimate, and from what) and the basis (every wait, or the runtime's sampled waits); then
//! who held the Ps during `ps_busy`. Each bar segment carries its cause's `data-metric` and
//! `data-share` (its ns over the bar's total), so a test can check the drawing against the JSON.

use std::fmt::Write as _;

use serde_json::Value;

use super::columns::{kv, percent, table, Col};
use super::escape::html;
use super::values::{format_number, join, metric_attrs, scalar};

const PATH: &str = "latency_attribution";

/// The causes in the report's precedence order: JSON key and CSS class.
const CAUSES: [(&str, &str); 5] = [
    ("stw_ns", "stw"),
    ("kernel_ns", "kernel"),
    ("syscall_ns", "syscall"),
    ("ps_busy_ns", "ps_busy"),
    ("other_ns", "other"),
];

/// A stacked bar of `causes` (at `path`), each segment as wide as its share of their sum.
fn stacked(path: &str, causes: &Value) -> String {
    let ns = |k: &str| causes.get(k).and_then(Value::as_u64).unwrap_or(0);
    let total: u64 = CAUSES.iter().map(|(k, _)| ns(k)).sum();
    let mut s = format!("<div class=\"stack\" data-total=\"{total}\">");
    for (key, class) in CAUSES {
        let Some(Value::Number(n)) = causes.get(key) else {
            continue;
        };
        let share = if total == 0 {
            0.0
        } else {
            ns(key) as f64 / total as f64
        };
        let _ = write!(
            s,
            "<span class=\"seg c-{class}\" data-cause=\"{class}\" style=\"width:{:.4}%\" \
             data-share=\"{share}\" title=\"{class}: {} ({})\"{}></span>",
            share * 100.0,
            html(&format_number(key, n)),
            percent(share),
            metric_attrs(&join(path, key), n),
        );
    }
    s.push_str("</div>");
    s
}

fn legend() -> String {
    let mut s = String::from("<p class=\"legend\">");
    for (_, class) in CAUSES {
        let _ = write!(s, "<span class=\"swatch c-{class}\"></span> {class} ");
    }
    s.push_str("</p>");
    s
}

/// Renders the section (captured: the caller shows "not captured" otherwise).
pub fn view(out: &mut String, a: &Value) {
    let basis = a.get("basis").and_then(Value::as_str).unwrap_or("");
    let basis_text = match basis {
        "every_wait" => {
            "every runnable→running wait the recording holds (--level full)".to_string()
        }
        "samples" => format!(
            "the runtime's sampled waits, 1 in {} (--level default): the totals are the samples'",
            a.get("one_in").and_then(Value::as_u64).unwrap_or(8)
        ),
        other => other.to_string(),
    };
    let _ = write!(
        out,
        "<section class=\"part d2 view\" id=\"s-{PATH}\"><h2>Latency attribution</h2>\
         <p class=\"help\">Why goroutines waited to run: each wait split on one time axis into \
         causes, the first that covers a moment winning (stw &gt; kernel &gt; syscall &gt; \
         ps_busy &gt; other), so the causes sum exactly to the wait. Basis: <span \
         class=\"basis\" data-basis=\"{}\">{}</span>.</p>",
        html(basis),
        html(&basis_text)
    );
    kv(out, PATH, a, &["waits", "total_ns", "one_in"]);
    let causes = a.get("causes").unwrap_or(&Value::Null);
    let cpath = join(PATH, "causes");
    out.push_str("<figure id=\"attribution-total\"><figcaption>All waits</figcaption>");
    out.push_str(&stacked(&cpath, causes));
    out.push_str(&legend());
    let total: u64 = CAUSES
        .iter()
        .filter_map(|(k, _)| causes.get(*k).and_then(Value::as_u64))
        .sum();
    out.push_str(
        "<table class=\"rows\" id=\"attribution-causes\"><thead><tr><th>Cause</th><th>Wait</th>\
         <th>Share</th><th>Measured</th><th>How</th></tr></thead><tbody>",
    );
    let exactness: Vec<&Value> = a
        .get("exactness")
        .and_then(Value::as_array)
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    for (key, class) in CAUSES {
        let v = causes.get(key).unwrap_or(&Value::Null);
        let share = match (v.as_u64(), total) {
            (Some(n), t) if t > 0 => percent(n as f64 / t as f64),
            _ => "—".to_string(),
        };
        let e = exactness
            .iter()
            .find(|e| e.get("cause").and_then(Value::as_str) == Some(class));
        let exact = e.and_then(|e| e.get("exact")).and_then(Value::as_bool);
        let how = e
            .and_then(|e| e.get("how"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let _ = write!(
            out,
            "<tr data-cause=\"{class}\"><th><span class=\"swatch c-{class}\"></span> {class}</th>\
             <td class=\"n\">{}</td><td class=\"n\">{share}</td><td class=\"exact\" \
             data-exact=\"{}\">{}</td><td class=\"how\">{}</td></tr>",
            scalar(&join(&cpath, key), key, v),
            exact.map_or("unknown".into(), |b| b.to_string()),
            match exact {
                Some(true) => "exact",
                Some(false) => "not exact",
                None => "—",
            },
            html(how)
        );
    }
    out.push_str("</tbody></table></figure>");

    let rows = |k: &str| {
        a.get(k)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    };
    out.push_str(
        "<h3 id=\"attribution-by-site\">By creation site of the waiting goroutine</h3>\
         <p class=\"help\">Each site's wait split the same way; the bar is the site's own total \
         (the table sorts on any column).</p>",
    );
    let spath = join(PATH, "by_site");
    let bar = |i: usize, row: &Value| {
        format!(
            "<td class=\"bar\" data-sort=\"{}\">{}</td>",
            row.get("total_ns").and_then(Value::as_u64).unwrap_or(0),
            stacked(
                &join(&join(&spath, &i.to_string()), "causes"),
                row.get("causes").unwrap_or(&Value::Null)
            )
        )
    };
    table(
        out,
        &spath,
        rows("by_site"),
        &[
            ("Function (file:line)", Col::Site),
            ("Waits", Col::Num("waits")),
            ("Total", Col::Num("total_ns")),
            ("stw", Col::Num("causes.stw_ns")),
            ("kernel", Col::Num("causes.kernel_ns")),
            ("syscall", Col::Num("causes.syscall_ns")),
            ("ps_busy", Col::Num("causes.ps_busy_ns")),
            ("other", Col::Num("causes.other_ns")),
        ],
        Some(("Causes", &bar)),
    );
    out.push_str(&legend());

    out.push_str(
        "<h3 id=\"attribution-occupants\">Ps held during ps_busy by goroutines created at</h3>",
    );
    table(
        out,
        &join(PATH, "ps_busy_occupants"),
        rows("ps_busy_occupants"),
        &[
            ("Function (file:line)", Col::Site),
            ("Time on the Ps", Col::Num("ns")),
        ],
        None,
    );
    out.push_str("</section>\n");
}
