//! The mailbox purge Zimbra runs every `zimbraMailPurgeSleepInterval`: each account's purge
//! policy (trash, spam, message and dumpster lifetimes) from its effective attributes, the
//! system retention policies of the global config, and a round-robin pass over a batch of
//! mailboxes per tick until shutdown (the interval read afresh each round; 0 is off).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use zcs_core::attrs::value::parse_duration_ms;
use zcs_store::PurgePolicy;

use crate::frontends::Context;

/// The lifetimes (ms) of the system retention policies an administrator defined
/// (`zimbraMailPurgeSystemPolicy`, a JSON list of `{id, lifetime, ...}` written by the
/// admin SystemRetentionPolicy requests), by policy id; unreadable entries are skipped.
pub fn system_policy_lifetimes(value: Option<&str>) -> std::collections::HashMap<String, i64> {
    let Some(list) = value.and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok()) else {
        return Default::default();
    };
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let id = p.get("id")?.as_str()?.to_string();
            let ms = parse_duration_ms(p.get("lifetime")?.as_str()?).ok()?;
            Some((id, i64::try_from(ms).ok()?))
        })
        .collect()
}

fn duration_attr(attrs: &zcs_core::Attrs, name: &str, default: &str) -> i64 {
    let text = attrs.get(name).unwrap_or(default);
    parse_duration_ms(text)
        .ok()
        .and_then(|v| i64::try_from(v).ok())
        .unwrap_or(0)
}

/// `zimbraMailMessageLifetime` as purging honours it
/// ([`zcs_core::attrs::validate::purge_message_lifetime_ms`]).
fn lifetime_attr(attrs: &zcs_core::Attrs) -> i64 {
    let text = attrs.get("zimbraMailMessageLifetime").unwrap_or("0");
    let ms = parse_duration_ms(text).unwrap_or(0);
    let ms = zcs_core::attrs::validate::purge_message_lifetime_ms(ms);
    i64::try_from(ms).unwrap_or(i64::MAX)
}

fn flag(attrs: &zcs_core::Attrs, name: &str, default: bool) -> bool {
    attrs
        .get(name)
        .map(|v| v.eq_ignore_ascii_case("TRUE"))
        .unwrap_or(default)
}

/// The purge policy of an account from its effective attributes (COS and global
/// config applied).
pub fn purge_policy(attrs: &zcs_core::Attrs) -> PurgePolicy {
    PurgePolicy {
        // Under 30 days purges as 30 days, as Zimbra clamps it.
        message_lifetime_ms: lifetime_attr(attrs),
        trash_lifetime_ms: duration_attr(attrs, "zimbraMailTrashLifetime", "30d"),
        spam_lifetime_ms: duration_attr(attrs, "zimbraMailSpamLifetime", "30d"),
        dumpster_lifetime_ms: duration_attr(attrs, "zimbraMailDumpsterLifetime", "30d"),
        dumpster_enabled: flag(attrs, "zimbraDumpsterEnabled", false),
        dumpster_purge_enabled: flag(attrs, "zimbraDumpsterPurgeEnabled", true),
    }
}

/// Mailboxes purged per tick: Zimbra purges one mailbox at a time, round robin.
const PURGE_BATCH: usize = 20;

/// Zimbra's default `zimbraMailPurgeSleepInterval`, one minute, in ms.
pub const DEFAULT_PURGE_INTERVAL_MS: u64 = 60_000;

/// The pause between purge rounds from `zimbraMailPurgeSleepInterval` (`value`, the
/// server's or the global config's): `None` when it is 0, which turns purging off (spec
/// 02 §1.11); the default minute when unset; an unparsable value is logged and taken as
/// the default rather than silently turning purging off.
pub fn purge_interval_ms(value: Option<&str>) -> Option<u64> {
    let ms = match value.map(parse_duration_ms) {
        None => DEFAULT_PURGE_INTERVAL_MS,
        Some(Ok(ms)) => ms,
        Some(Err(e)) => {
            tracing::warn!(error = %e, "bad zimbraMailPurgeSleepInterval; using 1m");
            DEFAULT_PURGE_INTERVAL_MS
        }
    };
    (ms > 0).then_some(ms)
}

/// The purge interval in force now: this server's `zimbraMailPurgeSleepInterval`, else
/// the global config's, read afresh from the directory (the start-time snapshot when the
/// directory does not answer), so a change takes effect without a restart.
async fn current_interval(ctx: &Context) -> Option<u64> {
    let global = ctx
        .subs
        .prov
        .global_config()
        .await
        .unwrap_or_else(|_| ctx.global.clone());
    let server = ctx
        .subs
        .prov
        .get_server(&zcs_directory::EntryKey::Name(ctx.subs.hostname.clone()))
        .await
        .unwrap_or_else(|_| ctx.server.clone());
    purge_interval_ms(
        zcs_directory::server_attr(&server, &global, "zimbraMailPurgeSleepInterval").as_deref(),
    )
}

