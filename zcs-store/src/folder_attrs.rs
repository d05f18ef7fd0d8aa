//! Folder attributes beyond name, view and colour: Zimbra's folder flags (`#` checked,
//! `b` exclude from free/busy, `*` subscribed, `i` no inherit, `y` sync folder, `~`
//! sync), the feed or remote calendar `url`, a calendar mountpoint's shared `reminder`
//! (EnableSharedReminder), the feed items a subscription sync already imported, and
//! changing a user folder's default view (Zimbra's SetFolderDefaultView).
//!
//! Kept in columns of `folder` (and of `folder_link` for mountpoints and search
//! folders, all but the feed list) and changed by redo records, so replay, backups and
//! restores carry them: `SetFolderAttrs` sets flags, url and reminder whole (the folder
//! takes the change number, its items do not), `SetFolderView` the view, `FeedSeen`
//! adds to the remembered feed items (no change number: clients never see them).

use std::collections::HashMap;

use sqlx::Row;
use zcs_core::{Flags, ItemId, MailboxId};

use crate::db::DbConn;
use crate::error::{DbContext, StoreError};
use crate::folder_view::FOLDER_VIEWS;
use crate::mailbox::Mailbox;
use crate::redo::RedoOp;

/// How many imported feed item keys a folder remembers; the oldest are forgotten.
pub const MAX_FEED_SEEN: usize = 2000;

/// Longest feed or calendar URL kept (bytes).
const MAX_URL_LEN: usize = 4096;

/// Longest feed item key kept (bytes); longer keys are cut on a character boundary.
const MAX_KEY_LEN: usize = 1024;

/// The attributes of one folder, mountpoint or search folder.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FolderAttrs {
    /// Folder flag bits, only those of [`FolderAttrs::FLAG_MASK`].
    pub flags: Flags,
    /// The feed or remote calendar URL; empty for none.
    pub url: String,
    /// EnableSharedReminder on a calendar mountpoint.
    pub reminder: bool,
}

impl FolderAttrs {
    /// The flags Zimbra lets a client set on a folder: subscribed `*`, exclude from
    /// free/busy `b`, checked `#`, no inherit `i`, sync folder `y`, sync `~`.
    pub const FLAG_MASK: u32 = Flags::SUBSCRIBED
        | Flags::EXCLUDE_FREEBUSY
        | Flags::CHECKED
        | Flags::NO_INHERIT
        | Flags::SYNC_FOLDER
        | Flags::SYNC;

    /// Whether this is what a folder has when nothing was set.
    pub fn is_default(&self) -> bool {
        *self == FolderAttrs::default()
    }

    fn from_row(r: &sqlx::any::AnyRow, at: usize) -> Result<FolderAttrs, StoreError> {
        let flags: i64 = r.try_get(at).db("read folder attributes")?;
        let url: String = r.try_get(at + 1).db("read folder attributes")?;
        let reminder: i64 = r.try_get(at + 2).db("read folder attributes")?;
        Ok(FolderAttrs {
            flags: Flags(u32::try_from(flags).unwrap_or(0) & Self::FLAG_MASK),
            url,
            reminder: reminder != 0,
        })
    }
}

/// Applies `SetFolderAttrs` inside the caller's transaction (a folder row, else a
/// mountpoint or search folder row); a missing folder is skipped with a warning, as
/// everywhere in `crate::apply`.
pub(crate) async fn apply_attrs(
    conn: &mut DbConn,
    mb: MailboxId,
    change: i64,
    id: i32,
    attrs: &FolderAttrs,
) -> Result<(), StoreError> {
    let mut touched = 0;
    for table in ["folder", "folder_link"] {
        let sql = format!(
            "UPDATE {table} SET flags = ?, url = ?, reminder = ?, modseq = MAX(modseq, ?)
             WHERE mailbox_id = ? AND id = ?"
        );
        touched = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(i64::from(attrs.flags.0 & FolderAttrs::FLAG_MASK))
            .bind(attrs.url.as_str())
            .bind(i64::from(attrs.reminder))
            .bind(change)
            .bind(mb.0)
            .bind(id)
            .execute(&mut *conn)
            .await
            .db("set folder attributes")?
            .rows_affected();
        if touched > 0 {
            break;
        }
    }
    if touched == 0 {
        tracing::warn!(
            mailbox = mb.0,
            folder = id,
            "attribute change of a missing folder skipped"
        );
    }
    Ok(())
}

