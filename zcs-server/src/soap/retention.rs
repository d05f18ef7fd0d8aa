//! urn:zimbraMail folder retention policies and the dumpster, over the store's
//! [`RetentionPolicy`] and dumpster calls: `FolderAction op=retentionpolicy`, the
//! `<retentionPolicy>` element of a folder in GetFolder, the mail-side
//! GetSystemRetentionPolicyRequest (read from the global config the admin side writes),
//! `SearchRequest inDumpster="1"` and `ItemAction op=recover|dumpsterdelete` for
//! messages, contacts, appointments, tasks and documents alike. A user sees and acts on
//! the dumpster items deleted within `zimbraDumpsterUserVisibleAge` only; admins on all.

use serde::Deserialize;
use zcs_core::{FaultCode, ItemId, ItemKind, ServiceError, ServiceResult};
use zcs_store::{Mailbox, Policy, PolicyKind, RetentionPolicy};

use super::context::{Ctx, store_fault};
use super::element::{AttrKind, Element};
use super::envelope::NS_MAIL;
use super::folders::parse_ids;
use super::response;

/// The global config attribute the admin side keeps system policies in (a JSON list).
const SYSTEM_ATTR: &str = "zimbraMailPurgeSystemPolicy";

/// Routes the requests this module answers ahead of the folder, search and item
/// handlers: GetSystemRetentionPolicy, a dumpster SearchRequest and the dumpster
/// ItemAction operations. `None` for anything else.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    let ours = match name {
        "GetSystemRetentionPolicyRequest" => true,
        "SearchRequest" => req.attr("inDumpster").is_some_and(super::element::is_true),
        "ItemActionRequest" => req
            .child("action")
            .and_then(|a| a.attr("op"))
            .is_some_and(|op| matches!(op, "recover" | "dumpsterdelete")),
        _ => false,
    };
    if !ours {
        return None;
    }
    if name == "GetSystemRetentionPolicyRequest" {
        return Some(system_policies(ctx).await);
    }
    let mb = match ctx.mailbox().await {
        Ok(mb) => mb,
        Err(e) => return Some(Err(e)),
    };
    let since = match visible_since(ctx).await {
        Ok(s) => s,
        Err(e) => return Some(Err(e)),
    };
    let result = if name == "SearchRequest" {
        search_dumpster(&mb, req, since).await
    } else {
        dumpster_action(ctx, &mb, req, since).await
    };
    ctx.note_change(&mb).await;
    Some(result)
}

/// Zimbra's default `zimbraDumpsterUserVisibleAge`.
const DEFAULT_VISIBLE_AGE: &str = "30d";

/// The oldest delete time (ms) of the dumpster items the caller may see and act on:
/// a user sees those deleted within the account's effective
/// `zimbraDumpsterUserVisibleAge` (default 30 days); a global admin (an admin token of
/// an admin account) sees every item, `None`.
///
/// # Errors
/// As [`Ctx::target_account`]; a value that is not a duration counts as the default.
async fn visible_since(ctx: &mut Ctx<'_>) -> ServiceResult<Option<i64>> {
    let auth = ctx.auth().await?;
    if auth.data.admin && super::context::is_admin(&auth.account) {
        return Ok(None);
    }
    let account = ctx.target_account().await?;
    let inherited = ctx.svc.prov.account_context(&account).await?;
    let age = inherited
        .scope()
        .get("zimbraDumpsterUserVisibleAge")
        .into_iter()
        .next()
        .and_then(|v| zcs_core::attrs::value::parse_duration_ms(&v).ok())
        .or_else(|| zcs_core::attrs::value::parse_duration_ms(DEFAULT_VISIBLE_AGE).ok())
        .unwrap_or(0);
    let now = chrono::Utc::now().timestamp_millis();
    Ok(Some(
        now.saturating_sub(i64::try_from(age).unwrap_or(i64::MAX)),
    ))
}

/// Whether an item deleted at `deleted_ms` is within the caller's window `since`.
fn visible(deleted_ms: i64, since: Option<i64>) -> bool {
    since.is_none_or(|s| deleted_ms >= s)
}

