//! The listener-to-queue seam: [`QueueSink`] implements the listeners' [`MessageSink`]
//! by writing each finished message into the durable queue, so that SMTP can answer
//! `250` once the message is safe and delivery happens per recipient afterwards.
//!
//! Every recipient is queued (the Postfix model): local ones are delivered by the
//! manager's local transport, the others by SMTP.

use async_trait::async_trait;

use super::Queue;
use super::file::{Envelope, Notify, Recipient, Ret};
use crate::delivery::{DeliveryOutcome, InboundMessage};
use crate::envelope::{self, DsnRet, MessageSink};

/// Queues messages handed over by a listener.
#[derive(Clone)]
pub struct QueueSink {
    queue: Queue,
}

impl QueueSink {
    /// A sink writing into `queue`.
    pub fn new(queue: Queue) -> QueueSink {
        QueueSink { queue }
    }
}

/// The queue envelope for a message taken in by a listener: the reverse path, each
/// recipient as the client gave it with its RFC 3461 `NOTIFY` and `ORCPT`, `RET`,
/// `ENVID` and the client's address and HELO name.
pub fn queue_envelope(message: &InboundMessage, envelope: &envelope::Envelope) -> Envelope {
    let recipients = message
        .recipients
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let params = envelope.recipients.get(i).map(|e| &e.params);
            Recipient {
                address: r.address.clone(),
                notify: params.and_then(|p| p.notify).map(|n| Notify {
                    never: n.never,
                    success: n.success,
                    failure: n.failure,
                    delay: n.delay,
                }),
                orcpt: params
                    .and_then(|p| p.orcpt.as_ref())
                    .map(|(kind, addr)| format!("{kind};{addr}")),
                state: super::RcptState::Pending,
            }
        })
        .collect();
    Envelope {
        sender: message.mail_from.clone(),
        recipients,
        ret: envelope.ret.map(|r| match r {
            DsnRet::Full => Ret::Full,
            DsnRet::Headers => Ret::Hdrs,
        }),
        envid: envelope.envid.clone(),
        client: Some((message.remote_ip.to_string(), message.helo.clone())),
    }
}

#[async_trait]
impl MessageSink for QueueSink {
    /// Queues the whole message (trace header included) for every recipient. All
    /// recipients are `Delivered` once the queue file is fsynced; if it cannot be
    /// written, all are `TempFail` (`451 4.3.0`), so the client keeps the message.
    async fn accept(
        &self,
        message: &InboundMessage,
        envelope: &envelope::Envelope,
    ) -> Vec<DeliveryOutcome> {
        let n = message.recipients.len();
        match self
            .queue
            .enqueue(queue_envelope(message, envelope), &message.data)
            .await
        {
            Ok(id) => {
                tracing::debug!(mid = %message.id, qid = %id, "queue: accepted from listener");
                vec![DeliveryOutcome::Delivered; n]
            }
            Err(e) => {
                tracing::warn!(mid = %message.id, error = %e, "queue: cannot queue message");
                vec![DeliveryOutcome::TempFail("4.3.0 queue file write error".into()); n]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::delivery::{AcceptedRecipient, Protocol};
    use crate::envelope::{RcptParams, RecipientEnvelope};

    #[test]
    fn listener_envelope_maps_to_the_queue_envelope() {
        let message = InboundMessage {
            id: "1".into(),
            mail_from: "alice@example.com".into(),
            recipients: vec![AcceptedRecipient {
                address: "Bob@Example.org".into(),
                canonical: "bob@example.org".into(),
            }],
            data: b"Received: x\r\n\r\nhi\r\n".to_vec(),
            trace_len: 13,
            remote_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            helo: "client.example".into(),
            protocol: Protocol::Smtp,
            smtputf8: false,
        };
        let envelope = envelope::Envelope {
            ret: Some(DsnRet::Headers),
            envid: Some("E1".into()),
            recipients: vec![RecipientEnvelope {
                params: RcptParams {
                    notify: Some(envelope::Notify {
                        failure: true,
                        ..Default::default()
                    }),
                    orcpt: Some(("rfc822".into(), "bob@example.org".into())),
                },
                relay: true,
            }],
            ..Default::default()
        };
        let q = queue_envelope(&message, &envelope);
        assert_eq!(q.sender, "alice@example.com");
        assert_eq!(q.ret, Some(Ret::Hdrs));
        assert_eq!(q.envid.as_deref(), Some("E1"));
        assert_eq!(q.recipients[0].address, "Bob@Example.org");
        assert!(
            q.recipients[0]
                .notify
                .is_some_and(|n| n.failure && !n.success)
        );
        assert_eq!(
            q.recipients[0].orcpt.as_deref(),
            Some("rfc822;bob@example.org")
        );
        assert_eq!(
            q.client,
            Some(("192.0.2.1".into(), "client.example".into()))
        );
    }
}
