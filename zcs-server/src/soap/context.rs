//! The SOAP service and the per-request context: who the caller is (from the auth
//! token in the header `context` or the `ZM_AUTH_TOKEN` / `ZM_ADMIN_AUTH_TOKEN` cookie),
//! which account a request acts on (`context/account by=`), and the mailbox it may
//! touch. Every mailbox access goes through [`Ctx::mailbox`], which only ever opens
//! the authenticated account's mailbox (or, for an admin token, the named account's).
//!
//! A JWT (`context/jwtToken` or `Authorization: Bearer`, with its salt in
//! `context/jwtSalt` or the `ZM_JWT` cookie) authenticates as a token does.
//!
//! A token that came in a cookie and was issued CSRF-secured is only accepted with its
//! CSRF token (`X-Zimbra-Csrf-Token` or `context/csrfToken`) while the global config's
//! `zimbraCsrfTokenCheckEnabled` is TRUE. The service's per-server state lives in the
//! submodules: failed-login throttling, uploads, notification sessions, and the HTTP
//! entry point that adds session blocks to the response context.

pub mod serve;
pub mod sessions;
pub mod throttle;
pub mod uploads;
pub mod web;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::OnceCell;
use zcs_core::{Entry, FaultCode, ServiceError, ServiceResult};
use zcs_directory::Provisioning;
use zcs_index::IndexBackend;
use zcs_store::{Mailbox, Store, StoreError};

use super::element::Element;
use super::token::{self, TokenData, TokenError};
use crate::delivery::MailDelivery;
use crate::indexer::Indexer;

/// Everything the SOAP handlers serve from. One per server, shared by its listeners.
pub struct SoapService {
    pub(crate) prov: Arc<Provisioning>,
    pub(crate) store: Arc<Store>,
    pub(crate) index: Arc<dyn IndexBackend>,
    pub(crate) indexer: Indexer,
    pub(crate) delivery: Option<Arc<MailDelivery>>,
    pub(crate) hostname: String,
    key: OnceCell<Vec<u8>>,
    traces: AtomicU64,
    /// Failed logins per client address (Zimbra's InvalidLoginFilter).
    pub(crate) logins: throttle::FailedLogins,
    /// Files posted to `/service/upload`, by upload id.
    pub uploads: uploads::Uploads,
    /// Notification sessions (`context/session`).
    pub(crate) sessions: sessions::Sessions,
    /// Token ids of logins, live at once and written to the accounts in batches.
    tokens: Arc<token::ledger::TokenLedger>,
    /// The DNS resolver of CheckDomainMXRecordRequest; `None` until the server sets
    /// one (the request then fails), so a test never asks real DNS.
    dns: std::sync::OnceLock<Arc<dyn zcs_mta::outbound::Resolver>>,
}

impl SoapService {
    /// A service over these subsystems. `delivery` (local delivery for SendMsg) may be
    /// `None`, then SendMsg fails with `service.FAILURE`.
    pub fn new(
        prov: Arc<Provisioning>,
        store: Arc<Store>,
        index: Arc<dyn IndexBackend>,
        indexer: Indexer,
        delivery: Option<Arc<MailDelivery>>,
        hostname: impl Into<String>,
    ) -> SoapService {
        SoapService {
            tokens: token::ledger::TokenLedger::shared(prov.clone()),
            prov,
            store,
            index,
            indexer,
            delivery,
            hostname: hostname.into(),
            key: OnceCell::new(),
            traces: AtomicU64::new(1),
            logins: throttle::FailedLogins::default(),
            uploads: uploads::Uploads::default(),
            sessions: sessions::Sessions::default(),
            dns: std::sync::OnceLock::new(),
        }
    }

    /// Sets the resolver the admin MX check asks (the system's, or `zcs_dns_servers`, in
    /// the server; a static zone in tests). Only the first call counts; returns whether
    /// it did.
    pub fn set_dns_resolver(&self, resolver: Arc<dyn zcs_mta::outbound::Resolver>) -> bool {
        self.dns.set(resolver).is_ok()
    }

    /// The resolver set by [`SoapService::set_dns_resolver`], if any.
    pub(crate) fn dns_resolver(&self) -> Option<Arc<dyn zcs_mta::outbound::Resolver>> {
        self.dns.get().cloned()
    }

