//! Proving a password with the Kerberos AS exchange (RFC 4120 §3.1): ask the realm's KDC
//! for a ticket-granting ticket for `krbtgt/REALM@REALM` and check that its reply
//! decrypts with the key derived from the password.
//!
//! The exchange, over TCP (RFC 4120 §7.2.2: each message prefixed by its length as four
//! big-endian octets, one request per connection):
//! 1. AS-REQ without pre-authentication (RFC 4120 §5.4.1).
//! 2. When the KDC answers `KDC_ERR_PREAUTH_REQUIRED` (25), the salt and encryption type
//!    come from its PA-ETYPE-INFO2 (RFC 4120 §5.2.7.5); the AS-REQ is sent again with a
//!    PA-ENC-TIMESTAMP (RFC 4120 §5.2.7.2) encrypted with the password's key (key usage 1).
//! 3. The AS-REP's enc-part must decrypt with that key (key usage 3, RFC 4120 §7.5.1) and
//!    carry the request's nonce (RFC 4120 §3.1.5). A KDC refusal
//!    (`KDC_ERR_PREAUTH_FAILED`, `KDC_ERR_C_PRINCIPAL_UNKNOWN`, ...) or a reply the key
//!    does not decrypt means a wrong password or an unknown user.
//!
//! Encryption types: aes256-cts-hmac-sha1-96 (18) and aes128-cts-hmac-sha1-96 (17),
//! RFC 3962, with picky-krb's string-to-key and encryption. Passwords and keys are never
//! logged or put in an error.
//!
//! LIMITATION: the ticket is not checked against a service key of our own (no keytab),
//! so a forged KDC on the network path could accept any password it can answer for;
//! Zimbra's JAAS `Krb5LoginModule` login does not check either. No UDP, no FAST
//! (RFC 6113), no string-to-key iteration counts other than RFC 3962's default of 4096,
//! and no aes-sha2 (RFC 8009), RC4 or DES3 keys.

use std::time::Duration;

use picky_krb::data_types::PaData;
use picky_krb::messages::{EncAsRepPart, EncTgsRepPart, KdcRep};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::krb5conf::KdcAddr;
use super::messages::{
    DerivedKey, ETYPES, ErrorReply, KU_AS_REP_ENC_PART, Reply, as_req, decode_reply, derive_key,
    enc_timestamp, etype_hint, etype_hint_for, new_nonce, small_int,
};
use super::principal::Principal;

/// The largest reply accepted; real AS-REPs are a few kilobytes (a PAC can add some).
const MAX_REPLY: usize = 1 << 20;

/// RFC 4120 §7.5.9 error codes the exchange treats specially.
pub mod codes {
    /// The client is not in the KDC's database.
    pub const KDC_ERR_C_PRINCIPAL_UNKNOWN: u32 = 6;
    /// None of the requested encryption types is supported for this client.
    pub const KDC_ERR_ETYPE_NOSUPP: u32 = 14;
    /// The client's credentials have been revoked (locked out, disabled).
    pub const KDC_ERR_CLIENT_REVOKED: u32 = 18;
    /// The password has expired.
    pub const KDC_ERR_KEY_EXPIRED: u32 = 23;
    /// The pre-authentication (the encrypted timestamp) did not verify: wrong password.
    pub const KDC_ERR_PREAUTH_FAILED: u32 = 24;
    /// The KDC wants pre-authentication.
    pub const KDC_ERR_PREAUTH_REQUIRED: u32 = 25;
    /// Integrity check failed (older KDCs' wrong-password answer).
    pub const KRB_AP_ERR_BAD_INTEGRITY: u32 = 31;
    /// Our clock and the KDC's differ too much.
    pub const KRB_AP_ERR_SKEW: u32 = 37;
}

/// Why a password could not be proven.
#[derive(Debug, thiserror::Error)]
pub enum KerberosError {
    /// The KDC refused the principal or its password (unknown principal, wrong password,
    /// revoked or expired credentials): an authentication failure.
    #[error("the KDC refused the credentials (Kerberos error {0})")]
    Refused(u32),
    /// The KDC's reply did not decrypt with the password's key: a wrong password.
    #[error("the KDC reply does not decrypt with the password's key")]
    WrongPassword,
    /// No KDC answered in time (or the connection failed).
    #[error("KDC {kdc} unreachable: {reason}")]
    Unreachable {
        /// The KDC tried last.
        kdc: String,
        /// What went wrong.
        reason: String,
    },
    /// The KDC answered with another error (clock skew, unsupported encryption type, ...).
    #[error("KDC {kdc} answered Kerberos error {code}{text}")]
    Kdc {
        /// The KDC.
        kdc: String,
        /// RFC 4120 §7.5.9 error code.
        code: u32,
        /// `: ` and the KDC's e-text, when it sent one.
        text: String,
    },
    /// The KDC's reply could not be understood or used.
    #[error("KDC {kdc}: {reason}")]
    Protocol {
        /// The KDC.
        kdc: String,
        /// What was wrong with the reply.
        reason: String,
    },
    /// Nothing to ask: no KDC configured, or a name that cannot be sent.
    #[error("{0}")]
    Config(String),
}

