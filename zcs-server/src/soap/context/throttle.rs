//! Failed-login throttling per client address, Zimbra's InvalidLoginFilter: after
//! `zimbraInvalidLoginFilterMaxFailedLogin` failed logins (default 10) an address is
//! suspended, and every login from it is refused without looking at the password until
//! it has made no attempt for `zimbraInvalidLoginFilterDelayInMinBetwnReqBeforeReinstating`
//! minutes (default 15). This bounds the guessing rate per address on top of the
//! per-account lockout of the directory, which an attacker spreading guesses over many
//! accounts never trips. Addresses in `zimbraHttpThrottleSafeIPs` are exempt.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use zcs_core::{Entry, FaultCode, ServiceError};
use zcs_mta::Cidr;

/// The filter's settings, read from the global config.
#[derive(Clone, Debug)]
pub struct LoginPolicy {
    /// Failed logins before suspension; 0 turns the filter off.
    pub max_failed: u32,
    /// Quiet time that reinstates a suspended address, and that forgets old failures.
    pub reinstate_after: Duration,
    /// Most addresses tracked (`zimbraInvalidLoginFilterMaxSizeOfFailedIpDb`).
    pub max_tracked: usize,
    /// Never throttled (`zimbraHttpThrottleSafeIPs`).
    pub safe: Vec<Cidr>,
}

impl Default for LoginPolicy {
    fn default() -> LoginPolicy {
        LoginPolicy {
            max_failed: 10,
            reinstate_after: Duration::from_secs(15 * 60),
            max_tracked: 7000,
            safe: Vec::new(),
        }
    }
}

impl LoginPolicy {
    /// The policy the global config sets; defaults for unset or unparsable values.
    pub fn from_config(global: &Entry) -> LoginPolicy {
        let d = LoginPolicy::default();
        let num = |name: &str| {
            global
                .attrs
                .get(name)
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        LoginPolicy {
            max_failed: num("zimbraInvalidLoginFilterMaxFailedLogin")
                .map_or(d.max_failed, |v| v.min(u64::from(u32::MAX)) as u32),
            reinstate_after: num("zimbraInvalidLoginFilterDelayInMinBetwnReqBeforeReinstating")
                .map_or(d.reinstate_after, |m| {
                    Duration::from_secs(m.saturating_mul(60))
                }),
            max_tracked: num("zimbraInvalidLoginFilterMaxSizeOfFailedIpDb")
                .map_or(d.max_tracked, |v| v.clamp(1, 1_000_000) as usize),
            safe: global
                .attrs
                .get_all("zimbraHttpThrottleSafeIPs")
                .iter()
                .filter_map(|v| v.parse().ok())
                .collect(),
        }
    }

    fn exempt(&self, ip: IpAddr) -> bool {
        self.max_failed == 0 || self.safe.iter().any(|n| n.contains(ip))
    }
}

#[derive(Clone, Copy, Debug)]
struct Record {
    failures: u32,
    last: Instant,
}

/// Failed logins per address.
#[derive(Debug, Default)]
pub struct FailedLogins {
    records: Mutex<HashMap<IpAddr, Record>>,
}

/// The fault a suspended address gets: the ordinary login failure, so nothing is
/// learnt about the password.
pub fn suspended_fault() -> ServiceError {
    ServiceError::new(
        FaultCode::AuthFailed,
        "authentication failed: too many failed logins from this address",
    )
}

impl FailedLogins {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Record>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `ip` may try a login now. A refused attempt counts as activity: the
    /// address is reinstated only after a quiet period.
    pub fn admit(&self, ip: IpAddr, now: Instant, policy: &LoginPolicy) -> bool {
        if policy.exempt(ip) {
            return true;
        }
        let mut map = self.lock();
        let Some(rec) = map.get_mut(&ip) else {
            return true;
        };
        if now.saturating_duration_since(rec.last) >= policy.reinstate_after {
            map.remove(&ip);
            return true;
        }
        if rec.failures >= policy.max_failed {
            rec.last = now;
            return false;
        }
        true
    }

