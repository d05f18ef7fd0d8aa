//! Auth tokens in Zimbra's shape (`ZimbraAuthToken`): `<keyVersion>_<hex MAC>_<hex of
//! "name=len:value;" pairs>`, carrying the account id, the expiry, the token id and
//! whether it is an admin token. Opaque to clients; this module signs, reads and checks
//! them, and keeps the signing key in the global config's `zimbraAuthTokenKey`.
//!
//! Each issued token's id is recorded in the account's `zimbraAuthTokens`
//! (`tid|expiry|zcs`), so EndSession can void one token and an altered or forgotten
//! token is refused. JSON Web Tokens (`tokenType="JWT"`) are in `jwt`.

pub mod jwt;
pub mod ledger;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use zcs_core::{AttrEdit, Entry, ServiceResult, ZimbraId};
use zcs_directory::Provisioning;

/// Whether a token of `account` still authenticates: the account's status, with its
/// domain's `zimbraDomainStatus` taking precedence as Zimbra computes it
/// ([`zcs_directory::auth::effective_status`]), must be `active` or `lockout` (a
/// locked-out account keeps the sessions it had). A suspended, locked, closed or
/// maintenance domain voids the tokens of every account in it but global
/// administrators (`service.AUTH_EXPIRED` for the caller).
///
/// # Errors
/// `service.FAILURE` when the directory fails.
pub async fn status_allows(prov: &Provisioning, account: &Entry) -> ServiceResult<bool> {
    let own = account.attrs.get("zimbraAccountStatus").unwrap_or("active");
    if !own.eq_ignore_ascii_case("active") && !own.eq_ignore_ascii_case("lockout") {
        return Ok(false);
    }
    // A global administrator answers for its own status only, as in Zimbra (it may
    // suspend its own domain and go on working).
    let flag = |n: &str| {
        account
            .attrs
            .get(n)
            .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
    };
    if flag("zimbraIsAdminAccount") && !flag("zimbraIsDomainAdminAccount") {
        return Ok(true);
    }
    let Some(domain) = account.domain() else {
        return Ok(true);
    };
    let dom = match prov
        .get_domain(&zcs_directory::EntryKey::Name(domain.to_string()))
        .await
    {
        Ok(d) => d,
        Err(e) if e.code == zcs_core::FaultCode::NoSuchDomain => return Ok(true),
        Err(e) => return Err(e),
    };
    let dom_status = dom.attrs.get("zimbraDomainStatus");
    if dom_status.is_none_or(|s| s.is_empty() || s.eq_ignore_ascii_case("active")) {
        return Ok(true);
    }
    Ok(zcs_directory::auth::effective_status(own, dom_status) == "active")
}

/// The key version every token starts with.
const KEY_VERSION: &str = "0";

/// What a token says. Everything in it is covered by the MAC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenData {
    /// The authenticated account's `zimbraId`.
    pub account: ZimbraId,
    /// Expiry, ms since the epoch.
    pub expires_ms: i64,
    /// Issued by the admin AuthRequest to an admin account.
    pub admin: bool,
    /// Token id: what `zimbraAuthTokens` records.
    pub tid: u32,
}

/// The optional claims of a token, also covered by the MAC.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenClaims {
    /// Issued with `csrfTokenSecured="1"`: cookie-borne uses need the CSRF token.
    pub csrf: bool,
    /// Issued by DelegateAuth: the admin who asked for it (Zimbra's `aid`).
    pub delegator: Option<ZimbraId>,
    /// Issued for a password recovery code: good for ResetPasswordRequest only.
    pub reset_only: bool,
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("malformed auth token")]
    Malformed,
    #[error("auth token signature mismatch")]
    BadSignature,
    #[error("auth token expired")]
    Expired,
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn mac(key: &[u8], data: &[u8]) -> Hmac<Sha256> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data);
    m
}

/// Encodes `pairs` as Zimbra's blob metadata: `name=len:value;` each.
fn encode_pairs(pairs: &[(&str, String)]) -> String {
    let mut s = String::new();
    for (k, v) in pairs {
        s.push_str(&format!("{k}={}:{v};", v.len()));
    }
    s
}

/// Reads `name=len:value;` pairs; `None` when a length is wrong.
fn decode_pairs(text: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let (len, after) = after.split_once(':')?;
        let len: usize = len.parse().ok()?;
        let value = after.get(..len)?;
        rest = after.get(len..)?.strip_prefix(';')?;
        out.push((key.to_string(), value.to_string()));
    }
    Some(out)
}

/// Signs `data` into a token string with `key`.
pub fn encode(key: &[u8], data: &TokenData) -> String {
    encode_with(key, data, &TokenClaims::default())
}

