//! SEARCH and UID SEARCH (RFC 3501 §6.4.4).
//!
//! Flag, size, date and set keys are answered from the session's snapshot (kept
//! current from the backend's flag listing, see `mailbox`). Substring keys (FROM, TO,
//! CC, SUBJECT, HEADER of those, BODY, TEXT) are first narrowed by the backend's index
//! (`substring`): only the messages it is unsure of are read and checked. Other header
//! keys (BCC, other HEADER names, SENT*) and keys the backend cannot narrow read the
//! message header, matching case-insensitive substrings of both the raw value and its
//! decoded form; BODY and TEXT then go to the backend's full-text search.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::NaiveDate;
use mail_parser::{Address, HeaderValue, MessageParser};
use zcs_core::{Flags, ItemId};

use super::mailbox::Msg;
use super::substring::{self, Narrowed};
use super::{Fail, Handled, Session, heavy};
use crate::imap::backend::TextField;
use crate::imap::datetime;
use crate::imap::mime;
use crate::imap::parser::{SearchKey, SearchReturn};
use crate::imap::sequence::Ranges;

/// What the evaluation of one message needs besides its snapshot entry.
struct Ctx<'a> {
    seq: u32,
    max_seq: u32,
    max_uid: u32,
    msg: &'a Msg,
    header: Option<&'a [u8]>,
    text_hits: &'a HashMap<(bool, String), HashSet<ItemId>>,
    /// The matching items of the substring keys the index narrowed.
    narrowed: &'a Narrowed,
    /// The time of the search, ms since the epoch (WITHIN, RFC 5032).
    now_ms: i64,
}

/// What every message's evaluation shares: the folder's bounds, the index hits of the
/// TEXT/BODY keys and the time of the search.
#[derive(Clone)]
struct Frame {
    max_seq: u32,
    max_uid: u32,
    text_hits: Arc<HashMap<(bool, String), HashSet<ItemId>>>,
    narrowed: Arc<Narrowed>,
    now_ms: i64,
}

impl Frame {
    /// The snapshot indices of `msgs` (index, message) matching `key`; `headers[i]` is
    /// the header of `msgs[i]`, `None` when it was not read or the message vanished
    /// (skipped when `need_header`).
    fn eval_chunk(
        &self,
        key: &SearchKey,
        msgs: &[(usize, Msg)],
        headers: &[Option<Vec<u8>>],
        need_header: bool,
    ) -> Vec<usize> {
        let mut found = Vec::new();
        for ((i, msg), header) in msgs.iter().zip(headers) {
            if need_header && header.is_none() {
                continue;
            }
            let ctx = Ctx {
                seq: u32::try_from(i + 1).unwrap_or(u32::MAX),
                max_seq: self.max_seq,
                max_uid: self.max_uid,
                msg,
                header: header.as_deref(),
                text_hits: &self.text_hits,
                narrowed: &self.narrowed,
                now_ms: self.now_ms,
            };
            if eval(key, &ctx) {
                found.push(*i);
            }
        }
        found
    }
}

/// I18NLEVEL=1 (RFC 5255 §4): substring matching under `i;unicode-casemap`.
pub(super) fn lower(text: &str) -> String {
    super::thread::casemap(text)
}

/// Whether evaluating `key` reads message headers: a header key the index did not
/// narrow.
fn needs_header(key: &SearchKey, narrowed: &Narrowed) -> bool {
    use SearchKey::*;
    if let Some(k) = substring::sub_key(key) {
        return !matches!(key, Body(_) | Text(_)) && !narrowed.contains_key(&k);
    }
    match key {
        Bcc(_) | Header(..) | SentBefore(_) | SentOn(_) | SentSince(_) => true,
        Not(k) => needs_header(k, narrowed),
        Or(a, b) => needs_header(a, narrowed) || needs_header(b, narrowed),
        And(keys) => keys.iter().any(|k| needs_header(k, narrowed)),
        _ => false,
    }
}

/// Whether a key tests MODSEQ (RFC 7162 §3.1.5: the SEARCH response then ends with
/// the highest MODSEQ of the messages found).
fn uses_modseq(key: &SearchKey) -> bool {
    use SearchKey::*;
    match key {
        ModSeq(_) => true,
        Not(k) => uses_modseq(k),
        Or(a, b) => uses_modseq(a) || uses_modseq(b),
        And(keys) => keys.iter().any(uses_modseq),
        _ => false,
    }
}