/// Purges a batch of mailboxes every `zimbraMailPurgeSleepInterval` until shutdown. The
/// interval is read again before and after each pause: while it is 0 nothing is purged
/// (the loop looks again every minute), as Zimbra's purge thread reads it each round.
pub async fn purge_loop(ctx: Arc<Context>, mut shutdown: watch::Receiver<bool>) {
    let mut next = 0usize;
    let mut was_on: Option<bool> = None;
    loop {
        let interval = current_interval(&ctx).await;
        if was_on != Some(interval.is_some()) {
            match interval {
                Some(ms) => tracing::info!(interval_ms = ms, "mailbox purge on"),
                None => tracing::info!("mailbox purge off (zimbraMailPurgeSleepInterval is 0)"),
            }
            was_on = Some(interval.is_some());
        }
        let pause = interval.unwrap_or(DEFAULT_PURGE_INTERVAL_MS);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(pause)) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
        if interval.is_some() && current_interval(&ctx).await.is_some() {
            next = purge_some(&ctx, next, PURGE_BATCH).await;
        }
    }
}

/// Purges up to `batch` mailboxes starting at position `start` of the account list;
/// returns where the next round starts.
pub async fn purge_some(ctx: &Context, start: usize, batch: usize) -> usize {
    let accounts = match ctx.subs.prov.all_accounts(None).await {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "purge: accounts not listed");
            return start;
        }
    };
    if accounts.is_empty() {
        return 0;
    }
    let now = chrono::Utc::now().timestamp_millis();
    let system = match ctx.subs.prov.global_config().await {
        Ok(global) => system_policy_lifetimes(global.attrs.get("zimbraMailPurgeSystemPolicy")),
        Err(_) => Default::default(),
    };
    let mut at = start % accounts.len();
    for _ in 0..batch.min(accounts.len()) {
        let account = &accounts[at];
        at = (at + 1) % accounts.len();
        let Ok(Some(mailbox)) = ctx.subs.store.find_mailbox(account.id).await else {
            continue;
        };
        let attrs = match ctx.subs.prov.effective_account_attrs(account).await {
            Ok(a) => a,
            Err(_) => continue,
        };
        match mailbox
            .purge_with(now, purge_policy(&attrs), system.clone())
            .await
        {
            Ok(r) if !r.messages.is_empty() || !r.dumpster_purged.is_empty() => {
                tracing::info!(name = %account.name, messages = r.messages.len(),
                    dumpster = r.dumpster_purged.len(), "purged");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(name = %account.name, error = %e, "purge failed"),
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_policies_read_from_the_global_config() {
        let v = r#"[{"id":"a1","name":"short","lifetime":"30d","kind":"purge"},
                    {"id":"b2","name":"bad","lifetime":"soon","kind":"keep"}]"#;
        let map = system_policy_lifetimes(Some(v));
        assert_eq!(map.get("a1"), Some(&(30 * 86_400_000)));
        assert!(!map.contains_key("b2"));
        assert!(system_policy_lifetimes(Some("not json")).is_empty());
        assert!(system_policy_lifetimes(None).is_empty());
    }

    /// Spec 02 §6 idea 39: an interval of 0 means no purging at all.
    #[test]
    fn interval_zero_means_no_purge() {
        assert_eq!(purge_interval_ms(Some("0")), None);
        assert_eq!(purge_interval_ms(Some("0m")), None);
        assert_eq!(purge_interval_ms(None), Some(DEFAULT_PURGE_INTERVAL_MS));
        assert_eq!(purge_interval_ms(Some("1s")), Some(1_000));
        assert_eq!(purge_interval_ms(Some("2h")), Some(7_200_000));
        assert_eq!(
            purge_interval_ms(Some("soon")),
            Some(DEFAULT_PURGE_INTERVAL_MS),
            "a typo does not turn purging off"
        );
    }

    #[test]
    fn purge_policy_reads_zimbra_defaults_and_values() {
        let mut attrs = zcs_core::Attrs::new();
        let p = purge_policy(&attrs);
        assert_eq!(p.trash_lifetime_ms, 30 * 86_400_000);
        assert_eq!(p.message_lifetime_ms, 0);
        assert!(!p.dumpster_enabled && p.dumpster_purge_enabled);
        attrs.set_one("zimbraMailTrashLifetime", "2h");
        attrs.set_one("zimbraDumpsterEnabled", "TRUE");
        let p = purge_policy(&attrs);
        assert_eq!(p.trash_lifetime_ms, 7_200_000);
        assert!(p.dumpster_enabled);
        // A message lifetime under 30 days is kept but purges as 30 days.
        attrs.set_one("zimbraMailMessageLifetime", "2d");
        assert_eq!(purge_policy(&attrs).message_lifetime_ms, 30 * 86_400_000);
        attrs.set_one("zimbraMailMessageLifetime", "60d");
        assert_eq!(purge_policy(&attrs).message_lifetime_ms, 60 * 86_400_000);
    }
}
