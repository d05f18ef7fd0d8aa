//! The SMTP client transport: finds the next hop (MX records in preference order with
//! the implicit-MX fallback, or the relay host `zimbraMtaRelayHost`), then runs one SMTP
//! transaction per attempt through mail-send's client with opportunistic STARTTLS and,
//! towards a relay host, optional SMTP AUTH.
//!
//! It never retries: each call is one attempt and the queue manager decides what a
//! deferral means. Replies are classified per RFC 5321 §4.2.1 (4xx defer, 5xx bounce).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mail_send::{Credentials, SmtpClient};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::resolver::{DnsError, Resolver};
use super::{Attempt, OutboundMessage, Outcome, Transport, domain_of};

/// smtp-proto's capability bit for `STARTTLS` in an EHLO answer (`EXT_START_TLS` in
/// smtp-proto 0.2, which mail-send does not re-export). The STARTTLS integration test
/// fails if this ever drifts.
const EXT_START_TLS: u32 = 1 << 24;

/// Postfix's `smtp_mx_address_limit`: at most this many addresses are tried per attempt.
const MX_ADDRESS_LIMIT: usize = 5;

/// A relay host as `zimbraMtaRelayHost` writes it: `host`, `host:port`, `[host]` or
/// `[host]:port`. Brackets mean "no MX lookup", as in Postfix's `relayhost`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayHost {
    /// Host name or IP address.
    pub host: String,
    /// The port, if given.
    pub port: Option<u16>,
    /// Whether to look up MX records for `host` (false when bracketed).
    pub mx_lookup: bool,
}

impl RelayHost {
    /// Parses the attribute value; `None` if empty or malformed.
    pub fn parse(value: &str) -> Option<RelayHost> {
        let value = value.trim();
        let (host, rest, mx_lookup) = if let Some(inner) = value.strip_prefix('[') {
            let (host, rest) = inner.split_once(']')?;
            (host, rest, false)
        } else {
            match value.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => (h, &value[h.len()..][..p.len() + 1], true),
                _ => (value, "", true),
            }
        };
        let port = match rest {
            "" => None,
            p => Some(p.strip_prefix(':')?.parse().ok()?),
        };
        if host.is_empty() || host.contains(char::is_whitespace) {
            return None;
        }
        Some(RelayHost {
            host: host.to_string(),
            port,
            mx_lookup,
        })
    }
}

/// Settings of the SMTP transport.
#[derive(Clone)]
pub struct SmtpTransportConfig {
    /// The name we give in EHLO (`myhostname`).
    pub helo_name: String,
    /// The port of MX hosts (25; tests point it at a sink).
    pub port: u16,
    /// `zimbraMtaRelayHost`: send everything there instead of to MX hosts.
    pub relay_host: Option<RelayHost>,
    /// SMTP AUTH credentials (user, password) for the relay host.
    pub relay_credentials: Option<(String, String)>,
    /// Whether to use STARTTLS when offered (Postfix `smtp_tls_security_level=may`).
    pub starttls: bool,
    /// `zimbraMtaDnsLookupsEnabled` (TRUE): when false no MX record is ever looked up, and
    /// without a relay host remote mail is deferred (the guide makes the relay host
    /// mandatory then).
    pub dns_lookups: bool,
    /// `smtp_connect_timeout` (30 s).
    pub connect_timeout: Duration,
    /// Timeout of each command and reply (Postfix uses 300 s; 5 min here too).
    pub command_timeout: Duration,
}

impl Default for SmtpTransportConfig {
    fn default() -> Self {
        SmtpTransportConfig {
            helo_name: "localhost".into(),
            port: 25,
            relay_host: None,
            relay_credentials: None,
            starttls: true,
            dns_lookups: true,
            connect_timeout: Duration::from_secs(30),
            command_timeout: Duration::from_secs(300),
        }
    }
}

/// Where the transport learns the current relay host, so a changed
/// `zimbraMtaRelayHost` applies without a restart (`zmmtactl reload`).
#[async_trait]
pub trait RelaySource: Send + Sync {
    /// The relay host for an attempt starting now (`None`: MX lookups). Called once per
    /// attempt: keep it cheap (serve a cached value and refresh it now and then).
    async fn relay_host(&self) -> Option<RelayHost>;
}

/// Delivers to remote hosts over SMTP (RFC 5321).
pub struct SmtpTransport {
    config: SmtpTransportConfig,
    /// The relay host in use: `config.relay_host` until `relay_source` says otherwise.
    relay: std::sync::RwLock<Option<RelayHost>>,
    relay_source: Option<Arc<dyn RelaySource>>,
    resolver: Arc<dyn Resolver>,
    tls: TlsConnector,
}

