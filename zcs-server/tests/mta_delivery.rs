//! Local delivery and the SMTP listeners' sink over a real directory (SQLite), store and
//! index in a temporary directory: store maintenance defers, threading follows each
//! account's `zimbraMailThreadingAlgorithm`, deliveries are counted in the metrics,
//! and local recipients are stored at once while relayed ones are queued.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use zcs_core::{Attrs, ItemId, folder};
use zcs_directory::{AuthRegistry, Provisioning, SqlDirectory};
use zcs_index::{IndexBackend, TantivyIndex};
use zcs_mta::envelope::RecipientEnvelope;
use zcs_mta::queue::{Queue, QueueConfig, QueueName};
use zcs_mta::{
    AcceptedRecipient, DeliveryOutcome, Envelope, InboundMessage, LocalDelivery, MessageSink,
    Protocol,
};
use zcs_server::delivery::MailDelivery;
use zcs_server::indexer::Indexer;
use zcs_server::mta::sink::LocalFirstSink;
use zcs_store::{Store, StoreConfig};

struct Fixture {
    _tmp: tempfile::TempDir,
    prov: Arc<Provisioning>,
    store: Arc<Store>,
    delivery: Arc<MailDelivery>,
    queue: Queue,
}

async fn fixture() -> Fixture {
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
    let delivery = Arc::new(MailDelivery::new(prov.clone(), store.clone(), indexer));
    let queue = Queue::open(tmp.path().join("queue"), QueueConfig::default()).expect("queue");
    delivery.set_queue(queue.clone());
    Fixture {
        _tmp: tmp,
        prov,
        store,
        delivery,
        queue,
    }
}

fn inbound(rcpts: &[&str], data: &[u8]) -> InboundMessage {
    InboundMessage {
        id: "1".into(),
        mail_from: "a@remote.test".into(),
        recipients: rcpts
            .iter()
            .map(|r| AcceptedRecipient {
                address: r.to_string(),
                canonical: r.to_string(),
            })
            .collect(),
        data: data.to_vec(),
        trace_len: 0,
        remote_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        helo: "client.remote.test".into(),
        protocol: Protocol::Lmtp,
        smtputf8: false,
    }
}

async fn account(f: &Fixture, name: &str, attrs: &[(&str, &str)]) -> zcs_core::ZimbraId {
    let mut a = Attrs::new();
    for (k, v) in attrs {
        a.set_one(k, *v);
    }
    f.prov
        .create_account(name, Some("secret-pw-1"), a)
        .await
        .expect("account")
        .id
}

#[tokio::test]
async fn store_maintenance_defers_with_4_2_1() {
    let f = fixture().await;
    let id = account(&f, "m@d.test", &[]).await;
    let msg = inbound(&["m@d.test"], b"Subject: m\r\n\r\nbody\r\n");
    assert_eq!(
        f.delivery.deliver(&msg).await,
        vec![DeliveryOutcome::Delivered]
    );
    f.store
        .set_maintenance(id, true)
        .await
        .expect("maintenance on");
    let out = f.delivery.deliver(&msg).await;
    assert!(
        matches!(&out[0], DeliveryOutcome::TempFail(t) if t.starts_with("4.2.1")),
        "{out:?}"
    );
    f.store
        .set_maintenance(id, false)
        .await
        .expect("maintenance off");
    assert_eq!(
        f.delivery.deliver(&msg).await,
        vec![DeliveryOutcome::Delivered]
    );
}

#[tokio::test]
async fn threading_follows_each_account() {
    let f = fixture().await;
    let subj = account(
        &f,
        "s@d.test",
        &[("zimbraMailThreadingAlgorithm", "subject")],
    )
    .await;
    let none = account(&f, "n@d.test", &[("zimbraMailThreadingAlgorithm", "none")]).await;
    let rcpts = ["s@d.test", "n@d.test"];
    let first = b"Subject: Plans\r\nMessage-ID: <p1@x>\r\n\r\none\r\n";
    let reply = b"Subject: Re: Plans\r\nMessage-ID: <p2@x>\r\n\r\ntwo\r\n";
    for data in [&first[..], &reply[..]] {
        let out = f.delivery.deliver(&inbound(&rcpts, data)).await;
        assert_eq!(out, vec![DeliveryOutcome::Delivered; 2]);
    }
    let convs = |id| {
        let store = f.store.clone();
        async move {
            let mb = store.mailbox(id).await.expect("mailbox");
            let msgs = mb.messages(ItemId(folder::INBOX)).await.expect("messages");
            msgs.iter().map(|m| m.conv).collect::<Vec<_>>()
        }
    };
    let s = convs(subj).await;
    assert_eq!(s.len(), 2);
    assert_eq!(s[0], s[1], "subject threading joins the reply");
    let n = convs(none).await;
    assert_ne!(n[0], n[1], "no threading keeps them apart");
}

#[tokio::test]
async fn deliveries_are_counted() {
    let f = fixture().await;
    account(&f, "c@d.test", &[]).await;
    let counters = zcs_server::metrics::counters();
    let before = counters.get("zcs_deliveries_total", &[("result", "delivered")]);
    let bytes = counters.get("zcs_delivered_bytes_total", &[]);
    let msg = inbound(&["c@d.test"], b"Subject: c\r\n\r\ncounted\r\n");
    f.delivery.deliver(&msg).await;
    assert!(counters.get("zcs_deliveries_total", &[("result", "delivered")]) > before);
    assert!(counters.get("zcs_delivered_bytes_total", &[]) > bytes);
}

