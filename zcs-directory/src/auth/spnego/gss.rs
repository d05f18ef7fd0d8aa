//! The wrapping around a Kerberos AP-REQ in an HTTP `Negotiate` header: the GSS-API
//! initial context token (RFC 2743 §3.1), SPNEGO's NegTokenInit (RFC 4178 §4.2.1) and the
//! Kerberos mechanism token with its token id (RFC 1964 §1.1, RFC 4121 §4.1), and the
//! reverse for the answer (a NegTokenResp carrying the AP-REP, RFC 4178 §4.2.2). A small
//! DER reader of our own does the unwrapping, so that hostile bytes are only ever sliced,
//! never handed to a decoder that could panic; NTLM offered through Negotiate is
//! recognised and refused.

use thiserror::Error;

/// DER of OID 1.3.6.1.5.5.2, SPNEGO (RFC 4178 §3).
const OID_SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
/// DER of OID 1.2.840.113554.1.2.2, Kerberos 5 (RFC 1964 §1).
pub const OID_KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
/// DER of OID 1.2.840.48018.1.2.2, the Kerberos OID Windows clients list first (an old
/// Microsoft encoding mistake kept for compatibility).
pub const OID_MS_KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];
/// DER of OID 1.3.6.1.4.1.311.2.2.10, NTLMSSP.
const OID_NTLM: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];
/// RFC 4121 §4.1: token ids of the Kerberos context tokens.
const TOK_AP_REQ: [u8; 2] = [0x01, 0x00];
const TOK_AP_REP: [u8; 2] = [0x02, 0x00];

/// Why a Negotiate token was not a Kerberos AP-REQ we can check.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TokenError {
    /// The header's token is not base64.
    #[error("the Negotiate token is not base64")]
    Base64,
    /// The DER structure is cut short or malformed.
    #[error("malformed GSS-API token: {0}")]
    Malformed(&'static str),
    /// NTLM offered through Negotiate (only Kerberos is accepted).
    #[error("NTLM is not accepted, only Kerberos")]
    Ntlm,
    /// A mechanism other than Kerberos (or NTLM) is the only one offered.
    #[error("no Kerberos mechanism token in the Negotiate token")]
    NoKerberos,
}

/// The Kerberos mechanism OID a client used, echoed in the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KrbMech {
    /// 1.2.840.113554.1.2.2.
    Standard,
    /// 1.2.840.48018.1.2.2 (Windows).
    Microsoft,
}

impl KrbMech {
    fn oid(self) -> &'static [u8] {
        match self {
            KrbMech::Standard => OID_KRB5,
            KrbMech::Microsoft => OID_MS_KRB5,
        }
    }
}

/// A client's first token, unwrapped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitToken {
    /// Whether it came in SPNEGO (else a bare Kerberos GSS token).
    pub spnego: bool,
    /// The Kerberos OID the client named for the mechanism.
    pub mech: KrbMech,
    /// The DER of the AP-REQ (RFC 4120 §5.5.1).
    pub ap_req: Vec<u8>,
}

/// One DER element: its tag byte and contents.
struct Tlv<'a> {
    tag: u8,
    body: &'a [u8],
}

/// Reads one DER element from the front of `buf`; returns it and the rest. Single-byte
/// tags only (all Kerberos and SPNEGO tags here are); definite lengths up to four bytes.
fn tlv(buf: &[u8]) -> Result<(Tlv<'_>, &[u8]), TokenError> {
    let (&tag, rest) = buf.split_first().ok_or(TokenError::Malformed("empty"))?;
    if tag & 0x1f == 0x1f {
        return Err(TokenError::Malformed("multi-byte tag"));
    }
    let (&first, mut rest) = rest
        .split_first()
        .ok_or(TokenError::Malformed("no length"))?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return Err(TokenError::Malformed("unsupported length form"));
        }
        let bytes = rest.get(..n).ok_or(TokenError::Malformed("cut length"))?;
        rest = &rest[n..];
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    let body = rest
        .get(..len)
        .ok_or(TokenError::Malformed("length past the end"))?;
    Ok((Tlv { tag, body }, &rest[len..]))
}

