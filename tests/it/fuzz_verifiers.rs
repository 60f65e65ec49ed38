//! Property tests (bounded; `PROPTEST_CASES` raises the count) of the three signature verifiers
//! and the fixture parser.
//!
//! Random headers never pass the timestamp window and random tokens never parse as HS256 JWTs,
//! so most of the inputs here are built to reach the MAC comparison: correctly shaped headers
//! with a fresh timestamp and a signature one character off, a valid signature over a body one
//! byte off, a valid signature for another id or timestamp, `v1,` lists holding random
//! signatures and one valid signature for another body (and the right one under another
//! version), QStash tokens with one claim changed after signing. Each such case is checked
//! twice: the untouched input must verify (so the case is known to reach the MAC), and the
//! mutated one must be refused *as a signature mismatch* (not by an earlier check).
//!
//! The fixture parser is fed the recorded fixtures of `fixtures/` with random mutations that
//! keep them parseable, and must turn each into the delivery its format promises, or refuse it
//! naming the file; never panic.
//!
//! Run more iterations with `PROPTEST_CASES=100000 cargo test --test it fuzz_verifiers::`.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use odis_worker::webhooks::verify::{
    sha256_hex, svix_key, verify_qstash, verify_svix, verify_vapi, Rejection,
};
use proptest::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::sign::{fixture_paths, svix_signature, Fixture, CLERK_SECRET};

const VAPI_SECRET: &str = "a-long-random-secret-nobody-guesses";
const QSTASH_KEY: &str = "sig_current_fuzz_key";
const QSTASH_OTHER_KEY: &str = "sig_next_fuzz_key";
const QSTASH_SUB: &str = "https://odis.test/webhooks/qstash/execute-call";
/// 256 cases per property, unless `PROPTEST_CASES` asks for more (`with_cases` would ignore it).
fn config() -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 256;
    }
    c
}

/// A fixed "now" for the verifiers (all timestamps are relative to it).
const NOW: i64 = 1_800_000_000;

fn headers(pairs: &[(&str, String)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            h.insert(k, v);
        }
    }
    h
}

/// `s` with the character at `pos % len` replaced by a different one of `alphabet`.
fn flip_char(s: &str, pos: usize, alphabet: &str, shift: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    let i = pos % chars.len();
    let abc: Vec<char> = alphabet.chars().collect();
    let at = abc.iter().position(|c| *c == chars[i]).unwrap_or(0);
    let replacement = abc[(at + 1 + shift % (abc.len() - 1)) % abc.len()];
    let mut out = chars;
    out[i] = replacement;
    out.into_iter().collect()
}

/// `body` with one byte changed, inserted or removed (never equal to `body`).
fn mutate_body(body: &[u8], pos: usize, how: u8) -> Vec<u8> {
    let mut b = body.to_vec();
    if b.is_empty() {
        return vec![how];
    }
    let i = pos % b.len();
    match how % 3 {
        0 => b[i] ^= 1 << (how % 8),
        1 => b.insert(i, how),
        _ => {
            b.remove(i);
        }
    }
    b
}

const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const HEX: &str = "0123456789abcdef";

fn svix_headers(id: &str, ts: &str, sigs: &str) -> HeaderMap {
    headers(&[
        ("svix-id", id.to_string()),
        ("svix-timestamp", ts.to_string()),
        ("svix-signature", sigs.to_string()),
    ])
}

