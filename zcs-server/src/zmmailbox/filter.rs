//! `zmmailbox`'s filter rule commands (spec/06 §3.1, Zimbra's "filter" help topic):
//! `getFilterRules gfrl`, `addFilterRule afrl`, `modifyFilterRule mfrl`,
//! `deleteFilterRule dfrl` and their outgoing twins `gofrl`, `aofrl`, `mofrl`, `dofrl`.
//! Each reads the account's rules (`Get[Outgoing]FilterRulesRequest`), changes the
//! list and writes it whole (`Modify[Outgoing]FilterRulesRequest`), as Zimbra's tool
//! does. The one-line rule text is in [`rule`]; this module turns it into the SOAP
//! `filterRule` form and back.
//!
//! Rules the change does not touch are sent back exactly as the server gave them, so a
//! test or action the text form cannot say (an `envelope` test set through zmprov, say)
//! survives an `afrl`.

use serde_json::{Map, Value, json};

use super::{MAIL, Outcome, Parsed, list};
use crate::search::remote::{Remote, first, text};

mod rule;

use rule::{Action, Cmp, Cond, InKind, Rule};

/// Help lines for this family (appended to `help`).
pub(super) const HELP: &str = concat!(
    "  addFilterRule(afrl)          [opts] {name} [*active|inactive] [any|*all] ",
    "{conditions}+ {actions}+\n",
    "    -a/--after <arg>             add after the rule named\n",
    "    -b/--before <arg>            add before the rule named\n",
    "    -f/--first                   add as the first rule\n",
    "    -l/--last                    add as the last rule (default)\n",
    "\n",
    "  addOutgoingFilterRule(aofrl) [opts] {name} [*active|inactive] [any|*all] ",
    "{conditions}+ {actions}+\n",
    "    -a/--after <arg>             add after the rule named\n",
    "    -b/--before <arg>            add before the rule named\n",
    "    -f/--first                   add as the first rule\n",
    "    -l/--last                    add as the last rule (default)\n",
    "\n",
    "  deleteFilterRule(dfrl)       {name}\n",
    "\n",
    "  deleteOutgoingFilterRule(dofrl) {name}\n",
    "\n",
    "  getFilterRules(gfrl)\n",
    "\n",
    "  getOutgoingFilterRules(gofrl)\n",
    "\n",
    "  modifyFilterRule(mfrl)       {name} [*active|inactive] [any|*all] ",
    "{conditions}+ {actions}+\n",
    "\n",
    "  modifyOutgoingFilterRule(mofrl) {name} [*active|inactive] [any|*all] ",
    "{conditions}+ {actions}+\n",
    "\n",
    "  {conditions}:\n",
    "    address \"hdr,hdr\" all|localpart|domain [not_]is|contains|matches ",
    "[case_sensitive] \"value\"\n",
    "    addressbook|contact_ranking|me in|not_in \"header\"\n",
    "    attachment exists|not_exists\n",
    "    body contains|not_contains [case_sensitive] \"text\"\n",
    "    bulk|list|facebook|linkedin|socialcast|twitter [not]\n",
    "    conversation where|not_where started|participated\n",
    "    current_day_of_week is|not_is 0,6            (0 is Sunday)\n",
    "    current_time [not_]before|[not_]after HHmm\n",
    "    date [not_]before|[not_]after \"YYYYMMDD\"\n",
    "    flagged [not] read|flagged|priority\n",
    "    header \"hdr,hdr\" [not_]is|contains|matches [case_sensitive] \"value\"\n",
    "    header \"hdr,hdr\" exists|not_exists\n",
    "    importance is|not_is high|normal|low\n",
    "    invite exists|not_exists [method request,reply,...]\n",
    "    mime_header \"name\" [not_]is|contains|matches [case_sensitive] \"value\"\n",
    "    size [not_]under|[not_]over \"10|10K|10M\"\n",
    "    true\n",
    "\n",
    "  {actions}:\n",
    "    keep | discard | stop\n",
    "    fileinto \"/path\" | tag \"name\" | mark read|flagged|priority\n",
    "    redirect \"address\" | reply \"body template\"\n",
    "    notify \"address\" \"subject template\" \"body template\" [\"max body bytes\"]\n",
    "    notify rfc \"from\" [\"importance\" \"options\"] \"message\" \"mailto:url\"\n",
);

