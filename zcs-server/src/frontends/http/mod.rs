//! The HTTP listeners: the user SOAP/JSON API on `zimbraMailPort` (cleartext) and
//! `zimbraMailSSLPort` (implicit TLS), and the admin API on `zimbraAdminPort` (TLS
//! only). Routing, body limits and cookies live here; SOAP itself is `crate::soap`.
//!
//! `/service/soap[/<anything>]` is served on the mail ports; `/service/admin/soap
//! [/<anything>]` only on the admin port, which also answers account and mail requests
//! (Zimbra's `allowed.ports`). The mail ports also serve `/service/upload` (`upload`),
//! `/service/preauth` (`preauth`), `/service/spnego` (`spnego`) and the `/home` REST URLs
//! (`rest`); the admin port serves uploads and preauth too (admin preauth, `admin=1`,
//! only there).

mod afd;
mod archive;
mod csv_formats;
mod limits;
mod preauth;
mod rest;
mod rest_archive_export;
mod rest_csv;
mod rest_export;
mod rest_import;
pub mod spnego;
mod upload;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tracing::Instrument;

use super::dos::{self, DosFilter, Verdict};
use super::{Context, Planned, PortFrom, tls_handshake};
use crate::soap::{Caller, SoapService};
use limits::{ConnSlot, ConnTable};
pub use limits::{HttpLimits, LimitedStream, cap_body};

/// Largest request body accepted (uploads carry whole messages and files).
pub const MAX_BODY: usize = 64 * 1024 * 1024;

/// Largest SOAP request body: Zimbra's `zimbraSoapRequestMaxSize` default (15,360,000
/// bytes); an AddMsg with inline content fits a message of the default
/// `zimbraMtaMaxMessageSize` (10 MB) with room for escaping.
pub const SOAP_MAX_BODY: usize = 15_360_000;

/// The listeners of this front end.
pub fn listeners() -> Vec<Planned> {
    vec![
        Planned {
            service: "mailbox",
            protocol: "http",
            port: PortFrom::Attr("zimbraMailPort"),
            addr_attr: Some("zimbraMailBindAddress"),
            enabled_attr: None,
            needs_tls: false,
            spawn: spawn_http,
        },
        Planned {
            service: "mailbox",
            protocol: "https",
            port: PortFrom::Attr("zimbraMailSSLPort"),
            addr_attr: Some("zimbraMailSSLBindAddress"),
            enabled_attr: None,
            needs_tls: true,
            spawn: spawn_https,
        },
        Planned {
            service: "mailbox",
            protocol: "admin",
            port: PortFrom::Attr("zimbraAdminPort"),
            addr_attr: Some("zimbraAdminBindAddress"),
            enabled_attr: None,
            needs_tls: true,
            spawn: spawn_admin,
        },
    ]
}

/// One service per server, built on first use from the context.
fn service(ctx: &Context) -> Arc<SoapService> {
    static SERVICES: std::sync::Mutex<Vec<(usize, Arc<SoapService>)>> =
        std::sync::Mutex::new(Vec::new());
    let key = ctx as *const Context as usize;
    let mut all = SERVICES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, s)) = all.iter().find(|(k, _)| *k == key) {
        return s.clone();
    }
    let s = Arc::new(SoapService::new(
        ctx.subs.prov.clone(),
        ctx.subs.store.clone(),
        ctx.subs.index.clone(),
        ctx.indexer.clone(),
        Some(ctx.delivery.clone()),
        ctx.subs.hostname.clone(),
    ));
    s.set_dns_resolver(dns_resolver(ctx));
    // Zimbra's place for the SPNEGO service key, under this server's home.
    spnego::default_keytab(ctx.home.root().join("data/mailboxd/spnego/jetty.keytab"));
    all.push((key, s.clone()));
    s
}

/// The resolver of the admin MX check: `zcs_dns_servers`, else the system's; one that
/// fails every lookup (logged) when neither can be built.
fn dns_resolver(ctx: &Context) -> Arc<dyn zcs_mta::outbound::Resolver> {
    let servers = match crate::localconfig::LocalConfig::load(&ctx.home) {
        Ok(lc) => crate::mta::config::dns_servers(&lc),
        Err(_) => Vec::new(),
    };
    match zcs_mta::outbound::SystemResolver::with_name_servers(&servers) {
        Ok(r) => Arc::new(r),
        Err(e) => {
            tracing::warn!(error = %e, "no DNS resolver for the admin MX check");
            Arc::new(zcs_mta::outbound::UnavailableResolver::new(e.to_string()))
        }
    }
}

