//! Local delivery: the `zcs_mta::LocalDelivery` seam implemented on the directory and
//! the store. Resolves recipients (accounts, aliases, alias domains, catch-all, lists;
//! list send rights at `RCPT` when the sender is known), runs each account's Sieve
//! script, drops duplicates ([`crate::mta::dedupe`]), stores the copies (one blob for
//! all recipients), and sends through the queue what must go back out: list members
//! ([`crate::mta::lists`]), forwarding and redirects ([`crate::mta::forwarding`]),
//! vacation replies, archive copies and legal intercepts ([`crate::mta::archive`];
//! archive copies only when this server runs the `archiving` service: [`archiving`]).
//! Then asks the indexer to index what was stored.
//!
//! Quota (spec 02 §1.14): each recipient's effective `zimbraMailQuota` (0 unlimited,
//! capped by the domain's `zimbraMailDomainQuota`) goes to the store with the target,
//! unless `zimbraMailAllowReceiveButNotSendWhenOverQuota` is TRUE. Over quota is a
//! temporary failure (`452 4.2.2`, the MTA retries) unless
//! `zimbraLmtpPermanentFailureWhenOverQuota` (server, then global config) is TRUE,
//! then permanent (`552 5.2.2`, a bounce). A delivery that crosses
//! `zimbraQuotaWarnPercent` files a quota warning in the Inbox (once per
//! `zimbraQuotaWarnInterval`).
//!
//! Statuses: an account or domain in maintenance defers (`4.2.1`), closed or pending
//! refuses (`5.2.1`), `zimbraMailStatus disabled` is an unknown recipient.
//!
//! Spam: mail with `X-Spam-Flag: YES` is kept in Junk unless `zimbraSpamWhitelistHeader`
//! carries `zimbraSpamWhitelistHeaderValue`. Address extensions (`user+tag@`) follow
//! `zimbraMtaRecipientDelimiter` ([`extension`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use zcs_core::attrs::value::parse_size;
use zcs_core::{Attrs, Entry};
use zcs_core::{Flags, ItemId, ZimbraId};
use zcs_directory::Provisioning;
use zcs_directory::provisioning::{Delivery, Resolved};
use zcs_mta::queue::Queue;
use zcs_mta::{DeliveryOutcome, InboundMessage, LocalDelivery, RecipientStatus, SenderFacts};
use zcs_store::{DeliveryTarget, MailboxSettings, Store, StoreError, ThreadingAlgorithm};

use crate::indexer::Indexer;
use crate::mta::archive;
use crate::mta::dedupe::{self, DedupeCache, DedupeSettings};
use crate::mta::outbound::{header_values, send_on};
use crate::mta::sieve_apply::{self, DeliveryPlan, FileVacation};
use crate::mta::{forwarding, lists, notices};

/// Delivers into this server's mailboxes.
pub struct MailDelivery {
    prov: Arc<Provisioning>,
    store: Arc<Store>,
    indexer: Indexer,
    /// The queue for copies that go back out; set by the MTA front end at start.
    queue: OnceLock<Queue>,
    /// Message ids delivered per mailbox (duplicate suppression).
    dedupe: DedupeCache,
    /// The server-wide delivery settings as last read, and when.
    settings_cache: std::sync::Mutex<Option<(Settings, std::time::Instant)>>,
    /// Each account's effective attributes as last computed: the account entry they
    /// were computed from, the attributes, and when.
    effective_cache: std::sync::Mutex<EffectiveCache>,
    /// Envelope senders (lower case) found not to be ours, and when ([`Self::after_send`]).
    foreign_senders: std::sync::Mutex<HashMap<String, std::time::Instant>>,
}

/// Effective attributes by account id (see [`MailDelivery::effective_attrs`]).
type EffectiveCache = HashMap<ZimbraId, (Entry, Arc<Attrs>, std::time::Instant)>;

