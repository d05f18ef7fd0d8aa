//! GAL sync accounts (spec 02 §1.3.4): the system account a domain's GAL is synced into,
//! listed in the domain's `zimbraGalAccountId`, holding one `gal` data source per GAL
//! (internal `zimbra`, or external `ldap`), as Zimbra's CreateGalSyncAccount,
//! AddGalSyncDataSource and DeleteGalSyncAccount requests and `zmgsautil` manage them.
//!
//! In charge of the directory side only: the account (a hidden system account, created
//! when missing), its data sources, the domain's list, and what a sync must write: the
//! enabled sources ([`Provisioning::gal_sync_targets`]) and, per source, every entry of
//! its GAL as contact fields ([`Provisioning::read_gal_sync_source`]: this directory's
//! GAL for an internal source, the whole external directory, paged, for an `ldap` one),
//! and when each sync last succeeded or failed. Writing those contacts into the
//! account's address book is the mail store's business.
//!
//! Trickle sync of external sources ([`Provisioning::read_gal_sync_changes`]): after a
//! full listing, the highest `modifyTimeStamp`/`createTimeStamp` seen is the source's
//! sync token, kept on the data source as the `zimbraDataSourceAttribute` value
//! `galSyncToken:<stamp>` ([`Provisioning::record_gal_sync_token`]). Later syncs ask only
//! for the entries created or changed since, and the caller updates just those contacts.
//! Deletions in the external directory are noticed by full syncs only (the first one, one
//! asked for, or one after the token was lost), as in Zimbra, where `zmgsautil fullSync`
//! or SyncGalAccount `fullSync="1"` does it.

use zcs_core::{AttrEdit, Attrs, Entry, ServiceError, ServiceResult, ZimbraId};

use super::Provisioning;
use super::children::Child;
use super::gal::{attr_map, contact_attrs_with, filter_def, value_maps};
use super::gal_external::{
    ExternalGalConfig, external_contact_with, highest_stamp, is_stamp, list_changed_since,
    list_entries,
};
use crate::directory::EntryKey;
use crate::validate::generalized_time_now;

/// Which GAL a `gal` data source reads (its `zimbraGalType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GalSourceKind {
    /// `zimbra`: this directory's GAL of the domain.
    Internal,
    /// `ldap`: an external directory (`zimbraGalSyncLdapURL`, ...).
    External,
}

impl GalSourceKind {
    /// Parses a `zimbraGalType` value (`zimbra` or `ldap`, any case).
    pub fn parse(gal_type: &str) -> Option<GalSourceKind> {
        match gal_type.trim().to_ascii_lowercase().as_str() {
            "zimbra" => Some(GalSourceKind::Internal),
            "ldap" => Some(GalSourceKind::External),
            _ => None,
        }
    }

    /// The contact field that ties a synced contact to its entry, and what the keys of
    /// [`GalSyncSource::contacts`] are: the entry's `zimbraId` for an internal source;
    /// for an external one the entry's DN (`dn`, as Zimbra's GAL contacts carry it),
    /// since an external entry has no `zimbraId`.
    pub const fn key_field(self) -> &'static str {
        match self {
            GalSourceKind::Internal => "zimbraId",
            GalSourceKind::External => "dn",
        }
    }
}

/// What one `gal` data source of a GAL sync account must hold after a sync.
#[derive(Clone, Debug)]
pub struct GalSyncSource {
    /// The data source's name.
    pub name: String,
    /// Its `zimbraDataSourceFolderId` (a folder name or id), when set.
    pub folder: Option<String>,
    /// Which GAL it reads; [`GalSourceKind::key_field`] names the contacts' key field.
    pub kind: GalSourceKind,
    /// One contact per GAL entry, keyed by the entry's `zimbraId` (internal) or DN
    /// (external): the GAL contact fields (`email`, `fullName`, ... under the source's
    /// or else the domain's `zimbraGalLdapAttrMap`). Never a partial list: reading the
    /// GAL either gives every entry or fails.
    pub contacts: Vec<(String, Attrs)>,
    /// `true` when `contacts` is the whole GAL (contacts of entries not in it are to be
    /// deleted); `false` for a trickle sync, whose `contacts` are only the entries
    /// created or changed since the token (nothing is to be deleted).
    pub complete: bool,
    /// The sync token to record once the contacts are written
    /// ([`Provisioning::record_gal_sync_token`]); `None` for an internal source or an
    /// external directory that gave no stamps.
    pub token: Option<String>,
}

