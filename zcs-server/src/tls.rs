//! TLS for every listener: the home's certificates, created self-signed at first start
//! the way Zimbra's installer does, and the rustls acceptor the listeners share.
//!
//! Layout under the home, after Zimbra's `/opt/zimbra/ssl/zimbra`:
//! - `ssl/zimbra/ca/ca.key`, `ca.pem`: the private CA that signs the self-signed
//!   server certificate (clients that should trust it import `ca.pem`);
//! - `ssl/zimbra/server/server.key`, `server.crt`: the self-signed server certificate,
//!   with the server's host name, `localhost` and the loopback addresses as names;
//! - `ssl/zimbra/commercial/commercial.key`, `commercial.crt`: a certificate bought or
//!   issued elsewhere (chain after the leaf); when present it wins.
//!
//! The acceptor resolves its certificate through [`ReloadableCert`], so a deployed
//! certificate takes effect on the next handshake after [`ServerTls::reload`] (which
//! [`watch_for_changes`] calls when the files change), without a restart; a domain's own
//! certificate is chosen by SNI for its virtual host names.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
    SanType,
};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// Days a self-signed certificate is valid (Zimbra's `zmcertmgr` default, 1825).
pub const SELF_SIGNED_DAYS: i64 = 1825;

/// Why certificates could not be created or loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: {message}")]
    Pem { path: PathBuf, message: String },
    #[error("certificate generation: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("certificate and key do not make a usable TLS identity: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Where the certificates of one home live.
#[derive(Clone, Debug)]
pub struct CertPaths {
    root: PathBuf,
}

impl CertPaths {
    /// The layout under `home_root/ssl/zimbra`.
    pub fn new(home_root: &Path) -> CertPaths {
        CertPaths {
            root: home_root.join("ssl").join("zimbra"),
        }
    }
    /// The CA's private key.
    pub fn ca_key(&self) -> PathBuf {
        self.root.join("ca").join("ca.key")
    }
    /// The CA's certificate, for clients to trust.
    pub fn ca_cert(&self) -> PathBuf {
        self.root.join("ca").join("ca.pem")
    }
    /// The self-signed server certificate's key.
    pub fn server_key(&self) -> PathBuf {
        self.root.join("server").join("server.key")
    }
    /// The self-signed server certificate (leaf, then the CA).
    pub fn server_cert(&self) -> PathBuf {
        self.root.join("server").join("server.crt")
    }
    /// A deployed commercial certificate's key.
    pub fn commercial_key(&self) -> PathBuf {
        self.root.join("commercial").join("commercial.key")
    }
    /// A deployed commercial certificate (leaf, then its chain).
    pub fn commercial_cert(&self) -> PathBuf {
        self.root.join("commercial").join("commercial.crt")
    }

    /// The pair in use: the commercial one when both its files exist, else the
    /// self-signed one.
    pub fn active(&self) -> (PathBuf, PathBuf) {
        if self.commercial_cert().is_file() && self.commercial_key().is_file() {
            (self.commercial_cert(), self.commercial_key())
        } else {
            (self.server_cert(), self.server_key())
        }
    }
}

fn write_private(path: &Path, text: &str) -> Result<(), TlsError> {
    let io_err = |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io_err)?;
    }
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text).map_err(io_err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600)).map_err(io_err)?;
    }
    fs::rename(&tmp, path).map_err(io_err)
}

/// Creates the CA (when missing) and a server certificate signed by it for `hostname`,
/// replacing any earlier self-signed server certificate. `zmcertmgr createca` and
/// `createcrt -new` do the same.
///
/// # Errors
/// Generation failed or a file could not be written.
pub fn create_self_signed(paths: &CertPaths, hostname: &str) -> Result<(), TlsError> {
    let (ca_cert, ca_key) = load_or_create_ca(paths, hostname)?;
    let key = KeyPair::generate()?;
    let mut names = vec![hostname.to_string()];
    if hostname != "localhost" {
        names.push("localhost".to_string());
    }
    let mut params = CertificateParams::new(names)?;
    params
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()));
    params.distinguished_name = distinguished_name(hostname);
    params.not_before = yesterday();
    params.not_after = days_from_now(SELF_SIGNED_DAYS);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, &ca_cert, &ca_key)?;
    write_private(&paths.server_key(), &key.serialize_pem())?;
    write_private(
        &paths.server_cert(),
        &format!("{}{}", cert.pem(), ca_cert.pem()),
    )?;
    Ok(())
}

/// Creates the self-signed certificate unless one (or a commercial one) exists; what a
/// first start calls. Returns whether it created one.
///
/// # Errors
/// As [`create_self_signed`].
pub fn ensure_certificates(paths: &CertPaths, hostname: &str) -> Result<bool, TlsError> {
    let (cert, key) = paths.active();
    if cert.is_file() && key.is_file() {
        return Ok(false);
    }
    create_self_signed(paths, hostname)?;
    Ok(true)
}

