//! Admin requests about accounts' mailboxes rather than their directory entries:
//! GetMailbox, GetMailboxStats, GetAllMailboxes, DeleteMailbox, PurgeMessages,
//! RecalculateMailboxCounts, GetQuotaUsage, ReIndex and ManageIndex (delayed indexing,
//! in `search::delayed_index`), with Zimbra's element shapes
//! (`<mbox mbxid= s=/>`, `<account name= id= used= limit=/>`).
//!
//! A mailbox is named by its account's id (`<mbox id="{accountId}"/>`); `mbxid` in the
//! answers is the store's numeric mailbox id, as Zimbra's is the database's.

use zcs_core::attrs::value::parse_size;
use zcs_core::{Entry, ServiceError, ServiceResult};
use zcs_directory::EntryKey;
use zcs_store::Mailbox;

use super::super::context::{Ctx, store_fault};
use super::super::element::Element;
use super::super::envelope::NS_ADMIN;
use super::super::response;
use crate::indexer::ReindexState;
use crate::purge_job::{purge_policy, system_policy_lifetimes};

/// Routes the mailbox requests; `None` for other names.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    let known = matches!(
        name,
        "GetMailboxRequest"
            | "GetMailboxStatsRequest"
            | "GetAllMailboxesRequest"
            | "DeleteMailboxRequest"
            | "PurgeMessagesRequest"
            | "RecalculateMailboxCountsRequest"
            | "GetQuotaUsageRequest"
            | "ReIndexRequest"
            | "VerifyIndexRequest"
            | "ManageIndexRequest"
            | "ExportAndDeleteItemsRequest"
    );
    if !known {
        return None;
    }
    let admin = match ctx.admin().await {
        Ok(a) => a,
        Err(e) => return Some(Err(e)),
    };
    let who = admin.account.name.clone();
    Some(match name {
        "GetMailboxRequest" => get_mailbox(ctx, req).await,
        "GetMailboxStatsRequest" => stats(ctx).await,
        "GetAllMailboxesRequest" => all_mailboxes(ctx, req).await,
        "DeleteMailboxRequest" => delete_mailbox(ctx, req, &who).await,
        "PurgeMessagesRequest" => purge(ctx, req, &who).await,
        "RecalculateMailboxCountsRequest" => recalculate(ctx, req).await,
        "ReIndexRequest" => reindex(ctx, req, &who).await,
        "VerifyIndexRequest" => verify_index(ctx, req).await,
        "ManageIndexRequest" => match mbox_account(ctx, req).await {
            Ok(account) => {
                super::super::search::delayed_index::manage_index(ctx, req, &account, &who).await
            }
            Err(e) => Err(e),
        },
        "ExportAndDeleteItemsRequest" => export_and_delete(ctx, req, &who).await,
        _ => quota_usage(ctx, req).await,
    })
}

/// The account `<mbox id=>` names.
///
/// # Errors
/// `service.INVALID_REQUEST` without an id, `account.NO_SUCH_ACCOUNT` for an id no
/// account has.
async fn mbox_account(ctx: &Ctx<'_>, req: &Element) -> ServiceResult<Entry> {
    let id = req
        .child("mbox")
        .and_then(|m| m.attr("id"))
        .map(str::trim)
        .unwrap_or("");
    if id.is_empty() {
        return Err(ServiceError::invalid_request(
            "missing required attribute: id",
        ));
    }
    match ctx.svc.prov.find_account(id).await? {
        Some(a) => Ok(a),
        None => Err(ServiceError::no_such_account(id)),
    }
}

/// `<mbox mbxid= s=/>` for a mailbox.
async fn mbox_element(mb: &Mailbox) -> ServiceResult<Element> {
    let (size, _) = mb.size_and_count().await.map_err(store_fault)?;
    let mut el = Element::new("mbox");
    el.set_num("mbxid", mb.id().0).set_num("s", size);
    Ok(el)
}

