//! Commands: the tag, the command name and each command's arguments (RFC 3501 §6 and
//! the extensions' syntax sections).

use super::append::{AppendMessage, append};
use super::ext::{self, ListCommand, SearchReturn, SelectParams};
use super::items::{FetchItems, FlagName, SearchKey};
use super::sort::{self, SortCriterion, ThreadAlgorithm};
use super::{Cursor, ParseError, Step, is_astring_char};
use crate::imap::sequence::SequenceSet;
use crate::imap::utf7;

/// The field/value pairs of an ID command (RFC 2971).
pub type IdParams = Vec<(String, Option<String>)>;

/// A parsed command: its tag and what it asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub tag: String,
    pub kind: CommandKind,
}

/// The SASL mechanism named by AUTHENTICATE (only PLAIN is offered).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthKind {
    Plain,
    /// Any other mechanism name, upper-cased.
    Other(String),
}

/// How STORE combines the given flags with the current ones (RFC 3501 §6.4.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreMode {
    Replace,
    Add,
    Remove,
}

/// A STATUS data item (RFC 3501 §6.3.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusItem {
    Messages,
    Recent,
    UidNext,
    UidValidity,
    Unseen,
    /// RFC 7162 §3.1.6.
    HighestModSeq,
}

/// What a command asks for. Mailbox names are already decoded from modified UTF-7.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandKind {
    Capability,
    Noop,
    Logout,
    Login {
        user: Vec<u8>,
        password: Vec<u8>,
    },
    /// RFC 3501 §6.2.2 and RFC 4959: `initial` is the still base64-encoded initial
    /// response (`=` stands for an empty one).
    Authenticate {
        mechanism: AuthKind,
        initial: Option<Vec<u8>>,
    },
    /// RFC 2971: `None` for `ID NIL`.
    Id(Option<IdParams>),
    Namespace,
    Idle,
    /// SELECT with its RFC 7162 parameters (CONDSTORE, QRESYNC).
    Select {
        mailbox: String,
        params: SelectParams,
    },
    /// EXAMINE with its RFC 7162 parameters.
    Examine {
        mailbox: String,
        params: SelectParams,
    },
    Create {
        mailbox: String,
    },
    Delete {
        mailbox: String,
    },
    Rename {
        from: String,
        to: String,
    },
    Subscribe {
        mailbox: String,
    },
    Unsubscribe {
        mailbox: String,
    },
    /// LIST, LIST-EXTENDED (RFC 5258) and XLIST.
    List(ListCommand),
    Lsub {
        reference: String,
        pattern: String,
    },
    Status {
        mailbox: String,
        items: Vec<StatusItem>,
    },
    /// APPEND with one message, or several (MULTIAPPEND, RFC 3502).
    Append {
        mailbox: String,
        messages: Vec<AppendMessage>,
    },
    Check,
    Close,
    Unselect,
    /// EXPUNGE, or UID EXPUNGE (RFC 4315 §2.1) with its UID set.
    Expunge {
        uids: Option<SequenceSet>,
    },
    /// SEARCH, with ESEARCH's RETURN options (RFC 4731 §3) when given.
    Search {
        uid: bool,
        ret: Option<SearchReturn>,
        charset: Option<String>,
        key: SearchKey,
    },
    /// FETCH with the RFC 7162 modifiers CHANGEDSINCE and VANISHED.
    Fetch {
        uid: bool,
        set: SequenceSet,
        items: FetchItems,
        changed_since: Option<u64>,
        vanished: bool,
    },
    /// STORE with the RFC 7162 §3.1.3 modifier UNCHANGEDSINCE.
    Store {
        uid: bool,
        set: SequenceSet,
        unchanged_since: Option<u64>,
        mode: StoreMode,
        silent: bool,
        flags: Vec<FlagName>,
    },
    Copy {
        uid: bool,
        set: SequenceSet,
        mailbox: String,
    },
    /// MOVE and UID MOVE (RFC 6851).
    Move {
        uid: bool,
        set: SequenceSet,
        mailbox: String,
    },
    /// ENABLE (RFC 5161) with the upper-cased capability names.
    Enable(Vec<String>),
    /// STARTTLS (RFC 3501 §6.2.1).
    StartTls,
    /// COMPRESS (RFC 4978) with the mechanism name.
    Compress(String),
    /// SORT and UID SORT (RFC 5256), with ESORT's RETURN options (RFC 5267).
    Sort {
        uid: bool,
        ret: Option<SearchReturn>,
        criteria: Vec<SortCriterion>,
        charset: String,
        key: SearchKey,
    },
    /// THREAD and UID THREAD (RFC 5256).
    Thread {
        uid: bool,
        algorithm: ThreadAlgorithm,
        charset: String,
        key: SearchKey,
    },
    /// GETQUOTA with the quota root (RFC 9208 §4.2).
    GetQuota(String),
    /// GETQUOTAROOT with the mailbox (RFC 9208 §4.3).
    GetQuotaRoot(String),
    /// SETQUOTA with the quota root; always refused (RFC 9208 §4.3).
    SetQuota(String),
    /// GETACL (RFC 4314 §3.3).
    GetAcl(String),
    /// MYRIGHTS (RFC 4314 §3.5).
    MyRights(String),
    /// LISTRIGHTS (RFC 4314 §3.4).
    ListRights {
        mailbox: String,
        identifier: String,
    },
    /// SETACL (RFC 4314 §3.1).
    SetAcl {
        mailbox: String,
        identifier: String,
        rights: String,
    },
    /// DELETEACL (RFC 4314 §3.2).
    DeleteAcl {
        mailbox: String,
        identifier: String,
    },
}

