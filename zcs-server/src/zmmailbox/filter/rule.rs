//! Zimbra's one-line filter rule text, as `zmmailbox afrl` reads it and `gfrl` prints
//! it: `{name} [active|inactive] [any|all] {conditions}+ {actions}+`, e.g.
//! `"junk" active any address "from" all is "bob@x.test" fileinto "/Junk"`.
//! This module only parses and prints the text ([`parse`], [`Rule::text`]); turning a
//! rule into the SOAP `filterRule` form is the parent module's job.
//!
//! Printing follows Zimbra's layout, except that every value that would not read back
//! as one word (blanks, quotes, empty) is quoted, so any printed rule parses again.
//! Words are matched as Zimbra matches them: keywords exactly, comparison words in any
//! case.

use std::fmt::Write as _;

/// A string comparison of a header, address or body test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// Equal to the value.
    Is,
    /// Contains the value.
    Contains,
    /// Matches the value as a `*`/`?` pattern.
    Matches,
}

impl Cmp {
    /// The word used in the SOAP form (`stringComparison`).
    pub fn word(self) -> &'static str {
        match self {
            Cmp::Is => "is",
            Cmp::Contains => "contains",
            Cmp::Matches => "matches",
        }
    }

    /// A comparison word of the SOAP form, any case.
    pub fn from_word(w: &str) -> Option<Cmp> {
        [Cmp::Is, Cmp::Contains, Cmp::Matches]
            .into_iter()
            .find(|c| c.word().eq_ignore_ascii_case(w))
    }
}

/// Which header test a `{kind} in|not_in "header"` condition is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InKind {
    /// The address is in one of the account's address books (`addressbook`).
    AddressBook,
    /// The address is among the account's frequent correspondents (`contact_ranking`).
    ContactRanking,
    /// The header names the account itself (`me`).
    Me,
}

impl InKind {
    /// The keyword of the text form.
    pub fn word(self) -> &'static str {
        match self {
            InKind::AddressBook => "addressbook",
            InKind::ContactRanking => "contact_ranking",
            InKind::Me => "me",
        }
    }
}

/// The tests without arguments (`bulk [not]`, `list [not]`, ...), by keyword.
pub const SIMPLE: &[&str] = &[
    "bulk",
    "list",
    "facebook",
    "linkedin",
    "socialcast",
    "twitter",
    "community_requests",
    "community_content",
    "community_connections",
];

/// One condition of a rule; `neg` is the `not_` form of its comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cond {
    /// `address "hdrs" all|localpart|domain [not_]is|contains|matches [case_sensitive] "v"`.
    Address {
        header: String,
        part: String,
        cmp: Cmp,
        neg: bool,
        case: bool,
        value: String,
    },
    /// `header "hdrs" [not_]is|contains|matches [case_sensitive] "v"`.
    Header {
        header: String,
        cmp: Cmp,
        neg: bool,
        case: bool,
        value: String,
    },
    /// `mime_header "name" [not_]is|contains|matches [case_sensitive] "v"`.
    MimeHeader {
        header: String,
        cmp: Cmp,
        neg: bool,
        case: bool,
        value: String,
    },
    /// `header "hdrs" exists|not_exists`.
    HeaderExists { header: String, neg: bool },
    /// `body [not_]contains [case_sensitive] "text"`.
    Body {
        neg: bool,
        case: bool,
        value: String,
    },
    /// `addressbook|contact_ranking|me in|not_in "header"`.
    In {
        kind: InKind,
        neg: bool,
        header: String,
    },
    /// `attachment exists|not_exists`.
    Attachment { neg: bool },
    /// `invite exists|not_exists [method m1,m2]`.
    Invite { neg: bool, methods: Vec<String> },
    /// `size [not_]under|[not_]over "10K"`.
    Size { over: bool, neg: bool, size: String },
    /// `date [not_]before|[not_]after "YYYYMMDD"`.
    Date {
        after: bool,
        neg: bool,
        date: String,
    },
    /// `current_time [not_]before|[not_]after HHmm`.
    CurrentTime {
        after: bool,
        neg: bool,
        time: String,
    },
    /// `current_day_of_week is|not_is 0,6`.
    DayOfWeek { neg: bool, days: String },
    /// `conversation where|not_where started|participated`.
    Conversation { neg: bool, what: String },
    /// `importance is|not_is high|normal|low`.
    Importance { neg: bool, level: String },
    /// `flagged [not] read|flagged|priority`.
    Flagged { neg: bool, flag: String },
    /// One of [`SIMPLE`], with `not` after it when negated.
    Simple { word: &'static str, neg: bool },
    /// `true` (printed by Zimbra for a test that always matches).
    True,
    /// A test of the SOAP form the text form has no words for (printed, never parsed).
    Other(String),
}

