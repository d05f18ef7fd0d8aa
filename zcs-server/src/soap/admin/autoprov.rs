//! Admin requests of account auto-provisioning (spec 03 §1.3) over the directory's
//! `autoprov` module: AutoProvAccountRequest (MANUAL mode: create the account of one
//! external entry), SearchAutoProvDirectoryRequest (the external entries that have no
//! account yet) and AutoProvTaskControlRequest (the EAGER poller).

use zcs_core::{ServiceError, ServiceResult};
use zcs_directory::provisioning::AutoProvBy;

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::NS_ADMIN;
use super::super::response;
use super::{attr_filter, entry_element, selector};

/// Routes the auto-provisioning requests; `None` for other names.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    if !matches!(
        name,
        "AutoProvAccountRequest" | "SearchAutoProvDirectoryRequest" | "AutoProvTaskControlRequest"
    ) {
        return None;
    }
    if let Err(e) = ctx.admin().await {
        return Some(Err(e));
    }
    Some(match name {
        "AutoProvAccountRequest" => account(ctx, req).await,
        "SearchAutoProvDirectoryRequest" => search(ctx, req).await,
        _ => task_control(ctx, req).await,
    })
}

/// `<AutoProvAccountRequest><domain by=/><principal by="dn|name"/>[<password/>]`:
/// `<AutoProvAccountResponse><account name= id=><a n=/>...`.
///
/// # Errors
/// As `Provisioning::auto_prov_account`; `service.INVALID_REQUEST` for a missing
/// principal or an unknown `by`.
async fn account(ctx: &Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let domain = selector(req, "domain")?;
    let principal = req
        .child("principal")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: principal"))?;
    let by = match principal.attr("by").unwrap_or("name") {
        b if b.eq_ignore_ascii_case("dn") => AutoProvBy::Dn,
        b if b.eq_ignore_ascii_case("name") => AutoProvBy::Name,
        other => {
            return Err(ServiceError::invalid_request(format!(
                "unknown value for by: {other}"
            )));
        }
    };
    let password = req
        .child("password")
        .map(|p| p.text().to_string())
        .filter(|p| !p.is_empty());
    let prov = &ctx.svc.prov;
    let created = prov
        .auto_prov_account(&domain, by, principal.text(), password.as_deref())
        .await?;
    let mut resp = response("AutoProvAccountResponse", NS_ADMIN);
    resp.add(entry_element("account", &created, &created.attrs, None));
    Ok(resp)
}

/// `<SearchAutoProvDirectoryRequest keyAttr= [query=] [name=] [limit=] [offset=]
/// [maxResults=] [attrs=]><domain by=/>`: `<SearchAutoProvDirectoryResponse more=
/// searchTotal=><entry dn=><key>...</key><a n=/>...</entry>...`, the entries without an
/// account, in the order the external server returned them.
///
/// # Errors
/// As `Provisioning::search_auto_prov_directory`; `service.INVALID_REQUEST` without
/// `keyAttr` or with a malformed number.
async fn search(ctx: &Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let domain = selector(req, "domain")?;
    let key_attr = req
        .attr("keyAttr")
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ServiceError::invalid_request("missing required attribute: keyAttr"))?;
    let number = |n: &str| -> ServiceResult<usize> {
        req.attr(n).map_or(Ok(0), |v| {
            v.trim()
                .parse()
                .map_err(|_| ServiceError::invalid_request(format!("invalid {n}: {v}")))
        })
    };
    let (limit, offset, max) = (number("limit")?, number("offset")?, number("maxResults")?);
    let only = attr_filter(req);
    let prov = &ctx.svc.prov;
    let found = prov
        .search_auto_prov_directory(&domain, req.attr("query"), req.attr("name"), max)
        .await?;
    let total = found.len();
    let page: Vec<_> = found
        .into_iter()
        .skip(offset)
        .take(if limit == 0 { usize::MAX } else { limit })
        .collect();
    let more = offset + page.len() < total;
    let mut resp = response("SearchAutoProvDirectoryResponse", NS_ADMIN);
    resp.set_bool("more", more);
    resp.set_num("searchTotal", total);
    for candidate in page {
        let ext = &candidate.entry;
        let mut el = Element::new("entry");
        el.set("dn", ext.dn.clone());
        for v in ext.get_all(key_attr) {
            el.add_text("key", v.clone());
        }
        for (name, values) in &ext.attrs {
            let wanted = only
                .as_ref()
                .is_none_or(|o| o.iter().any(|w| w.eq_ignore_ascii_case(name)));
            if wanted {
                for v in values {
                    el.add_a(name, v.clone());
                }
            }
        }
        resp.add(el);
    }
    Ok(resp)
}

/// `<AutoProvTaskControlRequest action="start|status|stop"/>`:
/// `<AutoProvTaskControlResponse status=/>`. The EAGER poller runs in every server on
/// `zimbraAutoProvPollingInterval` over `zimbraAutoProvScheduledDomains`: `status` says
/// `running` when both are set and `idle` otherwise; `start` runs one cycle now and
/// says `started`.
///
/// # Errors
/// `service.INVALID_REQUEST` for `stop` (set the interval to 0, which the poller reads
/// within a minute) and for an unknown action; directory faults.
async fn task_control(ctx: &Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let prov = &ctx.svc.prov;
    let action = req.req("action")?.trim().to_ascii_lowercase();
    let status = match action.as_str() {
        "status" => {
            let interval = prov.auto_prov_polling_interval().await?;
            let domains = prov.auto_prov_scheduled_domains().await?;
            if interval.is_zero() || domains.is_empty() {
                "idle"
            } else {
                "running"
            }
        }
        "start" => {
            for (domain, outcome) in prov.auto_prov_poll_scheduled().await {
                match outcome {
                    Ok(r) => tracing::info!(domain = %domain, created = r.created.len(),
                        "auto-provisioning cycle run on request"),
                    Err(e) => tracing::warn!(domain = %domain, error = %e,
                        "auto-provisioning cycle failed"),
                }
            }
            "started"
        }
        "stop" => {
            return Err(ServiceError::invalid_request(
                "the auto-provisioning poller follows zimbraAutoProvPollingInterval: \
                 set it to 0 to stop it",
            ));
        }
        other => {
            return Err(ServiceError::invalid_request(format!(
                "unknown action: {other}"
            )));
        }
    };
    let mut resp = response("AutoProvTaskControlResponse", NS_ADMIN);
    resp.set("status", status);
    Ok(resp)
}
