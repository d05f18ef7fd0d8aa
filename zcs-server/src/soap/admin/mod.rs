//! urn:zimbraAdmin: the provisioning API `zmprov` and admin consoles use. Served only
//! on the admin port, and every request but AuthRequest needs an admin token.
//! Accounts are in `accounts` (searching, counting and password checks in
//! `account_tools`); domains, COS, servers, global config and the rest in
//! `entries`; distribution lists in `lists`; GAL sync accounts in `galsync`; zimlets in
//! `zimlets`; calendar resources in `calresources`;
//! system retention policies in `retention`; mailboxes (size, purge, quota usage) in
//! `mailbox`; the MTA's queues in `mailqueue`; admin wait sets in `waitset`; counts
//! and sessions in `counts`; delegated-admin constraints in `constraints`; the domain MX
//! check in `dns`; data sources in `account::datasources`.
//!
//! Every request that changes something leaves a line in `audit.log` (the
//! `zimbra.security` target) naming the command, its target, the admin, the client
//! address and the outcome, as zmprov's changes do; never a password or other value.

mod account_tools;
mod accounts;
mod autoprov;
mod backup;
mod bulk_import;
pub(crate) use backup::resume_restores;
mod cache;
pub(crate) mod calresources;
mod constraints;
mod counts;
mod dns;
mod entries;
mod galsync;
mod lists;
mod mailbox;
mod mailqueue;
mod retention;
mod rights;
mod search;
mod volumes;
mod waitset;
mod zimlets;

use zcs_core::{AttrEdit, Attrs, Entry, ServiceError, ServiceResult};
use zcs_directory::EntryKey;

use super::context::Ctx;
use super::element::Element;

/// Attributes never shown: secrets and server bookkeeping.
const HIDDEN: &[&str] = &[
    "zimbraAuthTokenKey",
    "zimbraAuthTokens",
    "zimbraPasswordHistory",
];

/// Routes a urn:zimbraAdmin request; `None` when the name is not one of them.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    // Delegated admins are limited by the rights engine (see `rights::gate`).
    let out = match rights::gate(ctx, name, req).await {
        rights::Gate::Open => route(ctx, name, req).await?,
        rights::Gate::Denied(e) => Err(e),
        rights::Gate::Delegated(filter) => {
            ctx.delegated = true;
            match route(ctx, name, req).await? {
                Ok(resp) => rights::filter(ctx, filter, resp).await,
                Err(e) => Err(e),
            }
        }
    };
    if !reads_only(name) {
        audit(ctx, name, req, &out);
    }
    Some(out)
}

