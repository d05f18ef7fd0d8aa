//! SEARCH through the index for one IMAP session: substring searches (FROM, SUBJECT,
//! BODY, TEXT, ...) narrowed to the index's candidates, TEXT/BODY term searches, and
//! both inside folders other accounts share (the owner's index, kept to the folder).

use std::collections::HashSet;
use std::sync::Arc;

use zcs_core::ItemId;
use zcs_index::IndexBackend;
use zcs_index::query::{Query, TextField as IndexField};
use zcs_store::Mailbox;

use super::shared::is_shared;
use super::{StoreImapSession, backend_error};
use crate::imap::backend::{BackendError, BackendResult, Candidates, SubstringField, TextField};

/// Most index hits one IMAP text search considers.
const SEARCH_LIMIT: usize = 1_000_000;

/// Past this many messages not yet indexed (a mailbox being reindexed), a substring
/// SEARCH reads every message instead of asking the index.
const UNINDEXED_LIMIT: usize = 5_000;

/// The index query for IMAP `TEXT`/`BODY` with `query`: a term, or a phrase when it
/// holds white space.
fn term_query(query: &str, field: TextField) -> Query {
    let field = match field {
        TextField::Text => IndexField::Default,
        TextField::Body => IndexField::Content,
    };
    Query::Term {
        field,
        value: query.to_string(),
        phrase: query.contains(char::is_whitespace),
        wildcard: false,
    }
}

/// The hits of `q` in `mailbox`'s index that sit in `folder`, in the index's order.
async fn hits_in_folder(
    index: &Arc<dyn IndexBackend>,
    mailbox: &Mailbox,
    folder: ItemId,
    q: Query,
) -> BackendResult<Vec<ItemId>> {
    let index = index.clone();
    let id = mailbox.id();
    let hits = tokio::task::spawn_blocking(move || index.search(id, &q, SEARCH_LIMIT))
        .await
        .map_err(|e| BackendError::Other(format!("search task: {e}")))?
        .map_err(|e| {
            tracing::warn!(error = %e, "index search failed");
            BackendError::Other("search failed".into())
        })?;
    let in_folder: HashSet<ItemId> = mailbox
        .messages(folder)
        .await
        .map_err(backend_error)?
        .into_iter()
        .map(|m| m.id)
        .collect();
    Ok(hits
        .into_iter()
        .filter(|id| in_folder.contains(id))
        .collect())
}

impl StoreImapSession {
    /// [`crate::imap::backend::ImapSession::substring_candidates`]: the messages the
    /// index holds that may contain `needle`, plus every message not indexed yet;
    /// `None` when the index cannot narrow (shared folders, needles without a word,
    /// a mailbox being reindexed).
    pub(super) async fn narrow_substring(
        &self,
        folder: ItemId,
        field: SubstringField,
        needle: &str,
    ) -> BackendResult<Option<Candidates>> {
        if is_shared(folder) {
            return Ok(None);
        }
        let Some(plan) = zcs_index::substring_plan(needle) else {
            return Ok(None);
        };
        let fields = vec![match field {
            SubstringField::From => IndexField::From,
            SubstringField::To => IndexField::To,
            SubstringField::Cc => IndexField::Cc,
            SubstringField::Subject => IndexField::Subject,
            SubstringField::Body => IndexField::Content,
            SubstringField::Text => IndexField::Default,
        }];
        // Listed before the index is asked: an item marked indexed since was committed
        // to the index first, so it is in one answer or the other.
        let unindexed = self
            .mailbox
            .unindexed(UNINDEXED_LIMIT)
            .await
            .map_err(backend_error)?;
        if unindexed.len() >= UNINDEXED_LIMIT {
            return Ok(None);
        }
        let index = self.index.clone();
        let mailbox = self.mailbox.id();
        let words = plan.words.clone();
        let hits =
            tokio::task::spawn_blocking(move || index.items_with_words(mailbox, &fields, &words))
                .await
                .map_err(|e| BackendError::Other(format!("search task: {e}")))?
                .map_err(|e| {
                    tracing::warn!(error = %e, "index substring search failed");
                    BackendError::Other("search failed".into())
                })?;
        let mut out = Candidates::default();
        if plan.exact {
            out.sure.extend(hits);
        } else {
            out.maybe.extend(hits);
        }
        out.maybe.extend(unindexed);
        tracing::debug!(
            account = %self.name,
            candidates = out.len(),
            exact = plan.exact,
            "substring search narrowed"
        );
        Ok(Some(out))
    }

    /// [`crate::imap::backend::ImapSession::search_text`]: the index's hits for
    /// `query`, kept to `folder`.
    pub(super) async fn index_text(
        &self,
        folder: ItemId,
        query: &str,
        field: TextField,
    ) -> BackendResult<Vec<ItemId>> {
        if is_shared(folder) {
            return self.search_shared(folder, query, field).await;
        }
        hits_in_folder(&self.index, &self.mailbox, folder, term_query(query, field)).await
    }

    /// SEARCH TEXT/BODY in a shared folder: the owner's index, kept to the folder.
    pub(super) async fn search_shared(
        &self,
        folder: ItemId,
        query: &str,
        field: TextField,
    ) -> BackendResult<Vec<ItemId>> {
        let (index_of_owner, owner, remote) = self.shares.readable(folder).await?;
        let hits = hits_in_folder(
            &self.index,
            &owner.mailbox,
            remote,
            term_query(query, field),
        )
        .await?;
        Ok(hits
            .into_iter()
            .map(|id| self.shares.session_id(index_of_owner, folder, id))
            .collect())
    }
}
