//! Notifications from Sieve (`notify`, RFC 5435) by mail (the `mailto` method, RFC 5436),
//! and Zimbra's own older `notify "address" "subject" "body" [size] [headers]` action
//! (the `actionNotify` filter rule).
//!
//! Both forms are rewritten before compiling (see `zimbra::rewrite_zimbra_commands`) so
//! that sieve-rs evaluates their arguments and hands them over as an `Event::Notify`:
//! - the RFC form keeps its tags, and its method gets the [`MAILTO_PREFIX`] in front
//!   (sieve-rs would otherwise build the message itself, with the URI's subject ahead of
//!   `:message` and no limit per message);
//! - Zimbra's form becomes `notify :options [hex strings] "tel:zcs-zimbra-notify"`, hex
//!   so that sieve-rs leaves its `${...}` templates alone (Zimbra fills them from the
//!   triggering message's header fields, `${SUBJECT}` and `${BODY}`).
//!
//! The notification built here:
//! - `From` is the recipient (the script owner), or `:from` when it names the owner's
//!   address (RFC 5436 §2.3 lets an implementation restrict `:from`; anything else
//!   would let a script send as someone else);
//! - `Subject` is `:message`, else the URI's `subject`, else the triggering message's
//!   subject (RFC 5436 §2.7), one line, at most [`MAX_SUBJECT_CHARS`] characters,
//!   RFC 2047-encoded when not ASCII;
//! - `Auto-Submitted: auto-notified` (RFC 5436 §2.7, RFC 3834 §5), and the URI's own
//!   `From`, `Subject`, `Auto-Submitted` and every other header field are ignored
//!   (RFC 6068 §6: header fields from a URI are not to be trusted);
//! - envelope recipients are the URI's `to`, `cc` and `bcc` addresses (at most
//!   [`MAX_RECIPIENTS`]); `Bcc` never appears in the header.
//!
//! The caller sends it from the null sender, as vacation replies (RFC 3834 §3.3), so a
//! notification that cannot be delivered never bounces back into another notification.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use mail_parser::MessageParser;

/// Prefix put in front of an RFC `notify` method by the rewrite; the URI follows it.
pub(crate) const MAILTO_PREFIX: &str = "tel:zcs-notify,";
/// The method of a rewritten Zimbra `notify "address" "subject" "body"`.
pub(crate) const ZIMBRA_METHOD: &str = "tel:zcs-zimbra-notify";
/// Notifications one message may cause for one recipient (RFC 5436 §2.7 asks for a
/// limit); further `notify` actions are dropped and logged.
pub const MAX_NOTIFICATIONS: usize = 5;
/// Envelope recipients of one notification; further addresses are dropped.
pub const MAX_RECIPIENTS: usize = 8;
/// Longest subject kept, in characters.
pub const MAX_SUBJECT_CHARS: usize = 256;
/// Longest body kept, in octets.
const MAX_BODY: usize = 64 * 1024;

/// A notification to queue: its envelope recipients and the complete message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Notification {
    /// Envelope recipients.
    pub to: Vec<String>,
    /// The RFC 5322 message.
    pub message: Vec<u8>,
}

/// The script owner, as the notification's sender.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Owner<'a> {
    /// Primary address.
    pub address: &'a str,
    /// Display name (may be empty).
    pub name: &'a str,
}

/// What a notification may quote from the triggering message.
pub(crate) struct Original {
    /// Decoded subject.
    subject: String,
    /// Header fields: lower-case name and unfolded value, in order.
    headers: Vec<(String, String)>,
    /// The first text body part, decoded.
    body: String,
}

impl Original {
    /// Parses `message` (raw octets); a message that does not parse gives empty fields.
    pub(crate) fn parse(message: &[u8]) -> Self {
        let parsed = MessageParser::default().parse(message);
        let subject = parsed
            .as_ref()
            .and_then(|m| m.subject())
            .unwrap_or("")
            .to_string();
        let body = parsed
            .as_ref()
            .and_then(|m| m.body_text(0))
            .map(|b| b.into_owned())
            .unwrap_or_default();
        Original {
            subject,
            headers: raw_headers(message),
            body,
        }
    }

