//! Connection limits of the HTTP listeners: how many connections the listener and one
//! client address may hold at once, how long a connection may stay silent, and how
//! large a request body may be.
//!
//! Every accepted connection takes a slot in a [`ConnTable`] (refused at once when the
//! listener or its address is full) and is wrapped in a [`LimitedStream`], which gives
//! the slot back when hyper drops the connection and fails a read that has waited too
//! long. Without these, clients that open connections and send one byte would exhaust
//! the process's file descriptors and stop every protocol. [`cap_body`] refuses a
//! request whose announced `Content-Length` is over the limit before reading any of
//! its body.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::frontends::Context;

/// Default of `zcs_http_max_connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 5000;
/// Default of `zcs_http_max_connections_per_ip`.
pub const DEFAULT_MAX_PER_IP: usize = 100;
/// Default of `zcs_http_idle_timeout` (seconds).
pub const DEFAULT_IDLE_SECS: u64 = 60;
/// How long a connection may stay silent once a request's headers are complete (its
/// handler is running or its body is on the way): above the longest `NoOpRequest`
/// wait (`MAX_WAIT` in `soap::context`, 300 s), so a long poll is never cut.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(360);

/// The limits of one HTTP listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Most connections the listener holds at once; 0: no cap.
    pub max_connections: usize,
    /// Most connections one client address may hold at once; 0: no cap.
    pub max_per_ip: usize,
    /// How long a connection may send nothing while no request is under way (before
    /// the first byte of a request and until its headers are complete).
    pub idle_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_per_ip: DEFAULT_MAX_PER_IP,
            idle_timeout: Duration::from_secs(DEFAULT_IDLE_SECS),
        }
    }
}

impl HttpLimits {
    /// The limits local config sets (`zcs_http_max_connections`,
    /// `zcs_http_max_connections_per_ip`, `zcs_http_idle_timeout`), defaults otherwise.
    pub fn from_ctx(ctx: &Context) -> HttpLimits {
        let idle = ctx
            .lc_number("zcs_http_idle_timeout", DEFAULT_IDLE_SECS)
            .max(1);
        HttpLimits {
            max_connections: ctx
                .lc_number("zcs_http_max_connections", DEFAULT_MAX_CONNECTIONS as u64)
                as usize,
            max_per_ip: ctx.lc_number("zcs_http_max_connections_per_ip", DEFAULT_MAX_PER_IP as u64)
                as usize,
            idle_timeout: Duration::from_secs(idle),
        }
    }
}

/// `router` with request bodies capped at `max` bytes: a request whose
/// `Content-Length` announces more gets `413 Content Too Large` with
/// `Connection: close` at once, before a byte of its body is read (RFC 9110 §15.5.14
/// lets the server close the connection then); a body without a length (chunked) is
/// cut off with the same status once it passes `max` (axum's `DefaultBodyLimit`).
pub fn cap_body<S>(router: Router<S>, max: usize) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| async move {
                match announced_length(request.headers()) {
                    Some(len) if len > max as u64 => too_large(len, max),
                    _ => next.run(request).await,
                }
            },
        ))
        .layer(axum::extract::DefaultBodyLimit::max(max))
}

/// The `Content-Length` of a request, when present and a number (RFC 9110 §8.6). A
/// malformed one is left to hyper, which refuses the request itself.
fn announced_length(headers: &axum::http::HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The `413` answer to a body announced over the cap. The connection is closed after
/// it, since the body that follows on the wire will never be read.
fn too_large(len: u64, max: usize) -> Response {
    tracing::info!(
        announced = len,
        max,
        "HTTP request body over the limit, refused"
    );
    let mut resp = (
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request body over {max} bytes\n"),
    )
        .into_response();
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// The open connections of one listener, counted in total and per client address.
pub(super) struct ConnTable {
    limits: HttpLimits,
    open: Mutex<Counts>,
}

/// One connection counted in its table; uncounted when dropped.
pub(super) struct ConnSlot {
    ip: IpAddr,
    table: Arc<ConnTable>,
}

impl ConnTable {
    pub(super) fn new(limits: HttpLimits) -> Arc<ConnTable> {
        Arc::new(ConnTable {
            limits,
            open: Mutex::new(Counts::default()),
        })
    }

    pub(super) fn limits(&self) -> HttpLimits {
        self.limits
    }

    /// Counts one more connection from `ip`; `None` when the listener or the address
    /// is already full.
    pub(super) fn acquire(self: &Arc<Self>, ip: IpAddr) -> Option<ConnSlot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if self.limits.max_connections > 0 && open.total >= self.limits.max_connections {
            return None;
        }
        let count = open.per_ip.entry(ip).or_insert(0);
        if self.limits.max_per_ip > 0 && *count >= self.limits.max_per_ip {
            return None;
        }
        *count += 1;
        open.total += 1;
        Some(ConnSlot {
            ip,
            table: self.clone(),
        })
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().unwrap_or_else(|p| p.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.per_ip.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.per_ip.remove(&self.ip);
            }
        }
    }
}

