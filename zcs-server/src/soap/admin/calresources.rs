//! Calendar resources (locations and equipment that take meeting invitations):
//! the admin requests CreateCalendarResource, GetCalendarResource,
//! ModifyCalendarResource, RenameCalendarResource, DeleteCalendarResource,
//! GetAllCalendarResources and SearchCalendarResources (urn:zimbraAdmin), and the
//! account request SearchCalendarResources (urn:zimbraAccount), which finds the
//! resources of the caller's domain. Both searches take Zimbra's `searchFilter`:
//! nested `conds [or="1"] [not="1"]` of `cond attr= op=eq|has|startswith|endswith|ge|le|
//! gt|lt value= [not="1"]`.

use zcs_core::{Entry, ServiceError, ServiceResult};

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::{NS_ACCOUNT, NS_ADMIN};
use super::super::response;
use super::{attr_filter, attrs_from, edits_from, entry_element};

/// Most `cond`s and nesting a search filter may carry.
const MAX_CONDS: usize = 200;
const MAX_DEPTH: u32 = 10;

/// The attributes the account-namespace search shows unless `attrs=` names others.
const ACCOUNT_ATTRS: &[&str] = &[
    "email",
    "fullName",
    "displayName",
    "zimbraCalResType",
    "zimbraCalResLocationDisplayName",
    "zimbraCalResCapacity",
    "zimbraCalResSite",
    "zimbraCalResBuilding",
    "zimbraCalResFloor",
    "zimbraCalResRoom",
    "zimbraCalResContactName",
    "zimbraCalResContactEmail",
    "zimbraCalResContactPhone",
    "zimbraCalResAutoAcceptDecline",
    "zimbraCalResAutoDeclineIfBusy",
    "zimbraCalResAutoDeclineRecurring",
    "description",
    "notes",
];

/// Routes the admin calendar resource requests; `None` for other names.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    let known = matches!(
        name,
        "CreateCalendarResourceRequest"
            | "GetCalendarResourceRequest"
            | "ModifyCalendarResourceRequest"
            | "RenameCalendarResourceRequest"
            | "DeleteCalendarResourceRequest"
            | "GetAllCalendarResourcesRequest"
            | "SearchCalendarResourcesRequest"
    );
    if !known {
        return None;
    }
    let admin = match ctx.admin().await {
        Ok(a) => a,
        Err(e) => return Some(Err(e)),
    };
    let by = admin.account.name.clone();
    Some(match name {
        "CreateCalendarResourceRequest" => create(ctx, req, &by).await,
        "GetCalendarResourceRequest" => get(ctx, req).await,
        "ModifyCalendarResourceRequest" => modify(ctx, req, &by).await,
        "RenameCalendarResourceRequest" => rename(ctx, req, &by).await,
        "DeleteCalendarResourceRequest" => delete(ctx, req, &by).await,
        "GetAllCalendarResourcesRequest" => get_all(ctx, req).await,
        _ => search_admin(ctx, req).await,
    })
}

fn resource_element(e: &Entry, only: Option<&[String]>) -> Element {
    entry_element("calresource", e, &e.attrs, only)
}

fn one(name: &str, e: &Entry) -> Element {
    let mut resp = response(name, NS_ADMIN);
    resp.add(resource_element(e, None));
    resp
}

/// The key of `calresource by="id|name"` or of the `id` attribute.
fn key_of(req: &Element) -> ServiceResult<String> {
    if let Some(sel) = req.child("calresource") {
        let v = sel.text().trim();
        if v.is_empty() {
            return Err(ServiceError::invalid_request("empty calresource selector"));
        }
        return Ok(v.to_string());
    }
    Ok(req.req("id")?.trim().to_string())
}

async fn create(ctx: &mut Ctx<'_>, req: &Element, by: &str) -> ServiceResult<Element> {
    let name = req.req("name")?.trim().to_string();
    let password = req
        .attr("password")
        .filter(|p| !p.is_empty())
        .map(str::to_string);
    let e = ctx
        .svc
        .prov
        .create_calendar_resource(&name, password.as_deref(), attrs_from(req)?)
        .await?;
    tracing::info!(admin = %by, resource = %e.name, "admin: calendar resource created");
    Ok(one("CreateCalendarResourceResponse", &e))
}

