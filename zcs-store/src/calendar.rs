//! Appointments and tasks on a [`Mailbox`]: saved whole as their VCALENDAR (RFC 5545),
//! found by id, by UID or by time range. Parsing is `crate::cal_parse`'s job.
//!
//! An appointment (VEVENT) lives in a folder of view `appointment` (Calendar 10), a
//! task (VTODO) in one of view `task` (Tasks 15); Trash holds either. The UID is
//! unique per mailbox: saving a VCALENDAR whose UID exists replaces that item.
//! Deleting goes through [`Mailbox::delete_items`].

use sqlx::Row;
use sqlx::any::AnyRow;
use zcs_core::{Flags, ItemId, ItemKind};

use crate::cal_parse;
use crate::error::{DbContext, StoreError};
use crate::item_types::{CalInstance, CalItem};
use crate::mailbox::Mailbox;
use crate::redo::RedoOp;
use crate::redo::codec_items::CalItemRecord;

/// The largest VCALENDAR accepted, in bytes.
const MAX_ICAL_LEN: usize = 1 << 20;

const CAL_COLUMNS: &str = "id, type, folder_id, flags, uid, ical, summary, start_ms, end_ms, \
                           recurring, organizer, attendees, modseq";

fn cal_from_row(r: &AnyRow) -> Result<CalItem, StoreError> {
    let get = |n: &'static str| r.try_get::<i64, _>(n).db("read calendar row");
    let attendees: String = r.try_get("attendees").db("read calendar row")?;
    Ok(CalItem {
        id: ItemId(get("id")? as i32),
        kind: ItemKind::from_code(get("type")? as u8).unwrap_or(ItemKind::Appointment),
        folder: ItemId(get("folder_id")? as i32),
        flags: Flags(get("flags")? as u32),
        uid: r.try_get("uid").db("read calendar row")?,
        summary: r.try_get("summary").db("read calendar row")?,
        start_ms: r.try_get("start_ms").db("read calendar row")?,
        end_ms: r.try_get("end_ms").db("read calendar row")?,
        recurring: get("recurring")? != 0,
        organizer: r.try_get("organizer").db("read calendar row")?,
        attendees: attendees
            .split('\n')
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect(),
        ical: r.try_get("ical").db("read calendar row")?,
        modseq: get("modseq")?,
    })
}

/// Whether an instance overlaps `[start, end)`; a zero-length one counts when it
/// starts inside the range.
fn overlaps(s: i64, e: i64, start: i64, end: i64) -> bool {
    if s == e {
        s >= start && s < end
    } else {
        s < end && e > start
    }
}