/// The end of an HTTP/1 header block (RFC 9112 §2.1: headers end with an empty line).
const HEADER_END: &[u8; 4] = b"\r\n\r\n";

/// An accepted connection holding its [`ConnSlot`], whose reads fail with
/// `TimedOut` once the peer has been silent too long: [`HttpLimits::idle_timeout`]
/// while no request is under way, [`BUSY_TIMEOUT`] from the end of a request's headers
/// until the server writes (hyper keeps reading during a handler to notice a closed
/// connection, so the short timeout must not apply then).
///
/// LIMITATION: the request boundary is guessed from the bytes (end of headers, then the
/// first response write); pipelined requests and HTTP/2 get the short timeout only
/// while nothing at all is read or written.
pub struct LimitedStream<S> {
    inner: S,
    _slot: ConnSlot,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    /// How much of [`HEADER_END`] the last bytes read matched.
    matched: usize,
    /// A request's headers are complete and no response has been written yet.
    in_request: bool,
}

impl<S> LimitedStream<S> {
    pub(super) fn new(inner: S, slot: ConnSlot, idle: Duration) -> LimitedStream<S> {
        LimitedStream {
            inner,
            _slot: slot,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            matched: 0,
            in_request: false,
        }
    }

    fn rearm(&mut self) {
        let wait = if self.in_request {
            BUSY_TIMEOUT.max(self.idle)
        } else {
            self.idle
        };
        self.deadline.as_mut().reset(Instant::now() + wait);
    }

    fn scan(&mut self, bytes: &[u8]) {
        if self.in_request {
            return;
        }
        for &b in bytes {
            if b == HEADER_END[self.matched] {
                self.matched += 1;
                if self.matched == HEADER_END.len() {
                    self.in_request = true;
                    self.matched = 0;
                    return;
                }
            } else {
                self.matched = usize::from(b == b'\r');
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for LimitedStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let filled = &buf.filled()[before..];
                if !filled.is_empty() {
                    let fresh = filled.to_vec();
                    this.scan(&fresh);
                    this.rearm();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    tracing::debug!("HTTP connection idle too long, closing");
                    Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "connection idle too long",
                    )))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for LimitedStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let written = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = written
            && n > 0
        {
            // The response has begun: the request is over as far as timeouts go.
            this.in_request = false;
            this.matched = 0;
            this.rearm();
        }
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let written = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = written
            && n > 0
        {
            this.in_request = false;
            this.matched = 0;
            this.rearm();
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_caps_per_ip_and_total() {
        let table = ConnTable::new(HttpLimits {
            max_connections: 3,
            max_per_ip: 2,
            idle_timeout: Duration::from_secs(1),
        });
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let b: IpAddr = "10.0.0.2".parse().expect("ip");
        let s1 = table.acquire(a).expect("first");
        let _s2 = table.acquire(a).expect("second");
        assert!(table.acquire(a).is_none());
        let _s3 = table.acquire(b).expect("other address");
        assert!(table.acquire(b).is_none(), "total cap");
        drop(s1);
        assert!(table.acquire(a).is_some());
    }

    #[tokio::test]
    async fn header_end_is_found_across_reads() {
        let table = ConnTable::new(HttpLimits::default());
        let slot = table
            .acquire("10.0.0.1".parse().expect("ip"))
            .expect("slot");
        let mut s = LimitedStream::new((), slot, Duration::from_secs(1));
        s.scan(b"GET / HTTP/1.1\r\nHost: x\r\n\r");
        assert!(!s.in_request);
        s.scan(b"\n");
        assert!(s.in_request);
    }
}
