//! The report's sections as HTML, walked from the report's JSON itself (the same value
//! `report --json` prints), so that the page shows every field the schema has, in its order,
//! with no second list to keep in step: an object is a table of its numbers and a subsection per
//! nested object; a list of rows is a table that sorts on a click on its column titles; a part
//! the recording did not capture (`"captured": false, "why": ...`) says so and shows none of its
//! (meaningless) numbers, as the text report does.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::escape::html;
use super::values::{join, scalar, sort_key, title};

/// Parts that say "not captured" for what the events would have given but still hold numbers
/// from elsewhere: `goroutines` (live goroutines, sites and leaks from the goroutine snapshots;
/// its meaningless `created` and `exited` are removed by [`mask_uncaptured`]).
const PARTIAL: &[&str] = &["goroutines"];

/// Removes from `report` (a copy the page renders; the embedded JSON keeps everything) the
/// numbers that a part not captured holds as zeros standing for "not measured", as the text
/// report leaves them out (docs/report-schema.md says which).
pub fn mask_uncaptured(report: &mut Value) {
    let uncaptured = |v: &Value| v.get("captured") == Some(&Value::Bool(false));
    let strip = |v: Option<&mut Value>, keys: &[&str]| {
        if let Some(Value::Object(o)) = v {
            for k in keys {
                o.shift_remove(*k);
            }
        }
    };
    let strip_rows = |v: Option<&mut Value>, keys: &[&str]| {
        if let Some(Value::Array(rows)) = v {
            for row in rows {
                strip(Some(row), keys);
            }
        }
    };
    if report.get("goroutines").is_some_and(uncaptured) {
        strip(report.get_mut("goroutines"), &["created", "exited"]);
        strip_rows(
            report.pointer_mut("/goroutines/by_creation_site"),
            &["created", "exited"],
        );
    }
    if report.pointer("/threads/cpu").is_some_and(uncaptured) {
        strip(report.get_mut("threads"), &["inferred_switch_ins"]);
        strip_rows(
            report.pointer_mut("/threads/per_thread"),
            &[
                "on_cpu_ns",
                "off_cpu_ns",
                "involuntary_switches",
                "voluntary_switches",
                "wakeups",
            ],
        );
    }
}

/// Renders section `key` (at `path`) of the report as HTML into `out`; `depth` picks the
/// heading level (2 for a top-level section).
pub fn section(out: &mut String, path: &str, key: &str, v: &Value, depth: usize) {
    let h = depth.clamp(2, 6);
    let id = html(&path.replace('.', "-"));
    let _ = write!(
        out,
        "<section class=\"part d{depth}\" id=\"s-{id}\"><h{h}>{}</h{h}>",
        html(&title(key))
    );
    body(out, path, key, v, depth);
    out.push_str("</section>\n");
}

fn body(out: &mut String, path: &str, key: &str, v: &Value, depth: usize) {
    match v {
        Value::Object(map) => {
            if not_captured(out, map) {
                if !PARTIAL.contains(&path) {
                    return;
                }
                // What the part holds from elsewhere (the goroutine snapshots) still shows.
                let mut rest = map.clone();
                rest.remove("why");
                object(out, path, &rest, depth);
                return;
            }
            object(out, path, map, depth);
        }
        Value::Array(items) => array(out, path, key, items),
        scalar_value => {
            let _ = write!(out, "<p>{}</p>", scalar(path, key, scalar_value));
        }
    }
}

/// "Not captured: why", for a part the recording's level did not capture; true if so.
pub fn not_captured(out: &mut String, map: &Map<String, Value>) -> bool {
    if map.get("captured") != Some(&Value::Bool(false)) {
        return false;
    }
    let why = map.get("why").and_then(Value::as_str).unwrap_or("");
    let _ = write!(
        out,
        "<p class=\"not-captured\">Not captured{}{}</p>",
        if why.is_empty() { "" } else { ": " },
        html(why)
    );
    true
}

fn object(out: &mut String, path: &str, map: &Map<String, Value>, depth: usize) {
    let is_leaf = |v: &Value| match v {
        Value::Array(a) => a.iter().all(|x| !x.is_object() && !x.is_array()),
        Value::Object(_) => false,
        _ => true,
    };
    let leaves: Vec<(&String, &Value)> = map
        .iter()
        .filter(|(k, v)| is_leaf(v) && k.as_str() != "captured")
        .collect();
    if !leaves.is_empty() {
        out.push_str("<table class=\"kv\"><tbody>");
        for (k, v) in leaves {
            let p = join(path, k);
            let _ = write!(out, "<tr><th>{}</th><td>", html(&title(k)));
            match v {
                Value::Array(items) => scalar_list(out, &p, k, items),
                v => out.push_str(&scalar(&p, k, v)),
            }
            out.push_str("</td></tr>");
        }
        out.push_str("</tbody></table>");
    }
    for (k, v) in map.iter().filter(|(_, v)| !is_leaf(v)) {
        section(out, &join(path, k), k, v, depth + 1);
    }
}

fn scalar_list(out: &mut String, path: &str, key: &str, items: &[Value]) {
    if items.is_empty() {
        out.push_str("<span class=\"none\">none</span>");
        return;
    }
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&scalar(&join(path, &i.to_string()), key, item));
    }
}

