//! DMARC aggregate reports for this server (RFC 7489 §7.2): where evaluations are
//! recorded, and the nightly sending through the outbound queue.
//!
//! Local config: `zcs_dmarc_report_enabled` (default FALSE) turns recording on;
//! `zcs_dmarc_report_from` is the reports' sender (default `noreply-dmarc@<host>`) and
//! `zcs_dmarc_report_org` their `org_name` (default the host name). Day files live in
//! `$ZCS_HOME/data/mta/dmarc/`.

use std::sync::Arc;

use zcs_mta::dmarc_report::{DmarcLog, ReporterConfig, send_reports};

use super::config::{auth_checker, shared_queue};
use crate::frontends::Context;
use crate::localconfig::LocalConfig;

/// The local config key that turns recording on.
pub const ENABLED_KEY: &str = "zcs_dmarc_report_enabled";

fn enabled(lc: &LocalConfig) -> bool {
    lc.get(ENABLED_KEY)
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "yes" | "1"))
}

/// The evaluation store of the home at `ctx`, when recording is on in `lc`.
pub fn dmarc_log(ctx: &Context, lc: &LocalConfig) -> Option<Arc<DmarcLog>> {
    enabled(lc).then(|| {
        let dir = ctx.home.root().join("data").join("mta").join("dmarc");
        Arc::new(DmarcLog::new(dir))
    })
}

/// Sends the aggregate reports of every finished day through the queue (the nightly
/// job; running it twice a day sends nothing twice). Returns how many reports were
/// queued; 0 when recording is off.
///
/// # Errors
/// The queue cannot be opened, or a day file cannot be read or renamed.
pub async fn send_dmarc_reports(ctx: &Context) -> Result<usize, String> {
    let lc = LocalConfig::load(&ctx.home).map_err(|e| e.to_string())?;
    let Some(log) = dmarc_log(ctx, &lc) else {
        return Ok(0);
    };
    let queue = shared_queue(ctx)?;
    let host = ctx.subs.hostname.clone();
    let set = |key: &str| lc.get(key).filter(|v| !v.trim().is_empty());
    let cfg = ReporterConfig {
        org_name: set("zcs_dmarc_report_org").unwrap_or_else(|| host.clone()),
        from: set("zcs_dmarc_report_from").unwrap_or_else(|| format!("noreply-dmarc@{host}")),
        submitter: host.clone(),
    };
    let checker = auth_checker(&host, &lc);
    send_reports(&log, &queue, checker.as_deref(), &cfg, chrono::Utc::now())
        .await
        .map_err(|e| e.to_string())
}
