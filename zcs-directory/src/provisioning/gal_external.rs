//! Reading an external GAL in full for a GAL sync account's `ldap` data source (spec 02
//! §1.3.4): where the customer's directory is and how to bind to it
//! ([`ExternalGalConfig`], resolved from the data source, then the domain), and the paged
//! listing of every entry matching the sync filter ([`list_entries`]), turned into GAL
//! contact fields ([`external_contact`]).
//!
//! Unlike the live GAL search (`gal.rs`), a sync is not capped at `zimbraGalMaxResults`:
//! it asks for pages of `zimbraGalSyncLdapPageSize` entries with the simple paged results
//! control (RFC 2696) until the server says there are no more, so a server's size limit
//! per request does not cut the list short. Any failure fails the whole listing: a sync
//! never works from a partial list (it would delete the contacts of the entries missed).
//!
//! A trickle listing ([`list_changed_since`]) asks only for the entries created or
//! modified at or after a sync token, the highest stamp an earlier listing saw
//! ([`highest_stamp`]): `(&<filter>(|(modifyTimeStamp>=T)(createTimeStamp>=T)
//! (whenChanged>=T)(whenCreated>=T)))`, as Zimbra's trickle GAL sync (`whenChanged` and
//! `whenCreated` are Active Directory's stamps; a directory without them treats those
//! terms as undefined, which leaves the others to decide). Entries stamped exactly `T`
//! come again (harmless: their contacts are unchanged); entries deleted from the
//! directory do not show up in a trickle listing, only a full listing notices them.
//!
//! With a group handler configured, groups get their members' addresses
//! ([`super::gal_groups`]); `zimbraGalLdapValueMap` rewrites values
//! ([`super::gal_value_map`]).
//!
//! Transport: `ldaps://` URLs, or StartTLS on `ldap://` when
//! `zimbraGalSyncLdapStartTlsEnabled` resolves to `TRUE` (see [`crate::ldap_client`]). A
//! refused StartTLS or a failed handshake is `service.RESOURCE_UNREACHABLE` naming the TLS
//! problem, like a server that is down (the next URL is tried); never plain text.

use std::time::Duration;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{LdapError, Scope, SearchEntry, ldap_escape};
use zcs_core::{Attrs, Entry, FaultCode, ServiceError, ServiceResult};

use super::gal::{map_contact_fields, value_maps};
use super::gal_groups::{MEMBER_ATTRS, MEMBER_MAILS, is_group, resolve_members};
use super::gal_value_map::{ValueMap, parse_value_maps};
use crate::ldap_client;
use crate::search::expand_template;

/// How long connecting to an external GAL server, binding, and each page may take.
const SYNC_TIMEOUT: Duration = Duration::from_secs(30);

/// `zimbraGalSyncLdapPageSize`'s registry default.
const DEFAULT_PAGE_SIZE: u32 = 1000;

/// The filter a sync uses when neither the data source nor the domain sets one: the
/// named filter the live external search defaults to, with an empty query.
const DEFAULT_FILTER_DEF: &str = "externalLdapAutoComplete";

/// The LDAP result code of a refused simple bind (RFC 4511 §4.1.9, invalidCredentials).
const RC_INVALID_CREDENTIALS: u32 = 49;

/// Where and how an `ldap` GAL data source reads its directory. Each setting is the data
/// source's own `zimbraGalSyncLdap*` attribute, else the domain's `zimbraGalSyncLdap*`,
/// else the domain's `zimbraGalLdap*` (the live search's settings), as Zimbra's
/// `zimbraGalSyncLdapURL` "defaults to the search URL". The bind DN and its password are
/// taken together from the first of those three that sets a DN.
#[derive(Clone)]
pub struct ExternalGalConfig {
    /// The servers, tried in turn until one answers.
    pub urls: Vec<String>,
    /// The search base (`""` is the server's root).
    pub search_base: String,
    /// The sync filter, ready to send: a named filter resolved, `%s` made empty.
    pub filter: String,
    /// The DN to bind as; `None` binds anonymously.
    pub bind_dn: Option<String>,
    bind_password: String,
    /// Entries per page (RFC 2696); 0 asks for everything in one search.
    pub page_size: u32,
    /// StartTLS before binding (`zimbraGalSyncLdapStartTlsEnabled`).
    pub start_tls: bool,
    /// `zimbraGalLdapAttrMap`: the data source's, else the domain's (or global) one.
    pub attr_map: Vec<String>,
    /// `zimbraGalLdapValueMap`: the data source's, else the domain's (or global, or the
    /// registry default), parsed.
    pub value_maps: Vec<ValueMap>,
    /// Whether groups get their members (`zimbraGalLdapGroupHandlerClass` set on the data
    /// source, else the domain or global config): see [`super::gal_groups`].
    pub group_members: bool,
}

