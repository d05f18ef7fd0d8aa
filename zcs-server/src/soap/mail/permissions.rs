//! Account-level user rights over urn:zimbraMail, as a Zimbra user manages them:
//! GrantPermission, RevokePermission and GetPermission act on the `zimbraACE` of the
//! caller's own account (user-class rights only: sendAs, sendOnBehalfOf, invite,
//! viewFreeBusy, ...); CheckPermission asks whether the caller holds a right on an
//! account or list. The rights engine of zcs-directory stores and evaluates them.

use zcs_core::{Entry, ServiceError, ServiceResult};
use zcs_directory::rights::ace::grants_of;
use zcs_directory::rights::{
    Grant, GrantSpec, GranteeType, Modifier, Right, RightClass, TargetType, no_such_right,
};

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::NS_MAIL;
use super::super::response;

/// Answers the permission requests; `None` for any other name.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    Some(match name {
        "GrantPermissionRequest" => grant(ctx, req, true).await,
        "RevokePermissionRequest" => grant(ctx, req, false).await,
        "GetPermissionRequest" => get(ctx, req).await,
        "CheckPermissionRequest" => check(ctx, req).await,
        _ => return None,
    })
}

/// The user-class right `name` (with an optional `-` deny prefix folded by the caller).
fn user_right(name: &str) -> ServiceResult<Right> {
    let right = Right::lookup(name.trim()).ok_or_else(|| no_such_right(name.trim()))?;
    if right.class() != RightClass::User {
        return Err(ServiceError::invalid_request(format!(
            "{} is not a user right",
            right.name()
        )));
    }
    Ok(right)
}

/// An `ace` element for a stored grant.
async fn ace_element(ctx: &Ctx<'_>, g: &Grant) -> Element {
    let mut el = Element::new("ace");
    el.set("gt", g.grantee_type.code());
    el.set("right", g.right.clone());
    match g.grantee_type {
        GranteeType::Usr | GranteeType::Grp | GranteeType::Dom => {
            el.set("zid", g.grantee.clone());
        }
        _ => {}
    }
    if let Ok(d) = ctx.svc.prov.rights().grantee_name(g).await
        && !d.is_empty()
    {
        el.set("d", d);
    }
    if g.is_deny() {
        el.set_bool("deny", true);
    }
    if let Some(s) = &g.secret {
        let key = if g.grantee_type == GranteeType::Key {
            "key"
        } else {
            "pw"
        };
        el.set(key, s.clone());
    }
    el
}

/// Grant/RevokePermissionRequest `ace gt= (zid=|d=) right= [deny=] [pw=|key=]`*: each
/// ace on the caller's own account; the response lists the aces changed.
async fn grant(ctx: &mut Ctx<'_>, req: &Element, add: bool) -> ServiceResult<Element> {
    let me = ctx.target_account().await?;
    let engine = ctx.svc.prov.rights();
    let resp_name = if add {
        "GrantPermissionResponse"
    } else {
        "RevokePermissionResponse"
    };
    let mut resp = response(resp_name, NS_MAIL);
    for ace in req.children_named("ace") {
        let right = user_right(ace.req("right")?)?;
        let gt_text = ace.req("gt")?;
        let gt = GranteeType::parse(gt_text).ok_or_else(|| {
            ServiceError::invalid_request(format!("invalid grantee type: {gt_text}"))
        })?;
        let grantee = match gt {
            GranteeType::All | GranteeType::Pub => String::new(),
            _ => ace
                .attr("zid")
                .filter(|z| !z.trim().is_empty())
                .or(ace.attr("d"))
                .ok_or_else(|| ServiceError::invalid_request("missing required attribute: d"))?
                .to_string(),
        };
        let spec = GrantSpec {
            target_type: TargetType::Account,
            target: Some(me.id.to_string()),
            grantee_type: gt,
            grantee,
            right: right.name(),
            modifier: if ace.bool_attr("deny", false)? {
                Modifier::Deny
            } else {
                Modifier::None
            },
            secret: ace.attr("pw").or(ace.attr("key")).map(str::to_string),
        };
        // The account's owner may grant user rights on it; no admin granter applies.
        if add {
            let g = engine.grant_right(None, &spec).await?;
            resp.add(ace_element(ctx, &g).await);
        } else {
            match engine.revoke_right(None, &spec).await {
                Ok(()) => {
                    let mut el = Element::new("ace");
                    el.set("gt", gt.code()).set("right", right.name());
                    if let Some(d) = ace.attr("d").or(ace.attr("zid")) {
                        el.set("d", d);
                    }
                    resp.add(el);
                }
                // Revoking what was never granted changes nothing, as in Zimbra.
                Err(e) if e.code == zcs_core::FaultCode::InvalidRequest => {}
                Err(e) => return Err(e),
            }
        }
    }
    tracing::info!(account = %me.name, grant = add, "account permissions changed");
    Ok(resp)
}

/// GetPermissionRequest `[ace right=]*`: the grants on the caller's account (of the
/// rights named, or all user rights).
async fn get(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let me = ctx.target_account().await?;
    let wanted: Vec<String> = req
        .children_named("ace")
        .filter_map(|a| a.attr("right").map(str::to_string))
        .collect();
    let mut resp = response("GetPermissionResponse", NS_MAIL);
    let grants = grants_of(me.attrs.get_all("zimbraACE"));
    for g in grants {
        let user = Right::lookup(&g.right).is_some_and(|r| r.class() == RightClass::User);
        if !user || (!wanted.is_empty() && !wanted.iter().any(|w| w.eq_ignore_ascii_case(&g.right)))
        {
            continue;
        }
        resp.add(ace_element(ctx, &g).await);
    }
    Ok(resp)
}

/// CheckPermissionRequest `target type= by=` + `right`*: whether the caller holds each
/// right on that account (or list). An unknown target holds nothing for anyone, so
/// the answer is "no" rather than a fault that would reveal it.
async fn check(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let caller: Entry = ctx.auth().await?.account;
    let t = req
        .child("target")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: target"))?;
    let ty = match t.attr("type").unwrap_or("account") {
        "account" | "calresource" => TargetType::Account,
        "dl" | "group" => TargetType::Dl,
        other => {
            return Err(ServiceError::invalid_request(format!(
                "invalid target type: {other}"
            )));
        }
    };
    let key = t.text().trim().to_string();
    let engine = ctx.svc.prov.rights();
    let target = engine.target(ty, Some(&key)).await.ok();
    let mut resp = response("CheckPermissionResponse", NS_MAIL);
    let mut all = true;
    for r in req.children_named("right") {
        let name = r.text().trim().to_string();
        let allowed = match &target {
            Some(target) if user_right(&name).is_ok() => engine
                .check_right(&caller, target, &name)
                .await
                .is_ok_and(|d| d.allowed),
            _ => false,
        };
        all &= allowed;
        resp.add_new("right")
            .set_bool("allow", allowed)
            .set_text(name);
    }
    resp.set_bool("allow", all);
    Ok(resp)
}
