//! Global address list requests of the account service: SearchGal and AutoCompleteGal
//! over the directory's GAL search (`Provisioning::search_gal`, which applies
//! `zimbraGalMode`, `zimbraGalMaxResults` and hides `zimbraHideInGal` entries), each hit
//! a `cn` contact built with the domain's `zimbraGalLdapAttrMap`. The caller's COS
//! switches `zimbraFeatureGalEnabled` and `zimbraFeatureGalAutoCompleteEnabled` gate them.

use zcs_core::{ServiceError, ServiceResult};
use zcs_directory::provisioning::gal::{GalRequest, GalType, attr_map, contact_attrs};

use super::context::Ctx;
use super::element::Element;
use super::envelope::NS_ACCOUNT;
use super::response;

/// Answers the requests this module serves; `None` for any other name.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    match name {
        "SearchGalRequest" => Some(search(ctx, req, false).await),
        "AutoCompleteGalRequest" => Some(search(ctx, req, true).await),
        _ => None,
    }
}

/// `<SearchGalRequest [type] [limit]><name>text</name>` (and AutoCompleteGal, a prefix
/// match): `cn` elements with the contact fields of each match, `more` when the limit
/// cut the list.
async fn search(ctx: &mut Ctx<'_>, req: &Element, autocomplete: bool) -> ServiceResult<Element> {
    ctx.auth().await?;
    let account = ctx.target_account().await?;
    let prov = ctx.svc.prov.clone();
    let effective = prov.effective_account_attrs(&account).await?;
    let switch = if autocomplete {
        "zimbraFeatureGalAutoCompleteEnabled"
    } else {
        "zimbraFeatureGalEnabled"
    };
    if effective
        .get(switch)
        .is_some_and(|v| v.eq_ignore_ascii_case("FALSE"))
    {
        return Err(ServiceError::perm_denied(format!(
            "cannot search the GAL: {switch} is FALSE"
        )));
    }
    let text = req
        .child("name")
        .map(|n| n.text().to_string())
        .or_else(|| req.attr("name").map(str::to_string))
        .unwrap_or_default();
    let gal_type = match req.attr("type") {
        None => GalType::Account,
        Some(t) => GalType::parse(t)
            .ok_or_else(|| ServiceError::invalid_request(format!("unknown GAL type {t}")))?,
    };
    let limit = req
        .int_attr("limit", 0)?
        .try_into()
        .ok()
        .filter(|l: &usize| *l > 0);
    let domain = account
        .domain()
        .ok_or_else(|| ServiceError::invalid_request("account has no domain"))?
        .to_string();
    let results = prov
        .search_gal(
            &domain,
            &GalRequest {
                text,
                gal_type,
                autocomplete,
                limit,
            },
        )
        .await?;
    let domain_entry = prov
        .get_domain(&zcs_directory::EntryKey::Name(domain.clone()))
        .await?;
    let map = attr_map(&prov.effective_domain_attrs(&domain_entry).await?);
    let name = if autocomplete {
        "AutoCompleteGalResponse"
    } else {
        "SearchGalResponse"
    };
    let mut resp = response(name, NS_ACCOUNT);
    resp.set_bool("more", results.more);
    resp.set_bool("tokenizeKey", false);
    resp.set_bool("paginationSupported", !autocomplete);
    for entry in &results.entries {
        let cn = resp.add_new("cn");
        cn.set("id", entry.id.to_string());
        let fields = contact_attrs(entry, &map);
        for (field, values) in fields.iter() {
            for v in values {
                cn.add_a(field, v.clone());
            }
        }
    }
    Ok(resp)
}
