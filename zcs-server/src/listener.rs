//! The accept loop the IMAP and POP3 listeners share: accept until shutdown, cap how
//! many connections are served at once and how many of them one client address may
//! hold (a refused client gets the protocol's "busy" line), run one task per
//! connection, and drain them within a grace period at the end.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tracing::Instrument;

/// How one listener accepts: its protocol name for logs, its connection caps, how long
/// open connections get at shutdown, and the line a client over a cap receives.
pub struct AcceptPolicy {
    pub proto: &'static str,
    pub max_connections: usize,
    /// Most connections one client address may hold at once, so that one address
    /// cannot take every slot; 0: no per-address cap.
    pub max_per_ip: usize,
    pub shutdown_grace: Duration,
    pub busy_reply: &'static [u8],
}

/// Accepts on `listener` until `shutdown` becomes `true`, running `serve(stream, peer,
/// shutdown)` as a task per connection (a dropped shutdown sender that never said
/// `true` leaves the listener running). Then waits up to `policy.shutdown_grace` for the
/// open connections and aborts the rest.
///
/// # Errors
/// Only if accepting fails in a way that is not per-connection (the listener is
/// broken); per-connection errors are logged and the loop goes on.
pub async fn accept_loop<F, Fut>(
    listener: TcpListener,
    policy: AcceptPolicy,
    mut shutdown: watch::Receiver<bool>,
    mut serve: F,
) -> std::io::Result<()>
where
    F: FnMut(TcpStream, SocketAddr, watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let proto = policy.proto;
    let slots = Arc::new(Semaphore::new(policy.max_connections.max(1)));
    let per_ip = PerIp::new(policy.max_per_ip);
    let mut tasks = JoinSet::new();
    // Replaces a dropped shutdown sender so `changed()` waits instead of failing.
    let mut keep_alive: Option<watch::Sender<bool>> = None;
    tracing::info!(proto, addr = ?listener.local_addr().ok(), "listener started");
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
                tracing::warn!(proto, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let _ = stream.set_nodelay(true);
        let Some(ip_slot) = per_ip.acquire(peer.ip()) else {
            tracing::warn!(proto, ip = %peer, "too many connections from this address");
            refuse(&mut tasks, stream, policy.busy_reply);
            continue;
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(proto, ip = %peer, "too many connections");
            refuse(&mut tasks, stream, policy.busy_reply);
            continue;
        };
        // The session's log context: its task name and client address now, the
        // account name once it logs in (login.rs records it).
        let span = session_span(proto, peer);
        let session = serve(stream, peer, shutdown.clone());
        // zmstat's imap_conn and pop_conn count plain and TLS sessions alike.
        let counted = crate::metrics::sessions().open(proto.trim_end_matches('s'));
        tasks.spawn(
            async move {
                session.await;
                drop(counted);
                drop(permit);
                drop(ip_slot);
            }
            .instrument(span),
        );
    }
    drop(keep_alive);
    tracing::info!(proto, open = tasks.len(), "listener stopping");
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(policy.shutdown_grace, drain)
        .await
        .is_err()
    {
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
    Ok(())
}

/// Answers a client over a cap with the busy line and closes, in its own task so a
/// client that does not read cannot stall the accept loop.
fn refuse(tasks: &mut JoinSet<()>, mut stream: TcpStream, busy: &'static [u8]) {
    tasks.spawn(async move {
        let write = async {
            let _ = stream.write_all(busy).await;
            let _ = stream.shutdown().await;
        };
        let _ = tokio::time::timeout(Duration::from_secs(5), write).await;
    });
}

/// How many connections each client address holds now.
#[derive(Clone)]
struct PerIp {
    max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One connection counted against its address; uncounted when dropped.
struct IpSlot {
    ip: IpAddr,
    table: Option<PerIp>,
}

impl PerIp {
    fn new(max: usize) -> PerIp {
        PerIp {
            max,
            open: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Counts one more connection from `ip`; `None` when it already holds `max`.
    fn acquire(&self, ip: IpAddr) -> Option<IpSlot> {
        if self.max == 0 {
            return Some(IpSlot { ip, table: None });
        }
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(ip).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(IpSlot {
            ip,
            table: Some(self.clone()),
        })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let Some(table) = &self.table else { return };
        let mut open = table.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// The span a session runs in, named as Zimbra names its server threads, with the
/// `ip` and an empty `name` the login fills in.
fn session_span(proto: &str, peer: SocketAddr) -> tracing::Span {
    let ip = peer.ip().to_string();
    let empty = tracing::field::Empty;
    // The context fields every session span carries; logins and proxies fill the rest.
    macro_rules! session {
        ($name:literal) => {
            tracing::info_span!(
                $name,
                ip,
                name = empty,
                oip = empty,
                via = empty,
                ua = empty
            )
        };
    }
    match proto {
        "imap" => session!("ImapServer"),
        "imaps" => session!("ImapSSLServer"),
        "pop3" => session!("Pop3Server"),
        "pop3s" => session!("Pop3SSLServer"),
        _ => session!("session"),
    }
}

/// Whether an accept error concerns one connection or a passing shortage (descriptors,
/// buffers) rather than a broken listener.
fn is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted | WouldBlock
    ) || [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM]
        .iter()
        .any(|&code| e.raw_os_error() == Some(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_gets_at_most_its_share_and_gets_it_back() {
        let table = PerIp::new(2);
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let b: IpAddr = "192.0.2.2".parse().expect("ip");
        let first = table.acquire(a).expect("first");
        let _second = table.acquire(a).expect("second");
        assert!(table.acquire(a).is_none());
        assert!(
            table.acquire(b).is_some(),
            "another address is not affected"
        );
        drop(first);
        assert!(table.acquire(a).is_some());
    }

    #[test]
    fn zero_means_no_per_address_cap() {
        let table = PerIp::new(0);
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let held: Vec<_> = (0..1000).filter_map(|_| table.acquire(a)).collect();
        assert_eq!(held.len(), 1000);
    }
}