/// One action of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// `keep`.
    Keep,
    /// `discard`.
    Discard,
    /// `stop`.
    Stop,
    /// `fileinto "/path"`.
    FileInto(String),
    /// `tag "name"`.
    Tag(String),
    /// `mark read|flagged|priority` (`flag` is read as a synonym).
    Mark(String),
    /// `redirect "address"`.
    Redirect(String),
    /// `reply "body template"`.
    Reply(String),
    /// `notify "address" "subject" "body" [max-body-bytes]`.
    Notify {
        address: String,
        subject: String,
        body: String,
        max: Option<i64>,
    },
    /// `notify rfc "from" ["importance" "options"] "message" "method"` (RFC 5435).
    RfcNotify {
        from: String,
        importance: String,
        options: String,
        message: String,
        method: String,
    },
    /// An action of the SOAP form the text form has no words for (printed, never parsed).
    Other(String),
}

/// One filter rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Its name (rules are found by name, any case).
    pub name: String,
    /// Whether it runs.
    pub active: bool,
    /// Whether every condition must hold (`all`) or one is enough (`any`).
    pub all: bool,
    /// Its conditions, in order.
    pub conditions: Vec<Cond>,
    /// Its actions, in order.
    pub actions: Vec<Action>,
}

/// Every keyword that starts a condition or an action, or sets the rule's mode.
const KEYWORDS: &[&str] = &[
    "active",
    "inactive",
    "any",
    "all",
    "address",
    "addressbook",
    "contact_ranking",
    "me",
    "attachment",
    "body",
    "size",
    "date",
    "current_time",
    "current_day_of_week",
    "header",
    "mime_header",
    "invite",
    "conversation",
    "importance",
    "flagged",
    "true",
    "keep",
    "discard",
    "fileinto",
    "tag",
    "mark",
    "flag",
    "redirect",
    "reply",
    "notify",
    "stop",
];

/// Whether `w` starts a condition or action (or is a mode word).
pub fn is_keyword(w: &str) -> bool {
    KEYWORDS.contains(&w) || SIMPLE.contains(&w)
}

/// `w` with `not_` taken off, and whether it was there.
fn negated(w: &str) -> (bool, &str) {
    let lower = w.len() > 4 && w[..4].eq_ignore_ascii_case("not_");
    if lower { (true, &w[4..]) } else { (false, w) }
}

/// The words of one rule, read left to right.
struct Words<'a> {
    words: &'a [String],
    i: usize,
}

impl<'a> Words<'a> {
    fn next(&mut self, what: &str) -> Result<&'a str, String> {
        let w = self
            .words
            .get(self.i)
            .ok_or_else(|| format!("missing {what}"))?;
        self.i += 1;
        Ok(w)
    }

    fn peek(&self) -> Option<&'a str> {
        self.words.get(self.i).map(String::as_str)
    }

    /// Takes `word` when it comes next.
    fn take(&mut self, word: &str) -> bool {
        if self.peek() == Some(word) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// `[case_sensitive] value`.
    fn case_and_value(&mut self) -> Result<(bool, String), String> {
        let case = self.take("case_sensitive");
        Ok((case, self.next("value")?.to_string()))
    }

    /// How many words follow before the next keyword (or the end).
    fn plain_ahead(&self) -> usize {
        self.words[self.i..]
            .iter()
            .take_while(|w| !is_keyword(w))
            .count()
    }
}

