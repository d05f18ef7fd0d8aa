//! Admin requests of the rights engine (GrantRight, RevokeRight, GetGrants, CheckRight,
//! GetEffectiveRights, GetAllEffectiveRights, GetRight, GetAllRights), in Zimbra's
//! element shapes, and the gate that limits a delegated admin
//! (`zimbraIsDelegatedAdminAccount=TRUE`) to what its grants allow.
//!
//! Global admins may do anything. A delegated admin may: grant and revoke what it
//! holds with can-delegate; read its own grants and rights; and run the account,
//! distribution-list, domain and COS requests the [`gate`] knows, each checked against
//! the engine (lists, domains and COS through `RightsEngine::authorize`, the same
//! decision `zmprov` asks for). Every other admin request is refused with
//! `service.PERM_DENIED`.

use zcs_core::{Entry, ServiceError, ServiceResult};
use zcs_directory::rights::{
    AttrRights, EffectiveRights, GrantInfo, GrantSpec, GranteeType, Modifier, RIGHTS, Right,
    RightClass, RightDef, RightKind, Target, TargetType, is_delegated_admin, is_global_admin,
    no_such_right,
};

use super::super::context::Ctx;
use super::super::element::{Element, is_true};
use super::super::envelope::NS_ADMIN;
use super::super::response;

const REQUESTS: &[&str] = &[
    "GrantRightRequest",
    "RevokeRightRequest",
    "GetGrantsRequest",
    "CheckRightRequest",
    "GetEffectiveRightsRequest",
    "GetAllEffectiveRightsRequest",
    "GetRightRequest",
    "GetAllRightsRequest",
];

/// Answers the requests this module serves; `None` for any other name.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    if !REQUESTS.contains(&name) {
        return None;
    }
    Some(serve(ctx, name, req).await)
}

async fn serve(ctx: &mut Ctx<'_>, name: &str, req: &Element) -> ServiceResult<Element> {
    let me = caller(ctx).await?;
    match name {
        "GrantRightRequest" | "RevokeRightRequest" => grant_or_revoke(ctx, &me, name, req).await,
        "GetGrantsRequest" => get_grants(ctx, &me, req).await,
        "CheckRightRequest" => check_right(ctx, &me, req).await,
        "GetEffectiveRightsRequest" => get_effective(ctx, &me, req).await,
        "GetAllEffectiveRightsRequest" => get_all_effective(ctx, &me, req).await,
        "GetRightRequest" => get_right(req),
        _ => get_all_rights(req),
    }
}

/// The caller: a global or delegated admin holding an admin token.
///
/// # Errors
/// The token's faults; `service.PERM_DENIED` for anyone else.
async fn caller(ctx: &mut Ctx<'_>) -> ServiceResult<Entry> {
    let auth = ctx.auth().await?;
    if auth.data.admin && (is_global_admin(&auth.account) || is_delegated_admin(&auth.account)) {
        Ok(auth.account)
    } else {
        Err(ServiceError::perm_denied("need admin token"))
    }
}

fn is_self(me: &Entry, who: &Entry) -> bool {
    me.id == who.id
}

async fn target_of(ctx: &Ctx<'_>, req: &Element) -> ServiceResult<Target> {
    let t = req
        .child("target")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: target"))?;
    let tt = TargetType::parse(t.req("type")?)
        .ok_or_else(|| ServiceError::invalid_request("invalid target type"))?;
    let key = t.text().trim();
    let key = (!tt.is_singleton()).then_some(key);
    ctx.svc.prov.rights().target(tt, key).await
}

/// The `<grantee by=>` account, or the caller when absent.
async fn grantee_account(ctx: &Ctx<'_>, me: &Entry, req: &Element) -> ServiceResult<Entry> {
    match req.child("grantee") {
        Some(g) if !g.text().trim().is_empty() => {
            if let Some(t) = g.attr("type")
                && !t.eq_ignore_ascii_case("usr")
            {
                return Err(ServiceError::invalid_request(
                    "only usr grantees are supported",
                ));
            }
            ctx.svc.prov.get_account(g.text().trim()).await
        }
        _ => Ok(me.clone()),
    }
}

