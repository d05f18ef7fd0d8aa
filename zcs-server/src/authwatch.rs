//! The authentication-failure watcher (Zimbra's `zmauditwatch`): sliding 60-second
//! windows over every failed login of this server, whatever the protocol, and an alert
//! mailed to `zimbra_swatch_notice_user` when one of four thresholds is reached: failures
//! of one account from one address, of one account from any address (a distributed
//! attack), from one address for any account (a scan), and of the whole server.
//!
//! Like Zimbra's watcher reads `audit.log`, this one reads the log events: every login
//! of every protocol goes through `Provisioning::authenticate`, whose "authentication
//! failed" event (with `account` and `ip` fields) is the input. [`layer`] is the tracing
//! layer that feeds it; [`start`] runs the task that mails the alerts.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context as LayerContext;

use crate::frontends::Context;

/// The window the thresholds count over (zmauditwatch's 60 seconds).
pub const WINDOW: Duration = Duration::from_secs(60);

/// The four thresholds, with Zimbra's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// `zimbra_swatch_ipacct_threshold`: one account from one address.
    pub ip_account: usize,
    /// `zimbra_swatch_acct_threshold`: one account from any address.
    pub account: usize,
    /// `zimbra_swatch_ip_threshold`: one address for any account.
    pub ip: usize,
    /// `zimbra_swatch_total_threshold`: the whole server.
    pub total: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            ip_account: 10,
            account: 15,
            ip: 20,
            total: 1000,
        }
    }
}

impl Thresholds {
    /// The thresholds named in the local config; unset or unparsable keys keep the
    /// default, and 0 turns that alert off.
    pub fn from_localconfig(lc: &crate::localconfig::LocalConfig) -> Thresholds {
        let d = Thresholds::default();
        let get = |key: &str, default: usize| {
            lc.get(key)
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(default)
        };
        Thresholds {
            ip_account: get("zimbra_swatch_ipacct_threshold", d.ip_account),
            account: get("zimbra_swatch_acct_threshold", d.account),
            ip: get("zimbra_swatch_ip_threshold", d.ip),
            total: get("zimbra_swatch_total_threshold", d.total),
        }
    }
}

/// What an alert is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AlertKind {
    /// One account from one address.
    IpAccount { ip: String, account: String },
    /// One account from any address.
    Account { account: String },
    /// One address, any account.
    Ip { ip: String },
    /// The whole server.
    Total,
}

/// One alert: what crossed its threshold, and how many failures the window held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    pub kind: AlertKind,
    pub failures: usize,
    pub threshold: usize,
}

impl Alert {
    /// The alert's one-line description, as the mail's subject and the log line say it.
    pub fn summary(&self) -> String {
        let (n, t) = (self.failures, self.threshold);
        match &self.kind {
            AlertKind::IpAccount { ip, account } => format!(
                "{n} authentication failures for {account} from {ip} in 60 s (threshold {t})"
            ),
            AlertKind::Account { account } => format!(
                "{n} authentication failures for {account} from any address in 60 s \
                 (threshold {t}): possible distributed attack"
            ),
            AlertKind::Ip { ip } => format!(
                "{n} authentication failures from {ip} for any account in 60 s (threshold {t})"
            ),
            AlertKind::Total => {
                format!("{n} authentication failures on this server in 60 s (threshold {t})")
            }
        }
    }
}

/// The sliding windows. Each key's failures are kept as instants; a key that reaches its
/// threshold raises one alert, and raises again only after a whole window without one.
#[derive(Debug, Default)]
pub struct Watcher {
    thresholds: Thresholds,
    events: HashMap<AlertKind, VecDeque<Instant>>,
    alerted: HashMap<AlertKind, Instant>,
}

impl Watcher {
    /// A watcher with these thresholds and empty windows.
    pub fn new(thresholds: Thresholds) -> Watcher {
        Watcher {
            thresholds,
            ..Watcher::default()
        }
    }

