//! The selected mailbox (RFC 3501 §3.3): the session's snapshot of its messages, the
//! mapping between sequence numbers and UIDs, change reporting (EXISTS, EXPUNGE, FETCH
//! FLAGS, RECENT), and SELECT/EXAMINE, CLOSE, EXPUNGE and IDLE.
//!
//! Sequence numbers are positions in the snapshot. They only shift when this session
//! reports an EXPUNGE; a message that vanished while EXPUNGE responses are forbidden
//! (RFC 3501 §7.4.1) stays as a "ghost" until the next command that allows them.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use zcs_core::{Flags, ItemId};

use super::moves::Enabled;
use super::{Fail, Handled, Session};
use crate::imap::backend::{FolderInfo, MessageInfo};
use crate::imap::parser::SelectParams;
use crate::imap::reader::ReadError;
use crate::imap::response::{Reply, flag_list};
use crate::imap::sequence::{SeqBound, SequenceSet, compact};

/// Remembers, per account and folder, the highest UID already announced as `\Recent`
/// (RFC 3501 §2.3.2: a message is recent in exactly one session).
///
/// LIMITATION: kept in memory only. The first SELECT of a folder after a restart makes
/// nothing recent; messages that arrive later are recent for the first session to see
/// them.
#[derive(Default)]
pub(crate) struct RecentTracker {
    cutoffs: Mutex<HashMap<(String, i32), (u32, u32)>>,
}

impl RecentTracker {
    /// Returns the cutoff in effect (UIDs above it are recent for the caller) and, when
    /// `claim` (read-write sessions), moves it up to `max_uid`.
    fn claim(
        &self,
        account: &str,
        folder: ItemId,
        uid_validity: u32,
        max_uid: u32,
        claim: bool,
    ) -> u32 {
        let mut map = match self.cutoffs.lock() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        let entry = map
            .entry((account.to_string(), folder.0))
            .or_insert((uid_validity, max_uid));
        if entry.0 != uid_validity {
            *entry = (uid_validity, max_uid);
        }
        let cutoff = entry.1;
        if claim && max_uid > entry.1 {
            entry.1 = max_uid;
        }
        cutoff
    }

    /// The cutoff in effect without claiming anything (for STATUS); a folder never
    /// selected has nothing recent.
    pub(super) fn peek(
        &self,
        account: &str,
        folder: ItemId,
        uid_validity: u32,
        max_uid: u32,
    ) -> u32 {
        let map = match self.cutoffs.lock() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        match map.get(&(account.to_string(), folder.0)) {
            Some(&(validity, cutoff)) if validity == uid_validity => cutoff,
            _ => max_uid,
        }
    }
}

/// One message of the snapshot.
#[derive(Clone, Debug)]
pub(crate) struct Msg {
    pub uid: u32,
    pub id: ItemId,
    pub flags: Flags,
    pub keywords: Vec<String>,
    pub internal_date_ms: i64,
    pub size: u64,
    /// CONDSTORE MODSEQ of the message's last change (RFC 7162 §3.1).
    pub modseq: u64,
    pub recent: bool,
    /// Gone from the folder but not yet reported with EXPUNGE.
    pub expunged: bool,
}

impl Msg {
    fn from_info(info: &MessageInfo, recent: bool) -> Msg {
        Msg {
            uid: info.uid,
            id: info.id,
            flags: info.flags,
            keywords: info.keywords.clone(),
            internal_date_ms: info.internal_date_ms,
            size: info.size,
            modseq: info.modseq,
            recent,
            expunged: false,
        }
    }

    /// The FLAGS list of this message (without parentheses).
    pub fn flag_text(&self) -> String {
        flag_list(self.flags, &self.keywords, self.recent)
    }
}

/// The selected mailbox.
pub(crate) struct Selected {
    pub folder: ItemId,
    pub read_only: bool,
    /// Whether the backend stores keywords (`\*` in PERMANENTFLAGS).
    pub keywords_ok: bool,
    pub uid_validity: u32,
    pub msgs: Vec<Msg>,
    /// The folder's HIGHESTMODSEQ when last looked at (RFC 7162 §3.1.2.1).
    pub modseq: u64,
    uid_next: u32,
    count: u32,
    keywords: BTreeSet<String>,
}

