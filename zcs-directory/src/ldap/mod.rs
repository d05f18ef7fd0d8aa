//! `LdapDirectory`: the [`Directory`](crate::Directory) backend on an LDAP server
//! (OpenLDAP `slapd`) in Zimbra's tree layout and schema names, so a directory written by
//! Zimbra reads as it is and one written by zcs reads in Zimbra's tools.
//!
//! In charge of: where each entry kind lives (`dit`), escaping (`escape`), the connection
//! pool (`pool`), the mapping between stored and returned attributes (`convert`), the
//! address index and retired ids (`addresses`), and the `Directory` operations (`ops`).
//! Not in charge of validation, defaults or inheritance (that is `Provisioning`), nor of
//! binding as users (authentication).
//!
//! Uniqueness without transactions: the DN of an entry makes `(kind, name)` unique for
//! entries in one container; every address of an account, calendar resource, list or
//! dynamic group is also reserved as `cn=ADDR,cn=addresses,cn=zimbra` before the entry is
//! written, so two racing writers get one success and one "exists" fault from the server
//! itself. Modifies read the entry and write it back with an RFC 4528 assertion on its
//! `entryCSN`, retrying when another writer got in between, so concurrent edits of one
//! entry lose nothing.

mod addresses;
pub(crate) mod convert;
pub(crate) mod dit;
pub mod escape;
mod ops;
mod pool;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use zcs_core::{ServiceError, ServiceResult};

pub use dit::Dit;

/// Connections per directory handle.
pub const DEFAULT_POOL_SIZE: usize = 4;

/// Failures of the LDAP backend, before they become `service.FAILURE`.
#[derive(Debug, thiserror::Error)]
pub enum LdapDirectoryError {
    /// The server could not be reached.
    #[error("directory LDAP: connect to {url}: {source}")]
    Connect {
        /// The server URL (no credentials).
        url: String,
        #[source]
        source: ldap3::LdapError,
    },
    /// The server refused the bind DN or password.
    #[error("directory LDAP: bind as {dn} refused (result {rc}: {text})")]
    Bind { dn: String, rc: u32, text: String },
    /// An operation failed below the LDAP layer (I/O, timeout, protocol).
    #[error("directory LDAP: {step}: {source}")]
    Operation {
        step: &'static str,
        #[source]
        source: ldap3::LdapError,
    },
    /// The server answered an operation with an error result.
    #[error("directory LDAP: {step} {dn}: result {rc} ({text})")]
    Refused {
        step: &'static str,
        dn: String,
        rc: u32,
        text: String,
    },
    /// The directory URL cannot be used.
    #[error("directory LDAP: bad URL {0:?}")]
    Url(String),
    /// The CA file for TLS cannot be read or holds no certificate.
    #[error("directory LDAP: TLS CA file {path}: {reason}")]
    TlsCa { path: String, reason: String },
}

impl LdapDirectoryError {
    /// A mapper for `map_err` naming the step that failed.
    pub(crate) fn op(step: &'static str) -> impl FnOnce(ldap3::LdapError) -> Self {
        move |source| LdapDirectoryError::Operation { step, source }
    }
}

impl From<LdapDirectoryError> for ServiceError {
    fn from(e: LdapDirectoryError) -> Self {
        tracing::error!(error = %e, "directory LDAP failure");
        ServiceError::failure(e.to_string())
    }
}

/// Where the directory is and how to use it.
#[derive(Clone)]
pub struct LdapConfig {
    /// `ldap://host:port` or `ldaps://host:port` (no path).
    pub url: String,
    /// The DN to bind as (`uid=zimbra,cn=admins,cn=zimbra` in Zimbra); empty: anonymous.
    pub bind_dn: String,
    /// Its password.
    pub bind_password: String,
    /// The DN the whole tree hangs under: empty for a Zimbra directory; tests use one
    /// subtree each.
    pub base: String,
    /// Connections kept open.
    pub pool_size: usize,
    /// Upgrade `ldap://` connections with StartTLS (RFC 4511 §4.14) before binding.
    pub starttls: bool,
    /// PEM file with the CA certificates that may sign the server's certificate, for
    /// `ldaps://` and StartTLS; `None`: the system's trusted roots.
    pub tls_ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for LdapConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapConfig")
            .field("url", &self.url)
            .field("bind_dn", &self.bind_dn)
            .field("base", &self.base)
            .field("pool_size", &self.pool_size)
            .field("starttls", &self.starttls)
            .field("tls_ca_file", &self.tls_ca_file)
            .finish_non_exhaustive()
    }
}

