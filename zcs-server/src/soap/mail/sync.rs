//! urn:zimbraMail `SyncRequest`: the change feed Zimbra's web and mobile clients poll.
//! Without a `token` it answers the folder tree under `l` (default USER_ROOT) with each
//! folder's item ids by type, and the tags; with a `token` (a change number it handed
//! out before) it answers the items, folders and tags changed since, and the ids
//! deleted since (from the store's tombstones). Every answer carries the new `token`.

use std::collections::{BTreeMap, HashMap, HashSet};

use zcs_core::{FaultCode, ItemId, ServiceError, ServiceResult, folder};
use zcs_store::{Folder, Mailbox};

use super::super::context::{Ctx, store_fault};
use super::super::element::Element;
use super::super::envelope::NS_MAIL;
use super::super::folders::folder_element;
use super::super::response;
use super::super::search::message_hit;

/// Routes `SyncRequest`; `None` for other names.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    if name != "SyncRequest" {
        return None;
    }
    Some(sync(ctx, req).await)
}

/// The request's options.
struct Options {
    /// Change number of the previous sync; `None` for an initial sync.
    token: Option<i64>,
    /// Folder whose subtree is synced.
    root: ItemId,
    /// `typed=1`: deleted ids split by type.
    typed: bool,
    /// `msgCutoff` (seconds): older messages are left out of an initial sync.
    msg_cutoff_ms: Option<i64>,
    /// `calCutoff` (ms): calendar items ending before it are left out of an initial sync.
    cal_cutoff_ms: Option<i64>,
    /// `changeLimit`: most changed items in one delta answer (0 = no limit).
    change_limit: usize,
    /// `deleteLimit`: most deleted ids in one delta answer (0 = no limit).
    delete_limit: usize,
}

/// Parses a sync token: a change number, optionally followed by `-<item id>` (Zimbra's
/// paging form; the item part is ignored since pages here cut on change numbers).
fn parse_token(text: &str) -> ServiceResult<i64> {
    let head = text.split('-').next().unwrap_or_default().trim();
    match head.parse::<i64>() {
        Ok(n) if n >= 0 => Ok(n),
        _ => Err(ServiceError::new(
            FaultCode::InvalidSyncToken,
            format!("invalid sync token: {text}"),
        )),
    }
}

fn options(req: &Element) -> ServiceResult<Options> {
    let token = match req.attr("token").map(str::trim) {
        None | Some("") => None,
        Some(t) => Some(parse_token(t)?),
    };
    let root = match req.attr("l") {
        None | Some("") => ItemId(folder::USER_ROOT),
        Some(l) => super::parse_id(l, FaultCode::NoSuchFolder)?,
    };
    let positive = |name: &str| -> ServiceResult<Option<i64>> {
        let v = req.int_attr(name, 0)?;
        Ok((v > 0).then_some(v))
    };
    Ok(Options {
        token,
        root,
        typed: req.bool_attr("typed", false)?,
        msg_cutoff_ms: positive("msgCutoff")?.map(|s| s.saturating_mul(1000)),
        cal_cutoff_ms: positive("calCutoff")?,
        change_limit: positive("changeLimit")?.unwrap_or(0) as usize,
        delete_limit: positive("deleteLimit")?.unwrap_or(0) as usize,
    })
}

/// One item of the mailbox as sync lists it.
struct Item {
    /// Element name: `m`, `cn`, `appt`, `task` or `doc`.
    tag: &'static str,
    id: ItemId,
    folder: ItemId,
    modseq: i64,
    /// Its delta element (attributes only).
    el: Element,
}

/// SyncRequest `[token] [l] [typed] [msgCutoff] [calCutoff] [changeLimit] [deleteLimit]`.
///
/// # Errors
/// `mail.INVALID_SYNC_TOKEN` for a malformed token or one from the future (the mailbox
/// was reset or restored since: the client must sync from scratch),
/// `mail.NO_SUCH_FOLDER` for `l`, the target account's faults, store faults.
async fn sync(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let opts = options(req)?;
    let mb = ctx.mailbox().await?;
    let current = mb.change_number().await.map_err(store_fault)?.0;
    let root = mb.folder(opts.root).await.map_err(store_fault)?;
    let mut folders = mb.folders().await.map_err(store_fault)?;
    if root.id.0 == folder::USER_ROOT {
        folders.push(root.clone());
    }
    let under = subtree(&folders, root.id);
    folders.retain(|f| under.contains(&f.id));
    let mut out = response("SyncResponse", NS_MAIL);
    out.set_num("md", chrono_now_s());
    let (size, _) = mb.size_and_count().await.map_err(store_fault)?;
    out.set_num("s", size);
    match opts.token {
        None => {
            initial(&mb, &opts, &folders, root.id, &mut out).await?;
            out.set_num("token", current);
        }
        Some(token) => {
            // LIMITATION: tombstones are kept for the mailbox's life, so no token is
            // older than the horizon and mail.MUST_RESYNC (absent from FaultCode) is
            // never answered; a token ahead of the mailbox is refused instead.
            if token > current {
                return Err(ServiceError::new(
                    FaultCode::InvalidSyncToken,
                    format!("sync token {token} is ahead of the mailbox ({current})"),
                ));
            }
            let next = delta(&mb, &opts, &folders, token, current, &mut out).await?;
            out.set_num("token", next);
        }
    }
    Ok(out)
}

