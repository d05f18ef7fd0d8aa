//! The MTA listeners: SMTP on `zimbraSmtpPort` and LMTP on `zimbraLmtpBindPort`, both
//! delivering through the server's [`crate::delivery::MailDelivery`].

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use zcs_mta::{ListenerConfig, LocalDelivery, Protocol};

use super::{BackgroundFn, Context, Planned, PortFrom};

/// The listeners of this front end.
pub fn listeners() -> Vec<Planned> {
    vec![
        Planned {
            service: "mta",
            protocol: "smtp",
            port: PortFrom::Attr("zimbraSmtpPort"),
            addr_attr: Some("zimbraSmtpBindAddress"),
            enabled_attr: None,
            needs_tls: false,
            spawn: spawn_smtp,
        },
        Planned {
            service: "mta",
            protocol: "lmtp",
            port: PortFrom::Attr("zimbraLmtpBindPort"),
            addr_attr: Some("zimbraLmtpBindAddress"),
            enabled_attr: None,
            needs_tls: false,
            spawn: spawn_lmtp,
        },
    ]
}

/// The tasks this front end runs beside its listeners.
pub fn background() -> Vec<(&'static str, BackgroundFn)> {
    Vec::new()
}

fn spawn(
    protocol: Protocol,
    listener: TcpListener,
    ctx: Arc<Context>,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let mut config = ListenerConfig::new(protocol, &ctx.subs.hostname);
    config.max_message_size = ctx.max_message_size;
    let delivery: Arc<dyn LocalDelivery> = ctx.delivery.clone();
    tokio::spawn(async move {
        if let Err(e) = zcs_mta::serve(listener, config, delivery, shutdown).await {
            tracing::error!(?protocol, error = %e, "listener failed");
        }
    })
}

fn spawn_smtp(
    listener: TcpListener,
    ctx: Arc<Context>,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    spawn(Protocol::Smtp, listener, ctx, shutdown)
}

fn spawn_lmtp(
    listener: TcpListener,
    ctx: Arc<Context>,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    spawn(Protocol::Lmtp, listener, ctx, shutdown)
}
