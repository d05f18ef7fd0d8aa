//! The IMAP listeners: IMAP with STARTTLS on `zimbraImapBindPort` (login before TLS
//! only with `zimbraImapCleartextLoginEnabled`) and implicit TLS on
//! `zimbraImapSSLBindPort` (RFC 8314), each switchable off by its
//! `zimbraImap*ServerEnabled` attribute; `zimbraImapMaxConnections` caps each, the
//! local-config `zcs_imap_max_connections_per_ip` (default 50) caps one client address,
//! and `imap_max_idle_time` (seconds, default 60) drops clients idle before login.
//! The cleartext-login attribute is re-read from the (cached) directory every
//! [`CLEARTEXT_REFRESH`] while the server runs ([`live_cleartext_flag`], shared with the
//! POP3 front end), so `zmprov mcf`/`ms` applies to new connections without a restart,
//! as in Zimbra.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use zcs_directory::EntryKey;

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

/// How often a running server re-reads the cleartext-login attributes.
pub(super) const CLEARTEXT_REFRESH: Duration = Duration::from_secs(2);

/// A flag starting at `initial` and kept equal to the boolean server attribute `attr`
/// (inherited from the global config; `false` when unset, Zimbra's default) by a task
/// that re-reads the directory every [`CLEARTEXT_REFRESH`] until `shutdown`. A failed
/// read keeps the value in use.
pub(super) fn live_cleartext_flag(
    ctx: &Arc<Context>,
    attr: &'static str,
    initial: bool,
    mut shutdown: watch::Receiver<bool>,
) -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(initial));
    let (ctx, out) = (ctx.clone(), flag.clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CLEARTEXT_REFRESH);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
            match read_flag(&ctx, attr).await {
                Ok(now) => {
                    if out.swap(now, Ordering::Relaxed) != now {
                        tracing::info!(attr, value = now, "cleartext login setting changed");
                    }
                }
                Err(e) => tracing::warn!(attr, error = %e, "setting not re-read; keeping it"),
            }
        }
    });
    flag
}

/// The boolean server attribute `attr` as the directory holds it now.
async fn read_flag(ctx: &Context, attr: &str) -> Result<bool, String> {
    let prov = &ctx.subs.prov;
    let global = prov.global_config().await.map_err(|e| e.to_string())?;
    let server = prov
        .get_server(&EntryKey::Name(ctx.server.name.clone()))
        .await
        .map_err(|e| e.to_string())?;
    let value = zcs_directory::server_attr(&server, &global, attr);
    Ok(value.is_some_and(|v| v.eq_ignore_ascii_case("TRUE")))
}

fn spawn_imap(
    listener: TcpListener,
    ctx: Arc<Context>,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let mut config = config(&ctx, false);
    config.cleartext_login_live = Some(live_cleartext_flag(
        &ctx,
        "zimbraImapCleartextLoginEnabled",
        config.cleartext_login,
        shutdown.clone(),
    ));
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
