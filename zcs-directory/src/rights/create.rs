//! The attributes an admin may set on an entry it is about to create
//! (`getCreateObjectAttrs`, `zmprov gcoa`): the set-attribute rights of the grantee on
//! a pseudo target standing for the new entry (in its domain, on its COS), with the
//! value each attribute would get if left unset (the COS's, domain's or global value
//! for accounts and calendar resources; the global config's for a domain or server).

use zcs_core::{Attrs, Entry, EntryKind, ServiceError, ServiceResult, ZimbraId};

use super::types::TargetType;
use super::{RightsEngine, Target, is_global_admin};
use crate::directory::EntryKey;

/// One settable attribute and the value a new entry would have without it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateAttr {
    /// Canonical attribute name.
    pub name: String,
    /// The inherited or default values (empty when none).
    pub default: Vec<String>,
}

/// What `getCreateObjectAttrs` answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateObjectAttrs {
    pub target_type: TargetType,
    /// Every attribute of the kind may be set.
    pub all: bool,
    /// The attributes that may be set, in name order.
    pub attrs: Vec<CreateAttr>,
}

impl RightsEngine<'_> {
    /// Which attributes `grantee` may set on a new `ty` entry in `domain` (needed for
    /// accounts, calendar resources, lists and groups; for a domain target it is the
    /// new domain's name, whose parent domains' `^` grants apply) on `cos` (accounts and
    /// calendar resources; default: the domain's default COS, else `default`).
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` when the target type cannot be created this way or a
    /// needed domain is missing; `account.NO_SUCH_DOMAIN` / `account.NO_SUCH_COS`.
    pub async fn create_object_attrs(
        &self,
        grantee: &Entry,
        ty: TargetType,
        domain: Option<&str>,
        cos: Option<&str>,
    ) -> ServiceResult<CreateObjectAttrs> {
        let p = self.prov;
        let domain = domain.map(str::trim).filter(|d| !d.is_empty());
        let needs_domain = matches!(
            ty,
            TargetType::Account | TargetType::CalResource | TargetType::Dl | TargetType::Group
        );
        let need =
            || ServiceError::invalid_request(format!("a domain is needed for target type {ty}"));
        let pseudo_name = if ty == TargetType::Domain {
            crate::names::normalize_domain(domain.ok_or_else(need)?)?
        } else if needs_domain {
            let dom = p
                .get_domain(&EntryKey::parse(domain.ok_or_else(need)?))
                .await?;
            format!("pseudo@{}", dom.name)
        } else if matches!(
            ty,
            TargetType::Cos | TargetType::Server | TargetType::Zimlet
        ) {
            "pseudo".to_string()
        } else {
            return Err(ServiceError::invalid_request(format!(
                "target type {ty} is not created this way"
            )));
        };
        let mut attrs = Attrs::new();
        if let Some(c) = cos.map(str::trim).filter(|c| !c.is_empty())
            && matches!(ty, TargetType::Account | TargetType::CalResource)
        {
            let c = p.get_cos(&EntryKey::parse(c)).await?;
            attrs.set_one("zimbraCOSId", c.id.to_string());
        }
        let kind = ty.entry_kind();
        let entry = Entry {
            kind,
            id: ZimbraId::new(),
            name: pseudo_name,
            attrs,
        };
        let defaults = self.defaults(&entry).await?;
        let target = Target { ty, entry };
        // A global administrator may set everything; it need not exist as an entry (the
        // local operator of `zmprov -l`).
        let ev = if is_global_admin(grantee) {
            None
        } else {
            Some(self.evaluate_new(grantee, &target).await?)
        };
        let names: Vec<&'static str> = zcs_core::attrs::attrs_for(kind).map(|a| a.name).collect();
        let mut out: Vec<CreateAttr> = names
            .iter()
            .filter(|n| ev.as_ref().is_none_or(|ev| ev.attr_allowed(ty, n, true)))
            .map(|n| CreateAttr {
                name: (*n).to_string(),
                default: defaults.get_all(n).to_vec(),
            })
            .collect();
        out.sort_by_key(|a| a.name.to_ascii_lowercase());
        Ok(CreateObjectAttrs {
            target_type: ty,
            all: !names.is_empty() && out.len() == names.len(),
            attrs: out,
        })
    }

    /// The values a new entry would show for attributes it does not set.
    async fn defaults(&self, entry: &Entry) -> ServiceResult<Attrs> {
        let p = self.prov;
        let mut out = Attrs::new();
        match entry.kind {
            EntryKind::Account | EntryKind::CalendarResource => {
                let ctx = p.account_context(entry).await?;
                let scope = ctx.scope();
                for d in zcs_core::attrs::attrs_for(entry.kind) {
                    let v = scope.get(d.name);
                    if !v.is_empty() {
                        out.set(d.name, v);
                    }
                }
            }
            EntryKind::Domain | EntryKind::Server => {
                let global = p.global_config().await?;
                for d in zcs_core::attrs::attrs_for(entry.kind) {
                    let v = global.attrs.get_all(d.name);
                    if !v.is_empty() {
                        out.set(d.name, v.to_vec());
                    } else if !d.default.is_empty() {
                        out.set(d.name, d.default.iter().map(|s| s.to_string()).collect());
                    }
                }
            }
            _ => {
                for d in zcs_core::attrs::attrs_for(entry.kind) {
                    if !d.default.is_empty() {
                        out.set(d.name, d.default.iter().map(|s| s.to_string()).collect());
                    }
                }
            }
        }
        Ok(out)
    }
}
