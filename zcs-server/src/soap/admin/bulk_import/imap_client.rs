//! The IMAP client of the bulk mail import: just enough of IMAP4rev1 (RFC 3501) to pull
//! a whole mailbox from another server. It connects in the clear, over implicit TLS or
//! with STARTTLS, logs in (LOGIN, or AUTHENTICATE PLAIN with an authorization identity
//! when an admin logs in on a user's behalf), lists the folders, opens each read-only
//! and fetches every message with its flags and internal date. Responses are read with
//! their literals; nothing here writes to this server.
//!
//! Credentials are sent but never logged, and every wait is bounded by [`IO_TIMEOUT`].

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::imap_parse::{
    Fetched, RemoteFolder, Tok, describe, literal_at_end, parse_fetch, quoted, tokenize,
};

/// How long one connect, read or write may take.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest response line accepted (literals apart).
const MAX_LINE: usize = 1024 * 1024;
/// The largest literal (a message) accepted.
const MAX_LITERAL: usize = 256 * 1024 * 1024;

/// How the connection is protected (Zimbra's `ConnectionType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Security {
    /// `cleartext`: no TLS.
    Clear,
    /// `ssl`: TLS from the first byte (port 993).
    Ssl,
    /// `tls`: STARTTLS after the greeting (RFC 3501 §6.2.1); refused means failure.
    StartTls,
}

impl Security {
    /// The security `ConnectionType` names (`cleartext`, `ssl`, `tls`, and Zimbra's
    /// `tls_is_available`, taken as `tls`); `None` for anything else.
    pub fn parse(v: &str) -> Option<Security> {
        match v.trim().to_ascii_lowercase().as_str() {
            "" | "cleartext" | "clear" => Some(Security::Clear),
            "ssl" => Some(Security::Ssl),
            "tls" | "tls_is_available" | "tls_if_available" | "starttls" => {
                Some(Security::StartTls)
            }
            _ => None,
        }
    }

    /// The name Zimbra gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            Security::Clear => "cleartext",
            Security::Ssl => "ssl",
            Security::StartTls => "tls",
        }
    }

    /// The usual port: 993 for implicit TLS, else 143.
    pub fn default_port(self) -> u16 {
        match self {
            Security::Ssl => 993,
            _ => 143,
        }
    }
}

/// Where the source server is.
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// Accepts any server certificate (Zimbra's `InvalidSSLOk`).
    pub accept_invalid_certs: bool,
}

/// Who logs in on the source server.
#[derive(Clone)]
pub(crate) enum Credentials {
    /// The account's own login and password: `LOGIN`.
    User { login: String, password: String },
    /// An admin acting for `user`: `AUTHENTICATE PLAIN` with `user` as the
    /// authorization identity (RFC 4616 §2).
    Admin {
        admin: String,
        password: String,
        user: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::User { login, .. } => f
                .debug_struct("User")
                .field("login", login)
                .finish_non_exhaustive(),
            Credentials::Admin { admin, user, .. } => f
                .debug_struct("Admin")
                .field("admin", admin)
                .field("user", user)
                .finish_non_exhaustive(),
        }
    }
}

/// Why talking to the source server failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ImapError {
    #[error("cannot connect to {0}: {1}")]
    Connect(String, String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("the server did not answer in time")]
    Timeout,
    #[error("the server closed the connection")]
    Closed,
    #[error("malformed response: {0}")]
    Protocol(String),
    #[error("login refused: {0}")]
    Login(String),
    #[error("{0} failed: {1}")]
    Command(&'static str, String),
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// What EXAMINE told of a folder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Examined {
    /// Messages in it.
    pub exists: u32,
    /// Its UIDVALIDITY; 0 when the server sent none.
    pub uid_validity: u32,
}

/// A connection to the source server.
pub(crate) struct ImapClient {
    io: BufReader<Box<dyn Io>>,
    next_tag: u32,
    /// The tag of the FETCH being read by [`ImapClient::next_message`].
    fetching: Option<String>,
}

/// `fut` within [`IO_TIMEOUT`].
async fn timed<T>(
    fut: impl std::future::Future<Output = Result<T, ImapError>>,
) -> Result<T, ImapError> {
    tokio::time::timeout(IO_TIMEOUT, fut)
        .await
        .map_err(|_| ImapError::Timeout)?
}

