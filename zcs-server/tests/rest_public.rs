//! `/home` REST for the public over a real socket on 127.0.0.1: a folder granted to
//! the public (`gt="pub"`) is read without credentials; anything an anonymous caller
//! may not read answers 401 like a request without auth, existing or not; writing is
//! never served.

mod soap_support;

use std::net::SocketAddr;

use soap_support::*;
use zcs_core::{Flags, ItemId};
use zcs_store::{GranteeType, Mailbox, Rights};

/// A request without a body.
async fn raw(addr: SocketAddr, head: &str) -> (u16, String, Vec<u8>) {
    soap_support::raw(addr, head, b"").await
}

async fn put(mb: &Mailbox, folder: ItemId, subject: &str) -> ItemId {
    let raw = format!(
        "From: carol@example.test\r\nTo: {ALICE}\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.test>\r\n\r\nHello.\r\n"
    );
    mb.append(folder, raw.as_bytes(), Flags::default(), 1_700_000_000_000)
        .await
        .expect("append")
        .id
}

#[tokio::test]
async fn a_public_folder_is_read_anonymously_and_nothing_else() {
    let f = fixture().await;
    let alice = f.prov.get_account(ALICE).await.expect("alice");
    let mb = f.store.mailbox(alice.id).await.expect("mailbox");
    let public = mb
        .create_folder(ItemId(1), "Public")
        .await
        .expect("folder")
        .id;
    let open = put(&mb, public, "OpenLetter").await;
    let private = put(&mb, ItemId(2), "PrivateNote").await;
    let get = |path: String| format!("GET {path} HTTP/1.1");

    // No grant yet: 401, with the challenge.
    let (status, head, _) = raw(f.user, &get(format!("/home/{ALICE}/?id={}", open.0))).await;
    assert_eq!(status, 401);
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: basic")
    );

    mb.grant(
        public,
        GranteeType::Public,
        "",
        Rights::parse("rwidx").expect("rights"),
        "",
    )
    .await
    .expect("grant");

    for path in [
        format!("/home/{ALICE}/?id={}", open.0),
        format!("/service/home/{ALICE}/Public?id={}", open.0),
    ] {
        let (status, _, body) = raw(f.user, &get(path.clone())).await;
        assert_eq!(status, 200, "{path}");
        assert!(String::from_utf8_lossy(&body).contains("Subject: OpenLetter"));
    }
    // An empty or stale auth cookie is no credential at all.
    let (status, _, _) = raw(
        f.user,
        &format!(
            "GET /home/{ALICE}/?id={} HTTP/1.1\r\nCookie: ZM_AUTH_TOKEN=",
            open.0
        ),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, body) = raw(f.user, &get(format!("/home/{ALICE}/Public.rss"))).await;
    assert_eq!(status, 200);
    let rss = String::from_utf8_lossy(&body);
    assert!(
        rss.contains("OpenLetter") && !rss.contains("PrivateNote"),
        "{rss}"
    );

    for path in [
        format!("/home/{ALICE}/Inbox"),
        format!("/home/{ALICE}/?id={}", private.0),
        format!("/home/{ALICE}/Public?id={}", private.0),
        format!("/home/{ALICE}/?id=99999"),
        format!("/home/{ALICE}/?fmt=zip"),
        "/home/nobody@example.test/Public".to_string(),
        "/home/~/Public".to_string(),
    ] {
        let (status, _, body) = raw(f.user, &get(path.clone())).await;
        assert_eq!(status, 401, "{path}");
        assert!(!String::from_utf8_lossy(&body).contains("PrivateNote"));
    }
    // A public grant is read only here: no method writes.
    for method in ["POST", "PUT", "DELETE"] {
        let (status, _, _) = raw(
            f.user,
            &format!("{method} /home/{ALICE}/Public?fmt=tgz HTTP/1.1"),
        )
        .await;
        assert!(matches!(status, 401 | 403 | 405), "{method}: {status}");
    }
}