#[tokio::test]
async fn sink_stores_local_and_queues_relayed() {
    let f = fixture().await;
    let id = account(&f, "l@d.test", &[]).await;
    let sink = LocalFirstSink::new(f.delivery.clone(), f.queue.clone());
    let mut msg = inbound(
        &["l@d.test", "far@remote.test"],
        b"Subject: both\r\n\r\nx\r\n",
    );
    msg.protocol = Protocol::Smtp;
    let envelope = Envelope {
        recipients: vec![
            RecipientEnvelope::default(),
            RecipientEnvelope {
                relay: true,
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let out = sink.accept(&msg, &envelope).await;
    assert_eq!(out, vec![DeliveryOutcome::Delivered; 2]);
    let mb = f.store.mailbox(id).await.expect("mailbox");
    assert_eq!(
        mb.messages(ItemId(folder::INBOX))
            .await
            .expect("msgs")
            .len(),
        1
    );
    let queued = f.queue.list(QueueName::Incoming).expect("list");
    assert_eq!(queued.len(), 1);
    let file = f
        .queue
        .read(QueueName::Incoming, &queued[0])
        .expect("read queued");
    let rcpts: Vec<_> = file
        .envelope
        .recipients
        .iter()
        .map(|r| r.address.clone())
        .collect();
    assert_eq!(rcpts, vec!["far@remote.test"]);

    // Only unknown local recipients, nothing delivered: refused as is (no backscatter).
    let msg = inbound(&["gone@d.test"], b"Subject: none\r\n\r\nx\r\n");
    let envelope = Envelope {
        recipients: vec![RecipientEnvelope::default()],
        ..Default::default()
    };
    let out = sink.accept(&msg, &envelope).await;
    assert!(matches!(&out[0], DeliveryOutcome::PermFail(_)), "{out:?}");
    assert_eq!(f.queue.list(QueueName::Incoming).expect("list").len(), 1);
}

#[tokio::test]
async fn dedupe_settings_are_cached_until_a_reload() {
    let f = fixture().await;
    let id = account(&f, "dd@d.test", &[]).await;
    let count = |id| {
        let store = f.store.clone();
        async move {
            let mb = store.mailbox(id).await.expect("mailbox");
            mb.messages(ItemId(folder::INBOX))
                .await
                .expect("messages")
                .len()
        }
    };
    let twice = |mid: &str| {
        let data = format!("Subject: d\r\nMessage-ID: <{mid}@x>\r\n\r\nbody\r\n");
        let msg = inbound(&["dd@d.test"], data.as_bytes());
        let delivery = f.delivery.clone();
        async move {
            delivery.deliver(&msg).await;
            delivery.deliver(&msg).await;
        }
    };
    // Default cache size 3000: the second copy is dropped.
    twice("one").await;
    assert_eq!(count(id).await, 1);
    // Deduping off in the directory: the cached settings still dedupe...
    let off =
        zcs_core::AttrEdit::Replace("zimbraMessageIdDedupeCacheSize".into(), vec!["0".into()]);
    f.prov
        .modify_global_config(&[off])
        .await
        .expect("modify global config");
    twice("two").await;
    assert_eq!(count(id).await, 2);
    // ...until the reload drops them.
    f.delivery.reload_settings();
    twice("three").await;
    assert_eq!(count(id).await, 4);
}

/// A message of exactly `size` octets with its own Message-ID and subject.
fn sized(n: usize, size: usize) -> Vec<u8> {
    let head = format!("Subject: m{n}\r\nMessage-ID: <gc{n}@remote.test>\r\n\r\n");
    let mut data = head.into_bytes();
    data.resize(size, b'x');
    data
}

#[tokio::test]
async fn concurrent_deliveries_to_one_mailbox_are_all_stored() {
    // Many sessions delivering to one account at once go through the group commit;
    // every one is answered Delivered and stored exactly once.
    let f = fixture().await;
    let id = account(&f, "g@d.test", &[]).await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..40 {
        let delivery = f.delivery.clone();
        tasks.spawn(async move {
            let msg = inbound(&["g@d.test"], &sized(n, 600));
            (n, delivery.deliver(&msg).await)
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (n, out) = done.expect("task");
        assert_eq!(out, vec![DeliveryOutcome::Delivered], "message {n}");
    }
    let mb = f.store.mailbox(id).await.expect("mailbox");
    let msgs = mb.messages(ItemId(folder::INBOX)).await.expect("messages");
    assert_eq!(msgs.len(), 40);
    let mut subjects: Vec<String> = msgs.iter().map(|m| m.subject.clone()).collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), 40, "each message once");
    let mut ids: Vec<i32> = msgs.iter().map(|m| m.id.0).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 40, "distinct items");
}

#[tokio::test]
async fn a_batch_over_quota_answers_each_message_on_its_own() {
    // 20 messages of 1,000 octets at once into a 4,500-octet mailbox: the batch as a
    // whole is over quota, so each is stored alone; exactly four fit, the others are
    // deferred with 4.2.2, and only the four are in the mailbox.
    let f = fixture().await;
    let id = account(
        &f,
        "q@d.test",
        &[("zimbraMailQuota", "4500"), ("zimbraQuotaWarnPercent", "0")],
    )
    .await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..20 {
        let delivery = f.delivery.clone();
        tasks.spawn(async move {
            let msg = inbound(&["q@d.test"], &sized(100 + n, 1000));
            delivery.deliver(&msg).await
        });
    }
    let (mut delivered, mut deferred) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        match &done.expect("task")[0] {
            DeliveryOutcome::Delivered => delivered += 1,
            DeliveryOutcome::TempFail(t) if t.starts_with("4.2.2") => deferred += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((delivered, deferred), (4, 16));
    let mb = f.store.mailbox(id).await.expect("mailbox");
    let msgs = mb.messages(ItemId(folder::INBOX)).await.expect("messages");
    assert_eq!(msgs.len(), 4);
}
