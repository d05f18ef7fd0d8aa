//! HSM (hierarchical storage management): moves the blobs of items matching
//! `zimbraHsmPolicy` from primary message volumes to the current secondary one, in
//! batches of `zimbraHsmBatchSize`, with a status file `zmhsm -s` reads and an abort file
//! `zmhsm -a` writes.
//!
//! A move is [`VolumeBlobStore::move_blob`]: copy, fsync, delete, with no database change
//! (items reference the digest, not the volume; see `crate::volume_blobs`). This module
//! selects items (from the metadata database, whichever engine holds it: [`run_on`]) and
//! drives batches; it does not schedule itself. The status and abort files stay beside
//! the local database path, as the volumes they describe are this host's.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{DbContext, StoreError};
use crate::volume::VolumeType;
use crate::volume_blobs::VolumeBlobStore;

/// Item classes a policy names that hold blobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HsmItemType {
    /// `message`: mail items (type 5).
    Message,
    /// `document`: every revision of documents.
    Document,
}

/// One `zimbraHsmPolicy` value: `types:query`, e.g. `message,document:before:-30days`
/// or `message:in:Inbox before:-2weeks`. Terms are ANDed, except that several `in:` terms
/// are ORed among themselves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HsmPolicy {
    /// Types the policy applies to (types without blobs are accepted and ignored).
    pub types: Vec<HsmItemType>,
    /// `before:` as milliseconds since the epoch, computed at parse time.
    pub before_ms: Option<i64>,
    /// `in:` folder paths, normalised to `/Inbox/sub`, compared without case.
    pub folders: Vec<String>,
}

fn bad(m: String) -> StoreError {
    StoreError::InvalidRequest(m)
}

/// `-30days`, `-2weeks`, `-6months`, `-1year`, `-12hours`, `-10minutes` (also the
/// short `d w m y h mi` units) relative to `now_ms`, or an absolute `YYYY-MM-DD` /
/// `MM/DD/YYYY` date (midnight UTC).
fn parse_date(v: &str, now_ms: i64) -> Result<i64, StoreError> {
    let err = || bad(format!("bad date in HSM policy: {v:?}"));
    if let Some(rel) = v.strip_prefix('-').or_else(|| v.strip_prefix('+')) {
        let sign = if v.starts_with('-') { -1 } else { 1 };
        let digits: String = rel.chars().take_while(|c| c.is_ascii_digit()).collect();
        let n: i64 = digits.parse().map_err(|_| err())?;
        let unit = rel[digits.len()..].to_ascii_lowercase();
        let ms: i64 = match unit.as_str() {
            "mi" | "minute" | "minutes" => 60_000,
            "h" | "hour" | "hours" => 3_600_000,
            "d" | "day" | "days" | "" => 86_400_000,
            "w" | "week" | "weeks" => 7 * 86_400_000,
            "m" | "month" | "months" => 30 * 86_400_000,
            "y" | "year" | "years" => 365 * 86_400_000,
            _ => return Err(err()),
        };
        return Ok(now_ms.saturating_add(sign * n.saturating_mul(ms)));
    }
    let date = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(v, "%m/%d/%Y"))
        .map_err(|_| err())?;
    Ok(date
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc().timestamp_millis())
        .unwrap_or(0))
}

fn normalise_folder(p: &str) -> String {
    let p = p.trim_matches('"').trim_end_matches('/');
    let p = if p.starts_with('/') {
        p.to_string()
    } else {
        format!("/{p}")
    };
    p.to_lowercase()
}