    /// Counts one failure of `account` from `ip` at `now`; returns the alerts it raised.
    /// Cost: a few hash lookups; windows are trimmed as they are touched, and keys with
    /// an empty window are dropped so the map stays as large as the last minute.
    pub fn failure(&mut self, account: &str, ip: &str, now: Instant) -> Vec<Alert> {
        let account = account.trim().to_ascii_lowercase();
        let ip = ip.trim().to_string();
        let t = self.thresholds;
        let mut keys = vec![(AlertKind::Total, t.total)];
        if !account.is_empty() {
            keys.push((
                AlertKind::Account {
                    account: account.clone(),
                },
                t.account,
            ));
        }
        if !ip.is_empty() {
            keys.push((AlertKind::Ip { ip: ip.clone() }, t.ip));
        }
        if !account.is_empty() && !ip.is_empty() {
            keys.push((AlertKind::IpAccount { ip, account }, t.ip_account));
        }
        let mut alerts = Vec::new();
        for (key, threshold) in keys {
            if threshold == 0 {
                continue;
            }
            let window = self.events.entry(key.clone()).or_default();
            window.push_back(now);
            while window
                .front()
                .is_some_and(|t| now.duration_since(*t) >= WINDOW)
            {
                window.pop_front();
            }
            let failures = window.len();
            let quiet = self
                .alerted
                .get(&key)
                .is_none_or(|at| now.duration_since(*at) >= WINDOW);
            if failures >= threshold && quiet {
                self.alerted.insert(key.clone(), now);
                alerts.push(Alert {
                    kind: key,
                    failures,
                    threshold,
                });
            }
        }
        self.forget_idle(now);
        alerts
    }

    fn forget_idle(&mut self, now: Instant) {
        if self.events.len() < 4096 {
            return;
        }
        self.events
            .retain(|_, w| w.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
        self.alerted
            .retain(|_, at| now.duration_since(*at) < WINDOW);
    }
}

/// The process-wide watcher and the channel its alerts go out on.
struct Shared {
    watcher: Mutex<Watcher>,
    alerts: mpsc::UnboundedSender<Alert>,
    receiver: Mutex<Option<mpsc::UnboundedReceiver<Alert>>>,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let (tx, rx) = mpsc::unbounded_channel();
        Shared {
            watcher: Mutex::new(Watcher::new(Thresholds::default())),
            alerts: tx,
            receiver: Mutex::new(Some(rx)),
        }
    })
}

/// Sets the thresholds of the process-wide watcher (the server does at start).
pub fn configure(thresholds: Thresholds) {
    if let Ok(mut w) = shared().watcher.lock() {
        w.thresholds = thresholds;
    }
}

/// Counts one failure in the process-wide watcher; alerts go to the mailer task.
pub fn record_failure(account: &str, ip: &str) {
    let alerts = match shared().watcher.lock() {
        Ok(mut w) => w.failure(account, ip, Instant::now()),
        Err(_) => return,
    };
    for alert in alerts {
        let _ = shared().alerts.send(alert);
    }
}

/// The module path of the event that reports a failed login (see the module docs).
const SOURCE_TARGET: &str = "zcs_directory::provisioning::login";
/// Its message.
const SOURCE_MESSAGE: &str = "authentication failed";

/// The tracing layer that feeds failed logins to the process-wide watcher.
pub fn layer() -> AuthWatchLayer {
    AuthWatchLayer
}

/// See [`layer`].
pub struct AuthWatchLayer;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for AuthWatchLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: LayerContext<'_, S>) {
        if event.metadata().target() != SOURCE_TARGET {
            return;
        }
        let mut fields = FailureFields::default();
        event.record(&mut fields);
        if fields.message.starts_with(SOURCE_MESSAGE) {
            record_failure(&fields.account, &fields.ip);
        }
    }
}

#[derive(Default)]
struct FailureFields {
    message: String,
    account: String,
    ip: String,
}