#[derive(Clone)]
struct AppState {
    svc: Arc<SoapService>,
    admin: bool,
}

/// The router of one listener: user paths, or (admin) the admin path. SOAP bodies are
/// capped at Zimbra's `zimbraSoapRequestMaxSize` default, uploads at [`MAX_BODY`], so a
/// client holding bodies open before it logs in pins less memory.
pub fn router(svc: Arc<SoapService>, admin: bool) -> Router {
    let state = AppState { svc, admin };
    let (soap_routes, other) = if admin {
        (
            Router::new()
                .route("/service/admin/soap", post(soap))
                .route("/service/admin/soap/", post(soap))
                .route("/service/admin/soap/{*rest}", post(soap)),
            Router::new()
                .route("/", get(landing))
                .route("/service/upload", post(upload::upload))
                // Admin preauth (`admin=1`) is served here only, as Zimbra's is.
                .route("/service/preauth", get(preauth::preauth))
                // The bulk provisioning wizard's CSV download (admin file download).
                .route("/service/afd", get(afd::afd))
                .route("/service/afd/", get(afd::afd)),
        )
    } else {
        (
            Router::new()
                .route("/service/soap", post(soap))
                .route("/service/soap/", post(soap))
                .route("/service/soap/{*rest}", post(soap)),
            Router::new()
                .route("/", get(landing))
                .route("/service/upload", post(upload::upload))
                .route("/service/preauth", get(preauth::preauth))
                .route("/service/spnego", get(spnego::spnego))
                .route(
                    "/home/{*rest}",
                    get(rest::rest).post(rest_import::rest_post),
                )
                .route(
                    "/service/home/{*rest}",
                    get(rest::rest).post(rest_import::rest_post),
                ),
        )
    };
    cap_body(soap_routes, SOAP_MAX_BODY)
        .merge(cap_body(other, MAX_BODY))
        .with_state(state)
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// The caller of a request: its listener, address, cookies, CSRF header and, when the
/// peer is a trusted proxy (`zimbraMailTrustedIP` or loopback), the client it names.
async fn caller_of(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> Caller {
    let mut caller = Caller::new(state.admin, peer.ip());
    caller.cookie_token = cookie(headers, "ZM_AUTH_TOKEN");
    caller.cookie_admin_token = cookie(headers, "ZM_ADMIN_AUTH_TOKEN");
    caller.csrf_header = header_text(headers, "X-Zimbra-Csrf-Token");
    // A JWT (Zimbra 8.8.6+) comes as a bearer token, its salt in the ZM_JWT cookie.
    caller.bearer = header_text(headers, "Authorization").and_then(|v| {
        let (scheme, jwt) = v.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("Bearer")
            .then(|| jwt.trim().to_string())
    });
    caller.cookie_jwt_salt = cookie(headers, "ZM_JWT");
    let originating = header_text(headers, "X-Originating-IP");
    let forwarded = header_text(headers, "X-Forwarded-For");
    let via = header_text(headers, "Via");
    if (originating.is_some() || forwarded.is_some() || via.is_some())
        && crate::proxy::peer_trusted(&state.svc.prov, peer.ip()).await
    {
        caller.origin_ip = crate::proxy::from_headers(originating.as_deref(), forwarded.as_deref());
        caller.via = via.as_deref().and_then(crate::proxy::clean_via);
    }
    caller
}

/// A header's value as text, if it is there and readable.
fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The log context of one HTTP request (Zimbra's `[ip=;oip=;via=;ua=;]`): every line
/// written while it is served carries the peer, the client a trusted proxy named and
/// the user agent.
fn request_span(caller: &Caller, headers: &HeaderMap) -> tracing::Span {
    let empty = tracing::field::Empty;
    let span = tracing::info_span!("SoapServlet", ip = %caller.remote_ip, oip = empty,
        via = empty, ua = empty, name = empty);
    if let Some(oip) = caller.origin_ip {
        span.record("oip", oip.to_string().as_str());
    }
    if let Some(via) = &caller.via {
        span.record("via", via.as_str());
    }
    if let Some(ua) = header_text(headers, "User-Agent")
        .as_deref()
        .and_then(crate::proxy::clean_via)
    {
        span.record("ua", ua.as_str());
    }
    span
}

/// A plain-text response with `status`.
/// `GET /`: where Zimbra serves its web client, and where a preauth URL sends the
/// browser. zcs has no web client; the page says so and names what there is.
async fn landing() -> Response {
    text(
        StatusCode::OK,
        "zcs: no web client is served here. Use an IMAP, POP3 or CalDAV client, the \
         SOAP/JSON API at /service/soap, or REST under /home/<account>/.\n",
    )
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    let mut resp = (status, body.into()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

async fn soap(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = caller_of(&state, peer, &headers).await;
    let span = request_span(&caller, &headers);
    let reply = state.svc.serve(&caller, &body).instrument(span).await;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, reply.body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    if let Some(c) = reply
        .set_cookie
        .and_then(|c| HeaderValue::from_str(&c).ok())
    {
        resp.headers_mut().insert(header::SET_COOKIE, c);
    }
    resp
}

/// Serves `router` on a plain listener until shutdown, with the default
/// [`HttpLimits`].
pub async fn serve_plain(listener: TcpListener, router: Router, shutdown: watch::Receiver<bool>) {
    serve_plain_limited(listener, router, shutdown, HttpLimits::default()).await;
}

/// Serves `router` on a plain listener until shutdown. A client over a connection cap
/// of `limits` gets a bare `503` and is closed at once; a silent connection is closed
/// after the idle timeout.
pub async fn serve_plain_limited(
    listener: TcpListener,
    router: Router,
    shutdown: watch::Receiver<bool>,
    limits: HttpLimits,
) {
    let plain = PlainListener {
        inner: listener,
        table: ConnTable::new(limits),
    }
    .tap_io(|_io| {});
    let app = router.into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(plain, app)
        .with_graceful_shutdown(wait_shutdown(shutdown))
        .await;
    if let Err(e) = served {
        tracing::error!(proto = "http", error = %e, "listener failed");
    }
}

/// What a plain-HTTP client over a cap reads before the close (RFC 9110 §15.6.4).
const BUSY_REPLY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

/// Accepted plain connections within the caps, as axum's listener.
struct PlainListener {
    inner: TcpListener,
    table: Arc<ConnTable>,
}

impl axum::serve::Listener for PlainListener {
    type Io = LimitedStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, peer) = match self.inner.accept().await {
                Ok(a) => a,
                Err(e) => {
                    // Descriptors or buffers short: wait instead of spinning.
                    tracing::warn!(proto = "http", error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Some(slot) = self.table.acquire(peer.ip()) else {
                tracing::warn!(proto = "http", ip = %peer, "too many connections, refused");
                refuse(stream, BUSY_REPLY);
                continue;
            };
            let _ = stream.set_nodelay(true);
            let idle = self.table.limits().idle_timeout;
            return (LimitedStream::new(stream, slot, idle), peer);
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// Writes `reply` (if any) to a client over a cap and closes, in its own task and
/// within a second so a client that does not read holds nothing for long.
fn refuse(mut stream: TcpStream, reply: &'static [u8]) {
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let write = async {
            if !reply.is_empty() {
                let _ = stream.write_all(reply).await;
            }
            let _ = stream.shutdown().await;
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), write).await;
    });
}

/// Serves `router` over TLS until shutdown, with the default [`HttpLimits`].
pub async fn serve_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    router: Router,
    shutdown: watch::Receiver<bool>,
    proto: &'static str,
) {
    serve_tls_limited(
        listener,
        acceptor,
        router,
        shutdown,
        proto,
        HttpLimits::default(),
    )
    .await;
}

/// Serves `router` over TLS until shutdown. Handshakes run in their own tasks so a
/// slow client cannot hold up the accept loop. A client over a connection cap of
/// `limits` is closed before any handshake; a silent connection is closed after the
/// idle timeout.
pub async fn serve_tls_limited(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    router: Router,
    shutdown: watch::Receiver<bool>,
    proto: &'static str,
    limits: HttpLimits,
) {
    let local = listener.local_addr().ok();
    let (tx, rx) = mpsc::channel(64);
    let accept_shutdown = shutdown.clone();
    let table = ConnTable::new(limits);
    let acceptor_task = tokio::spawn(accept_tls(
        listener,
        acceptor,
        tx,
        accept_shutdown,
        proto,
        table,
    ));
    // Through tap_io, axum knows how to give handlers the peer address.
    let tls = TlsListener { rx, local }.tap_io(|_io| {});
    let app = router.into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(tls, app)
        .with_graceful_shutdown(wait_shutdown(shutdown))
        .await;
    acceptor_task.abort();
    if let Err(e) = served {
        tracing::error!(proto, error = %e, "listener failed");
    }
}

async fn wait_shutdown(mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            break;
        }
    }
}

type TlsConn = (LimitedStream<TlsStream<TcpStream>>, SocketAddr);

async fn accept_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    tx: mpsc::Sender<TlsConn>,
    mut shutdown: watch::Receiver<bool>,
    proto: &'static str,
    table: Arc<ConnTable>,
) {
    let idle = table.limits().idle_timeout;
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(proto, error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        // The slot is taken before the handshake, so handshakes in progress count too.
        let Some(slot): Option<ConnSlot> = table.acquire(peer.ip()) else {
            tracing::warn!(proto, ip = %peer, "too many connections, refused");
            refuse(stream, b"");
            continue;
        };
        let (acceptor, tx) = (acceptor.clone(), tx.clone());
        tokio::spawn(async move {
            if let Some(tls) = tls_handshake(&acceptor, stream, peer, proto).await {
                let _ = tx.send((LimitedStream::new(tls, slot, idle), peer)).await;
            }
        });
    }
}

/// Completed TLS connections, as axum's listener.
struct TlsListener {
    rx: mpsc::Receiver<TlsConn>,
    local: Option<SocketAddr>,
}

impl axum::serve::Listener for TlsListener {
    type Io = LimitedStream<TlsStream<TcpStream>>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The accept task ended (shutdown): park until axum stops polling us.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.local
            .ok_or_else(|| std::io::Error::other("listener address unknown"))
    }
}

