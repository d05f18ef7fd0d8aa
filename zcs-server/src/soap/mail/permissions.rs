//! Account-level user rights over urn:zimbraMail, as a Zimbra user manages them:
//! GrantPermission, RevokePermission and GetPermission act on the `zimbraACE` of the
//! caller's own account (user-class rights only: sendAs, sendOnBehalfOf, invite,
//! viewFreeBusy, ...); CheckPermission asks whether the caller holds a right on an
//! account or list. The rights engine of zcs-directory stores and evaluates them; the
//! ACL code itself is shared with urn:zimbraAccount's Get/Grant/RevokeRights in
//! `soap::account::rights`.

use zcs_core::{Entry, ServiceError, ServiceResult};
use zcs_directory::rights::TargetType;

use super::super::account::rights::{self, user_right};
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

/// Grant/RevokePermissionRequest `ace gt= (zid=|d=) right= [deny=] [pw=|key=]`*: each
/// ace on the caller's own account; the response lists the aces changed. The same
/// code answers urn:zimbraAccount Grant/RevokeRightsRequest.
async fn grant(ctx: &mut Ctx<'_>, req: &Element, add: bool) -> ServiceResult<Element> {
    let resp_name = if add {
        "GrantPermissionResponse"
    } else {
        "RevokePermissionResponse"
    };
    rights::grant_aces(ctx, req, add, resp_name, NS_MAIL).await
}

/// GetPermissionRequest `[ace right=]*`: the grants on the caller's account (of the
/// rights named, or all user rights), as GetRightsRequest answers them.
async fn get(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    rights::get_aces(ctx, req, "GetPermissionResponse", NS_MAIL).await
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
