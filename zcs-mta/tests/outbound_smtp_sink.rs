//! Relay through the queue to a real receiving SMTP server: Postfix's `smtp-sink`,
//! started on 127.0.0.1 by `.ci/setup.d/30-smtp-sink.sh`. A 4xx is retried until the
//! message expires and bounces with a DSN; a 5xx bounces at once; a 2xx delivers.
//! Skips loudly when the sinks are not running (the variables are unset).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use zcs_mta::outbound::{
    Attempt, OutboundMessage, Outcome, RelayHost, SmtpTransport, SmtpTransportConfig,
    StaticResolver, Transport,
};
use zcs_mta::queue::{Envelope, Queue, QueueConfig, QueueManager, QueueName, Transports};

fn sink(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            eprintln!("SKIP: {var} is not set (run .ci/setup.d/30-smtp-sink.sh)");
            None
        }
    }
}

/// Our own mailbox for the sender, which receives the DSNs.
#[derive(Default)]
struct Mailbox(Mutex<Vec<Vec<u8>>>);

#[async_trait]
impl Transport for Mailbox {
    async fn deliver(&self, m: OutboundMessage<'_>) -> Vec<Attempt> {
        self.0.lock().unwrap().push(m.data.to_vec());
        vec![Attempt::local(Outcome::Delivered, "2.0.0 stored"); m.recipients.len()]
    }
}

struct Setup {
    queue: Queue,
    mailbox: Arc<Mailbox>,
    stop: tokio::sync::watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
    dir: PathBuf,
}

/// `127.0.0.1:PORT` as `zimbraMtaRelayHost` writes it: `[127.0.0.1]:PORT` (no MX lookup).
fn relay_host(addr: &str) -> RelayHost {
    let (host, port) = addr.rsplit_once(':').expect("HOST:PORT");
    RelayHost::parse(&format!("[{host}]:{port}")).expect("valid relay host")
}

fn setup(name: &str, relay: &str, lifetime: Duration) -> Setup {
    let dir = std::env::temp_dir().join(format!("zcs-smtp-sink-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = QueueConfig {
        minimal_backoff: Duration::from_millis(100),
        maximal_backoff: Duration::from_millis(200),
        maximal_queue_lifetime: lifetime,
        queue_run_delay: Duration::from_millis(20),
        poll_interval: Duration::from_millis(20),
        hostname: "zcs.example.com".into(),
        ..Default::default()
    };
    let queue = Queue::open(&dir, config).unwrap();
    let smtp = SmtpTransport::new(
        SmtpTransportConfig {
            helo_name: "zcs.example.com".into(),
            relay_host: Some(relay_host(relay)),
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(10),
            ..Default::default()
        },
        Arc::new(StaticResolver::new()),
    );
    let mailbox = Arc::new(Mailbox::default());
    let transports =
        Transports::new(Arc::new(smtp)).with_local(|d| d == "example.com", mailbox.clone());
    let (stop, rx) = tokio::sync::watch::channel(false);
    let handle = QueueManager::start(queue.clone(), transports, rx);
    Setup {
        queue,
        mailbox,
        stop,
        handle,
        dir,
    }
}

impl Setup {
    async fn wait(&self, what: &str, ok: impl Fn(&Setup) -> bool) {
        for _ in 0..600 {
            if ok(self) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("timed out waiting for {what}");
    }

    fn empty(&self) -> bool {
        QueueName::ALL
            .iter()
            .all(|q| self.queue.list(*q).unwrap().is_empty())
    }

    fn dsns(&self) -> Vec<String> {
        let m = self.mailbox.0.lock().unwrap();
        m.iter()
            .map(|d| String::from_utf8_lossy(d).into_owned())
            .collect()
    }

    async fn stop(self) {
        self.stop.send(true).unwrap();
        self.handle.await.unwrap();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn message(subject: &str) -> Vec<u8> {
    format!("From: alice@example.com\r\nTo: bob@far.example\r\nSubject: {subject}\r\n\r\nhi\r\n")
        .into_bytes()
}

#[tokio::test]
async fn smtp_sink_accepts_relayed_mail() {
    let (Some(addr), Some(dump)) = (sink("ZCS_TEST_SMTP_SINK"), sink("ZCS_TEST_SMTP_SINK_DIR"))
    else {
        return;
    };
    let subject = format!("zcs relay test {}", std::process::id());
    let s = setup("ok", &addr, Duration::from_secs(60));
    let env = Envelope::new("alice@example.com", &["bob@far.example"]);
    s.queue.enqueue(env, &message(&subject)).await.unwrap();
    s.wait("delivery", |s| s.empty()).await;
    assert!(s.dsns().is_empty(), "no DSN: {:?}", s.dsns());

    // smtp-sink -d writes one file per message.
    let mut found = false;
    for _ in 0..40 {
        found = std::fs::read_dir(&dump).unwrap().flatten().any(|e| {
            std::fs::read(e.path())
                .map(|b| String::from_utf8_lossy(&b).contains(&subject))
                .unwrap_or(false)
        });
        if found {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(found, "the message is in smtp-sink's dump directory");
    s.stop().await;
}

#[tokio::test]
async fn smtp_sink_4xx_is_retried_then_bounced_with_a_dsn() {
    let Some(addr) = sink("ZCS_TEST_SMTP_SINK_TEMPFAIL") else {
        return;
    };
    let s = setup("tempfail", &addr, Duration::from_millis(800));
    let env = Envelope::new("alice@example.com", &["bob@far.example"]);
    let id = s.queue.enqueue(env, &message("tempfail")).await.unwrap();
    s.wait("a deferral", |s| {
        s.queue.read(QueueName::Deferred, &id).is_ok()
    })
    .await;
    s.wait("the DSN", |s| !s.dsns().is_empty()).await;
    s.wait("an empty queue", |s| s.empty()).await;
    let dsn = &s.dsns()[0];
    assert!(dsn.contains("Action: failed"), "{dsn}");
    assert!(dsn.contains("message expired in queue"), "{dsn}");
    assert!(
        dsn.contains("said: 4"),
        "the last 4xx reply is reported: {dsn}"
    );
    s.stop().await;
}

#[tokio::test]
async fn smtp_sink_5xx_bounces_at_once() {
    let Some(addr) = sink("ZCS_TEST_SMTP_SINK_PERMFAIL") else {
        return;
    };
    let s = setup("permfail", &addr, Duration::from_secs(60));
    let env = Envelope::new("alice@example.com", &["bob@far.example"]);
    s.queue.enqueue(env, &message("permfail")).await.unwrap();
    s.wait("the DSN", |s| !s.dsns().is_empty()).await;
    s.wait("an empty queue", |s| s.empty()).await;
    let dsn = &s.dsns()[0];
    assert!(dsn.contains("Action: failed\r\nStatus: 5."), "{dsn}");
    assert!(dsn.contains("Diagnostic-Code: smtp; 5"), "{dsn}");
    assert!(dsn.contains("(in reply to RCPT TO command)"));
    s.stop().await;
}
