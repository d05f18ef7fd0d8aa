//! Clients behind a proxy: which peers may say where a connection really comes from,
//! and reading what they say.
//!
//! A proxy in front of the server (Zimbra's nginx, a load balancer, a webmail) names
//! the client it speaks for: HTTP proxies with `X-Originating-IP` or `X-Forwarded-For`
//! and `Via`, IMAP proxies with the `X-ORIGINATING-IP` and `X-VIA` fields of `ID`
//! (RFC 2971), POP3 proxies with `XOIP`. The claim is believed only from a peer listed
//! in the global config's `zimbraMailTrustedIP` (addresses or networks) or on loopback,
//! as Zimbra does; from anyone else it is ignored, so a client cannot hide behind a
//! made-up address. A believed address becomes the `oip` field of the session's log
//! context and the address that failed-login throttling counts.

use std::net::IpAddr;

use zcs_directory::Provisioning;
use zcs_mta::Cidr;

/// The global config attribute listing trusted proxies.
pub const TRUSTED_ATTR: &str = "zimbraMailTrustedIP";

/// Longest `Via` value kept for the log (a proxy chain, not an essay).
const MAX_VIA: usize = 200;

/// Whether `peer` may name the originating client: it is on loopback or inside one of
/// `trusted` (addresses or CIDR networks; unparsable values are skipped).
pub fn is_trusted(trusted: &[String], peer: IpAddr) -> bool {
    if peer.to_canonical().is_loopback() {
        return true;
    }
    trusted
        .iter()
        .flat_map(|v| v.split([' ', ',']))
        .filter_map(|w| w.trim().parse::<Cidr>().ok())
        .any(|net| net.contains(peer))
}

/// [`is_trusted`] against the global config. An unreadable directory trusts no one
/// but loopback.
pub async fn peer_trusted(prov: &Provisioning, peer: IpAddr) -> bool {
    if peer.to_canonical().is_loopback() {
        return true;
    }
    match prov.global_config().await {
        Ok(g) => is_trusted(g.attrs.get_all(TRUSTED_ATTR), peer),
        Err(e) => {
            tracing::debug!(error = %e, "global config unreadable; proxy not trusted");
            false
        }
    }
}

/// One address as a proxy writes it: bare, `[bracketed]`, or with a port
/// (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
pub fn parse_addr(text: &str) -> Option<IpAddr> {
    let t = text.trim().trim_matches('"');
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = t.strip_prefix('[') {
        let inner = rest.split(']').next()?;
        return inner.parse().ok();
    }
    let (host, port) = t.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<IpAddr>().ok().filter(IpAddr::is_ipv4)
}

/// The originating client named by HTTP headers: `X-Originating-IP` first, else the
/// left-most address of `X-Forwarded-For` (the client; the rest are proxies).
pub fn from_headers(originating: Option<&str>, forwarded_for: Option<&str>) -> Option<IpAddr> {
    originating.and_then(parse_addr).or_else(|| {
        forwarded_for
            .and_then(|v| v.split(',').next())
            .and_then(parse_addr)
    })
}

/// A `Via` value fit for one log field: control characters dropped, length bounded.
pub fn clean_via(via: &str) -> Option<String> {
    let v: String = via
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_VIA)
        .collect();
    let v = v.trim().to_string();
    (!v.is_empty()).then_some(v)
}

/// Records a believed originating address and proxy chain in the current span (the
/// session's log context; see `listener::session_span`).
pub fn record(oip: Option<IpAddr>, via: Option<&str>) {
    let span = tracing::Span::current();
    if let Some(ip) = oip {
        span.record("oip", ip.to_string().as_str());
    }
    if let Some(v) = via.and_then(clean_via) {
        span.record("via", v.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn loopback_and_listed_networks_are_trusted() {
        let list = vec![
            "10.1.0.0/16".to_string(),
            "192.0.2.7 198.51.100.1".to_string(),
        ];
        assert!(is_trusted(&[], ip("127.0.0.1")));
        assert!(is_trusted(&[], ip("::1")));
        assert!(is_trusted(&list, ip("10.1.200.3")));
        assert!(is_trusted(&list, ip("192.0.2.7")));
        assert!(is_trusted(&list, ip("198.51.100.1")));
        assert!(!is_trusted(&list, ip("10.2.0.1")));
        assert!(!is_trusted(&list, ip("203.0.113.5")));
        assert!(!is_trusted(&["garbage".to_string()], ip("203.0.113.5")));
    }

    #[test]
    fn addresses_in_the_forms_proxies_write() {
        assert_eq!(parse_addr("203.0.113.9"), Some(ip("203.0.113.9")));
        assert_eq!(parse_addr(" [203.0.113.9] "), Some(ip("203.0.113.9")));
        assert_eq!(parse_addr("203.0.113.9:4711"), Some(ip("203.0.113.9")));
        assert_eq!(parse_addr("[2001:db8::1]:4711"), Some(ip("2001:db8::1")));
        assert_eq!(parse_addr("2001:db8::1"), Some(ip("2001:db8::1")));
        assert_eq!(parse_addr("unknown"), None);
        assert_eq!(parse_addr(""), None);
    }

    #[test]
    fn originating_header_wins_then_first_forwarded_for() {
        assert_eq!(
            from_headers(Some("198.51.100.4"), Some("203.0.113.1, 10.0.0.1")),
            Some(ip("198.51.100.4"))
        );
        assert_eq!(
            from_headers(None, Some("203.0.113.1, 10.0.0.1")),
            Some(ip("203.0.113.1"))
        );
        assert_eq!(from_headers(Some("nonsense"), None), None);
        assert_eq!(from_headers(None, None), None);
    }

    #[test]
    fn via_is_one_bounded_line() {
        assert_eq!(
            clean_via("1.1 proxy\r\nX: y").as_deref(),
            Some("1.1 proxyX: y")
        );
        assert_eq!(clean_via("  ").as_deref(), None);
        assert_eq!(clean_via(&"v".repeat(1000)).map(|v| v.len()), Some(MAX_VIA));
    }
}