impl KerberosError {
    /// True when the KDC judged the credentials (wrong password, unknown or disabled
    /// principal), as opposed to a service or configuration problem.
    pub fn is_auth_failure(&self) -> bool {
        matches!(
            self,
            KerberosError::Refused(_) | KerberosError::WrongPassword
        )
    }
}

/// Proves `password` for `principal` with an AS exchange against `kdcs`, tried in order
/// until one answers. Each KDC gets `timeout` for the whole exchange (connect, at most
/// two round trips).
///
/// # Errors
/// [`KerberosError::Refused`] or [`KerberosError::WrongPassword`] when the credentials
/// are wrong; [`KerberosError::Unreachable`] when no KDC answered; the other variants
/// for a KDC that misbehaves or a configuration that cannot work.
pub async fn verify_password(
    principal: &Principal,
    password: &str,
    kdcs: &[KdcAddr],
    timeout: Duration,
) -> Result<(), KerberosError> {
    let mut last =
        KerberosError::Config(format!("no KDC configured for realm {}", principal.realm));
    for kdc in kdcs {
        match tokio::time::timeout(timeout, exchange(kdc, principal, password)).await {
            Err(_) => {
                last = KerberosError::Unreachable {
                    kdc: kdc.to_string(),
                    reason: format!("no answer within {} ms", timeout.as_millis()),
                }
            }
            Ok(Err(e @ KerberosError::Unreachable { .. })) => last = e,
            Ok(result) => return result,
        }
        tracing::warn!(kdc = %kdc, error = %last, "Kerberos KDC unreachable");
    }
    Err(last)
}

/// One KDC, the whole exchange.
async fn exchange(
    kdc: &KdcAddr,
    principal: &Principal,
    password: &str,
) -> Result<(), KerberosError> {
    let proto = |reason: String| KerberosError::Protocol {
        kdc: kdc.to_string(),
        reason,
    };
    let mut nonce = new_nonce();
    let mut reply = round_trip(kdc, &as_req(principal, nonce, None)?).await?;
    let mut preauth_key: Option<DerivedKey> = None;
    if let Reply::Error(e) = &reply
        && e.code == codes::KDC_ERR_PREAUTH_REQUIRED
    {
        // RFC 4120 §3.1.1 and §5.2.7.5: the hints travel in e-data as METHOD-DATA.
        let (etype, salt, s2kparams) = etype_hint(&e.method_data, principal)
            .ok_or_else(|| proto("no supported encryption type offered for pre-auth".into()))?;
        let dk = derive_key(password, etype, salt, s2kparams.as_deref()).map_err(proto)?;
        let pa = enc_timestamp(&dk).map_err(proto)?;
        nonce = new_nonce();
        reply = round_trip(kdc, &as_req(principal, nonce, Some(pa))?).await?;
        preauth_key = Some(dk);
    }
    match reply {
        Reply::Error(e) => Err(refusal(kdc, e)),
        Reply::AsRep(rep) => check_as_rep(kdc, *rep, principal, password, nonce, preauth_key),
    }
}

/// Maps a KRB-ERROR to our error.
fn refusal(kdc: &KdcAddr, e: ErrorReply) -> KerberosError {
    use codes::*;
    match e.code {
        KDC_ERR_C_PRINCIPAL_UNKNOWN
        | KDC_ERR_CLIENT_REVOKED
        | KDC_ERR_KEY_EXPIRED
        | KDC_ERR_PREAUTH_FAILED
        | KRB_AP_ERR_BAD_INTEGRITY => KerberosError::Refused(e.code),
        code => KerberosError::Kdc {
            kdc: kdc.to_string(),
            code,
            text: e.text.map(|t| format!(": {t}")).unwrap_or_default(),
        },
    }
}