/// How long the server-wide delivery settings (dedupe cache size and timeout, the
/// over-quota reply) are kept before the directory is asked again. `zmmtactl reload`
/// (through [`MailDelivery::reload_settings`]) drops them at once.
const SETTINGS_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// How long an account's effective attributes (its own, its COS's, its domain's and the
/// global config's, with the registry defaults) are reused while the account entry is
/// unchanged. Computing them is a pass over the whole attribute registry, the largest
/// cost of a delivery outside the store; a burst of mail to one account computes them
/// once. A change of the account itself applies to the next message; a change of its
/// COS or domain within this time, or at once after `zmprov flushCache` / `zmmtactl
/// reload` (both call [`MailDelivery::reload_settings`]).
const EFFECTIVE_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// Accounts whose effective attributes are kept at most (the cache is emptied beyond).
const EFFECTIVE_MAX: usize = 10_000;

impl MailDelivery {
    /// Delivery over the given directory, store and indexer. Until [`Self::set_queue`]
    /// is called, list members, forwarding, redirects and vacation replies cannot be
    /// sent (temporary failure for lists; the others are logged and skipped).
    pub fn new(prov: Arc<Provisioning>, store: Arc<Store>, indexer: Indexer) -> Self {
        MailDelivery {
            prov,
            store,
            indexer,
            queue: OnceLock::new(),
            dedupe: DedupeCache::new(),
            settings_cache: std::sync::Mutex::new(None),
            effective_cache: std::sync::Mutex::new(HashMap::new()),
            foreign_senders: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Forgets the cached delivery settings, so the next delivery reads
    /// `zimbraMessageIdDedupeCacheSize`, `zimbraMessageIdDedupeCacheTimeout` and
    /// `zimbraLmtpPermanentFailureWhenOverQuota` again (the MTA settings reload calls it).
    pub fn reload_settings(&self) {
        *self
            .settings_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
        self.effective_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.foreign_senders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// `account`'s effective attributes: reused while younger than [`EFFECTIVE_TTL`]
    /// and computed from the same account entry, else computed again.
    async fn effective_attrs(&self, account: &Entry) -> zcs_core::ServiceResult<Arc<Attrs>> {
        let cache = || {
            self.effective_cache
                .lock()
                .unwrap_or_else(|p| p.into_inner())
        };
        if let Some((entry, attrs, at)) = cache().get(&account.id)
            && at.elapsed() < EFFECTIVE_TTL
            && entry == account
        {
            return Ok(attrs.clone());
        }
        let attrs = Arc::new(self.prov.effective_account_attrs(account).await?);
        let mut cached = cache();
        if cached.len() >= EFFECTIVE_MAX {
            cached.clear();
        }
        let now = std::time::Instant::now();
        cached.insert(account.id, (account.clone(), attrs.clone(), now));
        Ok(attrs)
    }

    /// Gives delivery the queue to send through; later calls are ignored.
    pub fn set_queue(&self, queue: Queue) {
        let _ = self.queue.set(queue);
    }

    /// The queue mail for other servers goes out through, once the MTA front end set it.
    pub fn queue(&self) -> Option<&Queue> {
        self.queue.get()
    }
}
/// The quota delivery enforces for an account with these effective attributes: its
/// `zimbraMailQuota` in bytes, or 0 (none) when it is unset, unparsable (logged) or
/// `zimbraMailAllowReceiveButNotSendWhenOverQuota` is TRUE.
fn delivery_quota(effective: &Attrs, account: &str) -> u64 {
    if effective
        .get("zimbraMailAllowReceiveButNotSendWhenOverQuota")
        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
    {
        return 0;
    }
    match effective.get("zimbraMailQuota").map(parse_size) {
        None => 0,
        Some(Ok(q)) => q,
        Some(Err(e)) => {
            tracing::warn!(account, error = %e, "bad zimbraMailQuota; not enforced");
            0
        }
    }
}

/// The reply for a recipient over quota: 452 4.2.2 by default, 552 5.2.2 when
/// `zimbraLmtpPermanentFailureWhenOverQuota` is TRUE (RFC 3463 §3.3: X.2.2 is
/// "mailbox full").
fn over_quota_outcome(permanent: bool) -> DeliveryOutcome {
    if permanent {
        DeliveryOutcome::PermFail("5.2.2 mailbox full".into())
    } else {
        DeliveryOutcome::TempFail("4.2.2 mailbox full, try again later".into())
    }
}

/// The server-wide settings one delivery uses, read once per delivery.
#[derive(Clone, Debug, Default)]
struct Settings {
    /// `zimbraLmtpPermanentFailureWhenOverQuota`.
    permanent_quota: bool,
    /// `zimbraMessageIdDedupeCacheSize` / `zimbraMessageIdDedupeCacheTimeout`.
    dedupe: DedupeSettings,
    /// `zimbraMtaRecipientDelimiter` (server, else global): the characters that start an
    /// address extension; empty when none is set.
    delimiters: String,
    /// The third-party whitelist header and value ([`junk::whitelist_mark`]).
    whitelist: Option<(String, String)>,
    /// This server's `zimbraServiceEnabled` lists `archiving` ([`archiving`]).
    archiving: bool,
}

impl MailDelivery {
    /// Whether `account`'s domain is over its aggregate quota under
    /// `BLOCKSENDRECEIVE`, which refuses mail in as well as out (spec 02 §1.14); a
    /// domain or config that cannot be read refuses nothing.
    async fn domain_refuses_mail(&self, account: &Entry) -> bool {
        let Some((_, domain)) = account.name.rsplit_once('@') else {
            return false;
        };
        let key = zcs_directory::EntryKey::Name(domain.to_string());
        let (Ok(domain), Ok(global)) = (
            self.prov.get_domain(&key).await,
            self.prov.global_config().await,
        ) else {
            return false;
        };
        crate::soap::mail::send::domain_quota_blocks(&domain, &global, true)
    }

    /// The settings of this delivery: the cached ones while younger than
    /// [`SETTINGS_TTL`], else read again; defaults (logged, not cached) when the
    /// directory cannot be read.
    async fn settings(&self) -> Settings {
        let lock = || {
            self.settings_cache
                .lock()
                .unwrap_or_else(|p| p.into_inner())
        };
        if let Some((s, at)) = &*lock()
            && at.elapsed() < SETTINGS_TTL
        {
            return s.clone();
        }
        match self.read_settings().await {
            Some(s) => {
                *lock() = Some((s.clone(), std::time::Instant::now()));
                s
            }
            None => Settings::default(),
        }
    }

    /// Reads the settings from the directory; `None` (logged) when it cannot.
    async fn read_settings(&self) -> Option<Settings> {
        let global = match self.prov.global_config().await {
            Ok(g) => g,
            Err(e) => {
                tracing::warn!(error = %e, "global config lookup failed");
                return None;
            }
        };
        let mut dedupe = DedupeSettings::default();
        if let Some(n) = global
            .attrs
            .get("zimbraMessageIdDedupeCacheSize")
            .and_then(|v| v.trim().parse().ok())
        {
            dedupe.capacity = n;
        }
        dedupe.timeout = global
            .attrs
            .get("zimbraMessageIdDedupeCacheTimeout")
            .and_then(|v| zcs_core::attrs::value::parse_duration(v).ok())
            .filter(|d| !d.is_zero());
        let server = match self.prov.local_server() {
            Some(name) => {
                let key = zcs_directory::EntryKey::Name(name.to_string());
                self.prov.get_server(&key).await.ok()
            }
            None => None,
        };
        // Server value, else the global config's.
        let values = |attr: &str| -> Vec<String> {
            match &server {
                Some(s) if !s.attrs.get_all(attr).is_empty() => s.attrs.get_all(attr).to_vec(),
                _ => global.attrs.get_all(attr).to_vec(),
            }
        };
        let permanent_quota = values("zimbraLmtpPermanentFailureWhenOverQuota")
            .first()
            .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"));
        Some(Settings {
            permanent_quota,
            dedupe,
            delimiters: extension::delimiters(&values("zimbraMtaRecipientDelimiter")),
            whitelist: junk::whitelist_mark(&global.attrs),
            archiving: archiving::service_enabled(server.as_ref().map(|s| &s.attrs)),
        })
    }
}

/// What an account's `zimbraAccountStatus` means for delivery: `active` and `locked`
/// and `lockout` accept mail (a locked user still receives), `maintenance` defers,
/// `closed` and `pending` refuse.
fn status_verdict(status: Option<&str>) -> Result<(), RecipientStatus> {
    match status.unwrap_or("active") {
        "active" | "locked" | "lockout" => Ok(()),
        "maintenance" => Err(RecipientStatus::TempFail(
            "4.2.1 mailbox is in maintenance, try again later".into(),
        )),
        _ => Err(RecipientStatus::PermFail(
            "5.2.1 mailbox is disabled".into(),
        )),
    }
}

/// One account's share of a delivery: the targets it adds to the store call, and what
/// else happened for it.
struct AccountJob {
    account: Entry,
    /// The account's mailbox, once looked up (reused after storing).
    mailbox: Option<zcs_store::Mailbox>,
    effective: Arc<Attrs>,
    quota: u64,
    /// Index range of its targets in the store call, with each target's tags.
    targets: std::ops::Range<usize>,
    tags: Vec<Vec<String>>,
    /// Decided before storing (reject, a store or queue failure); `None` = by results.
    outcome: Option<DeliveryOutcome>,
    /// True when nothing needed storing (discard, forward only): delivered as is.
    nothing_to_store: bool,
}

/// The store flags for Sieve's IMAP flags: `\Seen` clears unread, `\Flagged` flags.
fn store_flags(flags: &[String]) -> Flags {
    let mut bits = Flags::UNREAD;
    for f in flags {
        if f.eq_ignore_ascii_case("\\Seen") {
            bits &= !Flags::UNREAD;
        } else if f.eq_ignore_ascii_case("\\Flagged") {
            bits |= Flags::FLAGGED;
        }
    }
    Flags(bits)
}

/// The metrics result label of an outcome.
fn result_label(outcome: &DeliveryOutcome) -> &'static str {
    match outcome {
        DeliveryOutcome::Delivered => "delivered",
        DeliveryOutcome::TempFail(_) => "deferred",
        DeliveryOutcome::PermFail(_) => "bounced",
    }
}

impl MailDelivery {
    /// Runs the account's scripts and forwarding, and adds its copies to `targets`.
    async fn prepare(
        &self,
        account: Entry,
        message: &InboundMessage,
        targets: &mut Vec<(DeliveryTarget, MailboxSettings)>,
        dedupe: DedupeSettings,
    ) -> AccountJob {
        let mut job = AccountJob {
            effective: Arc::new(Attrs::new()),
            quota: 0,
            targets: targets.len()..targets.len(),
            tags: Vec::new(),
            outcome: None,
            nothing_to_store: false,
            mailbox: None,
            account,
        };
        let name = job.account.name.clone();
        job.effective = match self.effective_attrs(&job.account).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(account = %name, error = %e, "account lookup failed");
                job.outcome = Some(DeliveryOutcome::TempFail(
                    "4.3.0 recipient lookup failed".into(),
                ));
                return job;
            }
        };
        job.quota = delivery_quota(&job.effective, &name);
        if self.domain_refuses_mail(&job.account).await {
            tracing::info!(account = %name, "delivery refused: domain aggregate quota");
            job.outcome = Some(over_quota_outcome(false));
            return job;
        }
        let dedupe_on = !job
            .effective
            .get("zimbraPrefMessageIdDedupingEnabled")
            .is_some_and(|v| v.eq_ignore_ascii_case("FALSE"));
        if dedupe_on
            && let Some(id) = dedupe::message_id(&message.data)
            && self.dedupe.is_duplicate(job.account.id, &id, dedupe)
        {
            tracing::info!(account = %name, "duplicate Message-ID: not delivered again");
            job.nothing_to_store = true;
            return job;
        }
        let mb = match self.store.mailbox(job.account.id).await {
            Ok(mb) => mb,
            Err(e) => {
                job.outcome = Some(store_failure(&name, &e));
                return job;
            }
        };

        // Sieve (and the out-of-office reply).
        let vacation_dir = self
            .queue
            .get()
            .and_then(|q| q.root().parent().map(|p| p.join("vacation")));
        let tracker = vacation_dir.map(|d| FileVacation::new(&d, &job.account.id.to_string()));
        // The address book is read only when the out-of-office reply depends on it.
        let in_address_book = if sieve_apply::needs_address_book(&job.effective) {
            sieve_apply::sender_in_address_book(&mb, &message.mail_from).await
        } else {
            None
        };
        let plan = sieve_apply::plan_for_sender(
            &job.effective,
            &name,
            &message.data,
            &message.mail_from,
            tracker
                .as_ref()
                .map(|t| t as &dyn zcs_mta::sieve::VacationTracker),
            in_address_book,
        );
        let DeliveryPlan {
            mut copies,
            redirects,
            reject,
            replies,
        } = plan;
        if let Some(reason) = reject {
            tracing::info!(account = %name, "rejected by the account's Sieve script");
            let reason = reason.replace(['\r', '\n'], " ");
            job.outcome = Some(DeliveryOutcome::PermFail(format!("5.7.1 {reason}")));
            return job;
        }
        for (to, reply) in replies {
            send_on(self.queue.get(), "", &[to], &reply).await;
        }

        // Forwarding, Sieve redirects: one queued copy with the loop marker.
        let queue = self.queue.get();
        if forwarding::forward(queue, &job.effective, &name, message, redirects).await {
            copies.clear();
        }
        if copies.is_empty() {
            job.nothing_to_store = true;
            return job;
        }

        // The copies to store, with the account's threading.
        let spam = header_values(&message.data, "X-Spam-Flag")
            .iter()
            .any(|v| v.eq_ignore_ascii_case("YES"))
            && !junk::whitelisted(self.settings().await.whitelist.as_ref(), &message.data);
        let settings = MailboxSettings {
            threading: job
                .effective
                .get("zimbraMailThreadingAlgorithm")
                .and_then(ThreadingAlgorithm::parse)
                .unwrap_or(ThreadingAlgorithm::References),
            ..MailboxSettings::default()
        };
        let start = targets.len();
        for copy in &copies {
            let folder = sieve_apply::folder_for(&mb, copy, spam).await;
            targets.push((
                DeliveryTarget {
                    account: job.account.id,
                    folder,
                    flags: store_flags(&copy.flags),
                    quota: job.quota,
                },
                settings.clone(),
            ));
            job.tags.push(copy.tags.clone());
        }
        job.targets = start..targets.len();
        job.mailbox = Some(mb);
        job
    }