/// Reads one `policy` element (`type="user" lifetime=` or `type="system" id=`).
fn parse_policy(el: &Element) -> ServiceResult<Policy> {
    let text = |n: &str| el.attr(n).unwrap_or("").trim().to_string();
    let kind = match el.attr("type").unwrap_or("user") {
        "user" => PolicyKind::User,
        "system" => PolicyKind::System,
        other => {
            return Err(ServiceError::invalid_request(format!(
                "unknown retention policy type: {other}"
            )));
        }
    };
    Ok(Policy {
        kind,
        id: text("id"),
        name: text("name"),
        lifetime: text("lifetime"),
    })
}

/// Reads a `retentionPolicy` element: `keep` and `purge`, each a list of `policy`.
///
/// # Errors
/// `service.INVALID_REQUEST` for an unknown policy type.
pub(crate) fn parse_retention(el: &Element) -> ServiceResult<RetentionPolicy> {
    let list = |name: &str| -> ServiceResult<Vec<Policy>> {
        el.child(name)
            .map(|h| h.children_named("policy").map(parse_policy).collect())
            .unwrap_or_else(|| Ok(Vec::new()))
    };
    Ok(RetentionPolicy {
        keep: list("keep")?,
        purge: list("purge")?,
    })
}

/// The `retentionPolicy` element for `p`, in Zimbra's shape.
pub(crate) fn retention_element(p: &RetentionPolicy) -> Element {
    let mut el = Element::with_ns("retentionPolicy", NS_MAIL);
    for (name, list) in [("keep", &p.keep), ("purge", &p.purge)] {
        let holder = el.add_new(name);
        for one in list {
            let pe = holder.add_new("policy");
            match one.kind {
                PolicyKind::User => {
                    pe.set("type", "user");
                    pe.set("lifetime", one.lifetime.clone());
                }
                PolicyKind::System => {
                    pe.set("type", "system");
                    pe.set("id", one.id.clone());
                    if !one.lifetime.is_empty() {
                        pe.set("lifetime", one.lifetime.clone());
                    }
                }
            }
            if !one.name.is_empty() {
                pe.set("name", one.name.clone());
            }
        }
    }
    el
}

/// `FolderAction op=retentionpolicy`: sets folder `folder`'s policy from the action's
/// `retentionPolicy` child; an empty one clears it.
///
/// # Errors
/// `service.INVALID_REQUEST` without a `retentionPolicy` or for a bad lifetime;
/// `mail.NO_SUCH_FOLDER`.
pub(crate) async fn set_policy(
    mb: &Mailbox,
    folder: ItemId,
    action: &Element,
) -> ServiceResult<()> {
    let el = action.child("retentionPolicy").ok_or_else(|| {
        ServiceError::invalid_request("missing required element: retentionPolicy")
    })?;
    let policy = parse_retention(el)?;
    mb.set_retention_policy(folder, &policy)
        .await
        .map_err(store_fault)
}

/// Adds a `retentionPolicy` child to every `folder` element of `tree` whose folder has
/// a policy (GetFolder, CreateFolder).
///
/// # Errors
/// Store faults.
pub(crate) async fn annotate(ctx: &Ctx<'_>, mb: &Mailbox, tree: &mut Element) -> ServiceResult<()> {
    let mut all = mb.retention_policies().await.map_err(store_fault)?;
    if all.iter().all(|(_, p)| p.is_empty()) {
        return Ok(());
    }
    // A system policy shows the name and lifetime the administrator gave it.
    let system = load_system(ctx).await?;
    for (_, p) in all.iter_mut() {
        for one in p.keep.iter_mut().chain(p.purge.iter_mut()) {
            if one.kind == PolicyKind::System
                && let Some(s) = system.iter().find(|s| s.id == one.id)
            {
                one.name = s.name.clone();
                one.lifetime = s.lifetime.clone();
            }
        }
    }
    fn walk(el: &mut Element, all: &[(ItemId, RetentionPolicy)]) {
        if el.name == "folder"
            && let Some(id) = el.attr("id").and_then(|i| i.parse::<i32>().ok())
            && let Some((_, p)) = all.iter().find(|(f, p)| f.0 == id && !p.is_empty())
        {
            // Zimbra puts the policy before the subfolders.
            el.children.insert(0, retention_element(p));
        }
        for c in el.children.iter_mut() {
            walk(c, all);
        }
    }
    walk(tree, &all);
    Ok(())
}

