//! `DistributionListActionRequest`: what an owner (or an administrator of the list's
//! domain) does to a list from the user API: `delete`, `modify`, `rename`,
//! `addMembers`, `removeMembers`, `addOwners`, `removeOwners`, `setOwners`,
//! `grantRights`, `revokeRights`, `setRights`, `acceptSubsReq`, `rejectSubsReq`,
//! `addAlias`, `removeAlias`. Anyone else gets `service.PERM_DENIED` (spec 03 §6 32).
//!
//! Owners are `ownDistList` grants on the list; rights an owner may hand out are
//! `sendToDistList` and `viewDistList`.

use zcs_core::{AttrEdit, Entry, ServiceError, ServiceResult};
use zcs_directory::provisioning::is_group;
use zcs_directory::provisioning::subscription::is_admin_of;

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::NS_ACCOUNT;
use super::super::response;
use super::list_key;

/// Attributes an owner may never set: membership, grants, identity, and anything that
/// would give the list's members administrator powers.
const OWNER_DENIED: &[&str] = &[
    "mail",
    "memberURL",
    "objectClass",
    "uid",
    "zimbraACE",
    "zimbraAdminConsoleUIComponents",
    "zimbraCreateTimestamp",
    "zimbraId",
    "zimbraIsACLGroup",
    "zimbraIsAdminGroup",
    "zimbraMailAlias",
    "zimbraMailForwardingAddress",
    "zimbraMailHost",
];

/// The rights an owner may grant on a list.
const OWNER_RIGHTS: &[&str] = &["sendToDistList", "viewDistList"];

/// Whether an owner may set the attribute `name` (a leading `+`/`-` is ignored).
pub(super) fn owner_may_set(name: &str) -> bool {
    let n = name.trim_start_matches(['+', '-']);
    !n.is_empty() && !OWNER_DENIED.iter().any(|d| d.eq_ignore_ascii_case(n))
}

/// Runs one `<action op=...>` on the list `<dl by=>` names.
pub(super) async fn run(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let account = ctx.target_account().await?;
    let prov = ctx.svc.prov.clone();
    let list = prov.get_group(&list_key(req)?).await?;
    let domain = list.domain().unwrap_or_default().to_string();
    if !is_admin_of(&account, &domain) && !prov.is_list_owner(&list, &account).await? {
        return Err(ServiceError::perm_denied(format!(
            "only an owner may change {}",
            list.name
        )));
    }
    let action = req
        .child("action")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: action"))?;
    let op = action.req("op")?.to_string();
    let key = list.id.to_string();
    match op.as_str() {
        "delete" => prov.delete_group(&key).await?,
        "modify" => {
            let mut args = Vec::new();
            for (n, v) in action.a_pairs() {
                if !owner_may_set(&n) {
                    return Err(ServiceError::perm_denied(format!(
                        "an owner cannot set {n}"
                    )));
                }
                args.push(n);
                args.push(v);
            }
            let edits = AttrEdit::parse_pairs(&args).map_err(ServiceError::invalid_request)?;
            prov.modify_group(&key, &edits).await?;
        }
        "rename" => {
            let new_name = action.req("newName")?.trim().to_string();
            let new_domain = new_name.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
            if !new_domain.eq_ignore_ascii_case(&domain)
                && !new_domain.is_empty()
                && prov
                    .get_domain(&zcs_directory::EntryKey::Name(new_domain.into()))
                    .await
                    .is_ok()
                && !prov.may_create_list(&account, new_domain).await?
            {
                return Err(ServiceError::perm_denied(format!(
                    "cannot move a list into {new_domain}"
                )));
            }
            prov.rename_group(&key, &new_name).await?;
        }
        "addMembers" => prov.add_group_members(&key, &texts(action, "dlm")).await?,
        "removeMembers" => {
            prov.remove_group_members(&key, &texts(action, "dlm"))
                .await?;
        }
        "addOwners" | "removeOwners" | "setOwners" => owners(ctx, &list, action, &op).await?,
        "grantRights" | "revokeRights" | "setRights" => rights(ctx, &list, action, &op).await?,
        "acceptSubsReq" | "rejectSubsReq" => {
            let sub = action.child("subsReq").ok_or_else(|| {
                ServiceError::invalid_request("missing required element: subsReq")
            })?;
            let who = sub.text().trim().to_string();
            let subscribe = sub.attr("op").unwrap_or("subscribe") != "unsubscribe";
            if op == "acceptSubsReq" {
                if subscribe {
                    prov.add_group_members(&key, std::slice::from_ref(&who))
                        .await?;
                } else {
                    prov.remove_group_members(&key, std::slice::from_ref(&who))
                        .await?;
                }
            }
            tracing::info!(list = %list.name, owner = %account.name, op = %op, subscribe,
                "subscription request answered");
        }
        "addAlias" => {
            prov.add_group_alias(&key, action.req("alias")?.trim())
                .await?
        }
        "removeAlias" => {
            prov.remove_group_alias(&key, action.req("alias")?.trim())
                .await?;
        }
        other => {
            return Err(ServiceError::invalid_request(format!(
                "unknown operation: {other}"
            )));
        }
    }
    tracing::info!(list = %list.name, by = %account.name, op = %op, "distribution list action");
    Ok(response("DistributionListActionResponse", NS_ACCOUNT))
}