impl std::fmt::Debug for ExternalGalConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalGalConfig")
            .field("urls", &self.urls)
            .field("search_base", &self.search_base)
            .field("filter", &self.filter)
            .field("bind_dn", &self.bind_dn)
            .field("page_size", &self.page_size)
            .field("start_tls", &self.start_tls)
            .field("group_members", &self.group_members)
            .finish_non_exhaustive()
    }
}

/// The first non-empty single value among `(attrs, name)` pairs, in order.
fn first<'a>(layers: &[(&'a Attrs, &str)]) -> Option<&'a str> {
    layers
        .iter()
        .filter_map(|(a, n)| a.get(n).map(str::trim))
        .find(|v| !v.is_empty())
}

/// A boolean attribute value (`TRUE`/`FALSE`, any case).
fn truth(v: &str) -> bool {
    v.eq_ignore_ascii_case("true")
}

impl ExternalGalConfig {
    /// Resolves the settings of data source `ds` (its attributes) of a GAL sync account
    /// of `domain` (`domain_effective`: its attributes with the global config's inherited
    /// ones; `filter_def` resolves a named filter such as `ad`), with `attr_map` the map
    /// to apply.
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` when no URL is configured anywhere, for a named filter
    /// that does not exist, and for `kerberos5` authentication (LIMITATION: only simple
    /// and anonymous binds are supported).
    pub(super) fn resolve(
        ds: &Attrs,
        domain: &Entry,
        domain_effective: &Attrs,
        attr_map: Vec<String>,
        filter_def: impl Fn(&str) -> Option<String>,
    ) -> ServiceResult<ExternalGalConfig> {
        let d = &domain.attrs;
        let mut urls: Vec<String> = Vec::new();
        for name in [
            (ds, "zimbraGalSyncLdapURL"),
            (d, "zimbraGalSyncLdapURL"),
            (d, "zimbraGalLdapURL"),
        ] {
            urls = name
                .0
                .get_all(name.1)
                .iter()
                .map(|u| u.trim().to_string())
                .filter(|u| !u.is_empty())
                .collect();
            if !urls.is_empty() {
                break;
            }
        }
        if urls.is_empty() {
            return Err(ServiceError::invalid_request(format!(
                "external GAL sync: no zimbraGalSyncLdapURL on the data source or domain {} \
                 and no zimbraGalLdapURL on the domain",
                domain.name
            )));
        }
        let search_base = first(&[
            (ds, "zimbraGalSyncLdapSearchBase"),
            (d, "zimbraGalSyncLdapSearchBase"),
            (d, "zimbraGalLdapSearchBase"),
        ])
        .unwrap_or("")
        .to_string();
        let configured = first(&[
            (ds, "zimbraGalSyncLdapFilter"),
            (d, "zimbraGalSyncLdapFilter"),
            (d, "zimbraGalLdapFilter"),
        ])
        .unwrap_or(DEFAULT_FILTER_DEF);
        let template = if configured.starts_with('(') {
            configured.to_string()
        } else {
            filter_def(configured).ok_or_else(|| {
                ServiceError::invalid_request(format!("no GAL filter named {configured}"))
            })?
        };
        let filter = sync_filter(&template);
        let mech = first(&[
            (ds, "zimbraGalSyncLdapAuthMech"),
            (d, "zimbraGalSyncLdapAuthMech"),
            (d, "zimbraGalLdapAuthMech"),
        ])
        .map(str::to_ascii_lowercase);
        if mech.as_deref() == Some("kerberos5") {
            return Err(ServiceError::invalid_request(
                "external GAL sync: kerberos5 authentication is not supported (simple or none)",
            ));
        }
        let mut bind_dn = None;
        let mut bind_password = String::new();
        if mech.as_deref() != Some("none") {
            for (a, dn, pw) in [
                (
                    ds,
                    "zimbraGalSyncLdapBindDn",
                    "zimbraGalSyncLdapBindPassword",
                ),
                (
                    d,
                    "zimbraGalSyncLdapBindDn",
                    "zimbraGalSyncLdapBindPassword",
                ),
                (d, "zimbraGalLdapBindDn", "zimbraGalLdapBindPassword"),
            ] {
                if let Some(v) = a.get(dn).map(str::trim).filter(|v| !v.is_empty()) {
                    bind_dn = Some(v.to_string());
                    bind_password = a.get(pw).unwrap_or("").to_string();
                    break;
                }
            }
        }
        let page_size = first(&[
            (ds, "zimbraGalSyncLdapPageSize"),
            (domain_effective, "zimbraGalSyncLdapPageSize"),
        ])
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .min(i32::MAX as u32);
        let start_tls = first(&[
            (ds, "zimbraGalSyncLdapStartTlsEnabled"),
            (d, "zimbraGalSyncLdapStartTlsEnabled"),
            (d, "zimbraGalLdapStartTlsEnabled"),
        ])
        .is_some_and(truth);
        let own_values = ds.get_all("zimbraGalLdapValueMap");
        let value_maps = if own_values.is_empty() {
            value_maps(domain_effective)
        } else {
            parse_value_maps(own_values)
        };
        let group_members = first(&[
            (ds, "zimbraGalLdapGroupHandlerClass"),
            (domain_effective, "zimbraGalLdapGroupHandlerClass"),
        ])
        .is_some();
        Ok(ExternalGalConfig {
            group_members,
            urls,
            search_base,
            filter,
            bind_dn,
            bind_password,
            page_size,
            start_tls,
            attr_map,
            value_maps,
        })
    }

    /// The attributes a sync asks the server for: those `attr_map` reads, `objectClass`
    /// (to tell groups), and the stamps ([`STAMP_ATTRS`], the sync token); every user
    /// attribute too when the map is empty.
    fn requested_attrs(&self) -> Vec<String> {
        let mut out: Vec<String> = vec!["objectClass".to_string()];
        out.extend(STAMP_ATTRS.iter().map(|a| a.to_string()));
        for line in &self.attr_map {
            let line = line.trim();
            if line.starts_with('(') {
                continue;
            }
            let Some((ldap, _)) = line.split_once('=') else {
                continue;
            };
            for a in ldap.split(',').map(str::trim).filter(|a| !a.is_empty()) {
                if !out.iter().any(|x| x.eq_ignore_ascii_case(a)) {
                    out.push(a.to_string());
                }
            }
        }
        if out.len() == 1 + STAMP_ATTRS.len() {
            out.push("*".to_string());
        }
        if self.group_members {
            for a in MEMBER_ATTRS {
                if !out.iter().any(|x| x.eq_ignore_ascii_case(a)) {
                    out.push(a.to_string());
                }
            }
        }
        out
    }
}

/// A GAL filter template with an empty query, as a sync sends it: `%s` becomes nothing,
/// and the `**` that leaves (`(cn=*%s*)`) becomes a presence test `*`.
pub(super) fn sync_filter(template: &str) -> String {
    let mut f = expand_template(template, "");
    while f.contains("**") {
        f = f.replace("**", "*");
    }
    f
}

/// Why a step against `url` failed, as a fault an administrator can act on: a server
/// that cannot be reached (or did not answer in time) is `service.RESOURCE_UNREACHABLE`;
/// a refused bind or search is `service.FAILURE` naming the LDAP result.
fn fault(url: &str, step: &str, bind_dn: Option<&str>, e: LdapError) -> ServiceError {
    match e {
        LdapError::LdapResult { result } if result.rc == RC_INVALID_CREDENTIALS => {
            ServiceError::failure(format!(
                "external GAL sync: {url} refused the bind as {}: invalid credentials \
                 (LDAP result 49)",
                bind_dn.unwrap_or("(anonymous)")
            ))
        }
        LdapError::LdapResult { result } => ServiceError::failure(format!(
            "external GAL sync: {step} on {url} failed: LDAP result {} {}",
            result.rc,
            result.text.trim()
        )),
        LdapError::FilterParsing => ServiceError::invalid_request(format!(
            "external GAL sync: the sync filter does not parse ({step} on {url})"
        )),
        other => ServiceError::new(
            FaultCode::ResourceUnreachable,
            format!("external GAL sync: {url} unreachable ({step}): {other}"),
        ),
    }
}

/// Every entry of the external directory that matches `cfg.filter` under
/// `cfg.search_base`, read page by page (RFC 2696). The servers are tried in turn while
/// they cannot be reached; a server that answers gives the answer.
///
/// # Errors
/// `service.RESOURCE_UNREACHABLE` when no server could be reached (the last server's
/// reason); `service.FAILURE` for a refused bind (invalid credentials) or a failed
/// search (a missing search base, a size limit); `service.INVALID_REQUEST` for a filter
/// that does not parse.
pub async fn list_entries(cfg: &ExternalGalConfig) -> ServiceResult<Vec<SearchEntry>> {
    list_matching(cfg, &cfg.filter).await
}

/// The entries matching `cfg.filter` created or modified at or after `token` (a
/// generalized time, as [`highest_stamp`] gives), read as [`list_entries`] reads.
///
/// # Errors
/// As [`list_entries`]; `service.INVALID_REQUEST` for a token that is not a generalized
/// time.
pub async fn list_changed_since(
    cfg: &ExternalGalConfig,
    token: &str,
) -> ServiceResult<Vec<SearchEntry>> {
    if !is_stamp(token) {
        return Err(ServiceError::invalid_request(format!(
            "external GAL sync: bad sync token {token:?}"
        )));
    }
    list_matching(cfg, &trickle_filter(&cfg.filter, token)).await
}

/// The attributes that stamp an entry's creation or last change: the operational ones of
/// RFC 4512 §3.4 and Active Directory's.
pub const STAMP_ATTRS: &[&str] = &[
    "modifyTimeStamp",
    "createTimeStamp",
    "whenChanged",
    "whenCreated",
];

/// The trickle filter: `filter` and created or modified at or after `token`.
pub fn trickle_filter(filter: &str, token: &str) -> String {
    let t = ldap_escape(token);
    let terms: String = STAMP_ATTRS.iter().map(|a| format!("({a}>={t})")).collect();
    format!("(&{filter}(|{terms}))")
}

/// Whether `s` looks like an LDAP generalized time (RFC 4517 §3.3.13) as servers write
/// stamps: 14 digits (`YYYYMMDDHHMMSS`), an optional fraction, then `Z`.
pub fn is_stamp(s: &str) -> bool {
    let Some(body) = s.strip_suffix('Z') else {
        return false;
    };
    let (whole, frac) = body.split_once(['.', ',']).unwrap_or((body, "0"));
    whole.len() == 14
        && whole.bytes().all(|b| b.is_ascii_digit())
        && !frac.is_empty()
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// The highest stamp ([`STAMP_ATTRS`]) among `entries` (the next sync token), or `None`
/// when no entry has one. Stamps compare by their 14 digits, then by their fraction.
pub fn highest_stamp(entries: &[SearchEntry]) -> Option<String> {
    let key = |s: &str| {
        let body = s.trim_end_matches('Z');
        let (whole, frac) = body.split_once(['.', ',']).unwrap_or((body, ""));
        (whole.to_string(), frac.trim_end_matches('0').to_string())
    };
    entries
        .iter()
        .flat_map(|e| e.attrs.iter())
        .filter(|(k, _)| STAMP_ATTRS.iter().any(|a| k.eq_ignore_ascii_case(a)))
        .flat_map(|(_, v)| v.iter())
        .filter(|v| is_stamp(v))
        .max_by_key(|v| key(v))
        .cloned()
}

/// [`list_entries`] with `filter` in place of `cfg.filter`.
async fn list_matching(cfg: &ExternalGalConfig, filter: &str) -> ServiceResult<Vec<SearchEntry>> {
    let mut last = None;
    for url in &cfg.urls {
        match list_from(url, cfg, filter).await {
            Ok(found) => {
                tracing::debug!(url = %url, entries = found.len(), "external GAL listed");
                return Ok(found);
            }
            Err(e) if e.code == FaultCode::ResourceUnreachable => {
                tracing::warn!(url = %url, error = %e, "external GAL server unreachable");
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| ServiceError::invalid_request("no external GAL server")))
}

/// [`list_matching`] against one server.
async fn list_from(
    url: &str,
    cfg: &ExternalGalConfig,
    filter: &str,
) -> ServiceResult<Vec<SearchEntry>> {
    let dn = cfg.bind_dn.as_deref();
    let mut ldap = ldap_client::connect(url, cfg.start_tls, SYNC_TIMEOUT)
        .await
        .map_err(|e| {
            let step = if e.is_tls() { "TLS" } else { "connect" };
            ServiceError::new(
                FaultCode::ResourceUnreachable,
                format!("external GAL sync: {step}: {e}"),
            )
        })?;
    if let Some(dn) = dn {
        ldap.with_timeout(SYNC_TIMEOUT);
        ldap.simple_bind(dn, &cfg.bind_password)
            .await
            .and_then(|r| r.success())
            .map_err(|e| fault(url, "bind", Some(dn), e))?;
    }
    let attrs = cfg.requested_attrs();
    let search = |e| fault(url, "search", dn, e);
    let mut out = Vec::new();
    if cfg.page_size == 0 {
        ldap.with_timeout(SYNC_TIMEOUT);
        let (entries, _) = ldap
            .search(&cfg.search_base, Scope::Subtree, filter, attrs)
            .await
            .and_then(|r| r.success())
            .map_err(search)?;
        out.extend(entries.into_iter().map(SearchEntry::construct));
    } else {
        // RFC 2696 §3: the same search is sent again with the server's cookie until the
        // cookie comes back empty; the adapter does that, and drops referrals.
        let page = i32::try_from(cfg.page_size).unwrap_or(i32::MAX);
        let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedResults::new(page)),
        ];
        ldap.with_timeout(SYNC_TIMEOUT);
        let mut stream = ldap
            .streaming_search_with(adapters, &cfg.search_base, Scope::Subtree, filter, attrs)
            .await
            .map_err(search)?;
        while let Some(entry) = stream.next().await.map_err(search)? {
            out.push(SearchEntry::construct(entry));
        }
        stream.finish().await.success().map_err(search)?;
    }
    if cfg.group_members {
        resolve_members(&mut ldap, &mut out, SYNC_TIMEOUT).await;
    }
    let _ = ldap.unbind().await;
    Ok(out)
}

/// The GAL contact fields of an external entry under `attr_map` (see `gal::contact_attrs`),
/// plus `type: group` for a group, and `member` (its members' addresses, several values)
/// when a group handler resolved them ([`super::gal_groups`]). Only attributes the entry
/// really has are used: an external entry has no `zimbraId` unless its directory stores
/// one.
pub fn external_contact(entry: &SearchEntry, attr_map: &[String]) -> Attrs {
    external_contact_with(entry, attr_map, &[])
}

/// [`external_contact`] with `value_maps` rewriting the fields' values
/// (`zimbraGalLdapValueMap`, [`ExternalGalConfig::value_maps`]).
pub fn external_contact_with(
    entry: &SearchEntry,
    attr_map: &[String],
    value_maps: &[ValueMap],
) -> Attrs {
    let values = |name: &str| -> Vec<String> {
        entry
            .attrs
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.iter().cloned())
            .collect()
    };
    let mut out = map_contact_fields(attr_map, value_maps, values);
    if is_group(entry) {
        out.set_one("type", "group");
        let members = values(MEMBER_MAILS);
        if !members.is_empty() {
            out.set("member", members);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use zcs_core::{EntryKind, ZimbraId};

    fn attrs(pairs: &[(&str, &str)]) -> Attrs {
        let mut a = Attrs::new();
        for (n, v) in pairs {
            a.add(n, *v);
        }
        a
    }

    fn domain(pairs: &[(&str, &str)]) -> Entry {
        Entry {
            kind: EntryKind::Domain,
            id: ZimbraId::new(),
            name: "ext.test".into(),
            attrs: attrs(pairs),
        }
    }

    fn defs(name: &str) -> Option<String> {
        (name == "externalLdapAutoComplete").then(|| "(|(cn=%s*)(mail=%s*))".to_string())
    }

    #[test]
    fn settings_come_from_the_source_then_the_domain() {
        let d = domain(&[
            ("zimbraGalLdapURL", "ldap://search.test"),
            ("zimbraGalLdapSearchBase", "dc=search"),
            ("zimbraGalLdapBindDn", "cn=search"),
            ("zimbraGalLdapBindPassword", "pw-search"),
            ("zimbraGalLdapFilter", "(cn=*%s*)"),
        ]);
        let none = Attrs::new();
        let c = ExternalGalConfig::resolve(&none, &d, &none, vec![], defs).unwrap();
        assert_eq!(c.urls, ["ldap://search.test"]);
        assert_eq!(c.search_base, "dc=search");
        assert_eq!(c.bind_dn.as_deref(), Some("cn=search"));
        assert_eq!(c.bind_password, "pw-search");
        assert_eq!(c.filter, "(cn=*)", "** collapses to a presence test");
        assert_eq!(c.page_size, DEFAULT_PAGE_SIZE);
        assert!(
            !format!("{c:?}").contains("pw-search"),
            "no password in Debug"
        );

        let mut d2 = d.clone();
        d2.attrs.add("zimbraGalSyncLdapURL", "ldap://sync1.test");
        d2.attrs.add("zimbraGalSyncLdapURL", "ldap://sync2.test");
        d2.attrs
            .add("zimbraGalSyncLdapFilter", "(objectClass=person)");
        let c = ExternalGalConfig::resolve(&none, &d2, &none, vec![], defs).unwrap();
        assert_eq!(c.urls, ["ldap://sync1.test", "ldap://sync2.test"]);
        assert_eq!(c.filter, "(objectClass=person)");
        assert_eq!(c.search_base, "dc=search", "per setting fallback");

        let ds = attrs(&[
            ("zimbraGalSyncLdapURL", "ldap://ds.test"),
            ("zimbraGalSyncLdapBindDn", "cn=ds"),
            ("zimbraGalSyncLdapPageSize", "100"),
            ("zimbraGalSyncLdapFilter", "externalLdapAutoComplete"),
            ("zimbraGalSyncLdapStartTlsEnabled", "TRUE"),
        ]);
        let c = ExternalGalConfig::resolve(&ds, &d2, &none, vec![], defs).unwrap();
        assert_eq!(c.urls, ["ldap://ds.test"]);
        assert_eq!(c.bind_dn.as_deref(), Some("cn=ds"));
        assert_eq!(c.bind_password, "", "never another layer's password");
        assert_eq!(c.page_size, 100);
        assert_eq!(c.filter, "(|(cn=*)(mail=*))");
        assert!(c.start_tls);
    }

    #[test]
    fn trickle_tokens() {
        assert!(is_stamp("20261206061530Z"));
        assert!(is_stamp("20261206061530.0Z"));
        assert!(!is_stamp("2026120606153Z"));
        assert!(!is_stamp("20261206061530"));
        assert!(!is_stamp("2026120606153xZ"));
        assert!(!is_stamp("20261206061530.Z"));
        assert_eq!(
            trickle_filter("(cn=*)", "20261206061530Z"),
            "(&(cn=*)(|(modifyTimeStamp>=20261206061530Z)(createTimeStamp>=20261206061530Z)\
             (whenChanged>=20261206061530Z)(whenCreated>=20261206061530Z)))"
        );
        let entry = |pairs: &[(&str, &str)]| SearchEntry {
            dn: "cn=x".into(),
            attrs: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
                .collect(),
            bin_attrs: HashMap::new(),
        };
        let entries = [
            entry(&[("modifyTimeStamp", "20261206061530Z")]),
            entry(&[
                ("createTimeStamp", "20261206061531.5Z"),
                ("modifytimestamp", "garbage"),
            ]),
            entry(&[("cn", "no stamps")]),
        ];
        assert_eq!(
            highest_stamp(&entries).as_deref(),
            Some("20261206061531.5Z")
        );
        assert_eq!(highest_stamp(&entries[2..]), None);
    }

    proptest::proptest! {
        #[test]
        fn tokens_never_break_the_filter(token in ".{0,30}") {
            let f = trickle_filter("(cn=*)", &token);
            let opens = f.matches('(').count();
            proptest::prop_assert_eq!(opens, 7, "{}", f);
            proptest::prop_assert_eq!(f.matches(')').count(), 7, "{}", f);
            let _ = is_stamp(&token);
        }
    }

    #[test]
    fn bad_settings_are_refused() {
        let none = Attrs::new();
        let d = domain(&[]);
        assert!(ExternalGalConfig::resolve(&none, &d, &none, vec![], defs).is_err());
        let d = domain(&[("zimbraGalLdapURL", "ldap://x.test")]);
        let ds = attrs(&[("zimbraGalSyncLdapFilter", "nosuchfilter")]);
        assert!(ExternalGalConfig::resolve(&ds, &d, &none, vec![], defs).is_err());
        let ds = attrs(&[("zimbraGalSyncLdapAuthMech", "kerberos5")]);
        assert!(ExternalGalConfig::resolve(&ds, &d, &none, vec![], defs).is_err());
        let ds = attrs(&[
            ("zimbraGalSyncLdapAuthMech", "none"),
            ("zimbraGalSyncLdapBindDn", "cn=x"),
        ]);
        let c = ExternalGalConfig::resolve(&ds, &d, &none, vec![], defs).unwrap();
        assert_eq!(c.bind_dn, None, "auth mech none binds anonymously");
    }

    #[test]
    fn external_entries_map_to_contacts() {
        let mut a: HashMap<String, Vec<String>> = HashMap::new();
        a.insert("cn".into(), vec!["Ann Lee".into()]);
        a.insert("givenName".into(), vec!["Ann".into()]);
        a.insert(
            "MAIL".into(),
            vec!["ann@corp.test".into(), "al@corp.test".into()],
        );
        a.insert("objectClass".into(), vec!["inetOrgPerson".into()]);
        let e = SearchEntry {
            dn: "uid=ann,ou=people,dc=corp".into(),
            attrs: a,
            bin_attrs: HashMap::new(),
        };
        let map = super::super::gal::attr_map(&Attrs::new());
        let c = external_contact(&e, &map);
        assert_eq!(c.get("fullName"), Some("Ann Lee"));
        assert_eq!(c.get("firstName"), Some("Ann"));
        assert_eq!(c.get("email"), Some("ann@corp.test"));
        assert_eq!(c.get("email2"), Some("al@corp.test"));
        assert_eq!(c.get("zimbraId"), None, "no invented id");
        assert_eq!(c.get("type"), None);
        let mut g = e.clone();
        g.attrs
            .insert("objectClass".into(), vec!["groupOfNames".into()]);
        assert_eq!(external_contact(&g, &map).get("type"), Some("group"));
        let cfg = ExternalGalConfig::resolve(
            &Attrs::new(),
            &domain(&[("zimbraGalLdapURL", "ldap://x.test")]),
            &Attrs::new(),
            map,
            defs,
        )
        .unwrap();
        let wanted = cfg.requested_attrs();
        assert!(wanted.iter().any(|a| a == "givenName"));
        assert!(!wanted.iter().any(|a| a.contains("thumbnailPhoto")));
    }
}
