//! Who may send what through an SMTP listener: trusted networks (`zimbraMtaMyNetworks`),
//! relay control, and the `zimbraMtaRestriction` checks on the HELO name, the sender and
//! the client address, with the seams (`RecipientPolicy`, `PolicyResolver`) the server
//! implements.
//!
//! Decisions only; the session turns them into replies and applies them at `RCPT`
//! (Postfix's `smtpd_delay_reject = yes`). LMTP skips all of this: it is internal.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use async_trait::async_trait;

/// One network in CIDR notation (`10.0.0.0/8`, `::1/128`, or a bare address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// A malformed network or restriction.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Not `address[/prefix]`.
    #[error("bad network {0:?}")]
    BadNetwork(String),
    /// Not a restriction this server knows.
    #[error("unknown restriction {0:?}")]
    UnknownRestriction(String),
}

impl Cidr {
    /// Whether `ip` is inside this network (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = PolicyError;

    /// Parses `addr/prefix` or a bare address; Postfix's `[::1]/128` brackets are
    /// accepted.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || PolicyError::BadNetwork(s.to_string());
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Parses `zimbraMtaMyNetworks`: networks separated by spaces and/or commas.
pub fn parse_networks(value: &str) -> Result<Vec<Cidr>, PolicyError> {
    value
        .split([' ', ',', '\t', '\n'])
        .filter(|w| !w.is_empty())
        .map(str::parse)
        .collect()
}

/// One `zimbraMtaRestriction` value this server applies (Postfix restriction names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Restriction {
    /// `reject_invalid_helo_hostname`: the HELO argument is not a host name or address
    /// literal.
    RejectInvalidHeloHostname,
    /// `reject_non_fqdn_helo_hostname`: the HELO name has no dot.
    RejectNonFqdnHeloHostname,
    /// `reject_unknown_helo_hostname`: the HELO name has neither MX nor address.
    RejectUnknownHeloHostname,
    /// `reject_non_fqdn_sender`: the sender's domain has no dot.
    RejectNonFqdnSender,
    /// `reject_unknown_sender_domain`: the sender's domain has neither MX nor address.
    RejectUnknownSenderDomain,
    /// `reject_rbl_client zone`: the client address is listed in the DNS block list.
    RejectRblClient(String),
    /// `reject_rhsbl_sender zone`: the sender's domain is listed in the domain block
    /// list (RFC 5782 §2.2).
    RejectRhsblSender(String),
    /// `reject_rhsbl_helo zone`: the HELO name is listed in the domain block list.
    RejectRhsblHelo(String),
    /// `reject_rhsbl_recipient zone`: the recipient's domain is listed.
    RejectRhsblRecipient(String),
    /// `reject_rhsbl_client zone` (also `reject_rhsbl_reverse_client`): the client's
    /// reverse (PTR) name is listed.
    RejectRhsblClient(String),
    /// `reject_unknown_recipient_domain`: a recipient domain we are not final
    /// destination for has neither MX nor address.
    RejectUnknownRecipientDomain,
    /// `reject_unknown_reverse_client_hostname`: the client address has no PTR name.
    RejectUnknownReverseClientHostname,
    /// `reject_unknown_client_hostname` (also `reject_unknown_client`): the client
    /// address has no PTR name, or that name does not resolve back to the address.
    RejectUnknownClientHostname,
}

impl Restriction {
    /// What a fresh Zimbra install applies: refuse invalid and non-FQDN HELO names and
    /// non-FQDN senders (the guide: "the default refuses clients whose HELO/EHLO is not a
    /// fully qualified domain name").
    pub fn zimbra_defaults() -> Vec<Restriction> {
        vec![
            Restriction::RejectInvalidHeloHostname,
            Restriction::RejectNonFqdnHeloHostname,
            Restriction::RejectNonFqdnSender,
        ]
    }
}