/// Decodes the base64 of an `Authorization: Negotiate` header (the text after the
/// scheme) and unwraps it.
///
/// # Errors
/// [`TokenError`].
pub fn parse_negotiate(b64: &str) -> Result<InitToken, TokenError> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| TokenError::Base64)?;
    unwrap_init(&raw)
}

/// Unwraps a client's initial GSS-API token (RFC 2743 §3.1): SPNEGO around a Kerberos
/// token, or a bare Kerberos token.
///
/// # Errors
/// [`TokenError`].
pub fn unwrap_init(raw: &[u8]) -> Result<InitToken, TokenError> {
    if raw.starts_with(b"NTLMSSP\0") {
        return Err(TokenError::Ntlm);
    }
    let (outer, _) = tlv(raw)?;
    if outer.tag != 0x60 {
        return Err(TokenError::Malformed("not a GSS-API initial context token"));
    }
    let (oid, inner) = tlv(outer.body)?;
    if oid.tag != 0x06 {
        return Err(TokenError::Malformed("no mechanism OID"));
    }
    if let Some(mech) = krb_mech(oid.body) {
        return Ok(InitToken {
            spnego: false,
            mech,
            ap_req: krb5_ap_req(inner)?,
        });
    }
    if oid.body != OID_SPNEGO {
        return Err(TokenError::NoKerberos);
    }
    // RFC 4178 §4.2: NegotiationToken ::= CHOICE { negTokenInit [0] ... }.
    let (choice, _) = tlv(inner)?;
    if choice.tag != 0xa0 {
        return Err(TokenError::Malformed("not a NegTokenInit"));
    }
    let (seq, _) = tlv(choice.body)?;
    if seq.tag != 0x30 {
        return Err(TokenError::Malformed("NegTokenInit is not a SEQUENCE"));
    }
    let mut mechs: Vec<&[u8]> = Vec::new();
    let mut mech_token: Option<&[u8]> = None;
    let mut fields = seq.body;
    while !fields.is_empty() {
        let (field, rest) = tlv(fields)?;
        fields = rest;
        match field.tag {
            // mechTypes [0] SEQUENCE OF OID.
            0xa0 => {
                let (list, _) = tlv(field.body)?;
                let mut items = list.body;
                while !items.is_empty() {
                    let (m, rest) = tlv(items)?;
                    items = rest;
                    if m.tag == 0x06 {
                        mechs.push(m.body);
                    }
                }
            }
            // mechToken [2] OCTET STRING.
            0xa2 => {
                let (oct, _) = tlv(field.body)?;
                if oct.tag != 0x04 {
                    return Err(TokenError::Malformed("mechToken is not an OCTET STRING"));
                }
                mech_token = Some(oct.body);
            }
            _ => {}
        }
    }
    // The optimistic token is for the first mechanism listed (RFC 4178 §3).
    let Some(first) = mechs.first() else {
        return Err(TokenError::Malformed("no mechanism listed"));
    };
    let Some(mech) = krb_mech(first) else {
        return Err(if *first == OID_NTLM {
            TokenError::Ntlm
        } else {
            TokenError::NoKerberos
        });
    };
    let token = mech_token.ok_or(TokenError::NoKerberos)?;
    if token.starts_with(b"NTLMSSP\0") {
        return Err(TokenError::Ntlm);
    }
    let (krb, _) = tlv(token)?;
    if krb.tag != 0x60 {
        return Err(TokenError::Malformed("mechToken is not a GSS-API token"));
    }
    let (oid, inner) = tlv(krb.body)?;
    if oid.tag != 0x06 || krb_mech(oid.body).is_none() {
        return Err(TokenError::NoKerberos);
    }
    Ok(InitToken {
        spnego: true,
        mech,
        ap_req: krb5_ap_req(inner)?,
    })
}

