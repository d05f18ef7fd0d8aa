//! The MTA glue of this server: how the `zcs-mta` listeners and queue are configured
//! from the directory and local config ([`config`]), SMTP AUTH over the directory login
//! ([`auth`]), which domains are ours ([`policy`]), and the copies local delivery sends
//! back out through the queue (forwarding, list members, Sieve redirects, vacation
//! replies: [`outbound`], [`lists`], [`forwarding`]), duplicate suppression
//! ([`dedupe`]), domain disclaimers ([`disclaimers`]), archiving and legal intercept
//! ([`archive`]), DMARC aggregate reports
//! ([`dmarc`]), and settings reloads ([`reload`]).
//!
//! The listeners themselves are in [`crate::frontends::mta`], delivery into mailboxes in
//! [`crate::delivery`].

pub mod archive;
pub mod auth;
pub mod config;
pub mod dedupe;
pub mod disclaimers;
pub mod dmarc;
pub mod forwarding;
pub mod lists;
pub mod notices;
pub mod outbound;
pub mod policy;
pub mod reload;
pub mod sieve_apply;
pub mod sink;
