//! Mailbox names and the commands that act on mailboxes as a whole: CREATE, DELETE,
//! RENAME, STATUS, APPEND (UIDPLUS APPENDUID) and COPY (COPYUID). LIST lives in
//! `list`, MOVE in `moves`.
//!
//! IMAP names use `/` as hierarchy delimiter and `INBOX` for Zimbra's `/Inbox`; the
//! store's paths are `/Inbox/sub`. Only mail folders are shown (Zimbra's
//! `zimbraImapDisplayMailFoldersOnly` default); a non-mail folder above a mail folder
//! appears as `\Noselect`.

use zcs_core::{Flags, ItemId, folder};

use super::{Handled, Session};
use crate::imap::backend::FolderInfo;
use crate::imap::parser::{FlagName, StatusItem};
use crate::imap::response::{Reply, push_mailbox};
use crate::imap::sequence::{SequenceSet, compact};

/// Whether IMAP shows a folder as a mailbox.
pub(super) fn is_mail(f: &FolderInfo) -> bool {
    f.id.0 != folder::USER_ROOT
        && f.id.0 != folder::ROOT
        && matches!(f.view.as_str(), "" | "message" | "conversation")
}

/// The components of an IMAP mailbox name, with INBOX mapped to the store's `Inbox`.
/// `None` for names with empty components.
fn components(name: &str) -> Option<Vec<String>> {
    let parts: Vec<String> = name.split('/').map(str::to_string).collect();
    if parts.iter().any(String::is_empty) {
        return None;
    }
    let mut parts = parts;
    if parts[0].eq_ignore_ascii_case("INBOX") {
        parts[0] = "Inbox".to_string();
    }
    Some(parts)
}

/// The store path of an IMAP name: `INBOX/a` is `/Inbox/a`.
pub(super) fn store_path(name: &str) -> Option<String> {
    components(name).map(|c| format!("/{}", c.join("/")))
}

/// The IMAP name of a store path: `/Inbox/a` is `INBOX/a`.
pub(super) fn imap_name(path: &str) -> String {
    let trimmed = path.trim_start_matches('/');
    match trimmed.split_once('/') {
        Some((first, rest)) if first.eq_ignore_ascii_case("Inbox") => format!("INBOX/{rest}"),
        _ if trimmed.eq_ignore_ascii_case("Inbox") => "INBOX".to_string(),
        _ => trimmed.to_string(),
    }
}

