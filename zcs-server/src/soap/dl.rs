//! Account-namespace requests on distribution lists a user belongs to or owns:
//! SubscribeDistributionList, GetAccountDistributionLists, GetDistributionList,
//! GetDistributionListMembers and CreateDistributionList here; DistributionListAction
//! (the owners' operations) in `dl/action.rs`.
//!
//! The rules (policies, owners, who may create, which members a user sees) are the
//! directory's (`zcs_directory::provisioning::subscription`); this module reads the
//! request, checks who asks, and writes Zimbra's elements: a list is
//! `<dl id= name= [isOwner="1"] [isMember="1"] [dynamic="1"]>` with `<a n=>` attributes.
//! A subscription waiting for approval is mailed to the owners (`notify_owners`).

mod action;

use zcs_core::{Entry, EntryKind, Flags, ItemId, ServiceError, ServiceResult, folder};
use zcs_directory::provisioning::subscription::{SubscribeOp, SubscribeStatus, is_admin_of};

use super::context::Ctx;
use super::element::Element;
use super::envelope::NS_ACCOUNT;
use super::response;

/// List attributes a user may read (never members, grants or server bookkeeping).
const USER_ATTRS: &[&str] = &[
    "cn",
    "description",
    "displayName",
    "mail",
    "memberURL",
    "zimbraDistributionListSendShareMessageToNewMembers",
    "zimbraDistributionListSubscriptionPolicy",
    "zimbraDistributionListUnsubscriptionPolicy",
    "zimbraHideInGal",
    "zimbraIsACLGroup",
    "zimbraMailAlias",
    "zimbraMailStatus",
    "zimbraNotes",
    "zimbraPrefReplyToAddress",
    "zimbraPrefReplyToDisplay",
    "zimbraPrefReplyToEnabled",
];

/// Answers the requests this module serves; `None` for any other name.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    Some(match name {
        "SubscribeDistributionListRequest" => subscribe(ctx, req).await,
        "GetAccountDistributionListsRequest" => account_lists(ctx, req).await,
        "GetDistributionListRequest" => get_list(ctx, req).await,
        "GetDistributionListMembersRequest" => members(ctx, req).await,
        "CreateDistributionListRequest" => create(ctx, req).await,
        "DistributionListActionRequest" => action::run(ctx, req).await,
        _ => return None,
    })
}

/// The list a request names in `<dl by="name|id">` (either way the key is looked up
/// as an address, alias or id).
fn list_key(req: &Element) -> ServiceResult<String> {
    let key = req
        .child("dl")
        .map(|d| d.text().trim().to_string())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ServiceError::invalid_request("missing required element: dl"))?;
    Ok(key)
}

/// Whether `v` is set to TRUE on `e`.
fn is_true(e: &Entry, name: &str) -> bool {
    e.attrs
        .get(name)
        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
}

