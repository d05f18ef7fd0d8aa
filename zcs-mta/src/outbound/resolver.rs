//! The DNS seam of outbound delivery: MX and address lookups behind [`Resolver`], a
//! system implementation over mail-auth's hickory resolver, and a static one for tests
//! (tests never ask real DNS).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use mail_auth::MessageAuthenticator;
use mail_auth::common::cache::NoCache;
use mail_auth::hickory_resolver::proto::op::ResponseCode;

/// One MX record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxRecord {
    /// RFC 5321 §5.1: lower is tried first.
    pub preference: u16,
    /// The exchange host name; `"."` (or `""`) is the RFC 7505 null MX.
    pub exchange: String,
}

/// Why a lookup gave nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// The name or the record type does not exist (NXDOMAIN / NODATA): permanent.
    #[error("Host or domain name not found")]
    NotFound,
    /// The lookup failed (timeout, SERVFAIL): try again later.
    #[error("DNS lookup failed: {0}")]
    Temporary(String),
}

/// MX and address lookups. Implementations must be cheap to call concurrently.
#[async_trait]
pub trait Resolver: Send + Sync {
    /// The MX records of `domain`, any order. `NotFound` means no MX (the caller falls
    /// back to the domain's address, RFC 5321 §5.1 implicit MX).
    async fn mx(&self, domain: &str) -> Result<Vec<MxRecord>, DnsError>;

    /// The IPv4 and IPv6 addresses of `host`.
    async fn ip(&self, host: &str) -> Result<Vec<IpAddr>, DnsError>;
}

/// The system resolver (`/etc/resolv.conf`) through mail-auth's hickory resolver.
pub struct SystemResolver {
    inner: MessageAuthenticator,
}

impl SystemResolver {
    /// Reads the system configuration.
    ///
    /// # Errors
    /// The configuration cannot be read.
    pub fn new() -> Result<SystemResolver, DnsError> {
        let inner = MessageAuthenticator::new_system_conf()
            .map_err(|e| DnsError::Temporary(e.to_string()))?;
        Ok(SystemResolver { inner })
    }

    /// Asks exactly `servers` (`zcs_dns_servers`); the system's when empty.
    ///
    /// # Errors
    /// The resolver cannot be built.
    pub fn with_name_servers(servers: &[std::net::SocketAddr]) -> Result<SystemResolver, DnsError> {
        let inner =
            crate::dns::authenticator(servers).map_err(|e| DnsError::Temporary(e.to_string()))?;
        Ok(SystemResolver { inner })
    }

    /// As [`Self::with_name_servers`], waiting `timeout` for each answer and trying each
    /// server `attempts` times (tests use a short wait for a server that never answers).
    ///
    /// # Errors
    /// The resolver cannot be built.
    pub fn with_name_servers_timeout(
        servers: &[std::net::SocketAddr],
        timeout: std::time::Duration,
        attempts: usize,
    ) -> Result<SystemResolver, DnsError> {
        let inner = crate::dns::authenticator_with_timeout(servers, timeout, attempts)
            .map_err(|e| DnsError::Temporary(e.to_string()))?;
        Ok(SystemResolver { inner })
    }
}

/// Maps a resolver error. Only an answer that says the name does not exist (NXDOMAIN,
/// RFC 1035 §4.1.1 RCODE 3) or holds no record of the type (NOERROR with an empty
/// answer, RFC 2308 §2.2 NODATA) is [`DnsError::NotFound`]; everything else (SERVFAIL,
/// REFUSED, a timeout, no server reachable, a reply that cannot be read) is
/// [`DnsError::Temporary`], so the message is deferred, never bounced, for a failure of
/// the resolver rather than an answer about the domain.
fn map_err(e: mail_auth::Error) -> DnsError {
    match e {
        mail_auth::Error::Dns(mail_auth::DnsError::RecordNotFound(code))
            if code == ResponseCode::NXDomain || code == ResponseCode::NoError =>
        {
            DnsError::NotFound
        }
        other => DnsError::Temporary(other.to_string()),
    }
}

/// A resolver for a host whose DNS configuration could not be read: every lookup fails
/// temporarily with the reason, so outbound mail waits in the deferred queue (4.4.3)
/// until the configuration is mended, instead of bouncing as if no domain existed.
#[derive(Clone, Debug)]
pub struct UnavailableResolver {
    reason: String,
}

impl UnavailableResolver {
    /// A resolver failing every lookup with `reason`.
    pub fn new(reason: impl Into<String>) -> UnavailableResolver {
        UnavailableResolver {
            reason: reason.into(),
        }
    }
}

