//! Client limits of one listener: connections per client address, messages and recipients
//! per connection, and per-minute message and recipient rates per client address (token
//! buckets, like Postfix's anvil `smtpd_client_*_rate_limit`).
//!
//! [`Limits`] is the plain configuration; `RateLimiter` is the state shared by the
//! sessions of one listener. Clients in `zimbraMtaMyNetworks` are exempt (the session
//! skips the checks), as Postfix's `smtpd_client_event_limit_exceptions` does.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Per-client limits; `0` means unlimited for every count and rate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Sessions at once from one client address; beyond it `421 4.7.0`
    /// (Postfix `smtpd_client_connection_count_limit`, default 50).
    pub max_connections_per_ip: usize,
    /// Messages per session; beyond it `MAIL` gets `452 4.5.3` (default 0: unlimited).
    pub max_messages_per_connection: usize,
    /// Recipients per session, over all its messages; beyond it `452 4.5.3`.
    pub max_recipients_per_connection: usize,
    /// Messages per minute from one client address; beyond it `MAIL` gets `450 4.7.1`
    /// (Postfix `smtpd_client_message_rate_limit`, default 0).
    pub messages_per_minute_per_ip: u32,
    /// Recipients per minute from one client address; beyond it `RCPT` gets `450 4.7.1`
    /// (Postfix `smtpd_client_recipient_rate_limit`, default 0).
    pub recipients_per_minute_per_ip: u32,
    /// Bad commands tolerated in a session before `421` and close (Postfix
    /// `smtpd_hard_error_limit`; default 10).
    pub max_errors: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections_per_ip: 50,
            max_messages_per_connection: 0,
            max_recipients_per_connection: 0,
            messages_per_minute_per_ip: 0,
            recipients_per_minute_per_ip: 0,
            max_errors: 10,
        }
    }
}

/// A token bucket holding up to `rate` tokens, refilled at `rate` per minute.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
    /// The rate the bucket was last used with.
    rate: u32,
}

impl Bucket {
    fn full(rate: u32, now: Instant) -> Self {
        Bucket {
            tokens: f64::from(rate),
            at: now,
            rate,
        }
    }

    /// Takes one token if there is one; `rate == 0` always succeeds. A bucket that was
    /// unlimited until a reload set a rate starts full.
    fn take(&mut self, rate: u32, now: Instant) -> bool {
        if rate != self.rate {
            if self.rate == 0 {
                *self = Bucket::full(rate, now);
            }
            self.rate = rate;
        }
        if rate == 0 {
            return true;
        }
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        let rate = f64::from(rate);
        self.tokens = (self.tokens + elapsed * rate / 60.0).min(rate);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Debug)]
struct ClientState {
    sessions: usize,
    messages: Bucket,
    recipients: Bucket,
    last_seen: Instant,
}

/// Entries kept before idle ones are swept.
const SWEEP_AT: usize = 10_000;
/// How long an idle client's buckets are remembered (they are full again by then).
const IDLE_FORGET: Duration = Duration::from_secs(120);

/// The per-client state of one listener, shared by its sessions.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limits: Mutex<Limits>,
    clients: Mutex<HashMap<IpAddr, ClientState>>,
}

/// Holds one session slot of a client address; gives it back when dropped.
#[derive(Debug)]
pub(crate) struct SessionSlot {
    limiter: Arc<RateLimiter>,
    ip: IpAddr,
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        let mut clients = self.limiter.lock();
        if let Some(state) = clients.get_mut(&self.ip) {
            state.sessions = state.sessions.saturating_sub(1);
        }
    }
}