/// Which rule set a command acts on.
#[derive(Clone, Copy)]
enum Set {
    Incoming,
    Outgoing,
}

impl Set {
    fn get(self) -> &'static str {
        match self {
            Set::Incoming => "GetFilterRulesRequest",
            Set::Outgoing => "GetOutgoingFilterRulesRequest",
        }
    }

    fn modify(self) -> &'static str {
        match self {
            Set::Incoming => "ModifyFilterRulesRequest",
            Set::Outgoing => "ModifyOutgoingFilterRulesRequest",
        }
    }
}

/// Runs `cmd` when it is one of this module's commands; `None` otherwise.
pub(super) async fn run(
    session: &Remote,
    mailbox: &str,
    cmd: &str,
    args: &[String],
) -> Option<Result<Outcome, String>> {
    let (set, what) = match cmd {
        "getFilterRules" | "gfrl" => (Set::Incoming, Op::Get),
        "getOutgoingFilterRules" | "gofrl" => (Set::Outgoing, Op::Get),
        "addFilterRule" | "afrl" => (Set::Incoming, Op::Add),
        "addOutgoingFilterRule" | "aofrl" => (Set::Outgoing, Op::Add),
        "modifyFilterRule" | "mfrl" => (Set::Incoming, Op::Modify),
        "modifyOutgoingFilterRule" | "mofrl" => (Set::Outgoing, Op::Modify),
        "deleteFilterRule" | "dfrl" => (Set::Incoming, Op::Delete),
        "deleteOutgoingFilterRule" | "dofrl" => (Set::Outgoing, Op::Delete),
        _ => return None,
    };
    Some(act(session, mailbox, set, what, args).await)
}

#[derive(Clone, Copy)]
enum Op {
    Get,
    Add,
    Modify,
    Delete,
}

async fn act(
    session: &Remote,
    mailbox: &str,
    set: Set,
    op: Op,
    args: &[String],
) -> Result<Outcome, String> {
    let p = match op {
        Op::Add => Parsed::new(args, &["-a", "--after", "-b", "--before"])?,
        _ => Parsed::new(args, &[])?,
    };
    let r = session
        .request(Some(mailbox), set.get(), MAIL, json!({}))
        .await?;
    let mut rules = list(&first(&r["filterRules"])["filterRule"]);
    if let Op::Get = op {
        if !p.rest.is_empty() {
            return Err("getFilterRules takes no arguments".into());
        }
        let lines: Vec<String> = rules.iter().map(|r| from_json(r).text()).collect();
        return Ok(Outcome::Print(lines.join("\n")));
    }
    let position = |rules: &[Value], name: &str| {
        rules
            .iter()
            .position(|r| text(&r["name"]).eq_ignore_ascii_case(name))
    };
    match op {
        Op::Get => {}
        Op::Add => {
            let new = rule::parse(&p.rest)?;
            if position(&rules, &new.name).is_some() {
                return Err(format!("a rule named {} already exists", new.name));
            }
            let at = if p.flag(&["-f", "--first"]) {
                0
            } else if let Some(after) = p.opt(&["-a", "--after"]) {
                position(&rules, after).ok_or_else(|| format!("can't find rule: {after}"))? + 1
            } else if let Some(before) = p.opt(&["-b", "--before"]) {
                position(&rules, before).ok_or_else(|| format!("can't find rule: {before}"))?
            } else {
                rules.len()
            };
            rules.insert(at, to_json(&new));
        }
        Op::Modify => {
            let new = rule::parse(&p.rest)?;
            let at = position(&rules, &new.name)
                .ok_or_else(|| format!("can't find rule: {}", new.name))?;
            rules[at] = to_json(&new);
        }
        Op::Delete => {
            let name = p.operand(0, "rule name")?;
            let at = position(&rules, name).ok_or_else(|| format!("can't find rule: {name}"))?;
            rules.remove(at);
        }
    }
    session
        .request(
            Some(mailbox),
            set.modify(),
            MAIL,
            json!({ "filterRules": [{ "filterRule": rules }] }),
        )
        .await?;
    Ok(Outcome::Print(String::new()))
}

