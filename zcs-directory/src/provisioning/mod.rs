//! `Provisioning`: the facade `zmprov`, the servers and the MTA use over any
//! [`Directory`]. It applies Zimbra's rules on top of plain storage: name normalisation,
//! attribute validation, the attributes an entry gets at creation, fault codes, status
//! checks at login and attribute inheritance.
//!
//! This file holds the global config, servers, COS and domains; accounts and aliases are
//! in `accounts`, login in `login` (with `policy`, `lockout` and `preauth`), inheritance
//! in `inherit`, lists in `lists`/`groups`/`acl`, calendar resources in `resources`,
//! identities, signatures and data sources in `children`, `renameDomain` in `domains`,
//! and address resolution for the MTA in `resolve`.

mod accounts;
pub mod acl;
mod addresses;
pub mod autoprov;
pub mod caching;
pub mod children;
mod domain_rules;
mod domains;
pub mod gal;
pub mod gal_external;
pub mod gal_groups;
pub mod gal_value_map;
mod galsync;
mod groups;
mod inherit;
mod lists;
pub mod lockout;
mod login;
pub mod member_url;
pub mod policy;
pub mod preauth;
pub mod resolve;
mod resources;
mod signature_limit;
pub mod subscription;
pub mod suppress;
pub mod zimlets;

use std::sync::Arc;

use zcs_core::attrs::{ATTRS, AttrMeta};
use zcs_core::{AttrEdit, Attrs, Entry, EntryKind, FaultCode, ServiceError, ServiceResult};

use crate::auth::AuthRegistry;
use crate::directory::{Directory, EntryKey, no_such_fault};
use crate::names::normalize_domain;
use crate::validate::{check_attrs, check_edits, generalized_time_now};

pub use acl::{Ace, Requester};
pub use addresses::aliases_of;
pub use autoprov::{AutoProvBy, AutoProvCandidate, EagerReport, ExternalEntry};
pub use children::{Child, DEFAULT_IDENTITY};
pub use domain_rules::{DomainAccountUsage, is_frozen_status};
pub use gal::{GalRequest, GalResults, GalType};
pub use galsync::{GalSourceKind, GalSyncSource, GalSyncSpec, GalSyncTarget};
pub use inherit::{AccountContext, server_attr, server_attr_values};
pub use lists::{A_MEMBERS, is_group};
pub use login::log_safe;
pub use policy::{PasswordFault, StrengthRules};
pub use resolve::{Delivery, Resolved};

/// The name of the COS every account falls back to.
pub const DEFAULT_COS: &str = "default";

/// The global config entry's name (it is a singleton).
pub const GLOBAL_CONFIG_NAME: &str = "";

/// Provisioning over a directory, with the authentication mechanisms logins use.
///
/// Cheap to share behind an `Arc`. Every call goes to the directory, through the entry
/// cache when [`Provisioning::with_cache`] put one in front of it.
#[derive(Clone)]
pub struct Provisioning {
    dir: Arc<dyn Directory>,
    auth: AuthRegistry,
    local_server: Option<String>,
    /// The cache `dir` goes through, when there is one (for `flushCache`).
    cache: Option<Arc<crate::cache::CachedDirectory>>,
    /// Recent wrong passwords per account (`zimbraPasswordLockoutSuppression*`).
    failed_passwords: Arc<suppress::FailedPasswords>,
}

impl std::fmt::Debug for Provisioning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provisioning")
            .field("auth", &self.auth)
            .field("local_server", &self.local_server)
            .finish_non_exhaustive()
    }
}

/// Whether `name` (already trimmed) may name a COS: not empty, no `@`, no control
/// characters.
fn valid_cos_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('@') && !name.chars().any(char::is_control)
}

/// The name a new server entry gets: a host name in its normal form, or, as Zimbra
/// takes any `cn` (`testserver    1234`, Server-Create.xml), the trimmed lower-cased
/// text when it is not a host name. Empty names and control characters are refused.
fn server_name(name: &str) -> ServiceResult<String> {
    if let Ok(host) = normalize_domain(name) {
        return Ok(host);
    }
    let t = name.trim();
    if t.is_empty() || t.chars().any(char::is_control) {
        return Err(ServiceError::invalid_request(format!(
            "invalid server name: {t:?}"
        )));
    }
    Ok(t.to_lowercase())
}

/// Sets `name` to `value` in `attrs` unless the caller already gave it.
fn default_attr(attrs: &mut Attrs, name: &str, value: impl Into<String>) {
    if !attrs.contains(name) {
        attrs.set_one(name, value);
    }
}

