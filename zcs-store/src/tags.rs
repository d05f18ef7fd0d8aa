//! Tag operations on a [`Mailbox`]: create, rename, recolour, delete, list, and tagging
//! messages by tag id or by name (creating missing tags, as IMAP keywords need).
//!
//! Every change is validated under the mailbox lock and logged as one redo record with
//! one new change number; creating tags on first use logs one `CreateTag` per new tag
//! before the change that uses them.

use sqlx::Row;
use sqlx::any::AnyRow;
use zcs_core::ItemId;

use crate::apply_tags::TAG_ID_LIMIT;
use crate::error::{DbContext, StoreError};
use crate::mailbox::Mailbox;
use crate::parse;
use crate::redo::RedoOp;
use crate::types::{MessageMeta, Tag};

/// The tag columns [`tag_from_row`] reads, as a literal for `concat!`.
macro_rules! tag_select {
    () => {
        "SELECT t.id, t.name, t.color, t.modseq,
        (SELECT COUNT(*) FROM tagged_item ti WHERE ti.mailbox_id = t.mailbox_id
            AND ti.tag_id = t.id) AS messages,
        (SELECT COUNT(*) FROM tagged_item ti JOIN mail_item i
            ON i.mailbox_id = ti.mailbox_id AND i.id = ti.item_id
         WHERE ti.mailbox_id = t.mailbox_id AND ti.tag_id = t.id AND i.unread = 1) AS unread
    FROM tag t WHERE t.mailbox_id = ?"
    };
}

fn tag_from_row(r: &AnyRow) -> Result<Tag, StoreError> {
    let get = |n: &'static str| r.try_get::<i64, _>(n).db("read tag row");
    Ok(Tag {
        id: ItemId(get("id")? as i32),
        name: r.try_get("name").db("read tag row")?,
        color: get("color")? as i32,
        modseq: get("modseq")?,
        messages: get("messages")?.max(0) as u32,
        unread: get("unread")?.max(0) as u32,
    })
}

/// Checks a tag name: Zimbra's item name rules, and no leading `\` (flag names).
pub(crate) fn tag_name(name: &str) -> Result<String, StoreError> {
    let cleaned = parse::folder_name(name)?;
    if cleaned.starts_with('\\') {
        return Err(StoreError::InvalidName {
            name: name.chars().take(300).collect(),
            reason: "starts with \\ (reserved for flags)",
        });
    }
    Ok(cleaned)
}

/// How a tag change on messages computes the new tag sets.
#[derive(Clone, Copy)]
pub(crate) enum TagChange {
    Add,
    Remove,
}

impl Mailbox {
    /// Every tag of the mailbox, by id.
    pub async fn tags(&self) -> Result<Vec<Tag>, StoreError> {
        let rows = sqlx::query(concat!(tag_select!(), " ORDER BY t.id"))
            .bind(self.id().0)
            .fetch_all(&self.inner.pool)
            .await
            .db("list tags")?;
        rows.iter().map(tag_from_row).collect()
    }

    /// One tag by id; `mail.NO_SUCH_TAG` when absent.
    pub async fn tag(&self, id: ItemId) -> Result<Tag, StoreError> {
        let row = sqlx::query(concat!(tag_select!(), " AND t.id = ?"))
            .bind(self.id().0)
            .bind(id.0)
            .fetch_optional(&self.inner.pool)
            .await
            .db("read tag")?;
        row.as_ref()
            .map(tag_from_row)
            .transpose()?
            .ok_or_else(|| StoreError::NoSuchTag(id.to_string()))
    }

    /// The tag named `name` in any case, or `None`.
    pub async fn tag_by_name(&self, name: &str) -> Result<Option<Tag>, StoreError> {
        let row = sqlx::query(concat!(tag_select!(), " AND t.lname = ?"))
            .bind(self.id().0)
            .bind(name.to_lowercase())
            .fetch_optional(&self.inner.pool)
            .await
            .db("read tag")?;
        row.as_ref().map(tag_from_row).transpose()
    }

    /// Creates a tag. Durable on return.
    ///
    /// # Errors
    /// `mail.INVALID_NAME` (item name rules, or a leading `\`), `mail.ALREADY_EXISTS`
    /// when a tag has that name in any case.
    pub async fn create_tag(&self, name: &str, color: i32) -> Result<Tag, StoreError> {
        let name = tag_name(name)?;
        let id = self
            .locked(move |mb| async move {
                if mb.tag_by_name(&name).await?.is_some() {
                    return Err(StoreError::AlreadyExists {
                        parent: ItemId(zcs_core::folder::TAGS),
                        name,
                    });
                }
                mb.new_tag(name, color).await
            })
            .await?;
        self.tag(id).await
    }

    /// Logs the creation of one tag (caller holds the lock and has checked the name).
    async fn new_tag(&self, name: String, color: i32) -> Result<ItemId, StoreError> {
        let st = self.state().await?;
        let id = if st.tag_id + 1 < TAG_ID_LIMIT {
            (st.tag_id + 1).max(ItemId::FIRST_TAG_ID)
        } else {
            st.item_id + 1
        };
        self.commit(RedoOp::CreateTag {
            change: st.change + 1,
            id,
            name,
            color,
        })
        .await?;
        Ok(ItemId(id))
    }

