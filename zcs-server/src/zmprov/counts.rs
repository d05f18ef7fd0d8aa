//! `zmprov` counting commands: `countAccount` (cta), the accounts of a domain per
//! class of service in Zimbra's fixed-width table, and `countObjects` (cto), one number
//! for a kind of entry. Both search the directory asking only for the attributes they
//! test, so a large domain is not loaded whole.

use std::collections::BTreeMap;

use zcs_core::{Entry, EntryKind, ServiceError};
use zcs_directory::provisioning::member_url::Filter;
use zcs_directory::{EntryKey, Provisioning, SearchQuery};

use super::commands::CmdError;

fn is_true(e: &Entry, attr: &str) -> bool {
    e.attrs
        .get(attr)
        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
}

/// Zimbra's "non-system account": an account (not a calendar resource) that is not a
/// system resource (`zimbraIsSystemResource`) nor a system account
/// (`zimbraIsSystemAccount`, e.g. the GAL sync and spam-training accounts).
fn is_user_account(e: &Entry) -> bool {
    e.kind == EntryKind::Account
        && !is_true(e, "zimbraIsSystemResource")
        && !is_true(e, "zimbraIsSystemAccount")
}

/// Entries of `kinds` (in `domain` when given) with only `attrs` read.
async fn entries(
    p: &Provisioning,
    kinds: &[EntryKind],
    domain: Option<&str>,
    filter: Option<Filter>,
    attrs: &[&str],
) -> Result<Vec<Entry>, CmdError> {
    let mut q = SearchQuery::new(kinds);
    if let Some(d) = domain {
        q = q.in_domain(d.to_string());
    }
    if let Some(f) = filter {
        q = q.with_filter(f);
    }
    q.attrs = Some(attrs.iter().map(|a| a.to_string()).collect());
    Ok(p.search_directory(&q).await?.entries)
}

/// `cta {domain|id}`: the domain's user accounts counted per COS: each account counts
/// under its `zimbraCOSId`, else the domain's `zimbraDomainDefaultCOSId`, else the
/// `default` COS. Zimbra's table: a heading, a dashed rule, one
/// `%-20s %-40s %d` row per COS (by COS name here), then an empty line.
pub(super) async fn count_account(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let d = p.get_domain(&EntryKey::parse(&a[0])).await?;
    let fallback = match d.attrs.get("zimbraDomainDefaultCOSId") {
        Some(id) => p.get_cos(&EntryKey::parse(id)).await.ok(),
        None => None,
    };
    let fallback = match fallback {
        Some(c) => Some(c),
        None => p.get_cos(&EntryKey::Name("default".into())).await.ok(),
    };
    let accounts = entries(
        p,
        &[EntryKind::Account],
        Some(&d.name),
        None,
        &[
            "zimbraCOSId",
            "zimbraIsSystemResource",
            "zimbraIsSystemAccount",
        ],
    )
    .await?;
    // COS id -> (name, count); a zimbraCOSId naming no COS counts under the fallback.
    let mut by_id: BTreeMap<String, (String, u64)> = BTreeMap::new();
    let mut known: BTreeMap<String, Option<Entry>> = BTreeMap::new();
    for acct in accounts.iter().filter(|e| is_user_account(e)) {
        let own = match acct.attrs.get("zimbraCOSId") {
            Some(id) => {
                let key = id.trim().to_ascii_lowercase();
                if !known.contains_key(&key) {
                    let found = p.get_cos(&EntryKey::parse(id)).await.ok();
                    known.insert(key.clone(), found);
                }
                known.get(&key).cloned().flatten()
            }
            None => None,
        };
        let Some(cos) = own.or_else(|| fallback.clone()) else {
            continue;
        };
        by_id
            .entry(cos.id.to_string())
            .or_insert_with(|| (cos.name.clone(), 0))
            .1 += 1;
    }
    let mut rows: Vec<(String, String, u64)> = by_id
        .into_iter()
        .map(|(id, (name, n))| (name, id, n))
        .collect();
    rows.sort_by_cached_key(|r| r.0.to_lowercase());
    let mut out = format!("{:<20} {:<40} {}\n", "cos name", "cos id", "# of accounts");
    out.push_str(&format!(
        "{:<20} {:<40} {}\n",
        "-".repeat(20),
        "-".repeat(40),
        "-".repeat(20)
    ));
    for (name, id, n) in rows {
        out.push_str(&format!("{name:<20} {id:<40} {n}\n"));
    }
    out.push('\n');
    Ok(out)
}

/// The types `countObjects` counts.
const TYPES: &[&str] = &[
    "userAccount",
    "account",
    "alias",
    "dl",
    "domain",
    "cos",
    "server",
    "calresource",
    "accountOnUCService",
    "cosOnUCService",
    "domainOnUCService",
    "internalUserAccount",
    "internalArchivingAccount",
];

