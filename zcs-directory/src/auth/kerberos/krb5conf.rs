//! Where a realm's KDCs are: a reader for the parts of MIT's `krb5.conf` profile format
//! the `kerberos5` mechanism needs, `[libdefaults] default_realm` and the `kdc` relations
//! of each realm under `[realms]`.
//!
//! The file is found as the Kerberos libraries find it: the `KRB5_CONFIG` environment
//! variable (a colon-separated list of files, read in order), else `/etc/krb5.conf`.
//! The reader is lenient: a line it does not understand is skipped, never an error, and
//! no input makes it panic.
//!
//! ```text
//! [libdefaults]
//!     default_realm = EXAMPLE.COM
//! [realms]
//!     EXAMPLE.COM = {
//!         kdc = kdc1.example.com
//!         kdc = tcp/[2001:db8::1]:8888
//!     }
//! ```
//!
//! LIMITATION: no DNS SRV lookup of KDCs (`dns_lookup_kdc`), no `include`/`includedir`
//! directives, and no MS-KKDCP (`kdc = https://...`) proxies; such entries are skipped.

use std::fmt;
use std::path::{Path, PathBuf};

/// The file read when `KRB5_CONFIG` is unset.
pub const DEFAULT_KRB5_CONF: &str = "/etc/krb5.conf";

/// The KDC port when a `kdc` value names none (RFC 4120 §7.2.3.1).
pub const KDC_PORT: u16 = 88;

/// One KDC: a host name or IP address and a port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KdcAddr {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl KdcAddr {
    /// A KDC at `host:port`.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        KdcAddr {
            host: host.into(),
            port,
        }
    }
}

impl fmt::Display for KdcAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Parses one `kdc` value: `host`, `host:port`, `[v6addr]`, `[v6addr]:port`, or a bare
/// IPv6 address, optionally prefixed by `tcp/` or `udp/` (both are spoken over TCP
/// here). `None` for an empty host, a bad port, or a `https://` proxy URL.
pub fn parse_kdc(value: &str) -> Option<KdcAddr> {
    let v = value.split_whitespace().next()?;
    let v = v
        .strip_prefix("tcp/")
        .or_else(|| v.strip_prefix("udp/"))
        .unwrap_or(v);
    if v.contains("://") {
        return None;
    }
    let (host, port) = if let Some(rest) = v.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after {
            "" => KDC_PORT,
            p => p.strip_prefix(':')?.parse().ok()?,
        };
        (host, port)
    } else if v.matches(':').count() > 1 {
        (v, KDC_PORT)
    } else if let Some((host, port)) = v.split_once(':') {
        (host, port.parse().ok()?)
    } else {
        (v, KDC_PORT)
    };
    if host.is_empty() || port == 0 || host.contains(['[', ']', '/']) {
        return None;
    }
    Some(KdcAddr::new(host, port))
}

/// What the mechanism reads from `krb5.conf`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Krb5Conf {
    /// `[libdefaults] default_realm`, the first one seen.
    pub default_realm: Option<String>,
    /// Each realm under `[realms]` with its `kdc` values in file order. Realm names are
    /// case-sensitive (RFC 4120 §6.1).
    pub realms: Vec<(String, Vec<KdcAddr>)>,
}

/// A configuration file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read Kerberos configuration {path}: {source}")]
pub struct Krb5ConfError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

impl Krb5Conf {
    /// The files to read: the colon-separated `KRB5_CONFIG` list when set and not empty,
    /// else [`DEFAULT_KRB5_CONF`].
    pub fn default_paths() -> Vec<PathBuf> {
        match std::env::var_os("KRB5_CONFIG") {
            Some(v) if !v.is_empty() => std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect(),
            _ => vec![PathBuf::from(DEFAULT_KRB5_CONF)],
        }
    }

    /// Reads and merges `paths` in order (later files add realms and KDCs). A missing
    /// file is skipped as the Kerberos libraries skip it; it is an error only when none
    /// of them can be read.
    ///
    /// # Errors
    /// [`Krb5ConfError`] for the last file that failed when no file could be read.
    pub async fn load(paths: &[PathBuf]) -> Result<Krb5Conf, Krb5ConfError> {
        let mut text = String::new();
        let mut read_any = false;
        let mut last_err = None;
        for p in paths {
            match tokio::fs::read(p).await {
                Ok(bytes) => {
                    read_any = true;
                    text.push_str(&String::from_utf8_lossy(&bytes));
                    text.push('\n');
                }
                Err(source) => {
                    last_err = Some(Krb5ConfError {
                        path: p.clone(),
                        source,
                    })
                }
            }
        }
        match (read_any, last_err) {
            (false, Some(e)) => Err(e),
            _ => Ok(Krb5Conf::parse(&text)),
        }
    }

