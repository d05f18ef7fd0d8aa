//! Tests of the AP-REQ acceptor: AP-REQs built here the way a KDC and a client build
//! them (a service key from a keytab, a session key in the ticket), then refused for each
//! reason a real acceptor has.

use super::*;
use crate::auth::spnego::keytab::KeytabEntry;
use picky_asn1::bit_string::BitString;
use picky_asn1::date::Date;
use picky_asn1::restricted_string::Ia5String;
use picky_asn1::wrapper::{
    Asn1SequenceOf, BitStringAsn1, ExplicitContextTag4, ExplicitContextTag5, GeneralizedTimeAsn1,
};
use picky_krb::data_types::{
    AuthenticatorInner, EncTicketPartInner, EncryptionKey, KerberosStringAsn1, TicketInner,
    TransitedEncoding,
};
use picky_krb::messages::ApReqInner;
use proptest::prelude::*;

const SVC_KEY: [u8; 32] = [7; 32];
const SESSION_KEY: [u8; 32] = [9; 32];

fn kstr(s: &str) -> KerberosStringAsn1 {
    KerberosStringAsn1::from(Ia5String::from_string(s.to_string()).expect("ascii"))
}

fn int(v: u32) -> IntegerAsn1 {
    IntegerAsn1::from_bytes_be_unsigned(v.to_be_bytes().to_vec())
}

fn name(kind: u32, parts: &[&str]) -> PrincipalName {
    PrincipalName {
        name_type: ExplicitContextTag0::from(int(kind)),
        name_string: ExplicitContextTag1::from(Asn1SequenceOf::from(
            parts.iter().map(|p| kstr(p)).collect::<Vec<_>>(),
        )),
    }
}

fn ktime(t: DateTime<Utc>) -> KerberosTime {
    use chrono::{Datelike, Timelike};
    GeneralizedTimeAsn1::from(
        Date::new(
            t.year() as u16,
            t.month() as u8,
            t.day() as u8,
            t.hour() as u8,
            t.minute() as u8,
            t.second() as u8,
        )
        .expect("valid date"),
    )
}

/// What to put in a test AP-REQ.
struct Spec {
    svc_key: [u8; 32],
    ticket_client: &'static str,
    auth_client: &'static str,
    now: DateTime<Utc>,
    ctime: DateTime<Utc>,
    end: DateTime<Utc>,
    cusec: u32,
    mutual: bool,
}

fn spec() -> Spec {
    let now = Utc::now();
    Spec {
        svc_key: SVC_KEY,
        ticket_client: "alice",
        auth_client: "alice",
        now,
        ctime: now,
        end: now + chrono::Duration::hours(1),
        cusec: 1234,
        mutual: true,
    }
}

fn encrypt(key: &[u8], usage: i32, plain: &[u8]) -> EncryptedData {
    let cipher = CipherSuite::Aes256CtsHmacSha196
        .cipher()
        .encrypt(key, usage, plain)
        .expect("encrypts");
    EncryptedData {
        etype: ExplicitContextTag0::from(int(18)),
        kvno: Optional::from(Some(ExplicitContextTag1::from(int(2)))),
        cipher: ExplicitContextTag2::from(OctetStringAsn1::from(cipher)),
    }
}

