//! [`Mailbox`]: the handle every front end uses on one account's mailbox; this file holds
//! the handle itself, folder operations and the mailbox-wide reads. Message operations
//! are in `crate::messages`.
//!
//! Changes run under the mailbox's lock (ids and change numbers are decided there) and
//! through `Inner::log_and_apply`; reads go straight to the database.

use std::sync::Arc;

use sqlx::Row;
use tokio::sync::Mutex as AsyncMutex;
use zcs_core::{ChangeNumber, ItemId, MailboxId, ZimbraId, folder};

use crate::apply::uid_validity;
use crate::error::{DbContext, StoreError};
use crate::item_types::MailboxSettings;
use crate::parse;
use crate::redo::RedoOp;
use crate::rows::{self, FolderRow};
use crate::store::{Inner, spawn};
use crate::types::{Folder, Tombstone};

/// A cheap handle on one account's mailbox. Clones share the store.
///
/// A handle may carry a quota ([`Mailbox::with_quota`]): then appends and copies that
/// would take the mailbox past it fail with [`StoreError::QuotaExceeded`]. The store
/// does not read the directory; the caller passes the account's effective
/// `zimbraMailQuota`. Handles from [`crate::Store::mailbox`] carry none, which is what
/// restores and system mailboxes (spam training) want.
#[derive(Clone)]
pub struct Mailbox {
    pub(crate) inner: Arc<Inner>,
    id: MailboxId,
    account: ZimbraId,
    lock: Arc<AsyncMutex<()>>,
    quota: u64,
    settings: MailboxSettings,
}

/// The counters a change is planned from, read under the mailbox lock.
pub(crate) struct MailboxState {
    /// The last item id handed out.
    pub item_id: i32,
    /// The current change number.
    pub change: i64,
    pub uid_validity_base: u32,
    /// The last tag id handed out below `crate::apply_tags::TAG_ID_LIMIT`.
    pub tag_id: i32,
}

impl Mailbox {
    pub(crate) fn new(inner: Arc<Inner>, id: MailboxId, account: ZimbraId) -> Mailbox {
        let lock = inner.lock_for(id);
        Mailbox {
            inner,
            id,
            account,
            lock,
            quota: 0,
            settings: MailboxSettings::default(),
        }
    }

    /// This handle with the account settings `settings` (threading, dumpster, contact
    /// and revision limits); the quota stays as it is.
    pub fn with_settings(&self, settings: MailboxSettings) -> Mailbox {
        Mailbox {
            settings,
            ..self.clone()
        }
    }

    /// The account settings this handle applies.
    pub fn settings(&self) -> &MailboxSettings {
        &self.settings
    }

    /// [`StoreError::Maintenance`] while the mailbox is in maintenance mode.
    pub(crate) fn check_maintenance(&self) -> Result<(), StoreError> {
        if self.inner.in_maintenance(self.account) {
            return Err(StoreError::Maintenance(self.account.to_string()));
        }
        Ok(())
    }

    /// This handle with a quota of `bytes` (`zimbraMailQuota`; 0 is unlimited).
    pub fn with_quota(&self, bytes: u64) -> Mailbox {
        Mailbox {
            quota: bytes,
            ..self.clone()
        }
    }

    /// The quota this handle enforces in bytes; 0 when it enforces none.
    pub fn quota(&self) -> u64 {
        self.quota
    }

    /// The mailbox's numeric id on this server.
    pub fn id(&self) -> MailboxId {
        self.id
    }

    /// The account owning the mailbox.
    pub fn account(&self) -> ZimbraId {
        self.account
    }

    /// The lock serializing changes to this mailbox.
    pub(crate) fn lock_handle(&self) -> Arc<AsyncMutex<()>> {
        self.lock.clone()
    }