    /// Reads one file.
    ///
    /// # Errors
    /// [`Krb5ConfError`] when it cannot be read.
    pub async fn load_file(path: &Path) -> Result<Krb5Conf, Krb5ConfError> {
        Self::load(&[path.to_path_buf()]).await
    }

    /// Parses profile text. Comment lines start with `#` or `;`; a section header is
    /// `[name]`; a relation is `tag = value`; `tag = {` opens a subsection that `}`
    /// closes. A trailing `*` (the profile library's "final" mark) is ignored.
    pub fn parse(text: &str) -> Krb5Conf {
        let mut conf = Krb5Conf::default();
        let mut section = String::new();
        // The subsection path below the section: ["EXAMPLE.COM"] inside a realm.
        let mut path: Vec<String> = Vec::new();
        for raw in text.lines() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with(['#', ';']) {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                if let Some((name, _)) = rest.split_once(']') {
                    section = name.trim().to_ascii_lowercase();
                    path.clear();
                }
                continue;
            }
            if line.starts_with('}') {
                path.pop();
                continue;
            }
            let Some((tag, value)) = line.split_once('=') else {
                continue;
            };
            let tag = tag.trim();
            let value = value.trim();
            if let Some(after) = value.strip_prefix('{') {
                path.push(tag.to_string());
                // `tag = { }` on one line opens and closes at once.
                if after.trim_start().starts_with('}') {
                    path.pop();
                }
                continue;
            }
            let value = unquote(value.trim_end_matches('*').trim_end());
            match (section.as_str(), path.as_slice()) {
                ("libdefaults", [])
                    if tag == "default_realm"
                        && conf.default_realm.is_none()
                        && !value.is_empty() =>
                {
                    conf.default_realm = Some(value);
                }
                ("realms", [realm]) if tag == "kdc" => {
                    if let Some(kdc) = parse_kdc(&value) {
                        conf.realm_entry(realm).push(kdc);
                    }
                }
                _ => {}
            }
        }
        conf
    }

    /// The KDC list of `realm`, creating it empty.
    fn realm_entry(&mut self, realm: &str) -> &mut Vec<KdcAddr> {
        let i = match self.realms.iter().position(|(r, _)| r == realm) {
            Some(i) => i,
            None => {
                self.realms.push((realm.to_string(), Vec::new()));
                self.realms.len() - 1
            }
        };
        &mut self.realms[i].1
    }

    /// The KDCs of `realm` (an exact, case-sensitive match), in file order; empty when
    /// the realm is not configured.
    pub fn kdcs(&self, realm: &str) -> &[KdcAddr] {
        self.realms
            .iter()
            .find(|(r, _)| r == realm)
            .map(|(_, k)| k.as_slice())
            .unwrap_or(&[])
    }
}