/// GetMailboxRequest `<mbox id=>`: the account's mailbox (created on first use, as
/// Zimbra opens it) with its size.
async fn get_mailbox(ctx: &Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let account = mbox_account(ctx, req).await?;
    let mb = ctx
        .svc
        .store
        .mailbox(account.id)
        .await
        .map_err(store_fault)?;
    let mut resp = response("GetMailboxResponse", NS_ADMIN);
    resp.add(mbox_element(&mb).await?);
    Ok(resp)
}

/// Every account with a mailbox, with that mailbox.
pub(super) async fn mailboxes(ctx: &Ctx<'_>) -> ServiceResult<Vec<(Entry, Mailbox)>> {
    let mut out = Vec::new();
    for account in ctx.svc.prov.all_accounts(None).await? {
        if let Some(mb) = ctx
            .svc
            .store
            .find_mailbox(account.id)
            .await
            .map_err(store_fault)?
        {
            out.push((account, mb));
        }
    }
    Ok(out)
}

/// GetMailboxStatsRequest: `<stats numMboxes= totalSize=/>` over every mailbox.
async fn stats(ctx: &Ctx<'_>) -> ServiceResult<Element> {
    let all = mailboxes(ctx).await?;
    let mut total = 0u64;
    for (_, mb) in &all {
        total += mb.size_and_count().await.map_err(store_fault)?.0;
    }
    let mut resp = response("GetMailboxStatsResponse", NS_ADMIN);
    resp.add_new("stats")
        .set_num("numMboxes", all.len())
        .set_num("totalSize", total);
    Ok(resp)
}

/// `limit=` and `offset=` of a paged request (limit 0 is everything).
fn page(req: &Element) -> ServiceResult<(usize, usize)> {
    let num = |name: &str| -> ServiceResult<usize> {
        match req.attr(name).map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(0),
            Some(v) => v
                .parse()
                .map_err(|_| ServiceError::invalid_request(format!("invalid {name}: {v}"))),
        }
    };
    Ok((num("limit")?, num("offset")?))
}

/// Sets `more` and `searchTotal` on `resp` and returns the window of `len` items.
fn window(resp: &mut Element, len: usize, limit: usize, offset: usize) -> std::ops::Range<usize> {
    let start = offset.min(len);
    let end = if limit == 0 {
        len
    } else {
        start.saturating_add(limit).min(len)
    };
    resp.set("more", if end < len { "1" } else { "0" });
    resp.set_num("searchTotal", len);
    start..end
}

/// GetAllMailboxesRequest `[limit] [offset]`: `<mbox id= accountId= s=/>` per mailbox.
async fn all_mailboxes(ctx: &Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let (limit, offset) = page(req)?;
    let mut all = mailboxes(ctx).await?;
    all.sort_by_key(|(_, mb)| mb.id().0);
    let mut resp = response("GetAllMailboxesResponse", NS_ADMIN);
    for (account, mb) in &all[window(&mut resp, all.len(), limit, offset)] {
        let (size, _) = mb.size_and_count().await.map_err(store_fault)?;
        resp.add_new("mbox")
            .set_num("id", mb.id().0)
            .set("accountId", account.id.to_string())
            .set_num("s", size);
    }
    Ok(resp)
}

/// DeleteMailboxRequest `<mbox id=>`: deletes the account's mailbox and everything in
/// it; the answer names the mailbox, or has no `mbox` when there was none.
async fn delete_mailbox(ctx: &Ctx<'_>, req: &Element, who: &str) -> ServiceResult<Element> {
    let account = mbox_account(ctx, req).await?;
    let store = &ctx.svc.store;
    let mut resp = response("DeleteMailboxResponse", NS_ADMIN);
    if let Some(mb) = store.find_mailbox(account.id).await.map_err(store_fault)? {
        store
            .delete_mailbox(account.id)
            .await
            .map_err(store_fault)?;
        resp.add_new("mbox").set_num("mbxid", mb.id().0);
        tracing::info!(admin = %who, account = %account.name, "admin: mailbox deleted");
    }
    Ok(resp)
}