fn same_path(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

/// The mail folder an IMAP name designates (names compare case-insensitively, as Zimbra
/// folder names do).
pub(super) fn find_mail_folder(folders: &[FolderInfo], name: &str) -> Option<FolderInfo> {
    let path = store_path(name)?;
    folders
        .iter()
        .find(|f| is_mail(f) && same_path(&f.path, &path))
        .cloned()
}

fn find_any(folders: &[FolderInfo], path: &str) -> Option<FolderInfo> {
    folders.iter().find(|f| same_path(&f.path, path)).cloned()
}

impl Session {
    /// Finds or creates each folder of `parts` below USER_ROOT; returns the last one's
    /// id. `Err` carries the reply when an existing non-folder is in the way.
    async fn ensure_path(&self, parts: &[String]) -> Result<ItemId, super::Fail> {
        let Some(account) = self.account.clone() else {
            return Err(super::Fail::Close);
        };
        let folders = account.list_folders().await?;
        let mut parent = ItemId(folder::USER_ROOT);
        for depth in 1..=parts.len() {
            let path = format!("/{}", parts[..depth].join("/"));
            parent = match find_any(&folders, &path) {
                Some(existing) => existing.id,
                None => account.create_folder(parent, &parts[depth - 1]).await?.id,
            };
        }
        Ok(parent)
    }

    /// CREATE (RFC 3501 §6.3.3): superior levels are created as needed.
    pub(super) async fn create(&mut self, name: &str) -> Handled {
        let name = name.strip_suffix('/').unwrap_or(name);
        let Some(parts) = components(name) else {
            return Ok(Reply::no("Invalid mailbox name").with_code("CANNOT"));
        };
        let Some(account) = self.account.clone() else {
            return Ok(Reply::bad("Please authenticate first"));
        };
        let folders = account.list_folders().await?;
        if find_any(&folders, &format!("/{}", parts.join("/"))).is_some() {
            return Ok(Reply::no("Mailbox already exists").with_code("ALREADYEXISTS"));
        }
        self.ensure_path(&parts).await?;
        Ok(Reply::ok("CREATE completed"))
    }

    /// DELETE (RFC 3501 §6.3.4).
    ///
    /// LIMITATION: a folder that has subfolders is refused instead of being emptied and
    /// kept as `\Noselect`; system folders and INBOX cannot be deleted.
    pub(super) async fn delete(&mut self, name: &str) -> Handled {
        let Some(account) = self.account.clone() else {
            return Ok(Reply::bad("Please authenticate first"));
        };
        let folders = account.list_folders().await?;
        let Some(target) = find_mail_folder(&folders, name) else {
            return Ok(Reply::no("No such mailbox").with_code("NONEXISTENT"));
        };
        if target.id.0 < ItemId::FIRST_USER_ID - 1 {
            return Ok(Reply::no("System folders cannot be deleted").with_code("CANNOT"));
        }
        if folders.iter().any(|f| f.parent == target.id) {
            return Ok(Reply::no("Mailbox has subfolders").with_code("CANNOT"));
        }
        if self
            .selected
            .as_ref()
            .is_some_and(|s| s.folder == target.id)
        {
            self.selected = None;
        }
        account.delete_folder(target.id).await?;
        Ok(Reply::ok("DELETE completed"))
    }

    /// RENAME (RFC 3501 §6.3.5): superior levels of the new name are created as needed.
    ///
    /// LIMITATION: renaming INBOX (which should move its messages to a new folder) and
    /// system folders is refused.
    pub(super) async fn rename(&mut self, from: &str, to: &str) -> Handled {
        let Some(account) = self.account.clone() else {
            return Ok(Reply::bad("Please authenticate first"));
        };
        let folders = account.list_folders().await?;
        let Some(source) = find_mail_folder(&folders, from) else {
            return Ok(Reply::no("No such mailbox").with_code("NONEXISTENT"));
        };
        if source.id.0 < ItemId::FIRST_USER_ID - 1 {
            return Ok(Reply::no("System folders cannot be renamed").with_code("CANNOT"));
        }
        let Some(parts) = components(to) else {
            return Ok(Reply::no("Invalid mailbox name").with_code("CANNOT"));
        };
        let new_path = format!("/{}", parts.join("/"));
        if find_any(&folders, &new_path).is_some() {
            return Ok(Reply::no("Mailbox already exists").with_code("ALREADYEXISTS"));
        }
        let lower_new = new_path.to_lowercase();
        if lower_new.starts_with(&format!("{}/", source.path.to_lowercase())) {
            return Ok(Reply::no("Cannot move a mailbox into itself").with_code("CANNOT"));
        }
        let (last, superiors) = parts.split_last().expect("components() is never empty");
        let parent = self.ensure_path(superiors).await?;
        account.rename_folder(source.id, parent, last).await?;
        Ok(Reply::ok("RENAME completed"))
    }

    /// STATUS (RFC 3501 §6.3.10).
    pub(super) async fn status(&mut self, name: &str, items: &[StatusItem]) -> Handled {
        let Some(info) = self.find_folder(name).await? else {
            return Ok(Reply::no("No such mailbox").with_code("NONEXISTENT"));
        };
        if items.contains(&StatusItem::HighestModSeq) {
            self.enable_condstore().await?;
        }
        let line = self.status_line(&info, items).await?;
        self.conn.write(&line).await?;
        Ok(Reply::ok("STATUS completed"))
    }

    /// The `* STATUS` response for one folder (also sent by LIST-STATUS, RFC 5819).
    pub(super) async fn status_line(
        &self,
        info: &FolderInfo,
        items: &[StatusItem],
    ) -> Result<Vec<u8>, super::Fail> {
        let Some(account) = self.account.clone() else {
            return Err(super::Fail::Close);
        };
        let mut parts = Vec::new();
        for item in items {
            parts.push(match item {
                StatusItem::Messages => format!("MESSAGES {}", info.messages),
                StatusItem::UidNext => format!("UIDNEXT {}", info.uid_next),
                StatusItem::UidValidity => format!("UIDVALIDITY {}", info.uid_validity),
                StatusItem::Unseen => format!("UNSEEN {}", info.unread),
                // RFC 7162 §3.1.6 (mod-sequences are positive).
                StatusItem::HighestModSeq => format!("HIGHESTMODSEQ {}", info.modseq.max(1)),
                StatusItem::Recent => {
                    let list = account.messages(info.id).await?;
                    let max = list.iter().map(|m| m.uid).max().unwrap_or(0);
                    let cutoff =
                        self.recent
                            .peek(account.account_name(), info.id, info.uid_validity, max);
                    format!("RECENT {}", list.iter().filter(|m| m.uid > cutoff).count())
                }
            });
        }
        let mut line = b"* STATUS ".to_vec();
        push_mailbox(&mut line, &imap_name(&info.path));
        line.extend_from_slice(format!(" ({})\r\n", parts.join(" ")).as_bytes());
        Ok(line)
    }

    /// APPEND (RFC 3501 §6.3.11) with APPENDUID (RFC 4315 §3).
    pub(super) async fn append(
        &mut self,
        name: &str,
        flags: &[FlagName],
        date_ms: Option<i64>,
        raw: &[u8],
    ) -> Handled {
        let Some(account) = self.account.clone() else {
            return Ok(Reply::bad("Please authenticate first"));
        };
        let (bits, seen, mut keywords) = match split_flags(flags) {
            Ok(parts) => parts,
            Err(reply) => return Ok(reply),
        };
        if !account.supports_keywords() {
            keywords.clear();
        }
        let Some(target) = self.find_folder(name).await? else {
            return Ok(Reply::no("No such mailbox").with_code("TRYCREATE"));
        };
        let flags = Flags(if seen { bits } else { bits | Flags::UNREAD });
        let added = account
            .append(target.id, raw, flags, &keywords, date_ms)
            .await?;
        Ok(Reply::ok("APPEND completed")
            .with_code(format!("APPENDUID {} {}", target.uid_validity, added.uid)))
    }

    /// COPY and UID COPY (RFC 3501 §6.4.7) with COPYUID (RFC 4315 §3).
    pub(super) async fn copy(&mut self, uid: bool, set: &SequenceSet, name: &str) -> Handled {
        let (Some(account), Some(sel)) = (self.account.clone(), self.selected.as_ref()) else {
            return Ok(Reply::bad("No mailbox selected"));
        };
        let indices = match sel.resolve(set, uid) {
            Ok(i) => i,
            Err(reply) => return Ok(reply),
        };
        let chosen: Vec<(u32, ItemId)> = indices
            .iter()
            .map(|&i| &sel.msgs[i])
            .filter(|m| !m.expunged)
            .map(|m| (m.uid, m.id))
            .collect();
        let Some(target) = self.find_folder(name).await? else {
            return Ok(Reply::no("No such mailbox").with_code("TRYCREATE"));
        };
        if chosen.is_empty() {
            return Ok(Reply::ok("COPY completed"));
        }
        let ids: Vec<ItemId> = chosen.iter().map(|&(_, id)| id).collect();
        let new_uids = account.copy(&ids, target.id).await?;
        let reply = Reply::ok("COPY completed");
        if new_uids.len() != chosen.len() {
            return Ok(reply);
        }
        let source: Vec<u32> = chosen.iter().map(|&(u, _)| u).collect();
        Ok(reply.with_code(format!(
            "COPYUID {} {} {}",
            target.uid_validity,
            compact(&source),
            compact(&new_uids)
        )))
    }
}

/// Splits client flags into Zimbra bits to set, whether `\Seen` was given, and keywords.
/// `\Recent` is ignored (RFC 3501 §2.3.2: not settable); unknown `\` flags are refused.
pub(super) fn split_flags(flags: &[FlagName]) -> Result<(u32, bool, Vec<String>), Reply> {
    let mut bits = 0;
    let mut seen = false;
    let mut keywords = Vec::new();
    for f in flags {
        match f {
            FlagName::Seen => seen = true,
            FlagName::Answered => bits |= Flags::ANSWERED,
            FlagName::Flagged => bits |= Flags::FLAGGED,
            FlagName::Deleted => bits |= Flags::DELETED,
            FlagName::Draft => bits |= Flags::DRAFT,
            FlagName::Recent => {}
            FlagName::Keyword(k) if k.eq_ignore_ascii_case("$Forwarded") => {
                bits |= Flags::FORWARDED;
            }
            FlagName::Keyword(k) => {
                if !keywords.contains(k) {
                    keywords.push(k.clone());
                }
            }
            FlagName::Extension(name) => {
                return Err(Reply::bad(format!(
                    "Unsupported system flag \\{}",
                    crate::imap::response::sanitize(name)
                )));
            }
        }
    }
    Ok((bits, seen, keywords))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_names() {
        assert_eq!(store_path("inbox").as_deref(), Some("/Inbox"));
        assert_eq!(store_path("INBOX/a b").as_deref(), Some("/Inbox/a b"));
        assert_eq!(store_path("Sent").as_deref(), Some("/Sent"));
        assert_eq!(store_path("a//b"), None);
        assert_eq!(store_path("/a"), None);
        assert_eq!(imap_name("/Inbox"), "INBOX");
        assert_eq!(imap_name("/Inbox/x/y"), "INBOX/x/y");
        assert_eq!(imap_name("/Inboxes"), "Inboxes");
        assert_eq!(imap_name("/Work/2024"), "Work/2024");
    }
}
