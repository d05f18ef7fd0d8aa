//! The customer's directory as auto-provisioning reads it: the domain's
//! `zimbraAutoProvLdap*` settings, connecting (with StartTLS when asked, RFC 4511 §4.14),
//! binding as the search administrator or as a user, searching, and reading one entry.
//! Every value substituted into a filter or DN is escaped (RFC 4515 §3, RFC 4514 §2.4).

use std::collections::BTreeMap;
use std::time::Duration;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{
    Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry, SearchOptions, dn_escape,
    ldap_escape,
};
use zcs_core::{Entry, FaultCode, ServiceError, ServiceResult};

/// How long connecting to, and each operation against, the external directory may take.
const LDAP_TIMEOUT: Duration = Duration::from_secs(10);

/// LDAP result codes used here (RFC 4511 §4.1.9).
const RC_SUCCESS: u32 = 0;
const RC_SIZE_LIMIT: u32 = 4;
const RC_NO_SUCH_OBJECT: u32 = 32;
const RC_INVALID_CREDENTIALS: u32 = 49;

/// One entry of the customer's directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalEntry {
    /// The entry's DN as the external server spells it.
    pub dn: String,
    /// Its attributes (names as the server returned them, values as text).
    pub attrs: BTreeMap<String, Vec<String>>,
}

impl ExternalEntry {
    /// The values of `name`, compared case-insensitively; empty when absent.
    pub fn get_all(&self, name: &str) -> &[String] {
        self.attrs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
            .unwrap_or(&[])
    }

    /// The value of the DN's first RDN (`jdoe` for `uid=jdoe,ou=people,...`).
    pub fn rdn_value(&self) -> Option<&str> {
        let first = self.dn.split(',').next()?;
        let (_, v) = first.split_once('=')?;
        let v = v.trim();
        (!v.is_empty() && !v.contains('\\')).then_some(v)
    }
}

/// The domain's auto-provisioning connection settings.
#[derive(Clone, Debug)]
pub(crate) struct ExtConfig {
    /// `zimbraAutoProvLdapURL`, split on white space, tried in order.
    pub urls: Vec<String>,
    /// `zimbraAutoProvLdapStartTlsEnabled`.
    pub start_tls: bool,
    /// `zimbraAutoProvLdapAdminBindDn` / `...Password`; anonymous when unset.
    pub admin: Option<(String, String)>,
    /// `zimbraAutoProvLdapSearchBase`; the root DSE when unset.
    pub search_base: String,
    /// `zimbraAutoProvLdapSearchFilter`, with placeholders.
    pub search_filter: Option<String>,
    /// `zimbraAutoProvLdapBindDn`, with placeholders.
    pub bind_dn: Option<String>,
}