impl FromStr for Restriction {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut words = s.split_whitespace();
        let name = words.next().unwrap_or("").to_ascii_lowercase();
        let arg = words.next();
        match (name.as_str(), arg) {
            // The pre-2.3 Postfix names are still written in old Zimbra configs.
            ("reject_invalid_helo_hostname" | "reject_invalid_hostname", None) => {
                Ok(Restriction::RejectInvalidHeloHostname)
            }
            ("reject_non_fqdn_helo_hostname" | "reject_non_fqdn_hostname", None) => {
                Ok(Restriction::RejectNonFqdnHeloHostname)
            }
            ("reject_unknown_helo_hostname" | "reject_unknown_hostname", None) => {
                Ok(Restriction::RejectUnknownHeloHostname)
            }
            ("reject_non_fqdn_sender", None) => Ok(Restriction::RejectNonFqdnSender),
            ("reject_unknown_sender_domain", None) => Ok(Restriction::RejectUnknownSenderDomain),
            ("reject_unknown_reverse_client_hostname", None) => {
                Ok(Restriction::RejectUnknownReverseClientHostname)
            }
            ("reject_unknown_client_hostname" | "reject_unknown_client", None) => {
                Ok(Restriction::RejectUnknownClientHostname)
            }
            ("reject_unknown_recipient_domain", None) => {
                Ok(Restriction::RejectUnknownRecipientDomain)
            }
            (list, Some(zone)) if is_hostname(zone) => {
                let zone = zone.to_ascii_lowercase();
                match list {
                    "reject_rbl_client" => Ok(Restriction::RejectRblClient(zone)),
                    "reject_rhsbl_sender" => Ok(Restriction::RejectRhsblSender(zone)),
                    "reject_rhsbl_helo" => Ok(Restriction::RejectRhsblHelo(zone)),
                    "reject_rhsbl_recipient" => Ok(Restriction::RejectRhsblRecipient(zone)),
                    "reject_rhsbl_client" | "reject_rhsbl_reverse_client" => {
                        Ok(Restriction::RejectRhsblClient(zone))
                    }
                    _ => Err(PolicyError::UnknownRestriction(s.to_string())),
                }
            }
            _ => Err(PolicyError::UnknownRestriction(s.to_string())),
        }
    }
}

/// Whether `domain` is recipient-local, implemented by the server on the directory.
#[async_trait]
pub trait RecipientPolicy: Send + Sync {
    /// True when mail for `domain` is delivered here (a local or alias domain), so its
    /// recipients are resolved through `LocalDelivery::resolve_recipient`; false when it
    /// would be relayed.
    async fn is_local_domain(&self, domain: &str) -> bool;
}

/// What a DNS question gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup<T> {
    /// An answer.
    Found(T),
    /// The name does not exist (NXDOMAIN or no data).
    NotFound,
    /// No answer now (timeout, SERVFAIL).
    TempFail,
}

/// The DNS questions the restrictions ask; tests give a fake, the server a resolver.
#[async_trait]
pub trait PolicyResolver: Send + Sync {
    /// Whether `domain` has an MX, A or AAAA record.
    async fn domain_exists(&self, domain: &str) -> Lookup<()>;

    /// Whether `ip` is listed in the block list `zone` (an A record under the reversed
    /// address); `Found` carries the list's TXT explanation, possibly empty.
    async fn rbl_lookup(&self, zone: &str, ip: IpAddr) -> Lookup<String>;

    /// Whether `domain` is listed in the domain block list `zone` (an A record at
    /// `domain.zone`, RFC 5782 §2.2). The default lists nothing.
    async fn rhsbl_lookup(&self, zone: &str, domain: &str) -> Lookup<String> {
        let _ = (zone, domain);
        Lookup::NotFound
    }

    /// The client's reverse name (PTR, RFC 1035 §3.5). The default knows none.
    async fn reverse_name(&self, ip: IpAddr) -> Lookup<String> {
        let _ = ip;
        Lookup::NotFound
    }

    /// The addresses (A and AAAA) of the host `name`. The default knows none.
    async fn addresses(&self, name: &str) -> Lookup<Vec<IpAddr>> {
        let _ = name;
        Lookup::NotFound
    }
}

/// A restriction's refusal: reply code, enhanced status and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The SMTP reply code.
    pub code: u16,
    /// The enhanced status `(class, subject, detail)`.
    pub status: (u8, u16, u16),
    /// The reply text.
    pub text: String,
}

fn refusal(code: u16, status: (u8, u16, u16), text: String) -> Refusal {
    Refusal { code, status, text }
}

/// Whether `name` looks like a host name: dot-separated labels of letters, digits and
/// hyphens, none empty, none starting or ending with a hyphen.
pub fn is_hostname(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// An address literal `[1.2.3.4]` or `[IPv6:...]` (RFC 5321 §4.1.3).
fn is_address_literal(name: &str) -> bool {
    let Some(inner) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) else {
        return false;
    };
    match inner.get(..5) {
        Some(tag) if tag.eq_ignore_ascii_case("IPv6:") => {
            inner[5..].parse::<std::net::Ipv6Addr>().is_ok()
        }
        _ => inner.parse::<std::net::Ipv4Addr>().is_ok(),
    }
}

