//! Domain disclaimers through a listener: mail from our users gets its domain's text,
//! DKIM signs the rewritten body (the signature verifies), mail from strangers and
//! intra-domain mail under `zimbraAmavisOutboundDisclaimersOnly` get none (spec 02 §6
//! idea 30).

mod common;

use std::sync::Arc;

use common::wire::connect;
use common::{assert_reply, config, start};
use mail_auth::common::crypto::Ed25519Key;
use zcs_mta::disclaimer::{Disclaimer, DisclaimerPolicy, StaticDisclaimers};
use zcs_mta::restrictions::parse_networks;
use zcs_mta::{AuthChecker, DkimKeys, ListenerConfig, Protocol};

const MESSAGE: &str = "From: Joe <joe@x.test>\r\nTo: ann@y.test\r\nSubject: offer\r\n\
Date: Fri, 4 Dec 2026 10:00:00 +0000\r\nMessage-ID: <d1@x.test>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=\"A\"\r\n\r\n--A\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
Hello Ann, caf=C3=A9?\r\n--A\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
<html><body><p>Hello Ann</p></body></html>\r\n--A--\r\n";

fn policy(outbound_only: bool) -> DisclaimerPolicy {
    let d = Disclaimer::new(
        Some("X Corp: confidential.".into()),
        Some("<p>X Corp: confidential.</p>".into()),
    )
    .expect("texts");
    DisclaimerPolicy {
        source: Arc::new(StaticDisclaimers {
            domains: vec![("x.test".into(), d)],
        }),
        outbound_only,
    }
}

/// Sends `body` from joe@x.test to `rcpts`; the reply and what was delivered.
async fn send(cfg: ListenerConfig, rcpts: &[&str], body: &str) -> (String, Vec<Vec<u8>>) {
    let server = start(cfg).await;
    let (mut c, _) = connect(server.addr).await;
    c.cmd("EHLO client.x.test").await;
    assert_reply(&c.cmd("MAIL FROM:<joe@x.test>").await, "250");
    for r in rcpts {
        assert_reply(&c.cmd(&format!("RCPT TO:<{r}>")).await, "250");
    }
    let reply = c.data(body).await;
    let got = server
        .recorder
        .messages()
        .iter()
        .map(|m| m.data.clone())
        .collect();
    (reply, got)
}

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

#[tokio::test]
async fn disclaimer_is_added_before_dkim_signs() {
    let der = Ed25519Key::generate_pkcs8().unwrap();
    let public = Ed25519Key::from_pkcs8_der(&der).unwrap().public_key();
    let mut keys = DkimKeys::new();
    keys.add_ed25519_der("x.test", "sel1", &der).unwrap();

    // A trusted client (our user's mail): disclaimer in both alternatives, then signed.
    let mut cfg = config(Protocol::Smtp);
    cfg.my_networks = parse_networks("127.0.0.0/8").unwrap();
    cfg.filters.dkim_keys = Some(Arc::new(keys));
    cfg.filters.disclaimers = Some(policy(false));
    let (reply, got) = send(cfg.clone(), &["ann@mx.test"], MESSAGE).await;
    assert_reply(&reply, "250");
    let out = String::from_utf8_lossy(&got[0]).to_string();
    let start = out.find("DKIM-Signature:").expect("signed");
    let signed = out[start..].to_string();
    assert!(
        signed.contains("Hello Ann, caf=C3=A9?\r\n\r\nX Corp: confidential.\r\n--A\r\n"),
        "{signed}"
    );
    assert!(
        signed.contains("<p>Hello Ann</p>\r\n<p>X Corp: confidential.</p>\r\n</body>"),
        "{signed}"
    );

    // The signature covers the body with the disclaimer: an outside verifier passes it.
    use base64::Engine as _;
    let p = base64::engine::general_purpose::STANDARD.encode(public);
    let checker = AuthChecker::offline("mx.test").unwrap();
    checker
        .pin_dkim_key("sel1", "x.test", &format!("v=DKIM1; k=ed25519; p={p}"))
        .unwrap();
    checker.pin_spf("x.test", "v=spf1 -all").unwrap();
    let mut verify = config(Protocol::Smtp);
    verify.filters.auth_check = Some(Arc::new(checker));
    let (_, got) = send(verify.clone(), &["ann@mx.test"], &signed).await;
    let text = String::from_utf8_lossy(&got[0]).to_string();
    assert!(text.contains("dkim=pass"), "{text}");
    // Without the disclaimer the body hash fails: it was signed after the rewrite.
    let stripped = signed.replace("\r\n\r\nX Corp: confidential.\r\n--A", "\r\n--A");
    let (_, got) = send(verify, &["ann@mx.test"], &stripped).await;
    let text = String::from_utf8_lossy(&got[0]).to_string();
    assert!(!text.contains("dkim=pass"), "{text}");

    // Passing through again (a second hop of ours) adds nothing.
    let (_, got) = send(cfg, &["ann@mx.test"], &signed).await;
    let again = String::from_utf8_lossy(&got[0]).to_string();
    assert_eq!(count(&again, "X Corp: confidential."), 2, "{again}");
}

#[tokio::test]
async fn strangers_and_internal_mail_get_none() {
    // An untrusted, unauthenticated client: not our user's mail.
    let mut cfg = config(Protocol::Smtp);
    cfg.filters.disclaimers = Some(policy(false));
    let (_, got) = send(cfg, &["ann@mx.test"], MESSAGE).await;
    assert!(!String::from_utf8_lossy(&got[0]).contains("confidential"));

    // zimbraAmavisOutboundDisclaimersOnly: all recipients in x.test, none added;
    // one outside recipient, added (for everyone: one message body).
    let mut cfg = config(Protocol::Smtp);
    cfg.my_networks = parse_networks("127.0.0.0/8").unwrap();
    cfg.filters.disclaimers = Some(policy(true));
    let (_, got) = send(cfg.clone(), &["ann@x.test", "bob@X.TEST"], MESSAGE).await;
    assert!(!String::from_utf8_lossy(&got[0]).contains("confidential"));
    let (_, got) = send(cfg.clone(), &["ann@x.test", "carl@mx.test"], MESSAGE).await;
    assert_eq!(
        count(&String::from_utf8_lossy(&got[0]), "X Corp: confidential."),
        2
    );
    // Without the option, intra-domain mail gets it too.
    cfg.filters.disclaimers = Some(policy(false));
    let (_, got) = send(cfg, &["ann@x.test"], MESSAGE).await;
    assert_eq!(
        count(&String::from_utf8_lossy(&got[0]), "X Corp: confidential."),
        2
    );
}
