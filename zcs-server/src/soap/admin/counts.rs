//! Admin requests that count or list what the server holds rather than change it:
//! CountObjects (directory entries of one type, optionally per domain), GetSessions
//! (the live SOAP notification sessions) and ComputeAggregateQuotaUsage (mailbox bytes
//! used per domain).

use std::collections::BTreeMap;

use zcs_core::{Entry, EntryKind, ServiceError, ServiceResult};

use super::super::context::{Ctx, store_fault};
use super::super::element::Element;
use super::super::envelope::NS_ADMIN;
use super::super::response;

/// Routes the counting requests; `None` for other names.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    if !matches!(
        name,
        "CountObjectsRequest" | "GetSessionsRequest" | "ComputeAggregateQuotaUsageRequest"
    ) {
        return None;
    }
    if let Err(e) = ctx.admin().await {
        return Some(Err(e));
    }
    Some(match name {
        "CountObjectsRequest" => count_objects(ctx, req).await,
        "GetSessionsRequest" => sessions(ctx, req).await,
        _ => aggregate_quota(ctx).await,
    })
}

/// Whether an account entry is a system resource (spam/ham/GAL sync accounts).
fn is_system(e: &Entry) -> bool {
    e.attrs
        .get("zimbraIsSystemResource")
        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
}

/// The domain part of an entry name (`user@domain`), lower-cased.
fn domain_of(e: &Entry) -> String {
    e.name
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .unwrap_or_default()
}

/// CountObjectsRequest `type=userAccount|internalUserAccount|account|alias|dl|domain|
/// cos|server|calresource [<domain by=>...]`: `<CountObjectsResponse num= type=/>`.
///
/// # Errors
/// `service.INVALID_REQUEST` for another type; `account.NO_SUCH_DOMAIN` for a domain
/// that does not exist.
async fn count_objects(ctx: &Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let prov = &ctx.svc.prov;
    let ty = req.req("type")?.trim().to_string();
    let mut domains = Vec::new();
    for d in req.children_named("domain") {
        let key = match d.attr("by").unwrap_or("name") {
            "id" => zcs_directory::EntryKey::parse(d.text().trim()),
            _ => zcs_directory::EntryKey::Name(d.text().trim().to_string()),
        };
        domains.push(prov.get_domain(&key).await?.name.to_ascii_lowercase());
    }
    let in_scope = |e: &Entry| domains.is_empty() || domains.contains(&domain_of(e));
    let num = match ty.as_str() {
        "userAccount" | "internalUserAccount" | "account" => prov
            .all_accounts(None)
            .await?
            .iter()
            .filter(|e| in_scope(e))
            .filter(|e| ty == "account" || (e.kind == EntryKind::Account && !is_system(e)))
            .count(),
        "calresource" => prov
            .all_calendar_resources(None)
            .await?
            .iter()
            .filter(|e| in_scope(e))
            .count(),
        "alias" => {
            let mut n = 0;
            for e in prov.all_accounts(None).await? {
                if in_scope(&e) {
                    n += zcs_directory::provisioning::aliases_of(&e).len();
                }
            }
            for e in prov.all_groups(None).await? {
                if in_scope(&e) {
                    n += zcs_directory::provisioning::aliases_of(&e).len();
                }
            }
            n
        }
        "dl" => prov
            .all_groups(None)
            .await?
            .iter()
            .filter(|e| in_scope(e))
            .count(),
        "domain" => prov.all_domains().await?.len(),
        "cos" => prov.all_cos().await?.len(),
        "server" => prov.all_servers().await?.len(),
        other => {
            return Err(ServiceError::invalid_request(format!(
                "unknown object type: {other}"
            )));
        }
    };
    let mut resp = response("CountObjectsResponse", NS_ADMIN);
    resp.set_num("num", num).set("type", ty);
    Ok(resp)
}

/// GetSessionsRequest `type=soap|imap|admin [limit] [offset]`: the SOAP notification
/// sessions, `<s zid= name= sid= cd= ld=/>` each (`cd`/`ld` in ms since the epoch), under
/// `more`, `total`. IMAP and admin sessions are not tracked: an empty list.
async fn sessions(ctx: &Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let ty = req.attr("type").unwrap_or("soap");
    let limit = usize::try_from(req.int_attr("limit", 0)?.max(0)).unwrap_or(0);
    let offset = usize::try_from(req.int_attr("offset", 0)?.max(0)).unwrap_or(0);
    let all = if ty == "soap" {
        ctx.svc.sessions.snapshot()
    } else {
        Vec::new()
    };
    let total = all.len();
    let end = if limit == 0 {
        total
    } else {
        offset.saturating_add(limit).min(total)
    };
    let mut resp = response("GetSessionsResponse", NS_ADMIN);
    resp.set_bool("more", end < total).set_num("total", total);
    let now = chrono::Utc::now().timestamp_millis();
    for (sid, account, idle) in all.into_iter().take(end).skip(offset) {
        let name = match ctx.svc.prov.find_account(&account.to_string()).await? {
            Some(a) => a.name,
            None => String::new(),
        };
        let last = now - i64::try_from(idle.as_millis()).unwrap_or(0);
        resp.add_new("s")
            .set("zid", account.to_string())
            .set("name", name)
            .set_num("sid", sid)
            .set_num("ld", last);
    }
    Ok(resp)
}

/// ComputeAggregateQuotaUsageRequest: `<domain id= name= used=/>` per domain, the
/// bytes its accounts' mailboxes use.
async fn aggregate_quota(ctx: &Ctx<'_>) -> ServiceResult<Element> {
    let prov = &ctx.svc.prov;
    let mut used: BTreeMap<String, u64> = BTreeMap::new();
    for account in prov.all_accounts(None).await? {
        let bytes = match ctx
            .svc
            .store
            .find_mailbox(account.id)
            .await
            .map_err(store_fault)?
        {
            Some(mb) => mb.quota_usage().await.map_err(store_fault)?,
            None => 0,
        };
        *used.entry(domain_of(&account)).or_default() += bytes;
    }
    let mut resp = response("ComputeAggregateQuotaUsageResponse", NS_ADMIN);
    for d in prov.all_domains().await? {
        let n = used.get(&d.name.to_ascii_lowercase()).copied().unwrap_or(0);
        resp.add_new("domain")
            .set("id", d.id.to_string())
            .set("name", d.name.clone())
            .set_num("used", n);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, system: bool) -> Entry {
        let mut attrs = zcs_core::Attrs::new();
        if system {
            attrs.add("zimbraIsSystemResource", "TRUE");
        }
        Entry {
            kind: EntryKind::Account,
            id: zcs_core::ZimbraId::new(),
            name: name.into(),
            attrs,
        }
    }

    #[test]
    fn domains_and_system_accounts() {
        assert_eq!(domain_of(&entry("a@X.Test", false)), "x.test");
        assert_eq!(domain_of(&entry("nodomain", false)), "");
        assert!(is_system(&entry("spam@x.test", true)));
        assert!(!is_system(&entry("a@x.test", false)));
    }
}
