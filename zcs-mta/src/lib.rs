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
//! LIMITATION: no STARTTLS, AUTH, DSN or queue yet; mail is delivered while the client
//! waits, so SMTP cannot report per-recipient results after DATA (see
//! [`LocalDelivery::deliver`] and the reply rules on [`serve`]'s session).
//!
//! Parsers are public so other front ends and tests can reuse them:
//! [`command::parse_command`] for command lines.

mod address;
pub mod command;
mod config;
mod data;
mod delivery;
mod line;
mod outcome;
mod reply;
mod server;
mod session;
mod trace;

pub use address::{ForwardPath, Mailbox, ReversePath};
pub use command::{Body, Command, MailParams, Param, ParamError, ParseError, parse_command};
pub use config::ListenerConfig;
pub use delivery::{
    AcceptedRecipient, DeliveryOutcome, InboundMessage, LocalDelivery, Protocol,
    RecipientStatus,
};
pub use server::serve;
