//! The `Directory` seam: storage of directory entries (global config, servers, domains,
//! COS, accounts, lists, ...) by kind, id and name, with the address index the MTA and
//! the login path resolve through.
//!
//! A backend stores and finds entries and keeps names and addresses unique; it does not
//! validate attribute names or values, fill in defaults or apply inheritance. That is
//! [`crate::Provisioning`]'s job.

use async_trait::async_trait;

use crate::search::{SearchQuery, SearchResults};
use zcs_core::{
    AttrEdit, Attrs, Entry, EntryKind, FaultCode, ServiceError, ServiceResult, ZimbraId,
};

/// The attribute holding an entry's id.
pub const A_ZIMBRA_ID: &str = "zimbraId";

/// The attribute holding the extra addresses of an account, calendar resource or list.
pub const A_MAIL_ALIAS: &str = "zimbraMailAlias";

/// How to find an entry: by its name (compared case-insensitively) or by its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKey {
    Name(String),
    Id(ZimbraId),
}

impl EntryKey {
    /// A key from user input: an id when the text parses as a UUID, a name otherwise.
    /// This is how `zmprov` reads `{name|id}` arguments.
    pub fn parse(text: &str) -> EntryKey {
        match text.trim().parse::<ZimbraId>() {
            Ok(id) => EntryKey::Id(id),
            Err(_) => EntryKey::Name(text.trim().to_string()),
        }
    }
}

impl std::fmt::Display for EntryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EntryKey::Name(n) => f.write_str(n),
            EntryKey::Id(id) => write!(f, "{id}"),
        }
    }
}

/// Whether entries of `kind` are mail recipients whose name is an email address and
/// whose names and `zimbraMailAlias` values share one address space (an address belongs
/// to at most one such entry).
pub fn is_address_kind(kind: EntryKind) -> bool {
    matches!(
        kind,
        EntryKind::Account
            | EntryKind::CalendarResource
            | EntryKind::DistributionList
            | EntryKind::DynamicGroup
    )
}

/// The fault a backend reports when a name or address of an entry of `kind` is taken.
pub fn exists_fault(kind: EntryKind, name: &str) -> ServiceError {
    let code = match kind {
        EntryKind::Domain => FaultCode::DomainExists,
        EntryKind::Cos => FaultCode::CosExists,
        EntryKind::Server => FaultCode::ServerExists,
        EntryKind::DistributionList | EntryKind::DynamicGroup => FaultCode::DistributionListExists,
        EntryKind::Account | EntryKind::CalendarResource => FaultCode::AccountExists,
        _ => FaultCode::AlreadyExists,
    };
    ServiceError::new(code, format!("{kind} already exists: {name}"))
}

/// The fault for a missing entry of `kind`.
pub fn no_such_fault(kind: EntryKind, key: &str) -> ServiceError {
    let code = match kind {
        EntryKind::Domain => FaultCode::NoSuchDomain,
        EntryKind::Cos => FaultCode::NoSuchCos,
        EntryKind::Server => FaultCode::NoSuchServer,
        EntryKind::Alias => FaultCode::NoSuchAlias,
        EntryKind::DistributionList | EntryKind::DynamicGroup => FaultCode::NoSuchDistributionList,
        EntryKind::Account | EntryKind::CalendarResource => FaultCode::NoSuchAccount,
        _ => FaultCode::NoSuchItem,
    };
    ServiceError::new(code, format!("no such {kind}: {key}"))
}

/// Storage of directory entries.
// LIMITATION: the seam has no group membership query (static or dynamic); members are
// resolved by `Provisioning` from list attributes.
///
/// Contract shared by every backend (the conformance tests in `tests/` run against each):
/// - Names compare case-insensitively; the spelling given at creation or rename is kept.
/// - `(kind, name)` is unique. For [`is_address_kind`] kinds, the entry's name and every
///   `zimbraMailAlias` value are also unique across all those kinds together.
/// - Every entry carries its id in the `zimbraId` attribute, which cannot be edited.
/// - Ids are never reused: deleting an entry and creating the same name again yields a
///   new id.
/// - Changes are durable when the call returns and visible to every other handle on the
///   same store, including handles in other processes.
#[async_trait]
pub trait Directory: Send + Sync {
    /// Creates an entry with a fresh [`ZimbraId`]; `attrs` are stored as given plus
    /// `zimbraId`. See [`Directory::create_entry_with_id`] for errors.
    async fn create_entry(
        &self,
        kind: EntryKind,
        name: &str,
        attrs: Attrs,
    ) -> ServiceResult<Entry> {
        self.create_entry_with_id(kind, ZimbraId::new(), name, attrs)
            .await
    }

