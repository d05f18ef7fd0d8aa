//! urn:zimbraAccount: password authentication and token re-validation, GetInfo,
//! ChangePassword, EndSession, Get/ModifyPrefs and GetAccountInfo; identities and
//! signatures in `children`, the GetAvailable* lists in `available`, password recovery
//! in `recovery`, the spam white/black lists in `wblist`, the account's own ACL of user
//! rights (Get/Grant/RevokeRights) in `rights`, data sources (user and admin
//! forms) in `datasources`.
//!
//! Logins go through `Provisioning::authenticate`, the path IMAP and POP3 use, so
//! account status, lockout and password policy apply the same way.

use zcs_core::attrs::{self, AttrFlags};
use zcs_core::{AttrEdit, Attrs, Entry, FaultCode, ServiceError, ServiceResult};
use zcs_directory::AuthContext;

use std::time::Instant;

use super::context::throttle::{self, LoginPolicy};
use super::context::{Ctx, is_admin};
use super::element::{AttrKind, Element};
use super::envelope::{NS_ACCOUNT, NS_ADMIN};
use super::response;
use super::token::{self, TokenData};

mod available;
mod children;
pub(crate) mod datasources;
pub(super) mod recovery;
pub(super) mod rights;
mod wblist;

/// Routes a urn:zimbraAccount request; `None` when the name is not one of them.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    Some(match name {
        "AuthRequest" => auth(ctx, req, false).await,
        "GetInfoRequest" => get_info(ctx, req).await,
        "ChangePasswordRequest" => change_password(ctx, req).await,
        "ResetPasswordRequest" => recovery::reset_password(ctx, req).await,
        "EndSessionRequest" => end_session(ctx).await,
        "GetPrefsRequest" => get_prefs(ctx, req).await,
        "ModifyPrefsRequest" => modify_prefs(ctx, req).await,
        "GetAccountInfoRequest" => get_account_info(ctx, req).await,
        "SearchCalendarResourcesRequest" => {
            super::admin::calresources::search_account(ctx, req).await
        }
        _ => {
            if let Some(r) = children::dispatch(ctx, name, req).await {
                return Some(r);
            }
            if let Some(r) = rights::dispatch(ctx, name, req).await {
                return Some(r);
            }
            if let Some(r) = wblist::dispatch(ctx, name, req).await {
                return Some(r);
            }
            if let Some(r) = datasources::dispatch(ctx, name, req).await {
                return Some(r);
            }
            return available::dispatch(ctx, name, req).await;
        }
    })
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The lifetime in ms from a duration attribute of the effective attributes.
fn lifetime_ms(effective: &Attrs, attr: &str, default_ms: u64) -> i64 {
    effective
        .get(attr)
        .and_then(|v| attrs::value::parse_duration_ms(v).ok())
        .unwrap_or(default_ms) as i64
}

/// Issues and registers a token for `account`; returns it with its lifetime in ms.
pub(crate) async fn issue(
    ctx: &mut Ctx<'_>,
    account: &Entry,
    admin: bool,
) -> ServiceResult<(String, i64)> {
    let opts = IssueOpts {
        admin,
        ..IssueOpts::default()
    };
    let (tok, data) = issue_with(ctx, account, opts).await?;
    Ok((tok, data.expires_ms - data.issued_ms()))
}

/// An issued token with what it says.
pub(crate) struct Issued {
    pub data: TokenData,
    issued_ms: i64,
}

/// What kind of token to issue.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IssueOpts {
    pub admin: bool,
    pub csrf: bool,
    /// DelegateAuth: the admin asking and the lifetime asked (ms, 0 = default).
    pub delegator: Option<(zcs_core::ZimbraId, i64)>,
}

impl Issued {
    /// When it was issued, ms since the epoch.
    pub fn issued_ms(&self) -> i64 {
        self.issued_ms
    }
}

impl std::ops::Deref for Issued {
    type Target = TokenData;
    fn deref(&self) -> &TokenData {
        &self.data
    }
}

