//! The Zimbra-level extensions that read the selected mailbox as a whole: SORT and
//! ESORT (RFC 5256, RFC 5267), THREAD (RFC 5256), the saved search result `$`
//! (RFC 5182), QUOTA (RFC 9208) with ACL (RFC 4314) in `acl`.

use super::thread::{self, SortFields};
use zcs_core::ItemId;

use super::{Fail, Handled, Session, heavy};
use crate::imap::parser::{CommandKind, SearchKey, SearchReturn, SortCriterion, ThreadAlgorithm};
use crate::imap::response::{Reply, push_mailbox_as, push_string};
use crate::imap::sequence::SequenceSet;

fn charset_ok(cs: &str) -> bool {
    cs.eq_ignore_ascii_case("UTF-8") || cs.eq_ignore_ascii_case("US-ASCII")
}

fn bad_charset() -> Reply {
    Reply::no("Unsupported charset").with_code("BADCHARSET (UTF-8 US-ASCII)")
}

impl Session {
    /// Replaces RFC 5182's `$` in a command by the saved result: UIDs for UID
    /// commands and search keys, current sequence numbers otherwise.
    pub(super) fn substitute_saved(&self, kind: &mut CommandKind) {
        let Some(sel) = self.selected.as_ref() else {
            return;
        };
        let uids = SequenceSet::from_numbers(&self.saved);
        let seqs = || {
            let nums: Vec<u32> = sel
                .msgs
                .iter()
                .enumerate()
                .filter(|(_, m)| self.saved.binary_search(&m.uid).is_ok())
                .map(|(i, _)| u32::try_from(i + 1).unwrap_or(u32::MAX))
                .collect();
            SequenceSet::from_numbers(&nums)
        };
        use CommandKind as K;
        match kind {
            K::Fetch { uid, set, .. }
            | K::Store { uid, set, .. }
            | K::Copy { uid, set, .. }
            | K::Move { uid, set, .. }
                if set.is_saved() =>
            {
                *set = if *uid { uids } else { seqs() };
            }
            K::Expunge { uids: Some(set) } if set.is_saved() => *set = uids,
            K::Search { key, .. } | K::Sort { key, .. } | K::Thread { key, .. } => {
                substitute_key(key, &uids);
            }
            _ => {}
        }
    }

    /// The extension commands not handled by `dispatch` itself.
    pub(super) async fn dispatch_ext(&mut self, tag: &str, kind: CommandKind) -> Handled {
        use CommandKind as K;
        match kind {
            K::Sort {
                uid,
                ret,
                criteria,
                charset,
                key,
            } => self.sort(tag, uid, ret, &criteria, &charset, &key).await,
            K::Thread {
                uid,
                algorithm,
                charset,
                key,
            } => self.thread(uid, algorithm, &charset, &key).await,
            K::GetQuota(root) => self.get_quota(&root).await,
            K::GetQuotaRoot(mailbox) => self.get_quota_root(&mailbox).await,
            // RFC 9208 §4.3: only an administrator may set limits (zmprov ma
            // zimbraMailQuota).
            K::SetQuota(_) => {
                Ok(Reply::no("Quota is set by the administrator").with_code("NOPERM"))
            }
            K::GetAcl(mailbox) => self.get_acl(&mailbox).await,
            K::MyRights(mailbox) => self.my_rights(&mailbox).await,
            K::ListRights {
                mailbox,
                identifier,
            } => self.list_rights(&mailbox, &identifier).await,
            K::SetAcl {
                mailbox,
                identifier,
                rights,
            } => self.set_acl(&mailbox, &identifier, Some(&rights)).await,
            K::DeleteAcl {
                mailbox,
                identifier,
            } => self.set_acl(&mailbox, &identifier, None).await,
            _ => Ok(Reply::bad("Command not supported here")),
        }
    }

    /// The sort fields of the given snapshot indices: headers read a chunk at a time,
    /// parsed on a blocking worker (`heavy`).
    async fn sort_fields(&mut self, indices: &[usize], uid: bool) -> Result<Vec<SortFields>, Fail> {
        let (Some(account), Some(sel)) = (self.account.clone(), self.selected.as_ref()) else {
            return Ok(Vec::new());
        };
        let picked: Vec<(u32, u32, i64, u64, ItemId)> = indices
            .iter()
            .map(|&i| {
                let m = &sel.msgs[i];
                let seq = u32::try_from(i + 1).unwrap_or(u32::MAX);
                let num = if uid { m.uid } else { seq };
                (num, seq, m.internal_date_ms, m.size, m.id)
            })
            .collect();
        let mut out = Vec::with_capacity(picked.len());
        for chunk in picked.chunks(heavy::CHUNK) {
            let headers = heavy::read_headers(&account, chunk.iter().map(|p| (p.4, p.3))).await?;
            let chunk = chunk.to_vec();
            let part = heavy::run(move || {
                chunk
                    .iter()
                    .zip(headers)
                    .filter_map(|(&(num, seq, date, size, _), header)| {
                        let header = header?;
                        Some(SortFields::from_header(num, seq, date, size, &header))
                    })
                    .collect::<Vec<_>>()
            })
            .await?;
            out.extend(part);
        }
        Ok(out)
    }

