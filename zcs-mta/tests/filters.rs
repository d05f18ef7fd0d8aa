//! Content filters at the end of data: clamd and spamd (loopback fakes speaking their
//! protocols, and the real daemons when `ZCS_TEST_CLAMD` / `ZCS_TEST_SPAMD` are set),
//! DKIM signing, and DKIM/SPF/DMARC verification with pinned DNS records (no DNS).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::wire::connect;
use common::{assert_reply, config, start};
use mail_auth::common::crypto::Ed25519Key;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use zcs_mta::restrictions::parse_networks;
use zcs_mta::scan::clamd::{ClamdClient, ClamdVerdict};
use zcs_mta::scan::spamd::SpamdClient;
use zcs_mta::scan::{OnScannerFailure, SpamDestiny};
use zcs_mta::{AuthChecker, DkimKeys, ListenerConfig, Protocol};

const EICAR: &str = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// A clamd double: INSTREAM, FOUND when the stream holds "EICAR-STANDARD".
async fn fake_clamd() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut cmd = [0u8; 10];
                s.read_exact(&mut cmd).await.unwrap();
                assert_eq!(&cmd, b"zINSTREAM\0");
                let mut data = Vec::new();
                loop {
                    let len = s.read_u32().await.unwrap() as usize;
                    if len == 0 {
                        break;
                    }
                    let mut chunk = vec![0u8; len];
                    s.read_exact(&mut chunk).await.unwrap();
                    data.extend(chunk);
                }
                let reply: &[u8] = if contains(&data, "EICAR-STANDARD") {
                    b"stream: Test.EICAR FOUND\0"
                } else {
                    b"stream: OK\0"
                };
                s.write_all(reply).await.unwrap();
            });
        }
    });
    addr
}

/// A spamd double: GTUBE scores 1000, "SPAMMY" 8 (tag level only), the rest 1.
async fn fake_spamd() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut req = Vec::new();
                s.read_to_end(&mut req).await.unwrap();
                assert!(req.starts_with(b"SYMBOLS SPAMC/1.5\r\n"));
                let (score, symbols) = if contains(&req, "GTUBE") {
                    ("1000.0", "GTUBE")
                } else if contains(&req, "SPAMMY") {
                    ("8.0", "FAKE_RULE,OTHER")
                } else {
                    ("1.0", "")
                };
                let flag = if score == "1.0" { "False" } else { "True" };
                let reply = format!(
                    "SPAMD/1.1 0 EX_OK\r\nContent-length: {}\r\nSpam: {flag} ; {score} / 5.0\
                     \r\n\r\n{symbols}",
                    symbols.len()
                );
                s.write_all(reply.as_bytes()).await.unwrap();
            });
        }
    });
    addr
}

/// A loopback port with nothing listening.
async fn dead_port() -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().to_string()
}

async fn send(cfg: ListenerConfig, body: &str) -> (String, Vec<Vec<u8>>) {
    let server = start(cfg).await;
    let (mut c, _) = connect(server.addr).await;
    c.cmd("EHLO client.x.test").await;
    assert_reply(&c.cmd("MAIL FROM:<joe@x.test>").await, "250");
    assert_reply(&c.cmd("RCPT TO:<ann@mx.test>").await, "250");
    let reply = c.data(body).await;
    let got = server
        .recorder
        .messages()
        .iter()
        .map(|m| m.data.clone())
        .collect();
    (reply, got)
}

