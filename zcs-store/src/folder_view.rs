//! Creating a folder with a view of its own (Zimbra's CreateFolder `view=`: a calendar,
//! an address book, a task list under any parent), logged as the same `CreateFolder`
//! redo record [`Mailbox::create_folder`] writes.

use zcs_core::ItemId;

use crate::apply::uid_validity;
use crate::error::StoreError;
use crate::mailbox::Mailbox;
use crate::parse;
use crate::redo::RedoOp;
use crate::types::Folder;

/// The views a folder may have (Zimbra's `MailItem.Type` names used as views).
pub const FOLDER_VIEWS: &[&str] = &[
    "search folder",
    "tag",
    "conversation",
    "message",
    "contact",
    "document",
    "appointment",
    "virtual conversation",
    "remote folder",
    "wiki",
    "task",
    "chat",
];

impl Mailbox {
    /// Creates a folder named `name` under `parent` with view `view` (the parent's view,
    /// as [`Mailbox::create_folder`], when `None` or empty). Durable on return.
    ///
    /// # Errors
    /// As [`Mailbox::create_folder`]; `service.INVALID_REQUEST` for a view not in
    /// [`FOLDER_VIEWS`].
    pub async fn create_folder_with_view(
        &self,
        parent: ItemId,
        name: &str,
        view: Option<&str>,
    ) -> Result<Folder, StoreError> {
        let view = match view.map(str::trim).filter(|v| !v.is_empty()) {
            None => return self.create_folder(parent, name).await,
            Some(v) => FOLDER_VIEWS
                .iter()
                .find(|k| k.eq_ignore_ascii_case(v))
                .map(|k| k.to_string())
                .ok_or_else(|| StoreError::InvalidRequest(format!("invalid view: {v}")))?,
        };
        let name = parse::folder_name(name)?;
        let id = self
            .locked(move |mb| async move {
                let st = mb.state().await?;
                mb.check_folder_place(parent, &name, None, "folders")
                    .await?;
                mb.check_link_name_free(parent, &name, None).await?;
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
}
