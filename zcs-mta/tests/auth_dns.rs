//! SPF, DKIM and DMARC checks and the DNS-based restrictions against a DNS server the
//! test runs on 127.0.0.1 (`common::dns::TestDns`), reached through
//! `AuthChecker::with_name_servers`, as `zcs_dns_servers` configures it in the server.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use common::dns::TestDns;
use common::wire::connect;
use common::{assert_reply, config, start};
use mail_auth::common::crypto::Ed25519Key;
use zcs_mta::restrictions::{Facts, check};
use zcs_mta::{AuthChecker, DkimKeys, ListenerConfig, Protocol, Restriction};

const LOOPBACK: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);

/// One message from `mail_from` greeting as `helo`: the DATA reply and what was stored.
async fn send(
    cfg: ListenerConfig,
    helo: &str,
    mail_from: &str,
    body: &str,
) -> (String, Vec<String>) {
    let server = start(cfg).await;
    let (mut c, _) = connect(server.addr).await;
    c.cmd(&format!("EHLO {helo}")).await;
    assert_reply(&c.cmd(&format!("MAIL FROM:<{mail_from}>")).await, "250");
    assert_reply(&c.cmd("RCPT TO:<ann@mx.test>").await, "250");
    let reply = c.data(body).await;
    let got = server
        .recorder
        .messages()
        .iter()
        .map(|m| String::from_utf8_lossy(&m.data).into_owned())
        .collect();
    (reply, got)
}

/// The `Authentication-Results` field of a stored message, unfolded.
fn auth_results(message: &str) -> String {
    message
        .split("\r\n")
        .skip_while(|l| !l.starts_with("Authentication-Results:"))
        .take_while(|l| l.starts_with("Authentication-Results:") || l.starts_with([' ', '\t']))
        .collect::<Vec<_>>()
        .join(" ")
}

fn message(from_domain: &str, id: &str) -> String {
    format!(
        "From: Joe <joe@{from_domain}>\r\nTo: ann@mx.test\r\nSubject: hello\r\n\
         Date: Fri, 4 Dec 2026 10:00:00 +0000\r\nMessage-ID: <{id}@{from_domain}>\r\n\r\n\
         Hello Ann.\r\n"
    )
}

fn checked_config(dns: &TestDns, enforce: bool) -> ListenerConfig {
    let checker = AuthChecker::with_name_servers("mx.test", &[dns.addr]).unwrap();
    let mut cfg = config(Protocol::Smtp);
    cfg.filters.auth_check = Some(Arc::new(checker));
    cfg.filters.dmarc_enforce = enforce;
    cfg
}

#[tokio::test]
async fn spf_failure_is_reported_and_dmarc_reject_is_honoured() {
    let dns = TestDns::start().await;
    // spoof.test allows one other address only, and asks receivers to reject failures.
    dns.txt("spoof.test", "v=spf1 ip4:192.0.2.1 -all")
        .txt("_dmarc.spoof.test", "v=DMARC1; p=reject")
        .a("spoof.test", Ipv4Addr::new(192, 0, 2, 1));
    // soft.test fails the same way but only asks for quarantine; mon.test only monitors.
    dns.txt("soft.test", "v=spf1 ip4:192.0.2.1 -all")
        .txt("_dmarc.soft.test", "v=DMARC1; p=quarantine")
        .txt("mon.test", "v=spf1 ip4:192.0.2.1 -all")
        .txt("_dmarc.mon.test", "v=DMARC1; p=none");

    // Enforcement on: p=reject is refused at the end of data, nothing is stored.
    let cfg = checked_config(&dns, true);
    let (reply, got) = send(
        cfg.clone(),
        "client.spoof.test",
        "joe@spoof.test",
        &message("spoof.test", "r1"),
    )
    .await;
    assert_reply(
        &reply,
        "550 5.7.1 Message rejected: DMARC policy of spoof.test says reject",
    );
    assert!(got.is_empty());
    assert!(
        dns.asked
            .lock()
            .unwrap()
            .iter()
            .any(|q| q == "spoof.test TXT"),
        "the configured server was asked: {:?}",
        dns.asked.lock().unwrap()
    );

    // p=quarantine: delivered, marked as spam (so delivery files it to Junk).
    let (reply, got) = send(
        cfg.clone(),
        "client.soft.test",
        "joe@soft.test",
        &message("soft.test", "q1"),
    )
    .await;
    assert_reply(&reply, "250");
    assert!(got[0].contains("X-Spam-Flag: YES\r\n"), "{}", got[0]);
    let ar = auth_results(&got[0]);
    assert!(ar.contains("spf=fail") && ar.contains("dmarc=fail"), "{ar}");

    // p=none: delivered untouched but for the header.
    let (reply, got) = send(
        cfg,
        "client.mon.test",
        "joe@mon.test",
        &message("mon.test", "n1"),
    )
    .await;
    assert_reply(&reply, "250");
    assert!(!got[0].contains("X-Spam-Flag"));
    let ar = auth_results(&got[0]);
    assert!(ar.starts_with("Authentication-Results: mx.test;"), "{ar}");
    assert!(ar.contains("spf=fail") && ar.contains("dmarc=fail"), "{ar}");

    // Enforcement off: the same p=reject message is delivered with the verdict.
    let cfg = checked_config(&dns, false);
    let (reply, got) = send(
        cfg,
        "client.spoof.test",
        "joe@spoof.test",
        &message("spoof.test", "r2"),
    )
    .await;
    assert_reply(&reply, "250");
    let ar = auth_results(&got[0]);
    assert!(ar.contains("spf=fail") && ar.contains("dmarc=fail"), "{ar}");
}

