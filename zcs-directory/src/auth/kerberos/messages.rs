//! The Kerberos messages of the AS exchange: building an AS-REQ (RFC 4120 §5.4.1) and a
//! PA-ENC-TIMESTAMP (RFC 4120 §5.2.7.2), decoding AS-REP and KRB-ERROR replies (RFC 4120
//! §5.4.2, §5.9.1) and the pre-authentication hints in them (PA-ETYPE-INFO2, RFC 4120
//! §5.2.7.5), and turning a password into a key (RFC 3962 §4). DER encoding and the
//! message types are picky-krb's; nothing here touches the network.

use picky_asn1::bit_string::BitString;
use picky_asn1::date::Date;
use picky_asn1::restricted_string::Ia5String;
use picky_asn1::wrapper::{
    Asn1SequenceOf, BitStringAsn1, ExplicitContextTag0, ExplicitContextTag1, ExplicitContextTag2,
    ExplicitContextTag3, ExplicitContextTag4, ExplicitContextTag5, ExplicitContextTag7,
    ExplicitContextTag8, GeneralizedTimeAsn1, IntegerAsn1, OctetStringAsn1, Optional,
};
use picky_krb::crypto::CipherSuite;
use picky_krb::data_types::{
    EncryptedData, EtypeInfo2, EtypeInfo2Entry, KerberosStringAsn1, KerberosTime, PaData,
    PaEncTsEnc, PrincipalName,
};
use picky_krb::messages::{AsRep, AsReq, KdcRep, KdcReq, KdcReqBody, KrbError};

use super::as_exchange::KerberosError;
use super::principal::Principal;

/// RFC 4120 §7.5.7 message types.
const AS_REQ: u8 = 10;
/// RFC 4120 §6.2 name types.
const NT_PRINCIPAL: u8 = 1;
const NT_SRV_INST: u8 = 2;
/// RFC 4120 §7.5.2 pre-authentication data types.
const PA_ENC_TIMESTAMP: u8 = 2;
const PA_PW_SALT: u8 = 3;
const PA_ETYPE_INFO2: u8 = 19;
/// RFC 4120 §7.5.1 key usages.
const KU_PA_ENC_TIMESTAMP: i32 = 1;
pub(super) const KU_AS_REP_ENC_PART: i32 = 3;
/// RFC 3962 §7 encryption types, in our order of preference.
const ETYPE_AES256: u8 = 18;
const ETYPE_AES128: u8 = 17;
pub(super) const ETYPES: [u8; 2] = [ETYPE_AES256, ETYPE_AES128];
/// RFC 3962 §4: the default PBKDF2 iteration count, the only one picky-krb derives with.
const AES_DEFAULT_ITERATIONS: u32 = 4096;

/// The key a password gives for one encryption type and salt.
pub(super) struct DerivedKey {
    pub(super) suite: CipherSuite,
    pub(super) etype: u8,
    pub(super) salt: String,
    pub(super) key: Vec<u8>,
}

/// A decoded KDC answer.
pub(super) enum Reply {
    /// An AS-REP.
    AsRep(Box<KdcRep>),
    /// A KRB-ERROR.
    Error(ErrorReply),
}

/// What the exchange needs from a KRB-ERROR (RFC 4120 §5.9.1).
pub(super) struct ErrorReply {
    pub(super) code: u32,
    pub(super) text: Option<String>,
    /// The e-data as METHOD-DATA (a SEQUENCE OF PA-DATA), when it is one.
    pub(super) method_data: Vec<PaData>,
}

