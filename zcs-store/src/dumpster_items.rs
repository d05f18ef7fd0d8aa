//! The dumpster for items other than messages, on a [`Mailbox`]: contacts, appointments,
//! tasks and documents deleted while `zimbraDumpsterEnabled` is on are listed
//! ([`Mailbox::dumpster_entries`]) and recovered ([`Mailbox::recover_items_from_dumpster`]);
//! [`Mailbox::purge_dumpster`] and the dumpster lifetime in [`Mailbox::purge`] remove
//! them as they remove messages. The row moves are in `crate::apply_dumpster`.

use zcs_core::{ItemId, ItemKind, folder};

use crate::error::{DbContext, StoreError};
use crate::mailbox::Mailbox;
use crate::redo::RedoOp;

/// An item other than a message in the dumpster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpsterEntry {
    /// The item id (kept on recovery).
    pub id: ItemId,
    /// Contact, appointment, task or document.
    pub kind: ItemKind,
    /// The folder it was deleted from.
    pub folder: ItemId,
    /// A display name: the document's name, the event's summary, the contact's name.
    pub name: String,
    /// When it was deleted (ms since the epoch).
    pub deleted_ms: i64,
    /// The change number of the delete.
    pub deleted_change: i64,
}

/// The folder an item of `kind` goes back to when its own folder is gone.
fn default_folder(kind: ItemKind) -> i32 {
    match kind {
        ItemKind::Contact => folder::CONTACTS,
        ItemKind::Appointment => folder::CALENDAR,
        ItemKind::Task => folder::TASKS,
        _ => folder::BRIEFCASE,
    }
}

impl Mailbox {
    /// The contacts, calendar items and documents in the dumpster, most recently
    /// deleted first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn dumpster_entries(&self) -> Result<Vec<DumpsterEntry>, StoreError> {
        self.check_maintenance()?;
        let rows: Vec<(i64, i64, i64, String, i64, i64)> = sqlx::query_as(
            "SELECT id, type, folder_id, name, deleted_ms, deleted_change FROM dumpster_row
             WHERE mailbox_id = ? ORDER BY deleted_change DESC, id",
        )
        .bind(self.id().0)
        .fetch_all(&self.inner.pool)
        .await
        .db("list dumpster entries")?;
        Ok(rows
            .into_iter()
            .map(|(id, kind, f, name, ms, change)| DumpsterEntry {
                id: ItemId(id as i32),
                kind: ItemKind::from_code(kind as u8).unwrap_or(ItemKind::Contact),
                folder: ItemId(f as i32),
                name,
                deleted_ms: ms,
                deleted_change: change,
            })
            .collect())
    }

    /// Brings contacts, calendar items and documents back from the dumpster: into `to`
    /// when given, else the folder each was deleted from, or the kind's system folder
    /// (Contacts, Calendar, Tasks, Briefcase) when that folder is gone. Each keeps its
    /// id and gets a new modseq. Ids not in the dumpster are ignored. Returns the ids
    /// recovered. One logged change.
    ///
    /// # Errors
    /// `mail.NO_SUCH_FOLDER` for a missing `to`; `mail.ALREADY_EXISTS` when a document
    /// of the same name or a calendar item of the same UID took its place meanwhile.
    pub async fn recover_items_from_dumpster(
        &self,
        ids: &[ItemId],
        to: Option<ItemId>,
    ) -> Result<Vec<ItemId>, StoreError> {
        let ids = crate::messages::dedup(ids);
        self.locked(move |mb| async move {
            let (folders, _) = mb.folder_rows().await?;
            if let Some(t) = to
                && !folders.contains_key(&t.0)
            {
                return Err(StoreError::no_such_folder(t));
            }
            let present: Vec<DumpsterEntry> = mb
                .dumpster_entries()
                .await?
                .into_iter()
                .filter(|e| ids.contains(&e.id))
                .collect();
            let mut items = Vec::new();
            for e in &present {
                let dest = to.map(|t| t.0).unwrap_or(
                    if folders.contains_key(&e.folder.0) && e.folder.0 != folder::ROOT {
                        e.folder.0
                    } else {
                        default_folder(e.kind)
                    },
                );
                mb.check_recovery_conflict(e, dest).await?;
                items.push((e.id.0, dest));
            }
            if items.is_empty() {
                return Ok(Vec::new());
            }
            let change = mb.state().await?.change + 1;
            let out = items.iter().map(|(id, _)| ItemId(*id)).collect();
            mb.commit(RedoOp::RecoverItemsFromDumpster { change, items })
                .await?;
            Ok(out)
        })
        .await
    }

    /// Refuses a recovery whose row would collide with a unique key: a document name
    /// taken in `dest`, or a calendar UID in use.
    async fn check_recovery_conflict(
        &self,
        e: &DumpsterEntry,
        dest: i32,
    ) -> Result<(), StoreError> {
        let data: String =
            sqlx::query_scalar("SELECT row_data FROM dumpster_row WHERE mailbox_id = ? AND id = ?")
                .bind(self.id().0)
                .bind(e.id.0)
                .fetch_one(&self.inner.pool)
                .await
                .db("read dumpster row")?;
        let v: serde_json::Value = serde_json::from_str(&data).unwrap_or_default();
        let text = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        let taken: Option<i64> = match e.kind {
            ItemKind::Document => sqlx::query_scalar(
                "SELECT id FROM document WHERE mailbox_id = ? AND folder_id = ? AND name = ?",
            )
            .bind(self.id().0)
            .bind(dest)
            .bind(text("name"))
            .fetch_optional(&self.inner.pool)
            .await
            .db("check document name")?,
            ItemKind::Appointment | ItemKind::Task => {
                sqlx::query_scalar("SELECT id FROM cal_item WHERE mailbox_id = ? AND uid = ?")
                    .bind(self.id().0)
                    .bind(text("uid"))
                    .fetch_optional(&self.inner.pool)
                    .await
                    .db("check calendar uid")?
            }
            _ => None,
        };
        match taken {
            Some(_) => Err(StoreError::AlreadyExists {
                parent: ItemId(dest),
                name: if e.kind == ItemKind::Document {
                    text("name")
                } else {
                    text("uid")
                },
            }),
            None => Ok(()),
        }
    }
}
