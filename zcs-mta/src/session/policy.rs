//! The checks `MAIL` and `RCPT` pass before a transaction grows: submission needs AUTH,
//! the sender must belong to the authenticated user, per-session and per-minute limits,
//! relay control and `zimbraMtaRestriction` (in Postfix's order: authenticated and
//! trusted clients first, then `reject_unauth_destination`, then the restrictions).
//!
//! LMTP skips all of it: its clients are our own MTA.

use tracing::{debug, info};

use super::Session;
use crate::Protocol;
use crate::address::ForwardPath;
use crate::reply::{Reply, Status, sanitize};
use crate::restrictions::{Facts, check};

/// What to do with a `RCPT`.
pub(super) enum RcptDecision {
    /// Refuse with this reply.
    Refuse(Reply),
    /// A local domain: resolve it through `LocalDelivery`.
    Local,
    /// Another domain, and this client may relay: accept it for the sink.
    Relay,
}

impl Session {
    /// The refusal `MAIL FROM:<mail_from>` earns, if any. Counts the message against the
    /// session and rate limits when it passes.
    pub(super) fn mail_policy(&mut self, mail_from: &str) -> Option<Reply> {
        if self.cfg.protocol == Protocol::Lmtp {
            return None;
        }
        if self.cfg.submission && self.authed.is_none() {
            // RFC 4954 §6.
            return Some(Reply::new(530, Status(5, 7, 0), "Authentication required"));
        }
        if let Some(user) = &self.authed
            && self.cfg.enforce_sender_login
            && !user.may_send_as(mail_from)
        {
            info!(account = %user.account, from = %mail_from, "sender login mismatch");
            let text = format!(
                "<{}>: Sender address rejected: not owned by user {}",
                sanitize(mail_from),
                sanitize(&user.account)
            );
            return Some(Reply::new(553, Status(5, 7, 1), text));
        }
        if !self.trusted {
            let limits = self.limiter.limits();
            if limits.max_messages_per_connection > 0
                && self.messages_seen >= limits.max_messages_per_connection
            {
                let text = "Error: too many messages in this session";
                return Some(Reply::new(452, Status(4, 5, 3), text));
            }
            if !self.limiter.take_message(self.peer) {
                debug!("message rate limit");
                let text = format!(
                    "Error: too many messages from {}, slow down",
                    crate::trace::address_literal(self.peer)
                );
                return Some(Reply::new(450, Status(4, 7, 1), text));
            }
        }
        self.messages_seen += 1;
        None
    }

    /// Decides what happens to `RCPT TO:<to>` before any lookup.
    pub(super) async fn rcpt_policy(&mut self, to: &ForwardPath) -> RcptDecision {
        if self.cfg.protocol == Protocol::Lmtp {
            return RcptDecision::Local;
        }
        let address = to.address();
        if !self.trusted {
            let limits = self.limiter.limits();
            if limits.max_recipients_per_connection > 0
                && self.recipients_seen >= limits.max_recipients_per_connection
            {
                let text = "Error: too many recipients in this session";
                return RcptDecision::Refuse(Reply::new(452, Status(4, 5, 3), text));
            }
            if !self.limiter.take_recipient(self.peer) {
                let text = format!(
                    "Error: too many recipients from {}, slow down",
                    crate::trace::address_literal(self.peer)
                );
                return RcptDecision::Refuse(Reply::new(450, Status(4, 7, 1), text));
            }
        }

        // reject_unauth_destination: only our domains, unless the client may relay.
        let privileged = self.trusted || self.authed.is_some();
        let mut recipient_local = true;
        if let (ForwardPath::Mailbox(m), Some(policy)) = (to, &self.cfg.recipient_policy) {
            let domain = m.domain.trim_end_matches('.');
            recipient_local = policy.is_local_domain(&domain.to_ascii_lowercase()).await;
            if !recipient_local {
                if privileged && self.cfg.sink.is_some() {
                    return RcptDecision::Relay;
                }
                info!(rcpt = %address, "relay access denied");
                // Postfix: "554 5.7.1 <addr>: Relay access denied".
                let text = format!("<{}>: Relay access denied", sanitize(&address));
                return RcptDecision::Refuse(Reply::new(554, Status(5, 7, 1), text));
            }
        }

        if !privileged && !self.cfg.restrictions.is_empty() {
            let helo = self.helo.as_ref().map(|(_, h)| h.as_str()).unwrap_or("");
            let sender = self.tx.as_ref().map(|t| t.mail_from.as_str()).unwrap_or("");
            let facts = Facts {
                ip: self.peer,
                helo,
                sender,
                recipient: &address,
                recipient_local,
            };
            let resolver = self.cfg.policy_resolver.as_deref();
            if let Some(r) = check(&self.cfg.restrictions, facts, resolver).await {
                info!(rcpt = %address, code = r.code, text = %r.text, "restriction refused");
                let (c, s, d) = r.status;
                return RcptDecision::Refuse(Reply::new(r.code, Status(c, s, d), r.text));
            }
        }
        RcptDecision::Local
    }
}
