//! An account's own ACL of user rights (sendAs, sendOnBehalfOf, viewFreeBusy, invite,
//! ...), as its owner manages it. One implementation serves both forms Zimbra offers:
//! urn:zimbraAccount Get/Grant/RevokeRightsRequest (answered here) and urn:zimbraMail
//! Get/Grant/RevokePermissionRequest (`soap::mail::permissions` calls the shared
//! functions below with its own response names). The grants live in the account's
//! `zimbraACE` values, stored and evaluated by the rights engine of zcs-directory.

use zcs_core::{ServiceError, ServiceResult};
use zcs_directory::rights::ace::grants_of;
use zcs_directory::rights::{
    Grant, GrantSpec, GranteeType, Modifier, Right, RightClass, TargetType, no_such_right,
};

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::NS_ACCOUNT;
use super::super::response;

/// Answers GetRights, GrantRights and RevokeRights; `None` for any other name.
pub(super) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    Some(match name {
        "GrantRightsRequest" => grant_aces(ctx, req, true, "GrantRightsResponse", NS_ACCOUNT).await,
        "RevokeRightsRequest" => {
            grant_aces(ctx, req, false, "RevokeRightsResponse", NS_ACCOUNT).await
        }
        "GetRightsRequest" => get_aces(ctx, req, "GetRightsResponse", NS_ACCOUNT).await,
        _ => return None,
    })
}

/// The user-class right `name`: `account.NO_SUCH_RIGHT` when unknown,
/// `service.INVALID_REQUEST` when it is an admin right.
pub(crate) fn user_right(name: &str) -> ServiceResult<Right> {
    let right = Right::lookup(name.trim()).ok_or_else(|| no_such_right(name.trim()))?;
    if right.class() != RightClass::User {
        return Err(ServiceError::invalid_request(format!(
            "{} is not a user right",
            right.name()
        )));
    }
    Ok(right)
}

/// An `ace` element for a grant, with Zimbra's attributes in its order: `zid` (the
/// stored grantee: an id, the all/public GUID, a guest address or a key name), `gt`,
/// `right`, `d` (the grantee's name, when it has one), `key` for key grantees, `pw`
/// for guests, `deny="1"` for a denial.
async fn ace_element(ctx: &Ctx<'_>, g: &Grant) -> Element {
    let mut el = Element::new("ace");
    el.set("zid", g.grantee.clone());
    el.set("gt", g.grantee_type.code());
    el.set("right", g.right.clone());
    if let Ok(d) = ctx.svc.prov.rights().grantee_name(g).await
        && !d.is_empty()
    {
        el.set("d", d);
    }
    match (g.grantee_type, &g.secret) {
        (GranteeType::Key, Some(s)) => {
            el.set("key", s.clone());
        }
        (GranteeType::Gst, Some(s)) => {
            el.set("pw", s.clone());
        }
        _ => {}
    }
    if g.is_deny() {
        el.set_bool("deny", true);
    }
    el
}

/// The grant an `ace gt= (zid=|d=) right= [deny=] [pw=|key=]` element asks for on
/// account `target_id`.
fn spec_of(ace: &Element, target_id: String) -> ServiceResult<GrantSpec> {
    let right = user_right(ace.req("right")?)?;
    let gt_text = ace.req("gt")?;
    let gt = GranteeType::parse(gt_text)
        .ok_or_else(|| ServiceError::invalid_request(format!("invalid grantee type: {gt_text}")))?;
    let grantee = match gt {
        GranteeType::All | GranteeType::Pub => String::new(),
        _ => ace
            .attr("zid")
            .filter(|z| !z.trim().is_empty())
            .or(ace.attr("d"))
            .ok_or_else(|| ServiceError::invalid_request("missing required attribute: d"))?
            .to_string(),
    };
    Ok(GrantSpec {
        target_type: TargetType::Account,
        target: Some(target_id),
        grantee_type: gt,
        grantee,
        right: right.name(),
        modifier: if ace.bool_attr("deny", false)? {
            Modifier::Deny
        } else {
            Modifier::None
        },
        secret: ace.attr("pw").or(ace.attr("key")).map(str::to_string),
    })
}

/// Grants (`add`) or revokes each `ace` of `req` on the requested account and answers
/// `resp_name` in `ns` listing the aces changed, encoded as stored. Revoking a grant
/// that does not exist changes nothing and lists nothing, as in Zimbra.
///
/// # Errors
/// `account.NO_SUCH_RIGHT` / `service.INVALID_REQUEST` for a bad right, grantee type
/// or missing grantee; the "no such" faults of the grantee when granting.
pub(crate) async fn grant_aces(
    ctx: &mut Ctx<'_>,
    req: &Element,
    add: bool,
    resp_name: &str,
    ns: &str,
) -> ServiceResult<Element> {
    let me = ctx.target_account().await?;
    let engine = ctx.svc.prov.rights();
    let mut resp = response(resp_name, ns);
    for ace in req.children_named("ace") {
        let spec = spec_of(ace, me.id.to_string())?;
        // The account's owner may grant user rights on it; no admin granter applies.
        if add {
            let g = engine.grant_right(None, &spec).await?;
            resp.add(ace_element(ctx, &g).await);
            continue;
        }
        // The stored grants before and after tell which one went, so the answer can
        // encode it as stored (the request may name the grantee rather than its id).
        let id = me.id.to_string();
        let before = stored_grants(ctx, &id).await?;
        match engine.revoke_right(None, &spec).await {
            Ok(()) => {
                let after = stored_grants(ctx, &id).await?;
                for g in before.iter().filter(|g| !after.contains(g)) {
                    resp.add(ace_element(ctx, g).await);
                }
            }
            Err(e) if e.code == zcs_core::FaultCode::InvalidRequest => {}
            Err(e) => return Err(e),
        }
    }
    tracing::info!(account = %me.name, grant = add, "account rights changed");
    Ok(resp)
}

/// The grants stored on account `id` now.
async fn stored_grants(ctx: &Ctx<'_>, id: &str) -> ServiceResult<Vec<Grant>> {
    let target = ctx
        .svc
        .prov
        .rights()
        .target(TargetType::Account, Some(id))
        .await?;
    Ok(grants_of(target.entry.attrs.get_all("zimbraACE")))
}

/// The grants on the requested account, of the rights named by `ace right=` filters
/// (each must be a user right) or of every user right, answered as `resp_name` in `ns`.
///
/// # Errors
/// `account.NO_SUCH_RIGHT` / `service.INVALID_REQUEST` for a filter naming no user right.
pub(crate) async fn get_aces(
    ctx: &mut Ctx<'_>,
    req: &Element,
    resp_name: &str,
    ns: &str,
) -> ServiceResult<Element> {
    let me = ctx.target_account().await?;
    let mut wanted = Vec::new();
    for a in req.children_named("ace") {
        wanted.push(user_right(a.req("right")?)?.name());
    }
    let mut resp = response(resp_name, ns);
    for g in grants_of(me.attrs.get_all("zimbraACE")) {
        let user = Right::lookup(&g.right).is_some_and(|r| r.class() == RightClass::User);
        if !user || (!wanted.is_empty() && !wanted.iter().any(|w| w.eq_ignore_ascii_case(&g.right)))
        {
            continue;
        }
        resp.add(ace_element(ctx, &g).await);
    }
    Ok(resp)
}
