//! Attribute inheritance: what value an account, domain or server really has once its
//! COS, domain, global config and the registry defaults are taken into account, following
//! each attribute's `Inherit` rule in `zcs_core::attrs`.

use zcs_core::attrs::{self, ATTRS, Inherit};
use zcs_core::{Attrs, Entry, EntryKind, ServiceResult, ZimbraId};

use super::{DEFAULT_COS, Provisioning};
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
    registry_default(name)
}

/// The registry default of `name`, empty when unknown or without default.
fn registry_default(name: &str) -> Vec<String> {
    attrs::lookup(name)
        .map(|d| d.default.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default()
}

/// The first of `sources` that has `name`, its values.
fn first_set(sources: &[Option<&Entry>], name: &str) -> Vec<String> {
    sources
        .iter()
        .flatten()
        .map(|e| e.attrs.get_all(name))
        .find(|v| !v.is_empty())
        .map(<[String]>::to_vec)
        .unwrap_or_default()
}

/// The entries an account attribute with rule `inherit` falls back to, in order.
/// Rules that do not concern accounts give no fallback.
fn account_chain<'a>(
    inherit: Inherit,
    cos: Option<&'a Entry>,
    domain: Option<&'a Entry>,
    global: &'a Entry,
) -> Vec<Option<&'a Entry>> {
    if inherit == Inherit::AccountCos {
        vec![cos]
    } else if inherit == Inherit::AccountCosGlobal {
        vec![cos, Some(global)]
    } else if inherit == Inherit::AccountDomainGlobal {
        vec![domain, Some(global)]
    } else {
        Vec::new()
    }
}

impl Provisioning {
    /// The COS that applies to `account`: its `zimbraCOSId`, else its domain's
    /// `zimbraDomainDefaultCOSId`, else the `default` COS. A reference to a COS that no
    /// longer exists is skipped. `None` only when even `default` is missing.
    pub async fn account_cos(&self, account: &Entry) -> ServiceResult<Option<Entry>> {
        let domain = self.account_domain(account).await?;
        self.cos_for(account, domain.as_ref()).await
    }

    /// The domain entry of an account-like entry, if it exists.
    async fn account_domain(&self, account: &Entry) -> ServiceResult<Option<Entry>> {
        match account.domain() {
            Some(d) => {
                self.dir
                    .get_entry(EntryKind::Domain, &EntryKey::Name(d.into()))
                    .await
            }
            None => Ok(None),
        }
    }

    /// COS resolution with the domain already loaded.
    async fn cos_for(
        &self,
        account: &Entry,
        domain: Option<&Entry>,
    ) -> ServiceResult<Option<Entry>> {
        let candidates = [
            account.attrs.get("zimbraCOSId"),
            domain.and_then(|d| d.attrs.get("zimbraDomainDefaultCOSId")),
        ];
        for id in candidates.into_iter().flatten() {
            if let Ok(id) = id.trim().parse::<ZimbraId>()
                && let Some(cos) = self
                    .dir
                    .get_entry(EntryKind::Cos, &EntryKey::Id(id))
                    .await?
            {
                return Ok(Some(cos));
            }
        }
        match self.get_cos(&EntryKey::Name(DEFAULT_COS.into())).await {
            Ok(c) => Ok(Some(c)),
            Err(e) if e.code == zcs_core::FaultCode::NoSuchCos => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The account's attributes with inheritance applied: every attribute set on the
    /// account, plus, for each registry attribute that applies to accounts and is unset
    /// there, the value its `Inherit` rule finds: `AccountCos` looks at the COS,
    /// `AccountCosGlobal` at the COS then the global config, `AccountDomainGlobal` at the
    /// domain then the global config; the registry default ends every chain.
    ///
    /// Cost: up to three directory reads (domain, COS, global config).
    // LIMITATION: the per-attribute exceptions of spec/02 (domain quota cap, global
    // attachment rule, Zimlet lists) are not applied here; callers that need them combine
    // the values themselves.
    pub async fn effective_account_attrs(&self, account: &Entry) -> ServiceResult<Attrs> {
        let global = self.global_config().await?;
        let domain = self.account_domain(account).await?;
        let cos = self.cos_for(account, domain.as_ref()).await?;

        let mut out = account.attrs.clone();
        for def in ATTRS.iter().filter(|d| applies_to(d, account.kind)) {
            if out.contains(def.name) {
                continue;
            }
            let chain = account_chain(def.inherit, cos.as_ref(), domain.as_ref(), &global);
            let mut values = first_set(&chain, def.name);
            if values.is_empty() {
                values = def.default.iter().map(|s| s.to_string()).collect();
            }
            out.set(def.name, values);
        }
        Ok(out)
    }

    /// The domain's attributes with inheritance applied: registry attributes that apply
    /// to domains and inherit `DomainGlobal` come from the global config when unset; the
    /// registry default ends the chain.
    pub async fn effective_domain_attrs(&self, domain: &Entry) -> ServiceResult<Attrs> {
        let global = self.global_config().await?;
        let mut out = domain.attrs.clone();
        for def in ATTRS.iter().filter(|d| applies_to(d, EntryKind::Domain)) {
            if out.contains(def.name) {
                continue;
            }
            let mut values = match def.inherit {
                Inherit::DomainGlobal => first_set(&[Some(&global)], def.name),
                _ => Vec::new(),
            };
            if values.is_empty() {
                values = def.default.iter().map(|s| s.to_string()).collect();
            }
            out.set(def.name, values);
        }
        Ok(out)
    }

    /// The server's attributes with inheritance applied: unset registry attributes that
    /// apply to servers come from the global config, then the registry default.
    pub async fn effective_server_attrs(&self, server: &Entry) -> ServiceResult<Attrs> {
        let global = self.global_config().await?;
        let mut out = server.attrs.clone();
        for def in ATTRS.iter().filter(|d| applies_to(d, EntryKind::Server)) {
            if !out.contains(def.name) {
                out.set(def.name, server_attr_values(server, &global, def.name));
            }
        }
        Ok(out)
    }
}
