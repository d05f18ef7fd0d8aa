//! System retention policies (Create/Get/Modify/DeleteSystemRetentionPolicyRequest):
//! named keep or purge lifetimes an administrator defines once for users to pick on
//! their folders. They are kept in the global config's `zimbraMailPurgeSystemPolicy`,
//! as Zimbra does, here as a JSON list. The `policy` elements are in urn:zimbraMail.
//! A lifetime is a number with one unit (`d`, `h`, `m`, `s`, `ms`), as Zimbra's
//! `DateUtil.getTimeInterval` reads it.

use serde::{Deserialize, Serialize};
use zcs_core::{AttrEdit, ServiceError, ServiceResult};

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::{NS_ADMIN, NS_MAIL};
use super::super::response;

/// The global config attribute holding the policies.
const ATTR: &str = "zimbraMailPurgeSystemPolicy";

/// Most policies kept.
const MAX_POLICIES: usize = 500;

/// One system policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Policy {
    id: String,
    name: String,
    lifetime: String,
    /// `keep` or `purge`.
    kind: String,
}

/// Routes the retention policy requests; `None` for other names.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    let known = matches!(
        name,
        "CreateSystemRetentionPolicyRequest"
            | "GetSystemRetentionPolicyRequest"
            | "ModifySystemRetentionPolicyRequest"
            | "DeleteSystemRetentionPolicyRequest"
    );
    if !known {
        return None;
    }
    if let Err(e) = ctx.admin().await {
        return Some(Err(e));
    }
    Some(match name {
        "CreateSystemRetentionPolicyRequest" => create(ctx, req).await,
        "GetSystemRetentionPolicyRequest" => get(ctx).await,
        "ModifySystemRetentionPolicyRequest" => modify(ctx, req).await,
        _ => delete(ctx, req).await,
    })
}

/// Whether `text` is a lifetime Zimbra accepts: digits and at most one unit.
fn valid_lifetime(text: &str) -> bool {
    let t = text.trim();
    let digits = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &t[digits.len()..];
    !digits.is_empty()
        && digits.len() <= 12
        && digits.bytes().all(|b| b.is_ascii_digit())
        && matches!(unit, "" | "d" | "h" | "m" | "s" | "ms")
}

async fn load(ctx: &Ctx<'_>) -> ServiceResult<Vec<Policy>> {
    let global = ctx.svc.prov.global_config().await?;
    Ok(global
        .attrs
        .get(ATTR)
        .and_then(|v| serde_json::from_str(v).ok())
        .unwrap_or_default())
}

async fn save(ctx: &Ctx<'_>, all: &[Policy]) -> ServiceResult<()> {
    let text = serde_json::to_string(all)
        .map_err(|e| ServiceError::failure(format!("cannot write policies: {e}")))?;
    ctx.svc
        .prov
        .modify_global_config(&[AttrEdit::Replace(ATTR.into(), vec![text])])
        .await?;
    Ok(())
}

fn policy_element(p: &Policy) -> Element {
    let mut el = Element::with_ns("policy", NS_MAIL);
    el.set("type", "system");
    el.set("id", p.id.clone());
    el.set("name", p.name.clone());
    el.set("lifetime", p.lifetime.clone());
    el
}

fn one(name: &str, p: &Policy) -> Element {
    let mut resp = response(name, NS_ADMIN);
    resp.add(policy_element(p));
    resp
}