/// The resource a request names; `calresource by="foreignPrincipal"` finds the one whose
/// `zimbraForeignPrincipal` has that value.
async fn find(ctx: &Ctx<'_>, req: &Element) -> ServiceResult<Entry> {
    let key = key_of(req)?;
    if req
        .child("calresource")
        .is_some_and(|c| c.attr("by") == Some("foreignPrincipal"))
    {
        let all = ctx.svc.prov.all_calendar_resources(None).await?;
        return match all
            .into_iter()
            .find(|e| e.attrs.get_all("zimbraForeignPrincipal").contains(&key))
        {
            Some(e) => Ok(e),
            None => Err(ServiceError::new(
                zcs_core::FaultCode::NoSuchCalendarResource,
                format!("no such calendar resource: {key}"),
            )),
        };
    }
    ctx.svc.prov.get_calendar_resource(&key).await
}

async fn get(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let e = find(ctx, req).await?;
    let only = attr_filter(req);
    let attrs = if req.bool_attr("applyCos", true)? {
        ctx.svc.prov.effective_account_attrs(&e).await?
    } else {
        e.attrs.clone()
    };
    let mut resp = response("GetCalendarResourceResponse", NS_ADMIN);
    resp.add(entry_element("calresource", &e, &attrs, only.as_deref()));
    Ok(resp)
}

async fn modify(ctx: &mut Ctx<'_>, req: &Element, by: &str) -> ServiceResult<Element> {
    let id = req.req("id")?.trim().to_string();
    let edits = edits_from(req)?;
    let e = ctx.svc.prov.modify_calendar_resource(&id, &edits).await?;
    tracing::info!(admin = %by, resource = %e.name, "admin: calendar resource modified");
    Ok(one("ModifyCalendarResourceResponse", &e))
}

async fn rename(ctx: &mut Ctx<'_>, req: &Element, by: &str) -> ServiceResult<Element> {
    let id = req.req("id")?.trim().to_string();
    let new_name = req.req("newName")?.trim().to_string();
    let e = ctx
        .svc
        .prov
        .rename_calendar_resource(&id, &new_name)
        .await?;
    tracing::info!(admin = %by, resource = %e.name, "admin: calendar resource renamed");
    Ok(one("RenameCalendarResourceResponse", &e))
}

async fn delete(ctx: &mut Ctx<'_>, req: &Element, by: &str) -> ServiceResult<Element> {
    let id = req.req("id")?.trim().to_string();
    let e = ctx.svc.prov.delete_calendar_resource(&id).await?;
    if let Err(err) = ctx.svc.store.delete_mailbox(e.id).await {
        tracing::warn!(resource = %e.name, error = %err, "delete mailbox failed");
    }
    tracing::info!(admin = %by, resource = %e.name, "admin: calendar resource deleted");
    Ok(response("DeleteCalendarResourceResponse", NS_ADMIN))
}

async fn get_all(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let domain = req
        .child("domain")
        .map(|d| d.text().trim().to_string())
        .filter(|d| !d.is_empty());
    let all = ctx
        .svc
        .prov
        .all_calendar_resources(domain.as_deref())
        .await?;
    let mut resp = response("GetAllCalendarResourcesResponse", NS_ADMIN);
    for e in &all {
        resp.add(resource_element(e, None));
    }
    Ok(resp)
}

/// The value(s) of `attr` on a resource, with Zimbra's contact-style names for the
/// account search (`email` is the name, `fullName` the display name).
fn values<'a>(e: &'a Entry, attr: &str) -> Vec<&'a str> {
    match attr {
        "email" | "mail" => vec![e.name.as_str()],
        "fullName" => e.attrs.get("displayName").into_iter().collect(),
        _ => e.attrs.get_all(attr).iter().map(String::as_str).collect(),
    }
}

