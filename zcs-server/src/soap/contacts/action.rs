//! ContactActionRequest, and the contact form of ItemActionRequest
//! ([`contact_item_op`]): move, trash, delete, flag/!flag, read/!read, tag/!tag and
//! update (`l`, `f`, `t`, `tn`), answered with Zimbra's `<action id= op=/>`.

use zcs_core::{FaultCode, Flags, ItemId, ServiceError, ServiceResult, folder};
use zcs_store::{Contact, Mailbox, StoreError};

use super::super::context::store_fault;
use super::super::element::Element;
use super::super::envelope::NS_MAIL;
use super::super::folders::{parse_id, parse_ids};
use super::super::response;
use super::contact_fault;
use super::tags::{TagSpec, replace_tags};

/// ContactActionRequest `action id= op=` with the operation's own attributes (`l`,
/// `tag`, `tn`, `f`, `t`).
pub(super) async fn contact_action(mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let a = req
        .child("action")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: action"))?;
    let id_text = a.req("id")?.to_string();
    let op = a.req("op")?.to_string();
    let ids = parse_ids(&id_text, FaultCode::NoSuchContact)?;
    let mut contacts = Vec::with_capacity(ids.len());
    for id in &ids {
        match mb.contact(*id).await {
            Ok(c) => contacts.push(c),
            // Deleting what is already gone succeeds, as in Zimbra; only this
            // mailbox's items are ever deleted.
            Err(StoreError::NoSuchItem(_)) if op == "delete" => {}
            Err(e) => return Err(contact_fault(*id)(e)),
        }
    }
    apply(mb, &contacts, &op, a).await?;
    let mut resp = response("ContactActionResponse", NS_MAIL);
    resp.add_new("action").set("id", id_text).set("op", op);
    Ok(resp)
}

/// ItemActionRequest's operation `op` (with its attributes in `a`) on contact `id` of
/// `mb`: the same operations as ContactActionRequest. For the mail module's
/// ItemAction, which finds out first that `id` is a contact.
///
/// # Errors
/// `mail.NO_SUCH_CONTACT` when `id` is no contact of `mb`; otherwise as
/// ContactActionRequest (`mail.NO_SUCH_FOLDER`, `mail.NO_SUCH_TAG`,
/// `mail.CANNOT_CONTAIN`, `service.INVALID_REQUEST` for an unknown operation).
pub(crate) async fn contact_item_op(
    mb: &Mailbox,
    id: ItemId,
    op: &str,
    a: &Element,
) -> ServiceResult<()> {
    let c = mb.contact(id).await.map_err(contact_fault(id))?;
    apply(mb, std::slice::from_ref(&c), op, a).await
}

/// Runs `op` on `contacts` (all of this mailbox).
async fn apply(mb: &Mailbox, contacts: &[Contact], op: &str, a: &Element) -> ServiceResult<()> {
    let ids: Vec<ItemId> = contacts.iter().map(|c| c.id).collect();
    let (neg, bare) = match op.strip_prefix('!') {
        Some(b) => (true, b),
        None => (false, op),
    };
    match bare {
        "move" => {
            let to = parse_id(a.req("l")?, FaultCode::NoSuchFolder)?;
            move_all(mb, &ids, to).await?;
        }
        "trash" => move_all(mb, &ids, ItemId(folder::TRASH)).await?,
        "delete" => mb.delete_items(&ids).await.map_err(store_fault)?,
        "flag" => set_flag(mb, contacts, Flags::FLAGGED, !neg).await?,
        // A contact is read unless marked otherwise.
        "read" => set_flag(mb, contacts, Flags::UNREAD, neg).await?,
        "tag" => {
            let spec = TagSpec::from_action(a)?
                .ok_or_else(|| ServiceError::invalid_request("missing required attribute: tag"))?;
            spec.apply(mb, &ids, !neg).await?;
        }
        "update" => {
            if let Some(l) = a.attr("l").filter(|l| !l.is_empty()) {
                let to = parse_id(l, FaultCode::NoSuchFolder)?;
                move_all(mb, &ids, to).await?;
            }
            if let Some(f) = a.attr("f") {
                for id in &ids {
                    mb.set_contact_flags(*id, Flags::from_soap(f))
                        .await
                        .map_err(store_fault)?;
                }
            }
            if let Some(spec) = TagSpec::from_update(a)? {
                let names = spec.names(mb).await?;
                for id in &ids {
                    replace_tags(mb, *id, &names).await?;
                }
            }
        }
        other => {
            return Err(ServiceError::invalid_request(format!(
                "unknown contact operation: {other}"
            )));
        }
    }
    Ok(())
}

async fn move_all(mb: &Mailbox, ids: &[ItemId], to: ItemId) -> ServiceResult<()> {
    super::super::folders::check_container(mb, to).await?;
    for id in ids {
        mb.move_contact(*id, to).await.map_err(store_fault)?;
    }
    Ok(())
}

async fn set_flag(mb: &Mailbox, contacts: &[Contact], bit: u32, on: bool) -> ServiceResult<()> {
    for c in contacts {
        let f = c.flags.with(bit, on);
        if f != c.flags {
            mb.set_contact_flags(c.id, f).await.map_err(store_fault)?;
        }
    }
    Ok(())
}
