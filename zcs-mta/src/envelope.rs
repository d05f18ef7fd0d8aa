//! What a transaction carries beyond [`InboundMessage`](crate::InboundMessage): the DSN
//! parameters of RFC 3461, who authenticated, which recipients are relayed, and the
//! [`MessageSink`] seam that takes a finished message together with that envelope.
//!
//! Parsing of the `RCPT TO` parameters and of xtext lives here; the `MAIL FROM` ones are
//! in `command`. Nothing here does I/O.

use async_trait::async_trait;

use crate::auth::AuthedUser;
use crate::command::{Body, ParamError};
use crate::delivery::{DeliveryOutcome, InboundMessage};
use crate::scan::ScanReport;

/// `RET=` of `MAIL FROM`: how much of the message a failure DSN returns (RFC 3461 §4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DsnRet {
    /// `RET=FULL`: the whole message.
    Full,
    /// `RET=HDRS`: the header only.
    Headers,
}

/// `NOTIFY=` of `RCPT TO` (RFC 3461 §4.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Notify {
    /// `NEVER`: no DSN at all. Excludes the three others.
    pub never: bool,
    /// `SUCCESS`.
    pub success: bool,
    /// `FAILURE`.
    pub failure: bool,
    /// `DELAY`.
    pub delay: bool,
}

/// The `RCPT TO` parameters this server offers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RcptParams {
    /// `NOTIFY=`; `None` when absent (the MTA then notifies on failure, RFC 3461 §4.1).
    pub notify: Option<Notify>,
    /// `ORCPT=addr-type;xtext`, decoded: `(addr-type, address)` (RFC 3461 §4.2).
    pub orcpt: Option<(String, String)>,
}

/// Interprets `RCPT TO` parameters: `NOTIFY` and `ORCPT` (RFC 3461 §4.1-4.2). Anything
/// else is `Unsupported` (`555 5.5.4`); a repeated or malformed one is `Malformed`.
pub fn rcpt_params(params: &[crate::Param]) -> Result<RcptParams, ParamError> {
    let mut out = RcptParams::default();
    for p in params {
        let keyword = p.keyword.to_ascii_uppercase();
        let value = p.value.as_deref();
        match (keyword.as_str(), value) {
            ("NOTIFY", Some(v)) if out.notify.is_none() => {
                out.notify = Some(parse_notify(v).ok_or(ParamError::Malformed(keyword))?);
            }
            ("ORCPT", Some(v)) if out.orcpt.is_none() => {
                // RFC 3461 §4.2: addr-type ";" xtext, at most 500 characters.
                let (kind, addr) = v
                    .split_once(';')
                    .filter(|(k, a)| !k.is_empty() && !a.is_empty() && v.len() <= 500)
                    .ok_or_else(|| ParamError::Malformed(keyword.clone()))?;
                let addr = xtext_decode(addr).ok_or(ParamError::Malformed(keyword))?;
                out.orcpt = Some((kind.to_ascii_lowercase(), addr));
            }
            ("NOTIFY" | "ORCPT", _) => return Err(ParamError::Malformed(keyword)),
            _ => return Err(ParamError::Unsupported(p.keyword.clone())),
        }
    }
    Ok(out)
}

/// `NOTIFY="NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" )` (RFC 3461 §4.1).
fn parse_notify(value: &str) -> Option<Notify> {
    let mut n = Notify::default();
    for word in value.split(',') {
        let flag = match word.to_ascii_uppercase().as_str() {
            "NEVER" => &mut n.never,
            "SUCCESS" => &mut n.success,
            "FAILURE" => &mut n.failure,
            "DELAY" => &mut n.delay,
            _ => return None,
        };
        if *flag {
            return None;
        }
        *flag = true;
    }
    let others = n.success || n.failure || n.delay;
    (!(n.never && others)).then_some(n)
}

