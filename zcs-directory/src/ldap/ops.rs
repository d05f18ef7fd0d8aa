//! The [`Directory`] operations of [`LdapDirectory`]: create, read, change, delete and
//! list entries, and resolve addresses, on top of the tree layout, the address
//! reservations and the attribute mapping of the sibling modules.

use std::collections::HashSet;

use async_trait::async_trait;
use ldap3::Scope;
use zcs_core::{AttrEdit, Attrs, Entry, EntryKind, ServiceError, ServiceResult, ZimbraId};

use super::LdapDirectory;
use super::addresses::{addresses_of, refused};
use super::convert::{READ_ATTRS, Raw, add_list, complete, diff};
use super::dit::{ADDRESS_KINDS_FILTER, Placement, kind_filter};
use super::escape::filter_value;
use super::pool::{Change, rc};
use crate::directory::{
    A_MAIL_ALIAS, A_ZIMBRA_ID, Directory, EntryKey, exists_fault, is_address_kind, no_such_fault,
};
use crate::names::lower_name;

/// How many times a modify is retried when other writers keep changing the entry.
const MAX_ATTEMPTS: usize = 64;

/// Result codes that mean the change itself is not acceptable (RFC 4511 appendix A):
/// constraintViolation, attributeOrValueExists, invalidAttributeSyntax, namingViolation,
/// objectClassViolation, notAllowedOnRDN, objectClassModsProhibited.
const BAD_CHANGE: &[u32] = &[19, 20, 21, 64, 65, 67, 69];

/// Refuses edits to `zimbraId`.
fn check_edits(edits: &[AttrEdit]) -> ServiceResult<()> {
    if edits
        .iter()
        .any(|e| e.name().eq_ignore_ascii_case(A_ZIMBRA_ID))
    {
        return Err(ServiceError::invalid_request("zimbraId cannot be modified"));
    }
    Ok(())
}

/// A DN in a form two spellings of the same DN share (for "did it move?" only).
fn folded(dn: &str) -> String {
    dn.to_lowercase().replace(", ", ",")
}

impl LdapDirectory {
    /// Adds the entry, creating missing containers; a domain whose `dc` entry exists as
    /// a plain container becomes the domain.
    async fn add_entry(
        &self,
        kind: EntryKind,
        place: &Placement,
        stored: &Attrs,
        name: &str,
    ) -> ServiceResult<()> {
        for _ in 0..3 {
            let (code, text) = self.pool.add(&place.dn, &add_list(stored)).await?;
            match code {
                rc::SUCCESS => return Ok(()),
                rc::NO_SUCH_OBJECT if place.containers.is_empty() => {
                    // The owner of an identity, signature or data source is missing.
                    let owner = name.split_once('/').map_or(name, |(o, _)| o);
                    return Err(no_such_fault(EntryKind::Account, owner));
                }
                rc::NO_SUCH_OBJECT => self.ensure(&place.containers).await?,
                rc::ALREADY_EXISTS if kind == EntryKind::Domain => {
                    return self.promote_container(place, stored, name).await;
                }
                rc::ALREADY_EXISTS => return Err(exists_fault(kind, name)),
                code if BAD_CHANGE.contains(&code) => {
                    return Err(ServiceError::invalid_request(format!(
                        "directory refused {kind} {name}: {text}"
                    )));
                }
                _ => return Err(refused("add", &place.dn, code, text)),
            }
        }
        Err(refused("add", &place.dn, rc::NO_SUCH_OBJECT, String::new()))
    }

    /// Turns the plain `dc` container at `place` into the domain (Zimbra leaves such
    /// containers above its domains and for deleted domains with sub-domains).
    async fn promote_container(
        &self,
        place: &Placement,
        stored: &Attrs,
        name: &str,
    ) -> ServiceResult<()> {
        let exists = || exists_fault(EntryKind::Domain, name);
        let Some(raw) = self.read_dn(&place.dn, "(objectClass=*)").await? else {
            return Err(exists());
        };
        if raw.kind().is_some() || raw.id().is_some() {
            return Err(exists());
        }
        let changes = diff(&raw.attrs, stored);
        let (code, text) = self
            .pool
            .modify(&place.dn, &changes, Some("(!(objectClass=zimbraDomain))"))
            .await?;
        match code {
            rc::SUCCESS => Ok(()),
            rc::ASSERTION_FAILED | rc::NO_SUCH_OBJECT => Err(exists()),
            _ => Err(refused("promote domain container", &place.dn, code, text)),
        }
    }