fn build(s: &Spec) -> Vec<u8> {
    let part: EncTicketPart = ApplicationTag(EncTicketPartInner {
        flags: ExplicitContextTag0::from(BitStringAsn1::from(BitString::with_len(32))),
        key: ExplicitContextTag1::from(EncryptionKey {
            key_type: ExplicitContextTag0::from(int(18)),
            key_value: ExplicitContextTag1::from(OctetStringAsn1::from(SESSION_KEY.to_vec())),
        }),
        crealm: ExplicitContextTag2::from(kstr("EX.TEST")),
        cname: ExplicitContextTag3::from(name(1, &[s.ticket_client])),
        transited: ExplicitContextTag4::from(TransitedEncoding {
            tr_type: ExplicitContextTag0::from(int(1)),
            contents: ExplicitContextTag1::from(OctetStringAsn1::from(Vec::new())),
        }),
        auth_time: ExplicitContextTag5::from(ktime(s.now - chrono::Duration::minutes(1))),
        starttime: Optional::from(None),
        endtime: picky_asn1::wrapper::ExplicitContextTag7::from(ktime(s.end)),
        renew_till: Optional::from(None),
        caddr: Optional::from(None),
        authorization_data: Optional::from(None),
    });
    let ticket = ApplicationTag(TicketInner {
        tkt_vno: ExplicitContextTag0::from(int(5)),
        realm: ExplicitContextTag1::from(kstr("EX.TEST")),
        sname: ExplicitContextTag2::from(name(2, &["HTTP", "mail.ex.test"])),
        enc_part: ExplicitContextTag3::from(encrypt(
            &s.svc_key,
            KU_TICKET,
            &picky_asn1_der::to_vec(&part).expect("encodes"),
        )),
    });
    let auth: Authenticator = ApplicationTag(AuthenticatorInner {
        authenticator_vno: ExplicitContextTag0::from(int(5)),
        crealm: ExplicitContextTag1::from(kstr("EX.TEST")),
        cname: ExplicitContextTag2::from(name(1, &[s.auth_client])),
        cksum: Optional::from(None),
        cusec: ExplicitContextTag4::from(int(s.cusec)),
        ctime: ExplicitContextTag5::from(ktime(s.ctime)),
        subkey: Optional::from(None),
        seq_number: Optional::from(Some(picky_asn1::wrapper::ExplicitContextTag7::from(int(
            77,
        )))),
        authorization_data: Optional::from(None),
    });
    let mut options = BitString::with_len(32);
    options.set(AP_MUTUAL_REQUIRED, s.mutual);
    let req: ApReq = ApplicationTag(ApReqInner {
        pvno: ExplicitContextTag0::from(int(5)),
        msg_type: ExplicitContextTag1::from(int(14)),
        ap_options: ExplicitContextTag2::from(BitStringAsn1::from(options)),
        ticket: ExplicitContextTag3::from(ticket),
        authenticator: picky_asn1::wrapper::ExplicitContextTag4::from(encrypt(
            &SESSION_KEY,
            KU_AP_REQ_AUTHENTICATOR,
            &picky_asn1_der::to_vec(&auth).expect("encodes"),
        )),
    });
    picky_asn1_der::to_vec(&req).expect("encodes")
}

fn keytab(key: [u8; 32]) -> Keytab {
    Keytab {
        entries: vec![KeytabEntry {
            components: vec!["HTTP".into(), "mail.ex.test".into()],
            realm: "EX.TEST".into(),
            name_type: 1,
            timestamp: 0,
            kvno: 2,
            enctype: 18,
            key: key.to_vec(),
        }],
    }
}

fn svc() -> Principal {
    Principal::parse("HTTP/mail.ex.test@EX.TEST", None).expect("principal")
}

fn run(s: &Spec, kt: &Keytab, cache: &ReplayCache) -> Result<Accepted, AcceptError> {
    accept(&build(s), kt, Some(&svc()), cache, s.now, DEFAULT_SKEW)
}

#[test]
fn a_good_ap_req_is_accepted_with_an_ap_rep() {
    let s = spec();
    let cache = ReplayCache::new();
    let ok = run(&s, &keytab(SVC_KEY), &cache).expect("accepted");
    assert_eq!(ok.client.to_string(), "alice@EX.TEST");
    assert_eq!(ok.service, svc());
    let rep = ok.ap_rep.expect("mutual asked");
    let rep: ApRep = picky_asn1_der::from_bytes(&rep).expect("AP-REP decodes");
    let plain = CipherSuite::Aes256CtsHmacSha196
        .cipher()
        .decrypt(
            &SESSION_KEY,
            KU_AP_REP_ENC_PART,
            &rep.0.enc_part.0.cipher.0.0,
        )
        .expect("AP-REP decrypts with the session key");
    let part: EncApRepPart = picky_asn1_der::from_bytes(&plain).expect("EncAPRepPart");
    assert_eq!(small_int(&part.0.cusec.0), Some(1234));
    assert!(part.0.seq_number.0.is_some());

    let mut no_mutual = spec();
    no_mutual.mutual = false;
    no_mutual.cusec = 1;
    let ok = run(&no_mutual, &keytab(SVC_KEY), &cache).expect("accepted");
    assert!(ok.ap_rep.is_none());
    // Without an expected service, the keytab's principals are accepted.
    let mut any = spec();
    any.cusec = 2;
    accept(
        &build(&any),
        &keytab(SVC_KEY),
        None,
        &cache,
        any.now,
        DEFAULT_SKEW,
    )
    .expect("any keytab principal");
}