/// Whether a request only reads (no audit line), or is a login (logged on its own).
fn reads_only(name: &str) -> bool {
    ["Get", "Search", "Count", "Check", "Ping", "NoOp", "Auth"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// The target an audit line names: the entry's name or id, never another value.
fn audit_target(req: &Element) -> String {
    for sel in ["account", "dl", "domain", "cos", "server"] {
        if let Some(c) = req.child(sel) {
            return c.text().trim().to_string();
        }
    }
    req.attr("name")
        .or_else(|| req.attr("id"))
        .unwrap_or("")
        .trim()
        .to_string()
}

/// Writes the audit line of an admin change made over SOAP.
fn audit(ctx: &Ctx<'_>, name: &str, req: &Element, out: &ServiceResult<Element>) {
    let admin = match ctx.resolved() {
        Some(Ok(a)) => a.account.name.clone(),
        _ => String::new(),
    };
    let result = match out {
        Ok(_) => "ok".to_string(),
        Err(e) => e.code.to_string(),
    };
    let cmd = name.trim_end_matches("Request");
    let target = audit_target(req);
    tracing::info!(target: "zimbra.security", cmd, name = %target, via = "soap",
        admin = %admin, ip = %ctx.caller.remote_ip, result = %result, "admin change");
}

async fn route(ctx: &mut Ctx<'_>, name: &str, req: &Element) -> Option<ServiceResult<Element>> {
    if name == "AuthRequest" {
        return Some(super::account::auth(ctx, req, true).await);
    }
    if let Some(r) = accounts::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = account_tools::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = entries::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = lists::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = galsync::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = zimlets::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = calresources::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = volumes::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = retention::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = rights::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = backup::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = search::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = cache::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = waitset::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = mailqueue::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = mailbox::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = counts::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = constraints::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = dns::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = bulk_import::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = autoprov::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = super::account::datasources::dispatch_admin(ctx, name, req).await {
        return Some(r);
    }
    // An admin request this server does not know: a non-admin learns only that it is
    // not allowed (Zimbra checks the admin token first); an admin hears it is unknown.
    if req.ns.as_deref() == Some(super::envelope::NS_ADMIN)
        && let Err(e) = ctx.admin().await
    {
        return Some(Err(e));
    }
    None
}

/// Writes `attrs` as `a n="name"` children of `el`, one per value, skipping hidden
/// ones and blocking `userPassword` as Zimbra does. `only` limits the names (any case).
pub(crate) fn add_attrs(el: &mut Element, attrs: &Attrs, only: Option<&[String]>) {
    for (name, values) in attrs.iter() {
        if HIDDEN.iter().any(|h| h.eq_ignore_ascii_case(name)) {
            continue;
        }
        if let Some(only) = only
            && !only.iter().any(|o| o.eq_ignore_ascii_case(name))
        {
            continue;
        }
        for v in values {
            if name.eq_ignore_ascii_case("userPassword") {
                el.add_a(name, "VALUE-BLOCKED");
            } else {
                el.add_a(name, v.clone());
            }
        }
    }
}

/// An entry element (`account`, `domain`, `cos`, `server`) with `name`, `id` and its
/// attributes.
pub(crate) fn entry_element(
    tag: &str,
    e: &Entry,
    attrs: &Attrs,
    only: Option<&[String]>,
) -> Element {
    let mut el = Element::new(tag);
    el.set("name", e.name.clone());
    el.set("id", e.id.to_string());
    add_attrs(&mut el, attrs, only);
    el
}

/// The `attrs="a,b"` filter of a Get request.
pub(crate) fn attr_filter(req: &Element) -> Option<Vec<String>> {
    req.attr("attrs")
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.split(',').map(|p| p.trim().to_string()).collect())
}

/// Zimbra's SOAP API takes booleans spelled exactly `TRUE` or `FALSE`
/// (`AttributeInfo.checkValue`); the directory itself also reads other spellings
/// (zmprov's direct mode), so the SOAP layer refuses them first.
///
/// # Errors
/// `account.INVALID_ATTR_VALUE` naming the attribute.
fn check_soap_values(pairs: &[(String, String)]) -> ServiceResult<()> {
    for (n, v) in pairs {
        let name = n.trim_start_matches(['+', '-']);
        // Blank values set nothing (create) or clear (modify): nothing to check.
        if v.trim().is_empty() {
            continue;
        }
        if let Some(def) = zcs_core::attrs::lookup(name)
            && def.ty == zcs_core::attrs::AttrType::Boolean
            && v != "TRUE"
            && v != "FALSE"
        {
            return Err(ServiceError::new(
                zcs_core::FaultCode::InvalidAttrValue,
                format!("{} must be TRUE or FALSE", def.name),
            ));
        }
    }
    Ok(())
}

/// The `a n=` children as attributes for a create request.
///
/// # Errors
/// `account.INVALID_ATTR_VALUE` for a boolean not spelled `TRUE` or `FALSE`.
pub(crate) fn attrs_from(req: &Element) -> ServiceResult<Attrs> {
    check_soap_values(&req.a_pairs())?;
    let mut attrs = Attrs::new();
    for (n, v) in req.a_pairs() {
        let n = n.trim_start_matches('+');
        // A blank value sets nothing, as Zimbra treats it.
        if !v.trim().is_empty() {
            attrs.add(n, v);
        }
    }
    Ok(attrs)
}

/// The `a n=` children as modifications: plain names replace (repeated names give
/// several values, an empty value clears), `+name` adds and `-name` removes a value.
pub(crate) fn edits_from(req: &Element) -> ServiceResult<Vec<AttrEdit>> {
    check_soap_values(&req.a_pairs())?;
    let mut args = Vec::new();
    for (n, v) in req.a_pairs() {
        args.push(n);
        args.push(v);
    }
    AttrEdit::parse_pairs(&args).map_err(ServiceError::invalid_request)
}

/// The entry key of a selector child such as `<domain by="name">x</domain>`, or of the
/// request's `id` attribute.
pub(crate) fn selector(req: &Element, tag: &str) -> ServiceResult<EntryKey> {
    if let Some(sel) = req.child(tag) {
        let value = sel.text().trim();
        return Ok(match sel.attr("by") {
            Some("id") => EntryKey::Id(
                value
                    .parse()
                    .map_err(|_| ServiceError::invalid_request(format!("invalid id: {value}")))?,
            ),
            Some("name") | None => EntryKey::Name(value.to_string()),
            Some(other) => {
                return Err(ServiceError::invalid_request(format!(
                    "unknown value for by: {other}"
                )));
            }
        });
    }
    if let Some(id) = req.attr("id") {
        return Ok(EntryKey::parse(id));
    }
    Err(ServiceError::invalid_request(format!(
        "missing required element: {tag}"
    )))
}
