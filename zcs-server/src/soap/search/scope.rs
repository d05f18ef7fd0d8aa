//! Zimbra's default search scope: Trash (with the folders under it) and Junk are left
//! out of a mail search unless the query itself names them (`in:trash`,
//! `under:"Trash/old"`, `inid:4`, `is:anywhere`) or the account's
//! `zimbraPrefIncludeTrashInSearch`/`zimbraPrefIncludeSpamInSearch` says otherwise. A
//! query naming another folder (`from:x or in:inbox`) still leaves them out, as Zimbra
//! does.

use std::collections::HashSet;

use zcs_core::{ItemId, folder};
use zcs_index::query::{IsFlag, Query, system_folder_id};
use zcs_store::Folder;

/// Which of Trash and Junk the query names in a positive folder term.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Named {
    trash: bool,
    junk: bool,
}

/// The folder ids `path` (a name or path, any case) may name.
fn by_path<'a>(folders: &'a [Folder], path: &str) -> impl Iterator<Item = ItemId> + 'a {
    let want = format!("/{}", path.trim_matches('/')).to_lowercase();
    folders
        .iter()
        .filter(move |f| f.path.to_lowercase() == want)
        .map(|f| f.id)
}

/// Whether `id` is `root` or a folder below it.
fn within(folders: &[Folder], id: ItemId, root: i32) -> bool {
    let mut cur = id;
    let mut seen = HashSet::new();
    while seen.insert(cur) {
        if cur.0 == root {
            return true;
        }
        match folders.iter().find(|f| f.id == cur) {
            Some(f) if f.parent != cur => cur = f.parent,
            _ => return false,
        }
    }
    false
}

fn named(q: &Query, folders: &[Folder], out: &mut Named) {
    let ids: Vec<ItemId> = match q {
        Query::And(v) | Query::Or(v) => {
            v.iter().for_each(|c| named(c, folders, out));
            return;
        }
        Query::Is(IsFlag::Anywhere) => {
            out.trash = true;
            out.junk = true;
            return;
        }
        Query::In(n) | Query::Under(n) => match system_folder_id(n) {
            Some(id) => vec![ItemId(id)],
            None => by_path(folders, n).collect(),
        },
        Query::InId(n) | Query::UnderId(n) => n
            .split('/')
            .next()
            .and_then(|s| s.trim().parse::<i32>().ok())
            .map(ItemId)
            .into_iter()
            .collect(),
        // A negated folder only narrows; other leaves name no folder.
        _ => return,
    };
    for id in ids {
        out.trash |= within(folders, id, folder::TRASH);
        out.junk |= within(folders, id, folder::JUNK);
    }
}

/// `q` narrowed to Zimbra's default scope: `-underid:3` unless the query names Trash
/// or a folder under it (or `include_trash`), `-underid:4` unless it names Junk (or
/// `include_junk`). When the query is an OR of which some branch names Trash or Junk,
/// each branch is narrowed on its own, as Zimbra does: in `from:x OR in:trash` the
/// `from:x` branch still leaves Trash out.
pub(super) fn default_scope(
    q: &Query,
    folders: &[Folder],
    include_trash: bool,
    include_junk: bool,
) -> Query {
    if let Query::Or(branches) = q {
        let mut any = Named::default();
        named(q, folders, &mut any);
        if any.trash || any.junk {
            return Query::Or(
                branches
                    .iter()
                    .map(|b| narrow(b, folders, include_trash, include_junk))
                    .collect(),
            );
        }
    }
    narrow(q, folders, include_trash, include_junk)
}

/// [`default_scope`] for one query taken whole.
fn narrow(q: &Query, folders: &[Folder], include_trash: bool, include_junk: bool) -> Query {
    let mut n = Named::default();
    named(q, folders, &mut n);
    let mut parts = match q {
        Query::And(v) => v.clone(),
        other => vec![other.clone()],
    };
    let before = parts.len();
    if !n.trash && !include_trash {
        let trash = Query::UnderId(folder::TRASH.to_string());
        parts.push(Query::Not(Box::new(trash)));
    }
    if !n.junk && !include_junk {
        let junk = Query::UnderId(folder::JUNK.to_string());
        parts.push(Query::Not(Box::new(junk)));
    }
    if parts.len() == before {
        q.clone()
    } else {
        Query::And(parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zcs_index::query::parse;

    fn f(id: i32, parent: i32, path: &str) -> Folder {
        Folder {
            id: ItemId(id),
            parent: ItemId(parent),
            name: path.rsplit('/').next().unwrap_or("").to_string(),
            path: path.to_string(),
            view: "message".to_string(),
            uid_validity: 1,
            uid_next: 1,
            modseq: 1,
            messages: 0,
            unread: 0,
            size: 0,
        }
    }

    fn folders() -> Vec<Folder> {
        vec![
            f(2, 1, "/Inbox"),
            f(3, 1, "/Trash"),
            f(4, 1, "/Junk"),
            f(300, 3, "/Trash/old"),
        ]
    }

    fn scoped(s: &str) -> String {
        default_scope(&parse(s).unwrap(), &folders(), false, false).to_string()
    }

    #[test]
    fn trash_and_junk_are_left_out_unless_named() {
        assert_eq!(scoped("foo"), "foo -underid:3 -underid:4");
        assert_eq!(
            scoped("from:foo or in:inbox"),
            "(from:foo OR in:inbox) -underid:3 -underid:4"
        );
        assert_eq!(scoped("in:trash"), "in:trash -underid:4");
        // An OR naming Trash in one branch: each branch narrowed on its own.
        let branches = |s: &str| match default_scope(&parse(s).unwrap(), &folders(), false, false) {
            Query::Or(b) => b.iter().map(ToString::to_string).collect::<Vec<_>>(),
            other => vec![other.to_string()],
        };
        assert_eq!(
            branches("foo or in:\"trash/old\""),
            ["foo -underid:3 -underid:4", "in:trash/old -underid:4"]
        );
        assert_eq!(
            branches("from:foo or in:trash"),
            ["from:foo -underid:3 -underid:4", "in:trash -underid:4"]
        );
        assert_eq!(scoped("inid:4 foo"), "inid:4 foo -underid:3");
        assert_eq!(scoped("is:anywhere foo"), "is:anywhere foo");
        assert_eq!(scoped("-in:trash"), "-in:trash -underid:3 -underid:4");
        let q = parse("foo").unwrap();
        assert_eq!(default_scope(&q, &folders(), true, true), q);
    }
}