fn array(out: &mut String, path: &str, key: &str, items: &[Value]) {
    if items.is_empty() {
        out.push_str("<p class=\"none\">none</p>");
        return;
    }
    if !items.iter().all(Value::is_object) {
        out.push_str("<p>");
        scalar_list(out, path, key, items);
        out.push_str("</p>");
        return;
    }
    table(out, path, items);
}

/// Rows a table shows at most (a report of a program with a hundred thousand live goroutines
/// lists each; the page shows the first ones, says so, and the embedded JSON holds them all).
pub const MAX_ROWS: usize = 1000;

/// A list of rows as a sortable table: the columns are the union of the rows' keys in order of
/// first appearance (optional fields are absent from some rows).
pub fn table(out: &mut String, path: &str, all_rows: &[Value]) {
    let rows = &all_rows[..all_rows.len().min(MAX_ROWS)];
    let mut columns: Vec<&str> = Vec::new();
    for row in rows {
        for k in row.as_object().into_iter().flat_map(|o| o.keys()) {
            if !columns.contains(&k.as_str()) {
                columns.push(k);
            }
        }
    }
    let _ = write!(
        out,
        "<div class=\"scroll\"><table class=\"rows sortable\" data-rows=\"{}\"><thead><tr>",
        rows.len()
    );
    for c in &columns {
        let _ = write!(out, "<th title=\"sort by {0}\">{0}</th>", html(&title(c)));
    }
    out.push_str("</tr></thead><tbody>");
    for (i, row) in rows.iter().enumerate() {
        let row_path = join(path, &i.to_string());
        out.push_str("<tr>");
        for c in &columns {
            let v = row.get(*c).unwrap_or(&Value::Null);
            let p = join(&row_path, c);
            let class = if v.is_number() { " class=\"n\"" } else { "" };
            let _ = write!(out, "<td{class} data-sort=\"{}\">", html(&sort_key(v)));
            match v {
                Value::Array(items) if items.iter().all(|x| !x.is_object()) => {
                    scalar_list(out, &p, c, items)
                }
                Value::Array(items) => {
                    let _ = write!(out, "<details><summary>{} rows</summary>", items.len());
                    table(out, &p, items);
                    out.push_str("</details>");
                }
                Value::Object(map) => {
                    out.push_str("<details><summary>details</summary>");
                    if !not_captured(out, map) {
                        object(out, &p, map, 6);
                    }
                    out.push_str("</details>");
                }
                v => out.push_str(&scalar(&p, c, v)),
            }
            out.push_str("</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    if all_rows.len() > rows.len() {
        let _ = write!(
            out,
            "<p class=\"note\">The first {} of {} rows (in the report's order; sorting sorts \
             these). All of them are in the embedded JSON report and in <code>report \
             --json</code>.</p>",
            rows.len(),
            all_rows.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_cut_and_say_so() {
        let rows: Vec<Value> = (0..MAX_ROWS + 5)
            .map(|i| serde_json::json!({"goid": i, "state": "waiting"}))
            .collect();
        let mut out = String::new();
        table(&mut out, "goroutines.live", &rows);
        assert_eq!(out.matches("<tr>").count(), MAX_ROWS + 1); // + the titles
        assert!(out.contains(&format!("The first {MAX_ROWS} of {} rows", MAX_ROWS + 5)));
        assert!(out.contains("data-metric=\"goroutines.live.999.goid\""));
        assert!(!out.contains("goroutines.live.1000.goid"));
    }

    #[test]
    fn a_part_not_captured_shows_why_and_no_numbers() {
        let v = serde_json::json!({"captured": false, "why": "monitor <level>", "count": 0});
        let mut out = String::new();
        section(&mut out, "sched_latency", "sched_latency", &v, 2);
        assert!(out.contains("Not captured: monitor &lt;level&gt;"), "{out}");
        assert!(!out.contains("data-metric"), "{out}");
    }
}

#[cfg(test)]
mod mask_tests {
    use super::*;

    #[test]
    fn uncaptured_zeros_are_not_shown_but_snapshot_numbers_are() {
        let mut v = serde_json::json!({
            "goroutines": {"created": 0, "exited": 0, "live_at_end": 807,
                "by_creation_site": [{"function": "f", "created": 0, "exited": 0, "live_at_end": 800}],
                "captured": false, "why": "monitor"},
            "threads": {"created": 3, "inferred_switch_ins": 0,
                "per_thread": [{"tid": 1, "on_cpu_ns": 0, "off_cpu_ns": 0, "wakeups": 0}],
                "cpu": {"captured": false, "why": "no sched_switch"}},
        });
        mask_uncaptured(&mut v);
        let mut out = String::new();
        for k in ["goroutines", "threads"] {
            section(&mut out, k, k, &v[k], 2);
        }
        assert!(out.contains("Not captured: monitor"), "{out}");
        assert!(out.contains("Not captured: no sched_switch"), "{out}");
        for shown in [
            "goroutines.live_at_end",
            "goroutines.by_creation_site.0.live_at_end",
            "threads.created",
            "threads.per_thread.0.tid",
        ] {
            assert!(out.contains(&format!("data-metric=\"{shown}\"")), "{shown}");
        }
        for hidden in [
            "goroutines.created",
            "by_creation_site.0.created",
            "on_cpu_ns",
            "wakeups",
            "inferred",
        ] {
            assert!(!out.contains(hidden), "{hidden} shown");
        }
    }
}