    /// Rename (when `new_name`) and attribute edits. The rename is one modifyDN, the
    /// edits one modify guarded by the entry's `entryCSN`, retried on conflicts.
    // LIMITATION: a rename with edits is two LDAP operations (modifyDN, then modify);
    // another reader can see the new name with the old attributes in between.
    async fn change(
        &self,
        kind: EntryKind,
        id: ZimbraId,
        new_name: Option<&str>,
        edits: &[AttrEdit],
    ) -> ServiceResult<Entry> {
        check_edits(edits)?;
        let missing = || no_such_fault(kind, &id.to_string());
        let raw = self.read_id(Some(kind), id).await?.ok_or_else(missing)?;
        let before = raw.to_entry(&self.dit, Some(kind)).ok_or_else(missing)?;
        let old_addrs = if is_address_kind(kind) {
            addresses_of(&before.name, &before.attrs)
        } else {
            Vec::new()
        };
        let mut fresh: Vec<String> = Vec::new();
        let result = self
            .change_inner(kind, id, &raw, &before, new_name, edits, &mut fresh)
            .await;
        match result {
            Ok(after) => {
                if is_address_kind(kind) {
                    let now = addresses_of(&after.name, &after.attrs);
                    let gone: Vec<String> =
                        old_addrs.into_iter().filter(|a| !now.contains(a)).collect();
                    self.release_all(&gone, id).await;
                }
                Ok(after)
            }
            Err(e) => {
                self.release_all(&fresh, id).await;
                Err(e)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn change_inner(
        &self,
        kind: EntryKind,
        id: ZimbraId,
        raw: &Raw,
        before: &Entry,
        new_name: Option<&str>,
        edits: &[AttrEdit],
        fresh: &mut Vec<String>,
    ) -> ServiceResult<Entry> {
        let missing = || no_such_fault(kind, &id.to_string());
        let mut dn = raw.dn.clone();
        let mut name = before.name.clone();
        let mut held: HashSet<String> = addresses_of(&before.name, &before.attrs)
            .into_iter()
            .collect();

        if let Some(new_name) = new_name.map(str::trim) {
            let place = self.dit.place(kind, new_name)?;
            if is_address_kind(kind) {
                let addr = lower_name(new_name);
                if !held.contains(&addr) && self.reserve(kind, &addr, id).await? {
                    fresh.push(addr.clone());
                }
                held.insert(addr);
            }
            if folded(&place.dn) != folded(&dn) {
                self.move_entry(kind, &dn, &place, new_name).await?;
                dn = place.dn.clone();
            }
            name = new_name.to_string();
        }

        for _ in 0..MAX_ATTEMPTS {
            let current = self
                .read_dn(&dn, kind_filter(kind))
                .await?
                .ok_or_else(missing)?;
            let mut visible = current.visible();
            for edit in edits {
                visible.apply(edit);
            }
            visible.set_one(A_ZIMBRA_ID, id.to_string());
            let mut place = self.dit.place(kind, &name)?;
            place.dn = current.dn.clone();
            let stored = complete(&self.dit, kind, &place, &name, &visible);

            if is_address_kind(kind) {
                for addr in addresses_of(&name, &visible) {
                    if !held.contains(&addr) {
                        if self.reserve(kind, &addr, id).await? {
                            fresh.push(addr.clone());
                        }
                        held.insert(addr);
                    }
                }
            }

            let changes = diff(&current.attrs, &stored);
            if changes.is_empty() {
                return current.to_entry(&self.dit, Some(kind)).ok_or_else(missing);
            }
            let assertion = current
                .csn
                .as_deref()
                .map(|c| format!("(entryCSN={})", filter_value(c)));
            let (code, text) = self
                .pool
                .modify(&dn, &changes, assertion.as_deref())
                .await?;
            match code {
                rc::SUCCESS => {
                    let after = self.read_dn(&dn, kind_filter(kind)).await?;
                    return after
                        .and_then(|r| r.to_entry(&self.dit, Some(kind)))
                        .ok_or_else(missing);
                }
                rc::ASSERTION_FAILED => continue,
                rc::NO_SUCH_OBJECT => return Err(missing()),
                code if BAD_CHANGE.contains(&code) => {
                    return Err(ServiceError::invalid_request(format!(
                        "directory refused the change of {kind} {name}: {text}"
                    )));
                }
                _ => return Err(refused("modify", &dn, code, text)),
            }
        }
        Err(ServiceError::failure(format!(
            "{kind} {name} kept changing; gave up after {MAX_ATTEMPTS} attempts"
        )))
    }

    /// Moves the entry at `dn` to `place` (modifyDN), creating missing containers.
    async fn move_entry(
        &self,
        kind: EntryKind,
        dn: &str,
        place: &Placement,
        new_name: &str,
    ) -> ServiceResult<()> {
        let parent_now = dn.split_once(',').map(|(_, p)| p).unwrap_or("");
        let new_sup = (folded(parent_now) != folded(&place.parent)).then_some(&place.parent);
        for _ in 0..2 {
            let (code, text) = self
                .pool
                .modify_dn(dn, &place.rdn(), new_sup.map(String::as_str))
                .await?;
            match code {
                rc::SUCCESS => return Ok(()),
                rc::ALREADY_EXISTS => return Err(exists_fault(kind, new_name)),
                rc::NO_SUCH_OBJECT if !place.containers.is_empty() => {
                    self.ensure(&place.containers).await?;
                }
                rc::NO_SUCH_OBJECT => return Err(no_such_fault(kind, new_name)),
                _ => return Err(refused("rename", dn, code, text)),
            }
        }
        Err(refused("rename", dn, rc::NO_SUCH_OBJECT, String::new()))
    }

    /// Removes a domain: its entry and empty `ou=people`/`cn=groups` containers, or,
    /// when entries remain below it (sub-domains), only what makes it a domain.
    async fn delete_domain(&self, raw: &Raw) -> ServiceResult<()> {
        let below = self
            .pool
            .search(&raw.dn, Scope::Subtree, "(objectClass=*)", &["1.1"])
            .await?;
        let dn = folded(&raw.dn);
        let only_containers = below.iter().all(|e| {
            let d = folded(&e.dn);
            d == dn || d == format!("ou=people,{dn}") || d == format!("cn=groups,{dn}")
        });
        if only_containers {
            return self.delete_subtree(&raw.dn).await;
        }
        // What a plain dc container holds: its classes, dc and o.
        let mut plain = Attrs::new();
        plain.set(
            "objectClass",
            vec!["organization".into(), "dcObject".into()],
        );
        plain.set("dc", raw.attrs.get_all("dc").to_vec());
        let o = match raw.attrs.get_all("o") {
            [] => vec![
                self.dit
                    .name_of(EntryKind::Domain, &raw.dn)
                    .unwrap_or_default(),
            ],
            values => values.to_vec(),
        };
        plain.set("o", o);
        let changes = diff(&raw.attrs, &plain);
        let (code, text) = self.pool.modify(&raw.dn, &changes, None).await?;
        if code != rc::SUCCESS {
            return Err(refused("demote domain", &raw.dn, code, text));
        }
        Ok(())
    }

    /// Every address held by entries named in `domain` (lower-cased) or by aliases in it.
    async fn addresses_in_domain(&self, domain: &str) -> ServiceResult<HashSet<String>> {
        let mut out = HashSet::new();
        let suffix = format!("@{domain}");
        for kind in [EntryKind::Account, EntryKind::DynamicGroup] {
            let Ok(place) = self.dit.place(kind, &format!("x@{domain}")) else {
                return Ok(out);
            };
            let found = self
                .pool
                .search(
                    &place.parent,
                    Scope::OneLevel,
                    ADDRESS_KINDS_FILTER,
                    READ_ATTRS,
                )
                .await?;
            for se in found {
                if let Some(e) = Raw::from_search(se).to_entry(&self.dit, None) {
                    out.extend(
                        addresses_of(&e.name, &e.attrs)
                            .into_iter()
                            .filter(|a| a.ends_with(&suffix)),
                    );
                }
            }
        }
        let filter = format!(
            "(&{ADDRESS_KINDS_FILTER}({A_MAIL_ALIAS}=*{}))",
            filter_value(&suffix)
        );
        let found = self
            .pool
            .search(self.dit.base(), Scope::Subtree, &filter, READ_ATTRS)
            .await?;
        for se in found {
            if let Some(e) = Raw::from_search(se).to_entry(&self.dit, None) {
                out.extend(
                    addresses_of(&e.name, &e.attrs)
                        .into_iter()
                        .filter(|a| a.ends_with(&suffix)),
                );
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Directory for LdapDirectory {
    async fn create_entry_with_id(
        &self,
        kind: EntryKind,
        id: ZimbraId,
        name: &str,
        mut attrs: Attrs,
    ) -> ServiceResult<Entry> {
        let name = name.trim();
        let place = self.dit.place(kind, name)?;
        if self.is_retired(id).await? {
            return Err(ServiceError::invalid_request(format!(
                "zimbraId {id} belonged to a deleted entry; ids are never reused"
            )));
        }
        if self.read_id(None, id).await?.is_some() {
            return Err(exists_fault(
                kind,
                &format!("{name} (zimbraId {id} is taken)"),
            ));
        }
        attrs.set_one(A_ZIMBRA_ID, id.to_string());
        let stored = complete(&self.dit, kind, &place, name, &attrs);

        let mut fresh = Vec::new();
        if is_address_kind(kind) {
            for addr in addresses_of(name, &attrs) {
                match self.reserve(kind, &addr, id).await {
                    Ok(true) => fresh.push(addr),
                    Ok(false) => {}
                    Err(e) => {
                        self.release_all(&fresh, id).await;
                        return Err(e);
                    }
                }
            }
        }
        if let Err(e) = self.add_entry(kind, &place, &stored, name).await {
            self.release_all(&fresh, id).await;
            return Err(e);
        }

        // An add carries values as sets: put multi-valued attributes back in order. The
        // DN takes the spelling of existing parents: keep the name if it now differs.
        let missing = || ServiceError::failure(format!("{kind} {name} vanished after create"));
        let mut raw = self
            .read_dn(&place.dn, kind_filter(kind))
            .await?
            .ok_or_else(missing)?;
        let mut actual = place.clone();
        actual.dn = raw.dn.clone();
        let stored = complete(&self.dit, kind, &actual, name, &attrs);
        let reorder: Vec<Change> = diff(&raw.attrs, &stored)
            .into_iter()
            .filter(|c| {
                let class_change = matches!(c, Change::Add(n, _) | Change::Delete(n, _)
                    if n.eq_ignore_ascii_case("objectClass"));
                !class_change
            })
            .collect();
        if !reorder.is_empty() {
            let (code, text) = self.pool.modify(&place.dn, &reorder, None).await?;
            if code != rc::SUCCESS {
                return Err(refused("order values", &place.dn, code, text));
            }
            raw = self
                .read_dn(&place.dn, kind_filter(kind))
                .await?
                .ok_or_else(missing)?;
        }
        tracing::debug!(kind = %kind, id = %id, name = %name, "directory entry created");
        raw.to_entry(&self.dit, Some(kind)).ok_or_else(missing)
    }

    async fn get_entry(&self, kind: EntryKind, key: &EntryKey) -> ServiceResult<Option<Entry>> {
        let raw = match key {
            EntryKey::Id(id) => self.read_id(Some(kind), *id).await?,
            EntryKey::Name(name) => match self.dit.place(kind, name) {
                Ok(place) => self.read_dn(&place.dn, kind_filter(kind)).await?,
                Err(_) => None,
            },
        };
        Ok(raw.and_then(|r| r.to_entry(&self.dit, Some(kind))))
    }

    async fn modify_entry(
        &self,
        kind: EntryKind,
        id: ZimbraId,
        edits: &[AttrEdit],
    ) -> ServiceResult<Entry> {
        self.change(kind, id, None, edits).await
    }

    async fn rename_entry(
        &self,
        kind: EntryKind,
        id: ZimbraId,
        new_name: &str,
    ) -> ServiceResult<Entry> {
        self.change(kind, id, Some(new_name), &[]).await
    }

    async fn rename_and_modify(
        &self,
        kind: EntryKind,
        id: ZimbraId,
        new_name: &str,
        edits: &[AttrEdit],
    ) -> ServiceResult<Entry> {
        self.change(kind, id, Some(new_name), edits).await
    }

    async fn delete_entry(&self, kind: EntryKind, id: ZimbraId) -> ServiceResult<()> {
        let missing = || no_such_fault(kind, &id.to_string());
        let raw = self.read_id(Some(kind), id).await?.ok_or_else(missing)?;
        let entry = raw.to_entry(&self.dit, Some(kind)).ok_or_else(missing)?;
        self.retire(id, kind).await?;
        if kind == EntryKind::Domain {
            self.delete_domain(&raw).await?;
        } else {
            self.delete_subtree(&raw.dn).await?;
        }
        if is_address_kind(kind) {
            self.release_all(&addresses_of(&entry.name, &entry.attrs), id)
                .await;
        }
        tracing::debug!(kind = %kind, id = %id, "directory entry deleted");
        Ok(())
    }

    async fn list_entries(
        &self,
        kind: EntryKind,
        domain: Option<&str>,
    ) -> ServiceResult<Vec<Entry>> {
        let domain = domain.map(lower_name);
        let (base, scope) = match (&domain, is_address_kind(kind) || kind == EntryKind::Alias) {
            (Some(d), true) => match self.dit.place(kind, &format!("x@{d}")) {
                Ok(place) => (place.parent, Scope::OneLevel),
                Err(_) => return Ok(Vec::new()),
            },
            _ => (self.dit.base().to_string(), Scope::Subtree),
        };
        let found = self
            .pool
            .search(&base, scope, kind_filter(kind), READ_ATTRS)
            .await?;
        let mut out: Vec<Entry> = found
            .into_iter()
            .filter_map(|se| Raw::from_search(se).to_entry(&self.dit, Some(kind)))
            .filter(|e| {
                domain
                    .as_deref()
                    .is_none_or(|d| e.domain().is_some_and(|ed| lower_name(ed) == d))
            })
            .collect();
        out.sort_by_cached_key(|e| (lower_name(&e.name), e.id.to_string()));
        Ok(out)
    }

    async fn search_entries(
        &self,
        q: &crate::search::SearchQuery,
    ) -> ServiceResult<crate::search::SearchResults> {
        if q.kinds.is_empty() {
            return Ok(crate::search::SearchResults::default());
        }
        // The kinds and the filter go to slapd; `finish` re-checks each entry (implied
        // object classes, case rules) and sorts, so the answer is the SQL backends'.
        let kinds: String = q.kinds.iter().map(|k| kind_filter(*k)).collect();
        let filter = match &q.filter {
            Some(f) => format!("(&(|{kinds}){})", crate::search::filter_string(f)),
            None => format!("(|{kinds})"),
        };
        let base = match &q.domain {
            Some(d) => match self.dit.place(EntryKind::Domain, &lower_name(d)) {
                Ok(place) => place.dn,
                Err(_) => return Ok(crate::search::SearchResults::default()),
            },
            None => self.dit.base().to_string(),
        };
        let found = self
            .pool
            .search(&base, Scope::Subtree, &filter, READ_ATTRS)
            .await?;
        let candidates: Vec<Entry> = found
            .into_iter()
            .filter_map(|se| Raw::from_search(se).to_entry(&self.dit, None))
            .collect();
        Ok(crate::search::finish(q, candidates))
    }

    async fn find_by_address(&self, addr: &str) -> ServiceResult<Option<Entry>> {
        let addr = lower_name(addr);
        if addr.is_empty() {
            return Ok(None);
        }
        self.owner_of(&addr).await
    }

    async fn count_addresses_in_domain(&self, domain: &str) -> ServiceResult<u64> {
        let n = self.addresses_in_domain(&lower_name(domain)).await?.len();
        Ok(n as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dn_folding() {
        assert_eq!(folded("uid=A, ou=People,dc=X"), "uid=a,ou=people,dc=x");
        assert!(check_edits(&[AttrEdit::Add("ZIMBRAID".into(), "x".into())]).is_err());
    }
}
