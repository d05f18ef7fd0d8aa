//! The local transport: delivers queued mail to local mailboxes through the same
//! [`LocalDelivery`] seam the LMTP listener uses, resolving each recipient first.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use async_trait::async_trait;

use super::{Attempt, OutboundMessage, Outcome, Transport};
use crate::delivery::{
    AcceptedRecipient, DeliveryOutcome, InboundMessage, LocalDelivery, Protocol, RecipientStatus,
};

/// Hands messages to a [`LocalDelivery`] (implemented by `zcs-server` over the store).
pub struct LocalTransport {
    delivery: Arc<dyn LocalDelivery>,
}

impl LocalTransport {
    /// Wraps a local delivery.
    pub fn new(delivery: Arc<dyn LocalDelivery>) -> LocalTransport {
        LocalTransport { delivery }
    }
}

fn split_code(text: &str, default: &str) -> String {
    let text = super::one_line(text);
    if text.len() >= 5 && text.as_bytes()[1] == b'.' {
        text
    } else {
        format!("{default} {text}")
    }
}

#[async_trait]
impl Transport for LocalTransport {
    async fn deliver(&self, message: OutboundMessage<'_>) -> Vec<Attempt> {
        let mut attempts: Vec<Option<Attempt>> = vec![None; message.recipients.len()];
        let mut accepted = Vec::new();
        let mut slots = Vec::new();
        for (i, address) in message.recipients.iter().enumerate() {
            match self.delivery.resolve_recipient(address).await {
                RecipientStatus::Local(canonical) => {
                    accepted.push(AcceptedRecipient {
                        address: address.clone(),
                        canonical,
                    });
                    slots.push(i);
                }
                RecipientStatus::Unknown => {
                    attempts[i] = Some(Attempt::local(
                        Outcome::Bounced,
                        format!("5.1.1 <{address}>: Recipient address rejected: User unknown"),
                    ));
                }
                RecipientStatus::TempFail(m) => {
                    attempts[i] = Some(Attempt::local(Outcome::Deferred, split_code(&m, "4.3.0")));
                }
                RecipientStatus::PermFail(m) => {
                    attempts[i] = Some(Attempt::local(Outcome::Bounced, split_code(&m, "5.1.0")));
                }
            }
        }

        if !accepted.is_empty() {
            let (ip, helo) = match &message.envelope.client {
                Some((ip, helo)) => (
                    ip.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                    helo.clone(),
                ),
                None => (IpAddr::V4(Ipv4Addr::LOCALHOST), "localhost".to_string()),
            };
            let inbound = InboundMessage {
                id: message.id.to_string(),
                mail_from: message.envelope.sender.clone(),
                recipients: accepted,
                data: message.data.to_vec(),
                trace_len: 0,
                remote_ip: ip,
                helo,
                protocol: Protocol::Smtp,
                smtputf8: !message.envelope.sender.is_ascii()
                    || message.recipients.iter().any(|r| !r.is_ascii()),
            };
            let outcomes = self.delivery.deliver(&inbound).await;
            for (n, slot) in slots.into_iter().enumerate() {
                attempts[slot] = Some(match outcomes.get(n) {
                    Some(DeliveryOutcome::Delivered) => {
                        Attempt::local(Outcome::Delivered, "2.0.0 delivered to mailbox")
                    }
                    Some(DeliveryOutcome::TempFail(m)) => {
                        Attempt::local(Outcome::Deferred, split_code(m, "4.3.0"))
                    }
                    Some(DeliveryOutcome::PermFail(m)) => {
                        Attempt::local(Outcome::Bounced, split_code(m, "5.3.0"))
                    }
                    None => Attempt::local(Outcome::Deferred, "4.3.0 no delivery outcome"),
                });
            }
        }

        attempts
            .into_iter()
            .map(|a| a.unwrap_or_else(|| Attempt::local(Outcome::Deferred, "4.3.0 not tried")))
            .collect()
    }
}