#[tokio::test]
async fn dkim_signed_by_our_signer_passes_dmarc_reject_over_loopback_dns() {
    let der = Ed25519Key::generate_pkcs8().unwrap();
    let public = Ed25519Key::from_pkcs8_der(&der).unwrap().public_key();
    let mut keys = DkimKeys::new();
    keys.add_ed25519_der("signed.test", "zcs1", &der).unwrap();

    // Our signer signs what a trusted client sends from signed.test.
    let mut cfg = config(Protocol::Smtp);
    cfg.my_networks = zcs_mta::restrictions::parse_networks("127.0.0.0/8").unwrap();
    cfg.filters.dkim_keys = Some(Arc::new(keys));
    let (reply, got) = send(
        cfg,
        "out.signed.test",
        "joe@signed.test",
        &message("signed.test", "d1"),
    )
    .await;
    assert_reply(&reply, "250");
    let start = got[0].find("DKIM-Signature:").expect("signed");
    let signed = got[0][start..].to_string();

    // The world publishes the key, an SPF record that does not list us, and p=reject:
    // DMARC passes on the aligned DKIM signature alone.
    use base64::Engine as _;
    let p = base64::engine::general_purpose::STANDARD.encode(public);
    let dns = TestDns::start().await;
    dns.txt(
        "zcs1._domainkey.signed.test",
        &format!("v=DKIM1; k=ed25519; p={p}"),
    )
    .txt("signed.test", "v=spf1 ip4:192.0.2.9 -all")
    .txt("_dmarc.signed.test", "v=DMARC1; p=reject; adkim=s");
    let cfg = checked_config(&dns, true);
    let (reply, got) = send(cfg.clone(), "relay.other.test", "joe@signed.test", &signed).await;
    assert_reply(&reply, "250");
    let ar = auth_results(&got[0]);
    assert!(ar.contains("dkim=pass"), "{ar}");
    assert!(ar.contains("header.d=signed.test"), "{ar}");
    assert!(ar.contains("spf=fail"), "{ar}");
    assert!(ar.contains("dmarc=pass"), "{ar}");

    // Tampered on the way: DKIM fails, SPF fails, p=reject refuses it.
    let tampered = signed.replace("Hello Ann.", "Send money.");
    let (reply, got) = send(cfg, "relay.other.test", "joe@signed.test", &tampered).await;
    assert_reply(&reply, "550 5.7.1");
    assert!(got.is_empty());
}

/// A listener refusing by `restrictions`, resolving through `dns`.
fn restricted(dns: &TestDns, restrictions: &[&str]) -> ListenerConfig {
    let checker = AuthChecker::with_name_servers("mx.test", &[dns.addr]).unwrap();
    let mut cfg = config(Protocol::Smtp);
    cfg.restrictions = restrictions.iter().map(|r| r.parse().unwrap()).collect();
    cfg.policy_resolver = Some(Arc::new(checker));
    cfg
}

async fn rcpt_reply(cfg: ListenerConfig, helo: &str, mail_from: &str) -> String {
    let server = start(cfg).await;
    let (mut c, _) = connect(server.addr).await;
    c.cmd(&format!("EHLO {helo}")).await;
    assert_reply(&c.cmd(&format!("MAIL FROM:<{mail_from}>")).await, "250");
    c.cmd("RCPT TO:<ann@mx.test>").await
}

