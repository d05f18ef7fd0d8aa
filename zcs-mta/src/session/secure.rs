//! `STARTTLS` (RFC 3207) and `AUTH` (RFC 4954) inside a session: offering them in the
//! EHLO answer, switching the connection to TLS, and running the SASL exchange of the
//! `PLAIN` and `LOGIN` mechanisms against `SmtpAuthenticator`.
//!
//! The decoding of SASL responses is in `crate::auth`; passwords are never logged.

use std::io;

use tracing::{debug, info};

use super::{Flow, Session, Wait};
use crate::Protocol;
use crate::auth::{AuthError, Credentials, SaslError, decode_login, decode_plain, encode};
use crate::line::{LineEvent, LineReader};
use crate::reply::{Reply, Status};

impl Session {
    /// Whether `STARTTLS` goes in the EHLO answer: an acceptor is configured and the
    /// connection is not yet under TLS.
    pub(super) fn starttls_offered(&self) -> bool {
        self.cfg.tls.is_some() && !self.io.is_tls()
    }

    /// Whether `AUTH` goes in the EHLO answer: SMTP with an authenticator, nobody
    /// authenticated yet, and TLS active unless cleartext AUTH is allowed.
    pub(super) fn auth_offered(&self) -> bool {
        self.cfg.protocol == Protocol::Smtp
            && self.cfg.authenticator.is_some()
            && self.authed.is_none()
            && (self.io.is_tls() || !self.cfg.require_tls_for_auth)
    }

    /// `STARTTLS` (RFC 3207 §4): `220`, then the handshake; afterwards the session starts
    /// over as if just connected (§4.2), without a new greeting.
    pub(super) async fn starttls(&mut self) -> io::Result<Flow> {
        let Some(acceptor) = self.cfg.tls.clone() else {
            let reply = Reply::new(502, Status(5, 5, 1), "Error: command not implemented");
            return Ok(self.protocol_error(reply));
        };
        if self.io.is_tls() {
            return Ok(self.bad_sequence("Error: TLS already active"));
        }
        if self.tx.is_some() {
            return Ok(self.bad_sequence("Error: STARTTLS not allowed during a transaction"));
        }
        self.push(Reply::new(220, Status(2, 0, 0), "Ready to start TLS"));
        self.flush().await?;
        // RFC 3207 §6: commands pipelined behind STARTTLS arrived in cleartext and could
        // have been injected; they are thrown away.
        if !self.inbuf.is_empty() {
            debug!(
                octets = self.inbuf.len(),
                "discarding input sent before the handshake"
            );
            self.inbuf.clear();
        }
        self.lines = LineReader::new(self.cfg.max_line_length);
        if let Err(e) = self.io.upgrade(&acceptor, self.cfg.idle_timeout).await {
            debug!(error = %e, "TLS handshake failed");
            return Ok(Flow::Abort);
        }
        debug!("TLS established");
        self.helo = None;
        self.tx = None;
        self.authed = None;
        Ok(Flow::Continue)
    }

