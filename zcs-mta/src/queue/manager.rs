//! The queue manager: moves messages from `incoming` and due `deferred` into `active`,
//! delivers each pending recipient through a [`Transport`], records per-recipient
//! results, schedules retries with exponential backoff, bounces what is too old, and
//! queues delay, failure and success DSNs to the envelope sender (never to `<>`).
//!
//! It tolerates operator commands running beside it: a message that vanishes from a
//! queue between two steps is simply skipped.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};

use super::file::{Envelope, QueueFile, RcptState};
use super::{Queue, QueueError, QueueId, QueueName, unix_now_ms};
use crate::dsn::{self, DsnInput, DsnKind, DsnRecipient};
use crate::outbound::{Attempt, OutboundMessage, Outcome, Transport, domain_of};
use crate::restrictions::RecipientPolicy;

/// How long in-flight deliveries get to finish at shutdown; the rest stay in `active`
/// and are retried from `incoming` at the next start.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Decides whether a domain is ours (checked at each delivery, so directory changes
/// apply at once).
pub type LocalDomainCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// How the manager tells local domains from remote ones.
#[derive(Clone)]
enum LocalDomains {
    Check(LocalDomainCheck),
    Policy(Arc<dyn RecipientPolicy>),
}

/// The transports the manager delivers through: remote mail goes to `remote` (SMTP to
/// the MX or the relay host); recipients in a local domain, and addresses without a
/// domain, go to the local transport when one is set.
#[derive(Clone)]
pub struct Transports {
    remote: Arc<dyn Transport>,
    local: Option<(LocalDomains, Arc<dyn Transport>)>,
}

impl Transports {
    /// Every recipient goes through `remote`.
    pub fn new(remote: Arc<dyn Transport>) -> Transports {
        Transports {
            remote,
            local: None,
        }
    }

    /// Recipients whose domain `is_local` accepts go through `local`.
    pub fn with_local(
        mut self,
        is_local: impl Fn(&str) -> bool + Send + Sync + 'static,
        local: Arc<dyn Transport>,
    ) -> Transports {
        self.local = Some((LocalDomains::Check(Arc::new(is_local)), local));
        self
    }

    /// Recipients in a domain the listeners' [`RecipientPolicy`] calls local go through
    /// `local` (the same answer the SMTP listener used for relay control).
    pub fn with_local_policy(
        mut self,
        policy: Arc<dyn RecipientPolicy>,
        local: Arc<dyn Transport>,
    ) -> Transports {
        self.local = Some((LocalDomains::Policy(policy), local));
        self
    }

    /// The transport for a domain, whether it is the local one, and the concurrency key.
    async fn route(&self, domain: &str) -> (Arc<dyn Transport>, bool, String) {
        if let Some((domains, local)) = &self.local {
            let is_local = domain.is_empty()
                || match domains {
                    LocalDomains::Check(check) => check(domain),
                    LocalDomains::Policy(policy) => policy.is_local_domain(domain).await,
                };
            if is_local {
                return (local.clone(), true, "local".into());
            }
        }
        (self.remote.clone(), false, domain.to_string())
    }
}

/// The running manager. Start it with [`QueueManager::start`].
pub struct QueueManager {
    queue: Queue,
    transports: Transports,
    destinations: Mutex<HashMap<String, Arc<Semaphore>>>,
    in_flight: Mutex<HashSet<QueueId>>,
}