#[tokio::test]
async fn block_lists_and_unknown_domains_over_loopback_dns() {
    let dns = TestDns::start().await;
    dns.a("good.test", Ipv4Addr::new(192, 0, 2, 10))
        .mx("good.test", 10, "mx.good.test")
        .a("spammer.test", Ipv4Addr::new(192, 0, 2, 11))
        .a("spammer.test.dbl.test", Ipv4Addr::new(127, 0, 1, 2))
        .a("helo.bad.test.dbl.test", Ipv4Addr::new(127, 0, 1, 2));

    // reject_rbl_client: our address is not listed, then it is.
    let cfg = restricted(&dns, &["reject_rbl_client zen.test"]);
    assert_reply(
        &rcpt_reply(cfg.clone(), "c.good.test", "a@good.test").await,
        "250",
    );
    dns.a("1.0.0.127.zen.test", Ipv4Addr::new(127, 0, 0, 2));
    let reply = rcpt_reply(cfg, "c.good.test", "a@good.test").await;
    assert_reply(
        &reply,
        "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.test",
    );

    // reject_rhsbl_sender and reject_rhsbl_helo.
    let cfg = restricted(
        &dns,
        &["reject_rhsbl_sender dbl.test", "reject_rhsbl_helo dbl.test"],
    );
    assert_reply(
        &rcpt_reply(cfg.clone(), "c.good.test", "a@good.test").await,
        "250",
    );
    let reply = rcpt_reply(cfg.clone(), "c.good.test", "a@spammer.test").await;
    assert_reply(
        &reply,
        "554 5.7.1 <a@spammer.test>: Sender address rejected: spammer.test blocked using dbl.test",
    );
    let reply = rcpt_reply(cfg, "helo.bad.test", "a@good.test").await;
    assert_reply(&reply, "554 5.7.1 <helo.bad.test>: Helo command rejected");

    // reject_rhsbl_client: the client's reverse name is listed. hickory answers the
    // reverse of 127.0.0.1 itself ("localhost", RFC 6761 §6.3) without asking, so the
    // list names localhost.
    let cfg = restricted(&dns, &["reject_rhsbl_client dbl.test"]);
    assert_reply(
        &rcpt_reply(cfg.clone(), "c.good.test", "a@good.test").await,
        "250",
    );
    dns.a("localhost.dbl.test", Ipv4Addr::new(127, 0, 1, 2));
    let cfg = restricted(&dns, &["reject_rhsbl_client dbl.test"]);
    let reply = rcpt_reply(cfg, "c.good.test", "a@good.test").await;
    assert_reply(
        &reply,
        "554 5.7.1 Service unavailable; Client host [localhost] blocked",
    );

    // reject_unknown_sender_domain: NXDOMAIN is refused (450), an MX or A passes.
    let cfg = restricted(&dns, &["reject_unknown_sender_domain"]);
    assert_reply(
        &rcpt_reply(cfg.clone(), "c.good.test", "a@good.test").await,
        "250",
    );
    let reply = rcpt_reply(cfg, "c.good.test", "a@nosuch.test").await;
    assert_reply(
        &reply,
        "450 4.1.8 <a@nosuch.test>: Sender address rejected: Domain not found",
    );

    // reject_unknown_recipient_domain applies to domains we are not final destination
    // for (the session only lets such recipients through for relaying clients, which
    // the restrictions never see, as in Postfix with Zimbra's order).
    let checker = AuthChecker::with_name_servers("mx.test", &[dns.addr]).unwrap();
    let rules = [Restriction::RejectUnknownRecipientDomain];
    let facts = |recipient, recipient_local| Facts {
        ip: IpAddr::V4(LOOPBACK),
        helo: "c.good.test",
        sender: "a@good.test",
        recipient,
        recipient_local,
    };
    let refused = check(&rules, facts("b@nosuch.test", false), Some(&checker))
        .await
        .unwrap();
    assert_eq!((refused.code, refused.status), (450, (4, 1, 2)));
    assert!(
        check(&rules, facts("b@good.test", false), Some(&checker))
            .await
            .is_none()
    );
    assert!(
        check(&rules, facts("b@nosuch.test", true), Some(&checker))
            .await
            .is_none()
    );
}