    /// Runs `f` in its own task while holding this mailbox's lock.
    pub(crate) async fn locked<T, F, Fut>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Mailbox) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let mb = self.clone();
        spawn(async move {
            let _guard = mb.lock.clone().lock_owned().await;
            mb.check_maintenance()?;
            f(mb).await
        })
        .await
    }

    /// Reads the counters; [`StoreError::NoSuchMailbox`] once the mailbox is deleted.
    pub(crate) async fn state(&self) -> Result<MailboxState, StoreError> {
        self.check_maintenance()?;
        let row = sqlx::query(
            "SELECT item_id_checkpoint, change_checkpoint, uid_validity_base, tag_id_checkpoint
             FROM mailbox WHERE id = ?",
        )
        .bind(self.id.0)
        .fetch_optional(&self.inner.pool)
        .await
        .db("read mailbox state")?
        .ok_or_else(|| StoreError::NoSuchMailbox(self.account.to_string()))?;
        Ok(MailboxState {
            item_id: row.try_get::<i64, _>(0).db("read mailbox state")? as i32,
            change: row.try_get(1).db("read mailbox state")?,
            uid_validity_base: row.try_get::<i64, _>(2).db("read mailbox state")? as u32,
            tag_id: row.try_get::<i64, _>(3).db("read mailbox state")? as i32,
        })
    }

    /// Logs and applies one op for this mailbox (caller holds the lock).
    pub(crate) async fn commit(&self, op: RedoOp) -> Result<(), StoreError> {
        self.inner.log_and_apply(self.id, op).await
    }

    /// Every folder row (see [`rows::load_folders`]) and the mailbox's next item id, read
    /// together. Costs a read of every folder: single-folder paths use [`Mailbox::folder`]
    /// and [`Mailbox::check_folder_place`] instead.
    pub(crate) async fn folder_rows(
        &self,
    ) -> Result<(std::collections::HashMap<i32, FolderRow>, u32), StoreError> {
        self.check_maintenance()?;
        let mut tx = self.inner.pool.begin().await.db("begin read")?;
        let next = self.next_item_id(&mut tx).await?;
        let folders = rows::load_folders(&mut tx, self.id).await?;
        tx.commit().await.db("end read")?;
        Ok((folders, next))
    }

    /// Every folder, system ones included, sorted by path. The hidden ROOT (11) and
    /// USER_ROOT (1) are left out; [`Mailbox::folder`] still answers for them.
    pub async fn folders(&self) -> Result<Vec<Folder>, StoreError> {
        let (all, next) = self.folder_rows().await?;
        let mut out: Vec<Folder> = all
            .values()
            .filter(|f| f.id != folder::ROOT && f.id != folder::USER_ROOT)
            .map(|f| rows::folder_of(&all, f, next))
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// One folder by id; [`StoreError::NoSuchFolder`] when absent. Reads the folder and
    /// its parent chain only, whatever the number of folders.
    pub async fn folder(&self, id: ItemId) -> Result<Folder, StoreError> {
        self.check_maintenance()?;
        let mut tx = self.inner.pool.begin().await.db("begin read")?;
        let next = self.next_item_id(&mut tx).await?;
        let found = rows::folder_by_id(&mut tx, self.id, id.0, next).await?;
        tx.commit().await.db("end read")?;
        found.ok_or_else(|| StoreError::no_such_folder(id))
    }

    /// The mailbox's next item id (UIDNEXT is mailbox-wide).
    async fn next_item_id(&self, conn: &mut crate::db::DbConn) -> Result<u32, StoreError> {
        let next: Option<i64> =
            sqlx::query_scalar("SELECT item_id_checkpoint FROM mailbox WHERE id = ?")
                .bind(self.id.0)
                .fetch_optional(&mut *conn)
                .await
                .db("read mailbox state")?;
        let next = next.ok_or_else(|| StoreError::NoSuchMailbox(self.account.to_string()))?;
        Ok((next + 1) as u32)
    }

    /// The folder at `path` (`"/Inbox/sub"` or `"Inbox/sub"`; `"/"` is USER_ROOT), or
    /// `None`. Names match without regard to case, as Zimbra's `getFolderByPath` does
    /// (`/inbox/WORK` finds `/Inbox/Work`; RFC 9051 §5.1 makes INBOX case-insensitive
    /// anyway); should two siblings differ only in case (a database from before names
    /// were compared so), the exact name wins. One indexed read per level.
    pub async fn folder_by_path(&self, path: &str) -> Result<Option<Folder>, StoreError> {
        self.check_maintenance()?;
        let mut tx = self.inner.pool.begin().await.db("begin read")?;
        let next = self.next_item_id(&mut tx).await?;
        let mut cur = folder::USER_ROOT;
        for seg in path.split('/').filter(|s| !s.is_empty()) {
            let child = match rows::child_named(&mut tx, self.id, cur, seg).await? {
                Some(id) => Some(id),
                None if cur == folder::USER_ROOT && seg.eq_ignore_ascii_case("inbox") => {
                    rows::folder_row(&mut tx, self.id, folder::INBOX)
                        .await?
                        .filter(|f| f.parent == folder::USER_ROOT)
                        .map(|f| f.id)
                }
                None => None,
            };
            match child {
                Some(id) => cur = id,
                None => return Ok(None),
            }
        }
        let found = rows::folder_by_id(&mut tx, self.id, cur, next).await?;
        tx.commit().await.db("end read")?;
        Ok(found)
    }

    /// Refuses a new folder, search folder or mountpoint named `name` under folder
    /// `parent` (which must exist; ROOT holds none): `mail.NO_SUCH_FOLDER`,
    /// `mail.CANNOT_CONTAIN` (`what` names the kind), `mail.ALREADY_EXISTS` when the
    /// name is taken by a folder other than `except` (see [`rows::name_taken`]). Returns
    /// the parent's row. Indexed reads only.
    pub(crate) async fn check_folder_place(
        &self,
        parent: ItemId,
        name: &str,
        except: Option<ItemId>,
        what: &str,
    ) -> Result<FolderRow, StoreError> {
        let mut conn = self.inner.pool.acquire().await.db("read folders")?;
        let p = rows::folder_row(&mut conn, self.id, parent.0)
            .await?
            .ok_or_else(|| StoreError::no_such_folder(parent))?;
        if parent.0 == folder::ROOT {
            return Err(StoreError::CannotContain {
                folder: parent,
                what: what.into(),
            });
        }
        if rows::name_taken(&mut conn, self.id, parent.0, name, except.map(|e| e.0)).await? {
            return Err(StoreError::AlreadyExists {
                parent,
                name: name.to_string(),
            });
        }
        Ok(p)
    }

    /// Creates a folder named `name` under `parent`; it inherits the parent's view
    /// (`message` under USER_ROOT). Durable on return.
    ///
    /// # Errors
    /// `mail.INVALID_NAME` for a bad name (one containing `/`, among others),
    /// `mail.NO_SUCH_FOLDER` for a missing parent, `mail.ALREADY_EXISTS` when the parent
    /// has a child whose name differs from `name` at most in case (Zimbra's
    /// `Folder.findSubfolder`).
    pub async fn create_folder(&self, parent: ItemId, name: &str) -> Result<Folder, StoreError> {
        let name = parse::folder_name(name)?;
        let id = self
            .locked(move |mb| async move {
                let st = mb.state().await?;
                let p = mb
                    .check_folder_place(parent, &name, None, "folders")
                    .await?;
                mb.check_link_name_free(parent, &name, None).await?;
                let view = if p.view.is_empty() {
                    "message".to_string()
                } else {
                    p.view.clone()
                };
                let change = st.change + 1;
                let id = st.item_id + 1;
                mb.commit(RedoOp::CreateFolder {
                    change,
                    id,
                    parent: parent.0,
                    name,
                    view,
                    uid_validity: uid_validity(st.uid_validity_base, change),
                })
                .await?;
                Ok(ItemId(id))
            })
            .await?;
        self.folder(id).await
    }

    /// Renames folder `id` to `name` and/or moves it under `new_parent`. A no-op change
    /// logs nothing.
    ///
    /// # Errors
    /// System folders cannot be renamed; a folder cannot move under itself
    /// (`mail.CANNOT_CONTAIN`); names follow [`Mailbox::create_folder`].
    pub async fn rename_folder(
        &self,
        id: ItemId,
        new_parent: ItemId,
        name: &str,
    ) -> Result<Folder, StoreError> {
        if id.0 < ItemId::FIRST_USER_ID {
            return Err(StoreError::ImmutableFolder(id));
        }
        let name = parse::folder_name(name)?;
        self.locked(move |mb| async move {
            let st = mb.state().await?;
            let f = {
                let mut conn = mb.inner.pool.acquire().await.db("read folders")?;
                let f = rows::folder_row(&mut conn, mb.id, id.0)
                    .await?
                    .ok_or_else(|| StoreError::no_such_folder(id))?;
                if rows::folder_row(&mut conn, mb.id, new_parent.0)
                    .await?
                    .is_none()
                {
                    return Err(StoreError::no_such_folder(new_parent));
                }
                if new_parent.0 == folder::ROOT
                    || rows::within(&mut conn, mb.id, new_parent.0, id.0).await?
                {
                    return Err(StoreError::CannotContain {
                        folder: new_parent,
                        what: format!("folder {id}"),
                    });
                }
                f
            };
            if f.parent == new_parent.0 && f.name == name {
                return Ok(());
            }
            mb.check_folder_place(new_parent, &name, Some(id), "folders")
                .await?;
            mb.check_link_name_free(new_parent, &name, None).await?;
            mb.commit(RedoOp::RenameFolder {
                change: st.change + 1,
                id: id.0,
                parent: new_parent.0,
                name,
            })
            .await
        })
        .await?;
        self.folder(id).await
    }

    /// Hard-deletes folder `id`, its subfolders and every message in them (tombstones
    /// record each); blobs go when their last reference does. System folders cannot be
    /// deleted.
    pub async fn delete_folder(&self, id: ItemId) -> Result<(), StoreError> {
        if id.0 < ItemId::FIRST_USER_ID {
            return Err(StoreError::ImmutableFolder(id));
        }
        self.locked(move |mb| async move {
            let st = mb.state().await?;
            let mut conn = mb.inner.pool.acquire().await.db("read folders")?;
            let found = rows::folder_row(&mut conn, mb.id, id.0).await?;
            drop(conn);
            if found.is_none() {
                return Err(StoreError::no_such_folder(id));
            }
            mb.commit(RedoOp::DeleteFolder {
                change: st.change + 1,
                id: id.0,
            })
            .await
        })
        .await
    }

    /// The mailbox's current change number (the highest MODSEQ of anything in it).
    pub async fn change_number(&self) -> Result<ChangeNumber, StoreError> {
        Ok(ChangeNumber(self.state().await?.change))
    }

    /// Total size in bytes and number of messages in the mailbox.
    pub async fn size_and_count(&self) -> Result<(u64, u64), StoreError> {
        let (size, count): (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(size), 0), COALESCE(SUM(item_count), 0) FROM folder
             WHERE mailbox_id = ?",
        )
        .bind(self.id.0)
        .fetch_one(&self.inner.pool)
        .await
        .db("sum mailbox size")?;
        Ok((size.max(0) as u64, count.max(0) as u64))
    }

    /// Items that left a folder (deleted or moved out) with a change number above
    /// `since`, oldest first: the source of IMAP VANISHED (RFC 7162 §3.2.10) and of SOAP
    /// sync deletes.
    pub async fn tombstones_since(&self, since: i64) -> Result<Vec<Tombstone>, StoreError> {
        let rows: Vec<(i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT change, item_id, folder_id, imap_id, moved, type FROM tombstone
             WHERE mailbox_id = ? AND change > ? ORDER BY change, item_id",
        )
        .bind(self.id.0)
        .bind(since)
        .fetch_all(&self.inner.pool)
        .await
        .db("read tombstones")?;
        Ok(rows
            .into_iter()
            .map(|(change, id, f, uid, moved, kind)| Tombstone {
                change,
                id: ItemId(id as i32),
                folder: ItemId(f as i32),
                imap_uid: uid as u32,
                moved: moved != 0,
                is_folder: kind == i64::from(zcs_core::ItemKind::Folder.code()),
            })
            .collect())
    }
}
