//! Delivery status notifications: the `multipart/report` messages (RFC 3464, RFC 6522)
//! the queue sends back to a message's envelope sender when recipients fail, are
//! delayed, or (when asked with RFC 3461 `NOTIFY=SUCCESS`) were delivered.
//!
//! Pure functions that build message octets; deciding who gets a DSN (never the null
//! sender, `NOTIFY` honoured) is the queue manager's job.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::queue::file::Ret;

/// Postfix's `bounce_size_limit`: above this the whole message is not returned, only its
/// headers.
pub const RETURN_SIZE_LIMIT: usize = 50_000;

/// Which notice to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DsnKind {
    /// Some recipients failed for good (`Action: failed`).
    Failure,
    /// Some recipients are still being retried (`Action: delayed`).
    Delay,
    /// Some recipients got the message (`Action: delivered` / `relayed`).
    Success,
}

/// One recipient's part of the report (RFC 3464 §2.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DsnRecipient {
    /// `Final-Recipient: rfc822; <address>`.
    pub address: String,
    /// `Original-Recipient`, the RFC 3461 `ORCPT` value as given (`rfc822;addr`).
    pub orcpt: Option<String>,
    /// `Action`: `failed`, `delayed`, `delivered` or `relayed`.
    pub action: &'static str,
    /// The reply or reason; becomes `Diagnostic-Code` and the status code source.
    pub diagnostic: String,
    /// Whether `diagnostic` is an SMTP reply (`smtp;` type) or our own text (`x-zcs;`).
    pub smtp: bool,
    /// `Remote-MTA: dns; <host>`.
    pub remote_mta: Option<String>,
}

/// Everything a report needs.
#[derive(Clone, Debug)]
pub struct DsnInput<'a> {
    /// Which notice.
    pub kind: DsnKind,
    /// Our host name (`Reporting-MTA`, `MAILER-DAEMON@host`).
    pub reporting_mta: &'a str,
    /// The queue id of the original message.
    pub queue_id: &'a str,
    /// The original envelope sender: the report goes to this address.
    pub sender: &'a str,
    /// RFC 3461 `ENVID` of the original message.
    pub envid: Option<&'a str>,
    /// RFC 3461 `RET` of the original message.
    pub ret: Option<Ret>,
    /// When the original message arrived (ms since the epoch).
    pub arrival_ms: i64,
    /// When the report is made (ms since the epoch).
    pub now_ms: i64,
    /// For delay notices: when retrying stops (ms since the epoch).
    pub retry_until_ms: Option<i64>,
    /// The recipients reported on.
    pub recipients: Vec<DsnRecipient>,
    /// The original message.
    pub original: &'a [u8],
}

fn rfc5322_date(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%a, %-d %b %Y %H:%M:%S +0000")
        .to_string()
}

/// A value safe in a header or a delivery-status field: one line, ASCII only.
fn field(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// The RFC 3463 status code in a reply (`550 5.1.1 ...` gives `5.1.1`), or the default
/// for the action when the reply has none.
pub fn status_code(diagnostic: &str, action: &str) -> String {
    let default_class = match action {
        "failed" => '5',
        "delayed" => '4',
        _ => '2',
    };
    for word in diagnostic.split_whitespace().take(2) {
        let parts: Vec<&str> = word.split('.').collect();
        if let [class, subject, detail] = parts[..]
            && class.len() == 1
            && class.starts_with(['2', '4', '5'])
            && (1..=3).contains(&subject.len())
            && (1..=3).contains(&detail.len())
            && subject
                .bytes()
                .chain(detail.bytes())
                .all(|b| b.is_ascii_digit())
        {
            // The class must agree with the action (a 4xx text on a bounce is a timeout).
            if class.starts_with(default_class) {
                return word.to_string();
            }
            return format!("{default_class}.{subject}.{detail}");
        }
    }
    format!("{default_class}.0.0")
}

/// The header block of a message (up to and including the blank line, or all of it).
fn headers_of(message: &[u8]) -> &[u8] {
    let crlf = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4);
    let lf = message.windows(2).position(|w| w == b"\n\n").map(|p| p + 2);
    let end = match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(message.len()),
    };
    &message[..end]
}

