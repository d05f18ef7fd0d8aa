//! Between what the server stores and what the `Directory` seam returns: reading search
//! results into entries, completing caller attributes into a schema-valid LDAP entry,
//! and the modify request that turns one stored attribute set into another.
//!
//! The backend sometimes has to store what the caller did not give: the object classes
//! of the entry's kind, its RDN value, the `cn`/`sn`/`o` its structural class requires,
//! and the exact spelling of a name its DN cannot carry. Each such value is listed in the
//! entry's `zcsImplicit` (as `attr:value`), the spelling in `zcsEntryName`; both, and the
//! values listed, are removed again on read, so attributes read back are the ones stored.
//! An entry written by Zimbra has neither and reads with every attribute it has.

use ldap3::SearchEntry;
use zcs_core::{Attrs, Entry, EntryKind, ZimbraId};

use super::dit::{Dit, Placement, kind_of, required_attrs, required_classes};
use super::pool::Change;
use crate::directory::A_ZIMBRA_ID;

/// The attribute listing the values the backend added (`attr:value`).
pub const IMPLICIT: &str = "zcsImplicit";

/// The attribute holding the entry's name when its DN spells it differently.
pub const ENTRY_NAME: &str = "zcsEntryName";

/// The operational attribute whose value changes with every write (RFC 4533 §2.4 style
/// change sequence number, maintained by OpenLDAP on every entry).
pub const CSN: &str = "entryCSN";

/// Attributes every entry read asks for.
pub const READ_ATTRS: &[&str] = &["*", CSN];

/// An entry as the server stores it.
#[derive(Debug, Clone)]
pub struct Raw {
    pub dn: String,
    /// Every user attribute, bookkeeping included.
    pub attrs: Attrs,
    /// `entryCSN`, when the server keeps one.
    pub csn: Option<String>,
}

impl Raw {
    /// Reads a search result entry. Values that are not UTF-8 are dropped.
    // LIMITATION: binary values (non-UTF-8 octet strings such as a raw userCertificate)
    // are not returned; the registry's binary attributes are stored as text.
    pub fn from_search(se: SearchEntry) -> Raw {
        let mut attrs = Attrs::new();
        let mut csn = None;
        let mut names: Vec<(String, Vec<String>)> = se.attrs.into_iter().collect();
        names.sort_by_key(|(n, _)| n.to_ascii_lowercase());
        for (name, values) in names {
            if name.eq_ignore_ascii_case(CSN) {
                csn = values.into_iter().next();
                continue;
            }
            attrs.set(&name, values);
        }
        if !se.bin_attrs.is_empty() {
            tracing::debug!(dn = %se.dn, "directory LDAP entry has binary values; skipped");
        }
        Raw {
            dn: se.dn,
            attrs,
            csn,
        }
    }

    /// The kind the object classes say.
    pub fn kind(&self) -> Option<EntryKind> {
        kind_of(self.attrs.get_all("objectClass"))
    }

    /// The `zimbraId`, when present and a UUID. Zimbra's global config carries none: it
    /// gets [`derived_id`] of its DN (written as its `zimbraId` on its first change).
    pub fn id(&self) -> Option<ZimbraId> {
        match self.attrs.get(A_ZIMBRA_ID) {
            Some(id) => id.parse().ok(),
            None if self.kind() == Some(EntryKind::GlobalConfig) => Some(derived_id(&self.dn)),
            None => None,
        }
    }

    /// The attributes a caller sees: bookkeeping removed.
    pub fn visible(&self) -> Attrs {
        let mut out = self.attrs.clone();
        let marks: Vec<String> = out.get_all(IMPLICIT).to_vec();
        out.set(IMPLICIT, Vec::new());
        out.set(ENTRY_NAME, Vec::new());
        for mark in marks {
            let Some((attr, value)) = mark.split_once(':') else {
                continue;
            };
            let kept: Vec<String> = out
                .get_all(attr)
                .iter()
                .filter(|v| v.to_lowercase() != value.to_lowercase())
                .cloned()
                .collect();
            out.set(attr, kept);
        }
        out
    }

