//! Admin requests about accounts beyond creating and changing them: `SearchAccounts`
//! and `SearchDirectory` (an LDAP filter over accounts and the other kinds it names),
//! `CountAccount` (a
//! domain's accounts per class of service), `CheckPasswordStrength` and
//! `GetAdminConsoleUIComp` (the console parts an admin may see).

use zcs_core::{Entry, EntryKind, FaultCode, ServiceError, ServiceResult};
use zcs_directory::{EntryKey, Provisioning, SearchQuery};

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::NS_ADMIN;
use super::super::response;
use super::{add_attrs, attr_filter};

/// The attribute `GetAdminConsoleUIComp` reports.
const UI_COMPONENTS: &str = "zimbraAdminConsoleUIComponents";

/// Routes this module's requests; `None` for other names.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    if !matches!(
        name,
        "SearchAccountsRequest"
            | "CountAccountRequest"
            | "CheckPasswordStrengthRequest"
            | "GetAdminConsoleUICompRequest"
    ) {
        return None;
    }
    let admin = match ctx.admin().await {
        Ok(a) => a,
        Err(e) => return Some(Err(e)),
    };
    Some(match name {
        "SearchAccountsRequest" => search_entries(ctx, req, "SearchAccountsResponse").await,
        "CountAccountRequest" => count_account(ctx, req).await,
        "CheckPasswordStrengthRequest" => check_password_strength(ctx, req).await,
        _ => ui_components(ctx, req, &admin.account).await,
    })
}

/// The kinds a `types=` list names (Zimbra's `accounts`, `resources`,
/// `distributionlists`, `dynamicgroups`, `aliases`, `domains`, `coses`), each with the
/// element its hits are written as.
fn kinds_of(types: &str) -> ServiceResult<Vec<(EntryKind, &'static str)>> {
    let mut out = Vec::new();
    for t in types.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let k = match t.to_ascii_lowercase().as_str() {
            "accounts" => (EntryKind::Account, "account"),
            "resources" => (EntryKind::CalendarResource, "calresource"),
            "distributionlists" => (EntryKind::DistributionList, "dl"),
            "dynamicgroups" => (EntryKind::DynamicGroup, "dl"),
            "aliases" => (EntryKind::Alias, "alias"),
            "domains" => (EntryKind::Domain, "domain"),
            "coses" => (EntryKind::Cos, "cos"),
            other => {
                return Err(ServiceError::invalid_request(format!(
                    "unknown type: {other}"
                )));
            }
        };
        out.push(k);
    }
    Ok(out)
}

/// An LDAP filter as a SOAP client gives it: Zimbra's LDAP library also takes a single
/// comparison without its parentheses (`zimbraId=...`).
fn filter_text(query: &str) -> String {
    let q = query.trim();
    if q.is_empty() {
        "(objectClass=*)".to_string()
    } else if q.starts_with('(') {
        q.to_string()
    } else {
        format!("({q})")
    }
}