impl CommandKind {
    /// The command's name for logs (never includes arguments).
    pub fn name(&self) -> &'static str {
        use CommandKind::*;
        match self {
            Capability => "CAPABILITY",
            Noop => "NOOP",
            Logout => "LOGOUT",
            Login { .. } => "LOGIN",
            Authenticate { .. } => "AUTHENTICATE",
            Id(_) => "ID",
            Namespace => "NAMESPACE",
            Idle => "IDLE",
            Select { .. } => "SELECT",
            Examine { .. } => "EXAMINE",
            Create { .. } => "CREATE",
            Delete { .. } => "DELETE",
            Rename { .. } => "RENAME",
            Subscribe { .. } => "SUBSCRIBE",
            Unsubscribe { .. } => "UNSUBSCRIBE",
            List(l) if l.xlist => "XLIST",
            List(_) => "LIST",
            Lsub { .. } => "LSUB",
            Status { .. } => "STATUS",
            Append { .. } => "APPEND",
            Check => "CHECK",
            Close => "CLOSE",
            Unselect => "UNSELECT",
            Expunge { .. } => "EXPUNGE",
            Search { .. } => "SEARCH",
            Fetch { .. } => "FETCH",
            Store { .. } => "STORE",
            Copy { .. } => "COPY",
            Move { .. } => "MOVE",
            Enable(_) => "ENABLE",
            StartTls => "STARTTLS",
            Compress(_) => "COMPRESS",
            Sort { .. } => "SORT",
            Thread { .. } => "THREAD",
            GetQuota(_) => "GETQUOTA",
            GetQuotaRoot(_) => "GETQUOTAROOT",
            SetQuota(_) => "SETQUOTA",
            GetAcl(_) => "GETACL",
            MyRights(_) => "MYRIGHTS",
            ListRights { .. } => "LISTRIGHTS",
            SetAcl { .. } => "SETACL",
            DeleteAcl { .. } => "DELETEACL",
        }
    }
}

