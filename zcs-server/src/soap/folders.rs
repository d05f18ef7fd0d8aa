//! urn:zimbraMail folders and tags: NoOp, GetFolder (the tree under a folder, with
//! Zimbra's folder attributes), CreateFolder, FolderAction, CreateTag, GetTag and
//! TagAction. Every id is looked up in the caller's own mailbox only, so another
//! account's ids are simply "no such folder".

use std::collections::HashMap;

use zcs_core::{FaultCode, ItemId, ServiceError, ServiceResult, folder};
use zcs_store::{Folder, Mailbox};

use super::context::{Ctx, store_fault};
use super::element::Element;
use super::envelope::NS_MAIL;
use super::response;

mod attrs;
pub(crate) mod color;
mod dumpster;
mod feed;
mod fetch;
mod flags;
mod links;
mod sync;
mod tags;

pub(crate) use tags::tag_op;

/// Routes the folder and tag requests; `None` for other names.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    if let Some(r) = super::retention::dispatch(ctx, name, req).await {
        return Some(r);
    }
    let known = matches!(
        name,
        "NoOpRequest"
            | "GetFolderRequest"
            | "CreateFolderRequest"
            | "FolderActionRequest"
            | "CreateTagRequest"
            | "GetTagRequest"
            | "TagActionRequest"
            | "CreateSearchFolderRequest"
            | "GetSearchFolderRequest"
            | "ModifySearchFolderRequest"
            | "EmptyDumpsterRequest"
            | "EnableSharedReminderRequest"
    );
    if !known {
        return None;
    }
    if name == "EmptyDumpsterRequest" {
        return Some(dumpster::empty_dumpster(ctx).await);
    }
    let mb = match ctx.mailbox().await {
        Ok(mb) => mb,
        Err(e) => return Some(Err(e)),
    };
    attrs::import_once(&ctx.svc.store).await;
    let result = match name {
        "NoOpRequest" => Ok(response("NoOpResponse", NS_MAIL)),
        "GetFolderRequest" => get_folder(ctx, &mb, req).await,
        "CreateFolderRequest" => create_folder(&mb, req).await,
        "FolderActionRequest" => folder_action(ctx, &mb, req).await,
        "CreateTagRequest" => tags::create_tag(&mb, req).await,
        "GetTagRequest" => tags::get_tag(&mb).await,
        "CreateSearchFolderRequest" => create_search_folder(&mb, req).await,
        "GetSearchFolderRequest" => get_search_folders(&mb).await,
        "ModifySearchFolderRequest" => links::modify_search_folder(&mb, req).await,
        "EnableSharedReminderRequest" => flags::enable_shared_reminder(ctx, &mb, req).await,
        _ => tags::tag_action(&mb, req).await,
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
    if let Ok(id) = t.parse::<i32>() {
        return Ok(ItemId(id));
    }
    if t.contains(':') {
        return Err(ServiceError::new(code, format!("no such item: {t}")));
    }
    // Not an id at all (empty, words): a bad request, as Zimbra's ItemId parser says.
    Err(ServiceError::invalid_request(format!(
        "invalid item id: {t}"
    )))
}