#[tokio::test]
async fn viruses_are_refused_and_clamd_failure_defers() {
    let mut cfg = config(Protocol::Smtp);
    cfg.filters.clamd = Some(ClamdClient::new(fake_clamd().await));
    let (reply, got) = send(cfg.clone(), &format!("Subject: v\r\n\r\n{EICAR}\r\n")).await;
    assert_reply(
        &reply,
        "554 5.7.1 Message rejected: virus found (Test.EICAR)",
    );
    assert!(got.is_empty());
    let (reply, got) = send(cfg.clone(), "Subject: clean\r\n\r\nhello\r\n").await;
    assert_reply(&reply, "250");
    assert_eq!(got.len(), 1);

    // With zimbraAmavisQuarantineAccount the virus goes there, and only there.
    cfg.filters.virus_quarantine = Some("virus-quarantine@mx.test".into());
    let server = start(cfg.clone()).await;
    let (mut c, _) = connect(server.addr).await;
    c.cmd("EHLO client.x.test").await;
    c.cmd("MAIL FROM:<joe@x.test>").await;
    c.cmd("RCPT TO:<ann@mx.test>").await;
    c.cmd("RCPT TO:<bob@mx.test>").await;
    let reply = c.data(&format!("Subject: v\r\n\r\n{EICAR}\r\n")).await;
    assert_reply(&reply, "250");
    let got = server.recorder.messages();
    assert_eq!(got.len(), 1);
    let rcpts: Vec<_> = got[0]
        .recipients
        .iter()
        .map(|r| r.address.as_str())
        .collect();
    assert_eq!(rcpts, ["virus-quarantine@mx.test"]);
    let text = String::from_utf8_lossy(&got[0].data).to_string();
    assert!(
        text.contains("X-Amavis-Alert: INFECTED, message contains virus: Test.EICAR\r\n"),
        "{text}"
    );
    cfg.filters.virus_quarantine = None;

    cfg.filters.clamd = Some(ClamdClient::new(dead_port().await));
    let (reply, got) = send(cfg.clone(), "Subject: clean\r\n\r\nhello\r\n").await;
    assert_reply(&reply, "451 4.7.1");
    assert!(got.is_empty());
    cfg.filters.clamd_on_failure = OnScannerFailure::Accept;
    let (reply, _) = send(cfg, "Subject: clean\r\n\r\nhello\r\n").await;
    assert_reply(&reply, "250");
}

#[tokio::test]
async fn blocked_attachment_extensions() {
    let mut cfg = config(Protocol::Smtp);
    cfg.filters.blocked_extensions = vec!["exe".into(), "scr".into()];
    let body = |name: &str| {
        format!(
            "From: joe@x.test\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n\
             Content-Type: text/plain\r\n\r\nsee attached\r\n--B\r\n\
             Content-Type: application/octet-stream; name=\"{name}\"\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\r\nMZ\r\n--B--\r\n"
        )
    };
    let (reply, got) = send(cfg.clone(), &body("invoice.pdf.exe")).await;
    assert_reply(
        &reply,
        "554 5.7.1 Message rejected: attachment type not allowed (invoice.pdf.exe)",
    );
    assert!(got.is_empty());
    let (reply, got) = send(cfg, &body("invoice.pdf")).await;
    assert_reply(&reply, "250");
    assert_eq!(got.len(), 1);
}

