//! End-to-end tests of APPEND and literals against `serve` on 127.0.0.1:0 with the
//! in-memory backend of `imap_support`: literal size limits (RFC 7888), 8-bit and large
//! messages, and every corpus message through FETCH with well-formed responses.

mod imap_support;

use imap_support::{Client, plain, start, test_config};
use zcs_core::Flags;

const INBOX: i32 = 2;

#[tokio::test]
async fn append_with_literals_and_limits() {
    let mut config = test_config();
    config.max_literal = 4096;
    let server = start(config).await;
    let alice = &server.backend.alice;
    let mut c = Client::login(server.addr).await;
    let msg = plain("appended", "body with \"quotes\" and \\ backslash");

    c.send(&format!(
        "a1 APPEND Drafts (\\Seen \\Draft) \" 5-Mar-2024 10:11:12 +0200\" {{{}}}",
        msg.len()
    ))
    .await;
    assert!(c.read_text().await.unwrap().starts_with("+ "));
    c.send_raw(&msg).await;
    c.send("").await;
    let (_, done) = c.until_tagged("a1").await;
    assert_eq!(done, "a1 OK [APPENDUID 1006 1] APPEND completed");
    assert_eq!(alice.raw_of(6, 1).unwrap(), msg);
    assert_eq!(alice.flags_of(6, 1).unwrap(), Flags::DRAFT);

    // LITERAL+: no continuation.
    let mut line = format!("a2 APPEND INBOX {{{}+}}\r\n", msg.len()).into_bytes();
    line.extend_from_slice(&msg);
    line.extend_from_slice(b"\r\n");
    c.send_raw(&line).await;
    let (_, done) = c.until_tagged("a2").await;
    assert_eq!(done, "a2 OK [APPENDUID 1002 1] APPEND completed");
    assert_eq!(alice.flags_of(INBOX, 1).unwrap(), Flags::UNREAD);

    let (_, done) = c.cmd("a3", "APPEND Nowhere {3+}\r\nabc").await;
    assert_eq!(done, "a3 NO [TRYCREATE] No such mailbox");

    // Too big: refused before the data is sent (synchronising)...
    c.send("a4 APPEND INBOX {100000}").await;
    let done = c.read_text().await.unwrap();
    assert_eq!(done, "a4 NO [TOOBIG] Message too big");
    let (_, done) = c.cmd("a6", "NOOP").await;
    assert_eq!(done, "a6 OK NOOP completed");
    // Other commands may not carry big literals.
    c.send("a7 LOGIN {70000}").await;
    assert!(c.read_text().await.unwrap().starts_with("a7 BAD"));

    // The selected mailbox learns about its own appends.
    c.cmd("s", "SELECT INBOX").await;
    let (untagged, _) = c.cmd("a8", "APPEND INBOX {3+}\r\nabc").await;
    assert_eq!(untagged, vec!["* 2 EXISTS", "* 1 RECENT"]);
}

/// RFC 7888 §4: a non-synchronising literal over the limit is refused as soon as it
/// is announced, without reading the announced bytes, and the connection is closed
/// (its input can no longer be framed).
#[tokio::test]
async fn oversized_non_synchronising_literals_are_refused_at_once() {
    let mut config = test_config();
    config.max_literal = 4096;
    let server = start(config).await;
    for (tag, announce, expect) in [
        // 10 GB announced, a few bytes sent: the answer comes at once.
        (
            "a5",
            "APPEND INBOX {10000000000+}",
            "a5 NO [TOOBIG] Message too big",
        ),
        ("b1", "LOGIN {100000+}", "b1 BAD [TOOBIG] Literal too big"),
    ] {
        let mut c = Client::login(server.addr).await;
        let started = std::time::Instant::now();
        c.send_raw(format!("{tag} {announce}\r\nxxxxxxxx").as_bytes())
            .await;
        let done = c.read_text().await.expect("tagged reply");
        assert_eq!(done, expect);
        let bye = c.read_text().await.expect("BYE");
        assert!(bye.starts_with("* BYE"), "{bye}");
        assert_eq!(c.read_text().await, None, "closed after the refusal");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "refusal took {:?}",
            started.elapsed()
        );
    }
    // Within the limit, LITERAL+ works as before on a connection that stays open.
    let mut c = Client::login(server.addr).await;
    let (_, done) = c.cmd("c1", "APPEND INBOX {3+}\r\nabc").await;
    assert!(done.starts_with("c1 OK"), "{done}");
    let (_, done) = c.cmd("c2", "NOOP").await;
    assert_eq!(done, "c2 OK NOOP completed");
}

