//! urn:zimbraMail folders and tags: NoOp, GetFolder (the tree under a folder, with
//! Zimbra's folder attributes), CreateFolder, FolderAction, CreateTag, GetTag and
//! TagAction. Every id is looked up in the caller's own mailbox only, so another
//! account's ids are simply "no such folder".

use std::collections::HashMap;

use zcs_core::{FaultCode, ItemId, ServiceError, ServiceResult, folder};
use zcs_store::{Folder, Mailbox, Tag};

use super::context::{Ctx, store_fault};
use super::element::Element;
use super::envelope::NS_MAIL;
use super::response;

/// Routes the folder and tag requests; `None` for other names.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    let known = matches!(
        name,
        "NoOpRequest"
            | "GetFolderRequest"
            | "CreateFolderRequest"
            | "FolderActionRequest"
            | "CreateTagRequest"
            | "GetTagRequest"
            | "TagActionRequest"
    );
    if !known {
        return None;
    }
    let mb = match ctx.mailbox().await {
        Ok(mb) => mb,
        Err(e) => return Some(Err(e)),
    };
    let result = match name {
        "NoOpRequest" => Ok(response("NoOpResponse", NS_MAIL)),
        "GetFolderRequest" => get_folder(&mb, req).await,
        "CreateFolderRequest" => create_folder(&mb, req).await,
        "FolderActionRequest" => folder_action(&mb, req).await,
        "CreateTagRequest" => create_tag(&mb, req).await,
        "GetTagRequest" => get_tag(&mb).await,
        _ => tag_action(&mb, req).await,
    };
    ctx.note_change(&mb).await;
    Some(result)
}

/// Parses a local item id; anything else (including another account's
/// `accountId:itemId`) is `mail.NO_SUCH_ITEM`-like for the kind given.
pub(crate) fn parse_id(text: &str, code: FaultCode) -> ServiceResult<ItemId> {
    let t = text.trim();
    // `accountId:itemId` names an item of another mailbox (a share). Until shares are
    // served, such an id is refused as unknown: acting on the caller's own item with
    // the same number would touch the wrong item.
    // LIMITATION: shared items (mountpoints, grants) are not reachable over SOAP yet.
    t.parse::<i32>()
        .map(ItemId)
        .map_err(|_| ServiceError::new(code, format!("no such item: {t}")))
}

/// A comma-separated id list.
pub(crate) fn parse_ids(text: &str, code: FaultCode) -> ServiceResult<Vec<ItemId>> {
    text.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| parse_id(p, code))
        .collect()
}

/// A folder element with Zimbra's attributes (no children).
pub(crate) fn folder_element(f: &Folder) -> Element {
    let mut el = Element::new("folder");
    el.set("id", f.id.0.to_string());
    el.set("uuid", format!("{}", f.id.0));
    el.set(
        "name",
        if f.id.0 == folder::USER_ROOT {
            "USER_ROOT".to_string()
        } else {
            f.name.clone()
        },
    );
    if f.id.0 != folder::USER_ROOT {
        el.set("l", f.parent.0.to_string());
    } else {
        el.set("l", folder::ROOT.to_string());
    }
    el.set("absFolderPath", f.path.clone());
    el.set_num("n", f.messages);
    el.set_num("s", f.size);
    if f.unread > 0 {
        el.set_num("u", f.unread);
    }
    el.set("view", f.view.clone());
    el.set_num("ms", f.modseq);
    el.set_num("rev", f.modseq);
    el.set_num("i4ms", f.modseq);
    el.set_num("i4next", f.uid_next);
    el.set_num("uidnext", f.uid_next);
    el.set("activesyncdisabled", "0");
    el
}

fn build_tree(f: &Folder, by_parent: &HashMap<i32, Vec<&Folder>>, depth: i64) -> Element {
    let mut el = folder_element(f);
    if depth != 0
        && let Some(kids) = by_parent.get(&f.id.0)
    {
        for k in kids {
            el.children.push(build_tree(k, by_parent, depth - 1));
        }
    }
    el
}

