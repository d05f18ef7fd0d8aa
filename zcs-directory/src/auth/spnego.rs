//! SPNEGO single sign-on (Zimbra's `/service/spnego`, admin guide appendix B): a browser
//! holding a Kerberos ticket for this server's service principal sends it in an HTTP
//! `Authorization: Negotiate` header; the token is checked locally with the keytab's key
//! (the KDC is not contacted), the client principal is mapped to an account, and the
//! account's status is checked as at any login. The HTTP side (the 401 challenge, the
//! cookie, the redirects) is the server's; this module answers "which account, or why
//! not".
//!
//! Settings: `zimbraSpnegoAuthEnabled`, `zimbraSpnegoAuthRealm` and
//! `zimbraSpnegoAuthErrorURL` on the global config; `zimbraSpnegoAuthPrincipal` (else
//! `zimbraSpnegoAuthTargetName@zimbraSpnegoAuthRealm`) on this server's entry; the keytab
//! file is the server's (Zimbra's `/opt/zimbra/data/mailboxd/spnego/jetty.keytab`,
//! [`DEFAULT_KEYTAB`]). The keytab is read at every login, so a new one takes effect at
//! once.
//!
//! Mapping (as Zimbra's `Krb5Principal`): the account whose `zimbraForeignPrincipal` is
//! `kerberos5:<principal>`, else `<name>@<domain>` for the domain whose
//! `zimbraAuthKerberos5Realm` is the principal's realm (single-component principals only).
//!
//! LIMITATION: the foreign-principal lookup scans every account (no attribute index in
//! the `Directory` seam); LAZY auto-provisioning with `zimbraAutoProvAuthMech SPNEGO` does
//! not create a missing account yet.

pub mod accept;
pub mod gss;
pub mod keytab;

use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;
use zcs_core::{Entry, EntryKind, ServiceError};

use super::kerberos::{FOREIGN_PRINCIPAL_PREFIX, Principal};
use super::{account_status, status_fault};
use crate::Provisioning;
use crate::directory::EntryKey;
pub use accept::{AcceptError, Accepted, DEFAULT_SKEW, ReplayCache};
pub use gss::{InitToken, TokenError};
pub use keytab::{Keytab, KeytabEntry, KeytabError};

/// Where Zimbra keeps the SPNEGO keytab of a mailbox server.
pub const DEFAULT_KEYTAB: &str = "/opt/zimbra/data/mailboxd/spnego/jetty.keytab";

/// The SPNEGO settings in force, read from the directory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpnegoSettings {
    /// `zimbraSpnegoAuthEnabled` (global).
    pub enabled: bool,
    /// `zimbraSpnegoAuthRealm` (global).
    pub realm: Option<String>,
    /// This server's service principal: `zimbraSpnegoAuthPrincipal`, else
    /// `zimbraSpnegoAuthTargetName@zimbraSpnegoAuthRealm`; `None` accepts any principal the
    /// keytab holds.
    pub principal: Option<Principal>,
    /// `zimbraSpnegoAuthErrorURL` (global): where a browser goes when SSO fails.
    pub error_url: Option<String>,
}

fn nonempty(e: &Entry, attr: &str) -> Option<String> {
    e.attrs
        .get(attr)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

impl SpnegoSettings {
    /// Reads the settings from the global config and, when `prov` knows its server, that
    /// server's entry.
    ///
    /// # Errors
    /// The directory's.
    pub async fn load(prov: &Provisioning) -> Result<SpnegoSettings, ServiceError> {
        let global = prov.global_config().await?;
        let server = match prov.local_server() {
            Some(name) => prov
                .get_server(&EntryKey::Name(name.to_string()))
                .await
                .ok(),
            None => None,
        };
        Ok(SpnegoSettings::from_entries(&global, server.as_ref()))
    }

    /// The settings of `global` and `server` (pure; see [`SpnegoSettings::load`]).
    pub fn from_entries(global: &Entry, server: Option<&Entry>) -> SpnegoSettings {
        let enabled = global
            .attrs
            .get("zimbraSpnegoAuthEnabled")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("TRUE"));
        let realm = nonempty(global, "zimbraSpnegoAuthRealm");
        let principal = server.and_then(|s| {
            nonempty(s, "zimbraSpnegoAuthPrincipal")
                .and_then(|p| Principal::parse(&p, realm.as_deref()))
                .or_else(|| {
                    let target = nonempty(s, "zimbraSpnegoAuthTargetName")?;
                    Principal::parse(&target, realm.as_deref())
                })
        });
        SpnegoSettings {
            enabled,
            realm,
            principal,
            error_url: nonempty(global, "zimbraSpnegoAuthErrorURL"),
        }
    }
}