/// Issues and registers a token: CSRF-secured when `csrf`, on behalf of `delegator`
/// (DelegateAuth: no cookie is set, the admin keeps their own session).
pub(crate) async fn issue_with(
    ctx: &mut Ctx<'_>,
    account: &Entry,
    opts: IssueOpts,
) -> ServiceResult<(String, Issued)> {
    let IssueOpts {
        admin,
        csrf,
        delegator,
    } = opts;
    let svc = ctx.svc;
    let effective = svc.prov.effective_account_attrs(account).await?;
    let lifetime = match delegator {
        Some((_, asked)) if asked > 0 => asked,
        _ if admin => lifetime_ms(&effective, "zimbraAdminAuthTokenLifetime", 12 * 3_600_000),
        _ => lifetime_ms(&effective, "zimbraAuthTokenLifetime", 2 * 86_400_000),
    };
    let now = now_ms();
    let data = TokenData {
        account: account.id,
        expires_ms: now + lifetime,
        admin,
        tid: token::new_tid(),
    };
    let claims = token::TokenClaims {
        csrf,
        delegator: delegator.map(|(d, _)| d),
        reset_only: false,
    };
    let key = svc.key().await?;
    let tok = token::encode_with(key, &data, &claims);
    svc.tokens().issue(&data);
    if delegator.is_none() {
        let cookie = if admin {
            "ZM_ADMIN_AUTH_TOKEN"
        } else {
            "ZM_AUTH_TOKEN"
        };
        ctx.set_cookie = Some(format!("{cookie}={tok}; Path=/; HttpOnly; SameSite=Lax"));
    }
    Ok((
        tok,
        Issued {
            data,
            issued_ms: now,
        },
    ))
}

/// The failed-login policy of the global config.
async fn login_policy(svc: &super::SoapService) -> ServiceResult<LoginPolicy> {
    Ok(LoginPolicy::from_config(&svc.prov.global_config().await?))
}

/// Runs a password check `attempt` under the per-address failed-login throttle: a
/// suspended address is refused before the password is looked at, and a failed
/// check counts against the address.
pub(crate) async fn throttled<T>(
    ctx: &Ctx<'_>,
    attempt: impl std::future::Future<Output = ServiceResult<T>>,
) -> ServiceResult<T> {
    let svc = ctx.svc;
    // Behind a trusted proxy the client it names is throttled, not the proxy.
    let ip = ctx.caller.client_ip();
    let peer = ctx.caller.remote_ip;
    let policy = login_policy(svc).await?;
    if !svc.logins.admit(ip, Instant::now(), &policy) {
        tracing::info!(target: "zimbra.security", ip = %peer, proto = "soap",
            "login refused: address suspended after failed logins");
        return Err(throttle::suspended_fault());
    }
    let out = attempt.await;
    if let Err(e) = &out
        && matches!(e.code, FaultCode::AuthFailed | FaultCode::PasswordLocked)
    {
        svc.logins.failed(ip, Instant::now(), &policy);
        // The audit trail, as IMAP and POP3 logins leave it (audit.log).
        tracing::warn!(target: "zimbra.security", cmd = "Auth", protocol = "soap",
            ip = %peer, error = %e.code, reason = %e.message, "authentication failed");
    }
    out
}

/// The account a login names: `account by="name|id"` or (admin) `name`.
fn login_name(req: &Element) -> ServiceResult<(String, String)> {
    if let Some(a) = req.child("account") {
        let by = a.attr("by").unwrap_or("name").to_string();
        return Ok((by, a.text().trim().to_string()));
    }
    if let Some(n) = req.attr("name").or_else(|| req.attr("account")) {
        return Ok(("name".into(), n.trim().to_string()));
    }
    Err(ServiceError::invalid_request(
        "missing required element: account",
    ))
}

/// The account whose `zimbraForeignPrincipal` is `principal`.
// LIMITATION: a scan of every account; the directory has no attribute index for it yet.
async fn by_foreign_principal(
    svc: &super::SoapService,
    principal: &str,
) -> ServiceResult<Option<Entry>> {
    let all = svc.prov.all_accounts(None).await?;
    Ok(all.into_iter().find(|a| {
        a.attrs
            .get_all("zimbraForeignPrincipal")
            .iter()
            .any(|v| v == principal)
    }))
}