/// Appends `el` to the list under `key` of the JSON object `obj`.
fn push(obj: &mut Map<String, Value>, key: &str, el: Value) {
    match obj.get_mut(key) {
        Some(Value::Array(a)) => a.push(el),
        _ => {
            obj.insert(key.to_string(), Value::Array(vec![el]));
        }
    }
}

/// A `YYYYMMDD` day as seconds since the epoch at 00:00 UTC (the `dateTest d=` form).
fn day_seconds(day: &str) -> i64 {
    chrono::NaiveDate::parse_from_str(day, "%Y%m%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(0, |d| d.and_utc().timestamp())
}

/// The SOAP element name and attributes of one condition.
fn cond_json(c: &Cond) -> (&'static str, Value) {
    let string_test = |header: &str, cmp: &Cmp, neg: &bool, case: &bool, value: &str| {
        json!({ "header": header, "stringComparison": cmp.word(), "negative": neg,
                "caseSensitive": case, "value": value })
    };
    match c {
        Cond::Address {
            header,
            part,
            cmp,
            neg,
            case,
            value,
        } => {
            let mut v = string_test(header, cmp, neg, case, value);
            v["part"] = json!(part);
            ("addressTest", v)
        }
        Cond::Header {
            header,
            cmp,
            neg,
            case,
            value,
        } => ("headerTest", string_test(header, cmp, neg, case, value)),
        Cond::MimeHeader {
            header,
            cmp,
            neg,
            case,
            value,
        } => ("mimeHeaderTest", string_test(header, cmp, neg, case, value)),
        Cond::HeaderExists { header, neg } => (
            "headerExistsTest",
            json!({ "header": header, "negative": neg }),
        ),
        Cond::Body { neg, case, value } => (
            "bodyTest",
            json!({ "negative": neg, "caseSensitive": case, "value": value }),
        ),
        Cond::In { kind, neg, header } => {
            let name = match kind {
                InKind::AddressBook => "addressBookTest",
                InKind::ContactRanking => "contactRankingTest",
                InKind::Me => "meTest",
            };
            (name, json!({ "header": header, "negative": neg }))
        }
        Cond::Attachment { neg } => ("attachmentTest", json!({ "negative": neg })),
        Cond::Invite { neg, methods } => {
            let m: Vec<Value> = methods.iter().map(|m| json!({ "_content": m })).collect();
            ("inviteTest", json!({ "negative": neg, "method": m }))
        }
        Cond::Size { over, neg, size } => (
            "sizeTest",
            json!({ "numberComparison": if *over { "over" } else { "under" },
                    "negative": neg, "s": size }),
        ),
        Cond::Date { after, neg, date } => (
            "dateTest",
            json!({ "dateComparison": if *after { "after" } else { "before" },
                    "negative": neg, "d": day_seconds(date) }),
        ),
        Cond::CurrentTime { after, neg, time } => (
            "currentTimeTest",
            json!({ "dateComparison": if *after { "after" } else { "before" },
                    "negative": neg, "time": time }),
        ),
        Cond::DayOfWeek { neg, days } => (
            "currentDayOfWeekTest",
            json!({ "negative": neg, "value": days }),
        ),
        Cond::Conversation { neg, what } => (
            "conversationTest",
            json!({ "negative": neg, "where": what }),
        ),
        Cond::Importance { neg, level } => {
            ("importanceTest", json!({ "negative": neg, "imp": level }))
        }
        Cond::Flagged { neg, flag } => {
            ("flaggedTest", json!({ "negative": neg, "flagName": flag }))
        }
        Cond::Simple { word, neg } => (simple_element(word), json!({ "negative": neg })),
        Cond::True => ("trueTest", json!({})),
        Cond::Other(_) => ("trueTest", json!({})),
    }
}

/// The SOAP element of a test without arguments (`bulk` is `bulkTest`, ...).
fn simple_element(word: &str) -> &'static str {
    match word {
        "bulk" => "bulkTest",
        "list" => "listTest",
        "facebook" => "facebookTest",
        "linkedin" => "linkedinTest",
        "socialcast" => "socialcastTest",
        "twitter" => "twitterTest",
        "community_requests" => "communityRequestsTest",
        "community_content" => "communityContentTest",
        _ => "communityConnectionsTest",
    }
}

