//! `zmdkimkeyutil`: the DKIM signing keys of our domains (spec 02 §1.6). Each domain
//! has at most one key, kept as `<dir>/<domain>/<selector>.private` (PKCS#8 PEM, mode
//! 0600) beside `<selector>.txt`, the DNS record to publish; the listeners load them
//! (`DkimKeys`) when they start or reload.
//!
//! Commands, as Zimbra's: `-a -d <domain> [-b <bits>] [-s <selector>]` adds a key,
//! `-u -d <domain> [-b <bits>] [-s <selector>]` replaces it (rotation: a new selector
//! unless one is given), `-r -d <domain>` removes it (the domain stops signing), `-q -d
//! <domain>` shows the selector, private key, DNS record and identity.
//!
//! Keys are RSA, made by the `openssl` program (as `opendkim-genkey` does for Zimbra).
//! The default size is 2048 bits, not Zimbra's 1024: RFC 8301 §3.2 wants 2048 and the
//! signer (ring) refuses RSA keys under 2048 bits, so `-b` below that is refused.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;

use crate::dkim::DkimKeys;

/// Usage text of the command.
pub const USAGE: &str = "usage: zmdkimkeyutil -a|-u|-r|-q -d <domain> [-b <bits>] [-s <selector>]\n\
  -a  add a DKIM key for the domain\n\
  -u  replace the domain's key (new selector unless -s)\n\
  -r  remove the domain's DKIM data (it stops signing)\n\
  -q  show the domain's selector, private key, DNS record and identity\n\
  -b  key size in bits (2048 to 8192, default 2048)\n\
  -s  selector (default: a new UUID in upper case)";

/// Smallest and largest RSA key the signer accepts.
const MIN_BITS: u32 = 2048;
const MAX_BITS: u32 = 8192;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum KeyUtilError {
    /// Bad arguments; the text says which.
    #[error("{0}\n{USAGE}")]
    Usage(String),
    /// `-a` for a domain that has a key already.
    #[error("domain {0} already has DKIM data; use -u to replace it")]
    Exists(String),
    /// `-u`, `-r` or `-q` for a domain without a key.
    #[error("domain {0} has no DKIM data")]
    Missing(String),
    /// The key could not be made (the `openssl` program failed or is absent).
    #[error("cannot make a key: {0}")]
    KeyGen(String),
    /// Reading or writing the key files failed.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// The action asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Add,
    Update,
    Remove,
    Query,
}

/// Parsed arguments.
#[derive(Debug)]
struct Args {
    action: Action,
    domain: String,
    bits: u32,
    selector: Option<String>,
}

fn parse_args(args: &[String]) -> Result<Args, KeyUtilError> {
    let usage = |m: &str| KeyUtilError::Usage(m.to_string());
    let mut action = None;
    let (mut domain, mut bits, mut selector) = (None, MIN_BITS, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let set = |want: Action, action: &mut Option<Action>| match action {
            Some(_) => Err(usage("give one of -a, -u, -r, -q")),
            None => {
                *action = Some(want);
                Ok(())
            }
        };
        match a.as_str() {
            "-a" => set(Action::Add, &mut action)?,
            "-u" => set(Action::Update, &mut action)?,
            "-r" => set(Action::Remove, &mut action)?,
            "-q" => set(Action::Query, &mut action)?,
            "-d" => domain = Some(it.next().ok_or_else(|| usage("-d needs a domain"))?),
            "-s" => selector = Some(it.next().ok_or_else(|| usage("-s needs a selector"))?),
            "-b" => {
                let v = it
                    .next()
                    .ok_or_else(|| usage("-b needs a number of bits"))?;
                bits = v.parse().map_err(|_| usage("-b needs a number of bits"))?;
            }
            other => return Err(usage(&format!("unknown argument {other}"))),
        }
    }
    let action = action.ok_or_else(|| usage("give one of -a, -u, -r, -q"))?;
    let domain = domain
        .ok_or_else(|| usage("-d <domain> is required"))?
        .trim()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if !crate::restrictions::is_hostname(&domain) {
        return Err(usage("the domain is not a domain name"));
    }
    if !(MIN_BITS..=MAX_BITS).contains(&bits) {
        return Err(usage(&format!(
            "keys of {bits} bits are not supported: {MIN_BITS} to {MAX_BITS} (RFC 8301 §3.2)"
        )));
    }
    if let Some(s) = &selector
        && !crate::restrictions::is_hostname(s)
    {
        return Err(usage("a selector is one or more DNS labels"));
    }
    Ok(Args {
        action,
        domain,
        bits,
        selector: selector.cloned(),
    })
}