    /// The triggering message's subject.
    pub(crate) fn subject(&self) -> &str {
        &self.subject
    }

    /// The first value of header `name` (case-insensitive), unfolded.
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The header fields of `message`: lower-case names and unfolded, trimmed values
/// (RFC 5322 §2.2.3). Stops at the first empty line; lines without a colon are skipped.
fn raw_headers(message: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(message);
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = out.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    out
}

/// True when `message` carries `Auto-Submitted` with a value other than `no`: no
/// notification is sent about it (RFC 5436 §2.7, RFC 3834 §5).
pub(crate) fn is_auto_submitted(message: &[u8]) -> bool {
    raw_headers(message).iter().any(|(n, v)| {
        n == "auto-submitted"
            && !v
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("no")
    })
}

/// A parsed `mailto:` URI (RFC 6068 §2).
#[derive(Debug, Default, PartialEq, Eq)]
struct Mailto {
    to: Vec<String>,
    cc: Vec<String>,
    bcc: Vec<String>,
    subject: Option<String>,
    body: Option<String>,
}

/// Percent-decodes `s` (RFC 3986 §2.1); `None` on a bad escape or invalid UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A bare addr-spec without spaces, controls, brackets or commas; `None` otherwise.
fn plain_address(a: &str) -> Option<String> {
    let a = a.trim();
    let (local, domain) = a.rsplit_once('@')?;
    let bad = |c: char| c.is_control() || c.is_whitespace() || "<>,;\"()[]\\".contains(c);
    if local.is_empty() || domain.is_empty() || a.chars().any(bad) || local.contains('@') {
        return None;
    }
    Some(a.to_string())
}

/// Splits a decoded address list on commas and keeps the valid addresses.
fn addresses(list: &str) -> Vec<String> {
    list.split(',').filter_map(plain_address).collect()
}

/// Parses `uri` (`mailto:` and the rest); `None` when it is not a mailto URI or has a
/// bad escape. Unknown header fields are ignored.
fn parse_mailto(uri: &str) -> Option<Mailto> {
    let (scheme, rest) = uri.split_once(':')?;
    if !scheme.eq_ignore_ascii_case("mailto") {
        return None;
    }
    let (to, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut m = Mailto {
        to: addresses(&percent_decode(to)?),
        ..Mailto::default()
    };
    for field in query.split('&').filter(|f| !f.is_empty()) {
        let (name, value) = field.split_once('=').unwrap_or((field, ""));
        let value = percent_decode(value)?;
        match percent_decode(name)?.to_ascii_lowercase().as_str() {
            "to" => m.to.extend(addresses(&value)),
            "cc" => m.cc.extend(addresses(&value)),
            "bcc" => m.bcc.extend(addresses(&value)),
            "subject" => m.subject = Some(value),
            "body" => m.body = Some(value),
            _ => {}
        }
    }
    Some(m)
}

/// `text` on one line (CR, LF and other controls become spaces), at most `max` chars.
fn one_line(text: &str, max: usize) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect::<String>()
        .trim()
        .to_string()
}

/// `text` as a header value: ASCII as is, else RFC 2047 §4.1 `B` encoded words of at
/// most 45 octets of UTF-8 each, folded.
fn header_text(text: &str) -> String {
    if text.is_ascii() {
        return text.to_string();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(chunk);
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    words
        .iter()
        .map(|w| format!("=?utf-8?B?{}?=", b64.encode(w.as_bytes())))
        .collect::<Vec<_>>()
        .join("\r\n ")
}

/// The owner as a `From` value: `"Name" <address>` or `<address>`.
fn owner_from(owner: Owner<'_>) -> String {
    let name = one_line(owner.name, 128);
    if name.is_empty() || name.eq_ignore_ascii_case(owner.address) {
        return format!("<{}>", owner.address);
    }
    if name.is_ascii() {
        let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"{quoted}\" <{}>", owner.address)
    } else {
        format!("{} <{}>", header_text(&name), owner.address)
    }
}

/// A unique `Message-ID` in the owner's domain.
fn message_id(owner: Owner<'_>) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let domain = owner
        .address
        .rsplit_once('@')
        .map_or("localhost", |(_, d)| d);
    format!("<notify.{now:x}.{n}.{}@{domain}>", std::process::id())
}

/// The parts of one notification message.
struct Parts<'a> {
    from: String,
    to: &'a [String],
    cc: &'a [String],
    subject: Option<String>,
    /// `:importance` (RFC 5435 §3): "1" high, "3" low.
    importance: Option<&'a str>,
    /// Header fields copied from the triggering message (Zimbra's `origHeaders`).
    copied: Vec<(String, String)>,
    body: String,
}

