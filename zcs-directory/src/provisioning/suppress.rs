//! Lockout suppression (`zimbraPasswordLockoutSuppressionEnabled`,
//! `zimbraPasswordLockoutSuppressionProtocols`, `zimbraPasswordLockoutSuppressionCacheSize`):
//! a device that keeps retrying one old password (a phone after a password change)
//! counts that password once toward lockout, not once per retry.
//!
//! In charge of remembering, per account and in memory only, a keyed digest of the last
//! few wrong passwords (never the passwords), and of deciding whether a failure is a
//! repeat that must not be counted. Forgotten at a successful login. Not in charge of
//! counting failures or locking (`lockout`).
//!
//! Protocols are Zimbra's names: `zsync` (ActiveSync), `imap`, `pop3`, `http_basic`,
//! `http_dav`, `soap`; the login's protocol (`imaps`, `pop3s`, ...) is mapped to them.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zcs_core::{ServiceResult, ZimbraId};

use super::{AccountContext, Provisioning};

/// Most accounts remembered at once; past it the memory is emptied (a repeat after
/// that counts once more, which only errs toward locking).
const MAX_ACCOUNTS: usize = 100_000;

/// Most digests kept per account, whatever the cache size attribute says.
const MAX_PER_ACCOUNT: usize = 64;

/// A keyed digest of one wrong password.
type Digest = [u8; 32];

/// The recent wrong passwords of each account, as digests keyed by a secret drawn at
/// start, so the memory never holds anything a password can be recovered from cheaply.
pub struct FailedPasswords {
    key: [u8; 32],
    by_account: Mutex<HashMap<ZimbraId, VecDeque<Digest>>>,
}

impl Default for FailedPasswords {
    fn default() -> Self {
        FailedPasswords {
            key: rand::random(),
            by_account: Mutex::new(HashMap::new()),
        }
    }
}

impl std::fmt::Debug for FailedPasswords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailedPasswords").finish_non_exhaustive()
    }
}

