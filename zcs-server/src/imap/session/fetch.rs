//! FETCH (RFC 3501 §6.4.5), plain and UID (§6.4.8), with CONDSTORE's MODSEQ item and
//! CHANGEDSINCE/VANISHED modifiers (RFC 7162 §3.1.4, §3.2.6).
//!
//! FETCH streams one response per message, reading each message from the backend at
//! most once and parsing its MIME structure only when an item needs it. Fetching a body
//! without `.PEEK` sets `\Seen` first and reports the new FLAGS.

use std::borrow::Cow;

use zcs_core::{Flags, ItemId};

use super::mailbox::Msg;
use super::{Fail, Handled, Session};
use crate::imap::backend::BackendError;
use crate::imap::cache::Summary;
use crate::imap::datetime;
use crate::imap::mime;
use crate::imap::parser::{FetchAtt, FetchItems, SectionText};
use crate::imap::response::Reply;
use crate::imap::sequence::SequenceSet;

fn sets_seen(att: &FetchAtt) -> bool {
    matches!(
        att,
        FetchAtt::BodySection { peek: false, .. }
            | FetchAtt::Binary { peek: false, .. }
            | FetchAtt::Rfc822
            | FetchAtt::Rfc822Text
    )
}

fn needs_raw(att: &FetchAtt) -> bool {
    !matches!(
        att,
        FetchAtt::Flags
            | FetchAtt::Uid
            | FetchAtt::InternalDate
            | FetchAtt::Rfc822Size
            | FetchAtt::ModSeq
    )
}

/// Whether the listener's summary (header block and rendered structures) can answer
/// `att` without the whole message: ENVELOPE, BODY, BODYSTRUCTURE and the top-level
/// header sections (RFC 3501 §6.4.5).
fn from_summary(att: &FetchAtt) -> bool {
    match att {
        FetchAtt::Envelope | FetchAtt::Body | FetchAtt::BodyStructure | FetchAtt::Rfc822Header => {
            true
        }
        FetchAtt::BodySection { section, .. } => {
            section.part.is_empty()
                && matches!(
                    section.text,
                    Some(SectionText::Header | SectionText::HeaderFields { .. })
                )
        }
        _ => !needs_raw(att),
    }
}

