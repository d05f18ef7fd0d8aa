//! `https:` feed and calendar subscriptions (FolderAction `url`, `import`, `sync`): the
//! server fetches them over TLS, trusting a certificate authority the test makes with
//! rcgen and gives the egress policy as an extra root (what local config
//! `zcs_feed_ca_file` does at server start). The feeds come from a TLS server the test
//! starts on 127.0.0.1; redirects, the egress check after a redirect, a redirect loop,
//! an oversized body and an untrusted certificate are covered.
//!
//! This binary is the only one in its process that sets the egress policy, so setting
//! it does not race another test file's expectations.

mod soap_support;

use std::net::SocketAddr;
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use soap_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use zcs_core::ItemId;
use zcs_server::egress;

const RSS: &str = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Sec</title>\
    <item><title>One</title><link>https://example.test/1</link><guid>s1</guid></item>\
    <item><title>Two</title><link>https://example.test/2</link><guid>s2</guid></item>\
    <item><title>Three</title><link>https://example.test/3</link><guid>s3</guid></item>\
    </channel></rss>";

const ICS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\n\
    UID:tls-ev-1@test\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260110T100000Z\r\n\
    DTEND:20260110T110000Z\r\nSUMMARY:Secure meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

/// A certificate authority and a server certificate it signed for `localhost` and
/// 127.0.0.1: (authority's certificate, server acceptor).
fn authority_and_server() -> (CertificateDer<'static>, tokio_rustls::TlsAcceptor) {
    let ca_key = rcgen::KeyPair::generate().expect("ca key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "zcs test feed authority");
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("params");
    let leaf = params.signed_by(&key, &ca, &ca_key).expect("leaf");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone(), ca.der().clone()],
            rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("server config");
    (
        ca.der().clone(),
        tokio_rustls::TlsAcceptor::from(Arc::new(server)),
    )
}

/// The raw HTTP/1.1 response the TLS server gives for `path`.
fn reply_for(path: &str, port: u16) -> Vec<u8> {
    let ok = |ct: &str, body: &str| {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    let redirect = |to: &str| {
        format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n").into_bytes()
    };
    match path {
        "/feed.xml" => ok("application/rss+xml", RSS),
        "/cal.ics" => ok("text/calendar", ICS),
        // Path-relative and absolute redirects to the feed.
        "/dir/moved" => redirect("../feed.xml"),
        "/moved" => redirect(&format!("https://localhost:{port}/dir/moved")),
        "/loop" => redirect("/loop"),
        // 127.0.0.2 is loopback but not whitelisted: the redirect hop is refused.
        "/away" => redirect(&format!("https://127.0.0.2:{port}/feed.xml")),
        "/big" => {
            let mut r = b"HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\n\r\n".to_vec();
            r.resize(r.len() + 11 * 1024 * 1024, b'x');
            r
        }
        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
    }
}

/// Serves [`reply_for`] over TLS on 127.0.0.1.
async fn https_server(acceptor: tokio_rustls::TlsAcceptor) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = l.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut s) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                let _ = s.write_all(&reply_for(&path, addr.port())).await;
                let _ = s.shutdown().await;
            });
        }
    });
    addr
}

async fn call(f: &Fixture, token: &str, body: &str) -> Reply {
    post(f.user, "/service/soap", &soap12(Some(token), body), "").await
}

async fn create_folder(f: &Fixture, tok: &str, name: &str, view: &str) -> ItemId {
    let r = call(
        f,
        tok,
        &format!(
            "<CreateFolderRequest xmlns=\"urn:zimbraMail\"><folder name=\"{name}\" l=\"1\" \
             view=\"{view}\"/></CreateFolderRequest>"
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let start = r.body.find(" id=\"").expect("id") + 5;
    let len = r.body[start..].find('"').expect("quote");
    ItemId(r.body[start..start + len].parse().expect("number"))
}

async fn action(f: &Fixture, tok: &str, attrs: &str) -> Reply {
    call(
        f,
        tok,
        &format!(
            "<FolderActionRequest xmlns=\"urn:zimbraMail\"><action {attrs}/>\
             </FolderActionRequest>"
        ),
    )
    .await
}

fn unreachable(r: &Reply, why: &str) {
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.RESOURCE_UNREACHABLE"),
        "{}",
        r.body
    );
    assert!(r.body.contains(why), "wanted {why:?} in {}", r.body);
}

#[tokio::test]
async fn https_feeds_and_calendars_are_fetched_over_checked_tls() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let (ca, acceptor) = authority_and_server();
    let addr = https_server(acceptor).await;
    let port = addr.port();
    let feed = create_folder(&f, &alice, "SecureNews", "message").await;
    let id = f.prov.get_account(ALICE).await.expect("alice").id;
    let mb = f.store.mailbox(id).await.expect("mailbox");

    // Loopback allowed, but the test authority not trusted yet: the handshake fails.
    egress::set_policy(egress::EgressPolicy::from_lists(
        egress::DEFAULT_BLACKLIST,
        "127.0.0.1",
    ));
    let url = format!("https://127.0.0.1:{port}/feed.xml");
    let r = action(
        &f,
        &alice,
        &format!("op=\"import\" id=\"{}\" url=\"{url}\"", feed.0),
    )
    .await;
    unreachable(&r, "TLS");
    assert!(mb.messages(feed).await.expect("messages").is_empty());

    // With the authority as an extra root (zcs_feed_ca_file), by address and by name.
    egress::set_policy(
        egress::EgressPolicy::from_lists(egress::DEFAULT_BLACKLIST, "127.0.0.1")
            .with_extra_roots(vec![ca]),
    );
    let r = action(
        &f,
        &alice,
        &format!("op=\"url\" id=\"{}\" url=\"{url}\"", feed.0),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(mb.messages(feed).await.expect("messages").len(), 3);
    let r = action(&f, &alice, &format!("op=\"sync\" id=\"{}\"", feed.0)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(mb.messages(feed).await.expect("messages").len(), 3);
    let by_name = format!("https://localhost:{port}/feed.xml");
    let op = format!("op=\"import\" id=\"{}\" url=\"{by_name}\"", feed.0);
    let r = action(&f, &alice, &op).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(mb.messages(feed).await.expect("messages").len(), 6);

    // Two redirects (absolute to a name, then path-relative) are followed.
    let moved = format!("https://127.0.0.1:{port}/moved");
    let op = format!("op=\"import\" id=\"{}\" url=\"{moved}\"", feed.0);
    let r = action(&f, &alice, &op).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(mb.messages(feed).await.expect("messages").len(), 9);

    // A calendar subscription over https brings its appointment.
    let cal = create_folder(&f, &alice, "SecureCal", "appointment").await;
    let cal_url = format!("https://127.0.0.1:{port}/cal.ics");
    let r = action(
        &f,
        &alice,
        &format!("op=\"url\" id=\"{}\" url=\"{cal_url}\"", cal.0),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(mb.cal_items(cal).await.expect("items").len(), 1);

    // A redirect to an address the lists refuse, a redirect loop, a body over the
    // limit and a missing page are all unreachable, and import nothing.
    for (path, why) in [
        ("/away", "blocked"),
        ("/loop", "too many redirects"),
        ("/big", "larger than"),
        ("/missing", "HTTP status 404"),
    ] {
        let u = format!("https://127.0.0.1:{port}{path}");
        let r = action(
            &f,
            &alice,
            &format!("op=\"import\" id=\"{}\" url=\"{u}\"", feed.0),
        )
        .await;
        unreachable(&r, why);
    }
    assert_eq!(mb.messages(feed).await.expect("messages").len(), 9);
}
