//! What a mailbox uses against `zimbraMailQuota` and the check every growing change
//! makes (spec 02 §1.14: the quota counts mail, contacts, calendars, tasks and Briefcase
//! files, not mail alone).
//!
//! Usage is the size of every message (a message copied twice counts twice, as in
//! Zimbra, though its blob is stored once), plus every kept document revision, plus the
//! stored text of contacts (their fields and members) and of appointments and tasks
//! (the VCALENDAR). Items in the dumpster do not count, as in Zimbra. The quota itself
//! travels on the handle ([`Mailbox::with_quota`]); 0 enforces none.

use crate::error::{DbContext, StoreError};
use crate::mailbox::Mailbox;

/// Bytes of the mailbox's items other than messages: document revisions, contacts,
/// appointments and tasks. `LENGTH` counts characters on SQLite and PostgreSQL and
/// bytes on MariaDB; the difference is non-ASCII text only.
const OTHER_USAGE: &str = "SELECT
    (SELECT COALESCE(SUM(size), 0) FROM revision WHERE mailbox_id = ?1)
  + (SELECT COALESCE(SUM(LENGTH(fields) + LENGTH(members)), 0) FROM contact
     WHERE mailbox_id = ?1)
  + (SELECT COALESCE(SUM(LENGTH(ical)), 0) FROM cal_item WHERE mailbox_id = ?1)";

impl Mailbox {
    /// Bytes the mailbox uses against its quota: messages, document revisions,
    /// contacts, appointments and tasks (see the module doc).
    ///
    /// Cost: one sum over the folder rows and three over the mailbox's documents,
    /// contacts and calendar items.
    ///
    /// # Errors
    /// Database errors.
    pub async fn quota_usage(&self) -> Result<u64, StoreError> {
        let messages = self.size_and_count().await?.0;
        let other: i64 = sqlx::query_scalar(OTHER_USAGE)
            .bind(self.id().0)
            .fetch_one(&self.inner.pool)
            .await
            .db("sum item sizes")?;
        Ok(messages.saturating_add(other.max(0) as u64))
    }

    /// [`StoreError::QuotaExceeded`] when adding `adding` bytes would take the mailbox
    /// past this handle's quota (caller holds the lock, so the usage cannot move).
    pub(crate) async fn check_quota(&self, adding: u64) -> Result<(), StoreError> {
        let quota = self.quota();
        if quota == 0 || adding == 0 {
            return Ok(());
        }
        let used = self.quota_usage().await?;
        if used.saturating_add(adding) > quota {
            tracing::info!(mailbox = self.id().0, quota, used, adding, "over quota");
            return Err(StoreError::QuotaExceeded {
                quota,
                used,
                adding,
            });
        }
        Ok(())
    }
}

/// The bytes a contact with `fields` and `members` (kind code, value, as the redo
/// record holds them) takes against the quota: the length of the JSON the database
/// keeps (`crate::apply_contacts::put_contact`), as [`Mailbox::quota_usage`] counts it.
pub(crate) fn contact_size(fields: &[(String, String)], members: &[(u8, String)]) -> u64 {
    let members: Vec<(String, &str)> = members
        .iter()
        .map(|(k, v)| ((*k as char).to_string(), v.as_str()))
        .collect();
    let f = serde_json::to_string(fields).map_or(0, |s| s.len());
    let m = serde_json::to_string(&members).map_or(0, |s| s.len());
    (f + m) as u64
}
