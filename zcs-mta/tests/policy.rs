//! Relay control, trusted networks, `zimbraMtaRestriction` checks and per-client limits
//! over real loopback sockets.

mod common;

use std::sync::Arc;

use common::wire::{FakeDns, LocalDomains, Sink, connect};
use common::{assert_reply, config, start};
use zcs_mta::restrictions::parse_networks;
use zcs_mta::{ListenerConfig, Protocol, Restriction};

fn relay_config(trusted: &str, sink: &Arc<Sink>) -> ListenerConfig {
    let mut cfg = config(Protocol::Smtp);
    cfg.recipient_policy = Some(Arc::new(LocalDomains));
    cfg.my_networks = parse_networks(trusted).unwrap();
    cfg.sink = Some(sink.clone());
    cfg
}

#[tokio::test]
async fn untrusted_clients_cannot_relay() {
    let sink = Arc::new(Sink::default());
    let server = start(relay_config("10.0.0.0/8", &sink)).await;
    let (mut c, _) = connect(server.addr).await;
    c.cmd("EHLO c.example").await;
    assert_reply(&c.cmd("MAIL FROM:<a@elsewhere.test>").await, "250");
    assert_eq!(
        c.cmd("RCPT TO:<victim@remote.test>").await,
        "554 5.7.1 <victim@remote.test>: Relay access denied\r\n"
    );
    assert_reply(&c.cmd("RCPT TO:<unknown1@x.test>").await, "550 5.1.1");
    assert_reply(&c.cmd("RCPT TO:<b@X.TEST>").await, "250 2.1.5");
    assert_reply(&c.cmd("RCPT TO:<Postmaster>").await, "250 2.1.5");
    assert_reply(&c.data("Subject: in\r\n\r\nx\r\n").await, "250");
    let got = sink.all();
    assert_eq!(got[0].0.recipients.len(), 2);
    assert!(got[0].1.recipients.iter().all(|r| !r.relay));
    assert!(!got[0].1.trusted_client);
}

#[tokio::test]
async fn trusted_networks_relay() {
    let sink = Arc::new(Sink::default());
    let server = start(relay_config("127.0.0.0/8", &sink)).await;
    let (mut c, _) = connect(server.addr).await;
    c.cmd("EHLO c.example").await;
    assert_reply(&c.cmd("MAIL FROM:<a@x.test>").await, "250");
    assert_reply(&c.cmd("RCPT TO:<friend@remote.test>").await, "250 2.1.5");
    assert_reply(&c.cmd("RCPT TO:<b@x.test>").await, "250 2.1.5");
    assert_reply(&c.data("Subject: out\r\n\r\nx\r\n").await, "250");
    let got = sink.all();
    let env = &got[0].1;
    assert!(env.trusted_client);
    assert!(env.recipients[0].relay && !env.recipients[1].relay);
    assert_eq!(got[0].0.recipients[0].canonical, "friend@remote.test");

    // Without a sink nothing can be relayed, even for trusted clients.
    let mut cfg = relay_config("127.0.0.0/8", &sink);
    cfg.sink = None;
    let server = start(cfg).await;
    let (mut c, _) = connect(server.addr).await;
    c.cmd("EHLO c.example").await;
    c.cmd("MAIL FROM:<a@x.test>").await;
    assert_reply(&c.cmd("RCPT TO:<friend@remote.test>").await, "554 5.7.1");
}

#[tokio::test]
async fn restrictions_refuse_at_rcpt() {
    let mut cfg = config(Protocol::Smtp);
    cfg.restrictions = [
        "reject_invalid_helo_hostname",
        "reject_non_fqdn_sender",
        "reject_unknown_sender_domain",
        "reject_rbl_client bl.test",
    ]
    .iter()
    .map(|r| r.parse::<Restriction>().unwrap())
    .collect();
    cfg.policy_resolver = Some(Arc::new(FakeDns));
    let server = start(cfg.clone()).await;

    let (mut c, _) = connect(server.addr).await;
    c.cmd("EHLO bad_name!").await;
    c.cmd("MAIL FROM:<a@good.test>").await;
    assert_eq!(
        c.cmd("RCPT TO:<b@x.test>").await,
        "501 5.5.2 <bad_name!>: Helo command rejected: Invalid name\r\n"
    );
    c.cmd("EHLO c.example").await;
    c.cmd("MAIL FROM:<a@localhost>").await;
    assert_reply(&c.cmd("RCPT TO:<b@x.test>").await, "504 5.5.2");
    c.cmd("RSET").await;
    c.cmd("MAIL FROM:<a@nx.test>").await;
    assert_reply(&c.cmd("RCPT TO:<b@x.test>").await, "450 4.1.8");
    c.cmd("RSET").await;
    c.cmd("MAIL FROM:<a@slow.test>").await;
    assert_reply(&c.cmd("RCPT TO:<b@x.test>").await, "450 4.1.8");
    c.cmd("RSET").await;
    c.cmd("MAIL FROM:<a@good.test>").await;
    let rbl = c.cmd("RCPT TO:<b@x.test>").await;

    assert!(
        rbl.starts_with(
            "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using bl.test"
        ),
        "{rbl}"
    );

    // Trusted clients skip the restrictions.
    cfg.my_networks = parse_networks("127.0.0.1").unwrap();
    let server = start(cfg).await;
    let (mut c, _) = connect(server.addr).await;
    c.cmd("EHLO bad_name!").await;
    c.cmd("MAIL FROM:<a@nx.test>").await;
    assert_reply(&c.cmd("RCPT TO:<b@x.test>").await, "250 2.1.5");
}

