//! The IMAP listener: accepts connections, caps how many are served at once, runs one
//! session task per client and drains them on shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::ImapConfig;
use super::backend::ImapBackend;
use super::session::{RecentTracker, Session};
use crate::listener::{AcceptPolicy, accept_loop};

/// Accepts IMAP clients on `listener` until `shutdown` becomes `true` (or its sender
/// is dropped after being set), then waits up to `config.shutdown_grace` for open
/// sessions, which say `* BYE` at their next command boundary, and aborts the rest.
///
/// # Errors
/// Only if accepting fails in a way that is not per-connection (the listener is
/// broken); per-connection errors are logged and the loop goes on.
pub async fn serve(
    listener: TcpListener,
    config: ImapConfig,
    backend: Arc<dyn ImapBackend>,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let config = Arc::new(config);
    let recent = Arc::new(RecentTracker::default());
    let policy = AcceptPolicy {
        proto: "imap",
        max_connections: config.max_connections,
        max_per_ip: config.max_connections_per_ip,
        shutdown_grace: config.shutdown_grace,
        busy_reply: b"* BYE Too many connections\r\n",
    };
    accept_loop(listener, policy, shutdown, move |stream, peer, rx| {
        let (config, backend, recent) = (config.clone(), backend.clone(), recent.clone());
        run_session(stream, peer, config, backend, recent, rx)
    })
    .await
}

async fn run_session<S>(
    stream: S,
    peer: SocketAddr,
    config: Arc<ImapConfig>,
    backend: Arc<dyn ImapBackend>,
    recent: Arc<RecentTracker>,
    shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + Sync + 'static,
{
    tracing::debug!(proto = "imap", ip = %peer, "connection opened");
    Session::new(config, backend, peer, Box::new(stream), recent, shutdown)
        .run()
        .await;
    tracing::debug!(proto = "imap", ip = %peer, "connection closed");
}

/// Serves one already-accepted connection (a TLS stream, or a socket handed over by a
/// proxy) to completion: greeting, commands, logout. `peer` is used for
/// authentication policy and logs. Connections served this way do not share the
/// `\Recent` bookkeeping of a [`serve`] listener.
pub async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    config: Arc<ImapConfig>,
    backend: Arc<dyn ImapBackend>,
    shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + Sync + 'static,
{
    run_session(
        stream,
        peer,
        config,
        backend,
        Arc::new(RecentTracker::default()),
        shutdown,
    )
    .await;
}
