//! Reading a tool's arguments: trimmed non-empty strings (numbers accepted, e.g. a phone number
//! sent as digits), booleans (also `"true"`/`"yes"`), integers; and the list of missing
//! required ones for the `validation_error` answer.

use serde_json::{json, Value};

use super::Reply;

pub fn text(args: &Value, key: &str) -> Option<String> {
    match args.get(key)? {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn flag(args: &Value, key: &str) -> Option<bool> {
    match args.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        _ => None,
    }
}

pub fn int(args: &Value, key: &str) -> Option<i64> {
    match args.get(key)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.round() as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The required arguments present, or the `validation_error` answer naming the missing ones.
pub fn required<const N: usize>(
    args: &Value,
    keys: [&str; N],
    prompt: &str,
) -> Result<[String; N], Reply> {
    let values = keys.map(|k| text(args, k));
    let missing: Vec<&str> = keys
        .iter()
        .zip(values.iter())
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| *k)
        .collect();
    if !missing.is_empty() {
        return Err(Reply::fail(
            "validation_error",
            prompt,
            json!({"missing": missing}),
        ));
    }
    Ok(values.map(Option::unwrap_or_default))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading() {
        let a = json!({"s": " x ", "e": "  ", "n": 4155550100u64, "b": "yes", "i": "14", "f": 3.6});
        assert_eq!(text(&a, "s").as_deref(), Some("x"));
        assert_eq!(text(&a, "e"), None);
        assert_eq!(text(&a, "n").as_deref(), Some("4155550100"));
        assert_eq!(flag(&a, "b"), Some(true));
        assert_eq!(int(&a, "i"), Some(14));
        assert_eq!(int(&a, "f"), Some(4));
        let r = required(&a, ["s", "e", "zz"], "Please.").unwrap_err();
        assert_eq!(r.error, Some("validation_error"));
        assert_eq!(r.data, json!({"missing": ["e", "zz"]}));
        assert_eq!(required(&a, ["s"], "Please.").unwrap(), ["x".to_string()]);
    }
}