#[tokio::test]
async fn large_and_eight_bit_messages_round_trip() {
    let server = start(test_config()).await;
    let alice = &server.backend.alice;
    let mut big = b"Subject: =?utf-8?b?w6ljaGFudGlsbG9u?= \"quoted\" back\\slash\r\n\
From: \"J\xc3\xb6rg \\\"Q\\\" M\xc3\xbcller\" <jorg@example.de>\r\n\r\n"
        .to_vec();
    for i in 0..40_000u32 {
        big.extend_from_slice(format!("line {i} é€\r\n").as_bytes());
    }
    alice.deliver(INBOX, &big);
    let mut c = Client::login(server.addr).await;
    c.cmd("s", "SELECT INBOX").await;

    let (raw, _) = c.cmd_raw("f1", "FETCH 1 BODY.PEEK[]").await;
    let mut expected = format!("* 1 FETCH (BODY[] {{{}}}\r\n", big.len()).into_bytes();
    expected.extend_from_slice(&big);
    expected.extend_from_slice(b")\r\n");
    assert!(raw.len() == 1 && raw[0] == expected, "BODY[] differs");

    let (raw, _) = c
        .cmd_raw("f2", "FETCH 1 (BODY.PEEK[TEXT]<100000.50> ENVELOPE)")
        .await;
    let text = String::from_utf8_lossy(&raw[0]).into_owned();
    let header_len = big.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let slice = &big[header_len + 100_000..header_len + 100_050];
    assert!(raw[0].windows(slice.len()).any(|w| w == slice), "{text}");
    // 8-bit and quoted-special content: the subject is quoted with escapes, the
    // 8-bit display name goes as a literal.
    assert!(
        text.contains("\"=?utf-8?b?w6ljaGFudGlsbG9u?= \\\"quoted\\\" back\\\\slash\""),
        "{text}"
    );
    let name: &[u8] = b"{17}\r\nJ\xc3\xb6rg \"Q\" M\xc3\xbcller NIL \"jorg\" \"example.de\")";
    assert!(raw[0].windows(name.len()).any(|w| w == name), "{text}");

    // A 1 MB APPEND through a synchronising literal comes back identical.
    let payload: Vec<u8> = (0..1_000_000u32)
        .map(|i| {
            if i % 80 == 79 {
                b'\n'
            } else {
                b'a' + (i % 26) as u8
            }
        })
        .collect();
    let mut message = b"Subject: big\r\n\r\n".to_vec();
    message.extend_from_slice(&payload);
    c.send(&format!("a1 APPEND INBOX {{{}}}", message.len()))
        .await;
    assert!(c.read_text().await.unwrap().starts_with("+ "));
    c.send_raw(&message).await;
    c.send("").await;
    let (_, done) = c.until_tagged("a1").await;
    assert!(done.starts_with("a1 OK [APPENDUID 1002 2]"), "{done}");
    let (raw, _) = c.cmd_raw("f3", "UID FETCH 2 BODY.PEEK[TEXT]").await;
    let mut expected =
        format!("* 2 FETCH (UID 2 BODY[TEXT] {{{}}}\r\n", payload.len()).into_bytes();
    expected.extend_from_slice(&payload);
    expected.extend_from_slice(b")\r\n");
    assert!(raw[0] == expected, "BODY[TEXT] differs");
}

