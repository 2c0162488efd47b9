//! Sortable tables with chosen columns (the generic walker of [`super::sections`] shows every
//! key of a row; the latency views pick, order and format theirs): a creation site or a stack
//! as one readable cell, fractions as percentages, 95 % intervals as "low – high". Every number
//! keeps its `data-metric` path, every cell its `data-sort` key (the page's script sorts on a
//! click on a column title).

use std::fmt::Write as _;

use serde_json::Value;

use super::escape::html;
use super::values::{join, metric_attrs, scalar, sort_key, title};

/// What a column shows of each row.
#[derive(Debug, Clone, Copy)]
pub enum Col {
    /// The number under this key (or dotted path: `causes.stw_ns`), by its unit.
    Num(&'static str),
    /// The fraction under this key, as a percentage.
    Share(&'static str),
    /// `[low, high]` fractions under this key (a 95 % interval), as percentages.
    ShareCi(&'static str),
    /// `function (file:line)` of the row.
    Site,
    /// The `frames[]` of the row, innermost first, one per line.
    Frames,
    /// The string under this key.
    Text(&'static str),
}

/// A fraction as a percentage, tagged with its number.
pub fn share(path: &str, v: &Value) -> String {
    match v {
        Value::Number(n) => format!(
            "<span class=\"num\"{}>{}</span>",
            metric_attrs(path, n),
            percent(n.as_f64().unwrap_or(0.0))
        ),
        _ => "<span class=\"none\">—</span>".to_string(),
    }
}

/// `0.0123` → "1.23 %" (more digits for small shares, which the report lists too).
pub fn percent(f: f64) -> String {
    let p = f * 100.0;
    if p != 0.0 && p.abs() < 0.1 {
        format!("{p:.3} %")
    } else {
        format!("{p:.1} %")
    }
}

fn site(row: &Value) -> String {
    let f = row.get("function").and_then(Value::as_str).unwrap_or("");
    let file = row.get("file").and_then(Value::as_str).unwrap_or("");
    let line = row.get("line").and_then(Value::as_u64).unwrap_or(0);
    goroscope_output::format::site(f, file, line as u32)
}

/// The value at the dotted `key` of `row` (Null if absent).
fn field<'a>(row: &'a Value, key: &str) -> &'a Value {
    key.split('.')
        .try_fold(row, |v, k| v.get(k))
        .unwrap_or(&Value::Null)
}

/// The `<td>` of `col` for `row` (at `row_path`).
fn cell(col: Col, row_path: &str, row: &Value) -> String {
    let null = Value::Null;
    let (sort, body, numeric) = match col {
        Col::Num(k) => {
            let v = field(row, k);
            let unit = k.rsplit('.').next().unwrap_or(k);
            (sort_key(v), scalar(&join(row_path, k), unit, v), true)
        }
        Col::Share(k) => {
            let v = row.get(k).unwrap_or(&null);
            (sort_key(v), share(&join(row_path, k), v), true)
        }
        Col::ShareCi(k) => match row.get(k) {
            Some(Value::Array(ci)) if ci.len() == 2 => {
                let p = join(row_path, k);
                (
                    sort_key(&ci[0]),
                    format!(
                        "{} – {}",
                        share(&join(&p, "0"), &ci[0]),
                        share(&join(&p, "1"), &ci[1])
                    ),
                    true,
                )
            }
            _ => (String::new(), "<span class=\"none\">—</span>".into(), false),
        },
        Col::Site => {
            let s = site(row);
            (s.clone(), html(&s), false)
        }
        Col::Frames => {
            let frames: Vec<String> = row
                .get("frames")
                .and_then(Value::as_array)
                .map(|fs| fs.iter().map(site).collect())
                .unwrap_or_default();
            let body = if frames.is_empty() {
                "<span class=\"none\">(no stack)</span>".to_string()
            } else {
                frames
                    .iter()
                    .map(|f| html(f))
                    .collect::<Vec<_>>()
                    .join("<br>")
            };
            (frames.first().cloned().unwrap_or_default(), body, false)
        }
        Col::Text(k) => {
            let v = row.get(k).unwrap_or(&null);
            (sort_key(v), scalar(&join(row_path, k), k, v), false)
        }
    };
    format!(
        "<td{} data-sort=\"{}\">{body}</td>",
        if numeric { " class=\"n\"" } else { "" },
        html(&sort)
    )
}

/// A column after the chosen ones: its title, and its `<td>` for row `i`.
pub type Extra<'a> = (&'a str, &'a dyn Fn(usize, &Value) -> String);

/// `rows` (at `path`) as a sortable table of `cols` (title, column), with `extra` cells
/// (title, cell for row `i`) after them; "none" when empty.
pub fn table(
    out: &mut String,
    path: &str,
    rows: &[Value],
    cols: &[(&str, Col)],
    extra: Option<Extra<'_>>,
) {
    if rows.is_empty() {
        out.push_str("<p class=\"none\">none</p>");
        return;
    }
    let _ = write!(
        out,
        "<div class=\"scroll\"><table class=\"rows sortable\" data-rows=\"{}\"><thead><tr>",
        rows.len()
    );
    for (t, _) in cols {
        let _ = write!(out, "<th title=\"sort by {0}\">{0}</th>", html(t));
    }
    if let Some((t, _)) = extra {
        let _ = write!(out, "<th title=\"sort by {0}\">{0}</th>", html(t));
    }
    out.push_str("</tr></thead><tbody>");
    for (i, row) in rows.iter().enumerate() {
        let row_path = join(path, &i.to_string());
        out.push_str("<tr>");
        for (_, col) in cols {
            out.push_str(&cell(*col, &row_path, row));
        }
        if let Some((_, f)) = extra {
            out.push_str(&f(i, row));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
}

/// The scalars `keys` of `v` (at `path`) as a two-column table, titles from the keys.
pub fn kv(out: &mut String, path: &str, v: &Value, keys: &[&str]) {
    out.push_str("<table class=\"kv\"><tbody>");
    for k in keys {
        if let Some(x) = v.get(*k) {
            let _ = write!(
                out,
                "<tr><th>{}</th><td>{}</td></tr>",
                html(&title(k)),
                scalar(&join(path, k), k, x)
            );
        }
    }
    out.push_str("</tbody></table>");
}
