//! Which certificate authorities a connection to a customer's directory trusts (see
//! `docs/decisions/2026-12-06-external-ldap-tls.md`): the system's roots, plus every CA
//! certificate an operator put where zcs looks for customer CAs.
//!
//! Zimbra trusts a customer CA once `zmcertmgr addcacert` has imported it into the JVM's
//! `cacerts` (and `/opt/zimbra/conf/ca`). zcs has no JVM: it reads PEM files instead.
//! The places, in order:
//! - the system bundle: the file named by `SSL_CERT_FILE`, else the first of the usual
//!   distribution bundles that exists ([`SYSTEM_BUNDLES`]);
//! - `$ZCS_HOME/conf/ca/` when `ZCS_HOME` is set (every `*.pem`, `*.crt` and `*.cer` file
//!   in it);
//! - every file or directory registered with [`trust_ca_path`] (the server registers its
//!   home's `conf/ca`; tests register their throwaway CA).
//!
//! The configuration is built once and kept until [`trust_ca_path`] or [`reload`] asks
//! for a new one. A file that cannot be read or holds no certificate is skipped with a
//! warning: a handshake with a server it would have vouched for then fails as an
//! unknown issuer, which names the problem.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// The system CA bundles looked for when `SSL_CERT_FILE` is unset (Debian/Ubuntu,
/// Fedora/RHEL, openSUSE, Alpine/macOS-style), first existing one wins.
pub const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Where customer CAs live under the zcs home (as Zimbra's `conf/ca`).
pub const HOME_CA_DIR: &str = "conf/ca";

/// File or directory paths registered with [`trust_ca_path`].
static EXTRA: RwLock<Vec<PathBuf>> = RwLock::new(Vec::new());
/// The configuration built from the places above, until something is registered.
static CACHE: Mutex<Option<Arc<rustls::ClientConfig>>> = Mutex::new(None);

/// Trusts the CA certificates in `path` (a PEM file, or a directory whose `*.pem`,
/// `*.crt` and `*.cer` files are read) for every later connection to an external
/// directory, on top of the system's roots. Registering the same path twice is harmless.
pub fn trust_ca_path(path: impl Into<PathBuf>) {
    let path = path.into();
    {
        let mut extra = EXTRA.write().unwrap_or_else(|p| p.into_inner());
        if !extra.contains(&path) {
            extra.push(path);
        }
    }
    reload();
}

/// Forgets the built configuration, so the next connection reads the CA files again
/// (after an operator added one to `conf/ca`).
pub fn reload() {
    *CACHE.lock().unwrap_or_else(|p| p.into_inner()) = None;
}

/// The TLS client configuration for connections to external directories: the ring
/// provider, rustls's safe protocol versions, server certificates verified against the
/// trusted CAs (module doc) and the URL's host name or IP address. Never fails: with no
/// CA at all, every handshake fails as an unknown issuer.
pub fn client_config() -> Arc<rustls::ClientConfig> {
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = cache.as_ref() {
        return c.clone();
    }
    let mut places: Vec<PathBuf> = Vec::new();
    if let Some(home) = std::env::var_os("ZCS_HOME").filter(|h| !h.is_empty()) {
        places.push(Path::new(&home).join(HOME_CA_DIR));
    }
    places.extend(
        EXTRA
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned(),
    );
    let config = build_client_config(true, &places);
    *cache = Some(config.clone());
    config
}

/// A configuration trusting the system roots (when `system` is set) and the CA
/// certificates found in `places` (files or directories, as [`trust_ca_path`] takes).
/// Missing places are skipped silently; unreadable files with a warning.
pub fn build_client_config(system: bool, places: &[PathBuf]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let mut add = |certs: Vec<CertificateDer<'static>>, from: &Path| {
        let (added, ignored) = roots.add_parsable_certificates(certs);
        if ignored > 0 {
            tracing::warn!(path = %from.display(), ignored, "CA certificates not usable");
        }
        added
    };
    if system {
        let bundle = std::env::var_os("SSL_CERT_FILE")
            .filter(|f| !f.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                SYSTEM_BUNDLES
                    .iter()
                    .map(PathBuf::from)
                    .find(|p| p.is_file())
            });
        if let Some(bundle) = bundle {
            add(read_pem(&bundle), &bundle);
        }
    }
    for place in places {
        for file in pem_files(place) {
            let certs = read_pem(&file);
            if certs.is_empty() {
                tracing::warn!(path = %file.display(), "no CA certificate in file; skipped");
                continue;
            }
            let n = add(certs, &file);
            tracing::debug!(path = %file.display(), added = n, "external LDAP CA trusted");
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// The certificate files of `place`: itself when it is a file, else its `*.pem`,
/// `*.crt` and `*.cer` files by name; nothing when it does not exist.
fn pem_files(place: &Path) -> Vec<PathBuf> {
    if place.is_file() {
        return vec![place.to_path_buf()];
    }
    let Ok(dir) = std::fs::read_dir(place) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = dir
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension().and_then(|x| x.to_str()).is_some_and(|x| {
                    ["pem", "crt", "cer"]
                        .iter()
                        .any(|e| x.eq_ignore_ascii_case(e))
                })
        })
        .collect();
    files.sort();
    files
}