impl RateLimiter {
    /// A limiter enforcing `limits`.
    pub(crate) fn new(limits: Limits) -> Arc<Self> {
        Arc::new(RateLimiter {
            limits: Mutex::new(limits),
            clients: Mutex::new(HashMap::new()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, ClientState>> {
        // A panic while holding this lock leaves counters only; keep going.
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with_state<T>(&self, ip: IpAddr, f: impl FnOnce(&mut ClientState, &Limits) -> T) -> T {
        let now = Instant::now();
        let mut clients = self.lock();
        if clients.len() >= SWEEP_AT {
            clients.retain(|_, s| s.sessions > 0 || now - s.last_seen < IDLE_FORGET);
        }
        let limits = &self.limits();
        let state = clients.entry(ip).or_insert_with(|| ClientState {
            sessions: 0,
            messages: Bucket::full(limits.messages_per_minute_per_ip, now),
            recipients: Bucket::full(limits.recipients_per_minute_per_ip, now),
            last_seen: now,
        });
        state.last_seen = now;
        f(state, limits)
    }

    /// Takes a session slot for `ip`, or `None` when it has `max_connections_per_ip`.
    pub(crate) fn open_session(self: &Arc<Self>, ip: IpAddr) -> Option<SessionSlot> {
        let ok = self.with_state(ip, |s, l| {
            let ok = l.max_connections_per_ip == 0 || s.sessions < l.max_connections_per_ip;
            if ok {
                s.sessions += 1;
            }
            ok
        });
        ok.then(|| SessionSlot {
            limiter: self.clone(),
            ip,
        })
    }

    /// Takes one message from `ip`'s per-minute allowance.
    pub(crate) fn take_message(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        self.with_state(ip, |s, l| {
            s.messages.take(l.messages_per_minute_per_ip, now)
        })
    }

    /// Takes one recipient from `ip`'s per-minute allowance.
    pub(crate) fn take_recipient(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        self.with_state(ip, |s, l| {
            s.recipients.take(l.recipients_per_minute_per_ip, now)
        })
    }

    /// The limits enforced now.
    pub(crate) fn limits(&self) -> Limits {
        self.limits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Enforces `limits` from now on (a settings reload). Sessions already open keep
    /// their slots; a lower per-client count applies to the next connection, a new rate
    /// to the next token taken (each bucket is capped at the new rate).
    pub(crate) fn set_limits(&self, limits: &Limits) {
        let mut current = self.limits.lock().unwrap_or_else(|e| e.into_inner());
        if *current != *limits {
            tracing::info!(?limits, "client limits changed");
            *current = limits.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_over_time() {
        let t0 = Instant::now();
        let mut b = Bucket::full(2, t0);
        assert!(b.take(2, t0));
        assert!(b.take(2, t0));
        assert!(!b.take(2, t0));
        // 2 per minute: one token after 30 seconds.
        assert!(b.take(2, t0 + Duration::from_secs(31)));
        assert!(Bucket::full(0, t0).take(0, t0));
    }

    #[test]
    fn limits_change_at_run_time() {
        let limiter = RateLimiter::new(Limits {
            max_connections_per_ip: 1,
            ..Limits::default()
        });
        let ip: IpAddr = "192.0.2.9".parse().unwrap();
        let _a = limiter.open_session(ip).unwrap();
        assert!(limiter.open_session(ip).is_none());
        limiter.set_limits(&Limits {
            max_connections_per_ip: 2,
            messages_per_minute_per_ip: 1,
            ..Limits::default()
        });
        assert!(limiter.open_session(ip).is_some());
        assert!(limiter.take_message(ip));
        assert!(!limiter.take_message(ip));
        limiter.set_limits(&Limits::default());
        assert!(limiter.take_message(ip));
        assert_eq!(limiter.limits(), Limits::default());
    }

    #[test]
    fn session_slots_per_ip() {
        let limiter = RateLimiter::new(Limits {
            max_connections_per_ip: 2,
            messages_per_minute_per_ip: 1,
            ..Limits::default()
        });
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let a = limiter.open_session(ip).unwrap();
        let _b = limiter.open_session(ip).unwrap();
        assert!(limiter.open_session(ip).is_none());
        assert!(limiter.open_session(other).is_some());
        drop(a);
        assert!(limiter.open_session(ip).is_some());
        assert!(limiter.take_message(ip));
        assert!(!limiter.take_message(ip));
        assert!(limiter.take_message(other));
    }
}
