//! Contacts and contact groups on a [`Mailbox`]: create, replace, move, read, list,
//! and vCard import/export (`crate::vcard`). Deleting goes through
//! [`Mailbox::delete_items`] like every other item.
//!
//! Every change is one `PutContact` redo record carrying the whole contact, so replay
//! needs nothing else. `zimbraContactMaxNumEntries` ([`crate::MailboxSettings`]) caps
//! the contacts across all address books (`mail.TOO_MANY_CONTACTS`).

use sqlx::Row;
use sqlx::any::AnyRow;
use zcs_core::{Flags, ItemId, folder};

use crate::error::{DbContext, StoreError};
use crate::item_types::{Contact, ContactCard, ContactMember, MemberKind};
use crate::mailbox::Mailbox;
use crate::redo::RedoOp;
use crate::redo::codec_items::ContactRecord;

/// Most fields on one contact.
const MAX_FIELDS: usize = 500;
/// Longest field name (bytes).
const MAX_NAME_LEN: usize = 100;
/// Longest field value (bytes); Zimbra's `zimbraContactMaxSize` is larger for photos,
/// which are not kept here.
const MAX_VALUE_LEN: usize = 64 * 1024;
/// Most members of one group.
const MAX_MEMBERS: usize = 5000;

/// Checks a contact's fields and members; bad input is `service.INVALID_REQUEST`.
fn check_contact(fields: &[(String, String)], members: &[ContactMember]) -> Result<(), StoreError> {
    let bad = |m: &str| Err(StoreError::InvalidRequest(m.to_string()));
    if fields.len() > MAX_FIELDS {
        return bad("too many contact fields");
    }
    for (k, v) in fields {
        if k.is_empty() || k.len() > MAX_NAME_LEN || k.chars().any(|c| c.is_control()) {
            return bad("bad contact field name");
        }
        if v.len() > MAX_VALUE_LEN {
            return bad("contact field value too long");
        }
    }
    if members.len() > MAX_MEMBERS {
        return bad("too many group members");
    }
    if members
        .iter()
        .any(|m| m.value.is_empty() || m.value.len() > 1024)
    {
        return bad("bad group member");
    }
    Ok(())
}

fn contact_from_row(r: &AnyRow) -> Result<Contact, StoreError> {
    let get = |n: &'static str| r.try_get::<i64, _>(n).db("read contact row");
    let fields: String = r.try_get("fields").db("read contact row")?;
    let members: String = r.try_get("members").db("read contact row")?;
    let fields: Vec<(String, String)> = serde_json::from_str(&fields)
        .map_err(|e| StoreError::Corrupt(format!("contact fields: {e}")))?;
    let members: Vec<(String, String)> = serde_json::from_str(&members)
        .map_err(|e| StoreError::Corrupt(format!("contact members: {e}")))?;
    let members = members
        .into_iter()
        .filter_map(|(k, value)| {
            let kind = MemberKind::from_code(*k.as_bytes().first()?)?;
            Some(ContactMember { kind, value })
        })
        .collect();
    let modseq = get("modseq")?;
    let mod_content = get("mod_content")?;
    let date_ms = get("date")?;
    let change_date = get("change_date")?;
    Ok(Contact {
        id: ItemId(get("id")? as i32),
        folder: ItemId(get("folder_id")? as i32),
        flags: Flags(get("flags")? as u32),
        fields,
        members,
        is_group: get("is_group")? != 0,
        modseq,
        revision: if mod_content > 0 { mod_content } else { modseq },
        date_ms,
        changed_ms: if change_date > 0 {
            change_date
        } else {
            date_ms
        },
    })
}

const CONTACT_COLUMNS: &str =
    "id, folder_id, flags, fields, members, is_group, modseq, date, change_date, mod_content";

impl Mailbox {
    /// Fails unless `id` is a folder that can hold items of `view` (its view, or Trash).
    pub(crate) async fn check_view_folder(&self, id: ItemId, view: &str) -> Result<(), StoreError> {
        let (all, _) = self.folder_rows().await?;
        let f = all
            .get(&id.0)
            .ok_or_else(|| StoreError::no_such_folder(id))?;
        if id.0 == folder::TRASH || f.view == view {
            return Ok(());
        }
        Err(StoreError::CannotContain {
            folder: id,
            what: format!("{view} items"),
        })
    }

