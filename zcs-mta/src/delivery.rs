//! The boundary between the listeners and whoever stores mail: the [`LocalDelivery`]
//! trait, the message handed over, and the answers expected back.
//!
//! This crate never touches the directory or the store; `zcs-server` implements
//! `LocalDelivery` on top of them.

use std::net::IpAddr;

use async_trait::async_trait;
use zcs_core::{FaultCode, ServiceError};

/// Which protocol a listener speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// SMTP (RFC 5321): one reply for the whole message after `DATA`.
    Smtp,
    /// LMTP (RFC 2033): one reply per accepted recipient after `DATA`.
    Lmtp,
}

/// Recipient lookup and final delivery, implemented outside this crate.
///
/// Both methods may be called concurrently from many sessions.
#[async_trait]
pub trait LocalDelivery: Send + Sync {
    /// Called at `RCPT TO` with the address as the client gave it (`local@domain`, the
    /// local part with its quotes if it was quoted, case untouched). The one address
    /// without `@` ever passed is the bare postmaster (`<Postmaster>` in any case), which
    /// RFC 5321 §4.5.1 obliges us to accept: map it to the postmaster account.
    ///
    /// `Local(canonical)` accepts the recipient (`250 2.1.5`); `Unknown` gives
    /// `550 5.1.1 <addr>: Recipient address rejected: User unknown`; `TempFail(msg)` gives
    /// `451` and `PermFail(msg)` gives `550`. A message may start with an enhanced status
    /// code of the matching class (`"4.2.1 mailbox in maintenance"`), used as is;
    /// otherwise `4.3.0` / `5.1.0` is sent.
    async fn resolve_recipient(&self, address: &str) -> RecipientStatus;

    /// As [`Self::resolve_recipient`], knowing who sends, so what the sender may not send
    /// to (a list whose `sendToDistList` right they lack) is refused at `RCPT`, before
    /// any data. The SMTP listeners call this one; the default ignores the sender.
    async fn resolve_recipient_from(
        &self,
        address: &str,
        sender: &SenderFacts<'_>,
    ) -> RecipientStatus {
        let _ = sender;
        self.resolve_recipient(address).await
    }

    /// Called once per message after `DATA` (or `BDAT ... LAST`) with at least one
    /// recipient. Returns one outcome per `message.recipients` entry, same order. Must
    /// return `Delivered` only once the message is durably stored for that recipient.
    /// Outcome messages follow the same enhanced-code rule as `resolve_recipient`
    /// (defaults `4.3.0` / `5.3.0`). A missing outcome counts as `TempFail`.
    async fn deliver(&self, message: &InboundMessage) -> Vec<DeliveryOutcome>;
}

/// Who sends, as the session knows it at `RCPT`.
#[derive(Clone, Copy, Debug)]
pub struct SenderFacts<'a> {
    /// The envelope sender, `""` for `<>`.
    pub mail_from: &'a str,
    /// The account the client authenticated as, if it did.
    pub authenticated: Option<&'a str>,
    /// The client is in the trusted networks.
    pub trusted: bool,
}

/// The answer of [`LocalDelivery::resolve_recipient`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecipientStatus {
    /// A local recipient; carries its canonical address (the account's primary name).
    Local(String),
    /// No such recipient here.
    Unknown,
    /// Cannot decide now (directory down, ...); the client should retry.
    TempFail(String),
    /// Refused for good (account closed, policy, ...).
    PermFail(String),
}

impl RecipientStatus {
    /// Maps a lookup error: `account.NO_SUCH_ACCOUNT` is `Unknown`,
    /// `service.PERM_DENIED` is `PermFail(5.7.1)`, anything else `TempFail(4.3.0)`.
    pub fn from_service_error(error: &ServiceError) -> Self {
        match error.code {
            FaultCode::NoSuchAccount => RecipientStatus::Unknown,
            FaultCode::PermDenied => RecipientStatus::PermFail(format!("5.7.1 {}", error.message)),
            _ => RecipientStatus::TempFail(format!("4.3.0 {}", error.message)),
        }
    }
}

/// A recipient accepted at `RCPT TO`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedRecipient {
    /// The address as the client gave it (see [`LocalDelivery::resolve_recipient`]).
    pub address: String,
    /// The canonical address `resolve_recipient` returned.
    pub canonical: String,
}