/// Strips one pair of double quotes and resolves `\"`, `\\`, `\n` and `\t` inside them,
/// as the profile library does; an unquoted value is returned as it is.
fn unquote(v: &str) -> String {
    let Some(inner) = v.strip_prefix('"') else {
        return v.to_string();
    };
    let inner = inner.strip_suffix('"').unwrap_or(inner);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
# a comment
[libdefaults]
    default_realm = EXAMPLE.COM
    dns_lookup_kdc = false

[realms]
    EXAMPLE.COM = {
        kdc = kdc1.example.com
        kdc = kdc2.example.com:750
        admin_server = kdc1.example.com
        v4_name_convert = {
            host = {
                kdc = not-a-realm-kdc
            }
        }
        kdc = tcp/[2001:db8::1]:8888
    }
    OTHER.TEST = {
        kdc = "127.0.0.1:8888"
    }*
    EMPTY.TEST = { }

[domain_realm]
    .example.com = EXAMPLE.COM
    kdc = nope
"#;

    #[test]
    fn sample_file() {
        let c = Krb5Conf::parse(SAMPLE);
        assert_eq!(c.default_realm.as_deref(), Some("EXAMPLE.COM"));
        assert_eq!(
            c.kdcs("EXAMPLE.COM"),
            &[
                KdcAddr::new("kdc1.example.com", 88),
                KdcAddr::new("kdc2.example.com", 750),
                KdcAddr::new("2001:db8::1", 8888),
            ]
        );
        assert_eq!(c.kdcs("OTHER.TEST"), &[KdcAddr::new("127.0.0.1", 8888)]);
        assert!(c.kdcs("EMPTY.TEST").is_empty());
        assert!(
            c.kdcs("example.com").is_empty(),
            "realms are case-sensitive"
        );
        assert!(c.kdcs("NOPE").is_empty());
    }

    #[test]
    fn kdc_values() {
        assert_eq!(parse_kdc("h"), Some(KdcAddr::new("h", 88)));
        assert_eq!(parse_kdc("udp/h:89"), Some(KdcAddr::new("h", 89)));
        assert_eq!(parse_kdc("[::1]"), Some(KdcAddr::new("::1", 88)));
        assert_eq!(parse_kdc("::1"), Some(KdcAddr::new("::1", 88)));
        assert_eq!(parse_kdc("h:99 # comment"), Some(KdcAddr::new("h", 99)));
        assert_eq!(parse_kdc("https://proxy/KdcProxy"), None);
        assert_eq!(parse_kdc("h:0"), None);
        assert_eq!(parse_kdc("h:70000"), None);
        assert_eq!(parse_kdc("h:x"), None);
        assert_eq!(parse_kdc(":88"), None);
        assert_eq!(parse_kdc("[::1"), None);
        assert_eq!(parse_kdc("[::1]x"), None);
        assert_eq!(parse_kdc(""), None);
        assert_eq!(KdcAddr::new("::1", 88).to_string(), "[::1]:88");
        assert_eq!(KdcAddr::new("h", 88).to_string(), "h:88");
    }

    #[test]
    fn quoting() {
        assert_eq!(unquote(r#""a\"b\\c""#), "a\"b\\c");
        assert_eq!(unquote("plain"), "plain");
        assert_eq!(unquote("\"open"), "open");
        assert_eq!(unquote("\"x\\"), "x\\");
    }

    #[test]
    fn unbalanced_braces_do_not_leak() {
        let c = Krb5Conf::parse("[realms]\n}\n}\nR = {\nkdc = a\n[libdefaults]\nkdc = b\n");
        assert_eq!(c.kdcs("R"), &[KdcAddr::new("a", 88)]);
        assert_eq!(c.realms.len(), 1);
    }

    #[tokio::test]
    async fn load_merges_and_skips_missing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a.conf");
        let b = dir.path().join("b.conf");
        std::fs::write(&a, "[realms]\nA.TEST = {\nkdc = a:1\n}\n").expect("write");
        std::fs::write(&b, "[realms]\nA.TEST = {\nkdc = b:2\n}\n").expect("write");
        let missing = dir.path().join("missing.conf");
        let c = Krb5Conf::load(&[a, missing.clone(), b])
            .await
            .expect("load");
        assert_eq!(
            c.kdcs("A.TEST"),
            &[KdcAddr::new("a", 1), KdcAddr::new("b", 2)]
        );
        let err = Krb5Conf::load_file(&missing).await.expect_err("missing");
        assert!(err.to_string().contains("missing.conf"), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "(?s).{0,400}") {
            let _ = Krb5Conf::parse(&s);
        }

        #[test]
        fn structured_noise_never_panics(
            lines in proptest::collection::vec(
                "(\\[|\\]|\\{|\\}|=|kdc|realms|libdefaults|R|:|\\*|\"|\\\\| |[a-z0-9.]){0,20}",
                0..30,
            )
        ) {
            let c = Krb5Conf::parse(&lines.join("\n"));
            for (_, kdcs) in &c.realms {
                for k in kdcs {
                    proptest::prop_assert!(!k.host.is_empty() && k.port != 0);
                }
            }
        }

        #[test]
        fn kdc_roundtrip(host in "[a-z][a-z0-9.-]{0,20}", port in 1u16..) {
            let k = KdcAddr::new(host, port);
            proptest::prop_assert_eq!(parse_kdc(&k.to_string()), Some(k));
        }
    }
}