/// The caller's account and the list `req` names, refusing a list hidden from the GAL
/// to anyone but its owners, members and domain administrators (as if it did not
/// exist). Returns `(account, list, is_owner)`.
async fn visible_list(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<(Entry, Entry, bool)> {
    let account = ctx.target_account().await?;
    let prov = ctx.svc.prov.clone();
    let key = list_key(req)?;
    let list = prov.get_group(&key).await?;
    let owner = prov.is_list_owner(&list, &account).await?;
    if is_true(&list, "zimbraHideInGal")
        && !owner
        && !is_admin_of(&account, list.domain().unwrap_or_default())
        && !is_member(ctx, &list, &account).await?
    {
        return Err(zcs_core::ServiceError::new(
            zcs_core::FaultCode::NoSuchDistributionList,
            format!("no such distribution list: {key}"),
        ));
    }
    Ok((account, list, owner))
}

/// Whether `account` is a member of `list`, directly or through nesting.
async fn is_member(ctx: &Ctx<'_>, list: &Entry, account: &Entry) -> ServiceResult<bool> {
    Ok(ctx
        .svc
        .prov
        .group_membership(&account.name)
        .await?
        .iter()
        .any(|(l, _)| l.id == list.id))
}

/// `<dl id= name= [dynamic="1"]>` with the user-readable attributes (limited to `only`
/// when given).
pub(super) fn dl_element(list: &Entry, only: Option<&[String]>) -> Element {
    let mut el = Element::new("dl");
    el.set("name", list.name.clone());
    el.set("id", list.id.to_string());
    if list.kind == EntryKind::DynamicGroup {
        el.set_bool("dynamic", true);
    }
    for (name, values) in list.attrs.iter() {
        if !USER_ATTRS.iter().any(|a| a.eq_ignore_ascii_case(name)) {
            continue;
        }
        if let Some(only) = only
            && !only.iter().any(|o| o.eq_ignore_ascii_case(name))
        {
            continue;
        }
        for v in values {
            el.add_a(name, v.clone());
        }
    }
    el
}

/// `<SubscribeDistributionListRequest op="subscribe|unsubscribe"><dl by=>x</dl>`:
/// `status="subscribed|unsubscribed|awaiting_approval"`.
async fn subscribe(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let account = ctx.target_account().await?;
    let op = req
        .attr("op")
        .and_then(SubscribeOp::parse)
        .ok_or_else(|| ServiceError::invalid_request("op must be subscribe or unsubscribe"))?;
    let key = list_key(req)?;
    let prov = ctx.svc.prov.clone();
    let status = prov.subscribe_to_list(&key, &account, op).await?;
    if let SubscribeStatus::AwaitingApproval(owners) = &status {
        let list = prov.get_group(&key).await?;
        notify_owners(ctx, &list, &account, op, owners).await?;
    }
    let mut resp = response("SubscribeDistributionListResponse", NS_ACCOUNT);
    resp.set("status", status.as_str());
    Ok(resp)
}

/// Mails each owner (an account of this server) a request to approve `account`
/// joining or leaving `list`: a plain-text message put in the owner's Inbox. The owner
/// approves with DistributionListAction `acceptSubsReq`.
// LIMITATION: the request goes straight into the owners' Inboxes (no Sieve filters, no
// owner on another server); replying to it does not approve (the spec's "approves by
// replying"): the owner approves through DistributionListAction acceptSubsReq.
async fn notify_owners(
    ctx: &Ctx<'_>,
    list: &Entry,
    account: &Entry,
    op: SubscribeOp,
    owners: &[String],
) -> ServiceResult<()> {
    let clean = |s: &str| s.replace(['\r', '\n'], " ");
    let (verb, what) = match op {
        SubscribeOp::Subscribe => ("subscribe to", "Subscription"),
        SubscribeOp::Unsubscribe => ("unsubscribe from", "Unsubscription"),
    };
    let now = chrono::Utc::now();
    for owner in owners {
        let Ok(o) = ctx.svc.prov.get_account(owner).await else {
            continue;
        };
        let mime = format!(
            "From: {requester}\r\nTo: {owner}\r\nSubject: {what} request for {list}\r\n\
             Date: {date}\r\nMessage-ID: <{id}@{host}>\r\nMIME-Version: 1.0\r\n\
             X-Zimbra-DL-Subscription: {op} {list} {requester}\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\n\
             {requester} asks to {verb} the distribution list {list}.\r\n\r\n\
             As an owner of the list you may accept or reject the request.\r\n",
            requester = clean(&account.name),
            owner = clean(&o.name),
            list = clean(&list.name),
            date = now.to_rfc2822(),
            id = uuid::Uuid::new_v4(),
            host = clean(&ctx.svc.hostname),
            op = op.as_str(),
        );
        let mb = ctx
            .svc
            .store
            .mailbox(o.id)
            .await
            .map_err(super::context::store_fault)?;
        mb.append(
            ItemId(folder::INBOX),
            mime.as_bytes(),
            Flags(0),
            now.timestamp_millis(),
        )
        .await
        .map_err(super::context::store_fault)?;
        ctx.svc.indexer.notify(o.id);
        tracing::info!(list = %list.name, owner = %o.name, op = op.as_str(),
            "subscription request mailed to a list owner");
    }
    Ok(())
}

/// `<GetAccountDistributionListsRequest [ownerOf="0|1"] [memberOf="all|directOnly|none"]
/// [attrs="a,b"]>`: the lists the caller is in (and, with `ownerOf`, owns), each a
/// `dl` with `isMember`, `isOwner`, `via` (the nested list it is reached through) and
/// `d` (display name).
async fn account_lists(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let account = ctx.target_account().await?;
    let prov = ctx.svc.prov.clone();
    let owner_of = req.bool_attr("ownerOf", false)?;
    let member_of = req.attr("memberOf").unwrap_or("directOnly");
    let only: Vec<String> = req
        .attr("attrs")
        .map(|a| {
            a.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut rows: Vec<(Entry, bool, bool, Option<String>)> = Vec::new();
    match member_of.to_ascii_lowercase().as_str() {
        "none" => {}
        m @ ("all" | "directonly") => {
            for (l, via) in prov.group_membership(&account.name).await? {
                if m == "directonly" && via.is_some() {
                    continue;
                }
                rows.push((l, true, false, via));
            }
        }
        other => {
            return Err(ServiceError::invalid_request(format!(
                "invalid memberOf: {other}"
            )));
        }
    }
    if owner_of {
        for l in prov.lists_owned_by(&account).await? {
            match rows.iter_mut().find(|r| r.0.id == l.id) {
                Some(r) => r.2 = true,
                None => rows.push((l, false, true, None)),
            }
        }
    }
    rows.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    let mut resp = response("GetAccountDistributionListsResponse", NS_ACCOUNT);
    for (l, member, owner, via) in &rows {
        let mut el = dl_element(l, Some(&only));
        if let Some(d) = l.attrs.get("displayName") {
            el.set("d", d.to_string());
        }
        if *member {
            el.set_bool("isMember", true);
        }
        if *owner {
            el.set_bool("isOwner", true);
        }
        if let Some(v) = via {
            el.set("via", v.clone());
        }
        resp.add(el);
    }
    Ok(resp)
}

/// `<GetDistributionListRequest [needOwners="1"] [needRights="r1,r2"]><dl by=>x</dl>`:
/// the list's readable attributes, `isOwner`/`isMember`, its owners, and (for owners)
/// the grants of the rights asked for.
async fn get_list(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let (account, list, owner) = visible_list(ctx, req).await?;
    let prov = ctx.svc.prov.clone();
    let mut el = dl_element(&list, None);
    if owner {
        el.set_bool("isOwner", true);
    }
    if is_member(ctx, &list, &account).await? {
        el.set_bool("isMember", true);
    }
    if req.bool_attr("needOwners", false)? {
        let owners = el.add_new("owners");
        for ace in prov.grants("dl", &list.id.to_string()).await? {
            if ace.deny || ace.right != "ownDistList" {
                continue;
            }
            if let Some((ty, id, name)) = grantee_entry(ctx, &ace.grantee_type, &ace.grantee).await
            {
                let o = owners.add_new("owner");
                o.set("type", ty).set("id", id).set("name", name);
            }
        }
    }
    if let Some(rights) = req.attr("needRights").filter(|r| !r.trim().is_empty()) {
        let domain = list.domain().unwrap_or_default().to_string();
        if !owner && !is_admin_of(&account, &domain) {
            return Err(ServiceError::perm_denied(
                "only an owner may read the list's rights",
            ));
        }
        let grants = prov.grants("dl", &list.id.to_string()).await?;
        let rights_el = el.add_new("rights");
        for right in rights.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            let r = rights_el.add_new("right");
            r.set("right", right.to_string());
            for ace in grants
                .iter()
                .filter(|a| !a.deny && a.right.eq_ignore_ascii_case(right))
            {
                let g = r.add_new("grantee");
                g.set("type", ace.grantee_type.clone());
                if let Some((_, id, name)) =
                    grantee_entry(ctx, &ace.grantee_type, &ace.grantee).await
                {
                    g.set("id", id).set("name", name);
                } else if matches!(ace.grantee_type.as_str(), "gst" | "edom") {
                    g.set("name", ace.grantee.clone());
                }
            }
        }
    }
    let mut resp = response("GetDistributionListResponse", NS_ACCOUNT);
    resp.add(el);
    Ok(resp)
}

/// The `(type, id, name)` of a `usr`, `grp` or `dom` grantee stored by id; `None` for
/// other types and for grantees that no longer exist.
async fn grantee_entry(ctx: &Ctx<'_>, ty: &str, id: &str) -> Option<(String, String, String)> {
    let prov = &ctx.svc.prov;
    let e = match ty {
        "usr" => prov.find_account(id).await.ok()??,
        "grp" => prov.find_group(id).await.ok()??,
        "dom" => prov
            .get_domain(&zcs_directory::EntryKey::parse(id))
            .await
            .ok()?,
        _ => return None,
    };
    Some((ty.to_string(), e.id.to_string(), e.name))
}

/// `<GetDistributionListMembersRequest [limit] [offset]><dl>x</dl>`: the members the
/// caller may see, sorted, as `dlm` elements, with `more` and `total`.
///
/// Who may expand (Zimbra's GetDistributionListMembers): a list hidden from the GAL
/// only to its owners (and administrators of its domain), to anyone else, members
/// included, it does not exist (`account.NO_SUCH_DISTRIBUTION_LIST`); any other list to
/// whoever holds `viewDistList` on it (everybody unless the list or its domain grants
/// the right to someone), else `service.PERM_DENIED` (spec 03 §6 idea 36).
async fn members(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let (account, list, owner) = visible_list(ctx, req).await?;
    if is_true(&list, "zimbraHideInGal")
        && !owner
        && !is_admin_of(&account, list.domain().unwrap_or_default())
    {
        return Err(ServiceError::new(
            zcs_core::FaultCode::NoSuchDistributionList,
            format!("no such distribution list: {}", list.name),
        ));
    }
    let mut members = ctx.svc.prov.visible_list_members(&list, &account).await?;
    members.sort_by_key(|m| m.to_lowercase());
    let total = members.len();
    let offset = usize::try_from(req.int_attr("offset", 0)?.max(0)).unwrap_or(0);
    let limit = usize::try_from(req.int_attr("limit", 0)?.max(0)).unwrap_or(0);
    let end = if limit == 0 {
        total
    } else {
        offset.saturating_add(limit).min(total)
    };
    let mut resp = response("GetDistributionListMembersResponse", NS_ACCOUNT);
    resp.set_bool("more", end < total);
    resp.set_num("total", total);
    for m in members.iter().take(end).skip(offset) {
        resp.add_text("dlm", m.clone());
    }
    Ok(resp)
}

/// `<CreateDistributionListRequest [dynamic="0|1"]><name>x</name><a n=>v</a>...`: a new
/// list owned by its creator, who must be allowed to create lists in its domain
/// (`Provisioning::may_create_list`).
async fn create(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let account = ctx.target_account().await?;
    let prov = ctx.svc.prov.clone();
    let name = req.req("name")?.trim().to_string();
    let domain = name
        .rsplit_once('@')
        .map(|(_, d)| d.to_string())
        .ok_or_else(|| ServiceError::invalid_request(format!("invalid list name: {name}")))?;
    if !prov.may_create_list(&account, &domain).await? {
        return Err(ServiceError::perm_denied(format!(
            "cannot create a distribution list in {domain}"
        )));
    }
    let mut attrs = zcs_core::Attrs::new();
    for (n, v) in req.a_pairs() {
        if action::owner_may_set(&n) && !v.trim().is_empty() {
            attrs.add(n.trim_start_matches('+'), v);
        }
    }
    let list = if req.bool_attr("dynamic", false)? {
        prov.create_dynamic_group(&name, attrs).await?
    } else {
        prov.create_distribution_list(&name, attrs).await?
    };
    prov.add_list_owner(&list.id.to_string(), &account.name)
        .await?;
    tracing::info!(list = %list.name, owner = %account.name, "distribution list created by a user");
    let mut resp = response("CreateDistributionListResponse", NS_ACCOUNT);
    resp.add(dl_element(&list, None));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zcs_core::{Attrs, ZimbraId};

    #[test]
    fn list_elements_hide_members_and_grants() {
        let mut a = Attrs::new();
        a.set_one("displayName", "Team");
        a.add("zimbraMailForwardingAddress", "u@x.test");
        a.add("zimbraACE", "x usr ownDistList");
        let l = Entry {
            kind: EntryKind::DistributionList,
            id: ZimbraId::new(),
            name: "team@x.test".into(),
            attrs: a,
        };
        let el = dl_element(&l, None);
        let names: Vec<String> = el.a_pairs().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, vec!["displayName".to_string()]);
        let only = vec!["zimbraNotes".to_string()];
        assert!(dl_element(&l, Some(&only)).a_pairs().is_empty());
        let mut r = Element::new("X");
        r.add_text("dl", " team@x.test ").set("by", "name");
        assert_eq!(list_key(&r).ok().as_deref(), Some("team@x.test"));
        assert!(list_key(&Element::new("X")).is_err());
    }
}
