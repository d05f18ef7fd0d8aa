//! An account's identities (personas), signatures and data sources: entries that belong
//! to one account, named uniquely within it (`zmprov cid`/`csig`/`cds` and friends).
//!
//! Storage, backend-neutral: an entry of kind Identity, Signature or DataSource whose
//! directory name is `<account name>/<name>` (the LDAP backend places it under the
//! account's entry, as Zimbra does; renaming the account renames its children), with the
//! name in `zimbraPrefIdentityName` / `zimbraSignatureName` /
//! `zimbraDataSourceName` and the entry's id in `zimbraPrefIdentityId` /
//! `zimbraSignatureId` / `zimbraDataSourceId`, as Zimbra's schema has them. The default
//! identity is the account itself and is shown, not stored.

use zcs_core::{
    AttrEdit, Attrs, Entry, EntryKind, FaultCode, ServiceError, ServiceResult, ZimbraId,
};

use super::Provisioning;
use super::lists::zimbra_fault;
use crate::directory::EntryKey;
use crate::validate::{check_attrs, check_edits, generalized_time_now};

/// The name of the identity every account has (the account itself).
pub const DEFAULT_IDENTITY: &str = "DEFAULT";

/// Which of the three child entry kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Child {
    Identity,
    Signature,
    DataSource,
}

impl Child {
    /// The directory kind.
    pub fn kind(self) -> EntryKind {
        match self {
            Child::Identity => EntryKind::Identity,
            Child::Signature => EntryKind::Signature,
            Child::DataSource => EntryKind::DataSource,
        }
    }

    /// The attribute holding the child's name.
    pub fn name_attr(self) -> &'static str {
        match self {
            Child::Identity => "zimbraPrefIdentityName",
            Child::Signature => "zimbraSignatureName",
            Child::DataSource => "zimbraDataSourceName",
        }
    }

    /// The attribute holding the child's id.
    pub fn id_attr(self) -> &'static str {
        match self {
            Child::Identity => "zimbraPrefIdentityId",
            Child::Signature => "zimbraSignatureId",
            Child::DataSource => "zimbraDataSourceId",
        }
    }

    fn object_class(self) -> &'static str {
        match self {
            Child::Identity => "zimbraIdentity",
            Child::Signature => "zimbraSignature",
            Child::DataSource => "zimbraDataSource",
        }
    }

    fn max_attr(self) -> &'static str {
        match self {
            Child::Identity => "zimbraIdentityMaxNumEntries",
            Child::Signature => "zimbraSignatureMaxNumEntries",
            Child::DataSource => "zimbraDataSourceMaxNumEntries",
        }
    }

    fn word(self) -> &'static str {
        match self {
            Child::Identity => "IDENTITY",
            Child::Signature => "SIGNATURE",
            Child::DataSource => "DATA_SOURCE",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Child::Identity => "IDENTITIES",
            Child::Signature => "SIGNATURES",
            Child::DataSource => "DATA_SOURCES",
        }
    }

    fn no_such(self, key: &str) -> ServiceError {
        zimbra_fault(
            &format!("account.NO_SUCH_{}", self.word()),
            FaultCode::NoSuchItem,
            format!(
                "no such {}: {key}",
                self.word().to_lowercase().replace('_', " ")
            ),
        )
    }
}

/// The stored name of a child of the account named `owner`.
fn child_name(owner: &str, name: &str) -> String {
    format!("{}/{name}", owner.to_lowercase())
}

/// The name of a child, without its owner prefix. Child names hold no `/`, so the owner
/// is everything before the last one (a local part may hold a `/`).
pub fn short_name(e: &Entry) -> &str {
    e.name.rsplit_once('/').map_or(e.name.as_str(), |(_, n)| n)
}

fn check_child_name(name: &str) -> ServiceResult<&str> {
    let name = name.trim();
    if name.is_empty() || name.contains('/') || name.chars().any(char::is_control) {
        return Err(ServiceError::invalid_request(format!(
            "invalid name: {name:?}"
        )));
    }
    Ok(name)
}