/// Checks that `data` is one well-formed sequence of IMAP response tokens: balanced
/// parentheses, quoted strings with only `\"` and `\\` escapes and no 8-bit or CR/LF,
/// literals whose length is right. Returns an error text otherwise.
fn check_syntax(data: &[u8]) -> Result<(), String> {
    let mut depth = 0i32;
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("unbalanced ) at {i}"));
                }
            }
            b'"' => {
                i += 1;
                loop {
                    match data.get(i) {
                        None => return Err("unterminated quoted string".into()),
                        Some(b'"') => break,
                        Some(b'\\') => {
                            if !matches!(data.get(i + 1), Some(b'"' | b'\\')) {
                                return Err(format!("bad escape at {i}"));
                            }
                            i += 1;
                        }
                        Some(&b) if b >= 0x80 || b == b'\r' || b == b'\n' || b == 0 => {
                            return Err(format!("byte {b:#x} in quoted string at {i}"));
                        }
                        Some(_) => {}
                    }
                    i += 1;
                }
            }
            b'{' => {
                let close = data[i..]
                    .iter()
                    .position(|&b| b == b'}')
                    .ok_or("bad literal")?;
                let n: usize = std::str::from_utf8(&data[i + 1..i + close])
                    .map_err(|e| e.to_string())?
                    .parse()
                    .map_err(|e| format!("literal length: {e}"))?;
                if data.get(i + close + 1..i + close + 3) != Some(b"\r\n") {
                    return Err("literal without CRLF".into());
                }
                i += close + 3 + n;
                if i > data.len() {
                    return Err("literal runs past the response".into());
                }
                continue;
            }
            b'\r' | b'\n' if i + 2 < data.len() => {
                return Err(format!("line break inside a response at {i}"));
            }
            _ => {}
        }
        i += 1;
    }
    if depth != 0 {
        return Err(format!("unbalanced parentheses ({depth})"));
    }
    Ok(())
}

/// Every corpus message (`ZCS_CORPUS`, default `/work/shared/corpus`) goes through
/// FETCH (ENVELOPE, BODYSTRUCTURE, sections) with well-formed responses, and BODY[]
/// returns it unchanged.
#[tokio::test]
async fn corpus_messages_fetch_cleanly() {
    let mut files = Vec::new();
    let root = std::env::var("ZCS_CORPUS").unwrap_or_else(|_| "/work/shared/corpus".into());
    let root = std::path::PathBuf::from(root);
    let mut stack = vec![root.join("python-email"), root.join("zimbra-qa")];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                stack.extend(entries.flatten().map(|e| e.path()));
            }
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            None | Some("txt" | "eml" | "msg" | "mime")
        ) {
            files.push(path);
        }
    }
    if files.is_empty() {
        eprintln!("corpus not present; skipping");
        return;
    }
    files.sort();
    let server = start(test_config()).await;
    let alice = &server.backend.alice;
    let mut raws = Vec::new();
    for f in files {
        let raw = std::fs::read(&f).unwrap();
        if raw.len() > 4 << 20 {
            continue;
        }
        alice.deliver(INBOX, &raw);
        raws.push((f, raw));
    }
    let mut c = Client::login(server.addr).await;
    c.cmd("s", "SELECT INBOX").await;
    let (responses, done) = c
        .cmd_raw(
            "f",
            "FETCH 1:* (UID ENVELOPE BODYSTRUCTURE BODY BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)] \
BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2.1] BODY.PEEK[]<0.50> BODY.PEEK[])",
        )
        .await;
    assert_eq!(done, "f OK FETCH completed");
    assert_eq!(responses.len(), raws.len());
    for (resp, (path, raw)) in responses.iter().zip(&raws) {
        if let Err(why) = check_syntax(resp) {
            panic!("{}: {why}", path.display());
        }
        let tail = format!("BODY[] {{{}}}\r\n", raw.len()).into_bytes();
        let at = resp
            .windows(tail.len())
            .rposition(|w| w == tail.as_slice())
            .expect("BODY[] present");
        let body = &resp[at + tail.len()..resp.len() - 3];
        assert!(body == raw.as_slice(), "{}", path.display());
    }
    eprintln!("fetched {} corpus messages", raws.len());
}