/// Decodes xtext (RFC 3461 §4): `+XX` is the octet with upper-case hex `XX`; other
/// characters stand for themselves. Returns `None` for a bad escape or a result that is
/// not UTF-8.
pub fn xtext_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'+' {
            let hex = text.get(i + 1..i + 3)?;
            if !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
            {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Per-recipient envelope data, parallel to `InboundMessage::recipients`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecipientEnvelope {
    /// The `RCPT TO` DSN parameters.
    pub params: RcptParams,
    /// True when the recipient is not local and was accepted for relay (the client was
    /// authenticated or in `zimbraMtaMyNetworks`): it goes to the outbound queue.
    pub relay: bool,
}

/// The envelope of a finished message beyond what `InboundMessage` holds.
#[derive(Clone, Debug, Default)]
pub struct Envelope {
    /// `BODY=` of `MAIL FROM`.
    pub body: Body,
    /// `RET=`.
    pub ret: Option<DsnRet>,
    /// `ENVID=`.
    pub envid: Option<String>,
    /// One entry per `InboundMessage::recipients` entry, same order.
    pub recipients: Vec<RecipientEnvelope>,
    /// The user who authenticated with `AUTH`, if any.
    pub authenticated: Option<AuthedUser>,
    /// True when the client address is in `zimbraMtaMyNetworks`.
    pub trusted_client: bool,
    /// True when the session was under TLS.
    pub tls: bool,
    /// What the content filters found (header fields they added are already in the
    /// message prefix).
    pub scan: ScanReport,
    /// Put the message in the `hold` queue instead of delivering it (a milter's
    /// quarantine), with this reason.
    pub hold: Option<String>,
}

/// Where finished messages go when the listener has one (`ListenerConfig::sink`):
/// usually the durable queue, which delivers local recipients and relays the others.
///
/// Without a sink, messages go to `LocalDelivery::deliver` and relay is never offered.
#[async_trait]
pub trait MessageSink: Send + Sync {
    /// Takes `message` with its `envelope`. Returns one outcome per recipient, same order;
    /// `Delivered` means the message is durably accepted (queued or stored) for that
    /// recipient. The reply rules are those of `LocalDelivery::deliver`.
    async fn accept(&self, message: &InboundMessage, envelope: &Envelope) -> Vec<DeliveryOutcome>;
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::Param;

    fn param(k: &str, v: &str) -> Param {
        Param {
            keyword: k.into(),
            value: Some(v.into()),
        }
    }

    #[test]
    fn dsn_rcpt_params() {
        let p = rcpt_params(&[
            param("notify", "SUCCESS,delay"),
            param("ORCPT", "rfc822;a+2Bb@x.test"),
        ])
        .unwrap();
        assert_eq!(
            p.notify,
            Some(Notify {
                success: true,
                delay: true,
                ..Notify::default()
            })
        );
        assert_eq!(p.orcpt, Some(("rfc822".into(), "a+b@x.test".into())));
        assert!(rcpt_params(&[param("NOTIFY", "NEVER,SUCCESS")]).is_err());
        assert!(rcpt_params(&[param("NOTIFY", "FAILURE,FAILURE")]).is_err());
        assert!(rcpt_params(&[param("ORCPT", "nosemicolon")]).is_err());
        assert!(matches!(
            rcpt_params(&[param("FOO", "1")]),
            Err(ParamError::Unsupported(_))
        ));
    }

    #[test]
    fn xtext() {
        assert_eq!(xtext_decode("a+2Bb+3D").as_deref(), Some("a+b="));
        assert_eq!(xtext_decode("+2"), None);
        assert_eq!(xtext_decode("+2b"), None);
        assert_eq!(xtext_decode("+FF"), None);
    }

    proptest! {
        #[test]
        fn xtext_never_panics(s in "[+0-9A-Fa-zé]{0,20}") {
            let _ = xtext_decode(&s);
        }

        #[test]
        fn rcpt_params_never_panic(k in "[A-Za-z]{1,8}", v in "[;,+=A-Za-z0-9é]{0,30}") {
            let _ = rcpt_params(&[param(&k, &v)]);
        }
    }
}
