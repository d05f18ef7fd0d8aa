//! The HTTP request flood filter (Zimbra's DoSFilter): each client address may make at
//! most `zimbraHttpDosFilterMaxRequestsPerSec` requests a second; beyond that a request
//! is refused with 503 and `Retry-After` (`zimbraHttpDosFilterDelayMillis` -1, the
//! default) or held back for that many milliseconds first. Addresses and networks in
//! `zimbraHttpThrottleSafeIPs`, and the loopback addresses the server's own tools use,
//! are never throttled.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use zcs_mta::Cidr;

/// The filter's settings.
#[derive(Clone, Debug)]
pub struct DosConfig {
    /// Requests a second per address; 0 turns the filter off.
    pub max_per_sec: u32,
    /// `None` refuses at once; `Some(d)` waits `d` and then lets the request through.
    pub delay: Option<Duration>,
    pub safe: Vec<Cidr>,
    /// Loopback clients are exempt (the server's own tools and proxies).
    pub exempt_loopback: bool,
}

/// What to do with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Delay(Duration),
    Refuse,
}

/// Counts each address's requests in one-second windows.
#[derive(Debug)]
pub struct DosFilter {
    config: DosConfig,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

/// Most addresses tracked before old windows are dropped.
const MAX_TRACKED: usize = 100_000;

impl DosFilter {
    pub fn new(config: DosConfig) -> DosFilter {
        DosFilter {
            config,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request from `ip` at `now` and says what to do with it.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Verdict {
        let c = &self.config;
        if c.max_per_sec == 0
            || (c.exempt_loopback && ip.is_loopback())
            || c.safe.iter().any(|n| n.contains(ip))
        {
            return Verdict::Pass;
        }
        let Ok(mut windows) = self.windows.lock() else {
            return Verdict::Pass;
        };
        if windows.len() >= MAX_TRACKED {
            windows.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(1));
        }
        let entry = windows.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= Duration::from_secs(1) {
            *entry = (now, 0);
        }
        entry.1 += 1;
        if entry.1 <= c.max_per_sec {
            Verdict::Pass
        } else {
            match c.delay {
                Some(d) => Verdict::Delay(d),
                None => Verdict::Refuse,
            }
        }
    }
}

/// The filter's settings from the server entry (inheriting the global config) and the
/// local config key `zcs_http_dos_exempt_loopback` (default true).
pub fn config_from(ctx: &super::Context) -> DosConfig {
    let max_per_sec = ctx
        .server_attr("zimbraHttpDosFilterMaxRequestsPerSec")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let delay = ctx
        .server_attr("zimbraHttpDosFilterDelayMillis")
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|ms| *ms >= 0)
        .map(|ms| Duration::from_millis(ms as u64));
    let safe = ctx
        .server
        .attrs
        .get_all("zimbraHttpThrottleSafeIPs")
        .iter()
        .chain(ctx.global.attrs.get_all("zimbraHttpThrottleSafeIPs"))
        .filter_map(|v| match v.parse::<Cidr>() {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(value = %v, error = %e, "zimbraHttpThrottleSafeIPs value ignored");
                None
            }
        })
        .collect();
    let exempt_loopback = !ctx
        .subs
        .lc
        .get("zcs_http_dos_exempt_loopback")
        .is_some_and(|v| v.eq_ignore_ascii_case("false"));
    DosConfig {
        max_per_sec,
        delay,
        safe,
        exempt_loopback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(max: u32, delay: Option<Duration>) -> DosFilter {
        DosFilter::new(DosConfig {
            max_per_sec: max,
            delay,
            safe: vec!["10.9.0.0/16".parse().expect("cidr")],
            exempt_loopback: true,
        })
    }

    #[test]
    fn over_the_rate_is_refused_until_the_next_second() {
        let f = filter(3, None);
        let ip: IpAddr = "192.0.2.7".parse().expect("ip");
        let t = Instant::now();
        for _ in 0..3 {
            assert_eq!(f.check(ip, t), Verdict::Pass);
        }
        assert_eq!(f.check(ip, t), Verdict::Refuse);
        let other: IpAddr = "192.0.2.8".parse().expect("ip");
        assert_eq!(f.check(other, t), Verdict::Pass);
        assert_eq!(f.check(ip, t + Duration::from_millis(1001)), Verdict::Pass);
    }

    #[test]
    fn safe_addresses_loopback_and_zero_are_never_throttled() {
        let f = filter(1, None);
        let t = Instant::now();
        for ip in ["10.9.3.4", "127.0.0.1", "::1"] {
            let ip: IpAddr = ip.parse().expect("ip");
            for _ in 0..10 {
                assert_eq!(f.check(ip, t), Verdict::Pass);
            }
        }
        let off = filter(0, None);
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        for _ in 0..100 {
            assert_eq!(off.check(ip, t), Verdict::Pass);
        }
    }

    #[test]
    fn a_delay_holds_back_instead_of_refusing() {
        let f = filter(1, Some(Duration::from_millis(250)));
        let ip: IpAddr = "198.51.100.1".parse().expect("ip");
        let t = Instant::now();
        assert_eq!(f.check(ip, t), Verdict::Pass);
        assert_eq!(f.check(ip, t), Verdict::Delay(Duration::from_millis(250)));
    }
}
