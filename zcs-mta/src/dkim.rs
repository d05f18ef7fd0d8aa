//! Message authentication with mail-auth: verifying DKIM (RFC 6376), SPF (RFC 7208) and
//! DMARC (RFC 7489) of incoming mail into an `Authentication-Results` value (RFC 8601),
//! and DKIM signing of our users' mail with per-domain keys (Zimbra keeps one key and
//! selector per domain, `zmdkimkeyutil`).
//!
//! DNS goes through mail-auth's resolver behind caches we own; the caches can be filled
//! by hand, which is how tests run with no DNS at all.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::restrictions::{Lookup, PolicyResolver};
use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::dkim::DkimSigner;
use mail_auth::dmarc::Dmarc;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::hickory_resolver::config::{ResolverConfig, ResolverOpts};
use mail_auth::spf::Spf;
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{
    AuthenticatedMessage, AuthenticationResults, MX, MessageAuthenticator, Parameters, RecordSet,
    ResolverCache, Txt,
};

/// Entries a cache keeps before it is emptied (a crude bound; real TTLs apply below it).
const CACHE_MAX: usize = 50_000;

/// A DNS answer cache for mail-auth: a map with expiry, shareable between tasks.
pub struct DnsCache<K, V> {
    map: Mutex<HashMap<K, (V, Option<Instant>)>>,
}

impl<K: Hash + Eq, V: Clone> DnsCache<K, V> {
    fn new() -> Self {
        DnsCache {
            map: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (V, Option<Instant>)>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores an answer that never expires (test zones, pinned records).
    pub fn pin(&self, key: K, value: V) {
        self.lock().insert(key, (value, None));
    }
}

impl<K: Hash + Eq, V: Clone> ResolverCache<K, V> for DnsCache<K, V> {
    fn get<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let map = self.lock();
        let (value, until) = map.get(name)?;
        until
            .is_none_or(|u| u > Instant::now())
            .then(|| value.clone())
    }

    fn remove<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.lock().remove(name).map(|(v, _)| v)
    }

    fn insert(&self, key: K, value: V, valid_until: Instant) {
        let mut map = self.lock();
        if map.len() >= CACHE_MAX {
            map.clear();
        }
        map.insert(key, (value, Some(valid_until)));
    }
}

/// mail-auth parameters over our caches.
type CachedParams<'a, P> = Parameters<
    'a,
    P,
    DnsCache<Box<str>, Txt>,
    DnsCache<Box<str>, RecordSet<MX>>,
    DnsCache<Box<str>, RecordSet<Ipv4Addr>>,
    DnsCache<Box<str>, RecordSet<Ipv6Addr>>,
    DnsCache<IpAddr, RecordSet<Box<str>>>,
>;

/// Verifies DKIM, SPF and DMARC of incoming messages.
pub struct AuthChecker {
    resolver: MessageAuthenticator,
    hostname: String,
    txt: DnsCache<Box<str>, Txt>,
    mx: DnsCache<Box<str>, RecordSet<MX>>,
    ipv4: DnsCache<Box<str>, RecordSet<Ipv4Addr>>,
    ipv6: DnsCache<Box<str>, RecordSet<Ipv6Addr>>,
    ptr: DnsCache<IpAddr, RecordSet<Box<str>>>,
}

/// The checker could not be built.
#[derive(Debug, thiserror::Error)]
pub enum DkimError {
    /// The DNS resolver could not be set up.
    #[error("resolver: {0}")]
    Resolver(String),
    /// A key is not an RSA (PKCS#1 or PKCS#8 PEM) or Ed25519 (PKCS#8) private key.
    #[error("bad DKIM key for {0}")]
    BadKey(String),
    /// A DNS record in a preload did not parse.
    #[error("bad DNS record for {0}")]
    BadRecord(String),
}

fn fqdn(name: &str) -> Box<str> {
    let mut name = name.to_ascii_lowercase();
    if !name.ends_with('.') {
        name.push('.');
    }
    name.into_boxed_str()
}

impl AuthChecker {
    /// A checker resolving through `resolver`, naming itself `hostname` (the
    /// `authserv-id`).
    pub fn new(hostname: impl Into<String>, resolver: MessageAuthenticator) -> Self {
        AuthChecker {
            resolver,
            hostname: hostname.into(),
            txt: DnsCache::new(),
            mx: DnsCache::new(),
            ipv4: DnsCache::new(),
            ipv6: DnsCache::new(),
            ptr: DnsCache::new(),
        }
    }

