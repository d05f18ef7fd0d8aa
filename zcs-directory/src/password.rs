//! Password hashes in `userPassword`, as Zimbra writes and reads them: `{SCHEME}` followed
//! by base64. New hashes are always `{SSHA512}` with an 8-byte random salt (what Zimbra 8
//! writes); older schemes found in migrated directories (`{SSHA}`, `{SHA}`, `{CRYPT}`,
//! bcrypt) are verified but never written.
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
/// `{SHA256}`, `{SSHA}` (salted SHA-1) and `{SHA}` (SHA-1), whose base64 text carries the
/// salt after the digest; and, for accounts migrated from other directories, `{CRYPT}`
/// followed by a crypt(3) string (MD5-crypt `$1$`, SHA-256-crypt `$5$`, SHA-512-crypt
/// `$6$`, bcrypt `$2a$`/`$2b$`/`$2y$`, or 13-character traditional DES), `{BCRYPT}`
/// followed by a bcrypt string, and a bare bcrypt string. The digest comparison of the
/// `{SHA*}` schemes takes the same time whatever the position of the first differing
/// byte.
///
/// Returns `false` for an empty `stored`, malformed text, a digest of the wrong size, or
/// an unknown scheme.
///
/// Cost: microseconds for the SHA schemes; a bcrypt or SHA-crypt check costs what its
/// stored cost factor says (tens of milliseconds at bcrypt cost 10).
// LIMITATION: `{MD5}`, `{SMD5}` and `{PBKDF2}`-style hashes are not understood; accounts
// migrated with them must reset their password.
pub fn verify(password: &str, stored: &str) -> bool {
    let stored = stored.trim();
    if is_bcrypt(stored) {
        return verify_crypt(password, stored);
    }
    let Some((scheme, encoded)) = split_scheme(stored) else {
        return false;
    };
    match scheme.as_str() {
        "CRYPT" => return verify_crypt(password, encoded),
        "BCRYPT" => return is_bcrypt(encoded) && verify_crypt(password, encoded),
        _ => {}
    }
    let Ok(raw) = B64.decode(encoded.trim()) else {
        return false;
    };
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

/// Splits `{SCHEME}rest` into the upper-cased scheme and the rest.
fn split_scheme(stored: &str) -> Option<(String, &str)> {
    let rest = stored.strip_prefix('{')?;
    let (scheme, encoded) = rest.split_once('}')?;
    Some((scheme.to_ascii_uppercase(), encoded))
}

/// Whether `s` looks like a bcrypt string (`$2a$`, `$2b$`, `$2y$`, `$2x$`).
fn is_bcrypt(s: &str) -> bool {
    ["$2a$", "$2b$", "$2y$", "$2x$"]
        .iter()
        .any(|p| s.starts_with(p))
}

/// Checks a crypt(3) string. An empty or malformed string never matches; a password
/// holding NUL never matches (crypt(3) cannot represent it).
fn verify_crypt(password: &str, crypted: &str) -> bool {
    let crypted = crypted.trim();
    if crypted.is_empty() || password.contains('\0') || !crypt_shape_ok(crypted) {
        return false;
    }
    // A panic inside the library on a hostile string must not take the login path down;
    // it counts as a mismatch.
    // The library tells the algorithm from the string's prefix: $1$, $5$, $6$, $2?$,
    // or a 13-character DES string.
    std::panic::catch_unwind(|| pwhash::unix::verify(password, crypted)).unwrap_or(false)
}

/// Cheap shape check before handing a crypt string to the library: a `$id$` prefix the
/// library knows, or exactly 13 characters of the crypt alphabet (traditional DES).
fn crypt_shape_ok(s: &str) -> bool {
    let crypt64 = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '/';
    if let Some(rest) = s.strip_prefix('$') {
        let id = rest.split('$').next().unwrap_or("");
        return matches!(id, "1" | "5" | "6" | "2a" | "2b" | "2y" | "2x")
            && s.chars().all(|c| c.is_ascii_graphic());
    }
    s.len() == 13 && s.chars().all(crypt64)
}

/// Whether `stored` uses a scheme [`verify`] understands.
pub fn is_supported(stored: &str) -> bool {
    let stored = stored.trim();
    if is_bcrypt(stored) {
        return true;
    }
    matches!(
        split_scheme(stored).map(|(s, _)| s).as_deref(),
        Some("SSHA512" | "SHA512" | "SSHA256" | "SHA256" | "SSHA" | "SHA" | "CRYPT" | "BCRYPT")
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
        assert!(is_supported("{CRYPT}x"));
        assert!(!is_supported("{MD5}x"));
        assert!(is_supported("{ssha512}x"));
    }

    /// Made with `openssl passwd -1/-5/-6 -salt abcdefgh secret`.
    const OPENSSL_VECTORS: &[&str] = &[
        "$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1",
        "$5$abcdefgh$gruCpC7VkOTspMQTTSAR8mtlO9Upms.fwqE5y16JVM.",
        concat!(
            "$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLt",
            "ip/cZ/1GM/O6IND4WQhG."
        ),
    ];

    #[test]
    fn crypt_vectors_from_openssl() {
        for h in OPENSSL_VECTORS {
            assert!(verify("secret", &format!("{{CRYPT}}{h}")), "{h}");
            assert!(!verify("secret1", &format!("{{CRYPT}}{h}")), "{h}");
        }
        // The published bcrypt test vector for "U*U".
        let b = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
        assert!(verify("U*U", b));
        assert!(verify("U*U", &format!("{{CRYPT}}{b}")));
        assert!(!verify("U*V", b));
    }

    #[test]
    #[allow(deprecated)] // DES is only made here to prove old hashes still verify.
    fn crypt_hashes_of_migrated_accounts() {
        let sha512 = pwhash::sha512_crypt::hash_with("$6$rounds=5000$abcdefgh", "secret")
            .expect("valid setting");
        let sha256 =
            pwhash::sha256_crypt::hash_with("$5$abcdefgh", "secret").expect("valid setting");
        let md5 = pwhash::md5_crypt::hash_with("$1$abcdefgh", "secret").expect("valid setting");
        let des = pwhash::unix_crypt::hash_with("ab", "secret").expect("valid setting");
        for h in [&sha512, &sha256, &md5, &des] {
            assert!(verify("secret", &format!("{{CRYPT}}{h}")), "{h}");
            assert!(!verify("Secret", &format!("{{crypt}}{h}")), "{h}");
        }
    }

    #[test]
    fn bcrypt_variants() {
        let h = pwhash::bcrypt::hash_with(
            pwhash::bcrypt::BcryptSetup {
                cost: Some(4),
                ..Default::default()
            },
            "secret",
        )
        .expect("valid setup");
        assert!(h.starts_with("$2"));
        let body = &h[3..];
        for prefix in ["$2a", "$2b", "$2y"] {
            let v = format!("{prefix}{body}");
            assert!(verify("secret", &v), "{v}");
            assert!(verify("secret", &format!("{{CRYPT}}{v}")), "{v}");
            assert!(verify("secret", &format!("{{BCRYPT}}{v}")), "{v}");
            assert!(!verify("secreT", &v), "{v}");
        }
    }

    #[test]
    fn malformed_crypt_never_verifies() {
        for s in [
            "{CRYPT}",
            "{CRYPT}$6$",
            "{CRYPT}$9$x$y",
            "{CRYPT}short",
            "{CRYPT}$2a$99$x",
            "$2a$",
        ] {
            assert!(!verify("secret", s), "{s}");
            assert!(!verify("", s), "{s}");
        }
    }

    #[test]
    fn new_hashes_stay_ssha512() {
        assert!(hash("x").starts_with("{SSHA512}"));
    }

    proptest::proptest! {
        #[test]
        fn verify_never_panics(pw in ".{0,20}", stored in ".{0,80}") {
            let _ = verify(&pw, &stored);
            let _ = verify(&pw, &format!("{{CRYPT}}{stored}"));
            let _ = verify(&pw, &format!("$2a${stored}"));
        }
    }
}