fn vapi_signature(ts: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(VAPI_SECRET.as_bytes()).unwrap();
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn vapi_headers(ts: &str, sig: &str) -> HeaderMap {
    headers(&[
        ("x-timestamp", ts.to_string()),
        ("x-signature", sig.to_string()),
    ])
}

/// A QStash token over `claims`, signed with `key`.
fn qstash_token(claims: &Value, key: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{header}.{payload}").as_bytes());
    format!(
        "{header}.{payload}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fn qstash_claims(body: &[u8], iat: i64, jti: &str) -> Value {
    serde_json::json!({
        "iss": "Upstash",
        "sub": QSTASH_SUB,
        "exp": iat + 300,
        "nbf": iat,
        "iat": iat,
        "jti": jti,
        "body": URL_SAFE_NO_PAD.encode(Sha256::digest(body)),
    })
}

/// `claims` with claim number `which` (of the seven) changed.
fn change_claim(claims: &Value, which: usize, by: i64) -> Value {
    let mut c = claims.clone();
    let names = ["iss", "sub", "exp", "nbf", "iat", "jti", "body"];
    let name = names[which % names.len()];
    let by = if by == 0 { 1 } else { by };
    c[name] = match &claims[name] {
        Value::Number(n) => Value::from(n.as_i64().unwrap_or(0) + by),
        Value::String(s) => Value::from(format!("{s}{}", by.unsigned_abs() % 10)),
        other => other.clone(),
    };
    c
}

proptest! {
    #![proptest_config(config())]

    /// Svix: a fresh timestamp and a signature one character off, a valid signature over
    /// another body, id or timestamp: refused as a mismatch; the untouched delivery verifies.
    #[test]
    fn svix_refuses_near_misses(
        id in "msg_[A-Za-z0-9]{1,27}",
        body in prop::collection::vec(any::<u8>(), 0..512),
        skew in -299i64..=299,
        pos in any::<usize>(),
        shift in any::<usize>(),
        how in any::<u8>(),
    ) {
        let key = svix_key(CLERK_SECRET).unwrap();
        let ts = NOW + skew;
        let good = svix_signature(CLERK_SECRET, &id, ts, &body);
        let ts_s = ts.to_string();
        prop_assert_eq!(verify_svix(&svix_headers(&id, &ts_s, &good), &body, &key, NOW), Ok(id.clone()));

        let (version, sig) = good.split_once(',').unwrap();
        let flipped = format!("{version},{}", flip_char(sig, pos, B64, shift));
        prop_assert_eq!(
            verify_svix(&svix_headers(&id, &ts_s, &flipped), &body, &key, NOW),
            Err(Rejection::SignatureMismatch)
        );
        let other_body = mutate_body(&body, pos, how);
        prop_assert_eq!(
            verify_svix(&svix_headers(&id, &ts_s, &good), &other_body, &key, NOW),
            Err(Rejection::SignatureMismatch)
        );
        let other_id = format!("{id}x");
        prop_assert_eq!(
            verify_svix(&svix_headers(&other_id, &ts_s, &good), &body, &key, NOW),
            Err(Rejection::SignatureMismatch)
        );
        // Another timestamp, still inside the window (towards now).
        let step = 1 + (shift % 5) as i64;
        let other_ts = (if skew > 0 { ts - step } else { ts + step }).to_string();
        prop_assert_eq!(
            verify_svix(&svix_headers(&id, &other_ts, &good), &body, &key, NOW),
            Err(Rejection::SignatureMismatch)
        );
    }

    /// Svix: a list of random `v1,` signatures, one valid signature for another body, and the
    /// right signature under other versions: refused; the same list plus `v1,<right>` verifies.
    #[test]
    fn svix_refuses_lists_without_the_right_v1(
        id in "msg_[A-Za-z0-9]{1,27}",
        body in prop::collection::vec(any::<u8>(), 0..256),
        skew in -299i64..=299,
        noise in prop::collection::vec("[A-Za-z0-9+/]{43}=", 0..5),
        at in any::<usize>(),
        how in any::<u8>(),
    ) {
        let key = svix_key(CLERK_SECRET).unwrap();
        let ts = NOW + skew;
        let good = svix_signature(CLERK_SECRET, &id, ts, &body);
        let right = good.split_once(',').unwrap().1.to_string();
        let other = svix_signature(CLERK_SECRET, &id, ts, &mutate_body(&body, at, how));
        let mut entries: Vec<String> = noise.iter().map(|s| format!("v1,{s}")).collect();
        let slot = at % (entries.len() + 1);
        entries.insert(slot, other);
        entries.push(format!("v1a,{right}"));
        entries.push(format!("v2,{right}"));
        entries.push(right.clone());
        let by = at % entries.len();
        entries.rotate_left(by);
        let list = entries.join(" ");
        let ts_s = ts.to_string();
        prop_assert_eq!(
            verify_svix(&svix_headers(&id, &ts_s, &list), &body, &key, NOW),
            Err(Rejection::SignatureMismatch),
            "list: {}", list
        );
        let slot = at % (entries.len() + 1);
        entries.insert(slot, good);
        let with_right = entries.join(" ");
        prop_assert_eq!(
            verify_svix(&svix_headers(&id, &ts_s, &with_right), &body, &key, NOW),
            Ok(id.clone())
        );
    }

    /// VAPI HMAC credential: fresh timestamps (seconds or milliseconds), a signature one hex
    /// digit off, a valid signature over another body or timestamp: refused as a mismatch. The
    /// shared-secret credential one character off is refused as a secret mismatch.
    #[test]
    fn vapi_refuses_near_misses(
        body in prop::collection::vec(any::<u8>(), 0..512),
        skew in -299i64..=299,
        millis in any::<bool>(),
        pos in any::<usize>(),
        shift in any::<usize>(),
        how in any::<u8>(),
    ) {
        let ts = if millis { ((NOW + skew) * 1000).to_string() } else { (NOW + skew).to_string() };
        let good = vapi_signature(&ts, &body);
        prop_assert_eq!(verify_vapi(&vapi_headers(&ts, &good), &body, VAPI_SECRET, NOW), Ok(()));
        let prefixed = format!("sha256={good}");
        prop_assert_eq!(verify_vapi(&vapi_headers(&ts, &prefixed), &body, VAPI_SECRET, NOW), Ok(()));

        let flipped = flip_char(&good, pos, HEX, shift);
        prop_assert_eq!(
            verify_vapi(&vapi_headers(&ts, &flipped), &body, VAPI_SECRET, NOW),
            Err(Rejection::SignatureMismatch)
        );
        prop_assert_eq!(
            verify_vapi(&vapi_headers(&ts, &good), &mutate_body(&body, pos, how), VAPI_SECRET, NOW),
            Err(Rejection::SignatureMismatch)
        );
        let other_ts = if millis { format!("{}", ts.parse::<i64>().unwrap() + 1) } else { format!("{ts}0") };
        let other = vapi_signature(&other_ts, &body);
        prop_assert_eq!(
            verify_vapi(&vapi_headers(&ts, &other), &body, VAPI_SECRET, NOW),
            Err(Rejection::SignatureMismatch)
        );
        // The HMAC is authoritative: a right bearer secret beside a wrong HMAC does not help.
        let mut both = vapi_headers(&ts, &flipped);
        both.insert("x-vapi-secret", HeaderValue::from_static(VAPI_SECRET));
        prop_assert_eq!(verify_vapi(&both, &body, VAPI_SECRET, NOW), Err(Rejection::SignatureMismatch));

        let near = flip_char(VAPI_SECRET, pos, "abcdefghijklmnopqrstuvwxyz-", shift);
        for name in ["x-vapi-secret", "authorization"] {
            let value = if name == "authorization" { format!("Bearer {near}") } else { near.clone() };
            prop_assert_eq!(
                verify_vapi(&headers(&[(name, value)]), &body, VAPI_SECRET, NOW),
                Err(Rejection::SecretMismatch)
            );
        }
    }

    /// QStash: a valid token with one claim changed after signing, with its signature one
    /// character off, or signed with an unknown key: refused as a mismatch; a valid token over
    /// another body: refused by the body hash. The untouched token verifies with either key.
    #[test]
    fn qstash_refuses_near_misses(
        body in prop::collection::vec(any::<u8>(), 0..512),
        skew in -25i64..=25,
        jti in "jwt_[A-Za-z0-9]{8,24}",
        which in 0usize..7,
        by in -1000i64..1000,
        pos in any::<usize>(),
        shift in any::<usize>(),
        how in any::<u8>(),
    ) {
        let keys = [QSTASH_OTHER_KEY, QSTASH_KEY];
        let claims = qstash_claims(&body, NOW + skew, &jti);
        let token = qstash_token(&claims, QSTASH_KEY);
        let ok = verify_qstash(&token, &body, &keys, Some(QSTASH_SUB), NOW);
        prop_assert!(ok.is_ok(), "{:?}", ok);

        let (signed, sig) = token.rsplit_once('.').unwrap();
        let (header, _) = signed.split_once('.').unwrap();
        let changed = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&change_claim(&claims, which, by)).unwrap());
        let tampered = format!("{header}.{changed}.{sig}");
        prop_assert_eq!(
            verify_qstash(&tampered, &body, &keys, Some(QSTASH_SUB), NOW).unwrap_err(),
            Rejection::SignatureMismatch
        );
        // Full 6-bit characters only: the last one carries padding bits a strict decoder refuses.
        let flipped = format!("{signed}.{}", flip_char(&sig[..40], pos, B64URL, shift) + &sig[40..]);
        prop_assert_eq!(
            verify_qstash(&flipped, &body, &keys, Some(QSTASH_SUB), NOW).unwrap_err(),
            Rejection::SignatureMismatch
        );
        let foreign = qstash_token(&claims, "sig_someone_elses_key");
        prop_assert_eq!(
            verify_qstash(&foreign, &body, &keys, Some(QSTASH_SUB), NOW).unwrap_err(),
            Rejection::SignatureMismatch
        );
        // Past the MAC, the body hash (reported for the current key, the one that signed).
        let current_first = [QSTASH_KEY, QSTASH_OTHER_KEY];
        prop_assert!(verify_qstash(&token, &body, &current_first, Some(QSTASH_SUB), NOW).is_ok());
        prop_assert_eq!(
            verify_qstash(&token, &mutate_body(&body, pos, how), &current_first, Some(QSTASH_SUB), NOW).unwrap_err(),
            Rejection::BodyHashMismatch
        );
    }

    /// Arbitrary headers and bodies (the original fuzz): never a panic, never accepted.
    #[test]
    fn verifiers_refuse_garbage(
        pairs in prop::collection::vec((prop::sample::select(vec![
            "svix-id", "svix-timestamp", "svix-signature", "webhook-id", "webhook-timestamp",
            "webhook-signature", "x-vapi-secret", "authorization", "x-signature", "x-timestamp",
        ]), "[ -~]{0,80}"), 0..8),
        body in prop::collection::vec(any::<u8>(), 0..256),
        token in "[A-Za-z0-9_.=-]{0,300}",
        now in 0i64..4_000_000_000,
    ) {
        let pairs: Vec<(&str, String)> = pairs.into_iter().collect();
        let h = headers(&pairs);
        let key = svix_key(CLERK_SECRET).unwrap();
        prop_assert!(verify_svix(&h, &body, &key, now).is_err());
        prop_assert!(verify_vapi(&h, &body, VAPI_SECRET, now).is_err());
        prop_assert!(verify_qstash(&token, &body, &[QSTASH_KEY], None, now).is_err());
    }
}

