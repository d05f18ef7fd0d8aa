//! Local delivery: the `zcs_mta::LocalDelivery` seam implemented on the directory and
//! the store. Resolves recipients by account name or alias and files each message in
//! the recipients' Inboxes, one blob for all of them, then asks the indexer to index it.
//!
//! Quota (spec 02 §1.14): each recipient's effective `zimbraMailQuota` (0 unlimited,
//! capped by the domain's `zimbraMailDomainQuota`) goes to the store with the target,
//! unless `zimbraMailAllowReceiveButNotSendWhenOverQuota` is TRUE. Over quota is a
//! temporary failure (`452 4.2.2`, the MTA retries) unless
//! `zimbraLmtpPermanentFailureWhenOverQuota` (server, then global config) is TRUE,
//! then permanent (`552 5.2.2`, a bounce).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use zcs_core::attrs::value::parse_size;
use zcs_core::{Attrs, Entry};
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_directory::Provisioning;
use zcs_mta::{DeliveryOutcome, InboundMessage, LocalDelivery, RecipientStatus};
use zcs_store::{DeliveryTarget, Store, StoreError};

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

/// The quota delivery enforces for an account with these effective attributes: its
/// `zimbraMailQuota` in bytes, or 0 (none) when it is unset, unparsable (logged) or
/// `zimbraMailAllowReceiveButNotSendWhenOverQuota` is TRUE.
fn delivery_quota(effective: &Attrs, account: &str) -> u64 {
    if effective
        .get("zimbraMailAllowReceiveButNotSendWhenOverQuota")
        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
    {
        return 0;
    }
    match effective.get("zimbraMailQuota").map(parse_size) {
        None => 0,
        Some(Ok(q)) => q,
        Some(Err(e)) => {
            tracing::warn!(account, error = %e, "bad zimbraMailQuota; not enforced");
            0
        }
    }
}

/// The reply for a recipient over quota: 452 4.2.2 by default, 552 5.2.2 when
/// `zimbraLmtpPermanentFailureWhenOverQuota` is TRUE (RFC 3463 §3.3: X.2.2 is
/// "mailbox full").
fn over_quota_outcome(permanent: bool) -> DeliveryOutcome {
    if permanent {
        DeliveryOutcome::PermFail("5.2.2 mailbox full".into())
    } else {
        DeliveryOutcome::TempFail("4.2.2 mailbox full, try again later".into())
    }
}

impl MailDelivery {
    /// The quota to enforce for `account`; a directory failure is a temporary failure.
    async fn quota_of(&self, account: &Entry) -> Result<u64, DeliveryOutcome> {
        match self.prov.effective_account_attrs(account).await {
            Ok(attrs) => Ok(delivery_quota(&attrs, &account.name)),
            Err(e) => {
                tracing::warn!(account = %account.name, error = %e, "account lookup failed");
                Err(DeliveryOutcome::TempFail(
                    "4.3.0 recipient lookup failed".into(),
                ))
            }
        }
    }

