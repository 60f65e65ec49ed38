//! Signature verification for the three senders. Pure functions of (headers, raw body, secret,
//! now), so the official vectors can be checked with a frozen clock. Each failure names the check
//! that failed; that reason goes back to the sender in the 401 body.
//!
//! All comparisons of secrets and MACs are constant-time (`subtle` / `Mac::verify_slice`), and the
//! raw body is verified exactly as received — never re-serialized.
//!
//! Rules: `docs/behaviour.md#verification`. May import: nothing from the crate.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Why a delivery was rejected (the `reason` of the 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    #[error("malformed {0} header")]
    MalformedHeader(&'static str),
    /// A header that must identify the delivery is present but empty (answered 400, not 401).
    #[error("empty {0} header")]
    EmptyHeader(&'static str),
    #[error("signature mismatch")]
    SignatureMismatch,
    #[error("secret mismatch")]
    SecretMismatch,
    #[error("timestamp too old")]
    TimestampTooOld,
    #[error("timestamp too far in the future")]
    TimestampInFuture,
    #[error("token expired")]
    TokenExpired,
    #[error("token not yet valid")]
    TokenNotYetValid,
    #[error("unsupported token algorithm")]
    BadAlgorithm,
    #[error("wrong issuer")]
    WrongIssuer,
    #[error("wrong subject (destination URL)")]
    WrongSubject,
    #[error("body hash mismatch")]
    BodyHashMismatch,
    #[error("missing claim {0}")]
    MissingClaim(&'static str),
}

/// Svix / Standard Webhooks tolerance, both directions (docs/behaviour.md#verification).
pub const SVIX_TOLERANCE_SECS: i64 = 300;
/// VAPI HMAC timestamp tolerance.
pub const VAPI_TOLERANCE_SECS: i64 = 300;
/// Leeway for QStash `exp`/`nbf` (clock skew between Upstash and us).
pub const QSTASH_LEEWAY_SECS: i64 = 30;

fn header<'a>(headers: &'a axum::http::HeaderMap, name: &'static str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// VAPI server messages. Accepted credentials, any one of which must match `secret`:
/// * HMAC credential (default plan): `x-signature` = hex(HMAC-SHA256(secret, `{x-timestamp}.{body}`)),
///   `x-timestamp` within ±5 min (seconds, or milliseconds when > 10^12). When `x-signature` is
///   present it is authoritative: a bad HMAC is rejected even if a bearer token is also sent.
/// * `X-Vapi-Secret: <secret>` (legacy inline secret / bearer credential without prefix);
/// * `Authorization: Bearer <secret>` (bearer credential).
pub fn verify_vapi(
    headers: &axum::http::HeaderMap,
    body: &[u8],
    secret: &str,
    now_unix: i64,
) -> Result<(), Rejection> {
    if let Some(sig) = header(headers, "x-signature") {
        let ts = vapi_fresh_timestamp(headers, now_unix)?;
        let sig = sig.trim();
        let sig = sig.strip_prefix("sha256=").unwrap_or(sig);
        let expected = hex::decode(sig).map_err(|_| Rejection::MalformedHeader("x-signature"))?;
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes())
            .map_err(|_| Rejection::SignatureMismatch)?;
        mac.update(ts.as_bytes());
        mac.update(b".");
        mac.update(body);
        return mac
            .verify_slice(&expected)
            .map_err(|_| Rejection::SignatureMismatch);
    }
    // VAPI sends `x-vapi-secret: ""` when the assistant has no inline secret, next to the
    // bearer credential: an empty header is no credential and must not shadow the bearer.
    let presented = header(headers, "x-vapi-secret")
        .filter(|v| !v.trim().is_empty())
        .or_else(|| {
            header(headers, "authorization").map(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
                    .unwrap_or(v)
            })
        });
    match presented {
        None => Err(Rejection::MissingHeader("x-vapi-secret")),
        Some(p) if ct_eq(p.trim().as_bytes(), secret.as_bytes()) => Ok(()),
        Some(_) => Err(Rejection::SecretMismatch),
    }
}