    /// `AUTH mechanism [initial-response]` (RFC 4954 §4).
    pub(super) async fn auth(
        &mut self,
        mechanism: &str,
        initial: Option<String>,
    ) -> io::Result<Flow> {
        let Some(authenticator) = self.cfg.authenticator.clone() else {
            let reply = Reply::new(502, Status(5, 5, 1), "Error: command not implemented");
            return Ok(self.protocol_error(reply));
        };
        if self.cfg.protocol != Protocol::Smtp {
            let reply = Reply::new(502, Status(5, 5, 1), "Error: command not implemented");
            return Ok(self.protocol_error(reply));
        }
        if self.helo.is_none() {
            return Ok(self.bad_sequence("Error: send EHLO first"));
        }
        if self.authed.is_some() {
            return Ok(self.bad_sequence("Error: already authenticated"));
        }
        if self.tx.is_some() {
            return Ok(self.bad_sequence("Error: AUTH not allowed during a mail transaction"));
        }
        if !self.io.is_tls() && self.cfg.require_tls_for_auth {
            // RFC 4954 §6: 538 encryption required for requested authentication mechanism.
            let text = "Encryption required for requested authentication mechanism";
            return Ok(self.protocol_error(Reply::new(538, Status(5, 7, 11), text)));
        }

        let credentials = match mechanism {
            "PLAIN" => {
                let response = match initial {
                    Some(r) => r,
                    None => match self.challenge("").await? {
                        Ok(r) => r,
                        Err(flow) => return Ok(flow),
                    },
                };
                decode_plain(&response)
            }
            "LOGIN" => {
                let user = match initial {
                    Some(r) => r,
                    None => match self.challenge(&encode("Username:")).await? {
                        Ok(r) => r,
                        Err(flow) => return Ok(flow),
                    },
                };
                match decode_login(&user) {
                    Ok(user) => match self.challenge(&encode("Password:")).await? {
                        Ok(password) => {
                            decode_login(&password).map(|password| Credentials { user, password })
                        }
                        Err(flow) => return Ok(flow),
                    },
                    Err(e) => Err(e),
                }
            }
            _ => {
                let reply = Reply::new(504, Status(5, 5, 4), "Unrecognized authentication type");
                return Ok(self.protocol_error(reply));
            }
        };
        let credentials = match credentials {
            Ok(c) => c,
            Err(SaslError::Proxy) => {
                return Ok(self.auth_failed(mechanism, "(proxy)").await);
            }
            Err(e) => {
                debug!(error = %e, "bad SASL response");
                let reply = Reply::new(501, Status(5, 5, 2), "Cannot decode response");
                return Ok(self.protocol_error(reply));
            }
        };

        match authenticator
            .authenticate(&credentials.user, &credentials.password, self.peer)
            .await
        {
            Ok(user) => {
                info!(account = %user.account, mech = mechanism, "authenticated");
                self.authed = Some(user);
                self.push(Reply::new(
                    235,
                    Status(2, 7, 0),
                    "Authentication successful",
                ));
                Ok(Flow::Continue)
            }
            Err(AuthError::Invalid) => Ok(self.auth_failed(mechanism, &credentials.user).await),
            Err(AuthError::TempFail(why)) => {
                info!(user = %credentials.user, error = %why, "authentication unavailable");
                let text = "Temporary authentication failure";
                self.push(Reply::new(454, Status(4, 7, 0), text));
                Ok(Flow::Continue)
            }
        }
    }

    /// `535 5.7.8` after the failure delay; counts as a protocol error.
    async fn auth_failed(&mut self, mechanism: &str, user: &str) -> Flow {
        info!(user = %user, mech = mechanism, "authentication failed");
        self.flush().await.ok();
        tokio::time::sleep(self.cfg.auth_failure_delay).await;
        // RFC 4954 §6.
        let reply = Reply::new(535, Status(5, 7, 8), "Authentication credentials invalid");
        self.protocol_error(reply)
    }

    /// Sends `334 challenge` and reads the client's response line. `Err(flow)` ends the
    /// exchange: the client cancelled with `*` (reply pushed), went away or timed out.
    async fn challenge(&mut self, challenge: &str) -> io::Result<Result<String, Flow>> {
        self.push(Reply::plain(334, vec![challenge.to_string()]));
        loop {
            match self.lines.next(&mut self.inbuf) {
                LineEvent::Line(line) => {
                    let text = String::from_utf8_lossy(&line);
                    let text = text.trim_end_matches(['\r', '\n']).trim().to_string();
                    if text == "*" {
                        // RFC 4954 §4: the client cancelled.
                        let reply = Reply::new(501, Status(5, 0, 0), "Authentication cancelled");
                        return Ok(Err(self.protocol_error(reply)));
                    }
                    return Ok(Ok(text));
                }
                LineEvent::TooLong => {
                    let reply = Reply::new(
                        500,
                        Status(5, 5, 6),
                        "Authentication exchange line is too long",
                    );
                    return Ok(Err(self.protocol_error(reply)));
                }
                LineEvent::NeedMore => {
                    self.flush().await?;
                    match self.fill(false).await? {
                        Wait::Ready | Wait::Shutdown => {}
                        Wait::Eof => return Ok(Err(Flow::Abort)),
                        Wait::Timeout => return Ok(Err(self.timeout())),
                    }
                }
            }
        }
    }
}