/// A certificate check that accepts anything (`InvalidSSLOk`).
#[derive(Debug)]
struct AnyCert(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The system's CA bundle files, first found wins (`SSL_CERT_FILE` before them).
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// The TLS client configuration: the system roots, or no check at all.
fn tls_config(accept_invalid: bool) -> Result<rustls::ClientConfig, ImapError> {
    use rustls::pki_types::pem::PemObject;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ImapError::Tls(e.to_string()))?;
    if accept_invalid {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
            .with_no_client_auth());
    }
    let mut roots = rustls::RootCertStore::empty();
    let env = std::env::var("SSL_CERT_FILE")
        .ok()
        .filter(|f| !f.is_empty());
    let file = env
        .into_iter()
        .chain(SYSTEM_BUNDLES.iter().map(|s| s.to_string()))
        .find(|p| std::path::Path::new(p).is_file());
    if let Some(pem) = file.and_then(|f| std::fs::read(f).ok()) {
        let certs = CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok);
        roots.add_parsable_certificates(certs);
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// Runs the TLS handshake over `stream` for `host`.
async fn start_tls<S>(stream: S, ep: &Endpoint) -> Result<Box<dyn Io>, ImapError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = tls_config(ep.accept_invalid_certs)?;
    let name = ServerName::try_from(ep.host.clone())
        .map_err(|e| ImapError::Tls(format!("bad server name {}: {e}", ep.host)))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tls = timed(async {
        connector
            .connect(name, stream)
            .await
            .map_err(|e| ImapError::Tls(e.to_string()))
    })
    .await?;
    Ok(Box::new(tls))
}

