//! `zmcertmgr`'s work: create the CA and the self-signed certificate, create a key and
//! signing request for a commercial certificate, verify and deploy a certificate with
//! its chain, show what is deployed and warn before it expires.
//!
//! Files live in the layout of [`crate::tls::CertPaths`]. Deploying writes the pair the
//! running server reads; the server notices the new files and swaps them in without a
//! restart (see [`crate::tls::watch_for_changes`]).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{CertificateParams, DnType, KeyPair};
use x509_parser::prelude::*;

use crate::tls::{self, CertPaths, TlsError};

/// Why a certificate operation failed, in words for the operator.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

fn read(path: &Path) -> Result<Vec<u8>, CertError> {
    fs::read(path).map_err(|source| CertError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// One certificate as `viewdeployedcrt` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    /// Unix seconds.
    pub not_before: i64,
    /// Unix seconds.
    pub not_after: i64,
    pub subject_alt_names: Vec<String>,
}

impl CertSummary {
    /// Whole days from `now` (unix seconds) until it expires; negative once expired.
    pub fn days_left(&self, now: i64) -> i64 {
        (self.not_after - now).div_euclid(86_400)
    }

    /// Zimbra-like text: `notBefore=...`, `notAfter=...`, `subject=...`, `issuer=...`,
    /// `SubjectAltName=...`.
    pub fn render(&self) -> String {
        let date = |t: i64| {
            chrono::DateTime::from_timestamp(t, 0)
                .map(|d| d.format("%b %e %H:%M:%S %Y GMT").to_string())
                .unwrap_or_else(|| t.to_string())
        };
        let mut out = String::new();
        let _ = writeln!(out, "notBefore={}", date(self.not_before));
        let _ = writeln!(out, "notAfter={}", date(self.not_after));
        let _ = writeln!(out, "subject={}", self.subject);
        let _ = writeln!(out, "issuer={}", self.issuer);
        let _ = writeln!(out, "SubjectAltName={}", self.subject_alt_names.join(", "));
        out
    }
}

/// Every certificate in a PEM file, in file order, as DER.
fn pem_chain(path: &Path) -> Result<Vec<Vec<u8>>, CertError> {
    let bytes = read(path)?;
    let mut ders = Vec::new();
    for pem in Pem::iter_from_buffer(&bytes) {
        let pem = pem.map_err(|e| CertError::Invalid(format!("{}: {e}", path.display())))?;
        if pem.label == "CERTIFICATE" {
            ders.push(pem.contents);
        }
    }
    if ders.is_empty() {
        return Err(CertError::Invalid(format!(
            "{}: no certificate in the file",
            path.display()
        )));
    }
    Ok(ders)
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, CertError> {
    X509Certificate::from_der(der)
        .map(|(_, cert)| cert)
        .map_err(|e| CertError::Invalid(format!("not an X.509 certificate: {e}")))
}

fn summarize(cert: &X509Certificate<'_>) -> CertSummary {
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(d) => sans.push((*d).to_string()),
                GeneralName::IPAddress(ip) => sans.push(match ip.len() {
                    4 => std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string(),
                    16 => <[u8; 16]>::try_from(*ip)
                        .map(|b| std::net::Ipv6Addr::from(b).to_string())
                        .unwrap_or_default(),
                    _ => String::new(),
                }),
                GeneralName::RFC822Name(m) => sans.push((*m).to_string()),
                _ => {}
            }
        }
    }
    CertSummary {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        subject_alt_names: sans,
    }
}

/// The leaf of a PEM file, summarised.
///
/// # Errors
/// Unreadable file or no certificate in it.
pub fn view(path: &Path) -> Result<CertSummary, CertError> {
    let chain = pem_chain(path)?;
    Ok(summarize(&parse(&chain[0])?))
}

/// Checks that `key` belongs to the leaf of `cert`, that every certificate of the chain
/// (the rest of `cert`, then `chain` when given) signed the one before it, and that none
/// has expired at `now` (unix seconds). This is `zmcertmgr verifycrt`.
///
/// # Errors
/// `Invalid` naming the first problem found.
pub fn verify(key: &Path, cert: &Path, chain: Option<&Path>, now: i64) -> Result<(), CertError> {
    tls::load_certified_key(cert, key).map_err(|e| match e {
        TlsError::Rustls(rustls::Error::InconsistentKeys(_)) => CertError::Invalid(format!(
            "the private key {} does not match the first certificate in {} (the server's \
             own certificate must come first, its chain after it)",
            key.display(),
            cert.display()
        )),
        TlsError::Rustls(other) => CertError::Invalid(format!(
            "{} cannot be served over TLS: {other} (an X.509 v1 certificate, as \
             `openssl x509 -req` makes without -extfile, must be reissued as v3)",
            cert.display()
        )),
        other => CertError::Tls(other),
    })?;
    let mut ders = pem_chain(cert)?;
    if let Some(chain) = chain {
        ders.extend(pem_chain(chain)?);
    }
    let certs = ders
        .iter()
        .map(|d| parse(d))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, c) in certs.iter().enumerate() {
        let s = summarize(c);
        if now > s.not_after {
            return Err(CertError::Invalid(format!(
                "certificate {i} ({}) expired",
                s.subject
            )));
        }
        if now < s.not_before {
            return Err(CertError::Invalid(format!(
                "certificate {i} ({}) is not valid yet",
                s.subject
            )));
        }
    }
    for pair in certs.windows(2) {
        let (child, parent) = (&pair[0], &pair[1]);
        child
            .verify_signature(Some(parent.public_key()))
            .map_err(|_| {
                CertError::Invalid(format!(
                    "{} is not signed by {} (chain out of order or incomplete)",
                    child.subject(),
                    parent.subject()
                ))
            })?;
    }
    if let Some(last) = certs.last()
        && certs.len() > 1
        && last.subject() == last.issuer()
    {
        last.verify_signature(None).map_err(|_| {
            CertError::Invalid(format!("root {} has a bad self-signature", last.subject()))
        })?;
    }
    Ok(())
}