/// The recorded fixtures, parsed once.
fn recorded() -> &'static [(String, Value)] {
    static FIXTURES: std::sync::OnceLock<Vec<(String, Value)>> = std::sync::OnceLock::new();
    FIXTURES.get_or_init(|| {
        ["vapi", "clerk", "qstash"]
            .into_iter()
            .flat_map(fixture_paths)
            .map(|p| {
                let text = std::fs::read_to_string(&p).unwrap();
                (
                    p.display().to_string(),
                    serde_json::from_str(&text).unwrap(),
                )
            })
            .collect()
    })
}

/// One mutation of a fixture that keeps it in the documented format.
#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the value at a path inside `body` (the `k`-th node in document order).
    BodyNode(usize, Value),
    /// Drop a header, or set one to a new string.
    Header(usize, Option<String>),
    Source(String),
    Route(Option<String>),
    /// Turn `body` into `raw_body` (with a suffix), or drop the body altogether.
    Raw(Option<String>),
    /// Turn `body` into a pretty-printed `raw_body`: the same JSON in other bytes, as most
    /// recorded bodies are.
    Pretty,
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,24}".prop_map(Value::from),
        Just(serde_json::json!({})),
        Just(serde_json::json!([])),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), json_leaf()).prop_map(|(k, v)| Mutation::BodyNode(k, v)),
        2 => (any::<usize>(), prop::option::of("[ -~]{0,40}")).prop_map(|(k, v)| Mutation::Header(k, v)),
        1 => prop::sample::select(vec!["vapi", "clerk", "qstash", "svix", "", "VAPI"])
            .prop_map(|s| Mutation::Source(s.to_string())),
        1 => prop::option::of(prop::sample::select(vec![
            "/webhooks/qstash/execute-call", "/webhooks/qstash/execute-email",
            "/webhooks/qstash/auto-schedule", "/webhooks/qstash/nope", "/webhooks/vapi", "",
        ]).prop_map(str::to_string)).prop_map(Mutation::Route),
        1 => prop::option::of("\\PC{0,8}").prop_map(Mutation::Raw),
        1 => Just(Mutation::Pretty),
    ]
}

