//! The `zmprov` search commands: `searchAccounts` (sa) with an LDAP filter,
//! `searchCalendarResources` (scr) with `attr op value` terms, and the GAL commands
//! `searchGal` (sg), `autoCompleteGal` (acg) and `syncGal` (syg). Searches run in the
//! directory (pushed down to SQL or slapd), never by listing every entry here.

use zcs_core::{EntryKind, ServiceError};
use zcs_directory::provisioning::gal::{attr_map, contact_attrs};
use zcs_directory::provisioning::{GalRequest, GalType};
use zcs_directory::{EntryKey, Provisioning, SearchQuery};

use super::commands::{CmdError, format_entry, list, verbose};

/// Options after the main arguments: `limit N`, `offset N`, `sortBy attr`,
/// `sortAscending 0|1`, `domain d`, `attrs a,b` (names compared ignoring case).
#[derive(Default)]
struct Opts {
    limit: usize,
    offset: usize,
    sort_by: Option<String>,
    ascending: bool,
    domain: Option<String>,
    attrs: Option<Vec<String>>,
}

fn options(args: &[String]) -> Result<Opts, CmdError> {
    let mut o = Opts {
        ascending: true,
        ..Opts::default()
    };
    let mut it = args.iter();
    while let Some(k) = it.next() {
        let v = it.next().ok_or(CmdError::Usage)?;
        let num = || v.parse::<usize>().map_err(|_| CmdError::Usage);
        match k.to_ascii_lowercase().as_str() {
            "limit" => o.limit = num()?,
            "offset" => o.offset = num()?,
            "sortby" => o.sort_by = Some(v.clone()),
            "sortascending" => o.ascending = v != "0",
            "domain" => o.domain = Some(v.clone()),
            "attrs" => o.attrs = Some(v.split(',').map(|s| s.trim().to_string()).collect()),
            _ => return Err(CmdError::Usage),
        }
    }
    Ok(o)
}

/// Runs a query with offset and limit applied the way Zimbra pages.
async fn run_query(
    p: &Provisioning,
    kinds: &[EntryKind],
    filter: zcs_directory::provisioning::member_url::Filter,
    o: &Opts,
) -> Result<Vec<zcs_core::Entry>, CmdError> {
    let mut q = SearchQuery::new(kinds)
        .with_filter(filter)
        .sorted_by(o.sort_by.clone(), o.ascending);
    if o.limit > 0 {
        q = q.with_limit(o.limit.saturating_add(o.offset));
    }
    if let Some(d) = &o.domain {
        q = q.in_domain(d.clone());
    }
    if let Some(a) = &o.attrs {
        q = q.returning(a.clone());
    }
    let r = p.search_directory(&q).await?;
    Ok(r.entries.into_iter().skip(o.offset).collect())
}

/// `sa [-v] {ldap-query} [limit N] [offset N] [sortBy attr] [sortAscending 0|1]
/// [domain d]`: accounts (and calendar resources) matching the filter, one name a line
/// (`-v`: every attribute).
pub(super) async fn search_accounts(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let (v, rest) = verbose(a);
    let (query, opts) = rest.split_first().ok_or(CmdError::Usage)?;
    let o = options(opts)?;
    let filter = Provisioning::parse_search_filter(query)?;
    let kinds = [EntryKind::Account, EntryKind::CalendarResource];
    Ok(list(run_query(p, &kinds, filter, &o).await?, v))
}

/// One `attr op value` term of `scr` as a filter: `eq`, `has`, `startswith`,
/// `endswith`, `ge`, `le`, `gt`, `lt` (Zimbra's operators).
fn term(attr: &str, op: &str, value: &str) -> Result<String, CmdError> {
    let v = zcs_directory::ldap::escape::filter_value(value);
    Ok(match op.to_ascii_lowercase().as_str() {
        "eq" => format!("({attr}={v})"),
        "has" => format!("({attr}=*{v}*)"),
        "startswith" => format!("({attr}={v}*)"),
        "endswith" => format!("({attr}=*{v})"),
        "ge" => format!("({attr}>={v})"),
        "le" => format!("({attr}<={v})"),
        "gt" => format!("(&({attr}>={v})(!({attr}={v})))"),
        "lt" => format!("(&({attr}<={v})(!({attr}={v})))"),
        _ => return Err(CmdError::Usage),
    })
}