fn chrono_now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The ids of `root` and every folder below it.
fn subtree(folders: &[Folder], root: ItemId) -> HashSet<ItemId> {
    let mut kids: HashMap<ItemId, Vec<ItemId>> = HashMap::new();
    for f in folders {
        if f.id != f.parent {
            kids.entry(f.parent).or_default().push(f.id);
        }
    }
    let mut seen = HashSet::from([root]);
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        for k in kids.get(&id).into_iter().flatten() {
            if seen.insert(*k) {
                stack.push(*k);
            }
        }
    }
    seen
}

/// Every item in `folders`, messages first, then contacts, calendar items, documents.
async fn items(mb: &Mailbox, folders: &[Folder]) -> ServiceResult<Vec<(Item, i64, i64)>> {
    let mut out = Vec::new();
    for f in folders {
        for m in mb.messages(f.id).await.map_err(store_fault)? {
            let mut el = message_hit(&m);
            el.set_num("ms", m.modseq);
            let date = m.internal_date_ms;
            out.push((item("m", m.id, m.folder, m.modseq, el), date, i64::MAX));
        }
        for c in mb.contacts(f.id).await.map_err(store_fault)? {
            let el = plain("cn", c.id, c.folder, c.modseq, &c.flags.to_soap());
            out.push((item("cn", c.id, c.folder, c.modseq, el), 0, i64::MAX));
        }
        for a in mb.cal_items(f.id).await.map_err(store_fault)? {
            let tag = if a.kind == zcs_core::ItemKind::Task {
                "task"
            } else {
                "appt"
            };
            let mut el = plain(tag, a.id, a.folder, a.modseq, &a.flags.to_soap());
            el.set("uid", a.uid.clone());
            let end = if a.recurring {
                i64::MAX
            } else {
                a.end_ms.unwrap_or(i64::MAX)
            };
            out.push((item(tag, a.id, a.folder, a.modseq, el), 0, end));
        }
        for d in mb.documents(f.id).await.map_err(store_fault)? {
            let mut el = plain("doc", d.id, d.folder, d.modseq, "");
            el.set("name", d.name.clone());
            el.set_num("ver", d.version);
            el.set_num("s", d.size);
            out.push((item("doc", d.id, d.folder, d.modseq, el), 0, i64::MAX));
        }
    }
    Ok(out)
}

fn item(tag: &'static str, id: ItemId, folder: ItemId, modseq: i64, el: Element) -> Item {
    Item {
        tag,
        id,
        folder,
        modseq,
        el,
    }
}

fn plain(tag: &str, id: ItemId, folder: ItemId, modseq: i64, flags: &str) -> Element {
    let mut el = Element::new(tag);
    el.set("id", id.0.to_string());
    el.set("l", folder.0.to_string());
    if !flags.is_empty() {
        el.set("f", flags);
    }
    el.set_num("ms", modseq);
    el.set_num("rev", modseq);
    el
}

/// The folder tree under `root` with the ids of each folder's items by type, then the
/// tags.
async fn initial(
    mb: &Mailbox,
    opts: &Options,
    folders: &[Folder],
    root: ItemId,
    out: &mut Element,
) -> ServiceResult<()> {
    let mut ids: HashMap<ItemId, BTreeMap<&'static str, Vec<i32>>> = HashMap::new();
    for (it, date, end) in items(mb, folders).await? {
        if it.tag == "m" && opts.msg_cutoff_ms.is_some_and(|c| date < c) {
            continue;
        }
        if matches!(it.tag, "appt" | "task") && opts.cal_cutoff_ms.is_some_and(|c| end < c) {
            continue;
        }
        ids.entry(it.folder)
            .or_default()
            .entry(it.tag)
            .or_default()
            .push(it.id.0);
    }
    let by_id: HashMap<ItemId, &Folder> = folders.iter().map(|f| (f.id, f)).collect();
    let mut kids: BTreeMap<ItemId, Vec<ItemId>> = BTreeMap::new();
    for f in folders {
        if f.id != root && by_id.contains_key(&f.parent) {
            kids.entry(f.parent).or_default().push(f.id);
        }
    }
    if let Some(el) = tree(root, &by_id, &kids, &mut ids) {
        out.add(el);
    }
    add_tags(mb, None, out).await
}

fn tree(
    id: ItemId,
    by_id: &HashMap<ItemId, &Folder>,
    kids: &BTreeMap<ItemId, Vec<ItemId>>,
    ids: &mut HashMap<ItemId, BTreeMap<&'static str, Vec<i32>>>,
) -> Option<Element> {
    let mut el = folder_element(by_id.get(&id)?);
    for (tag, mut list) in ids.remove(&id).unwrap_or_default() {
        list.sort_unstable();
        let text: Vec<String> = list.iter().map(i32::to_string).collect();
        el.add_new(tag).set("ids", text.join(","));
    }
    for k in kids.get(&id).into_iter().flatten() {
        if let Some(child) = tree(*k, by_id, kids, ids) {
            el.add(child);
        }
    }
    Some(el)
}

