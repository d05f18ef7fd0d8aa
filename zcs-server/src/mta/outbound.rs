//! Mail that local delivery sends back out: forwarded copies, list members on other
//! servers, Sieve redirects, vacation replies and DSN-like notices. Everything goes
//! into the durable queue, so it is retried and bounced like any other message.
//!
//! Forwarding loops are stopped the way Postfix stops them: each copy we send on gets a
//! `Delivered-To: <account>` field, and a message that already carries one for the
//! account being forwarded for is not forwarded again.

use zcs_mta::milter::{MilterContext, MilterOutcome, MilterSettings, run_milters};
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

/// The milters for mail that does not come in over SMTP (`zimbraMtaNonSmtpdMilters`),
/// as the MTA settings were last built (at start and on each reload).
static NON_SMTPD_MILTERS: std::sync::RwLock<Option<MilterSettings>> = std::sync::RwLock::new(None);

/// Remembers the `zimbraMtaNonSmtpdMilters` settings for [`enqueue_submitted`].
pub fn set_non_smtpd_milters(settings: MilterSettings) {
    *NON_SMTPD_MILTERS.write().unwrap_or_else(|p| p.into_inner()) = Some(settings);
}

fn non_smtpd_milters() -> Option<MilterSettings> {
    NON_SMTPD_MILTERS
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .filter(|s| !s.milters.is_empty())
}

/// As [`enqueue`], for mail a user submits without SMTP (web client, SOAP `SendMsg`):
/// the sender domain's disclaimer is added ([`super::disclaimers::with_disclaimer`]),
/// then the `zimbraMtaNonSmtpdMilters` milters see it (Postfix's `non_smtpd_milters`),
/// and their verdict and edits apply. `Ok("")` when a milter discarded it; `Err` with
/// the milter's reply text when it refused.
pub async fn enqueue_submitted(
    queue: &Queue,
    account: &str,
    sender: &str,
    recipients: &[String],
    data: &[u8],
) -> Result<String, String> {
    let with = super::disclaimers::with_disclaimer(sender, recipients, data).await;
    let data = with.as_deref().unwrap_or(data);
    let Some(settings) = non_smtpd_milters() else {
        return enqueue(queue, sender, recipients, data).await;
    };
    let id = zcs_mta::queue::QueueId::generate().to_string();
    let ctx = MilterContext {
        hostname: &queue.config().hostname,
        client_ip: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        helo: "localhost",
        mail_from: sender,
        rcpts: recipients,
        authenticated: Some(account),
        id: &id,
    };
    match run_milters(&settings, ctx, data).await {
        MilterOutcome::Deliver(edit) => {
            let mut rcpts: Vec<String> = recipients
                .iter()
                .filter(|r| !edit.del_rcpts.iter().any(|d| d.eq_ignore_ascii_case(r)))
                .cloned()
                .collect();
            rcpts.extend(edit.add_rcpts.iter().cloned());
            let from = edit.new_from.as_deref().unwrap_or(sender);
            let content = edit.content.as_deref().unwrap_or(data);
            // LIMITATION: a milter's quarantine is logged; submitted mail is not held.
            if let Some(reason) = &edit.quarantine {
                tracing::warn!(
                    account,
                    reason,
                    "milter quarantine of submitted mail ignored"
                );
            }
            enqueue(queue, from, &rcpts, content).await
        }
        MilterOutcome::Discard => {
            tracing::info!(account, "submitted message discarded by milter");
            Ok(String::new())
        }
        MilterOutcome::Reject(code, (c, s, d), text)
        | MilterOutcome::TempFail(code, (c, s, d), text) => {
            Err(format!("{code} {c}.{s}.{d} {text}"))
        }
    }
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

    /// A milter that refuses every message at the end of body unless its body says
    /// "fine"; then it adds a header field.
    async fn judging_milter() -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use zcs_mta::milter::codec::{self, Command, Response, action};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut body = Vec::new();
                    loop {
                        let mut prefix = [0u8; 4];
                        if s.read_exact(&mut prefix).await.is_err() {
                            return;
                        }
                        let mut p = vec![0u8; codec::packet_len(prefix).unwrap()];
                        s.read_exact(&mut p).await.unwrap();
                        let replies = match codec::decode_command(&p).unwrap() {
                            Command::OptNeg { .. } => vec![Response::OptNeg {
                                version: 6,
                                actions: action::ADD_HEADERS,
                                protocol: 0,
                            }],
                            Command::Macro { .. } => vec![],
                            Command::Quit => return,
                            Command::Body(b) => {
                                body.extend(b);
                                vec![Response::Continue]
                            }
                            Command::EndOfBody if body.windows(4).any(|w| w == b"fine") => vec![
                                Response::AddHeader("X-Checked".into(), "yes".into()),
                                Response::Continue,
                            ],
                            Command::EndOfBody => {
                                vec![Response::ReplyCode("550 5.7.1 not today".into())]
                            }
                            _ => vec![Response::Continue],
                        };
                        for r in replies {
                            s.write_all(&r.encode()).await.unwrap();
                        }
                    }
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn submitted_mail_goes_through_the_non_smtpd_milters() {
        use zcs_mta::milter::MilterAddress;
        use zcs_mta::queue::{QueueConfig, QueueName};
        let tmp = tempfile::tempdir().unwrap();
        let queue = Queue::open(tmp.path().join("q"), QueueConfig::default()).unwrap();
        set_non_smtpd_milters(MilterSettings {
            milters: vec![MilterAddress {
                addr: judging_milter().await,
            }],
            ..MilterSettings::default()
        });
        let rcpts = vec!["bob@remote.test".to_string()];
        let refused = enqueue_submitted(
            &queue,
            "a@d.test",
            "a@d.test",
            &rcpts,
            b"S: x\r\n\r\nno\r\n",
        )
        .await;
        assert_eq!(refused, Err("550 5.7.1 not today".to_string()));
        assert!(queue.list(QueueName::Incoming).unwrap().is_empty());
        let ok = enqueue_submitted(
            &queue,
            "a@d.test",
            "a@d.test",
            &rcpts,
            b"S: x\r\n\r\nfine\r\n",
        )
        .await;
        assert!(ok.is_ok(), "{ok:?}");
        let ids = queue.list(QueueName::Incoming).unwrap();
        let file = queue.read(QueueName::Incoming, &ids[0]).unwrap();
        assert!(String::from_utf8_lossy(&file.message).contains("X-Checked: yes\r\n"));
        set_non_smtpd_milters(MilterSettings::default());
    }
}
