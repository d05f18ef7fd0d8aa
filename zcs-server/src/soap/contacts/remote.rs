//! Contacts of another account, reached through the owner's grants, as Zimbra serves
//! them: `GetContactsRequest cn id="ownerId:id"` needs the read right on the folder
//! holding the contact, `ModifyContactRequest` the write right, `ContactActionRequest`
//! the delete right for `delete` and the write right otherwise, and
//! `CreateContactRequest cn l=` naming one of the caller's mountpoints (or
//! `ownerId:folderId`) the insert right on the shared folder. The request then runs in
//! the owner's mailbox and the ids of the answer are written `ownerId:id`.
//!
//! Without the right, or when the item does not exist, the answer is
//! `service.PERM_DENIED` (so ids cannot be probed), as `share::remote_item` decides.

use zcs_core::{ServiceResult, ZimbraId};
use zcs_store::{Mailbox, Rights};

use super::super::context::{Ctx, store_fault};
use super::super::element::Element;
use super::super::share::{remote_folder, remote_item, split_remote};

/// Where a contact request runs when it names another account's item or folder: the
/// owner's mailbox, the request rewritten with local ids, and the owner's id for the
/// answer's ids.
pub(super) struct Routed {
    pub mb: Mailbox,
    pub req: Element,
    pub owner: String,
}

/// `ownerId:id` when `text` names an item of an account other than `me`.
fn foreign<'a>(text: &'a str, me: &ZimbraId) -> Option<(&'a str, &'a str)> {
    let (owner, id) = split_remote(text)?;
    (!owner.eq_ignore_ascii_case(&me.to_string())).then_some((owner, id))
}

/// The right a ContactActionRequest operation needs on the shared folder.
fn action_right(op: &str) -> u8 {
    match op.trim_start_matches('!') {
        "delete" | "trash" | "move" => Rights::DELETE,
        _ => Rights::WRITE,
    }
}

/// Routes `name`'s request to the owner's mailbox when it names another account's
/// contact or shared folder; `None` when it is the caller's own business.
///
/// # Errors
/// `service.PERM_DENIED` without the needed right (or for an item that does not
/// exist); `account.NO_SUCH_ACCOUNT` for an unknown owner.
pub(super) async fn route(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> ServiceResult<Option<Routed>> {
    let me = ctx.target_account().await?.id;
    match name {
        "GetContactsRequest" | "ModifyContactRequest" => {
            let need = if name == "GetContactsRequest" {
                Rights::READ
            } else {
                Rights::WRITE
            };
            let Some(cn) = req.child("cn") else {
                return Ok(None);
            };
            let Some((owner, id)) = cn.attr("id").and_then(|t| foreign(t, &me)) else {
                return Ok(None);
            };
            let (owner, id) = (owner.to_string(), id.to_string());
            // LIMITATION: one remote contact per request (a comma list of remote ids
            // is read as its first owner's).
            let (mb, item) = remote_item(ctx, &owner, &id, need).await?;
            let mut req = req.clone();
            if let Some(cn) = req.children.iter_mut().find(|c| c.name == "cn") {
                cn.set("id", item.0.to_string());
            }
            Ok(Some(Routed { mb, req, owner }))
        }
        "ContactActionRequest" => {
            let Some(a) = req.child("action") else {
                return Ok(None);
            };
            let Some((owner, id)) = a.attr("id").and_then(|t| foreign(t, &me)) else {
                return Ok(None);
            };
            let need = action_right(a.attr("op").unwrap_or_default());
            let (owner, id) = (owner.to_string(), id.to_string());
            let (mb, item) = remote_item(ctx, &owner, &id, need).await?;
            let mut req = req.clone();
            if let Some(a) = req.children.iter_mut().find(|c| c.name == "action") {
                a.set("id", item.0.to_string());
            }
            Ok(Some(Routed { mb, req, owner }))
        }
        "CreateContactRequest" => {
            let Some(l) = req.child("cn").and_then(|cn| cn.attr("l")) else {
                return Ok(None);
            };
            let (owner, folder) = match foreign(l, &me) {
                Some((o, f)) => (o.to_string(), f.to_string()),
                None => {
                    let local = split_remote(l).map_or(l, |(_, id)| id).trim();
                    let Ok(id) = local.parse::<i32>() else {
                        return Ok(None);
                    };
                    let own = ctx.mailbox().await?;
                    let mounts = own.mountpoints().await.map_err(store_fault)?;
                    let Some(m) = mounts.into_iter().find(|m| m.id.0 == id) else {
                        return Ok(None);
                    };
                    (m.owner.to_string(), m.remote_id.0.to_string())
                }
            };
            let remote = remote_folder(ctx, &owner, &folder).await?;
            if !remote.rights.contains(Rights::INSERT) {
                return Err(zcs_core::ServiceError::perm_denied("permission denied"));
            }
            let mut req = req.clone();
            if let Some(cn) = req.children.iter_mut().find(|c| c.name == "cn") {
                cn.set("l", remote.folder.0.to_string());
            }
            Ok(Some(Routed {
                mb: remote.mb,
                req,
                owner: remote.owner.id.to_string(),
            }))
        }
        _ => Ok(None),
    }
}

/// Writes the ids in an answer from `owner`'s mailbox as `owner:id`: `id` and `l` of
/// every `cn` and `action` element.
pub(super) fn qualify(resp: &mut Element, owner: &str) {
    for el in resp
        .children
        .iter_mut()
        .filter(|c| c.name == "cn" || c.name == "action")
    {
        for name in ["id", "l"] {
            if let Some(v) = el.attr(name).filter(|v| !v.contains(':')) {
                let q = v
                    .split(',')
                    .map(|id| format!("{owner}:{id}"))
                    .collect::<Vec<_>>()
                    .join(",");
                el.set(name, q);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_needs_the_delete_right_and_updates_the_write_right() {
        assert_eq!(action_right("delete"), Rights::DELETE);
        assert_eq!(action_right("move"), Rights::DELETE);
        assert_eq!(action_right("flag"), Rights::WRITE);
        assert_eq!(action_right("!tag"), Rights::WRITE);
    }

    #[test]
    fn only_another_accounts_ids_are_foreign() {
        let me = ZimbraId::new();
        let other = ZimbraId::new();
        assert_eq!(foreign("257", &me), None);
        assert_eq!(foreign(&format!("{me}:257"), &me), None);
        let text = format!("{other}:257");
        assert_eq!(foreign(&text, &me).map(|(_, id)| id), Some("257"));
    }

    #[test]
    fn answer_ids_are_qualified_with_the_owner() {
        let mut resp = Element::new("GetContactsResponse");
        resp.add_new("cn").set("id", "257").set("l", "7");
        resp.add_new("action")
            .set("id", "257,258")
            .set("op", "delete");
        qualify(&mut resp, "abc");
        assert_eq!(resp.children[0].attr("id"), Some("abc:257"));
        assert_eq!(resp.children[0].attr("l"), Some("abc:7"));
        assert_eq!(resp.children[1].attr("id"), Some("abc:257,abc:258"));
    }
}