    /// A checker with no name servers at all: only records given with the `pin_*`
    /// methods exist; every other question fails at once (a temporary error). For tests
    /// and machines without DNS.
    pub fn offline(hostname: impl Into<String>) -> Result<Self, DkimError> {
        let mut opts = ResolverOpts::default();
        opts.attempts = 0;
        opts.timeout = Duration::from_millis(10);
        let config = ResolverConfig::from_parts(None, vec![], vec![]);
        let resolver = MessageAuthenticator::new(config, opts)
            .map_err(|e| DkimError::Resolver(e.to_string()))?;
        Ok(AuthChecker::new(hostname, resolver))
    }

    /// Pins a DKIM key record (`v=DKIM1; k=...; p=...`) at `selector._domainkey.domain`.
    pub fn pin_dkim_key(
        &self,
        selector: &str,
        domain: &str,
        record: &str,
    ) -> Result<(), DkimError> {
        let name = format!("{selector}._domainkey.{domain}");
        let key =
            DomainKey::parse(record.as_bytes()).map_err(|_| DkimError::BadRecord(name.clone()))?;
        self.txt.pin(fqdn(&name), Txt::from(key));
        Ok(())
    }

    /// Pins an SPF record (`v=spf1 ...`) for `domain`.
    pub fn pin_spf(&self, domain: &str, record: &str) -> Result<(), DkimError> {
        let spf = Spf::parse(record.as_bytes()).map_err(|_| DkimError::BadRecord(domain.into()))?;
        self.txt.pin(fqdn(domain), Txt::from(spf));
        Ok(())
    }

    /// Pins a DMARC record (`v=DMARC1; p=...`) at `_dmarc.domain`, and pins "no record"
    /// at `_dmarc.` of every parent domain not pinned yet (the DMARC tree walk asks
    /// them).
    pub fn pin_dmarc(&self, domain: &str, record: &str) -> Result<(), DkimError> {
        let name = format!("_dmarc.{domain}");
        let dmarc =
            Dmarc::parse(record.as_bytes()).map_err(|_| DkimError::BadRecord(name.clone()))?;
        self.txt.pin(fqdn(&name), Txt::from(dmarc));
        let mut parent = domain;
        while let Some((_, rest)) = parent.split_once('.') {
            let key = fqdn(&format!("_dmarc.{rest}"));
            if self.txt.get(&key).is_none() {
                self.pin_absent_txt(&key);
            }
            parent = rest;
        }
        Ok(())
    }

    /// Pins "no such record" for TXT questions about `name` (NXDOMAIN).
    pub fn pin_absent_txt(&self, name: &str) {
        use mail_auth::hickory_resolver::proto::op::ResponseCode;
        let missing =
            mail_auth::Error::Dns(mail_auth::DnsError::RecordNotFound(ResponseCode::NXDomain));
        self.txt.pin(fqdn(name), Txt::Error(missing));
    }