impl Provisioning {
    /// Provisioning over `dir`, authenticating with the mechanisms in `auth`.
    pub fn new(dir: Arc<dyn Directory>, auth: AuthRegistry) -> Self {
        Provisioning {
            dir,
            auth,
            local_server: None,
            cache: None,
            failed_passwords: Arc::default(),
        }
    }

    /// Names the server this process runs as: new accounts get it as `zimbraMailHost`
    /// unless their attributes name another.
    pub fn with_local_server(mut self, server_name: impl Into<String>) -> Self {
        self.local_server = Some(server_name.into());
        self
    }

    /// Same as [`Provisioning::with_local_server`]; an empty name names no server.
    pub fn with_server(self, server_name: impl Into<String>) -> Self {
        let name: String = server_name.into();
        if name.trim().is_empty() {
            self
        } else {
            self.with_local_server(name)
        }
    }

    /// The server name given to [`Provisioning::with_local_server`].
    pub fn local_server(&self) -> Option<&str> {
        self.local_server.as_deref()
    }

    /// The directory underneath, for callers that need raw entries.
    pub fn directory(&self) -> &Arc<dyn Directory> {
        &self.dir
    }

    /// The authentication mechanisms.
    pub fn auth_registry(&self) -> &AuthRegistry {
        &self.auth
    }

    /// The entry of `kind` with `key`, or the kind's "no such" fault.
    async fn require(&self, kind: EntryKind, key: &EntryKey) -> ServiceResult<Entry> {
        self.dir
            .get_entry(kind, key)
            .await?
            .ok_or_else(|| no_such_fault(kind, &key.to_string()))
    }

    /// Creates an entry of `kind`, or returns the existing one when another process
    /// created it first (the name is unique, so both end with the same entry).
    async fn get_or_create(
        &self,
        kind: EntryKind,
        name: &str,
        attrs: Attrs,
    ) -> ServiceResult<Entry> {
        let key = EntryKey::Name(name.to_string());
        if let Some(e) = self.dir.get_entry(kind, &key).await? {
            return Ok(e);
        }
        match self.dir.create_entry(kind, name, attrs).await {
            Ok(e) => Ok(e),
            Err(err) if err.code != FaultCode::Failure => self.require(kind, &key).await,
            Err(err) => Err(err),
        }
    }

    // ---- global config ------------------------------------------------------------

    /// Makes sure the global config and the `default` COS exist (creating them on a new
    /// directory) and returns the global config. A new global config and `default` COS
    /// start with the values the registry lists for them (`globalConfigValue` and
    /// `defaultCOSValue` in Zimbra's schema), as a fresh Zimbra install has. Safe to call
    /// from several processes at once.
    pub async fn bootstrap(&self) -> ServiceResult<Entry> {
        let mut attrs = initial_values(|m| m.global_config_value);
        attrs.set("objectClass", vec!["zimbraGlobalConfig".into()]);
        attrs.set_one("cn", "config");
        let global = self
            .get_or_create(EntryKind::GlobalConfig, GLOBAL_CONFIG_NAME, attrs)
            .await?;

        let mut cos = initial_values(|m| m.default_cos_value);
        cos.set("objectClass", vec!["zimbraCOS".into()]);
        cos.set_one("cn", DEFAULT_COS);
        cos.set_one("description", "The default COS");
        cos.set_one("zimbraCreateTimestamp", generalized_time_now());
        self.get_or_create(EntryKind::Cos, DEFAULT_COS, cos).await?;
        Ok(global)
    }

    /// The global config, created (with the `default` COS) if missing.
    pub async fn global_config(&self) -> ServiceResult<Entry> {
        let key = EntryKey::Name(GLOBAL_CONFIG_NAME.into());
        match self.dir.get_entry(EntryKind::GlobalConfig, &key).await? {
            Some(g) => Ok(g),
            None => self.bootstrap().await,
        }
    }

    /// Validates and applies `edits` to the global config (`zmprov mcf`).
    ///
    /// # Errors
    /// `account.INVALID_ATTR_NAME` / `account.INVALID_ATTR_VALUE`.
    pub async fn modify_global_config(&self, edits: &[AttrEdit]) -> ServiceResult<Entry> {
        let global = self.global_config().await?;
        let edits = check_edits(EntryKind::GlobalConfig, &global.attrs, edits)?;
        let out = self
            .dir
            .modify_entry(EntryKind::GlobalConfig, global.id, &edits)
            .await?;
        tracing::info!(attrs = ?edit_names(&edits), "global config modified");
        Ok(out)
    }