/// Why an SPNEGO login failed.
#[derive(Debug, Error)]
pub enum SpnegoError {
    /// `zimbraSpnegoAuthEnabled` is not TRUE.
    #[error("SPNEGO is not enabled (zimbraSpnegoAuthEnabled)")]
    Disabled,
    /// The keytab cannot be read or parsed: a server misconfiguration.
    #[error("SPNEGO keytab {path}: {reason}")]
    Keytab {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The Negotiate token is not a Kerberos token we can read.
    #[error("{0}")]
    Token(#[from] TokenError),
    /// The AP-REQ was refused.
    #[error("{0}")]
    Accept(#[from] AcceptError),
    /// No account maps to the principal.
    #[error("no account for Kerberos principal {0}")]
    NoAccount(String),
    /// The account (or its domain) may not log in; the fault is the one a password
    /// login of that account would get.
    #[error("account {account} may not log in: {fault}")]
    Status {
        /// The account's name.
        account: String,
        /// Its status fault (`account.AUTH_FAILED`, `account.MAINTENANCE_MODE`, ...).
        fault: ServiceError,
    },
    /// The directory failed.
    #[error("directory: {0}")]
    Directory(ServiceError),
}

/// A successful SPNEGO login.
#[derive(Debug)]
pub struct SpnegoLogin {
    /// The account logged in.
    pub account: Entry,
    /// The Kerberos client principal.
    pub principal: Principal,
    /// The token for the answer's `WWW-Authenticate: Negotiate` (mutual authentication),
    /// empty when the client asked none.
    pub response_token: Vec<u8>,
}

/// The SPNEGO acceptor of one server: its keytab location, replay cache and clock skew.
#[derive(Debug)]
pub struct Spnego {
    keytab: PathBuf,
    replay: ReplayCache,
    skew: Duration,
}

impl Spnego {
    /// An acceptor reading `keytab` at every login, with [`DEFAULT_SKEW`].
    pub fn new(keytab: impl Into<PathBuf>) -> Spnego {
        Spnego {
            keytab: keytab.into(),
            replay: ReplayCache::new(),
            skew: DEFAULT_SKEW,
        }
    }

    /// The same acceptor with another clock skew allowance.
    pub fn with_skew(mut self, skew: Duration) -> Spnego {
        self.skew = skew;
        self
    }

    /// The keytab file.
    pub fn keytab_path(&self) -> &Path {
        &self.keytab
    }

    /// Checks the base64 token of an `Authorization: Negotiate` header under `settings`
    /// and returns the account it logs in.
    ///
    /// # Errors
    /// [`SpnegoError`]; [`SpnegoError::Disabled`] before anything is read.
    pub async fn login(
        &self,
        prov: &Provisioning,
        settings: &SpnegoSettings,
        negotiate_b64: &str,
    ) -> Result<SpnegoLogin, SpnegoError> {
        if !settings.enabled {
            return Err(SpnegoError::Disabled);
        }
        let init = gss::parse_negotiate(negotiate_b64)?;
        let keytab = self.read_keytab().await?;
        let accepted = accept::accept(
            &init.ap_req,
            &keytab,
            settings.principal.as_ref(),
            &self.replay,
            chrono::Utc::now(),
            self.skew,
        )?;
        let account = login_account(prov, &accepted.client).await?;
        let response_token = gss::accept_token(&init, accepted.ap_rep.as_deref());
        Ok(SpnegoLogin {
            account,
            principal: accepted.client,
            response_token,
        })
    }

    async fn read_keytab(&self) -> Result<Keytab, SpnegoError> {
        let err = |reason: String| SpnegoError::Keytab {
            path: self.keytab.clone(),
            reason,
        };
        let bytes = tokio::fs::read(&self.keytab)
            .await
            .map_err(|e| err(e.to_string()))?;
        Keytab::parse(&bytes).map_err(|e| err(e.to_string()))
    }
}

/// The account `principal` maps to, status checked as at a password login.
///
/// # Errors
/// [`SpnegoError::NoAccount`], [`SpnegoError::Status`], [`SpnegoError::Directory`].
pub async fn login_account(
    prov: &Provisioning,
    principal: &Principal,
) -> Result<Entry, SpnegoError> {
    let account = account_for_principal(prov, principal)
        .await
        .map_err(SpnegoError::Directory)?
        .ok_or_else(|| SpnegoError::NoAccount(principal.to_string()))?;
    let actx = prov
        .account_context(&account)
        .await
        .map_err(SpnegoError::Directory)?;
    let status = account_status(
        &account,
        actx.domain
            .as_ref()
            .and_then(|d| d.attrs.get("zimbraDomainStatus")),
    );
    if let Some(fault) = status_fault(&status) {
        return Err(SpnegoError::Status {
            account: account.name,
            fault,
        });
    }
    Ok(account)
}

/// The account of a Kerberos principal: `zimbraForeignPrincipal kerberos5:<principal>`,
/// else `<name>@<domain>` of the domain whose `zimbraAuthKerberos5Realm` is the realm
/// (realms compared without case, as the directory's search does).
///
/// # Errors
/// The directory's.
pub async fn account_for_principal(
    prov: &Provisioning,
    principal: &Principal,
) -> Result<Option<Entry>, ServiceError> {
    let text = principal.to_string();
    let accounts = prov
        .directory()
        .list_entries(EntryKind::Account, None)
        .await?;
    let foreign = accounts.into_iter().find(|a| {
        a.attrs.get_all("zimbraForeignPrincipal").iter().any(|v| {
            v.get(..FOREIGN_PRINCIPAL_PREFIX.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(FOREIGN_PRINCIPAL_PREFIX))
                && v[FOREIGN_PRINCIPAL_PREFIX.len()..].trim() == text
        })
    });
    if foreign.is_some() {
        return Ok(foreign);
    }
    let [name] = principal.names.as_slice() else {
        return Ok(None);
    };
    for domain in prov.all_domains().await? {
        let realm_fits = domain
            .attrs
            .get("zimbraAuthKerberos5Realm")
            .is_some_and(|r| r.trim().eq_ignore_ascii_case(&principal.realm));
        if realm_fits
            && let Some(a) = prov
                .find_account(&format!("{name}@{}", domain.name))
                .await?
        {
            return Ok(Some(a));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zcs_core::{Attrs, ZimbraId};

    fn entry(kind: EntryKind, name: &str, pairs: &[(&str, &str)]) -> Entry {
        let mut attrs = Attrs::new();
        for (n, v) in pairs {
            attrs.add(n, *v);
        }
        Entry {
            kind,
            id: ZimbraId::new(),
            name: name.into(),
            attrs,
        }
    }

    #[test]
    fn settings_from_entries() {
        let g = entry(
            EntryKind::GlobalConfig,
            "config",
            &[
                ("zimbraSpnegoAuthEnabled", "TRUE"),
                ("zimbraSpnegoAuthRealm", "EX.TEST"),
                ("zimbraSpnegoAuthErrorURL", "/zimbra/?ignoreLoginURL=1"),
            ],
        );
        let s = entry(
            EntryKind::Server,
            "mail.ex.test",
            &[("zimbraSpnegoAuthTargetName", "HTTP/mail.ex.test")],
        );
        let got = SpnegoSettings::from_entries(&g, Some(&s));
        assert!(got.enabled);
        assert_eq!(
            got.principal.map(|p| p.to_string()).as_deref(),
            Some("HTTP/mail.ex.test@EX.TEST")
        );
        assert_eq!(got.error_url.as_deref(), Some("/zimbra/?ignoreLoginURL=1"));
        let s2 = entry(
            EntryKind::Server,
            "mail.ex.test",
            &[
                ("zimbraSpnegoAuthTargetName", "HTTP/ignored"),
                ("zimbraSpnegoAuthPrincipal", "HTTP/mail1.ex.test@OTHER.TEST"),
            ],
        );
        let got = SpnegoSettings::from_entries(&g, Some(&s2));
        assert_eq!(
            got.principal.map(|p| p.to_string()).as_deref(),
            Some("HTTP/mail1.ex.test@OTHER.TEST")
        );
        let off = SpnegoSettings::from_entries(&entry(EntryKind::GlobalConfig, "c", &[]), None);
        assert_eq!(off, SpnegoSettings::default());
    }
}