/// Builds the report message (headers and body, CRLF line endings). To be queued with
/// the null reverse path `<>` and the original sender as its only recipient.
pub fn build(input: &DsnInput<'_>) -> Vec<u8> {
    let host = field(input.reporting_mta);
    let boundary = format!("{}.{}/{}", field(input.queue_id), input.now_ms, host);
    let (subject, intro) = match input.kind {
        DsnKind::Failure => (
            "Undelivered Mail Returned to Sender",
            "your message could not be delivered to one or more recipients.\r\n\
             It is attached below. The reasons follow.",
        ),
        DsnKind::Delay => (
            "Delayed Mail (still being retried)",
            "your message could not be delivered yet to one or more recipients.\r\n\
             Delivery will be retried; you do not need to send it again.",
        ),
        DsnKind::Success => (
            "Successful Mail Delivery Report",
            "your message was delivered to the recipients below, as you asked.",
        ),
    };

    let mut out = String::new();
    let _ = write!(
        out,
        "From: MAILER-DAEMON@{host} (Mail Delivery System)\r\n\
         To: <{}>\r\n\
         Subject: {subject}\r\n\
         Date: {}\r\n\
         Message-ID: <{}.{}.dsn@{host}>\r\n\
         Auto-Submitted: auto-replied\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status;\r\n\
         \tboundary=\"{boundary}\"\r\n\
         \r\n\
         This is a MIME-encapsulated message.\r\n\r\n",
        field(input.sender),
        rfc5322_date(input.now_ms),
        field(input.queue_id),
        input.now_ms,
    );

    // RFC 6522 §3: first part, for humans.
    let _ = write!(
        out,
        "--{boundary}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Description: Notification\r\n\
         \r\n\
         This is the mail system at host {host}.\r\n\r\n\
         I'm sorry to have to inform you that {intro}\r\n\r\n"
    );
    for r in &input.recipients {
        let _ = write!(out, "<{}>: {}\r\n", field(&r.address), field(&r.diagnostic));
    }

    // RFC 3464 §2.2: per-message fields.
    let _ = write!(
        out,
        "\r\n--{boundary}\r\n\
         Content-Type: message/delivery-status\r\n\
         Content-Description: Delivery report\r\n\
         \r\n\
         Reporting-MTA: dns; {host}\r\n\
         X-Zcs-Queue-ID: {}\r\n",
        field(input.queue_id)
    );
    if let Some(envid) = input.envid {
        let _ = write!(out, "Original-Envelope-Id: {}\r\n", field(envid));
    }
    let _ = write!(out, "Arrival-Date: {}\r\n", rfc5322_date(input.arrival_ms));

    // RFC 3464 §2.3: per-recipient fields, each group after a blank line.
    for r in &input.recipients {
        let _ = write!(
            out,
            "\r\nFinal-Recipient: rfc822; {}\r\n",
            field(&r.address)
        );
        if let Some(orcpt) = &r.orcpt {
            let _ = write!(out, "Original-Recipient: {}\r\n", field(orcpt));
        }
        let _ = write!(
            out,
            "Action: {}\r\nStatus: {}\r\n",
            r.action,
            status_code(&r.diagnostic, r.action)
        );
        if let Some(mta) = &r.remote_mta {
            let _ = write!(out, "Remote-MTA: dns; {}\r\n", field(mta));
        }
        let kind = if r.smtp { "smtp" } else { "x-zcs" };
        let _ = write!(out, "Diagnostic-Code: {kind}; {}\r\n", field(&r.diagnostic));
        let _ = write!(out, "Last-Attempt-Date: {}\r\n", rfc5322_date(input.now_ms));
        if let (DsnKind::Delay, Some(until)) = (input.kind, input.retry_until_ms) {
            let _ = write!(out, "Will-Retry-Until: {}\r\n", rfc5322_date(until));
        }
    }

    // RFC 3461 §4.3 / RFC 3464 §2: the returned content. Only failures return the
    // whole message, and only when RET is not HDRS and it is not too large.
    let full = input.kind == DsnKind::Failure
        && input.ret != Some(Ret::Hdrs)
        && input.original.len() <= RETURN_SIZE_LIMIT;
    let (ctype, content) = if full {
        ("message/rfc822", input.original)
    } else {
        ("text/rfc822-headers", headers_of(input.original))
    };
    let _ = write!(out, "\r\n--{boundary}\r\nContent-Type: {ctype}\r\n");
    if !content.is_ascii() {
        out.push_str("Content-Transfer-Encoding: 8bit\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(content);
    if !content.ends_with(b"\n") {
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MimeHeaders;
    use proptest::prelude::*;

    fn input<'a>(kind: DsnKind, original: &'a [u8], diag: &str) -> DsnInput<'a> {
        DsnInput {
            kind,
            reporting_mta: "mta.example.com",
            queue_id: "ABC123",
            sender: "alice@example.com",
            envid: Some("env-1"),
            ret: None,
            arrival_ms: 1_764_850_000_000,
            now_ms: 1_764_850_600_000,
            retry_until_ms: Some(1_765_282_000_000),
            recipients: vec![DsnRecipient {
                address: "bob@example.org".into(),
                orcpt: Some("rfc822;bob@example.org".into()),
                action: match kind {
                    DsnKind::Failure => "failed",
                    DsnKind::Delay => "delayed",
                    DsnKind::Success => "delivered",
                },
                diagnostic: diag.into(),
                smtp: true,
                remote_mta: Some("mx.example.org".into()),
            }],
            original,
        }
    }

    #[test]
    fn status_codes() {
        assert_eq!(status_code("550 5.1.1 no such user", "failed"), "5.1.1");
        assert_eq!(status_code("451 4.3.0 later", "delayed"), "4.3.0");
        assert_eq!(status_code("451 4.4.1 timeout", "failed"), "5.4.1");
        assert_eq!(status_code("connection refused", "failed"), "5.0.0");
        assert_eq!(status_code("250 ok", "delivered"), "2.0.0");
    }

    #[test]
    fn failure_report_has_the_three_parts() {
        let original = b"Subject: hello\r\nFrom: alice@example.com\r\n\r\nbody\r\n";
        let dsn = build(&input(DsnKind::Failure, original, "550 5.1.1 user unknown"));
        let parsed = mail_parser::MessageParser::default().parse(&dsn).unwrap();
        let ct = parsed.root_part().content_type().unwrap();
        assert_eq!(ct.ctype(), "multipart");
        assert_eq!(ct.subtype(), Some("report"));
        assert_eq!(ct.attribute("report-type"), Some("delivery-status"));
        let text = String::from_utf8_lossy(&dsn);
        assert!(text.contains("Content-Type: message/delivery-status"));
        assert!(text.contains("Final-Recipient: rfc822; bob@example.org"));
        assert!(text.contains("Original-Recipient: rfc822;bob@example.org"));
        assert!(text.contains("Action: failed\r\nStatus: 5.1.1"));
        assert!(text.contains("Diagnostic-Code: smtp; 550 5.1.1 user unknown"));
        assert!(text.contains("Original-Envelope-Id: env-1"));
        assert!(text.contains("Content-Type: message/rfc822"));
        assert!(text.contains("body"));
        assert!(text.contains("To: <alice@example.com>"));
    }

    #[test]
    fn ret_hdrs_and_delay_return_headers_only() {
        let original = b"Subject: hello\r\n\r\nsecret body\r\n";
        let mut i = input(DsnKind::Failure, original, "550 5.1.1 x");
        i.ret = Some(Ret::Hdrs);
        let text = String::from_utf8(build(&i)).unwrap();
        assert!(text.contains("text/rfc822-headers"));
        assert!(!text.contains("secret body"));

        let text =
            String::from_utf8(build(&input(DsnKind::Delay, original, "451 4.3.0 x"))).unwrap();
        assert!(text.contains("Action: delayed\r\nStatus: 4.3.0"));
        assert!(text.contains("Will-Retry-Until:"));
        assert!(!text.contains("secret body"));
    }

    proptest! {
        #[test]
        fn prop_reports_parse_and_never_inject(
            diag in "(?s).{0,60}",
            address in "(?s).{0,30}",
            original in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let mut i = input(DsnKind::Failure, &original, &diag);
            i.recipients[0].address = address;
            let dsn = build(&i);
            let parsed = mail_parser::MessageParser::default().parse(&dsn);
            prop_assert!(parsed.is_some());
            let parsed = parsed.unwrap();
            prop_assert_eq!(parsed.subject(), Some("Undelivered Mail Returned to Sender"));
            // Exactly one Status line per recipient and a valid code in it.
            let text = String::from_utf8_lossy(&dsn).into_owned();
            let status: Vec<&str> = text.lines().filter(|l| l.starts_with("Status: ")).collect();
            prop_assert_eq!(status.len(), 1);
            let code = &status[0]["Status: ".len()..];
            prop_assert!(code.starts_with("5."));
            // The delivery-status part cannot be broken by the diagnostic text.
            prop_assert_eq!(text.matches("\r\nFinal-Recipient: ").count(), 1);
        }
    }
}
