//! Integration tests for the IMAP extensions added for Zimbra parity: STARTTLS with
//! LOGINDISABLED, COMPRESS=DEFLATE, SORT/ESORT, THREAD, SEARCHRES, MULTIAPPEND,
//! CATENATE, QUOTA, ACL, UTF8=ACCEPT, IDLE woken by the change bus, and a deep folder
//! tree that must not stall other sessions. Loopback only, in-memory backend.

mod imap_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use imap_support::{Client, MIXED, plain, start, test_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn tls_pair() -> (tokio_rustls::TlsAcceptor, tokio_rustls::TlsConnector) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert = ck.cert.der().clone();
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(ck.key_pair.serialize_der().into());
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
        tokio_rustls::TlsAcceptor::from(Arc::new(server)),
        tokio_rustls::TlsConnector::from(Arc::new(client)),
    )
}

/// Reads from `s` until the collected text contains `needle`.
async fn read_until<S: AsyncReadExt + Unpin>(s: &mut S, needle: &str) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(Duration::from_secs(10), async {
        while !String::from_utf8_lossy(&out).contains(needle) {
            let n = s.read(&mut buf).await.unwrap();
            assert!(
                n > 0,
                "closed before {needle:?}: {}",
                String::from_utf8_lossy(&out)
            );
            out.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("response in time");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn starttls_lifts_logindisabled() {
    let (acceptor, connector) = tls_pair();
    let config = zcs_server::imap::ImapConfig {
        starttls: Some(acceptor),
        cleartext_login: false,
        ..test_config()
    };
    let server = start(config).await;
    let (mut c, greeting) = Client::connect(server.addr).await;
    assert!(
        greeting.contains(" STARTTLS") && greeting.contains(" LOGINDISABLED"),
        "{greeting}"
    );
    assert!(!greeting.contains("AUTH=PLAIN"), "{greeting}");
    let (_, done) = c
        .cmd("a1", "LOGIN alice@example.com \"s3cret \\\"pw\\\"\"")
        .await;
    assert!(done.starts_with("a1 NO [PRIVACYREQUIRED]"), "{done}");
    let (_, done) = c.cmd("a2", "AUTHENTICATE PLAIN AGFAYg==").await;
    assert!(done.starts_with("a2 NO"), "{done}");

    // A raw socket for the upgrade; anything pipelined after STARTTLS is dropped.
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    read_until(&mut tcp, "\r\n").await;
    tcp.write_all(b"t1 STARTTLS\r\nt2 NOOP\r\n").await.unwrap();
    let ok = read_until(&mut tcp, "t1 OK").await;
    assert!(ok.contains("t1 OK"), "{ok}");
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    tls.write_all(b"t3 CAPABILITY\r\n").await.unwrap();
    let caps = read_until(&mut tls, "t3 OK").await;
    assert!(
        !caps.contains("t2 "),
        "pipelined command must be dropped: {caps}"
    );
    assert!(
        caps.contains("AUTH=PLAIN") && !caps.contains("STARTTLS"),
        "{caps}"
    );
    assert!(!caps.contains("LOGINDISABLED"), "{caps}");
    tls.write_all(b"t4 STARTTLS\r\n").await.unwrap();
    let again = read_until(&mut tls, "t4 ").await;
    assert!(again.contains("t4 BAD"), "{again}");
    tls.write_all(b"t5 LOGIN alice@example.com \"s3cret \\\"pw\\\"\"\r\n")
        .await
        .unwrap();
    let done = read_until(&mut tls, "t5 ").await;
    assert!(done.contains("t5 OK"), "{done}");
}

/// Sends one compressed command and inflates responses until `tag OK`.
async fn deflated_cmd(
    tcp: &mut TcpStream,
    deflate: &mut Compress,
    inflate: &mut Decompress,
    line: &str,
    tag: &str,
) -> String {
    let mut packed = Vec::with_capacity(line.len() + 64);
    deflate
        .compress_vec(line.as_bytes(), &mut packed, FlushCompress::Sync)
        .unwrap();
    tcp.write_all(&packed).await.unwrap();
    let mut text = Vec::new();
    let mut buf = [0u8; 8192];
    tokio::time::timeout(Duration::from_secs(10), async {
        while !String::from_utf8_lossy(&text).contains(&format!("{tag} OK")) {
            let n = tcp.read(&mut buf).await.unwrap();
            assert!(n > 0);
            let mut out = Vec::with_capacity(1 << 16);
            inflate
                .decompress_vec(&buf[..n], &mut out, FlushDecompress::Sync)
                .unwrap();
            text.extend_from_slice(&out);
        }
    })
    .await
    .expect("response in time");
    String::from_utf8_lossy(&text).into_owned()
}

#[tokio::test]
async fn compress_deflate_both_ways() {
    let server = start(test_config()).await;
    server.backend.alice.deliver(2, &plain("zipped", "hello"));
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    let greeting = read_until(&mut tcp, "\r\n").await;
    assert!(greeting.contains("COMPRESS=DEFLATE"), "{greeting}");
    tcp.write_all(b"a LOGIN alice@example.com \"s3cret \\\"pw\\\"\"\r\nb COMPRESS DEFLATE\r\n")
        .await
        .unwrap();
    let ok = read_until(&mut tcp, "b OK").await;
    assert!(ok.contains("b OK"), "{ok}");
    let mut deflate = Compress::new(Compression::default(), false);
    let mut inflate = Decompress::new(false);
    let out = deflated_cmd(
        &mut tcp,
        &mut deflate,
        &mut inflate,
        "c SELECT INBOX\r\n",
        "c",
    )
    .await;
    assert!(out.contains("* 1 EXISTS"), "{out}");
    let out = deflated_cmd(
        &mut tcp,
        &mut deflate,
        &mut inflate,
        "d FETCH 1 BODY[]\r\n",
        "d",
    )
    .await;
    assert!(out.contains("Subject: zipped"), "{out}");
    let out = deflated_cmd(
        &mut tcp,
        &mut deflate,
        &mut inflate,
        "e CAPABILITY\r\n",
        "e",
    )
    .await;
    assert!(!out.contains("COMPRESS=DEFLATE"), "{out}");
    let out = deflated_cmd(
        &mut tcp,
        &mut deflate,
        &mut inflate,
        "f COMPRESS DEFLATE\r\ng NOOP\r\n",
        "g",
    )
    .await;
    assert!(out.contains("f NO [COMPRESSIONACTIVE]"), "{out}");
}

fn msg(subject: &str, from: &str, date: &str, id: &str, refs: &str) -> Vec<u8> {
    let refs = if refs.is_empty() {
        String::new()
    } else {
        format!("References: {refs}\r\n")
    };
    format!(
        "From: {from}\r\nTo: alice@example.com\r\nSubject: {subject}\r\nDate: {date}\r\n\
Message-ID: {id}\r\n{refs}\r\nbody\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn sort_thread_and_saved_results() {
    let server = start(test_config()).await;
    let a = &server.backend.alice;
    a.deliver(
        2,
        &msg(
            "Lunch",
            "Zed <zed@x.org>",
            "Mon, 2 Jan 2023 09:00:00 +0000",
            "<1@x>",
            "",
        ),
    );
    a.deliver(
        2,
        &msg(
            "Re: lunch",
            "amy@x.org",
            "Mon, 2 Jan 2023 11:00:00 +0000",
            "<2@x>",
            "<1@x>",
        ),
    );
    a.deliver(
        2,
        &msg(
            "Budget",
            "Bob <bob@x.org>",
            "Sun, 1 Jan 2023 09:00:00 +0000",
            "<3@x>",
            "",
        ),
    );
    a.deliver(
        2,
        &msg(
            "[list] Re: Lunch",
            "cy@x.org",
            "Tue, 3 Jan 2023 09:00:00 +0000",
            "<4@x>",
            "<1@x> <2@x>",
        ),
    );
    let mut c = Client::login(server.addr).await;
    c.cmd("s", "SELECT INBOX").await;

    let (u, done) = c.cmd("a", "SORT (SUBJECT) UTF-8 ALL").await;
    assert_eq!(done, "a OK SORT completed");
    assert_eq!(u, vec!["* SORT 3 1 2 4"]);
    let (u, _) = c.cmd("b", "SORT (REVERSE DATE) UTF-8 ALL").await;
    assert_eq!(u, vec!["* SORT 4 2 1 3"]);
    let (u, _) = c.cmd("c", "SORT (FROM) UTF-8 ALL").await;
    assert_eq!(u, vec!["* SORT 2 3 4 1"]);
    let (u, _) = c.cmd("d", "SORT (DISPLAYFROM) UTF-8 ALL").await;
    assert_eq!(u, vec!["* SORT 2 3 4 1"]);
    let (u, _) = c
        .cmd("e", "UID SORT (SIZE ARRIVAL) US-ASCII SUBJECT lunch")
        .await;
    assert_eq!(u.len(), 1);
    assert!(u[0].starts_with("* SORT "), "{u:?}");
    let (u, _) = c
        .cmd("f", "SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL")
        .await;
    assert_eq!(
        u,
        vec!["* ESEARCH (TAG \"f\") MIN 3 MAX 4 COUNT 4 ALL 3,1,2,4"]
    );
    let (_, done) = c.cmd("g", "SORT (DATE) KOI8-R ALL").await;
    assert!(done.starts_with("g NO [BADCHARSET"), "{done}");

    let (u, _) = c.cmd("h", "THREAD REFERENCES UTF-8 ALL").await;
    assert_eq!(u, vec!["* THREAD (3)(1 2 4)"]);
    let (u, _) = c.cmd("i", "THREAD ORDEREDSUBJECT UTF-8 ALL").await;
    assert_eq!(u, vec!["* THREAD (3)(1 (2)(4))"]);
    let (u, _) = c.cmd("j", "UID THREAD REFERENCES UTF-8 ALL").await;
    assert_eq!(u, vec!["* THREAD (3)(1 2 4)"]);

    // SEARCHRES: SAVE alone answers nothing; $ then names the result.
    let (u, done) = c.cmd("k", "SEARCH RETURN (SAVE) SUBJECT lunch").await;
    assert!(u.is_empty() && done.starts_with("k OK"), "{u:?} {done}");
    let (u, _) = c.cmd("l", "FETCH $ (UID)").await;
    assert_eq!(u.len(), 3, "{u:?}");
    let (u, _) = c.cmd("m", "UID SEARCH $ FROM amy").await;
    assert_eq!(u, vec!["* SEARCH 2"]);
    let (u, _) = c.cmd("n", "SEARCH RETURN (SAVE MIN) FROM bob").await;
    assert_eq!(u, vec!["* ESEARCH (TAG \"n\") MIN 3"]);
    let (_, done) = c.cmd("o", "STORE $ +FLAGS.SILENT (\\Flagged)").await;
    assert!(done.starts_with("o OK"), "{done}");
    let (u, _) = c.cmd("p", "SEARCH FLAGGED").await;
    assert_eq!(u, vec!["* SEARCH 3"]);
    c.cmd("q", "UNSELECT").await;
    c.cmd("r", "SELECT INBOX").await;
    let (u, _) = c.cmd("s2", "SEARCH $").await;
    assert_eq!(u, vec!["* SEARCH"]);
}

#[tokio::test]
async fn multiappend_catenate_and_binary_literals() {
    let server = start(test_config()).await;
    let a = &server.backend.alice;
    let m1 = plain("one", "first");
    let m2 = plain("two", "second");
    let mut c = Client::login(server.addr).await;
    c.send_raw(format!("a APPEND INBOX (\\Seen) {{{}+}}\r\n", m1.len()).as_bytes())
        .await;
    c.send_raw(&m1).await;
    c.send_raw(format!(" ~{{{}+}}\r\n", m2.len()).as_bytes())
        .await;
    c.send_raw(&m2).await;
    c.send_raw(b"\r\n").await;
    let (_, done) = c.until_tagged("a").await;
    assert!(done.starts_with("a OK [APPENDUID 1002 1:2]"), "{done}");
    assert_eq!(a.count(2), 2);

    // One bad message (empty) means none is kept.
    c.send_raw(format!("b APPEND INBOX {{{}+}}\r\n", m1.len()).as_bytes())
        .await;
    c.send_raw(&m1).await;
    c.send_raw(b" {0+}\r\n\r\n").await;
    let (_, done) = c.until_tagged("b").await;
    assert!(done.starts_with("b NO"), "{done}");
    assert_eq!(a.count(2), 2);

    // CATENATE: a new header and the body of message 1 by URL.
    let head = b"X-Added: yes\r\n";
    c.send_raw(format!("c APPEND Drafts CATENATE (TEXT {{{}+}}\r\n", head.len()).as_bytes())
        .await;
    c.send_raw(head).await;
    c.send_raw(b" URL \"/INBOX/;UID=2\")\r\n").await;
    let (_, done) = c.until_tagged("c").await;
    assert!(done.starts_with("c OK [APPENDUID"), "{done}");
    let drafts = a.folder_id("/Drafts").unwrap();
    let raw = a.raw_of(drafts, 1).unwrap();
    assert!(raw.starts_with(b"X-Added: yes\r\nFrom: Bob"));
    assert!(raw.ends_with(b"second\r\n"));
    let (_, done) = c
        .cmd("d", "APPEND Drafts CATENATE (URL \"/INBOX/;UID=99\")")
        .await;
    assert!(done.starts_with("d NO [BADURL"), "{done}");
    // RFC 5092 ;SECTION=: only the named part (here the body of a one-part message).
    let (_, done) = c
        .cmd(
            "e",
            concat!(
                "APPEND Drafts CATENATE (TEXT {11+}\r\nSubject: \r\n",
                " URL \"/INBOX/;UID=2/;SECTION=TEXT\")"
            ),
        )
        .await;
    assert!(done.starts_with("e OK [APPENDUID"), "{done}");
    let raw = a.raw_of(drafts, 2).unwrap();
    assert!(
        raw.starts_with(b"Subject: \r\n"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    assert!(raw.ends_with(b"second\r\n"));
    assert!(!raw.windows(4).any(|w| w == b"From"), "only the text part");
    let (_, done) = c
        .cmd(
            "f",
            "APPEND Drafts CATENATE (URL \"/INBOX/;UID=2/;SECTION=9\")",
        )
        .await;
    assert!(done.starts_with("f NO [BADURL"), "{done}");
}

#[tokio::test]
async fn quota_acl_and_utf8() {
    let server = start(test_config()).await;
    let a = &server.backend.alice;
    a.deliver(2, &plain("q", &"x".repeat(5000)));
    let mut c = Client::login(server.addr).await;
    let (u, done) = c.cmd("a", "GETQUOTAROOT INBOX").await;
    assert_eq!(u, vec!["* QUOTAROOT INBOX"]);
    assert!(done.starts_with("a OK"));
    a.quota
        .store(10 * 1024 * 1024, std::sync::atomic::Ordering::SeqCst);
    let (u, _) = c.cmd("b", "GETQUOTAROOT INBOX").await;
    assert_eq!(u.len(), 2, "{u:?}");
    assert_eq!(u[0], "* QUOTAROOT INBOX \"\"");
    assert_eq!(u[1], "* QUOTA \"\" (STORAGE 6 10240)");
    let (u, _) = c.cmd("c", "GETQUOTA \"\"").await;
    assert_eq!(u.len(), 1);
    let (_, done) = c.cmd("d", "SETQUOTA \"\" (STORAGE 1)").await;
    assert!(done.starts_with("d NO"), "{done}");
    let (u, _) = c.cmd("e", "MYRIGHTS INBOX").await;
    assert_eq!(u, vec!["* MYRIGHTS INBOX lrswipkcxteda"]);
    let (u, _) = c.cmd("f", "GETACL INBOX").await;
    assert_eq!(u, vec!["* ACL INBOX alice@example.com lrswipkcxteda"]);
    let (u, _) = c.cmd("g", "LISTRIGHTS INBOX bob").await;
    assert_eq!(u.len(), 1);
    let (_, done) = c.cmd("h", "SETACL INBOX bob lr").await;
    assert!(done.starts_with("h NO"), "{done}");
    let (_, done) = c.cmd("i", "MYRIGHTS Nope").await;
    assert!(done.starts_with("i NO [NONEXISTENT]"), "{done}");

    // Modified UTF-7 round trips of odd names, then UTF8=ACCEPT.
    for name in [
        "A&B",
        " lead",
        "trail ",
        "Entw\u{fc}rfe",
        "\u{65e5}\u{672c}&x",
    ] {
        let wire = zcs_server::imap::utf7::encode(name);
        let (_, done) = c.cmd("j", &format!("CREATE \"{wire}\"")).await;
        assert!(done.starts_with("j OK"), "{name}: {done}");
        let (u, _) = c.cmd("k", &format!("LIST \"\" \"{wire}\"")).await;
        assert_eq!(u.len(), 1, "{name}: {u:?}");
        assert!(u[0].ends_with(&format!("\"{wire}\"")), "{name}: {u:?}");
    }
    let (u, _) = c.cmd("l", "ENABLE UTF8=ACCEPT").await;
    assert_eq!(u, vec!["* ENABLED UTF8=ACCEPT"]);
    let (u, _) = c.cmd("m", "LIST \"\" \"Entw\u{fc}rfe\"").await;
    assert_eq!(u.len(), 1, "{u:?}");
    assert!(u[0].ends_with("\"Entw\u{fc}rfe\""), "{u:?}");
}

#[tokio::test]
async fn idle_wakes_on_the_change_bus() {
    let config = zcs_server::imap::ImapConfig {
        idle_poll_interval: Duration::from_secs(60),
        ..test_config()
    };
    let server = start(config).await;
    let mut c = Client::login(server.addr).await;
    c.cmd("s", "SELECT INBOX").await;
    c.send("i IDLE").await;
    assert_eq!(c.read_text().await.unwrap(), "+ idling");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    server.backend.alice.deliver(2, &plain("ping", "x"));
    let line = c.read_text().await.unwrap();
    let waited = started.elapsed();
    assert_eq!(line, "* 1 EXISTS");
    assert!(waited < Duration::from_millis(100), "woke after {waited:?}");
    c.read_text().await.unwrap(); // RECENT
    // A second session's STORE wakes the first too.
    let mut other = Client::login(server.addr).await;
    other.cmd("s", "SELECT INBOX").await;
    other.cmd("f", "STORE 1 +FLAGS (\\Flagged)").await;
    let line = c.read_text().await.unwrap();
    assert!(
        line.starts_with("* 1 FETCH (FLAGS (") && line.contains("\\Flagged"),
        "{line}"
    );
    c.send("DONE").await;
    let (_, done) = c.until_tagged("i").await;
    assert_eq!(done, "i OK IDLE terminated");
}

#[tokio::test]
async fn deep_folder_tree_does_not_stall_other_sessions() {
    let server = start(test_config()).await;
    let a = &server.backend.alice;
    let mut parent = 1;
    for depth in 0..200 {
        parent = a.add_folder(parent, &format!("d{depth}"));
    }
    for i in 0..2000 {
        a.add_folder(1, &format!("flat{i}"));
    }
    let mut lister = Client::login(server.addr).await;
    let mut pinger = Client::login(server.addr).await;
    lister.send("l LIST \"\" \"*\"").await;
    let started = Instant::now();
    let (_, done) = pinger.cmd("p", "NOOP").await;
    assert_eq!(done, "p OK NOOP completed");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let (u, done) = lister.until_tagged("l").await;
    assert!(done.starts_with("l OK"), "{done}");
    assert!(u.len() > 2200, "{}", u.len());
}

#[tokio::test]
async fn session_limit_per_account() {
    let config = zcs_server::imap::ImapConfig {
        max_sessions_per_account: 2,
        ..test_config()
    };
    let server = start(config).await;
    let _one = Client::login(server.addr).await;
    let _two = Client::login(server.addr).await;
    let (mut c, _) = Client::connect(server.addr).await;
    let (_, done) = c
        .cmd("x", "LOGIN alice@example.com \"s3cret \\\"pw\\\"\"")
        .await;
    assert!(done.starts_with("x NO [LIMIT]"), "{done}");
    let _ = MIXED;
}

#[tokio::test]
async fn binary_fetch_decodes_parts() {
    let server = start(test_config()).await;
    let raw = b"From: a@x.org\r\nSubject: bin\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9\r\n--b\r\n\
Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n\
AAECAw==\r\n--b--\r\n";
    server.backend.alice.deliver(2, raw);
    let mut c = Client::login(server.addr).await;
    c.cmd("s", "SELECT INBOX").await;
    let (u, done) = c
        .cmd_raw("a", "FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])")
        .await;
    assert!(done.starts_with("a OK"), "{done}");
    let text = String::from_utf8_lossy(&u[0]).into_owned();
    assert!(text.contains("BINARY.SIZE[1] 5"), "{text}");
    assert!(text.contains("BINARY[1] {5}\r\ncaf\u{e9}"), "{text}");
    c.send("b FETCH 1 BINARY.PEEK[2]").await;
    let mut tcp_text = Vec::new();
    loop {
        let line = c.read().await.unwrap();
        let done = line.starts_with(b"b ");
        tcp_text.extend_from_slice(&line);
        if done {
            break;
        }
    }
    assert!(
        tcp_text
            .windows(12)
            .any(|w| w == b"~{4}\r\n\x00\x01\x02\x03)\r"),
        "{tcp_text:?}"
    );
}

#[tokio::test]
async fn subscriptions_are_stored() {
    let server = start(test_config()).await;
    let mut c = Client::login(server.addr).await;
    c.cmd("a", "CREATE Work/Projects").await;
    let (u, _) = c.cmd("b", "LSUB \"\" *").await;
    assert!(u.is_empty(), "{u:?}");
    let (_, done) = c.cmd("c", "SUBSCRIBE Work/Projects").await;
    assert!(done.starts_with("c OK"), "{done}");
    let (_, done) = c.cmd("d", "SUBSCRIBE inbox").await;
    assert!(done.starts_with("d OK"), "{done}");
    let (_, done) = c.cmd("e", "SUBSCRIBE Nope").await;
    assert!(done.starts_with("e NO"), "{done}");
    let (u, _) = c.cmd("f", "LSUB \"\" *").await;
    assert_eq!(
        u,
        vec!["* LSUB () \"/\" INBOX", "* LSUB () \"/\" \"Work/Projects\""]
    );
    let (u, _) = c.cmd("g", "LIST (SUBSCRIBED) \"\" *").await;
    assert_eq!(u.len(), 2, "{u:?}");
    assert!(u.iter().all(|l| l.contains("\\Subscribed")), "{u:?}");
    c.cmd("h", "DELETE Work/Projects").await;
    let (u, _) = c.cmd("i", "LIST (SUBSCRIBED) \"\" *").await;
    assert!(u.iter().any(|l| l.contains("\\NonExistent")), "{u:?}");
    let (u, _) = c.cmd("j", "LSUB \"\" Work/*").await;
    assert_eq!(u, vec!["* LSUB (\\Noselect) \"/\" \"Work/Projects\""]);
    c.cmd("k", "UNSUBSCRIBE Work/Projects").await;
    let (u, _) = c.cmd("l", "LSUB \"\" *").await;
    assert_eq!(u, vec!["* LSUB () \"/\" INBOX"]);
    // A new session sees the same set.
    let mut c2 = Client::login(server.addr).await;
    let (u, _) = c2.cmd("m", "LSUB \"\" %").await;
    assert_eq!(u, vec!["* LSUB () \"/\" INBOX"]);
}

#[tokio::test]
async fn sessions_survive_account_deletion() {
    let server = start(test_config()).await;
    server.backend.alice.deliver(2, &plain("bye", "x"));
    let mut selected = Client::login(server.addr).await;
    selected.cmd("s", "SELECT INBOX").await;
    let mut idle = Client::login(server.addr).await;
    idle.cmd("s", "SELECT INBOX").await;
    idle.send("i IDLE").await;
    assert_eq!(idle.read_text().await.unwrap(), "+ idling");
    let mut plain_session = Client::login(server.addr).await;
    server.backend.alice.delete_everything();
    // The selected session is told its mailbox is gone and closed.
    selected.send("n NOOP").await;
    let line = selected.read_text().await.unwrap();
    assert!(line.starts_with("* BYE"), "{line}");
    // The idling one too, without waiting for DONE.
    let line = idle.read_text().await.unwrap();
    assert!(line.starts_with("* BYE"), "{line}");
    // One with nothing selected gets NO for what it asks.
    let (_, done) = plain_session.cmd("x", "SELECT INBOX").await;
    assert!(done.starts_with("x NO"), "{done}");
    let (_, done) = plain_session.cmd("y", "STATUS INBOX (MESSAGES)").await;
    assert!(done.starts_with("y NO"), "{done}");
    let (_, done) = plain_session.cmd("z", "LOGOUT").await;
    assert!(done.starts_with("z OK"), "{done}");
}