/// Applies `SetFolderView` inside the caller's transaction.
pub(crate) async fn apply_view(
    conn: &mut DbConn,
    mb: MailboxId,
    change: i64,
    id: i32,
    view: &str,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE folder SET view = ?, modseq = MAX(modseq, ?) WHERE mailbox_id = ? AND id = ?",
    )
    .bind(view)
    .bind(change)
    .bind(mb.0)
    .bind(id)
    .execute(&mut *conn)
    .await
    .db("set folder view")?;
    if done.rows_affected() == 0 {
        tracing::warn!(
            mailbox = mb.0,
            folder = id,
            "view change of a missing folder skipped"
        );
    }
    Ok(())
}

/// Applies `FeedSeen` inside the caller's transaction: the folder's list gains `keys`
/// not already in it (after emptying it with `reset`), the oldest beyond
/// [`MAX_FEED_SEEN`] dropped.
pub(crate) async fn apply_feed_seen(
    conn: &mut DbConn,
    mb: MailboxId,
    folder: i32,
    reset: bool,
    keys: &[String],
) -> Result<(), StoreError> {
    let Some(text) = sqlx::query_scalar::<_, String>(
        "SELECT feed_seen FROM folder WHERE mailbox_id = ? AND id = ?",
    )
    .bind(mb.0)
    .bind(folder)
    .fetch_optional(&mut *conn)
    .await
    .db("read feed items")?
    else {
        tracing::warn!(
            mailbox = mb.0,
            folder,
            "feed items of a missing folder skipped"
        );
        return Ok(());
    };
    let mut seen = if reset { Vec::new() } else { parse_seen(&text) };
    for k in keys {
        if !seen.contains(k) {
            seen.push(k.clone());
        }
    }
    if seen.len() > MAX_FEED_SEEN {
        let extra = seen.len() - MAX_FEED_SEEN;
        seen.drain(..extra);
    }
    let text = if seen.is_empty() {
        String::new()
    } else {
        serde_json::to_string(&seen)
            .map_err(|e| StoreError::Internal(format!("encode feed items: {e}")))?
    };
    sqlx::query("UPDATE folder SET feed_seen = ? WHERE mailbox_id = ? AND id = ?")
        .bind(text)
        .bind(mb.0)
        .bind(folder)
        .execute(&mut *conn)
        .await
        .db("save feed items")?;
    Ok(())
}

/// The list a `feed_seen` column holds; an unreadable value reads as empty (the next
/// sync imports those items again rather than failing).
fn parse_seen(text: &str) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    serde_json::from_str(text).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "unreadable feed item list ignored");
        Vec::new()
    })
}

/// `key` cut to [`MAX_KEY_LEN`] bytes on a character boundary.
fn clip_key(key: &str) -> String {
    let mut end = key.len().min(MAX_KEY_LEN);
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    key[..end].to_string()
}

impl Mailbox {
    /// The attributes of folder, mountpoint or search folder `id`.
    ///
    /// # Errors
    /// `mail.NO_SUCH_FOLDER`.
    pub async fn folder_attrs(&self, id: ItemId) -> Result<FolderAttrs, StoreError> {
        self.check_maintenance()?;
        let row = sqlx::query(
            "SELECT flags, url, reminder FROM folder WHERE mailbox_id = ?1 AND id = ?2
             UNION ALL SELECT flags, url, reminder FROM folder_link
             WHERE mailbox_id = ?1 AND id = ?2",
        )
        .bind(self.id().0)
        .bind(id.0)
        .fetch_optional(&self.inner.pool)
        .await
        .db("read folder attributes")?
        .ok_or_else(|| StoreError::no_such_folder(id))?;
        FolderAttrs::from_row(&row, 0)
    }

