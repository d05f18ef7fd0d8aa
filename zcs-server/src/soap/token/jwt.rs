//! JSON Web Tokens as Zimbra 8.8.6+ issues them for `AuthRequest tokenType="JWT"`
//! (RFC 7519, compact JWS of RFC 7515 §7.1): HS512 (RFC 7518 §3.2) under the server's
//! token key followed by a per-token salt of 20 lower-case letters. The salt is not in
//! the token: the client gets it in the `ZM_JWT` cookie (or keeps it and sends it as
//! `context/jwtSalt`), so a stolen token alone authenticates nobody. Claims: `sub`
//! (account id), `iat` and `exp` (seconds), `jti` (token id), `tvv` (the account's
//! `zimbraAuthTokenValidityValue` when issued: raising it voids every token) and
//! `admin`.
//!
//! Ending a session records the `jti` in the account's `zimbraInvalidJWTokens`
//! (`jti|expiry-ms`), which a later use of the token is checked against.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha512;
use zcs_core::{AttrEdit, Entry, ServiceResult, ZimbraId};
use zcs_directory::Provisioning;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The attribute recording ended JWTs.
pub const INVALID_ATTR: &str = "zimbraInvalidJWTokens";

/// Longest JWT read (a real one is about 300 bytes).
const MAX_LEN: usize = 4096;

/// What a JWT says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwtClaims {
    /// The account (`sub`).
    pub account: ZimbraId,
    /// Issued, ms (`iat`, kept in seconds).
    pub issued_ms: i64,
    /// Expiry, ms (`exp`, kept in seconds).
    pub expires_ms: i64,
    /// Token id (`jti`).
    pub jti: String,
    /// The account's token validity value when issued (`tvv`).
    pub validity: i64,
    /// An admin token.
    pub admin: bool,
}

/// Why a JWT was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("malformed JWT")]
    Malformed,
    #[error("JWT signature mismatch or no matching salt")]
    BadSignature,
    #[error("JWT expired")]
    Expired,
}

/// A fresh salt: 20 random lower-case letters.
pub fn new_salt() -> String {
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| char::from(b'a' + rng.gen_range(0..26u8)))
        .collect()
}

fn mac(key: &[u8], salt: &str, data: &[u8]) -> Hmac<Sha512> {
    let mut full = key.to_vec();
    full.extend_from_slice(salt.as_bytes());
    let mut m = <Hmac<Sha512> as Mac>::new_from_slice(&full).expect("HMAC takes any key length");
    m.update(data);
    m
}

/// Signs `claims` under `key` and `salt` into a compact JWT.
pub fn encode(key: &[u8], salt: &str, claims: &JwtClaims) -> String {
    let header = B64.encode(br#"{"alg":"HS512"}"#);
    let body = serde_json::json!({
        "sub": claims.account.to_string(),
        "iat": claims.issued_ms / 1000,
        "exp": claims.expires_ms / 1000,
        "jti": claims.jti,
        "tvv": claims.validity,
        "admin": claims.admin,
    });
    let payload = B64.encode(body.to_string().as_bytes());
    let signing = format!("{header}.{payload}");
    let sig = mac(key, salt, signing.as_bytes()).finalize().into_bytes();
    format!("{signing}.{}", B64.encode(sig))
}

/// Reads and checks a JWT: its signature under `key` and one of `salts` (the `ZM_JWT`
/// cookie may hold several, `|`-separated), then its expiry against `now_ms`.
///
/// # Errors
/// [`JwtError`]; the signature is checked before anything in the token is believed.
pub fn decode(key: &[u8], token: &str, salts: &str, now_ms: i64) -> Result<JwtClaims, JwtError> {
    let token = token.trim();
    if token.len() > MAX_LEN {
        return Err(JwtError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header: serde_json::Value = B64
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwtError::Malformed)?;
    // RFC 8725 §3.1: only the algorithm we issue is accepted (never `none`).
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS512") {
        return Err(JwtError::Malformed);
    }
    let sig = B64.decode(s).map_err(|_| JwtError::Malformed)?;
    let signing = &token[..h.len() + 1 + p.len()];
    let signed = salts
        .split('|')
        .map(str::trim)
        .filter(|salt| !salt.is_empty())
        .any(|salt| {
            mac(key, salt, signing.as_bytes())
                .verify_slice(&sig)
                .is_ok()
        });
    if !signed {
        return Err(JwtError::BadSignature);
    }
    let body: serde_json::Value = B64
        .decode(p)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwtError::Malformed)?;
    let num = |k: &str| body.get(k).and_then(serde_json::Value::as_i64);
    let claims = JwtClaims {
        account: body
            .get("sub")
            .and_then(|v| v.as_str())
            .and_then(|v| v.parse().ok())
            .ok_or(JwtError::Malformed)?,
        issued_ms: num("iat").unwrap_or(0).saturating_mul(1000),
        expires_ms: num("exp").ok_or(JwtError::Malformed)?.saturating_mul(1000),
        jti: body
            .get("jti")
            .and_then(|v| v.as_str())
            .ok_or(JwtError::Malformed)?
            .to_string(),
        validity: num("tvv").unwrap_or(0),
        admin: body.get("admin").and_then(|v| v.as_bool()).unwrap_or(false),
    };
    if claims.expires_ms <= now_ms {
        return Err(JwtError::Expired);
    }
    Ok(claims)
}