    /// `zimbraLmtpPermanentFailureWhenOverQuota` of this server, else the global
    /// config, else FALSE (also when the directory cannot be read).
    async fn permanent_over_quota(&self) -> bool {
        let global = match self.prov.global_config().await {
            Ok(g) => g,
            Err(e) => {
                tracing::warn!(error = %e, "global config lookup failed");
                return false;
            }
        };
        let server = match self.prov.local_server() {
            Some(name) => {
                let key = zcs_directory::EntryKey::Name(name.to_string());
                self.prov.get_server(&key).await.ok()
            }
            None => None,
        };
        let attr = "zimbraLmtpPermanentFailureWhenOverQuota";
        let value = match &server {
            Some(s) => Provisioning::server_attr(s, &global, attr),
            None => global.attrs.get(attr).map(str::to_string),
        };
        value.is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
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
                        let quota = match self.quota_of(&entry).await {
                            Ok(q) => q,
                            Err(outcome) => {
                                account_of.push(Err(outcome));
                                continue;
                            }
                        };
                        v.insert(targets.len());
                        targets.push(DeliveryTarget {
                            account: entry.id,
                            folder: ItemId(folder::INBOX),
                            flags: Flags(Flags::UNREAD),
                            quota,
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
            // No recipient resolved to an account: every entry is an outcome already.
            return account_of.into_iter().filter_map(Result::err).collect();
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
                    crate::notify::publish(target.account);
                    DeliveryOutcome::Delivered
                }
                Err(StoreError::QuotaExceeded { quota, used, .. }) => {
                    tracing::info!(account = %target.account, quota, used,
                        "delivery refused: over quota");
                    over_quota_outcome(self.permanent_over_quota().await)
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

#[cfg(test)]
mod tests {
    use super::*;
    use zcs_core::AttrEdit;
    use zcs_directory::{AuthRegistry, SqlDirectory};
    use zcs_index::{IndexBackend, TantivyIndex};
    use zcs_mta::{AcceptedRecipient, Protocol};

    const USER: &str = "full@example.test";

    fn inbound(data: &[u8]) -> InboundMessage {
        InboundMessage {
            id: "1".into(),
            mail_from: "a@example.org".into(),
            recipients: vec![AcceptedRecipient {
                address: USER.into(),
                canonical: USER.into(),
            }],
            data: data.to_vec(),
            trace_len: 0,
            remote_ip: std::net::IpAddr::from([127, 0, 0, 1]),
            helo: "test".into(),
            protocol: Protocol::Lmtp,
            smtputf8: false,
        }
    }

    #[test]
    fn quota_from_attributes() {
        let mut a = Attrs::new();
        assert_eq!(delivery_quota(&a, "u"), 0);
        a.set_one("zimbraMailQuota", "1048576");
        assert_eq!(delivery_quota(&a, "u"), 1_048_576);
        a.set_one("zimbraMailQuota", "2MB");
        assert_eq!(delivery_quota(&a, "u"), 2 << 20);
        a.set_one("zimbraMailQuota", "lots");
        assert_eq!(delivery_quota(&a, "u"), 0);
        a.set_one("zimbraMailQuota", "10");
        a.set_one("zimbraMailAllowReceiveButNotSendWhenOverQuota", "TRUE");
        assert_eq!(delivery_quota(&a, "u"), 0);
    }

    #[tokio::test]
    async fn over_quota_is_temporary_unless_configured_permanent() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = SqlDirectory::open_sqlite(&tmp.path().join("directory.db"))
            .await
            .expect("open directory");
        let prov = Arc::new(Provisioning::new(Arc::new(dir), AuthRegistry::new()));
        prov.bootstrap().await.expect("bootstrap");
        prov.create_domain("example.test", Attrs::new())
            .await
            .expect("domain");
        let raw = b"Subject: q\r\n\r\nbody\r\n".to_vec();
        let mut attrs = Attrs::new();
        attrs.set_one("zimbraMailQuota", (raw.len() + 5).to_string());
        prov.create_account(USER, Some("secret-pw-1"), attrs)
            .await
            .expect("account");
        let store = Arc::new(
            Store::open(zcs_store::StoreConfig::under(tmp.path().join("store")))
                .await
                .expect("open store"),
        );
        let index: Arc<dyn IndexBackend> =
            Arc::new(TantivyIndex::open(&tmp.path().join("index")).expect("index"));
        let (indexer, _task) = Indexer::start(store.clone(), index);
        let d = MailDelivery::new(prov.clone(), store, indexer);

        let msg = inbound(&raw);
        assert_eq!(d.deliver(&msg).await, vec![DeliveryOutcome::Delivered]);
        let out = d.deliver(&msg).await;
        assert!(
            matches!(&out[0], DeliveryOutcome::TempFail(t) if t.starts_with("4.2.2")),
            "{out:?}"
        );
        prov.modify_global_config(&[AttrEdit::Replace(
            "zimbraLmtpPermanentFailureWhenOverQuota".into(),
            vec!["TRUE".into()],
        )])
        .await
        .expect("modify config");
        let out = d.deliver(&msg).await;
        assert!(
            matches!(&out[0], DeliveryOutcome::PermFail(t) if t.starts_with("5.2.2")),
            "{out:?}"
        );
        // Receive-but-not-send lifts the quota for delivery.
        prov.modify_account(
            USER,
            &[AttrEdit::Replace(
                "zimbraMailAllowReceiveButNotSendWhenOverQuota".into(),
                vec!["TRUE".into()],
            )],
        )
        .await
        .expect("modify account");
        assert_eq!(d.deliver(&msg).await, vec![DeliveryOutcome::Delivered]);
    }
}
