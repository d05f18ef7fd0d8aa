//! Reading entries by DN and id, the address index (reservations under
//! `cn=addresses,cn=zimbra`, with a fallback to Zimbra's own attributes for directories
//! written by Zimbra), retired ids, missing containers and subtree deletes.
//!
//! A reservation entry `cn=ADDR` names its owner's `zimbraId`. Reserving is an LDAP add,
//! so of two writers racing for one address exactly one succeeds. A reservation whose
//! owner does not hold the address is either a write in flight or left over by a crash:
//! younger than [`STALE_AFTER`] it blocks, older it is taken over.

use chrono::{NaiveDateTime, Utc};
use ldap3::Scope;
use zcs_core::{Attrs, Entry, EntryKind, ServiceError, ServiceResult, ZimbraId};

use super::LdapDirectory;
use super::convert::{READ_ATTRS, Raw, derived_id};
use super::dit::{ADDRESS_KINDS_FILTER, ANY_KIND_FILTER, Container, Dit, kind_filter};
use super::escape::filter_value;
use super::pool::rc;
use crate::directory::{A_MAIL_ALIAS, exists_fault};
use crate::names::lower_name;

/// How old a reservation whose owner does not hold its address must be before another
/// entry may take it over.
pub const STALE_AFTER: chrono::Duration = chrono::Duration::seconds(30);

/// Whether `e` holds `addr` (lower-cased) as its name or a `zimbraMailAlias`.
pub fn owns(e: &Entry, addr: &str) -> bool {
    lower_name(&e.name) == addr
        || e.attrs
            .get_all(A_MAIL_ALIAS)
            .iter()
            .any(|a| lower_name(a) == addr)
}

