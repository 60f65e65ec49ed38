//! What the operator console shows of personal contact data (`docs/behaviour.md#ops-console`):
//! phone numbers as `+1•••••0142` (country digit and last four), e-mail addresses as
//! `j•••@example.com` (first letter and domain). Applied to single fields, to free text
//! (transcripts, error messages) and to every string of a JSON payload, so no page of the console
//! prints a whole number or address.

/// The masking character (a bullet, so a masked value never looks like a real one).
const DOT: &str = "•";
/// Hidden digits are shown as this many dots whatever their count (the length is not leaked).
const HIDDEN: usize = 5;

/// A phone number: `+` and 8 to 15 digits, or 10 to 15 digits, separators (` -().`) allowed.
/// Returns the masked form, or `None` when `s` is not a phone number.
pub fn phone(s: &str) -> Option<String> {
    let t = s.trim();
    let plus = t.starts_with('+');
    let body = if plus { &t[1..] } else { t };
    if body.is_empty()
        || !body.starts_with(|c: char| c.is_ascii_digit() || c == '(')
        || !body
            .chars()
            .all(|c| c.is_ascii_digit() || " -().".contains(c))
    {
        return None;
    }
    let digits: String = body.chars().filter(char::is_ascii_digit).collect();
    // Without a country code a number has at least 10 digits (NANP), so 8-digit dates
    // (`2026-11-30`) are not taken for one.
    let min = if plus { 8 } else { 10 };
    if !(min..=15).contains(&digits.len()) {
        return None;
    }
    let tail = &digits[digits.len() - 4..];
    let head = if plus {
        format!("+{}", &digits[..1])
    } else {
        String::new()
    };
    Some(format!("{head}{}{tail}", DOT.repeat(HIDDEN)))
}

/// An e-mail address (`local@domain.tld`): `l•••@domain.tld`; `None` when `s` is not one.
pub fn email(s: &str) -> Option<String> {
    let t = s.trim();
    let (local, domain) = t.split_once('@')?;
    let first = local.chars().next()?;
    let valid_local = local
        .chars()
        .all(|c| c.is_alphanumeric() || "._%+-'".contains(c));
    let valid_domain = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    (valid_local && valid_domain).then(|| format!("{first}{}@{domain}", DOT.repeat(3)))
}

/// `s` with every phone number and e-mail address in it masked; other text unchanged.
/// Phone numbers are recognised as runs of digits and separators holding 8 to 15 digits, so
/// dates, times, ids and amounts (fewer digits, or letters around them) stay readable.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for token in split_keeping_spaces(s) {
        out.push_str(&mask_token(token));
    }
    out
}

/// Every string in `v` (keys kept) passed through [`text`].
pub fn json(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(text(s)),
        Value::Array(a) => Value::Array(a.iter().map(json).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), json(v))).collect()),
        other => other.clone(),
    }
}

/// Splits at whitespace, keeping the whitespace as tokens of its own, except where a space
/// sits inside a phone number (`+1 415 555 0142`): digits/separators runs stay one token.
fn split_keeping_spaces(s: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut start = 0;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            let numeric_run = phone_run_len(&s[start..i]) && next_is_digit(bytes, i);
            if !numeric_run || c != b' ' {
                if start < i {
                    tokens.push(&s[start..i]);
                }
                tokens.push(&s[i..i + 1]);
                start = i + 1;
            }
        }
        i += 1;
    }
    if start < s.len() {
        tokens.push(&s[start..]);
    }
    tokens
}

/// Whether `t` so far could be (the start of) a phone number.
fn phone_run_len(t: &str) -> bool {
    !t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_digit() || "+-().".contains(c) || c == ' ')
        && t.chars().any(|c| c.is_ascii_digit())
}

fn next_is_digit(bytes: &[u8], i: usize) -> bool {
    bytes
        .get(i + 1)
        .is_some_and(|c| c.is_ascii_digit() || *c == b'(')
}

/// Masks one whitespace-free token (or a phone number with spaces), keeping punctuation around
/// it (`<a@b.co>,` → `<a•••@b.co>,`).
fn mask_token(token: &str) -> String {
    if let Some(masked) = phone(token) {
        return masked;
    }
    let lead = token.len()
        - token
            .trim_start_matches(|c: char| "<([\"'".contains(c))
            .len();
    let trail = token.len()
        - token
            .trim_end_matches(|c: char| ">)]\"',;:.!?".contains(c))
            .len();
    if lead + trail >= token.len() {
        return token.to_string();
    }
    let core = &token[lead..token.len() - trail];
    match phone(core).or_else(|| email(core)) {
        Some(masked) => format!(
            "{}{masked}{}",
            &token[..lead],
            &token[token.len() - trail..]
        ),
        None => token.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("+14155550142", Some("+1•••••0142")),
            ("+1 (415) 555-0142", Some("+1•••••0142")),
            ("+442071838750", Some("+4•••••8750")),
            ("4155550142", Some("•••••0142")),
            ("12345", None),
            ("2026-11-30", None),
            ("+1234567890123456", None),
            ("call-123", None),
            ("", None),
            ("+", None),
        ];
        for (input, want) in cases {
            assert_eq!(phone(input).as_deref(), *want, "{input:?}");
        }
    }

    #[test]
    fn email_table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("jane.doe@example.com", Some("j•••@example.com")),
            ("o'neil+vet@clinic.co.uk", Some("o•••@clinic.co.uk")),
            ("@example.com", None),
            ("jane@localhost", None),
            ("jane@.com", None),
            ("not an email", None),
        ];
        for (input, want) in cases {
            assert_eq!(email(input).as_deref(), *want, "{input:?}");
        }
    }

    #[test]
    fn text_masks_numbers_and_addresses_in_prose_only() {
        let cases: &[(&str, &str)] = &[
            (
                "Call me at +1 415 555 0142, or jane@example.com.",
                "Call me at +1•••••0142, or j•••@example.com.",
            ),
            ("<bob@vet.org>", "<b•••@vet.org>"),
            ("(415) 555-0142", "•••••0142"),
            (
                "Appointment 2026-11-30 at 10:30, 3 pills",
                "Appointment 2026-11-30 at 10:30, 3 pills",
            ),
            ("id 9f3c-2a1b", "id 9f3c-2a1b"),
            ("", ""),
            ("line1\nTel: +14155550142\n", "line1\nTel: +1•••••0142\n"),
        ];
        for (input, want) in cases {
            assert_eq!(text(input), *want, "{input:?}");
        }
    }

    #[test]
    fn json_masks_every_string_and_keeps_keys() {
        let v = serde_json::json!({
            "customer": {"number": "+14155550142", "email": "jane@example.com"},
            "messages": ["hi, my number is 415-555-0142", 3, null],
            "+14155550142": true
        });
        let m = json(&v);
        assert_eq!(m["customer"]["number"], "+1•••••0142");
        assert_eq!(m["customer"]["email"], "j•••@example.com");
        assert_eq!(m["messages"][0], "hi, my number is •••••0142");
        assert_eq!(m["messages"][1], 3);
        assert!(m.get("+14155550142").is_some());
    }
}