/// Whether a `countObjects` type may be limited to one domain (`-d`).
fn allows_domain(t: &str) -> bool {
    !matches!(
        t,
        "domain" | "cos" | "server" | "cosOnUCService" | "domainOnUCService"
    )
}

/// `cto {type} [-d {domain|id}] [-u {ucservice-id}]`: prints how many entries of the
/// type there are. `userAccount` counts accounts that are neither calendar resources
/// nor system accounts; `internalUserAccount` leaves out external virtual accounts
/// too; `internalArchivingAccount` counts the internal ones that archive
/// (`amavisArchiveQuarantineTo` set); `account` counts every account and calendar
/// resource; `alias` the alias addresses (`zimbraMailAlias` values, by the alias's own
/// domain with `-d`); `dl` static and dynamic lists; `*OnUCService` the entries whose
/// `zimbraUCServiceId` is the `-u` value.
pub(super) async fn count_objects(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let t = TYPES
        .iter()
        .find(|t| t.eq_ignore_ascii_case(&a[0]))
        .copied()
        .ok_or_else(|| {
            CmdError::Fault(ServiceError::invalid_request(format!(
                "unknown type: {}; one of {}",
                a[0],
                TYPES.join(", ")
            )))
        })?;
    let (mut domain, mut uc) = (None, None);
    let mut it = a[1..].iter();
    while let Some(flag) = it.next() {
        let v = it.next().ok_or(CmdError::Usage)?;
        match flag.as_str() {
            "-d" => domain = Some(p.get_domain(&EntryKey::parse(v)).await?.name),
            "-u" => uc = Some(v.trim().to_string()),
            _ => return Err(CmdError::Usage),
        }
    }
    if domain.is_some() && !allows_domain(t) {
        return Err(CmdError::Fault(ServiceError::invalid_request(format!(
            "cannot count {t} in a domain"
        ))));
    }
    let on_uc = t.ends_with("OnUCService");
    if on_uc != uc.is_some() {
        return Err(CmdError::Fault(ServiceError::invalid_request(if on_uc {
            format!("counting {t} needs -u {{ucservice-id}}")
        } else {
            format!("-u is only for the OnUCService types, not {t}")
        })));
    }
    let uc_filter = uc.map(|id| Filter::Equal("zimbraUCServiceId".into(), id));
    let d = domain.as_deref();
    let flags = &[
        "zimbraIsSystemResource",
        "zimbraIsSystemAccount",
        "zimbraIsExternalVirtualAccount",
        "amavisArchiveQuarantineTo",
    ];
    let n = match t {
        "userAccount" | "internalUserAccount" | "internalArchivingAccount" => {
            let all = entries(p, &[EntryKind::Account], d, None, flags).await?;
            all.iter()
                .filter(|e| is_user_account(e))
                .filter(|e| t == "userAccount" || !is_true(e, "zimbraIsExternalVirtualAccount"))
                .filter(|e| {
                    t != "internalArchivingAccount" || e.attrs.contains("amavisArchiveQuarantineTo")
                })
                .count()
        }
        // An alias is one address in an account's, resource's or list's
        // zimbraMailAlias (Zimbra keeps one alias entry per address, in the alias's
        // own domain, which may differ from its owner's).
        "alias" => {
            let kinds = &[
                EntryKind::Account,
                EntryKind::CalendarResource,
                EntryKind::DistributionList,
                EntryKind::DynamicGroup,
            ];
            let present = Some(Filter::Present("zimbraMailAlias".into()));
            let owners = entries(p, kinds, None, present, &["zimbraMailAlias"]).await?;
            owners
                .iter()
                .flat_map(|e| {
                    // A list's zimbraMailAlias also holds its own address.
                    let own = e.name.as_str();
                    e.attrs
                        .get_all("zimbraMailAlias")
                        .iter()
                        .filter(move |a| !a.eq_ignore_ascii_case(own))
                })
                .filter(|a| {
                    d.is_none_or(|d| {
                        a.rsplit_once('@')
                            .is_some_and(|(_, ad)| ad.eq_ignore_ascii_case(d))
                    })
                })
                .count()
        }
        _ => {
            let kinds: &[EntryKind] = match t {
                "account" => &[EntryKind::Account, EntryKind::CalendarResource],
                "accountOnUCService" => &[EntryKind::Account],
                "dl" => &[EntryKind::DistributionList, EntryKind::DynamicGroup],
                "domain" | "domainOnUCService" => &[EntryKind::Domain],
                "cos" | "cosOnUCService" => &[EntryKind::Cos],
                "server" => &[EntryKind::Server],
                _ => &[EntryKind::CalendarResource],
            };
            entries(p, kinds, d, uc_filter, &[]).await?.len()
        }
    };
    Ok(format!("{n}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_known_and_domain_rules_hold() {
        assert_eq!(TYPES.len(), 13);
        assert!(allows_domain("userAccount") && allows_domain("calresource"));
        assert!(!allows_domain("server") && !allows_domain("domainOnUCService"));
    }
}
