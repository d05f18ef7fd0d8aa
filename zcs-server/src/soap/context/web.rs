//! What the non-SOAP HTTP endpoints (`/service/upload`, `/service/preauth`,
//! `/service/spnego`, `/home` REST) need from the SOAP service: the account a request is
//! authenticated as, by the auth token cookie or HTTP basic auth (throttled like
//! AuthRequest), and a token issued by a preauth URL or a single sign-on.
//!
//! Admin preauth (`admin=1`, honoured on the admin port only, as Zimbra's
//! `PreAuthServlet` does): the portal signs `account|1|by|expires|timestamp` (the
//! parameters' values in the order of their sorted names) with the domain's
//! `zimbraPreAuthKey`; an admin account then gets an admin token in the
//! `ZM_ADMIN_AUTH_TOKEN` cookie.

use std::collections::HashMap;

use zcs_core::{Entry, FaultCode, ServiceError, ServiceResult};
use zcs_directory::AuthContext;
use zcs_directory::provisioning::preauth::{PREAUTH_WINDOW_MS, compute_preauth};

use super::super::account::{IssueOpts, issue_with, throttled};
use super::{Caller, Ctx, SoapService};

/// The query of a `/service/preauth` URL.
#[derive(Clone, Debug, Default)]
struct PreauthQuery {
    account: String,
    /// `name` (default), `id` or `foreignPrincipal`.
    by: String,
    timestamp: i64,
    /// Requested token expiry, ms; 0 for the account's default lifetime.
    expires: i64,
    preauth: String,
    /// `admin=1`.
    admin: bool,
}

impl PreauthQuery {
    fn parse(q: &HashMap<String, String>) -> ServiceResult<PreauthQuery> {
        let get = |k: &str| q.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
        let num = |k: &str| -> ServiceResult<i64> {
            let v = get(k);
            if v.is_empty() {
                return Ok(0);
            }
            v.parse()
                .map_err(|_| ServiceError::invalid_request(format!("invalid number for {k}")))
        };
        let q = PreauthQuery {
            account: get("account"),
            by: get("by"),
            timestamp: num("timestamp")?,
            expires: num("expires")?,
            preauth: get("preauth"),
            admin: get("admin") == "1",
        };
        if q.account.is_empty() || q.preauth.is_empty() || q.timestamp == 0 {
            return Err(ServiceError::invalid_request(
                "preauth needs account, timestamp and preauth",
            ));
        }
        Ok(q)
    }
}

impl SoapService {
    /// The account an HTTP request is authenticated as: the auth token cookie
    /// (`check_csrf` makes a CSRF-secured cookie need its CSRF token, as a POST
    /// must), a JWT (`Authorization: Bearer` with its `ZM_JWT` salt cookie), or else
    /// `basic` (user, password).
    ///
    /// # Errors
    /// `service.AUTH_REQUIRED` with neither; the token's or the login's fault.
    pub async fn web_account(
        &self,
        caller: &Caller,
        basic: Option<(&str, &str)>,
        check_csrf: bool,
    ) -> ServiceResult<Entry> {
        let mut ctx = Ctx::new(self, caller, None);
        if ctx.token.is_some() || ctx.has_jwt() {
            if !check_csrf {
                ctx.from_cookie = false;
            }
            return Ok(ctx.auth().await?.account);
        }
        let Some((user, password)) = basic else {
            return Err(ServiceError::new(
                zcs_core::FaultCode::AuthRequired,
                "no valid authtoken present",
            ));
        };
        let actx = AuthContext {
            protocol: "http_basic".into(),
            remote_ip: Some(caller.remote_ip),
        };
        let name = if user.contains('@') {
            user.to_string()
        } else {
            match self.prov.find_account(user).await? {
                Some(a) => a.name,
                None => return Err(ServiceError::auth_failed()),
            }
        };
        throttled(&ctx, self.prov.authenticate(&name, password, &actx)).await
    }