    fn params<P>(&self, p: P) -> CachedParams<'_, P> {
        Parameters::new(p)
            .with_txt_cache(&self.txt)
            .with_mx_cache(&self.mx)
            .with_ipv4_cache(&self.ipv4)
            .with_ipv6_cache(&self.ipv6)
            .with_ptr_cache(&self.ptr)
    }

    /// A checker asking the name servers `servers` (the system's when empty).
    ///
    /// # Errors
    /// The resolver cannot be built.
    pub fn with_name_servers(
        hostname: impl Into<String>,
        servers: &[std::net::SocketAddr],
    ) -> Result<Self, DkimError> {
        let resolver =
            crate::dns::authenticator(servers).map_err(|e| DkimError::Resolver(e.to_string()))?;
        Ok(AuthChecker::new(hostname, resolver))
    }

    /// Checks `content` (the message as sent) from `ip`, greeting `helo`, with envelope
    /// sender `mail_from` (`""` for `<>`), and returns the `Authentication-Results` value
    /// (without the field name): `host; dkim=...; spf=...; dmarc=...`. An unparsable
    /// message gives `host; none`. Costs the DNS lookups the checks need.
    pub async fn verify(&self, content: &[u8], ip: IpAddr, helo: &str, mail_from: &str) -> String {
        self.check(content, ip, helo, mail_from).await.header
    }

    /// As [`Self::verify`], with the DMARC outcome beside the header value.
    pub async fn check(
        &self,
        content: &[u8],
        ip: IpAddr,
        helo: &str,
        mail_from: &str,
    ) -> AuthReport {
        let Some(message) = AuthenticatedMessage::parse(content) else {
            return AuthReport {
                header: format!("{}; none", self.hostname),
                dmarc: DmarcVerdict::default(),
                evaluation: None,
            };
        };
        let dkim = self.resolver.verify_dkim(self.params(&message)).await;
        let spf = self
            .resolver
            .verify_spf(self.params(SpfParameters::verify(ip, helo, &self.hostname, mail_from)))
            .await;
        let mail_from_domain = match mail_from.rsplit_once('@') {
            Some((_, d)) => d,
            None => helo,
        };
        let dmarc = self
            .resolver
            .verify_dmarc(self.params(DmarcParameters::new(
                &message,
                &dkim,
                mail_from_domain,
                &spf,
            )))
            .await;
        let results = AuthenticationResults::new(&self.hostname)
            .with_dkim_results(&dkim, message.from())
            .with_spf_mailfrom_result(&spf, ip, mail_from, helo)
            .with_dmarc_result(&dmarc);
        let header = results.to_header();
        // to_header gives "Authentication-Results: value\r\n"; keep the value only.
        let header = header
            .split_once(':')
            .map(|(_, v)| v)
            .unwrap_or(&header)
            .trim()
            .to_string();
        // RFC 7489 §7.2: a row for the aggregate report, when the domain asks for one.
        let evaluation = dmarc.dmarc_record().filter(|r| !r.rua.is_empty()).map(|r| {
            use mail_auth::report::{PolicyPublished, Record, SPFDomainScope};
            crate::dmarc_report::Evaluation {
                at: u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0),
                policy: PolicyPublished::from_record(dmarc.domain(), r),
                rua: r.rua.iter().map(|u| u.uri.clone()).collect(),
                record: Record::new()
                    .with_dkim_output(&dkim)
                    .with_spf_output(&spf, SPFDomainScope::MailFrom)
                    .with_dmarc_output(&dmarc)
                    .with_source_ip(ip)
                    .with_envelope_from(mail_from_domain)
                    .with_header_from(dmarc.domain()),
            }
        });
        AuthReport {
            header,
            dmarc: DmarcVerdict::from_output(&dmarc),
            evaluation,
        }
    }

    /// The addresses among `addresses` (outside `domain`) that `domain`'s reports may
    /// go to: those whose domain publishes `<domain>._report._dmarc.<their domain>`
    /// (RFC 7489 §7.1). Costs one TXT lookup per address domain.
    pub async fn authorised_report_addresses(
        &self,
        domain: &str,
        addresses: &[String],
    ) -> Vec<String> {
        self.resolver
            .verify_dmarc_report_address(domain, addresses, Some(&self.txt))
            .await
            .map(|ok| ok.into_iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// What [`AuthChecker::check`] found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuthReport {
    /// The `Authentication-Results` value, without the field name.
    pub header: String,
    /// The DMARC outcome.
    pub dmarc: DmarcVerdict,
    /// The aggregate-report row, when the domain's record has `rua=`.
    pub evaluation: Option<crate::dmarc_report::Evaluation>,
}

/// The policy a DMARC record asks for failing mail (RFC 7489 §6.3 `p=` / `sp=`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DmarcPolicy {
    /// `p=none`, no record, or no usable policy: monitor only.
    #[default]
    None,
    /// `p=quarantine`: treat as suspicious (we file it to Junk).
    Quarantine,
    /// `p=reject`: refuse at the end of data.
    Reject,
}

/// The DMARC outcome of one message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DmarcVerdict {
    /// The `From:` domain checked (empty when there was none).
    pub domain: String,
    /// True when the domain publishes DMARC and neither aligned SPF nor aligned DKIM
    /// passed (a temporary DNS error is not a failure).
    pub failed: bool,
    /// The policy that applies to the failure: `sp=` for subdomains, else `p=`; one step
    /// milder when the record says `t=y` (testing, DMARCbis).
    pub policy: DmarcPolicy,
}

impl DmarcVerdict {
    fn from_output(out: &mail_auth::DmarcOutput) -> Self {
        use mail_auth::dmarc::Policy;
        let failed = matches!(out.result(), mail_auth::DmarcResult::Fail(_));
        let mut policy = match out.policy() {
            Policy::Reject => DmarcPolicy::Reject,
            Policy::Quarantine => DmarcPolicy::Quarantine,
            Policy::None | Policy::Unspecified => DmarcPolicy::None,
        };
        if out.dmarc_record().is_some_and(|r| r.t) {
            policy = match policy {
                DmarcPolicy::Reject => DmarcPolicy::Quarantine,
                _ => DmarcPolicy::None,
            };
        }
        DmarcVerdict {
            domain: out.domain().to_string(),
            failed,
            policy,
        }
    }
}