/// Every certificate of the PEM file `path` (other PEM sections are ignored); nothing
/// when it cannot be read (logged).
fn read_pem(path: &Path) -> Vec<CertificateDer<'static>> {
    match std::fs::read(path) {
        Ok(bytes) => CertificateDer::pem_slice_iter(&bytes)
            .filter_map(Result::ok)
            .collect(),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "CA file unreadable; skipped");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed CA certificate (P-256, valid until 2126; its key was thrown away).
    const CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBjjCCATOgAwIBAgIUZfAIFxqXxXy4iKStTvRzZEJ+sYwwCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQemNzIHVuaXQgdGVzdCBDQTAgFw0yNjEyMDYwNjAwMzlaGA8y
MTI2MTExMjA2MDAzOVowGzEZMBcGA1UEAwwQemNzIHVuaXQgdGVzdCBDQTBZMBMG
ByqGSM49AgEGCCqGSM49AwEHA0IABKBFM0rNOj9+gpaGpNG7lv9650vufj1g4UXr
vPg3QP7/Ga9EczSzmysIFeIF2ypy9ftA/cWH//4VEyfvdPmXSWWjUzBRMB0GA1Ud
DgQWBBQ2tvdwh8pS8m9yyfERxXq686nuEzAfBgNVHSMEGDAWgBQ2tvdwh8pS8m9y
yfERxXq686nuEzAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQDf
wSmSvMqChRM9fV3c0nJ8Otx65Iut0pz2PRq1QH9lbwIhANKg2X0/Os3AsIDde3dW
pvuTYMZoLDKrDg2OCaeow9Mu
-----END CERTIFICATE-----
";

    #[test]
    fn files_and_directories_are_read() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("ca");
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::write(dir.join("a.pem"), CA_PEM).expect("write");
        std::fs::write(dir.join("b.CRT"), CA_PEM).expect("write");
        std::fs::write(dir.join("notes.txt"), CA_PEM).expect("write");
        std::fs::write(dir.join("bad.pem"), "not a certificate").expect("write");
        assert_eq!(
            pem_files(&dir).len(),
            3,
            "pem, crt (any case) and the bad one"
        );
        assert_eq!(pem_files(&dir.join("a.pem")).len(), 1);
        assert!(pem_files(&tmp.path().join("missing")).is_empty());
        assert_eq!(read_pem(&dir.join("a.pem")).len(), 1);
        assert!(read_pem(&dir.join("bad.pem")).is_empty());
        assert!(read_pem(&dir.join("missing.pem")).is_empty());
        // Builds with and without the system roots; bad files are skipped.
        let _ = build_client_config(false, std::slice::from_ref(&dir));
        let _ = build_client_config(true, &[dir]);
    }
}