/// A domain's stored key: its selector and PEM text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredKey {
    /// The DKIM selector (`s=`).
    pub selector: String,
    /// The private key, PEM.
    pub pem: String,
}

/// The key of `domain` under `dir`, if any (the first `.private` file by name).
///
/// # Errors
///
/// `KeyUtilError::Io` when the domain's directory or key cannot be read.
pub fn stored_key(dir: &Path, domain: &str) -> Result<Option<StoredKey>, KeyUtilError> {
    let ddir = dir.join(domain);
    let entries = match std::fs::read_dir(&ddir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(KeyUtilError::Io(ddir, e)),
    };
    let mut keys: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("private"))
        .collect();
    keys.sort();
    let Some(path) = keys.into_iter().next() else {
        return Ok(None);
    };
    let selector = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    let pem = std::fs::read_to_string(&path).map_err(|e| KeyUtilError::Io(path.clone(), e))?;
    Ok(Some(StoredKey { selector, pem }))
}

/// Runs one command over the keys under `dir` (`$ZCS_HOME/conf/dkim`) and returns what
/// to print.
///
/// # Errors
///
/// See [`KeyUtilError`].
pub fn run(args: &[String], dir: &Path) -> Result<String, KeyUtilError> {
    let args = parse_args(args)?;
    let existing = stored_key(dir, &args.domain)?;
    let domain = args.domain.as_str();
    match args.action {
        Action::Add | Action::Update => {
            match (&existing, args.action) {
                (Some(_), Action::Add) => return Err(KeyUtilError::Exists(domain.into())),
                (None, Action::Update) => return Err(KeyUtilError::Missing(domain.into())),
                _ => {}
            }
            let selector = args
                .selector
                .clone()
                .filter(|s| existing.as_ref().is_none_or(|k| &k.selector != s))
                .unwrap_or_else(|| zcs_core::ZimbraId::new().to_string().to_ascii_uppercase());
            let pem = generate_rsa(args.bits)?;
            let record = dns_record(&selector, &pem)?;
            save(dir, domain, &selector, &pem, &record)?;
            if let Some(old) = &existing {
                remove_files(dir, domain, &old.selector)?;
            }
            let verb = if args.action == Action::Add {
                "added"
            } else {
                "updated"
            };
            Ok(format!(
                "DKIM data {verb} for domain {domain} with selector {selector}\n\
                 Public signature to enter into DNS:\n{record}\n"
            ))
        }
        Action::Remove => {
            let Some(old) = existing else {
                return Err(KeyUtilError::Missing(domain.into()));
            };
            remove_files(dir, domain, &old.selector)?;
            let ddir = dir.join(domain);
            // Other files the operator left there keep the directory.
            let _ = std::fs::remove_dir(&ddir);
            Ok(format!("DKIM data removed for domain {domain}\n"))
        }
        Action::Query => {
            let Some(key) = existing else {
                return Err(KeyUtilError::Missing(domain.into()));
            };
            let record = dns_record(&key.selector, &key.pem)?;
            let mut out = String::new();
            let _ = write!(
                out,
                "DKIM Domain:\n{domain}\n\nDKIM Selector:\n{}\n\nDKIM Private Key:\n{}\n\n\
                 DKIM Public signature:\n{record}\n\nDKIM Identity:\n{domain}\n",
                key.selector,
                key.pem.trim_end()
            );
            Ok(out)
        }
    }
}