/// The SOAP element name and attributes of one action.
fn action_json(a: &Action) -> (&'static str, Value) {
    match a {
        Action::Keep => ("actionKeep", json!({})),
        Action::Discard => ("actionDiscard", json!({})),
        Action::Stop => ("actionStop", json!({})),
        Action::FileInto(p) => ("actionFileInto", json!({ "folderPath": p })),
        Action::Tag(t) => ("actionTag", json!({ "tagName": t })),
        Action::Mark(f) => ("actionFlag", json!({ "flagName": f })),
        Action::Redirect(addr) => ("actionRedirect", json!({ "a": addr })),
        Action::Reply(body) => ("actionReply", json!({ "content": body })),
        Action::Notify {
            address,
            subject,
            body,
            max,
        } => {
            let mut v = json!({ "a": address, "su": subject, "content": body });
            if let Some(m) = max {
                v["maxBodySize"] = json!(m);
            }
            ("actionNotify", v)
        }
        Action::RfcNotify {
            from,
            importance,
            options,
            message,
            method,
        } => (
            "actionRFCCompliantNotify",
            json!({ "from": from, "importance": importance, "options": options,
                    "message": message, "method": method }),
        ),
        Action::Other(_) => ("actionKeep", json!({})),
    }
}

/// The `filterRule` JSON element of `rule` (tests and actions carry their `index`).
fn to_json(rule: &Rule) -> Value {
    let mut tests = Map::new();
    tests.insert(
        "condition".into(),
        json!(if rule.all { "allof" } else { "anyof" }),
    );
    for (i, c) in rule.conditions.iter().enumerate() {
        let (name, mut el) = cond_json(c);
        el["index"] = json!(i);
        push(&mut tests, name, el);
    }
    let mut actions = Map::new();
    for (i, a) in rule.actions.iter().enumerate() {
        let (name, mut el) = action_json(a);
        el["index"] = json!(i);
        push(&mut actions, name, el);
    }
    json!({ "name": rule.name, "active": rule.active,
            "filterTests": [Value::Object(tests)], "filterActions": [Value::Object(actions)] })
}

/// A JSON boolean attribute (`true`, `"1"`, `"TRUE"`), `default` when absent.
fn truthy(v: &Value, default: bool) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Null => default,
        other => matches!(text(other).to_ascii_lowercase().as_str(), "1" | "true"),
    }
}

/// The `YYYYMMDD` day (UTC) of a `dateTest d=` in seconds.
fn seconds_day(v: &Value) -> String {
    let secs: i64 = text(v).trim().parse().unwrap_or(0);
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|d| d.format("%Y%m%d").to_string())
        .unwrap_or_else(|| "19700101".into())
}

