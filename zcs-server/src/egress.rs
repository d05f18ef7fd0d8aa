//! Where a server-side fetch a user asked for (a folder's feed or remote calendar URL)
//! may connect: the address check Zimbra added to its feed manager against server-side
//! request forgery, with the same local config keys. An address in
//! `zimbra_feed_manager_whitelist` is allowed; else one in
//! `zimbra_feed_manager_blacklist` is refused; anything else is allowed. The check runs
//! on the addresses the name resolves to, and the connection goes to the address that
//! was checked, so a name cannot resolve to one address for the check and another for
//! the connection; every redirect hop is a new fetch and is checked again.
//!
//! Zimbra's default list holds the private ranges (10/8, 172.16/12, 192.168/16, fd00::/8);
//! zcs also refuses loopback, link-local (cloud metadata services answer there) and
//! "this network" addresses by default, since this server's own admin and mail ports
//! listen on loopback. An operator who serves feeds from such an address lists it in
//! the whitelist.
//!
//! An `https:` fetch ([`connect_tls`]) checks the server's certificate against the
//! system's root certificates (read once, through `rustls-native-certs`, which honours
//! `SSL_CERT_FILE` and `SSL_CERT_DIR`) plus the PEM certificates of local config
//! `zcs_feed_ca_file` (a zcs key: a site's private certificate authority, or a test's).

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock, RwLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::localconfig::LocalConfig;

/// The default of `zimbra_feed_manager_blacklist`.
/// Beyond Zimbra's private ranges: loopback, link-local, "this network", carrier-grade
/// NAT (100.64/10), multicast and broadcast, unique-local IPv6 (fc00::/7), and the IPv6
/// forms that carry an IPv4 address (IPv4-compatible ::/96, NAT64 64:ff9b::/96, 6to4
/// 2002::/16); [`EgressPolicy::permits`] also checks the IPv4 address such forms embed.
pub const DEFAULT_BLACKLIST: &str = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fd00::/8,\
     127.0.0.0/8,::1/128,169.254.0.0/16,fe80::/10,0.0.0.0/8,::/128,::/96,64:ff9b::/96,\
     2002::/16,fc00::/7,100.64.0.0/10,224.0.0.0/4,255.255.255.255/32";

/// One address range: an address and how many leading bits must match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Range {
    addr: IpAddr,
    bits: u8,
}

impl Range {
    /// Parses `a.b.c.d`, `a.b.c.d/n`, an IPv6 address or `x::/n`.
    pub fn parse(text: &str) -> Option<Range> {
        let (ip, bits) = match text.trim().split_once('/') {
            Some((ip, bits)) => (ip, Some(bits.trim().parse::<u8>().ok()?)),
            None => (text.trim(), None),
        };
        let addr: IpAddr = ip.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(max);
        (bits <= max).then_some(Range { addr, bits })
    }

    /// Whether `ip` is inside this range (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(r), IpAddr::V4(a)) => prefix_eq(&r.octets(), &a.octets(), self.bits),
            (IpAddr::V6(r), IpAddr::V6(a)) => prefix_eq(&r.octets(), &a.octets(), self.bits),
            _ => false,
        }
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// The IPv4 address inside an IPv4-compatible (`::a.b.c.d`, RFC 4291 §2.5.5.1), NAT64
/// (`64:ff9b::/96`, RFC 6052 §2.1) or 6to4 (`2002:V4ADDR::/48`, RFC 3056 §2) address.
fn embedded_v4(ip: IpAddr) -> Option<std::net::Ipv4Addr> {
    const NAT64: [u8; 12] = [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];
    let IpAddr::V6(v6) = ip else { return None };
    let o = v6.octets();
    let last = std::net::Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    let compatible = o[..12].iter().all(|b| *b == 0) && u32::from(last) > 1;
    if compatible || o[..12] == NAT64 {
        Some(last)
    } else if o[..2] == [0x20, 0x02] {
        Some(std::net::Ipv4Addr::new(o[2], o[3], o[4], o[5]))
    } else {
        None
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let whole = usize::from(bits / 8);
    let rest = bits % 8;
    if a[..whole] != b[..whole] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    (a[whole] & mask) == (b[whole] & mask)
}

/// The ranges a fetch may not reach, the exceptions, and the certificate authorities
/// trusted for `https:` besides the system's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EgressPolicy {
    deny: Vec<Range>,
    allow: Vec<Range>,
    extra_roots: Vec<CertificateDer<'static>>,
}