    /// SORT and UID SORT (RFC 5256 §3), ESORT with RETURN (RFC 5267 §3.2).
    async fn sort(
        &mut self,
        tag: &str,
        uid: bool,
        ret: Option<SearchReturn>,
        criteria: &[SortCriterion],
        charset: &str,
        key: &SearchKey,
    ) -> Handled {
        if !charset_ok(charset) {
            return Ok(bad_charset());
        }
        let indices = self.matching(key).await?;
        let fields = self.sort_fields(&indices, uid).await?;
        let criteria = criteria.to_vec();
        let nums: Vec<u32> = heavy::run(move || {
            let mut fields = fields;
            thread::sort(&mut fields, &criteria);
            fields.iter().map(|f| f.num).collect()
        })
        .await?;
        let done = if uid {
            "UID SORT completed"
        } else {
            "SORT completed"
        };
        if let Some(r) = ret {
            if r.save
                && let Some(sel) = self.selected.as_ref()
            {
                self.saved = indices.iter().map(|&i| sel.msgs[i].uid).collect();
            }
            if !r.returns_something() {
                return Ok(Reply::ok(done));
            }
            // RFC 5267 §3.2: ESEARCH, with ALL in sort order and MIN/MAX the first and
            // last of it.
            let mut line = b"* ESEARCH (TAG ".to_vec();
            push_string(&mut line, tag.as_bytes());
            line.push(b')');
            if uid {
                line.extend_from_slice(b" UID");
            }
            if r.min
                && let Some(first) = nums.first()
            {
                line.extend_from_slice(format!(" MIN {first}").as_bytes());
            }
            if r.max
                && let Some(last) = nums.last()
            {
                line.extend_from_slice(format!(" MAX {last}").as_bytes());
            }
            if r.count {
                line.extend_from_slice(format!(" COUNT {}", nums.len()).as_bytes());
            }
            if r.all && !nums.is_empty() {
                let list: Vec<String> = nums.iter().map(u32::to_string).collect();
                line.extend_from_slice(format!(" ALL {}", list.join(",")).as_bytes());
            }
            line.extend_from_slice(b"\r\n");
            self.conn.write(&line).await?;
            return Ok(Reply::ok(done));
        }
        let mut line = String::from("SORT");
        for n in nums {
            line.push(' ');
            line.push_str(&n.to_string());
        }
        self.untagged(&line).await?;
        Ok(Reply::ok(done))
    }

    /// THREAD and UID THREAD (RFC 5256 §3, §4).
    async fn thread(
        &mut self,
        uid: bool,
        algorithm: ThreadAlgorithm,
        charset: &str,
        key: &SearchKey,
    ) -> Handled {
        if !charset_ok(charset) {
            return Ok(bad_charset());
        }
        let indices = self.matching(key).await?;
        let fields = self.sort_fields(&indices, uid).await?;
        // Threading large folders is CPU work: off the runtime threads.
        let text = heavy::run(move || match algorithm {
            ThreadAlgorithm::OrderedSubject => thread::thread_ordered_subject(&fields),
            ThreadAlgorithm::References => thread::thread_references(&fields),
        })
        .await?;
        let line = if text.is_empty() {
            "THREAD".to_string()
        } else {
            format!("THREAD {text}")
        };
        self.untagged(&line).await?;
        Ok(Reply::ok(if uid {
            "UID THREAD completed"
        } else {
            "THREAD completed"
        }))
    }

    /// The `* QUOTA "" (STORAGE used limit)` line (RFC 9208 §5.1: units of 1024 octets).
    async fn quota_line(&mut self) -> Result<bool, Fail> {
        let Some(account) = self.account.clone() else {
            return Ok(false);
        };
        let Some((used, limit)) = account.quota().await? else {
            return Ok(false);
        };
        let kib = |b: u64| b.div_ceil(1024);
        self.untagged(&format!(
            "QUOTA \"\" (STORAGE {} {})",
            kib(used),
            kib(limit)
        ))
        .await?;
        Ok(true)
    }

    /// GETQUOTA (RFC 9208 §4.2): the account has one quota root, `""`.
    async fn get_quota(&mut self, root: &str) -> Handled {
        if !root.is_empty() || !self.quota_line().await? {
            return Ok(Reply::no("No such quota root").with_code("NONEXISTENT"));
        }
        Ok(Reply::ok("GETQUOTA completed"))
    }

    /// GETQUOTAROOT (RFC 9208 §4.3).
    async fn get_quota_root(&mut self, mailbox: &str) -> Handled {
        if self.find_folder(mailbox).await?.is_none() {
            return Ok(Reply::no("No such mailbox").with_code("NONEXISTENT"));
        }
        let account = self.account.clone();
        let has = match account {
            Some(a) => a.quota().await?.is_some(),
            None => false,
        };
        let mut line = b"* QUOTAROOT ".to_vec();
        push_mailbox_as(&mut line, mailbox, self.enabled.utf8);
        if has {
            line.extend_from_slice(b" \"\"");
        }
        line.extend_from_slice(b"\r\n");
        self.conn.write(&line).await?;
        if has {
            self.quota_line().await?;
        }
        Ok(Reply::ok("GETQUOTAROOT completed"))
    }
}

fn substitute_key(key: &mut SearchKey, uids: &SequenceSet) {
    match key {
        SearchKey::Seq(set) | SearchKey::Uid(set) if set.is_saved() => {
            *key = SearchKey::Uid(uids.clone());
        }
        SearchKey::Not(k) => substitute_key(k, uids),
        SearchKey::Or(a, b) => {
            substitute_key(a, uids);
            substitute_key(b, uids);
        }
        SearchKey::And(keys) => keys.iter_mut().for_each(|k| substitute_key(k, uids)),
        _ => {}
    }
}
