//! The queue file codec: one message per file, a small text envelope followed by the
//! message octets exactly as they were queued.
//!
//! Pure functions over bytes; no I/O. [`decode`] never panics on bad input: anything it
//! cannot read is an error and the caller moves the file to the corrupt queue.
//!
//! Layout (every header line is `name: value\n`, values percent-encoded so that they
//! never hold a control character, `%` or a space):
//!
//! ```text
//! ZCSQ 1
//! id: 18C3A2F4B5D0001A
//! arrival: 1764850000123
//! sender: alice@example.com
//! attempts: 2
//! warned: 0
//! client: 192.0.2.1 mx.example.net      (optional)
//! ret: FULL                             (optional, RFC 3461 §4.3)
//! envid: abc                            (optional, RFC 3461 §4.4)
//! rcpt: deferred FAILURE,DELAY - bob@example.org 451%204.3.0%20try%20later
//! size: 1234
//!
//! <size octets of message>
//! ```

use std::fmt::Write as _;

/// Magic first line of every queue file; the digit is the format version.
const MAGIC: &str = "ZCSQ 1";

/// Largest header block accepted, so a damaged file cannot make us scan forever.
const MAX_HEADER: usize = 16 * 1024 * 1024;

/// RFC 3461 §4.3 `RET`: how much of the message a failure DSN returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    /// The whole message.
    Full,
    /// The headers only.
    Hdrs,
}

/// RFC 3461 §4.1 `NOTIFY` for one recipient. `None` in [`Recipient::notify`] means the
/// client gave no `NOTIFY`, which asks for failure (and delay) notices by default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Notify {
    /// `NEVER`: no DSN at all.
    pub never: bool,
    /// `SUCCESS`.
    pub success: bool,
    /// `FAILURE`.
    pub failure: bool,
    /// `DELAY`.
    pub delay: bool,
}

/// Where one recipient stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RcptState {
    /// Not tried yet.
    Pending,
    /// Tried and failed temporarily; carries the last reply or reason.
    Deferred(String),
    /// Delivered; carries the final reply.
    Delivered(String),
    /// Failed for good; carries the reply or reason. A failure DSN has been queued (or
    /// was not wanted) by the time this state is written.
    Bounced(String),
}

impl RcptState {
    /// True for delivered and bounced recipients, which are never tried again.
    pub fn is_final(&self) -> bool {
        matches!(self, RcptState::Delivered(_) | RcptState::Bounced(_))
    }
}

/// One envelope recipient and its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    /// The address (`local@domain`).
    pub address: String,
    /// RFC 3461 §4.1 `NOTIFY`, when given.
    pub notify: Option<Notify>,
    /// RFC 3461 §4.2 `ORCPT`, as given (`rfc822;addr`).
    pub orcpt: Option<String>,
    /// Delivery state.
    pub state: RcptState,
}

impl Recipient {
    /// A pending recipient with no DSN parameters.
    pub fn new(address: impl Into<String>) -> Self {
        Recipient {
            address: address.into(),
            notify: None,
            orcpt: None,
            state: RcptState::Pending,
        }
    }
}

/// The envelope of a queued message: what `MAIL FROM`/`RCPT TO` said plus queue state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse path; `""` is the null sender `<>` (bounces, RFC 5321 §4.5.5).
    pub sender: String,
    /// Recipients in the order given.
    pub recipients: Vec<Recipient>,
    /// RFC 3461 `RET`.
    pub ret: Option<Ret>,
    /// RFC 3461 `ENVID`, as given (xtext already decoded).
    pub envid: Option<String>,
    /// The client that gave us the message (address, HELO name), for local delivery.
    pub client: Option<(String, String)>,
}

impl Envelope {
    /// An envelope with pending recipients and no DSN parameters.
    pub fn new(sender: impl Into<String>, recipients: &[&str]) -> Self {
        Envelope {
            sender: sender.into(),
            recipients: recipients.iter().map(|r| Recipient::new(*r)).collect(),
            ret: None,
            envid: None,
            client: None,
        }
    }
}

/// A whole queue file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueFile {
    /// The queue id (also the file name).
    pub id: String,
    /// Arrival time, milliseconds since the Unix epoch.
    pub arrival: i64,
    /// Delivery attempts made so far.
    pub attempts: u32,
    /// Whether the delay warning DSN has been sent.
    pub warned: bool,
    /// The envelope.
    pub envelope: Envelope,
    /// The message octets.
    pub message: Vec<u8>,
}

