//! Address resolution for the MTA and the mail server: which entry an address names
//! (accounts, calendar resources, aliases, lists, alias domains, catch-all), what its
//! status means for delivery, and the expansion of a list into the addresses mail goes to.

use std::collections::{HashSet, VecDeque};

use zcs_core::{Entry, EntryKind, ServiceResult, ZimbraId};

use super::Provisioning;
use super::lists::is_group;
use crate::auth::{account_status, effective_status};
use crate::directory::EntryKey;
use crate::names::{normalize_address, split_address};

/// How many alias-domain hops resolution follows (an alias domain pointing at another).
const MAX_ALIAS_DOMAIN_HOPS: usize = 4;

/// What the MTA should do with mail for a resolved recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Deliver (status `active`, `locked` or `lockout`).
    Deliver,
    /// Temporary failure, retry later (status `maintenance`, or a domain in
    /// `maintenance`, `suspended` or `shutdown`): SMTP/LMTP 4xx.
    Defer,
    /// Permanent failure (status `closed` or `pending`, a `closed` domain, or
    /// `zimbraMailStatus disabled`): SMTP/LMTP 5xx.
    Reject,
}

/// The entry an address resolved to.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The account, calendar resource, static list or dynamic group.
    pub entry: Entry,
    /// The address after alias-domain rewriting (lower-cased).
    pub address: String,
    /// Whether the entry was reached through a `zimbraMailCatchAllAddress`.
    pub catch_all: bool,
    pub delivery: Delivery,
}

impl Resolved {
    /// Whether mail goes to the members of a list rather than to one mailbox.
    pub fn is_list(&self) -> bool {
        is_group(&self.entry)
    }
}

impl Provisioning {
    /// Resolves a recipient: an exact address or alias of an account, calendar resource,
    /// list or group; else, when the domain is an alias domain (`zimbraDomainType
    /// alias`), the same local part in its target (`zimbraDomainAliasTargetId`, a few
    /// hops at most); else the entry whose `zimbraMailCatchAllAddress` is `@domain` (for
    /// the address's domain, then for the target domain). `None` for an unknown or
    /// malformed address.
    ///
    /// Cost: one or two lookups for a known address; a miss in a domain reads the
    /// domain's entries to look for a catch-all.
    // LIMITATION: the catch-all lookup scans the domain's entries (no attribute index in
    // the Directory seam).
    pub async fn resolve_recipient(&self, addr: &str) -> ServiceResult<Option<Resolved>> {
        let Ok(mut address) = normalize_address(addr) else {
            return Ok(None);
        };
        let mut domains_seen: Vec<String> = Vec::new();
        for _ in 0..=MAX_ALIAS_DOMAIN_HOPS {
            if let Some(e) = self.dir.find_by_address(&address).await? {
                return Ok(Some(self.resolved(e, address, false).await?));
            }
            let (local, domain) = split_address(&address).expect("normalised address has an @");
            let (local, domain) = (local.to_string(), domain.to_string());
            domains_seen.push(domain.clone());
            let Some(dom) = self
                .dir
                .get_entry(EntryKind::Domain, &EntryKey::Name(domain.clone()))
                .await?
            else {
                break;
            };
            let target = dom
                .attrs
                .get("zimbraDomainType")
                .filter(|t| t.eq_ignore_ascii_case("alias"))
                .and(dom.attrs.get("zimbraDomainAliasTargetId"))
                .and_then(|t| t.trim().parse::<ZimbraId>().ok());
            let Some(target) = target else {
                break;
            };
            let Some(t) = self
                .dir
                .get_entry(EntryKind::Domain, &EntryKey::Id(target))
                .await?
            else {
                break;
            };
            address = format!("{local}@{}", t.name);
        }
        for domain in domains_seen.iter().rev() {
            if let Some(e) = self.catch_all_for(domain).await? {
                return Ok(Some(self.resolved(e, address, true).await?));
            }
        }
        Ok(None)
    }

    /// The entry whose `zimbraMailCatchAllAddress` is `@domain`.
    async fn catch_all_for(&self, domain: &str) -> ServiceResult<Option<Entry>> {
        let wanted = format!("@{domain}");
        for kind in [
            EntryKind::Account,
            EntryKind::CalendarResource,
            EntryKind::DistributionList,
            EntryKind::DynamicGroup,
        ] {
            for e in self.dir.list_entries(kind, Some(domain)).await? {
                if e.attrs
                    .get_all("zimbraMailCatchAllAddress")
                    .iter()
                    .any(|v| v.eq_ignore_ascii_case(&wanted))
                {
                    return Ok(Some(e));
                }
            }
        }
        Ok(None)
    }

    /// Attaches the delivery decision.
    async fn resolved(
        &self,
        e: Entry,
        address: String,
        catch_all: bool,
    ) -> ServiceResult<Resolved> {
        let domain = match e.domain() {
            Some(d) => {
                self.dir
                    .get_entry(EntryKind::Domain, &EntryKey::Name(d.into()))
                    .await?
            }
            None => None,
        };
        let delivery = delivery_for(&e, domain.as_ref());
        Ok(Resolved {
            entry: e,
            address,
            catch_all,
            delivery,
        })
    }

    /// The addresses mail to the list `addr` goes to: members of nested static lists
    /// and dynamic groups are expanded in turn, internal members are given by their
    /// primary name, and each address appears once, in first-seen order. A list that
    /// contains itself, directly or through others, is expanded once. External members
    /// are kept as stored. Empty for an address that is not a list.
    ///
    /// Cost: one lookup per member, plus the dynamic groups' scans.
    pub async fn expand_list(&self, addr: &str) -> ServiceResult<Vec<String>> {
        let Some(root) = self.find_group(addr).await? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut seen_addr: HashSet<String> = HashSet::new();
        let mut seen_list: HashSet<ZimbraId> = HashSet::from([root.id]);
        let mut queue = VecDeque::from([root]);
        while let Some(list) = queue.pop_front() {
            for m in self.group_members(&list).await? {
                let m = m.to_lowercase();
                match self.resolve_recipient(&m).await? {
                    Some(r) if r.is_list() => {
                        if seen_list.insert(r.entry.id) {
                            queue.push_back(r.entry);
                        }
                    }
                    Some(r) if !r.catch_all => {
                        let name = r.entry.name.to_lowercase();
                        if seen_addr.insert(name.clone()) {
                            out.push(name);
                        }
                    }
                    _ => {
                        if seen_addr.insert(m.clone()) {
                            out.push(m);
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

/// The delivery decision for an entry in a domain (spec 03 §1.5).
pub fn delivery_for(e: &Entry, domain: Option<&Entry>) -> Delivery {
    if e.attrs
        .get("zimbraMailStatus")
        .is_some_and(|s| s.eq_ignore_ascii_case("disabled"))
    {
        return Delivery::Reject;
    }
    let domain_status = domain.and_then(|d| d.attrs.get("zimbraDomainStatus"));
    let status = if is_group(e) {
        effective_status("active", domain_status)
    } else {
        account_status(e, domain_status)
    };
    match status.as_str() {
        "maintenance" => Delivery::Defer,
        "closed" | "pending" => Delivery::Reject,
        _ => Delivery::Deliver,
    }
}
