//! Forwarding at delivery: `zimbraPrefMailForwardingAddress` (the user's, honoured while
//! `zimbraFeatureMailForwardingEnabled` is not FALSE), the hidden
//! `zimbraMailForwardingAddress` (the admin's) and Sieve redirects go out as one queued
//! copy marked `Delivered-To: <account>`, so a loop back to us is caught; and
//! `zimbraPrefMailLocalDeliveryDisabled` drops the local copy when the user forwards.

use zcs_core::Attrs;
use zcs_mta::InboundMessage;
use zcs_mta::queue::Queue;

use super::outbound::{prepend_headers, send_on, would_loop};

/// Whether a boolean attribute is TRUE.
fn is_true(attrs: &Attrs, name: &str) -> bool {
    attrs
        .get(name)
        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
}

/// Forwarding addresses of an account: `zimbraPrefMailForwardingAddress` (the user's,
/// comma-separated) and `zimbraMailForwardingAddress` (the admin's hidden ones).
pub fn forwarding_addresses(effective: &Attrs) -> (Vec<String>, Vec<String>) {
    let split = |v: &str| {
        v.split([',', ' '])
            .map(str::trim)
            .filter(|a| a.contains('@'))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let user = effective
        .get("zimbraPrefMailForwardingAddress")
        .map(split)
        .unwrap_or_default();
    let hidden = effective
        .get_all("zimbraMailForwardingAddress")
        .iter()
        .flat_map(|v| split(v))
        .collect();
    (user, hidden)
}

/// Sends the account's forwarded and redirected copy, and says whether the local copies
/// must be dropped (`zimbraPrefMailLocalDeliveryDisabled` with a user forwarding
/// address).
pub async fn forward(
    queue: Option<&Queue>,
    effective: &Attrs,
    account: &str,
    message: &InboundMessage,
    redirects: Vec<String>,
) -> bool {
    let (user_fwd, hidden_fwd) = forwarding_addresses(effective);
    let mut onward: Vec<String> = Vec::new();
    if effective
        .get("zimbraFeatureMailForwardingEnabled")
        .is_none()
        || is_true(effective, "zimbraFeatureMailForwardingEnabled")
    {
        onward.extend(user_fwd.iter().cloned());
    }
    onward.extend(hidden_fwd);
    onward.extend(redirects);
    onward.dedup();
    if !onward.is_empty() {
        if would_loop(&message.data, account) {
            tracing::warn!(account, "forwarding loop: not forwarded again");
        } else {
            let data = prepend_headers(&[("Delivered-To", account)], &message.data);
            send_on(queue, &message.mail_from, &onward, &data).await;
        }
    }
    !user_fwd.is_empty() && is_true(effective, "zimbraPrefMailLocalDeliveryDisabled")
}
