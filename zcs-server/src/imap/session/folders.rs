//! Mailbox names and the commands that act on mailboxes as a whole: CREATE, DELETE,
//! RENAME, STATUS, APPEND (UIDPLUS APPENDUID) and COPY (COPYUID). LIST lives in
//! `list`, MOVE in `moves`.
//!
//! IMAP names use `/` as hierarchy delimiter and `INBOX` for Zimbra's `/Inbox`; the
//! store's paths are `/Inbox/sub`. Only mail folders are shown (Zimbra's
//! `zimbraImapDisplayMailFoldersOnly` default); a non-mail folder above a mail folder
//! appears as `\Noselect`.

use std::borrow::Cow;
use std::sync::Arc;

use zcs_core::{Flags, ItemId, folder};

use super::{Handled, Session};
use crate::imap::backend::{AppendedMessage, FolderInfo, ImapSession};
use crate::imap::parser::{AppendData, AppendMessage, CatPart, FlagName, StatusItem};
use crate::imap::response::{Reply, push_mailbox_as};
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

/// The prefix of the "Other Users" namespace (RFC 2342 §5), as Zimbra names it:
/// `/home/<owner>/<folder>`.
pub(crate) const OTHER_USERS: &str = "/home/";

/// The store path of an IMAP name: `INBOX/a` is `/Inbox/a`. A name in the Other Users
/// namespace (`/home/bob@example.com/INBOX`) keeps its leading `/` behind a second
/// one (`//home/bob@example.com/INBOX`), the backend's convention for folders outside
/// the personal namespace.
pub(super) fn store_path(name: &str) -> Option<String> {
    if let Some(rest) = strip_prefix_ci(name, OTHER_USERS) {
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return None;
        }
        return Some(format!("/{OTHER_USERS}{rest}"));
    }
    components(name).map(|c| format!("/{}", c.join("/")))
}

