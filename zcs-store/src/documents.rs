//! Documents with revisions (Briefcase 16 and other `document` folders), mountpoints
//! and search folders on a [`Mailbox`].
//!
//! A document is saved by name in a folder; saving the same name again adds a
//! revision, each with its own blob (single-instance like message blobs). At most
//! `zimbraNotebookMaxRevisions` revisions are kept ([`crate::MailboxSettings`]); older
//! ones are dropped in the same change and their blobs freed.
//!
//! Mountpoints (another account's folder: owner zimbraId and remote folder id) and
//! search folders (query, types, sort) are folder-like items named among the parent's
//! children. Deleting any of them goes through [`Mailbox::delete_items`].
//!
//! A search folder may sit in another search folder (Zimbra's search folders hold only
//! search folders); deleting one deletes the search folders under it.
//!
//! LIMITATION: document sizes do not count against `zimbraMailQuota` usage (only the
//! new revision is checked against the quota left).

use sqlx::Row;
use sqlx::any::AnyRow;
use zcs_core::{ItemId, ItemKind, ZimbraId};

use crate::blob::digest_of;
use crate::error::{DbContext, StoreError};
use crate::item_types::{Document, Mountpoint, Revision, SearchFolder};
use crate::mailbox::Mailbox;
use crate::parse;
use crate::redo::RedoOp;
use crate::redo::codec_items::{DocumentRecord, LinkRecord};

/// The deepest chain of search folders under search folders walked when checking a
/// move (a longer one cannot be built: each level is checked on the way in).
const MAX_LINK_DEPTH: usize = 1024;

const DOC_COLUMNS: &str =
    "id, folder_id, name, content_type, version, size, blob_digest, author, modseq";

fn doc_from_row(r: &AnyRow) -> Result<Document, StoreError> {
    let get = |n: &'static str| r.try_get::<i64, _>(n).db("read document row");
    Ok(Document {
        id: ItemId(get("id")? as i32),
        folder: ItemId(get("folder_id")? as i32),
        name: r.try_get("name").db("read document row")?,
        content_type: r.try_get("content_type").db("read document row")?,
        version: get("version")? as i32,
        size: get("size")?.max(0) as u64,
        blob_digest: r.try_get("blob_digest").db("read document row")?,
        author: r.try_get("author").db("read document row")?,
        modseq: get("modseq")?,
    })
}

/// The colour columns of a `folder_link` row.
fn link_color(r: &AnyRow) -> Result<crate::FolderColor, StoreError> {
    Ok(crate::FolderColor::from_columns(
        r.try_get("color").db("read link")?,
        r.try_get("rgb").db("read link")?,
    ))
}

impl Mailbox {
    /// Saves `raw` as document `name` in `folder` (a `document` folder): a new document
    /// at revision 1, or the next revision of the document of that name. Durable on
    /// return (blob and redo record fsynced).
    ///
    /// # Errors
    /// `mail.INVALID_NAME`, `mail.NO_SUCH_FOLDER`, `mail.CANNOT_CONTAIN` for a folder
    /// of another view, `mail.QUOTA_EXCEEDED` past the handle's quota.
    pub async fn save_document(
        &self,
        folder: ItemId,
        name: &str,
        content_type: &str,
        raw: &[u8],
        author: &str,
    ) -> Result<Document, StoreError> {
        let name = parse::folder_name(name)?;
        let content_type = content_type.chars().take(255).collect::<String>();
        let author = author.chars().take(255).collect::<String>();
        let raw = raw.to_vec();
        let blobs = self.inner.blobs.clone();
        let (digest, size, pin) = tokio::task::spawn_blocking(move || {
            let digest = digest_of(&raw);
            let pin = blobs.pin(&digest);
            blobs.write(&digest, &raw)?;
            Ok::<_, StoreError>((digest, raw.len() as u64, pin))
        })
        .await
        .map_err(|e| StoreError::Internal(format!("blob task failed: {e}")))??;
        let d = digest.clone();
        let res = self
            .locked(move |mb| async move {
                mb.check_view_folder(folder, "document").await?;
                mb.check_quota(size).await?;
                let existing = mb.document_by_name(folder, &name).await?;
                let st = mb.state().await?;
                let (id, version, mut kept) = match &existing {
                    Some(doc) => (
                        doc.id.0,
                        doc.version + 1,
                        mb.document_revisions(doc.id).await?,
                    ),
                    None => (st.item_id + 1, 1, Vec::new()),
                };
                let max = mb.settings().notebook_max_revisions as usize;
                let mut drop_versions = Vec::new();
                if max > 0 {
                    kept.sort_by_key(|r| r.version);
                    while kept.len() + 1 > max && !kept.is_empty() {
                        drop_versions.push(kept.remove(0).version);
                    }
                }
                mb.commit(RedoOp::SaveDocument(DocumentRecord {
                    change: st.change + 1,
                    id,
                    folder: folder.0,
                    name,
                    content_type,
                    version,
                    size,
                    digest: d,
                    author,
                    drop_versions,
                }))
                .await?;
                Ok(ItemId(id))
            })
            .await;
        drop(pin);
        match res {
            Ok(id) => self.document(id).await,
            Err(e) => {
                self.inner.release_blobs(vec![digest]).await;
                Err(e)
            }
        }
    }

