//! Admin requests on distribution lists and dynamic groups: Create, Get, GetAll,
//! Modify, Rename, Delete, Add/RemoveDistributionListMember and
//! Add/RemoveDistributionListAlias, over the directory's list operations (the same ones
//! `zmprov cdl`, `adlm`, `gdl` use). A list is written as `<dl name= id= dynamic=>`
//! with its attributes and, for GetDistributionList, its members as `<dlm>`.

use zcs_core::{Entry, EntryKind, ServiceResult};

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::NS_ADMIN;
use super::super::response;
use super::{add_attrs, attr_filter, attrs_from, edits_from};

/// Answers the requests this module serves; `None` for any other name.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    let known = matches!(
        name,
        "CreateDistributionListRequest"
            | "GetDistributionListRequest"
            | "GetAllDistributionListsRequest"
            | "AddDistributionListMemberRequest"
            | "RemoveDistributionListMemberRequest"
            | "ModifyDistributionListRequest"
            | "RenameDistributionListRequest"
            | "DeleteDistributionListRequest"
            | "AddDistributionListAliasRequest"
            | "RemoveDistributionListAliasRequest"
    );
    if !known {
        return None;
    }
    if let Err(e) = ctx.admin().await {
        return Some(Err(e));
    }
    Some(run(ctx, name, req).await)
}

/// `<dl name= id= dynamic=>` with the list's attributes (limited by `only`).
fn dl_element(e: &Entry, only: Option<&[String]>) -> Element {
    let mut el = Element::new("dl");
    el.set("name", e.name.clone());
    el.set("id", e.id.to_string());
    el.set_bool("dynamic", e.kind == EntryKind::DynamicGroup);
    add_attrs(&mut el, &e.attrs, only);
    el
}

/// The list a request names: `<dl by="name|id">` or the `id` attribute.
fn key_of(req: &Element) -> ServiceResult<String> {
    if let Some(dl) = req.child("dl") {
        return Ok(dl.text().trim().to_string());
    }
    Ok(req.req("id")?.trim().to_string())
}

/// The member addresses of `dlm` children (and the JSON `dlm` array form).
fn members_of(req: &Element) -> Vec<String> {
    req.children_named("dlm")
        .map(|m| m.text().trim().to_string())
        .filter(|m| !m.is_empty())
        .collect()
}

async fn run(ctx: &mut Ctx<'_>, name: &str, req: &Element) -> ServiceResult<Element> {
    let prov = &ctx.svc.prov;
    Ok(match name {
        "CreateDistributionListRequest" => {
            let attrs = attrs_from(req)?;
            if req.bool_attr("dynamic", false)? {
                let e = prov
                    .create_dynamic_group(req.req("name")?.trim(), attrs)
                    .await?;
                let mut resp = response("CreateDistributionListResponse", NS_ADMIN);
                resp.add(dl_element(&e, None));
                return Ok(resp);
            }
            let e = prov
                .create_distribution_list(req.req("name")?.trim(), attrs)
                .await?;
            let mut resp = response("CreateDistributionListResponse", NS_ADMIN);
            resp.add(dl_element(&e, None));
            resp
        }
        "GetDistributionListRequest" => {
            let e = prov.get_group(&key_of(req)?).await?;
            let only = attr_filter(req);
            let mut members = prov.group_members(&e).await?;
            members.sort();
            if !req.bool_attr("sortAscending", true)? {
                members.reverse();
            }
            let total = members.len();
            let offset = req.int_attr("offset", 0)?.max(0) as usize;
            let limit = req.int_attr("limit", 0)?.max(0) as usize;
            let end = if limit == 0 {
                total
            } else {
                offset.saturating_add(limit).min(total)
            };
            let mut resp = response("GetDistributionListResponse", NS_ADMIN);
            resp.set_bool("more", end < total);
            resp.set_num("total", total);
            let dl = resp.add(dl_element(&e, only.as_deref()));
            for m in members.iter().take(end).skip(offset) {
                dl.add_text("dlm", m.clone());
            }
            resp
        }
        "GetAllDistributionListsRequest" => {
            let domain = req.child("domain").map(|d| d.text().trim().to_string());
            let mut all = prov.all_groups(domain.as_deref()).await?;
            all.sort_by(|a, b| a.name.cmp(&b.name));
            let mut resp = response("GetAllDistributionListsResponse", NS_ADMIN);
            for e in &all {
                resp.add(dl_element(e, None));
            }
            resp
        }
        "AddDistributionListMemberRequest" => {
            let key = key_of(req)?;
            prov.add_group_members(&key, &members_of(req)).await?;
            with_id(response("AddDistributionListMemberResponse", NS_ADMIN), req)
        }
        "RemoveDistributionListMemberRequest" => {
            let mut members = members_of(req);
            members.extend(
                req.children_named("account")
                    .map(|m| m.text().trim().to_string()),
            );
            prov.remove_group_members(&key_of(req)?, &members).await?;
            with_id(
                response("RemoveDistributionListMemberResponse", NS_ADMIN),
                req,
            )
        }
        "ModifyDistributionListRequest" => {
            let e = prov.modify_group(&key_of(req)?, &edits_from(req)?).await?;
            let mut resp = response("ModifyDistributionListResponse", NS_ADMIN);
            resp.add(dl_element(&e, None));
            resp
        }
        "RenameDistributionListRequest" => {
            let e = prov
                .rename_group(&key_of(req)?, req.req("newName")?.trim())
                .await?;
            let mut resp = response("RenameDistributionListResponse", NS_ADMIN);
            resp.add(dl_element(&e, None));
            resp
        }
        "DeleteDistributionListRequest" => {
            prov.delete_group(&key_of(req)?).await?;
            with_id(response("DeleteDistributionListResponse", NS_ADMIN), req)
        }
        "AddDistributionListAliasRequest" => {
            prov.add_group_alias(&key_of(req)?, req.req("alias")?.trim())
                .await?;
            response("AddDistributionListAliasResponse", NS_ADMIN)
        }
        _ => {
            prov.remove_group_alias(&key_of(req)?, req.req("alias")?.trim())
                .await?;
            response("RemoveDistributionListAliasResponse", NS_ADMIN)
        }
    })
}

/// The response with the request's `id` on it, as Zimbra's harness reads the list's id
/// back from these responses.
fn with_id(mut resp: Element, req: &Element) -> Element {
    if let Some(id) = req.attr("id").map(str::trim).filter(|v| !v.is_empty()) {
        resp.set("id", id);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_and_keys() {
        let mut r = Element::new("AddDistributionListMemberRequest");
        r.set("id", " abc ");
        r.add_text("dlm", "a@x.test");
        r.add_text("dlm", " ");
        assert_eq!(key_of(&r).ok().as_deref(), Some("abc"));
        assert_eq!(members_of(&r), vec!["a@x.test".to_string()]);
        let mut g = Element::new("GetDistributionListRequest");
        g.add_text("dl", "list@x.test").set("by", "name");
        assert_eq!(key_of(&g).ok().as_deref(), Some("list@x.test"));
    }
}