/// One address to try.
struct Hop {
    host: String,
    addr: SocketAddr,
}

impl Hop {
    fn label(&self) -> String {
        format!("{}[{}]:{}", self.host, self.addr.ip(), self.addr.port())
    }
}

/// Why a host could not be used; the next one is tried.
struct HostFailure {
    reason: String,
    /// A TLS handshake failure: retry the same host without STARTTLS.
    tls: bool,
}

fn host_fail(reason: impl Into<String>) -> HostFailure {
    HostFailure {
        reason: reason.into(),
        tls: false,
    }
}

impl SmtpTransport {
    /// A transport resolving through `resolver`.
    pub fn new(config: SmtpTransportConfig, resolver: Arc<dyn Resolver>) -> SmtpTransport {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = Arc::new(Opportunistic(provider.signature_verification_algorithms));
        let tls_config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|b| {
                b.dangerous()
                    .with_custom_certificate_verifier(verifier)
                    .with_no_client_auth()
            })
            .expect("the ring provider supports the default protocol versions");
        SmtpTransport {
            relay: std::sync::RwLock::new(config.relay_host.clone()),
            relay_source: None,
            config,
            resolver,
            tls: TlsConnector::from(Arc::new(tls_config)),
        }
    }

    /// Takes the relay host from `source` before each attempt instead of
    /// `SmtpTransportConfig::relay_host`.
    pub fn with_relay_source(mut self, source: Arc<dyn RelaySource>) -> SmtpTransport {
        self.relay_source = Some(source);
        self
    }

    /// The relay host in use now.
    fn relay_host(&self) -> Option<RelayHost> {
        self.relay.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The addresses to try for `domain`, best first, or the attempt every recipient
    /// gets when there are none.
    async fn next_hops(&self, domain: &str) -> Result<Vec<Hop>, Attempt> {
        let (target, port, mx_lookup) = match &self.relay_host() {
            Some(relay) => (
                relay.host.clone(),
                relay.port.unwrap_or(self.config.port),
                relay.mx_lookup,
            ),
            None if !self.config.dns_lookups => {
                return Err(Attempt::local(
                    Outcome::Deferred,
                    "4.3.5 DNS lookups are disabled (zimbraMtaDnsLookupsEnabled) \
                     and no relay host is set",
                ));
            }
            None => (domain.to_string(), self.config.port, true),
        };
        let mx_lookup = mx_lookup && self.config.dns_lookups;

        // RFC 5321 §4.1.3: an address literal names the host directly.
        if let Some(literal) = target.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            let ip = literal.strip_prefix("IPv6:").unwrap_or(literal);
            return match ip.parse::<IpAddr>() {
                Ok(ip) => Ok(vec![Hop {
                    host: target.clone(),
                    addr: SocketAddr::new(ip, port),
                }]),
                Err(_) => Err(Attempt::local(
                    Outcome::Bounced,
                    format!("5.1.2 bad address literal {target}"),
                )),
            };
        }

        // A relay host given as a bare IP address needs no lookup at all.
        if let Ok(ip) = target.parse::<IpAddr>() {
            return Ok(vec![Hop {
                host: target.clone(),
                addr: SocketAddr::new(ip, port),
            }]);
        }

        let mut hosts = Vec::new();
        if mx_lookup {
            match self.resolver.mx(&target).await {
                // An answer with no MX record in it (only a CNAME, say) is no MX at all.
                Ok(records) if records.is_empty() => hosts.push(target.clone()),
                Ok(mut records) => {
                    // RFC 7505 §3: a single MX of "." says the domain takes no mail.
                    if records
                        .iter()
                        .any(|r| matches!(r.exchange.as_str(), "." | ""))
                    {
                        return Err(Attempt::local(
                            Outcome::Bounced,
                            format!("5.1.10 Domain {target} does not accept mail (nullMX)"),
                        ));
                    }
                    // RFC 5321 §5.1: lowest preference first.
                    // LIMITATION: hosts of equal preference are not shuffled.
                    records.sort_by_key(|r| r.preference);
                    hosts.extend(records.into_iter().map(|r| r.exchange));
                }
                // RFC 5321 §5.1: no MX records means the domain itself is the host.
                Err(DnsError::NotFound) => hosts.push(target.clone()),
                Err(DnsError::Temporary(e)) => {
                    return Err(Attempt::local(
                        Outcome::Deferred,
                        format!("4.4.3 Host or domain name lookup failed for {target}: {e}"),
                    ));
                }
            }
        } else {
            hosts.push(target.clone());
        }

        let mut hops = Vec::new();
        let mut temp_error = None;
        for host in hosts {
            match self.resolver.ip(&host).await {
                Ok(ips) => hops.extend(ips.into_iter().map(|ip| Hop {
                    host: host.clone(),
                    addr: SocketAddr::new(ip, port),
                })),
                Err(DnsError::Temporary(e)) => temp_error = Some(e),
                Err(DnsError::NotFound) => {}
            }
        }
        hops.truncate(MX_ADDRESS_LIMIT);
        if hops.is_empty() {
            return Err(match temp_error {
                Some(e) => Attempt::local(
                    Outcome::Deferred,
                    format!("4.4.3 Host or domain name lookup failed for {target}: {e}"),
                ),
                None => Attempt::local(
                    Outcome::Bounced,
                    format!("5.4.4 Host or domain name not found: {target}"),
                ),
            });
        }
        Ok(hops)
    }

    /// One session with one host. `Ok` carries the per-recipient attempts.
    async fn session(
        &self,
        hop: &Hop,
        message: &OutboundMessage<'_>,
        try_tls: bool,
    ) -> Result<Vec<Attempt>, HostFailure> {
        let label = hop.label();
        let timeout = self.config.command_timeout;
        let stream =
            tokio::time::timeout(self.config.connect_timeout, TcpStream::connect(hop.addr))
                .await
                .map_err(|_| host_fail(format!("connect to {label}: Connection timed out")))?
                .map_err(|e| host_fail(format!("connect to {label}: {e}")))?;
        let mut client = SmtpClient { stream, timeout };

        // RFC 5321 §3.1: the greeting.
        let greeting = read_reply(&mut client, timeout, &label).await?;
        if greeting.0 != 220 {
            return Err(host_fail(format!(
                "host {label} refused to talk to me: {}",
                greeting.1
            )));
        }
        let capabilities = self.greet(&mut client, &label, false).await?;

        // RFC 3207: opportunistic STARTTLS when offered.
        if try_tls && self.config.starttls && capabilities & EXT_START_TLS != 0 {
            let reply = cmd(&mut client, "STARTTLS\r\n", &label).await?;
            if reply.0 == 220 {
                let name = ServerName::try_from(hop.host.trim_end_matches('.').to_string())
                    .unwrap_or_else(|_| ServerName::IpAddress(hop.addr.ip().into()));
                let tls = tokio::time::timeout(timeout, self.tls.connect(name, client.stream))
                    .await
                    .map_err(|_| HostFailure {
                        reason: format!("TLS handshake with {label} timed out"),
                        tls: true,
                    })?
                    .map_err(|e| HostFailure {
                        reason: format!("TLS handshake with {label} failed: {e}"),
                        tls: true,
                    })?;
                let mut client = SmtpClient {
                    stream: tls,
                    timeout,
                };
                // RFC 3207 §4.2: forget what was learnt before TLS; EHLO again.
                self.greet(&mut client, &label, true).await?;
                tracing::debug!(host = %label, "smtp: STARTTLS established");
                return self.transaction(&mut client, message, &label).await;
            }
        }
        if self.wants_auth() {
            // RFC 5321 §4.1.4: a second EHLO is allowed; it carries the AUTH step.
            self.greet(&mut client, &label, true).await?;
        }
        self.transaction(&mut client, message, &label).await
    }

    fn wants_auth(&self) -> bool {
        self.relay_host().is_some() && self.config.relay_credentials.is_some()
    }

    /// EHLO, then (when `auth` and a relay host with credentials is configured) SMTP
    /// AUTH (RFC 4954). Returns the capability bits of the EHLO answer.
    async fn greet<T: AsyncRead + AsyncWrite + Unpin>(
        &self,
        client: &mut SmtpClient<T>,
        label: &str,
        auth: bool,
    ) -> Result<u32, HostFailure> {
        let ehlo = client
            .ehlo(&self.config.helo_name)
            .await
            .map_err(|e| host_fail(format!("EHLO to {label} failed: {e}")))?;
        if auth
            && self.wants_auth()
            && let Some((user, secret)) = &self.config.relay_credentials
        {
            let credentials = Credentials::new(user.clone(), secret.clone());
            if let Err(e) = client.authenticate(&credentials, &ehlo).await {
                return Err(host_fail(format!(
                    "SASL authentication failed with {label}: {e}"
                )));
            }
        }
        Ok(ehlo.capabilities)
    }

    /// MAIL, RCPT per recipient, DATA (RFC 5321 §3.3).
    async fn transaction<T: AsyncRead + AsyncWrite + Unpin>(
        &self,
        client: &mut SmtpClient<T>,
        message: &OutboundMessage<'_>,
        label: &str,
    ) -> Result<Vec<Attempt>, HostFailure> {
        let host = label.split('[').next().unwrap_or(label);

        let all = |a: Attempt| vec![a; message.recipients.len()];
        // LIMITATION: no PIPELINING and no SIZE, BODY=8BITMIME, SMTPUTF8 or DSN parameters
        // (RFC 1870, 6152, 6531, 3461): 8-bit mail is sent as is, without conversion.
        let from = format!("MAIL FROM:<{}>\r\n", message.envelope.sender);
        let reply = cmd(client, &from, label).await?;
        if reply.0 / 100 != 2 {
            let mut a = Attempt::from_reply(reply.0, &reply.1, Some(host));
            a.reply.push_str(" (in reply to MAIL FROM command)");
            return Ok(all(a));
        }

        let mut attempts = Vec::with_capacity(message.recipients.len());
        let mut accepted = Vec::new();
        for (i, rcpt) in message.recipients.iter().enumerate() {
            let reply = cmd(client, &format!("RCPT TO:<{rcpt}>\r\n"), label).await?;
            let mut a = Attempt::from_reply(reply.0, &reply.1, Some(host));
            if a.outcome == Outcome::Delivered {
                accepted.push(i);
            } else {
                a.reply.push_str(" (in reply to RCPT TO command)");
            }
            attempts.push(a);
        }
        if accepted.is_empty() {
            let _ = cmd(client, "QUIT\r\n", label).await;
            return Ok(attempts);
        }

        let reply = cmd(client, "DATA\r\n", label).await?;
        if reply.0 != 354 {
            let mut a = Attempt::from_reply(reply.0, &reply.1, Some(host));
            if a.outcome == Outcome::Delivered {
                a.outcome = Outcome::Deferred;
            }
            a.reply.push_str(" (in reply to DATA command)");
            for i in accepted {
                attempts[i] = a.clone();
            }
            return Ok(attempts);
        }
        let data = smtp_data(message.data);
        let write = async {
            client.stream.write_all(&data).await?;
            client.stream.flush().await
        };
        tokio::time::timeout(client.timeout, write)
            .await
            .map_err(|_| host_fail(format!("timeout sending message to {label}")))?
            .map_err(|e| host_fail(format!("lost connection with {label}: {e}")))?;
        let reply = read_reply(client, client.timeout, label).await?;
        let mut a = Attempt::from_reply(reply.0, &reply.1, Some(host));
        if a.outcome != Outcome::Delivered {
            a.reply.push_str(" (in reply to end of DATA command)");
        }
        tracing::info!(qid = message.id, relay = %label, reply = %a.reply, "smtp: sent");
        for i in accepted {
            attempts[i] = a.clone();
        }
        let _ = cmd(client, "QUIT\r\n", label).await;
        Ok(attempts)
    }
}