impl ImapClient {
    /// Connects to `ep` and reads the greeting, then runs STARTTLS when asked.
    ///
    /// # Errors
    /// [`ImapError`] for an unreachable server, a failed handshake, a `BYE` greeting or
    /// a refused STARTTLS.
    pub async fn connect(ep: &Endpoint) -> Result<ImapClient, ImapError> {
        let addr = format!("{}:{}", ep.host, ep.port);
        let tcp = tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(&addr))
            .await
            .map_err(|_| ImapError::Timeout)?
            .map_err(|e| ImapError::Connect(addr.clone(), e.to_string()))?;
        let io: Box<dyn Io> = match ep.security {
            Security::Ssl => start_tls(tcp, ep).await?,
            _ => Box::new(tcp),
        };
        let mut c = ImapClient {
            io: BufReader::new(io),
            next_tag: 1,
            fetching: None,
        };
        let greeting = c.read_response().await?;
        if greeting.get(1).is_some_and(|t| t.atom_is("BYE")) {
            return Err(ImapError::Command("greeting", "BYE".into()));
        }
        if ep.security == Security::StartTls {
            c.simple("STARTTLS", b"STARTTLS").await?;
            let plain = c.io.into_inner();
            let io = start_tls(plain, ep).await?;
            c.io = BufReader::new(io);
        }
        Ok(c)
    }

    fn tag(&mut self) -> String {
        let t = format!("z{}", self.next_tag);
        self.next_tag += 1;
        t
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), ImapError> {
        let io = self.io.get_mut();
        timed(async {
            io.write_all(bytes).await?;
            io.flush().await?;
            Ok(())
        })
        .await
    }

    /// Reads one response line with its literals as tokens.
    pub(crate) async fn read_response(&mut self) -> Result<Vec<Tok>, ImapError> {
        let mut toks = Vec::new();
        loop {
            let mut line = Vec::new();
            let n = timed(async {
                let r = (&mut self.io)
                    .take(MAX_LINE as u64 + 2)
                    .read_until(b'\n', &mut line)
                    .await?;
                Ok(r)
            })
            .await?;
            if n == 0 {
                return Err(ImapError::Closed);
            }
            if !line.ends_with(b"\n") {
                return Err(ImapError::Protocol("response line too long".into()));
            }
            let text = line
                .strip_suffix(b"\r\n")
                .or_else(|| line.strip_suffix(b"\n"))
                .unwrap_or(&line);
            match literal_at_end(text) {
                Some((before, size)) => {
                    if size > MAX_LITERAL {
                        return Err(ImapError::Protocol(format!("literal of {size} bytes")));
                    }
                    tokenize(before, &mut toks)?;
                    let mut lit = vec![0u8; size];
                    timed(async {
                        self.io.read_exact(&mut lit).await?;
                        Ok(())
                    })
                    .await?;
                    toks.push(Tok::Str(lit));
                }
                None => {
                    tokenize(text, &mut toks)?;
                    return Ok(toks);
                }
            }
        }
    }

    /// Waits for the `+` continuation request of a literal or SASL exchange.
    async fn continuation(&mut self, what: &'static str) -> Result<(), ImapError> {
        let r = self.read_response().await?;
        if r.first().is_some_and(|t| t.atom_is("+")) {
            return Ok(());
        }
        Err(ImapError::Command(what, describe(&r)))
    }

    /// Sends `cmd` (one line, no literals) and reads to its tagged answer, returning
    /// the untagged responses; a `NO` or `BAD` is an error.
    async fn simple(&mut self, what: &'static str, cmd: &[u8]) -> Result<Vec<Vec<Tok>>, ImapError> {
        let tag = self.tag();
        let mut line = format!("{tag} ").into_bytes();
        line.extend_from_slice(cmd);
        line.extend_from_slice(b"\r\n");
        self.write(&line).await?;
        self.until_tagged(what, &tag).await
    }

    /// Reads untagged responses until the one tagged `tag`.
    async fn until_tagged(
        &mut self,
        what: &'static str,
        tag: &str,
    ) -> Result<Vec<Vec<Tok>>, ImapError> {
        let mut untagged = Vec::new();
        loop {
            let r = self.read_response().await?;
            if r.first().is_some_and(|t| t.atom_is(tag)) {
                if r.get(1).is_some_and(|t| t.atom_is("OK")) {
                    return Ok(untagged);
                }
                return Err(ImapError::Command(what, describe(&r)));
            }
            if r.get(1).is_some_and(|t| t.atom_is("BYE")) {
                return Err(ImapError::Closed);
            }
            untagged.push(r);
        }
    }

    /// Logs in with `creds`.
    ///
    /// # Errors
    /// [`ImapError::Login`] when the server refuses them.
    pub async fn login(&mut self, creds: &Credentials) -> Result<(), ImapError> {
        let res = match creds {
            Credentials::User { login, password } => {
                let tag = self.tag();
                self.write(format!("{tag} LOGIN ").as_bytes()).await?;
                self.astring(login.as_bytes()).await?;
                self.write(b" ").await?;
                self.astring(password.as_bytes()).await?;
                self.write(b"\r\n").await?;
                self.until_tagged("LOGIN", &tag).await
            }
            Credentials::Admin {
                admin,
                password,
                user,
            } => {
                // RFC 4616 §2: authzid NUL authcid NUL passwd.
                let mut msg = Vec::new();
                msg.extend_from_slice(user.as_bytes());
                msg.push(0);
                msg.extend_from_slice(admin.as_bytes());
                msg.push(0);
                msg.extend_from_slice(password.as_bytes());
                let b64 = base64::engine::general_purpose::STANDARD.encode(&msg);
                let tag = self.tag();
                self.write(format!("{tag} AUTHENTICATE PLAIN\r\n").as_bytes())
                    .await?;
                self.continuation("AUTHENTICATE").await?;
                self.write(format!("{b64}\r\n").as_bytes()).await?;
                self.until_tagged("AUTHENTICATE", &tag).await
            }
        };
        match res {
            Ok(_) => Ok(()),
            Err(ImapError::Command(_, why)) => Err(ImapError::Login(why)),
            Err(e) => Err(e),
        }
    }

    /// Writes `s` as a quoted string, or as a synchronizing literal (RFC 3501 §4.3).
    async fn astring(&mut self, s: &[u8]) -> Result<(), ImapError> {
        if let Some(q) = quoted(s) {
            return self.write(&q).await;
        }
        self.write(format!("{{{}}}\r\n", s.len()).as_bytes())
            .await?;
        self.continuation("literal").await?;
        self.write(s).await
    }

    /// Every folder of the mailbox (`LIST "" "*"`, RFC 3501 §6.3.8).
    ///
    /// # Errors
    /// The command failed or a response is malformed.
    pub async fn list(&mut self) -> Result<Vec<RemoteFolder>, ImapError> {
        let untagged = self.simple("LIST", br#"LIST "" "*""#).await?;
        let mut out = Vec::new();
        for r in untagged {
            // * LIST (flags) delimiter name
            if !r.get(1).is_some_and(|t| t.atom_is("LIST")) {
                continue;
            }
            let mut i = 2;
            let mut no_select = false;
            if r.get(i) == Some(&Tok::Open) {
                i += 1;
                while let Some(t) = r.get(i) {
                    i += 1;
                    match t {
                        Tok::Close => break,
                        Tok::Atom(a)
                            if a.eq_ignore_ascii_case("\\Noselect")
                                || a.eq_ignore_ascii_case("\\NonExistent") =>
                        {
                            no_select = true
                        }
                        _ => {}
                    }
                }
            }
            let delimiter = match r.get(i) {
                Some(Tok::Str(d)) => d.first().map(|&b| char::from(b)),
                _ => None,
            };
            let wire = match r.get(i + 1) {
                Some(Tok::Str(n)) => n.clone(),
                Some(Tok::Atom(a)) => a.as_bytes().to_vec(),
                _ => return Err(ImapError::Protocol(format!("LIST: {}", describe(&r)))),
            };
            out.push(RemoteFolder {
                wire,
                delimiter,
                no_select,
            });
        }
        Ok(out)
    }

    /// Opens `folder` read-only (EXAMINE, RFC 3501 §6.3.2); returns its message count
    /// and UIDVALIDITY (0 when the server sent none).
    ///
    /// # Errors
    /// The server refused.
    pub async fn examine(&mut self, folder: &[u8]) -> Result<Examined, ImapError> {
        let tag = self.tag();
        self.write(format!("{tag} EXAMINE ").as_bytes()).await?;
        self.astring(folder).await?;
        self.write(b"\r\n").await?;
        let untagged = self.until_tagged("EXAMINE", &tag).await?;
        let mut out = Examined::default();
        for r in &untagged {
            if r.get(2).is_some_and(|t| t.atom_is("EXISTS"))
                && let Some(Tok::Atom(n)) = r.get(1)
            {
                out.exists = n.parse().unwrap_or(0);
            }
            // * OK [UIDVALIDITY n] (RFC 3501 §7.1)
            if r.get(1).is_some_and(|t| t.atom_is("OK"))
                && let Some(Tok::Atom(code)) = r.get(2)
                && let Some(v) = code
                    .strip_prefix("[UIDVALIDITY ")
                    .and_then(|c| c.strip_suffix(']'))
            {
                out.uid_validity = v.trim().parse().unwrap_or(0);
            }
        }
        Ok(out)
    }

    /// Asks for the messages of the open folder from UID `from` on (`UID FETCH from:*
    /// (UID FLAGS INTERNALDATE BODY.PEEK[])`); read them with
    /// [`ImapClient::next_message`]. The server may send the last message even when
    /// its UID is below `from` (RFC 3501 §6.4.8): the caller skips it.
    ///
    /// # Errors
    /// The command could not be sent.
    pub async fn fetch_from(&mut self, from: u32) -> Result<(), ImapError> {
        let tag = self.tag();
        let from = from.max(1);
        let cmd = format!("{tag} UID FETCH {from}:* (UID FLAGS INTERNALDATE BODY.PEEK[])\r\n");
        self.write(cmd.as_bytes()).await?;
        self.fetching = Some(tag);
        Ok(())
    }

    /// The next message of the FETCH [`ImapClient::fetch_from`] started; `None` once
    /// the server completed it.
    ///
    /// # Errors
    /// The FETCH failed or a response is malformed.
    pub async fn next_message(&mut self) -> Result<Option<Fetched>, ImapError> {
        let Some(tag) = self.fetching.clone() else {
            return Ok(None);
        };
        loop {
            let r = self.read_response().await?;
            if r.first().is_some_and(|t| t.atom_is(&tag)) {
                self.fetching = None;
                if r.get(1).is_some_and(|t| t.atom_is("OK")) {
                    return Ok(None);
                }
                return Err(ImapError::Command("FETCH", describe(&r)));
            }
            if r.get(2).is_some_and(|t| t.atom_is("FETCH"))
                && let Some(m) = parse_fetch(&r)?
            {
                return Ok(Some(m));
            }
        }
    }

    /// Says goodbye (LOGOUT); errors are ignored, the connection is done with anyway.
    pub async fn logout(mut self) {
        let _ = self.simple("LOGOUT", b"LOGOUT").await;
    }
}

#[cfg(test)]
#[path = "imap_client_tests.rs"]
mod tests;
