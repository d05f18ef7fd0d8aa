//! The `Received` trace header we put in front of every message (RFC 5321 §4.4) and the
//! message ids it carries. The exact layout is documented on `InboundMessage`. Also the
//! `Date` and `Message-ID` fields added to mail from authenticated clients
//! that lacks them ([`missing_origin_fields`]), as Postfix does for
//! `local_header_rewrite_clients`.

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

/// Whether `line` (without its line end) starts a header field: a field name of
/// printable ASCII other than `:`, then `:` (RFC 5322 §2.2). Whitespace before the colon
/// is tolerated, as in the obsolete syntax (§4.5).
fn field_name(line: &[u8]) -> Option<&[u8]> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = line[..colon].trim_ascii_end();
    let printable = |b: &u8| (33..=126).contains(b) && *b != b':';
    (!name.is_empty() && name.iter().all(printable)).then_some(name)
}

/// The `Date` and `Message-ID` fields `content` (the client's message, header section
/// first) lacks, CRLF-terminated, to put in front of it: RFC 5322 §3.6 requires an
/// origination date and §3.6.4 asks for a message identifier. `date` is an RFC 5322
/// date-time; the identifier is `<timestamp.id@hostname>`, unique because `id` is. When
/// the content does not start with a header field or an empty line (a message without
/// header section), the result ends with an empty line so the content stays body.
/// Empty when both fields are present.
pub(crate) fn missing_origin_fields(
    content: &[u8],
    id: &str,
    hostname: &str,
    date: &str,
) -> Vec<u8> {
    let (mut has_date, mut has_id) = (false, false);
    let mut starts_with_header = false;
    for (n, raw) in content.split(|&b| b == b'\n').enumerate() {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.is_empty() {
            starts_with_header |= n == 0;
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            continue; // RFC 5322 §2.2.3 folded continuation
        }
        let Some(name) = field_name(line) else { break };
        starts_with_header |= n == 0;
        has_date |= name.eq_ignore_ascii_case(b"Date");
        has_id |= name.eq_ignore_ascii_case(b"Message-ID");
    }
    let mut out = String::new();
    if !has_date {
        out.push_str(&format!("Date: {date}\r\n"));
    }
    if !has_id {
        let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S");
        out.push_str(&format!(
            "Message-ID: <{stamp}.{id}@{}>\r\n",
            header_safe(hostname)
        ));
    }
    if !out.is_empty() && !starts_with_header {
        out.push_str("\r\n");
    }
    out.into_bytes()
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

    const DATE: &str = "Tue, 3 Mar 2026 09:04:05 +0000";

    #[test]
    fn origin_fields_only_when_missing() {
        let full = b"From: a@b.c\r\nDATE : x\r\nmessage-id: <1@x>\r\n\r\nbody\r\n";
        assert!(missing_origin_fields(full, "ID1", "mx.example", DATE).is_empty());
        let out = missing_origin_fields(b"From: a@b.c\r\n\r\nDate: body\r\n", "ID1", "mx", DATE);
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("Date: Tue, 3 Mar 2026 09:04:05 +0000\r\nMessage-ID: <"));
        assert!(out.ends_with(".ID1@mx>\r\n"), "{out}");
        // A folded field whose continuation says "Date:" is not a Date field.
        let folded = b"Subject: x\r\n Date: y\r\nMessage-ID: <1@x>\r\n\r\n";
        let out = missing_origin_fields(folded, "I", "mx", DATE);
        assert_eq!(out, format!("Date: {DATE}\r\n").into_bytes());
    }

    #[test]
    fn origin_fields_keep_a_headerless_body_a_body() {
        let out = missing_origin_fields(b"just text\r\n", "I", "mx", DATE);
        assert!(out.ends_with(b">\r\n\r\n"));
        let out = missing_origin_fields(b"\r\nbody\r\n", "I", "mx", DATE);
        assert!(out.ends_with(b">\r\n") && !out.ends_with(b"\r\n\r\n"));
        let out = missing_origin_fields(b"", "I", "mx", DATE);
        assert!(out.ends_with(b">\r\n") && !out.ends_with(b"\r\n\r\n"));
    }

    proptest::proptest! {
        #[test]
        fn origin_fields_never_panic(content: Vec<u8>) {
            let out = missing_origin_fields(&content, "I", "mx", DATE);
            proptest::prop_assert!(out.is_empty() || out.starts_with(b"Date: ")
                || out.starts_with(b"Message-ID: "));
        }
    }
}