impl Mailbox {
    /// Saves a VCALENDAR into `folder`: a new appointment or task, or, when an item
    /// with the same UID exists, a replacement of it (same id, moved to `folder`).
    /// Durable on return.
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` when the text is not a VCALENDAR with a VEVENT or
    /// VTODO that has a UID (or is over 1 MiB); `mail.NO_SUCH_FOLDER`;
    /// `mail.CANNOT_CONTAIN` when the folder's view does not fit (a task in a calendar).
    pub async fn save_cal_item(&self, folder: ItemId, ical: &str) -> Result<CalItem, StoreError> {
        if ical.len() > MAX_ICAL_LEN {
            return Err(StoreError::InvalidRequest("VCALENDAR too large".into()));
        }
        // Parsing and RRULE expansion is CPU work (bounded in cal_parse); keep it off
        // the async workers so one upload never stalls other users' requests.
        let text = ical.to_string();
        let summary = tokio::task::spawn_blocking(move || cal_parse::summarize(&text))
            .await
            .map_err(|e| StoreError::Internal(format!("summary task failed: {e}")))?
            .map_err(|e| StoreError::InvalidRequest(format!("bad VCALENDAR: {e}")))?;
        let (kind, view) = if summary.is_task {
            (ItemKind::Task, "task")
        } else {
            (ItemKind::Appointment, "appointment")
        };
        let ical = ical.to_string();
        let id = self
            .locked(move |mb| async move {
                mb.check_view_folder(folder, view).await?;
                let existing = mb.cal_item_by_uid(&summary.uid).await?;
                let before = existing.as_ref().map_or(0, |o| o.ical.len() as u64);
                mb.check_quota((ical.len() as u64).saturating_sub(before))
                    .await?;
                let st = mb.state().await?;
                let (id, flags) = match existing {
                    Some(old) => (old.id.0, old.flags.0),
                    None => (st.item_id + 1, 0),
                };
                mb.commit(RedoOp::PutCalItem(CalItemRecord {
                    change: st.change + 1,
                    id,
                    folder: folder.0,
                    kind: kind.code(),
                    flags,
                    ical,
                }))
                .await?;
                Ok(ItemId(id))
            })
            .await?;
        self.cal_item(id).await
    }

    /// One appointment or task by id; `mail.NO_SUCH_ITEM` when absent.
    pub async fn cal_item(&self, id: ItemId) -> Result<CalItem, StoreError> {
        self.check_maintenance()?;
        let sql = format!("SELECT {CAL_COLUMNS} FROM cal_item WHERE mailbox_id = ? AND id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(self.id().0)
            .bind(id.0)
            .fetch_optional(&self.inner.pool)
            .await
            .db("read calendar item")?;
        row.as_ref()
            .map(cal_from_row)
            .transpose()?
            .ok_or_else(|| StoreError::NoSuchItem(id.to_string()))
    }

    /// The appointment or task with iCalendar UID `uid`, if any.
    pub async fn cal_item_by_uid(&self, uid: &str) -> Result<Option<CalItem>, StoreError> {
        self.check_maintenance()?;
        let sql = format!("SELECT {CAL_COLUMNS} FROM cal_item WHERE mailbox_id = ? AND uid = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(self.id().0)
            .bind(uid)
            .fetch_optional(&self.inner.pool)
            .await
            .db("read calendar item")?;
        row.as_ref().map(cal_from_row).transpose()
    }

    /// The appointments and tasks of `folder`, by id.
    pub async fn cal_items(&self, folder: ItemId) -> Result<Vec<CalItem>, StoreError> {
        self.check_maintenance()?;
        let sql = format!(
            "SELECT {CAL_COLUMNS} FROM cal_item WHERE mailbox_id = ? AND folder_id = ? ORDER BY id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(self.id().0)
            .bind(folder.0)
            .fetch_all(&self.inner.pool)
            .await
            .db("list calendar items")?;
        rows.iter().map(cal_from_row).collect()
    }

    /// The instances overlapping `[start_ms, end_ms)` of the calendar items in `folder`
    /// (every folder when `None`), by start time: one per non-recurring item, and the
    /// expanded occurrences of recurring ones (RRULE/RDATE minus EXDATE, overrides
    /// applied, by calcard). Items without a start are left out.
    ///
    /// Cost: an index range scan, plus a parse and expansion per recurring candidate.
    /// LIMITATION: an unbounded rule is expanded up to 5000 instances from DTSTART.
    pub async fn cal_instances(
        &self,
        folder: Option<ItemId>,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<CalInstance>, StoreError> {
        self.check_maintenance()?;
        let sql = format!(
            "SELECT {CAL_COLUMNS} FROM cal_item WHERE mailbox_id = ? AND start_ms IS NOT NULL
             AND start_ms < ? AND (end_ms IS NULL OR end_ms >= ?)
             AND (? IS NULL OR folder_id = ?) ORDER BY start_ms, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(self.id().0)
            .bind(end_ms)
            .bind(start_ms)
            .bind(folder.map(|f| f.0))
            .bind(folder.map(|f| f.0))
            .fetch_all(&self.inner.pool)
            .await
            .db("query calendar range")?;
        let mut out = Vec::new();
        for row in &rows {
            let item = cal_from_row(row)?;
            if item.recurring {
                let ical = item.ical.clone();
                let inst = tokio::task::spawn_blocking(move || cal_parse::instances(&ical))
                    .await
                    .map_err(|e| StoreError::Internal(format!("expand task failed: {e}")))?;
                for (s, e) in inst {
                    if overlaps(s, e, start_ms, end_ms) {
                        out.push(CalInstance {
                            item: item.id,
                            start_ms: s,
                            end_ms: e,
                        });
                    }
                }
            } else if let Some(s) = item.start_ms {
                let e = item.end_ms.unwrap_or(s);
                if overlaps(s, e, start_ms, end_ms) {
                    out.push(CalInstance {
                        item: item.id,
                        start_ms: s,
                        end_ms: e,
                    });
                }
            }
        }
        out.sort_by_key(|i| (i.start_ms, i.item));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::overlaps;

    #[test]
    fn overlap_rules() {
        assert!(overlaps(10, 20, 0, 11));
        assert!(!overlaps(10, 20, 20, 30));
        assert!(!overlaps(10, 20, 0, 10));
        assert!(overlaps(10, 10, 10, 11));
        assert!(!overlaps(10, 10, 0, 10));
    }
}