/// `s` without `prefix`, compared without case.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// The IMAP name of a store path: `/Inbox/a` is `INBOX/a`; `//home/bob/INBOX` (a
/// folder shared by another account) is `/home/bob/INBOX`.
pub(super) fn imap_name(path: &str) -> String {
    if let Some(other) = path.strip_prefix("//") {
        return format!("/{other}");
    }
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

/// Whether an id is one of the account's own system folders (Inbox, Sent, ...).
/// Folders other accounts share have negative session ids and are never "system" here:
/// the backend refuses what their owner's store refuses.
fn is_system(id: ItemId) -> bool {
    (0..ItemId::FIRST_USER_ID - 1).contains(&id.0)
}

fn find_any(folders: &[FolderInfo], path: &str) -> Option<FolderInfo> {
    folders.iter().find(|f| same_path(&f.path, path)).cloned()
}

impl Session {
    /// Finds or creates each folder of the store path `path` (`/a/b`, or `//home/...`
    /// for the Other Users namespace); returns the last one's id. Below the deepest
    /// existing folder the missing levels are created (RFC 3501 §6.3.3); in the Other
    /// Users namespace, a path with no existing shared folder above it is refused with
    /// `Ok(Err(NO [NOPERM]))` (the namespace levels are not folders, and whether
    /// another account has such a folder is never revealed).
    async fn ensure_path(&self, path: &str) -> Result<Result<ItemId, Reply>, super::Fail> {
        let Some(account) = self.account.clone() else {
            return Err(super::Fail::Close);
        };
        let folders = account.list_folders().await?;
        let (lead, body) = match path.strip_prefix("//") {
            Some(rest) => ("//", rest),
            None => ("/", path.trim_start_matches('/')),
        };
        let parts: Vec<&str> = body.split('/').filter(|p| !p.is_empty()).collect();
        // The deepest existing folder on the path, and its depth.
        let mut found: Option<(usize, ItemId)> = None;
        for depth in (1..=parts.len()).rev() {
            let prefix = format!("{lead}{}", parts[..depth].join("/"));
            if let Some(existing) = find_any(&folders, &prefix) {
                found = Some((depth, existing.id));
                break;
            }
        }
        let (start, mut parent) = match found {
            Some(f) => f,
            None if lead == "/" => (0, ItemId(folder::USER_ROOT)),
            None => return Ok(Err(Reply::no("Permission denied").with_code("NOPERM"))),
        };
        for part in &parts[start..] {
            parent = account.create_folder(parent, part).await?.id;
        }
        Ok(Ok(parent))
    }

    /// CREATE (RFC 3501 §6.3.3): superior levels are created as needed. Inside a
    /// shared folder (Other Users namespace or a mountpoint) the backend checks the
    /// create right (RFC 4314 §4 `k`, Zimbra's `i`).
    pub(super) async fn create(&mut self, name: &str) -> Handled {
        let name = name.strip_suffix('/').unwrap_or(name);
        let Some(path) = store_path(name) else {
            return Ok(Reply::no("Invalid mailbox name").with_code("CANNOT"));
        };
        let Some(account) = self.account.clone() else {
            return Ok(Reply::bad("Please authenticate first"));
        };
        let folders = account.list_folders().await?;
        if find_any(&folders, &path).is_some() {
            return Ok(Reply::no("Mailbox already exists").with_code("ALREADYEXISTS"));
        }
        if let Err(refusal) = self.ensure_path(&path).await? {
            return Ok(refusal);
        }
        Ok(Reply::ok("CREATE completed"))
    }

    /// DELETE (RFC 3501 §6.3.4). A shared folder needs the delete right (RFC 4314 §4
    /// `x`, Zimbra's `d`), checked by the backend. A mountpoint is removed from the
    /// account's tree with the folders seen through it; the owner's folder stays.
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
        if is_system(target.id) {
            return Ok(Reply::no("System folders cannot be deleted").with_code("CANNOT"));
        }
        if !account.is_mountpoint(target.id) && folders.iter().any(|f| f.parent == target.id) {
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
    /// A shared folder needs the delete right on it and the create right on the new
    /// parent (RFC 4314 §4), and stays in its owner's mailbox. A mountpoint is renamed
    /// or moved among the account's own folders; the owner's folder keeps its name.
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
        if is_system(source.id) {
            return Ok(Reply::no("System folders cannot be renamed").with_code("CANNOT"));
        }
        let to = to.strip_suffix('/').unwrap_or(to);
        let Some(new_path) = store_path(to) else {
            return Ok(Reply::no("Invalid mailbox name").with_code("CANNOT"));
        };
        // Names compare case-insensitively: a rename that only changes case finds
        // the source itself, which is no clash.
        if find_any(&folders, &new_path).is_some_and(|f| f.id != source.id) {
            return Ok(Reply::no("Mailbox already exists").with_code("ALREADYEXISTS"));
        }
        let lower_new = new_path.to_lowercase();
        if lower_new.starts_with(&format!("{}/", source.path.to_lowercase())) {
            return Ok(Reply::no("Cannot move a mailbox into itself").with_code("CANNOT"));
        }
        let Some((superiors, last)) = new_path.rsplit_once('/') else {
            return Ok(Reply::no("Invalid mailbox name").with_code("CANNOT"));
        };
        let parent = if superiors.is_empty() {
            ItemId(folder::USER_ROOT)
        } else {
            match self.ensure_path(superiors).await? {
                Ok(id) => id,
                Err(refusal) => return Ok(refusal),
            }
        };
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
        push_mailbox_as(&mut line, &imap_name(&info.path), self.enabled.utf8);
        line.extend_from_slice(format!(" ({})\r\n", parts.join(" ")).as_bytes());
        Ok(line)
    }

    /// APPEND (RFC 3501 §6.3.11) with MULTIAPPEND (RFC 3502: all messages or none),
    /// BINARY literal8 (RFC 3516 §4.4) and CATENATE (RFC 4469), answering APPENDUID
    /// (RFC 4315 §3) with every new UID.
    ///
    /// LIMITATION: "none" is reached by deleting the messages already added when a
    /// later one fails; a crash in between leaves the first ones in place.
    pub(super) async fn append(
        &mut self,
        name: &str,
        messages: &[AppendMessage],
        buf: &[u8],
    ) -> Handled {
        let Some(account) = self.account.clone() else {
            return Ok(Reply::bad("Please authenticate first"));
        };
        let Some(target) = self.find_folder(name).await? else {
            return Ok(Reply::no("No such mailbox").with_code("TRYCREATE"));
        };
        let mut added: Vec<(ItemId, u32)> = Vec::with_capacity(messages.len());
        for m in messages {
            let outcome = self.append_one(&account, target.id, m, buf).await;
            match outcome {
                Ok(Ok(new)) => added.push((new.id, new.uid)),
                Ok(Err(reply)) | Err(reply) => {
                    let ids: Vec<ItemId> = added.iter().map(|&(id, _)| id).collect();
                    if !ids.is_empty()
                        && let Err(e) = account.delete_items(&ids).await
                    {
                        tracing::warn!(proto = "imap", error = %e,
                            "could not undo a partial MULTIAPPEND");
                    }
                    return Ok(reply);
                }
            }
        }
        account.publish_change();
        let uids: Vec<u32> = added.iter().map(|&(_, uid)| uid).collect();
        Ok(Reply::ok("APPEND completed").with_code(format!(
            "APPENDUID {} {}",
            target.uid_validity,
            crate::imap::sequence::compact(&uids)
        )))
    }

    /// Adds one message of an APPEND; `Ok(Err(reply))` for a refusal to report.
    async fn append_one(
        &mut self,
        account: &Arc<dyn ImapSession>,
        folder: ItemId,
        m: &AppendMessage,
        buf: &[u8],
    ) -> Result<Result<AppendedMessage, Reply>, Reply> {
        let (bits, seen, mut keywords) = split_flags(&m.flags)?;
        if !account.supports_keywords() {
            keywords.clear();
        }
        let raw: Cow<'_, [u8]> = match &m.data {
            AppendData::Literal(range) => Cow::Borrowed(buf.get(range.clone()).unwrap_or_default()),
            AppendData::Catenate(parts) => Cow::Owned(self.catenate(parts, buf).await?),
        };
        if raw.is_empty() {
            return Err(Reply::no("Empty message"));
        }
        if raw.len() as u64 > self.cfg.max_literal {
            return Err(Reply::no("Message too big").with_code("TOOBIG"));
        }
        let flags = Flags(if seen { bits } else { bits | Flags::UNREAD });
        match account
            .append(folder, &raw, flags, &keywords, m.date_ms)
            .await
        {
            Ok(new) => Ok(Ok(new)),
            Err(e) => Ok(Err(super::backend_reply(&e))),
        }
    }

    /// Builds a CATENATE message (RFC 4469 §5): TEXT parts as given, URL parts read
    /// from this account's folders.
    ///
    /// LIMITATION: URLs must name a whole message (`/mailbox[;UIDVALIDITY=n]/;UID=n`);
    /// a `;SECTION=` or partial URL is refused with BADURL.
    async fn catenate(&mut self, parts: &[CatPart], buf: &[u8]) -> Result<Vec<u8>, Reply> {
        let mut out = Vec::new();
        for part in parts {
            match part {
                CatPart::Text(range) => {
                    out.extend_from_slice(buf.get(range.clone()).unwrap_or_default())
                }
                CatPart::Url(url) => out.extend_from_slice(&self.resolve_url(url).await?),
            }
            if out.len() as u64 > self.cfg.max_literal {
                return Err(Reply::no("Message too big").with_code("TOOBIG"));
            }
        }
        Ok(out)
    }

    async fn resolve_url(&mut self, url: &str) -> Result<Vec<u8>, Reply> {
        let bad = || {
            Reply::no("Invalid or unsupported URL")
                .with_code(format!("BADURL {}", crate::imap::response::sanitize(url)))
        };
        let Some(account) = self.account.clone() else {
            return Err(bad());
        };
        let Some((mailbox, uid)) = parse_message_url(url) else {
            return Err(bad());
        };
        let folder = match self.find_folder(&mailbox).await {
            Ok(Some(f)) => f,
            _ => return Err(bad()),
        };
        if let Some(validity) = mailbox_validity(url)
            && validity != folder.uid_validity
        {
            return Err(bad());
        }
        let msgs = account.messages(folder.id).await.map_err(|_| bad())?;
        let Some(m) = msgs.iter().find(|m| m.uid == uid) else {
            return Err(bad());
        };
        let raw = account.read_message(m.id).await.map_err(|_| bad())?;
        // RFC 5092 §3 `;SECTION=`: only that part of the message (RFC 4469 §5).
        match url_section(url) {
            None => Ok(raw),
            Some(None) => Err(bad()),
            Some(Some(section)) => {
                let root = crate::imap::mime::parse_message(&raw);
                crate::imap::mime::extract(&root, &raw, &section)
                    .map(|bytes| bytes.into_owned())
                    .ok_or_else(bad)
            }
        }
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

/// The mailbox and UID of an RFC 5092 IMAP URL naming a whole message:
/// `[imap://host]/mailbox[;UIDVALIDITY=n]/;UID=n`. Percent-escapes in the mailbox are
/// decoded; anything else (sections, partial ranges) is `None`.
pub(super) fn parse_message_url(url: &str) -> Option<(String, u32)> {
    let path = match url.strip_prefix("imap://") {
        Some(rest) => &rest[rest.find('/')?..],
        None => url,
    };
    let path = path.strip_prefix('/')?;
    let (mailbox, rest) = path.split_once("/;")?;
    let uid_text = rest
        .strip_prefix("UID=")
        .or_else(|| rest.strip_prefix("uid="))?;
    // `/;SECTION=...` may follow the UID (RFC 5092 §3).
    let uid_text = uid_text.split(['/', ';']).next()?;
    let uid: u32 = uid_text.parse().ok().filter(|&u| u > 0)?;
    let mailbox = mailbox.split(';').next()?;
    let mut bytes = Vec::new();
    let raw = mailbox.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' && i + 2 < raw.len() {
            let hex = std::str::from_utf8(&raw[i + 1..i + 3]).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            bytes.push(raw[i]);
            i += 1;
        }
    }
    Some((String::from_utf8(bytes).ok()?, uid))
}

