//! Tests of local delivery: quota attributes and the over-quota reply (temporary unless
//! configured permanent), cached effective attributes and outside senders, through a
//! real directory, store and indexer.

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
    // Delivery caches the global settings until the MTA's settings reload.
    d.reload_settings();
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

#[tokio::test]
async fn effective_attributes_are_reused_until_the_account_or_a_reload_changes_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = SqlDirectory::open_sqlite(&tmp.path().join("directory.db"))
        .await
        .expect("open directory");
    let prov = Arc::new(Provisioning::new(Arc::new(dir), AuthRegistry::new()));
    prov.bootstrap().await.expect("bootstrap");
    prov.create_domain("example.test", Attrs::new())
        .await
        .expect("domain");
    prov.create_account(USER, Some("secret-pw-1"), Attrs::new())
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
    let account = || async { prov.get_account(USER).await.expect("account") };

    let first = d.effective_attrs(&account().await).await.expect("attrs");
    let again = d.effective_attrs(&account().await).await.expect("attrs");
    assert!(Arc::ptr_eq(&first, &again), "computed once for a burst");

    // A change of the account itself is seen by the next message.
    prov.modify_account(
        USER,
        &[AttrEdit::Replace(
            "displayName".into(),
            vec!["New Name".into()],
        )],
    )
    .await
    .expect("modify account");
    let changed = d.effective_attrs(&account().await).await.expect("attrs");
    assert_eq!(changed.get("displayName"), Some("New Name"));

    // A domain change: at once after the reload (flushCache / zmmtactl reload).
    prov.modify_domain(
        &zcs_directory::EntryKey::Name("example.test".into()),
        &[AttrEdit::Replace(
            "zimbraMailDomainQuota".into(),
            vec!["1000".into()],
        )],
    )
    .await
    .expect("modify domain");
    d.reload_settings();
    let reloaded = d.effective_attrs(&account().await).await.expect("attrs");
    assert!(!Arc::ptr_eq(&changed, &reloaded));
}

#[tokio::test]
async fn outside_senders_are_looked_up_once_until_a_reload() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = SqlDirectory::open_sqlite(&tmp.path().join("directory.db"))
        .await
        .expect("open directory");
    let prov = Arc::new(Provisioning::new(Arc::new(dir), AuthRegistry::new()));
    prov.bootstrap().await.expect("bootstrap");
    prov.create_domain("example.test", Attrs::new())
        .await
        .expect("domain");
    let store = Arc::new(
        Store::open(zcs_store::StoreConfig::under(tmp.path().join("store")))
            .await
            .expect("open store"),
    );
    let index: Arc<dyn IndexBackend> =
        Arc::new(TantivyIndex::open(&tmp.path().join("index")).expect("index"));
    let (indexer, _task) = Indexer::start(store.clone(), index);
    let d = MailDelivery::new(prov.clone(), store, indexer);
    let mut msg = inbound(b"Subject: out\r\n\r\nbody\r\n");

    // Untrusted senders are never looked up; outside senders are remembered.
    msg.mail_from = "Someone@Remote.test".into();
    d.after_send(&msg, false).await;
    assert!(!d.known_foreign("someone@remote.test"));
    d.after_send(&msg, true).await;
    assert!(d.known_foreign("someone@remote.test"));

    // One of ours is never remembered as outside.
    prov.create_account("own@example.test", Some("secret-pw-1"), Attrs::new())
        .await
        .expect("account");
    msg.mail_from = "own@example.test".into();
    d.after_send(&msg, true).await;
    assert!(!d.known_foreign("own@example.test"));

    // A reload forgets the outside senders, so a new account is seen at once.
    d.reload_settings();
    assert!(!d.known_foreign("someone@remote.test"));
}