/// What of [`verify_vapi`] can be checked before the body is read
/// (`docs/behaviour.md#ingress-limits`): the whole secret/Bearer credential, or, for the HMAC
/// credential, the presence and freshness of its timestamp.
pub fn vapi_precheck(
    headers: &axum::http::HeaderMap,
    secret: &str,
    now_unix: i64,
) -> Result<(), Rejection> {
    if header(headers, "x-signature").is_none() {
        // The shared-secret credentials do not cover the body: this is the full check.
        return verify_vapi(headers, &[], secret, now_unix);
    }
    vapi_fresh_timestamp(headers, now_unix).map(|_| ())
}

/// The `x-timestamp` of VAPI's HMAC credential (seconds, or milliseconds when > 10^12), within
/// ±5 min of now; returns the header text as signed.
fn vapi_fresh_timestamp(headers: &axum::http::HeaderMap, now_unix: i64) -> Result<&str, Rejection> {
    let ts = header(headers, "x-timestamp").ok_or(Rejection::MissingHeader("x-timestamp"))?;
    let ts_num: i64 = ts
        .trim()
        .parse()
        .map_err(|_| Rejection::MalformedHeader("x-timestamp"))?;
    let ts_secs = if ts_num > 1_000_000_000_000 {
        ts_num / 1000
    } else {
        ts_num
    };
    check_window(ts_secs, now_unix, VAPI_TOLERANCE_SECS)?;
    Ok(ts)
}

fn check_window(ts: i64, now: i64, tolerance: i64) -> Result<(), Rejection> {
    if ts < now.saturating_sub(tolerance) {
        Err(Rejection::TimestampTooOld)
    } else if ts > now.saturating_add(tolerance) {
        Err(Rejection::TimestampInFuture)
    } else {
        Ok(())
    }
}

/// Decodes a Svix `whsec_<base64>` secret into the HMAC key (`None`: not valid base64 or empty).
pub fn svix_key(secret: &str) -> Option<Vec<u8>> {
    let b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
    STANDARD.decode(b64).ok().filter(|k| !k.is_empty())
}

/// Clerk via Svix (Standard Webhooks, symmetric v1). Returns the message id (`svix-id`), the
/// inbox's delivery id. `svix-*` headers first, `webhook-*` as fallback, each independently.
pub fn verify_svix(
    headers: &axum::http::HeaderMap,
    body: &[u8],
    key: &[u8],
    now_unix: i64,
) -> Result<String, Rejection> {
    let SvixHeaders { id, ts, sigs } = svix_precheck(headers, now_unix)?;
    let (_, signed_ts) = svix_timestamp(ts).ok_or(Rejection::MalformedHeader("svix-timestamp"))?;

    let mut mac = HmacSha256::new_from_slice(key).map_err(|_| Rejection::SignatureMismatch)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(signed_ts.as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    let matched = sigs
        .split(' ')
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .any(|(_, sig)| ct_eq(sig.as_bytes(), expected.as_bytes()));
    if matched {
        Ok(id.to_string())
    } else {
        Err(Rejection::SignatureMismatch)
    }
}

/// The three Svix headers of a delivery whose id is present and timestamp fresh.
pub struct SvixHeaders<'a> {
    pub id: &'a str,
    pub ts: &'a str,
    pub sigs: &'a str,
}

