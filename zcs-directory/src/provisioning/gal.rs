//! The global address list (GAL) and filter searches of the directory.
//!
//! In charge of: admin filter searches ([`Provisioning::search_directory`], behind
//! `zmprov searchAccounts` and `searchCalendarResources`); GAL search and autocomplete
//! for a domain ([`Provisioning::search_gal`]) following `zimbraGalMode` (`zimbra`:
//! this directory; `ldap`: the external directory of `zimbraGalLdapURL`; `both`),
//! `zimbraGalMaxResults`, `zimbraGalInternalSearchBase` and `zimbraHideInGal`; and GAL
//! sync (every visible entry, for SyncGal).
//!
//! The external GAL is read over `ldaps://`, or over StartTLS when the domain's
//! `zimbraGalLdapStartTlsEnabled` is `TRUE` (see [`crate::ldap_client`]); a TLS failure is
//! `service.RESOURCE_UNREACHABLE` like a server that is down, never a plain-text retry.
//! `zimbraGalLdapValueMap` ([`super::gal_value_map`]) rewrites contact field values.
//!
//! Internal searches use Zimbra's named filters (`zimbraGalLdapFilterDef`: `zimbraSearch`,
//! `zimbraAutoComplete`, `zimbraAccounts`, ...) with the user's text escaped into the
//! `%s` placeholders, so filter metacharacters in a query cannot change the filter.

use std::time::Duration;

use ldap3::{Scope, SearchEntry};
use zcs_core::attrs;
use zcs_core::{Attrs, Entry, EntryKind, FaultCode, ServiceError, ServiceResult};

use super::Provisioning;
use super::gal_value_map::{ValueMap, map_for, parse_value_maps};
use super::member_url::{Filter, parse_filter};
use crate::directory::EntryKey;
use crate::ldap_client;
use crate::search::{SearchQuery, SearchResults, expand_template};

/// How long one external GAL server may take to answer.
const EXTERNAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Default `zimbraGalMaxResults`.
pub const DEFAULT_GAL_MAX: usize = 100;

/// The entry types a GAL request asks for (`type` of SearchGal/AutoCompleteGal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GalType {
    /// Accounts, lists and calendar resources.
    All,
    /// Accounts (not calendar resources) and lists, as Zimbra's `account` type.
    Account,
    /// Calendar resources.
    Resource,
    /// Distribution lists and dynamic groups.
    Group,
}

impl GalType {
    /// Parses `all`, `account`, `resource`, `group` (any case); `None` otherwise.
    pub fn parse(s: &str) -> Option<GalType> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "all" => Some(GalType::All),
            "account" => Some(GalType::Account),
            "resource" => Some(GalType::Resource),
            "group" => Some(GalType::Group),
            _ => None,
        }
    }

    /// The name of the `zimbraGalLdapFilterDef` filter for a search or autocomplete.
    pub fn filter_name(self, autocomplete: bool) -> &'static str {
        match (self, autocomplete) {
            (GalType::All, false) => "zimbraSearch",
            (GalType::All, true) => "zimbraAutoComplete",
            (GalType::Account, false) => "zimbraAccounts",
            (GalType::Account, true) => "zimbraAccountAutoComplete",
            (GalType::Resource, false) => "zimbraResources",
            (GalType::Resource, true) => "zimbraResourceAutoComplete",
            (GalType::Group, false) => "zimbraGroups",
            (GalType::Group, true) => "zimbraGroupAutoComplete",
        }
    }

    /// The entry kinds of this type in this directory.
    pub fn kinds(self) -> &'static [EntryKind] {
        match self {
            GalType::All => &[
                EntryKind::Account,
                EntryKind::CalendarResource,
                EntryKind::DistributionList,
                EntryKind::DynamicGroup,
            ],
            GalType::Account => &[
                EntryKind::Account,
                EntryKind::DistributionList,
                EntryKind::DynamicGroup,
            ],
            GalType::Resource => &[EntryKind::CalendarResource],
            GalType::Group => &[EntryKind::DistributionList, EntryKind::DynamicGroup],
        }
    }
}

/// A GAL request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GalRequest {
    /// What the user typed; `""` or `*` matches everyone.
    pub text: String,
    pub gal_type: GalType,
    /// Autocomplete (prefix match on names and addresses) rather than search
    /// (substring match).
    pub autocomplete: bool,
    /// The caller's limit; capped by `zimbraGalMaxResults`. `None` uses that cap.
    pub limit: Option<usize>,
}

