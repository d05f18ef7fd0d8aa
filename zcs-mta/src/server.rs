//! The listener: accepts connections, enforces the connection limits (overall and per
//! client address), runs the implicit-TLS handshake, runs one session task per client
//! and drains them on shutdown.
//!
//! What happens inside a connection is `session`'s business.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{Instrument, debug, info, info_span, warn};

use crate::limits::RateLimiter;
use crate::reply::{Reply, Status};
use crate::session::{Session, SessionParts, shutdown_requested};
use crate::tls::{Conn, handshake};
use crate::{ListenerConfig, LocalDelivery};

/// Pause after an accept error (for instance out of file descriptors) before retrying.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How long a refused client gets to take its `421`.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves SMTP or LMTP (per `config.protocol`) on `listener` until `shutdown` becomes
/// `true` (or its sender is dropped, which counts as shutdown).
///
/// Each connection runs in its own task. Beyond `config.max_connections` sessions, or
/// `config.limits.max_connections_per_ip` from one address outside
/// `config.my_networks`, a client gets `421 4.7.0` and is disconnected. With
/// `config.implicit_tls` (and `config.tls`) the TLS handshake runs before the greeting;
/// a failed handshake just closes the connection. On shutdown the listener stops
/// accepting; sessions waiting for a command get `421 4.3.2` and close, sessions reading
/// or delivering a message finish it; after `config.shutdown_grace` the rest are aborted
/// (an aborted message is not acknowledged, so the client keeps it). Returns once every
/// session has ended.
///
/// # Errors
///
/// None today: accept errors are logged and retried. The `io::Result` is kept for the
/// TLS listeners to come.
pub async fn serve(
    listener: TcpListener,
    config: ListenerConfig,
    delivery: Arc<dyn LocalDelivery>,
    shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let source = Arc::new(FixedConfig(Arc::new(config)));
    serve_with(listener, source, delivery, shutdown).await
}

/// Where a listener takes its settings: asked once per accepted connection, so a
/// changed setting (`zimbraMtaMaxMessageSize`, restrictions, trusted networks, filters)
/// applies from the next session on, as after Postfix's `postfix reload`.
#[async_trait::async_trait]
pub trait ConfigSource: Send + Sync {
    /// The settings for a session starting now. Called on the accept path: keep it
    /// cheap (serve a cached value and refresh it now and then).
    async fn current(&self) -> Arc<ListenerConfig>;
}

/// Settings that never change.
struct FixedConfig(Arc<ListenerConfig>);

#[async_trait::async_trait]
impl ConfigSource for FixedConfig {
    async fn current(&self) -> Arc<ListenerConfig> {
        self.0.clone()
    }
}

/// As [`serve`], with settings read from `source` for each new session, the per-client
/// limits and `max_connections` included (a lower cap refuses new clients until enough
/// sessions ended; running sessions are never cut). The protocol and `shutdown_grace`
/// are taken once, at start.
///
/// # Errors
///
/// As [`serve`].
pub async fn serve_with(
    listener: TcpListener,
    source: Arc<dyn ConfigSource>,
    delivery: Arc<dyn LocalDelivery>,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let first = source.current().await;
    let config = first.clone();
    let slots = Slots::default();
    let limiter = RateLimiter::new(config.limits.clone());
    let mut sessions = JoinSet::new();
    let proto = config.protocol;
    match listener.local_addr() {
        Ok(addr) => info!(?proto, %addr, "listening"),
        Err(e) => debug!(?proto, error = %e, "listening (address unknown)"),
    }

    while !shutdown_requested(&shutdown) {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let config = source.current().await;
                    // A reload may have changed the per-client limits.
                    limiter.set_limits(&config.limits);
                    let span = info_span!("session", ?proto, ip = %peer.ip());
                    let ip = peer.ip();
                    let trusted = config.my_networks.iter().any(|n| n.contains(ip));
                    let slot = if trusted { None } else { limiter.open_session(ip) };
                    if !trusted && slot.is_none() {
                        warn!(parent: &span, "too many connections from this client, refusing");
                        let hostname = config.hostname.clone();
                        sessions.spawn(refuse(stream, hostname).instrument(span));
                        continue;
                    }
                    match slots.take(config.max_connections) {
                        Some(permit) => {
                            debug!(parent: &span, "connection accepted");
                            let parts = SessionParts {
                                peer: ip,
                                cfg: config.clone(),
                                delivery: delivery.clone(),
                                shutdown: shutdown.clone(),
                                limiter: limiter.clone(),
                                slot,
                            };
                            let tls = match (&config.tls, config.implicit_tls) {
                                (Some(acceptor), true) => Some(acceptor.clone()),
                                _ => None,
                            };
                            let timeout = config.idle_timeout;
                            sessions.spawn(
                                async move {
                                    let conn = match tls {
                                        None => Conn::Plain(stream),
                                        // RFC 8314 §3.3: TLS first, then the greeting.
                                        Some(acceptor) => {
                                            match handshake(&acceptor, stream, timeout).await {
                                                Ok(tls) => Conn::Tls(Box::new(tls)),
                                                Err(e) => {
                                                    debug!(error = %e, "TLS handshake failed");
                                                    return;
                                                }
                                            }
                                        }
                                    };
                                    Session::new(conn, parts).run().await;
                                    drop(permit);
                                }
                                .instrument(span),
                            );
                        }
                        None => {
                            warn!(parent: &span, "too many connections, refusing");
                            let hostname = config.hostname.clone();
                            sessions.spawn(refuse(stream, hostname).instrument(span));
                        }
                    }
                }
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }

    drop(listener);
    info!(?proto, sessions = sessions.len(), "shutting down");
    let config = first;
    let drain = async { while sessions.join_next().await.is_some() {} };
    if tokio::time::timeout(config.shutdown_grace, drain)
        .await
        .is_err()
    {
        warn!(
            ?proto,
            sessions = sessions.len(),
            "shutdown grace over, aborting sessions"
        );
        sessions.abort_all();
        while sessions.join_next().await.is_some() {}
    }
    Ok(())
}

/// The count of running sessions, checked against the cap of the moment.
#[derive(Clone, Default)]
struct Slots(Arc<AtomicUsize>);

/// One running session's place in [`Slots`], given back when dropped.
struct SlotPermit(Arc<AtomicUsize>);

impl Slots {
    /// A place for one more session, unless `max` are running.
    fn take(&self, max: usize) -> Option<SlotPermit> {
        self.0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max.max(1)).then_some(n + 1)
            })
            .ok()
            .map(|_| SlotPermit(self.0.clone()))
    }
}

impl Drop for SlotPermit {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Tells a client over the connection limit to come back later (RFC 5321 §3.8).
async fn refuse(mut stream: TcpStream, hostname: String) {
    let mut out = Vec::new();
    let text = format!("{hostname} Error: too many connections, try again later");
    Reply::new(421, Status(4, 7, 0), text).write_to(&mut out);
    let _ = tokio::time::timeout(REFUSAL_WRITE_TIMEOUT, async {
        stream.write_all(&out).await?;
        stream.shutdown().await
    })
    .await;
}