    // ---- servers --------------------------------------------------------------------

    /// Creates a server entry named by its host name (lower-cased); sets `cn`,
    /// `zimbraServiceHostname` (unless given) and `zimbraCreateTimestamp`.
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` for a malformed host name, `account.SERVER_EXISTS`,
    /// invalid attribute faults.
    pub async fn create_server(&self, name: &str, attrs: Attrs) -> ServiceResult<Entry> {
        let name = server_name(name)?;
        let mut attrs = check_attrs(EntryKind::Server, &attrs)?;
        attrs.set("objectClass", vec!["zimbraServer".into()]);
        attrs.set_one("cn", name.clone());
        default_attr(&mut attrs, "zimbraServiceHostname", name.clone());
        attrs.set_one("zimbraCreateTimestamp", generalized_time_now());
        let e = self
            .dir
            .create_entry(EntryKind::Server, &name, attrs)
            .await?;
        tracing::info!(server = %name, id = %e.id, "server created");
        Ok(e)
    }

    /// The server with that name or id.
    ///
    /// # Errors
    /// `account.NO_SUCH_SERVER`.
    pub async fn get_server(&self, key: &EntryKey) -> ServiceResult<Entry> {
        self.require(EntryKind::Server, key).await
    }

    /// Every server, by name.
    pub async fn all_servers(&self) -> ServiceResult<Vec<Entry>> {
        self.dir.list_entries(EntryKind::Server, None).await
    }

    /// Validates and applies `edits` to a server (`zmprov ms`).
    ///
    /// # Errors
    /// `account.NO_SUCH_SERVER`, invalid attribute faults.
    pub async fn modify_server(&self, key: &EntryKey, edits: &[AttrEdit]) -> ServiceResult<Entry> {
        let s = self.get_server(key).await?;
        let edits = check_edits(EntryKind::Server, &s.attrs, edits)?;
        let out = self
            .dir
            .modify_entry(EntryKind::Server, s.id, &edits)
            .await?;
        tracing::info!(server = %s.name, attrs = ?edit_names(&edits), "server modified");
        Ok(out)
    }

    /// Deletes a server entry.
    ///
    /// # Errors
    /// `account.NO_SUCH_SERVER`.
    pub async fn delete_server(&self, key: &EntryKey) -> ServiceResult<()> {
        let s = self.get_server(key).await?;
        self.dir.delete_entry(EntryKind::Server, s.id).await?;
        tracing::info!(server = %s.name, "server deleted");
        Ok(())
    }

    // ---- COS ------------------------------------------------------------------------

    /// Creates a COS (`zmprov cc`); the name keeps its spelling and compares
    /// case-insensitively.
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` for an empty name or one holding `@`,
    /// `account.COS_EXISTS`, invalid attribute faults.
    pub async fn create_cos(&self, name: &str, attrs: Attrs) -> ServiceResult<Entry> {
        let name = name.trim();
        if !valid_cos_name(name) {
            return Err(ServiceError::invalid_request(format!(
                "invalid COS name: {name:?}"
            )));
        }
        let mut attrs = check_attrs(EntryKind::Cos, &attrs)?;
        attrs.set("objectClass", vec!["zimbraCOS".into()]);
        attrs.set_one("cn", name);
        attrs.set_one("zimbraCreateTimestamp", generalized_time_now());
        let e = self.dir.create_entry(EntryKind::Cos, name, attrs).await?;
        tracing::info!(cos = %name, id = %e.id, "COS created");
        Ok(e)
    }

    /// The COS with that name or id.
    ///
    /// # Errors
    /// `account.NO_SUCH_COS`.
    /// On a directory not yet bootstrapped, asking for `default` bootstraps it.
    pub async fn get_cos(&self, key: &EntryKey) -> ServiceResult<Entry> {
        if let Some(c) = self.dir.get_entry(EntryKind::Cos, key).await? {
            return Ok(c);
        }
        if matches!(key, EntryKey::Name(n) if n.trim().eq_ignore_ascii_case(DEFAULT_COS)) {
            self.bootstrap().await?;
        }
        self.require(EntryKind::Cos, key).await
    }

    /// Every COS, by name (the `default` COS included, bootstrapping it if needed).
    pub async fn all_cos(&self) -> ServiceResult<Vec<Entry>> {
        self.global_config().await?;
        self.dir.list_entries(EntryKind::Cos, None).await
    }