/// A GAL answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GalResults {
    /// Matches by name; entries from an external directory have kind `Account`, a name
    /// from their `mail` and the external attributes as they came.
    pub entries: Vec<Entry>,
    /// More matched than were returned.
    pub more: bool,
}

/// The `zimbraGalLdapFilterDef` named `name`, from the global config's values, else the
/// registry default.
pub(super) fn filter_def(global: &Entry, name: &str) -> Option<String> {
    let stored = global.attrs.get_all("zimbraGalLdapFilterDef");
    let defaults: Vec<String> = attrs::lookup("zimbraGalLdapFilterDef")
        .map(|d| d.default.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
    let pick = |values: &[String]| {
        values.iter().find_map(|v| {
            let (n, f) = v.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| f.to_string())
        })
    };
    pick(stored).or_else(|| pick(&defaults))
}

/// A filter value or the name of a filter definition (`ad`, `externalLdapAutoComplete`).
fn resolve_filter(global: &Entry, value: &str) -> Option<String> {
    let v = value.trim();
    if v.starts_with('(') {
        Some(v.to_string())
    } else {
        filter_def(global, v)
    }
}

/// The user's text as a filter value: `*` alone means "anything".
fn gal_text(text: &str) -> String {
    let t = text.trim();
    if t == "*" {
        String::new()
    } else {
        t.to_string()
    }
}

fn bad_filter(e: ServiceError) -> ServiceError {
    ServiceError::invalid_request(format!("invalid search filter: {}", e.message))
}

impl Provisioning {
    /// Runs a filter search over the directory (admin `searchAccounts`,
    /// `searchCalendarResources`, SearchDirectory).
    ///
    /// # Errors
    /// `service.FAILURE` when the directory fails.
    pub async fn search_directory(&self, q: &SearchQuery) -> ServiceResult<SearchResults> {
        self.dir.search_entries(q).await
    }

