//! End to end on loopback: an SMTP client talks to our listener, whose sink is the
//! durable queue; the queue manager then delivers the local recipient through
//! `LocalDelivery` and relays the remote one over SMTP to a sink on 127.0.0.1.

#[path = "outbound_sink/mod.rs"]
mod sink;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use zcs_mta::outbound::{LocalTransport, SmtpTransport, SmtpTransportConfig, StaticResolver};
use zcs_mta::queue::{Queue, QueueConfig, QueueManager, QueueName, QueueSink, Transports};
use zcs_mta::{
    DeliveryOutcome, InboundMessage, ListenerConfig, LocalDelivery, Protocol, RecipientPolicy,
    RecipientStatus, serve,
};

/// `example.com` is ours.
struct Domains;

#[async_trait]
impl RecipientPolicy for Domains {
    async fn is_local_domain(&self, domain: &str) -> bool {
        domain == "example.com"
    }
}

#[derive(Default)]
struct Store(Mutex<Vec<InboundMessage>>);

#[async_trait]
impl LocalDelivery for Store {
    async fn resolve_recipient(&self, address: &str) -> RecipientStatus {
        if address.eq_ignore_ascii_case("bob@example.com") {
            RecipientStatus::Local("bob@example.com".into())
        } else {
            RecipientStatus::Unknown
        }
    }

    async fn deliver(&self, message: &InboundMessage) -> Vec<DeliveryOutcome> {
        self.0.lock().unwrap().push(message.clone());
        vec![DeliveryOutcome::Delivered; message.recipients.len()]
    }
}

async fn expect(reader: &mut BufReader<TcpStream>, code: &str) -> String {
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.unwrap();
        assert!(line.starts_with(code), "expected {code}, got {line:?}");
        if line.as_bytes().get(3) != Some(&b'-') {
            return line;
        }
    }
}

async fn say(reader: &mut BufReader<TcpStream>, line: &str, code: &str) -> String {
    reader.get_mut().write_all(line.as_bytes()).await.unwrap();
    expect(reader, code).await
}

