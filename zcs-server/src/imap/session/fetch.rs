//! FETCH (RFC 3501 §6.4.5) and STORE (RFC 3501 §6.4.6), plain and UID (§6.4.8).
//!
//! FETCH streams one response per message, reading each message from the backend at
//! most once and parsing its MIME structure only when an item needs it. Fetching a body
//! without `.PEEK` sets `\Seen` first and reports the new FLAGS.

use std::borrow::Cow;

use zcs_core::{Flags, ItemId};

use super::mailbox::Msg;
use super::{Fail, Handled, Session};
use crate::imap::backend::BackendError;
use crate::imap::datetime;
use crate::imap::mime;
use crate::imap::parser::{FetchAtt, FetchItems, FlagName, StoreMode};
use crate::imap::response::Reply;
use crate::imap::sequence::SequenceSet;

/// The Zimbra bits IMAP shows as system flags (`\Seen` is the absence of UNREAD).
const IMAP_BITS: u32 = Flags::ANSWERED
    | Flags::FLAGGED
    | Flags::DELETED
    | Flags::DRAFT
    | Flags::FORWARDED
    | Flags::UNREAD;

fn sets_seen(att: &FetchAtt) -> bool {
    matches!(
        att,
        FetchAtt::BodySection { peek: false, .. } | FetchAtt::Rfc822 | FetchAtt::Rfc822Text
    )
}

fn needs_raw(att: &FetchAtt) -> bool {
    !matches!(
        att,
        FetchAtt::Flags | FetchAtt::Uid | FetchAtt::InternalDate | FetchAtt::Rfc822Size
    )
}

/// A FETCH response under construction: text, with large literal payloads kept as
/// slices of the message so a big `BODY[]` is never copied.
struct Chunks<'a> {
    done: Vec<Cow<'a, [u8]>>,
    cur: Vec<u8>,
}

impl<'a> Chunks<'a> {
    /// Appends a literal (RFC 3501 §4.3).
    fn literal(&mut self, data: Cow<'a, [u8]>) {
        self.cur
            .extend_from_slice(format!("{{{}}}\r\n", data.len()).as_bytes());
        if data.len() < 16 * 1024 {
            self.cur.extend_from_slice(&data);
        } else {
            self.done.push(Cow::Owned(std::mem::take(&mut self.cur)));
            self.done.push(data);
        }
    }

    fn finish(mut self) -> Vec<Cow<'a, [u8]>> {
        self.done.push(Cow::Owned(self.cur));
        self.done
    }
}

/// Renders one FETCH response (CRLF included), as pieces to write in order.
fn render<'a>(
    seq: usize,
    msg: &Msg,
    items: &[FetchAtt],
    raw: Option<&'a [u8]>,
    add_flags: bool,
) -> Vec<Cow<'a, [u8]>> {
    let mut ch = Chunks {
        done: Vec::new(),
        cur: format!("* {seq} FETCH (").into_bytes(),
    };
    let parsed = raw.map(mime::parse_message);
    let raw_bytes: &'a [u8] = raw.unwrap_or_default();
    for (i, att) in items.iter().enumerate() {
        if i > 0 {
            ch.cur.push(b' ');
        }
        let out = &mut ch.cur;
        match att {
            FetchAtt::Uid => out.extend_from_slice(format!("UID {}", msg.uid).as_bytes()),
            FetchAtt::Flags => {
                out.extend_from_slice(format!("FLAGS ({})", msg.flag_text()).as_bytes());
            }
            FetchAtt::InternalDate => out.extend_from_slice(
                format!(
                    "INTERNALDATE \"{}\"",
                    datetime::format_date_time(msg.internal_date_ms)
                )
                .as_bytes(),
            ),
            FetchAtt::Rfc822Size => {
                let size = raw.map_or(msg.size, |r| r.len() as u64);
                out.extend_from_slice(format!("RFC822.SIZE {size}").as_bytes());
            }
            FetchAtt::Envelope => {
                out.extend_from_slice(b"ENVELOPE ");
                if let Some(p) = &parsed {
                    mime::write_envelope(out, p);
                }
            }
            FetchAtt::Body | FetchAtt::BodyStructure => {
                let extended = *att == FetchAtt::BodyStructure;
                out.extend_from_slice(if extended {
                    b"BODYSTRUCTURE "
                } else {
                    b"BODY "
                });
                if let Some(p) = &parsed {
                    mime::write_body_structure(out, p, extended);
                }
            }
            FetchAtt::Rfc822 => {
                out.extend_from_slice(b"RFC822 ");
                ch.literal(Cow::Borrowed(raw_bytes));
            }
            FetchAtt::Rfc822Header => {
                out.extend_from_slice(b"RFC822.HEADER ");
                ch.literal(Cow::Borrowed(mime::split_header(raw_bytes).0));
            }
            FetchAtt::Rfc822Text => {
                out.extend_from_slice(b"RFC822.TEXT ");
                ch.literal(Cow::Borrowed(mime::split_header(raw_bytes).1));
            }
            FetchAtt::BodySection {
                section, partial, ..
            } => {
                out.extend_from_slice(format!("BODY[{}]", section.spec()).as_bytes());
                let data: Cow<'a, [u8]> = parsed
                    .as_ref()
                    .and_then(|p| mime::extract(p, raw_bytes, section))
                    .unwrap_or(Cow::Borrowed(&[]));
                let data = match partial {
                    // RFC 3501 §6.4.5: <origin.count>; the reply names only the origin.
                    Some((origin, count)) => {
                        out.extend_from_slice(format!("<{origin}>").as_bytes());
                        let start = (*origin as usize).min(data.len());
                        let end = start.saturating_add(*count as usize).min(data.len());
                        match data {
                            Cow::Borrowed(b) => Cow::Borrowed(&b[start..end]),
                            Cow::Owned(v) => Cow::Owned(v[start..end].to_vec()),
                        }
                    }
                    None => data,
                };
                out.push(b' ');
                ch.literal(data);
            }
        }
    }
    if add_flags && !items.contains(&FetchAtt::Flags) {
        if !items.is_empty() {
            ch.cur.push(b' ');
        }
        ch.cur
            .extend_from_slice(format!("FLAGS ({})", msg.flag_text()).as_bytes());
    }
    ch.cur.extend_from_slice(b")\r\n");
    ch.finish()
}

