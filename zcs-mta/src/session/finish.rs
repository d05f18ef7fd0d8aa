//! The end of a transaction: size check, content filters (`scan`), and the hand-over to
//! the sink or to local delivery, with the replies that follow (RFC 5321 §4.1.1.4,
//! RFC 2033 §4.2).

use std::time::Instant;

use tracing::{info, warn};

use super::{Flow, Session};
use crate::Protocol;
use crate::data::Content;
use crate::delivery::{DeliveryOutcome, InboundMessage};
use crate::envelope::Envelope;
use crate::milter::{MessageEdit, MilterContext, MilterOutcome, MilterRefusal, MilterTransaction};
use crate::outcome::{lmtp_data_replies, smtp_data_reply};
use crate::reply::{Reply, Status};
use crate::scan::notice::NoticeReason;
use crate::scan::{FilterContext, FilterVerdict, ScanReport, run_filters};
use crate::trace::{missing_origin_fields, rfc5322_now};

/// After the milters: go on (holding the message for this reason, if any), or done.
enum MilterStep {
    Go(Option<String>),
    Done,
}

impl Session {
    /// Ends the transaction with its content: refuses it when too large, runs the
    /// filters, else hands it over and writes the replies.
    pub(super) async fn finish_message(&mut self, id: String, content: Content) -> Flow {
        let Some(mut tx) = self.tx.take() else {
            return Flow::Continue;
        };
        let per_recipient = match self.cfg.protocol {
            Protocol::Smtp => 1,
            Protocol::Lmtp => tx.recipients.len(),
        };
        let (mut data, mut trace_len) = match content {
            Content::TooLarge { size } => {
                info!(id = %id, size, limit = self.cfg.max_message_size, "message too large");
                // RFC 1870 §6.3: 552 after the end of data when the limit is passed.
                let reply = || {
                    let text = "Message size exceeds fixed maximum message size";
                    Reply::new(552, Status(5, 3, 4), text)
                };
                (0..per_recipient).for_each(|_| self.push(reply()));
                return Flow::Continue;
            }
            Content::Complete { data, prefix_len } => (data, prefix_len),
        };
        // RFC 5322 §3.6: authenticated mail gets the Date and Message-ID it lacks, as
        // Postfix's cleanup does for `local_header_rewrite_clients` with
        // `permit_sasl_authenticated`; mail from strangers is left as sent, and so is
        // mail from other hosts of `zimbraMtaMyNetworks` (Postfix's default,
        // `permit_inet_interfaces`, does not rewrite those either).
        // LIMITATION: Postfix's default also completes mail from this host's own
        // addresses (loopback); zcs leaves it as sent, since local tools and the trunk
        // corpus round trip (most corpus messages lack both fields) expect their bytes
        // kept. See docs/decisions/2026-12-05-mta-missing-headers.md.
        if self.cfg.protocol == Protocol::Smtp && self.authed.is_some() {
            let date = rfc5322_now();
            let added = missing_origin_fields(&data[trace_len..], &id, &self.cfg.hostname, &date);
            data.splice(trace_len..trace_len, added);
        }

        let helo = self
            .helo
            .as_ref()
            .map(|(_, h)| h.clone())
            .unwrap_or_default();
        let mut hold = None;
        if let Some(milters) = tx.milters.take() {
            match self
                .run_milters(milters, &id, &mut tx, &mut data, trace_len)
                .await
            {
                MilterStep::Go(h) => hold = h,
                MilterStep::Done => return Flow::Continue,
            }
        }
        let rcpts: Vec<&str> = tx.recipients.iter().map(|r| r.address.as_str()).collect();
        let ctx = FilterContext {
            recipients: &rcpts,
            hostname: &self.cfg.hostname,
            ip: self.peer,
            helo: &helo,
            mail_from: &tx.mail_from,
            authenticated: self.authed.is_some(),
            trusted: self.trusted,
            id: &id,
        };
        let verdict = run_filters(&self.cfg.filters, &data[trace_len..], ctx).await;
        let report = match verdict {
            FilterVerdict::Accept {
                headers,
                content,
                report,
            } => {
                if let Some(content) = content {
                    data.truncate(trace_len);
                    data.extend_from_slice(&content);
                }
                // Filter fields go right after our Received field, inside the prefix.
                data.splice(trace_len..trace_len, headers.iter().copied());
                trace_len += headers.len();
                report
            }
            FilterVerdict::Reject(code, (c, s, d), text) => {
                let reply = || Reply::new(code, Status(c, s, d), text.clone());
                (0..per_recipient).for_each(|_| self.push(reply()));
                return Flow::Continue;
            }
            FilterVerdict::TempFail(code, (c, s, d), text) => {
                let reply = || Reply::new(code, Status(c, s, d), text.clone());
                (0..per_recipient).for_each(|_| self.push(reply()));
                return Flow::Continue;
            }
            FilterVerdict::Quarantine {
                to,
                headers,
                report,
            } => {
                data.splice(trace_len..trace_len, headers.iter().copied());
                trace_len += headers.len();
                return self
                    .quarantine(id, tx, helo, data, trace_len, to, report)
                    .await;
            }
            FilterVerdict::Blocked { attachment, text } => {
                let reply = || Reply::new(554, Status(5, 7, 1), text.clone());
                (0..per_recipient).for_each(|_| self.push(reply()));
                let reason = NoticeReason::BlockedAttachment(&attachment);
                if self.cfg.filters.blocked_warn_recipient {
                    self.warn_recipients(&id, &tx, &data[trace_len..], reason)
                        .await;
                }
                if self.cfg.filters.blocked_warn_admin {
                    self.warn_admin(&id, &tx, &data[trace_len..], reason).await;
                }
                return Flow::Continue;
            }
            FilterVerdict::Discard(_) => {
                info!(id = %id, from = %tx.mail_from, "message discarded by filter");
                let outcomes = vec![DeliveryOutcome::Delivered; tx.recipients.len()];
                self.reply_outcomes(&id, &tx.recipients, &outcomes);
                return Flow::Continue;
            }
        };

        let message = InboundMessage {
            id,
            mail_from: tx.mail_from,
            recipients: tx.recipients,
            data,
            trace_len,
            remote_ip: self.peer,
            helo,
            protocol: self.cfg.protocol,
            smtputf8: tx.smtputf8,
        };
        let envelope = Envelope {
            body: tx.body,
            ret: tx.ret,
            envid: tx.envid,
            recipients: tx.rcpt_envelopes,
            authenticated: self.authed.clone(),
            trusted_client: self.trusted,
            tls: self.io.is_tls(),
            scan: report,
            hold,
        };
        self.hand_over(message, envelope).await;
        Flow::Continue
    }

