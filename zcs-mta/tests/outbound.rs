//! Outbound SMTP delivery against an in-test sink on 127.0.0.1: MX order and fallback,
//! implicit MX, DNS failures, per-recipient reply classification, opportunistic
//! STARTTLS, the relay host with AUTH, and the queue end to end (retries, then a DSN).
//! DNS is a static zone; nothing here leaves the loopback interface.

#[path = "outbound_sink/mod.rs"]
mod sink;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use zcs_mta::outbound::{
    Attempt, OutboundMessage, Outcome, RelayHost, SmtpTransport, SmtpTransportConfig,
    StaticResolver, Transport,
};
use zcs_mta::queue::{Envelope, Queue, QueueConfig, QueueManager, QueueName, Transports};

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Nothing listens here: connections are refused (still loopback).
const DEAD: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

fn transport(port: u16, resolver: &StaticResolver) -> SmtpTransport {
    let config = SmtpTransportConfig {
        helo_name: "zcs.example.com".into(),
        port,
        connect_timeout: Duration::from_secs(5),
        command_timeout: Duration::from_secs(10),
        ..Default::default()
    };
    SmtpTransport::new(config, Arc::new(resolver.clone()))
}

async fn send(t: &SmtpTransport, rcpts: &[&str], data: &[u8]) -> Vec<Attempt> {
    let envelope = Envelope::new("alice@example.com", rcpts);
    let rcpts: Vec<String> = rcpts.iter().map(|r| r.to_string()).collect();
    t.deliver(OutboundMessage {
        id: "ABC",
        envelope: &envelope,
        recipients: &rcpts,
        data,
    })
    .await
}

const MESSAGE: &[u8] = b"Subject: hi\r\n\r\nline\n.leading dot\r\n";

#[tokio::test]
async fn mx_delivery_uses_starttls_and_sends_crlf_stuffed_data() {
    let sink = sink::start(sink::Behaviour {
        starttls: true,
        ..Default::default()
    })
    .await;
    let dns = StaticResolver::new();
    dns.add_mx("example.org", 10, "mx1.example.org");
    dns.add_ip("mx1.example.org", LOCAL);
    let t = transport(sink.addr.port(), &dns);

    let attempts = send(&t, &["bob@example.org", "carol@example.org"], MESSAGE).await;
    assert!(
        attempts.iter().all(|a| a.outcome == Outcome::Delivered),
        "{attempts:?}"
    );
    let got = sink.messages();
    assert_eq!(got.len(), 1);
    assert!(got[0].tls, "STARTTLS was offered and must be used");
    assert_eq!(got[0].helo, "zcs.example.com");
    assert_eq!(got[0].mail_from, "alice@example.com");
    assert_eq!(got[0].rcpts, ["bob@example.org", "carol@example.org"]);
    assert_eq!(got[0].data, b"Subject: hi\r\n\r\nline\r\n.leading dot\r\n");
    assert_eq!(attempts[0].remote_mta.as_deref(), Some("mx1.example.org"));
}

#[tokio::test]
async fn plain_text_when_starttls_is_not_offered() {
    let sink = sink::start(sink::Behaviour::default()).await;
    let dns = StaticResolver::new();
    dns.add_mx("example.org", 10, "mx1.example.org");
    dns.add_ip("mx1.example.org", LOCAL);
    let attempts = send(
        &transport(sink.addr.port(), &dns),
        &["bob@example.org"],
        MESSAGE,
    )
    .await;
    assert_eq!(attempts[0].outcome, Outcome::Delivered);
    assert!(!sink.messages()[0].tls);
}

#[tokio::test]
async fn mx_hosts_are_tried_in_preference_order() {
    let sink = sink::start(sink::Behaviour::default()).await;
    let dns = StaticResolver::new();
    // Listed out of order: the dead preference-10 host must be tried first, then 20.
    dns.add_mx("example.org", 20, "good.example.org");
    dns.add_mx("example.org", 10, "dead.example.org");
    dns.add_mx("example.org", 30, "unresolvable.example.org");
    dns.add_ip("good.example.org", LOCAL);
    dns.add_ip("dead.example.org", DEAD);
    let attempts = send(
        &transport(sink.addr.port(), &dns),
        &["bob@example.org"],
        MESSAGE,
    )
    .await;
    assert_eq!(attempts[0].outcome, Outcome::Delivered, "{attempts:?}");
    assert_eq!(attempts[0].remote_mta.as_deref(), Some("good.example.org"));
}

