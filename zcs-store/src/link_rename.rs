//! Renaming and moving mountpoints and search folders ([`Mailbox::rename_link`]): the
//! item keeps its id, its grants' target and everything else; only its name and parent
//! change, as [`Mailbox::rename_folder`] does for folders.
//!
//! The change is logged as a `CreateLink` record carrying the same id: applying it
//! updates the row in place (its creation change number stays), so replay gives the
//! same row as the live call.

use sqlx::Row;
use zcs_core::{ItemId, ItemKind};

use crate::error::{DbContext, StoreError};
use crate::item_types::{Mountpoint, SearchFolder};
use crate::mailbox::Mailbox;
use crate::parse;
use crate::redo::{LinkRecord, RedoOp};

impl Mailbox {
    /// Renames mountpoint or search folder `id` to `name` and/or moves it under
    /// `new_parent`, keeping its id. Renaming to its current name under its current
    /// parent logs nothing.
    ///
    /// # Errors
    /// `mail.NO_SUCH_ITEM` when `id` is neither a mountpoint nor a search folder;
    /// `mail.INVALID_NAME`, `mail.NO_SUCH_FOLDER`, `mail.CANNOT_CONTAIN` and
    /// `mail.ALREADY_EXISTS` as for [`Mailbox::create_folder`]. A search folder may
    /// move into another search folder, never into itself or one below it
    /// (`mail.CANNOT_CONTAIN`).
    pub async fn rename_link(
        &self,
        id: ItemId,
        new_parent: ItemId,
        name: &str,
    ) -> Result<(), StoreError> {
        let name = parse::folder_name(name)?;
        self.locked(move |mb| async move {
            let row = sqlx::query(
                "SELECT type, parent_id, name, owner_id, remote_id, view, query, types, sort_by
                 FROM folder_link WHERE mailbox_id = ? AND id = ?",
            )
            .bind(mb.id().0)
            .bind(id.0)
            .fetch_optional(&mb.inner.pool)
            .await
            .db("read link")?
            .ok_or_else(|| StoreError::NoSuchItem(id.to_string()))?;
            let get_i = |c: &str| row.try_get::<i64, _>(c).db("read link");
            let get_s = |c: &str| row.try_get::<String, _>(c).db("read link");
            let parent = get_i("parent_id")? as i32;
            if parent == new_parent.0 && get_s("name")? == name {
                return Ok(());
            }
            let kind = ItemKind::from_code(get_i("type")? as u8).unwrap_or(ItemKind::Mountpoint);
            mb.check_link_place(new_parent, &name, kind, Some(id))
                .await?;
            let st = mb.state().await?;
            mb.commit(RedoOp::CreateLink(LinkRecord {
                change: st.change + 1,
                id: id.0,
                kind: get_i("type")? as u8,
                parent: new_parent.0,
                name,
                owner: get_s("owner_id")?,
                remote_id: get_i("remote_id")? as i32,
                view: get_s("view")?,
                query: get_s("query")?,
                types: get_s("types")?,
                sort: get_s("sort_by")?,
            }))
            .await
        })
        .await
    }

    /// Changes search folder `id`'s query and, when given, its types and sort order
    /// (ModifySearchFolderRequest), keeping its id, name and place. A change that
    /// changes nothing logs nothing. Returns the search folder after the change.
    ///
    /// # Errors
    /// `mail.NO_SUCH_ITEM` when `id` is not a search folder.
    pub async fn modify_search_folder(
        &self,
        id: ItemId,
        query: &str,
        types: Option<&str>,
        sort_by: Option<&str>,
    ) -> Result<SearchFolder, StoreError> {
        if self.item_kind(id).await? != Some(ItemKind::SearchFolder) {
            return Err(StoreError::NoSuchItem(id.to_string()));
        }
        let (query, types, sort_by) = (
            query.to_string(),
            types.map(str::to_string),
            sort_by.map(str::to_string),
        );
        self.locked(move |mb| async move {
            let row = sqlx::query(
                "SELECT type, parent_id, name, owner_id, remote_id, view, query, types, sort_by
                 FROM folder_link WHERE mailbox_id = ? AND id = ?",
            )
            .bind(mb.id().0)
            .bind(id.0)
            .fetch_optional(&mb.inner.pool)
            .await
            .db("read search folder")?
            .ok_or_else(|| StoreError::NoSuchItem(id.to_string()))?;
            let get_i = |c: &str| row.try_get::<i64, _>(c).db("read search folder");
            let get_s = |c: &str| row.try_get::<String, _>(c).db("read search folder");
            let types = types.map_or_else(|| get_s("types"), Ok)?;
            let sort = sort_by.map_or_else(|| get_s("sort_by"), Ok)?;
            if get_s("query")? == query && get_s("types")? == types && get_s("sort_by")? == sort {
                return Ok(());
            }
            let st = mb.state().await?;
            mb.commit(RedoOp::CreateLink(LinkRecord {
                change: st.change + 1,
                id: id.0,
                kind: get_i("type")? as u8,
                parent: get_i("parent_id")? as i32,
                name: get_s("name")?,
                owner: get_s("owner_id")?,
                remote_id: get_i("remote_id")? as i32,
                view: get_s("view")?,
                query,
                types,
                sort,
            }))
            .await
        })
        .await?;
        self.search_folders()
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| StoreError::NoSuchItem(id.to_string()))
    }

    /// [`Mailbox::rename_link`] for a mountpoint; returns it after the change.
    ///
    /// # Errors
    /// As [`Mailbox::rename_link`]; `mail.NO_SUCH_ITEM` when `id` is not a mountpoint.
    pub async fn rename_mountpoint(
        &self,
        id: ItemId,
        new_parent: ItemId,
        name: &str,
    ) -> Result<Mountpoint, StoreError> {
        if self.item_kind(id).await? != Some(ItemKind::Mountpoint) {
            return Err(StoreError::NoSuchItem(id.to_string()));
        }
        self.rename_link(id, new_parent, name).await?;
        self.mountpoints()
            .await?
            .into_iter()
            .find(|m| m.id == id)
            .ok_or_else(|| StoreError::NoSuchItem(id.to_string()))
    }

    /// [`Mailbox::rename_link`] for a search folder; returns it after the change.
    ///
    /// # Errors
    /// As [`Mailbox::rename_link`]; `mail.NO_SUCH_ITEM` when `id` is not a search folder.
    pub async fn rename_search_folder(
        &self,
        id: ItemId,
        new_parent: ItemId,
        name: &str,
    ) -> Result<SearchFolder, StoreError> {
        if self.item_kind(id).await? != Some(ItemKind::SearchFolder) {
            return Err(StoreError::NoSuchItem(id.to_string()));
        }
        self.rename_link(id, new_parent, name).await?;
        self.search_folders()
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| StoreError::NoSuchItem(id.to_string()))
    }
}
