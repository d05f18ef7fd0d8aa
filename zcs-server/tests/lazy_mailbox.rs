//! Spec 03 §6 idea 1: an account created with only `sn` exists in the directory but has
//! no mailbox; the first delivery to it creates the mailbox, which then holds the one
//! message (through `MailDelivery`, as LMTP delivers).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use zcs_core::{Attrs, ItemId, folder};
use zcs_directory::{AuthRegistry, Provisioning, SqlDirectory};
use zcs_index::{IndexBackend, TantivyIndex};
use zcs_mta::{AcceptedRecipient, DeliveryOutcome, InboundMessage, LocalDelivery, Protocol};
use zcs_server::delivery::MailDelivery;
use zcs_server::indexer::Indexer;
use zcs_store::{Store, StoreConfig};

#[tokio::test]
async fn the_first_delivery_creates_the_mailbox() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = SqlDirectory::open_sqlite(&tmp.path().join("directory.db"))
        .await
        .expect("open directory");
    let prov = Arc::new(Provisioning::new(Arc::new(dir), AuthRegistry::new()));
    prov.bootstrap().await.expect("bootstrap");
    prov.create_domain("d.test", Attrs::new())
        .await
        .expect("domain");
    let store = Arc::new(
        Store::open(StoreConfig::under(tmp.path().join("store")))
            .await
            .expect("open store"),
    );
    let index: Arc<dyn IndexBackend> =
        Arc::new(TantivyIndex::open(&tmp.path().join("index")).expect("index"));
    let (indexer, _task) = Indexer::start(store.clone(), index);
    let delivery = MailDelivery::new(prov.clone(), store.clone(), indexer);

    let mut attrs = Attrs::new();
    attrs.set_one("sn", "Doe");
    let acct = prov
        .create_account("a@d.test", None, attrs)
        .await
        .expect("account");
    let stored = prov
        .get_account("a@d.test")
        .await
        .expect("in the directory");
    assert_eq!(stored.attrs.get("sn"), Some("Doe"));
    assert!(
        store
            .find_mailbox(acct.id)
            .await
            .expect("look up")
            .is_none(),
        "no mailbox before the first delivery"
    );

    let msg = InboundMessage {
        id: "1".into(),
        mail_from: "x@remote.test".into(),
        recipients: vec![AcceptedRecipient {
            address: "a@d.test".into(),
            canonical: "a@d.test".into(),
        }],
        data: b"Subject: first\r\n\r\nhello\r\n".to_vec(),
        trace_len: 0,
        remote_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        helo: "client.remote.test".into(),
        protocol: Protocol::Lmtp,
        smtputf8: false,
    };
    assert_eq!(
        delivery.deliver(&msg).await,
        vec![DeliveryOutcome::Delivered]
    );
    let mb = store
        .find_mailbox(acct.id)
        .await
        .expect("look up")
        .expect("the delivery created the mailbox");
    let inbox = mb.messages(ItemId(folder::INBOX)).await.expect("messages");
    assert_eq!(inbox.len(), 1);
}