    /// The token ids this service issued (see [`token::ledger`]).
    pub fn tokens(&self) -> &Arc<token::ledger::TokenLedger> {
        &self.tokens
    }

    /// The token signing key, read (or created) once.
    pub(crate) async fn key(&self) -> ServiceResult<&[u8]> {
        self.key
            .get_or_try_init(|| token::load_key(&self.prov))
            .await
            .map(Vec::as_slice)
    }

    /// A trace id for a fault (Zimbra puts the thread name there).
    pub(crate) fn next_trace(&self) -> String {
        format!("zcs-soap-{}", self.traces.fetch_add(1, Ordering::Relaxed))
    }
}

/// Who sent an HTTP request and on which listener.
#[derive(Clone, Debug)]
pub struct Caller {
    /// Arrived on the admin port (`/service/admin/soap`): admin requests are served.
    pub admin_port: bool,
    pub remote_ip: IpAddr,
    /// `ZM_AUTH_TOKEN` cookie value.
    pub cookie_token: Option<String>,
    /// `ZM_ADMIN_AUTH_TOKEN` cookie value.
    pub cookie_admin_token: Option<String>,
    /// `X-Zimbra-Csrf-Token` header value.
    pub csrf_header: Option<String>,
    /// The client a trusted proxy says it speaks for (`X-Originating-IP`,
    /// `X-Forwarded-For`); `None` when there is none or the peer is not trusted.
    pub origin_ip: Option<IpAddr>,
    /// The proxy chain a trusted proxy sent in `Via`.
    pub via: Option<String>,
    /// A JWT sent as `Authorization: Bearer <jwt>`.
    pub bearer: Option<String>,
    /// The `ZM_JWT` cookie: the salts of the caller's JWTs, `|`-separated.
    pub cookie_jwt_salt: Option<String>,
}

impl Caller {
    /// A caller on the user (`admin_port` false) or admin port with no cookies.
    pub fn new(admin_port: bool, remote_ip: IpAddr) -> Caller {
        Caller {
            admin_port,
            remote_ip,
            cookie_token: None,
            cookie_admin_token: None,
            csrf_header: None,
            origin_ip: None,
            via: None,
            bearer: None,
            cookie_jwt_salt: None,
        }
    }

    /// The address failed logins count against: the originating client a trusted proxy
    /// named, else the peer.
    pub fn client_ip(&self) -> IpAddr {
        self.origin_ip.unwrap_or(self.remote_ip)
    }
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub(crate) struct Auth {
    pub account: Entry,
    pub data: TokenData,
    /// The token's optional claims (CSRF-secured, delegated).
    pub claims: token::TokenClaims,
    /// The `jti` when the caller came with a JWT rather than a Zimbra token.
    pub jwt: Option<String>,
}

/// Per-request state handed to every handler.
pub(crate) struct Ctx<'a> {
    pub svc: &'a SoapService,
    pub caller: &'a Caller,
    /// The token the request carries, if any.
    pub token: Option<String>,
    /// A JWT (`context/jwtToken` or `Authorization: Bearer`), used when no Zimbra
    /// token came in the header context.
    jwt: Option<String>,
    /// The JWT's salts: `context/jwtSalt`, else the `ZM_JWT` cookie.
    jwt_salt: Option<String>,
    /// `context/account`: (by, value).
    pub target: Option<(String, String)>,
    auth: Option<Result<Auth, ServiceError>>,
    /// A cookie to set on the HTTP response (`name=value`).
    pub set_cookie: Option<String>,
    /// The mailbox's change number after the request, for the response context.
    pub change: Option<i64>,
    /// The token came from a cookie, not the header context (CSRF applies).
    from_cookie: bool,
    /// `context/csrfToken`.
    csrf_context: Option<String>,
    /// Set by the admin rights gate once a delegated admin's request passed its
    /// checks: [`Ctx::admin`] then accepts that delegated admin too.
    pub delegated: bool,
    /// Set by ResetPasswordRequest: a token issued for a password recovery code
    /// (good for that request only) is then accepted by [`Ctx::auth`].
    pub reset_token_ok: bool,
    /// `context/userAgent name=`: the client's name, when it gave one.
    pub user_agent: Option<String>,
}