/// Parses an OpenSSL-style subject, `/C=US/ST=CA/O=Example/CN=mail.example.com`.
///
/// # Errors
/// An element without `=` or an unknown attribute name.
pub fn parse_subject(text: &str) -> Result<Vec<(DnType, String)>, CertError> {
    let mut out = Vec::new();
    for part in text.split('/').filter(|p| !p.trim().is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| CertError::Invalid(format!("bad subject element {part:?}")))?;
        let t = match k.trim().to_ascii_uppercase().as_str() {
            "C" => DnType::CountryName,
            "ST" => DnType::StateOrProvinceName,
            "L" => DnType::LocalityName,
            "O" => DnType::OrganizationName,
            "OU" => DnType::OrganizationalUnitName,
            "CN" => DnType::CommonName,
            other => {
                return Err(CertError::Invalid(format!(
                    "unknown subject attribute {other:?}"
                )));
            }
        };
        out.push((t, v.trim().to_string()));
    }
    Ok(out)
}

/// Creates a new private key and a PKCS#10 signing request for a commercial
/// certificate (`zmcertmgr createcsr comm`). The key goes where `deploycrt comm` will
/// look for it; the CSR is written beside it and returned as PEM.
///
/// # Errors
/// Bad subject, generation or write failure.
pub fn create_csr(
    paths: &CertPaths,
    subject: &str,
    alt_names: &[String],
) -> Result<String, CertError> {
    let dn = parse_subject(subject)?;
    let mut names: Vec<String> = dn
        .iter()
        .filter(|(t, _)| *t == DnType::CommonName)
        .map(|(_, v)| v.clone())
        .collect();
    names.extend(alt_names.iter().cloned());
    names.dedup();
    let mut params = CertificateParams::new(names).map_err(TlsError::from)?;
    let mut distinguished = rcgen::DistinguishedName::new();
    for (t, v) in dn {
        distinguished.push(t, v);
    }
    params.distinguished_name = distinguished;
    let key = KeyPair::generate().map_err(TlsError::from)?;
    let csr = params.serialize_request(&key).map_err(TlsError::from)?;
    let pem = csr.pem().map_err(TlsError::from)?;
    let dir = paths.commercial_key().parent().map(Path::to_path_buf);
    if let Some(dir) = dir {
        fs::create_dir_all(&dir).map_err(|source| CertError::Io { path: dir, source })?;
    }
    let pending_key = paths.commercial_key().with_extension("key.pending");
    write_private(&pending_key, &key.serialize_pem())?;
    write_private(&paths.commercial_key().with_extension("csr"), &pem)?;
    Ok(pem)
}

fn write_private(path: &Path, text: &str) -> Result<(), CertError> {
    let err = |source| CertError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600)).map_err(err)?;
    }
    fs::rename(&tmp, path).map_err(err)
}

/// Deploys a commercial certificate (`zmcertmgr deploycrt comm <cert> <chain>`): the key
/// is the one `createcsr` made (or `key` when given); the pair is verified first and
/// nothing is changed when it does not verify. Returns the deployed leaf's summary.
///
/// # Errors
/// As [`verify`], or a write failure.
pub fn deploy_commercial(
    paths: &CertPaths,
    cert: &Path,
    chain: &Path,
    key: Option<&Path>,
    now: i64,
) -> Result<CertSummary, CertError> {
    let pending = paths.commercial_key().with_extension("key.pending");
    let key_path = match key {
        Some(k) => k.to_path_buf(),
        None if pending.is_file() => pending.clone(),
        None => paths.commercial_key(),
    };
    verify(&key_path, cert, Some(chain), now)?;
    let key_text = String::from_utf8_lossy(&read(&key_path)?).into_owned();
    let mut full = String::from_utf8_lossy(&read(cert)?).into_owned();
    if !full.ends_with('\n') {
        full.push('\n');
    }
    full.push_str(&String::from_utf8_lossy(&read(chain)?));
    // Key first: the server only switches when both files exist, and a reload that
    // reads a new key with the old certificate is refused and retried.
    write_private(&paths.commercial_key(), &key_text)?;
    write_private(&paths.commercial_cert(), &full)?;
    if key_path == pending {
        let _ = fs::remove_file(&pending);
    }
    view(&paths.commercial_cert())
}