    /// Validates and applies `edits` to a COS (`zmprov mc`).
    ///
    /// # Errors
    /// `account.NO_SUCH_COS`, invalid attribute faults.
    pub async fn modify_cos(&self, key: &EntryKey, edits: &[AttrEdit]) -> ServiceResult<Entry> {
        let c = self.get_cos(key).await?;
        let edits = check_edits(EntryKind::Cos, &c.attrs, edits)?;
        let out = self.dir.modify_entry(EntryKind::Cos, c.id, &edits).await?;
        tracing::info!(cos = %c.name, attrs = ?edit_names(&edits), "COS modified");
        Ok(out)
    }

    /// Renames a COS (`zmprov rc`); accounts and domains keep pointing at it by id.
    ///
    /// # Errors
    /// `account.NO_SUCH_COS`, `account.COS_EXISTS`; `service.INVALID_REQUEST` for the
    /// `default` COS (as Zimbra: "unable to rename default cos") or an invalid new name.
    pub async fn rename_cos(&self, key: &EntryKey, new_name: &str) -> ServiceResult<Entry> {
        let c = self.get_cos(key).await?;
        if c.name.eq_ignore_ascii_case(DEFAULT_COS) {
            return Err(ServiceError::invalid_request(
                "unable to rename default cos",
            ));
        }
        let new_name = new_name.trim();
        if !valid_cos_name(new_name) {
            return Err(ServiceError::invalid_request(format!(
                "invalid COS name: {new_name:?}"
            )));
        }
        let edits = [AttrEdit::Replace("cn".into(), vec![new_name.to_string()])];
        let out = self
            .dir
            .rename_and_modify(EntryKind::Cos, c.id, new_name, &edits)
            .await?;
        tracing::info!(cos = %c.name, new_name = %new_name, "COS renamed");
        Ok(out)
    }

    /// Creates COS `dest_name` with every attribute of the COS `src` except its
    /// identity (`zimbraId`, `cn`, `objectClass`, `zimbraCreateTimestamp`), as
    /// `zmprov cpc` does; the copy gets a new id and creation time.
    ///
    /// # Errors
    /// `account.NO_SUCH_COS` for `src`, `account.COS_EXISTS` for `dest_name`,
    /// `service.INVALID_REQUEST` for an invalid name.
    pub async fn copy_cos(&self, src: &EntryKey, dest_name: &str) -> ServiceResult<Entry> {
        let c = self.get_cos(src).await?;
        let mut attrs = Attrs::new();
        for (name, values) in c.attrs.iter() {
            let skip = ["zimbraId", "cn", "objectClass", "zimbraCreateTimestamp"]
                .iter()
                .any(|s| s.eq_ignore_ascii_case(name));
            if !skip {
                attrs.set(name, values.to_vec());
            }
        }
        let e = self.create_cos(dest_name, attrs).await?;
        tracing::info!(cos = %c.name, copy = %e.name, "COS copied");
        Ok(e)
    }

    /// Deletes a COS (`zmprov dc`). As in Zimbra, a COS still in use may be deleted:
    /// accounts that named it fall back to their domain's default COS, then to
    /// `default`, and domains that named it fall back to `default`.
    ///
    /// # Errors
    /// `account.NO_SUCH_COS`; `service.INVALID_REQUEST` for the `default` COS
    /// ("unable to delete default cos").
    pub async fn delete_cos(&self, key: &EntryKey) -> ServiceResult<()> {
        let c = self.get_cos(key).await?;
        if c.name.eq_ignore_ascii_case(DEFAULT_COS) {
            return Err(ServiceError::invalid_request(
                "unable to delete default cos",
            ));
        }
        self.dir.delete_entry(EntryKind::Cos, c.id).await?;
        tracing::info!(cos = %c.name, "COS deleted");
        Ok(())
    }

    // ---- domains --------------------------------------------------------------------

