//! A scriptable SMTP sink for the queue and outbound tests: listens on 127.0.0.1 port 0,
//! optionally offers STARTTLS (a throwaway self-signed certificate made for these tests)
//! and AUTH PLAIN, answers RCPT and end-of-data as told, and records what it received.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Throwaway test certificate (CN=mx.example.test), never used outside tests.
const CERT: &str = "
-----BEGIN CERTIFICATE-----
MIIBizCCATGgAwIBAgIUUsu8goW1RJNz1sypmQBNFqmt3NswCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPbXguZXhhbXBsZS50ZXN0MCAXDTI2MTIwNDE5MjQxMFoYDzIx
MjYxMTEwMTkyNDEwWjAaMRgwFgYDVQQDDA9teC5leGFtcGxlLnRlc3QwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAAQcpymXUOBbosn61PqBUF2YcnL9SD8dmzIygvRG
TL5+kIFuL9z3/bQEduk5YGGDiXJUno75xFbHhRM+2R9cSaRlo1MwUTAdBgNVHQ4E
FgQUOWJFqZ2Cifv+55HHm4qc2nnVbIswHwYDVR0jBBgwFoAUOWJFqZ2Cifv+55HH
m4qc2nnVbIswDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEAz7Ca
AOD5lBMNPsfwpcVYklgNbk800vZ/K2MB6/DBOdUCICD+pAGBgVZ2cVzFFNO1Aq/k
yE9FWEbB9E2QyJAjar3B
-----END CERTIFICATE-----
";

/// Its PKCS#8 key.
const KEY: &str = "
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgNTTOTSKz7f57oZ8Y
uPfzMP2QI+LSZeIIDG36d0ulvUuhRANCAAQcpymXUOBbosn61PqBUF2YcnL9SD8d
mzIygvRGTL5+kIFuL9z3/bQEduk5YGGDiXJUno75xFbHhRM+2R9cSaRl
-----END PRIVATE KEY-----
";

/// One message the sink accepted.
#[derive(Clone, Debug, Default)]
pub struct Received {
    pub helo: String,
    pub mail_from: String,
    pub rcpts: Vec<String>,
    pub data: Vec<u8>,
    pub tls: bool,
    pub auth: Option<String>,
}

type RcptRule = Arc<dyn Fn(&str) -> (u16, String) + Send + Sync>;

/// How the sink behaves.
#[derive(Clone)]
pub struct Behaviour {
    pub greeting: u16,
    pub starttls: bool,
    pub auth: bool,
    pub rcpt: RcptRule,
    /// The reply after end of data; called with the number of messages seen so far.
    pub data: Arc<dyn Fn(usize) -> (u16, String) + Send + Sync>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            greeting: 220,
            starttls: false,
            auth: false,
            rcpt: Arc::new(|_| (250, "2.1.5 Ok".into())),
            data: Arc::new(|_| (250, "2.0.0 Ok: queued".into())),
        }
    }
}

/// A running sink.
pub struct Sink {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<Received>>>,
    pub attempts: Arc<Mutex<usize>>,
}

impl Sink {
    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Number of DATA phases reached (accepted or not).
    pub fn data_attempts(&self) -> usize {
        *self.attempts.lock().unwrap()
    }
}

fn acceptor() -> TlsAcceptor {
    let cert = CertificateDer::from_pem_slice(CERT.as_bytes()).unwrap();
    let key = PrivateKeyDer::from_pem_slice(KEY.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    TlsAcceptor::from(Arc::new(config))
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Starts a sink on 127.0.0.1, port 0.
pub async fn start(behaviour: Behaviour) -> Sink {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received = Arc::new(Mutex::new(Vec::new()));
    let attempts = Arc::new(Mutex::new(0));
    let (r, a) = (received.clone(), attempts.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (b, r, a) = (behaviour.clone(), r.clone(), a.clone());
            tokio::spawn(async move {
                let _ = session(Box::new(stream), b, r, a).await;
            });
        }
    });
    Sink {
        addr,
        received,
        attempts,
    }
}

async fn session(
    stream: Box<dyn Io>,
    b: Behaviour,
    received: Arc<Mutex<Vec<Received>>>,
    attempts: Arc<Mutex<usize>>,
) -> std::io::Result<()> {
    let mut io = BufReader::new(stream);
    io.write_all(format!("{} mx.example.test ESMTP sink\r\n", b.greeting).as_bytes())
        .await?;
    io.flush().await?;
    if b.greeting != 220 {
        return Ok(());
    }
    let mut tls = false;
    let mut current = Received::default();
    loop {
        let mut line = String::new();
        if io.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let upper = line.to_ascii_uppercase();
        let arg = line.get(5..).unwrap_or("").trim().to_string();
        let reply = if upper.starts_with("EHLO") {
            current.helo = arg;
            let mut r = String::from("250-mx.example.test\r\n250-PIPELINING\r\n");
            if b.starttls && !tls {
                r.push_str("250-STARTTLS\r\n");
            }
            if b.auth {
                r.push_str("250-AUTH PLAIN\r\n");
            }
            r.push_str("250 8BITMIME\r\n");
            r
        } else if upper.starts_with("STARTTLS") {
            io.write_all(b"220 2.0.0 Ready to start TLS\r\n").await?;
            io.flush().await?;
            let inner = io.into_inner();
            let stream = acceptor().accept(inner).await?;
            io = BufReader::new(Box::new(stream) as Box<dyn Io>);
            tls = true;
            current = Received::default();
            continue;
        } else if upper.starts_with("AUTH") {
            current.auth = Some(line.trim_end().to_string());
            "235 2.7.0 Authentication successful\r\n".into()
        } else if upper.starts_with("MAIL FROM:") {
            current.mail_from = line[10..].trim().trim_matches(['<', '>']).to_string();
            "250 2.1.0 Ok\r\n".into()
        } else if upper.starts_with("RCPT TO:") {
            let rcpt = line[8..].trim().trim_matches(['<', '>']).to_string();
            let (code, text) = (b.rcpt)(&rcpt);
            if code / 100 == 2 {
                current.rcpts.push(rcpt);
            }
            format!("{code} {text}\r\n")
        } else if upper.starts_with("DATA") {
            io.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            io.flush().await?;
            let mut data = Vec::new();
            loop {
                let mut l = Vec::new();
                if io.read_until(b'\n', &mut l).await? == 0 {
                    return Ok(());
                }
                if l == b".\r\n" {
                    break;
                }
                let l = l.strip_prefix(b".").unwrap_or(&l);
                data.extend_from_slice(l);
            }
            let n = {
                let mut a = attempts.lock().unwrap();
                *a += 1;
                *a
            };
            let (code, text) = (b.data)(n);
            if code / 100 == 2 {
                current.data = data;
                current.tls = tls;
                received.lock().unwrap().push(current.clone());
            }
            current.rcpts.clear();
            format!("{code} {text}\r\n")
        } else if upper.starts_with("RSET") {
            current.rcpts.clear();
            "250 2.0.0 Ok\r\n".into()
        } else if upper.starts_with("QUIT") {
            io.write_all(b"221 2.0.0 Bye\r\n").await?;
            io.flush().await?;
            return Ok(());
        } else {
            "502 5.5.2 Error: command not recognized\r\n".into()
        };
        io.write_all(reply.as_bytes()).await?;
        io.flush().await?;
    }
}