impl Selected {
    /// Indices (0-based) of the messages a set names, ascending. With `uid`, `*` is the
    /// highest UID; otherwise it is the message count, and a range lying wholly above
    /// the count is an error (RFC 3501 §9 `seq-number`).
    pub fn resolve(&self, set: &SequenceSet, uid: bool) -> Result<Vec<usize>, Reply> {
        if uid {
            let star = self.msgs.last().map_or(0, |m| m.uid);
            let ranges = set.resolve(star);
            return Ok((0..self.msgs.len())
                .filter(|&i| ranges.contains(self.msgs[i].uid))
                .collect());
        }
        let count = u32::try_from(self.msgs.len()).unwrap_or(u32::MAX);
        if count == 0 {
            let only_star = set
                .0
                .iter()
                .all(|&(a, b)| a == SeqBound::Star || b == SeqBound::Star);
            return if only_star {
                Ok(Vec::new())
            } else {
                Err(Reply::bad("No messages in the mailbox"))
            };
        }
        let ranges = set.resolve(count);
        let mut out = Vec::new();
        for &(lo, hi) in ranges.ranges() {
            if lo > count {
                return Err(Reply::bad("Invalid message sequence number"));
            }
            out.extend((lo..=hi.min(count)).map(|n| n as usize - 1));
        }
        Ok(out)
    }

    /// The UIDNEXT last seen.
    pub fn uid_next(&self) -> u32 {
        self.uid_next
    }

    /// HIGHESTMODSEQ as shown to the client: never below any message's MODSEQ and
    /// never 0 (RFC 7162 §3.1.2.1: mod-sequences are positive).
    pub fn highest_modseq(&self) -> u64 {
        let top = self.msgs.iter().map(|m| m.modseq).max().unwrap_or(0);
        self.modseq.max(top).max(1)
    }

    /// The FETCH response text for a change to message `i` (0-based): FLAGS, with UID
    /// when `with_uid`, and MODSEQ when `modseq` (CONDSTORE enabled).
    pub fn change_line(&self, i: usize, with_uid: bool, modseq: bool) -> String {
        let m = &self.msgs[i];
        let uid = if with_uid {
            format!("UID {} ", m.uid)
        } else {
            String::new()
        };
        let ms = if modseq {
            format!(" MODSEQ ({})", m.modseq)
        } else {
            String::new()
        };
        format!("{} FETCH ({uid}FLAGS ({}){ms})", i + 1, m.flag_text())
    }

    /// The keywords in use, for the FLAGS response.
    fn flags_line(&self) -> String {
        let mut text = String::from("\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded");
        for k in &self.keywords {
            if !k.eq_ignore_ascii_case("$Forwarded") {
                text.push(' ');
                text.push_str(k);
            }
        }
        text
    }

    /// The FLAGS and PERMANENTFLAGS responses announcing the flags in use (RFC 3501
    /// §7.2.6), sent again when a new keyword appears.
    pub fn flag_announcements(&self) -> Vec<String> {
        let flags = self.flags_line();
        let mut lines = vec![format!("FLAGS ({flags})")];
        if self.read_only {
            lines.push("OK [PERMANENTFLAGS ()] Read-only mailbox".to_string());
        } else {
            let star = if self.keywords_ok { " \\*" } else { "" };
            lines.push(format!(
                "OK [PERMANENTFLAGS ({flags}{star})] Flags permitted"
            ));
        }
        lines
    }

    /// Records keywords seen on messages; true when one was new.
    pub fn note_keywords(&mut self, keywords: &[String]) -> bool {
        let mut grew = false;
        for k in keywords {
            if !k.is_empty() && k.bytes().all(crate::imap::parser::is_atom_char) {
                grew |= self.keywords.insert(k.clone());
            }
        }
        grew
    }
}