/// Whether one `cond` holds for `e`.
fn cond_holds(e: &Entry, c: &Element) -> ServiceResult<bool> {
    let attr = c.req("attr")?;
    let op = c.attr("op").unwrap_or("eq").to_ascii_lowercase();
    let want = c.attr("value").unwrap_or("");
    let lw = want.to_lowercase();
    let vals = values(e, attr);
    let num = |v: &str| v.trim().parse::<f64>().ok();
    let hit = vals.iter().any(|v| {
        let lv = v.to_lowercase();
        match op.as_str() {
            "eq" => lv == lw,
            "has" => lv.contains(&lw),
            "startswith" => lv.starts_with(&lw),
            "endswith" => lv.ends_with(&lw),
            cmp @ ("ge" | "le" | "gt" | "lt") => match (num(v), num(want)) {
                (Some(a), Some(b)) => match cmp {
                    "ge" => a >= b,
                    "le" => a <= b,
                    "gt" => a > b,
                    _ => a < b,
                },
                _ => match cmp {
                    "ge" => lv >= lw,
                    "le" => lv <= lw,
                    "gt" => lv > lw,
                    _ => lv < lw,
                },
            },
            _ => false,
        }
    });
    if !matches!(
        op.as_str(),
        "eq" | "has" | "startswith" | "endswith" | "ge" | "le" | "gt" | "lt"
    ) {
        return Err(ServiceError::invalid_request(format!("unknown op: {op}")));
    }
    Ok(hit != c.bool_attr("not", false)?)
}

/// Evaluates a `conds` (all, or any with `or="1"`; negated with `not="1"`).
fn conds_hold(e: &Entry, conds: &Element, depth: u32) -> ServiceResult<bool> {
    if depth > MAX_DEPTH || conds.children.len() > MAX_CONDS {
        return Err(ServiceError::invalid_request("search filter too large"));
    }
    let any = conds.bool_attr("or", false)?;
    let mut result = !any;
    for c in &conds.children {
        let v = match c.name.as_str() {
            "cond" => cond_holds(e, c)?,
            "conds" => conds_hold(e, c, depth + 1)?,
            _ => continue,
        };
        if any && v {
            result = true;
            break;
        }
        if !any && !v {
            result = false;
            break;
        }
    }
    Ok(result != conds.bool_attr("not", false)?)
}

