//! The address attributes an account or list carries, kept consistent as Zimbra keeps
//! them: an alias lives in both `zimbraMailAlias` and `mail`; a static list also holds
//! its own address in `zimbraMailAlias`; a rename moves all of them together.

use zcs_core::{AttrEdit, Entry};

use crate::directory::A_MAIL_ALIAS;
use crate::names::split_address;

/// The aliases of `e`: its `zimbraMailAlias` values without its own address (which a
/// static list holds there, as in Zimbra, without it being an alias).
pub fn aliases_of(e: &Entry) -> Vec<&str> {
    e.attrs
        .get_all(A_MAIL_ALIAS)
        .iter()
        .map(String::as_str)
        .filter(|a| !a.eq_ignore_ascii_case(&e.name))
        .collect()
}

/// Pushes `v` unless `out` already holds it (case-insensitively).
fn push_unique(out: &mut Vec<String>, v: String) {
    if !out.iter().any(|o| o.eq_ignore_ascii_case(&v)) {
        out.push(v);
    }
}

/// The edits adding the normalised `alias` to `e`: to `zimbraMailAlias` and, unless
/// already there, to `mail` (Zimbra keeps every alias in both).
pub(super) fn alias_add_edits(e: &Entry, alias: &str) -> Vec<AttrEdit> {
    let mut edits = vec![AttrEdit::Add(A_MAIL_ALIAS.into(), alias.to_string())];
    if !e
        .attrs
        .get_all("mail")
        .iter()
        .any(|m| m.eq_ignore_ascii_case(alias))
    {
        edits.push(AttrEdit::Add("mail".into(), alias.to_string()));
    }
    edits
}

/// The edits removing the alias `wanted` from `e`'s `zimbraMailAlias` and `mail`, with
/// the stored spelling; `None` when `e` has no such alias (its own address is none).
pub(super) fn alias_remove_edits(e: &Entry, wanted: &str) -> Option<Vec<AttrEdit>> {
    if wanted.eq_ignore_ascii_case(&e.name) {
        return None;
    }
    let stored = |attr: &str| {
        e.attrs
            .get_all(attr)
            .iter()
            .find(|a| a.eq_ignore_ascii_case(wanted))
            .cloned()
    };
    let mut edits = vec![AttrEdit::Remove(A_MAIL_ALIAS.into(), stored(A_MAIL_ALIAS)?)];
    if let Some(m) = stored("mail") {
        edits.push(AttrEdit::Remove("mail".into(), m));
    }
    Some(edits)
}

/// The `(mail, zimbraMailAlias)` values of `e` once it is renamed to `new_addr` (a
/// normalised address): its old address becomes the new one, and when the domain
/// changes, addresses in the old domain move to the new domain (Zimbra's rename).
/// `mail` starts with the new address. `zimbraMailAlias` keeps the entry's own address
/// only when it held it before (a static list); an alias equal to the new address is
/// dropped, since it is now the name.
pub(super) fn renamed_addresses(e: &Entry, new_addr: &str) -> (Vec<String>, Vec<String>) {
    let old_name = e.name.to_lowercase();
    let old_domain = split_address(&old_name)
        .map(|(_, d)| d.to_string())
        .unwrap_or_default();
    let new_domain = split_address(new_addr)
        .map(|(_, d)| d.to_string())
        .unwrap_or_default();
    let move_addr = |a: &str| -> String {
        let a = a.to_lowercase();
        if a == old_name {
            return new_addr.to_string();
        }
        match split_address(&a) {
            Some((l, d)) if d == old_domain && old_domain != new_domain => {
                format!("{l}@{new_domain}")
            }
            _ => a,
        }
    };

    let held_self = e
        .attrs
        .get_all(A_MAIL_ALIAS)
        .iter()
        .any(|a| a.eq_ignore_ascii_case(&old_name));
    let mut aliases = Vec::new();
    if held_self {
        aliases.push(new_addr.to_string());
    }
    for a in e.attrs.get_all(A_MAIL_ALIAS) {
        let m = move_addr(a);
        if m != new_addr {
            push_unique(&mut aliases, m);
        }
    }

    let mut mail = vec![new_addr.to_string()];
    for m in e.attrs.get_all("mail") {
        push_unique(&mut mail, move_addr(m));
    }
    (mail, aliases)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zcs_core::{Attrs, EntryKind, ZimbraId};

    fn entry(name: &str, mail: &[&str], aliases: &[&str]) -> Entry {
        let mut attrs = Attrs::new();
        attrs.set("mail", mail.iter().map(|s| s.to_string()).collect());
        attrs.set(
            A_MAIL_ALIAS,
            aliases.iter().map(|s| s.to_string()).collect(),
        );
        Entry {
            kind: EntryKind::Account,
            id: ZimbraId::new(),
            name: name.into(),
            attrs,
        }
    }

    #[test]
    fn own_address_is_not_an_alias() {
        let e = entry("l@x.test", &["l@x.test"], &["L@x.test", "al@x.test"]);
        assert_eq!(aliases_of(&e), ["al@x.test"]);
        assert!(alias_remove_edits(&e, "l@x.test").is_none());
        assert!(alias_remove_edits(&e, "no@x.test").is_none());
    }

    #[test]
    fn alias_edits_touch_both_attributes() {
        let e = entry("a@x.test", &["a@x.test", "AL@x.test"], &["AL@x.test"]);
        let add = alias_add_edits(&e, "b@x.test");
        assert_eq!(add.len(), 2);
        assert_eq!(alias_add_edits(&e, "al@x.test").len(), 1);
        let rm = alias_remove_edits(&e, "al@x.test").expect("alias exists");
        assert_eq!(
            rm,
            [
                AttrEdit::Remove(A_MAIL_ALIAS.into(), "AL@x.test".into()),
                AttrEdit::Remove("mail".into(), "AL@x.test".into()),
            ]
        );
    }

    #[test]
    fn account_rename_moves_aliases_in_both_attributes() {
        let e = entry(
            "a@old.test",
            &["a@old.test", "al@old.test", "b@other.test"],
            &["al@old.test", "b@other.test"],
        );
        let (mail, aliases) = renamed_addresses(&e, "z@new.test");
        assert_eq!(mail, ["z@new.test", "al@new.test", "b@other.test"]);
        assert_eq!(aliases, ["al@new.test", "b@other.test"]);
    }

    #[test]
    fn renaming_to_an_alias_drops_it_as_alias() {
        let e = entry("a@x.test", &["a@x.test", "al@x.test"], &["al@x.test"]);
        let (mail, aliases) = renamed_addresses(&e, "al@x.test");
        assert_eq!(mail, ["al@x.test"]);
        assert!(aliases.is_empty());
    }

    #[test]
    fn list_keeps_its_own_address_in_aliases() {
        let e = entry("l@x.test", &["l@x.test"], &["l@x.test", "al@x.test"]);
        let (mail, aliases) = renamed_addresses(&e, "m@x.test");
        assert_eq!(mail, ["m@x.test"]);
        assert_eq!(aliases, ["m@x.test", "al@x.test"]);
    }
}
