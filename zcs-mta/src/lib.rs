//! zcs MTA: the SMTP (RFC 5321) and LMTP (RFC 2033) listeners that take mail in and hand
//! it to local delivery.
//!
//! The crate knows nothing of the store or the directory: recipients are looked up and
//! messages stored through the [`LocalDelivery`] trait, which `zcs-server` implements.
//! Start a listener with [`serve`].
//!
//! Offered: EHLO/HELO (LHLO for LMTP), MAIL with `SIZE`, `BODY=7BIT|8BITMIME` and
//! `SMTPUTF8`, RCPT, DATA, BDAT (CHUNKING), RSET, NOOP, QUIT, VRFY (252), HELP,
//! PIPELINING and enhanced status codes on every reply but the greeting and the EHLO
//! answer.
//!
//! After the end of data, LMTP answers once per accepted recipient (RFC 2033 §4.2);
//! SMTP answers once: `250` if every recipient got the message, `451` if any failure is
//! temporary, else `554`.
//!
//! Also: STARTTLS and implicit TLS, AUTH PLAIN/LOGIN through [`SmtpAuthenticator`]
//! (submission mode, sender ownership), DSN parameters (RFC 3461) kept in the
//! [`Envelope`], relay control with trusted networks and [`RecipientPolicy`],
//! `zimbraMtaRestriction` checks, per-client limits, and content filters at the end of
//! data ([`scan`]: clamd, spamd, DKIM/SPF/DMARC, DKIM signing). [`sieve`] runs a user's
//! Sieve script over a message and returns the actions for the server to apply.
//!
//! The filters' header fields (`X-Spam-*`, `Authentication-Results`, `DKIM-Signature`,
//! `X-Amavis-Alert`) are put right after our `Received` field, inside the prefix that
//! `InboundMessage::trace_len` covers, so `InboundMessage::content` stays exactly what
//! the client sent.
//!
//! LIMITATION: without a [`MessageSink`] mail is delivered while the client waits, so
//! SMTP cannot report per-recipient results after DATA: a partial failure makes the
//! client resend to everyone (duplicates) or bounce although some recipients got the
//! message. A sink (the durable queue) accepts once and retries per recipient.
//!
//! Parsers are public so other front ends and tests can reuse them:
//! [`command::parse_command`] for command lines.

#![warn(missing_docs)]

mod address;
pub mod auth;
pub mod command;
mod config;
mod data;
mod delivery;
pub mod disclaimer;
pub mod dkim;
pub mod dkim_keyutil;
pub mod dmarc_report;
pub mod dns;
pub mod dsn;
pub mod envelope;
pub mod limits;
mod line;
pub mod milter;
pub mod outbound;
mod outcome;
pub mod queue;
mod reply;
pub mod restrictions;
pub mod scan;
mod server;
mod session;
pub mod sieve;
mod tls;
mod trace;

pub use address::{ForwardPath, Mailbox, ReversePath};
pub use auth::{AuthError, AuthedUser, SmtpAuthenticator};
pub use command::{Body, Command, MailParams, Param, ParamError, ParseError, parse_command};
pub use config::ListenerConfig;
pub use delivery::{
    AcceptedRecipient, DeliveryOutcome, InboundMessage, LocalDelivery, Protocol, RecipientStatus,
    SenderFacts,
};
pub use dkim::{AuthChecker, AuthReport, DkimKeys, DmarcPolicy, DmarcVerdict};
pub use envelope::{Envelope, MessageSink, RecipientEnvelope};
pub use limits::Limits;
pub use restrictions::{Cidr, PolicyResolver, RecipientPolicy, Restriction};
pub use scan::Filters;
pub use server::{ConfigSource, serve, serve_with};