fn krb_mech(oid: &[u8]) -> Option<KrbMech> {
    match oid {
        OID_KRB5 => Some(KrbMech::Standard),
        OID_MS_KRB5 => Some(KrbMech::Microsoft),
        _ => None,
    }
}

/// RFC 4121 §4.1: after the OID, the token id 01 00 and the AP-REQ, which must be one
/// whole `[APPLICATION 14]` element.
fn krb5_ap_req(inner: &[u8]) -> Result<Vec<u8>, TokenError> {
    let Some(rest) = inner.strip_prefix(&TOK_AP_REQ) else {
        return Err(TokenError::Malformed("not a Kerberos AP-REQ token"));
    };
    let (ap, trailing) = tlv(rest)?;
    if ap.tag != 0x6e || !trailing.is_empty() {
        return Err(TokenError::Malformed("not one AP-REQ"));
    }
    Ok(rest.to_vec())
}

/// Appends a DER element with `tag` and `body`.
fn push_tlv(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    out.push(tag);
    let n = body.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(body);
}

fn wrapped(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 6);
    push_tlv(&mut out, tag, body);
    out
}

/// The Kerberos GSS token of an AP-REP (RFC 4121 §4.1): OID, token id 02 00, AP-REP.
pub fn krb5_token(mech: KrbMech, ap_rep: &[u8], ap_req: bool) -> Vec<u8> {
    let mut body = wrapped(0x06, mech.oid());
    body.extend_from_slice(if ap_req { &TOK_AP_REQ } else { &TOK_AP_REP });
    body.extend_from_slice(ap_rep);
    wrapped(0x60, &body)
}

/// The server's answer token: for SPNEGO a NegTokenResp with negResult
/// accept-completed, the chosen mechanism and the AP-REP in its GSS wrapping (RFC 4178
/// §4.2.2); for a bare Kerberos client the Kerberos token alone. `ap_rep` is `None` when
/// the client asked no mutual authentication.
pub fn accept_token(init: &InitToken, ap_rep: Option<&[u8]>) -> Vec<u8> {
    let krb = ap_rep.map(|r| krb5_token(init.mech, r, false));
    if !init.spnego {
        return krb.unwrap_or_default();
    }
    let mut fields = Vec::new();
    // negState [0] ENUMERATED accept-completed (0).
    push_tlv(&mut fields, 0xa0, &[0x0a, 0x01, 0x00]);
    push_tlv(&mut fields, 0xa1, &wrapped(0x06, init.mech.oid()));
    if let Some(k) = krb {
        push_tlv(&mut fields, 0xa2, &wrapped(0x04, &k));
    }
    wrapped(0xa1, &wrapped(0x30, &fields))
}