/// SearchAccountsRequest and SearchDirectoryRequest `query= [limit] [offset] [domain]
/// [applyCos] [applyConfig] [attrs] [sortBy] [sortAscending] [types]`: the entries
/// matching the filter, one page of them, with `more` and `searchTotal`, in a response
/// named `resp_name`. Accounts carry their COS-applied attributes unless `applyCos="0"`,
/// domains the global config's unless `applyConfig="0"`.
pub(super) async fn search_entries(
    ctx: &mut Ctx<'_>,
    req: &Element,
    resp_name: &str,
) -> ServiceResult<Element> {
    let prov = &ctx.svc.prov;
    let filter = Provisioning::parse_search_filter(&filter_text(req.attr("query").unwrap_or("")))?;
    let kinds = kinds_of(req.attr("types").unwrap_or("accounts"))?;
    let limit = usize::try_from(req.int_attr("limit", 0)?.max(0)).unwrap_or(0);
    let offset = usize::try_from(req.int_attr("offset", 0)?.max(0)).unwrap_or(0);
    let apply_cos = req.bool_attr("applyCos", true)?;
    let apply_config = req.bool_attr("applyConfig", true)?;
    let only = attr_filter(req);
    let ascending = req.bool_attr("sortAscending", true)?;
    let sort_by = req.attr("sortBy").map(str::to_string);

    let kind_list: Vec<EntryKind> = kinds.iter().map(|(k, _)| *k).collect();
    let by_name = sort_by
        .as_deref()
        .is_none_or(|s| s.eq_ignore_ascii_case("name"));
    let mut q = SearchQuery::new(&kind_list)
        .with_filter(filter.clone())
        .sorted_by(sort_by, ascending);
    let domain = req
        .attr("domain")
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_string);
    if let Some(d) = &domain {
        q = q.in_domain(d.clone());
    }
    let mut found = prov.search_directory(&q).await?;
    if kind_list.contains(&EntryKind::Alias) {
        let mut extra = alias_entries(ctx, domain.as_deref()).await?;
        extra.retain(|a| {
            zcs_directory::search::entry_matches(&filter, a)
                && !found
                    .entries
                    .iter()
                    .any(|e| e.name.eq_ignore_ascii_case(&a.name))
        });
        if !extra.is_empty() {
            found.entries.extend(extra);
            if by_name {
                found
                    .entries
                    .sort_by_key(|e| (e.name.to_ascii_lowercase(), e.id.to_string()));
                if !ascending {
                    found.entries.reverse();
                }
            }
        }
    }
    let total = found.entries.len();
    let end = if limit == 0 {
        total
    } else {
        offset.saturating_add(limit).min(total)
    };
    let mut resp = response(resp_name, NS_ADMIN);
    resp.set_bool("more", end < total);
    resp.set_num("searchTotal", total);
    for e in found.entries.iter().take(end).skip(offset) {
        let tag = kinds
            .iter()
            .find(|(k, _)| *k == e.kind)
            .map_or("account", |(_, t)| *t);
        let attrs = if apply_cos && matches!(e.kind, EntryKind::Account) {
            prov.effective_account_attrs(e).await?
        } else if apply_config && e.kind == EntryKind::Domain {
            prov.effective_domain_attrs(e).await?
        } else {
            e.attrs.clone()
        };
        let el = resp.add_new(tag);
        el.set("name", e.name.clone());
        el.set("id", e.id.to_string());
        if e.kind == EntryKind::Alias {
            for (attr, key) in [(TARGET_NAME, "targetName"), (TARGET_TYPE, "type")] {
                if let Some(v) = e.attrs.get(attr) {
                    el.set(key, v.to_string());
                }
            }
        }
        let mut attrs = attrs;
        attrs.set(TARGET_NAME, Vec::new());
        attrs.set(TARGET_TYPE, Vec::new());
        add_attrs(el, &attrs, only.as_deref());
    }
    Ok(resp)
}

/// Bookkeeping attributes of a synthesized alias entry, shown as element attributes.
const TARGET_NAME: &str = "zcsAliasTargetName";
const TARGET_TYPE: &str = "zcsAliasTargetType";

/// The aliases of accounts, resources and lists as entries of kind Alias (a directory
/// that keeps aliases as values of `zimbraMailAlias` has no entries of their own), with
/// Zimbra's attributes: `uid`, `zimbraAliasTargetId`, `zimbraMailAlias`. Their id is
/// derived from the alias name, so it is the same on every search. `domain` limits them
/// to aliases in that domain.
async fn alias_entries(ctx: &Ctx<'_>, domain: Option<&str>) -> ServiceResult<Vec<Entry>> {
    let kinds = [
        EntryKind::Account,
        EntryKind::CalendarResource,
        EntryKind::DistributionList,
        EntryKind::DynamicGroup,
    ];
    let targets = ctx
        .svc
        .prov
        .search_directory(&SearchQuery::new(&kinds))
        .await?;
    let mut out = Vec::new();
    for t in &targets.entries {
        // A static list's own address is among its values without being an alias.
        for alias in zcs_directory::provisioning::aliases_of(t) {
            let Some((local, dom)) = alias.rsplit_once('@') else {
                continue;
            };
            if domain.is_some_and(|d| !d.eq_ignore_ascii_case(dom)) {
                continue;
            }
            let mut attrs = zcs_core::Attrs::new();
            attrs.add("objectClass", "zimbraAlias");
            attrs.add("uid", local.to_string());
            attrs.add("zimbraAliasTargetId", t.id.to_string());
            attrs.add("zimbraMailAlias", alias.to_string());
            attrs.add(TARGET_NAME, t.name.clone());
            let ty = match t.kind {
                EntryKind::DistributionList | EntryKind::DynamicGroup => "distributionlist",
                EntryKind::CalendarResource => "calresource",
                _ => "account",
            };
            attrs.add(TARGET_TYPE, ty);
            out.push(Entry {
                kind: EntryKind::Alias,
                id: alias_id(alias),
                name: alias.to_ascii_lowercase(),
                attrs,
            });
        }
    }
    Ok(out)
}

/// A stable id for an alias without an entry of its own, from its name.
fn alias_id(alias: &str) -> zcs_core::ZimbraId {
    use std::hash::{Hash, Hasher};
    let mut bytes = [0u8; 16];
    for (i, half) in bytes.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (i, alias.to_ascii_lowercase()).hash(&mut h);
        half.copy_from_slice(&h.finish().to_be_bytes());
    }
    // An RFC 4122 variant, version 8 ("custom") identifier.
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let text = uuid::Uuid::from_bytes(bytes).to_string();
    text.parse().unwrap_or_default()
}