/// Decodes an AS-REP (`[APPLICATION 11]`) or a KRB-ERROR (`[APPLICATION 30]`).
pub(super) fn decode_reply(body: &[u8]) -> Result<Reply, String> {
    match body.first() {
        // RFC 4120 §5.10: application tags 11 and 30, constructed.
        Some(0x6b) => picky_asn1_der::from_bytes::<AsRep>(body)
            .map(|r| Reply::AsRep(Box::new(r.0)))
            .map_err(|e| format!("undecodable AS-REP: {e}")),
        Some(0x7e) => {
            let e = picky_asn1_der::from_bytes::<KrbError>(body)
                .map_err(|e| format!("undecodable KRB-ERROR: {e}"))?
                .0;
            let method_data = e
                .e_data
                .0
                .as_ref()
                .and_then(|d| picky_asn1_der::from_bytes::<Asn1SequenceOf<PaData>>(&d.0.0).ok())
                .map(|s| s.0)
                .unwrap_or_default();
            Ok(Reply::Error(ErrorReply {
                code: e.error_code.0,
                // The KDC's e-text ends up in logs: printable characters only, bounded.
                text: e.e_text.0.as_ref().map(|t| {
                    t.0.to_string()
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(200)
                        .collect()
                }),
                method_data,
            }))
        }
        Some(t) => Err(format!("unexpected reply tag {t:#04x}")),
        None => Err("empty reply".into()),
    }
}

/// The first PA-ETYPE-INFO2 entry (the KDC's preference order) whose encryption type we
/// support: (etype, salt, s2kparams). Without PA-ETYPE-INFO2, aes256 with the default
/// salt.
pub(super) fn etype_hint(
    padata: &[PaData],
    principal: &Principal,
) -> Option<(u8, String, Option<Vec<u8>>)> {
    let Some(entries) = etype_info2(padata) else {
        return Some((ETYPE_AES256, principal.default_salt(), None));
    };
    entries.iter().find_map(|e| {
        let etype = small_int(&e.etype.0).and_then(|t| u8::try_from(t).ok())?;
        ETYPES
            .contains(&etype)
            .then(|| entry_parts(e, etype, principal))
    })
}

/// The salt hint for `etype` in a reply's padata: PA-ETYPE-INFO2's entry for it, else
/// PA-PW-SALT (RFC 4120 §5.2.7.3); `None` when the reply gives none.
pub(super) fn etype_hint_for(
    padata: &[PaData],
    etype: u8,
    principal: &Principal,
) -> Option<(u8, String, Option<Vec<u8>>)> {
    if let Some(entries) = etype_info2(padata)
        && let Some(e) = entries
            .iter()
            .find(|e| small_int(&e.etype.0) == Some(i64::from(etype)))
    {
        return Some(entry_parts(e, etype, principal));
    }
    padata
        .iter()
        .find(|p| small_int(&p.padata_type.0) == Some(i64::from(PA_PW_SALT)))
        .map(|p| {
            let salt = String::from_utf8_lossy(&p.padata_data.0.0).into_owned();
            (etype, salt, None)
        })
}

/// Decodes the PA-ETYPE-INFO2 element of `padata`, if any.
fn etype_info2(padata: &[PaData]) -> Option<Vec<EtypeInfo2Entry>> {
    padata
        .iter()
        .find(|p| small_int(&p.padata_type.0) == Some(i64::from(PA_ETYPE_INFO2)))
        .and_then(|p| picky_asn1_der::from_bytes::<EtypeInfo2>(&p.padata_data.0.0).ok())
        .map(|s| s.0)
}

/// (etype, salt or the default, s2kparams) of one ETYPE-INFO2 entry.
fn entry_parts(
    e: &EtypeInfo2Entry,
    etype: u8,
    principal: &Principal,
) -> (u8, String, Option<Vec<u8>>) {
    let salt = e
        .salt
        .0
        .as_ref()
        .map(|s| s.0.to_string())
        .unwrap_or_else(|| principal.default_salt());
    let s2k = e.s2kparams.0.as_ref().map(|p| p.0.0.clone());
    (etype, salt, s2k)
}

/// The password's key for `etype` and `salt` (RFC 3962 §4 string-to-key).
pub(super) fn derive_key(
    password: &str,
    etype: u8,
    salt: String,
    s2kparams: Option<&[u8]>,
) -> Result<DerivedKey, String> {
    // RFC 3962 §4: s2kparams is the iteration count as four big-endian octets.
    if let Some(p) = s2kparams {
        let count = <[u8; 4]>::try_from(p).ok().map(u32::from_be_bytes);
        if count != Some(AES_DEFAULT_ITERATIONS) {
            return Err(format!(
                "string-to-key parameters {} are not supported (only {AES_DEFAULT_ITERATIONS} \
                 iterations)",
                hex::encode(p)
            ));
        }
    }
    let suite = CipherSuite::try_from(usize::from(etype))
        .map_err(|_| format!("encryption type {etype} is not supported"))?;
    let key = suite
        .cipher()
        .generate_key_from_password(password.as_bytes(), salt.as_bytes())
        .map_err(|_| "string-to-key failed".to_string())?;
    Ok(DerivedKey {
        suite,
        etype,
        salt,
        key,
    })
}

