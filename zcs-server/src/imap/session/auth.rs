//! Authentication: LOGIN (RFC 3501 §6.2.3) and AUTHENTICATE PLAIN (RFC 3501 §6.2.2,
//! RFC 4616), with the SASL-IR initial response (RFC 4959). Passwords are never logged.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::{Fail, Handled, Session};
use crate::imap::backend::AuthError;
use crate::imap::parser::AuthKind;
use crate::imap::reader::ReadError;
use crate::imap::response::{Reply, sanitize};

impl Session {
    /// LOGIN: user name and password as astrings.
    pub(super) async fn login(&mut self, tag: &str, user: &[u8], password: &[u8]) -> Handled {
        let user = String::from_utf8_lossy(user).into_owned();
        let password = String::from_utf8_lossy(password).into_owned();
        self.check_credentials(tag, &user, &password).await
    }

    /// AUTHENTICATE PLAIN, with the response given inline (SASL-IR) or after an empty
    /// `+` challenge.
    pub(super) async fn authenticate(
        &mut self,
        tag: &str,
        mechanism: AuthKind,
        initial: Option<Vec<u8>>,
    ) -> Handled {
        if !self.login_allowed() {
            return Ok(Reply::no("Cleartext login is disabled; use STARTTLS first")
                .with_code("PRIVACYREQUIRED"));
        }
        if let AuthKind::Other(name) = mechanism {
            return Ok(Reply::no(format!(
                "Unsupported authentication mechanism {}",
                sanitize(&name)
            )));
        }
        let encoded = match initial {
            // RFC 4959 §3: "=" stands for an empty initial response.
            Some(text) if text == b"=" => Vec::new(),
            Some(text) => text,
            None => {
                self.conn.write(b"+ \r\n").await?;
                self.conn.flush().await?;
                let max = self.cfg.max_line;
                let read = tokio::time::timeout(self.cfg.idle_timeout, self.conn.read_line(max));
                match read.await {
                    Ok(Ok(line)) => line,
                    Ok(Err(ReadError::Io(e))) => return Err(Fail::Io(e)),
                    Ok(Err(_)) => return Err(Fail::Close),
                    Err(_) => {
                        self.untagged("BYE Autologout; idle for too long").await?;
                        return Err(Fail::Close);
                    }
                }
            }
        };
        // RFC 3501 §6.2.2: a "*" line cancels the exchange.
        if encoded == b"*" {
            return Ok(Reply::bad("AUTHENTICATE cancelled"));
        }
        let Ok(decoded) = BASE64.decode(&encoded) else {
            return Ok(Reply::bad("Invalid base64 in AUTHENTICATE response"));
        };
        // RFC 4616 §2: [authzid] NUL authcid NUL passwd.
        let fields: Vec<&[u8]> = decoded.split(|&b| b == 0).collect();
        let [authzid, authcid, password] = fields.as_slice() else {
            return self.auth_failed(tag).await;
        };
        let authcid = String::from_utf8_lossy(authcid).into_owned();
        let password = String::from_utf8_lossy(password).into_owned();
        // LIMITATION: no proxy authorisation; the authorisation id must be empty or the
        // authentication id itself.
        if !authzid.is_empty() && *authzid != authcid.as_bytes() {
            return self.auth_failed(tag).await;
        }
        self.check_credentials(tag, &authcid, &password).await
    }

    async fn check_credentials(&mut self, tag: &str, user: &str, password: &str) -> Handled {
        // RFC 3501 §6.2.3: LOGINDISABLED means no plaintext password without TLS.
        if !self.login_allowed() {
            return Ok(Reply::no("Cleartext login is disabled; use STARTTLS first")
                .with_code("PRIVACYREQUIRED"));
        }
        if user.is_empty() {
            return self.auth_failed(tag).await;
        }
        match self
            .backend
            .authenticate(user, password, self.peer.ip())
            .await
        {
            Ok(account) => {
                tracing::info!(proto = "imap", ip = %self.peer, account = %sanitize(user),
                    "authenticated");
                // Per-account session limit (counted on the change bus).
                let limit = self.cfg.max_sessions_per_account;
                if limit > 0 && account.open_sessions() >= limit {
                    tracing::info!(proto = "imap", ip = %self.peer, account = %sanitize(user),
                        "too many sessions for the account");
                    return Ok(Reply::no("Too many sessions for this account").with_code("LIMIT"));
                }
                self.changes = account.changes();
                self.account = Some(account);
                let caps = self.capabilities();
                Ok(Reply::ok("Logged in").with_code(format!("CAPABILITY {caps}")))
            }
            Err(AuthError::Failed) => {
                tracing::info!(proto = "imap", ip = %self.peer, account = %sanitize(user),
                    "authentication failed");
                self.auth_failed(tag).await
            }
            Err(AuthError::Unavailable(why)) => {
                tracing::warn!(proto = "imap", ip = %self.peer, error = %why,
                    "authentication unavailable");
                Ok(Reply::no("Authentication temporarily unavailable").with_code("UNAVAILABLE"))
            }
        }
    }

    /// The answer to any failed authentication (RFC 5530 AUTHENTICATIONFAILED), after a
    /// pause; the connection is closed after too many failures.
    async fn auth_failed(&mut self, tag: &str) -> Handled {
        self.auth_failures += 1;
        tokio::time::sleep(self.cfg.auth_failure_delay).await;
        let reply = Reply::no("Authentication failed").with_code("AUTHENTICATIONFAILED");
        if self.auth_failures >= self.cfg.max_auth_failures {
            self.conn.write(&reply.render(tag)).await?;
            self.untagged("BYE Too many authentication failures")
                .await?;
            self.conn.flush().await?;
            return Err(Fail::Close);
        }
        Ok(reply)
    }
}