/// One system policy as the admin side stores it.
#[derive(Deserialize)]
struct SystemPolicy {
    id: String,
    name: String,
    lifetime: String,
    kind: String,
}

/// The system policies from the global config (none when unset or unreadable).
async fn load_system(ctx: &Ctx<'_>) -> ServiceResult<Vec<SystemPolicy>> {
    let global = ctx.svc.prov.global_config().await?;
    Ok(global
        .attrs
        .get(SYSTEM_ATTR)
        .and_then(|v| serde_json::from_str(v).ok())
        .unwrap_or_default())
}

/// GetSystemRetentionPolicyRequest (urn:zimbraMail): the administrator's named
/// policies, any user may read them to pick one for a folder.
async fn system_policies(ctx: &Ctx<'_>) -> ServiceResult<Element> {
    let all = load_system(ctx).await?;
    let mut resp = response("GetSystemRetentionPolicyResponse", NS_MAIL);
    let rp = resp.add_new("retentionPolicy");
    for kind in ["keep", "purge"] {
        let holder = rp.add_new(kind);
        for p in all.iter().filter(|p| p.kind == kind) {
            holder
                .add_new("policy")
                .set("type", "system")
                .set("id", p.id.clone())
                .set("name", p.name.clone())
                .set("lifetime", p.lifetime.clone());
        }
    }
    Ok(resp)
}

/// Which kinds a SearchRequest `types` list asks for: (messages, other item kinds).
fn wanted(types: &str) -> (bool, Vec<ItemKind>) {
    let mut msgs = false;
    let mut kinds = Vec::new();
    for t in types.split(',').map(str::trim) {
        match t {
            "message" | "conversation" => msgs = true,
            "contact" => kinds.push(ItemKind::Contact),
            "appointment" => kinds.push(ItemKind::Appointment),
            "task" => kinds.push(ItemKind::Task),
            "document" => kinds.push(ItemKind::Document),
            _ => {}
        }
    }
    (msgs, kinds)
}

/// The hit element name for a dumpster item of `kind`.
fn hit_name(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Contact => "cn",
        ItemKind::Appointment => "appt",
        ItemKind::Task => "task",
        _ => "doc",
    }
}

/// `SearchRequest inDumpster="1" [types=] [limit=] [offset=]`: the dumpster's items of
/// the asked kinds deleted since `since` (see [`visible_since`]), most recently deleted
/// first, each with the folder it left (`l`).
async fn search_dumpster(
    mb: &Mailbox,
    req: &Element,
    since: Option<i64>,
) -> ServiceResult<Element> {
    let (msgs, kinds) = wanted(req.attr("types").unwrap_or("conversation"));
    let limit = req.int_attr("limit", 100)?.clamp(1, 1000) as usize;
    let offset = req.int_attr("offset", 0)?.max(0) as usize;
    // (deleted change, hit) so both lists merge in delete order.
    let mut hits: Vec<(i64, Element)> = Vec::new();
    if msgs {
        for d in mb.dumpster_items().await.map_err(store_fault)? {
            if !visible(d.deleted_ms, since) {
                continue;
            }
            let mut m = Element::new("m");
            m.set("id", d.id.0.to_string());
            m.set("l", d.folder.0.to_string());
            m.set_num("s", d.size);
            m.set_num("d", d.date_ms);
            m.add_new("e").set("t", "f").set("a", d.sender.clone());
            m.set_content("su", d.subject.clone(), AttrKind::Str);
            hits.push((d.deleted_change, m));
        }
    }
    if !kinds.is_empty() {
        for e in mb.dumpster_entries().await.map_err(store_fault)? {
            if !kinds.contains(&e.kind) || !visible(e.deleted_ms, since) {
                continue;
            }
            let mut el = Element::new(hit_name(e.kind));
            el.set("id", e.id.0.to_string());
            el.set("l", e.folder.0.to_string());
            if e.kind == ItemKind::Contact {
                el.set("fileAsStr", e.name.clone());
            } else {
                el.set("name", e.name.clone());
            }
            hits.push((e.deleted_change, el));
        }
    }
    hits.sort_by_key(|h| std::cmp::Reverse(h.0));
    let total = hits.len();
    // LIMITATION: the query text is not applied to dumpster hits; every item of the
    // asked kinds is listed.
    let mut resp = response("SearchResponse", NS_MAIL);
    resp.set("sortBy", "dateDesc");
    resp.set_num("offset", offset);
    resp.set_bool("more", offset + limit < total);
    for (_, h) in hits.into_iter().skip(offset).take(limit) {
        resp.add(h);
    }
    Ok(resp)
}

