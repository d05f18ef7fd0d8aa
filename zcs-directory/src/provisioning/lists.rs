//! Distribution lists and what static lists and dynamic groups share: creation, lookup
//! by name, id or alias, members (static members are stored, as in Zimbra, in the list's
//! `zimbraMailForwardingAddress`), aliases, rename, delete, and reverse membership
//! (`zmprov gdlm` / `gam`) with nesting.
//!
//! Dynamic groups (memberURL) are in `groups`; owners and the send/view rights in `acl`;
//! expansion for the MTA in `resolve`.

use std::collections::HashSet;

use zcs_core::{
    AttrEdit, Attrs, Entry, EntryKind, FaultCode, ServiceError, ServiceResult, ZimbraId,
};

use super::addresses::{alias_add_edits, alias_remove_edits, renamed_addresses};
use super::{Provisioning, default_attr, edit_names};
use crate::directory::{A_MAIL_ALIAS, EntryKey};
use crate::names::{normalize_address, split_address};
use crate::validate::{check_attrs, check_edits, generalized_time_now};

/// Where a static list keeps its members.
pub const A_MEMBERS: &str = "zimbraMailForwardingAddress";

/// A fault with the exact Zimbra code `code` (e.g. `account.NO_SUCH_MEMBER`) where
/// `zcs_core::FaultCode` has none: the nearest code, and the exact one leading the message.
// LIMITATION: zcs-core's FaultCode lacks NO_SUCH_MEMBER, IDENTITY_EXISTS,
// TOO_MANY_IDENTITIES, ... ; the exact code travels in the message until it has them.
pub(crate) fn zimbra_fault(
    code: &str,
    near: FaultCode,
    msg: impl std::fmt::Display,
) -> ServiceError {
    let short = code.trim_start_matches("account.");
    let exact = FaultCode::from_zimbra(code).unwrap_or(near);
    ServiceError::new(exact, format!("{short}: {msg}"))
}

/// Whether `e` is a static list or a dynamic group.
pub fn is_group(e: &Entry) -> bool {
    matches!(
        e.kind,
        EntryKind::DistributionList | EntryKind::DynamicGroup
    )
}

