//! The syntax of the extension commands and options: LIST-EXTENDED (RFC 5258) with
//! SPECIAL-USE (RFC 6154) and LIST-STATUS (RFC 5819) options, XLIST, ENABLE (RFC 5161),
//! MOVE (RFC 6851) and the CONDSTORE/QRESYNC parameters of SELECT, FETCH and STORE
//! (RFC 7162 §3.1 and §3.2).

use super::command::{CommandKind, StatusItem, status_items};
use super::{Cursor, Step};
use crate::imap::sequence::SequenceSet;
use crate::imap::utf7;

/// The QRESYNC parameter of SELECT/EXAMINE (RFC 7162 §3.2.5): what the client knew.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Qresync {
    /// The UIDVALIDITY the client's cache belongs to.
    pub uid_validity: u32,
    /// The HIGHESTMODSEQ the client last saw.
    pub modseq: u64,
    /// The UIDs the client knows (`None`: all of them).
    pub known_uids: Option<SequenceSet>,
}

/// The RFC 7162 parameters of SELECT and EXAMINE.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SelectParams {
    /// `(CONDSTORE)` (RFC 7162 §3.1.8).
    pub condstore: bool,
    /// `(QRESYNC (...))` (RFC 7162 §3.2.5).
    pub qresync: Option<Qresync>,
}

/// ESEARCH result options (RFC 4731 §3.1). `RETURN ()` means ALL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SearchReturn {
    pub min: bool,
    pub max: bool,
    pub count: bool,
    pub all: bool,
    /// RFC 5182 §2.1: keep the result for `$`.
    pub save: bool,
}

impl SearchReturn {
    /// Whether anything but SAVE was asked for (RFC 5182 §2.1: SAVE alone returns
    /// nothing).
    pub fn returns_something(&self) -> bool {
        self.min || self.max || self.count || self.all
    }
}

/// RFC 4731 §3: `RETURN (option*)` SP, before the search criteria; `None` without it.
pub(super) fn search_return(c: &mut Cursor<'_>) -> Step<Option<SearchReturn>> {
    if !c.eat_word("RETURN") {
        return Ok(None);
    }
    c.sp()?;
    let mut ret = SearchReturn::default();
    option_list(c, |_, word| {
        match word {
            "MIN" => ret.min = true,
            "MAX" => ret.max = true,
            "COUNT" => ret.count = true,
            "ALL" => ret.all = true,
            "SAVE" => ret.save = true,
            _ => return Err("unknown SEARCH return option"),
        }
        Ok(())
    })?;
    if ret == SearchReturn::default() {
        ret.all = true;
    }
    c.sp()?;
    Ok(Some(ret))
}

/// RFC 7162 §7 `select-params`, after the mailbox name (empty when absent).
pub(super) fn select_params(c: &mut Cursor<'_>) -> Step<SelectParams> {
    let mut params = SelectParams::default();
    if !c.eat(b' ') {
        return Ok(params);
    }
    option_list(c, |c, word| {
        match word {
            "CONDSTORE" => params.condstore = true,
            "QRESYNC" => {
                c.sp()?;
                c.expect(b'(', "expected QRESYNC parameters")?;
                let uid_validity = c.nz_number()?;
                c.sp()?;
                let modseq = c.modseq()?;
                if modseq == 0 {
                    return Err("mod-sequence must not be zero");
                }
                let mut known_uids = None;
                if c.eat(b' ') {
                    if c.peek() != Some(b'(') {
                        known_uids = Some(c.sequence_set()?);
                        c.eat(b' ');
                    }
                    // RFC 7162 §3.2.5.2 seq-match-data: a hint this server does not
                    // need (VANISHED may name more UIDs than needed).
                    if c.eat(b'(') {
                        c.sequence_set()?;
                        c.sp()?;
                        c.sequence_set()?;
                        c.expect(b')', "bad seq-match-data")?;
                    }
                }
                c.expect(b')', "bad QRESYNC parameters")?;
                params.qresync = Some(Qresync {
                    uid_validity,
                    modseq,
                    known_uids,
                });
            }
            _ => return Err("unknown SELECT parameter"),
        }
        Ok(())
    })?;
    Ok(params)
}

