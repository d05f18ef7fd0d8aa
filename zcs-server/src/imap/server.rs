//! The IMAP listener: accepts connections, caps how many are served at once, runs one
//! session task per client and drains them on shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::ImapConfig;
use super::backend::ImapBackend;
use super::session::{RecentTracker, Session};

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
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let config = Arc::new(config);
    let recent = Arc::new(RecentTracker::default());
    let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let mut tasks = JoinSet::new();
    // Replaces a dropped shutdown sender so `changed()` waits instead of failing.
    let mut keep_alive: Option<watch::Sender<bool>> = None;
    tracing::info!(proto = "imap", addr = ?listener.local_addr().ok(), "IMAP listener started");
    loop {
        if *shutdown.borrow_and_update() {
            break;
        }
        let accepted = tokio::select! {
            r = listener.accept() => r,
            changed = shutdown.changed() => {
                if changed.is_err() {
                    // The sender is gone without asking for shutdown: keep serving.
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
                tracing::warn!(proto = "imap", error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let _ = stream.set_nodelay(true);
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(proto = "imap", ip = %peer, "too many connections");
            tasks.spawn(async move {
                let mut stream = stream;
                let _ = stream.write_all(b"* BYE Too many connections\r\n").await;
                let _ = stream.shutdown().await;
            });
            continue;
        };
        let (config, backend, recent, rx) = (
            config.clone(),
            backend.clone(),
            recent.clone(),
            shutdown.clone(),
        );
        tasks.spawn(async move {
            run_session(stream, peer, config, backend, recent, rx).await;
            drop(permit);
        });
    }
    drop(keep_alive);
    tracing::info!(proto = "imap", open = tasks.len(), "IMAP listener stopping");
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
    ) || e.raw_os_error() == Some(libc::EMFILE)
        || e.raw_os_error() == Some(libc::ENFILE)
        || e.raw_os_error() == Some(libc::ENOBUFS)
        || e.raw_os_error() == Some(libc::ENOMEM)
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
    let (read, write) = tokio::io::split(stream);
    tracing::debug!(proto = "imap", ip = %peer, "connection opened");
    Session::new(
        config,
        backend,
        peer,
        Box::new(read),
        Box::new(write),
        recent,
        shutdown,
    )
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