/// Signs `data` and `claims` into a token string with `key`.
pub fn encode_with(key: &[u8], data: &TokenData, claims: &TokenClaims) -> String {
    let mut pairs = vec![
        ("id", data.account.to_string()),
        ("exp", data.expires_ms.to_string()),
        ("type", "zimbra".to_string()),
        ("tid", data.tid.to_string()),
    ];
    if data.admin {
        pairs.push(("admin", "1".to_string()));
    }
    if claims.csrf {
        pairs.push(("csrf", "1".to_string()));
    }
    if let Some(aid) = claims.delegator {
        pairs.push(("aid", aid.to_string()));
    }
    if claims.reset_only {
        pairs.push(("rp", "1".to_string()));
    }
    let plain = encode_pairs(&pairs);
    let sig = mac(key, plain.as_bytes()).finalize().into_bytes();
    format!("{KEY_VERSION}_{}_{}", hex(&sig), hex(plain.as_bytes()))
}

/// Reads and checks a token: its MAC under `key` (constant time) and its expiry
/// against `now_ms`.
///
/// # Errors
/// [`TokenError`]; a bad signature is reported before expiry so an attacker learns
/// nothing from an altered expiry.
pub fn decode(key: &[u8], token: &str, now_ms: i64) -> Result<TokenData, TokenError> {
    decode_with(key, token, now_ms).map(|(d, _)| d)
}

/// As [`decode`], with the token's optional claims.
///
/// # Errors
/// As [`decode`].
pub fn decode_with(
    key: &[u8],
    token: &str,
    now_ms: i64,
) -> Result<(TokenData, TokenClaims), TokenError> {
    let mut parts = token.trim().splitn(3, '_');
    let (Some(_ver), Some(sig), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(TokenError::Malformed);
    };
    let sig = unhex(sig).ok_or(TokenError::Malformed)?;
    let plain = unhex(body).ok_or(TokenError::Malformed)?;
    mac(key, &plain)
        .verify_slice(&sig)
        .map_err(|_| TokenError::BadSignature)?;
    let plain = String::from_utf8(plain).map_err(|_| TokenError::Malformed)?;
    let pairs = decode_pairs(&plain).ok_or(TokenError::Malformed)?;
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let data = TokenData {
        account: get("id")
            .and_then(|v| v.parse().ok())
            .ok_or(TokenError::Malformed)?,
        expires_ms: get("exp")
            .and_then(|v| v.parse().ok())
            .ok_or(TokenError::Malformed)?,
        admin: get("admin") == Some("1"),
        tid: get("tid")
            .and_then(|v| v.parse().ok())
            .ok_or(TokenError::Malformed)?,
    };
    let claims = TokenClaims {
        csrf: get("csrf") == Some("1"),
        delegator: match get("aid") {
            Some(v) => Some(v.parse().map_err(|_| TokenError::Malformed)?),
            None => None,
        },
        reset_only: get("rp") == Some("1"),
    };
    if data.expires_ms <= now_ms {
        return Err(TokenError::Expired);
    }
    Ok((data, claims))
}

/// The CSRF token that goes with auth token `data` (returned by AuthRequest
/// `csrfTokenSecured="1"`): `0_` and the hex MAC, under the token key, of the token's
/// account, id and expiry. Stateless: [`csrf_valid`] recomputes it.
pub fn csrf_token(key: &[u8], data: &TokenData) -> String {
    let text = format!("csrf|{}|{}|{}", data.account, data.tid, data.expires_ms);
    let sig = mac(key, text.as_bytes()).finalize().into_bytes();
    format!("{KEY_VERSION}_{}", hex(&sig))
}

/// Whether `presented` is the CSRF token of `data` (constant-time comparison).
pub fn csrf_valid(key: &[u8], data: &TokenData, presented: &str) -> bool {
    let Some(sig) = presented.trim().strip_prefix("0_").and_then(unhex) else {
        return false;
    };
    let text = format!("csrf|{}|{}|{}", data.account, data.tid, data.expires_ms);
    mac(key, text.as_bytes()).verify_slice(&sig).is_ok()
}

/// The signing key from the global config's `zimbraAuthTokenKey`, generated (32 random
/// bytes, hex) and stored on first use. Costs a directory read, and a write once.
///
/// # Errors
/// The directory cannot be read or written.
pub async fn load_key(prov: &Provisioning) -> ServiceResult<Vec<u8>> {
    let global = prov.global_config().await?;
    if let Some(k) = global
        .attrs
        .get("zimbraAuthTokenKey")
        .filter(|k| !k.is_empty())
    {
        return Ok(k.as_bytes().to_vec());
    }
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let key = hex(&raw);
    // The key is server-maintained (immutable to admins), so it is written directly.
    let edits = [AttrEdit::Add("zimbraAuthTokenKey".into(), key)];
    let global = prov
        .directory()
        .modify_entry(global.kind, global.id, &edits)
        .await?;
    tracing::info!("generated zimbraAuthTokenKey");
    // Another process may have won the race: use whatever is stored first.
    let stored = global.attrs.get("zimbraAuthTokenKey").unwrap_or_default();
    Ok(stored.as_bytes().to_vec())
}

/// A fresh random token id.
pub fn new_tid() -> u32 {
    rand::thread_rng().next_u32() & 0x7fff_ffff
}

/// Whether `account` has token id `tid` registered (see the module doc).
pub fn is_registered(account: &Entry, tid: u32) -> bool {
    let prefix = format!("{tid}|");
    account
        .attrs
        .get_all("zimbraAuthTokens")
        .iter()
        .any(|v| v.starts_with(&prefix))
}