/// AuthRequest, user (urn:zimbraAccount) or admin (urn:zimbraAdmin): a password
/// login, or re-validation of an `authToken` the request carries.
pub(crate) async fn auth(ctx: &mut Ctx<'_>, req: &Element, admin: bool) -> ServiceResult<Element> {
    let ns = if admin { NS_ADMIN } else { NS_ACCOUNT };
    let mut resp = response("AuthResponse", ns);

    if req.attr("password").is_none()
        && let Some(tok) = req
            .attr("authToken")
            .map(str::trim)
            .filter(|t| !t.is_empty())
    {
        // Token re-validation: the same token comes back with its remaining lifetime.
        ctx.use_token(tok.to_string());
        let auth = if admin {
            ctx.admin().await?
        } else {
            ctx.auth().await?
        };
        resp.add_text("authToken", tok);
        resp.set_content(
            "lifetime",
            (auth.data.expires_ms - now_ms()).to_string(),
            AttrKind::Num,
        );
        return Ok(resp);
    }
    if !admin
        && req.attr("password").is_none()
        && let Some(jwt) = req
            .attr("jwtToken")
            .map(str::trim)
            .filter(|t| !t.is_empty())
    {
        // JWT re-validation, the salt from `context/jwtSalt` or the `ZM_JWT` cookie.
        ctx.use_jwt(jwt.to_string());
        let auth = ctx.auth().await?;
        resp.add_text("authToken", jwt);
        resp.set_content(
            "lifetime",
            (auth.data.expires_ms - now_ms()).to_string(),
            AttrKind::Num,
        );
        return Ok(resp);
    }

    let (by, key) = match login_name(req) {
        // An admin login naming nobody and carrying no token is not authenticated at
        // all (Zimbra's harness: AdminAuth_basic_06).
        Err(_) if admin => {
            return Err(ServiceError::new(
                FaultCode::AuthRequired,
                "no name or account to authenticate",
            ));
        }
        other => other?,
    };
    let (resp, cookie) = if let Some(code) = req.child("recoveryCode") {
        let code = code.text().trim().to_string();
        throttled(ctx, recovery::code_login(ctx, &by, &key, &code)).await?
    } else if let Some(pre) = req.child("preauth") {
        throttled(ctx, preauth_login(ctx, req, pre, &by, &key, admin)).await?
    } else {
        let password = req.req("password")?;
        throttled(
            ctx,
            password_login(ctx, req, &by, key.clone(), password, admin),
        )
        .await?
    };
    ctx.set_cookie = cookie;
    Ok(resp)
}

/// A login's response and the cookie to set.
pub(crate) type LoginOut = (Element, Option<String>);

/// AuthRequest by `preauth timestamp= expires=` (the domain key's HMAC in the text).
async fn preauth_login(
    ctx: &Ctx<'_>,
    req: &Element,
    pre: &Element,
    by: &str,
    key: &str,
    admin: bool,
) -> ServiceResult<LoginOut> {
    let svc = ctx.svc;
    let timestamp = pre.int_attr("timestamp", 0)?;
    let expires = pre.int_attr("expires", 0)?;
    let actx = AuthContext {
        protocol: "soap".into(),
        remote_ip: Some(ctx.caller.remote_ip),
    };
    // A token asked to live `expires` ms from the signing is no login once that passed
    // (Zimbra's harness: PreauthRequest_05).
    if expires > 0 && now_ms() > timestamp.saturating_add(expires) {
        tracing::info!(
            proto = "soap",
            "preauth refused: its token lifetime has passed"
        );
        return Err(ServiceError::auth_failed());
    }
    let account = if admin {
        // The admin form signs `account|1|by|expires|timestamp`.
        let signed = super::context::web::AdminPreauth {
            account: key,
            by,
            timestamp,
            expires,
            preauth: pre.text(),
        };
        super::context::web::admin_preauth_login(svc, &signed).await?
    } else {
        svc.prov
            .preauth_login(key, by, timestamp, expires, pre.text(), &actx)
            .await?
    };
    // The directory's password path records the logon; preauth does not pass there.
    crate::login::record_last_logon(&svc.prov, &account).await;
    if !admin {
        super::search::delayed_index::on_login(ctx, &account).await;
    }
    // A ctx of our own: the caller's is borrowed immutably by the throttle.
    let mut own = Ctx::new(svc, ctx.caller, None);
    let resp = login_response(&mut own, req, &account, admin).await?;
    Ok((resp, own.set_cookie.take()))
}

