//! Read receipts over real HTTP on 127.0.0.1: SendDeliveryReportRequest answers a
//! message's `Disposition-Notification-To` with an RFC 8098 report delivered to that
//! address and flags the message notified; a message asking for none gets none. Also
//! a draft's compose context (identity, reply type, original) shown again by GetMsg.

mod soap_support;

use std::sync::Arc;

use soap_support::*;
use tokio::net::TcpListener;
use zcs_index::TantivyIndex;
use zcs_server::delivery::MailDelivery;
use zcs_server::frontends::http::{router, serve_plain};
use zcs_server::indexer::Indexer;
use zcs_server::soap::SoapService;

/// The shared fixture's directory and store behind a second user port whose service
/// delivers mail locally (the shared one has no delivery).
async fn with_delivery(f: &Fixture, dir: &std::path::Path) -> std::net::SocketAddr {
    let index = Arc::new(TantivyIndex::open(&dir.join("index")).expect("open index"));
    let (indexer, _task) = Indexer::start(f.store.clone(), index.clone());
    let delivery = Arc::new(MailDelivery::new(
        f.prov.clone(),
        f.store.clone(),
        indexer.clone(),
    ));
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
    tokio::spawn(serve_plain(l, router(svc, false), f.shutdown_rx.clone()));
    addr
}

async fn token(addr: std::net::SocketAddr, user: &str) -> String {
    let body = serde_json::json!({"AuthRequest": {"_jsns": "urn:zimbraAccount",
        "account": {"by": "name", "_content": user}, "password": {"_content": PASSWORD}}});
    let r = post(
        addr,
        "/service/soap",
        &json_env(None, &body.to_string()),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["Body"]["AuthResponse"]["authToken"][0]["_content"]
        .as_str()
        .expect("token")
        .to_string()
}

async fn call(addr: std::net::SocketAddr, tok: &str, body: serde_json::Value) -> serde_json::Value {
    let r = post(
        addr,
        "/service/soap",
        &json_env(Some(tok), &body.to_string()),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{body}\n{}", r.body);
    r.json()["Body"].clone()
}

async fn add(addr: std::net::SocketAddr, tok: &str, raw: &str) -> String {
    let v = call(
        addr,
        tok,
        serde_json::json!({"AddMsgRequest": {"_jsns": "urn:zimbraMail",
            "m": {"l": "2", "content": {"_content": raw}}}}),
    )
    .await;
    v["AddMsgResponse"]["m"][0]["id"]
        .as_str()
        .expect("id")
        .to_string()
}

async fn flags(addr: std::net::SocketAddr, tok: &str, id: &str) -> String {
    let v = call(
        addr,
        tok,
        serde_json::json!({"GetMsgRequest": {"_jsns": "urn:zimbraMail", "m": {"id": id}}}),
    )
    .await;
    v["GetMsgResponse"]["m"][0]["f"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

async fn search(addr: std::net::SocketAddr, tok: &str, query: &str) -> Vec<serde_json::Value> {
    let v = call(
        addr,
        tok,
        serde_json::json!({"SearchRequest": {"_jsns": "urn:zimbraMail", "types": "message",
            "query": query}}),
    )
    .await;
    v["SearchResponse"]["m"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn read_receipts_go_to_the_address_asking_for_them() {
    let f = fixture().await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let addr = with_delivery(&f, tmp.path()).await;
    let bob = token(addr, BOB).await;
    let alice = token(addr, ALICE).await;

    let asks = add(
        addr,
        &bob,
        &format!(
            "From: {ALICE}\r\nTo: {BOB}\r\nSubject: quarterly plan\r\n\
             Message-ID: <plan-1@example.test>\r\nDisposition-Notification-To: Alice <{ALICE}>\r\n\
             \r\nplease confirm\r\n"
        ),
    )
    .await;
    let v = call(
        addr,
        &bob,
        serde_json::json!({"SendDeliveryReportRequest": {"_jsns": "urn:zimbraMail",
            "mid": asks}}),
    )
    .await;
    assert!(v.get("SendDeliveryReportResponse").is_some(), "{v}");
    assert!(
        flags(addr, &bob, &asks).await.contains('n'),
        "flagged notified"
    );
    let hits = search(addr, &alice, "in:inbox subject:(quarterly)").await;
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["su"], "Read-Receipt: quarterly plan");

    // No Disposition-Notification-To: success, but nothing is sent.
    let quiet = add(
        addr,
        &bob,
        &format!("From: {ALICE}\r\nTo: {BOB}\r\nSubject: no receipt wanted\r\n\r\nhi\r\n"),
    )
    .await;
    let v = call(
        addr,
        &bob,
        serde_json::json!({"SendDeliveryReportRequest": {"_jsns": "urn:zimbraMail",
            "mid": quiet}}),
    )
    .await;
    assert!(v.get("SendDeliveryReportResponse").is_some(), "{v}");
    assert!(search(addr, &alice, "subject:(wanted)").await.is_empty());

    // A message that is not in the caller's mailbox is missing.
    let r = post(
        addr,
        "/service/soap",
        &json_env(
            Some(&alice),
            &serde_json::json!({"SendDeliveryReportRequest": {"_jsns": "urn:zimbraMail",
                "mid": "4242"}})
            .to_string(),
        ),
        "",
    )
    .await;
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(r.fault_code().as_deref(), Some("mail.NO_SUCH_MSG"));
}

#[tokio::test]
async fn a_draft_keeps_its_identity_and_reply_context() {
    let f = fixture().await;
    let alice = token(f.user, ALICE).await;
    let orig = add(
        f.user,
        &alice,
        &format!("From: {BOB}\r\nTo: {ALICE}\r\nSubject: question\r\n\r\nwell?\r\n"),
    )
    .await;
    let v = call(
        f.user,
        &alice,
        serde_json::json!({"SaveDraftRequest": {"_jsns": "urn:zimbraMail",
            "m": {"idnt": "0c1d-2e3f", "rt": "r", "origid": orig,
                "e": [{"t": "t", "a": BOB}], "su": {"_content": "Re: question"},
                "mp": {"ct": "text/plain", "content": {"_content": "yes"}}}}}),
    )
    .await;
    let m = &v["SaveDraftResponse"]["m"][0];
    assert_eq!(m["idnt"], "0c1d-2e3f", "{m}");
    let did = m["id"].as_str().expect("id").to_string();
    let v = call(
        f.user,
        &alice,
        serde_json::json!({"GetMsgRequest": {"_jsns": "urn:zimbraMail", "m": {"id": did}}}),
    )
    .await;
    let m = &v["GetMsgResponse"]["m"][0];
    assert_eq!(m["idnt"], "0c1d-2e3f", "{m}");
    assert_eq!(m["rt"], "r", "{m}");
    assert_eq!(m["origid"].as_str(), Some(orig.as_str()), "{m}");
    // A message that is no draft shows none of it.
    let v = call(
        f.user,
        &alice,
        serde_json::json!({"GetMsgRequest": {"_jsns": "urn:zimbraMail", "m": {"id": orig}}}),
    )
    .await;
    assert!(v["GetMsgResponse"]["m"][0].get("idnt").is_none());
}
