//! Conversions between the store's view and the IMAP layer's: store errors as
//! protocol errors, folders and messages as IMAP shows them, and the keywords that name
//! Zimbra flags rather than tags.

use zcs_core::Flags;
use zcs_store::{Folder, MessageMeta, StoreError};

use crate::imap::backend::{BackendError, FolderInfo, MessageInfo};

/// IMAP keywords that name a Zimbra flag rather than a tag (`$Forwarded` is mapped by
/// the protocol layer already; Zimbra shows its \Notified flag as `$MDNSent`,
/// RFC 3503 §3.1).
const KEYWORD_FLAGS: &[(&str, u32)] = &[
    ("$Forwarded", Flags::FORWARDED),
    ("$MDNSent", Flags::NOTIFIED),
];

/// Splits IMAP keywords into the flag bits they name and the tag names they are.
pub(super) fn split_keywords(keywords: &[String]) -> (u32, Vec<String>) {
    let mut bits = 0;
    let mut tags = Vec::new();
    for k in keywords {
        match KEYWORD_FLAGS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(k))
        {
            Some((_, bit)) => bits |= bit,
            None => tags.push(k.clone()),
        }
    }
    (bits, tags)
}

/// A store error as the IMAP layer reports it; unexpected failures are logged and
/// shown as a generic "store failure".
pub(crate) fn backend_error(e: StoreError) -> BackendError {
    match e {
        StoreError::NoSuchFolder(_) | StoreError::NoSuchMessage(_) | StoreError::NoSuchTag(_) => {
            BackendError::NotFound
        }
        StoreError::QuotaExceeded { .. } => BackendError::QuotaExceeded,
        StoreError::NoSuchMailbox(_) => BackendError::NotFound,
        StoreError::AlreadyExists { .. } => BackendError::AlreadyExists,
        StoreError::InvalidName { name, reason } => {
            BackendError::InvalidName(format!("{name}: {reason}"))
        }
        StoreError::ImmutableFolder(_) | StoreError::CannotContain { .. } => {
            BackendError::PermissionDenied
        }
        StoreError::Locked(_) | StoreError::Closed => {
            BackendError::Unavailable("mailbox unavailable".into())
        }
        other => {
            tracing::error!(error = %other, "store failure");
            BackendError::Other("store failure".into())
        }
    }
}

/// A folder as the IMAP layer sees it.
pub(crate) fn folder_info(f: Folder) -> FolderInfo {
    FolderInfo {
        id: f.id,
        parent: f.parent,
        path: f.path,
        view: f.view,
        uid_validity: f.uid_validity,
        uid_next: f.uid_next,
        modseq: f.modseq.max(0) as u64,
        messages: f.messages,
        unread: f.unread,
        size: f.size,
    }
}

/// A message as IMAP sees it: tags are keywords, and the flags that IMAP shows as
/// keywords (other than `$Forwarded`, which the protocol layer shows) come first.
pub(crate) fn message_info(m: MessageMeta) -> MessageInfo {
    MessageInfo {
        id: m.id,
        uid: m.imap_uid,
        flags: m.flags,
        keywords: keywords_of(m.flags, m.tags),
        internal_date_ms: m.internal_date_ms,
        size: m.size,
        modseq: m.modseq.max(0) as u64,
    }
}

/// The IMAP keywords of a message with these flags and tags: the flags IMAP shows as
/// keywords (other than `$Forwarded`, which the protocol layer shows) first, then the
/// tag names.
pub(super) fn keywords_of(flags: Flags, tags: Vec<String>) -> Vec<String> {
    let mut keywords: Vec<String> = KEYWORD_FLAGS
        .iter()
        .filter(|(name, bit)| *name != "$Forwarded" && flags.contains(*bit))
        .map(|(name, _)| name.to_string())
        .collect();
    if keywords.is_empty() {
        return tags;
    }
    keywords.extend(tags);
    keywords
}