impl Session {
    /// Finds a mail folder by its IMAP name (see `folders::store_path`).
    pub(super) async fn find_folder(&self, name: &str) -> Result<Option<FolderInfo>, Fail> {
        let Some(account) = self.account.clone() else {
            return Ok(None);
        };
        let folders = account.list_folders().await?;
        Ok(super::folders::find_mail_folder(&folders, name))
    }

    /// SELECT and EXAMINE (RFC 3501 §6.3.1, §6.3.2) with CONDSTORE and QRESYNC
    /// (RFC 7162 §3.1.8, §3.2.5).
    pub(super) async fn select(
        &mut self,
        name: &str,
        read_only: bool,
        params: &SelectParams,
    ) -> Handled {
        // RFC 7162 §3.2.5: QRESYNC without ENABLE QRESYNC is an error.
        if params.qresync.is_some() && !self.enabled.qresync {
            return Ok(Reply::bad("QRESYNC is not enabled"));
        }
        // RFC 5182 §2.1: the saved result starts empty in every mailbox.
        self.saved.clear();
        // A SELECT deselects first, even when it fails; with QRESYNC the client is
        // told where the old mailbox's responses end (RFC 7162 §3.2.11).
        if self.selected.take().is_some() && self.enabled.qresync {
            self.untagged("OK [CLOSED] Previous mailbox closed").await?;
        }
        if params.condstore {
            self.enabled.condstore = true;
        }
        let Some(account) = self.account.clone() else {
            return Ok(Reply::bad("Please authenticate first"));
        };
        let Some(folder) = self.find_folder(name).await? else {
            return Ok(Reply::no("No such mailbox").with_code("NONEXISTENT"));
        };
        // RFC 4314 §4: a shared folder with neither the write nor the delete right
        // opens read-only.
        let rights = account.my_rights(folder.id).await?;
        let read_only = read_only
            || !(rights.contains(zcs_store::Rights::WRITE)
                || rights.contains(zcs_store::Rights::DELETE));
        let mut list = account.messages(folder.id).await?;
        list.sort_by_key(|m| m.uid);
        let max_uid = list.last().map_or(0, |m| m.uid);
        let cutoff = self.recent.claim(
            account.account_name(),
            folder.id,
            folder.uid_validity,
            max_uid,
            !read_only,
        );
        let msgs: Vec<Msg> = list
            .iter()
            .map(|m| Msg::from_info(m, m.uid > cutoff))
            .collect();
        let mut sel = Selected {
            folder: folder.id,
            read_only,
            keywords_ok: account.supports_keywords(),
            uid_validity: folder.uid_validity,
            modseq: folder.modseq,
            uid_next: folder.uid_next.max(max_uid.saturating_add(1)),
            count: folder.messages,
            keywords: BTreeSet::new(),
            msgs,
        };
        let all_keywords: Vec<String> = list.iter().flat_map(|m| m.keywords.clone()).collect();
        sel.note_keywords(&all_keywords);
        let exists = sel.msgs.len();
        let recent = sel.msgs.iter().filter(|m| m.recent).count();
        let unseen = sel
            .msgs
            .iter()
            .position(|m| m.flags.contains(Flags::UNREAD));
        let mut lines = sel.flag_announcements();
        lines.push(format!("{exists} EXISTS"));
        lines.push(format!("{recent} RECENT"));
        if let Some(first) = unseen {
            lines.push(format!("OK [UNSEEN {}] First unseen message", first + 1));
        }
        lines.push(format!("OK [UIDVALIDITY {}] UIDs valid", sel.uid_validity));
        lines.push(format!("OK [UIDNEXT {}] Predicted next UID", sel.uid_next));
        lines.push(format!(
            "OK [HIGHESTMODSEQ {}] Highest",
            sel.highest_modseq()
        ));
        for line in lines {
            self.untagged(&line).await?;
        }
        let resync = params
            .qresync
            .as_ref()
            .filter(|q| q.uid_validity == sel.uid_validity);
        self.selected = Some(sel);
        if let Some(q) = resync {
            self.qresync_report(q).await?;
        }
        Ok(if read_only {
            Reply::ok("EXAMINE completed").with_code("READ-ONLY")
        } else {
            Reply::ok("SELECT completed").with_code("READ-WRITE")
        })
    }