    /// Creates an entry with a caller-chosen id (restore, import from another directory).
    ///
    /// # Errors
    /// The kind's "exists" fault (`account.ACCOUNT_EXISTS`, `account.DOMAIN_EXISTS`, ...)
    /// when the name, one of its addresses, or the id is taken; `service.FAILURE` when the
    /// store fails.
    async fn create_entry_with_id(
        &self,
        kind: EntryKind,
        id: ZimbraId,
        name: &str,
        attrs: Attrs,
    ) -> ServiceResult<Entry>;

    /// The entry of `kind` with that name or id; `None` when there is none (an entry of
    /// another kind with that id does not count).
    async fn get_entry(&self, kind: EntryKind, key: &EntryKey) -> ServiceResult<Option<Entry>>;

    /// [`Directory::get_entry`] as a shared entry: a cache hands out its copy without
    /// cloning it (what the login path reads the global config and COS through).
    async fn get_shared(
        &self,
        kind: EntryKind,
        key: &EntryKey,
    ) -> ServiceResult<Option<std::sync::Arc<Entry>>> {
        Ok(self.get_entry(kind, key).await?.map(std::sync::Arc::new))
    }

    /// Applies `edits` in order to the entry's attributes, atomically.
    ///
    /// # Errors
    /// The kind's "no such" fault when the entry is gone; the kind's "exists" fault when
    /// an added `zimbraMailAlias` is taken; `service.INVALID_REQUEST` for an edit of
    /// `zimbraId`.
    async fn modify_entry(
        &self,
        kind: EntryKind,
        id: ZimbraId,
        edits: &[AttrEdit],
    ) -> ServiceResult<Entry>;

    /// Changes the entry's name; its id and attributes stay.
    ///
    /// # Errors
    /// The kind's "no such" fault, or its "exists" fault when the new name is taken.
    async fn rename_entry(
        &self,
        kind: EntryKind,
        id: ZimbraId,
        new_name: &str,
    ) -> ServiceResult<Entry>;

    /// Renames the entry and applies `edits` as one change, so a renamed account never
    /// shows its old `mail` under its new name. Backends that can should do it in one
    /// transaction; the default renames, then modifies.
    ///
    /// # Errors
    /// As [`Directory::rename_entry`] and [`Directory::modify_entry`].
    async fn rename_and_modify(
        &self,
        kind: EntryKind,
        id: ZimbraId,
        new_name: &str,
        edits: &[AttrEdit],
    ) -> ServiceResult<Entry> {
        let renamed = self.rename_entry(kind, id, new_name).await?;
        if edits.is_empty() {
            return Ok(renamed);
        }
        self.modify_entry(kind, id, edits).await
    }

    /// Deletes the entry and frees its name and addresses.
    ///
    /// # Errors
    /// The kind's "no such" fault when there is no such entry.
    async fn delete_entry(&self, kind: EntryKind, id: ZimbraId) -> ServiceResult<()>;

    /// Every entry of `kind`, by name; with `domain`, only those whose name is
    /// `something@domain` (case-insensitive).
    ///
    /// Cost: reads every matching entry with its attributes.
    async fn list_entries(
        &self,
        kind: EntryKind,
        domain: Option<&str>,
    ) -> ServiceResult<Vec<Entry>>;

    /// The entries of `q.kinds` (in `q.domain`) matching `q.filter`, sorted, cut at
    /// `q.limit` (with [`SearchResults::more`] set when more matched), with the
    /// attributes `q.attrs` names. Semantics are those of [`crate::search`]; every
    /// backend returns the same answer.
    ///
    /// The default lists every entry of the kinds and filters in memory; the SQL and
    /// LDAP backends push the filter down to the store.
    ///
    /// # Errors
    /// `service.FAILURE` when the store fails.
    async fn search_entries(&self, q: &SearchQuery) -> ServiceResult<SearchResults> {
        let mut all = Vec::new();
        for kind in &q.kinds {
            all.extend(self.list_entries(*kind, q.domain.as_deref()).await?);
        }
        Ok(crate::search::finish(q, all))
    }

    /// The account, calendar resource, distribution list or dynamic group whose name or
    /// `zimbraMailAlias` equals `addr`, compared case-insensitively.
    async fn find_by_address(&self, addr: &str) -> ServiceResult<Option<Entry>>;

    /// How many addresses (names and aliases of [`is_address_kind`] entries) end in
    /// `@domain`. Used to refuse deleting a domain that still holds anything.
    async fn count_addresses_in_domain(&self, domain: &str) -> ServiceResult<u64>;
}
