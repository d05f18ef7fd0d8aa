//! The welcome mail of auto-provisioned accounts (spec 03 §1.3): when the account's
//! domain sets `zimbraAutoProvNotificationFromAddress`, a message from that address is
//! delivered into the new account's mailbox, its subject and body from
//! `zimbraAutoProvNotificationSubject` / `zimbraAutoProvNotificationBody` (the domain's,
//! else the global config's, else Zimbra's defaults) with `${ACCOUNT_ADDRESS}` and
//! `${ACCOUNT_DISPLAY_NAME}` filled in. It goes through the server's local delivery
//! ([`MailDelivery`]), as any local message does (filters, quota, indexing).
//!
//! It is an auto-provisioning listener ([`AutoProvListener`]) registered under
//! [`WELCOME_LISTENER`] by [`register`]. The body is never logged.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use zcs_core::Entry;
use zcs_directory::Provisioning;
use zcs_directory::provisioning::autoprov::{AutoProvListener, register_auto_prov_listener};
use zcs_mta::{AcceptedRecipient, DeliveryOutcome, InboundMessage};

use crate::delivery::MailDelivery;

/// The name the welcome mail listener is registered under.
pub use zcs_directory::provisioning::autoprov::WELCOME_LISTENER;

/// Zimbra's default subject template.
pub const DEFAULT_SUBJECT: &str = "New account auto provisioned";
/// Zimbra's default body template.
pub const DEFAULT_BODY: &str =
    "Your account has been auto provisioned.  Your email address is ${ACCOUNT_ADDRESS}.";

/// The longest encoded word (RFC 2047 §2: at most 75 characters), in payload bytes
/// before base64 (45 bytes give 60 characters).
const WORD_BYTES: usize = 45;

/// Why a welcome mail was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum WelcomeError {
    #[error("zimbraAutoProvNotificationFromAddress is not an address: {0}")]
    BadFrom(String),
    #[error("delivery failed: {0}")]
    Delivery(String),
}

/// Fills `${ACCOUNT_ADDRESS}` and `${ACCOUNT_DISPLAY_NAME}` in `template`.
pub fn expand(template: &str, address: &str, display_name: &str) -> String {
    template
        .replace("${ACCOUNT_ADDRESS}", address)
        .replace("${ACCOUNT_DISPLAY_NAME}", display_name)
}