fn bad_op(op: &str, valid: &str) -> String {
    format!("invalid op: {op}, valid values: {valid}")
}

/// A header comparison word (`is`, `not_contains`, ...).
fn header_op(op: &str) -> Result<(Cmp, bool), String> {
    let (neg, base) = negated(op);
    Cmp::from_word(base).map(|c| (c, neg)).ok_or_else(|| {
        bad_op(
            op,
            "is, not_is, contains, not_contains, matches, not_matches",
        )
    })
}

/// `in` or `not_in`.
fn in_op(op: &str) -> Result<bool, String> {
    match negated(op) {
        (neg, base) if base.eq_ignore_ascii_case("in") => Ok(neg),
        _ => Err(bad_op(op, "in, not_in")),
    }
}

/// `is` or `not_is`.
fn is_op(op: &str) -> Result<bool, String> {
    match negated(op) {
        (neg, base) if base.eq_ignore_ascii_case("is") => Ok(neg),
        _ => Err(bad_op(op, "is, not_is")),
    }
}

/// `before|after` with an optional `not_`: (after, neg).
fn date_op(op: &str) -> Result<(bool, bool), String> {
    match negated(op) {
        (neg, b) if b.eq_ignore_ascii_case("before") => Ok((false, neg)),
        (neg, b) if b.eq_ignore_ascii_case("after") => Ok((true, neg)),
        _ => Err(bad_op(op, "before, not_before, after, not_after")),
    }
}

/// One of `allowed`, any case, as written in `allowed`.
fn one_of(w: &str, allowed: &[&'static str], what: &str) -> Result<String, String> {
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(w))
        .map(|a| a.to_string())
        .ok_or_else(|| format!("invalid {what}: {w}, valid values: {}", allowed.join(", ")))
}

/// Flags a `flagged` test or `mark` action names (Zimbra's Sieve flag names).
const FLAGS: &[&str] = &["flagged", "read", "priority"];