/// PA-ENC-TIMESTAMP: our clock, encrypted with the password's key (RFC 4120 §5.2.7.2).
pub(super) fn enc_timestamp(key: &DerivedKey) -> Result<PaData, String> {
    let now = chrono::Utc::now();
    let ts = PaEncTsEnc {
        patimestamp: ExplicitContextTag0::from(kerberos_time(now)),
        pausec: Optional::from(Some(ExplicitContextTag1::from(int(now
            .timestamp_subsec_micros()
            % 1_000_000)))),
    };
    let plain = picky_asn1_der::to_vec(&ts).map_err(|e| format!("encode timestamp: {e}"))?;
    let cipher = key
        .suite
        .cipher()
        .encrypt(&key.key, KU_PA_ENC_TIMESTAMP, &plain)
        .map_err(|_| "encrypting the timestamp failed".to_string())?;
    let data = EncryptedData {
        etype: ExplicitContextTag0::from(int(u32::from(key.etype))),
        kvno: Optional::from(None),
        cipher: ExplicitContextTag2::from(OctetStringAsn1::from(cipher)),
    };
    let value = picky_asn1_der::to_vec(&data).map_err(|e| format!("encode PA-DATA: {e}"))?;
    Ok(PaData {
        padata_type: ExplicitContextTag1::from(int(u32::from(PA_ENC_TIMESTAMP))),
        padata_data: ExplicitContextTag2::from(OctetStringAsn1::from(value)),
    })
}

/// An AS-REQ for `krbtgt/REALM@REALM` (RFC 4120 §5.4.1), DER-encoded.
pub(super) fn as_req(
    principal: &Principal,
    nonce: u32,
    padata: Option<PaData>,
) -> Result<Vec<u8>, KerberosError> {
    let kstr = |s: &str| -> Result<KerberosStringAsn1, KerberosError> {
        Ia5String::from_string(s.to_string())
            .map(KerberosStringAsn1::from)
            .map_err(|_| KerberosError::Config(format!("{principal} is not an IA5 string")))
    };
    let name = |kind: u8, parts: Vec<KerberosStringAsn1>| PrincipalName {
        name_type: ExplicitContextTag0::from(int(u32::from(kind))),
        name_string: ExplicitContextTag1::from(Asn1SequenceOf::from(parts)),
    };
    let cname = principal
        .names
        .iter()
        .map(|n| kstr(n))
        .collect::<Result<Vec<_>, _>>()?;
    let sname = vec![kstr("krbtgt")?, kstr(&principal.realm)?];
    // The ticket itself is never used: ask for a short one.
    let till = chrono::Utc::now() + chrono::Duration::minutes(10);
    let body = KdcReqBody {
        // RFC 4120 §5.4.1: no options; KerberosFlags are at least 32 bits.
        kdc_options: ExplicitContextTag0::from(BitStringAsn1::from(BitString::with_len(32))),
        cname: Optional::from(Some(ExplicitContextTag1::from(name(NT_PRINCIPAL, cname)))),
        realm: ExplicitContextTag2::from(kstr(&principal.realm)?),
        sname: Optional::from(Some(ExplicitContextTag3::from(name(NT_SRV_INST, sname)))),
        from: Optional::from(None),
        till: ExplicitContextTag5::from(kerberos_time(till)),
        rtime: Optional::from(None),
        nonce: ExplicitContextTag7::from(int(nonce)),
        etype: ExplicitContextTag8::from(Asn1SequenceOf::from(
            ETYPES
                .iter()
                .map(|e| int(u32::from(*e)))
                .collect::<Vec<_>>(),
        )),
        addresses: Optional::from(None),
        enc_authorization_data: Optional::from(None),
        additional_tickets: Optional::from(None),
    };
    let req = KdcReq {
        pvno: ExplicitContextTag1::from(int(5)),
        msg_type: ExplicitContextTag2::from(int(u32::from(AS_REQ))),
        padata: Optional::from(
            padata.map(|p| ExplicitContextTag3::from(Asn1SequenceOf::from(vec![p]))),
        ),
        req_body: ExplicitContextTag4::from(body),
    };
    picky_asn1_der::to_vec(&AsReq::from(req))
        .map_err(|e| KerberosError::Config(format!("cannot encode AS-REQ: {e}")))
}