/// A new RSA private key of `bits` bits, PKCS#8 PEM, checked to load in the signer.
fn generate_rsa(bits: u32) -> Result<String, KeyUtilError> {
    let out = Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt"])
        .arg(format!("rsa_keygen_bits:{bits}"))
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| KeyUtilError::KeyGen(format!("openssl: {e}")))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(KeyUtilError::KeyGen(format!("openssl genpkey: {why}")));
    }
    let pem = String::from_utf8(out.stdout)
        .map_err(|_| KeyUtilError::KeyGen("openssl gave no PEM text".into()))?;
    DkimKeys::new()
        .add_pem("check.invalid", "check", &pem)
        .map_err(|e| KeyUtilError::KeyGen(e.to_string()))?;
    Ok(pem)
}

/// The public key of `pem` as DER SubjectPublicKeyInfo, base64 (RFC 6376 §3.6.1 `p=`).
fn public_key_b64(pem: &str) -> Result<String, KeyUtilError> {
    let mut child = Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| KeyUtilError::KeyGen(format!("openssl: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(pem.as_bytes())
            .map_err(|e| KeyUtilError::KeyGen(format!("openssl pkey: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| KeyUtilError::KeyGen(format!("openssl pkey: {e}")))?;
    if !out.status.success() || out.stdout.is_empty() {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(KeyUtilError::KeyGen(format!("openssl pkey: {why}")));
    }
    Ok(base64::engine::general_purpose::STANDARD.encode(out.stdout))
}

/// The DNS record to publish for `selector`: `<selector>._domainkey IN TXT "v=DKIM1;
/// k=rsa; p=<key>"` (RFC 6376 §3.6.1), the key split into 255-octet strings
/// (RFC 1035 §3.3.14) when longer.
pub fn dns_record(selector: &str, pem: &str) -> Result<String, KeyUtilError> {
    let text = format!("v=DKIM1; k=rsa; p={}", public_key_b64(pem)?);
    let parts: Vec<String> = text
        .as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    Ok(format!("{selector}._domainkey IN TXT {}", parts.join(" ")))
}

/// Writes the key (mode 0600, through a temporary file and a rename) and its record.
fn save(
    dir: &Path,
    domain: &str,
    selector: &str,
    pem: &str,
    record: &str,
) -> Result<(), KeyUtilError> {
    let ddir = dir.join(domain);
    std::fs::create_dir_all(&ddir).map_err(|e| KeyUtilError::Io(ddir.clone(), e))?;
    let write = |name: String, text: &str, private: bool| -> Result<(), KeyUtilError> {
        let path = ddir.join(&name);
        let tmp = ddir.join(format!(".{name}.tmp"));
        let io = |e| KeyUtilError::Io(tmp.clone(), e);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut f = opts.open(&tmp).map_err(io)?;
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(|e| KeyUtilError::Io(path.clone(), e))
    };
    write(format!("{selector}.txt"), &format!("{record}\n"), false)?;
    write(format!("{selector}.private"), pem, true)
}

/// Removes the key and record files of `selector`.
fn remove_files(dir: &Path, domain: &str, selector: &str) -> Result<(), KeyUtilError> {
    for ext in ["private", "txt"] {
        let path = dir.join(domain).join(format!("{selector}.{ext}"));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(KeyUtilError::Io(path, e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn arguments() {
        let a = parse_args(&args("-a -d Example.COM.")).expect("valid");
        assert_eq!(
            (a.action, a.domain.as_str(), a.bits),
            (Action::Add, "example.com", 2048)
        );
        let a = parse_args(&args("-u -d x.test -b 4096 -s sel1")).expect("valid");
        assert_eq!(
            (a.action, a.bits, a.selector.as_deref()),
            (Action::Update, 4096, Some("sel1"))
        );
        for bad in [
            "",
            "-a",
            "-d x.test",
            "-a -q -d x.test",
            "-a -d",
            "-a -d bad_domain!",
            "-a -d x.test -b 1024",
            "-a -d x.test -b lots",
            "-a -d x.test -s a/b",
            "-a -d x.test --force",
        ] {
            assert!(
                matches!(parse_args(&args(bad)), Err(KeyUtilError::Usage(_))),
                "{bad}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn arguments_never_panic(words in proptest::collection::vec("[-a-z0-9.!/]{0,8}", 0..6)) {
            let _ = parse_args(&words);
        }
    }
}