/// `ItemAction op=recover [l=]` and `op=dumpsterdelete` on dumpster ids: messages
/// and other items alike. Ids not in the dumpster, or deleted before `since` (outside
/// the user's visible window), are `mail.NO_SUCH_ITEM`.
async fn dumpster_action(
    ctx: &Ctx<'_>,
    mb: &Mailbox,
    req: &Element,
    since: Option<i64>,
) -> ServiceResult<Element> {
    let a = req
        .child("action")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: action"))?;
    let id_text = a.req("id")?.to_string();
    let op = a.req("op")?.to_string();
    let ids = parse_ids(&id_text, FaultCode::NoSuchItem)?;
    let msgs: Vec<ItemId> = mb
        .dumpster_items()
        .await
        .map_err(store_fault)?
        .into_iter()
        .filter(|d| visible(d.deleted_ms, since))
        .map(|d| d.id)
        .filter(|id| ids.contains(id))
        .collect();
    let others: Vec<ItemId> = mb
        .dumpster_entries()
        .await
        .map_err(store_fault)?
        .into_iter()
        .filter(|e| visible(e.deleted_ms, since))
        .map(|e| e.id)
        .filter(|id| ids.contains(id))
        .collect();
    if let Some(missing) = ids
        .iter()
        .find(|id| !msgs.contains(id) && !others.contains(id))
    {
        return Err(ServiceError::new(
            FaultCode::NoSuchItem,
            format!("no such item in the dumpster: {}", missing.0),
        ));
    }
    if op == "recover" {
        let to = a
            .attr("l")
            .map(|l| super::folders::parse_id(l, FaultCode::NoSuchFolder))
            .transpose()?;
        if !msgs.is_empty() {
            mb.recover_from_dumpster(&msgs, to)
                .await
                .map_err(store_fault)?;
        }
        if !others.is_empty() {
            mb.recover_items_from_dumpster(&others, to)
                .await
                .map_err(store_fault)?;
        }
        ctx.svc.indexer.notify(mb.account());
    } else {
        mb.purge_dumpster(&ids).await.map_err(store_fault)?;
    }
    let mut resp = response("ItemActionResponse", NS_MAIL);
    resp.add_new("action").set("id", id_text).set("op", op);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_round_trips_through_the_element() {
        let p = RetentionPolicy {
            keep: vec![Policy::user("30d")],
            purge: vec![Policy {
                kind: PolicyKind::System,
                id: "abc".into(),
                name: String::new(),
                lifetime: String::new(),
            }],
        };
        let el = retention_element(&p);
        assert_eq!(parse_retention(&el).expect("parse"), p);
    }

    #[test]
    fn unknown_policy_type_is_refused() {
        let mut el = Element::new("retentionPolicy");
        el.add_new("keep").add_new("policy").set("type", "odd");
        assert!(parse_retention(&el).is_err());
        assert!(
            parse_retention(&Element::new("retentionPolicy"))
                .expect("empty")
                .is_empty()
        );
    }

    #[test]
    fn types_pick_kinds() {
        let (m, k) = wanted("message,contact,document");
        assert!(m);
        assert_eq!(k, vec![ItemKind::Contact, ItemKind::Document]);
        assert!(!wanted("appointment").0);
    }
}
