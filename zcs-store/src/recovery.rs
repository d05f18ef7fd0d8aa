//! Crash recovery at open: replaying the redo log records the metadata database missed.
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
use crate::blob::Blobs;
use crate::error::{DbContext, StoreError};
use crate::redo::{RedoOp, RedoRecord};
use crate::store::release_blobs;
use crate::types::RecoveryReport;

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