/// GetFolderRequest `[depth] [view]` + optional `folder l=|path=`.
async fn get_folder(mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let folders = mb.folders().await.map_err(store_fault)?;
    let view = req.attr("view").map(str::to_string);
    let depth = req.int_attr("depth", -1)?;
    let root_id = match req.child("folder") {
        Some(sel) => {
            if let Some(path) = sel.attr("path") {
                let p = if path.starts_with('/') {
                    path.to_string()
                } else {
                    format!("/{path}")
                };
                let found = mb.folder_by_path(&p).await.map_err(store_fault)?;
                found.map(|f| f.id).ok_or_else(|| {
                    ServiceError::new(
                        FaultCode::NoSuchFolder,
                        format!("no such folder path: {path}"),
                    )
                })?
            } else {
                parse_id(sel.attr("l").unwrap_or("1"), FaultCode::NoSuchFolder)?
            }
        }
        None => ItemId(folder::USER_ROOT),
    };
    let mut by_parent: HashMap<i32, Vec<&Folder>> = HashMap::new();
    for f in &folders {
        if f.id.0 == folder::USER_ROOT || f.id.0 == folder::ROOT {
            continue;
        }
        if view.as_deref().is_some_and(|v| v != f.view) {
            continue;
        }
        by_parent.entry(f.parent.0).or_default().push(f);
    }
    for kids in by_parent.values_mut() {
        kids.sort_by_key(|f| f.id.0);
    }
    let user_root = Folder {
        id: ItemId(folder::USER_ROOT),
        parent: ItemId(folder::ROOT),
        name: "USER_ROOT".into(),
        path: "/".into(),
        view: "conversation".into(),
        uid_validity: 1,
        uid_next: 0,
        modseq: 1,
        messages: 0,
        unread: 0,
        size: 0,
    };
    let root = folders
        .iter()
        .find(|f| f.id == root_id)
        .or((root_id.0 == folder::USER_ROOT).then_some(&user_root))
        .ok_or_else(|| {
            ServiceError::new(
                FaultCode::NoSuchFolder,
                format!("no such folder id: {}", root_id.0),
            )
        })?;
    let mut resp = response("GetFolderResponse", NS_MAIL);
    resp.add(build_tree(root, &by_parent, depth));
    Ok(resp)
}

/// CreateFolderRequest `folder name= [l=] [view=] [fie=]`; without `l` the name is a
/// path from the root.
async fn create_folder(mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let spec = req
        .child("folder")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: folder"))?;
    let name = spec.req("name")?.trim_end().to_string();
    let fetch_if_exists = spec.bool_attr("fie", false)?;
    let (parent, leaf) = match spec.attr("l") {
        Some(l) => (parse_id(l, FaultCode::NoSuchFolder)?, name.clone()),
        None => {
            // A path: every missing folder on the way is created.
            let parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty()).collect();
            let Some((last, dirs)) = parts.split_last() else {
                return Err(ServiceError::new(
                    FaultCode::InvalidName,
                    "empty folder name",
                ));
            };
            let mut parent = ItemId(folder::USER_ROOT);
            let mut path = String::new();
            for d in dirs {
                path.push('/');
                path.push_str(d);
                parent = match mb.folder_by_path(&path).await.map_err(store_fault)? {
                    Some(f) => f.id,
                    None => mb.create_folder(parent, d).await.map_err(store_fault)?.id,
                };
            }
            (parent, last.to_string())
        }
    };
    let created = match mb.create_folder(parent, &leaf).await {
        Ok(f) => f,
        Err(zcs_store::StoreError::AlreadyExists { .. }) if fetch_if_exists => {
            let folders = mb.folders().await.map_err(store_fault)?;
            folders
                .into_iter()
                .find(|f| f.parent == parent && f.name.eq_ignore_ascii_case(&leaf))
                .ok_or_else(|| {
                    ServiceError::new(
                        FaultCode::AlreadyExists,
                        "object with that name already exists",
                    )
                })?
        }
        Err(e) => return Err(store_fault(e)),
    };
    // LIMITATION: view=, color/rgb, flags and grants given at creation are not stored;
    // the folder inherits its parent's view.
    let mut resp = response("CreateFolderResponse", NS_MAIL);
    resp.add(folder_element(&created));
    Ok(resp)
}