/// One message to deliver.
///
/// # The trace header in `data`
///
/// `data` is our trace header followed by exactly the octets the client sent:
/// dot-unstuffed for `DATA` (the terminating `.` line removed, the CRLF before it kept),
/// the concatenated chunks for `BDAT`; line endings are as they came over the wire.
/// `data[trace_len..]` is that client content. The header is one `Received` field
/// (RFC 5321 §4.4) folded over three lines, each ending in CRLF:
///
/// ```text
/// Received: from <helo> (<tcp-info>)\r\n
/// \tby <hostname> with <proto> id <id>;\r\n
/// \t<date>\r\n
/// ```
///
/// where `<helo>` is the HELO/EHLO/LHLO argument (octets outside printable ASCII become
/// `?`), `<tcp-info>` is the client address as an address literal (`[192.0.2.1]`,
/// `[IPv6:2001:db8::1]`), `<hostname>` is `ListenerConfig::hostname`, `<proto>` follows
/// RFC 3848 / RFC 6531 §3.7.3 (`SMTP` after HELO, `ESMTP` after EHLO, `LMTP`, and
/// `UTF8SMTP` / `UTF8LMTP` when `MAIL FROM` had `SMTPUTF8`), `<id>` is [`Self::id`], and
/// `<date>` is RFC 5322 §3.3 in UTC, e.g. `Tue, 3 Mar 2026 09:04:05 +0000`. Nothing else
/// is added: no `Return-Path` (the final delivery agent adds it from `mail_from`).
#[derive(Clone, Debug)]
pub struct InboundMessage {
    /// Our id for this message, also in the trace header and the `250` reply:
    /// upper-case hex, unique within this process.
    pub id: String,
    /// The reverse path as given; `""` for the null sender `<>`.
    pub mail_from: String,
    /// Accepted recipients in `RCPT TO` order (duplicates kept).
    pub recipients: Vec<AcceptedRecipient>,
    /// Trace header plus content; see the type documentation.
    pub data: Vec<u8>,
    /// Length of the trace header at the start of `data`.
    pub trace_len: usize,
    /// The client's IP address.
    pub remote_ip: IpAddr,
    /// The HELO/EHLO/LHLO argument as given.
    pub helo: String,
    /// The protocol the message came in by.
    pub protocol: Protocol,
    /// Whether `MAIL FROM` carried `SMTPUTF8` (RFC 6531).
    pub smtputf8: bool,
}

impl InboundMessage {
    /// The content exactly as the client sent it, without our trace header.
    pub fn content(&self) -> &[u8] {
        self.data.get(self.trace_len..).unwrap_or_default()
    }
}

/// The result of delivering to one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// Durably stored.
    Delivered,
    /// Not stored; the client should retry later.
    TempFail(String),
    /// Not stored and never will be.
    PermFail(String),
}

impl DeliveryOutcome {
    /// Maps a store error the way Zimbra's LMTP server does by default: over quota is a
    /// temporary failure (`4.2.2`, `zimbraLmtpPermanentFailureWhenOverQuota` = FALSE), a
    /// missing account or mailbox is permanent (`5.1.1`), maintenance is temporary
    /// (`4.2.1`), permission denied is permanent (`5.7.1`), anything else temporary
    /// (`4.3.0`).
    pub fn from_service_error(error: &ServiceError) -> Self {
        let msg = &error.message;
        match error.code {
            FaultCode::QuotaExceeded => DeliveryOutcome::TempFail(format!("4.2.2 {msg}")),
            FaultCode::NoSuchAccount | FaultCode::NoSuchMailbox => {
                DeliveryOutcome::PermFail(format!("5.1.1 {msg}"))
            }
            FaultCode::MaintenanceMode | FaultCode::MaintenanceModeMail => {
                DeliveryOutcome::TempFail(format!("4.2.1 {msg}"))
            }
            FaultCode::PermDenied => DeliveryOutcome::PermFail(format!("5.7.1 {msg}")),
            _ => DeliveryOutcome::TempFail(format!("4.3.0 {msg}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_errors_map_to_outcomes() {
        let quota = ServiceError::new(FaultCode::QuotaExceeded, "mailbox full");
        assert_eq!(
            DeliveryOutcome::from_service_error(&quota),
            DeliveryOutcome::TempFail("4.2.2 mailbox full".into())
        );
        let missing = ServiceError::no_such_account("a@b");
        assert_eq!(
            RecipientStatus::from_service_error(&missing),
            RecipientStatus::Unknown
        );
        assert!(matches!(
            DeliveryOutcome::from_service_error(&ServiceError::failure("db")),
            DeliveryOutcome::TempFail(_)
        ));
    }
}