    /// Logs in by a preauth URL (`account`, `by`, `timestamp`, `expires`, `preauth`,
    /// `admin` in `query`); returns the `Set-Cookie` value of the new token
    /// (`ZM_ADMIN_AUTH_TOKEN` for an admin preauth on the admin port, else
    /// `ZM_AUTH_TOKEN`). Counted by the failed-login throttle like any login.
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` for a missing or malformed parameter;
    /// `account.AUTH_FAILED` for a wrong or stale signature or an unknown account;
    /// `service.PERM_DENIED` for an admin preauth of a non-admin.
    pub async fn preauth_cookie(
        &self,
        caller: &Caller,
        query: &HashMap<String, String>,
    ) -> ServiceResult<String> {
        let q = PreauthQuery::parse(query)?;
        let ctx = Ctx::new(self, caller, None);
        let actx = AuthContext {
            protocol: "preauth".into(),
            remote_ip: Some(caller.remote_ip),
        };
        let by = if q.by.is_empty() { "name" } else { &q.by };
        // `admin=1` counts on the admin port only; elsewhere the user form is checked
        // (and a signature made for the admin form does not match it).
        let admin = q.admin && caller.admin_port;
        let account = if admin {
            let pre = AdminPreauth {
                account: &q.account,
                by,
                timestamp: q.timestamp,
                expires: q.expires,
                preauth: &q.preauth,
            };
            throttled(&ctx, admin_preauth_login(self, &pre)).await?
        } else {
            throttled(
                &ctx,
                self.prov
                    .preauth_login(&q.account, by, q.timestamp, q.expires, &q.preauth, &actx),
            )
            .await?
        };
        self.login_cookie(caller, &account, "preauth", admin).await
    }

    /// Logs in by single sign-on (SPNEGO): `login` finds and checks the account, under
    /// the failed-login throttle like any login (a suspended address is refused before
    /// `login` runs; an `account.AUTH_FAILED` from it counts against the address). Returns
    /// the `Set-Cookie` value of a new `ZM_AUTH_TOKEN`, as a password login would set.
    ///
    /// # Errors
    /// The throttle's fault, `login`'s, or the token's.
    pub async fn sso_cookie(
        &self,
        caller: &Caller,
        proto: &str,
        login: impl std::future::Future<Output = ServiceResult<Entry>>,
    ) -> ServiceResult<String> {
        let ctx = Ctx::new(self, caller, None);
        let account = throttled(&ctx, login).await?;
        self.login_cookie(caller, &account, proto, false).await
    }

    /// Records the logon and issues the token of a login by `proto`; returns its
    /// `Set-Cookie` value.
    async fn login_cookie(
        &self,
        caller: &Caller,
        account: &Entry,
        proto: &str,
        admin: bool,
    ) -> ServiceResult<String> {
        crate::login::record_last_logon(&self.prov, account).await;
        let mut own = Ctx::new(self, caller, None);
        let opts = IssueOpts {
            admin,
            ..IssueOpts::default()
        };
        issue_with(&mut own, account, opts).await?;
        tracing::info!(account = %account.name, ip = %caller.remote_ip, proto, admin, "login");
        own.set_cookie
            .take()
            .ok_or_else(|| ServiceError::failure("no cookie issued"))
    }
}

/// The parameters of an admin preauth, as the portal sent them.
pub(crate) struct AdminPreauth<'a> {
    /// How the account was named (the signed text uses it as given).
    pub account: &'a str,
    /// `name` or `id`.
    pub by: &'a str,
    /// The signer's clock, ms.
    pub timestamp: i64,
    /// The lifetime asked, ms (0 = default); signed, not otherwise used.
    pub expires: i64,
    /// The hex HMAC-SHA1.
    pub preauth: &'a str,
}

/// The signature of an admin preauth: Zimbra signs the parameters' values in the order
/// of their sorted names, `account`, `admin`, `by`, `expires`, `timestamp`.
pub(crate) fn admin_preauth_signature(key: &str, pre: &AdminPreauth<'_>) -> String {
    let account_and_flag = format!("{}|1", pre.account);
    compute_preauth(key, &account_and_flag, pre.by, pre.expires, pre.timestamp)
}

/// Compares two hex strings in time independent of where they differ.
fn same_hex(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| {
            acc | (x.to_ascii_lowercase() ^ y.to_ascii_lowercase())
        }) == 0
}

/// Checks an admin preauth and returns the admin account it logs in: the signature under
/// the account's domain key, a timestamp within [`PREAUTH_WINDOW_MS`], an active
/// account (and domain) and an admin one (global, domain or delegated).
///
/// # Errors
/// `account.AUTH_FAILED` for an unknown account, a domain without key, a bad signature
/// or a stale timestamp, an inactive account; `account.MAINTENANCE_MODE`;
/// `service.PERM_DENIED` for an account that is no administrator.
pub(crate) async fn admin_preauth_login(
    svc: &SoapService,
    pre: &AdminPreauth<'_>,
) -> ServiceResult<Entry> {
    let refuse = |why: &str| {
        tracing::info!(reason = why, proto = "preauth", "admin preauth refused");
        ServiceError::auth_failed()
    };
    let found = match pre.by.to_ascii_lowercase().as_str() {
        "name" | "id" => svc.prov.find_account(pre.account).await?,
        _ => return Err(refuse("unsupported 'by'")),
    };
    let Some(account) = found else {
        return Err(refuse("no such account"));
    };
    let actx = svc.prov.account_context(&account).await?;
    let key = actx
        .domain
        .as_ref()
        .and_then(|d| d.attrs.get("zimbraPreAuthKey"))
        .filter(|k| !k.is_empty())
        .ok_or_else(|| refuse("domain has no preauth key"))?;
    if !same_hex(&admin_preauth_signature(key, pre), pre.preauth.trim()) {
        return Err(refuse("signature mismatch"));
    }
    let now = chrono::Utc::now().timestamp_millis();
    if (now - pre.timestamp).abs() > PREAUTH_WINDOW_MS {
        return Err(refuse("timestamp outside the window"));
    }
    let status = zcs_directory::auth::account_status(
        &account,
        actx.domain
            .as_ref()
            .and_then(|d| d.attrs.get("zimbraDomainStatus")),
    );
    if let Some(f) = zcs_directory::auth::status_fault(&status) {
        return Err(if f.code == FaultCode::AuthFailed {
            refuse("status")
        } else {
            f
        });
    }
    let flag = |a: &str| {
        account
            .attrs
            .get(a)
            .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
    };
    if !(flag("zimbraIsAdminAccount")
        || flag("zimbraIsDomainAdminAccount")
        || flag("zimbraIsDelegatedAdminAccount"))
    {
        return Err(ServiceError::perm_denied("not an admin account"));
    }
    tracing::info!(account = %account.name, "authenticated by admin preauth");
    Ok(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_signature_puts_the_flag_after_the_account() {
        // The user form of the same parameters differs only by the `|1` field.
        let pre = AdminPreauth {
            account: "admin@example.test",
            by: "name",
            timestamp: 1_135_280_708_088,
            expires: 0,
            preauth: "",
        };
        let admin = admin_preauth_signature("k", &pre);
        let user = compute_preauth("k", "admin@example.test", "name", 0, 1_135_280_708_088);
        assert_ne!(admin, user);
        assert_eq!(
            admin,
            compute_preauth("k", "admin@example.test|1", "name", 0, 1_135_280_708_088)
        );
        assert_eq!(admin.len(), 40);
        assert!(same_hex(&admin, &admin.to_uppercase()));
        assert!(!same_hex(&admin, &user));
    }
}
