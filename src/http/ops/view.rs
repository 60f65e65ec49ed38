//! The console's templates (`templates/*.html`, compiled into the binary) and the formatting of
//! values for them. minijinja escapes every `{{ … }}` of an `.html` template (autoescape), so a
//! payload or error message containing markup shows as text; nothing is marked safe.
//! Contact data is masked here (`domain::mask`) before it reaches a template.

use std::sync::LazyLock;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use minijinja::Environment;
use serde_json::{json, Value};

use super::auth::Principal;
use super::OpsError;

const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("templates/layout.html")),
    ("login.html", include_str!("templates/login.html")),
    ("error.html", include_str!("templates/error.html")),
    ("inbox.html", include_str!("templates/inbox.html")),
    ("event.html", include_str!("templates/event.html")),
    (
        "replay_confirm.html",
        include_str!("templates/replay_confirm.html"),
    ),
    ("queue.html", include_str!("templates/queue.html")),
    ("periodic.html", include_str!("templates/periodic.html")),
    ("runs.html", include_str!("templates/runs.html")),
    ("batches.html", include_str!("templates/batches.html")),
    ("outbound.html", include_str!("templates/outbound.html")),
    ("live.html", include_str!("templates/live.html")),
];

static ENV: LazyLock<Result<Environment<'static>, minijinja::Error>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        env.add_template(name, source)?;
    }
    Ok(env)
});

/// Renders `name` with `ctx` to an HTML string.
pub fn render_string(name: &str, ctx: &Value) -> Result<String, OpsError> {
    let env = ENV
        .as_ref()
        .map_err(|e| OpsError::Internal(format!("templates: {e}")))?;
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| OpsError::Internal(format!("template {name}: {e}")))
}

/// Scripts and styles only from `/ops/static/` (htmx may add its indicator style inline), forms
/// only to ourselves, never framed (clickjacking on the action buttons), no referrer off-site.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "same-origin"),
        ],
        body,
    )
        .into_response()
}

/// A console page: `ctx` plus what the layout needs (the CSRF token of the forms, the nav).
pub fn page(
    name: &str,
    active: &str,
    principal: &Principal,
    mut ctx: Value,
) -> Result<Response, OpsError> {
    if let Value::Object(m) = &mut ctx {
        m.insert("csrf".into(), json!(principal.csrf()));
        m.insert("active".into(), json!(active));
    }
    Ok(html(StatusCode::OK, render_string(name, &ctx)?))
}

/// The login form (also the answer to an unauthenticated request, with 401).
pub fn login_page(status: StatusCode, error: Option<&str>) -> Response {
    match render_string("login.html", &json!({ "error": error })) {
        Ok(body) => html(status, body),
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

pub fn error_page(status: StatusCode, message: &str) -> Response {
    let ctx =
        json!({"status": status.as_u16(), "reason": status.canonical_reason(), "message": message});
    match render_string("error.html", &ctx) {
        Ok(body) => html(status, body),
        Err(e) => plain(status, &e.to_string()),
    }
}

fn plain(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.to_string(),
    )
        .into_response()
}

/// A timestamp as the console shows it (UTC, to the second).
pub fn ts(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| {
        json!(t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
    })
}

/// Seconds as a short age (`42 s`, `3 min`, `5 h`, `2 d`).
pub fn age(secs: Option<f64>) -> Value {
    let Some(s) = secs.filter(|s| s.is_finite() && *s >= 0.0) else {
        return Value::Null;
    };
    let s = s.round() as i64;
    json!(match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        7200..=172_799 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86400),
    })
}

/// Text an operator sees, with phone numbers and e-mail addresses masked.
pub fn masked(s: Option<&str>) -> Value {
    s.map_or(Value::Null, |s| json!(crate::domain::mask::text(s)))
}