/// One flood filter per server, shared by its HTTP listeners.
fn dos_filter(ctx: &Context) -> Arc<DosFilter> {
    static FILTERS: std::sync::Mutex<Vec<(usize, Arc<DosFilter>)>> =
        std::sync::Mutex::new(Vec::new());
    let key = ctx as *const Context as usize;
    let mut all = FILTERS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, f)) = all.iter().find(|(k, _)| *k == key) {
        return f.clone();
    }
    let f = Arc::new(DosFilter::new(dos::config_from(ctx)));
    all.push((key, f.clone()));
    f
}

/// Applies the flood filter before any handler runs.
async fn flood_guard(
    State(filter): State<Arc<DosFilter>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match filter.check(peer.ip(), std::time::Instant::now()) {
        Verdict::Pass => next.run(request).await,
        Verdict::Delay(d) => {
            tokio::time::sleep(d).await;
            next.run(request).await
        }
        Verdict::Refuse => {
            tracing::info!(ip = %peer.ip(), "HTTP request refused by the flood filter");
            let mut resp = (StatusCode::SERVICE_UNAVAILABLE, "too many requests\n").into_response();
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            resp
        }
    }
}

/// `router` behind the server's flood filter.
fn guarded(router: Router, ctx: &Context) -> Router {
    router.layer(axum::middleware::from_fn_with_state(
        dos_filter(ctx),
        flood_guard,
    ))
}