/// Parses one complete command (see the module docs of `parser` for the buffer layout).
///
/// # Errors
/// [`ParseError`] with the tag when it was readable, so the caller can answer
/// `tag BAD reason`; without it the answer is `* BAD reason`.
pub fn parse_command(buf: &[u8]) -> Result<Command, ParseError> {
    let mut c = Cursor::new(buf);
    // RFC 3501 §9: tag = 1*<any ASTRING-CHAR except "+">.
    let tag = c.take_while(|b| is_astring_char(b) && b != b'+');
    if tag.is_empty() || c.peek() != Some(b' ') {
        return Err(ParseError {
            tag: None,
            message: "invalid tag or missing command".into(),
        });
    }
    let tag = String::from_utf8_lossy(tag).into_owned();
    let fail = |tag: &str, message: &str| ParseError {
        tag: Some(tag.to_string()),
        message: message.to_string(),
    };
    c.advance(1);
    let kind = command_kind(&mut c).map_err(|m| fail(&tag, m))?;
    if !c.at_end() {
        return Err(fail(&tag, "unexpected characters after the command"));
    }
    Ok(Command { tag, kind })
}

pub(super) fn mailbox(c: &mut Cursor<'_>) -> Step<String> {
    let raw = c.astring()?;
    utf7::decode_name(&raw).map_err(|_| "mailbox name is not valid modified UTF-7")
}

fn list_pattern(c: &mut Cursor<'_>) -> Step<String> {
    let raw = c.list_mailbox()?;
    utf7::decode_name(&raw).map_err(|_| "mailbox name is not valid modified UTF-7")
}

fn command_kind(c: &mut Cursor<'_>) -> Step<CommandKind> {
    use CommandKind as K;
    let name = c.atom()?.to_ascii_uppercase();
    let kind = match name.as_slice() {
        b"CAPABILITY" => K::Capability,
        b"NOOP" => K::Noop,
        b"LOGOUT" => K::Logout,
        b"NAMESPACE" => K::Namespace,
        b"IDLE" => K::Idle,
        b"CHECK" => K::Check,
        b"CLOSE" => K::Close,
        b"UNSELECT" => K::Unselect,
        b"EXPUNGE" => K::Expunge { uids: None },
        b"LOGIN" => {
            c.sp()?;
            let user = c.astring()?;
            c.sp()?;
            K::Login {
                user,
                password: c.astring()?,
            }
        }
        b"AUTHENTICATE" => {
            c.sp()?;
            let mech = c.atom()?.to_ascii_uppercase();
            let mechanism = if mech == b"PLAIN" {
                AuthKind::Plain
            } else {
                AuthKind::Other(String::from_utf8_lossy(&mech).into_owned())
            };
            // RFC 4959 §3: initial-response = base64 / "=".
            let initial = if c.eat(b' ') {
                let text = c.take_while(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b));
                if text.is_empty() {
                    return Err("bad initial response");
                }
                Some(text.to_vec())
            } else {
                None
            };
            K::Authenticate { mechanism, initial }
        }
        b"ID" => {
            c.sp()?;
            K::Id(id_params(c)?)
        }
        b"SELECT" | b"EXAMINE" => {
            c.sp()?;
            let mailbox = mailbox(c)?;
            let params = ext::select_params(c)?;
            if name == b"SELECT" {
                K::Select { mailbox, params }
            } else {
                K::Examine { mailbox, params }
            }
        }
        b"CREATE" | b"DELETE" | b"SUBSCRIBE" | b"UNSUBSCRIBE" => {
            c.sp()?;
            let mailbox = mailbox(c)?;
            match name.as_slice() {
                b"CREATE" => K::Create { mailbox },
                b"DELETE" => K::Delete { mailbox },
                b"SUBSCRIBE" => K::Subscribe { mailbox },
                _ => K::Unsubscribe { mailbox },
            }
        }
        b"RENAME" => {
            c.sp()?;
            let from = mailbox(c)?;
            c.sp()?;
            K::Rename {
                from,
                to: mailbox(c)?,
            }
        }
        b"LIST" => ext::list(c, false)?,
        b"XLIST" => ext::list(c, true)?,
        b"ENABLE" => ext::enable(c)?,
        b"MOVE" => ext::move_cmd(c, false)?,
        b"LSUB" => {
            c.sp()?;
            let reference = mailbox(c)?;
            c.sp()?;
            K::Lsub {
                reference,
                pattern: list_pattern(c)?,
            }
        }
        b"STATUS" => {
            c.sp()?;
            let mailbox = mailbox(c)?;
            c.sp()?;
            K::Status {
                mailbox,
                items: status_items(c)?,
            }
        }
        b"APPEND" => append(c)?,
        b"SEARCH" => search(c, false)?,
        b"SORT" => sort::sort(c, false)?,
        b"THREAD" => sort::thread(c, false)?,
        b"FETCH" => fetch(c, false)?,
        b"STORE" => store(c, false)?,
        b"COPY" => copy(c, false)?,
        b"UID" => {
            c.sp()?;
            let sub = c.atom()?.to_ascii_uppercase();
            match sub.as_slice() {
                b"SEARCH" => search(c, true)?,
                b"SORT" => sort::sort(c, true)?,
                b"THREAD" => sort::thread(c, true)?,
                b"FETCH" => fetch(c, true)?,
                b"STORE" => store(c, true)?,
                b"COPY" => copy(c, true)?,
                b"MOVE" => ext::move_cmd(c, true)?,
                b"EXPUNGE" => {
                    c.sp()?;
                    K::Expunge {
                        uids: Some(c.sequence_set()?),
                    }
                }
                _ => return Err("unknown UID command"),
            }
        }
        other => match sort::other(c, other)? {
            Some(kind) => kind,
            None => return Err("unknown command"),
        },
    };
    Ok(kind)
}