    /// One document at its current revision; `mail.NO_SUCH_ITEM` when absent.
    pub async fn document(&self, id: ItemId) -> Result<Document, StoreError> {
        self.check_maintenance()?;
        let sql = format!("SELECT {DOC_COLUMNS} FROM document WHERE mailbox_id = ? AND id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(self.id().0)
            .bind(id.0)
            .fetch_optional(&self.inner.pool)
            .await
            .db("read document")?;
        row.as_ref()
            .map(doc_from_row)
            .transpose()?
            .ok_or_else(|| StoreError::NoSuchItem(id.to_string()))
    }

    /// The document named `name` in `folder`, if any.
    pub async fn document_by_name(
        &self,
        folder: ItemId,
        name: &str,
    ) -> Result<Option<Document>, StoreError> {
        let sql = format!(
            "SELECT {DOC_COLUMNS} FROM document WHERE mailbox_id = ? AND folder_id = ? AND name = ?"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(self.id().0)
            .bind(folder.0)
            .bind(name)
            .fetch_optional(&self.inner.pool)
            .await
            .db("read document")?;
        row.as_ref().map(doc_from_row).transpose()
    }

    /// The documents of `folder`, by id.
    pub async fn documents(&self, folder: ItemId) -> Result<Vec<Document>, StoreError> {
        self.check_maintenance()?;
        let sql = format!(
            "SELECT {DOC_COLUMNS} FROM document WHERE mailbox_id = ? AND folder_id = ? ORDER BY id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(self.id().0)
            .bind(folder.0)
            .fetch_all(&self.inner.pool)
            .await
            .db("list documents")?;
        rows.iter().map(doc_from_row).collect()
    }

    /// The kept revisions of document `id`, oldest first (empty for an unknown id).
    pub async fn document_revisions(&self, id: ItemId) -> Result<Vec<Revision>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, size, blob_digest, author, date FROM revision
             WHERE mailbox_id = ? AND item_id = ? ORDER BY version",
        )
        .bind(self.id().0)
        .bind(id.0)
        .fetch_all(&self.inner.pool)
        .await
        .db("list revisions")?;
        rows.iter()
            .map(|r| {
                Ok(Revision {
                    version: r.try_get::<i64, _>("version").db("read revision")? as i32,
                    size: r.try_get::<i64, _>("size").db("read revision")?.max(0) as u64,
                    blob_digest: r.try_get("blob_digest").db("read revision")?,
                    author: r.try_get("author").db("read revision")?,
                    date_ms: r.try_get("date").db("read revision")?,
                })
            })
            .collect()
    }

    /// The bytes of document `id` at revision `version` (the current one when `None`).
    ///
    /// # Errors
    /// `mail.NO_SUCH_ITEM` for an unknown document or a revision not kept.
    pub async fn read_document(
        &self,
        id: ItemId,
        version: Option<i32>,
    ) -> Result<Vec<u8>, StoreError> {
        let doc = self.document(id).await?;
        let want = version.unwrap_or(doc.version);
        let rev = self
            .document_revisions(id)
            .await?
            .into_iter()
            .find(|r| r.version == want)
            .ok_or_else(|| StoreError::NoSuchItem(format!("{id} revision {want}")))?;
        let blobs = self.inner.blobs.clone();
        tokio::task::spawn_blocking(move || blobs.read(&rev.blob_digest))
            .await
            .map_err(|e| StoreError::Internal(format!("blob task failed: {e}")))?
    }

    /// Fails unless `name` is free among `parent`'s children (folders, mountpoints,
    /// search folders) and `parent` can hold a folder-like item of `kind`: any folder
    /// but the hidden root, and for a search folder also another search folder (as
    /// Zimbra's `SearchFolder.canContain`). `moving` is the item being moved, which
    /// must not end up under itself (`mail.CANNOT_CONTAIN`).
    pub(crate) async fn check_link_place(
        &self,
        parent: ItemId,
        name: &str,
        kind: ItemKind,
        moving: Option<ItemId>,
    ) -> Result<(), StoreError> {
        let what = if kind == ItemKind::SearchFolder {
            "search folders"
        } else {
            "mountpoints"
        };
        let cannot = || StoreError::CannotContain {
            folder: parent,
            what: what.into(),
        };
        match self.check_folder_place(parent, name, None, what).await {
            Ok(_) => {}
            Err(StoreError::NoSuchFolder(_)) => {
                match self.link_parent(parent).await? {
                    None => return Err(StoreError::no_such_folder(parent)),
                    Some((code, _)) if code == ItemKind::SearchFolder.code() => {
                        if kind != ItemKind::SearchFolder {
                            return Err(cannot());
                        }
                    }
                    Some(_) => return Err(cannot()),
                }
                if let Some(id) = moving {
                    // Only links sit under links: walk up the chain of search folders.
                    let mut cur = parent;
                    for _ in 0..=MAX_LINK_DEPTH {
                        if cur == id {
                            return Err(cannot());
                        }
                        match self.link_parent(cur).await? {
                            Some((_, up)) => cur = up,
                            None => break,
                        }
                    }
                }
            }
            Err(e) => return Err(e),
        }
        self.check_link_name_free(parent, name, moving).await
    }

    /// The type code and parent of mountpoint or search folder `id`, if it is one.
    async fn link_parent(&self, id: ItemId) -> Result<Option<(u8, ItemId)>, StoreError> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT type, parent_id FROM folder_link WHERE mailbox_id = ? AND id = ?",
        )
        .bind(self.id().0)
        .bind(id.0)
        .fetch_optional(&self.inner.pool)
        .await
        .db("read link parent")?;
        Ok(row.map(|(t, p)| (t as u8, ItemId(p as i32))))
    }

    /// [`StoreError::AlreadyExists`] when a mountpoint or search folder under `parent`
    /// other than `except` has a name differing from `name` at most in case (Zimbra's
    /// `Folder.findSubfolder`). Reads the mailbox's links (a handful) by its key.
    pub(crate) async fn check_link_name_free(
        &self,
        parent: ItemId,
        name: &str,
        except: Option<ItemId>,
    ) -> Result<(), StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, name FROM folder_link WHERE mailbox_id = ? AND parent_id = ?",
        )
        .bind(self.id().0)
        .bind(parent.0)
        .fetch_all(&self.inner.pool)
        .await
        .db("look up link name")?;
        let lname = crate::schema::folder_lname(name);
        let clash = rows.iter().any(|(id, n)| {
            Some(ItemId(*id as i32)) != except && crate::schema::folder_lname(n) == lname
        });
        if clash {
            return Err(StoreError::AlreadyExists {
                parent,
                name: name.to_string(),
            });
        }
        Ok(())
    }

    async fn create_link(&self, mut rec: LinkRecord) -> Result<ItemId, StoreError> {
        rec.name = parse::folder_name(&rec.name)?;
        self.locked(move |mb| async move {
            let kind = ItemKind::from_code(rec.kind).unwrap_or(ItemKind::Mountpoint);
            mb.check_link_place(ItemId(rec.parent), &rec.name, kind, None)
                .await?;
            let st = mb.state().await?;
            rec.change = st.change + 1;
            rec.id = st.item_id + 1;
            let id = rec.id;
            mb.commit(RedoOp::CreateLink(rec)).await?;
            Ok(ItemId(id))
        })
        .await
    }

    /// Creates a mountpoint named `name` under `parent` showing folder `remote_id` of
    /// account `owner` (Zimbra's CreateMountpoint). The store does not check the
    /// remote folder or the grant: the caller does, with the owner's
    /// [`Mailbox::effective_rights`].
    ///
    /// # Errors
    /// `mail.INVALID_NAME`, `mail.NO_SUCH_FOLDER`, `mail.ALREADY_EXISTS`.
    pub async fn create_mountpoint(
        &self,
        parent: ItemId,
        name: &str,
        owner: ZimbraId,
        remote_id: ItemId,
        view: &str,
    ) -> Result<Mountpoint, StoreError> {
        let id = self
            .create_link(LinkRecord {
                change: 0,
                id: 0,
                kind: ItemKind::Mountpoint.code(),
                parent: parent.0,
                name: name.to_string(),
                owner: owner.to_string(),
                remote_id: remote_id.0,
                view: view.chars().take(32).collect(),
                query: String::new(),
                types: String::new(),
                sort: String::new(),
            })
            .await?;
        self.mountpoints()
            .await?
            .into_iter()
            .find(|m| m.id == id)
            .ok_or_else(|| StoreError::NoSuchItem(id.to_string()))
    }

    /// Creates a search folder named `name` under `parent` (Zimbra's CreateSearchFolder).
    ///
    /// # Errors
    /// As [`Mailbox::create_mountpoint`]; `service.INVALID_REQUEST` for an empty query.
    pub async fn create_search_folder(
        &self,
        parent: ItemId,
        name: &str,
        query: &str,
        types: &str,
        sort_by: &str,
    ) -> Result<SearchFolder, StoreError> {
        if query.trim().is_empty() || query.len() > 64 * 1024 {
            return Err(StoreError::InvalidRequest("bad search folder query".into()));
        }
        let id = self
            .create_link(LinkRecord {
                change: 0,
                id: 0,
                kind: ItemKind::SearchFolder.code(),
                parent: parent.0,
                name: name.to_string(),
                owner: String::new(),
                remote_id: 0,
                view: String::new(),
                query: query.to_string(),
                types: types.chars().take(255).collect(),
                sort: sort_by.chars().take(64).collect(),
            })
            .await?;
        self.search_folders()
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| StoreError::NoSuchItem(id.to_string()))
    }

    async fn links(&self, kind: ItemKind) -> Result<Vec<AnyRow>, StoreError> {
        self.check_maintenance()?;
        sqlx::query(
            "SELECT id, parent_id, name, owner_id, remote_id, view, query, types, sort_by,
                color, rgb, modseq FROM folder_link WHERE mailbox_id = ? AND type = ?
             ORDER BY id",
        )
        .bind(self.id().0)
        .bind(i64::from(kind.code()))
        .fetch_all(&self.inner.pool)
        .await
        .db("list links")
    }

    /// Every mountpoint of the mailbox, by id.
    pub async fn mountpoints(&self) -> Result<Vec<Mountpoint>, StoreError> {
        self.links(ItemKind::Mountpoint)
            .await?
            .iter()
            .map(|r| {
                let owner: String = r.try_get("owner_id").db("read link")?;
                Ok(Mountpoint {
                    id: ItemId(r.try_get::<i64, _>("id").db("read link")? as i32),
                    parent: ItemId(r.try_get::<i64, _>("parent_id").db("read link")? as i32),
                    name: r.try_get("name").db("read link")?,
                    owner: owner
                        .parse()
                        .map_err(|_| StoreError::Corrupt(format!("bad owner id {owner:?}")))?,
                    remote_id: ItemId(r.try_get::<i64, _>("remote_id").db("read link")? as i32),
                    view: r.try_get("view").db("read link")?,
                    color: link_color(r)?,
                    modseq: r.try_get("modseq").db("read link")?,
                })
            })
            .collect()
    }

    /// Every search folder of the mailbox, by id.
    pub async fn search_folders(&self) -> Result<Vec<SearchFolder>, StoreError> {
        self.links(ItemKind::SearchFolder)
            .await?
            .iter()
            .map(|r| {
                Ok(SearchFolder {
                    id: ItemId(r.try_get::<i64, _>("id").db("read link")? as i32),
                    parent: ItemId(r.try_get::<i64, _>("parent_id").db("read link")? as i32),
                    name: r.try_get("name").db("read link")?,
                    query: r.try_get("query").db("read link")?,
                    types: r.try_get("types").db("read link")?,
                    sort_by: r.try_get("sort_by").db("read link")?,
                    color: link_color(r)?,
                    modseq: r.try_get("modseq").db("read link")?,
                })
            })
            .collect()
    }
}
