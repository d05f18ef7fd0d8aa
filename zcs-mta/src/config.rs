//! Listener settings: what one SMTP or LMTP listener speaks and the limits it enforces.
//!
//! Plain data filled by `zcs-server` from the directory (`zimbraMtaMaxMessageSize`, ...);
//! reading the directory is not this crate's job.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::TlsAcceptor;

use crate::Protocol;
use crate::auth::SmtpAuthenticator;
use crate::envelope::MessageSink;
use crate::limits::Limits;
use crate::milter::MilterSettings;
use crate::restrictions::{Cidr, PolicyResolver, RecipientPolicy, Restriction};
use crate::scan::Filters;

/// Settings of one listener.
///
/// Every field added after the first release has a default in [`ListenerConfig::new`]
/// that keeps the old behaviour: no TLS, no AUTH, no relay, no restrictions, no filters.
#[derive(Clone)]
pub struct ListenerConfig {
    /// SMTP or LMTP.
    pub protocol: Protocol,
    /// Our host name, used in the greeting, the EHLO reply and the trace header.
    pub hostname: String,
    /// Largest message accepted, in octets of content (`zimbraMtaMaxMessageSize`,
    /// default 10240000). Advertised as `SIZE`; larger messages get `552 5.3.4`.
    pub max_message_size: u64,
    /// Most recipients per transaction; more get `452 4.5.3` (RFC 5321 §4.5.3.1.10
    /// asks for at least 100).
    pub max_recipients: usize,
    /// Longest command line, CRLF included; longer lines get `500 5.5.2` and are
    /// dropped without being buffered (RFC 5321 §4.5.3.1.4 asks for at least 512).
    /// Message content is not split into lines at all, so its lines have no cap beyond
    /// `max_message_size`.
    pub max_line_length: usize,
    /// How long a session may wait for the client; then `421 4.4.2` and close
    /// (RFC 5321 §4.5.3.2.7 suggests 5 minutes).
    pub idle_timeout: Duration,
    /// Most sessions at once; a client beyond it gets `421 4.7.0` and is disconnected.
    pub max_connections: usize,
    /// After shutdown is signalled, how long running sessions may take to finish before
    /// they are cut off.
    pub shutdown_grace: Duration,
    /// The TLS acceptor: `STARTTLS` is offered (RFC 3207) when set, and `implicit_tls`
    /// needs it.
    pub tls: Option<TlsAcceptor>,
    /// Implicit TLS (port 465, RFC 8314 §3.3): the handshake comes before the greeting.
    /// Ignored without `tls`.
    pub implicit_tls: bool,
    /// Submission mode (port 587, RFC 6409): `MAIL` needs `AUTH` first (`530 5.7.0`).
    pub submission: bool,
    /// Checks `AUTH` credentials; `AUTH` is offered only when set (SMTP only).
    pub authenticator: Option<Arc<dyn SmtpAuthenticator>>,
    /// `AUTH` only under TLS (`zimbraMtaTlsAuthOnly`, default true): on cleartext it is
    /// neither advertised nor accepted (`538 5.7.11`).
    pub require_tls_for_auth: bool,
    /// Pause before answering a failed `AUTH` with `535 5.7.8` (slows password guessing).
    pub auth_failure_delay: Duration,
    /// An authenticated user may only use their own addresses as envelope sender
    /// (`reject_sender_login_mismatch`, default true); see `AuthedUser::may_send_as`.
    pub enforce_sender_login: bool,
    /// `zimbraMtaMyNetworks`: clients trusted to relay and exempt from restrictions and
    /// rate limits.
    pub my_networks: Vec<Cidr>,
    /// Tells local domains from others. Without it every recipient is taken as local
    /// (resolved by `LocalDelivery`) and nothing is relayed.
    pub recipient_policy: Option<Arc<dyn RecipientPolicy>>,
    /// `zimbraMtaRestriction`: checks applied at `RCPT` to untrusted, unauthenticated
    /// clients, in order.
    pub restrictions: Vec<Restriction>,
    /// DNS for `reject_unknown_sender_domain` and `reject_rbl_client`; those are skipped
    /// without it.
    pub policy_resolver: Option<Arc<dyn PolicyResolver>>,
    /// Per-client connection, message and recipient limits.
    pub limits: Limits,
    /// Content filters run at the end of data: virus, spam, authentication checks and
    /// DKIM signing.
    pub filters: Filters,
    /// Milters asked at the end of data, before the content filters
    /// (`zimbraMtaSmtpdMilters`); none by default. SMTP only.
    pub milters: MilterSettings,
    /// Where finished messages go with their envelope (the queue). Without it they go to
    /// `LocalDelivery::deliver` and relay is never offered.
    pub sink: Option<Arc<dyn MessageSink>>,
}

impl fmt::Debug for ListenerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListenerConfig")
            .field("protocol", &self.protocol)
            .field("hostname", &self.hostname)
            .field("max_message_size", &self.max_message_size)
            .field("max_recipients", &self.max_recipients)
            .field("tls", &self.tls.is_some())
            .field("implicit_tls", &self.implicit_tls)
            .field("submission", &self.submission)
            .field("authenticator", &self.authenticator.is_some())
            .field("require_tls_for_auth", &self.require_tls_for_auth)
            .field("my_networks", &self.my_networks)
            .field("restrictions", &self.restrictions)
            .field("limits", &self.limits)
            .field("filters", &self.filters)
            .field("milters", &self.milters)
            .field("sink", &self.sink.is_some())
            .finish_non_exhaustive()
    }
}

impl ListenerConfig {
    /// Defaults for `protocol` on host `hostname`: 10240000-octet messages, 1000
    /// recipients, 4096-octet command lines, 5-minute idle timeout, 100 connections,
    /// 30 seconds of shutdown grace; no TLS, AUTH (TLS-only once an authenticator is
    /// set, 1-second failure delay), relay, restrictions or filters; [`Limits`] defaults.
    pub fn new(protocol: Protocol, hostname: impl Into<String>) -> Self {
        ListenerConfig {
            protocol,
            hostname: hostname.into(),
            max_message_size: 10_240_000,
            max_recipients: 1000,
            max_line_length: 4096,
            idle_timeout: Duration::from_secs(300),
            max_connections: 100,
            shutdown_grace: Duration::from_secs(30),
            tls: None,
            implicit_tls: false,
            submission: false,
            authenticator: None,
            require_tls_for_auth: true,
            auth_failure_delay: Duration::from_secs(1),
            enforce_sender_login: true,
            my_networks: Vec::new(),
            recipient_policy: None,
            restrictions: Vec::new(),
            policy_resolver: None,
            limits: Limits::default(),
            filters: Filters::default(),
            milters: MilterSettings::default(),
            sink: None,
        }
    }
}