/// PurgeMessagesRequest `[<mbox id=>]`: runs the purge the background job runs (the
/// account's trash, junk, message and dumpster lifetimes) now, on one mailbox or on
/// all; one `<mbox mbxid= s=/>` per mailbox purged, with its size afterwards.
async fn purge(ctx: &Ctx<'_>, req: &Element, who: &str) -> ServiceResult<Element> {
    let prov = &ctx.svc.prov;
    let targets = if req.child("mbox").is_some() {
        let account = mbox_account(ctx, req).await?;
        let mb = ctx
            .svc
            .store
            .mailbox(account.id)
            .await
            .map_err(store_fault)?;
        vec![(account, mb)]
    } else {
        mailboxes(ctx).await?
    };
    let global = prov.global_config().await?;
    let system = system_policy_lifetimes(global.attrs.get("zimbraMailPurgeSystemPolicy"));
    let now = chrono::Utc::now().timestamp_millis();
    let mut resp = response("PurgeMessagesResponse", NS_ADMIN);
    for (account, mb) in targets {
        let effective = prov.effective_account_attrs(&account).await?;
        let report = mb
            .purge_with(now, purge_policy(&effective), system.clone())
            .await
            .map_err(store_fault)?;
        tracing::info!(admin = %who, account = %account.name,
            messages = report.messages.len(), dumpster = report.dumpster_purged.len(),
            "admin: messages purged");
        resp.add(mbox_element(&mb).await?);
    }
    Ok(resp)
}

/// ExportAndDeleteItemsRequest `<mbox id="{mailboxId}"><item id= [version=]/>...</mbox>`:
/// hard-deletes the items named from the mailbox with that numeric id (Zimbra's
/// `mbxid`); no item is no change.
///
/// # Errors
/// `service.INVALID_REQUEST` for a missing or non-numeric id, or an `exportDir`;
/// `mail.NO_SUCH_MBOX` when no mailbox has that id.
// LIMITATION: `exportDir` (Zimbra writes the items to files on the server first) is
// refused; only the deletion is done.
async fn export_and_delete(ctx: &Ctx<'_>, req: &Element, who: &str) -> ServiceResult<Element> {
    if req.attr("exportDir").is_some_and(|d| !d.trim().is_empty()) {
        return Err(ServiceError::invalid_request(
            "exportDir is not supported: items can only be deleted",
        ));
    }
    let mbox = req
        .child("mbox")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: mbox"))?;
    let raw = mbox.req("id")?.trim();
    let mbxid: i64 = raw
        .parse()
        .map_err(|_| ServiceError::invalid_request(format!("invalid mailbox id: {raw}")))?;
    let ids = mbox
        .children_named("item")
        .map(|i| {
            let v = i.req("id")?.trim();
            v.parse::<i32>()
                .map(zcs_core::ItemId)
                .map_err(|_| ServiceError::invalid_request(format!("invalid item id: {v}")))
        })
        .collect::<ServiceResult<Vec<_>>>()?;
    let Some((account, mb)) = mailboxes(ctx)
        .await?
        .into_iter()
        .find(|(_, mb)| mb.id().0 == mbxid)
    else {
        return Err(ServiceError::new(
            zcs_core::FaultCode::NoSuchMailbox,
            format!("no such mailbox: {mbxid}"),
        ));
    };
    if !ids.is_empty() {
        mb.delete_items(&ids).await.map_err(store_fault)?;
    }
    tracing::info!(admin = %who, account = %account.name, items = ids.len(),
        "admin: items deleted (ExportAndDeleteItems)");
    Ok(response("ExportAndDeleteItemsResponse", NS_ADMIN))
}

/// RecalculateMailboxCountsRequest `<mbox id=>`: `<mbox id={accountId} used=/>`, the
/// quota usage the store keeps counted as it changes (nothing to recount).
async fn recalculate(ctx: &Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let account = mbox_account(ctx, req).await?;
    let mb = ctx
        .svc
        .store
        .mailbox(account.id)
        .await
        .map_err(store_fault)?;
    let used = mb.quota_usage().await.map_err(store_fault)?;
    let mut resp = response("RecalculateMailboxCountsResponse", NS_ADMIN);
    resp.add_new("mbox")
        .set("id", account.id.to_string())
        .set_num("used", used);
    Ok(resp)
}