async fn grant_or_revoke(
    ctx: &mut Ctx<'_>,
    me: &Entry,
    name: &str,
    req: &Element,
) -> ServiceResult<Element> {
    let t = req
        .child("target")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: target"))?;
    let g = req
        .child("grantee")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: grantee"))?;
    let r = req
        .child("right")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: right"))?;
    let target_type = TargetType::parse(t.req("type")?)
        .ok_or_else(|| ServiceError::invalid_request("invalid target type"))?;
    let grantee_type = GranteeType::parse(g.req("type")?)
        .ok_or_else(|| ServiceError::invalid_request("invalid grantee type"))?;
    let flag = |n: &str| r.attr(n).is_some_and(is_true);
    let modifier = if flag("deny") {
        Modifier::Deny
    } else if flag("canDelegate") {
        Modifier::CanDelegate
    } else if flag("disinheritSubGroups") {
        Modifier::DisinheritSubGroups
    } else if flag("subDomain") {
        Modifier::SubDomain
    } else {
        Modifier::None
    };
    let spec = GrantSpec {
        target_type,
        target: Some(t.text().trim().to_string()),
        grantee_type,
        grantee: g.text().trim().to_string(),
        right: r.text().trim().to_string(),
        modifier,
        secret: g
            .attr("secret")
            .or_else(|| g.attr("pw"))
            .map(str::to_string),
    };
    let granter = (!is_global_admin(me)).then_some(me);
    let engine = ctx.svc.prov.rights();
    if name == "GrantRightRequest" {
        engine.grant_right(granter, &spec).await?;
        Ok(response("GrantRightResponse", NS_ADMIN))
    } else {
        engine.revoke_right(granter, &spec).await?;
        Ok(response("RevokeRightResponse", NS_ADMIN))
    }
}

fn grant_element(g: &GrantInfo) -> Element {
    let mut el = Element::new("grant");
    let t = el.add_new("target");
    t.set("type", g.target_type.code());
    t.set("id", g.target_id.clone());
    t.set("name", g.target_name.clone());
    let ge = el.add_new("grantee");
    ge.set("type", g.grant.grantee_type.code());
    ge.set("id", g.grant.grantee.clone());
    ge.set("name", g.grantee_name.clone());
    let r = el.add_new("right");
    let m = g.grant.modifier;
    r.set_bool("deny", m == Modifier::Deny);
    r.set_bool("canDelegate", m == Modifier::CanDelegate);
    r.set_bool("disinheritSubGroups", m == Modifier::DisinheritSubGroups);
    r.set_bool("subDomain", m == Modifier::SubDomain);
    r.set_text(g.grant.right.clone());
    el
}

/// GetGrantsRequest `<target>` and/or `<grantee all="0|1">`. A delegated admin sees
/// grants to itself, or the grants on a target it holds `viewGrants` on.
async fn get_grants(ctx: &mut Ctx<'_>, me: &Entry, req: &Element) -> ServiceResult<Element> {
    let engine = ctx.svc.prov.rights();
    let grantee = match req.child("grantee") {
        Some(g) => {
            let gt = GranteeType::parse(g.req("type")?)
                .ok_or_else(|| ServiceError::invalid_request("invalid grantee type"))?;
            let all = g.bool_attr("all", false)?;
            Some((gt, g.text().trim().to_string(), all))
        }
        None => None,
    };
    if !is_global_admin(me) {
        let own = match &grantee {
            Some((GranteeType::Usr, n, _)) => ctx
                .svc
                .prov
                .find_account(n)
                .await?
                .is_some_and(|a| is_self(me, &a)),
            _ => false,
        };
        let on = match req.child("target") {
            Some(_) => target_of(ctx, req).await?,
            None => engine.target(TargetType::Global, None).await?,
        };
        if !own && !engine.check_right(me, &on, "viewGrants").await?.allowed {
            return Err(ServiceError::perm_denied(
                "need viewGrants to read these grants",
            ));
        }
    }
    let mut grants = match (req.child("target"), &grantee) {
        (Some(_), _) => engine.grants_on(&target_of(ctx, req).await?).await?,
        (None, Some((gt, n, all))) => engine.grants_to(*gt, n, *all).await?,
        (None, None) => {
            return Err(ServiceError::invalid_request("need a target or a grantee"));
        }
    };
    if let (Some(_), Some((gt, n, all))) = (req.child("target"), &grantee) {
        let theirs = engine.grants_to(*gt, n, *all).await?;
        grants.retain(|g| theirs.contains(g));
    }
    let mut resp = response("GetGrantsResponse", NS_ADMIN);
    for g in &grants {
        resp.add(grant_element(g));
    }
    Ok(resp)
}

