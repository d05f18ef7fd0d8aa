//! Local delivery: the `zcs_mta::LocalDelivery` seam implemented on the directory and
//! the store. Resolves recipients by account name or alias and files each message in
//! the recipients' Inboxes, one blob for all of them, then asks the indexer to index it.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_directory::Provisioning;
use zcs_mta::{DeliveryOutcome, InboundMessage, LocalDelivery, RecipientStatus};
use zcs_store::{DeliveryTarget, Store};

use crate::indexer::Indexer;

/// Delivers into this server's mailboxes.
pub struct MailDelivery {
    prov: Arc<Provisioning>,
    store: Arc<Store>,
    indexer: Indexer,
}

impl MailDelivery {
    /// Delivery over the given directory, store and indexer.
    pub fn new(prov: Arc<Provisioning>, store: Arc<Store>, indexer: Indexer) -> Self {
        MailDelivery {
            prov,
            store,
            indexer,
        }
    }
}

/// What an account's `zimbraAccountStatus` means for delivery: `active` and `locked`
/// and `lockout` accept mail (a locked user still receives), `maintenance` defers,
/// `closed` and `pending` refuse.
fn status_verdict(status: Option<&str>) -> Result<(), RecipientStatus> {
    match status.unwrap_or("active") {
        "active" | "locked" | "lockout" => Ok(()),
        "maintenance" => Err(RecipientStatus::TempFail(
            "4.2.1 mailbox is in maintenance, try again later".into(),
        )),
        _ => Err(RecipientStatus::PermFail(
            "5.2.1 mailbox is disabled".into(),
        )),
    }
}

#[async_trait]
impl LocalDelivery for MailDelivery {
    async fn resolve_recipient(&self, address: &str) -> RecipientStatus {
        match self.prov.resolve_address(address).await {
            // `zimbraMailStatus disabled` takes the address out of mail routing
            // altogether, as Zimbra's MTA lookups do: it is an unknown recipient.
            Ok(Some(entry)) if entry.attrs.get("zimbraMailStatus") == Some("disabled") => {
                RecipientStatus::Unknown
            }
            Ok(Some(entry)) => match status_verdict(entry.attrs.get("zimbraAccountStatus")) {
                Ok(()) => RecipientStatus::Local(entry.name),
                Err(refusal) => refusal,
            },
            Ok(None) => RecipientStatus::Unknown,
            Err(e) => {
                tracing::warn!(rcpt = address, error = %e, "recipient lookup failed");
                RecipientStatus::TempFail("4.3.0 directory lookup failed".into())
            }
        }
    }

    async fn deliver(&self, message: &InboundMessage) -> Vec<DeliveryOutcome> {
        // Each account once, however many of its addresses were given.
        let mut account_of: Vec<Result<ZimbraId, DeliveryOutcome>> = Vec::new();
        let mut targets: Vec<DeliveryTarget> = Vec::new();
        let mut target_index: HashMap<ZimbraId, usize> = HashMap::new();
        for rcpt in &message.recipients {
            match self.prov.get_account(&rcpt.canonical).await {
                Ok(entry) => {
                    if let std::collections::hash_map::Entry::Vacant(v) =
                        target_index.entry(entry.id)
                    {
                        v.insert(targets.len());
                        targets.push(DeliveryTarget {
                            account: entry.id,
                            folder: ItemId(folder::INBOX),
                            flags: Flags(Flags::UNREAD),
                        });
                    }
                    account_of.push(Ok(entry.id));
                }
                Err(e) => {
                    tracing::warn!(rcpt = %rcpt.canonical, error = %e, "recipient vanished");
                    account_of.push(Err(DeliveryOutcome::TempFail(
                        "4.3.0 recipient lookup failed".into(),
                    )));
                }
            }
        }
        if targets.is_empty() {
            return account_of.into_iter().map(|r| r.unwrap_err()).collect();
        }

        let received = chrono::Utc::now().timestamp_millis();
        let results = match self.store.deliver(&targets, &message.data, received).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "delivery failed");
                return account_of
                    .iter()
                    .map(|_| DeliveryOutcome::TempFail("4.3.0 store failure".into()))
                    .collect();
            }
        };
        let mut per_account: HashMap<ZimbraId, DeliveryOutcome> = HashMap::new();
        for (target, result) in targets.iter().zip(results) {
            let outcome = match result {
                Ok(meta) => {
                    tracing::info!(
                        account = %target.account,
                        item = meta.id.0,
                        size = meta.size,
                        proto = ?message.protocol,
                        "delivered"
                    );
                    self.indexer.notify(target.account);
                    DeliveryOutcome::Delivered
                }
                Err(e) => {
                    tracing::warn!(account = %target.account, error = %e, "delivery failed");
                    DeliveryOutcome::TempFail("4.3.0 store failure".into())
                }
            };
            per_account.insert(target.account, outcome);
        }
        account_of
            .into_iter()
            .map(|r| match r {
                Ok(id) => per_account
                    .get(&id)
                    .cloned()
                    .unwrap_or(DeliveryOutcome::TempFail("4.3.0 not delivered".into())),
                Err(o) => o,
            })
            .collect()
    }
}
