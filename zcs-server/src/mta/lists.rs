//! Mail to distribution lists and dynamic groups: who may send (`sendToDistList`,
//! checked at `RCPT` by the SMTP listeners and again at delivery for LMTP and the
//! queue), and the expansion: members nested and each once, one queued copy to all of
//! them with `X-Zimbra-DL`, the list's `Reply-To` and the loop marker
//! (`Delivered-To: list`).

use std::collections::HashSet;

use zcs_directory::Provisioning;
use zcs_directory::provisioning::Resolved;
use zcs_mta::queue::Queue;
use zcs_mta::{DeliveryOutcome, InboundMessage};

use super::outbound::{header_values, prepend_headers, send_on, would_loop};

/// Why a sender may not send to a list.
#[derive(Debug, PartialEq, Eq)]
pub enum ListRefusal {
    /// No `sendToDistList` right: `5.7.1`.
    NotAllowed(String),
    /// The rights could not be read: `4.3.0`.
    LookupFailed,
}

impl ListRefusal {
    /// The refusal as a delivery outcome text with its enhanced status.
    pub fn outcome(&self) -> DeliveryOutcome {
        match self {
            ListRefusal::NotAllowed(list) => DeliveryOutcome::PermFail(format!(
                "5.7.1 <{list}>: sender is not allowed to send to this list"
            )),
            ListRefusal::LookupFailed => {
                DeliveryOutcome::TempFail("4.3.0 list lookup failed".into())
            }
        }
    }
}

/// Checks `sendToDistList` of `list` for `sender`; `authenticated` says whether the
/// sender proved who they are (AUTH or a trusted network), which `all` grants need.
pub async fn check_send_right(
    prov: &Provisioning,
    list: &str,
    sender: &str,
    authenticated: bool,
) -> Result<(), ListRefusal> {
    match prov.can_send_to_list(list, sender, authenticated).await {
        Ok(true) => Ok(()),
        Ok(false) => {
            tracing::info!(list, sender, "sender may not send to the list");
            Err(ListRefusal::NotAllowed(list.to_string()))
        }
        Err(e) => {
            tracing::warn!(list, error = %e, "list rights lookup failed");
            Err(ListRefusal::LookupFailed)
        }
    }
}

/// Delivers `message` to the list `list`: rights, expansion and one queued copy.
///
/// `covered` holds the addresses (lower case) this message already reaches: its
/// direct account recipients and the members of lists expanded before this one. A
/// member found there is left out and every member sent to is added, so a person on
/// two lists a message is sent to, or sent to directly and through a list, gets one
/// copy (as Postfix's duplicate filter gives Zimbra).
pub async fn deliver_to_list(
    prov: &Provisioning,
    queue: Option<&Queue>,
    list: &Resolved,
    message: &InboundMessage,
    sender_trusted: bool,
    covered: &mut HashSet<String>,
) -> DeliveryOutcome {
    let name = &list.entry.name;
    if would_loop(&message.data, name) {
        return DeliveryOutcome::PermFail(format!("5.4.6 mail forwarding loop for {name}"));
    }
    if let Err(refusal) = check_send_right(prov, name, &message.mail_from, sender_trusted).await {
        return refusal.outcome();
    }
    let members = match prov.expand_list(name).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(list = %name, error = %e, "list expansion failed");
            return DeliveryOutcome::TempFail("4.3.0 list expansion failed".into());
        }
    };
    let members: Vec<String> = members
        .into_iter()
        .filter(|m| !covered.contains(&m.to_ascii_lowercase()))
        .collect();
    if members.is_empty() {
        return DeliveryOutcome::Delivered;
    }
    let mut fields = vec![
        ("Delivered-To", name.as_str()),
        ("X-Zimbra-DL", name.as_str()),
    ];
    let enabled = list
        .entry
        .attrs
        .get("zimbraPrefReplyToEnabled")
        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"));
    let reply_to = list
        .entry
        .attrs
        .get("zimbraPrefReplyToAddress")
        .filter(|_| enabled)
        .filter(|_| header_values(&message.data, "Reply-To").is_empty());
    if let Some(r) = reply_to {
        fields.push(("Reply-To", r));
    }
    let data = prepend_headers(&fields, &message.data);
    if send_on(queue, &message.mail_from, &members, &data).await {
        tracing::info!(list = %name, members = members.len(), "list expanded");
        covered.extend(members.iter().map(|m| m.to_ascii_lowercase()));
        DeliveryOutcome::Delivered
    } else {
        DeliveryOutcome::TempFail("4.3.0 cannot queue list copies".into())
    }
}