/// RFC 2971 §4: `"(" string SP nstring *(SP string SP nstring) ")" / nil`, at most 30
/// pairs.
fn id_params(c: &mut Cursor<'_>) -> Step<Option<IdParams>> {
    if c.eat_word("NIL") {
        return Ok(None);
    }
    c.expect(b'(', "expected ID parameters")?;
    let mut pairs = Vec::new();
    if c.eat(b')') {
        return Ok(Some(pairs));
    }
    loop {
        let field = String::from_utf8_lossy(&c.string()?).into_owned();
        c.sp()?;
        let value = c
            .nstring()?
            .map(|v| String::from_utf8_lossy(&v).into_owned());
        pairs.push((field, value));
        if pairs.len() > 30 {
            return Err("too many ID parameters");
        }
        if c.eat(b')') {
            return Ok(Some(pairs));
        }
        c.sp()?;
    }
}

pub(super) fn status_items(c: &mut Cursor<'_>) -> Step<Vec<StatusItem>> {
    c.expect(b'(', "expected status items")?;
    let mut items = Vec::new();
    loop {
        let word = c.atom()?.to_ascii_uppercase();
        items.push(match word.as_slice() {
            b"MESSAGES" => StatusItem::Messages,
            b"RECENT" => StatusItem::Recent,
            b"UIDNEXT" => StatusItem::UidNext,
            b"UIDVALIDITY" => StatusItem::UidValidity,
            b"UNSEEN" => StatusItem::Unseen,
            b"HIGHESTMODSEQ" => StatusItem::HighestModSeq,
            _ => return Err("unknown status item"),
        });
        if c.eat(b')') {
            return Ok(items);
        }
        c.sp()?;
    }
}

