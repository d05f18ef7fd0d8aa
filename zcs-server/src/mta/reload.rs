//! Re-reading the MTA settings without a restart: each listener asks
//! [`ReloadingConfig`] for its settings when a session starts; the settings are built
//! again from the directory (global config and this server's entry) and the local
//! config when `zmmtactl reload` has touched the reload stamp
//! (`$ZCS_HOME/data/mta/reload`) since the last build, or when the last build is older
//! than `zcs_mta_config_reload_seconds` (default 60, zmconfigd's rhythm; 0 = only on
//! `zmmtactl reload`). A failed read keeps the settings in use. The per-client limits
//! are part of those settings; [`ReloadingRelay`] does the same for the queue manager's
//! `zimbraMtaRelayHost`, and a rebuild also drops delivery's cached settings
//! (`MailDelivery::reload_settings`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use zcs_directory::EntryKey;
use zcs_mta::outbound::{RelayHost, RelaySource};
use zcs_mta::{ConfigSource, ListenerConfig};

use super::config::{ListenerKind, MtaSettings, listener_config, listener_config_from, relay_host};
use crate::frontends::Context;
use crate::localconfig::LocalConfig;

/// The default of `zcs_mta_config_reload_seconds`.
const DEFAULT_RELOAD_SECONDS: u64 = 60;

/// The reload stamp of the home at `root`: `zmmtactl reload` writes it, listeners watch
/// its modification time.
pub fn reload_stamp(root: &Path) -> PathBuf {
    root.join("data").join("mta").join("reload")
}

/// Touches the reload stamp under `root` (creating its directory), so the listeners
/// rebuild their settings for their next session.
///
/// # Errors
/// The stamp cannot be written.
pub fn request_reload(root: &Path) -> std::io::Result<PathBuf> {
    let stamp = reload_stamp(root);
    if let Some(dir) = stamp.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let now = chrono::Utc::now().to_rfc3339();
    std::fs::write(&stamp, format!("{now}\n"))?;
    Ok(stamp)
}

struct State {
    config: Arc<ListenerConfig>,
    built: Instant,
    stamp: Option<SystemTime>,
}

/// The settings of one listener, rebuilt as the module doc says.
pub struct ReloadingConfig {
    ctx: Arc<Context>,
    kind: ListenerKind,
    stamp_path: PathBuf,
    state: tokio::sync::Mutex<State>,
}

impl ReloadingConfig {
    /// Starts from the settings the server started with.
    pub fn new(ctx: Arc<Context>, kind: ListenerKind) -> Self {
        let stamp_path = reload_stamp(ctx.home.root());
        let state = State {
            config: Arc::new(listener_config(&ctx, kind)),
            built: Instant::now(),
            stamp: modified(&stamp_path),
        };
        ReloadingConfig {
            ctx,
            kind,
            stamp_path,
            state: tokio::sync::Mutex::new(state),
        }
    }

    /// Builds the settings again from the directory and local config.
    async fn rebuild(&self) -> Result<ListenerConfig, String> {
        let ctx = &self.ctx;
        let prov = &ctx.subs.prov;
        let global = prov.global_config().await.map_err(|e| e.to_string())?;
        let server = prov
            .get_server(&EntryKey::Name(ctx.server.name.clone()))
            .await
            .map_err(|e| e.to_string())?;
        let lc = LocalConfig::load(&ctx.home).map_err(|e| e.to_string())?;
        let settings = MtaSettings {
            ctx,
            global: &global,
            server: &server,
            lc: &lc,
        };
        // Delivery's cached settings (dedupe, over-quota reply) follow the same reload.
        ctx.delivery.reload_settings();
        Ok(listener_config_from(settings, self.kind))
    }
}

/// The reload period of `zcs_mta_config_reload_seconds`; `None` for 0 (reload stamp
/// only).
fn reload_every(ctx: &Context) -> Option<Duration> {
    let every = ctx
        .subs
        .lc
        .get("zcs_mta_config_reload_seconds")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_RELOAD_SECONDS);
    (every > 0).then(|| Duration::from_secs(every))
}

struct RelayState {
    relay: Option<RelayHost>,
    built: Instant,
    stamp: Option<SystemTime>,
}

/// `zimbraMtaRelayHost` for the queue manager's SMTP transport, read again from the
/// directory on the same rhythm as the listener settings (reload stamp, or every
/// `zcs_mta_config_reload_seconds`), so a new relay host applies to the next attempt
/// without a restart. A failed read keeps the relay host in use.
pub struct ReloadingRelay {
    ctx: Arc<Context>,
    stamp_path: PathBuf,
    state: tokio::sync::Mutex<RelayState>,
}

impl ReloadingRelay {
    /// Starts from the relay host the server started with.
    pub fn new(ctx: &Arc<Context>) -> Self {
        let stamp_path = reload_stamp(ctx.home.root());
        let state = RelayState {
            relay: relay_host(&ctx.server, &ctx.global),
            built: Instant::now(),
            stamp: modified(&stamp_path),
        };
        ReloadingRelay {
            ctx: ctx.clone(),
            stamp_path,
            state: tokio::sync::Mutex::new(state),
        }
    }

    async fn read(&self) -> Result<Option<RelayHost>, String> {
        let prov = &self.ctx.subs.prov;
        let global = prov.global_config().await.map_err(|e| e.to_string())?;
        let server = prov
            .get_server(&EntryKey::Name(self.ctx.server.name.clone()))
            .await
            .map_err(|e| e.to_string())?;
        Ok(relay_host(&server, &global))
    }
}

#[async_trait]
impl RelaySource for ReloadingRelay {
    async fn relay_host(&self) -> Option<RelayHost> {
        let stamp = modified(&self.stamp_path);
        let mut state = self.state.lock().await;
        let stale = reload_every(&self.ctx).is_some_and(|every| state.built.elapsed() >= every);
        if stamp != state.stamp || stale {
            match self.read().await {
                Ok(relay) => state.relay = relay,
                Err(e) => tracing::warn!(error = %e,
                    "zimbraMtaRelayHost not reloaded; keeping the current one"),
            }
            state.built = Instant::now();
            state.stamp = stamp;
        }
        state.relay.clone()
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[async_trait]
impl ConfigSource for ReloadingConfig {
    async fn current(&self) -> Arc<ListenerConfig> {
        let stamp = modified(&self.stamp_path);
        let mut state = self.state.lock().await;
        let stale = reload_every(&self.ctx).is_some_and(|every| state.built.elapsed() >= every);
        if stamp == state.stamp && !stale {
            return state.config.clone();
        }
        match self.rebuild().await {
            Ok(config) => {
                if stamp != state.stamp {
                    tracing::info!(kind = ?self.kind, "MTA settings reloaded");
                }
                state.config = Arc::new(config);
            }
            Err(e) => tracing::warn!(kind = ?self.kind, error = %e,
                "MTA settings not reloaded; keeping the current ones"),
        }
        state.built = Instant::now();
        state.stamp = stamp;
        state.config.clone()
    }
}