/// The envelope facts the restrictions look at.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    /// The client address.
    pub ip: IpAddr,
    /// The HELO/EHLO argument.
    pub helo: &'a str,
    /// The envelope sender, `""` for `<>`.
    pub sender: &'a str,
    /// The recipient of the `RCPT` being checked, `""` when none.
    pub recipient: &'a str,
    /// We are final destination for the recipient's domain.
    pub recipient_local: bool,
}

/// Postfix's answer for a listed domain: `554 5.7.1 <what>: <role> rejected: <name>
/// blocked using <zone>`, with the list's explanation when it gave one.
fn rhsbl_refusal(what: &str, role: &str, name: &str, zone: &str, why: &str) -> Refusal {
    let mut text = format!(
        "<{}>: {role} rejected: {} blocked using {zone}",
        crate::reply::sanitize(what),
        crate::reply::sanitize(name)
    );
    if !why.is_empty() {
        text.push_str("; ");
        text.push_str(&crate::reply::sanitize(why));
    }
    refusal(554, (5, 7, 1), text)
}

/// Postfix's answer when the client's name cannot be found: `unknown_client_reject_code`
/// (450 by default) with RFC 7372 §3's `4.7.25` (reverse DNS validation failed).
fn unknown_client(ip: IpAddr, what: &str) -> Refusal {
    let text = format!(
        "Client host rejected: cannot find your {what}, [{}]",
        ip.to_canonical()
    );
    refusal(450, (4, 7, 25), text)
}

/// The client's name check of `reject_unknown_client_hostname` (`forward`) and
/// `reject_unknown_reverse_client_hostname`: a PTR name must exist and, with `forward`,
/// resolve back to the client address. A lookup that fails for now refuses for now too,
/// as the name does not exist (Postfix's 450 for both).
async fn client_name_refusal(
    res: &dyn PolicyResolver,
    ip: IpAddr,
    forward: bool,
) -> Option<Refusal> {
    let ip = ip.to_canonical();
    let name = match res.reverse_name(ip).await {
        Lookup::Found(name) => name,
        Lookup::NotFound | Lookup::TempFail => {
            let what = if forward {
                "hostname"
            } else {
                "reverse hostname"
            };
            return Some(unknown_client(ip, what));
        }
    };
    if !forward {
        return None;
    }
    match res.addresses(&name).await {
        Lookup::Found(addrs) if addrs.iter().any(|a| a.to_canonical() == ip) => None,
        _ => Some(unknown_client(ip, "hostname")),
    }
}

/// Asks `zone` about `domain` when it looks like a host name; `None` unless listed.
async fn rhsbl(res: Option<&dyn PolicyResolver>, zone: &str, domain: &str) -> Option<String> {
    let domain = domain.trim_end_matches('.');
    match res {
        Some(res) if is_hostname(domain) => match res.rhsbl_lookup(zone, domain).await {
            Lookup::Found(why) => Some(why),
            // Postfix lets the mail through when the list does not answer.
            Lookup::NotFound | Lookup::TempFail => None,
        },
        _ => None,
    }
}

