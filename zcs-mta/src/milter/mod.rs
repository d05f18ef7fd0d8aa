//! Milter client: hands each message received over SMTP to external milters
//! (`zimbraMtaSmtpdMilters`, Postfix's `smtpd_milters`) with the Sendmail milter
//! protocol version 6, and applies what they answer: accept, reject, tempfail, discard,
//! quarantine, header additions and changes, recipient additions and deletions, a new
//! envelope sender and a replaced body.
//!
//! The wire format is in [`codec`], one conversation in `client`, the rewriting of the
//! message in `apply`. Settings come from `zcs-server`: the milter list, the
//! `zimbraMtaMilterConnectTimeout` / `CommandTimeout` / `ContentTimeout` timeouts and
//! `zimbraMtaMilterDefaultAction` (what happens when a milter cannot be reached, times
//! out or talks nonsense; Postfix's `milter_default_action`, default `tempfail`).
//!
//! LIMITATION: the whole conversation (connect, HELO, MAIL, RCPT, DATA, header, body,
//! end of body) runs once at the end of data, as Postfix does for `non_smtpd_milters`,
//! so a milter's refusal of MAIL or RCPT is given after the end of data (for the whole
//! message, or by dropping the refused recipient) rather than in reply to that command.
//! Only `inet:host:port` milters are supported (no `unix:` sockets).

mod apply;
mod client;
pub mod codec;

use std::time::Duration;

pub use apply::{MessageEdit, apply_edits};
pub use client::{MilterContext, MilterOutcome, run_milters};

/// One milter to ask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MilterAddress {
    /// `host:port` to connect to.
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
/// white space, each `inet:host:port` or `host:port`. Entries of other kinds (`unix:`)
/// or without a port are returned in the error list.
pub fn parse_milter_list(value: &str) -> (Vec<MilterAddress>, Vec<String>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for item in value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        // Postfix allows `{inet:host:port, connect_timeout=...}`; we take the address.
        let item = item.trim_start_matches('{').trim_end_matches('}');
        let rest = item.strip_prefix("inet:").unwrap_or(item);
        let port_ok = rest
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
        if item.starts_with("unix:") || item.starts_with("local:") || !port_ok {
            bad.push(item.to_string());
        } else {
            // IPv6 goes in brackets: `inet:[::1]:8891`.
            ok.push(MilterAddress {
                addr: rest.to_string(),
            });
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
        let (ok, bad) = parse_milter_list("inet:127.0.0.1:8891, 127.0.0.1:8892 unix:/x.sock h");
        assert_eq!(
            ok,
            vec![
                MilterAddress {
                    addr: "127.0.0.1:8891".into()
                },
                MilterAddress {
                    addr: "127.0.0.1:8892".into()
                }
            ]
        );
        assert_eq!(bad, vec!["unix:/x.sock".to_string(), "h".to_string()]);
        assert_eq!(parse_milter_list("").0, vec![]);
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
