//! Searches of a mountpoint: `in:"Shared Contacts"`, `in:/path/to/mount`,
//! `under:mount` or `inid:<mountpoint id>` naming one of the caller's mountpoints run in
//! the owner's mailbox, on the shared folder, once the owner's grants give the caller
//! the right to read it (Zimbra proxies such searches to the owner's mailbox). The hits
//! carry the owner's ids, `ownerId:itemId`, as Zimbra writes ids of another mailbox.
//!
//! `is:remote` (Zimbra's "shared items too", as in `lastName (is:remote OR is:local)`)
//! adds every readable mountpoint of the caller to the search ([`remote_scopes`]); in
//! each owner's mailbox `is:remote` is true and `is:local` false.
//!
//! LIMITATION: only a query naming exactly one folder, that folder being a mountpoint,
//! is redirected; a query mixing a mountpoint with local folders (`in:mount or
//! in:inbox`) searches the caller's mailbox alone.

use zcs_core::{ItemId, ServiceError, ServiceResult, folder};
use zcs_index::query::{IsFlag, ItemSet, Query};
use zcs_store::{Mailbox, Mountpoint, Rights};

use super::super::context::{Ctx, store_fault};
use super::super::element::Element;
use super::super::share::remote_folder;

/// Where a redirected search runs: the owner's mailbox, the query on the shared folder,
/// and the owner's id that prefixes every id of the hits.
pub(super) struct Redirect {
    pub mb: Mailbox,
    pub query: Query,
    pub owner_id: String,
}

/// The only folder leaf of `q` when it is required by the whole query (at the top or
/// inside a top-level And, never under Or or Not).
fn lone_folder(q: &Query) -> Option<&Query> {
    let is_folder = |q: &Query| {
        matches!(
            q,
            Query::In(_) | Query::Under(_) | Query::InId(_) | Query::UnderId(_)
        )
    };
    let mut count = 0;
    count_folders(q, &mut count);
    if count != 1 {
        return None;
    }
    match q {
        leaf if is_folder(leaf) => Some(leaf),
        Query::And(v) => v.iter().find(|c| is_folder(c)),
        _ => None,
    }
}

fn count_folders(q: &Query, n: &mut usize) {
    match q {
        Query::And(v) | Query::Or(v) => v.iter().for_each(|c| count_folders(c, n)),
        Query::Not(c) => count_folders(c, n),
        Query::In(_) | Query::Under(_) | Query::InId(_) | Query::UnderId(_) => *n += 1,
        _ => {}
    }
}

/// `q` with `from` (a folder leaf) replaced by `to`.
fn replace_leaf(q: &Query, from: &Query, to: &Query) -> Query {
    match q {
        leaf if leaf == from => to.clone(),
        Query::And(v) => Query::And(v.iter().map(|c| replace_leaf(c, from, to)).collect()),
        other => other.clone(),
    }
}

