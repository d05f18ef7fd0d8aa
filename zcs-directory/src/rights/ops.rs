//! The rights a delegated admin needs for each directory operation on accounts,
//! distribution lists, domains and classes of service, decided in one place so every front end
//! (admin
//! SOAP, `zmprov` through the server) refuses the same things (Zimbra admin guide,
//! "Delegated Administration"; spec 03 §1.15-1.17).
//!
//! In charge of mapping an [`AdminOp`] to the rights it needs and on which targets, and
//! of answering [`RightsEngine::authorize`]: `Ok` or `service.PERM_DENIED` naming the
//! first missing right and its target. Grants on the target, on the groups and domain
//! holding it and global grants all count (see [`super::eval`]), so a domain admin of
//! `a.test` manages lists of `a.test` and is refused on `b.test`, and a grant on the
//! global grant entry reaches every domain, list and COS. Global admins pass everything;
//! accounts that are not admins pass nothing (admin rights need an admin).
//!
//! Not in charge of the operation itself, nor of trimming what is returned.

use zcs_core::{Entry, ServiceError, ServiceResult};

use super::eval::Evaluator;
use super::registry::Right;
use super::types::TargetType;
use super::{RightsEngine, Target, is_global_admin, no_such_right};
use crate::names::split_address;

/// A directory operation on an account, list, domain or COS, with the names it acts on. `attrs` are
/// attribute names as a request gives them (`+`/`-` prefixes allowed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminOp<'a> {
    /// CreateDistributionList: `createDistributionList` on the list's domain, and the
    /// right to set each attribute given.
    CreateList { name: &'a str, attrs: &'a [String] },
    /// GetDistributionList: reading at least one list attribute.
    GetList { list: &'a str },
    /// ModifyDistributionList: setting each attribute.
    ModifyList { list: &'a str, attrs: &'a [String] },
    /// DeleteDistributionList: `deleteDistributionList`.
    DeleteList { list: &'a str },
    /// RenameDistributionList: `renameDistributionList` on the list and
    /// `createDistributionList` on the new name's domain.
    RenameList { list: &'a str, new_name: &'a str },
    /// AddDistributionListMember: `addDistributionListMember`.
    AddListMembers { list: &'a str },
    /// RemoveDistributionListMember: `removeDistributionListMember`.
    RemoveListMembers { list: &'a str },
    /// AddDistributionListAlias: `addDistributionListAlias` on the list and
    /// `createAlias` on the alias's domain.
    AddListAlias { list: &'a str, alias: &'a str },
    /// RemoveDistributionListAlias: `removeDistributionListAlias` on the list and
    /// `deleteAlias` on the alias's domain.
    RemoveListAlias { list: &'a str, alias: &'a str },
    /// GetDomain: reading at least one domain attribute.
    GetDomain { domain: &'a str },
    /// ModifyDomain: setting each attribute.
    ModifyDomain {
        domain: &'a str,
        attrs: &'a [String],
    },
    /// DeleteDomain: `deleteDomain`.
    DeleteDomain { domain: &'a str },
    /// CreateDomain: `createDomain` on the global grant entry.
    CreateDomain,
    /// GetCos: reading at least one COS attribute.
    GetCos { cos: &'a str },
    /// ModifyCos: setting each attribute.
    ModifyCos { cos: &'a str, attrs: &'a [String] },
    /// DeleteCos: `deleteCos`.
    DeleteCos { cos: &'a str },
    /// RenameCos: `renameCos`.
    RenameCos { cos: &'a str },
    /// CopyCos / CreateCos: `createCos` on the global grant entry.
    CreateCos,
    /// Setting `zimbraCOSId` of an account or domain to this COS: `assignCos`.
    AssignCos { cos: &'a str },
    /// CreateAccount: `createAccount` on the account's domain, and the right to set each
    /// attribute given (checked against the domain's grants).
    CreateAccount { name: &'a str, attrs: &'a [String] },
    /// GetAccount: reading at least one account attribute.
    GetAccount { account: &'a str },
    /// ModifyAccount: setting each attribute.
    ModifyAccount {
        account: &'a str,
        attrs: &'a [String],
    },
    /// DeleteAccount: `deleteAccount`.
    DeleteAccount { account: &'a str },
    /// RenameAccount: `renameAccount` on the account and `createAccount` on the new
    /// name's domain.
    RenameAccount { account: &'a str, new_name: &'a str },
    /// SetPassword: `setAccountPassword`.
    SetPassword { account: &'a str },
    /// DelegateAuth (View Mail): `adminLoginAs` on the account.
    DelegateAuth { account: &'a str },
    /// AddAccountAlias: `addAccountAlias` on the account and `createAlias` on the
    /// alias's domain (both, as Zimbra's `checkRight` pair).
    AddAccountAlias { account: &'a str, alias: &'a str },
    /// RemoveAccountAlias: `removeAccountAlias` on the account and `deleteAlias` on the
    /// alias's domain.
    RemoveAccountAlias { account: &'a str, alias: &'a str },
}

/// `service.PERM_DENIED` for `right` on `target`.
fn denied(right: &str, target: &str) -> ServiceError {
    ServiceError::perm_denied(format!("permission denied: need right {right} on {target}"))
}

/// The domain part of an address, or `service.INVALID_REQUEST`.
fn domain_part(addr: &str) -> ServiceResult<&str> {
    split_address(addr.trim())
        .map(|(_, d)| d)
        .ok_or_else(|| ServiceError::invalid_request(format!("not an address: {addr}")))
}

/// An attribute name as a request gives it, without `+`/`-`.
fn bare(attr: &str) -> &str {
    attr.trim().trim_start_matches(['+', '-'])
}

impl RightsEngine<'_> {
    /// Decides whether `admin` may perform `op`.
    ///
    /// # Errors
    /// `service.PERM_DENIED` naming the first right `admin` lacks and where; the "no
    /// such" fault of a target that does not exist (only asked of delegated admins: a
    /// global admin passes without reading targets); `service.FAILURE` when the
    /// directory fails.
    pub async fn authorize(&self, admin: &Entry, op: &AdminOp<'_>) -> ServiceResult<()> {
        if is_global_admin(admin) {
            return Ok(());
        }
        use AdminOp as O;
        use TargetType as T;
        match *op {
            O::CreateList { name, attrs } => {
                let dom = self.target(T::Domain, Some(domain_part(name)?)).await?;
                self.need(admin, &dom, "createDistributionList").await?;
                // Attributes are set on the new list: Zimbra checks them against the
                // grants of the domain it is created in.
                let ev = self.evaluate(admin, &dom).await?;
                settable(&ev, T::Dl, attrs, name)
            }
            O::GetList { list } => {
                let t = self.target(T::Dl, Some(list)).await?;
                self.readable(admin, &t, T::Dl).await
            }
            O::ModifyList { list, attrs } => {
                let t = self.target(T::Dl, Some(list)).await?;
                let ev = self.evaluate(admin, &t).await?;
                settable(&ev, T::Dl, attrs, &t.entry.name)
            }
            O::DeleteList { list } => {
                self.need_on(admin, T::Dl, list, "deleteDistributionList")
                    .await
            }
            O::RenameList { list, new_name } => {
                self.need_on(admin, T::Dl, list, "renameDistributionList")
                    .await?;
                let d = domain_part(new_name)?;
                self.need_on(admin, T::Domain, d, "createDistributionList")
                    .await
            }
            O::AddListMembers { list } => {
                self.need_on(admin, T::Dl, list, "addDistributionListMember")
                    .await
            }
            O::RemoveListMembers { list } => {
                self.need_on(admin, T::Dl, list, "removeDistributionListMember")
                    .await
            }
            O::AddListAlias { list, alias } => {
                self.need_on(admin, T::Dl, list, "addDistributionListAlias")
                    .await?;
                let d = domain_part(alias)?;
                self.need_on(admin, T::Domain, d, "createAlias").await
            }
            O::RemoveListAlias { list, alias } => {
                self.need_on(admin, T::Dl, list, "removeDistributionListAlias")
                    .await?;
                let d = domain_part(alias)?;
                self.need_on(admin, T::Domain, d, "deleteAlias").await
            }
            O::GetDomain { domain } => {
                let t = self.target(T::Domain, Some(domain)).await?;
                self.readable(admin, &t, T::Domain).await
            }
            O::ModifyDomain { domain, attrs } => {
                let t = self.target(T::Domain, Some(domain)).await?;
                let ev = self.evaluate(admin, &t).await?;
                settable(&ev, T::Domain, attrs, &t.entry.name)
            }
            O::DeleteDomain { domain } => {
                self.need_on(admin, T::Domain, domain, "deleteDomain").await
            }
            O::CreateDomain => {
                let g = self.target(T::Global, None).await?;
                self.need(admin, &g, "createDomain").await
            }
            O::GetCos { cos } => {
                let t = self.target(T::Cos, Some(cos)).await?;
                self.readable(admin, &t, T::Cos).await
            }
            O::ModifyCos { cos, attrs } => {
                let t = self.target(T::Cos, Some(cos)).await?;
                let ev = self.evaluate(admin, &t).await?;
                settable(&ev, T::Cos, attrs, &t.entry.name)
            }
            O::DeleteCos { cos } => self.need_on(admin, T::Cos, cos, "deleteCos").await,
            O::RenameCos { cos } => self.need_on(admin, T::Cos, cos, "renameCos").await,
            O::CreateCos => {
                let g = self.target(T::Global, None).await?;
                self.need(admin, &g, "createCos").await
            }
            O::AssignCos { cos } => self.need_on(admin, T::Cos, cos, "assignCos").await,
            O::CreateAccount { name, attrs } => {
                let dom = self.target(T::Domain, Some(domain_part(name)?)).await?;
                self.need(admin, &dom, "createAccount").await?;
                let ev = self.evaluate(admin, &dom).await?;
                settable(&ev, T::Account, attrs, name)
            }
            O::GetAccount { account } => {
                let t = self.target(T::Account, Some(account)).await?;
                self.readable(admin, &t, T::Account).await
            }
            O::ModifyAccount { account, attrs } => {
                let t = self.target(T::Account, Some(account)).await?;
                let ev = self.evaluate(admin, &t).await?;
                settable(&ev, T::Account, attrs, &t.entry.name)
            }
            O::DeleteAccount { account } => {
                self.need_on(admin, T::Account, account, "deleteAccount")
                    .await
            }
            O::RenameAccount { account, new_name } => {
                self.need_on(admin, T::Account, account, "renameAccount")
                    .await?;
                let d = domain_part(new_name)?;
                self.need_on(admin, T::Domain, d, "createAccount").await
            }
            O::SetPassword { account } => {
                self.need_on(admin, T::Account, account, "setAccountPassword")
                    .await
            }
            O::DelegateAuth { account } => {
                self.need_on(admin, T::Account, account, "adminLoginAs")
                    .await
            }
            O::AddAccountAlias { account, alias } => {
                self.need_on(admin, T::Account, account, "addAccountAlias")
                    .await?;
                let d = domain_part(alias)?;
                self.need_on(admin, T::Domain, d, "createAlias").await
            }
            O::RemoveAccountAlias { account, alias } => {
                self.need_on(admin, T::Account, account, "removeAccountAlias")
                    .await?;
                let d = domain_part(alias)?;
                self.need_on(admin, T::Domain, d, "deleteAlias").await
            }
        }
    }

    /// `right` on the target of type `ty` named `key`.
    async fn need_on(
        &self,
        admin: &Entry,
        ty: TargetType,
        key: &str,
        right: &str,
    ) -> ServiceResult<()> {
        let t = self.target(ty, Some(key)).await?;
        self.need(admin, &t, right).await
    }

    /// `right` on `t`.
    async fn need(&self, admin: &Entry, t: &Target, right: &str) -> ServiceResult<()> {
        let r = Right::lookup(right).ok_or_else(|| no_such_right(right))?;
        if self.evaluate(admin, t).await?.decide(&r).allowed {
            Ok(())
        } else {
            Err(denied(right, &t.display_name()))
        }
    }

    /// At least one attribute of `t` readable as a `ty` entry.
    async fn readable(&self, admin: &Entry, t: &Target, ty: TargetType) -> ServiceResult<()> {
        let ev = self.evaluate(admin, t).await?;
        let any =
            zcs_core::attrs::attrs_for(ty.entry_kind()).any(|a| ev.attr_allowed(ty, a.name, false));
        if any {
            Ok(())
        } else {
            Err(denied(&format!("get.{}", ty.code()), &t.display_name()))
        }
    }
}

/// Every attribute of `attrs` settable on a `ty` entry named `name`.
// LIMITATION: dynamic groups are checked with list (`dl`) attribute rights; the
// catalogue has no group-specific attribute rights.
fn settable(ev: &Evaluator, ty: TargetType, attrs: &[String], name: &str) -> ServiceResult<()> {
    match attrs
        .iter()
        .map(|a| bare(a))
        .find(|a| !a.is_empty() && !ev.attr_allowed(ty, a, true))
    {
        Some(a) => Err(denied(&format!("set.{}.{a}", ty.code()), name)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_denials_read_well() {
        assert_eq!(bare("+zimbraMailAlias"), "zimbraMailAlias");
        assert_eq!(bare(" -description"), "description");
        assert_eq!(domain_part("l@Ex.test").ok(), Some("Ex.test"));
        assert!(domain_part("nodomain").is_err());
        let e = denied("deleteCos", "basic");
        assert_eq!(e.code, zcs_core::FaultCode::PermDenied);
        assert!(e.message.contains("deleteCos on basic"), "{}", e.message);
    }
}
