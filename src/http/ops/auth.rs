//! Who may use the console (`docs/behaviour.md#ops-console`):
//!
//! * a browser logs in with `OPS_TOKEN` on `/ops/login` and gets a **session cookie**: signed
//!   (HMAC-SHA256, `axum_extra`'s `SignedCookieJar`) with a key derived from the token by HKDF
//!   (`Key::derive_from`), `HttpOnly`, `SameSite=Strict`, `Path=/ops`, `Secure` when the request
//!   came over https, expiring after [`SESSION_TTL`] (the expiry is inside the signed value, so
//!   a kept cookie is refused after it). Changing `OPS_TOKEN` invalidates every session;
//! * a script sends `Authorization: Bearer <OPS_TOKEN>`;
//! * a wrong token (form or Bearer) is answered 401 and counted; after [`MAX_FAILURES`] within
//!   [`FAILURE_WINDOW`] every token attempt is answered 429 until the window has passed
//!   (sessions keep working);
//! * every POST of a session carries the session's **CSRF token** (form field `csrf`, or the
//!   `X-CSRF-Token` header htmx sends); without it, or with another one: 403. Bearer requests
//!   carry no ambient credential, so they need none.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::view;
use crate::config::Secret;

pub const COOKIE: &str = "odis_ops";
/// How long a login lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// Wrong tokens tolerated per [`FAILURE_WINDOW`] before token attempts are refused.
pub const MAX_FAILURES: usize = 10;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(300);
/// Largest form body the CSRF check reads (the console's forms are a few fields).
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The console's per-process security state.
pub struct Runtime {
    key: Key,
    token_digest: [u8; 32],
    failures: Mutex<VecDeque<Instant>>,
}

impl Runtime {
    pub fn new(token: &Secret) -> Self {
        // Key::derive_from is HKDF-SHA256 over the token (config guarantees ≥ 32 bytes).
        Self {
            key: Key::derive_from(token.expose().as_bytes()),
            token_digest: Sha256::digest(token.expose().as_bytes()).into(),
            failures: Mutex::new(VecDeque::new()),
        }
    }

    /// Compares digests in constant time, so neither content nor length leaks through timing.
    fn token_matches(&self, candidate: &str) -> bool {
        let d: [u8; 32] = Sha256::digest(candidate.as_bytes()).into();
        d.ct_eq(&self.token_digest).into()
    }

    /// `Some(wait)` while too many wrong tokens were tried recently.
    fn throttled(&self) -> Option<Duration> {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        while f
            .front()
            .is_some_and(|t| now.duration_since(*t) > FAILURE_WINDOW)
        {
            f.pop_front();
        }
        (f.len() >= MAX_FAILURES).then(|| {
            f.front().map_or(FAILURE_WINDOW, |t| {
                FAILURE_WINDOW.saturating_sub(now.duration_since(*t))
            })
        })
    }

    fn record_failure(&self) {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        f.push_back(Instant::now());
        while f.len() > MAX_FAILURES {
            f.pop_front();
        }
    }

    /// Checks a presented token; `Err` is the answer to give.
    fn check_token(&self, candidate: &str) -> Result<(), Denied> {
        if let Some(wait) = self.throttled() {
            return Err(Denied::Throttled(wait));
        }
        if self.token_matches(candidate) {
            Ok(())
        } else {
            self.record_failure();
            Err(Denied::WrongToken)
        }
    }

    /// The session of the request's cookie, if signed by us and not expired.
    fn session(&self, headers: &HeaderMap) -> Option<Session> {
        let jar = SignedCookieJar::from_headers(headers, self.key.clone());
        let value = jar.get(COOKIE)?;
        let (expires, csrf) = value.value().split_once('|')?;
        let expires: i64 = expires.parse().ok()?;
        (expires > chrono::Utc::now().timestamp() && !csrf.is_empty()).then(|| Session {
            csrf: csrf.to_string(),
        })
    }
}

/// A logged-in browser: the CSRF token its forms must carry.
#[derive(Clone, Debug)]
pub struct Session {
    pub csrf: String,
}

/// Who made a request (set by [`guard`] for the handlers).
#[derive(Clone, Debug)]
pub enum Principal {
    Session(Session),
    Bearer,
}