    /// The attributes of every folder, mountpoint and search folder that has some
    /// (those with none set are absent), for listing a folder tree in one read.
    pub async fn all_folder_attrs(&self) -> Result<HashMap<ItemId, FolderAttrs>, StoreError> {
        self.check_maintenance()?;
        let rows = sqlx::query(
            "SELECT id, flags, url, reminder FROM folder
             WHERE mailbox_id = ?1 AND (flags <> 0 OR url <> '' OR reminder <> 0)
             UNION ALL SELECT id, flags, url, reminder FROM folder_link
             WHERE mailbox_id = ?1 AND (flags <> 0 OR url <> '' OR reminder <> 0)",
        )
        .bind(self.id().0)
        .fetch_all(&self.inner.pool)
        .await
        .db("read folder attributes")?;
        let mut out = HashMap::with_capacity(rows.len());
        for r in rows {
            let id: i64 = r.try_get(0).db("read folder attributes")?;
            let a = FolderAttrs::from_row(&r, 1)?;
            if !a.is_default() {
                out.insert(ItemId(id as i32), a);
            }
        }
        Ok(out)
    }

    /// Changes the attributes of folder, mountpoint or search folder `id` with `f`
    /// (read, changed and written under the mailbox lock, one change; flag bits
    /// outside [`FolderAttrs::FLAG_MASK`] are dropped). Nothing is logged when `f`
    /// changes nothing. Durable on return; returns the attributes after the change.
    ///
    /// # Errors
    /// `mail.NO_SUCH_FOLDER`; `service.INVALID_REQUEST` for a URL longer than 4096
    /// bytes.
    pub async fn update_folder_attrs<F>(&self, id: ItemId, f: F) -> Result<FolderAttrs, StoreError>
    where
        F: FnOnce(&mut FolderAttrs) + Send + 'static,
    {
        self.locked(move |mb| async move {
            let current = mb.folder_attrs(id).await?;
            let mut next = current.clone();
            f(&mut next);
            next.flags = Flags(next.flags.0 & FolderAttrs::FLAG_MASK);
            next.url = next.url.trim().to_string();
            if next.url.len() > MAX_URL_LEN {
                return Err(StoreError::InvalidRequest("folder url too long".into()));
            }
            if next == current {
                return Ok(next);
            }
            let st = mb.state().await?;
            mb.commit(RedoOp::SetFolderAttrs {
                change: st.change + 1,
                id: id.0,
                flags: next.flags.0,
                url: next.url.clone(),
                reminder: next.reminder,
            })
            .await?;
            Ok(next)
        })
        .await
    }

    /// Replaces the folder flags of `id` (bits outside [`FolderAttrs::FLAG_MASK`]
    /// dropped). As [`Mailbox::update_folder_attrs`].
    pub async fn set_folder_flags(
        &self,
        id: ItemId,
        flags: Flags,
    ) -> Result<FolderAttrs, StoreError> {
        self.update_folder_attrs(id, move |a| a.flags = flags).await
    }

    /// Sets the feed or remote calendar URL of `id` (empty removes it). As
    /// [`Mailbox::update_folder_attrs`].
    pub async fn set_folder_url(&self, id: ItemId, url: &str) -> Result<FolderAttrs, StoreError> {
        let url = url.to_string();
        self.update_folder_attrs(id, move |a| a.url = url).await
    }

    /// Sets whether calendar mountpoint `id` raises its appointments' reminders
    /// (EnableSharedReminder). As [`Mailbox::update_folder_attrs`].
    pub async fn set_mountpoint_reminder(
        &self,
        id: ItemId,
        on: bool,
    ) -> Result<FolderAttrs, StoreError> {
        self.update_folder_attrs(id, move |a| a.reminder = on).await
    }

