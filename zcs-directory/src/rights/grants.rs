//! Granting, revoking and listing grants (`zmprov grr`, `rvr`, `gg`; GrantRight,
//! RevokeRight, GetGrants). A grant is one `zimbraACE` value on the target entry.
//!
//! Rules applied at grant time (spec 03 §1.14-1.15): the right must exist and fit the
//! target type (an account right on an account, list, domain or global; a domain right
//! on a domain or global; ...); admin rights go only to admin accounts and admin groups;
//! a delegated admin may grant or revoke only what it holds with the can-delegate
//! modifier (`+`). A new grant of the same right to the same grantee replaces the old
//! one, whatever its modifier.

use zcs_core::{AttrEdit, Entry, EntryKind, ServiceError, ServiceResult, ZimbraId};

use super::ace::{GUID_ALL, GUID_PUBLIC, Grant, grants_of};
use super::registry::{Right, RightClass};
use super::types::{GranteeType, Modifier, TargetType};
use super::{RightsEngine, Target, flag, is_global_admin, no_such_right};
use crate::directory::EntryKey;
use crate::names::{normalize_address, normalize_domain};

const A_ACE: &str = "zimbraACE";

/// What a grant or revoke names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantSpec {
    pub target_type: TargetType,
    /// Name or id; ignored for `config` and `global`.
    pub target: Option<String>,
    pub grantee_type: GranteeType,
    /// Name or id; ignored for `all` and `pub`.
    pub grantee: String,
    /// The right name, without modifier.
    pub right: String,
    pub modifier: Modifier,
    /// The guest password or access key (`gst`, `key`).
    pub secret: Option<String>,
}

/// One grant with the names of what it links, for listings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantInfo {
    pub target_type: TargetType,
    pub target_id: String,
    pub target_name: String,
    /// The grantee's name (account, list or domain name; the stored form otherwise).
    pub grantee_name: String,
    pub grant: Grant,
}

