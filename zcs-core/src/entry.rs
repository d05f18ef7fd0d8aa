//! Directory entries: their kinds, their attributes and edits to them.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::ZimbraId;

/// The kinds of directory entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EntryKind {
    GlobalConfig,
    Server,
    Domain,
    Cos,
    Account,
    Alias,
    DistributionList,
    DynamicGroup,
    CalendarResource,
    Identity,
    Signature,
    DataSource,
    Zimlet,
}

impl EntryKind {
    /// Every kind, in a stable order.
    pub const ALL: &'static [EntryKind] = &[
        EntryKind::GlobalConfig,
        EntryKind::Server,
        EntryKind::Domain,
        EntryKind::Cos,
        EntryKind::Account,
        EntryKind::Alias,
        EntryKind::DistributionList,
        EntryKind::DynamicGroup,
        EntryKind::CalendarResource,
        EntryKind::Identity,
        EntryKind::Signature,
        EntryKind::DataSource,
        EntryKind::Zimlet,
    ];

    /// The name Zimbra's attribute schema uses for this kind (`optionalIn`/`requiredIn`
    /// values in `zimbra-attrs.xml`).
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::GlobalConfig => "globalConfig",
            EntryKind::Server => "server",
            EntryKind::Domain => "domain",
            EntryKind::Cos => "cos",
            EntryKind::Account => "account",
            EntryKind::Alias => "alias",
            EntryKind::DistributionList => "distributionList",
            EntryKind::DynamicGroup => "group",
            EntryKind::CalendarResource => "calendarResource",
            EntryKind::Identity => "identity",
            EntryKind::Signature => "signature",
            EntryKind::DataSource => "dataSource",
            EntryKind::Zimlet => "zimletEntry",
        }
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EntryKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EntryKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown entry kind: {s}"))
    }
}

/// Calls `f` with `name` in ASCII lower case, built on the stack when it fits.
fn with_lower<T>(name: &str, f: impl FnOnce(&str) -> T) -> T {
    let mut buf = [0u8; 64];
    match buf.get_mut(..name.len()) {
        Some(dst) => {
            dst.copy_from_slice(name.as_bytes());
            dst.make_ascii_lowercase();
            // ASCII lower-casing keeps UTF-8 valid; the fallback is never taken.
            match std::str::from_utf8(dst) {
                Ok(key) => f(key),
                Err(_) => f(&name.to_ascii_lowercase()),
            }
        }
        None => f(&name.to_ascii_lowercase()),
    }
}

/// An entry's attributes: names compare case-insensitively and keep the spelling they
/// were first stored with; each attribute holds one or more string values in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attrs {
    /// Lower-cased name -> (canonical name, values). An attribute never holds zero
    /// values: clearing one removes it.
    map: BTreeMap<String, (String, Vec<String>)>,
}

impl Attrs {
    /// No attributes.
    pub fn new() -> Self {
        Self::default()
    }

    /// All values of `name`, empty if unset. Cost: one map look-up; no allocation for
    /// names up to 64 bytes (every request reads dozens of attributes).
    pub fn get_all(&self, name: &str) -> &[String] {
        with_lower(name, |key| self.map.get(key))
            .map(|(_, v)| v.as_slice())
            .unwrap_or(&[])
    }

    /// The first value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_all(name).first().map(String::as_str)
    }

    /// Whether `name` is set.
    pub fn contains(&self, name: &str) -> bool {
        with_lower(name, |key| self.map.contains_key(key))
    }

    /// Replaces every value of `name`; an empty `values` removes the attribute.
    pub fn set(&mut self, name: &str, values: Vec<String>) {
        let key = name.to_ascii_lowercase();
        if values.is_empty() {
            self.map.remove(&key);
        } else {
            let canonical = self.map.get(&key).map(|(c, _)| c.clone());
            self.map
                .insert(key, (canonical.unwrap_or_else(|| name.to_string()), values));
        }
    }

    /// Sets `name` to the single value `value`.
    pub fn set_one(&mut self, name: &str, value: impl Into<String>) {
        self.set(name, vec![value.into()]);
    }

    /// Adds `value` to `name` unless an equal value is already there.
    pub fn add(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        let key = name.to_ascii_lowercase();
        let entry = self
            .map
            .entry(key)
            .or_insert_with(|| (name.to_string(), Vec::new()));
        if !entry.1.contains(&value) {
            entry.1.push(value);
        }
    }

    /// Removes exactly `value` from `name`; removes the attribute when none remain.
    pub fn remove_value(&mut self, name: &str, value: &str) {
        let key = name.to_ascii_lowercase();
        if let Some((_, values)) = self.map.get_mut(&key) {
            values.retain(|v| v != value);
            if values.is_empty() {
                self.map.remove(&key);
            }
        }
    }

    /// Applies one edit.
    pub fn apply(&mut self, edit: &AttrEdit) {
        match edit {
            AttrEdit::Replace(name, values) => {
                let mut kept: Vec<String> = Vec::with_capacity(values.len());
                for v in values.iter().filter(|v| !v.is_empty()) {
                    if !kept.contains(v) {
                        kept.push(v.clone());
                    }
                }
                self.set(name, kept)
            }
            AttrEdit::Add(name, value) => self.add(name, value.clone()),
            AttrEdit::Remove(name, value) => self.remove_value(name, value),
        }
    }

    /// (canonical name, values) pairs in case-insensitive name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.map.values().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// Number of attributes set.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no attribute is set.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// One change to a multi-valued attribute, as `zmprov` and `ModifyAccountRequest`