    /// Changes the default view of user folder `id` (one change; the same view logs
    /// nothing). Durable on return.
    ///
    /// # Errors
    /// `mail.NO_SUCH_FOLDER`; [`StoreError::ImmutableFolder`] for a system folder, as
    /// Zimbra's `Folder.setDefaultView` refuses one (and as renaming one is refused);
    /// `service.INVALID_REQUEST` for a view not in [`FOLDER_VIEWS`].
    pub async fn set_folder_view(&self, id: ItemId, view: &str) -> Result<(), StoreError> {
        let v = view.trim();
        let view = FOLDER_VIEWS
            .iter()
            .find(|k| k.eq_ignore_ascii_case(v))
            .map(|k| k.to_string())
            .ok_or_else(|| StoreError::InvalidRequest(format!("invalid view: {v}")))?;
        self.locked(move |mb| async move {
            let folder = mb.folder(id).await?;
            if id.0 < ItemId::FIRST_USER_ID {
                return Err(StoreError::ImmutableFolder(id));
            }
            if folder.view == view {
                return Ok(());
            }
            let st = mb.state().await?;
            mb.commit(RedoOp::SetFolderView {
                change: st.change + 1,
                id: id.0,
                view,
            })
            .await
        })
        .await
    }

    /// The feed item keys (guids or links) a subscription sync of folder `id` already
    /// imported, oldest first; empty for a mountpoint or search folder.
    ///
    /// # Errors
    /// Database faults only.
    pub async fn feed_seen(&self, id: ItemId) -> Result<Vec<String>, StoreError> {
        self.check_maintenance()?;
        let text: Option<String> =
            sqlx::query_scalar("SELECT feed_seen FROM folder WHERE mailbox_id = ? AND id = ?")
                .bind(self.id().0)
                .bind(id.0)
                .fetch_optional(&self.inner.pool)
                .await
                .db("read feed items")?;
        Ok(text.map(|t| parse_seen(&t)).unwrap_or_default())
    }

    /// Remembers `keys` as imported into folder `id` (one record for all, keys cut to
    /// 1024 bytes; `reset` forgets the earlier ones first, as a new URL does) and
    /// returns those of `keys` that were not remembered before, in order, without
    /// repeats. Keeps the newest [`MAX_FEED_SEEN`].
    ///
    /// # Errors
    /// `mail.NO_SUCH_FOLDER` when `id` is not a folder.
    pub async fn mark_feed_seen(
        &self,
        id: ItemId,
        keys: Vec<String>,
        reset: bool,
    ) -> Result<Vec<String>, StoreError> {
        self.locked(move |mb| async move {
            mb.folder(id).await?;
            let before = if reset {
                Vec::new()
            } else {
                mb.feed_seen(id).await?
            };
            let mut fresh: Vec<String> = Vec::new();
            for k in keys {
                let k = clip_key(&k);
                if !before.contains(&k) && !fresh.contains(&k) {
                    fresh.push(k);
                }
            }
            if fresh.is_empty() && !reset {
                return Ok(fresh);
            }
            mb.commit(RedoOp::FeedSeen {
                folder: id.0,
                reset,
                keys: fresh.clone(),
            })
            .await?;
            Ok(fresh)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_cut_on_char_boundaries() {
        let long = "é".repeat(MAX_KEY_LEN);
        let k = clip_key(&long);
        assert!(k.len() <= MAX_KEY_LEN && k.chars().all(|c| c == 'é'));
        assert_eq!(clip_key("abc"), "abc");
        assert!(parse_seen("not json").is_empty());
        assert_eq!(parse_seen("[\"a\",\"b\"]"), vec!["a", "b"]);
    }

    #[test]
    fn the_mask_is_the_six_folder_flags() {
        assert_eq!(Flags(FolderAttrs::FLAG_MASK).to_soap().len(), 6);
        assert!(FolderAttrs::default().is_default());
    }
}
