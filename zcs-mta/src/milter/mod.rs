//! Milter client: hands each message received over SMTP to external milters
//! (`zimbraMtaSmtpdMilters`, Postfix's `smtpd_milters`) with the Sendmail milter
//! protocol version 6, and applies what they answer: accept, reject, tempfail, discard,
//! quarantine, header additions and changes, recipient additions and deletions, a new
//! envelope sender and a replaced body.
//!
//! The wire format is in [`codec`], one conversation in `client`, how the milters'
//! answers combine step by step in `transaction`, the rewriting of the message in
//! `apply`. Settings come from `zcs-server`: the milter list, the
//! `zimbraMtaMilterConnectTimeout` / `CommandTimeout` / `ContentTimeout` timeouts and
//! `zimbraMtaMilterDefaultAction` (what happens when a milter cannot be reached, times
//! out or talks nonsense; Postfix's `milter_default_action`, default `tempfail`).
//!
//! The SMTP session opens the conversations at `MAIL` and answers a milter's refusal of
//! `MAIL` or of one `RCPT` to that command; the content is judged at the end of data.
//! Milters listen on `inet:host:port` or on a Unix-domain socket (`unix:/path`).
//!
//! LIMITATION: the conversations live for one transaction (opened at `MAIL`, closed at
//! its end), not for the whole SMTP session as in Postfix, so a milter's refusal of the
//! connection or of HELO is answered at `MAIL`.

mod apply;
mod client;
pub mod codec;
mod transaction;

use std::time::Duration;

pub use apply::{MessageEdit, apply_edits};
pub use client::{MilterContext, MilterOutcome};
pub use transaction::{MilterRefusal, MilterTransaction, run_milters};

/// One milter to ask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MilterAddress {
    /// `host:port` (IPv6 in brackets) to connect to, or `unix:/path` for a Unix-domain
    /// socket.
    pub addr: String,
}

/// What to do when a milter cannot be asked (`zimbraMtaMilterDefaultAction`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DefaultAction {
    /// Go on as if the milter had said continue.
    Accept,
    /// `550 5.7.1`.
    Reject,
    /// `451 4.7.1` (Postfix's default).
    #[default]
    TempFail,
    /// Accept, and hold the message (the queue's `hold`).
    Quarantine,
}

impl DefaultAction {
    /// Parses a `zimbraMtaMilterDefaultAction` value; `None` for anything unknown.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "accept" => Some(DefaultAction::Accept),
            "reject" => Some(DefaultAction::Reject),
            "tempfail" => Some(DefaultAction::TempFail),
            "quarantine" => Some(DefaultAction::Quarantine),
            _ => None,
        }
    }
}

/// The milters of one listener and how to talk to them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MilterSettings {
    /// Milters in order; each sees the message as the previous one left it.
    pub milters: Vec<MilterAddress>,
    /// Time to connect and negotiate (`zimbraMtaMilterConnectTimeout`, default 30 s).
    pub connect_timeout: Duration,
    /// Time for each reply before the end of body (`zimbraMtaMilterCommandTimeout`,
    /// default 30 s).
    pub command_timeout: Duration,
    /// Time for the end-of-body reply, restarted by each progress packet
    /// (`zimbraMtaMilterContentTimeout`, default 300 s).
    pub content_timeout: Duration,
    /// What a failure means.
    pub default_action: DefaultAction,
}

impl Default for MilterSettings {
    fn default() -> Self {
        MilterSettings {
            milters: Vec::new(),
            connect_timeout: Duration::from_secs(30),
            command_timeout: Duration::from_secs(30),
            content_timeout: Duration::from_secs(300),
            default_action: DefaultAction::TempFail,
        }
    }
}

/// Parses a Postfix milter list (`smtpd_milters`): entries separated by commas and/or
/// white space, each `inet:host:port`, `host:port`, or `unix:/path` (`local:/path`) for
/// a Unix-domain socket. Entries of other kinds, without a port or with a relative
/// socket path (Postfix takes those inside its queue directory, which zcs has not) are
/// returned in the error list.
pub fn parse_milter_list(value: &str) -> (Vec<MilterAddress>, Vec<String>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for item in value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        // Postfix allows `{inet:host:port, connect_timeout=...}`; we take the address.
        let item = item.trim_start_matches('{').trim_end_matches('}');
        let socket = item
            .strip_prefix("unix:")
            .or_else(|| item.strip_prefix("local:"));
        if let Some(path) = socket {
            if path.starts_with('/') && path.len() > 1 {
                ok.push(MilterAddress {
                    addr: format!("unix:{path}"),
                });
            } else {
                bad.push(item.to_string());
            }
            continue;
        }
        let rest = item.strip_prefix("inet:").unwrap_or(item);
        let port_ok = rest
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
        if port_ok && !rest.contains('/') {
            // IPv6 goes in brackets: `inet:[::1]:8891`.
            ok.push(MilterAddress {
                addr: rest.to_string(),
            });
        } else {
            bad.push(item.to_string());
        }
    }
    (ok, bad)
}

/// Parses a Zimbra time value (`30s`, `5m`, `1h`, `250ms`, a bare number of seconds).
pub fn parse_duration(value: &str) -> Option<Duration> {
    let v = value.trim().to_ascii_lowercase();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: u64 = num.parse().ok()?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => return Some(Duration::from_millis(n)),
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86400)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milter_list() {
        let addr = |a: &str| MilterAddress { addr: a.into() };
        let (ok, bad) = parse_milter_list(
            "inet:127.0.0.1:8891, 127.0.0.1:8892 unix:/x.sock local:/run/m.sock h unix:rel",
        );
        assert_eq!(
            ok,
            vec![
                addr("127.0.0.1:8891"),
                addr("127.0.0.1:8892"),
                addr("unix:/x.sock"),
                addr("unix:/run/m.sock"),
            ]
        );
        assert_eq!(bad, vec!["h".to_string(), "unix:rel".to_string()]);
        assert_eq!(parse_milter_list("").0, vec![]);
        assert_eq!(
            parse_milter_list("{inet:[::1]:8891}").0,
            vec![addr("[::1]:8891")]
        );
    }

    #[test]
    fn durations_and_actions() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("300"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("x"), None);
        assert_eq!(parse_duration("5y"), None);
        assert_eq!(DefaultAction::parse("Accept"), Some(DefaultAction::Accept));
        assert_eq!(DefaultAction::parse("nope"), None);
    }
}