    /// Brings the snapshot up to date and reports the differences as untagged
    /// responses: EXPUNGE (highest sequence number first, so each number is valid when
    /// sent) when `allow_expunge`, then FETCH FLAGS for changed messages (with UID when
    /// `with_uid`), then FLAGS if new keywords appeared, then EXISTS and RECENT.
    ///
    /// Only what changed is read: the messages whose MODSEQ passed the snapshot's
    /// (flag changes and arrivals, `messages_changed_since`), and, when the folder's
    /// message count says some left, the folder's UIDs from the backend's flag listing
    /// (`message_uids`). A folder of 100,000 messages is never listed row by row here.
    pub(super) async fn refresh(
        &mut self,
        allow_expunge: bool,
        with_uid: bool,
    ) -> Result<(), Fail> {
        let (Some(account), Some(sel)) = (self.account.clone(), self.selected.as_ref()) else {
            return Ok(());
        };
        let folder = sel.folder;
        let info = account.folder(folder).await?;
        let since = match (info.as_ref(), self.selected.as_ref()) {
            (Some(info), Some(sel)) if info.uid_validity == sel.uid_validity => {
                let unchanged = info.modseq == sel.modseq
                    && info.uid_next == sel.uid_next
                    && info.messages == sel.count;
                let ghosts = sel.msgs.iter().any(|m| m.expunged);
                if unchanged && !(allow_expunge && ghosts) {
                    return Ok(());
                }
                sel.modseq
            }
            _ => {
                self.untagged("BYE Selected mailbox was deleted or renumbered")
                    .await?;
                return Err(Fail::Close);
            }
        };
        let Some(info) = info else {
            return Err(Fail::Close);
        };
        let mut changed = account.messages_changed_since(folder, since).await?;
        changed.sort_by_key(|m| m.uid);
        let Some(sel) = self.selected.as_ref() else {
            return Ok(());
        };
        let last_uid = sel.msgs.last().map_or(0, |m| m.uid);
        let arrivals = changed.iter().filter(|m| m.uid > last_uid).count();
        let live = sel.msgs.iter().filter(|m| !m.expunged).count();
        // Something left the folder when the count disagrees: only then are the UIDs
        // listed, to learn which.
        let present: Option<std::collections::HashSet<u32>> =
            if usize::try_from(info.messages).ok() != Some(live + arrivals) {
                Some(account.message_uids(folder).await?.into_iter().collect())
            } else {
                None
            };
        let Some(sel) = self.selected.as_mut() else {
            return Ok(());
        };
        sel.modseq = info.modseq;
        sel.uid_next = info.uid_next;
        sel.count = info.messages;
        let Enabled {
            condstore, qresync, ..
        } = self.enabled;
        // RFC 7162 §3.2.4: with QRESYNC every FETCH names the UID.
        let with_uid = with_uid || qresync;
        let left = |uid: u32| present.as_ref().is_some_and(|p| !p.contains(&uid));

        let mut lines = Vec::new();
        // Expunged messages.
        if allow_expunge {
            let mut gone = Vec::new();
            for i in (0..sel.msgs.len()).rev() {
                if sel.msgs[i].expunged || left(sel.msgs[i].uid) {
                    if !qresync {
                        lines.push(format!("{} EXPUNGE", i + 1));
                    }
                    gone.push(sel.msgs.remove(i).uid);
                }
            }
            // RFC 7162 §3.2.10: VANISHED replaces EXPUNGE once QRESYNC is enabled.
            if qresync && !gone.is_empty() {
                gone.reverse();
                lines.push(format!("VANISHED {}", compact(&gone)));
            }
        } else {
            for m in &mut sel.msgs {
                if left(m.uid) {
                    m.expunged = true;
                }
            }
        }
        // Flag changes.
        let mut new_keywords = Vec::new();
        for info in changed.iter().filter(|m| m.uid <= last_uid) {
            let Ok(i) = sel.msgs.binary_search_by_key(&info.uid, |m| m.uid) else {
                continue;
            };
            let m = &mut sel.msgs[i];
            if m.expunged {
                continue;
            }
            let flags_changed = info.flags != m.flags || info.keywords != m.keywords;
            let modseq_changed = info.modseq != m.modseq;
            m.modseq = info.modseq;
            if flags_changed || (condstore && modseq_changed) {
                m.flags = info.flags;
                m.keywords.clone_from(&info.keywords);
                new_keywords.extend(info.keywords.iter().cloned());
                lines.push(sel.change_line(i, with_uid, condstore));
            }
        }
        // New messages (UIDs only grow; anything else is ignored).
        let arrived: Vec<&MessageInfo> = changed
            .iter()
            .filter(|m| m.uid > last_uid && !left(m.uid))
            .collect();
        if let Some(newest) = arrived.last() {
            let cutoff = self.recent.claim(
                account.account_name(),
                folder,
                sel.uid_validity,
                newest.uid,
                !sel.read_only,
            );
            for info in &arrived {
                new_keywords.extend(info.keywords.iter().cloned());
                sel.msgs.push(Msg::from_info(info, info.uid > cutoff));
            }
        }
        if sel.note_keywords(&new_keywords) {
            lines.extend(sel.flag_announcements());
        }
        if !arrived.is_empty() {
            lines.push(format!("{} EXISTS", sel.msgs.len()));
            let recent = sel.msgs.iter().filter(|m| m.recent && !m.expunged).count();
            lines.push(format!("{recent} RECENT"));
        }
        for line in lines {
            self.untagged(&line).await?;
        }
        Ok(())
    }

