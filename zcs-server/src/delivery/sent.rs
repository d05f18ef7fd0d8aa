//! Mail our own accounts send through the SMTP listeners: the sender's archive copy
//! (when the server runs the `archiving` service) and legal intercept notice, with the
//! envelope senders found not to be ours remembered for a while so a stream from one
//! outside sender does not query the directory for every message.

use super::{EFFECTIVE_MAX, MailDelivery, SETTINGS_TTL};
use crate::mta::archive;
use zcs_mta::InboundMessage;

impl MailDelivery {
    /// Mail sent through the SMTP listeners by one of our accounts (authenticated, or
    /// from a trusted network): the sender's archive copy and intercept notice (`send
    /// message`), if any.
    ///
    /// A sender address that is not one of ours is remembered for [`SETTINGS_TTL`], so
    /// a stream of mail from one outside sender through a trusted relay (a local
    /// application, a Postfix in front) does not ask the directory about it for every
    /// message; [`Self::reload_settings`] forgets them.
    pub async fn after_send(&self, message: &InboundMessage, sender_trusted: bool) {
        let sender = message.mail_from.to_ascii_lowercase();
        if !sender_trusted || sender.is_empty() || self.known_foreign(&sender) {
            return;
        }
        let entry = match self.prov.resolve_address(&sender).await {
            Ok(Some(e)) => e,
            Ok(None) => {
                let mut foreign = self
                    .foreign_senders
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                if foreign.len() >= EFFECTIVE_MAX {
                    foreign.clear();
                }
                foreign.insert(sender, std::time::Instant::now());
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "sender lookup failed; no archive or intercept");
                return;
            }
        };
        // Not an account (a list), or its attributes cannot be read: nothing to do.
        let Ok(effective) = self.effective_attrs(&entry).await else {
            return;
        };
        let effective = super::archiving::gate(&effective, self.settings().await.archiving);
        archive::archive_and_intercept(self.queue.get(), &effective, &entry.name, message, None)
            .await;
    }

    /// Whether `sender` (lower case) was found not to be ours within [`SETTINGS_TTL`].
    pub(super) fn known_foreign(&self, sender: &str) -> bool {
        let foreign = self
            .foreign_senders
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        foreign
            .get(sender)
            .is_some_and(|at| at.elapsed() < SETTINGS_TTL)
    }
}
