//! User tags on every kind of item: messages, contacts and contact groups, appointments
//! and tasks, documents. Reading any item's tags and tagging items of any kind, as
//! SOAP `ItemAction op=tag`, `ContactAction op=tag` and calendar `ItemAction` do.
//!
//! A change is one `SetTags` record (the record messages use), so redo, replay, tag
//! renames and tag deletion treat every kind alike. Only messages mirror their tags in
//! `mail_item.tag_names` (IMAP keywords); other kinds are read from `tagged_item`, and a
//! tag change stamps them and their folder with the change number.
//!
//! LIMITATION: a contact, appointment or document recovered from the dumpster comes back
//! without its tags (Zimbra keeps them).

use std::collections::HashMap;

use sqlx::Row;
use zcs_core::ItemId;

use crate::apply_tags::item_table;
use crate::error::{DbContext, StoreError};
use crate::mailbox::Mailbox;
use crate::redo::RedoOp;
use crate::tags::TagChange;

impl Mailbox {
    /// The names of the tags on item `id` of any taggable kind, in tag id order.
    ///
    /// # Errors
    /// `mail.NO_SUCH_ITEM` when the mailbox has no such message, contact, calendar item
    /// or document.
    pub async fn item_tags(&self, id: ItemId) -> Result<Vec<String>, StoreError> {
        self.check_maintenance()?;
        let mut tags = self.items_tags(&[id]).await?;
        if let Some(t) = tags.remove(&id) {
            return Ok(t);
        }
        let mut conn = self.inner.pool.acquire().await.db("acquire connection")?;
        match item_table(&mut conn, self.id(), id.0).await? {
            Some(_) => Ok(Vec::new()),
            None => Err(StoreError::NoSuchItem(id.to_string())),
        }
    }

    /// The tag names of those of `ids` that carry tags (items without tags, and ids of
    /// no item, are absent from the map), each in tag id order.
    pub async fn items_tags(
        &self,
        ids: &[ItemId],
    ) -> Result<HashMap<ItemId, Vec<String>>, StoreError> {
        self.check_maintenance()?;
        let mut out: HashMap<ItemId, Vec<String>> = HashMap::new();
        for chunk in ids.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "SELECT ti.item_id, t.name FROM tagged_item ti JOIN tag t
                    ON t.mailbox_id = ti.mailbox_id AND t.id = ti.tag_id
                 WHERE ti.mailbox_id = ? AND ti.item_id IN ({marks}) ORDER BY ti.item_id, t.id"
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(self.id().0);
            for id in chunk {
                q = q.bind(id.0);
            }
            for r in q.fetch_all(&self.inner.pool).await.db("read item tags")? {
                let id = ItemId(r.try_get::<i64, _>(0).db("read item tags")? as i32);
                let name: String = r.try_get(1).db("read item tags")?;
                out.entry(id).or_default().push(name);
            }
        }
        Ok(out)
    }

    /// The items of any kind carrying tag `tag`, by id.
    ///
    /// # Errors
    /// `mail.NO_SUCH_TAG`.
    pub async fn tagged_items(&self, tag: ItemId) -> Result<Vec<ItemId>, StoreError> {
        self.tag(tag).await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT item_id FROM tagged_item WHERE mailbox_id = ? AND tag_id = ? ORDER BY item_id",
        )
        .bind(self.id().0)
        .bind(tag.0)
        .fetch_all(&self.inner.pool)
        .await
        .db("list tagged items")?;
        Ok(ids.into_iter().map(|i| ItemId(i as i32)).collect())
    }

    /// Adds (`on`) or removes tag `tag` on items of any taggable kind, in one change;
    /// only items whose tags change take the change number, and nothing is logged when
    /// none change. For messages, [`Mailbox::set_tag`] does the same and returns them.
    ///
    /// # Errors
    /// `mail.NO_SUCH_TAG`; `mail.NO_SUCH_ITEM` for an id of no taggable item (then
    /// nothing changes).
    pub async fn tag_items(&self, ids: &[ItemId], tag: ItemId, on: bool) -> Result<(), StoreError> {
        let ids = crate::messages::dedup(ids);
        self.locked(move |mb| async move {
            mb.tag(tag).await?;
            mb.change_item_tags(&ids, &[tag.0], how(on)).await
        })
        .await
    }

    /// [`Mailbox::tag_items`] by tag name (any case), as
    /// [`Mailbox::set_tags_by_name`] does for messages: with `create_missing`, adding
    /// creates missing tags first; otherwise a missing name is `mail.NO_SUCH_TAG` when
    /// adding and ignored when removing.
    ///
    /// # Errors
    /// `mail.INVALID_NAME`, `mail.NO_SUCH_TAG`, `mail.NO_SUCH_ITEM`.
    pub async fn tag_items_by_name(
        &self,
        ids: &[ItemId],
        names: &[String],
        on: bool,
        create_missing: bool,
    ) -> Result<(), StoreError> {
        let ids = crate::messages::dedup(ids);
        let names = names.to_vec();
        self.locked(move |mb| async move {
            mb.check_taggable(&ids).await?;
            let tags = if on {
                mb.resolve_tags(&names, create_missing).await?
            } else {
                let mut found = Vec::new();
                for n in &names {
                    if let Some(t) = mb.tag_by_name(n).await? {
                        found.push(t.id.0);
                    }
                }
                found
            };
            mb.change_item_tags(&ids, &tags, how(on)).await
        })
        .await
    }

    /// Fails with `mail.NO_SUCH_ITEM` unless every id is a taggable item.
    async fn check_taggable(&self, ids: &[ItemId]) -> Result<(), StoreError> {
        let mut conn = self.inner.pool.acquire().await.db("acquire connection")?;
        for id in ids {
            if item_table(&mut conn, self.id(), id.0).await?.is_none() {
                return Err(StoreError::NoSuchItem(id.to_string()));
            }
        }
        Ok(())
    }

    /// Logs one `SetTags` for the items whose tag sets change (caller holds the lock).
    async fn change_item_tags(
        &self,
        ids: &[ItemId],
        tags: &[i32],
        how: TagChange,
    ) -> Result<(), StoreError> {
        self.check_taggable(ids).await?;
        let mut changed = Vec::new();
        for id in ids {
            let current: Vec<i32> = sqlx::query_scalar::<_, i64>(
                "SELECT tag_id FROM tagged_item WHERE mailbox_id = ? AND item_id = ?
                 ORDER BY tag_id",
            )
            .bind(self.id().0)
            .bind(id.0)
            .fetch_all(&self.inner.pool)
            .await
            .db("read item tags")?
            .into_iter()
            .map(|t| t as i32)
            .collect();
            let mut new = current.clone();
            match how {
                TagChange::Add => {
                    for t in tags {
                        if !new.contains(t) {
                            new.push(*t);
                        }
                    }
                }
                TagChange::Remove => new.retain(|t| !tags.contains(t)),
            }
            new.sort_unstable();
            if new != current {
                changed.push((id.0, new));
            }
        }
        if changed.is_empty() {
            return Ok(());
        }
        let st = self.state().await?;
        self.commit(RedoOp::SetTags {
            change: st.change + 1,
            items: changed,
        })
        .await
    }
}

fn how(on: bool) -> TagChange {
    if on {
        TagChange::Add
    } else {
        TagChange::Remove
    }
}