impl<'a> Ctx<'a> {
    /// A context for one envelope whose header context is `context`.
    pub fn new(svc: &'a SoapService, caller: &'a Caller, context: Option<&Element>) -> Ctx<'a> {
        let header_token = context
            .and_then(|c| c.attr("authToken"))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        let cookie = if caller.admin_port {
            caller
                .cookie_admin_token
                .clone()
                .or(caller.cookie_token.clone())
        } else {
            caller.cookie_token.clone()
        };
        let text_of = |name: &str| {
            context
                .and_then(|c| c.attr(name))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
        };
        let jwt = text_of("jwtToken").or_else(|| caller.bearer.clone());
        let jwt_salt = text_of("jwtSalt").or_else(|| caller.cookie_jwt_salt.clone());
        // A JWT beats a cookie; a Zimbra token in the header context beats both.
        let cookie = if header_token.is_none() && jwt.is_some() {
            None
        } else {
            cookie
        };
        let from_cookie = header_token.is_none() && cookie.is_some();
        let csrf_context = context
            .and_then(|c| c.attr("csrfToken"))
            .map(str::to_string);
        let target = context.and_then(|c| c.child("account")).map(|a| {
            let by = a.attr("by").unwrap_or("name").to_string();
            (by, a.text().trim().to_string())
        });
        let user_agent = context
            .and_then(|c| c.child("userAgent"))
            .and_then(|u| u.attr("name"))
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        Ctx {
            svc,
            caller,
            token: header_token.or(cookie),
            jwt,
            jwt_salt,
            target: target.filter(|(_, v)| !v.is_empty()),
            auth: None,
            set_cookie: None,
            change: None,
            from_cookie,
            csrf_context,
            delegated: false,
            reset_token_ok: false,
            user_agent,
        }
    }

    /// Whether the request carries a JWT (and no Zimbra token in its header context).
    pub fn has_jwt(&self) -> bool {
        self.jwt.is_some()
    }

    /// The caller as already resolved by [`Ctx::auth`], without resolving it.
    pub fn resolved(&self) -> Option<&ServiceResult<Auth>> {
        self.auth.as_ref()
    }

    /// Replaces the token the request is authenticated by (token re-validation).
    pub fn use_token(&mut self, token: String) {
        self.token = Some(token);
        self.from_cookie = false;
        self.auth = None;
    }

    /// Replaces the credentials by a JWT (JWT re-validation); its salt is still read
    /// from `context/jwtSalt` or the `ZM_JWT` cookie.
    pub fn use_jwt(&mut self, jwt: String) {
        self.token = None;
        self.jwt = Some(jwt);
        self.from_cookie = false;
        self.auth = None;
    }

    /// The authenticated caller.
    ///
    /// # Errors
    /// `service.AUTH_REQUIRED` without a token or with a forged one;
    /// `service.AUTH_EXPIRED` for an expired, ended or orphaned token.
    pub async fn auth(&mut self) -> ServiceResult<Auth> {
        if self.auth.is_none() {
            let resolved = self.resolve().await;
            self.auth = Some(resolved);
        }
        let auth = self
            .auth
            .clone()
            .unwrap_or_else(|| Err(ServiceError::failure("auth not resolved")))?;
        if auth.claims.reset_only && !self.reset_token_ok {
            return Err(ServiceError::new(
                FaultCode::AuthRequired,
                "auth token of a password recovery is only good to reset password",
            ));
        }
        Ok(auth)
    }

    async fn resolve(&self) -> ServiceResult<Auth> {
        if self.token.is_none()
            && let Some(jwt) = self.jwt.as_deref()
        {
            return self.resolve_jwt(jwt).await;
        }
        let Some(tok) = self.token.as_deref() else {
            return Err(ServiceError::new(
                FaultCode::AuthRequired,
                "no valid authtoken present",
            ));
        };
        let key = self.svc.key().await?;
        let now = chrono::Utc::now().timestamp_millis();
        let (data, claims) = token::decode_with(key, tok, now).map_err(|e| match e {
            TokenError::Expired => expired(),
            _ => ServiceError::new(FaultCode::AuthRequired, "no valid authtoken present"),
        })?;
        let prov = &self.svc.prov;
        let id = data.account.to_string();
        let mut account = match prov.find_account(&id).await? {
            Some(a) => a,
            None => return Err(expired()),
        };
        if !self.svc.tokens.is_registered(&account, data.tid) {
            // A correctly signed token another process registered (a tool's minted
            // admin token) is not in a cached copy yet: read the entry afresh once.
            let key = zcs_directory::EntryKey::Id(data.account);
            prov.flush_cache(zcs_directory::CacheKind::Account, Some(&key));
            account = match prov.find_account(&id).await? {
                Some(a) if self.svc.tokens.is_registered(&a, data.tid) => a,
                _ => return Err(expired()),
            };
        }
        if !token::status_allows(prov, &account).await? {
            return Err(expired());
        }
        if self.from_cookie && claims.csrf {
            self.check_csrf(key, &data).await?;
        }
        Ok(Auth {
            account,
            data,
            claims,
            jwt: None,
        })
    }

    /// The caller of a JWT: signed under the token key and one of the caller's salts,
    /// not expired, not ended, of an active account whose token validity value it
    /// carries.
    async fn resolve_jwt(&self, jwt: &str) -> ServiceResult<Auth> {
        let key = self.svc.key().await?;
        let now = chrono::Utc::now().timestamp_millis();
        let salts = self.jwt_salt.as_deref().unwrap_or("");
        let claims = token::jwt::decode(key, jwt, salts, now).map_err(|e| match e {
            token::jwt::JwtError::Expired => expired(),
            _ => ServiceError::new(FaultCode::AuthRequired, "no valid authtoken present"),
        })?;
        let prov = &self.svc.prov;
        let Some(account) = prov.find_account(&claims.account.to_string()).await? else {
            return Err(expired());
        };
        if token::jwt::is_ended(&account, &claims.jti)
            || token::jwt::validity_of(&account) != claims.validity
        {
            return Err(expired());
        }
        if !token::status_allows(prov, &account).await? {
            return Err(expired());
        }
        let data = TokenData {
            account: account.id,
            expires_ms: claims.expires_ms,
            admin: claims.admin,
            tid: 0,
        };
        Ok(Auth {
            account,
            data,
            claims: token::TokenClaims::default(),
            jwt: Some(claims.jti),
        })
    }

    /// A cookie-borne CSRF-secured token needs its CSRF token beside it, unless the
    /// global config turned the check off.
    async fn check_csrf(&self, key: &[u8], data: &TokenData) -> ServiceResult<()> {
        let global = self.svc.prov.global_config().await?;
        let enabled = global
            .attrs
            .get("zimbraCsrfTokenCheckEnabled")
            .is_none_or(|v| v.eq_ignore_ascii_case("TRUE"));
        if !enabled {
            return Ok(());
        }
        let presented = self
            .caller
            .csrf_header
            .as_deref()
            .or(self.csrf_context.as_deref());
        if presented.is_some_and(|c| token::csrf_valid(key, data, c)) {
            return Ok(());
        }
        tracing::info!(ip = %self.caller.remote_ip, "request refused: missing or bad CSRF token");
        Err(ServiceError::new(
            FaultCode::AuthRequired,
            "no valid authtoken present",
        ))
    }

    /// Zimbra refuses any request whose header context carries an expired token, even
    /// one that needs none (a login), unless `authTokenControl voidOnExpired="1"` says to
    /// ignore it. Cookies are not checked this way.
    ///
    /// # Errors
    /// `service.AUTH_EXPIRED`.
    pub async fn header_token_expired(&mut self, context: Option<&Element>) -> ServiceResult<()> {
        let Some(tok) = context.and_then(|c| c.attr("authToken")).map(str::trim) else {
            return Ok(());
        };
        if tok.is_empty() {
            return Ok(());
        }
        let void = context
            .and_then(|c| c.child("authTokenControl"))
            .and_then(|c| c.attr("voidOnExpired"))
            .is_some_and(super::element::is_true);
        let key = self.svc.key().await?;
        let now = chrono::Utc::now().timestamp_millis();
        if token::decode(key, tok, now) == Err(TokenError::Expired) {
            if void {
                self.token = None;
                return Ok(());
            }
            return Err(expired());
        }
        Ok(())
    }

    /// The authenticated caller, who must hold an admin token.
    ///
    /// # Errors
    /// As [`Ctx::auth`]; `service.PERM_DENIED` for a user token.
    pub async fn admin(&mut self) -> ServiceResult<Auth> {
        let auth = self.auth().await?;
        let delegated = self.delegated && zcs_directory::rights::is_delegated_admin(&auth.account);
        if !auth.data.admin || !(is_admin(&auth.account) || delegated) {
            return Err(ServiceError::perm_denied("need admin token"));
        }
        Ok(auth)
    }

    /// The account a mail or account request acts on: the caller's own, or the one
    /// named by `context/account` when the caller holds an admin token.
    ///
    /// # Errors
    /// `service.PERM_DENIED` when a user names another account (whether it exists or
    /// not); `account.NO_SUCH_ACCOUNT` for an admin naming a missing one.
    pub async fn target_account(&mut self) -> ServiceResult<Entry> {
        let auth = self.auth().await?;
        let Some((by, value)) = self.target.clone() else {
            return Ok(auth.account);
        };
        let own = match by.as_str() {
            "id" => value.eq_ignore_ascii_case(&auth.account.id.to_string()),
            _ => value.eq_ignore_ascii_case(&auth.account.name),
        };
        if own {
            return Ok(auth.account);
        }
        if !(auth.data.admin && is_admin(&auth.account)) {
            return Err(ServiceError::perm_denied("cannot access another account"));
        }
        self.svc.prov.get_account(&value).await
    }

    /// The mailbox of [`Ctx::target_account`], with its effective quota.
    ///
    /// # Errors
    /// As [`Ctx::target_account`]; `mail.NO_SUCH_MBOX` when it cannot be opened.
    pub async fn mailbox(&mut self) -> ServiceResult<Mailbox> {
        let account = self.target_account().await?;
        // Only the handful of attributes the handle applies, each along its inheritance
        // chain: building every effective attribute took a fifth of the server's CPU
        // under the SOAP mix (soap-bench), on every request that opens a mailbox.
        let inherited = self.svc.prov.account_context(&account).await?;
        let scope = inherited.scope();
        let effective = |name: &str| scope.get(name).into_iter().next();
        let quota = effective("zimbraMailQuota")
            .and_then(|v| zcs_core::attrs::value::parse_size(&v).ok())
            .unwrap_or(0);
        let mb = self
            .svc
            .store
            .mailbox(account.id)
            .await
            .map_err(store_fault)?;
        Ok(mb
            .with_quota(quota)
            .with_settings(mailbox_settings(effective)))
    }

    /// Records the mailbox's change number for the response context.
    pub async fn note_change(&mut self, mb: &Mailbox) {
        if let Ok(cn) = mb.change_number().await {
            self.change = Some(cn.0);
        }
    }
}

