//! The admin API over implicit TLS (`frontends::http::serve_tls`) with a throwaway
//! certificate: a client completes the handshake, authenticates as the admin and gets
//! a token; a client that never handshakes does not stop the listener.

mod soap_support;

use std::sync::Arc;
use std::time::Duration;

use soap_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zcs_server::frontends::http::{router, serve_tls};

fn tls_pair() -> (tokio_rustls::TlsAcceptor, tokio_rustls::TlsConnector) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    let cert = ck.cert.der().clone();
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(ck.key_pair.serialize_der().into());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .expect("server config");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).expect("root");
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    (
        tokio_rustls::TlsAcceptor::from(Arc::new(server)),
        tokio_rustls::TlsConnector::from(Arc::new(client)),
    )
}

#[tokio::test]
async fn admin_auth_over_tls() {
    let f = fixture().await;
    let (acceptor, connector) = tls_pair();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(serve_tls(
        listener,
        acceptor,
        router(f.svc.clone(), true),
        f.shutdown_rx.clone(),
        "admin",
    ));

    // A silent client holds a connection open without blocking others.
    let _idle = TcpStream::connect(addr).await.expect("connect");

    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = tokio::time::timeout(Duration::from_secs(10), connector.connect(name, tcp))
        .await
        .expect("handshake in time")
        .expect("handshake");
    let body = soap12(
        None,
        &format!(
            "<AuthRequest xmlns=\"urn:zimbraAdmin\"><name>{ADMIN}</name>\
             <password>{PASSWORD}</password></AuthRequest>"
        ),
    );
    let req = format!(
        "POST /service/admin/soap/AuthRequest HTTP/1.1\r\nHost: localhost\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("<authToken>0_"), "{text}");
    assert!(text.contains("ZM_ADMIN_AUTH_TOKEN="), "{text}");
}