/// The AuthResponse for a login that succeeded; sets the cookie on `ctx`.
async fn login_response(
    ctx: &mut Ctx<'_>,
    req: &Element,
    account: &Entry,
    admin: bool,
) -> ServiceResult<Element> {
    let svc = ctx.svc;
    let jwt = req
        .attr("tokenType")
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("JWT"));
    if jwt && !admin {
        return jwt_login_response(ctx, account).await;
    }
    let csrf = req.bool_attr("csrfTokenSecured", false)?;
    let opts = IssueOpts {
        admin,
        csrf,
        delegator: None,
    };
    let (tok, issued) = issue_with(ctx, account, opts).await?;
    let lifetime = issued.expires_ms - issued.issued_ms();
    tracing::info!(target: "zimbra.security", cmd = "Auth", account = %account.name,
        protocol = "soap", ip = %ctx.caller.remote_ip, admin, "authentication succeeded");
    let ns = if admin { NS_ADMIN } else { NS_ACCOUNT };
    let mut resp = response("AuthResponse", ns);
    resp.add_text("authToken", tok);
    resp.set_content("lifetime", lifetime.to_string(), AttrKind::Num);
    if csrf {
        let key = svc.key().await?;
        resp.add_text("csrfToken", token::csrf_token(key, &issued.data));
    }
    if !admin {
        // The mail host the client should talk to (this server).
        let host = account.attrs.get("zimbraMailHost").unwrap_or(&svc.hostname);
        resp.add_text("refer", host);
    }
    Ok(resp)
}

/// Most salts the `ZM_JWT` cookie keeps (one per JWT the browser holds).
const MAX_JWT_SALTS: usize = 10;

/// The AuthResponse of a login asking `tokenType="JWT"`: a JWT in `authToken`, its
/// salt in the `ZM_JWT` cookie (added in front of the salts the caller already holds).
async fn jwt_login_response(ctx: &mut Ctx<'_>, account: &Entry) -> ServiceResult<Element> {
    let svc = ctx.svc;
    let effective = svc.prov.effective_account_attrs(account).await?;
    let lifetime = lifetime_ms(&effective, "zimbraAuthTokenLifetime", 2 * 86_400_000);
    let now = now_ms();
    let claims = token::jwt::JwtClaims {
        account: account.id,
        issued_ms: now,
        expires_ms: now + lifetime,
        jti: uuid::Uuid::new_v4().to_string(),
        validity: token::jwt::validity_of(account),
        admin: false,
    };
    let salt = token::jwt::new_salt();
    let jwt = token::jwt::encode(svc.key().await?, &salt, &claims);
    let mut salts = vec![salt];
    if let Some(held) = &ctx.caller.cookie_jwt_salt {
        salts.extend(
            held.split('|')
                .map(str::trim)
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase()))
                .map(str::to_string),
        );
    }
    salts.truncate(MAX_JWT_SALTS);
    ctx.set_cookie = Some(format!("ZM_JWT={}; Path=/; HttpOnly", salts.join("|")));
    tracing::info!(target: "zimbra.security", cmd = "Auth", account = %account.name,
        protocol = "soap", ip = %ctx.caller.remote_ip, token = "jwt",
        "authentication succeeded");
    let mut resp = response("AuthResponse", NS_ACCOUNT);
    resp.add_text("authToken", jwt);
    resp.set_content("lifetime", lifetime.to_string(), AttrKind::Num);
    let host = account.attrs.get("zimbraMailHost").unwrap_or(&svc.hostname);
    resp.add_text("refer", host);
    Ok(resp)
}

