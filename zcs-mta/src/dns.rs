//! The DNS the MTA asks: which name servers (the operator may pin them, Zimbra's
//! `zimbraDNSMasterIP` idea, here the local config key `zcs_dns_servers`), parsed from a
//! list of addresses, and the mail-auth resolver built over them for SPF, DKIM, DMARC,
//! block lists and MX lookups.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mail_auth::MessageAuthenticator;
use mail_auth::hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};

/// The standard DNS port (RFC 1035 §4.2).
pub const DNS_PORT: u16 = 53;

/// A name server list or resolver that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DnsConfigError {
    /// An entry is not `address`, `address:port` or `[v6-address]:port`.
    #[error("bad name server {0:?}")]
    BadServer(String),
    /// The resolver could not be built (system configuration unreadable).
    #[error("resolver: {0}")]
    Resolver(String),
}

/// Parses a name server list: entries separated by commas and/or white space, each an
/// IPv4 or IPv6 address with an optional port (`127.0.0.1:5353`, `[::1]:5353`, `::1`).
/// The port defaults to 53. An empty list is `Ok(vec![])` (use the system's servers).
///
/// # Errors
/// The first entry that is not an address, or has port 0.
pub fn parse_name_servers(value: &str) -> Result<Vec<SocketAddr>, DnsConfigError> {
    value
        .split([',', ' ', '\t', '\n', ';'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let bad = || DnsConfigError::BadServer(w.to_string());
            let addr = if let Ok(ip) = w.parse::<IpAddr>() {
                SocketAddr::new(ip, DNS_PORT)
            } else {
                w.parse::<SocketAddr>().map_err(|_| bad())?
            };
            if addr.port() == 0 {
                return Err(bad());
            }
            Ok(addr)
        })
        .collect()
}

/// A resolver asking exactly `servers` over UDP then TCP (5-second timeout, 2 attempts,
/// never `/etc/hosts`), or the system's servers (`/etc/resolv.conf`) when `servers` is empty.
///
/// # Errors
/// The system configuration cannot be read (empty `servers` only).
pub fn authenticator(servers: &[SocketAddr]) -> Result<MessageAuthenticator, DnsConfigError> {
    authenticator_with_timeout(servers, Duration::from_secs(5), 2)
}

/// As [`authenticator`] with the time to wait for each answer and the number of tries
/// per server (at least 1) chosen by the caller; both apply to pinned `servers` only
/// (the system's configuration keeps its own).
///
/// # Errors
/// As [`authenticator`].
pub fn authenticator_with_timeout(
    servers: &[SocketAddr],
    timeout: Duration,
    attempts: usize,
) -> Result<MessageAuthenticator, DnsConfigError> {
    if servers.is_empty() {
        return MessageAuthenticator::new_system_conf()
            .map_err(|e| DnsConfigError::Resolver(e.to_string()));
    }
    let name_servers = servers
        .iter()
        .map(|addr| {
            let mut udp = ConnectionConfig::udp();
            udp.port = addr.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = addr.port();
            NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
        })
        .collect();
    let config = ResolverConfig::from_parts(None, vec![], name_servers);
    let mut opts = ResolverOpts::default();
    opts.timeout = timeout;
    opts.attempts = attempts.max(1);
    // Pinned servers are asked for everything, /etc/hosts included (block lists and
    // reverse names must come from DNS, as Postfix asks them).
    opts.use_hosts_file = ResolveHosts::Never;
    MessageAuthenticator::new(config, opts).map_err(|e| DnsConfigError::Resolver(e.to_string()))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn server_lists() {
        let got = parse_name_servers("127.0.0.1:5353, 10.0.0.1 [::1]:54;::2").unwrap();
        let want: Vec<SocketAddr> = vec![
            "127.0.0.1:5353".parse().unwrap(),
            "10.0.0.1:53".parse().unwrap(),
            "[::1]:54".parse().unwrap(),
            "[::2]:53".parse().unwrap(),
        ];
        assert_eq!(got, want);
        assert_eq!(parse_name_servers("  "), Ok(vec![]));
        assert!(parse_name_servers("dns.example").is_err());
        assert!(parse_name_servers("127.0.0.1:0").is_err());
        assert!(parse_name_servers("127.0.0.1:99999").is_err());
    }

    proptest! {
        #[test]
        fn server_list_parser_never_panics(s in "[0-9a-f:.\\[\\], ;]{0,48}") {
            let _ = parse_name_servers(&s);
        }

        #[test]
        fn written_lists_read_back(ips in proptest::collection::vec(any::<u32>(), 0..4),
                                   port in 1u16..) {
            let addrs: Vec<SocketAddr> = ips
                .iter()
                .map(|ip| SocketAddr::new(IpAddr::V4((*ip).into()), port))
                .collect();
            let text = addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ");
            prop_assert_eq!(parse_name_servers(&text), Ok(addrs));
        }
    }
}
