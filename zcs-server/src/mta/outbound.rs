//! Mail that local delivery sends back out: forwarded copies, list members on other
//! servers, Sieve redirects, vacation replies and DSN-like notices. Everything goes
//! into the durable queue, so it is retried and bounced like any other message.
//!
//! Forwarding loops are stopped the way Postfix stops them: each copy we send on gets a
//! `Delivered-To: <account>` field, and a message that already carries one for the
//! account being forwarded for is not forwarded again.

use zcs_mta::queue::{Envelope, Queue, RcptState, Recipient};

/// Most `Received` fields a message may carry before we stop passing it on
/// (Postfix's `hopcount_limit`, 50).
pub const HOP_LIMIT: usize = 50;

/// Queues `data` from `sender` (`""` for the null sender) to `recipients`. Returns the
/// queue id, or the error text (logged by the caller).
///
/// Cost: one fsynced file write.
pub async fn enqueue(
    queue: &Queue,
    sender: &str,
    recipients: &[String],
    data: &[u8],
) -> Result<String, String> {
    if recipients.is_empty() {
        return Err("no recipients".into());
    }
    let envelope = Envelope {
        sender: sender.to_string(),
        recipients: recipients
            .iter()
            .map(|r| Recipient {
                address: r.clone(),
                notify: None,
                orcpt: None,
                state: RcptState::Pending,
            })
            .collect(),
        ret: None,
        envid: None,
        client: None,
    };
    queue
        .enqueue(envelope, data)
        .await
        .map(|id| id.to_string())
        .map_err(|e| e.to_string())
}

/// Queues `data` to `recipients` through `queue` if there is one; true when queued.
/// Failures are logged (never the content).
pub async fn send_on(
    queue: Option<&Queue>,
    sender: &str,
    recipients: &[String],
    data: &[u8],
) -> bool {
    let Some(queue) = queue else {
        tracing::warn!("no queue: copy not sent on");
        return false;
    };
    match enqueue(queue, sender, recipients, data).await {
        Ok(qid) => {
            tracing::info!(qid, count = recipients.len(), "queued copy for sending on");
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot queue copy");
            false
        }
    }
}

/// The header block of a message: everything up to the first empty line.
pub fn header_block(data: &[u8]) -> &[u8] {
    let end = data
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 2)
        .or_else(|| data.windows(2).position(|w| w == b"\n\n").map(|p| p + 1))
        .unwrap_or(data.len());
    &data[..end]
}

/// The values of header field `name` (case-insensitive, unfolded, trimmed).
pub fn header_values(data: &[u8], name: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(header_block(data));
    let mut out: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in text.split('\n') {
        let line = line.trim_end_matches('\r');
        if line.starts_with([' ', '\t']) {
            if let Some(c) = current.as_mut() {
                c.push(' ');
                c.push_str(line.trim());
            }
            continue;
        }
        if let Some(c) = current.take() {
            out.push(c);
        }
        if let Some((field, value)) = line.split_once(':')
            && field.trim().eq_ignore_ascii_case(name)
        {
            current = Some(value.trim().to_string());
        }
    }
    if let Some(c) = current {
        out.push(c);
    }
    out
}

/// Whether passing `data` on for `account` would loop: it already has
/// `Delivered-To: account`, or more than [`HOP_LIMIT`] `Received` fields.
pub fn would_loop(data: &[u8], account: &str) -> bool {
    header_values(data, "Delivered-To")
        .iter()
        .any(|v| v.eq_ignore_ascii_case(account))
        || header_values(data, "Received").len() > HOP_LIMIT
}

/// `data` with header fields put in front (each `Name: value`, CRLF-terminated).
pub fn prepend_headers(fields: &[(&str, &str)], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 128);
    for (name, value) in fields {
        // Header injection: a value never carries a line break.
        let value: String = value.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loop_marker_and_headers() {
        let m = b"Delivered-To: a@x.test\r\nSubject: hi\r\n there\r\n\r\nDelivered-To: b@x\r\n";
        assert!(would_loop(m, "A@x.test"));
        assert!(!would_loop(m, "b@x"));
        assert_eq!(header_values(m, "subject"), vec!["hi there"]);
        let p = prepend_headers(&[("Delivered-To", "c@x\r\nBcc: evil")], m);
        assert!(p.starts_with(b"Delivered-To: c@xBcc: evil\r\nDelivered-To: a@x.test"));
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn header_parsing_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = header_values(&data, "Received");
            let _ = would_loop(&data, "a@b");
        }
    }
}
