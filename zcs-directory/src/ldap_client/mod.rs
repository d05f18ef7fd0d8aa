//! Connections to a customer's own LDAP directory: the one external authentication
//! (`zimbraAuthLdapURL`), the live external GAL (`zimbraGalLdapURL`) and external GAL
//! sync sources (`zimbraGalSyncLdapURL`) bind to and search.
//!
//! In charge of opening the connection with the transport security the configuration
//! asks for: `ldaps://` (TLS from the first byte), or `ldap://` upgraded with StartTLS
//! (RFC 4511 §4.14, RFC 4513 §3) when the `...StartTlsEnabled` attribute is `TRUE`,
//! verified against the CAs of [`tls`]; and of telling why a connection failed
//! ([`ConnectError`]) so callers can give a clear fault. When StartTLS was asked for and
//! cannot be had (the server refuses it, or the handshake fails) the connection is
//! dropped: nothing, least of all a password, is ever sent in plain text instead.

pub mod tls;

use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError};

pub use tls::{client_config, reload, trust_ca_path};

/// Why a connection to an external directory could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The server answered the StartTLS request (RFC 4511 §4.14.2) with an error.
    #[error("{url} refused StartTLS (LDAP result {rc} {text}); not continuing in plain text")]
    StartTlsRefused {
        /// The URL tried.
        url: String,
        /// The LDAP result code.
        rc: u32,
        /// The server's diagnostic message.
        text: String,
    },
    /// The TLS handshake failed (an untrusted or mismatched certificate, no common
    /// protocol, the server hung up).
    #[error("TLS handshake with {url} failed: {reason}")]
    Handshake {
        /// The URL tried.
        url: String,
        /// What rustls (or the socket) said.
        reason: String,
    },
    /// The server could not be reached, or did not answer in time, or the URL is not
    /// one we can use.
    #[error("{url} unreachable: {reason}")]
    Unreachable {
        /// The URL tried.
        url: String,
        /// Why.
        reason: String,
    },
}

impl ConnectError {
    /// Whether the failure is about TLS (a refused StartTLS or a failed handshake).
    pub fn is_tls(&self) -> bool {
        !matches!(self, ConnectError::Unreachable { .. })
    }
}

/// Whether `url` uses TLS from its first byte (`ldaps://`).
pub fn is_ldaps(url: &str) -> bool {
    url.trim()
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("ldaps://"))
}

/// Opens a connection to `url` (`ldap://` or `ldaps://`), upgraded with StartTLS before
/// anything else is sent when `start_tls` is set and the URL is `ldap://`, with
/// `timeout` for the connection (and set on the returned handle for its first
/// operation). The connection's driver runs on the current tokio runtime.
///
/// # Errors
/// [`ConnectError`]: a refused StartTLS, a failed handshake, an unreachable server.
pub async fn connect(url: &str, start_tls: bool, timeout: Duration) -> Result<Ldap, ConnectError> {
    let tls = start_tls || is_ldaps(url);
    let mut settings = LdapConnSettings::new()
        .set_conn_timeout(timeout)
        .set_starttls(start_tls && !is_ldaps(url));
    if tls {
        settings = settings.set_config(client_config());
    }
    let (conn, mut ldap) = LdapConnAsync::with_settings(settings, url)
        .await
        .map_err(|e| classify(url, tls, e))?;
    ldap3::drive!(conn);
    ldap.with_timeout(timeout);
    Ok(ldap)
}