/// One condition of the SOAP form (`name` is its element name).
fn cond_from(name: &str, t: &Value) -> Cond {
    let neg = truthy(&t["negative"], false);
    let case = truthy(&t["caseSensitive"], false);
    let s = |k: &str| text(&t[k]);
    let cmp = Cmp::from_word(&s("stringComparison")).unwrap_or(Cmp::Contains);
    let after = s("dateComparison").eq_ignore_ascii_case("after");
    match name {
        "addressTest" => Cond::Address {
            header: s("header"),
            part: match s("part").to_ascii_lowercase().as_str() {
                p @ ("localpart" | "domain") => p.to_string(),
                _ => "all".into(),
            },
            cmp,
            neg,
            case,
            value: s("value"),
        },
        "headerTest" => Cond::Header {
            header: s("header"),
            cmp,
            neg,
            case,
            value: s("value"),
        },
        "mimeHeaderTest" => Cond::MimeHeader {
            header: s("header"),
            cmp,
            neg,
            case,
            value: s("value"),
        },
        "headerExistsTest" => Cond::HeaderExists {
            header: s("header"),
            neg,
        },
        "bodyTest" => Cond::Body {
            neg,
            case,
            value: s("value"),
        },
        "addressBookTest" => Cond::In {
            kind: InKind::AddressBook,
            neg,
            header: s("header"),
        },
        "contactRankingTest" => Cond::In {
            kind: InKind::ContactRanking,
            neg,
            header: s("header"),
        },
        "meTest" => Cond::In {
            kind: InKind::Me,
            neg,
            header: s("header"),
        },
        "attachmentTest" => Cond::Attachment { neg },
        "inviteTest" => Cond::Invite {
            neg,
            methods: list(&t["method"]).iter().map(text).collect(),
        },
        "sizeTest" => Cond::Size {
            over: !s("numberComparison").eq_ignore_ascii_case("under"),
            neg,
            size: s("s"),
        },
        "dateTest" => Cond::Date {
            after,
            neg,
            date: seconds_day(&t["d"]),
        },
        "currentTimeTest" => Cond::CurrentTime {
            after,
            neg,
            time: s("time"),
        },
        "currentDayOfWeekTest" => Cond::DayOfWeek {
            neg,
            days: s("value"),
        },
        "conversationTest" => Cond::Conversation {
            neg,
            what: s("where"),
        },
        "importanceTest" => Cond::Importance {
            neg,
            level: s("imp"),
        },
        "flaggedTest" => Cond::Flagged {
            neg,
            flag: s("flagName"),
        },
        "trueTest" => Cond::True,
        other => match rule::SIMPLE.iter().find(|w| simple_element(w) == other) {
            Some(word) => Cond::Simple { word, neg },
            None => Cond::Other(other.to_string()),
        },
    }
}

/// One action of the SOAP form (`name` is its element name).
fn action_from(name: &str, a: &Value) -> Action {
    let s = |k: &str| text(&a[k]);
    match name {
        "actionKeep" => Action::Keep,
        "actionDiscard" => Action::Discard,
        "actionStop" => Action::Stop,
        "actionFileInto" => Action::FileInto(s("folderPath")),
        "actionTag" => Action::Tag(s("tagName")),
        "actionFlag" => Action::Mark(s("flagName")),
        "actionRedirect" => Action::Redirect(s("a")),
        "actionReply" => Action::Reply(s("content")),
        "actionNotify" => Action::Notify {
            address: s("a"),
            subject: s("su"),
            body: s("content"),
            max: s("maxBodySize").trim().parse().ok(),
        },
        "actionRFCCompliantNotify" => Action::RfcNotify {
            from: s("from"),
            importance: s("importance"),
            options: s("options"),
            message: s("message"),
            method: s("method"),
        },
        other => Action::Other(other.to_string()),
    }
}