impl HsmPolicy {
    /// Parses one policy value with relative dates taken from `now_ms`.
    ///
    /// # Errors
    /// [`StoreError::InvalidRequest`] naming what did not parse: no `:`, an unknown
    /// type, an unsupported term or a bad date.
    pub fn parse(s: &str, now_ms: i64) -> Result<HsmPolicy, StoreError> {
        let (types, query) = s
            .split_once(':')
            .ok_or_else(|| bad(format!("HSM policy {s:?} has no types: prefix")))?;
        let mut out = HsmPolicy {
            types: Vec::new(),
            before_ms: None,
            folders: Vec::new(),
        };
        for t in types.split(',').map(str::trim) {
            match t.to_ascii_lowercase().as_str() {
                "message" => out.types.push(HsmItemType::Message),
                "document" => out.types.push(HsmItemType::Document),
                // Zimbra's other item types keep no blob here.
                "appointment" | "task" | "contact" | "conversation" | "all" => {}
                _ => return Err(bad(format!("unknown item type {t:?} in HSM policy"))),
            }
        }
        for term in query.split_whitespace() {
            let (k, v) = term
                .split_once(':')
                .ok_or_else(|| bad(format!("unsupported HSM policy term {term:?}")))?;
            match k.to_ascii_lowercase().as_str() {
                "before" => {
                    let t = parse_date(v, now_ms)?;
                    out.before_ms = Some(out.before_ms.map_or(t, |b| b.min(t)));
                }
                "in" => out.folders.push(normalise_folder(v)),
                // LIMITATION: only before: and in: terms; other search terms are refused
                // rather than silently ignored.
                _ => return Err(bad(format!("unsupported HSM policy term {term:?}"))),
            }
        }
        Ok(out)
    }
}

/// How a run goes, as the status file keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HsmStatus {
    /// Whether a run is in progress.
    pub running: bool,
    /// When the run started (ms since epoch).
    pub started_ms: i64,
    /// When it ended, 0 while running.
    pub finished_ms: i64,
    /// Distinct blobs the policies selected.
    pub blobs_selected: u64,
    /// Blobs moved so far.
    pub blobs_moved: u64,
    /// Raw bytes of the blobs moved.
    pub bytes_moved: u64,
    /// Whether the run stopped on `zmhsm -a`.
    pub aborted: bool,
    /// The error that stopped it, if any.
    pub error: Option<String>,
    /// The secondary volume blobs went to.
    pub dest_volume: i64,
}

/// The status file of the store database at `db_path`.
pub fn status_path(db_path: &Path) -> PathBuf {
    sibling(db_path, ".hsm-status")
}

/// The file whose presence asks a running HSM pass to stop.
pub fn abort_path(db_path: &Path) -> PathBuf {
    sibling(db_path, ".hsm-abort")
}