#[tokio::test]
async fn zimbra_default_restrictions_refuse_non_fqdn_helo() {
    let mut cfg = config(Protocol::Smtp);
    cfg.restrictions = Restriction::zimbra_defaults();
    let server = start(cfg).await;
    let (mut c, _) = connect(server.addr).await;
    c.cmd("HELO localhost").await;
    c.cmd("MAIL FROM:<a@good.test>").await;
    assert_reply(&c.cmd("RCPT TO:<b@x.test>").await, "504 5.5.2 <localhost>");
    c.cmd("HELO client.good.test").await;
    c.cmd("MAIL FROM:<a@good.test>").await;
    assert_reply(&c.cmd("RCPT TO:<b@x.test>").await, "250 2.1.5");

    let mut cfg = config(Protocol::Smtp);
    cfg.restrictions = vec!["reject_unknown_helo_hostname".parse().unwrap()];
    cfg.policy_resolver = Some(Arc::new(FakeDns));
    let server = start(cfg).await;
    let (mut c, _) = connect(server.addr).await;
    c.cmd("EHLO nx.test").await;
    c.cmd("MAIL FROM:<a@good.test>").await;
    assert_eq!(
        c.cmd("RCPT TO:<b@x.test>").await,
        "450 4.7.1 <nx.test>: Helo command rejected: Host not found\r\n"
    );
}

