//! The IMAP listeners: IMAP with STARTTLS on `zimbraImapBindPort` (login before TLS
//! only with `zimbraImapCleartextLoginEnabled`) and implicit TLS on
//! `zimbraImapSSLBindPort` (RFC 8314), each switchable off by its
//! `zimbraImap*ServerEnabled` attribute; `zimbraImapMaxConnections` caps each.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Context, Planned, PortFrom, tls_handshake};
use crate::imap::{self, ImapBackend, ImapConfig};
use crate::listener::{AcceptPolicy, accept_loop};

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
    let acceptor = ctx.acceptor();
    tokio::spawn(async move {
        let Some(acceptor) = acceptor else { return };
        let policy = AcceptPolicy {
            proto: "imaps",
            max_connections: config.max_connections,
            shutdown_grace: config.shutdown_grace,
            // Written before the handshake, so a TLS client sees a failed handshake.
            busy_reply: b"",
        };
        let served = accept_loop(listener, policy, shutdown, move |stream, peer, rx| {
            let (config, backend, acceptor) = (config.clone(), backend.clone(), acceptor.clone());
            async move {
                if let Some(tls) = tls_handshake(&acceptor, stream, peer, "imaps").await {
                    imap::serve_connection(tls, peer, config, backend, rx).await;
                }
            }
        })
        .await;
        if let Err(e) = served {
            tracing::error!(proto = "imaps", error = %e, "listener failed");
        }
    })
}
