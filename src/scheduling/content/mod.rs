//! What a scheduled follow-up carries: the owner's contact details, the discharge email
//! (docs/behaviour.md#email-content) and the call variables (docs/behaviour.md#call-variables).
//! Pure; content is generated once, at scheduling time, and dispatch sends the stored strings
//! unchanged.
//!
//! Owns: the email's data (`email`) and its markup (`scheduling/templates/discharge_email.html`),
//! the VAPI variable values (`call_variables`), and the small text helpers
//! both use. May import: `domain`, external crates.

mod call_variables;
mod email;

pub use call_variables::{call_variables, entity_variables, snake_keys, CallContext};
pub use email::{discharge_email, Branding, ContentError, EmailContent};

use serde_json::Value;

/// `^[^\s@]+@[^\s@]+\.[^\s@]+$` without a regex dependency.
pub fn valid_email(raw: &str) -> bool {
    let s = raw.trim();
    if s.is_empty() || s.chars().any(char::is_whitespace) {
        return false;
    }
    let mut at = s.split('@');
    match (at.next(), at.next(), at.next()) {
        (Some(local), Some(domain), None) => {
            !local.is_empty()
                && domain
                    .split_once('.')
                    .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
                && !domain.ends_with('.')
        }
        _ => false,
    }
}

/// First non-blank string among the candidates (client row, then the case's patient snapshot,
/// then the AI extraction), trimmed.
pub fn first_present<'a>(candidates: impl IntoIterator<Item = Option<&'a str>>) -> Option<String> {
    candidates
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|s| !s.is_empty())
        .map(str::to_string)
}

/// The email's HTML escaping: `&`, `<`, `>`, `"` and `'` (as `&#39;`). The template engine uses
/// this too, so stored emails keep the exact bytes they always had.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Plain-text part (docs/behaviour.md#email-content): drop style/script blocks and every tag, collapse whitespace. Entities
/// stay encoded, as before.
pub fn html_to_text(html: &str) -> String {
    // One pass over the bytes: text runs are copied whole, a tag is skipped to its `>`, a
    // style/script block to its closing tag. Every search moves forward, so the time is linear
    // in the input whatever its characters (`<`, `>` and the tag names are ASCII, hence always
    // at character boundaries).
    let bytes = html.as_bytes();
    let mut out = String::with_capacity(html.len() / 2);
    let mut i = 0;
    while i < html.len() {
        let Some(lt) = html[i..].find('<') else {
            out.push_str(&html[i..]);
            break;
        };
        out.push_str(&html[i..i + lt]);
        i += lt;
        let skipped = skipped_block(&bytes[i..]).or_else(|| html[i..].find('>').map(|gt| gt + 1));
        match skipped {
            Some(n) => {
                out.push(' ');
                i += n;
            }
            // An unclosed tag: nothing after it is text.
            None => break,
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The length of the `<style>`/`<script>` block `rest` starts with (tag names in any case),
/// up to and including its closing tag; `None` when it is not one or is never closed.
fn skipped_block(rest: &[u8]) -> Option<usize> {
    let name: &[u8] = [b"style".as_slice(), b"script".as_slice()]
        .into_iter()
        .find(|n| {
            rest.get(1..=n.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(n))
        })?;
    let close_len = name.len() + 3;
    rest.windows(close_len)
        .position(|w| {
            w.starts_with(b"</")
                && w.ends_with(b">")
                && w[2..2 + name.len()].eq_ignore_ascii_case(name)
        })
        .map(|at| at + close_len)
}

/// A trimmed, non-blank string at `key` of a JSON object.
fn s<'a>(v: Option<&'a Value>, key: &str) -> Option<&'a str> {
    v.and_then(|v| v.get(key))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The trimmed, non-blank strings at `key`: an array of strings, or one string.
fn str_list(v: Option<&Value>, key: &str) -> Vec<String> {
    match v.and_then(|v| v.get(key)) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Some(Value::String(one)) if !one.trim().is_empty() => vec![one.trim().to_string()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_table() {
        for (raw, want) in [
            ("a@b.co", true),
            (" owner@example.com ", true),
            ("no-at.example.com", false),
            ("a@b", false),
            ("a b@c.d", false),
            ("a@@b.c", false),
            ("@b.c", false),
        ] {
            assert_eq!(valid_email(raw), want, "{raw}");
        }
    }

    #[test]
    fn html_to_text_drops_blocks_and_tags() {
        assert_eq!(
            html_to_text("<style>p{x:1}</style><p>Hi  <b>there</b></p><SCRIPT>x()</SCRIPT>é &amp;"),
            "Hi there é &amp;"
        );
    }

    #[test]
    fn html_to_text_table() {
        let cases = [
            ("", ""),
            ("plain  text\n", "plain text"),
            ("a<br>b", "a b"),
            ("<p>Ünïcödé <i>ñ</i> 日本語</p>", "Ünïcödé ñ 日本語"),
            // A tag name cut by a multi-byte character right after `<`.
            ("x<é>y", "x y"),
            ("<Style type=\"t\">p{}</STYLE>after", "after"),
            ("<script>if (a < b) {}</script>ok", "ok"),
            // An unclosed block is an ordinary tag; an unclosed tag ends the text.
            (
                "<style>no end, then <b>bold</b> text",
                "no end, then bold text",
            ),
            ("before <a href=", "before"),
            // Only `<style`/`<script` prefixes start a block.
            ("<stylesheet>x</stylesheet>y", "x y"),
            ("<sty>z", "z"),
        ];
        for (html, text) in cases {
            assert_eq!(html_to_text(html), text, "{html:?}");
        }
    }

    /// Thousands of tags between non-ASCII text: the same answer as a short input repeated
    /// (the old loop copied the rest of the input at every such tag).
    #[test]
    fn html_to_text_long_non_ascii_input() {
        let unit = "<p>Déjà vu — 日本</p>";
        let html = unit.repeat(5_000);
        let text = html_to_text(&html);
        assert_eq!(text, vec!["Déjà vu — 日本"; 5_000].join(" "));
    }
}
