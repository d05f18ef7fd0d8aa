//! The front ends a server runs and the one place they meet the composition: each
//! front-end module lists the listeners it wants (which port attribute, which bind
//! address attribute, whether it is implicit TLS, which attribute turns it off) and
//! how to serve an accepted socket; [`crate::server`] binds them all and drains them
//! at shutdown. A protocol's module is the only file that changes when the protocol
//! gains a listener.

pub mod dos;
pub mod http;
pub mod imap;
mod implicit_tls;
pub mod mta;
pub mod pop3;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use zcs_core::Entry;

use crate::delivery::MailDelivery;
use crate::home::Home;
use crate::imap_backend::StoreImapBackend;
use crate::indexer::Indexer;
use crate::pop3::MaildropLocks;
use crate::pop3_backend::StorePop3Backend;
use crate::server::Subsystems;
use crate::tls::ServerTls;

/// Everything a front end may serve from, shared by all listeners of one server.
pub struct Context {
    pub home: Home,
    pub subs: Subsystems,
    /// The global config entry as read at start.
    pub global: Entry,
    /// This server's entry as read at start.
    pub server: Entry,
    pub delivery: Arc<MailDelivery>,
    pub imap_backend: Arc<StoreImapBackend>,
    pub pop3_backend: Arc<StorePop3Backend>,
    /// One maildrop lock table for every POP3 listener.
    pub pop3_locks: MaildropLocks,
    pub indexer: Indexer,
    /// `zimbraMtaMaxMessageSize`: bounds SMTP/LMTP messages and IMAP APPENDs alike.
    pub max_message_size: u64,
    /// The server's TLS identity; `None` when its certificate could not be loaded (the
    /// TLS listeners are then not started and STARTTLS is not offered).
    pub tls: Option<ServerTls>,
}

impl Context {
    /// The value of a server attribute, inherited from the global config.
    pub fn server_attr(&self, name: &str) -> Option<String> {
        zcs_directory::server_attr(&self.server, &self.global, name)
    }

    /// A boolean server attribute; `default` when unset or unparsable.
    pub fn server_flag(&self, name: &str, default: bool) -> bool {
        match self.server_attr(name).as_deref() {
            Some(v) if v.eq_ignore_ascii_case("TRUE") => true,
            Some(v) if v.eq_ignore_ascii_case("FALSE") => false,
            _ => default,
        }
    }

    /// A local-config number, or `default` when the key is unset or not a number.
    pub fn lc_number(&self, key: &str, default: u64) -> u64 {
        self.subs
            .lc
            .get(key)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(default)
    }

    /// The MTA queue directory of this home.
    pub fn queue_dir(&self) -> std::path::PathBuf {
        self.home.root().join("data").join("mta").join("queue")
    }

    /// The gauges of this server right now, for zmstat and `/metrics`.
    pub fn gauges(&self) -> crate::metrics::Gauges {
        let redo = self.subs.store.redo_stats();
        let (queue_requests, queue_kbytes) = crate::metrics::sample_queue(&self.queue_dir());
        crate::metrics::Gauges {
            process: crate::metrics::sample_process(),
            redo_records: redo.records,
            redo_syncs: redo.syncs,
            queue_requests,
            queue_kbytes,
            imap_conn: crate::metrics::sessions().get("imap"),
            pop_conn: crate::metrics::sessions().get("pop3"),
            soap_sessions: crate::metrics::sessions().get("soap"),
            db_conn_count: crate::metrics::open_database_files(),
        }
    }

    /// The TLS acceptor, when the server has a certificate.
    pub fn acceptor(&self) -> Option<TlsAcceptor> {
        self.tls.as_ref().map(ServerTls::acceptor)
    }
}

/// Where a listener's port number comes from.
#[derive(Clone, Copy, Debug)]
pub enum PortFrom {
    /// A server attribute (inherited from the global config), e.g. `zimbraImapBindPort`.
    Attr(&'static str),
    /// A local-config key, for listeners Zimbra configures outside its directory
    /// (Postfix's master.cf ports).
    LocalConfig(&'static str),
}

/// Serves one listener until shutdown. Gets the bound socket, the shared context and
/// the shutdown signal.
pub type SpawnFn = fn(TcpListener, Arc<Context>, watch::Receiver<bool>) -> JoinHandle<()>;

/// One listener a front end asks for.
pub struct Planned {
    /// The `zmcontrol status` service it belongs to (`mailbox`, `mta`, ...).
    pub service: &'static str,
    /// Its protocol name in status output and logs (`imap`, `imaps`, `smtp`, ...).
    pub protocol: &'static str,
    pub port: PortFrom,
    /// The server attribute naming its bind address; unset falls back to the
    /// local-config `zcs_bind_address`.
    pub addr_attr: Option<&'static str>,
    /// A server attribute that turns it off when `FALSE` (e.g.
    /// `zimbraImapSSLServerEnabled`), with its default.
    pub enabled_attr: Option<(&'static str, bool)>,
    /// Implicit TLS: not started when the server has no certificate.
    pub needs_tls: bool,
    pub spawn: SpawnFn,
}

/// A task a front end runs beside its listeners (a queue manager, a purge loop) from
/// start to shutdown; it must return soon after `shutdown` turns true.
pub type BackgroundFn = fn(Arc<Context>, watch::Receiver<bool>) -> JoinHandle<()>;

/// Every background task of every front end, started after the listeners are bound.
pub fn background() -> Vec<(&'static str, BackgroundFn)> {
    let mut tasks = Vec::new();
    tasks.extend(mta::background());
    tasks
}

/// Every listener of every front end, in start order.
pub fn all() -> Vec<Planned> {
    let mut planned = Vec::new();
    planned.extend(imap::listeners());
    planned.extend(pop3::listeners());
    planned.extend(mta::listeners());
    planned.extend(http::listeners());
    planned
}

/// How long a client has to finish its TLS handshake on an implicit-TLS port.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Completes the server side of a TLS handshake on an accepted socket; `None` (logged)
/// when the client fails it or takes longer than [`TLS_HANDSHAKE_TIMEOUT`].
pub async fn tls_handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
    proto: &'static str,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(e)) => {
            tracing::debug!(proto, ip = %peer, error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(proto, ip = %peer, "TLS handshake timed out");
            None
        }
    }
}

/// A stream a session can run over: plain TCP or TLS.
pub trait SessionStream: AsyncRead + AsyncWrite + Unpin + Send + Sync + 'static {}
impl<S: AsyncRead + AsyncWrite + Unpin + Send + Sync + 'static> SessionStream for S {}
