//! Configuration, read once from the environment at start-up.
//!
//! Every variable the service understands is read here and nowhere else, so the README's table
//! and this file are the whole contract. A missing or malformed value is reported as one line
//! naming the variable (`ConfigError`), and `main` exits non-zero with it — never a panic.
//! Secrets are optional at start-up: a webhook whose secret is absent answers 503 rather than
//! accepting deliveries unverified, so one missing secret does not take the whole service down.

use std::fmt;
use std::path::PathBuf;

/// Default upper bound for request bodies. End-of-call reports carry whole transcripts and
/// message arrays, so this is generous (the webhook contract asks for at least 5 MiB).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Bytes of webhook bodies buffered at once across all requests of a process
/// (`docs/behaviour.md#ingress-limits`): four maximum-size bodies, or thousands of real ones.
/// Beyond it a request is answered 503 with `Retry-After` before its body is read.
pub const BODY_BUDGET_BYTES: usize = 4 * MAX_BODY_BYTES;

/// Time a sender has to deliver a whole body once its headers are in (else 408).
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid configuration: {var}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

impl ConfigError {
    fn new(var: &'static str, reason: impl Into<String>) -> Self {
        Self {
            var,
            reason: reason.into(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// A secret that never prints itself (Debug shows only whether it is set).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A secret set in code (the benchmark's own server, tests).
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// A secret the benchmark sets for its own in-process server.
    pub fn for_bench(s: &str) -> Self {
        Self(s.to_string())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    /// `DATABASE_URL`; `None` means "use the embedded cluster under `data_dir`".
    pub database_url: Option<String>,
    /// `ODIS_DATA_DIR` (default `./.odis`): home of the embedded PostgreSQL cluster.
    pub data_dir: PathBuf,
    /// `PORT` (default 8080); the server binds 0.0.0.0.
    pub port: u16,
    /// `LOG_FORMAT` (`json` | `pretty`, default `pretty`). `RUST_LOG` is read by the tracing filter.
    pub log_format: LogFormat,
    pub vapi_webhook_secret: Option<Secret>,
    pub vapi_api_key: Option<Secret>,
    pub vapi_base_url: String,
    /// `VAPI_OUTBOUND_PHONE_NUMBER_ID`: the phone number used when a call row names none.
    pub vapi_outbound_phone_number_id: Option<String>,
    /// `VAPI_MAX_CONCURRENT_CALLS` (default 10, VAPI's account limit).
    pub vapi_max_concurrent_calls: usize,
    pub resend_api_key: Option<Secret>,
    pub resend_base_url: String,
    /// `RESEND_MAX_RPS` (default 2 requests per second, Resend's default limit).
    pub resend_max_rps: u32,
    pub email_from: Option<String>,
    pub qstash_current_signing_key: Option<Secret>,
    pub qstash_next_signing_key: Option<Secret>,
    pub qstash_token: Option<Secret>,
    pub qstash_url: String,
    pub clerk_webhook_secret: Option<Secret>,
    /// `PUBLIC_BASE_URL`: this service's public origin; QStash tokens' `sub` must match it.
    pub public_base_url: Option<String>,
    /// `SLACK_API_BASE_URL` (default `https://slack.com/api`): Slack Web API for staff alerts.
    pub slack_api_base_url: String,
    /// `OPS_TOKEN`: the operator console's credential (at least [`OPS_TOKEN_MIN_LEN`]
    /// characters); unset → `/ops` answers 503.
    pub ops_token: Option<Secret>,
}

/// The shortest `OPS_TOKEN` accepted: it is both a password and the key material of the
/// console's session cookie, so it must carry at least 256 bits if random hex/base64.
pub const OPS_TOKEN_MIN_LEN: usize = 32;

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads configuration through `lookup` (the environment in production, a map in tests).
    /// Empty values count as unset, as most deploy tools cannot unset a variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let secret = |k: &str| env.get(k).map(Secret);
        let public_base_url = match env.get("PUBLIC_BASE_URL") {
            None => None,
            Some(_) => Some(env.url("PUBLIC_BASE_URL", "")?),
        };
        Ok(Self {
            database_url: env.database_url()?,
            data_dir: env
                .get("ODIS_DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("./.odis")),
            port: env.port()?,
            log_format: env.log_format()?,
            vapi_webhook_secret: secret("VAPI_WEBHOOK_SECRET"),
            vapi_api_key: secret("VAPI_API_KEY"),
            vapi_base_url: env.url("VAPI_BASE_URL", "https://api.vapi.ai")?,
            vapi_outbound_phone_number_id: env.get("VAPI_OUTBOUND_PHONE_NUMBER_ID"),
            vapi_max_concurrent_calls: usize::try_from(
                env.positive("VAPI_MAX_CONCURRENT_CALLS", 10)?,
            )
            .unwrap_or(usize::MAX),
            resend_api_key: secret("RESEND_API_KEY"),
            resend_base_url: env.url("RESEND_BASE_URL", "https://api.resend.com")?,
            resend_max_rps: u32::try_from(env.positive("RESEND_MAX_RPS", 2)?).unwrap_or(u32::MAX),
            email_from: env.email_from()?,
            qstash_current_signing_key: secret("QSTASH_CURRENT_SIGNING_KEY"),
            qstash_next_signing_key: secret("QSTASH_NEXT_SIGNING_KEY"),
            qstash_token: secret("QSTASH_TOKEN"),
            qstash_url: env.url("QSTASH_URL", "https://qstash.upstash.io")?,
            clerk_webhook_secret: secret("CLERK_WEBHOOK_SECRET"),
            public_base_url,
            slack_api_base_url: env.url("SLACK_API_BASE_URL", "https://slack.com/api")?,
            ops_token: env.ops_token()?,
        })
    }

    /// A configuration for tests: every provider on `base_url`, every secret set to a known value.
    pub fn for_tests(database_url: &str, base_url: &str) -> Self {
        let mut vars = std::collections::HashMap::new();
        vars.insert("DATABASE_URL", database_url.to_string());
        for k in [
            "VAPI_BASE_URL",
            "RESEND_BASE_URL",
            "QSTASH_URL",
            "SLACK_API_BASE_URL",
        ] {
            vars.insert(k, base_url.to_string());
        }
        vars.insert("VAPI_WEBHOOK_SECRET", "test-vapi-secret".into());
        vars.insert("VAPI_API_KEY", "test-vapi-key".into());
        vars.insert(
            "VAPI_OUTBOUND_PHONE_NUMBER_ID",
            "test-phone-number-id".into(),
        );
        vars.insert("RESEND_API_KEY", "test-resend-key".into());
        vars.insert("EMAIL_FROM", "Test Clinic <care@example.com>".into());
        vars.insert("QSTASH_CURRENT_SIGNING_KEY", "sig_current_test_key".into());
        vars.insert("QSTASH_NEXT_SIGNING_KEY", "sig_next_test_key".into());
        vars.insert("QSTASH_TOKEN", "test-qstash-token".into());
        // whsec_ + base64("test-clerk-secret-0123456789abcdef")
        vars.insert(
            "CLERK_WEBHOOK_SECRET",
            "whsec_dGVzdC1jbGVyay1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZg==".into(),
        );
        match Self::from_lookup(|k| vars.get(k).cloned()) {
            Ok(c) => c,
            Err(e) => panic!("test configuration is invalid: {e}"),
        }
    }
}

/// Reads and validates single variables; empty counts as unset.
struct Env<'a, F: Fn(&str) -> Option<String>>(&'a F);

impl<F: Fn(&str) -> Option<String>> Env<'_, F> {
    fn get(&self, k: &str) -> Option<String> {
        (self.0)(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn port(&self) -> Result<u16, ConfigError> {
        match self.get("PORT") {
            None => Ok(8080),
            Some(v) => v.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
                ConfigError::new("PORT", format!("expected a port number 1-65535, got {v:?}"))
            }),
        }
    }

    fn log_format(&self) -> Result<LogFormat, ConfigError> {
        match self.get("LOG_FORMAT").as_deref() {
            None | Some("pretty") => Ok(LogFormat::Pretty),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(ConfigError::new(
                "LOG_FORMAT",
                format!("expected `json` or `pretty`, got {other:?}"),
            )),
        }
    }

    fn database_url(&self) -> Result<Option<String>, ConfigError> {
        match self.get("DATABASE_URL") {
            None => Ok(None),
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                Ok(Some(u))
            }
            Some(_) => Err(ConfigError::new(
                "DATABASE_URL",
                "expected a postgres:// or postgresql:// URL",
            )),
        }
    }