/// What of [`verify_svix`] can be checked before the body is read
/// (`docs/behaviour.md#ingress-limits`): the three headers present, a non-empty id (the inbox's
/// delivery id; an empty one is [`Rejection::EmptyHeader`]), a fresh timestamp.
pub fn svix_precheck(
    headers: &axum::http::HeaderMap,
    now_unix: i64,
) -> Result<SvixHeaders<'_>, Rejection> {
    let id = header(headers, "svix-id")
        .or_else(|| header(headers, "webhook-id"))
        .ok_or(Rejection::MissingHeader("svix-id"))?;
    if id.trim().is_empty() {
        return Err(Rejection::EmptyHeader("svix-id"));
    }
    let ts = header(headers, "svix-timestamp")
        .or_else(|| header(headers, "webhook-timestamp"))
        .ok_or(Rejection::MissingHeader("svix-timestamp"))?;
    let sigs = header(headers, "svix-signature")
        .or_else(|| header(headers, "webhook-signature"))
        .ok_or(Rejection::MissingHeader("svix-signature"))?;
    let (ts_num, _) = svix_timestamp(ts).ok_or(Rejection::MalformedHeader("svix-timestamp"))?;
    check_window(ts_num, now_unix, SVIX_TOLERANCE_SECS)?;
    Ok(SvixHeaders { id, ts, sigs })
}

/// A Svix timestamp header: whole seconds as sent, or seconds with a fractional part (Clerk's own
/// webhook test sends `Date.now() / 1000`). Svix's JavaScript and Python libraries read such a
/// value as its whole seconds and sign `{id}.{whole seconds}.{body}`, so that is what is checked
/// (`docs/behaviour.md#verification`). Returns the seconds and the text that was signed.
fn svix_timestamp(ts: &str) -> Option<(i64, std::borrow::Cow<'_, str>)> {
    let (whole, frac) = match ts.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (ts, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    let secs: i64 = whole.parse().ok()?;
    Some(match frac {
        None => (secs, std::borrow::Cow::Borrowed(ts)),
        Some(_) => (secs, std::borrow::Cow::Owned(secs.to_string())),
    })
}

/// The claims of a verified QStash token that we use.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct QstashClaims {
    pub iss: Option<String>,
    pub sub: Option<String>,
    pub exp: Option<i64>,
    pub nbf: Option<i64>,
    pub iat: Option<i64>,
    /// The token's id, signed: the inbox's delivery id for QStash. A string, or a number (as
    /// Upstash's own SDK tests sign it) kept as its decimal text.
    #[serde(default, deserialize_with = "string_or_number")]
    pub jti: Option<String>,
    pub body: Option<String>,
}

fn string_or_number<'de, D>(d: D) -> Result<Option<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize;
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// QStash `Upstash-Signature` (HS256 JWT). Tries `current` then `next` (key rotation); the
/// rejection reported is the current key's unless only the next key was configured.
/// `expected_sub`: `PUBLIC_BASE_URL` + route path, checked exactly when set.
pub fn verify_qstash(
    token: &str,
    body: &[u8],
    keys: &[&str],
    expected_sub: Option<&str>,
    now_unix: i64,
) -> Result<QstashClaims, Rejection> {
    let claims = verify_qstash_token(token, keys, expected_sub, now_unix)?;
    check_qstash_body(&claims, body)?;
    Ok(claims)
}