/// The lower-cased addresses of an entry named `name` with attributes `attrs`.
pub fn addresses_of(name: &str, attrs: &Attrs) -> Vec<String> {
    let mut out = vec![lower_name(name)];
    for a in attrs.get_all(A_MAIL_ALIAS) {
        let a = lower_name(a);
        if !a.is_empty() && !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

impl LdapDirectory {
    /// The stored entry at `dn` matching `filter`.
    pub(super) async fn read_dn(&self, dn: &str, filter: &str) -> ServiceResult<Option<Raw>> {
        let found = self
            .pool
            .search(dn, Scope::Base, filter, READ_ATTRS)
            .await?;
        Ok(found.into_iter().next().map(Raw::from_search))
    }

    /// The stored entry of `kind` (any kind when `None`) with `id`.
    pub(super) async fn read_id(
        &self,
        kind: Option<EntryKind>,
        id: ZimbraId,
    ) -> ServiceResult<Option<Raw>> {
        let class = kind.map_or(ANY_KIND_FILTER, kind_filter);
        let filter = format!("(&(zimbraId={}){class})", filter_value(&id.to_string()));
        let found = self
            .pool
            .search(self.dit.base(), Scope::Subtree, &filter, READ_ATTRS)
            .await?;
        let hit = found
            .into_iter()
            .map(Raw::from_search)
            .find(|r| kind.is_none_or(|k| r.kind() == Some(k)));
        if hit.is_some() || kind.is_some_and(|k| k != EntryKind::GlobalConfig) {
            return Ok(hit);
        }
        // Zimbra's global config has no zimbraId: its id is derived from its DN.
        let place = self.dit.place(EntryKind::GlobalConfig, "")?;
        if derived_id(&place.dn) != id {
            return Ok(None);
        }
        let config = self
            .read_dn(&place.dn, kind_filter(EntryKind::GlobalConfig))
            .await?;
        Ok(config.filter(|r| r.id() == Some(id)))
    }

    /// Creates the containers in order, ignoring those that exist.
    pub(super) async fn ensure(&self, containers: &[Container]) -> ServiceResult<()> {
        for c in containers {
            let attrs: Vec<(String, Vec<String>)> = c
                .attrs
                .iter()
                .map(|(n, v)| (n.to_string(), v.clone()))
                .collect();
            let (code, text) = self.pool.add(&c.dn, &attrs).await?;
            if code != rc::SUCCESS && code != rc::ALREADY_EXISTS {
                return Err(refused("create container", &c.dn, code, text));
            }
        }
        Ok(())
    }

    /// Deletes `dn` and everything under it, deepest first.
    pub(super) async fn delete_subtree(&self, dn: &str) -> ServiceResult<()> {
        let found = self
            .pool
            .search(dn, Scope::Subtree, "(objectClass=*)", &["1.1"])
            .await?;
        let mut dns: Vec<String> = found.into_iter().map(|e| e.dn).collect();
        dns.sort_by_key(|d| std::cmp::Reverse(Dit::depth(d)));
        for d in dns {
            let (code, text) = self.pool.delete(&d).await?;
            if code != rc::SUCCESS && code != rc::NO_SUCH_OBJECT {
                return Err(refused("delete", &d, code, text));
            }
        }
        Ok(())
    }

    /// Whether `id` belonged to a deleted entry.
    pub(super) async fn is_retired(&self, id: ZimbraId) -> ServiceResult<bool> {
        let (dn, _) = self.dit.retired(&id.to_string());
        Ok(self.read_dn(&dn, "(objectClass=*)").await?.is_some())
    }

    /// Records `id` as retired, for good.
    pub(super) async fn retire(&self, id: ZimbraId, kind: EntryKind) -> ServiceResult<()> {
        let (dn, containers) = self.dit.retired(&id.to_string());
        let attrs = vec![
            ("objectClass".to_string(), vec!["zcsRetiredId".to_string()]),
            ("zimbraId".to_string(), vec![id.to_string()]),
            ("description".to_string(), vec![kind.as_str().to_string()]),
        ];
        for _ in 0..2 {
            let (code, text) = self.pool.add(&dn, &attrs).await?;
            match code {
                rc::SUCCESS | rc::ALREADY_EXISTS => return Ok(()),
                rc::NO_SUCH_OBJECT => self.ensure(&containers).await?,
                _ => return Err(refused("retire id", &dn, code, text)),
            }
        }
        Err(refused("retire id", &dn, rc::NO_SUCH_OBJECT, String::new()))
    }

    /// The entry holding `addr` (lower-cased) through a reservation, else through
    /// Zimbra's attributes.
    pub(super) async fn owner_of(&self, addr: &str) -> ServiceResult<Option<Entry>> {
        let (dn, _) = self.dit.address(addr);
        if let Some(res) = self.read_dn(&dn, "(objectClass=zcsAddress)").await?
            && let Some(id) = res.id()
            && let Some(raw) = self.read_id(None, id).await?
            && let Some(e) = raw.to_entry(&self.dit, None)
            && crate::directory::is_address_kind(e.kind)
            && owns(&e, addr)
        {
            return Ok(Some(e));
        }
        self.attribute_owner(addr).await
    }

    /// The entry holding `addr` by its DN or `zimbraMailAlias`, as Zimbra finds it.
    async fn attribute_owner(&self, addr: &str) -> ServiceResult<Option<Entry>> {
        for kind in [EntryKind::Account, EntryKind::DynamicGroup] {
            let Ok(place) = self.dit.place(kind, addr) else {
                return Ok(None);
            };
            if let Some(raw) = self.read_dn(&place.dn, ADDRESS_KINDS_FILTER).await?
                && let Some(e) = raw.to_entry(&self.dit, None)
                && owns(&e, addr)
            {
                return Ok(Some(e));
            }
        }
        let filter = format!(
            "(&{ADDRESS_KINDS_FILTER}({A_MAIL_ALIAS}={}))",
            filter_value(addr)
        );
        let found = self
            .pool
            .search(self.dit.base(), Scope::Subtree, &filter, READ_ATTRS)
            .await?;
        Ok(found
            .into_iter()
            .filter_map(|se| Raw::from_search(se).to_entry(&self.dit, None))
            .find(|e| owns(e, addr)))
    }

    /// Reserves `addr` (lower-cased) for `id`. Returns whether this call made the
    /// reservation (false: `id` held it already).
    ///
    /// # Errors
    /// `kind`'s "exists" fault when another entry holds the address or is being written
    /// with it.
    pub(super) async fn reserve(
        &self,
        kind: EntryKind,
        addr: &str,
        id: ZimbraId,
    ) -> ServiceResult<bool> {
        let (dn, containers) = self.dit.address(addr);
        let attrs = vec![
            ("objectClass".to_string(), vec!["zcsAddress".to_string()]),
            ("cn".to_string(), vec![addr.to_string()]),
            ("zimbraId".to_string(), vec![id.to_string()]),
        ];
        let mut made = false;
        let mut held = false;
        for _ in 0..3 {
            let (code, text) = self.pool.add(&dn, &attrs).await?;
            match code {
                rc::SUCCESS => {
                    made = true;
                    held = true;
                    break;
                }
                rc::NO_SUCH_OBJECT => self.ensure(&containers).await?,
                rc::ALREADY_EXISTS => {
                    let attrs = ["zimbraId", "createTimestamp"];
                    let found = self
                        .pool
                        .search(&dn, Scope::Base, "(objectClass=*)", &attrs)
                        .await?;
                    let Some(res) = found.into_iter().next().map(Raw::from_search) else {
                        continue; // released meanwhile: try again
                    };
                    if res.id() == Some(id) {
                        held = true;
                        break;
                    }
                    if let Some(owner) = res.id()
                        && let Some(raw) = self.read_id(None, owner).await?
                        && let Some(e) = raw.to_entry(&self.dit, None)
                        && owns(&e, addr)
                    {
                        return Err(exists_fault(kind, addr));
                    }
                    if !is_stale(res.attrs.get("createTimestamp")) {
                        return Err(exists_fault(kind, addr));
                    }
                    tracing::info!(
                        address = %addr,
                        "directory LDAP: taking over a stale address reservation"
                    );
                    let (code, text) = self.pool.delete(&dn).await?;
                    if code != rc::SUCCESS && code != rc::NO_SUCH_OBJECT {
                        return Err(refused("release stale address", &dn, code, text));
                    }
                }
                _ => return Err(refused("reserve address", &dn, code, text)),
            }
        }
        if !held {
            return Err(refused(
                "reserve address",
                &dn,
                rc::ALREADY_EXISTS,
                "contended".into(),
            ));
        }
        // A directory written by Zimbra has no reservations: ask its attributes too.
        if let Some(e) = self.attribute_owner(addr).await?
            && e.id != id
        {
            if made {
                self.release(addr, id).await?;
            }
            return Err(exists_fault(kind, addr));
        }
        Ok(made)
    }

    /// Drops the reservation of `addr` if `id` holds it.
    pub(super) async fn release(&self, addr: &str, id: ZimbraId) -> ServiceResult<()> {
        let (dn, _) = self.dit.address(addr);
        let filter = format!("(zimbraId={})", filter_value(&id.to_string()));
        if self.read_dn(&dn, &filter).await?.is_some() {
            let (code, text) = self.pool.delete(&dn).await?;
            if code != rc::SUCCESS && code != rc::NO_SUCH_OBJECT {
                return Err(refused("release address", &dn, code, text));
            }
        }
        Ok(())
    }

    /// Releases every address in `addrs` held by `id`, logging failures (used on paths
    /// that already report another error).
    pub(super) async fn release_all(&self, addrs: &[String], id: ZimbraId) {
        for a in addrs {
            if let Err(e) = self.release(a, id).await {
                tracing::warn!(address = %a, error = %e, "directory LDAP: address not released");
            }
        }
    }
}

/// Whether a reservation created at `stamp` (generalized time) is old enough to take over.
// LIMITATION: `stamp` is the LDAP server's clock and the comparison uses this host's; a
// skew of more than `STALE_AFTER` between them makes a crashed writer's reservation block
// for longer, or an in-flight one look stale early.
fn is_stale(stamp: Option<&str>) -> bool {
    let Some(stamp) = stamp else {
        return true;
    };
    match NaiveDateTime::parse_from_str(stamp, "%Y%m%d%H%M%SZ") {
        Ok(t) => Utc::now().naive_utc() - t > STALE_AFTER,
        Err(_) => true,
    }
}

/// The failure for an error result.
pub(super) fn refused(step: &'static str, dn: &str, code: u32, text: String) -> ServiceError {
    super::LdapDirectoryError::Refused {
        step,
        dn: dn.to_string(),
        rc: code,
        text,
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staleness() {
        assert!(is_stale(None));
        assert!(is_stale(Some("20000101000000Z")));
        let now = Utc::now().format("%Y%m%d%H%M%SZ").to_string();
        assert!(!is_stale(Some(&now)));
    }

    #[test]
    fn addresses_are_lower_cased_and_unique() {
        let mut a = Attrs::new();
        a.add(A_MAIL_ALIAS, "B@x.test");
        a.add(A_MAIL_ALIAS, "a@X.test");
        assert_eq!(addresses_of("A@x.test", &a), ["a@x.test", "b@x.test"]);
    }
}
