//! The SMTP listeners' sink: local recipients are delivered while the client waits
//! (so a `250` means the message is in the mailbox, in order, as with LMTP), relayed
//! recipients and local recipients that could not be delivered now go to the durable
//! queue, which retries them and bounces with a DSN.
//!
//! When nothing was delivered and every failure is of one class, the failures are
//! returned as they are (`451` / `554` to the client, who keeps the message): no
//! queueing, no backscatter.

use std::sync::Arc;

use async_trait::async_trait;
use zcs_mta::queue::{Queue, QueueSink};
use zcs_mta::{DeliveryOutcome, Envelope, InboundMessage, MessageSink};

use crate::delivery::MailDelivery;

/// Local delivery first, the queue for the rest.
pub struct LocalFirstSink {
    delivery: Arc<MailDelivery>,
    queue: QueueSink,
}

impl LocalFirstSink {
    /// A sink delivering through `delivery` and queueing into `queue`.
    pub fn new(delivery: Arc<MailDelivery>, queue: Queue) -> Self {
        LocalFirstSink {
            delivery,
            queue: QueueSink::new(queue),
        }
    }
}

/// `message` and `envelope` restricted to the recipients at `indexes`.
fn subset(
    message: &InboundMessage,
    envelope: &Envelope,
    indexes: &[usize],
) -> (InboundMessage, Envelope) {
    let mut m = message.clone();
    m.recipients = indexes
        .iter()
        .filter_map(|&i| message.recipients.get(i).cloned())
        .collect();
    let mut e = envelope.clone();
    e.recipients = indexes
        .iter()
        .map(|&i| envelope.recipients.get(i).cloned().unwrap_or_default())
        .collect();
    (m, e)
}

#[async_trait]
impl MessageSink for LocalFirstSink {
    /// One outcome per recipient: `Delivered` when stored or queued.
    async fn accept(&self, message: &InboundMessage, envelope: &Envelope) -> Vec<DeliveryOutcome> {
        let n = message.recipients.len();
        if envelope.hold.is_some() {
            // A milter's quarantine: everything waits in the hold queue.
            return self.queue.accept(message, envelope).await;
        }
        let relay = |i: usize| envelope.recipients.get(i).is_some_and(|r| r.relay);
        let local: Vec<usize> = (0..n).filter(|&i| !relay(i)).collect();
        let mut queued: Vec<usize> = (0..n).filter(|&i| relay(i)).collect();
        let mut outcomes: Vec<Option<DeliveryOutcome>> = vec![None; n];

        if !local.is_empty() {
            let (m, _) = subset(message, envelope, &local);
            let sender_trusted = envelope.authenticated.is_some() || envelope.trusted_client;
            let results = self.delivery.deliver_as(&m, sender_trusted).await;
            let all_failed = queued.is_empty()
                && results.len() == local.len()
                && !results.contains(&DeliveryOutcome::Delivered);
            let one_class = results
                .iter()
                .all(|r| matches!(r, DeliveryOutcome::TempFail(_)))
                || results
                    .iter()
                    .all(|r| matches!(r, DeliveryOutcome::PermFail(_)));
            if all_failed && one_class {
                return results;
            }
            for (k, &i) in local.iter().enumerate() {
                match results.get(k) {
                    Some(DeliveryOutcome::Delivered) => {
                        outcomes[i] = Some(DeliveryOutcome::Delivered)
                    }
                    // LIMITATION: a permanent failure next to successes is queued so
                    // the queue bounces it with a DSN; the queue's attempt repeats the
                    // delivery (a list refusal that depends on authentication passes
                    // there, since the queue cannot tell).
                    _ => queued.push(i),
                }
            }
        }

        let sender_trusted = envelope.authenticated.is_some() || envelope.trusted_client;
        self.delivery.after_send(message, sender_trusted).await;

        if !queued.is_empty() {
            queued.sort_unstable();
            let (m, e) = subset(message, envelope, &queued);
            let results = self.queue.accept(&m, &e).await;
            for (k, &i) in queued.iter().enumerate() {
                outcomes[i] = results.get(k).cloned();
            }
        }
        outcomes
            .into_iter()
            .map(|o| o.unwrap_or(DeliveryOutcome::TempFail("4.3.0 not accepted".into())))
            .collect()
    }
}
