//! The listener-to-queue seam: [`QueueSink`] implements the listeners' [`MessageSink`]
//! by writing each finished message into the durable queue, so that SMTP can answer
//! `250` once the message is safe and delivery happens per recipient afterwards.
//!
//! By default every recipient is queued (the Postfix model): local ones are delivered by
//! the manager's local transport, the others by SMTP. With
//! [`QueueSink::with_local_first`], a message whose recipients are all local is first
//! delivered directly, and only the recipients that did not get it are queued.

use std::sync::Arc;

use async_trait::async_trait;

use super::Queue;
use super::file::{Envelope, Notify, Recipient, Ret};
use crate::delivery::{DeliveryOutcome, InboundMessage, LocalDelivery};
use crate::envelope::{self, DsnRet, MessageSink};

/// Queues messages handed over by a listener.
#[derive(Clone)]
pub struct QueueSink {
    queue: Queue,
    local_first: Option<Arc<dyn LocalDelivery>>,
}

impl QueueSink {
    /// A sink writing every message into `queue`.
    pub fn new(queue: Queue) -> QueueSink {
        QueueSink {
            queue,
            local_first: None,
        }
    }

    /// Delivers messages with only local recipients through `delivery` while the client
    /// waits (no queue file in the common case); recipients that fail, temporarily or
    /// not, are queued, so the manager retries them or bounces them with a DSN.
    pub fn with_local_first(mut self, delivery: Arc<dyn LocalDelivery>) -> QueueSink {
        self.local_first = Some(delivery);
        self
    }

    /// Queues the recipients at `indexes` (all when `None`); the outcome for each.
    async fn enqueue(
        &self,
        message: &InboundMessage,
        envelope: &envelope::Envelope,
        indexes: Option<&[usize]>,
    ) -> DeliveryOutcome {
        let mut queued = queue_envelope(message, envelope);
        if let Some(indexes) = indexes {
            queued.recipients = indexes
                .iter()
                .filter_map(|i| queued.recipients.get(*i).cloned())
                .collect();
        }
        match self.queue.enqueue(queued, &message.data).await {
            Ok(id) => {
                tracing::debug!(mid = %message.id, qid = %id, "queue: accepted from listener");
                DeliveryOutcome::Delivered
            }
            Err(e) => {
                tracing::warn!(mid = %message.id, error = %e, "queue: cannot queue message");
                DeliveryOutcome::TempFail("4.3.0 queue file write error".into())
            }
        }
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
    /// Queues the whole message (trace header included). Every recipient is `Delivered`
    /// once it is stored locally or its queue file is fsynced; if the file cannot be
    /// written they are `TempFail` (`451 4.3.0`), so the client keeps the message.
    async fn accept(
        &self,
        message: &InboundMessage,
        envelope: &envelope::Envelope,
    ) -> Vec<DeliveryOutcome> {
        let n = message.recipients.len();
        if let Some(reason) = &envelope.hold {
            let queued = queue_envelope(message, envelope);
            let outcome = match self.queue.enqueue_held(queued, &message.data, reason).await {
                Ok(_) => DeliveryOutcome::Delivered,
                Err(e) => {
                    tracing::warn!(mid = %message.id, error = %e, "queue: cannot hold message");
                    DeliveryOutcome::TempFail("4.3.0 queue file write error".into())
                }
            };
            return vec![outcome; n];
        }
        let all_local =
            envelope.recipients.len() == n && envelope.recipients.iter().all(|r| !r.relay);
        let Some(delivery) = self.local_first.as_ref().filter(|_| all_local) else {
            return vec![self.enqueue(message, envelope, None).await; n];
        };

        let mut outcomes = delivery.deliver(message).await;
        outcomes.resize(
            n,
            DeliveryOutcome::TempFail("4.3.0 no delivery outcome".into()),
        );
        let failed: Vec<usize> = (0..n)
            .filter(|i| outcomes[*i] != DeliveryOutcome::Delivered)
            .collect();
        if !failed.is_empty() {
            let queued = self.enqueue(message, envelope, Some(&failed)).await;
            for i in failed {
                outcomes[i] = queued.clone();
            }
        }
        outcomes
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