/// CreateSystemRetentionPolicyRequest `keep|purge` / `policy name= lifetime=`.
async fn create(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let (kind, holder) = match (req.child("keep"), req.child("purge")) {
        (Some(k), None) => ("keep", k),
        (None, Some(p)) => ("purge", p),
        _ => {
            return Err(ServiceError::invalid_request(
                "exactly one of keep or purge is required",
            ));
        }
    };
    let spec = holder
        .child("policy")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: policy"))?;
    let name = spec.req("name")?.trim().to_string();
    let lifetime = spec.req("lifetime")?.trim().to_string();
    if name.is_empty() {
        return Err(ServiceError::invalid_request("policy name is empty"));
    }
    if !valid_lifetime(&lifetime) {
        return Err(ServiceError::invalid_request(format!(
            "invalid lifetime: {lifetime}"
        )));
    }
    let mut all = load(ctx).await?;
    if all.iter().any(|p| p.name.eq_ignore_ascii_case(&name)) {
        return Err(ServiceError::invalid_request(format!(
            "a system policy named {name} already exists"
        )));
    }
    if all.len() >= MAX_POLICIES {
        return Err(ServiceError::invalid_request("too many system policies"));
    }
    let p = Policy {
        id: uuid::Uuid::new_v4().to_string(),
        name,
        lifetime,
        kind: kind.into(),
    };
    all.push(p.clone());
    save(ctx, &all).await?;
    Ok(one("CreateSystemRetentionPolicyResponse", &p))
}

async fn get(ctx: &mut Ctx<'_>) -> ServiceResult<Element> {
    let all = load(ctx).await?;
    let mut rp = Element::with_ns("retentionPolicy", NS_MAIL);
    for kind in ["keep", "purge"] {
        let mut holder = Element::new(kind);
        for p in all.iter().filter(|p| p.kind == kind) {
            holder.add(policy_element(p));
        }
        rp.add(holder);
    }
    let mut resp = response("GetSystemRetentionPolicyResponse", NS_ADMIN);
    resp.add(rp);
    Ok(resp)
}

/// The index of the policy a `policy id=|name=` names.
fn find(all: &[Policy], spec: &Element) -> ServiceResult<usize> {
    let id = spec.attr("id").map(str::trim).filter(|s| !s.is_empty());
    let name = spec.attr("name").map(str::trim).filter(|s| !s.is_empty());
    all.iter()
        .position(|p| match (id, name) {
            (Some(i), _) => p.id == i,
            (None, Some(n)) => p.name.eq_ignore_ascii_case(n),
            _ => false,
        })
        .ok_or_else(|| ServiceError::invalid_request("no such system retention policy"))
}

/// ModifySystemRetentionPolicyRequest `policy id= [name=] [lifetime=]`.
async fn modify(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let spec = req
        .child("policy")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: policy"))?;
    let mut all = load(ctx).await?;
    let id = spec.req("id")?.trim().to_string();
    let i = all
        .iter()
        .position(|p| p.id == id)
        .ok_or_else(|| ServiceError::invalid_request("no such system retention policy"))?;
    if let Some(lt) = spec.attr("lifetime") {
        if !valid_lifetime(lt) {
            return Err(ServiceError::invalid_request(format!(
                "invalid lifetime: {lt}"
            )));
        }
        all[i].lifetime = lt.trim().to_string();
    }
    if let Some(n) = spec.attr("name").map(str::trim).filter(|n| !n.is_empty()) {
        if all
            .iter()
            .enumerate()
            .any(|(j, p)| j != i && p.name.eq_ignore_ascii_case(n))
        {
            return Err(ServiceError::invalid_request(format!(
                "a system policy named {n} already exists"
            )));
        }
        all[i].name = n.to_string();
    }
    save(ctx, &all).await?;
    Ok(one("ModifySystemRetentionPolicyResponse", &all[i]))
}

/// DeleteSystemRetentionPolicyRequest `policy id=|name=`.
async fn delete(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let spec = req
        .child("policy")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: policy"))?;
    let mut all = load(ctx).await?;
    let i = find(&all, spec)?;
    all.remove(i);
    save(ctx, &all).await?;
    Ok(response("DeleteSystemRetentionPolicyResponse", NS_ADMIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_take_one_unit() {
        for ok in ["1s", "30d", "2m", "5", "100ms", "24h"] {
            assert!(valid_lifetime(ok), "{ok}");
        }
        for bad in [
            "29h67m", "---2h", "1d25h", "-2h", "asdash", "1209d25m", "", "d",
        ] {
            assert!(!valid_lifetime(bad), "{bad}");
        }
    }
}