/// What a lookup error means for a restriction.
fn lookup_failure<T>(e: &mail_auth::Error) -> Lookup<T> {
    match e {
        mail_auth::Error::Dns(mail_auth::DnsError::RecordNotFound(_)) => Lookup::NotFound,
        _ => Lookup::TempFail,
    }
}

impl AuthChecker {
    /// Pins an A record: `name` resolves to `ip` (test zones, block-list entries).
    pub fn pin_a(&self, name: &str, ip: Ipv4Addr) {
        let set = RecordSet {
            rrset: Arc::from([ip]),
            dnssec_status: Default::default(),
        };
        self.ipv4.pin(fqdn(name), set);
    }
}

/// The DNS questions of `zimbraMtaRestriction`, answered with the checker's resolver and
/// caches.
#[async_trait::async_trait]
impl PolicyResolver for AuthChecker {
    /// An MX, A or AAAA record makes the domain exist (Postfix's
    /// `reject_unknown_sender_domain`); a failed question only counts when no other
    /// question found the domain.
    async fn domain_exists(&self, domain: &str) -> Lookup<()> {
        fn fold<T>(r: mail_auth::Result<RecordSet<T>>) -> Lookup<()> {
            match r {
                Ok(set) if !set.rrset.is_empty() => Lookup::Found(()),
                Ok(_) => Lookup::NotFound,
                Err(e) => lookup_failure(&e),
            }
        }
        let answers = [
            fold(self.resolver.mx_lookup(domain, Some(&self.mx)).await),
            fold(self.resolver.ipv4_lookup(domain, Some(&self.ipv4)).await),
            fold(self.resolver.ipv6_lookup(domain, Some(&self.ipv6)).await),
        ];
        if answers.contains(&Lookup::Found(())) {
            Lookup::Found(())
        } else if answers.contains(&Lookup::TempFail) {
            Lookup::TempFail
        } else {
            Lookup::NotFound
        }
    }

    /// An A record at the reversed address under `zone` (RFC 5782 §2.1).
    async fn rbl_lookup(&self, zone: &str, ip: IpAddr) -> Lookup<String> {
        let name = match ip.to_canonical() {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                format!("{}.{}.{}.{}.{zone}", o[3], o[2], o[1], o[0])
            }
            IpAddr::V6(v6) => {
                let hex: String = v6.octets().iter().map(|b| format!("{b:02x}")).collect();
                let nibbles: Vec<String> = hex.chars().rev().map(String::from).collect();
                format!("{}.{zone}", nibbles.join("."))
            }
        };
        match self
            .resolver
            .ipv4_lookup(name.as_str(), Some(&self.ipv4))
            .await
        {
            Ok(set) if !set.rrset.is_empty() => Lookup::Found(String::new()),
            Ok(_) => Lookup::NotFound,
            Err(e) => lookup_failure(&e),
        }
    }

    /// An A record at `domain.zone` (RFC 5782 §2.2).
    async fn rhsbl_lookup(&self, zone: &str, domain: &str) -> Lookup<String> {
        let name = format!("{}.{zone}", domain.trim_end_matches('.'));
        match self
            .resolver
            .ipv4_lookup(name.as_str(), Some(&self.ipv4))
            .await
        {
            Ok(set) if !set.rrset.is_empty() => Lookup::Found(String::new()),
            Ok(_) => Lookup::NotFound,
            Err(e) => lookup_failure(&e),
        }
    }

    /// The first PTR name of `ip`.
    async fn reverse_name(&self, ip: IpAddr) -> Lookup<String> {
        match self.resolver.ptr_lookup(ip, Some(&self.ptr)).await {
            Ok(set) => match set.rrset.first() {
                Some(name) => Lookup::Found(name.trim_end_matches('.').to_string()),
                None => Lookup::NotFound,
            },
            Err(e) => lookup_failure(&e),
        }
    }

    /// The A and AAAA addresses of `name`; a failed question only counts when the other
    /// found nothing.
    async fn addresses(&self, name: &str) -> Lookup<Vec<IpAddr>> {
        let name = name.trim_end_matches('.');
        let mut found: Vec<IpAddr> = Vec::new();
        let mut failed = false;
        match self.resolver.ipv4_lookup(name, Some(&self.ipv4)).await {
            Ok(set) => found.extend(set.rrset.iter().map(|a| IpAddr::V4(*a))),
            Err(e) => failed |= matches!(lookup_failure::<()>(&e), Lookup::TempFail),
        }
        match self.resolver.ipv6_lookup(name, Some(&self.ipv6)).await {
            Ok(set) => found.extend(set.rrset.iter().map(|a| IpAddr::V6(*a))),
            Err(e) => failed |= matches!(lookup_failure::<()>(&e), Lookup::TempFail),
        }
        match (found.is_empty(), failed) {
            (false, _) => Lookup::Found(found),
            (true, true) => Lookup::TempFail,
            (true, false) => Lookup::NotFound,
        }
    }
}