impl EgressPolicy {
    /// The policy of two comma-separated lists; words that are not addresses or ranges
    /// are skipped (and logged).
    pub fn from_lists(blacklist: &str, whitelist: &str) -> EgressPolicy {
        EgressPolicy {
            deny: ranges(blacklist),
            allow: ranges(whitelist),
            extra_roots: Vec::new(),
        }
    }

    /// This policy trusting `roots` too (beside the system's) for `https:` fetches.
    pub fn with_extra_roots(mut self, roots: Vec<CertificateDer<'static>>) -> EgressPolicy {
        self.extra_roots = roots;
        self
    }

    /// The policy of a home's local config (its defaults when unset): the two lists and
    /// the certificates of the PEM file `zcs_feed_ca_file` (a file that cannot be read
    /// is logged and adds none).
    pub fn from_local_config(lc: &LocalConfig) -> EgressPolicy {
        let policy = EgressPolicy::from_lists(
            &lc.get("zimbra_feed_manager_blacklist")
                .unwrap_or_else(|| DEFAULT_BLACKLIST.to_string()),
            &lc.get("zimbra_feed_manager_whitelist").unwrap_or_default(),
        );
        match lc.get("zcs_feed_ca_file").filter(|f| !f.trim().is_empty()) {
            Some(file) => policy.with_extra_roots(pem_certificates(file.trim())),
            None => policy,
        }
    }

    /// Whether a fetch may connect to `ip`.
    /// An IPv6 address that embeds an IPv4 one (IPv4-compatible, NAT64, 6to4) must pass
    /// the check as that IPv4 address too.
    pub fn permits(&self, ip: IpAddr) -> bool {
        let one = |ip: IpAddr| {
            self.allow.iter().any(|r| r.contains(ip)) || !self.deny.iter().any(|r| r.contains(ip))
        };
        one(ip) && embedded_v4(ip).is_none_or(|v4| one(IpAddr::V4(v4)))
    }
}

impl Default for EgressPolicy {
    fn default() -> Self {
        EgressPolicy::from_lists(DEFAULT_BLACKLIST, "")
    }
}

/// The certificates of a PEM file; none (logged) when it cannot be read.
fn pem_certificates(file: &str) -> Vec<CertificateDer<'static>> {
    match CertificateDer::pem_file_iter(file) {
        Ok(iter) => iter.filter_map(Result::ok).collect(),
        Err(e) => {
            tracing::warn!(file, error = %e, "zcs_feed_ca_file: cannot be read");
            Vec::new()
        }
    }
}

fn ranges(list: &str) -> Vec<Range> {
    list.split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .filter_map(|w| {
            let r = Range::parse(w);
            if r.is_none() {
                tracing::warn!(
                    entry = w,
                    "feed manager address list: not an address or range"
                );
            }
            r
        })
        .collect()
}

/// The policy in force: set by the server at start from its local config.
static POLICY: RwLock<Option<EgressPolicy>> = RwLock::new(None);

/// Sets the policy every later fetch checks (the server calls it at start).
pub fn set_policy(policy: EgressPolicy) {
    let mut p = POLICY.write().unwrap_or_else(|e| e.into_inner());
    *p = Some(policy);
}

/// The policy in force: the one set, else the defaults.
pub fn policy() -> EgressPolicy {
    POLICY
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default()
}

/// Resolves `host` and connects to the first of its addresses the policy permits.
///
/// # Errors
/// A text for the user: the name does not resolve, every address is refused (naming
/// the setting), or the connection fails.
pub async fn connect(host: &str, port: u16) -> Result<TcpStream, String> {
    connect_with(&policy(), host, port).await
}