fn distinguished_name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn.push(DnType::OrganizationName, "zcs");
    dn.push(DnType::OrganizationalUnitName, "zcs Collaboration Server");
    dn
}

fn days_from_now(days: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc() + time::Duration::days(days)
}

fn yesterday() -> time::OffsetDateTime {
    days_from_now(-1)
}

/// The CA pair, created on first use. rcgen cannot re-sign with a parsed CA
/// certificate, so the CA certificate is re-derived from its stored key and stable
/// parameters; its PEM on disk is rewritten only when it was missing.
fn load_or_create_ca(
    paths: &CertPaths,
    hostname: &str,
) -> Result<(rcgen::Certificate, KeyPair), TlsError> {
    let key = match fs::read_to_string(paths.ca_key()) {
        Ok(pem) => KeyPair::from_pem(&pem)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let key = KeyPair::generate()?;
            write_private(&paths.ca_key(), &key.serialize_pem())?;
            key
        }
        Err(source) => {
            return Err(TlsError::Io {
                path: paths.ca_key(),
                source,
            });
        }
    };
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name = distinguished_name(&format!("zcs CA {hostname}"));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = yesterday();
    params.not_after = days_from_now(SELF_SIGNED_DAYS);
    let cert = params.self_signed(&key)?;
    if !paths.ca_cert().is_file() {
        write_private(&paths.ca_cert(), &cert.pem())?;
    }
    Ok((cert, key))
}

/// Reads a certificate chain and its key into a rustls signing identity, checking that
/// the key matches the leaf.
///
/// # Errors
/// A file is missing or unreadable, holds no PEM certificate or key, or the key does
/// not belong to the certificate.
pub fn load_certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let pem_err = |path: &Path, message: String| TlsError::Pem {
        path: path.to_path_buf(),
        message,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| pem_err(cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| pem_err(cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(pem_err(cert, "no certificate in the file".into()));
    }
    let der = PrivateKeyDer::from_pem_file(key).map_err(|e| pem_err(key, e.to_string()))?;
    let provider = rustls::crypto::ring::default_provider();
    let certified = CertifiedKey::from_der(chain, der, &provider)?;
    Ok(certified)
}

/// The server certificate, swappable while the acceptor keeps running, with optional
/// per-name certificates chosen by SNI (a domain's own certificate for its virtual host
/// names).
#[derive(Debug)]
pub struct ReloadableCert {
    current: RwLock<Arc<CertifiedKey>>,
    by_name: RwLock<HashMap<String, Arc<CertifiedKey>>>,
}

impl ResolvesServerCert for ReloadableCert {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if let Some(name) = hello.server_name()
            && let Ok(map) = self.by_name.read()
            && let Some(found) = map.get(&name.to_ascii_lowercase())
        {
            return Some(found.clone());
        }
        self.current.read().ok().map(|c| c.clone())
    }
}

/// The TLS identity of a running server and the acceptor built on it.
#[derive(Clone)]
pub struct ServerTls {
    paths: CertPaths,
    cert: Arc<ReloadableCert>,
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("paths", &self.paths)
            .finish()
    }
}