    /// Opens the milters' conversations for a transaction starting with
    /// `MAIL FROM:<mail_from>` (SMTP listeners with milters only; `Ok(None)` otherwise).
    /// `Err`: a milter refuses `MAIL`.
    pub(super) async fn begin_milters(
        &self,
        id: &str,
        mail_from: &str,
    ) -> Result<Option<MilterTransaction>, MilterRefusal> {
        if self.cfg.protocol != Protocol::Smtp || self.cfg.milters.milters.is_empty() {
            return Ok(None);
        }
        let helo = self.helo.as_ref().map_or("", |(_, h)| h.as_str());
        let ctx = MilterContext {
            hostname: &self.cfg.hostname,
            client_ip: self.peer,
            helo,
            mail_from,
            rcpts: &[],
            authenticated: self.authed.as_ref().map(|u| u.account.as_str()),
            id,
        };
        MilterTransaction::begin(&self.cfg.milters, ctx)
            .await
            .map(Some)
    }

    /// Gives the milters the message (content after `trace_len`), and applies what
    /// they say to `tx` and `data`. `Done`: the replies are written, the message ends.
    async fn run_milters(
        &mut self,
        milters: MilterTransaction,
        id: &str,
        tx: &mut super::Transaction,
        data: &mut Vec<u8>,
        trace_len: usize,
    ) -> MilterStep {
        let outcome = milters.finish(&data[trace_len..]).await;
        let (code, (c, s, d), text) = match outcome {
            MilterOutcome::Deliver(edit) => {
                self.apply_milter_edit(id, tx, data, trace_len, &edit).await;
                if tx.recipients.is_empty() {
                    info!(id = %id, "milters removed every recipient; message dropped");
                    self.push(Reply::new(
                        250,
                        Status(2, 0, 0),
                        format!("Ok: queued as {id}"),
                    ));
                    return MilterStep::Done;
                }
                return MilterStep::Go(edit.quarantine);
            }
            MilterOutcome::Discard => {
                info!(id = %id, from = %tx.mail_from, "message discarded by milter");
                let outcomes = vec![DeliveryOutcome::Delivered; tx.recipients.len()];
                self.reply_outcomes(id, &tx.recipients, &outcomes);
                return MilterStep::Done;
            }
            MilterOutcome::Reject(code, st, text) | MilterOutcome::TempFail(code, st, text) => {
                (code, st, text)
            }
        };
        self.push(Reply::new(code, Status(c, s, d), text));
        MilterStep::Done
    }