/// The account's `zimbraAuthTokenValidityValue` (0 when unset).
pub fn validity_of(account: &Entry) -> i64 {
    account
        .attrs
        .get("zimbraAuthTokenValidityValue")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Whether the account has ended the JWT `jti`.
pub fn is_ended(account: &Entry, jti: &str) -> bool {
    let prefix = format!("{jti}|");
    account
        .attrs
        .get_all(INVALID_ATTR)
        .iter()
        .any(|v| v == jti || v.starts_with(&prefix))
}

/// Records the JWT `jti` (expiring at `expires_ms`) as ended, dropping records of
/// tokens expired by `now_ms`.
///
/// # Errors
/// The directory write failed.
pub async fn end(
    prov: &Provisioning,
    account: &Entry,
    jti: &str,
    expires_ms: i64,
    now_ms: i64,
) -> ServiceResult<()> {
    let mut edits = Vec::new();
    for v in account.attrs.get_all(INVALID_ATTR) {
        let exp = v.split('|').nth(1).and_then(|e| e.parse::<i64>().ok());
        if exp.is_none_or(|e| e <= now_ms) {
            edits.push(AttrEdit::Remove(INVALID_ATTR.into(), v.clone()));
        }
    }
    edits.push(AttrEdit::Add(
        INVALID_ATTR.into(),
        format!("{jti}|{expires_ms}"),
    ));
    prov.directory()
        .modify_entry(account.kind, account.id, &edits)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> JwtClaims {
        JwtClaims {
            account: ZimbraId::new(),
            issued_ms: 1_700_000_000_000,
            expires_ms: 2_000_000_000_000,
            jti: "0b6f0e3c-1111-2222-3333-444455556666".into(),
            validity: 3,
            admin: false,
        }
    }

    #[test]
    fn round_trip_with_any_listed_salt() {
        let c = sample();
        let salt = new_salt();
        assert_eq!(salt.len(), 20);
        assert!(salt.bytes().all(|b| b.is_ascii_lowercase()));
        let t = encode(b"key", &salt, &c);
        assert_eq!(t.split('.').count(), 3);
        assert_eq!(decode(b"key", &t, &salt, 0), Ok(c.clone()));
        let several = format!("otherotherotherother|{salt}");
        assert_eq!(decode(b"key", &t, &several, 0), Ok(c.clone()));
    }

    #[test]
    fn refuses_wrong_salt_key_alg_and_expired() {
        let c = sample();
        let t = encode(b"key", "saltsaltsaltsaltsalt", &c);
        let bad = Err(JwtError::BadSignature);
        assert_eq!(decode(b"key", &t, "wrongwrongwrongwrong", 0), bad);
        assert_eq!(decode(b"key", &t, "", 0), bad);
        assert_eq!(decode(b"other", &t, "saltsaltsaltsaltsalt", 0), bad);
        assert_eq!(
            decode(b"key", &t, "saltsaltsaltsaltsalt", c.expires_ms),
            Err(JwtError::Expired)
        );
        // An unsigned token (`alg: none`) is refused.
        let (_, rest) = t.split_once('.').expect("parts");
        let (payload, _) = rest.split_once('.').expect("parts");
        let none = format!("{}.{payload}.", B64.encode(br#"{"alg":"none"}"#));
        assert_eq!(decode(b"key", &none, "x", 0), Err(JwtError::Malformed));
        for junk in ["", "a.b", "a.b.c.d", "...", "x.y.z"] {
            assert!(decode(b"key", junk, "s", 0).is_err());
        }
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(s in ".{0,300}", salt in "[a-z|]{0,30}") {
            let _ = decode(b"k", &s, &salt, 0);
        }
    }
}