/// ReIndexRequest `action=start|status|cancel <mbox id=>`, over the indexer's
/// per-mailbox reindex (`Indexer::reindex`): `start` answers `started` (`running` when
/// one is under way already); `status` answers `running` with `<progress
/// numSucceeded= numFailed= numRemaining=/>` while it runs, else `idle`; `cancel`
/// answers `cancelled` when one was running (what was added stays), else `idle`.
///
/// # Errors
/// `service.FAILURE` when the account has no mailbox yet (nothing to index), as Zimbra.
async fn reindex(ctx: &Ctx<'_>, req: &Element, who: &str) -> ServiceResult<Element> {
    let account = mbox_account(ctx, req).await?;
    let action = req.attr("action").unwrap_or("start");
    let indexer = &ctx.svc.indexer;
    let mut resp = response("ReIndexResponse", NS_ADMIN);
    let status = match action {
        "start" => {
            let found = ctx
                .svc
                .store
                .find_mailbox(account.id)
                .await
                .map_err(store_fault)?;
            if found.is_none() {
                return Err(ServiceError::failure(format!(
                    "mailbox not found for account {}",
                    account.name
                )));
            }
            if indexer.reindex(account.id) {
                tracing::info!(admin = %who, account = %account.name, "admin: reindex started");
                "started"
            } else {
                "running"
            }
        }
        "status" => match indexer.reindex_status(account.id) {
            Some(p) if p.state == ReindexState::Running => {
                resp.add_new("progress")
                    .set_num("numSucceeded", p.done as u64)
                    .set_num("numFailed", 0)
                    .set_num("numRemaining", p.remaining() as u64);
                "running"
            }
            _ => "idle",
        },
        "cancel" => {
            if indexer.cancel_reindex(account.id) {
                tracing::info!(admin = %who, account = %account.name, "admin: reindex cancelled");
                "cancelled"
            } else {
                "idle"
            }
        }
        other => {
            return Err(ServiceError::invalid_request(format!(
                "unknown action: {other}"
            )));
        }
    };
    resp.set("status", status);
    Ok(resp)
}

/// VerifyIndexRequest `<mbox id=>`: checks the mailbox's index (`Indexer::verify`)
/// and answers `<status>true|false</status><message>...</message>` as Zimbra does.
///
/// # Errors
/// `service.FAILURE` when the account has no mailbox or the check cannot run.
async fn verify_index(ctx: &Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let account = mbox_account(ctx, req).await?;
    let report = ctx
        .svc
        .indexer
        .verify(account.id)
        .await
        .map_err(|e| ServiceError::failure(format!("verify index: {e}")))?
        .ok_or_else(|| {
            ServiceError::failure(format!("mailbox not found for account {}", account.name))
        })?;
    let message = if report.is_sound() {
        format!(
            "index is sound ({} messages waiting to be indexed)",
            report.pending
        )
    } else {
        format!(
            "{} damaged index files, {} messages missing from the index, {} index \
             documents without a message: reindex the mailbox",
            report.damaged_files.len(),
            report.missing.len(),
            report.extra.len()
        )
    };
    let mut resp = response("VerifyIndexResponse", NS_ADMIN);
    resp.add_new("status")
        .set_text(if report.is_sound() { "true" } else { "false" });
    resp.add_new("message").set_text(message);
    Ok(resp)
}

/// One account's row of GetQuotaUsage.
struct Usage {
    name: String,
    id: String,
    used: u64,
    limit: u64,
}

impl Usage {
    /// Used as a fraction of the limit; an unlimited account sorts as 0.
    fn percent(&self) -> f64 {
        if self.limit == 0 {
            0.0
        } else {
            self.used as f64 / self.limit as f64
        }
    }
}

/// The COS an account gets its defaults from: its own `zimbraCOSId`, else its domain's
/// `zimbraDomainDefaultCOSId`, else the COS named `default`.
async fn cos_of(ctx: &Ctx<'_>, account: &Entry) -> ServiceResult<Option<String>> {
    if let Some(id) = account.attrs.get("zimbraCOSId") {
        return Ok(Some(id.to_string()));
    }
    let prov = &ctx.svc.prov;
    if let Some((_, domain)) = account.name.rsplit_once('@')
        && let Ok(d) = prov.get_domain(&EntryKey::Name(domain.to_string())).await
        && let Some(id) = d.attrs.get("zimbraDomainDefaultCOSId")
    {
        return Ok(Some(id.to_string()));
    }
    Ok(prov
        .get_cos(&EntryKey::Name("default".into()))
        .await
        .ok()
        .map(|c| c.id.to_string()))
}