/// Checks an AS-REP: its enc-part must decrypt with the password's key and carry our
/// nonce.
fn check_as_rep(
    kdc: &KdcAddr,
    rep: KdcRep,
    principal: &Principal,
    password: &str,
    nonce: u32,
    preauth_key: Option<DerivedKey>,
) -> Result<(), KerberosError> {
    let proto = |reason: String| KerberosError::Protocol {
        kdc: kdc.to_string(),
        reason,
    };
    let enc = &rep.enc_part.0;
    let etype = small_int(&enc.etype.0)
        .and_then(|e| u8::try_from(e).ok())
        .filter(|e| ETYPES.contains(e))
        .ok_or_else(|| proto("AS-REP encrypted with an encryption type not asked for".into()))?;
    // The salt: the reply's own hint (RFC 4120 §5.2.7.5 allows it in the AS-REP padata),
    // else the one pre-authentication used, else the default.
    let reply_padata: &[PaData] = rep
        .padata
        .0
        .as_ref()
        .map(|p| p.0.0.as_slice())
        .unwrap_or(&[]);
    let hint = etype_hint_for(reply_padata, etype, principal);
    let key = match (hint, preauth_key) {
        (Some((_, salt, s2k)), preauth) => match preauth {
            Some(k) if k.etype == etype && k.salt == salt => k,
            _ => derive_key(password, etype, salt, s2k.as_deref()).map_err(proto)?,
        },
        (None, Some(k)) if k.etype == etype => k,
        (None, _) => derive_key(password, etype, principal.default_salt(), None).map_err(proto)?,
    };
    let plain = key
        .suite
        .cipher()
        .decrypt(&key.key, KU_AS_REP_ENC_PART, &enc.cipher.0.0)
        .map_err(|_| KerberosError::WrongPassword)?;
    // RFC 4120 §5.4.2: EncASRepPart, though some KDCs send EncTGSRepPart; accept both.
    let got_nonce = match picky_asn1_der::from_bytes::<EncAsRepPart>(&plain) {
        Ok(p) => p.0.nonce.0,
        Err(_) => picky_asn1_der::from_bytes::<EncTgsRepPart>(&plain)
            .map(|p| p.0.nonce.0)
            .map_err(|e| proto(format!("undecodable EncASRepPart: {e}")))?,
    };
    if small_int(&got_nonce) != Some(i64::from(nonce)) {
        return Err(proto("AS-REP nonce does not match the request".into()));
    }
    Ok(())
}

/// Sends one framed message and reads one framed reply (RFC 4120 §7.2.2).
async fn round_trip(kdc: &KdcAddr, request: &[u8]) -> Result<Reply, KerberosError> {
    let unreachable = |reason: String| KerberosError::Unreachable {
        kdc: kdc.to_string(),
        reason,
    };
    let mut stream = TcpStream::connect((kdc.host.as_str(), kdc.port))
        .await
        .map_err(|e| unreachable(format!("connect: {e}")))?;
    let len = u32::try_from(request.len()).map_err(|_| unreachable("request too big".into()))?;
    let mut framed = Vec::with_capacity(request.len() + 4);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(request);
    stream
        .write_all(&framed)
        .await
        .map_err(|e| unreachable(format!("send: {e}")))?;
    let mut head = [0u8; 4];
    stream
        .read_exact(&mut head)
        .await
        .map_err(|e| unreachable(format!("read: {e}")))?;
    let n = u32::from_be_bytes(head);
    // RFC 4120 §7.2.2: the high bit is reserved and must be zero.
    if n & 0x8000_0000 != 0 || n as usize > MAX_REPLY {
        return Err(KerberosError::Protocol {
            kdc: kdc.to_string(),
            reason: format!("bad reply length {n:#x}"),
        });
    }
    let mut body = vec![0u8; n as usize];
    stream
        .read_exact(&mut body)
        .await
        .map_err(|e| unreachable(format!("read: {e}")))?;
    decode_reply(&body).map_err(|reason| KerberosError::Protocol {
        kdc: kdc.to_string(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_map_to_auth_failures() {
        let kdc = KdcAddr::new("127.0.0.1", 88);
        let err = |code| ErrorReply {
            code,
            text: Some("why".into()),
            method_data: vec![],
        };
        for code in [6, 18, 23, 24, 31] {
            assert!(refusal(&kdc, err(code)).is_auth_failure(), "{code}");
        }
        let skew = refusal(&kdc, err(codes::KRB_AP_ERR_SKEW));
        assert!(!skew.is_auth_failure());
        assert!(skew.to_string().contains("37: why"), "{skew}");
    }
}
