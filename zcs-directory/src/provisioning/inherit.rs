//! Attribute inheritance: finding the entries an account, domain or server inherits from
//! (its COS, its domain, the global config) and handing them to `zcs_core::attrs::Scope`,
//! which owns the per-attribute chains, defaults and spec 02 exceptions.
//!
//! COS resolution is decided here: `zimbraCOSId`, else the domain's
//! `zimbraDomainDefaultCOSId`, else the `default` COS, skipping references to deleted
//! COS.

use std::sync::Arc;

use zcs_core::attrs::{self, ATTRS, Scope};
use zcs_core::{Attrs, Entry, EntryKind, FaultCode, ServiceResult, ZimbraId};

use super::{DEFAULT_COS, GLOBAL_CONFIG_NAME, Provisioning};
use crate::directory::EntryKey;
use crate::validate::applies_to;

/// The value of `name` on `server`, else on the global config, else the registry
/// default. Multi-valued attributes give their first value; see
/// [`server_attr_values`].
pub fn server_attr(server: &Entry, global: &Entry, name: &str) -> Option<String> {
    server_attr_values(server, global, name).into_iter().next()
}

/// All values of `name` on `server`, else on the global config, else the registry
/// default; empty when none of them has one.
pub fn server_attr_values(server: &Entry, global: &Entry, name: &str) -> Vec<String> {
    for e in [server, global] {
        let v = e.attrs.get_all(name);
        if !v.is_empty() {
            return v.to_vec();
        }
    }
    attrs::lookup(name)
        .map(|d| d.default.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default()
}

/// An account with the entries it inherits from, loaded once so that many attributes
/// can be read through [`AccountContext::scope`] without further directory reads.
#[derive(Clone, Debug)]
pub struct AccountContext {
    pub account: Entry,
    /// The COS that applies (see [`Provisioning::account_cos`]).
    pub cos: Option<Arc<Entry>>,
    /// The account's domain, when it exists.
    pub domain: Option<Arc<Entry>>,
    /// Shared with the directory cache: hundreds of attributes, never copied per login.
    pub global: Arc<Entry>,
}

impl AccountContext {
    /// The inheritance scope over these entries; `scope().get("zimbraMailQuota")` is the
    /// effective quota.
    pub fn scope(&self) -> Scope<'_> {
        let mut scope = Scope::account(
            &self.account.attrs,
            self.cos.as_deref().map(|c| &c.attrs),
            self.domain.as_deref().map(|d| &d.attrs),
            Some(&self.global.attrs),
        );
        if self.account.kind == EntryKind::CalendarResource {
            scope.start = EntryKind::CalendarResource;
        }
        scope
    }

    /// Every attribute set on the account, plus the effective value of every registry
    /// attribute that applies to accounts.
    pub fn effective_attrs(&self) -> Attrs {
        effective(&self.account, &self.scope())
    }
}

/// `entry`'s attributes, with every registry attribute that applies to its kind and
/// has an effective value in `scope` set to that value.
fn effective(entry: &Entry, scope: &Scope<'_>) -> Attrs {
    let mut out = entry.attrs.clone();
    for def in ATTRS.iter().filter(|d| applies_to(d, entry.kind)) {
        let values = scope.get(def.name);
        if !values.is_empty() {
            out.set(def.name, values);
        }
    }
    out
}

impl Provisioning {
    /// [`server_attr`] as an associated function: `server`'s value of `name`, else the
    /// global config's, else the registry default.
    pub fn server_attr(server: &Entry, global: &Entry, name: &str) -> Option<String> {
        server_attr(server, global, name)
    }

    /// The COS that applies to `account`: its `zimbraCOSId`, else its domain's
    /// `zimbraDomainDefaultCOSId`, else the `default` COS. A reference to a COS that no
    /// longer exists is skipped. `None` only when even `default` cannot be found.
    pub async fn account_cos(&self, account: &Entry) -> ServiceResult<Option<Entry>> {
        let domain = self.account_domain(account).await?;
        let cos = self.cos_for(account, domain.as_deref()).await?;
        Ok(cos.map(Arc::unwrap_or_clone))
    }