/// The tags (changed after `since` when given).
async fn add_tags(mb: &Mailbox, since: Option<(i64, i64)>, out: &mut Element) -> ServiceResult<()> {
    for t in mb.tags().await.map_err(store_fault)? {
        if since.is_some_and(|(lo, hi)| t.modseq <= lo || t.modseq > hi) {
            continue;
        }
        let el = out.add_new("tag");
        el.set("id", t.id.0.to_string());
        el.set("name", t.name.clone());
        if t.color != 0 {
            el.set_num("color", t.color);
        }
        if t.messages > 0 {
            el.set_num("n", t.messages);
        }
        if t.unread > 0 {
            el.set_num("u", t.unread);
        }
        el.set_num("ms", t.modseq);
    }
    Ok(())
}

/// The change number where a list sorted by change number must stop to keep at most
/// `limit` entries without splitting one change; `None` when everything fits.
fn cut(changes: &[i64], limit: usize) -> Option<i64> {
    if limit == 0 || changes.len() <= limit {
        return None;
    }
    let at = changes[limit - 1];
    // A single change bigger than the limit is answered whole.
    if changes[0] == at && changes[limit] == at {
        return changes.iter().copied().find(|c| *c > at).map(|_| at);
    }
    if changes[limit] == at {
        changes[..limit].iter().copied().rfind(|c| *c < at)
    } else {
        Some(at)
    }
}

/// The changes after `token`: items, folders, tags, then `<deleted>`. Returns the token
/// to hand back (below `current` when a limit cut the answer, with `more="1"`).
async fn delta(
    mb: &Mailbox,
    opts: &Options,
    folders: &[Folder],
    token: i64,
    current: i64,
    out: &mut Element,
) -> ServiceResult<i64> {
    let all = items(mb, folders).await?;
    let mut live: HashSet<ItemId> = folders.iter().map(|f| f.id).collect();
    live.extend(all.iter().map(|(it, _, _)| it.id));
    let mut changed: Vec<Item> = all
        .into_iter()
        .map(|(it, _, _)| it)
        .filter(|it| it.modseq > token)
        .collect();
    changed.sort_by_key(|it| (it.modseq, it.id.0));
    let mut gone = Vec::new();
    let mut seen = HashSet::new();
    for t in mb.tombstones_since(token).await.map_err(store_fault)? {
        if t.moved || live.contains(&t.id) || t.id.0 <= 0 {
            continue;
        }
        if seen.insert(t.id) {
            gone.push(t);
        }
    }
    let item_changes: Vec<i64> = changed.iter().map(|it| it.modseq).collect();
    let gone_changes: Vec<i64> = gone.iter().map(|t| t.change).collect();
    let limit = [
        cut(&item_changes, opts.change_limit),
        cut(&gone_changes, opts.delete_limit),
    ]
    .into_iter()
    .flatten()
    .min();
    let upto = limit.unwrap_or(current);
    if limit.is_some() {
        out.set("more", "1");
    }
    for f in folders {
        if f.modseq > token && f.modseq <= upto && f.id.0 != folder::USER_ROOT {
            out.add(folder_element(f));
        }
    }
    add_tags(mb, Some((token, upto)), out).await?;
    for it in changed.into_iter().filter(|it| it.modseq <= upto) {
        out.add(it.el);
    }
    let gone: Vec<_> = gone.into_iter().filter(|t| t.change <= upto).collect();
    if !gone.is_empty() {
        let list = |f: &dyn Fn(&zcs_store::Tombstone) -> bool| -> String {
            let v: Vec<String> = gone
                .iter()
                .filter(|t| f(t))
                .map(|t| t.id.0.to_string())
                .collect();
            v.join(",")
        };
        let el = out.add_new("deleted");
        el.set("ids", list(&|_| true));
        if opts.typed {
            // LIMITATION: a tombstone tells folders from other items only, so every
            // deleted non-folder is listed under `m` when typed.
            for (tag, is_folder) in [("folder", true), ("m", false)] {
                let ids = list(&|t| t.is_folder == is_folder);
                if !ids.is_empty() {
                    el.add_new(tag).set("ids", ids);
                }
            }
        }
    }
    Ok(upto)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_with_and_without_paging_suffix() {
        assert_eq!(parse_token("42").unwrap(), 42);
        assert_eq!(parse_token("42-310").unwrap(), 42);
        assert!(parse_token("x").is_err());
        assert!(parse_token("-3").is_err());
    }

    #[test]
    fn cut_keeps_whole_changes() {
        assert_eq!(cut(&[1, 2, 3], 0), None);
        assert_eq!(cut(&[1, 2, 3], 3), None);
        assert_eq!(cut(&[1, 2, 3], 2), Some(2));
        assert_eq!(cut(&[1, 2, 2, 3], 2), Some(1));
        assert_eq!(cut(&[2, 2, 2, 3], 2), Some(2));
        assert_eq!(cut(&[2, 2, 2], 2), None);
    }
}
