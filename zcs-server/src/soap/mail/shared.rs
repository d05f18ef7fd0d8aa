//! Message actions on another account's messages named `ownerId:itemId`
//! (MsgActionRequest and ItemActionRequest through a share). Each message is reached
//! through the owner's grants on the folder holding it (`share::remote_item`): marking
//! read, flagging and tagging need the write right, deleting, trashing and moving need
//! the delete right, and a move needs the insert right on the target, which must be a
//! folder of the same owner (`ownerId:folderId`).

use zcs_core::{ServiceError, ServiceResult};
use zcs_store::{Mailbox, Rights};

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::NS_MAIL;
use super::super::response;
use super::super::share::{remote_folder, remote_item, split_remote};

/// Whether `id_text` (a comma list) names some item of an account other than `me`.
pub(crate) fn names_remote(id_text: &str, me: &str) -> bool {
    id_text
        .split(',')
        .filter_map(split_remote)
        .any(|(owner, _)| !owner.trim().eq_ignore_ascii_case(me))
}

/// The right an operation needs on the folder of the message it changes.
fn needed(op: &str) -> u8 {
    match op.trim_start_matches('!') {
        "delete" | "trash" | "move" => Rights::DELETE,
        _ => Rights::WRITE,
    }
}

/// Applies `op` to the shared messages `id_text` names, all of one owner.
///
/// # Errors
/// `service.PERM_DENIED` when a right is missing or an id names nothing the caller
/// may see; `service.INVALID_REQUEST` for ids of several owners, a plain local id
/// among them, or a move to a folder of another mailbox.
pub(crate) async fn action(
    ctx: &mut Ctx<'_>,
    id_text: &str,
    op: &str,
    a: &Element,
    resp_name: &str,
) -> ServiceResult<Element> {
    let mut owner_seen: Option<String> = None;
    let mut found: Vec<(Mailbox, zcs_core::ItemId)> = Vec::new();
    for part in id_text.split(',').filter(|p| !p.trim().is_empty()) {
        let Some((owner, rid)) = split_remote(part) else {
            return Err(ServiceError::invalid_request(
                "local and shared ids cannot be mixed in one action",
            ));
        };
        match &owner_seen {
            Some(o) if !o.eq_ignore_ascii_case(owner) => {
                return Err(ServiceError::invalid_request(
                    "ids of several mailboxes in one action",
                ));
            }
            _ => owner_seen = Some(owner.to_string()),
        }
        found.push(remote_item(ctx, owner, rid, needed(op)).await?);
    }
    let Some(((mb, _), owner)) = found.first().cloned().zip(owner_seen) else {
        return Err(ServiceError::invalid_request("no ids"));
    };
    let ids: Vec<zcs_core::ItemId> = found.iter().map(|(_, id)| *id).collect();
    let mut a = a.clone();
    if op.trim_start_matches('!') == "move" || a.attr("l").is_some_and(|l| !l.is_empty()) {
        let l = a.req("l")?.to_string();
        let (to_owner, fid) = split_remote(&l).ok_or_else(|| {
            // LIMITATION: messages are not moved between mailboxes.
            ServiceError::invalid_request("cannot move a shared message to another mailbox")
        })?;
        if !to_owner.eq_ignore_ascii_case(&owner) {
            return Err(ServiceError::invalid_request(
                "cannot move a shared message to another mailbox",
            ));
        }
        let target = remote_folder(ctx, to_owner, fid).await?;
        if !target.rights.contains(Rights::INSERT) {
            return Err(ServiceError::perm_denied("permission denied"));
        }
        a.set("l", target.folder.0.to_string());
    }
    super::apply_msg_op(&mb, &ids, op, &a).await?;
    ctx.svc.indexer.notify(mb.account());
    let mut resp = response(resp_name, NS_MAIL);
    resp.add_new("action").set("id", id_text).set("op", op);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_ids_recognised() {
        assert!(names_remote("abc:5", "me"));
        assert!(!names_remote("5,6", "me"));
        assert!(!names_remote("ME:5", "me"));
        assert_eq!(needed("!flag"), Rights::WRITE);
        assert_eq!(needed("trash"), Rights::DELETE);
    }
}
