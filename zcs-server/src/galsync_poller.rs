//! GAL sync runs (spec 02 §1.3.4): filling a GAL sync account's address books from the
//! GAL ([`sync_account`], which SyncGalAccountRequest calls too), and the background task
//! that does it on each data source's polling interval ([`run`]).
//!
//! A `gal` data source is synced periodically when its interval is above zero: its own
//! `zimbraDataSourcePollingInterval`, else the account's (or its COS's)
//! `zimbraDataSourceGalPollingInterval`, else the account's (or COS's)
//! `zimbraDataSourcePollingInterval`; never more often than the account's
//! `zimbraDataSourceMinPollingInterval` (1m by default), as Zimbra's
//! `DataSource.getPollingInterval` does. A source is due when that interval has passed
//! since its last sync, successful or failed (`zimbraGalLastSuccessfulSyncTimestamp`,
//! `zimbraGalLastFailedSyncTimestamp`), or since this server last tried it; a source
//! never synced is due at once.
//!
//! Both kinds of `gal` source are synced, side by side in one account: internal
//! (`zimbraGalType=zimbra`, this directory's GAL of the domain) and external (`ldap`: the
//! whole customer directory the source's `zimbraGalSyncLdap*` attributes, else the
//! domain's `zimbraGalSyncLdap*` then `zimbraGalLdap*`, point at, read page by page and
//! not capped at `zimbraGalMaxResults`; see `zcs_directory::provisioning::gal_external`).
//!
//! A sync writes one contact per GAL entry into the source's folder, keyed by a field
//! that ties it to its entry (the entry's `zimbraId` for an internal source, its DN in
//! `dn` for an external one): new entries are added, changed ones replaced, vanished
//! ones deleted; then the source's last sync time is recorded. When the GAL cannot be
//! read (an external server down, refused credentials) the folder is left as it was and
//! `zimbraGalLastFailedSyncTimestamp` is recorded; the other sources still sync.
//!
//! An external source syncs in full the first time and when asked (SyncGalAccount's
//! `fullSync="1"` or `reset="1"`); otherwise it is a trickle sync: only the entries
//! created or modified since the source's recorded token (`modifyTimeStamp`), and no
//! deletions, which the next full sync notices (Zimbra's `zmgsautil fullSync`).
//!
//! LIMITATION: a contact keeps the first value of each field, so a group's multi-valued
//! `member` keeps one address; Kerberos binds to external sources are not done.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use zcs_core::attrs::value::{parse_duration_ms, parse_time};
use zcs_core::{Entry, ItemId, ServiceError, ZimbraId, folder};
use zcs_directory::Provisioning;
use zcs_directory::provisioning::{Child, GalSourceKind, GalSyncSource};
use zcs_store::{Contact, Mailbox, Store, StoreError};

/// How often the poller looks for due sources. Intervals are at least a minute unless
/// an account lowers `zimbraDataSourceMinPollingInterval`.
pub const POLL_TICK: Duration = Duration::from_secs(10);

/// `zimbraDataSourceMinPollingInterval`'s default (the registry's), in ms.
const DEFAULT_MIN_INTERVAL_MS: u64 = 60_000;

/// The contact field that ties a contact of an internal GAL source to its directory
/// entry (an external source's contacts use `dn`: [`GalSourceKind::key_field`]).
pub const GAL_KEY: &str = GalSourceKind::Internal.key_field();

/// The longest contact field value the store takes (its `MAX_VALUE_LEN`); a longer
/// value from a GAL (a huge `description`) is left out rather than failing the sync.
const MAX_FIELD_LEN: usize = 64 * 1024;

