//! The page's static charts, drawn here as inline SVG (no script, no library): latency
//! histograms, goroutines by creation site, and each thread's time on and off CPU. Every bar
//! and label carries the `data-metric` of the report number it shows.

use std::fmt::Write as _;

use serde_json::Value;

use super::escape::html;
use super::values::{format_number, join, metric_attrs};

const W: f64 = 640.0;

fn number(v: &Value, key: &str) -> Option<serde_json::Number> {
    match v.get(key) {
        Some(Value::Number(n)) => Some(n.clone()),
        _ => None,
    }
}

fn u(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// A text element showing the number at `path` (under `key`, for its unit).
fn label(x: f64, y: f64, anchor: &str, path: &str, key: &str, n: &serde_json::Number) -> String {
    format!(
        "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\"{}>{}</text>",
        metric_attrs(path, n),
        html(&format_number(key, n))
    )
}

/// A histogram of `buckets` (at `path`: rows with `count` and an upper bound under `bound`,
/// e.g. `le_ns`), one bar per bucket, with its bound under every few bars.
pub fn histogram(path: &str, buckets: &[Value], bound: &str, what: &str) -> String {
    let (left, top, bottom) = (60.0, 12.0, 34.0);
    let h = 190.0;
    let plot_w = W - left - 10.0;
    let plot_h = h - top - bottom;
    let max_i = (0..buckets.len()).max_by_key(|&i| u(&buckets[i], "count"));
    let max = max_i.map_or(0, |i| u(&buckets[i], "count")).max(1) as f64;
    let n = buckets.len().max(1) as f64;
    let bw = plot_w / n;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {h}\" width=\"{W}\" height=\"{h}\" role=\"img\" \
         aria-label=\"{}\">",
        html(what)
    );
    let _ = write!(
        s,
        "<line class=\"axis\" x1=\"{left}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\"/>\
         <line class=\"axis\" x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{y}\"/>",
        y = top + plot_h,
        x2 = left + plot_w
    );
    if let Some(i) = max_i {
        if let Some(c) = number(&buckets[i], "count") {
            let p = join(&join(path, &i.to_string()), "count");
            s.push_str(&label(left - 6.0, top + 10.0, "end", &p, "count", &c));
        }
    }
    // A bound under every few bars, never two closer than that.
    let every = buckets.len().div_ceil(7).max(1);
    for (i, b) in buckets.iter().enumerate() {
        let bp = join(path, &i.to_string());
        let count = u(b, "count") as f64;
        let bh = plot_h * count / max;
        let x = left + i as f64 * bw;
        if let (Some(c), Some(le)) = (number(b, "count"), number(b, bound)) {
            let _ = write!(
                s,
                "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\"{}>\
                 <title>≤ {}: {}</title></rect>",
                x + 1.0,
                top + plot_h - bh,
                (bw - 2.0).max(1.0),
                metric_attrs(&join(&bp, "count"), &c),
                html(&format_number(bound, &le)),
                html(&format_number("count", &c)),
            );
            if i % every == 0 {
                s.push_str(&label(
                    x + bw / 2.0,
                    top + plot_h + 16.0,
                    "middle",
                    &join(&bp, bound),
                    bound,
                    &le,
                ));
            }
        }
    }
    let _ = write!(
        s,
        "<text class=\"caption\" x=\"{left}\" y=\"{}\">bucket upper bound →</text></svg>",
        h - 4.0
    );
    s
}

/// One horizontal bar per row of `rows` (at `path`): `label(row)` on the left, then a bar made
/// of the segments `parts` (key, CSS class) one after the other, then the values `shown` (key,
/// word after it). At most `limit` rows, the largest first.
pub fn bars(
    path: &str,
    rows: &[Value],
    name: impl Fn(&Value) -> (String, String),
    parts: &[(&str, &str)],
    shown: &[(&str, &str)],
    limit: usize,
    what: &str,
) -> String {
    let total = |r: &Value| parts.iter().map(|(k, _)| u(r, k)).sum::<u64>();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(total(&rows[i])));
    order.truncate(limit);
    let max = order
        .iter()
        .map(|&i| total(&rows[i]))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let (left, row_h) = (250.0, 20.0);
    let plot_w = W - left - 150.0;
    let h = row_h * order.len() as f64 + 6.0;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {h}\" width=\"{W}\" height=\"{h}\" role=\"img\" \
         aria-label=\"{}\">",
        html(what)
    );
    for (row, &i) in order.iter().enumerate() {
        let r = &rows[i];
        let rp = join(path, &i.to_string());
        let y = 3.0 + row as f64 * row_h;
        let (text, tip) = name(r);
        let _ = write!(
            s,
            "<text class=\"name\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}<title>{}</title></text>",
            left - 6.0,
            y + 13.0,
            html(&clip(&text, 38)),
            html(&tip)
        );
        let mut x = left;
        for (key, class) in parts {
            let Some(n) = number(r, key) else { continue };
            let w = plot_w * u(r, key) as f64 / max;
            let _ = write!(
                s,
                "<rect class=\"{class}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\"{}>\
                 <title>{}: {}</title></rect>",
                row_h - 5.0,
                metric_attrs(&join(&rp, key), &n),
                html(key),
                html(&format_number(key, &n))
            );
            x += w;
        }
        let _ = write!(s, "<text x=\"{:.1}\" y=\"{:.1}\">", x + 5.0, y + 13.0);
        for (j, (key, word)) in shown.iter().enumerate() {
            let Some(n) = number(r, key) else { continue };
            let _ = write!(
                s,
                "{}<tspan{}>{}</tspan> {}",
                if j > 0 { ", " } else { "" },
                metric_attrs(&join(&rp, key), &n),
                html(&format_number(key, &n)),
                html(word)
            );
        }
        s.push_str("</text>");
    }
    s.push_str("</svg>");
    s
}

/// `s` cut to `max` characters with an ellipsis (the full text is in the tooltip).
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let tail: String = s
        .chars()
        .rev()
        .take(max - 1)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{tail}")
}

/// A legend: (CSS class, text) swatches.
pub fn legend(items: &[(&str, &str)]) -> String {
    let mut s = String::from("<p class=\"legend\">");
    for (class, text) in items {
        let _ = write!(
            s,
            "<svg width=\"12\" height=\"12\"><rect class=\"{class}\" width=\"12\" height=\"12\"/></svg> {} ",
            html(text)
        );
    }
    s.push_str("</p>");
    s
}