/// A private key that signs.
enum SigningKey {
    Rsa(RsaKey<Sha256>),
    Ed25519(Ed25519Key),
}

/// One domain's DKIM key and selector.
struct DomainKeyEntry {
    selector: String,
    key: SigningKey,
}

/// DKIM signing keys by domain (lower-case), as `zmdkimkeyutil` keeps them.
#[derive(Default)]
pub struct DkimKeys {
    keys: HashMap<String, Arc<DomainKeyEntry>>,
}

/// Header fields signed, when present (RFC 6376 §5.4.1 recommendations).
const SIGNED_HEADERS: [&str; 11] = [
    "From",
    "Reply-To",
    "Subject",
    "Date",
    "To",
    "Cc",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
];

impl DkimKeys {
    /// No keys.
    pub fn new() -> Self {
        DkimKeys::default()
    }

    /// Adds `domain`'s key: an RSA private key in PEM (PKCS#1 `RSA PRIVATE KEY` or PKCS#8
    /// `PRIVATE KEY`) or an Ed25519 PKCS#8 key in PEM, signed with `selector`.
    ///
    /// # Errors
    ///
    /// `DkimError::BadKey` when the PEM holds neither.
    pub fn add_pem(&mut self, domain: &str, selector: &str, pem: &str) -> Result<(), DkimError> {
        use rustls::pki_types::{PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer};
        let bad = || DkimError::BadKey(domain.into());
        let der = pem_body(pem).ok_or_else(bad)?;
        let key = if pem.contains("BEGIN RSA PRIVATE KEY") {
            let der = PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der));
            SigningKey::Rsa(RsaKey::<Sha256>::from_key_der(der).map_err(|_| bad())?)
        } else {
            let pkcs8 = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der.clone()));
            match RsaKey::<Sha256>::from_key_der(pkcs8) {
                Ok(k) => SigningKey::Rsa(k),
                Err(_) => SigningKey::Ed25519(
                    Ed25519Key::from_pkcs8_maybe_unchecked_der(&der).map_err(|_| bad())?,
                ),
            }
        };
        self.insert(domain, selector, key);
        Ok(())
    }

    /// Adds `domain`'s Ed25519 key from PKCS#8 DER.
    pub fn add_ed25519_der(
        &mut self,
        domain: &str,
        selector: &str,
        der: &[u8],
    ) -> Result<(), DkimError> {
        let key = Ed25519Key::from_pkcs8_maybe_unchecked_der(der)
            .map_err(|_| DkimError::BadKey(domain.into()))?;
        self.insert(domain, selector, SigningKey::Ed25519(key));
        Ok(())
    }

    fn insert(&mut self, domain: &str, selector: &str, key: SigningKey) {
        let entry = DomainKeyEntry {
            selector: selector.to_string(),
            key,
        };
        self.keys
            .insert(domain.to_ascii_lowercase(), Arc::new(entry));
    }

    /// The domains with a key, sorted.
    pub fn domains(&self) -> Vec<String> {
        let mut d: Vec<_> = self.keys.keys().cloned().collect();
        d.sort();
        d
    }

    /// Signs `content` with the key of the domain of its `From` header, else of
    /// `mail_from`'s domain. Returns the domain and the `DKIM-Signature` field
    /// (CRLF-terminated), or `None` when no key applies or signing failed.
    pub fn sign(&self, content: &[u8], mail_from: &str) -> Option<(String, Vec<u8>)> {
        let from_domain = header_from_domain(content);
        let envelope_domain = mail_from
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase());
        let (domain, entry) = [from_domain, envelope_domain]
            .into_iter()
            .flatten()
            .find_map(|d| self.keys.get(&d).map(|e| (d, e.clone())))?;
        let signature = match &entry.key {
            SigningKey::Rsa(k) => DkimSigner::from_key(KeyRef(k))
                .domain(&domain)
                .selector(&entry.selector)
                .headers(SIGNED_HEADERS)
                .sign(content),
            SigningKey::Ed25519(k) => DkimSigner::from_key(KeyRef(k))
                .domain(&domain)
                .selector(&entry.selector)
                .headers(SIGNED_HEADERS)
                .sign(content),
        }
        .ok()?;
        Some((domain, signature.to_header().into_bytes()))
    }
}