/// AuthRequest by password.
async fn password_login(
    ctx: &Ctx<'_>,
    req: &Element,
    by: &str,
    key: String,
    password: &str,
    admin: bool,
) -> ServiceResult<LoginOut> {
    let svc = ctx.svc;
    let name = match by {
        "id" => match svc.prov.find_account(&key).await? {
            Some(a) => a.name,
            None => return Err(ServiceError::auth_failed()),
        },
        // A bare local part is completed with the domain whose zimbraVirtualHostname
        // is the `virtualHost` the client was reached at, else with
        // zimbraDefaultDomainName, as Zimbra does.
        "name" if !key.contains('@') && virtual_domain(svc, req).await?.is_some() => {
            let domain = virtual_domain(svc, req).await?.unwrap_or_default();
            format!("{key}@{domain}")
        }
        "name" if !key.contains('@') => match svc.prov.find_account(&key).await? {
            Some(a) => a.name,
            None => return Err(ServiceError::auth_failed()),
        },
        "name" => key,
        "foreignPrincipal" => match by_foreign_principal(svc, &key).await? {
            Some(a) => a.name,
            None => return Err(ServiceError::auth_failed()),
        },
        // LIMITATION: by="krb5Principal" is not supported.
        _ => {
            return Err(ServiceError::invalid_request(format!(
                "unsupported account by: {by}"
            )));
        }
    };
    let actx = AuthContext {
        protocol: "soap".into(),
        remote_ip: Some(ctx.caller.remote_ip),
    };
    let account = svc.prov.authenticate(&name, password, &actx).await?;
    // A domain administrator (`zimbraIsDomainAdminAccount`, Zimbra's older flag) may log
    // in; without grants every admin request then answers PERM_DENIED.
    let domain_admin = account
        .attrs
        .get("zimbraIsDomainAdminAccount")
        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"));
    if admin
        && !is_admin(&account)
        && !domain_admin
        && !zcs_directory::rights::is_delegated_admin(&account)
    {
        tracing::info!(account = %account.name, ip = %ctx.caller.remote_ip,
            "admin auth refused: not an admin account");
        return Err(ServiceError::perm_denied("not an admin account"));
    }
    if !admin {
        super::search::delayed_index::on_login(ctx, &account).await;
    }
    let mut own = Ctx::new(svc, ctx.caller, None);
    let resp = login_response(&mut own, req, &account, admin).await?;
    Ok((resp, own.set_cookie.take()))
}

/// The name of the domain whose `zimbraVirtualHostname` is the request's
/// `virtualHost`, if it names one.
async fn virtual_domain(svc: &super::SoapService, req: &Element) -> ServiceResult<Option<String>> {
    let Some(host) = req
        .attr("virtualHost")
        .map(str::trim)
        .filter(|h| !h.is_empty())
    else {
        return Ok(None);
    };
    let domains = svc.prov.all_domains().await?;
    Ok(domains
        .into_iter()
        .find(|d| {
            d.attrs
                .get_all("zimbraVirtualHostname")
                .iter()
                .any(|v| v.eq_ignore_ascii_case(host))
        })
        .map(|d| d.name))
}

/// The public base URL of the account's domain: `zimbraPublicServiceProtocol://
/// zimbraPublicServiceHostname[:zimbraPublicServicePort]` of its domain, this server's
/// name (over https) for what the domain does not set.
async fn public_url(svc: &super::SoapService, account: &Entry) -> ServiceResult<String> {
    let actx = svc.prov.account_context(account).await?;
    let get = |n: &str| {
        actx.domain
            .as_ref()
            .and_then(|d| d.attrs.get(n))
            .map(str::to_string)
            .filter(|v| !v.is_empty())
    };
    let proto = get("zimbraPublicServiceProtocol").unwrap_or_else(|| "https".into());
    let host = get("zimbraPublicServiceHostname").unwrap_or_else(|| svc.hostname.clone());
    let port = match get("zimbraPublicServicePort") {
        Some(p)
            if !matches!(
                (proto.as_str(), p.as_str()),
                ("https", "443") | ("http", "80")
            ) =>
        {
            format!(":{p}")
        }
        _ => String::new(),
    };
    Ok(format!("{proto}://{host}{port}"))
}

