//! Escaping for everything the page inserts: text and attribute values (site and function
//! names can hold `<`, `&` and quotes: Go generics print as `main.f[...]`, closures as
//! `main.f.func1`, and a file path may hold anything), and JSON inside a `<script>` element
//! (where `</script>` or `<!--` in a string would end or change the element).

use std::fmt::Write as _;

/// `s` as HTML text or a double- or single-quoted attribute value.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than white space are not allowed in HTML text.
            c if c.is_control() && !matches!(c, '\n' | '\t' | '\r') => {
                let _ = write!(out, "&#xFFFD;");
            }
            c => out.push(c),
        }
    }
    out
}

/// JSON text made safe inside `<script type="application/json">`: `<`, `>` and `&` appear in
/// JSON only inside strings, where `\u003c` etc. mean the same characters to `JSON.parse`; the
/// line and paragraph separators are escaped too for older script parsers.
pub fn json_in_script(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes() {
        assert_eq!(
            html(r#"main.f[go.shape.*uint8]<'a&"b'>"#),
            "main.f[go.shape.*uint8]&lt;&#39;a&amp;&quot;b&#39;&gt;"
        );
        assert_eq!(html("a\u{0}b"), "a&#xFFFD;b");
    }

    #[test]
    fn json_cannot_close_its_script_and_still_parses() {
        let value = serde_json::json!({"f": "</script><script>alert(1)</script><!-- & \u{2028}"});
        let text = json_in_script(&value.to_string());
        assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}
