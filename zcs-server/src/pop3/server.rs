//! The POP3 listener: accepts connections, caps how many are served at once, runs one
//! session task per client and drains them on shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::Pop3Config;
use super::backend::Pop3Backend;
use super::session::Session;
use crate::listener::{AcceptPolicy, accept_loop};

/// Accepts POP3 clients on `listener` until `shutdown` becomes `true`, then waits up to
/// `config.shutdown_grace` for open sessions, which answer `-ERR [SYS/TEMP]` at their
/// next command boundary and close without applying deletions, and aborts the rest.
/// A dropped shutdown sender that never said `true` leaves the listener running.
///
/// # Errors
/// Only if accepting fails in a way that is not per-connection (the listener is
/// broken); per-connection errors are logged and the loop goes on.
pub async fn serve(
    listener: TcpListener,
    config: Pop3Config,
    backend: Arc<dyn Pop3Backend>,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let config = Arc::new(config);
    let policy = AcceptPolicy {
        proto: "pop3",
        max_connections: config.max_connections,
        max_per_ip: config.max_connections_per_ip,
        shutdown_grace: config.shutdown_grace,
        busy_reply: b"-ERR [SYS/TEMP] too many connections\r\n",
    };
    accept_loop(listener, policy, shutdown, move |stream, peer, rx| {
        let (config, backend) = (config.clone(), backend.clone());
        serve_connection(stream, peer, config, backend, rx)
    })
    .await
}

/// Serves one already-accepted connection (a TLS stream for port 995, or a socket
/// handed over by a proxy) to completion: greeting, commands, QUIT. `peer` is used for
/// authentication policy and logs. The maildrop locks are `config.locks`.
pub async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    config: Arc<Pop3Config>,
    backend: Arc<dyn Pop3Backend>,
    shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + Sync + 'static,
{
    tracing::debug!(proto = "pop3", ip = %peer, "connection opened");
    Session::new(config, backend, peer, Box::new(stream), shutdown)
        .run()
        .await;
    tracing::debug!(proto = "pop3", ip = %peer, "connection closed");
}
