//! SMTP AUTH (RFC 4954): the [`SmtpAuthenticator`] seam the server implements on the
//! directory, the authenticated user it returns, and the pure decoding of the `PLAIN`
//! (RFC 4616) and `LOGIN` SASL responses.
//!
//! The exchange itself (334 prompts, delays, replies) is run by the session. Passwords
//! pass through here and are never logged or kept.

use std::fmt;
use std::net::IpAddr;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Checks a user name and password, implemented outside this crate (on the directory).
#[async_trait]
pub trait SmtpAuthenticator: Send + Sync {
    /// Authenticates `user` (as typed by the client: an account name or alias) with
    /// `password`, for a client at `peer`. `Ok` carries the account and the addresses it
    /// may send as; `Err(Invalid)` earns `535 5.7.8` after the configured delay;
    /// `Err(TempFail)` earns `454 4.7.0`.
    async fn authenticate(
        &self,
        user: &str,
        password: &str,
        peer: IpAddr,
    ) -> Result<AuthedUser, AuthError>;
}

/// A user who authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthedUser {
    /// The account's primary name (`user@domain`).
    pub account: String,
    /// Every address the account may use as envelope sender: its name, its aliases and
    /// `zimbraAllowFromAddress` values. Compared case-insensitively. An entry `@domain`
    /// allows any address of that domain.
    pub addresses: Vec<String>,
    /// True when the account may send as anyone (an admin, or
    /// `zimbraMtaSmtpdSenderLoginMaps` switched off for it).
    pub any_sender: bool,
}

impl AuthedUser {
    /// A user who may send as `account` only.
    pub fn new(account: impl Into<String>) -> Self {
        let account = account.into();
        AuthedUser {
            addresses: vec![account.clone()],
            account,
            any_sender: false,
        }
    }

    /// Whether this user may use `sender` as the envelope sender (Postfix's
    /// `reject_sender_login_mismatch` as Zimbra configures it). The null sender `""` is
    /// always allowed.
    pub fn may_send_as(&self, sender: &str) -> bool {
        if self.any_sender || sender.is_empty() {
            return true;
        }
        let domain = sender.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        self.addresses.iter().any(|a| {
            a.eq_ignore_ascii_case(sender)
                || (a.starts_with('@') && a[1..].eq_ignore_ascii_case(domain))
        })
    }
}

/// Why authentication failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Wrong user name or password, or the account may not log in.
    #[error("authentication failed")]
    Invalid,
    /// The check could not be made now (directory down).
    #[error("authentication temporarily unavailable: {0}")]
    TempFail(String),
}

/// Credentials decoded from a SASL response. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The authentication identity (user name).
    pub user: String,
    /// The password.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// Why a SASL response is unusable: `501 5.5.2` (RFC 4954 §4).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    /// Not base64.
    #[error("cannot decode base64")]
    Base64,
    /// Decoded, but not the shape the mechanism requires.
    #[error("malformed SASL response")]
    Malformed,
    /// The authorization identity names another user (proxy authentication).
    #[error("authorization identity differs from authentication identity")]
    Proxy,
}

/// Decodes one base64 SASL response; `=` is the empty response (RFC 4954 §4).
pub fn decode_response(text: &str) -> Result<Vec<u8>, SaslError> {
    let text = text.trim();
    if text == "=" {
        return Ok(Vec::new());
    }
    STANDARD.decode(text).map_err(|_| SaslError::Base64)
}

/// Decodes a `PLAIN` response: `[authzid] NUL authcid NUL passwd` (RFC 4616 §2).
///
/// LIMITATION: an authorization identity different from the user (an admin sending as
/// someone else) is refused; Zimbra allows it for admins.
pub fn decode_plain(text: &str) -> Result<Credentials, SaslError> {
    let raw = decode_response(text)?;
    let mut parts = raw.split(|&b| b == 0);
    let (Some(authz), Some(user), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SaslError::Malformed);
    };
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| SaslError::Malformed);
    let (authz, user, password) = (text(authz)?, text(user)?, text(password)?);
    if user.is_empty() || user.len() > 255 || password.len() > 1024 {
        return Err(SaslError::Malformed);
    }
    if !authz.is_empty() && !authz.eq_ignore_ascii_case(&user) {
        return Err(SaslError::Proxy);
    }
    Ok(Credentials { user, password })
}

/// Decodes one `LOGIN` response (the user name or the password) as UTF-8 text.
pub fn decode_login(text: &str) -> Result<String, SaslError> {
    let raw = decode_response(text)?;
    if raw.len() > 1024 || raw.contains(&0) {
        return Err(SaslError::Malformed);
    }
    String::from_utf8(raw).map_err(|_| SaslError::Malformed)
}

/// Base64 of `text`, for 334 challenges.
pub(crate) fn encode(text: &str) -> String {
    STANDARD.encode(text)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn plain() {
        let c = decode_plain(&encode("\0joe@x.test\0secret")).unwrap();
        assert_eq!(c.user, "joe@x.test");
        assert_eq!(c.password, "secret");
        assert!(!format!("{c:?}").contains("secret"));
        assert!(decode_plain(&encode("joe@x.test\0joe@x.test\0pw")).is_ok());
        assert_eq!(
            decode_plain(&encode("admin\0joe\0pw")),
            Err(SaslError::Proxy)
        );
        assert_eq!(decode_plain(&encode("joe\0pw")), Err(SaslError::Malformed));
        assert_eq!(decode_plain("!!"), Err(SaslError::Base64));
        assert_eq!(decode_login(&encode("joe")).unwrap(), "joe");
        assert_eq!(decode_response("=").unwrap(), b"");
    }

    #[test]
    fn sender_ownership() {
        let mut u = AuthedUser::new("joe@x.test");
        assert!(u.may_send_as("JOE@x.test"));
        assert!(u.may_send_as(""));
        assert!(!u.may_send_as("ann@x.test"));
        u.addresses.push("@y.test".into());
        assert!(u.may_send_as("any@Y.test"));
        u.any_sender = true;
        assert!(u.may_send_as("ann@x.test"));
    }

    proptest! {
        #[test]
        fn decoders_never_panic(s in "[A-Za-z0-9+/=\\x00-\\x20é]{0,60}") {
            let _ = decode_plain(&s);
            let _ = decode_login(&s);
        }
    }
}
