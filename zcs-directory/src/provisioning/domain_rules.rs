//! The rules a domain entry imposes on provisioning inside it (spec 02 §1.3.2, §1.3.6):
//!
//! - `zimbraDomainStatus` `suspended` or `shutdown` (the internal status a domain has
//!   while it is renamed) freezes it: accounts, calendar resources, aliases, lists and
//!   groups in it cannot be created, modified, renamed or deleted. Zimbra answers
//!   `service.PERM_DENIED` ("domain is suspended").
//! - `zimbraDomainMaxAccounts` caps the accounts the domain holds and
//!   `zimbraDomainCOSMaxAccounts` (`cosId:max` values) caps those on one COS. Calendar
//!   resources and system accounts (`zimbraIsSystemResource TRUE`: spam, ham, virus
//!   quarantine, GAL sync) are not counted, as the admin guide says ("Resources, spam,
//!   and ham accounts are not counted against this limit"). Going past a limit is
//!   `account.TOO_MANY_ACCOUNTS`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex, Weak};

use zcs_core::{Attrs, Entry, EntryKind, FaultCode, ServiceError, ServiceResult, ZimbraId};

use super::lists::zimbra_fault;
use super::{DEFAULT_COS, Provisioning};
use crate::directory::EntryKey;
use crate::names::{normalize_domain, split_address};

/// The domain statuses under which nothing in the domain may change.
const FROZEN_STATUSES: &[&str] = &["suspended", "shutdown"];

/// The status a domain has while it is being renamed.
pub(super) const SHUTDOWN: &str = "shutdown";

/// One lock per domain (by id) with account limits, held from counting its accounts
/// to writing the new one, so two creations racing for the last place cannot both see
/// it free.
///
/// A lock in the provisioning layer rather than a transactional count: the count runs
/// over `Directory::list_entries`, which every backend (SQL and LDAP) answers but none
/// can join to a create in one transaction, and LDAP has no transactions at all. The
/// map is process-wide, not per `Provisioning`, so every handle this process opens on
/// the directory (the server's, a test's second one) shares it; a domain id is a UUID,
/// so two directories in one process do not collide. Entries are weak and swept when
/// their lock is free.
// LIMITATION: two processes (a `zmprov -l` beside the running server) each hold their
// own map, so creations racing from two processes can still both take the last place.
static ACCOUNT_PLACE_LOCKS: LazyLock<Mutex<HashMap<ZimbraId, Weak<tokio::sync::Mutex<()>>>>> =
    LazyLock::new(Mutex::default);

/// Held while an account is counted against a domain's limits and written; dropping it
/// lets the next creation in that domain count.
#[must_use = "the place is only reserved while the guard lives"]
pub(super) struct AccountPlaceGuard {
    _held: Option<tokio::sync::OwnedMutexGuard<()>>,
}

/// How many accounts a domain holds against its limits, as the admin console's
/// "Account Limits" page shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DomainAccountUsage {
    /// Accounts counted against `zimbraDomainMaxAccounts`.
    pub accounts: u64,
    /// `zimbraDomainMaxAccounts`, when set.
    pub max_accounts: Option<u64>,
    /// Per COS id listed in `zimbraDomainCOSMaxAccounts`: `(in use, limit)`.
    pub per_cos: Vec<(ZimbraId, u64, u64)>,
}

/// Whether `status` (a `zimbraDomainStatus` value) freezes provisioning in the domain.
pub fn is_frozen_status(status: &str) -> bool {
    FROZEN_STATUSES
        .iter()
        .any(|s| s.eq_ignore_ascii_case(status.trim()))
}

/// The `service.PERM_DENIED` fault for a change in a frozen domain.
fn frozen_fault(domain: &Entry, status: &str) -> ServiceError {
    ServiceError::perm_denied(format!("domain {} is {}", domain.name, status.trim()))
}

/// `account.TOO_MANY_ACCOUNTS`, its message led by `TOO_MANY_ACCOUNTS:` as Zimbra's.
fn too_many_accounts(msg: impl std::fmt::Display) -> ServiceError {
    zimbra_fault("account.TOO_MANY_ACCOUNTS", FaultCode::TooManyAccounts, msg)
}