    /// Applies the milters' content, sender and recipient changes.
    async fn apply_milter_edit(
        &mut self,
        id: &str,
        tx: &mut super::Transaction,
        data: &mut Vec<u8>,
        trace_len: usize,
        edit: &MessageEdit,
    ) {
        if let Some(content) = &edit.content {
            data.truncate(trace_len);
            data.extend_from_slice(content);
        }
        if let Some(from) = &edit.new_from {
            info!(id = %id, from = %from, "milter changed the sender");
            tx.mail_from = from.clone();
        }
        for del in &edit.del_rcpts {
            while let Some(i) = tx
                .recipients
                .iter()
                .position(|r| r.address.eq_ignore_ascii_case(del))
            {
                tx.recipients.remove(i);
                if i < tx.rcpt_envelopes.len() {
                    tx.rcpt_envelopes.remove(i);
                }
            }
        }
        for add in &edit.add_rcpts {
            let local = match (&self.cfg.recipient_policy, add.rsplit_once('@')) {
                (Some(policy), Some((_, domain))) => {
                    policy.is_local_domain(&domain.to_ascii_lowercase()).await
                }
                _ => true,
            };
            let (canonical, relay) = if local {
                match self.delivery.resolve_recipient(add).await {
                    crate::RecipientStatus::Local(c) => (c, false),
                    other => {
                        warn!(id = %id, rcpt = %add, status = ?other,
                            "milter added an unknown recipient; ignored");
                        continue;
                    }
                }
            } else if self.cfg.sink.is_some() {
                (add.clone(), true)
            } else {
                warn!(id = %id, rcpt = %add, "milter added a remote recipient, no queue; ignored");
                continue;
            };
            tx.recipients.push(crate::AcceptedRecipient {
                address: add.clone(),
                canonical,
            });
            tx.rcpt_envelopes.push(crate::envelope::RecipientEnvelope {
                relay,
                ..Default::default()
            });
        }
    }

    /// Delivers an infected message to the quarantine account only, and answers the
    /// client for its recipients with the quarantine delivery's outcome (a `250` when it
    /// is stored: the client must not retry or bounce).
    #[allow(clippy::too_many_arguments)]
    async fn quarantine(
        &mut self,
        id: String,
        tx: super::Transaction,
        helo: String,
        data: Vec<u8>,
        trace_len: usize,
        to: String,
        report: ScanReport,
    ) -> Flow {
        let canonical = match self.delivery.resolve_recipient(&to).await {
            crate::RecipientStatus::Local(c) => c,
            other => {
                warn!(id = %id, quarantine = %to, status = ?other, "quarantine account unusable");
                let text = "Message held: quarantine unavailable, try again later";
                let count = match self.cfg.protocol {
                    Protocol::Smtp => 1,
                    Protocol::Lmtp => tx.recipients.len(),
                };
                (0..count).for_each(|_| self.push(Reply::new(451, Status(4, 7, 1), text)));
                return Flow::Continue;
            }
        };
        let quarantined = InboundMessage {
            id: id.clone(),
            mail_from: tx.mail_from.clone(),
            recipients: vec![crate::AcceptedRecipient {
                address: to,
                canonical,
            }],
            data,
            trace_len,
            remote_ip: self.peer,
            helo,
            protocol: self.cfg.protocol,
            smtputf8: tx.smtputf8,
        };
        let outcome = self
            .delivery
            .deliver(&quarantined)
            .await
            .into_iter()
            .next()
            .unwrap_or_else(|| DeliveryOutcome::TempFail("4.3.0 delivery incomplete".into()));
        info!(id = %id, virus = ?report.virus, ?outcome, "message quarantined");
        let virus = report.virus.as_deref().unwrap_or("unknown");
        let content = &quarantined.data[quarantined.trace_len..];
        if self.cfg.filters.virus_warn_recipient && outcome == DeliveryOutcome::Delivered {
            self.warn_recipients(&id, &tx, content, NoticeReason::Virus(virus))
                .await;
        }
        if self.cfg.filters.virus_warn_admin && outcome == DeliveryOutcome::Delivered {
            self.warn_admin(&id, &tx, content, NoticeReason::Virus(virus))
                .await;
        }
        let outcomes = vec![outcome; tx.recipients.len()];
        self.reply_outcomes(&id, &tx.recipients, &outcomes);
        Flow::Continue
    }

