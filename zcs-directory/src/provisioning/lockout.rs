//! Failed-login lockout (`zimbraPasswordLockout*`): recording failures in
//! `zimbraPasswordLockoutFailureTime`, switching the account to status `lockout` after
//! `zimbraPasswordLockoutMaxFailures` failures within `zimbraPasswordLockoutFailureLifetime`,
//! and the automatic unlock once `zimbraPasswordLockoutDuration` has passed.
//!
//! The login path (`login`) calls these; nothing here judges a password.

use zcs_core::attrs::value::{format_time, parse_duration_ms, parse_time};
use zcs_core::{AttrEdit, Entry, ServiceResult};

use super::policy::now_ms;
use super::{AccountContext, Provisioning};

/// The lockout policy an account inherits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// `zimbraPasswordLockoutEnabled`.
    pub enabled: bool,
    /// `zimbraPasswordLockoutMaxFailures`; 0 = never lock.
    pub max_failures: usize,
    /// `zimbraPasswordLockoutDuration` in ms; 0 = locked until an administrator unlocks.
    pub duration_ms: u64,
    /// `zimbraPasswordLockoutFailureLifetime` in ms; 0 = failures never expire.
    pub failure_lifetime_ms: u64,
}

impl LockoutPolicy {
    /// Reads the policy from the account's inheritance scope (account, then COS, then
    /// the registry defaults: disabled, 10 failures, 1h, 1h).
    pub fn from_context(ctx: &AccountContext) -> LockoutPolicy {
        let scope = ctx.scope();
        let first = |n: &str| scope.get(n).into_iter().next().unwrap_or_default();
        LockoutPolicy {
            enabled: first("zimbraPasswordLockoutEnabled").eq_ignore_ascii_case("TRUE"),
            max_failures: first("zimbraPasswordLockoutMaxFailures")
                .trim()
                .parse()
                .unwrap_or(0),
            duration_ms: parse_duration_ms(&first("zimbraPasswordLockoutDuration")).unwrap_or(0),
            failure_lifetime_ms: parse_duration_ms(&first("zimbraPasswordLockoutFailureLifetime"))
                .unwrap_or(0),
        }
    }

    /// Whether failures are counted at all.
    pub fn active(&self) -> bool {
        self.enabled && self.max_failures > 0
    }
}

/// Whether the account's own status is `lockout`.
pub fn is_locked_out(account: &Entry) -> bool {
    account
        .attrs
        .get("zimbraAccountStatus")
        .is_some_and(|s| s.eq_ignore_ascii_case("lockout"))
}

/// The attributes cleared when a lockout ends or the failures are forgiven.
const LOCKOUT_STATE: &[&str] = &[
    "zimbraPasswordLockoutFailureTime",
    "zimbraPasswordLockoutLockedTime",
];

/// Edits that forget the lockout state present on `account`.
pub(crate) fn clear_edits(account: &Entry) -> Vec<AttrEdit> {
    LOCKOUT_STATE
        .iter()
        .filter(|a| account.attrs.contains(a))
        .map(|a| AttrEdit::Replace((*a).into(), vec![]))
        .collect()
}

impl Provisioning {
    /// For an account in status `lockout`: when `zimbraPasswordLockoutDuration` is
    /// non-zero and has passed since `zimbraPasswordLockoutLockedTime`, sets the account
    /// back to `active`, forgets its failures and returns the updated entry. Otherwise
    /// (not locked out, duration 0, or still within it) returns the account unchanged.
    ///
    /// # Errors
    /// `service.FAILURE` when the directory write fails.
    pub async fn lockout_expire(&self, ctx: &AccountContext) -> ServiceResult<Entry> {
        let acct = &ctx.account;
        if !is_locked_out(acct) {
            return Ok(acct.clone());
        }
        let policy = LockoutPolicy::from_context(ctx);
        let locked_at = acct
            .attrs
            .get("zimbraPasswordLockoutLockedTime")
            .and_then(|t| parse_time(t).ok());
        let expired = policy.duration_ms > 0
            && locked_at.is_some_and(|t| now_ms() - t >= policy.duration_ms as i64);
        if !expired {
            return Ok(acct.clone());
        }
        let mut edits = clear_edits(acct);
        edits.push(AttrEdit::Replace(
            "zimbraAccountStatus".into(),
            vec!["active".into()],
        ));
        let out = self.dir.modify_entry(acct.kind, acct.id, &edits).await?;
        tracing::info!(account = %acct.name, "lockout expired; account unlocked");
        Ok(out)
    }

    /// Records one failed login for the account when its policy counts failures and it
    /// is not already locked out: adds the time to `zimbraPasswordLockoutFailureTime`,
    /// drops failures older than the failure lifetime, and when the remaining count
    /// reaches `zimbraPasswordLockoutMaxFailures` sets status `lockout` and
    /// `zimbraPasswordLockoutLockedTime`. Returns whether the account is now locked out.
    ///
    /// Concurrent failures each add their own value, so none is lost.
    ///
    /// # Errors
    /// `service.FAILURE` when the directory fails.
    pub async fn lockout_record_failure(&self, ctx: &AccountContext) -> ServiceResult<bool> {
        let acct = &ctx.account;
        let policy = LockoutPolicy::from_context(ctx);
        if !policy.active() || is_locked_out(acct) {
            return Ok(false);
        }
        let now = now_ms();
        let mut stamp = now;
        let existing = acct.attrs.get_all("zimbraPasswordLockoutFailureTime");
        // Values of a multi-valued attribute are a set: make this one distinct.
        while existing.iter().any(|v| v == &format_time(stamp)) {
            stamp += 1;
        }
        let added = AttrEdit::Add(
            "zimbraPasswordLockoutFailureTime".into(),
            format_time(stamp),
        );
        let updated = self.dir.modify_entry(acct.kind, acct.id, &[added]).await?;

        let all = updated.attrs.get_all("zimbraPasswordLockoutFailureTime");
        let (live, stale): (Vec<&String>, Vec<&String>) = all.iter().partition(|v| {
            policy.failure_lifetime_ms == 0
                || parse_time(v).is_ok_and(|t| now - t < policy.failure_lifetime_ms as i64)
        });
        let mut edits: Vec<AttrEdit> = stale
            .iter()
            .map(|v| AttrEdit::Remove("zimbraPasswordLockoutFailureTime".into(), (*v).clone()))
            .collect();
        let locked = live.len() >= policy.max_failures;
        if locked {
            edits.push(AttrEdit::Replace(
                "zimbraAccountStatus".into(),
                vec!["lockout".into()],
            ));
            edits.push(AttrEdit::Replace(
                "zimbraPasswordLockoutLockedTime".into(),
                vec![format_time(now)],
            ));
        }
        if !edits.is_empty() {
            self.dir.modify_entry(acct.kind, acct.id, &edits).await?;
        }
        if locked {
            tracing::warn!(account = %acct.name, failures = live.len(),
                "account locked out after repeated login failures");
        }
        Ok(locked)
    }

    /// Forgets the failures recorded for the account after a successful login. Does
    /// nothing (no write) when there are none.
    ///
    /// # Errors
    /// `service.FAILURE` when the directory fails.
    pub async fn lockout_clear(&self, account: &Entry) -> ServiceResult<()> {
        let edits = clear_edits(account);
        if !edits.is_empty() {
            self.dir
                .modify_entry(account.kind, account.id, &edits)
                .await?;
        }
        Ok(())
    }
}