/// The BODY and TEXT keys the index did not narrow, as (body only, text).
fn collect_text_keys(key: &SearchKey, narrowed: &Narrowed, out: &mut Vec<(bool, String)>) {
    use SearchKey::*;
    if substring::sub_key(key).is_some_and(|k| narrowed.contains_key(&k)) {
        return;
    }
    match key {
        Text(t) => out.push((false, t.clone())),
        Body(t) => out.push((true, t.clone())),
        Not(k) => collect_text_keys(k, narrowed, out),
        Or(a, b) => {
            collect_text_keys(a, narrowed, out);
            collect_text_keys(b, narrowed, out);
        }
        And(keys) => keys
            .iter()
            .for_each(|k| collect_text_keys(k, narrowed, out)),
        _ => {}
    }
}

/// The searchable texts of every `name` field of a header: the raw unfolded value and,
/// when mail-parser understands the field, its decoded form.
fn header_texts(header: &[u8], name: &str) -> Vec<String> {
    let mut texts: Vec<String> = mime::header_fields(header)
        .filter(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
        .map(|f| String::from_utf8_lossy(&mime::unfold(f.value)).into_owned())
        .collect();
    if texts.is_empty() {
        return texts;
    }
    if let Some(parsed) = MessageParser::new().parse_headers(header) {
        for h in parsed.headers() {
            if !h.name.as_str().eq_ignore_ascii_case(name) {
                continue;
            }
            match &h.value {
                HeaderValue::Text(t) => texts.push(t.to_string()),
                HeaderValue::TextList(list) => texts.push(list.join(" ")),
                HeaderValue::Address(Address::List(list)) => {
                    for a in list {
                        texts.push(format!(
                            "{} <{}>",
                            a.name().unwrap_or_default(),
                            a.address().unwrap_or_default()
                        ));
                    }
                }
                HeaderValue::Address(Address::Group(groups)) => {
                    for g in groups {
                        texts.push(g.name.as_deref().unwrap_or_default().to_string());
                        for a in &g.addresses {
                            texts.push(format!(
                                "{} <{}>",
                                a.name().unwrap_or_default(),
                                a.address().unwrap_or_default()
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    texts
}

/// Whether a `name` field of `header` contains `needle`, raw or decoded,
/// case-insensitively.
pub(super) fn header_contains(header: Option<&[u8]>, name: &str, needle: &str) -> bool {
    let Some(header) = header else {
        return false;
    };
    let needle = lower(needle);
    header_texts(header, name)
        .iter()
        .any(|t| lower(t).contains(&needle))
}

/// The calendar date written in the Date: header (RFC 3501 §6.4.4: "disregarding time
/// and timezone").
fn sent_date(header: Option<&[u8]>) -> Option<NaiveDate> {
    let header = header?;
    let field = mime::header_fields(header).find(|f| f.name.eq_ignore_ascii_case(b"Date"))?;
    let value = String::from_utf8_lossy(&mime::unfold(field.value)).into_owned();
    let dt = mail_parser::DateTime::parse_rfc822(&value)?;
    NaiveDate::from_ymd_opt(i32::from(dt.year), u32::from(dt.month), u32::from(dt.day))
}

fn has_keyword(msg: &Msg, keyword: &str) -> bool {
    if keyword.eq_ignore_ascii_case("$Forwarded") {
        return msg.flags.contains(Flags::FORWARDED);
    }
    msg.keywords.iter().any(|k| k.eq_ignore_ascii_case(keyword))
}

fn in_set(set: &crate::imap::sequence::SequenceSet, star: u32, n: u32) -> bool {
    let ranges: Ranges = set.resolve(star);
    ranges.contains(n)
}

fn eval(key: &SearchKey, c: &Ctx<'_>) -> bool {
    use SearchKey::*;
    let m = c.msg;
    let f = m.flags;
    let date = || datetime::date_of(m.internal_date_ms);
    if let Some(set) = substring::sub_key(key).and_then(|k| c.narrowed.get(&k)) {
        return set.contains(&m.id);
    }
    match key {
        All => true,
        Answered => f.contains(Flags::ANSWERED),
        Deleted => f.contains(Flags::DELETED),
        Draft => f.contains(Flags::DRAFT),
        Flagged => f.contains(Flags::FLAGGED),
        Seen => !f.contains(Flags::UNREAD),
        Recent => m.recent,
        New => m.recent && f.contains(Flags::UNREAD),
        Old => !m.recent,
        Unanswered => !f.contains(Flags::ANSWERED),
        Undeleted => !f.contains(Flags::DELETED),
        Undraft => !f.contains(Flags::DRAFT),
        Unflagged => !f.contains(Flags::FLAGGED),
        Unseen => f.contains(Flags::UNREAD),
        Keyword(k) => has_keyword(m, k),
        Unkeyword(k) => !has_keyword(m, k),
        Bcc(s) => header_contains(c.header, "Bcc", s),
        Cc(s) => header_contains(c.header, "Cc", s),
        From(s) => header_contains(c.header, "From", s),
        To(s) => header_contains(c.header, "To", s),
        Subject(s) => header_contains(c.header, "Subject", s),
        Header(name, s) => header_contains(c.header, name, s),
        Body(s) => c
            .text_hits
            .get(&(true, s.clone()))
            .is_some_and(|hits| hits.contains(&m.id)),
        Text(s) => c
            .text_hits
            .get(&(false, s.clone()))
            .is_some_and(|hits| hits.contains(&m.id)),
        Before(d) => date() < *d,
        On(d) => date() == *d,
        Since(d) => date() >= *d,
        SentBefore(d) => sent_date(c.header).is_some_and(|s| s < *d),
        SentOn(d) => sent_date(c.header).is_some_and(|s| s == *d),
        SentSince(d) => sent_date(c.header).is_some_and(|s| s >= *d),
        Larger(n) => m.size > u64::from(*n),
        // RFC 5032 §3: the age is whole seconds between the internal date and now.
        Older(n) => c.now_ms.saturating_sub(m.internal_date_ms) / 1000 > i64::from(*n),
        Younger(n) => c.now_ms.saturating_sub(m.internal_date_ms) / 1000 <= i64::from(*n),
        Smaller(n) => m.size < u64::from(*n),
        Uid(set) => in_set(set, c.max_uid, m.uid),
        Seq(set) => in_set(set, c.max_seq, c.seq),
        ModSeq(n) => m.modseq >= *n,
        Not(k) => !eval(k, c),
        Or(a, b) => eval(a, c) || eval(b, c),
        And(keys) => keys.iter().all(|k| eval(k, c)),
    }
}

/// The RFC 4731 §3.1 `* ESEARCH` response (CRLF included): the command's tag, `UID` for
/// UID SEARCH, then the requested results; MIN, MAX and ALL are left out when nothing
/// matched. `modseq` is RFC 7162 §3.1.5's highest MODSEQ of the matches.
fn esearch_line(
    tag: &str,
    uid: bool,
    ret: SearchReturn,
    found: &[(u32, u64)],
    modseq: Option<u64>,
) -> Vec<u8> {
    let mut line = b"* ESEARCH (TAG ".to_vec();
    crate::imap::response::push_string(&mut line, tag.as_bytes());
    line.push(b')');
    if uid {
        line.extend_from_slice(b" UID");
    }
    let nums: Vec<u32> = found.iter().map(|&(n, _)| n).collect();
    let mut parts = Vec::new();
    if let (Some(min), true) = (nums.iter().min(), ret.min) {
        parts.push(format!("MIN {min}"));
    }
    if let (Some(max), true) = (nums.iter().max(), ret.max) {
        parts.push(format!("MAX {max}"));
    }
    if ret.count {
        parts.push(format!("COUNT {}", nums.len()));
    }
    if ret.all && !nums.is_empty() {
        let mut sorted = nums.clone();
        sorted.sort_unstable();
        parts.push(format!("ALL {}", crate::imap::sequence::compact(&sorted)));
    }
    if let Some(ms) = modseq {
        parts.push(format!("MODSEQ {ms}"));
    }
    for p in parts {
        line.push(b' ');
        line.extend_from_slice(p.as_bytes());
    }
    line.extend_from_slice(b"\r\n");
    line
}

impl Session {
    /// The 0-based indices (ascending) of the selected mailbox's messages that match
    /// `key`, ghosts excluded. TEXT and BODY go to the index once per distinct text.
    ///
    /// Header keys read the folder a chunk at a time; each chunk is evaluated on a
    /// blocking worker (`heavy`), so a search of a large folder never holds a runtime
    /// thread. Keys that need no header are evaluated in place for small folders.
    pub(super) async fn matching(&mut self, key: &SearchKey) -> Result<Vec<usize>, Fail> {
        let (Some(account), Some(sel)) = (self.account.clone(), self.selected.as_ref()) else {
            return Ok(Vec::new());
        };
        let folder = sel.folder;
        let msgs: Vec<(usize, Msg)> = sel
            .msgs
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.expunged)
            .map(|(i, m)| (i, m.clone()))
            .collect();
        let max_seq = u32::try_from(sel.msgs.len()).unwrap_or(u32::MAX);
        let max_uid = sel.msgs.last().map_or(0, |m| m.uid);

        let mut sub_keys = Vec::new();
        substring::collect(key, &mut sub_keys);
        let narrowed = if sub_keys.is_empty() {
            Narrowed::new()
        } else {
            let sizes: HashMap<ItemId, u64> = msgs.iter().map(|(_, m)| (m.id, m.size)).collect();
            substring::narrow(&account, folder, sub_keys, &sizes).await?
        };

        let mut wanted = Vec::new();
        collect_text_keys(key, &narrowed, &mut wanted);
        let mut text_hits: HashMap<(bool, String), HashSet<ItemId>> = HashMap::new();
        for (body_only, query) in wanted {
            if text_hits.contains_key(&(body_only, query.clone())) {
                continue;
            }
            let field = if body_only {
                TextField::Body
            } else {
                TextField::Text
            };
            let hits = account.search_text(folder, &query, field).await?;
            text_hits.insert((body_only, query), hits.into_iter().collect());
        }

        let frame = Frame {
            max_seq,
            max_uid,
            text_hits: Arc::new(text_hits),
            narrowed: Arc::new(narrowed),
            now_ms: chrono::Utc::now().timestamp_millis(),
        };
        let read_header = needs_header(key, &frame.narrowed);
        if !read_header && msgs.len() <= heavy::CHUNK {
            let headers = vec![None; msgs.len()];
            return Ok(frame.eval_chunk(key, &msgs, &headers, false));
        }
        let key = Arc::new(key.clone());
        let mut found = Vec::new();
        for chunk in msgs.chunks(heavy::CHUNK) {
            let headers = if read_header {
                heavy::read_headers(&account, chunk.iter().map(|(_, m)| (m.id, m.size))).await?
            } else {
                vec![None; chunk.len()]
            };
            let chunk = chunk.to_vec();
            let (frame, key) = (frame.clone(), key.clone());
            let part =
                heavy::run(move || frame.eval_chunk(&key, &chunk, &headers, read_header)).await?;
            found.extend(part);
        }
        Ok(found)
    }

    /// SEARCH and UID SEARCH (ESEARCH form when `ret` is given).
    ///
    /// LIMITATION: header keys the index cannot narrow (BCC, SENT*, other HEADER names)
    /// read each message's header through the summary cache, one blob read per message
    /// not in it (parsing runs on a blocking worker, see `heavy`).
    pub(super) async fn search(
        &mut self,
        tag: &str,
        uid: bool,
        ret: Option<SearchReturn>,
        charset: Option<&str>,
        key: &SearchKey,
    ) -> Handled {
        use crate::imap::response::Reply;
        if let Some(cs) = charset
            && !cs.eq_ignore_ascii_case("UTF-8")
            && !cs.eq_ignore_ascii_case("US-ASCII")
        {
            let reply = Reply::no("Unsupported charset");
            return Ok(reply.with_code("BADCHARSET (UTF-8 US-ASCII)"));
        }
        let with_modseq = uses_modseq(key);
        if with_modseq {
            self.enable_condstore().await?;
        }
        let (Some(account), Some(sel)) = (self.account.clone(), self.selected.as_ref()) else {
            return Ok(Reply::bad("No mailbox selected"));
        };
        let _ = (account, sel);
        let indices = self.matching(key).await?;
        let Some(sel) = self.selected.as_ref() else {
            return Ok(Reply::bad("No mailbox selected"));
        };
        let found: Vec<(u32, u64)> = indices
            .iter()
            .map(|&i| {
                let m = &sel.msgs[i];
                let seq = u32::try_from(i + 1).unwrap_or(u32::MAX);
                (if uid { m.uid } else { seq }, m.modseq)
            })
            .collect();
        // RFC 5182 §2.1: SAVE keeps the result (as UIDs) for "$".
        if let Some(r) = ret.filter(|r| r.save) {
            self.saved = indices.iter().map(|&i| sel.msgs[i].uid).collect();
            if !r.returns_something() {
                return Ok(Reply::ok(if uid {
                    "UID SEARCH completed"
                } else {
                    "SEARCH completed"
                }));
            }
        }
        let top_modseq = found
            .iter()
            .map(|&(_, ms)| ms)
            .max()
            .filter(|_| with_modseq);
        if let Some(ret) = ret {
            let line = esearch_line(tag, uid, ret, &found, top_modseq);
            self.conn.write(&line).await?;
            return Ok(Reply::ok(if uid {
                "UID SEARCH completed"
            } else {
                "SEARCH completed"
            }));
        }
        let mut line = String::from("SEARCH");
        for (n, _) in &found {
            line.push(' ');
            line.push_str(&n.to_string());
        }
        if let Some(top) = found
            .iter()
            .map(|&(_, ms)| ms)
            .max()
            .filter(|_| with_modseq)
        {
            line.push_str(&format!(" (MODSEQ {top})"));
        }
        self.untagged(&line).await?;
        Ok(Reply::ok(if uid {
            "UID SEARCH completed"
        } else {
            "SEARCH completed"
        }))
    }
}
