//! The IMAP listeners: IMAP with STARTTLS on `zimbraImapBindPort` (login before TLS
//! only with `zimbraImapCleartextLoginEnabled`) and implicit TLS on
//! `zimbraImapSSLBindPort` (RFC 8314), each switchable off by its
//! `zimbraImap*ServerEnabled` attribute; `zimbraImapMaxConnections` caps each, the
//! local-config `zcs_imap_max_connections_per_ip` (default 50) caps one client address,
//! and `imap_max_idle_time` (seconds, default 60) drops clients idle before login.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Context, Planned, PortFrom, implicit_tls};
use crate::imap::{self, ImapBackend, ImapConfig};
use crate::listener::AcceptPolicy;

/// The listeners of this front end.
pub fn listeners() -> Vec<Planned> {
    vec![
        Planned {
            service: "mailbox",
            protocol: "imap",
            port: PortFrom::Attr("zimbraImapBindPort"),
            addr_attr: Some("zimbraImapBindAddress"),
            enabled_attr: Some(("zimbraImapServerEnabled", true)),
            needs_tls: false,
            spawn: spawn_imap,
        },
        Planned {
            service: "mailbox",
            protocol: "imaps",
            port: PortFrom::Attr("zimbraImapSSLBindPort"),
            addr_attr: Some("zimbraImapSSLBindAddress"),
            enabled_attr: Some(("zimbraImapSSLServerEnabled", true)),
            needs_tls: true,
            spawn: spawn_imaps,
        },
    ]
}

/// The listener settings; `implicit_tls` for the imaps port, where STARTTLS is not
/// offered and cleartext login does not apply.
fn config(ctx: &Context, implicit_tls: bool) -> ImapConfig {
    let max_connections = ctx
        .server_attr("zimbraImapMaxConnections")
        .and_then(|v| v.parse().ok())
        .unwrap_or(ImapConfig::default().max_connections);
    ImapConfig {
        hostname: ctx.subs.hostname.clone(),
        max_literal: ctx.max_message_size,
        // RFC 3501 §6.2.1; Zimbra's zimbraImapCleartextLoginEnabled defaults to FALSE.
        starttls: if implicit_tls { None } else { ctx.acceptor() },
        cleartext_login: implicit_tls || ctx.server_flag("zimbraImapCleartextLoginEnabled", false),
        max_connections,
        max_connections_per_ip: ctx.lc_number("zcs_imap_max_connections_per_ip", 50) as usize,
        login_timeout: Duration::from_secs(ctx.lc_number("imap_max_idle_time", 60).max(1)),
        ..ImapConfig::default()
    }
}

fn spawn_imap(
    listener: TcpListener,
    ctx: Arc<Context>,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let config = config(&ctx, false);
    let backend: Arc<dyn ImapBackend> = ctx.imap_backend.clone();
    tokio::spawn(async move {
        if let Err(e) = imap::serve(listener, config, backend, shutdown).await {
            tracing::error!(proto = "imap", error = %e, "listener failed");
        }
    })
}

fn spawn_imaps(
    listener: TcpListener,
    ctx: Arc<Context>,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let config = Arc::new(config(&ctx, true));
    let backend: Arc<dyn ImapBackend> = ctx.imap_backend.clone();
    let policy = AcceptPolicy {
        proto: "imaps",
        max_connections: config.max_connections,
        max_per_ip: config.max_connections_per_ip,
        shutdown_grace: config.shutdown_grace,
        // Written before the handshake, so a TLS client sees a failed handshake.
        busy_reply: b"",
    };
    implicit_tls::spawn(
        listener,
        policy,
        ctx.acceptor(),
        shutdown,
        move |tls, peer, rx| imap::serve_connection(tls, peer, config.clone(), backend.clone(), rx),
    )
}
