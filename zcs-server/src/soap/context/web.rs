//! What the non-SOAP HTTP endpoints (`/service/upload`, `/service/preauth`, `/home`
//! REST) need from the SOAP service: the account a request is authenticated as, by the
//! auth token cookie or HTTP basic auth (throttled like AuthRequest), and a token issued
//! by a preauth URL.

use std::collections::HashMap;

use zcs_core::{Entry, ServiceError, ServiceResult};
use zcs_directory::AuthContext;

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
    /// must), or else `basic` (user, password).
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
        if ctx.token.is_some() {
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
    /// `admin` in `query`); returns the `Set-Cookie` value of the new token.
    /// Counted by the failed-login throttle like any login.
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` for a missing or malformed parameter;
    /// `account.AUTH_FAILED` for a wrong or stale signature, an unknown account or
    /// `admin=1`.
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
        if q.admin {
            // LIMITATION: admin preauth (signed `account|1|by|...`) is not supported.
            return Err(ServiceError::auth_failed());
        }
        let account = throttled(
            &ctx,
            self.prov
                .preauth_login(&q.account, by, q.timestamp, q.expires, &q.preauth, &actx),
        )
        .await?;
        let mut own = Ctx::new(self, caller, None);
        issue_with(&mut own, &account, IssueOpts::default()).await?;
        tracing::info!(account = %account.name, ip = %caller.remote_ip, proto = "preauth",
            "login");
        own.set_cookie
            .take()
            .ok_or_else(|| ServiceError::failure("no cookie issued"))
    }
}