impl Visit for FailureFields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        match field.name() {
            "message" => self.message = text,
            "account" => self.account = text,
            "ip" => self.ip = text,
            _ => {}
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message = value.to_string(),
            "account" => self.account = value.to_string(),
            "ip" => self.ip = value.to_string(),
            _ => {}
        }
    }
}

/// Where alerts go: `zimbra_swatch_notice_user`, else `admin@` the default domain (the
/// global `zimbraDefaultDomainName`, else the server's host name).
pub fn notice_address(ctx: &Context) -> String {
    if let Some(a) = ctx
        .subs
        .lc
        .get("zimbra_swatch_notice_user")
        .filter(|a| a.contains('@'))
    {
        return a.trim().to_string();
    }
    let domain = ctx
        .global
        .attrs
        .get("zimbraDefaultDomainName")
        .map(str::to_string)
        .unwrap_or_else(|| ctx.subs.hostname.clone());
    format!("admin@{domain}")
}

/// The alert message (RFC 5322), from the null sender's postmaster, to `to`.
pub fn alert_message(
    alert: &Alert,
    to: &str,
    host: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<u8> {
    let summary = alert.summary();
    format!(
        "From: zmauditwatch <postmaster@{host}>\r\n\
         To: <{to}>\r\n\
         Subject: zmauditwatch: {summary}\r\n\
         Date: {date}\r\n\
         Message-ID: <auditwatch.{id}@{host}>\r\n\
         Auto-Submitted: auto-generated\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         Server {host} saw {summary}.\r\n\
         \r\n\
         The failed logins are in audit.log. To raise or lower the thresholds:\r\n\
         zmlocalconfig -e zimbra_swatch_ipacct_threshold=N (and _acct_, _ip_, _total_).\r\n",
        date = now.to_rfc2822(),
        id = now.timestamp_nanos_opt().unwrap_or_default(),
    )
    .into_bytes()
}

/// Runs the task that mails alerts through the MTA queue until shutdown. Only the first
/// call gets the alerts (one server per process).
pub async fn start(ctx: Arc<Context>, mut shutdown: watch::Receiver<bool>) {
    configure(Thresholds::from_localconfig(&ctx.subs.lc));
    let Some(mut rx) = shared().receiver.lock().ok().and_then(|mut r| r.take()) else {
        return;
    };
    loop {
        let alert = tokio::select! {
            a = rx.recv() => match a { Some(a) => a, None => return },
            _ = shutdown.changed() => return,
        };
        if *shutdown.borrow() {
            return;
        }
        let to = notice_address(&ctx);
        tracing::warn!(target: "zimbra.security", alert = %alert.summary(), to = %to,
            "authentication failure alert");
        let msg = alert_message(&alert, &to, &ctx.subs.hostname, chrono::Utc::now());
        match crate::mta::config::shared_queue(&ctx) {
            Ok(queue) => {
                if let Err(e) =
                    crate::mta::outbound::enqueue(&queue, "", std::slice::from_ref(&to), &msg).await
                {
                    tracing::warn!(error = %e, "authentication failure alert not queued");
                }
            }
            Err(e) => tracing::warn!(error = %e, "authentication failure alert not queued"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(w: &mut Watcher, n: usize, account: &str, ip: &str, t0: Instant) -> Vec<Alert> {
        (0..n)
            .flat_map(|i| w.failure(account, ip, t0 + Duration::from_millis(i as u64 * 100)))
            .collect()
    }

    #[test]
    fn eleven_failures_of_one_pair_raise_one_alert_and_nine_none() {
        let t0 = Instant::now();
        let mut w = Watcher::new(Thresholds::default());
        assert!(run(&mut w, 9, "u@x.test", "10.0.0.1", t0).is_empty());
        let mut w = Watcher::new(Thresholds::default());
        let alerts = run(&mut w, 11, "u@x.test", "10.0.0.1", t0);
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert!(matches!(alerts[0].kind, AlertKind::IpAccount { .. }));
        assert_eq!(alerts[0].failures, 10);
    }

    #[test]
    fn a_distributed_attack_and_a_scan_are_seen() {
        let t0 = Instant::now();
        let mut w = Watcher::new(Thresholds::default());
        let mut alerts = Vec::new();
        for i in 0..15 {
            alerts.extend(w.failure("victim@x.test", &format!("10.0.1.{i}"), t0));
        }
        assert_eq!(alerts.len(), 1);
        assert!(matches!(alerts[0].kind, AlertKind::Account { .. }));

        let mut w = Watcher::new(Thresholds::default());
        let mut alerts = Vec::new();
        for i in 0..20 {
            alerts.extend(w.failure(&format!("u{i}@x.test"), "10.9.9.9", t0));
        }
        assert_eq!(alerts.len(), 1);
        assert!(matches!(alerts[0].kind, AlertKind::Ip { .. }));
    }

    #[test]
    fn failures_spread_over_more_than_a_minute_do_not_alert() {
        let t0 = Instant::now();
        let mut w = Watcher::new(Thresholds::default());
        let mut alerts = Vec::new();
        for i in 0..30 {
            alerts.extend(w.failure("u@x.test", "10.0.0.1", t0 + Duration::from_secs(i * 7)));
        }
        assert!(alerts.is_empty(), "{alerts:?}");
    }

    #[test]
    fn an_alert_repeats_only_after_a_quiet_window_and_zero_turns_it_off() {
        let t0 = Instant::now();
        let mut w = Watcher::new(Thresholds {
            ip_account: 2,
            account: 0,
            ip: 0,
            total: 0,
        });
        let n = |w: &mut Watcher, at: u64| {
            w.failure("u@x.test", "1.2.3.4", t0 + Duration::from_secs(at))
                .len()
        };
        assert_eq!(n(&mut w, 0), 0);
        assert_eq!(n(&mut w, 1), 1);
        assert_eq!(n(&mut w, 2), 0);
        assert_eq!(n(&mut w, 30), 0);
        assert_eq!(n(&mut w, 62), 1);
    }

    #[test]
    fn the_layer_reads_the_directory_event() {
        use tracing_subscriber::prelude::*;
        let (tx, mut rx) = mpsc::unbounded_channel::<(String, String)>();
        struct Probe(mpsc::UnboundedSender<(String, String)>);
        impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Probe {
            fn on_event(&self, event: &tracing::Event<'_>, _c: LayerContext<'_, S>) {
                if event.metadata().target() != SOURCE_TARGET {
                    return;
                }
                let mut f = FailureFields::default();
                event.record(&mut f);
                let _ = self.0.send((f.account, f.ip));
            }
        }
        let sub = tracing_subscriber::registry().with(Probe(tx));
        tracing::subscriber::with_default(sub, || {
            tracing::info!(target: "zcs_directory::provisioning::login", account = "u@x.test",
                proto = "imap", ip = "10.0.0.7", "authentication failed");
        });
        assert_eq!(
            rx.try_recv().expect("event seen"),
            ("u@x.test".to_string(), "10.0.0.7".to_string())
        );
    }

    #[test]
    fn the_alert_mail_names_what_happened() {
        let a = Alert {
            kind: AlertKind::IpAccount {
                ip: "10.0.0.1".into(),
                account: "u@x.test".into(),
            },
            failures: 10,
            threshold: 10,
        };
        let m = String::from_utf8(alert_message(
            &a,
            "admin@x.test",
            "mail.x.test",
            chrono::Utc::now(),
        ))
        .expect("utf8");
        assert!(m.contains(
            "Subject: zmauditwatch: 10 authentication failures for u@x.test from 10.0.0.1"
        ));
        assert!(m.contains("To: <admin@x.test>"));
    }
}
