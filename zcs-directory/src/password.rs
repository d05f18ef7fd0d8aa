//! Password hashes in `userPassword`, as Zimbra writes and reads them: `{SCHEME}` followed
//! by base64. New hashes are always `{SSHA512}` with an 8-byte random salt (what Zimbra 8
//! writes); older schemes found in migrated directories are verified but never written.
//!
//! This module only hashes and compares; password policy lives in provisioning.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngCore as _;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

/// Salt length Zimbra 8 uses for `{SSHA512}`.
const SALT_LEN: usize = 8;

/// Hashes `password` for storage: `{SSHA512}` + base64(SHA-512(password ‖ salt) ‖ salt)
/// with a fresh 8-byte random salt, so two hashes of one password differ.
///
/// Cost: one SHA-512 over the password, microseconds.
pub fn hash(password: &str) -> String {
    let mut salt = [0u8; SALT_LEN];
    rand::thread_rng().fill_bytes(&mut salt);
    hash_with_salt(password, &salt)
}

/// `{SSHA512}` hash with a given salt; [`hash`] picks the salt.
fn hash_with_salt(password: &str, salt: &[u8]) -> String {
    let mut raw = salted_digest::<Sha512>(password, salt);
    raw.extend_from_slice(salt);
    format!("{{SSHA512}}{}", B64.encode(raw))
}

/// Digest of password bytes followed by salt bytes.
fn salted_digest<D: Digest>(password: &str, salt: &[u8]) -> Vec<u8> {
    let mut d = D::new();
    d.update(password.as_bytes());
    d.update(salt);
    d.finalize().to_vec()
}

/// Whether `password` matches the stored hash `stored`.
///
/// Understood schemes (case-insensitive): `{SSHA512}`, `{SHA512}`, `{SSHA256}`,
/// `{SHA256}`, `{SSHA}` (salted SHA-1) and `{SHA}` (SHA-1). A salted scheme carries its
/// salt after the digest inside the base64 text. The comparison takes the same time
/// whatever the position of the first differing byte.
///
/// Returns `false` for an empty `stored`, malformed base64, a digest of the wrong size,
/// or an unknown scheme.
// LIMITATION: `{MD5}`, `{SMD5}`, `{CRYPT}` and `{PBKDF2}`-style hashes from other
// directories are not understood yet; accounts migrated with them must reset their
// password.
pub fn verify(password: &str, stored: &str) -> bool {
    let Some(rest) = stored.strip_prefix('{') else {
        return false;
    };
    let Some((scheme, encoded)) = rest.split_once('}') else {
        return false;
    };
    let Ok(raw) = B64.decode(encoded.trim()) else {
        return false;
    };
    let scheme = scheme.to_ascii_uppercase();
    match scheme.as_str() {
        "SSHA512" => check_salted::<Sha512>(password, &raw),
        "SHA512" => check_plain::<Sha512>(password, &raw),
        "SSHA256" => check_salted::<Sha256>(password, &raw),
        "SHA256" => check_plain::<Sha256>(password, &raw),
        "SSHA" => check_salted::<Sha1>(password, &raw),
        "SHA" => check_plain::<Sha1>(password, &raw),
        _ => false,
    }
}

/// Whether `stored` uses a scheme [`verify`] understands.
pub fn is_supported(stored: &str) -> bool {
    let scheme = stored
        .strip_prefix('{')
        .and_then(|r| r.split_once('}'))
        .map(|(s, _)| s.to_ascii_uppercase());
    matches!(
        scheme.as_deref(),
        Some("SSHA512" | "SHA512" | "SSHA256" | "SHA256" | "SSHA" | "SHA")
    )
}

/// Salted digest check: `raw` is digest ‖ salt, salt of any non-zero length.
fn check_salted<D: Digest>(password: &str, raw: &[u8]) -> bool {
    let n = <D as Digest>::output_size();
    if raw.len() <= n {
        return false;
    }
    let (digest, salt) = raw.split_at(n);
    constant_time_eq(&salted_digest::<D>(password, salt), digest)
}

/// Unsalted digest check: `raw` is exactly the digest.
fn check_plain<D: Digest>(password: &str, raw: &[u8]) -> bool {
    raw.len() == <D as Digest>::output_size()
        && constant_time_eq(&salted_digest::<D>(password, &[]), raw)
}

/// Compares two byte strings without an early exit on the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssha512_layout_matches_zimbra() {
        let h = hash_with_salt("test123", b"saltsalt");
        let raw = B64.decode(h.strip_prefix("{SSHA512}").unwrap()).unwrap();
        assert_eq!(raw.len(), 64 + 8);
        assert_eq!(&raw[64..], b"saltsalt");
        let mut d = Sha512::new();
        d.update(b"test123saltsalt");
        assert_eq!(&raw[..64], d.finalize().as_slice());
        assert!(verify("test123", &h));
        assert!(!verify("test124", &h));
    }

    #[test]
    fn fresh_hashes_differ_and_verify() {
        let a = hash("pw");
        let b = hash("pw");
        assert_ne!(a, b);
        assert!(verify("pw", &a) && verify("pw", &b));
    }

    #[test]
    fn garbage_never_verifies() {
        for s in [
            "",
            "{SSHA512}",
            "{SSHA512}!!!",
            "{SHA}AAAA",
            "{FOO}AAAA",
            "plain",
            "{SSHA",
        ] {
            assert!(!verify("", s), "{s}");
        }
        assert!(!is_supported("{CRYPT}x"));
        assert!(is_supported("{ssha512}x"));
    }
}
