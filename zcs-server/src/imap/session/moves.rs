//! MOVE and UID MOVE (RFC 6851), and ENABLE (RFC 5161).
//!
//! A MOVE answers like COPY followed by EXPUNGE: an untagged `OK [COPYUID ...]` (RFC 6851
//! §4.3, UIDPLUS), then one EXPUNGE (or, with QRESYNC, VANISHED) per moved message, sent
//! by the change report that follows every command, then the tagged OK.

use zcs_core::ItemId;

use super::{Handled, Session};
use crate::imap::response::Reply;
use crate::imap::sequence::{SequenceSet, compact};

/// Extensions a client may turn on with ENABLE (RFC 5161 §3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Enabled {
    /// CONDSTORE (RFC 7162 §3.1): MODSEQ in unsolicited FETCH responses.
    pub condstore: bool,
    /// QRESYNC (RFC 7162 §3.2): VANISHED instead of EXPUNGE; implies CONDSTORE.
    pub qresync: bool,
    /// UTF8=ACCEPT (RFC 6855 §3): mailbox names are sent as UTF-8.
    pub utf8: bool,
}

impl Session {
    /// MOVE and UID MOVE (RFC 6851 §3).
    pub(super) async fn move_messages(
        &mut self,
        uid: bool,
        set: &SequenceSet,
        name: &str,
    ) -> Handled {
        let done = if uid {
            "UID MOVE completed"
        } else {
            "MOVE completed"
        };
        let (Some(account), Some(sel)) = (self.account.clone(), self.selected.as_ref()) else {
            return Ok(Reply::bad("No mailbox selected"));
        };
        // RFC 6851 §3.3: moving removes messages from the source, which needs write
        // access to it.
        if sel.read_only {
            return Ok(Reply::no("Mailbox is read-only").with_code("READ-ONLY"));
        }
        let indices = match sel.resolve(set, uid) {
            Ok(i) => i,
            Err(reply) => return Ok(reply),
        };
        let source_folder = sel.folder;
        let chosen: Vec<(u32, ItemId)> = indices
            .iter()
            .map(|&i| &sel.msgs[i])
            .filter(|m| !m.expunged)
            .map(|m| (m.uid, m.id))
            .collect();
        let Some(target) = self.find_folder(name).await? else {
            return Ok(Reply::no("No such mailbox").with_code("TRYCREATE"));
        };
        // Moving a message onto itself changes nothing.
        if chosen.is_empty() || target.id == source_folder {
            return Ok(Reply::ok(done));
        }
        let ids: Vec<ItemId> = chosen.iter().map(|&(_, id)| id).collect();
        let new_uids = account.move_items(&ids, target.id).await?;
        if new_uids.len() == chosen.len() {
            let source: Vec<u32> = chosen.iter().map(|&(u, _)| u).collect();
            self.untagged(&format!(
                "OK [COPYUID {} {} {}] Moved",
                target.uid_validity,
                compact(&source),
                compact(&new_uids)
            ))
            .await?;
        }
        // The EXPUNGE responses come from the change report after the command.
        Ok(Reply::ok(done))
    }

    /// ENABLE (RFC 5161 §3.1): turns on the named extensions this server knows and
    /// lists, in `* ENABLED`, those that were newly enabled; unknown names are ignored.
    pub(super) async fn enable(&mut self, caps: &[String]) -> Handled {
        let mut newly: Vec<&str> = Vec::new();
        for cap in caps {
            match cap.as_str() {
                "CONDSTORE" if !self.enabled.condstore => {
                    self.enabled.condstore = true;
                    newly.push("CONDSTORE");
                }
                "QRESYNC" if !self.enabled.qresync => {
                    self.enabled.qresync = true;
                    self.enabled.condstore = true;
                    newly.push("QRESYNC");
                }
                "UTF8=ACCEPT" if !self.enabled.utf8 => {
                    self.enabled.utf8 = true;
                    newly.push("UTF8=ACCEPT");
                }
                _ => {}
            }
        }
        let mut line = String::from("ENABLED");
        for cap in newly {
            line.push(' ');
            line.push_str(cap);
        }
        self.untagged(&line).await?;
        Ok(Reply::ok("ENABLE completed"))
    }
}
