//! Preauth: a trusted portal signs `account|by|expires|timestamp` with the domain's
//! `zimbraPreAuthKey` (HMAC-SHA1, lower-case hex), and the server lets the account in
//! without its password when the signature matches and the timestamp is recent. Also the
//! key generation behind `zmprov gdpak` and the signing behind `zmprov gdpa`.

use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha1::Sha1;
use zcs_core::{AttrEdit, Entry, EntryKind, FaultCode, ServiceError, ServiceResult};

use super::Provisioning;
use super::login::log_safe;
use super::policy::now_ms;
use crate::auth::{AuthContext, account_status, status_fault};
use crate::directory::EntryKey;

/// How far a preauth timestamp may be from the server's clock, either way (Zimbra allows
/// five minutes).
pub const PREAUTH_WINDOW_MS: i64 = 5 * 60 * 1000;

/// The signature Zimbra computes for a preauth request: HMAC-SHA1 keyed with the bytes
/// of the key text (the 64 hex characters, not their decoded value) over
/// `account|by|expires|timestamp`, as lower-case hex.
pub fn compute_preauth(key: &str, account: &str, by: &str, expires: i64, timestamp: i64) -> String {
    let mut mac =
        Hmac::<Sha1>::new_from_slice(key.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(format!("{account}|{by}|{expires}|{timestamp}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A fresh `zimbraPreAuthKey`: 32 random bytes as 64 lower-case hex characters.
pub fn generate_preauth_key() -> String {
    let mut k = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut k);
    hex::encode(k)
}

/// Compares two strings in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| {
            acc | (x.to_ascii_lowercase() ^ y.to_ascii_lowercase())
        }) == 0
}

impl Provisioning {
    /// Sets a new random `zimbraPreAuthKey` on the domain and returns it
    /// (`zmprov gdpak`). The old key stops working at once.
    ///
    /// # Errors
    /// `account.NO_SUCH_DOMAIN`.
    pub async fn generate_domain_preauth_key(&self, domain: &EntryKey) -> ServiceResult<String> {
        let d = self.get_domain(domain).await?;
        let key = generate_preauth_key();
        let edits = [AttrEdit::Replace(
            "zimbraPreAuthKey".into(),
            vec![key.clone()],
        )];
        self.dir
            .modify_entry(EntryKind::Domain, d.id, &edits)
            .await?;
        tracing::info!(domain = %d.name, "preauth key generated");
        Ok(key)
    }

    /// The preauth signature for `account` (`zmprov gdpa`), with the domain's key.
    ///
    /// # Errors
    /// `account.NO_SUCH_DOMAIN`; `service.INVALID_REQUEST` when the domain has no
    /// `zimbraPreAuthKey`.
    pub async fn compute_domain_preauth(
        &self,
        domain: &EntryKey,
        account: &str,
        by: &str,
        expires: i64,
        timestamp: i64,
    ) -> ServiceResult<String> {
        let d = self.get_domain(domain).await?;
        let key = d
            .attrs
            .get("zimbraPreAuthKey")
            .filter(|k| !k.is_empty())
            .ok_or_else(|| ServiceError::invalid_request("domain has no zimbraPreAuthKey"))?;
        Ok(compute_preauth(key, account, by, expires, timestamp))
    }