impl ServerTls {
    /// Loads the active certificate of a home (commercial, else self-signed) into an
    /// acceptor offering TLS 1.2 and 1.3.
    ///
    /// # Errors
    /// As [`load_certified_key`].
    pub fn load(paths: CertPaths) -> Result<ServerTls, TlsError> {
        let (cert_path, key_path) = paths.active();
        let certified = load_certified_key(&cert_path, &key_path)?;
        let cert = Arc::new(ReloadableCert {
            current: RwLock::new(Arc::new(certified)),
            by_name: RwLock::new(HashMap::new()),
        });
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(cert.clone());
        Ok(ServerTls {
            paths,
            cert,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// The acceptor every TLS listener and STARTTLS upgrade uses.
    pub fn acceptor(&self) -> TlsAcceptor {
        self.acceptor.clone()
    }

    /// Re-reads the active certificate; new handshakes use it, open sessions keep
    /// theirs. On error the old certificate stays in use.
    ///
    /// # Errors
    /// As [`load_certified_key`].
    pub fn reload(&self) -> Result<(), TlsError> {
        let (cert_path, key_path) = self.paths.active();
        let certified = load_certified_key(&cert_path, &key_path)?;
        if let Ok(mut current) = self.cert.current.write() {
            *current = Arc::new(certified);
        }
        Ok(())
    }

    /// Replaces the per-name certificates: each PEM pair (certificate chain, private
    /// key) serves the names listed with it when a client asks for one of them by SNI.
    /// Pairs that do not load are skipped and returned with the reason.
    pub fn set_name_certificates(&self, pairs: &[NamedPem]) -> Vec<(String, String)> {
        let mut map = HashMap::new();
        let mut refused = Vec::new();
        for pair in pairs {
            match certified_from_pem(&pair.cert_pem, &pair.key_pem) {
                Ok(key) => {
                    let key = Arc::new(key);
                    for name in &pair.names {
                        map.insert(name.to_ascii_lowercase(), key.clone());
                    }
                }
                Err(e) => refused.push((pair.label.clone(), e.to_string())),
            }
        }
        if let Ok(mut current) = self.cert.by_name.write() {
            *current = map;
        }
        refused
    }

    /// Modification times of the active pair, to notice a deployment.
    fn stamp(&self) -> Option<(PathBuf, std::time::SystemTime, std::time::SystemTime)> {
        let (cert, key) = self.paths.active();
        let m = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
        Some((cert.clone(), m(&cert)?, m(&key)?))
    }
}

/// A certificate given as PEM text for some host names (from a domain's
/// `zimbraSSLCertificate` and `zimbraSSLPrivateKey`).
#[derive(Clone, Debug)]
pub struct NamedPem {
    /// What to call it in messages (the domain name).
    pub label: String,
    pub names: Vec<String>,
    pub cert_pem: String,
    pub key_pem: String,
}

fn certified_from_pem(cert_pem: &str, key_pem: &str) -> Result<CertifiedKey, TlsError> {
    let pem_err = |message: String| TlsError::Pem {
        path: PathBuf::from("<directory attribute>"),
        message,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| pem_err(e.to_string()))?;
    if chain.is_empty() {
        return Err(pem_err("no certificate".into()));
    }
    let der =
        PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| pem_err(e.to_string()))?;
    Ok(CertifiedKey::from_der(
        chain,
        der,
        &rustls::crypto::ring::default_provider(),
    )?)
}

/// Reloads `tls` whenever the active certificate files change (a `zmcertmgr deploycrt`
/// or a file copied in by hand), checking every `every`, until `shutdown` turns true.
/// A pair that does not load is logged and the old certificate stays in use.
pub async fn watch_for_changes(
    tls: ServerTls,
    every: std::time::Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut last = tls.stamp();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
        let now = tls.stamp();
        if now != last {
            match tls.reload() {
                Ok(()) => {
                    tracing::info!(cert = ?now.as_ref().map(|s| &s.0), "certificate reloaded");
                    last = now;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "new certificate not loaded; keeping the old one")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_start_creates_a_loadable_identity_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = CertPaths::new(dir.path());
        assert!(ensure_certificates(&paths, "mail.example.test").expect("create"));
        assert!(!ensure_certificates(&paths, "mail.example.test").expect("again"));
        let tls = ServerTls::load(paths.clone()).expect("load");
        tls.reload().expect("reload");
        assert!(paths.ca_cert().is_file());
        let chain = fs::read_to_string(paths.server_cert()).expect("read");
        assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2);
    }

    #[test]
    fn sni_names_get_their_own_certificate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = CertPaths::new(dir.path());
        ensure_certificates(&paths, "mail.example.test").expect("create");
        let tls = ServerTls::load(paths).expect("load");
        let key = KeyPair::generate().expect("key");
        let cert = CertificateParams::new(vec!["mail.other.test".to_string()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        let refused = tls.set_name_certificates(&[
            NamedPem {
                label: "other.test".into(),
                names: vec!["MAIL.other.test".into()],
                cert_pem: cert.pem(),
                key_pem: key.serialize_pem(),
            },
            NamedPem {
                label: "broken.test".into(),
                names: vec!["x.broken.test".into()],
                cert_pem: "junk".into(),
                key_pem: "junk".into(),
            },
        ]);
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].0, "broken.test");
        let map = tls.cert.by_name.read().expect("lock");
        assert!(map.contains_key("mail.other.test"));
    }

    #[test]
    fn a_mismatched_key_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = CertPaths::new(dir.path());
        create_self_signed(&paths, "a.example.test").expect("create");
        let other = KeyPair::generate().expect("key");
        fs::write(paths.server_key(), other.serialize_pem()).expect("write");
        assert!(load_certified_key(&paths.server_cert(), &paths.server_key()).is_err());
    }

    #[test]
    fn garbage_pem_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cert = dir.path().join("c.crt");
        let key = dir.path().join("c.key");
        fs::write(&cert, "not a certificate").expect("write");
        fs::write(&key, "-----BEGIN PRIVATE KEY-----\n!!!\n").expect("write");
        assert!(load_certified_key(&cert, &key).is_err());
    }
}