    /// Delivers a [`notice`](crate::scan::notice) about `content` to each local
    /// recipient of `tx` (relayed ones are left to their own servers). Failures are logged.
    async fn warn_recipients(
        &self,
        id: &str,
        tx: &super::Transaction,
        content: &[u8],
        reason: NoticeReason<'_>,
    ) {
        let date = rfc5322_now();
        for (i, rcpt) in tx.recipients.iter().enumerate() {
            if tx.rcpt_envelopes.get(i).is_some_and(|e| e.relay) {
                continue;
            }
            let data = crate::scan::notice::notice(
                &self.cfg.hostname,
                &rcpt.canonical,
                &tx.mail_from,
                content,
                reason,
                &date,
                &format!("{id}.{i}"),
            );
            let message = InboundMessage {
                id: format!("{id}.{i}"),
                mail_from: String::new(),
                recipients: vec![rcpt.clone()],
                data,
                trace_len: 0,
                remote_ip: self.peer,
                helo: self.cfg.hostname.clone(),
                protocol: self.cfg.protocol,
                smtputf8: false,
            };
            let outcome = self.delivery.deliver(&message).await;
            info!(id = %id, rcpt = %rcpt.canonical, ?outcome, "recipient notified");
        }
    }

    /// Sends an [`admin_notice`](crate::scan::notice::admin_notice) about `content` to
    /// the administrator (`Filters::admin_address`, nothing without one): delivered here
    /// when the address is local, else queued through the sink. Failures are logged.
    async fn warn_admin(
        &self,
        id: &str,
        tx: &super::Transaction,
        content: &[u8],
        reason: NoticeReason<'_>,
    ) {
        let Some(admin) = self.cfg.filters.admin_address.as_deref() else {
            return;
        };
        let rcpts: Vec<&str> = tx.recipients.iter().map(|r| r.address.as_str()).collect();
        let notice_id = format!("{id}.admin");
        let data = crate::scan::notice::admin_notice(
            &self.cfg.hostname,
            admin,
            &tx.mail_from,
            &rcpts,
            &self.peer.to_string(),
            content,
            reason,
            &rfc5322_now(),
            &notice_id,
        );
        let (canonical, relay) = match self.delivery.resolve_recipient(admin).await {
            crate::RecipientStatus::Local(c) => (c, false),
            _ if self.cfg.sink.is_some() => (admin.to_string(), true),
            other => {
                warn!(id = %id, admin = %admin, status = ?other, "admin notice not sent");
                return;
            }
        };
        let message = InboundMessage {
            id: notice_id,
            mail_from: String::new(),
            recipients: vec![crate::AcceptedRecipient {
                address: admin.to_string(),
                canonical,
            }],
            data,
            trace_len: 0,
            remote_ip: self.peer,
            helo: self.cfg.hostname.clone(),
            protocol: self.cfg.protocol,
            smtputf8: false,
        };
        let outcome = match (&self.cfg.sink, relay) {
            (Some(sink), true) => {
                let envelope = Envelope {
                    recipients: vec![crate::envelope::RecipientEnvelope {
                        relay: true,
                        ..Default::default()
                    }],
                    ..Envelope::default()
                };
                sink.accept(&message, &envelope).await
            }
            _ => self.delivery.deliver(&message).await,
        };
        info!(id = %id, admin = %admin, ?outcome, "administrator notified");
    }

    /// Gives the message to the sink (with its envelope) or to local delivery, and writes
    /// the replies.
    async fn hand_over(&mut self, message: InboundMessage, envelope: Envelope) {
        let started = Instant::now();
        let mut outcomes = match &self.cfg.sink {
            Some(sink) => sink.accept(&message, &envelope).await,
            None => self.delivery.deliver(&message).await,
        };
        if outcomes.len() != message.recipients.len() {
            warn!(
                id = %message.id,
                expected = message.recipients.len(),
                got = outcomes.len(),
                "delivery backend returned the wrong number of outcomes"
            );
            let missing = DeliveryOutcome::TempFail("4.3.0 delivery incomplete".into());
            outcomes.resize(message.recipients.len(), missing);
        }
        let delivered = outcomes
            .iter()
            .filter(|o| **o == DeliveryOutcome::Delivered)
            .count();
        let ScanReport { spam, .. } = envelope.scan;
        info!(
            proto = ?message.protocol,
            ip = %message.remote_ip,
            id = %message.id,
            from = %message.mail_from,
            account = envelope.authenticated.as_ref().map(|u| u.account.as_str()),
            rcpts = message.recipients.len(),
            delivered,
            spam,
            size = message.content().len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "message received"
        );
        self.reply_outcomes(&message.id, &message.recipients, &outcomes);
    }

    fn reply_outcomes(
        &mut self,
        id: &str,
        recipients: &[crate::AcceptedRecipient],
        outcomes: &[DeliveryOutcome],
    ) {
        match self.cfg.protocol {
            Protocol::Smtp => self.push(smtp_data_reply(id, outcomes)),
            Protocol::Lmtp => {
                for reply in lmtp_data_replies(id, recipients, outcomes) {
                    self.push(reply);
                }
            }
        }
    }
}