/// `GET /metrics` on the admin port: the Prometheus text exposition of the server's
/// counters and gauges (the same figures zmstat writes), for the clients
/// `crate::metrics_access` lets through.
fn metrics_router(ctx: Arc<Context>) -> Router {
    Router::new().route(
        "/metrics",
        axum::routing::get(
            move |ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap| {
                let ctx = ctx.clone();
                async move {
                    // Loopback or zcs_metrics_allowed_addresses, else an admin token.
                    if let Err(refused) =
                        crate::metrics_access::check(&ctx, peer.ip(), &headers).await
                    {
                        return refused;
                    }
                    let body = crate::metrics::render_prometheus(
                        crate::metrics::counters(),
                        &ctx.gauges(),
                    );
                    let mut resp = (StatusCode::OK, body).into_response();
                    resp.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                    );
                    resp
                }
            },
        ),
    )
}

fn spawn_http(
    listener: TcpListener,
    ctx: Arc<Context>,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let router = guarded(router(service(&ctx), false), &ctx);
    let limits = HttpLimits::from_ctx(&ctx);
    tokio::spawn(serve_plain_limited(listener, router, shutdown, limits))
}

fn spawn_https(
    listener: TcpListener,
    ctx: Arc<Context>,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let router = guarded(router(service(&ctx), false), &ctx);
    let acceptor = ctx.acceptor();
    let limits = HttpLimits::from_ctx(&ctx);
    tokio::spawn(async move {
        let Some(acceptor) = acceptor else { return };
        serve_tls_limited(listener, acceptor, router, shutdown, "https", limits).await;
    })
}

fn spawn_admin(
    listener: TcpListener,
    ctx: Arc<Context>,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let router = guarded(
        router(service(&ctx), true).merge(metrics_router(ctx.clone())),
        &ctx,
    );
    let acceptor = ctx.acceptor();
    let limits = HttpLimits::from_ctx(&ctx);
    tokio::spawn(async move {
        let Some(acceptor) = acceptor else { return };
        serve_tls_limited(listener, acceptor, router, shutdown, "admin", limits).await;
    })
}