/// Parses a rule from its words (as split by the command line): the name, then
/// `active|inactive`, `any|all`, conditions and actions in any order.
///
/// A value that reads as a keyword (`case_sensitive` after a comparison, or a keyword
/// in a `notify rfc` action) is taken as the keyword, as Zimbra's tool does.
///
/// # Errors
/// A message naming the missing or unknown word; a rule needs a name, one condition
/// and one action.
pub fn parse(words: &[String]) -> Result<Rule, String> {
    let name = words.first().cloned().unwrap_or_default();
    if name.is_empty() {
        return Err("missing filter name".into());
    }
    let mut w = Words { words, i: 1 };
    let mut rule = Rule {
        name,
        active: true,
        all: true,
        conditions: Vec::new(),
        actions: Vec::new(),
    };
    while let Some(word) = w.peek() {
        w.i += 1;
        let cond = match word {
            "active" | "inactive" => {
                rule.active = word == "active";
                continue;
            }
            "any" | "all" => {
                rule.all = word == "all";
                continue;
            }
            "address" => {
                let header = w.next("header names")?.to_string();
                let part = one_of(
                    w.next("address part")?,
                    &["all", "localpart", "domain"],
                    "part",
                )?;
                let (cmp, neg) = header_op(w.next("comparison")?)?;
                let (case, value) = w.case_and_value()?;
                Cond::Address {
                    header,
                    part,
                    cmp,
                    neg,
                    case,
                    value,
                }
            }
            "addressbook" | "contact_ranking" | "me" => {
                let kind = match word {
                    "addressbook" => InKind::AddressBook,
                    "contact_ranking" => InKind::ContactRanking,
                    _ => InKind::Me,
                };
                let neg = in_op(w.next("in or not_in")?)?;
                Cond::In {
                    kind,
                    neg,
                    header: w.next("header name")?.to_string(),
                }
            }
            "attachment" => Cond::Attachment {
                neg: w.next("exists or not_exists")? != "exists",
            },
            "body" => {
                let neg = match w.next("comparison")? {
                    op if op.eq_ignore_ascii_case("contains") => false,
                    op if op.eq_ignore_ascii_case("not_contains") => true,
                    op => return Err(bad_op(op, "contains, not_contains")),
                };
                let (case, value) = w.case_and_value()?;
                Cond::Body { neg, case, value }
            }
            "size" => {
                let op = w.next("comparison")?;
                let over = match negated(op) {
                    (_, b) if b.eq_ignore_ascii_case("under") => false,
                    (_, b) if b.eq_ignore_ascii_case("over") => true,
                    _ => return Err(bad_op(op, "under, not_under, over, not_over")),
                };
                let neg = negated(op).0;
                Cond::Size {
                    over,
                    neg,
                    size: w.next("size")?.to_string(),
                }
            }
            "date" => {
                let (after, neg) = date_op(w.next("comparison")?)?;
                let date = w.next("date")?.to_string();
                if chrono::NaiveDate::parse_from_str(&date, "%Y%m%d").is_err() || date.len() != 8 {
                    return Err(format!("invalid date: {date}, should be: YYYYMMDD"));
                }
                Cond::Date { after, neg, date }
            }
            "current_time" => {
                let (after, neg) = date_op(w.next("comparison")?)?;
                Cond::CurrentTime {
                    after,
                    neg,
                    time: w.next("time")?.to_string(),
                }
            }
            "current_day_of_week" => {
                let neg = is_op(w.next("comparison")?)?;
                Cond::DayOfWeek {
                    neg,
                    days: w.next("days")?.to_string(),
                }
            }
            "header" => {
                let header = w.next("header names")?.to_string();
                match w.next("comparison")? {
                    "exists" => Cond::HeaderExists { header, neg: false },
                    "not_exists" => Cond::HeaderExists { header, neg: true },
                    op => {
                        let (cmp, neg) = header_op(op)?;
                        let (case, value) = w.case_and_value()?;
                        Cond::Header {
                            header,
                            cmp,
                            neg,
                            case,
                            value,
                        }
                    }
                }
            }
            "mime_header" => {
                let header = w.next("header name")?.to_string();
                let (cmp, neg) = header_op(w.next("comparison")?)?;
                let (case, value) = w.case_and_value()?;
                Cond::MimeHeader {
                    header,
                    cmp,
                    neg,
                    case,
                    value,
                }
            }
            "invite" => {
                let neg = w.next("exists or not_exists")? != "exists";
                let mut methods = Vec::new();
                if w.peek().is_some_and(|m| m.eq_ignore_ascii_case("method"))
                    && w.i + 1 < words.len()
                {
                    w.i += 1;
                    methods = w.next("methods")?.split(',').map(str::to_string).collect();
                }
                Cond::Invite { neg, methods }
            }
            "conversation" => {
                let neg = match w.next("where or not_where")? {
                    op if op.eq_ignore_ascii_case("where") => false,
                    op if op.eq_ignore_ascii_case("not_where") => true,
                    op => return Err(bad_op(op, "where, not_where")),
                };
                Cond::Conversation {
                    neg,
                    what: w.next("started or participated")?.to_string(),
                }
            }
            "importance" => {
                let neg = is_op(w.next("comparison")?)?;
                let level = one_of(
                    w.next("importance")?,
                    &["high", "normal", "low"],
                    "importance",
                )?;
                Cond::Importance { neg, level }
            }
            "flagged" => {
                let neg = w.peek().is_some_and(|n| n.eq_ignore_ascii_case("not"));
                if neg {
                    w.i += 1;
                }
                let flag = w.next("a flag name after 'flagged'")?;
                Cond::Flagged {
                    neg,
                    flag: one_of(flag, FLAGS, "flag")?,
                }
            }
            "true" => Cond::True,
            simple if SIMPLE.contains(&simple) => {
                let word = SIMPLE
                    .iter()
                    .copied()
                    .find(|s| *s == simple)
                    .unwrap_or("list");
                let neg = w.peek().is_some_and(|n| n.eq_ignore_ascii_case("not"));
                if neg {
                    w.i += 1;
                }
                Cond::Simple { word, neg }
            }
            _ => {
                rule.actions.push(action(word, &mut w)?);
                continue;
            }
        };
        rule.conditions.push(cond);
    }
    if rule.actions.is_empty() {
        return Err("must have at least one action".into());
    }
    if rule.conditions.is_empty() {
        return Err("must have at least one condition".into());
    }
    Ok(rule)
}