/// A message with a one-entry ZIP attached whose entries carry `flags` (bit 0: encrypted).
fn zip_message(flags: u16) -> String {
    use base64::Engine as _;
    let (name, body) = (b"a.txt", b"hello");
    let mut z = Vec::new();
    z.extend_from_slice(b"PK\x03\x04\x14\x00");
    z.extend_from_slice(&flags.to_le_bytes());
    z.extend_from_slice(&[0; 10]);
    z.extend_from_slice(&5u32.to_le_bytes());
    z.extend_from_slice(&5u32.to_le_bytes());
    z.extend_from_slice(&5u16.to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z.extend_from_slice(name);
    z.extend_from_slice(body);
    let cd = z.len();
    z.extend_from_slice(b"PK\x01\x02\x14\x00\x14\x00");
    z.extend_from_slice(&flags.to_le_bytes());
    z.extend_from_slice(&[0; 10]);
    z.extend_from_slice(&5u32.to_le_bytes());
    z.extend_from_slice(&5u32.to_le_bytes());
    z.extend_from_slice(&5u16.to_le_bytes());
    z.extend_from_slice(&[0; 16]);
    z.extend_from_slice(name);
    let cd_len = (z.len() - cd) as u32;
    z.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00");
    z.extend_from_slice(&cd_len.to_le_bytes());
    z.extend_from_slice(&(cd as u32).to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    let b64 = base64::engine::general_purpose::STANDARD.encode(z);
    format!(
        "From: joe@x.test\r\nSubject: zip\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n\
         Content-Type: application/zip\r\n\
         Content-Disposition: attachment; filename=\"secret.zip\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--B--\r\n"
    )
}

/// `zimbraVirusBlockEncryptedArchive`: with clamd on, an encrypted ZIP is handled as a
/// virus (refused, or quarantined when a quarantine account is set); off, it passes.
#[tokio::test]
async fn encrypted_archives_count_as_infected() {
    let mut cfg = config(Protocol::Smtp);
    cfg.filters.clamd = Some(ClamdClient::new(fake_clamd().await));
    let (reply, _) = send(cfg.clone(), &zip_message(1)).await;
    assert_reply(&reply, "250");
    cfg.filters.block_encrypted_archives = true;
    let (reply, got) = send(cfg.clone(), &zip_message(1)).await;
    assert_reply(
        &reply,
        "554 5.7.1 Message rejected: virus found (Heuristics.Encrypted.Zip)",
    );
    assert!(got.is_empty());
    let (reply, got) = send(cfg.clone(), &zip_message(0)).await;
    assert_reply(&reply, "250");
    assert_eq!(got.len(), 1);
    cfg.filters.virus_quarantine = Some("quarantine@mx.test".into());
    let server = start(cfg).await;
    let (mut c, _) = connect(server.addr).await;
    c.cmd("EHLO client.x.test").await;
    c.cmd("MAIL FROM:<joe@x.test>").await;
    c.cmd("RCPT TO:<ann@mx.test>").await;
    assert_reply(&c.data(&zip_message(1)).await, "250");
    let got = server.recorder.messages();
    assert_eq!(got[0].recipients[0].canonical, "quarantine@mx.test");
    assert!(contains(
        &got[0].data,
        "INFECTED, message contains virus: Heuristics.Encrypted.Zip"
    ));
}

/// `zimbraVirusWarnRecipient` and `zimbraMtaBlockedExtensionWarnRecipient`: the local
/// recipients of a quarantined or refused message get a notice without its content.
#[tokio::test]
async fn recipients_are_told_of_quarantine_and_blocked_attachments() {
    let mut cfg = config(Protocol::Smtp);
    cfg.filters.clamd = Some(ClamdClient::new(fake_clamd().await));
    cfg.filters.virus_quarantine = Some("quarantine@mx.test".into());
    cfg.filters.blocked_extensions = vec!["exe".into()];
    let virus = format!("From: joe@x.test\r\nSubject: invoice\r\n\r\n{EICAR}\r\n");
    let blocked = "From: joe@x.test\r\nSubject: tool\r\nMIME-Version: 1.0\r\n\
                   Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n\
                   Content-Type: application/octet-stream; name=\"setup.exe\"\r\n\r\nMZ\r\n\
                   --B--\r\n";

    // Off: nobody is told.
    let (reply, got) = send(cfg.clone(), &virus).await;
    assert_reply(&reply, "250");
    assert_eq!(got.len(), 1, "only the quarantine copy");

    cfg.filters.virus_warn_recipient = true;
    cfg.filters.blocked_warn_recipient = true;
    let server = start(cfg.clone()).await;
    let (mut c, _) = connect(server.addr).await;
    c.cmd("EHLO client.x.test").await;
    for body in [virus.as_str(), blocked] {
        assert_reply(&c.cmd("MAIL FROM:<joe@x.test>").await, "250");
        assert_reply(&c.cmd("RCPT TO:<ann@mx.test>").await, "250");
        c.data(body).await;
    }
    let got = server.recorder.messages();
    assert_eq!(got.len(), 3, "quarantine copy and two notices");
    assert_eq!(got[0].recipients[0].canonical, "quarantine@mx.test");
    for (m, reason) in [(&got[1], "(Test.EICAR)"), (&got[2], "(setup.exe)")] {
        let text = String::from_utf8_lossy(&m.data);
        assert_eq!(m.mail_from, "");
        assert_eq!(m.recipients[0].canonical, "ann@mx.test");
        assert!(text.contains("Auto-Submitted: auto-generated"), "{text}");
        assert!(text.contains(reason), "{text}");
        assert!(text.contains("Envelope sender: joe@x.test"), "{text}");
        assert!(
            !text.contains("EICAR-STANDARD") && !text.contains("MZ"),
            "{text}"
        );
    }
}

/// `zimbraVirusWarnAdmin` / `zimbraMtaBlockedExtensionWarnAdmin`: the administrator
/// gets a notice naming the envelope and the reason, never the content; off, or without
/// an address, nobody is told.
#[tokio::test]
async fn the_administrator_is_told_of_quarantine_and_blocked_attachments() {
    let mut cfg = config(Protocol::Smtp);
    cfg.filters.clamd = Some(ClamdClient::new(fake_clamd().await));
    cfg.filters.virus_quarantine = Some("quarantine@mx.test".into());
    cfg.filters.blocked_extensions = vec!["exe".into()];
    cfg.filters.virus_warn_admin = true;
    cfg.filters.blocked_warn_admin = true;
    let virus = format!("From: joe@x.test\r\nSubject: invoice\r\n\r\n{EICAR}\r\n");
    let blocked = "From: joe@x.test\r\nSubject: tool\r\nMIME-Version: 1.0\r\n\
                   Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n\
                   Content-Type: application/octet-stream; name=\"setup.exe\"\r\n\r\nMZ\r\n\
                   --B--\r\n";

    // No address: only the quarantine copy.
    let (reply, got) = send(cfg.clone(), &virus).await;
    assert_reply(&reply, "250");
    assert_eq!(got.len(), 1);

    cfg.filters.admin_address = Some("admin@mx.test".into());
    let server = start(cfg.clone()).await;
    let (mut c, _) = connect(server.addr).await;
    c.cmd("EHLO client.x.test").await;
    for body in [virus.as_str(), blocked] {
        assert_reply(&c.cmd("MAIL FROM:<joe@x.test>").await, "250");
        assert_reply(&c.cmd("RCPT TO:<ann@mx.test>").await, "250");
        assert_reply(&c.cmd("RCPT TO:<bob@mx.test>").await, "250");
        c.data(body).await;
    }
    let got = server.recorder.messages();
    assert_eq!(got.len(), 3, "quarantine copy and two admin notices");
    assert_eq!(got[0].recipients[0].canonical, "quarantine@mx.test");
    for (m, reason) in [
        (&got[1], "virus found (Test.EICAR)"),
        (&got[2], "(setup.exe)"),
    ] {
        let text = String::from_utf8_lossy(&m.data);
        assert_eq!(m.mail_from, "");
        assert_eq!(m.recipients.len(), 1);
        assert_eq!(m.recipients[0].canonical, "admin@mx.test");
        assert!(text.contains("To: <admin@mx.test>\r\n"), "{text}");
        assert!(text.contains("Auto-Submitted: auto-generated"), "{text}");
        assert!(text.contains(reason), "{text}");
        assert!(text.contains("Envelope sender: joe@x.test\r\n"), "{text}");
        assert!(
            text.contains("Recipient: ann@mx.test\r\nRecipient: bob@mx.test\r\n"),
            "{text}"
        );
        assert!(text.contains("Client: 127.0.0.1\r\n"), "{text}");
        assert!(
            !text.contains("EICAR-STANDARD") && !text.contains("\r\nMZ"),
            "{text}"
        );
    }

    // Switched off: the quarantine copy only.
    cfg.filters.virus_warn_admin = false;
    cfg.filters.blocked_warn_admin = false;
    let (_, got) = send(cfg.clone(), &virus).await;
    assert_eq!(got.len(), 1);
    let (reply, got) = send(cfg, blocked).await;
    assert_reply(&reply, "554 5.7.1");
    assert!(got.is_empty());
}

#[tokio::test]
async fn lmtp_refuses_per_recipient() {
    let mut cfg = config(Protocol::Lmtp);
    cfg.filters.clamd = Some(ClamdClient::new(fake_clamd().await));
    let server = start(cfg).await;
    let (mut c, _) = connect(server.addr).await;
    c.cmd("LHLO mta.x.test").await;
    c.cmd("MAIL FROM:<joe@x.test>").await;
    c.cmd("RCPT TO:<ann@mx.test>").await;
    c.cmd("RCPT TO:<bob@mx.test>").await;
    let first = c.data(&format!("Subject: v\r\n\r\n{EICAR}\r\n")).await;
    assert_reply(&first, "554 5.7.1");
    assert_reply(&c.reply().await, "554 5.7.1");
    assert_reply(&c.cmd("NOOP").await, "250");
    assert!(server.recorder.messages().is_empty());
}

#[tokio::test]
async fn spam_is_tagged_or_killed() {
    let mut cfg = config(Protocol::Smtp);
    cfg.filters.spamd = Some(SpamdClient::new(fake_spamd().await));
    // Zimbra's default destiny (D_DISCARD): accepted, not delivered, no bounce.
    let (reply, got) = send(cfg.clone(), &format!("Subject: g\r\n\r\n{GTUBE}\r\n")).await;
    assert_reply(&reply, "250");
    assert!(got.is_empty(), "discarded");
    cfg.filters.spam.destiny = SpamDestiny::Reject;
    let (reply, got) = send(cfg.clone(), &format!("Subject: g\r\n\r\n{GTUBE}\r\n")).await;
    assert_reply(&reply, "554 5.7.1 Message rejected as spam");
    assert!(got.is_empty());

    let (reply, got) = send(cfg.clone(), "Subject: s\r\n\r\nSPAMMY\r\n").await;
    assert_reply(&reply, "250");
    let text = String::from_utf8_lossy(&got[0]).to_string();
    assert!(text.contains("X-Spam-Flag: YES\r\n"), "{text}");
    assert!(text.contains("X-Spam-Score: 8.000\r\n"), "{text}");
    assert!(
        text.contains("X-Spam-Status: Yes, score=8.000 required=6.6 tests=[FAKE_RULE,OTHER]"),
        "{text}"
    );
    // Our headers sit between the Received field and the content.
    assert!(text.starts_with("Received: "), "{text}");
    assert!(text.ends_with("Subject: s\r\n\r\nSPAMMY\r\n"), "{text}");

    let (_, got) = send(cfg.clone(), "Subject: h\r\n\r\nham\r\n").await;
    assert!(String::from_utf8_lossy(&got[0]).contains("X-Spam-Flag: NO\r\n"));

    cfg.filters.spam.destiny = SpamDestiny::Pass;
    let (_, got) = send(cfg.clone(), &format!("Subject: g\r\n\r\n{GTUBE}\r\n")).await;
    assert!(String::from_utf8_lossy(&got[0]).contains("X-Spam-Flag: YES"));

    // spamd down: accepted unscanned by default.
    cfg.filters.spamd = Some(SpamdClient::new(dead_port().await));
    let (reply, got) = send(cfg, "Subject: h\r\n\r\nham\r\n").await;
    assert_reply(&reply, "250");
    assert!(!String::from_utf8_lossy(&got[0]).contains("X-Spam"));
}

const MESSAGE: &str = "From: Joe <joe@x.test>\r\nTo: ann@mx.test\r\nSubject: signed\r\n\
Date: Fri, 4 Dec 2026 10:00:00 +0000\r\nMessage-ID: <s1@x.test>\r\n\r\nHello Ann.\r\n";

#[tokio::test]
async fn dkim_signing_then_verification() {
    let der = Ed25519Key::generate_pkcs8().unwrap();
    let public = Ed25519Key::from_pkcs8_der(&der).unwrap().public_key();
    let mut keys = DkimKeys::new();
    keys.add_ed25519_der("x.test", "sel1", &der).unwrap();

    // Signing: a trusted client's mail from x.test gets a DKIM-Signature.
    let mut cfg = config(Protocol::Smtp);
    cfg.my_networks = parse_networks("127.0.0.0/8").unwrap();
    cfg.filters.dkim_keys = Some(Arc::new(keys));
    let (reply, got) = send(cfg, MESSAGE).await;
    assert_reply(&reply, "250");
    let signed = String::from_utf8_lossy(&got[0]).to_string();
    let start = signed.find("DKIM-Signature:").expect("signed");
    let signed_content = signed[start..].to_string();
    assert!(signed_content.contains("d=x.test") && signed_content.contains("s=sel1"));

    // Verification: an outside client relays the signed message to us.
    use base64::Engine as _;
    let p = base64::engine::general_purpose::STANDARD.encode(public);
    let checker = AuthChecker::offline("mx.test").unwrap();
    checker
        .pin_dkim_key("sel1", "x.test", &format!("v=DKIM1; k=ed25519; p={p}"))
        .unwrap();
    checker
        .pin_spf("x.test", "v=spf1 ip4:127.0.0.1 -all")
        .unwrap();
    checker.pin_dmarc("x.test", "v=DMARC1; p=reject").unwrap();
    let checker = Arc::new(checker);
    let mut cfg = config(Protocol::Smtp);
    cfg.filters.auth_check = Some(checker.clone());
    let started = std::time::Instant::now();
    let (reply, got) = send(cfg.clone(), &signed_content).await;
    assert_reply(&reply, "250");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no real DNS waits"
    );
    let text = String::from_utf8_lossy(&got[0]).to_string();
    let ar = text
        .lines()
        .skip_while(|l| !l.starts_with("Authentication-Results:"))
        .take_while(|l| l.starts_with("Authentication-Results:") || l.starts_with('\t'))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(ar.starts_with("Authentication-Results: mx.test;"), "{text}");
    assert!(ar.contains("dkim=pass"), "{ar}");
    assert!(ar.contains("spf=pass"), "{ar}");
    assert!(ar.contains("dmarc=pass"), "{ar}");

    // A tampered body no longer passes DKIM (DMARC still passes through aligned SPF).
    let tampered = signed_content.replace("Hello Ann.", "Send money.");
    let (_, got) = send(cfg, &tampered).await;
    let text = String::from_utf8_lossy(&got[0]).to_string();
    assert!(!text.contains("dkim=pass"), "{text}");
    assert!(text.contains("body hash did not verify"), "{text}");
}

#[tokio::test]
async fn real_clamd() {
    let Ok(addr) = std::env::var("ZCS_TEST_CLAMD") else {
        eprintln!("SKIPPED real_clamd: ZCS_TEST_CLAMD is not set (see .ci/setup.d/40-scanners.sh)");
        return;
    };
    let client = ClamdClient::new(addr);
    client.ping().await.unwrap();
    assert!(matches!(
        client.scan(EICAR.as_bytes()).await,
        Ok(ClamdVerdict::Infected(_))
    ));
    assert_eq!(client.scan(b"hello clean\n").await, Ok(ClamdVerdict::Clean));
    let corpus = std::path::Path::new("/work/shared/corpus/zimbra-qa/virus");
    if let Ok(dir) = std::fs::read_dir(corpus) {
        for entry in dir.flatten() {
            let data = std::fs::read(entry.path()).unwrap();
            let verdict = client.scan(&data).await.unwrap();
            eprintln!("{}: {verdict:?}", entry.path().display());
        }
    }
    let mut cfg = config(Protocol::Smtp);
    cfg.filters.clamd = Some(client);
    let (reply, got) = send(cfg, &format!("Subject: v\r\n\r\n{EICAR}\r\n")).await;
    assert_reply(&reply, "554 5.7.1");
    assert!(got.is_empty());
}

#[tokio::test]
async fn real_spamd() {
    let Ok(addr) = std::env::var("ZCS_TEST_SPAMD") else {
        eprintln!("SKIPPED real_spamd: ZCS_TEST_SPAMD is not set (see .ci/setup.d/40-scanners.sh)");
        return;
    };
    let client = SpamdClient::new(addr);
    let gtube =
        format!("From: a@example.test\r\nTo: b@example.test\r\nSubject: t\r\n\r\n{GTUBE}\r\n");
    let result = client.check(gtube.as_bytes()).await.unwrap();
    assert!(result.is_spam && result.score >= 15.0, "{result:?}");
    assert!(result.symbols.iter().any(|s| s == "GTUBE"), "{result:?}");
    let ham = client.check(MESSAGE.as_bytes()).await.unwrap();
    assert!(!ham.is_spam, "{ham:?}");
    let mut cfg = config(Protocol::Smtp);
    cfg.filters.spamd = Some(client);
    cfg.filters.spam.destiny = SpamDestiny::Reject;
    let (reply, _) = send(cfg, &gtube).await;
    assert_reply(&reply, "554 5.7.1");
}