/// RFC 7162 §3.1.4 and §3.2.6 fetch modifiers: `(CHANGEDSINCE n [VANISHED])`.
pub(super) fn fetch_modifiers(c: &mut Cursor<'_>) -> Step<(Option<u64>, bool)> {
    let mut changed_since = None;
    let mut vanished = false;
    if !c.eat(b' ') {
        return Ok((changed_since, vanished));
    }
    option_list(c, |c, word| {
        match word {
            "CHANGEDSINCE" => {
                c.sp()?;
                changed_since = Some(c.modseq()?);
            }
            "VANISHED" => vanished = true,
            _ => return Err("unknown FETCH modifier"),
        }
        Ok(())
    })?;
    // RFC 7162 §3.2.6: VANISHED only goes with CHANGEDSINCE.
    if vanished && changed_since.is_none() {
        return Err("VANISHED needs CHANGEDSINCE");
    }
    Ok((changed_since, vanished))
}

/// RFC 7162 §3.1.3 store modifier `(UNCHANGEDSINCE n) `, before the flags action.
pub(super) fn store_modifiers(c: &mut Cursor<'_>) -> Step<Option<u64>> {
    if c.peek() != Some(b'(') {
        return Ok(None);
    }
    let mut since = None;
    option_list(c, |c, word| {
        if word != "UNCHANGEDSINCE" {
            return Err("unknown STORE modifier");
        }
        c.sp()?;
        since = Some(c.modseq()?);
        Ok(())
    })?;
    c.sp()?;
    Ok(since)
}

/// A LIST (or XLIST) command with its RFC 5258 options. Plain `LIST ref pattern` is a
/// list with one pattern and no options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListCommand {
    /// The reference name (decoded from modified UTF-7).
    pub reference: String,
    /// One or more patterns (RFC 5258 §3: `mbox-or-pat`).
    pub patterns: Vec<String>,
    /// Selection option SUBSCRIBED (RFC 5258 §3.1).
    pub select_subscribed: bool,
    /// Selection option RECURSIVEMATCH (RFC 5258 §3.1).
    pub recursive_match: bool,
    /// Selection option SPECIAL-USE (RFC 6154 §3): only special-use mailboxes.
    pub select_special_use: bool,
    /// Return option SUBSCRIBED (RFC 5258 §3.2).
    pub return_subscribed: bool,
    /// Return option CHILDREN (RFC 5258 §3.2).
    pub return_children: bool,
    /// Return option SPECIAL-USE (RFC 6154 §3).
    pub return_special_use: bool,
    /// Return option STATUS (RFC 5819 §2) with its items.
    pub return_status: Option<Vec<StatusItem>>,
    /// The command was XLIST (Gmail's, kept by Zimbra): answers are `* XLIST` lines with
    /// `\Inbox`, `\Spam` and the other XLIST attributes.
    pub xlist: bool,
}

fn list_pattern(c: &mut Cursor<'_>) -> Step<String> {
    let raw = c.list_mailbox()?;
    utf7::decode_name(&raw).map_err(|_| "mailbox name is not valid modified UTF-7")
}

fn mailbox(c: &mut Cursor<'_>) -> Step<String> {
    let raw = c.astring()?;
    utf7::decode_name(&raw).map_err(|_| "mailbox name is not valid modified UTF-7")
}