/// The prefix of the `zimbraDataSourceAttribute` value holding an external source's
/// sync token.
pub const TOKEN_PREFIX: &str = "galSyncToken:";

/// An enabled `gal` data source of a GAL sync account, before its GAL is read
/// ([`Provisioning::read_gal_sync_source`]).
#[derive(Clone)]
pub struct GalSyncTarget {
    /// The GAL sync account's id.
    pub account: ZimbraId,
    /// The domain whose `zimbraGalAccountId` lists the account.
    pub domain: String,
    /// The data source's name.
    pub name: String,
    /// Its `zimbraDataSourceFolderId` (a folder name or id), when set.
    pub folder: Option<String>,
    /// Which GAL it reads.
    pub kind: GalSourceKind,
    /// The data source's attributes (connection settings, bind password included).
    attrs: Attrs,
}

impl std::fmt::Debug for GalSyncTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GalSyncTarget")
            .field("account", &self.account)
            .field("domain", &self.domain)
            .field("name", &self.name)
            .field("folder", &self.folder)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The contacts of external `entries` under `cfg`'s attribute and value maps, by DN.
fn external_contacts(
    entries: &[ldap3::SearchEntry],
    cfg: &ExternalGalConfig,
) -> Vec<(String, Attrs)> {
    entries
        .iter()
        .map(|e| {
            (
                e.dn.clone(),
                external_contact_with(e, &cfg.attr_map, &cfg.value_maps),
            )
        })
        .collect()
}

/// A GAL sync account to set up: what CreateGalSyncAccountRequest carries.
#[derive(Clone, Copy, Debug)]
pub struct GalSyncSpec<'a> {
    /// The account (name or id); created when no account has that name.
    pub account: &'a str,
    /// The domain whose GAL it syncs (name or id).
    pub domain: &'a str,
    /// The name of its `gal` data source.
    pub source: &'a str,
    /// `zimbra` (internal GAL) or `ldap` (external).
    pub gal_type: &'a str,
    /// The address book folder the data source fills (a name), when given.
    pub folder: Option<&'a str>,
    /// A password for a new account; without one it cannot log in.
    pub password: Option<&'a str>,
}

/// The attribute map a source applies: its own `zimbraGalLdapAttrMap` when set, else the
/// domain's (`domain_effective`, with the global config's and the registry default).
fn source_attr_map(ds: &Attrs, domain_effective: &Attrs) -> Vec<String> {
    let own = ds.get_all("zimbraGalLdapAttrMap");
    if own.is_empty() {
        attr_map(domain_effective)
    } else {
        own.to_vec()
    }
}

impl GalSyncTarget {
    /// The sync token recorded on the data source by the last sync, when it is a
    /// generalized time.
    pub fn sync_token(&self) -> Option<&str> {
        self.attrs
            .get_all("zimbraDataSourceAttribute")
            .iter()
            .find_map(|v| v.strip_prefix(TOKEN_PREFIX))
            .filter(|t| is_stamp(t))
    }
}

/// The attributes of a new GAL sync account: a system account kept out of the GAL and
/// out of licence counts (spec 02 §1.3.4: "system accounts").
fn system_account_attrs() -> Attrs {
    let mut a = Attrs::new();
    a.set_one("zimbraIsSystemResource", "TRUE");
    a.set_one("zimbraIsSystemAccount", "TRUE");
    a.set_one("zimbraHideInGal", "TRUE");
    a.set_one("zimbraContactMaxNumEntries", "0");
    a
}