impl ExtConfig {
    /// Reads the settings from `domain`.
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` when `zimbraAutoProvLdapURL` is unset.
    pub fn from_domain(domain: &Entry) -> ServiceResult<ExtConfig> {
        let attr = |n: &str| {
            domain
                .attrs
                .get(n)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let urls: Vec<String> = domain
            .attrs
            .get_all("zimbraAutoProvLdapURL")
            .iter()
            .flat_map(|v| v.split_whitespace())
            .map(str::to_string)
            .collect();
        if urls.is_empty() {
            return Err(ServiceError::invalid_request(format!(
                "domain {} has no zimbraAutoProvLdapURL",
                domain.name
            )));
        }
        let admin = attr("zimbraAutoProvLdapAdminBindDn").map(|dn| {
            let pw = domain
                .attrs
                .get("zimbraAutoProvLdapAdminBindPassword")
                .unwrap_or("")
                .to_string();
            (dn, pw)
        });
        Ok(ExtConfig {
            urls,
            start_tls: attr("zimbraAutoProvLdapStartTlsEnabled")
                .is_some_and(|v| v.eq_ignore_ascii_case("TRUE")),
            admin,
            search_base: attr("zimbraAutoProvLdapSearchBase").unwrap_or_default(),
            search_filter: attr("zimbraAutoProvLdapSearchFilter"),
            bind_dn: attr("zimbraAutoProvLdapBindDn"),
        })
    }
}

/// Where an expanded value lands, which decides its escaping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// A filter assertion value (RFC 4515 §3).
    Filter,
    /// A DN attribute value (RFC 4514 §2.4).
    Dn,
    /// Every `%n`/`%u` becomes the unescaped `*` of a presence or substring match, for
    /// listing the whole directory (EAGER polls, searches without a name).
    Wildcard,
}

/// Expands `%n` (the name as typed), `%u` (the part before `@`), `%d` (the domain) and
/// `%D` (the domain as `dc=` components) in `template`; `%%` is `%`, other `%x` stay.
/// `domain` is used for `%d`/`%D` (a name typed without `@` has none of its own).
pub(crate) fn expand(template: &str, typed: &str, domain: &str, slot: Slot) -> String {
    let local = typed.rsplit_once('@').map(|(l, _)| l).unwrap_or(typed);
    let esc = |v: &str| -> String {
        match slot {
            Slot::Filter => ldap_escape(v).into_owned(),
            Slot::Dn => dn_escape(v).into_owned(),
            Slot::Wildcard => "*".to_string(),
        }
    };
    let esc_domain = |v: &str| -> String {
        match slot {
            Slot::Dn => dn_escape(v).into_owned(),
            _ => ldap_escape(v).into_owned(),
        }
    };
    let dc = domain
        .split('.')
        .filter(|l| !l.is_empty())
        .map(|l| format!("dc={}", dn_escape(l)))
        .collect::<Vec<_>>()
        .join(",");
    let mut out = String::with_capacity(template.len() + typed.len());
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push_str(&esc(typed)),
            Some('u') => out.push_str(&esc(local)),
            Some('d') => out.push_str(&esc_domain(domain)),
            Some('D') => out.push_str(&dc),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

/// The fault for a directory that cannot be reached or misbehaves.
fn unavailable(step: &str, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::new(
        FaultCode::Temporarily,
        format!("auto-provisioning LDAP {step}: {e}"),
    )
}

/// A connection to the first URL that answers.
async fn connect(cfg: &ExtConfig) -> ServiceResult<Ldap> {
    let mut last = unavailable("connect", "no URL configured");
    for url in &cfg.urls {
        let settings = LdapConnSettings::new()
            .set_conn_timeout(LDAP_TIMEOUT)
            .set_starttls(cfg.start_tls);
        match LdapConnAsync::with_settings(settings, url).await {
            Ok((conn, mut ldap)) => {
                ldap3::drive!(conn);
                ldap.with_timeout(LDAP_TIMEOUT);
                return Ok(ldap);
            }
            Err(e) => {
                tracing::warn!(url = %url, error = %e, "auto-provisioning LDAP unreachable");
                last = unavailable("connect", e);
            }
        }
    }
    Err(last)
}

/// A connection bound as the search administrator (anonymous when none is set).
pub(crate) async fn admin_conn(cfg: &ExtConfig) -> ServiceResult<Ldap> {
    let mut ldap = connect(cfg).await?;
    if let Some((dn, pw)) = &cfg.admin {
        let r = ldap
            .simple_bind(dn, pw)
            .await
            .map_err(|e| unavailable("admin bind", e))?;
        if r.rc != RC_SUCCESS {
            let _ = ldap.unbind().await;
            return Err(unavailable("admin bind", format!("result code {}", r.rc)));
        }
    }
    Ok(ldap)
}

/// Binds as `dn` with `password` on a fresh connection; on success the connection is
/// returned still bound. `None` for wrong credentials (RFC 4511 §4.2.2, code 49) or an
/// empty password, which would be an unauthenticated bind (RFC 4513 §5.1.2).
pub(crate) async fn user_bind(
    cfg: &ExtConfig,
    dn: &str,
    password: &str,
) -> ServiceResult<Option<Ldap>> {
    if password.is_empty() || dn.trim().is_empty() {
        return Ok(None);
    }
    let mut ldap = connect(cfg).await?;
    let r = ldap
        .simple_bind(dn, password)
        .await
        .map_err(|e| unavailable("user bind", e))?;
    match r.rc {
        RC_SUCCESS => Ok(Some(ldap)),
        RC_INVALID_CREDENTIALS | RC_NO_SUCH_OBJECT => {
            let _ = ldap.unbind().await;
            Ok(None)
        }
        rc => {
            let _ = ldap.unbind().await;
            Err(unavailable("user bind", format!("result code {rc}")))
        }
    }
}

fn to_entry(e: ldap3::ResultEntry) -> ExternalEntry {
    let se = SearchEntry::construct(e);
    ExternalEntry {
        dn: se.dn,
        attrs: se.attrs.into_iter().collect(),
    }
}

/// Entries under `base` matching `filter`, at most `limit` (0 = the server's limit). A
/// size-limit-exceeded result still returns what came back.
pub(crate) async fn search(
    ldap: &mut Ldap,
    base: &str,
    filter: &str,
    limit: usize,
) -> ServiceResult<Vec<ExternalEntry>> {
    let opts = SearchOptions::new().sizelimit(i32::try_from(limit).unwrap_or(i32::MAX));
    let r = ldap
        .with_search_options(opts)
        .search(base, Scope::Subtree, filter, vec!["*"])
        .await
        .map_err(|e| unavailable("search", e))?;
    let (entries, res) = (r.0, r.1);
    match res.rc {
        RC_SUCCESS | RC_SIZE_LIMIT => Ok(entries.into_iter().map(to_entry).collect()),
        RC_NO_SUCH_OBJECT => Ok(Vec::new()),
        rc => Err(unavailable(
            "search",
            format!("result code {rc}: {}", res.text),
        )),
    }
}

/// Entries asked for per page by [`search_paged`]: below the usual per-search limits
/// (OpenLDAP's default `sizelimit 500`, Active Directory's `MaxPageSize 1000`).
pub(crate) const PAGE_SIZE: i32 = 200;

/// Every entry under `base` matching `filter` (at most `limit`, 0 = all), asked for in
/// pages of [`PAGE_SIZE`] with the simple paged results control (RFC 2696), so a
/// directory holding more entries than its per-search size limit is read whole. A
/// server that ignores the control answers in one go, as an unpaged search. ldap3's
/// paged-results adapter resends the search with the server's cookie until it comes
/// back empty (RFC 2696 §3), as the external GAL sync (`gal_external`) does.
///
/// Stopping at `limit` leaves the search unfinished on the server: callers unbind the
/// connection afterwards, which ends it.
pub(crate) async fn search_paged(
    ldap: &mut Ldap,
    base: &str,
    filter: &str,
    limit: usize,
) -> ServiceResult<Vec<ExternalEntry>> {
    let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
        Box::new(EntriesOnly::new()),
        Box::new(PagedResults::new(PAGE_SIZE)),
    ];
    let mut stream = ldap
        .streaming_search_with(adapters, base, Scope::Subtree, filter, vec!["*"])
        .await
        .map_err(|e| unavailable("search", e))?;
    let mut out = Vec::new();
    while let Some(e) = stream.next().await.map_err(|e| unavailable("search", e))? {
        out.push(to_entry(e));
        if limit > 0 && out.len() >= limit {
            return Ok(out);
        }
    }
    let res = stream.finish().await;
    match res.rc {
        // A server may still cap a paged search (OpenLDAP's size.prtotal for binds
        // that are not its root DN): what came back is kept, as for `search`.
        RC_SUCCESS | RC_SIZE_LIMIT => Ok(out),
        RC_NO_SUCH_OBJECT => Ok(Vec::new()),
        rc => Err(unavailable(
            "search",
            format!("result code {rc}: {}", res.text),
        )),
    }
}

/// The entry at `dn`, or `None` when it does not exist.
pub(crate) async fn read(ldap: &mut Ldap, dn: &str) -> ServiceResult<Option<ExternalEntry>> {
    let r = ldap
        .search(dn, Scope::Base, "(objectClass=*)", vec!["*"])
        .await
        .map_err(|e| unavailable("read", e))?;
    let (mut entries, res) = (r.0, r.1);
    match res.rc {
        RC_SUCCESS => Ok(entries.pop().map(to_entry)),
        RC_NO_SUCH_OBJECT => Ok(None),
        rc => Err(unavailable(
            "read",
            format!("result code {rc}: {}", res.text),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        let t = "%n|%u|%d|%D|%%|%x";
        assert_eq!(
            expand(t, "user1@domain.com", "domain.com", Slot::Filter),
            "user1@domain.com|user1|domain.com|dc=domain,dc=com|%|%x"
        );
        assert_eq!(
            expand("(uid=%n)", "user1", "domain.com", Slot::Filter),
            "(uid=user1)"
        );
        assert_eq!(
            expand("(uid=%u)", "x*)(uid=*", "d.test", Slot::Filter),
            "(uid=x\\2a\\29\\28uid=\\2a)"
        );
        assert_eq!(
            expand("uid=%u,ou=p", "a,b=c", "d.test", Slot::Dn),
            "uid=a\\2cb\\3dc,ou=p"
        );
        assert_eq!(
            expand("(&(uid=%u)(mail=*@%d))", "x", "d.test", Slot::Wildcard),
            "(&(uid=*)(mail=*@d.test))"
        );
    }

    #[test]
    fn rdn_and_case_insensitive_get() {
        let mut attrs = BTreeMap::new();
        attrs.insert("mailNickname".to_string(), vec!["jd".to_string()]);
        let e = ExternalEntry {
            dn: "uid=jdoe,ou=people,dc=x".into(),
            attrs,
        };
        assert_eq!(e.rdn_value(), Some("jdoe"));
        assert_eq!(e.get_all("MAILNICKNAME"), ["jd".to_string()]);
        assert!(e.get_all("sn").is_empty());
    }

    proptest::proptest! {
        #[test]
        fn filter_expansion_never_adds_parentheses(s in ".{0,40}") {
            let out = expand("(uid=%u)", &s, "d.test", Slot::Filter);
            proptest::prop_assert_eq!(out.matches('(').count(), 1);
            proptest::prop_assert_eq!(out.matches(')').count(), 1);
        }
    }
}