/// express them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttrEdit {
    /// `attr value [attr value2 ...]`: replace all values (a repeated value is kept
    /// once); no values (or only empty strings) clears the attribute.
    Replace(String, Vec<String>),
    /// `+attr value`: add one value, keep the others.
    Add(String, String),
    /// `-attr value`: remove exactly that value.
    Remove(String, String),
}

impl AttrEdit {
    /// The attribute this edit touches.
    pub fn name(&self) -> &str {
        match self {
            AttrEdit::Replace(n, _) | AttrEdit::Add(n, _) | AttrEdit::Remove(n, _) => n,
        }
    }

    /// Turns `zmprov`-style `name value` pairs into edits: `+name` adds, `-name`
    /// removes, and repeated plain names collect into one replacement, in first-seen
    /// order.
    ///
    /// # Errors
    /// An odd number of arguments (a name without its value).
    pub fn parse_pairs(args: &[String]) -> Result<Vec<AttrEdit>, String> {
        if !args.len().is_multiple_of(2) {
            return Err(format!(
                "attribute {} has no value",
                args.last().map(String::as_str).unwrap_or("")
            ));
        }
        let mut edits: Vec<AttrEdit> = Vec::new();
        for pair in args.chunks(2) {
            let (name, value) = (&pair[0], &pair[1]);
            if let Some(n) = name.strip_prefix('+') {
                edits.push(AttrEdit::Add(n.to_string(), value.clone()));
            } else if let Some(n) = name.strip_prefix('-') {
                edits.push(AttrEdit::Remove(n.to_string(), value.clone()));
            } else if let Some(AttrEdit::Replace(_, values)) = edits
                .iter_mut()
                .find(|e| matches!(e, AttrEdit::Replace(n, _) if n.eq_ignore_ascii_case(name)))
            {
                values.push(value.clone());
            } else {
                edits.push(AttrEdit::Replace(name.clone(), vec![value.clone()]));
            }
        }
        Ok(edits)
    }
}

/// A directory entry: its kind, its never-reused id, its name and its attributes.
///
/// The name is the entry's primary name: `user@domain` for accounts, lists and
/// resources, the domain name for domains, the host name for servers, the COS name,
/// and an empty string for the global config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: EntryKind,
    pub id: ZimbraId,
    pub name: String,
    pub attrs: Attrs,
}

impl Entry {
    /// The domain part of a `user@domain` name, if the name has one.
    pub fn domain(&self) -> Option<&str> {
        self.name.rsplit_once('@').map(|(_, d)| d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn names_are_case_insensitive_and_keep_first_spelling() {
        let mut a = Attrs::new();
        a.set_one("zimbraMailQuota", "0");
        a.set_one("ZIMBRAMAILQUOTA", "10");
        assert_eq!(a.get("zimbramailquota"), Some("10"));
        assert_eq!(a.iter().next().unwrap().0, "zimbraMailQuota");
    }

    #[test]
    fn zmprov_pairs_become_edits() {
        let edits = AttrEdit::parse_pairs(&s(&[
            "zimbraMailAlias",
            "a@x",
            "+zimbraZimletUserProperties",
            "p",
            "zimbraMailAlias",
            "b@x",
            "-zimbraMailAlias",
            "c@x",
        ]))
        .unwrap();
        assert_eq!(
            edits,
            vec![
                AttrEdit::Replace("zimbraMailAlias".into(), s(&["a@x", "b@x"])),
                AttrEdit::Add("zimbraZimletUserProperties".into(), "p".into()),
                AttrEdit::Remove("zimbraMailAlias".into(), "c@x".into()),
            ]
        );
        assert!(AttrEdit::parse_pairs(&s(&["odd"])).is_err());
    }

    #[test]
    fn empty_replacement_clears() {
        let mut a = Attrs::new();
        a.set_one("displayName", "x");
        a.apply(&AttrEdit::Replace("displayName".into(), s(&[""])));
        assert!(!a.contains("displayName"));
    }
}