/// Builds the message; the body is base64 when it is not ASCII.
fn build(owner: Owner<'_>, p: Parts<'_>) -> Vec<u8> {
    let mut m = String::new();
    let mut field = |name: &str, value: &str| {
        m.push_str(name);
        m.push_str(": ");
        m.push_str(value);
        m.push_str("\r\n");
    };
    field("From", &p.from);
    let list = |a: &[String]| a.iter().map(|x| format!("<{x}>")).collect::<Vec<_>>();
    if !p.to.is_empty() {
        field("To", &list(p.to).join(",\r\n "));
    }
    if !p.cc.is_empty() {
        field("Cc", &list(p.cc).join(",\r\n "));
    }
    if let Some(s) = &p.subject {
        field("Subject", &header_text(&one_line(s, MAX_SUBJECT_CHARS)));
    }
    field("Date", &chrono::Utc::now().to_rfc2822());
    field("Message-ID", &message_id(owner));
    for (name, value) in &p.copied {
        field(name, &one_line(value, 998));
    }
    match p.importance.map(str::trim) {
        Some("1") => {
            field("Importance", "High");
            field("X-Priority", "1 (Highest)");
        }
        Some("3") => {
            field("Importance", "Low");
            field("X-Priority", "5 (Lowest)");
        }
        _ => {}
    }
    field("Auto-Submitted", "auto-notified");
    field("MIME-Version", "1.0");
    field("Content-Type", "text/plain; charset=utf-8");
    let mut body = p.body;
    if body.len() > MAX_BODY {
        let mut cut = MAX_BODY;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
    }
    let body = body.replace("\r\n", "\n").replace('\n', "\r\n");
    if body.is_ascii() {
        field("Content-Transfer-Encoding", "7bit");
        m.push_str("\r\n");
        m.push_str(&body);
    } else {
        field("Content-Transfer-Encoding", "base64");
        m.push_str("\r\n");
        let encoded = base64::engine::general_purpose::STANDARD.encode(body.as_bytes());
        for line in encoded.as_bytes().chunks(76) {
            m.push_str(&String::from_utf8_lossy(line));
            m.push_str("\r\n");
        }
    }
    if !m.ends_with("\r\n") {
        m.push_str("\r\n");
    }
    m.into_bytes()
}

/// The `From` of an RFC notification: `:from` when it names the owner's address.
fn rfc_from(from: Option<&str>, owner: Owner<'_>) -> String {
    match from.map(|f| one_line(f, 256)) {
        Some(f)
            if f.to_ascii_lowercase()
                .contains(&owner.address.to_ascii_lowercase()) =>
        {
            f
        }
        _ => owner_from(owner),
    }
}