/// Everything of [`verify_qstash`] but the body hash: the token's signature covers its header
/// and claims only, so this runs before the body is read (`docs/behaviour.md#ingress-limits`).
pub fn verify_qstash_token(
    token: &str,
    keys: &[&str],
    expected_sub: Option<&str>,
    now_unix: i64,
) -> Result<QstashClaims, Rejection> {
    let mut first_error = None;
    for key in keys {
        match verify_qstash_with(token, key, expected_sub, now_unix) {
            Ok(claims) => return Ok(claims),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(Rejection::SignatureMismatch))
}

/// The claims of a token read without checking its signature: only for `replay`, whose
/// operator is trusted, to derive the same delivery id the route would.
pub fn qstash_claims_unverified(token: &str) -> Option<QstashClaims> {
    let payload = token.trim().split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// The body check of a verified token: its `body` claim is the SHA-256 of the body received.
pub fn check_qstash_body(claims: &QstashClaims, body: &[u8]) -> Result<(), Rejection> {
    let claimed = claims
        .body
        .as_deref()
        .ok_or(Rejection::MissingClaim("body"))?;
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(body));
    if ct_eq(
        claimed.trim_end_matches('=').as_bytes(),
        computed.as_bytes(),
    ) {
        Ok(())
    } else {
        Err(Rejection::BodyHashMismatch)
    }
}

fn verify_qstash_with(
    token: &str,
    key: &str,
    expected_sub: Option<&str>,
    now: i64,
) -> Result<QstashClaims, Rejection> {
    let malformed = || Rejection::MalformedHeader("upstash-signature");
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let header_json = URL_SAFE_NO_PAD.decode(h).map_err(|_| malformed())?;
    let header: serde_json::Value =
        serde_json::from_slice(&header_json).map_err(|_| malformed())?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err(Rejection::BadAlgorithm);
    }
    let sig = URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| malformed())?;
    let mut mac =
        HmacSha256::new_from_slice(key.as_bytes()).map_err(|_| Rejection::SignatureMismatch)?;
    mac.update(h.as_bytes());
    mac.update(b".");
    mac.update(p.as_bytes());
    mac.verify_slice(&sig)
        .map_err(|_| Rejection::SignatureMismatch)?;

    let payload = URL_SAFE_NO_PAD.decode(p).map_err(|_| malformed())?;
    let claims: QstashClaims = serde_json::from_slice(&payload).map_err(|_| malformed())?;
    if claims.iss.as_deref() != Some("Upstash") {
        return Err(Rejection::WrongIssuer);
    }
    let exp = claims.exp.ok_or(Rejection::MissingClaim("exp"))?;
    // Saturating: an `exp` of i64::MAX must not overflow into the past.
    if now > exp.saturating_add(QSTASH_LEEWAY_SECS) {
        return Err(Rejection::TokenExpired);
    }
    let nbf = claims.nbf.ok_or(Rejection::MissingClaim("nbf"))?;
    if now < nbf.saturating_sub(QSTASH_LEEWAY_SECS) {
        return Err(Rejection::TokenNotYetValid);
    }
    if let Some(expected) = expected_sub {
        if claims.sub.as_deref() != Some(expected) {
            return Err(Rejection::WrongSubject);
        }
    }
    Ok(claims)
}