/// Sends one command and reads the reply as (code, text with enhanced code).
async fn cmd<T: AsyncRead + AsyncWrite + Unpin>(
    client: &mut SmtpClient<T>,
    line: &str,
    label: &str,
) -> Result<(u16, String), HostFailure> {
    let verb = line
        .split([' ', ':', '\r'])
        .next()
        .unwrap_or_default()
        .to_string();
    let reply = client.cmd(line.as_bytes()).await.map_err(|e| {
        host_fail(format!(
            "lost connection with {label} while sending {verb}: {e}"
        ))
    })?;
    Ok((reply.code, reply_text(reply.esc, &reply.message)))
}

async fn read_reply<T: AsyncRead + AsyncWrite + Unpin>(
    client: &mut SmtpClient<T>,
    timeout: Duration,
    label: &str,
) -> Result<(u16, String), HostFailure> {
    let reply = tokio::time::timeout(timeout, client.read())
        .await
        .map_err(|_| host_fail(format!("timeout reading reply from {label}")))?
        .map_err(|e| host_fail(format!("lost connection with {label}: {e}")))?;
    Ok((reply.code, reply_text(reply.esc, &reply.message)))
}

/// Puts the RFC 3463 enhanced code back in front of the reply text.
fn reply_text(esc: [u8; 3], message: &str) -> String {
    let text = super::one_line(message);
    if esc[0] != 0 {
        format!("{}.{}.{} {text}", esc[0], esc[1], esc[2])
    } else {
        text
    }
}

