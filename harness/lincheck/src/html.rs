//! A self-contained HTML page drawing a [`Report`], like Porcupine's visualization: a lane per
//! client, each operation a bar over its real-time interval, the (longest partial)
//! linearization drawn across the bars with the state after each step, the operations that
//! could not be placed marked, and details on hover.
//!
//! The page needs no network. When its script has drawn the page it sets the attribute
//! `data-weft-rendered="ok"` on the `<html>` element; a script error sets `data-weft-error`.

use crate::report::Report;

/// The page for `report`, titled `title` (for example the history's file name).
pub fn render(report: &Report, title: &str) -> String {
    render_with_story(report, title, "")
}

/// The page for `report` with a preformatted text shown above the timeline (weft uses it for
/// a counterexample's commands, interleaving and violation). An empty story is not shown.
pub fn render_with_story(report: &Report, title: &str, story: &str) -> String {
    let data = serde_json::to_string(report).unwrap_or_else(|_| "null".to_string());
    let title_json = serde_json::to_string(title).unwrap_or_else(|_| "\"\"".to_string());
    let fills = [
        ("__TITLE_TEXT__", escape_html(title)),
        ("__TITLE_JSON__", escape_script(&title_json)),
        ("__REPORT_JSON__", escape_script(&data)),
        ("__STORY_TEXT__", escape_html(story)),
    ];
    // One pass over the template, so that filled-in text is never searched for markers.
    let mut out = String::with_capacity(TEMPLATE.len() + data.len() + 256);
    let mut rest = TEMPLATE;
    while let Some((at, marker, fill)) = fills
        .iter()
        .filter_map(|(m, f)| rest.find(m).map(|at| (at, *m, f)))
        .min_by_key(|(at, _, _)| *at)
    {
        out.push_str(&rest[..at]);
        out.push_str(fill);
        rest = &rest[at + marker.len()..];
    }
    out.push_str(rest);
    out
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JSON inside a `<script>` element: `</` and `<!--` must not appear.
fn escape_script(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

const TEMPLATE: &str = include_str!("report.html");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_data_cannot_close_the_script_element() {
        let escaped = escape_script("{\"a\":\"</script><!--\"}");
        assert!(!escaped.contains("</"));
        assert!(!escaped.contains("<!--"));
        assert_eq!(escape_html("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }
}
