//! POP3 STLS (RFC 2595 §4) with `zimbraPop3CleartextLoginEnabled` off: CAPA offers STLS
//! and hides USER/SASL until TLS is on, pipelined input after STLS is dropped, and
//! login works over the upgraded stream. Loopback only, in-memory backend.

mod pop3_support;

use std::sync::Arc;
use std::time::Duration;

use pop3_support::{PASSWORD, USER, start, test_config_without_cleartext};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn tls_pair() -> (tokio_rustls::TlsAcceptor, tokio_rustls::TlsConnector) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert = ck.cert.der().clone();
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(ck.key_pair.serialize_der().into());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (
        tokio_rustls::TlsAcceptor::from(Arc::new(server)),
        tokio_rustls::TlsConnector::from(Arc::new(client)),
    )
}

async fn read_until<S: AsyncReadExt + Unpin>(s: &mut S, needle: &str) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(Duration::from_secs(10), async {
        while !String::from_utf8_lossy(&out).contains(needle) {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed: {}", String::from_utf8_lossy(&out));
            out.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("reply in time");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn stls_then_login() {
    let (acceptor, connector) = tls_pair();
    let config = zcs_server::pop3::Pop3Config {
        starttls: Some(acceptor),
        ..test_config_without_cleartext()
    };
    let server = start(config).await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    read_until(&mut tcp, "\r\n").await;
    tcp.write_all(b"CAPA\r\n").await.unwrap();
    let caps = read_until(&mut tcp, "\r\n.\r\n").await;
    assert!(
        caps.contains("\r\nSTLS\r\n") && !caps.contains("USER"),
        "{caps}"
    );
    tcp.write_all(format!("USER {USER}\r\n").as_bytes())
        .await
        .unwrap();
    assert!(read_until(&mut tcp, "\r\n").await.starts_with("-ERR"));
    tcp.write_all(b"STLS\r\nNOOP\r\n").await.unwrap();
    assert!(read_until(&mut tcp, "\r\n").await.starts_with("+OK"));
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    tls.write_all(b"CAPA\r\n").await.unwrap();
    let caps = read_until(&mut tls, "\r\n.\r\n").await;
    assert!(
        !caps.contains("NOOP"),
        "pipelined NOOP must be dropped: {caps}"
    );
    assert!(
        caps.contains("\r\nUSER\r\n") && !caps.contains("STLS"),
        "{caps}"
    );
    tls.write_all(b"STLS\r\n").await.unwrap();
    assert!(read_until(&mut tls, "\r\n").await.starts_with("-ERR"));
    tls.write_all(format!("USER {USER}\r\nPASS {PASSWORD}\r\nSTAT\r\n").as_bytes())
        .await
        .unwrap();
    let out = read_until(&mut tls, "+OK 3 ").await;
    assert!(out.contains("+OK 3 "), "{out}");
    tls.write_all(b"QUIT\r\n").await.unwrap();
}

#[tokio::test]
async fn no_stls_without_acceptor() {
    let server = start(test_config_without_cleartext()).await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    read_until(&mut tcp, "\r\n").await;
    tcp.write_all(b"STLS\r\n").await.unwrap();
    assert!(read_until(&mut tcp, "\r\n").await.starts_with("-ERR"));
}