fn action_response(name: &str, ids: &str, op: &str) -> Element {
    let mut resp = response(name, NS_MAIL);
    let a = resp.add_new("action");
    a.set("id", ids).set("op", op);
    resp
}

/// FolderActionRequest `action id= op=read|delete|rename|move|empty|trash`.
async fn folder_action(mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let action = req
        .child("action")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: action"))?;
    let id_text = action.req("id")?.to_string();
    let op = action.req("op")?.to_string();
    let ids = parse_ids(&id_text, FaultCode::NoSuchFolder)?;
    for id in &ids {
        let f = mb.folder(*id).await.map_err(store_fault)?;
        folder_op(mb, &f, &op, action).await?;
    }
    Ok(action_response("FolderActionResponse", &id_text, &op))
}

/// Applies one folder operation (`read`, `delete`, `rename`, `move`, `trash`, `empty`)
/// to folder `f`; shared by FolderAction and ItemAction.
///
/// # Errors
/// Store faults; `service.INVALID_REQUEST` for an unknown operation.
pub(crate) async fn folder_op(
    mb: &Mailbox,
    f: &Folder,
    op: &str,
    action: &Element,
) -> ServiceResult<()> {
    match op {
        "read" => {
            let msgs = mb.messages(f.id).await.map_err(store_fault)?;
            let ids: Vec<ItemId> = msgs.iter().map(|m| m.id).collect();
            mb.set_flags(&ids, zcs_core::Flags::UNREAD, false)
                .await
                .map_err(store_fault)?;
        }
        "delete" => mb.delete_folder(f.id).await.map_err(store_fault)?,
        "rename" => {
            let name = action.req("name")?;
            let parent = match action.attr("l") {
                Some(l) => parse_id(l, FaultCode::NoSuchFolder)?,
                None => f.parent,
            };
            mb.rename_folder(f.id, parent, name)
                .await
                .map_err(store_fault)?;
        }
        "move" => {
            let parent = parse_id(action.req("l")?, FaultCode::NoSuchFolder)?;
            mb.rename_folder(f.id, parent, &f.name)
                .await
                .map_err(store_fault)?;
        }
        "trash" => {
            mb.rename_folder(f.id, ItemId(folder::TRASH), &f.name)
                .await
                .map_err(store_fault)?;
        }
        "empty" => {
            let msgs = mb.messages(f.id).await.map_err(store_fault)?;
            let ids: Vec<ItemId> = msgs.iter().map(|m| m.id).collect();
            mb.delete_items(&ids).await.map_err(store_fault)?;
            let subfolders: Vec<ItemId> = mb
                .folders()
                .await
                .map_err(store_fault)?
                .into_iter()
                .filter(|c| c.parent == f.id)
                .map(|c| c.id)
                .collect();
            if action.bool_attr("recursive", true)? {
                for sub in subfolders {
                    mb.delete_folder(sub).await.map_err(store_fault)?;
                }
            }
        }
        // LIMITATION: grant, color, url, sync, fb, check and the other folder
        // operations are not supported yet.
        other => {
            return Err(ServiceError::invalid_request(format!(
                "unknown folder operation: {other}"
            )));
        }
    }
    Ok(())
}

