//! Login: finding the account, asking the mechanism its domain names in `zimbraAuthMech`,
//! and applying account and domain status. Every refusal looks the same to the client
//! (`account.AUTH_FAILED`) except maintenance, which Zimbra reports as such.

use zcs_core::{Entry, EntryKind, FaultCode, ServiceError, ServiceResult};

use super::Provisioning;
use crate::auth::{AuthContext, INTERNAL, effective_status, status_fault};
use crate::directory::EntryKey;
use crate::password;

/// A well-formed `{SSHA512}` hash no password is expected to match, checked against when
/// the account does not exist.
const DUMMY_HASH: &str = concat!(
    "{SSHA512}",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
);

impl Provisioning {
    /// Authenticates `name` (address, alias, id, or bare name in the default domain) with
    /// `password`, and returns the account.
    ///
    /// Order: the password is judged first, by the mechanism the account's domain names
    /// in `zimbraAuthMech` (default `zimbra`, the internal one; `custom:NAME` for a
    /// registered handler). When an external mechanism refuses, the internal one is tried
    /// if the domain sets `zimbraAuthFallbackToLocal TRUE` or the account is an admin
    /// (`zimbraIsAdminAccount TRUE`), as in Zimbra. Only after a right password does the
    /// status count, so a wrong password never reveals whether the account exists or is
    /// in maintenance: only `active` may log in; `maintenance` (of the account, or of its
    /// domain when the domain status wins) gives `account.MAINTENANCE_MODE`; `locked`,
    /// `closed`, `lockout` and `pending` give `account.AUTH_FAILED`. Finally
    /// `zimbraPasswordMustChange TRUE` gives `account.CHANGE_PASSWORD`.
    ///
    /// # Errors
    /// `account.AUTH_FAILED` for an unknown account, a wrong password, a mechanism that
    /// is not registered, or a status that forbids login; `account.MAINTENANCE_MODE`;
    /// `account.CHANGE_PASSWORD`; `service.FAILURE` when the directory fails.
    // LIMITATION: lockout after repeated failures (zimbraPasswordLockout*), password
    // expiry and zimbraLastLogonTimestamp are not handled yet.
    pub async fn authenticate(
        &self,
        name: &str,
        password: &str,
        ctx: &AuthContext,
    ) -> ServiceResult<Entry> {
        let ip = ctx.remote_ip.map(|i| i.to_string()).unwrap_or_default();
        let Some(acct) = self.find_account(name).await? else {
            // Spend the time a hash check costs, so timing does not tell unknown names
            // from wrong passwords.
            let _ = password::verify(password, DUMMY_HASH);
            tracing::info!(account = %name.trim(), proto = %ctx.protocol, ip = %ip,
                "authentication failed: no such account");
            return Err(ServiceError::auth_failed());
        };
        let domain = match acct.domain() {
            Some(d) => {
                self.dir
                    .get_entry(EntryKind::Domain, &EntryKey::Name(d.into()))
                    .await?
            }
            None => None,
        };

        if let Err(e) = self
            .check_password(&acct, domain.as_ref(), password, ctx)
            .await
        {
            tracing::info!(account = %acct.name, proto = %ctx.protocol, ip = %ip,
                code = %e.code, "authentication failed");
            return Err(e);
        }

        let account_status = acct.attrs.get("zimbraAccountStatus").unwrap_or("active");
        let domain_status = domain
            .as_ref()
            .and_then(|d| d.attrs.get("zimbraDomainStatus"));
        let status = effective_status(account_status, domain_status);
        if let Some(fault) = status_fault(&status) {
            tracing::info!(account = %acct.name, proto = %ctx.protocol, ip = %ip,
                status = %status, "authentication refused by status");
            return Err(fault);
        }
        if acct
            .attrs
            .get("zimbraPasswordMustChange")
            .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
        {
            tracing::info!(account = %acct.name, proto = %ctx.protocol, ip = %ip,
                "authentication needs a password change");
            return Err(ServiceError::new(
                FaultCode::ChangePasswordRequired,
                "password must change",
            ));
        }

        tracing::info!(account = %acct.name, proto = %ctx.protocol, ip = %ip, "authenticated");
        Ok(acct)
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
            tracing::warn!(account = %acct.name, mech = %mech_name,
                "zimbraAuthMech names no registered mechanism; refusing login");
            return Err(ServiceError::auth_failed());
        };
        let result = mech.authenticate(acct, password, ctx).await;
        let is_true = |e: Option<&Entry>, n: &str| {
            e.and_then(|e| e.attrs.get(n))
                .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
        };
        match result {
            Err(e)
                if e.code == FaultCode::AuthFailed
                    && !mech.name().eq_ignore_ascii_case(INTERNAL)
                    && (is_true(domain, "zimbraAuthFallbackToLocal")
                        || is_true(Some(acct), "zimbraIsAdminAccount")) =>
            {
                match self.auth.get(INTERNAL) {
                    Some(internal) => internal.authenticate(acct, password, ctx).await,
                    None => Err(e),
                }
            }
            other => other,
        }
    }
}