/// `scr [-v] domain attr op value [attr op value...]`: calendar resources of the
/// domain matching every term.
pub(super) async fn search_calendar_resources(
    p: &Provisioning,
    a: &[String],
) -> Result<String, CmdError> {
    let (v, rest) = verbose(a);
    let (domain, terms) = rest.split_first().ok_or(CmdError::Usage)?;
    if terms.is_empty() || !terms.len().is_multiple_of(3) {
        return Err(CmdError::Usage);
    }
    let mut filter = String::from("(&");
    for t in terms.chunks(3) {
        filter.push_str(&term(&t[0], &t[1], &t[2])?);
    }
    filter.push(')');
    let filter = Provisioning::parse_search_filter(&filter)?;
    p.get_domain(&EntryKey::Name(domain.clone())).await?;
    let o = Opts {
        domain: Some(domain.clone()),
        ascending: true,
        ..Opts::default()
    };
    Ok(list(
        run_query(p, &[EntryKind::CalendarResource], filter, &o).await?,
        v,
    ))
}

/// Prints GAL entries as contacts: `# name <address>` then the contact fields.
async fn print_gal(
    p: &Provisioning,
    domain: &str,
    entries: &[zcs_core::Entry],
) -> Result<String, CmdError> {
    let d = p.get_domain(&EntryKey::Name(domain.to_string())).await?;
    let map = attr_map(&p.effective_domain_attrs(&d).await?);
    let mut out = String::new();
    for e in entries {
        out.push_str(&format_entry(Some(&e.name), &contact_attrs(e, &map), &[]));
        out.push('\n');
    }
    Ok(out)
}

async fn gal(p: &Provisioning, a: &[String], autocomplete: bool) -> Result<String, CmdError> {
    let (domain, rest) = a.split_first().ok_or(CmdError::Usage)?;
    let (text, opts) = rest.split_first().ok_or(CmdError::Usage)?;
    let mut gal_type = GalType::All;
    let mut opt_words = Vec::new();
    let mut it = opts.iter();
    while let Some(k) = it.next() {
        if k.eq_ignore_ascii_case("type") {
            let t = it.next().ok_or(CmdError::Usage)?;
            gal_type = GalType::parse(t).ok_or_else(|| {
                CmdError::Fault(ServiceError::invalid_request(format!("bad GAL type {t}")))
            })?;
        } else {
            opt_words.push(k.clone());
            opt_words.push(it.next().ok_or(CmdError::Usage)?.clone());
        }
    }
    let o = options(&opt_words)?;
    let req = GalRequest {
        text: text.clone(),
        gal_type,
        autocomplete,
        limit: (o.limit > 0).then_some(o.limit),
    };
    let r = p.search_gal(domain, &req).await?;
    print_gal(p, domain, &r.entries).await
}

/// `sg {domain} {name} [limit N] [type all|account|resource|group]`.
pub(super) async fn search_gal(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    gal(p, a, false).await
}

/// `acg {domain} {name} [limit N] [type ...]`: prefix matches, as a client's
/// autocomplete asks.
pub(super) async fn auto_complete_gal(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    gal(p, a, true).await
}

/// `syg {domain} [{token}]`: `# token = <token>` and an empty line, then every GAL
/// entry of the domain, as Zimbra prints a sync. The token is the time of this sync
/// (GeneralizedTime, as Zimbra's directory tokens are); give it back to sync again.
// LIMITATION: directory entries carry no modification time, so a sync given a token
// still lists the whole GAL (a superset of what changed since), never a delta.
pub(super) async fn sync_gal(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    if a.get(1).is_some_and(|t| t.trim().is_empty()) {
        return Err(CmdError::Usage);
    }
    let token = chrono::Utc::now().format("%Y%m%d%H%M%SZ").to_string();
    let entries = p.sync_gal(&a[0]).await?;
    let mut out = format!("# token = {token}\n\n");
    out.push_str(&print_gal(p, &a[0], &entries).await?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_resource_terms_escape_values() {
        assert_eq!(
            term("displayName", "has", "a*)(b").ok(),
            Some("(displayName=*a\\2a\\29\\28b*)".to_string())
        );
        assert!(term("x", "like", "y").is_err());
    }
}
