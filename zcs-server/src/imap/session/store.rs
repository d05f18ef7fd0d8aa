//! STORE and UID STORE (RFC 3501 §6.4.6, §6.4.8) with CONDSTORE's UNCHANGEDSINCE and
//! MODIFIED (RFC 7162 §3.1.3).

use std::collections::{HashMap, HashSet};

use zcs_core::{Flags, ItemId};

use super::mailbox::Msg;
use super::moves::Enabled;
use super::{Handled, Session};
use crate::imap::parser::{FlagName, StoreMode};
use crate::imap::response::Reply;
use crate::imap::sequence::{SequenceSet, compact};

/// The Zimbra bits IMAP shows as system flags (`\Seen` is the absence of UNREAD).
const IMAP_BITS: u32 = Flags::ANSWERED
    | Flags::FLAGGED
    | Flags::DELETED
    | Flags::DRAFT
    | Flags::FORWARDED
    | Flags::UNREAD;

impl Session {
    /// STORE and UID STORE, with CONDSTORE's UNCHANGEDSINCE (RFC 7162 §3.1.3).
    ///
    /// LIMITATION: the UNCHANGEDSINCE test and the change are two backend calls, so a
    /// change made by another session between them is not detected.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn store(
        &mut self,
        uid: bool,
        set: &SequenceSet,
        unchanged_since: Option<u64>,
        mode: StoreMode,
        silent: bool,
        flags: &[FlagName],
    ) -> Handled {
        if unchanged_since.is_some() {
            self.enable_condstore().await?;
        }
        let Enabled {
            condstore, qresync, ..
        } = self.enabled;
        let (Some(account), Some(sel)) = (self.account.clone(), self.selected.as_mut()) else {
            return Ok(Reply::bad("No mailbox selected"));
        };
        if sel.read_only {
            return Ok(Reply::no("Mailbox is read-only").with_code("READ-ONLY"));
        }
        let (bits, seen, mut keywords) = match super::folders::split_flags(flags) {
            Ok(parts) => parts,
            Err(reply) => return Ok(reply),
        };
        if !sel.keywords_ok {
            keywords.clear();
        }
        let indices = match sel.resolve(set, uid) {
            Ok(i) => i,
            Err(reply) => return Ok(reply),
        };
        let mut indices: Vec<usize> = indices
            .into_iter()
            .filter(|&i| !sel.msgs[i].expunged)
            .collect();
        // RFC 7162 §3.1.3: messages changed after UNCHANGEDSINCE are left alone and
        // named in MODIFIED.
        let mut modified = Vec::new();
        if let Some(since) = unchanged_since {
            let newer: HashSet<ItemId> = account
                .messages_changed_since(sel.folder, since)
                .await?
                .into_iter()
                .map(|m| m.id)
                .collect();
            indices.retain(|&i| {
                let m = &sel.msgs[i];
                let keep = m.modseq <= since && !newer.contains(&m.id);
                if !keep {
                    modified.push(if uid { m.uid } else { (i + 1) as u32 });
                }
                keep
            });
        }
        let before = sel.modseq;
        // Zimbra bits to turn on and off; \Seen is UNREAD inverted.
        let (on, off) = match mode {
            StoreMode::Add => (bits, if seen { Flags::UNREAD } else { 0 }),
            StoreMode::Remove => (if seen { Flags::UNREAD } else { 0 }, bits),
            StoreMode::Replace => {
                let on = bits | if seen { 0 } else { Flags::UNREAD };
                (on, IMAP_BITS & !on)
            }
        };
        let ids_where = |pred: &dyn Fn(&Msg) -> bool| -> Vec<ItemId> {
            indices
                .iter()
                .map(|&i| &sel.msgs[i])
                .filter(|m| pred(m))
                .map(|m| m.id)
                .collect()
        };
        let set_on = ids_where(&|m| on != 0 && !m.flags.contains(on));
        let set_off = ids_where(&|m| m.flags.0 & off != 0);
        let kw_add: Vec<String> = match mode {
            StoreMode::Add | StoreMode::Replace => keywords.clone(),
            StoreMode::Remove => Vec::new(),
        };
        let kw_remove: Vec<String> = match mode {
            StoreMode::Remove => keywords.clone(),
            StoreMode::Add => Vec::new(),
            StoreMode::Replace if !sel.keywords_ok => Vec::new(),
            StoreMode::Replace => {
                let mut gone: Vec<String> = Vec::new();
                for &i in &indices {
                    for k in &sel.msgs[i].keywords {
                        if !keywords.iter().any(|n| n.eq_ignore_ascii_case(k)) && !gone.contains(k)
                        {
                            gone.push(k.clone());
                        }
                    }
                }
                gone
            }
        };
        let has = |m: &Msg, k: &String| m.keywords.iter().any(|x| x.eq_ignore_ascii_case(k));
        let add_ids = ids_where(&|m| kw_add.iter().any(|k| !has(m, k)));
        let remove_ids = ids_where(&|m| kw_remove.iter().any(|k| has(m, k)));

        if !set_on.is_empty() {
            account.set_flags(&set_on, on, true).await?;
        }
        if !set_off.is_empty() {
            account.set_flags(&set_off, off, false).await?;
        }
        if !add_ids.is_empty() {
            account.set_keywords(&add_ids, &kw_add, true).await?;
        }
        if !remove_ids.is_empty() {
            account.set_keywords(&remove_ids, &kw_remove, false).await?;
        }

        let touched: HashSet<ItemId> = set_on
            .iter()
            .chain(&set_off)
            .chain(&add_ids)
            .chain(&remove_ids)
            .copied()
            .collect();
        // CONDSTORE: learn the new MODSEQs to report them.
        if condstore && !touched.is_empty() {
            let fresh = account.messages_changed_since(sel.folder, before).await?;
            let by_id: HashMap<ItemId, u64> = fresh.iter().map(|m| (m.id, m.modseq)).collect();
            for &i in &indices {
                if let Some(&ms) = by_id.get(&sel.msgs[i].id) {
                    sel.msgs[i].modseq = ms;
                }
            }
        }

        let mut lines = Vec::new();
        if sel.note_keywords(&kw_add) {
            lines.extend(
                sel.flag_announcements()
                    .into_iter()
                    .map(|l| format!("* {l}\r\n")),
            );
        }
        let with_uid = uid || qresync;
        for &i in &indices {
            let m = &mut sel.msgs[i];
            m.flags = Flags((m.flags.0 | on) & !off);
            m.keywords
                .retain(|k| !kw_remove.iter().any(|r| r.eq_ignore_ascii_case(k)));
            for k in &kw_add {
                if !m.keywords.iter().any(|x| x.eq_ignore_ascii_case(k)) {
                    m.keywords.push(k.clone());
                }
            }
            let changed = touched.contains(&m.id);
            if !silent {
                lines.push(format!("* {}\r\n", sel.change_line(i, with_uid, condstore)));
            } else if condstore && changed {
                // RFC 7162 §3.1.3: a silent STORE still reports the new MODSEQ.
                let m = &sel.msgs[i];
                let uid_part = if with_uid {
                    format!("UID {} ", m.uid)
                } else {
                    String::new()
                };
                lines.push(format!(
                    "* {} FETCH ({uid_part}MODSEQ ({}))\r\n",
                    i + 1,
                    m.modseq
                ));
            }
        }
        for line in lines {
            self.conn.write(line.as_bytes()).await?;
        }
        let reply = Reply::ok(if uid {
            "UID STORE completed"
        } else {
            "STORE completed"
        });
        if modified.is_empty() {
            return Ok(reply);
        }
        modified.sort_unstable();
        Ok(reply.with_code(format!("MODIFIED {}", compact(&modified))))
    }
}