/// Replaces the `k`-th node (document order, the root is 0) of `v` with `leaf`; true once done.
fn replace_nth(v: &mut Value, k: &mut usize, leaf: &Value) -> bool {
    if *k == 0 {
        *v = leaf.clone();
        return true;
    }
    *k -= 1;
    match v {
        Value::Object(m) => m.values_mut().any(|c| replace_nth(c, k, leaf)),
        Value::Array(a) => a.iter_mut().any(|c| replace_nth(c, k, leaf)),
        _ => false,
    }
}

fn count_nodes(v: &Value) -> usize {
    1 + match v {
        Value::Object(m) => m.values().map(count_nodes).sum(),
        Value::Array(a) => a.iter().map(count_nodes).sum(),
        _ => 0,
    }
}

fn apply(fixture: &mut Value, m: &Mutation) {
    match m {
        Mutation::BodyNode(k, leaf) => {
            if let Some(body) = fixture.get_mut("body") {
                let mut k = k % count_nodes(body);
                replace_nth(body, &mut k, leaf);
            }
        }
        Mutation::Header(k, v) => {
            if let Some(h) = fixture.get_mut("headers").and_then(Value::as_object_mut) {
                let names: Vec<String> = h.keys().cloned().collect();
                if names.is_empty() {
                    return;
                }
                let name = &names[k % names.len()];
                match v {
                    Some(v) => h.insert(name.clone(), Value::from(v.clone())),
                    None => h.remove(name),
                };
            }
        }
        Mutation::Source(s) => fixture["source"] = Value::from(s.clone()),
        Mutation::Route(r) => match r {
            Some(r) => fixture["route"] = Value::from(r.clone()),
            None => {
                fixture.as_object_mut().map(|o| o.remove("route"));
            }
        },
        Mutation::Pretty => {
            let obj = fixture.as_object_mut().unwrap();
            if let Some(body) = obj.remove("body") {
                let pretty = serde_json::to_string_pretty(&body).unwrap();
                obj.insert("raw_body".into(), Value::from(pretty));
            }
        }
        Mutation::Raw(suffix) => {
            let obj = fixture.as_object_mut().unwrap();
            let body = obj.remove("body");
            if let (Some(suffix), Some(body)) = (suffix, body) {
                obj.insert("raw_body".into(), Value::from(format!("{body}{suffix}")));
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// Mutated recorded fixtures stay parseable and become exactly the delivery the format
    /// promises (or are refused naming the file); never a panic.
    #[test]
    fn mutated_fixtures_parse_into_the_promised_delivery(
        which in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..5),
    ) {
        let (name, original) = &recorded()[which % recorded().len()];
        let mut fixture = original.clone();
        for m in &mutations {
            apply(&mut fixture, m);
        }
        let path = std::env::temp_dir().join(format!("odis-fuzz-{}.json", uuid::Uuid::new_v4()));
        std::fs::write(&path, serde_json::to_vec_pretty(&fixture).unwrap()).unwrap();
        let loaded = Fixture::load(&path);
        let _ = std::fs::remove_file(&path);
        let f = match loaded {
            Ok(f) => f,
            Err(e) => return Err(TestCaseError::fail(format!("{name} {mutations:?}: not parseable: {e}"))),
        };
        let raw: Vec<u8> = match (&fixture["raw_body"], &fixture["body"]) {
            (Value::String(s), _) => s.clone().into_bytes(),
            (_, b) if fixture.get("body").is_some() => serde_json::to_vec(b).unwrap(),
            _ => Vec::new(),
        };
        let parsed_raw = f.raw_body();
        prop_assert_eq!(parsed_raw.as_ref(), raw.as_slice());
        let header = |n: &str| fixture["headers"].get(n).and_then(Value::as_str).map(str::to_string);
        let route_ok = fixture["route"].as_str().is_some_and(|r| {
            ["execute-call", "execute-email", "auto-schedule"]
                .iter()
                .any(|n| r.rsplit('/').next() == Some(*n))
        });
        let want_id = match fixture["source"].as_str().unwrap_or_default() {
            "vapi" => Some(sha256_hex(&raw)),
            "clerk" => header("svix-id").or_else(|| header("webhook-id")),
            // What is signed: the token's jti when the file keeps a token, else route + body.
            "qstash" if route_ok => {
                let name = fixture["route"].as_str().and_then(|r| r.rsplit('/').next());
                let route = name.and_then(odis_worker::webhooks::qstash::Route::parse);
                let jti = header("upstash-signature")
                    .and_then(|t| odis_worker::webhooks::verify::qstash_claims_unverified(&t))
                    .and_then(|c| c.jti);
                route.map(|r| odis_worker::webhooks::qstash::delivery_id(r, jti.as_deref(), &raw))
            }
            _ => None,
        };
        match (f.to_delivery(&path), want_id) {
            (Ok(d), Some(id)) => {
                prop_assert_eq!(d.delivery_id, id);
                prop_assert_eq!(d.payload.as_ref(), raw.as_slice());
                prop_assert_eq!(d.source.as_str(), fixture["source"].as_str().unwrap_or_default());
                if d.source.as_str() == "clerk" {
                    let parsed: Option<Value> = serde_json::from_slice(&raw).ok();
                    let t = parsed.as_ref().and_then(|v| v.get("type")).and_then(Value::as_str).map(str::to_string);
                    prop_assert_eq!(d.event_type, t);
                }
            }
            (Err(e), None) => prop_assert!(
                e.to_string().contains(&*path.display().to_string()),
                "{} does not name the file", e
            ),
            (got, want) => {
                return Err(TestCaseError::fail(format!(
                    "{name} {mutations:?}: got {got:?}, wanted delivery id {want:?}"
                )))
            }
        }
    }
}
