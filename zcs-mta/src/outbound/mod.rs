//! Outbound delivery: the [`Transport`] trait the queue manager delivers through, and
//! its implementations — [`LocalTransport`] (hands to [`crate::LocalDelivery`]) and
//! [`SmtpTransport`] (MX lookup or a relay host, opportunistic STARTTLS, mail-send as
//! the client) — plus the DNS seam [`Resolver`].
//!
//! A transport reports one [`Attempt`] per recipient and never touches the queue; the
//! manager turns attempts into recipient states, retries and DSNs.

mod local;
mod resolver;
mod smtp;

use async_trait::async_trait;

pub use local::LocalTransport;
pub use resolver::{
    DnsError, MxRecord, Resolver, StaticResolver, SystemResolver, UnavailableResolver,
};
pub use smtp::{RelayHost, RelaySource, SmtpTransport, SmtpTransportConfig};

use crate::queue::file::Envelope;

/// A message handed to a transport: the queue id, the envelope (only the recipients to
/// try now are in [`OutboundMessage::recipients`]) and the octets to send.
#[derive(Clone, Copy, Debug)]
pub struct OutboundMessage<'a> {
    /// The queue id, for logs and trace fields.
    pub id: &'a str,
    /// The whole envelope (sender, DSN parameters, client).
    pub envelope: &'a Envelope,
    /// The addresses to deliver to in this attempt, all in one destination domain.
    pub recipients: &'a [String],
    /// The message.
    pub data: &'a [u8],
}

/// How one delivery attempt to one recipient ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted by the next hop or stored locally.
    Delivered,
    /// Failed temporarily (4xx, connection failures, DNS timeouts): retry later.
    Deferred,
    /// Failed for good (5xx, no such domain): bounce.
    Bounced,
}

/// The result for one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// What happened.
    pub outcome: Outcome,
    /// The reply or reason, e.g. `550 5.1.1 <bob@example.org>: user unknown` or
    /// `connect to mx.example.org[192.0.2.1]:25: Connection refused`. One line.
    pub reply: String,
    /// The host that gave the reply, for the DSN `Remote-MTA` field.
    pub remote_mta: Option<String>,
    /// Whether the reply is an SMTP reply (`smtp;` diagnostic) rather than our own text.
    pub smtp_reply: bool,
}

impl Attempt {
    /// An attempt whose reply is our own text (no remote server said it).
    pub fn local(outcome: Outcome, reason: impl Into<String>) -> Attempt {
        Attempt {
            outcome,
            reply: one_line(&reason.into()),
            remote_mta: None,
            smtp_reply: false,
        }
    }

    /// Classifies an SMTP reply (RFC 5321 §4.2.1): 2xx delivered, 4xx deferred, anything
    /// else bounced.
    pub fn from_reply(code: u16, text: &str, remote_mta: Option<&str>) -> Attempt {
        let outcome = match code {
            200..=299 => Outcome::Delivered,
            400..=499 => Outcome::Deferred,
            _ => Outcome::Bounced,
        };
        Attempt {
            outcome,
            reply: one_line(&format!("{code} {text}")),
            remote_mta: remote_mta.map(str::to_string),
            smtp_reply: true,
        }
    }
}

/// Folds a possibly multi-line reply into one line (CR, LF and other controls become
/// spaces) so it is safe in logs, queue files and DSN fields.
pub(crate) fn one_line(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    out.truncate(out.trim_end().len());
    out
}

/// One way of delivering mail. Called concurrently; each call is one attempt.
#[async_trait]
pub trait Transport: Send + Sync {
    /// Tries to deliver `message` to each of `message.recipients`; returns one attempt per
    /// recipient, same order (a missing entry counts as deferred). Must not return
    /// `Delivered` before the next hop or the store has taken responsibility.
    async fn deliver(&self, message: OutboundMessage<'_>) -> Vec<Attempt>;
}

/// The domain part of an address (after the last `@`), lower-cased; `""` if none.
pub fn domain_of(address: &str) -> String {
    address
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_classify_by_class() {
        assert_eq!(
            Attempt::from_reply(250, "ok", None).outcome,
            Outcome::Delivered
        );
        assert_eq!(
            Attempt::from_reply(451, "later", None).outcome,
            Outcome::Deferred
        );
        assert_eq!(
            Attempt::from_reply(550, "no", None).outcome,
            Outcome::Bounced
        );
        assert_eq!(
            Attempt::from_reply(0, "junk", None).outcome,
            Outcome::Bounced
        );
        assert_eq!(Attempt::from_reply(451, "a\r\nb", None).reply, "451 a  b");
    }

    #[test]
    fn domains() {
        assert_eq!(domain_of("a@B.Example"), "b.example");
        assert_eq!(domain_of("\"a@b\"@c.d"), "c.d");
        assert_eq!(domain_of("postmaster"), "");
    }
}
