//! FolderAction on mountpoints and search folders (the items Zimbra lists among
//! folders but keeps apart from them): delete, trash, rename, move, update, color and
//! empty, and ModifySearchFolderRequest. Both kinds keep their id across a rename or a
//! move ([`Mailbox::rename_link`]); a search folder may move into another search
//! folder, never under itself (the store checks).

use zcs_core::{FaultCode, ItemId, ItemKind, ServiceError, ServiceResult};
use zcs_store::{Mailbox, StoreError};

use super::super::context::store_fault;
use super::super::element::Element;
use super::super::envelope::NS_MAIL;
use super::super::response;
use super::{color, parse_id};

/// Applies FolderAction `op` to mountpoint or search folder `id` (of kind `kind`).
///
/// `delete`/`trash` remove it (with the search folders under it); `rename` takes
/// `name=` (and `l=`), `move` takes `l=`, `update` either (and `color=`/`rgb=`);
/// `color` sets its colour; `empty` deletes the search folders under it unless
/// `recursive="0"` (Zimbra empties a folder's subfolders by default); `read` does
/// nothing (a link holds no items of its own).
///
/// # Errors
/// `mail.CANNOT_CONTAIN` for a new parent that cannot hold it (a mountpoint, a search
/// folder for a mountpoint, the item itself or one below it), `mail.ALREADY_EXISTS`,
/// `mail.INVALID_NAME` and `mail.NO_SUCH_FOLDER` from the store,
/// `service.INVALID_REQUEST` for an operation a link does not take.
pub(crate) async fn link_op(
    mb: &Mailbox,
    id: ItemId,
    kind: ItemKind,
    op: &str,
    action: &Element,
) -> ServiceResult<()> {
    match op {
        "delete" | "trash" => return mb.delete_items(&[id]).await.map_err(store_fault),
        "read" => return Ok(()),
        "empty" => {
            if !action.bool_attr("recursive", true)? {
                return Ok(());
            }
            let kids: Vec<ItemId> = mb
                .search_folders()
                .await
                .map_err(store_fault)?
                .into_iter()
                .filter(|s| s.parent == id)
                .map(|s| s.id)
                .collect();
            if kids.is_empty() {
                return Ok(());
            }
            return mb.delete_items(&kids).await.map_err(store_fault);
        }
        "color" => {
            let c = color::requested(action)?
                .ok_or_else(|| ServiceError::invalid_request("missing color or rgb"))?;
            mb.set_folder_color(id, c).await.map_err(store_fault)?;
            return Ok(());
        }
        "rename" | "move" | "update" => {}
        _ => {
            // LIMITATION: flags and grants are not kept on mountpoints and search
            // folders.
            return Err(ServiceError::invalid_request(format!(
                "unsupported operation on a mountpoint or search folder: {op}"
            )));
        }
    }
    let (name, parent) = current_place(mb, id, kind).await?;
    let new_name = match op {
        "rename" => action.req("name")?.trim_end().to_string(),
        _ => action
            .attr("name")
            .map(|n| n.trim_end().to_string())
            .unwrap_or(name),
    };
    let new_parent = match action.attr("l").filter(|l| !l.is_empty()) {
        Some(l) => parse_id(l, FaultCode::NoSuchFolder)?,
        None if op == "move" => return Err(ServiceError::invalid_request("missing l")),
        None => parent,
    };
    let want_color = if op == "update" {
        color::requested(action)?
    } else {
        None
    };
    mb.rename_link(id, new_parent, &new_name)
        .await
        .map_err(store_fault)?;
    if let Some(c) = want_color {
        mb.set_folder_color(id, c).await.map_err(store_fault)?;
    }
    Ok(())
}

/// The name and parent of mountpoint or search folder `id`.
async fn current_place(
    mb: &Mailbox,
    id: ItemId,
    kind: ItemKind,
) -> ServiceResult<(String, ItemId)> {
    let no_such = || ServiceError::new(FaultCode::NoSuchFolder, format!("no such folder id: {id}"));
    if kind == ItemKind::SearchFolder {
        let sf = mb
            .search_folders()
            .await
            .map_err(store_fault)?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(no_such)?;
        return Ok((sf.name, sf.parent));
    }
    let m = mb
        .mountpoints()
        .await
        .map_err(store_fault)?
        .into_iter()
        .find(|m| m.id == id)
        .ok_or_else(no_such)?;
    Ok((m.name, m.parent))
}

/// ModifySearchFolderRequest `search id= query= [types=] [sortBy=]`: the response is
/// empty, as Zimbra's.
///
/// # Errors
/// `mail.NO_SUCH_FOLDER` when `id` is not one of the caller's search folders.
pub(crate) async fn modify_search_folder(mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let spec = req
        .child("search")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: search"))?;
    let id = parse_id(spec.req("id")?, FaultCode::NoSuchFolder)?;
    let query = spec.req("query")?;
    mb.modify_search_folder(id, query, spec.attr("types"), spec.attr("sortBy"))
        .await
        .map_err(|e| match e {
            StoreError::NoSuchItem(_) => {
                ServiceError::new(FaultCode::NoSuchFolder, format!("no such folder id: {id}"))
            }
            other => store_fault(other),
        })?;
    Ok(response("ModifySearchFolderResponse", NS_MAIL))
}