/// A header value on one line: line breaks and other control characters become
/// spaces, so no template can add a header.
fn one_line(v: &str) -> String {
    v.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `v` as an unstructured header value: as is when ASCII, else RFC 2047 §4.1 `B`
/// encoded words of UTF-8, folded between words.
pub fn encode_header(v: &str) -> String {
    let v = one_line(v);
    if v.is_ascii() {
        return v;
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in v.chars() {
        if chunk.len() + c.len_utf8() > WORD_BYTES {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(chunk);
    }
    words
        .iter()
        .map(|w| {
            let b = base64::engine::general_purpose::STANDARD.encode(w.as_bytes());
            format!("=?utf-8?B?{b}?=")
        })
        .collect::<Vec<_>>()
        .join("\r\n ")
}

/// Whether `a` can stand in `From:` as a bare address.
fn plain_address(a: &str) -> bool {
    match a.split_once('@') {
        Some((l, d)) => {
            !l.is_empty()
                && !d.is_empty()
                && !a
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || "<>\"(),;:".contains(c))
        }
        None => false,
    }
}

/// The welcome message (RFC 5322) from `from` to `to`, CRLF line endings, the body
/// as UTF-8 text (8bit, RFC 2045 §2.8).
pub fn compose(from: &str, to: &str, display_name: &str, subject: &str, body: &str) -> Vec<u8> {
    let date = chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S +0000");
    let host = from.rsplit_once('@').map(|(_, d)| d).unwrap_or("localhost");
    let id = format!("{:032x}", rand::random::<u128>());
    let to_field = if display_name.trim().is_empty() {
        to.to_string()
    } else if display_name.is_ascii() {
        let quoted = one_line(display_name)
            .replace('\\', "\\\\")
            .replace('"', "\\\"");
        format!("\"{quoted}\" <{to}>")
    } else {
        format!("{} <{to}>", encode_header(display_name))
    };
    let mut m = String::new();
    m.push_str(&format!("Date: {date}\r\n"));
    m.push_str(&format!("From: {from}\r\n"));
    m.push_str(&format!("To: {to_field}\r\n"));
    m.push_str(&format!("Subject: {}\r\n", encode_header(subject)));
    m.push_str(&format!("Message-ID: <{id}@{host}>\r\n"));
    m.push_str("MIME-Version: 1.0\r\n");
    m.push_str("Content-Type: text/plain; charset=utf-8\r\n");
    m.push_str("Content-Transfer-Encoding: 8bit\r\n\r\n");
    let body = body.replace("\r\n", "\n").replace('\r', "\n");
    for line in body.split('\n') {
        m.push_str(line);
        m.push_str("\r\n");
    }
    m.into_bytes()
}

/// The welcome mail sender; see the module documentation.
pub struct WelcomeMail {
    prov: Arc<Provisioning>,
    delivery: Arc<MailDelivery>,
}

impl WelcomeMail {
    /// A sender looking templates up in `prov` and delivering through `delivery`.
    pub fn new(prov: Arc<Provisioning>, delivery: Arc<MailDelivery>) -> WelcomeMail {
        WelcomeMail { prov, delivery }
    }

    /// A template attribute: the domain's value, else the global config's, else
    /// `default`.
    async fn template(&self, domain: &Entry, name: &str, default: &str) -> String {
        if let Some(v) = domain.attrs.get(name).filter(|v| !v.is_empty()) {
            return v.to_string();
        }
        match self.prov.global_config().await {
            Ok(g) => g
                .attrs
                .get(name)
                .filter(|v| !v.is_empty())
                .unwrap_or(default)
                .to_string(),
            Err(_) => default.to_string(),
        }
    }

    /// Delivers the welcome mail of `account` (just auto-provisioned in `domain`).
    /// `Ok(false)` when the domain sets no `zimbraAutoProvNotificationFromAddress`.
    ///
    /// # Errors
    /// [`WelcomeError`] for a malformed from address or a failed delivery.
    pub async fn send(&self, domain: &Entry, account: &Entry) -> Result<bool, WelcomeError> {
        let Some(from) = domain
            .attrs
            .get("zimbraAutoProvNotificationFromAddress")
            .map(str::trim)
            .filter(|v| !v.is_empty())
        else {
            return Ok(false);
        };
        if !plain_address(from) {
            return Err(WelcomeError::BadFrom(one_line(from)));
        }
        let display = account.attrs.get("displayName").unwrap_or("").to_string();
        let subject = self
            .template(domain, "zimbraAutoProvNotificationSubject", DEFAULT_SUBJECT)
            .await;
        let body = self
            .template(domain, "zimbraAutoProvNotificationBody", DEFAULT_BODY)
            .await;
        let subject = expand(&subject, &account.name, &display);
        let body = expand(&body, &account.name, &display);
        let data = compose(from, &account.name, &display, &subject, &body);
        let message = InboundMessage {
            id: format!("{:X}", rand::random::<u64>()),
            mail_from: from.to_string(),
            recipients: vec![AcceptedRecipient {
                address: account.name.clone(),
                canonical: account.name.clone(),
            }],
            data,
            trace_len: 0,
            remote_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            helo: "autoprov".into(),
            protocol: zcs_mta::Protocol::Lmtp,
            smtputf8: false,
        };
        match self.delivery.deliver_as(&message, true).await.pop() {
            Some(DeliveryOutcome::Delivered) => Ok(true),
            Some(DeliveryOutcome::TempFail(m)) | Some(DeliveryOutcome::PermFail(m)) => {
                Err(WelcomeError::Delivery(m))
            }
            None => Err(WelcomeError::Delivery("no outcome".into())),
        }
    }
}

#[async_trait]
impl AutoProvListener for WelcomeMail {
    async fn post_create(&self, domain: &Entry, account: &Entry, _external_dn: &str) {
        match self.send(domain, account).await {
            Ok(true) => {
                tracing::info!(account = %account.name, "auto-provisioning welcome mail delivered")
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(account = %account.name, error = %e,
                "auto-provisioning welcome mail not delivered"),
        }
    }
}

/// Registers the welcome mail listener under [`WELCOME_LISTENER`].
pub fn register(prov: Arc<Provisioning>, delivery: Arc<MailDelivery>) -> Arc<WelcomeMail> {
    let w = Arc::new(WelcomeMail::new(prov, delivery));
    register_auto_prov_listener(WELCOME_LISTENER, w.clone());
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            expand(
                "Hi ${ACCOUNT_DISPLAY_NAME} <${ACCOUNT_ADDRESS}>",
                "a@d.test",
                "Ann"
            ),
            "Hi Ann <a@d.test>"
        );
        assert_eq!(expand("${OTHER}", "a", "b"), "${OTHER}");
    }

    #[test]
    fn headers_are_one_line_and_encoded_when_not_ascii() {
        assert_eq!(encode_header("Hi\r\nBcc: x@y"), "Hi  Bcc: x@y");
        let e = encode_header("Grüße");
        assert_eq!(e, "=?utf-8?B?R3LDvMOfZQ==?=");
        let long = "é".repeat(60);
        for word in encode_header(&long).split("\r\n ") {
            assert!(word.len() <= 75, "{word}");
        }
    }

    #[test]
    fn the_message_has_from_to_subject_and_a_crlf_body() {
        let m = compose(
            "welcome@d.test",
            "a@d.test",
            "Ann \"A\"",
            "Hi Ann",
            "line1\nline2",
        );
        let m = String::from_utf8(m).expect("utf8");
        assert!(m.contains("\r\nFrom: welcome@d.test\r\n"), "{m}");
        assert!(
            m.contains("\r\nTo: \"Ann \\\"A\\\"\" <a@d.test>\r\n"),
            "{m}"
        );
        assert!(m.contains("\r\nSubject: Hi Ann\r\n"), "{m}");
        assert!(m.ends_with("\r\n\r\nline1\r\nline2\r\n"), "{m}");
        assert!(!plain_address("a b@c"));
        assert!(!plain_address("x"));
        assert!(plain_address("welcome@d.test"));
    }

    proptest! {
        #[test]
        fn encoded_headers_never_break_lines(s in "\\PC{0,80}") {
            let e = encode_header(&s);
            for (i, part) in e.split("\r\n").enumerate() {
                prop_assert!(!part.contains('\r') && !part.contains('\n'));
                if i > 0 {
                    prop_assert!(part.starts_with(' '));
                }
            }
        }
    }
}
