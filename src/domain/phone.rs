//! Phone numbers to E.164, which VAPI requires (`customer.number`), and masked for logs. The one
//! normaliser of the service: scheduling, dispatch and the VAPI answers all use it.

/// Normalises `raw` to E.164. Numbers without a country code are taken as US/Canada (10 digits,
/// or 11 starting with 1) — every clinic we serve is in NANP. Anything else is refused with a
/// message that identifies the input by its last digits only (the message is stored on the row
/// and may be logged: no full phone numbers in logs).
pub fn normalize_e164(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    let invalid = || format!("Invalid phone number format: {}", mask(trimmed));
    let plus = trimmed.starts_with('+');
    let mut digits = String::new();
    for (i, c) in trimmed.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => {}
            ' ' | '-' | '(' | ')' | '.' => {}
            _ => return Err(invalid()),
        }
    }
    if plus {
        if (8..=15).contains(&digits.len()) && !digits.starts_with('0') {
            return Ok(format!("+{digits}"));
        }
        return Err(invalid());
    }
    match digits.len() {
        10 if !digits.starts_with('0') && !digits.starts_with('1') => Ok(format!("+1{digits}")),
        11 if digits.starts_with('1') => Ok(format!("+{digits}")),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_e164;

    #[test]
    fn table() {
        let ok = [
            ("(408) 555-0123", "+14085550123"),
            ("408.555.0123", "+14085550123"),
            ("1-408-555-0123", "+14085550123"),
            ("+14085550123", "+14085550123"),
            ("+44 20 7946 0958", "+442079460958"),
        ];
        for (input, want) in ok {
            assert_eq!(normalize_e164(input).as_deref(), Ok(want), "{input}");
        }
        for bad in [
            "",
            "555-0123",
            "call me",
            "+0123456789",
            "0408555012",
            "408555012x",
        ] {
            assert!(normalize_e164(bad).is_err(), "{bad}");
        }
    }
}

/// A phone number (or any identifier) reduced to its last 4 characters, for logs and errors.
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= 4 {
        return "***".into();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("***{tail}")
}

#[cfg(test)]
mod mask_tests {
    use super::*;

    #[test]
    fn masks_all_but_the_last_four() {
        assert_eq!(mask("+14155550123"), "***0123");
        assert_eq!(mask("123"), "***");
        let err = normalize_e164("555-01x3-9999").unwrap_err();
        assert!(!err.contains("555-01"), "{err}");
        assert!(err.ends_with("***9999"), "{err}");
    }
}