/// CheckRightRequest: `<CheckRightResponse allow="1"><via>...</via>`.
async fn check_right(ctx: &mut Ctx<'_>, me: &Entry, req: &Element) -> ServiceResult<Element> {
    let who = grantee_account(ctx, me, req).await?;
    if !is_global_admin(me) && !is_self(me, &who) {
        return Err(ServiceError::perm_denied("may check only its own rights"));
    }
    let target = target_of(ctx, req).await?;
    let right = req.req("right")?.trim().to_string();
    let engine = ctx.svc.prov.rights();
    let d = engine.check_right(&who, &target, &right).await?;
    let mut resp = response("CheckRightResponse", NS_ADMIN);
    resp.set_bool("allow", d.allowed);
    if let Some(via) = d.via {
        let gname = engine.grantee_name(&via.grant).await?;
        let v = resp.add_new("via");
        v.add_text("target", via.target_name)
            .set("type", via.target_type.code());
        v.add_text("grantee", gname)
            .set("type", via.grant.grantee_type.code());
        v.add_text("right", via.grant.right.clone())
            .set_bool("deny", via.grant.is_deny());
    }
    Ok(resp)
}

fn attrs_element(name: &str, a: &AttrRights, expand: bool) -> Element {
    let mut el = Element::new(name);
    if a.all {
        el.set_bool("all", true);
    }
    if !a.all || expand {
        for n in &a.attrs {
            el.add_new("a").set("n", n.clone());
        }
    }
    el
}

fn fill_rights(el: &mut Element, e: &EffectiveRights, req: &Element) {
    let expand = req.attr("expandAllAttrs").unwrap_or("");
    for r in &e.preset {
        el.add_new("right").set("n", r.clone());
    }
    el.add(attrs_element(
        "setAttrs",
        &e.set_attrs,
        expand.contains("setAttrs"),
    ));
    el.add(attrs_element(
        "getAttrs",
        &e.get_attrs,
        expand.contains("getAttrs"),
    ));
}

/// GetEffectiveRightsRequest: `<grantee id name/><target type id name>` with the
/// preset `right n=` children and `setAttrs` / `getAttrs`.
async fn get_effective(ctx: &mut Ctx<'_>, me: &Entry, req: &Element) -> ServiceResult<Element> {
    let who = grantee_account(ctx, me, req).await?;
    if !is_global_admin(me) && !is_self(me, &who) {
        return Err(ServiceError::perm_denied("may read only its own rights"));
    }
    let target = target_of(ctx, req).await?;
    let e = ctx
        .svc
        .prov
        .rights()
        .effective_rights(&who, &target)
        .await?;
    let mut resp = response("GetEffectiveRightsResponse", NS_ADMIN);
    resp.add_new("grantee")
        .set("id", who.id.to_string())
        .set("name", who.name.clone());
    let t = resp.add_new("target");
    t.set("type", e.target_type.code());
    t.set("id", e.target_id.clone());
    t.set("name", e.target_name.clone());
    fill_rights(t, &e, req);
    Ok(resp)
}