/// The action that starts with `word` (already taken from `w`).
fn action(word: &str, w: &mut Words<'_>) -> Result<Action, String> {
    Ok(match word {
        "keep" => Action::Keep,
        "discard" => Action::Discard,
        "stop" => Action::Stop,
        "fileinto" => Action::FileInto(w.next("folder path")?.to_string()),
        "tag" => Action::Tag(w.next("tag name")?.to_string()),
        "mark" | "flag" => Action::Mark(one_of(w.next("flag")?, FLAGS, "op")?),
        "redirect" => Action::Redirect(w.next("address")?.to_string()),
        "reply" => Action::Reply(w.next("body template")?.to_string()),
        "notify" if w.peek().is_some_and(|r| r.eq_ignore_ascii_case("rfc")) => {
            w.i += 1;
            let from = w.next("from")?.to_string();
            // Four plain words: importance and options are there; two: they are not.
            let (importance, options) = if w.plain_ahead() >= 4 {
                (
                    w.next("importance")?.to_string(),
                    w.next("options")?.to_string(),
                )
            } else {
                (String::new(), String::new())
            };
            Action::RfcNotify {
                from,
                importance,
                options,
                message: w.next("message")?.to_string(),
                method: w.next("method")?.to_string(),
            }
        }
        "notify" => {
            let address = w.next("address")?.to_string();
            let subject = w.next("subject template")?.to_string();
            let body = w.next("body template")?.to_string();
            let max = w.peek().and_then(|m| m.parse::<i64>().ok());
            if max.is_some() {
                w.i += 1;
            }
            Action::Notify {
                address,
                subject,
                body,
                max,
            }
        }
        other => return Err(format!("unknown keyword: {other}")),
    })
}

/// `s` in double quotes, `"` and `\` escaped with a backslash (as the command line
/// reads them back).
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `s` bare where Zimbra prints it bare, quoted when it would not read back as itself.
fn bare(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || ",.@_-+:/=%*?".contains(c));
    if plain && !is_keyword(s) {
        s.to_string()
    } else {
        quoted(s)
    }
}

fn not_(neg: bool) -> &'static str {
    if neg { "not_" } else { "" }
}

fn case_word(case: bool) -> &'static str {
    if case { "case_sensitive " } else { "" }
}