/// Hex SHA-256 of a body: the inbox's delivery id for VAPI, which sends none.
pub fn sha256_hex(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    // The Svix reference library's published signing vector (docs/behaviour.md#verification).
    const SVIX_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const SVIX_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const SVIX_TS: i64 = 1649367553;
    const SVIX_BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const SVIX_SIG: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    fn svix_headers(sig: &str, ts: i64) -> HeaderMap {
        headers(&[
            ("svix-id", SVIX_ID),
            ("svix-timestamp", &ts.to_string()),
            ("svix-signature", sig),
        ])
    }

    #[test]
    fn svix_official_vector_verifies() {
        let key = svix_key(SVIX_SECRET).unwrap();
        assert_eq!(
            verify_svix(&svix_headers(SVIX_SIG, SVIX_TS), SVIX_BODY, &key, SVIX_TS).unwrap(),
            SVIX_ID
        );
        // any v1 entry may match (rotation); other versions are ignored
        let multi = format!("v1a,AAAA v1,bogus= {SVIX_SIG}");
        assert!(verify_svix(&svix_headers(&multi, SVIX_TS), SVIX_BODY, &key, SVIX_TS).is_ok());
        // webhook-* fallback names
        let h = headers(&[
            ("webhook-id", SVIX_ID),
            ("webhook-timestamp", &SVIX_TS.to_string()),
            ("webhook-signature", SVIX_SIG),
        ]);
        assert!(verify_svix(&h, SVIX_BODY, &key, SVIX_TS).is_ok());
    }

    #[test]
    fn svix_rejections_name_the_check() {
        let key = svix_key(SVIX_SECRET).unwrap();
        let cases: Vec<(HeaderMap, &[u8], i64, Rejection)> = vec![
            (
                svix_headers(SVIX_SIG, SVIX_TS),
                br#"{"email":"test@example.com","username":"test_user2"}"#,
                SVIX_TS,
                Rejection::SignatureMismatch,
            ),
            (
                svix_headers(SVIX_SIG, SVIX_TS),
                SVIX_BODY,
                SVIX_TS + 301,
                Rejection::TimestampTooOld,
            ),
            (
                svix_headers(SVIX_SIG, SVIX_TS),
                SVIX_BODY,
                SVIX_TS - 301,
                Rejection::TimestampInFuture,
            ),
            (
                svix_headers("v2,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=", SVIX_TS),
                SVIX_BODY,
                SVIX_TS,
                Rejection::SignatureMismatch,
            ),
            (
                headers(&[("svix-id", SVIX_ID), ("svix-signature", SVIX_SIG)]),
                SVIX_BODY,
                SVIX_TS,
                Rejection::MissingHeader("svix-timestamp"),
            ),
            (
                headers(&[
                    ("svix-id", SVIX_ID),
                    ("svix-timestamp", "soon"),
                    ("svix-signature", SVIX_SIG),
                ]),
                SVIX_BODY,
                SVIX_TS,
                Rejection::MalformedHeader("svix-timestamp"),
            ),
        ];
        for (h, body, now, expected) in cases {
            assert_eq!(verify_svix(&h, body, &key, now).unwrap_err(), expected);
        }
        let other = svix_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            verify_svix(&svix_headers(SVIX_SIG, SVIX_TS), SVIX_BODY, &other, SVIX_TS).unwrap_err(),
            Rejection::SignatureMismatch
        );
    }

    // A QStash token built for this project from Upstash's verification rules, not an official vector (docs/behaviour.md#verification).
    const QS_KEY: &str = "sig_TESTcurrentKey123";
    const QS_URL: &str = "https://example.com/api/jobs";
    const QS_BODY: &[u8] = br#"{"hello":"world"}"#;
    const QS_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJVcHN0YXNoIiwic3ViIjoiaHR0cHM6Ly9leGFtcGxlLmNvbS9hcGkvam9icyIsImV4cCI6MTcwMDAwMDMwMCwibmJmIjoxNzAwMDAwMDAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6Imp3dF90ZXN0MTIzIiwiYm9keSI6Ims2STVjYWtVNWVyTDhLalNVVlROb3duRHdjY3Z1NWtVMUh4Zzg4dG9GWWc9In0.thkFgVxrC2Ru2q4XlPT4ECpRCPfZqFwvplQy6JvHSdA";

    #[test]
    fn qstash_vector_verifies_with_current_or_next_key() {
        let c = verify_qstash(QS_TOKEN, QS_BODY, &[QS_KEY], Some(QS_URL), 1_700_000_100).unwrap();
        assert_eq!(c.jti.as_deref(), Some("jwt_test123"));
        assert!(verify_qstash(
            QS_TOKEN,
            QS_BODY,
            &["sig_other", QS_KEY],
            Some(QS_URL),
            1_700_000_100
        )
        .is_ok());
        assert!(verify_qstash(QS_TOKEN, QS_BODY, &[QS_KEY], None, 1_700_000_100).is_ok());
    }

    #[test]
    #[allow(clippy::type_complexity)] // a table of cases reads better than a named tuple type
    fn qstash_rejections_name_the_check() {
        let t = 1_700_000_100;
        type Case<'a> = (&'a [&'a str], &'a [u8], Option<&'a str>, i64, Rejection);
        let cases: Vec<Case> = vec![
            (
                &["sig_other"],
                QS_BODY,
                Some(QS_URL),
                t,
                Rejection::SignatureMismatch,
            ),
            (
                &[QS_KEY],
                br#"{"hello":"world!"}"#,
                Some(QS_URL),
                t,
                Rejection::BodyHashMismatch,
            ),
            (
                &[QS_KEY],
                QS_BODY,
                Some("https://example.com/other"),
                t,
                Rejection::WrongSubject,
            ),
            (
                &[QS_KEY],
                QS_BODY,
                Some(QS_URL),
                1_700_000_300 + QSTASH_LEEWAY_SECS + 1,
                Rejection::TokenExpired,
            ),
            (
                &[QS_KEY],
                QS_BODY,
                Some(QS_URL),
                1_700_000_000 - QSTASH_LEEWAY_SECS - 1,
                Rejection::TokenNotYetValid,
            ),
        ];
        for (keys, body, sub, now, expected) in cases {
            assert_eq!(
                verify_qstash(QS_TOKEN, body, keys, sub, now).unwrap_err(),
                expected
            );
        }
        assert_eq!(
            verify_qstash("abc", QS_BODY, &[QS_KEY], None, t).unwrap_err(),
            Rejection::MalformedHeader("upstash-signature")
        );
        // alg=none is refused even with an empty signature
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            QS_TOKEN.split('.').nth(1).unwrap()
        );
        assert_eq!(
            verify_qstash(&none, QS_BODY, &[QS_KEY], None, t).unwrap_err(),
            Rejection::BadAlgorithm
        );
    }

    #[test]
    fn qstash_body_claim_padding_is_optional() {
        // sha256("") with and without padding (docs/behaviour.md#verification)
        assert_eq!(
            URL_SAFE_NO_PAD.encode(Sha256::digest(b"")),
            "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
        );
    }

    #[test]
    fn vapi_hmac_vector_and_secret_forms() {
        // Self-made VAPI HMAC vector (docs/behaviour.md#verification)
        let body = br#"{"message":{"type":"status-update","status":"ended"}}"#;
        let sig = "242d1dfb67dba287b71dfa4cfe0c7572f3bc9437d9cf3d789f5ae490b70c4dd5";
        let h = headers(&[("x-signature", sig), ("x-timestamp", "1700000000")]);
        assert!(verify_vapi(&h, body, "vapi_test_secret", 1_700_000_010).is_ok());
        assert_eq!(
            verify_vapi(&h, body, "other", 1_700_000_010).unwrap_err(),
            Rejection::SignatureMismatch
        );
        assert_eq!(
            verify_vapi(&h, body, "vapi_test_secret", 1_700_000_400).unwrap_err(),
            Rejection::TimestampTooOld
        );
        let ms = headers(&[("x-signature", sig), ("x-timestamp", "1700000000000")]);
        // the MAC covers the header text as sent, so a ms timestamp needs its own signature
        assert_eq!(
            verify_vapi(&ms, body, "vapi_test_secret", 1_700_000_010).unwrap_err(),
            Rejection::SignatureMismatch
        );

        assert!(verify_vapi(&headers(&[("x-vapi-secret", "s3cret")]), body, "s3cret", 0).is_ok());
        assert!(verify_vapi(
            &headers(&[("authorization", "Bearer s3cret")]),
            body,
            "s3cret",
            0
        )
        .is_ok());
        assert_eq!(
            verify_vapi(&headers(&[("x-vapi-secret", "s3cre")]), body, "s3cret", 0).unwrap_err(),
            Rejection::SecretMismatch
        );
        assert_eq!(
            verify_vapi(&HeaderMap::new(), body, "s3cret", 0).unwrap_err(),
            Rejection::MissingHeader("x-vapi-secret")
        );
    }

    /// A token signed with [`QS_KEY`] over `claims` (for claim shapes no vector covers).
    fn qstash_token(claims: &serde_json::Value) -> String {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let p = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut mac = HmacSha256::new_from_slice(QS_KEY.as_bytes()).unwrap();
        mac.update(format!("{h}.{p}").as_bytes());
        let s = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{h}.{p}.{s}")
    }

    #[test]
    fn qstash_jti_may_be_a_number_and_extreme_times_do_not_overflow() {
        let body_hash = URL_SAFE_NO_PAD.encode(Sha256::digest(QS_BODY));
        let claims = |jti: serde_json::Value, exp: i64, nbf: i64| serde_json::json!({"iss": "Upstash", "exp": exp, "nbf": nbf, "jti": jti, "body": body_hash});
        let t = 1_700_000_100;
        let cases: Vec<(serde_json::Value, Result<Option<&str>, Rejection>)> = vec![
            (
                claims(serde_json::json!(1234567890), t + 60, t),
                Ok(Some("1234567890")),
            ),
            (
                claims(serde_json::json!("jwt_x"), t + 60, t),
                Ok(Some("jwt_x")),
            ),
            (claims(serde_json::Value::Null, t + 60, t), Ok(None)),
            (
                claims(serde_json::json!("a"), i64::MAX, i64::MIN),
                Ok(Some("a")),
            ),
            (
                claims(serde_json::json!("a"), i64::MIN, t),
                Err(Rejection::TokenExpired),
            ),
            (
                claims(serde_json::json!("a"), t + 60, i64::MAX),
                Err(Rejection::TokenNotYetValid),
            ),
        ];
        for (c, want) in cases {
            let got = verify_qstash(&qstash_token(&c), QS_BODY, &[QS_KEY], None, t);
            let got = got.map(|claims| claims.jti);
            assert_eq!(got, want.map(|j| j.map(str::to_string)), "{c}");
        }
        // The token alone verifies before the body is read; the body check is separate.
        let token = qstash_token(&claims(serde_json::json!("j"), t + 60, t));
        let claims = verify_qstash_token(&token, &[QS_KEY], None, t).unwrap();
        assert_eq!(
            check_qstash_body(&claims, b"other"),
            Err(Rejection::BodyHashMismatch)
        );
        assert_eq!(check_qstash_body(&claims, QS_BODY), Ok(()));
    }

    #[test]
    fn prechecks_reject_what_the_headers_alone_tell() {
        let now = 1_700_000_010;
        let vapi: Vec<(HeaderMap, Result<(), Rejection>)> = vec![
            (headers(&[("x-vapi-secret", "s3cret")]), Ok(())),
            (
                headers(&[("x-vapi-secret", "wrong")]),
                Err(Rejection::SecretMismatch),
            ),
            (
                HeaderMap::new(),
                Err(Rejection::MissingHeader("x-vapi-secret")),
            ),
            (
                headers(&[("x-signature", "00"), ("x-timestamp", "1700000000")]),
                Ok(()),
            ),
            (
                headers(&[("x-signature", "00")]),
                Err(Rejection::MissingHeader("x-timestamp")),
            ),
            (
                headers(&[("x-signature", "00"), ("x-timestamp", "1600000000")]),
                Err(Rejection::TimestampTooOld),
            ),
        ];
        for (h, want) in vapi {
            assert_eq!(vapi_precheck(&h, "s3cret", now), want, "{h:?}");
        }
        let svix: Vec<(HeaderMap, Rejection)> = vec![
            (
                headers(&[
                    ("svix-id", ""),
                    ("svix-timestamp", "1700000000"),
                    ("svix-signature", "v1,x"),
                ]),
                Rejection::EmptyHeader("svix-id"),
            ),
            (
                headers(&[
                    ("svix-id", "msg_1"),
                    ("svix-timestamp", "1600000000"),
                    ("svix-signature", "v1,x"),
                ]),
                Rejection::TimestampTooOld,
            ),
            (
                headers(&[("svix-id", "msg_1"), ("svix-timestamp", "1700000000")]),
                Rejection::MissingHeader("svix-signature"),
            ),
        ];
        for (h, want) in svix {
            assert_eq!(svix_precheck(&h, now).err(), Some(want.clone()), "{h:?}");
            let key = svix_key(SVIX_SECRET).unwrap();
            assert_eq!(verify_svix(&h, b"{}", &key, now).unwrap_err(), want);
        }
    }

    #[test]
    fn empty_vapi_secret_header_does_not_shadow_the_bearer() {
        let body = b"{}";
        let both = |bearer: &str| headers(&[("x-vapi-secret", ""), ("authorization", bearer)]);
        assert!(verify_vapi(&both("Bearer s3cret"), body, "s3cret", 0).is_ok());
        assert_eq!(
            verify_vapi(&both("Bearer wrong"), body, "s3cret", 0).unwrap_err(),
            Rejection::SecretMismatch
        );
        assert_eq!(
            verify_vapi(&headers(&[("x-vapi-secret", " ")]), body, "s3cret", 0).unwrap_err(),
            Rejection::MissingHeader("x-vapi-secret")
        );
        // a non-empty x-vapi-secret still decides on its own
        let wrong_secret = headers(&[
            ("x-vapi-secret", "nope"),
            ("authorization", "Bearer s3cret"),
        ]);
        assert_eq!(
            verify_vapi(&wrong_secret, body, "s3cret", 0).unwrap_err(),
            Rejection::SecretMismatch
        );
    }

    #[test]
    fn svix_timestamp_with_a_fractional_part_is_read_as_its_whole_seconds() {
        let key = svix_key(SVIX_SECRET).unwrap();
        let h = |ts: &str| {
            headers(&[
                ("svix-id", SVIX_ID),
                ("svix-timestamp", ts),
                ("svix-signature", SVIX_SIG),
            ])
        };
        // Clerk's own test sends `Date.now() / 1000`; the vector was signed over the whole seconds.
        assert!(verify_svix(&h("1649367553.482"), SVIX_BODY, &key, SVIX_TS).is_ok());
        assert!(verify_svix(&h("1649367553.9"), SVIX_BODY, &key, SVIX_TS + 300).is_ok());
        for bad in [
            "1649367553.",
            ".5",
            "1e9",
            "-1649367553",
            "1649367553.5x",
            "",
        ] {
            assert_eq!(
                verify_svix(&h(bad), SVIX_BODY, &key, SVIX_TS).unwrap_err(),
                Rejection::MalformedHeader("svix-timestamp"),
                "{bad:?}"
            );
        }
        assert_eq!(
            verify_svix(&h("1649367553.5"), SVIX_BODY, &key, SVIX_TS + 301).unwrap_err(),
            Rejection::TimestampTooOld
        );
    }

    /// An HS256 token over `claims` (the way `jwt.encode` in Upstash's Python SDK test builds one).
    fn hs256(key: &str, claims: &serde_json::Value) -> String {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let p = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
        let mut mac = HmacSha256::new_from_slice(key.as_bytes()).unwrap();
        mac.update(format!("{h}.{p}").as_bytes());
        format!(
            "{h}.{p}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    #[test]
    fn qstash_jti_may_be_a_number() {
        // qstash-py tests/test_receiver.py: `"jti": time.time()`, `"aud": ""`, body `json.dumps(...)`.
        let body = br#"{"hello": "world"}"#;
        let claims = serde_json::json!({
            "aud": "", "body": URL_SAFE_NO_PAD.encode(Sha256::digest(body)),
            "exp": 1_700_000_300, "iat": 1_700_000_000, "iss": "Upstash",
            "jti": 1_700_000_000.123_456_7_f64, "nbf": 1_700_000_000, "sub": QS_URL,
        });
        let c = verify_qstash(
            &hs256(QS_KEY, &claims),
            body,
            &[QS_KEY],
            Some(QS_URL),
            1_700_000_100,
        )
        .unwrap();
        assert_eq!(c.jti.as_deref(), Some("1700000000.1234567"));
        let int = serde_json::json!({"iss": "Upstash", "exp": 1_700_000_300, "nbf": 1_700_000_000,
            "jti": 42, "body": URL_SAFE_NO_PAD.encode(Sha256::digest(body))});
        let c = verify_qstash(&hs256(QS_KEY, &int), body, &[QS_KEY], None, 1_700_000_100).unwrap();
        assert_eq!(c.jti.as_deref(), Some("42"));
    }
}
