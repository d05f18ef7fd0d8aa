//! Replays client conversations (`tests/imap_replay/*.txt`) against the IMAP server
//! over the in-memory backend of `imap_support`, one fresh server per transcript.
//!
//! Each transcript is what one mail client sends at login and during a sync, written
//! from that client's published behaviour (see each file's header: they are
//! reconstructions, not captures). The runner checks that every tagged reply has the
//! status the transcript expects (OK unless marked), that every untagged response is
//! well formed (balanced parentheses, valid quoted strings and literals, a known
//! response name), and that the whole server output matches the reviewed
//! `<name>.expected` file byte for byte (CRLF written as LF, each server response
//! prefixed `S: `, each client line `C: `). Run with `ZCS_REPLAY_BLESS=1` to rewrite the
//! `.expected` files after a deliberate change, then review the diff.
//!
//! Transcript lines:
//! - `# ...` and blank lines: comments;
//! - `A: folder <name>`: creates a top-level folder (setup, before or between commands);
//! - `A: deliver <folder> <subject>`: delivers a message as another component would
//!   (in IDLE, the client is then told);
//! - `A: flag <folder> <uid> <\Flag>`: another client sets a flag;
//! - `C: <tag> <command>`: sent; the reply tagged `<tag>` must be OK; `C-NO:` and
//!   `C-BAD:` expect NO and BAD. A command ending in `{+}` (LITERAL+) or `{}`
//!   (synchronising) takes the following `L: ` lines, joined with CRLF, as its literal;
//! - `C: <tag> IDLE` waits for the continuation; the next `W: <line>` waits for that
//!   untagged line, `C: DONE` ends the IDLE and reads the tagged reply.

mod imap_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use imap_support::{Client, MemAccount, start, test_config};

/// The folder ids the actions name.
fn folder_id(account: &MemAccount, name: &str) -> i32 {
    match name {
        "INBOX" => 2,
        "Trash" => 3,
        "Junk" => 4,
        "Sent" => 5,
        "Drafts" => 6,
        other => account
            .folder_id(&format!("/{other}"))
            .unwrap_or_else(|| panic!("unknown folder {other}")),
    }
}

/// A deterministic message for `A: deliver`.
fn message(subject: &str, n: usize) -> Vec<u8> {
    format!(
        "From: Bob Example <bob@example.org>\r\nTo: Alice <alice@example.com>\r\n\
         Subject: {subject}\r\nDate: Mon, 2 Jan 2023 09:{:02}:00 +0000\r\n\
         Message-ID: <replay-{n}@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHello from message {n}.\r\n\
         Second line.\r\n",
        n % 60
    )
    .into_bytes()
}

/// The response names RFC 3501 and the advertised extensions define.
const NAMES: &[&str] = &[
    "OK",
    "NO",
    "BAD",
    "BYE",
    "PREAUTH",
    "CAPABILITY",
    "LIST",
    "LSUB",
    "XLIST",
    "STATUS",
    "SEARCH",
    "ESEARCH",
    "FLAGS",
    "ENABLED",
    "ID",
    "NAMESPACE",
    "SORT",
    "THREAD",
    "QUOTA",
    "QUOTAROOT",
    "ACL",
    "MYRIGHTS",
    "LISTRIGHTS",
    "VANISHED",
];

/// Checks that one server response is well formed: a status/data name, balanced
/// parentheses, closed quoted strings without CR/LF, literals of the announced
/// length, and a final CRLF.
fn check_response(raw: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(raw);
    let body = raw
        .strip_suffix(b"\r\n")
        .ok_or_else(|| format!("no CRLF: {text}"))?;
    let rest = if let Some(r) = body.strip_prefix(b"* ") {
        r
    } else if body.starts_with(b"+") {
        return Ok(());
    } else {
        let sp = body.iter().position(|&b| b == b' ').ok_or("no tag")?;
        &body[sp + 1..]
    };
    let word_end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
    let first = std::str::from_utf8(&rest[..word_end]).map_err(|e| e.to_string())?;
    if first.bytes().all(|b| b.is_ascii_digit()) && !first.is_empty() {
        let second = rest[word_end..]
            .trim_ascii_start()
            .split(|&b| b == b' ')
            .next()
            .unwrap_or_default();
        let second = String::from_utf8_lossy(second).to_ascii_uppercase();
        if !["EXISTS", "RECENT", "EXPUNGE", "FETCH"].contains(&second.as_str()) {
            return Err(format!("unknown message data {second}: {text}"));
        }
    } else if !NAMES.contains(&first.to_ascii_uppercase().as_str()) {
        return Err(format!("unknown response {first}: {text}"));
    }
    let mut depth = 0i32;
    let mut i = 0;
    while i < rest.len() {
        match rest[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("unbalanced ')': {text}"));
                }
            }
            b'"' => {
                i += 1;
                loop {
                    match rest.get(i) {
                        None => return Err(format!("unterminated string: {text}")),
                        Some(b'\\') => i += 2,
                        Some(b'"') => break,
                        Some(b'\r' | b'\n') => return Err(format!("CR/LF in string: {text}")),
                        Some(_) => i += 1,
                    }
                }
            }
            b'{' => {
                let close = rest[i..]
                    .iter()
                    .position(|&b| b == b'}')
                    .ok_or_else(|| format!("unclosed literal: {text}"))?;
                let n: usize = std::str::from_utf8(&rest[i + 1..i + close])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| format!("bad literal length: {text}"))?;
                let data = i + close + 1;
                if rest.get(data..data + 2) != Some(b"\r\n") {
                    return Err(format!("literal without CRLF: {text}"));
                }
                i = data + 2 + n;
                if i > rest.len() {
                    return Err(format!("short literal: {text}"));
                }
                continue;
            }
            b'\r' | b'\n' => return Err(format!("bare CR/LF outside a literal: {text}")),
            _ => {}
        }
        i += 1;
    }
    if depth != 0 {
        return Err(format!("unbalanced '(': {text}"));
    }
    Ok(())
}