/// RFC 3501 §6.4.4 and RFC 4731 §3: `SEARCH [RETURN (opts)] [CHARSET astring]
/// 1*(SP search-key)`.
fn search(c: &mut Cursor<'_>, uid: bool) -> Step<CommandKind> {
    c.sp()?;
    let ret = ext::search_return(c)?;
    let mut charset = None;
    if c.eat_word("CHARSET") {
        c.sp()?;
        charset = Some(String::from_utf8_lossy(&c.astring()?).into_owned());
        c.sp()?;
    }
    let mut keys = vec![c.search_key(0)?];
    while c.eat(b' ') {
        keys.push(c.search_key(0)?);
    }
    Ok(CommandKind::Search {
        uid,
        ret,
        charset,
        key: SearchKey::And(keys),
    })
}

fn fetch(c: &mut Cursor<'_>, uid: bool) -> Step<CommandKind> {
    c.sp()?;
    let set = c.sequence_set()?;
    c.sp()?;
    let items = c.fetch_items()?;
    let (changed_since, vanished) = ext::fetch_modifiers(c)?;
    Ok(CommandKind::Fetch {
        uid,
        set,
        items,
        changed_since,
        vanished,
    })
}

/// RFC 3501 §6.4.6: `STORE seq-set SP ["+"/"-"] "FLAGS" [".SILENT"] SP (flag-list / 1*flag)`.
fn store(c: &mut Cursor<'_>, uid: bool) -> Step<CommandKind> {
    c.sp()?;
    let set = c.sequence_set()?;
    c.sp()?;
    let unchanged_since = ext::store_modifiers(c)?;
    let mode = if c.eat(b'+') {
        StoreMode::Add
    } else if c.eat(b'-') {
        StoreMode::Remove
    } else {
        StoreMode::Replace
    };
    let word = c.atom()?.to_ascii_uppercase();
    let silent = match word.as_slice() {
        b"FLAGS" => false,
        b"FLAGS.SILENT" => true,
        _ => return Err("expected FLAGS"),
    };
    c.sp()?;
    let flags = if c.peek() == Some(b'(') {
        c.flag_list()?
    } else {
        let mut flags = vec![c.flag()?];
        while c.eat(b' ') {
            flags.push(c.flag()?);
        }
        flags
    };
    Ok(CommandKind::Store {
        uid,
        set,
        unchanged_since,
        mode,
        silent,
        flags,
    })
}