#[tokio::test]
async fn smtp_in_queue_then_local_and_relayed_delivery() {
    let relay_sink = sink::start(sink::Behaviour::default()).await;
    let dns = StaticResolver::new();
    dns.add_mx("far.example", 10, "mx.far.example");
    dns.add_ip("mx.far.example", IpAddr::V4(Ipv4Addr::LOCALHOST));

    let dir = std::env::temp_dir().join(format!("zcs-queue-smtp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = QueueConfig {
        poll_interval: Duration::from_millis(20),
        queue_run_delay: Duration::from_millis(20),
        hostname: "mta.example.com".into(),
        ..Default::default()
    };
    let queue = Queue::open(&dir, config).unwrap();
    let store = Arc::new(Store::default());
    let smtp = SmtpTransport::new(
        SmtpTransportConfig {
            helo_name: "mta.example.com".into(),
            port: relay_sink.addr.port(),
            connect_timeout: Duration::from_secs(5),
            ..Default::default()
        },
        Arc::new(dns),
    );
    let transports = Transports::new(Arc::new(smtp)).with_local_policy(
        Arc::new(Domains),
        Arc::new(LocalTransport::new(store.clone())),
    );
    let (stop, rx) = tokio::sync::watch::channel(false);
    let manager = QueueManager::start(queue.clone(), transports, rx.clone());

    let mut listener_config = ListenerConfig::new(Protocol::Smtp, "mta.example.com");
    listener_config.my_networks = vec!["127.0.0.0/8".parse().unwrap()];
    listener_config.recipient_policy = Some(Arc::new(Domains));
    listener_config.sink = Some(Arc::new(QueueSink::new(queue.clone())));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve(listener, listener_config, store.clone(), rx));

    let mut c = BufReader::new(TcpStream::connect(addr).await.unwrap());
    expect(&mut c, "220").await;
    say(&mut c, "EHLO client.example\r\n", "250").await;
    say(&mut c, "MAIL FROM:<alice@example.com>\r\n", "250").await;
    say(&mut c, "RCPT TO:<bob@example.com>\r\n", "250").await;
    say(&mut c, "RCPT TO:<carol@far.example>\r\n", "250").await;
    say(&mut c, "DATA\r\n", "354").await;
    say(&mut c, "Subject: hello\r\n\r\nHi both.\r\n.\r\n", "250").await;
    say(&mut c, "QUIT\r\n", "221").await;

    for _ in 0..400 {
        if !store.0.lock().unwrap().is_empty()
            && !relay_sink.messages().is_empty()
            && QueueName::ALL
                .iter()
                .all(|q| queue.list(*q).unwrap().is_empty())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let stored = store.0.lock().unwrap().clone();
    assert_eq!(stored.len(), 1, "local recipient delivered once");
    assert_eq!(stored[0].recipients[0].canonical, "bob@example.com");
    assert_eq!(stored[0].mail_from, "alice@example.com");
    let stored_text = String::from_utf8_lossy(&stored[0].data);
    assert!(
        stored_text.starts_with("Received: from client.example"),
        "{stored_text}"
    );
    assert!(stored_text.ends_with("Hi both.\r\n"));

    let relayed = relay_sink.messages();
    assert_eq!(relayed.len(), 1, "remote recipient relayed once");
    assert_eq!(relayed[0].rcpts, ["carol@far.example"]);
    assert_eq!(relayed[0].mail_from, "alice@example.com");
    assert!(String::from_utf8_lossy(&relayed[0].data).contains("Subject: hello"));
    assert!(
        QueueName::ALL
            .iter()
            .all(|q| queue.list(*q).unwrap().is_empty())
    );

    stop.send(true).unwrap();
    manager.await.unwrap();
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// bob and maint are local; maint's mailbox is in maintenance the first time.
#[derive(Default)]
struct Flaky {
    calls: Mutex<Vec<Vec<String>>>,
}

#[async_trait]
impl LocalDelivery for Flaky {
    async fn resolve_recipient(&self, address: &str) -> RecipientStatus {
        match address {
            "bob@example.com" | "maint@example.com" => RecipientStatus::Local(address.into()),
            _ => RecipientStatus::Unknown,
        }
    }

    async fn deliver(&self, message: &InboundMessage) -> Vec<DeliveryOutcome> {
        let mut calls = self.calls.lock().unwrap();
        let first = calls.is_empty();
        calls.push(
            message
                .recipients
                .iter()
                .map(|r| r.canonical.clone())
                .collect(),
        );
        message
            .recipients
            .iter()
            .map(|r| {
                if first && r.canonical.starts_with("maint") {
                    DeliveryOutcome::TempFail("4.2.1 mailbox in maintenance".into())
                } else {
                    DeliveryOutcome::Delivered
                }
            })
            .collect()
    }
}

#[tokio::test]
async fn local_first_delivers_at_once_and_queues_only_the_failures() {
    let dir = std::env::temp_dir().join(format!("zcs-queue-local-first-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = QueueConfig {
        poll_interval: Duration::from_millis(20),
        queue_run_delay: Duration::from_millis(20),
        minimal_backoff: Duration::from_millis(50),
        ..Default::default()
    };
    let queue = Queue::open(&dir, config).unwrap();
    let store = Arc::new(Flaky::default());
    let remote = SmtpTransport::new(
        SmtpTransportConfig::default(),
        Arc::new(StaticResolver::new()),
    );
    let transports = Transports::new(Arc::new(remote)).with_local_policy(
        Arc::new(Domains),
        Arc::new(LocalTransport::new(store.clone())),
    );
    let (stop, rx) = tokio::sync::watch::channel(false);
    let manager = QueueManager::start(queue.clone(), transports, rx.clone());

    let mut listener_config = ListenerConfig::new(Protocol::Smtp, "mta.example.com");
    listener_config.recipient_policy = Some(Arc::new(Domains));
    let sink = QueueSink::new(queue.clone()).with_local_first(store.clone());
    listener_config.sink = Some(Arc::new(sink));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve(listener, listener_config, store.clone(), rx));

    let mut c = BufReader::new(TcpStream::connect(addr).await.unwrap());
    expect(&mut c, "220").await;
    say(&mut c, "EHLO client.example\r\n", "250").await;
    say(&mut c, "MAIL FROM:<carol@elsewhere.example>\r\n", "250").await;
    say(&mut c, "RCPT TO:<bob@example.com>\r\n", "250").await;
    say(&mut c, "RCPT TO:<maint@example.com>\r\n", "250").await;
    say(&mut c, "DATA\r\n", "354").await;
    say(&mut c, "Subject: hi\r\n\r\nHello.\r\n.\r\n", "250").await;
    say(&mut c, "QUIT\r\n", "221").await;

    // Direct delivery to both happened while the client waited; maint failed and was
    // queued, then the manager delivered to maint alone.
    for _ in 0..400 {
        if store.calls.lock().unwrap().len() == 2
            && QueueName::ALL
                .iter()
                .all(|q| queue.list(*q).unwrap().is_empty())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let calls = store.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0], ["bob@example.com", "maint@example.com"]);
    assert_eq!(calls[1], ["maint@example.com"]);
    assert!(
        QueueName::ALL
            .iter()
            .all(|q| queue.list(*q).unwrap().is_empty())
    );

    stop.send(true).unwrap();
    manager.await.unwrap();
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&dir);
}