/// Goes back to the self-signed certificate (`zmcertmgr deploycrt self`): creates it
/// when missing and moves a deployed commercial pair aside.
///
/// # Errors
/// Generation or file failure.
pub fn deploy_self(paths: &CertPaths, hostname: &str) -> Result<CertSummary, CertError> {
    if !paths.server_cert().is_file() || !paths.server_key().is_file() {
        tls::create_self_signed(paths, hostname)?;
    }
    for f in [paths.commercial_cert(), paths.commercial_key()] {
        if f.is_file() {
            let aside = f.with_extension(format!(
                "{}.replaced",
                f.extension().and_then(|e| e.to_str()).unwrap_or("pem")
            ));
            fs::rename(&f, &aside).map_err(|source| CertError::Io { path: f, source })?;
        }
    }
    view(&paths.server_cert())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::SanType;

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn self_signed_verifies_and_views() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = CertPaths::new(dir.path());
        tls::create_self_signed(&paths, "mail.example.test").expect("create");
        verify(&paths.server_key(), &paths.server_cert(), None, now()).expect("verify");
        let s = view(&paths.server_cert()).expect("view");
        assert!(s.subject.contains("mail.example.test"), "{s:?}");
        assert!(s.subject_alt_names.contains(&"127.0.0.1".to_string()));
        assert!(
            (1800..=1826).contains(&s.days_left(now())),
            "{}",
            s.days_left(now())
        );
        assert!(s.render().starts_with("notBefore="));
    }

    #[test]
    fn verify_rejects_an_expired_view_and_a_foreign_chain() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = CertPaths::new(dir.path());
        tls::create_self_signed(&paths, "a.example.test").expect("create");
        let far_future = now() + 3650 * 86_400;
        let err = verify(&paths.server_key(), &paths.server_cert(), None, far_future)
            .expect_err("expired");
        assert!(err.to_string().contains("expired"), "{err}");

        let other = tempfile::tempdir().expect("tempdir");
        let other_paths = CertPaths::new(other.path());
        tls::create_self_signed(&other_paths, "b.example.test").expect("create");
        // The leaf of one home with the CA of another does not chain.
        let leaf_only = dir.path().join("leaf.pem");
        let text = fs::read_to_string(paths.server_cert()).expect("read");
        let end = text.find("-----END CERTIFICATE-----").expect("pem") + 26;
        fs::write(&leaf_only, &text[..end]).expect("write");
        let err = verify(
            &paths.server_key(),
            &leaf_only,
            Some(&other_paths.ca_cert()),
            now(),
        )
        .expect_err("foreign chain");
        assert!(err.to_string().contains("not signed by"), "{err}");
    }

    #[test]
    fn commercial_flow_csr_then_deploy_then_back_to_self() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = CertPaths::new(dir.path());
        tls::create_self_signed(&paths, "mail.example.test").expect("create");
        let csr = create_csr(
            &paths,
            "/C=US/O=Example/CN=mail.example.test",
            &["webmail.example.test".into()],
        )
        .expect("csr");
        assert!(csr.contains("BEGIN CERTIFICATE REQUEST"));

        // Play the commercial CA: sign the pending key with a CA of our own.
        let ca_key = KeyPair::generate().expect("key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Test Commercial CA");
        let ca = ca_params.self_signed(&ca_key).expect("ca");
        let pending = paths.commercial_key().with_extension("key.pending");
        let leaf_key =
            KeyPair::from_pem(&fs::read_to_string(&pending).expect("pending")).expect("key");
        let mut leaf_params =
            CertificateParams::new(vec!["mail.example.test".to_string()]).expect("params");
        leaf_params.subject_alt_names.push(SanType::DnsName(
            "webmail.example.test".try_into().expect("name"),
        ));
        let leaf = leaf_params
            .signed_by(&leaf_key, &ca, &ca_key)
            .expect("sign");
        let cert_file = dir.path().join("commercial.crt.in");
        let chain_file = dir.path().join("chain.pem");
        fs::write(&cert_file, leaf.pem()).expect("write");
        fs::write(&chain_file, ca.pem()).expect("write");

        let deployed =
            deploy_commercial(&paths, &cert_file, &chain_file, None, now()).expect("deploy");
        assert!(deployed.issuer.contains("Test Commercial CA"));
        assert_eq!(paths.active().0, paths.commercial_cert());

        // A chain that does not sign the leaf is refused and changes nothing.
        let wrong_chain = paths.ca_cert();
        assert!(deploy_commercial(&paths, &cert_file, &wrong_chain, None, now()).is_err());
        assert!(view(&paths.commercial_cert()).is_ok());

        deploy_self(&paths, "mail.example.test").expect("self");
        assert_eq!(paths.active().0, paths.server_cert());
    }

    #[test]
    fn subjects_parse_and_reject_junk() {
        let dn = parse_subject("/C=US/ST=N/L=Town/O=Org/OU=Unit/CN=host").expect("parse");
        assert_eq!(dn.len(), 6);
        assert!(parse_subject("/CN").is_err());
        assert!(parse_subject("/XX=1").is_err());
    }
}