impl LdapConfig {
    /// A configuration for the server at `url`, binding as `bind_dn`, base empty.
    pub fn new(url: &str, bind_dn: &str, bind_password: &str) -> Self {
        LdapConfig {
            url: url.trim_end_matches('/').to_string(),
            bind_dn: bind_dn.to_string(),
            bind_password: bind_password.to_string(),
            base: String::new(),
            pool_size: DEFAULT_POOL_SIZE,
            starttls: false,
            tls_ca_file: None,
        }
    }

    /// The same configuration with the tree under `base`.
    pub fn with_base(mut self, base: &str) -> Self {
        self.base = base.trim().to_string();
        self
    }

    /// Reads an LDAP URL (RFC 4516): `ldap[s]://host:port/BASE????bindname=DN,X-BINDPW=PW`,
    /// every part percent-encoded. The DN part is the base (empty for a Zimbra directory);
    /// the `bindname` extension (RFC 4516 §2) and `X-BINDPW` give the credentials,
    /// `X-STARTTLS` asks for StartTLS and `X-TLS-CA=PATH` names a PEM CA file. The
    /// attributes, scope and filter parts are ignored.
    ///
    /// # Errors
    /// `service.FAILURE` for another scheme, a missing host, or bad percent-encoding.
    pub fn from_url(url: &str) -> ServiceResult<Self> {
        let bad = || LdapDirectoryError::Url(redact(url));
        let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
        if !scheme.eq_ignore_ascii_case("ldap") && !scheme.eq_ignore_ascii_case("ldaps") {
            return Err(bad().into());
        }
        let (hostport, tail) = rest.split_once('/').unwrap_or((rest, ""));
        if hostport.is_empty() || hostport.contains('@') {
            return Err(bad().into());
        }
        let parts: Vec<&str> = tail.split('?').collect();
        let base = percent_decode(parts[0]).ok_or_else(bad)?;
        let mut config = LdapConfig::new(&format!("{scheme}://{hostport}"), "", "");
        config.base = base;
        if let Some(exts) = parts.get(4) {
            for ext in exts.split(',').filter(|e| !e.is_empty()) {
                let ext = ext.strip_prefix('!').unwrap_or(ext);
                let (name, value) = ext.split_once('=').unwrap_or((ext, ""));
                let value = percent_decode(value).ok_or_else(bad)?;
                if name.eq_ignore_ascii_case("bindname") {
                    config.bind_dn = value;
                } else if name.eq_ignore_ascii_case("x-bindpw") {
                    config.bind_password = value;
                } else if name.eq_ignore_ascii_case("x-starttls") {
                    config.starttls = !value.eq_ignore_ascii_case("false");
                } else if name.eq_ignore_ascii_case("x-tls-ca") {
                    config.tls_ca_file = Some(PathBuf::from(value));
                }
            }
        }
        Ok(config)
    }
}

/// `%XX` decoding (RFC 3986 §2.1); `None` for a bad escape or non-UTF-8 result.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The URL without its extensions (which may hold a password), for messages.
fn redact(url: &str) -> String {
    let parts: Vec<&str> = url.splitn(5, '?').collect();
    if parts.len() == 5 {
        format!("{}?***", parts[..4].join("?"))
    } else {
        url.to_string()
    }
}