/// A borrowed signing key: the keys cannot be cloned and `DkimSigner` takes its key by
/// value.
struct KeyRef<'a, K>(&'a K);

impl<K: mail_auth::common::crypto::SigningKey> mail_auth::common::crypto::SigningKey
    for KeyRef<'_, K>
{
    type Hasher = K::Hasher;

    fn sign(&self, input: impl mail_auth::common::headers::Writable) -> mail_auth::Result<Vec<u8>> {
        self.0.sign(input)
    }

    fn algorithm(&self) -> mail_auth::common::crypto::Algorithm {
        self.0.algorithm()
    }
}

/// The base64 body of a PEM block, decoded.
fn pem_body(pem: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

/// The lower-cased domain of the first address in the `From` header, if any.
fn header_from_domain(content: &[u8]) -> Option<String> {
    let message = mail_parser::MessageParser::default().parse_headers(content)?;
    let from = message.from()?.first()?.address()?;
    from.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &[u8] = b"From: Joe <joe@Example.test>\r\nTo: a@b.test\r\n\
Subject: hi\r\n\r\nbody\r\n";

    #[test]
    fn pem_keys_and_domain_choice() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let mut keys = DkimKeys::new();
        keys.add_pem("example.test", "s1", &key.serialize_pem())
            .unwrap();
        assert!(matches!(
            keys.add_pem("bad.test", "s1", "-----BEGIN PRIVATE KEY-----\nAAAA\n"),
            Err(DkimError::BadKey(_))
        ));
        assert_eq!(keys.domains(), vec!["example.test".to_string()]);

        // The From domain picks the key, whatever the envelope says.
        let (domain, header) = keys.sign(MESSAGE, "bounce@other.test").unwrap();
        assert_eq!(domain, "example.test");
        let header = String::from_utf8(header).unwrap();
        assert!(
            header.starts_with("DKIM-Signature: v=1; a=ed25519-sha256;"),
            "{header}"
        );
        assert!(header.contains("d=example.test") && header.contains("s=s1"));
        assert!(header.ends_with("\r\n"));
        // No key for the domain: no signature.
        let other = b"From: x@other.test\r\n\r\nbody\r\n";
        assert!(keys.sign(other, "x@other.test").is_none());
        assert!(keys.sign(b"\xff\xfe", "").is_none());
    }

    #[tokio::test]
    async fn policy_lookups_from_pinned_records() {
        let checker = AuthChecker::offline("mx.test").unwrap();
        checker.pin_a("mail.example.test", Ipv4Addr::new(192, 0, 2, 1));
        checker.pin_a("2.0.0.127.bl.test", Ipv4Addr::new(127, 0, 0, 2));
        assert_eq!(
            checker.domain_exists("mail.example.test").await,
            Lookup::Found(())
        );
        // Offline: a name nobody pinned cannot be answered.
        assert_eq!(
            checker.domain_exists("nowhere.test").await,
            Lookup::TempFail
        );
        let listed: IpAddr = "127.0.0.2".parse().unwrap();
        assert_eq!(
            checker.rbl_lookup("bl.test", listed).await,
            Lookup::Found(String::new())
        );
    }

    #[test]
    fn cache_expiry() {
        let cache: DnsCache<Box<str>, u32> = DnsCache::new();
        cache.insert("a.".into(), 1, Instant::now() + Duration::from_secs(60));
        cache.insert("b.".into(), 2, Instant::now() - Duration::from_secs(1));
        cache.pin("c.".into(), 3);
        assert_eq!(cache.get("a."), Some(1));
        assert_eq!(cache.get("b."), None);
        assert_eq!(cache.get("c."), Some(3));
        assert_eq!(cache.remove("c."), Some(3));
    }
}
