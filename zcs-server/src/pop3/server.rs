//! The POP3 listener: accepts connections, caps how many are served at once, runs one
//! session task per client and drains them on shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::Pop3Config;
use super::backend::Pop3Backend;
use super::session::Session;

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
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let config = Arc::new(config);
    let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let mut tasks = JoinSet::new();
    // Replaces a dropped shutdown sender so `changed()` waits instead of failing.
    let mut keep_alive: Option<watch::Sender<bool>> = None;
    tracing::info!(proto = "pop3", addr = ?listener.local_addr().ok(), "POP3 listener started");
    loop {
        if *shutdown.borrow_and_update() {
            break;
        }
        let accepted = tokio::select! {
            r = listener.accept() => r,
            changed = shutdown.changed() => {
                if changed.is_err() {
                    let (tx, rx) = watch::channel(false);
                    keep_alive = Some(tx);
                    shutdown = rx;
                }
                continue;
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) if is_transient(&e) => {
                tracing::warn!(proto = "pop3", error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let _ = stream.set_nodelay(true);
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(proto = "pop3", ip = %peer, "too many connections");
            tasks.spawn(async move {
                let mut stream = stream;
                let _ = stream
                    .write_all(b"-ERR [SYS/TEMP] too many connections\r\n")
                    .await;
                let _ = stream.shutdown().await;
            });
            continue;
        };
        let (config, backend, rx) = (config.clone(), backend.clone(), shutdown.clone());
        tasks.spawn(async move {
            serve_connection(stream, peer, config, backend, rx).await;
            drop(permit);
        });
    }
    drop(keep_alive);
    tracing::info!(proto = "pop3", open = tasks.len(), "POP3 listener stopping");
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(config.shutdown_grace, drain)
        .await
        .is_err()
    {
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
    Ok(())
}

fn is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted | WouldBlock
    ) || [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM]
        .iter()
        .any(|&code| e.raw_os_error() == Some(code))
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
    let (read, write) = tokio::io::split(stream);
    tracing::debug!(proto = "pop3", ip = %peer, "connection opened");
    Session::new(
        config,
        backend,
        peer,
        Box::new(read),
        Box::new(write),
        shutdown,
    )
    .run()
    .await;
    tracing::debug!(proto = "pop3", ip = %peer, "connection closed");
}