#[tokio::test]
async fn per_client_limits() {
    let mut cfg = config(Protocol::Smtp);
    cfg.limits.max_connections_per_ip = 1;
    cfg.limits.messages_per_minute_per_ip = 2;
    cfg.limits.max_recipients_per_connection = 2;
    let server = start(cfg).await;

    let (mut c, _) = connect(server.addr).await;
    // A second session from the same address is refused at once.
    let (mut second, greeting) = connect(server.addr).await;
    assert!(greeting.starts_with("421 4.7.0"), "{greeting}");
    assert!(second.closed().await);

    c.cmd("EHLO c.example").await;
    c.cmd("MAIL FROM:<a@y.test>").await;
    assert_reply(&c.cmd("RCPT TO:<b@x.test>").await, "250");
    assert_reply(&c.cmd("RCPT TO:<c@x.test>").await, "250");
    assert_reply(&c.cmd("RCPT TO:<d@x.test>").await, "452 4.5.3");
    c.cmd("RSET").await;
    assert_reply(&c.cmd("MAIL FROM:<a@y.test>").await, "250");
    c.cmd("RSET").await;
    assert_reply(&c.cmd("MAIL FROM:<a@y.test>").await, "450 4.7.1");
    assert_reply(&c.cmd("QUIT").await, "221");
    drop(c);

    // The slot is free again once the first session ended.
    let mut greeting = String::new();
    for _ in 0..50 {
        let (_c, g) = connect(server.addr).await;
        greeting = g;
        if greeting.starts_with("220") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_reply(&greeting, "220");
}

#[tokio::test]
async fn garbage_and_slow_clients_do_not_stall_the_listener() {
    let mut cfg = config(Protocol::Smtp);
    cfg.idle_timeout = std::time::Duration::from_secs(30);
    let server = start(cfg).await;
    // Ten clients that connect and say nothing, and one that sends binary garbage.
    let mut idle = Vec::new();
    for _ in 0..10 {
        idle.push(tokio::net::TcpStream::connect(server.addr).await.unwrap());
    }
    let (mut junk, _) = connect(server.addr).await;
    junk.send(&[0u8, 0xff, 0xfe, b'\r', b'\n']).await;
    assert_reply(&junk.reply().await, "500 5.5.2");
    // A normal client is still served promptly.
    let (mut c, greeting) = connect(server.addr).await;
    assert_reply(&greeting, "220");
    assert_reply(&c.cmd("EHLO c.example").await, "250");
    drop(idle);
}

/// The client content of a message as the sink got it (after our trace prefix).
fn content(sink: &Sink, n: usize) -> String {
    let got = sink.all();
    let m = &got[n].0;
    String::from_utf8_lossy(&m.data[m.trace_len..]).into_owned()
}

#[tokio::test]
async fn trusted_unauthenticated_mail_is_left_as_sent() {
    // Date and Message-ID are added for authenticated clients only (tests/esmtp.rs).
    let sink = Arc::new(Sink::default());
    let server = start(relay_config("127.0.0.0/8", &sink)).await;
    let (mut c, _) = connect(server.addr).await;
    c.cmd("EHLO c.example").await;
    c.cmd("MAIL FROM:<a@x.test>").await;
    c.cmd("RCPT TO:<b@x.test>").await;
    assert_reply(&c.data("Subject: bare\r\n\r\nx\r\n").await, "250");
    assert_eq!(content(&sink, 0), "Subject: bare\r\n\r\nx\r\n");
}

#[tokio::test]
async fn strangers_mail_is_left_as_sent() {
    let sink = Arc::new(Sink::default());
    let server = start(relay_config("10.0.0.0/8", &sink)).await;
    let (mut c, _) = connect(server.addr).await;
    c.cmd("EHLO c.example").await;
    c.cmd("MAIL FROM:<a@elsewhere.test>").await;
    c.cmd("RCPT TO:<b@x.test>").await;
    assert_reply(&c.data("Subject: bare\r\n\r\nx\r\n").await, "250");
    assert_eq!(content(&sink, 0), "Subject: bare\r\n\r\nx\r\n");
}

/// A resolver whose only answers are the client's PTR name and that name's address.
struct ClientNames {
    ptr: Option<&'static str>,
    addr: Option<std::net::IpAddr>,
}

#[async_trait::async_trait]
impl zcs_mta::PolicyResolver for ClientNames {
    async fn domain_exists(&self, _domain: &str) -> zcs_mta::restrictions::Lookup<()> {
        zcs_mta::restrictions::Lookup::Found(())
    }

    async fn rbl_lookup(
        &self,
        _zone: &str,
        _ip: std::net::IpAddr,
    ) -> zcs_mta::restrictions::Lookup<String> {
        zcs_mta::restrictions::Lookup::NotFound
    }

    async fn reverse_name(&self, _ip: std::net::IpAddr) -> zcs_mta::restrictions::Lookup<String> {
        use zcs_mta::restrictions::Lookup;
        self.ptr
            .map_or(Lookup::NotFound, |n| Lookup::Found(n.to_string()))
    }

    async fn addresses(&self, name: &str) -> zcs_mta::restrictions::Lookup<Vec<std::net::IpAddr>> {
        use zcs_mta::restrictions::Lookup;
        match (self.ptr, self.addr) {
            (Some(p), Some(a)) if p == name => Lookup::Found(vec![a]),
            _ => Lookup::NotFound,
        }
    }
}

/// Spec 02 §1.1.2's DNS checks on the client ("reject if the client IP has no name"):
/// Postfix's `reject_unknown_reverse_client_hostname` and `reject_unknown_client_hostname`,
/// `450 4.7.25` at `RCPT`.
#[tokio::test]
async fn unknown_client_names_are_refused() {
    let local: std::net::IpAddr = [127, 0, 0, 1].into();
    let cases: [(&str, ClientNames, bool); 6] = [
        (
            "reject_unknown_reverse_client_hostname",
            ClientNames {
                ptr: None,
                addr: None,
            },
            false,
        ),
        (
            "reject_unknown_reverse_client_hostname",
            ClientNames {
                ptr: Some("liar.test"),
                addr: None,
            },
            true,
        ),
        (
            "reject_unknown_client_hostname",
            ClientNames {
                ptr: None,
                addr: None,
            },
            false,
        ),
        (
            "reject_unknown_client_hostname",
            ClientNames {
                ptr: Some("liar.test"),
                addr: Some([192, 0, 2, 1].into()),
            },
            false,
        ),
        (
            "reject_unknown_client_hostname",
            ClientNames {
                ptr: Some("liar.test"),
                addr: None,
            },
            false,
        ),
        (
            "reject_unknown_client_hostname",
            ClientNames {
                ptr: Some("client.good.test"),
                addr: Some(local),
            },
            true,
        ),
    ];
    for (restriction, dns, accepted) in cases {
        let mut cfg = config(Protocol::Smtp);
        cfg.restrictions = vec![restriction.parse::<Restriction>().unwrap()];
        let (ptr, addr) = (dns.ptr, dns.addr);
        cfg.policy_resolver = Some(Arc::new(dns));
        let server = start(cfg).await;
        let (mut c, _) = connect(server.addr).await;
        c.cmd("EHLO client.good.test").await;
        assert_reply(&c.cmd("MAIL FROM:<a@good.test>").await, "250");
        let reply = c.cmd("RCPT TO:<b@x.test>").await;
        if accepted {
            assert_reply(&reply, "250 2.1.5");
        } else {
            let what = if restriction.contains("reverse") {
                "reverse hostname"
            } else {
                "hostname"
            };
            assert_eq!(
                reply,
                format!(
                    "450 4.7.25 Client host rejected: cannot find your {what}, [127.0.0.1]\r\n"
                ),
                "{restriction} {ptr:?} {addr:?}"
            );
        }
    }
}