    /// CLOSE (RFC 3501 §6.4.2): silently removes `\Deleted` messages when read-write,
    /// then deselects.
    pub(super) async fn close_mailbox(&mut self) -> Handled {
        let (Some(account), Some(sel)) = (self.account.clone(), self.selected.take()) else {
            return Ok(Reply::bad("No mailbox selected"));
        };
        if !sel.read_only {
            let doomed: Vec<ItemId> = sel
                .msgs
                .iter()
                .filter(|m| !m.expunged && m.flags.contains(Flags::DELETED))
                .map(|m| m.id)
                .collect();
            if !doomed.is_empty() {
                account.delete_items(&doomed).await?;
            }
        }
        Ok(Reply::ok("CLOSE completed"))
    }

    /// EXPUNGE (RFC 3501 §6.4.3) and UID EXPUNGE (RFC 4315 §2.1).
    pub(super) async fn expunge(&mut self, uids: Option<&SequenceSet>) -> Handled {
        if self.selected.as_ref().is_some_and(|s| s.read_only) {
            return Ok(Reply::no("Mailbox is read-only").with_code("READ-ONLY"));
        }
        // Learn of \Deleted flags set elsewhere first.
        self.refresh(true, false).await?;
        let (Some(account), Some(sel)) = (self.account.clone(), self.selected.as_ref()) else {
            return Ok(Reply::bad("No mailbox selected"));
        };
        let ranges = uids.map(|set| set.resolve(sel.msgs.last().map_or(0, |m| m.uid)));
        let doomed: Vec<ItemId> = sel
            .msgs
            .iter()
            .filter(|m| m.flags.contains(Flags::DELETED) && !m.expunged)
            .filter(|m| ranges.as_ref().is_none_or(|r| r.contains(m.uid)))
            .map(|m| m.id)
            .collect();
        if !doomed.is_empty() {
            account.delete_items(&doomed).await?;
        }
        // The EXPUNGE responses are produced by the refresh after the command.
        Ok(Reply::ok("EXPUNGE completed"))
    }