impl Provisioning {
    /// Creates a child of the account `account` named `name` with `attrs` (`zmprov cid`,
    /// `csig`, `cds`). A data source also needs `data_source_type` (`pop3`, `imap`,
    /// `caldav`, `rss`, `gal`, ...), stored in `zimbraDataSourceType`.
    ///
    /// # Errors
    /// `account.NO_SUCH_ACCOUNT`; `service.INVALID_REQUEST` for an empty name or one
    /// holding `/`; `IDENTITY_EXISTS`-style faults (`mail.ALREADY_EXISTS` with the exact
    /// code leading the message) for a name in use (including `DEFAULT` for identities);
    /// `TOO_MANY_IDENTITIES`-style faults past `zimbra*MaxNumEntries`; invalid
    /// attribute faults.
    pub async fn create_child(
        &self,
        child: Child,
        account: &str,
        name: &str,
        data_source_type: Option<&str>,
        attrs: Attrs,
    ) -> ServiceResult<Entry> {
        let acct = self.get_account(account).await?;
        self.check_addresses_writable(&[&acct.name]).await?;
        let name = check_child_name(name)?;
        let exists = || {
            zimbra_fault(
                &format!("account.{}_EXISTS", child.word()),
                FaultCode::AlreadyExists,
                format!("{name} already exists"),
            )
        };
        if child == Child::Identity && name.eq_ignore_ascii_case(DEFAULT_IDENTITY) {
            return Err(exists());
        }
        let have = self.own_children(child, &acct.name).await?;
        if have
            .iter()
            .any(|c| short_name(c).eq_ignore_ascii_case(name))
        {
            return Err(exists());
        }
        let ctx = self.account_context(&acct).await?;
        let max = ctx
            .scope()
            .get(child.max_attr())
            .first()
            .and_then(|v| v.parse::<usize>().ok());
        // Zimbra counts identities with the DEFAULT one (the account itself) and has no
        // "0 is unlimited" for them: at 20 an account holds DEFAULT and 19 more, at 0
        // none can be created (spec 02 §6 idea 62).
        let over = match child {
            Child::Identity => have.len() + 1 >= max.unwrap_or(20),
            _ => max.is_some_and(|m| m > 0 && have.len() >= m),
        };
        if over {
            let max = max.unwrap_or(20);
            return Err(zimbra_fault(
                &format!("account.TOO_MANY_{}", child.plural()),
                FaultCode::InvalidRequest,
                format!("{} allows at most {max}", child.max_attr()),
            ));
        }

        let mut attrs = check_attrs(child.kind(), &attrs)?;
        if child == Child::Signature {
            self.check_signature_attrs(&acct, &attrs).await?;
        }
        let id = ZimbraId::new();
        let mut classes = vec![child.object_class().to_string()];
        if let Some(t) = data_source_type {
            let t = t.trim().to_ascii_lowercase();
            if t.is_empty() || !t.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(ServiceError::invalid_request("invalid data source type"));
            }
            classes.push(format!(
                "zimbra{}{}DataSource",
                t[..1].to_uppercase(),
                &t[1..]
            ));
            attrs.set_one("zimbraDataSourceType", t);
        } else if child == Child::DataSource {
            return Err(ServiceError::invalid_request("a data source needs a type"));
        }
        attrs.set("objectClass", classes);
        attrs.set_one(child.name_attr(), name);
        attrs.set_one(child.id_attr(), id.to_string());
        attrs.set_one("zimbraCreateTimestamp", generalized_time_now());
        let e = self
            .dir
            .create_entry_with_id(child.kind(), id, &child_name(&acct.name, name), attrs)
            .await
            .map_err(|e| {
                if e.code == FaultCode::Failure {
                    e
                } else {
                    exists()
                }
            })?;
        tracing::info!(account = %acct.name, kind = %child.kind(), name = %name, "created");
        Ok(e)
    }

    /// The account's children of one kind, by name. For identities the `DEFAULT` one
    /// (the account itself: its id, name, `zimbraPrefFromAddress`) comes first.
    ///
    /// # Errors
    /// `account.NO_SUCH_ACCOUNT`.
    pub async fn get_children(&self, child: Child, account: &str) -> ServiceResult<Vec<Entry>> {
        let acct = self.get_account(account).await?;
        let mut out = Vec::new();
        if child == Child::Identity {
            let mut attrs = Attrs::new();
            attrs.set_one("objectClass", "zimbraIdentity");
            attrs.set_one("zimbraPrefIdentityName", DEFAULT_IDENTITY);
            attrs.set_one("zimbraPrefIdentityId", acct.id.to_string());
            let from = acct
                .attrs
                .get("zimbraPrefFromAddress")
                .unwrap_or(&acct.name);
            attrs.set_one("zimbraPrefFromAddress", from);
            for a in [
                "zimbraPrefFromDisplay",
                "zimbraPrefReplyToAddress",
                "zimbraPrefDefaultSignatureId",
            ] {
                if let Some(v) = acct.attrs.get(a) {
                    attrs.set_one(a, v);
                }
            }
            out.push(Entry {
                kind: EntryKind::Identity,
                id: acct.id,
                name: child_name(&acct.name, DEFAULT_IDENTITY),
                attrs,
            });
        }
        out.extend(self.own_children(child, &acct.name).await?);
        Ok(out)
    }

    /// The stored children of `owner`.
    ///
    /// Cost: lists every entry of the kind (the seam has no prefix search).
    // LIMITATION: a scan of the kind; a per-owner listing in the Directory seam would
    // make it proportional to the account's own children.
    async fn own_children(&self, child: Child, owner: &str) -> ServiceResult<Vec<Entry>> {
        let prefix = format!("{}/", owner.to_lowercase());
        let mut v: Vec<Entry> = self
            .dir
            .list_entries(child.kind(), None)
            .await?
            .into_iter()
            .filter(|e| e.name.to_lowercase().starts_with(&prefix))
            .collect();
        v.sort_by_key(|e| short_name(e).to_lowercase());
        Ok(v)
    }

    /// The child named (or with the id) `key` of `account`.
    ///
    /// # Errors
    /// `account.NO_SUCH_ACCOUNT`; `NO_SUCH_IDENTITY`-style faults (`mail.NO_SUCH_ITEM`).
    pub async fn get_child(&self, child: Child, account: &str, key: &str) -> ServiceResult<Entry> {
        let acct = self.get_account(account).await?;
        let key = key.trim();
        self.own_children(child, &acct.name)
            .await?
            .into_iter()
            .find(|c| {
                short_name(c).eq_ignore_ascii_case(key) || c.id.to_string() == key.to_lowercase()
            })
            .ok_or_else(|| child.no_such(key))
    }

    /// Validates and applies `edits` to a child (`mid`, `msig`, `mds`). An edit of its
    /// name attribute renames it (refused when the new name is taken); its id attribute
    /// cannot change.
    ///
    /// # Errors
    /// As [`Provisioning::get_child`]; invalid attribute faults; the `_EXISTS` fault.
    pub async fn modify_child(
        &self,
        child: Child,
        account: &str,
        key: &str,
        edits: &[AttrEdit],
    ) -> ServiceResult<Entry> {
        let c = self.get_child(child, account, key).await?;
        let acct = self.get_account(account).await?;
        self.check_addresses_writable(&[&acct.name]).await?;
        let edits = check_edits(child.kind(), &c.attrs, edits)?;
        if child == Child::Signature {
            self.check_signature_edits(&acct, &edits).await?;
        }
        if edits
            .iter()
            .any(|e| e.name().eq_ignore_ascii_case(child.id_attr()))
        {
            return Err(ServiceError::invalid_request(format!(
                "{} can not change",
                child.id_attr()
            )));
        }
        let new_name = edits.iter().find_map(|e| match e {
            AttrEdit::Replace(n, v) if n.eq_ignore_ascii_case(child.name_attr()) => {
                v.first().cloned()
            }
            _ => None,
        });
        let out = match new_name {
            Some(n) if !n.eq_ignore_ascii_case(short_name(&c)) => {
                let n = check_child_name(&n)?.to_string();
                let owner = c.name.rsplit_once('/').map_or("", |(o, _)| o).to_string();
                self.dir
                    .rename_and_modify(child.kind(), c.id, &format!("{owner}/{n}"), &edits)
                    .await
                    .map_err(|e| {
                        if e.code == FaultCode::Failure {
                            e
                        } else {
                            zimbra_fault(
                                &format!("account.{}_EXISTS", child.word()),
                                FaultCode::AlreadyExists,
                                format!("{n} already exists"),
                            )
                        }
                    })?
            }
            _ => self.dir.modify_entry(child.kind(), c.id, &edits).await?,
        };
        Ok(out)
    }

    /// Deletes a child (`did`, `dsig`, `dds`).
    ///
    /// # Errors
    /// As [`Provisioning::get_child`].
    pub async fn delete_child(&self, child: Child, account: &str, key: &str) -> ServiceResult<()> {
        let c = self.get_child(child, account, key).await?;
        let acct = self.get_account(account).await?;
        self.check_addresses_writable(&[&acct.name]).await?;
        self.dir.delete_entry(child.kind(), c.id).await?;
        Ok(())
    }

    /// Deletes every child of an account about to be deleted.
    pub(super) async fn delete_children(&self, acct: &Entry) -> ServiceResult<()> {
        for child in [Child::Identity, Child::Signature, Child::DataSource] {
            for c in self.own_children(child, &acct.name).await? {
                self.dir.delete_entry(child.kind(), c.id).await?;
            }
        }
        Ok(())
    }

    /// After an account moved from `old` to `new`, renames its children to the new
    /// owner prefix. A backend that already moved them with the account (LDAP moves a
    /// subtree) is left alone: each child is re-read and skipped when already renamed.
    pub(super) async fn rename_children(&self, old: &str, new: &str) -> ServiceResult<()> {
        let old_prefix = format!("{}/", old.to_lowercase());
        for child in [Child::Identity, Child::Signature, Child::DataSource] {
            for c in self.own_children(child, old).await? {
                let key = EntryKey::Id(c.id);
                let Some(now) = self.dir.get_entry(child.kind(), &key).await? else {
                    continue;
                };
                if now.name.to_lowercase().starts_with(&old_prefix) {
                    let renamed = child_name(new, short_name(&now));
                    self.dir.rename_entry(child.kind(), c.id, &renamed).await?;
                }
            }
        }
        Ok(())
    }
}