impl Session {
    /// FETCH and UID FETCH.
    ///
    /// LIMITATION: ENVELOPE and BODYSTRUCTURE are computed from the raw message on every
    /// fetch; nothing caches the structure.
    pub(super) async fn fetch(
        &mut self,
        uid: bool,
        set: &SequenceSet,
        mut items: FetchItems,
    ) -> Handled {
        let (Some(account), Some(sel)) = (self.account.clone(), self.selected.as_mut()) else {
            return Ok(Reply::bad("No mailbox selected"));
        };
        let indices = match sel.resolve(set, uid) {
            Ok(i) => i,
            Err(reply) => return Ok(reply),
        };
        // RFC 3501 §6.4.8: UID FETCH always returns the UID.
        if uid && !items.contains(&FetchAtt::Uid) {
            items.insert(0, FetchAtt::Uid);
        }
        let mut marked = vec![false; sel.msgs.len()];
        if !sel.read_only && items.iter().any(sets_seen) {
            let unread: Vec<usize> = indices
                .iter()
                .copied()
                .filter(|&i| !sel.msgs[i].expunged && sel.msgs[i].flags.contains(Flags::UNREAD))
                .collect();
            if !unread.is_empty() {
                let ids: Vec<ItemId> = unread.iter().map(|&i| sel.msgs[i].id).collect();
                account.set_flags(&ids, Flags::UNREAD, false).await?;
                for &i in &unread {
                    let m = &mut sel.msgs[i];
                    m.flags = m.flags.with(Flags::UNREAD, false);
                    marked[i] = true;
                }
            }
        }
        let jobs: Vec<(usize, Msg, bool)> = indices
            .iter()
            .filter(|&&i| !sel.msgs[i].expunged)
            .map(|&i| (i + 1, sel.msgs[i].clone(), marked[i]))
            .collect();
        let load = items.iter().any(needs_raw);
        for (seq, msg, add_flags) in jobs {
            let raw = if load {
                match account.read_message(msg.id).await {
                    Ok(raw) => Some(raw),
                    // Gone since the snapshot: the next refresh reports it.
                    Err(BackendError::NotFound) => continue,
                    Err(e) => return Err(Fail::Backend(e)),
                }
            } else {
                None
            };
            for piece in render(seq, &msg, &items, raw.as_deref(), add_flags) {
                self.conn.write(&piece).await?;
            }
        }
        Ok(Reply::ok(if uid {
            "UID FETCH completed"
        } else {
            "FETCH completed"
        }))
    }

    /// STORE and UID STORE.
    pub(super) async fn store(
        &mut self,
        uid: bool,
        set: &SequenceSet,
        mode: StoreMode,
        silent: bool,
        flags: &[FlagName],
    ) -> Handled {
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
        let indices: Vec<usize> = indices
            .into_iter()
            .filter(|&i| !sel.msgs[i].expunged)
            .collect();
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

        let mut lines = Vec::new();
        if sel.note_keywords(&kw_add) {
            lines.extend(
                sel.flag_announcements()
                    .into_iter()
                    .map(|l| format!("* {l}\r\n")),
            );
        }
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
            if !silent {
                let uid_part = if uid {
                    format!("UID {} ", m.uid)
                } else {
                    String::new()
                };
                lines.push(format!(
                    "* {} FETCH ({uid_part}FLAGS ({}))\r\n",
                    i + 1,
                    m.flag_text()
                ));
            }
        }
        for line in lines {
            self.conn.write(line.as_bytes()).await?;
        }
        Ok(Reply::ok(if uid {
            "UID STORE completed"
        } else {
            "STORE completed"
        }))
    }
}
