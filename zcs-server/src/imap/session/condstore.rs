//! CONDSTORE and QRESYNC bookkeeping (RFC 7162): turning CONDSTORE on implicitly, the
//! resynchronisation report of `SELECT ... (QRESYNC ...)` and the `VANISHED (EARLIER)`
//! responses.
//!
//! VANISHED UIDs come from the backend's history of removed messages when it keeps one
//! ([`ImapSession::vanished_since`]); otherwise every UID the client may know that is
//! not in the folder is reported, which RFC 7162 §3.2.10 permits.
//!
//! [`ImapSession::vanished_since`]: crate::imap::ImapSession::vanished_since

use std::collections::HashSet;

use super::{Fail, Session};
use crate::imap::parser::Qresync;
use crate::imap::sequence::{Ranges, SequenceSet, compact};

impl Session {
    /// Turns CONDSTORE on (RFC 7162 §3.1: a CONDSTORE-enabling command). When it was off
    /// and a mailbox is selected, the client learns HIGHESTMODSEQ now.
    pub(super) async fn enable_condstore(&mut self) -> Result<(), Fail> {
        if self.enabled.condstore {
            return Ok(());
        }
        self.enabled.condstore = true;
        if let Some(sel) = &self.selected {
            let line = format!("OK [HIGHESTMODSEQ {}] Highest", sel.highest_modseq());
            self.untagged(&line).await?;
        }
        Ok(())
    }

    /// The UIDs of `within` (clamped to the UIDs the folder has handed out) that left
    /// the selected folder after `since`, ascending.
    async fn vanished_uids(&self, since: u64, within: Option<&Ranges>) -> Result<Vec<u32>, Fail> {
        let (Some(account), Some(sel)) = (self.account.clone(), self.selected.as_ref()) else {
            return Ok(Vec::new());
        };
        let present: HashSet<u32> = sel.msgs.iter().map(|m| m.uid).collect();
        let max = sel.uid_next().saturating_sub(1);
        let wanted = |u: u32| u <= max && within.is_none_or(|r| r.contains(u));
        let mut out = match account.vanished_since(sel.folder, since).await? {
            Some(uids) => uids
                .into_iter()
                .filter(|&u| wanted(u) && !present.contains(&u))
                .collect::<Vec<u32>>(),
            None => {
                let full = SequenceSet::parse(b"1:*")
                    .expect("a valid set")
                    .resolve(max);
                let ranges = within.unwrap_or(&full);
                let mut out = Vec::new();
                for &(lo, hi) in ranges.ranges() {
                    for u in lo..=hi.min(max) {
                        if !present.contains(&u) {
                            out.push(u);
                        }
                    }
                }
                out
            }
        };
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// RFC 7162 §3.2.5.1: after a SELECT with QRESYNC whose UIDVALIDITY matches, the
    /// known UIDs removed since the client's MODSEQ (`VANISHED (EARLIER)`), then a FETCH
    /// of UID, FLAGS and MODSEQ for every message changed since.
    pub(super) async fn qresync_report(&mut self, q: &Qresync) -> Result<(), Fail> {
        let max = self.selected.as_ref().map_or(0, |s| s.uid_next());
        let known = q.known_uids.as_ref().map(|k| k.resolve(max));
        let gone = self.vanished_uids(q.modseq, known.as_ref()).await?;
        if !gone.is_empty() {
            self.untagged(&format!("VANISHED (EARLIER) {}", compact(&gone)))
                .await?;
        }
        let Some(sel) = self.selected.as_ref() else {
            return Ok(());
        };
        let lines: Vec<String> = (0..sel.msgs.len())
            .filter(|&i| sel.msgs[i].modseq > q.modseq)
            .map(|i| sel.change_line(i, true, true))
            .collect();
        for line in lines {
            self.untagged(&line).await?;
        }
        Ok(())
    }

    /// RFC 7162 §3.2.6: `UID FETCH set ... (CHANGEDSINCE n VANISHED)` first reports the
    /// UIDs of `set` removed after `since`.
    pub(super) async fn report_vanished_in(
        &mut self,
        since: u64,
        set: &SequenceSet,
    ) -> Result<(), Fail> {
        let Some(sel) = self.selected.as_ref() else {
            return Ok(());
        };
        let within = set.resolve(sel.uid_next().saturating_sub(1));
        let gone = self.vanished_uids(since, Some(&within)).await?;
        if !gone.is_empty() {
            self.untagged(&format!("VANISHED (EARLIER) {}", compact(&gone)))
                .await?;
        }
        Ok(())
    }
}