impl Principal {
    /// The token forms must carry (none for Bearer clients, which post without forms' help).
    pub fn csrf(&self) -> &str {
        match self {
            Self::Session(s) => &s.csrf,
            Self::Bearer => "",
        }
    }
}

enum Denied {
    WrongToken,
    Throttled(Duration),
}

impl Denied {
    fn response(self) -> Response {
        match self {
            Self::WrongToken => view::login_page(StatusCode::UNAUTHORIZED, Some("Wrong token.")),
            Self::Throttled(wait) => {
                let mut r = view::login_page(
                    StatusCode::TOO_MANY_REQUESTS,
                    Some("Too many wrong tokens; try again later."),
                );
                if let Ok(v) = (wait.as_secs() + 1).to_string().parse() {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
        }
    }
}

/// Whether the browser reached us over https (directly or through a TLS-terminating proxy).
fn over_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// Authenticates every protected route and checks the CSRF token of a session's POST.
pub async fn guard(Extension(rt): Extension<Arc<Runtime>>, req: Request, next: Next) -> Response {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .map(str::to_string);
    let principal = match (bearer, rt.session(req.headers())) {
        (Some(token), _) => match rt.check_token(&token) {
            Ok(()) => Principal::Bearer,
            Err(denied) => return denied.response(),
        },
        (None, Some(session)) => Principal::Session(session),
        (None, None) => return view::login_page(StatusCode::UNAUTHORIZED, None),
    };
    let mut req = req;
    if req.method() == Method::POST {
        if let Principal::Session(s) = &principal {
            req = match csrf_checked(req, &s.csrf).await {
                Ok(req) => req,
                Err(r) => return r,
            };
        }
    }
    req.extensions_mut().insert(principal);
    next.run(req).await
}

/// The request again (its body re-assembled) when it carries `expected` as `csrf`; else 403.
async fn csrf_checked(req: Request, expected: &str) -> Result<Request, Response> {
    let forbidden = || view::error_page(StatusCode::FORBIDDEN, "missing or wrong CSRF token");
    let header_token = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| view::error_page(StatusCode::PAYLOAD_TOO_LARGE, "form too large"))?;
    let form_token = form_urlencoded_field(&bytes, "csrf").await;
    let presented = header_token.or(form_token).ok_or_else(forbidden)?;
    if !bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(forbidden());
    }
    Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
}

/// The first value of `name` in an `application/x-www-form-urlencoded` body (axum's decoder).
async fn form_urlencoded_field(body: &[u8], name: &str) -> Option<String> {
    let req = Request::builder()
        .method(Method::POST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(body.to_vec()))
        .ok()?;
    let Form(pairs) = Form::<Vec<(String, String)>>::from_request(req, &())
        .await
        .ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

pub async fn login_form() -> Response {
    view::login_page(StatusCode::OK, None)
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    token: String,
}

/// Exchanges the token for a session cookie and goes to the inbox.
pub async fn login(
    Extension(rt): Extension<Arc<Runtime>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let https = over_https(&headers);
    if let Err(denied) = rt.check_token(form.token.trim()) {
        return denied.response();
    }
    let expires = chrono::Utc::now().timestamp() + time_secs(SESSION_TTL).whole_seconds();
    let csrf = hex::encode(rand::random::<[u8; 32]>());
    let mut cookie = Cookie::new(COOKIE, format!("{expires}|{csrf}"));
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Strict);
    cookie.set_path("/ops");
    cookie.set_secure(https);
    cookie.set_max_age(time_secs(SESSION_TTL));
    let jar = SignedCookieJar::new(rt.key.clone()).add(cookie);
    (jar, Redirect::to("/ops/inbox")).into_response()
}

fn time_secs(d: Duration) -> time::Duration {
    time::Duration::seconds(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Ends the session (the cookie is removed; its CSRF token was checked by [`guard`]).
pub async fn logout(Extension(rt): Extension<Arc<Runtime>>) -> Response {
    let mut gone = Cookie::from(COOKIE);
    gone.set_path("/ops");
    let jar = SignedCookieJar::new(rt.key.clone()).remove(gone);
    (jar, Redirect::to("/ops/login")).into_response()
}