/// Whether the entry is a system account, which no account limit counts.
pub(super) fn is_system_account(attrs: &Attrs) -> bool {
    attrs
        .get("zimbraIsSystemResource")
        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
}

/// The `zimbraDomainCOSMaxAccounts` limits: COS id to maximum. Values that do not parse
/// are skipped (the registry stores any string).
fn cos_limits(domain: &Entry) -> HashMap<ZimbraId, u64> {
    domain
        .attrs
        .get_all("zimbraDomainCOSMaxAccounts")
        .iter()
        .filter_map(|v| {
            let (cos, max) = v.split_once(':')?;
            Some((cos.trim().parse().ok()?, max.trim().parse().ok()?))
        })
        .collect()
}

/// `zimbraDomainMaxAccounts`, when set to a number.
fn max_accounts(domain: &Entry) -> Option<u64> {
    domain
        .attrs
        .get("zimbraDomainMaxAccounts")
        .and_then(|v| v.trim().parse().ok())
}

impl Provisioning {
    /// Refuses a change to an entry in `domain` (a domain name) while that domain is
    /// `suspended` or `shutdown`. A domain that does not exist is left to the caller's
    /// own `account.NO_SUCH_DOMAIN` check.
    ///
    /// # Errors
    /// `service.PERM_DENIED`.
    pub(super) async fn check_domain_writable(&self, domain: &str) -> ServiceResult<()> {
        let Ok(name) = normalize_domain(domain) else {
            return Ok(());
        };
        let key = EntryKey::Name(name);
        if let Some(d) = self.dir.get_entry(EntryKind::Domain, &key).await? {
            check_entry_writable(&d)?;
        }
        Ok(())
    }

    /// [`Provisioning::check_domain_writable`] for the domain of each address given
    /// (addresses without a domain are skipped).
    pub(super) async fn check_addresses_writable(&self, addrs: &[&str]) -> ServiceResult<()> {
        let mut seen = HashSet::new();
        for a in addrs {
            if let Some((_, d)) = split_address(a)
                && seen.insert(d.to_ascii_lowercase())
            {
                self.check_domain_writable(d).await?;
            }
        }
        Ok(())
    }