/// GetQuotaUsageRequest `[domain=] [cos=] [sortBy=totalUsed|percentUsed|quotaLimit]
/// [sortAscending=0|1] [limit=] [offset=]`: `<account name= id= used= limit=/>` per
/// account, the largest first unless asked otherwise.
///
/// # Errors
/// `account.NO_SUCH_DOMAIN` / `account.NO_SUCH_COS` for a filter naming nothing.
async fn quota_usage(ctx: &Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let prov = &ctx.svc.prov;
    let (limit, offset) = page(req)?;
    let domain = req.attr("domain").map(str::trim).filter(|d| !d.is_empty());
    if let Some(d) = domain {
        prov.get_domain(&EntryKey::Name(d.to_string())).await?;
    }
    let cos = match req.attr("cos").map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => Some(prov.get_cos(&EntryKey::parse(c)).await?.id.to_string()),
        None => None,
    };
    let mut rows = Vec::new();
    for account in prov.all_accounts(domain).await? {
        if account.attrs.get("zimbraIsSystemResource") == Some("TRUE") {
            continue;
        }
        if let Some(want) = &cos
            && cos_of(ctx, &account).await?.as_deref() != Some(want.as_str())
        {
            continue;
        }
        let effective = prov.effective_account_attrs(&account).await?;
        let limit = effective
            .get("zimbraMailQuota")
            .and_then(|v| parse_size(v).ok())
            .unwrap_or(0);
        let used = match ctx
            .svc
            .store
            .find_mailbox(account.id)
            .await
            .map_err(store_fault)?
        {
            Some(mb) => mb.quota_usage().await.map_err(store_fault)?,
            None => 0,
        };
        rows.push(Usage {
            name: account.name.clone(),
            id: account.id.to_string(),
            used,
            limit,
        });
    }
    let ascending = matches!(req.attr("sortAscending"), Some("1" | "true" | "TRUE"));
    match req.attr("sortBy").unwrap_or("totalUsed") {
        "percentUsed" => rows.sort_by(|a, b| a.percent().total_cmp(&b.percent())),
        "quotaLimit" => rows.sort_by_key(|u| u.limit),
        _ => rows.sort_by_key(|u| u.used),
    }
    if !ascending {
        rows.reverse();
    }
    let mut resp = response("GetQuotaUsageResponse", NS_ADMIN);
    for u in &rows[window(&mut resp, rows.len(), limit, offset)] {
        resp.add_new("account")
            .set("name", u.name.clone())
            .set("id", u.id.clone())
            .set_num("used", u.used)
            .set_num("limit", u.limit);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_windows() {
        let mut resp = Element::new("R");
        assert_eq!(window(&mut resp, 10, 3, 2), 2..5);
        assert_eq!(resp.attr("more"), Some("1"));
        assert_eq!(resp.attr("searchTotal"), Some("10"));
        let mut resp = Element::new("R");
        assert_eq!(window(&mut resp, 10, 0, 0), 0..10);
        assert_eq!(resp.attr("more"), Some("0"));
        assert_eq!(window(&mut resp, 3, 5, 9), 3..3);
    }

    #[test]
    fn page_attributes_checked() {
        let mut req = Element::new("R");
        req.set("limit", "25").set("offset", "5");
        assert_eq!(page(&req).ok(), Some((25, 5)));
        req.set("limit", "-1");
        assert!(page(&req).is_err());
    }

    #[test]
    fn percent_of_unlimited_is_zero() {
        let u = Usage {
            name: "a".into(),
            id: "1".into(),
            used: 5,
            limit: 0,
        };
        assert_eq!(u.percent(), 0.0);
        let v = Usage { limit: 10, ..u };
        assert_eq!(v.percent(), 0.5);
    }
}
