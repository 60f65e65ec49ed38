//! The HTTP/1.1 server loop, with the connection limits `axum::serve` does not expose
//! (`docs/behaviour.md#ingress-limits`):
//!
//! * a **header-read timeout**: a client that has not sent its whole request head within
//!   [`HEADER_READ_TIMEOUT`] is disconnected (slowloris);
//! * an **idle timeout**: a connection with no byte read or written for [`IDLE_TIMEOUT`] is
//!   closed (longer than a request may take, [`super::REQUEST_TIMEOUT`]);
//! * a bounded per-connection read buffer ([`MAX_HEAD_BYTES`]: larger heads get 431);
//! * **JSON bodies on hyper's own answers**: hyper answers unparseable requests itself (400, 414,
//!   431) with an empty body; [`GuardedIo`] rewrites exactly those responses to carry the same
//!   JSON error body as every other error of the service.
//!
//! Graceful shutdown: stop accepting, let in-flight connections finish, at most
//! [`super::REQUEST_TIMEOUT`].

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::http::StatusCode;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};

/// Time a client has to send a whole request head.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection with no traffic for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// hyper's read buffer per connection, which bounds a request head (hyper's default is ~400 KB).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The connection limits (tests shorten them).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: HEADER_READ_TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
        }
    }
}

/// Serves `router` on `listener` with the default [`Limits`] until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    serve_with(listener, router, Limits::default(), shutdown).await
}

/// [`serve`] with explicit limits.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(GuardedIo::new(stream, limits.idle_timeout));
        let service = TowerToHyperService::new(router.clone());
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .max_buf_size(MAX_HEAD_BYTES)
            .max_header_size(MAX_HEAD_BYTES)
            // One buffer per write, so GuardedIo sees hyper's automatic responses whole.
            .writev(false)
            .serve_connection(io, service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(super::REQUEST_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period; closing");
    }
    Ok(())
}

/// A TCP stream with an idle timeout that gives hyper's automatic error responses a JSON body.
pub struct GuardedIo {
    inner: TcpStream,
    idle_for: Duration,
    idle: Pin<Box<Sleep>>,
    /// A rewritten automatic response being written: (bytes, written so far, length hyper gave).
    rewrite: Option<(Vec<u8>, usize, usize)>,
}

impl GuardedIo {
    pub fn new(inner: TcpStream, idle_for: Duration) -> Self {
        Self {
            inner,
            idle_for,
            idle: Box::pin(tokio::time::sleep(idle_for)),
            rewrite: None,
        }
    }

    fn touch(&mut self) {
        self.idle.as_mut().reset(Instant::now() + self.idle_for);
    }

    fn idle_expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.idle.as_mut().poll(cx).is_ready()
    }

    fn poll_rewrite(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some((bytes, written, reported)) = self.rewrite.as_mut() else {
            return Poll::Ready(Ok(0));
        };
        while *written < bytes.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        let reported = *reported;
        self.rewrite = None;
        self.touch();
        Poll::Ready(Ok(reported))
    }
}

impl AsyncRead for GuardedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.touch();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending if this.idle_expired(cx) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "idle connection",
            ))),
            other => other,
        }
    }
}

impl AsyncWrite for GuardedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.rewrite.is_none() {
            if let Some(json) = with_json_body(buf) {
                this.rewrite = Some((json, 0, buf.len()));
            }
        }
        if this.rewrite.is_some() {
            return this.poll_rewrite(cx);
        }
        let n = ready!(Pin::new(&mut this.inner).poll_write(cx, buf))?;
        if n > 0 {
            this.touch();
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// If `buf` is exactly one of hyper's automatic error responses (a 4xx/5xx head with
/// `content-length: 0` and nothing after it), the same response with a JSON body; else `None`.
/// The service's own error responses always carry a body, so they never match.
pub fn with_json_body(buf: &[u8]) -> Option<Vec<u8>> {
    let head = std::str::from_utf8(buf).ok()?;
    let rest = head.strip_prefix("HTTP/1.1 ")?;
    let code: u16 = rest.get(..3)?.parse().ok()?;
    let status = StatusCode::from_u16(code).ok()?;
    if !(status.is_client_error() || status.is_server_error()) || !head.ends_with("\r\n\r\n") {
        return None;
    }
    let lines: Vec<&str> = head[..head.len() - 4].split("\r\n").collect();
    let empty = lines
        .iter()
        .any(|l| l.eq_ignore_ascii_case("content-length: 0"));
    if !empty {
        return None;
    }
    let body = crate::error::status_body(status).to_string();
    let mut out = String::with_capacity(head.len() + body.len() + 64);
    for line in lines
        .iter()
        .filter(|l| !l.eq_ignore_ascii_case("content-length: 0"))
    {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("content-type: application/json\r\n");
    out.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    out.push_str(&body);
    Some(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyper_error_heads_get_a_json_body_and_nothing_else_changes() {
        let cases: [(&str, Option<&str>); 6] = [
            (
                "HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: x\r\n\r\n",
                Some("headers_too_large"),
            ),
            (
                "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n",
                Some("bad_request"),
            ),
            (
                "HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n\r\n",
                Some("uri_too_long"),
            ),
            // The service's own responses have a body: untouched.
            (
                "HTTP/1.1 401 Unauthorized\r\ncontent-length: 20\r\n\r\n{\"error\":\"nope\"}",
                None,
            ),
            // Success with an empty body: untouched.
            ("HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n", None),
            // A partial head: untouched.
            ("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n", None),
        ];
        for (input, want) in cases {
            let got = with_json_body(input.as_bytes()).map(|b| String::from_utf8(b).unwrap());
            match (want, got) {
                (None, None) => {}
                (Some(error), Some(out)) => {
                    let (head, body) = out.split_once("\r\n\r\n").unwrap();
                    let json: serde_json::Value = serde_json::from_str(body).unwrap();
                    assert_eq!(json["error"], error, "{input:?}");
                    assert!(head.contains(&format!("content-length: {}", body.len())));
                    assert!(head.contains("content-type: application/json"));
                    assert!(!head.contains("content-length: 0"));
                    assert_eq!(head.lines().next(), input.lines().next());
                }
                (want, got) => panic!("{input:?}: want {want:?}, got {got:?}"),
            }
        }
    }
}
