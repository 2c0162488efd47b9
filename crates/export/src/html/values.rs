//! One number of the report in the page: formatted for people by the unit its key names
//! (`*_ns` a duration, `*_percent` a percentage), and tagged for machines with
//! `data-metric="json.path"` and `data-value` (the JSON's own text of the number), so a test
//! (or a user) can check every number on the page against `report --json`.

use serde_json::Value;

use super::escape::html;

/// Keys ending in `_ns` that are points in time (CLOCK_MONOTONIC or Unix), not durations.
const TIMESTAMPS: &[&str] = &[
    "start_ns",
    "start_unix_ns",
    "last_ts_ns",
    "first_ns",
    "last_ns",
];

/// How a number under `key` reads.
pub fn format_number(key: &str, n: &serde_json::Number) -> String {
    if key.ends_with("_ns") && !TIMESTAMPS.contains(&key) {
        if let Some(ns) = n.as_u64() {
            return goroscope_output::format::duration(ns);
        }
    }
    if key.ends_with("_percent") {
        if let Some(p) = n.as_f64() {
            return format!("{p:.1} %");
        }
    }
    if let Some(i) = n.as_u64() {
        return thousands(&i.to_string());
    }
    if let Some(i) = n.as_i64() {
        return format!("-{}", thousands(&i.unsigned_abs().to_string()));
    }
    let f = n.as_f64().unwrap_or(f64::NAN);
    if f.fract() == 0.0 && f.abs() < 1e15 {
        thousands(&format!("{f:.0}"))
    } else {
        format!("{f:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

fn thousands(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{202f}'); // narrow no-break space
        }
        out.push(c);
    }
    out
}

/// The attributes that tie an element to the report's number at `path`.
pub fn metric_attrs(path: &str, n: &serde_json::Number) -> String {
    format!(
        " data-metric=\"{}\" data-value=\"{}\"",
        html(path),
        html(&n.to_string())
    )
}

/// A scalar as the content of an element (numbers in a `<span>` with their metric attributes).
pub fn scalar(path: &str, key: &str, v: &Value) -> String {
    match v {
        Value::Number(n) => format!(
            "<span class=\"num\"{}>{}</span>",
            metric_attrs(path, n),
            html(&format_number(key, n))
        ),
        Value::Bool(b) => (if *b { "yes" } else { "no" }).to_string(),
        Value::Null => "<span class=\"none\">—</span>".to_string(),
        Value::String(s) if s.is_empty() => "<span class=\"none\">—</span>".to_string(),
        Value::String(s) => html(s),
        _ => String::new(),
    }
}

/// The value a table sorts a cell by: the number itself, or the text.
pub fn sort_key(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => u8::from(*b).to_string(),
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.len().to_string(),
        Value::Object(o) => o.len().to_string(),
    }
}

/// `snake_case` → "Snake case", for headings and column titles.
pub fn title(key: &str) -> String {
    let mut s = key.replace('_', " ");
    if let Some(first) = s.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    s
}

/// `parent.key` (the report's paths are dotted, array indices as numbers).
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(v: Value) -> serde_json::Number {
        match v {
            Value::Number(n) => n,
            _ => unreachable!(),
        }
    }

    #[test]
    fn numbers_read_by_their_unit() {
        assert_eq!(
            format_number("p99_ns", &num(serde_json::json!(36_896_767))),
            goroscope_output::format::duration(36_896_767)
        );
        assert_eq!(
            format_number("busy_percent", &num(serde_json::json!(93.04))),
            "93.0 %"
        );
        assert_eq!(
            format_number("count", &num(serde_json::json!(1_234_567))),
            "1\u{202f}234\u{202f}567"
        );
        assert_eq!(
            format_number("mean", &num(serde_json::json!(830.5))),
            "830.5"
        );
        assert_eq!(
            format_number("start_ns", &num(serde_json::json!(1000))),
            "1\u{202f}000"
        );
    }
}
