//! Outbound delivery when DNS fails, through the real resolver (hickory, as
//! `zcs_dns_servers` configures it) asking a DNS server the test runs on 127.0.0.1:
//! a resolver failure (SERVFAIL, REFUSED, no answer) defers the recipient with 4.4.3 and
//! the queue keeps the message for a retry; only an answer about the domain (NXDOMAIN,
//! null MX) bounces. A host whose DNS configuration cannot be read defers too.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::dns::TestDns;
use zcs_mta::outbound::{
    Attempt, OutboundMessage, Outcome, Resolver, SmtpTransport, SmtpTransportConfig,
    SystemResolver, Transport, UnavailableResolver,
};
use zcs_mta::queue::{Envelope, Queue, QueueConfig, QueueManager, QueueName, Transports};

/// A transport asking `dns` with a short wait, so the silent server costs under a second.
fn transport(dns: &TestDns) -> SmtpTransport {
    let resolver =
        SystemResolver::with_name_servers_timeout(&[dns.addr], Duration::from_millis(300), 1)
            .expect("resolver");
    with_resolver(Arc::new(resolver))
}

fn with_resolver(resolver: Arc<dyn Resolver>) -> SmtpTransport {
    let config = SmtpTransportConfig {
        helo_name: "zcs.example.com".into(),
        // Nothing is ever connected to: every case ends at DNS.
        port: 9,
        connect_timeout: Duration::from_secs(2),
        command_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    SmtpTransport::new(config, resolver)
}

async fn send(t: &SmtpTransport, rcpt: &str) -> Attempt {
    let envelope = Envelope::new("alice@example.com", &[rcpt]);
    let rcpts = vec![rcpt.to_string()];
    let mut attempts = t
        .deliver(OutboundMessage {
            id: "DNS1",
            envelope: &envelope,
            recipients: &rcpts,
            data: b"Subject: hi\r\n\r\nbody\r\n",
        })
        .await;
    assert_eq!(attempts.len(), 1);
    attempts.remove(0)
}

fn assert_deferred(a: &Attempt) {
    assert_eq!(a.outcome, Outcome::Deferred, "{a:?}");
    assert!(a.reply.starts_with("4.4.3"), "{a:?}");
}

#[tokio::test]
async fn servfail_on_the_mx_lookup_defers() {
    let dns = TestDns::start().await;
    dns.servfail("broken.example");
    let a = send(&transport(&dns), "bob@broken.example").await;
    assert_deferred(&a);
}

#[tokio::test]
async fn refused_defers() {
    let dns = TestDns::start().await;
    dns.refuse("refused.example");
    let a = send(&transport(&dns), "bob@refused.example").await;
    assert_deferred(&a);
}

#[tokio::test]
async fn no_answer_from_the_resolver_defers() {
    let dns = TestDns::start().await;
    dns.silent("quiet.example");
    let a = send(&transport(&dns), "bob@quiet.example").await;
    assert_deferred(&a);
}

#[tokio::test]
async fn servfail_on_the_mx_host_address_defers() {
    let dns = TestDns::start().await;
    dns.mx("half.example", 10, "mx.half.example");
    dns.servfail("mx.half.example");
    let a = send(&transport(&dns), "bob@half.example").await;
    assert_deferred(&a);
}

#[tokio::test]
async fn nxdomain_and_null_mx_bounce() {
    let dns = TestDns::start().await;
    dns.mx("nullmx.example", 0, ".");
    let t = transport(&dns);
    let nx = send(&t, "bob@nowhere.example").await;
    assert_eq!(nx.outcome, Outcome::Bounced, "{nx:?}");
    assert!(nx.reply.starts_with("5.4.4"), "{nx:?}");
    let null = send(&t, "bob@nullmx.example").await;
    assert_eq!(null.outcome, Outcome::Bounced, "{null:?}");
    assert!(null.reply.starts_with("5.1.10"), "{null:?}");
}

#[tokio::test]
async fn without_a_resolver_mail_is_deferred() {
    let t = with_resolver(Arc::new(UnavailableResolver::new("no resolv.conf")));
    let a = send(&t, "bob@example.org").await;
    assert_deferred(&a);
    assert!(a.reply.contains("no resolv.conf"), "{a:?}");
}

/// Records what the local transport is given (a DSN back to our sender would land here).
#[derive(Default)]
struct Local(Mutex<Vec<String>>);

#[async_trait]
impl Transport for Local {
    async fn deliver(&self, m: OutboundMessage<'_>) -> Vec<Attempt> {
        self.0.lock().unwrap().extend(m.recipients.iter().cloned());
        vec![Attempt::local(Outcome::Delivered, "2.0.0 stored"); m.recipients.len()]
    }
}

#[tokio::test]
async fn the_queue_keeps_a_message_whose_domain_fails_to_resolve() {
    let dns = TestDns::start().await;
    dns.servfail("broken.example");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = QueueConfig {
        hostname: "zcs.example.com".into(),
        minimal_backoff: Duration::from_secs(3600),
        queue_run_delay: Duration::from_millis(20),
        poll_interval: Duration::from_millis(20),
        ..QueueConfig::default()
    };
    let queue = Queue::open(dir.path().join("queue"), config).expect("queue");
    let local = Arc::new(Local::default());
    let transports = Transports::new(Arc::new(transport(&dns)))
        .with_local(|d| d == "example.com", local.clone());
    let (stop, rx) = tokio::sync::watch::channel(false);
    let handle = QueueManager::start(queue.clone(), transports, rx);
    let id = queue
        .enqueue(
            Envelope::new("alice@example.com", &["bob@broken.example"]),
            b"Subject: hi\r\n\r\nbody\r\n",
        )
        .await
        .expect("enqueue");
    let mut state = None;
    for _ in 0..200 {
        if queue.find(&id) == Some(QueueName::Deferred) {
            let file = queue.read(QueueName::Deferred, &id).expect("read");
            state = Some(format!("{:?}", file.envelope.recipients[0].state));
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    stop.send(true).expect("stop");
    handle.await.expect("manager");
    let state = state.expect("the message reached the deferred queue");
    assert!(state.contains("4.4.3"), "{state}");
    assert!(
        local.0.lock().unwrap().is_empty(),
        "no bounce to the sender"
    );
}