impl Cond {
    /// The condition's words, as `gfrl` prints them.
    pub fn text(&self) -> String {
        match self {
            Cond::Address {
                header,
                part,
                cmp,
                neg,
                case,
                value,
            } => format!(
                "address {} {part} {}{} {}{}",
                quoted(header),
                not_(*neg),
                cmp.word(),
                case_word(*case),
                quoted(value)
            ),
            Cond::Header {
                header,
                cmp,
                neg,
                case,
                value,
            } => format!(
                "header {} {}{} {}{}",
                quoted(header),
                not_(*neg),
                cmp.word(),
                case_word(*case),
                quoted(value)
            ),
            Cond::MimeHeader {
                header,
                cmp,
                neg,
                case,
                value,
            } => format!(
                "mime_header {} {}{} {}{}",
                quoted(header),
                not_(*neg),
                cmp.word(),
                case_word(*case),
                quoted(value)
            ),
            Cond::HeaderExists { header, neg } => {
                format!("header {} {}exists", quoted(header), not_(*neg))
            }
            Cond::Body { neg, case, value } => format!(
                "body {}contains {}{}",
                not_(*neg),
                case_word(*case),
                quoted(value)
            ),
            Cond::In { kind, neg, header } => {
                format!("{} {}in {}", kind.word(), not_(*neg), quoted(header))
            }
            Cond::Attachment { neg } => format!("attachment {}exists", not_(*neg)),
            Cond::Invite { neg, methods } => {
                let mut s = format!("invite {}exists", not_(*neg));
                if !methods.is_empty() {
                    let _ = write!(s, " method {}", bare(&methods.join(",")));
                }
                s
            }
            Cond::Size { over, neg, size } => {
                let op = if *over { "over" } else { "under" };
                format!("size {}{op} {}", not_(*neg), quoted(size))
            }
            Cond::Date { after, neg, date } => {
                let op = if *after { "after" } else { "before" };
                format!("date {}{op} {}", not_(*neg), quoted(date))
            }
            Cond::CurrentTime { after, neg, time } => {
                let op = if *after { "after" } else { "before" };
                format!("current_time {}{op} {}", not_(*neg), bare(time))
            }
            Cond::DayOfWeek { neg, days } => {
                format!("current_day_of_week {}is {}", not_(*neg), bare(days))
            }
            Cond::Conversation { neg, what } => {
                format!("conversation {}where {}", not_(*neg), quoted(what))
            }
            Cond::Importance { neg, level } => format!("importance {}is {level}", not_(*neg)),
            Cond::Flagged { neg, flag } => {
                format!("flagged {}{flag}", if *neg { "not " } else { "" })
            }
            Cond::Simple { word, neg } => format!("{word}{}", if *neg { " not" } else { "" }),
            Cond::True => "true".into(),
            Cond::Other(name) => name.clone(),
        }
    }
}

impl Action {
    /// The action's words, as `gfrl` prints them.
    pub fn text(&self) -> String {
        match self {
            Action::Keep => "keep".into(),
            Action::Discard => "discard".into(),
            Action::Stop => "stop".into(),
            Action::FileInto(p) => format!("fileinto {}", quoted(p)),
            Action::Tag(t) => format!("tag {}", quoted(t)),
            Action::Mark(f) => format!("mark {f}"),
            Action::Redirect(a) => format!("redirect {}", quoted(a)),
            Action::Reply(b) => format!("reply {}", bare(b)),
            Action::Notify {
                address,
                subject,
                body,
                max,
            } => {
                let mut s = format!(
                    "notify {} {} {}",
                    bare(address),
                    quoted(subject),
                    quoted(body)
                );
                if let Some(m) = max.filter(|m| *m != -1) {
                    let _ = write!(s, " {m}");
                }
                s
            }
            Action::RfcNotify {
                from,
                importance,
                options,
                message,
                method,
            } => {
                let mut s = format!("notify rfc {}", bare(from));
                if !importance.is_empty() || !options.is_empty() {
                    let _ = write!(s, " {} {}", quoted(importance), quoted(options));
                }
                let _ = write!(s, " {} {}", quoted(message), quoted(method));
                s
            }
            Action::Other(name) => name.clone(),
        }
    }
}

impl Rule {
    /// The rule on one line: quoted name, `active|inactive`, `any|all`, conditions,
    /// actions.
    pub fn text(&self) -> String {
        let mut s = format!(
            "{} {} {}",
            quoted(&self.name),
            if self.active { "active" } else { "inactive" },
            if self.all { "all" } else { "any" }
        );
        for c in &self.conditions {
            s.push(' ');
            s.push_str(&c.text());
        }
        for a in &self.actions {
            s.push(' ');
            s.push_str(&a.text());
        }
        s
    }
}

#[cfg(test)]
#[path = "rule_tests.rs"]
mod tests;
