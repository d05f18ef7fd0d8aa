//! Accepting a Kerberos AP-REQ with a service key from a keytab, as a GSS-API acceptor
//! does (RFC 4120 §3.2.3): the ticket is decrypted with our key (key usage 2), the
//! authenticator with the ticket's session key (key usage 11); the authenticator must name
//! the ticket's client, be within the clock skew, and not have been seen before (a replay
//! cache); the ticket must be valid now. When the client asks mutual authentication the
//! AP-REP (RFC 4120 §5.5.2, key usage 12) is built for the answer. The KDC is never
//! contacted.
//!
//! LIMITATION: the GSS checksum's channel bindings (RFC 4121 §4.1.1) are not compared
//! (HTTP has none to offer), delegated credentials in it are ignored, and the AP-REP
//! carries no acceptor subkey, so the context is good for authentication only (no
//! GSS wrap/MIC afterwards, which HTTP Negotiate never uses).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use picky_asn1::wrapper::{
    ExplicitContextTag0, ExplicitContextTag1, ExplicitContextTag2, ExplicitContextTag3,
    IntegerAsn1, OctetStringAsn1, Optional,
};
use picky_asn1_der::application_tag::ApplicationTag;
use picky_krb::crypto::CipherSuite;
use picky_krb::data_types::{
    Authenticator, EncApRepPart, EncApRepPartInner, EncTicketPart, EncryptedData, KerberosTime,
    PrincipalName,
};
use picky_krb::messages::{ApRep, ApRepInner, ApReq};
use thiserror::Error;

use super::keytab::Keytab;
use crate::auth::kerberos::Principal;

/// RFC 4120 §7.5.1 key usages.
const KU_TICKET: i32 = 2;
const KU_AP_REQ_AUTHENTICATOR: i32 = 11;
const KU_AP_REP_ENC_PART: i32 = 12;
/// RFC 4120 §7.5.7 message types.
const MSG_AP_REQ: i64 = 14;
const MSG_AP_REP: u8 = 15;
/// RFC 4120 §5.5.1 APOptions bit mutual-required.
const AP_MUTUAL_REQUIRED: usize = 2;
/// RFC 4120 §5.3 TicketFlags bit invalid.
const TKT_INVALID: usize = 7;
/// The usual Kerberos clock skew allowance (krb5.conf `clockskew` default).
pub const DEFAULT_SKEW: Duration = Duration::from_secs(300);

/// Why an AP-REQ was refused. The texts are what the server logs; none carries key or
/// ticket bytes.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AcceptError {
    /// Not a DER AP-REQ, or a part of it did not decode after decryption.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// The ticket is for a service this server is not.
    #[error("ticket is for {got}, this server is {want}")]
    WrongService {
        /// The ticket's server principal.
        got: String,
        /// Ours.
        want: String,
    },
    /// The keytab has no key of the ticket's type and version for its service.
    #[error("no key in the keytab for {service} (enctype {etype}, kvno {kvno:?})")]
    NoKey {
        /// The ticket's server principal.
        service: String,
        /// Its encryption type.
        etype: i64,
        /// Its key version, when it names one.
        kvno: Option<u32>,
    },
    /// The ticket did not decrypt with our key (a wrong or stale keytab).
    #[error("ticket does not decrypt with the keytab's key for {0} (wrong or stale keytab)")]
    BadKey(String),
    /// The authenticator did not decrypt with the ticket's session key.
    #[error("authenticator does not decrypt with the session key")]
    BadAuthenticator,
    /// The authenticator names another client than the ticket.
    #[error("authenticator client {authenticator} differs from the ticket's {ticket}")]
    ClientMismatch {
        /// Who the ticket was issued to.
        ticket: String,
        /// Who the authenticator claims.
        authenticator: String,
    },
    /// The authenticator's time is too far from ours.
    #[error("clock skew too great: client time {client}, server time {server}")]
    ClockSkew {
        /// The client's timestamp.
        client: String,
        /// Ours.
        server: String,
    },
    /// The ticket is not valid yet, has expired, or is flagged invalid.
    #[error("ticket {0}")]
    TicketTime(&'static str),
    /// This authenticator was already used.
    #[error("replayed authenticator of {0}")]
    Replay(String),
    /// An encryption type we do not implement.
    #[error("unsupported encryption type {0}")]
    Etype(i64),
}