    /// After storing: tags, indexing, notification, the quota warning.
    async fn after_store(
        &self,
        job: &AccountJob,
        stored: &[(ItemId, usize)],
        message: &InboundMessage,
        folder: ItemId,
        dedupe: DedupeSettings,
    ) {
        if let Some(id) = dedupe::message_id(&message.data) {
            self.dedupe.remember(job.account.id, &id, dedupe);
        }
        let queue = self.queue.get();
        let effective = archiving::gate(&job.effective, self.settings().await.archiving);
        let name = job.account.name.as_str();
        archive::archive_and_intercept(queue, &effective, name, message, Some(folder)).await;
        let mb = match &job.mailbox {
            Some(mb) => mb.clone(),
            None => match self.store.mailbox(job.account.id).await {
                Ok(mb) => mb,
                Err(_) => return,
            },
        };
        for (item, tag_index) in stored {
            if let Some(tags) = job.tags.get(*tag_index).filter(|t| !t.is_empty())
                && let Err(e) = mb.set_tags_by_name(&[*item], tags, true, true).await
            {
                tracing::warn!(account = %job.account.name, error = %e, "Sieve tags not set");
            }
        }
        let (percent, interval) = notices::warn_settings(&job.effective);
        let now = chrono::Utc::now().timestamp_millis();
        match mb
            .with_quota(job.quota)
            .quota_warning(now, percent, interval)
            .await
        {
            Ok(Some(w)) => {
                let msg = notices::quota_warning_message(&job.effective, &job.account.name, &w);
                let target = DeliveryTarget {
                    account: job.account.id,
                    folder: ItemId(zcs_core::folder::INBOX),
                    flags: Flags(Flags::UNREAD),
                    quota: 0,
                };
                if let Err(e) = self.store.deliver(&[target], &msg, now).await {
                    tracing::warn!(account = %job.account.name, error = %e,
                        "quota warning not delivered");
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(account = %job.account.name, error = %e,
                "quota warning check failed"),
        }
        self.indexer.notify(job.account.id);
        crate::notify::publish(job.account.id);
    }
}

/// The outcome for a store failure other than quota.
fn store_failure(account: &str, e: &StoreError) -> DeliveryOutcome {
    match e {
        StoreError::Maintenance(_) => {
            DeliveryOutcome::TempFail("4.2.1 mailbox is in maintenance, try again later".into())
        }
        _ => {
            tracing::warn!(account, error = %e, "delivery failed");
            DeliveryOutcome::TempFail("4.3.0 store failure".into())
        }
    }
}

/// What resolution says about delivering to an entry: `Err` is the refusal.
fn verdict(r: &Resolved) -> Result<(), RecipientStatus> {
    if r.entry
        .attrs
        .get("zimbraMailStatus")
        .is_some_and(|s| s.eq_ignore_ascii_case("disabled"))
    {
        // Out of mail routing altogether, as Zimbra's MTA lookups do.
        return Err(RecipientStatus::Unknown);
    }
    match r.delivery {
        Delivery::Deliver => Ok(()),
        Delivery::Defer => Err(RecipientStatus::TempFail(
            "4.2.1 mailbox is in maintenance, try again later".into(),
        )),
        Delivery::Reject => Err(RecipientStatus::PermFail(
            "5.2.1 mailbox is disabled".into(),
        )),
    }
}

impl MailDelivery {
    /// Resolution with address extensions ([`extension`]: `user+tag@domain` is
    /// `user@domain` unless known itself; before a catch-all) and the bare-postmaster
    /// fallback of [`Provisioning::resolve_address`].
    async fn lookup(&self, address: &str) -> Result<Option<Resolved>, RecipientStatus> {
        let found = self.lookup_exact(address).await?;
        if found.as_ref().is_some_and(|r| !r.catch_all) {
            return Ok(found);
        }
        let delimiters = self.settings().await.delimiters;
        if let Some(base) = extension::strip_extension(address, &delimiters)
            && let Some(r) = self.lookup_exact(&base).await?
            && !r.catch_all
        {
            return Ok(Some(r));
        }
        Ok(found)
    }

    /// [`Self::lookup`] without address extensions.
    async fn lookup_exact(&self, address: &str) -> Result<Option<Resolved>, RecipientStatus> {
        let found = match self.prov.resolve_recipient(address).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(rcpt = address, error = %e, "recipient lookup failed");
                return Err(RecipientStatus::TempFail(
                    "4.3.0 directory lookup failed".into(),
                ));
            }
        };
        if found.is_some() || address.contains('@') {
            return Ok(found);
        }
        match self.prov.resolve_address(address).await {
            Ok(Some(entry)) => Ok(Some(Resolved {
                delivery: match status_verdict(entry.attrs.get("zimbraAccountStatus")) {
                    Ok(()) => Delivery::Deliver,
                    Err(RecipientStatus::TempFail(_)) => Delivery::Defer,
                    Err(_) => Delivery::Reject,
                },
                address: entry.name.clone(),
                catch_all: false,
                entry,
            })),
            Ok(None) => Ok(None),
            Err(e) => {
                tracing::warn!(rcpt = address, error = %e, "recipient lookup failed");
                Err(RecipientStatus::TempFail(
                    "4.3.0 directory lookup failed".into(),
                ))
            }
        }
    }
}

