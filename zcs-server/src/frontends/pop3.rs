//! The POP3 listeners: POP3 with STLS on `zimbraPop3BindPort` (USER/PASS before TLS
//! only with `zimbraPop3CleartextLoginEnabled`) and implicit TLS on
//! `zimbraPop3SSLBindPort` (RFC 8314), each switchable off by its
//! `zimbraPop3*ServerEnabled` attribute; `zimbraPop3MaxConnections` caps each, the
//! local-config `zcs_pop3_max_connections_per_ip` (default 50) caps one client address,
//! and `pop3_max_idle_time` (seconds, default 60) drops clients idle before login. Both
//! share one maildrop lock table, so a
//! maildrop is locked across them (RFC 1939 §8).

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Context, Planned, PortFrom, implicit_tls};
use crate::listener::AcceptPolicy;
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

/// The listener settings; `implicit_tls` for the pop3s port, where STLS is not
/// offered and cleartext login does not apply.
fn config(ctx: &Context, implicit_tls: bool) -> Pop3Config {
    let max_connections = ctx
        .server_attr("zimbraPop3MaxConnections")
        .and_then(|v| v.parse().ok())
        .unwrap_or(Pop3Config::default().max_connections);
    Pop3Config {
        hostname: ctx.subs.hostname.clone(),
        // RFC 2595 §4; Zimbra's zimbraPop3CleartextLoginEnabled defaults to FALSE.
        cleartext_login: implicit_tls || ctx.server_flag("zimbraPop3CleartextLoginEnabled", false),
        starttls: if implicit_tls { None } else { ctx.acceptor() },
        max_connections,
        max_connections_per_ip: ctx.lc_number("zcs_pop3_max_connections_per_ip", 50) as usize,
        login_timeout: Duration::from_secs(ctx.lc_number("pop3_max_idle_time", 60).max(1)),
        locks: ctx.pop3_locks.clone(),
        ..Pop3Config::default()
    }
}

fn spawn_pop3(
    listener: TcpListener,
    ctx: Arc<Context>,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    // Re-read while running, as the IMAP front end does.
    let mut config = config(&ctx, false);
    config.cleartext_login_live = Some(super::imap::live_cleartext_flag(
        &ctx,
        "zimbraPop3CleartextLoginEnabled",
        config.cleartext_login,
        shutdown.clone(),
    ));
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
    let policy = AcceptPolicy {
        proto: "pop3s",
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
        move |tls, peer, rx| pop3::serve_connection(tls, peer, config.clone(), backend.clone(), rx),
    )
}
