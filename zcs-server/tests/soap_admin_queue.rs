//! Admin requests on servers and the MTA's queues over real sockets on 127.0.0.1: the
//! mail queue requests (GetMailQueueInfo, GetMailQueue, MailQueueAction,
//! MailQueueFlush) on this server's own queue, and Zimbra's server-name rules
//! (CreateServer takes spaces inside a name, ModifyServer finds servers by id only).

mod soap_support;

use std::sync::Arc;

use soap_support::*;
use tokio::net::TcpListener;
use zcs_core::Attrs;
use zcs_mta::queue::{Envelope, Queue, QueueConfig, QueueName};
use zcs_server::delivery::MailDelivery;
use zcs_server::frontends::http::{router, serve_plain};
use zcs_server::indexer::Indexer;
use zcs_server::soap::SoapService;

/// The fixture's directory and store, served by a second service whose delivery has a
/// queue (the MTA front end's), on a fresh admin port. Returns the admin address and
/// the queue.
async fn with_queue(f: &Fixture) -> (std::net::SocketAddr, Queue) {
    let queue = Queue::open(f._tmp.path().join("queue"), QueueConfig::default()).expect("queue");
    let index =
        Arc::new(zcs_index::TantivyIndex::open(&f._tmp.path().join("index2")).expect("open index"));
    let (indexer, _task) = Indexer::start(f.store.clone(), index.clone());
    let delivery = Arc::new(MailDelivery::new(
        f.prov.clone(),
        f.store.clone(),
        indexer.clone(),
    ));
    delivery.set_queue(queue.clone());
    let svc = Arc::new(SoapService::new(
        f.prov.clone(),
        f.store.clone(),
        index,
        indexer,
        Some(delivery),
        "mail.example.test",
    ));
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(serve_plain(l, router(svc, true), f.shutdown_rx.clone()));
    (addr, queue)
}

async fn admin(addr: std::net::SocketAddr, token: &str, body: &str) -> Reply {
    post(addr, "/service/admin/soap", &soap12(Some(token), body), "").await
}

const NS: &str = "urn:zimbraAdmin";

#[tokio::test]
async fn mail_queue_requests_see_and_change_the_local_queue() {
    let f = fixture().await;
    f.prov
        .create_server("mta.example.test", Attrs::new())
        .await
        .expect("server");
    let (addr, queue) = with_queue(&f).await;
    let id = queue
        .enqueue_blocking(
            Envelope::new("alice@example.test", &["someone@far.test"]),
            b"Subject: hi\r\n\r\nbody\r\n".to_vec(),
        )
        .expect("enqueue");
    let token = admin_login(&f).await;
    let server = r#"<server name="mta.example.test"/>"#;

    let r = admin(
        addr,
        &token,
        &format!(r#"<GetMailQueueInfoRequest xmlns="{NS}">{server}</GetMailQueueInfoRequest>"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains(r#"<server name="mta.example.test">"#),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(r#"<queue name="incoming" n="1"/>"#),
        "{}",
        r.body
    );

    let r = admin(addr, &token, &format!(
        r#"<GetMailQueueRequest xmlns="{NS}"><server name="mta.example.test"><queue name="incoming"><query offset="0" limit="25"/></queue></server></GetMailQueueRequest>"#
    ))
    .await;
    assert!(r.body.contains(r#"total="1""#), "{}", r.body);
    assert!(
        r.body.contains(&format!(r#"id="{}""#, id.as_str())),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(r#"from="alice@example.test""#),
        "{}",
        r.body
    );

    let act = |q: &str, op: &str| {
        format!(
            r#"<MailQueueActionRequest xmlns="{NS}"><server name="mta.example.test"><queue name="{q}"><action op="{op}" by="id">ALL</action></queue></server></MailQueueActionRequest>"#
        )
    };
    let r = admin(addr, &token, &act("incoming", "hold")).await;
    assert!(r.body.contains("MailQueueActionResponse"), "{}", r.body);
    assert_eq!(queue.list(QueueName::Hold).expect("list").len(), 1);
    let r = admin(addr, &token, &act("hold", "delete")).await;
    assert!(r.body.contains("MailQueueActionResponse"), "{}", r.body);
    assert!(queue.find(&id).is_none());
    let r = admin(addr, &token, &act("hold", "explode")).await;
    assert_eq!(r.fault_code().as_deref(), Some("service.INVALID_REQUEST"));

    let r = admin(
        addr,
        &token,
        &format!(r#"<MailQueueFlushRequest xmlns="{NS}">{server}</MailQueueFlushRequest>"#),
    )
    .await;
    assert!(r.body.contains("MailQueueFlushResponse"), "{}", r.body);

    // A name that is no server entry is a bad request, as in Zimbra.
    let r = admin(addr, &token, &format!(
        r#"<GetMailQueueInfoRequest xmlns="{NS}"><server name="nowhere.test"/></GetMailQueueInfoRequest>"#
    ))
    .await;
    assert_eq!(r.fault_code().as_deref(), Some("service.INVALID_REQUEST"));
    // Users never reach the queues.
    let user = login(&f, ALICE).await;
    let r = admin(
        addr,
        &user,
        &format!(r#"<GetMailQueueInfoRequest xmlns="{NS}">{server}</GetMailQueueInfoRequest>"#),
    )
    .await;
    assert!(r.fault_code().is_some(), "{}", r.body);
}

#[tokio::test]
async fn server_names_follow_zimbra() {
    let f = fixture().await;
    let token = admin_login(&f).await;
    let create = |name: &str| {
        format!(r#"<CreateServerRequest xmlns="{NS}"><name>{name}</name></CreateServerRequest>"#)
    };
    let r = admin(f.admin, &token, &create("testserver    17")).await;
    assert!(r.body.contains(r#"name="testserver    17""#), "{}", r.body);
    let r = admin(f.admin, &token, &create("     ")).await;
    assert_eq!(r.fault_code().as_deref(), Some("service.INVALID_REQUEST"));
    // ModifyServer takes an id: a server's name there is no such server.
    let r = admin(f.admin, &token, &format!(
        r#"<ModifyServerRequest xmlns="{NS}"><id>testserver    17</id><a n="description">x</a></ModifyServerRequest>"#
    ))
    .await;
    assert_eq!(r.fault_code().as_deref(), Some("account.NO_SUCH_SERVER"));
}