/// The notification of an RFC 5435 `notify` with a `mailto:` method (`uri`, without
/// [`MAILTO_PREFIX`]). `message` is what sieve-rs passes: `:message`, or the
/// triggering message's subject when the tag was absent. `None` when the URI is not a
/// mailto URI or names no valid recipient.
pub(crate) fn mailto(
    uri: &str,
    from: Option<&str>,
    importance: Option<&str>,
    message: &str,
    owner: Owner<'_>,
    original: &Original,
) -> Option<Notification> {
    let m = parse_mailto(uri)?;
    // sieve-rs gives the triggering subject when `:message` was absent.
    let explicit = (!message.is_empty() && message != original.subject()).then_some(message);
    // RFC 5436 §2.7: `:message`, else the URI's subject, else the triggering subject.
    let subject = explicit
        .map(str::to_string)
        .or_else(|| m.subject.clone())
        .unwrap_or_else(|| original.subject().to_string());
    let body = m.body.clone().unwrap_or_else(|| {
        let sender = original.header("from").unwrap_or("");
        let mut b = String::new();
        if let Some(text) = explicit {
            b.push_str(text);
            b.push_str("\n\n");
        }
        b.push_str(&format!(
            "From: {}\nSubject: {}\n",
            one_line(sender, 256),
            one_line(original.subject(), MAX_SUBJECT_CHARS)
        ));
        b
    });
    let mut to: Vec<String> = Vec::new();
    for a in m.to.iter().chain(&m.cc).chain(&m.bcc) {
        if !to.iter().any(|t| t.eq_ignore_ascii_case(a)) {
            to.push(a.clone());
        }
    }
    if to.len() > MAX_RECIPIENTS {
        tracing::info!(
            dropped = to.len() - MAX_RECIPIENTS,
            "notify: too many recipients"
        );
        to.truncate(MAX_RECIPIENTS);
    }
    if to.is_empty() {
        return None;
    }
    let header_to: Vec<String> = m.to.iter().filter(|a| to.contains(a)).cloned().collect();
    let header_cc: Vec<String> = m.cc.iter().filter(|a| to.contains(a)).cloned().collect();
    let message = build(
        owner,
        Parts {
            from: rfc_from(from, owner),
            to: &header_to,
            cc: &header_cc,
            subject: Some(subject),
            importance,
            copied: Vec::new(),
            body,
        },
    );
    Some(Notification { to, message })
}