/// GetAllEffectiveRightsRequest: per target type, `<all>` for global grants and
/// `<entries><entry name=/>...<rights>...</rights></entries>` for the rest.
async fn get_all_effective(ctx: &mut Ctx<'_>, me: &Entry, req: &Element) -> ServiceResult<Element> {
    let who = grantee_account(ctx, me, req).await?;
    if !is_global_admin(me) && !is_self(me, &who) {
        return Err(ServiceError::perm_denied("may read only its own rights"));
    }
    let all = ctx.svc.prov.rights().all_effective_rights(&who).await?;
    let mut resp = response("GetAllEffectiveRightsResponse", NS_ADMIN);
    resp.add_new("grantee")
        .set("type", "usr")
        .set("id", who.id.to_string())
        .set("name", who.name.clone());
    for tt in TargetType::ALL {
        let mine: Vec<&EffectiveRights> = all.iter().filter(|e| e.target_type == *tt).collect();
        if mine.is_empty() {
            continue;
        }
        let t = resp.add_new("target");
        t.set("type", tt.code());
        for e in mine {
            if *tt == TargetType::Global {
                t.set_bool("all", true);
                fill_rights(t.add_new("all"), e, req);
                continue;
            }
            let entries = t.add_new("entries");
            entries.add_new("entry").set("name", e.target_name.clone());
            fill_rights(entries.add_new("rights"), e, req);
        }
    }
    Ok(resp)
}

fn right_element(d: &'static RightDef) -> Element {
    let r = Right::Def(d);
    let targets: Vec<&str> = r.target_types().iter().map(|t| t.code()).collect();
    let mut el = Element::new("right");
    el.set("name", d.name);
    el.set("type", d.kind.code());
    el.set("targetType", targets.join(","));
    el.set("rightClass", d.class.code());
    el.add_text("desc", d.desc);
    match d.kind {
        RightKind::GetAttrs | RightKind::SetAttrs => {
            let a = el.add_new("attrs");
            if d.attrs.is_empty() {
                a.set_bool("all", true);
            }
            for n in d.attrs {
                a.add_new("a").set("n", *n);
            }
        }
        RightKind::Combo => {
            let rs = el.add_new("rights");
            for m in d.members {
                let mut me = Element::new("r");
                me.set("n", *m);
                if let Some(Right::Def(md)) = Right::lookup(m) {
                    me.set("type", md.kind.code());
                    if let Some(t) = md.target {
                        me.set("targetType", t.code());
                    }
                }
                rs.add(me);
            }
        }
        RightKind::Preset => {}
    }
    el
}

/// GetRightRequest `<right>name</right>`.
fn get_right(req: &Element) -> ServiceResult<Element> {
    let name = req.req("right")?.trim();
    let mut resp = response("GetRightResponse", NS_ADMIN);
    match Right::lookup(name) {
        Some(Right::Def(d)) => {
            resp.add(right_element(d));
        }
        Some(inline) => {
            let el = resp.add_new("right");
            el.set("name", inline.name());
            el.set("type", inline.kind().code());
            el.set("rightClass", "ADMIN");
        }
        None => return Err(no_such_right(name)),
    }
    Ok(resp)
}

/// GetAllRightsRequest `targetType=` `rightClass=ALL|ADMIN|USER`.
fn get_all_rights(req: &Element) -> ServiceResult<Element> {
    let tt = match req.attr("targetType").filter(|s| !s.is_empty()) {
        Some(t) => Some(
            TargetType::parse(t)
                .ok_or_else(|| ServiceError::invalid_request("invalid target type"))?,
        ),
        None => None,
    };
    let class = match req
        .attr("rightClass")
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("ALL") => None,
        Some("ADMIN") => Some(RightClass::Admin),
        Some("USER") => Some(RightClass::User),
        Some(_) => return Err(ServiceError::invalid_request("invalid rightClass")),
    };
    let mut resp = response("GetAllRightsResponse", NS_ADMIN);
    for d in RIGHTS {
        if class.is_some_and(|c| c != d.class) {
            continue;
        }
        if tt.is_some_and(|t| !Right::Def(d).target_types().contains(&t)) {
            continue;
        }
        resp.add(right_element(d));
    }
    Ok(resp)
}

mod gate;
pub(crate) use gate::{Gate, filter, gate};
