//! The `Received` trace header we put in front of every message (RFC 5321 §4.4) and the
//! message ids it carries. The exact layout is documented on `InboundMessage`.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A fresh message id: microseconds since the epoch and a process-wide counter, in
/// upper-case hex. Unique within the process.
pub(crate) fn new_message_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{micros:X}{:05X}", n & 0xF_FFFF)
}

/// The `TCP-info` address literal for `ip` (RFC 5321 §4.1.3): `[192.0.2.1]` or
/// `[IPv6:2001:db8::1]`; IPv4-mapped IPv6 addresses are shown as IPv4.
pub(crate) fn address_literal(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("[{v4}]"),
        IpAddr::V6(v6) => format!("[IPv6:{v6}]"),
    }
}

/// Keeps header text printable ASCII; anything else becomes `?`.
fn header_safe(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

/// Builds the three-line `Received` field, CRLF-terminated.
pub(crate) fn received_header(
    helo: &str,
    ip: IpAddr,
    hostname: &str,
    with: &str,
    id: &str,
    date: &str,
) -> Vec<u8> {
    format!(
        "Received: from {} ({})\r\n\tby {} with {with} id {id};\r\n\t{date}\r\n",
        header_safe(helo),
        address_literal(ip),
        header_safe(hostname),
    )
    .into_bytes()
}

/// The current time as an RFC 5322 §3.3 date-time in UTC.
pub(crate) fn rfc5322_now() -> String {
    chrono::Utc::now()
        .format("%a, %-d %b %Y %H:%M:%S +0000")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout() {
        let h = received_header(
            "client.example",
            "192.0.2.7".parse().unwrap(),
            "mx.example",
            "ESMTP",
            "ABC",
            "Tue, 3 Mar 2026 09:04:05 +0000",
        );
        assert_eq!(
            String::from_utf8(h).unwrap(),
            "Received: from client.example ([192.0.2.7])\r\n\tby mx.example with ESMTP id ABC;\
             \r\n\tTue, 3 Mar 2026 09:04:05 +0000\r\n"
        );
        assert_eq!(
            address_literal("::ffff:10.0.0.1".parse().unwrap()),
            "[10.0.0.1]"
        );
        assert_eq!(address_literal("::1".parse().unwrap()), "[IPv6:::1]");
        assert_eq!(header_safe("é x"), "??x");
    }

    #[test]
    fn ids_are_distinct_and_dates_parse() {
        assert_ne!(new_message_id(), new_message_id());
        let d = rfc5322_now();
        assert!(chrono::DateTime::parse_from_rfc2822(&d).is_ok(), "{d}");
    }
}