/// A successfully checked AP-REQ.
#[derive(Debug)]
pub struct Accepted {
    /// The ticket's (and authenticator's) client.
    pub client: Principal,
    /// The service principal the ticket was for.
    pub service: Principal,
    /// When the ticket expires.
    pub ticket_end: DateTime<Utc>,
    /// The AP-REP to send back when the client asked mutual authentication.
    pub ap_rep: Option<Vec<u8>>,
}

/// Authenticators seen within the skew window (RFC 4120 §3.2.3: a server must refuse a
/// replayed authenticator). One per server process.
#[derive(Debug, Default)]
pub struct ReplayCache {
    seen: Mutex<HashMap<(String, i64, i64), i64>>,
}

impl ReplayCache {
    /// An empty cache.
    pub fn new() -> ReplayCache {
        ReplayCache::default()
    }

    /// Records `(client, ctime, cusec)`, kept until `forget_at` (seconds); false when it
    /// was already there.
    fn insert(&self, client: &str, ctime: i64, cusec: i64, now: i64, forget_at: i64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 1024 {
            seen.retain(|_, until| *until > now);
        }
        let key = (client.to_string(), ctime, cusec);
        if seen.get(&key).is_some_and(|until| *until > now) {
            return false;
        }
        seen.insert(key, forget_at);
        true
    }
}

/// Whether bit `i` (0 is the most significant bit of the first byte, RFC 4120 §5.2.8)
/// of a decoded BIT STRING is set. picky-asn1's own `is_set` indexes past the end, or
/// below zero, for a string the peer made empty or too short, so a hostile token would
/// panic it; here a bit outside the string is unset.
fn bit_set(bits: &picky_asn1::bit_string::BitString, i: usize) -> bool {
    let payload = bits.as_bytes().get(1..).unwrap_or_default();
    payload
        .get(i / 8)
        .is_some_and(|byte| byte & (0x80 >> (i % 8)) != 0)
}