    /// The entry's name: what the DN says, spelt as `zcsEntryName` when that is the same
    /// name in other case. A `zcsEntryName` naming something else is out of date (the
    /// entry moved with its parent, as identities do when their account is renamed) and
    /// the DN wins.
    pub fn name(&self, dit: &Dit, kind: EntryKind) -> Option<String> {
        let derived = dit.name_of(kind, &self.dn)?;
        match self.attrs.get(ENTRY_NAME) {
            Some(n) if n.to_lowercase() == derived.to_lowercase() => Some(n.to_string()),
            _ => Some(derived),
        }
    }

    /// The entry, when it is one of `kind` (any kind when `None`) with a valid id and a
    /// name its DN gives.
    pub fn to_entry(&self, dit: &Dit, want: Option<EntryKind>) -> Option<Entry> {
        let kind = self.kind()?;
        if want.is_some_and(|w| w != kind) {
            return None;
        }
        let id = self.id()?;
        let name = self.name(dit, kind)?;
        Some(Entry {
            kind,
            id,
            name,
            attrs: self.visible(),
        })
    }
}

/// A stable id for an entry stored without `zimbraId`: a UUID (version 8, RFC 9562
/// §5.8) made from the SHA-256 of its lower-cased DN.
pub fn derived_id(dn: &str) -> ZimbraId {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("zcs-ldap-dn:{}", dn.to_lowercase()));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80; // version 8
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 9562 variant
    uuid::Uuid::from_bytes(bytes)
        .to_string()
        .parse()
        .expect("a formatted UUID parses")
}

/// The attributes to store for an entry of `kind` at `place` named `name` whose caller
/// attributes are `visible`: `visible` plus what the schema and the DN need, with the
/// additions recorded in `zcsImplicit` and a spelling the DN loses in `zcsEntryName`.
/// Empty values are dropped (LDAP has none).
pub fn complete(
    dit: &Dit,
    kind: EntryKind,
    place: &Placement,
    name: &str,
    visible: &Attrs,
) -> Attrs {
    let mut s = Attrs::new();
    for (attr, values) in visible.iter() {
        if attr.eq_ignore_ascii_case(IMPLICIT) || attr.eq_ignore_ascii_case(ENTRY_NAME) {
            continue;
        }
        let kept: Vec<String> = values.iter().filter(|v| !v.is_empty()).cloned().collect();
        s.set(attr, kept);
    }
    let mut marks: Vec<String> = Vec::new();
    let mut add = |s: &mut Attrs, attr: &str, value: &str| {
        s.add(attr, value);
        marks.push(format!("{attr}:{value}"));
    };

    for class in required_classes(kind) {
        let has = s
            .get_all("objectClass")
            .iter()
            .any(|c| c.eq_ignore_ascii_case(class));
        if !has {
            add(&mut s, "objectClass", class);
        }
    }
    let rdn_lower = place.rdn_value.to_lowercase();
    let has_rdn = s
        .get_all(place.rdn_attr)
        .iter()
        .any(|v| v.to_lowercase() == rdn_lower);
    if !has_rdn {
        add(&mut s, place.rdn_attr, &place.rdn_value);
    }
    for attr in required_attrs(kind) {
        if !s.contains(attr) {
            let value = if *attr == "o" { name } else { &place.rdn_value };
            add(&mut s, attr, value);
        }
    }

    if dit.name_of(kind, &place.dn).as_deref() != Some(name) {
        s.set_one(ENTRY_NAME, name);
    }
    s.set(IMPLICIT, marks);
    s
}

