//! A line client over any stream (plain or TLS), TLS fixtures made with rcgen, and test
//! doubles for the new seams: an authenticator, a recording sink, a recipient policy and
//! a policy resolver.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};
use zcs_mta::restrictions::Lookup;
use zcs_mta::{
    AuthError, AuthedUser, DeliveryOutcome, Envelope, InboundMessage, MessageSink, PolicyResolver,
    RecipientPolicy, SmtpAuthenticator,
};

use super::REPLY_WAIT;

/// A line-oriented SMTP client over any stream.
pub struct Wire<S> {
    pub stream: S,
    buf: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Wire<S> {
    pub fn new(stream: S) -> Self {
        Wire {
            stream,
            buf: Vec::new(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
        self.stream.flush().await.unwrap();
    }

    pub async fn reply(&mut self) -> String {
        tokio::time::timeout(REPLY_WAIT, async {
            let mut reply = String::new();
            loop {
                let line = self.line().await.expect("connection closed before a reply");
                let last = line.as_bytes().get(3) != Some(&b'-');
                reply.push_str(&line);
                if last {
                    return reply;
                }
            }
        })
        .await
        .expect("timed out waiting for a reply")
    }

    async fn line(&mut self) -> Option<String> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                return Some(String::from_utf8(line).unwrap());
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    pub async fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }

    /// True when nothing but end of stream follows (within the reply wait).
    pub async fn closed(&mut self) -> bool {
        self.buf.is_empty()
            && tokio::time::timeout(REPLY_WAIT, async {
                let mut rest = Vec::new();
                let _ = self.stream.read_to_end(&mut rest).await;
                rest.is_empty()
            })
            .await
            .unwrap_or(false)
    }

    /// Sends a whole message after DATA (already dot-stuffed, no terminator).
    pub async fn data(&mut self, body: &str) -> String {
        let go = self.cmd("DATA").await;
        assert!(go.starts_with("354"), "{go}");
        self.send(body.as_bytes()).await;
        self.cmd(".").await
    }
}

pub async fn connect(addr: SocketAddr) -> (Wire<TcpStream>, String) {
    let mut w = Wire::new(TcpStream::connect(addr).await.unwrap());
    let greeting = w.reply().await;
    (w, greeting)
}

/// A throwaway certificate for `mx.test`: the server acceptor and a client connector
/// trusting it.
pub fn tls_pair() -> (TlsAcceptor, TlsConnector) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certified = rcgen::generate_simple_self_signed(vec!["mx.test".to_string()]).unwrap();
    let cert: CertificateDer<'static> = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
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
        TlsAcceptor::from(Arc::new(server)),
        TlsConnector::from(Arc::new(client)),
    )
}

pub fn server_name() -> ServerName<'static> {
    ServerName::try_from("mx.test").unwrap()
}

/// Knows `joe@x.test` / `secret` (aliases `joseph@x.test`) and `down@x.test` (directory
/// unavailable).
pub struct FakeAuth;

#[async_trait]
impl SmtpAuthenticator for FakeAuth {
    async fn authenticate(
        &self,
        user: &str,
        password: &str,
        _peer: IpAddr,
    ) -> Result<AuthedUser, AuthError> {
        match (user, password) {
            ("joe@x.test", "secret") => {
                let mut u = AuthedUser::new("joe@x.test");
                u.addresses.push("joseph@x.test".into());
                Ok(u)
            }
            ("down@x.test", _) => Err(AuthError::TempFail("ldap down".into())),
            _ => Err(AuthError::Invalid),
        }
    }
}

/// Records every message with its envelope and accepts it for all recipients.
#[derive(Default)]
pub struct Sink {
    pub got: Mutex<Vec<(InboundMessage, Envelope)>>,
}

impl Sink {
    pub fn all(&self) -> Vec<(InboundMessage, Envelope)> {
        self.got.lock().unwrap().clone()
    }
}

#[async_trait]
impl MessageSink for Sink {
    async fn accept(&self, message: &InboundMessage, envelope: &Envelope) -> Vec<DeliveryOutcome> {
        self.got
            .lock()
            .unwrap()
            .push((message.clone(), envelope.clone()));
        vec![DeliveryOutcome::Delivered; message.recipients.len()]
    }
}

/// `x.test` and `local.test` are ours.
pub struct LocalDomains;

#[async_trait]
impl RecipientPolicy for LocalDomains {
    async fn is_local_domain(&self, domain: &str) -> bool {
        matches!(domain, "x.test" | "local.test" | "mx.test")
    }
}

/// `nx.test` does not exist, `slow.test` times out, everything else exists; 127.0.0.1
/// is listed in `bl.test`.
pub struct FakeDns;

#[async_trait]
impl PolicyResolver for FakeDns {
    async fn domain_exists(&self, domain: &str) -> Lookup<()> {
        match domain {
            "nx.test" => Lookup::NotFound,
            "slow.test" => Lookup::TempFail,
            _ => Lookup::Found(()),
        }
    }

    async fn rbl_lookup(&self, zone: &str, ip: IpAddr) -> Lookup<String> {
        if zone == "bl.test" && ip == IpAddr::from([127, 0, 0, 1]) {
            Lookup::Found("listed for testing".into())
        } else {
            Lookup::NotFound
        }
    }
}
