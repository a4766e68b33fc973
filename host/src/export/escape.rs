//! Escaping strings read from a manifest (or a plugin) into the documents
//! moshead writes: the Markdown model card today, an HTML report later.
//! Every string a manifest carries goes through one of these, so a hostile
//! manifest cannot inject markup: no raw HTML, no link, no broken table.
//!
//! - [`html`]: text in HTML (and the raw-HTML-free prose of Markdown).
//! - [`md_text`]: prose in Markdown: [`html`], plus table cells and lines
//!   kept whole (`|` escaped, line breaks as spaces).
//! - [`md_code`]: an identifier as a Markdown code span, whatever
//!   backticks it holds (a code span shows HTML literally).
//! - [`md_fence`]: a fenced code block that its text cannot close.

/// `s` with `&`, `<`, `>`, `"` and `'` as HTML character references, so it
/// is text in any HTML context (element content or a quoted attribute).
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Prose for Markdown: `&`, `<` and `>` as references (no raw HTML, no
/// autolink; quotes need no escaping outside an attribute, so an
/// apostrophe stays one), `|` escaped (a table cell stays one cell) and
/// line breaks as spaces (a line stays one line: no heading, list or fence
/// can start).
pub fn md_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// `s` as a Markdown code span: delimited by one more backtick than its
/// longest run of backticks (padded with a space when it starts or ends
/// with one), `|` escaped for tables, line breaks as spaces, and `&`, `<`,
/// `>` as references (a code span shows them literally, but a renderer
/// that is not CommonMark might not: an identifier holding them is
/// hostile, and shown safe rather than pretty).
pub fn md_code(s: &str) -> String {
    let s = s
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\n', '\r'], " ")
        .replace('|', "\\|");
    let fence = "`".repeat(longest_run(&s, '`') + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// `text` in a fenced code block of language `lang`, its fence longer than
/// any run of backticks in the text.
pub fn md_fence(lang: &str, text: &str) -> String {
    let fence = "`".repeat(longest_run(text, '`').max(2) + 1);
    format!("{fence}{lang}\n{text}\n{fence}")
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for x in s.chars() {
        run = if x == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_stays_text() {
        assert_eq!(
            html(r#"<script>alert('x' & "y")</script>"#),
            "&lt;script&gt;alert(&#39;x&#39; &amp; &quot;y&quot;)&lt;/script&gt;"
        );
        assert_eq!(md_text("a | b\n# c"), "a \\| b # c");
        assert_eq!(md_text("plain words, kept"), "plain words, kept");
        assert_eq!(
            md_text("my-study's \"x\" & <y>"),
            "my-study's \"x\" &amp; &lt;y&gt;"
        );
        assert_eq!(md_code("mos"), "`mos`");
        assert_eq!(md_code("a`b"), "``a`b``");
        assert_eq!(md_code("`x"), "`` `x ``");
        assert_eq!(md_code("<img src=x>|y"), "`&lt;img src=x&gt;\\|y`");
        assert_eq!(md_fence("sh", "moshead train"), "```sh\nmoshead train\n```");
        assert_eq!(md_fence("sh", "a\n```\nb"), "````sh\na\n```\nb\n````");
    }
}