/// The mountpoint a folder leaf names in `own`, with the path below it (inside the
/// shared folder) when the leaf names a folder under the mountpoint.
async fn named_mountpoint(
    own: &Mailbox,
    leaf: &Query,
) -> ServiceResult<Option<(Mountpoint, Vec<String>)>> {
    let (Query::In(name) | Query::Under(name) | Query::InId(name) | Query::UnderId(name)) = leaf
    else {
        return Ok(None);
    };
    if zcs_index::query::system_folder_id(name).is_some() {
        return Ok(None);
    }
    let mounts = own.mountpoints().await.map_err(store_fault)?;
    if mounts.is_empty() {
        return Ok(None);
    }
    if matches!(leaf, Query::InId(_) | Query::UnderId(_)) {
        let id = name
            .split('/')
            .next()
            .and_then(|s| s.trim().parse::<i32>().ok());
        return Ok(mounts
            .into_iter()
            .find(|m| Some(m.id.0) == id)
            .map(|m| (m, Vec::new())));
    }
    // Walk the path: local folders, then a mountpoint, then folders of the share.
    let parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty()).collect();
    let folders = own.folders().await.map_err(store_fault)?;
    let mut parent = ItemId(folder::USER_ROOT);
    for (i, part) in parts.iter().enumerate() {
        if let Some(m) = mounts
            .iter()
            .find(|m| m.parent == parent && m.name.eq_ignore_ascii_case(part))
        {
            let rest = parts[i + 1..].iter().map(|s| s.to_string()).collect();
            return Ok(Some((m.clone(), rest)));
        }
        match folders
            .iter()
            .find(|f| f.parent == parent && f.name.eq_ignore_ascii_case(part))
        {
            Some(f) => parent = f.id,
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// The search `q` asks for when its one folder is a mountpoint of the caller: the
/// owner's mailbox and the query on the shared folder. `None` for a local search.
///
/// # Errors
/// `service.PERM_DENIED` when the caller may not read the shared folder (or it is
/// gone); `mail.NO_SUCH_FOLDER` for a path below the mountpoint that does not exist.
pub(super) async fn redirect(
    ctx: &mut Ctx<'_>,
    own: &Mailbox,
    q: &Query,
) -> ServiceResult<Option<Redirect>> {
    let Some(leaf) = lone_folder(q) else {
        return Ok(None);
    };
    let Some((m, rest)) = named_mountpoint(own, leaf).await? else {
        return Ok(None);
    };
    let owner = m.owner.to_string();
    let top = remote_folder(ctx, &owner, &m.remote_id.0.to_string()).await?;
    let mut target = top.folder;
    if !rest.is_empty() {
        let theirs = top.mb.folders().await.map_err(store_fault)?;
        for part in &rest {
            target = theirs
                .iter()
                .find(|f| f.parent == target && f.name.eq_ignore_ascii_case(part))
                .map(|f| f.id)
                .ok_or_else(|| {
                    ServiceError::new(
                        zcs_core::FaultCode::NoSuchFolder,
                        format!("no such folder: {}", rest.join("/")),
                    )
                })?;
        }
    }
    // The folder searched decides: a subfolder may carry grants of its own.
    let remote = remote_folder(ctx, &owner, &target.0.to_string()).await?;
    if !remote.rights.contains(Rights::READ) {
        return Err(ServiceError::perm_denied("permission denied"));
    }
    let id = remote.folder.0.to_string();
    let to = match leaf {
        Query::Under(_) | Query::UnderId(_) => Query::UnderId(id),
        _ => Query::InId(id),
    };
    Ok(Some(Redirect {
        mb: remote.mb,
        query: as_remote(&replace_leaf(q, leaf, &to)),
        owner_id: owner,
    }))
}

/// Whether `q` asks for remote items somewhere outside a negation.
fn wants_remote(q: &Query) -> bool {
    match q {
        Query::And(v) | Query::Or(v) => v.iter().any(wants_remote),
        Query::Is(IsFlag::Remote) => true,
        _ => false,
    }
}

/// `q` as seen from the owner's mailbox: `is:remote` holds there, `is:local` does not.
fn as_remote(q: &Query) -> Query {
    match q {
        Query::And(v) => Query::And(v.iter().map(as_remote).collect()),
        Query::Or(v) => Query::Or(v.iter().map(as_remote).collect()),
        Query::Not(c) => Query::Not(Box::new(as_remote(c))),
        Query::Is(IsFlag::Remote) => Query::Item(ItemSet::All),
        Query::Is(IsFlag::Local) => Query::Item(ItemSet::None),
        other => other.clone(),
    }
}

/// For a query that asks for remote items (`is:remote`), one search per mountpoint of
/// the caller whose shared folder it may read: `q` kept to that folder and its
/// subfolders in the owner's mailbox. Mountpoints the caller can no longer read (the
/// grant was revoked, the folder or account is gone) are skipped.
///
/// # Errors
/// A store failure reading the caller's mountpoints.
pub(super) async fn remote_scopes(
    ctx: &mut Ctx<'_>,
    own: &Mailbox,
    q: &Query,
) -> ServiceResult<Vec<Redirect>> {
    if !wants_remote(q) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for m in own.mountpoints().await.map_err(store_fault)? {
        let owner = m.owner.to_string();
        let Ok(remote) = remote_folder(ctx, &owner, &m.remote_id.0.to_string()).await else {
            continue;
        };
        if !remote.rights.contains(Rights::READ) {
            continue;
        }
        let scope = Query::UnderId(remote.folder.0.to_string());
        let query = match as_remote(q) {
            Query::And(mut v) => {
                v.push(scope);
                Query::And(v)
            }
            other => Query::And(vec![other, scope]),
        };
        out.push(Redirect {
            mb: remote.mb,
            query,
            owner_id: owner,
        });
    }
    Ok(out)
}

/// Writes the ids of a hit found in `owner`'s mailbox as `owner:id` (`id`, `l`, `cid`,
/// and the same on the messages of a conversation hit).
pub(super) fn qualify_ids(el: &mut Element, owner: &str) {
    for name in ["id", "l", "cid"] {
        if let Some(v) = el.attr(name).filter(|v| !v.contains(':')) {
            let q = format!("{owner}:{v}");
            el.set(name, q);
        }
    }
    for child in el.children.iter_mut().filter(|c| c.name == "m") {
        qualify_ids(child, owner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zcs_index::query::parse;

    #[test]
    fn only_a_lone_required_folder_is_redirected() {
        let q = parse("in:\"Shared Stuff\" foo").unwrap();
        assert_eq!(lone_folder(&q), Some(&Query::In("Shared Stuff".into())));
        let q = parse("in:a or in:b").unwrap();
        assert_eq!(lone_folder(&q), None);
        let q = parse("in:a -in:b").unwrap();
        assert_eq!(lone_folder(&q), None);
        let q = parse("foo or in:a").unwrap();
        assert_eq!(lone_folder(&q), None);
        let q = parse("in:(mount)").unwrap();
        assert_eq!(lone_folder(&q), Some(&Query::In("mount".into())));
    }

    #[test]
    fn remote_states_hold_in_the_owners_mailbox() {
        let q = parse("foo (is:remote or is:local)").unwrap();
        assert!(wants_remote(&q));
        assert!(!wants_remote(&parse("foo -is:remote").unwrap()));
        assert_eq!(as_remote(&q).to_string(), "foo (item:all OR item:none)");
    }

    #[test]
    fn the_folder_leaf_is_replaced_and_ids_qualified() {
        let q = parse("foo in:mount").unwrap();
        let to = Query::InId("257".into());
        let r = replace_leaf(&q, &Query::In("mount".into()), &to);
        assert_eq!(r.to_string(), "foo inid:257");
        let mut el = Element::new("c");
        el.set("id", "-300").set("l", "2");
        el.add_new("m").set("id", "300").set("l", "2");
        qualify_ids(&mut el, "abc");
        assert_eq!(el.attr("id"), Some("abc:-300"));
        assert_eq!(el.children[0].attr("l"), Some("abc:2"));
    }
}