#[test]
fn refusals() {
    let cache = ReplayCache::new();
    let s = spec();
    assert_eq!(
        run(&s, &keytab([1; 32]), &cache).map(|a| a.client),
        Err(AcceptError::BadKey("HTTP/mail.ex.test@EX.TEST".into()))
    );
    run(&s, &keytab(SVC_KEY), &cache).expect("first use");
    assert!(matches!(
        run(&s, &keytab(SVC_KEY), &cache),
        Err(AcceptError::Replay(_))
    ));
    let mut skewed = spec();
    skewed.ctime = skewed.now - chrono::Duration::minutes(6);
    assert!(matches!(
        run(&skewed, &keytab(SVC_KEY), &cache),
        Err(AcceptError::ClockSkew { .. })
    ));
    let mut expired = spec();
    expired.end = expired.now - chrono::Duration::minutes(6);
    assert_eq!(
        run(&expired, &keytab(SVC_KEY), &cache).map(|a| a.client),
        Err(AcceptError::TicketTime("expired"))
    );
    let mut other = spec();
    other.auth_client = "mallory";
    assert!(matches!(
        run(&other, &keytab(SVC_KEY), &cache),
        Err(AcceptError::ClientMismatch { .. })
    ));
    let mut empty = keytab(SVC_KEY);
    empty.entries[0].kvno = 3;
    assert!(matches!(
        run(&spec(), &empty, &cache),
        Err(AcceptError::NoKey { .. })
    ));
    let mut short = keytab(SVC_KEY);
    short.entries[0].key.truncate(16);
    assert!(matches!(
        run(&spec(), &short, &cache),
        Err(AcceptError::BadKey(_))
    ));
    let want = Principal::parse("HTTP/other@EX.TEST", None).expect("principal");
    let s = spec();
    assert!(matches!(
        accept(
            &build(&s),
            &keytab(SVC_KEY),
            Some(&want),
            &cache,
            s.now,
            DEFAULT_SKEW
        ),
        Err(AcceptError::WrongService { .. })
    ));
    assert_eq!(
        accept(
            b"\x6e\x00",
            &keytab(SVC_KEY),
            None,
            &cache,
            s.now,
            DEFAULT_SKEW
        )
        .map(|a| a.client),
        Err(AcceptError::Malformed("AP-REQ"))
    );
}

#[test]
fn truncated_ap_reqs_are_refused() {
    let s = spec();
    let full = build(&s);
    let cache = ReplayCache::new();
    for n in 0..full.len() {
        assert!(
            accept(
                &full[..n],
                &keytab(SVC_KEY),
                None,
                &cache,
                s.now,
                DEFAULT_SKEW
            )
            .is_err(),
            "prefix {n}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let cache = ReplayCache::new();
        let _ = accept(&bytes, &keytab(SVC_KEY), None, &cache, Utc::now(), DEFAULT_SKEW);
        let mut tagged = vec![0x6e, 0x82, 0x01, 0x00];
        tagged.extend_from_slice(&bytes);
        let _ = accept(&tagged, &keytab(SVC_KEY), None, &cache, Utc::now(), DEFAULT_SKEW);
    }

    #[test]
    fn mutated_ap_reqs_never_panic(i in 0usize..2000, b in any::<u8>()) {
        let s = spec();
        let mut req = build(&s);
        let n = req.len();
        req[i % n] = b;
        let cache = ReplayCache::new();
        let _ = accept(&req, &keytab(SVC_KEY), None, &cache, s.now, DEFAULT_SKEW);
    }
}