    /// Creates a local domain (`zmprov cd`): the name is lower-cased (an internationalised
    /// name stored in its `xn--` form); sets `zimbraDomainName`, `zimbraDomainType local`,
    /// `zimbraDomainStatus active` and `zimbraMailStatus enabled` (as Zimbra does) unless
    /// given, and `zimbraCreateTimestamp`.
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` for a malformed name, `account.DOMAIN_EXISTS`,
    /// `account.NO_SUCH_COS` for a `zimbraDomainDefaultCOSId` naming no COS, invalid
    /// attribute faults.
    pub async fn create_domain(&self, name: &str, attrs: Attrs) -> ServiceResult<Entry> {
        let name = normalize_domain(name)?;
        let mut attrs = check_attrs(EntryKind::Domain, &attrs)?;
        if let Some(cos) = attrs.get("zimbraDomainDefaultCOSId") {
            self.get_cos(&EntryKey::parse(cos)).await?;
        }
        attrs.set(
            "objectClass",
            vec![
                "dcObject".into(),
                "organization".into(),
                "zimbraDomain".into(),
            ],
        );
        attrs.set_one("zimbraDomainName", name.clone());
        default_attr(&mut attrs, "zimbraDomainType", "local");
        default_attr(&mut attrs, "zimbraDomainStatus", "active");
        default_attr(&mut attrs, "zimbraMailStatus", "enabled");
        let first_label = name.split('.').next().unwrap_or(&name).to_string();
        attrs.set_one("dc", first_label);
        attrs.set_one("zimbraCreateTimestamp", generalized_time_now());
        let e = self
            .dir
            .create_entry(EntryKind::Domain, &name, attrs)
            .await?;
        tracing::info!(domain = %name, id = %e.id, "domain created");
        Ok(e)
    }

    /// Creates an alias domain (`zmprov cad`): mail to `user@alias` resolves as
    /// `user@target`.
    ///
    /// # Errors
    /// As [`Provisioning::create_domain`], and `account.NO_SUCH_DOMAIN` for the target.
    pub async fn create_alias_domain(
        &self,
        alias: &str,
        target: &EntryKey,
        attrs: Attrs,
    ) -> ServiceResult<Entry> {
        let target = self.get_domain(target).await?;
        let mut attrs = attrs;
        attrs.set_one("zimbraDomainType", "alias");
        attrs.set_one("zimbraDomainAliasTargetId", target.id.to_string());
        self.create_domain(alias, attrs).await
    }

    /// The domain with that name (any case) or id.
    ///
    /// # Errors
    /// `account.NO_SUCH_DOMAIN`.
    pub async fn get_domain(&self, key: &EntryKey) -> ServiceResult<Entry> {
        let key = match key {
            EntryKey::Name(n) => match normalize_domain(n) {
                Ok(n) => EntryKey::Name(n),
                Err(_) => return Err(no_such_fault(EntryKind::Domain, n)),
            },
            EntryKey::Id(_) => key.clone(),
        };
        self.require(EntryKind::Domain, &key).await
    }

    /// Every domain, by name.
    pub async fn all_domains(&self) -> ServiceResult<Vec<Entry>> {
        self.dir.list_entries(EntryKind::Domain, None).await
    }

    /// Validates and applies `edits` to a domain (`zmprov md`).
    ///
    /// # Errors
    /// `account.NO_SUCH_DOMAIN`, invalid attribute faults.
    pub async fn modify_domain(&self, key: &EntryKey, edits: &[AttrEdit]) -> ServiceResult<Entry> {
        let d = self.get_domain(key).await?;
        let edits = check_edits(EntryKind::Domain, &d.attrs, edits)?;
        let out = self
            .dir
            .modify_entry(EntryKind::Domain, d.id, &edits)
            .await?;
        tracing::info!(domain = %d.name, attrs = ?edit_names(&edits), "domain modified");
        Ok(out)
    }

    /// Deletes an empty domain (`zmprov dd`).
    ///
    /// # Errors
    /// `account.NO_SUCH_DOMAIN`; `account.DOMAIN_NOT_EMPTY` while any account, calendar
    /// resource, list or alias address is in it.
    pub async fn delete_domain(&self, key: &EntryKey) -> ServiceResult<()> {
        let d = self.get_domain(key).await?;
        let n = self.dir.count_addresses_in_domain(&d.name).await?;
        if n > 0 {
            return Err(ServiceError::new(
                FaultCode::DomainNotEmpty,
                format!("domain not empty: {} ({n} addresses)", d.name),
            ));
        }
        self.dir.delete_entry(EntryKind::Domain, d.id).await?;
        tracing::info!(domain = %d.name, "domain deleted");
        Ok(())
    }
}

/// The registry's initial values for a new entry, picked from each attribute's metadata.
fn initial_values(pick: fn(&AttrMeta) -> &'static [&'static str]) -> Attrs {
    let mut attrs = Attrs::new();
    for def in ATTRS {
        if let Some(values) = def.meta().map(pick).filter(|v| !v.is_empty()) {
            attrs.set(def.name, values.iter().map(|v| v.to_string()).collect());
        }
    }
    attrs
}

/// The attribute names an edit list touches, for logs (values may be secrets).
fn edit_names(edits: &[AttrEdit]) -> Vec<&str> {
    edits.iter().map(AttrEdit::name).collect()
}
