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
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    let mut in_tag = false;
    while let Some(c) = rest.chars().next() {
        if !in_tag && c == '<' {
            // Skip a whole <style>/<script> block, contents included.
            let head = rest.get(..7).unwrap_or(rest).to_ascii_lowercase();
            let block = ["style", "script"]
                .into_iter()
                .find(|b| head[1..].starts_with(b));
            if let Some(b) = block {
                let close = format!("</{b}>");
                let lower = rest.to_ascii_lowercase();
                if let Some(end) = lower.find(&close) {
                    rest = &rest[end + close.len()..];
                    out.push(' ');
                    continue;
                }
            }
            in_tag = true;
        } else if in_tag && c == '>' {
            in_tag = false;
            out.push(' ');
        } else if !in_tag {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
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
}