async fn connect_with(policy: &EgressPolicy, host: &str, port: u16) -> Result<TcpStream, String> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("{host}: {e}"))?
        .collect();
    let Some(addr) = addrs.iter().find(|a| policy.permits(a.ip())) else {
        let shown = addrs
            .first()
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        tracing::info!(host, address = %shown, "feed fetch refused: blocked address");
        return Err(format!(
            "address {shown} of {host} is blocked (zimbra_feed_manager_blacklist; \
             an operator can allow it with zimbra_feed_manager_whitelist)"
        ));
    };
    TcpStream::connect(addr).await.map_err(|e| e.to_string())
}

/// The system's root certificates, read once (they may be none: a host without a
/// certificate bundle then reaches only servers of `zcs_feed_ca_file`'s authorities).
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!(error = %e, "system root certificates: not all could be read");
        }
        tracing::debug!(roots = found.certs.len(), "system root certificates read");
        found.certs
    })
}

/// The TLS client settings of a fetch: ring provider, safe protocol versions, the
/// system's roots plus the policy's own.
fn client_config(policy: &EgressPolicy) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(system_roots().iter().cloned());
    roots.add_parsable_certificates(policy.extra_roots.iter().cloned());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// As [`connect`], then a TLS handshake (RFC 8446) checking that the server's
/// certificate chains to a trusted root and names `host` (RFC 6125; an address literal
/// must be among its IP addresses).
///
/// # Errors
/// As [`connect`], plus a failed handshake or certificate check.
pub async fn connect_tls(host: &str, port: u16) -> Result<TlsStream<TcpStream>, String> {
    let policy = policy();
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| format!("{host}: not a valid server name"))?;
    let config = client_config(&policy)?;
    let tcp = connect_with(&policy, host, port).await?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS with {host}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn defaults_refuse_private_loopback_and_link_local_only() {
        let p = EgressPolicy::default();
        for blocked in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd12::1",
            "::ffff:127.0.0.1",
            "::",
            // Attack review: IPv6 forms embedding IPv4, CGNAT, multicast, broadcast.
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::1",
            "fc00::1",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!p.permits(ip(blocked)), "{blocked}");
        }
        for open in ["8.8.8.8", "172.32.0.1", "192.169.0.1", "2001:db8::1"] {
            assert!(p.permits(ip(open)), "{open}");
        }
    }

    #[test]
    fn the_whitelist_beats_the_blacklist() {
        let p = EgressPolicy::from_lists(DEFAULT_BLACKLIST, "127.0.0.1, 10.100.100.0/24");
        assert!(p.permits(ip("127.0.0.1")));
        assert!(!p.permits(ip("127.0.0.2")));
        assert!(p.permits(ip("10.100.100.7")));
        assert!(!p.permits(ip("10.100.101.7")));
        // An embedded IPv4 address is checked against the IPv4 rules even when the
        // IPv6 prefix is not listed.
        let p = EgressPolicy::from_lists("127.0.0.0/8", "");
        assert!(!p.permits(ip("::127.0.0.1")));
        assert!(!p.permits(ip("2002:7f00:1::")));
        assert!(!p.permits(ip("64:ff9b::127.0.0.1")));
        assert!(p.permits(ip("2002:808:808::1")));
    }

    #[test]
    fn ranges_parse_strictly() {
        assert!(Range::parse("10.0.0.0/33").is_none());
        assert!(Range::parse("nonsense").is_none());
        assert!(Range::parse("::/129").is_none());
        assert_eq!(Range::parse(" 1.2.3.4 ").map(|r| r.bits), Some(32));
        assert!(Range::parse("1.2.3.0/0").is_some_and(|r| r.contains(ip("9.9.9.9"))));
    }

    proptest::proptest! {
        #[test]
        fn range_parsing_never_panics(s in ".{0,40}") {
            let _ = Range::parse(&s);
            let _ = EgressPolicy::from_lists(&s, &s);
        }
    }

    #[tokio::test]
    async fn connect_refuses_a_blocked_address_before_connecting() {
        // No policy set in this process: the defaults apply.
        let e = connect("127.0.0.1", 9).await.expect_err("refused");
        assert!(e.contains("blocked"), "{e}");
    }
}