    /// An http(s) URL without its trailing slash.
    fn url(&self, k: &'static str, default: &str) -> Result<String, ConfigError> {
        let v = self.get(k).unwrap_or_else(|| default.to_string());
        let parsed = reqwest::Url::parse(&v)
            .map_err(|e| ConfigError::new(k, format!("not a valid URL ({e})")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ConfigError::new(k, "expected an http:// or https:// URL"));
        }
        Ok(v.trim_end_matches('/').to_string())
    }

    fn positive(&self, k: &'static str, default: u64) -> Result<u64, ConfigError> {
        match self.get(k) {
            None => Ok(default),
            Some(v) => v.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                ConfigError::new(k, format!("expected a positive integer, got {v:?}"))
            }),
        }
    }

    fn ops_token(&self) -> Result<Option<Secret>, ConfigError> {
        match self.get("OPS_TOKEN") {
            Some(t) if t.chars().count() < OPS_TOKEN_MIN_LEN => Err(ConfigError::new(
                "OPS_TOKEN",
                format!(
                    "expected at least {OPS_TOKEN_MIN_LEN} characters (e.g. `openssl rand -hex 32`)"
                ),
            )),
            t => Ok(t.map(Secret)),
        }
    }

    fn email_from(&self) -> Result<Option<String>, ConfigError> {
        let from = self.get("EMAIL_FROM");
        if from.as_deref().is_some_and(|f| !f.contains('@')) {
            return Err(ConfigError::new(
                "EMAIL_FROM",
                "expected an address like `Clinic <care@example.com>`",
            ));
        }
        Ok(from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let c = cfg(&[]).expect("defaults are valid");
        assert_eq!(c.port, 8080);
        assert_eq!(c.log_format, LogFormat::Pretty);
        assert!(c.database_url.is_none());
        assert_eq!(c.vapi_base_url, "https://api.vapi.ai");
        assert_eq!(c.vapi_max_concurrent_calls, 10);
        assert_eq!(c.resend_max_rps, 2);
        assert!(c.vapi_webhook_secret.is_none());
        assert!(c.ops_token.is_none());
    }

    #[test]
    fn invalid_values_name_the_variable() {
        let cases: &[(&str, &str, &str)] = &[
            ("PORT", "eighty", "PORT"),
            ("PORT", "0", "PORT"),
            ("LOG_FORMAT", "xml", "LOG_FORMAT"),
            ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
            ("VAPI_BASE_URL", "not a url", "VAPI_BASE_URL"),
            ("RESEND_BASE_URL", "ftp://x", "RESEND_BASE_URL"),
            (
                "VAPI_MAX_CONCURRENT_CALLS",
                "-1",
                "VAPI_MAX_CONCURRENT_CALLS",
            ),
            ("RESEND_MAX_RPS", "0", "RESEND_MAX_RPS"),
            ("EMAIL_FROM", "nobody", "EMAIL_FROM"),
            ("OPS_TOKEN", "short-token", "OPS_TOKEN"),
        ];
        for (k, v, expected) in cases {
            let err = cfg(&[(k, v)]).expect_err(k);
            assert_eq!(err.var, *expected, "{k}={v}");
            assert!(err.to_string().contains(expected));
        }
    }

    #[test]
    fn empty_values_count_as_unset_and_urls_lose_trailing_slash() {
        let c = cfg(&[
            ("PORT", ""),
            ("VAPI_BASE_URL", "http://127.0.0.1:9/"),
            ("LOG_FORMAT", "json"),
        ])
        .expect("valid");
        assert_eq!(c.port, 8080);
        assert_eq!(c.vapi_base_url, "http://127.0.0.1:9");
        assert_eq!(c.log_format, LogFormat::Json);
    }

    #[test]
    fn secrets_do_not_print() {
        let c = cfg(&[("VAPI_WEBHOOK_SECRET", "hunter2")]).expect("valid");
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