/// The log line of a server response: `S: ` and the bytes with CRLF as LF; the
/// server's version in its ID response is left out so a version bump changes nothing.
fn log_response(log: &mut String, raw: &[u8]) {
    let mut text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    if text.starts_with("* ID (\"name\" \"zcs\"") {
        text = "* ID (\"name\" \"zcs\" \"version\" \"<version>\")\n".to_string();
    }
    log.push_str("S: ");
    log.push_str(&text);
}

struct Replay {
    client: Client,
    log: String,
    name: String,
}

impl Replay {
    /// Reads one response, checks its syntax and logs it.
    async fn read(&mut self) -> Vec<u8> {
        let raw = self
            .client
            .read()
            .await
            .unwrap_or_else(|| panic!("{}: connection closed", self.name));
        if std::env::var_os("ZCS_REPLAY_TRACE").is_some() {
            eprint!("S: {}", String::from_utf8_lossy(&raw));
        }
        if let Err(e) = check_response(&raw) {
            panic!("{}: malformed response: {e}", self.name);
        }
        log_response(&mut self.log, &raw);
        raw
    }

    /// Reads until the reply tagged `tag`; checks its status.
    async fn until_tagged(&mut self, tag: &str, want: &str, line: &str) {
        let prefix = format!("{tag} ");
        loop {
            let raw = self.read().await;
            if let Some(rest) = raw.strip_prefix(prefix.as_bytes()) {
                let got = String::from_utf8_lossy(rest);
                assert!(
                    got.starts_with(&format!("{want} ")),
                    "{}: `{line}` answered {got}",
                    self.name
                );
                return;
            }
        }
    }

    /// Reads until an untagged line equal to `want`.
    async fn wait_for(&mut self, want: &str) {
        loop {
            let raw = self.read().await;
            if raw.strip_suffix(b"\r\n") == Some(want.as_bytes()) {
                return;
            }
        }
    }
}