/// A non-negative INTEGER.
fn int(v: u32) -> IntegerAsn1 {
    IntegerAsn1::from_bytes_be_unsigned(v.to_be_bytes().to_vec())
}

/// The value of a DER INTEGER that fits in an `i64`.
pub(super) fn small_int(i: &IntegerAsn1) -> Option<i64> {
    let b = i.as_signed_bytes_be();
    if b.is_empty() || b.len() > 8 {
        return None;
    }
    let mut v: i64 = if b[0] & 0x80 != 0 { -1 } else { 0 };
    for byte in b {
        v = (v << 8) | i64::from(*byte);
    }
    Some(v)
}

/// KerberosTime: GeneralizedTime in UTC, whole seconds (RFC 4120 §5.2.3).
fn kerberos_time(t: chrono::DateTime<chrono::Utc>) -> KerberosTime {
    use chrono::{Datelike, Timelike};
    let date = Date::new(
        u16::try_from(t.year()).unwrap_or(9999),
        t.month() as u8,
        t.day() as u8,
        t.hour() as u8,
        t.minute() as u8,
        t.second().min(59) as u8,
    )
    .expect("chrono fields are in range");
    GeneralizedTimeAsn1::from(date)
}

/// A random nonce that stays positive as a DER INTEGER (RFC 4120 §5.4.1: UInt32).
pub(super) fn new_nonce() -> u32 {
    rand::random::<u32>() & 0x7fff_ffff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> Principal {
        Principal::parse("joe@EX.TEST", None).expect("principal")
    }

    #[test]
    fn integers() {
        for v in [0u32, 1, 127, 128, 255, 256, 0x7fff_ffff, u32::MAX] {
            assert_eq!(small_int(&int(v)), Some(i64::from(v)), "{v}");
        }
        assert_eq!(small_int(&IntegerAsn1(vec![0xff])), Some(-1));
        assert_eq!(small_int(&IntegerAsn1(vec![1; 9])), None);
    }

    #[test]
    fn as_req_encodes_and_decodes() {
        let der = as_req(&p(), 42, None).expect("encode");
        assert_eq!(der[0], 0x6a, "[APPLICATION 10]");
        let back: AsReq = picky_asn1_der::from_bytes(&der).expect("decode");
        let body = &back.0.req_body.0;
        assert_eq!(small_int(&body.nonce.0), Some(42));
        assert_eq!(body.realm.0.0.to_string(), "EX.TEST");
        assert!(back.0.padata.0.is_none());
    }

    #[test]
    fn timestamp_decrypts_with_the_same_key() {
        let key = derive_key("secret", ETYPE_AES128, p().default_salt(), None).expect("key");
        let pa = enc_timestamp(&key).expect("pa");
        let enc: EncryptedData = picky_asn1_der::from_bytes(&pa.padata_data.0.0).expect("ed");
        let plain = key
            .suite
            .cipher()
            .decrypt(&key.key, KU_PA_ENC_TIMESTAMP, &enc.cipher.0.0)
            .expect("decrypt");
        let ts: PaEncTsEnc = picky_asn1_der::from_bytes(&plain).expect("ts");
        assert!(ts.pausec.0.is_some());
        let other = derive_key("wrong", ETYPE_AES128, p().default_salt(), None).expect("key");
        assert!(
            other
                .suite
                .cipher()
                .decrypt(&other.key, KU_PA_ENC_TIMESTAMP, &enc.cipher.0.0)
                .is_err()
        );
    }

    #[test]
    fn s2kparams_other_than_default_are_refused() {
        let salt = || "S".to_string();
        assert!(derive_key("x", ETYPE_AES256, salt(), Some(&[0, 0, 0x10, 0])).is_ok());
        assert!(derive_key("x", ETYPE_AES256, salt(), Some(&[0, 1, 0, 0])).is_err());
        assert!(derive_key("x", ETYPE_AES256, salt(), Some(&[1])).is_err());
        assert!(
            derive_key("x", 23, salt(), None).is_err(),
            "rc4 is not supported"
        );
    }

    #[test]
    fn no_hint_means_aes256_and_default_salt() {
        assert_eq!(
            etype_hint(&[], &p()),
            Some((ETYPE_AES256, "EX.TESTjoe".into(), None))
        );
        assert_eq!(etype_hint_for(&[], ETYPE_AES128, &p()), None);
    }

    #[test]
    fn preauth_required_hints_are_read() {
        use picky_asn1::wrapper::{
            ExplicitContextTag6, ExplicitContextTag9, ExplicitContextTag10, ExplicitContextTag11,
            ExplicitContextTag12,
        };
        use picky_krb::messages::KrbErrorInner;
        let kstr = |s: &str| KerberosStringAsn1::from(Ia5String::from_string(s.into()).unwrap());
        let info = EtypeInfo2::from(vec![
            EtypeInfo2Entry {
                etype: ExplicitContextTag0::from(int(23)),
                salt: Optional::from(None),
                s2kparams: Optional::from(None),
            },
            EtypeInfo2Entry {
                etype: ExplicitContextTag0::from(int(17)),
                salt: Optional::from(Some(ExplicitContextTag1::from(kstr("EX.TESTcustom")))),
                s2kparams: Optional::from(None),
            },
        ]);
        let pa = PaData {
            padata_type: ExplicitContextTag1::from(int(u32::from(PA_ETYPE_INFO2))),
            padata_data: ExplicitContextTag2::from(OctetStringAsn1::from(
                picky_asn1_der::to_vec(&info).unwrap(),
            )),
        };
        let method_data = picky_asn1_der::to_vec(&Asn1SequenceOf::from(vec![pa])).unwrap();
        let now = kerberos_time(chrono::Utc::now());
        let err = KrbError::from(KrbErrorInner {
            pvno: ExplicitContextTag0::from(int(5)),
            msg_type: ExplicitContextTag1::from(int(30)),
            ctime: Optional::from(None),
            cusec: Optional::from(None),
            stime: ExplicitContextTag4::from(now),
            susec: ExplicitContextTag5::from(int(0)),
            error_code: ExplicitContextTag6::from(25u32),
            crealm: Optional::from(None),
            cname: Optional::from(None),
            realm: ExplicitContextTag9::from(kstr("EX.TEST")),
            sname: ExplicitContextTag10::from(PrincipalName {
                name_type: ExplicitContextTag0::from(int(2)),
                name_string: ExplicitContextTag1::from(Asn1SequenceOf::from(vec![
                    kstr("krbtgt"),
                    kstr("EX.TEST"),
                ])),
            }),
            e_text: Optional::from(Some(ExplicitContextTag11::from(kstr("need\r\npreauth")))),
            e_data: Optional::from(Some(ExplicitContextTag12::from(OctetStringAsn1::from(
                method_data,
            )))),
        });
        let der = picky_asn1_der::to_vec(&err).unwrap();
        let Ok(Reply::Error(reply)) = decode_reply(&der) else {
            panic!("a KRB-ERROR");
        };
        assert_eq!(reply.code, 25);
        assert_eq!(
            reply.text.as_deref(),
            Some("needpreauth"),
            "controls dropped"
        );
        assert_eq!(
            etype_hint(&reply.method_data, &p()),
            Some((ETYPE_AES128, "EX.TESTcustom".into(), None)),
            "rc4 skipped, the aes128 entry's salt used"
        );
        assert_eq!(
            etype_hint_for(&reply.method_data, ETYPE_AES128, &p()).map(|h| h.1),
            Some("EX.TESTcustom".into())
        );
        assert_eq!(etype_hint_for(&reply.method_data, ETYPE_AES256, &p()), None);
    }

    proptest::proptest! {
        #[test]
        fn replies_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = decode_reply(&bytes);
            let mut tagged = bytes.clone();
            tagged.insert(0, 0x7e);
            let _ = decode_reply(&tagged);
            tagged[0] = 0x6b;
            let _ = decode_reply(&tagged);
        }
    }
}