impl Provisioning {
    /// Makes `spec.account` a GAL sync account of `spec.domain` with a `gal` data source
    /// named `spec.source`: creates the account when it does not exist (a hidden system
    /// account), adds the data source, and adds the account's id to the domain's
    /// `zimbraGalAccountId`. Returns the account.
    ///
    /// # Errors
    /// `account.NO_SUCH_DOMAIN`; `service.INVALID_REQUEST` for a GAL type other than
    /// `zimbra` or `ldap`; the account's creation faults; the data source's
    /// (`account.DATA_SOURCE_EXISTS` for a name in use).
    pub async fn create_gal_sync_account(&self, spec: &GalSyncSpec<'_>) -> ServiceResult<Entry> {
        let domain = self.get_domain(&EntryKey::parse(spec.domain)).await?;
        let gal_type = spec.gal_type.trim().to_ascii_lowercase();
        if gal_type != "zimbra" && gal_type != "ldap" {
            return Err(ServiceError::invalid_request(format!(
                "invalid GAL type: {} (zimbra or ldap)",
                spec.gal_type
            )));
        }
        let account = match self.find_account(spec.account).await? {
            Some(a) => a,
            None => {
                self.create_account(spec.account, spec.password, system_account_attrs())
                    .await?
            }
        };
        let mut ds = Attrs::new();
        ds.set_one("zimbraGalType", gal_type.as_str());
        ds.set_one("zimbraDataSourceEnabled", "TRUE");
        ds.set_one("zimbraGalStatus", "enabled");
        if let Some(folder) = spec.folder.map(str::trim).filter(|f| !f.is_empty()) {
            ds.set_one("zimbraDataSourceFolderId", folder);
        }
        self.create_child(
            Child::DataSource,
            &account.id.to_string(),
            spec.source,
            Some("gal"),
            ds,
        )
        .await?;
        let listed = domain
            .attrs
            .get_all("zimbraGalAccountId")
            .iter()
            .any(|v| v.eq_ignore_ascii_case(&account.id.to_string()));
        if !listed {
            let add = [AttrEdit::Add(
                "zimbraGalAccountId".into(),
                account.id.to_string(),
            )];
            self.modify_domain(&EntryKey::Id(domain.id), &add).await?;
        }
        tracing::info!(account = %account.name, domain = %domain.name, source = %spec.source,
            "GAL sync account set up");
        self.get_account(&account.id.to_string()).await
    }

    /// The domain whose `zimbraGalAccountId` lists `acct`.
    pub(super) async fn gal_sync_domain(&self, acct: &Entry) -> ServiceResult<Entry> {
        let id = acct.id.to_string();
        for d in self.all_domains().await? {
            let listed = d
                .attrs
                .get_all("zimbraGalAccountId")
                .iter()
                .any(|v| v.eq_ignore_ascii_case(&id));
            if listed {
                return Ok(d);
            }
        }
        Err(ServiceError::invalid_request(format!(
            "{} is not a GAL sync account",
            acct.name
        )))
    }

    /// The enabled `gal` data sources of the GAL sync account `account` (name or id), of
    /// both kinds, in the directory's order. A source is enabled unless its
    /// `zimbraDataSourceEnabled` is `FALSE` or its `zimbraGalStatus` is `disabled`;
    /// sources with another `zimbraGalType` are left out.
    ///
    /// # Errors
    /// `account.NO_SUCH_ACCOUNT`; `service.INVALID_REQUEST` when the account is no
    /// domain's GAL sync account.
    pub async fn gal_sync_targets(&self, account: &str) -> ServiceResult<Vec<GalSyncTarget>> {
        let acct = self.get_account(account).await?;
        let domain = self.gal_sync_domain(&acct).await?;
        let mut out = Vec::new();
        for ds in self
            .get_children(Child::DataSource, &acct.id.to_string())
            .await?
        {
            let a = ds.attrs;
            let Some(kind) = a.get("zimbraGalType").and_then(GalSourceKind::parse) else {
                continue;
            };
            let enabled = !a
                .get("zimbraDataSourceEnabled")
                .is_some_and(|v| v.eq_ignore_ascii_case("FALSE"))
                && !a
                    .get("zimbraGalStatus")
                    .is_some_and(|v| v.eq_ignore_ascii_case("disabled"));
            if !enabled {
                continue;
            }
            out.push(GalSyncTarget {
                account: acct.id,
                domain: domain.name.clone(),
                name: a
                    .get("zimbraDataSourceName")
                    .unwrap_or(&ds.name)
                    .to_string(),
                folder: a.get("zimbraDataSourceFolderId").map(str::to_string),
                kind,
                attrs: a,
            });
        }
        Ok(out)
    }

    /// Where and how the external source `target` reads its directory: see
    /// [`ExternalGalConfig`] for the order of the attributes.
    ///
    /// # Errors
    /// `account.NO_SUCH_DOMAIN`; `service.INVALID_REQUEST` for an internal source, when
    /// no URL is configured, for an unknown named filter, or `kerberos5` binds.
    pub async fn gal_sync_ldap_config(
        &self,
        target: &GalSyncTarget,
    ) -> ServiceResult<ExternalGalConfig> {
        if target.kind != GalSourceKind::External {
            return Err(ServiceError::invalid_request(format!(
                "GAL data source {} is not an ldap source",
                target.name
            )));
        }
        let domain = self
            .get_domain(&EntryKey::Name(target.domain.clone()))
            .await?;
        let eff = self.effective_domain_attrs(&domain).await?;
        let global = self.global_config().await?;
        ExternalGalConfig::resolve(
            &target.attrs,
            &domain,
            &eff,
            source_attr_map(&target.attrs, &eff),
            |name| filter_def(&global, name),
        )
    }