impl RightsEngine<'_> {
    /// Grants a right. `granter` is the admin asking (`None` for the local `zmprov -l`
    /// operator, who may do anything). Returns the stored grant.
    ///
    /// # Errors
    /// `account.NO_SUCH_RIGHT`; `service.INVALID_REQUEST` when the right does not fit
    /// the target or the grantee; `service.PERM_DENIED` when a delegated granter does
    /// not hold the right with `+`, or when the target is an entry of a `suspended` or
    /// `shutdown` domain (or a `shutdown` domain itself); the "no such" faults of target
    /// and grantee.
    pub async fn grant_right(
        &self,
        granter: Option<&Entry>,
        spec: &GrantSpec,
    ) -> ServiceResult<Grant> {
        let (target, grant) = self.prepare(granter, spec).await?;
        let mut edits = Vec::new();
        for old in target.entry.attrs.get_all(A_ACE) {
            if Grant::parse(old).is_some_and(|g| g.same_subject(&grant)) {
                edits.push(AttrEdit::Remove(A_ACE.into(), old.clone()));
            }
        }
        edits.push(AttrEdit::Add(A_ACE.into(), grant.format()));
        self.prov
            .directory()
            .modify_entry(target.entry.kind, target.entry.id, &edits)
            .await?;
        tracing::info!(target_type = %target.ty, target = %target.display_name(),
            grantee_type = %grant.grantee_type, right = %grant.right,
            modifier = grant.modifier.prefix(), "right granted");
        Ok(grant)
    }

    /// Revokes a grant: the one with the same grantee, right and deny flag.
    ///
    /// # Errors
    /// As [`RightsEngine::grant_right`]; `account.NO_SUCH_GRANT`-like
    /// `service.INVALID_REQUEST` when no such grant exists.
    pub async fn revoke_right(
        &self,
        granter: Option<&Entry>,
        spec: &GrantSpec,
    ) -> ServiceResult<()> {
        let (target, want) = self.prepare(granter, spec).await?;
        let stored = target
            .entry
            .attrs
            .get_all(A_ACE)
            .iter()
            .find(|v| {
                Grant::parse(v)
                    .is_some_and(|g| g.same_subject(&want) && g.is_deny() == want.is_deny())
            })
            .cloned()
            .ok_or_else(|| ServiceError::invalid_request("no such grant"))?;
        self.prov
            .directory()
            .modify_entry(
                target.entry.kind,
                target.entry.id,
                &[AttrEdit::Remove(A_ACE.into(), stored)],
            )
            .await?;
        tracing::info!(target_type = %target.ty, target = %target.display_name(),
            right = %want.right, "right revoked");
        Ok(())
    }

    /// The grants sitting on a target, in stored order (values that do not parse are
    /// skipped). For `config` and `global` this is the global config entry's grants.
    ///
    /// # Errors
    /// `service.FAILURE` when the directory fails.
    pub async fn grants_on(&self, target: &Target) -> ServiceResult<Vec<GrantInfo>> {
        let mut out = Vec::new();
        for grant in grants_of(target.entry.attrs.get_all(A_ACE)) {
            out.push(self.info(target, grant).await?);
        }
        Ok(out)
    }

    /// Every grant naming a grantee anywhere in the directory; with `include_groups`,
    /// also the grants to the groups an account belongs to (nested ones too).
    ///
    /// Cost: reads every entry that can hold grants.
    ///
    /// # Errors
    /// The "no such" fault of the grantee.
    pub async fn grants_to(
        &self,
        grantee_type: GranteeType,
        grantee: &str,
        include_groups: bool,
    ) -> ServiceResult<Vec<GrantInfo>> {
        let id = self.grantee_id(grantee_type, grantee, false).await?;
        let mut ids = vec![(grantee_type, id)];
        if include_groups && grantee_type == GranteeType::Usr {
            for (g, _) in self.prov.group_membership(grantee).await? {
                ids.push((GranteeType::Grp, g.id.to_string()));
            }
        }
        let mut out = Vec::new();
        for target in self.holders().await? {
            for grant in grants_of(target.entry.attrs.get_all(A_ACE)) {
                if ids.iter().any(|(t, i)| {
                    *t == grant.grantee_type && i.eq_ignore_ascii_case(&grant.grantee)
                }) {
                    out.push(self.info(&target, grant).await?);
                }
            }
        }
        Ok(out)
    }

    /// Every entry carrying at least one `zimbraACE` value, as a target (the global
    /// config entry as `global`).
    pub(crate) async fn holders(&self) -> ServiceResult<Vec<Target>> {
        let dir = self.prov.directory();
        let mut out = Vec::new();
        for kind in [
            EntryKind::GlobalConfig,
            EntryKind::Domain,
            EntryKind::Cos,
            EntryKind::Server,
            EntryKind::Zimlet,
            EntryKind::DistributionList,
            EntryKind::DynamicGroup,
            EntryKind::Account,
            EntryKind::CalendarResource,
        ] {
            for entry in dir.list_entries(kind, None).await? {
                if entry.attrs.get_all(A_ACE).is_empty() {
                    continue;
                }
                let ty = match kind {
                    EntryKind::GlobalConfig => TargetType::Global,
                    k => TargetType::of_kind(k).unwrap_or(TargetType::Global),
                };
                out.push(Target { ty, entry });
            }
        }
        Ok(out)
    }

    async fn info(&self, target: &Target, grant: Grant) -> ServiceResult<GrantInfo> {
        Ok(GrantInfo {
            target_type: target.ty,
            target_id: target.entry.id.to_string(),
            target_name: target.display_name(),
            grantee_name: self.grantee_name(&grant).await?,
            grant,
        })
    }

    /// The readable name of a grant's grantee (the stored form when it names no entry).
    pub async fn grantee_name(&self, g: &Grant) -> ServiceResult<String> {
        let p = self.prov;
        let dir = p.directory();
        Ok(match g.grantee_type {
            GranteeType::Usr => p.find_account(&g.grantee).await?.map(|e| e.name),
            GranteeType::Grp => p.find_group(&g.grantee).await?.map(|e| e.name),
            GranteeType::Dom => match g.grantee.parse::<ZimbraId>() {
                Ok(id) => dir
                    .get_entry(EntryKind::Domain, &EntryKey::Id(id))
                    .await?
                    .map(|e| e.name),
                Err(_) => None,
            },
            GranteeType::All | GranteeType::Pub => Some(String::new()),
            _ => None,
        }
        .unwrap_or_else(|| g.grantee.clone()))
    }

    async fn prepare(
        &self,
        granter: Option<&Entry>,
        spec: &GrantSpec,
    ) -> ServiceResult<(Target, Grant)> {
        let (modifier, bare) = Modifier::split(spec.right.trim());
        let modifier = if modifier == Modifier::None {
            spec.modifier
        } else {
            modifier
        };
        let right = Right::lookup(bare).ok_or_else(|| no_such_right(bare))?;
        let target = self
            .target(spec.target_type, spec.target.as_deref())
            .await?;
        // An entry of a frozen domain takes no grant and loses none (Zimbra's admin
        // access check refuses it before the right is looked at).
        self.prov.check_grant_target_writable(&target.entry).await?;
        if !right.grantable_on(target.ty) {
            return Err(ServiceError::invalid_request(format!(
                "right {} cannot be granted on a {} entry",
                right.name(),
                target.ty
            )));
        }
        let admin_right = right.class() == RightClass::Admin;
        if admin_right && !spec.grantee_type.admin_capable() {
            return Err(ServiceError::invalid_request(format!(
                "grantee type {} cannot be granted admin right {}",
                spec.grantee_type,
                right.name()
            )));
        }
        let grantee = self
            .grantee_id(spec.grantee_type, &spec.grantee, admin_right)
            .await?;
        if let Some(admin) = granter.filter(|a| !is_global_admin(a)) {
            let d = self.evaluate(admin, &target).await?.decide(&right);
            if !(d.allowed
                && d.via
                    .is_some_and(|v| v.grant.modifier == Modifier::CanDelegate))
            {
                return Err(ServiceError::perm_denied(format!(
                    "{} may not delegate right {}",
                    admin.name,
                    right.name()
                )));
            }
        }
        let secret = match spec.grantee_type {
            t if t.has_secret() => spec
                .secret
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty() && !s.contains(char::is_whitespace))
                .map(str::to_string),
            _ => None,
        };
        Ok((
            target,
            Grant {
                grantee,
                grantee_type: spec.grantee_type,
                right: right.name(),
                modifier,
                secret,
            },
        ))
    }

    /// The stored grantee of a name: an id for accounts, groups and domains. With
    /// `admin`, accounts must be admins and groups admin groups.
    async fn grantee_id(&self, ty: GranteeType, name: &str, admin: bool) -> ServiceResult<String> {
        let p = self.prov;
        let name = name.trim();
        Ok(match ty {
            GranteeType::Usr => {
                let a = p.get_account(name).await?;
                if admin && !(is_global_admin(&a) || flag(&a, "zimbraIsDelegatedAdminAccount")) {
                    return Err(ServiceError::invalid_request(format!(
                        "grantee {} is not an admin account",
                        a.name
                    )));
                }
                a.id.to_string()
            }
            GranteeType::Grp => {
                let g = p.get_group(name).await?;
                if admin && !flag(&g, "zimbraIsAdminGroup") {
                    return Err(ServiceError::invalid_request(format!(
                        "grantee {} is not an admin group",
                        g.name
                    )));
                }
                g.id.to_string()
            }
            GranteeType::Dom => p.get_domain(&EntryKey::parse(name)).await?.id.to_string(),
            GranteeType::Edom => normalize_domain(name)?,
            GranteeType::Gst | GranteeType::Email => normalize_address(name)?,
            GranteeType::Egp | GranteeType::Key => {
                if name.is_empty() || name.contains(char::is_whitespace) {
                    return Err(ServiceError::invalid_request(format!(
                        "invalid grantee {name:?}"
                    )));
                }
                name.to_string()
            }
            GranteeType::All => GUID_ALL.to_string(),
            GranteeType::Pub => GUID_PUBLIC.to_string(),
        })
    }
}