/// The account settings a mailbox handle applies, from the effective attributes
/// (`effective` gives an attribute's effective value): threading, the dumpster, the
/// contact and document revision limits.
fn mailbox_settings(effective: impl Fn(&str) -> Option<String>) -> zcs_store::MailboxSettings {
    let defaults = zcs_store::MailboxSettings::default();
    let number = |name: &str, default: u32| {
        effective(name)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(default)
    };
    zcs_store::MailboxSettings {
        threading: effective("zimbraMailThreadingAlgorithm")
            .and_then(|v| zcs_store::ThreadingAlgorithm::parse(&v))
            .unwrap_or(defaults.threading),
        dumpster_enabled: effective("zimbraDumpsterEnabled")
            .is_some_and(|v| v.eq_ignore_ascii_case("TRUE")),
        contact_max_entries: number("zimbraContactMaxNumEntries", defaults.contact_max_entries),
        notebook_max_revisions: number(
            "zimbraNotebookMaxRevisions",
            defaults.notebook_max_revisions,
        ),
    }
}

fn expired() -> ServiceError {
    ServiceError::new(FaultCode::AuthExpired, "auth credentials have expired")
}

/// Whether the entry is a global administrator (`zimbraIsAdminAccount`).
pub(crate) fn is_admin(account: &Entry) -> bool {
    account
        .attrs
        .get("zimbraIsAdminAccount")
        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
}

/// A store error as a SOAP fault. Unexpected ones are logged and reported as
/// `service.FAILURE` without detail.
pub(crate) fn store_fault(e: StoreError) -> ServiceError {
    // The store names the nearest code where zcs-core had none; these have theirs now.
    let code = match &e {
        StoreError::ImmutableFolder(_) => FaultCode::ImmutableObject,
        StoreError::TooManyContacts(_) => FaultCode::TooManyContacts,
        _ => e.fault_code(),
    };
    if code == FaultCode::Failure {
        tracing::error!(error = %e, "store failure");
        return ServiceError::failure("store failure");
    }
    ServiceError::new(code, e.to_string())
}
