//! The syntax of SORT and ESORT (RFC 5256 §3, RFC 5267 §3), THREAD (RFC 5256 §3),
//! QUOTA (RFC 9208 §4), ACL (RFC 4314 §3), COMPRESS (RFC 4978 §3) and STARTTLS.

use super::command::CommandKind;
use super::ext::{self, SearchReturn};
use super::items::SearchKey;
use super::{Cursor, Step};
use crate::imap::utf7;

/// A SORT key (RFC 5256 §3 `sort-key`, RFC 5957 DISPLAYFROM/DISPLAYTO).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Arrival,
    Cc,
    Date,
    From,
    Size,
    Subject,
    To,
    DisplayFrom,
    DisplayTo,
}

/// One sort criterion: a key, possibly REVERSE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortCriterion {
    pub reverse: bool,
    pub key: SortKey,
}

/// A THREAD algorithm (RFC 5256 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadAlgorithm {
    OrderedSubject,
    References,
}

/// Longest list of sort criteria accepted.
const MAX_CRITERIA: usize = 16;

fn search_keys(c: &mut Cursor<'_>) -> Step<SearchKey> {
    let mut keys = vec![c.search_key(0)?];
    while c.eat(b' ') {
        keys.push(c.search_key(0)?);
    }
    Ok(SearchKey::And(keys))
}

fn charset(c: &mut Cursor<'_>) -> Step<String> {
    Ok(String::from_utf8_lossy(&c.astring()?).into_owned())
}

/// `SORT [RETURN (...)] (criteria) charset search-keys` (RFC 5256 §3, RFC 5267 §3.2).
pub(super) fn sort(c: &mut Cursor<'_>, uid: bool) -> Step<CommandKind> {
    c.sp()?;
    let ret: Option<SearchReturn> = ext::search_return(c)?;
    c.expect(b'(', "expected sort criteria")?;
    let mut criteria = Vec::new();
    loop {
        let reverse = c.eat_word("REVERSE");
        if reverse {
            c.sp()?;
        }
        let word = c.atom()?.to_ascii_uppercase();
        let key = match word.as_slice() {
            b"ARRIVAL" => SortKey::Arrival,
            b"CC" => SortKey::Cc,
            b"DATE" => SortKey::Date,
            b"FROM" => SortKey::From,
            b"SIZE" => SortKey::Size,
            b"SUBJECT" => SortKey::Subject,
            b"TO" => SortKey::To,
            b"DISPLAYFROM" => SortKey::DisplayFrom,
            b"DISPLAYTO" => SortKey::DisplayTo,
            _ => return Err("unknown sort key"),
        };
        criteria.push(SortCriterion { reverse, key });
        if criteria.len() > MAX_CRITERIA {
            return Err("too many sort criteria");
        }
        if c.eat(b')') {
            break;
        }
        c.sp()?;
    }
    c.sp()?;
    let charset = charset(c)?;
    c.sp()?;
    Ok(CommandKind::Sort {
        uid,
        ret,
        criteria,
        charset,
        key: search_keys(c)?,
    })
}

/// `THREAD algorithm SP charset SP search-keys` (RFC 5256 §3).
pub(super) fn thread(c: &mut Cursor<'_>, uid: bool) -> Step<CommandKind> {
    c.sp()?;
    let word = c.atom()?.to_ascii_uppercase();
    let algorithm = match word.as_slice() {
        b"ORDEREDSUBJECT" => ThreadAlgorithm::OrderedSubject,
        b"REFERENCES" => ThreadAlgorithm::References,
        _ => return Err("unknown threading algorithm"),
    };
    c.sp()?;
    let charset = charset(c)?;
    c.sp()?;
    Ok(CommandKind::Thread {
        uid,
        algorithm,
        charset,
        key: search_keys(c)?,
    })
}

fn mailbox(c: &mut Cursor<'_>) -> Step<String> {
    let raw = c.astring()?;
    utf7::decode_name(&raw).map_err(|_| "mailbox name is not valid modified UTF-7")
}

fn astring_text(c: &mut Cursor<'_>) -> Step<String> {
    Ok(String::from_utf8_lossy(&c.astring()?).into_owned())
}