/// The `/;SECTION=` of an IMAP URL (RFC 5092 §3): `None` when there is none,
/// `Some(None)` when it is not one zcs resolves (part numbers, optionally followed by
/// `HEADER`, `TEXT` or `MIME`; `HEADER.FIELDS` and partial ranges are not).
fn url_section(url: &str) -> Option<Option<crate::imap::parser::Section>> {
    use crate::imap::parser::{Section, SectionText};
    let at = url.to_ascii_uppercase().find("/;SECTION=")?;
    let spec = url[at + 10..].split('/').next().unwrap_or("");
    let mut section = Section::default();
    for (i, token) in spec.split('.').enumerate() {
        let text = match token.to_ascii_uppercase().as_str() {
            "HEADER" => Some(SectionText::Header),
            "TEXT" => Some(SectionText::Text),
            "MIME" if !section.part.is_empty() => Some(SectionText::Mime),
            _ => None,
        };
        if let Some(text) = text {
            if i + 1 != spec.split('.').count() {
                return Some(None);
            }
            section.text = Some(text);
            continue;
        }
        match token.parse::<u32>() {
            Ok(n) if n > 0 && section.part.len() < 64 => section.part.push(n),
            _ => return Some(None),
        }
    }
    Some(Some(section))
}

/// The `;UIDVALIDITY=n` of an IMAP URL, if given.
fn mailbox_validity(url: &str) -> Option<u32> {
    let at = url.to_ascii_uppercase().find(";UIDVALIDITY=")?;
    let digits: String = url[at + 13..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_sections_are_parsed() {
        let u = "imap://h/INBOX/;UID=3/;SECTION=1.2.MIME";
        let s = url_section(u).expect("has section").expect("valid");
        assert_eq!(s.part, vec![1, 2]);
        assert_eq!(s.text, Some(crate::imap::parser::SectionText::Mime));
        assert!(url_section("/INBOX/;UID=3").is_none());
        assert!(matches!(
            url_section("/INBOX/;UID=3/;SECTION=HEADER.FIELDS%20(A)"),
            Some(None)
        ));
        assert!(matches!(
            url_section("/INBOX/;UID=3/;SECTION=0"),
            Some(None)
        ));
        let h = url_section("/INBOX/;UID=3/;section=header")
            .expect("some")
            .expect("ok");
        assert!(h.part.is_empty());
    }

    #[test]
    fn maps_names() {
        assert_eq!(store_path("inbox").as_deref(), Some("/Inbox"));
        assert_eq!(store_path("INBOX/a b").as_deref(), Some("/Inbox/a b"));
        assert_eq!(store_path("Sent").as_deref(), Some("/Sent"));
        assert_eq!(store_path("a//b"), None);
        assert_eq!(store_path("/a"), None);
        assert_eq!(
            store_path("/home/bob@x.test/INBOX/a").as_deref(),
            Some("//home/bob@x.test/INBOX/a")
        );
        assert_eq!(store_path("/home/bob//a"), None);
        assert_eq!(
            imap_name("//home/bob@x.test/INBOX"),
            "/home/bob@x.test/INBOX"
        );
        assert_eq!(imap_name("/Inbox"), "INBOX");
        assert_eq!(imap_name("/Inbox/x/y"), "INBOX/x/y");
        assert_eq!(imap_name("/Inboxes"), "Inboxes");
        assert_eq!(imap_name("/Work/2024"), "Work/2024");
    }
}
