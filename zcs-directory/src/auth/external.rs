//! External LDAP and Active Directory authentication (`zimbraAuthMech ldap` / `ad`):
//! the password is checked by binding to the customer's directory named in the domain's
//! `zimbraAuthLdapURL`, either directly with a DN built from `zimbraAuthLdapBindDn`, or
//! after finding the user's DN with `zimbraAuthLdapSearchFilter`.
//!
//! Templates take Zimbra's placeholders: `%n` the full address (`user@domain`), `%u` the
//! local part, `%d` the domain, `%D` the domain as `dc=` components. Substituted values
//! are escaped for where they land (RFC 4514 §2.4 in a DN, RFC 4515 §3 in a filter), so
//! a name cannot change the DN or the filter's structure.
//!
//! Transport security: an `ldaps://` URL is TLS from the first byte; with the domain's
//! `zimbraAuthLdapStartTlsEnabled` `TRUE` an `ldap://` URL is upgraded with StartTLS
//! before the first bind (RFC 4513 §3). Certificates are verified against the CAs of
//! [`crate::ldap_client::tls`]. A refused StartTLS or a failed handshake is
//! `service.TEMPORARILY_UNAVAILABLE` like an unreachable server (the next URL is tried,
//! and `zimbraAuthFallbackToLocal` applies), and never continues in plain text.

use std::time::Duration;

use async_trait::async_trait;
use ldap3::{Scope, SearchEntry, dn_escape, ldap_escape};
use zcs_core::{Entry, FaultCode, ServiceError, ServiceResult};

use super::{AuthContext, AuthMechanism};
use crate::ldap_client;

/// How long connecting to, and each operation against, the external directory may take.
const LDAP_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a template value lands, which decides its escaping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escape {
    /// A DN attribute value (RFC 4514 §2.4).
    Dn,
    /// A filter assertion value (RFC 4515 §3).
    Filter,
    /// No escaping (for display and tests only).
    None,
}

