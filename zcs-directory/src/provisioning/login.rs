//! Login: finding the account, asking the mechanism its domain names in `zimbraAuthMech`,
//! applying lockout, account and domain status, and password expiry. Every refusal looks
//! the same to the client (`account.AUTH_FAILED`) except maintenance and a needed
//! password change, which Zimbra reports as such, and only after a right password.

use zcs_core::attrs::value::{format_time, parse_duration_ms, parse_time};
use zcs_core::{AttrEdit, Entry, FaultCode, ServiceError, ServiceResult};

use super::policy::{is_expired, now_ms};
use super::{AccountContext, Provisioning};
use crate::auth::{AuthContext, INTERNAL, account_status, status_fault};
use crate::directory::EntryKey;
use crate::password;

/// A well-formed `{SSHA512}` hash no password is expected to match, checked against when
/// the account does not exist.
const DUMMY_HASH: &str = concat!(
    "{SSHA512}",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
);

/// Longest account name written to a log line; longer client input is cut.
const MAX_LOGGED_NAME: usize = 256;

/// A client-supplied name made safe for a log line: control characters (CR, LF, TAB,
/// ESC, ...) and backslashes are written as `\u{..}` escapes so a client cannot forge
/// log lines, and the text is cut at [`MAX_LOGGED_NAME`] characters.
pub fn log_safe(name: &str) -> String {
    let mut out = String::with_capacity(name.len().min(MAX_LOGGED_NAME));
    for (i, c) in name.chars().enumerate() {
        if i == MAX_LOGGED_NAME {
            out.push_str("...");
            break;
        }
        if c.is_control() || c == '\\' || c == '\u{2028}' || c == '\u{2029}' {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

impl Provisioning {
    /// Authenticates `name` (address, alias, id, or bare name in the default domain) with
    /// `password`, and returns the account. This is the login every protocol (IMAP, POP3,
    /// SMTP AUTH, SOAP) goes through.
    ///
    /// Order:
    /// 1. Unknown account: a dummy hash check (so timing does not tell), then
    ///    `account.AUTH_FAILED`.
    /// 2. An account in status `lockout` whose `zimbraPasswordLockoutDuration` has passed
    ///    is unlocked (status `active`, failures forgotten).
    /// 3. The password is judged by the mechanism the domain names in `zimbraAuthMech`
    ///    (default `zimbra`; `ldap`, `ad`, `custom:NAME`). When an external mechanism
    ///    refuses or is unreachable, the internal one is tried if the domain sets
    ///    `zimbraAuthFallbackToLocal TRUE` or the account is an admin. A wrong password
    ///    is recorded for lockout (`zimbraPasswordLockout*`) and gives
    ///    `account.AUTH_FAILED`; over a protocol listed in
    ///    `zimbraPasswordLockoutSuppressionProtocols`, a wrong password already counted
    ///    is not counted again (`suppress`).
    /// 4. Only after a right password does the status count, so a wrong password never
    ///    reveals whether the account exists or its status: `maintenance` gives
    ///    `account.MAINTENANCE_MODE`; `locked`, `closed`, `lockout` and `pending` (of the
    ///    account, or of its domain as [`effective_status`] decides) give
    ///    `account.AUTH_FAILED`.
    /// 5. Recorded failures are forgotten; `zimbraLastLogonTimestamp` is written when
    ///    older than `zimbraLastLogonTimestampFrequency`.
    /// 6. `zimbraPasswordMustChange TRUE`, or a password older than
    ///    `zimbraPasswordMaxAge` days, gives `account.CHANGE_PASSWORD`.
    ///
    /// Client-supplied names are logged through [`log_safe`]; passwords never are.
    ///
    /// # Errors
    /// `account.AUTH_FAILED`, `account.MAINTENANCE_MODE`, `account.CHANGE_PASSWORD`;
    /// `service.FAILURE` when the directory fails.
    pub async fn authenticate(
        &self,
        name: &str,
        password: &str,
        ctx: &AuthContext,
    ) -> ServiceResult<Entry> {
        let ip = ctx.remote_ip.map(|i| i.to_string()).unwrap_or_default();
        let Some(acct) = self.find_account(name).await? else {
            // LAZY auto-provisioning (autoprov.rs) may create it from the external LDAP.
            if let Some(acct) = self.auto_prov_lazy(name, password, ctx).await? {
                return Ok(acct);
            }
            let _ = password::verify(password, DUMMY_HASH);
            tracing::info!(account = %log_safe(name.trim()), proto = %ctx.protocol, ip = %ip,
                "authentication failed: no such account");
            return Err(ServiceError::auth_failed());
        };
        let mut actx = self.account_context(&acct).await?;
        actx.account = self.lockout_expire(&actx).await?;
        let acct = actx.account.clone();

        if let Err(e) = self
            .check_password(&acct, actx.domain.as_deref(), password, ctx)
            .await
        {
            let locked = if e.code == FaultCode::AuthFailed {
                self.lockout_record_failed_password(&actx, password, &ctx.protocol)
                    .await?
            } else {
                false
            };
            tracing::info!(account = %acct.name, proto = %ctx.protocol, ip = %ip,
                code = %e.code, locked, "authentication failed");
            // A backing service that is down must not look like a wrong password to the
            // protocol layer, but neither may it reveal anything about the account.
            return Err(if e.code == FaultCode::AuthFailed {
                ServiceError::auth_failed()
            } else {
                e
            });
        }

        let domain_status = actx
            .domain
            .as_ref()
            .and_then(|d| d.attrs.get("zimbraDomainStatus"));
        let status = account_status(&acct, domain_status);
        if let Some(fault) = status_fault(&status) {
            tracing::info!(account = %acct.name, proto = %ctx.protocol, ip = %ip,
                status = %status, "authentication refused by status");
            return Err(fault);
        }
        self.lockout_clear(&acct).await?;
        self.lockout_forget_failed_passwords(acct.id);

        let must_change = acct
            .attrs
            .get("zimbraPasswordMustChange")
            .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"));
        if must_change || is_expired(&actx, now_ms()) {
            tracing::info!(account = %acct.name, proto = %ctx.protocol, ip = %ip,
                must_change, "authentication needs a password change");
            return Err(ServiceError::new(
                FaultCode::ChangePasswordRequired,
                "password must change",
            ));
        }

        self.touch_last_logon(&actx).await;
        tracing::info!(account = %acct.name, proto = %ctx.protocol, ip = %ip, "authenticated");
        Ok(acct)
    }

    /// Writes `zimbraLastLogonTimestamp` when it is unset or older than the global
    /// config's `zimbraLastLogonTimestampFrequency` (7d by default; 0 = every login), so
    /// most logins cost no write. A failed write is logged, never fatal to the login.
    async fn touch_last_logon(&self, actx: &AccountContext) {
        let freq = actx
            .global
            .attrs
            .get("zimbraLastLogonTimestampFrequency")
            .and_then(|v| parse_duration_ms(v).ok())
            .unwrap_or(7 * 86_400_000);
        let now = now_ms();
        let last = actx
            .account
            .attrs
            .get("zimbraLastLogonTimestamp")
            .and_then(|t| parse_time(t).ok());
        if last.is_some_and(|l| freq > 0 && now - l < freq as i64) {
            return;
        }
        let edits = [AttrEdit::Replace(
            "zimbraLastLogonTimestamp".into(),
            vec![format_time(now - now.rem_euclid(1000))],
        )];
        let a = &actx.account;
        if let Err(e) = self.dir.modify_entry(a.kind, a.id, &edits).await {
            tracing::warn!(account = %a.name, error = %e, "could not record the last logon");
            return;
        }
        // A cache in front of the directory drops its copy on a write; reading the
        // entry back now keeps the following logins served from memory.
        let _ = self.dir.get_entry(a.kind, &EntryKey::Id(a.id)).await;
    }

    /// Runs the domain's mechanism, with the fallback to the internal one.
    async fn check_password(
        &self,
        acct: &Entry,
        domain: Option<&Entry>,
        password: &str,
        ctx: &AuthContext,
    ) -> ServiceResult<()> {
        let mech_name = domain
            .and_then(|d| d.attrs.get("zimbraAuthMech"))
            .unwrap_or(INTERNAL);
        let Some(mech) = self.auth.for_auth_mech(mech_name) else {
            tracing::warn!(account = %acct.name, mech = %log_safe(mech_name),
                "zimbraAuthMech names no registered mechanism; refusing login");
            return Err(ServiceError::auth_failed());
        };
        let result = mech
            .authenticate_in_domain(acct, domain, password, ctx)
            .await;
        let is_true = |e: Option<&Entry>, n: &str| {
            e.and_then(|e| e.attrs.get(n))
                .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
        };
        match result {
            Err(e)
                if matches!(
                    e.code,
                    FaultCode::AuthFailed | FaultCode::Temporarily | FaultCode::Failure
                ) && !mech.name().eq_ignore_ascii_case(INTERNAL)
                    && (is_true(domain, "zimbraAuthFallbackToLocal")
                        || is_true(Some(acct), "zimbraIsAdminAccount")) =>
            {
                tracing::debug!(account = %acct.name, mech = %mech.name(), code = %e.code,
                    "external authentication refused; falling back to the local password");
                match self.auth.get(INTERNAL) {
                    Some(internal) => internal.authenticate(acct, password, ctx).await,
                    None => Err(e),
                }
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_safe_escapes_controls() {
        assert_eq!(log_safe("joe@x.test"), "joe@x.test");
        let forged = log_safe("joe\r\nINFO authenticated account=admin");
        assert!(!forged.contains('\n') && !forged.contains('\r'), "{forged}");
        assert!(forged.contains("\\u{d}\\u{a}"), "{forged}");
        assert!(log_safe(&"a".repeat(1000)).len() < 300);
        assert_eq!(log_safe("a\\b"), "a\\u{5c}b");
    }

    proptest::proptest! {
        #[test]
        fn log_safe_never_leaves_controls(s in ".{0,300}") {
            let out = log_safe(&s);
            proptest::prop_assert!(!out.chars().any(char::is_control));
        }
    }
}
