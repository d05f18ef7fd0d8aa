//! The implicit-TLS listeners (RFC 8314: IMAP on 993, POP3 on 995): one accept loop
//! that completes the TLS handshake of each client before handing the encrypted stream
//! to the protocol's session, shared by every front end that has such a port.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::tls_handshake;
use crate::listener::{AcceptPolicy, accept_loop};

/// Serves `listener` with `policy` until shutdown: every accepted client first
/// completes a TLS handshake with `acceptor` (within
/// [`super::TLS_HANDSHAKE_TIMEOUT`], the time counted against its connection slot),
/// then `serve(tls, peer, shutdown)` runs it to the end. Returns at once when there is
/// no acceptor (the server has no certificate). `policy.busy_reply` should be empty:
/// a client over a cap is spoken to before any handshake, so it sees a failed one.
pub fn spawn<F, Fut>(
    listener: TcpListener,
    policy: AcceptPolicy,
    acceptor: Option<TlsAcceptor>,
    shutdown: watch::Receiver<bool>,
    serve: F,
) -> JoinHandle<()>
where
    F: Fn(TlsStream<TcpStream>, SocketAddr, watch::Receiver<bool>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let serve = std::sync::Arc::new(serve);
    tokio::spawn(async move {
        let Some(acceptor) = acceptor else { return };
        let proto = policy.proto;
        let served = accept_loop(listener, policy, shutdown, move |stream, peer, rx| {
            let (serve, acceptor) = (serve.clone(), acceptor.clone());
            async move {
                if let Some(tls) = tls_handshake(&acceptor, stream, peer, proto).await {
                    serve(tls, peer, rx).await;
                }
            }
        })
        .await;
        if let Err(e) = served {
            tracing::error!(proto, error = %e, "listener failed");
        }
    })
}