/// Expands `%n`, `%u`, `%d` and `%D` in `template` for `address`, escaping each value as
/// `escape` says; `%%` is a literal `%`, and any other `%x` is kept as it is. `%D` is
/// `dc=a,dc=b` for domain `a.b` (its labels escaped for a DN).
///
/// An address without `@` gives itself as `%n` and `%u` and an empty `%d`.
pub fn expand_template(template: &str, address: &str, escape: Escape) -> String {
    let (local, domain) = address.rsplit_once('@').unwrap_or((address, ""));
    let esc = |v: &str| -> String {
        match escape {
            Escape::Dn => dn_escape(v).into_owned(),
            Escape::Filter => ldap_escape(v).into_owned(),
            Escape::None => v.to_string(),
        }
    };
    let dc = || -> String {
        domain
            .split('.')
            .filter(|l| !l.is_empty())
            .map(|l| format!("dc={}", dn_escape(l)))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut out = String::with_capacity(template.len() + address.len());
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push_str(&esc(address)),
            Some('u') => out.push_str(&esc(local)),
            Some('d') => out.push_str(&esc(domain)),
            Some('D') => out.push_str(&dc()),
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

/// The `ldap` and `ad` mechanisms. Configuration is read from the account's domain on
/// every call, so edits take effect at once.
///
/// Domain attributes:
/// - `zimbraAuthLdapURL`: one or more space-separated `ldap://` / `ldaps://` URLs, tried in
///   order until one answers.
/// - `zimbraAuthLdapSearchFilter` (with `zimbraAuthLdapSearchBase`,
///   `zimbraAuthLdapSearchBindDn`, `zimbraAuthLdapSearchBindPassword`): when set, bind
///   with the search credentials (anonymous when unset), find exactly one entry, then
///   bind as it with the user's password.
/// - `zimbraAuthLdapBindDn`: otherwise, the DN template to bind as. For `ad` it defaults
///   to `%n` (Active Directory accepts `user@domain` as a bind name; Zimbra's own
///   template expansion gives the bare name for an empty template, and its admin
///   console writes `%u@<AD domain>`).
///
/// As in Zimbra, `ad` ignores `zimbraAuthLdapSearchFilter`: it always binds with the
/// template (Active Directory takes the user's principal name directly).
/// - `zimbraAuthLdapStartTlsEnabled`: `TRUE` upgrades `ldap://` connections with
///   StartTLS before anything is sent (module doc).
///
/// The account's `zimbraAuthLdapExternalDn`, when set, is the DN to bind as and beats
/// both. An empty password is refused before any network traffic: an LDAP bind with an
/// empty password is an unauthenticated bind that succeeds (RFC 4513 §5.1.2).
#[derive(Clone, Copy, Debug)]
pub struct ExternalLdapAuth {
    active_directory: bool,
}

impl ExternalLdapAuth {
    /// The `ldap` mechanism.
    pub fn ldap() -> Self {
        ExternalLdapAuth {
            active_directory: false,
        }
    }

    /// The `ad` mechanism.
    pub fn active_directory() -> Self {
        ExternalLdapAuth {
            active_directory: true,
        }
    }
}

/// The fault for a directory that cannot be reached or misbehaves.
fn unavailable(step: &str, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::new(FaultCode::Temporarily, format!("external LDAP {step}: {e}"))
}

#[async_trait]
impl AuthMechanism for ExternalLdapAuth {
    fn name(&self) -> &str {
        if self.active_directory { "ad" } else { "ldap" }
    }

    /// Without a domain there is no configuration: always `account.AUTH_FAILED`.
    async fn authenticate(
        &self,
        _account: &Entry,
        _password: &str,
        _ctx: &AuthContext,
    ) -> ServiceResult<()> {
        Err(ServiceError::auth_failed())
    }

    async fn authenticate_in_domain(
        &self,
        account: &Entry,
        domain: Option<&Entry>,
        password: &str,
        _ctx: &AuthContext,
    ) -> ServiceResult<()> {
        if password.is_empty() {
            return Err(ServiceError::auth_failed());
        }
        let Some(domain) = domain else {
            return Err(ServiceError::auth_failed());
        };
        let urls: Vec<&str> = domain
            .attrs
            .get_all("zimbraAuthLdapURL")
            .iter()
            .flat_map(|v| v.split_whitespace())
            .collect();
        if urls.is_empty() {
            tracing::warn!(domain = %domain.name, "zimbraAuthMech {} without zimbraAuthLdapURL",
                self.name());
            return Err(ServiceError::auth_failed());
        }
        let mut last = unavailable("connect", "no URL answered");
        for url in urls {
            match self.try_url(url, account, domain, password).await {
                Err(e) if e.code == FaultCode::Temporarily => {
                    tracing::warn!(url = %url, error = %e.message, "external LDAP unreachable");
                    last = e;
                }
                other => return other,
            }
        }
        Err(last)
    }
}

impl ExternalLdapAuth {
    /// One attempt against one server.
    async fn try_url(
        &self,
        url: &str,
        account: &Entry,
        domain: &Entry,
        password: &str,
    ) -> ServiceResult<()> {
        let start_tls = domain
            .attrs
            .get("zimbraAuthLdapStartTlsEnabled")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("TRUE"));
        let mut ldap = ldap_client::connect(url, start_tls, LDAP_TIMEOUT)
            .await
            .map_err(|e| {
                if e.is_tls() {
                    tracing::warn!(url = %url, error = %e, "external LDAP TLS failed");
                }
                unavailable(if e.is_tls() { "TLS" } else { "connect" }, e)
            })?;

        let attr = |n: &str| domain.attrs.get(n).filter(|v| !v.trim().is_empty());
        let dn = if let Some(dn) = account
            .attrs
            .get("zimbraAuthLdapExternalDn")
            .filter(|v| !v.is_empty())
        {
            dn.to_string()
        } else if let Some(filter) =
            attr("zimbraAuthLdapSearchFilter").filter(|_| !self.active_directory)
        {
            let filter = expand_template(filter, &account.name, Escape::Filter);
            let base = attr("zimbraAuthLdapSearchBase").unwrap_or("");
            let (bind_dn, bind_pw) = (
                attr("zimbraAuthLdapSearchBindDn").unwrap_or(""),
                domain
                    .attrs
                    .get("zimbraAuthLdapSearchBindPassword")
                    .unwrap_or(""),
            );
            if !bind_dn.is_empty() {
                ldap.simple_bind(bind_dn, bind_pw)
                    .await
                    .and_then(|r| r.success())
                    .map_err(|e| unavailable("search bind", e))?;
            }
            ldap.with_timeout(LDAP_TIMEOUT);
            let (entries, _) = ldap
                .search(base, Scope::Subtree, &filter, vec!["1.1"])
                .await
                .and_then(|r| r.success())
                .map_err(|e| unavailable("search", e))?;
            if entries.len() != 1 {
                tracing::info!(account = %account.name, found = entries.len(),
                    "external LDAP search did not find exactly one entry");
                let _ = ldap.unbind().await;
                return Err(ServiceError::auth_failed());
            }
            let entry = entries.into_iter().next().expect("exactly one entry");
            SearchEntry::construct(entry).dn
        } else {
            let template = attr("zimbraAuthLdapBindDn").unwrap_or(if self.active_directory {
                "%n"
            } else {
                ""
            });
            if template.is_empty() {
                tracing::warn!(domain = %domain.name,
                    "external LDAP needs zimbraAuthLdapBindDn or zimbraAuthLdapSearchFilter");
                return Err(ServiceError::auth_failed());
            }
            // A bind name like user@domain (AD) is not a DN: escape for a DN only when
            // the template looks like one.
            let escape = if template.contains('=') {
                Escape::Dn
            } else {
                Escape::None
            };
            expand_template(template, &account.name, escape)
        };

        ldap.with_timeout(LDAP_TIMEOUT);
        let result = ldap.simple_bind(&dn, password).await;
        let _ = ldap.unbind().await;
        match result {
            Ok(r) if r.rc == 0 => Ok(()),
            // RFC 4511 §4.1.9: 49 invalidCredentials, 32 noSuchObject, 53 unwillingToPerform.
            Ok(r) => {
                tracing::debug!(account = %account.name, rc = r.rc, "external LDAP bind refused");
                Err(ServiceError::auth_failed())
            }
            Err(e) => Err(unavailable("bind", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ad_bind_names() {
        // The `ad` default (`%n`) and the admin console's `%u@<AD domain>` template.
        assert_eq!(
            expand_template("%n", "joe@corp.test", Escape::None),
            "joe@corp.test"
        );
        assert_eq!(
            expand_template("%u@ad.corp.test", "joe@corp.test", Escape::None),
            "joe@ad.corp.test"
        );
        assert_eq!(ExternalLdapAuth::active_directory().name(), "ad");
        assert_eq!(ExternalLdapAuth::ldap().name(), "ldap");
    }

    #[test]
    fn placeholders() {
        let a = "joe@ex.test";
        assert_eq!(
            expand_template("uid=%u,ou=people,%D", a, Escape::Dn),
            "uid=joe,ou=people,dc=ex,dc=test"
        );
        assert_eq!(expand_template("%n", a, Escape::None), "joe@ex.test");
        assert_eq!(
            expand_template("(&(mail=%n)(o=%d))", a, Escape::Filter),
            "(&(mail=joe@ex.test)(o=ex.test))"
        );
        assert_eq!(expand_template("100%% %x %", a, Escape::None), "100% %x %");
        assert_eq!(expand_template("%u|%d", "bare", Escape::None), "bare|");
    }

    #[test]
    fn injection_is_escaped() {
        let evil = "*)(uid=*))(|(uid=*@ex.test";
        let f = expand_template("(uid=%u)", evil, Escape::Filter);
        assert!(!f[5..f.len() - 1].contains(['(', ')', '*']), "{f}");
        let d = expand_template("uid=%u,dc=ex", "a,cn=admin+x=y@ex.test", Escape::Dn);
        assert_eq!(d.matches(",dc=").count(), 1, "{d}");
        assert_eq!(d, "uid=a\\2ccn\\3dadmin\\2bx\\3dy,dc=ex");
    }

    proptest::proptest! {
        #[test]
        fn filter_values_never_add_parentheses(s in ".{0,40}") {
            let f = expand_template("(uid=%n)", &s, Escape::Filter);
            let inner = &f[5..f.len() - 1];
            proptest::prop_assert!(!inner.contains(['(', ')', '*']));
        }
    }
}