/// The changes that turn stored attributes `old` into `new`, keeping the order of
/// `new`'s values (LDAP appends added values; a reordered attribute is rewritten).
pub fn diff(old: &Attrs, new: &Attrs) -> Vec<Change> {
    let mut names: Vec<String> = old
        .iter()
        .chain(new.iter())
        .map(|(n, _)| n.to_string())
        .collect();
    names.sort_by_key(|n| n.to_ascii_lowercase());
    names.dedup_by(|a, b| a.eq_ignore_ascii_case(b));

    let mut out = Vec::new();
    for name in names {
        let (o, n) = (old.get_all(&name), new.get_all(&name));
        if o == n {
            continue;
        }
        if name.eq_ignore_ascii_case("objectClass") {
            let missing = |from: &[String], other: &[String]| -> Vec<String> {
                from.iter()
                    .filter(|c| !other.iter().any(|x| x.eq_ignore_ascii_case(c)))
                    .cloned()
                    .collect()
            };
            let (added, removed) = (missing(n, o), missing(o, n));
            if !added.is_empty() {
                out.push(Change::Add(name.clone(), added));
            }
            if !removed.is_empty() {
                out.push(Change::Delete(name.clone(), removed));
            }
            continue;
        }
        match n.len() {
            0 => out.push(Change::Replace(name, Vec::new())),
            1 => out.push(Change::Replace(name, n.to_vec())),
            _ if !o.is_empty() && n.starts_with(o) => {
                out.push(Change::Add(name, n[o.len()..].to_vec()));
            }
            _ => {
                out.push(Change::Replace(name.clone(), vec![n[0].clone()]));
                for v in &n[1..] {
                    out.push(Change::Add(name.clone(), vec![v.clone()]));
                }
            }
        }
    }
    out
}

/// The attribute list of an add request, one entry per attribute.
pub fn add_list(attrs: &Attrs) -> Vec<(String, Vec<String>)> {
    attrs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_vec()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> Attrs {
        let mut a = Attrs::new();
        for (n, v) in pairs {
            a.add(n, *v);
        }
        a
    }

    #[test]
    fn completion_is_undone_on_read() {
        let dit = Dit::new("");
        let place = dit.place(EntryKind::Account, "Joe@Ex.test").unwrap();
        let given = attrs(&[("description", "x"), ("zimbraId", "i")]);
        let stored = complete(&dit, EntryKind::Account, &place, "Joe@Ex.test", &given);
        assert_eq!(
            stored.get_all("objectClass"),
            ["inetOrgPerson", "zimbraAccount"]
        );
        assert_eq!(stored.get("uid"), Some("Joe"));
        assert_eq!(stored.get("sn"), Some("Joe"));
        assert_eq!(stored.get(ENTRY_NAME), None, "the DN spells it");
        let raw = Raw {
            dn: place.dn.clone(),
            attrs: stored,
            csn: None,
        };
        assert_eq!(raw.visible(), given);

        // A caller's own values stay visible; only the additions go.
        let given = attrs(&[
            ("objectClass", "inetOrgPerson"),
            ("cn", "Joe"),
            ("sn", "J"),
            ("uid", "Joe"),
        ]);
        let stored = complete(&dit, EntryKind::Account, &place, "joe@ex.test", &given);
        assert_eq!(stored.get_all(IMPLICIT), ["objectClass:zimbraAccount"]);
        assert_eq!(stored.get(ENTRY_NAME), Some("joe@ex.test"));
        let raw = Raw {
            dn: place.dn,
            attrs: stored,
            csn: None,
        };
        assert_eq!(raw.visible(), given);
        assert_eq!(raw.name(&dit, EntryKind::Account).unwrap(), "joe@ex.test");
    }

    #[test]
    fn diff_keeps_order_and_appends() {
        let old = attrs(&[("a", "1"), ("b", "x"), ("objectClass", "top")]);
        let new = attrs(&[("a", "1"), ("a", "2"), ("c", "3"), ("c", "1")]);
        let changes = diff(&old, &new);
        assert_eq!(
            changes,
            [
                Change::Add("a".into(), vec!["2".into()]),
                Change::Replace("b".into(), vec![]),
                Change::Replace("c".into(), vec!["3".into()]),
                Change::Add("c".into(), vec!["1".into()]),
                Change::Delete("objectClass".into(), vec!["top".into()]),
            ]
        );
        assert!(diff(&new, &new).is_empty());
    }
}