#[tokio::test]
async fn all_hosts_down_defers() {
    let dns = StaticResolver::new();
    dns.add_mx("example.org", 10, "dead.example.org");
    dns.add_ip("dead.example.org", DEAD);
    let attempts = send(&transport(2525, &dns), &["bob@example.org"], MESSAGE).await;
    assert_eq!(attempts[0].outcome, Outcome::Deferred);
    assert!(
        attempts[0].reply.contains("connect to dead.example.org"),
        "{attempts:?}"
    );
}

#[tokio::test]
async fn implicit_mx_falls_back_to_the_domain_address() {
    let sink = sink::start(sink::Behaviour::default()).await;
    let dns = StaticResolver::new();
    dns.add_ip("example.net", LOCAL);
    let attempts = send(
        &transport(sink.addr.port(), &dns),
        &["bob@example.net"],
        MESSAGE,
    )
    .await;
    assert_eq!(attempts[0].outcome, Outcome::Delivered);
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn dns_outcomes() {
    let dns = StaticResolver::new();
    dns.fail("slow.example", "SERVFAIL");
    dns.add_mx("nullmx.example", 0, ".");
    let t = transport(2525, &dns);

    let nx = send(&t, &["a@nowhere.example"], MESSAGE).await;
    assert_eq!(nx[0].outcome, Outcome::Bounced);
    assert!(nx[0].reply.starts_with("5.4.4"), "{nx:?}");

    let temp = send(&t, &["a@slow.example"], MESSAGE).await;
    assert_eq!(temp[0].outcome, Outcome::Deferred);

    let null = send(&t, &["a@nullmx.example"], MESSAGE).await;
    assert_eq!(null[0].outcome, Outcome::Bounced);
    assert!(null[0].reply.starts_with("5.1.10"), "{null:?}");
}

#[tokio::test]
async fn replies_are_classified_per_recipient() {
    let sink = sink::start(sink::Behaviour {
        rcpt: Arc::new(|r: &str| {
            if r.starts_with("nobody") {
                (550, "5.1.1 <nobody@example.org>: User unknown".into())
            } else if r.starts_with("later") {
                (451, "4.3.0 try again later".into())
            } else {
                (250, "2.1.5 Ok".into())
            }
        }),
        ..Default::default()
    })
    .await;
    let dns = StaticResolver::new();
    dns.add_ip("example.org", LOCAL);
    let t = transport(sink.addr.port(), &dns);
    let rcpts = ["bob@example.org", "nobody@example.org", "later@example.org"];
    let attempts = send(&t, &rcpts, MESSAGE).await;
    let outcomes: Vec<_> = attempts.iter().map(|a| a.outcome.clone()).collect();
    assert_eq!(
        outcomes,
        [Outcome::Delivered, Outcome::Bounced, Outcome::Deferred]
    );
    assert!(attempts[1].reply.starts_with("550 5.1.1"), "{attempts:?}");
    assert!(attempts[1].reply.ends_with("(in reply to RCPT TO command)"));
    assert_eq!(sink.messages()[0].rcpts, ["bob@example.org"]);
}

#[tokio::test]
async fn end_of_data_rejection_bounces_everyone_accepted() {
    let sink = sink::start(sink::Behaviour {
        data: Arc::new(|_| (554, "5.7.1 rejected: spam".into())),
        ..Default::default()
    })
    .await;
    let dns = StaticResolver::new();
    dns.add_ip("example.org", LOCAL);
    let attempts = send(
        &transport(sink.addr.port(), &dns),
        &["a@example.org"],
        MESSAGE,
    )
    .await;
    assert_eq!(attempts[0].outcome, Outcome::Bounced);
    assert!(attempts[0].reply.contains("end of DATA"), "{attempts:?}");
}

#[tokio::test]
async fn bracketed_relay_host_skips_mx_and_authenticates() {
    let sink = sink::start(sink::Behaviour {
        starttls: true,
        auth: true,
        ..Default::default()
    })
    .await;
    let dns = StaticResolver::new();
    dns.add_ip("relay.example", LOCAL);
    // An MX lookup would go to the dead host: brackets must prevent it.
    dns.add_mx("relay.example", 10, "dead.example");
    dns.add_ip("dead.example", DEAD);
    let relay = RelayHost::parse(&format!("[relay.example]:{}", sink.addr.port())).unwrap();
    let config = SmtpTransportConfig {
        relay_host: Some(relay),
        relay_credentials: Some(("user".into(), "secret".into())),
        connect_timeout: Duration::from_secs(5),
        ..Default::default()
    };
    let t = SmtpTransport::new(config, Arc::new(dns));
    let attempts = send(&t, &["someone@far.example"], MESSAGE).await;
    assert_eq!(attempts[0].outcome, Outcome::Delivered, "{attempts:?}");
    let got = sink.messages();
    assert!(got[0].tls);
    // AUTH PLAIN with base64("\0user\0secret").
    assert_eq!(got[0].auth.as_deref(), Some("AUTH PLAIN AHVzZXIAc2VjcmV0"));
}

/// Records what the local transport is given (here: DSNs back to our own sender).
#[derive(Default)]
struct Mailbox(Mutex<Vec<Delivered>>);

/// Sender, recipients, message.
type Delivered = (String, Vec<String>, Vec<u8>);

#[async_trait]
impl Transport for Mailbox {
    async fn deliver(&self, m: OutboundMessage<'_>) -> Vec<Attempt> {
        let entry = (
            m.envelope.sender.clone(),
            m.recipients.to_vec(),
            m.data.to_vec(),
        );
        self.0.lock().unwrap().push(entry);
        vec![Attempt::local(Outcome::Delivered, "2.0.0 stored"); m.recipients.len()]
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("zcs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

async fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    for _ in 0..400 {
        if ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

fn fast_config() -> QueueConfig {
    QueueConfig {
        minimal_backoff: Duration::from_millis(50),
        maximal_backoff: Duration::from_millis(200),
        queue_run_delay: Duration::from_millis(20),
        poll_interval: Duration::from_millis(20),
        hostname: "zcs.example.com".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn queue_retries_temporary_failures_then_delivers_over_smtp() {
    // The first two end-of-data replies are 451, the third is accepted.
    let sink = sink::start(sink::Behaviour {
        data: Arc::new(|n| {
            if n <= 2 {
                (451, "4.3.0 greylisted".into())
            } else {
                (250, "2.0.0 Ok".into())
            }
        }),
        ..Default::default()
    })
    .await;
    let dns = StaticResolver::new();
    dns.add_mx("example.org", 10, "mx.example.org");
    dns.add_ip("mx.example.org", LOCAL);
    let dir = temp_dir("q-smtp-retry");
    let queue = Queue::open(&dir, fast_config()).unwrap();
    let mailbox = Arc::new(Mailbox::default());
    let transports = Transports::new(Arc::new(transport(sink.addr.port(), &dns)))
        .with_local(|d| d == "example.com", mailbox.clone());
    let (stop, rx) = tokio::sync::watch::channel(false);
    let handle = QueueManager::start(queue.clone(), transports, rx);

    queue
        .enqueue(
            Envelope::new("alice@example.com", &["bob@example.org"]),
            MESSAGE,
        )
        .await
        .unwrap();
    wait_for("delivery", || sink.messages().len() == 1).await;
    assert_eq!(sink.data_attempts(), 3);
    wait_for("queue empty", || {
        QueueName::ALL
            .iter()
            .all(|q| queue.list(*q).unwrap().is_empty())
    })
    .await;
    assert!(
        mailbox.0.lock().unwrap().is_empty(),
        "no DSN for a delivered message"
    );
    stop.send(true).unwrap();
    handle.await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn queue_bounces_a_5xx_at_once_with_a_dsn_to_the_sender() {
    let sink = sink::start(sink::Behaviour {
        rcpt: Arc::new(|_| (550, "5.1.1 User unknown".into())),
        ..Default::default()
    })
    .await;
    let dns = StaticResolver::new();
    dns.add_ip("example.org", LOCAL);
    let dir = temp_dir("q-smtp-bounce");
    let queue = Queue::open(&dir, fast_config()).unwrap();
    let mailbox = Arc::new(Mailbox::default());
    let transports = Transports::new(Arc::new(transport(sink.addr.port(), &dns)))
        .with_local(|d| d == "example.com", mailbox.clone());
    let (stop, rx) = tokio::sync::watch::channel(false);
    let handle = QueueManager::start(queue.clone(), transports, rx);

    queue
        .enqueue(
            Envelope::new("alice@example.com", &["nobody@example.org"]),
            MESSAGE,
        )
        .await
        .unwrap();
    wait_for("the DSN", || !mailbox.0.lock().unwrap().is_empty()).await;
    let (sender, rcpts, dsn) = mailbox.0.lock().unwrap()[0].clone();
    assert_eq!(sender, "", "DSNs come from the null sender");
    assert_eq!(rcpts, ["alice@example.com"]);
    let text = String::from_utf8_lossy(&dsn);
    assert!(text.contains("report-type=delivery-status"));
    assert!(text.contains("Action: failed\r\nStatus: 5.1.1"));
    assert!(text.contains("Remote-MTA: dns; example.org"));
    assert!(text.contains("Diagnostic-Code: smtp; 550 5.1.1 User unknown"));
    assert!(sink.messages().is_empty());
    stop.send(true).unwrap();
    handle.await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn without_dns_lookups_a_relay_host_is_needed_and_mx_is_never_used() {
    let sink = sink::start(sink::Behaviour::default()).await;
    let dns = StaticResolver::new();
    dns.add_ip("relay.example", LOCAL);
    dns.add_mx("relay.example", 10, "dead.example");
    dns.add_ip("dead.example", DEAD);
    dns.add_mx("example.org", 10, "mx1.example.org");
    dns.add_ip("mx1.example.org", LOCAL);

    let mut config = SmtpTransportConfig {
        port: sink.addr.port(),
        dns_lookups: false,
        connect_timeout: Duration::from_secs(5),
        ..Default::default()
    };
    let t = SmtpTransport::new(config.clone(), Arc::new(dns.clone()));
    let attempts = send(&t, &["bob@example.org"], MESSAGE).await;
    assert_eq!(attempts[0].outcome, Outcome::Deferred);
    assert!(attempts[0].reply.starts_with("4.3.5"), "{attempts:?}");

    // Not bracketed, but with DNS lookups off the relay's MX is not looked up either.
    config.relay_host = RelayHost::parse("relay.example");
    let t = SmtpTransport::new(config, Arc::new(dns));
    let attempts = send(&t, &["bob@example.org"], MESSAGE).await;
    assert_eq!(attempts[0].outcome, Outcome::Delivered, "{attempts:?}");
    assert_eq!(attempts[0].remote_mta.as_deref(), Some("relay.example"));
}

/// A relay host that the test changes at run time, as `zmmtactl reload` would.
struct SwitchableRelay(Mutex<Option<RelayHost>>);

#[async_trait]
impl zcs_mta::outbound::RelaySource for SwitchableRelay {
    async fn relay_host(&self) -> Option<RelayHost> {
        self.0.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn a_relay_source_changes_the_relay_host_between_attempts() {
    let first = sink::start(sink::Behaviour::default()).await;
    let second = sink::start(sink::Behaviour::default()).await;
    let dns = StaticResolver::new();
    let relay = |port: u16| RelayHost::parse(&format!("[127.0.0.1]:{port}"));
    let source = Arc::new(SwitchableRelay(Mutex::new(relay(first.addr.port()))));
    let config = SmtpTransportConfig {
        connect_timeout: Duration::from_secs(5),
        ..Default::default()
    };
    let t = SmtpTransport::new(config, Arc::new(dns)).with_relay_source(source.clone());
    let attempts = send(&t, &["bob@far.example"], MESSAGE).await;
    assert_eq!(attempts[0].outcome, Outcome::Delivered, "{attempts:?}");
    assert_eq!(first.messages().len(), 1);

    *source.0.lock().unwrap() = relay(second.addr.port());
    let attempts = send(&t, &["bob@far.example"], MESSAGE).await;
    assert_eq!(attempts[0].outcome, Outcome::Delivered, "{attempts:?}");
    assert_eq!(first.messages().len(), 1);
    assert_eq!(second.messages().len(), 1);

    // No relay any more: MX lookup of far.example, which the static zone does not know.
    *source.0.lock().unwrap() = None;
    let attempts = send(&t, &["bob@far.example"], MESSAGE).await;
    assert_ne!(attempts[0].outcome, Outcome::Delivered, "{attempts:?}");
    assert_eq!(second.messages().len(), 1);
}
