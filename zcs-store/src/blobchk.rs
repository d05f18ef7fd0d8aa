//! Blob consistency check (`zmblobchk`): items whose blob is missing or whose stored
//! size or digest differs from the item's, and blob files no item references.
//!
//! The check only reads (the metadata database on any engine, the volumes through
//! [`VolumeBlobStore`]), so it may run beside a server. Repairs (deleting items or unused
//! blobs) are the caller's: the `zmblobchk` tool does them through an opened [`crate::Store`]
//! so they go through the redo log.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use crate::blob::digest_of;
use crate::error::{DbContext, StoreError};
use crate::volume_blobs::{BlobLocation, VolumeBlobStore};

/// One blob reference: an item (or dumpster item, or document revision) and the blob
/// it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobRef {
    /// The mailbox id.
    pub mailbox_id: i64,
    /// The item id.
    pub item_id: i64,
    /// The revision (1 for messages, the version for document revisions).
    pub revision: i64,
    /// Where the row is: `item`, `dumpster` or `revision`.
    pub table: &'static str,
    /// The raw size the row records.
    pub size: u64,
    /// The blob digest.
    pub digest: String,
}

/// What is wrong with one reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// No volume holds the blob.
    Missing,
    /// The blob's raw size differs from the row's.
    WrongSize {
        /// What the row says.
        expected: u64,
        /// What the blob holds.
        actual: u64,
    },
    /// The blob's content does not hash to its digest.
    WrongDigest {
        /// The digest of what the blob holds.
        actual: String,
    },
    /// The blob cannot be read (bad gzip, I/O error).
    Unreadable(String),
}

/// One reference with a problem.
#[derive(Clone, Debug)]
pub struct ItemProblem {
    /// The reference.
    pub blob: BlobRef,
    /// Where the blob is, when found.
    pub location: Option<BlobLocation>,
    /// What is wrong.
    pub problem: Problem,
}

/// An unreferenced blob file.
#[derive(Clone, Debug)]
pub struct UnusedBlob {
    /// Its digest.
    pub digest: String,
    /// Where it is.
    pub location: BlobLocation,
}

/// What a check found.
#[derive(Clone, Debug, Default)]
pub struct BlobChkReport {
    /// Mailboxes checked, by id.
    pub mailboxes: Vec<i64>,
    /// References checked.
    pub checked: u64,
    /// References with a problem.
    pub problems: Vec<ItemProblem>,
    /// Blob files no item of any mailbox references (only computed when every mailbox
    /// is checked, as blobs are shared across mailboxes).
    pub unused: Vec<UnusedBlob>,
}

impl BlobChkReport {
    /// Whether nothing was found.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty() && self.unused.is_empty()
    }

    /// The report in the shape of Zimbra's `zmblobchk` output: one `Checking mailbox N.`
    /// line per mailbox, one line per problem, then a summary.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for mb in &self.mailboxes {
            out.push_str(&format!("Checking mailbox {mb}.\n"));
            for p in self.problems.iter().filter(|p| p.blob.mailbox_id == *mb) {
                let b = &p.blob;
                let (vol, path) = p
                    .location
                    .as_ref()
                    .map_or((String::from("?"), String::new()), |l| {
                        (l.volume_id.to_string(), l.path.display().to_string())
                    });
                let what = match &p.problem {
                    Problem::Missing => "file not found".to_string(),
                    Problem::WrongSize { expected, actual } => {
                        format!("incorrect data size.  Expected {expected}, was {actual}")
                    }
                    Problem::WrongDigest { actual } => {
                        format!("incorrect digest.  Expected {}, was {actual}", b.digest)
                    }
                    Problem::Unreadable(e) => format!("unreadable: {e}"),
                };
                out.push_str(&format!(
                    "Mailbox {}, item {}, rev {}, volume {vol}, {path}: {what}.\n",
                    b.mailbox_id, b.item_id, b.revision
                ));
            }
        }
        for u in &self.unused {
            out.push_str(&format!(
                "Unused blob: volume {}, {}.\n",
                u.location.volume_id,
                u.location.path.display()
            ));
        }
        if self.is_clean() {
            out.push_str("No errors found.\n");
        } else {
            out.push_str(&format!(
                "Found {} item(s) with blob errors and {} unused blob(s).\n",
                self.problems.len(),
                self.unused.len()
            ));
        }
        out
    }
}

type RefRow = (i64, i64, i64, i64, String);

/// [`check_on`] over the SQLite store database at `db_path`.
///
/// # Errors
/// As [`check_on`].
pub async fn check(
    db_path: &Path,
    blobs: &std::sync::Arc<VolumeBlobStore>,
    mailboxes: Option<&[i64]>,
    check_digest: bool,
) -> Result<BlobChkReport, StoreError> {
    let pool = crate::schema::open_pool(db_path).await?;
    let res = check_on(&pool, blobs, mailboxes, check_digest).await;
    pool.close().await;
    res
}

