//! GAL sync accounts (spec 02 §1.3.4): the system account a domain's GAL is synced into,
//! listed in the domain's `zimbraGalAccountId`, holding one `gal` data source per GAL
//! (internal `zimbra`, or external `ldap`), as Zimbra's CreateGalSyncAccount,
//! AddGalSyncDataSource and DeleteGalSyncAccount requests and `zmgsautil` manage them.
//!
//! In charge of the directory side only: the account (a hidden system account, created
//! when missing), its data sources, the domain's list, and what a sync must write
//! ([`Provisioning::gal_sync_plan`]: each internal GAL entry as contact fields, per data
//! source and folder) and when it last succeeded or failed. Writing those contacts into
//! the account's address book is the mail store's business.

use zcs_core::{AttrEdit, Attrs, Entry, ServiceError, ServiceResult};

use super::Provisioning;
use super::children::Child;
use super::gal::{attr_map, contact_attrs};
use crate::directory::EntryKey;
use crate::validate::generalized_time_now;

/// What one `gal` data source of a GAL sync account must hold after a sync.
#[derive(Clone, Debug)]
pub struct GalSyncSource {
    /// The data source's name.
    pub name: String,
    /// Its `zimbraDataSourceFolderId` (a folder name or id), when set.
    pub folder: Option<String>,
    /// One contact per GAL entry, keyed by the entry's `zimbraId`: the GAL contact
    /// fields (`email`, `fullName`, ... under the domain's `zimbraGalLdapAttrMap`).
    pub contacts: Vec<(String, Attrs)>,
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

    /// What a sync of the GAL sync account `account` must write: for each of its enabled
    /// `gal` data sources of type `zimbra`, every GAL entry of the domain whose
    /// `zimbraGalAccountId` lists the account (accounts, lists and active resources not
    /// hidden from the GAL) as contact fields, with the source's folder. The caller
    /// replaces the folder's contacts with these (keyed by `zimbraId`), then reports with
    /// [`Provisioning::record_gal_sync`].
    ///
    /// LIMITATION: `ldap` (external GAL) data sources are left out of the plan.
    ///
    /// # Errors
    /// `account.NO_SUCH_ACCOUNT`; `service.INVALID_REQUEST` when the account is no
    /// domain's GAL sync account.
    pub async fn gal_sync_plan(&self, account: &str) -> ServiceResult<Vec<GalSyncSource>> {
        let acct = self.get_account(account).await?;
        let id = acct.id.to_string();
        let mut domain = None;
        for d in self.all_domains().await? {
            let listed = d
                .attrs
                .get_all("zimbraGalAccountId")
                .iter()
                .any(|v| v.eq_ignore_ascii_case(&id));
            if listed {
                domain = Some(d);
                break;
            }
        }
        let Some(domain) = domain else {
            return Err(ServiceError::invalid_request(format!(
                "{} is not a GAL sync account",
                acct.name
            )));
        };
        let map = attr_map(&self.effective_domain_attrs(&domain).await?);
        let mut entries: Option<Vec<Entry>> = None;
        let mut out = Vec::new();
        for ds in self.get_children(Child::DataSource, &id).await? {
            let a = &ds.attrs;
            let internal = a
                .get("zimbraGalType")
                .is_some_and(|t| t.eq_ignore_ascii_case("zimbra"));
            let enabled = !a
                .get("zimbraDataSourceEnabled")
                .is_some_and(|v| v.eq_ignore_ascii_case("FALSE"))
                && !a
                    .get("zimbraGalStatus")
                    .is_some_and(|v| v.eq_ignore_ascii_case("disabled"));
            if !internal || !enabled {
                continue;
            }
            if entries.is_none() {
                entries = Some(self.sync_gal(&domain.name).await?);
            }
            let contacts = entries
                .iter()
                .flatten()
                .filter(|e| e.id != acct.id)
                .map(|e| (e.id.to_string(), contact_attrs(e, &map)))
                .collect();
            out.push(GalSyncSource {
                name: a
                    .get("zimbraDataSourceName")
                    .unwrap_or(&ds.name)
                    .to_string(),
                folder: a.get("zimbraDataSourceFolderId").map(str::to_string),
                contacts,
            });
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