fn needs_structure(att: &FetchAtt) -> bool {
    matches!(att, FetchAtt::Body | FetchAtt::BodyStructure)
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
        self.payload(data);
    }

    /// Appends a `literal8` (RFC 3516 §4.2) when the data holds NUL, else a literal.
    fn literal8(&mut self, data: Cow<'a, [u8]>) {
        if data.contains(&0) {
            self.cur.push(b'~');
        }
        self.literal(data);
    }

    fn payload(&mut self, data: Cow<'a, [u8]>) {
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

/// Renders one FETCH response (CRLF included), as pieces to write in order. The items
/// come from the whole message `raw` when given, else from `summary` (every item then
/// satisfies [`from_summary`]).
fn render<'a>(
    seq: usize,
    msg: &Msg,
    items: &[FetchAtt],
    raw: Option<&'a [u8]>,
    summary: Option<&'a Summary>,
    add_flags: bool,
) -> Vec<Cow<'a, [u8]>> {
    let mut ch = Chunks {
        done: Vec::new(),
        cur: format!("* {seq} FETCH (").into_bytes(),
    };
    // Without the message, the header block stands in for it: every item asked for
    // looks at the header only.
    let source = raw.or(summary.map(|s| s.header.as_slice()));
    let parsed = source.map(mime::parse_message);
    let raw_bytes: &'a [u8] = source.unwrap_or_default();
    let structure = summary.and_then(|s| s.structure.as_ref());
    for (i, att) in items.iter().enumerate() {
        if i > 0 {
            ch.cur.push(b' ');
        }
        let out = &mut ch.cur;
        match att {
            FetchAtt::Uid => out.extend_from_slice(format!("UID {}", msg.uid).as_bytes()),
            // RFC 7162 §3.1.4.1.
            FetchAtt::ModSeq => {
                out.extend_from_slice(format!("MODSEQ ({})", msg.modseq).as_bytes());
            }
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
                match (structure, &parsed) {
                    (Some((body, full)), _) => {
                        out.extend_from_slice(if extended { full } else { body });
                    }
                    (None, Some(p)) => mime::write_body_structure(out, p, extended),
                    (None, None) => {}
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
            FetchAtt::Binary { part, partial, .. } => {
                let spec: Vec<String> = part.iter().map(u32::to_string).collect();
                out.extend_from_slice(format!("BINARY[{}]", spec.join(".")).as_bytes());
                let data = match parsed
                    .as_ref()
                    .and_then(|p| mime::binary_part(p, raw_bytes, part))
                {
                    Some(mime::Decoded::Bytes(d)) => d,
                    // LIMITATION: an unknown transfer encoding is sent undecoded rather
                    // than failing the whole FETCH with UNKNOWN-CTE.
                    Some(mime::Decoded::UnknownCte) | None => Cow::Borrowed(&[][..]),
                };
                let data = match partial {
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
                ch.literal8(data);
            }
            FetchAtt::BinarySize { part } => {
                let spec: Vec<String> = part.iter().map(u32::to_string).collect();
                let size = match parsed
                    .as_ref()
                    .and_then(|p| mime::binary_part(p, raw_bytes, part))
                {
                    Some(mime::Decoded::Bytes(d)) => d.len(),
                    Some(mime::Decoded::UnknownCte) | None => 0,
                };
                out.extend_from_slice(format!("BINARY.SIZE[{}] {size}", spec.join(".")).as_bytes());
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
    /// FETCH and UID FETCH. ENVELOPE, BODYSTRUCTURE and header sections of a message
    /// in the summary cache (`crate::imap::cache`) are answered without reading it;
    /// a message read for such items is summarised there for next time.
    pub(super) async fn fetch(
        &mut self,
        uid: bool,
        set: &SequenceSet,
        mut items: FetchItems,
        changed_since: Option<u64>,
        vanished: bool,
    ) -> Handled {
        // RFC 7162 §3.2.6: VANISHED needs UID FETCH and an enabled QRESYNC.
        if vanished && (!uid || !self.enabled.qresync) {
            return Ok(Reply::bad("VANISHED needs UID FETCH and QRESYNC"));
        }
        if changed_since.is_some() || items.contains(&FetchAtt::ModSeq) {
            self.enable_condstore().await?;
        }
        if let (Some(since), true) = (changed_since, vanished) {
            self.report_vanished_in(since, set).await?;
        }
        let (Some(account), Some(sel)) = (self.account.clone(), self.selected.as_mut()) else {
            return Ok(Reply::bad("No mailbox selected"));
        };
        let mut indices = match sel.resolve(set, uid) {
            Ok(i) => i,
            Err(reply) => return Ok(reply),
        };
        // RFC 7162 §3.1.4: CHANGEDSINCE keeps the messages changed after it and
        // implies MODSEQ.
        if let Some(since) = changed_since {
            indices.retain(|&i| sel.msgs[i].modseq > since);
            if !items.contains(&FetchAtt::ModSeq) {
                items.push(FetchAtt::ModSeq);
            }
        }
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
        // Whether the summary cache can answer every item, and whether it should learn
        // the messages read for this FETCH (clients that fetch headers or structure
        // tend to ask again; a plain BODY[] download does not).
        let summarised = items.iter().all(from_summary);
        let want_structure = items.iter().any(needs_structure);
        let remember = items.iter().any(|a| needs_raw(a) && from_summary(a));
        let cache = crate::imap::cache::global();
        for (n, (seq, msg, add_flags)) in jobs.into_iter().enumerate() {
            // Breaker finding H2: a huge range must not hold this runtime thread; give
            // other sessions a turn every few messages.
            if n % 64 == 63 {
                tokio::task::yield_now().await;
            }
            let key = if load && (summarised || remember) {
                account.content_key(msg.id)
            } else {
                None
            };
            let hit = key
                .as_ref()
                .filter(|_| summarised)
                .and_then(|k| cache.get(k, msg.size))
                .filter(|s| !want_structure || s.structure.is_some());
            let mut summary = None;
            let raw = if load && hit.is_none() {
                match account.read_message(msg.id).await {
                    Ok(raw) => {
                        if remember && let Some(key) = key {
                            summary = Some(cache.put(key, msg.size, Summary::of_message(&raw)));
                        }
                        Some(raw)
                    }
                    // Gone since the snapshot: the next refresh reports it.
                    Err(BackendError::NotFound) => continue,
                    Err(e) => return Err(Fail::Backend(e)),
                }
            } else {
                None
            };
            let summary = hit.or(summary);
            for piece in render(
                seq,
                &msg,
                &items,
                raw.as_deref(),
                summary.as_deref(),
                add_flags,
            ) {
                self.conn.write(&piece).await?;
            }
        }
        Ok(Reply::ok(if uid {
            "UID FETCH completed"
        } else {
            "FETCH completed"
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::parser::Section;
    use proptest::prelude::*;

    fn msg(size: u64) -> Msg {
        Msg {
            uid: 7,
            id: ItemId(300),
            flags: Flags(0),
            keywords: Vec::new(),
            internal_date_ms: 0,
            size,
            modseq: 1,
            recent: false,
            expunged: false,
        }
    }

    fn summary_items() -> Vec<FetchAtt> {
        vec![
            FetchAtt::Uid,
            FetchAtt::Rfc822Size,
            FetchAtt::Envelope,
            FetchAtt::Body,
            FetchAtt::BodyStructure,
            FetchAtt::Rfc822Header,
            FetchAtt::BodySection {
                peek: true,
                section: Section {
                    part: Vec::new(),
                    text: Some(SectionText::HeaderFields {
                        not: false,
                        fields: vec!["From".into(), "Subject".into(), "X-Missing".into()],
                    }),
                },
                partial: None,
            },
            FetchAtt::BodySection {
                peek: true,
                section: Section {
                    part: Vec::new(),
                    text: Some(SectionText::HeaderFields {
                        not: true,
                        fields: vec!["Received".into()],
                    }),
                },
                partial: Some((2, 40)),
            },
            FetchAtt::BodySection {
                peek: true,
                section: Section {
                    part: Vec::new(),
                    text: Some(SectionText::Header),
                },
                partial: None,
            },
        ]
    }

    fn both_ways(raw: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let items = summary_items();
        assert!(items.iter().all(from_summary));
        let m = msg(raw.len() as u64);
        let from_raw = render(1, &m, &items, Some(raw), None, false).concat();
        let full = Summary::of_message(raw);
        let from_full = render(1, &m, &items, None, Some(&full), false).concat();
        // A header-only summary (what SORT/SEARCH store) serves every item but the
        // structures.
        let header_only = Summary {
            header: mime::split_header(raw).0.to_vec(),
            structure: None,
        };
        let no_structure: Vec<FetchAtt> = items
            .iter()
            .filter(|a| !needs_structure(a))
            .cloned()
            .collect();
        let a = render(1, &m, &no_structure, Some(raw), None, false).concat();
        let b = render(1, &m, &no_structure, None, Some(&header_only), false).concat();
        assert_eq!(a, b);
        (from_raw, from_full, a)
    }

    #[test]
    fn the_summary_answers_as_the_message() {
        for raw in [
            &b"From: a@b.c\r\nSubject: hi\r\nReceived: x\r\n\r\nbody\r\n"[..],
            b"Subject: bare LF\nFrom: x@y\n\nbody\n",
            b"Subject: no body at all\r\n",
            b"",
            b"\r\nonly a body\r\n",
            b"Content-Type: multipart/mixed; boundary=q\r\nSubject: m\r\n\r\n--q\r\n\
              Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n\
              --q--\r\n",
        ] {
            let (from_raw, from_full, _) = both_ways(raw);
            assert_eq!(
                String::from_utf8_lossy(&from_raw),
                String::from_utf8_lossy(&from_full)
            );
        }
    }

    proptest! {
        #[test]
        fn the_summary_never_differs(
            raw in proptest::collection::vec(
                prop_oneof![
                    Just(b'\r'), Just(b'\n'), Just(b':'), Just(b' '), Just(b'-'),
                    Just(b'a'), Just(b'F'), Just(b';'), Just(b'='), Just(b'"'),
                    any::<u8>(),
                ],
                0..300,
            )
        ) {
            let (from_raw, from_full, _) = both_ways(&raw);
            prop_assert_eq!(from_raw, from_full);
        }
    }
}