/// `prefs` (zimbraPref*) or `attrs` (accountInfo-flagged) of the effective attributes,
/// as a key/value list.
fn kv_section(name: &str, item: &str, effective: &Attrs, want: impl Fn(&str) -> bool) -> Element {
    let mut el = Element::new(name).unique();
    el.kv = true;
    for (n, values) in effective.iter() {
        if !want(n) {
            continue;
        }
        for v in values {
            el.add_new(item).set("name", n).set_text(v.clone());
        }
    }
    el
}

fn is_pref(name: &str) -> bool {
    name.starts_with("zimbraPref")
}

fn is_account_info(name: &str) -> bool {
    attrs::meta(name).is_some_and(|m| m.flags.contains(AttrFlags::ACCOUNT_INFO))
}

/// GetInfoRequest `sections=` (mbox, prefs, attrs; the rest are empty here).
async fn get_info(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let auth = ctx.auth().await?;
    let account = ctx.target_account().await?;
    let svc = ctx.svc;
    let effective = svc.prov.effective_account_attrs(&account).await?;
    let sections: Vec<String> = req
        .attr("sections")
        .map(|s| s.split(',').map(|p| p.trim().to_string()).collect())
        .unwrap_or_else(|| vec!["mbox".into(), "prefs".into(), "attrs".into()]);
    let want = |s: &str| sections.iter().any(|x| x == s);

    let mut resp = response("GetInfoResponse", NS_ACCOUNT);
    resp.set_content("version", env!("CARGO_PKG_VERSION"), AttrKind::Str);
    resp.set_content("id", account.id.to_string(), AttrKind::Str);
    resp.set_content("name", account.name.clone(), AttrKind::Str);
    resp.set_content(
        "lifetime",
        (auth.data.expires_ms - now_ms()).to_string(),
        AttrKind::Num,
    );
    if want("mbox") {
        let mb = ctx.mailbox().await?;
        let used = mb
            .quota_usage()
            .await
            .map_err(super::context::store_fault)?;
        resp.set_content("used", used.to_string(), AttrKind::Num);
    }
    let base = public_url(svc, &account).await?;
    resp.set_content(
        "rest",
        format!("{base}/home/{}", account.name),
        AttrKind::Str,
    );
    resp.set_content("soapURL", format!("{base}/service/soap/"), AttrKind::Str);
    resp.set_content("publicURL", base, AttrKind::Str);
    if want("prefs") {
        resp.add(kv_section("prefs", "pref", &effective, is_pref));
    }
    if want("attrs") {
        resp.add(kv_section("attrs", "attr", &effective, is_account_info));
    }
    // LIMITATION: zimlets, props, identities, signatures, data sources and child
    // accounts are not kept yet; those sections are left out.
    Ok(resp)
}

/// ChangePasswordRequest: old `password`... as Zimbra names them: `oldPassword` and
/// `password`; a fresh token comes back.
async fn change_password(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let svc = ctx.svc;
    let (by, key) = login_name(req)?;
    let name = if by == "id" {
        svc.prov.get_account(&key).await?.name
    } else {
        key
    };
    let old = req.req("oldPassword")?;
    let new = req.req("password")?;
    let actx = AuthContext {
        protocol: "soap".into(),
        remote_ip: Some(ctx.caller.remote_ip),
    };
    let account = throttled(ctx, svc.prov.change_password(&name, old, new, &actx)).await?;
    let (tok, lifetime) = issue(ctx, &account, false).await?;
    let mut resp = response("ChangePasswordResponse", NS_ACCOUNT);
    resp.add_text("authToken", tok);
    resp.set_content("lifetime", lifetime.to_string(), AttrKind::Num);
    Ok(resp)
}