fn copy(c: &mut Cursor<'_>, uid: bool) -> Step<CommandKind> {
    c.sp()?;
    let set = c.sequence_set()?;
    c.sp()?;
    Ok(CommandKind::Copy {
        uid,
        set,
        mailbox: mailbox(c)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::parser::{AppendData, FetchAtt, SearchKey};
    use proptest::prelude::*;

    fn kind(text: &[u8]) -> CommandKind {
        parse_command(text).unwrap().kind
    }

    #[test]
    fn parses_common_commands() {
        assert_eq!(parse_command(b"a1 CAPABILITY").unwrap().tag, "a1");
        assert_eq!(
            kind(b"a LOGIN {4}\r\nuser \"p\\\"w\""),
            CommandKind::Login {
                user: b"user".to_vec(),
                password: b"p\"w".to_vec()
            }
        );
        assert_eq!(
            kind(b"a select \"Entw&APw-rfe\""),
            CommandKind::Select {
                mailbox: "Entw\u{fc}rfe".into(),
                params: SelectParams::default(),
            }
        );
        assert!(matches!(
            kind(b"a LIST \"\" %/*"),
            CommandKind::List(ref l) if l.reference.is_empty() && l.patterns == ["%/*"]
        ));
        assert!(matches!(
            kind(b"a UID FETCH 1:* (FLAGS BODY.PEEK[])"),
            CommandKind::Fetch { uid: true, ref items, .. } if items.len() == 2
                && items[0] == FetchAtt::Flags
        ));
        assert!(matches!(
            kind(b"a STORE 1 +FLAGS.SILENT (\\Seen $Label1)"),
            CommandKind::Store { mode: StoreMode::Add, silent: true, ref flags, .. }
                if flags == &[FlagName::Seen, FlagName::Keyword("$Label1".into())]
        ));
        assert!(matches!(
            kind(b"a SEARCH CHARSET UTF-8 UNSEEN TEXT {3+}\r\nfoo"),
            CommandKind::Search { charset: Some(ref cs), key: SearchKey::And(ref k), .. }
                if cs == "UTF-8" && k.len() == 2
        ));
        assert_eq!(
            kind(b"a AUTHENTICATE plain AGFAYg=="),
            CommandKind::Authenticate {
                mechanism: AuthKind::Plain,
                initial: Some(b"AGFAYg==".to_vec())
            }
        );
        assert!(matches!(
            kind(b"a UID EXPUNGE 3:5"),
            CommandKind::Expunge { uids: Some(_) }
        ));
        assert!(matches!(kind(b"a ID (\"name\" \"x\" \"v\" NIL)"),
                CommandKind::Id(Some(ref p)) if p.len() == 2));
    }

    #[test]
    fn parses_append() {
        let buf =
            b"A003 APPEND saved-messages (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {5}\r\nhello";
        match kind(buf) {
            CommandKind::Append { mailbox, messages } => {
                assert_eq!(mailbox, "saved-messages");
                assert_eq!(messages.len(), 1);
                assert_eq!(messages[0].flags, vec![FlagName::Seen]);
                assert!(messages[0].date_ms.is_some());
                assert_eq!(
                    messages[0].data,
                    AppendData::Literal(buf.len() - 5..buf.len())
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(parse_command(b"a APPEND x \"hello\"").is_err());
        assert!(parse_command(b"a APPEND x").is_err());
        // RFC 3502 MULTIAPPEND, RFC 3516 literal8 and RFC 4469 CATENATE.
        let buf =
            b"a APPEND x {1}\r\na (\\Seen) ~{2}\r\nbc CATENATE (URL \"/x;UID=1\" TEXT {1}\r\nd)";
        match kind(buf) {
            CommandKind::Append { messages, .. } => {
                assert_eq!(messages.len(), 3);
                assert!(matches!(&messages[2].data, AppendData::Catenate(p) if p.len() == 2));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reports_tag_on_errors() {
        assert_eq!(
            parse_command(b"a1 FROB").unwrap_err().tag.as_deref(),
            Some("a1")
        );
        assert_eq!(
            parse_command(b"a1 NOOP extra").unwrap_err().tag.as_deref(),
            Some("a1")
        );
        assert_eq!(parse_command(b"").unwrap_err().tag, None);
        assert_eq!(parse_command(b"+x NOOP").unwrap_err().tag, None);
        assert_eq!(parse_command(b"a1").unwrap_err().tag, None);
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_command(&bytes);
        }

        #[test]
        fn never_panics_on_plausible_commands(
            name in prop::sample::select(vec![
                "FETCH 1:* ", "UID FETCH ", "SEARCH ", "STORE 1 ", "APPEND x ", "LOGIN ",
                "LIST ", "STATUS x ", "UID STORE 1 ", "ID ", "AUTHENTICATE PLAIN ",
            ]),
            tail in "[ -~]{0,60}",
        ) {
            let _ = parse_command(format!("t {name}{tail}").as_bytes());
        }

        #[test]
        fn login_round_trips(user in "[a-z]{1,10}", pass in "[ -~]{0,20}") {
            let quoted = pass.replace('\\', "\\\\").replace('"', "\\\"");
            let line = format!("t LOGIN {user} \"{quoted}\"");
            prop_assert_eq!(
                kind(line.as_bytes()),
                CommandKind::Login { user: user.into_bytes(), password: pass.into_bytes() }
            );
        }

        #[test]
        fn literal_mailbox_round_trips(name in "\\PC{1,20}") {
            let wire = utf7::encode(&name);
            let line = format!("t CREATE {{{}}}\r\n{}", wire.len(), wire);
            prop_assert_eq!(kind(line.as_bytes()), CommandKind::Create { mailbox: name });
        }
    }
}
