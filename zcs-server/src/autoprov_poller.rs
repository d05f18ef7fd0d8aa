//! The EAGER auto-provisioning poller: a background task that, every
//! `zimbraAutoProvPollingInterval` (server, else global config; 15 minutes by default),
//! runs one cycle over the domains in this server's `zimbraAutoProvScheduledDomains`
//! ([`Provisioning::auto_prov_poll_scheduled`]). The interval is re-read at least every
//! [`RECHECK`], so live changes apply: 0 idles the poller (no cycle runs), a non-zero
//! value after 0 starts cycles again. A cycle longer than the interval is followed by
//! the next one at once. Stops when `shutdown` turns true or its sender is dropped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use zcs_directory::Provisioning;

/// How often the interval is re-read while waiting or idle.
pub const RECHECK: Duration = Duration::from_secs(60);

/// What the poller does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Run a cycle now.
    Run,
    /// Sleep this long, then decide again.
    Wait(Duration),
}

/// The next step for `interval` when the last cycle started `since_last` ago (`None`:
/// no cycle yet, or polling was off).
fn next_step(interval: Duration, since_last: Option<Duration>) -> Step {
    if interval.is_zero() {
        return Step::Wait(RECHECK);
    }
    match since_last {
        None => Step::Run,
        Some(s) if s >= interval => Step::Run,
        Some(s) => Step::Wait((interval - s).min(RECHECK)),
    }
}

/// Runs the poller until `shutdown` says stop. Errors are logged, never fatal.
pub async fn run(prov: Arc<Provisioning>, mut shutdown: watch::Receiver<bool>) {
    let mut last_start: Option<Instant> = None;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let interval = match prov.auto_prov_polling_interval().await {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(error = %e.message, "autoprov poller: cannot read the interval");
                Duration::ZERO
            }
        };
        if interval.is_zero() && last_start.is_some() {
            tracing::info!("autoprov poller: zimbraAutoProvPollingInterval is 0; idle");
            last_start = None;
        }
        let wait = match next_step(interval, last_start.map(|t| t.elapsed())) {
            Step::Run => {
                last_start = Some(Instant::now());
                for (domain, result) in prov.auto_prov_poll_scheduled().await {
                    if let Ok(r) = result {
                        tracing::debug!(domain = %domain, created = r.created.len(),
                            "autoprov poller: domain polled");
                    }
                }
                continue;
            }
            Step::Wait(d) => d,
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps() {
        let m = Duration::from_secs(60);
        assert_eq!(next_step(Duration::ZERO, None), Step::Wait(RECHECK));
        assert_eq!(next_step(Duration::ZERO, Some(m)), Step::Wait(RECHECK));
        assert_eq!(next_step(m, None), Step::Run);
        assert_eq!(next_step(m, Some(m * 2)), Step::Run);
        assert_eq!(
            next_step(m, Some(Duration::from_secs(20))),
            Step::Wait(Duration::from_secs(40))
        );
        assert_eq!(next_step(m * 15, Some(m)), Step::Wait(RECHECK));
    }
}
