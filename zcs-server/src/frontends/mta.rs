//! The MTA listeners and the queue manager: SMTP on `zimbraSmtpPort`, submission on
//! `zcs_smtp_submission_port` (AUTH required), SMTPS on `zcs_smtps_port` (implicit TLS),
//! LMTP on `zimbraLmtpBindPort`, and the manager that delivers the durable queue.
//!
//! SMTP listeners hand finished messages to the queue (local recipients are delivered by
//! its local transport into [`crate::delivery::MailDelivery`], others relayed); LMTP
//! delivers while the client waits. How each is configured is [`crate::mta::config`];
//! the settings are re-read for new sessions after `zmmtactl reload`
//! ([`crate::mta::reload`]).

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use zcs_mta::queue::QueueManager;
use zcs_mta::{LocalDelivery, Protocol};

use super::{BackgroundFn, Context, Planned, PortFrom};
use crate::mta::config::{self, ListenerKind};
use crate::mta::reload::ReloadingConfig;

/// The listeners of this front end.
pub fn listeners() -> Vec<Planned> {
    let planned = |protocol, port, addr_attr, needs_tls, spawn| Planned {
        service: "mta",
        protocol,
        port,
        addr_attr,
        enabled_attr: None,
        needs_tls,
        spawn,
    };
    vec![
        planned(
            "smtp",
            PortFrom::Attr("zimbraSmtpPort"),
            Some("zimbraSmtpBindAddress"),
            false,
            spawn_smtp,
        ),
        planned(
            "submission",
            PortFrom::LocalConfig("zcs_smtp_submission_port"),
            Some("zimbraSmtpBindAddress"),
            false,
            spawn_submission,
        ),
        planned(
            "smtps",
            PortFrom::LocalConfig("zcs_smtps_port"),
            Some("zimbraSmtpBindAddress"),
            true,
            spawn_smtps,
        ),
        planned(
            "lmtp",
            PortFrom::Attr("zimbraLmtpBindPort"),
            Some("zimbraLmtpBindAddress"),
            false,
            spawn_lmtp,
        ),
    ]
}

/// The tasks this front end runs beside its listeners: the queue manager.
pub fn background() -> Vec<(&'static str, BackgroundFn)> {
    vec![("mta-queue", queue_manager)]
}

/// Starts the queue manager on the shared queue; a queue that cannot be opened is
/// logged and leaves a task that waits for shutdown.
fn queue_manager(ctx: Arc<Context>, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    match config::shared_queue(&ctx) {
        Ok(queue) => {
            ctx.delivery.set_queue(queue.clone());
            QueueManager::start(queue, config::transports(&ctx), shutdown)
        }
        Err(e) => {
            tracing::error!(error = %e, "mail queue unavailable: nothing is relayed");
            tokio::spawn(
                async move { while shutdown.changed().await.is_ok() && !*shutdown.borrow() {} },
            )
        }
    }
}

fn spawn(
    kind: ListenerKind,
    listener: TcpListener,
    ctx: Arc<Context>,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    if let Ok(queue) = config::shared_queue(&ctx) {
        ctx.delivery.set_queue(queue);
    }
    let protocol = match kind {
        ListenerKind::Lmtp => Protocol::Lmtp,
        _ => Protocol::Smtp,
    };
    let delivery: Arc<dyn LocalDelivery> = ctx.delivery.clone();
    tokio::spawn(async move {
        // Built inside the task: the first build may ask the directory.
        let source = Arc::new(ReloadingConfig::new(ctx, kind));
        if let Err(e) = zcs_mta::serve_with(listener, source, delivery, shutdown).await {
            tracing::error!(?protocol, ?kind, error = %e, "listener failed");
        }
    })
}

fn spawn_smtp(l: TcpListener, ctx: Arc<Context>, s: watch::Receiver<bool>) -> JoinHandle<()> {
    spawn(ListenerKind::Smtp, l, ctx, s)
}

fn spawn_submission(l: TcpListener, ctx: Arc<Context>, s: watch::Receiver<bool>) -> JoinHandle<()> {
    spawn(ListenerKind::Submission, l, ctx, s)
}

fn spawn_smtps(l: TcpListener, ctx: Arc<Context>, s: watch::Receiver<bool>) -> JoinHandle<()> {
    spawn(ListenerKind::Smtps, l, ctx, s)
}

fn spawn_lmtp(l: TcpListener, ctx: Arc<Context>, s: watch::Receiver<bool>) -> JoinHandle<()> {
    spawn(ListenerKind::Lmtp, l, ctx, s)
}
