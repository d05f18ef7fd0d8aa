//! Listener settings: what one SMTP or LMTP listener speaks and the limits it enforces.
//!
//! Plain data filled by `zcs-server` from the directory (`zimbraMtaMaxMessageSize`, ...);
//! reading the directory is not this crate's job.

use std::time::Duration;

use crate::Protocol;

/// Settings of one listener.
#[derive(Clone, Debug)]
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
}

impl ListenerConfig {
    /// Defaults for `protocol` on host `hostname`: 10240000-octet messages, 1000
    /// recipients, 4096-octet command lines, 5-minute idle timeout, 100 connections,
    /// 30 seconds of shutdown grace.
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
        }
    }
}