/// Checks an AP-REQ (`der`, RFC 4120 §5.5.1) against `keytab`. `service`, when given,
/// is the only server principal accepted (`zimbraSpnegoAuthPrincipal`); otherwise any
/// principal the keytab holds a key for. `now` is the server's time.
///
/// # Errors
/// [`AcceptError`], one variant per reason a real acceptor refuses.
pub fn accept(
    der: &[u8],
    keytab: &Keytab,
    service: Option<&Principal>,
    replay: &ReplayCache,
    now: DateTime<Utc>,
    skew: Duration,
) -> Result<Accepted, AcceptError> {
    let ap: ApReq =
        picky_asn1_der::from_bytes(der).map_err(|_| AcceptError::Malformed("AP-REQ"))?;
    let ap = ap.0;
    if small_int(&ap.pvno.0) != Some(5) || small_int(&ap.msg_type.0) != Some(MSG_AP_REQ) {
        return Err(AcceptError::Malformed("AP-REQ version or type"));
    }
    let ticket = &ap.ticket.0.0;
    let server = principal(&ticket.sname.0, ticket.realm.0.0.to_string());
    if let Some(want) = service
        && (want.names != server.names || want.realm != server.realm)
    {
        return Err(AcceptError::WrongService {
            got: server.to_string(),
            want: want.to_string(),
        });
    }
    let enc = &ticket.enc_part.0;
    let etype = small_int(&enc.etype.0).unwrap_or(-1);
    let kvno = enc
        .kvno
        .0
        .as_ref()
        .and_then(|k| small_int(&k.0))
        .and_then(|k| u32::try_from(k).ok());
    let ticket_suite = suite(etype)?;
    let entry = u16::try_from(etype)
        .ok()
        .and_then(|e| keytab.find(&server.names, &server.realm, e, kvno))
        .ok_or_else(|| AcceptError::NoKey {
            service: server.to_string(),
            etype,
            kvno,
        })?;
    let plain = decrypt(&ticket_suite, &entry.key, KU_TICKET, &enc.cipher.0.0)
        .ok_or_else(|| AcceptError::BadKey(server.to_string()))?;
    let part: EncTicketPart =
        picky_asn1_der::from_bytes(&plain).map_err(|_| AcceptError::Malformed("EncTicketPart"))?;
    let part = part.0;
    let client = principal(&part.cname.0, part.crealm.0.0.to_string());
    let session_etype = small_int(&part.key.0.key_type.0).unwrap_or(-1);
    let session_suite = suite(session_etype)?;
    let session_key = &part.key.0.key_value.0.0;

    let auth = &ap.authenticator.0;
    let auth_suite = suite(small_int(&auth.etype.0).unwrap_or(-1))?;
    if auth_suite != session_suite {
        return Err(AcceptError::BadAuthenticator);
    }
    let plain = decrypt(
        &session_suite,
        session_key,
        KU_AP_REQ_AUTHENTICATOR,
        &auth.cipher.0.0,
    )
    .ok_or(AcceptError::BadAuthenticator)?;
    let authenticator: Authenticator =
        picky_asn1_der::from_bytes(&plain).map_err(|_| AcceptError::Malformed("Authenticator"))?;
    let authenticator = authenticator.0;
    let claimed = principal(&authenticator.cname.0, authenticator.crealm.0.0.to_string());
    if claimed != client {
        return Err(AcceptError::ClientMismatch {
            ticket: client.to_string(),
            authenticator: claimed.to_string(),
        });
    }

    // RFC 4120 §3.2.3: the authenticator's time within the skew of ours.
    let skew_s = i64::try_from(skew.as_secs()).unwrap_or(i64::MAX);
    let ctime = time(&authenticator.ctime.0).ok_or(AcceptError::Malformed("ctime"))?;
    if (now - ctime).num_seconds().abs() > skew_s {
        return Err(AcceptError::ClockSkew {
            client: ctime.to_rfc3339(),
            server: now.to_rfc3339(),
        });
    }
    // The ticket's validity: start (or auth) time and end time, with the skew.
    let start = part
        .starttime
        .0
        .as_ref()
        .map(|t| time(&t.0))
        .unwrap_or_else(|| time(&part.auth_time.0))
        .ok_or(AcceptError::Malformed("ticket start time"))?;
    let end = time(&part.endtime.0).ok_or(AcceptError::Malformed("ticket end time"))?;
    if (start - now).num_seconds() > skew_s {
        return Err(AcceptError::TicketTime("not yet valid"));
    }
    if (now - end).num_seconds() > skew_s {
        return Err(AcceptError::TicketTime("expired"));
    }
    if bit_set(&part.flags.0, TKT_INVALID) {
        return Err(AcceptError::TicketTime("flagged invalid"));
    }
    let cusec = small_int(&authenticator.cusec.0).unwrap_or(0);
    if !replay.insert(
        &client.to_string(),
        ctime.timestamp(),
        cusec,
        now.timestamp(),
        ctime.timestamp() + 2 * skew_s,
    ) {
        return Err(AcceptError::Replay(client.to_string()));
    }

    let ap_rep = if bit_set(&ap.ap_options.0, AP_MUTUAL_REQUIRED) {
        Some(ap_rep(
            &session_suite,
            session_key,
            &authenticator.ctime.0,
            &authenticator.cusec.0,
            authenticator.seq_number.0.is_some(),
        )?)
    } else {
        None
    };
    Ok(Accepted {
        client,
        service: server,
        ticket_end: end,
        ap_rep,
    })
}