/// QUOTA (RFC 9208 §4.1-4.3), ACL (RFC 4314 §3.1-3.6), COMPRESS (RFC 4978 §3) and
/// STARTTLS; `None` when `name` is none of them.
pub(super) fn other(c: &mut Cursor<'_>, name: &[u8]) -> Step<Option<CommandKind>> {
    use CommandKind as K;
    let kind = match name {
        b"STARTTLS" => K::StartTls,
        b"COMPRESS" => {
            c.sp()?;
            K::Compress(String::from_utf8_lossy(c.atom()?).into_owned())
        }
        b"GETQUOTA" => {
            c.sp()?;
            K::GetQuota(astring_text(c)?)
        }
        b"GETQUOTAROOT" => {
            c.sp()?;
            K::GetQuotaRoot(mailbox(c)?)
        }
        b"SETQUOTA" => {
            c.sp()?;
            let root = astring_text(c)?;
            c.sp()?;
            // RFC 9208 §4.3: "(" [setquota-resource *(SP setquota-resource)] ")".
            c.expect(b'(', "expected quota resources")?;
            while !c.eat(b')') {
                c.atom()?;
                c.sp()?;
                c.modseq()?;
                c.eat(b' ');
                if c.at_end() {
                    return Err("unterminated quota list");
                }
            }
            K::SetQuota(root)
        }
        b"GETACL" => {
            c.sp()?;
            K::GetAcl(mailbox(c)?)
        }
        b"MYRIGHTS" => {
            c.sp()?;
            K::MyRights(mailbox(c)?)
        }
        b"LISTRIGHTS" | b"DELETEACL" => {
            c.sp()?;
            let mailbox = mailbox(c)?;
            c.sp()?;
            let identifier = astring_text(c)?;
            if name == b"LISTRIGHTS" {
                K::ListRights {
                    mailbox,
                    identifier,
                }
            } else {
                K::DeleteAcl {
                    mailbox,
                    identifier,
                }
            }
        }
        b"SETACL" => {
            c.sp()?;
            let mailbox = mailbox(c)?;
            c.sp()?;
            let identifier = astring_text(c)?;
            c.sp()?;
            K::SetAcl {
                mailbox,
                identifier,
                rights: astring_text(c)?,
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(kind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::parser::parse_command;
    use proptest::prelude::*;

    fn kind(text: &str) -> Result<CommandKind, String> {
        parse_command(text.as_bytes())
            .map(|c| c.kind)
            .map_err(|e| e.message)
    }

    #[test]
    fn parses_sort_and_thread() {
        match kind("a UID SORT (REVERSE DATE subject) UTF-8 ALL").unwrap() {
            CommandKind::Sort {
                uid,
                ret,
                criteria,
                charset,
                ..
            } => {
                assert!(uid && ret.is_none() && charset == "UTF-8");
                assert_eq!(
                    criteria,
                    vec![
                        SortCriterion {
                            reverse: true,
                            key: SortKey::Date
                        },
                        SortCriterion {
                            reverse: false,
                            key: SortKey::Subject
                        }
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            kind("a SORT RETURN (MIN COUNT) (ARRIVAL) US-ASCII UNSEEN").unwrap(),
            CommandKind::Sort { ret: Some(r), .. } if r.min && r.count && !r.all
        ));
        assert!(matches!(
            kind("a THREAD REFERENCES UTF-8 SINCE 1-Feb-1994").unwrap(),
            CommandKind::Thread {
                algorithm: ThreadAlgorithm::References,
                ..
            }
        ));
        assert!(kind("a SORT () UTF-8 ALL").is_err());
        assert!(kind("a SORT (FOO) UTF-8 ALL").is_err());
        assert!(kind("a SORT (DATE) UTF-8").is_err());
        assert!(kind("a THREAD XYZ UTF-8 ALL").is_err());
    }

    #[test]
    fn parses_quota_acl_and_layers() {
        assert_eq!(
            kind("a GETQUOTAROOT INBOX").unwrap(),
            CommandKind::GetQuotaRoot("INBOX".into())
        );
        assert_eq!(
            kind("a GETQUOTA \"\"").unwrap(),
            CommandKind::GetQuota(String::new())
        );
        assert_eq!(
            kind("a SETQUOTA \"\" (STORAGE 512)").unwrap(),
            CommandKind::SetQuota(String::new())
        );
        assert!(kind("a SETQUOTA \"\" (STORAGE").is_err());
        assert_eq!(
            kind("a MYRIGHTS INBOX").unwrap(),
            CommandKind::MyRights("INBOX".into())
        );
        assert!(matches!(
            kind("a SETACL INBOX bob +lr").unwrap(),
            CommandKind::SetAcl { ref rights, .. } if rights == "+lr"
        ));
        assert_eq!(kind("a STARTTLS").unwrap(), CommandKind::StartTls);
        assert_eq!(
            kind("a COMPRESS DEFLATE").unwrap(),
            CommandKind::Compress("DEFLATE".into())
        );
        assert!(matches!(
            kind("a UID FETCH $ FLAGS").unwrap(),
            CommandKind::Fetch { ref set, .. } if set.is_saved()
        ));
        assert!(matches!(
            kind("a SEARCH RETURN (SAVE) UNSEEN").unwrap(),
            CommandKind::Search { ret: Some(r), .. } if r.save && !r.returns_something()
        ));
    }

    proptest! {
        #[test]
        fn sort_thread_quota_acl_never_panic(
            name in prop::sample::select(vec![
                "SORT ", "UID SORT ", "SORT RETURN ", "THREAD ", "UID THREAD REFERENCES ",
                "GETQUOTA ", "GETQUOTAROOT ", "SETQUOTA ", "GETACL ", "SETACL x ",
                "DELETEACL ", "LISTRIGHTS ", "MYRIGHTS ", "COMPRESS ", "FETCH $",
                "SEARCH $ ",
            ]),
            tail in "[ -~]{0,60}",
        ) {
            let _ = parse_command(format!("t {name}{tail}").as_bytes());
        }
    }
}
