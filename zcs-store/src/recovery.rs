//! Crash recovery at open: rewriting blob files an unclean stop tore from their redo
//! frames, then replaying the redo log records the metadata database missed.
//!
//! In charge of: deciding for each logged record past the database's checkpoint whether it
//! must be applied again (its mailbox's `last_redo_seq` says whether it already was; a
//! deleted or unknown mailbox skips it; aborted records are skipped), applying it in its own
//! transaction, releasing the blobs replayed deletes freed once replay is over, counting
//! messages left without a blob, and recording the new checkpoint. The outcome is counted
//! in a [`RecoveryReport`]; a record that fails to apply is logged and skipped, not fatal.

use std::collections::HashSet;
use std::sync::Arc;

use crate::apply;
use crate::blob::{Blobs, digest_of};
use crate::error::{DbContext, StoreError};
use crate::redo::{BlobFrame, RedoOp, RedoRecord};
use crate::store::release_blobs;
use crate::types::RecoveryReport;

/// Checks the blob file of each frame in `frames` (ranges into `log`, the bytes of
/// `redo.log`) against the frame and rewrites a missing, torn or different one from it,
/// durably. Returns the digests rewritten. Blocking: run before the store serves.
/// Cost: a read of every blob the frames stand for (only frames past the clean-close
/// marker are passed, see `crate::redo::blob_sync`).
pub(crate) fn restore_logged_blobs(
    blobs: &Blobs,
    log: &[u8],
    frames: &[BlobFrame],
) -> Result<Vec<String>, StoreError> {
    let mut restored = Vec::new();
    for frame in frames {
        let Some(raw) = log.get(frame.bytes.clone()) else {
            continue;
        };
        if matches!(blobs.read(&frame.digest), Ok(on_disk) if on_disk == raw) {
            continue;
        }
        if digest_of(raw) != frame.digest {
            // The frame passed its CRC, so this is a writer bug, not a torn write:
            // never replace a file with bytes that do not match the name.
            tracing::error!(
                digest = frame.digest.as_str(),
                "redo blob frame does not match its digest; blob left as it is"
            );
            continue;
        }
        blobs.remove_for_rewrite(&frame.digest)?;
        blobs.write(&frame.digest, raw)?;
        tracing::warn!(
            digest = frame.digest.as_str(),
            "blob file torn or missing after an unclean stop; rewritten from the redo log"
        );
        restored.push(frame.digest.clone());
    }
    Ok(restored)
}

/// Of the blobs [`restore_logged_blobs`] rewrote, removes again those no row references
/// once replay is over (a message deleted before the stop) and returns how many stay.
pub(crate) async fn keep_referenced(
    pool: &crate::db::Db,
    blobs: &Arc<Blobs>,
    restored: Vec<String>,
) -> usize {
    let mut kept = 0;
    for digest in restored {
        let refs: i64 = match sqlx::query_scalar(crate::store::BLOB_REFS)
            .bind(&digest)
            .fetch_one(pool)
            .await
        {
            Ok(n) => n,
            Err(e) => {
                // Kept: a blob too many is swept later, a blob too few loses mail.
                tracing::warn!(error = %e, "could not count a rewritten blob's references");
                1
            }
        };
        if refs == 0 {
            release_blobs(pool, blobs, vec![digest]).await;
        } else {
            kept += 1;
        }
    }
    kept
}