/// The AP-REP (RFC 4120 §5.5.2): the authenticator's ctime and cusec, encrypted with the
/// session key; a fresh sequence number when the client sent one.
fn ap_rep(
    suite: &CipherSuite,
    key: &[u8],
    ctime: &KerberosTime,
    cusec: &IntegerAsn1,
    seq: bool,
) -> Result<Vec<u8>, AcceptError> {
    let seq_number = seq.then(|| {
        let n: u32 = rand::random::<u32>() & 0x3fff_ffff;
        ExplicitContextTag3::from(IntegerAsn1::from_bytes_be_unsigned(
            n.to_be_bytes().to_vec(),
        ))
    });
    let part: EncApRepPart = ApplicationTag(EncApRepPartInner {
        ctime: ExplicitContextTag0::from(ctime.clone()),
        cusec: ExplicitContextTag1::from(cusec.clone()),
        subkey: Optional::from(None),
        seq_number: Optional::from(seq_number),
    });
    let plain =
        picky_asn1_der::to_vec(&part).map_err(|_| AcceptError::Malformed("AP-REP encoding"))?;
    let cipher = suite
        .cipher()
        .encrypt(key, KU_AP_REP_ENC_PART, &plain)
        .map_err(|_| AcceptError::Malformed("AP-REP encryption"))?;
    let rep: ApRep = ApplicationTag(ApRepInner {
        pvno: ExplicitContextTag0::from(IntegerAsn1::from(vec![5u8])),
        msg_type: ExplicitContextTag1::from(IntegerAsn1::from(vec![MSG_AP_REP])),
        enc_part: ExplicitContextTag2::from(EncryptedData {
            etype: ExplicitContextTag0::from(IntegerAsn1::from(vec![u8::from(suite)])),
            kvno: Optional::from(None),
            cipher: ExplicitContextTag2::from(OctetStringAsn1::from(cipher)),
        }),
    });
    picky_asn1_der::to_vec(&rep).map_err(|_| AcceptError::Malformed("AP-REP encoding"))
}

/// RFC 3962 / RFC 3961 suites picky-krb implements.
fn suite(etype: i64) -> Result<CipherSuite, AcceptError> {
    usize::try_from(etype)
        .ok()
        .and_then(|e| CipherSuite::try_from(e).ok())
        .ok_or(AcceptError::Etype(etype))
}

/// Decrypts, refusing a key of the wrong length before the cipher sees it.
fn decrypt(suite: &CipherSuite, key: &[u8], usage: i32, data: &[u8]) -> Option<Vec<u8>> {
    let cipher = suite.cipher();
    if key.len() != cipher.key_size() {
        return None;
    }
    cipher.decrypt(key, usage, data).ok()
}

fn principal(name: &PrincipalName, realm: String) -> Principal {
    Principal {
        names: name
            .name_string
            .0
            .0
            .iter()
            .map(|s| s.0.to_string())
            .collect(),
        realm,
    }
}

/// A DER INTEGER that fits an i64.
fn small_int(i: &IntegerAsn1) -> Option<i64> {
    let b = i.as_signed_bytes_be();
    if b.is_empty() || b.len() > 8 {
        return None;
    }
    let fill = if b[0] & 0x80 != 0 { 0xff } else { 0 };
    let mut buf = [fill; 8];
    buf[8 - b.len()..].copy_from_slice(b);
    Some(i64::from_be_bytes(buf))
}

/// KerberosTime (RFC 4120 §5.2.3) as a UTC instant.
fn time(t: &KerberosTime) -> Option<DateTime<Utc>> {
    let d = &t.0;
    chrono::NaiveDate::from_ymd_opt(
        i32::from(d.year()),
        u32::from(d.month()),
        u32::from(d.day()),
    )?
    .and_hms_opt(
        u32::from(d.hour()),
        u32::from(d.minute()),
        u32::from(d.second()),
    )
    .map(|n| n.and_utc())
}

#[cfg(test)]
#[path = "accept_tests.rs"]
mod tests;