    /// IDLE (RFC 2177): reports changes as they happen until the client sends `DONE`.
    /// A change published on the account's change bus (`crate::notify`, by any front
    /// end) wakes the session at once; the backend is also polled every
    /// `ImapConfig::idle_poll_interval` as a safety net, or only every
    /// `account_check_interval` when the backend announces every change of the selected
    /// folder on that bus (the poll then serves the account check; see
    /// [`crate::imap::backend::ImapSession::changes_announced`]).
    pub(super) async fn idle(&mut self, _tag: &str) -> Handled {
        self.conn.write(b"+ idling\r\n").await?;
        self.conn.flush().await?;
        let started = tokio::time::Instant::now();
        let announced = self.changes.is_some()
            && match (&self.account, &self.selected) {
                (Some(account), Some(sel)) => account.changes_announced(sel.folder),
                (Some(_), None) => true,
                _ => false,
            };
        let poll = if announced {
            self.cfg
                .idle_poll_interval
                .max(self.cfg.account_check_interval)
        } else {
            self.cfg.idle_poll_interval
        };
        let mut ticker = tokio::time::interval(poll);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut shutdown = self.shutdown.clone();
        let mut changes = self.changes.take();
        // Notifications of this session's own earlier commands are stale now.
        if let Some(rx) = changes.as_mut() {
            while rx.try_recv().is_ok() {}
        }
        let outcome = loop {
            let remaining = self.cfg.idle_timeout.saturating_sub(started.elapsed());
            let max = self.cfg.max_line;
            tokio::select! {
                line = self.conn.read_line(max) => {
                    break match line {
                        Ok(line) if line.eq_ignore_ascii_case(b"DONE") => {
                            Ok(Reply::ok("IDLE terminated"))
                        }
                        Ok(_) => Ok(Reply::bad("Expected DONE")),
                        Err(ReadError::Io(e)) => Err(Fail::Io(e)),
                        Err(_) => Err(Fail::Close),
                    };
                }
                woke = changed(&mut changes) => {
                    if !woke {
                        // No bus any more: back to polling often.
                        changes = None;
                        ticker = tokio::time::interval(self.cfg.idle_poll_interval);
                        ticker.set_missed_tick_behavior(
                            tokio::time::MissedTickBehavior::Delay,
                        );
                    }
                    if let Err(e) = self.idle_report().await {
                        break Err(e);
                    }
                }
                _ = ticker.tick() => {
                    if !self.account_still_allowed().await {
                        self.untagged("BYE Account is no longer available").await?;
                        self.conn.flush().await?;
                        break Err(Fail::Close);
                    }
                    if let Err(e) = self.idle_report().await {
                        break Err(e);
                    }
                }
                () = Session::wait_shutdown(&mut shutdown) => {
                    self.untagged("BYE Server shutting down").await?;
                    self.conn.flush().await?;
                    break Err(Fail::Close);
                }
                () = tokio::time::sleep(remaining) => {
                    self.untagged("BYE Autologout; idle for too long").await?;
                    self.conn.flush().await?;
                    break Err(Fail::Close);
                }
            }
        };
        self.changes = changes;
        outcome
    }

    /// Sends what changed in the selected mailbox during IDLE.
    async fn idle_report(&mut self) -> Result<(), Fail> {
        if self.selected.is_some() {
            self.refresh(true, false).await?;
            self.conn.flush().await?;
        }
        Ok(())
    }
}

/// Waits for the next change notification, draining any others already queued;
/// false when the bus is gone. Never returns without a receiver.
async fn changed(rx: &mut Option<tokio::sync::broadcast::Receiver<()>>) -> bool {
    use tokio::sync::broadcast::error::{RecvError, TryRecvError};
    let Some(rx) = rx.as_mut() else {
        return std::future::pending().await;
    };
    match rx.recv().await {
        Ok(()) | Err(RecvError::Lagged(_)) => {
            while !matches!(
                rx.try_recv(),
                Err(TryRecvError::Empty | TryRecvError::Closed)
            ) {}
            true
        }
        Err(RecvError::Closed) => false,
    }
}