    /// Reads the whole GAL of `target` as contact fields: for an internal source every
    /// GAL entry of its domain (accounts, lists and active resources not hidden from the
    /// GAL, the GAL sync account itself left out), keyed by `zimbraId`; for an external
    /// source every entry of the external directory matching the sync filter, read in
    /// pages and not capped at `zimbraGalMaxResults`, keyed by DN. The caller makes the
    /// source's folder hold exactly these contacts, then reports with
    /// [`Provisioning::record_gal_sync`].
    ///
    /// # Errors
    /// Directory failures; for an external source those of
    /// [`Provisioning::gal_sync_ldap_config`], `service.RESOURCE_UNREACHABLE` when no
    /// server could be reached, `service.FAILURE` for a refused bind (invalid
    /// credentials) or search.
    pub async fn read_gal_sync_source(
        &self,
        target: &GalSyncTarget,
    ) -> ServiceResult<GalSyncSource> {
        let contacts = match target.kind {
            GalSourceKind::Internal => {
                let domain = self
                    .get_domain(&EntryKey::Name(target.domain.clone()))
                    .await?;
                let eff = self.effective_domain_attrs(&domain).await?;
                let map = source_attr_map(&target.attrs, &eff);
                let own = target.attrs.get_all("zimbraGalLdapValueMap");
                let values = if own.is_empty() {
                    value_maps(&eff)
                } else {
                    super::gal_value_map::parse_value_maps(own)
                };
                let contacts = self
                    .sync_gal(&domain.name)
                    .await?
                    .iter()
                    .filter(|e| e.id != target.account)
                    .map(|e| (e.id.to_string(), contact_attrs_with(e, &map, &values)))
                    .collect();
                (contacts, None)
            }
            GalSourceKind::External => {
                let cfg = self.gal_sync_ldap_config(target).await?;
                let entries = list_entries(&cfg).await?;
                let token = highest_stamp(&entries);
                (external_contacts(&entries, &cfg), token)
            }
        };
        let (contacts, token) = contacts;
        Ok(GalSyncSource {
            name: target.name.clone(),
            folder: target.folder.clone(),
            kind: target.kind,
            contacts,
            complete: true,
            token,
        })
    }

    /// What a sync of `target` must write, as little as possible: for an external
    /// source with a recorded sync token ([`GalSyncTarget::sync_token`]) and `full`
    /// unset, only the entries created or modified since the token (a trickle sync:
    /// [`GalSyncSource::complete`] is `false`, nothing is to be deleted, and the token
    /// moves to the highest stamp seen, or stays); otherwise the whole GAL as
    /// [`Provisioning::read_gal_sync_source`] reads it. After writing the contacts the
    /// caller records [`GalSyncSource::token`] with
    /// [`Provisioning::record_gal_sync_token`].
    ///
    /// # Errors
    /// As [`Provisioning::read_gal_sync_source`].
    pub async fn read_gal_sync_changes(
        &self,
        target: &GalSyncTarget,
        full: bool,
    ) -> ServiceResult<GalSyncSource> {
        let token = match (target.kind, target.sync_token()) {
            (GalSourceKind::External, Some(t)) if !full => t.to_string(),
            _ => return self.read_gal_sync_source(target).await,
        };
        let cfg = self.gal_sync_ldap_config(target).await?;
        let entries = list_changed_since(&cfg, &token).await?;
        let next = highest_stamp(&entries).unwrap_or_else(|| token.clone());
        tracing::debug!(source = %target.name, changed = entries.len(), "GAL trickle sync");
        Ok(GalSyncSource {
            name: target.name.clone(),
            folder: target.folder.clone(),
            kind: target.kind,
            contacts: external_contacts(&entries, &cfg),
            complete: false,
            token: Some(next),
        })
    }