/// Whether `e` passes the request's `searchFilter` (every entry passes without one).
fn passes(e: &Entry, req: &Element) -> ServiceResult<bool> {
    let Some(f) = req.child("searchFilter") else {
        return Ok(true);
    };
    for c in &f.children {
        let ok = match c.name.as_str() {
            "conds" => conds_hold(e, c, 0)?,
            "cond" => cond_holds(e, c)?,
            _ => true,
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The resources `req` selects among `all`, sorted by `sortBy` (name by default), and
/// the page of them `offset`/`limit` names, with whether more follow.
fn select(all: Vec<Entry>, req: &Element) -> ServiceResult<(Vec<Entry>, bool, usize)> {
    let mut hits = Vec::new();
    for e in all {
        if let Some(n) = req.attr("name").filter(|n| !n.is_empty())
            && !e.name.to_lowercase().contains(&n.to_lowercase())
        {
            continue;
        }
        if passes(&e, req)? {
            hits.push(e);
        }
    }
    let sort_by = req.attr("sortBy").unwrap_or("name").to_string();
    hits.sort_by_key(|e| {
        if sort_by == "name" {
            e.name.to_lowercase()
        } else {
            values(e, &sort_by)
                .first()
                .map(|v| v.to_lowercase())
                .unwrap_or_default()
        }
    });
    if !req.bool_attr("sortAscending", true)? {
        hits.reverse();
    }
    let total = hits.len();
    let offset = req.int_attr("offset", 0)?.max(0) as usize;
    let limit = req.int_attr("limit", 0)?.max(0) as usize;
    let page: Vec<Entry> = hits.into_iter().skip(offset).collect();
    let more = limit > 0 && page.len() > limit;
    let page = if limit > 0 {
        page.into_iter().take(limit).collect()
    } else {
        page
    };
    Ok((page, more, total))
}

async fn search_admin(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let domain = req.attr("domain").filter(|d| !d.is_empty());
    let all = ctx.svc.prov.all_calendar_resources(domain).await?;
    let (page, more, total) = select(all, req)?;
    let only = attr_filter(req);
    let mut resp = response("SearchCalendarResourcesResponse", NS_ADMIN);
    resp.set_bool("more", more);
    resp.set_num("searchTotal", total);
    for e in &page {
        resp.add(resource_element(e, only.as_deref()));
    }
    Ok(resp)
}

/// SearchCalendarResourcesRequest in urn:zimbraAccount: the resources of the caller's
/// domain, each `calresource id= name=` with contact-style `a n=` attributes.
///
/// # Errors
/// As [`Ctx::target_account`]; `service.INVALID_REQUEST` for a malformed filter.
pub(crate) async fn search_account(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let me = ctx.target_account().await?;
    let domain = me.name.rsplit_once('@').map(|(_, d)| d.to_string());
    let all = ctx
        .svc
        .prov
        .all_calendar_resources(domain.as_deref())
        .await?;
    let (page, more, _) = select(all, req)?;
    let only = attr_filter(req);
    let mut resp = response("SearchCalendarResourcesResponse", NS_ACCOUNT);
    resp.set_bool("more", more);
    resp.set_bool("paginationSupported", true);
    for e in &page {
        // A resource that is not active is not offered for booking.
        if e.attrs
            .get("zimbraAccountStatus")
            .is_some_and(|s| s != "active")
        {
            continue;
        }
        let el = resp.add_new("calresource");
        el.set("id", e.id.to_string());
        el.set("name", e.name.clone());
        let wanted: Vec<String> = match &only {
            Some(o) => o.clone(),
            None => ACCOUNT_ATTRS.iter().map(|s| s.to_string()).collect(),
        };
        for a in &wanted {
            for v in values(e, a) {
                el.add_a(a, v.to_string());
            }
        }
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zcs_core::{Attrs, EntryKind, ZimbraId};

    fn res(name: &str, kind: &str, cap: &str) -> Entry {
        let mut attrs = Attrs::new();
        attrs.add("zimbraCalResType", kind);
        attrs.add("zimbraCalResCapacity", cap);
        attrs.add("displayName", name);
        Entry {
            kind: EntryKind::CalendarResource,
            id: ZimbraId::new(),
            name: format!("{name}@x.test"),
            attrs,
        }
    }

    fn cond(attr: &str, op: &str, value: &str) -> Element {
        let mut c = Element::new("cond");
        c.set("attr", attr).set("op", op).set("value", value);
        c
    }

    #[test]
    fn filters_combine() {
        let all = vec![
            res("room1", "Location", "10"),
            res("room2", "Location", "4"),
            res("beamer", "Equipment", "1"),
        ];
        let mut req = Element::new("SearchCalendarResourcesRequest");
        let mut f = Element::new("searchFilter");
        let mut conds = Element::new("conds");
        conds.add(cond("zimbraCalResType", "eq", "location"));
        conds.add(cond("zimbraCalResCapacity", "ge", "5"));
        f.add(conds);
        req.add(f);
        let (page, more, total) = select(all.clone(), &req).expect("ok");
        assert_eq!(total, 1);
        assert!(!more);
        assert_eq!(page[0].name, "room1@x.test");

        let mut req = Element::new("SearchCalendarResourcesRequest");
        let mut f = Element::new("searchFilter");
        let mut conds = Element::new("conds");
        conds.set("or", "1");
        conds.add(cond("fullName", "startswith", "bea"));
        conds.add(cond("email", "has", "room2"));
        f.add(conds);
        req.add(f);
        req.set("limit", "1");
        let (page, more, total) = select(all, &req).expect("ok");
        assert_eq!((page.len(), more, total), (1, true, 2));
        assert_eq!(page[0].name, "beamer@x.test");
    }

    #[test]
    fn bad_op_is_refused() {
        let mut req = Element::new("r");
        let mut f = Element::new("searchFilter");
        f.add(cond("x", "regex", "y"));
        req.add(f);
        assert!(select(vec![res("a", "Location", "1")], &req).is_err());
    }
}