    /// Renames tag `id`; the messages carrying it show the new name and take the
    /// change number. A rename to the same name logs nothing.
    ///
    /// # Errors
    /// `mail.NO_SUCH_TAG`, `mail.INVALID_NAME`, `mail.ALREADY_EXISTS` (another tag has
    /// the name in any case).
    pub async fn rename_tag(&self, id: ItemId, name: &str) -> Result<Tag, StoreError> {
        let name = tag_name(name)?;
        self.locked(move |mb| async move {
            let st = mb.state().await?;
            let tag = mb.tag(id).await?;
            if tag.name == name {
                return Ok(());
            }
            if let Some(other) = mb.tag_by_name(&name).await?
                && other.id != id
            {
                return Err(StoreError::AlreadyExists {
                    parent: ItemId(zcs_core::folder::TAGS),
                    name,
                });
            }
            mb.commit(RedoOp::RenameTag {
                change: st.change + 1,
                id: id.0,
                name,
            })
            .await
        })
        .await?;
        self.tag(id).await
    }

    /// Sets the colour of tag `id` (Zimbra's index 0-9, or whatever integer form the
    /// caller keeps an RGB value in); the messages carrying the tag do not change. Setting
    /// the colour it already has logs nothing.
    ///
    /// # Errors
    /// `mail.NO_SUCH_TAG`.
    pub async fn set_tag_color(&self, id: ItemId, color: i32) -> Result<Tag, StoreError> {
        self.locked(move |mb| async move {
            let st = mb.state().await?;
            let tag = mb.tag(id).await?;
            if tag.color == color {
                return Ok(());
            }
            mb.commit(RedoOp::SetTagColor {
                change: st.change + 1,
                id: id.0,
                color,
            })
            .await
        })
        .await?;
        self.tag(id).await
    }

    /// Deletes tag `id` and removes it from every message (which take the change
    /// number).
    ///
    /// # Errors
    /// `mail.NO_SUCH_TAG`.
    pub async fn delete_tag(&self, id: ItemId) -> Result<(), StoreError> {
        self.locked(move |mb| async move {
            let st = mb.state().await?;
            mb.tag(id).await?;
            mb.commit(RedoOp::DeleteTag {
                change: st.change + 1,
                id: id.0,
            })
            .await
        })
        .await
    }

    /// Adds (`on`) or removes tag `tag` on each message. Only messages whose tags change
    /// get the new change number; when none change nothing is logged. Returns every
    /// message after the change, in input order (repeats dropped).
    ///
    /// # Errors
    /// `mail.NO_SUCH_TAG`, `mail.NO_SUCH_MSG` (then nothing changes).
    pub async fn set_tag(
        &self,
        ids: &[ItemId],
        tag: ItemId,
        on: bool,
    ) -> Result<Vec<MessageMeta>, StoreError> {
        let ids = crate::messages::dedup(ids);
        self.locked(move |mb| async move {
            mb.tag(tag).await?;
            let how = if on {
                TagChange::Add
            } else {
                TagChange::Remove
            };
            mb.change_tags(&ids, &[tag.0], how).await
        })
        .await
    }

    /// Adds (`on`) or removes the tags named `names` (any case) on each message, in one
    /// change. When adding with `create_missing`, tags that do not exist are created
    /// first (as Zimbra does for IMAP keywords); otherwise a missing name is
    /// `mail.NO_SUCH_TAG` when adding and ignored when removing.
    ///
    /// # Errors
    /// `mail.INVALID_NAME` for a name a tag cannot have, `mail.NO_SUCH_MSG`.
    pub async fn set_tags_by_name(
        &self,
        ids: &[ItemId],
        names: &[String],
        on: bool,
        create_missing: bool,
    ) -> Result<Vec<MessageMeta>, StoreError> {
        let ids = crate::messages::dedup(ids);
        let names = names.to_vec();
        self.locked(move |mb| async move {
            mb.metas(&ids).await?;
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
            let how = if on {
                TagChange::Add
            } else {
                TagChange::Remove
            };
            mb.change_tags(&ids, &tags, how).await
        })
        .await
    }

    /// The ids of the tags named `names`, creating the missing ones when `create`
    /// (caller holds the lock).
    pub(crate) async fn resolve_tags(
        &self,
        names: &[String],
        create: bool,
    ) -> Result<Vec<i32>, StoreError> {
        let mut out = Vec::new();
        for n in names {
            let name = tag_name(n)?;
            let id = match self.tag_by_name(&name).await? {
                Some(t) => t.id.0,
                None if create => self.new_tag(name, 0).await?.0,
                None => return Err(StoreError::NoSuchTag(name)),
            };
            if !out.contains(&id) {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// Logs one `SetTags` for the messages whose tag sets change (caller holds the
    /// lock), then returns the metadata of `ids`.
    async fn change_tags(
        &self,
        ids: &[ItemId],
        tags: &[i32],
        how: TagChange,
    ) -> Result<Vec<MessageMeta>, StoreError> {
        let mut changed = Vec::new();
        for id in ids {
            let current = self.item_tag_ids(*id).await?;
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
        if !changed.is_empty() {
            let st = self.state().await?;
            self.commit(RedoOp::SetTags {
                change: st.change + 1,
                items: changed,
            })
            .await?;
        }
        self.metas(ids).await
    }

    /// The tag ids on message `id`, ascending; `mail.NO_SUCH_MSG` when absent.
    async fn item_tag_ids(&self, id: ItemId) -> Result<Vec<i32>, StoreError> {
        self.message(id).await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT tag_id FROM tagged_item WHERE mailbox_id = ? AND item_id = ?
             ORDER BY tag_id",
        )
        .bind(self.id().0)
        .bind(id.0)
        .fetch_all(&self.inner.pool)
        .await
        .db("read item tags")?;
        Ok(ids.into_iter().map(|i| i as i32).collect())
    }
}
