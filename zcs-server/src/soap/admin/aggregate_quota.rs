//! The domain aggregate quota's usage: ComputeAggregateQuotaUsageRequest sums the
//! mailbox sizes of each domain's accounts from the store and records the sum on the
//! domain (`zimbraAggregateQuotaLastUsage`), which the send and delivery checks read;
//! GetAggregateQuotaUsageOnServerRequest answers the same sums without recording them.
//! Declared by `volumes`, which checks the caller is a global admin before routing here.
//!
//! Each answer is `<domain name= id= used=/>` per domain, as Zimbra's.

use zcs_core::{AttrEdit, Entry, ServiceResult};
use zcs_directory::EntryKey;

use super::super::super::context::{Ctx, store_fault};
use super::super::super::element::Element;
use super::super::super::envelope::NS_ADMIN;

/// Whether `name` is one of this module's requests.
pub(super) fn handles(name: &str) -> bool {
    matches!(
        name,
        "ComputeAggregateQuotaUsageRequest" | "GetAggregateQuotaUsageOnServerRequest"
    )
}

/// Routes this module's requests for an admin already checked.
pub(super) async fn dispatch(ctx: &mut Ctx<'_>, name: &str) -> Option<ServiceResult<Element>> {
    Some(match name {
        "ComputeAggregateQuotaUsageRequest" => usage(ctx, true).await,
        "GetAggregateQuotaUsageOnServerRequest" => usage(ctx, false).await,
        _ => return None,
    })
}

/// The bytes used by the mailboxes of `domain`'s accounts (accounts without a mailbox
/// use none). Cost: one directory listing and one size query per mailbox.
async fn domain_usage(ctx: &Ctx<'_>, domain: &Entry) -> ServiceResult<u64> {
    let mut used = 0u64;
    for account in ctx.svc.prov.all_accounts(Some(&domain.name)).await? {
        if let Some(mb) = ctx
            .svc
            .store
            .find_mailbox(account.id)
            .await
            .map_err(store_fault)?
        {
            used = used.saturating_add(mb.quota_usage().await.map_err(store_fault)?);
        }
    }
    Ok(used)
}

/// Sums each domain's usage; with `record`, writes it to the domain and warns when it
/// crosses the domain's warning percentage of its aggregate quota.
async fn usage(ctx: &Ctx<'_>, record: bool) -> ServiceResult<Element> {
    let prov = &ctx.svc.prov;
    let global = prov.global_config().await?;
    let name = if record {
        "ComputeAggregateQuotaUsageResponse"
    } else {
        "GetAggregateQuotaUsageOnServerResponse"
    };
    let mut resp = Element::with_ns(name, NS_ADMIN);
    for domain in prov.all_domains().await? {
        let used = domain_usage(ctx, &domain).await?;
        if record {
            prov.modify_domain(
                &EntryKey::Id(domain.id),
                &[AttrEdit::Replace(
                    "zimbraAggregateQuotaLastUsage".into(),
                    vec![used.to_string()],
                )],
            )
            .await?;
            warn_if_near(&domain, &global, used);
        }
        resp.add_new("domain")
            .set("name", domain.name.clone())
            .set("id", domain.id.to_string())
            .set_num("used", used);
    }
    Ok(resp)
}

/// A domain attribute, else the global config's (the aggregate quota attributes
/// inherit domain → global).
fn domain_or_global(domain: &Entry, global: &Entry, name: &str) -> Option<String> {
    domain
        .attrs
        .get(name)
        .or_else(|| global.attrs.get(name))
        .map(str::to_string)
}

/// Logs a warning naming the domain and its warning recipients when `used` reaches
/// `zimbraDomainAggregateQuotaWarnPercent` (default 80) of a non-zero
/// `zimbraDomainAggregateQuota`.
// LIMITATION: Zimbra also mails the warning to
// `zimbraDomainAggregateQuotaWarnEmailRecipient`; here it is logged (target
// `zimbra.quota`) with the recipients, and no mail is sent.
fn warn_if_near(domain: &Entry, global: &Entry, used: u64) {
    let quota = domain_or_global(domain, global, "zimbraDomainAggregateQuota")
        .and_then(|v| zcs_core::attrs::value::parse_size(&v).ok())
        .unwrap_or(0);
    if quota == 0 {
        return;
    }
    let percent: u64 = domain_or_global(domain, global, "zimbraDomainAggregateQuotaWarnPercent")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(80);
    if used.saturating_mul(100) >= quota.saturating_mul(percent) {
        let to: Vec<&str> = domain
            .attrs
            .get_all("zimbraDomainAggregateQuotaWarnEmailRecipient")
            .iter()
            .map(String::as_str)
            .collect();
        tracing::warn!(target: "zimbra.quota", domain = %domain.name, used, quota,
            percent, recipients = ?to, "domain aggregate quota usage over the warning level");
    }
}