#[async_trait]
impl LocalDelivery for MailDelivery {
    async fn resolve_recipient(&self, address: &str) -> RecipientStatus {
        match self.lookup(address).await {
            Ok(Some(r)) => match verdict(&r) {
                Ok(()) => RecipientStatus::Local(r.entry.name),
                Err(refusal) => refusal,
            },
            Ok(None) => RecipientStatus::Unknown,
            Err(status) => status,
        }
    }

    /// At `RCPT` on the SMTP listeners: a list refuses a sender without its
    /// `sendToDistList` right here, before any data.
    async fn resolve_recipient_from(
        &self,
        address: &str,
        sender: &SenderFacts<'_>,
    ) -> RecipientStatus {
        let resolved = match self.lookup(address).await {
            Ok(Some(r)) => r,
            Ok(None) => return RecipientStatus::Unknown,
            Err(status) => return status,
        };
        if let Err(refusal) = verdict(&resolved) {
            return refusal;
        }
        if resolved.is_list() {
            let authenticated = sender.authenticated.is_some() || sender.trusted;
            let name = &resolved.entry.name;
            let checked =
                lists::check_send_right(&self.prov, name, sender.mail_from, authenticated).await;
            if let Err(refusal) = checked {
                return match refusal.outcome() {
                    DeliveryOutcome::PermFail(m) => RecipientStatus::PermFail(m),
                    DeliveryOutcome::TempFail(m) => RecipientStatus::TempFail(m),
                    DeliveryOutcome::Delivered => RecipientStatus::Local(name.clone()),
                };
            }
        }
        RecipientStatus::Local(resolved.entry.name)
    }