/// What `zimbraAuthTokens` records for a token: `tid|expiry|zcs`.
pub fn token_value(data: &TokenData) -> String {
    format!("{}|{}|zcs", data.tid, data.expires_ms)
}

/// The edits that add `values` to the account's `zimbraAuthTokens` and drop the
/// entries that expired by `now_ms`.
pub fn registration_edits(account: &Entry, values: &[String], now_ms: i64) -> Vec<AttrEdit> {
    let mut edits = Vec::new();
    for v in account.attrs.get_all("zimbraAuthTokens") {
        let exp = v.split('|').nth(1).and_then(|e| e.parse::<i64>().ok());
        if exp.is_none_or(|e| e <= now_ms) {
            edits.push(AttrEdit::Remove("zimbraAuthTokens".into(), v.clone()));
        }
    }
    for v in values {
        edits.push(AttrEdit::Add("zimbraAuthTokens".into(), v.clone()));
    }
    edits
}

/// Records a new token id on the account at once, dropping expired entries: for tokens
/// minted by tools and internal clients, which another process may check right away.
/// Logins go through [`ledger::TokenLedger`] instead.
///
/// # Errors
/// The directory write failed.
pub async fn register(
    prov: &Provisioning,
    account: &Entry,
    data: &TokenData,
    now_ms: i64,
) -> ServiceResult<()> {
    let edits = registration_edits(account, &[token_value(data)], now_ms);
    prov.directory()
        .modify_entry(account.kind, account.id, &edits)
        .await?;
    Ok(())
}

/// Removes token id `tid` from the account (EndSession).
///
/// # Errors
/// The directory write failed.
pub async fn unregister(prov: &Provisioning, account: &Entry, tid: u32) -> ServiceResult<()> {
    let prefix = format!("{tid}|");
    let edits: Vec<AttrEdit> = account
        .attrs
        .get_all("zimbraAuthTokens")
        .iter()
        .filter(|v| v.starts_with(&prefix))
        .map(|v| AttrEdit::Remove("zimbraAuthTokens".into(), v.clone()))
        .collect();
    if !edits.is_empty() {
        prov.directory()
            .modify_entry(account.kind, account.id, &edits)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TokenData {
        TokenData {
            account: ZimbraId::new(),
            expires_ms: 2_000_000_000_000,
            admin: true,
            tid: 42,
        }
    }

    #[test]
    fn csrf_and_delegation_round_trip() {
        let d = sample();
        let claims = TokenClaims {
            csrf: true,
            delegator: Some(ZimbraId::new()),
            reset_only: true,
        };
        let t = encode_with(b"key", &d, &claims);
        assert_eq!(decode_with(b"key", &t, 0), Ok((d.clone(), claims)));
        assert_eq!(decode(b"key", &t, 0), Ok(d.clone()));
        let c = csrf_token(b"key", &d);
        assert!(csrf_valid(b"key", &d, &c));
        assert!(!csrf_valid(b"other", &d, &c));
        let other = TokenData {
            tid: 43,
            ..d.clone()
        };
        assert!(!csrf_valid(b"key", &other, &c));
        for bad in ["", "0_", "0_zz", "garbage", "1_00"] {
            assert!(!csrf_valid(b"key", &d, bad));
        }
    }

    #[test]
    fn round_trip_and_shape() {
        let d = sample();
        let t = encode(b"key", &d);
        assert!(t.starts_with("0_"));
        let body = t.rsplit('_').next().expect("three parts");
        let plain = String::from_utf8(unhex(body).expect("hex")).expect("utf8");
        assert!(plain.starts_with(&format!("id=36:{};exp=13:2000000000000;", d.account)));
        assert_eq!(decode(b"key", &t, 0), Ok(d));
    }

    #[test]
    fn refuses_altered_wrong_key_and_expired() {
        let d = sample();
        let t = encode(b"key", &d);
        assert_eq!(decode(b"other", &t, 0), Err(TokenError::BadSignature));
        let forged = encode(
            b"key",
            &TokenData {
                admin: false,
                ..d.clone()
            },
        );
        let (head, _) = t.rsplit_once('_').expect("parts");
        let (_, body) = forged.rsplit_once('_').expect("parts");
        assert_eq!(
            decode(b"key", &format!("{head}_{body}"), 0),
            Err(TokenError::BadSignature)
        );
        assert_eq!(decode(b"key", &t, d.expires_ms), Err(TokenError::Expired));
        for bad in ["", "0", "0_zz_zz", "0__", "x_y_z"] {
            assert!(decode(b"key", bad, 0).is_err());
        }
    }

    #[test]
    fn pairs_codec() {
        let s = encode_pairs(&[("a", "x;y".into()), ("b", String::new())]);
        assert_eq!(s, "a=3:x;y;b=0:;");
        assert_eq!(decode_pairs(&s).map(|v| v.len()), Some(2));
        assert_eq!(decode_pairs("a=9:x;"), None);
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(s in ".{0,200}") {
            let _ = decode(b"k", &s, 0);
            let _ = decode_pairs(&s);
        }
    }
}