    /// Records `token` as the sync token of data source `source` of GAL sync account
    /// `account` (the `zimbraDataSourceAttribute` value `galSyncToken:<token>`, replacing
    /// the previous one; the attribute's other values are kept).
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` for a token that is not a generalized time;
    /// `account.NO_SUCH_ACCOUNT`, `account.NO_SUCH_DATA_SOURCE`.
    pub async fn record_gal_sync_token(
        &self,
        account: &str,
        source: &str,
        token: &str,
    ) -> ServiceResult<()> {
        if !is_stamp(token) {
            return Err(ServiceError::invalid_request(format!(
                "bad GAL sync token {token:?}"
            )));
        }
        let ds = self.get_child(Child::DataSource, account, source).await?;
        let mut values: Vec<String> = ds
            .attrs
            .get_all("zimbraDataSourceAttribute")
            .iter()
            .filter(|v| !v.starts_with(TOKEN_PREFIX))
            .cloned()
            .collect();
        values.push(format!("{TOKEN_PREFIX}{token}"));
        let edit = [AttrEdit::Replace(
            "zimbraDataSourceAttribute".into(),
            values,
        )];
        self.modify_child(Child::DataSource, account, source, &edit)
            .await?;
        Ok(())
    }

    /// What a sync of the internal (`zimbraGalType=zimbra`) sources of the GAL sync
    /// account `account` must write: [`Provisioning::read_gal_sync_source`] of each of
    /// them. External sources are not in it: each reaches its own server and may fail
    /// on its own, so a sync reads them one by one ([`Provisioning::gal_sync_targets`],
    /// then [`Provisioning::read_gal_sync_source`]).
    ///
    /// # Errors
    /// `account.NO_SUCH_ACCOUNT`; `service.INVALID_REQUEST` when the account is no
    /// domain's GAL sync account; directory failures.
    pub async fn gal_sync_plan(&self, account: &str) -> ServiceResult<Vec<GalSyncSource>> {
        let mut out = Vec::new();
        for t in self.gal_sync_targets(account).await? {
            if t.kind == GalSourceKind::Internal {
                out.push(self.read_gal_sync_source(&t).await?);
            }
        }
        Ok(out)
    }

    /// Records the outcome of a sync of data source `source` of GAL sync account
    /// `account`: `zimbraGalLastSuccessfulSyncTimestamp` or
    /// `zimbraGalLastFailedSyncTimestamp` set to now.
    ///
    /// # Errors
    /// `account.NO_SUCH_ACCOUNT`, `account.NO_SUCH_DATA_SOURCE`.
    pub async fn record_gal_sync(
        &self,
        account: &str,
        source: &str,
        ok: bool,
    ) -> ServiceResult<()> {
        let attr = if ok {
            "zimbraGalLastSuccessfulSyncTimestamp"
        } else {
            "zimbraGalLastFailedSyncTimestamp"
        };
        let edit = [AttrEdit::Replace(attr.into(), vec![generalized_time_now()])];
        self.modify_child(Child::DataSource, account, source, &edit)
            .await?;
        Ok(())
    }

    /// The GAL sync accounts of `domain` (its `zimbraGalAccountId`), skipping ids that
    /// name no account.
    ///
    /// # Errors
    /// `account.NO_SUCH_DOMAIN`.
    pub async fn gal_sync_accounts(&self, domain: &str) -> ServiceResult<Vec<Entry>> {
        let d = self.get_domain(&EntryKey::parse(domain)).await?;
        let mut out = Vec::new();
        for id in d.attrs.get_all("zimbraGalAccountId") {
            if let Some(a) = self.find_account(id).await? {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// Deletes a GAL sync account: its id leaves every domain's `zimbraGalAccountId`,
    /// then the account (and its data sources) is deleted.
    ///
    /// # Errors
    /// `account.NO_SUCH_ACCOUNT`; `service.INVALID_REQUEST` when the account is no
    /// domain's GAL sync account.
    pub async fn delete_gal_sync_account(&self, account: &str) -> ServiceResult<()> {
        let acct = self.get_account(account).await?;
        let id = acct.id.to_string();
        let mut found = false;
        for d in self.all_domains().await? {
            let listed = d
                .attrs
                .get_all("zimbraGalAccountId")
                .iter()
                .any(|v| v.eq_ignore_ascii_case(&id));
            if listed {
                found = true;
                let remove = [AttrEdit::Remove("zimbraGalAccountId".into(), id.clone())];
                self.modify_domain(&EntryKey::Id(d.id), &remove).await?;
            }
        }
        if !found {
            return Err(ServiceError::invalid_request(format!(
                "{} is not a GAL sync account",
                acct.name
            )));
        }
        self.delete_account(&id).await?;
        tracing::info!(account = %acct.name, "GAL sync account deleted");
        Ok(())
    }
}