/// CountAccountRequest `<domain by="name|id">`: the domain's accounts (not calendar
/// resources, not system accounts) counted per class of service, as
/// `<cos id= name=>count</cos>`.
async fn count_account(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let prov = &ctx.svc.prov;
    let key = super::selector(req, "domain")?;
    let domain = prov.get_domain(&key).await.map_err(|e| {
        if e.code == FaultCode::NoSuchDomain {
            e
        } else {
            ServiceError::new(FaultCode::NoSuchDomain, format!("no such domain: {key:?}"))
        }
    })?;
    let mut counts: Vec<(Entry, u64)> = Vec::new();
    for acct in prov.all_accounts(Some(&domain.name)).await? {
        if acct.kind != EntryKind::Account
            || acct
                .attrs
                .get("zimbraIsSystemResource")
                .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
        {
            continue;
        }
        let Some(cos) = prov.account_cos(&acct).await? else {
            continue;
        };
        match counts.iter_mut().find(|(c, _)| c.id == cos.id) {
            Some((_, n)) => *n += 1,
            None => counts.push((cos, 1)),
        }
    }
    let mut resp = response("CountAccountResponse", NS_ADMIN);
    for (cos, n) in &counts {
        let el = resp.add_text("cos", n.to_string());
        el.set("id", cos.id.to_string());
        el.set("name", cos.name.clone());
    }
    Ok(resp)
}

/// CheckPasswordStrengthRequest `<id>` `<password>`: an empty answer when the password
/// meets the account's strength rules, `account.INVALID_PASSWORD` otherwise.
async fn check_password_strength(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let id = req.req("id")?.trim().to_string();
    let password = req.req("password")?;
    let acct = ctx.svc.prov.get_account(&id).await?;
    ctx.svc.prov.check_password_policy(&acct, password).await?;
    tracing::info!(target: "zimbra.security", cmd = "CheckPasswordStrength",
        name = %acct.name, "password strength checked");
    Ok(response("CheckPasswordStrengthResponse", NS_ADMIN))
}

/// GetAdminConsoleUICompRequest `[<account by=>|<dl by=>]`: the
/// `zimbraAdminConsoleUIComponents` values of the named account or list (the caller
/// by default), then those of the lists it belongs to marked `inherited="1"`, each
/// value once.
async fn ui_components(ctx: &mut Ctx<'_>, req: &Element, caller: &Entry) -> ServiceResult<Element> {
    let prov = &ctx.svc.prov;
    if req.child("account").is_some() && req.child("dl").is_some() {
        return Err(ServiceError::invalid_request(
            "can only specify either account or dl",
        ));
    }
    let subject = if req.child("account").is_some() {
        match super::selector(req, "account")? {
            EntryKey::Id(id) => prov.get_account(&id.to_string()).await?,
            EntryKey::Name(n) => prov.get_account(&n).await?,
        }
    } else if let Some(dl) = req.child("dl") {
        let key = dl.text().trim().to_string();
        prov.get_group(&key).await?
    } else {
        caller.clone()
    };
    let mut resp = response("GetAdminConsoleUICompResponse", NS_ADMIN);
    let mut seen: Vec<String> = Vec::new();
    add_components(&mut resp, &subject, false, &mut seen);
    for (dl, _) in prov.group_membership(&subject.name).await? {
        add_components(&mut resp, &dl, true, &mut seen);
    }
    Ok(resp)
}

fn add_components(resp: &mut Element, e: &Entry, inherited: bool, seen: &mut Vec<String>) {
    for v in e.attrs.get_all(UI_COMPONENTS) {
        if seen.contains(v) {
            continue;
        }
        seen.push(v.clone());
        let el = resp.add_text("a", v.clone());
        el.set("n", UI_COMPONENTS);
        if inherited {
            el.set_bool("inherited", true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_take_bare_comparisons() {
        assert_eq!(filter_text("zimbraId=x"), "(zimbraId=x)");
        assert_eq!(filter_text(" (cn=a*) "), "(cn=a*)");
        assert_eq!(filter_text(""), "(objectClass=*)");
        assert!(Provisioning::parse_search_filter(&filter_text("zimbraId=x")).is_ok());
    }

    #[test]
    fn types_name_kinds_and_elements() {
        let k = kinds_of("accounts,resources").unwrap();
        assert_eq!(k[0], (EntryKind::Account, "account"));
        assert_eq!(k[1], (EntryKind::CalendarResource, "calresource"));
        assert!(kinds_of("bogus").is_err());
    }
}

#[cfg(test)]
mod alias_tests {
    use super::*;

    #[test]
    fn alias_ids_are_stable_and_distinct() {
        assert_eq!(alias_id("a@x.test"), alias_id("A@X.test"));
        assert_ne!(alias_id("a@x.test"), alias_id("b@x.test"));
    }
}