fn sibling(db_path: &Path, suffix: &str) -> PathBuf {
    let mut p = db_path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

impl HsmStatus {
    fn to_json(&self) -> String {
        serde_json::json!({
            "running": self.running, "started_ms": self.started_ms,
            "finished_ms": self.finished_ms, "blobs_selected": self.blobs_selected,
            "blobs_moved": self.blobs_moved, "bytes_moved": self.bytes_moved,
            "aborted": self.aborted, "error": self.error, "dest_volume": self.dest_volume,
        })
        .to_string()
    }

    /// The last status written for the store database at `db_path`, `None` when no
    /// run ever started.
    pub fn load(db_path: &Path) -> Option<HsmStatus> {
        let text = std::fs::read_to_string(status_path(db_path)).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        let i = |k: &str| v.get(k).and_then(|x| x.as_i64()).unwrap_or(0);
        let b = |k: &str| v.get(k).and_then(|x| x.as_bool()).unwrap_or(false);
        Some(HsmStatus {
            running: b("running"),
            started_ms: i("started_ms"),
            finished_ms: i("finished_ms"),
            blobs_selected: i("blobs_selected").max(0) as u64,
            blobs_moved: i("blobs_moved").max(0) as u64,
            bytes_moved: i("bytes_moved").max(0) as u64,
            aborted: b("aborted"),
            error: v.get("error").and_then(|x| x.as_str()).map(str::to_string),
            dest_volume: i("dest_volume"),
        })
    }

    fn save(&self, db_path: &Path) {
        let p = status_path(db_path);
        let tmp = sibling(db_path, ".hsm-status.tmp");
        if let Err(e) =
            std::fs::write(&tmp, self.to_json()).and_then(|()| std::fs::rename(&tmp, &p))
        {
            tracing::warn!(error = %e, "could not write the HSM status file");
        }
    }
}

/// Asks a running pass over the store database at `db_path` to stop after its current
/// batch (`zmhsm -a`). Returns whether a run was in progress.
///
/// # Errors
/// I/O errors writing the abort file.
pub fn request_abort(db_path: &Path) -> Result<bool, StoreError> {
    let running = HsmStatus::load(db_path).is_some_and(|s| s.running);
    let p = abort_path(db_path);
    if running {
        std::fs::write(&p, b"abort").map_err(|e| StoreError::io("write", &p, e))?;
    }
    Ok(running)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Runs one HSM pass over the SQLite store database at `db_path`; see [`run_on`].
///
/// # Errors
/// As [`run_on`].
pub async fn run(
    db_path: &Path,
    blobs: Arc<VolumeBlobStore>,
    policies: &[HsmPolicy],
    batch_size: usize,
) -> Result<HsmStatus, StoreError> {
    let pool = crate::schema::open_pool(db_path).await?;
    let res = run_on(&pool, db_path, blobs, policies, batch_size).await;
    pool.close().await;
    res
}

/// Runs one HSM pass over the metadata database `db` (SQLite, MariaDB or PostgreSQL),
/// with its status and abort files beside `db_path` ([`status_path`],
/// [`abort_path`]): selects the blobs of items
/// matching any of `policies`, and moves those on primary volumes to the current
/// secondary volume, `batch_size` at a time, checking for an abort between batches
/// and updating the status file after each. Returns the final status.
///
/// # Errors
/// [`StoreError::InvalidRequest`] when there is no current secondary volume or a pass
/// is already running; database and I/O errors (also recorded in the status file).
pub async fn run_on(
    db: &crate::db::Db,
    db_path: &Path,
    blobs: Arc<VolumeBlobStore>,
    policies: &[HsmPolicy],
    batch_size: usize,
) -> Result<HsmStatus, StoreError> {
    let dest = blobs.current(VolumeType::SecondaryMessage).ok_or_else(|| {
        StoreError::InvalidRequest("no current secondary message volume (zmvolume -sc)".into())
    })?;
    // A pass killed mid-run leaves `running` set; after `zmhsm -a` (the abort file) a
    // new pass takes over.
    if HsmStatus::load(db_path).is_some_and(|s| s.running) && !abort_path(db_path).exists() {
        return Err(StoreError::InvalidRequest(
            "an HSM pass is already running".into(),
        ));
    }
    let _ = std::fs::remove_file(abort_path(db_path));
    let mut status = HsmStatus {
        running: true,
        started_ms: now_ms(),
        dest_volume: dest.id,
        ..HsmStatus::default()
    };
    status.save(db_path);
    tracing::info!(volume = dest.id, "HSM pass started");

    let res = move_all(
        db,
        db_path,
        &blobs,
        policies,
        batch_size.max(1),
        &dest,
        &mut status,
    )
    .await;
    status.running = false;
    status.finished_ms = now_ms();
    if let Err(e) = &res {
        status.error = Some(e.to_string());
    }
    status.save(db_path);
    let _ = std::fs::remove_file(abort_path(db_path));
    tracing::info!(
        moved = status.blobs_moved,
        bytes = status.bytes_moved,
        aborted = status.aborted,
        "HSM pass ended"
    );
    res.map(|()| status)
}

async fn move_all(
    pool: &crate::db::Db,
    db_path: &Path,
    blobs: &Arc<VolumeBlobStore>,
    policies: &[HsmPolicy],
    batch_size: usize,
    dest: &crate::volume::Volume,
    status: &mut HsmStatus,
) -> Result<(), StoreError> {
    let digests = select(pool, policies).await?;
    status.blobs_selected = digests.len() as u64;
    status.save(db_path);

    let primaries: BTreeSet<i64> = blobs
        .volumes()
        .into_iter()
        .filter(|v| v.kind == VolumeType::PrimaryMessage)
        .map(|v| v.id)
        .collect();
    let digests: Vec<String> = digests.into_iter().collect();
    for batch in digests.chunks(batch_size) {
        if abort_path(db_path).exists() {
            status.aborted = true;
            return Ok(());
        }
        let batch = batch.to_vec();
        let (b, dest, prim) = (blobs.clone(), dest.clone(), primaries.clone());
        let (n, bytes) = tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
            let (mut n, mut bytes) = (0u64, 0u64);
            for d in batch {
                match b.locate(&d)? {
                    Some(loc) if prim.contains(&loc.volume_id) => {}
                    _ => continue,
                }
                if let Some((_, raw_len)) = b.move_blob(&d, &dest)? {
                    n += 1;
                    bytes += raw_len;
                }
            }
            Ok((n, bytes))
        })
        .await
        .map_err(|e| StoreError::Internal(format!("HSM task failed: {e}")))??;
        status.blobs_moved += n;
        status.bytes_moved += bytes;
        status.save(db_path);
    }
    Ok(())
}