impl QueueManager {
    /// Spawns the manager on the current runtime. It runs until `shutdown` turns true,
    /// then waits up to 30 s for deliveries in progress. Open `queue` with
    /// [`Queue::open`] first so that crash leftovers are back in `incoming`.
    pub fn start(
        queue: Queue,
        transports: Transports,
        shutdown: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        let manager = Arc::new(QueueManager {
            queue,
            transports,
            destinations: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashSet::new()),
        });
        tokio::spawn(manager.run(shutdown))
    }

    async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let config = self.queue.config().clone();
        let active = Arc::new(Semaphore::new(config.active_limit.max(1)));
        let mut tasks = JoinSet::new();
        let mut last_deferred_scan: Option<Instant> = None;
        tracing::info!(dir = %self.queue.root().display(), "queue: manager started");

        while !*shutdown.borrow() {
            while tasks.try_join_next().is_some() {}

            let mut due: Vec<(QueueName, QueueId)> = Vec::new();
            match self.queue.list(QueueName::Incoming) {
                Ok(ids) => due.extend(ids.into_iter().map(|id| (QueueName::Incoming, id))),
                Err(e) => tracing::warn!(error = %e, "queue: cannot scan incoming"),
            }
            let flush = self.queue.take_flush_request();
            let scan_deferred =
                flush || last_deferred_scan.is_none_or(|t| t.elapsed() >= config.queue_run_delay);
            if scan_deferred {
                last_deferred_scan = Some(Instant::now());
                match self.queue.due_deferred() {
                    Ok(ids) => due.extend(ids.into_iter().map(|id| (QueueName::Deferred, id))),
                    Err(e) => tracing::warn!(error = %e, "queue: cannot scan deferred"),
                }
            }

            for (from, id) in due {
                let Ok(permit) = active.clone().try_acquire_owned() else {
                    break;
                };
                if !self.claim(&id) {
                    continue;
                }
                let manager = self.clone();
                tasks.spawn(async move { manager.process(from, id, permit).await });
            }

            tokio::select! {
                _ = self.queue.wait(config.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }

        let drain = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
            tracing::warn!("queue: deliveries still running at shutdown; retried at next start");
        }
        tracing::info!("queue: manager stopped");
    }

    /// Marks a message as being handled; false if it already is.
    fn claim(&self, id: &QueueId) -> bool {
        self.in_flight
            .lock()
            .map(|mut set| set.insert(id.clone()))
            .unwrap_or(false)
    }

    fn release(&self, id: &QueueId) {
        if let Ok(mut set) = self.in_flight.lock() {
            set.remove(id);
        }
    }

    fn destination(&self, key: &str) -> Arc<Semaphore> {
        let limit = self.queue.config().destination_concurrency_limit.max(1);
        match self.destinations.lock() {
            Ok(mut map) => map
                .entry(key.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(limit)))
                .clone(),
            Err(_) => Arc::new(Semaphore::new(limit)),
        }
    }

    async fn process(self: Arc<Self>, from: QueueName, id: QueueId, _permit: OwnedSemaphorePermit) {
        if let Err(e) = self.process_inner(from, &id).await {
            tracing::warn!(qid = %id, error = %e, "queue: processing failed");
            // Leave it where a later scan retries it, not in active.
            let _ = self
                .queue
                .move_to(&id, QueueName::Active, QueueName::Deferred);
        }
        self.release(&id);
    }

    async fn process_inner(&self, from: QueueName, id: &QueueId) -> Result<(), QueueError> {
        if !self.queue.move_to(id, from, QueueName::Active)? {
            return Ok(()); // moved or deleted by an operator meanwhile
        }
        let mut file = match self.queue.read(QueueName::Active, id) {
            Ok(file) => file,
            Err(QueueError::NotFound(_)) => return Ok(()),
            Err(QueueError::Corrupt { source, .. }) => {
                tracing::warn!(qid = %id, error = %source, "queue: unreadable file to corrupt");
                self.queue
                    .move_to(id, QueueName::Active, QueueName::Corrupt)?;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        // The file name is authoritative: every later write goes to this id.
        file.id = id.to_string();

        let delivered_local = self.deliver(&mut file).await;
        self.finish(id, file, delivered_local).await
    }

    /// Tries every recipient not yet final, one destination at a time. Returns the
    /// indexes of recipients newly delivered, with whether it was a local delivery, and
    /// the indexes newly bounced.
    async fn deliver(&self, file: &mut QueueFile) -> Newly {
        let mut groups: Vec<Group> = Vec::new();
        for (i, r) in file.envelope.recipients.iter().enumerate() {
            if r.state.is_final() {
                continue;
            }
            let (transport, local, key) = self.transports.route(&domain_of(&r.address)).await;
            match groups.iter_mut().find(|g| g.0 == key) {
                Some(g) => g.3.push(i),
                None => groups.push((key, local, transport, vec![i])),
            }
        }

        // LIMITATION: one message's destinations are tried one after another; concurrency
        // comes from running many messages at once.
        let mut newly = Newly::default();
        for (key, local, transport, indexes) in groups {
            let slot = self.destination(&key);
            let _slot = slot.acquire_owned().await;
            let addresses: Vec<String> = indexes
                .iter()
                .map(|i| file.envelope.recipients[*i].address.clone())
                .collect();
            let attempts = transport
                .deliver(OutboundMessage {
                    id: &file.id,
                    envelope: &file.envelope,
                    recipients: &addresses,
                    data: &file.message,
                })
                .await;
            for (n, i) in indexes.into_iter().enumerate() {
                let attempt = attempts.get(n).cloned().unwrap_or_else(|| {
                    Attempt::local(Outcome::Deferred, "4.3.0 transport gave no result")
                });
                let r = &mut file.envelope.recipients[i];
                let shown = match &attempt.remote_mta {
                    Some(host) => format!("{host} said: {}", attempt.reply),
                    None => attempt.reply.clone(),
                };
                let status = match attempt.outcome {
                    Outcome::Delivered => "sent",
                    Outcome::Deferred => "deferred",
                    Outcome::Bounced => "bounced",
                };
                tracing::info!(qid = %file.id, to = %r.address, relay = %key, status,
                    reply = %shown, "queue: delivery attempt");
                r.state = match attempt.outcome {
                    Outcome::Delivered => {
                        newly.delivered.push((i, local));
                        RcptState::Delivered(shown)
                    }
                    Outcome::Deferred => RcptState::Deferred(shown),
                    Outcome::Bounced => {
                        newly.bounced.push(i);
                        RcptState::Bounced(shown)
                    }
                };
                newly.attempts.insert(i, attempt);
            }
        }
        newly
    }

    /// Expires, notifies and stores the message after an attempt.
    async fn finish(
        &self,
        id: &QueueId,
        mut file: QueueFile,
        mut newly: Newly,
    ) -> Result<(), QueueError> {
        let config = self.queue.config().clone();
        let now = unix_now_ms();
        file.attempts = file.attempts.saturating_add(1);
        let age = Duration::from_millis(now.saturating_sub(file.arrival).max(0) as u64);
        let null_sender = file.envelope.sender.is_empty();
        let lifetime = if null_sender {
            config.bounce_queue_lifetime
        } else {
            config.maximal_queue_lifetime
        };

        // Postfix maximal_queue_lifetime: what is still deferred now bounces.
        if age >= lifetime {
            for (i, r) in file.envelope.recipients.iter_mut().enumerate() {
                if let RcptState::Deferred(last) = &r.state {
                    let reason = format!("4.4.7 message expired in queue; last error: {last}");
                    tracing::info!(qid = %file.id, to = %r.address, "queue: expired, bouncing");
                    r.state = RcptState::Bounced(reason.clone());
                    newly.bounced.push(i);
                    newly
                        .attempts
                        .insert(i, Attempt::local(Outcome::Bounced, reason));
                }
            }
        }

        if null_sender {
            // LIMITATION: no postmaster copy of a double bounce (Zimbra's
            // postfix_bounce_notice_recipient / postfix_notify_classes).
            if !newly.bounced.is_empty() {
                // RFC 3461 §6.2 / RFC 5321 §4.5.5: never answer a bounce with a bounce.
                tracing::info!(qid = %file.id, "queue: undeliverable bounce dropped");
            }
        } else {
            self.notify(&mut file, &newly, now, age).await?;
        }

        if file.envelope.recipients.iter().all(|r| r.state.is_final()) {
            self.queue.delete(QueueName::Active, id)?;
            tracing::info!(qid = %file.id, "queue: removed");
            return Ok(());
        }

        if !self.queue.path(QueueName::Active, id).exists() {
            // An operator held or deleted it meanwhile. A held copy gets this attempt's
            // recipient states so that a release does not deliver twice.
            if self.queue.path(QueueName::Hold, id).exists() {
                self.queue.write(QueueName::Hold, &file, None)?;
                tracing::info!(qid = %file.id, "queue: held during delivery; state kept");
            } else {
                tracing::info!(qid = %file.id, "queue: removed by an operator during delivery");
            }
            return Ok(());
        }
        let backoff = config.backoff(file.attempts);
        let next = SystemTime::now() + backoff;
        self.queue.write(QueueName::Active, &file, Some(next))?;
        self.queue
            .move_to(id, QueueName::Active, QueueName::Deferred)?;
        tracing::info!(qid = %file.id, attempts = file.attempts,
            retry_in_ms = backoff.as_millis() as u64, "queue: deferred");
        Ok(())
    }

    /// Queues the failure, success and delay DSNs this attempt calls for.
    async fn notify(
        &self,
        file: &mut QueueFile,
        newly: &Newly,
        now: i64,
        age: Duration,
    ) -> Result<(), QueueError> {
        let config = self.queue.config().clone();
        let env = &file.envelope;

        // RFC 3461 §4.1: with no NOTIFY, failures (and delays) are reported.
        let failed: Vec<DsnRecipient> = newly
            .bounced
            .iter()
            .filter(|i| wants(env, **i, |n| n.failure, true))
            .map(|i| report(env, *i, "failed", &newly.attempts))
            .collect();
        let succeeded: Vec<DsnRecipient> = newly
            .delivered
            .iter()
            .filter(|(i, _)| wants(env, *i, |n| n.success, false))
            // RFC 3461 §5.2.2: handed to an SMTP server that was not asked for a DSN.
            .map(|(i, local)| {
                report(
                    env,
                    *i,
                    if *local { "delivered" } else { "relayed" },
                    &newly.attempts,
                )
            })
            .collect();
        let mut delayed = Vec::new();
        if !file.warned
            && let Some(warn_after) = config.delay_warning_time
            && age >= warn_after
        {
            delayed = env
                .recipients
                .iter()
                .enumerate()
                .filter(|(i, r)| {
                    matches!(r.state, RcptState::Deferred(_)) && wants(env, *i, |n| n.delay, true)
                })
                .map(|(i, _)| report(env, i, "delayed", &newly.attempts))
                .collect();
        }

        let lifetime_end = file.arrival + config.maximal_queue_lifetime.as_millis() as i64;
        for (kind, recipients) in [
            (DsnKind::Failure, failed),
            (DsnKind::Success, succeeded),
            (DsnKind::Delay, delayed),
        ] {
            if recipients.is_empty() {
                continue;
            }
            let input = DsnInput {
                kind,
                reporting_mta: &config.hostname,
                queue_id: &file.id,
                sender: &env.sender,
                envid: env.envid.as_deref(),
                ret: env.ret,
                arrival_ms: file.arrival,
                now_ms: now,
                retry_until_ms: Some(lifetime_end),
                recipients,
                original: &file.message,
            };
            let message = dsn::build(&input);
            let dsn_id = self
                .queue
                .enqueue(Envelope::new("", &[env.sender.as_str()]), &message)
                .await?;
            tracing::info!(qid = %file.id, dsn = %dsn_id, ?kind, to = %env.sender,
                "queue: sender notification queued");
            if kind == DsnKind::Delay {
                file.warned = true;
            }
        }
        Ok(())
    }
}

/// Recipients of one message sharing a destination: concurrency key, whether local,
/// the transport, and the recipient indexes.
type Group = (String, bool, Arc<dyn Transport>, Vec<usize>);

/// What one attempt changed.
#[derive(Default)]
struct Newly {
    delivered: Vec<(usize, bool)>,
    bounced: Vec<usize>,
    attempts: HashMap<usize, Attempt>,
}

/// Whether recipient `i` asked for this kind of notice (`default` when it gave no
/// NOTIFY; `NEVER` wins over everything).
fn wants(env: &Envelope, i: usize, pick: fn(&super::file::Notify) -> bool, default: bool) -> bool {
    match env.recipients.get(i).and_then(|r| r.notify.as_ref()) {
        None => default,
        Some(n) => !n.never && pick(n),
    }
}

fn report(
    env: &Envelope,
    i: usize,
    action: &'static str,
    attempts: &HashMap<usize, Attempt>,
) -> DsnRecipient {
    let r = &env.recipients[i];
    let attempt = attempts.get(&i);
    let state_text = match &r.state {
        RcptState::Pending => String::new(),
        RcptState::Deferred(s) | RcptState::Delivered(s) | RcptState::Bounced(s) => s.clone(),
    };
    DsnRecipient {
        address: r.address.clone(),
        orcpt: r.orcpt.clone(),
        action,
        diagnostic: attempt.map(|a| a.reply.clone()).unwrap_or(state_text),
        smtp: attempt.is_some_and(|a| a.smtp_reply),
        remote_mta: attempt.and_then(|a| a.remote_mta.clone()),
    }
}