/// The [`ConnectError`] of an error while connecting to `url` (`tls`: TLS was in play).
fn classify(url: &str, tls: bool, e: LdapError) -> ConnectError {
    let url = url.to_string();
    match e {
        // Only the StartTLS request gets an LDAP result while connecting.
        LdapError::LdapResult { result } if tls => ConnectError::StartTlsRefused {
            url,
            rc: result.rc,
            text: result.text.trim().to_string(),
        },
        LdapError::Io { source } if tls => {
            if let Some(inner) = source
                .get_ref()
                .and_then(|i| i.downcast_ref::<rustls::Error>())
            {
                return ConnectError::Handshake {
                    url,
                    reason: inner.to_string(),
                };
            }
            use std::io::ErrorKind as K;
            match source.kind() {
                K::UnexpectedEof | K::ConnectionReset | K::InvalidData | K::BrokenPipe => {
                    ConnectError::Handshake {
                        url,
                        reason: source.to_string(),
                    }
                }
                _ => ConnectError::Unreachable {
                    url,
                    reason: source.to_string(),
                },
            }
        }
        other => ConnectError::Unreachable {
            url,
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn ldaps_urls() {
        assert!(is_ldaps("ldaps://h:636"));
        assert!(is_ldaps(" LDAPS://h"));
        assert!(!is_ldaps("ldap://h"));
        assert!(!is_ldaps("ldap"));
    }

    /// Reads one LDAP message (RFC 4511 §4.1.1; BER with a definite length) and returns
    /// its bytes, or `None` at end of stream.
    async fn read_message(s: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
        let mut head = [0u8; 2];
        s.read_exact(&mut head).await.ok()?;
        let mut msg = head.to_vec();
        let len = if head[1] & 0x80 == 0 {
            usize::from(head[1])
        } else {
            let n = usize::from(head[1] & 0x7f);
            let mut b = vec![0u8; n];
            s.read_exact(&mut b).await.ok()?;
            msg.extend_from_slice(&b);
            b.iter().fold(0usize, |a, x| (a << 8) | usize::from(*x))
        };
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).await.ok()?;
        msg.extend_from_slice(&body);
        Some(msg)
    }

    /// A server that refuses StartTLS: the client must give up, sending nothing more.
    #[tokio::test]
    async fn a_refused_starttls_never_continues_in_plain_text() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let req = read_message(&mut s).await.expect("the StartTLS request");
            // messageID: INTEGER right after the SEQUENCE header (short form here).
            let id_len = usize::from(req[3]);
            let id = req[4..4 + id_len].to_vec();
            // The OID of StartTLS is in the request (RFC 4511 §4.14.1).
            assert!(
                req.windows(22).any(|w| w == b"1.3.6.1.4.1.1466.20037"),
                "{req:?}"
            );
            // ExtendedResponse [APPLICATION 24], resultCode 52 unavailable.
            let mut op = vec![0x0a, 0x01, 52, 0x04, 0x00, 0x04, 0x00];
            op.splice(0..0, [0x78, op.len() as u8]);
            let mut body = vec![0x02, id.len() as u8];
            body.extend_from_slice(&id);
            body.extend_from_slice(&op);
            let mut msg = vec![0x30, body.len() as u8];
            msg.extend_from_slice(&body);
            s.write_all(&msg).await.expect("answer");
            // Whatever the client sends next: nothing is the right answer.
            let mut rest = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut rest)).await;
            rest
        });
        let url = format!("ldap://127.0.0.1:{port}");
        let err = connect(&url, true, Duration::from_secs(5))
            .await
            .expect_err("StartTLS was refused");
        assert!(
            matches!(err, ConnectError::StartTlsRefused { rc: 52, .. }),
            "{err}"
        );
        assert!(err.is_tls());
        let rest = server.await.expect("server task");
        assert!(rest.is_empty(), "sent after the refusal: {rest:?}");
    }

    /// A plain server when StartTLS is asked: refused, or a failed handshake, never used.
    #[tokio::test]
    async fn unreachable_and_tls_failures_are_told_apart() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let url = format!("ldap://127.0.0.1:{port}");
        let err = connect(&url, true, Duration::from_secs(5))
            .await
            .expect_err("nothing listens");
        assert!(matches!(err, ConnectError::Unreachable { .. }), "{err}");
        assert!(!err.is_tls());

        // An ldaps:// server that hangs up at once: a handshake failure.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let (s, _) = listener.accept().await.expect("accept");
            drop(s);
        });
        let err = connect(
            &format!("ldaps://127.0.0.1:{port}"),
            false,
            Duration::from_secs(5),
        )
        .await
        .expect_err("no TLS server");
        assert!(err.is_tls(), "{err}");
    }
}