/// Hex of `s`'s UTF-8 octets (how the rewrite carries Zimbra's arguments).
pub(crate) fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Reverses [`hex`]; `None` on a bad digit or invalid UTF-8.
fn unhex(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

/// Fills Zimbra's `${name}` placeholders: a header field of the triggering message
/// (case-insensitive), `${SUBJECT}` (decoded) or `${BODY}` (its text); unknown names
/// give "".
fn fill_template(template: &str, original: &Original) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let name = after[..end].trim().to_ascii_lowercase();
                match name.as_str() {
                    "subject" => out.push_str(original.subject()),
                    "body" => out.push_str(&original.body),
                    _ => out.push_str(original.header(&name).unwrap_or("")),
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Header fields Zimbra's `origHeaders` never copies: those the notification sets.
const NOT_COPIED: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
    "auto-submitted",
    "received",
    "return-path",
    "dkim-signature",
    "importance",
    "x-priority",
];

/// The notification of Zimbra's `notify "address" "subject" "body" [maxBodySize]
/// [origHeaders]`, from the rewritten `:options` (hex strings: address, subject,
/// body, the size as decimal or -1, then header names). The subject and body are
/// templates; the body is cut to `maxBodySize` octets when that is 0 or more; the named
/// header fields (`*` for all) are copied from the triggering message, the subject
/// only when the rule gives none.
pub(crate) fn zimbra(
    options: &[String],
    owner: Owner<'_>,
    original: &Original,
) -> Option<Notification> {
    let address = unhex(options.first()?)?;
    let subject_tpl = options.get(1).and_then(|s| unhex(s)).unwrap_or_default();
    let body_tpl = options.get(2).and_then(|s| unhex(s)).unwrap_or_default();
    let max_body: i64 = options
        .get(3)
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(-1);
    let wanted: Vec<String> = options
        .iter()
        .skip(4)
        .filter_map(|h| unhex(h))
        .flat_map(|h| {
            h.split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .filter(|h| !h.is_empty())
        .collect();
    let mut to = addresses(&address);
    to.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    to.truncate(MAX_RECIPIENTS);
    if to.is_empty() {
        return None;
    }
    let all = wanted.iter().any(|h| h == "*");
    let mut copied: Vec<(String, String)> = Vec::new();
    let mut subject = (!subject_tpl.is_empty()).then(|| fill_template(&subject_tpl, original));
    for (name, value) in &original.headers {
        if !(all || wanted.contains(name)) {
            continue;
        }
        if name == "subject" {
            subject.get_or_insert_with(|| original.subject().to_string());
        } else if !NOT_COPIED.contains(&name.as_str())
            && name.chars().all(|c| c.is_ascii_graphic() && c != ':')
        {
            copied.push((name.clone(), value.clone()));
        }
    }
    let mut body = fill_template(&body_tpl, original);
    if let Ok(max) = usize::try_from(max_body)
        && body.len() > max
    {
        let mut cut = max;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
    }
    let message = build(
        owner,
        Parts {
            from: owner_from(owner),
            to: &to,
            cc: &[],
            subject,
            importance: None,
            copied,
            body,
        },
    );
    Some(Notification { to, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailto_uris() {
        let m = parse_mailto("mailto:a@x.test,b@x.test?cc=c@x.test&subject=Hi%20there&body=B")
            .expect("parses");
        assert_eq!(m.to, ["a@x.test", "b@x.test"]);
        assert_eq!(m.cc, ["c@x.test"]);
        assert_eq!(m.subject.as_deref(), Some("Hi there"));
        assert_eq!(m.body.as_deref(), Some("B"));
        assert_eq!(parse_mailto("xmpp:a@x.test"), None);
        assert_eq!(parse_mailto("mailto:a@x.test?body=%zz"), None);
        let m = parse_mailto("mailto:%3Cevil%3E@x.test,ok@x.test%0D%0ABcc:%20y@x.test")
            .expect("parses");
        assert!(m.to.is_empty(), "{m:?}");
    }

    #[test]
    fn auto_submitted() {
        assert!(is_auto_submitted(b"Auto-Submitted: auto-replied\r\n\r\nx"));
        assert!(is_auto_submitted(
            b"auto-submitted:\r\n auto-notified\r\n\r\n"
        ));
        assert!(!is_auto_submitted(b"Auto-Submitted: no\r\n\r\nx"));
        assert!(!is_auto_submitted(
            b"Subject: x\r\n\r\nAuto-Submitted: yes\r\n"
        ));
    }

    #[test]
    fn templates_and_hex() {
        let o = Original::parse(b"From: a@x.test\r\nSubject: Hello\r\nX-Id: 7\r\n\r\nBody\r\n");
        assert_eq!(
            fill_template("${SUBJECT} from ${from} ${x-id} ${none} ${", &o),
            "Hello from a@x.test 7  ${"
        );
        assert_eq!(unhex(&hex("é${x}")).as_deref(), Some("é${x}"));
        assert_eq!(unhex("zz"), None);
    }

    #[test]
    fn header_text_encodes_non_ascii() {
        assert_eq!(header_text("plain"), "plain");
        let enc = header_text("caf\u{e9}");
        assert!(enc.starts_with("=?utf-8?B?"), "{enc}");
        assert_eq!(one_line("a\r\nBcc: x", 100), "a  Bcc: x");
    }

    proptest::proptest! {
        #[test]
        fn mailto_never_panics(uri in "mailto:[a-z@.,?=&%0-9A-F ]{0,60}") {
            let o = Original::parse(b"Subject: s\r\n\r\n");
            let owner = Owner { address: "u@x.test", name: "U" };
            let _ = mailto(&uri, None, None, "", owner, &o);
        }

        #[test]
        fn zimbra_never_panics(opts in proptest::collection::vec("[0-9a-f-]{0,12}", 0..6)) {
            let o = Original::parse(b"Subject: s\r\n\r\n");
            let owner = Owner { address: "u@x.test", name: "U" };
            let _ = zimbra(&opts, owner, &o);
        }
    }
}