/// Every address an entry answers to, once each: its name and its aliases, lower-cased.
pub(crate) fn addresses_of(e: &Entry) -> Vec<String> {
    let mut out = vec![e.name.to_lowercase()];
    for a in e.attrs.get_all(A_MAIL_ALIAS) {
        let a = a.to_lowercase();
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

impl Provisioning {
    /// Creates a static distribution list (`zmprov cdl`). The name is an address in an
    /// existing domain (no spaces); the list gets `mail`, `uid`, its own address in
    /// `zimbraMailAlias` (as Zimbra's lists hold it; [`super::aliases_of`] leaves it
    /// out), `zimbraMailStatus enabled` (it can receive mail at once),
    /// `zimbraCreateTimestamp` and the `zimbraDistributionList` object class. A
    /// `memberURL` makes it a dynamic group instead (see
    /// [`Provisioning::create_dynamic_group`]).
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` for a malformed name; `account.NO_SUCH_DOMAIN`;
    /// `account.DISTRIBUTION_LIST_EXISTS` when the address (or an alias) is taken by any
    /// account, list or alias; invalid attribute faults.
    pub async fn create_distribution_list(&self, name: &str, attrs: Attrs) -> ServiceResult<Entry> {
        if attrs.contains("memberURL") {
            return self.create_dynamic_group(name, attrs).await;
        }
        let mut attrs = attrs;
        attrs.set("objectClass", vec!["zimbraDistributionList".into()]);
        self.create_group_entry(EntryKind::DistributionList, name, attrs)
            .await
    }

    /// The creation steps static lists and dynamic groups share.
    pub(super) async fn create_group_entry(
        &self,
        kind: EntryKind,
        name: &str,
        attrs: Attrs,
    ) -> ServiceResult<Entry> {
        let addr = normalize_address(name)?;
        let (local, domain) = split_address(&addr).expect("normalised address has an @");
        let (local, domain) = (local.to_string(), domain.to_string());
        let dom = self.get_domain(&EntryKey::Name(domain)).await?;
        super::domain_rules::check_entry_writable(&dom)?;
        let classes = attrs.get_all("objectClass").to_vec();
        let mut checked = Attrs::new();
        for (n, v) in attrs.iter() {
            if !n.eq_ignore_ascii_case("objectClass") {
                checked.set(n, v.to_vec());
            }
        }
        let mut attrs = check_attrs(kind, &checked)?;
        let aliases = attrs.get_all(A_MAIL_ALIAS).to_vec();
        let mut normalised = Vec::new();
        if kind == EntryKind::DistributionList {
            normalised.push(addr.clone());
        }
        for a in &aliases {
            let a = self.check_new_alias(a).await?;
            if !normalised.contains(&a) {
                normalised.push(a);
            }
        }
        // Every alias is an address of the list in `mail` too, as in Zimbra.
        let mut mail = vec![addr.clone()];
        mail.extend(normalised.iter().filter(|a| **a != addr).cloned());
        attrs.set(A_MAIL_ALIAS, normalised);
        let members = attrs.get_all(A_MEMBERS).to_vec();
        attrs.set(A_MEMBERS, normalize_members(&members)?);
        attrs.set("objectClass", classes);
        attrs.set("mail", mail);
        attrs.set_one("uid", local.clone());
        default_attr(&mut attrs, "cn", local);
        default_attr(&mut attrs, "zimbraMailStatus", "enabled");
        attrs.set_one("zimbraCreateTimestamp", generalized_time_now());
        let e = self
            .dir
            .create_entry(kind, &addr, attrs)
            .await
            .map_err(|e| {
                if e.code == FaultCode::AccountExists {
                    ServiceError::new(
                        FaultCode::DistributionListExists,
                        format!("email address already exists: {addr}"),
                    )
                } else {
                    e
                }
            })?;
        tracing::info!(list = %addr, id = %e.id, kind = %kind, "distribution list created");
        Ok(e)
    }

    /// The static list or dynamic group whose name, alias or id is `key`.
    pub async fn find_group(&self, key: &str) -> ServiceResult<Option<Entry>> {
        let key = key.trim();
        if let Ok(id) = key.parse::<ZimbraId>() {
            for kind in [EntryKind::DistributionList, EntryKind::DynamicGroup] {
                if let Some(e) = self.dir.get_entry(kind, &EntryKey::Id(id)).await? {
                    return Ok(Some(e));
                }
            }
            return Ok(None);
        }
        let Ok(addr) = normalize_address(key) else {
            return Ok(None);
        };
        Ok(self.dir.find_by_address(&addr).await?.filter(is_group))
    }

    /// [`Provisioning::find_group`] or `account.NO_SUCH_DISTRIBUTION_LIST`.
    pub async fn get_group(&self, key: &str) -> ServiceResult<Entry> {
        self.find_group(key).await?.ok_or_else(|| {
            ServiceError::new(
                FaultCode::NoSuchDistributionList,
                format!("no such distribution list: {}", key.trim()),
            )
        })
    }

    /// Every static list and dynamic group, by name; with `domain`, only that domain's
    /// (`zmprov gadl`).
    ///
    /// # Errors
    /// `account.NO_SUCH_DOMAIN` for an unknown `domain`.
    pub async fn all_groups(&self, domain: Option<&str>) -> ServiceResult<Vec<Entry>> {
        let domain = match domain {
            Some(d) => Some(self.get_domain(&EntryKey::Name(d.into())).await?.name),
            None => None,
        };
        let mut out = self
            .dir
            .list_entries(EntryKind::DistributionList, domain.as_deref())
            .await?;
        out.extend(
            self.dir
                .list_entries(EntryKind::DynamicGroup, domain.as_deref())
                .await?,
        );
        out.sort_by_key(|e| e.name.to_lowercase());
        Ok(out)
    }

    /// Validates and applies `edits` to a list or group (`zmprov mdl`). `mail`, `uid` and
    /// `zimbraMailAlias` change through rename and the alias calls; dynamic groups
    /// also refuse `zimbraIsACLGroup` edits and `memberURL` edits of ACL groups.
    ///
    /// # Errors
    /// `account.NO_SUCH_DISTRIBUTION_LIST`; invalid attribute faults;
    /// `service.INVALID_REQUEST` for an immutable attribute.
    pub async fn modify_group(&self, key: &str, edits: &[AttrEdit]) -> ServiceResult<Entry> {
        let g = self.get_group(key).await?;
        self.check_addresses_writable(&[&g.name]).await?;
        let mut edits = check_edits(g.kind, &g.attrs, edits)?;
        if g.kind == EntryKind::DynamicGroup {
            super::groups::check_dynamic_edits(&g, &edits)?;
        }
        for e in edits.iter_mut() {
            if e.name().eq_ignore_ascii_case(A_MEMBERS) {
                *e = match e {
                    AttrEdit::Replace(n, v) => AttrEdit::Replace(n.clone(), normalize_members(v)?),
                    AttrEdit::Add(n, v) => AttrEdit::Add(n.clone(), normalize_member(v)?),
                    AttrEdit::Remove(n, v) => AttrEdit::Remove(n.clone(), v.to_lowercase()),
                };
            }
        }
        let out = self.dir.modify_entry(g.kind, g.id, &edits).await?;
        tracing::info!(list = %g.name, attrs = ?edit_names(&edits), "distribution list modified");
        Ok(out)
    }

    /// The direct members of a list: a static list's stored addresses, or the accounts a
    /// dynamic group's `memberURL` selects now.
    ///
    /// Cost: a dynamic group reads every account (of its domain, when its URL names one).
    pub async fn group_members(&self, group: &Entry) -> ServiceResult<Vec<String>> {
        match group.kind {
            EntryKind::DynamicGroup => self.dynamic_members(group).await,
            _ => Ok(group.attrs.get_all(A_MEMBERS).to_vec()),
        }
    }

    /// Adds members to a static list (`zmprov adlm`): each is an address (internal or
    /// external), stored lower-cased; ones already there are skipped. For a dynamic ACL
    /// group, internal accounts join through their `zimbraMemberOf`.
    ///
    /// # Errors
    /// `account.NO_SUCH_DISTRIBUTION_LIST`; `service.INVALID_REQUEST` for a malformed
    /// address, the list itself, or a dynamic group with a custom `memberURL`.
    pub async fn add_group_members(&self, key: &str, members: &[String]) -> ServiceResult<()> {
        let g = self.get_group(key).await?;
        self.check_addresses_writable(&[&g.name]).await?;
        if g.kind == EntryKind::DynamicGroup {
            return self.add_acl_group_members(&g, members).await;
        }
        let own = addresses_of(&g);
        let have: HashSet<String> = g
            .attrs
            .get_all(A_MEMBERS)
            .iter()
            .map(|m| m.to_lowercase())
            .collect();
        let mut edits = Vec::new();
        for m in members {
            let m = normalize_member(m)?;
            if own.contains(&m) {
                return Err(ServiceError::invalid_request(format!(
                    "a list can not be a member of itself: {m}"
                )));
            }
            if !have.contains(&m)
                && !edits
                    .iter()
                    .any(|e| matches!(e, AttrEdit::Add(_, v) if *v == m))
            {
                edits.push(AttrEdit::Add(A_MEMBERS.into(), m));
            }
        }
        if !edits.is_empty() {
            self.dir.modify_entry(g.kind, g.id, &edits).await?;
        }
        tracing::info!(list = %g.name, added = edits.len(), "distribution list members added");
        Ok(())
    }

    /// Removes members from a list (`zmprov rdlm`); nothing changes unless every one is
    /// a member.
    ///
    /// # Errors
    /// `account.NO_SUCH_DISTRIBUTION_LIST`; `account.NO_SUCH_MEMBER` (as
    /// `service.INVALID_REQUEST` with that code leading the message) for an address that
    /// is not a member.
    pub async fn remove_group_members(&self, key: &str, members: &[String]) -> ServiceResult<()> {
        let g = self.get_group(key).await?;
        self.check_addresses_writable(&[&g.name]).await?;
        if g.kind == EntryKind::DynamicGroup {
            return self.remove_acl_group_members(&g, members).await;
        }
        let stored = g.attrs.get_all(A_MEMBERS);
        let mut edits = Vec::new();
        for m in members {
            let wanted = m.trim().to_lowercase();
            let Some(s) = stored.iter().find(|s| s.eq_ignore_ascii_case(&wanted)) else {
                return Err(zimbra_fault(
                    "account.NO_SUCH_MEMBER",
                    FaultCode::InvalidRequest,
                    format!("{} is not a member of {}", m.trim(), g.name),
                ));
            };
            edits.push(AttrEdit::Remove(A_MEMBERS.into(), s.clone()));
        }
        self.dir.modify_entry(g.kind, g.id, &edits).await?;
        tracing::info!(list = %g.name, removed = edits.len(), "distribution list members removed");
        Ok(())
    }

    /// Deletes a list or group (`zmprov ddl`) and removes its addresses from every
    /// static list that held them.
    ///
    /// # Errors
    /// `account.NO_SUCH_DISTRIBUTION_LIST`.
    pub async fn delete_group(&self, key: &str) -> ServiceResult<()> {
        let g = self.get_group(key).await?;
        self.check_addresses_writable(&[&g.name]).await?;
        if g.kind == EntryKind::DynamicGroup {
            self.forget_acl_group(&g).await?;
        }
        self.dir.delete_entry(g.kind, g.id).await?;
        self.remove_from_all_lists(&addresses_of(&g)).await?;
        tracing::info!(list = %g.name, id = %g.id, "distribution list deleted");
        Ok(())
    }

    /// Renames a list or group (`zmprov rdl`), keeping its id; lists that held the old
    /// address now hold the new one. `mail` and `zimbraMailAlias` follow the new name
    /// (a static list keeps its own address among its `zimbraMailAlias` values), and
    /// when the domain changes, aliases in the old domain move to the new one.
    ///
    /// # Errors
    /// `account.NO_SUCH_DISTRIBUTION_LIST`; `service.INVALID_REQUEST`;
    /// `account.NO_SUCH_DOMAIN`; `account.DISTRIBUTION_LIST_EXISTS`.
    pub async fn rename_group(&self, key: &str, new_name: &str) -> ServiceResult<Entry> {
        let g = self.get_group(key).await?;
        let new_addr = normalize_address(new_name)?;
        let (local, domain) = split_address(&new_addr).expect("normalised address has an @");
        self.get_domain(&EntryKey::Name(domain.to_string())).await?;
        if g.name.eq_ignore_ascii_case(&new_addr) {
            return Ok(g);
        }
        self.check_addresses_writable(&[&g.name, &new_addr]).await?;
        let (mail, aliases) = renamed_addresses(&g, &new_addr);
        let edits = [
            AttrEdit::Replace("mail".into(), mail),
            AttrEdit::Replace("uid".into(), vec![local.to_string()]),
            AttrEdit::Replace(A_MAIL_ALIAS.into(), aliases),
        ];
        let out = self
            .dir
            .rename_and_modify(g.kind, g.id, &new_addr, &edits)
            .await
            .map_err(|e| {
                if e.code == FaultCode::AccountExists {
                    ServiceError::new(FaultCode::DistributionListExists, e.message)
                } else {
                    e
                }
            })?;
        self.replace_in_all_lists(&g.name.to_lowercase(), &new_addr)
            .await?;
        tracing::info!(list = %g.name, new_name = %new_addr, "distribution list renamed");
        Ok(out)
    }

    /// Adds an alias to a list or group (`zmprov adla`).
    ///
    /// # Errors
    /// `account.NO_SUCH_DISTRIBUTION_LIST`; `account.NO_SUCH_DOMAIN`;
    /// `account.ACCOUNT_EXISTS` when the address is taken.
    pub async fn add_group_alias(&self, key: &str, alias: &str) -> ServiceResult<()> {
        let g = self.get_group(key).await?;
        let alias = self.check_new_alias(alias).await?;
        self.check_addresses_writable(&[&g.name]).await?;
        let edits = alias_add_edits(&g, &alias);
        self.dir.modify_entry(g.kind, g.id, &edits).await?;
        tracing::info!(list = %g.name, alias = %alias, "distribution list alias added");
        Ok(())
    }

    /// Removes an alias from a list or group (`zmprov rdla`).
    ///
    /// # Errors
    /// `account.NO_SUCH_DISTRIBUTION_LIST`; `account.NO_SUCH_ALIAS`.
    pub async fn remove_group_alias(&self, key: &str, alias: &str) -> ServiceResult<()> {
        let g = self.get_group(key).await?;
        let wanted = alias.trim().to_lowercase();
        let Some(edits) = alias_remove_edits(&g, &wanted) else {
            return Err(ServiceError::new(
                FaultCode::NoSuchAlias,
                format!("no such alias: {}", alias.trim()),
            ));
        };
        self.check_addresses_writable(&[&g.name, &wanted]).await?;
        self.dir.modify_entry(g.kind, g.id, &edits).await?;
        Ok(())
    }

    /// The lists `key` (an account, list or bare address) belongs to (`zmprov gdlm`,
    /// `gam`): direct memberships first, each as `(list, None)`, then indirect ones
    /// through nesting as `(list, Some(via))`, `via` being the list name it is reached
    /// through. Each list appears once; cycles end.
    ///
    /// Cost: reads every static list, and every dynamic group with its candidates.
    pub async fn group_membership(&self, key: &str) -> ServiceResult<Vec<(Entry, Option<String>)>> {
        let subject = match self.find_account(key).await? {
            Some(a) => Some(a),
            None => self.find_group(key).await?,
        };
        let addrs: Vec<String> = match &subject {
            Some(e) => addresses_of(e),
            None => vec![normalize_address(key)?],
        };
        let lists = self
            .dir
            .list_entries(EntryKind::DistributionList, None)
            .await?;
        let holds = |l: &Entry, addrs: &[String]| {
            l.attrs
                .get_all(A_MEMBERS)
                .iter()
                .any(|m| addrs.iter().any(|a| a.eq_ignore_ascii_case(m)))
        };

        let mut out: Vec<(Entry, Option<String>)> = Vec::new();
        let mut seen: HashSet<ZimbraId> = subject.iter().map(|s| s.id).collect();
        for l in lists.iter().filter(|l| holds(l, &addrs)) {
            if seen.insert(l.id) {
                out.push((l.clone(), None));
            }
        }
        if let Some(acct) = subject.as_ref().filter(|s| !is_group(s)) {
            for g in self.dir.list_entries(EntryKind::DynamicGroup, None).await? {
                if self.dynamic_contains(&g, acct).await? && seen.insert(g.id) {
                    out.push((g, None));
                }
            }
        }
        let mut i = 0;
        while i < out.len() {
            let child = out[i].0.clone();
            let child_addrs = addresses_of(&child);
            for l in lists.iter().filter(|l| holds(l, &child_addrs)) {
                if seen.insert(l.id) {
                    out.push((l.clone(), Some(child.name.clone())));
                }
            }
            i += 1;
        }
        Ok(out)
    }

    /// Removes `addrs` from the members of every static list (when an account is
    /// closed or deleted, or a list is deleted).
    ///
    /// Cost: reads every static list.
    pub(crate) async fn remove_from_all_lists(&self, addrs: &[String]) -> ServiceResult<()> {
        for l in self
            .dir
            .list_entries(EntryKind::DistributionList, None)
            .await?
        {
            let edits: Vec<AttrEdit> = l
                .attrs
                .get_all(A_MEMBERS)
                .iter()
                .filter(|m| addrs.iter().any(|a| a.eq_ignore_ascii_case(m)))
                .map(|m| AttrEdit::Remove(A_MEMBERS.into(), m.clone()))
                .collect();
            if !edits.is_empty() {
                self.dir.modify_entry(l.kind, l.id, &edits).await?;
            }
        }
        Ok(())
    }

    /// Replaces member `old` by `new` in every static list holding it.
    pub(crate) async fn replace_in_all_lists(&self, old: &str, new: &str) -> ServiceResult<()> {
        for l in self
            .dir
            .list_entries(EntryKind::DistributionList, None)
            .await?
        {
            if let Some(m) = l
                .attrs
                .get_all(A_MEMBERS)
                .iter()
                .find(|m| m.eq_ignore_ascii_case(old))
            {
                let edits = [
                    AttrEdit::Remove(A_MEMBERS.into(), m.clone()),
                    AttrEdit::Add(A_MEMBERS.into(), new.to_lowercase()),
                ];
                self.dir.modify_entry(l.kind, l.id, &edits).await?;
            }
        }
        Ok(())
    }
}

/// A member address as stored: trimmed, lower-cased, and well-formed.
fn normalize_member(m: &str) -> ServiceResult<String> {
    normalize_address(m)
}

fn normalize_members(ms: &[String]) -> ServiceResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for m in ms {
        let m = normalize_member(m)?;
        if !out.contains(&m) {
            out.push(m);
        }
    }
    Ok(out)
}