    /// Refuses a grant or revoke on `target` (an entry rights are stored on) while its
    /// domain is frozen, as Zimbra's access check does before any right is looked at:
    /// an account, calendar resource, list or group whose domain is `suspended` or
    /// `shutdown` is refused. A domain entry itself stays manageable while `suspended`
    /// (an administrator must still be able to reactivate it; Zimbra's ModifyDomain is
    /// allowed then) and is refused only while `shutdown` (a rename is running). Other
    /// entries (COS, server, config) belong to no domain.
    ///
    /// # Errors
    /// `service.PERM_DENIED`.
    pub(crate) async fn check_grant_target_writable(&self, target: &Entry) -> ServiceResult<()> {
        match target.kind {
            EntryKind::Account
            | EntryKind::CalendarResource
            | EntryKind::DistributionList
            | EntryKind::DynamicGroup => self.check_addresses_writable(&[&target.name]).await,
            EntryKind::Domain => match target.attrs.get("zimbraDomainStatus") {
                Some(s) if s.trim().eq_ignore_ascii_case(SHUTDOWN) => {
                    Err(ServiceError::perm_denied(format!(
                        "can not access domain, domain is in {} status",
                        s.trim()
                    )))
                }
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Takes `domain`'s account-place lock when the domain sets any account limit (no
    /// lock otherwise, so unlimited domains create in parallel). Hold the guard from
    /// [`Provisioning::check_account_limits`] until the entry is written.
    pub(super) async fn lock_account_places(&self, domain: &Entry) -> AccountPlaceGuard {
        if max_accounts(domain).is_none() && cos_limits(domain).is_empty() {
            return AccountPlaceGuard { _held: None };
        }
        let lock = {
            let mut map = ACCOUNT_PLACE_LOCKS
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            map.retain(|_, w| w.strong_count() > 0);
            match map.get(&domain.id).and_then(Weak::upgrade) {
                Some(l) => l,
                None => {
                    let l = Arc::new(tokio::sync::Mutex::new(()));
                    map.insert(domain.id, Arc::downgrade(&l));
                    l
                }
            }
        };
        AccountPlaceGuard {
            _held: Some(lock.lock_owned().await),
        }
    }

    /// Refuses one more account on `cos_id` (the id the new or moved account will have
    /// as `zimbraCOSId`, `None` for the domain's default) in `domain` when that would
    /// pass `zimbraDomainMaxAccounts` or the COS's `zimbraDomainCOSMaxAccounts` limit.
    /// `moving` is an account of the domain that is only changing COS: it is not
    /// counted, and nothing is refused when its COS stays the same.
    ///
    /// Callers hold [`Provisioning::lock_account_places`] across this check and the
    /// write, so racing creations take the last place one at a time.
    ///
    /// Cost: nothing when the domain sets no limit; otherwise reads every account of
    /// the domain.
    ///
    /// # Errors
    /// `account.TOO_MANY_ACCOUNTS`.
    // LIMITATION: a COS not listed in zimbraDomainCOSMaxAccounts is not limited; the
    // rule that the per-COS limits together stay within zimbraDomainMaxAccounts is not
    // checked when the domain is modified; zimbraDomainFeatureMaxAccounts is not
    // enforced.
    pub(super) async fn check_account_limits(
        &self,
        domain: &Entry,
        cos_id: Option<&str>,
        moving: Option<&Entry>,
    ) -> ServiceResult<()> {
        let max = max_accounts(domain);
        let limits = cos_limits(domain);
        if max.is_none() && limits.is_empty() {
            return Ok(());
        }
        let resolver = self.cos_resolver(domain).await?;
        let target = resolver.effective(cos_id);
        let limit = target.and_then(|c| limits.get(&c).copied());
        if max.is_none() && limit.is_none() {
            return Ok(());
        }
        if let Some(m) = moving
            && resolver.effective(m.attrs.get("zimbraCOSId")) == target
        {
            return Ok(());
        }
        let exclude = moving.map(|m| m.id);
        let (total, on_cos) = self
            .count_accounts(domain, &resolver, target, exclude)
            .await?;
        if let Some(max) = max
            && exclude.is_none()
            && total >= max
        {
            return Err(too_many_accounts(format!(
                "domain {} allows at most {max} accounts (zimbraDomainMaxAccounts)",
                domain.name
            )));
        }
        if let (Some(limit), Some(cos)) = (limit, target)
            && on_cos >= limit
        {
            return Err(too_many_accounts(format!(
                "domain {} allows at most {limit} accounts on COS {cos} \
                 (zimbraDomainCOSMaxAccounts)",
                domain.name
            )));
        }
        Ok(())
    }

    /// How many accounts the domain holds against its limits (spec 02 §1.3.6: "usage
    /// (assigned/remaining) is tracked and displayed").
    ///
    /// Cost: reads every account of the domain.
    ///
    /// # Errors
    /// `account.NO_SUCH_DOMAIN`.
    pub async fn domain_account_usage(&self, key: &EntryKey) -> ServiceResult<DomainAccountUsage> {
        let domain = self.get_domain(key).await?;
        let resolver = self.cos_resolver(&domain).await?;
        let accounts = self.counted_accounts(&domain).await?;
        let mut per_cos: Vec<(ZimbraId, u64, u64)> = cos_limits(&domain)
            .into_iter()
            .map(|(cos, limit)| {
                let used = accounts
                    .iter()
                    .filter(|a| resolver.effective(a.attrs.get("zimbraCOSId")) == Some(cos))
                    .count() as u64;
                (cos, used, limit)
            })
            .collect();
        per_cos.sort();
        Ok(DomainAccountUsage {
            accounts: accounts.len() as u64,
            max_accounts: max_accounts(&domain),
            per_cos,
        })
    }

    /// The domain's accounts that count against its limits.
    async fn counted_accounts(&self, domain: &Entry) -> ServiceResult<Vec<Entry>> {
        let all = self
            .dir
            .list_entries(EntryKind::Account, Some(&domain.name))
            .await?;
        Ok(all
            .into_iter()
            .filter(|a| !is_system_account(&a.attrs))
            .collect())
    }

    /// Counts the domain's accounts, and among them those on `cos`, leaving `exclude`
    /// out.
    async fn count_accounts(
        &self,
        domain: &Entry,
        resolver: &CosResolver,
        cos: Option<ZimbraId>,
        exclude: Option<ZimbraId>,
    ) -> ServiceResult<(u64, u64)> {
        let mut total = 0;
        let mut on_cos = 0;
        for a in self.counted_accounts(domain).await? {
            if Some(a.id) == exclude {
                continue;
            }
            total += 1;
            if cos.is_some() && resolver.effective(a.attrs.get("zimbraCOSId")) == cos {
                on_cos += 1;
            }
        }
        Ok((total, on_cos))
    }

    /// What resolving an account's COS in `domain` needs, read once.
    async fn cos_resolver(&self, domain: &Entry) -> ServiceResult<CosResolver> {
        let all = self.all_cos().await?;
        let existing: HashSet<ZimbraId> = all.iter().map(|c| c.id).collect();
        let default = all
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(DEFAULT_COS))
            .map(|c| c.id);
        let domain_default = domain
            .attrs
            .get("zimbraDomainDefaultCOSId")
            .and_then(|v| v.trim().parse().ok())
            .filter(|id| existing.contains(id));
        Ok(CosResolver {
            existing,
            domain_default,
            default,
        })
    }
}

/// Refuses a change in `domain` while it is suspended or shut down.
///
/// # Errors
/// `service.PERM_DENIED`.
pub(super) fn check_entry_writable(domain: &Entry) -> ServiceResult<()> {
    match domain.attrs.get("zimbraDomainStatus") {
        Some(s) if is_frozen_status(s) => Err(frozen_fault(domain, s)),
        _ => Ok(()),
    }
}

/// Resolves the COS an account is on the way `inherit` does (its `zimbraCOSId`, else
/// the domain's `zimbraDomainDefaultCOSId`, else `default`, skipping deleted COS),
/// without a directory read per account.
struct CosResolver {
    existing: HashSet<ZimbraId>,
    domain_default: Option<ZimbraId>,
    default: Option<ZimbraId>,
}

impl CosResolver {
    /// The COS an account with `cos_id` as its `zimbraCOSId` is on.
    fn effective(&self, cos_id: Option<&str>) -> Option<ZimbraId> {
        cos_id
            .and_then(|v| v.trim().parse().ok())
            .filter(|id| self.existing.contains(id))
            .or(self.domain_default)
            .or(self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suspended_and_shutdown_freeze_others_do_not() {
        for s in ["suspended", "shutdown", "Suspended"] {
            assert!(is_frozen_status(s), "{s}");
        }
        for s in ["active", "locked", "maintenance", "closed", ""] {
            assert!(!is_frozen_status(s), "{s}");
        }
    }

    #[test]
    fn cos_limits_skip_malformed_values() {
        let id = ZimbraId::new();
        let mut attrs = Attrs::new();
        attrs.set(
            "zimbraDomainCOSMaxAccounts",
            vec![
                format!("{id}:3"),
                "junk".into(),
                "x:1".into(),
                format!("{id}x:2"),
            ],
        );
        let d = Entry {
            kind: EntryKind::Domain,
            id: ZimbraId::new(),
            name: "d.test".into(),
            attrs,
        };
        let limits = cos_limits(&d);
        assert_eq!(limits.len(), 1);
        assert_eq!(limits.get(&id), Some(&3));
    }

    #[test]
    fn too_many_accounts_names_the_zimbra_code() {
        let e = too_many_accounts("limit");
        assert!(
            e.message.starts_with("TOO_MANY_ACCOUNTS: "),
            "{}",
            e.message
        );
    }
}
