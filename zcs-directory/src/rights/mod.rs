//! The delegated-administration rights engine: who may do what on which directory
//! entry (Zimbra admin guide, "Delegated Administration"; spec 03 §1.14-1.17).
//!
//! - [`types`]: target types, grantee types, modifiers.
//! - [`ace`]: the `zimbraACE` text form grants are stored in, on the target entry.
//! - [`registry`]: the catalogue of preset, attribute and combo rights.
//! - [`grants`]: granting, revoking and listing grants.
//! - [`doc`]: the rights each admin request checks (`getRightsDoc`).
//! - [`create`]: the attributes an admin may set on an entry it creates
//!   (`getCreateObjectAttrs`).
//! - [`eval`]: deciding a right (precedence, inheritance, group membership) and the
//!   effective rights of an admin on an entry.
//! - [`ops`]: the rights each list, domain and COS operation needs
//!   ([`RightsEngine::authorize`]), for front ends gating delegated admins.
//!
//! Grants live in attributes only, so the engine works on every [`crate::Directory`]
//! backend. Global grants (target type `global`) and config grants are both kept on the
//! global config entry. The distribution-list rights of
//! [`crate::provisioning::acl`] are stored in the same form and read by this engine
//! too.

pub mod ace;
pub mod create;
pub mod doc;
pub mod eval;
pub mod grants;
pub mod ops;
pub mod registry;
pub mod types;

pub use ace::{GUID_ALL, GUID_PUBLIC, Grant};
pub use create::{CreateAttr, CreateObjectAttrs};
pub use doc::{RIGHTS_DOC, RightsDoc};
pub use eval::{AttrRights, Decision, EffectiveRights, Evaluator, Via};
pub use grants::{GrantInfo, GrantSpec};
pub use ops::AdminOp;
pub use registry::{RIGHTS, Right, RightClass, RightDef, RightKind};
pub use types::{GranteeType, Modifier, TargetType};

use zcs_core::Entry;
use zcs_core::{EntryKind, FaultCode, ServiceError, ServiceResult};

use crate::directory::EntryKey;
use crate::provisioning::Provisioning;

/// A resolved target: its type and the entry the grants sit on (the global config
/// entry for `config` and `global`).
#[derive(Clone, Debug)]
pub struct Target {
    pub ty: TargetType,
    pub entry: Entry,
}

impl Target {
    /// The name Zimbra prints for the target (`globalacltarget` for global grants,
    /// `globalconfig` for the config entry).
    pub fn display_name(&self) -> String {
        match self.ty {
            TargetType::Global => "globalacltarget".to_string(),
            TargetType::Config => "globalconfig".to_string(),
            _ => self.entry.name.clone(),
        }
    }
}

/// The rights engine over one [`Provisioning`]; see [`Provisioning::rights`].
#[derive(Clone, Copy, Debug)]
pub struct RightsEngine<'a> {
    pub(crate) prov: &'a Provisioning,
}

impl Provisioning {
    /// The delegated-administration rights engine.
    pub fn rights(&self) -> RightsEngine<'_> {
        RightsEngine { prov: self }
    }
}

/// Whether `account` is a global administrator (`zimbraIsAdminAccount=TRUE`).
pub fn is_global_admin(account: &Entry) -> bool {
    flag(account, "zimbraIsAdminAccount")
}

/// Whether `account` is a delegated administrator (`zimbraIsDelegatedAdminAccount=TRUE`)
/// and not a global one.
pub fn is_delegated_admin(account: &Entry) -> bool {
    !is_global_admin(account) && flag(account, "zimbraIsDelegatedAdminAccount")
}

pub(crate) fn flag(e: &Entry, attr: &str) -> bool {
    e.attrs
        .get(attr)
        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
}

/// `account.NO_SUCH_RIGHT` naming `name`.
pub fn no_such_right(name: &str) -> ServiceError {
    ServiceError::new(
        FaultCode::NoSuchRight,
        format!("no such right: {}", name.trim()),
    )
}

impl RightsEngine<'_> {
    /// Resolves a target by type and name or id. `config` and `global` take no key.
    ///
    /// # Errors
    /// The "no such" fault of the entry kind; `service.INVALID_REQUEST` when a key is
    /// missing.
    pub async fn target(&self, ty: TargetType, key: Option<&str>) -> ServiceResult<Target> {
        let p = self.prov;
        let need = || {
            key.filter(|k| !k.trim().is_empty())
                .map(str::trim)
                .ok_or_else(|| ServiceError::invalid_request(format!("missing {ty} target")))
        };
        let entry = match ty {
            TargetType::Config | TargetType::Global => p.global_config().await?,
            TargetType::Account => p.get_account(need()?).await?,
            TargetType::CalResource => p.get_calendar_resource(need()?).await?,
            TargetType::Cos => p.get_cos(&EntryKey::parse(need()?)).await?,
            TargetType::Domain => p.get_domain(&EntryKey::parse(need()?)).await?,
            TargetType::Server => p.get_server(&EntryKey::parse(need()?)).await?,
            TargetType::Dl | TargetType::Group => {
                let g = p.get_group(need()?).await?;
                let ty = if g.kind == EntryKind::DynamicGroup {
                    TargetType::Group
                } else {
                    TargetType::Dl
                };
                return Ok(Target { ty, entry: g });
            }
            TargetType::Zimlet => {
                let k = need()?;
                p.directory()
                    .get_entry(EntryKind::Zimlet, &EntryKey::parse(k))
                    .await?
                    .ok_or_else(|| crate::directory::no_such_fault(EntryKind::Zimlet, k))?
            }
        };
        Ok(Target { ty, entry })
    }

    /// The target an existing entry is (an account entry is an `account` target, ...).
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` for kinds no right applies to.
    pub fn target_of(&self, entry: &Entry) -> ServiceResult<Target> {
        let ty = TargetType::of_kind(entry.kind).ok_or_else(|| {
            ServiceError::invalid_request(format!("no rights apply to a {}", entry.kind.as_str()))
        })?;
        Ok(Target {
            ty,
            entry: entry.clone(),
        })
    }
}