/// The trimmed, non-empty texts of the `name` children.
fn texts(el: &Element, name: &str) -> Vec<String> {
    el.children_named(name)
        .map(|c| c.text().trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

/// `<owner type="usr|grp" by="name|id">x</owner>`: add, remove or replace owners.
async fn owners(ctx: &Ctx<'_>, list: &Entry, action: &Element, op: &str) -> ServiceResult<()> {
    let prov = &ctx.svc.prov;
    let key = list.id.to_string();
    let mut wanted = Vec::new();
    for o in action.children_named("owner") {
        let ty = o.attr("type").unwrap_or("usr").to_ascii_lowercase();
        if ty != "usr" && ty != "grp" {
            return Err(ServiceError::invalid_request(format!(
                "invalid owner type: {ty}"
            )));
        }
        let who = o.text().trim().to_string();
        if !who.is_empty() {
            wanted.push((ty, who));
        }
    }
    if op == "setOwners" {
        for ace in prov.grants("dl", &key).await? {
            if ace.right == "ownDistList"
                && !ace.deny
                && (ace.grantee_type == "usr" || ace.grantee_type == "grp")
            {
                prov.revoke_right(
                    "dl",
                    &key,
                    &ace.grantee_type,
                    &ace.grantee,
                    "ownDistList",
                    false,
                )
                .await?;
            }
        }
    }
    for (ty, who) in &wanted {
        if op == "removeOwners" {
            prov.revoke_right("dl", &key, ty, who, "ownDistList", false)
                .await?;
        } else {
            prov.grant_right("dl", &key, ty, who, "ownDistList", false)
                .await?;
        }
    }
    Ok(())
}

/// `<right right="sendToDistList"><grantee type="usr|grp|email|dom|edom|all|pub|gst"
/// by="name|id">x</grantee>...</right>`: grant, revoke, or (setRights) make the
/// grantees given the only ones holding the right.
async fn rights(ctx: &Ctx<'_>, list: &Entry, action: &Element, op: &str) -> ServiceResult<()> {
    let prov = &ctx.svc.prov;
    let key = list.id.to_string();
    for r in action.children_named("right") {
        let right_name = r.req("right")?;
        let right = OWNER_RIGHTS
            .iter()
            .find(|x| x.eq_ignore_ascii_case(right_name))
            .ok_or_else(|| {
                ServiceError::perm_denied(format!("an owner cannot grant {right_name}"))
            })?;
        if op == "setRights" {
            for ace in prov.grants("dl", &key).await? {
                if ace.right.eq_ignore_ascii_case(right) && !ace.deny {
                    prov.revoke_right("dl", &key, &ace.grantee_type, &ace.grantee, right, false)
                        .await?;
                }
            }
        }
        for g in r.children_named("grantee") {
            let (ty, who) = grantee_of(ctx, g).await?;
            if op == "revokeRights" {
                prov.revoke_right("dl", &key, &ty, &who, right, false)
                    .await?;
            } else {
                prov.grant_right("dl", &key, &ty, &who, right, false)
                    .await?;
            }
        }
    }
    Ok(())
}

/// The stored grantee type and name of a `<grantee>`: `email` becomes `usr` for an
/// account, `grp` for a list, `gst` for any other address.
async fn grantee_of(ctx: &Ctx<'_>, g: &Element) -> ServiceResult<(String, String)> {
    let ty = g.attr("type").unwrap_or("usr").to_ascii_lowercase();
    let who = g.text().trim().to_string();
    if ty != "email" {
        return Ok((ty, who));
    }
    let prov = &ctx.svc.prov;
    if prov.find_account(&who).await?.is_some() {
        return Ok(("usr".into(), who));
    }
    if prov.find_group(&who).await?.is_some_and(|e| is_group(&e)) {
        return Ok(("grp".into(), who));
    }
    Ok(("gst".into(), who))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_cannot_set_powers_or_members() {
        assert!(owner_may_set("displayName"));
        assert!(owner_may_set("zimbraDistributionListSubscriptionPolicy"));
        assert!(!owner_may_set("zimbraIsAdminGroup"));
        assert!(!owner_may_set("+zimbraMailForwardingAddress"));
        assert!(!owner_may_set("ZIMBRAACE"));
        assert!(!owner_may_set("-"));
    }

    #[test]
    fn texts_skip_blanks() {
        let mut a = Element::new("action");
        a.add_text("dlm", " a@x.test ");
        a.add_text("dlm", "");
        assert_eq!(texts(&a, "dlm"), vec!["a@x.test".to_string()]);
    }
}