    /// LMTP and the queue's local transport: the sender counts as authenticated for
    /// list rights (`sendToDistList` grants to `all`), since neither can tell.
    // LIMITATION: over LMTP or from the queue a sender that merely claims an internal
    // address passes an `all` grant; the SMTP listeners use `deliver_as` with the truth.
    async fn deliver(&self, message: &InboundMessage) -> Vec<DeliveryOutcome> {
        self.deliver_as(message, true).await
    }
}

impl MailDelivery {
    /// Delivers `message` to its local recipients (see [`LocalDelivery::deliver`]);
    /// `sender_trusted` says whether the envelope sender authenticated (or came from a
    /// trusted network), for the `sendToDistList` right.
    pub async fn deliver_as(
        &self,
        message: &InboundMessage,
        sender_trusted: bool,
    ) -> Vec<DeliveryOutcome> {
        let settings = self.settings().await;
        // Each recipient: a list (handled at once), an account job, or a refusal.
        let mut outcomes: Vec<Option<DeliveryOutcome>> = vec![None; message.recipients.len()];
        let mut job_of: Vec<Option<usize>> = vec![None; message.recipients.len()];
        let mut jobs: Vec<AccountJob> = Vec::new();
        let mut job_index: HashMap<ZimbraId, usize> = HashMap::new();
        let mut targets: Vec<(DeliveryTarget, MailboxSettings)> = Vec::new();
        let mut found = Vec::with_capacity(message.recipients.len());
        for rcpt in &message.recipients {
            found.push(self.lookup(&rcpt.canonical).await);
        }
        // Who this message reaches directly: list expansion leaves them out.
        let mut covered: HashSet<String> = found
            .iter()
            .filter_map(|f| f.as_ref().ok().and_then(Option::as_ref))
            .filter(|r| !r.is_list() && verdict(r).is_ok())
            .map(|r| r.entry.name.to_ascii_lowercase())
            .collect();
        for (i, (rcpt, found)) in message.recipients.iter().zip(found).enumerate() {
            let resolved = match found {
                Ok(Some(r)) => r,
                Ok(None) => {
                    outcomes[i] = Some(DeliveryOutcome::PermFail(format!(
                        "5.1.1 <{}>: recipient unknown",
                        rcpt.address
                    )));
                    continue;
                }
                Err(status) => {
                    outcomes[i] = Some(refusal_outcome(status));
                    continue;
                }
            };
            if let Err(status) = verdict(&resolved) {
                outcomes[i] = Some(refusal_outcome(status));
                continue;
            }
            if resolved.is_list() {
                let queue = self.queue.get();
                outcomes[i] = Some(
                    lists::deliver_to_list(
                        &self.prov,
                        queue,
                        &resolved,
                        message,
                        sender_trusted,
                        &mut covered,
                    )
                    .await,
                );
                continue;
            }
            let id = resolved.entry.id;
            let index = match job_index.get(&id) {
                Some(&j) => j,
                None => {
                    let job = self
                        .prepare(resolved.entry, message, &mut targets, settings.dedupe)
                        .await;
                    jobs.push(job);
                    job_index.insert(id, jobs.len() - 1);
                    jobs.len() - 1
                }
            };
            job_of[i] = Some(index);
        }

        // One store call for every copy of every account (the store commits concurrent
        // deliveries to one mailbox as a group).
        let received = chrono::Utc::now().timestamp_millis();
        let mut results: Vec<Option<Result<_, StoreError>>> = if targets.is_empty() {
            Vec::new()
        } else {
            match self
                .store
                .deliver_with_settings(&targets, &message.data, received)
                .await
            {
                Ok(r) => r.into_iter().map(Some).collect(),
                Err(e) => {
                    tracing::error!(error = %e, "delivery failed");
                    let failed = store_failure("*", &e);
                    for job in jobs.iter_mut().filter(|j| j.outcome.is_none()) {
                        job.outcome = Some(failed.clone());
                    }
                    (0..targets.len()).map(|_| None).collect()
                }
            }
        };

        let permanent_quota = settings.permanent_quota;
        let mut job_outcomes = Vec::with_capacity(jobs.len());
        for job in &jobs {
            if let Some(o) = &job.outcome {
                job_outcomes.push(o.clone());
                continue;
            }
            if job.nothing_to_store {
                tracing::info!(account = %job.account.name, "delivered: nothing to store");
                job_outcomes.push(DeliveryOutcome::Delivered);
                continue;
            }
            let mut stored = Vec::new();
            let mut failure = None;
            for (k, slot) in job.targets.clone().enumerate() {
                match results.get_mut(slot).and_then(Option::take) {
                    Some(Ok(meta)) => {
                        tracing::info!(account = %job.account.name, item = meta.id.0,
                            folder = meta.folder.0, size = meta.size,
                            proto = ?message.protocol, "delivered");
                        crate::metrics::counters().add("zcs_delivered_bytes_total", &[], meta.size);
                        stored.push((meta.id, k));
                    }
                    Some(Err(StoreError::QuotaExceeded { quota, used, .. })) => {
                        tracing::info!(account = %job.account.name, quota, used,
                            "delivery refused: over quota");
                        failure = Some(over_quota_outcome(permanent_quota));
                    }
                    Some(Err(e)) => failure = Some(store_failure(&job.account.name, &e)),
                    None => {}
                }
            }
            if stored.is_empty() {
                job_outcomes.push(
                    failure.unwrap_or(DeliveryOutcome::TempFail("4.3.0 not delivered".into())),
                );
            } else {
                let folder = targets
                    .get(job.targets.start)
                    .map_or(ItemId(zcs_core::folder::INBOX), |(t, _)| t.folder);
                self.after_store(job, &stored, message, folder, settings.dedupe)
                    .await;
                job_outcomes.push(DeliveryOutcome::Delivered);
            }
        }

        let out: Vec<DeliveryOutcome> = outcomes
            .into_iter()
            .zip(job_of)
            .map(|(o, j)| match (o, j) {
                (Some(o), _) => o,
                (None, Some(j)) => job_outcomes[j].clone(),
                (None, None) => DeliveryOutcome::TempFail("4.3.0 not delivered".into()),
            })
            .collect();
        for o in &out {
            crate::metrics::counters().inc("zcs_deliveries_total", &[("result", result_label(o))]);
        }
        out
    }
}

/// A resolution refusal as a delivery outcome.
fn refusal_outcome(status: RecipientStatus) -> DeliveryOutcome {
    match status {
        RecipientStatus::TempFail(m) => DeliveryOutcome::TempFail(m),
        RecipientStatus::PermFail(m) => DeliveryOutcome::PermFail(m),
        RecipientStatus::Unknown => DeliveryOutcome::PermFail("5.1.1 recipient unknown".into()),
        RecipientStatus::Local(_) => DeliveryOutcome::TempFail("4.3.0 not delivered".into()),
    }
}

mod archiving;
mod extension;
mod junk;
mod sent;
#[cfg(test)]
mod tests;