/// Re-applies the records the database missed. Returns the highest sequence known
/// (log or database), which the writer continues after.
pub(crate) async fn replay(
    pool: &crate::db::Db,
    blobs: &Arc<Blobs>,
    records: &[RedoRecord],
    report: &mut RecoveryReport,
) -> Result<u64, StoreError> {
    let (checkpoint, high): (i64, i64) =
        sqlx::query_as("SELECT redo_checkpoint, redo_high_seq FROM store_state WHERE id = 1")
            .fetch_one(pool)
            .await
            .db("read redo checkpoint")?;
    let checkpoint = checkpoint.max(0) as u64;
    let pending: Vec<&RedoRecord> = records.iter().filter(|r| r.seq > checkpoint).collect();
    let aborted: HashSet<u64> = pending
        .iter()
        .filter_map(|r| match r.op {
            RedoOp::Abort { seq } => Some(seq),
            _ => None,
        })
        .collect();

    // Blobs released by replayed deletes are only removed at the end: a later record
    // may reference the same content again (it was re-written on disk when it was).
    let mut released = Vec::new();
    let mut unbacked = Vec::new();
    for rec in pending {
        if matches!(rec.op, RedoOp::Abort { .. }) || aborted.contains(&rec.seq) {
            report.skipped += 1;
            continue;
        }
        match needs_replay(pool, rec).await? {
            Replay::Apply => {}
            Replay::AlreadyApplied => {
                report.already_applied += 1;
                continue;
            }
            Replay::Skip => {
                report.skipped += 1;
                continue;
            }
        }
        let written = match &rec.op {
            RedoOp::CreateMessage { digest, id, .. } => Some((digest, *id)),
            RedoOp::ReplaceMessage(m) => Some((&m.digest, m.id)),
            _ => None,
        };
        if let Some((digest, id)) = written
            && !blobs.exists(digest)
        {
            // Normal when a later record deletes the item or rewrites it (its blob
            // went with it); checked again once replay is over.
            unbacked.push((rec.mailbox, id, digest.clone(), rec.seq));
        }
        let mut tx = pool.begin().await.db("begin replay")?;
        match apply::apply(&mut tx, rec, rec.seq).await {
            Ok(applied) => {
                tx.commit().await.db("commit replay")?;
                report.replayed += 1;
                released.extend(applied.released);
            }
            Err(e) => {
                drop(tx);
                tracing::error!(seq = rec.seq, mailbox = rec.mailbox.0, error = %e,
                    "redo record failed to replay; skipped");
                report.failed += 1;
            }
        }
    }

    released.sort();
    released.dedup();
    release_blobs(pool, blobs, released).await;
    for (mailbox, id, digest, seq) in unbacked {
        let still: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM mail_item WHERE mailbox_id = ? AND id = ? AND blob_digest = ?",
        )
        .bind(mailbox.0)
        .bind(id)
        .bind(&digest)
        .fetch_optional(pool)
        .await
        .db("check replayed message")?;
        if still.is_some() {
            tracing::error!(
                seq,
                mailbox = mailbox.0,
                item = id,
                "replayed message has no blob"
            );
            report.missing_blobs += 1;
        }
    }

    let last = records
        .iter()
        .map(|r| r.seq)
        .max()
        .unwrap_or(0)
        .max(high.max(0) as u64)
        .max(checkpoint);
    sqlx::query(
        "UPDATE store_state SET redo_checkpoint = MAX(redo_checkpoint, ?),
            redo_high_seq = MAX(redo_high_seq, ?) WHERE id = 1",
    )
    .bind(last as i64)
    .bind(last as i64)
    .execute(pool)
    .await
    .db("record replay checkpoint")?;
    Ok(last)
}

enum Replay {
    Apply,
    AlreadyApplied,
    Skip,
}

async fn needs_replay(pool: &crate::db::Db, rec: &RedoRecord) -> Result<Replay, StoreError> {
    let last: Option<i64> = sqlx::query_scalar("SELECT last_redo_seq FROM mailbox WHERE id = ?")
        .bind(rec.mailbox.0)
        .fetch_optional(pool)
        .await
        .db("read mailbox redo sequence")?;
    let deleted: Option<i64> = sqlx::query_scalar("SELECT id FROM deleted_mailbox WHERE id = ?")
        .bind(rec.mailbox.0)
        .fetch_optional(pool)
        .await
        .db("read deleted mailboxes")?;
    Ok(match (&rec.op, last, deleted) {
        (_, _, Some(_)) => Replay::Skip,
        (RedoOp::CreateMailbox { .. }, None, None) => Replay::Apply,
        (RedoOp::CreateMailbox { .. }, Some(_), None) => Replay::AlreadyApplied,
        (_, None, None) => {
            tracing::warn!(
                seq = rec.seq,
                mailbox = rec.mailbox.0,
                "redo record for a mailbox the database does not know; skipped"
            );
            Replay::Skip
        }
        (_, Some(l), None) if l >= rec.seq as i64 => Replay::AlreadyApplied,
        _ => Replay::Apply,
    })
}
