//! Text from senders made storable: PostgreSQL `text` and `jsonb` cannot hold U+0000, so a NUL
//! in a payload would make every write of it fail, forever (`docs/behaviour.md#inbox`). NULs
//! are removed, everything else is kept as sent.

use std::borrow::Cow;

use serde_json::Value;

/// `s` without U+0000 (borrowed when there is none).
pub fn storable(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', ""))
    } else {
        Cow::Borrowed(s)
    }
}

/// Removes U+0000 from every string and object key of a JSON value, in place.
pub fn make_json_storable(v: &mut Value) {
    match v {
        Value::String(s) => {
            if s.contains('\0') {
                *s = s.replace('\0', "");
            }
        }
        Value::Array(items) => items.iter_mut().for_each(make_json_storable),
        Value::Object(map) => {
            if map.keys().any(|k| k.contains('\0')) {
                let entries = std::mem::take(map);
                for (k, mut value) in entries {
                    make_json_storable(&mut value);
                    map.insert(storable(&k).into_owned(), value);
                }
            } else {
                map.values_mut().for_each(make_json_storable);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn storable_removes_only_nul() {
        let cases = [
            ("user.created", "user.created"),
            ("user.created\u{0}", "user.created"),
            ("\u{0}a\u{0}b\u{0}", "ab"),
            ("", ""),
            ("émoji 🐶 tab\t", "émoji 🐶 tab\t"),
        ];
        for (input, want) in cases {
            assert_eq!(storable(input), want, "{input:?}");
        }
        assert!(matches!(storable("clean"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_strings_and_keys_lose_nul_everywhere() {
        let mut v = json!({
            "type": "user.created\u{0000}",
            "data": {"first\u{0000}_name": "A\u{0000}da", "list": ["x\u{0000}", 1, null, true]},
        });
        make_json_storable(&mut v);
        assert_eq!(
            v,
            json!({"type": "user.created", "data": {"first_name": "Ada", "list": ["x", 1, null, true]}})
        );
        assert!(!v.to_string().contains("\\u0000"));
    }
}