/// The DATA payload (RFC 5321 §4.5.2): every line ends in CRLF (a bare LF becomes CRLF),
/// a line starting with `.` gets one more, and `.CRLF` ends it.
pub(crate) fn smtp_data(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 50 + 5);
    if !message.is_empty() {
        let body = message.strip_suffix(b"\n").unwrap_or(message);
        for line in body.split(|b| *b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.first() == Some(&b'.') {
                out.push(b'.');
            }
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[async_trait]
impl Transport for SmtpTransport {
    async fn deliver(&self, message: OutboundMessage<'_>) -> Vec<Attempt> {
        if let Some(source) = &self.relay_source {
            let relay = source.relay_host().await;
            let mut current = self.relay.write().unwrap_or_else(|p| p.into_inner());
            if *current != relay {
                tracing::info!(relay = ?relay, "relay host changed");
                *current = relay;
            }
        }
        let n = message.recipients.len();
        let domain = message
            .recipients
            .first()
            .map(|r| domain_of(r))
            .unwrap_or_default();
        let hops = match self.next_hops(&domain).await {
            Ok(hops) => hops,
            Err(attempt) => return vec![attempt; n],
        };

        let mut last = String::from("no host to try");
        for hop in &hops {
            let result = match self.session(hop, &message, true).await {
                Err(f) if f.tls => {
                    tracing::info!(host = %hop.label(), reason = %f.reason,
                        "smtp: TLS failed, retrying in plain text");
                    self.session(hop, &message, false).await
                }
                other => other,
            };
            match result {
                Ok(attempts) => return attempts,
                Err(f) => {
                    tracing::info!(qid = message.id, host = %hop.label(), reason = %f.reason,
                        "smtp: host failed, trying the next one");
                    last = f.reason;
                }
            }
        }
        vec![Attempt::local(Outcome::Deferred, format!("4.4.1 {last}")); n]
    }
}

/// Opportunistic TLS (Postfix `may`): the certificate is not checked, but the handshake
/// signatures are, so the session is at least encrypted to whoever answered.
#[derive(Debug)]
struct Opportunistic(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for Opportunistic {
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
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn relay_host_syntax() {
        let r = RelayHost::parse("[mail.isp.net]:587").unwrap();
        assert_eq!(
            (r.host.as_str(), r.port, r.mx_lookup),
            ("mail.isp.net", Some(587), false)
        );
        let r = RelayHost::parse("isp.net").unwrap();
        assert_eq!(
            (r.host.as_str(), r.port, r.mx_lookup),
            ("isp.net", None, true)
        );
        let r = RelayHost::parse("isp.net:2525").unwrap();
        assert_eq!(
            (r.host.as_str(), r.port, r.mx_lookup),
            ("isp.net", Some(2525), true)
        );
        let r = RelayHost::parse("[127.0.0.1]").unwrap();
        assert_eq!(
            (r.host.as_str(), r.port, r.mx_lookup),
            ("127.0.0.1", None, false)
        );
        assert!(RelayHost::parse("").is_none());
        assert!(RelayHost::parse("[x]:port").is_none());
        assert!(RelayHost::parse("[x").is_none());
    }

    #[test]
    fn data_is_stuffed_and_crlf_terminated() {
        assert_eq!(smtp_data(b"a\n.b\r\n"), b"a\r\n..b\r\n.\r\n");
        assert_eq!(smtp_data(b"x"), b"x\r\n.\r\n");
        assert_eq!(smtp_data(b""), b".\r\n");
        assert_eq!(smtp_data(b".\r\n"), b"..\r\n.\r\n");
    }

    /// Reverses `smtp_data` the way a receiver does (RFC 5321 §4.5.2).
    fn unstuff(data: &[u8]) -> Option<Vec<u8>> {
        let body = data.strip_suffix(b".\r\n")?;
        let mut out = Vec::new();
        for line in body.split_inclusive(|b| *b == b'\n') {
            let line = line.strip_prefix(b".").unwrap_or(line);
            if line.is_empty() {
                return None;
            }
            out.extend_from_slice(line);
        }
        Some(out)
    }

    proptest! {
        #[test]
        fn prop_relay_host_never_panics(value in "(?s).{0,40}") {
            if let Some(r) = RelayHost::parse(&value) {
                prop_assert!(!r.host.is_empty());
            }
        }

        #[test]
        fn prop_data_round_trips(lines in proptest::collection::vec("[.a-z]{0,5}", 0..8)) {
            let message: Vec<u8> =
                lines.iter().flat_map(|l| format!("{l}\r\n").into_bytes()).collect();
            let data = smtp_data(&message);
            // No line in the payload is a lone "." before the terminator.
            let body = &data[..data.len() - 3];
            prop_assert!(!body.split(|b| *b == b'\n').any(|l| l == b"."));
            prop_assert_eq!(unstuff(&data).unwrap(), message);
        }
    }
}