/// EndSessionRequest: the token used is voided (a JWT is recorded as ended).
async fn end_session(ctx: &mut Ctx<'_>) -> ServiceResult<Element> {
    let auth = ctx.auth().await?;
    match &auth.jwt {
        Some(jti) => {
            let now = now_ms();
            token::jwt::end(&ctx.svc.prov, &auth.account, jti, auth.data.expires_ms, now).await?;
        }
        None => {
            let tokens = ctx.svc.tokens();
            tokens.end(auth.account.id, auth.data.tid).await?;
        }
    }
    tracing::info!(account = %auth.account.name, "session ended");
    Ok(response("EndSessionResponse", NS_ACCOUNT))
}

/// GetPrefsRequest: every zimbraPref*, or those named by `pref name=` children.
async fn get_prefs(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let account = ctx.target_account().await?;
    let effective = ctx.svc.prov.effective_account_attrs(&account).await?;
    let asked: Vec<String> = req
        .children_named("pref")
        .filter_map(|p| p.attr("name").map(str::to_lowercase))
        .collect();
    let mut resp = response("GetPrefsResponse", NS_ACCOUNT);
    resp.kv = true;
    for (n, values) in effective.iter() {
        if !is_pref(n) || (!asked.is_empty() && !asked.contains(&n.to_lowercase())) {
            continue;
        }
        for v in values {
            resp.add_new("pref").set("name", n).set_text(v.clone());
        }
    }
    Ok(resp)
}

/// ModifyPrefsRequest: `pref name="zimbraPrefX"` (`+name` adds, `-name` removes a
/// value), or JSON `_attrs`. Only zimbraPref* attributes are accepted; values are
/// checked by the registry.
async fn modify_prefs(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let account = ctx.target_account().await?;
    let mut args = Vec::new();
    for p in req
        .children
        .iter()
        .filter(|c| c.name == "pref" || c.name == "a")
    {
        let Some(n) = p.attr("name").or_else(|| p.attr("n")) else {
            continue;
        };
        let bare = n.trim_start_matches(['+', '-']);
        if !is_pref(bare) {
            return Err(ServiceError::new(
                FaultCode::InvalidAttrName,
                format!("pref name must start with zimbraPref: {bare}"),
            ));
        }
        if attrs::lookup(bare).is_none() {
            return Err(ServiceError::new(
                FaultCode::InvalidAttrName,
                format!("no such attribute: {bare}"),
            ));
        }
        args.push(n.to_string());
        args.push(p.text().to_string());
    }
    let edits = AttrEdit::parse_pairs(&args).map_err(ServiceError::invalid_request)?;
    if !edits.is_empty() {
        ctx.svc
            .prov
            .modify_account(&account.id.to_string(), &edits)
            .await?;
    }
    Ok(response("ModifyPrefsResponse", NS_ACCOUNT))
}

/// GetAccountInfoRequest `account by=`: public facts about an account.
async fn get_account_info(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    ctx.auth().await?;
    let svc = ctx.svc;
    let key = req.req("account")?.trim().to_string();
    let account = svc.prov.get_account(&key).await?;
    let mut resp = response("GetAccountInfoResponse", NS_ACCOUNT);
    // `attr name=` (JSON `_attrs`), as Zimbra's GetAccountInfoResponse has them.
    resp.kv = true;
    resp.set_content("name", account.name.clone(), AttrKind::Str);
    let mut attr = |n: &str, v: &str| {
        resp.add_new("attr").set("name", n).set_text(v.to_string());
    };
    attr("zimbraId", &account.id.to_string());
    if let Some(host) = account.attrs.get("zimbraMailHost") {
        attr("zimbraMailHost", host);
    }
    if let Some(dn) = account.attrs.get("displayName") {
        attr("displayName", dn);
    }
    let base = public_url(svc, &account).await?;
    resp.set_content("soapURL", format!("{base}/service/soap/"), AttrKind::Str);
    resp.set_content("publicURL", base, AttrKind::Str);
    Ok(resp)
}