/// Why a queue file could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("corrupt queue file: {0}")]
pub struct DecodeError(pub String);

fn bad(what: impl Into<String>) -> DecodeError {
    DecodeError(what.into())
}

/// Percent-encodes every octet that is a control character, a space, `%` or DEL.
pub(crate) fn esc(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_ascii_control() || c == ' ' || c == '%' {
            let _ = write!(out, "%{:02X}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// Reverses [`esc`]; fails on a malformed escape or invalid UTF-8.
pub(crate) fn unesc(value: &str) -> Result<String, DecodeError> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value.get(i + 1..i + 3).ok_or_else(|| bad("short escape"))?;
            let byte = u8::from_str_radix(hex, 16).map_err(|_| bad("bad escape"))?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad("escaped value is not UTF-8"))
}

/// One space-free field: `-` for an absent value, `=` for an empty one, else the escaped
/// value (a value that is itself `-` or `=` has its octet escaped).
fn opt_field(value: Option<&str>) -> String {
    match value {
        None => "-".into(),
        Some("") => "=".into(),
        Some(v) if v == "-" || v == "=" => format!("%{:02X}", v.as_bytes()[0]),
        Some(v) => esc(v),
    }
}

fn parse_opt_field(field: &str) -> Result<Option<String>, DecodeError> {
    match field {
        "-" => Ok(None),
        "=" => Ok(Some(String::new())),
        other => unesc(other).map(Some),
    }
}

fn notify_field(notify: Option<Notify>) -> String {
    let Some(n) = notify else {
        return "-".into();
    };
    let mut parts = Vec::new();
    for (on, name) in [
        (n.never, "NEVER"),
        (n.success, "SUCCESS"),
        (n.failure, "FAILURE"),
        (n.delay, "DELAY"),
    ] {
        if on {
            parts.push(name);
        }
    }
    if parts.is_empty() {
        "=".into()
    } else {
        parts.join(",")
    }
}

/// Parses a `NOTIFY` list (`SUCCESS,FAILURE`, any case); `None` if a keyword is unknown.
pub fn parse_notify(value: &str) -> Option<Notify> {
    let mut n = Notify::default();
    for word in value.split(',') {
        match word.to_ascii_uppercase().as_str() {
            "NEVER" => n.never = true,
            "SUCCESS" => n.success = true,
            "FAILURE" => n.failure = true,
            "DELAY" => n.delay = true,
            _ => return None,
        }
    }
    Some(n)
}

fn parse_notify_field(field: &str) -> Result<Option<Notify>, DecodeError> {
    match field {
        "-" => Ok(None),
        "=" => Ok(Some(Notify::default())),
        other => parse_notify(other)
            .map(Some)
            .ok_or_else(|| bad("bad notify")),
    }
}

/// Serialises a queue file. Costs one copy of the message.
pub fn encode(file: &QueueFile) -> Vec<u8> {
    let env = &file.envelope;
    let mut head = String::new();
    let _ = writeln!(head, "{MAGIC}");
    let _ = writeln!(head, "id: {}", esc(&file.id));
    let _ = writeln!(head, "arrival: {}", file.arrival);
    let _ = writeln!(head, "sender: {}", opt_field(Some(&env.sender)));
    let _ = writeln!(head, "attempts: {}", file.attempts);
    let _ = writeln!(head, "warned: {}", u8::from(file.warned));
    if let Some((ip, helo)) = &env.client {
        let _ = writeln!(
            head,
            "client: {} {}",
            opt_field(Some(ip)),
            opt_field(Some(helo))
        );
    }
    if let Some(ret) = env.ret {
        let _ = writeln!(
            head,
            "ret: {}",
            if ret == Ret::Full { "FULL" } else { "HDRS" }
        );
    }
    if let Some(envid) = &env.envid {
        let _ = writeln!(head, "envid: {}", opt_field(Some(envid)));
    }
    for r in &env.recipients {
        let (state, reason) = match &r.state {
            RcptState::Pending => ("pending", None),
            RcptState::Deferred(s) => ("deferred", Some(s.as_str())),
            RcptState::Delivered(s) => ("delivered", Some(s.as_str())),
            RcptState::Bounced(s) => ("bounced", Some(s.as_str())),
        };
        let _ = writeln!(
            head,
            "rcpt: {state} {} {} {} {}",
            notify_field(r.notify),
            opt_field(r.orcpt.as_deref()),
            opt_field(Some(&r.address)),
            opt_field(reason),
        );
    }
    let _ = writeln!(head, "size: {}", file.message.len());
    head.push('\n');

    let mut out = head.into_bytes();
    out.extend_from_slice(&file.message);
    out
}

/// Splits the header block from the message: returns the header text and the offset of
/// the message octets.
fn split_header(bytes: &[u8]) -> Result<(&str, usize), DecodeError> {
    let limit = bytes.len().min(MAX_HEADER);
    let end = bytes[..limit]
        .windows(2)
        .position(|w| w == b"\n\n")
        .ok_or_else(|| bad("no end of header"))?;
    let head = std::str::from_utf8(&bytes[..end]).map_err(|_| bad("header is not UTF-8"))?;
    Ok((head, end + 2))
}

/// Reads only what a listing needs (id, arrival, sender, recipients with their states,
/// message size) — the same as [`decode`] today, kept as its own entry point so listing
/// can later skip the body.
pub fn decode_envelope(bytes: &[u8]) -> Result<QueueFile, DecodeError> {
    decode(bytes)
}

/// Parses a queue file. Errors on anything unexpected: unknown magic or header, a
/// missing required header, a size that does not match.
pub fn decode(bytes: &[u8]) -> Result<QueueFile, DecodeError> {
    let (head, body_at) = split_header(bytes)?;
    let mut lines = head.split('\n');
    if lines.next() != Some(MAGIC) {
        return Err(bad("bad magic"));
    }

    let mut id = None;
    let mut arrival = None;
    let mut sender = None;
    let mut attempts = 0;
    let mut warned = false;
    let mut size = None;
    let mut envelope = Envelope::new("", &[]);
    for line in lines {
        let (name, value) = line
            .split_once(": ")
            .ok_or_else(|| bad("bad header line"))?;
        match name {
            "id" => id = Some(unesc(value)?),
            "arrival" => arrival = Some(value.parse::<i64>().map_err(|_| bad("bad arrival"))?),
            "sender" => sender = parse_opt_field(value)?,
            "attempts" => attempts = value.parse().map_err(|_| bad("bad attempts"))?,
            "warned" => warned = value == "1",
            "client" => {
                let (ip, helo) = value.split_once(' ').ok_or_else(|| bad("bad client"))?;
                let ip = parse_opt_field(ip)?.unwrap_or_default();
                let helo = parse_opt_field(helo)?.unwrap_or_default();
                envelope.client = Some((ip, helo));
            }
            "ret" => {
                envelope.ret = Some(match value {
                    "FULL" => Ret::Full,
                    "HDRS" => Ret::Hdrs,
                    _ => return Err(bad("bad ret")),
                })
            }
            "envid" => envelope.envid = parse_opt_field(value)?,
            "rcpt" => envelope.recipients.push(parse_rcpt(value)?),
            "size" => size = Some(value.parse::<usize>().map_err(|_| bad("bad size"))?),
            _ => return Err(bad(format!("unknown header {name:?}"))),
        }
    }

    let message = &bytes[body_at..];
    if size != Some(message.len()) {
        return Err(bad("size does not match (truncated file?)"));
    }
    envelope.sender = sender.ok_or_else(|| bad("no sender"))?;
    Ok(QueueFile {
        id: id.ok_or_else(|| bad("no id"))?,
        arrival: arrival.ok_or_else(|| bad("no arrival"))?,
        attempts,
        warned,
        envelope,
        message: message.to_vec(),
    })
}

fn parse_rcpt(value: &str) -> Result<Recipient, DecodeError> {
    let fields: Vec<&str> = value.split(' ').collect();
    let [state, notify, orcpt, address, reason] = fields[..] else {
        return Err(bad("bad rcpt line"));
    };
    let reason = parse_opt_field(reason)?;
    let with_reason = |f: fn(String) -> RcptState| {
        reason
            .clone()
            .map(f)
            .ok_or_else(|| bad("rcpt state without reason"))
    };
    let state = match state {
        "pending" => RcptState::Pending,
        "deferred" => with_reason(RcptState::Deferred)?,
        "delivered" => with_reason(RcptState::Delivered)?,
        "bounced" => with_reason(RcptState::Bounced)?,
        _ => return Err(bad("bad rcpt state")),
    };
    Ok(Recipient {
        address: parse_opt_field(address)?.ok_or_else(|| bad("rcpt without address"))?,
        notify: parse_notify_field(notify)?,
        orcpt: parse_opt_field(orcpt)?,
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> QueueFile {
        let mut envelope = Envelope::new("alice@example.com", &["bob@example.org", "c@d.e"]);
        envelope.recipients[0].state = RcptState::Deferred("451 4.3.0 try later".into());
        envelope.recipients[0].notify = parse_notify("FAILURE,DELAY");
        envelope.recipients[1].orcpt = Some("rfc822;c@d.e".into());
        envelope.ret = Some(Ret::Hdrs);
        envelope.envid = Some("QQ 1".into());
        envelope.client = Some(("192.0.2.1".into(), "mx.example.net".into()));
        QueueFile {
            id: "18C3A2F4B5D0001A".into(),
            arrival: 1_764_850_000,
            attempts: 2,
            warned: true,
            envelope,
            message: b"Subject: hi\r\n\r\nbody\n\nmore\r\n".to_vec(),
        }
    }

    #[test]
    fn round_trip() {
        let file = sample();
        assert_eq!(decode(&encode(&file)).unwrap(), file);
    }

    #[test]
    fn null_sender_and_empty_values_survive() {
        let mut file = sample();
        file.envelope.sender = String::new();
        file.envelope.envid = Some("-".into());
        file.envelope.recipients[1].state = RcptState::Bounced(String::new());
        file.message.clear();
        assert_eq!(decode(&encode(&file)).unwrap(), file);
    }

    #[test]
    fn truncated_files_are_errors() {
        let bytes = encode(&sample());
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    fn arb_text() -> impl Strategy<Value = String> {
        proptest::string::string_regex("(?s).{0,20}").unwrap()
    }

    fn arb_state() -> impl Strategy<Value = RcptState> {
        prop_oneof![
            Just(RcptState::Pending),
            arb_text().prop_map(RcptState::Deferred),
            arb_text().prop_map(RcptState::Delivered),
            arb_text().prop_map(RcptState::Bounced),
        ]
    }

    fn arb_notify() -> impl Strategy<Value = Option<Notify>> {
        proptest::option::of(
            (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
                |(never, success, failure, delay)| Notify {
                    never,
                    success,
                    failure,
                    delay,
                },
            ),
        )
    }

    fn arb_file() -> impl Strategy<Value = QueueFile> {
        let rcpt = (
            arb_text(),
            arb_notify(),
            proptest::option::of(arb_text()),
            arb_state(),
        )
            .prop_map(|(address, notify, orcpt, state)| Recipient {
                address,
                notify,
                orcpt,
                state,
            });
        (
            "[0-9A-F]{1,16}",
            any::<i64>(),
            any::<u32>(),
            any::<bool>(),
            arb_text(),
            proptest::collection::vec(rcpt, 0..4),
            proptest::option::of(prop_oneof![Just(Ret::Full), Just(Ret::Hdrs)]),
            proptest::option::of(arb_text()),
            proptest::option::of((arb_text(), arb_text())),
            proptest::collection::vec(any::<u8>(), 0..200),
        )
            .prop_map(
                |(
                    id,
                    arrival,
                    attempts,
                    warned,
                    sender,
                    recipients,
                    ret,
                    envid,
                    client,
                    message,
                )| {
                    QueueFile {
                        id,
                        arrival,
                        attempts,
                        warned,
                        envelope: Envelope {
                            sender,
                            recipients,
                            ret,
                            envid,
                            client,
                        },
                        message,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn prop_round_trip(file in arb_file()) {
            prop_assert_eq!(decode(&encode(&file)).unwrap(), file);
        }

        #[test]
        fn prop_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn prop_mutated_file_never_panics(
            file in arb_file(),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        ) {
            let mut bytes = encode(&file);
            for (at, byte) in flips {
                if !bytes.is_empty() {
                    let n = bytes.len();
                    bytes[at % n] = byte;
                }
            }
            let _ = decode(&bytes);
        }
    }
}