    /// Fails unless `id` is a folder a contact may be moved into: as Zimbra's
    /// `Folder.canContain`, any folder of any view except the hidden root (the tags and
    /// conversations folders are not folders here); a mountpoint or search folder
    /// holds no items (`mail.CANNOT_CONTAIN`).
    pub(crate) async fn check_item_folder(&self, id: ItemId) -> Result<(), StoreError> {
        let (all, _) = self.folder_rows().await?;
        let cannot = || StoreError::CannotContain {
            folder: id,
            what: "contacts".into(),
        };
        if all.contains_key(&id.0) {
            return if id.0 == folder::ROOT {
                Err(cannot())
            } else {
                Ok(())
            };
        }
        match self.item_kind(id).await? {
            Some(zcs_core::ItemKind::Mountpoint | zcs_core::ItemKind::SearchFolder) => {
                Err(cannot())
            }
            _ => Err(StoreError::no_such_folder(id)),
        }
    }

    /// Number of contacts and groups in the mailbox, all address books.
    pub async fn contact_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contact WHERE mailbox_id = ?")
            .bind(self.id().0)
            .fetch_one(&self.inner.pool)
            .await
            .db("count contacts")?;
        Ok(n.max(0) as u64)
    }

    /// Creates a contact (or a group: a `type` field of `group`) in `folder` (an address
    /// book: Contacts 7, Emailed Contacts 13 or a user folder with view `contact`).
    /// Durable on return.
    ///
    /// # Errors
    /// `mail.NO_SUCH_FOLDER`, `mail.CANNOT_CONTAIN` for a folder of another view,
    /// `mail.TOO_MANY_CONTACTS` ([`StoreError::TooManyContacts`]) past
    /// `zimbraContactMaxNumEntries`, `service.INVALID_REQUEST` for oversized input.
    pub async fn create_contact(
        &self,
        folder: ItemId,
        fields: Vec<(String, String)>,
        members: Vec<ContactMember>,
    ) -> Result<Contact, StoreError> {
        Ok(self
            .create_contacts(folder, vec![(fields, members)])
            .await?
            .remove(0))
    }

    /// Creates several contacts in one go (one change number each); all or none when
    /// the contact limit would be passed.
    ///
    /// # Errors
    /// As [`Mailbox::create_contact`].
    pub async fn create_contacts(
        &self,
        folder: ItemId,
        cards: Vec<ContactCard>,
    ) -> Result<Vec<Contact>, StoreError> {
        for (f, m) in &cards {
            check_contact(f, m)?;
        }
        if cards.is_empty() {
            return Ok(Vec::new());
        }
        let ids = self
            .locked(move |mb| async move {
                mb.check_view_folder(folder, "contact").await?;
                let max = mb.settings().contact_max_entries;
                let have = mb.contact_count().await?;
                if max > 0 && have + cards.len() as u64 > u64::from(max) {
                    return Err(StoreError::TooManyContacts(max));
                }
                let cards: Vec<_> = cards
                    .into_iter()
                    .map(|(fields, members)| (fields, member_codes(&members)))
                    .collect();
                let adding = cards
                    .iter()
                    .map(|(f, m)| crate::quota::contact_size(f, m))
                    .sum();
                mb.check_quota(adding).await?;
                let mut ids = Vec::with_capacity(cards.len());
                for (fields, members) in cards {
                    let st = mb.state().await?;
                    let id = st.item_id + 1;
                    mb.commit(RedoOp::PutContact(ContactRecord {
                        change: st.change + 1,
                        id,
                        folder: folder.0,
                        flags: 0,
                        fields,
                        members,
                    }))
                    .await?;
                    ids.push(ItemId(id));
                }
                Ok(ids)
            })
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.contact(id).await?);
        }
        Ok(out)
    }

    /// Replaces contact `id`'s fields and members whole (Zimbra's ModifyContact with
    /// `replace="1"`); it stays in its folder.
    ///
    /// # Errors
    /// `mail.NO_SUCH_ITEM` when there is no such contact; input checks as
    /// [`Mailbox::create_contact`].
    pub async fn modify_contact(
        &self,
        id: ItemId,
        fields: Vec<(String, String)>,
        members: Vec<ContactMember>,
    ) -> Result<Contact, StoreError> {
        check_contact(&fields, &members)?;
        self.put_existing_contact(id, None, Some((fields, members)))
            .await
    }

    /// Moves contact `id` into folder `to`: any folder, not only an address book, as
    /// Zimbra moves items into any folder that can hold items.
    ///
    /// # Errors
    /// `mail.NO_SUCH_ITEM`, `mail.NO_SUCH_FOLDER`, `mail.CANNOT_CONTAIN` for the hidden
    /// root, a mountpoint or a search folder.
    pub async fn move_contact(&self, id: ItemId, to: ItemId) -> Result<Contact, StoreError> {
        self.put_existing_contact(id, Some(to), None).await
    }

    async fn put_existing_contact(
        &self,
        id: ItemId,
        to: Option<ItemId>,
        content: Option<ContactCard>,
    ) -> Result<Contact, StoreError> {
        self.locked(move |mb| async move {
            let old = mb.contact(id).await?;
            let folder = to.unwrap_or(old.folder);
            if to.is_some() {
                mb.check_item_folder(folder).await?;
            }
            let before = crate::quota::contact_size(&old.fields, &member_codes(&old.members));
            let (fields, members) = content.unwrap_or((old.fields, old.members));
            let members = member_codes(&members);
            let after = crate::quota::contact_size(&fields, &members);
            mb.check_quota(after.saturating_sub(before)).await?;
            let st = mb.state().await?;
            mb.commit(RedoOp::PutContact(ContactRecord {
                change: st.change + 1,
                id: id.0,
                folder: folder.0,
                flags: old.flags.0,
                fields,
                members,
            }))
            .await
        })
        .await?;
        self.contact(id).await
    }

    /// One contact by id; `mail.NO_SUCH_ITEM` when absent.
    pub async fn contact(&self, id: ItemId) -> Result<Contact, StoreError> {
        self.check_maintenance()?;
        let sql = format!("SELECT {CONTACT_COLUMNS} FROM contact WHERE mailbox_id = ? AND id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(self.id().0)
            .bind(id.0)
            .fetch_optional(&self.inner.pool)
            .await
            .db("read contact")?;
        row.as_ref()
            .map(contact_from_row)
            .transpose()?
            .ok_or_else(|| StoreError::NoSuchItem(id.to_string()))
    }

    /// The contacts and groups of address book `folder`, by id.
    pub async fn contacts(&self, folder: ItemId) -> Result<Vec<Contact>, StoreError> {
        self.check_maintenance()?;
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contact WHERE mailbox_id = ? AND folder_id = ?
             ORDER BY id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(self.id().0)
            .bind(folder.0)
            .fetch_all(&self.inner.pool)
            .await
            .db("list contacts")?;
        rows.iter().map(contact_from_row).collect()
    }

    /// Imports every vCard in `text` into `folder` as new contacts (groups for
    /// `KIND:group` cards). Returns the contacts created and how many cards could not
    /// be read.
    ///
    /// # Errors
    /// As [`Mailbox::create_contacts`] (the limit applies to the whole import).
    pub async fn import_vcards(
        &self,
        folder: ItemId,
        text: &str,
    ) -> Result<(Vec<Contact>, usize), StoreError> {
        let (cards, bad) = crate::vcard::parse_vcards(text);
        let cards = cards
            .into_iter()
            .map(|(fields, members)| {
                let members = members
                    .into_iter()
                    .filter_map(|(k, value)| {
                        Some(ContactMember {
                            kind: MemberKind::from_code(k)?,
                            value,
                        })
                    })
                    .collect();
                (fields, members)
            })
            .collect();
        Ok((self.create_contacts(folder, cards).await?, bad))
    }

    /// Contact `id` as a vCard 3.0.
    ///
    /// # Errors
    /// `mail.NO_SUCH_ITEM`.
    pub async fn export_vcard(&self, id: ItemId) -> Result<String, StoreError> {
        Ok(crate::vcard::to_vcard(&self.contact(id).await?))
    }
}

/// Members as the redo record holds them: (kind code, value).
fn member_codes(members: &[ContactMember]) -> Vec<(u8, String)> {
    members
        .iter()
        .map(|m| (m.kind.code(), m.value.clone()))
        .collect()
}