/// `text` with the target account's own `accountId:` prefix removed from each id of a
/// comma-separated list (Zimbra accepts an account's own ids in that form).
pub(crate) async fn own_ids(ctx: &mut Ctx<'_>, text: &str) -> ServiceResult<String> {
    let me = ctx.target_account().await?.id.to_string();
    Ok(text
        .split(',')
        .map(|p| match p.trim().split_once(':') {
            Some((acct, id)) if acct.eq_ignore_ascii_case(&me) => id,
            _ => p.trim(),
        })
        .collect::<Vec<_>>()
        .join(","))
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

/// What GetFolder adds to the plain folders: grants (`acl`), and mountpoints (`link`)
/// and search folders (`search`) by parent id, each with its own id (a search folder
/// may hold search folders).
#[derive(Default)]
struct Extras {
    acl: HashMap<i32, Element>,
    links: HashMap<i32, Vec<(i32, Element)>>,
}

/// How deep search folders nest under search folders in a GetFolder answer (the store
/// refuses loops; this bounds the walk on any data).
const MAX_LINK_NESTING: i64 = 64;

/// The link or search element `el` (item `id`) with the search folders under it.
fn link_tree(id: i32, el: &Element, extras: &Extras, depth: i64, nesting: i64) -> Element {
    let mut el = el.clone();
    if depth != 0
        && nesting < MAX_LINK_NESTING
        && let Some(kids) = extras.links.get(&id)
    {
        for (kid, k) in kids {
            el.children
                .push(link_tree(*kid, k, extras, depth - 1, nesting + 1));
        }
    }
    el
}

fn build_tree(
    f: &Folder,
    by_parent: &HashMap<i32, Vec<&Folder>>,
    depth: i64,
    extras: &Extras,
) -> Element {
    let mut el = folder_element(f);
    if let Some(acl) = extras.acl.get(&f.id.0) {
        el.children.push(acl.clone());
    }
    if depth != 0 {
        if let Some(kids) = by_parent.get(&f.id.0) {
            for k in kids {
                el.children
                    .push(build_tree(k, by_parent, depth - 1, extras));
            }
        }
        if let Some(links) = extras.links.get(&f.id.0) {
            for (id, l) in links {
                el.children.push(link_tree(*id, l, extras, depth - 1, 0));
            }
        }
    }
    el
}

/// The grants and mountpoints of `folders`, for GetFolder.
async fn extras(
    ctx: &Ctx<'_>,
    mb: &Mailbox,
    folders: &[Folder],
    names: bool,
    links: bool,
) -> ServiceResult<Extras> {
    let mut out = Extras::default();
    for f in folders {
        if let Some(acl) = super::share::acl_element(ctx, mb, f.id, names).await? {
            out.acl.insert(f.id.0, acl);
        }
    }
    if links {
        for sf in mb.search_folders().await.map_err(store_fault)? {
            out.links
                .entry(sf.parent.0)
                .or_default()
                .push((sf.id.0, search_element(&sf)));
        }
        for m in mb.mountpoints().await.map_err(store_fault)? {
            let owner = super::share::owner_name(ctx, m.owner).await;
            out.links
                .entry(m.parent.0)
                .or_default()
                .push((m.id.0, super::share::link_element(&m, owner.as_deref())));
        }
    }
    Ok(out)
}

/// GetFolderRequest `[depth] [view] [needGranteeName]` + optional `folder l=|path=`;
/// `l=ownerId:folderId` reads a folder shared with the caller (through its grants).
async fn get_folder(ctx: &mut Ctx<'_>, own: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let names = req.bool_attr("needGranteeName", true)?;
    let remote = match req.child("folder") {
        Some(sel) => shared_target(ctx, own, sel).await?,
        None => None,
    };
    let mb = remote.as_ref().map(|r| &r.mb).unwrap_or(own);
    let folders = mb.folders().await.map_err(store_fault)?;
    let view = req.attr("view").map(str::to_string);
    let depth = req.int_attr("depth", -1)?;
    let root_id = match req.child("folder") {
        Some(sel) => {
            if let Some(r) = &remote {
                r.folder
            } else if let Some(path) = sel.attr("path") {
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
    let extras = match &remote {
        // Through a share, the owner's grants and mountpoints are not shown.
        Some(_) => Extras::default(),
        None => extras(ctx, mb, &folders, names, view.is_none()).await?,
    };
    let mut tree = build_tree(root, &by_parent, depth, &extras);
    super::retention::annotate(ctx, mb, &mut tree).await?;
    color::annotate(mb, &mut tree).await?;
    attrs::annotate(mb, &mut tree).await.map_err(store_fault)?;
    if let Some(r) = &remote {
        tree.set(
            "l",
            format!("{}:{}", r.owner.id, tree.attr("l").unwrap_or("1")),
        );
        tree.set("id", format!("{}:{}", r.owner.id, r.folder.0));
        tree.set("perm", super::share::perm_string(r.rights, r.freebusy));
        // LIMITATION: subfolders of a shared folder are listed without checking
        // grants of their own that would narrow access.
    } else if ctx.auth().await?.account.id != mb.account() {
        // An admin acting for the account (`context/account`) gets ids qualified with
        // the account's id, as Zimbra formats ids for a caller who is not the owner.
        qualify_ids(&mut tree, &mb.account().to_string());
    }
    let mut resp = response("GetFolderResponse", NS_MAIL);
    resp.add(tree);
    Ok(resp)
}

/// Prefixes `owner:` to the `id` and `l` of every folder, mountpoint and search folder
/// of `tree` that is not qualified yet.
fn qualify_ids(tree: &mut Element, owner: &str) {
    if matches!(tree.name.as_str(), "folder" | "link" | "search") {
        for attr in ["id", "l"] {
            if let Some(v) = tree.attr(attr).filter(|v| !v.contains(':')) {
                let q = format!("{owner}:{v}");
                tree.set(attr, q);
            }
        }
    }
    for child in &mut tree.children {
        qualify_ids(child, owner);
    }
}

/// The shared folder a GetFolder `folder` selector names, if it names one: `l` as
/// `ownerId:folderId` or as one of the caller's mountpoints, or a `path` running
/// through a mountpoint. Each is reached through the owner's grants.
async fn shared_target(
    ctx: &mut Ctx<'_>,
    own: &Mailbox,
    sel: &Element,
) -> ServiceResult<Option<super::share::Remote>> {
    use super::share::{remote_folder, split_remote};
    let me = ctx.target_account().await?;
    if let Some(l) = sel.attr("l") {
        if let Some((owner, id)) = split_remote(l) {
            if owner.eq_ignore_ascii_case(&me.id.to_string()) {
                return Ok(None);
            }
            return Ok(Some(remote_folder(ctx, owner, id).await?));
        }
        let Ok(id) = l.trim().parse::<i32>() else {
            return Ok(None);
        };
        let mounts = own.mountpoints().await.map_err(store_fault)?;
        return match mounts.into_iter().find(|m| m.id.0 == id) {
            Some(m) => {
                let (owner, rid) = (m.owner.to_string(), m.remote_id.0.to_string());
                Ok(Some(remote_folder(ctx, &owner, &rid).await?))
            }
            None => Ok(None),
        };
    }
    let Some(path) = sel.attr("path") else {
        return Ok(None);
    };
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let mounts = own.mountpoints().await.map_err(store_fault)?;
    let mut parent = ItemId(folder::USER_ROOT);
    let mut prefix = String::new();
    for (i, part) in parts.iter().enumerate() {
        let mount = mounts
            .iter()
            .find(|m| m.parent == parent && m.name.eq_ignore_ascii_case(part));
        if let Some(m) = mount {
            let owner = m.owner.to_string();
            let top = remote_folder(ctx, &owner, &m.remote_id.0.to_string()).await?;
            let theirs = top.mb.folders().await.map_err(store_fault)?;
            let mut cur = top.folder;
            for sub in &parts[i + 1..] {
                cur = theirs
                    .iter()
                    .find(|f| f.parent == cur && f.name.eq_ignore_ascii_case(sub))
                    .map(|f| f.id)
                    .ok_or_else(|| {
                        ServiceError::new(
                            FaultCode::NoSuchFolder,
                            format!("no such folder path: {path}"),
                        )
                    })?;
            }
            // The subfolder's own grants decide, not the mounted folder's.
            return Ok(Some(remote_folder(ctx, &owner, &cur.0.to_string()).await?));
        }
        prefix.push('/');
        prefix.push_str(part);
        match own.folder_by_path(&prefix).await.map_err(store_fault)? {
            Some(f) => parent = f.id,
            None => return Ok(None),
        }
    }
    Ok(None)
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
    let view = spec.attr("view");
    let (created, is_new) = match mb.create_folder_with_view(parent, &leaf, view).await {
        Ok(f) => (f, true),
        Err(zcs_store::StoreError::AlreadyExists { .. }) if fetch_if_exists => {
            let folders = mb.folders().await.map_err(store_fault)?;
            let found = folders
                .into_iter()
                .find(|f| f.parent == parent && f.name.eq_ignore_ascii_case(&leaf))
                .ok_or_else(|| {
                    ServiceError::new(
                        FaultCode::AlreadyExists,
                        "object with that name already exists",
                    )
                })?;
            (found, false)
        }
        Err(e) => return Err(store_fault(e)),
    };
    // LIMITATION: flags and grants given at creation are not stored.
    if is_new {
        color::apply_requested(mb, created.id, spec).await?;
    }
    let mut el = folder_element(&created);
    let c = mb.folder_color(created.id).await.map_err(store_fault)?;
    color::set_attrs(&mut el, &c);
    let mut resp = response("CreateFolderResponse", NS_MAIL);
    resp.add(el);
    Ok(resp)
}

pub(crate) fn action_response(name: &str, ids: &str, op: &str) -> Element {
    let mut resp = response(name, NS_MAIL);
    let a = resp.add_new("action");
    a.set("id", ids).set("op", op);
    resp
}

/// FolderActionRequest `action id= op=read|delete|rename|move|empty|trash|grant|!grant|
/// color|update|retentionpolicy|check|!check|fb|syncon|!syncon|url|sync|import`.
async fn folder_action(ctx: &mut Ctx<'_>, mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let action = req
        .child("action")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: action"))?;
    let id_text = action.req("id")?.to_string();
    let op = action.req("op")?.to_string();
    let ids = parse_ids(&own_ids(ctx, &id_text).await?, FaultCode::NoSuchFolder)?;
    let mut zid = None;
    for id in &ids {
        // Mountpoints and search folders have their own operations.
        let kind = mb.item_kind(*id).await.map_err(store_fault)?;
        if let Some(k @ (zcs_core::ItemKind::Mountpoint | zcs_core::ItemKind::SearchFolder)) = kind
        {
            // A mountpoint takes the folder flags (a shared calendar is checked or
            // left out of free/busy in the mounting mailbox).
            if k == zcs_core::ItemKind::Mountpoint && flags::is_flag_op(&op) {
                flags::flag_op(mb, *id, &op, action).await?;
                continue;
            }
            links::link_op(mb, *id, k, &op, action).await?;
            continue;
        }
        // Deleting a folder that is already gone succeeds, as Zimbra's delete skips
        // missing ids.
        if op == "delete" && kind.is_none() && mb.folder(*id).await.is_err() {
            continue;
        }
        let f = mb.folder(*id).await.map_err(store_fault)?;
        match op.as_str() {
            "grant" => zid = Some(super::share::grant(ctx, mb, f.id, action).await?),
            "!grant" => super::share::revoke(mb, f.id, action).await?,
            _ => folder_op(ctx, mb, &f, &op, action).await?,
        }
    }
    let mut resp = action_response("FolderActionResponse", &id_text, &op);
    if let Some(z) = zid
        && let Some(a) = resp.children.first_mut()
    {
        a.set("zid", z);
    }
    Ok(resp)
}

/// Applies one folder operation (`read`, `delete`, `rename`, `move`, `trash`, `empty`)
/// to folder `f`; shared by FolderAction and ItemAction.
///
/// # Errors
/// Store faults; `service.INVALID_REQUEST` for an unknown operation.
pub(crate) async fn folder_op(
    ctx: &Ctx<'_>,
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
            check_movable(f)?;
            check_container(mb, parent).await?;
            mb.rename_folder(f.id, parent, name)
                .await
                .map_err(store_fault)?;
        }
        "move" => {
            let parent = parse_id(action.req("l")?, FaultCode::NoSuchFolder)?;
            check_movable(f)?;
            check_container(mb, parent).await?;
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
        "grant" => {
            super::share::grant(ctx, mb, f.id, action).await?;
        }
        // `update`: a new name and/or parent, and with `acl` the whole grant list.
        "update" => {
            // Zimbra's SetFolderDefaultView: user folders only.
            if let Some(v) = action
                .attr("view")
                .filter(|v| !v.eq_ignore_ascii_case(&f.view))
            {
                mb.set_folder_view(f.id, v).await.map_err(store_fault)?;
            }
            flags::update_attrs(mb, f.id, action).await?;
            color::apply_requested(mb, f.id, action).await?;
            if action.attr("name").is_some() || action.attr("l").is_some() {
                let name = action.attr("name").unwrap_or(&f.name).to_string();
                let parent = match action.attr("l") {
                    Some(l) => parse_id(l, FaultCode::NoSuchFolder)?,
                    None => f.parent,
                };
                check_movable(f)?;
                check_container(mb, parent).await?;
                mb.rename_folder(f.id, parent, &name)
                    .await
                    .map_err(store_fault)?;
            }
            if let Some(acl) = action.child("acl") {
                for g in mb.grants(f.id).await.map_err(store_fault)? {
                    mb.revoke(f.id, g.grantee_type, &g.grantee)
                        .await
                        .map_err(store_fault)?;
                }
                for g in acl.children_named("grant") {
                    let mut one = Element::new("action");
                    one.children.push(g.clone());
                    super::share::grant(ctx, mb, f.id, &one).await?;
                }
            }
        }
        "!grant" => super::share::revoke(mb, f.id, action).await?,
        "retentionpolicy" => super::retention::set_policy(mb, f.id, action).await?,
        "color" => {
            let c = color::requested(action)?
                .ok_or_else(|| ServiceError::invalid_request("missing color or rgb"))?;
            mb.set_folder_color(f.id, c).await.map_err(store_fault)?;
        }
        "url" => flags::set_url(mb, f.id, action).await?,
        // Zimbra's `sync` (refresh): the folder's own URL, skipping items seen before.
        "sync" => {
            let url = mb.folder_attrs(f.id).await.map_err(store_fault)?.url;
            sync::import_url(mb, f.id, &url, true).await?;
        }
        "import" => {
            let url = sync::check_url(action.req("url")?)?;
            sync::import_url(mb, f.id, &url, false).await?;
        }
        op if flags::is_flag_op(op) => {
            flags::flag_op(mb, f.id, op, action).await?;
        }
        other => {
            return Err(ServiceError::invalid_request(format!(
                "unknown folder operation: {other}"
            )));
        }
    }
    Ok(())
}

/// A `search` element for a search folder.
fn search_element(sf: &zcs_store::SearchFolder) -> Element {
    let mut el = Element::new("search");
    el.set("id", sf.id.0.to_string());
    el.set("uuid", sf.id.0.to_string());
    el.set("name", sf.name.clone());
    el.set("l", sf.parent.0.to_string());
    el.set("query", sf.query.clone());
    if !sf.types.is_empty() {
        el.set("types", sf.types.clone());
    }
    if !sf.sort_by.is_empty() {
        el.set("sortBy", sf.sort_by.clone());
    }
    color::set_attrs(&mut el, &sf.color);
    el.set_num("rev", sf.modseq);
    el.set_num("ms", sf.modseq);
    el
}

/// CreateSearchFolderRequest `search name= query= [types=] [sortBy=] [l=1] [color=|rgb=]`;
/// `l` may name a search folder.
async fn create_search_folder(mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let spec = req
        .child("search")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: search"))?;
    let name = spec.req("name")?.trim_end().to_string();
    let query = spec.req("query")?;
    let parent = match spec.attr("l").filter(|l| !l.is_empty()) {
        Some(l) => parse_id(l, FaultCode::NoSuchFolder)?,
        None => ItemId(folder::USER_ROOT),
    };
    let want_color = color::requested(spec)?;
    let mut created = mb
        .create_search_folder(
            parent,
            &name,
            query,
            spec.attr("types").unwrap_or(""),
            spec.attr("sortBy").unwrap_or(""),
        )
        .await
        .map_err(store_fault)?;
    if let Some(c) = want_color {
        created.color = mb
            .set_folder_color(created.id, c)
            .await
            .map_err(store_fault)?;
    }
    let mut resp = response("CreateSearchFolderResponse", NS_MAIL);
    resp.add(search_element(&created));
    Ok(resp)
}

/// GetSearchFolderRequest: every search folder.
async fn get_search_folders(mb: &Mailbox) -> ServiceResult<Element> {
    let mut resp = response("GetSearchFolderResponse", NS_MAIL);
    for sf in mb.search_folders().await.map_err(store_fault)? {
        resp.add(search_element(&sf));
    }
    Ok(resp)
}

/// `mail.IMMUTABLE_OBJECT` for a system folder about to be renamed or moved: Zimbra
/// refuses it before looking at the target (Searchfolder-Action SearchFolderAction6
/// moves Inbox into a search folder).
fn check_movable(f: &Folder) -> ServiceResult<()> {
    if f.id.0 < ItemId::FIRST_USER_ID {
        return Err(store_fault(zcs_store::StoreError::ImmutableFolder(f.id)));
    }
    Ok(())
}

/// Refuses a search folder or mountpoint as the new parent of a folder, as Zimbra does
/// (`mail.CANNOT_CONTAIN`).
pub(crate) async fn check_container(mb: &Mailbox, parent: ItemId) -> ServiceResult<()> {
    let kind = mb.item_kind(parent).await.map_err(store_fault)?;
    if matches!(
        kind,
        Some(zcs_core::ItemKind::Mountpoint | zcs_core::ItemKind::SearchFolder)
    ) {
        return Err(ServiceError::new(
            FaultCode::CannotContain,
            "cannot put object in that folder",
        ));
    }
    Ok(())
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

    #[test]
    fn search_folders_nest_under_search_folders() {
        let el = |id: i32| {
            let mut e = Element::new("search");
            e.set("id", id.to_string());
            e
        };
        let mut extras = Extras::default();
        extras.links.insert(300, vec![(301, el(301))]);
        extras
            .links
            .insert(301, vec![(302, el(302)), (303, el(303))]);
        let tree = link_tree(300, &el(300), &extras, -1, 0);
        let kid = &tree.children[0];
        assert_eq!(kid.attr("id"), Some("301"));
        let ids: Vec<_> = kid.children.iter().filter_map(|c| c.attr("id")).collect();
        assert_eq!(ids, ["302", "303"]);
        // depth bounds the walk as it does for folders.
        assert!(
            link_tree(300, &el(300), &extras, 1, 0).children[0]
                .children
                .is_empty()
        );
        // A loop in the data (the store refuses them) still ends.
        extras.links.insert(302, vec![(300, el(300))]);
        let looped = link_tree(300, &el(300), &extras, -1, 0);
        assert!(!looped.children.is_empty());
    }

    #[test]
    fn words_are_not_ids() {
        for bad in ["", "  ", "inbox", "12x"] {
            let e = parse_id(bad, FaultCode::NoSuchFolder).expect_err("refused");
            assert_eq!(e.code, FaultCode::InvalidRequest, "{bad:?}");
        }
    }
}