/// Wraps an AP-REQ as a client would (SPNEGO NegTokenInit listing Kerberos, or a bare
/// Kerberos token): tests, and a client of our own.
pub fn init_token(ap_req: &[u8], spnego: bool) -> Vec<u8> {
    let krb = krb5_token(KrbMech::Standard, ap_req, true);
    if !spnego {
        return krb;
    }
    let mut fields = Vec::new();
    push_tlv(&mut fields, 0xa0, &wrapped(0x30, &wrapped(0x06, OID_KRB5)));
    push_tlv(&mut fields, 0xa2, &wrapped(0x04, &krb));
    let mut body = wrapped(0x06, OID_SPNEGO);
    body.extend_from_slice(&wrapped(0xa0, &wrapped(0x30, &fields)));
    wrapped(0x60, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A stand-in AP-REQ: an `[APPLICATION 14]` element.
    fn ap_req() -> Vec<u8> {
        wrapped(0x6e, &[0x30, 0x03, 0x02, 0x01, 0x05])
    }

    #[test]
    fn spnego_and_bare_tokens_unwrap() {
        for spnego in [true, false] {
            let t = unwrap_init(&init_token(&ap_req(), spnego)).expect("unwraps");
            assert_eq!(t.spnego, spnego);
            assert_eq!(t.mech, KrbMech::Standard);
            assert_eq!(t.ap_req, ap_req());
        }
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(init_token(&ap_req(), true));
        assert_eq!(parse_negotiate(&b64).expect("header").ap_req, ap_req());
        assert_eq!(parse_negotiate("!!notbase64"), Err(TokenError::Base64));
    }

    #[test]
    fn long_lengths() {
        let big = wrapped(0x6e, &vec![7u8; 1000]);
        let t = unwrap_init(&init_token(&big, true)).expect("long form lengths");
        assert_eq!(t.ap_req, big);
    }

    #[test]
    fn ntlm_and_other_mechs_are_refused() {
        assert_eq!(unwrap_init(b"NTLMSSP\0\x01\0\0\0"), Err(TokenError::Ntlm));
        // SPNEGO listing NTLM first.
        let mut fields = Vec::new();
        push_tlv(&mut fields, 0xa0, &wrapped(0x30, &wrapped(0x06, OID_NTLM)));
        push_tlv(&mut fields, 0xa2, &wrapped(0x04, b"NTLMSSP\0\x01"));
        let mut body = wrapped(0x06, OID_SPNEGO);
        body.extend_from_slice(&wrapped(0xa0, &wrapped(0x30, &fields)));
        assert_eq!(unwrap_init(&wrapped(0x60, &body)), Err(TokenError::Ntlm));
        // An unknown outer mechanism.
        let mut other = wrapped(0x06, &[0x2a, 0x03]);
        other.extend_from_slice(&ap_req());
        assert_eq!(
            unwrap_init(&wrapped(0x60, &other)),
            Err(TokenError::NoKerberos)
        );
    }

    #[test]
    fn truncations_are_errors() {
        let full = init_token(&ap_req(), true);
        for n in 0..full.len() {
            assert!(unwrap_init(&full[..n]).is_err(), "prefix of {n} bytes");
        }
    }

    #[test]
    fn accept_token_shape() {
        let init = unwrap_init(&init_token(&ap_req(), true)).expect("unwraps");
        let rep = wrapped(0x6f, &[0x30, 0x00]);
        let t = accept_token(&init, Some(&rep));
        let (resp, rest) = tlv(&t).expect("NegTokenResp");
        assert!(rest.is_empty());
        assert_eq!(resp.tag, 0xa1);
        let (seq, _) = tlv(resp.body).expect("SEQUENCE");
        let (state, rest) = tlv(seq.body).expect("negState");
        assert_eq!(state.body, &[0x0a, 0x01, 0x00]);
        let (_mech, rest) = tlv(rest).expect("supportedMech");
        let (tok, _) = tlv(rest).expect("responseToken");
        let (oct, _) = tlv(tok.body).expect("OCTET STRING");
        assert!(oct.body.ends_with(&rep));
        let bare = InitToken {
            spnego: false,
            ..init
        };
        assert!(accept_token(&bare, None).is_empty());
    }

    proptest! {
        #[test]
        fn unwrap_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = unwrap_init(&bytes);
            let mut spnego = vec![0x60, 0x81, 0xff, 0x06, 0x06];
            spnego.extend_from_slice(OID_SPNEGO);
            spnego.extend_from_slice(&bytes);
            let _ = unwrap_init(&spnego);
        }

        #[test]
        fn mutated_tokens_never_panic(i in 0usize..64, b in any::<u8>()) {
            let mut t = init_token(&ap_req(), true);
            let n = t.len();
            t[i % n] = b;
            let _ = unwrap_init(&t);
        }

        #[test]
        fn any_ap_req_roundtrips(body in proptest::collection::vec(any::<u8>(), 0..600),
                                 spnego in any::<bool>()) {
            let ap = wrapped(0x6e, &body);
            let t = unwrap_init(&init_token(&ap, spnego)).expect("own token unwraps");
            prop_assert_eq!(t.ap_req, ap);
        }
    }
}
