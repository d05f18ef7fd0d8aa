//! The POP3 listeners: cleartext POP3 on `zimbraPop3BindPort` and implicit TLS on
//! `zimbraPop3SSLBindPort` (RFC 8314), each switchable off by its
//! `zimbraPop3*ServerEnabled` attribute. Both share one maildrop lock table, so a
//! maildrop is locked across them (RFC 1939 §8).

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Context, Planned, PortFrom, tls_handshake};
use crate::listener::{AcceptPolicy, accept_loop};
use crate::pop3::{self, Pop3Backend, Pop3Config};

/// The listeners of this front end.
pub fn listeners() -> Vec<Planned> {
    vec![
        Planned {
            service: "mailbox",
            protocol: "pop3",
            port: PortFrom::Attr("zimbraPop3BindPort"),
            addr_attr: Some("zimbraPop3BindAddress"),
            enabled_attr: Some(("zimbraPop3ServerEnabled", true)),
            needs_tls: false,
            spawn: spawn_pop3,
        },
        Planned {
            service: "mailbox",
            protocol: "pop3s",
            port: PortFrom::Attr("zimbraPop3SSLBindPort"),
            addr_attr: Some("zimbraPop3SSLBindAddress"),
            enabled_attr: Some(("zimbraPop3SSLServerEnabled", true)),
            needs_tls: true,
            spawn: spawn_pop3s,
        },
    ]
}

fn config(ctx: &Context, cleartext_login: bool) -> Pop3Config {
    Pop3Config {
        hostname: ctx.subs.hostname.clone(),
        cleartext_login,
        locks: ctx.pop3_locks.clone(),
        ..Pop3Config::default()
    }
}

fn spawn_pop3(
    listener: TcpListener,
    ctx: Arc<Context>,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    // LIMITATION: no STLS on this port yet, so cleartext login stays allowed here even
    // though zimbraPop3CleartextLoginEnabled defaults to FALSE; port 995 is encrypted.
    let config = config(&ctx, true);
    let backend: Arc<dyn Pop3Backend> = ctx.pop3_backend.clone();
    tokio::spawn(async move {
        if let Err(e) = pop3::serve(listener, config, backend, shutdown).await {
            tracing::error!(proto = "pop3", error = %e, "listener failed");
        }
    })
}

fn spawn_pop3s(
    listener: TcpListener,
    ctx: Arc<Context>,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let config = Arc::new(config(&ctx, true));
    let backend: Arc<dyn Pop3Backend> = ctx.pop3_backend.clone();
    let acceptor = ctx.acceptor();
    tokio::spawn(async move {
        let Some(acceptor) = acceptor else { return };
        let policy = AcceptPolicy {
            proto: "pop3s",
            max_connections: config.max_connections,
            shutdown_grace: config.shutdown_grace,
            busy_reply: b"",
        };
        let served = accept_loop(listener, policy, shutdown, move |stream, peer, rx| {
            let (config, backend, acceptor) = (config.clone(), backend.clone(), acceptor.clone());
            async move {
                if let Some(tls) = tls_handshake(&acceptor, stream, peer, "pop3s").await {
                    pop3::serve_connection(tls, peer, config, backend, rx).await;
                }
            }
        })
        .await;
        if let Err(e) = served {
            tracing::error!(proto = "pop3s", error = %e, "listener failed");
        }
    })
}
