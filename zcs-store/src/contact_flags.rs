//! Flag changes on contacts and contact groups (Zimbra's ContactAction `flag`/`!flag`
//! and `update f=`). Each change is one `PutContact` redo record carrying the whole
//! contact with its new flags, as every other contact change is logged.

use zcs_core::{Flags, ItemId};

use crate::error::StoreError;
use crate::item_types::Contact;
use crate::mailbox::Mailbox;
use crate::redo::RedoOp;
use crate::redo::codec_items::ContactRecord;

impl Mailbox {
    /// Replaces the flags of contact `id` with `flags`; nothing is logged when they
    /// are unchanged. Durable on return. Returns the contact after the change.
    ///
    /// # Errors
    /// `mail.NO_SUCH_ITEM` when there is no such contact.
    pub async fn set_contact_flags(&self, id: ItemId, flags: Flags) -> Result<Contact, StoreError> {
        self.locked(move |mb| async move {
            let old = mb.contact(id).await?;
            if old.flags == flags {
                return Ok(());
            }
            let st = mb.state().await?;
            mb.commit(RedoOp::PutContact(ContactRecord {
                change: st.change + 1,
                id: id.0,
                folder: old.folder.0,
                flags: flags.0,
                fields: old.fields,
                members: old
                    .members
                    .iter()
                    .map(|m| (m.kind.code(), m.value.clone()))
                    .collect(),
            }))
            .await
        })
        .await?;
        self.contact(id).await
    }
}