    /// Counts a failed login from `ip`; returns whether the address is now suspended.
    pub fn failed(&self, ip: IpAddr, now: Instant, policy: &LoginPolicy) -> bool {
        if policy.exempt(ip) {
            return false;
        }
        let mut map = self.lock();
        if map.len() >= policy.max_tracked && !map.contains_key(&ip) {
            let window = policy.reinstate_after;
            map.retain(|_, r| now.saturating_duration_since(r.last) < window);
            if map.len() >= policy.max_tracked
                && let Some(oldest) = map.iter().min_by_key(|(_, r)| r.last).map(|(k, _)| *k)
            {
                map.remove(&oldest);
            }
        }
        let rec = map.entry(ip).or_insert(Record {
            failures: 0,
            last: now,
        });
        if now.saturating_duration_since(rec.last) >= policy.reinstate_after {
            rec.failures = 0;
        }
        rec.failures = rec.failures.saturating_add(1);
        rec.last = now;
        let suspended = rec.failures >= policy.max_failed;
        if suspended && rec.failures == policy.max_failed {
            tracing::warn!(target: "zimbra.security", ip = %ip, failures = rec.failures,
                "address suspended after too many failed logins");
        }
        suspended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max: u32) -> LoginPolicy {
        LoginPolicy {
            max_failed: max,
            reinstate_after: Duration::from_secs(60),
            max_tracked: 3,
            safe: vec!["10.0.0.0/8".parse().expect("cidr")],
        }
    }

    #[test]
    fn suspends_after_max_and_reinstates_after_quiet_time() {
        let f = FailedLogins::default();
        let p = policy(3);
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        let t0 = Instant::now();
        assert!(f.admit(ip, t0, &p));
        assert!(!f.failed(ip, t0, &p));
        assert!(!f.failed(ip, t0, &p));
        assert!(f.failed(ip, t0, &p));
        assert!(!f.admit(ip, t0 + Duration::from_secs(30), &p));
        // The refused attempt at +30 s restarted the quiet period.
        assert!(!f.admit(ip, t0 + Duration::from_secs(80), &p));
        assert!(f.admit(ip, t0 + Duration::from_secs(141), &p));
        // Another address is not affected.
        let other: IpAddr = "192.0.2.2".parse().expect("ip");
        assert!(f.admit(other, t0, &p));
    }

    #[test]
    fn old_failures_are_forgotten_and_safe_or_off_is_exempt() {
        let f = FailedLogins::default();
        let p = policy(2);
        let ip: IpAddr = "192.0.2.9".parse().expect("ip");
        let t0 = Instant::now();
        assert!(!f.failed(ip, t0, &p));
        assert!(!f.failed(ip, t0 + Duration::from_secs(61), &p));
        let safe: IpAddr = "10.1.2.3".parse().expect("ip");
        for _ in 0..5 {
            assert!(!f.failed(safe, t0, &p));
        }
        assert!(f.admit(safe, t0, &p));
        let off = policy(0);
        assert!(!f.failed(ip, t0, &off));
    }

    #[test]
    fn table_is_bounded() {
        let f = FailedLogins::default();
        let p = policy(5);
        let t0 = Instant::now();
        for i in 0..10u8 {
            f.failed(
                IpAddr::from([192, 0, 2, i]),
                t0 + Duration::from_millis(i.into()),
                &p,
            );
        }
        assert!(f.lock().len() <= 3);
    }

    #[test]
    fn policy_from_config() {
        let mut e = Entry {
            kind: zcs_core::EntryKind::GlobalConfig,
            id: zcs_core::ZimbraId::new(),
            name: "config".into(),
            attrs: zcs_core::Attrs::new(),
        };
        e.attrs
            .set_one("zimbraInvalidLoginFilterMaxFailedLogin", "4");
        e.attrs.set_one("zimbraHttpThrottleSafeIPs", "127.0.0.1");
        let p = LoginPolicy::from_config(&e);
        assert_eq!(p.max_failed, 4);
        assert_eq!(p.reinstate_after, Duration::from_secs(900));
        assert!(p.exempt("127.0.0.1".parse().expect("ip")));
    }
}