/// Why a sync failed: the directory (reading the GAL or the account) or the store.
#[derive(Debug, thiserror::Error)]
pub enum GalSyncError {
    /// A directory read or write failed.
    #[error(transparent)]
    Directory(#[from] ServiceError),
    /// The GAL sync account's mailbox refused a change.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one source's sync changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FillCounts {
    /// Contacts added for new GAL entries.
    pub added: usize,
    /// Contacts rewritten because their entry changed.
    pub replaced: usize,
    /// Contacts deleted: their entry left the GAL, or a duplicate.
    pub removed: usize,
}

/// Fills the folders of `acct`'s enabled GAL sources, internal and external (all of
/// them, or those named in `only`, matched without regard to case) from their GALs,
/// recording each source's outcome on the data source. A source whose GAL cannot be
/// read keeps its contacts and the others still sync. Returns the names of the sources
/// synced. Syncs in this server run one at a time.
///
/// # Errors
/// `service.INVALID_REQUEST` when `acct` is no GAL sync account; otherwise the first
/// source's failure (after every source was tried): the directory's (an external server
/// unreachable, invalid credentials) or the store's. Each failing source's failure time
/// is recorded.
pub async fn sync_account(
    prov: &Provisioning,
    store: &Store,
    acct: &Entry,
    only: &[String],
    full: bool,
) -> Result<Vec<String>, GalSyncError> {
    // One sync at a time in this server: the poller and SyncGalAccountRequest on the same
    // source would both add the contacts of new entries.
    static RUNNING: std::sync::OnceLock<tokio::sync::Mutex<()>> = std::sync::OnceLock::new();
    let _one = RUNNING
        .get_or_init(|| tokio::sync::Mutex::new(()))
        .lock()
        .await;
    let targets = prov.gal_sync_targets(&acct.id.to_string()).await?;
    let mb = store.mailbox(acct.id).await?;
    let mut done = Vec::new();
    let mut first_err = None;
    for target in targets {
        if !only.is_empty() && !only.iter().any(|n| n.eq_ignore_ascii_case(&target.name)) {
            continue;
        }
        let outcome = match prov.read_gal_sync_changes(&target, full).await {
            Ok(source) => match fill_folder(&mb, &source).await {
                // The token moves only once the contacts it covers are written.
                Ok(counts) => match &source.token {
                    Some(token) => prov
                        .record_gal_sync_token(&acct.id.to_string(), &target.name, token)
                        .await
                        .map(|()| counts)
                        .map_err(GalSyncError::from),
                    None => Ok(counts),
                },
                Err(e) => Err(GalSyncError::from(e)),
            },
            Err(e) => Err(GalSyncError::from(e)),
        };
        prov.record_gal_sync(&acct.id.to_string(), &target.name, outcome.is_ok())
            .await?;
        match outcome {
            Ok(counts) => {
                tracing::info!(
                    account = %acct.name,
                    source = %target.name,
                    kind = ?target.kind,
                    added = counts.added,
                    replaced = counts.replaced,
                    removed = counts.removed,
                    "GAL sync done"
                );
                done.push(target.name);
            }
            Err(e) => {
                tracing::warn!(account = %acct.name, source = %target.name, error = %e,
                    "GAL sync failed; the source's contacts are kept");
                first_err.get_or_insert(e);
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(done),
    }
}

/// The folder a GAL source fills: its `zimbraDataSourceFolderId` as an id or a path,
/// created as an address book under the root when missing (`_<source name>` when the
/// source names none).
async fn source_folder(mb: &Mailbox, source: &GalSyncSource) -> Result<ItemId, StoreError> {
    let name = source
        .folder
        .clone()
        .unwrap_or_else(|| format!("_{}", source.name));
    if let Ok(n) = name.trim().parse::<i32>() {
        return Ok(mb.folder(ItemId(n)).await?.id);
    }
    if let Some(f) = mb.folder_by_path(&name).await? {
        return Ok(f.id);
    }
    let f = mb
        .create_folder_with_view(
            ItemId(folder::USER_ROOT),
            name.trim_matches('/'),
            Some("contact"),
        )
        .await?;
    Ok(f.id)
}

/// Brings `source`'s folder to the GAL: its contacts are matched to the entries by the
/// source kind's key field.
async fn fill_folder(mb: &Mailbox, source: &GalSyncSource) -> Result<FillCounts, StoreError> {
    let key_field = source.kind.key_field();
    let folder = source_folder(mb, source).await?;
    let mut have: HashMap<String, Contact> = HashMap::new();
    let mut strays = Vec::new();
    for c in mb.contacts(folder).await? {
        if let Some(k) = c.field(key_field).map(str::to_string)
            && let Some(dup) = have.insert(k, c)
        {
            strays.push(dup.id);
        }
    }
    let mut new_cards = Vec::new();
    let mut replaced = 0;
    for (key, attrs) in &source.contacts {
        let mut fields: Vec<(String, String)> = vec![(key_field.to_string(), key.clone())];
        for (name, values) in attrs.iter() {
            if name.eq_ignore_ascii_case(key_field) {
                continue;
            }
            if let Some(v) = values
                .first()
                .filter(|v| !v.is_empty() && v.len() <= MAX_FIELD_LEN)
            {
                fields.push((name.to_string(), v.clone()));
            }
        }
        match have.remove(key) {
            Some(old) if old.fields == fields => {}
            Some(old) => {
                mb.modify_contact(old.id, fields, Vec::new()).await?;
                replaced += 1;
            }
            None => new_cards.push((fields, Vec::new())),
        }
    }
    let added = new_cards.len();
    mb.create_contacts(folder, new_cards).await?;
    // A trickle sync lists only changed entries: the others are not gone.
    if source.complete {
        strays.extend(have.into_values().map(|c| c.id));
    }
    let removed = strays.len();
    if !strays.is_empty() {
        mb.delete_items(&strays).await?;
    }
    Ok(FillCounts {
        added,
        replaced,
        removed,
    })
}

/// A duration attribute in ms; unset or unreadable is `None` (a bad value is logged).
fn duration_ms(attrs: &zcs_core::Attrs, name: &str) -> Option<u64> {
    let text = attrs.get(name).map(str::trim).filter(|t| !t.is_empty())?;
    match parse_duration_ms(text) {
        Ok(ms) => Some(ms),
        Err(e) => {
            tracing::warn!(attr = name, error = %e, "bad polling interval ignored");
            None
        }
    }
}

/// The polling interval of data source `ds` of an account whose effective attributes
/// (COS values included) are `account`, in ms; 0 is "no periodic sync". See the
/// module doc for the order of the attributes and the floor.
pub fn polling_interval_ms(ds: &zcs_core::Attrs, account: &zcs_core::Attrs) -> u64 {
    let interval = duration_ms(ds, "zimbraDataSourcePollingInterval")
        .or_else(|| duration_ms(account, "zimbraDataSourceGalPollingInterval"))
        .or_else(|| duration_ms(account, "zimbraDataSourcePollingInterval"))
        .unwrap_or(0);
    let floor = duration_ms(account, "zimbraDataSourceMinPollingInterval")
        .unwrap_or(DEFAULT_MIN_INTERVAL_MS);
    if interval == 0 {
        0
    } else {
        interval.max(floor)
    }
}

/// When data source `ds` last synced, successfully or not, in ms since the epoch.
fn last_sync_ms(ds: &zcs_core::Attrs) -> Option<i64> {
    [
        "zimbraGalLastSuccessfulSyncTimestamp",
        "zimbraGalLastFailedSyncTimestamp",
    ]
    .iter()
    .filter_map(|a| parse_time(ds.get(a)?).ok())
    .max()
}

/// Whether a source with `interval_ms` (0: never), last synced at `last_ms` (from the
/// directory, or this server's last try, whichever is later), is due at `now_ms`.
pub fn is_due(interval_ms: u64, last_ms: Option<i64>, now_ms: i64) -> bool {
    if interval_ms == 0 {
        return false;
    }
    match last_ms {
        None => true,
        Some(last) => now_ms.saturating_sub(last) >= i64::try_from(interval_ms).unwrap_or(i64::MAX),
    }
}

/// The poller's memory of its own tries, by (account, lower-cased source name), in ms:
/// a failure that could not even be recorded in the directory is not retried at every
/// tick.
pub type Attempts = HashMap<(ZimbraId, String), i64>;

/// The names of `acct`'s enabled `gal` data sources (internal and external) that are due
/// at `now_ms`.
async fn due_sources(
    prov: &Provisioning,
    acct: &Entry,
    now_ms: i64,
    attempts: &Attempts,
) -> Result<Vec<String>, ServiceError> {
    let sources = prov
        .get_children(Child::DataSource, &acct.id.to_string())
        .await?;
    let gal: Vec<&Entry> = sources
        .iter()
        .filter(|ds| {
            ds.attrs
                .get("zimbraGalType")
                .and_then(GalSourceKind::parse)
                .is_some()
        })
        .collect();
    if gal.is_empty() {
        return Ok(Vec::new());
    }
    let effective = prov.effective_account_attrs(acct).await?;
    let mut out = Vec::new();
    for ds in gal {
        let a = &ds.attrs;
        let disabled = a
            .get("zimbraDataSourceEnabled")
            .is_some_and(|v| v.eq_ignore_ascii_case("FALSE"))
            || a.get("zimbraGalStatus")
                .is_some_and(|v| v.eq_ignore_ascii_case("disabled"));
        if disabled {
            continue;
        }
        let name = a
            .get("zimbraDataSourceName")
            .unwrap_or(&ds.name)
            .to_string();
        let tried = attempts.get(&(acct.id, name.to_ascii_lowercase())).copied();
        let last = last_sync_ms(a).max(tried);
        if is_due(polling_interval_ms(a, &effective), last, now_ms) {
            out.push(name);
        }
    }
    Ok(out)
}

/// One pass: every GAL sync account named by a domain's `zimbraGalAccountId` has its
/// due sources synced. A failing account is logged and the others still run. Returns
/// how many sources were synced.
///
/// # Errors
/// Listing the domains failed.
pub async fn poll_once(
    prov: &Provisioning,
    store: &Store,
    now_ms: i64,
    attempts: &mut Attempts,
) -> Result<usize, ServiceError> {
    let mut seen = HashSet::new();
    let mut synced = 0;
    for domain in prov.all_domains().await? {
        for id in domain.attrs.get_all("zimbraGalAccountId") {
            if !seen.insert(id.to_ascii_lowercase()) {
                continue;
            }
            let acct = match prov.find_account(id).await {
                Ok(Some(a)) => a,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(account = %id, error = %e, "GAL sync account unreadable");
                    continue;
                }
            };
            let due = match due_sources(prov, &acct, now_ms, attempts).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(account = %acct.name, error = %e, "GAL sources unreadable");
                    continue;
                }
            };
            if due.is_empty() {
                continue;
            }
            for name in &due {
                attempts.insert((acct.id, name.to_ascii_lowercase()), now_ms);
            }
            match sync_account(prov, store, &acct, &due, false).await {
                Ok(done) => synced += done.len(),
                Err(e) => {
                    tracing::warn!(account = %acct.name, error = %e, "periodic GAL sync failed")
                }
            }
        }
    }
    Ok(synced)
}

/// The background task: a [`poll_once`] pass every `tick` (the server uses
/// [`POLL_TICK`]) until `shutdown` turns true.
pub async fn run(
    prov: Arc<Provisioning>,
    store: Arc<Store>,
    tick: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut attempts = Attempts::new();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let now = chrono::Utc::now().timestamp_millis();
        if let Err(e) = poll_once(&prov, &store, now, &mut attempts).await {
            tracing::warn!(error = %e, "GAL sync poll failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod external_tests;
#[cfg(test)]
mod tests;