/// The children of a `filterTests`/`filterActions` JSON element in `index` order, each
/// turned into a value by `conv`.
fn ordered<T>(el: &Value, conv: impl Fn(&str, &Value) -> T) -> Vec<T> {
    let mut out: Vec<(i64, usize, T)> = Vec::new();
    if let Value::Object(m) = el {
        for (name, v) in m {
            if name == "condition" || name.starts_with('_') {
                continue;
            }
            for item in list(v) {
                let n = out.len();
                let index = text(&item["index"]).parse().unwrap_or(n as i64);
                out.push((index, n, conv(name, &item)));
            }
        }
    }
    out.sort_by_key(|(i, n, _)| (*i, *n));
    out.into_iter().map(|(_, _, t)| t).collect()
}

/// A rule of the SOAP form as the text model (tests and actions the text form has no
/// words for are kept by element name).
fn from_json(r: &Value) -> Rule {
    let tests = first(&r["filterTests"]);
    Rule {
        name: text(&r["name"]),
        active: truthy(&r["active"], true),
        all: text(&tests["condition"]).eq_ignore_ascii_case("allof"),
        conditions: ordered(&tests, cond_from),
        actions: ordered(&first(&r["filterActions"]), action_from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zmmailbox::split_words;

    fn parse(line: &str) -> Rule {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        rule::parse(&split_words(&line).expect("words")).expect("rule")
    }

    #[test]
    fn soap_form_carries_every_field_in_order() {
        let r = parse(
            r#"r1 any header "subject" not_contains case_sensitive "x" date after 20240131
               invite exists method request size under 10K tag "t"
               notify "n@x.test" "s" "b" 9 stop"#,
        );
        let v = to_json(&r);
        assert_eq!(v["name"], "r1");
        assert_eq!(v["active"], true);
        let t = &v["filterTests"][0];
        assert_eq!(t["condition"], "anyof");
        assert_eq!(t["headerTest"][0]["negative"], true);
        assert_eq!(t["headerTest"][0]["caseSensitive"], true);
        assert_eq!(t["headerTest"][0]["stringComparison"], "contains");
        assert_eq!(t["dateTest"][0]["d"], 1_706_659_200);
        assert_eq!(t["dateTest"][0]["index"], 1);
        assert_eq!(t["inviteTest"][0]["method"][0]["_content"], "request");
        assert_eq!(t["sizeTest"][0]["numberComparison"], "under");
        let a = &v["filterActions"][0];
        assert_eq!(a["actionNotify"][0]["maxBodySize"], 9);
        assert_eq!(a["actionStop"][0]["index"], 2);
        assert_eq!(from_json(&v), r);
    }

    #[test]
    fn server_json_reads_with_string_booleans_and_child_text() {
        let v = json!({"name": "srv", "active": "0", "filterTests": [{"condition": "allof",
            "bodyTest": [{"index": "1", "value": "b"}],
            "addressTest": [{"index": "0", "header": "from", "part": "domain",
                             "stringComparison": "is", "negative": "1", "value": "x.test"}],
            "envelopeTest": [{"index": "2"}]}],
            "filterActions": [{
                "actionReply": [{"index": 0, "content": [{"_content": "hi there"}]}],
                "actionLog": [{"index": 1}]}]});
        let r = from_json(&v);
        assert_eq!(
            r.text(),
            concat!(
                r#""srv" inactive all address "from" domain not_is "x.test" body contains "b" "#,
                r#"envelopeTest reply "hi there" actionLog"#
            )
        );
    }

    #[test]
    fn every_parsed_rule_survives_the_soap_form() {
        let r = parse(
            r#"all-words header "X" exists attachment not_exists addressbook not_in "from"
               me in "to" contact_ranking in "cc" current_time not_after 0930
               current_day_of_week is 1,2 conversation not_where participated
               importance not_is low flagged priority linkedin not true
               mime_header "Content-Type" matches "text/*"
               fileinto "/a b" discard keep mark read redirect "r@x.test" reply "ok"
               notify rfc "f@x.test" "high" "opt" "msg" "mailto:a@b.test""#,
        );
        assert_eq!(from_json(&to_json(&r)), r);
    }
}