/// A TLS client configuration trusting the CA certificates in the PEM file at `path`
/// (ring provider, rustls's safe protocol versions).
fn tls_config(path: &Path) -> ServiceResult<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let bad = |reason: String| -> ServiceError {
        LdapDirectoryError::TlsCa {
            path: path.display().to_string(),
            reason,
        }
        .into()
    };
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| bad(e.to_string()))?;
        roots.add(cert).map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("no certificate".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A [`Directory`](crate::Directory) stored on an LDAP server. Share it behind an `Arc`.
#[derive(Debug)]
pub struct LdapDirectory {
    pool: pool::Pool,
    dit: Dit,
}

impl LdapDirectory {
    /// Connects (one connection now, the rest of the pool on demand), binds, and checks
    /// the base and `cn=zimbra` can be read. Creates nothing.
    ///
    /// # Errors
    /// `service.FAILURE` when the server is unreachable or refuses the bind.
    pub async fn connect(config: LdapConfig) -> ServiceResult<Self> {
        let tls = match &config.tls_ca_file {
            Some(path) => Some(tls_config(path)?),
            None => None,
        };
        let target = pool::Target {
            url: config.url.clone(),
            bind_dn: config.bind_dn.clone(),
            bind_password: config.bind_password.clone(),
            starttls: config.starttls,
            tls,
        };
        let dir = LdapDirectory {
            pool: pool::Pool::new(target, config.pool_size),
            dit: Dit::new(&config.base),
        };
        dir.pool
            .search(
                &dir.dit.zimbra(),
                ldap3::Scope::Base,
                "(objectClass=*)",
                &["1.1"],
            )
            .await?;
        tracing::debug!(url = %config.url, base = %config.base, "directory LDAP ready");
        Ok(dir)
    }

    /// [`LdapDirectory::connect`] with the configuration an LDAP URL gives
    /// ([`LdapConfig::from_url`]).
    ///
    /// # Errors
    /// As [`LdapConfig::from_url`] and [`LdapDirectory::connect`].
    pub async fn open(url: &str) -> ServiceResult<Self> {
        Self::connect(LdapConfig::from_url(url)?).await
    }

    /// The tree layout this handle uses.
    pub fn dit(&self) -> &Dit {
        &self.dit
    }

    /// Closes every pooled connection; later calls reconnect.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_server_base_and_credentials() {
        let c = LdapConfig::from_url(
            "ldap://127.0.0.1:3890/o=t%2C1????\
             bindname=uid%3Dzimbra%2Ccn%3Dadmins%2Ccn%3Dzimbra,X-BINDPW=s%3Fcret",
        )
        .unwrap();
        assert_eq!(c.url, "ldap://127.0.0.1:3890");
        assert_eq!(c.base, "o=t,1");
        assert_eq!(c.bind_dn, "uid=zimbra,cn=admins,cn=zimbra");
        assert_eq!(c.bind_password, "s?cret");
        let c = LdapConfig::from_url("ldaps://h:636").unwrap();
        assert_eq!((c.url.as_str(), c.base.as_str()), ("ldaps://h:636", ""));
        assert!(!c.starttls && c.tls_ca_file.is_none());
        let c = LdapConfig::from_url("ldap://h/????x-starttls,X-TLS-CA=%2Fetc%2Fca.pem").unwrap();
        assert!(c.starttls);
        assert_eq!(c.tls_ca_file, Some(PathBuf::from("/etc/ca.pem")));
        for bad in ["sqlite:x", "ldap://", "ldap://u:p@h/", "ldap://h/%zz"] {
            assert!(LdapConfig::from_url(bad).is_err(), "{bad}");
        }
        let err = LdapConfig::from_url("http://h/????x-bindpw=secret").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
        assert!(!format!("{c:?}").contains("bind_password"));
    }

    /// The shipped schema allows every registry attribute: rerun
    /// `zcs-directory/schema/gen_schema.py` when this fails.
    #[test]
    fn shipped_schema_covers_the_registry() {
        let schema = include_str!("../../schema/zimbra.schema");
        let start = schema
            .find("NAME 'zcsAllAttributes'")
            .expect("zcsAllAttributes class");
        let may = &schema[start..];
        let may = &may[..may.find(") )").expect("end of MAY list")];
        let allowed: std::collections::HashSet<String> = may
            .split(|c: char| c == '$' || c.is_whitespace() || c == '(')
            .map(|n| n.to_ascii_lowercase())
            .collect();
        let missing: Vec<&str> = zcs_core::attrs::ATTRS
            .iter()
            .map(|a| a.name)
            .filter(|n| !n.eq_ignore_ascii_case("objectClass"))
            .filter(|n| !allowed.contains(&n.to_ascii_lowercase()))
            .collect();
        assert!(missing.is_empty(), "not in zimbra.schema: {missing:?}");
    }

    #[test]
    fn ca_files_must_hold_certificates() {
        let dir = std::env::temp_dir().join(format!("zcs-ldap-ca-{}", std::process::id()));
        std::fs::write(&dir, "not a certificate").unwrap();
        let err = tls_config(&dir).unwrap_err();
        assert!(err.to_string().contains("no certificate"), "{err}");
        std::fs::remove_file(&dir).unwrap();
        assert!(tls_config(Path::new("/nonexistent/ca.pem")).is_err());
    }
}