/// The words of a parenthesised option list, upper-cased; `on_word` may consume an
/// argument after a word (STATUS's item list).
fn option_list(
    c: &mut Cursor<'_>,
    mut on_word: impl FnMut(&mut Cursor<'_>, &str) -> Step<()>,
) -> Step<()> {
    c.expect(b'(', "expected an option list")?;
    if c.eat(b')') {
        return Ok(());
    }
    loop {
        let word = String::from_utf8_lossy(c.atom()?).to_ascii_uppercase();
        on_word(c, &word)?;
        if c.eat(b')') {
            return Ok(());
        }
        c.sp()?;
    }
}

/// RFC 5258 §6 `list`: `LIST [SP list-select-opts] SP mailbox SP mbox-or-pat
/// [SP list-return-opts]`, after the command name.
pub(super) fn list(c: &mut Cursor<'_>, xlist: bool) -> Step<CommandKind> {
    let mut cmd = ListCommand {
        xlist,
        ..ListCommand::default()
    };
    c.sp()?;
    if !xlist && c.peek() == Some(b'(') {
        option_list(c, |_, word| {
            match word {
                "SUBSCRIBED" => cmd.select_subscribed = true,
                "RECURSIVEMATCH" => cmd.recursive_match = true,
                "SPECIAL-USE" => cmd.select_special_use = true,
                // RFC 5258 §3.1: REMOTE only adds remote mailboxes; there are none.
                "REMOTE" => {}
                _ => return Err("unknown LIST selection option"),
            }
            Ok(())
        })?;
        // RFC 5258 §3.1: RECURSIVEMATCH needs another selection option to modify.
        if cmd.recursive_match && !cmd.select_subscribed && !cmd.select_special_use {
            return Err("RECURSIVEMATCH needs another selection option");
        }
        c.sp()?;
    }
    cmd.reference = mailbox(c)?;
    c.sp()?;
    if !xlist && c.eat(b'(') {
        loop {
            cmd.patterns.push(list_pattern(c)?);
            if c.eat(b')') {
                break;
            }
            c.sp()?;
        }
    } else {
        cmd.patterns.push(list_pattern(c)?);
    }
    if !xlist && c.eat(b' ') {
        if !c.eat_word("RETURN") {
            return Err("expected RETURN");
        }
        c.sp()?;
        option_list(c, |c, word| {
            match word {
                "SUBSCRIBED" => cmd.return_subscribed = true,
                "CHILDREN" => cmd.return_children = true,
                "SPECIAL-USE" => cmd.return_special_use = true,
                "STATUS" => {
                    c.sp()?;
                    cmd.return_status = Some(status_items(c)?);
                }
                _ => return Err("unknown LIST return option"),
            }
            Ok(())
        })?;
    }
    Ok(CommandKind::List(cmd))
}

/// RFC 5161 §3.1: `ENABLE 1*(SP capability)`; names are upper-cased.
pub(super) fn enable(c: &mut Cursor<'_>) -> Step<CommandKind> {
    let mut caps = Vec::new();
    while c.eat(b' ') {
        caps.push(String::from_utf8_lossy(c.atom()?).to_ascii_uppercase());
        if caps.len() > 32 {
            return Err("too many capabilities");
        }
    }
    if caps.is_empty() {
        return Err("expected a capability");
    }
    Ok(CommandKind::Enable(caps))
}

/// RFC 6851 §3: `MOVE sequence-set SP mailbox` (and `UID MOVE`).
pub(super) fn move_cmd(c: &mut Cursor<'_>, uid: bool) -> Step<CommandKind> {
    c.sp()?;
    let set = c.sequence_set()?;
    c.sp()?;
    Ok(CommandKind::Move {
        uid,
        set,
        mailbox: mailbox(c)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::parser::parse_command;
    use proptest::prelude::*;

    fn list_of(text: &str) -> Result<ListCommand, String> {
        match parse_command(text.as_bytes()) {
            Ok(cmd) => match cmd.kind {
                CommandKind::List(l) => Ok(l),
                other => Err(format!("{other:?}")),
            },
            Err(e) => Err(e.message),
        }
    }

    #[test]
    fn parses_extended_list() {
        let l = list_of("a LIST \"\" %").unwrap();
        assert_eq!(l.patterns, vec!["%"]);
        assert!(!l.select_special_use && l.return_status.is_none());
        let l = list_of(
            "a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX \"Sent\" %/x) \
             RETURN (CHILDREN SPECIAL-USE STATUS (MESSAGES UIDNEXT))",
        )
        .unwrap();
        assert!(l.select_subscribed && l.recursive_match && l.return_children);
        assert!(l.return_special_use);
        assert_eq!(l.patterns, vec!["INBOX", "Sent", "%/x"]);
        assert_eq!(
            l.return_status,
            Some(vec![StatusItem::Messages, StatusItem::UidNext])
        );
        let l = list_of("a LIST (SPECIAL-USE) \"\" *").unwrap();
        assert!(l.select_special_use);
        let l = list_of("a LIST () \"\" * RETURN ()").unwrap();
        assert_eq!(l.patterns, vec!["*"]);
        assert!(list_of("a LIST (RECURSIVEMATCH) \"\" *").is_err());
        assert!(list_of("a LIST (FROB) \"\" *").is_err());
        assert!(list_of("a LIST \"\" * RETURN (FROB)").is_err());
        assert!(list_of("a LIST \"\" * FOO").is_err());
        assert!(list_of("a XLIST \"\" *").unwrap().xlist);
    }

    #[test]
    fn parses_enable_and_move() {
        assert_eq!(
            parse_command(b"a ENABLE condstore X-Y").unwrap().kind,
            CommandKind::Enable(vec!["CONDSTORE".into(), "X-Y".into()])
        );
        assert!(parse_command(b"a ENABLE").is_err());
        assert!(matches!(
            parse_command(b"a UID MOVE 1:3 Trash").unwrap().kind,
            CommandKind::Move { uid: true, ref mailbox, .. } if mailbox == "Trash"
        ));
        assert!(parse_command(b"a MOVE 1").is_err());
    }

    #[test]
    fn parses_search_return() {
        let kind = |t: &str| parse_command(t.as_bytes()).map(|c| c.kind);
        assert!(matches!(
            kind("a UID SEARCH RETURN (MIN COUNT) CHARSET UTF-8 ALL"),
            Ok(CommandKind::Search {
                uid: true,
                ret: Some(SearchReturn {
                    min: true,
                    count: true,
                    max: false,
                    all: false,
                    save: false
                }),
                ..
            })
        ));
        assert!(matches!(
            kind("a SEARCH RETURN () UNSEEN"),
            Ok(CommandKind::Search {
                ret: Some(SearchReturn { all: true, .. }),
                ..
            })
        ));
        assert!(matches!(
            kind("a SEARCH UNSEEN"),
            Ok(CommandKind::Search { ret: None, .. })
        ));
        assert!(kind("a SEARCH RETURN (SAVE) ALL").is_ok());
        assert!(kind("a SEARCH RETURN (PARTIAL) ALL").is_err());
        assert!(kind("a SEARCH RETURN (MIN)").is_err());
    }

    #[test]
    fn parses_condstore_parameters() {
        let kind = |t: &str| parse_command(t.as_bytes()).map(|c| c.kind);
        match kind("a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))") {
            Ok(CommandKind::Select { params, .. }) => {
                let q = params.qresync.unwrap();
                assert_eq!((q.uid_validity, q.modseq), (67890007, 20050715194045000));
                assert_eq!(q.known_uids.unwrap().to_string(), "41,43:211,214:541");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            kind("a EXAMINE x (QRESYNC (1 2 1:9 (1:3 4,7,9)))"),
            Ok(CommandKind::Examine {
                params: SelectParams {
                    qresync: Some(_),
                    ..
                },
                ..
            })
        ));
        assert!(matches!(
            kind("a SELECT x (QRESYNC (1 2 (1:3 4,7,9)))"),
            Ok(CommandKind::Select {
                params: SelectParams {
                    qresync: Some(_),
                    ..
                },
                ..
            })
        ));
        assert!(matches!(
            kind("a SELECT x (CONDSTORE)"),
            Ok(CommandKind::Select {
                params: SelectParams {
                    condstore: true,
                    ..
                },
                ..
            })
        ));
        assert!(kind("a SELECT x (QRESYNC (1 0))").is_err());
        assert!(kind("a SELECT x (FROB)").is_err());
        assert!(matches!(
            kind("a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)"),
            Ok(CommandKind::Fetch {
                changed_since: Some(12345),
                vanished: true,
                ..
            })
        ));
        assert!(kind("a FETCH 1 FLAGS (VANISHED)").is_err());
        assert!(matches!(
            kind("a STORE 1:3 (UNCHANGEDSINCE 99) +FLAGS.SILENT (\\Seen)"),
            Ok(CommandKind::Store {
                unchanged_since: Some(99),
                silent: true,
                ..
            })
        ));
        assert!(kind("a STORE 1 (UNCHANGEDSINCE 99999999999999999999) FLAGS ()").is_err());
        assert!(matches!(
            kind("a STATUS x (HIGHESTMODSEQ)"),
            Ok(CommandKind::Status { ref items, .. }) if items == &[StatusItem::HighestModSeq]
        ));
    }

    proptest! {
        #[test]
        fn select_and_fetch_modifiers_never_panic(tail in "[ -~]{0,80}") {
            let _ = parse_command(format!("t SELECT x ({tail}").as_bytes());
            let _ = parse_command(format!("t FETCH 1 FLAGS ({tail}").as_bytes());
            let _ = parse_command(format!("t STORE 1 ({tail}").as_bytes());
        }

        #[test]
        fn list_never_panics(tail in "[ -~]{0,80}") {
            let _ = parse_command(format!("t LIST {tail}").as_bytes());
            let _ = parse_command(format!("t LIST ({tail}").as_bytes());
            let _ = parse_command(format!("t ENABLE {tail}").as_bytes());
            let _ = parse_command(format!("t UID MOVE {tail}").as_bytes());
        }
    }
}