pub(crate) fn tag_element(t: &Tag) -> Element {
    let mut el = Element::new("tag");
    el.set("id", t.id.0.to_string());
    el.set("name", t.name.clone());
    if t.color != 0 {
        el.set_num("color", t.color);
    }
    if t.unread > 0 {
        el.set_num("u", t.unread);
    }
    el.set_num("n", t.messages);
    el.set_num("rev", t.modseq);
    el.set_num("ms", t.modseq);
    el
}

/// CreateTagRequest `tag name= [color=]`.
async fn create_tag(mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let spec = req
        .child("tag")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: tag"))?;
    let name = spec.req("name")?;
    let color = spec.int_attr("color", 0)? as i32;
    // An empty name is a bad request; any other bad name is mail.INVALID_NAME.
    if name.is_empty() {
        return Err(ServiceError::invalid_request("missing tag name"));
    }
    let t = mb.create_tag(name, color).await.map_err(store_fault)?;
    let mut resp = response("CreateTagResponse", NS_MAIL);
    resp.add(tag_element(&t));
    Ok(resp)
}

async fn get_tag(mb: &Mailbox) -> ServiceResult<Element> {
    let tags = mb.tags().await.map_err(store_fault)?;
    let mut resp = response("GetTagResponse", NS_MAIL);
    for t in &tags {
        resp.add(tag_element(t));
    }
    Ok(resp)
}

/// TagActionRequest `action id= op=read|delete|rename [name=]`; `tn=` names tags by name.
async fn tag_action(mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let action = req
        .child("action")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: action"))?;
    let op = action.req("op")?.to_string();
    let mut ids = Vec::new();
    if let Some(names) = action.attr("tn") {
        for n in names.split(',') {
            let t = mb.tag_by_name(n).await.map_err(store_fault)?;
            ids.push(
                t.ok_or_else(|| {
                    ServiceError::new(FaultCode::NoSuchTag, format!("no such tag: {n}"))
                })?
                .id,
            );
        }
    } else {
        ids = parse_ids(action.req("id")?, FaultCode::NoSuchTag)?;
    }
    for id in &ids {
        mb.tag(*id).await.map_err(store_fault)?;
        match op.as_str() {
            "delete" => mb.delete_tag(*id).await.map_err(store_fault).map(|_| ())?,
            "rename" => mb
                .rename_tag(*id, action.req("name")?)
                .await
                .map_err(store_fault)
                .map(|_| ())?,
            "read" => {
                let tag = mb.tag(*id).await.map_err(store_fault)?;
                let mut tagged = Vec::new();
                for f in mb.folders().await.map_err(store_fault)? {
                    for m in mb.messages(f.id).await.map_err(store_fault)? {
                        if m.tags.iter().any(|t| t.eq_ignore_ascii_case(&tag.name)) {
                            tagged.push(m.id);
                        }
                    }
                }
                mb.set_flags(&tagged, zcs_core::Flags::UNREAD, false)
                    .await
                    .map_err(store_fault)?;
            }
            // LIMITATION: color and retention are not supported yet (the store has no
            // way to change a tag's color).
            other => {
                return Err(ServiceError::invalid_request(format!(
                    "unknown tag operation: {other}"
                )));
            }
        }
    }
    let id_text: Vec<String> = ids.iter().map(|i| i.0.to_string()).collect();
    Ok(action_response(
        "TagActionResponse",
        &id_text.join(","),
        &op,
    ))
}

#[cfg(test)]
mod id_tests {
    use super::*;

    #[test]
    fn another_accounts_item_id_is_no_such_item_not_ours() {
        assert_eq!(
            parse_id(" 268 ", FaultCode::NoSuchMsg).ok(),
            Some(ItemId(268))
        );
        let remote = "29555e66-d7c4-414f-a996-e891c6d8d2bb:268";
        let e = parse_id(remote, FaultCode::NoSuchMsg).expect_err("refused");
        assert_eq!(e.code, FaultCode::NoSuchMsg);
        assert!(parse_ids(&format!("257,{remote}"), FaultCode::NoSuchMsg).is_err());
    }
}