/// Checks the references of `mailboxes` (every mailbox when `None`) in the metadata
/// database `pool` (SQLite, MariaDB or PostgreSQL) against the volumes of `blobs`.
/// `check_digest` also hashes every blob (reads all of them); without it only size is
/// compared, which still reads compressed blobs. Cost: a read of every referenced blob, a
/// walk of every volume.
///
/// # Errors
/// Database and I/O errors as they come (a problem with one blob is a finding, not an
/// error).
pub async fn check_on(
    pool: &crate::db::Db,
    blobs: &std::sync::Arc<VolumeBlobStore>,
    mailboxes: Option<&[i64]>,
    check_digest: bool,
) -> Result<BlobChkReport, StoreError> {
    let mut refs = Vec::new();
    for (table, sql) in [
        (
            "item",
            "SELECT mailbox_id, id, 1, size, blob_digest FROM mail_item WHERE blob_digest != ''",
        ),
        (
            "dumpster",
            "SELECT mailbox_id, id, 1, size, blob_digest FROM dumpster_item
             WHERE blob_digest != ''",
        ),
        (
            "revision",
            "SELECT mailbox_id, item_id, version, size, blob_digest FROM revision
             WHERE blob_digest != ''",
        ),
    ] {
        let rows: Vec<RefRow> = sqlx::query_as(sql)
            .fetch_all(pool)
            .await
            .db("list blob references")?;
        refs.extend(rows.into_iter().map(|r| BlobRef {
            mailbox_id: r.0,
            item_id: r.1,
            revision: r.2,
            table,
            size: r.3.max(0) as u64,
            digest: r.4,
        }));
    }
    let all_mailboxes: Vec<i64> = sqlx::query_scalar("SELECT id FROM mailbox ORDER BY id")
        .fetch_all(pool)
        .await
        .db("list mailboxes")?;

    let referenced: HashSet<String> = refs.iter().map(|r| r.digest.clone()).collect();
    let wanted: BTreeSet<i64> = match mailboxes {
        Some(ids) => ids.iter().copied().collect(),
        None => all_mailboxes.iter().copied().collect(),
    };
    refs.retain(|r| wanted.contains(&r.mailbox_id));
    refs.sort_by_key(|r| (r.mailbox_id, r.item_id, r.revision));

    let b = blobs.clone();
    let whole = mailboxes.is_none();
    tokio::task::spawn_blocking(move || {
        let mut report = BlobChkReport {
            mailboxes: wanted.into_iter().collect(),
            checked: refs.len() as u64,
            ..BlobChkReport::default()
        };
        for r in refs {
            if let Some(p) = check_one(&b, &r, check_digest)? {
                report.problems.push(p);
            }
        }
        if whole {
            for (digest, _) in crate::blob::BlobStore::list(b.as_ref())? {
                if !referenced.contains(&digest)
                    && let Some(location) = b.locate(&digest)?
                {
                    report.unused.push(UnusedBlob { digest, location });
                }
            }
            report
                .unused
                .sort_by(|a, b| a.location.path.cmp(&b.location.path));
        }
        Ok(report)
    })
    .await
    .map_err(|e| StoreError::Internal(format!("blob check task failed: {e}")))?
}

fn check_one(
    blobs: &VolumeBlobStore,
    r: &BlobRef,
    check_digest: bool,
) -> Result<Option<ItemProblem>, StoreError> {
    let found = |location: Option<BlobLocation>, problem| {
        Some(ItemProblem {
            blob: r.clone(),
            location,
            problem,
        })
    };
    let Some(loc) = blobs.locate(&r.digest)? else {
        return Ok(found(None, Problem::Missing));
    };
    let size = if loc.compressed || check_digest {
        match VolumeBlobStore::read_at(&loc) {
            Ok(raw) => {
                if check_digest {
                    let actual = digest_of(&raw);
                    if actual != r.digest {
                        return Ok(found(Some(loc), Problem::WrongDigest { actual }));
                    }
                }
                raw.len() as u64
            }
            Err(e) => return Ok(found(Some(loc), Problem::Unreadable(e.to_string()))),
        }
    } else {
        match std::fs::metadata(&loc.path) {
            Ok(m) => m.len(),
            Err(e) => return Ok(found(Some(loc), Problem::Unreadable(e.to_string()))),
        }
    };
    if size != r.size {
        return Ok(found(
            Some(loc),
            Problem::WrongSize {
                expected: r.size,
                actual: size,
            },
        ));
    }
    Ok(None)
}

/// Every mailbox id with its account's `zimbraId` text in the SQLite store database at
/// `db_path`; see [`mailbox_accounts_on`].
///
/// # Errors
/// Database errors.
pub async fn mailbox_accounts(db_path: &Path) -> Result<Vec<(i64, String)>, StoreError> {
    let pool = crate::schema::open_pool(db_path).await?;
    let rows = mailbox_accounts_on(&pool).await;
    pool.close().await;
    rows
}

/// Every mailbox id with its account's `zimbraId` text in the metadata database
/// `pool`, for tools that repair through [`crate::Store::mailbox`].
///
/// # Errors
/// Database errors.
pub async fn mailbox_accounts_on(pool: &crate::db::Db) -> Result<Vec<(i64, String)>, StoreError> {
    sqlx::query_as("SELECT id, account_id FROM mailbox ORDER BY id")
        .fetch_all(pool)
        .await
        .db("list mailboxes")
}