    /// The account's domain entry, if it exists.
    async fn account_domain(&self, account: &Entry) -> ServiceResult<Option<Arc<Entry>>> {
        match account.domain() {
            Some(d) => {
                let key = EntryKey::Name(d.into());
                self.dir.get_shared(EntryKind::Domain, &key).await
            }
            None => Ok(None),
        }
    }

    /// COS resolution with the domain already loaded.
    pub(super) async fn cos_for(
        &self,
        account: &Entry,
        domain: Option<&Entry>,
    ) -> ServiceResult<Option<Arc<Entry>>> {
        let candidates = [
            account.attrs.get("zimbraCOSId"),
            domain.and_then(|d| d.attrs.get("zimbraDomainDefaultCOSId")),
        ];
        for id in candidates.into_iter().flatten() {
            if let Ok(id) = id.trim().parse::<ZimbraId>()
                && let Some(cos) = self
                    .dir
                    .get_shared(EntryKind::Cos, &EntryKey::Id(id))
                    .await?
            {
                return Ok(Some(cos));
            }
        }
        let default = EntryKey::Name(DEFAULT_COS.into());
        if let Some(c) = self.dir.get_shared(EntryKind::Cos, &default).await? {
            return Ok(Some(c));
        }
        match self.get_cos(&default).await {
            Ok(c) => Ok(Some(Arc::new(c))),
            Err(e) if e.code == FaultCode::NoSuchCos => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The global config, shared with the directory cache (see
    /// [`Provisioning::global_config`]).
    async fn global_shared(&self) -> ServiceResult<Arc<Entry>> {
        let key = EntryKey::Name(GLOBAL_CONFIG_NAME.into());
        match self.dir.get_shared(EntryKind::GlobalConfig, &key).await? {
            Some(g) => Ok(g),
            None => Ok(Arc::new(self.bootstrap().await?)),
        }
    }

    /// Loads what `account` inherits from: its COS, its domain and the global config.
    ///
    /// Cost: up to three directory reads.
    pub async fn account_context(&self, account: &Entry) -> ServiceResult<AccountContext> {
        let global = self.global_shared().await?;
        let domain = self.account_domain(account).await?;
        let cos = self.cos_for(account, domain.as_deref()).await?;
        Ok(AccountContext {
            account: account.clone(),
            cos,
            domain,
            global,
        })
    }

    /// The account's attributes with inheritance applied: every attribute set on the
    /// account, and for every registry attribute that applies to accounts, the value
    /// `zcs_core::attrs::Scope` finds along its chain (account -> COS -> domain / global
    /// config as the attribute's `Inherit` says, then the registry default), including
    /// the exceptions it applies (a domain quota caps the account quota, a global
    /// attachment block wins).
    ///
    /// Cost: up to three directory reads and one pass over the registry.
    pub async fn effective_account_attrs(&self, account: &Entry) -> ServiceResult<Attrs> {
        Ok(self.account_context(account).await?.effective_attrs())
    }

    /// The domain's attributes with inheritance applied: domain-inherited registry
    /// attributes come from the global config when unset, then the registry default.
    pub async fn effective_domain_attrs(&self, domain: &Entry) -> ServiceResult<Attrs> {
        let global = self.global_config().await?;
        Ok(effective(
            domain,
            &Scope::domain(&domain.attrs, Some(&global.attrs)),
        ))
    }

    /// The server's attributes with inheritance applied: server-inherited registry
    /// attributes come from the global config when unset, then the registry default.
    pub async fn effective_server_attrs(&self, server: &Entry) -> ServiceResult<Attrs> {
        let global = self.global_config().await?;
        Ok(effective(
            server,
            &Scope::server(&server.attrs, Some(&global.attrs)),
        ))
    }
}
