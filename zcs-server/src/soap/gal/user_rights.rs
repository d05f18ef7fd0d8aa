//! The account service's rights requests: CheckRights (may I use these rights on these
//! entries?) and DiscoverRights (on which entries may I use this right?), the user side
//! of the rights engine (`zcs_directory::rights`), as the web client asks before offering
//! "send as" or "send on behalf of" an account or list.
//!
//! Both answer for the authenticated account only. A grant counts the way the engine
//! decides it everywhere: grants to the account, to the lists it belongs to (nested too)
//! and to its domain, the most specific grantee first and a denial beating an allow.

use zcs_core::{Entry, ServiceError, ServiceResult};
use zcs_directory::rights::{GranteeType, Right, Target, TargetType, no_such_right};

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::NS_ACCOUNT;
use super::super::response;

/// Target types a user may ask about.
fn user_target_type(text: &str) -> ServiceResult<TargetType> {
    match TargetType::parse(text) {
        Some(
            t @ (TargetType::Account
            | TargetType::CalResource
            | TargetType::Dl
            | TargetType::Group
            | TargetType::Domain),
        ) => Ok(t),
        _ => Err(ServiceError::invalid_request(format!(
            "invalid target type {text}"
        ))),
    }
}

/// `<CheckRightsRequest><target type by key><right>R</right>...</target>...`: each target
/// back with `allow` (all its rights allowed) and each right with its own `allow`. A
/// target naming no entry allows nothing (a client checks "send as" on any address).
///
/// # Errors
/// `service.INVALID_REQUEST` for a bad target type or a target without rights;
/// `account.NO_SUCH_RIGHT` for an unknown right.
pub(crate) async fn check_rights(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let me = ctx.auth().await?.account;
    let engine = ctx.svc.prov.rights();
    let mut resp = response("CheckRightsResponse", NS_ACCOUNT);
    for t in req.children_named("target") {
        let type_text = t.req("type")?;
        let ty = user_target_type(type_text)?;
        let by = t.attr("by").unwrap_or("name");
        let key = t.req("key")?.trim().to_string();
        let rights: Vec<String> = t
            .children_named("right")
            .map(|r| r.text().trim().to_string())
            .collect();
        if rights.is_empty() {
            return Err(ServiceError::invalid_request("target without right"));
        }
        for r in &rights {
            Right::lookup(r).ok_or_else(|| no_such_right(r))?;
        }
        // An id or a name both resolve through the engine; a missing entry allows nothing.
        let target = engine.target(ty, Some(&key)).await.ok();
        let mut allowed = Vec::with_capacity(rights.len());
        for r in &rights {
            let ok = match &target {
                Some(target) => engine.check_right(&me, target, r).await?.allowed,
                None => false,
            };
            allowed.push(ok);
        }
        let out = resp.add_new("target");
        out.set("type", type_text)
            .set("by", by)
            .set("key", key.clone())
            .set_bool("allow", allowed.iter().all(|a| *a));
        for (r, ok) in rights.iter().zip(allowed) {
            out.add_text("right", r.clone()).set_bool("allow", ok);
        }
    }
    Ok(resp)
}

/// `<DiscoverRightsRequest><right>R</right>...`: per right, the entries whose grants give
/// it to the caller (directly, through its lists or its domain), each with its type, id,
/// name, display name and address; entries where a denial wins are left out.
///
/// # Errors
/// `account.NO_SUCH_RIGHT` for an unknown right; `service.INVALID_REQUEST` when no right
/// is named.
// LIMITATION: grants to `all` (every authenticated user) and `pub` are not listed, only
// grants naming the caller, its lists or its domain.
pub(crate) async fn discover_rights(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let me = ctx.auth().await?.account;
    let prov = ctx.svc.prov.clone();
    let engine = prov.rights();
    let rights: Vec<String> = req
        .children_named("right")
        .map(|r| r.text().trim().to_string())
        .filter(|r| !r.is_empty())
        .collect();
    if rights.is_empty() {
        return Err(ServiceError::invalid_request(
            "missing required element: right",
        ));
    }
    let mut grants = engine.grants_to(GranteeType::Usr, &me.name, true).await?;
    if let Some(d) = me.domain() {
        grants.extend(
            engine
                .grants_to(GranteeType::Dom, d, false)
                .await
                .unwrap_or_default(),
        );
    }
    let mut resp = response("DiscoverRightsResponse", NS_ACCOUNT);
    for r in &rights {
        Right::lookup(r).ok_or_else(|| no_such_right(r))?;
        let mut seen: Vec<String> = Vec::new();
        let mut found: Vec<Target> = Vec::new();
        for g in &grants {
            if !g.grant.right.eq_ignore_ascii_case(r)
                || g.grant.is_deny()
                || seen.contains(&g.target_id)
            {
                continue;
            }
            seen.push(g.target_id.clone());
            let Ok(target) = engine.target(g.target_type, Some(&g.target_id)).await else {
                continue;
            };
            if is_self(&me, &target.entry) {
                continue;
            }
            if engine.check_right(&me, &target, r).await?.allowed {
                found.push(target);
            }
        }
        found.sort_by_cached_key(|t| t.entry.name.to_lowercase());
        let targets = resp.add_new("targets");
        targets.set("right", r.clone());
        for t in found {
            let el = targets.add_new("target");
            el.set("type", t.ty.code())
                .set("id", t.entry.id.to_string())
                .set("name", t.entry.name.clone());
            if let Some(d) = t.entry.attrs.get("displayName") {
                el.set("d", d.to_string());
            }
            if t.entry.name.contains('@') {
                el.add_new("email").set("addr", t.entry.name.clone());
            }
        }
    }
    Ok(resp)
}

fn is_self(me: &Entry, e: &Entry) -> bool {
    me.id == e.id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_ask_about_user_targets_only() {
        assert_eq!(user_target_type("account").ok(), Some(TargetType::Account));
        assert_eq!(user_target_type("dl").ok(), Some(TargetType::Dl));
        assert!(user_target_type("server").is_err());
        assert!(user_target_type("global").is_err());
        assert!(user_target_type("x").is_err());
    }
}