/// Applies `restrictions` in order; the first that refuses wins. A resolver is needed for
/// the DNS-based ones; without one they are skipped.
pub async fn check(
    restrictions: &[Restriction],
    facts: Facts<'_>,
    resolver: Option<&dyn PolicyResolver>,
) -> Option<Refusal> {
    let sender_domain = facts.sender.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    for r in restrictions {
        let refused = match r {
            Restriction::RejectInvalidHeloHostname => {
                let ok = is_hostname(facts.helo) || is_address_literal(facts.helo);
                (!ok).then(|| {
                    let text = format!(
                        "<{}>: Helo command rejected: Invalid name",
                        crate::reply::sanitize(facts.helo)
                    );
                    refusal(501, (5, 5, 2), text)
                })
            }
            Restriction::RejectNonFqdnHeloHostname => {
                let ok = is_address_literal(facts.helo)
                    || (is_hostname(facts.helo) && facts.helo.trim_end_matches('.').contains('.'));
                (!ok).then(|| {
                    let text = format!(
                        "<{}>: Helo command rejected: need fully-qualified hostname",
                        crate::reply::sanitize(facts.helo)
                    );
                    refusal(504, (5, 5, 2), text)
                })
            }
            Restriction::RejectUnknownHeloHostname => match resolver {
                Some(res) if is_hostname(facts.helo) => {
                    match res.domain_exists(facts.helo.trim_end_matches('.')).await {
                        Lookup::Found(()) => None,
                        Lookup::NotFound | Lookup::TempFail => {
                            let text = format!(
                                "<{}>: Helo command rejected: Host not found",
                                crate::reply::sanitize(facts.helo)
                            );
                            // Postfix's unknown_hostname_reject_code default is 450.
                            Some(refusal(450, (4, 7, 1), text))
                        }
                    }
                }
                _ => None,
            },
            Restriction::RejectNonFqdnSender => {
                let ok = facts.sender.is_empty()
                    || is_address_literal(sender_domain)
                    || (is_hostname(sender_domain) && sender_domain.contains('.'));
                (!ok).then(|| {
                    let text = format!(
                        "<{}>: Sender address rejected: need fully-qualified address",
                        crate::reply::sanitize(facts.sender)
                    );
                    refusal(504, (5, 5, 2), text)
                })
            }
            Restriction::RejectUnknownSenderDomain => match resolver {
                Some(res) if !facts.sender.is_empty() && !is_address_literal(sender_domain) => {
                    let text = |why: &str| {
                        format!(
                            "<{}>: Sender address rejected: {why}",
                            crate::reply::sanitize(facts.sender)
                        )
                    };
                    match res.domain_exists(sender_domain).await {
                        Lookup::Found(()) => None,
                        // Postfix's unknown_address_reject_code default is 450.
                        Lookup::NotFound => Some(refusal(450, (4, 1, 8), text("Domain not found"))),
                        Lookup::TempFail => Some(refusal(
                            450,
                            (4, 1, 8),
                            text("Domain lookup failed, try again later"),
                        )),
                    }
                }
                _ => None,
            },
            Restriction::RejectRblClient(zone) => match resolver {
                Some(res) => match res.rbl_lookup(zone, facts.ip).await {
                    Lookup::Found(why) => {
                        let mut text = format!(
                            "Service unavailable; Client host [{}] blocked using {zone}",
                            facts.ip.to_canonical()
                        );
                        if !why.is_empty() {
                            text.push_str("; ");
                            text.push_str(&crate::reply::sanitize(&why));
                        }
                        Some(refusal(554, (5, 7, 1), text))
                    }
                    // Postfix lets the mail through when the list does not answer.
                    Lookup::NotFound | Lookup::TempFail => None,
                },
                None => None,
            },
            Restriction::RejectRhsblSender(zone) => {
                rhsbl(resolver, zone, sender_domain).await.map(|why| {
                    let role = "Sender address";
                    rhsbl_refusal(facts.sender, role, sender_domain, zone, &why)
                })
            }
            Restriction::RejectRhsblHelo(zone) => rhsbl(resolver, zone, facts.helo)
                .await
                .map(|why| rhsbl_refusal(facts.helo, "Helo command", facts.helo, zone, &why)),
            Restriction::RejectRhsblRecipient(zone) => {
                let domain = facts.recipient.rsplit_once('@').map_or("", |(_, d)| d);
                rhsbl(resolver, zone, domain).await.map(|why| {
                    let role = "Recipient address";
                    rhsbl_refusal(facts.recipient, role, domain, zone, &why)
                })
            }
            Restriction::RejectRhsblClient(zone) => match resolver {
                Some(res) => match res.reverse_name(facts.ip).await {
                    Lookup::Found(name) => rhsbl(resolver, zone, &name).await.map(|why| {
                        let mut text = format!(
                            "Service unavailable; Client host [{}] blocked using {zone}",
                            crate::reply::sanitize(name.trim_end_matches('.'))
                        );
                        if !why.is_empty() {
                            text.push_str("; ");
                            text.push_str(&crate::reply::sanitize(&why));
                        }
                        refusal(554, (5, 7, 1), text)
                    }),
                    Lookup::NotFound | Lookup::TempFail => None,
                },
                None => None,
            },
            Restriction::RejectUnknownReverseClientHostname => match resolver {
                Some(res) => client_name_refusal(res, facts.ip, false).await,
                None => None,
            },
            Restriction::RejectUnknownClientHostname => match resolver {
                Some(res) => client_name_refusal(res, facts.ip, true).await,
                None => None,
            },
            Restriction::RejectUnknownRecipientDomain => {
                let domain = facts.recipient.rsplit_once('@').map_or("", |(_, d)| d);
                match resolver {
                    Some(res)
                        if !facts.recipient_local
                            && !domain.is_empty()
                            && !is_address_literal(domain) =>
                    {
                        let text = |why: &str| {
                            format!(
                                "<{}>: Recipient address rejected: {why}",
                                crate::reply::sanitize(facts.recipient)
                            )
                        };
                        match res.domain_exists(domain.trim_end_matches('.')).await {
                            Lookup::Found(()) => None,
                            // unknown_address_reject_code, 450 by default.
                            Lookup::NotFound => {
                                Some(refusal(450, (4, 1, 2), text("Domain not found")))
                            }
                            Lookup::TempFail => Some(refusal(
                                450,
                                (4, 1, 2),
                                text("Domain lookup failed, try again later"),
                            )),
                        }
                    }
                    _ => None,
                }
            }
        };
        if refused.is_some() {
            return refused;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn networks() {
        let nets = parse_networks("127.0.0.0/8, 10.1.0.0/16 [::1]/128 192.0.2.7").unwrap();
        let has = |ip: &str| nets.iter().any(|n| n.contains(ip.parse().unwrap()));
        assert!(has("127.5.5.5"));
        assert!(has("10.1.200.3"));
        assert!(!has("10.2.0.1"));
        assert!(has("::1"));
        assert!(has("::ffff:127.0.0.1"));
        assert!(has("192.0.2.7"));
        assert!(!has("192.0.2.8"));
        assert!(parse_networks("10.0.0.0/33").is_err());
        assert!(parse_networks("nonsense").is_err());
        assert!(
            "0.0.0.0/0"
                .parse::<Cidr>()
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
    }

    #[test]
    fn restriction_names() {
        assert_eq!(
            "reject_rbl_client zen.example".parse::<Restriction>(),
            Ok(Restriction::RejectRblClient("zen.example".into()))
        );
        assert!("reject_rbl_client".parse::<Restriction>().is_err());
        assert_eq!(
            "reject_invalid_hostname".parse::<Restriction>(),
            Ok(Restriction::RejectInvalidHeloHostname)
        );
        assert_eq!(
            "reject_unknown_helo_hostname".parse::<Restriction>(),
            Ok(Restriction::RejectUnknownHeloHostname)
        );
        assert!("permit_everything".parse::<Restriction>().is_err());
        assert_eq!(
            "reject_rhsbl_sender dbl.example".parse::<Restriction>(),
            Ok(Restriction::RejectRhsblSender("dbl.example".into()))
        );
        assert_eq!(
            "reject_rhsbl_reverse_client DBL.example".parse::<Restriction>(),
            Ok(Restriction::RejectRhsblClient("dbl.example".into()))
        );
        assert_eq!(
            "reject_unknown_recipient_domain".parse::<Restriction>(),
            Ok(Restriction::RejectUnknownRecipientDomain)
        );
        assert_eq!(
            "reject_unknown_reverse_client_hostname".parse::<Restriction>(),
            Ok(Restriction::RejectUnknownReverseClientHostname)
        );
        assert_eq!(
            "reject_unknown_client_hostname".parse::<Restriction>(),
            Ok(Restriction::RejectUnknownClientHostname)
        );
        assert!(
            "reject_rhsbl_helo bad_zone!"
                .parse::<Restriction>()
                .is_err()
        );
        assert!(
            "reject_mystery_list zone.example"
                .parse::<Restriction>()
                .is_err()
        );
    }

    #[test]
    fn hostnames() {
        assert!(is_hostname("mail.example.com"));
        assert!(is_hostname("localhost"));
        assert!(!is_hostname("bad_name!"));
        assert!(!is_hostname("-x.example"));
        assert!(is_address_literal("[192.0.2.1]"));
        assert!(is_address_literal("[IPv6:::1]"));
        assert!(!is_address_literal("[999.1.1.1]"));
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "[0-9a-f:./\\[\\] ,]{0,40}") {
            let _ = parse_networks(&s);
            let _ = s.parse::<Restriction>();
            let _ = is_hostname(&s);
            let _ = is_address_literal(&s);
        }

        #[test]
        fn cidr_contains_its_address(a in any::<u32>(), p in 0u8..=32) {
            let net: Cidr = format!("{}/{p}", std::net::Ipv4Addr::from(a)).parse().unwrap();
            prop_assert!(net.contains(IpAddr::V4(a.into())));
        }
    }
}
