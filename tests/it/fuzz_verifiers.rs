//! Property tests (bounded; `PROPTEST_CASES` raises the count): the three signature verifiers and
//! the payload parsers never panic on arbitrary input, and never accept what was not signed.
//! Run more iterations with `PROPTEST_CASES=100000 cargo test --test it fuzz_verifiers::`.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use odis_worker::webhooks::verify::{svix_key, verify_qstash, verify_svix, verify_vapi};
use proptest::prelude::*;

use crate::helpers::sign::Fixture;

fn headers(pairs: &[(String, String)]) -> HeaderMap {
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

fn header_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    let names = prop::sample::select(vec![
        "svix-id",
        "svix-timestamp",
        "svix-signature",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "x-vapi-secret",
        "authorization",
        "x-signature",
        "x-timestamp",
    ]);
    prop::collection::vec((names.prop_map(str::to_string), "[ -~]{0,80}"), 0..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn verifiers_never_panic_and_reject_garbage(pairs in header_pairs(), body in prop::collection::vec(any::<u8>(), 0..512), now in 0i64..4_000_000_000) {
        let h = headers(&pairs);
        let key = svix_key("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        prop_assert!(verify_svix(&h, &body, &key, now).is_err());
        // VAPI: the only way in without the secret is to guess it.
        let secret = "a-long-random-secret-nobody-guesses";
        prop_assert!(verify_vapi(&h, &body, secret, now).is_err());
    }

    #[test]
    fn qstash_rejects_arbitrary_tokens(token in "[A-Za-z0-9_.=-]{0,300}", body in prop::collection::vec(any::<u8>(), 0..256), now in 0i64..4_000_000_000) {
        prop_assert!(verify_qstash(&token, &body, &["sig_key_one", "sig_key_two"], None, now).is_err());
    }

    #[test]
    fn fixture_parser_never_panics(text in "\\PC{0,400}") {
        let path = std::env::temp_dir().join(format!("odis-fuzz-{}.json", uuid::Uuid::new_v4()));
        std::fs::write(&path, &text).unwrap();
        if let Ok(f) = Fixture::load(&path) {
            let _ = f.to_delivery(&path);
        }
        let _ = std::fs::remove_file(&path);
    }
}