    /// Logs `account` in by preauth: `by` is `name`, `id` or `foreignPrincipal` (how
    /// `account` names it), `timestamp` the signer's clock in ms, `expires` the token
    /// lifetime it asked for (0 = default), `preauth` the hex signature. The signature
    /// must match the account's domain key and the timestamp be within
    /// [`PREAUTH_WINDOW_MS`] of now; then the account and domain status apply as for a
    /// password login (lockout does not: no password was guessed).
    ///
    /// # Errors
    /// `account.AUTH_FAILED` for an unknown account, a domain without key, a bad
    /// signature or a stale timestamp, or a status that forbids login (the same fault
    /// every time); `account.MAINTENANCE_MODE`.
    pub async fn preauth_login(
        &self,
        account: &str,
        by: &str,
        timestamp: i64,
        expires: i64,
        preauth: &str,
        ctx: &AuthContext,
    ) -> ServiceResult<Entry> {
        let refuse = |why: &str| {
            tracing::info!(account = %log_safe(account), proto = %ctx.protocol, reason = why,
                "preauth refused");
            ServiceError::auth_failed()
        };
        let acct = match by.to_ascii_lowercase().as_str() {
            "name" | "id" => self.find_account(account).await?,
            "foreignprincipal" => self.find_by_foreign_principal(account).await?,
            _ => return Err(refuse("unknown 'by'")),
        };
        let Some(acct) = acct else {
            // A domain in LAZY auto-provisioning with PREAUTH creates the account the
            // signature vouches for (spec 03 §1.3); any failure reads as no account.
            match self
                .auto_prov_lazy_preauth(account, by, timestamp, expires, preauth, ctx)
                .await
            {
                Ok(Some(created)) => return Ok(created),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(account = %log_safe(account), code = %e.code,
                        "preauth auto-provisioning failed");
                }
            }
            return Err(refuse("no such account"));
        };
        let actx = self.account_context(&acct).await?;
        let Some(key) = actx
            .domain
            .as_ref()
            .and_then(|d| d.attrs.get("zimbraPreAuthKey"))
            .filter(|k| !k.is_empty())
        else {
            return Err(refuse("domain has no preauth key"));
        };
        let expected = compute_preauth(key, account, by, expires, timestamp);
        if !same(&expected, preauth.trim()) {
            return Err(refuse("signature mismatch"));
        }
        if (now_ms() - timestamp).abs() > PREAUTH_WINDOW_MS {
            return Err(refuse("timestamp outside the window"));
        }
        let status = account_status(
            &acct,
            actx.domain
                .as_ref()
                .and_then(|d| d.attrs.get("zimbraDomainStatus")),
        );
        if let Some(f) = status_fault(&status) {
            return Err(if f.code == FaultCode::AuthFailed {
                refuse("status")
            } else {
                f
            });
        }
        tracing::info!(account = %acct.name, proto = %ctx.protocol, "authenticated by preauth");
        Ok(acct)
    }

    /// The account whose `zimbraForeignPrincipal` holds `principal`.
    ///
    /// Cost: scans every account (no attribute index in the `Directory` seam).
    // LIMITATION: a linear scan; an attribute search in the Directory seam would fix it.
    async fn find_by_foreign_principal(&self, principal: &str) -> ServiceResult<Option<Entry>> {
        let all = self.dir.list_entries(EntryKind::Account, None).await?;
        Ok(all.into_iter().find(|a| {
            a.attrs
                .get_all("zimbraForeignPrincipal")
                .iter()
                .any(|p| p == principal)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example Zimbra publishes for preauth.
    #[test]
    fn published_vector() {
        assert_eq!(
            compute_preauth(
                "6b7ead4bd425836e8cf0079cd6c1a05acc127acd07c8ee4b61023e19250e929c",
                "john.doe@domain.com",
                "name",
                0,
                1135280708088
            ),
            "b248f6cfd027edd45c5369f8490125204772f844"
        );
    }

    #[test]
    fn keys_are_64_hex() {
        let k = generate_preauth_key();
        assert_eq!(k.len(), 64);
        assert!(k.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(k, generate_preauth_key());
    }

    #[test]
    fn comparison() {
        assert!(same("abc", "ABC"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
    }

    proptest::proptest! {
        #[test]
        fn signatures_are_40_hex_and_differ_by_timestamp(
            key in "[0-9a-f]{0,64}", acct in ".{0,30}", ts in 0i64..i64::MAX - 1
        ) {
            let a = compute_preauth(&key, &acct, "name", 0, ts);
            proptest::prop_assert_eq!(a.len(), 40);
            proptest::prop_assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
            proptest::prop_assert_ne!(a, compute_preauth(&key, &acct, "name", 0, ts + 1));
        }
    }
}