#[async_trait]
impl Resolver for UnavailableResolver {
    async fn mx(&self, _domain: &str) -> Result<Vec<MxRecord>, DnsError> {
        Err(DnsError::Temporary(self.reason.clone()))
    }

    async fn ip(&self, host: &str) -> Result<Vec<IpAddr>, DnsError> {
        // An address needs no resolver (a relay host given as an IP).
        match host.parse::<IpAddr>() {
            Ok(ip) => Ok(vec![ip]),
            Err(_) => Err(DnsError::Temporary(self.reason.clone())),
        }
    }
}

#[async_trait]
impl Resolver for SystemResolver {
    async fn mx(&self, domain: &str) -> Result<Vec<MxRecord>, DnsError> {
        let set = self
            .inner
            .mx_lookup(domain, None::<&NoCache<_, _>>)
            .await
            .map_err(map_err)?;
        let mut out = Vec::new();
        for mx in set.rrset.iter() {
            for exchange in mx.exchanges.iter() {
                out.push(MxRecord {
                    preference: mx.preference,
                    exchange: exchange.trim_end_matches('.').to_string(),
                });
            }
        }
        Ok(out)
    }

    async fn ip(&self, host: &str) -> Result<Vec<IpAddr>, DnsError> {
        let v4 = self.inner.ipv4_lookup_raw(host).await;
        let v6 = self.inner.ipv6_lookup_raw(host).await;
        let mut out: Vec<IpAddr> = Vec::new();
        if let Ok(v4) = &v4 {
            out.extend(v4.entry.iter().map(|a| IpAddr::V4(*a)));
        }
        if let Ok(v6) = &v6 {
            out.extend(v6.entry.iter().map(|a| IpAddr::V6(*a)));
        }
        if out.is_empty() {
            for err in [v4.err(), v6.err()].into_iter().flatten() {
                let err = map_err(err);
                if err != DnsError::NotFound {
                    return Err(err);
                }
            }
            return Err(DnsError::NotFound);
        }
        Ok(out)
    }
}

/// A fixed zone, for tests and for hosts without DNS: names not listed are `NotFound`
/// unless marked failing.
#[derive(Clone, Default)]
pub struct StaticResolver {
    zone: Arc<RwLock<Zone>>,
}

#[derive(Default)]
struct Zone {
    mx: HashMap<String, Vec<MxRecord>>,
    ip: HashMap<String, Vec<IpAddr>>,
    failing: HashMap<String, String>,
}

impl StaticResolver {
    /// An empty zone.
    pub fn new() -> StaticResolver {
        StaticResolver::default()
    }

    /// Adds an MX record for `domain`.
    pub fn add_mx(&self, domain: &str, preference: u16, exchange: &str) -> &Self {
        if let Ok(mut zone) = self.zone.write() {
            zone.mx
                .entry(domain.to_ascii_lowercase())
                .or_default()
                .push(MxRecord {
                    preference,
                    exchange: exchange.to_string(),
                });
        }
        self
    }

    /// Adds an address for `host`.
    pub fn add_ip(&self, host: &str, ip: IpAddr) -> &Self {
        if let Ok(mut zone) = self.zone.write() {
            zone.ip
                .entry(host.to_ascii_lowercase())
                .or_default()
                .push(ip);
        }
        self
    }

    /// Makes every lookup of `name` fail temporarily with `reason`.
    pub fn fail(&self, name: &str, reason: &str) -> &Self {
        if let Ok(mut zone) = self.zone.write() {
            zone.failing
                .insert(name.to_ascii_lowercase(), reason.to_string());
        }
        self
    }
}

#[async_trait]
impl Resolver for StaticResolver {
    async fn mx(&self, domain: &str) -> Result<Vec<MxRecord>, DnsError> {
        let zone = self
            .zone
            .read()
            .map_err(|_| DnsError::Temporary("poisoned".into()))?;
        let key = domain.to_ascii_lowercase();
        if let Some(reason) = zone.failing.get(&key) {
            return Err(DnsError::Temporary(reason.clone()));
        }
        zone.mx.get(&key).cloned().ok_or(DnsError::NotFound)
    }

    async fn ip(&self, host: &str) -> Result<Vec<IpAddr>, DnsError> {
        let zone = self
            .zone
            .read()
            .map_err(|_| DnsError::Temporary("poisoned".into()))?;
        let key = host.to_ascii_lowercase();
        if let Some(reason) = zone.failing.get(&key) {
            return Err(DnsError::Temporary(reason.clone()));
        }
        if let Ok(ip) = key.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        zone.ip.get(&key).cloned().ok_or(DnsError::NotFound)
    }
}