impl FailedPasswords {
    fn digest(&self, account: ZimbraId, password: &str) -> Digest {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(account.to_string().as_bytes());
        mac.update(&[0]);
        mac.update(password.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ZimbraId, VecDeque<Digest>>> {
        self.by_account
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `password` is among the last `size` wrong passwords remembered for
    /// `account`; when it is not, remembers it (dropping the oldest beyond `size`).
    /// `size` 0 remembers nothing and always answers `false`.
    pub fn is_repeat(&self, account: ZimbraId, password: &str, size: usize) -> bool {
        let size = size.min(MAX_PER_ACCOUNT);
        if size == 0 {
            return false;
        }
        let d = self.digest(account, password);
        let mut map = self.lock();
        if map.len() >= MAX_ACCOUNTS && !map.contains_key(&account) {
            map.clear();
        }
        let recent = map.entry(account).or_default();
        if recent.contains(&d) {
            return true;
        }
        recent.push_back(d);
        while recent.len() > size {
            recent.pop_front();
        }
        false
    }

    /// Forgets the wrong passwords of `account` (after a successful login, or an
    /// administrator's unlock).
    pub fn forget(&self, account: ZimbraId) {
        self.lock().remove(&account);
    }
}

/// Zimbra's protocol name for a login's protocol: `imaps` is `imap`, `pop3s` is
/// `pop3`, `activesync`/`eas` is `zsync`, `dav`/`caldav`/`carddav` is `http_dav`.
pub fn zimbra_protocol(protocol: &str) -> String {
    let p = protocol.trim().to_ascii_lowercase();
    match p.as_str() {
        "imaps" => "imap".into(),
        "pop3s" | "pop" => "pop3".into(),
        "activesync" | "eas" => "zsync".into(),
        "dav" | "caldav" | "carddav" | "webdav" => "http_dav".into(),
        "basic" => "http_basic".into(),
        _ => p,
    }
}

/// The suppression settings an account inherits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuppressionPolicy {
    /// `zimbraPasswordLockoutSuppressionEnabled` (default TRUE).
    pub enabled: bool,
    /// `zimbraPasswordLockoutSuppressionProtocols`, lower-case (default `zsync`).
    pub protocols: Vec<String>,
    /// `zimbraPasswordLockoutSuppressionCacheSize` (default 1).
    pub cache_size: usize,
}

impl SuppressionPolicy {
    /// Reads the settings from the account's inheritance scope (account, then COS,
    /// then the registry defaults).
    pub fn from_context(ctx: &AccountContext) -> SuppressionPolicy {
        let scope = ctx.scope();
        let enabled = scope
            .get("zimbraPasswordLockoutSuppressionEnabled")
            .first()
            .is_none_or(|v| v.eq_ignore_ascii_case("TRUE"));
        let mut protocols: Vec<String> = scope
            .get("zimbraPasswordLockoutSuppressionProtocols")
            .iter()
            .map(|p| p.trim().to_ascii_lowercase())
            .collect();
        if protocols.is_empty() {
            protocols.push("zsync".into());
        }
        let cache_size = scope
            .get("zimbraPasswordLockoutSuppressionCacheSize")
            .first()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(1);
        SuppressionPolicy {
            enabled,
            protocols,
            cache_size,
        }
    }

    /// Whether failures over `protocol` (a login's protocol name) are suppressed.
    pub fn applies_to(&self, protocol: &str) -> bool {
        let p = zimbra_protocol(protocol);
        self.enabled && self.cache_size > 0 && self.protocols.contains(&p)
    }
}

impl Provisioning {
    /// Records a wrong `password` given over `protocol` for lockout, unless
    /// suppression applies to the protocol and the same wrong password was already
    /// counted (among the last `zimbraPasswordLockoutSuppressionCacheSize` ones).
    /// Returns whether the account is now locked out.
    ///
    /// # Errors
    /// `service.FAILURE` when the directory fails.
    pub async fn lockout_record_failed_password(
        &self,
        ctx: &AccountContext,
        password: &str,
        protocol: &str,
    ) -> ServiceResult<bool> {
        let policy = SuppressionPolicy::from_context(ctx);
        if policy.applies_to(protocol)
            && self
                .failed_passwords
                .is_repeat(ctx.account.id, password, policy.cache_size)
        {
            tracing::info!(account = %ctx.account.name, proto = %protocol,
                "repeated wrong password not counted toward lockout (suppression)");
            return Ok(false);
        }
        self.lockout_record_failure(ctx).await
    }

    /// Forgets the wrong passwords remembered for suppression (after a successful
    /// login).
    pub fn lockout_forget_failed_passwords(&self, account: ZimbraId) {
        self.failed_passwords.forget(account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_within_the_cache_size() {
        let f = FailedPasswords::default();
        let a = ZimbraId::new();
        let b = ZimbraId::new();
        assert!(!f.is_repeat(a, "old", 1));
        assert!(f.is_repeat(a, "old", 1));
        // Another account's identical password is not a repeat for it.
        assert!(!f.is_repeat(b, "old", 1));
        // A second wrong password pushes the first out of a cache of one.
        assert!(!f.is_repeat(a, "older", 1));
        assert!(!f.is_repeat(a, "old", 1));
        // With room for two, both stay.
        assert!(!f.is_repeat(a, "older", 2));
        assert!(f.is_repeat(a, "old", 2));
        f.forget(a);
        assert!(!f.is_repeat(a, "old", 2));
        assert!(!f.is_repeat(a, "x", 0));
        assert!(!f.is_repeat(a, "x", 0));
    }

    #[test]
    fn protocol_names() {
        assert_eq!(zimbra_protocol("IMAPS"), "imap");
        assert_eq!(zimbra_protocol("pop3s"), "pop3");
        assert_eq!(zimbra_protocol("soap"), "soap");
        let p = SuppressionPolicy {
            enabled: true,
            protocols: vec!["imap".into()],
            cache_size: 1,
        };
        assert!(p.applies_to("imaps"));
        assert!(!p.applies_to("pop3"));
        assert!(
            !SuppressionPolicy {
                enabled: false,
                ..p.clone()
            }
            .applies_to("imap")
        );
    }

    proptest::proptest! {
        #[test]
        fn any_password_repeats_once_remembered(pw in ".{0,40}", n in 1usize..8) {
            let f = FailedPasswords::default();
            let a = ZimbraId::new();
            proptest::prop_assert!(!f.is_repeat(a, &pw, n));
            proptest::prop_assert!(f.is_repeat(a, &pw, n));
        }
    }
}