/// The distinct digests of items matching any policy.
async fn select(
    pool: &crate::db::Db,
    policies: &[HsmPolicy],
) -> Result<BTreeSet<String>, StoreError> {
    let mut out = BTreeSet::new();
    let folders = folder_paths(pool).await?;
    for p in policies {
        let before = p.before_ms.unwrap_or(i64::MAX);
        for t in &p.types {
            let sql = match t {
                HsmItemType::Message => {
                    "SELECT mailbox_id, folder_id, blob_digest FROM mail_item
                     WHERE type = 5 AND blob_digest != '' AND date < ?1"
                }
                HsmItemType::Document => {
                    "SELECT r.mailbox_id, COALESCE(i.folder_id, 0), r.blob_digest
                     FROM revision r LEFT JOIN mail_item i
                       ON i.mailbox_id = r.mailbox_id AND i.id = r.item_id
                     WHERE r.blob_digest != '' AND r.date < ?1"
                }
            };
            let rows: Vec<(i64, i64, String)> = sqlx::query_as(sql)
                .bind(before)
                .fetch_all(pool)
                .await
                .db("select HSM candidates")?;
            for (mb, folder, digest) in rows {
                let in_folder = p.folders.is_empty()
                    || folders
                        .get(&(mb, folder))
                        .is_some_and(|path| p.folders.iter().any(|f| f == path));
                if in_folder {
                    out.insert(digest);
                }
            }
        }
    }
    Ok(out)
}

/// Every folder's lower-cased path (`/inbox/sub`) by (mailbox, folder id).
async fn folder_paths(pool: &crate::db::Db) -> Result<HashMap<(i64, i64), String>, StoreError> {
    let rows: Vec<(i64, i64, i64, String)> =
        sqlx::query_as("SELECT mailbox_id, id, parent_id, name FROM folder")
            .fetch_all(pool)
            .await
            .db("list folders")?;
    let by_id: HashMap<(i64, i64), (i64, String)> = rows
        .into_iter()
        .map(|(mb, id, parent, name)| ((mb, id), (parent, name)))
        .collect();
    let mut out = HashMap::new();
    for &(mb, id) in by_id.keys() {
        let mut parts = Vec::new();
        let mut cur = id;
        // USER_ROOT (1) and ROOT (11) end a path; the bound guards against a cycle.
        for _ in 0..64 {
            if cur == 1 || cur == 11 {
                break;
            }
            let Some((parent, name)) = by_id.get(&(mb, cur)) else {
                break;
            };
            parts.push(name.to_lowercase());
            if *parent == cur {
                break;
            }
            cur = *parent;
        }
        parts.reverse();
        out.insert((mb, id), format!("/{}", parts.join("/")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_000_000_000_000;

    #[test]
    fn parses_zimbra_policies() {
        let p = HsmPolicy::parse("message:before:-30days", NOW).unwrap();
        assert_eq!(p.types, vec![HsmItemType::Message]);
        assert_eq!(p.before_ms, Some(NOW - 30 * 86_400_000));
        let p = HsmPolicy::parse("message,document:in:Inbox before:-2weeks", NOW).unwrap();
        assert_eq!(p.types.len(), 2);
        assert_eq!(p.folders, vec!["/inbox".to_string()]);
        assert_eq!(p.before_ms, Some(NOW - 14 * 86_400_000));
        let p = HsmPolicy::parse("message:before:2020-01-02", NOW).unwrap();
        assert_eq!(p.before_ms, Some(1_577_923_200_000));
        assert!(HsmPolicy::parse("before:-30days", NOW).is_err());
        assert!(HsmPolicy::parse("message:from:bob", NOW).is_err());
        assert!(HsmPolicy::parse("message:before:-3fortnights", NOW).is_err());
        assert!(HsmPolicy::parse("widget:before:-1d", NOW).is_err());
    }

    proptest! {
        #[test]
        fn policy_parser_never_panics(s in ".{0,60}") {
            let _ = HsmPolicy::parse(&s, NOW);
        }
    }
}