    /// Parses an LDAP filter as `zmprov` and SOAP requests give it.
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` for a filter that does not parse.
    pub fn parse_search_filter(text: &str) -> ServiceResult<Filter> {
        parse_filter(text.trim()).map_err(bad_filter)
    }

    /// The GAL of `domain` for `req`, following the domain's `zimbraGalMode`.
    ///
    /// # Errors
    /// `account.NO_SUCH_DOMAIN`; `service.FAILURE` when the directory fails;
    /// `service.RESOURCE_UNREACHABLE` when mode `ldap` is set and no external server
    /// answers (mode `both` answers from this directory alone then).
    pub async fn search_gal(&self, domain: &str, req: &GalRequest) -> ServiceResult<GalResults> {
        let d = self.get_domain(&EntryKey::Name(domain.to_string())).await?;
        let eff = self.effective_domain_attrs(&d).await?;
        let global = self.global_config().await?;
        let max = eff
            .get("zimbraGalMaxResults")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(DEFAULT_GAL_MAX);
        let limit = match req.limit {
            Some(l) if l > 0 && (max == 0 || l < max) => l,
            _ => max,
        };
        let mode = d
            .attrs
            .get("zimbraGalMode")
            .unwrap_or("zimbra")
            .to_ascii_lowercase();
        let mut out = GalResults::default();
        if mode != "ldap" {
            let internal = self
                .search_gal_internal(&d, &eff, &global, req, limit)
                .await?;
            out.more |= internal.more;
            out.entries.extend(internal.entries);
        }
        if mode == "ldap" || mode == "both" {
            match self
                .search_gal_external(&d, &eff, &global, req, limit)
                .await
            {
                Ok(ext) => {
                    out.more |= ext.more;
                    out.entries.extend(ext.entries);
                }
                Err(e) if mode == "both" => {
                    tracing::warn!(domain = %d.name, error = %e,
                        "external GAL unavailable; answering from the internal GAL");
                }
                Err(e) => return Err(e),
            }
            out.entries
                .sort_by_cached_key(|e| (e.name.to_lowercase(), e.id.to_string()));
            out.entries
                .dedup_by(|a, b| a.name.eq_ignore_ascii_case(&b.name));
            if limit > 0 && out.entries.len() > limit {
                out.entries.truncate(limit);
                out.more = true;
            }
        }
        Ok(out)
    }

    /// The internal GAL: Zimbra's named filter for the request type, hidden entries left
    /// out, in the domain unless `zimbraGalInternalSearchBase` is `ROOT`.
    async fn search_gal_internal(
        &self,
        d: &Entry,
        eff: &Attrs,
        global: &Entry,
        req: &GalRequest,
        limit: usize,
    ) -> ServiceResult<GalResults> {
        let name = req.gal_type.filter_name(req.autocomplete);
        let template = filter_def(global, name)
            .ok_or_else(|| ServiceError::failure(format!("no GAL filter named {name}")))?;
        let text = expand_template(&template, &gal_text(&req.text));
        let filter = Filter::And(vec![
            parse_filter(&text).map_err(bad_filter)?,
            Filter::Not(Box::new(Filter::Equal(
                "zimbraHideInGal".into(),
                "TRUE".into(),
            ))),
        ]);
        let mut q = SearchQuery::new(req.gal_type.kinds())
            .with_filter(filter)
            .with_limit(limit);
        // LIMITATION: SUBDOMAINS and an explicit DN base search the whole directory.
        let base = eff.get("zimbraGalInternalSearchBase").unwrap_or("DOMAIN");
        if base.eq_ignore_ascii_case("DOMAIN") {
            q = q.in_domain(d.name.clone());
        }
        let r = self.dir.search_entries(&q).await?;
        Ok(GalResults {
            entries: r.entries,
            more: r.more,
        })
    }

    /// The external GAL: `zimbraGalLdapFilter` (search) or
    /// `zimbraGalAutoCompleteLdapFilter` (autocomplete) against each `zimbraGalLdapURL`
    /// in turn until one answers, bound as `zimbraGalLdapBindDn` when set.
    async fn search_gal_external(
        &self,
        d: &Entry,
        eff: &Attrs,
        global: &Entry,
        req: &GalRequest,
        limit: usize,
    ) -> ServiceResult<GalResults> {
        let urls = d.attrs.get_all("zimbraGalLdapURL");
        if urls.is_empty() {
            return Err(ServiceError::new(
                FaultCode::ResourceUnreachable,
                format!("domain {} has no zimbraGalLdapURL", d.name),
            ));
        }
        let filter_attr = if req.autocomplete {
            "zimbraGalAutoCompleteLdapFilter"
        } else {
            "zimbraGalLdapFilter"
        };
        let configured = eff
            .get(filter_attr)
            .or_else(|| d.attrs.get("zimbraGalLdapFilter"))
            .unwrap_or("externalLdapAutoComplete");
        let template = resolve_filter(global, configured)
            .ok_or_else(|| ServiceError::invalid_request(format!("no GAL filter {configured}")))?;
        let filter = expand_template(&template, &gal_text(&req.text));
        let base = d.attrs.get("zimbraGalLdapSearchBase").unwrap_or("");
        let bind_dn = d.attrs.get("zimbraGalLdapBindDn").unwrap_or("");
        let bind_pw = d.attrs.get("zimbraGalLdapBindPassword").unwrap_or("");
        let start_tls = d
            .attrs
            .get("zimbraGalLdapStartTlsEnabled")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("TRUE"));
        let (map, values) = (attr_map(eff), value_maps(eff));
        let mut last = None;
        for url in urls {
            match external_search(url, start_tls, bind_dn, bind_pw, base, &filter).await {
                Ok(found) => {
                    let mut entries: Vec<Entry> = found
                        .into_iter()
                        .filter_map(|se| external_entry(se, &map, &values))
                        .collect();
                    entries.sort_by_cached_key(|e| e.name.to_lowercase());
                    let more = limit > 0 && entries.len() > limit;
                    if more {
                        entries.truncate(limit);
                    }
                    return Ok(GalResults { entries, more });
                }
                Err(e) => {
                    tracing::warn!(domain = %d.name, error = %e, "external GAL server failed");
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| ServiceError::failure("no external GAL server")))
    }

    /// Every GAL entry of the domain (SyncGal): accounts, lists and active calendar
    /// resources not hidden from the GAL, by name.
    ///
    /// # Errors
    /// As [`Provisioning::search_gal`].
    pub async fn sync_gal(&self, domain: &str) -> ServiceResult<Vec<Entry>> {
        let d = self.get_domain(&EntryKey::Name(domain.to_string())).await?;
        let global = self.global_config().await?;
        let template = filter_def(&global, "zimbraSync")
            .unwrap_or_else(|| "(objectClass=zimbraAccount)".to_string());
        let filter = Filter::And(vec![
            parse_filter(&template).map_err(bad_filter)?,
            Filter::Not(Box::new(Filter::Equal(
                "zimbraHideInGal".into(),
                "TRUE".into(),
            ))),
        ]);
        let q = SearchQuery::new(GalType::All.kinds())
            .in_domain(d.name.clone())
            .with_filter(filter);
        Ok(self.dir.search_entries(&q).await?.entries)
    }
}

/// The GAL contact fields of `entry` (`email`, `fullName`, `firstName`, ...) under
/// `attr_map` (`zimbraGalLdapAttrMap` values: `ldapAttr1,ldapAttr2=field1,field2`): the
/// values of the directory attributes, in order and without repeats, fill the fields in
/// order. Binary and certificate mappings are left out. Lists and dynamic groups also
/// get `type: group`.
pub fn contact_attrs(entry: &Entry, attr_map: &[String]) -> Attrs {
    contact_attrs_with(entry, attr_map, &[])
}

/// [`contact_attrs`] with `value_maps` (see [`value_maps`]) rewriting the fields' values.
pub fn contact_attrs_with(entry: &Entry, attr_map: &[String], value_maps: &[ValueMap]) -> Attrs {
    let mut out = map_contact_fields(attr_map, value_maps, |a| {
        if a.eq_ignore_ascii_case("zimbraId") {
            vec![entry.id.to_string()]
        } else {
            crate::search::entry_values(entry, a)
        }
    });
    if !out.contains("email") && entry.name.contains('@') {
        out.set_one("email", entry.name.clone());
    }
    if matches!(
        entry.kind,
        EntryKind::DistributionList | EntryKind::DynamicGroup
    ) {
        out.set_one("type", "group");
    }
    out
}

/// The contact fields `attr_map` makes of an entry whose attribute values `values`
/// gives (by attribute name, any case): see [`contact_attrs`], each value then rewritten
/// by its field's value map in `value_maps`. `objectClass` and the `(binary)` and
/// `(certificate)` mappings are left out.
pub(super) fn map_contact_fields(
    attr_map: &[String],
    value_maps: &[ValueMap],
    values: impl Fn(&str) -> Vec<String>,
) -> Attrs {
    let mut out = Attrs::new();
    for line in attr_map {
        let line = line.trim();
        if line.starts_with('(') {
            continue;
        }
        let Some((ldap, fields)) = line.split_once('=') else {
            continue;
        };
        let mut found: Vec<String> = Vec::new();
        for a in ldap.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            if a.eq_ignore_ascii_case("objectClass") {
                continue;
            }
            for v in values(a) {
                if !found.iter().any(|x| x.eq_ignore_ascii_case(&v)) {
                    found.push(v);
                }
            }
        }
        for (field, v) in fields.split(',').map(str::trim).zip(found) {
            if !field.is_empty() && !out.contains(field) {
                match map_for(value_maps, field) {
                    Some(m) => out.set_one(field, m.apply(&v)),
                    None => out.set_one(field, v),
                }
            }
        }
    }
    out
}

/// The domain's `zimbraGalLdapAttrMap` (inherited from the global config, else the
/// registry default).
pub fn attr_map(domain_effective: &Attrs) -> Vec<String> {
    let v = domain_effective.get_all("zimbraGalLdapAttrMap");
    if !v.is_empty() {
        return v.to_vec();
    }
    attrs::lookup("zimbraGalLdapAttrMap")
        .map(|d| d.default.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default()
}

/// The domain's `zimbraGalLdapValueMap` (inherited from the global config, else the
/// registry default), parsed: see [`super::gal_value_map`].
pub fn value_maps(domain_effective: &Attrs) -> Vec<ValueMap> {
    let v = domain_effective.get_all("zimbraGalLdapValueMap");
    if !v.is_empty() {
        return parse_value_maps(v);
    }
    let defaults: Vec<String> = attrs::lookup("zimbraGalLdapValueMap")
        .map(|d| d.default.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
    parse_value_maps(&defaults)
}

/// One search against an external directory, over StartTLS when `start_tls` is set.
async fn external_search(
    url: &str,
    start_tls: bool,
    bind_dn: &str,
    bind_pw: &str,
    base: &str,
    filter: &str,
) -> ServiceResult<Vec<SearchEntry>> {
    let unreachable = |step: &str, e: ldap3::LdapError| {
        ServiceError::new(
            FaultCode::ResourceUnreachable,
            format!("external GAL {step}: {e}"),
        )
    };
    let mut ldap = ldap_client::connect(url, start_tls, EXTERNAL_TIMEOUT)
        .await
        .map_err(|e| {
            ServiceError::new(
                FaultCode::ResourceUnreachable,
                format!("external GAL connect: {e}"),
            )
        })?;
    if !bind_dn.is_empty() {
        ldap.with_timeout(EXTERNAL_TIMEOUT);
        ldap.simple_bind(bind_dn, bind_pw)
            .await
            .and_then(|r| r.success())
            .map_err(|e| unreachable("bind", e))?;
    }
    ldap.with_timeout(EXTERNAL_TIMEOUT);
    let found = ldap
        .search(base, Scope::Subtree, filter, vec!["*"])
        .await
        .and_then(|r| r.success())
        .map_err(|e| unreachable("search", e))?;
    let _ = ldap.unbind().await;
    Ok(found.0.into_iter().map(SearchEntry::construct).collect())
}

/// An external entry as a GAL entry: named by its first `mail`, with a stable id made
/// from its DN; entries without `mail` are not addressable and are skipped. The values of
/// each LDAP attribute `attr_map` reads are rewritten by the value map (in `values`) of
/// the first contact field its rule fills that has one, so the contact fields made of
/// the entry later carry the mapped values. LIMITATION: for a rule filling several
/// fields (`mail,zimbraMailAlias=email,email2,...`) one map applies to all its values,
/// where Zimbra applies each field's own.
fn external_entry(se: SearchEntry, attr_map: &[String], values: &[ValueMap]) -> Option<Entry> {
    let mail = se
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("mail"))
        .and_then(|(_, v)| v.first().cloned())?;
    let mut attrs = Attrs::new();
    let mut names: Vec<&String> = se.attrs.keys().collect();
    names.sort();
    for n in names {
        if n.eq_ignore_ascii_case("userPassword") {
            continue;
        }
        let vals = se.attrs[n].clone();
        let vals = match ldap_attr_value_map(attr_map, values, n) {
            Some(m) => vals.iter().map(|v| m.apply(v)).collect(),
            None => vals,
        };
        attrs.set(n, vals);
    }
    attrs.set_one("zimbraGalExternalDn", se.dn.clone());
    Some(Entry {
        kind: EntryKind::Account,
        id: crate::ldap::convert::derived_id(&se.dn),
        name: mail,
        attrs,
    })
}

/// The value map that applies to LDAP attribute `ldap_attr`: that of the first contact
/// field, with a map, of the first `attr_map` rule reading the attribute.
fn ldap_attr_value_map<'a>(
    attr_map: &[String],
    values: &'a [ValueMap],
    ldap_attr: &str,
) -> Option<&'a ValueMap> {
    if values.is_empty() {
        return None;
    }
    attr_map.iter().find_map(|line| {
        let (ldap, fields) = line.trim().split_once('=')?;
        if line.trim().starts_with('(')
            || !ldap
                .split(',')
                .any(|a| a.trim().eq_ignore_ascii_case(ldap_attr))
        {
            return None;
        }
        fields.split(',').find_map(|f| map_for(values, f.trim()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zcs_core::ZimbraId;

    #[test]
    fn default_filter_definitions_are_found() {
        let global = Entry {
            kind: EntryKind::GlobalConfig,
            id: ZimbraId::new(),
            name: String::new(),
            attrs: Attrs::new(),
        };
        for t in [
            GalType::All,
            GalType::Account,
            GalType::Resource,
            GalType::Group,
        ] {
            for ac in [false, true] {
                let f = filter_def(&global, t.filter_name(ac)).expect("defined");
                let text = expand_template(&f, "a)(b");
                assert!(parse_filter(&text).is_ok(), "{text}");
            }
        }
        assert!(resolve_filter(&global, "ad").is_some());
        assert_eq!(
            resolve_filter(&global, "(mail=%s)").as_deref(),
            Some("(mail=%s)")
        );
    }

    #[test]
    fn contacts_map_directory_attributes() {
        let mut a = Attrs::new();
        a.add("givenName", "Ann");
        a.add("displayName", "Ann Lee");
        a.add("zimbraMailAlias", "al@x.test");
        a.add("mail", "ann@x.test");
        a.add("zimbraMailDeliveryAddress", "ann@x.test");
        let e = Entry {
            kind: EntryKind::Account,
            id: ZimbraId::new(),
            name: "ann@x.test".into(),
            attrs: a,
        };
        let map = attr_map(&Attrs::new());
        let c = contact_attrs(&e, &map);
        assert_eq!(c.get("firstName"), Some("Ann"));
        assert_eq!(c.get("fullName"), Some("Ann Lee"));
        assert_eq!(c.get("email"), Some("ann@x.test"));
        assert_eq!(c.get("email2"), Some("al@x.test"));
        assert_eq!(c.get("zimbraId"), Some(e.id.to_string().as_str()));
        assert!(c.get("type").is_none());
    }

    #[test]
    fn types_parse() {
        assert_eq!(GalType::parse("Resource"), Some(GalType::Resource));
        assert_eq!(GalType::parse(""), Some(GalType::All));
        assert_eq!(GalType::parse("x"), None);
    }
}