/// Replays one transcript; returns the log to compare with the `.expected` file.
async fn replay(path: &Path) -> String {
    let name = path
        .file_name()
        .expect("file name")
        .to_string_lossy()
        .to_string();
    let text = std::fs::read_to_string(path).expect("read transcript");
    eprintln!("replaying {name}");
    let server = start(test_config()).await;
    let alice = server.backend.alice.clone();
    let (client, greeting) = Client::connect(server.addr).await;
    let mut r = Replay {
        client,
        log: String::new(),
        name: name.clone(),
    };
    log_response(&mut r.log, format!("{greeting}\r\n").as_bytes());
    let lines: Vec<&str> = text.lines().collect();
    let mut idle_tag: Option<String> = None;
    let mut delivered = 0;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (kind, rest) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("{name}: bad line {line:?}"));
        match kind {
            "A" => {
                let words: Vec<&str> = rest.splitn(3, ' ').collect();
                match words.as_slice() {
                    ["folder", folder] => {
                        alice.add_folder(1, folder);
                    }
                    ["deliver", folder, subject] => {
                        delivered += 1;
                        alice.deliver(folder_id(&alice, folder), &message(subject, delivered));
                    }
                    ["flag", folder, rest] => {
                        let (uid, flag) = rest.split_once(' ').expect("flag <uid> <flag>");
                        let mask = match flag {
                            "\\Flagged" => zcs_core::Flags::FLAGGED,
                            "\\Answered" => zcs_core::Flags::ANSWERED,
                            other => panic!("{name}: unknown flag {other}"),
                        };
                        let uid = uid.parse().expect("uid");
                        alice.flag_external(folder_id(&alice, folder), uid, mask, true);
                    }
                    other => panic!("{name}: unknown action {other:?}"),
                }
            }
            "W" => r.wait_for(rest).await,
            "C" | "C-NO" | "C-BAD" => {
                let want = kind.strip_prefix("C-").unwrap_or("OK");
                r.log.push_str(&format!("C: {rest}\n"));
                if rest == "DONE" {
                    let tag = idle_tag.take().expect("DONE outside IDLE");
                    r.client.send("DONE").await;
                    r.until_tagged(&tag, want, "IDLE").await;
                    continue;
                }
                let tag = rest.split(' ').next().expect("tag").to_string();
                let sync = rest.ends_with("{}");
                if sync || rest.ends_with("{+}") {
                    let mut literal = Vec::new();
                    // `L:` alone is an empty line (editors strip trailing spaces).
                    while let Some(l) = lines
                        .get(i)
                        .and_then(|l| l.strip_prefix("L: ").or((*l == "L:").then_some("")))
                    {
                        literal.extend_from_slice(l.as_bytes());
                        literal.extend_from_slice(b"\r\n");
                        r.log.push_str(&format!("L: {l}\n"));
                        i += 1;
                    }
                    let head = rest.trim_end_matches("{}").trim_end_matches("{+}");
                    if sync {
                        r.client.send(&format!("{head}{{{}}}", literal.len())).await;
                        let cont = r.read().await;
                        assert!(cont.starts_with(b"+"), "{name}: no continuation");
                        r.client.send_raw(&literal).await;
                        r.client.send_raw(b"\r\n").await;
                    } else {
                        let mut bytes = format!("{head}{{{}+}}\r\n", literal.len()).into_bytes();
                        bytes.extend_from_slice(&literal);
                        bytes.extend_from_slice(b"\r\n");
                        r.client.send_raw(&bytes).await;
                    }
                    r.until_tagged(&tag, want, rest).await;
                    continue;
                }
                r.client.send(rest).await;
                let verb = rest.split(' ').nth(1).unwrap_or_default();
                if verb.eq_ignore_ascii_case("IDLE") {
                    let cont = r.read().await;
                    assert!(cont.starts_with(b"+ "), "{name}: IDLE not accepted");
                    idle_tag = Some(tag);
                    continue;
                }
                r.until_tagged(&tag, want, rest).await;
            }
            other => panic!("{name}: unknown line kind {other:?}"),
        }
    }
    assert!(idle_tag.is_none(), "{name}: ends inside IDLE");
    let _ = tokio::time::timeout(Duration::from_secs(1), r.client.read()).await;
    r.log
}

fn transcripts() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/imap_replay");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/imap_replay")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn client_transcripts_replay_byte_for_byte() {
    let bless = std::env::var_os("ZCS_REPLAY_BLESS").is_some();
    let paths = transcripts();
    assert!(paths.len() >= 5, "transcripts missing: {paths:?}");
    let mut failures = Vec::new();
    for path in paths {
        let log = replay(&path).await;
        let expected = path.with_extension("expected");
        if bless {
            std::fs::write(&expected, &log).expect("write expected");
            continue;
        }
        match std::fs::read_to_string(&expected) {
            Ok(want) if want == log => {}
            Ok(want) => {
                let at = want
                    .lines()
                    .zip(log.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(want.lines().count().min(log.lines().count()));
                failures.push(format!(
                    "{}: differs at line {}:\n  expected {:?}\n  got      {:?}",
                    path.display(),
                    at + 1,
                    want.lines().nth(at),
                    log.lines().nth(at)
                ));
            }
            Err(e) => failures.push(format!("{}: {e}", expected.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_response_checker_refuses_malformed_responses() {
    assert!(check_response(b"* 1 FETCH (FLAGS (\\Seen))\r\n").is_ok());
    assert!(check_response(b"* 1 FETCH (BODY[] {3}\r\nabc)\r\n").is_ok());
    assert!(check_response(b"* LIST () \"/\" \"a \\\" b\"\r\n").is_ok());
    assert!(check_response(b"a1 OK [READ-WRITE] done\r\n").is_ok());
    assert!(check_response(b"* 1 FETCH (FLAGS (\\Seen)\r\n").is_err());
    assert!(check_response(b"* 1 FETCH (BODY[] {9}\r\nabc)\r\n").is_err());
    assert!(check_response(b"* LIST () \"/\" \"open\r\n").is_err());
    assert!(check_response(b"* FOO bar\r\n").is_err());
    assert!(check_response(b"* 3 WHATEVER\r\n").is_err());
    assert!(check_response(b"* OK no newline").is_err());
}
